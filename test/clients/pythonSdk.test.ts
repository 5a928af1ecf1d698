// Microsoft's Python SDK (azure-mgmt-containerservice with azure-identity) against the emulator over
// HTTPS, trusting its CA through REQUESTS_CA_BUNDLE as the README tells Python users to. The pinned
// packages are installed into a venv per pin set, cached outside the clone (test/support/clientCache.ts).
//
// The SDK runs at its own default api-version (41.8.0 sends 2026-08-01), as a user's code does when it
// names none. Then the product documentation's Python example (shared/seed/000_95a56bac639d0e4e.txt)
// runs as written but for its credential and base_url (test/clients/seed_python_example.py), in the
// default (non-strict) mode: subscription "my-sub", resource group "my-rg" never created,
// kubernetes_version "1.29". It imports ContainerServiceVMSizeTypes, which the SDK's models last
// exported in 38.0.0: the example runs on that release (it sends 2025-05-02-preview, a published
// preview the 2024-02-01 document serves).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_SUBSCRIPTION, TEST_TENANT, type TestEmulator } from "../support/emulator.js";
import { pythonWith } from "../support/clientCache.js";

const PACKAGES = ["azure-mgmt-containerservice==41.8.0", "azure-identity==1.27.0"];
/** The newest release whose models still export ContainerServiceVMSizeTypes, which the seed's example imports. */
const SEED_PACKAGES = ["azure-mgmt-containerservice==38.0.0", "azure-identity==1.27.0"];
/** What azure-mgmt-containerservice 41.8.0 sends when the client names no api_version. */
const SDK_DEFAULT_API_VERSION = "2026-08-01";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SEED = resolve(ROOT, "..", "shared", "seed", "000_95a56bac639d0e4e.txt");
const SEED_EXAMPLE = join(ROOT, "test", "clients", "seed_python_example.py");

/** Runs a script with a venv's python; a failure names the script and shows what it printed. */
async function runPython(python: string, script: string, emu: TestEmulator): Promise<string> {
  try {
    // Asynchronous: the emulator answering the script runs in this very process.
    const run = await promisify(execFile)(python, [script], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, EMULATOR_URL: emu.url, REQUESTS_CA_BUNDLE: join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem") },
    });
    return run.stdout;
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${script} failed (exit ${failed.code}):\n--- stdout ---\n${failed.stdout ?? ""}\n--- stderr ---\n${failed.stderr ?? failed.message}`);
  }
}

describe("the Python SDK at its default api-version", () => {
  let emu: TestEmulator;
  let python: string;
  beforeAll(async () => {
    python = pythonWith(PACKAGES);
    emu = await startTestEmulator();
    const group = await fetch(`${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/rg-py?api-version=2023-07-01`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ location: "eastus" }),
    });
    expect(group.status).toBe(201);
  }, 360_000);
  afterAll(() => emu?.close());

  it(`creates, lists, adds a pool, reads credentials and deletes, polling as the SDK does, at ${SDK_DEFAULT_API_VERSION}`, async () => {
    const stdout = await runPython(python, join("test", "clients", "python_sdk.py"), emu);
    const seen = JSON.parse(stdout.trim().split("\n").at(-1)!);
    // The SDK's own default, what went on the wire, and what the emulator echoed in its operation URLs.
    expect(seen.sdkDefaultApiVersion, `the installed SDK's default api-version (${PACKAGES[0]})`).toBe(SDK_DEFAULT_API_VERSION);
    expect(seen.wire.requested, "api-versions of the SDK's requests").toEqual([SDK_DEFAULT_API_VERSION]);
    expect(seen.wire.echoed, "api-versions in the emulator's Azure-AsyncOperation/Location headers").toEqual([SDK_DEFAULT_API_VERSION]);
    // 2026-08-01 is published and served by its own document, and the flow is valid ARM: nothing let off.
    expect(seen.wire.leniency, "x-aks-emulator-leniency headers the emulator answered with").toEqual([]);
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

/** The seed's Python example: from its first import to its print, as the seed prints it. */
function seedPythonExample(): string {
  const text = readFileSync(SEED, "utf8").replace(/\r\n/g, "\n");
  const start = text.indexOf("from azure.identity import DefaultAzureCredential");
  const last = "print(cluster.provisioning_state)";
  const end = text.indexOf(last, start);
  if (start < 0 || end < 0) throw new Error(`${SEED}: no Python example from 'from azure.identity import DefaultAzureCredential' to '${last}'; the seed changed`);
  return text.slice(start, end + last.length) + "\n";
}

/** The seed's example with the two changes the test script may make, each of which must apply. */
function expectedSeedScript(): string {
  const changes: [string, string][] = [
    ["from azure.identity import DefaultAzureCredential\n", "import os\n\nfrom azure.identity import ClientSecretCredential\n"],
    [
      "credential = DefaultAzureCredential()\n",
      `credential = ClientSecretCredential("${TEST_TENANT}", "python-app", "any-secret",\n` +
        `                                    authority=os.environ["EMULATOR_URL"], disable_instance_discovery=True)\n`,
    ],
    ['    base_url="http://localhost:4577",\n', '    base_url=os.environ["EMULATOR_URL"],\n'],
  ];
  let script = seedPythonExample();
  for (const [from, to] of changes) {
    if (script.split(from).length !== 2) throw new Error(`the seed's Python example does not have exactly one '${from.trim()}'; the seed changed:\n${seedPythonExample()}`);
    script = script.replace(from, to);
  }
  return script;
}

describe("the seed's Python example, in the default (non-strict) mode", () => {
  let emu: TestEmulator;
  let python: string;
  beforeAll(async () => {
    python = pythonWith(SEED_PACKAGES);
    emu = await startTestEmulator({ strict: false });
  }, 360_000);
  afterAll(() => emu?.close());

  it("test/clients/seed_python_example.py is the seed's example but for the credential and base_url", () => {
    const script = readFileSync(SEED_EXAMPLE, "utf8").replace(/^(#.*\n)+/, "");
    expect(script).toBe(expectedSeedScript());
  });

  it("prints Succeeded: subscription my-sub, resource group my-rg never created, kubernetes_version 1.29", async () => {
    const stdout = await runPython(python, SEED_EXAMPLE, emu);
    expect(stdout, `${SEED_EXAMPLE} printed:\n${stdout}`).toBe("Succeeded\n");
    expect(emu.violations).toEqual([]);
  });
});
