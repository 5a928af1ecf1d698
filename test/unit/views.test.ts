// The engine keeps each cluster's served view while its records stay the stored ones, and the
// writer serializes a kept view once. Both rest on stored records never changing in place, which
// the tests' frozen store enforces.
import { beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { MockBackend } from "../../src/engine/backends/mock.js";
import { Engine } from "../../src/engine/engine.js";
import { encodeBody, encodeJson } from "../../src/http/encodedBodies.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { recordChecks } from "../../src/store/store.js";
import { silentLogger, systemClock } from "../../src/util.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const caller = { principal: { id: "tester", type: "User" as const } };
const settled = () => new Promise((resolve) => setImmediate(resolve));

let store: MemoryStore;
let engine: Engine;
beforeEach(() => {
  store = new MemoryStore();
  engine = new Engine(store, new MockBackend(), systemClock, silentLogger, loadConfig({}, {}));
  store.put({ id: `/subscriptions/${SUB}/resourceGroups/rg`, type: "Microsoft.Resources/resourceGroups", parentKey: `/subscriptions/${SUB}`, subscriptionId: SUB, body: { name: "rg", location: "eastus", properties: { provisioningState: "Succeeded" } }, etag: "" });
});

async function createCluster(): Promise<void> {
  engine.putCluster(SUB, "rg", "c1", { location: "eastus", properties: { dnsPrefix: "c1", agentPoolProfiles: [{ name: "system", count: 1, mode: "System" }] } }, caller);
  await settled();
}

describe("stored records", () => {
  it("are frozen in the tests, so a change in place throws", async () => {
    expect(recordChecks.freeze).toBe(true);
    await createCluster();
    const cluster = engine.getCluster(SUB, "rg", "c1");
    expect(Object.isFrozen(cluster.body.properties)).toBe(true);
    expect(() => {
      cluster.body.properties.kubernetesVersion = "0.0.0";
    }).toThrow(TypeError);
  });
});

describe("cluster views", () => {
  it("are kept while the cluster and its pools are unchanged, and serialized once", async () => {
    await createCluster();
    const first = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    const second = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    expect(second).toBe(first);
    const json = encodeJson(first);
    expect(encodeJson(second)).toBe(json);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(first)));
    // A list page splices the kept JSON of its items in.
    const listed = { value: [first, { plain: true }], nextLink: "https://localhost/next?$skipToken=2" };
    expect(JSON.parse(encodeJson(listed))).toEqual(JSON.parse(JSON.stringify(listed)));
  });

  it("are written as text the first time (nothing kept), and as the same kept bytes from the second", async () => {
    await createCluster();
    const view = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    const first = encodeBody(view);
    expect(typeof first).toBe("string");
    const second = encodeBody(view);
    expect(Buffer.isBuffer(second)).toBe(true);
    expect(second.toString()).toBe(first);
    expect(encodeBody(view)).toBe(second);
    // A list page takes its items' bytes, made and kept at an item's first listing.
    const item = Object.freeze({ name: "listed first" });
    expect(JSON.parse(encodeJson({ value: [view, item] })).value).toEqual([JSON.parse(first as string), item]);
    expect(Buffer.isBuffer(encodeBody(item))).toBe(true);
  });

  it("follow a change of the cluster record", async () => {
    await createCluster();
    const before = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    engine.updateClusterTags(SUB, "rg", "c1", { team: "a" }, caller);
    await settled();
    const after = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    expect(after).not.toBe(before);
    expect(after.tags).toEqual({ team: "a" });
    expect(JSON.parse(encodeJson(after)).tags).toEqual({ team: "a" });
  });

  it("follow a change of one of the cluster's pools alone", async () => {
    await createCluster();
    const cluster = engine.getCluster(SUB, "rg", "c1");
    const before = engine.clusterView(cluster);
    engine.putPool(SUB, "rg", "c1", "system", { properties: { count: 3, mode: "System" } }, caller);
    await settled();
    engine.putPool(SUB, "rg", "c1", "user1", { properties: { count: 2, mode: "User" } }, caller);
    await settled();
    const after = engine.clusterView(engine.getCluster(SUB, "rg", "c1"));
    expect(after).not.toBe(before);
    expect(after.properties.agentPoolProfiles.map((p: { name: string; count: number }) => [p.name, p.count])).toEqual([
      ["system", 3],
      ["user1", 2],
    ]);
  });
});

describe("a view read with keep: false (the status page's read of many clusters)", () => {
  it("uses a kept view, and keeps none of its own, so it pushes no other view out", async () => {
    await createCluster();
    const cluster = engine.getCluster(SUB, "rg", "c1");
    const unkept = engine.clusterView(cluster, { keep: false });
    expect(engine.clusterView(cluster, { keep: false })).not.toBe(unkept); // made again: nothing was kept
    const kept = engine.clusterView(cluster);
    expect(engine.clusterView(cluster)).toBe(kept);
    expect(engine.clusterView(cluster, { keep: false })).toBe(kept); // the kept view is used
    expect(unkept).toEqual(kept);
  });
});
