// Request bodies read the way ARM and AKS read them (issue 13): the bodies the azurerm provider sends
// to real Azure on every run, exactly as it sends them, are accepted in the default mode and in strict
// mode (Azure itself reads them so), and stored without what it filled in for "unset"; a value that is
// really wrong is still refused. Also ARM's Resources_ListByResourceGroup, which the provider calls
// before it deletes a group.
//
// The requests go at Terraform's own api-versions (azurerm 4.x: 2025-10-01 and 2026-04-01), which the
// Prism front of `npm run test:prism` sends straight to the emulator; the file is left out of that run
// anyway (package.json): Prism validates against the raw document, which refuses these bodies.
import { describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, RESOURCE_GROUP_API_VERSION } from "../support/sdk.js";

const TERRAFORM_VERSIONS = ["2025-10-01", "2026-04-01"];
const LOCATION = "eastus";

/** default_node_pool as azurerm 4.x expands it with only name, vm_size, node_count and upgrade_settings { max_surge } set. */
function providerPool(name: string): Record<string, unknown> {
  return {
    name,
    count: 1,
    vmSize: "Standard_DS2_v2",
    mode: "System",
    type: "VirtualMachineScaleSets",
    osType: "Linux",
    osDiskType: "Managed",
    kubeletDiskType: "",
    enableAutoScaling: false,
    enableNodePublicIP: false,
    enableEncryptionAtHost: false,
    enableFIPS: false,
    enableUltraSSD: false,
    nodeLabels: {},
    tags: {},
    upgradeSettings: { maxSurge: "10%", drainTimeoutInMinutes: 0, nodeSoakDurationInMinutes: 0 },
  };
}

/** azurerm_kubernetes_cluster with a system-assigned identity, node_resource_group unset. */
function providerCluster(dnsPrefix: string): Record<string, unknown> {
  return {
    location: LOCATION,
    tags: {},
    identity: { type: "SystemAssigned", userAssignedIdentities: null },
    sku: { name: "Base", tier: "Free" },
    properties: {
      dnsPrefix,
      nodeResourceGroup: "",
      enableRBAC: true,
      disableLocalAccounts: false,
      addonProfiles: {},
      agentPoolProfiles: [providerPool("default")],
      supportPlan: "KubernetesOfficial",
    },
  };
}

const isWellFormedId = (id: unknown) => typeof id === "string" && id.startsWith("/subscriptions/") && !id.includes("//");

for (const strict of [false, true]) {
  describe(`provider-shaped bodies (${strict ? "strict" : "default"} mode)`, () => {
    let emu: TestEmulator;
    let arm: ArmHttp;
    useEmulator((started) => {
      emu = started;
      arm = new ArmHttp(emu);
    }, { strict });

    for (const apiVersion of TERRAFORM_VERSIONS) {
      it(`creates a cluster from azurerm's body at ${apiVersion}, and stores it without the junk`, async () => {
        const rg = `rg-norm-${strict ? "s" : "d"}-${apiVersion.replace(/-/g, "")}`;
        const name = "tfacc";
        await arm.createResourceGroup(rg, LOCATION);
        const path = `${clusterPath(rg, name)}?api-version=${apiVersion}`;
        const created = await arm.accepted("PUT", path, providerCluster("tfacc"));
        expect(created.headers.get("x-aks-emulator-leniency")).toBeNull();

        const read = (await arm.call("GET", path)).body;
        expect(read.properties.nodeResourceGroup).toBe(`MC_${rg}_${name}_${LOCATION}`);
        const pool = read.properties.agentPoolProfiles[0];
        expect(pool.kubeletDiskType).not.toBe("");
        expect(pool.upgradeSettings.maxSurge).toBe("10%");
        expect(pool.upgradeSettings.drainTimeoutInMinutes ?? 30).toBeGreaterThanOrEqual(1);
        expect(read.identity.type).toBe("SystemAssigned");
        expect(read.identity.userAssignedIdentities ?? undefined).toBeUndefined();
        const kubelet = read.properties.identityProfile.kubeletidentity;
        expect(isWellFormedId(kubelet.resourceId), kubelet.resourceId).toBe(true);
        expect(kubelet.resourceId.toLowerCase()).toContain(`/resourcegroups/mc_${rg}_${name}_${LOCATION}/`.toLowerCase());

        // GET-modify-PUT: what was read goes back, read-only properties and all, systemData null.
        const update = structuredClone(read);
        update.systemData = null;
        update.tags = { environment: "test" };
        const updated = await arm.accepted("PUT", path, update);
        expect(updated.body.tags).toEqual({ environment: "test" });
        const again = (await arm.call("GET", path)).body;
        expect(again.properties.nodeResourceGroup).toBe(read.properties.nodeResourceGroup);
        expect(again.properties.fqdn).toBe(read.properties.fqdn);
        expect(again.systemData).toBeTruthy();
      });
    }

    it("creates a node pool from azurerm's azurerm_kubernetes_cluster_node_pool body", async () => {
      const rg = `rg-norm-pool-${strict ? "s" : "d"}`;
      await arm.createResourceGroup(rg, LOCATION);
      const apiVersion = TERRAFORM_VERSIONS[0];
      await arm.accepted("PUT", `${clusterPath(rg, "pools")}?api-version=${apiVersion}`, providerCluster("pools"));
      const { name: _name, ...properties } = providerPool("user1");
      const poolPath = `${clusterPath(rg, "pools")}/agentPools/user1?api-version=${apiVersion}`;
      await arm.accepted("PUT", poolPath, { properties: { ...properties, mode: "User" } });
      const pool = (await arm.call("GET", poolPath)).body;
      expect(pool.properties.kubeletDiskType).not.toBe("");
      // GET-modify-PUT of the pool: id, name, type, eTag, provisioningState, currentOrchestratorVersion...
      const update = structuredClone(pool);
      update.properties.nodeLabels = { tier: "user" };
      await arm.accepted("PUT", poolPath, update);
      expect((await arm.call("GET", poolPath)).body.properties.nodeLabels).toEqual({ tier: "user" });
    });

    it("still refuses what is really wrong", async () => {
      const rg = `rg-norm-bad-${strict ? "s" : "d"}`;
      await arm.createResourceGroup(rg, LOCATION);
      const path = `${clusterPath(rg, "bad")}?api-version=${TERRAFORM_VERSIONS[0]}`;
      const withPool = (change: (pool: Record<string, any>) => void) => {
        const body = providerCluster("bad") as any;
        change(body.properties.agentPoolProfiles[0]);
        return body;
      };
      for (const body of [
        withPool((pool) => (pool.kubeletDiskType = "Floppy")),
        withPool((pool) => (pool.upgradeSettings.drainTimeoutInMinutes = -1)),
        withPool((pool) => (pool.upgradeSettings.nodeSoakDurationInMinutes = 31)),
        { ...providerCluster("bad"), location: null },
      ]) {
        const answer = await arm.call("PUT", path, body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body.error.code).toBeTruthy();
      }
      expect((await arm.call("GET", path)).status).toBe(404);
    });

    it("lists a group's resources (Resources_ListByResourceGroup), and 404 for a group that does not exist", async () => {
      const rg = `rg-norm-list-${strict ? "s" : "d"}`;
      await arm.createResourceGroup(rg, LOCATION);
      const groupPath = `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}`;
      const empty = await arm.call("GET", `${groupPath}/resources?api-version=2022-09-01`);
      expect(empty.status).toBe(200);
      expect(empty.body.value).toEqual([]);
      await arm.accepted("PUT", `${clusterPath(rg, "listed")}?api-version=${TERRAFORM_VERSIONS[0]}`, providerCluster("listed"));
      const listed = await arm.call("GET", `${groupPath}/resources?api-version=${RESOURCE_GROUP_API_VERSION}`);
      expect(listed.status).toBe(200);
      expect(listed.body.value).toEqual([
        expect.objectContaining({ id: clusterPath(rg, "listed"), name: "listed", type: "Microsoft.ContainerService/managedClusters", location: LOCATION }),
      ]);
      const missing = await arm.call("GET", `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/rg-norm-none/resources?api-version=2022-09-01`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe("ResourceGroupNotFound");
    });
  });
}
