// The web endpoints' handlers, and the ARM pipeline's fallback that serves them: built on the first
// request that needs one (express and jose load then), from the routes http/routes.ts declares.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import { documentSources } from "../../generated/operations.js";
import { servedVersionTable } from "../api/apiVersions.js";
import type { SpecRegistry } from "../api/spec.js";
import { ArmError, errors } from "../arm/errors.js";
import type { Config } from "../config.js";
import type { Inventory, Services } from "../handlers/contract.js";
import type { Issuer } from "../platform/identity.js";
import type { Logger } from "../util.js";
import { errorResponse, write } from "./armAnswer.js";
import { emulatorState } from "./emulatorState.js";
import { journalFilter, type RequestJournal } from "./journal.js";
import type { FaultRegistry } from "./faults.js";
import type { RateLimiter } from "./rateLimits.js";
import { webRoutes, type EmulatorEndpointName } from "./routes.js";

export interface WebEndpointContext {
  config: Config;
  spec: SpecRegistry;
  engine: Services["engine"];
  logger: Logger;
  mode: { kind: string };
  issuer: () => Promise<Issuer>;
  caCertPem: () => string;
  /** The ARM pipeline's request journal and coverage counts. */
  journal: RequestJournal;
  /** Fault injection's rules (/_emulator/faults). */
  faults: FaultRegistry;
  /** ARM's throttling counts (x-ms-ratelimit-remaining-*), filled again by a reset. */
  rateLimits: RateLimiter;
  /** Clusters and operations across subscriptions, for the status page (/_emulator/state). */
  inventory: Inventory;
}

const KUBECONFIG_KINDS = ["admin", "user", "monitoring"] as const;
/** The status page loads nothing but itself and talks only to the emulator. */
const STATUS_PAGE_POLICY = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The /_emulator endpoints' handlers (the CA's is with the identity endpoints, which know the CA). */
function emulatorEndpoints({ config, spec, engine, logger, mode, journal, faults, rateLimits, inventory }: WebEndpointContext) {
  return {
    health: (_req, res) => {
      res.json({ status: "ok", mode: mode.kind, strict: config.strict, apiVersions: spec.versionNames });
    },
    // Every published api-version and the vendored document serving it, plus what is loaded now.
    apiVersions: (_req, res) => {
      res.json({
        documents: spec.versionNames.map((version) => ({ version, source: documentSources[version], loaded: spec.loadedVersions().includes(version) })),
        apiVersions: servedVersionTable(),
        unpublished: config.strict
          ? "refused with NoRegisteredProviderFound (strict mode)"
          : "a date-shaped api-version Azure never published is served by the nearest document, named in the x-aks-emulator-leniency header",
      });
    },
    reset: async (_req, res) => {
      await engine.resetAll();
      journal.reset();
      faults.reset();
      rateLimits.reset();
      logger.info("aks-emulator: state reset");
      res.status(204).end();
    },
    // Recent ARM requests, newest first: ?operationId=&method=&status=&apiVersion=&resourceId= (path prefix)&$top=&body=true.
    requests: (req, res) => {
      let filter;
      try {
        filter = journalFilter(req.query as Record<string, unknown>);
      } catch (error) {
        write(res, errorResponse(errors.webEndpointFailed(400, (error as Error).message)), false);
        return;
      }
      const withBodies = req.query.body === "true";
      const entries = journal.list(filter);
      res.json({
        value: withBodies ? entries : entries.map(({ requestBody: _q, responseBody: _r, ...entry }) => entry),
        bodiesKept: journal.keepBodies,
        limits: { entries: journal.maxEntries, bytes: journal.maxBytes },
        size: journal.size,
      });
    },
    clearRequests: (_req, res) => {
      journal.clear();
      res.status(204).end();
    },
    coverage: (_req, res) => {
      res.json(journal.coverageReport());
    },
    // Fault injection: the rules with how often each fired; add one (201); remove one or all.
    faults: (_req, res) => {
      res.json({ value: faults.list() });
    },
    addFault: (req, res) => {
      try {
        const rule = faults.add(req.body);
        logger.info(`aks-emulator: fault ${rule.id} added: ${JSON.stringify(rule)}`);
        res.status(201).json(rule);
      } catch (error) {
        if (!(error instanceof ArmError)) throw error;
        write(res, errorResponse(error), false);
      }
    },
    clearFaults: (_req, res) => {
      faults.clear();
      res.status(204).end();
    },
    deleteFault: (req, res) => {
      const id = String(req.params.id);
      if (faults.remove(id)) res.status(204).end();
      else write(res, errorResponse(errors.faultRuleNotFound(id)), false);
    },
    // The status page (http/statusPage.ts, loaded on its first request) and the state it polls.
    statusPage: async (_req, res) => {
      const { STATUS_PAGE_HTML } = await import("./statusPage.js");
      res.set("cache-control", "no-store");
      res.set("content-security-policy", STATUS_PAGE_POLICY);
      res.type("html").send(STATUS_PAGE_HTML);
    },
    state: (_req, res) => {
      res.set("cache-control", "no-store");
      res.json(emulatorState(inventory, mode.kind, config.strict));
    },
    // A cluster's kubeconfig as a file, from the credential operations' own engine call: ?kind=admin (default), user, monitoring.
    kubeconfig: async (req, res) => {
      const kind = req.query.kind ?? "admin";
      const known = KUBECONFIG_KINDS.find((k) => k === kind);
      if (!known) {
        write(res, errorResponse(errors.webEndpointFailed(400, `kind must be one of ${KUBECONFIG_KINDS.join(", ")}, not '${String(kind)}'.`)), false);
        return;
      }
      const { subscriptionId, resourceGroup, name } = req.params as Record<string, string>; // one segment each, never an array
      try {
        const kubeconfig = await engine.credentials(subscriptionId, resourceGroup, name, known);
        res.set("content-disposition", `attachment; filename="${name}-${known}.kubeconfig"`);
        res.type("application/yaml").send(kubeconfig);
      } catch (error) {
        if (!(error instanceof ArmError)) throw error;
        write(res, errorResponse(error), false);
      }
    },
  } satisfies Record<EmulatorEndpointName, RequestHandler>;
}

/** The ARM pipeline's fallback: the web endpoints, built on the first request that needs them. */
export function webEndpoints(context: WebEndpointContext): (req: IncomingMessage, res: ServerResponse) => void {
  let app: Promise<(req: IncomingMessage, res: ServerResponse) => void> | undefined;
  const load = async () => {
    const [{ createWebApp }, { identityEndpoints }] = await Promise.all([import("./webApp.js"), import("../platform/identity.js")]);
    const identity = identityEndpoints({ issuer: await context.issuer(), defaultTenantId: context.config.tenantId, caCertPem: context.caCertPem });
    return createWebApp(webRoutes, { ...identity, ...emulatorEndpoints(context) }, context.logger);
  };
  return (req, res) => {
    (app ??= load()).then(
      (serve) => serve(req, res),
      (error: Error) => {
        context.logger.error(`web endpoints failed to load: ${error.stack ?? error.message}`);
        write(res, errorResponse(errors.webEndpointsUnavailable()), false);
      },
    );
  };
}
