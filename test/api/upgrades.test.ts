// Versions, upgrades and machines, driven by the real @azure/arm-containerservice client at both
// api-versions: the versions list, the clusters' versions, the upgrade profiles and what a PUT
// accepts all come from one catalogue and must agree; node image upgrades, machines and pool
// start/stop behave as AKS's do.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AgentPool, KubernetesVersion, ManagedCluster } from "@azure/arm-containerservice";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { API_VERSIONS, ArmHttp, clusterPath, collect, restError, sdkClient, type RecordingClient } from "../support/sdk.js";

const LOCATION = "eastus";

let emu: TestEmulator;
let gated: TestEmulator;
const gate = new GatedBackend({ gated: ["applyCluster", "applyAgentPool"] });
useEmulator((started) => (emu = started));
useEmulator((started) => (gated = started), {}, { backend: gate });
afterAll(() => gate.release()); // work still held must not outlive the file

const versionsOf = (items: { kubernetesVersion?: string }[] | undefined) => (items ?? []).map((u) => u.kubernetesVersion);
const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");
const patchesOf = (minor: KubernetesVersion) => Object.keys(minor.patchVersions ?? {});

describe.each(API_VERSIONS)("versions, upgrades and machines at api-version $apiVersion ($label)", ({ apiVersion, clientOption }) => {
  const rg = `Upgrades-${apiVersion.replace(/-/g, "")}`;
  let sdk: RecordingClient;
  let slow: RecordingClient;
  let catalogue: KubernetesVersion[];

  beforeAll(async () => {
    sdk = sdkClient(emu, clientOption);
    slow = sdkClient(gated, clientOption);
    await new ArmHttp(emu).createResourceGroup(rg);
    await new ArmHttp(gated).createResourceGroup(rg);
    catalogue = (await sdk.client.managedClusters.listKubernetesVersions(LOCATION)).values ?? [];
  });
  afterEach(() => {
    expect([...sdk.apiVersionsSent, ...slow.apiVersionsSent].every((v) => v === apiVersion)).toBe(true);
  });

  /** The newest patch of a minor, as the versions list shows it. */
  const newestPatch = (minor: string) => patchesOf(catalogue.find((v) => v.version === minor)!).at(-1)!;
  const upgradesOf = (patch: string) => catalogue.find((v) => v.version === minorOf(patch))!.patchVersions![patch].upgrades!;

  async function createCluster(client: RecordingClient, name: string, kubernetesVersion: string): Promise<ManagedCluster> {
    const cluster = await client.client.managedClusters.createOrUpdate(rg, name, {
      location: LOCATION,
      identity: { type: "SystemAssigned" },
      dnsPrefix: name,
      kubernetesVersion,
      agentPoolProfiles: [{ name: "system", count: 2, vmSize: "Standard_D2s_v3", mode: "System", osType: "Linux" }],
    });
    expect(cluster.provisioningState).toBe("Succeeded");
    return cluster;
  }

  it("lists the catalogue; a cluster's version, its upgrade profiles and the available pool versions agree with it", async () => {
    // the list itself: one default minor, supported plans, every patch with its upgrade paths
    expect(catalogue.length).toBeGreaterThanOrEqual(3);
    expect(catalogue.filter((v) => v.isDefault)).toHaveLength(1);
    for (const minor of catalogue) {
      expect(minor.version).toMatch(/^1\.\d+$/);
      // community support, or long-term support alone once community support has ended
      expect(minor.capabilities?.supportPlan).toEqual(expect.arrayContaining([expect.stringMatching(/^(KubernetesOfficial|AKSLongTermSupport)$/)]));
      if (minor.isDefault) expect(minor.capabilities?.supportPlan).toContain("KubernetesOfficial");
      const next = catalogue[catalogue.indexOf(minor) + 1]?.version;
      for (const patch of patchesOf(minor)) {
        expect(minorOf(patch)).toBe(minor.version);
        // newer patches of the same minor, then the patches of the next minor: never a skipped minor
        const expected = [...patchesOf(minor).slice(patchesOf(minor).indexOf(patch) + 1), ...(next ? patchesOf(catalogue.find((v) => v.version === next)!) : [])];
        expect(minor.patchVersions![patch].upgrades).toEqual(expected);
      }
    }
    const defaultMinor = catalogue.find((v) => v.isDefault)!.version!;

    // a cluster created without a version runs the default minor's newest patch
    const unversioned = await sdk.client.managedClusters.createOrUpdate(rg, "default", {
      location: LOCATION,
      dnsPrefix: "default",
      agentPoolProfiles: [{ name: "system", count: 1, mode: "System" }],
    });
    expect(unversioned.currentKubernetesVersion).toBe(newestPatch(defaultMinor));

    // an older minor: the cluster, both upgrade profiles and the available pool versions say the same
    const olderMinor = catalogue[catalogue.findIndex((v) => v.version === defaultMinor) - 1].version!;
    const cluster = await createCluster(sdk, "agree", olderMinor);
    const current = newestPatch(olderMinor);
    expect(cluster.kubernetesVersion).toBe(olderMinor);
    expect(cluster.currentKubernetesVersion).toBe(current);
    expect(cluster.agentPoolProfiles![0].currentOrchestratorVersion).toBe(current);

    const profile = await sdk.client.managedClusters.getUpgradeProfile(rg, "agree");
    expect(profile).toMatchObject({
      id: `${clusterPath(rg, "agree")}/upgradeprofiles/default`,
      name: "default",
      type: "Microsoft.ContainerService/managedClusters/upgradeprofiles",
    });
    expect(profile.controlPlaneProfile.kubernetesVersion).toBe(current);
    expect(profile.controlPlaneProfile.osType).toBe("Linux");
    expect(versionsOf(profile.controlPlaneProfile.upgrades)).toEqual(upgradesOf(current));
    expect(profile.agentPoolProfiles).toHaveLength(1);
    expect(profile.agentPoolProfiles[0]).toMatchObject({ name: "system", kubernetesVersion: current, osType: "Linux" });
    expect(versionsOf(profile.agentPoolProfiles[0].upgrades)).toEqual(upgradesOf(current));

    // a pool on its own may not pass the control plane: it is already there
    const poolProfile = await sdk.client.agentPools.getUpgradeProfile(rg, "agree", "system");
    expect(poolProfile).toMatchObject({
      id: `${clusterPath(rg, "agree")}/agentPools/system/upgradeprofiles/default`,
      name: "default",
      type: "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
      kubernetesVersion: current,
      osType: "Linux",
    });
    expect(poolProfile.upgrades ?? []).toEqual([]);
    expect(poolProfile.latestNodeImageVersion).toMatch(/^AKSUbuntu-2204gen2containerd-\d{6}\.\d{2}\.\d+$/);

    // what Terraform reads before a node pool create: versions up to the control plane, its own the default
    const available = await sdk.client.agentPools.getAvailableAgentPoolVersions(rg, "agree");
    expect(available).toMatchObject({
      id: `${clusterPath(rg, "agree")}/availableagentpoolversions`,
      name: "default",
      type: "Microsoft.ContainerService/managedClusters/availableAgentpoolVersions",
    });
    const offered = versionsOf(available.agentPoolVersions);
    const everyPatch = catalogue.flatMap(patchesOf);
    expect(offered).toContain(current);
    expect(offered.every((v) => everyPatch.includes(v!))).toBe(true);
    expect(offered).not.toContain(newestPatch(defaultMinor));
    expect(available.agentPoolVersions!.filter((v) => v.default)).toEqual([{ kubernetesVersion: current, default: true }]);
  });

  it("an allowed upgrade (next patch, then next minor) moves the control plane, reads Upgrading meanwhile, and the profile follows", async () => {
    const [first, second] = patchesOf(catalogue[0]);
    const cluster = await createCluster(slow, "upgrade", first);
    expect(cluster.currentKubernetesVersion).toBe(first);

    // next patch, watched mid-flight: the cluster reads Upgrading until the work is done
    gate.hold();
    try {
      const poller = slow.client.managedClusters.createOrUpdate(rg, "upgrade", { ...cluster, kubernetesVersion: second });
      await poller.submitted();
      const during = await slow.client.managedClusters.get(rg, "upgrade");
      expect(during.provisioningState).toBe("Upgrading");
      expect(during.currentKubernetesVersion).toBe(second);
      gate.release();
      const patched = await poller.pollUntilDone();
      expect(patched.provisioningState).toBe("Succeeded");
      expect(patched.currentKubernetesVersion).toBe(second);
    } finally {
      gate.release();
    }

    // next minor, named by its alias: its newest patch; the pools stay where their profiles put them
    const nextMinor = catalogue[1].version!;
    const before = await slow.client.managedClusters.get(rg, "upgrade");
    const upgraded = await slow.client.managedClusters.createOrUpdate(rg, "upgrade", { ...before, kubernetesVersion: nextMinor });
    expect(upgraded.kubernetesVersion).toBe(nextMinor);
    expect(upgraded.currentKubernetesVersion).toBe(newestPatch(nextMinor));
    expect(upgraded.agentPoolProfiles![0].currentOrchestratorVersion).toBe(first);

    const profile = await slow.client.managedClusters.getUpgradeProfile(rg, "upgrade");
    expect(profile.controlPlaneProfile.kubernetesVersion).toBe(newestPatch(nextMinor));
    expect(versionsOf(profile.controlPlaneProfile.upgrades)).toEqual(upgradesOf(newestPatch(nextMinor)));
    expect(profile.agentPoolProfiles[0].kubernetesVersion).toBe(first);
    // the pool may now follow the control plane up to its version
    const poolProfile = await slow.client.agentPools.getUpgradeProfile(rg, "upgrade", "system");
    expect(versionsOf(poolProfile.upgrades)).toContain(newestPatch(nextMinor));
    expect(versionsOf(poolProfile.upgrades)).toContain(second);
  });

  it("refuses a skipped minor and a downgrade with 400 OperationNotAllowed, and the cluster is unchanged", async () => {
    const middle = catalogue[1];
    const cluster = await createCluster(sdk, "refuse", middle.version!);
    const current = cluster.currentKubernetesVersion!;

    const skip = await restError(() => sdk.client.managedClusters.createOrUpdate(rg, "refuse", { ...cluster, kubernetesVersion: newestPatch(catalogue[3]!.version!) }));
    expect(skip.statusCode).toBe(400);
    expect(skip.code).toBe("OperationNotAllowed");
    expect(skip.message).toContain(`Upgrading Kubernetes version ${current} to ${newestPatch(catalogue[3]!.version!)} is not allowed. Available upgrades: [`);
    for (const target of upgradesOf(current)) expect(skip.message).toContain(target);

    const down = await restError(() => sdk.client.managedClusters.createOrUpdate(rg, "refuse", { ...cluster, kubernetesVersion: catalogue[0].version }));
    expect(down.statusCode).toBe(400);
    expect(down.code).toBe("OperationNotAllowed");
    expect(down.message).toContain(`Downgrading Kubernetes version ${current} to ${newestPatch(catalogue[0].version!)} is not allowed.`);

    const unknown = await restError(() => sdk.client.managedClusters.createOrUpdate(rg, "refuse", { ...cluster, kubernetesVersion: "1.20.1" }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.code).toBe("K8sVersionNotSupported");

    // nothing moved: same version, same state, same profile
    const after = await sdk.client.managedClusters.get(rg, "refuse");
    expect(after).toEqual(cluster);
    expect((await sdk.client.managedClusters.getUpgradeProfile(rg, "refuse")).controlPlaneProfile.kubernetesVersion).toBe(current);

    // the same minor again (its alias) is no upgrade at all
    const same = await sdk.client.managedClusters.createOrUpdate(rg, "refuse", { ...cluster, kubernetesVersion: middle.version });
    expect(same.currentKubernetesVersion).toBe(current);
  });

  it("upgrades a pool up to the control plane; beyond it, a downgrade, a skipped minor or an unknown version are refused", async () => {
    const [first, second, third] = catalogue.map((v) => v.version!);
    await createCluster(sdk, "pools", third);
    // a new pool two minors below the control plane is within the skew policy
    const pool = await sdk.client.agentPools.createOrUpdate(rg, "pools", "user", { count: 1, mode: "User", orchestratorVersion: first });
    expect(pool.orchestratorVersion).toBe(first);
    expect(pool.currentOrchestratorVersion).toBe(newestPatch(first));

    const skip = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "pools", "user", { ...pool, orchestratorVersion: third }));
    expect({ status: skip.statusCode, code: skip.code }).toEqual({ status: 400, code: "AgentPoolUpgradeVersionNotAllowed" });
    expect(skip.message).toContain(`Upgrade agent pool version from ${newestPatch(first)} to ${newestPatch(third)} is not allowed`);

    // one minor up: allowed, Upgrading, and the pool comes back on the newest node image
    const upgraded = await sdk.client.agentPools.createOrUpdate(rg, "pools", "user", { ...pool, orchestratorVersion: second });
    expect(upgraded.provisioningState).toBe("Succeeded");
    expect(upgraded.currentOrchestratorVersion).toBe(newestPatch(second));
    expect(upgraded.nodeImageVersion).toBe((await sdk.client.agentPools.getUpgradeProfile(rg, "pools", "user")).latestNodeImageVersion);

    const down = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "pools", "user", { ...upgraded, orchestratorVersion: newestPatch(first) }));
    expect({ status: down.statusCode, code: down.code }).toEqual({ status: 400, code: "AgentPoolUpgradeVersionNotAllowed" });

    const unknown = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "pools", "user", { ...upgraded, orchestratorVersion: "1.19" }));
    expect({ status: unknown.statusCode, code: unknown.code }).toEqual({ status: 400, code: "AgentPoolK8sVersionNotSupported" });

    // a pool never goes past its control plane
    const older = await createCluster(sdk, "behind", second);
    const ahead = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "behind", "system", { ...older.agentPoolProfiles![0], orchestratorVersion: third }));
    expect({ status: ahead.statusCode, code: ahead.code }).toEqual({ status: 400, code: "NodePoolMcVersionIncompatible" });
    expect(ahead.message).toContain(`Node pool version ${newestPatch(third)} and control plane version ${older.currentKubernetesVersion} are incompatible.`);
    const aheadNew = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "behind", "newer", { count: 1, mode: "User", orchestratorVersion: third }));
    expect(aheadNew.code).toBe("NodePoolMcVersionIncompatible");
    expect(versionsOf((await sdk.client.agentPools.getUpgradeProfile(rg, "behind", "system")).upgrades)).toEqual([]);

    // nothing changed by the refusals
    expect((await sdk.client.agentPools.get(rg, "pools", "user")).currentOrchestratorVersion).toBe(newestPatch(second));
    expect((await sdk.client.agentPools.get(rg, "behind", "system")).currentOrchestratorVersion).toBe(older.currentKubernetesVersion);
    expect((await collect(sdk.client.agentPools.list(rg, "behind"))).map((p) => p.name)).toEqual(["system"]);
  });

  it("upgradeNodeImageVersion moves a pool to the latest node image its upgrade profile names", async () => {
    const cluster = await createCluster(sdk, "image", catalogue[1].version!);
    const before = cluster.agentPoolProfiles![0].nodeImageVersion!;
    const { latestNodeImageVersion } = await sdk.client.agentPools.getUpgradeProfile(rg, "image", "system");
    expect(before).toMatch(/^AKSUbuntu-/);
    expect(latestNodeImageVersion).not.toBe(before);

    await sdk.client.agentPools.upgradeNodeImageVersion(rg, "image", "system").pollUntilDone();
    const pool = await sdk.client.agentPools.get(rg, "image", "system");
    expect(pool.nodeImageVersion).toBe(latestNodeImageVersion);
    expect(pool.provisioningState).toBe("Succeeded");
    expect(pool.currentOrchestratorVersion).toBe(cluster.currentKubernetesVersion);
    expect((await sdk.client.managedClusters.get(rg, "image")).agentPoolProfiles![0].nodeImageVersion).toBe(latestNodeImageVersion);

    // on the wire: 202 with the pool (UpgradingNodeImageVersion) and both URLs; Location ends with the pool
    const arm = new ArmHttp(emu);
    const started = await arm.call("POST", `${clusterPath(rg, "image")}/agentPools/system/upgradeNodeImageVersion?api-version=${apiVersion}`);
    expect(started.status).toBe(202);
    expect(started.body.properties.provisioningState).toBe("UpgradingNodeImageVersion");
    expect(started.headers.get("azure-asyncoperation")).toContain("/operations/");
    expect(started.headers.get("retry-after")).toBe("1");
    const result = await arm.pollLocation(started.headers.get("location")!);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ name: "system", properties: { nodeImageVersion: latestNodeImageVersion, provisioningState: "Succeeded" } });
  });

  it("machines: one per node, named as AKS names scale-set instances; deleteMachines removes the named ones and lowers the count", async () => {
    await createCluster(sdk, "machines", catalogue[1].version!);
    const added = await sdk.client.agentPools.createOrUpdate(rg, "machines", "work", { count: 4, mode: "User", availabilityZones: ["1", "2"] });
    expect(added.count).toBe(4);

    const machines = await collect(sdk.client.machines.list(rg, "machines", "work"));
    expect(machines).toHaveLength(4);
    const names = machines.map((m) => m.name!);
    const scaleSet = names[0].replace(/vmss[0-9a-z]{6}$/, "vmss");
    expect(scaleSet).toMatch(/^aks-work-\d{8}-vmss$/);
    expect(names).toEqual([0, 1, 2, 3].map((n) => `${scaleSet}00000${n}`));
    expect(new Set(machines.map((m) => m.properties!.network!.ipAddresses![0].ip)).size).toBe(4);
    for (const [n, machine] of machines.entries()) {
      expect(machine).toMatchObject({
        id: `${clusterPath(rg, "machines")}/agentPools/work/machines/${names[n]}`,
        type: "Microsoft.ContainerService/managedClusters/agentPools/machines",
        zones: [["1", "2"][n % 2]],
      });
      expect(machine.properties!.network!.ipAddresses).toEqual([{ family: "IPv4", ip: expect.stringMatching(/^10\.224\.\d+\.\d+$/) }]);
      expect(machine.properties!.resourceId).toBe(
        `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/MC_${rg}_machines_${LOCATION}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${n}`,
      );
    }
    // the system pool's scale set carries the same cluster number
    const systemMachines = await collect(sdk.client.machines.list(rg, "machines", "system"));
    expect(systemMachines.map((m) => m.name)).toEqual([0, 1].map((n) => `${scaleSet.replace("-work-", "-system-")}00000${n}`));

    expect(await sdk.client.machines.get(rg, "machines", "work", names[2])).toEqual(machines[2]);
    const missing = await restError(() => sdk.client.machines.get(rg, "machines", "work", `${scaleSet}00000z`));
    expect({ status: missing.statusCode, code: missing.code }).toEqual({ status: 404, code: "NotFound" });

    // a name that is not a machine of the pool: refused, nothing deleted
    const unknown = await restError(() => sdk.client.agentPools.deleteMachines(rg, "machines", "work", { machineNames: [names[0], "aks-work-00000000-vmss000009"] }));
    expect({ status: unknown.statusCode, code: unknown.code }).toEqual({ status: 400, code: "InvalidParameter" });
    expect(unknown.message).toContain("aks-work-00000000-vmss000009");
    expect(await collect(sdk.client.machines.list(rg, "machines", "work"))).toHaveLength(4);

    await sdk.client.agentPools.deleteMachines(rg, "machines", "work", { machineNames: [names[1], names[2]] }).pollUntilDone();
    const pool = await sdk.client.agentPools.get(rg, "machines", "work");
    expect(pool.count).toBe(2);
    expect(pool.provisioningState).toBe("Succeeded");
    const remaining = await collect(sdk.client.machines.list(rg, "machines", "work"));
    expect(remaining).toEqual([machines[0], machines[3]]);
    const gone = await restError(() => sdk.client.machines.get(rg, "machines", "work", names[1]));
    expect(gone.statusCode).toBe(404);

    // scaling out again takes new instance ids: the deleted names are not reused
    const scaled = await sdk.client.agentPools.createOrUpdate(rg, "machines", "work", { ...pool, count: 3 });
    expect(scaled.count).toBe(3);
    expect((await collect(sdk.client.machines.list(rg, "machines", "work"))).map((m) => m.name)).toEqual([names[0], names[3], `${scaleSet}000004`]);

    // a System pool keeps at least one node
    const last = await restError(() => sdk.client.agentPools.deleteMachines(rg, "machines", "system", { machineNames: systemMachines.map((m) => m.name!) }));
    expect({ status: last.statusCode, code: last.code }).toEqual({ status: 400, code: "InvalidParameter" });
    expect(await collect(sdk.client.machines.list(rg, "machines", "system"))).toHaveLength(2);
  });

  it("a System pool cannot be stopped; a User pool stops with its count kept and starts again", async () => {
    const cluster = await createCluster(sdk, "power", catalogue[1].version!);
    const system = cluster.agentPoolProfiles![0];
    const refused = await restError(() => sdk.client.agentPools.createOrUpdate(rg, "power", "system", { ...system, powerState: { code: "Stopped" } }));
    expect({ status: refused.statusCode, code: refused.code }).toEqual({ status: 400, code: "OperationNotAllowed" });
    const stillRunning = await sdk.client.agentPools.get(rg, "power", "system");
    expect(stillRunning.powerState?.code).toBe("Running");
    expect(stillRunning.count).toBe(2);

    const user: AgentPool = await sdk.client.agentPools.createOrUpdate(rg, "power", "user", { count: 3, mode: "User", vmSize: "Standard_D4s_v3" });
    expect(user.powerState?.code).toBe("Running");

    // az aks nodepool stop sends the pool back with powerState Stopped
    const stopped = await sdk.client.agentPools.createOrUpdate(rg, "power", "user", { ...user, powerState: { code: "Stopped" } });
    expect(stopped.powerState?.code).toBe("Stopped");
    expect(stopped.count).toBe(3);
    expect(stopped.provisioningState).toBe("Succeeded");
    expect((await sdk.client.managedClusters.get(rg, "power")).agentPoolProfiles!.find((p) => p.name === "user")?.powerState?.code).toBe("Stopped");

    // AKS's own start example sends powerState alone: everything else stays
    const started = await sdk.client.agentPools.createOrUpdate(rg, "power", "user", { powerState: { code: "Running" } });
    expect(started.powerState?.code).toBe("Running");
    expect(started).toMatchObject({ count: 3, vmSize: "Standard_D4s_v3", mode: "User", provisioningState: "Succeeded" });
  });

  it("shows Upgrading, Stopping and Starting while a pool changes", async () => {
    await createCluster(slow, "powerwatch", catalogue[1].version!);
    const old = await slow.client.agentPools.createOrUpdate(rg, "powerwatch", "user", { count: 1, mode: "User", orchestratorVersion: catalogue[0].version });
    gate.hold();
    try {
      const upgrade = slow.client.agentPools.createOrUpdate(rg, "powerwatch", "user", { ...old, orchestratorVersion: catalogue[1].version });
      await upgrade.submitted();
      const during = await slow.client.agentPools.get(rg, "powerwatch", "user");
      expect(during.provisioningState).toBe("Upgrading");
      expect(during.currentOrchestratorVersion).toBe(newestPatch(catalogue[1].version!));
      gate.release();
      const user = await upgrade.pollUntilDone();
      expect(user.provisioningState).toBe("Succeeded");

      gate.hold();
      const stop = slow.client.agentPools.createOrUpdate(rg, "powerwatch", "user", { ...user, powerState: { code: "Stopped" } });
      await stop.submitted();
      expect((await slow.client.agentPools.get(rg, "powerwatch", "user")).provisioningState).toBe("Stopping");
      gate.release();
      await stop.pollUntilDone();
      gate.hold();
      const start = slow.client.agentPools.createOrUpdate(rg, "powerwatch", "user", { powerState: { code: "Running" } });
      await start.submitted();
      expect((await slow.client.agentPools.get(rg, "powerwatch", "user")).provisioningState).toBe("Starting");
      gate.release();
      expect((await start.pollUntilDone()).powerState?.code).toBe("Running");
    } finally {
      gate.release();
    }
  });
});
