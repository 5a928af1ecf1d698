// Long-running operations as ARM and AKS expose them: an operation record per write, the
// Azure-AsyncOperation status URL (always 200, status InProgress|Succeeded|Failed|Canceled) and the
// Location result URL (202 while running, then 200 with the result or 204).
import { randomUUID } from "node:crypto";
import type { ArmErrorBody } from "./errors.js";

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
  return { ...input, name: randomUUID(), status: "InProgress", startTime: now.toISOString(), percentComplete: 0 };
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
