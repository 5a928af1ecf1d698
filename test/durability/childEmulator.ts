// The emulator as a user runs it: `node dist/src/main.js` in a child process, so a test can stop it
// cleanly (SIGTERM), kill it outright (SIGKILL) and start it again on the same data folder. The child
// binds 127.0.0.1 on port 0 (or a port the test chose) and the test reads the port from its log.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import net from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(ROOT, "dist/src/main.js");
export const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
export const AKS_API = "2026-06-01";
export const RG_API = "2023-07-01";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildEmulator {
  port: number;
  /** https://127.0.0.1:PORT (the CA is trusted through NODE_EXTRA_CA_CERTS, set by globalSetup). */
  url: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
  /** Sends the signal and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface ChildOptions {
  dataDir?: string;
  /** FLOCI_AZ_SERVICES_AKS_MOCK_PROVISIONING_DELAY_MS */
  delayMs?: number;
  port?: number;
  env?: Record<string, string>;
  /** A command the CLI runs under, e.g. ["unshare", "--mount", "sh", "-c", "...; exec \"$@\"", "sh"]. */
  wrapper?: string[];
  /** Called with each chunk of stdout as it arrives (to act on a log line). */
  onStdout?: (text: string, child: ChildProcess) => void;
}

/** The bundle (dist/src/main.js) must be at least as new as every source file, or the test would run old code. */
export function assertBuildIsCurrent(): void {
  let builtAt: number;
  try {
    builtAt = statSync(CLI).mtimeMs;
  } catch {
    throw new Error(`${relative(ROOT, CLI)} is missing: run \`npm run build\` (npm test does) before these tests`);
  }
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && statSync(path).mtimeMs > builtAt) stale.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, "src"));
  if (stale.length) {
    throw new Error(`dist/src/main.js is older than ${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", ..." : ""}: run \`npm run build\` (npm test does) before these tests`);
  }
}

function childEnv(options: ChildOptions): NodeJS.ProcessEnv {
  const keyDir = process.env.AKS_EMULATOR_TEST_DATA_DIR;
  if (!keyDir) throw new Error("test/support/globalSetup.ts did not run");
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("FLOCI_AZ_SERVICES_AKS_")) env[name] = value;
  return {
    ...env,
    FLOCI_AZ_SERVICES_AKS_MOCKED: "true",
    FLOCI_AZ_SERVICES_AKS_KEY_DIR: keyDir,
    FLOCI_AZ_SERVICES_AKS_LOG_REQUESTS: "false",
    FLOCI_AZ_SERVICES_AKS_MOCK_PROVISIONING_DELAY_MS: String(options.delayMs ?? 0),
    ...options.env,
  };
}

function cliArgs(options: ChildOptions): string[] {
  return [CLI, "--port", String(options.port ?? 0), "--host", "127.0.0.1", ...(options.dataDir ? ["--data-dir", options.dataDir] : [])];
}

/** Spawns the CLI; resolves once it logs the port it listens on, rejects (with its output) if it exits first. */
export function startChild(options: ChildOptions = {}, timeoutMs = 20_000): Promise<ChildEmulator> {
  const command = [...(options.wrapper ?? []), process.execPath, ...cliArgs(options)];
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: childEnv(options), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<Exit>((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  return new Promise<ChildEmulator>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rejectStart(new Error(`the emulator did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      options.onStdout?.(text, child);
      const match = output.match(/listening on port (\d+)/);
      if (match && timer) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.on("data", (more: Buffer) => (output += more.toString("utf8")));
        const port = Number(match[1]);
        resolveStart({
          port,
          url: `https://127.0.0.1:${port}`,
          httpUrl: `http://127.0.0.1:${port}`,
          child,
          output: () => output,
          exited,
          stop: (signal = "SIGTERM") => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    exited.then((exit) => {
      clearTimeout(timer);
      rejectStart(Object.assign(new Error(`the emulator exited (${exit.code ?? exit.signal}) before listening:\n${output}`), { exit, output }));
    });
  });
}

/** Runs the CLI expecting it to stop by itself; resolves with how it ended, its output and how long it took. */
export function runToExit(options: ChildOptions = {}, timeoutMs = 15_000): Promise<Exit & { output: string; ms: number; timedOut: boolean }> {
  const command = [...(options.wrapper ?? []), process.execPath, ...cliArgs(options)];
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: childEnv(options), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  return new Promise((resolveExit) =>
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal, output, ms: Date.now() - started, timedOut });
    }),
  );
}

/** A port nobody listens on now: bound on 0, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolveCheck(true);
    });
    socket.once("error", () => resolveCheck(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolveCheck(false);
    });
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One ARM call: plain fetch, JSON in and out; `path` is relative to `base` or an absolute URL. */
export async function call(base: string, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
  const response = await fetch(path.startsWith("http") ? path : `${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** The same URL on another emulator (a restarted one listens on a new port). */
export function onBase(base: string, url: string): string {
  const parsed = new URL(url);
  return `${base}${parsed.pathname}${parsed.search}`;
}

export const rgPath = (rg: string) => `/subscriptions/${SUBSCRIPTION}/resourcegroups/${rg}?api-version=${RG_API}`;
export const clusterPath = (rg: string, cluster: string, api = AKS_API) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}${api ? `?api-version=${api}` : ""}`;
export const poolPath = (rg: string, cluster: string, pool: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}/agentPools/${pool}?api-version=${AKS_API}`;
export const poolsPath = (rg: string, cluster: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}/agentPools?api-version=${AKS_API}`;

export function clusterBody(tags: Record<string, string> = {}): Record<string, unknown> {
  return { location: "eastus", tags, properties: { dnsPrefix: "dur", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } };
}

export function poolBody(tags: Record<string, string> = {}): Record<string, unknown> {
  return { properties: { count: 1, vmSize: "Standard_DS2_v2", mode: "User", tags } };
}

/** Every item of a list, following nextLink. */
export async function listAll(base: string, path: string): Promise<any[]> {
  const items: any[] = [];
  let next: string | undefined = path;
  while (next) {
    const answer = await call(base, "GET", next.startsWith("http") ? onBase(base, next) : next);
    if (answer.status !== 200) throw new Error(`GET ${next}: ${answer.status} ${JSON.stringify(answer.body)}`);
    items.push(...answer.body.value);
    next = answer.body.nextLink;
  }
  return items;
}

export const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
