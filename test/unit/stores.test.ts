// The ResourceStore contract, held by both stores: the memory store and the SQLite store, which
// keeps only a bounded cache in memory and reads the rest from its database on demand.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { newOperation } from "../../src/arm/lro.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { SCHEMA_VERSION, SqliteStore } from "../../src/store/sqliteStore.js";
import type { ResourceStore, StoredResource } from "../../src/store/store.js";
import { rewriteAsSchema } from "../support/olderSqliteSchemas.js";

const SUB = "00000000-0000-0000-0000-0000000000AA";
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg`;
const CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters";
const POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools";

const cluster = (name: string, state = "Succeeded", activeOperation?: string): StoredResource => ({
  id: `${GROUP}/providers/Microsoft.ContainerService/managedClusters/${name}`,
  type: CLUSTER_TYPE,
  parentKey: GROUP.toLowerCase(),
  subscriptionId: SUB,
  body: { name, properties: { provisioningState: state } },
  etag: `etag-${name}`,
  activeOperation,
});
const pool = (clusterName: string, name: string): StoredResource => ({
  id: `${cluster(clusterName).id}/agentPools/${name}`,
  type: POOL_TYPE,
  parentKey: cluster(clusterName).id.toLowerCase(),
  subscriptionId: SUB,
  body: { name, properties: { count: 1, provisioningState: "Succeeded" } },
  etag: "",
});
const names = (records: StoredResource[]) => records.map((r) => r.body.name);

const folders: string[] = [];
const open: ResourceStore[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function sqliteFile(): string {
  const folder = mkdtempSync(join(tmpdir(), "aks-store-"));
  folders.push(folder);
  return join(folder, "aks-emulator.db");
}

const kinds: [string, () => ResourceStore][] = [
  ["memory", () => new MemoryStore()],
  ["sqlite", () => new SqliteStore(sqliteFile())],
];

describe.each(kinds)("the %s store", (_kind, make) => {
  const fresh = () => {
    const store = make();
    open.push(store);
    return store;
  };

  it("lists the first resources of a type across subscriptions in creation order, with how many there are", () => {
    const store = fresh();
    const inSubscription = (subscriptionId: string, name: string): StoredResource => {
      const group = `/subscriptions/${subscriptionId}/resourceGroups/rg`;
      return { ...cluster(name), id: `${group}/providers/Microsoft.ContainerService/managedClusters/${name}`, parentKey: group.toLowerCase(), subscriptionId };
    };
    store.put(inSubscription("sub-b", "b1"));
    store.put(inSubscription(SUB, "a1"));
    store.put(pool("a1", "p1"));
    store.put(inSubscription("sub-b", "b2"));
    store.put(inSubscription(SUB, "a2"));
    expect(names(store.firstOfType(CLUSTER_TYPE, 3).items)).toEqual(["b1", "a1", "b2"]);
    expect(store.firstOfType(CLUSTER_TYPE.toLowerCase(), 3).total).toBe(4);
    expect(names(store.firstOfType(POOL_TYPE, 10).items)).toEqual(["p1"]);
    store.delete(inSubscription("sub-b", "b1").id);
    expect(store.firstOfType(CLUSTER_TYPE, 10)).toMatchObject({ total: 3 });
    expect(names(store.firstOfType(CLUSTER_TYPE, 10).items)).toEqual(["a1", "b2", "a2"]);
  });

  it("gives back each record and operation as it was given, field for field", () => {
    const store = fresh();
    const given = { ...cluster("whole"), body: { name: "whole", tags: { a: "1" }, properties: { provisioningState: "Succeeded", count: 3, list: [1, { x: null }] } } };
    const operation = { ...newOperation({ subscriptionId: SUB, location: "eastus", provider: "Microsoft.ContainerService", resourceId: given.id, action: "Create" }, new Date("2026-01-01T00:00:00Z")), status: "Succeeded" as const, endTime: "2026-01-01T00:01:00.000Z" };
    store.transaction(() => {
      store.put(given);
      store.put(pool("whole", "p1"));
      store.putOperation(operation);
    });
    expect(store.get(given.id)).toEqual(given);
    expect(store.children(given.id)).toEqual([pool("whole", "p1")]);
    expect(store.getOperation(operation.name)).toEqual(operation);
    expect(store.listOperations()).toEqual([operation]);
    expect(store.all()).toEqual([given, pool("whole", "p1")]);
  });

  it("reads by id in any casing, and forgets what it deletes", () => {
    const store = fresh();
    store.put(cluster("Alpha"));
    expect(store.get(cluster("Alpha").id.toUpperCase())?.body.name).toBe("Alpha");
    expect(store.delete(cluster("alpha").id)).toBe(true);
    expect(store.get(cluster("Alpha").id)).toBeUndefined();
    expect(store.delete(cluster("alpha").id)).toBe(false);
  });

  it("lists children and types in creation order, an update keeping its place, one range at a time", () => {
    const store = fresh();
    for (const name of ["c1", "c2", "c3", "c4"]) store.put(cluster(name));
    store.put(pool("c1", "p1"));
    store.put(cluster("c2", "Updating")); // an update: c2 stays second
    expect(names(store.children(GROUP, CLUSTER_TYPE))).toEqual(["c1", "c2", "c3", "c4"]);
    expect(names(store.children(GROUP.toUpperCase(), CLUSTER_TYPE.toLowerCase(), { offset: 1, limit: 2 }))).toEqual(["c2", "c3"]);
    expect(names(store.listByType(SUB.toLowerCase(), CLUSTER_TYPE.toUpperCase(), { offset: 3, limit: 10 }))).toEqual(["c4"]);
    expect(names(store.children(cluster("c1").id))).toEqual(["p1"]);
    expect(store.children(GROUP, CLUSTER_TYPE)[1].body.properties.provisioningState).toBe("Updating");
  });

  it("lists a nested type by subscription too (the SQLite store indexes only top-level types)", () => {
    const store = fresh();
    for (const name of ["c1", "c2"]) store.put(cluster(name));
    store.put(pool("c2", "p1"));
    store.put(pool("c1", "p2"));
    store.put(pool("c1", "p3"));
    expect(names(store.listByType(SUB, POOL_TYPE.toUpperCase()))).toEqual(["p1", "p2", "p3"]);
    expect(names(store.listByType(SUB.toLowerCase(), POOL_TYPE, { after: store.position(pool("c2", "p1").id), limit: 1 }))).toEqual(["p2"]);
    expect(names(store.listByType(SUB, CLUSTER_TYPE))).toEqual(["c1", "c2"]);
  });

  it("lists a parent's children as they change after a first listing", () => {
    const store = fresh();
    store.put(cluster("c1"));
    store.put(pool("c1", "p1"));
    store.put(pool("c1", "p2"));
    expect(names(store.children(cluster("c1").id, POOL_TYPE))).toEqual(["p1", "p2"]);
    store.put(pool("c1", "p3"));
    store.delete(pool("c1", "p1").id);
    store.put({ ...pool("c1", "p2"), body: { name: "p2", properties: { count: 5 } } });
    expect(store.children(cluster("c1").id, POOL_TYPE).map((p) => [p.body.name, p.body.properties.count])).toEqual([
      ["p2", 5],
      ["p3", 1],
    ]);
    store.put(pool("c1", "p1")); // back, now the newest
    expect(names(store.children(cluster("c1").id))).toEqual(["p2", "p3", "p1"]);
    expect(() =>
      store.transaction(() => {
        store.put(pool("c1", "p4"));
        expect(names(store.children(cluster("c1").id))).toEqual(["p2", "p3", "p1", "p4"]);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(names(store.children(cluster("c1").id))).toEqual(["p2", "p3", "p1"]);
  });

  it("keeps a parent's children of two types in order, from one or two to a dozen and back", () => {
    // The memory store keeps a parent's few children in one flat list and a dozen in a list per type.
    const store = fresh();
    const CONFIG_TYPE = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations";
    const config = (name: string): StoredResource => ({ ...pool("c1", name), id: `${cluster("c1").id}/maintenanceConfigurations/${name}`, type: CONFIG_TYPE });
    store.put(cluster("c1"));
    const parent = cluster("c1").id;
    const expected: string[] = [];
    for (let i = 1; i <= 6; i++) {
      store.put(pool("c1", `p${i}`));
      store.put(config(`m${i}`));
      expected.push(`p${i}`, `m${i}`);
      expect(names(store.children(parent))).toEqual(expected);
    }
    expect(names(store.children(parent, CONFIG_TYPE.toUpperCase()))).toEqual(["m1", "m2", "m3", "m4", "m5", "m6"]);
    expect(names(store.children(parent, POOL_TYPE, { after: store.position(pool("c1", "p2").id), limit: 2 }))).toEqual(["p3", "p4"]);
    // A deletion undone puts the child back where it stood, among either kind of list.
    expect(() =>
      store.transaction(() => {
        store.delete(pool("c1", "p3").id);
        store.delete(config("m5").id);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(names(store.children(parent))).toEqual(expected);
    for (let i = 1; i <= 6; i++) store.delete(pool("c1", `p${i}`).id);
    expect(names(store.children(parent))).toEqual(["m1", "m2", "m3", "m4", "m5", "m6"]);
    expect(store.children(parent, POOL_TYPE)).toEqual([]);
    for (let i = 1; i <= 6; i++) store.delete(config(`m${i}`).id);
    expect(store.children(parent)).toEqual([]);
    store.put(pool("c1", "p1")); // back, now the newest
    expect(names(store.children(parent))).toEqual(["p1"]);
  });

  it("pages a parent's long list after any child's position, as children come and go", () => {
    // Past 64 children the memory store finds a child's position through an index kept with the list.
    const store = fresh();
    const name = (i: number) => `c${String(i).padStart(3, "0")}`;
    for (let i = 0; i < 150; i++) store.put(cluster(name(i)));
    const after = (i: number) => names(store.children(GROUP, CLUSTER_TYPE, { after: store.position(cluster(name(i)).id), limit: 2 }));
    expect(after(0)).toEqual([name(1), name(2)]);
    expect(after(147)).toEqual([name(148), name(149)]);
    store.delete(cluster(name(148)).id);
    expect(store.position(cluster(name(148)).id)).toBeUndefined();
    expect(after(147)).toEqual([name(149)]);
    expect(() =>
      store.transaction(() => {
        store.delete(cluster(name(100)).id);
        store.put(cluster("late"));
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(after(99)).toEqual([name(100), name(101)]);
    expect(store.position(cluster("late").id)).toBeUndefined();
    store.put(cluster(name(148))); // back, now the newest
    expect(after(149)).toEqual([name(148)]);
    expect(names(store.children(GROUP, CLUSTER_TYPE, { after: store.position(cluster(name(148)).id), limit: 5 }))).toEqual([]);
  });

  it("rolls a refused transaction back whole", () => {
    const store = fresh();
    store.put(cluster("keep"));
    store.put(cluster("gone"));
    const operation = newOperation({ subscriptionId: SUB, location: "eastus", provider: "Microsoft.ContainerService", resourceId: cluster("keep").id, action: "Update" }, new Date());
    expect(() =>
      store.transaction(() => {
        store.put(cluster("keep", "Updating", operation.name));
        store.delete(cluster("gone").id);
        store.put(cluster("new"));
        store.putOperation(operation);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.get(cluster("keep").id)?.body.properties.provisioningState).toBe("Succeeded");
    expect(store.get(cluster("gone").id)?.body.name).toBe("gone");
    expect(store.get(cluster("new").id)).toBeUndefined();
    expect(store.getOperation(operation.name)).toBeUndefined();
    expect(names(store.children(GROUP))).toEqual(["keep", "gone"]);
  });

  it("reads the operations that ended last, newest first, without the running ones", () => {
    const store = fresh();
    const started = (name: string) => ({ ...newOperation({ subscriptionId: SUB, location: "eastus", provider: "Microsoft.ContainerService", resourceId: cluster(name).id, action: "Update" }, new Date("2026-01-01T00:00:00Z")), name });
    const ended = (name: string, minute: number) => ({ ...started(name), status: "Succeeded" as const, endTime: `2026-01-01T00:${String(minute).padStart(2, "0")}:00.000Z` });
    store.transaction(() => {
      store.putOperation(ended("second", 2));
      store.putOperation(started("running"));
      store.putOperation(ended("first", 1));
    });
    store.transaction(() => store.putOperation(ended("third", 3)));
    expect(store.recentlyEnded(2).map((o) => o.name)).toEqual(["third", "second"]);
    store.transaction(() => store.putOperation(ended("running", 4)));
    expect(store.recentlyEnded(10).map((o) => o.name)).toEqual(["running", "third", "second", "first"]);
  });

  it("finds what a restart must settle: locked resources and transitional states", () => {
    const store = fresh();
    store.put(cluster("done"));
    store.put(cluster("creating", "Creating"));
    store.put(cluster("locked", "Succeeded", "op-1"));
    store.put(cluster("failed", "Failed"));
    store.put({ ...pool("done", "p"), body: { name: "p", properties: { provisioningState: 3 } } }); // not a state at all
    expect(names(store.unsettled()).sort()).toEqual(["creating", "locked"]);
    expect(names(store.listLocked())).toEqual(["locked"]);
  });
});

describe("the sqlite store", () => {
  it("migrates a schema 4 file: what a restart must settle is still found, and lists read as before", () => {
    const file = sqliteFile();
    const first = new SqliteStore(file);
    first.put(cluster("done"));
    first.put(cluster("creating", "Creating"));
    first.put(cluster("locked", "Succeeded", "op-1"));
    first.put(pool("done", "p1"));
    first.transaction(() => first.putOperation({ ...newOperation({ subscriptionId: SUB, location: "eastus", provider: "Microsoft.ContainerService", resourceId: cluster("creating").id, action: "Create" }, new Date()), name: "running-op" }));
    first.close();
    rewriteAsSchema(file, 4);
    const reopened = new SqliteStore(file);
    open.push(reopened);
    expect(names(reopened.unsettled())).toEqual(["creating", "locked"]);
    expect(reopened.listOperations("InProgress").map((o) => o.name)).toEqual(["running-op"]);
    expect(names(reopened.children(GROUP, CLUSTER_TYPE, { after: 0, limit: 2 }))).toEqual(["done", "creating"]);
    reopened.put(cluster("creating"));
    expect(names(reopened.unsettled())).toEqual(["locked"]);
  });

  it("migrates a schema 5 file: the type index keeps top-level types only, and lists by type read as before", () => {
    const file = sqliteFile();
    const first = new SqliteStore(file);
    for (const name of ["c1", "c2"]) first.put(cluster(name));
    first.put(pool("c1", "p1"));
    first.close();
    rewriteAsSchema(file, 5);
    const reopened = new SqliteStore(file);
    open.push(reopened);
    reopened.put(cluster("c3"));
    reopened.put(pool("c3", "p2"));
    expect(names(reopened.listByType(SUB, CLUSTER_TYPE, { after: 1, limit: 5 }))).toEqual(["c2", "c3"]);
    expect(names(reopened.listByType(SUB, POOL_TYPE))).toEqual(["p1", "p2"]);
    reopened.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      const index = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'resources_by_type'").pluck().get() as string;
      expect(index).toMatch(/WHERE type NOT LIKE '%\/%\/%'$/);
      // Only the clusters are in it.
      expect(db.prepare("SELECT count(*) FROM resources INDEXED BY resources_by_type WHERE subscription_id = ? COLLATE NOCASE AND type = ? COLLATE NOCASE AND type NOT LIKE '%/%/%'").pluck().get(SUB, CLUSTER_TYPE)).toBe(3);
    } finally {
      db.close();
    }
  });

  it("gives back each record and operation field for field from its file, after a reopen", () => {
    const file = sqliteFile();
    const given = { ...cluster("whole", "Succeeded", "op-whole"), body: { name: "whole", tags: { a: "1" }, properties: { provisioningState: "Succeeded", list: [1, { x: null }] } } };
    const operation = { ...newOperation({ subscriptionId: SUB, location: "eastus", provider: "Microsoft.ContainerService", resourceId: given.id, action: "Create" }, new Date("2026-01-01T00:00:00Z")), status: "Succeeded" as const, endTime: "2026-01-01T00:01:00.000Z" };
    const first = new SqliteStore(file);
    first.transaction(() => {
      first.put(given);
      first.putOperation(operation);
    });
    first.close();
    const store = new SqliteStore(file);
    open.push(store);
    expect(store.get(given.id)).toEqual(given);
    expect(store.getOperation(operation.name)).toEqual(operation);
  });

  it("serves more records than it caches, and keeps them and their order across a reopen", () => {
    const file = sqliteFile();
    const count = 5_000; // more than its record cache holds
    let store = new SqliteStore(file);
    store.transaction(() => {
      for (let i = 0; i < count; i++) store.put(cluster(`c${i}`));
    });
    for (let i = 0; i < count; i += 997) expect(store.get<{ name: string }>(cluster(`c${i}`).id)?.body.name).toBe(`c${i}`);
    expect(store.listByType(SUB, CLUSTER_TYPE)).toHaveLength(count);
    store.close();

    store = new SqliteStore(file);
    open.push(store);
    store.put(cluster("after-reopen"));
    store.put(cluster("c0", "Updating"));
    const listed = names(store.listByType(SUB, CLUSTER_TYPE, { offset: count - 2, limit: 5 }));
    expect(listed).toEqual([`c${count - 2}`, `c${count - 1}`, "after-reopen"]);
    expect(store.get<{ properties: { provisioningState: string } }>(cluster("c0").id)?.body.properties.provisioningState).toBe("Updating");
    expect(names(store.unsettled())).toEqual(["c0"]);
  });
});
