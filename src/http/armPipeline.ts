// The ARM request pipeline: named stages over one request's context, run in the order ARM_STAGES
// declares them. A stage either finishes synchronously (returns nothing), waits (returns a promise:
// a body to read, a token to verify, an asynchronous handler), or hands the request off. The common
// request (no body, no token checks, a synchronous handler) runs every stage in one go.
// Requests no ARM route matches go to the fallback (the web endpoints of http/routes.ts).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ArmError, errors } from "../arm/errors.js";
import { requestValidationError } from "../arm/requestErrors.js";
import { longRunningHeaders } from "../arm/lro.js";
import type { ArmRequest, ArmResponse, Handler, Principal, Services } from "../handlers/contract.js";
import type { CompiledRoute, RouteIndex } from "../api/routeIndex.js";
import type { SpecRegistry, SpecVersion, ValidationIssue } from "../api/spec.js";
import { publishedVersions, servingDocument, type ServedVersion } from "../api/apiVersions.js";
import { LENIENCY_HEADER, LeniencyRecord, STRICT, type LeniencyKind, type LeniencyPolicy } from "../arm/leniency.js";
import type { Config } from "../config.js";
import type { Logger } from "../util.js";
import { errorResponse, write, writeError } from "./armAnswer.js";
import { principalOf, verifiedPrincipal, type TokenVerifier } from "./bearerTokens.js";
import { REQUEST_IDS, requestBaseUrl, sendContinue, type RequestIds, type TaggedResponse } from "./dualProtocolServer.js";
import { declaredLength, drainBounded, hasBody, isJsonMediaType, readJsonBody } from "./jsonBody.js";
import { operationFault, type FaultRegistry, type OperationFault } from "./faults.js";
import type { RequestJournal, ValidationOutcome } from "./journal.js";
import type { RateLimiter } from "./rateLimits.js";

export { errorResponse, write } from "./armAnswer.js";
export { MAX_JSON_DEPTH, nestingExceeds } from "./jsonBody.js";
export type { TokenVerifier } from "./bearerTokens.js";

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
  issuer?: TokenVerifier;
  /** Fault injection (http/faults.ts, /_emulator/faults): the injectFaults stage applies its rules. */
  faults?: FaultRegistry;
  /** The request journal and API coverage (GET /_emulator/requests, /_emulator/coverage): the last stage records every ARM request. */
  journal?: RequestJournal;
  /** ARM's throttling (http/rateLimits.ts): the throttle stage counts every routed request and names what is left. */
  rateLimits?: RateLimiter;
}

export interface ResponseViolation {
  operationId: string;
  apiVersion: string;
  /** The document that served the version. */
  document?: string;
  status: number;
  issues: ValidationIssue[];
}

/** What the stages share across requests: the options, and what the pipeline remembers between requests. */
export interface Pipeline extends Readonly<PipelineOptions> {
  readonly config: Config;
  readonly logger: Logger;
  /** Let-off kinds already named in the log: one line per kind, not per request. */
  readonly loggedLeniencies: Set<LeniencyKind>;
  /** The last subscription id that was a GUID: most requests name the one the last one named. */
  lastGoodSubscription: string | undefined;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  return { ...options, config: options.services.config, logger: options.services.logger, loggedLeniencies: new Set(), lastGoodSubscription: undefined };
}

const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/i;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Names the vendored document that served an AKS request (the api-version may be served by a nearer one). */
export const API_DOCUMENT_HEADER = "x-aks-emulator-api-document";

const NO_IDS: RequestIds = Object.freeze({ requestId: "", correlationId: "" });
const NO_PARAMS: Record<string, string> = Object.freeze({});
const NO_SEGMENTS: string[] = [];

/** One request on its way through the stages: what each stage found out, for the ones after it. */
export class RequestContext {
  ids: RequestIds = NO_IDS;
  /** The request path as received, without the query string. */
  path = "/";
  rawQuery = "";
  /** URL-decoded path segments. */
  segments: string[] = NO_SEGMENTS;
  query: Record<string, string> = NO_PARAMS;
  route: CompiledRoute | undefined = undefined;
  params: Record<string, string> = NO_PARAMS;
  apiVersion = "";
  baseUrl = "";
  principal: Principal | undefined = undefined;
  /** The vendored document serving an AKS request's api-version. */
  document: SpecVersion | undefined = undefined;
  body: unknown = undefined;
  /** The handler's answer, or the error a stage threw, as ARM's envelope. */
  response: ArmResponse | undefined = undefined;
  /** Headers the emulator adds to the answer, as name, value pairs for the writer. */
  readonly added: string[] = [];
  /** A fault injected into the long-running operation the handler starts (injectFaults). */
  injected: OperationFault | undefined = undefined;
  /** When the request arrived (performance.now()), and what the validation stages found: for the journal. */
  readonly started = performance.now();
  requestValidation: ValidationOutcome = "notReached";
  responseValidation: ValidationOutcome = "notReached";

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** What this request may be let off (STRICT in strict mode), and the record of it. */
    readonly leniency: LeniencyPolicy,
  ) {}
}

/** A stage's result: undefined to go on at once, a promise to go on when it settles, HANDED_OFF to stop. */
export type StageResult = void | Promise<void> | typeof HANDED_OFF;
export type Stage = (ctx: RequestContext, pipeline: Pipeline) => StageResult;
/** Returned by a stage that passed the request on to something else, which answers it. */
export const HANDED_OFF = Symbol("handedOff");

/** Every stage of an ARM request, in the order they run. */
export const ARM_STAGES: readonly Stage[] = [
  identify, // request ids, access log
  parseUri, // path segments (InvalidRequestUri), query
  findRoute, // no ARM route: the fallback; a method the route lacks: 405 with Allow
  authenticate, // the caller (token checks)
  checkSubscription, // a subscription id that is no GUID: let off, or InvalidSubscriptionId
  throttle, // x-ms-ratelimit-remaining-*; with FLOCI_AZ_SERVICES_AKS_RATE_LIMIT an empty bucket is 429
  resolveApiVersion, // AKS: the serving document; a platform route: its policy
  injectFaults, // a matching fault rule (http/faults.ts): an error, a delay, a dropped connection, an operation fault
  readBody, // size and nesting limits
  normaliseRequest, // AKS: the body as ARM reads it (read-only properties, nulls, unset values)
  validateRequest, // AKS: ajv against the serving document
  handle,
  // An error thrown above is the answer from here on.
  projectToVersion,
  validateResponse,
  addHeaders, // x-aks-emulator-api-document, x-aks-emulator-leniency
  writeAnswer,
  recordRequest, // the request journal and API coverage (http/journal.ts)
];

/** An error thrown by a stage before this one becomes the request's answer, and the stages from here on still run. */
const ANSWERED_FROM = ARM_STAGES.indexOf(projectToVersion);

// ---------------------------------------------------------------------------------------------------

export function createArmPipeline(options: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const pipeline = createPipeline(options);
  return (req, res) => {
    const ctx = new RequestContext(req, res, pipeline.config.strict ? STRICT : new LeniencyRecord());
    let pending: void | Promise<void>;
    try {
      pending = runStages(ctx, pipeline, 0);
    } catch (error) {
      return unhandled(ctx, pipeline, error);
    }
    pending?.catch((error) => unhandled(ctx, pipeline, error));
  };
}

/** Runs the stages from `from` on, synchronously for as long as none returns a promise. */
function runStages(ctx: RequestContext, p: Pipeline, from: number): void | Promise<void> {
  const stages = ARM_STAGES;
  for (let at = from; at < stages.length; at++) {
    let result: StageResult;
    if (at < ANSWERED_FROM) {
      try {
        result = stages[at](ctx, p);
      } catch (error) {
        answerWithError(ctx, p, error);
        at = ANSWERED_FROM - 1;
        continue;
      }
    } else result = stages[at](ctx, p);
    if (result === undefined) continue;
    if (result === HANDED_OFF) return;
    const next = at + 1;
    if (at >= ANSWERED_FROM) return result.then(() => runStages(ctx, p, next));
    return result.then(
      () => runStages(ctx, p, next),
      (error) => {
        answerWithError(ctx, p, error);
        return runStages(ctx, p, ANSWERED_FROM);
      },
    );
  }
}

function answerWithError(ctx: RequestContext, p: Pipeline, error: unknown): void {
  if (!(error instanceof ArmError)) {
    p.logger.error(`${ctx.route?.operationId ?? `${ctx.req.method} ${ctx.path}`} failed: ${(error as Error).stack ?? error}`);
  }
  ctx.response = errorResponse(error instanceof ArmError ? error : errors.internalError());
}

function unhandled(ctx: RequestContext, p: Pipeline, error: unknown): void {
  p.logger.error(`unhandled ${ctx.req.method} ${ctx.path}: ${(error as Error).stack ?? error}`);
  if (!ctx.res.headersSent) writeError(ctx.res, errors.internalError());
  else ctx.res.destroy();
}

// ---------------------------------------------------------------------------------------------------
// The stages.

/** ARM's request ids on the response, and the access log line once it is answered. */
export function identify(ctx: RequestContext, p: Pipeline): void {
  const started = p.config.logRequests ? performance.now() : 0;
  const { req, res } = ctx;
  const requestId = randomUUID();
  ctx.ids = {
    requestId,
    correlationId: firstHeader(req.headers["x-ms-correlation-request-id"]) ?? requestId,
    clientRequestId: firstHeader(req.headers["x-ms-client-request-id"]),
  };
  // The answer's headers are written in one go by write(); what else answers on this connection
  // (node's client-error handler) finds the ids here.
  (res as TaggedResponse)[REQUEST_IDS] = ctx.ids;
  const rawUrl = req.url ?? "/";
  const queryAt = rawUrl.indexOf("?");
  ctx.path = queryAt >= 0 ? rawUrl.slice(0, queryAt) : rawUrl;
  ctx.rawQuery = queryAt >= 0 ? rawUrl.slice(queryAt + 1) : "";
  if (p.config.logRequests) {
    const path = ctx.path;
    res.once("finish", () => {
      p.logger.info(`${req.method} ${path} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
    });
  }
}

/** The request URI: URL-decoded path segments (InvalidRequestUri on a malformed escape) and the query. */
export function parseUri(ctx: RequestContext): void {
  try {
    ctx.segments = decodePathSegments(ctx.path);
  } catch {
    throw errors.invalidRequestUri(ctx.path);
  }
  ctx.query = parseQuery(ctx.rawQuery);
}

/** The ARM route through the precompiled index; a path it does not know goes to the fallback. */
export function findRoute(ctx: RequestContext, p: Pipeline): StageResult {
  const { req, res } = ctx;
  let lookup = p.routes.lookup(req.method ?? "GET", ctx.segments);
  // HEAD of a resource is its GET without the body (writeAnswer: 204 where GET answers 200).
  if (lookup.kind === "methodNotAllowed" && req.method === "HEAD" && lookup.allowed.includes("GET")) lookup = p.routes.lookup("GET", ctx.segments);
  if (lookup.kind === "match") {
    ctx.route = lookup.route;
    ctx.params = lookup.params;
    ctx.apiVersion = ctx.query["api-version"] ?? "";
    ctx.baseUrl = requestBaseUrl(req);
    return;
  }
  if (lookup.kind === "methodNotAllowed") {
    // RFC 9110: a 405 names the methods the resource does support in Allow.
    throw errors.methodNotAllowed(req.method, ctx.path, lookup.allowed);
  }
  const { ids } = ctx;
  res.setHeader("x-ms-request-id", ids.requestId);
  res.setHeader("x-ms-correlation-request-id", ids.correlationId);
  if (ids.clientRequestId) res.setHeader("x-ms-client-request-id", ids.clientRequestId);
  // The web endpoints read their bodies themselves (OAuth forms): a client waiting on 100 Continue gets it now.
  sendContinue(req, res);
  p.fallback(req, res);
  return HANDED_OFF;
}

/** The caller. ARM authenticates before it looks at anything else of the request. */
export function authenticate(ctx: RequestContext, p: Pipeline): StageResult {
  const authorization = ctx.req.headers.authorization;
  if (!p.config.checkTokens) {
    ctx.principal = principalOf(authorization, p.config.tenantId);
    return;
  }
  return verifiedPrincipal(authorization, ctx.baseUrl, p.config.tenantId, p.issuer).then((principal) => {
    ctx.principal = principal;
  });
}

/**
 * A subscription id ARM would refuse: let off by default, refused in strict mode. ARM's front door
 * refuses a malformed subscription before it looks for a provider.
 */
export function checkSubscription(ctx: RequestContext, p: Pipeline): void {
  const subscriptionId = ctx.params.subscriptionId;
  // Most requests name the subscription the last one named: that one is known good.
  if (subscriptionId === undefined || subscriptionId === p.lastGoodSubscription) return;
  if (GUID_RE.test(subscriptionId)) {
    p.lastGoodSubscription = subscriptionId;
    return;
  }
  if (!ctx.leniency.lenient) {
    throw errors.invalidSubscriptionId(subscriptionId);
  }
  ctx.leniency.note("subscription-id", `'${subscriptionId}' is not a GUID; accepted (strict mode refuses it with InvalidSubscriptionId)`);
}

/**
 * ARM's throttling (http/rateLimits.ts), after the caller and the subscription are known, before
 * anything about the provider: the request is counted against its subscription's (or tenant's) token
 * buckets and the answer names what is left; with FLOCI_AZ_SERVICES_AKS_RATE_LIMIT an empty bucket is
 * ARM's 429 with Retry-After.
 */
export function throttle(ctx: RequestContext, p: Pipeline): void {
  const limits = p.rateLimits;
  if (!limits) return;
  const principal = ctx.principal!;
  const refused = limits.count(ctx.req.method ?? "GET", ctx.params.subscriptionId, principal.tenantId ?? p.config.tenantId, principal.id, ctx.started, ctx.added);
  if (refused) throw refused;
}

/** The api-version: for AKS, the document that serves it (api/apiVersions.ts); for a platform route, its policy. */
export function resolveApiVersion(ctx: RequestContext, p: Pipeline): void {
  const route = ctx.route!;
  if (route.kind === "aks") ctx.document = p.spec.get(servedVersion(p, route, ctx.apiVersion, ctx.params, ctx.leniency).document)!;
  else checkPlatformVersion(p.platformVersions[route.operationId] ?? "any", ctx.apiVersion);
}

/**
 * Fault injection (http/faults.ts): the first rule that matches the request answers its ARM error,
 * delays the answer, drops the connection, or marks the request so the operation it starts fails or
 * ends later (the engine's InjectedFault, handed over in handle). Before the request touches state.
 */
export function injectFaults(ctx: RequestContext, p: Pipeline): StageResult {
  const faults = p.faults;
  if (!faults || faults.empty) return;
  const route = ctx.route!;
  const rule = faults.take({ operationId: route.operationId, method: ctx.req.method ?? route.method, resourceId: `/${ctx.segments.join("/")}`, apiVersion: ctx.apiVersion });
  if (!rule) return;
  p.logger.info(`aks-emulator: fault ${rule.id} fired on ${route.operationId} ${ctx.path}`);
  if (rule.drop) {
    // The connection closes without an answer (after the delay, when the rule has one).
    const drop = () => ctx.req.socket.destroy();
    if (rule.delayMs) setTimeout(drop, rule.delayMs);
    else drop();
    return HANDED_OFF;
  }
  ctx.injected = operationFault(rule);
  const error = rule.error && errors.injected(rule.error.status, rule.error.code, rule.error.message, rule.error.retryAfter);
  if (!rule.delayMs) {
    if (error) throw error;
    return;
  }
  return new Promise<void>((resolve, reject) => setTimeout(() => (error ? reject(error) : resolve()), rule.delayMs));
}

/**
 * The JSON body, when the request has one; the common request has none and needs no turn of the event
 * loop. A body over the limit is refused before anything of it is read, one that is not
 * application/json (415) as soon as that is known; a client waiting on 100 Continue gets it only
 * once the body is going to be read.
 */
export function readBody(ctx: RequestContext, p: Pipeline): StageResult {
  const { req } = ctx;
  if (!hasBody(req)) return;
  const limit = p.config.maxBodyBytes;
  const contentType = req.headers["content-type"];
  const refused = isJsonMediaType(contentType) ? undefined : errors.unsupportedMediaType(contentType);
  const declared = declaredLength(req);
  if (!(declared > limit)) {
    if (refused && declared > 0) throw refused;
    sendContinue(req, ctx.res);
  }
  // A chunked body is refused for its media type once it turns out not to be empty.
  return readJsonBody(req, limit, refused).then((body) => {
    ctx.body = body;
  });
}

/**
 * An AKS request's body as ARM and AKS read it, before it is validated (api/requestNormalisation.ts):
 * read-only properties ignored, null and unset values of optional ones left out. Azure does this
 * too, so strict mode does it; what it did goes to the debug log, not the leniency header.
 */
export function normaliseRequest(ctx: RequestContext, p: Pipeline): void {
  const { document, body } = ctx;
  if (!document || typeof body !== "object" || body === null) return;
  const { body: normalised, applied } = document.normaliseRequest(ctx.route!.operationId, body);
  if (!applied.length) return;
  ctx.body = normalised;
  p.logger.debug?.(`${ctx.route!.operationId}: request body read as ARM reads it: ${applied.join("; ")}`);
}

/** An AKS request against its version's own document (ajv): ARM's codes for what the spec refuses. */
export function validateRequest(ctx: RequestContext): void {
  const { document, params, body } = ctx;
  if (!document) {
    ctx.requestValidation = "skipped";
    return;
  }
  ctx.requestValidation = "failed";
  const issues = document
    .validateRequest(ctx.route!.operationId, { params, query: ctx.query, headers: ctx.req.headers as Record<string, any>, body })
    // ARM ignores query parameters an operation does not declare: clients add their own, and
    // the emulator's own nextLink carries $skipToken, which no AKS list operation declares.
    .filter((issue) => !(issue.location === "query" && issue.keyword === "additionalProperties"))
    // A subscription that is no GUID was let off above (or refused in strict mode).
    .filter((issue) => issue.location !== "path/subscriptionId");
  if (issues.length) throw requestValidationError(issues, params, body);
  ctx.requestValidation = "passed";
}

/** The operation's handler. */
export function handle(ctx: RequestContext, p: Pipeline): StageResult {
  const route = ctx.route!;
  const armRequest: ArmRequest = {
    method: route.method,
    operationId: route.operationId,
    params: ctx.params,
    query: ctx.query,
    headers: ctx.req.headers,
    body: ctx.body,
    apiVersion: ctx.apiVersion,
    document: ctx.document,
    leniency: ctx.leniency,
    baseUrl: ctx.baseUrl,
    path: ctx.path,
    requestId: ctx.ids.requestId,
    principal: ctx.principal!,
  };
  const handler = p.handlers[route.operationId];
  if (!handler) throw errors.notImplemented(route.operationId);
  // The handler's writes may be committed together with other requests' (the store's group commit):
  // no answer goes before the changes it made or read are committed, and a commit that fails
  // (a full disk: 507) is the answer of every request that waited on it.
  const { store } = p.services;
  let response: ReturnType<typeof handler>;
  try {
    const run = () => handler(armRequest, p.services);
    const injected = ctx.injected;
    response = store.deferCommits(injected ? () => p.services.engine.withInjected(injected, run) : run);
  } catch (error) {
    const committed = store.durable();
    if (!committed) throw error;
    return committed.then(() => {
      throw error;
    });
  }
  const committed = store.durable();
  if (isPromise(response) || committed) return answerWhenDurable(ctx, store, response, committed);
  ctx.response = withOperationHeaders(ctx, response);
}

/** Sets the handler's answer once it has settled and the store has committed what it wrote and read; a failed commit is the answer. */
async function answerWhenDurable(ctx: RequestContext, store: Services["store"], response: ArmResponse | Promise<ArmResponse>, committed: Promise<void> | undefined): Promise<void> {
  // Its outcome is taken at once: a rejection must not go unhandled while the handler still runs.
  const commit = committed?.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  let settled: ArmResponse | undefined;
  let failure: { error: unknown } | undefined;
  try {
    settled = await response;
  } catch (error) {
    failure = { error };
  }
  const refused = (await commit) ?? (await store.durable()?.then(() => undefined, (error: unknown) => ({ error })));
  if (refused) throw refused.error;
  if (failure) throw failure.error;
  ctx.response = withOperationHeaders(ctx, settled!);
}

/** A long-running answer gets the headers its operation's generated metadata gives it (arm/lro.ts). */
function withOperationHeaders(ctx: RequestContext, response: ArmResponse): ArmResponse {
  const running = response.longRunning;
  if (!running) return response;
  const headers = longRunningHeaders(ctx.route!.operationId, response.status, running, ctx.baseUrl, ctx.apiVersion);
  return { status: response.status, headers: { ...headers, ...response.headers }, body: response.body };
}

/** The engine's model is the newest superset: the answer holds what the request's version defines. */
export function projectToVersion(ctx: RequestContext): void {
  const { document, response } = ctx;
  if (!document) return;
  const body = document.projectResponse(ctx.route!.operationId, response!.status, response!.body);
  if (body !== response!.body) ctx.response = { status: response!.status, headers: response!.headers, body };
}

/** The answer against the version's document: reported (onResponseViolation, the log), and in strict response validation refused. */
export function validateResponse(ctx: RequestContext, p: Pipeline): void {
  const { document } = ctx;
  if (!document || p.config.responseValidation === "off") {
    ctx.responseValidation = "skipped";
    return;
  }
  const response = ctx.response!;
  const operationId = ctx.route!.operationId;
  const issues = document.validateResponse(operationId, response.status, response.body);
  ctx.responseValidation = issues.length ? "failed" : "passed";
  if (!issues.length) return;
  p.onResponseViolation?.({ operationId, apiVersion: ctx.apiVersion, document: document.version, status: response.status, issues });
  const summary = issues.slice(0, 5).map((i) => `${i.location} ${i.message}`).join("; ");
  p.logger.warn(`response of ${operationId} (${ctx.apiVersion}, ${response.status}) breaks the spec: ${summary}`);
  if (p.config.responseValidation !== "strict") return;
  ctx.response = errorResponse(errors.invalidResponse(operationId, summary));
}

/** The emulator's own headers: the document that served the request, and what it was let off (logged once per kind). */
export function addHeaders(ctx: RequestContext, p: Pipeline): void {
  if (ctx.document) ctx.added.push(API_DOCUMENT_HEADER, ctx.document.version);
  const leniency = ctx.leniency;
  if (leniency === STRICT || !(leniency as LeniencyRecord).used.length) return;
  const letOff = (leniency as LeniencyRecord).named(ctx.response!.status < 400);
  if (letOff.length) ctx.added.push(LENIENCY_HEADER, LeniencyRecord.headerValue(letOff)!);
  for (const { kind, detail } of letOff) {
    if (p.loggedLeniencies.has(kind)) continue;
    p.loggedLeniencies.add(kind);
    p.logger.warn(`aks-emulator: let off (${kind}): ${detail}. Azure refuses this; FLOCI_AZ_SERVICES_AKS_STRICT=true refuses it too. Later let-offs of this kind are named only in the ${LENIENCY_HEADER} response header.`);
  }
}

export function writeAnswer(ctx: RequestContext, p: Pipeline): void {
  const { req } = ctx;
  let response = ctx.response!;
  // A HEAD served by the resource's GET: 204 No Content where the GET answers 200 (ARM's HEAD), its errors without a body.
  if (req.method === "HEAD" && ctx.route?.method === "GET" && response.status === 200) response = { status: 204, headers: response.headers };
  write(ctx.res, response, req.method === "HEAD", ctx.added);
  // Answered before its body was all read (refused, or the handler did not need it): what the client
  // still sends is read and dropped, so it reads the answer, up to a bound; then the connection closes.
  if (!req.complete && hasBody(req)) drainBounded(req, drainBound(p.config.maxBodyBytes));
}

/** The answered request into the journal and the coverage counts, when the pipeline has a journal. Bodies are kept only when the journal keeps them. */
export function recordRequest(ctx: RequestContext, p: Pipeline): void {
  const journal = p.journal;
  if (!journal) return;
  const { ids } = ctx;
  journal.record(
    {
      time: new Date(Date.now() - (performance.now() - ctx.started)).toISOString(),
      method: ctx.req.method ?? "",
      path: ctx.path,
      apiVersion: ctx.apiVersion || (ctx.query["api-version"] ?? ""),
      operationId: ctx.route?.operationId,
      document: ctx.document?.version,
      status: ctx.res.headersSent ? ctx.res.statusCode : (ctx.response?.status ?? 0),
      durationMs: Math.round((performance.now() - ctx.started) * 100) / 100,
      requestValidation: ctx.requestValidation,
      responseValidation: ctx.responseValidation,
      requestId: ids.requestId,
      correlationId: ids.correlationId,
      clientRequestId: ids.clientRequestId,
    },
    journal.keepBodies ? ctx.body : undefined,
    journal.keepBodies ? ctx.response?.body : undefined,
  );
}

/** How much of a refused body the server reads and drops before it closes the connection instead. */
function drainBound(maxBodyBytes: number): number {
  return Math.max(16 * 1024 * 1024, 4 * maxBodyBytes);
}

// ---------------------------------------------------------------------------------------------------

/**
 * The document that serves an AKS request: the version's own, else the nearest one for a version
 * Azure published, else (lenient mode only) the nearest one for a date-shaped version it did not.
 */
function servedVersion(p: Pipeline, route: CompiledRoute, apiVersion: string, params: Record<string, string>, leniency: LeniencyPolicy): ServedVersion {
  const { config, spec } = p;
  if (!config.aksEnabled) {
    throw errors.providerDisabled();
  }
  if (!apiVersion) throw errors.missingApiVersion();
  const served = servingDocument(apiVersion);
  const refuse = () => {
    const supported = publishedVersions.filter((v) => spec.hasOperation(servingDocument(v)!.document, route.operationId));
    const location = params.location ?? config.defaultLocation;
    return errors.noRegisteredProvider(location, apiVersion, route.resourceType, supported, config.defaultLocation);
  };
  if (!served || (served.standing === "unpublished" && !leniency.lenient)) throw refuse();
  if (!spec.hasOperation(served.document, route.operationId)) throw refuse();
  if (served.standing === "unpublished") {
    leniency.note("api-version", `${apiVersion} is not an api-version Azure published for managedClusters; served by the ${served.document} document (strict mode refuses it with NoRegisteredProviderFound)`);
  }
  return served;
}

function checkPlatformVersion(policy: VersionPolicy, apiVersion: string): void {
  if (policy === "none") return;
  if (!apiVersion) throw errors.missingApiVersion();
  if (policy === "any") {
    if (!API_VERSION_RE.test(apiVersion)) throw errors.invalidApiVersion(apiVersion, undefined);
    return;
  }
  if (!policy.accepted.includes(apiVersion)) throw errors.invalidApiVersion(apiVersion, policy.accepted);
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

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === "function";
}
