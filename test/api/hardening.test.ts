// Hardening: optimistic concurrency (If-Match / If-None-Match on cluster and pool writes, as AKS
// documents it), input limits answered with ARM's JSON errors (JSON nesting, header size, slow and
// stalled clients, names and resource ids), optional token checks (FLOCI_AZ_SERVICES_AKS_CHECK_TOKENS)
// and the emulator's own health and reset endpoints. Driven over HTTPS with the real SDK, fetch, and
// raw TLS sockets where the subject is what a client sends below HTTP's usual shape.
import { generateKeyPairSync } from "node:crypto";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientSecretCredential } from "@azure/identity";
import { ContainerServiceClient, type ManagedCluster } from "@azure/arm-containerservice";
import { SignJWT } from "jose";
import { apiVersions } from "../../generated/operations.js";
import { loadOrCreateIssuer } from "../../src/platform/identity.js";
import { startTestEmulator, TEST_SUBSCRIPTION, TEST_TENANT, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, restError, type RawResponse } from "../support/sdk.js";

const V = "2026-06-01";
const RG_VERSION = "2023-07-01";
const SUB = `/subscriptions/${TEST_SUBSCRIPTION}`;
const CLIENT_ID = "11111111-2222-3333-4444-555555555555";
const ARM_SCOPE = "https://management.azure.com/.default";
const rgPath = (rg: string) => `${SUB}/resourcegroups/${rg}`;
const poolPath = (rg: string, cluster: string, pool: string) => `${clusterPath(rg, cluster)}/agentPools/${pool}`;
const q = (path: string, apiVersion = V) => `${path}?api-version=${apiVersion}`;

/** The ARM error envelope, JSON, with the request-id headers; returns the error. */
function expectArmError(answer: RawResponse, status: number, code: string): { code: string; message: string; target?: string } {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status, body: { error: { code } } });
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.headers.get("x-ms-request-id")).toBeTruthy();
  expect(answer.body.error.message.length).toBeGreaterThan(10);
  return answer.body.error;
}

/** minimalCluster() as the SDK's flattened model takes it. */
function sdkCluster(): ManagedCluster {
  return { location: "eastus", dnsPrefix: "min", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] };
}

/** An SDK client whose long-running operations poll every 10 ms instead of waiting Retry-After. */
function fastClient(emu: TestEmulator): ContainerServiceClient {
  return new ContainerServiceClient(emu.credential, TEST_SUBSCRIPTION, { endpoint: emu.url, updateIntervalInMs: 10 } as any);
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** Milliseconds from connecting to the connection's end. */
  elapsedMs: number;
}

/**
 * One HTTP/1.1 exchange over a raw TLS socket, straight to the emulator's port: `head` (request line
 * and headers) goes at once, then each body piece after its delay; stops sending when the server
 * answers. Resolves with the parsed answer once the server closes the connection.
 */
function rawExchange(port: number, caPem: string, head: string, pieces: { delayMs: number; data: string }[] = []): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: caPem });
    const chunks: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    let answered = false;
    socket.on("secureConnect", () => {
      socket.write(head);
      let at = 0;
      for (const piece of pieces) {
        at += piece.delayMs;
        timers.push(setTimeout(() => !answered && !socket.destroyed && socket.write(piece.data), at));
      }
    });
    socket.on("data", (chunk: Buffer) => {
      answered = true;
      chunks.push(chunk);
    });
    socket.on("error", (error) => {
      // A reset after the whole answer arrived is the server closing a refused connection.
      if (!chunks.length) reject(error);
    });
    socket.on("close", () => {
      for (const timer of timers) clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const [headText, ...rest] = text.split("\r\n\r\n");
      const [statusLine, ...headerLines] = headText.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const bodyText = rest.join("\r\n\r\n");
      let body: any;
      try {
        body = bodyText ? JSON.parse(bodyText) : undefined;
      } catch {
        body = bodyText;
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body, elapsedMs: Date.now() - started });
    });
  });
}

describe("optimistic concurrency: If-Match and If-None-Match on clusters and pools", () => {
  let emu: TestEmulator;
  let arm: ArmHttp;
  let client: ContainerServiceClient;

  beforeAll(async () => {
    emu = await startTestEmulator();
    arm = new ArmHttp(emu);
    client = fastClient(emu);
    await arm.createResourceGroup("etag-rg");
  });
  afterAll(() => emu?.close());

  const clusterETag = async (name: string): Promise<string> => {
    const got = await arm.call("GET", q(clusterPath("etag-rg", name)));
    expect(got.status).toBe(200);
    expect(typeof got.body.eTag).toBe("string");
    return got.body.eTag;
  };
  const poolETag = async (cluster: string, pool: string): Promise<string> => {
    const got = await arm.call("GET", q(poolPath("etag-rg", cluster, pool)));
    expect(got.status).toBe(200);
    expect(typeof got.body.properties.eTag).toBe("string");
    return got.body.properties.eTag;
  };

  it("cluster PUT: If-None-Match * creates a new cluster and refuses an existing one (412)", async () => {
    const created = await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "fresh", sdkCluster(), { ifNoneMatch: "*", updateIntervalInMs: 10 });
    expect(created.provisioningState).toBe("Succeeded");
    expect(created.eTag).toBe(await clusterETag("fresh"));

    const again = await restError(() => client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "fresh", sdkCluster(), { ifNoneMatch: "*", updateIntervalInMs: 10 }));
    expect({ status: again.statusCode, code: again.code }).toEqual({ status: 412, code: "PreconditionFailed" });
    const raw = await arm.call("PUT", q(clusterPath("etag-rg", "fresh")), minimalCluster(), { "if-none-match": "*" });
    expectArmError(raw, 412, "PreconditionFailed");
  });

  it("cluster PUT: If-Match on a cluster that does not exist is 412, whatever the value, and creates nothing", async () => {
    for (const ifMatch of ["*", "0b7a4f5e-1111-2222-3333-444455556666"]) {
      const raw = await arm.call("PUT", q(clusterPath("etag-rg", "ghost")), minimalCluster(), { "if-match": ifMatch });
      expect(expectArmError(raw, 412, "PreconditionFailed").message).toMatch(/not found/i);
    }
    expect((await arm.call("GET", q(clusterPath("etag-rg", "ghost")))).status).toBe(404);
  });

  it("cluster PUT: a stale If-Match is 412 and changes nothing; the current eTag (bare, quoted or *) succeeds and the eTag changes", async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "c1", sdkCluster(), { updateIntervalInMs: 10 });
    const first = await clusterETag("c1");

    const stale = await arm.call("PUT", q(clusterPath("etag-rg", "c1")), { ...minimalCluster(), tags: { try: "stale" } }, { "if-match": "not-the-etag" });
    expect(expectArmError(stale, 412, "PreconditionFailed").message).toContain("If-Match");
    const unchanged = await arm.call("GET", q(clusterPath("etag-rg", "c1")));
    expect(unchanged.body.eTag).toBe(first);
    expect(unchanged.body.tags ?? {}).not.toHaveProperty("try");

    // through the SDK, as ifMatch
    const sdkStale = await restError(() => client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "c1", sdkCluster(), { ifMatch: "stale", updateIntervalInMs: 10 }));
    expect({ status: sdkStale.statusCode, code: sdkStale.code }).toEqual({ status: 412, code: "PreconditionFailed" });
    const updated = await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "c1", { ...sdkCluster(), tags: { step: "1" } }, { ifMatch: first, updateIntervalInMs: 10 });
    expect(updated.tags).toEqual({ step: "1" });
    const second = await clusterETag("c1");
    expect(second).not.toBe(first);
    expect(updated.eTag).toBe(second);

    // the old eTag is stale now
    expectArmError(await arm.call("PUT", q(clusterPath("etag-rg", "c1")), minimalCluster(), { "if-match": first }), 412, "PreconditionFailed");
    // RFC 9110's quoted form, and a list naming it, match too
    const quoted = await arm.call("PUT", q(clusterPath("etag-rg", "c1")), { ...minimalCluster(), tags: { step: "2" } }, { "if-match": `"${second}"` });
    expect(quoted.status, JSON.stringify(quoted.body)).toBe(200);
    const third = await clusterETag("c1");
    const listed = await arm.call("PUT", q(clusterPath("etag-rg", "c1")), { ...minimalCluster(), tags: { step: "3" } }, { "if-match": `"other", W/"${third}"` });
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    const star = await arm.call("PUT", q(clusterPath("etag-rg", "c1")), { ...minimalCluster(), tags: { step: "4" } }, { "if-match": "*" });
    expect(star.status, JSON.stringify(star.body)).toBe(200);
    expect(star.body.tags).toEqual({ step: "4" });
  });

  it("cluster PATCH (tags): stale If-Match 412, current one 200 with a new eTag; a missing cluster is 404 whatever the header", async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "tagged", sdkCluster(), { updateIntervalInMs: 10 });
    const before = await clusterETag("tagged");
    const stale = await restError(() => client.managedClusters.beginUpdateTagsAndWait("etag-rg", "tagged", { tags: { a: "b" } }, { ifMatch: "stale", updateIntervalInMs: 10 }));
    expect({ status: stale.statusCode, code: stale.code }).toEqual({ status: 412, code: "PreconditionFailed" });
    expect((await arm.call("GET", q(clusterPath("etag-rg", "tagged")))).body.tags ?? {}).toEqual({});

    const patched = await client.managedClusters.beginUpdateTagsAndWait("etag-rg", "tagged", { tags: { a: "b" } }, { ifMatch: before, updateIntervalInMs: 10 });
    expect(patched.tags).toEqual({ a: "b" });
    expect(await clusterETag("tagged")).not.toBe(before);

    for (const ifMatch of ["*", before]) {
      expect((await arm.call("PATCH", q(clusterPath("etag-rg", "nosuch")), { tags: {} }, { "if-match": ifMatch })).status).toBe(404);
    }
  });

  it("cluster DELETE: a stale If-Match is 412 and the cluster stays; the current one deletes; a missing cluster is 204", async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "doomed", sdkCluster(), { updateIntervalInMs: 10 });
    const etag = await clusterETag("doomed");
    const stale = await restError(() => client.managedClusters.beginDeleteAndWait("etag-rg", "doomed", { ifMatch: "stale", updateIntervalInMs: 10 }));
    expect({ status: stale.statusCode, code: stale.code }).toEqual({ status: 412, code: "PreconditionFailed" });
    expect(await clusterETag("doomed")).toBe(etag);

    const accepted = await arm.call("DELETE", q(clusterPath("etag-rg", "doomed")), undefined, { "if-match": etag });
    expect(accepted.status).toBe(202);
    await arm.pollAsyncOperation(accepted.headers.get("azure-asyncoperation")!);
    expect((await arm.call("GET", q(clusterPath("etag-rg", "doomed")))).status).toBe(404);

    for (const ifMatch of ["*", etag]) {
      expect((await arm.call("DELETE", q(clusterPath("etag-rg", "doomed")), undefined, { "if-match": ifMatch })).status).toBe(204);
    }
  });

  it("agent pools: PUT and DELETE compare properties.eTag; If-None-Match * refuses an existing pool, If-Match a missing one", async () => {
    await client.managedClusters.beginCreateOrUpdateAndWait("etag-rg", "pools", sdkCluster(), { updateIntervalInMs: 10 });
    const poolBody = { properties: { count: 1, vmSize: "Standard_DS2_v2", mode: "User" } };

    // create: If-Match on a missing pool 412, If-None-Match * creates
    expectArmError(await arm.call("PUT", q(poolPath("etag-rg", "pools", "user1")), poolBody, { "if-match": "*" }), 412, "PreconditionFailed");
    expect((await arm.call("GET", q(poolPath("etag-rg", "pools", "user1")))).status).toBe(404);
    const created = await client.agentPools.beginCreateOrUpdateAndWait("etag-rg", "pools", "user1", { count: 1, vmSize: "Standard_DS2_v2", mode: "User" }, { ifNoneMatch: "*", updateIntervalInMs: 10 });
    const first = await poolETag("pools", "user1");
    expect(created.eTag).toBe(first);
    expectArmError(await arm.call("PUT", q(poolPath("etag-rg", "pools", "user1")), poolBody, { "if-none-match": "*" }), 412, "PreconditionFailed");

    // update: stale 412 (count unchanged), current succeeds and the eTag changes
    const stale = await restError(() => client.agentPools.beginCreateOrUpdateAndWait("etag-rg", "pools", "user1", { count: 3, vmSize: "Standard_DS2_v2", mode: "User" }, { ifMatch: "stale", updateIntervalInMs: 10 }));
    expect({ status: stale.statusCode, code: stale.code }).toEqual({ status: 412, code: "PreconditionFailed" });
    expect((await arm.call("GET", q(poolPath("etag-rg", "pools", "user1")))).body.properties.count).toBe(1);
    const scaled = await client.agentPools.beginCreateOrUpdateAndWait("etag-rg", "pools", "user1", { count: 3, vmSize: "Standard_DS2_v2", mode: "User" }, { ifMatch: first, updateIntervalInMs: 10 });
    expect(scaled.count).toBe(3);
    const second = await poolETag("pools", "user1");
    expect(second).not.toBe(first);

    // the cluster's eTag is not the pool's: using it on the pool is stale
    const clusterTag = await clusterETag("pools");
    expectArmError(await arm.call("DELETE", q(poolPath("etag-rg", "pools", "user1")), undefined, { "if-match": clusterTag }), 412, "PreconditionFailed");
    expectArmError(await arm.call("DELETE", q(poolPath("etag-rg", "pools", "user1")), undefined, { "if-match": first }), 412, "PreconditionFailed");
    expect((await arm.call("GET", q(poolPath("etag-rg", "pools", "user1")))).status).toBe(200);
    await client.agentPools.beginDeleteAndWait("etag-rg", "pools", "user1", { ifMatch: second, updateIntervalInMs: 10 });
    expect((await arm.call("GET", q(poolPath("etag-rg", "pools", "user1")))).status).toBe(404);
    expect((await arm.call("DELETE", q(poolPath("etag-rg", "pools", "user1")), undefined, { "if-match": "*" })).status).toBe(204);
  });

  it("If-None-Match other than '*', or both headers at once: 400, as AKS's prevalidation answers", async () => {
    const etag = await clusterETag("c1");
    expectArmError(await arm.call("PUT", q(clusterPath("etag-rg", "c1")), minimalCluster(), { "if-none-match": etag }), 400, "BadRequest");
    expectArmError(await arm.call("PUT", q(clusterPath("etag-rg", "c1")), minimalCluster(), { "if-none-match": "*", "if-match": etag }), 400, "BadRequest");
    // empty headers are no precondition
    expect((await arm.call("PUT", q(clusterPath("etag-rg", "c1")), minimalCluster(), { "if-match": "", "if-none-match": "" })).status).toBe(200);
  });

  it("no response broke the spec", () => {
    expect(emu.violations).toEqual([]);
  });
});

describe("input limits", () => {
  let emu: TestEmulator;
  let arm: ArmHttp;
  /** The emulator itself, never a test proxy in front of it (npm run test:prism): these requests are meant to be refused. */
  let direct: string;
  let call: (method: string, path: string, body?: unknown) => Promise<RawResponse>;

  beforeAll(async () => {
    emu = await startTestEmulator();
    arm = new ArmHttp(emu);
    direct = `https://localhost:${emu.port}`;
    call = (method, path, body) => arm.call(method, `${direct}${path}`, body);
    expect((await call("PUT", q(rgPath("limits-rg"), RG_VERSION), { location: "eastus" })).status).toBe(201);
    const created = await call("PUT", q(clusterPath("limits-rg", "c1")), minimalCluster());
    expect(created.status).toBe(201);
  });
  afterAll(() => emu?.close());

  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

  it("JSON nested deeper than 64 levels: 400 InvalidRequestContent, checked before parsing, and the server carries on", async () => {
    for (const depth of [65, 200_000]) {
      const body = `{"location":"eastus","tags":{"a":${nested(depth - 2)}}}`;
      const response = await fetch(`${direct}${q(clusterPath("limits-rg", "deep"))}`, { method: "PUT", headers: await arm.headers(), body });
      const json: any = await response.json();
      expect(response.status).toBe(400);
      expect(json.error.code).toBe("InvalidRequestContent");
      expect(json.error.message).toContain("64");
    }
    // 64 levels are not refused for their depth (the shape is wrong for tags, which is another complaint)
    const atLimit = await fetch(`${direct}${q(clusterPath("limits-rg", "deep"))}`, {
      method: "PUT",
      headers: await arm.headers(),
      body: `{"location":"eastus","tags":{"a":${nested(62)}}}`,
    });
    const atLimitJson: any = await atLimit.json();
    expect(atLimit.status).toBe(400);
    expect(atLimitJson.error.message).not.toContain("nested deeper");
    // brackets inside strings are text, not nesting: a 256-character value of them (ARM's limit) is
    // accepted, a 400-character one is refused for its length (InvalidTagValueLength), not its depth
    const text = await call("PATCH", q(clusterPath("limits-rg", "c1")), { tags: { brackets: "{[".repeat(128) } });
    expect(text.status, JSON.stringify(text.body)).toBe(200);
    const long = await call("PATCH", q(clusterPath("limits-rg", "c1")), { tags: { brackets: "{[".repeat(200) } });
    expect({ status: long.status, code: long.body?.error?.code }, JSON.stringify(long.body)).toEqual({ status: 400, code: "InvalidTagValueLength" });
    expect((await call("GET", q(clusterPath("limits-rg", "c1")))).status).toBe(200);
  });

  it("headers over the limit (16 KiB by default): 431 with an ARM JSON error, and the server carries on", async () => {
    const response = await fetch(`${direct}${q(clusterPath("limits-rg", "c1"))}`, { headers: { ...(await arm.headers()), "x-big": "a".repeat(32 * 1024) } });
    expect(response.status).toBe(431);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-ms-request-id")).toBeTruthy();
    const json: any = await response.json();
    expect(json.error.code).toBe("RequestHeaderFieldsTooLarge");
    expect(json.error.message).toContain("16384");
    // the same over a raw socket, with a request line that alone is too long
    const raw = await rawExchange(emu.port, emu.caPem, `GET /${"x".repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(raw.status).toBe(431);
    expect(raw.body.error.code).toBe("RequestHeaderFieldsTooLarge");
    expect((await call("GET", q(clusterPath("limits-rg", "c1")))).status).toBe(200);
  });

  it("malformed HTTP: 400 with an ARM JSON error", async () => {
    const raw = await rawExchange(emu.port, emu.caPem, "GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    expect(raw.status).toBe(400);
    expect(raw.headers["content-type"]).toMatch(/^application\/json/);
    expect(raw.body.error.code).toBe("InvalidRequestFormat");
  });

  it("resource group names: up to 90 characters of the allowed set, not ending in a period", async () => {
    const longest = "r".repeat(90);
    expect((await call("PUT", q(rgPath(longest), RG_VERSION), { location: "eastus" })).status).toBe(201);
    for (const name of ["r".repeat(91), "ends-with-period.", encodeURIComponent("bad*name")]) {
      expectArmError(await call("PUT", q(rgPath(name), RG_VERSION), { location: "eastus" }), 400, "InvalidResourceGroupName");
    }
    // and in an AKS path, where the spec's parameter rule applies
    const tooLong = await call("PUT", q(clusterPath("r".repeat(91), "c9")), minimalCluster());
    expect(expectArmError(tooLong, 400, "InvalidResourceGroupName").message).toContain("resourceGroupName");
  });

  it("cluster and pool names at the spec's limits: 63 and 12 characters pass, 64 and 13 do not", async () => {
    const longest = `c${"1".repeat(62)}`;
    const created = await call("PUT", q(clusterPath("limits-rg", longest)), minimalCluster());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expectArmError(await call("PUT", q(clusterPath("limits-rg", `${longest}2`)), minimalCluster()), 400, "InvalidParameter");
    const pool = await call("PUT", q(poolPath("limits-rg", "c1", "p".repeat(12))), { properties: { count: 1, vmSize: "Standard_DS2_v2" } });
    expect(pool.status, JSON.stringify(pool.body)).toBe(201);
    expectArmError(await call("PUT", q(poolPath("limits-rg", "c1", "p".repeat(13))), { properties: { count: 1, vmSize: "Standard_DS2_v2" } }), 400, "InvalidParameter");
  });

  // Found by the fuzz run (scripts/fuzz.ts): each of these was a 500.
  it("a name holding an encoded percent sign or slash is refused with 400, not a server error", async () => {
    for (const name of ["a%25b", "a%2Fb", "%25"]) {
      const got = await call("GET", q(clusterPath("limits-rg", name)));
      expect(expectArmError(got, 400, "InvalidParameter").target).toBe("resourceName");
    }
  });

  it("sub-resource PUTs without properties (which the spec allows) are refused with 400, not a server error", async () => {
    const binding = await call("PUT", q(`${clusterPath("limits-rg", "c1")}/identityBindings/b1`), {});
    expectArmError(binding, 400, "InvalidParameter");
    const connection = await call("PUT", q(`${clusterPath("limits-rg", "c1")}/privateEndpointConnections/pe1`), {});
    expect(connection.status).toBe(404); // no such connection: the 404 comes before the body check
  });

  it("a body field of format arm-id that is not a resource id: 400 InvalidParameter naming the field; a resource id passes", async () => {
    const subnet = `${SUB}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes`;
    const poolWith = (vnetSubnetID: string) => ({ properties: { count: 1, vmSize: "Standard_DS2_v2", vnetSubnetID } });
    const bad = await call("PUT", q(poolPath("limits-rg", "c1", "subnetpool")), poolWith("nodes-subnet"));
    expect(expectArmError(bad, 400, "InvalidParameter").target).toContain("vnetSubnetID");
    const cluster = minimalCluster() as any;
    cluster.properties.agentPoolProfiles[0].vnetSubnetID = "not-an-id";
    const badCluster = await call("PUT", q(clusterPath("limits-rg", "subnetcluster")), cluster);
    expect(expectArmError(badCluster, 400, "InvalidParameter").message).toMatch(/agentPoolProfiles.*vnetSubnetID/);
    expect((await call("GET", q(clusterPath("limits-rg", "subnetcluster")))).status).toBe(404);
    const good = await call("PUT", q(poolPath("limits-rg", "c1", "subnetpool")), poolWith(subnet));
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    expect(good.body.properties.vnetSubnetID).toBe(subnet);
  });

  it("no response broke the spec", () => {
    expect(emu.violations).toEqual([]);
  });
});

describe("slow and stalled clients", () => {
  const TIMEOUT_MS = 400;
  let emu: TestEmulator;
  let arm: ArmHttp;
  let head: (path: string, contentLength: number) => Promise<string>;

  beforeAll(async () => {
    emu = await startTestEmulator({ requestTimeoutMs: TIMEOUT_MS, maxHeaderBytes: 64 * 1024 });
    arm = new ArmHttp(emu);
    head = async (path, contentLength) => {
      const headers = await arm.headers({ "content-length": String(contentLength), host: `localhost:${emu.port}` });
      return `PUT ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
    };
  });
  afterAll(() => emu?.close());

  it("a body that stalls: 408 RequestTimeout with an ARM error once the request timeout passes; the write never happens", async () => {
    const path = q(rgPath("stalled-rg"), RG_VERSION);
    const exchange = rawExchange(emu.port, emu.caPem, await head(path, 100), [{ delayMs: 0, data: '{"loca' }]);
    // meanwhile the server serves others
    const health = await fetch(`${emu.url}/_emulator/health`);
    expect(health.status).toBe(200);
    expect((await arm.call("GET", q(`${SUB}/resourcegroups`, RG_VERSION))).status).toBe(200);
    const answer = await exchange;
    expect(answer.status).toBe(408);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(answer.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.body.error.code).toBe("RequestTimeout");
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
    expect((await arm.call("GET", q(rgPath("stalled-rg"), RG_VERSION))).status).toBe(404);
  });

  it("a body trickled a byte at a time, slower than the timeout allows: 408, and the write never happens", async () => {
    const body = JSON.stringify({ location: "eastus" });
    const path = q(rgPath("trickle-rg"), RG_VERSION);
    const pieces = [...body].map((data) => ({ delayMs: 100, data }));
    const answer = await rawExchange(emu.port, emu.caPem, await head(path, Buffer.byteLength(body)), pieces);
    expect(answer.status).toBe(408);
    expect(answer.body.error.code).toBe("RequestTimeout");
    expect(answer.elapsedMs).toBeLessThan(body.length * 100);
    expect((await arm.call("GET", q(rgPath("trickle-rg"), RG_VERSION))).status).toBe(404);
  });

  it("headers that never finish: 408 with an ARM error", async () => {
    const answer = await rawExchange(emu.port, emu.caPem, `GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: `);
    expect(answer.status).toBe(408);
    expect(answer.body.error.code).toBe("RequestTimeout");
  });

  it("a request sent in time is served, and a larger header limit is honoured", async () => {
    const answer = await rawExchange(
      emu.port,
      emu.caPem,
      (await head(q(rgPath("prompt-rg"), RG_VERSION), Buffer.byteLength('{"location":"eastus"}'))).replace("\r\n\r\n", `\r\nx-big: ${"a".repeat(32 * 1024)}\r\nconnection: close\r\n\r\n`),
      [{ delayMs: 50, data: '{"location":"eastus"}' }],
    );
    expect(answer.status).toBe(201);
    expect(answer.body.name).toBe("prompt-rg");
  });
});

describe("token checks (FLOCI_AZ_SERVICES_AKS_CHECK_TOKENS)", () => {
  let emu: TestEmulator;
  let arm: ArmHttp;
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    emu = await startTestEmulator({ checkTokens: true });
    arm = new ArmHttp(emu);
    claims = { aud: "https://management.azure.com/", iss: `${emu.url}/${TEST_TENANT}/v2.0`, tid: TEST_TENANT, appid: CLIENT_ID, oid: CLIENT_ID, sub: CLIENT_ID, idtyp: "app", ver: "2.0" };
  });
  afterAll(() => emu?.close());

  const path = q(`${SUB}/resourcegroups`, RG_VERSION);
  const withAuth = async (authorization: string | undefined): Promise<RawResponse> => {
    const response = await fetch(`${emu.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  /** A refusal: 401, ARM's code, and the Bearer challenge naming the emulator's authority. */
  const expectRefused = (answer: RawResponse, code: string) => {
    expectArmError(answer, 401, code);
    const challenge = answer.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer authorization_uri="https:\/\/localhost:\d+\/[0-9a-f-]{36}", error="invalid_token", error_description="[^"]+"$/);
    expect(challenge).toContain(`/${TEST_TENANT}"`);
  };

  it("the SDK, signed in with a client secret at the emulator's token endpoint, passes (writes and long-running polls included)", async () => {
    await arm.createResourceGroup("tokens-rg");
    const client = fastClient(emu);
    const cluster = await client.managedClusters.beginCreateOrUpdateAndWait("tokens-rg", "c1", sdkCluster(), { updateIntervalInMs: 10 });
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.systemData?.createdBy).toBe(CLIENT_ID);
    const listed = [];
    for await (const c of client.managedClusters.listByResourceGroup("tokens-rg")) listed.push(c.name);
    expect(listed).toEqual(["c1"]);
    expect((await arm.call("GET", q(`${SUB}/resourcegroups`, RG_VERSION))).status).toBe(200);
  });

  it("no token, or an Authorization header that is not a bearer token: 401 AuthenticationFailed", async () => {
    expectRefused(await withAuth(undefined), "AuthenticationFailed");
    expectRefused(await withAuth("Basic dXNlcjpwYXNz"), "AuthenticationFailed");
    // ARM authenticates first: a bad api-version is not looked at yet
    const response = await fetch(`${emu.url}${q(clusterPath("tokens-rg", "c1"), "1999-01-01")}`);
    expect(response.status).toBe(401);
  });

  it("a made-up JWT, something that is no JWT, and a token signed by another key: 401 InvalidAuthenticationToken", async () => {
    const made = [Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT" })).toString("base64url"), Buffer.from(JSON.stringify(claims)).toString("base64url"), "c2lnbmF0dXJl"].join(".");
    expectRefused(await withAuth(`Bearer ${made}`), "InvalidAuthenticationToken");
    expectRefused(await withAuth("Bearer not-a-jwt"), "InvalidAuthenticationToken");

    const issuer = await loadOrCreateIssuer(emu.config.keyDir);
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    for (const kid of [issuer.kid, "another-key"]) {
      const forged = await new SignJWT({ ...claims, iat: now, nbf: now, exp: now + 3600 }).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(privateKey);
      expectRefused(await withAuth(`Bearer ${forged}`), "InvalidAuthenticationToken");
    }
    // the same claims signed with the emulator's own key pass
    const genuine = await issuer.sign(claims);
    expect((await withAuth(`Bearer ${genuine}`)).status).toBe(200);
  });

  it("an expired token of the emulator's own: 401 ExpiredAuthenticationToken", async () => {
    const issuer = await loadOrCreateIssuer(emu.config.keyDir);
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
    const answer = await withAuth(`Bearer ${expired}`);
    expectRefused(answer, "ExpiredAuthenticationToken");
    expect(answer.body.error.message).toContain("expiry");
  });

  it("a token the emulator issued for another tenant: 401 InvalidAuthenticationTokenTenant", async () => {
    const otherTenant = "99999999-8888-7777-6666-555555555555";
    const credential = new ClientSecretCredential(otherTenant, CLIENT_ID, "any-secret", { authorityHost: emu.url, disableInstanceDiscovery: true });
    const token = await credential.getToken(ARM_SCOPE);
    const answer = await withAuth(`Bearer ${token!.token}`);
    expectRefused(answer, "InvalidAuthenticationTokenTenant");
    expect(answer.body.error.message).toContain(otherTenant);
  });

  it("the identity, metadata and /_emulator endpoints need no token", async () => {
    for (const open of [
      "/metadata/endpoints?api-version=2022-09-01",
      `/${TEST_TENANT}/v2.0/.well-known/openid-configuration`,
      `/${TEST_TENANT}/discovery/v2.0/keys`,
      "/_emulator/health",
      "/_emulator/ca.pem",
    ]) {
      expect((await fetch(`${emu.url}${open}`)).status, open).toBe(200);
    }
  });

  it("no response broke the spec", () => {
    expect(emu.violations).toEqual([]);
  });
});

describe("token checks off (the default)", () => {
  let emu: TestEmulator;
  beforeAll(async () => {
    emu = await startTestEmulator();
  });
  afterAll(() => emu?.close());

  it("any bearer token, or none, is accepted", async () => {
    for (const headers of [{}, { authorization: "Bearer not-a-jwt" }] as Record<string, string>[]) {
      expect((await fetch(`${emu.url}${q(`${SUB}/resourcegroups`, RG_VERSION)}`, { headers })).status).toBe(200);
    }
  });
});

describe("the emulator's own endpoints", () => {
  let emu: TestEmulator;
  let arm: ArmHttp;
  beforeAll(async () => {
    emu = await startTestEmulator();
    arm = new ArmHttp(emu);
  });
  afterAll(() => emu?.close());

  it("GET /_emulator/health: 200 JSON naming the mode and the api-versions served", async () => {
    const response = await fetch(`${emu.url}/_emulator/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: "ok", mode: "mock", strict: false, apiVersions: [...apiVersions] });
  });

  it("POST /_emulator/reset: 204, and the clusters and resource groups are gone", async () => {
    await arm.createResourceGroup("reset-rg");
    expect((await arm.call("PUT", q(clusterPath("reset-rg", "c1")), minimalCluster())).status).toBe(201);
    expect((await arm.call("GET", q(`${SUB}/providers/Microsoft.ContainerService/managedClusters`))).body.value).toHaveLength(1);

    const reset = await fetch(`${emu.url}/_emulator/reset`, { method: "POST" });
    expect(reset.status).toBe(204);

    expect((await arm.call("GET", q(`${SUB}/providers/Microsoft.ContainerService/managedClusters`))).body.value).toEqual([]);
    expect((await arm.call("GET", q(`${SUB}/resourcegroups`, RG_VERSION))).body.value).toEqual([]);
    expectArmError(await arm.call("GET", q(clusterPath("reset-rg", "c1"))), 404, "ResourceGroupNotFound");
    // and the emulator works on from empty
    await arm.createResourceGroup("reset-rg");
    expect((await arm.call("PUT", q(clusterPath("reset-rg", "c1")), minimalCluster())).status).toBe(201);
  });
});
