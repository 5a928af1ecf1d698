// The ARM request pipeline: request ids and access log, route lookup through the precompiled index,
// api-version rules, body limits and JSON parsing, ajv request validation against the version's own
// document, the handler, response validation, and one writer that turns any error into ARM's envelope.
// Requests no ARM route matches go to the fallback (the express app: identity, metadata, /_emulator).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ArmError, badRequest, internalError, type ArmErrorBody } from "../arm/errors.js";
import type { ArmRequest, ArmResponse, Handler, Principal, Services } from "../api/types.js";
import type { CompiledRoute, RouteIndex } from "../api/routeIndex.js";
import type { SpecRegistry, ValidationIssue } from "../api/spec.js";
import { requestBaseUrl } from "./dualProtocolServer.js";

/** api-version policy of a non-spec route: a list of accepted versions, or any well-formed one. */
export type VersionPolicy = { accepted: readonly string[]; errorCode: "InvalidApiVersionParameter" } | "any" | "none";

export interface PipelineOptions {
  services: Services;
  spec: SpecRegistry;
  routes: RouteIndex;
  handlers: Readonly<Record<string, Handler>>;
  /** api-version policy for platform routes, by operationId. */
  platformVersions: Readonly<Record<string, VersionPolicy>>;
  fallback: (req: IncomingMessage, res: ServerResponse) => void;
  /** Called for every response that breaks the spec (tests collect them). */
  onResponseViolation?: (violation: ResponseViolation) => void;
}

export interface ResponseViolation {
  operationId: string;
  apiVersion: string;
  status: number;
  issues: ValidationIssue[];
}

const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/i;

export function createArmPipeline(options: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { services, spec, routes, handlers, platformVersions, fallback } = options;
  const { config, logger } = services;

  return (req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    const correlationId = firstHeader(req.headers["x-ms-correlation-request-id"]) ?? requestId;
    res.setHeader("x-ms-request-id", requestId);
    res.setHeader("x-ms-correlation-request-id", correlationId);
    const clientRequestId = firstHeader(req.headers["x-ms-client-request-id"]);
    if (clientRequestId) res.setHeader("x-ms-client-request-id", clientRequestId);
    const rawUrl = req.url ?? "/";
    const queryAt = rawUrl.indexOf("?");
    const path = queryAt >= 0 ? rawUrl.slice(0, queryAt) : rawUrl;
    if (config.logRequests) {
      res.once("finish", () => {
        logger.info(`${req.method} ${path} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
      });
    }

    let segments: string[];
    try {
      segments = path.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      return writeError(res, badRequest("InvalidRequestUri", `The request URI '${path}' is not valid.`));
    }
    const lookup = routes.lookup(req.method ?? "GET", segments);
    if (lookup.kind === "noRoute") return fallback(req, res);
    if (lookup.kind === "methodNotAllowed") {
      return writeError(
        res,
        // RFC 9110: a 405 names the methods the resource does support in Allow.
        new ArmError(405, "MethodNotAllowed", `The HTTP method '${req.method}' is not supported at '${path}'. Supported: ${lookup.allowed.join(", ")}.`, undefined, undefined, {
          Allow: lookup.allowed.join(", "),
        }),
      );
    }
    const query = parseQuery(queryAt >= 0 ? rawUrl.slice(queryAt + 1) : "");
    const { route, params } = lookup;
    handle(req, res, route, params, query, path, requestId).catch((error) => {
      logger.error(`unhandled ${req.method} ${path}: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) writeError(res, internalError());
      else res.destroy();
    });
  };

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    params: Record<string, string>,
    query: Record<string, string>,
    path: string,
    requestId: string,
  ): Promise<void> {
    const apiVersion = query["api-version"] ?? "";
    let response: ArmResponse;
    try {
      checkApiVersion(route, apiVersion, params);
      const body = await readJsonBody(req, config.maxBodyBytes);
      if (route.kind === "aks") {
        const issues = spec
          .get(apiVersion)!
          .validateRequest(route.operationId, {
            method: route.method.toLowerCase(),
            path: canonicalPath(route, params),
            query,
            headers: req.headers as Record<string, any>,
            body,
          })
          // ARM ignores query parameters an operation does not declare: clients add their own, and
          // the emulator's own nextLink carries $skipToken, which no AKS list operation declares.
          .filter((issue) => !(issue.location === "query" && issue.keyword === "additionalProperties"));
        if (issues.length) throw requestValidationError(issues, params);
      }
      const armRequest: ArmRequest = {
        method: route.method,
        operationId: route.operationId,
        params,
        query,
        headers: req.headers,
        body,
        apiVersion,
        baseUrl: requestBaseUrl(req),
        path,
        requestId,
        principal: principalOf(req.headers.authorization, config.tenantId),
      };
      const handler = handlers[route.operationId];
      if (!handler) throw new ArmError(501, "NotImplemented", `The operation '${route.operationId}' is not implemented by the emulator.`);
      response = await handler(armRequest, services);
    } catch (error) {
      if (!(error instanceof ArmError)) {
        logger.error(`${route.operationId} failed: ${(error as Error).stack ?? error}`);
      }
      response = errorResponse(error instanceof ArmError ? error : internalError());
    }
    // Only where the version has the operation: a refused version (e.g. a 2026-06-01-only operation
    // asked at 2025-10-01) has no response schema to check, and looking one up would throw.
    if (route.kind === "aks" && config.responseValidation !== "off" && spec.get(apiVersion)?.operations.has(route.operationId)) {
      response = checkResponse(route.operationId, apiVersion, response);
    }
    write(res, response, req.method === "HEAD");
  }

  function checkApiVersion(route: CompiledRoute, apiVersion: string, params: Record<string, string>): void {
    if (route.kind === "aks") {
      if (!config.aksEnabled) {
        throw badRequest("NoRegisteredProviderFound", "The Microsoft.ContainerService provider is disabled in this emulator (FLOCI_AZ_SERVICES_AKS_ENABLED=false).");
      }
      if (!apiVersion) throw missingApiVersion();
      const available = spec.versionsOf(route.operationId);
      if (!available.includes(apiVersion as never)) {
        const location = params.location ?? config.defaultLocation;
        throw badRequest(
          "NoRegisteredProviderFound",
          `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${route.resourceType}'. ` +
            `The supported api-versions are '${available.join(", ")}'. The supported locations are '${config.defaultLocation}'.`,
        );
      }
      return;
    }
    const policy = platformVersions[route.operationId] ?? "any";
    if (policy === "none") return;
    if (!apiVersion) throw missingApiVersion();
    if (policy === "any") {
      if (!API_VERSION_RE.test(apiVersion)) throw invalidApiVersion(apiVersion, undefined);
      return;
    }
    if (!policy.accepted.includes(apiVersion)) throw invalidApiVersion(apiVersion, policy.accepted);
  }

  function checkResponse(operationId: string, apiVersion: string, response: ArmResponse): ArmResponse {
    const issues = spec.get(apiVersion)!.validateResponse(operationId, response.status, response.body);
    if (!issues.length) return response;
    options.onResponseViolation?.({ operationId, apiVersion, status: response.status, issues });
    const summary = issues.slice(0, 5).map((i) => `${i.location} ${i.message}`).join("; ");
    logger.warn(`response of ${operationId} (${apiVersion}, ${response.status}) breaks the spec: ${summary}`);
    if (config.responseValidation !== "strict") return response;
    return errorResponse(new ArmError(500, "InvalidResponse", `The emulator's response to ${operationId} breaks the spec: ${summary}`));
  }
}

function missingApiVersion(): ArmError {
  return badRequest("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
}

function invalidApiVersion(apiVersion: string, accepted: readonly string[] | undefined): ArmError {
  const supported = accepted ? ` The supported versions are '${accepted.join(",")}'.` : "";
  return badRequest("InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid.${supported}`);
}

function canonicalPath(route: CompiledRoute, params: Record<string, string>): string {
  return route.template.replace(/\{([^}]+)\}/g, (_, name: string) => params[name] ?? "");
}

const VALUE_KEYWORDS = new Set(["pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "const", "format", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties"]);

/** Turns ajv issues into ARM's answers: the spec's own parameter and body rules, named precisely. */
function requestValidationError(issues: ValidationIssue[], params: Record<string, string>): ArmError {
  const first = issues[0];
  const [area, name] = first.location.split("/");
  if (area === "path") {
    if (name === "subscriptionId") {
      return badRequest("InvalidSubscriptionId", `The provided subscription identifier '${params.subscriptionId}' is malformed or invalid.`);
    }
    const value = params[name];
    return badRequest(
      name === "resourceGroupName" ? "InvalidResourceGroupName" : "InvalidParameter",
      `The value '${value}' of parameter '${name}' is invalid: it ${first.message}.`,
      name,
    );
  }
  if (area === "query") {
    const parameter = name ?? first.params.missingProperty ?? first.params.additionalProperty;
    return badRequest("InvalidParameter", `The query parameter '${parameter}' ${first.message}.`, parameter);
  }
  // A missing body is reported at the request's root, a missing body property under requestBody.
  const missing = (at: string, property: string) => (issue: ValidationIssue) =>
    issue.location === at && issue.keyword === "required" && issue.params.missingProperty === property;
  if (issues.some(missing("", "requestBody"))) {
    return badRequest("InvalidRequestContent", "The request content was invalid: the operation requires a JSON object body and none was sent.");
  }
  // ARM checks location before the resource provider sees the request, whatever else is wrong.
  if (issues.some(missing("requestBody", "location"))) {
    return badRequest("LocationRequired", "The location property is required for this definition.");
  }
  // Well-typed JSON whose values break a rule (a name pattern, a range, an enum) is what AKS itself
  // refuses, as InvalidParameter ("The value of parameter agentPoolProfile.name is invalid.");
  // JSON of the wrong shape (types, required properties) is ARM's InvalidRequestContent.
  const code = issues.every((issue) => VALUE_KEYWORDS.has(issue.keyword)) ? "InvalidParameter" : "InvalidRequestContent";
  const details = new Map<string, ArmErrorBody>(); // ajv repeats an issue once per schema branch
  for (const issue of issues) {
    const target = issue.location.replace(/^requestBody\/?/, "").replace(/\//g, ".");
    const property = issue.keyword === "required" ? `${target ? target + "." : ""}${issue.params.missingProperty}` : target;
    const message = `${property || "body"}: ${issue.message}`;
    if (details.size < 20 && !details.has(message)) details.set(message, { code: "InvalidParameter", message, target: property || undefined });
  }
  const list = [...details.values()];
  return badRequest(code, `The request content was invalid: ${list.map((d) => d.message).join("; ")}.`, list[0]?.target, list);
}

export function errorResponse(error: ArmError): ArmResponse {
  return { status: error.status, headers: error.headers, body: error.toBody() };
}

function writeError(res: ServerResponse, error: ArmError): void {
  write(res, errorResponse(error), false);
}

export function write(res: ServerResponse, response: ArmResponse, headOnly: boolean): void {
  if (response.headers) for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (response.body === undefined) {
    res.statusCode = response.status;
    res.setHeader("content-length", "0");
    res.end();
    return;
  }
  const payload = JSON.stringify(response.body);
  res.statusCode = response.status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(payload));
  res.end(headOnly ? undefined : payload);
}

function parseQuery(raw: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (!raw) return query;
  for (const [key, value] of new URLSearchParams(raw)) query[key.toLowerCase() === "api-version" ? "api-version" : key] = value;
  return query;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume(); // drain, so the 413 reaches the client
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (error) => {
      if (!failed) reject(badRequest("InvalidRequestContent", `The request body could not be read: ${error.message}`));
      failed = true;
    });
    req.on("end", () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text.trim()) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(
          badRequest("InvalidRequestContent", `The request content was invalid and could not be deserialized: '${(error as Error).message}'.`),
        );
      }
    });
  });
}

function tooLarge(limit: number): ArmError {
  // ARM's own code and wording for a body over its 4 MB limit.
  return new ArmError(413, "RequestContentTooLarge", `The request content size exceeds the maximum size of ${limit} bytes.`);
}

/** Reads the caller from the bearer token's claims without verifying it (token checks are separate). */
function principalOf(authorization: string | undefined, defaultTenant: string): Principal {
  const token = authorization?.match(/^Bearer\s+(\S+)/i)?.[1];
  if (token) {
    try {
      const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
      if (claims.upn || claims.unique_name) return { id: claims.upn ?? claims.unique_name, type: "User", tenantId: claims.tid };
      if (claims.appid || claims.azp) return { id: claims.appid ?? claims.azp, type: "Application", tenantId: claims.tid };
    } catch {
      // not a JWT: fall through to the anonymous principal
    }
  }
  return { id: "aks-emulator", type: "Application", tenantId: defaultTenant };
}
