// AKS's own rules for agent pools and its quotas, refused before anything is stored: counts (User
// 0-1000, System 1-1000), maxPods 10-250, System
// pools Linux, Windows pool names of 6 characters at most, at most 100 pools and 5,000 nodes per
// cluster. Each refusal answers AKS's code and status and leaves the cluster as it was. And the cost of
// a large write: while one client writes 1,000-node pools up to the 5,000-node quota, another client's
// reads of a different cluster stay fast (node addresses are handed out without scanning the ones in use).
import { beforeAll, describe, expect, it } from "vitest";
import type { TestEmulator } from "../support/emulator.js";
import { useEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, type RawResponse } from "../support/sdk.js";

const V = "2026-06-01";
const RG = "pool-rules-rg";
const q = (path: string) => `${path}?api-version=${V}`;
const poolPath = (cluster: string, pool: string) => `${clusterPath(RG, cluster)}/agentPools/${pool}`;
const userPool = (properties: Record<string, unknown> = {}) => ({ properties: { count: 1, vmSize: "Standard_DS2_v2", mode: "User", ...properties } });

let emu: TestEmulator;
let arm: ArmHttp;
useEmulator((e) => (emu = e));

/** A write that must be accepted (with this suite's api-version). */
const accepted = (method: string, path: string, body: unknown): Promise<RawResponse> => arm.accepted(method, q(path), body);

/** What a refused write must leave as it was: the cluster as served, its pools and one pool's machines. */
async function state(cluster: string, machinesOf?: string): Promise<unknown[]> {
  const reads = [arm.call("GET", q(clusterPath(RG, cluster))), arm.call("GET", q(`${clusterPath(RG, cluster)}/agentPools`))];
  if (machinesOf) reads.push(arm.call("GET", q(`${poolPath(cluster, machinesOf)}/machines`)));
  return (await Promise.all(reads)).map((r) => ({ status: r.status, body: r.body }));
}

/** The write is refused with `status` and `code`, and changes nothing. Returns the error. */
async function refused(method: string, path: string, body: unknown, status: number, code: string, cluster = "c1", machinesOf?: string) {
  const before = await state(cluster, machinesOf);
  const answer = await arm.call(method, q(path), body);
  expect({ status: answer.status, code: answer.body?.error?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  expect(await state(cluster, machinesOf)).toEqual(before);
  return answer.body.error as { code: string; message: string; target?: string };
}

beforeAll(async () => {
  arm = new ArmHttp(emu);
  await arm.createResourceGroup(RG);
  await accepted("PUT", clusterPath(RG, "c1"), minimalCluster());
  await accepted("PUT", poolPath("c1", "user1"), userPool({ count: 2 }));
});

describe("AKS's pool rules, refused before anything is stored", () => {
  it("a User pool of count -1: 400 InvalidParameter in AKS's words, and no pool", async () => {
    const error = await refused("PUT", poolPath("c1", "neg"), userPool({ count: -1 }), 400, "InvalidParameter");
    expect(error.message).toBe("agentPoolProfile.count was -1. It must be greater or equal to minCount:0 and less than or equal to maxCount:1000.");
    expect(error.target).toBe("properties.count");
    expect((await arm.call("GET", q(poolPath("c1", "neg")))).status).toBe(404);
  });

  it("a User pool of count 1001: 400 InvalidParameter; 1000 is the most", async () => {
    const error = await refused("PUT", poolPath("c1", "big"), userPool({ count: 1001 }), 400, "InvalidParameter");
    expect(error.message).toMatch(/^agentPoolProfile\.count was 1001\. .*maxCount:1000\.$/);
    expect((await arm.call("GET", q(poolPath("c1", "big")))).status).toBe(404);
  });

  it("scaling a pool to -5: 400 InvalidParameter, the pool keeps its count and its machines", async () => {
    await refused("PUT", poolPath("c1", "user1"), userPool({ count: -5 }), 400, "InvalidParameter", "c1", "user1");
    expect((await arm.call("GET", q(poolPath("c1", "user1")))).body.properties.count).toBe(2);
  });

  it("a System pool of count 1001 in a cluster PUT: 400 InvalidParameter naming AKS's System floor; the cluster is unchanged", async () => {
    const body = { ...minimalCluster(), properties: { dnsPrefix: "min", agentPoolProfiles: [{ name: "system", count: 1001, vmSize: "Standard_DS2_v2", mode: "System" }] } };
    const error = await refused("PUT", clusterPath(RG, "c1"), body, 400, "InvalidParameter");
    expect(error.message).toMatch(/^agentPoolProfile\.count was 1001\. It must be greater or equal to minCount:1 and less than or equal to maxCount:1000\. If allowedMinCount/);
  });

  it("a System pool of count 0: 400 InvalidParameter", async () => {
    await refused("PUT", poolPath("c1", "sys0"), userPool({ mode: "System", count: 0 }), 400, "InvalidParameter");
  });

  it("maxPods below 10 or above 250: 400 InvalidParameter in AKS's words; 10 and 250 are taken", async () => {
    for (const maxPods of [9, 251, -1]) {
      const error = await refused("PUT", poolPath("c1", "pods"), userPool({ maxPods }), 400, "InvalidParameter");
      expect(error).toMatchObject({ message: "The value of parameter maxPods is invalid.", target: "properties.maxPods" });
    }
    await refused("PUT", poolPath("c1", "user1"), userPool({ count: 2, maxPods: 300 }), 400, "InvalidParameter", "c1", "user1");
    for (const maxPods of [10, 250]) {
      const answer = await accepted("PUT", poolPath("c1", `pods${maxPods}`), userPool({ maxPods }));
      expect(answer.body.properties.maxPods).toBe(maxPods);
      await arm.call("DELETE", q(poolPath("c1", `pods${maxPods}`)));
    }
  });

  it("a System pool of Windows nodes: 400 SystemPoolMustBeLinux, in a pool PUT and in a cluster PUT", async () => {
    const error = await refused("PUT", poolPath("c1", "wsys"), userPool({ mode: "System", osType: "Windows" }), 400, "SystemPoolMustBeLinux");
    expect(error.message).toBe("System node pool must be linux. Nodepool name: wsys.");
    const body = { ...minimalCluster(), properties: { dnsPrefix: "min", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System", osType: "Windows" }] } };
    await refused("PUT", clusterPath(RG, "c1"), body, 400, "SystemPoolMustBeLinux");
  });

  it("a Windows pool named with more than 6 characters: 400 WindowsAgentPoolNameTooLong; 6 are taken", async () => {
    const error = await refused("PUT", poolPath("c1", "winpool"), userPool({ osType: "Windows" }), 400, "WindowsAgentPoolNameTooLong");
    expect(error.message).toBe("Windows agent pool name can not be longer than 6 characters.");
    const answer = await accepted("PUT", poolPath("c1", "winpl1"), userPool({ osType: "Windows" }));
    expect(answer.body.properties.osType).toBe("Windows");
    await arm.call("DELETE", q(poolPath("c1", "winpl1")));
  });

  it("at most 100 pools per cluster: the 101st is refused with 400 InvalidParameter, in a pool PUT and in a cluster PUT", async () => {
    await accepted("PUT", clusterPath(RG, "many"), minimalCluster());
    for (let i = 1; i < 100; i++) await accepted("PUT", poolPath("many", `p${i}`), userPool({ count: 0 }));
    expect((await arm.call("GET", q(`${clusterPath(RG, "many")}/agentPools`))).body.value).toHaveLength(100);
    const error = await refused("PUT", poolPath("many", "p100"), userPool({ count: 0 }), 400, "InvalidParameter", "many");
    expect(error.message).toMatch(/would have 101 agent pools; a managed cluster can have at most 100 agent pools/);
    expect(error.target).toBe("properties.agentPoolProfiles");
    // an update of one of the 100 is no new pool
    await accepted("PUT", poolPath("many", "p1"), userPool({ count: 1 }));
    const profiles = Array.from({ length: 101 }, (_, i) => ({ name: i === 0 ? "system" : `q${i}`, count: 1, vmSize: "Standard_DS2_v2", mode: i === 0 ? "System" : "User" }));
    await arm.call("PUT", q(clusterPath(RG, "c101")), { location: "eastus", properties: { dnsPrefix: "c101", agentPoolProfiles: profiles } }).then((answer) => {
      expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 400, code: "InvalidParameter" });
    });
    expect((await arm.call("GET", q(clusterPath(RG, "c101")))).status).toBe(404);
  });
});

describe("large pools: one client's writes do not stall another's reads", () => {
  it("while 1,000-node pools are written up to 5,000 nodes, GETs of another cluster stay fast; the 5,001st node is refused", async () => {
    await accepted("PUT", clusterPath(RG, "small"), minimalCluster());
    const system = { location: "eastus", properties: { dnsPrefix: "large", agentPoolProfiles: [{ name: "system", count: 1000, vmSize: "Standard_DS2_v2", mode: "System" }] } };
    await accepted("PUT", clusterPath(RG, "large"), system);

    let writing = true;
    const latencies: number[] = [];
    const reader = (async () => {
      while (writing) {
        const started = performance.now();
        const answer = await arm.call("GET", q(clusterPath(RG, "small")));
        latencies.push(performance.now() - started);
        expect(answer.status).toBe(200);
      }
    })();
    const writeStarted = performance.now();
    try {
      for (let i = 1; i <= 4; i++) await accepted("PUT", poolPath("large", `big${i}`), userPool({ count: 1000 }));
      // a scale-in and a scale-out give addresses back and take them again
      await accepted("PUT", poolPath("large", "big4"), userPool({ count: 500 }));
      await accepted("PUT", poolPath("large", "big4"), userPool({ count: 1000 }));
    } finally {
      writing = false;
      await reader;
    }
    const writeMs = performance.now() - writeStarted;
    expect(latencies.length).toBeGreaterThan(5);
    expect(Math.max(...latencies), `GET latencies (ms) while writing for ${writeMs.toFixed(0)} ms: ${latencies.map((l) => l.toFixed(1)).join(", ")}`).toBeLessThan(200);

    // 5,000 nodes, each on its own address of the node subnet
    const pools = (await arm.call("GET", q(`${clusterPath(RG, "large")}/agentPools`))).body.value as any[];
    expect(pools.reduce((sum, p) => sum + p.properties.count, 0)).toBe(5000);
    const addresses = new Set<string>();
    for (const pool of pools) {
      let next: string | undefined = q(`${poolPath("large", pool.name)}/machines`);
      while (next) {
        const page: RawResponse = await arm.call("GET", next);
        expect(page.status).toBe(200);
        for (const machine of page.body.value) {
          const ip = machine.properties.network.ipAddresses[0].ip as string;
          expect(ip).toMatch(/^10\.224\.\d{1,3}\.\d{1,3}$/);
          expect(ip).not.toMatch(/\.(0|255)$/);
          addresses.add(ip);
        }
        next = page.body.nextLink;
      }
    }
    expect(addresses.size).toBe(5000);

    // the quotas: the 5,001st node, and 1,001 nodes in one pool
    const nodes = await refused("PUT", poolPath("large", "one"), userPool({ count: 1 }), 400, "InvalidParameter", "large");
    expect(nodes.message).toMatch(/would have 5001 nodes across its agent pools; a managed cluster can have at most 5000 nodes/);
    await refused("PUT", poolPath("large", "big1"), userPool({ count: 1001 }), 400, "InvalidParameter", "large");
    await refused("PUT", poolPath("large", "big1"), userPool({ count: 1000, maxPods: 5 }), 400, "InvalidParameter", "large");
    // deleting a pool gives its addresses back: a new pool fits again
    const removal = await arm.call("DELETE", q(poolPath("large", "big3")));
    expect([200, 202]).toContain(removal.status);
    const status = removal.headers.get("azure-asyncoperation");
    if (status) await arm.pollAsyncOperation(status);
    await accepted("PUT", poolPath("large", "again"), userPool({ count: 1000 }));
  }, 120_000);
});
