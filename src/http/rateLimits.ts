// ARM's request throttling, as "Understand how Azure Resource Manager throttles requests" documents it
// since ARM moved to regional token buckets in 2024
// (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling): a bucket
// per subscription, principal and kind of request (reads 250 tokens refilled at 25 a second, writes and
// deletes 200 at 10), a global one per subscription across principals "equivalent to 15 times the
// individual service principal limits", and buckets of the same sizes for tenant-level requests (no
// subscription in the path). The classic limits (12,000 reads and 1,200 writes an hour per ARM instance)
// are gone; ARM's answers in the field read `x-ms-ratelimit-remaining-subscription-reads: 249` and
// `...-global-reads: 3749` after one read, as these buckets do.
//
// Every ARM answer names what is left in the buckets its request was counted against. By default
// nothing is refused (a test suite that runs fast must not start failing); with
// FLOCI_AZ_SERVICES_AKS_RATE_LIMIT an empty bucket answers ARM's 429 SubscriptionRequestsThrottled with
// Retry-After. On the hot path: no timers, no allocation once a principal's buckets exist; a bucket is
// refilled from the time elapsed when it is next looked at.
import { errors, type ArmError } from "../arm/errors.js";
import type { RateBucket, RateLimitConfig } from "../config.js";
import { BoundedCache } from "../util.js";

/** Bucket indexes: reads (GET, HEAD), writes (PUT, PATCH, POST), deletes (DELETE). */
const READ = 0;
const WRITE = 1;
const DELETE = 2;
const KIND_NAMES = ["read", "write", "delete"];
const SUBSCRIPTION_HEADERS = [
  "x-ms-ratelimit-remaining-subscription-reads",
  "x-ms-ratelimit-remaining-subscription-writes",
  "x-ms-ratelimit-remaining-subscription-deletes",
];
const GLOBAL_HEADERS = [
  "x-ms-ratelimit-remaining-subscription-global-reads",
  "x-ms-ratelimit-remaining-subscription-global-writes",
  "x-ms-ratelimit-remaining-subscription-global-deletes",
];
// ARM documents tenant reads and writes headers only: a tenant-level delete is named as a write.
const TENANT_HEADERS = ["x-ms-ratelimit-remaining-tenant-reads", "x-ms-ratelimit-remaining-tenant-writes", "x-ms-ratelimit-remaining-tenant-writes"];
const GLOBAL_FACTOR = 15;
/** Subscriptions and tenants are the clients' strings, principals too (tokens are not checked by default): both are bounded. */
const MAX_SCOPES = 1000;
const MAX_PRINCIPALS = 100;

class Bucket {
  private tokens: number;
  private readonly perMs: number;

  constructor(
    private readonly size: number,
    perSecond: number,
    private at: number,
  ) {
    this.tokens = size;
    this.perMs = perSecond / 1000;
  }

  /** Adds the tokens that came back since it was last looked at; it never holds more than its size. */
  refill(now: number): void {
    this.tokens = Math.min(this.size, this.tokens + (now - this.at) * this.perMs);
    this.at = now;
  }

  get available(): boolean {
    return this.tokens >= 1;
  }

  /** Takes a token; an empty bucket stays at 0 (the counting-only default goes on answering). */
  take(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  get remaining(): number {
    return Math.floor(this.tokens);
  }

  /** Whole seconds until a token is back: the 429's Retry-After. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs / 1000));
  }
}

/** One subscription's (or tenant's) buckets: each principal's, and for a subscription the global ones. */
interface Scope {
  principals: BoundedCache<string, Bucket[]>;
  global: Bucket[] | undefined;
}

/** The throttling state of one emulator instance: POST /_emulator/reset fills every bucket again. */
export class RateLimiter {
  // Forgetting the oldest when full: a forgotten one starts full again when next seen.
  private readonly subscriptions = new BoundedCache<string, Scope>(MAX_SCOPES);
  private readonly tenants = new BoundedCache<string, Scope>(MAX_SCOPES);

  constructor(private readonly config: RateLimitConfig) {}

  reset(): void {
    this.subscriptions.clear();
    this.tenants.clear();
  }

  /**
   * Counts one request by `actor` in the subscription (none: a tenant-level request, counted in the
   * tenant), pushes the remaining counts onto `headers` (name, value pairs), and returns ARM's 429 when
   * limits are enforced and a bucket is empty. `now` is a performance.now() time.
   */
  count(method: string, subscriptionId: string | undefined, tenantId: string, actor: string, now: number, headers: string[]): ArmError | undefined {
    const kind = method === "GET" || method === "HEAD" ? READ : method === "DELETE" ? DELETE : WRITE;
    const tenantLevel = subscriptionId === undefined;
    const scope = tenantLevel ? this.scope(this.tenants, tenantId, false, now) : this.scope(this.subscriptions, subscriptionId.toLowerCase(), true, now);
    const own = this.principalBuckets(scope, actor, now)[kind];
    const global = scope.global?.[kind];
    own.refill(now);
    global?.refill(now);
    const allowed = own.available && (global === undefined || global.available);
    if (allowed || !this.config.enforce) {
      own.take();
      global?.take();
    }
    headers.push(tenantLevel ? TENANT_HEADERS[kind] : SUBSCRIPTION_HEADERS[kind], String(own.remaining));
    if (global) headers.push(GLOBAL_HEADERS[kind], String(global.remaining));
    if (allowed || !this.config.enforce) return undefined;
    const wait = Math.max(own.available ? 0 : own.retryAfterSeconds, global && !global.available ? global.retryAfterSeconds : 0);
    return errors.throttled(tenantLevel ? "tenant" : "subscription", KIND_NAMES[kind], subscriptionId ?? tenantId, actor, wait);
  }

  private scope(scopes: BoundedCache<string, Scope>, key: string, withGlobal: boolean, now: number): Scope {
    let scope = scopes.get(key);
    if (!scope) {
      scope = { principals: new BoundedCache(MAX_PRINCIPALS), global: withGlobal ? this.buckets(GLOBAL_FACTOR, now) : undefined };
      scopes.set(key, scope);
    }
    return scope;
  }

  private principalBuckets(scope: Scope, actor: string, now: number): Bucket[] {
    let buckets = scope.principals.get(actor);
    if (!buckets) {
      buckets = this.buckets(1, now);
      scope.principals.set(actor, buckets);
    }
    return buckets;
  }

  /** Full buckets for reads, writes and deletes, `factor` times the configured ones. */
  private buckets(factor: number, now: number): Bucket[] {
    const { reads, writes, deletes } = this.config;
    return [reads, writes, deletes].map((spec: RateBucket) => new Bucket(spec.size * factor, spec.perSecond * factor, now));
  }
}
