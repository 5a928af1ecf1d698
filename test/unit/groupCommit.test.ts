// Group commit in the SQLite store: transactions run under deferCommits are joined into one SQLite
// transaction committed once, after they returned; durable() settles when that commit has. A commit
// that fails (a full disk) undoes every transaction of the batch, runs their failed hooks (the last
// first), rejects durable() with ARM's 507, and leaves the store usable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ArmError } from "../../src/arm/errors.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import type { StoredResource } from "../../src/store/store.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg`;
const record = (name: string, tag = "1"): StoredResource => ({
  id: `${GROUP}/providers/Microsoft.ContainerService/managedClusters/${name}`,
  type: "Microsoft.ContainerService/managedClusters",
  parentKey: GROUP.toLowerCase(),
  subscriptionId: SUB,
  body: { name, tags: { tag } },
  etag: "",
});

const dirs: string[] = [];
const stores: SqliteStore[] = [];
function open(dir = mkdtempSync(join(tmpdir(), "aks-group-commit-"))): SqliteStore {
  if (!dirs.includes(dir)) dirs.push(dir);
  const store = new SqliteStore(join(dir, "aks-emulator.db"));
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const store of stores.splice(0)) {
    try {
      store.close();
    } catch {
      // closed by the test
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Makes the store's next COMMIT fail as a full disk does (SQLite then still holds the open transaction, which the store rolls back). */
function failNextCommit(store: SqliteStore): void {
  const control = (store as unknown as { control: { commit: { run(): unknown } } }).control;
  const commit = control.commit;
  control.commit = {
    run() {
      control.commit = commit;
      throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    },
  };
}

describe("group commit (sqlite store)", () => {
  it("commits the transactions of a turn together, after they returned; durable() settles then, and a restart finds them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aks-group-commit-"));
    const store = open(dir);
    const events: string[] = [];
    const hooks = (name: string) => ({ committed: () => events.push(`${name} committed`), failed: () => events.push(`${name} failed`) });
    store.deferCommits(() => store.transaction(() => store.put(record("a")), hooks("a")));
    store.deferCommits(() => store.transaction(() => store.put(record("b")), hooks("b")));
    expect(store.get<any>(record("a").id)?.body.tags).toEqual({ tag: "1" }); // seen at once
    expect(events).toEqual([]);
    const durable = store.durable();
    expect(durable).toBeInstanceOf(Promise);
    await durable;
    expect(events).toEqual(["a committed", "b committed"]);
    expect(store.durable()).toBeUndefined();
    store.close();
    const again = open(dir);
    expect(again.children<any>(GROUP).map((r) => r.body.name)).toEqual(["a", "b"]);
  });

  it("a transaction outside deferCommits commits the open batch with it", () => {
    const store = open();
    store.deferCommits(() => store.transaction(() => store.put(record("a"))));
    expect(store.durable()).toBeDefined();
    store.transaction(() => store.put(record("b")));
    expect(store.durable()).toBeUndefined();
  });

  it("a refused transaction in a batch undoes only its own changes", async () => {
    const store = open();
    store.deferCommits(() => store.transaction(() => store.put(record("a"))));
    expect(() =>
      store.deferCommits(() =>
        store.transaction(() => {
          store.put(record("a", "2"));
          store.put(record("b"));
          throw new Error("refused");
        }),
      ),
    ).toThrow("refused");
    await store.durable();
    expect(store.get<any>(record("a").id)?.body.tags).toEqual({ tag: "1" });
    expect(store.get<any>(record("b").id)).toBeUndefined();
  });

  it("a commit that fails undoes every transaction of the batch, the last first, rejects durable() with 507, and the store goes on", async () => {
    const store = open();
    store.transaction(() => store.put(record("kept")));
    const events: string[] = [];
    const hooks = (name: string) => ({ committed: () => events.push(`${name} committed`), failed: () => events.push(`${name} failed`) });
    store.deferCommits(() => store.transaction(() => store.put(record("a")), hooks("a")));
    store.deferCommits(() => store.transaction(() => store.put(record("kept", "2")), hooks("b")));
    const durable = store.durable()!;
    failNextCommit(store);
    const refusal = await durable.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ArmError);
    expect(refusal).toMatchObject({ status: 507, code: "InsufficientStorage" });
    expect(events).toEqual(["b failed", "a failed"]);
    expect(store.get<any>(record("a").id)).toBeUndefined();
    expect(store.get<any>(record("kept").id)?.body.tags).toEqual({ tag: "1" });
    expect(store.children<any>(GROUP).map((r) => r.body.name)).toEqual(["kept"]);
    store.deferCommits(() => store.transaction(() => store.put(record("c"))));
    await store.durable();
    expect(store.children<any>(GROUP).map((r) => r.body.name)).toEqual(["kept", "c"]);
  });

  it("a transaction that commits the batch itself and fails throws 507, after the batch's failed hooks ran", () => {
    const store = open();
    const events: string[] = [];
    store.deferCommits(() => store.transaction(() => store.put(record("a")), { committed: () => events.push("a committed"), failed: () => events.push("a failed") }));
    failNextCommit(store);
    expect(() => store.transaction(() => store.put(record("b")), { committed: () => events.push("b committed"), failed: () => events.push("b failed") })).toThrow(ArmError);
    expect(events).toEqual(["b failed", "a failed"]);
    expect(store.get<any>(record("a").id)).toBeUndefined();
    expect(store.get<any>(record("b").id)).toBeUndefined();
  });
});
