// Bad input, answered the way ARM answers it: the right status and error code in the envelope
// {"error": {"code", "message"}}, JSON, with x-ms-request-id, and nothing stored by a refused write.
// Driven over HTTPS with fetch (as curl or a hand-written client would) and through the real
// @azure/arm-containerservice SDK (RestError.statusCode and .code).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { startTestEmulator, TEST_SUBSCRIPTION, type TestEmulator } from "../support/emulator.js";
import { jsonOrUndefined } from "../support/sdk.js";
import { GatedBackend } from "../support/gatedBackend.js";

const V_NEW = "2026-06-01";
const V_OLD = "2025-10-01";
const RG_VERSION = "2023-07-01";
const SUB = `/subscriptions/${TEST_SUBSCRIPTION}`;
const rgPath = (rg: string) => `${SUB}/resourceGroups/${rg}`;
const clusterPath = (rg: string, name: string) => `${rgPath(rg)}/providers/Microsoft.ContainerService/managedClusters/${name}`;
const poolPath = (rg: string, cluster: string, pool: string) => `${clusterPath(rg, cluster)}/agentPools/${pool}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string | ReadableStream<Uint8Array>; apiVersion?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(path, baseUrl);
  const apiVersion = options.apiVersion === undefined ? V_NEW : options.apiVersion;
  if (apiVersion !== null) url.searchParams.set("api-version", apiVersion);
  const init: RequestInit & { duplex?: "half" } = { method, headers: { ...options.headers } };
  if (options.rawBody !== undefined) {
    init.body = options.rawBody;
    if (options.rawBody instanceof ReadableStream) init.duplex = "half";
  } else if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
  }
  if (init.body !== undefined) (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: jsonOrUndefined(text) };
}

/** The ARM error envelope: status, code, a message, JSON, and the request-id headers. */
function expectArmError(answer: Answer, status: number, code: string): { code: string; message: string; target?: string; details?: { message: string }[] } {
  expect({ status: answer.status, body: answer.json }).toMatchObject({ status, body: { error: { code } } });
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.headers.get("x-ms-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  expect(answer.headers.get("x-ms-correlation-request-id")).toBeTruthy();
  expect(typeof answer.json.error.message).toBe("string");
  expect(answer.json.error.message.length).toBeGreaterThan(10);
  return answer.json.error;
}

/** Everything a client can see of the subscription: groups, clusters (with their pools) and pool lists. */
async function snapshot(baseUrl: string): Promise<string> {
  const groups = await call(baseUrl, "GET", `${SUB}/resourcegroups`, { apiVersion: RG_VERSION });
  const clusters = await call(baseUrl, "GET", `${SUB}/providers/Microsoft.ContainerService/managedClusters`);
  expect(groups.status).toBe(200);
  expect(clusters.status).toBe(200);
  const pools: unknown[] = [];
  for (const cluster of clusters.json.value) {
    const list = await call(baseUrl, "GET", `${cluster.id}/agentPools`);
    expect(list.status).toBe(200);
    pools.push(list.json.value);
  }
  return JSON.stringify({ groups: groups.json.value, clusters: clusters.json.value, pools });
}

/** The SDK's RestError (checked by shape: the SDK may carry its own copy of core-rest-pipeline). */
function answerDetails(error: { details?: { message: string }[] }): { message: string }[] | undefined {
  return error.details;
}

function expectRestError(error: unknown, status: number, code: string): void {
  const restError = error as { name?: string; statusCode?: number; code?: string };
  expect({ name: restError.name, statusCode: restError.statusCode, code: restError.code }).toEqual({ name: "RestError", statusCode: status, code });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const CLUSTER_BODY = {
  location: "eastus",
  properties: {
    dnsPrefix: "c1",
    agentPoolProfiles: [{ name: "nodepool1", count: 2, vmSize: "Standard_DS2_v2", mode: "System" }],
  },
  tags: { env: "test" },
};

// Strict mode: Azure's exact refusals (the default mode lets off a few of them, each named in a
// header: test/api/apiVersions.test.ts and test/seed/quickstart.test.ts).
describe("bad input against a strict emulator", () => {
  let emu: TestEmulator;
  let client: ContainerServiceClient;
  let before: string;
  const req = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(emu.url, method, path, options);

  beforeAll(async () => {
    emu = await startTestEmulator({ strict: true });
    client = new ContainerServiceClient(emu.credential, TEST_SUBSCRIPTION, { endpoint: emu.url, updateIntervalInMs: 10 } as any);
    const rg = await req("PUT", rgPath("rg1"), { apiVersion: RG_VERSION, body: { location: "eastus" } });
    expect(rg.status).toBe(201);
    const cluster = await client.managedClusters.beginCreateOrUpdateAndWait("rg1", "c1", {
      location: "eastus",
      dnsPrefix: "c1",
      agentPoolProfiles: [{ name: "nodepool1", count: 2, vmSize: "Standard_DS2_v2", mode: "System" }],
    });
    expect(cluster.provisioningState).toBe("Succeeded");
    before = await snapshot(emu.url);
    expect(JSON.parse(before).clusters).toHaveLength(1);
  });

  afterAll(async () => {
    // Every refusal left the subscription exactly as it was, and no response broke the spec.
    if (emu) {
      expect(await snapshot(emu.url)).toBe(before);
      expect(emu.violations).toEqual([]);
      await emu.close();
    }
  });

  /** Runs a refused request and checks that what a client can list is unchanged afterwards. */
  async function refused(answer: Promise<Answer>, status: number, code: string) {
    const error = expectArmError(await answer, status, code);
    expect(await snapshot(emu.url)).toBe(before);
    return error;
  }

  describe("api-version", () => {
    it("a cluster route without api-version: 400 MissingApiVersionParameter", async () => {
      await refused(req("GET", clusterPath("rg1", "c1"), { apiVersion: null }), 400, "MissingApiVersionParameter");
      await refused(req("PUT", clusterPath("rg1", "c2"), { apiVersion: null, body: CLUSTER_BODY }), 400, "MissingApiVersionParameter");
      // an empty value is as good as none
      await refused(req("GET", clusterPath("rg1", "c1"), { apiVersion: "" }), 400, "MissingApiVersionParameter");
    });

    it("an api-version managedClusters does not know: 400 NoRegisteredProviderFound naming the supported ones", async () => {
      for (const version of ["2019-01-01", "garbage", "2026-06-01-preview"]) {
        const error = await refused(req("PUT", clusterPath("rg1", "c2"), { apiVersion: version, body: CLUSTER_BODY }), 400, "NoRegisteredProviderFound");
        expect(error.message).toContain(`API version '${version}'`);
        expect(error.message).toContain("managedClusters");
        expect(error.message).toContain(V_NEW);
        expect(error.message).toContain(V_OLD);
        expect(error.message).toMatch(/The supported api-versions are/);
      }
      const get = await refused(req("GET", clusterPath("rg1", "c1"), { apiVersion: "2019-01-01" }), 400, "NoRegisteredProviderFound");
      expect(get.message).toContain("2019-01-01");
    });

    it("an unknown api-version on a resource-group route: 400 InvalidApiVersionParameter", async () => {
      await refused(req("GET", rgPath("rg1"), { apiVersion: "2019-01-02" }), 400, "InvalidApiVersionParameter");
      await refused(req("PUT", rgPath("rg9"), { apiVersion: "garbage", body: { location: "eastus" } }), 400, "InvalidApiVersionParameter");
      await refused(req("GET", rgPath("rg1"), { apiVersion: null }), 400, "MissingApiVersionParameter");
    });

    it("an operation only 2026-06-01 has, asked at 2025-10-01: 400 NoRegisteredProviderFound", async () => {
      const path = `${clusterPath("rg1", "c1")}/identityBindings`;
      const error = await refused(req("GET", path, { apiVersion: V_OLD }), 400, "NoRegisteredProviderFound");
      expect(error.message).toContain(V_OLD);
      expect(error.message).toContain(V_NEW);
      // the same route at 2026-06-01 is known (whatever the handler answers, it is not a version error)
      const known = await req("GET", path, { apiVersion: V_NEW });
      expect(known.json?.error?.code).not.toBe("NoRegisteredProviderFound");
    });
  });

  describe("request bodies", () => {
    it("malformed JSON on a cluster PUT: 400 InvalidRequestContent", async () => {
      await refused(req("PUT", clusterPath("rg1", "c2"), { rawBody: '{"location": "eastus", "properties": {' }), 400, "InvalidRequestContent");
      await refused(req("PUT", clusterPath("rg1", "c1"), { rawBody: "not json at all" }), 400, "InvalidRequestContent");
    });

    it("a pool count that is not a number: 400 naming the field", async () => {
      const body = structuredClone(CLUSTER_BODY);
      (body.properties.agentPoolProfiles[0] as any).count = "three";
      const error = await refused(req("PUT", clusterPath("rg1", "c2"), { body }), 400, "InvalidRequestContent");
      expect(error.message).toContain("agentPoolProfiles");
      expect(error.message).toContain("count");
      // the existing cluster is not touched by a bad update either
      await refused(req("PUT", clusterPath("rg1", "c1"), { body }), 400, "InvalidRequestContent");
    });

    it("tags that are not a map: 400 naming tags", async () => {
      const error = await refused(req("PUT", clusterPath("rg1", "c2"), { body: { ...CLUSTER_BODY, tags: 5 } }), 400, "InvalidRequestContent");
      expect(error.message).toContain("tags");
      const patch = await refused(req("PATCH", clusterPath("rg1", "c1"), { body: { tags: 5 } }), 400, "InvalidRequestContent");
      expect(patch.message).toContain("tags");
    });

    it("a cluster PUT without location: 400 LocationRequired, before any other complaint", async () => {
      const { location: _location, ...body } = CLUSTER_BODY;
      await refused(req("PUT", clusterPath("rg1", "c2"), { body }), 400, "LocationRequired");
      const alsoBadCount = structuredClone(body);
      (alsoBadCount.properties.agentPoolProfiles[0] as any).count = "three";
      await refused(req("PUT", clusterPath("rg1", "c2"), { body: alsoBadCount }), 400, "LocationRequired");
    });

    it("a write without a body, or with JSON that is not an object: 400 InvalidRequestContent", async () => {
      for (const rawBody of ["", "null", "[]", "5"]) {
        const error = await refused(req("PUT", clusterPath("rg1", "c2"), { rawBody }), 400, "InvalidRequestContent");
        // one complaint once, not once per schema branch
        const messages = (answerDetails(error) ?? []).map((d) => d.message);
        expect(new Set(messages).size).toBe(messages.length);
        await refused(req("PUT", poolPath("rg1", "c1", "pool2"), { rawBody }), 400, "InvalidRequestContent");
        await refused(req("PATCH", clusterPath("rg1", "c1"), { rawBody }), 400, "InvalidRequestContent");
      }
      const empty = await refused(req("PUT", clusterPath("rg1", "c2"), { rawBody: "" }), 400, "InvalidRequestContent");
      expect(empty.message).not.toContain("requestBody");
    });

    it("a cluster name that breaks the naming rule: 400 naming resourceName", async () => {
      for (const name of [encodeURIComponent("bad_name!"), "a".repeat(70), "-leadinghyphen"]) {
        const error = await refused(req("PUT", clusterPath("rg1", name), { body: CLUSTER_BODY }), 400, "InvalidParameter");
        expect(error.message).toContain("resourceName");
      }
    });

    it("an agent pool name that breaks the naming rule: 400 naming the pool name", async () => {
      // in the cluster body
      for (const name of ["NodePool1", "abcdefghijklm"]) {
        const body = structuredClone(CLUSTER_BODY);
        body.properties.agentPoolProfiles[0].name = name;
        const error = await refused(req("PUT", clusterPath("rg1", "c2"), { body }), 400, "InvalidParameter");
        expect(error.message).toMatch(/agentPoolProfiles.*name/);
      }
      // in the agent pool's own path
      for (const name of ["Pool2", "abcdefghijklm"]) {
        const error = await refused(req("PUT", poolPath("rg1", "c1", name), { body: { properties: { count: 1, vmSize: "Standard_DS2_v2" } } }), 400, "InvalidParameter");
        expect(error.message).toContain("agentPoolName");
      }
    });

    it("a malformed subscription id: 400 InvalidSubscriptionId", async () => {
      const path = `/subscriptions/not-a-guid/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c2`;
      const error = await refused(req("PUT", path, { body: CLUSTER_BODY }), 400, "InvalidSubscriptionId");
      expect(error.message).toContain("not-a-guid");
      await refused(req("GET", path), 400, "InvalidSubscriptionId");
      await refused(req("PUT", `/subscriptions/not-a-guid/resourcegroups/rg9`, { apiVersion: RG_VERSION, body: { location: "eastus" } }), 400, "InvalidSubscriptionId");
    });

    it("the SDK sees the same refusals as RestError", async () => {
      const noLocation = await rejection(
        client.managedClusters.beginCreateOrUpdateAndWait("rg1", "c2", { agentPoolProfiles: [{ name: "nodepool1", count: 1, mode: "System" }] } as any),
      );
      expectRestError(noLocation, 400, "LocationRequired");
      const badPool = await rejection(
        client.agentPools.beginCreateOrUpdateAndWait("rg1", "c1", "BadPool", { count: 1, vmSize: "Standard_DS2_v2" }),
      );
      expectRestError(badPool, 400, "InvalidParameter");
      expect(await snapshot(emu.url)).toBe(before);
    });
  });

  describe("things that do not exist", () => {
    it("a cluster PUT or GET in a missing resource group: 404 ResourceGroupNotFound", async () => {
      const put = await refused(req("PUT", clusterPath("nosuchrg", "c2"), { body: CLUSTER_BODY }), 404, "ResourceGroupNotFound");
      expect(put.message).toContain("nosuchrg");
      await refused(req("GET", clusterPath("nosuchrg", "c1")), 404, "ResourceGroupNotFound");
      expectRestError(await rejection(client.managedClusters.get("nosuchrg", "c1")), 404, "ResourceGroupNotFound");
      expectRestError(
        await rejection(client.managedClusters.beginCreateOrUpdateAndWait("nosuchrg", "c2", { location: "eastus", agentPoolProfiles: [{ name: "nodepool1", count: 1, mode: "System" }] })),
        404,
        "ResourceGroupNotFound",
      );
      expect(await snapshot(emu.url)).toBe(before);
    });

    it("a missing cluster: 404 ResourceNotFound with ARM's message", async () => {
      const error = await refused(req("GET", clusterPath("rg1", "nosuchcluster")), 404, "ResourceNotFound");
      expect(error.message).toContain("Microsoft.ContainerService/managedClusters/nosuchcluster");
      expect(error.message).toContain("rg1");
      expectRestError(await rejection(client.managedClusters.get("rg1", "nosuchcluster")), 404, "ResourceNotFound");
      await refused(req("PATCH", clusterPath("rg1", "nosuchcluster"), { body: { tags: { a: "b" } } }), 404, "ResourceNotFound");
      await refused(req("GET", `${clusterPath("rg1", "nosuchcluster")}/agentPools`), 404, "ResourceNotFound");
      await refused(req("PUT", poolPath("rg1", "nosuchcluster", "pool2"), { body: { properties: { count: 1 } } }), 404, "ResourceNotFound");
    });

    it("a missing pool on an existing cluster: 404 NotFound", async () => {
      const error = await refused(req("GET", poolPath("rg1", "c1", "nosuchpool")), 404, "NotFound");
      expect(error.message).toContain("nosuchpool");
      expectRestError(await rejection(client.agentPools.get("rg1", "c1", "nosuchpool")), 404, "NotFound");
    });

    it("credentials of a missing cluster: 404", async () => {
      for (const action of ["listClusterUserCredential", "listClusterAdminCredential", "listClusterMonitoringUserCredential"]) {
        await refused(req("POST", `${clusterPath("rg1", "nosuchcluster")}/${action}`), 404, "ResourceNotFound");
      }
      expectRestError(await rejection(client.managedClusters.listClusterUserCredentials("rg1", "nosuchcluster")), 404, "ResourceNotFound");
      expectRestError(await rejection(client.managedClusters.listClusterAdminCredentials("nosuchrg", "c1")), 404, "ResourceGroupNotFound");
    });

    it("deleting what does not exist changes nothing (204)", async () => {
      const cluster = await req("DELETE", clusterPath("rg1", "nosuchcluster"));
      expect(cluster.status).toBe(204);
      const pool = await req("DELETE", poolPath("rg1", "c1", "nosuchpool"));
      expect(pool.status).toBe(204);
      expect(await snapshot(emu.url)).toBe(before);
    });
  });

  describe("query parameters", () => {
    it("those an operation does not declare are ignored, as ARM ignores them; $skipToken pages", async () => {
      const list = await req("GET", `${SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=${V_NEW}&foo=bar&$skipToken=0`, {
        apiVersion: null,
      });
      expect(list.status).toBe(200);
      expect(list.json.value.map((c: any) => c.name)).toEqual(["c1"]);
      const past = await req("GET", `${clusterPath("rg1", "c1")}/agentPools?api-version=${V_OLD}&$skipToken=1&$top=5`, { apiVersion: null });
      expect(past.status).toBe(200);
      expect(past.json.value).toEqual([]);
      const get = await req("GET", `${clusterPath("rg1", "c1")}?api-version=${V_NEW}&unexpected=1`, { apiVersion: null });
      expect(get.status).toBe(200);
    });

    it("a malformed $skipToken: 400 InvalidSkipToken", async () => {
      await refused(
        req("GET", `${SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=${V_NEW}&$skipToken=abc`, { apiVersion: null }),
        400,
        "InvalidSkipToken",
      );
    });
  });

  describe("paths and methods", () => {
    it("an unknown path: 404 JSON ARM error", async () => {
      await refused(req("GET", "/no/such/endpoint"), 404, "NotFound");
      await refused(req("GET", `${clusterPath("rg1", "c1")}/noSuchChild`), 404, "NotFound");
      await refused(req("POST", `${SUB}/providers/Microsoft.ContainerService/noSuchThing`, { body: {} }), 404, "NotFound");
    });

    it("a method the route does not have: 405 JSON ARM error", async () => {
      const error = await refused(req("PATCH", poolPath("rg1", "c1", "nodepool1"), { body: { properties: { count: 3 } } }), 405, "MethodNotAllowed");
      expect(error.message).toContain("PATCH");
      const allowed = (await req("PATCH", poolPath("rg1", "c1", "nodepool1"), { body: {} })).headers.get("allow")!.split(/,\s*/).sort();
      expect(allowed).toEqual(["DELETE", "GET", "PUT"]);
      await refused(req("POST", clusterPath("rg1", "c1"), { body: {} }), 405, "MethodNotAllowed");
    });
  });

  it("the server still serves after all of the above", async () => {
    const cluster = await req("GET", clusterPath("rg1", "c1"));
    expect(cluster.status).toBe(200);
    expect(cluster.json.properties.provisioningState).toBe("Succeeded");
    expect((await client.managedClusters.get("rg1", "c1")).name).toBe("c1");
  });
});

describe("a write while another is in progress", () => {
  let emu: TestEmulator;
  let backend: GatedBackend;
  const req = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(emu.url, method, path, options);

  beforeAll(async () => {
    backend = new GatedBackend({ held: true, gated: ["applyCluster", "applyAgentPool", "deleteAgentPool", "deleteCluster"] });
    emu = await startTestEmulator({}, { backend });
    const rg = await req("PUT", rgPath("rg1"), { apiVersion: RG_VERSION, body: { location: "eastus" } });
    expect(rg.status).toBe(201);
  });
  afterAll(async () => {
    backend?.releaseAll();
    if (emu) {
      expect(emu.violations).toEqual([]);
      await emu.close();
    }
  });

  /** Polls an Azure-AsyncOperation URL like a client, until the status is terminal. */
  async function pollUntilDone(url: string): Promise<any> {
    for (;;) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const body: any = await response.json();
      if (body.status !== "InProgress") return body;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it("answers 409 OperationNotAllowed to every other write until the first has finished", async () => {
    const create = await req("PUT", clusterPath("rg1", "busy"), { body: CLUSTER_BODY });
    expect(create.status).toBe(201);
    expect(create.json.properties.provisioningState).toBe("Creating");
    expect(backend.pending).toBe(1);
    const statusUrl = create.headers.get("azure-asyncoperation")!;
    expect(statusUrl).toMatch(new RegExp(`^${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/eastus/operations/`));
    expect(create.headers.get("retry-after")).toBe("1");

    const running = await fetch(statusUrl);
    expect(running.status).toBe(200);
    expect(running.headers.get("retry-after")).toBe("1");
    expect(await running.json()).toMatchObject({ status: "InProgress" });

    const stored = (await req("GET", clusterPath("rg1", "busy"))).text;
    const pools = (await req("GET", `${clusterPath("rg1", "busy")}/agentPools`)).text;
    const update = structuredClone(CLUSTER_BODY);
    update.tags = { env: "changed" };
    const conflicts = [
      await req("PUT", clusterPath("rg1", "busy"), { body: update }),
      await req("PUT", poolPath("rg1", "busy", "pool2"), { body: { properties: { count: 1, vmSize: "Standard_DS2_v2" } } }),
      await req("PUT", poolPath("rg1", "busy", "nodepool1"), { body: { properties: { count: 5, vmSize: "Standard_DS2_v2", mode: "System" } } }),
      await req("DELETE", poolPath("rg1", "busy", "nodepool1")),
      await req("DELETE", clusterPath("rg1", "busy")),
      await req("PATCH", clusterPath("rg1", "busy"), { body: { tags: { env: "patched" } } }),
      await req("DELETE", rgPath("rg1"), { apiVersion: RG_VERSION }),
    ];
    for (const conflict of conflicts) {
      const error = expectArmError(conflict, 409, "OperationNotAllowed");
      expect(error.message).toContain("in progress");
    }
    // the SDK sees the same refusal
    const client = new ContainerServiceClient(emu.credential, TEST_SUBSCRIPTION, { endpoint: emu.url, updateIntervalInMs: 10 } as any);
    expectRestError(await rejection(client.managedClusters.beginUpdateTagsAndWait("rg1", "busy", { tags: { a: "b" } })), 409, "OperationNotAllowed");
    // nothing the refused writes carried was stored, and no further work was started
    expect((await req("GET", clusterPath("rg1", "busy"))).text).toBe(stored);
    expect((await req("GET", `${clusterPath("rg1", "busy")}/agentPools`)).text).toBe(pools);
    expect(backend.pending).toBe(1);
    expect(((await fetch(statusUrl).then((r) => r.json())) as any).status).toBe("InProgress");

    backend.releaseAll();
    expect(await pollUntilDone(statusUrl)).toMatchObject({ status: "Succeeded" });
    const done = await req("GET", clusterPath("rg1", "busy"));
    expect(done.json.properties.provisioningState).toBe("Succeeded");
    expect(done.json.tags).toEqual({ env: "test" });

    // now the writes go through
    const tags = await req("PATCH", clusterPath("rg1", "busy"), { body: { tags: { env: "patched" } } });
    expect(tags.status).toBe(200);
    expect(tags.json.tags).toEqual({ env: "patched" });
    backend.releaseAll();
    await pollUntilDone(tags.headers.get("azure-asyncoperation")!);

    const second = await req("PUT", clusterPath("rg1", "busy"), { body: update });
    expect(second.status).toBe(200);
    expect(second.json.properties.provisioningState).toBe("Updating");
    // ...and while that update runs, writes are refused again
    expectArmError(await req("PUT", poolPath("rg1", "busy", "pool2"), { body: { properties: { count: 1 } } }), 409, "OperationNotAllowed");
    backend.releaseAll();
    expect(await pollUntilDone(second.headers.get("azure-asyncoperation")!)).toMatchObject({ status: "Succeeded" });

    const pool = await req("PUT", poolPath("rg1", "busy", "pool2"), { body: { properties: { count: 1, vmSize: "Standard_DS2_v2" } } });
    expect(pool.status).toBe(201);
    backend.releaseAll();
    expect(await pollUntilDone(pool.headers.get("azure-asyncoperation")!)).toMatchObject({ status: "Succeeded" });

    const deleted = await req("DELETE", clusterPath("rg1", "busy"));
    expect(deleted.status).toBe(202);
    backend.releaseAll();
    expect(await pollUntilDone(deleted.headers.get("azure-asyncoperation")!)).toMatchObject({ status: "Succeeded" });
    expectArmError(await req("GET", clusterPath("rg1", "busy")), 404, "ResourceNotFound");
  });
});

describe("oversized bodies", () => {
  let emu: TestEmulator;
  beforeAll(async () => {
    emu = await startTestEmulator({ maxBodyBytes: 10_000 });
    const rg = await call(emu.url, "PUT", rgPath("rg1"), { apiVersion: RG_VERSION, body: { location: "eastus" } });
    expect(rg.status).toBe(201);
  });
  afterAll(async () => emu?.close());

  const bigBody = () => JSON.stringify({ ...CLUSTER_BODY, tags: { big: "x".repeat(20_000) } });

  it("with a content-length over the limit: 413 with an ARM error", async () => {
    const answer = await call(emu.url, "PUT", clusterPath("rg1", "big"), { rawBody: bigBody() });
    const error = expectArmError(answer, 413, "RequestContentTooLarge");
    expect(error.message).toContain("10000");
    expectArmError(await call(emu.url, "GET", clusterPath("rg1", "big")), 404, "ResourceNotFound");
  });

  it("streamed without a content-length: 413 with an ARM error", async () => {
    const payload = new TextEncoder().encode(bigBody());
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < payload.length; at += 4096) controller.enqueue(payload.slice(at, at + 4096));
        controller.close();
      },
    });
    const answer = await call(emu.url, "PUT", clusterPath("rg1", "big"), { rawBody: stream });
    expectArmError(answer, 413, "RequestContentTooLarge");
    expectArmError(await call(emu.url, "GET", clusterPath("rg1", "big")), 404, "ResourceNotFound");
  });

  it("over plain HTTP too, and a body under the limit still works afterwards", async () => {
    expectArmError(await call(emu.httpUrl, "PUT", clusterPath("rg1", "big"), { rawBody: bigBody() }), 413, "RequestContentTooLarge");
    const ok = await call(emu.url, "PUT", clusterPath("rg1", "small"), { body: CLUSTER_BODY });
    expect(ok.status).toBe(201);
    const get = await call(emu.url, "GET", clusterPath("rg1", "small"));
    expect(get.status).toBe(200);
  });
});
