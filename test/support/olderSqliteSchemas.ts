// A data folder's database as an older emulator left it: each step undoes one of sqliteStore.ts's
// migrations on a file the current store wrote, so a test can open it and watch the migration run.
import Database from "better-sqlite3";

const JSON_UNSETTLED = `active_operation IS NOT NULL OR (json_type(body, '$.properties.provisioningState') = 'text' AND json_extract(body, '$.properties.provisioningState') NOT IN ('Succeeded', 'Failed', 'Canceled'))`;

/** Rewrites a closed data-folder database as that schema left it. */
export function rewriteAsSchema(file: string, schema: 3 | 4 | 5): void {
  const db = new Database(file);
  try {
    ({ 3: asSchema3, 4: asSchema4, 5: asSchema5 })[schema](db);
  } finally {
    db.close();
  }
}

/** Schema 5: every type was in the type index. */
function asSchema5(db: Database.Database): void {
  db.exec(`DROP INDEX resources_by_type;
    CREATE INDEX resources_by_type ON resources (subscription_id COLLATE NOCASE, type COLLATE NOCASE, seq);`);
  db.pragma("user_version = 5");
}

/** Schema 4: unsettled was a JSON condition over the body, and there were indexes by parent and type, and by operation status. */
function asSchema4(db: Database.Database): void {
  asSchema5(db);
  db.exec(`DROP INDEX resources_unsettled;
    DROP INDEX operations_running;
    ALTER TABLE resources DROP COLUMN unsettled;
    CREATE INDEX resources_unsettled ON resources (seq) WHERE ${JSON_UNSETTLED};
    CREATE INDEX resources_by_parent_type ON resources (parent_key, type COLLATE NOCASE, seq);
    CREATE INDEX operations_by_status ON operations (status);`);
  db.pragma("user_version = 4");
}

/** Schema 3: before operations had an end column and a size. */
function asSchema3(db: Database.Database): void {
  asSchema4(db);
  db.exec("DROP INDEX operations_by_end; DROP INDEX resources_by_active_operation; ALTER TABLE operations DROP COLUMN ended; ALTER TABLE operations DROP COLUMN bytes;");
  db.pragma("user_version = 3");
}
