// The request journal (GET/DELETE /_emulator/requests) and the API coverage (GET /_emulator/coverage,
// `aks-emulator coverage`), driven by the real @azure/arm-containerservice client.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { apiVersions, operationsByVersion } from "../../generated/operations.js";
import { RequestJournal, type CoverageReport, type JournalEntry } from "../../src/http/journal.js";
import { useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, SDK_DEFAULT_API_VERSION, sdkClient, type RecordingClient } from "../support/sdk.js";

const run = promisify(execFile);
const RG = "journal-rg";
const CLUSTER = "journal-c1";
const USER_CREDENTIALS = "ManagedClusters_ListClusterUserCredentials";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

async function journal(query = ""): Promise<{ value: JournalEntry[]; bodiesKept: boolean; size: { entries: number } }> {
  const response = await fetch(`${emu.url}/_emulator/requests${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as any;
}

async function coverage(): Promise<CoverageReport> {
  const response = await fetch(`${emu.url}/_emulator/coverage`);
  expect(response.status).toBe(200);
  return (await response.json()) as CoverageReport;
}

describe("the request journal and coverage over the SDK", () => {
  let sdk: RecordingClient;

  beforeAll(async () => {
    expect((await fetch(`${emu.url}/_emulator/reset`, { method: "POST" })).status).toBe(204);
    sdk = sdkClient(emu);
    await new ArmHttp(emu).createResourceGroup(RG);
    await sdk.client.managedClusters.beginCreateOrUpdateAndWait(RG, CLUSTER, {
      location: "eastus",
      dnsPrefix: "journal",
      agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }],
    });
    await sdk.client.managedClusters.listClusterUserCredentials(RG, CLUSTER);
  });

  it("names the operation called exactly once, at the SDK's api-version, with its outcome", async () => {
    const { value } = await journal(`?operationId=${USER_CREDENTIALS}`);
    expect(value).toHaveLength(1);
    const [entry] = value;
    expect(entry).toMatchObject({
      method: "POST",
      apiVersion: SDK_DEFAULT_API_VERSION,
      operationId: USER_CREDENTIALS,
      status: 200,
      requestValidation: "passed",
      responseValidation: emu.config.responseValidation === "off" ? "skipped" : "passed",
    });
    expect(entry.path.toLowerCase()).toContain(`/managedclusters/${CLUSTER}/listclusterusercredential`);
    expect(entry.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(entry.time))).toBe(false);
    expect(entry.durationMs).toBeGreaterThanOrEqual(0);
    expect(entry.requestBody).toBeUndefined(); // bodies are kept only with FLOCI_AZ_SERVICES_AKS_JOURNAL_BODIES
  });

  it("lists newest first and filters by method, status, api-version, resource id and $top", async () => {
    const all = (await journal()).value;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const times = all.map((e) => Date.parse(e.time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all[0].operationId).toBe(USER_CREDENTIALS);

    const puts = (await journal("?method=put")).value;
    expect(puts.length).toBeGreaterThanOrEqual(2); // the resource group and the cluster
    expect(puts.every((e) => e.method === "PUT")).toBe(true);
    expect(puts.map((e) => e.operationId)).toContain("ManagedClusters_CreateOrUpdate");

    const created = (await journal("?status=201&operationId=ManagedClusters_CreateOrUpdate")).value;
    expect(created.length + (await journal("?status=200&operationId=ManagedClusters_CreateOrUpdate")).value.length).toBe(1);

    const byVersion = (await journal(`?apiVersion=${SDK_DEFAULT_API_VERSION}`)).value;
    expect(byVersion.length).toBeGreaterThan(0);
    expect(byVersion.every((e) => e.apiVersion === SDK_DEFAULT_API_VERSION)).toBe(true);

    const clusterId = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${RG.toUpperCase()}/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`;
    const ofCluster = (await journal(`?resourceId=${encodeURIComponent(clusterId)}`)).value;
    expect(ofCluster.length).toBeGreaterThanOrEqual(2);
    expect(ofCluster.every((e) => e.path.toLowerCase().startsWith(clusterId.toLowerCase()))).toBe(true);

    expect((await journal("?$top=1")).value).toEqual([all[0]]);
    expect((await fetch(`${emu.url}/_emulator/requests?status=abc`)).status).toBe(400);
  });

  it("coverage counts calls per api-version and operation with their statuses, and names what was never called", async () => {
    const report = await coverage();
    const credentials = report.called.find((c) => c.operationId === USER_CREDENTIALS && c.apiVersion === SDK_DEFAULT_API_VERSION);
    expect(credentials).toMatchObject({ calls: 1, statuses: { "200": 1 } });
    const create = report.called.find((c) => c.operationId === "ManagedClusters_CreateOrUpdate")!;
    expect(create.calls).toBe(1);
    const served = report.uncalled.find((u) => u.document === credentials!.document)!;
    expect(served.operations).not.toContain(USER_CREDENTIALS);
    expect(served.operations).toContain("ManagedClusters_ListClusterAdminCredentials");
    expect(report.uncalled.map((u) => u.document)).toEqual([...apiVersions]);
    // Another document's operations were all uncalled.
    const other = report.uncalled.find((u) => u.document !== credentials!.document)!;
    expect(other.operations).toHaveLength(operationsByVersion[other.document as keyof typeof operationsByVersion].length);
    expect(report.totals.requests).toBeGreaterThanOrEqual(3);
  });

  it("aks-emulator coverage prints the report as markdown and as JSON", async () => {
    const main = "dist/src/main.js";
    expect(existsSync(main), "npm run build first (npm test does)").toBe(true);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: emu.caPath };
    const markdown = await run(process.execPath, [main, "coverage", "--url", emu.url, "--format", "markdown"], { env });
    expect(markdown.stdout).toContain("# AKS API coverage");
    expect(markdown.stdout).toMatch(new RegExp(`\\| ${SDK_DEFAULT_API_VERSION} \\| [^|]+ \\| ${USER_CREDENTIALS} \\| 1 \\| 200: 1 \\|`));
    expect(markdown.stdout).toContain("## Never called");
    expect(markdown.stdout).toContain("- ManagedClusters_ListClusterAdminCredentials");
    const json = await run(process.execPath, [main, "coverage", `--url=${emu.url}`, "--format=json"], { env });
    const report = JSON.parse(json.stdout) as CoverageReport;
    expect(report.called.find((c) => c.operationId === USER_CREDENTIALS)).toMatchObject({ calls: 1, statuses: { "200": 1 } });
    const bad = await run(process.execPath, [main, "coverage", "--format", "xml"], { env }).catch((error) => error);
    expect(bad.code).toBe(2);
  });

  it("DELETE empties the journal (coverage stays); reset empties both", async () => {
    expect((await fetch(`${emu.url}/_emulator/requests`, { method: "DELETE" })).status).toBe(204);
    expect((await journal()).value).toEqual([]);
    expect((await coverage()).called.some((c) => c.operationId === USER_CREDENTIALS)).toBe(true);

    await sdk.client.managedClusters.get(RG, CLUSTER);
    expect((await journal()).value.map((e) => e.operationId)).toEqual(["ManagedClusters_Get"]);

    expect((await fetch(`${emu.url}/_emulator/reset`, { method: "POST" })).status).toBe(204);
    expect((await journal()).value).toEqual([]);
    const report = await coverage();
    expect(report.called).toEqual([]);
    expect(report.totals.requests).toBe(0);
  });
});

describe("the journal's bounds", () => {
  const entry = (n: number, path = `/subscriptions/s/resourceGroups/rg${n}`): JournalEntry => ({
    time: new Date().toISOString(),
    method: "GET",
    path,
    apiVersion: "2026-06-01",
    operationId: "ResourceGroups_Get",
    document: undefined,
    status: 200,
    durationMs: 0,
    requestValidation: "skipped",
    responseValidation: "skipped",
    requestId: String(n),
    correlationId: String(n),
    clientRequestId: undefined,
  });

  it("keeps the newest entries up to the count: the oldest are dropped; coverage counts them all", () => {
    const j = new RequestJournal(false, 10);
    for (let n = 0; n < 25; n++) j.record(entry(n));
    expect(j.list().map((e) => e.requestId)).toEqual(["24", "23", "22", "21", "20", "19", "18", "17", "16", "15"]);
    expect(j.coverageReport().called[0]).toMatchObject({ operationId: "ResourceGroups_Get", calls: 25 });
  });

  it("keeps the entries within the byte bound, and caps kept bodies", () => {
    const j = new RequestJournal(true, 1000, 5000);
    for (let n = 0; n < 10; n++) j.record(entry(n), { blob: "x".repeat(1000) });
    expect(j.size.bytes).toBeLessThanOrEqual(5000);
    const kept = j.list();
    expect(kept.length).toBeLessThan(10);
    expect(kept[0].requestId).toBe("9");
    expect(kept[0].requestBody).toContain('"blob"');

    const big = new RequestJournal(true);
    big.record(entry(0), { blob: "x".repeat(100_000) });
    expect(big.list()[0].requestBody!.length).toBeLessThan(17 * 1024);
    expect(big.list()[0].requestBody).toContain("truncated");
  });
});
