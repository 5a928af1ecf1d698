// The client set-up commands as users run them, against a running emulator: `aks-emulator kubeconfig`
// (read back by the real kubectl) and `eval "$(aks-emulator env)"` (then the JS SDK, Node.js and curl
// trust the emulator through what it exported, and nothing else). az's side of both, `az aks
// get-credentials` compared with `aks-emulator kubeconfig`, is in test/clients/azCli.test.ts.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "../durability/childEmulator.js";
import { startTestEmulator, type TestEmulator, TEST_TENANT, useEmulator } from "../support/emulator.js";

const exec = promisify(execFile);
let emu: TestEmulator;
useEmulator((e) => (emu = e));
let home: string;

/** A command in a clean environment: HOME of its own, no CA trusted but what the command itself sets up. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, ...extra };
  return env;
}

async function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: cleanEnv(extra), timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const kubectl = async (args: string[], kubeconfig: string) => (await exec("kubectl", ["--kubeconfig", kubeconfig, ...args], { env: cleanEnv(), timeout: 30_000 })).stdout;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "aks-cli-home-"));
  for (const name of ["one", "two"]) {
    const answer = await fetch(`${emu.httpUrl}/subscriptions/my-sub/resourceGroups/cli/providers/Microsoft.ContainerService/managedClusters/${name}?api-version=2026-08-01`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ location: "eastus", properties: { dnsPrefix: name, agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } }),
    });
    expect(answer.status, await answer.text()).toBe(201);
  }
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("aks-emulator kubeconfig", () => {
  it("merges the user's, then the admin's kubeconfig into ~/.kube/config as az does; kubectl lists both contexts and uses the last", async () => {
    const first = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "one"]);
    const file = join(home, ".kube", "config");
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: `Merged "one" as current context in ${file}\n` });
    const admin = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "one", "--admin"]);
    expect(admin.stdout).toBe(`Merged "one-admin" as current context in ${file}\n`);
    const second = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "two", "--subscription", "my-sub"]);
    expect(second.code, second.stderr).toBe(0);
    expect((await kubectl(["config", "get-contexts", "-o", "name"], file)).trim().split("\n").sort()).toEqual(["one", "one-admin", "two"]);
    expect((await kubectl(["config", "current-context"], file)).trim()).toBe("two");
    const view = JSON.parse(await kubectl(["config", "view", "-o", "json"], file));
    expect(view.users.map((u: { name: string }) => u.name).sort()).toEqual(["clusterAdmin_cli_one", "clusterUser_cli_one", "clusterUser_cli_two"]);
    expect(view.contexts.find((c: { name: string }) => c.name === "one-admin").context).toEqual({ cluster: "one", user: "clusterAdmin_cli_one" });
    // A kubeconfig it creates only its owner can read (a file that exists keeps its mode, as with az).
    expect((await exec("stat", ["-c", "%a", file])).stdout.trim()).toBe("600");
  });

  it("keeps what else the file holds, and refuses to replace a different entry of the same name unless --overwrite-existing", async () => {
    const file = join(home, "other.kubeconfig");
    writeFileSync(file, "apiVersion: v1\nkind: Config\nclusters:\n- name: two\n  cluster:\n    server: https://elsewhere:443\nusers: []\ncontexts:\n- name: mine\n  context:\n    cluster: two\n    user: me\ncurrent-context: mine\n");
    const refused = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "two", "-f", file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("A different object named two already exists in clusters in your kubeconfig file");
    expect(readFileSync(file, "utf8")).toContain("https://elsewhere:443"); // nothing written
    const replaced = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "two", "-f", file, "--overwrite-existing"]);
    expect(replaced.code, replaced.stderr).toBe(0);
    const merged = parseYaml(readFileSync(file, "utf8"));
    expect(merged.contexts.map((c: { name: string }) => c.name)).toEqual(["mine", "two"]);
    expect(merged.clusters).toHaveLength(1);
    expect(merged.clusters[0].cluster.server).not.toBe("https://elsewhere:443");
  });

  it("finds the cluster's subscription among those the emulator lists; a missing cluster is a clear error (exit 2)", async () => {
    const printed = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "one", "-f", "-"]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(parseYaml(printed.stdout)["current-context"]).toBe("one");
    const missing = await cli(["kubeconfig", "--endpoint", emu.url, "-g", "cli", "-n", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no cluster 'nope' in resource group 'cli'");
    const bad = await cli(["kubeconfig", "-n", "one"]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain("-g RESOURCE_GROUP and -n NAME are required");
  });
});

describe("aks-emulator env", () => {
  it("saves the emulator's CA and prints exports after which the JS SDK (Node.js) and curl trust it", async () => {
    const caFile = join(home, "env", "ca.pem");
    const printed = await cli(["env", "--endpoint", emu.url, "--ca-file", caFile]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(readFileSync(caFile, "utf8").trim()).toBe(readFileSync(join(process.env.AKS_EMULATOR_TEST_DATA_DIR!, "ca.pem"), "utf8").trim());
    for (const name of ["REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CURL_CA_BUNDLE"]) expect(printed.stdout).toContain(`export ${name}='${caFile}'`);
    expect(printed.stdout).toContain(`export AKS_EMULATOR_ENDPOINT='${emu.url}'`);
    expect(printed.stdout).toContain(`keytool -importcert -noprompt -alias aks-emulator -file '${caFile}'`);

    // The JS SDK with the credential the output describes, in a shell that ran the exports and nothing else.
    const script = join(home, "list-clusters.mjs");
    writeFileSync(
      script,
      [
        `import { ClientSecretCredential } from "${join(ROOT, "node_modules", "@azure", "identity", "dist", "esm", "index.js")}";`,
        `import { ContainerServiceClient } from "${join(ROOT, "node_modules", "@azure", "arm-containerservice", "dist", "esm", "index.js")}";`,
        `const credential = new ClientSecretCredential("${TEST_TENANT}", "my-app", "any-secret", { authorityHost: process.env.AKS_EMULATOR_ENDPOINT, disableInstanceDiscovery: true });`,
        `const client = new ContainerServiceClient(credential, "my-sub", { endpoint: process.env.AKS_EMULATOR_ENDPOINT });`,
        "const names = [];",
        "for await (const cluster of client.managedClusters.listByResourceGroup(\"cli\")) names.push(cluster.name);",
        "console.log(JSON.stringify(names));",
      ].join("\n"),
    );
    const shell = (commands: string) => exec("bash", ["-euo", "pipefail", "-c", commands], { env: cleanEnv(), timeout: 60_000 });
    const envCommand = `eval "$('${process.execPath}' '${CLI}' env --endpoint '${emu.url}' --ca-file '${caFile}')"`;
    const listed = await shell(`${envCommand}; '${process.execPath}' '${script}'`);
    expect(JSON.parse(listed.stdout).sort()).toEqual(["one", "two"]);
    const curled = await shell(`${envCommand}; curl -sS -o /dev/null -w '%{http_code}' '${emu.url}/_emulator/health'`);
    expect(curled.stdout).toBe("200");
    // With the endpoint but not the exports, the same script does not trust the emulator (MSAL reports
    // the failed TLS handshake as endpoints_resolution_error).
    await expect(shell(`AKS_EMULATOR_ENDPOINT='${emu.url}' '${process.execPath}' '${script}'`)).rejects.toThrow(/endpoints_resolution_error|certificate/);
  });
});

describe("the client commands against an emulator that checks tokens", () => {
  let checking: TestEmulator;
  beforeAll(async () => {
    checking = await startTestEmulator({ checkTokens: true });
  });
  afterAll(async () => {
    await checking?.close();
  });

  it("aks-emulator kubeconfig signs in at the emulator's own token endpoint, where an unsigned call gets 401", async () => {
    const path = "/subscriptions/my-sub/resourceGroups/tokens/providers/Microsoft.ContainerService/managedClusters/guarded";
    const unsigned = await fetch(`${checking.httpUrl}${path}?api-version=2026-08-01`);
    expect(unsigned.status).toBe(401);
    const token = await fetch(`${checking.httpUrl}/${TEST_TENANT}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: "test", client_secret: "any", scope: "https://management.azure.com/.default" }),
    });
    const { access_token } = (await token.json()) as { access_token: string };
    const created = await fetch(`${checking.httpUrl}${path}?api-version=2026-08-01`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${access_token}` },
      body: JSON.stringify({ location: "eastus", properties: { dnsPrefix: "guarded", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } }),
    });
    expect(created.status, await created.text()).toBe(201);
    const printed = await cli(["kubeconfig", "--endpoint", checking.url, "-g", "tokens", "-n", "guarded", "--subscription", "my-sub", "-f", "-"]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(parseYaml(printed.stdout)["current-context"]).toBe("guarded");
  });
});
