// The whole life of a managed cluster and its agent pools, driven by the real
// @azure/arm-containerservice client over HTTPS (plus raw fetch where the wire contract itself is
// the subject), at both api-versions clients send in the field.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AgentPool, ManagedCluster, ManagedClusterAgentPoolProfile } from "@azure/arm-containerservice";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import {
  ArmHttp,
  clusterPath,
  collect,
  minimalCluster,
  parseKubeconfig,
  restError,
  API_VERSIONS,
  sdkClient,
  type RawResponse,
  type RecordingClient,
} from "../support/sdk.js";

/** The client id of emu.credential: the token's appid, hence systemData.createdBy. */
const CLIENT_ID = "11111111-2222-3333-4444-555555555555";
const LOCATION = "eastus";

let emu: TestEmulator;
let gated: TestEmulator;
const gate = new GatedBackend({ gated: ["applyCluster", "applyAgentPool", "deleteAgentPool", "deleteCluster"] });
useEmulator((started) => (emu = started));
useEmulator((started) => (gated = started), {}, { backend: gate });
afterAll(() => gate.release()); // work still held must not outlive the file

describe.each(API_VERSIONS)("cluster lifecycle at api-version $apiVersion ($label)", ({ apiVersion, clientOption }) => {
  const suffix = apiVersion.replace(/-/g, "");
  const rg = `Lifecycle-${suffix}`;
  const otherRg = `lifecycle-other-${suffix}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;

  beforeAll(async () => {
    sdk = sdkClient(emu, clientOption);
    arm = new ArmHttp(emu);
    await arm.createResourceGroup(rg);
    await arm.createResourceGroup(otherRg);
  });
  afterEach(() => {
    // The version under test is the one on the wire, for calls, polls and next pages alike.
    expect([...sdk.apiVersionsSent]).toEqual([apiVersion]);
  });

  /** A cluster as a user writes it: everything a typical create sends. */
  function clusterRequest(overrides: Partial<ManagedCluster> = {}): ManagedCluster {
    return {
      location: LOCATION,
      tags: { env: "test", team: "platform" },
      identity: { type: "SystemAssigned" },
      dnsPrefix: "lifecycle",
      kubernetesVersion: "1.33",
      enableRbac: true,
      networkProfile: { networkPlugin: "kubenet" },
      agentPoolProfiles: [
        {
          name: "systempool",
          count: 2,
          vmSize: "Standard_D2s_v3",
          mode: "System",
          osType: "Linux",
          nodeLabels: { tier: "system", "example.com/owner": "lifecycle" },
          nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"],
        },
      ],
      ...overrides,
    };
  }

  async function createCluster(name: string, resourceGroup = rg, overrides: Partial<ManagedCluster> = {}): Promise<ManagedCluster> {
    const cluster = await sdk.client.managedClusters.createOrUpdate(resourceGroup, name, clusterRequest(overrides));
    expect(cluster.provisioningState).toBe("Succeeded");
    return cluster;
  }

  const profileOf = (cluster: ManagedCluster, pool: string) => cluster.agentPoolProfiles?.find((p) => p.name === pool);

  /** The fields both views of a pool (agentPools and the cluster's agentPoolProfiles) must agree on. */
  const poolFacts = (pool: AgentPool | ManagedClusterAgentPoolProfile | undefined) => ({
    count: pool?.count,
    vmSize: pool?.vmSize,
    mode: pool?.mode,
    nodeLabels: pool?.nodeLabels,
    nodeTaints: pool?.nodeTaints ?? [],
    orchestratorVersion: pool?.orchestratorVersion,
    provisioningState: pool?.provisioningState,
  });

  async function expectPoolInBothViews(cluster: string, pool: string, expected: Partial<ReturnType<typeof poolFacts>>) {
    const listed = (await collect(sdk.client.agentPools.list(rg, cluster))).find((p) => p.name === pool);
    const fromGet = await sdk.client.agentPools.get(rg, cluster, pool);
    const fromCluster = profileOf(await sdk.client.managedClusters.get(rg, cluster), pool);
    expect(poolFacts(listed)).toMatchObject(expected);
    expect(poolFacts(fromGet)).toEqual(poolFacts(listed));
    expect(poolFacts(fromCluster)).toEqual(poolFacts(listed));
  }

  it("creates a cluster through the SDK poller; it round-trips what was sent and adds what Azure computes", async () => {
    const name = "alpha";
    const request = clusterRequest();
    const poller = sdk.client.managedClusters.createOrUpdate(rg, name, request);
    await poller.submitted();
    expect(poller.operationState?.status).toBe("running"); // 201 Creating: the SDK has to poll
    const cluster = await poller.pollUntilDone();
    expect(poller.operationState?.status).toBe("succeeded");

    // identity of the resource
    expect(cluster.id).toBe(clusterPath(rg, name));
    expect(cluster.name).toBe(name);
    expect(cluster.type).toBe("Microsoft.ContainerService/managedClusters");
    expect(cluster.provisioningState).toBe("Succeeded");

    // every field sent comes back
    expect(cluster.location).toBe(LOCATION);
    expect(cluster.tags).toEqual(request.tags);
    expect(cluster.dnsPrefix).toBe("lifecycle");
    expect(cluster.kubernetesVersion).toBe("1.33");
    expect(cluster.enableRbac).toBe(true);
    expect(cluster.networkProfile?.networkPlugin).toBe("kubenet");
    expect(cluster.identity?.type).toBe("SystemAssigned");
    expect(cluster.agentPoolProfiles).toHaveLength(1);
    expect(cluster.agentPoolProfiles![0]).toMatchObject(request.agentPoolProfiles![0]);

    // the read-only fields Azure computes
    expect(cluster.currentKubernetesVersion).toMatch(/^1\.33\.\d+$/);
    expect(cluster.fqdn).toMatch(/^lifecycle-[0-9a-z-]+\.hcp\.eastus\.azmk8s\.io$/);
    expect(cluster.azurePortalFqdn).toMatch(/^lifecycle-[0-9a-z-]+\.portal\.hcp\.eastus\.azmk8s\.io$/);
    expect(cluster.nodeResourceGroup).toBe(`MC_${rg}_${name}_${LOCATION}`);
    expect(cluster.powerState?.code).toBe("Running");
    expect(cluster.maxAgentPools).toBeGreaterThan(0);
    expect(cluster.servicePrincipalProfile).toEqual({ clientId: "msi" });
    expect(cluster.identity?.principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cluster.identity?.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cluster.identityProfile?.kubeletidentity).toMatchObject({
      resourceId: expect.stringContaining(`/resourcegroups/MC_${rg}_${name}_${LOCATION}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/`),
      clientId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      objectId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const pool = cluster.agentPoolProfiles![0];
    expect(pool.currentOrchestratorVersion).toBe(cluster.currentKubernetesVersion);
    expect(pool.provisioningState).toBe("Succeeded");
    expect(pool.powerState?.code).toBe("Running");

    // who did it, and when
    expect(cluster.systemData).toMatchObject({ createdBy: CLIENT_ID, createdByType: "Application", lastModifiedBy: CLIENT_ID, lastModifiedByType: "Application" });
    expect(cluster.systemData?.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - cluster.systemData!.createdAt!.getTime())).toBeLessThan(60_000);

    // a later GET serves the same resource
    const fetched = await sdk.client.managedClusters.get(rg, name);
    expect(fetched).toEqual(cluster);
  });

  it("speaks the raw ARM contract: 201/200 PUT with Azure-AsyncOperation, operation status, 202/204 DELETE", async () => {
    const name = "raw";
    const url = `${clusterPath(rg, name)}?api-version=${apiVersion}`;
    const operationsUrl = (base: string, kind: "operations" | "operationresults") =>
      new RegExp(`^${escapeRegExp(`${base}/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/${LOCATION}/${kind}/`)}[0-9a-f-]+\\?api-version=${apiVersion}$`);

    // create: 201, status URL on the host the client used. The mocked backend does no work, so the
    // answer already reads Succeeded (as the product documentation promises) and so does its
    // operation; the in-progress states are the next test's subject.
    const create = await arm.call("PUT", url, { ...minimalCluster(LOCATION), identity: { type: "SystemAssigned" } }, { "x-ms-correlation-request-id": "raw-create-correlation" });
    expectArmHeaders(create);
    expect(create.headers.get("x-ms-correlation-request-id")).toBe("raw-create-correlation");
    expect(create.status).toBe(201);
    expect(create.body.properties.provisioningState).toBe("Succeeded");
    expect(create.headers.get("retry-after")).toBe("1");
    const createStatusUrl = create.headers.get("azure-asyncoperation")!;
    expect(createStatusUrl).toMatch(operationsUrl(emu.url, "operations"));

    const status = await arm.pollAsyncOperation(createStatusUrl);
    expectArmHeaders(status);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      name: new URL(createStatusUrl).pathname.split("/").at(-1),
      status: "Succeeded",
      startTime: expect.any(String),
      endTime: expect.any(String),
    });
    expect(Date.parse(status.body.endTime)).toBeGreaterThanOrEqual(Date.parse(status.body.startTime));
    const created = await arm.call("GET", url);
    expectArmHeaders(created);
    expect(created.status).toBe(200);
    expect(created.body.properties.provisioningState).toBe("Succeeded");

    // update, this time over plain HTTP on 127.0.0.1: 200, and the headers follow that host
    const update = await arm.call("PUT", `${emu.httpUrl}${url}`, { ...minimalCluster(LOCATION), tags: { updated: "yes" } });
    expectArmHeaders(update);
    expect(update.status).toBe(200);
    expect(update.body.properties.provisioningState).toBe("Succeeded");
    expect(update.body.tags).toEqual({ updated: "yes" });
    // the body left identity out: a managed identity cannot be removed, so it and the kubelet identity stay
    expect(update.body.identity).toEqual(created.body.identity);
    expect(update.body.identity.principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(update.body.properties.identityProfile).toEqual(created.body.properties.identityProfile);
    expect(update.body.properties.identityProfile.kubeletidentity.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(update.headers.get("retry-after")).toBe("1");
    const updateStatusUrl = update.headers.get("azure-asyncoperation")!;
    expect(updateStatusUrl).toMatch(operationsUrl(emu.httpUrl, "operations"));
    expect((await arm.pollAsyncOperation(updateStatusUrl)).body.status).toBe("Succeeded");

    // delete: 202 with both URLs; the Location URL ends the operation with no content
    const remove = await arm.call("DELETE", url);
    expectArmHeaders(remove);
    expect(remove.status).toBe(202);
    expect(remove.headers.get("retry-after")).toBe("1");
    expect(remove.headers.get("azure-asyncoperation")).toMatch(operationsUrl(emu.url, "operations"));
    const resultUrl = remove.headers.get("location")!;
    expect(resultUrl).toMatch(operationsUrl(emu.url, "operationresults"));
    const result = await arm.pollLocation(resultUrl);
    expectArmHeaders(result);
    expect([200, 204]).toContain(result.status);
    expect((await arm.pollAsyncOperation(remove.headers.get("azure-asyncoperation")!)).body.status).toBe("Succeeded");

    const gone = await arm.call("GET", url);
    expectArmHeaders(gone);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("ResourceNotFound");

    const again = await arm.call("DELETE", url);
    expectArmHeaders(again);
    expect(again.status).toBe(204);
  });

  it("shows an operation in progress: Creating and Deleting states, 409 on a second write, InProgress status with Retry-After", async () => {
    const slow = sdkClient(gated, clientOption);
    const slowArm = new ArmHttp(gated);
    await slowArm.createResourceGroup(rg);
    const name = "inflight";
    const url = `${gated.url}${clusterPath(rg, name)}?api-version=${apiVersion}`;
    gate.hold();
    try {
      // create: the SDK's first poll finds the operation still running
      const poller = slow.client.managedClusters.createOrUpdate(rg, name, clusterRequest());
      await poller.poll();
      expect(poller.operationState?.status).toBe("running");
      const creating = await slowArm.call("GET", url);
      expect(creating.body.properties.provisioningState).toBe("Creating");
      expect(creating.body.properties.agentPoolProfiles[0].provisioningState).toBe("Creating");

      const secondWrite = await slowArm.call("PUT", url, minimalCluster(LOCATION));
      expect(secondWrite.status).toBe(409);
      expect(secondWrite.body.error.code).toBe("OperationNotAllowed");
      const poolWrite = await restError(() => slow.client.agentPools.createOrUpdate(rg, name, "user1", { count: 1, mode: "User" }));
      expect(poolWrite.statusCode).toBe(409);
      expect(poolWrite.code).toBe("OperationNotAllowed");

      const inProgress = await slowArm.call("GET", slow.asyncOperationUrls.at(-1)!);
      expect(inProgress.status).toBe(200);
      expect(inProgress.body).toMatchObject({ status: "InProgress", startTime: expect.any(String) });
      expect(inProgress.body.endTime).toBeUndefined();
      // without it Python and az wait 30 s between polls, Terraform 10 s, this SDK 2 s
      expect(inProgress.headers.get("retry-after")).toBe("1");

      gate.release();
      const cluster = await poller.pollUntilDone();
      expect(cluster.provisioningState).toBe("Succeeded");
      expect(cluster.agentPoolProfiles?.[0].provisioningState).toBe("Succeeded");

      // delete: Deleting while it runs; the Location URL answers 202 until it ends, then the cluster is gone
      gate.hold();
      const removal = await slowArm.call("DELETE", url);
      expect(removal.status).toBe(202);
      expect((await slowArm.call("GET", url)).body.properties.provisioningState).toBe("Deleting");
      const running = await slowArm.call("GET", removal.headers.get("location")!);
      expect(running.status).toBe(202);
      expect(running.headers.get("retry-after")).toBe("1");
      expect(running.headers.get("location")).toBe(removal.headers.get("location"));
      gate.release();
      expect([200, 204]).toContain((await slowArm.pollLocation(removal.headers.get("location")!)).status);
      expect((await slowArm.call("GET", url)).status).toBe(404);
    } finally {
      gate.release();
    }
    expect([...slow.apiVersionsSent]).toEqual([apiVersion]);
  });

  it("gets a cluster, lists it by subscription and by resource group, and replaces its tags", async () => {
    await createCluster("beta");
    await createCluster("gamma", otherRg);

    const beta = await sdk.client.managedClusters.get(rg, "beta");
    expect(beta.id).toBe(clusterPath(rg, "beta"));
    expect(beta.agentPoolProfiles?.map((p) => p.name)).toEqual(["systempool"]);

    const inSubscription = (await collect(sdk.client.managedClusters.list())).map((c) => c.id);
    expect(inSubscription).toContain(clusterPath(rg, "beta"));
    expect(inSubscription).toContain(clusterPath(otherRg, "gamma"));
    const inGroup = (await collect(sdk.client.managedClusters.listByResourceGroup(rg))).map((c) => c.id);
    expect(inGroup).toContain(clusterPath(rg, "beta"));
    expect(inGroup).not.toContain(clusterPath(otherRg, "gamma"));
    expect(inGroup.every((id) => id?.startsWith(`/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/`))).toBe(true);
    const inOtherGroup = (await collect(sdk.client.managedClusters.listByResourceGroup(otherRg))).map((c) => c.id);
    expect(inOtherGroup).toEqual([clusterPath(otherRg, "gamma")]);

    // PATCH tags replaces the whole map: "team" goes, "env" changes, "owner" arrives
    const tagged = await sdk.client.managedClusters.updateTags(rg, "beta", { tags: { env: "prod", owner: "me" } });
    expect(tagged.tags).toEqual({ env: "prod", owner: "me" });
    expect(tagged.systemData?.createdBy).toBe(CLIENT_ID);
    expect(tagged.systemData!.lastModifiedAt!.getTime()).toBeGreaterThanOrEqual(beta.systemData!.lastModifiedAt!.getTime());
    const afterTags = await sdk.client.managedClusters.get(rg, "beta");
    expect(afterTags.tags).toEqual({ env: "prod", owner: "me" });
    expect(afterTags.provisioningState).toBe("Succeeded");
    expect(afterTags.agentPoolProfiles?.[0].count).toBe(2); // tags alone change nothing else
  });

  it("adds, scales, updates and deletes a User pool, seen alike through agentPools and agentPoolProfiles", async () => {
    const cluster = "pools";
    await createCluster(cluster);

    // add
    const added = await sdk.client.agentPools.createOrUpdate(rg, cluster, "userpool", {
      count: 1,
      vmSize: "Standard_D4s_v3",
      mode: "User",
      osType: "Linux",
      nodeLabels: { workload: "batch" },
      nodeTaints: ["batch=true:NoSchedule"],
    });
    expect(added).toMatchObject({
      id: `${clusterPath(rg, cluster)}/agentPools/userpool`,
      name: "userpool",
      type: "Microsoft.ContainerService/managedClusters/agentPools",
      count: 1,
      vmSize: "Standard_D4s_v3",
      mode: "User",
      provisioningState: "Succeeded",
    });
    expect(added.currentOrchestratorVersion).toMatch(/^1\.33\.\d+$/);
    // who made it, and when (an agent pool's systemData is in its schema since 2025-10-01)
    expect(added.systemData).toMatchObject({ createdBy: CLIENT_ID, createdByType: "Application", lastModifiedBy: CLIENT_ID, lastModifiedByType: "Application" });
    expect(Math.abs(Date.now() - added.systemData!.createdAt!.getTime())).toBeLessThan(60_000);
    const poolUrl = (version: string) => `${clusterPath(rg, cluster)}/agentPools/userpool?api-version=${version}`;
    expect((await arm.call("GET", poolUrl("2024-02-01"))).body).not.toHaveProperty("systemData");
    expect((await arm.call("GET", `${clusterPath(rg, cluster)}?api-version=2025-10-01`)).body.properties.agentPoolProfiles.map((p: object) => "systemData" in p)).toEqual([false, false]);
    await expectPoolInBothViews(cluster, "userpool", { count: 1, vmSize: "Standard_D4s_v3", mode: "User", nodeLabels: { workload: "batch" }, provisioningState: "Succeeded" });
    expect((await collect(sdk.client.agentPools.list(rg, cluster))).map((p) => p.name).sort()).toEqual(["systempool", "userpool"]);

    // scale 1 -> 3 the way clients do: read, change, write back
    const current = await sdk.client.agentPools.get(rg, cluster, "userpool");
    const scaled = await sdk.client.agentPools.createOrUpdate(rg, cluster, "userpool", { ...current, count: 3 });
    expect(scaled.count).toBe(3);
    expect(scaled.provisioningState).toBe("Succeeded");
    expect(scaled.systemData?.createdAt).toEqual(added.systemData!.createdAt);
    expect(scaled.systemData!.lastModifiedAt!.getTime()).toBeGreaterThanOrEqual(added.systemData!.createdAt!.getTime());
    await expectPoolInBothViews(cluster, "userpool", { count: 3, vmSize: "Standard_D4s_v3", nodeLabels: { workload: "batch" } });

    // update through the cluster's agentPoolProfiles: the pool resource follows
    const whole = await sdk.client.managedClusters.get(rg, cluster);
    const profiles = whole.agentPoolProfiles!.map((p) => (p.name === "userpool" ? { ...p, count: 2, nodeLabels: { workload: "stream" } } : p));
    const updated = await sdk.client.managedClusters.createOrUpdate(rg, cluster, { ...whole, agentPoolProfiles: profiles });
    expect(updated.provisioningState).toBe("Succeeded");
    expect(profileOf(updated, "userpool")).toMatchObject({ count: 2, nodeLabels: { workload: "stream" } });
    const viaPools = await sdk.client.agentPools.get(rg, cluster, "userpool");
    expect(viaPools).toMatchObject({ count: 2, nodeLabels: { workload: "stream" }, vmSize: "Standard_D4s_v3", mode: "User", provisioningState: "Succeeded" });
    await expectPoolInBothViews(cluster, "userpool", { count: 2 });
    expect((await sdk.client.agentPools.get(rg, cluster, "systempool")).count).toBe(2); // untouched

    // delete: gone from both views
    await sdk.client.agentPools.delete(rg, cluster, "userpool");
    expect((await collect(sdk.client.agentPools.list(rg, cluster))).map((p) => p.name)).toEqual(["systempool"]);
    expect((await sdk.client.managedClusters.get(rg, cluster)).agentPoolProfiles?.map((p) => p.name)).toEqual(["systempool"]);
    const missing = await restError(() => sdk.client.agentPools.get(rg, cluster, "userpool"));
    expect(missing.statusCode).toBe(404);
  });

  it("refuses to delete the last System pool", async () => {
    const cluster = "lastsystem";
    await createCluster(cluster);
    const refused = await restError(() => sdk.client.agentPools.delete(rg, cluster, "systempool"));
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe("OperationNotAllowed");
    const pool = await sdk.client.agentPools.get(rg, cluster, "systempool");
    expect(pool).toMatchObject({ mode: "System", count: 2, provisioningState: "Succeeded" });
    expect((await sdk.client.managedClusters.get(rg, cluster)).provisioningState).toBe("Succeeded");
  });

  it("lists admin, user and monitoring credentials as kubeconfigs named the way AKS names them", async () => {
    const name = "creds";
    await createCluster(name);
    const cases = [
      { list: () => sdk.client.managedClusters.listClusterAdminCredentials(rg, name), entry: "clusterAdmin", user: `clusterAdmin_${rg}_${name}`, context: name }, // az adds "-admin"
      { list: () => sdk.client.managedClusters.listClusterUserCredentials(rg, name), entry: "clusterUser", user: `clusterUser_${rg}_${name}`, context: name },
      { list: () => sdk.client.managedClusters.listClusterMonitoringUserCredentials(rg, name), entry: "clusterMonitoringUser", user: `clusterMonitoringUser_${rg}_${name}`, context: name },
    ];
    for (const c of cases) {
      const result = await c.list();
      expect(result.kubeconfigs?.map((k) => k.name)).toEqual([c.entry]);
      const kubeconfig = parseKubeconfig(result.kubeconfigs![0].value);
      expect(kubeconfig).toMatchObject({ apiVersion: "v1", kind: "Config", "current-context": c.context });
      expect(kubeconfig.clusters).toEqual([{ name, cluster: { server: "https://localhost:6443", "insecure-skip-tls-verify": true } }]);
      expect(kubeconfig.contexts).toEqual([{ name: c.context, context: { cluster: name, user: c.user } }]);
      expect(kubeconfig.users).toHaveLength(1);
      expect(kubeconfig.users[0].name).toBe(c.user);
      expect(kubeconfig.users[0].user.token).toMatch(/^\S{16,}$/);
    }

    // on the wire the value is base64 text, and the resource group's created casing survives a lower-case call
    const raw = await arm.call("POST", `${clusterPath(rg.toLowerCase(), name)}/listClusterUserCredential?api-version=${apiVersion}`);
    expectArmHeaders(raw);
    expect(raw.status).toBe(200);
    expect(raw.body.kubeconfigs[0].value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(parseKubeconfig(raw.body.kubeconfigs[0].value).users[0].name).toBe(`clusterUser_${rg}_${name}`);
  });

  it("deletes a cluster through the SDK poller: the cluster and its pools are gone", async () => {
    const name = "doomed";
    await createCluster(name);
    await sdk.client.agentPools.createOrUpdate(rg, name, "extra", { count: 1, mode: "User", vmSize: "Standard_D2s_v3" });

    const poller = sdk.client.managedClusters.delete(rg, name);
    await poller.submitted();
    expect(poller.operationState?.status).toBe("running"); // 202: the SDK has to poll
    await poller.pollUntilDone();
    expect(poller.operationState?.status).toBe("succeeded");

    const getError = await restError(() => sdk.client.managedClusters.get(rg, name));
    expect(getError.statusCode).toBe(404);
    expect(getError.code).toBe("ResourceNotFound");
    const listError = await restError(() => collect(sdk.client.agentPools.list(rg, name)));
    expect(listError.statusCode).toBe(404);
    const poolError = await restError(() => sdk.client.agentPools.get(rg, name, "extra"));
    expect(poolError.statusCode).toBe(404);
    const ids = (await collect(sdk.client.managedClusters.listByResourceGroup(rg))).map((c) => c.id);
    expect(ids).not.toContain(clusterPath(rg, name));

    // a cluster of the same name starts afresh, with only the pools it is created with
    const reborn = await createCluster(name);
    expect(reborn.agentPoolProfiles?.map((p) => p.name)).toEqual(["systempool"]);
  });

  it("finds a cluster whatever the casing of names and literal segments, and keeps the created casing", async () => {
    const name = "MixedCase";
    await createCluster(name);
    const canonical = clusterPath(rg, name);

    const shouted =
      `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${rg.toUpperCase()}/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/${name.toLowerCase()}`;
    const raw = await arm.call("GET", `${shouted}?api-version=${apiVersion}`);
    expectArmHeaders(raw);
    expect(raw.status).toBe(200);
    expect(raw.body.id).toBe(canonical);
    expect(raw.body.name).toBe(name);
    // pool names keep their lower case: the spec's pattern for agentPoolName is ^[a-z][a-z0-9]{0,11}$
    const pool = await arm.call("GET", `${shouted}/AGENTPOOLS/systempool?api-version=${apiVersion}`);
    expect(pool.status).toBe(200);
    expect(pool.body.id).toBe(`${canonical}/agentPools/systempool`);

    const viaSdk = await sdk.client.managedClusters.get(rg.toLowerCase(), name.toUpperCase());
    expect(viaSdk.id).toBe(canonical);

    // a write in another casing updates the same cluster, and keeps its id and creation data
    const updated = await sdk.client.managedClusters.createOrUpdate(rg.toLowerCase(), name.toLowerCase(), clusterRequest({ tags: { casing: "lower" } }));
    expect(updated.id).toBe(canonical);
    expect(updated.name).toBe(name);
    expect(updated.tags).toEqual({ casing: "lower" });
    expect(updated.nodeResourceGroup).toBe(`MC_${rg}_${name}_${LOCATION}`);
    const matching = (await collect(sdk.client.managedClusters.listByResourceGroup(rg))).filter((c) => c.name?.toLowerCase() === name.toLowerCase());
    expect(matching.map((c) => c.id)).toEqual([canonical]);
  });

  it("pages lists at 100 with an absolute nextLink that the SDK follows", async () => {
    const pagingRg = `paging-${suffix}`;
    await arm.createResourceGroup(pagingRg);
    const names = Array.from({ length: 105 }, (_, i) => `page-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 15) {
      await Promise.all(
        names.slice(i, i + 15).map(async (name) => {
          const response = await arm.call("PUT", `${clusterPath(pagingRg, name)}?api-version=${apiVersion}`, minimalCluster(LOCATION));
          expect(response.status, JSON.stringify(response.body)).toBe(201);
        }),
      );
    }

    const raw = await arm.call("GET", `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${pagingRg}/providers/Microsoft.ContainerService/managedClusters?api-version=${apiVersion}`);
    expect(raw.status).toBe(200);
    expect(raw.body.value).toHaveLength(100);
    const nextLink: string = raw.body.nextLink;
    expect(nextLink.startsWith(`${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${pagingRg}/providers/Microsoft.ContainerService/managedClusters?`)).toBe(true);
    expect(new URL(nextLink).searchParams.get("api-version")).toBe(apiVersion);
    const second = await arm.call("GET", nextLink);
    expect(second.status).toBe(200);
    expect(second.body.value).toHaveLength(5);
    expect(second.body.nextLink).toBeUndefined();

    const pages: string[][] = [];
    for await (const page of sdk.client.managedClusters.listByResourceGroup(pagingRg).byPage()) pages.push(page.map((c) => c.name!));
    expect(pages.map((p) => p.length)).toEqual([100, 5]);
    expect(pages.flat().sort()).toEqual(names);

    const everywhere = (await collect(sdk.client.managedClusters.list())).map((c) => c.id!);
    expect(new Set(everywhere).size).toBe(everywhere.length); // no cluster twice across pages
    for (const name of names) expect(everywhere).toContain(clusterPath(pagingRg, name));
  });
});

function expectArmHeaders(response: RawResponse): void {
  expect(response.headers.get("x-ms-request-id")).toMatch(/\S/);
  expect(response.headers.get("x-ms-correlation-request-id")).toMatch(/\S/);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
