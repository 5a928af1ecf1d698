// The ARM request pipeline: request ids and access log, route lookup through the precompiled index,
// api-version rules, body limits and JSON parsing, ajv request validation against the version's own
// document, the handler, response validation, and one writer that turns any error into ARM's envelope.
// Requests no ARM route matches go to the fallback (the express app: identity, metadata, /_emulator).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ArmError, badRequest, internalError, type ArmErrorBody } from "../arm/errors.js";
import type { ArmRequest, ArmResponse, Handler, Principal, Services } from "../api/types.js";
import type { CompiledRoute, RouteIndex } from "../api/routeIndex.js";
import type { SpecRegistry, SpecVersion, ValidationIssue } from "../api/spec.js";
import { publishedVersions, servingDocument, type ServedVersion } from "../api/apiVersions.js";
import { LENIENCY_HEADER, LeniencyRecord, STRICT, type LeniencyKind, type LeniencyPolicy } from "../arm/leniency.js";
import type { Issuer } from "../platform/identity.js";
import { REQUEST_IDS, requestBaseUrl, type RequestIds, type TaggedResponse } from "./dualProtocolServer.js";
import { encodeJson } from "./encodedBodies.js";

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
  /** The emulator's token issuer: with FLOCI_AZ_SERVICES_AKS_CHECK_TOKENS every ARM request needs one of its tokens. */
  issuer?: Pick<Issuer, "verify">;
}

export interface ResponseViolation {
  operationId: string;
  apiVersion: string;
  /** The document that served the version. */
  document?: string;
  status: number;
  issues: ValidationIssue[];
}

const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/i;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Names the vendored document that served an AKS request (the api-version may be served by a nearer one). */
export const API_DOCUMENT_HEADER = "x-aks-emulator-api-document";

/** Deepest nesting of objects and arrays a request body may have; the deepest AKS body needs about 10. */
export const MAX_JSON_DEPTH = 64;

export function createArmPipeline(options: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { services, spec, routes, handlers, platformVersions, fallback } = options;
  const { config, logger } = services;
  /** Let-off kinds already named in the log: one line per kind, not per request. */
  const loggedLeniencies = new Set<LeniencyKind>();
  let lastGoodSubscription: string | undefined;

  return (req, res) => {
    const started = config.logRequests ? performance.now() : 0;
    const requestId = randomUUID();
    const ids: RequestIds = {
      requestId,
      correlationId: firstHeader(req.headers["x-ms-correlation-request-id"]) ?? requestId,
      clientRequestId: firstHeader(req.headers["x-ms-client-request-id"]),
    };
    // The answer's headers are written in one go by write(); what else answers on this connection
    // (node's client-error handler) finds the ids here.
    (res as TaggedResponse)[REQUEST_IDS] = ids;
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
      segments = decodePathSegments(path);
    } catch {
      return writeError(res, badRequest("InvalidRequestUri", `The request URI '${path}' is not valid.`));
    }
    const lookup = routes.lookup(req.method ?? "GET", segments);
    if (lookup.kind === "noRoute") {
      res.setHeader("x-ms-request-id", ids.requestId);
      res.setHeader("x-ms-correlation-request-id", ids.correlationId);
      if (ids.clientRequestId) res.setHeader("x-ms-client-request-id", ids.clientRequestId);
      return fallback(req, res);
    }
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
    handle(req, res, route, params, query, path, ids).catch((error) => {
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
    ids: RequestIds,
  ): Promise<void> {
    const apiVersion = query["api-version"] ?? "";
    const baseUrl = requestBaseUrl(req);
    const leniency: LeniencyPolicy = config.strict ? STRICT : new LeniencyRecord();
    let served: ServedVersion | undefined;
    let document: SpecVersion | undefined;
    let response: ArmResponse;
    try {
      // ARM authenticates before it looks at anything else of the request.
      // The common cases stay synchronous: no token checks, and no body (a request with neither
      // content-length nor transfer-encoding has none) need no turn of the event loop.
      const principal = config.checkTokens ? await authenticate(req.headers.authorization, baseUrl) : principalOf(req.headers.authorization, config.tenantId);
      // ARM's front door refuses a malformed subscription before it looks for a provider.
      if (params.subscriptionId !== undefined) checkSubscription(params.subscriptionId, leniency);
      if (route.kind === "aks") {
        served = resolveVersion(route, apiVersion, params, leniency);
        document = spec.get(served.document)!;
      } else checkPlatformVersion(route, apiVersion);
      const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
      const body = hasBody ? await readJsonBody(req, config.maxBodyBytes) : undefined;
      if (document) {
        const issues = document
          .validateRequest(route.operationId, {
            params,
            query,
            headers: req.headers as Record<string, any>,
            body,
          })
          // ARM ignores query parameters an operation does not declare: clients add their own, and
          // the emulator's own nextLink carries $skipToken, which no AKS list operation declares.
          .filter((issue) => !(issue.location === "query" && issue.keyword === "additionalProperties"))
          // A subscription that is no GUID was let off above (or refused in strict mode).
          .filter((issue) => issue.location !== "path/subscriptionId");
        if (issues.length) throw requestValidationError(issues, params, body);
      }
      const armRequest: ArmRequest = {
        method: route.method,
        operationId: route.operationId,
        params,
        query,
        headers: req.headers,
        body,
        apiVersion,
        document,
        leniency,
        baseUrl,
        path,
        requestId: ids.requestId,
        principal,
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
    // Headers the emulator adds to an AKS answer, as name, value pairs for the writer.
    const added: string[] = [];
    if (document) {
      // The engine's model is the newest superset: the answer holds what this version defines.
      const body = document.projectResponse(route.operationId, response.status, response.body);
      if (body !== response.body) response = { status: response.status, headers: response.headers, body };
      if (config.responseValidation !== "off") response = checkResponse(document, route.operationId, apiVersion, response);
      added.push(API_DOCUMENT_HEADER, document.version);
    }
    if (leniency !== STRICT && (leniency as LeniencyRecord).used.length) {
      const letOff = (leniency as LeniencyRecord).named(response.status < 400);
      if (letOff.length) added.push(LENIENCY_HEADER, LeniencyRecord.headerValue(letOff)!);
      for (const { kind, detail } of letOff) {
        if (loggedLeniencies.has(kind)) continue;
        loggedLeniencies.add(kind);
        logger.warn(`aks-emulator: let off (${kind}): ${detail}. Azure refuses this; FLOCI_AZ_SERVICES_AKS_STRICT=true refuses it too. Later let-offs of this kind are named only in the ${LENIENCY_HEADER} response header.`);
      }
    }
    write(res, response, req.method === "HEAD", added);
  }

  /**
   * The caller. With token checks off (the default) any bearer token, or none, is accepted and only
   * read; with them on, the token must be one the emulator's issuer signed for this base URL and the
   * configured tenant, and still valid, or the request gets ARM's 401.
   */
  async function authenticate(authorization: string | undefined, baseUrl: string): Promise<Principal> {
    if (!config.checkTokens) return principalOf(authorization, config.tenantId);
    const tenant = config.tenantId.toLowerCase();
    const authority = `${baseUrl}/${tenant}`;
    if (!authorization?.trim()) {
      throw unauthenticated(authority, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", "The authentication failed because of missing 'Authorization' header.");
    }
    const token = authorization.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (!token) {
      throw unauthenticated(authority, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.", "The authentication failed because of the invalid format of 'Authorization' header: expected 'Bearer <token>'.");
    }
    if (!options.issuer) throw internalError("Token checks are on but the emulator has no token issuer.");
    const expectedIssuer = `${authority}/v2.0`;
    try {
      return principalOf(authorization, config.tenantId, await options.issuer.verify(token, [expectedIssuer]));
    } catch (error) {
      const { code, claim, payload } = error as { code?: string; claim?: string; payload?: Record<string, unknown> };
      if (code === "ERR_JWT_EXPIRED") {
        const expiry = typeof payload?.exp === "number" ? new Date(payload.exp * 1000).toISOString() : "unknown";
        const message = `The access token expiry UTC time '${expiry}' is earlier than current UTC time '${new Date().toISOString()}'.`;
        throw unauthenticated(authority, "ExpiredAuthenticationToken", message, message);
      }
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && claim === "iss") {
        const message =
          `The access token is from the wrong issuer '${String(payload?.iss)}'. It must match the tenant '${expectedIssuer}' associated with this subscription. ` +
          `Please use the authority (URL) '${authority}' to get the token.`;
        throw unauthenticated(authority, "InvalidAuthenticationTokenTenant", message, message);
      }
      const reason = (error as Error).message || "not a token this emulator issued";
      throw unauthenticated(authority, "InvalidAuthenticationToken", "The access token is invalid.", `The access token is invalid: ${reason}.`);
    }
  }

  /** A subscription id ARM would refuse: let off by default, refused in strict mode. */
  function checkSubscription(subscriptionId: string, leniency: LeniencyPolicy): void {
    // Most requests name the subscription the last one named: that one is known good.
    if (subscriptionId === lastGoodSubscription) return;
    if (GUID_RE.test(subscriptionId)) {
      lastGoodSubscription = subscriptionId;
      return;
    }
    if (!leniency.lenient) {
      throw badRequest("InvalidSubscriptionId", `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`);
    }
    leniency.note("subscription-id", `'${subscriptionId}' is not a GUID; accepted (strict mode refuses it with InvalidSubscriptionId)`);
  }

  /**
   * The document that serves an AKS request: the version's own, else the nearest one for a version
   * Azure published, else (lenient mode only) the nearest one for a date-shaped version it did not.
   */
  function resolveVersion(route: CompiledRoute, apiVersion: string, params: Record<string, string>, leniency: LeniencyPolicy): ServedVersion {
    if (!config.aksEnabled) {
      throw badRequest("NoRegisteredProviderFound", "The Microsoft.ContainerService provider is disabled in this emulator (FLOCI_AZ_SERVICES_AKS_ENABLED=false).");
    }
    if (!apiVersion) throw missingApiVersion();
    const served = servingDocument(apiVersion);
    const refuse = () => {
      const supported = publishedVersions.filter((v) => spec.hasOperation(servingDocument(v)!.document, route.operationId));
      const location = params.location ?? config.defaultLocation;
      return badRequest(
        "NoRegisteredProviderFound",
        `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${route.resourceType}'. ` +
          `The supported api-versions are '${supported.join(", ")}'. The supported locations are '${config.defaultLocation}'.`,
      );
    };
    if (!served || (served.standing === "unpublished" && !leniency.lenient)) throw refuse();
    if (!spec.hasOperation(served.document, route.operationId)) throw refuse();
    if (served.standing === "unpublished") {
      leniency.note("api-version", `${apiVersion} is not an api-version Azure published for managedClusters; served by the ${served.document} document (strict mode refuses it with NoRegisteredProviderFound)`);
    }
    return served;
  }

  function checkPlatformVersion(route: CompiledRoute, apiVersion: string): void {
    const policy = platformVersions[route.operationId] ?? "any";
    if (policy === "none") return;
    if (!apiVersion) throw missingApiVersion();
    if (policy === "any") {
      if (!API_VERSION_RE.test(apiVersion)) throw invalidApiVersion(apiVersion, undefined);
      return;
    }
    if (!policy.accepted.includes(apiVersion)) throw invalidApiVersion(apiVersion, policy.accepted);
  }

  function checkResponse(document: SpecVersion, operationId: string, apiVersion: string, response: ArmResponse): ArmResponse {
    const issues = document.validateResponse(operationId, response.status, response.body);
    if (!issues.length) return response;
    options.onResponseViolation?.({ operationId, apiVersion, document: document.version, status: response.status, issues });
    const summary = issues.slice(0, 5).map((i) => `${i.location} ${i.message}`).join("; ");
    logger.warn(`response of ${operationId} (${apiVersion}, ${response.status}) breaks the spec: ${summary}`);
    if (config.responseValidation !== "strict") return response;
    return errorResponse(new ArmError(500, "InvalidResponse", `The emulator's response to ${operationId} breaks the spec: ${summary}`));
  }
}

/** ARM's 401: the error envelope plus the WWW-Authenticate challenge naming the authority to sign in at. */
function unauthenticated(authority: string, code: string, message: string, description: string): ArmError {
  const quoted = (text: string) => text.replace(/["\\\r\n]/g, "'");
  return new ArmError(401, code, message, undefined, undefined, {
    "WWW-Authenticate": `Bearer authorization_uri="${quoted(authority)}", error="invalid_token", error_description="${quoted(description)}"`,
  });
}

function missingApiVersion(): ArmError {
  return badRequest("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
}

function invalidApiVersion(apiVersion: string, accepted: readonly string[] | undefined): ArmError {
  const supported = accepted ? ` The supported versions are '${accepted.join(",")}'.` : "";
  return badRequest("InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid.${supported}`);
}

const VALUE_KEYWORDS = new Set(["pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "const", "format", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties"]);

/** Turns ajv issues into ARM's answers: the spec's own parameter and body rules, named precisely. */
function requestValidationError(issues: ValidationIssue[], params: Record<string, string>, body: any): ArmError {
  const first = issues[0];
  // AKS renamed the cluster SKU "Basic" to "Base" in api-version 2023-02-01 (no served document lists
  // it) and refuses the old name with its own code and message, which say what to send instead.
  // Microsoft's examples still send it (azure-rest-api-specs#27263).
  if (body?.sku?.name === "Basic" && issues.every((issue) => issue.location === "requestBody/sku/name")) {
    return badRequest("SkuNotAvailable", "Basic managed cluster SKU name is invalid. 'Basic' has been replaced by 'Base' since v2023-02-01.", "sku.name");
  }
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

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Writes the answer: status and every header (`added`: more name, value pairs) in one writeHead, then the body's JSON. */
export function write(res: ServerResponse, response: ArmResponse, headOnly: boolean, added?: readonly string[]): void {
  // The connection is gone (the client hung up, or the server answered a timeout on it): nothing to send.
  if (res.destroyed || res.writableEnded || res.headersSent) return;
  const ids = (res as TaggedResponse)[REQUEST_IDS];
  const head: string[] = ids ? ["x-ms-request-id", ids.requestId, "x-ms-correlation-request-id", ids.correlationId] : [];
  if (ids?.clientRequestId) head.push("x-ms-client-request-id", ids.clientRequestId);
  if (response.headers) for (const name in response.headers) head.push(name, response.headers[name]);
  if (added) for (let i = 0; i < added.length; i++) head.push(added[i]);
  if (response.body === undefined) {
    head.push("content-length", "0");
    res.writeHead(response.status, head);
    res.end();
    return;
  }
  const payload = encodeJson(response.body);
  head.push("content-type", JSON_CONTENT_TYPE, "content-length", String(Buffer.byteLength(payload)));
  res.writeHead(response.status, head);
  res.end(headOnly ? undefined : payload);
}

/** Splits a request path into its URL-decoded segments (decodeURIComponent throws on a malformed escape). */
function decodePathSegments(path: string): string[] {
  const segments: string[] = [];
  for (const part of path.split("/")) if (part) segments.push(part.includes("%") ? decodeURIComponent(part) : part);
  return segments;
}

function parseQuery(raw: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (!raw) return query;
  const add = (key: string, value: string) => (query[key.length === 11 && key.toLowerCase() === "api-version" ? "api-version" : key] = value);
  // Without escapes ('%', or '+' for a space) the pairs are taken as they are; URLSearchParams decodes the rest.
  if (!raw.includes("%") && !raw.includes("+")) {
    for (const pair of raw.split("&")) {
      if (!pair) continue;
      const at = pair.indexOf("=");
      if (at < 0) add(pair, "");
      else add(pair.slice(0, at), pair.slice(at + 1));
    }
    return query;
  }
  for (const [key, value] of new URLSearchParams(raw)) add(key, value);
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
    // The connection went away before the body was complete (the client hung up, or the server
    // answered a request timeout on it): the handler must not run on half a body.
    req.on("close", () => {
      if (!failed && !req.complete) reject(badRequest("InvalidRequestContent", "The connection closed before the request body was complete."));
      failed = true;
    });
    req.on("end", () => {
      if (failed) return;
      failed = true; // settled
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text.trim()) return resolve(undefined);
      // What reads the parsed body (validation, the engine's copies, the response writer) recurses
      // once per level: refuse absurd nesting from the raw text, before anything parses it.
      if (nestingExceeds(text, MAX_JSON_DEPTH)) {
        return reject(badRequest("InvalidRequestContent", `The request content was invalid: JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted.`));
      }
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

/** Whether JSON text nests objects and arrays deeper than `limit`; one pass, no recursion, strings skipped. */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function tooLarge(limit: number): ArmError {
  // ARM's own code and wording for a body over its 4 MB limit.
  return new ArmError(413, "RequestContentTooLarge", `The request content size exceeds the maximum size of ${limit} bytes.`);
}

/** The caller from the bearer token's claims: `verified` when token checks verified them, else read unverified. */
function principalOf(authorization: string | undefined, defaultTenant: string, verified?: Record<string, any>): Principal {
  const token = authorization?.match(/^Bearer\s+(\S+)/i)?.[1];
  if (token || verified) {
    try {
      const claims = verified ?? JSON.parse(Buffer.from(token!.split(".")[1], "base64url").toString("utf8"));
      if (claims.upn || claims.unique_name) return { id: claims.upn ?? claims.unique_name, type: "User", tenantId: claims.tid };
      if (claims.appid || claims.azp) return { id: claims.appid ?? claims.azp, type: "Application", tenantId: claims.tid };
    } catch {
      // not a JWT: fall through to the anonymous principal
    }
  }
  return { id: "aks-emulator", type: "Application", tenantId: defaultTenant };
}
