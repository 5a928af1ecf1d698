// What the client set-up commands (az-login, kubeconfig, env) need from a running emulator. They talk to
// it over plain HTTP on the same port (the port speaks both), so they work before anything trusts its
// CA: that is what they set up.
import { loadConfig } from "../config.js";

export class CliError extends Error {}

export const DEFAULT_ENDPOINT = "https://localhost:4577";

/** The endpoint as an origin (https://host:port), refusing what is not a URL. */
export function parseEndpoint(flag: string, given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new CliError(`${flag}: '${given}' is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new CliError(`${flag}: '${given}' is not an http(s) URL`);
  return new URL(url.origin);
}

/** The same origin over plain HTTP. */
export function plainHttp(endpoint: URL): URL {
  const url = new URL(endpoint.href);
  url.protocol = "http:";
  return url;
}

async function get(url: URL, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliError(`cannot reach the emulator at ${url.origin} (${(error as Error).cause ?? (error as Error).message}): is it running?`);
  }
}

/** The emulator's CA certificate (PEM). */
export async function fetchCa(endpoint: URL): Promise<string> {
  const url = new URL("/_emulator/ca.pem", plainHttp(endpoint));
  const answer = await get(url);
  const text = await answer.text();
  if (!answer.ok || !text.includes("BEGIN CERTIFICATE")) throw new CliError(`${url.href} answered ${answer.status}, not a PEM certificate`);
  return `${text.trim()}\n`;
}

/**
 * An ARM call with a token from the emulator's own token endpoint (client credentials; any client id
 * and secret), so that it also works when the emulator checks tokens. Resolves with status and body.
 */
export async function armCall(endpoint: URL, method: string, path: string): Promise<{ status: number; body: any }> {
  const base = plainHttp(endpoint);
  const tenant = loadConfig({}, process.env).tenantId;
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: "aks-emulator-cli", client_secret: "any-secret", scope: "https://management.azure.com/.default" });
  const tokenAnswer = await get(new URL(`/${tenant}/oauth2/v2.0/token`, base), { method: "POST", body: form });
  const token = tokenAnswer.ok ? ((await tokenAnswer.json()) as { access_token?: string }).access_token : undefined;
  const answer = await get(new URL(path, base), { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await answer.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: answer.status, body };
}

/** One flag parser for the client commands: `--name value` or `--name=value`; short aliases map to long names. */
export function parseFlags(argv: readonly string[], known: Record<string, "value" | "switch">, aliases: Record<string, string> = {}): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf("=");
    const given = eq > 0 ? argv[i].slice(0, eq) : argv[i];
    const name = aliases[given] ?? given;
    const kind = known[name];
    if (!kind) throw new CliError(`unknown argument '${argv[i]}'`);
    if (kind === "switch") {
      if (eq > 0) throw new CliError(`${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    const value = eq > 0 ? argv[i].slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new CliError(`${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}
