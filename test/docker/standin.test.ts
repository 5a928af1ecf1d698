// The k3s stand-in image (scripts/k3s-standin) through the real Docker engine, run exactly as the k3s
// backend runs rancher/k3s: a user-defined network, an unprivileged server container with tmpfs /run,
// a named volume at /var/lib/rancher/k3s and 6443 published on 127.0.0.1, agents joining it by
// container name; then the admin kubeconfig read out of the container and the API used with it.
//
// Needs a Docker engine (scripts/ci/setup-docker.sh starts one and builds the images). Without one
// the suite is skipped, with the reason printed; under CI=true it fails instead.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import https from "node:https";
import net from "node:net";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const projectDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const K3S_VERSION = "v1.35.9+k3s1";
const IMAGE = "aks-emulator/k3s-standin:v1.35.9-k3s1";
const TOKEN = `standin-${randomBytes(6).toString("hex")}`;
const runId = randomBytes(4).toString("hex");
const labels = { "floci.az.aks/test": "standin", "floci.az.aks/test-run": runId };
const prefix = `standin-test-${runId}`;
const networkName = `${prefix}-net`;
const volumeName = `${prefix}-data`;
const serverName = `${prefix}-server`;

const docker = new Docker();

async function dockerProblem(): Promise<string | undefined> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5000).unref()),
    ]);
    return undefined;
  } catch (e) {
    return `the Docker engine does not answer (${(e as Error).message}); run scripts/ci/setup-docker.sh`;
  }
}

const problem = await dockerProblem();
const requireDocker = process.env.CI === "true";
if (problem && !requireDocker) console.warn(`test/docker/standin.test.ts skipped: ${problem}`);

// Under CI a missing engine fails the file (a skip there would hide the failure).
if (problem && requireDocker) throw new Error(`CI=true and ${problem}`);

// ---------------------------------------------------------------------------------------------

interface Agent {
  name: string;
  nodeName: string;
  labels: Record<string, string>;
  taints: { key: string; value: string; effect: string }[];
  args: string[];
}

const agents: Agent[] = [
  {
    name: `${prefix}-agent-0`,
    nodeName: "aks-system-0",
    labels: { agentpool: "system", "kubernetes.azure.com/mode": "system" },
    taints: [{ key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" }],
    args: ["--node-label=agentpool=system", "--node-label=kubernetes.azure.com/mode=system", "--node-taint=CriticalAddonsOnly=true:NoSchedule"],
  },
  {
    name: `${prefix}-agent-1`,
    nodeName: "aks-gpu-0",
    labels: { agentpool: "gpu", "kubernetes.azure.com/mode": "user" },
    taints: [
      { key: "sku", value: "gpu", effect: "NoSchedule" },
      { key: "dedicated", value: "batch", effect: "NoExecute" },
    ],
    // Comma-separated labels and a flag the stand-in ignores, as k3s accepts them.
    args: ["--node-label", "agentpool=gpu,kubernetes.azure.com/mode=user", "--node-taint=sku=gpu:NoSchedule", "--node-taint=dedicated=batch:NoExecute", "--kubelet-arg=max-pods=50"],
  },
];

interface Kubeconfig {
  apiVersion: string;
  kind: string;
  "current-context": string;
  clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  users: { name: string; user: { "client-certificate-data": string; "client-key-data": string } }[];
}

interface Credentials {
  ca: string;
  cert?: string;
  key?: string;
}

interface Reply {
  status: number;
  body: string;
  json: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The first regular file of a tar stream (what getArchive answers for one file). */
function firstFileOfTar(tar: Buffer): string {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/, "").trim() || "0", 8);
    const type = String.fromCharCode(header[156]);
    if (type === "0" || type === "\0") return tar.subarray(offset + 512, offset + 512 + size).toString();
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("no file in the archive");
}

async function readFileFrom(container: Docker.Container, path: string): Promise<string> {
  const stream = await container.getArchive({ path });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return firstFileOfTar(Buffer.concat(chunks));
}

async function execIn(container: Docker.Container, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on("data", (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on("data", (c: Buffer) => err.push(c));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!!problem)("k3s stand-in image through the Docker engine", () => {
  let port = 0;
  let server: Docker.Container;
  let kubeconfig: Kubeconfig;
  let admin: Credentials;
  const agentContainers = new Map<string, Docker.Container>();

  const request = (path: string, creds: Credentials, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> => {
    const url = new URL(path, kubeconfig.clusters[0].cluster.server);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method: init.method ?? "GET", headers: { Accept: "application/json", ...init.headers }, ca: creds.ca, cert: creds.cert, key: creds.key, agent: false, timeout: 5000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString();
            let json: unknown;
            try {
              json = JSON.parse(body);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body, json });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${path}: no answer within 5 s`)));
      req.on("error", reject);
      req.end(init.body);
    });
  };
  const get = (path: string) => request(path, admin);
  const requestJson = (method: string, path: string, body: unknown) =>
    request(path, admin, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  const readKubeconfig = async (): Promise<Kubeconfig> => parseYaml(await readFileFrom(server, "/etc/rancher/k3s/k3s.yaml"));

  const nodesWhen = (what: string, ok: (nodes: any[]) => boolean, timeoutMs = 30_000) =>
    until(what, timeoutMs, async () => {
      const r = await get("/api/v1/nodes");
      return r.status === 200 && ok(r.json.items) ? (r.json.items as any[]) : undefined;
    });
  const ready = (node: any) => node.status.conditions.find((c: any) => c.type === "Ready")?.status;
  const bothReady = (nodes: any[]) =>
    nodes.length === agents.length && agents.every((a) => nodes.some((n) => n.metadata.name === a.nodeName && ready(n) === "True"));

  beforeAll(async () => {
    // The images: quick when they are up to date (setup-docker.sh has usually built them already).
    execFileSync("bash", [join(projectDir, "scripts/k3s-standin/build.sh")], { stdio: ["ignore", "inherit", "inherit"], timeout: 300_000 });

    await docker.createNetwork({ Name: networkName, Driver: "bridge", Labels: labels, CheckDuplicate: true });
    await docker.createVolume({ Name: volumeName, Labels: labels });
    port = await freePort();
    server = await docker.createContainer({
      name: serverName,
      Image: IMAGE,
      Cmd: ["server", `--tls-san=${serverName}`, "--tls-san=127.0.0.1", "--disable-agent", `--token=${TOKEN}`, "--disable=traefik,servicelb", "--write-kubeconfig-mode=644", "--kube-controller-manager-arg=node-monitor-grace-period=10s", "--egress-selector-mode=pod", "--disable-network-policy"],
      Labels: labels,
      ExposedPorts: { "6443/tcp": {} },
      HostConfig: {
        Privileged: false,
        NetworkMode: networkName,
        Tmpfs: { "/run": "", "/var/run": "" },
        Mounts: [{ Type: "volume", Source: volumeName, Target: "/var/lib/rancher/k3s" }],
        PortBindings: { "6443/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
      },
    });
    await server.start();
    for (const agent of agents) {
      const container = await docker.createContainer({
        name: agent.name,
        Image: IMAGE,
        Cmd: ["agent", `--server=https://${serverName}:6443`, `--token=${TOKEN}`, `--node-name=${agent.nodeName}`, ...agent.args],
        Labels: labels,
        HostConfig: { Privileged: false, NetworkMode: networkName, Tmpfs: { "/run": "", "/var/run": "" } },
      });
      await container.start();
      agentContainers.set(agent.nodeName, container);
    }

    // As k3s, the stand-in writes k3s.yaml in place, first half-written: read until it is complete.
    kubeconfig = await until("a complete /etc/rancher/k3s/k3s.yaml in the server container", 30_000, async () => {
      const read = await readKubeconfig().catch(() => undefined);
      return read?.users?.[0]?.user?.["client-key-data"] ? read : undefined;
    });
    // As the backend does: the kubeconfig names 127.0.0.1:6443 inside the container; use the published port.
    expect(kubeconfig.clusters[0].cluster.server).toBe("https://127.0.0.1:6443");
    kubeconfig.clusters[0].cluster.server = `https://127.0.0.1:${port}`;
    const user = kubeconfig.users[0].user;
    const b64 = (s: string) => Buffer.from(s, "base64").toString();
    admin = { ca: b64(kubeconfig.clusters[0].cluster["certificate-authority-data"]), cert: b64(user["client-certificate-data"]), key: b64(user["client-key-data"]) };
  }, 300_000);

  afterAll(async () => {
    const filters = { label: [`floci.az.aks/test=standin`, `floci.az.aks/test-run=${runId}`] };
    const containers = await docker.listContainers({ all: true, filters }).catch(() => []);
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    const { Volumes = [] } = await docker.listVolumes({ filters }).catch(() => ({ Volumes: [] as Docker.VolumeInspectInfo[] }));
    await Promise.all(Volumes.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
    const networks = await docker.listNetworks({ filters }).catch(() => []);
    await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
  }, 60_000);

  it("writes k3s's admin kubeconfig, with the mode asked for", async () => {
    expect(kubeconfig).toMatchObject({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "default",
      clusters: [{ name: "default" }],
      contexts: [{ name: "default", context: { cluster: "default", user: "default" } }],
      users: [{ name: "default" }],
    });
    const { stdout } = await execIn(server, ["stat", "-c", "%a", "/etc/rancher/k3s/k3s.yaml"]);
    expect(stdout.trim()).toBe("644");
    // The PKI sits on the volume, as k3s keeps it.
    const ls = await execIn(server, ["ls", "/var/lib/rancher/k3s/server/tls"]);
    expect(ls.stdout.split(/\s+/)).toEqual(expect.arrayContaining(["server-ca.crt", "server-ca.key", "client-admin.crt", "serving-kube-apiserver.crt"]));
  });

  it("lists both agents' nodes over TLS with the kubeconfig's certificate: Ready, with their labels and taints", async () => {
    const nodes = await nodesWhen("both agents' nodes Ready", bothReady);
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(agents.map((a) => a.nodeName).sort());
    for (const agent of agents) {
      const node = nodes.find((n) => n.metadata.name === agent.nodeName);
      const info = await agentContainers.get(agent.nodeName)!.inspect();
      expect(node.metadata).toMatchObject({
        uid: expect.any(String),
        resourceVersion: expect.any(String),
        creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        labels: {
          ...agent.labels,
          "kubernetes.io/hostname": agent.nodeName,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "node.kubernetes.io/instance-type": "k3s",
        },
      });
      expect(node.spec.taints).toEqual(agent.taints);
      expect(node.status.conditions).toContainEqual(
        expect.objectContaining({ type: "Ready", status: "True", lastHeartbeatTime: expect.any(String), reason: "KubeletReady", message: expect.any(String) }),
      );
      expect(node.status.nodeInfo).toMatchObject({ kubeletVersion: K3S_VERSION, operatingSystem: "linux", architecture: "amd64", osImage: expect.any(String), containerRuntimeVersion: expect.any(String), kernelVersion: expect.any(String) });
      expect(node.status.addresses).toContainEqual({ type: "InternalIP", address: info.NetworkSettings.Networks[networkName].IPAddress });
    }
    // --disable-agent: no node for the server itself.
    expect(nodes.some((n) => n.metadata.labels["node-role.kubernetes.io/control-plane"])).toBe(false);

    const one = await get(`/api/v1/nodes/${agents[0].nodeName}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ kind: "Node", apiVersion: "v1", metadata: { name: agents[0].nodeName } });
    const missing = await get("/api/v1/nodes/no-such-node");
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
    const selected = await get("/api/v1/nodes?labelSelector=agentpool%3Dgpu");
    expect(selected.json.items.map((n: any) => n.metadata.name)).toEqual(["aks-gpu-0"]);
  });

  it("picks kubelet's resolv.conf as k3s does: Docker's 127.0.0.11 is loopback, so without --resolv-conf the 8.8.8.8 fallback, with k3s's warning", async () => {
    const agent = agentContainers.values().next().value!;
    expect(await readFileFrom(agent, "/etc/resolv.conf")).toMatch(/^nameserver 127\.0\.0\.11$/m);
    const kubelet = await readFileFrom(agent, "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf");
    expect(kubelet).toContain('resolvConf: "/var/lib/rancher/k3s/agent/etc/resolv.conf"');
    expect(await readFileFrom(agent, "/var/lib/rancher/k3s/agent/etc/resolv.conf")).toBe("nameserver 8.8.8.8\n");
    const logs = (await agent.logs({ stdout: true, stderr: true })).toString();
    expect(logs).toContain("Host resolv.conf includes loopback or multicast nameservers - kubelet will use autogenerated resolv.conf with nameserver 8.8.8.8");
  });

  it("serves pods bound to nodes; an eviction leaves the pod listed, terminating, until its grace period ends", async () => {
    const [node] = [...agentContainers.keys()];
    const post = (path: string, body: unknown) => requestJson("POST", path, body);
    const created = await post("/api/v1/namespaces/default/pods", { metadata: { name: "slow" }, spec: { nodeName: node, terminationGracePeriodSeconds: 2, containers: [{ name: "c", image: "x" }] } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: "Pod", metadata: { name: "slow", namespace: "default" }, spec: { nodeName: node }, status: { phase: "Running" } });
    const onNode = async () => (await get(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`)).json.items;
    expect((await onNode()).map((p: any) => p.metadata.name)).toEqual(["slow"]);
    const evicted = Date.now();
    const eviction = await post("/api/v1/namespaces/default/pods/slow/eviction", { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "slow", namespace: "default" } });
    expect(eviction.status).toBe(201);
    const [terminating] = await onNode();
    expect(terminating.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(terminating.metadata.deletionGracePeriodSeconds).toBe(2);
    await until("the evicted pod to go", 10_000, async () => ((await onNode()).length === 0 ? true : undefined));
    expect(Date.now() - evicted).toBeGreaterThanOrEqual(1500);
    expect((await get("/api/v1/namespaces/default/pods/slow")).status).toBe(404);
  });

  it("serves health, version, discovery and namespaces", async () => {
    for (const path of ["/livez", "/readyz", "/healthz"]) {
      const r = await get(path);
      expect([path, r.status, r.body]).toEqual([path, 200, "ok"]);
    }
    expect((await get("/version")).json).toMatchObject({ major: "1", minor: "35", gitVersion: K3S_VERSION });
    expect((await get("/api")).json).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    expect((await get("/apis")).json.groups.map((g: any) => g.name).sort()).toEqual(["authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io", "rbac.authorization.k8s.io"]);
    const resources = (await get("/api/v1")).json;
    expect(resources.kind).toBe("APIResourceList");
    expect(resources.resources.map((r: any) => r.name).sort()).toEqual(["namespaces", "nodes", "pods", "pods/eviction", "serviceaccounts/token"]);
    const namespaces = (await get("/api/v1/namespaces")).json;
    expect(namespaces.kind).toBe("NamespaceList");
    expect(namespaces.items.map((n: any) => n.metadata.name).sort()).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
  });

  it("refuses a client without a certificate or the token (401 Status), accepts the token as a bearer token", async () => {
    const anonymous = await request("/api/v1/nodes", { ca: admin.ca });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Unauthorized", code: 401 });
    const wrongToken = await request("/version", { ca: admin.ca }, { headers: { Authorization: "Bearer not-the-token" } });
    expect(wrongToken.status).toBe(401);
    const bearer = await request("/api/v1/nodes", { ca: admin.ca }, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.json.kind).toBe("NodeList");
  });

  it("answers kubectl inside the server container (kubectl and k3s kubectl)", async () => {
    for (const cmd of [["kubectl", "get", "nodes"], ["k3s", "kubectl", "get", "nodes"]]) {
      const r = await execIn(server, cmd);
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
      for (const agent of agents) {
        expect(lines.find((l) => l.startsWith(`${agent.nodeName} `))).toMatch(new RegExp(`^${agent.nodeName}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.35\\.9\\+k3s1$`));
      }
    }
    const json = await execIn(server, ["kubectl", "get", "nodes", "-o", "json"]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout).items).toHaveLength(2);
    const ns = await execIn(server, ["kubectl", "get", "namespaces"]);
    expect(ns.stdout).toMatch(/^NAME\s+STATUS\s+AGE\n/);
    expect(ns.stdout).toContain("kube-system");
    const version = await execIn(server, ["kubectl", "version"]);
    expect(version.stdout).toContain(`Server Version: ${K3S_VERSION}`);
    const unsupported = await execIn(server, ["kubectl", "apply", "-f", "x.yaml"]);
    expect(unsupported.exitCode).toBe(1);
    expect(unsupported.stderr).toMatch(/not supported/);
  });

  it("keeps its nodes and its CA when the server container is stopped and started", async () => {
    const before = await nodesWhen("both nodes Ready", bothReady);
    const stoppedAt = Date.now();
    await server.stop();
    expect(Date.now() - stoppedAt, "docker stop waited for the kill timeout: SIGTERM was not handled").toBeLessThan(5000);
    await server.start();
    await until("/readyz after the restart", 30_000, async () => ((await get("/readyz").catch(() => undefined))?.status === 200 ? true : undefined));
    const after = await nodesWhen("both nodes Ready after the restart", bothReady);
    const uids = (nodes: any[]) => Object.fromEntries(nodes.map((n) => [n.metadata.name, n.metadata.uid]));
    expect(uids(after)).toEqual(uids(before));
    const again = await readKubeconfig();
    expect(again.clusters[0].cluster["certificate-authority-data"]).toBe(kubeconfig.clusters[0].cluster["certificate-authority-data"]);
    expect(again.users[0].user["client-certificate-data"]).toBe(kubeconfig.users[0].user["client-certificate-data"]);
  });

  it("cordons a node by merge patch (spec.unschedulable), as kubectl cordon does", async () => {
    const name = agents[0].nodeName;
    const patch = (unschedulable: boolean) =>
      new Promise<Reply>((resolve, reject) => {
        const body = JSON.stringify({ spec: { unschedulable } });
        const req = https.request(
          new URL(`/api/v1/nodes/${name}`, kubeconfig.clusters[0].cluster.server),
          { method: "PATCH", headers: { "Content-Type": "application/merge-patch+json" }, ca: admin.ca, cert: admin.cert, key: admin.key, agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: "", json: JSON.parse(Buffer.concat(chunks).toString()) }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const cordoned = await patch(true);
    expect(cordoned.status).toBe(200);
    expect(cordoned.json.spec.unschedulable).toBe(true);
    expect(cordoned.json.spec.taints).toContainEqual(expect.objectContaining({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }));
    const table = await execIn(server, ["kubectl", "get", "nodes", name]);
    expect(table.stdout).toMatch(new RegExp(`^${name}\\s+Ready,SchedulingDisabled\\s`, "m"));
    const uncordoned = await patch(false);
    expect(uncordoned.json.spec.unschedulable).toBeUndefined();
    expect(uncordoned.json.spec.taints).toEqual(agents[0].taints);
  });

  it("rotates its leaf certificates with `k3s certificate rotate` on the stopped server's volume, keeping the CA", async () => {
    await server.stop();
    const task = await docker.createContainer({
      name: `${prefix}-rotate`,
      Image: IMAGE,
      Cmd: ["certificate", "rotate"],
      Labels: labels,
      HostConfig: { NetworkMode: "none", Mounts: [{ Type: "volume", Source: volumeName, Target: "/var/lib/rancher/k3s" }] },
    });
    try {
      await task.start();
      expect((await task.wait()).StatusCode).toBe(0);
    } finally {
      await task.remove({ force: true, v: true });
    }
    await server.start();
    const rotated = await until("a kubeconfig with a new admin certificate", 30_000, async () => {
      const k = await readKubeconfig().catch(() => undefined);
      const cert = k?.users?.[0]?.user?.["client-certificate-data"];
      return cert && k.users[0].user["client-key-data"] && cert !== kubeconfig.users[0].user["client-certificate-data"] ? k : undefined;
    });
    expect(rotated.clusters[0].cluster["certificate-authority-data"]).toBe(kubeconfig.clusters[0].cluster["certificate-authority-data"]);
    const b64 = (v: string) => Buffer.from(v, "base64").toString();
    const fresh: Credentials = { ca: admin.ca, cert: b64(rotated.users[0].user["client-certificate-data"]), key: b64(rotated.users[0].user["client-key-data"]) };
    await until("/readyz with the new certificate", 30_000, async () => ((await request("/readyz", fresh).catch(() => undefined))?.status === 200 ? true : undefined));
    // Certificates from the same CA keep working, as in k3s.
    expect((await get("/api/v1/nodes")).status).toBe(200);
    admin = fresh;
    await nodesWhen("both nodes Ready after the rotation", bothReady);
  });

  it("re-registers a deleted node while its agent heartbeats", async () => {
    const name = agents[0].nodeName;
    const before = (await get(`/api/v1/nodes/${name}`)).json.metadata.uid;
    const deleted = await request(`/api/v1/nodes/${name}`, admin, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toMatchObject({ kind: "Status", status: "Success", details: { name, kind: "nodes" } });
    expect((await get(`/api/v1/nodes/${name}`)).status).toBe(404);
    const back = await until("the deleted node back", 15_000, async () => {
      const r = await get(`/api/v1/nodes/${name}`);
      return r.status === 200 ? r.json : undefined;
    });
    expect(back.metadata.uid).not.toBe(before);
    expect(back.spec.taints).toEqual(agents[0].taints);
  });

  it("keeps a stopped agent's node Ready=True with its last heartbeat (a kubelet in a container posts no NotReady), Unknown once the grace period (10 s here) passes", async () => {
    const agent = agents[1];
    const container = agentContainers.get(agent.nodeName)!;
    const nodeOf = async () => (await get(`/api/v1/nodes/${agent.nodeName}`)).json;
    const beatOf = (node: any) => node.status.conditions.find((c: any) => c.type === "Ready")?.lastHeartbeatTime;
    const stoppedAt = Date.now();
    await container.stop();
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    const stale = await nodeOf();
    expect(ready(stale)).toBe("True");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await nodeOf();
    expect(ready(later)).toBe("True");
    expect(beatOf(later)).toBe(beatOf(stale));
    const unknown = await until("Ready=Unknown", 20_000, async () => {
      const node = await nodeOf();
      return ready(node) === "Unknown" ? node : undefined;
    });
    expect(unknown.spec.taints).toContainEqual(expect.objectContaining({ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }));
    const table = await execIn(server, ["kubectl", "get", "nodes"]);
    expect(table.stdout).toMatch(new RegExp(`^${agent.nodeName}\\s+NotReady\\s`, "m"));
    // Its other node is unaffected.
    expect(ready((await get(`/api/v1/nodes/${agents[0].nodeName}`)).json)).toBe("True");
  }, 40_000);

  it("exits non-zero with kubelet's refusal when an agent is given a reserved kubernetes.io label, as k3s does", async () => {
    const nodeName = `${prefix}-reserved`;
    const container = await docker.createContainer({
      name: `${prefix}-reserved`,
      Image: IMAGE,
      Cmd: [
        "agent",
        `--server=https://${serverName}:6443`,
        `--token=${TOKEN}`,
        `--node-name=${nodeName}`,
        "--node-label=node-role.kubernetes.io/x=",
        "--node-label=node.kubernetes.io/lifecycle=spot",
        "--node-label=topology.kubernetes.io/zone=eastus-1",
      ],
      Labels: labels,
      HostConfig: { Privileged: false, NetworkMode: networkName, Tmpfs: { "/run": "", "/var/run": "" } },
    });
    await container.start();
    const { StatusCode } = await container.wait();
    expect(StatusCode).not.toBe(0);
    const logs = (await container.logs({ stdout: true, stderr: true })).toString("utf8");
    expect(logs).toContain("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/x]");
    expect(logs).toContain("level=fatal");
    // It never registered.
    expect((await get(`/api/v1/nodes/${nodeName}`)).status).toBe(404);
  }, 30_000);
});
