// Finished operation records expire (ResourceStore.pruneOperations), the same in both stores: oldest
// end first, by age, count and size; never one still running nor one a resource names as its active
// operation; a rolled-back transaction brings the pruned ones back. An older SQLite file (schema 3)
// migrates with its finished operations prunable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { OperationRecord } from "../../src/arm/lro.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import type { OperationRetention, ResourceStore, StoredResource } from "../../src/store/store.js";
import { rewriteAsSchema } from "../support/olderSqliteSchemas.js";

const SUB = "00000000-0000-0000-0000-0000000000AA";
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg`;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const operation = (name: string, endedAtMinute?: number, extra: Partial<OperationRecord> = {}): OperationRecord => ({
  name,
  subscriptionId: SUB,
  location: "eastus",
  provider: "Microsoft.ContainerService",
  resourceId: `${GROUP}/providers/Microsoft.ContainerService/managedClusters/c`,
  action: "Update",
  status: endedAtMinute === undefined ? "InProgress" : "Succeeded",
  startTime: at(0),
  ...(endedAtMinute === undefined ? {} : { endTime: at(endedAtMinute), percentComplete: 100 }),
  ...extra,
});

const cluster = (activeOperation?: string): StoredResource => ({
  id: `${GROUP}/providers/Microsoft.ContainerService/managedClusters/c`,
  type: "Microsoft.ContainerService/managedClusters",
  parentKey: GROUP.toLowerCase(),
  subscriptionId: SUB,
  body: { name: "c", properties: { provisioningState: "Succeeded" } },
  etag: "e",
  activeOperation,
});

const retention = (endedBefore: number, extra: Partial<OperationRetention> = {}): OperationRetention => ({
  endedBefore: at(endedBefore),
  keepNewest: 1000,
  maxBytes: 1 << 30,
  maxDrops: 100,
  ...extra,
});

const folders: string[] = [];
const open: ResourceStore[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function sqliteFile(): string {
  const folder = mkdtempSync(join(tmpdir(), "aks-retention-"));
  folders.push(folder);
  return join(folder, "state.db");
}

const makers: [string, () => ResourceStore][] = [
  ["memory", () => new MemoryStore()],
  ["sqlite", () => new SqliteStore(sqliteFile())],
];

const kept = (store: ResourceStore) => store.listOperations().map((op) => op.name).sort();

describe.each(makers)("finished operations in the %s store", (_kind, make) => {
  const store = () => {
    const made = make();
    open.push(made);
    return made;
  };

  it("go once expired, oldest end first, at most maxDrops at a time; running ones stay", () => {
    const s = store();
    s.transaction(() => {
      for (const [name, end] of [["a", 10], ["b", 20], ["c", 30], ["d", 40]] as const) s.putOperation(operation(name, end));
      s.putOperation(operation("running"));
    });
    expect(s.transaction(() => s.pruneOperations(retention(35, { maxDrops: 2 })))).toBe(2);
    expect(kept(s)).toEqual(["c", "d", "running"]);
    expect(s.transaction(() => s.pruneOperations(retention(35)))).toBe(1);
    expect(kept(s)).toEqual(["d", "running"]);
    expect(s.getOperation("a")).toBeUndefined();
    expect(s.operationCount()).toBe(2);
    // nothing left that is due: nothing goes
    expect(s.transaction(() => s.pruneOperations(retention(35)))).toBe(0);
    expect(s.transaction(() => s.pruneOperations(retention(10_000)))).toBe(1);
    expect(kept(s)).toEqual(["running"]);
  });

  it("keeps one a resource names as its active operation", () => {
    const s = store();
    s.transaction(() => {
      s.putOperation(operation("held", 1));
      s.putOperation(operation("free", 2));
      s.put(cluster("held"));
    });
    expect(s.transaction(() => s.pruneOperations(retention(100)))).toBe(1);
    expect(kept(s)).toEqual(["held"]);
    s.transaction(() => s.put(cluster(undefined)));
    expect(s.transaction(() => s.pruneOperations(retention(100)))).toBe(1);
    expect(kept(s)).toEqual([]);
  });

  it("are bounded by count and by size, however recent", () => {
    const s = store();
    s.transaction(() => {
      for (let i = 0; i < 10; i++) s.putOperation(operation(`op${i}`, 100 + i));
    });
    expect(s.transaction(() => s.pruneOperations(retention(0, { keepNewest: 6 })))).toBe(4);
    expect(kept(s)).toEqual(["op4", "op5", "op6", "op7", "op8", "op9"]);
    const big = { status: 200, body: { logs: "x".repeat(10_000) } };
    s.transaction(() => s.putOperation(operation("big", 200, { result: big })));
    // a budget of about one big record: the older ones go first, the big one (the newest) stays
    expect(s.transaction(() => s.pruneOperations(retention(0, { maxBytes: 10_500 })))).toBe(6);
    expect(kept(s)).toEqual(["big"]);
  });

  it("come back when the transaction that pruned them rolls back", () => {
    const s = store();
    s.transaction(() => {
      s.putOperation(operation("a", 1));
      s.putOperation(operation("b", 2));
    });
    expect(() =>
      s.transaction(() => {
        expect(s.pruneOperations(retention(100))).toBe(2);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(kept(s)).toEqual(["a", "b"]);
    expect(s.getOperation("a")?.status).toBe("Succeeded");
    // and the bookkeeping still counts them
    expect(s.transaction(() => s.pruneOperations(retention(0, { keepNewest: 1 })))).toBe(1);
    expect(kept(s)).toEqual(["b"]);
  });
});

describe("an older SQLite file", () => {
  it("migrates with its finished operations prunable and its running ones kept", () => {
    const file = sqliteFile();
    const first = new SqliteStore(file);
    first.transaction(() => {
      first.putOperation(operation("old", 1));
      first.putOperation(operation("running"));
    });
    first.close();
    // as schema 3 left it: no end column
    rewriteAsSchema(file, 3);
    const reopened = new SqliteStore(file);
    open.push(reopened);
    expect(kept(reopened)).toEqual(["old", "running"]);
    expect(reopened.transaction(() => reopened.pruneOperations(retention(100)))).toBe(1);
    expect(kept(reopened)).toEqual(["running"]);
  });
});
