// A full disk under --data-dir (issue 12): a child emulator keeps its database on a small tmpfs, a
// filler file takes every free byte, and clients go on writing. Every write is then either a success
// whose effect is visible (and survives a restart) or ARM's 507 InsufficientStorage with no effect
// at all: the resources read exactly as before, nothing stays Creating/Stopping, no lock is left.
// Once the filler goes, every operation ever accepted reaches a terminal state, the same writes
// succeed, Abort works, and a restart on the same folder finds the same, settled state.
// A second case fills the disk between an operation's accept and its end (mocked work with a delay):
// the end is recorded once space returns, so the operation still ends.
//
// Needs root for `mount -t tmpfs` (CI runs as root). Without it the file is skipped with the reason
// printed, or fails under CI=true (a skip there would hide the failure).
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AKS_API,
  assertBuildIsCurrent,
  call,
  clusterBody,
  clusterPath,
  onBase,
  poolBody,
  poolPath,
  rgPath,
  sleep,
  startChild,
  SUBSCRIPTION,
  type Answer,
  type ChildEmulator,
} from "./childEmulator.js";

/** Room for the database and its WAL (a few hundred KiB here) with margin; small enough to fill at once. */
const TMPFS_SIZE = "16m";

function mountTmpfs(): { dir?: string; problem?: string } {
  const dir = mkdtempSync(join(tmpdir(), "aks-disk-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE}`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    return { problem: `cannot mount a tmpfs (needs root): ${stderr || (error as Error).message}` };
  }
}

const { dir: mountPoint, problem } = mountTmpfs();
if (problem && process.env.CI !== "true") console.warn(`test/durability/diskFull.test.ts skipped: ${problem}`);
// Under CI a refused mount fails the file.
if (problem && process.env.CI === "true") throw new Error(`CI=true and ${problem}`);

const FILLER = () => join(mountPoint!, "filler");

/** Takes every free byte of the tmpfs: big writes, then smaller ones, until each size meets ENOSPC. */
function fillDisk(): number {
  const fd = openSync(FILLER(), "a");
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      try {
        for (;;) written += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function freeDisk(): void {
  rmSync(FILLER(), { force: true });
}

const aks = (rg: string, rest: string) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${rest}${rest.includes("?") ? "&" : "?"}api-version=${AKS_API}`;
const maintenance = (rg: string, cluster: string, name = "") => aks(rg, `${cluster}/maintenanceConfigurations${name ? `/${name}` : ""}`);
const machines = (rg: string, cluster: string, pool: string) => aks(rg, `${cluster}/agentPools/${pool}/machines`);
const action = (rg: string, cluster: string, verb: string) => aks(rg, `${cluster}/${verb}`);
const poolAction = (rg: string, cluster: string, pool: string, verb: string) => aks(rg, `${cluster}/agentPools/${pool}/${verb}`);

const TERMINAL = ["Succeeded", "Failed", "Canceled"];

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Polls an Azure-AsyncOperation URL until its status is terminal; returns that status. */
async function settled(base: string, url: string, timeoutMs = 15_000): Promise<string> {
  return until(`operation ${url} to end`, async () => {
    const status = await call(base, "GET", onBase(base, url));
    expect(status.status, JSON.stringify(status.body)).toBe(200);
    return TERMINAL.includes(status.body.status) ? (status.body.status as string) : undefined;
  }, timeoutMs);
}

/** ARM's error envelope: {"error": {"code", "message"}} and nothing else at the top. */
function expectArmError(answer: Answer, label: string): void {
  expect(Object.keys(answer.body ?? {}), `${label}: ${answer.status} ${JSON.stringify(answer.body)}`).toEqual(["error"]);
  expect(answer.body.error.code, label).toMatch(/^[A-Z][A-Za-z]+$/);
  expect(typeof answer.body.error.message, label).toBe("string");
}

function expectDiskFull(answer: Answer, label: string): void {
  expectArmError(answer, label);
  expect({ status: answer.status, code: answer.body.error.code }, `${label}: ${JSON.stringify(answer.body)}`).toEqual({ status: 507, code: "InsufficientStorage" });
}

/** Every provisioningState found in a state snapshot (bodies and list items). */
function provisioningStates(state: Record<string, Answer["body"]>): string[] {
  const found: string[] = [];
  const walk = (value: any) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      if (typeof value.provisioningState === "string") found.push(value.provisioningState);
      Object.values(value).forEach(walk);
    }
  };
  walk(state);
  return found;
}

describe.skipIf(problem !== undefined)("durability: a full disk under --data-dir", () => {
  let emu: ChildEmulator | undefined;
  const dataDir = (name: string) => join(mountPoint!, name);

  beforeAll(() => assertBuildIsCurrent());
  afterEach(freeDisk); // a failed test leaves no filler to the next one
  afterAll(async () => {
    await emu?.stop("SIGKILL");
    if (mountPoint) {
      try {
        execFileSync("umount", [mountPoint], { stdio: "pipe" });
      } catch (error) {
        // busy: the lazy form detaches it now and frees it when the last user goes
        execFileSync("umount", ["-l", mountPoint], { stdio: "pipe" });
      }
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it("answers each write with its effect or with 507 and no effect; once space returns every operation ends, writes succeed, a restart agrees", async () => {
    const RG = "full";
    const DOOMED = "doomed";
    const dir = dataDir("instant");
    emu = await startChild({ dataDir: dir });
    let base = emu.url;

    // ---- the world before the disk fills --------------------------------------------------------
    const must = async (method: string, path: string, body?: unknown) => {
      const answer = await call(base, method, path, body);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
      const url = answer.headers.get("azure-asyncoperation");
      if (url) expect(await settled(base, url)).toBe("Succeeded");
      return answer;
    };
    await must("PUT", rgPath(RG), { location: "eastus" });
    await must("PUT", rgPath(DOOMED), { location: "eastus" });
    for (const name of ["c1", "c2", "c4", "c5"]) await must("PUT", clusterPath(RG, name), clusterBody({ v: "1" }));
    await must("PUT", clusterPath(DOOMED, "c3"), clusterBody());
    await must("PUT", poolPath(RG, "c1", "work"), { properties: { count: 3, vmSize: "Standard_DS2_v2", mode: "User" } });
    await must("PUT", poolPath(RG, "c1", "spare"), poolBody());
    await must("PUT", maintenance(RG, "c1", "default"), { properties: { timeInWeek: [{ day: "Monday", hourSlots: [1, 2] }] } });
    await must("PUT", maintenance(RG, "c1", "aksManagedNodeOSUpgradeSchedule"), { properties: { maintenanceWindow: { schedule: { daily: { intervalDays: 2 } }, durationHours: 4, startTime: "00:00" } } });
    await must("POST", action(RG, "c4", "stop"));
    const firstMachine: string = (await call(base, "GET", machines(RG, "c1", "work"))).body.value[0].name;

    /** What a client can see of everything the writes below touch. */
    const readState = async (): Promise<Record<string, any>> => {
      const reads: Record<string, string> = {
        rgFull: rgPath(RG),
        rgDoomed: rgPath(DOOMED),
        rgFresh: rgPath("fresh"),
        c1: clusterPath(RG, "c1"),
        c2: clusterPath(RG, "c2"),
        c3: clusterPath(DOOMED, "c3"),
        c4: clusterPath(RG, "c4"),
        c5: clusterPath(RG, "c5"),
        c9: clusterPath(RG, "c9"),
        pools: aks(RG, "c1/agentPools"),
        machines: machines(RG, "c1", "work"),
        maintenance: maintenance(RG, "c1"),
      };
      const state: Record<string, any> = {};
      for (const [key, path] of Object.entries(reads)) {
        const answer = await call(base, "GET", path);
        expect([200, 404], `GET ${path}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
        state[key] = answer.status === 404 ? 404 : answer.body;
      }
      return state;
    };

    interface Write {
      label: string;
      method: string;
      path: string;
      body?: unknown;
      /** The effect a success must have left, read from a state snapshot. */
      effect: (state: Record<string, any>) => boolean;
    }
    const poolNamed = (state: Record<string, any>, name: string) => state.pools.value.find((p: any) => p.name === name);
    const writes: Write[] = [
      { label: "cluster create", method: "PUT", path: clusterPath(RG, "c9"), body: clusterBody({ v: "9" }), effect: (s) => s.c9?.tags?.v === "9" },
      { label: "cluster update", method: "PUT", path: clusterPath(RG, "c1"), body: clusterBody({ v: "2" }), effect: (s) => s.c1.tags.v === "2" },
      { label: "cluster PATCH tags", method: "PATCH", path: clusterPath(RG, "c2"), body: { tags: { patched: "yes" } }, effect: (s) => s.c2 === 404 || s.c2.tags.patched === "yes" },
      { label: "Stop", method: "POST", path: action(RG, "c5", "stop"), effect: (s) => s.c5.properties.powerState.code === "Stopped" },
      { label: "Start", method: "POST", path: action(RG, "c4", "start"), effect: (s) => s.c4.properties.powerState.code === "Running" },
      { label: "pool PUT (scale)", method: "PUT", path: poolPath(RG, "c1", "work"), body: { properties: { count: 4, vmSize: "Standard_DS2_v2", mode: "User" } }, effect: (s) => poolNamed(s, "work")?.properties.count >= 3 && s.machines.value.length === poolNamed(s, "work")?.properties.count },
      { label: "pool PUT (create)", method: "PUT", path: poolPath(RG, "c1", "extra"), body: poolBody({ p: "x" }), effect: (s) => poolNamed(s, "extra") !== undefined },
      { label: "DeleteMachines", method: "POST", path: poolAction(RG, "c1", "work", "deleteMachines"), body: { machineNames: [firstMachine] }, effect: (s) => !s.machines.value.some((m: any) => m.name === firstMachine) },
      { label: "UpgradeNodeImageVersion", method: "POST", path: poolAction(RG, "c1", "work", "upgradeNodeImageVersion"), effect: (s) => poolNamed(s, "work")?.properties.provisioningState === "Succeeded" },
      {
        label: "child PUT (create)",
        method: "PUT",
        path: maintenance(RG, "c1", "aksManagedAutoUpgradeSchedule"),
        body: { properties: { maintenanceWindow: { schedule: { weekly: { intervalWeeks: 1, dayOfWeek: "Sunday" } }, durationHours: 4, startTime: "00:00" } } },
        effect: (s) => s.maintenance.value.some((m: any) => m.name === "aksManagedAutoUpgradeSchedule"),
      },
      {
        label: "child PUT (update)",
        method: "PUT",
        path: maintenance(RG, "c1", "default"),
        body: { properties: { timeInWeek: [{ day: "Friday", hourSlots: [3] }] } },
        effect: (s) => s.maintenance.value.some((m: any) => m.name === "default" && m.properties.timeInWeek[0].day === "Friday"),
      },
      { label: "child DELETE", method: "DELETE", path: maintenance(RG, "c1", "aksManagedNodeOSUpgradeSchedule"), effect: (s) => !s.maintenance.value.some((m: any) => m.name === "aksManagedNodeOSUpgradeSchedule") },
      { label: "pool DELETE", method: "DELETE", path: poolPath(RG, "c1", "spare"), effect: (s) => poolNamed(s, "spare") === undefined },
      { label: "cluster DELETE", method: "DELETE", path: clusterPath(RG, "c2"), effect: (s) => s.c2 === 404 },
      { label: "resource group DELETE", method: "DELETE", path: rgPath(DOOMED), effect: (s) => s.rgDoomed === 404 && s.c3 === 404 },
      { label: "resource group PUT", method: "PUT", path: rgPath("fresh"), body: { location: "eastus" }, effect: (s) => s.rgFresh !== 404 },
    ];

    /** Operations accepted (an Azure-AsyncOperation URL was answered), all of which must end. */
    const accepted: { label: string; url: string }[] = [];
    const done = new Set<string>();
    const figures = { refused: 0, succeeded: 0 };

    // ---- the disk fills ------------------------------------------------------------------------------
    const filled = fillDisk();
    let before = await readState(); // reads still work on a full disk
    for (const write of writes) {
      const answer = await call(base, write.method, write.path, write.body);
      const label = `${write.label} on a full disk`;
      if (answer.status < 300) {
        // The store found room (e.g. in its WAL): then it is a success, visible like any other.
        figures.succeeded++;
        done.add(write.label);
        const url = answer.headers.get("azure-asyncoperation");
        if (url) accepted.push({ label, url });
        const after = await readState();
        expect(write.effect(after), `${label} answered ${answer.status}, its effect is missing: ${JSON.stringify(after)}`).toBe(true);
        before = after;
      } else {
        figures.refused++;
        expectDiskFull(answer, label);
        expect(await readState(), `${label} answered ${answer.status} and changed something`).toEqual(before);
      }
    }
    // Nothing reads in progress, and the process still answers.
    expect(provisioningStates(before).filter((s) => !TERMINAL.includes(s))).toEqual([]);
    console.info(`disk full (${filled} bytes of filler): ${figures.refused} writes refused with 507, ${figures.succeeded} succeeded`);
    expect(figures.refused).toBeGreaterThan(writes.length / 2);

    // ---- space returns ---------------------------------------------------------------------------------
    freeDisk();
    for (const { label, url } of accepted) expect(TERMINAL, label).toContain(await settled(base, url));
    for (const write of writes) {
      if (done.has(write.label)) continue;
      const answer = await call(base, write.method, write.path, write.body);
      expect(answer.status, `${write.label} once space returned: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
      const url = answer.headers.get("azure-asyncoperation");
      if (url) {
        accepted.push({ label: write.label, url });
        expect(await settled(base, url), write.label).toBe("Succeeded");
      }
      done.add(write.label);
    }
    const final = await readState();
    for (const write of writes) expect(write.effect(final), `${write.label}: effect after space returned`).toBe(true);
    expect(provisioningStates(final).filter((s) => s !== "Succeeded")).toEqual([]);
    // Abort works again: nothing runs, so it is AKS's 409 refusal (not a 507, not a 500).
    const abort = await call(base, "POST", action(RG, "c1", "abort"));
    expectArmError(abort, "abort with nothing running");
    expect({ status: abort.status, code: abort.body.error.code }).toEqual({ status: 409, code: "OperationNotAllowed" });

    // ---- a restart on the same folder finds the same state -----------------------------------------------
    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    emu = await startChild({ dataDir: dir });
    base = emu.url;
    expect(await readState()).toEqual(final);
    for (const { label, url } of accepted) expect(TERMINAL, `${label} after a restart`).toContain(await settled(base, url));
    expect(emu.output()).not.toMatch(/recovered operation|settled \//);
    await emu.stop("SIGTERM");
    emu = undefined;
  }, 120_000);

  it("ends an operation whose end finds the disk full: it is recorded once space returns, and Abort works again", async () => {
    const RG = "slow";
    const DELAY_MS = 1500;
    const dir = dataDir("delayed");
    emu = await startChild({ dataDir: dir, delayMs: DELAY_MS });
    let base = emu.url;
    const accept = async (method: string, path: string, body?: unknown): Promise<string> => {
      const answer = await call(base, method, path, body);
      expect([200, 201, 202], `${method} ${path}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      const url = answer.headers.get("azure-asyncoperation");
      expect(url).toBeTruthy();
      return url!;
    };
    await call(base, "PUT", rgPath(RG), { location: "eastus" });
    for (const name of ["base", "power"]) expect(await settled(base, await accept("PUT", clusterPath(RG, name), clusterBody()))).toBe("Succeeded");

    // Accepted while there is room; the disk fills before their work ends.
    const creating = await accept("PUT", clusterPath(RG, "late"), clusterBody({ v: "late" }));
    const scaling = await accept("PUT", poolPath(RG, "base", "work"), poolBody({ v: "1" }));
    const stopping = await accept("POST", action(RG, "power", "stop"));
    fillDisk();
    await sleep(DELAY_MS + 1000); // every work has ended by now; its end cannot be written

    // Meanwhile: writes and Abort are refused cleanly (409 while the operation holds its resource, or 507).
    const write = await call(base, "PATCH", clusterPath(RG, "late"), { tags: { meanwhile: "x" } });
    expectArmError(write, "a write to a resource whose operation cannot end yet");
    expect([409, 507]).toContain(write.status);
    const abort = await call(base, "POST", action(RG, "late", "abort"));
    expectArmError(abort, "Abort on a full disk");
    expect([409, 507]).toContain(abort.status);
    const late = await call(base, "GET", clusterPath(RG, "late"));
    expect(late.body.tags).toEqual({ v: "late" });

    // Space returns: every operation ends without a restart, and what it did is visible.
    freeDisk();
    expect(await settled(base, creating)).toBe("Succeeded");
    expect(await settled(base, scaling)).toBe("Succeeded");
    expect(await settled(base, stopping)).toBe("Succeeded");
    expect((await call(base, "GET", clusterPath(RG, "power"))).body.properties).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Stopped" } });
    expect((await call(base, "GET", clusterPath(RG, "late"))).body.properties.provisioningState).toBe("Succeeded");
    expect((await call(base, "GET", poolPath(RG, "base", "work"))).body.properties.provisioningState).toBe("Succeeded");
    expect(emu.output()).toMatch(/could not be recorded as ended/);

    // Later writes succeed, and Abort cancels a running operation.
    const update = await accept("PUT", clusterPath(RG, "late"), clusterBody({ v: "after" }));
    const aborted = await call(base, "POST", action(RG, "late", "abort"));
    expect(aborted.status, JSON.stringify(aborted.body)).toBe(204);
    expect(await settled(base, update)).toBe("Canceled");
    expect(await settled(base, await accept("PUT", clusterPath(RG, "late"), clusterBody({ v: "again" })))).toBe("Succeeded");

    // A restart finds nothing in progress and nothing to recover.
    expect(await emu.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    emu = await startChild({ dataDir: dir, delayMs: DELAY_MS });
    base = emu.url;
    for (const url of [creating, scaling, stopping, update]) expect(TERMINAL).toContain(await settled(base, url, 2000));
    for (const name of ["base", "late"]) {
      const cluster = await call(base, "GET", clusterPath(RG, name));
      expect(cluster.body.properties.provisioningState, name).toBe("Succeeded");
    }
    expect(emu.output()).not.toMatch(/recovered operation/);
    await emu.stop("SIGTERM");
    emu = undefined;
  }, 120_000);
});
