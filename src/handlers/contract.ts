// The contract between the HTTP shell and the operation handlers (AKS and platform alike).
import type { IncomingHttpHeaders } from "node:http";
import type { Config } from "../config.js";
import type { Engine } from "../engine/engine.js";
import type { Principal } from "../engine/model.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import type { SpecVersion } from "../api/spec.js";
import type { ResourceStore } from "../store/store.js";
import type { Clock, Logger } from "../util.js";

export type { Principal };

export interface ArmRequest {
  method: string;
  operationId: string;
  /** Path parameters, URL-decoded, in the casing the client sent. */
  params: Record<string, string>;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, undefined when the request had none. */
  body: any;
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
}

/** What the composition root wires together (and hands the HTTP shell). */
export interface Services {
  config: Config;
  store: ResourceStore;
  engine: Engine;
  clock: Clock;
  logger: Logger;
}

/** The engine's operations: everything a handler may do with state. */
export type EngineOperations = Omit<Engine, "core">;

/** What a handler is given: the engine's operations, never the store nor the engine's core. */
export interface HandlerServices {
  config: Config;
  engine: EngineOperations;
  clock: Clock;
  logger: Logger;
}

export type Handler = (req: ArmRequest, services: HandlerServices) => ArmResponse | Promise<ArmResponse>;
