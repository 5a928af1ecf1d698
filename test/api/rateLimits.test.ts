// ARM's throttling headers and the optional rate limit (FLOCI_AZ_SERVICES_AKS_RATE_LIMIT,
// http/rateLimits.ts): every ARM answer names the tokens left in its subscription's buckets, which
// count down and refill; with the limit on, an empty bucket is ARM's 429 SubscriptionRequestsThrottled
// with Retry-After, which the real @azure/arm-containerservice client waits out and retries.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, RESOURCE_GROUP_API_VERSION, SDK_DEFAULT_API_VERSION, sdkClient } from "../support/sdk.js";

const READS = "x-ms-ratelimit-remaining-subscription-reads";
const WRITES = "x-ms-ratelimit-remaining-subscription-writes";
const DELETES = "x-ms-ratelimit-remaining-subscription-deletes";
const GLOBAL_READS = "x-ms-ratelimit-remaining-subscription-global-reads";
const GLOBAL_WRITES = "x-ms-ratelimit-remaining-subscription-global-writes";
const GLOBAL_DELETES = "x-ms-ratelimit-remaining-subscription-global-deletes";
const TENANT_READS = "x-ms-ratelimit-remaining-tenant-reads";

const groupsPath = (subscriptionId: string) => `/subscriptions/${subscriptionId}/resourcegroups?api-version=${RESOURCE_GROUP_API_VERSION}`;
const remaining = (headers: Headers, name: string) => Number(headers.get(name));

/** Buckets that do not refill within a test, so each request's count is exact. */
function slowBuckets(enforce: boolean, readSize: number): Config["rateLimit"] {
  return { enforce, reads: { size: readSize, perSecond: 0.001 }, writes: { size: 200, perSecond: 0.001 }, deletes: { size: 200, perSecond: 0.001 } };
}

describe("the x-ms-ratelimit-remaining-* headers, at ARM's token buckets", () => {
  let emu: TestEmulator;
  useEmulator((started) => (emu = started));

  it("a fresh subscription's first read leaves 249 of 250 and 3,749 of the global 3,750; a write 199 and 2,999", async () => {
    const arm = new ArmHttp(emu);
    const subscription = randomUUID();
    const read = await arm.call("GET", groupsPath(subscription));
    expect(read.status).toBe(200);
    expect([remaining(read.headers, READS), remaining(read.headers, GLOBAL_READS)]).toEqual([249, 3749]);
    expect(read.headers.get(WRITES)).toBeNull();
    const write = await arm.call("PUT", `/subscriptions/${subscription}/resourcegroups/rl-rg?api-version=${RESOURCE_GROUP_API_VERSION}`, { location: "eastus" });
    expect(write.status).toBe(201);
    expect([remaining(write.headers, WRITES), remaining(write.headers, GLOBAL_WRITES)]).toEqual([199, 2999]);
    expect(write.headers.get(READS)).toBeNull();
  });

  it("names tenant-level reads (no subscription in the path) as the tenant's", async () => {
    const answer = await new ArmHttp(emu).call("GET", "/subscriptions?api-version=2022-12-01");
    expect(answer.status).toBe(200);
    expect(remaining(answer.headers, TENANT_READS)).toBeLessThan(250);
    expect(answer.headers.get(READS)).toBeNull();
  });
});

describe("the headers count down per subscription and refill, and nothing is refused by default", () => {
  let emu: TestEmulator;
  useEmulator((started) => (emu = started), { rateLimit: slowBuckets(false, 3) });

  it("reads, writes and deletes each count down their own bucket, on AKS and ARM routes alike", async () => {
    const arm = new ArmHttp(emu);
    await arm.createResourceGroup("rl-count");
    const reads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await arm.call("GET", `${clusterPath("rl-count", "missing")}?api-version=${SDK_DEFAULT_API_VERSION}`);
      expect(answer.status).toBe(404); // counted all the same, and never refused: the bucket stays at 0
      reads.push(remaining(answer.headers, READS));
    }
    expect(reads).toEqual([2, 1, 0, 0, 0]);
    const put = await arm.call("PUT", `${clusterPath("rl-count", "c1")}?api-version=${SDK_DEFAULT_API_VERSION}`, minimalCluster());
    expect(put.status).toBe(201);
    expect(remaining(put.headers, WRITES)).toBe(198); // the resource group's PUT took the first write
    const deleted = await arm.call("DELETE", `${clusterPath("rl-count", "c1")}?api-version=${SDK_DEFAULT_API_VERSION}`);
    expect(deleted.status).toBe(202);
    expect([remaining(deleted.headers, DELETES), remaining(deleted.headers, GLOBAL_DELETES)]).toEqual([199, 2999]);
    expect(deleted.headers.get(WRITES)).toBeNull();
    // another subscription has buckets of its own
    expect(remaining((await arm.call("GET", groupsPath(randomUUID()))).headers, READS)).toBe(2);
  });
});

describe("with FLOCI_AZ_SERVICES_AKS_RATE_LIMIT on", () => {
  let emu: TestEmulator;
  let arm: ArmHttp;
  // Two reads, one back a second: small enough to empty, quick enough for the SDK's retry.
  useEmulator((started) => (emu = started), { rateLimit: { ...slowBuckets(true, 2), reads: { size: 2, perSecond: 1 } } });

  beforeAll(async () => {
    arm = new ArmHttp(emu);
    await arm.accepted("PUT", `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/rl-limit?api-version=${RESOURCE_GROUP_API_VERSION}`, { location: "eastus" });
    await arm.accepted("PUT", `${clusterPath("rl-limit", "c1")}?api-version=${SDK_DEFAULT_API_VERSION}`, minimalCluster());
  });

  /** Reads until the bucket refuses one: that answer. */
  async function emptyTheReads() {
    for (let i = 0; i < 5; i++) {
      const answer = await arm.call("GET", groupsPath(TEST_SUBSCRIPTION));
      if (answer.status === 429) return answer;
      expect(answer.status).toBe(200);
    }
    throw new Error("five reads in a row were not refused");
  }

  it("refuses a read with ARM's 429 SubscriptionRequestsThrottled and Retry-After once the bucket is empty", async () => {
    const refused = await emptyTheReads();
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(remaining(refused.headers, READS)).toBe(0);
    expect(refused.body.error.code).toBe("SubscriptionRequestsThrottled");
    expect(refused.body.error.message).toMatch(
      new RegExp(`^Number of 'read' requests for subscription '${TEST_SUBSCRIPTION}' actor '[^']+' exceeded\\. Please try again after '1' seconds after additional tokens are available\\.`),
    );
    // writes have a bucket of their own
    const write = await arm.call("PATCH", `${clusterPath("rl-limit", "c1")}?api-version=${SDK_DEFAULT_API_VERSION}`, { tags: { a: "b" } });
    expect(write.status).toBe(200);
  });

  it("the SDK waits the Retry-After and retries", async () => {
    const sdk = sdkClient(emu);
    const statuses: number[] = [];
    sdk.client.pipeline.addPolicy(
      {
        name: "recordStatuses",
        sendRequest: async (request, next) => {
          const response = await next(request);
          statuses.push(response.status);
          return response;
        },
      },
      { afterPhase: "Retry" },
    );
    await emptyTheReads();
    const started = Date.now();
    const cluster = await sdk.client.managedClusters.get("rl-limit", "c1");
    expect(cluster.name).toBe("c1");
    expect(statuses).toEqual([429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("POST /_emulator/reset fills the buckets again", async () => {
    await emptyTheReads();
    expect((await fetch(`${emu.httpUrl}/_emulator/reset`, { method: "POST" })).status).toBe(204);
    const answer = await arm.call("GET", groupsPath(TEST_SUBSCRIPTION));
    expect(answer.status).toBe(200);
    expect(remaining(answer.headers, READS)).toBe(1);
  });
});
