// What a cluster costs kept in the memory store (issue 15: 10,000 clusters of one pool in at most 120
// MiB of RSS, which leaves about 4 KB of V8 heap a cluster). The bench measures the RSS; this holds the
// heap per cluster, which does not depend on the machine's speed, and the sharing that keeps it there.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { MockBackend } from "../../src/engine/backends/mock.js";
import { Engine } from "../../src/engine/engine.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { recordChecks } from "../../src/store/store.js";
import { silentLogger, systemClock } from "../../src/util.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const caller = { principal: { id: "tester", type: "User" as const } };
const settled = () => new Promise((resolve) => setImmediate(resolve));
const body = () => ({ location: "eastus", tags: { env: "test" }, properties: { dnsPrefix: "fleet", agentPoolProfiles: [{ name: "pool0", count: 3, vmSize: "Standard_DS2_v2", mode: "System" }] } });

function fleetEngine(): { store: MemoryStore; engine: Engine } {
  const store = new MemoryStore();
  const engine = new Engine(store, new MockBackend(), systemClock, silentLogger, loadConfig({}, {}));
  store.put({ id: `/subscriptions/${SUB}/resourceGroups/rg`, type: "Microsoft.Resources/resourceGroups", parentKey: `/subscriptions/${SUB}`, subscriptionId: SUB, body: { name: "rg", location: "eastus", properties: { provisioningState: "Succeeded" } }, etag: "" });
  return { store, engine };
}

const freezing = recordChecks.freeze;
afterEach(() => {
  recordChecks.freeze = freezing;
});

describe("the memory store's footprint", () => {
  it("keeps a cluster of one pool of three in under 4.4 KB of heap", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // As the emulator runs: the tests' deep freeze of every stored record is a check, not the product.
    recordChecks.freeze = false;
    const { engine } = fleetEngine();
    const heapUsed = () => {
      gc();
      gc();
      return getHeapStatistics().used_heap_size;
    };
    const CLUSTERS = 3000;
    for (let i = 0; i < 100; i++) engine.putCluster(SUB, "rg", `warm${i}`, body(), caller);
    await settled();
    const before = heapUsed();
    for (let i = 0; i < CLUSTERS; i++) {
      engine.putCluster(SUB, "rg", `c${i}`, body(), caller);
      if (i % 100 === 99) await settled();
    }
    await settled();
    const perCluster = (heapUsed() - before) / CLUSTERS;
    // About 5,850 bytes before the flat child lists, flat names and shared defaults; about 4,100 after.
    expect(perCluster).toBeLessThan(4400);
    expect(engine.getCluster(SUB, "rg", `c${CLUSTERS - 1}`).body.properties.provisioningState).toBe("Succeeded");
  });

  it("shares the defaults two clusters hold alike, and a create's systemData between a cluster and its pool", async () => {
    const { store, engine } = fleetEngine();
    engine.putCluster(SUB, "rg", "a", body(), caller);
    engine.putCluster(SUB, "rg", "b", body(), caller);
    await settled();
    const [a, b] = ["a", "b"].map((name) => engine.getCluster(SUB, "rg", name));
    const [poolA, poolB] = [a, b].map((cluster) => store.children<any>(cluster.id, "Microsoft.ContainerService/managedClusters/agentPools")[0]);
    expect(a.body.properties.powerState).toBe(b.body.properties.powerState);
    expect(a.body.properties.servicePrincipalProfile).toBe(b.body.properties.servicePrincipalProfile);
    expect(a.body.properties.networkProfile.ipFamilies).toBe(b.body.properties.networkProfile.ipFamilies);
    expect(a.body.properties.networkProfile.serviceCidrs).toBe(b.body.properties.networkProfile.serviceCidrs);
    expect(poolA.body.properties.upgradeSettings).toBe(poolB.body.properties.upgradeSettings);
    expect(poolA.body.properties.powerState).toBe(a.body.properties.powerState);
    // Shared copies are frozen: a change in place would change every record that holds one.
    expect(Object.isFrozen(a.body.properties.networkProfile.ipFamilies)).toBe(true);
    // The create stamped the cluster and its pool alike, with one object.
    expect(poolA.body.systemData).toBe(a.body.systemData);
    expect(a.body.systemData.createdAt).toBe(a.body.systemData.lastModifiedAt);
  });
});
