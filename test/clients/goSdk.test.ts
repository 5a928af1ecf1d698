// HashiCorp's go-azure-sdk, the SDK Terraform's azurerm 4.x provider is built on, against the emulator
// over HTTPS, trusting its CA through SSL_CERT_FILE as the README tells Terraform users to. Terraform
// itself is not run: the azurerm provider comes from a registry these machines cannot reach. The Go
// program in test/clients/go stands in for it with the provider's request shapes (see its main.go):
// the environment from /metadata/endpoints (metadata_host), the client-secret authorizer, the clients
// configured as the provider configures them, azurerm's expand output for a cluster and a node pool
// (kubeletDiskType "", userAssignedIdentities null, drainTimeoutInMinutes 0, nodeResourceGroup "",
// kubernetesVersion ""), the GET-modify-PUT updates that send the read model back with systemData
// null, and the SDK's own pollers. Each step prints "PASS <step>"; the last line is "PASSED <n>".
//
// The program is built with GOMODCACHE and GOCACHE under <clientCache>/go, outside the clone, and the
// binary is cached there by a hash of go.mod, go.sum and the sources: a warm run starts no Go build.
// go-azure-sdk's resource-manager module is one large zip (about 900 MB unpacked), so a cold run is
// dominated by its download and first compile.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { clientCache } from "../support/clientCache.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GO_PROJECT = join(ROOT, "test", "clients", "go");
const GO_CACHE = join(clientCache, "go");

/** What the program does, in order: every one must print PASS. */
const STEPS = [
  "environment from /metadata/endpoints",
  "client-secret authorizer gets a token",
  "resource group create",
  "cluster import check",
  "cluster create (CreateOrUpdateThenPoll)",
  "cluster create sent the provider's shape",
  "cluster read",
  "cluster list by resource group",
  "cluster update (GET-modify-PUT)",
  "cluster update sent the read model back",
  "cluster read after update",
  "default pool read through agentpools",
  "node pool create (CreateOrUpdateThenPoll)",
  "node pool read",
  "node pool list",
  "node pool update (GET-modify-PUT)",
  "node pool delete (DeleteThenPoll)",
  "ListClusterUserCredentials",
  "ListClusterAdminCredentials",
  "cluster delete (DeleteThenPoll)",
  "resource group delete",
  "api-versions on the wire",
];

/** The go-azure-sdk pin, read from go.mod: the release azurerm 4.x pins, or the newest the module proxy serves. */
function sdkVersion(): string {
  const pin = /github\.com\/hashicorp\/go-azure-sdk\/resource-manager (v\S+)/.exec(readFileSync(join(GO_PROJECT, "go.mod"), "utf8"));
  if (!pin) throw new Error(`${GO_PROJECT}/go.mod does not require github.com/hashicorp/go-azure-sdk/resource-manager`);
  return pin[1];
}

/** The environment Go runs in: its module and build caches outside the clone. */
function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOMODCACHE: join(GO_CACHE, "mod"), GOCACHE: join(GO_CACHE, "build"), GOFLAGS: "-buildvcs=false" };
}

/** Runs a command asynchronously (an emulator may be answering in this process); a failure shows its output. */
async function exec(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<string> {
  try {
    const result = await run(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
    return result.stdout;
  } catch (error) {
    const failed = error as Error & { code?: number | string; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed (exit ${failed.code}):\n--- stdout ---\n${failed.stdout ?? ""}\n--- stderr ---\n${failed.stderr ?? failed.message}`);
  }
}

/** The program's binary, built when go.mod, go.sum, the sources or the Go release changed. */
async function goClient(): Promise<string> {
  const goVersion = (await exec("go", ["version"], { env: goEnv(), timeout: 30_000 })).trim();
  const hash = createHash("sha256").update(goVersion).update("\0");
  const files = readdirSync(GO_PROJECT).filter((name) => name === "go.mod" || name === "go.sum" || name.endsWith(".go")).sort();
  for (const name of files) hash.update(name).update("\0").update(readFileSync(join(GO_PROJECT, name))).update("\0");
  const binDir = join(GO_CACHE, "bin");
  const binary = join(binDir, `goclient-${sdkVersion()}-${hash.digest("hex").slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(binDir, { recursive: true });
  const started = Date.now();
  const partial = `${binary}.${process.pid}.partial`;
  // go.sum is committed and complete: the default -mod=readonly downloads modules but never edits go.mod.
  await exec("go", ["build", "-o", partial, "."], { cwd: GO_PROJECT, env: goEnv(), timeout: 840_000 });
  renameSync(partial, binary);
  // Binaries of earlier sources are of no further use (about 15 MB each).
  for (const old of readdirSync(binDir)) if (old.startsWith("goclient-") && join(binDir, old) !== binary && !old.endsWith(".partial")) rmSync(join(binDir, old), { force: true });
  console.info(`go-azure-sdk ${sdkVersion()} client built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${binary}`);
  return binary;
}

/** Runs the program against an emulator; a failure names the step and shows what it printed. */
async function runGoClient(binary: string, emu: TestEmulator): Promise<string[]> {
  const stdout = await exec(binary, [], {
    timeout: 280_000,
    env: { ...process.env, EMULATOR_URL: emu.url, SSL_CERT_FILE: join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem") },
  });
  return stdout.trim().split("\n");
}

function expectEveryStep(lines: string[]): void {
  const passed = lines.filter((line) => line.startsWith("PASS ")).map((line) => line.slice("PASS ".length));
  expect(passed, lines.join("\n")).toEqual(STEPS);
  expect(lines.at(-1)).toBe(`PASSED ${STEPS.length}`);
}

describe(`go-azure-sdk (Terraform azurerm 4.x's SDK) at 2025-10-01, with the provider's request shapes`, () => {
  let binary: string;
  let lenient: TestEmulator;
  let strict: TestEmulator;
  beforeAll(async () => {
    binary = await goClient();
    lenient = await startTestEmulator();
    strict = await startTestEmulator({ strict: true });
  }, 900_000);
  afterAll(async () => {
    await lenient?.close();
    await strict?.close();
  });

  // Both at once: the SDK's delete poller waits a fixed 10 s before its first GET (three deletes), so
  // the two runs overlap their waits.
  it.concurrent.each([
    ["default mode", () => lenient],
    ["strict mode", () => strict],
  ])("creates, reads, updates and deletes a cluster and a node pool, in %s", async (_mode, emulator) => {
    const emu = emulator();
    const lines = await runGoClient(binary, emu);
    expectEveryStep(lines);
    // The provider's shapes are valid for Azure, so nothing is let off, in either mode.
    expect(lines.filter((line) => line.startsWith("LENIENCY "))).toEqual([]);
    expect(emu.violations).toEqual([]);
  }, 300_000);
});
