// A durable store on SQLite (better-sqlite3, WAL). Every change is committed before the call
// returns, or, under deferCommits (a request), joined with the other requests' changes of the same
// turn of the event loop into one SQLite transaction committed once (group commit), each request
// answering only once durable() says its batch is committed; so what a client saw acknowledged
// survives a crash. The database is the only full copy of the state: reads go to it, through bounded
// caches of the records last read or written, so memory stays flat however many clusters are stored
// and a start reads nothing it does not need.
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import { errors } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import { BoundedCache } from "../util.js";
import { deepFreeze, isUnsettled, normaliseId, recordChecks, type CommitHooks, type OperationRetention, type Range, type ResourceStore, type StoredResource } from "./store.js";

/** A top-level type (one slash); a query of the type index repeats this condition, word for word, for SQLite to use it. */
const TOP_LEVEL_TYPE = "type NOT LIKE '%/%/%'";

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
  // Cheaper writes (each index is one more B-tree insert per record, and a JSON condition is two
  // parses of the body): whether a record is unsettled is a column the store sets from isUnsettled;
  // a parent's children of one type are read through resources_by_parent, filtered by type (a
  // parent's children are nearly all of the type asked for: a group's clusters, a cluster's pools);
  // only running operations are indexed by status (the one status asked for: what a restart resumes).
  `ALTER TABLE resources ADD COLUMN unsettled INTEGER NOT NULL DEFAULT 0;
   UPDATE resources SET unsettled = 1 WHERE ${unsettledCondition()};
   DROP INDEX resources_unsettled;
   CREATE INDEX resources_unsettled ON resources (seq) WHERE unsettled = 1;
   DROP INDEX resources_by_parent_type;
   CREATE INDEX operations_running ON operations (status) WHERE status = 'InProgress';
   DROP INDEX operations_by_status;`,
  // Only top-level types (one slash: clusters, snapshots, resource groups) are listed by subscription
  // (ARM lists a nested type under its parent), so only they are in the type index. A create's pool,
  // machine set and address space left it: SQLite's appends to the middle of an index split and
  // rebalance pages, and four types' appends rewrote about eighteen of its pages a group commit.
  `DROP INDEX resources_by_type;
   CREATE INDEX resources_by_type ON resources (subscription_id COLLATE NOCASE, type COLLATE NOCASE, seq) WHERE ${TOP_LEVEL_TYPE};`,
];

/** The SQL form of store.ts's isUnsettled: what the migration to the unsettled column computes for the rows already stored. */
function unsettledCondition(): string {
  const state = "json_extract(body, '$.properties.provisioningState')";
  return `active_operation IS NOT NULL OR (json_type(body, '$.properties.provisioningState') = 'text' AND ${state} NOT IN ('Succeeded', 'Failed', 'Canceled'))`;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

const isTopLevelType = (type: string): boolean => type.indexOf("/") === type.lastIndexOf("/");

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
  /**
   * When known: every finished operation no resource names ended at or after this (pruneOperations
   * then needs no query until its cut passes it). Lowered by an operation that ends earlier or that a
   * resource stops naming; forgotten when that operation is not known, or on a rollback.
   */
  private oldestEnd: string | undefined;
  /** Operations the transaction's unwritten records stopped naming (SQLite still sees them named); `unknown`: perhaps others. */
  private releasedOperations = new Set<string>();
  private releasedUnknown = false;
  /** The SQLite transaction open for a batch of transactions not yet committed (group commit), if any. */
  private batch: Batch | undefined;
  /** Inside deferCommits: top-level transactions leave their commit to the batch's. */
  private deferring = 0;
  /**
   * The transaction's changes not yet written to SQLite, the last per key: a create stores its
   * cluster several times (created, locked, settled, released), and writes it once, at the end of
   * the transaction or before a read SQLite answers. `null`: deleted.
   */
  private unwritten = new Map<string, { record: StoredResource | null; seq: number; recreate: boolean }>();
  private unwrittenOperations = new Map<string, OperationRecord>();
  private readonly control;

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
      // Each request of a batch is a savepoint (see transaction), and a savepoint keeps the pages it
      // changes in a statement journal, which goes to a temporary file past 64 KiB: 18 page writes per
      // cluster create, three times the WAL's own. That journal only serves a rollback to the
      // savepoint (never a crash recovery: the WAL does that), so it is kept in memory.
      this.db.pragma("temp_store = MEMORY");
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
        `INSERT INTO resources (key, seq, id, type, parent_key, subscription_id, etag, active_operation, body, unsettled)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET id = excluded.id, type = excluded.type, parent_key = excluded.parent_key,
           subscription_id = excluded.subscription_id, etag = excluded.etag,
           active_operation = excluded.active_operation, body = excluded.body, unsettled = excluded.unsettled`,
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
        `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE subscription_id = ? COLLATE NOCASE AND type = ? COLLATE NOCASE AND ${TOP_LEVEL_TYPE} AND seq > ? ORDER BY seq LIMIT ? OFFSET ?`,
      ),
      // A nested type is not in the type index (no list asks for one): read by a scan, to keep the store's contract.
      byNestedType: this.db.prepare(
        `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE subscription_id = ? COLLATE NOCASE AND type = ? COLLATE NOCASE AND seq > ? ORDER BY seq LIMIT ? OFFSET ?`,
      ),
      // No index of its own (one more index would cost every write): a scan of the type column, read for the status page only.
      firstOfType: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE type = ? COLLATE NOCASE ORDER BY seq LIMIT ?`),
      countOfType: this.db.prepare("SELECT count(*) FROM resources WHERE type = ? COLLATE NOCASE").pluck(),
      position: this.db.prepare("SELECT seq FROM resources WHERE key = ?").pluck(),
      locked: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE active_operation IS NOT NULL ORDER BY seq`),
      unsettled: this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE unsettled = 1 ORDER BY seq`),
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
      // Newest end first, through operations_by_end read backwards.
      recentlyEnded: this.db.prepare("SELECT key, body FROM operations WHERE ended IS NOT NULL ORDER BY ended DESC, rowid DESC LIMIT ?"),
      removeOperation: this.db.prepare("DELETE FROM operations WHERE key = ?"),
      operationCount: this.db.prepare("SELECT count(*) FROM operations").pluck(),
      // rowid order is creation order (an upsert keeps the rowid): listOperations() lists oldest first.
      operations: this.db.prepare("SELECT key, body FROM operations ORDER BY rowid"),
      operationsWithStatus: this.db.prepare("SELECT key, body FROM operations WHERE status = ? ORDER BY rowid"),
      // The literal condition is what lets SQLite use the partial index operations_running.
      runningOperations: this.db.prepare("SELECT key, body FROM operations WHERE status = 'InProgress' ORDER BY rowid"),
      getSetting: this.db.prepare("SELECT value FROM settings WHERE name = ?"),
      putSetting: this.db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
    };
    this.seq = this.statements.maxSeq.get() as number;
    // A batch is one SQLite transaction; each transaction in it after the first is a savepoint, so
    // a refused request undoes its own changes only.
    this.control = {
      begin: this.db.prepare("BEGIN"),
      commit: this.db.prepare("COMMIT"),
      rollback: this.db.prepare("ROLLBACK"),
      savepoint: this.db.prepare("SAVEPOINT change"),
      release: this.db.prepare("RELEASE change"),
      rollbackTo: this.db.prepare("ROLLBACK TO change"),
    };
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
    const unwritten = this.unwritten.get(key);
    if (unwritten) return unwritten.record ?? undefined;
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
    this.commitBeforeLoneWrite();
    const key = normaliseId(resource.id);
    const pending = this.unwritten.get(key);
    let previous = pending ? pending.record : this.records.get(key);
    // Not cached, and not in its parent's list when that is kept (it holds every child): a new record.
    if (previous === undefined && this.childKeys.get(resource.parentKey)?.keys.includes(key) === false) previous = null;
    if (previous === undefined || (previous?.activeOperation && previous.activeOperation !== resource.activeOperation)) this.released(previous?.activeOperation);
    const seq = pending?.record ? pending.seq : previous ? 0 : ++this.seq; // 0: an update keeps its seq
    if (previous?.parentKey !== resource.parentKey) {
      // Unless this is a known record staying under the same parent, its parent's child list may lack
      // it: a record known to be new (not deleted in this transaction) goes last in a list kept, which
      // keeps its parent's list (and a new record's own, empty) without a read.
      const list = previous === null && !pending ? this.childKeys.get(resource.parentKey) : undefined;
      if (list && list.keys.length < CACHED_CHILD_LIST_MAX) {
        const stale = list.keys.indexOf(key); // deleted before (a deleted child is left in the list): created again, it stands last
        if (stale >= 0) {
          list.keys.splice(stale, 1);
          list.positions.splice(stale, 1);
        }
        list.keys.push(key);
        list.positions.push(seq);
      } else this.childKeys.delete(resource.parentKey);
      if (previous === null && !pending) this.childKeys.set(key, { keys: [], positions: [] });
    }
    if (recordChecks.freeze) deepFreeze(resource);
    if (this.depth > 0) {
      // Kept until the transaction ends (see unwritten); a record deleted and created again in it stands last.
      this.unwritten.set(key, { record: resource, seq: seq || ++this.seq, recreate: !!pending && (pending.recreate || pending.record === null) });
      this.records.set(key, resource);
      return;
    }
    this.writeResource(key, resource, seq || ++this.seq);
  }

  /** One record into SQLite: seq is its position when it is new (an update keeps the row's). */
  private writeResource(key: string, resource: StoredResource, seq: number): void {
    const body = JSON.stringify(resource.body);
    // Positional parameters: better-sqlite3 binds them without a lookup per name. seq is ignored by an update.
    this.statements.upsert.run(key, seq, resource.id, resource.type, resource.parentKey, resource.subscriptionId, resource.etag ?? "", resource.activeOperation ?? null, body, isUnsettled(resource) ? 1 : 0);
    this.records.set(key, resource, body.length);
  }

  delete(id: string): boolean {
    this.commitBeforeLoneWrite();
    const key = normaliseId(id);
    const previous = this.unwritten.get(key)?.record ?? this.records.get(key);
    if (previous === undefined) this.released(undefined);
    else if (previous?.activeOperation) this.released(previous.activeOperation);
    if (this.depth > 0) {
      const existed = this.get(id) !== undefined;
      const pending = this.unwritten.get(key);
      this.unwritten.set(key, { record: null, seq: 0, recreate: pending?.recreate ?? false });
      this.records.set(key, null);
      return existed;
    }
    const removed = this.statements.remove.run(key).changes > 0;
    this.records.set(key, null);
    return removed;
  }

  /** Writes the transaction's changes kept so far (see unwritten): before SQLite answers a read, and at the transaction's end. */
  private writeOut(): void {
    if (this.unwritten.size > 0) {
      const changes = this.unwritten;
      this.unwritten = new Map();
      this.releasedOperations.clear();
      this.releasedUnknown = false;
      for (const [key, change] of changes) {
        if (!change.record || change.recreate) this.statements.remove.run(key);
        if (change.record) this.writeResource(key, change.record, change.seq);
      }
    }
    this.writeOutOperations();
  }

  private writeOutOperations(): void {
    if (this.unwrittenOperations.size === 0) return;
    const operations = this.unwrittenOperations;
    this.unwrittenOperations = new Map();
    for (const operation of operations.values()) this.writeOperation(operation);
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
    this.writeOut(); // SQLite answers: it must hold the transaction's changes
    return type
      ? this.rows(this.statements.childrenOfType, parentKey, type, after, limit, offset)
      : this.rows(this.statements.children, parentKey, after, limit, offset);
  }

  /** The key list of a parent that has few children, read and kept; undefined when it has many. */
  private readFewChildren(parentKey: string): { keys: string[]; positions: number[] } | undefined {
    const rows = this.statements.firstChildren.all(parentKey) as (ResourceRow & { seq: number })[];
    if (rows.length > CACHED_CHILD_LIST_MAX) return undefined;
    const few: { keys: string[]; positions: number[] } = { keys: [], positions: [] };
    for (const row of rows) {
      if (this.unwritten.get(row.key)?.recreate) continue; // created again in this transaction: placed below
      this.fromRow(row);
      few.keys.push(row.key);
      few.positions.push(row.seq);
    }
    // The transaction's own new children, not written yet (see unwritten), in their places.
    for (const [key, change] of this.unwritten) {
      if (change.record?.parentKey !== parentKey || few.keys.includes(key)) continue;
      if (few.keys.length >= CACHED_CHILD_LIST_MAX) return undefined;
      let at = few.positions.length;
      while (at > 0 && few.positions[at - 1] > change.seq) at--;
      few.keys.splice(at, 0, key);
      few.positions.splice(at, 0, change.seq);
    }
    this.childKeys.set(parentKey, few);
    return few;
  }

  listByType<T>(subscriptionId: string, type: string, range?: Range): StoredResource<T>[] {
    this.writeOut();
    const statement = isTopLevelType(type) ? this.statements.byType : this.statements.byNestedType;
    return this.rows(statement, subscriptionId, type, range?.after ?? 0, range?.limit ?? -1, range?.offset ?? 0);
  }

  firstOfType<T>(type: string, limit: number): { items: StoredResource<T>[]; total: number } {
    this.writeOut();
    return { items: this.rows(this.statements.firstOfType, type, limit), total: this.statements.countOfType.get(type) as number };
  }

  position(id: string): number | undefined {
    this.writeOut();
    return (this.statements.position.get(normaliseId(id)) as number | undefined) ?? undefined;
  }

  getOperation(id: string): OperationRecord | undefined {
    const key = id.toLowerCase();
    const unwritten = this.unwrittenOperations.get(key);
    if (unwritten) return unwritten;
    const cached = this.operations.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const body = this.statements.getOperation.get(key) as string | undefined;
    const operation: OperationRecord | null = body ? JSON.parse(body) : null;
    if (recordChecks.freeze) deepFreeze(operation);
    this.operations.set(key, operation, body?.length ?? 0);
    return operation ?? undefined;
  }

  putOperation(operation: OperationRecord): void {
    this.commitBeforeLoneWrite();
    if (recordChecks.freeze) deepFreeze(operation);
    if (this.depth > 0) {
      // Kept until the transaction ends, as records are (see unwritten).
      const key = operation.name.toLowerCase();
      this.unwrittenOperations.set(key, operation);
      this.operations.set(key, operation);
      return;
    }
    this.writeOperation(operation);
  }

  private writeOperation(operation: OperationRecord): void {
    const key = operation.name.toLowerCase();
    const json = JSON.stringify(operation);
    const done = operation.status !== "InProgress";
    if (done && this.oldestEnd !== undefined && (operation.endTime ?? "") < this.oldestEnd) this.oldestEnd = operation.endTime ?? "";
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
    this.operations.set(key, operation, json.length);
  }

  pruneOperations(retention: OperationRetention): number {
    // The operations are written first; the transaction's records need not be: one it changed that
    // names an operation keeps that one here (the query sees the rest).
    this.writeOutOperations();
    const named = new Set<string>();
    for (const { record } of this.unwritten.values()) if (record?.activeOperation) named.add(record.activeOperation.toLowerCase());
    const finished = (this.finished ??= this.statements.finishedStats.get() as { count: number; bytes: number });
    const over = () => finished.count > retention.keepNewest || finished.bytes > retention.maxBytes;
    if (!over() && this.oldestEnd !== undefined && !(this.oldestEnd < retention.endedBefore)) return 0; // nothing has expired
    let dropped = 0;
    const rows = this.statements.oldestFinished.all(retention.maxDrops) as { key: string; ended: string; bytes: number }[];
    // All rows gone (or none there): no unnamed finished operation is left; else the first one kept.
    let oldestEnd: string | undefined = rows.length < retention.maxDrops ? "\uffff" : undefined;
    for (const row of rows) {
      if (!over() && !(row.ended < retention.endedBefore)) {
        oldestEnd = row.ended;
        break;
      }
      if (named.has(row.key)) continue;
      this.statements.removeOperation.run(row.key);
      this.operations.set(row.key, null);
      finished.count--;
      finished.bytes -= row.bytes;
      dropped++;
    }
    // The query did not see the operations the transaction's unwritten records stopped naming.
    if (this.releasedUnknown) oldestEnd = undefined;
    for (const name of this.releasedOperations) {
      if (oldestEnd === undefined) break;
      const operation = this.getOperationIfKnown(name);
      if (!operation) oldestEnd = undefined;
      else if (operation.status !== "InProgress" && (operation.endTime ?? "") < oldestEnd) oldestEnd = operation.endTime ?? "";
    }
    this.oldestEnd = oldestEnd;
    return dropped;
  }

  recentlyEnded(limit: number): OperationRecord[] {
    this.writeOutOperations();
    const rows = this.statements.recentlyEnded.all(limit) as { key: string; body: string }[];
    return rows.map((row) => this.operations.get(row.key) ?? JSON.parse(row.body));
  }

  operationCount(): number {
    this.writeOut();
    return this.statements.operationCount.get() as number;
  }

  listOperations(status?: OperationRecord["status"]): OperationRecord[] {
    this.writeOut();
    const { runningOperations, operationsWithStatus, operations } = this.statements;
    const rows = (status === "InProgress" ? runningOperations.all() : status ? operationsWithStatus.all(status) : operations.all()) as { key: string; body: string }[];
    return rows.map((row) => this.operations.get(row.key) ?? JSON.parse(row.body));
  }

  listLocked(): StoredResource[] {
    this.writeOut();
    return this.rows(this.statements.locked);
  }

  unsettled(): StoredResource[] {
    this.writeOut();
    return this.rows(this.statements.unsettled);
  }

  all(): StoredResource[] {
    this.writeOut();
    return this.rows(this.statements.all);
  }

  /** Runs fn as one transaction: all of its changes are committed together, or none. */
  transaction<T>(fn: () => T, hooks?: CommitHooks): T {
    // Nested calls join the outer transaction. A refusal thrown by fn (a 409, a 400) rolls its changes
    // back; the caches may hold what it wrote, so they are emptied and what is needed is read again (a
    // refused write is rare next to reads; an undo log per change would cost every write).
    if (this.depth > 0) return fn();
    const opened = !this.batch;
    const batch = (this.batch ??= new Batch());
    this.depth++;
    let result: T;
    try {
      (opened ? this.control.begin : this.control.savepoint).run();
      result = fn();
      this.writeOut();
      if (!opened) this.control.release.run();
    } catch (error) {
      this.depth--;
      hooks?.failed();
      throw this.undo(batch, opened, error);
    }
    this.depth--;
    if (hooks) batch.hooks.push(hooks);
    if (this.deferring > 0) {
      if (!batch.scheduled) {
        batch.scheduled = true;
        setImmediate(() => {
          if (this.batch !== batch) return; // committed already
          try {
            this.commit();
          } catch {
            // told to everyone waiting on the batch (durable()), and to its transactions' hooks
          }
        });
      }
    } else this.commit(); // with the batch it joined, if any
    return result;
  }

  deferCommits<T>(fn: () => T): T {
    this.deferring++;
    try {
      return fn();
    } finally {
      this.deferring--;
    }
  }

  durable(): Promise<void> | undefined {
    return this.batch?.promise();
  }

  /** Commits the open batch: every transaction in it is kept, or (the commit refused) none. */
  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      this.control.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.control.rollback.run();
      this.forgetCached();
      throw batch.fail(this.refusal(error));
    }
    batch.succeed();
  }

  /** Undoes a transaction that threw: its own savepoint, or the whole batch when SQLite dropped it (a full disk) or it was the batch's only one. */
  private undo(batch: Batch, opened: boolean, error: unknown): unknown {
    this.forgetCached();
    const refused = this.refusal(error);
    if (!opened && this.db.inTransaction) {
      try {
        this.control.rollbackTo.run();
        this.control.release.run();
        return refused;
      } catch {
        // fall through: the batch goes whole
      }
    }
    if (this.db.inTransaction) this.control.rollback.run();
    if (this.batch === batch) this.batch = undefined;
    batch.fail(refused);
    return refused;
  }

  /** A full disk (SQLITE_FULL, at a statement or at the commit) rolled the change back: ARM's words (507), not an internal error, so a client knows nothing was applied. */
  private refusal(error: unknown): unknown {
    return (error as { code?: string }).code === "SQLITE_FULL" ? errors.insufficientStorage(this.file) : error;
  }

  /** A write outside any transaction while a batch is open: the batch is committed first, so the write is a change of its own. */
  private commitBeforeLoneWrite(): void {
    if (this.depth === 0 && this.batch) this.commit();
  }

  getSetting(name: string): string | undefined {
    return (this.statements.getSetting.get(name) as { value: string } | undefined)?.value;
  }

  putSetting(name: string, value: string): void {
    this.commitBeforeLoneWrite();
    this.statements.putSetting.run(name, value);
  }

  clear(): void {
    this.transaction(() => {
      this.writeOut();
      this.db.exec("DELETE FROM resources; DELETE FROM operations;");
    });
    this.forgetCached();
  }

  close(): void {
    try {
      this.commit();
    } finally {
      this.db.close();
    }
  }

  private forgetCached(): void {
    this.unwritten.clear();
    this.unwrittenOperations.clear();
    this.records.clear();
    this.operations.clear();
    this.childKeys.clear();
    this.finished = undefined;
    this.oldestEnd = undefined;
    this.releasedOperations.clear();
    this.releasedUnknown = false;
  }

  /** A resource no longer names an operation (undefined: perhaps one): oldestEnd takes its end into account, or is no longer known. */
  private released(name: string | undefined): void {
    if (this.depth > 0) {
      if (name === undefined) this.releasedUnknown = true;
      else this.releasedOperations.add(name.toLowerCase());
    }
    if (this.oldestEnd === undefined) return;
    const operation = name === undefined ? undefined : this.getOperationIfKnown(name.toLowerCase());
    if (!operation) this.oldestEnd = undefined;
    // A running one lowers oldestEnd when it ends, if need be.
    else if (operation.status !== "InProgress" && (operation.endTime ?? "") < this.oldestEnd) this.oldestEnd = operation.endTime ?? "";
  }

  private getOperationIfKnown(key: string): OperationRecord | undefined {
    return this.unwrittenOperations.get(key) ?? this.operations.get(key) ?? undefined;
  }
}

/** Transactions joined in one SQLite transaction, committed together (group commit). */
class Batch {
  readonly hooks: CommitHooks[] = [];
  scheduled = false;
  private outcome: { error?: unknown } | undefined;
  private waiting: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;

  /** Settles once the batch is committed, or rejects when it was rolled back. */
  promise(): Promise<void> {
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {}); // a rejection is for the waiters; none of them is no crash
      this.waiting = { promise, resolve, reject };
    }
    return this.waiting.promise;
  }

  succeed(): void {
    this.outcome = {};
    this.waiting?.resolve();
    for (const hooks of this.hooks) quietly(() => hooks.committed());
  }

  /** Runs the transactions' failed hooks, the last first, and rejects the waiters; returns the error. */
  fail(error: unknown): unknown {
    if (this.outcome) return error;
    this.outcome = { error };
    this.waiting?.reject(error);
    for (let i = this.hooks.length - 1; i >= 0; i--) quietly(() => this.hooks[i].failed());
    return error;
  }
}

/** Hooks must not throw (ResourceStore.transaction); one that does must not keep the others, or the batch's waiters, from their turn. */
function quietly(step: () => void): void {
  try {
    step();
  } catch {
    // the engine's hooks log their own failures
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
