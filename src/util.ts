import { randomUUID } from "node:crypto";

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Detail for debugging (what a request body was read as); loggers without it drop these lines. */
  debug?(message: string): void;
}

/** One line per event on stdout/stderr, with an ISO timestamp. */
export const consoleLogger: Logger = {
  info: (message) => process.stdout.write(`${new Date().toISOString()} ${message}\n`),
  warn: (message) => process.stderr.write(`${new Date().toISOString()} WARN ${message}\n`),
  error: (message) => process.stderr.write(`${new Date().toISOString()} ERROR ${message}\n`),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The string made flat. V8 keeps a string made by concatenation as a rope (a node of 32 bytes per
 * piece) for as long as the string lives: Node's randomUUID() joins 20 pieces, about 490 bytes held by
 * every stored eTag or operation name, where flat it is 56. Reading a character flattens a rope in
 * place (the collector then drops its pieces and its node): 0.16 us, a fifth of a JSON round trip.
 */
export function flatString(value: string): string {
  value.charCodeAt(0);
  return value;
}

/**
 * A copy of the string of its own. Unlike flatString, a slice of a larger string (a subscription id
 * cut from a request URL) is copied, so it no longer keeps the larger one alive.
 */
export const ownCopy = (value: string): string => value.split("").join("");

/**
 * The time as ISO 8601. Requests within one millisecond get the same string: a create stamps its
 * cluster, its pools and its operation, and each stored copy of the time is 40 bytes.
 */
export function isoTime(time: Date): string {
  const ms = time.getTime();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = time.toISOString();
  }
  return lastIso;
}
let lastIsoMs = NaN;
let lastIso = "";

/** A random UUID as one flat string (see flatString): for ids and eTags kept in stored records. */
export const newUuid = (): string => flatString(randomUUID());

/** A map of bounded size that forgets its oldest entry first (first in, first out). */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key); // re-inserted at the end: the newest entry
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** The kept value for the key; else `make`'s, kept. */
  getOrMake(key: K, make: (key: K) => V): V {
    let value = this.entries.get(key);
    if (value === undefined) this.set(key, (value = make(key)));
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * `{ ...base, ...extra }`: the same keys in the same order, the same values. V8 (node 20) makes a
 * spread copy that then gets keys `base` lacks slowly, about a microsecond a key (each such copy gets
 * maps of its own, garbage too); copying into a fresh object first does not. A base with an own
 * `__proto__` key (JSON.parse makes one) is spread as written: assigning that key would set the prototype.
 */
export function spread<T extends object, U extends object>(base: T, extra: U): T & U {
  if (Object.hasOwn(base, "__proto__")) return { ...base, ...extra };
  return Object.assign({}, base, extra);
}
