// Microsoft's Python SDK (azure-mgmt-containerservice with azure-identity) against the emulator over
// HTTPS, trusting its CA through REQUESTS_CA_BUNDLE as the README tells Python users to. The pinned
// packages are installed into .venv-clients/ (git-ignored) on first run.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_SUBSCRIPTION, type TestEmulator } from "../support/emulator.js";

const PACKAGES = ["azure-mgmt-containerservice==41.8.0", "azure-identity==1.27.0"];
const venv = join(process.cwd(), ".venv-clients");
const python = join(venv, "bin", "python");

function ensureVenv(): void {
  const installed = existsSync(python) && spawnSync(python, ["-m", "pip", "freeze"], { encoding: "utf8" }).stdout;
  if (installed && PACKAGES.every((p) => installed.includes(p))) return;
  if (!existsSync(python)) execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
  execFileSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...PACKAGES], { stdio: "inherit", timeout: 300_000 });
}

describe.each(["2026-06-01", "2025-10-01"])("the Python SDK at %s", (apiVersion) => {
  let emu: TestEmulator;
  beforeAll(async () => {
    ensureVenv();
    emu = await startTestEmulator();
    const group = await fetch(`${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/rg-py?api-version=2023-07-01`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ location: "eastus" }),
    });
    expect(group.status).toBe(201);
  }, 360_000);
  afterAll(() => emu?.close());

  it("creates, lists, adds a pool, reads credentials and deletes, polling as the SDK does", async () => {
    // Asynchronous: the emulator answering the script runs in this very process.
    const run = await promisify(execFile)(python, [join("test", "clients", "python_sdk.py")], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, EMULATOR_URL: emu.url, API_VERSION: apiVersion, REQUESTS_CA_BUNDLE: join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem") },
    });
    const seen = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(seen.created).toMatchObject({ state: "Succeeded", createdBy: "python-app" });
    expect(seen.created.fqdn).toMatch(/\.hcp\.eastus\.azmk8s\.io$/);
    expect(seen.created.version).toMatch(/^1\.\d+\.\d+$/);
    expect(seen.listed).toEqual(["pyaks"]);
    expect(seen.pool).toEqual({ state: "Succeeded", count: 3 });
    expect(seen.pools).toEqual(["nodepool1", "userpool"]);
    expect(seen.admin.name).toBe("clusterAdmin");
    expect(Buffer.from(seen.admin.kubeconfig, "base64").toString()).toContain("clusterAdmin_rg-py_pyaks");
    expect(seen.afterDelete).toEqual({ status: 404, code: "ResourceNotFound" });
    expect(emu.violations).toEqual([]);
  });
});
