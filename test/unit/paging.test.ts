// Paging below HTTP: the $skipToken names a list position (opaque, one spelling per position), a page
// resumes after the last item returned, and both stores read a page after a position the same way,
// whether or not the item at that position is still stored.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeSkipToken, encodeSkipToken, page, type PageRequest } from "../../src/arm/paging.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import { pageReader, type ResourceStore, type StoredResource } from "../../src/store/store.js";

const SUB = "00000000-0000-0000-0000-0000000000AA";
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg`;
const CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters";
const SNAPSHOT_TYPE = "Microsoft.ContainerService/snapshots";

const resource = (name: string, type = CLUSTER_TYPE): StoredResource => ({
  id: `${GROUP}/providers/${type}/${name}`,
  type,
  parentKey: GROUP.toLowerCase(),
  subscriptionId: SUB,
  body: { name },
  etag: "",
});
const names = (records: readonly StoredResource[]) => records.map((r) => r.body.name);
const request = (token?: string): PageRequest => ({
  query: { "api-version": "2026-06-01", ...(token === undefined ? {} : { $skipToken: token }) },
  baseUrl: "https://localhost:4566",
  path: "/subscriptions/x/things",
});
const tokenOf = (nextLink: string | undefined) => new URL(nextLink!).searchParams.get("$skipToken")!;

describe("the $skipToken", () => {
  it("names a position, opaquely, with one spelling per position", () => {
    for (const position of [0, 1, 99, 123_456_789, Number.MAX_SAFE_INTEGER]) {
      const token = encodeSkipToken(position);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(token).not.toContain(String(position));
      expect(decodeSkipToken(token)).toBe(position);
    }
    for (const bad of ["", "abc", "0", "cDE6", encodeSkipToken(5) + "A", Buffer.from("p1:05").toString("base64url"), Buffer.from("p1:5").toString("base64"), Buffer.from("p2:5").toString("base64url")]) {
      expect(decodeSkipToken(bad), bad).toBeUndefined();
    }
  });

  it("a page of a fixed list resumes after its last item; the old plain offsets still read", () => {
    const items = Array.from({ length: 7 }, (_, i) => `i${i}`);
    const first = page(request(), items, (x) => x, 3);
    expect(first.value).toEqual(["i0", "i1", "i2"]);
    expect(first.nextLink).toMatch(/^https:\/\/localhost:4566\/subscriptions\/x\/things\?api-version=2026-06-01&%24skipToken=/);
    const second = page(request(tokenOf(first.nextLink)), items, (x) => x, 3);
    expect(second.value).toEqual(["i3", "i4", "i5"]);
    expect(page(request(tokenOf(second.nextLink)), items, (x) => x, 3)).toEqual({ value: ["i6"] });
    expect(page(request("0"), items, (x) => x, 3).value).toEqual(["i0", "i1", "i2"]);
    expect(page(request("5"), items, (x) => x, 3)).toEqual({ value: ["i5", "i6"] });
    expect(() => page(request("abc"), items, (x) => x, 3)).toThrow(expect.objectContaining({ code: "InvalidSkipToken" }));
  });
});

const folders: string[] = [];
const open: ResourceStore[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const kinds: [string, () => ResourceStore][] = [
  ["memory", () => new MemoryStore()],
  [
    "sqlite",
    () => {
      const folder = mkdtempSync(join(tmpdir(), "aks-paging-store-"));
      folders.push(folder);
      return new SqliteStore(join(folder, "aks-emulator.db"));
    },
  ],
];

describe.each(kinds)("the %s store, read after a position", (_kind, make) => {
  const fresh = () => {
    const store = make();
    open.push(store);
    return store;
  };

  it("resumes after a position whether or not its item is still stored, and lists a re-created item last", () => {
    const store = fresh();
    for (let i = 0; i < 10; i++) store.put(resource(`c${i}`));
    store.put(resource("s0", SNAPSHOT_TYPE)); // another type under the same parent
    const positions = names(store.children(GROUP, CLUSTER_TYPE)).map((name) => store.position(resource(name).id)!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(10);

    store.delete(resource("c3").id);
    store.delete(resource("c4").id);
    expect(store.position(resource("c3").id)).toBeUndefined();
    // After c3's position, though c3 is gone: c5 on.
    expect(names(store.children(GROUP, CLUSTER_TYPE, { after: positions[3], limit: 3 }))).toEqual(["c5", "c6", "c7"]);
    expect(names(store.listByType(SUB, CLUSTER_TYPE, { after: positions[3], limit: 3 }))).toEqual(["c5", "c6", "c7"]);
    expect(names(store.children(GROUP, undefined, { after: positions[9], limit: 5 }))).toEqual(["s0"]);
    // An update keeps its place; an item created again stands last.
    store.put({ ...resource("c5"), etag: "changed" });
    store.put(resource("c3"));
    expect(store.position(resource("c5").id)).toBe(positions[5]);
    expect(names(store.children(GROUP, CLUSTER_TYPE, { after: positions[2], limit: 100 }))).toEqual(["c5", "c6", "c7", "c8", "c9", "c3"]);
    expect(names(store.listByType(SUB.toLowerCase(), CLUSTER_TYPE.toUpperCase(), { after: positions[8], limit: 100 }))).toEqual(["c9", "c3"]);
  });

  it("a rolled-back delete puts the item back where it stood", () => {
    const store = fresh();
    for (const name of ["a", "b", "c"]) store.put(resource(name));
    const before = store.position(resource("b").id);
    expect(() =>
      store.transaction(() => {
        store.delete(resource("b").id);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.position(resource("b").id)).toBe(before);
    expect(names(store.children(GROUP, CLUSTER_TYPE))).toEqual(["a", "b", "c"]);
    expect(names(store.children(GROUP, CLUSTER_TYPE, { after: store.position(resource("a").id), limit: 1 }))).toEqual(["b"]);
  });

  it("pages a long list, with deletions between pages, listing each item that stayed once", () => {
    const store = fresh();
    for (let i = 0; i < 250; i++) store.put(resource(`c${String(i).padStart(3, "0")}`));
    const reader = pageReader(store, (range) => store.children(GROUP, CLUSTER_TYPE, range));
    const listed: string[] = [];
    let answer = page(request(), reader, (r) => r.body.name as string);
    listed.push(...answer.value);
    // The case: delete five of page 1, its last one among them, then follow.
    for (const name of [answer.value[0], answer.value[7], answer.value[50], answer.value[98], answer.value[99]]) store.delete(resource(name).id);
    while (answer.nextLink) {
      answer = page(request(tokenOf(answer.nextLink)), reader, (r) => r.body.name as string);
      listed.push(...answer.value);
    }
    expect(listed).toEqual(Array.from({ length: 250 }, (_, i) => `c${String(i).padStart(3, "0")}`));
  });
});
