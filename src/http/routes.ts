// Every endpoint besides the AKS operations, registered here in one list:
// - ARM's own (subscriptions, tenants, providers, resource groups, operation status): through the
//   ARM pipeline like the AKS operations, which come from the spec;
// - the web endpoints a client needs besides ARM: Microsoft Entra ID sign-in and discovery, ARM's
//   cloud metadata, and the emulator's own /_emulator/*. They answer what no ARM route matches,
//   through express (OAuth form bodies, HEAD and conditional GET); express and jose load on first use.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import { documentSources } from "../../generated/operations.js";
import { servedVersionTable } from "../api/apiVersions.js";
import { RouteIndex, type RouteDef } from "../api/routeIndex.js";
import type { SpecRegistry } from "../api/spec.js";
import type { Handler } from "../api/types.js";
import { ArmError } from "../arm/errors.js";
import type { Config } from "../config.js";
import type { Engine } from "../engine/provisioner.js";
import { platformRoutes, type PlatformRoute } from "../platform/arm.js";
import type { IdentityEndpoints, Issuer } from "../platform/identity.js";
import type { Logger } from "../util.js";
import { errorResponse, write } from "./armAnswer.js";
import type { VersionPolicy } from "./armPipeline.js";

/** A web endpoint: an express path (`use`: every path under it) and the name of its handler. */
export interface WebRoute {
  kind: "web";
  method: "use" | "get" | "post";
  path: string | string[];
  endpoint: WebEndpointName;
  /** OAuth token requests are HTML form posts. */
  body?: "form";
}

export type EmulatorRoute = PlatformRoute | WebRoute;

const web = (method: WebRoute["method"], path: WebRoute["path"], endpoint: WebEndpointName, body?: "form"): WebRoute =>
  body ? { kind: "web", method, path, endpoint, body } : { kind: "web", method, path, endpoint };

export const NON_AKS_ROUTES: readonly EmulatorRoute[] = [
  // ARM's own endpoints (platform/arm.ts).
  ...platformRoutes,
  // Microsoft Entra ID (platform/identity.ts); entraRequest gives its answers Entra's request ids.
  web("use", "/", "entraRequest"),
  web("get", "/:tenant/v2.0/.well-known/openid-configuration", "openIdConfigurationV2"),
  web("get", "/:tenant/.well-known/openid-configuration", "openIdConfigurationV1"),
  web("get", ["/:tenant/discovery/v2.0/keys", "/:tenant/discovery/keys"], "keys"),
  web("get", "/:tenant/discovery/instance", "instanceDiscovery"),
  web("get", "/common/userrealm/:username", "userRealm"),
  web("post", "/:tenant/oauth2/v2.0/token", "tokenV2", "form"),
  web("post", "/:tenant/oauth2/token", "tokenV1", "form"),
  // ARM's cloud metadata (platform/identity.ts).
  web("get", "/metadata/endpoints", "cloudMetadata"),
  // The emulator's own.
  web("get", "/_emulator/ca.pem", "caPem"),
  web("get", "/_emulator/health", "health"),
  web("get", "/_emulator/api-versions", "apiVersions"),
  web("post", "/_emulator/reset", "reset"),
];

export const webRoutes: readonly WebRoute[] = NON_AKS_ROUTES.filter((route): route is WebRoute => route.kind === "web");

/** The ARM routes (the spec's AKS operations and ARM's own), their handlers and the platform routes' api-version policies. */
export function armRoutes(aksRoutes: readonly RouteDef[], aksHandlers: Readonly<Record<string, Handler>>) {
  const handlers: Record<string, Handler> = { ...aksHandlers };
  const platformVersions: Record<string, VersionPolicy> = {};
  const platform = NON_AKS_ROUTES.filter((route): route is PlatformRoute => route.kind === "platform");
  for (const route of platform) {
    handlers[route.operationId] = route.handler;
    platformVersions[route.operationId] = route.versions;
  }
  return { routes: new RouteIndex([...aksRoutes, ...platform]), handlers, platformVersions };
}

export interface WebEndpointContext {
  config: Config;
  spec: SpecRegistry;
  engine: Engine;
  logger: Logger;
  mode: { kind: string };
  issuer: () => Promise<Issuer>;
  caCertPem: () => string;
}

/** The /_emulator endpoints' handlers (the CA's is with the identity endpoints, which know the CA). */
function emulatorEndpoints({ config, spec, engine, logger, mode }: WebEndpointContext) {
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
      logger.info("aks-emulator: state reset");
      res.status(204).end();
    },
  } satisfies Record<string, RequestHandler>;
}

export type WebEndpointName = keyof IdentityEndpoints | keyof ReturnType<typeof emulatorEndpoints>;

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
        write(res, errorResponse(new ArmError(500, "InternalServerError", "The emulator's web endpoints failed to load.")), false);
      },
    );
  };
}
