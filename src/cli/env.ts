// `aks-emulator env`: the exports that make each client trust a running emulator, for
// `eval "$(aks-emulator env)"`. It saves the emulator's CA to a file and prints one export per client's
// own variable: the Python SDK and az read REQUESTS_CA_BUNDLE, Node.js NODE_EXTRA_CA_CERTS, Go (the Go
// SDK, Terraform's azurerm) and OpenSSL SSL_CERT_FILE, curl CURL_CA_BUNDLE. Java reads a trust store,
// which keytool makes: printed as a recipe. No AZURE_CLIENT_ID/AZURE_AUTHORITY_HOST exports:
// azure-identity's environment credential would then run MSAL's instance discovery against
// login.microsoftonline.com (no variable turns it off) and fail, and DefaultAzureCredential stops at
// that failure instead of going on to az, which az-login signs in to the emulator. The credential is
// printed as a recipe.
import { mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadConfig } from "../config.js";
import { CliError, DEFAULT_ENDPOINT, fetchCa, parseEndpoint, parseFlags } from "./emulatorClient.js";

export const ENV_USAGE = [
  "Usage: aks-emulator env [--endpoint URL] [--ca-file PATH]",
  "  Saves a running emulator's CA to a file and prints the exports each client needs to trust it (SDKs for",
  "  Python, JS and Go, az, Terraform, curl; a keytool recipe for Java): eval \"$(aks-emulator env)\".",
  "  Defaults: --endpoint https://localhost:4577, --ca-file ~/.aks-emulator/ca-HOST-PORT.pem.",
].join("\n");

export interface EnvArgs {
  endpoint: URL;
  caFile: string;
}

export function parseEnvArgs(argv: readonly string[]): EnvArgs {
  const flags = parseFlags(argv, { "--endpoint": "value", "--ca-file": "value" });
  const endpoint = parseEndpoint("--endpoint", (flags.get("--endpoint") as string | undefined) ?? DEFAULT_ENDPOINT);
  const port = endpoint.port || (endpoint.protocol === "https:" ? "443" : "80");
  const caFile = (flags.get("--ca-file") as string | undefined) ?? join(homedir(), ".aks-emulator", `ca-${endpoint.hostname}-${port}.pem`);
  return { endpoint, caFile: resolve(caFile) };
}

/** Single quotes for the shell: what is inside is taken as written. */
const quoted = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

export async function printEnv(args: EnvArgs, out: (text: string) => void = (text) => process.stdout.write(text)): Promise<void> {
  const ca = await fetchCa(args.endpoint);
  mkdirSync(dirname(args.caFile), { recursive: true });
  writeFileSync(args.caFile, ca);
  const https = new URL(args.endpoint.href);
  https.protocol = "https:";
  const endpoint = https.origin;
  const caFile = quoted(args.caFile);
  const trustStore = join(dirname(args.caFile), `truststore-${https.hostname}-${https.port || "443"}.p12`);
  const lines = [
    `# aks-emulator at ${endpoint}; its CA is saved in ${args.caFile}. Run: eval "$(aks-emulator env)"`,
    `export AKS_EMULATOR_ENDPOINT=${quoted(endpoint)}  # the SDKs' base URL (base_url, endpoint, Endpoint) and az's cloud`,
    `export REQUESTS_CA_BUNDLE=${caFile}  # Python SDK (azure-core over requests) and az`,
    `export NODE_EXTRA_CA_CERTS=${caFile}  # JS SDK (Node.js)`,
    `export SSL_CERT_FILE=${caFile}  # Go SDK and Terraform's azurerm (Go's crypto/x509), OpenSSL`,
    `export CURL_CA_BUNDLE=${caFile}  # curl (it reads no SSL_CERT_FILE)`,
    `# Credentials: the emulator is its own Entra ID (tenant ${loadConfig({}, process.env).tenantId}, any client id and secret): azure-identity's`,
    "#   ClientSecretCredential with authority host $AKS_EMULATOR_ENDPOINT and instance discovery off (disable_instance_discovery=True,",
    "#   disableInstanceDiscovery: true), or AzureCliCredential / DefaultAzureCredential after `aks-emulator az-login`.",
    "# Java SDK: a trust store holding the CA (keytool comes with the JDK), then the JVM told to use it:",
    `#   keytool -importcert -noprompt -alias aks-emulator -file ${caFile} -keystore ${quoted(trustStore)} -storetype PKCS12 -storepass changeit`,
    `#   export JAVA_TOOL_OPTIONS="-Djavax.net.ssl.trustStore=${trustStore} -Djavax.net.ssl.trustStorePassword=changeit"`,
  ];
  out(`${lines.join("\n")}\n`);
}
