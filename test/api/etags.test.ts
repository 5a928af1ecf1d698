// eTags of cluster-level operations (issue 12): AKS documents that a cluster-level operation updates
// the cluster's eTag and every agent pool's, an agent-pool operation only the pool's
// (https://learn.microsoft.com/azure/aks/use-etags). Each cluster-level write here (a cluster PUT
// naming some pools or none, a Kubernetes upgrade through the cluster PUT, PATCH tags, Stop, Start,
// both rotations, both resets, AbortLatestOperation) is checked the same way: every eTag read before
// it differs after it, in GET and in the cluster's agentPoolProfiles alike, and an If-Match with the
// pool's old eTag is then refused (412 PreconditionFailed), as is one with the cluster's old eTag.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { ArmHttp, clusterPath, type RawResponse } from "../support/sdk.js";

const AKS = "2026-06-01";
const RG = "etags-rg";
const q = (path: string) => `${path}${path.includes("?") ? "&" : "?"}api-version=${AKS}`;
const poolPath = (cluster: string, pool: string) => `${clusterPath(RG, cluster)}/agentPools/${pool}`;

let emu: TestEmulator;
let gated: TestEmulator;
const gate = new GatedBackend();
useEmulator((started) => (emu = started));
useEmulator((started) => (gated = started), {}, { backend: gate });
afterAll(() => gate.release());
afterEach(() => gate.release());

interface ETags {
  cluster: string;
  /** By pool name, from AgentPools_Get. */
  pools: Record<string, string>;
}

/** The cluster's eTag and every pool's; the cluster's agentPoolProfiles must say the same as the pools. */
async function eTagsOf(arm: ArmHttp, name: string): Promise<ETags> {
  const cluster = await arm.call("GET", q(clusterPath(RG, name)));
  expect(cluster.status).toBe(200);
  const list = await arm.call("GET", q(`${clusterPath(RG, name)}/agentPools`));
  expect(list.status).toBe(200);
  const pools: Record<string, string> = Object.fromEntries(list.body.value.map((p: any) => [p.name, p.properties.eTag]));
  const profiles = Object.fromEntries(cluster.body.properties.agentPoolProfiles.map((p: any) => [p.name, p.eTag]));
  expect(profiles).toEqual(pools);
  for (const value of [cluster.body.eTag, ...Object.values(pools)]) expect(typeof value).toBe("string");
  return { cluster: cluster.body.eTag, pools };
}

/** A write that must be accepted; waits for its operation when it did not end inside the request. */
async function act(arm: ArmHttp, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const answer = await arm.call(method, q(path), body, headers);
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  const status = answer.headers.get("azure-asyncoperation");
  if (status) expect((await arm.pollAsyncOperation(status)).body.status).toBe("Succeeded");
  return answer;
}

/** Every eTag changed, and the old ones are refused as If-Match (412) on a pool PUT and on the cluster's PATCH. */
async function expectAllRefreshed(arm: ArmHttp, name: string, before: ETags, operation: string): Promise<ETags> {
  const after = await eTagsOf(arm, name);
  expect(Object.keys(after.pools).sort(), operation).toEqual(Object.keys(before.pools).sort());
  expect(after.cluster, `${operation}: the cluster's eTag`).not.toBe(before.cluster);
  for (const [pool, eTag] of Object.entries(before.pools)) expect(after.pools[pool], `${operation}: pool ${pool}'s eTag`).not.toBe(eTag);
  for (const [pool, eTag] of Object.entries(before.pools)) {
    const stale = await arm.call("PUT", q(poolPath(name, pool)), { properties: { count: 1, vmSize: "Standard_DS2_v2" } }, { "if-match": eTag });
    expect({ operation, pool, status: stale.status, code: stale.body?.error?.code }).toEqual({ operation, pool, status: 412, code: "PreconditionFailed" });
  }
  const staleCluster = await arm.call("PATCH", q(clusterPath(RG, name)), { tags: { stale: "yes" } }, { "if-match": before.cluster });
  expect({ operation, status: staleCluster.status, code: staleCluster.body?.error?.code }).toEqual({ operation, status: 412, code: "PreconditionFailed" });
  // and nothing the refused writes sent was taken
  expect(await eTagsOf(arm, name), operation).toEqual(after);
  return after;
}

const twoPoolCluster = (extra: Record<string, unknown> = {}) => ({
  location: "eastus",
  properties: {
    dnsPrefix: "etags",
    agentPoolProfiles: [
      { name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" },
      { name: "user", count: 1, vmSize: "Standard_DS2_v2", mode: "User" },
    ],
    ...extra,
  },
});

describe("eTags of cluster-level operations", () => {
  let arm: ArmHttp;
  let slowArm: ArmHttp;
  beforeAll(async () => {
    arm = new ArmHttp(emu);
    slowArm = new ArmHttp(gated);
    await arm.createResourceGroup(RG);
    await slowArm.createResourceGroup(RG);
  });

  it("a cluster PUT naming some pools, or none, refreshes the cluster's eTag and every pool's", async () => {
    const name = "putnaming";
    await act(arm, "PUT", clusterPath(RG, name), twoPoolCluster());
    let tags = await eTagsOf(arm, name);

    // naming the System pool only: the User pool, unnamed, is refreshed too
    await act(arm, "PUT", clusterPath(RG, name), { location: "eastus", properties: { dnsPrefix: "etags", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } });
    tags = await expectAllRefreshed(arm, name, tags, "cluster PUT naming one pool");

    // naming none
    await act(arm, "PUT", clusterPath(RG, name), { location: "eastus", tags: { none: "named" }, properties: { dnsPrefix: "etags" } });
    tags = await expectAllRefreshed(arm, name, tags, "cluster PUT naming no pool");

    // an agent-pool operation changes its pool's eTag only (the documented other half)
    await act(arm, "PUT", poolPath(name, "user"), { properties: { count: 2, vmSize: "Standard_DS2_v2", mode: "User" } }, { "if-match": tags.pools.user });
    const afterPool = await eTagsOf(arm, name);
    expect(afterPool.cluster).toBe(tags.cluster);
    expect(afterPool.pools.system).toBe(tags.pools.system);
    expect(afterPool.pools.user).not.toBe(tags.pools.user);
  });

  it("a Kubernetes upgrade through the cluster PUT refreshes every eTag", async () => {
    const versions = await arm.call("GET", `/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/eastus/kubernetesVersions?api-version=${AKS}`);
    expect(versions.status).toBe(200);
    const minors: any[] = versions.body.values;
    const defaultIndex = minors.findIndex((v) => v.isDefault);
    expect(defaultIndex).toBeGreaterThan(0);
    const older = minors[defaultIndex - 1].version;
    const name = "upgrade";
    await act(arm, "PUT", clusterPath(RG, name), { ...twoPoolCluster(), properties: { ...twoPoolCluster().properties, kubernetesVersion: older } });
    const before = await eTagsOf(arm, name);
    const current = await arm.call("GET", q(clusterPath(RG, name)));
    await act(arm, "PUT", clusterPath(RG, name), { location: "eastus", properties: { dnsPrefix: "etags", kubernetesVersion: minors[defaultIndex].version } });
    const upgraded = await arm.call("GET", q(clusterPath(RG, name)));
    expect(upgraded.body.properties.currentKubernetesVersion).not.toBe(current.body.properties.currentKubernetesVersion);
    await expectAllRefreshed(arm, name, before, "upgrade through the cluster PUT");
  });

  it("PATCH tags, Stop, Start, both rotations and both resets refresh the cluster's eTag and every pool's", async () => {
    const name = "actions";
    // a service-principal cluster, so that ResetServicePrincipalProfile applies
    await act(arm, "PUT", clusterPath(RG, name), twoPoolCluster({ servicePrincipalProfile: { clientId: "22222222-0000-0000-0000-000000000001", secret: "s1" } }));
    let tags = await eTagsOf(arm, name);
    const steps: [string, string, string, unknown][] = [
      ["PATCH tags", "PATCH", "", { tags: { patched: "yes" } }],
      ["Stop", "POST", "/stop", undefined],
      ["Start", "POST", "/start", undefined],
      ["RotateClusterCertificates", "POST", "/rotateClusterCertificates", undefined],
      ["RotateServiceAccountSigningKeys", "POST", "/rotateServiceAccountSigningKeys", undefined],
      ["ResetAADProfile", "POST", "/resetAADProfile", { clientAppID: "11111111-aaaa-bbbb-cccc-000000000001", serverAppID: "11111111-aaaa-bbbb-cccc-000000000002" }],
      ["ResetServicePrincipalProfile", "POST", "/resetServicePrincipalProfile", { clientId: "22222222-0000-0000-0000-000000000002", secret: "s2" }],
    ];
    for (const [operation, method, action, body] of steps) {
      await act(arm, method, `${clusterPath(RG, name)}${action}`, body);
      tags = await expectAllRefreshed(arm, name, tags, operation);
    }
  });

  it("AbortLatestOperation on the cluster is cluster-level (every eTag); on a pool, the pool's eTag only", async () => {
    const name = "aborted";
    await act(slowArm, "PUT", clusterPath(RG, name), twoPoolCluster());
    gate.hold();
    const stop = await slowArm.call("POST", q(`${clusterPath(RG, name)}/stop`));
    expect(stop.status).toBe(202);
    const beforeAbort = await eTagsOf(slowArm, name);
    expect((await slowArm.call("POST", q(`${clusterPath(RG, name)}/abort`))).status).toBe(204);
    let tags = await expectAllRefreshed(slowArm, name, beforeAbort, "AbortLatestOperation on the cluster");
    gate.release();

    gate.hold();
    const scale = await slowArm.call("PUT", q(poolPath(name, "user")), { properties: { count: 2, vmSize: "Standard_DS2_v2", mode: "User" } });
    expect(scale.status, JSON.stringify(scale.body)).toBeLessThan(300);
    tags = await eTagsOf(slowArm, name);
    expect((await slowArm.call("POST", q(`${poolPath(name, "user")}/abort`))).status).toBe(204);
    const afterPoolAbort = await eTagsOf(slowArm, name);
    expect(afterPoolAbort.cluster).toBe(tags.cluster);
    expect(afterPoolAbort.pools.system).toBe(tags.pools.system);
    expect(afterPoolAbort.pools.user).not.toBe(tags.pools.user);
  });
});
