// npm run bench: the emulator (mocked, HTTPS) side by side with a bare Node https server in one run,
// driven by the same load generator (autocannon, in this process) with fixed connections and duration.
// Writes bench/results/<stamp>.{md,json} and bench/results/latest.md. Figures are ratios to the
// baseline measured in the same run: these machines are noisy, absolute numbers are not comparable.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const BIG_STORE_CLUSTERS = Number(process.env.BENCH_BIG_CLUSTERS ?? 10_000);
const POOLS_PER_CLUSTER = 4;
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

function startEmulator(extraEnv: Record<string, string> = {}, dataDir?: string): Promise<Child & { startedAt: number }> {
  const startedAt = performance.now();
  const args = [join(projectRoot, "dist/src/main.js"), "--port", "0", "--host", "127.0.0.1", ...(dataDir ? ["--data-dir", dataDir] : [])];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FLOCI_AZ_SERVICES_AKS_MOCKED: "true", FLOCI_AZ_SERVICES_AKS_LOG_REQUESTS: "false", FLOCI_AZ_SERVICES_AKS_KEY_DIR: keyDir, ...extraEnv },
    stdio: ["ignore", "pipe", "inherit"],
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

/** The baseline: a bare Node https server answering a fixed JSON body of a given size. */
function startBaseline(body: string, cert: { key: string; cert: string; ca: string }): Promise<Child> {
  const source = `
    const https = require("node:https");
    const body = Buffer.from(process.env.BODY);
    https.createServer({ key: process.env.KEY, cert: process.env.CERT }, (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length }).end(body));
    }).listen(0, "127.0.0.1", function () { console.log("listening on port " + this.address().port); });`;
  const child = spawn(process.execPath, ["-e", source], { env: { ...process.env, BODY: body, KEY: cert.key, CERT: cert.cert }, stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve) => {
    child.stdout!.once("data", (chunk) => resolve({ process: child, port: Number(String(chunk).match(/(\d+)/)![1]), ca: cert.ca }));
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

interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function load(name: string, child: Child, options: Partial<autocannon.Options> & { path?: string }): Promise<LoadResult> {
  const { path = "", ...rest } = options;
  const result = await autocannon({
    // autocannon takes the path from the url (a top-level `path` option is ignored)
    url: `https://localhost:${child.port}${path}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    tlsOptions: { ca: child.ca } as never,
    ...rest,
  } as autocannon.Options);
  const out = {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
  console.log(`  ${name}: ${out.rps.toFixed(0)} req/s, p50 ${out.p50} ms, p99 ${out.p99} ms, non-2xx ${out.non2xx}, errors ${out.errors}`);
  return out;
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

/** Milliseconds from process start to the first 200 on a GET, polling as a client would. */
async function timeToFirst200(dataDir?: string): Promise<number> {
  const child = await startEmulator({}, dataDir);
  for (;;) {
    try {
      const res = await call(child, "GET", `/subscriptions/${SUB}?api-version=2022-12-01`);
      if (res.status === 200) break;
    } catch {
      // not accepting yet
    }
  }
  const ms = performance.now() - child.startedAt;
  await stop(child);
  return ms;
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
    while (performance.now() - started < 1000) {
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
  while (performance.now() - started < DURATION_S * 1000) await batch(100);
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

async function main(): Promise<void> {
  const started = new Date();
  console.log(`bench: ${CONNECTIONS} connections, ${DURATION_S} s per scenario, ${cpus().length} cores`);

  // The emulator, with the state each scenario needs.
  const emu = await startEmulator();
  const idleRss = rssMiB(emu.process.pid!);
  await expectStatus(call(emu, "PUT", `/subscriptions/${SUB}/resourcegroups/rg1?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  const created = await expectStatus(call(emu, "PUT", `${clusterPath("rg1", "c1")}?api-version=${AKS}`, clusterBody(1)), 201);
  const statusPath = new URL(created.headers["azure-asyncoperation"]).pathname + new URL(created.headers["azure-asyncoperation"]).search;
  const get = await expectStatus(call(emu, "GET", `${clusterPath("rg1", "c1")}?api-version=${AKS}`), 200);
  for (let i = 0; i < CONNECTIONS; i++) await expectStatus(call(emu, "PUT", `${clusterPath("rg1", `tags${i}`)}?api-version=${AKS}`, clusterBody(1)), 201);
  await expectStatus(call(emu, "PUT", `/subscriptions/${SUB}/resourcegroups/list1000?api-version=2023-07-01`, JSON.stringify({ location: "eastus" })), 201);
  for (let i = 0; i < 1000; i++) await expectStatus(call(emu, "PUT", `${clusterPath("list1000", `l${i}`)}?api-version=${AKS}`, clusterBody(1)), 201);

  const tlsDir = keyDir;
  const baseline = await startBaseline(get.text, {
    key: readFileSync(join(tlsDir, "server-key.pem"), "utf8"),
    cert: readFileSync(join(tlsDir, "server.pem"), "utf8"),
    ca: readFileSync(join(tlsDir, "ca.pem"), "utf8"),
  });

  console.log("load:");
  const results: LoadResult[] = [];
  results.push(await load("baseline: bare https, same body", baseline, { path: "/x" }));
  results.push(await load("GET cluster", emu, { path: `${clusterPath("rg1", "c1")}?api-version=${AKS}` }));
  results.push(await load(`GET cluster at ${OLDEST} (projected onto the oldest document)`, emu, { path: `${clusterPath("rg1", "c1")}?api-version=${OLDEST}` }));
  results.push(await load("GET list of 1,000 clusters (first page of 100)", emu, { path: `/subscriptions/${SUB}/resourceGroups/list1000/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS}` }));
  let createSeq = 0;
  const createBody = clusterBody(1);
  results.push(
    await load("PUT create cluster (validated)", emu, {
      requests: [{ method: "PUT", headers: { "content-type": "application/json" }, body: createBody, setupRequest: (req: any) => ({ ...req, path: `${clusterPath("rg1", `new${createSeq++}`)}?api-version=${AKS}` }) }],
    }),
  );
  let tagSeq = 0;
  results.push(
    await load("PATCH tags", emu, {
      requests: [{ method: "PATCH", headers: { "content-type": "application/json" }, setupRequest: (req: any) => ({ ...req, path: `${clusterPath("rg1", `tags${tagSeq++ % CONNECTIONS}`)}?api-version=${AKS}`, body: JSON.stringify({ tags: { n: String(tagSeq) } }) }) }],
    }),
  );
  results.push(await load("GET operation status (poll)", emu, { path: statusPath }));
  results.push(await getWhileLargePoolsAreWritten(emu));
  await stop(baseline);
  await stop(emu);

  console.log("documents (read and compiled on first use):");
  const documents = await documentCosts();

  console.log("micro (routing + request validation, in process):");
  const micro = await microbenchmark();

  console.log("startup and memory:");
  const emptyStarts: number[] = [];
  for (let i = 0; i < STARTS; i++) emptyStarts.push(await timeToFirst200());
  const bigDir = join(work, "big");
  mkdirSync(bigDir);
  const filler = await startEmulator({}, bigDir);
  await fill(filler, BIG_STORE_CLUSTERS, POOLS_PER_CLUSTER);
  await stop(filler);
  const bigStarts: number[] = [];
  for (let i = 0; i < STARTS; i++) bigStarts.push(await timeToFirst200(bigDir));
  const big = await startEmulator({}, bigDir);
  await expectStatus(call(big, "GET", `${clusterPath("big", "c0")}?api-version=${AKS}`), 200);
  const bigRss = rssMiB(big.process.pid!);
  await stop(big);
  // The same state in the memory store (no data folder), which keeps every record parsed.
  const inMemory = await startEmulator();
  await fill(inMemory, BIG_STORE_CLUSTERS, POOLS_PER_CLUSTER);
  await expectStatus(call(inMemory, "GET", `${clusterPath("big", "c0")}?api-version=${AKS}`), 200);
  const memoryStoreRss = rssMiB(inMemory.process.pid!);
  await stop(inMemory);
  console.log(`  start to first 200: ${median(emptyStarts).toFixed(0)} ms empty, ${median(bigStarts).toFixed(0)} ms with ${BIG_STORE_CLUSTERS} clusters`);
  console.log(
    `  RSS: ${idleRss.toFixed(0)} MiB idle, ${bigRss.toFixed(0)} MiB with ${BIG_STORE_CLUSTERS} clusters and ${BIG_STORE_CLUSTERS * POOLS_PER_CLUSTER} pools in a data folder, ${memoryStoreRss.toFixed(0)} MiB in memory`,
  );

  const base = results[0];
  const report = {
    date: started.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { connections: CONNECTIONS, durationSeconds: DURATION_S, starts: STARTS, bigStoreClusters: BIG_STORE_CLUSTERS, poolsPerCluster: POOLS_PER_CLUSTER, clusterGetBytes: Buffer.byteLength(get.text) },
    load: results.map((r) => ({ ...r, ratioToBaseline: r.rps / base.rps })),
    startupMs: { emptyMedian: median(emptyStarts), empty: emptyStarts, bigStoreMedian: median(bigStarts), bigStore: bigStarts },
    rssMiB: { idle: idleRss, bigStore: bigRss, bigMemoryStore: memoryStoreRss, beforeDocuments: documents.rssBefore, allDocumentsLoaded: documents.rssAfter },
    documents: { firstGetMs: documents.firstMs, laterGetMedianMs: documents.againMs },
    microOpsPerSecond: micro,
  };
  const markdown = [
    `Run ${report.date} on ${report.machine.cpus} cores (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; ` +
      `autocannon ${CONNECTIONS} connections x ${DURATION_S} s per row, HTTPS; cluster GET body ${report.settings.clusterGetBytes} bytes.`,
    "",
    "| scenario | req/s | ratio to baseline | p50 ms | p99 ms | non-2xx |",
    "|---|---:|---:|---:|---:|---:|",
    ...report.load.map((r) => `| ${r.name} | ${r.rps.toFixed(0)} | ${r.ratioToBaseline.toFixed(2)} | ${r.p50} | ${r.p99} | ${r.non2xx} |`),
    "",
    "| measure | value |",
    "|---|---:|",
    `| start to first 200, empty store (median of ${STARTS}) | ${report.startupMs.emptyMedian.toFixed(0)} ms |`,
    `| start to first 200, data folder with ${BIG_STORE_CLUSTERS} clusters (median of ${STARTS}) | ${report.startupMs.bigStoreMedian.toFixed(0)} ms |`,
    `| RSS idle | ${report.rssMiB.idle.toFixed(0)} MiB |`,
    `| RSS after one ARM call, then with all ${apiVersions.length} documents loaded | ${documents.rssBefore.toFixed(0)} -> ${documents.rssAfter.toFixed(0)} MiB |`,
    ...Object.entries(documents.firstMs).map(([version, ms]) => `| first GET at ${version} after start (reads and compiles that document) | ${ms.toFixed(0)} ms |`),
    `| later GETs (median of 20) | ${documents.againMs.toFixed(1)} ms |`,
    `| RSS with ${BIG_STORE_CLUSTERS} clusters and ${BIG_STORE_CLUSTERS * POOLS_PER_CLUSTER} agent pools, data folder (SQLite) | ${report.rssMiB.bigStore.toFixed(0)} MiB |`,
    `| RSS with ${BIG_STORE_CLUSTERS} clusters and ${BIG_STORE_CLUSTERS * POOLS_PER_CLUSTER} agent pools, memory store (no data folder) | ${report.rssMiB.bigMemoryStore.toFixed(0)} MiB |`,
    ...Object.entries(micro).map(([name, ops]) => `| ${name} (in process) | ${ops.toFixed(0)} ops/s |`),
    "",
  ].join("\n");
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
