// ARM's token buckets (src/http/rateLimits.ts) on a clock the test moves: refill, the global bucket
// across principals, the 429's Retry-After, tenant-level requests, the bounds.
import { describe, expect, it } from "vitest";
import type { RateLimitConfig } from "../../src/config.js";
import { RateLimiter } from "../../src/http/rateLimits.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const config = (enforce: boolean, reads = { size: 2, perSecond: 1 }): RateLimitConfig => ({
  enforce,
  reads,
  writes: { size: 200, perSecond: 10 },
  deletes: { size: 50, perSecond: 5 },
});

/** A tenant-level request: no subscription in its path. */
const TENANT_LEVEL = null;

/** One request's headers as an object, and what count() answered. */
function count(limiter: RateLimiter, method: string, at: number, subscription: string | null = SUB, actor = "app-1") {
  const headers: string[] = [];
  const refused = limiter.count(method, subscription ?? undefined, "tenant-1", actor, at, headers);
  const named: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) named[headers[i]] = headers[i + 1];
  return { headers: named, refused };
}

describe("ARM's token buckets", () => {
  it("count down, stop at 0 without refusing by default, and refill with time up to their size", () => {
    const limiter = new RateLimiter(config(false));
    const reads = [0, 0, 0, 1500, 3000, 60_000].map((at) => count(limiter, "GET", at));
    expect(reads.map((r) => r.headers["x-ms-ratelimit-remaining-subscription-reads"])).toEqual(["1", "0", "0", "0", "1", "1"]);
    expect(reads.every((r) => r.refused === undefined)).toBe(true);
  });

  it("keep a global bucket per subscription, 15 times a principal's, that every principal draws on", () => {
    const limiter = new RateLimiter(config(false));
    expect(count(limiter, "GET", 0, SUB, "app-1").headers).toEqual({ "x-ms-ratelimit-remaining-subscription-reads": "1", "x-ms-ratelimit-remaining-subscription-global-reads": "29" });
    expect(count(limiter, "GET", 0, SUB, "app-2").headers).toEqual({ "x-ms-ratelimit-remaining-subscription-reads": "1", "x-ms-ratelimit-remaining-subscription-global-reads": "28" });
    // a subscription id in other casing is the same subscription
    expect(count(limiter, "HEAD", 0, SUB.toUpperCase(), "app-2").headers["x-ms-ratelimit-remaining-subscription-global-reads"]).toBe("27");
  });

  it("name writes and deletes by their own buckets, and tenant-level requests by the tenant's", () => {
    const limiter = new RateLimiter(config(false));
    for (const method of ["PUT", "PATCH", "POST"]) {
      expect(Object.keys(count(limiter, method, 0).headers)).toEqual(["x-ms-ratelimit-remaining-subscription-writes", "x-ms-ratelimit-remaining-subscription-global-writes"]);
    }
    expect(count(limiter, "DELETE", 0).headers).toEqual({ "x-ms-ratelimit-remaining-subscription-deletes": "49", "x-ms-ratelimit-remaining-subscription-global-deletes": "749" });
    expect(count(limiter, "GET", 0, TENANT_LEVEL).headers).toEqual({ "x-ms-ratelimit-remaining-tenant-reads": "1" });
    expect(count(limiter, "POST", 0, TENANT_LEVEL).headers).toEqual({ "x-ms-ratelimit-remaining-tenant-writes": "199" });
  });

  it("refuse an empty bucket when enforced, with the whole seconds until a token is back", () => {
    const limiter = new RateLimiter(config(true, { size: 1, perSecond: 0.25 }));
    expect(count(limiter, "GET", 0).refused).toBeUndefined();
    const { refused, headers } = count(limiter, "GET", 1000);
    expect(headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe("0");
    expect(refused).toMatchObject({ status: 429, code: "SubscriptionRequestsThrottled", headers: { "Retry-After": "3" } });
    expect(refused!.message).toBe(
      `Number of 'read' requests for subscription '${SUB}' actor 'app-1' exceeded. Please try again after '3' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
    );
    // a refused request takes nothing: the token is back 4 s after the first read
    expect(count(limiter, "GET", 4000).refused).toBeUndefined();
    expect(count(limiter, "GET", 4000, TENANT_LEVEL).refused).toBeUndefined();
    expect(count(limiter, "GET", 4000, TENANT_LEVEL).refused).toMatchObject({ code: "TenantRequestsThrottled" });
  });

  it("start full again after reset", () => {
    const limiter = new RateLimiter(config(true));
    count(limiter, "GET", 0);
    count(limiter, "GET", 0);
    expect(count(limiter, "GET", 0).refused).toBeDefined();
    limiter.reset();
    expect(count(limiter, "GET", 0).headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe("1");
  });
});
