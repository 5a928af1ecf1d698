// Growth under a stream of requests: finished operation records expire (ARM keeps an operation's
// status for a bounded time), so 5,000 PATCHes keep a bounded number of them in either store, and a
// poll of an expired one answers as an unknown operation id does; a RunCommand's result keeps at most
// a bounded part of its logs; the SQLite file stays flat. Time passes through an injected clock.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { COMMAND_LOGS_MAX_BYTES } from "../../src/engine/lifecycle.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { SqliteStore } from "../../src/store/sqliteStore.js";
import type { ResourceStore } from "../../src/store/store.js";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster } from "../support/sdk.js";

const V = "2026-06-01";
const RG = "growth";
const MINUTE = 60_000;

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A clock the test moves on. */
function manualClock() {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

async function emulatorWith(store: ResourceStore, clock: { now(): Date }, overrides = {}): Promise<{ emu: TestEmulator; arm: ArmHttp; headers: Record<string, string> }> {
  const emu = await startTestEmulator(overrides, { store, clock });
  const arm = new ArmHttp(emu);
  await arm.createResourceGroup(RG);
  const created = await arm.call("PUT", `${clusterPath(RG, "grower")}?api-version=${V}`, minimalCluster());
  expect([200, 201]).toContain(created.status);
  return { emu, arm, headers: await arm.headers() };
}

/** One PATCH of the cluster's tags over plain HTTP (quicker than the SDK): its Azure-AsyncOperation URL, if any. */
async function patchTags(emu: TestEmulator, headers: Record<string, string>, i: number): Promise<string | null> {
  const response = await fetch(`${emu.httpUrl}${clusterPath(RG, "grower")}?api-version=${V}`, { method: "PATCH", headers, body: JSON.stringify({ tags: { n: String(i) } }) });
  await response.arrayBuffer();
  expect(response.status).toBeLessThan(300);
  return response.headers.get("azure-asyncoperation");
}

const stores: [string, () => ResourceStore][] = [
  ["memory", () => new MemoryStore()],
  [
    "sqlite",
    () => {
      const folder = mkdtempSync(path.join(tmpdir(), "aks-growth-"));
      folders.push(folder);
      return new SqliteStore(path.join(folder, "state.db"));
    },
  ],
];

describe.each(stores)("operation records in the %s store", (_kind, makeStore) => {
  it("stay bounded over 5,000 PATCHes as finished ones expire; an expired one polls as an unknown id does", async () => {
    const store = makeStore();
    const clock = manualClock();
    const { emu, arm, headers } = await emulatorWith(store, clock);
    try {
      const firstStatus = await patchTags(emu, headers, 0);
      const sizes: number[] = [];
      let largest = 0;
      for (let i = 1; i <= 5000; i++) {
        clock.advance(MINUTE); // an hour's retention: about sixty finished ones stand at any time
        await patchTags(emu, headers, i);
        largest = Math.max(largest, store.operationCount());
        if (store instanceof SqliteStore && (i === 1000 || i === 5000)) sizes.push(fileSize(store.file));
      }
      expect(largest).toBeLessThan(100);
      expect(store.operationCount()).toBeLessThan(100);
      const cluster = await arm.call("GET", `${clusterPath(RG, "grower")}?api-version=${V}`);
      expect(cluster.body.tags).toEqual({ n: "5000" });
      expect(cluster.body.properties.provisioningState).toBe("Succeeded");

      expect(firstStatus).toMatch(/\/operations\//i);
      if (firstStatus) {
        // expired: the answer an operation id never issued gets
        const expired = await arm.call("GET", firstStatus);
        const unknown = await arm.call("GET", firstStatus.replace(/operations\/[^/?]+/i, "operations/00000000-1111-2222-3333-444444444444"));
        expect(unknown.status).toBe(404);
        expect({ status: expired.status, code: expired.body?.error?.code }).toEqual({ status: unknown.status, code: unknown.body?.error?.code });
        // the newest still answers
        const newest = await patchTags(emu, headers, 5001);
        expect((await arm.call("GET", newest!)).body.status).toBe("Succeeded");
      }
      if (sizes.length === 2) {
        // the file does not grow with the number of PATCHes: deleted rows' pages are reused
        expect(sizes[1]).toBeLessThanOrEqual(sizes[0] * 1.5 + 256 * 1024);
      }
      expect(emu.violations).toEqual([]);
    } finally {
      await emu.close();
    }
  }, 120_000);
});

function fileSize(file: string): number {
  const size = (name: string) => {
    try {
      return statSync(name).size;
    } catch {
      return 0;
    }
  };
  return size(file) + size(`${file}-wal`);
}

describe("a RunCommand's result", () => {
  it("keeps at most a bounded part of a 3 MB command's echoed logs", async () => {
    const store = new MemoryStore();
    const { emu, arm } = await emulatorWith(store, manualClock(), { maxBodyBytes: 8 * 1024 * 1024 });
    try {
      const command = `echo ${"x".repeat(3 * 1024 * 1024)}`;
      const post = await arm.call("POST", `${clusterPath(RG, "grower")}/runCommand?api-version=${V}`, { command });
      expect(post.status).toBe(202);
      const location = post.headers.get("location")!;
      const commandId = /commandResults\/(\w*)\?/.exec(location)![1];
      const done = await arm.pollLocation(location);
      expect(done.status).toBe(200);
      const logs: string = done.body.properties.logs;
      expect(logs.startsWith("mocked: echo xxx")).toBe(true);
      expect(Buffer.byteLength(logs)).toBeGreaterThan(COMMAND_LOGS_MAX_BYTES / 2);
      expect(Buffer.byteLength(logs)).toBeLessThan(COMMAND_LOGS_MAX_BYTES + 200);
      expect(logs).toMatch(/\[output truncated: \d+ more bytes not kept\]$/);
      // what is stored is that bounded result, not the command
      expect(JSON.stringify(store.getOperation(commandId)).length).toBeLessThan(COMMAND_LOGS_MAX_BYTES + 4096);
    } finally {
      await emu.close();
    }
  }, 60_000);
});
