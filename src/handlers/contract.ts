// The contract between the HTTP shell and the operation handlers (AKS and platform alike).
import type { IncomingHttpHeaders } from "node:http";
import type { Config } from "../config.js";
import type { Engine } from "../engine/engine.js";
import type { Principal } from "../engine/model.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import type { SpecVersion } from "../api/spec.js";
import type { ResourceStore } from "../store/store.js";
import type { Clock, Logger } from "../util.js";
import type { OperationRecord } from "../arm/lro.js";
import type { OperationId } from "../../generated/operations.js";
import type { operations } from "../../generated/types/newest.js";

export type { Principal };

// ---- the operations' types ------------------------------------------------------------------------
// An AKS operation's request and response bodies come from the newest document's generated types
// (generated/types/newest.ts; an operation only older documents serve, from the newest that has it).
// K is an AKS operationId, or `string` for platform routes and the pipeline, which stay untyped.

type JsonContent<T> = T extends { content: { "application/json": infer B } } ? B : undefined;

/** The request body an operation takes: undefined when it takes none, `| undefined` when it is optional. */
export type RequestBody<K extends string> = K extends OperationId
  ? operations[K] extends { requestBody: infer R }
    ? JsonContent<R>
    : operations[K] extends { requestBody?: infer R }
      ? [R] extends [undefined] ? undefined : JsonContent<Exclude<R, undefined>> | undefined
      : undefined
  : any;

/** The success statuses an operation's document declares (its `default` is the error envelope). */
export type SuccessStatus<K extends OperationId> = Extract<keyof operations[K]["responses"], number>;

/** The response body of one status of an operation: undefined when the document declares none. */
export type ResponseBody<K extends OperationId, S extends SuccessStatus<K>> = JsonContent<operations[K]["responses"][S]>;

export interface ArmRequest<K extends string = string> {
  method: string;
  operationId: string;
  /** Path parameters, URL-decoded, in the casing the client sent. */
  params: Record<string, string>;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, undefined when the request had none; typed as the operation's request body. */
  body: RequestBody<K>;
  apiVersion: string;
  /** The vendored document serving apiVersion (AKS operations only). */
  document?: SpecVersion;
  /** What this request may be let off in the default mode, and the record of it (STRICT in strict mode). */
  leniency: LeniencyPolicy;
  /** scheme://host as the client reached us: absolute URLs in headers and nextLinks use it. */
  baseUrl: string;
  /** The request path as received (without the query string). */
  path: string;
  requestId: string;
  principal: Principal;
}

export interface ArmResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * The long-running operation this answer starts or reports: the pipeline adds its headers
   * (Azure-AsyncOperation, Location, Retry-After) as the operation's generated metadata says
   * (arm/lro.ts, longRunningHeaders). A result URL stands for an operation AKS answers with a
   * Location of its own (the exceptions in arm/lro.ts).
   */
  longRunning?: OperationRecord | { resultUrl: string };
}

/** An AKS operation's answer: one of its declared success statuses, with that status's body. */
export type OperationResponse<K extends OperationId> = {
  [S in SuccessStatus<K>]: Omit<ArmResponse, "status" | "body"> & { status: S; body?: ResponseBody<K, S> };
}[SuccessStatus<K>];

/** The answer of a handler for K: typed for an AKS operation, loose for platform routes. */
export type ArmResponseOf<K extends string> = K extends OperationId ? OperationResponse<K> : ArmResponse;

/** What the composition root wires together (and hands the HTTP shell). */
export interface Services {
  config: Config;
  store: ResourceStore;
  engine: Engine;
  clock: Clock;
  logger: Logger;
}

/** Listings across every subscription (engine/inventory.ts), for the emulator's status page; no handler's. */
export type { Inventory } from "../engine/inventory.js";

/** The engine's operations: everything a handler may do with state. */
export type EngineOperations = Omit<Engine, "core">;

/** What a handler is given: the engine's operations, never the store nor the engine's core. */
export interface HandlerServices {
  config: Config;
  engine: EngineOperations;
  clock: Clock;
  logger: Logger;
}

/** The handler of operation K (an AKS operationId: typed by its generated types; any other string: untyped). */
export type Handler<K extends string = string> = (req: ArmRequest<K>, services: HandlerServices) => ArmResponseOf<K> | Promise<ArmResponseOf<K>>;

/** Every AKS operation's handler type, for the generated Handlers (one handler per operationId). */
export type OperationHandlers = { readonly [K in OperationId]: Handler<K> };
