// Crash durability: an emulator process on a data folder takes a stream of creates and deletes from
// several parallel clients and is killed with SIGKILL at random points, then started again on the
// same folder. After every restart, what the clients saw acknowledged must be there (and what they
// saw deleted must be gone), nothing may exist that no client asked for, and nothing may be left in
// progress: every acknowledged operation reads Succeeded, every resource provisioningState Succeeded.
//
// Each client owns one resource group and its clusters and pools, and sends one request at a time,
// so the order of its requests is the order the emulator applied them. A request with no answer
// (in flight at the kill) may or may not have taken effect: the model keeps both possibilities
// until an answer or an observation decides. Every other kill lands as a client starts a write (so
// some writes are cut off in flight); the others at a random moment. A restart may itself be killed
// while it settles the interrupted operations, to check the settling can be interrupted and redone.
//
// AKS_DURABILITY_SEED=<n> makes a run's random choices again (the timing of a run still varies);
// the seed is printed first.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertBuildIsCurrent,
  call,
  clusterBody,
  clusterPath,
  listAll,
  onBase,
  poolBody,
  poolPath,
  poolsPath,
  rgPath,
  sleep,
  startChild,
  SUBSCRIPTION,
  type ChildEmulator,
} from "./childEmulator.js";

const CLIENTS = 4;
const CLUSTERS = ["c0", "c1", "c2"];
const USER_POOLS = ["u0", "u1"];
const KILLS = 5;
/** Kills during the settling of interrupted operations at restart (when there is something to settle). */
const RECOVERY_KILLS = 2;
const DELAY_MS = 100;
const RUN_MS: [number, number] = [500, 2000];

// ---- a small seeded PRNG, so a failing run can be replayed -------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the model ---------------------------------------------------------------------------------------

interface World {
  rg: boolean;
  /** cluster name -> { tag, pools: pool name -> tag } ("" for the system pool, whose tags the test does not set). */
  clusters: Record<string, { tag: string; pools: Record<string, string> }>;
}

type Request =
  | { kind: "putRg" }
  | { kind: "deleteRg" }
  | { kind: "putCluster"; cluster: string; tag: string }
  | { kind: "deleteCluster"; cluster: string }
  | { kind: "putPool"; cluster: string; pool: string; tag: string }
  | { kind: "deletePool"; cluster: string; pool: string };

type Outcome = { kind: "acknowledged"; status: number; operationUrl?: string; locationUrl?: string } | { kind: "refused"; status: number; code?: string } | { kind: "unknown"; error: string };

const canonical = (world: World): string => {
  const clusters = Object.keys(world.clusters)
    .sort()
    .map((name) => {
      const c = world.clusters[name];
      return [name, c.tag, Object.keys(c.pools).sort().map((p) => [p, c.pools[p]])];
    });
  return JSON.stringify([world.rg, clusters]);
};

/**
 * Deletes answered 202 (or unanswered) whose operation may still be running: until it ends, the
 * cluster (or the group) still exists, reading Deleting, and a DELETE of something below it that is
 * missing answers 204 rather than 404. Forgotten at each restart, which finishes every delete.
 */
interface Ghosts {
  rg: boolean;
  clusters: Set<string>;
}

/**
 * The world after a request that took effect, or null when it could not have taken effect in this
 * world. With `status`, the answer must also fit the world (a 201 means the resource was missing, ...).
 */
function apply(world: World, request: Request, status?: number, ghosts?: Ghosts): World | null {
  const next: World = structuredClone(world);
  switch (request.kind) {
    case "putRg":
      if (status === 201 && world.rg) return null;
      if (status === 200 && !world.rg) return null;
      next.rg = true;
      return next;
    case "deleteRg":
      if (!world.rg) return null;
      return { rg: false, clusters: {} };
    case "putCluster": {
      if (!world.rg) return null;
      const existing = world.clusters[request.cluster];
      if (status === 201 && existing) return null;
      if (status === 200 && !existing) return null;
      next.clusters[request.cluster] = { tag: request.tag, pools: { ...existing?.pools, system: "" } };
      return next;
    }
    case "deleteCluster":
      if (status === 204) return world.clusters[request.cluster] || (!world.rg && !ghosts?.rg) ? null : next;
      if (!world.rg) return null;
      if (!world.clusters[request.cluster]) return null;
      delete next.clusters[request.cluster];
      return next;
    case "putPool": {
      const cluster = next.clusters[request.cluster];
      if (!world.rg || !cluster) return null;
      if (status === 201 && request.pool in cluster.pools) return null;
      if (status === 200 && !(request.pool in cluster.pools)) return null;
      cluster.pools[request.pool] = request.tag;
      return next;
    }
    case "deletePool": {
      const cluster = next.clusters[request.cluster];
      if (status === 204 && !cluster) return ghosts?.rg || ghosts?.clusters.has(request.cluster) ? next : null;
      if (!world.rg || !cluster) return null;
      if (status === 204) return request.pool in cluster.pools ? null : next;
      if (!(request.pool in cluster.pools)) return null;
      delete cluster.pools[request.pool];
      return next;
    }
  }
}

const describe_ = (entry: { request: Request; outcome: Outcome } | { marker: string }): string =>
  "marker" in entry ? entry.marker : `${JSON.stringify(entry.request)} -> ${JSON.stringify(entry.outcome)}`;

class Client {
  /** Every world the answers so far allow, by canonical form. */
  possible = new Map<string, World>();
  ghosts: Ghosts = { rg: false, clusters: new Set() };
  readonly rg: string;
  private seq = 0;
  readonly log: ({ request: Request; outcome: Outcome } | { marker: string })[] = [];

  constructor(
    readonly index: number,
    private readonly random: () => number,
    readonly scheme: "https" | "http",
  ) {
    this.rg = `dur-rg-${index}`;
    const empty: World = { rg: false, clusters: {} };
    this.possible.set(canonical(empty), empty);
  }

  /** Narrows the possible worlds by a request and its answer (none: both with and without its effect). */
  record(request: Request, outcome: Outcome): void {
    this.log.push({ request, outcome });
    if (outcome.kind === "refused") return; // the emulator refused it: nothing changed
    const next = new Map<string, World>();
    for (const world of this.possible.values()) {
      if (outcome.kind === "unknown") next.set(canonical(world), world);
      const after = apply(world, request, outcome.kind === "acknowledged" ? outcome.status : undefined, this.ghosts);
      if (after) next.set(canonical(after), after);
    }
    if (next.size === 0) {
      const recent = this.log.slice(-12, -1).map(describe_);
      throw new Error(
        `client ${this.index}: the answer ${JSON.stringify(outcome)} to ${JSON.stringify(request)} fits no state the earlier answers allow: ${[...this.possible.keys()].join(" | ")}\n  earlier requests:\n  ${recent.join("\n  ")}`,
      );
    }
    this.possible = next;
    const started = outcome.kind === "unknown" || outcome.status === 202;
    if (started && request.kind === "deleteRg") this.ghosts.rg = true;
    if (started && request.kind === "deleteCluster") this.ghosts.clusters.add(request.cluster);
  }

  next(): Request {
    const world = [...this.possible.values()][0];
    const r = this.random();
    const cluster = CLUSTERS[Math.floor(this.random() * CLUSTERS.length)];
    const pool = USER_POOLS[Math.floor(this.random() * USER_POOLS.length)];
    const tag = `${this.index}-${++this.seq}`;
    if (!world.rg && r < 0.5) return { kind: "putRg" };
    if (r < 0.03) return { kind: "deleteRg" };
    if (r < 0.06) return { kind: "putRg" };
    if (r < 0.4) return { kind: "putCluster", cluster, tag };
    if (r < 0.55) return { kind: "deleteCluster", cluster };
    if (r < 0.85) return { kind: "putPool", cluster, pool, tag };
    return { kind: "deletePool", cluster, pool };
  }
}

const ACKNOWLEDGED: Record<string, number[]> = { PUT: [200, 201, 202], DELETE: [202, 204] };

function http(request: Request, rg: string): { method: string; path: string; body?: unknown } {
  switch (request.kind) {
    case "putRg":
      return { method: "PUT", path: rgPath(rg), body: { location: "eastus" } };
    case "deleteRg":
      return { method: "DELETE", path: rgPath(rg) };
    case "putCluster":
      return { method: "PUT", path: clusterPath(rg, request.cluster), body: clusterBody({ seq: request.tag }) };
    case "deleteCluster":
      return { method: "DELETE", path: clusterPath(rg, request.cluster) };
    case "putPool":
      return { method: "PUT", path: poolPath(rg, request.cluster, request.pool), body: poolBody({ seq: request.tag }) };
    case "deletePool":
      return { method: "DELETE", path: poolPath(rg, request.cluster, request.pool) };
  }
}

async function send(base: string, request: Request, rg: string): Promise<Outcome> {
  const { method, path, body } = http(request, rg);
  try {
    const answer = await call(base, method, path, body);
    if (ACKNOWLEDGED[method].includes(answer.status)) {
      return { kind: "acknowledged", status: answer.status, operationUrl: answer.headers.get("azure-asyncoperation") ?? undefined, locationUrl: answer.headers.get("location") ?? undefined };
    }
    // 404: the parent is missing; 409: an operation is running, or the group is being deleted.
    if (answer.status === 404 || answer.status === 409) return { kind: "refused", status: answer.status, code: answer.body?.error?.code };
    throw new UnexpectedAnswer(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  } catch (error) {
    if (error instanceof UnexpectedAnswer) throw error;
    return { kind: "unknown", error: String((error as Error).cause ?? (error as Error).message) };
  }
}

class UnexpectedAnswer extends Error {}

/** Polls an operation until it ends (or the emulator goes, or the test stops the stream). */
async function followOperation(base: string, url: string, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    try {
      const status = await call(base, "GET", onBase(base, url));
      if (status.body?.status !== "InProgress") return;
    } catch {
      return; // killed
    }
    await sleep(20);
  }
}

// ---- checking a restarted emulator against the model ------------------------------------------------

interface Figures {
  kills: number;
  killsOnWrite: number;
  recoveryKills: number;
  starts: number;
  requests: number;
  acknowledged: number;
  refused: number;
  unknown: number;
  operationChecks: number;
  verifications: number;
  recoveredOperations: number;
  sweptResources: number;
}

async function observe(base: string, client: Client, problems: string[]): Promise<World> {
  const world: World = { rg: false, clusters: {} };
  const group = await call(base, "GET", rgPath(client.rg));
  if (group.status === 404) return world;
  if (group.status !== 200) throw new Error(`GET ${client.rg}: ${group.status}`);
  world.rg = true;
  if (group.body.properties?.provisioningState !== "Succeeded") problems.push(`${client.rg} reads provisioningState ${group.body.properties?.provisioningState}`);
  for (const name of CLUSTERS) {
    const cluster = await call(base, "GET", clusterPath(client.rg, name));
    if (cluster.status === 404) continue;
    if (cluster.status !== 200) throw new Error(`GET cluster ${client.rg}/${name}: ${cluster.status}`);
    const state = cluster.body.properties.provisioningState;
    if (state !== "Succeeded") problems.push(`${client.rg}/${name} reads provisioningState ${state}`);
    const pools: Record<string, string> = {};
    for (const pool of await listAll(base, poolsPath(client.rg, name))) {
      pools[pool.name] = pool.name === "system" ? "" : (pool.properties.tags?.seq ?? "(none)");
      if (pool.properties.provisioningState !== "Succeeded") problems.push(`${client.rg}/${name}/${pool.name} reads provisioningState ${pool.properties.provisioningState}`);
    }
    world.clusters[name] = { tag: cluster.body.tags?.seq ?? "(none)", pools };
  }
  return world;
}

async function verify(emu: ChildEmulator, clients: Client[], figures: Figures, label: string): Promise<void> {
  const base = emu.url;
  const problems: string[] = [];
  // Nothing exists that no client asked for: the subscription's groups and clusters are the clients'.
  const groups = (await listAll(base, `/subscriptions/${SUBSCRIPTION}/resourcegroups?api-version=2023-07-01`)).map((g) => g.name);
  for (const name of groups) if (!clients.some((c) => c.rg === name)) problems.push(`resource group ${name} exists, and no client created it`);
  const clusters = await listAll(base, `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/managedClusters?api-version=2026-06-01`);
  for (const cluster of clusters) {
    const [, , , , rg] = cluster.id.split("/");
    if (!clients.some((c) => c.rg === rg) || !CLUSTERS.includes(cluster.name)) problems.push(`cluster ${cluster.id} exists, and no client created it`);
  }
  // Every client's resources are in a state its answers allow.
  for (const client of clients) {
    const seen = await observe(base, client, problems);
    const key = canonical(seen);
    if (!client.possible.has(key)) {
      const recent = client.log.slice(-12).map(describe_);
      problems.push(`client ${client.index} (${client.rg}): found ${key}; the answers allow only ${[...client.possible.keys()].join(" | ")}\n  last requests:\n  ${recent.join("\n  ")}`);
    } else {
      client.possible = new Map([[key, seen]]);
    }
    client.ghosts = { rg: false, clusters: new Set() }; // the restart finished every delete
    // No acknowledged operation is left InProgress: each status URL answers Succeeded.
    for (const entry of client.log) {
      if (!("outcome" in entry) || entry.outcome.kind !== "acknowledged") continue;
      const { outcome, request } = entry;
      if (outcome.operationUrl) {
        const status = await call(base, "GET", onBase(base, outcome.operationUrl));
        figures.operationChecks++;
        if (status.status !== 200 || status.body?.status !== "Succeeded") {
          problems.push(`operation of ${JSON.stringify(request)} (${outcome.status}) answers ${status.status} ${JSON.stringify(status.body)}`);
        }
      } else if (outcome.locationUrl) {
        const result = await call(base, "GET", onBase(base, outcome.locationUrl));
        figures.operationChecks++;
        if (result.status !== 200) problems.push(`operation result of ${JSON.stringify(request)} answers ${result.status} ${JSON.stringify(result.body)}`);
      }
    }
  }
  figures.verifications++;
  expect(problems, `${label}:\n${problems.join("\n")}\n--- emulator log ---\n${emu.output()}`).toEqual([]);
}

// ---- the test ------------------------------------------------------------------------------------------

describe("durability: SIGKILL at random points in a stream of writes", () => {
  let dataDir: string;
  let emu: ChildEmulator | undefined;

  beforeAll(() => {
    assertBuildIsCurrent();
    dataDir = mkdtempSync(join(tmpdir(), "aks-emulator-crash-"));
  });
  afterAll(async () => {
    await emu?.stop("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged write through ${KILLS} kills, and leaves nothing in progress`, async () => {
    const started = Date.now();
    const seed = Number(process.env.AKS_DURABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.info(`crash durability: seed ${seed} (AKS_DURABILITY_SEED=${seed} makes the same random choices; the timing still varies)`);
    const random = mulberry32(seed);
    const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(i, mulberry32(seed + i + 1), i % 2 === 0 ? "https" : "http"));
    const figures: Figures = { kills: 0, killsOnWrite: 0, recoveryKills: 0, starts: 0, requests: 0, acknowledged: 0, refused: 0, unknown: 0, operationChecks: 0, verifications: 0, recoveredOperations: 0, sweptResources: 0 };
    const logs: string[] = [];

    /** Starts the emulator on the data folder; with `killDuringRecovery`, kills it at its first settled operation, then starts it again. */
    const start = async (killDuringRecovery: boolean): Promise<ChildEmulator> => {
      for (;;) {
        let killedInRecovery = false;
        try {
          figures.starts++;
          const child = await startChild({
            dataDir,
            delayMs: DELAY_MS,
            onStdout: (text, process) => {
              if (killDuringRecovery && !killedInRecovery && /recovered operation/.test(text)) {
                killedInRecovery = true;
                process.kill("SIGKILL");
              }
            },
          });
          logs.push(child.output());
          return child;
        } catch (error) {
          const output = (error as { output?: string }).output ?? "";
          logs.push(output);
          if (!killedInRecovery) throw error;
          figures.recoveryKills++;
          killDuringRecovery = false;
        }
      }
    };

    emu = await start(false);
    // The resource groups first, acknowledged before the stream starts.
    for (const client of clients) {
      const request: Request = { kind: "putRg" };
      const outcome = await send(emu.url, request, client.rg);
      expect(outcome).toMatchObject({ kind: "acknowledged", status: 201 });
      client.record(request, outcome);
    }

    for (let round = 0; round < KILLS; round++) {
      const base = (client: Client) => (client.scheme === "https" ? emu!.url : emu!.httpUrl);
      let stopping = false;
      let killOnWrite = false;
      let failure: unknown;
      const streams = clients.map(async (client) => {
        try {
          while (!stopping) {
            const request = client.next();
            if (killOnWrite) {
              // This kill lands as the write starts or up to 2 ms later: before the emulator reads it,
              // after it commits but before the answer arrives, or after the answer.
              killOnWrite = false;
              const target = emu!;
              const killIt = () => {
                stopping = true;
                target.child.kill("SIGKILL");
              };
              const delay = Math.floor(random() * 3);
              if (delay === 0) setImmediate(killIt);
              else setTimeout(killIt, delay);
            }
            const outcome = await send(base(client), request, client.rg);
            figures.requests++;
            figures[outcome.kind === "acknowledged" ? "acknowledged" : outcome.kind === "refused" ? "refused" : "unknown"]++;
            client.record(request, outcome);
            // Half the time a client follows its operation to the end, as an SDK does (the kill may
            // come meanwhile); else it goes straight on, and meets 409s while the operation runs.
            const url = outcome.kind === "acknowledged" ? outcome.operationUrl : undefined;
            if (url && random() < 0.5) await followOperation(base(client), url, () => stopping);
            else if (!stopping && random() < 0.5) await sleep(Math.floor(random() * 40));
          }
        } catch (error) {
          // An answer no state allows (or one the contract does not): stop the stream, fail below.
          failure ??= error;
          stopping = true;
        }
      });
      const runFor = RUN_MS[0] + Math.floor(random() * (RUN_MS[1] - RUN_MS[0]));
      for (const until = Date.now() + runFor; Date.now() < until && !stopping; ) await sleep(10);
      if (round % 2 === 0 && !stopping) {
        // Every other kill: with the next write a client sends.
        killOnWrite = true;
        for (const until = Date.now() + 2000; Date.now() < until && !stopping; ) await sleep(1);
        if (stopping) figures.killsOnWrite++;
        killOnWrite = false;
      }
      stopping = true;
      const exit = await emu.stop("SIGKILL");
      expect(exit.signal).toBe("SIGKILL");
      figures.kills++;
      await Promise.all(streams);
      if (failure) throw failure;
      for (const client of clients) client.log.push({ marker: `--- kill ${round + 1}, then a restart ---` });
      emu = await start(round % 2 === 1 && figures.recoveryKills < RECOVERY_KILLS);
      await verify(emu, clients, figures, `after kill ${round + 1}`);
    }

    // A clean stop ends with 0, and a last start finds the same state.
    const clean = await emu.stop("SIGTERM");
    expect(clean).toEqual({ code: 0, signal: null });
    emu = await start(false);
    await verify(emu, clients, figures, "after a clean stop");

    const all = logs.join("\n");
    figures.recoveredOperations = (all.match(/recovered operation /g) ?? []).length;
    const swept = all.match(/^.*settled \/subscriptions.*$/gm) ?? [];
    figures.sweptResources = swept.length;
    if (swept.length) console.info(`states no operation would have ended, settled at a restart:\n${swept.join("\n")}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.info(
      `crash durability (seed ${seed}): ${figures.kills} kills in the stream (${figures.killsOnWrite} as a write started) + ${figures.recoveryKills} during recovery, ${figures.starts} starts, ` +
        `${figures.requests} requests from ${CLIENTS} clients: ${figures.acknowledged} acknowledged writes checked after every restart, ` +
        `${figures.refused} refused (404/409), ${figures.unknown} unanswered at a kill; ${figures.operationChecks} operation-status reads, ` +
        `${figures.verifications} verifications; ${figures.recoveredOperations} interrupted operations settled at restart, ` +
        `${figures.sweptResources} stranded states swept; ${seconds} s`,
    );
    expect(figures.kills).toBe(KILLS);
    expect(figures.acknowledged).toBeGreaterThanOrEqual(KILLS * 2);
    // The kills landed while operations ran: the restarts had operations to settle.
    expect(figures.recoveredOperations).toBeGreaterThan(0);
  }, 90_000);
});
