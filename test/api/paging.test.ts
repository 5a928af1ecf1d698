// ARM list paging: a nextLink's $skipToken is an opaque continuation token naming the position of the
// last item returned, so following nextLinks lists every resource that existed the whole time exactly
// once, whatever is deleted or created between pages; on the memory store and on a data folder
// (SQLite), where a token also outlives a restart.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_SUBSCRIPTION, type TestEmulator } from "../support/emulator.js";

const AKS = "2026-06-01";
const RG_VERSION = "2023-07-01";
const SUB = `/subscriptions/${TEST_SUBSCRIPTION}`;
const rgPath = (rg: string) => `${SUB}/resourceGroups/${rg}`;
const clustersIn = (rg: string) => `${rgPath(rg)}/providers/Microsoft.ContainerService/managedClusters`;
const clusterPath = (rg: string, name: string) => `${clustersIn(rg)}/${name}`;
const clustersInSubscription = `${SUB}/providers/Microsoft.ContainerService/managedClusters`;

const clusterBody = {
  location: "eastus",
  properties: { dnsPrefix: "paging", agentPoolProfiles: [{ name: "nodepool1", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] },
};

/** The bearer token each emulator's own token endpoint issued, by base URL: sent as a client sends it. */
const tokens = new Map<string, string>();

async function started(emu: TestEmulator): Promise<string> {
  const token = await emu.credential.getToken("https://management.azure.com/.default");
  tokens.set(emu.url, token!.token);
  return emu.url;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens.get(base)}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(new URL(path, base), init);
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function ok(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const answer = await call(base, method, path, body);
  expect(answer.status, JSON.stringify(answer.json)).toBeLessThan(300);
  return answer.json;
}

/** Creates the clusters, one after another (lists are in creation order). */
async function createClusters(base: string, rg: string, names: string[]): Promise<void> {
  for (const name of names) await ok(base, "PUT", `${clusterPath(rg, name)}?api-version=${AKS}`, clusterBody);
}

const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

/** A nextLink as a path and query on whichever emulator follows it. */
const pathOf = (link: string) => {
  const url = new URL(link);
  return url.pathname + url.search;
};

/** Follows nextLinks from a page to the end: the names of every item listed, in order. */
async function follow(base: string, first: any, between?: (pageNumber: number) => Promise<void>): Promise<string[]> {
  const names: string[] = first.value.map((c: any) => c.name);
  let page = first;
  for (let n = 1; page.nextLink; n++) {
    await between?.(n);
    page = await ok(base, "GET", pathOf(page.nextLink));
    names.push(...page.value.map((c: any) => c.name));
  }
  return names;
}

const countOf = (names: string[]) => {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
};

/** Every name in `stayed` listed exactly once; nothing listed twice. */
function expectEachOnce(listed: string[], stayed: string[]): void {
  const counts = countOf(listed);
  expect(stayed.filter((name) => counts.get(name) !== 1)).toEqual([]);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
}

const kinds: [string, boolean][] = [
  ["the memory store", false],
  ["a data folder (SQLite)", true],
];

describe.each(kinds)("paging on %s", (_kind, onDisk) => {
  let emu: TestEmulator;
  let dataDir: string | undefined;
  let base: string;

  beforeAll(async () => {
    dataDir = onDisk ? mkdtempSync(join(tmpdir(), "aks-paging-")) : undefined;
    emu = await startTestEmulator({ dataDir });
    base = await started(emu);
  });
  afterAll(async () => {
    await emu?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(emu.violations.splice(0)).toEqual([]);
  });

  it("deleting from page 1 skips none of the clusters that stayed (the issue's case)", async () => {
    const rg = "paging-deletes";
    await ok(base, "PUT", `${rgPath(rg)}?api-version=${RG_VERSION}`, { location: "eastus" });
    const all = range("d", 110);
    await createClusters(base, rg, all);

    const first = await ok(base, "GET", `${clustersIn(rg)}?api-version=${AKS}`);
    expect(first.value).toHaveLength(100);
    expect(first.nextLink).toBeTruthy();
    const firstNames: string[] = first.value.map((c: any) => c.name);
    expect(firstNames).toEqual(all.slice(0, 100)); // creation order
    // Five of page 1, the last one returned among them.
    const deleted = [firstNames[0], firstNames[10], firstNames[50], firstNames[98], firstNames[99]];
    for (const name of deleted) expect((await call(base, "DELETE", `${clusterPath(rg, name)}?api-version=${AKS}`)).status).toBeLessThan(300);

    const listed = await follow(base, first);
    expectEachOnce(listed, all.filter((name) => !deleted.includes(name)));
    expect(listed.slice(100)).toEqual(all.slice(100)); // page 2: the 10 that were after page 1, none of page 1 again
  });

  it("creating and deleting between pages skips and repeats none of the clusters that stayed, in the subscription list too", async () => {
    const rg = "paging-churn";
    await ok(base, "PUT", `${rgPath(rg)}?api-version=${RG_VERSION}`, { location: "eastus" });
    const old = range("o", 230);
    await createClusters(base, rg, old);
    const deleted: string[] = [];
    let created = 0;
    const churn = async (pageNumber: number) => {
      // New clusters (may or may not be listed), and deletions behind and ahead of where the list is.
      await createClusters(base, rg, range(`n${pageNumber}-`, 7));
      created += 7;
      for (const name of [old[pageNumber * 100 - 3], old[pageNumber * 100 + 20]]) {
        if (!name || deleted.includes(name)) continue;
        await ok(base, "DELETE", `${clusterPath(rg, name)}?api-version=${AKS}`);
        deleted.push(name);
      }
    };

    const listed = await follow(base, await ok(base, "GET", `${clustersIn(rg)}?api-version=${AKS}`), churn);
    const stayed = old.filter((name) => !deleted.includes(name));
    expectEachOnce(listed, stayed);
    expect(listed.filter((name) => old.includes(name))).toEqual(old.filter((name) => listed.includes(name))); // in creation order
    expect(created).toBeGreaterThan(0);

    // The subscription's list, which holds the other test's clusters too, pages the same way.
    const bySubscription = await follow(base, await ok(base, "GET", `${clustersInSubscription}?api-version=${AKS}`), async (n) => {
      if (n === 1) await ok(base, "DELETE", `${clusterPath(rg, stayed[0])}?api-version=${AKS}`);
    });
    expectEachOnce(bySubscription, stayed.slice(1));
  });

  it("a nextLink is absolute on the host the client used and keeps the request's api-version and query", async () => {
    const rg = "paging-deletes";
    for (const host of ["localhost", "127.0.0.1"]) {
      const url = new URL(emu.httpUrl);
      url.hostname = host;
      const first = await ok(url.origin, "GET", `${clustersIn(rg)}?api-version=${AKS}&extra=kept`);
      const next = new URL(first.nextLink);
      expect(next.origin).toBe(url.origin);
      expect(next.pathname).toBe(clustersIn(rg));
      expect(next.searchParams.get("api-version")).toBe(AKS);
      expect(next.searchParams.get("extra")).toBe("kept");
      // Opaque: no offset, no id in clear.
      const token = next.searchParams.get("$skipToken")!;
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(token).not.toMatch(/^\d+$/);
      const older = await ok(url.origin, "GET", `${clustersIn(rg)}?api-version=2025-10-01`);
      expect(new URL(older.nextLink).searchParams.get("api-version")).toBe("2025-10-01");
    }
  });

  it("a token this emulator did not make: 400 InvalidSkipToken", async () => {
    const first = await ok(base, "GET", `${clustersIn("paging-deletes")}?api-version=${AKS}`);
    const token = new URL(first.nextLink).searchParams.get("$skipToken")!;
    for (const bad of ["abc", `${token}x`, Buffer.from("p1:-1").toString("base64url"), Buffer.from("p1:01").toString("base64url"), "%2Fsubscriptions"]) {
      const answer = await call(base, "GET", `${clustersIn("paging-deletes")}?api-version=${AKS}&$skipToken=${bad}`);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("InvalidSkipToken");
    }
  });

  it("pages resource groups, pools and child resources after the last item too", async () => {
    // Resource groups: 105 more, then page 1, delete one of it, follow.
    const groups = range("zz-group-", 105);
    for (let i = 0; i < groups.length; i += 15) {
      await Promise.all(groups.slice(i, i + 15).map((g) => ok(base, "PUT", `${rgPath(g)}?api-version=${RG_VERSION}`, { location: "eastus" })));
    }
    const firstGroups = await ok(base, "GET", `${SUB}/resourcegroups?api-version=${RG_VERSION}`);
    expect(firstGroups.nextLink).toBeTruthy();
    const gone = firstGroups.value.map((g: any) => g.name).find((name: string) => groups.includes(name))!;
    await ok(base, "DELETE", `${rgPath(gone)}?api-version=${RG_VERSION}`);
    const listedGroups = await follow(base, firstGroups);
    expectEachOnce(listedGroups, groups.filter((g) => g !== gone));

    // Snapshots of one group (a child resource list), 103 of them.
    const cluster = clusterPath("paging-deletes", "d001");
    const pool = await ok(base, "GET", `${cluster}/agentPools/nodepool1?api-version=${AKS}`);
    const snapshots = range("snap", 103);
    const snapshotPath = (name: string) => `${rgPath("paging-deletes")}/providers/Microsoft.ContainerService/snapshots/${name}?api-version=${AKS}`;
    for (const name of snapshots) await ok(base, "PUT", snapshotPath(name), { location: "eastus", properties: { creationData: { sourceResourceId: pool.id } } });
    const remaining = [...snapshots];
    for (const list of [`${rgPath("paging-deletes")}/providers/Microsoft.ContainerService/snapshots`, `${SUB}/providers/Microsoft.ContainerService/snapshots`]) {
      const firstSnapshots = await ok(base, "GET", `${list}?api-version=${AKS}`);
      const pageOne: string[] = firstSnapshots.value.map((c: any) => c.name);
      expect(pageOne).toEqual(remaining.slice(0, 100));
      await ok(base, "DELETE", snapshotPath(pageOne[99]));
      // page 1 (its last one deleted since), then the ones after it
      expect(await follow(base, firstSnapshots)).toEqual([...pageOne, ...remaining.slice(100)]);
      remaining.splice(99, 1);
    }

    // Pools: one page (a cluster has few), listed in creation order.
    const pools = await ok(base, "GET", `${cluster}/agentPools?api-version=${AKS}`);
    expect(pools.value.map((p: any) => p.name)).toEqual(["nodepool1"]);
    expect(pools.nextLink).toBeUndefined();
  });

  it("pages a pool's machines after the last machine: DeleteMachines between pages skips none that stayed (Machines_List)", async () => {
    const rg = "paging-machines";
    await ok(base, "PUT", `${rgPath(rg)}?api-version=${RG_VERSION}`, { location: "eastus" });
    const cluster = clusterPath(rg, "big");
    await ok(base, "PUT", `${cluster}?api-version=${AKS}`, {
      location: "eastus",
      properties: { dnsPrefix: "machines", agentPoolProfiles: [{ name: "nodepool1", count: 120, vmSize: "Standard_DS2_v2", mode: "System" }] },
    });
    const machines = `${cluster}/agentPools/nodepool1/machines`;
    const deleteMachines = (machineNames: string[]) => ok(base, "POST", `${cluster}/agentPools/nodepool1/deleteMachines?api-version=${AKS}`, { machineNames });

    const first = await ok(base, "GET", `${machines}?api-version=${AKS}`);
    expect(first.value).toHaveLength(100);
    const pageOne: string[] = first.value.map((m: any) => m.name);
    const all = [...pageOne, ...(await follow(base, first)).slice(100)];
    expect(all).toHaveLength(120);
    const token = new URL(first.nextLink).searchParams.get("$skipToken")!;
    expect(token).not.toMatch(/^\d+$/); // opaque, not an index

    // Five machines of page 1, its last one among them, then one of page 2: the 19 left after page 1 all follow.
    const deleted = [pageOne[0], pageOne[7], pageOne[50], pageOne[98], pageOne[99]];
    await deleteMachines(deleted);
    const listed = await follow(base, first);
    expectEachOnce(listed, all.filter((name) => !deleted.includes(name)));
    expect(listed.slice(100)).toEqual(all.slice(100));
    // between pages again: a machine ahead of the list goes, the others stay in order
    const second = await ok(base, "GET", `${machines}?api-version=${AKS}`);
    const ahead: string = all[110];
    const resumed = await follow(base, second, async () => void (await deleteMachines([ahead])));
    const stayed = all.filter((name) => !deleted.includes(name) && name !== ahead);
    expect(resumed).toEqual(stayed);
    // the old plain offsets are still read, as on every other list
    expect((await ok(base, "GET", `${machines}?api-version=${AKS}&$skipToken=100`)).value.map((m: any) => m.name)).toEqual(stayed.slice(100));
  });

  // A token names a stored position (the row's seq), so it outlives the process.
  if (onDisk) {
    it("a nextLink from before a restart still resumes after its last item", async () => {
      const rg = "paging-deletes";
      const first = await ok(base, "GET", `${clustersIn(rg)}?api-version=${AKS}`);
      const expected = await follow(base, first);
      await emu.close();
      emu = await startTestEmulator({ dataDir });
      base = await started(emu);
      expect(await follow(base, first)).toEqual(expected);
    });
  }
});
