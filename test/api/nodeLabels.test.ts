// Pool nodeLabels kubelet would not start with (issue 14, item 4): a key in the kubernetes.io or
// k8s.io namespaces outside kubelet's allowed set (e.g. node-role.kubernetes.io/x) is refused up
// front with AKS's 400 BadRequest and its message, target "key=value", in both modes, through a
// pool PUT and a cluster PUT's agentPoolProfiles alike; nothing is stored. The keys kubelet allows
// there (kubelet.kubernetes.io/, node.kubernetes.io/ and their subdomains, the well-known topology,
// os/arch, hostname and instance-type keys) and keys in any other namespace are accepted.
import { beforeAll, describe, expect, it } from "vitest";
import type { TestEmulator } from "../support/emulator.js";
import { useEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster } from "../support/sdk.js";

const V = "2026-06-01";
const RG = "node-labels-rg";
const q = (path: string) => `${path}?api-version=${V}`;
const poolPath = (cluster: string, pool: string) => `${clusterPath(RG, cluster)}/agentPools/${pool}`;
const userPool = (nodeLabels: Record<string, string>) => ({ properties: { count: 1, vmSize: "Standard_DS2_v2", mode: "User", nodeLabels } });
const clusterWith = (nodeLabels: Record<string, string>) => ({
  location: "eastus",
  properties: { dnsPrefix: "min", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System", nodeLabels }] },
});
const AKS_MESSAGE =
  "For Kubernetes version greater than or equal to 1.16, node label keys in the 'kubernetes.io' or 'k8s.io' namespace must begin with an allowed prefix (kubelet.kubernetes.io, node.kubernetes.io). For more information, please check https://aka.ms/aks-node-labels-116.";

const REFUSED = [
  "node-role.kubernetes.io/x",
  "node-role.kubernetes.io/worker",
  "kubernetes.io/role",
  "node-restriction.kubernetes.io/team",
  "example.k8s.io/x",
  "k8s.io/x",
  "topology.kubernetes.io/rack",
];
const ALLOWED: Record<string, string> = {
  "node.kubernetes.io/lifecycle": "spot",
  "team.node.kubernetes.io/owner": "a",
  "kubelet.kubernetes.io/x": "y",
  "topology.kubernetes.io/zone": "eastus-1",
  "kubernetes.io/os": "linux",
  "beta.kubernetes.io/arch": "amd64",
  "dept": "IT",
  "example.com/role": "worker",
  "kubernetes.azure.com.example/x": "y",
};

let emu: TestEmulator;
let arm: ArmHttp;
useEmulator((e) => (emu = e));

beforeAll(async () => {
  arm = new ArmHttp(emu);
  await arm.createResourceGroup(RG);
  await arm.accepted("PUT", q(clusterPath(RG, "c1")), minimalCluster());
});

const snapshot = async () =>
  (await Promise.all([arm.call("GET", q(clusterPath(RG, "c1"))), arm.call("GET", q(`${clusterPath(RG, "c1")}/agentPools`))])).map((r) => ({ status: r.status, body: r.body }));

describe("pool nodeLabels kubelet refuses", () => {
  it.each(REFUSED)("a pool PUT with %s: 400 BadRequest in AKS's words, target key=value, and no pool", async (key) => {
    const before = await snapshot();
    const answer = await arm.call("PUT", q(poolPath("c1", "lbl")), userPool({ dept: "IT", [key]: "v1" }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error).toEqual({ code: "BadRequest", message: AKS_MESSAGE, target: `${key}=v1` });
    expect((await arm.call("GET", q(poolPath("c1", "lbl")))).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("a cluster PUT whose agentPoolProfiles carry one: refused the same way, the cluster unchanged", async () => {
    const before = await snapshot();
    const answer = await arm.call("PUT", q(clusterPath(RG, "c1")), clusterWith({ "node-role.kubernetes.io/system": "" }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error).toEqual({ code: "BadRequest", message: AKS_MESSAGE, target: "node-role.kubernetes.io/system=" });
    expect(await snapshot()).toEqual(before);
  });

  it("a new cluster with one: refused, and no cluster", async () => {
    const answer = await arm.call("PUT", q(clusterPath(RG, "c2")), clusterWith({ "kubernetes.io/role": "agent" }));
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 400, code: "BadRequest" });
    expect((await arm.call("GET", q(clusterPath(RG, "c2")))).status).toBe(404);
  });

  it("an existing pool updated with one: refused, the pool keeps its labels", async () => {
    await arm.accepted("PUT", q(poolPath("c1", "upd")), userPool({ dept: "IT" }));
    const answer = await arm.call("PUT", q(poolPath("c1", "upd")), userPool({ dept: "IT", "node-role.kubernetes.io/x": "" }));
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 400, code: "BadRequest" });
    expect((await arm.call("GET", q(poolPath("c1", "upd")))).body.properties.nodeLabels).toEqual({ dept: "IT" });
  });
});

describe("pool nodeLabels kubelet allows", () => {
  it("the allowed kubernetes.io keys and any other namespace are accepted and stored", async () => {
    await arm.accepted("PUT", q(poolPath("c1", "ok")), userPool(ALLOWED));
    expect((await arm.call("GET", q(poolPath("c1", "ok")))).body.properties.nodeLabels).toEqual(ALLOWED);
  });
});
