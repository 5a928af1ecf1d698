// The Azure CLI (azure-cli 2.91.0 from PyPI, unmodified) against an in-process emulator, signed in by
// the emulator's own set-up command (`aks-emulator az-login`, src/cli/azLogin.ts) as the README tells
// az users to. az runs as a child process with its own configuration folder and HOME (its ssh keys and
// ~/.kube/config land there), trusting the emulator's CA through REQUESTS_CA_BUNDLE. Every command of
// the issue runs in order and its JSON output is checked; the failures must carry AKS's own error.
// Then the product documentation's two az commands (shared/seed/000_95a56bac639d0e4e.txt) run as
// written: `--subscription my-sub` resolves because the default mode lists `my-sub` at login. Last,
// README's "Azure CLI" blocks run as written through bash (the az-login one, and the commands it runs
// by hand), with the venv's az on PATH and only the endpoint swapped. What az sends: docs/CLIENTS.md.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_SUBSCRIPTION, TEST_TENANT, type TestEmulator } from "../support/emulator.js";
import { pythonWith } from "../support/clientCache.js";
import { pointedAt } from "../support/readmeSnippets.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { AzLoginError, parseAzLoginArgs } from "../../src/cli/azLogin.js";

const AZ_CLI = "azure-cli==2.91.0";
/** What az 2.91 sends for Microsoft.ContainerService: the default of the azure-mgmt-containerservice it pins (~=41.6.0). */
const AZ_AKS_API_VERSION = "2026-06-01";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN = join(ROOT, "dist", "src", "main.js");
const SEED = resolve(ROOT, "..", "shared", "seed", "000_95a56bac639d0e4e.txt");
const RG = "rg-az";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program asynchronously (the emulator answering it runs in this very process). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { env, encoding: "utf8", timeout: 240_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === "number" ? Number((error as NodeJS.ErrnoException).code) : -1) : 0;
      done({ code, stdout, stderr: error && code === -1 ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/** The seed's `az ...` command that starts with `head`, continuation lines joined, split into arguments. */
function seedCommand(head: string): string[] {
  const text = readFileSync(SEED, "utf8").replace(/\r\n/g, "\n");
  const start = text.indexOf(head);
  if (start < 0) throw new Error(`${SEED}: no '${head}'; the seed changed`);
  const lines: string[] = [];
  for (const line of text.slice(start).split("\n")) {
    lines.push(line.replace(/\\$/, ""));
    if (!line.endsWith("\\")) break;
  }
  const words = lines.join(" ").trim().split(/\s+/);
  if (words[0] !== "az" || words.some((w) => /["'$`]/.test(w))) throw new Error(`the seed's command is not plain words: ${words.join(" ")}`);
  return words.slice(1);
}

describe(`the Azure CLI (${AZ_CLI}) signed in by aks-emulator az-login`, () => {
  let emu: TestEmulator;
  let azPath: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const caPem = () => join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem");

  /** `az ARGS`; a non-zero exit fails the test with what az printed, unless `fails` is set. */
  async function az(args: string[], { fails = false } = {}): Promise<Run & { json: any }> {
    const result = await run(azPath, args, env);
    if (fails) {
      expect(result.code, `az ${args.join(" ")} should fail; it printed:\n${result.stdout}`).not.toBe(0);
    } else if (result.code !== 0) {
      throw new Error(`az ${args.join(" ")} failed (exit ${result.code}):\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
    }
    let json: any;
    if (args.includes("json") && result.stdout.trim()) json = JSON.parse(result.stdout);
    return { ...result, json };
  }

  const azLogin = (extra: NodeJS.ProcessEnv) => run(process.execPath, [MAIN, "az-login", "--endpoint", emu.url, "--az", azPath], { ...env, ...extra });

  beforeAll(async () => {
    azPath = join(dirname(pythonWith([AZ_CLI])), "az");
    emu = await startTestEmulator({ strict: false });
    home = mkdtempSync(join(tmpdir(), "aks-emulator-az-"));
    env = {
      ...process.env,
      HOME: home,
      AZURE_CONFIG_DIR: join(home, ".azure"),
      AZURE_CORE_COLLECT_TELEMETRY: "false",
      AZURE_CORE_NO_COLOR: "true",
      REQUESTS_CA_BUNDLE: undefined,
      KUBECONFIG: undefined,
    };
  }, 900_000);
  afterAll(async () => {
    await emu?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("az-login registers the cloud, turns instance discovery off and signs in; run again, it updates the cloud", async () => {
    // No REQUESTS_CA_BUNDLE: az-login fetches the emulator's CA and saves it in az's configuration folder.
    const first = await azLogin({});
    expect(first.code, `az-login failed:\n${first.stdout}\n${first.stderr}`).toBe(0);
    const saved = join(home, ".azure", "aks-emulator-ca.pem");
    expect(readFileSync(saved, "utf8").trim()).toBe(readFileSync(caPem(), "utf8").trim());
    expect(first.stdout).toContain(`az cloud register -n AksEmulator --endpoint-resource-manager ${emu.url}/ --endpoint-active-directory ${emu.url} `);
    expect(first.stdout).toContain("az cloud set -n AksEmulator");
    expect(first.stdout).toContain("az config set core.instance_discovery=false");
    expect(first.stdout).toContain(`az login --service-principal -u my-app -p *** --tenant ${TEST_TENANT}`);
    expect(first.stdout).not.toContain("any-secret");
    expect(first.stdout).toContain(`# subscription ${TEST_SUBSCRIPTION} (AKS Emulator): the default`);
    expect(first.stdout).toContain("# subscription my-sub");
    expect(first.stdout.trim().split("\n").at(-1)).toBe(`export REQUESTS_CA_BUNDLE=${saved}`);

    // Every later command trusts the CA the way the README says: REQUESTS_CA_BUNDLE.
    env.REQUESTS_CA_BUNDLE = caPem();
    const again = await azLogin({});
    expect(again.code, `az-login (again) failed:\n${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toContain("az cloud update -n AksEmulator");
    expect(again.stdout).not.toContain("saved to"); // $REQUESTS_CA_BUNDLE already holds the emulator's CA
    expect(again.stdout.trim().split("\n").at(-1)).toBe(`export REQUESTS_CA_BUNDLE=${caPem()}`);

    const account = (await az(["account", "show", "-o", "json"])).json;
    expect(account).toMatchObject({ id: TEST_SUBSCRIPTION, tenantId: TEST_TENANT, environmentName: "AksEmulator", isDefault: true, user: { name: "my-app", type: "servicePrincipal" } });
    const accounts = (await az(["account", "list", "-o", "json"])).json;
    expect(accounts.map((a: any) => a.id)).toEqual([TEST_SUBSCRIPTION, "my-sub"]);
    const cloud = (await az(["cloud", "show", "-n", "AksEmulator", "-o", "json"])).json;
    expect(cloud).toMatchObject({ isActive: true, endpoints: { resourceManager: `${emu.url}/`, activeDirectory: emu.url } });
  });

  it("group create", async () => {
    const group = (await az(["group", "create", "-n", RG, "-l", "eastus", "-o", "json"])).json;
    expect(group).toMatchObject({ name: RG, location: "eastus", properties: { provisioningState: "Succeeded" } });
  });

  let version: string;
  it("aks create --generate-ssh-keys", async () => {
    const cluster = (await az(["aks", "create", "-g", RG, "-n", "aks1", "--node-count", "1", "--generate-ssh-keys", "-o", "json"])).json;
    expect(cluster).toMatchObject({ name: "aks1", location: "eastus", provisioningState: "Succeeded", powerState: { code: "Running" } });
    expect(cluster.agentPoolProfiles).toEqual([expect.objectContaining({ name: "nodepool1", count: 1, mode: "System", provisioningState: "Succeeded" })]);
    // The key az generated under ~/.ssh is the one the cluster holds.
    const publicKey = readFileSync(join(home, ".ssh", "id_rsa.pub"), "utf8").trim();
    expect(cluster.linuxProfile.ssh.publicKeys[0].keyData.trim()).toBe(publicKey);
    expect(cluster.servicePrincipalProfile).toMatchObject({ clientId: "msi" });
    expect(cluster.currentKubernetesVersion).toMatch(/^1\.\d+\.\d+$/);
    version = cluster.currentKubernetesVersion;
  });

  it(`aks show (at ${AZ_AKS_API_VERSION}) and aks list`, async () => {
    const show = await az(["aks", "show", "-g", RG, "-n", "aks1", "-o", "json", "--debug"]);
    const urls = [...show.stderr.matchAll(/Request URL: '([^']+)'/g)].map((m) => new URL(m[1]));
    expect(urls.map((u) => [u.pathname, u.searchParams.get("api-version")])).toContainEqual([
      `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/aks1`,
      AZ_AKS_API_VERSION,
    ]);
    const shown = show.json;
    expect(shown).toMatchObject({ name: "aks1", resourceGroup: RG, provisioningState: "Succeeded", currentKubernetesVersion: version, nodeResourceGroup: `MC_${RG}_aks1_eastus` });
    expect(shown.id.toLowerCase()).toBe(`/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${RG}/providers/microsoft.containerservice/managedclusters/aks1`);
    expect((await az(["aks", "list", "-o", "json"])).json.map((c: any) => c.name)).toEqual(["aks1"]);
    expect((await az(["aks", "list", "-g", RG, "-o", "json"])).json.map((c: any) => c.name)).toEqual(["aks1"]);
  });

  it("aks update: the cluster autoscaler (enable, then new bounds) and tags", async () => {
    let cluster = (await az(["aks", "update", "-g", RG, "-n", "aks1", "--enable-cluster-autoscaler", "--min-count", "1", "--max-count", "3", "-o", "json"])).json;
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.agentPoolProfiles[0]).toMatchObject({ name: "nodepool1", enableAutoScaling: true, minCount: 1, maxCount: 3 });
    cluster = (await az(["aks", "update", "-g", RG, "-n", "aks1", "--update-cluster-autoscaler", "--min-count", "1", "--max-count", "5", "-o", "json"])).json;
    expect(cluster.agentPoolProfiles[0]).toMatchObject({ enableAutoScaling: true, minCount: 1, maxCount: 5 });
    cluster = (await az(["aks", "update", "-g", RG, "-n", "aks1", "--tags", "env=dev", "team=aks", "-o", "json"])).json;
    expect(cluster).toMatchObject({ provisioningState: "Succeeded", tags: { env: "dev", team: "aks" } });
    expect(cluster.agentPoolProfiles[0]).toMatchObject({ enableAutoScaling: true, maxCount: 5 }); // the tags update kept the pool
  });

  it("aks get-credentials, user then --admin, merged into ~/.kube/config as AKS and az name them", async () => {
    await az(["aks", "get-credentials", "-g", RG, "-n", "aks1"]);
    const kubeconfigPath = join(home, ".kube", "config");
    let kubeconfig = parseYaml(readFileSync(kubeconfigPath, "utf8"));
    expect(kubeconfig["current-context"]).toBe("aks1");
    expect(kubeconfig.contexts).toEqual([{ name: "aks1", context: { cluster: "aks1", user: `clusterUser_${RG}_aks1` } }]);
    const admin = await az(["aks", "get-credentials", "-g", RG, "-n", "aks1", "--admin"]);
    // az appends "-admin" to the context of a clusterAdmin user: AKS names both contexts "aks1".
    expect(admin.stderr).toContain(`Merged "aks1-admin" as current context in ${kubeconfigPath}`);
    kubeconfig = parseYaml(readFileSync(kubeconfigPath, "utf8"));
    expect(kubeconfig["current-context"]).toBe("aks1-admin");
    expect(kubeconfig.contexts).toEqual([
      { name: "aks1", context: { cluster: "aks1", user: `clusterUser_${RG}_aks1` } },
      { name: "aks1-admin", context: { cluster: "aks1", user: `clusterAdmin_${RG}_aks1` } },
    ]);
    expect(kubeconfig.users.map((u: any) => u.name)).toEqual([`clusterUser_${RG}_aks1`, `clusterAdmin_${RG}_aks1`]);
    expect(kubeconfig.users.every((u: any) => /^\S{16,}$/.test(u.user.token))).toBe(true);
    expect(kubeconfig.clusters).toEqual([{ name: "aks1", cluster: { server: "https://localhost:6443", "insecure-skip-tls-verify": true } }]);
  });

  it("aks-emulator kubeconfig (user, then --admin) writes what az aks get-credentials wrote, as kubectl reads both", async () => {
    const ours = join(home, "aks-emulator.kubeconfig");
    for (const extra of [[], ["--admin"]]) {
      const merged = await run(process.execPath, [MAIN, "kubeconfig", "--endpoint", emu.url, "-g", RG, "-n", "aks1", "-f", ours, ...extra], env);
      expect(merged.code, merged.stderr).toBe(0);
    }
    const view = async (file: string) => {
      const shown = await run("kubectl", ["config", "view", "--raw", "-o", "json", "--kubeconfig", file], env);
      expect(shown.code, shown.stderr).toBe(0);
      return JSON.parse(shown.stdout);
    };
    expect(await view(ours)).toEqual(await view(join(home, ".kube", "config")));
  });

  it("after eval \"$(aks-emulator env)\", az trusts the emulator with no other setting", async () => {
    const shell = await run("bash", ["-euo", "pipefail", "-c", `eval "$('${process.execPath}' '${MAIN}' env --endpoint '${emu.url}')"; '${azPath}' aks list -g '${RG}' -o json`], { ...env, REQUESTS_CA_BUNDLE: undefined });
    expect(shell.code, shell.stderr).toBe(0);
    expect(JSON.parse(shell.stdout).map((c: { name: string }) => c.name)).toContain("aks1");
  });

  it("aks nodepool add, list and scale", async () => {
    const pool = (await az(["aks", "nodepool", "add", "-g", RG, "--cluster-name", "aks1", "-n", "userpool", "--node-count", "2", "-o", "json"])).json;
    expect(pool).toMatchObject({ name: "userpool", count: 2, mode: "User", provisioningState: "Succeeded", currentOrchestratorVersion: version });
    const pools = (await az(["aks", "nodepool", "list", "-g", RG, "--cluster-name", "aks1", "-o", "json"])).json;
    expect(pools.map((p: any) => [p.name, p.count])).toEqual([["nodepool1", 1], ["userpool", 2]]);
    const scaled = (await az(["aks", "nodepool", "scale", "-g", RG, "--cluster-name", "aks1", "-n", "userpool", "--node-count", "3", "-o", "json"])).json;
    expect(scaled).toMatchObject({ name: "userpool", count: 3, provisioningState: "Succeeded" });
  });

  let target: string;
  it("aks get-versions and aks get-upgrades", async () => {
    const versions = (await az(["aks", "get-versions", "-l", "eastus", "-o", "json"])).json;
    const minors = versions.values.map((v: any) => v.version);
    expect(minors.length).toBeGreaterThan(2);
    const defaults = versions.values.filter((v: any) => v.isDefault);
    expect(defaults.map((v: any) => v.version)).toEqual([version.split(".").slice(0, 2).join(".")]);
    expect(Object.keys(defaults[0].patchVersions)).toContain(version);

    const upgrades = (await az(["aks", "get-upgrades", "-g", RG, "-n", "aks1", "-o", "json"])).json;
    expect(upgrades.controlPlaneProfile).toMatchObject({ kubernetesVersion: version, osType: "Linux" });
    const offered: string[] = upgrades.controlPlaneProfile.upgrades.map((u: any) => u.kubernetesVersion);
    expect(offered.length).toBeGreaterThan(0);
    for (const v of offered) expect(Object.keys(versions.values.find((m: any) => v.startsWith(`${m.version}.`)).patchVersions)).toContain(v);
    expect(upgrades.agentPoolProfiles.map((p: any) => [p.name, p.kubernetesVersion])).toEqual([["nodepool1", version], ["userpool", version]]);
    target = offered.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1)!;
  });

  it("aks nodepool upgrade past the control plane fails with AKS's error", async () => {
    const refused = await az(["aks", "nodepool", "upgrade", "-g", RG, "--cluster-name", "aks1", "-n", "userpool", "--kubernetes-version", target, "--yes", "-o", "json"], { fails: true });
    expect(refused.stderr).toContain("(NodePoolMcVersionIncompatible)");
    expect(refused.stderr).toContain(`Node pool version ${target} and control plane version ${version} are incompatible.`);
  });

  it("aks upgrade --control-plane-only --yes, aks nodepool upgrade, then aks upgrade --yes for the remaining pool", async () => {
    let cluster = (await az(["aks", "upgrade", "-g", RG, "-n", "aks1", "--kubernetes-version", target, "--control-plane-only", "--yes", "-o", "json"])).json;
    expect(cluster).toMatchObject({ provisioningState: "Succeeded", kubernetesVersion: target, currentKubernetesVersion: target });
    expect(cluster.agentPoolProfiles.map((p: any) => p.currentOrchestratorVersion)).toEqual([version, version]);
    const pool = (await az(["aks", "nodepool", "upgrade", "-g", RG, "--cluster-name", "aks1", "-n", "userpool", "--kubernetes-version", target, "--yes", "-o", "json"])).json;
    expect(pool).toMatchObject({ name: "userpool", provisioningState: "Succeeded", orchestratorVersion: target, currentOrchestratorVersion: target });
    cluster = (await az(["aks", "upgrade", "-g", RG, "-n", "aks1", "--kubernetes-version", target, "--yes", "-o", "json"])).json;
    expect(cluster.agentPoolProfiles.map((p: any) => [p.name, p.currentOrchestratorVersion])).toEqual([["nodepool1", target], ["userpool", target]]);
  });

  it("aks stop, then aks start", async () => {
    await az(["aks", "stop", "-g", RG, "-n", "aks1", "-o", "json"]);
    let cluster = (await az(["aks", "show", "-g", RG, "-n", "aks1", "-o", "json"])).json;
    expect(cluster).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Stopped" } });
    await az(["aks", "start", "-g", RG, "-n", "aks1", "-o", "json"]);
    cluster = (await az(["aks", "show", "-g", RG, "-n", "aks1", "-o", "json"])).json;
    expect(cluster).toMatchObject({ provisioningState: "Succeeded", powerState: { code: "Running" }, tags: { env: "dev", team: "aks" } });
  });

  it("aks show of a missing cluster fails with ARM's ResourceNotFound", async () => {
    const missing = await az(["aks", "show", "-g", RG, "-n", "missing", "-o", "json"], { fails: true });
    expect(missing.stderr).toContain(
      `(ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/missing' under resource group '${RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
    const noPool = await az(["aks", "nodepool", "show", "-g", RG, "--cluster-name", "aks1", "-n", "nopool", "-o", "json"], { fails: true });
    expect(noPool.stderr).toContain("(NotFound) Agent pool 'nopool' was not found in managed cluster 'aks1'.");
  });

  it("aks nodepool delete, then aks delete --yes", async () => {
    await az(["aks", "nodepool", "delete", "-g", RG, "--cluster-name", "aks1", "-n", "userpool", "-o", "json"]);
    expect((await az(["aks", "nodepool", "list", "-g", RG, "--cluster-name", "aks1", "-o", "json"])).json.map((p: any) => p.name)).toEqual(["nodepool1"]);
    await az(["aks", "delete", "-g", RG, "-n", "aks1", "--yes", "-o", "json"]);
    expect((await az(["aks", "list", "-g", RG, "-o", "json"])).json).toEqual([]);
    const gone = await az(["aks", "show", "-g", RG, "-n", "aks1", "-o", "json"], { fails: true });
    expect(gone.stderr).toContain("(ResourceNotFound)");
  });

  it("the documentation's az aks create --subscription my-sub ... --output table runs as written", async () => {
    const create = seedCommand("az aks create \\\n  --subscription my-sub");
    expect(create).toEqual(["aks", "create", "--subscription", "my-sub", "--resource-group", "my-rg", "--name", "my-cluster", "--location", "eastus", "--node-count", "1", "--generate-ssh-keys", "--output", "table"]);
    const table = await az(create);
    const [header, , row] = table.stdout.trim().split("\n");
    const columns = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index! }));
    const cell = (name: string) => {
      const at = columns.findIndex((c) => c.name === name);
      expect(at, `column ${name} in:\n${table.stdout}`).toBeGreaterThanOrEqual(0);
      return row.slice(columns[at].start, columns[at + 1]?.start).trim();
    };
    expect(cell("Name")).toBe("my-cluster");
    expect(cell("ProvisioningState")).toBe("Succeeded");
    expect(cell("ResourceGroup")).toBe("my-rg");
    // my-rg was never created: the default mode created it with the cluster.
    const shown = (await az(["aks", "show", "--subscription", "my-sub", "-g", "my-rg", "-n", "my-cluster", "-o", "json"])).json;
    expect(shown.id.toLowerCase()).toBe("/subscriptions/my-sub/resourcegroups/my-rg/providers/microsoft.containerservice/managedclusters/my-cluster");
    expect(shown.agentPoolProfiles.map((p: any) => p.count)).toEqual([1]);
  });

  it("the documentation's az aks get-credentials --subscription my-sub ... --file writes the file", async () => {
    const words = seedCommand("az aks get-credentials \\\n  --subscription my-sub");
    expect(words).toEqual(["aks", "get-credentials", "--subscription", "my-sub", "--resource-group", "my-rg", "--name", "my-cluster", "--file", "~/.kube/my-cluster.yaml"]);
    // The shell expands ~ to $HOME, the test's own folder.
    const file = join(home, ".kube", "my-cluster.yaml");
    expect(existsSync(file)).toBe(false);
    await az(words.map((w) => (w === "~/.kube/my-cluster.yaml" ? file : w)));
    const kubeconfig = parseYaml(readFileSync(file, "utf8"));
    expect(kubeconfig["current-context"]).toBe("my-cluster");
    expect(kubeconfig.contexts).toEqual([{ name: "my-cluster", context: { cluster: "my-cluster", user: "clusterUser_my-rg_my-cluster" } }]);
  });

  it("every answer kept to the spec; the listed my-sub is named as a let-off", async () => {
    expect(emu.violations).toEqual([]);
    const answer = await fetch(`${emu.url}/subscriptions?api-version=2022-12-01`);
    expect(answer.headers.get("x-aks-emulator-leniency")).toContain("subscription-id: 'my-sub' is listed though it is not a GUID");
  });
});

/** The ```sh blocks of README's "Azure CLI" section, in order. */
function readmeAzBlocks(): string[] {
  const text = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\r\n/g, "\n");
  const start = text.search(/^### Azure CLI/m);
  if (start < 0) throw new Error("README.md has no '### Azure CLI' section");
  const body = text.indexOf("\n", start) + 1;
  const end = text.slice(body).search(/^#{1,3} /m); // the next heading (a '#' inside a fence starts no line here)
  const section = text.slice(body, end < 0 ? undefined : body + end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

describe("README's Azure CLI section, as written (the endpoint swapped for the test emulator's)", () => {
  let emu: TestEmulator;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const blocks = readmeAzBlocks();
  beforeAll(async () => {
    const python = pythonWith([AZ_CLI]);
    emu = await startTestEmulator({ strict: false });
    home = mkdtempSync(join(tmpdir(), "aks-emulator-az-readme-"));
    // The README's `az` is the one on PATH: the test's venv.
    env = { ...process.env, PATH: `${dirname(python)}:${process.env.PATH}`, HOME: home, AZURE_CORE_COLLECT_TELEMETRY: "false", REQUESTS_CA_BUNDLE: undefined, AZURE_CONFIG_DIR: undefined, KUBECONFIG: undefined };
  }, 900_000);
  afterAll(async () => {
    await emu?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("has the az-login block, then the commands it runs", () => {
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/^node dist\/src\/main\.js az-login --endpoint https:\/\/localhost:4577 /);
    expect(blocks[1]).toContain("az login --service-principal");
  });

  it("the commands az-login runs, by hand, sign az in (REQUESTS_CA_BUNDLE=$PWD/aks-emulator-ca.pem)", async () => {
    const cwd = mkdtempSync(join(home, "work-"));
    copyFileSync(join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem"), join(cwd, "aks-emulator-ca.pem")); // README: "Get the CA certificate"
    const script = `set -e\n${pointedAt(blocks[1], emu.url)}az account show -o json\n`;
    const ran = await new Promise<Run>((done) =>
      execFile("bash", ["-c", script], { cwd, env, encoding: "utf8", timeout: 240_000 }, (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr })),
    );
    expect(ran.code, `${script}\n--- stdout ---\n${ran.stdout}\n--- stderr ---\n${ran.stderr}`).toBe(0);
    expect(JSON.parse(ran.stdout.slice(ran.stdout.lastIndexOf("\n{") + 1))).toMatchObject({ id: TEST_SUBSCRIPTION, environmentName: "AksEmulator" });
  });

  it("az-login, group create, aks create and get-credentials --admin", async () => {
    const script = `set -e\n${pointedAt(blocks[0], emu.url)}`;
    const ran = await new Promise<Run>((done) =>
      execFile("bash", ["-c", script], { cwd: ROOT, env, encoding: "utf8", timeout: 240_000 }, (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr })),
    );
    expect(ran.code, `${script}\n--- stdout ---\n${ran.stdout}\n--- stderr ---\n${ran.stderr}`).toBe(0);
    // az-login ran again over the hand-made set-up: the cloud was updated, and the CA saved where the README's export names.
    expect(ran.stdout).toContain("az cloud update -n AksEmulator");
    expect(ran.stdout).toContain(`export REQUESTS_CA_BUNDLE=${join(home, ".azure", "aks-emulator-ca.pem")}`);
    expect(ran.stderr).toContain(`Merged "aks1-admin" as current context in ${join(home, ".kube", "config")}`);
    const kubeconfig = parseYaml(readFileSync(join(home, ".kube", "config"), "utf8"));
    expect(kubeconfig.contexts).toEqual([{ name: "aks1-admin", context: { cluster: "aks1", user: "clusterAdmin_rg1_aks1" } }]);
    const cluster = await fetch(`${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1?api-version=${AZ_AKS_API_VERSION}`);
    expect(((await cluster.json()) as any).properties.agentPoolProfiles).toMatchObject([{ name: "nodepool1", count: 2 }]);
    expect(emu.violations).toEqual([]);
  });
});

describe("strict mode: GET /subscriptions lists GUIDs only", () => {
  let emu: TestEmulator;
  beforeAll(async () => {
    emu = await startTestEmulator({ strict: true });
  });
  afterAll(() => emu?.close());

  it("lists the default subscription, not the documentation's my-sub", async () => {
    const answer = await fetch(`${emu.url}/subscriptions?api-version=2022-12-01`);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { value: { subscriptionId: string }[] };
    expect(body.value.map((s) => s.subscriptionId)).toEqual([TEST_SUBSCRIPTION]);
    expect(answer.headers.get("x-aks-emulator-leniency")).toBeNull();
  });

  it("FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: my-sub by default, none in strict mode, where a non-GUID stops the start", () => {
    expect(loadConfig({}, {}).subscriptions).toEqual(["my-sub"]);
    expect(loadConfig({}, { FLOCI_AZ_SERVICES_AKS_STRICT: "true" }).subscriptions).toEqual([]);
    expect(loadConfig({}, { FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: "team-a, 11111111-1111-1111-1111-111111111111" }).subscriptions).toEqual(["team-a", "11111111-1111-1111-1111-111111111111"]);
    expect(loadConfig({}, { FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: "" }).subscriptions).toEqual([]);
    expect(() => loadConfig({}, { FLOCI_AZ_SERVICES_AKS_STRICT: "true", FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: "my-sub" })).toThrow(ConfigError);
  });

  it("az-login refuses an http endpoint and unknown arguments", () => {
    expect(() => parseAzLoginArgs(["--endpoint", "http://localhost:4577"])).toThrow(/az needs https/);
    expect(() => parseAzLoginArgs(["--bogus"])).toThrow(AzLoginError);
    expect(parseAzLoginArgs(["--endpoint=https://localhost:4577/", "--az", "/opt/az"], {})).toMatchObject({ endpoint: "https://localhost:4577", az: "/opt/az", cloud: "AksEmulator", tenant: TEST_TENANT });
  });
});
