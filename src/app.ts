// Composition root: config, store, backend, engine, spec, routes and servers wired together once.
// Tests call startApp with port 0 and their own store, backend or clock.
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SpecRegistry } from "./api/spec.js";
import { reusable } from "./http/encodedBodies.js";
import type { Services } from "./handlers/contract.js";
import type { Config } from "./config.js";
import type { ClusterBackend } from "./engine/backend.js";
import { MockBackend } from "./engine/backends/mock.js";
import { startHealthWatch } from "./engine/health.js";
import { isStopped } from "./engine/lifecycle.js";
import { loadVersionCatalogue } from "./engine/versions.js";
import { CLUSTER_TYPE, Engine } from "./engine/engine.js";
import { engineInventory } from "./engine/inventory.js";
import { aksHandlers } from "./handlers/index.js";
import { createArmPipeline, type ResponseViolation } from "./http/armPipeline.js";
import { createDualProtocolServer, type DualProtocolServer } from "./http/dualProtocolServer.js";
import { RequestJournal } from "./http/journal.js";
import { FaultRegistry, loadFaultsFile } from "./http/faults.js";
import { RateLimiter } from "./http/rateLimits.js";
import { armRoutes } from "./http/routes.js";
import { webEndpoints } from "./http/webEndpoints.js";
import { recoverInterruptedOperations } from "./engine/recovery.js";
import { MemoryStore } from "./store/memoryStore.js";
import { SqliteStore } from "./store/sqliteStore.js";
import type { ResourceStore } from "./store/store.js";
import { loadOrCreateTls } from "./tls/certificates.js";
import { consoleLogger, systemClock, type Clock, type Logger } from "./util.js";

export interface AppOptions {
  config: Config;
  store?: ResourceStore;
  backend?: ClusterBackend;
  clock?: Clock;
  logger?: Logger;
  onResponseViolation?: (violation: ResponseViolation) => void;
}

export interface RunningApp {
  port: number;
  /** https://localhost:PORT */
  url: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  caPem: string;
  caPath: string;
  services: Services;
  mode: { kind: "mock" | "k3s"; reason: string };
  close(): Promise<void>;
}

/** Mocked or real: the setting when given, else real when a Docker engine answers. */
export async function decideMode(config: Config): Promise<{ mocked: boolean; reason: string }> {
  if (config.mocked !== undefined) {
    return { mocked: config.mocked, reason: `FLOCI_AZ_SERVICES_AKS_MOCKED=${config.mocked}` };
  }
  try {
    // dockerode and the k3s backend load only when they can be needed: start-up stays quick.
    const { default: Docker } = await import("dockerode");
    const docker = new Docker();
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 1.5 s")), 1500).unref())]);
    return { mocked: false, reason: "FLOCI_AZ_SERVICES_AKS_MOCKED is unset and a Docker engine answers" };
  } catch (error) {
    return { mocked: true, reason: `FLOCI_AZ_SERVICES_AKS_MOCKED is unset and no Docker engine answers (${(error as Error).message})` };
  }
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config } = options;
  // A catalogue file that cannot be used stops the start (ConfigError naming the file and the fault).
  loadVersionCatalogue(config.kubernetesVersionsFile);
  const logger = options.logger ?? consoleLogger;
  const clock = options.clock ?? systemClock;
  const store = options.store ?? openStore(config);

  let backend = options.backend;
  let mode: RunningApp["mode"];
  if (backend) mode = { kind: backend.kind, reason: "backend supplied by the caller" };
  else {
    const decision = await decideMode(config);
    if (decision.mocked) backend = new MockBackend(config.mockProvisioningDelayMs);
    else {
      const { K3sBackend } = await import("./engine/backends/k3s.js");
      const k3s = new K3sBackend({
        store,
        logger,
        defaultImage: config.defaultImage,
        apiServerBasePort: config.apiServerBasePort,
        apiServerMaxPort: config.apiServerMaxPort,
        apiServerHost: config.apiServerHost,
        apiServerAccess: config.apiServerAccess,
        privileged: config.privileged,
        readyTimeoutSeconds: config.readyTimeoutSeconds,
        keepRunningOnShutdown: config.keepRunningOnShutdown,
        durable: config.dataDir !== undefined,
      });
      await k3s.init();
      backend = k3s;
    }
    mode = { kind: backend.kind, reason: decision.reason };
  }

  const tls = await loadOrCreateTls(config.keyDir, config.hostNames);
  // Documents load on first use; a projection of a served view is kept with its JSON.
  const spec = new SpecRegistry(reusable);
  // The token issuer (jose, express, the signing key) and the web endpoints (express) load on first
  // use, not at start: about 50 ms of start-up CPU that no ARM request needs.
  const issuer = once(async () => (await import("./platform/identity.js")).loadOrCreateIssuer(config.keyDir));
  const engine = new Engine(store, backend, clock, logger, config);
  const services: Services = { config, store, engine, clock, logger };
  // Real mode: containers of known clusters are adopted, the rest removed, before operations resume.
  await backend
    .reconcile?.((id) => {
      const cluster = store.get(id);
      if (!cluster || cluster.type !== CLUSTER_TYPE) return undefined;
      return { cluster: engine.clusterRef(cluster), pools: engine.poolRefs(cluster), running: !isStopped(cluster) };
    })
    .catch((error: Error) => logger.warn(`aks-emulator: reconciling the k3s containers failed: ${error.message}`));
  const recovered = await recoverInterruptedOperations(engine, store, clock, logger);
  if (recovered) logger.info(`aks-emulator: settled ${recovered} operation(s) interrupted by the last stop`);
  const healthWatch = startHealthWatch(engine, store, backend, config.healthCheckIntervalSeconds, logger);

  const { routes, handlers, platformVersions } = armRoutes(spec.routes(), aksHandlers);
  const journal = new RequestJournal(config.journalBodies);
  // Fault injection: the faults file's rules are installed now and at each reset; a file that cannot be used stops the start.
  let startupFaults;
  try {
    startupFaults = config.faultsFile ? loadFaultsFile(config.faultsFile) : [];
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
  const faults = new FaultRegistry(startupFaults);
  if (startupFaults.length) logger.info(`aks-emulator: ${startupFaults.length} fault rule(s) from ${config.faultsFile}`);
  const rateLimits = new RateLimiter(config.rateLimit);
  const pipeline = createArmPipeline({
    services,
    spec,
    routes,
    handlers,
    platformVersions,
    fallback: webEndpoints({ config, spec, engine, logger, mode, issuer, caCertPem: () => tls.caCertPem, journal, faults, rateLimits, inventory: engineInventory(engine) }),
    onResponseViolation: options.onResponseViolation,
    issuer: { verify: async (token, accepted) => (await issuer()).verify(token, accepted) },
    journal,
    faults,
    rateLimits,
  });
  const server = createDualProtocolServer(pipeline, { key: tls.keyPem, cert: tls.certPem }, {
    // node requires headersTimeout <= requestTimeout (0: no request limit).
    headersTimeoutMs: config.requestTimeoutMs > 0 ? Math.min(30_000, config.requestTimeoutMs) : 30_000,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: 65_000,
    maxHeaderSize: config.maxHeaderBytes,
  });
  const port = await listen(server, config.port, config.bindHost);

  return {
    port,
    url: `https://localhost:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    caPem: tls.caCertPem,
    caPath: tls.caPath,
    services,
    mode,
    close: async () => {
      healthWatch?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Real mode: the k3s containers go too, unless FLOCI_AZ_SERVICES_AKS_KEEP_RUNNING_ON_SHUTDOWN.
      await backend.close?.().catch((error: Error) => logger.warn(`aks-emulator: closing the backend: ${error.message}`));
      if (!options.store) store.close();
    },
  };
}

/** A function that runs fn once, on first call, and gives every caller the same promise. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= fn());
}

/** The durable store in the data folder, or memory when there is none; a folder it cannot use stops the start. */
function openStore(config: Config): ResourceStore {
  if (!config.dataDir) return new MemoryStore();
  const file = join(config.dataDir, "aks-emulator.db");
  let store: SqliteStore | undefined;
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    assertWritable(config.dataDir);
    store = new SqliteStore(file);
    store.putSetting("lastStart", new Date().toISOString()); // proves the database takes writes now
    return store;
  } catch (error) {
    store?.close();
    throw new StartupError(`cannot use the data folder ${config.dataDir} (${file}): ${describeStoreError(error as Error & { code?: string })}`);
  }
}

/**
 * Writes, syncs and removes a small file: a read-only file system, a folder without write
 * permission or a full disk is named as such, before SQLite reports it as a vaguer I/O error.
 */
function assertWritable(dir: string): void {
  const probe = join(dir, ".aks-emulator-write-probe");
  const fd = openSync(probe, "w");
  try {
    writeSync(fd, "ok");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    rmSync(probe, { force: true });
  }
}

function describeStoreError(error: Error & { code?: string }): string {
  switch (error.code) {
    case "EROFS":
      return `the file system is read-only (${error.message})`;
    case "ENOSPC":
    case "EDQUOT":
    case "SQLITE_FULL":
      return `the disk is full (${error.message})`;
    case "EACCES":
    case "EPERM":
      return `no permission to write there (${error.message})`;
    case "SQLITE_NOTADB":
      return "the file is not an SQLite database; it was left untouched: move it away or choose another folder";
  }
  return error.code?.startsWith("SQLITE_") ? `${error.message} (${error.code})` : error.message;
}

export class StartupError extends Error {}

/** Binds "::" (IPv6 and IPv4 on one socket) and falls back to 0.0.0.0 where the host has no IPv6. */
function listen(server: DualProtocolServer, port: number, host: string): Promise<number> {
  const attempt = (bindHost: string) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once("error", onError);
      server.listen(port, bindHost, () => {
        server.off("error", onError);
        resolve((server.address() as AddressInfo).port);
      });
    });
  return attempt(host).catch((error: NodeJS.ErrnoException) => {
    if (host === "::" && (error.code === "EAFNOSUPPORT" || error.code === "EADDRNOTAVAIL")) return attempt("0.0.0.0");
    throw error;
  });
}
