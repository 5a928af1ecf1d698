// README's JavaScript and Python sections run as written, against an emulator at the README's default
// mode, with only the endpoint swapped for the test emulator's (test/support/readmeSnippets.ts). The
// JS snippet runs with this repository's @azure/arm-containerservice and @azure/identity; the Python
// one with the Python suite's pinned packages (test/clients/pythonSdk.test.ts).
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { pythonWith } from "../support/clientCache.js";
import { pointedAt, readmeSnippet, ROOT } from "../support/readmeSnippets.js";

const PYTHON_PACKAGES = ["azure-mgmt-containerservice==41.8.0", "azure-identity==1.27.0"];
/** Inside the repository, so the snippet's bare imports resolve to node_modules as in a user's project. */
const SCRATCH = join(ROOT, "node_modules", ".cache", "aks-emulator-readme");
const CA = () => join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem");

async function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  try {
    // Asynchronous: the emulator answering the snippet runs in this very process.
    const { stdout } = await promisify(execFile)(command, args, { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n--- stdout ---\n${failed.stdout ?? ""}\n--- stderr ---\n${failed.stderr ?? failed.message}`);
  }
}

describe("README's client snippets, as written", () => {
  let emu: TestEmulator;
  let python: string;
  beforeAll(async () => {
    python = pythonWith(PYTHON_PACKAGES);
    mkdirSync(SCRATCH, { recursive: true });
    emu = await startTestEmulator();
  }, 600_000);
  afterAll(() => emu?.close());

  it("JavaScript: creates aks1 in rg1 and prints Succeeded", async () => {
    const app = join(SCRATCH, "app.mjs");
    writeFileSync(app, pointedAt(readmeSnippet("JavaScript / TypeScript", "ts"), emu.url));
    // README: NODE_EXTRA_CA_CERTS=aks-emulator-ca.pem node app.js
    expect(await run(process.execPath, [app], { NODE_EXTRA_CA_CERTS: CA() })).toBe("Succeeded\n");
    const read = await fetch(`${emu.url}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1?api-version=2026-06-01`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { properties: { agentPoolProfiles: unknown } }).properties.agentPoolProfiles).toMatchObject([{ name: "nodepool1", count: 2, mode: "System" }]);
  });

  it("Python: creates aks1 in rg1 and prints Succeeded", async () => {
    const app = join(SCRATCH, "app.py");
    writeFileSync(app, pointedAt(readmeSnippet("Python", "python"), emu.url));
    // README: REQUESTS_CA_BUNDLE=aks-emulator-ca.pem python app.py
    expect(await run(python, [app], { REQUESTS_CA_BUNDLE: CA() })).toBe("Succeeded\n");
    expect(emu.violations).toEqual([]);
  });
});
