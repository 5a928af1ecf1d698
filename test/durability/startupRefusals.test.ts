// A data folder the emulator cannot use stops the start: the CLI exits non-zero within moments,
// with a message naming the folder, and leaves no port listening (a server that starts without its
// state, or half-starts, is a failure). A refusal must not damage what is in the folder either.
//
// Read-only and full file systems are real ones: a tmpfs mounted in a private mount namespace
// (`unshare --mount`, or `unshare --user --map-root-user --mount` without root) that lives and dies
// with the emulator process, so nothing is left mounted whatever happens to the test.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION, SqliteStore } from "../../src/store/sqliteStore.js";
import { assertBuildIsCurrent, call, freePort, isListening, rgPath, runToExit, startChild, type ChildOptions } from "./childEmulator.js";

const DB = "aks-emulator.db";
/** Starting takes about two seconds; a refusal must come well before the server would be up. */
const QUICK_MS = 8_000;

/** Builds the wrapper that runs the CLI on a fresh tmpfs at $MNT (MODE: ro or full; SEED_DB: a database to put there first). */
const MOUNT_SCRIPT = [
  "set -e",
  'mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MNT"',
  'if [ -n "$SEED_DB" ]; then cp "$SEED_DB" "$MNT/aks-emulator.db"; fi',
  'if [ "$MODE" = full ]; then dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true; fi',
  'if [ "$MODE" = ro ]; then mount -o remount,ro "$MNT"; fi',
  'exec "$@"',
].join("\n");

function probeMountNamespace(dir: string): string[] | undefined {
  const candidates = [
    ["unshare", "--mount", "--propagation", "private"],
    ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
  ];
  for (const prefix of candidates) {
    const probe = spawnSync(prefix[0], [...prefix.slice(1), "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$MNT" && touch "$MNT/probe"'], {
      env: { ...process.env, MNT: dir },
      encoding: "utf8",
    });
    if (probe.status === 0) return prefix;
  }
  return undefined;
}

describe("durability: start-up refusals", () => {
  let work: string;
  let seedDb: string;
  let mountPrefix: string[] | undefined;

  beforeAll(() => {
    assertBuildIsCurrent();
    work = mkdtempSync(join(tmpdir(), "aks-emulator-refusals-"));
    // A healthy database, written by the store itself, to seed the folders below.
    mkdirSync(join(work, "seed"));
    seedDb = join(work, "seed", DB);
    const store = new SqliteStore(seedDb);
    store.put({ id: "/subscriptions/s/resourceGroups/seeded", type: "Microsoft.Resources/resourceGroups", parentKey: "/subscriptions/s", subscriptionId: "s", body: { name: "seeded" }, etag: "" });
    store.close();
    mkdirSync(join(work, "probe"));
    mountPrefix = probeMountNamespace(join(work, "probe"));
  });
  afterAll(() => work && rmSync(work, { recursive: true, force: true }));

  /** Starts the CLI on `dataDir` and checks it refuses: non-zero exit, quickly, the folder named, no port left open. */
  async function expectRefusal(dataDir: string, options: ChildOptions = {}, mention?: RegExp): Promise<string> {
    const port = await freePort();
    const result = await runToExit({ dataDir, port, ...options });
    expect(result.timedOut, result.output).toBe(false);
    expect(result.code, result.output).toBe(1);
    expect(result.ms, result.output).toBeLessThan(QUICK_MS);
    expect(result.output).toContain(`cannot use the data folder ${dataDir}`);
    expect(result.output).not.toMatch(/listening on port/);
    if (mention) expect(result.output).toMatch(mention);
    expect(await isListening(port)).toBe(false);
    return result.output;
  }

  function mounted(mode: "ro" | "full", seed: boolean): ChildOptions {
    if (!mountPrefix) {
      throw new Error("neither `unshare --mount` nor `unshare --user --map-root-user --mount` can mount a tmpfs here: the read-only and full-disk cases cannot run");
    }
    return {
      wrapper: [...mountPrefix, "sh", "-c", MOUNT_SCRIPT, "sh"],
      env: { MNT: "", MODE: mode, SEED_DB: seed ? seedDb : "" },
    };
  }

  async function onTmpfs(name: string, mode: "ro" | "full", seed: boolean, mention: RegExp): Promise<void> {
    const dataDir = join(work, name);
    mkdirSync(dataDir);
    const options = mounted(mode, seed);
    options.env!.MNT = dataDir;
    await expectRefusal(dataDir, options, mention);
  }

  it("refuses a data folder below a regular file (ENOTDIR)", async () => {
    const file = join(work, "a-file");
    writeFileSync(file, "not a folder");
    await expectRefusal(join(file, "data"), {}, /ENOTDIR/);
  });

  it("refuses a data folder that is a regular file", async () => {
    const file = join(work, "file-as-folder");
    writeFileSync(file, "not a folder");
    await expectRefusal(file, {}, /EEXIST|ENOTDIR/);
    expect(readFileSync(file, "utf8")).toBe("not a folder");
  });

  it("refuses a database file that is not a database, and leaves it as it was", async () => {
    const dataDir = join(work, "garbage");
    mkdirSync(dataDir);
    const content = "this is not an SQLite database\n".repeat(200);
    writeFileSync(join(dataDir, DB), content);
    await expectRefusal(dataDir, {}, /not an SQLite database; it was left untouched/);
    expect(readFileSync(join(dataDir, DB), "utf8")).toBe(content);
  });

  it("refuses a database from a newer schema version, and leaves it as it was", async () => {
    const dataDir = join(work, "newer");
    mkdirSync(dataDir);
    const db = new Database(join(dataDir, DB));
    db.exec("CREATE TABLE future (x TEXT)");
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expectRefusal(dataDir, {}, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this emulator's ${SCHEMA_VERSION}`));
    const after = new Database(join(dataDir, DB), { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: "future" }]);
    after.close();
  });

  it("refuses a data folder another emulator is using, which keeps serving", async () => {
    const dataDir = join(work, "shared");
    const first = await startChild({ dataDir });
    try {
      expect((await call(first.url, "PUT", rgPath("first-rg"), { location: "eastus" })).status).toBe(201);
      await expectRefusal(dataDir, {}, /another aks-emulator process is using this data folder/);
      expect((await call(first.url, "GET", "/_emulator/health")).status).toBe(200);
      expect((await call(first.url, "GET", rgPath("first-rg"))).status).toBe(200);
      expect((await call(first.url, "PUT", rgPath("second-rg"), { location: "eastus" })).status).toBe(201);
    } finally {
      expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    }
    // And the folder is whole: a new start finds both groups.
    const next = await startChild({ dataDir });
    try {
      expect((await call(next.url, "GET", rgPath("first-rg"))).status).toBe(200);
      expect((await call(next.url, "GET", rgPath("second-rg"))).status).toBe(200);
    } finally {
      await next.stop("SIGTERM");
    }
  });

  it("stops with a clear message when its port is taken, and the data folder stays usable", async () => {
    const dataDir = join(work, "port-taken");
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runToExit({ dataDir, port });
      expect(result.timedOut, result.output).toBe(false);
      expect(result.code, result.output).toBe(1);
      expect(result.output).toMatch(/cannot listen: .*EADDRINUSE/);
      expect(result.output).not.toMatch(/listening on port/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const next = await startChild({ dataDir });
    expect((await call(next.url, "GET", "/_emulator/health")).status).toBe(200);
    expect(await next.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });

  it("refuses an empty data folder on a read-only file system", async () => {
    await onTmpfs("ro-empty", "ro", false, /the file system is read-only \(EROFS/);
  });

  it("refuses a data folder holding a database on a read-only file system", async () => {
    await onTmpfs("ro-seeded", "ro", true, /the file system is read-only \(EROFS/);
  });

  it("refuses an empty data folder on a full file system", async () => {
    await onTmpfs("full-empty", "full", false, /the disk is full \(ENOSPC/);
  });

  it("refuses a data folder holding a database on a full file system", async () => {
    await onTmpfs("full-seeded", "full", true, /the disk is full \(ENOSPC/);
  });
});
