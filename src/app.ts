// Composition root: config, store, backend, engine, spec, routes and servers wired together once.
// Tests call startApp with port 0 and their own store, backend or clock.
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import Docker from "dockerode";
import { RouteIndex } from "./api/routeIndex.js";
import { SpecRegistry } from "./api/spec.js";
import type { Handler, Services } from "./api/types.js";
import { ArmError } from "./arm/errors.js";
import type { Config } from "./config.js";
import type { ClusterBackend } from "./engine/backend.js";
import { MockBackend } from "./engine/backends/mock.js";
import { RealModeUnavailableBackend } from "./engine/backends/unavailable.js";
import { Engine } from "./engine/provisioner.js";
import { aksHandlers } from "./handlers/index.js";
import { createArmPipeline, errorResponse, write, type ResponseViolation, type VersionPolicy } from "./http/armPipeline.js";
import { createDualProtocolServer, type DualProtocolServer } from "./http/dualProtocolServer.js";
import { createIdentityRouter, loadOrCreateIssuer } from "./platform/identity.js";
import { platformRoutes } from "./platform/arm.js";
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
    const docker = new Docker();
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 1.5 s")), 1500).unref())]);
    return { mocked: false, reason: "FLOCI_AZ_SERVICES_AKS_MOCKED is unset and a Docker engine answers" };
  } catch (error) {
    return { mocked: true, reason: `FLOCI_AZ_SERVICES_AKS_MOCKED is unset and no Docker engine answers (${(error as Error).message})` };
  }
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config } = options;
  const logger = options.logger ?? consoleLogger;
  const clock = options.clock ?? systemClock;
  const store = options.store ?? openStore(config);

  let backend = options.backend;
  let mode: RunningApp["mode"];
  if (backend) mode = { kind: backend.kind, reason: "backend supplied by the caller" };
  else {
    const decision = await decideMode(config);
    backend = decision.mocked
      ? new MockBackend(config.mockProvisioningDelayMs)
      : new RealModeUnavailableBackend("the k3s backend is not part of this build yet");
    mode = { kind: backend.kind, reason: decision.reason };
  }

  const [tls, issuer, spec] = await Promise.all([
    loadOrCreateTls(config.keyDir, config.hostNames),
    loadOrCreateIssuer(config.keyDir),
    SpecRegistry.load(),
  ]);
  const engine = new Engine(store, backend, clock, logger, config);
  const services: Services = { config, store, engine, clock, logger };
  const recovered = await recoverInterruptedOperations(engine, store, clock, logger);
  if (recovered) logger.info(`aks-emulator: settled ${recovered} operation(s) interrupted by the last stop`);

  const handlers: Record<string, Handler> = { ...aksHandlers };
  const platformVersions: Record<string, VersionPolicy> = {};
  for (const route of platformRoutes) {
    handlers[route.operationId] = route.handler;
    platformVersions[route.operationId] = route.versions;
  }
  const routes = new RouteIndex([...spec.routes(), ...platformRoutes]);

  const web = express();
  web.disable("x-powered-by");
  web.use(createIdentityRouter({ issuer, defaultTenantId: config.tenantId, caCertPem: () => tls.caCertPem }));
  web.get("/_emulator/health", (_req, res) => {
    res.json({ status: "ok", mode: mode.kind, apiVersions: spec.versionNames });
  });
  web.post("/_emulator/reset", (_req, res) => {
    store.clear();
    logger.info("aks-emulator: state reset");
    res.status(204).end();
  });
  web.use((req, res) => {
    write(res, errorResponse(new ArmError(404, "NotFound", `No resource or endpoint matches '${req.method} ${req.path}'.`)), req.method === "HEAD");
  });
  web.use((error: Error & { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error(`web endpoint failed: ${error.stack ?? error.message}`);
    write(res, errorResponse(new ArmError(status, status === 500 ? "InternalServerError" : "InvalidRequestContent", error.message)), false);
  });

  const pipeline = createArmPipeline({
    services,
    spec,
    routes,
    handlers,
    platformVersions,
    fallback: web,
    onResponseViolation: options.onResponseViolation,
  });
  const server = createDualProtocolServer(pipeline, { key: tls.keyPem, cert: tls.certPem }, {
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
    keepAliveTimeoutMs: 65_000,
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          if (!options.store) store.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** The durable store in the data folder, or memory when there is none; a folder it cannot use stops the start. */
function openStore(config: Config): ResourceStore {
  if (!config.dataDir) return new MemoryStore();
  const file = join(config.dataDir, "aks-emulator.db");
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const store = new SqliteStore(file);
    store.putSetting("lastStart", new Date().toISOString()); // proves the folder takes writes now
    return store;
  } catch (error) {
    throw new StartupError(`cannot use the data folder ${config.dataDir} (${file}): ${(error as Error).message}`);
  }
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
