// A durable store on SQLite (better-sqlite3, WAL). Every change is committed before the call
// returns, so what a client saw acknowledged survives a crash. The database is the only full copy of
// the state: reads go to it, through bounded caches of the records last read or written, so memory
// stays flat however many clusters are stored and a start reads nothing it does not need.
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import { errors } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import { BoundedCache } from "../util.js";
import { deepFreeze, normaliseId, recordChecks, type OperationRetention, type Range, type ResourceStore, type StoredResource } from "./store.js";

/** Schema migrations, applied in order; PRAGMA user_version records how many have run. */
const MIGRATIONS: string[] = [
  `CREATE TABLE resources (
     key TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     id TEXT NOT NULL,
     type TEXT NOT NULL,
     parent_key TEXT NOT NULL,
     subscription_id TEXT NOT NULL,
     etag TEXT NOT NULL,
     active_operation TEXT,
     body TEXT NOT NULL
   );
   CREATE INDEX resources_by_parent ON resources (parent_key, seq);
   CREATE TABLE operations (key TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL);
   CREATE INDEX operations_by_status ON operations (status);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Reads on demand: lists by subscription and type, and what a restart must settle, without a scan.
  `CREATE INDEX resources_by_type ON resources (subscription_id COLLATE NOCASE, type COLLATE NOCASE, seq);
   CREATE INDEX resources_unsettled ON resources (seq) WHERE ${unsettledCondition()};`,
  // A parent's children of one type (a group's clusters, a cluster's pools) read a page from where the last one ended.
  `CREATE INDEX resources_by_parent_type ON resources (parent_key, type COLLATE NOCASE, seq);`,
  // Finished operations expire (pruneOperations): their end time and size, oldest end first, and
  // which operations a resource still names (never pruned).
  `ALTER TABLE operations ADD COLUMN ended TEXT;
   ALTER TABLE operations ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE operations SET ended = coalesce(json_extract(body, '$.endTime'), ''), bytes = length(body) WHERE status <> 'InProgress';
   CREATE INDEX operations_by_end ON operations (ended) WHERE ended IS NOT NULL;
   CREATE INDEX resources_by_active_operation ON resources (active_operation) WHERE active_operation IS NOT NULL;`,
];

/** The SQL form of store.ts's isUnsettled (the partial index and its query must use the same words). */
function unsettledCondition(): string {
  const state = "json_extract(body, '$.properties.provisioningState')";
  return `active_operation IS NOT NULL OR (json_type(body, '$.properties.provisioningState') = 'text' AND ${state} NOT IN ('Succeeded', 'Failed', 'Canceled'))`;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Records kept parsed in memory: the hot ones. A cluster with its pools is about five records. */
const RECORD_CACHE_LIMIT = 4096;
const OPERATION_CACHE_LIMIT = 1024;
/** And by size (their JSON's length): a few large records (a RunCommand's logs) must not fill memory. */
const RECORD_CACHE_BYTES = 64 * 1024 * 1024;
const OPERATION_CACHE_BYTES = 16 * 1024 * 1024;
/** Child lists kept by parent (a cluster's pools, a pool's machine set); longer lists are read with their range each time. */
const CHILD_LIST_CACHE_LIMIT = 1024;
const CACHED_CHILD_LIST_MAX = 64;

const RESOURCE_COLUMNS = "key, id, type, parent_key, subscription_id, etag, active_operation, body";

interface ResourceRow {
  key: string;
  id: string;
  type: string;
  parent_key: string;
  subscription_id: string;
  etag: string;
  active_operation: string | null;
  body: string;
}

export class SqliteStore implements ResourceStore {
  private readonly db: Database.Database;
  /** `null` records a key known to be absent, so a repeated miss costs no query. */
  private readonly records = new WeightedCache<string, StoredResource | null>(RECORD_CACHE_LIMIT, RECORD_CACHE_BYTES);
  private readonly operations = new WeightedCache<string, OperationRecord | null>(OPERATION_CACHE_LIMIT, OPERATION_CACHE_BYTES);
  /** Keys of each parent's children in list order with their positions, when there are few; a new child drops its parent's list. */
  private readonly childKeys = new BoundedCache<string, { keys: string[]; positions: number[] }>(CHILD_LIST_CACHE_LIMIT);
  private readonly statements;
  private seq = 0;
  private depth = 0;
  /** How many finished operations are stored and their JSON size, once counted (forgotten on a rollback). */
  private finished: { count: number; bytes: number } | undefined;

  constructor(readonly file: string) {
    // better-sqlite3 (a native addon) loads with the first data folder: the memory store never needs it.
    const SQLite = createRequire(import.meta.url)("better-sqlite3") as typeof Database;
    this.db = new SQLite(file);
    try {
      // One emulator per data folder: a second process on the same file would overwrite the first
      // one's changes under its caches. EXCLUSIVE keeps the lock from the first access until close
      // (the kernel drops it when the process dies), and with it WAL needs no shared-memory file. A
      // second process waits a moment (a previous instance may still be closing), then fails with
      // SQLITE_BUSY.
      this.db.pragma("busy_timeout = 1000");
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode loses nothing when the process dies; FULL would also cover power loss.
      this.db.pragma("synchronous = NORMAL");
      // WAL checkpoints run every 1000 pages (SQLite's default); after one, the WAL file is cut back to
      // this size rather than keeping its largest. Deleted rows' pages are reused, so the file stays
      // as large as what is kept (no auto_vacuum: turning it on for an existing file needs a VACUUM).
      this.db.pragma("journal_size_limit = 16777216");
      this.migrate();
      // The first write takes the exclusive lock now, not at the first client request.
      this.db.prepare("INSERT INTO settings (name, value) VALUES ('opened', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(new Date().toISOString());
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw new Error(`${file} is locked: another aks-emulator process is using this data folder`);
      }
      throw error;
    }
    this.statements = {
      // An update keeps the row's seq (its position): lists stay in creation order, and pages resume after a seq.
      upsert: this.db.prepare(
        `INSERT INTO resources (key, seq, id, type, parent_key, subscription_id, etag, active_operation, body)
         VALUES (@key, @seq, @id, @type, @parentKey, @subscriptionId, @etag, @activeOperation, @body)
         ON CONFLICT (key) DO UPDATE SET id = excluded.id, type = excluded.type, parent_key = excluded.parent_key,
           subscription_id = excluded.subscription_id, etag = excluded.etag,
           active_operation = excluded.active_operation, body = excluded.body`,
      ),
      get: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE key = ?`),
      remove: this.db.prepare("DELETE FROM resources WHERE key = ?"),
      // Ranged reads start after a seq (0: from the start), through an index that ends in seq.
      children: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE parent_key = ? AND seq > ? ORDER BY seq LIMIT ? OFFSET ?`),
      firstChildren: this.db.prepare(`SELECT ${RESOURCE_COLUMNS}, seq FROM resources WHERE parent_key = ? ORDER BY seq LIMIT ${CACHED_CHILD_LIST_MAX + 1}`),
      childrenOfType: this.db.prepare(
        `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE parent_key = ? AND type = ? COLLATE NOCASE AND seq > ? ORDER BY seq LIMIT ? OFFSET ?`,
      ),
      byType: this.db.prepare(
        `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE subscription_id = ? COLLATE NOCASE AND type = ? COLLATE NOCASE AND seq > ? ORDER BY seq LIMIT ? OFFSET ?`,
      ),
      position: this.db.prepare("SELECT seq FROM resources WHERE key = ?").pluck(),
      locked: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE active_operation IS NOT NULL ORDER BY seq`),
      unsettled: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${unsettledCondition()} ORDER BY seq`),
      all: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources ORDER BY seq`),
      maxSeq: this.db.prepare("SELECT coalesce(max(seq), 0) FROM resources").pluck(),
      getOperation: this.db.prepare("SELECT body FROM operations WHERE key = ?").pluck(),
      putOperation: this.db.prepare(
        `INSERT INTO operations (key, status, body, ended, bytes) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET status = excluded.status, body = excluded.body, ended = excluded.ended, bytes = excluded.bytes`,
      ),
      operationEnd: this.db.prepare("SELECT ended, bytes FROM operations WHERE key = ?"),
      finishedStats: this.db.prepare("SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM operations WHERE ended IS NOT NULL"),
      // Oldest end first, passing over those a resource still names.
      oldestFinished: this.db.prepare(
        `SELECT key, ended, bytes FROM operations AS o WHERE ended IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM resources WHERE active_operation = o.key) ORDER BY ended LIMIT ?`,
      ),
      removeOperation: this.db.prepare("DELETE FROM operations WHERE key = ?"),
      operationCount: this.db.prepare("SELECT count(*) FROM operations").pluck(),
      // rowid order is creation order (an upsert keeps the rowid): listOperations() lists oldest first.
      operations: this.db.prepare("SELECT key, body FROM operations ORDER BY rowid"),
      operationsWithStatus: this.db.prepare("SELECT key, body FROM operations WHERE status = ? ORDER BY rowid"),
      getSetting: this.db.prepare("SELECT value FROM settings WHERE name = ?"),
      putSetting: this.db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
    };
    this.seq = this.statements.maxSeq.get() as number;
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`${this.file} has schema version ${current}, newer than this emulator's ${MIGRATIONS.length}`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version]);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  /** The record a row holds: the cached one when it is cached (the cache is never older than the database). */
  private fromRow(row: ResourceRow): StoredResource {
    const cached = this.records.get(row.key);
    if (cached) return cached;
    const record: StoredResource = {
      id: row.id,
      type: row.type,
      parentKey: row.parent_key,
      subscriptionId: row.subscription_id,
      etag: row.etag,
      activeOperation: row.active_operation ?? undefined,
      body: JSON.parse(row.body),
    };
    if (recordChecks.freeze) deepFreeze(record);
    this.records.set(row.key, record, row.body.length);
    return record;
  }

  private rows(statement: Database.Statement, ...params: unknown[]): StoredResource[] {
    return (statement.all(...params) as ResourceRow[]).map((row) => this.fromRow(row));
  }

  get<T>(id: string): StoredResource<T> | undefined {
    const key = normaliseId(id);
    const cached = this.records.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.statements.get.get(key) as ResourceRow | undefined;
    if (!row) {
      this.records.set(key, null);
      return undefined;
    }
    return this.fromRow(row);
  }

  put(resource: StoredResource): void {
    const key = normaliseId(resource.id);
    // Unless this is a known record staying under the same parent, its parent's child list may lack it.
    const previous = this.records.get(key);
    if (previous?.parentKey !== resource.parentKey) this.childKeys.delete(resource.parentKey);
    const body = JSON.stringify(resource.body);
    this.statements.upsert.run({
      key,
      seq: ++this.seq, // ignored by an update
      id: resource.id,
      type: resource.type,
      parentKey: resource.parentKey,
      subscriptionId: resource.subscriptionId,
      etag: resource.etag ?? "",
      activeOperation: resource.activeOperation ?? null,
      body,
    });
    if (recordChecks.freeze) deepFreeze(resource);
    this.records.set(key, resource, body.length);
  }

  delete(id: string): boolean {
    const key = normaliseId(id);
    const removed = this.statements.remove.run(key).changes > 0;
    this.records.set(key, null);
    return removed;
  }

  children<T>(parentId: string, type?: string, range?: Range): StoredResource<T>[] {
    const parentKey = normaliseId(parentId);
    const [after, limit, offset] = [range?.after ?? 0, range?.limit ?? -1, range?.offset ?? 0];
    const few = this.childKeys.get(parentKey) ?? this.readFewChildren(parentKey);
    if (few) {
      // A deleted child is left in the list (its record reads undefined): skip it.
      const wanted = type?.toLowerCase();
      const out: StoredResource[] = [];
      let skip = offset;
      for (let i = 0; i < few.keys.length && out.length !== limit; i++) {
        if (few.positions[i] <= after) continue;
        const record = this.get(few.keys[i]);
        if (!record || record.parentKey !== parentKey || (wanted && record.type.toLowerCase() !== wanted)) continue;
        if (skip > 0) skip--;
        else out.push(record);
      }
      return out;
    }
    return type
      ? this.rows(this.statements.childrenOfType, parentKey, type, after, limit, offset)
      : this.rows(this.statements.children, parentKey, after, limit, offset);
  }

  /** The key list of a parent that has few children, read and kept; undefined when it has many. */
  private readFewChildren(parentKey: string): { keys: string[]; positions: number[] } | undefined {
    const rows = this.statements.firstChildren.all(parentKey) as (ResourceRow & { seq: number })[];
    if (rows.length > CACHED_CHILD_LIST_MAX) return undefined;
    for (const row of rows) this.fromRow(row);
    const few = { keys: rows.map((row) => row.key), positions: rows.map((row) => row.seq) };
    this.childKeys.set(parentKey, few);
    return few;
  }

  listByType<T>(subscriptionId: string, type: string, range?: Range): StoredResource<T>[] {
    return this.rows(this.statements.byType, subscriptionId, type, range?.after ?? 0, range?.limit ?? -1, range?.offset ?? 0);
  }

  position(id: string): number | undefined {
    return (this.statements.position.get(normaliseId(id)) as number | undefined) ?? undefined;
  }

  getOperation(id: string): OperationRecord | undefined {
    const key = id.toLowerCase();
    const cached = this.operations.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const body = this.statements.getOperation.get(key) as string | undefined;
    const operation: OperationRecord | null = body ? JSON.parse(body) : null;
    if (recordChecks.freeze) deepFreeze(operation);
    this.operations.set(key, operation, body?.length ?? 0);
    return operation ?? undefined;
  }

  putOperation(operation: OperationRecord): void {
    const key = operation.name.toLowerCase();
    const json = JSON.stringify(operation);
    const done = operation.status !== "InProgress";
    if (this.finished) {
      const was = this.statements.operationEnd.get(key) as { ended: string | null; bytes: number } | undefined;
      if (was && was.ended !== null) {
        this.finished.count--;
        this.finished.bytes -= was.bytes;
      }
      if (done) {
        this.finished.count++;
        this.finished.bytes += json.length;
      }
    }
    this.statements.putOperation.run(key, operation.status, json, done ? (operation.endTime ?? "") : null, done ? json.length : 0);
    if (recordChecks.freeze) deepFreeze(operation);
    this.operations.set(key, operation, json.length);
  }

  pruneOperations(retention: OperationRetention): number {
    const finished = (this.finished ??= this.statements.finishedStats.get() as { count: number; bytes: number });
    let dropped = 0;
    for (const row of this.statements.oldestFinished.all(retention.maxDrops) as { key: string; ended: string; bytes: number }[]) {
      const over = finished.count > retention.keepNewest || finished.bytes > retention.maxBytes;
      if (!over && !(row.ended < retention.endedBefore)) break;
      this.statements.removeOperation.run(row.key);
      this.operations.set(row.key, null);
      finished.count--;
      finished.bytes -= row.bytes;
      dropped++;
    }
    return dropped;
  }

  operationCount(): number {
    return this.statements.operationCount.get() as number;
  }

  listOperations(status?: OperationRecord["status"]): OperationRecord[] {
    const rows = (status ? this.statements.operationsWithStatus.all(status) : this.statements.operations.all()) as { key: string; body: string }[];
    return rows.map((row) => this.operations.get(row.key) ?? JSON.parse(row.body));
  }

  listLocked(): StoredResource[] {
    return this.rows(this.statements.locked);
  }

  unsettled(): StoredResource[] {
    return this.rows(this.statements.unsettled);
  }

  all(): StoredResource[] {
    return this.rows(this.statements.all);
  }

  /** Runs fn as one transaction: all of its changes are committed together, or none. */
  transaction<T>(fn: () => T): T {
    // Nested calls join the outer transaction. A refusal thrown by fn (a 409, a 400) rolls the
    // database back; the caches may hold what it wrote, so they are emptied and what is needed is
    // read again (a refused write is rare next to reads; an undo log per change would cost every write).
    if (this.depth > 0) return fn();
    this.depth++;
    try {
      return this.db.transaction(fn)();
    } catch (error) {
      this.forgetCached();
      // A full disk (SQLITE_FULL, at a statement or at the commit) rolled the whole change back: say
      // so in ARM's words (507), not as an internal error, so a client knows nothing was applied.
      if ((error as { code?: string }).code === "SQLITE_FULL") throw errors.insufficientStorage(this.file);
      throw error;
    } finally {
      this.depth--;
    }
  }

  getSetting(name: string): string | undefined {
    return (this.statements.getSetting.get(name) as { value: string } | undefined)?.value;
  }

  putSetting(name: string, value: string): void {
    this.statements.putSetting.run(name, value);
  }

  clear(): void {
    this.transaction(() => this.db.exec("DELETE FROM resources; DELETE FROM operations;"));
    this.forgetCached();
  }

  close(): void {
    this.db.close();
  }

  private forgetCached(): void {
    this.records.clear();
    this.operations.clear();
    this.childKeys.clear();
    this.finished = undefined;
  }
}

/** BoundedCache, also bounded by the summed weight (JSON length) of its entries: the oldest go first. */
class WeightedCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private weight = 0;

  constructor(
    private readonly limit: number,
    private readonly maxWeight: number,
  ) {}

  get(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: K, value: V, weight = 0): void {
    this.delete(key); // re-inserted at the end: the newest entry
    this.entries.set(key, { value, weight });
    this.weight += weight;
    while (this.entries.size > this.limit || (this.weight > this.maxWeight && this.entries.size > 1)) {
      this.delete(this.entries.keys().next().value as K);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }
}
