// Fault injection: Azure's failures on demand, so a client's retry and error handling can be tested.
// Rules come from POST /_emulator/faults (http/webEndpoints.ts) and from the file
// FLOCI_AZ_SERVICES_AKS_FAULTS_FILE names (installed at start and again at each reset). The ARM
// pipeline's injectFaults stage (http/armPipeline.ts) asks for the first rule that matches each ARM
// request, after its route is known and before it touches state; the rule then answers an ARM error,
// delays the answer, drops the connection, or hands the engine a fault for the long-running
// operation the request starts (failOperation, operationDelayMs: the engine's InjectedFault).
import { readFileSync } from "node:fs";
import { errors } from "../arm/errors.js";

export interface FaultMatch {
  operationId?: string;
  method?: string;
  /** A glob over the request path, case-insensitive as ARM ids are: `*` within a segment, `**` across segments, `?` one character. */
  resourceId?: string;
  apiVersion?: string;
}

/** A rule as it is given (POST body, an element of the faults file). */
export interface FaultRuleBody {
  match: FaultMatch;
  times?: number;
  probability?: number;
  seed?: number;
  error?: { status: number; code: string; message: string; retryAfter?: number };
  failOperation?: { code: string; message: string };
  delayMs?: number;
  operationDelayMs?: number;
  drop?: boolean;
}

/** A rule as it is listed: its id and how often it fired. */
export interface FaultRule extends FaultRuleBody {
  id: string;
  fired: number;
}

/** What a request is matched on. */
export interface FaultRequest {
  operationId: string;
  method: string;
  /** The request path, decoded (the resource id for a resource's operations). */
  resourceId: string;
  apiVersion: string;
}

/** What the engine is handed for the operation a faulted request starts (structurally the engine's InjectedFault). */
export interface OperationFault {
  fail?: { code: string; message: string };
  delayMs?: number;
}

interface ActiveRule {
  rule: FaultRule;
  pattern: RegExp | undefined;
  random: () => number;
}

const MAX_DELAY_MS = 10 * 60 * 1000;
const MATCH_KEYS = new Set(["operationId", "method", "resourceId", "apiVersion"]);
const RULE_KEYS = new Set(["match", "times", "probability", "seed", "error", "failOperation", "delayMs", "operationDelayMs", "drop"]);
const CODE_RE = /^[A-Za-z][A-Za-z0-9_.]*$/;

/** The rules of one emulator instance. */
export class FaultRegistry {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** `startup`: the faults file's rules, validated already (loadFaultsFile); installed now and at each reset. */
  constructor(private readonly startup: readonly FaultRuleBody[] = []) {
    this.reset();
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** POST /_emulator/reset: the rules as at start (the faults file's, counts at zero). */
  reset(): void {
    this.rules = [];
    this.nextId = 1;
    for (const body of this.startup) this.add(body);
  }

  /** Adds a rule from its JSON body; a body it cannot use is 400 InvalidFaultRule. */
  add(input: unknown): FaultRule {
    const body = validateFaultRule(input);
    const rule: FaultRule = { id: `fault-${this.nextId++}`, ...body, fired: 0 };
    this.rules.push({ rule, pattern: body.match.resourceId === undefined ? undefined : globPattern(body.match.resourceId), random: body.seed === undefined ? Math.random : seededRandom(body.seed) });
    return { ...rule };
  }

  list(): FaultRule[] {
    return this.rules.map(({ rule }) => ({ ...rule }));
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter(({ rule }) => rule.id !== id);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule that matches the request, has fired fewer than `times` and wins its draw; it counts as fired. */
  take(request: FaultRequest): FaultRule | undefined {
    for (const active of this.rules) {
      const { rule, pattern } = active;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      const m = rule.match;
      if (m.operationId !== undefined && m.operationId.toLowerCase() !== request.operationId.toLowerCase()) continue;
      if (m.method !== undefined && m.method.toUpperCase() !== request.method.toUpperCase()) continue;
      if (m.apiVersion !== undefined && m.apiVersion.toLowerCase() !== request.apiVersion.toLowerCase()) continue;
      if (pattern && !pattern.test(request.resourceId)) continue;
      if (rule.probability !== undefined && !(active.random() < rule.probability)) continue;
      rule.fired++;
      return rule;
    }
    return undefined;
  }
}

/** The operation fault a rule hands the engine, if any. */
export function operationFault(rule: FaultRule): OperationFault | undefined {
  if (!rule.failOperation && !rule.operationDelayMs) return undefined;
  return { ...(rule.failOperation ? { fail: rule.failOperation } : {}), ...(rule.operationDelayMs ? { delayMs: rule.operationDelayMs } : {}) };
}

/** The faults file's rules (a JSON array), each validated: a file that cannot be used throws, naming the file and the fault. */
export function loadFaultsFile(file: string): FaultRuleBody[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`the faults file ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`the faults file ${file} must hold a JSON array of rules`);
  return parsed.map((rule, index) => {
    try {
      return validateFaultRule(rule);
    } catch (error) {
      throw new Error(`the faults file ${file}, rule ${index}: ${(error as Error).message}`);
    }
  });
}

/** A rule body checked and copied (only the known keys); anything it cannot use is 400 InvalidFaultRule naming the property. */
export function validateFaultRule(input: unknown): FaultRuleBody {
  const bad = (reason: string) => errors.faultRuleInvalid(reason);
  if (!isObject(input)) throw bad("the body must be a JSON object (Content-Type: application/json).");
  for (const key of Object.keys(input)) if (!RULE_KEYS.has(key)) throw bad(`unknown property '${key}'.`);
  const match = input.match ?? {};
  if (!isObject(match)) throw bad("'match' must be an object.");
  const rule: FaultRuleBody = { match: {} };
  for (const key of Object.keys(match)) {
    if (!MATCH_KEYS.has(key)) throw bad(`unknown property 'match.${key}' (operationId, method, resourceId, apiVersion).`);
    const value = match[key];
    if (typeof value !== "string" || !value) throw bad(`'match.${key}' must be a non-empty string.`);
    rule.match[key as keyof FaultMatch] = value;
  }
  if (input.times !== undefined) rule.times = integer(input.times, "times", 1);
  if (input.probability !== undefined) {
    if (typeof input.probability !== "number" || !(input.probability >= 0 && input.probability <= 1)) throw bad("'probability' must be a number from 0 to 1.");
    rule.probability = input.probability;
  }
  if (input.seed !== undefined) {
    if (input.probability === undefined) throw bad("'seed' only applies with 'probability'.");
    rule.seed = integer(input.seed, "seed", 0);
  }
  if (input.error !== undefined) {
    const e = input.error;
    if (!isObject(e)) throw bad("'error' must be an object: {status, code, message, retryAfter?}.");
    for (const key of Object.keys(e)) if (!["status", "code", "message", "retryAfter"].includes(key)) throw bad(`unknown property 'error.${key}'.`);
    const status = integer(e.status, "error.status", 400);
    if (status > 599) throw bad("'error.status' must be an HTTP error status, 400 to 599.");
    rule.error = { status, code: code(e.code, "error.code"), message: message(e.message, "error.message", e.code as string) };
    if (e.retryAfter !== undefined) rule.error.retryAfter = integer(e.retryAfter, "error.retryAfter", 0);
  }
  if (input.failOperation !== undefined) {
    const f = input.failOperation;
    if (!isObject(f)) throw bad("'failOperation' must be an object: {code, message}.");
    for (const key of Object.keys(f)) if (!["code", "message"].includes(key)) throw bad(`unknown property 'failOperation.${key}'.`);
    rule.failOperation = { code: code(f.code, "failOperation.code"), message: message(f.message, "failOperation.message", f.code as string) };
  }
  if (input.delayMs !== undefined) rule.delayMs = delay(input.delayMs, "delayMs");
  if (input.operationDelayMs !== undefined) rule.operationDelayMs = delay(input.operationDelayMs, "operationDelayMs");
  if (input.drop !== undefined) {
    if (typeof input.drop !== "boolean") throw bad("'drop' must be true or false.");
    if (input.drop) rule.drop = true;
  }
  if (rule.error && rule.drop) throw bad("a rule either answers an 'error' or 'drop's the connection, not both.");
  if ((rule.error || rule.drop) && (rule.failOperation || rule.operationDelayMs !== undefined)) {
    throw bad("'failOperation' and 'operationDelayMs' apply to a request that goes through; 'error' and 'drop' stop it first.");
  }
  if (!rule.error && !rule.drop && !rule.failOperation && rule.delayMs === undefined && rule.operationDelayMs === undefined) {
    throw bad("a rule needs at least one of 'error', 'failOperation', 'delayMs', 'operationDelayMs', 'drop'.");
  }
  return rule;

  function integer(value: unknown, name: string, min: number): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) throw bad(`'${name}' must be an integer >= ${min}.`);
    return value;
  }
  function delay(value: unknown, name: string): number {
    const ms = integer(value, name, 0);
    if (ms > MAX_DELAY_MS) throw bad(`'${name}' must be at most ${MAX_DELAY_MS} (10 minutes).`);
    return ms;
  }
  function code(value: unknown, name: string): string {
    if (typeof value !== "string" || !CODE_RE.test(value)) throw bad(`'${name}' must be an error code such as 'TooManyRequests' (a letter, then letters, digits, '_' or '.').`);
    return value;
  }
  function message(value: unknown, name: string, forCode: string): string {
    if (value === undefined) return `Injected fault: ${forCode}.`;
    if (typeof value !== "string" || !value) throw bad(`'${name}' must be a non-empty string.`);
    return value;
  }
}

/** A resource-id glob as a case-insensitive regular expression over the whole path (a trailing '/' ignored). */
export function globPattern(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source.replace(/\/$/, "")}/?$`, "i");
}

/** mulberry32: a small seeded PRNG, so a rule with a seed fires on the same requests every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
