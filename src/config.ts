// One typed configuration object, from command-line flags over FLOCI_AZ_SERVICES_AKS_* variables
// over defaults. Unknown or malformed values stop the start with a message naming the setting.
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export type ResponseValidation = "off" | "warn" | "strict";

/** One of ARM's token buckets: how many requests it holds, and how many come back each second. */
export interface RateBucket {
  size: number;
  perSecond: number;
}

/** ARM's request throttling (http/rateLimits.ts): the buckets of one principal in one subscription; `enforce` refuses when one is empty. */
export interface RateLimitConfig {
  enforce: boolean;
  reads: RateBucket;
  writes: RateBucket;
  deletes: RateBucket;
}

export interface Config {
  port: number;
  /** Address to bind; "::" also accepts IPv4 where the host has IPv6, else 0.0.0.0 is used. */
  bindHost: string;
  /** Names and addresses the server certificate covers, besides localhost, 127.0.0.1 and ::1. */
  hostNames: string[];
  /** Durable state (a SQLite database) lives here; undefined: state is kept in memory only. */
  dataDir: string | undefined;
  /** Holds the local CA, the server certificate and the token signing key: the data folder, else ~/.aks-emulator. */
  keyDir: string;
  /** FLOCI_AZ_SERVICES_AKS_ENABLED: when false Microsoft.ContainerService answers as not registered. */
  aksEnabled: boolean;
  /** FLOCI_AZ_SERVICES_AKS_MOCKED; undefined: decided at start (real mode when a Docker engine answers). */
  mocked: boolean | undefined;
  defaultImage: string;
  apiServerBasePort: number;
  apiServerMaxPort: number;
  /**
   * Real mode: the host users' kubeconfigs name for the published API server ports. Default: the
   * host of DOCKER_HOST when that is a remote tcp:// engine, else 127.0.0.1.
   */
  apiServerHost: string;
  /**
   * Real mode: how the emulator itself reaches the API servers. "network": it joins each cluster's
   * network and dials floci-az-aks-{id}:6443 (for an emulator in a container); "published": the
   * published port on apiServerHost; "auto": network when it runs in a container, else published.
   */
  apiServerAccess: "auto" | "network" | "published";
  keepRunningOnShutdown: boolean;
  /** Real mode: run the k3s containers privileged (k3s needs it; the test stand-in runs without). */
  privileged: boolean;
  /** Real mode: how long an operation waits for the API server and every node to be Ready before it fails. */
  readyTimeoutSeconds: number;
  /** Real mode: how often the containers of idle clusters are checked (0: never). */
  healthCheckIntervalSeconds: number;
  /** Mocked mode: how long a provisioning step takes (0: clusters reach Succeeded at once). */
  mockProvisioningDelayMs: number;
  subscriptionId: string;
  /**
   * FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: listed by GET /subscriptions after subscriptionId, so that az
   * resolves `--subscription NAME` to them. Default mode: the product documentation's placeholder
   * `my-sub`; strict mode: none, and only GUIDs may be named.
   */
  subscriptions: string[];
  tenantId: string;
  defaultLocation: string;
  maxBodyBytes: number;
  /** Largest request line plus headers (node's maxHeaderSize); larger requests get 431. */
  maxHeaderBytes: number;
  /** Time a client has to send a whole request, headers and body (0: no limit); slower ones get 408. */
  requestTimeoutMs: number;
  /** ARM requests need a bearer token the emulator issued (401 otherwise). */
  checkTokens: boolean;
  /**
   * FLOCI_AZ_SERVICES_AKS_STRICT / --strict: Azure's exact refusals. Off (the default), the product
   * documentation's examples run as written and each let-off is named (src/arm/leniency.ts).
   */
  strict: boolean;
  /** A JSON file replacing the built-in Kubernetes version catalogue (undefined: the built-in one). */
  kubernetesVersionsFile: string | undefined;
  /** A JSON file of fault-injection rules installed at start (and again at each reset); undefined: none. */
  faultsFile: string | undefined;
  /** Response checks against the spec: off, warn (log), strict (a violating response becomes a 500). */
  responseValidation: ResponseValidation;
  logRequests: boolean;
  /** FLOCI_AZ_SERVICES_AKS_JOURNAL_BODIES: the request journal keeps request and response bodies (each capped at 16 KiB). */
  journalBodies: boolean;
  /** FLOCI_AZ_SERVICES_AKS_RATE_LIMIT*: the x-ms-ratelimit-remaining-* counts, and whether an empty bucket refuses (429). */
  rateLimit: RateLimitConfig;
}

const ENV = "FLOCI_AZ_SERVICES_AKS_";

export const configVariables: { name: string; flag?: string; default: string; description: string }[] = [
  { name: `${ENV}ENABLED`, default: "true", description: "Serve Microsoft.ContainerService." },
  { name: `${ENV}MOCKED`, default: "auto", description: "true: mocked clusters; false: k3s containers through Docker; unset: real mode when a Docker engine answers, else mocked." },
  { name: `${ENV}DEFAULT_IMAGE`, default: "rancher/k3s", description: "Image for real-mode clusters; a tag here overrides the one derived from kubernetesVersion." },
  { name: `${ENV}API_SERVER_BASE_PORT`, default: "6443", description: "First host port for real-mode API servers." },
  { name: `${ENV}API_SERVER_MAX_PORT`, default: "6543", description: "Last host port for real-mode API servers." },
  { name: `${ENV}API_SERVER_HOST`, default: "", description: "Host that users' real-mode kubeconfigs name for the published API server ports (also in the API server's certificate); unset: the host of DOCKER_HOST when that is tcp://, else 127.0.0.1." },
  { name: `${ENV}API_SERVER_ACCESS`, default: "auto", description: "How the emulator reaches real-mode API servers: network (it joins each cluster's Docker network and dials floci-az-aks-{id}:6443), published (the published port on the API server host), auto (network when the emulator runs in a container, else published)." },
  { name: `${ENV}KEEP_RUNNING_ON_SHUTDOWN`, default: "false", description: "Leave real-mode containers running when the emulator stops." },
  { name: `${ENV}PRIVILEGED`, default: "true", description: "Run real-mode k3s containers privileged (k3s needs it)." },
  { name: `${ENV}READY_TIMEOUT_SECONDS`, default: "180", description: "Real mode: how long an operation waits for the API server and every node to be Ready before it fails." },
  { name: `${ENV}HEALTH_CHECK_INTERVAL_SECONDS`, default: "10", description: "Real mode: how often idle clusters' containers are checked; a missing or stopped one turns the cluster Failed (0: never)." },
  { name: `${ENV}PORT`, flag: "--port", default: "4577", description: "The one port serving HTTP and HTTPS." },
  { name: `${ENV}HOST`, flag: "--host", default: "::", description: "Address to bind." },
  { name: `${ENV}HOSTNAMES`, flag: "--hostname", default: "", description: "Extra names for the server certificate (comma-separated; the flag repeats)." },
  { name: `${ENV}DATA_DIR`, flag: "--data-dir", default: "", description: "Folder for durable state (SQLite); unset: state in memory only." },
  { name: `${ENV}KEY_DIR`, default: "", description: "Folder for the local CA, server certificate and token signing key (default: the data folder, else ~/.aks-emulator)." },
  { name: `${ENV}SUBSCRIPTION_ID`, default: "00000000-0000-0000-0000-000000000000", description: "The subscription listed by GET /subscriptions (any subscription id is accepted)." },
  { name: `${ENV}SUBSCRIPTIONS`, default: "my-sub", description: "More subscriptions GET /subscriptions lists after the one above (comma-separated), so that az login knows them and `az ... --subscription ID` resolves. The default, the product documentation's placeholder, is named in the x-aks-emulator-leniency header; strict mode lists none by default and GUIDs only." },
  { name: `${ENV}TENANT_ID`, default: "00000000-0000-0000-0000-000000000001", description: "The tenant of issued tokens and of GET /tenants." },
  { name: `${ENV}LOCATION`, default: "eastus", description: "Location used where a request names none." },
  { name: `${ENV}MOCK_PROVISIONING_DELAY_MS`, default: "0", description: "Mocked mode: time a create, update or delete stays in progress." },
  { name: `${ENV}MAX_BODY_BYTES`, default: "4194304", description: "Largest request body accepted (ARM's limit is 4 MiB)." },
  { name: `${ENV}MAX_HEADER_BYTES`, default: "16384", description: "Largest request line plus headers accepted; larger requests get 431." },
  { name: `${ENV}REQUEST_TIMEOUT_MS`, default: "120000", description: "Time a client has to send a whole request (0: no limit); slower ones get 408." },
  { name: `${ENV}STRICT`, flag: "--strict", default: "false", description: "Azure's exact refusals: a subscription id must be a GUID, a resource group must exist, the api-version must be published, the Kubernetes version must be in the catalogue. Off: the product documentation's examples run as written, and each let-off is named in the x-aks-emulator-leniency header and the log." },
  { name: `${ENV}KUBERNETES_VERSIONS_FILE`, default: "", description: "A JSON file replacing the built-in Kubernetes version catalogue (format in the README)." },
  { name: `${ENV}FAULTS_FILE`, default: "", description: "A JSON array of fault-injection rules installed at start and at each reset (format in the README's Fault injection section)." },
  { name: `${ENV}CHECK_TOKENS`, default: "false", description: "Require on every ARM request a bearer token the emulator issued, unexpired, for its tenant (401 otherwise)." },
  { name: `${ENV}RESPONSE_VALIDATION`, default: "off", description: "Check responses against the spec at run time: off, warn or strict (the tests run strict)." },
  { name: `${ENV}LOG_REQUESTS`, default: "true", description: "Log one line per request." },
  { name: `${ENV}JOURNAL_BODIES`, default: "false", description: "The request journal (GET /_emulator/requests) keeps request and response bodies, each capped at 16 KiB; returned with ?body=true." },
  { name: `${ENV}RATE_LIMIT`, default: "false", description: "Refuse ARM requests as ARM's throttling does (429 SubscriptionRequestsThrottled with Retry-After) when a token bucket is empty. Off: the x-ms-ratelimit-remaining-* headers count down and refill, and nothing is refused." },
  { name: `${ENV}RATE_LIMIT_READS`, default: "250,25", description: "Reads (GET, HEAD) of one principal in one subscription: bucket size and tokens refilled per second (ARM's token bucket); the subscription's global bucket is 15 times both." },
  { name: `${ENV}RATE_LIMIT_WRITES`, default: "200,10", description: "Writes (PUT, PATCH, POST): bucket size and tokens refilled per second." },
  { name: `${ENV}RATE_LIMIT_DELETES`, default: "200,10", description: "Deletes (DELETE): bucket size and tokens refilled per second." },
];

export class ConfigError extends Error {}

/** The host of a remote tcp:// (or http(s)://) DOCKER_HOST, where the engine publishes ports; else 127.0.0.1. */
export function defaultApiServerHost(dockerHost: string | undefined): string {
  if (!dockerHost || !/^(tcp|https?):\/\//i.test(dockerHost)) return "127.0.0.1";
  try {
    const host = new URL(dockerHost.replace(/^tcp:/i, "http:")).hostname.replace(/^\[|\]$/g, "");
    return host || "127.0.0.1";
  } catch {
    return "127.0.0.1";
  }
}

function parseAccess(value: string): Config["apiServerAccess"] {
  if (value === "auto" || value === "network" || value === "published") return value;
  throw new ConfigError(`${ENV}API_SERVER_ACCESS: expected auto, network or published, got '${value}'`);
}

function parseBool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name}: expected true or false, got '${value}'`);
}

function parsePort(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${name}: '${value}' is not a port number`);
  return port;
}

function parseNonNegative(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name}: '${value}' is not a non-negative number`);
  return n;
}

/** A token bucket as `size,perSecond` (`250,25`): a whole size of at least 1 and a refill rate above 0. */
function parseBucket(name: string, value: string): RateBucket {
  const [size, perSecond, extra] = value.split(",").map((part) => Number(part.trim()));
  if (extra !== undefined || !Number.isInteger(size) || size < 1 || !Number.isFinite(perSecond) || !(perSecond > 0)) {
    throw new ConfigError(`${name}: expected 'size,perSecond' (a bucket of at least 1 token and a refill rate above 0, such as 250,25), got '${value}'`);
  }
  return { size, perSecond };
}

function parsePositiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name}: '${value}' is not a positive whole number`);
  return n;
}

/** Flags that stand alone (`--strict`); `--strict=false` still works. */
const BOOLEAN_FLAGS = new Set(["--strict"]);

export interface ParsedArgs {
  command: "serve" | "ca" | "help";
  flags: Record<string, string[]>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const flags: Record<string, string[]> = {};
  let command: ParsedArgs["command"] = "serve";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h" || arg === "help") command = "help";
    else if (arg === "ca" || arg === "serve") command = arg;
    else if (arg.startsWith("--")) {
      const [name, inline] = arg.split(/=(.*)/s, 2);
      const value = inline ?? (BOOLEAN_FLAGS.has(name) ? "true" : argv[++i]);
      if (value === undefined) throw new ConfigError(`${name} needs a value`);
      (flags[name] ??= []).push(value);
    } else throw new ConfigError(`unknown argument '${arg}'`);
  }
  const known = new Set(configVariables.map((v) => v.flag).filter(Boolean));
  for (const name of Object.keys(flags)) if (!known.has(name)) throw new ConfigError(`unknown flag ${name}`);
  return { command, flags };
}

export function loadConfig(flags: Record<string, string[]> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const pick = (suffix: string, flag?: string): string => {
    const variable = configVariables.find((v) => v.name === ENV + suffix)!;
    const fromFlag = flag ? flags[flag]?.at(-1) : undefined;
    return fromFlag ?? env[variable.name] ?? variable.default;
  };
  const hostNames = [...(flags["--hostname"] ?? []), ...(env[`${ENV}HOSTNAMES`] ?? "").split(",")]
    .map((h) => h.trim())
    .filter(Boolean);
  const expand = (dir: string) => resolve(dir.startsWith("~") ? join(homedir(), dir.slice(1)) : dir);
  const dataDirSetting = pick("DATA_DIR", "--data-dir");
  const dataDir = dataDirSetting ? expand(dataDirSetting) : undefined;
  const keyDirSetting = pick("KEY_DIR");
  const responseValidation = pick("RESPONSE_VALIDATION");
  if (!["off", "warn", "strict"].includes(responseValidation)) {
    throw new ConfigError(`${ENV}RESPONSE_VALIDATION: expected off, warn or strict, got '${responseValidation}'`);
  }
  const config: Config = {
    port: parsePort(`${ENV}PORT`, pick("PORT", "--port")),
    bindHost: pick("HOST", "--host"),
    hostNames,
    dataDir,
    keyDir: keyDirSetting ? expand(keyDirSetting) : (dataDir ?? expand("~/.aks-emulator")),
    aksEnabled: parseBool(`${ENV}ENABLED`, env[`${ENV}ENABLED`]) ?? true,
    mocked: parseBool(`${ENV}MOCKED`, env[`${ENV}MOCKED`]),
    defaultImage: pick("DEFAULT_IMAGE"),
    apiServerBasePort: parsePort(`${ENV}API_SERVER_BASE_PORT`, pick("API_SERVER_BASE_PORT")),
    apiServerMaxPort: parsePort(`${ENV}API_SERVER_MAX_PORT`, pick("API_SERVER_MAX_PORT")),
    apiServerHost: pick("API_SERVER_HOST") || defaultApiServerHost(env.DOCKER_HOST),
    apiServerAccess: parseAccess(pick("API_SERVER_ACCESS")),
    keepRunningOnShutdown: parseBool(`${ENV}KEEP_RUNNING_ON_SHUTDOWN`, env[`${ENV}KEEP_RUNNING_ON_SHUTDOWN`]) ?? false,
    privileged: parseBool(`${ENV}PRIVILEGED`, env[`${ENV}PRIVILEGED`]) ?? true,
    readyTimeoutSeconds: parseNonNegative(`${ENV}READY_TIMEOUT_SECONDS`, pick("READY_TIMEOUT_SECONDS")),
    healthCheckIntervalSeconds: parseNonNegative(`${ENV}HEALTH_CHECK_INTERVAL_SECONDS`, pick("HEALTH_CHECK_INTERVAL_SECONDS")),
    mockProvisioningDelayMs: parseNonNegative(`${ENV}MOCK_PROVISIONING_DELAY_MS`, pick("MOCK_PROVISIONING_DELAY_MS")),
    subscriptionId: pick("SUBSCRIPTION_ID"),
    subscriptions: [],
    tenantId: pick("TENANT_ID"),
    defaultLocation: pick("LOCATION"),
    maxBodyBytes: parseNonNegative(`${ENV}MAX_BODY_BYTES`, pick("MAX_BODY_BYTES")),
    maxHeaderBytes: parsePositiveInteger(`${ENV}MAX_HEADER_BYTES`, pick("MAX_HEADER_BYTES")),
    requestTimeoutMs: Math.floor(parseNonNegative(`${ENV}REQUEST_TIMEOUT_MS`, pick("REQUEST_TIMEOUT_MS"))),
    checkTokens: parseBool(`${ENV}CHECK_TOKENS`, env[`${ENV}CHECK_TOKENS`]) ?? false,
    strict: parseBool(`${ENV}STRICT`, pick("STRICT", "--strict")) ?? false,
    kubernetesVersionsFile: pick("KUBERNETES_VERSIONS_FILE") ? expand(pick("KUBERNETES_VERSIONS_FILE")) : undefined,
    faultsFile: pick("FAULTS_FILE") ? expand(pick("FAULTS_FILE")) : undefined,
    responseValidation: responseValidation as ResponseValidation,
    logRequests: parseBool(`${ENV}LOG_REQUESTS`, env[`${ENV}LOG_REQUESTS`]) ?? true,
    journalBodies: parseBool(`${ENV}JOURNAL_BODIES`, env[`${ENV}JOURNAL_BODIES`]) ?? false,
    rateLimit: {
      enforce: parseBool(`${ENV}RATE_LIMIT`, env[`${ENV}RATE_LIMIT`]) ?? false,
      reads: parseBucket(`${ENV}RATE_LIMIT_READS`, pick("RATE_LIMIT_READS")),
      writes: parseBucket(`${ENV}RATE_LIMIT_WRITES`, pick("RATE_LIMIT_WRITES")),
      deletes: parseBucket(`${ENV}RATE_LIMIT_DELETES`, pick("RATE_LIMIT_DELETES")),
    },
  };
  config.subscriptions = listedSubscriptions(env[`${ENV}SUBSCRIPTIONS`], config.strict);
  if (config.apiServerMaxPort < config.apiServerBasePort) {
    throw new ConfigError(`${ENV}API_SERVER_MAX_PORT (${config.apiServerMaxPort}) is below ${ENV}API_SERVER_BASE_PORT (${config.apiServerBasePort})`);
  }
  return config;
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS: unset, the documentation's `my-sub` in the default mode (none in strict mode). */
function listedSubscriptions(value: string | undefined, strict: boolean): string[] {
  if (value === undefined) return strict ? [] : ["my-sub"];
  const ids = [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))];
  const bad = ids.find((id) => !/^[^/?#\s]+$/.test(id) || (strict && !GUID_RE.test(id)));
  if (bad !== undefined) {
    throw new ConfigError(`${ENV}SUBSCRIPTIONS: '${bad}' ${strict ? "is not a GUID (strict mode refuses other subscription ids)" : "cannot be a path segment"}`);
  }
  return ids;
}
