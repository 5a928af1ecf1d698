// The ResourceStore port: resources keyed by their normalised (lower-cased) ARM id, plus the
// long-running operation records. Synchronous on purpose: both implementations (memoryStore.ts, and
// sqliteStore.ts over better-sqlite3) answer without I/O waits, so a change is one atomic step.
import type { OperationRecord } from "../arm/lro.js";
import type { PageReader } from "../arm/paging.js";

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
  /** Direct children of a resource (or of a resource group), optionally of one type, in list order; optionally one range of them. */
  children<T = any>(parentId: string, type?: string, range?: Range): StoredResource<T>[];
  /** Every resource of a type in a subscription, in list order; optionally one range of them. */
  listByType<T = any>(subscriptionId: string, type: string, range?: Range): StoredResource<T>[];
  /**
   * Resources of a type across every subscription, in list order: the first `limit` of them, and how
   * many there are. For the emulator's own status page; ARM's lists stop at one subscription.
   */
  firstOfType<T = any>(type: string, limit: number): { items: StoredResource<T>[]; total: number };
  /**
   * Where a stored resource stands in every list it is in: its creation sequence, a number that only
   * grows. List order is position order, the same in both stores: creation order, an update keeping
   * its place, a resource created again (after a delete) standing last. Undefined when it is not stored.
   */
  position(id: string): number | undefined;
  getOperation(id: string): OperationRecord | undefined;
  putOperation(operation: OperationRecord): void;
  listOperations(status?: OperationRecord["status"]): OperationRecord[];
  /**
   * Drops finished (Succeeded, Failed, Canceled) operation records, oldest end first, that ended before
   * `endedBefore` or stand beyond the newest `keepNewest` finished ones or beyond `maxBytes` of
   * finished records; at most `maxDrops` of them. An operation still running, or one a stored resource
   * names as its activeOperation, is never dropped. Part of the caller's transaction; returns how many went.
   */
  pruneOperations(retention: OperationRetention): number;
  /**
   * The `limit` finished (Succeeded, Failed, Canceled) operations that ended last, newest first,
   * without reading, parsing or sorting every stored operation (the SQLite store reads `limit` rows).
   */
  recentlyEnded(limit: number): OperationRecord[];
  /** How many operation records are stored, running and finished. */
  operationCount(): number;
  /** Resources locked by an operation (activeOperation set): what a restart must settle. */
  listLocked(): StoredResource[];
  /**
   * What a restart sweeps for states no operation will settle: resources locked by an operation, and
   * resources whose body's properties.provisioningState is not Succeeded, Failed or Canceled.
   */
  unsettled(): StoredResource[];
  /** Every resource, in insertion order. */
  all(): StoredResource[];
  /**
   * Runs fn so that all of its changes are kept together, or none of them (a thrown error rolls back).
   * Outside deferCommits the change is committed when this returns (a commit the store refuses
   * throws). `hooks`: `committed` runs once the change is committed, `failed` (before the error
   * reaches anyone) when it is rolled back, also after this returned (a deferred commit that failed).
   * Hooks must not throw. A nested call joins the outer transaction (its hooks are not taken).
   */
  transaction<T>(fn: () => T, hooks?: CommitHooks): T;
  /**
   * Runs fn with its top-level transactions' commits deferred: a store may then join them with other
   * deferred transactions and commit them together (group commit), soon after fn returns. Reads see
   * every change at once; a caller must not acknowledge anything before durable() has settled.
   */
  deferCommits<T>(fn: () => T): T;
  /**
   * Undefined when every change is committed; else a promise that settles once the changes made so
   * far are, rejecting (ARM's 507 on a full disk) if that commit failed and they were rolled back.
   */
  durable(): Promise<void> | undefined;
  /** Small named values that must outlive a restart (signing key, CA, allocated ports). */
  getSetting(name: string): string | undefined;
  putSetting(name: string, value: string): void;
  /** Removes every resource and operation (settings stay). */
  clear(): void;
  close(): void;
}

/** What runs when a transaction's change is committed, or rolled back (see ResourceStore.transaction). */
export interface CommitHooks {
  committed(): void;
  failed(): void;
}

/** What pruneOperations keeps: see there. */
export interface OperationRetention {
  /** An ISO time: a finished operation that ended before it may go. */
  endedBefore: string;
  keepNewest: number;
  maxBytes: number;
  maxDrops: number;
}

/** A slice of a list, in list order: what one page of an ARM list needs. */
export interface Range {
  /** Start after the item at this position (see ResourceStore.position), whether or not it is still stored. */
  after?: number;
  /** Items to pass over first (after `after`, when given). */
  offset?: number;
  limit: number;
}

/**
 * One store list as paging reads it: each page is one ranged read that resumes after the position of
 * the last item the previous page returned, so deletions and creations between pages shift nothing.
 */
export function pageReader<T = any>(store: ResourceStore, list: (range: Range) => StoredResource<T>[]): PageReader<StoredResource<T>> {
  return {
    read: (after, limit) => list({ after, limit }),
    position: (item) => {
      const position = store.position(item.id);
      if (position === undefined) throw new Error(`${item.id} was listed but is not stored`);
      return position;
    },
  };
}

export const normaliseId = (id: string): string => id.toLowerCase();

/** The provisioning states no operation moves on from. */
export const SETTLED_STATES: ReadonlySet<string> = new Set(["Succeeded", "Failed", "Canceled"]);

export const isUnsettled = (resource: StoredResource): boolean => {
  const state = resource.body?.properties?.provisioningState;
  return !!resource.activeOperation || (typeof state === "string" && !SETTLED_STATES.has(state));
};

/**
 * Stored records are never changed in place: a change stores a new record (the engine keeps views
 * made from a record for as long as the record is the stored one). With this on, the stores
 * deep-freeze what they are given and what they read, so code that breaks the rule throws instead
 * of serving stale views; the tests turn it on (test/support/freezeRecords.ts).
 */
export const recordChecks = { freeze: false };

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
