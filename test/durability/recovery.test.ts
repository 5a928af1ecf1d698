// What a kill can leave between two of the separate commits that start or end an operation, set up
// exactly in the database of a stopped emulator, then settled by the next start: the crash test hits
// these windows only by chance (they last microseconds), this test hits each on purpose.
//
// - an operation ended (Succeeded or Failed) but the resource still reads Deleting/Creating/Updating,
//   with or without the lock naming the operation;
// - a transitional state written just before an operation that was never recorded (no answer went out);
// - a resource group whose delete ended while clusters of it remain;
// - sub-resource operations (managed namespaces, identity bindings) still InProgress.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newOperation, type OperationRecord } from "../../src/arm/lro.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import type { StoredResource } from "../../src/store/store.js";
import type { Logger } from "../../src/util.js";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { AKS_API, call, clusterBody, clusterPath, onBase, poolBody, poolPath, poolsPath, rgPath, SUBSCRIPTION, type Answer } from "./childEmulator.js";

const RG = "rec";
const GONE_RG = "rec-gone";
const base = (e: TestEmulator) => `https://127.0.0.1:${e.port}`;
const childPath = (cluster: string, collection: string, name: string) => `${clusterPath(RG, cluster, "")}/${collection}/${name}?api-version=${AKS_API}`;
const identity = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami`;

async function settled(e: TestEmulator, answer: Answer): Promise<void> {
  expect([200, 201, 202], JSON.stringify(answer.body)).toContain(answer.status);
  const url = onBase(base(e), answer.headers.get("azure-asyncoperation")!);
  for (let i = 0; i < 100; i++) {
    const status = await call(base(e), "GET", url);
    if (status.body.status !== "InProgress") return void expect(status.body.status).toBe("Succeeded");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${url} did not end`);
}

describe("durability: recovery of what a kill leaves between commits", () => {
  let dataDir: string;
  let emu: TestEmulator | undefined;
  const logged: string[] = [];
  const logger: Logger = { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m) };
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "aks-emulator-recovery-"));
    emu = await startTestEmulator({ dataDir });
    const b = base(emu);
    for (const rg of [RG, GONE_RG]) expect((await call(b, "PUT", rgPath(rg), { location: "eastus" })).status).toBe(201);
    for (const name of ["half-deleted", "locked", "pool-host", "never-stopped", "failed-update", "ns-host"]) {
      await settled(emu, await call(b, "PUT", clusterPath(RG, name), clusterBody({ name })));
    }
    await settled(emu, await call(b, "PUT", clusterPath(GONE_RG, "inside"), clusterBody()));
    await settled(emu, await call(b, "PUT", poolPath(RG, "pool-host", "extra"), poolBody({ pool: "extra" })));
    for (const ns of ["ns-del", "ns-new"]) {
      await settled(emu, await call(b, "PUT", childPath("ns-host", "managedNamespaces", ns), { location: "eastus", properties: { labels: { ns } } }));
    }
    await settled(emu, await call(b, "PUT", childPath("ns-host", "identityBindings", "ibnew"), { properties: { managedIdentity: { resourceId: identity } } }));
    await emu.close();
    emu = undefined;

    // The states a kill can leave, written straight into the stopped emulator's database.
    const store = new SqliteStore(join(dataDir, "aks-emulator.db"));
    const id = (path: string) => path.split("?")[0];
    const get = (path: string) => store.get(id(path))!;
    const latestOn = (resource: StoredResource) => store.listOperations().findLast((op) => op.resourceId.toLowerCase() === resource.id.toLowerCase())!;
    const withState = (resource: StoredResource, state: string, activeOperation?: string): StoredResource => ({
      ...resource,
      activeOperation,
      body: { ...resource.body, properties: { ...resource.body.properties, provisioningState: state } },
    });
    const operation = (resource: StoredResource, action: string, status: OperationRecord["status"], extra: Partial<OperationRecord> = {}): OperationRecord => {
      const op = { ...newOperation({ subscriptionId: SUBSCRIPTION, location: "eastus", provider: "Microsoft.ContainerService", resourceId: resource.id, action }, new Date()), status, ...extra };
      store.putOperation(op);
      if (status === "InProgress") urls[`${resource.body.name}`] = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/eastus/operations/${op.name}?api-version=${AKS_API}`;
      return op;
    };
    const poolsOf = (cluster: StoredResource) => store.children(cluster.id, "Microsoft.ContainerService/managedClusters/agentPools");

    // A delete that ended Succeeded, its removal not done: the cluster reads Deleting, unlocked.
    const halfDeleted = get(clusterPath(RG, "half-deleted"));
    operation(halfDeleted, "Delete", "Succeeded", { endTime: new Date().toISOString() });
    store.put(withState(halfDeleted, "Deleting"));
    // A create that ended Succeeded, the locks not yet cleared, the states not yet set.
    const locked = get(clusterPath(RG, "locked"));
    const create = latestOn(locked);
    expect(create).toMatchObject({ action: "Create", status: "Succeeded" });
    store.put(withState(locked, "Creating", create.name));
    for (const pool of poolsOf(locked)) store.put(withState(pool, "Creating", create.name));
    // A pool create that ended, its state not set (lock already cleared).
    store.put(withState(get(poolPath(RG, "pool-host", "extra")), "Creating"));
    // Stopping written, then the kill before the Stop operation was recorded (the request got no answer).
    const neverStopped = get(clusterPath(RG, "never-stopped"));
    store.put(withState(neverStopped, "Stopping"));
    for (const pool of poolsOf(neverStopped)) store.put(withState(pool, "Stopping"));
    // An update that ended Failed, the state not yet set.
    const failedUpdate = get(clusterPath(RG, "failed-update"));
    const failed = operation(failedUpdate, "Update", "Failed", { endTime: new Date().toISOString(), error: { code: "QuotaExceeded", message: "no quota left" } });
    store.put(withState(failedUpdate, "Updating", failed.name));
    // A resource group delete that ended Succeeded, with a cluster of the group still there.
    const goneGroup = get(rgPath(GONE_RG));
    store.putOperation({ ...newOperation({ subscriptionId: SUBSCRIPTION, location: "eastus", provider: "Microsoft.Resources", resourceId: goneGroup.id, action: "DeleteResourceGroup" }, new Date()), status: "Succeeded" });
    store.put(withState(goneGroup, "Deleting"));
    // Sub-resource operations still running at the kill: a namespace delete and create, a binding create.
    const nsDel = get(childPath("ns-host", "managedNamespaces", "ns-del"));
    store.put(withState(nsDel, "Deleting", operation(nsDel, "DeleteManagedNamespace", "InProgress").name));
    const nsNew = get(childPath("ns-host", "managedNamespaces", "ns-new"));
    store.put(withState(nsNew, "Creating", operation(nsNew, "CreateManagedNamespace", "InProgress").name));
    const binding = get(childPath("ns-host", "identityBindings", "ibnew"));
    store.put(withState(binding, "Creating", operation(binding, "CreateIdentityBinding", "InProgress").name));
    store.close();

    emu = await startTestEmulator({ dataDir }, { logger });
  });

  afterAll(async () => {
    await emu?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("finishes a delete that ended Succeeded: the cluster and its pools are gone", async () => {
    expect((await call(base(emu!), "GET", clusterPath(RG, "half-deleted"))).status).toBe(404);
    expect((await call(base(emu!), "GET", poolsPath(RG, "half-deleted"))).status).toBe(404);
  });

  it("ends a create whose lock still names its ended operation: Succeeded, unlocked, writable", async () => {
    const b = base(emu!);
    expect((await call(b, "GET", clusterPath(RG, "locked"))).body.properties).toMatchObject({ provisioningState: "Succeeded", agentPoolProfiles: [{ provisioningState: "Succeeded" }] });
    await settled(emu!, await call(b, "PUT", clusterPath(RG, "locked"), clusterBody({ again: "yes" })));
  });

  it("ends a pool whose operation ended before its state was set", async () => {
    expect((await call(base(emu!), "GET", poolPath(RG, "pool-host", "extra"))).body.properties.provisioningState).toBe("Succeeded");
  });

  it("takes a transitional state no operation was recorded for back to the last operation's outcome", async () => {
    const cluster = (await call(base(emu!), "GET", clusterPath(RG, "never-stopped"))).body;
    expect(cluster.properties).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Running" } });
    expect(cluster.properties.agentPoolProfiles.map((p: any) => p.provisioningState)).toEqual(["Succeeded"]);
  });

  it("gives a resource the failure of its ended operation", async () => {
    const cluster = (await call(base(emu!), "GET", clusterPath(RG, "failed-update"))).body;
    expect(cluster.properties).toMatchObject({ provisioningState: "Failed", status: { provisioningError: { code: "QuotaExceeded", message: "no quota left" } } });
  });

  it("finishes a resource group delete that ended Succeeded: the group and its clusters are gone", async () => {
    const b = base(emu!);
    expect((await call(b, "GET", rgPath(GONE_RG))).status).toBe(404);
    expect((await call(b, "GET", clusterPath(GONE_RG, "inside"))).status).toBe(404);
    const clusters = (await call(b, "GET", `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS_API}`)).body.value;
    expect(clusters.map((c: any) => c.name).sort()).toEqual(["failed-update", "locked", "never-stopped", "ns-host", "pool-host"]);
  });

  it("carries sub-resource operations to their end: the delete removes, the creates succeed, the Location answers the resource", async () => {
    const b = base(emu!);
    expect((await call(b, "GET", childPath("ns-host", "managedNamespaces", "ns-del"))).status).toBe(404);
    expect((await call(b, "GET", urls["ns-del"])).body).toMatchObject({ status: "Succeeded" });
    expect((await call(b, "GET", childPath("ns-host", "managedNamespaces", "ns-new"))).body.properties.provisioningState).toBe("Succeeded");
    expect((await call(b, "GET", urls["ns-new"])).body).toMatchObject({ status: "Succeeded" });
    expect((await call(b, "GET", urls["ibnew"])).body).toMatchObject({ status: "Succeeded" });
    const result = await call(b, "GET", urls["ibnew"].replace("/operations/", "/operationresults/"));
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ name: "ibnew", properties: { provisioningState: "Succeeded", managedIdentity: { resourceId: identity } } });
  });

  it("leaves no lock and no transitional state, and says what it settled", () => {
    const store = emu!.services.store;
    expect(store.listLocked().map((r) => r.id)).toEqual([]);
    expect(store.listOperations("InProgress")).toEqual([]);
    const transitional = store.all().filter((r) => !["Succeeded", "Failed", "Canceled", undefined].includes(r.body?.properties?.provisioningState));
    expect(transitional.map((r) => `${r.id}: ${r.body.properties.provisioningState}`)).toEqual([]);
    expect(logged.filter((m) => m.startsWith("recovered operation"))).toHaveLength(3);
    // half-deleted, locked (+ its pool), extra, never-stopped (+ its pool), failed-update, rec-gone
    expect(logged.filter((m) => m.startsWith("settled /subscriptions"))).toHaveLength(8);
    expect(emu!.violations).toEqual([]);
  });
});
