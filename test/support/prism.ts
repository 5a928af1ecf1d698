// An independent check of the wire traffic: Stoplight Prism (`prism proxy --errors`) between the
// tests and the emulator, validating every request and response of the AKS API against the generated
// OpenAPI document. Turned on with AKS_EMULATOR_VIA_PRISM=1 (npm run test:prism); see startTestEmulator.
//
//   SDK / fetch --https--> TLS front --http--> prism proxy --http--> emulator (plain HTTP side)
//                              \--------------------------------------> emulator (everything else)
//
// Why a front: the Azure SDK refuses to send a bearer token over plain HTTP and Prism only listens on
// plain HTTP, so a small HTTPS server (the emulator's own certificate, trusted through
// NODE_EXTRA_CA_CERTS) receives the traffic. It sends to Prism exactly the requests Prism can judge:
// a method and path the document declares, matched case-sensitively as Prism matches them, at the
// document's api-version (Prism takes one document; the 2026-06-01 one). Everything else (resource
// groups, the token endpoint, operation-status URLs, ARM's case-insensitive spellings of AKS paths,
// 2025-10-01 traffic) goes straight to the emulator: Prism would answer the first ones "no path
// matched" and would judge the last against the wrong version's schemas.
// The front sets X-Forwarded-Host/-Proto (Prism passes them on), so the absolute URLs the emulator
// builds (Azure-AsyncOperation, Location, nextLink) point back at the front.
//
// Every error Prism generates itself (application/problem+json: a request or response that breaks
// the document, a missing credential) is reported through onViolation, as a ResponseViolation, so a
// suite's existing "emu.violations stays empty" check catches it; Prism's warnings are kept too.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ResponseViolation } from "../../src/http/armPipeline.js";
import { projectRoot } from "../../src/paths.js";

/** The one document Prism validates against: the SDK suite's default api-version. */
export const PRISM_API_VERSION = "2026-06-01";
export const PRISM_DOCUMENT = join(projectRoot, "generated", "openapi", `${PRISM_API_VERSION}.json`);

export interface PrismFront {
  /** https://localhost:PORT: the front, to use as the emulator's URL. */
  url: string;
  /** Requests the front sent through Prism, and straight to the emulator. */
  stats: { viaPrism: number; direct: number };
  /** Prism's own warning lines (violations of severity warning do not fail a request). */
  warnings: string[];
  close(): Promise<void>;
}

export interface PrismFrontOptions {
  /** http://127.0.0.1:PORT: the emulator's plain-HTTP side. */
  emulatorHttpUrl: string;
  tls: { key: string; cert: string };
  onViolation: (violation: ResponseViolation) => void;
  document?: string;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"]);
const START_TIMEOUT_MS = 60_000;

interface Route {
  method: string;
  pattern: RegExp;
  operationId: string;
}

/** The document's operations as Prism matches them: literal segments exactly, one segment per parameter. */
function routesOf(document: any): Route[] {
  const routes: Route[] = [];
  for (const [template, item] of Object.entries<any>(document.paths)) {
    const source = template
      .split("/")
      .map((segment) => (/^\{[^}]+\}$/.test(segment) ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    for (const [method, operation] of Object.entries<any>(item)) {
      if (operation?.operationId) routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), operationId: operation.operationId });
    }
  }
  return routes;
}

/**
 * Prism runs under a small watchdog process that holds a pipe to this one: when the test process
 * ends in any way (a suite that never closes its emulator, a worker killed by the runner), the pipe
 * closes and the watchdog stops Prism, so no Prism outlives its test run.
 */
const WATCHDOG = `
const { spawn } = require("node:child_process");
const [bin, ...args] = process.argv.slice(1);
const prism = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "inherit", "inherit"] });
const stop = () => prism.exitCode === null && prism.signalCode === null && prism.kill("SIGTERM");
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
prism.on("exit", (code) => process.exit(code ?? 0));
`;

function prismBin(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve("@stoplight/prism-cli/package.json"), "..", "dist", "index.js");
}

/** Starts `prism proxy <document> <emulator> --errors` on a free port and resolves once it listens. */
function startPrism(document: string, upstream: string, warnings: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["-e", WATCHDOG, prismBin(), "proxy", document, upstream, "--errors", "--port", "0", "--host", "127.0.0.1", "--cors=false"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const recent: string[] = [];
  // AKS_EMULATOR_PRISM_LOG=<file>: everything Prism prints, for looking into a run.
  const logFile = process.env.AKS_EMULATOR_PRISM_LOG;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`prism did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    let listening = false;
    function fail(error: Error): void {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\n${recent.join("\n")}`));
    }
    const onLine = (raw: string) => {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, ""); // no colours
      if (logFile) appendFileSync(logFile, `${line}\n`);
      recent.push(line);
      if (recent.length > 40) recent.shift();
      // Prism's levels: "ℹ  info" (every request, and the example requests it prints at start), "⚠  warning", "✖  error"
      if (!line.includes("ℹ") && (line.includes("⚠") || /Violation:/.test(line))) warnings.push(line);
      const match = !listening && line.match(/Prism is listening on (http:\/\/[^\s]+)/);
      if (match) {
        listening = true;
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
    }
    child.once("error", (error) => fail(error));
    child.once("exit", (code, signal) => {
      if (!listening) fail(new Error(`prism exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

/** Turns an error Prism generated (application/problem+json) into the suite's violation record. */
function prismViolation(route: Route, req: IncomingMessage, status: number, problem: any): ResponseViolation {
  const apiVersion = new URL(req.url ?? "/", "http://front").searchParams.get("api-version") ?? "";
  const validation: any[] = Array.isArray(problem?.validation) ? problem.validation : [];
  const issues = validation.length
    ? validation.map((v) => ({
        location: (Array.isArray(v.location) ? v.location : [String(v.location)]).join("/"),
        keyword: String(v.code ?? "prism"),
        message: String(v.message ?? ""),
        params: { severity: v.severity, prism: problem.type },
      }))
    : [{ location: "prism", keyword: String(problem?.type ?? "prism"), message: `${problem?.title ?? "Prism error"}: ${problem?.detail ?? ""}`, params: {} }];
  return { operationId: `${route.operationId} (prism: ${req.method} ${req.url})`, apiVersion, status, issues };
}

export async function startPrismFront(options: PrismFrontOptions): Promise<PrismFront> {
  const document = options.document ?? PRISM_DOCUMENT;
  const parsed = JSON.parse(readFileSync(document, "utf8"));
  const routes = routesOf(parsed);
  const documentVersion: string = parsed.info.version;
  const warnings: string[] = [];
  const emulator = new URL(options.emulatorHttpUrl);
  const prism = await startPrism(document, emulator.origin, warnings);
  const prismUrl = new URL(prism.url);
  const agent = new http.Agent({ keepAlive: true });
  const stats = { viaPrism: 0, direct: 0 };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const [path, query = ""] = (req.url ?? "/").split("?");
    const sameVersion = new URLSearchParams(query).get("api-version") === documentVersion;
    const route = sameVersion ? routes.find((r) => r.method === req.method && r.pattern.test(path)) : undefined;
    const target = route ? prismUrl : emulator;
    if (route) stats.viaPrism++;
    else stats.direct++;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && name !== "host") headers[name] = value;
    headers.host = target.host;
    headers["x-forwarded-host"] = req.headers.host ?? "";
    headers["x-forwarded-proto"] = "https";
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        const status = answer.statusCode ?? 502;
        const responseHeaders: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
        const problem = route && String(answer.headers["content-type"] ?? "").includes("application/problem+json");
        if (!problem) {
          res.writeHead(status, responseHeaders);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { title: "unparseable Prism error", detail: text };
          }
          options.onViolation(prismViolation(route!, req, status, parsed));
          res.writeHead(status, responseHeaders);
          res.end(text);
        });
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "BadGateway", message: `the Prism front could not reach ${target.origin}: ${error.message}` } }));
    });
    req.pipe(upstream);
  };

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert, ALPNProtocols: ["http/1.1"] }, forward);
  const port = await listen(server);

  return {
    url: `https://localhost:${port}`,
    stats,
    warnings,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      if (prism.child.exitCode === null && prism.child.signalCode === null) {
        const exited = new Promise<void>((resolve) => prism.child.once("exit", () => resolve()));
        prism.child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Dual-stack "::" (so https://localhost reaches it over IPv6 or IPv4), else 127.0.0.1. */
function listen(server: https.Server): Promise<number> {
  const attempt = (host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  return attempt("::").catch(() => attempt("127.0.0.1"));
}
