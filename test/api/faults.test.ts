// Fault injection (/_emulator/faults, FLOCI_AZ_SERVICES_AKS_FAULTS_FILE): Azure's failures on demand,
// against the real @azure/arm-containerservice client: its own retry honours a 429's Retry-After, a
// failed operation surfaces as its exception with the AKS code, a delayed operation is polled.
// The rules are set straight on the emulator (httpUrl). Not run through Prism (npm run test:prism):
// the injected errors and dropped connections are the emulator's on purpose, not its contract.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestEmulator, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, sdkClient, SDK_DEFAULT_API_VERSION, type RecordingClient } from "../support/sdk.js";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

const RG = "faults-rg";
/** The smallest cluster as the SDK's (flattened) model takes it. */
const SDK_CLUSTER = { location: "eastus", dnsPrefix: "faults", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" as const }] };

async function emulatorCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${emu.httpUrl}${path}`, {
    method,
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

async function addFault(rule: unknown): Promise<any> {
  const answer = await emulatorCall("POST", "/_emulator/faults", rule);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body;
}

async function listFaults(): Promise<any[]> {
  const answer = await emulatorCall("GET", "/_emulator/faults");
  expect(answer.status).toBe(200);
  return answer.body.value;
}

describe("fault injection", () => {
  let sdk: RecordingClient;
  let arm: ArmHttp;

  beforeAll(async () => {
    sdk = sdkClient(emu);
    arm = new ArmHttp(emu);
  });
  beforeEach(async () => {
    expect((await emulatorCall("POST", "/_emulator/reset")).status).toBe(204);
    await arm.createResourceGroup(RG);
  });

  async function createCluster(name: string): Promise<void> {
    const cluster = await sdk.client.managedClusters.beginCreateOrUpdateAndWait(RG, name, SDK_CLUSTER, { updateIntervalInMs: 50 });
    expect(cluster.provisioningState).toBe("Succeeded");
  }

  it("answers a 429 with Retry-After, which the SDK's own retry honours", async () => {
    await createCluster("c429");
    const rule = await addFault({
      match: { operationId: "ManagedClusters_Get", resourceId: "/subscriptions/*/resourceGroups/FAULTS-RG/**" },
      times: 1,
      error: { status: 429, code: "TooManyRequests", message: "Too many requests.", retryAfter: 1 },
    });
    expect(rule).toMatchObject({ id: expect.any(String), times: 1, fired: 0 });
    const statuses: number[] = [];
    sdk.client.pipeline.addPolicy({
      name: "recordStatuses",
      sendRequest: async (request, next) => {
        const response = await next(request);
        if (request.method === "GET" && request.url.includes("/managedClusters/c429")) statuses.push(response.status);
        return response;
      },
    }, { afterPhase: "Retry" });
    const started = Date.now();
    const cluster = await sdk.client.managedClusters.get(RG, "c429");
    expect(cluster.name).toBe("c429");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    sdk.client.pipeline.removePolicy({ name: "recordStatuses" });
    expect(statuses).toEqual([429, 200]);
    expect((await listFaults()).map((f) => [f.id, f.fired])).toEqual([[rule.id, 1]]);
  });

  it("answers the error in ARM's envelope before the request touches state", async () => {
    await addFault({ match: { method: "PUT", operationId: "ManagedClusters_CreateOrUpdate" }, error: { status: 409, code: "OperationNotAllowed", message: "Not now." } });
    const answer = await arm.call("PUT", `${clusterPath(RG, "c409")}?api-version=${SDK_DEFAULT_API_VERSION}`, minimalCluster());
    expect(answer.status).toBe(409);
    expect(answer.body).toEqual({ error: { code: "OperationNotAllowed", message: "Not now." } });
    expect((await arm.call("GET", `${clusterPath(RG, "c409")}?api-version=${SDK_DEFAULT_API_VERSION}`)).status).toBe(404);
    // a rule with an api-version the request does not name does not fire
    await emulatorCall("DELETE", "/_emulator/faults");
    await addFault({ match: { apiVersion: "2020-01-01" }, error: { status: 500, code: "InternalServerError", message: "x" } });
    expect((await arm.call("GET", `${clusterPath(RG, "c409")}?api-version=${SDK_DEFAULT_API_VERSION}`)).status).toBe(404);
  });

  it("fails the long-running operation with the AKS code: the SDK throws it and the cluster reads Failed", async () => {
    await addFault({ match: { operationId: "ManagedClusters_CreateOrUpdate" }, failOperation: { code: "VMExtensionProvisioningError", message: "VM has reported a failure when processing extension 'vmssCSE'." } });
    // core-lro's poller throws its Error naming the operation's code and message.
    const error: Error = await sdk.client.managedClusters.beginCreateOrUpdateAndWait(RG, "cfail", SDK_CLUSTER, { updateIntervalInMs: 50 }).then(
      () => expect.fail("the create should fail"),
      (thrown: Error) => thrown,
    );
    expect(error.message).toBe("The long-running operation has failed. VMExtensionProvisioningError. VM has reported a failure when processing extension 'vmssCSE'.");
    const cluster = await sdk.client.managedClusters.get(RG, "cfail");
    expect(cluster.provisioningState).toBe("Failed");
    const raw = await arm.call("GET", `${clusterPath(RG, "cfail")}?api-version=${SDK_DEFAULT_API_VERSION}`);
    expect(raw.body.properties.status.provisioningError).toEqual({ code: "VMExtensionProvisioningError", message: "VM has reported a failure when processing extension 'vmssCSE'." });
  });

  it("delays the operation's completion: it reads InProgress and the SDK's poller polls to Succeeded", async () => {
    await addFault({ match: { operationId: "ManagedClusters_CreateOrUpdate" }, operationDelayMs: 1200 });
    const started = Date.now();
    const poller = await sdk.client.managedClusters.beginCreateOrUpdate(RG, "cslow", SDK_CLUSTER, { updateIntervalInMs: 100 });
    const statusUrl = sdk.asyncOperationUrls.at(-1)!;
    expect((await arm.call("GET", statusUrl)).body.status).toBe("InProgress");
    const before = sdk.asyncOperationUrls.length;
    let polls = 0;
    sdk.client.pipeline.addPolicy({
      name: "countPolls",
      sendRequest: async (request, next) => {
        if (request.url.startsWith(statusUrl.split("?")[0])) polls++;
        return next(request);
      },
    });
    const cluster = await poller.pollUntilDone();
    sdk.client.pipeline.removePolicy({ name: "countPolls" });
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect(polls).toBeGreaterThan(1);
    expect(sdk.asyncOperationUrls.length).toBeGreaterThanOrEqual(before);
  });

  it("delays the answer by delayMs", async () => {
    await createCluster("cdelay");
    await addFault({ match: { method: "GET", resourceId: "**/managedClusters/cdelay" }, delayMs: 600, times: 1 });
    const started = Date.now();
    const answer = await arm.call("GET", `${clusterPath(RG, "cdelay")}?api-version=${SDK_DEFAULT_API_VERSION}`);
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it("drops the connection", async () => {
    await createCluster("cdrop");
    await addFault({ match: { operationId: "ManagedClusters_Get" }, drop: true, times: 1 });
    const path = `${clusterPath(RG, "cdrop")}?api-version=${SDK_DEFAULT_API_VERSION}`;
    const failure = await fetch(`${emu.httpUrl}${path}`).then(
      () => undefined,
      (error: Error & { cause?: { code?: string } }) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure!.cause?.code ?? failure!.message)).toMatch(/UND_ERR_SOCKET|ECONNRESET|other side closed|fetch failed/);
    // times: 1, so the next request goes through
    expect((await fetch(`${emu.httpUrl}${path}`)).status).toBe(200);
  });

  it("fires a rule with probability and a seed on the same requests every time", async () => {
    await createCluster("cprob");
    const rule = { match: { operationId: "ManagedClusters_Get" }, probability: 0.5, seed: 42, error: { status: 503, code: "ServiceUnavailable", message: "Try later.", retryAfter: 0 } };
    const run = async () => {
      await addFault(rule);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await arm.call("GET", `${clusterPath(RG, "cprob")}?api-version=${SDK_DEFAULT_API_VERSION}`)).status);
      await emulatorCall("DELETE", "/_emulator/faults");
      return statuses;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  it("lists, deletes one, deletes all, and a reset removes the rules", async () => {
    const a = await addFault({ match: { method: "GET" }, delayMs: 1 });
    const b = await addFault({ match: { method: "PUT" }, delayMs: 1 });
    expect((await listFaults()).map((f) => f.id)).toEqual([a.id, b.id]);
    expect((await emulatorCall("DELETE", `/_emulator/faults/${a.id}`)).status).toBe(204);
    const missing = await emulatorCall("DELETE", `/_emulator/faults/${a.id}`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "FaultRuleNotFound"]);
    expect((await listFaults()).map((f) => f.id)).toEqual([b.id]);
    expect((await emulatorCall("DELETE", "/_emulator/faults")).status).toBe(204);
    expect(await listFaults()).toEqual([]);
    await addFault({ match: {}, delayMs: 1 });
    expect((await emulatorCall("POST", "/_emulator/reset")).status).toBe(204);
    expect(await listFaults()).toEqual([]);
  });

  it.each([
    ["not an object", [1]],
    ["no action", { match: { method: "GET" } }],
    ["an unknown property", { match: {}, delayMs: 1, extra: true }],
    ["an unknown match key", { match: { path: "/x" }, delayMs: 1 }],
    ["an error status below 400", { match: {}, error: { status: 200, code: "Ok", message: "x" } }],
    ["an error without a code", { match: {}, error: { status: 500, message: "x" } }],
    ["a probability over 1", { match: {}, probability: 2, delayMs: 1 }],
    ["times of 0", { match: {}, times: 0, delayMs: 1 }],
    ["a negative delay", { match: {}, delayMs: -5 }],
    ["error with drop", { match: {}, drop: true, error: { status: 500, code: "InternalServerError", message: "x" } }],
    ["error with failOperation", { match: {}, error: { status: 500, code: "InternalServerError", message: "x" }, failOperation: { code: "QuotaExceeded", message: "x" } }],
  ])("refuses a rule with %s: 400 InvalidFaultRule", async (_label, body) => {
    const answer = await emulatorCall("POST", "/_emulator/faults", body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("InvalidFaultRule");
    expect(await listFaults()).toEqual([]);
  });

  it("refuses a body that is not JSON", async () => {
    const answer = await emulatorCall("POST", "/_emulator/faults", "{not json");
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBeDefined();
  });
});

describe("the faults file", () => {
  const dir = mkdtempSync(join(tmpdir(), "aks-faults-"));

  it("installs its rules at start and again at each reset", async () => {
    const file = join(dir, "faults.json");
    writeFileSync(file, JSON.stringify([{ match: { operationId: "ManagedClusters_List" }, error: { status: 500, code: "InternalServerError", message: "Injected." } }]));
    const other = await startTestEmulator({ faultsFile: file });
    try {
      const url = `${other.httpUrl}/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.ContainerService/managedClusters?api-version=${SDK_DEFAULT_API_VERSION}`;
      const first = await fetch(url);
      expect(first.status).toBe(500);
      expect(await first.json()).toEqual({ error: { code: "InternalServerError", message: "Injected." } });
      const listed: any = await (await fetch(`${other.httpUrl}/_emulator/faults`)).json();
      expect(listed.value).toMatchObject([{ match: { operationId: "ManagedClusters_List" }, fired: 1 }]);
      expect((await fetch(`${other.httpUrl}/_emulator/reset`, { method: "POST" })).status).toBe(204);
      const again: any = await (await fetch(`${other.httpUrl}/_emulator/faults`)).json();
      expect(again.value).toMatchObject([{ fired: 0 }]);
    } finally {
      await other.close();
    }
  });

  it("stops the start when it cannot be used, naming the file and the rule", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify([{ match: {}, delayMs: 1 }, { match: {}, times: 1 }]));
    await expect(startTestEmulator({ faultsFile: file })).rejects.toThrow(/bad\.json, rule 1/);
  });
});
