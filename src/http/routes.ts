// Every endpoint besides the AKS operations, registered here in one list:
// - ARM's own (subscriptions, tenants, providers, resource groups, operation status): through the
//   ARM pipeline like the AKS operations, which come from the spec;
// - the web endpoints a client needs besides ARM: Microsoft Entra ID sign-in and discovery, ARM's
//   cloud metadata, and the emulator's own /_emulator/*. They answer what no ARM route matches,
//   through express (OAuth form bodies, HEAD and conditional GET); express and jose load on first use.
import { RouteIndex, type RouteDef } from "../api/routeIndex.js";
import type { Handler } from "../handlers/contract.js";
import { platformRoutes, type PlatformRoute } from "../platform/resourceManager.js";
import type { IdentityEndpoints } from "../platform/identity.js";
import type { VersionPolicy } from "./armPipeline.js";

/** A web endpoint: an express path (`use`: every path under it) and the name of its handler. */
export interface WebRoute {
  kind: "web";
  method: "use" | "get" | "post" | "delete";
  path: string | string[];
  endpoint: WebEndpointName;
  /** OAuth token requests are HTML form posts; the fault rules are JSON. */
  body?: "form" | "json";
}

export type EmulatorRoute = PlatformRoute | WebRoute;

const web = (method: WebRoute["method"], path: WebRoute["path"], endpoint: WebEndpointName, body?: WebRoute["body"]): WebRoute =>
  body ? { kind: "web", method, path, endpoint, body } : { kind: "web", method, path, endpoint };

export const NON_AKS_ROUTES: readonly EmulatorRoute[] = [
  // ARM's own endpoints (platform/resourceManager.ts).
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
  // Fault injection (http/faults.ts).
  web("get", "/_emulator/faults", "faults"),
  web("post", "/_emulator/faults", "addFault", "json"),
  web("delete", "/_emulator/faults", "clearFaults"),
  web("delete", "/_emulator/faults/:id", "deleteFault"),
  // The request journal and API coverage (http/journal.ts).
  web("get", "/_emulator/requests", "requests"),
  web("delete", "/_emulator/requests", "clearRequests"),
  web("get", "/_emulator/coverage", "coverage"),
  // The status page and what it reads (http/statusPage.ts, http/emulatorState.ts).
  web("get", "/_emulator/ui", "statusPage"),
  web("get", "/_emulator/state", "state"),
  web("get", "/_emulator/clusters/:subscriptionId/:resourceGroup/:name/kubeconfig", "kubeconfig"),
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

/** The emulator's own web endpoints (http/webEndpoints.ts); the identity ones are platform/identity.ts's. */
export type EmulatorEndpointName =
  | "health"
  | "apiVersions"
  | "reset"
  | "requests"
  | "clearRequests"
  | "coverage"
  | "faults"
  | "addFault"
  | "clearFaults"
  | "deleteFault"
  | "statusPage"
  | "state"
  | "kubeconfig";

export type WebEndpointName = keyof IdentityEndpoints | EmulatorEndpointName;
