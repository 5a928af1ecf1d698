// The ARM pipeline's stages, one at a time, over a hand-made request context: no server, no sockets.
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { apiVersions } from "../../generated/operations.js";
import { RouteIndex, splitPath, type CompiledRoute, type RouteDef } from "../../src/api/routeIndex.js";
import { SpecRegistry, type SpecVersion } from "../../src/api/spec.js";
import type { Handler, Services } from "../../src/handlers/contract.js";
import type { ArmError } from "../../src/arm/errors.js";
import { LENIENCY_HEADER, LeniencyRecord, STRICT, type LeniencyPolicy } from "../../src/arm/leniency.js";
import { loadConfig, type Config } from "../../src/config.js";
import {
  addHeaders,
  API_DOCUMENT_HEADER,
  ARM_STAGES,
  checkSubscription,
  createArmPipeline,
  createPipeline,
  findRoute,
  HANDED_OFF,
  identify,
  parseUri,
  RequestContext,
  resolveApiVersion,
  type Pipeline,
  type PipelineOptions,
} from "../../src/http/armPipeline.js";
import { reusable } from "../../src/http/encodedBodies.js";
import { MemoryStore } from "../../src/store/memoryStore.js";
import { silentLogger, type Logger } from "../../src/util.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1`;
const spec = new SpecRegistry(reusable);

function pipeline(options: { config?: Partial<Config>; logger?: Logger } & Partial<PipelineOptions> = {}): Pipeline {
  const config = { ...loadConfig({}, {}), logRequests: false, ...options.config };
  // The store: the handle stage waits on its commits (none with the memory store).
  const services = { config, store: new MemoryStore(), logger: options.logger ?? silentLogger } as unknown as Services;
  return createPipeline({ spec, routes: new RouteIndex([]), handlers: {}, platformVersions: {}, fallback: () => {}, ...options, services });
}

function request(method: string, url: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, url, headers, socket: {} } as unknown as IncomingMessage;
}

/** A response that records what the writer does with it. */
function response() {
  const res = {
    destroyed: false,
    writableEnded: false,
    headersSent: false,
    headers: {} as Record<string, unknown>,
    status: 0,
    head: [] as string[],
    payload: undefined as string | undefined,
    setHeader(name: string, value: unknown) {
      res.headers[name] = value;
    },
    writeHead(status: number, head: string[]) {
      res.status = status;
      res.head = head;
      res.headersSent = true;
    },
    end(payload?: string) {
      res.payload = payload;
      res.writableEnded = true;
    },
  };
  return res;
}

function context(method: string, url: string, leniency: LeniencyPolicy = new LeniencyRecord()): RequestContext {
  return new RequestContext(request(method, url), response() as unknown as ServerResponse, leniency);
}

function thrown(fn: () => unknown): ArmError {
  try {
    fn();
  } catch (error) {
    return error as ArmError;
  }
  throw new Error("expected the stage to throw");
}

function aksRoute(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } {
  const lookup = new RouteIndex(spec.routes()).lookup(method, splitPath(path));
  if (lookup.kind !== "match") throw new Error(`no AKS route for ${method} ${path}`);
  return lookup;
}

describe("the ARM pipeline's stages", () => {
  it("are declared in the order a request goes through them", () => {
    expect(ARM_STAGES.map((stage) => stage.name)).toEqual([
      "identify",
      "parseUri",
      "findRoute",
      "authenticate",
      "checkSubscription",
      "throttle",
      "resolveApiVersion",
      "injectFaults",
      "readBody",
      "normaliseRequest",
      "validateRequest",
      "handle",
      "projectToVersion",
      "validateResponse",
      "addHeaders",
      "writeAnswer",
      "recordRequest",
    ]);
  });

  it("a request with no body, no token checks and a synchronous handler is answered without waiting", () => {
    const routes = new RouteIndex([{ kind: "platform", method: "GET", template: "/subscriptions/{subscriptionId}/things", operationId: "Things_List" }]);
    const handlers: Record<string, Handler> = { Things_List: (req) => ({ status: 200, body: { subscription: req.params.subscriptionId } }) };
    const serve = createArmPipeline({ ...pipeline(), routes, handlers, platformVersions: { Things_List: "none" } });
    const res = response();
    serve(request("GET", `/subscriptions/${SUB}/things`, { "x-ms-client-request-id": "client-1" }), res as unknown as ServerResponse);
    // answered before this call returned
    expect(res.status).toBe(200);
    expect(JSON.parse(res.payload!)).toEqual({ subscription: SUB });
    expect(res.head).toContain("x-ms-request-id");
    expect(res.head).toEqual(expect.arrayContaining(["x-ms-client-request-id", "client-1"]));
  });

  describe("parse and route", () => {
    it("a malformed escape in the path is InvalidRequestUri", () => {
      const ctx = context("GET", "/subscriptions/%zz");
      identify(ctx, pipeline());
      expect(thrown(() => parseUri(ctx))).toMatchObject({ status: 400, code: "InvalidRequestUri" });
    });

    it("a method the resource does not support is 405 naming the supported ones in Allow", () => {
      const p = pipeline({ routes: new RouteIndex([{ kind: "platform", method: "GET", template: "/tenants", operationId: "Tenants_List" }]) });
      const ctx = context("DELETE", "/tenants");
      identify(ctx, p);
      parseUri(ctx);
      expect(thrown(() => findRoute(ctx, p))).toMatchObject({ status: 405, code: "MethodNotAllowed", headers: { Allow: "GET" } });
    });

    it("a path no ARM route knows goes to the fallback, with ARM's request ids", () => {
      const fallback = vi.fn();
      const p = pipeline({ fallback });
      const ctx = context("GET", "/_emulator/health");
      identify(ctx, p);
      parseUri(ctx);
      expect(findRoute(ctx, p)).toBe(HANDED_OFF);
      expect(fallback).toHaveBeenCalledWith(ctx.req, ctx.res);
      expect((ctx.res as unknown as ReturnType<typeof response>).headers["x-ms-request-id"]).toBe(ctx.ids.requestId);
    });
  });

  describe("the subscription check", () => {
    it("lets a subscription id that is no GUID off by default, and names it", () => {
      const ctx = context("GET", "/");
      ctx.params = { subscriptionId: "my-subscription" };
      checkSubscription(ctx, pipeline());
      expect((ctx.leniency as LeniencyRecord).used).toEqual([{ kind: "subscription-id", detail: expect.stringContaining("'my-subscription' is not a GUID") }]);
    });

    it("refuses it with InvalidSubscriptionId in strict mode", () => {
      const ctx = context("GET", "/", STRICT);
      ctx.params = { subscriptionId: "my-subscription" };
      expect(thrown(() => checkSubscription(ctx, pipeline({ config: { strict: true } })))).toMatchObject({
        status: 400,
        code: "InvalidSubscriptionId",
        message: "The provided subscription identifier 'my-subscription' is malformed or invalid.",
      });
    });

    it("remembers the last good subscription, and lets a request without one through", () => {
      const p = pipeline();
      const ctx = context("GET", "/", STRICT);
      ctx.params = { subscriptionId: SUB };
      checkSubscription(ctx, p);
      expect(p.lastGoodSubscription).toBe(SUB);
      ctx.params = {};
      expect(() => checkSubscription(ctx, p)).not.toThrow();
    });
  });

  describe("api-version resolution", () => {
    const { route, params } = aksRoute("GET", CLUSTER);

    function resolve(apiVersion: string, strict: boolean): RequestContext {
      const ctx = context("GET", CLUSTER, strict ? STRICT : new LeniencyRecord());
      Object.assign(ctx, { route, params, apiVersion });
      resolveApiVersion(ctx, pipeline({ config: { strict } }));
      return ctx;
    }

    it("refuses a missing api-version", () => {
      expect(thrown(() => resolve("", false))).toMatchObject({ status: 400, code: "MissingApiVersionParameter" });
    });

    it("refuses what is not an api-version with NoRegisteredProviderFound, listing the supported ones", () => {
      const error = thrown(() => resolve("latest", false));
      expect(error).toMatchObject({ status: 400, code: "NoRegisteredProviderFound" });
      expect(error.message).toContain("API version 'latest' for type 'managedClusters'");
      expect(error.message).toContain(apiVersions[0]);
    });

    it("serves an api-version Azure never published by the nearest document, named as a let-off; strict mode refuses it", () => {
      const ctx = resolve("2099-01-01", false);
      expect(ctx.document?.version).toBe([...apiVersions].sort().at(-1));
      expect((ctx.leniency as LeniencyRecord).used.map((l) => l.kind)).toEqual(["api-version"]);
      expect(thrown(() => resolve("2099-01-01", true))).toMatchObject({ code: "NoRegisteredProviderFound" });
    });

    it("holds a platform route to its own list of api-versions", () => {
      const ctx = context("GET", "/");
      const platform = { kind: "platform", method: "GET", template: "/x", operationId: "X_Get", paramNames: [], resourceType: "x" } as RouteDef as CompiledRoute;
      Object.assign(ctx, { route: platform, apiVersion: "2020-01-01" });
      const p = pipeline({ platformVersions: { X_Get: { accepted: ["2021-04-01", "2022-09-01"], errorCode: "InvalidApiVersionParameter" } } });
      expect(thrown(() => resolveApiVersion(ctx, p))).toMatchObject({
        code: "InvalidApiVersionParameter",
        message: "The api-version '2020-01-01' is invalid. The supported versions are '2021-04-01,2022-09-01'.",
      });
      ctx.apiVersion = "2022-09-01";
      expect(() => resolveApiVersion(ctx, p)).not.toThrow();
    });
  });

  describe("the added headers", () => {
    const document = { version: "2026-06-01" } as SpecVersion;

    it("name the serving document and the let-offs, and log each kind of let-off once", () => {
      const logger = { ...silentLogger, warn: vi.fn() };
      const p = pipeline({ logger });
      for (const name of ["a", "b"]) {
        const ctx = context("GET", "/");
        ctx.document = document;
        ctx.response = { status: 200 };
        ctx.leniency.note("subscription-id", `'${name}' is not a GUID`);
        addHeaders(ctx, p);
        expect(ctx.added).toEqual([API_DOCUMENT_HEADER, "2026-06-01", LENIENCY_HEADER, `subscription-id: '${name}' is not a GUID`]);
      }
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn.mock.calls[0][0]).toContain("let off (subscription-id): 'a' is not a GUID");
    });

    it("a refused request names only the let-offs that changed nothing", () => {
      const ctx = context("GET", "/");
      ctx.response = { status: 404 };
      ctx.leniency.note("resource-group", "created", { wrote: true });
      addHeaders(ctx, pipeline());
      expect(ctx.added).toEqual([]);
      ctx.leniency.note("api-version", "served by the nearest document");
      addHeaders(ctx, pipeline());
      expect(ctx.added).toEqual([LENIENCY_HEADER, "api-version: served by the nearest document"]);
    });

    it("strict mode adds only the document's name", () => {
      const ctx = context("GET", "/", STRICT);
      ctx.document = document;
      ctx.response = { status: 200 };
      addHeaders(ctx, pipeline({ config: { strict: true } }));
      expect(ctx.added).toEqual([API_DOCUMENT_HEADER, "2026-06-01"]);
    });
  });
});
