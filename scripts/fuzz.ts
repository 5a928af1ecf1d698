// npm run fuzz: property-based fuzzing of every operation of the generated OpenAPI documents with
// Schemathesis (PyPI), bounded and seeded, against a child emulator in mocked mode.
//
// 1. Installs the pinned Schemathesis into .venv/ (git-ignored) unless that exact version is there:
//    `python3 -m venv .venv && .venv/bin/pip install schemathesis==<SCHEMATHESIS_VERSION>`
//    (4.32.5: OpenAPI 3.0, hooks, --seed, the checks below; needs Python 3.11 or newer).
// 2. Starts `node dist/src/main.js` on a free port (mocked, state in memory, one log line per request,
//    response validation "warn" so Schemathesis sees the emulator's real responses).
// 3. Per api-version: creates fixtures (a resource group, a cluster with its pool, a snapshot and
//    children) that scripts/fuzz.hooks.py aims part of the generated path parameters at, then runs
//    `schemathesis run` with the checks below over the examples, coverage and fuzzing phases.
//    The stateful phase is off: the documents declare no OpenAPI links to chain operations with.
// 4. Passes when no operation failed a check, the emulator logged no 5xx, no unhandled error and no
//    response that breaks the spec, and the emulator is still alive and answering at the end.
//
// Prints one line per api-version and a closing `fuzz: N passed, N failed` (one test per operation
// and version, one per version for the emulator's own log, one for liveness); `--summary FILE`
// also writes {passed, failed, skipped} as JSON (.ci/run sums it into its closing count).
// Settings: AKS_FUZZ_VERSIONS (comma-separated), AKS_FUZZ_MAX_EXAMPLES, AKS_FUZZ_SEED, AKS_FUZZ_WORKERS,
// AKS_FUZZ_ARGS (more schemathesis arguments), AKS_FUZZ_KEEP=1 (keep the scratch folder with the
// emulator's log and the JUnit report), PYTHON (the interpreter that creates .venv; default python3).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { apiVersions } from "../generated/operations.js";

const SCHEMATHESIS_VERSION = "4.32.5";
// Left out: positive_data_acceptance (ARM refuses schema-valid requests by design: an api-version the
// document types as any string, a 404 for a name that does not exist, the RP's own 400/409 rules),
// use_after_free and ensure_resource_availability (need OpenAPI links, and the hooks put deleted
// fixtures back), ignored_auth and object_level_authorization (without a token the ARM routes answer
// unless token checks are switched on; there is one caller).
const CHECKS = [
  "not_a_server_error",
  "status_code_conformance", // ARM answers errors through `default`, which every operation declares
  "content_type_conformance",
  "response_schema_conformance",
  "response_headers_conformance",
  "negative_data_rejection",
  "missing_required_header",
  "unsupported_method",
  "allow_header_conformance",
];
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Every vendored document by default (AKS_FUZZ_VERSIONS narrows it).
const versions = (process.env.AKS_FUZZ_VERSIONS ?? apiVersions.join(",")).split(",").map((v) => v.trim()).filter(Boolean);
const maxExamples = Number(process.env.AKS_FUZZ_MAX_EXAMPLES ?? 20);
const seed = Number(process.env.AKS_FUZZ_SEED ?? 20260601);
// One worker: with two, Schemathesis' threads hit CPython 3.11's AST thread-safety bug (gh-106905,
// "AST constructor recursion depth mismatch" from Hypothesis), and one keeps the run reproducible.
const workers = process.env.AKS_FUZZ_WORKERS ?? "1";
const summaryAt = process.argv.indexOf("--summary");
const summaryFile = summaryAt >= 0 ? process.argv[summaryAt + 1] : undefined;

const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
const LOCATION = "eastus";
const RG = "fuzz-rg";
const CLUSTER = "fuzzaks";
const POOL = "nodepool1";
const rgPath = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}`;
const clusterPath = `${rgPath}/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`;

const log = (line: string) => console.log(`fuzz: ${line}`);

// ---- 1. Schemathesis in .venv ----------------------------------------------------------------------
const venv = join(root, ".venv");
const venvBin = (name: string) => join(venv, process.platform === "win32" ? "Scripts" : "bin", name);

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

const succeeds = (command: string, args: string[]) => spawnSync(command, args, { cwd: root, stdio: "ignore" }).status === 0;

function installedVersion(): string | undefined {
  if (!existsSync(venvBin("schemathesis"))) return undefined;
  const result = spawnSync(venvBin("schemathesis"), ["--version"], { encoding: "utf8" });
  return result.stdout?.match(/version (\S+)/)?.[1];
}

function ensureSchemathesis(): void {
  if (installedVersion() === SCHEMATHESIS_VERSION) return;
  log(`installing schemathesis==${SCHEMATHESIS_VERSION} into .venv/`);
  const python = process.env.PYTHON ?? "python3";
  // Where the interpreter lacks ensurepip (Debian without python3-venv), a venv without pip is
  // filled by the interpreter's own pip through `pip --python`.
  if (!existsSync(venvBin("python")) && !succeeds(python, ["-m", "venv", venv])) run(python, ["-m", "venv", "--without-pip", venv]);
  const install = ["install", "--disable-pip-version-check", "--quiet", `schemathesis==${SCHEMATHESIS_VERSION}`];
  if (succeeds(venvBin("python"), ["-m", "pip", "--version"])) run(venvBin("python"), ["-m", "pip", ...install]);
  else run(python, ["-m", "pip", "--python", venvBin("python"), ...install]);
  const got = installedVersion();
  if (got !== SCHEMATHESIS_VERSION) throw new Error(`.venv/bin/schemathesis reports version ${got}, expected ${SCHEMATHESIS_VERSION}`);
}

// ---- 2. The child emulator ---------------------------------------------------------------------------
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

interface Emulator {
  child: ChildProcess;
  baseUrl: string;
  logFile: string;
  exited: () => boolean;
}

async function startEmulator(work: string): Promise<Emulator> {
  const main = join(root, "dist", "src", "main.js");
  if (!existsSync(main)) throw new Error("dist/src/main.js is missing: run npm run build first");
  const port = await freePort();
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("FLOCI_AZ_SERVICES_AKS_")));
  Object.assign(env, {
    FLOCI_AZ_SERVICES_AKS_MOCKED: "true",
    FLOCI_AZ_SERVICES_AKS_KEY_DIR: join(work, "keys"),
    FLOCI_AZ_SERVICES_AKS_LOG_REQUESTS: "true",
    FLOCI_AZ_SERVICES_AKS_RESPONSE_VALIDATION: "warn",
    // Negative cases expect Azure's refusals, not the default mode's let-offs.
    FLOCI_AZ_SERVICES_AKS_STRICT: "true",
  });
  const logFile = join(work, "emulator.log");
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [main, "--port", String(port), "--host", "127.0.0.1"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  let exit: string | undefined;
  child.once("exit", (code, signal) => (exit = `exit ${code ?? signal}`));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exit) throw new Error(`the emulator stopped at start (${exit}):\n${readFileSync(logFile, "utf8")}`);
    if (await answers(baseUrl)) break;
    if (Date.now() > deadline) throw new Error(`the emulator did not answer on ${baseUrl} within 30s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, baseUrl, logFile, exited: () => exit !== undefined };
}

async function answers(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/subscriptions?api-version=2022-12-01`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

// ---- 3. Fixtures -------------------------------------------------------------------------------------
type Fixture = [method: string, pathAndQuery: string, body: unknown];

async function call(baseUrl: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(baseUrl + pathAndQuery, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** Creates the fixtures the version's document has operations for; returns the pins and the list to restore them. */
async function createFixtures(baseUrl: string, version: string, document: any): Promise<{ pins: Record<string, string>; restore: Fixture[] }> {
  const has = (template: string) => !!document.paths[template]?.put;
  const child = (collection: string, name: string) => `${clusterPath}/${collection}/${name}?api-version=${version}`;
  const template = (collection: string, param: string) =>
    `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/${collection}/{${param}}`;
  const poolId = `${clusterPath}/agentPools/${POOL}`;
  const restore: Fixture[] = [
    ["PUT", `/subscriptions/${SUBSCRIPTION}/resourcegroups/${RG}?api-version=2023-07-01`, { location: LOCATION }],
    ["PUT", `${clusterPath}?api-version=${version}`, {
      location: LOCATION,
      properties: { dnsPrefix: CLUSTER, agentPoolProfiles: [{ name: POOL, count: 2, mode: "System" }] },
      identity: { type: "SystemAssigned" },
    }],
    ["PUT", `${rgPath}/providers/Microsoft.ContainerService/snapshots/${CLUSTER}?api-version=${version}`, { location: LOCATION, properties: { creationData: { sourceResourceId: poolId } } }],
  ];
  const pins: Record<string, string> = {
    subscriptionId: SUBSCRIPTION,
    resourceGroupName: RG,
    resourceName: CLUSTER, // the cluster, and the snapshot of the same name
    agentPoolName: POOL,
    location: LOCATION,
    mode: "istio",
    roleName: "clusterUser",
  };
  const children: [collection: string, param: string, name: string, body: unknown][] = [
    ["maintenanceConfigurations", "configName", "default", { properties: { timeInWeek: [{ day: "Monday", hourSlots: [1, 2] }] } }],
    ["managedNamespaces", "managedNamespaceName", "fuzzns", { location: LOCATION, properties: { labels: { team: "fuzz" } } }],
    ["trustedAccessRoleBindings", "trustedAccessRoleBindingName", "fuzztarb", {
      properties: { sourceResourceId: `${rgPath}/providers/Microsoft.DataProtection/backupVaults/fuzzvault`, roles: ["Microsoft.DataProtection/backupVaults/backup-operator"] },
    }],
    ["identityBindings", "identityBindingName", "fuzzib", {
      properties: { managedIdentity: { resourceId: `${rgPath}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fuzz-uami` } },
    }],
  ];
  for (const [collection, param, name, body] of children) {
    if (!has(template(collection, param))) continue;
    restore.push(["PUT", child(collection, name), body]);
    pins[param] = name;
  }
  for (const [method, pathAndQuery, body] of restore) {
    const response = await call(baseUrl, method, pathAndQuery, body);
    if (response.status >= 300) throw new Error(`fixture ${method} ${pathAndQuery}: ${response.status} ${JSON.stringify(response.json)}`);
  }
  const machines = await call(baseUrl, "GET", `${clusterPath}/agentPools/${POOL}/machines?api-version=${version}`);
  if (machines.status === 200 && machines.json.value?.[0]?.name) pins.machineName = machines.json.value[0].name;
  const command = await call(baseUrl, "POST", `${clusterPath}/runCommand?api-version=${version}`, { command: "kubectl get nodes" });
  const commandId = command.headers.get("location")?.match(/commandResults\/([^?]+)/)?.[1];
  if (commandId) pins.commandId = commandId;
  return { pins, restore };
}

// ---- 4. One Schemathesis run per api-version -----------------------------------------------------
interface VersionResult {
  version: string;
  operations: number;
  failedOperations: string[];
  testCases: number | undefined;
  requests: number;
  serverErrors: string[];
  specBreaks: string[];
  unhandled: string[];
  exitCode: number | null;
}

async function fuzzVersion(emulator: Emulator, work: string, version: string): Promise<VersionResult> {
  const documentPath = join(root, "generated", "openapi", `${version}.json`);
  const document = JSON.parse(readFileSync(documentPath, "utf8"));
  const fixtures = await createFixtures(emulator.baseUrl, version, document);
  const fixturesFile = join(work, `fixtures-${version}.json`);
  writeFileSync(fixturesFile, JSON.stringify({ baseUrl: emulator.baseUrl, apiVersion: version, ...fixtures }));
  const junit = join(work, `junit-${version}.xml`);
  const logStart = readFileSync(emulator.logFile).length;
  const args = [
    "run", documentPath,
    "--url", emulator.baseUrl, // the document's server is https://management.azure.com
    "--checks", CHECKS.join(","),
    "--phases", "examples,coverage,fuzzing",
    "--max-examples", String(maxExamples),
    "--seed", String(seed),
    "--workers", workers,
    "--generation-database", "none", // no example database carried between runs: the seed alone decides
    "--request-timeout", "30",
    "--report", "junit",
    "--report-junit-path", junit,
    "--no-color",
    ...(process.env.AKS_FUZZ_ARGS ?? "").split(" ").filter(Boolean), // e.g. "--mode positive" when digging
  ];
  log(`${version}: schemathesis ${args.slice(1).map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}`);
  const child = spawn(venvBin("schemathesis"), args, {
    cwd: work, // its .hypothesis/ and .schemathesis/ folders land in the scratch folder
    env: { ...process.env, SCHEMATHESIS_HOOKS: join(root, "scripts", "fuzz.hooks.py"), AKS_FUZZ_FIXTURES: fixturesFile, PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
    process.stdout.write(chunk);
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
    process.stderr.write(chunk);
  });
  const timeout = setTimeout(() => child.kill("SIGTERM"), 15 * 60_000);
  const exitCode = await new Promise<number | null>((done) => child.once("close", (code) => done(code)));
  clearTimeout(timeout);

  const failedOperations: string[] = [];
  let operations = 0;
  if (existsSync(junit)) {
    const xml = readFileSync(junit, "utf8");
    for (const match of xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      operations++;
      if (match[3] && /<(failure|error)\b/.test(match[3])) failedOperations.push(match[1]);
    }
  }
  const logText = readFileSync(emulator.logFile).subarray(logStart).toString("utf8");
  const requestLines = [...logText.matchAll(/^\S+ (GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS|TRACE|CONNECT|\S+) (\S+) (\d{3}) [\d.]+ms$/gm)];
  return {
    version,
    operations,
    failedOperations,
    testCases: Number(output.match(/Test cases:\s*\n\s*(\d+) generated/)?.[1]) || undefined,
    requests: requestLines.length,
    serverErrors: requestLines.filter((m) => m[3].startsWith("5")).map((m) => `${m[1]} ${m[2]} ${m[3]}`),
    specBreaks: logText.split("\n").filter((line) => line.includes("breaks the spec")),
    unhandled: logText.split("\n").filter((line) => / ERROR /.test(line)),
    exitCode,
  };
}

// ---- main --------------------------------------------------------------------------------------------
async function main(): Promise<number> {
  ensureSchemathesis();
  log(`schemathesis ${installedVersion()}, api-versions ${versions.join(", ")}, checks ${CHECKS.join(",")}, max-examples ${maxExamples}, seed ${seed}, workers ${workers}`);
  const work = mkdtempSync(join(tmpdir(), "aks-emulator-fuzz-"));
  const emulator = await startEmulator(work);
  let passed = 0;
  let failed = 0;
  try {
    const results: VersionResult[] = [];
    for (const version of versions) results.push(await fuzzVersion(emulator, work, version));
    const alive = !emulator.exited() && (await answers(emulator.baseUrl));
    console.log("");
    for (const r of results) {
      const logClean = !r.serverErrors.length && !r.specBreaks.length && !r.unhandled.length;
      passed += r.operations - r.failedOperations.length + (logClean ? 1 : 0);
      // No report, or a failing exit that no operation accounts for: the run itself failed.
      const runFailed = r.operations === 0 || (r.exitCode !== 0 && !r.failedOperations.length);
      failed += r.failedOperations.length + (logClean ? 0 : 1) + (runFailed ? 1 : 0);
      log(
        `${r.version}: ${r.operations} operations, ${r.testCases ?? "?"} test cases, ${r.requests} requests seen by the emulator; ` +
          `${r.failedOperations.length} operations failed a check; emulator log: ${r.serverErrors.length} 5xx, ${r.specBreaks.length} responses breaking the spec, ${r.unhandled.length} errors` +
          (r.exitCode ? ` (schemathesis exit ${r.exitCode})` : ""),
      );
      for (const op of r.failedOperations) log(`  failed: ${op}`);
      for (const line of [...r.serverErrors, ...r.specBreaks, ...r.unhandled].slice(0, 20)) log(`  emulator: ${line}`);
    }
    log(`emulator ${alive ? "alive and answering" : "NOT answering"} after the run`);
    if (alive) passed++;
    else failed++;
  } finally {
    emulator.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    if (process.env.AKS_FUZZ_KEEP !== "1") rmSync(work, { recursive: true, force: true });
    else log(`scratch folder kept: ${work}`);
  }
  console.log(`fuzz: ${passed} passed, ${failed} failed`);
  if (summaryFile) writeFileSync(summaryFile, JSON.stringify({ passed, failed, skipped: 0 }));
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`fuzz: ${error.stack ?? error.message}`);
    console.log("fuzz: 0 passed, 1 failed"); // the run itself could not be made: one failure, not none
    if (summaryFile) writeFileSync(summaryFile, JSON.stringify({ passed: 0, failed: 1, skipped: 0 }));
    process.exit(1);
  },
);
