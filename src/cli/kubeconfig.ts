// `aks-emulator kubeconfig -g RG -n NAME [--admin]`: what `az aks get-credentials` does, without az. It
// reads the cluster's kubeconfig (ListClusterUserCredential, or ListClusterAdminCredential with
// --admin) and merges it into ~/.kube/config (or the first file of $KUBECONFIG, or --file) the way az
// merges (azure-cli's merge_kubernetes_configurations): entries of the same name that are equal stay,
// different ones are an error unless --overwrite-existing, an admin context gets "-admin", and the
// cluster's context becomes the current one.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, stringify } from "yaml";
import { apiVersions } from "../../generated/operations.js";
import { armCall, CliError, DEFAULT_ENDPOINT, parseEndpoint, parseFlags } from "./emulatorClient.js";

export const KUBECONFIG_USAGE = [
  "Usage: aks-emulator kubeconfig -g RESOURCE_GROUP -n NAME [--admin] [--subscription ID] [--endpoint URL]",
  "                               [--file PATH] [--context NAME] [--overwrite-existing]",
  "  Merges a cluster's kubeconfig into ~/.kube/config (or the first file of $KUBECONFIG, or --file; `--file -`",
  "  prints it), as `az aks get-credentials` does, and makes its context the current one. --admin takes the",
  "  admin credential. Without --subscription: $AZURE_SUBSCRIPTION_ID, else every subscription the emulator",
  "  lists is tried. Default --endpoint https://localhost:4577.",
].join("\n");

export interface KubeconfigArgs {
  endpoint: URL;
  resourceGroup: string;
  name: string;
  admin: boolean;
  subscription: string | undefined;
  file: string;
  context: string | undefined;
  overwrite: boolean;
}

export function parseKubeconfigArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KubeconfigArgs {
  const flags = parseFlags(
    argv,
    { "--resource-group": "value", "--name": "value", "--admin": "switch", "--subscription": "value", "--endpoint": "value", "--file": "value", "--context": "value", "--overwrite-existing": "switch" },
    { "-g": "--resource-group", "-n": "--name", "-a": "--admin", "-f": "--file", "-s": "--subscription" },
  );
  const value = (name: string) => flags.get(name) as string | undefined;
  const resourceGroup = value("--resource-group");
  const name = value("--name");
  if (!resourceGroup || !name) throw new CliError("-g RESOURCE_GROUP and -n NAME are required");
  return {
    endpoint: parseEndpoint("--endpoint", value("--endpoint") ?? DEFAULT_ENDPOINT),
    resourceGroup,
    name,
    admin: flags.has("--admin"),
    subscription: value("--subscription") ?? (env.AZURE_SUBSCRIPTION_ID || undefined),
    file: value("--file") ?? defaultKubeconfigFile(env),
    context: value("--context"),
    overwrite: flags.has("--overwrite-existing"),
  };
}

/** kubectl's own choice: the first file of $KUBECONFIG, else ~/.kube/config. */
function defaultKubeconfigFile(env: NodeJS.ProcessEnv): string {
  const first = env.KUBECONFIG?.split(delimiter).find((path) => path !== "");
  return first ? resolve(first) : resolve(homedir(), ".kube", "config");
}

/** Fetches the kubeconfig and merges (or prints) it; `out` gets the summary line. */
export async function kubeconfig(args: KubeconfigArgs, out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<void> {
  const text = await fetchKubeconfig(args);
  if (args.file === "-") {
    out(text.trimEnd());
    return;
  }
  const addition = parse(text) as Kubeconfig;
  if (args.context) renameContext(addition, args.context);
  markAdminContext(addition);
  const existing = readKubeconfig(args.file);
  const merged = merge(existing, addition, args.overwrite, args.file);
  mkdirSync(dirname(args.file), { recursive: true });
  // kubectl warns about a kubeconfig others can read; az writes it 0600 too.
  writeFileSync(args.file, stringify(merged), { mode: 0o600 });
  out(`Merged "${merged["current-context"]}" as current context in ${args.file}`);
}

async function fetchKubeconfig(args: KubeconfigArgs): Promise<string> {
  const subscriptions = args.subscription ? [args.subscription] : await listedSubscriptions(args.endpoint);
  const action = args.admin ? "listClusterAdminCredential" : "listClusterUserCredential";
  const tried: string[] = [];
  for (const subscription of subscriptions) {
    const path = `/subscriptions/${encodeURIComponent(subscription)}/resourceGroups/${encodeURIComponent(args.resourceGroup)}/providers/Microsoft.ContainerService/managedClusters/${encodeURIComponent(args.name)}/${action}?api-version=${apiVersions[0]}`;
    const answer = await armCall(args.endpoint, "POST", path);
    if (answer.status === 200) {
      const value = answer.body?.kubeconfigs?.[0]?.value;
      if (typeof value !== "string") throw new CliError(`${action} answered without a kubeconfig`);
      return Buffer.from(value, "base64").toString("utf8");
    }
    const error = answer.body?.error;
    // Not found in this subscription (or no such group): try the next one.
    if (answer.status === 404 && !args.subscription) {
      tried.push(subscription);
      continue;
    }
    throw new CliError(`${action} answered ${answer.status}${error ? `: ${error.code}: ${error.message}` : ""}`);
  }
  throw new CliError(`no cluster '${args.name}' in resource group '${args.resourceGroup}' of the subscriptions the emulator lists (${tried.join(", ")}); pass --subscription ID`);
}

async function listedSubscriptions(endpoint: URL): Promise<string[]> {
  const answer = await armCall(endpoint, "GET", "/subscriptions?api-version=2022-12-01");
  const ids = Array.isArray(answer.body?.value) ? answer.body.value.map((s: { subscriptionId?: string }) => s.subscriptionId).filter((id: unknown) => typeof id === "string") : [];
  if (answer.status !== 200 || ids.length === 0) throw new CliError(`GET /subscriptions answered ${answer.status} with no subscription: pass --subscription ID`);
  return ids;
}

type Named = { name: string; [key: string]: unknown };
type Kubeconfig = { clusters?: Named[]; users?: Named[]; contexts?: Named[]; "current-context"?: string; [key: string]: unknown };

function readKubeconfig(file: string): Kubeconfig {
  if (!existsSync(file)) return { apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [], preferences: {}, "current-context": "" };
  const text = readFileSync(file, "utf8");
  let parsed: unknown;
  try {
    parsed = text.trim() ? parse(text) : {};
  } catch (error) {
    throw new CliError(`${file} is not a kubeconfig (YAML): ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new CliError(`${file} is not a kubeconfig: its top level is not a mapping`);
  return { apiVersion: "v1", kind: "Config", ...(parsed as Kubeconfig) };
}

/** az's --context: names the context and its cluster entry. */
function renameContext(config: Kubeconfig, name: string): void {
  const context = config.contexts?.[0] as (Named & { context?: { cluster?: string } }) | undefined;
  const cluster = config.clusters?.[0];
  if (!context || !cluster) throw new CliError("the cluster's kubeconfig has no context to rename");
  context.name = name;
  if (context.context) context.context.cluster = name;
  cluster.name = name;
  config["current-context"] = name;
}

/** As az does, an admin credential's context gets "-admin", so that it does not replace the user's. */
function markAdminContext(config: Kubeconfig): void {
  const admin = config.contexts?.find((entry) => String((entry as { context?: { user?: unknown } }).context?.user ?? "").startsWith("clusterAdmin"));
  if (admin) config["current-context"] = admin.name = `${admin.name}-admin`;
}

function merge(existing: Kubeconfig, addition: Kubeconfig, overwrite: boolean, existingFile: string): Kubeconfig {
  const merged: Kubeconfig = { ...existing };
  for (const key of ["clusters", "users", "contexts"] as const) {
    const list = [...(existing[key] ?? [])];
    for (const entry of addition[key] ?? []) {
      const at = list.findIndex((kept) => kept?.name === entry.name);
      if (at < 0) list.push(entry);
      else if (overwrite || isDeepStrictEqual(list[at], entry)) list[at] = entry;
      else throw new CliError(`A different object named ${entry.name} already exists in ${key} in your kubeconfig file ${existingFile}: pass --overwrite-existing to replace it`);
    }
    merged[key] = list;
  }
  merged["current-context"] = addition["current-context"] ?? addition.contexts?.[0]?.name;
  return merged;
}
