// The read-only catalogues, driven by the real @azure/arm-containerservice client at both
// api-versions: the provider's operation list, the Istio revision profiles of a location, a
// cluster's mesh upgrade profiles, and its outbound network dependencies.
import { describe, expect, it } from "vitest";
import type { ManagedCluster } from "@azure/arm-containerservice";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, collect, restError, API_VERSIONS, useVersionedClients, type RecordingClient } from "../support/sdk.js";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

describe.each(API_VERSIONS)("catalogues at api-version $apiVersion", ({ apiVersion, clientOption }) => {
  const suffix = apiVersion.replace(/-/g, "");
  const rg = `catalogues-${suffix}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;
  useVersionedClients(() => emu, { apiVersion, clientOption }, rg, (clients) => ({ sdk, arm } = clients), "westus2");

  async function createCluster(name: string, overrides: Partial<ManagedCluster> = {}): Promise<ManagedCluster> {
    const cluster = await sdk.client.managedClusters.createOrUpdate(rg, name, {
      location: "westus2",
      dnsPrefix: name,
      kubernetesVersion: "1.33",
      agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_D2s_v3", mode: "System" }],
      ...overrides,
    });
    expect(cluster.provisioningState).toBe("Succeeded");
    return cluster;
  }

  describe("Operations_List", () => {
    it("lists the provider's operations: RBAC names with their display, one entry per name", async () => {
      const operations = await collect(sdk.client.operations.list());
      const names = operations.map((o) => o.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name).toMatch(/^Microsoft\.ContainerService\/[A-Za-z./]+\/(read|write|delete|action)$/);
      for (const op of operations) {
        expect(op.provider).toBe("Microsoft Container Service");
        expect(op.resource).toMatch(/\S/);
        expect(op.operation).toMatch(/\S/);
        expect(op.description).toMatch(/\S/);
        expect(op.origin).toMatch(/^(user,system|system)$/);
      }
      const cluster = operations.find((o) => o.name === "Microsoft.ContainerService/managedClusters/read");
      expect(cluster).toMatchObject({ resource: "Managed Clusters", operation: "Get Managed Cluster", origin: "user,system" });
      // the served spec's operations, each under its resource type and verb
      for (const name of [
        "managedClusters/write",
        "managedClusters/delete",
        "managedClusters/start/action",
        "managedClusters/listClusterUserCredential/action",
        "managedClusters/runCommand/action",
        "managedClusters/commandResults/read",
        "managedClusters/agentPools/read",
        "managedClusters/agentPools/write",
        "managedClusters/agentPools/delete",
        "managedClusters/agentPools/upgradeNodeImageVersion/action",
        "managedClusters/agentPools/upgradeProfiles/read",
        "managedClusters/maintenanceConfigurations/write",
        "managedClusters/meshUpgradeProfiles/read",
        "managedClusters/outboundNetworkDependenciesEndpoints/read",
        "locations/kubernetesVersions/read",
        "locations/meshRevisionProfiles/read",
        "snapshots/read",
        "operations/read",
        // and the names every provider publishes beside its REST paths
        "register/action",
        "unregister/action",
        "locations/operations/read",
        "locations/operationresults/read",
      ]) {
        expect(names).toContain(`Microsoft.ContainerService/${name}`);
      }
    });

    it("answers the raw ARM list shape without a subscription, and pages with $skipToken", async () => {
      const url = `/providers/Microsoft.ContainerService/operations?api-version=${apiVersion}`;
      const first = await arm.call("GET", url);
      expect(first.status).toBe(200);
      expect(first.body.nextLink).toBeUndefined(); // the whole catalogue fits one page of 100
      const all: any[] = first.body.value;
      expect(all.length).toBeGreaterThan(40);
      expect(all[0]).toEqual({
        name: expect.stringMatching(/^Microsoft\.ContainerService\//),
        display: { provider: "Microsoft Container Service", resource: expect.any(String), operation: expect.any(String), description: expect.any(String) },
        origin: expect.any(String),
      });
      const rest = await arm.call("GET", `${url}&$skipToken=40`);
      expect(rest.status).toBe(200);
      expect(rest.body.value).toEqual(all.slice(40));
    });
  });

  describe("mesh revision profiles (per location)", () => {
    it("lists the Istio revisions with their Kubernetes compatibility and upgrades", async () => {
      const profiles = await collect(sdk.client.managedClusters.listMeshRevisionProfiles("westus2"));
      expect(profiles.map((p) => p.name)).toEqual(["istio"]);
      const [istio] = profiles;
      expect(istio.id).toBe(`/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/westus2/meshRevisionProfiles/istio`);
      expect(istio.type).toBe("Microsoft.ContainerService/locations/meshRevisionProfiles");
      const revisions = istio.properties?.meshRevisions ?? [];
      expect(revisions.map((r) => r.revision)).toEqual(["asm-1-25", "asm-1-26", "asm-1-27"]);
      expect(revisions[0].upgrades).toEqual(["asm-1-26", "asm-1-27"]);
      expect(revisions[2].upgrades).toEqual([]);
      for (const revision of revisions) {
        expect(revision.compatibleWith?.map((c) => c.name)).toEqual(["kubernetes"]);
        expect(revision.compatibleWith?.[0].versions?.length).toBeGreaterThan(0);
        for (const version of revision.compatibleWith![0].versions!) expect(version).toMatch(/^1\.\d+$/);
      }
      expect(revisions[0].compatibleWith?.[0].versions).toContain("1.33");
      expect(revisions[0].compatibleWith?.[0].versions).not.toContain("1.34");
      expect(revisions[1].compatibleWith?.[0].versions).toContain("1.34");
    });

    it("gets the profile of mode istio in any casing, and 404s an unknown mode", async () => {
      const listed = await collect(sdk.client.managedClusters.listMeshRevisionProfiles("eastus"));
      const istio = await sdk.client.managedClusters.getMeshRevisionProfile("eastus", "istio");
      expect(istio).toEqual(listed[0]);
      const shouted = await sdk.client.managedClusters.getMeshRevisionProfile("eastus", "Istio");
      expect(shouted).toEqual(istio);

      const unknown = await restError(() => sdk.client.managedClusters.getMeshRevisionProfile("eastus", "linkerd"));
      expect(unknown.statusCode).toBe(404);
      expect(unknown.code).toBe("NotFound");
      expect(unknown.message).toContain("linkerd");
    });
  });

  describe("mesh upgrade profiles (per cluster)", () => {
    it("offers the revisions an Istio cluster can upgrade to on its Kubernetes version", async () => {
      const cluster = await createCluster("mesh125", { serviceMeshProfile: { mode: "Istio", istio: { revisions: ["asm-1-25"] } } });
      const profiles = await collect(sdk.client.managedClusters.listMeshUpgradeProfiles(rg, "mesh125"));
      expect(profiles).toHaveLength(1);
      const [profile] = profiles;
      expect(profile).toMatchObject({
        id: `${cluster.id}/meshUpgradeProfiles/istio`,
        name: "istio",
        type: "Microsoft.ContainerService/managedClusters/meshUpgradeProfiles",
      });
      expect(profile.properties?.revision).toBe("asm-1-25");
      expect(profile.properties?.upgrades).toEqual(["asm-1-26", "asm-1-27"]);
      expect(profile.properties?.compatibleWith?.[0]).toMatchObject({ name: "kubernetes", versions: expect.arrayContaining(["1.33"]) });

      const got = await sdk.client.managedClusters.getMeshUpgradeProfile(rg, "mesh125", "istio");
      expect(got).toEqual(profile);
    });

    it("leaves out upgrades the cluster's Kubernetes version cannot run, and judges a canary upgrade from the newer revision", async () => {
      await createCluster("mesh134", { kubernetesVersion: "1.34", serviceMeshProfile: { mode: "Istio", istio: { revisions: ["asm-1-26"] } } });
      const on134 = await sdk.client.managedClusters.getMeshUpgradeProfile(rg, "mesh134", "istio");
      expect(on134.properties).toMatchObject({ revision: "asm-1-26", upgrades: ["asm-1-27"] });

      await createCluster("canary", { serviceMeshProfile: { mode: "Istio", istio: { revisions: ["asm-1-25", "asm-1-26"] } } });
      const canary = await sdk.client.managedClusters.getMeshUpgradeProfile(rg, "canary", "istio");
      expect(canary.properties).toMatchObject({ revision: "asm-1-26", upgrades: ["asm-1-27"] });

      // Istio without a named revision runs the one AKS installs: the newest the Kubernetes version supports
      await createCluster("meshdefault", { serviceMeshProfile: { mode: "Istio" } });
      const defaulted = await sdk.client.managedClusters.getMeshUpgradeProfile(rg, "meshdefault", "istio");
      expect(defaulted.properties).toMatchObject({ revision: "asm-1-27", upgrades: [] });
    });

    it("lists no profile for a cluster without Istio, and 404s its istio profile", async () => {
      await createCluster("nomesh");
      expect(await collect(sdk.client.managedClusters.listMeshUpgradeProfiles(rg, "nomesh"))).toEqual([]);
      const missing = await restError(() => sdk.client.managedClusters.getMeshUpgradeProfile(rg, "nomesh", "istio"));
      expect(missing.statusCode).toBe(404);
      expect(missing.code).toBe("NotFound");
      expect(missing.message).toContain("serviceMeshProfile.mode");

      await createCluster("meshoff", { serviceMeshProfile: { mode: "Disabled" } });
      expect(await collect(sdk.client.managedClusters.listMeshUpgradeProfiles(rg, "meshoff"))).toEqual([]);
      const unknownMode = await restError(() => sdk.client.managedClusters.getMeshUpgradeProfile(rg, "mesh125", "linkerd"));
      expect(unknownMode.statusCode).toBe(404);
    });

    it("answers ResourceNotFound for a cluster that does not exist", async () => {
      const listError = await restError(() => collect(sdk.client.managedClusters.listMeshUpgradeProfiles(rg, "ghost")));
      expect(listError.statusCode).toBe(404);
      expect(listError.code).toBe("ResourceNotFound");
      const getError = await restError(() => sdk.client.managedClusters.getMeshUpgradeProfile(rg, "ghost", "istio"));
      expect(getError.code).toBe("ResourceNotFound");
    });
  });

  describe("outbound network dependencies", () => {
    it("lists the AKS outbound rules by category, the API server rule in the cluster's region", async () => {
      await createCluster("egress");
      const categories = await collect(sdk.client.managedClusters.listOutboundNetworkDependenciesEndpoints(rg, "egress"));
      const byName = new Map(categories.map((c) => [c.category, c.endpoints ?? []]));
      for (const category of ["azure-resource-management", "images", "artifacts", "time-sync", "ubuntu-optional", "gpu", "windows", "apiserver", "tunnel-classic"]) {
        expect(byName.has(category), category).toBe(true);
      }
      const domains = (category: string) => byName.get(category)!.map((e) => e.domainName);
      expect(domains("azure-resource-management")).toEqual(["management.azure.com", "login.microsoftonline.com"]);
      expect(domains("images")).toContain("mcr.microsoft.com");
      expect(domains("images")).toContain("*.data.mcr.microsoft.com");
      expect(domains("artifacts")).toContain("packages.aks.azure.com");
      expect(byName.get("time-sync")).toEqual([{ domainName: "ntp.ubuntu.com", endpointDetails: [expect.objectContaining({ port: 123, protocol: "UDP" })] }]);
      expect(byName.get("apiserver")).toEqual([{ domainName: "*.hcp.westus2.azmk8s.io", endpointDetails: [expect.objectContaining({ port: 443, protocol: "Https" })] }]);
      expect(byName.get("tunnel-classic")![0].endpointDetails![0]).toMatchObject({ port: 9000, protocol: "TCP" });
      for (const category of categories) {
        for (const endpoint of category.endpoints ?? []) {
          expect(endpoint.domainName).toMatch(/^[*a-z0-9.-]+$/);
          for (const detail of endpoint.endpointDetails ?? []) {
            expect(detail.port).toBeGreaterThan(0);
            expect(["Https", "Http", "UDP", "TCP"]).toContain(detail.protocol);
          }
        }
      }
    });

    it("has no public API server rule for a private cluster, and 404s a missing cluster", async () => {
      await createCluster("privateegress", { apiServerAccessProfile: { enablePrivateCluster: true } });
      const categories = await collect(sdk.client.managedClusters.listOutboundNetworkDependenciesEndpoints(rg, "privateegress"));
      expect(categories.map((c) => c.category)).not.toContain("apiserver");
      expect(categories.map((c) => c.category)).toContain("images");

      const missing = await restError(() => collect(sdk.client.managedClusters.listOutboundNetworkDependenciesEndpoints(rg, "ghost")));
      expect(missing.statusCode).toBe(404);
      expect(missing.code).toBe("ResourceNotFound");
    });
  });
});
