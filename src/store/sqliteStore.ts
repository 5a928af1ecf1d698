// A durable store on SQLite (better-sqlite3, WAL). Every change is committed before the call
// returns, so what a client saw acknowledged survives a crash; reads are served from an in-memory
// copy loaded at open, so durability costs writes, not reads.
import Database from "better-sqlite3";
import type { OperationRecord } from "../arm/lro.js";
import { MemoryStore } from "./memoryStore.js";
import { normaliseId, type ResourceStore, type StoredResource } from "./store.js";

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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export class SqliteStore implements ResourceStore {
  private readonly db: Database.Database;
  private cache = new MemoryStore();
  private readonly statements;
  private seq = 0;
  private depth = 0;

  constructor(readonly file: string) {
    this.db = new Database(file);
    try {
      // One emulator per data folder: every process keeps its own copy of the state in memory, so a
      // second one on the same file would serve stale reads and overwrite the first one's changes.
      // EXCLUSIVE keeps the lock from the first access until close (the kernel drops it when the
      // process dies), and with it WAL needs no shared-memory file. A second process waits a moment
      // (a previous instance may still be closing), then fails with SQLITE_BUSY.
      this.db.pragma("busy_timeout = 1000");
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode loses nothing when the process dies; FULL would also cover power loss.
      this.db.pragma("synchronous = NORMAL");
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
      upsert: this.db.prepare(
        `INSERT INTO resources (key, seq, id, type, parent_key, subscription_id, etag, active_operation, body)
         VALUES (@key, @seq, @id, @type, @parentKey, @subscriptionId, @etag, @activeOperation, @body)
         ON CONFLICT (key) DO UPDATE SET id = excluded.id, type = excluded.type, parent_key = excluded.parent_key,
           subscription_id = excluded.subscription_id, etag = excluded.etag,
           active_operation = excluded.active_operation, body = excluded.body`,
      ),
      seqOf: this.db.prepare("SELECT seq FROM resources WHERE key = ?"),
      remove: this.db.prepare("DELETE FROM resources WHERE key = ?"),
      putOperation: this.db.prepare(
        "INSERT INTO operations (key, status, body) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = excluded.status, body = excluded.body",
      ),
      getSetting: this.db.prepare("SELECT value FROM settings WHERE name = ?"),
      putSetting: this.db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
    };
    this.load();
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

  private load(): void {
    const rows = this.db.prepare("SELECT * FROM resources ORDER BY seq").all() as any[];
    for (const row of rows) {
      this.cache.put({
        id: row.id,
        type: row.type,
        parentKey: row.parent_key,
        subscriptionId: row.subscription_id,
        etag: row.etag,
        activeOperation: row.active_operation ?? undefined,
        body: JSON.parse(row.body),
      });
      this.seq = Math.max(this.seq, row.seq);
    }
    // rowid order is creation order (an upsert keeps the rowid): listOperations() lists oldest first.
    for (const row of this.db.prepare("SELECT body FROM operations ORDER BY rowid").all() as { body: string }[]) {
      this.cache.putOperation(JSON.parse(row.body));
    }
  }

  get<T>(id: string): StoredResource<T> | undefined {
    return this.cache.get<T>(id);
  }

  put(resource: StoredResource): void {
    const key = normaliseId(resource.id);
    const existing = this.statements.seqOf.get(key) as { seq: number } | undefined;
    this.statements.upsert.run({
      key,
      seq: existing?.seq ?? ++this.seq,
      id: resource.id,
      type: resource.type,
      parentKey: resource.parentKey,
      subscriptionId: resource.subscriptionId,
      etag: resource.etag ?? "",
      activeOperation: resource.activeOperation ?? null,
      body: JSON.stringify(resource.body),
    });
    this.cache.put(resource);
  }

  delete(id: string): boolean {
    const removed = this.statements.remove.run(normaliseId(id)).changes > 0;
    this.cache.delete(id);
    return removed;
  }

  children<T>(parentId: string, type?: string): StoredResource<T>[] {
    return this.cache.children<T>(parentId, type);
  }

  listByType<T>(subscriptionId: string, type: string): StoredResource<T>[] {
    return this.cache.listByType<T>(subscriptionId, type);
  }

  getOperation(id: string): OperationRecord | undefined {
    return this.cache.getOperation(id);
  }

  putOperation(operation: OperationRecord): void {
    this.statements.putOperation.run(operation.name.toLowerCase(), operation.status, JSON.stringify(operation));
    this.cache.putOperation(operation);
  }

  listOperations(status?: OperationRecord["status"]): OperationRecord[] {
    return this.cache.listOperations(status);
  }

  listLocked(): StoredResource[] {
    return this.cache.listLocked();
  }

  all(): StoredResource[] {
    return this.cache.all();
  }

  /** Runs fn as one transaction: all of its changes are committed together, or none. */
  transaction<T>(fn: () => T): T {
    // Nested calls join the outer transaction. A refusal thrown by fn (a 409, a 400) rolls back the
    // database and, through the cache's own undo log, the cache: no reload for every refused write.
    // Should the COMMIT itself fail (a full disk), the cache has already kept the changes: it is
    // rebuilt from the database then.
    if (this.depth > 0) return fn();
    this.depth++;
    let cacheKept = false;
    try {
      return this.db.transaction(() => {
        const result = this.cache.transaction(fn);
        cacheKept = true;
        return result;
      })();
    } catch (error) {
      if (cacheKept) this.reloadCache();
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
    this.reloadCache();
  }

  close(): void {
    this.db.close();
  }

  private reloadCache(): void {
    this.cache = new MemoryStore();
    this.load();
  }
}
