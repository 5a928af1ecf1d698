// The ResourceStore port: resources keyed by their normalised (lower-cased) ARM id, plus the
// long-running operation records. Synchronous on purpose: every implementation (memory today,
// an embedded database later) answers without I/O waits, so a change is one atomic step.
import type { OperationRecord } from "../arm/lro.js";

export interface StoredResource<TBody = any> {
  /** The id in the casing the client created it with. */
  id: string;
  /** ARM type, e.g. "Microsoft.ContainerService/managedClusters". */
  type: string;
  /** Normalised id of the parent: the resource group for top-level resources, the cluster for pools. */
  parentKey: string;
  subscriptionId: string;
  /** The resource as served (without per-request projections). */
  body: TBody;
  etag: string;
  /** Name of the long-running operation now running on this resource, if any. */
  activeOperation?: string;
}

export interface ResourceStore {
  get<T = any>(id: string): StoredResource<T> | undefined;
  put(resource: StoredResource): void;
  delete(id: string): boolean;
  /** Direct children of a resource (or of a resource group), optionally of one type, in insertion order. */
  children<T = any>(parentId: string, type?: string): StoredResource<T>[];
  /** Every resource of a type in a subscription, in insertion order. */
  listByType<T = any>(subscriptionId: string, type: string): StoredResource<T>[];
  getOperation(id: string): OperationRecord | undefined;
  putOperation(operation: OperationRecord): void;
  listOperations(status?: OperationRecord["status"]): OperationRecord[];
  /** Resources locked by an operation (activeOperation set): what a restart must settle. */
  listLocked(): StoredResource[];
  /** Every resource, in insertion order (what a restart sweeps for states no operation will settle). */
  all(): StoredResource[];
  /** Runs fn so that all of its changes are kept together, or none of them (a thrown error rolls back). */
  transaction<T>(fn: () => T): T;
  /** Small named values that must outlive a restart (signing key, CA, allocated ports). */
  getSetting(name: string): string | undefined;
  putSetting(name: string, value: string): void;
  /** Removes every resource and operation (settings stay). */
  clear(): void;
  close(): void;
}

export const normaliseId = (id: string): string => id.toLowerCase();
