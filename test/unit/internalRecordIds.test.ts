// A pool's machine set and a cluster's address space are internal records with lower-case ids. A data
// folder written before that holds them under mixed-case ids (`.../agentPools/x/machineSet`,
// `.../addressSpace`): the engine must find those records and update them in place, never start new
// ones beside them (which would rename the machines and hand out addresses twice).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { MockBackend } from "../../src/engine/backends/mock.js";
import { Engine } from "../../src/engine/engine.js";
import { ADDRESS_SPACE_TYPE, addressSpaceId, MACHINE_SET_TYPE, machineSetId, type MachineSet } from "../../src/engine/model.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import { silentLogger, systemClock } from "../../src/util.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const caller = { principal: { id: "tester", type: "User" as const } };
const settled = () => new Promise((resolve) => setImmediate(resolve));
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("internal records stored under an earlier emulator's mixed-case ids", () => {
  it("are found and updated in place when a pool scales", async () => {
    const folder = mkdtempSync(join(tmpdir(), "aks-internal-ids-"));
    folders.push(folder);
    const store = new SqliteStore(join(folder, "state.db"));
    const engine = new Engine(store, new MockBackend(), systemClock, silentLogger, loadConfig({}, {}));
    store.put({ id: `/subscriptions/${SUB}/resourceGroups/rg`, type: "Microsoft.Resources/resourceGroups", parentKey: `/subscriptions/${SUB}`, subscriptionId: SUB, body: { name: "rg", location: "eastus", properties: { provisioningState: "Succeeded" } }, etag: "" });
    engine.putCluster(SUB, "rg", "c1", { location: "eastus", properties: { dnsPrefix: "c1", agentPoolProfiles: [{ name: "system", count: 2, mode: "System" }] } }, caller);
    await settled();
    const cluster = engine.getCluster(SUB, "rg", "c1");
    const pool = store.children<{ properties: { vmSize: string } }>(cluster.id, "Microsoft.ContainerService/managedClusters/agentPools")[0];
    const set = store.get<MachineSet>(machineSetId(pool))!;
    const space = store.get(addressSpaceId(cluster.id))!;

    // As the earlier emulator stored them.
    store.transaction(() => {
      store.delete(set.id);
      store.delete(space.id);
      store.put({ ...set, id: `${pool.id}/machineSet` });
      store.put({ ...space, id: `${cluster.id}/addressSpace` });
    });
    expect(store.get(machineSetId(pool))?.id).toBe(`${pool.id}/machineSet`);

    engine.putPool(SUB, "rg", "c1", "system", { properties: { count: 3, mode: "System", vmSize: pool.body.properties.vmSize } }, caller);
    await settled();
    const scaled = store.get<MachineSet>(machineSetId(pool))!.body;
    expect(scaled.instances.map((i) => i.id)).toEqual([0, 1, 2]);
    expect(scaled.instances.slice(0, 2)).toEqual(set.body.instances);
    expect(new Set(scaled.instances.map((i) => i.ip)).size).toBe(3);
    expect(store.children(pool.id).filter((r) => r.type === MACHINE_SET_TYPE)).toHaveLength(1);
    expect(store.children(cluster.id).filter((r) => r.type === ADDRESS_SPACE_TYPE)).toHaveLength(1);
    store.close();
  });
});
