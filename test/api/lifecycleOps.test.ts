// The cluster lifecycle actions beyond create/update/delete, driven by the real
// @azure/arm-containerservice client over HTTPS (plus raw fetch where the wire contract is the
// subject), at both api-versions: Start/Stop and what a stopped cluster refuses, AbortLatestOperation
// on a cluster and on a pool, the two rotations, the two credential resets, RunCommand with
// GetCommandResult, and the deprecated GetAccessProfile.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ManagedCluster } from "@azure/arm-containerservice";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { API_VERSIONS, ArmHttp, clusterPath, collect, parseKubeconfig, restError, sdkClient, type RecordingClient } from "../support/sdk.js";

const LOCATION = "eastus";
const STOPPED_MESSAGE = /Managed Cluster is in stopped state, no operations except for start are allowed\.$/;

let emu: TestEmulator;
let gated: TestEmulator;
const gate = new GatedBackend();
useEmulator((started) => (emu = started));
useEmulator((started) => (gated = started), {}, { backend: gate });
afterAll(() => gate.release()); // work still held must not outlive the file
afterEach(() => gate.release());

describe.each(API_VERSIONS)("cluster lifecycle actions at api-version $apiVersion ($label)", ({ apiVersion, clientOption }) => {
  const rg = `LifecycleOps-${apiVersion.replace(/-/g, "")}`;
  let sdk: RecordingClient;
  let slow: RecordingClient;
  let arm: ArmHttp;
  let slowArm: ArmHttp;

  beforeAll(async () => {
    sdk = sdkClient(emu, clientOption);
    slow = sdkClient(gated, clientOption);
    arm = new ArmHttp(emu);
    slowArm = new ArmHttp(gated);
    await arm.createResourceGroup(rg);
    await slowArm.createResourceGroup(rg);
  });
  afterEach(() => {
    // the version under test is the one on the wire, for calls and polls alike
    expect([...sdk.apiVersionsSent, ...slow.apiVersionsSent].every((v) => v === apiVersion)).toBe(true);
  });

  const clusterRequest = (overrides: Partial<ManagedCluster> = {}): ManagedCluster => ({
    location: LOCATION,
    identity: { type: "SystemAssigned" },
    dnsPrefix: "ops",
    agentPoolProfiles: [{ name: "systempool", count: 1, vmSize: "Standard_D2s_v3", mode: "System" }],
    ...overrides,
  });

  async function createCluster(name: string, client = sdk, overrides: Partial<ManagedCluster> = {}): Promise<ManagedCluster> {
    const cluster = await client.client.managedClusters.createOrUpdate(rg, name, clusterRequest(overrides));
    expect(cluster.provisioningState).toBe("Succeeded");
    return cluster;
  }

  const url = (name: string, action = "", base = "") => `${base}${clusterPath(rg, name)}${action ? `/${action}` : ""}?api-version=${apiVersion}`;

  async function tokenOf(name: string, kind: "admin" | "user"): Promise<string> {
    const credentials =
      kind === "admin" ? await sdk.client.managedClusters.listClusterAdminCredentials(rg, name) : await sdk.client.managedClusters.listClusterUserCredentials(rg, name);
    return parseKubeconfig(credentials.kubeconfigs![0].value).users[0].user.token;
  }

  async function expectPower(name: string, code: "Running" | "Stopped", client = sdk): Promise<void> {
    const cluster = await client.client.managedClusters.get(rg, name);
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.powerState?.code).toBe(code);
    expect(cluster.agentPoolProfiles?.length).toBeGreaterThan(0);
    for (const profile of cluster.agentPoolProfiles!) expect({ pool: profile.name, power: profile.powerState?.code, state: profile.provisioningState }).toEqual({ pool: profile.name, power: code, state: "Succeeded" });
    for (const pool of await collect(client.client.agentPools.list(rg, name))) {
      expect({ pool: pool.name, power: pool.powerState?.code, state: pool.provisioningState }).toEqual({ pool: pool.name, power: code, state: "Succeeded" });
    }
  }

  // ---- start / stop ------------------------------------------------------------------------------

  it("stops and starts a cluster through the SDK pollers: powerState follows on the cluster and on every pool", async () => {
    const name = "power";
    await createCluster(name);
    await sdk.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 2, mode: "User" });
    await expectPower(name, "Running");

    const stop = sdk.client.managedClusters.stop(rg, name);
    await stop.submitted();
    expect(stop.operationState?.status).toBe("running"); // 202: the SDK has to poll
    await stop.pollUntilDone();
    expect(stop.operationState?.status).toBe("succeeded");
    await expectPower(name, "Stopped");

    // stopping a stopped cluster is refused, in AKS's words
    const again = await restError(() => sdk.client.managedClusters.stop(rg, name));
    expect(again.statusCode).toBe(400);
    expect(again.code).toBe("OperationNotAllowed");
    expect(again.message).toBe("Managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), stopping cannot be performed.");

    await sdk.client.managedClusters.start(rg, name);
    await expectPower(name, "Running");

    // and starting a running one, the same check mirrored
    const startAgain = await restError(() => sdk.client.managedClusters.start(rg, name));
    expect(startAgain.statusCode).toBe(400);
    expect(startAgain.code).toBe("OperationNotAllowed");
    expect(startAgain.message).toBe("Managed cluster is in Provisioning State(Succeeded) and Power State(Running), starting cannot be performed.");
    await expectPower(name, "Running");
  });

  it("speaks the raw contract of a POST action: 202 with Location and Azure-AsyncOperation, then 204 at the Location", async () => {
    const name = "rawpower";
    await createCluster(name);
    const stop = await arm.call("POST", url(name, "stop"));
    expect(stop.status).toBe(202);
    expect(stop.body).toBeUndefined();
    expect(stop.headers.get("retry-after")).toBe("1");
    const operations = `${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/${LOCATION}`;
    expect(stop.headers.get("location")).toMatch(new RegExp(`^${escapeRegExp(operations)}/operationresults/[0-9a-f-]+\\?api-version=${apiVersion}$`));
    expect(stop.headers.get("azure-asyncoperation")).toMatch(new RegExp(`^${escapeRegExp(operations)}/operations/[0-9a-f-]+\\?api-version=${apiVersion}$`));
    expect((await arm.pollAsyncOperation(stop.headers.get("azure-asyncoperation")!)).body).toMatchObject({ status: "Succeeded", endTime: expect.any(String) });
    expect((await arm.pollLocation(stop.headers.get("location")!)).status).toBe(204);
    expect((await arm.call("GET", url(name))).body.properties.powerState).toEqual({ code: "Stopped" });

    const missing = await arm.call("POST", url("nosuchcluster", "start"));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("ResourceNotFound");
  });

  it("a stopped cluster refuses pool writes, credentials, updates and actions (400 OperationNotAllowed) until it is started again", async () => {
    const name = "stopped";
    await createCluster(name);
    await sdk.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 1, mode: "User" });
    await sdk.client.managedClusters.stop(rg, name);

    const refusals: Array<[string, () => Promise<unknown>]> = [
      ["pool create", () => sdk.client.agentPools.createOrUpdate(rg, name, "newpool", { count: 1, mode: "User" })],
      ["pool update", () => sdk.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 3, mode: "User" })],
      ["pool delete", () => sdk.client.agentPools.delete(rg, name, "userpool")],
      ["admin credentials", () => sdk.client.managedClusters.listClusterAdminCredentials(rg, name)],
      ["user credentials", () => sdk.client.managedClusters.listClusterUserCredentials(rg, name)],
      ["monitoring credentials", () => sdk.client.managedClusters.listClusterMonitoringUserCredentials(rg, name)],
      ["access profile", () => sdk.client.managedClusters.getAccessProfile(rg, name, "clusterUser")],
      ["cluster update", () => sdk.client.managedClusters.createOrUpdate(rg, name, clusterRequest({ tags: { changed: "yes" } }))],
      ["tags", () => sdk.client.managedClusters.updateTags(rg, name, { tags: { changed: "yes" } })],
      ["certificate rotation", () => sdk.client.managedClusters.rotateClusterCertificates(rg, name)],
      ["signing-key rotation", () => sdk.client.managedClusters.rotateServiceAccountSigningKeys(rg, name)],
      ["run command", () => sdk.client.managedClusters.runCommand(rg, name, { command: "kubectl get nodes" })],
    ];
    for (const [what, action] of refusals) {
      const error = await restError(action);
      expect({ what, status: error.statusCode, code: error.code }).toEqual({ what, status: 400, code: "OperationNotAllowed" });
      expect(error.message).toMatch(STOPPED_MESSAGE);
      expect(error.message).toContain(`subscription ${TEST_SUBSCRIPTION}, resourceGroup: ${rg}`);
    }
    // nothing changed
    await expectPower(name, "Stopped");
    expect((await collect(sdk.client.agentPools.list(rg, name))).map((p) => [p.name, p.count])).toEqual([["systempool", 1], ["userpool", 1]]);
    expect((await sdk.client.managedClusters.get(rg, name)).tags).toBeUndefined();

    await sdk.client.managedClusters.start(rg, name);
    await expectPower(name, "Running");
    const added = await sdk.client.agentPools.createOrUpdate(rg, name, "newpool", { count: 1, mode: "User" });
    expect(added).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Running" } });
    await sdk.client.agentPools.delete(rg, name, "userpool");
    expect((await sdk.client.managedClusters.listClusterAdminCredentials(rg, name)).kubeconfigs?.[0].name).toBe("clusterAdmin");
    expect((await sdk.client.managedClusters.listClusterUserCredentials(rg, name)).kubeconfigs?.[0].name).toBe("clusterUser");
    expect((await sdk.client.managedClusters.listClusterMonitoringUserCredentials(rg, name)).kubeconfigs?.[0].name).toBe("clusterMonitoringUser");
  });

  it("a stopped cluster can still be deleted", async () => {
    const name = "stoppedgone";
    await createCluster(name);
    await sdk.client.managedClusters.stop(rg, name);
    await sdk.client.managedClusters.delete(rg, name);
    expect((await restError(() => sdk.client.managedClusters.get(rg, name))).statusCode).toBe(404);
  });

  it("shows Stopping and Starting while the work runs, and refuses another write meanwhile", async () => {
    const name = "transit";
    await createCluster(name, slow);
    const clusterUrl = url(name, "", gated.url);

    gate.hold();
    const stop = slow.client.managedClusters.stop(rg, name);
    await stop.poll();
    expect(stop.operationState?.status).toBe("running");
    const stopping = (await slowArm.call("GET", clusterUrl)).body.properties;
    expect(stopping.provisioningState).toBe("Stopping");
    expect(stopping.powerState).toEqual({ code: "Running" });
    expect(stopping.agentPoolProfiles[0].provisioningState).toBe("Stopping");
    const busy = await restError(() => slow.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 1, mode: "User" }));
    expect(busy.statusCode).toBe(409);
    expect(busy.code).toBe("OperationNotAllowed");
    gate.release();
    await stop.pollUntilDone();
    await expectPower(name, "Stopped", slow);

    gate.hold();
    const start = slow.client.managedClusters.start(rg, name);
    await start.poll();
    expect((await slowArm.call("GET", clusterUrl)).body.properties.provisioningState).toBe("Starting");
    gate.release();
    await start.pollUntilDone();
    await expectPower(name, "Running", slow);
  });

  // ---- abort ---------------------------------------------------------------------------------------

  it("refuses to abort when nothing is running, on the cluster and on a pool (409 OperationNotAllowed)", async () => {
    const name = "idle";
    await createCluster(name);
    const onCluster = await restError(() => sdk.client.managedClusters.abortLatestOperation(rg, name));
    expect(onCluster.statusCode).toBe(409);
    expect(onCluster.code).toBe("OperationNotAllowed");
    expect(onCluster.message).toBe("Cancel operation is not allowed when the ProvisioningState is Succeeded.");
    const onPool = await restError(() => sdk.client.agentPools.abortLatestOperation(rg, name, "systempool"));
    expect(onPool.statusCode).toBe(409);
    expect(onPool.code).toBe("OperationNotAllowed");
    expect((await sdk.client.managedClusters.get(rg, name)).provisioningState).toBe("Succeeded");

    const missingCluster = await restError(() => sdk.client.managedClusters.abortLatestOperation(rg, "nosuchcluster"));
    expect(missingCluster.statusCode).toBe(404);
    const missingPool = await restError(() => sdk.client.agentPools.abortLatestOperation(rg, name, "nosuchpool"));
    expect(missingPool.statusCode).toBe(404);
  });

  it("aborts a running create: the operation ends Canceled, the SDK's poller fails, the cluster reads Canceled, and a new write is taken", async () => {
    const name = "aborted";
    gate.hold();
    const create = slow.client.managedClusters.createOrUpdate(rg, name, clusterRequest());
    await create.poll();
    expect(create.operationState?.status).toBe("running");
    const statusUrl = slow.asyncOperationUrls.at(-1)!;
    expect((await slowArm.call("GET", statusUrl)).body.status).toBe("InProgress");

    // AKS answers 204 once the cancellation has taken effect; the SDK's poller ends at once
    const abort = await slowArm.call("POST", url(name, "abort", gated.url));
    expect(abort.status).toBe(204);
    expect(abort.body).toBeUndefined();

    const status = await slowArm.call("GET", statusUrl);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: "Canceled", endTime: expect.any(String), error: { code: expect.any(String), message: expect.any(String) } });
    await expect(create.pollUntilDone()).rejects.toThrow(/cancel/i);

    const canceled = await slow.client.managedClusters.get(rg, name);
    expect(canceled.provisioningState).toBe("Canceled");
    expect(canceled.agentPoolProfiles?.[0].provisioningState).toBe("Canceled");
    expect((await slow.client.agentPools.get(rg, name, "systempool")).provisioningState).toBe("Canceled");

    // the abandoned work finishing later changes nothing; a new write is accepted and completes
    gate.release();
    expect((await slow.client.managedClusters.get(rg, name)).provisioningState).toBe("Canceled");
    const retried = await slow.client.managedClusters.createOrUpdate(rg, name, clusterRequest({ tags: { retried: "yes" } }));
    expect(retried.provisioningState).toBe("Succeeded");
    expect(retried.tags).toEqual({ retried: "yes" });
    expect(retried.agentPoolProfiles?.[0].provisioningState).toBe("Succeeded");
    const again = await restError(() => slow.client.managedClusters.abortLatestOperation(rg, name));
    expect(again.statusCode).toBe(409);
  });

  it("aborts a cluster action through the SDK: a held stop ends Canceled and the cluster keeps running", async () => {
    const name = "abortstop";
    await createCluster(name, slow);
    gate.hold();
    const stop = slow.client.managedClusters.stop(rg, name);
    await stop.poll();
    await slow.client.managedClusters.abortLatestOperation(rg, name);
    await expect(stop.pollUntilDone()).rejects.toThrow(/cancel/i);
    const cluster = await slow.client.managedClusters.get(rg, name);
    expect(cluster.provisioningState).toBe("Canceled");
    expect(cluster.powerState?.code).toBe("Running");
    gate.release();
    await slow.client.managedClusters.stop(rg, name);
    await expectPower(name, "Stopped", slow);
  });

  it("aborts a running pool write with agentPools.abortLatestOperation: the pool reads Canceled, the cluster is untouched", async () => {
    const name = "poolabort";
    await createCluster(name, slow);
    gate.hold();
    const add = slow.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 2, mode: "User" });
    await add.poll();
    expect(add.operationState?.status).toBe("running");
    expect((await slow.client.agentPools.get(rg, name, "userpool")).provisioningState).toBe("Creating");

    await slow.client.agentPools.abortLatestOperation(rg, name, "userpool");
    await expect(add.pollUntilDone()).rejects.toThrow(/cancel/i);
    expect((await slow.client.agentPools.get(rg, name, "userpool")).provisioningState).toBe("Canceled");
    expect((await slow.client.agentPools.get(rg, name, "systempool")).provisioningState).toBe("Succeeded");
    expect((await slow.client.managedClusters.get(rg, name)).provisioningState).toBe("Succeeded");

    gate.release();
    const retried = await slow.client.agentPools.createOrUpdate(rg, name, "userpool", { count: 2, mode: "User" });
    expect(retried.provisioningState).toBe("Succeeded");
  });

  // ---- rotations -----------------------------------------------------------------------------------

  it("rotates the cluster certificates: kubeconfigs issued before stop matching, the new ones are stable", async () => {
    const name = "rotate";
    await createCluster(name);
    const before = { admin: await tokenOf(name, "admin"), user: await tokenOf(name, "user") };
    expect(await tokenOf(name, "admin")).toBe(before.admin); // stable while nothing rotates

    const rotation = sdk.client.managedClusters.rotateClusterCertificates(rg, name);
    await rotation.submitted();
    expect(rotation.operationState?.status).toBe("running");
    await rotation.pollUntilDone();
    const after = { admin: await tokenOf(name, "admin"), user: await tokenOf(name, "user") };
    expect(after.admin).not.toBe(before.admin);
    expect(after.user).not.toBe(before.user);
    expect(await tokenOf(name, "admin")).toBe(after.admin);
    expect((await sdk.client.managedClusters.get(rg, name)).provisioningState).toBe("Succeeded");

    // an update keeps the new generation; a second rotation issues yet another
    await sdk.client.managedClusters.createOrUpdate(rg, name, clusterRequest({ tags: { after: "rotation" } }));
    expect(await tokenOf(name, "admin")).toBe(after.admin);
    await sdk.client.managedClusters.rotateClusterCertificates(rg, name);
    const third = await tokenOf(name, "admin");
    expect([before.admin, after.admin]).not.toContain(third);
    // what the emulator keeps to do this is never served
    expect(Object.keys((await arm.call("GET", url(name))).body).sort()).toEqual(["eTag", "id", "identity", "location", "name", "properties", "systemData", "tags", "type"]);
  });

  it("rotates the certificates and the service-account signing keys as operations: Updating while they run, then Succeeded", async () => {
    const name = "rotations";
    await createCluster(name, slow);
    for (const [action, call] of [
      ["rotateClusterCertificates", () => slow.client.managedClusters.rotateClusterCertificates(rg, name)],
      ["rotateServiceAccountSigningKeys", () => slow.client.managedClusters.rotateServiceAccountSigningKeys(rg, name)],
    ] as const) {
      gate.hold();
      const poller = call();
      await poller.poll();
      expect({ action, status: poller.operationState?.status }).toEqual({ action, status: "running" });
      expect((await slow.client.managedClusters.get(rg, name)).provisioningState).toBe("Updating");
      const busy = await restError(() => slow.client.managedClusters.stop(rg, name));
      expect(busy.statusCode).toBe(409);
      gate.release();
      await poller.pollUntilDone();
      expect((await slow.client.managedClusters.get(rg, name)).provisioningState).toBe("Succeeded");
    }
    // the raw answer: 202, and the operation it names ends Succeeded
    const raw = await slowArm.call("POST", url(name, "rotateServiceAccountSigningKeys", gated.url));
    expect(raw.status).toBe(202);
    expect((await slowArm.pollAsyncOperation(raw.headers.get("azure-asyncoperation")!)).body.status).toBe("Succeeded");
    expect((await slowArm.pollLocation(raw.headers.get("location")!)).status).toBe(204);

    for (const missing of [
      () => slow.client.managedClusters.rotateClusterCertificates(rg, "nosuchcluster"),
      () => slow.client.managedClusters.rotateServiceAccountSigningKeys(rg, "nosuchcluster"),
    ]) {
      expect((await restError(missing)).statusCode).toBe(404);
    }
  });

  // ---- resets --------------------------------------------------------------------------------------

  it("resets the AAD profile to the one sent, never serving its secret", async () => {
    const name = "aad";
    await createCluster(name);
    const profile = {
      clientAppID: "11111111-aaaa-bbbb-cccc-000000000001",
      serverAppID: "11111111-aaaa-bbbb-cccc-000000000002",
      serverAppSecret: "server-secret-value",
      tenantID: "11111111-aaaa-bbbb-cccc-000000000003",
    };
    const reset = sdk.client.managedClusters.resetAADProfile(rg, name, profile);
    await reset.submitted();
    expect(reset.operationState?.status).toBe("running");
    await reset.pollUntilDone();
    const cluster = await sdk.client.managedClusters.get(rg, name);
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.aadProfile).toEqual({ clientAppID: profile.clientAppID, serverAppID: profile.serverAppID, tenantID: profile.tenantID });
    const raw = await arm.call("GET", url(name));
    expect(JSON.stringify(raw.body)).not.toContain("server-secret-value");

    // without a tenant, the subscription's tenant
    await sdk.client.managedClusters.resetAADProfile(rg, name, { clientAppID: profile.clientAppID, serverAppID: profile.serverAppID });
    expect((await sdk.client.managedClusters.get(rg, name)).aadProfile?.tenantID).toBe(emu.config.tenantId);
  });

  it("resets the service principal of a service-principal cluster, never serving the secret; an MSI cluster has none to reset", async () => {
    const name = "spcluster";
    const created = await createCluster(name, sdk, { identity: undefined, servicePrincipalProfile: { clientId: "22222222-0000-0000-0000-000000000001", secret: "first-secret" } });
    expect(created.servicePrincipalProfile).toEqual({ clientId: "22222222-0000-0000-0000-000000000001" });

    await sdk.client.managedClusters.resetServicePrincipalProfile(rg, name, { clientId: "22222222-0000-0000-0000-000000000002", secret: "second-secret" });
    const cluster = await sdk.client.managedClusters.get(rg, name);
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.servicePrincipalProfile).toEqual({ clientId: "22222222-0000-0000-0000-000000000002" });
    const raw = await arm.call("GET", url(name));
    expect(JSON.stringify(raw.body)).not.toMatch(/first-secret|second-secret/);

    // the raw answer: 202, and its Location ends 200 (the spec gives this action no 204)
    const post = await arm.call("POST", url(name, "resetServicePrincipalProfile"), { clientId: "22222222-0000-0000-0000-000000000003", secret: "third-secret" });
    expect(post.status).toBe(202);
    expect((await arm.pollLocation(post.headers.get("location")!)).status).toBe(200);
    expect((await sdk.client.managedClusters.get(rg, name)).servicePrincipalProfile?.clientId).toBe("22222222-0000-0000-0000-000000000003");

    const msi = "msicluster";
    await createCluster(msi);
    const refused = await restError(() => sdk.client.managedClusters.resetServicePrincipalProfile(rg, msi, { clientId: "x", secret: "y" }));
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe("BadRequest");
    expect(refused.message).toBe("Updating service principal profile is not allowed on MSI cluster.");
    expect((await sdk.client.managedClusters.get(rg, msi)).servicePrincipalProfile).toEqual({ clientId: "msi" });
  });

  it("refuses a reset of a cluster that does not exist (404), and a reset without a body (400)", async () => {
    const aad = await restError(() => sdk.client.managedClusters.resetAADProfile(rg, "nosuchcluster", { clientAppID: "a", serverAppID: "b" }));
    expect(aad.statusCode).toBe(404);
    expect(aad.code).toBe("ResourceNotFound");
    const sp = await restError(() => sdk.client.managedClusters.resetServicePrincipalProfile(rg, "nosuchcluster", { clientId: "a", secret: "b" }));
    expect(sp.statusCode).toBe(404);
    expect(sp.code).toBe("ResourceNotFound");
    const noGroup = await restError(() => sdk.client.managedClusters.resetAADProfile("nosuchgroup", "nosuchcluster", { clientAppID: "a" }));
    expect(noGroup.statusCode).toBe(404);
    expect(noGroup.code).toBe("ResourceGroupNotFound");

    await createCluster("nobody");
    const empty = await arm.call("POST", url("nobody", "resetServicePrincipalProfile"));
    expect(empty.status).toBe(400);
    const noClientId = await arm.call("POST", url("nobody", "resetServicePrincipalProfile"), { secret: "s" });
    expect(noClientId.status).toBe(400);
  });

  // ---- run command ---------------------------------------------------------------------------------

  it("runs a command: the poller's result is a RunCommandResult that getCommandResult reads back; an unknown id is 404", async () => {
    const name = "runner";
    await createCluster(name);
    const before = Date.now();
    const result = await sdk.client.managedClusters.runCommand(rg, name, { command: "kubectl get pods -A", context: "", clusterToken: "" });
    expect(result).toMatchObject({ provisioningState: "Succeeded", exitCode: 0, logs: "mocked: kubectl get pods -A" });
    expect(result.id).toMatch(/^[0-9a-f]{32}$/);
    expect(result.startedAt).toBeInstanceOf(Date);
    expect(result.finishedAt).toBeInstanceOf(Date);
    expect(result.startedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(result.finishedAt!.getTime()).toBeGreaterThanOrEqual(result.startedAt!.getTime());

    expect(await sdk.client.managedClusters.getCommandResult(rg, name, result.id!)).toEqual(result);

    const unknown = await restError(() => sdk.client.managedClusters.getCommandResult(rg, name, "0123456789abcdef0123456789abcdef"));
    expect(unknown.statusCode).toBe(404);
    // another cluster's command is not this cluster's
    await createCluster("otherrunner");
    expect((await restError(() => sdk.client.managedClusters.getCommandResult(rg, "otherrunner", result.id!))).statusCode).toBe(404);
    // running a command changes nothing on the cluster
    expect((await sdk.client.managedClusters.get(rg, name)).provisioningState).toBe("Succeeded");
  });

  it("answers RunCommand with 202 and a Location at commandResults/{32 hex}, which answers 202 while the command runs, then 200", async () => {
    const name = "rawrunner";
    await createCluster(name, slow);
    gate.hold();
    const post = await slowArm.call("POST", url(name, "runCommand", gated.url), { command: "kubectl version" });
    expect(post.status).toBe(202);
    expect(post.headers.get("retry-after")).toBe("1");
    const location = post.headers.get("location")!;
    // az reads the command id out of the Location with commandResults\/(\w*)\?
    const commandId = /commandResults\/(\w*)\?/.exec(location)?.[1];
    expect(commandId).toMatch(/^[0-9a-f]{32}$/);
    expect(location).toBe(`${gated.url}${clusterPath(rg, name)}/commandResults/${commandId}?api-version=${apiVersion}`);

    const running = await slowArm.call("GET", location);
    expect(running.status).toBe(202);
    expect(running.headers.get("location")).toBe(location);
    expect(await slow.client.managedClusters.getCommandResult(rg, name, commandId!)).toBeUndefined(); // 202: no result yet
    // a command does not lock the cluster
    await slow.client.managedClusters.updateTags(rg, name, { tags: { during: "command" } });

    gate.release();
    const done = await slowArm.pollLocation(location);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: commandId, properties: { provisioningState: "Succeeded", exitCode: 0, logs: "mocked: kubectl version" } });

    const noCommand = await slowArm.call("POST", url(name, "runCommand", gated.url), {});
    expect(noCommand.status).toBe(400);
  });

  // ---- access profiles -----------------------------------------------------------------------------

  it("gets the deprecated access profiles: a base64 kubeconfig for clusterAdmin and clusterUser, nothing for other roles", async () => {
    const name = "access";
    await createCluster(name);
    for (const [role, user, token] of [
      ["clusterAdmin", `clusterAdmin_${rg}_${name}`, await tokenOf(name, "admin")],
      ["clusterUser", `clusterUser_${rg}_${name}`, await tokenOf(name, "user")],
    ] as const) {
      const profile = await sdk.client.managedClusters.getAccessProfile(rg, name, role);
      expect(profile).toMatchObject({ id: `${clusterPath(rg, name)}/accessProfiles/${role}`, name: role, location: LOCATION });
      const kubeconfig = parseKubeconfig(profile.kubeConfig);
      expect(kubeconfig.users[0]).toEqual({ name: user, user: { token } });
      expect(kubeconfig.clusters[0].name).toBe(name);
    }
    const raw = await arm.call("POST", url(name, "accessProfiles/clusterUser/listCredential"));
    expect(raw.status).toBe(200);
    expect(raw.body.properties.kubeConfig).toMatch(/^[A-Za-z0-9+/]+=*$/);

    const other = await restError(() => sdk.client.managedClusters.getAccessProfile(rg, name, "clusterMonitoringUser"));
    expect(other.statusCode).toBe(404);
    const missing = await restError(() => sdk.client.managedClusters.getAccessProfile(rg, "nosuchcluster", "clusterAdmin"));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe("ResourceNotFound");
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
