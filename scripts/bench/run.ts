// npm run bench: the emulator (mocked, HTTPS) side by side with a bare Node https server in one run,
// driven by the same load generator (autocannon, in this process) with fixed connections and duration.
// Both servers run as child processes with scripts/bench/cpuProbe.cjs preloaded: each row reports the
// server's own CPU per request (its process.cpuUsage() delta over the row / requests), so the load
// generator's CPU does not count. Writes bench/results/<stamp>.{md,json} and bench/results/latest.md.
// Figures are ratios to the baseline measured in the same run, and CPU per request: these machines are
// noisy, absolute rates are not comparable between runs.
//
// `npm run bench -- --quick`: a couple of seconds per row and a smaller fleet, printed and not
// written; CI runs it so the script cannot rot. It asserts no timing: it fails only when a request
// gets an answer it should not, or the script breaks.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { apiVersions } from "../../generated/operations.js";
import { RouteIndex, splitPath } from "../../src/api/routeIndex.js";
import { SpecRegistry } from "../../src/api/spec.js";
import { loadConfig } from "../../src/config.js";
import { MockBackend } from "../../src/engine/backends/mock.js";
import { Engine, RESOURCE_GROUP_TYPE } from "../../src/engine/engine.js";
import { projectRoot } from "../../src/paths.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { silentLogger, systemClock } from "../../src/util.js";

const QUICK = process.argv.includes("--quick");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION ?? (QUICK ? 2 : 5));
const STARTS = Number(process.env.BENCH_STARTS ?? (QUICK ? 3 : 7));
const BIG_STORE_CLUSTERS = Number(process.env.BENCH_BIG_CLUSTERS ?? (QUICK ? 1_000 : 10_000));
/** The issue's fleet: clusters of one pool each. */
const POOLS_PER_CLUSTER = 1;
const LIST_CLUSTERS = QUICK ? 200 : 1_000;
/**
 * Seconds after the memory store's fill when its RSS is read a second time. A second after the fill,
 * V8 still holds the young generation the fill grew (32 MiB) and the old generation's garbage; its
 * memory reducer gives them back once the process has gone quiet, 20 to 30 s later on this machine.
 */
const SETTLE_S = QUICK ? 0 : 40;
/** The data folder's create rate is measured against the memory store's in this many alternating pairs of slices. */
const RATIO_PAIRS = QUICK ? 2 : 4;
const RATIO_SLICE_S = QUICK ? 1 : 2;
const MICRO_MS = QUICK ? 200 : 1_000;
const PROBE = join(projectRoot, "scripts", "bench", "cpuProbe.cjs");
const SUB = "00000000-0000-0000-0000-000000000000";
const AKS = "2026-06-01";
/** The oldest vendored document: a GET there is projected onto the schema furthest from the model. */
const OLDEST = apiVersions.at(-1)!;
const keyDir = mkdtempSync(join(tmpdir(), "aks-bench-keys-"));
const work = mkdtempSync(join(tmpdir(), "aks-bench-"));

/** Every child started, so none outlives the run, whatever ends it. */
const children = new Set<ChildProcess>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of children) child.kill("SIGKILL");
    process.exit(1);
  });
}
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

interface Child {
  process: ChildProcess;
  port: number;
  ca: string;
}

const clusterPath = (rg: string, name: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${name}`;
const clusterBody = (pools = 1) =>
  JSON.stringify({
    location: "eastus",
    tags: { env: "bench" },
    properties: {
      dnsPrefix: "bench",
      agentPoolProfiles: Array.from({ length: pools }, (_, i) => ({ name: `pool${i}`, count: 3, vmSize: "Standard_DS2_v2", mode: i === 0 ? "System" : "User" })),
    },
  });

/**
 * A server's environment: this process's, with or without NODE_EXTRA_CA_CERTS. Node 20 reads that file
 * at every start, and builds its bundled root store to add it to, whatever the server does with TLS:
 * with this machine's setting (the system's whole trust bundle) that is 35 to 80 ms of every start.
 */
function serverEnv(withExtraCa: boolean, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!withExtraCa) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function startEmulator(extraEnv: Record<string, string> = {}, dataDir?: string, withExtraCa = true): Promise<Child & { startedAt: number }> {
  const startedAt = performance.now();
  const args = ["--require", PROBE, join(projectRoot, "dist/src/main.js"), "--port", "0", "--host", "127.0.0.1", ...(dataDir ? ["--data-dir", dataDir] : [])];
  const child = spawn(process.execPath, args, {
    env: serverEnv(withExtraCa, { FLOCI_AZ_SERVICES_AKS_MOCKED: "true", FLOCI_AZ_SERVICES_AKS_LOG_REQUESTS: "false", FLOCI_AZ_SERVICES_AKS_KEY_DIR: keyDir, ...extraEnv }),
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      const port = out.match(/listening on port (\d+)/)?.[1];
      if (port) {
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve({ process: child, port: Number(port), ca: readFileSync(join(keyDir, "ca.pem"), "utf8"), startedAt });
      }
    });
    child.once("exit", (code) => reject(new Error(`emulator exited (${code}) before listening:\n${out}`)));
  });
}

/**
 * The baseline: a bare Node https server answering a fixed JSON body of a given size. Its TLS options are
 * the emulator's (no trust store: `ca: []`), so its start is Node's own floor for an HTTPS server.
 */
function startBaseline(body: string, cert: { key: string; cert: string; ca: string }, withExtraCa = true): Promise<Child & { startedAt: number }> {
  const startedAt = performance.now();
  const source = `
    const https = require("node:https");
    const body = Buffer.from(process.env.BODY);
    https.createServer({ key: process.env.KEY, cert: process.env.CERT, ca: [] }, (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length }).end(body));
    }).listen(0, "127.0.0.1", function () { console.log("listening on port " + this.address().port); });`;
  const child = spawn(process.execPath, ["--require", PROBE, "-e", source], { env: serverEnv(withExtraCa, { BODY: body, KEY: cert.key, CERT: cert.cert }), stdio: ["ignore", "pipe", "inherit", "ipc"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve) => {
    child.stdout!.once("data", (chunk) => resolve({ process: child, port: Number(String(chunk).match(/(\d+)/)![1]), ca: cert.ca, startedAt }));
  });
}

/** The server's own CPU so far (user + system, microseconds) and RSS, from its process.cpuUsage(). */
function serverStats(child: Child): Promise<{ cpuUs: number; rssMiB: number }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: any) => {
      if (!message?.cpu) return;
      child.process.off("message", onMessage);
      child.process.off("exit", onExit);
      resolve({ cpuUs: message.cpu.user + message.cpu.system, rssMiB: message.rss / 2 ** 20 });
    };
    const onExit = () => reject(new Error("the server exited before reporting its CPU"));
    child.process.on("message", onMessage);
    child.process.once("exit", onExit);
    child.process.send("cpu");
  });
}

function call(child: Child, method: string, path: string, body?: string): Promise<{ status: number; text: string; headers: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", servername: "localhost", port: child.port, method, path, ca: child.ca, agent: keepAlive(child), headers: body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {} },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, text, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const agents = new Map<number, Agent>();
const keepAlive = (child: Child) => {
  if (!agents.has(child.port)) agents.set(child.port, new Agent({ keepAlive: true, maxSockets: 32 }));
  return agents.get(child.port)!;
};

async function expectStatus(promise: ReturnType<typeof call>, ...ok: number[]) {
  const res = await promise;
  if (!ok.includes(res.status)) throw new Error(`unexpected ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}

/** The issue's goal for a row: server CPU per request at most, throughput ratio at least. */
interface Goal {
  cpuUs?: number;
  ratio?: number;
}

interface LoadResult {
  name: string;
  rps: number;
  /** Server CPU per request, microseconds (the server's cpuUsage delta over the row / requests). */
  cpuUs: number;
  goal?: Goal;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function load(name: string, child: Child, options: Partial<autocannon.Options> & { path?: string; goal?: Goal }): Promise<LoadResult> {
  const { path = "", goal, ...rest } = options;
  const before = await serverStats(child);
  const result = await autocannon({
    // autocannon takes the path from the url (a top-level `path` option is ignored)
    url: `https://localhost:${child.port}${path}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    tlsOptions: { ca: child.ca } as never,
    ...rest,
  } as autocannon.Options);
  const after = await serverStats(child);
  const out: LoadResult = {
    name,
    rps: result.requests.average,
    cpuUs: (after.cpuUs - before.cpuUs) / Math.max(1, result.requests.total),
    goal,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
  console.log(`  ${name}: ${out.rps.toFixed(0)} req/s, ${out.cpuUs.toFixed(0)} us server CPU per request, p50 ${out.p50} ms, p99 ${out.p99} ms, non-2xx ${out.non2xx}, errors ${out.errors}`);
  return out;
}

/** Slices of one load, measured as one row: their mean rate (the slices are equally long), CPU over all their requests. */
function combineSlices(name: string, slices: LoadResult[]): LoadResult {
  const requests = slices.reduce((sum, s) => sum + s.requests, 0);
  return {
    name,
    rps: slices.reduce((sum, s) => sum + s.rps, 0) / slices.length,
    cpuUs: slices.reduce((sum, s) => sum + s.cpuUs * s.requests, 0) / Math.max(1, requests),
    p50: median(slices.map((s) => s.p50)),
    p99: Math.max(...slices.map((s) => s.p99)),
    errors: slices.reduce((sum, s) => sum + s.errors, 0),
    non2xx: slices.reduce((sum, s) => sum + s.non2xx, 0),
    requests,
  };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024;
}

async function stop(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.process.once("exit", () => resolve());
    child.process.kill("SIGTERM");
  });
}

async function fill(child: Child, clusters: number, pools: number, concurrency = 16): Promise<void> {
  await expectStatus(call(child, "PUT", `/subscriptions/${SUB}/resourcegroups/big?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 200, 201);
  const body = clusterBody(pools);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < clusters) {
        const i = next++;
        await expectStatus(call(child, "PUT", `${clusterPath("big", `c${i}`)}?api-version=${AKS}`, body), 201);
      }
    }),
  );
}

/**
 * What the documents cost: from a fresh start, the first GET at each document's version (which reads
 * and compiles that document) against a second GET at it, and the RSS before and after all are loaded.
 */
async function documentCosts(): Promise<{ firstMs: Record<string, number>; againMs: number; rssBefore: number; rssAfter: number }> {
  const child = await startEmulator();
  await expectStatus(call(child, "GET", `/subscriptions/${SUB}?api-version=2022-12-01`), 200);
  await expectStatus(call(child, "PUT", `/subscriptions/${SUB}/resourcegroups/docs?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  const rssBefore = rssMiB(child.process.pid!);
  const list = (version: string) => call(child, "GET", `/subscriptions/${SUB}/resourceGroups/docs/providers/Microsoft.ContainerService/managedClusters?api-version=${version}`);
  const firstMs: Record<string, number> = {};
  for (const version of apiVersions) {
    const started = performance.now();
    await expectStatus(list(version), 200);
    firstMs[version] = performance.now() - started;
  }
  const again: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await expectStatus(list(apiVersions[i % apiVersions.length]), 200);
    again.push(performance.now() - started);
  }
  const rssAfter = rssMiB(child.process.pid!);
  await stop(child);
  console.log(`  first GET per document: ${Object.entries(firstMs).map(([v, ms]) => `${v} ${ms.toFixed(0)} ms`).join(", ")}; later GETs ${median(again).toFixed(1)} ms`);
  console.log(`  RSS ${rssBefore.toFixed(0)} MiB before, ${rssAfter.toFixed(0)} MiB with all ${apiVersions.length} documents loaded`);
  return { firstMs, againMs: median(again), rssBefore, rssAfter };
}

interface Start {
  /** Wall time from spawn to the first 200 on a GET, polling as a client would. */
  ms: number;
  /** The server's CPU from its start to that 200 (node's own start-up included). */
  cpuMs: number;
  /** RSS right after that 200, then after a second of idling. */
  rssFirstMiB: number;
  rssIdleMiB: number;
}

/** From spawn (in `start`) to the server's first 200. */
async function timeToFirst200(start: () => Promise<Child & { startedAt: number }>): Promise<Start> {
  const child = await start();
  for (;;) {
    try {
      const res = await call(child, "GET", `/subscriptions/${SUB}?api-version=2022-12-01`);
      if (res.status === 200) break;
    } catch {
      // not accepting yet
    }
  }
  const ms = performance.now() - child.startedAt;
  const first = await serverStats(child);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle = await serverStats(child);
  await stop(child);
  return { ms, cpuMs: first.cpuUs / 1000, rssFirstMiB: first.rssMiB, rssIdleMiB: idle.rssMiB };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function microbenchmark(): Promise<Record<string, number>> {
  const spec = new SpecRegistry();
  const routes = new RouteIndex(spec.routes());
  const v = spec.get(AKS)!;
  const path = clusterPath("rg1", "c1");
  const body = JSON.parse(clusterBody(3));
  const params = (p: string) => (routes.lookup("GET", splitPath(p)) as { params: Record<string, string> }).params;
  const cases: Record<string, () => void> = {
    "route GET cluster": () => routes.lookup("GET", splitPath(path)),
    "route + validate GET cluster": () => {
      routes.lookup("GET", splitPath(path));
      v.validateRequest("ManagedClusters_Get", { params: params(path), query: { "api-version": AKS }, headers: {}, body: undefined });
    },
    "route + validate PUT cluster": () => {
      routes.lookup("PUT", splitPath(path));
      v.validateRequest("ManagedClusters_CreateOrUpdate", { params: params(path), query: { "api-version": AKS }, headers: { "content-type": "application/json" }, body });
    },
  };
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < 2000; i++) fn(); // warm up and compile validators
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < MICRO_MS) {
      for (let i = 0; i < 200; i++) fn();
      n += 200;
    }
    out[name] = n / ((performance.now() - started) / 1000);
    console.log(`  ${name}: ${out[name].toFixed(0)} ops/s`);
  }
  out["engine: create cluster, no HTTP"] = await engineCreates();
  console.log(`  engine: create cluster, no HTTP: ${out["engine: create cluster, no HTTP"].toFixed(0)} ops/s`);
  return out;
}

/**
 * What a PUT create costs below HTTP: the engine's create with its records stored (memory store) and
 * its operation settled, as the PUT scenario runs it (every create a new cluster, so the heap grows).
 */
async function engineCreates(): Promise<number> {
  const store = new MemoryStore();
  const engine = new Engine(store, new MockBackend(), systemClock, silentLogger, loadConfig({}, {}));
  store.put({ id: `/subscriptions/${SUB}/resourceGroups/rg`, type: RESOURCE_GROUP_TYPE, parentKey: `/subscriptions/${SUB}`.toLowerCase(), subscriptionId: SUB, body: { name: "rg", location: "eastus", properties: { provisioningState: "Succeeded" } }, etag: "" });
  const caller = { principal: { id: "bench", type: "User" as const } };
  const text = clusterBody(1);
  let created = 0;
  const batch = async (size: number) => {
    for (let i = 0; i < size; i++) engine.putCluster(SUB, "rg", `e${created++}`, JSON.parse(text), caller);
    await new Promise((resolve) => setImmediate(resolve)); // the operations settle
  };
  await batch(2000); // warm up
  const started = performance.now();
  const before = created;
  while (performance.now() - started < (QUICK ? 1000 : DURATION_S * 1000)) await batch(100);
  return (created - before) / ((performance.now() - started) / 1000);
}

/**
 * GET cluster (a small one) while another client writes 1,000-node pools into a second cluster: a
 * System pool of 1,000, four User pools of 1,000 (5,000 nodes, AKS's quota), then one of them scaled
 * 500 <-> 1,000 until the row's time is up. Each write hands out or gives back hundreds of node
 * addresses; the reads must not wait on work that grows with the cluster.
 */
async function getWhileLargePoolsAreWritten(emu: Child): Promise<LoadResult> {
  const poolBody = (count: number) => JSON.stringify({ properties: { count, vmSize: "Standard_DS2_v2", mode: "User" } });
  const system = JSON.stringify({ location: "eastus", properties: { dnsPrefix: "large", agentPoolProfiles: [{ name: "system", count: 1000, vmSize: "Standard_DS2_v2", mode: "System" }] } });
  await expectStatus(call(emu, "PUT", `${clusterPath("rg1", "large")}?api-version=${AKS}`, system), 201);
  let done = false;
  const writeMs: number[] = [];
  const writer = (async () => {
    for (let i = 0; !done; i++) {
      const [pool, count] = i < 4 ? [`big${i + 1}`, 1000] : ["big4", i % 2 === 0 ? 1000 : 500];
      const started = performance.now();
      await expectStatus(call(emu, "PUT", `${clusterPath("rg1", "large")}/agentPools/${pool}?api-version=${AKS}`, poolBody(count)), 200, 201);
      writeMs.push(performance.now() - started);
    }
  })();
  const result = await load("GET cluster while another client PUTs 1,000-node pools (to 5,000 nodes)", emu, { path: `${clusterPath("rg1", "c1")}?api-version=${AKS}` });
  done = true;
  await writer;
  console.log(`    meanwhile ${writeMs.length} pool writes, median ${median(writeMs).toFixed(1)} ms, slowest ${Math.max(...writeMs).toFixed(1)} ms`);
  return { ...result, name: `${result.name}; ${writeMs.length} pool writes, median ${median(writeMs).toFixed(0)} ms` };
}

const GOALS = {
  get: { cpuUs: 80, ratio: 0.6 },
  write: { cpuUs: 150 },
  list: { cpuUs: 1000 },
  startMs: 150,
  idleMiB: 50,
  fleetMiB: 120,
};

const goalText = (goal?: Goal) => [goal?.cpuUs !== undefined ? `<= ${goal.cpuUs} us CPU` : "", goal?.ratio !== undefined ? `>= ${goal.ratio}x` : ""].filter(Boolean).join(", ");
const verdict = (r: LoadResult & { ratioToBaseline: number }) => {
  if (!r.goal) return "";
  const met = (r.goal.cpuUs === undefined || r.cpuUs <= r.goal.cpuUs) && (r.goal.ratio === undefined || r.ratioToBaseline >= r.goal.ratio);
  return met ? "met" : "**missed**";
};
const measured = (value: number, goal: number, atMost = true) => ((atMost ? value <= goal : value >= goal) ? "met" : "**missed**");

async function main(): Promise<void> {
  const started = new Date();
  console.log(`bench${QUICK ? " --quick" : ""}: ${CONNECTIONS} connections, ${DURATION_S} s per scenario, ${cpus().length} cores`);

  // The emulator, with the state each scenario needs.
  const emu = await startEmulator();
  await expectStatus(call(emu, "PUT", `/subscriptions/${SUB}/resourcegroups/rg1?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  await expectStatus(call(emu, "PUT", `${clusterPath("rg1", "c1")}?api-version=${AKS}`, clusterBody(1)), 201);
  const get = await expectStatus(call(emu, "GET", `${clusterPath("rg1", "c1")}?api-version=${AKS}`), 200);
  for (let i = 0; i < CONNECTIONS; i++) await expectStatus(call(emu, "PUT", `${clusterPath("rg1", `tags${i}`)}?api-version=${AKS}`, clusterBody(1)), 201);
  for (let i = 0; i < CONNECTIONS; i++) await expectStatus(call(emu, "PUT", `${clusterPath("rg1", `pools${i}`)}?api-version=${AKS}`, clusterBody(1)), 201);
  await expectStatus(call(emu, "PUT", `/subscriptions/${SUB}/resourcegroups/list?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  for (let i = 0; i < LIST_CLUSTERS; i++) await expectStatus(call(emu, "PUT", `${clusterPath("list", `l${i}`)}?api-version=${AKS}`, clusterBody(1)), 201);

  // The emulator's own certificate: the baseline serves with it too.
  const serverCert = { key: readFileSync(join(keyDir, "server-key.pem"), "utf8"), cert: readFileSync(join(keyDir, "server.pem"), "utf8"), ca: emu.ca };
  const baseline = await startBaseline(get.text, serverCert);

  // Warm both servers up (JIT, caches) so the first row is not the one that pays for it.
  await autocannon({ url: `https://localhost:${baseline.port}/x`, connections: CONNECTIONS, duration: 1, tlsOptions: { ca: baseline.ca } } as autocannon.Options);
  await autocannon({ url: `https://localhost:${emu.port}${clusterPath("rg1", "c1")}?api-version=${AKS}`, connections: CONNECTIONS, duration: 1, tlsOptions: { ca: emu.ca } } as autocannon.Options);

  console.log("load:");
  const results: LoadResult[] = [];
  results.push(await load("baseline: bare https, same body", baseline, { path: "/x" }));
  results.push(await load("GET cluster", emu, { path: `${clusterPath("rg1", "c1")}?api-version=${AKS}`, goal: GOALS.get }));
  results.push(await load(`GET cluster at ${OLDEST} (projected onto the oldest document)`, emu, { path: `${clusterPath("rg1", "c1")}?api-version=${OLDEST}`, goal: GOALS.get }));
  results.push(await load(`GET list of ${LIST_CLUSTERS.toLocaleString("en")} clusters (first page of 100)`, emu, { path: `/subscriptions/${SUB}/resourceGroups/list/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS}`, goal: GOALS.list }));
  const createBody = clusterBody(1);
  // Each server's creates are numbered on from its last row's: every one is a new cluster.
  const created = new Map<Child, number>();
  const createRow = (name: string, child: Child, goal: Goal | undefined, duration = DURATION_S) =>
    load(name, child, {
      goal,
      duration,
      requests: [
        {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: createBody,
          setupRequest: (req: any) => {
            const n = created.get(child) ?? 0;
            created.set(child, n + 1);
            return { ...req, path: `${clusterPath("rg1", `new${n}`)}?api-version=${AKS}` };
          },
        },
      ],
    });
  results.push(await createRow("PUT create cluster (validated)", emu, GOALS.write));
  let tagSeq = 0;
  results.push(
    await load("PATCH tags", emu, {
      goal: GOALS.write,
      requests: [{ method: "PATCH", headers: { "content-type": "application/json" }, setupRequest: (req: any) => ({ ...req, path: `${clusterPath("rg1", `tags${tagSeq++ % CONNECTIONS}`)}?api-version=${AKS}`, body: JSON.stringify({ tags: { n: String(tagSeq) } }) }) }],
    }),
  );
  // A pool PUT that scales the pool (3 <-> 4 nodes), so each one changes the pool and its machines.
  let poolSeq = 0;
  results.push(
    await load("PUT agent pool (scale 3 <-> 4)", emu, {
      goal: GOALS.write,
      requests: [
        {
          method: "PUT",
          headers: { "content-type": "application/json" },
          setupRequest: (req: any) => {
            const n = poolSeq++;
            return { ...req, path: `${clusterPath("rg1", `pools${n % CONNECTIONS}`)}/agentPools/pool0?api-version=${AKS}`, body: JSON.stringify({ properties: { count: 3 + (Math.floor(n / CONNECTIONS) % 2), vmSize: "Standard_DS2_v2", mode: "System" } }) };
          },
        },
      ],
    }),
  );
  // A fresh operation to poll: the rows above wrote enough for older operation records to be retired.
  const polled = await expectStatus(call(emu, "PUT", `${clusterPath("rg1", "polled")}?api-version=${AKS}`, clusterBody(1)), 201);
  const pollUrl = new URL(polled.headers["azure-asyncoperation"]);
  results.push(await load("GET operation status (poll)", emu, { path: pollUrl.pathname + pollUrl.search, goal: GOALS.write }));
  results.push(await getWhileLargePoolsAreWritten(emu));

  // PUT create with a data folder (SQLite) against the memory store, in alternating slices on the two
  // servers (both running, one at a time under load): this machine's speed drifts over minutes, and
  // the ratio of two rows measured minutes apart drifted with it (0.58x to 0.72x in one afternoon).
  const durable = await startEmulator({}, join(work, "durable"));
  await expectStatus(call(durable, "PUT", `/subscriptions/${SUB}/resourcegroups/rg1?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  // Warm, as the in-memory emulator is by the rows before: its first creates compile the request's
  // validators, and its first thousand or so run at half speed while V8 optimises the code they run.
  await fill(durable, QUICK ? 1_000 : 2_000, POOLS_PER_CLUSTER);
  const memorySlices: LoadResult[] = [];
  const durableSlices: LoadResult[] = [];
  for (let i = 1; i <= RATIO_PAIRS; i++) {
    memorySlices.push(await createRow(`PUT create, memory store, slice ${i}`, emu, undefined, RATIO_SLICE_S));
    durableSlices.push(await createRow(`PUT create, data folder, slice ${i}`, durable, undefined, RATIO_SLICE_S));
  }
  // Its goal is a rate against the memory store's slices (the measures table), not CPU per request.
  const createDurable = combineSlices("PUT create cluster (validated), data folder (SQLite)", durableSlices);
  const createAlongside = combineSlices("PUT create cluster (validated), memory store, alongside", memorySlices);
  results.push(createDurable);
  await stop(durable);
  await stop(emu);
  await stop(baseline);
  const dataFolderRatio = { rateRatio: createDurable.rps / createAlongside.rps, cpuRatio: createDurable.cpuUs / createAlongside.cpuUs, memoryRps: createAlongside.rps, pairs: RATIO_PAIRS, sliceSeconds: RATIO_SLICE_S };
  console.log(`  PUT create, data folder against memory (${RATIO_PAIRS} alternating pairs of ${RATIO_SLICE_S} s): ${dataFolderRatio.rateRatio.toFixed(2)}x the rate, ${dataFolderRatio.cpuRatio.toFixed(2)}x the CPU per request`);

  console.log("documents (read and compiled on first use):");
  const documents = await documentCosts();

  console.log("micro (routing + request validation, in process):");
  const micro = await microbenchmark();

  console.log("startup and memory:");
  const documentFiles = apiVersions.filter((v) => existsSync(join(projectRoot, "generated", "openapi", `${v}.json`))).length;
  // Each emulator start alternates with a bare Node https server's (the same certificate and TLS
  // options): Node's own floor on this machine at that moment, which a busy machine moves a lot. Starts
  // are measured without NODE_EXTRA_CA_CERTS (see serverEnv), and, when this environment sets it, also
  // with it inherited, as the other rows run.
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  const emptyStarts: Start[] = [];
  const bareStarts: Start[] = [];
  const inheritedStarts: Start[] = [];
  const bareInheritedStarts: Start[] = [];
  for (let i = 0; i < STARTS; i++) {
    emptyStarts.push(await timeToFirst200(() => startEmulator({}, undefined, false)));
    bareStarts.push(await timeToFirst200(() => startBaseline("{}", serverCert, false)));
    if (!extraCa) continue;
    inheritedStarts.push(await timeToFirst200(() => startEmulator({}, undefined, true)));
    bareInheritedStarts.push(await timeToFirst200(() => startBaseline("{}", serverCert, true)));
  }
  const bigDir = join(work, "big");
  mkdirSync(bigDir);
  const filler = await startEmulator({}, bigDir);
  await fill(filler, BIG_STORE_CLUSTERS, POOLS_PER_CLUSTER);
  await stop(filler);
  const bigStarts: Start[] = [];
  for (let i = 0; i < STARTS; i++) bigStarts.push(await timeToFirst200(() => startEmulator({}, bigDir, false)));
  const fleetRss = async (child: Child) => {
    await expectStatus(call(child, "GET", `${clusterPath("big", "c0")}?api-version=${AKS}`), 200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return (await serverStats(child)).rssMiB;
  };
  // The data folder filled above, opened again: what a restart with that fleet holds.
  const big = await startEmulator({}, bigDir);
  const bigRss = await fleetRss(big);
  await stop(big);
  // The same fleet in the memory store (no data folder), which keeps every record parsed.
  const inMemory = await startEmulator();
  await fill(inMemory, BIG_STORE_CLUSTERS, POOLS_PER_CLUSTER);
  const memoryStoreRss = await fleetRss(inMemory);
  let memoryStoreSettledRss: number | undefined;
  if (SETTLE_S > 0) {
    await new Promise((resolve) => setTimeout(resolve, (SETTLE_S - 1) * 1000));
    memoryStoreSettledRss = (await serverStats(inMemory)).rssMiB;
  }
  await stop(inMemory);
  const med = (starts: Start[], key: keyof Start) => median(starts.map((s) => s[key]));
  console.log(`  start to first 200 (${documentFiles} documents in the manifest): ${med(emptyStarts, "ms").toFixed(0)} ms (${med(emptyStarts, "cpuMs").toFixed(0)} ms CPU) empty, ${med(bigStarts, "ms").toFixed(0)} ms with ${BIG_STORE_CLUSTERS} clusters; bare Node https server ${med(bareStarts, "ms").toFixed(0)} ms (${med(bareStarts, "cpuMs").toFixed(0)} ms CPU)`);
  if (extraCa) console.log(`  with NODE_EXTRA_CA_CERTS inherited: ${med(inheritedStarts, "ms").toFixed(0)} ms, bare ${med(bareInheritedStarts, "ms").toFixed(0)} ms; idle RSS ${med(inheritedStarts, "rssIdleMiB").toFixed(1)} MiB, bare ${med(bareInheritedStarts, "rssIdleMiB").toFixed(1)} MiB`);
  console.log(`  RSS: ${med(emptyStarts, "rssIdleMiB").toFixed(1)} MiB idle (bare Node https server ${med(bareStarts, "rssIdleMiB").toFixed(1)} MiB), ${BIG_STORE_CLUSTERS} clusters of one pool: ${bigRss.toFixed(0)} MiB in a data folder, ${memoryStoreRss.toFixed(0)} MiB in memory${memoryStoreSettledRss === undefined ? "" : ` (${memoryStoreSettledRss.toFixed(0)} MiB ${SETTLE_S} s later)`}`);

  const base = results[0];
  const load_ = results.map((r) => ({ ...r, ratioToBaseline: r.rps / base.rps }));
  const report = {
    date: started.toISOString(),
    quick: QUICK,
    // What the servers of the load rows inherit (see serverEnv).
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null },
    settings: { connections: CONNECTIONS, durationSeconds: DURATION_S, starts: STARTS, bigStoreClusters: BIG_STORE_CLUSTERS, poolsPerCluster: POOLS_PER_CLUSTER, listClusters: LIST_CLUSTERS, clusterGetBytes: Buffer.byteLength(get.text), documents: documentFiles },
    goals: GOALS,
    load: load_,
    putCreateDataFolderAgainstMemory: dataFolderRatio,
    startup: { empty: emptyStarts, bigStore: bigStarts, bare: bareStarts, emptyMedianMs: med(emptyStarts, "ms"), emptyMedianCpuMs: med(emptyStarts, "cpuMs"), bigStoreMedianMs: med(bigStarts, "ms"), bareMedianMs: med(bareStarts, "ms"), bareMedianCpuMs: med(bareStarts, "cpuMs"),
      ...(extraCa && { withExtraCaCerts: { emulator: inheritedStarts, bare: bareInheritedStarts, emulatorMedianMs: med(inheritedStarts, "ms"), bareMedianMs: med(bareInheritedStarts, "ms"), emulatorIdleMiB: med(inheritedStarts, "rssIdleMiB"), bareIdleMiB: med(bareInheritedStarts, "rssIdleMiB") } }) },
    rssMiB: { idle: med(emptyStarts, "rssIdleMiB"), bareIdle: med(bareStarts, "rssIdleMiB"), afterFirstRequest: med(emptyStarts, "rssFirstMiB"), bigStore: bigRss, bigMemoryStore: memoryStoreRss, bigMemoryStoreSettled: memoryStoreSettledRss ?? null, beforeDocuments: documents.rssBefore, allDocumentsLoaded: documents.rssAfter },
    documents: { firstGetMs: documents.firstMs, laterGetMedianMs: documents.againMs },
    microOpsPerSecond: micro,
  };
  const fleet = `${BIG_STORE_CLUSTERS.toLocaleString("en")} clusters of one pool`;
  const markdown = [
    `Run ${report.date}${QUICK ? " (--quick)" : ""} on ${report.machine.cpus} cores (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; ` +
      `autocannon ${CONNECTIONS} connections x ${DURATION_S} s per row, HTTPS; cluster GET body ${report.settings.clusterGetBytes} bytes. ` +
      `Server CPU per request: the server process's own cpuUsage() over the row, divided by the requests answered.` +
      (report.machine.nodeExtraCaCerts
        ? ` This environment sets NODE_EXTRA_CA_CERTS=${report.machine.nodeExtraCaCerts}, which Node 20 reads at every start: the servers inherit it, but for the start and idle-RSS rows, measured without it and then with it.`
        : ""),
    "",
    "| scenario | req/s | ratio to baseline | server CPU us/req | p50 ms | p99 ms | non-2xx | goal | |",
    "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ...report.load.map((r) => `| ${r.name} | ${r.rps.toFixed(0)} | ${r.ratioToBaseline.toFixed(2)} | ${r.cpuUs.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${goalText(r.goal)} | ${verdict(r)} |`),
    "",
    "| measure | value | goal | |",
    "|---|---:|---|---|",
    `| start to first 200, empty store, ${documentFiles} documents in the manifest (median of ${STARTS}) | ${report.startup.emptyMedianMs.toFixed(0)} ms (${report.startup.emptyMedianCpuMs.toFixed(0)} ms CPU) | <= ${GOALS.startMs} ms, idle machine | ${measured(report.startup.emptyMedianMs, GOALS.startMs)} |`,
    `| start to first 200, bare Node https server, alternating with the row above (Node's floor) | ${report.startup.bareMedianMs.toFixed(0)} ms (${report.startup.bareMedianCpuMs.toFixed(0)} ms CPU) | | |`,
    `| start to first 200, data folder with ${fleet} (median of ${STARTS}) | ${report.startup.bigStoreMedianMs.toFixed(0)} ms | | |`,
    `| RSS idle (a second after the first 200) | ${report.rssMiB.idle.toFixed(1)} MiB | <= ${GOALS.idleMiB} MiB | ${measured(report.rssMiB.idle, GOALS.idleMiB)} |`,
    `| RSS idle, bare Node https server | ${report.rssMiB.bareIdle.toFixed(1)} MiB | | |`,
    ...(report.startup.withExtraCaCerts
      ? [
          `| start to first 200 / idle RSS with this environment's NODE_EXTRA_CA_CERTS inherited (as every other row runs) | ${report.startup.withExtraCaCerts.emulatorMedianMs.toFixed(0)} ms / ${report.startup.withExtraCaCerts.emulatorIdleMiB.toFixed(1)} MiB | | |`,
          `| the same, bare Node https server | ${report.startup.withExtraCaCerts.bareMedianMs.toFixed(0)} ms / ${report.startup.withExtraCaCerts.bareIdleMiB.toFixed(1)} MiB | | |`,
        ]
      : []),
    `| RSS with ${fleet}, data folder (SQLite), after a restart | ${report.rssMiB.bigStore.toFixed(0)} MiB | <= ${GOALS.fleetMiB} MiB${BIG_STORE_CLUSTERS < 10_000 ? " (at 10,000)" : ""} | ${BIG_STORE_CLUSTERS >= 10_000 ? measured(report.rssMiB.bigStore, GOALS.fleetMiB) : ""} |`,
    `| RSS with ${fleet}, memory store (no data folder), a second after the fill | ${report.rssMiB.bigMemoryStore.toFixed(0)} MiB | <= ${GOALS.fleetMiB} MiB${BIG_STORE_CLUSTERS < 10_000 ? " (at 10,000)" : ""} | ${BIG_STORE_CLUSTERS >= 10_000 ? measured(report.rssMiB.bigMemoryStore, GOALS.fleetMiB) : ""} |`,
    ...(report.rssMiB.bigMemoryStoreSettled === null
      ? []
      : [
          `| the same, ${SETTLE_S} s after the fill (after the idle collection, and V8's memory reducer if it has run) | ${report.rssMiB.bigMemoryStoreSettled.toFixed(0)} MiB | <= ${GOALS.fleetMiB} MiB${BIG_STORE_CLUSTERS < 10_000 ? " (at 10,000)" : ""} | ${BIG_STORE_CLUSTERS >= 10_000 ? measured(report.rssMiB.bigMemoryStoreSettled, GOALS.fleetMiB) : ""} |`,
        ]),
    `| PUT create, data folder against memory store (${report.putCreateDataFolderAgainstMemory.pairs} alternating pairs of ${report.putCreateDataFolderAgainstMemory.sliceSeconds} s; memory store ${report.putCreateDataFolderAgainstMemory.memoryRps.toFixed(0)} req/s there) | ${report.putCreateDataFolderAgainstMemory.rateRatio.toFixed(2)}x the rate, ${report.putCreateDataFolderAgainstMemory.cpuRatio.toFixed(2)}x the CPU | >= 0.7x the rate | ${measured(report.putCreateDataFolderAgainstMemory.rateRatio, 0.7, false)} |`,
    `| RSS after one ARM call, then with all ${apiVersions.length} documents loaded | ${documents.rssBefore.toFixed(0)} -> ${documents.rssAfter.toFixed(0)} MiB | | |`,
    ...Object.entries(documents.firstMs).map(([version, ms]) => `| first GET at ${version} after start (reads and compiles that document) | ${ms.toFixed(0)} ms | | |`),
    `| later GETs (median of 20) | ${documents.againMs.toFixed(1)} ms | | |`,
    ...Object.entries(micro).map(([name, ops]) => `| ${name} (in process) | ${ops.toFixed(0)} ops/s | | |`),
    "",
  ].join("\n");
  if (QUICK) {
    console.log(`\n${markdown}\n--quick: not written to bench/results/`);
    return;
  }
  const outDir = join(projectRoot, "bench", "results");
  mkdirSync(outDir, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, "-");
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(outDir, `${stamp}.md`), markdown);
  writeFileSync(join(outDir, "latest.md"), markdown);
  console.log(`\n${markdown}\nwritten to bench/results/${stamp}.{md,json} and bench/results/latest.md`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const agent of agents.values()) agent.destroy();
    rmSync(work, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });
