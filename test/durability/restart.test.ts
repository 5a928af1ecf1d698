// Restarts of the emulator process: with a data folder the state survives a clean stop and start
// byte for byte, and operations a SIGKILL interrupted are settled at the next start (a create
// ends Succeeded, a delete ends with the resource gone, an action that cannot be carried on fails
// as OperationInterrupted); without a data folder nothing survives; POST /_emulator/reset clears the
// state, durably.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AKS_API,
  assertBuildIsCurrent,
  call,
  clusterBody,
  clusterPath,
  listAll,
  onBase,
  poolBody,
  poolPath,
  poolsPath,
  rgPath,
  sleep,
  startChild,
  SUBSCRIPTION,
  type Answer,
  type ChildEmulator,
} from "./childEmulator.js";

const RG = "restart-rg";
const LONG_DELAY_MS = 60_000;
const maintenancePath = (cluster: string) => `${clusterPath(RG, cluster, "")}/maintenanceConfigurations/default?api-version=${AKS_API}`;
const snapshotPath = (name: string) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.ContainerService/snapshots/${name}?api-version=${AKS_API}`;
const clustersInSubscription = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS_API}`;
const groupsInSubscription = `/subscriptions/${SUBSCRIPTION}/resourcegroups?api-version=2023-07-01`;

/** Polls an Azure-AsyncOperation URL until the operation has ended; returns its final status body. */
async function settled(base: string, operationUrl: string, timeoutMs = 10_000): Promise<any> {
  for (const until = Date.now() + timeoutMs; ; ) {
    const answer = await call(base, "GET", onBase(base, operationUrl));
    expect(answer.status).toBe(200);
    if (answer.body.status !== "InProgress") return answer.body;
    if (Date.now() > until) throw new Error(`operation ${operationUrl} still InProgress after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function expectStatus(answer: Answer, status: number, what: string): Answer {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(status);
  return answer;
}

describe("durability: restarts", () => {
  let dataDir: string;
  let emu: ChildEmulator | undefined;
  /** Operation URLs from one test, read again in the next. */
  const operations: Record<string, string> = {};

  beforeAll(() => {
    assertBuildIsCurrent();
    dataDir = mkdtempSync(join(tmpdir(), "aks-emulator-restart-"));
  });
  afterEach(async () => {
    await emu?.stop("SIGKILL");
    emu = undefined;
  });
  afterAll(() => dataDir && rmSync(dataDir, { recursive: true, force: true }));

  /** Everything the first test created, as the emulator serves it. */
  async function snapshotOfState(base: string): Promise<Record<string, unknown>> {
    return {
      group: (await call(base, "GET", rgPath(RG))).body,
      groups: await listAll(base, groupsInSubscription),
      cluster: (await call(base, "GET", clusterPath(RG, "main"))).body,
      clusters: await listAll(base, clustersInSubscription),
      pools: await listAll(base, poolsPath(RG, "main")),
      maintenance: (await call(base, "GET", maintenancePath("main"))).body,
      snapshot: (await call(base, "GET", snapshotPath("snap1"))).body,
      createOperation: (await call(base, "GET", onBase(base, operations.createMain))).body,
    };
  }

  it("keeps clusters, pools, tags, systemData, maintenance configurations and snapshots through a clean stop and start", async () => {
    emu = await startChild({ dataDir });
    const base = emu.url;
    expectStatus(await call(base, "GET", "/_emulator/health"), 200, "health");
    expectStatus(await call(base, "PUT", rgPath(RG), { location: "eastus", tags: { team: "durability" } }), 201, "resource group");

    const created = expectStatus(await call(base, "PUT", clusterPath(RG, "main"), clusterBody({ env: "test", owner: "restart" })), 201, "cluster");
    operations.createMain = created.headers.get("azure-asyncoperation")!;
    expect((await settled(base, operations.createMain)).status).toBe("Succeeded");
    const pool = expectStatus(await call(base, "PUT", poolPath(RG, "main", "user1"), poolBody({ tier: "gold" })), 201, "pool");
    expect((await settled(base, pool.headers.get("azure-asyncoperation")!)).status).toBe("Succeeded");
    // An update: systemData.lastModifiedAt moves away from createdAt, and the tags are replaced.
    const patched = expectStatus(await call(base, "PATCH", clusterPath(RG, "main"), { tags: { env: "test", patched: "yes" } }), 200, "tags");
    expect((await settled(base, patched.headers.get("azure-asyncoperation")!)).status).toBe("Succeeded");
    expectStatus(await call(base, "PUT", maintenancePath("main"), { properties: { timeInWeek: [{ day: "Sunday", hourSlots: [22, 23] }] } }), 201, "maintenance configuration");
    const poolId = pool.body.id;
    expectStatus(await call(base, "PUT", snapshotPath("snap1"), { location: "eastus", tags: { kept: "1" }, properties: { creationData: { sourceResourceId: poolId } } }), 201, "snapshot");

    const before = await snapshotOfState(base);
    expect(before).toMatchObject({
      group: { name: RG, tags: { team: "durability" } },
      cluster: {
        name: "main",
        tags: { env: "test", patched: "yes" },
        properties: { provisioningState: "Succeeded" },
        systemData: { createdBy: expect.any(String), createdAt: expect.any(String), lastModifiedAt: expect.any(String) },
      },
      maintenance: { name: "default", properties: { timeInWeek: [{ day: "Sunday", hourSlots: [22, 23] }] } },
      snapshot: { name: "snap1", tags: { kept: "1" }, properties: { creationData: { sourceResourceId: poolId } } },
      createOperation: { status: "Succeeded" },
    });
    expect((before.pools as any[]).map((p) => [p.name, p.properties.tags ?? {}])).toEqual([
      ["system", {}],
      ["user1", { tier: "gold" }],
    ]);

    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    emu = await startChild({ dataDir });
    expect(await snapshotOfState(emu.url)).toEqual(before);
  });

  it("settles operations a SIGKILL interrupted: creates end Succeeded, deletes end gone, others fail as OperationInterrupted", async () => {
    // Two more clusters, settled, on a quick emulator.
    emu = await startChild({ dataDir });
    for (const name of ["doomed", "stoppable"]) {
      const answer = expectStatus(await call(emu.url, "PUT", clusterPath(RG, name), clusterBody({ name })), 201, name);
      expect((await settled(emu.url, answer.headers.get("azure-asyncoperation")!)).status).toBe("Succeeded");
    }
    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    // An emulator whose every provisioning step takes a minute: the operations are surely running at the kill.
    emu = await startChild({ dataDir, delayMs: LONG_DELAY_MS });
    const create = expectStatus(await call(emu.url, "PUT", clusterPath(RG, "fresh"), clusterBody({ name: "fresh" })), 201, "create");
    const remove = expectStatus(await call(emu.url, "DELETE", clusterPath(RG, "doomed")), 202, "delete");
    const addPool = expectStatus(await call(emu.url, "PUT", poolPath(RG, "main", "user2"), poolBody({ added: "late" })), 201, "pool create");
    const stop = expectStatus(await call(emu.url, "POST", `${clusterPath(RG, "stoppable", "")}/stop?api-version=${AKS_API}`), 202, "stop");
    const urls = {
      create: create.headers.get("azure-asyncoperation")!,
      remove: remove.headers.get("azure-asyncoperation")!,
      removeResult: remove.headers.get("location")!,
      addPool: addPool.headers.get("azure-asyncoperation")!,
      stop: stop.headers.get("azure-asyncoperation")!,
    };
    for (const [name, url] of Object.entries(urls)) {
      if (name === "removeResult") expect((await call(emu.url, "GET", url)).status, name).toBe(202);
      else expect((await call(emu.url, "GET", url)).body.status, name).toBe("InProgress");
    }
    expect((await call(emu.url, "GET", clusterPath(RG, "doomed"))).body.properties.provisioningState).toBe("Deleting");
    expect((await emu.stop("SIGKILL")).signal).toBe("SIGKILL");

    emu = await startChild({ dataDir });
    const base = emu.url;
    expect(emu.output()).toMatch(/settled 4 operation\(s\) interrupted by the last stop/);
    // The create ended Succeeded, and the cluster is there.
    expect((await call(base, "GET", onBase(base, urls.create))).body).toMatchObject({ status: "Succeeded", endTime: expect.any(String) });
    const fresh = expectStatus(await call(base, "GET", clusterPath(RG, "fresh")), 200, "fresh");
    expect(fresh.body).toMatchObject({ tags: { name: "fresh" }, properties: { provisioningState: "Succeeded", agentPoolProfiles: [{ name: "system", provisioningState: "Succeeded" }] } });
    // The delete ended with the cluster gone; its Location answers the end (204).
    expect((await call(base, "GET", onBase(base, urls.remove))).body).toMatchObject({ status: "Succeeded" });
    expect((await call(base, "GET", onBase(base, urls.removeResult))).status).toBe(204);
    expect((await call(base, "GET", clusterPath(RG, "doomed"))).status).toBe(404);
    // The pool create ended Succeeded.
    expect((await call(base, "GET", onBase(base, urls.addPool))).body).toMatchObject({ status: "Succeeded" });
    expect((await call(base, "GET", poolPath(RG, "main", "user2"))).body).toMatchObject({ properties: { provisioningState: "Succeeded", tags: { added: "late" } } });
    // The stop cannot be carried on: it failed, and says why; the cluster can be stopped again.
    expect((await call(base, "GET", onBase(base, urls.stop))).body).toMatchObject({ status: "Failed", error: { code: "OperationInterrupted" } });
    const stoppable = (await call(base, "GET", clusterPath(RG, "stoppable"))).body;
    expect(stoppable.properties).toMatchObject({ provisioningState: "Failed", powerState: { code: "Running" } });
    const again = expectStatus(await call(base, "POST", `${clusterPath(RG, "stoppable", "")}/stop?api-version=${AKS_API}`), 202, "stop again");
    expect((await settled(base, again.headers.get("azure-asyncoperation")!)).status).toBe("Succeeded");
    expect((await call(base, "GET", clusterPath(RG, "stoppable"))).body.properties).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Stopped" } });
    // Nothing anywhere is left in progress.
    for (const cluster of await listAll(base, clustersInSubscription)) {
      expect(cluster.properties.provisioningState, cluster.id).toBe("Succeeded");
      for (const pool of await listAll(base, poolsPath(RG, cluster.name))) expect(pool.properties.provisioningState, pool.id).toBe("Succeeded");
    }
  });

  it("POST /_emulator/reset clears every resource and operation, and the reset outlives a restart", async () => {
    emu = await startChild({ dataDir });
    const base = emu.url;
    expect((await listAll(base, clustersInSubscription)).length).toBeGreaterThan(0);
    const health = expectStatus(await call(base, "GET", "/_emulator/health"), 200, "health");
    expect(health.body).toMatchObject({ status: "ok", mode: "mock" });

    expect((await call(base, "POST", "/_emulator/reset")).status).toBe(204);
    const empty = async (url: string) => {
      expect(await listAll(url, groupsInSubscription)).toEqual([]);
      expect(await listAll(url, clustersInSubscription)).toEqual([]);
      expect(await listAll(url, `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/snapshots?api-version=${AKS_API}`)).toEqual([]);
      expect((await call(url, "GET", rgPath(RG))).status).toBe(404);
      expect((await call(url, "GET", onBase(url, operations.createMain))).status).toBe(404);
    };
    await empty(base);
    expectStatus(await call(base, "GET", "/_emulator/health"), 200, "health after reset");

    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    emu = await startChild({ dataDir });
    await empty(emu.url);
    // And the emulator takes new work on the same folder.
    expectStatus(await call(emu.url, "PUT", rgPath(RG), { location: "eastus" }), 201, "resource group after reset");
  });

  it("keeps nothing without a data folder", async () => {
    const keyDir = process.env.AKS_EMULATOR_TEST_DATA_DIR!;
    emu = await startChild();
    expect(emu.output()).toContain("state in memory");
    expectStatus(await call(emu.url, "PUT", rgPath("memory-rg"), { location: "eastus" }), 201, "resource group");
    const created = expectStatus(await call(emu.url, "PUT", clusterPath("memory-rg", "ephemeral"), clusterBody()), 201, "cluster");
    const operationUrl = created.headers.get("azure-asyncoperation")!;
    expect((await settled(emu.url, operationUrl)).status).toBe("Succeeded");
    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    emu = await startChild();
    expect((await call(emu.url, "GET", rgPath("memory-rg"))).status).toBe(404);
    expect((await call(emu.url, "GET", clusterPath("memory-rg", "ephemeral"))).status).toBe(404);
    expect(await listAll(emu.url, groupsInSubscription)).toEqual([]);
    expect((await call(emu.url, "GET", onBase(emu.url, operationUrl))).status).toBe(404);
    // No database was written beside the keys.
    expect(existsSync(join(keyDir, "aks-emulator.db"))).toBe(false);
  });
});
