// `aks-emulator az-login`: points the Azure CLI at a running emulator in one command. It runs what the
// README's "Azure CLI" section lists, with the `az` on PATH (or `--az PATH`):
//   az cloud register -n AksEmulator --endpoint-resource-manager URL/ --endpoint-active-directory URL ...
//     (`az cloud update` with the same endpoints when the cloud is already registered: re-running works)
//   az cloud set -n AksEmulator
//   az config set core.instance_discovery=false
//   az login --service-principal -u my-app -p any-secret --tenant TENANT
// Every az command runs with REQUESTS_CA_BUNDLE naming a file that holds the emulator's CA: `--ca-bundle`,
// else $REQUESTS_CA_BUNDLE when it holds the CA the emulator serves, else the CA fetched from
// GET /_emulator/ca.pem (plain HTTP on the same port), saved next to az's configuration. Later az
// commands need the same variable, so the last line printed is the `export` to run.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../config.js";
import { CliError, fetchCa, parseFlags } from "./emulatorClient.js";

export interface AzLoginOptions {
  endpoint: string;
  az: string;
  cloud: string;
  tenant: string;
  clientId: string;
  clientSecret: string;
  caBundle: string | undefined;
}

export const AZ_LOGIN_USAGE = [
  "Usage: aks-emulator az-login [--endpoint URL] [--az PATH] [--cloud NAME] [--tenant ID]",
  "                             [--client-id ID] [--client-secret SECRET] [--ca-bundle FILE]",
  "  Registers the emulator as an az cloud (or updates it), selects it, turns MSAL instance discovery off",
  "  and signs in with a service principal. Defaults: --endpoint https://localhost:4577, --az az,",
  "  --cloud AksEmulator, --tenant $FLOCI_AZ_SERVICES_AKS_TENANT_ID (else 00000000-0000-0000-0000-000000000001),",
  "  --client-id my-app, --client-secret any-secret, --ca-bundle $REQUESTS_CA_BUNDLE when it holds the",
  "  emulator's CA, else the CA fetched from the emulator and saved in az's configuration folder.",
].join("\n");

export class AzLoginError extends CliError {}

export function parseAzLoginArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): AzLoginOptions {
  const value = { "--endpoint": "value", "--az": "value", "--cloud": "value", "--tenant": "value", "--client-id": "value", "--client-secret": "value", "--ca-bundle": "value" } as const;
  let flags: Map<string, string | true>;
  try {
    flags = parseFlags(argv, value);
  } catch (error) {
    throw new AzLoginError((error as Error).message);
  }
  const given = (name: keyof typeof value) => flags.get(name) as string | undefined;
  const options: AzLoginOptions = {
    endpoint: given("--endpoint") ?? "https://localhost:4577",
    az: given("--az") ?? "az",
    cloud: given("--cloud") ?? "AksEmulator",
    tenant: given("--tenant") ?? loadConfig({}, env).tenantId,
    clientId: given("--client-id") ?? "my-app",
    clientSecret: given("--client-secret") ?? "any-secret",
    caBundle: given("--ca-bundle"),
  };
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw new AzLoginError(`--endpoint: '${options.endpoint}' is not a URL`);
  }
  // az (through MSAL and the SDK's bearer-token policy) sends tokens over HTTPS only.
  if (url.protocol !== "https:") throw new AzLoginError(`--endpoint: az needs https, got '${options.endpoint}'`);
  options.endpoint = url.origin;
  return options;
}

/** Runs one az command; resolves with its stdout, rejects with what it printed. */
function runAz(options: AzLoginOptions, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(options.az, args, { env, encoding: "utf8", timeout: 180_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === "number" ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        done({ code: 127, stdout: "", stderr: `${options.az}: not found (install the Azure CLI, or give its path with --az)` });
      } else done({ code, stdout, stderr });
    });
  });
}

const shown = (args: string[], secret: string) => ["az", ...args.map((a) => (a === secret ? "***" : /\s/.test(a) ? `'${a}'` : a))].join(" ");

/** Runs the set-up; writes what it does to `out`. Resolves with the process exit code. */
export async function azLogin(options: AzLoginOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let caBundle = options.caBundle ? resolve(options.caBundle) : undefined;
  if (caBundle && !existsSync(caBundle)) throw new AzLoginError(`--ca-bundle: ${caBundle} does not exist`);
  if (!caBundle) {
    const ca = (await fetchCa(new URL(options.endpoint))).trim();
    const fromEnv = env.REQUESTS_CA_BUNDLE;
    if (fromEnv && existsSync(fromEnv) && readFileSync(fromEnv, "utf8").includes(ca)) caBundle = fromEnv;
    else {
      const configDir = env.AZURE_CONFIG_DIR || join(homedir(), ".azure");
      mkdirSync(configDir, { recursive: true });
      caBundle = join(configDir, "aks-emulator-ca.pem");
      writeFileSync(caBundle, `${ca}\n`);
      out(`# the emulator's CA (from ${options.endpoint.replace(/^https:/, "http:")}/_emulator/ca.pem) saved to ${caBundle}`);
    }
  }
  const azEnv = { ...env, REQUESTS_CA_BUNDLE: caBundle };
  const endpoints = [
    "--endpoint-resource-manager", `${options.endpoint}/`,
    "--endpoint-active-directory", options.endpoint,
    "--endpoint-active-directory-resource-id", "https://management.core.windows.net/",
    "--endpoint-active-directory-graph-resource-id", "https://graph.windows.net/",
  ];
  const registered = (await runAz(options, ["cloud", "show", "-n", options.cloud, "-o", "none"], azEnv)).code === 0;
  const steps: string[][] = [
    ["cloud", registered ? "update" : "register", "-n", options.cloud, ...endpoints, "-o", "none"],
    ["cloud", "set", "-n", options.cloud, "-o", "none"],
    ["config", "set", "core.instance_discovery=false", "-o", "none"],
    ["login", "--service-principal", "-u", options.clientId, "-p", options.clientSecret, "--tenant", options.tenant, "-o", "json"],
  ];
  let loginOutput = "";
  for (const args of steps) {
    out(shown(args, options.clientSecret));
    const run = await runAz(options, args, azEnv);
    if (run.code !== 0) {
      out(`az-login: that command failed (exit ${run.code}):\n${run.stderr.trim() || run.stdout.trim()}`);
      return 1;
    }
    if (args[0] === "login") loginOutput = run.stdout;
  }
  let subscriptions: { id: string; name: string; isDefault?: boolean }[] = [];
  try {
    subscriptions = JSON.parse(loginOutput);
  } catch {
    // az printed something else: the list is only for the summary.
  }
  for (const s of subscriptions) out(`# subscription ${s.id} (${s.name})${s.isDefault ? ": the default" : ""}`);
  out(`# az is signed in to ${options.endpoint} as ${options.clientId} (tenant ${options.tenant}); every later az command needs:`);
  out(`export REQUESTS_CA_BUNDLE=${caBundle}`);
  return 0;
}
