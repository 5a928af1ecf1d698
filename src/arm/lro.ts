// Long-running operations as ARM and AKS expose them: an operation record per write, the
// Azure-AsyncOperation status URL (always 200, status InProgress|Succeeded|Failed|Canceled) and the
// Location result URL (202 while running, then 200 with the result or 204).
import { randomUUID } from "node:crypto";
import type { ArmErrorBody } from "./errors.js";
import { flatString, isoTime, spread } from "../util.js";
import { apiVersions, operationsByVersion, type OperationInfo } from "../../generated/operations.js";

export type OperationStatus = "InProgress" | "Succeeded" | "Failed" | "Canceled";

export interface OperationRecord {
  /** The operation id as it appears in URLs (a GUID). */
  name: string;
  subscriptionId: string;
  location: string;
  /** Provider namespace serving the status URLs: Microsoft.ContainerService, or Microsoft.Resources for resource groups. */
  provider: string;
  resourceId: string;
  /** What the operation does, e.g. "Create", "Update", "Delete", "Start". */
  action: string;
  status: OperationStatus;
  startTime: string;
  endTime?: string;
  percentComplete?: number;
  error?: ArmErrorBody;
  /** What the Location URL answers once the operation has ended: 200 with a body, or 204. */
  result?: { status: number; body?: unknown };
}

export function newOperation(input: Omit<OperationRecord, "name" | "status" | "startTime">, now: Date): OperationRecord {
  return spread(input, { name: newOperationId(now), status: "InProgress" as const, startTime: isoTime(now), percentComplete: 0 });
}

/**
 * A new operation's name: a UUID of version 7 (RFC 9562), its first 48 bits the start time in
 * milliseconds, the rest random. ARM's operation ids are opaque GUIDs to every client; these sort by
 * start, so a data folder's operations index takes a group commit's new ones in one page at its end,
 * not each in a page of its own at a random place (about seven of the 48 pages a commit of eight creates wrote).
 */
export function newOperationId(now: Date): string {
  const time = Math.max(0, Math.min(now.getTime(), 2 ** 48 - 1)).toString(16).padStart(12, "0");
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx: its variant and last 74 random bits are kept
  return flatString(`${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`);
}

export const isTerminal = (status: OperationStatus) => status !== "InProgress";

function operationsBase(baseUrl: string, op: OperationRecord): string {
  if (op.provider === "Microsoft.Resources") return `${baseUrl}/subscriptions/${op.subscriptionId}`;
  return `${baseUrl}/subscriptions/${op.subscriptionId}/providers/${op.provider}/locations/${op.location}`;
}

export function asyncOperationUrl(baseUrl: string, op: OperationRecord, apiVersion: string): string {
  return `${operationsBase(baseUrl, op)}/operations/${op.name}?api-version=${encodeURIComponent(apiVersion)}`;
}

export function locationUrl(baseUrl: string, op: OperationRecord, apiVersion: string): string {
  return `${operationsBase(baseUrl, op)}/operationresults/${op.name}?api-version=${encodeURIComponent(apiVersion)}`;
}

/** Headers of a 201/202 that starts (or reports) a long-running operation. Retry-After: 1 keeps clients fast. */
export function lroHeaders(
  baseUrl: string,
  op: OperationRecord,
  apiVersion: string,
  include: { asyncOperation?: boolean; location?: boolean } = { asyncOperation: true },
): Record<string, string> {
  const headers: Record<string, string> = { "Retry-After": "1" };
  if (include.asyncOperation) headers["Azure-AsyncOperation"] = asyncOperationUrl(baseUrl, op, apiVersion);
  if (include.location) headers["Location"] = locationUrl(baseUrl, op, apiVersion);
  return headers;
}

// ---- what a long-running answer carries, from the operations' generated metadata ----------------------

/**
 * Each AKS operation's metadata from the newest document that has it (the documents differ: the older
 * ones lack final-state-via), so an operation answers alike at every api-version.
 */
const newestInfo: ReadonlyMap<string, OperationInfo> = (() => {
  const info = new Map<string, OperationInfo>();
  for (const version of apiVersions) for (const op of operationsByVersion[version]) if (!info.has(op.operationId)) info.set(op.operationId, op);
  return info;
})();

/** An AKS operation's generated metadata (newest document that has it); undefined for platform routes. */
export const operationInfo = (operationId: string): OperationInfo | undefined => newestInfo.get(operationId);

/** Whether the spec makes the operation long-running (x-ms-long-running-operation). */
export const isLongRunning = (operationId: string): boolean => newestInfo.get(operationId)?.longRunning === true;

/** Whether the operation's Location URL answers its final resource (final-state-via: location). */
export const finalStateAtLocation = (operationId: string): boolean => newestInfo.get(operationId)?.finalStateVia === "location";

export interface LroHeaderSet {
  asyncOperation: boolean;
  location: boolean;
}

/**
 * Where the metadata alone does not give AKS's answer. Their Location is a URL of the operation's
 * own (the handler's `resultUrl`), not an operation result.
 */
export const LRO_EXCEPTIONS: Readonly<Record<string, LroHeaderSet>> = {
  // Long-running POST with final-state-via location, but AKS answers it with Location at the
  // command's result (GetCommandResult) and no Azure-AsyncOperation; az reads the command id out of it.
  ManagedClusters_RunCommand: { asyncOperation: false, location: true },
  // Not long-running in the spec, yet its 202 while the command runs is polled like one: Location (itself).
  ManagedClusters_GetCommandResult: { asyncOperation: false, location: true },
};

/**
 * The headers of a long-running operation's answer with `status`, from its metadata: every answer
 * carries Azure-AsyncOperation; a 202 Accepted, and any answer of an operation whose final state is
 * read at Location (final-state-via: location), carries Location too; and Retry-After: 1.
 * (So PUT/PATCH: Azure-AsyncOperation, + Location for final-state-via location; DELETE 202 and POST
 * 202: both; a long-running DELETE the spec answers 200: Azure-AsyncOperation.)
 */
export function lroHeaderSet(operationId: string, status: number): LroHeaderSet {
  const exception = LRO_EXCEPTIONS[operationId];
  if (exception) return exception;
  const info = newestInfo.get(operationId);
  // A handler naming an operation for an answer the spec does not make long-running is the emulator's bug.
  if (!info?.longRunning) throw new Error(`${operationId} is not a long-running operation: its answer carries no operation headers`);
  return { asyncOperation: true, location: status === 202 || info.finalStateVia === "location" };
}

/** The headers of a long-running answer (ArmResponse.longRunning), as lroHeaderSet decides them. */
export function longRunningHeaders(
  operationId: string,
  status: number,
  running: OperationRecord | { resultUrl: string },
  baseUrl: string,
  apiVersion: string,
): Record<string, string> {
  const include = lroHeaderSet(operationId, status);
  if ("resultUrl" in running) {
    if (include.asyncOperation) throw new Error(`${operationId}: a result URL has no operation status to point Azure-AsyncOperation at`);
    return { Location: running.resultUrl, "Retry-After": "1" };
  }
  return lroHeaders(baseUrl, running, apiVersion, include);
}

/** The operation status resource served at the Azure-AsyncOperation URL. */
export function operationStatusBody(op: OperationRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: `/subscriptions/${op.subscriptionId}/providers/${op.provider}/locations/${op.location}/operations/${op.name}`,
    name: op.name,
    status: op.status,
    startTime: op.startTime,
  };
  if (op.endTime) body.endTime = op.endTime;
  if (op.percentComplete !== undefined) body.percentComplete = op.percentComplete;
  if (op.error) body.error = op.error;
  return body;
}
