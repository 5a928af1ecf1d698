// ARM's own endpoints a real client needs besides AKS: subscriptions, tenants, resource providers
// and resource groups (with the long-running DELETE and its cascade), ARM's case-insensitive paths,
// plain HTTP on the same port and the CA download. Driven over HTTPS with fetch and a bearer token
// from the emulator's own token endpoint, the way az, Terraform and the SDKs call them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_SUBSCRIPTION, TEST_TENANT, type TestEmulator } from "../support/emulator.js";
import { jsonOrUndefined } from "../support/sdk.js";
import { GatedBackend } from "../support/gatedBackend.js";

const SUB = `/subscriptions/${TEST_SUBSCRIPTION}`;
const RG_VERSION = "2023-07-01";
const AKS_VERSION = "2026-06-01";
const clusterPath = (rg: string, name: string, groups = "resourceGroups") =>
  `${SUB}/${groups}/${rg}/providers/Microsoft.ContainerService/managedClusters/${name}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

let emu: TestEmulator;
let backend: GatedBackend;
let token: string;

async function call(method: string, pathAndQuery: string, options: { body?: unknown; base?: string; auth?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.auth !== false) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(pathAndQuery, options.base ?? emu.url), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: jsonOrUndefined(text) };
}

const rg = (method: string, name: string, body?: unknown, groups = "resourcegroups") =>
  call(method, `${SUB}/${groups}/${name}?api-version=${RG_VERSION}`, { body });

function expectArmError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status, code });
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(typeof answer.json.error.message).toBe("string");
  expect(answer.headers.get("x-ms-request-id")).toBeTruthy();
}

const CLUSTER_BODY = {
  location: "westeurope",
  properties: { dnsPrefix: "doomed", agentPoolProfiles: [{ name: "nodepool1", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] },
};

/** PUTs a cluster and polls its Azure-AsyncOperation URL like a client until it has succeeded. */
async function createCluster(path: string): Promise<any> {
  const put = await call("PUT", `${path}?api-version=${AKS_VERSION}`, { body: CLUSTER_BODY });
  expect(put.status).toBe(201);
  const statusUrl = put.headers.get("azure-asyncoperation")!;
  for (;;) {
    const status = await call("GET", statusUrl);
    expect(status.status).toBe(200);
    if (status.json.status !== "InProgress") {
      expect(status.json.status).toBe("Succeeded");
      return put.json;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeAll(async () => {
  backend = new GatedBackend({ held: true, gated: ["deleteCluster"] });
  emu = await startTestEmulator({}, { backend });
  token = (await emu.credential.getToken("https://management.azure.com/.default"))!.token;
});
afterAll(async () => {
  backend?.releaseAll();
  if (emu) {
    expect(emu.violations).toEqual([]);
    await emu.close();
  }
});

describe("subscriptions and tenants", () => {
  it("GET /subscriptions lists the emulator's subscription (and, in the default mode, the documentation's my-sub)", async () => {
    const list = await call("GET", "/subscriptions?api-version=2022-12-01");
    expect(list.status).toBe(200);
    expect(list.headers.get("content-type")).toMatch(/^application\/json/);
    expect(list.headers.get("x-ms-request-id")).toBeTruthy();
    // FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS' default: az resolves `--subscription my-sub` against this list.
    expect(list.json.value.map((s: { subscriptionId: string }) => s.subscriptionId)).toEqual([TEST_SUBSCRIPTION, "my-sub"]);
    expect(list.headers.get("x-aks-emulator-leniency")).toContain("subscription-id: 'my-sub' is listed");
    expect(list.json.value[0]).toMatchObject({
      id: SUB,
      subscriptionId: TEST_SUBSCRIPTION,
      tenantId: TEST_TENANT,
      displayName: expect.any(String),
      state: "Enabled",
    });
    expect(list.json.value[0].displayName.length).toBeGreaterThan(0);
  });

  it("GET /subscriptions/{id} answers the subscription", async () => {
    const one = await call("GET", `${SUB}?api-version=2022-12-01`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: SUB, subscriptionId: TEST_SUBSCRIPTION, tenantId: TEST_TENANT, state: "Enabled" });
    // Not a GUID: let off by default and named (test/api/apiVersions.test.ts has strict mode's refusal).
    const lenient = await call("GET", `/subscriptions/not-a-guid?api-version=2022-12-01`);
    expect(lenient.status).toBe(200);
    expect(lenient.headers.get("x-aks-emulator-leniency")).toMatch(/^subscription-id: 'not-a-guid' is not a GUID/);
    expectArmError(await call("GET", `/subscriptions`), 400, "MissingApiVersionParameter");
  });

  it("GET /tenants lists the tenant", async () => {
    const tenants = await call("GET", "/tenants?api-version=2020-01-01");
    expect(tenants.status).toBe(200);
    expect(tenants.json.value).toHaveLength(1);
    expect(tenants.json.value[0]).toMatchObject({ id: `/tenants/${TEST_TENANT}`, tenantId: TEST_TENANT });
  });
});

describe("resource providers", () => {
  const expectContainerService = (provider: any) => {
    expect(provider).toMatchObject({
      id: `${SUB}/providers/Microsoft.ContainerService`,
      namespace: "Microsoft.ContainerService",
      registrationState: "Registered",
    });
    const clusters = provider.resourceTypes.find((t: any) => t.resourceType === "managedClusters");
    expect(clusters).toBeDefined();
    expect(clusters.apiVersions).toEqual(expect.arrayContaining(["2026-06-01", "2025-10-01"]));
    expect(clusters.locations.length).toBeGreaterThan(0);
    const pools = provider.resourceTypes.find((t: any) => t.resourceType === "managedClusters/agentPools");
    expect(pools?.apiVersions).toEqual(expect.arrayContaining(["2026-06-01", "2025-10-01"]));
  };

  it("GET .../providers lists Microsoft.ContainerService as Registered with managedClusters at both api-versions", async () => {
    const list = await call("GET", `${SUB}/providers?api-version=2021-04-01`);
    expect(list.status).toBe(200);
    expect(list.json.nextLink).toBeUndefined();
    const aks = list.json.value.find((p: any) => p.namespace === "Microsoft.ContainerService");
    expectContainerService(aks);
    // nothing is ever unregistered: Python and az would try to register, Terraform would fail hard
    for (const provider of list.json.value) expect(provider.registrationState).toBe("Registered");
    expect(list.json.value.map((p: any) => p.namespace)).toEqual(expect.arrayContaining(["Microsoft.Resources", "Microsoft.Network"]));
  });

  it("GET .../providers/Microsoft.ContainerService, in any casing", async () => {
    const one = await call("GET", `${SUB}/providers/Microsoft.ContainerService?api-version=2021-04-01`);
    expect(one.status).toBe(200);
    expectContainerService(one.json);
    const lower = await call("GET", `${SUB}/providers/microsoft.containerservice?api-version=2021-04-01`);
    expect(lower.status).toBe(200);
    expectContainerService(lower.json);
  });

  it("POST .../register answers Registered, for AKS and for any other namespace", async () => {
    const aks = await call("POST", `${SUB}/providers/Microsoft.ContainerService/register?api-version=2021-04-01`);
    expect(aks.status).toBe(200);
    expectContainerService(aks.json);
    for (const namespace of ["Microsoft.Storage", "Contoso.Widgets"]) {
      const other = await call("POST", `${SUB}/providers/${namespace}/register?api-version=2021-04-01`);
      expect(other.status).toBe(200);
      expect(other.json).toMatchObject({ namespace, registrationState: "Registered", id: `${SUB}/providers/${namespace}` });
    }
  });
});

describe("resource groups", () => {
  it("PUT creates (201) then updates (200); GET, HEAD and list find it", async () => {
    const created = await rg("PUT", "platform-rg", { location: "westeurope", tags: { team: "a", cost: "1" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id: `${SUB}/resourceGroups/platform-rg`,
      name: "platform-rg",
      type: "Microsoft.Resources/resourceGroups",
      location: "westeurope",
      tags: { team: "a", cost: "1" },
      properties: { provisioningState: "Succeeded" },
    });
    const updated = await rg("PUT", "platform-rg", { location: "westeurope", tags: { team: "b" } });
    expect(updated.status).toBe(200);
    expect(updated.json.tags).toEqual({ team: "b" });

    const got = await rg("GET", "platform-rg");
    expect(got.status).toBe(200);
    expect(got.json).toEqual(updated.json);

    const head = await rg("HEAD", "platform-rg");
    expect(head.status).toBe(204);
    expect(head.text).toBe("");

    const list = await call("GET", `${SUB}/resourcegroups?api-version=${RG_VERSION}`);
    expect(list.status).toBe(200);
    expect(list.json.value).toContainEqual(updated.json);
  });

  it("HEAD of a missing group: 404 without a body; GET: 404 ResourceGroupNotFound", async () => {
    const head = await rg("HEAD", "no-such-rg");
    expect(head.status).toBe(404);
    expect(head.text).toBe("");
    expectArmError(await rg("GET", "no-such-rg"), 404, "ResourceGroupNotFound");
  });

  it("PATCH replaces the whole tags map", async () => {
    await rg("PUT", "tags-rg", { location: "eastus", tags: { a: "1", b: "2" } });
    const patched = await rg("PATCH", "tags-rg", { tags: { c: "3" } });
    expect(patched.status).toBe(200);
    expect(patched.json.tags).toEqual({ c: "3" });
    expect((await rg("GET", "tags-rg")).json.tags).toEqual({ c: "3" });
    expect((await rg("GET", "tags-rg")).json.location).toBe("eastus");
    expectArmError(await rg("PATCH", "tags-rg", { tags: 5 }), 400, "InvalidRequestContent");
    expectArmError(await rg("PATCH", "tags-rg", [1]), 400, "InvalidRequestContent");
    expect((await rg("GET", "tags-rg")).json.tags).toEqual({ c: "3" });
    expectArmError(await rg("PATCH", "no-such-rg", { tags: {} }), 404, "ResourceGroupNotFound");
  });

  it("PUT in another location: 409 InvalidResourceGroupLocation; without location: 400 LocationRequired", async () => {
    await rg("PUT", "fixed-rg", { location: "eastus" });
    expectArmError(await rg("PUT", "fixed-rg", { location: "westus2" }), 409, "InvalidResourceGroupLocation");
    // the same location written differently is the same location
    expect((await rg("PUT", "fixed-rg", { location: "East US" })).status).toBe(200);
    expectArmError(await rg("PUT", "fixed-rg", { tags: {} }), 400, "LocationRequired");
    expectArmError(await rg("PUT", "new-rg", {}), 400, "LocationRequired");
    expect((await rg("GET", "fixed-rg")).json.location).toBe("eastus");
    expect((await rg("HEAD", "new-rg")).status).toBe(404);
  });

  it("DELETE is a long-running operation that takes the group's clusters with it", async () => {
    expect((await rg("PUT", "doomed-rg", { location: "westeurope" })).status).toBe(201);
    const cluster = await createCluster(clusterPath("doomed-rg", "doomed"));
    expect(cluster.id).toBe(clusterPath("doomed-rg", "doomed"));
    const before = await call("GET", `${SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS_VERSION}`);
    expect(before.json.value.map((c: any) => c.id)).toContain(cluster.id);

    const deleted = await rg("DELETE", "doomed-rg");
    expect(deleted.status).toBe(202);
    expect(deleted.headers.get("retry-after")).toBe("1");
    const location = deleted.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/operationresults/[^/?]+\\?api-version=${RG_VERSION}$`));

    // while the cluster is being torn down the result URL answers 202, and the group reads Deleting
    expect(backend.pending).toBe(1);
    const running = await call("GET", location);
    expect(running.status).toBe(202);
    expect(running.headers.get("retry-after")).toBe("1");
    expect(running.headers.get("location")).toBe(location);
    expect((await rg("GET", "doomed-rg")).json.properties.provisioningState).toBe("Deleting");
    expectArmError(await rg("PUT", "doomed-rg", { location: "westeurope" }), 409, "ResourceGroupBeingDeleted");
    // nothing new may be created in a group being deleted (it would vanish with the group)
    const late = await call("PUT", `${clusterPath("doomed-rg", "latecomer")}?api-version=${AKS_VERSION}`, { body: CLUSTER_BODY });
    expectArmError(late, 409, "ResourceGroupBeingDeleted");

    backend.releaseAll();
    let result: Answer;
    for (;;) {
      result = await call("GET", location);
      if (result.status !== 202) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(result.status).toBe(200);

    expectArmError(await rg("GET", "doomed-rg"), 404, "ResourceGroupNotFound");
    expect((await rg("HEAD", "doomed-rg")).status).toBe(404);
    const gone = await call("GET", `${clusterPath("doomed-rg", "doomed")}?api-version=${AKS_VERSION}`);
    expect(gone.status).toBe(404);
    const after = await call("GET", `${SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS_VERSION}`);
    expect(after.status).toBe(200);
    expect(after.json.value.map((c: any) => c.id)).not.toContain(cluster.id);
    const groups = await call("GET", `${SUB}/resourcegroups?api-version=${RG_VERSION}`);
    expect(groups.json.value.map((g: any) => g.name)).not.toContain("doomed-rg");

    // deleting it again: ARM answers 404 ResourceGroupNotFound
    expectArmError(await rg("DELETE", "doomed-rg"), 404, "ResourceGroupNotFound");
    // and the name is free again
    expect((await rg("PUT", "doomed-rg", { location: "northeurope" })).status).toBe(201);
    const fresh = await call("GET", `${SUB}/resourceGroups/doomed-rg/providers/Microsoft.ContainerService/managedClusters?api-version=${AKS_VERSION}`);
    expect(fresh.status).toBe(200);
    expect(fresh.json.value).toEqual([]);
  });

  it("ARM path segments and names match case-insensitively, keeping the creator's casing", async () => {
    expect((await rg("PUT", "CaseRG", { location: "eastus" }, "resourceGroups")).status).toBe(201);
    for (const [groups, name] of [["resourcegroups", "caserg"], ["RESOURCEGROUPS", "CASERG"], ["resourceGroups", "CaseRG"]]) {
      const got = await rg("GET", name, undefined, groups);
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ name: "CaseRG", id: `${SUB}/resourceGroups/CaseRG` });
      expect((await rg("HEAD", name, undefined, groups)).status).toBe(204);
    }
    // a second PUT in other casing updates the same group
    expect((await rg("PUT", "caserg", { location: "eastus", tags: { x: "y" } })).status).toBe(200);
    const all = await call("GET", `${SUB}/resourceGroups?api-version=${RG_VERSION}`);
    expect(all.json.value.filter((g: any) => g.name.toLowerCase() === "caserg")).toHaveLength(1);

    // a cluster under the group in one casing is the same cluster in another
    const cluster = await createCluster(clusterPath("caserg", "CaseCluster", "resourcegroups"));
    expect(cluster.id).toBe(`${SUB}/resourceGroups/CaseRG/providers/Microsoft.ContainerService/managedClusters/CaseCluster`);
    const other = await call(
      "GET",
      `${SUB.toUpperCase()}/RESOURCEGROUPS/CASERG/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/casecluster?api-version=${AKS_VERSION}`,
    );
    expect(other.status).toBe(200);
    expect(other.json.id).toBe(cluster.id);
    expect(other.json.name).toBe("CaseCluster");
  });
});

describe("transport", () => {
  it("plain HTTP works on the same port", async () => {
    expect(emu.httpUrl).toMatch(/^http:\/\//);
    expect(new URL(emu.httpUrl).port).toBe(new URL(emu.url).port);
    const list = await call("GET", "/subscriptions?api-version=2022-12-01", { base: emu.httpUrl, auth: false });
    expect(list.status).toBe(200);
    expect(list.json.value[0].subscriptionId).toBe(TEST_SUBSCRIPTION);
    const group = await call("PUT", `${SUB}/resourcegroups/http-rg?api-version=${RG_VERSION}`, { base: emu.httpUrl, auth: false, body: { location: "eastus" } });
    expect(group.status).toBe(201);
    // and what HTTP wrote, HTTPS reads
    expect((await rg("GET", "http-rg")).status).toBe(200);
  });

  it("GET /_emulator/ca.pem returns the CA the server certificate chains to, over HTTPS and HTTP", async () => {
    expect(emu.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    for (const base of [emu.url, emu.httpUrl]) {
      const response = await fetch(`${base}/_emulator/ca.pem`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(emu.caPem);
    }
  });
});
