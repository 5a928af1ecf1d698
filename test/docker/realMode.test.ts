// Real mode against the real Docker engine of this machine and the k3s stand-in image
// (scripts/k3s-standin: it honours k3s's server/agent commands and flags, writes k3s.yaml with a real
// CA and client certificate, and serves the Kubernetes API over TLS). Real k3s needs privileged
// containers and an image pull, neither possible here; the backend is the same.
//
// Driven through the real @azure/arm-containerservice client, as a user drives it. Everything the
// emulator creates carries floci.az.aks/* labels with this run's resource group, and is removed at
// the end whatever happened. Without a Docker engine: skipped (reason printed), or failed when CI=true.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { ManagedCluster } from "@azure/arm-containerservice";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import forge from "node-forge";
import { firstFileOfTar } from "../../src/engine/backends/k3s/kubeapi.js";
import { ArmHttp, collect, parseKubeconfig, restError, sdkClient, type RecordingClient } from "../support/sdk.js";

const IMAGE_REPOSITORY = "aks-emulator/k3s-standin";
const NEEDED_TAGS = ["v1.35.9-k3s1", "v1.36.5-k3s1"];
const RUN = Math.random().toString(36).slice(2, 8);
const RG = `realmode-${RUN}`;
const LOCATION = "eastus";
const docker = new Docker();

/** Why the suite cannot run here, or undefined when it can. */
async function unavailableReason(): Promise<string | undefined> {
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message}); start dockerd (or set DOCKER_HOST) to run the real-mode tests`;
  }
  const missing = async () => {
    const absent: string[] = [];
    for (const tag of NEEDED_TAGS) await docker.getImage(`${IMAGE_REPOSITORY}:${tag}`).inspect().catch(() => absent.push(`${IMAGE_REPOSITORY}:${tag}`));
    return absent;
  };
  if ((await missing()).length && existsSync("scripts/k3s-standin/build.sh")) {
    try {
      execFileSync("bash", ["scripts/k3s-standin/build.sh"], { stdio: "inherit", timeout: 600_000 });
    } catch (error) {
      return `the stand-in images are missing and scripts/k3s-standin/build.sh failed: ${(error as Error).message}`;
    }
  }
  const absent = await missing();
  return absent.length ? `the stand-in image(s) ${absent.join(", ")} are missing: run scripts/k3s-standin/build.sh` : undefined;
}

const reason = await unavailableReason();
if (reason && process.env.CI !== "true") console.warn(`test/docker/realMode.test.ts skipped: ${reason}`);

// Under CI a missing engine or image fails the file (a skip there would hide the failure).
if (reason && process.env.CI === "true") throw new Error(`the real-mode tests cannot run: ${reason}`);

// ---- helpers -------------------------------------------------------------------------------------

const ours = { label: [`floci.az.aks/resource-group=${RG}`] };

async function containersOf(cluster: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [...ours.label, `floci.az.aks/cluster=${cluster}`] } });
}

async function instanceOf(cluster: string): Promise<string> {
  const server = (await containersOf(cluster)).find((c) => c.Labels["floci.az.aks/role"] === "server");
  expect(server, `a server container for ${cluster}`).toBeDefined();
  return server!.Labels["floci.az.aks/instance"];
}

async function removeEverythingOfThisRun(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: ours })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
  for (const n of await docker.listNetworks({ filters: ours })) await docker.getNetwork(n.Id).remove().catch(() => {});
  for (const v of (await docker.listVolumes({ filters: ours })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
}

/** A GET to the cluster's API server with the kubeconfig's CA and client certificate, as kubectl does it. */
function kubeGet(kubeconfig: any, path: string): Promise<{ status: number; body: any }> {
  const clusterEntry = kubeconfig.clusters[0].cluster;
  const user = kubeconfig.users[0].user;
  const server = new URL(clusterEntry.server);
  const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        path,
        ca: b64(clusterEntry["certificate-authority-data"]),
        cert: b64(user["client-certificate-data"]),
        key: b64(user["client-key-data"]),
        timeout: 5000,
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text.startsWith("{") ? JSON.parse(text) : text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

const readyOf = (node: any) => node.status.conditions.find((c: any) => c.type === "Ready")?.status;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last: ${(last as Error).message})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const kubectlWorks = (() => {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

// ---- the suite -------------------------------------------------------------------------------------

describe.skipIf(reason !== undefined)("real mode: k3s containers through Docker (stand-in image)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "aks-emulator-realmode-"));
  const realConfig = (overrides: Partial<Config> = {}): Partial<Config> => ({
    mocked: false,
    dataDir,
    defaultImage: IMAGE_REPOSITORY,
    privileged: false,
    readyTimeoutSeconds: 45,
    healthCheckIntervalSeconds: 0.5,
    apiServerBasePort: 36443,
    apiServerMaxPort: 36499,
    ...overrides,
  });
  let emu: TestEmulator;
  let sdk: RecordingClient;
  const name = "real1";

  const system = { name: "system", count: 1, vmSize: "Standard_D2s_v3", mode: "System" as const };
  const apps = { name: "apps", count: 2, vmSize: "Standard_D2s_v3", mode: "User" as const, nodeLabels: { team: "payments" }, nodeTaints: ["dedicated=apps:NoSchedule"] };
  const request = (overrides: Partial<ManagedCluster> = {}): ManagedCluster => ({
    location: LOCATION,
    dnsPrefix: "real1",
    kubernetesVersion: "1.35.9",
    agentPoolProfiles: [system, apps],
    ...overrides,
  });

  async function start(overrides: Partial<Config> = {}): Promise<void> {
    emu = await startTestEmulator(realConfig(overrides));
    sdk = sdkClient(emu);
  }
  async function adminKubeconfig(): Promise<any> {
    const credentials = await sdk.client.managedClusters.listClusterAdminCredentials(RG, name);
    return parseKubeconfig(credentials.kubeconfigs![0].value);
  }
  async function nodes(kubeconfig?: any): Promise<any[]> {
    const response = await kubeGet(kubeconfig ?? (await adminKubeconfig()), "/api/v1/nodes");
    expect(response.status).toBe(200);
    return response.body.items;
  }
  async function machineNames(pool: string): Promise<string[]> {
    return (await collect(sdk.client.machines.list(RG, name, pool))).map((m) => m.name!);
  }

  beforeAll(async () => {
    await removeEverythingOfThisRun();
    // Containers labelled as an emulator's that no cluster of this one owns: at start it removes those
    // without an owner and those of an emulator that is gone, and leaves a running emulator's alone.
    const gone = spawnSync("true").pid!;
    const orphan = (instance: string, owner: Record<string, string>) =>
      docker.createContainer({
        Image: `${IMAGE_REPOSITORY}:v1.35.9-k3s1`,
        Cmd: ["--version"],
        Labels: { "floci.az.aks/managed": "true", "floci.az.aks/instance": instance, "floci.az.aks/resource-group": RG, ...owner },
      });
    const host = { "floci.az.aks/owner-host": hostname() };
    const unowned = await orphan("0rphan00", {});
    const ofDeadEmulator = await orphan("0rphan01", { "floci.az.aks/owner": "gone", ...host, "floci.az.aks/owner-pid": String(gone) });
    const ofLiveEmulator = await orphan("0rphan02", { "floci.az.aks/owner": "alive", ...host, "floci.az.aks/owner-pid": String(process.ppid) });
    await start({ keepRunningOnShutdown: true });
    await expect(unowned.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(ofDeadEmulator.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await ofLiveEmulator.inspect();
    await ofLiveEmulator.remove({ force: true, v: true });
    await new ArmHttp(emu).createResourceGroup(RG);
  }, 180_000);

  afterAll(async () => {
    await emu?.close().catch(() => {});
    await removeEverythingOfThisRun();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it("creates a cluster with two pools: a server and one agent per node, as configured", async () => {
    const cluster = await sdk.client.managedClusters.createOrUpdate(RG, name, request());
    expect(cluster.provisioningState).toBe("Succeeded");
    expect(cluster.currentKubernetesVersion).toBe("1.35.9");

    const containers = await containersOf(name);
    expect(containers.map((c) => c.Labels["floci.az.aks/role"]).sort()).toEqual(["agent", "agent", "agent", "server"]);
    expect(containers.every((c) => c.State === "running")).toBe(true);
    const instance = await instanceOf(name);
    const server = await docker.getContainer(`floci-az-aks-${instance}`).inspect();
    expect(server.Config.Image).toBe(`${IMAGE_REPOSITORY}:v1.35.9-k3s1`);
    expect(server.HostConfig.Privileged).toBe(false);
    expect(server.HostConfig.Tmpfs).toEqual({ "/run": "", "/var/run": "" });
    expect(server.Mounts.find((m) => m.Destination === "/var/lib/rancher/k3s")?.Name).toBe(`floci-az-aks-${instance}-data`);
    const binding = server.HostConfig.PortBindings["6443/tcp"][0];
    expect(binding.HostIp).toBe("127.0.0.1");
    expect(Number(binding.HostPort)).toBeGreaterThanOrEqual(36443);
    expect(Number(binding.HostPort)).toBeLessThanOrEqual(36499);
    expect(Object.keys(server.NetworkSettings.Networks)).toEqual([`floci-az-aks-${instance}`]);
  }, 120_000);

  it("hands out a kubeconfig whose CA and client certificate reach the API server: nodes and labels match the pools and machines", async () => {
    const kubeconfig = await adminKubeconfig();
    expect(kubeconfig.clusters[0].name).toBe(name);
    expect(kubeconfig.users[0].name).toBe(`clusterAdmin_${RG}_${name}`);
    expect(kubeconfig.clusters[0].cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:364\d\d$/);
    expect(kubeconfig.clusters[0].cluster["insecure-skip-tls-verify"]).toBeUndefined();
    expect((await kubeGet(kubeconfig, "/readyz")).status).toBe(200);

    const listed = await nodes(kubeconfig);
    expect(listed).toHaveLength(3);
    expect(listed.every((n) => readyOf(n) === "True")).toBe(true);
    const byPool = (pool: string) => listed.filter((n) => n.metadata.labels["kubernetes.azure.com/agentpool"] === pool);
    expect(byPool("system").map((n) => n.metadata.name)).toEqual(await machineNames("system"));
    expect(byPool("apps").map((n) => n.metadata.name).sort()).toEqual((await machineNames("apps")).sort());
    expect(byPool("system")[0].metadata.labels["kubernetes.azure.com/mode"]).toBe("system");
    for (const node of byPool("apps")) {
      expect(node.metadata.labels).toMatchObject({ "kubernetes.azure.com/mode": "user", team: "payments", agentpool: "apps" });
      expect(node.spec.taints).toEqual([{ key: "dedicated", value: "apps", effect: "NoSchedule" }]);
    }

    // The user credential is a certificate of its own, bound to cluster-admin: it lists nodes too.
    const user = parseKubeconfig((await sdk.client.managedClusters.listClusterUserCredentials(RG, name)).kubeconfigs![0].value);
    expect(user.users[0].name).toBe(`clusterUser_${RG}_${name}`);
    expect((await kubeGet(user, "/api/v1/nodes")).status).toBe(200);
  }, 60_000);

  it.runIf(kubectlWorks)("works with kubectl from PATH", async () => {
    const file = join(dataDir, "kubeconfig.yaml");
    const credentials = await sdk.client.managedClusters.listClusterAdminCredentials(RG, name);
    writeFileSync(file, Buffer.from(credentials.kubeconfigs![0].value!));
    const { stdout } = await promisify(execFile)("kubectl", ["--kubeconfig", file, "get", "nodes", "-o", "name"], { timeout: 30_000 });
    expect(stdout.trim().split("\n").sort()).toEqual([...(await machineNames("system")), ...(await machineNames("apps"))].map((n) => `node/${n}`).sort());
  }, 60_000);

  it("scales a pool: nodes come and go with the machines", async () => {
    await sdk.client.agentPools.createOrUpdate(RG, name, "apps", { ...apps, count: 3 });
    let machines = await machineNames("apps");
    expect(machines).toHaveLength(3);
    expect((await nodes()).filter((n) => n.metadata.labels.agentpool === "apps").map((n) => n.metadata.name).sort()).toEqual([...machines].sort());

    await sdk.client.agentPools.createOrUpdate(RG, name, "apps", { ...apps, count: 1 });
    machines = await machineNames("apps");
    expect(machines).toHaveLength(1);
    expect((await nodes()).filter((n) => n.metadata.labels.agentpool === "apps").map((n) => n.metadata.name)).toEqual(machines);
    const agents = (await containersOf(name)).filter((c) => c.Labels["floci.az.aks/pool"] === "apps");
    expect(agents.map((c) => c.Labels["floci.az.aks/node"])).toEqual(machines);
  }, 120_000);

  /** A file out of a container (a one-file tar). */
  async function containerFile(container: string, path: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await docker.getContainer(container).getArchive({ path })) chunks.push(chunk as Buffer);
    return firstFileOfTar(Buffer.concat(chunks))!.toString("utf8");
  }

  it("gives pods Docker's DNS through the network's gateway (k3d's DNS fix), not k3s's 8.8.8.8 fallback for 127.0.0.11", async () => {
    const instance = await instanceOf(name);
    const network = await docker.getNetwork(`floci-az-aks-${instance}`).inspect();
    const gateway = network.IPAM?.Config?.[0]?.Gateway;
    expect(gateway).toMatch(/^10\.210\.\d+\.1$/);
    const agents = (await containersOf(name)).filter((c) => c.Labels["floci.az.aks/role"] === "agent");
    expect(agents.length).toBeGreaterThan(0);
    for (const agent of agents) {
      // Where k3s (v1.32+) writes kubelet's defaults, resolvConf among them.
      const kubelet = await containerFile(agent.Id, "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf");
      const resolvConf = JSON.parse(/^resolvConf: (.+)$/m.exec(kubelet)![1]);
      expect(resolvConf).toBe("/etc/rancher/k3s/resolv.conf");
      const nameservers = [...(await containerFile(agent.Id, resolvConf)).matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]);
      expect(nameservers).toEqual([gateway]);
      // The container's own resolver stays Docker's.
      expect(await containerFile(agent.Id, "/etc/resolv.conf")).toMatch(/^nameserver 127\.0\.0\.11$/m);
    }
  }, 60_000);

  it("drains before it scales in: a node goes only after its pods have finished terminating", async () => {
    const started0 = Date.now();
    await sdk.client.agentPools.createOrUpdate(RG, name, "drain", { count: 2, mode: "User" });
    const machines = await machineNames("drain");
    expect(machines).toHaveLength(2);
    const admin = await adminKubeconfig();
    const GRACE = 6;
    for (const node of machines) {
      const created = await kubeCall(admin, "POST", "/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `slow-${node.slice(-6)}` },
        spec: { nodeName: node, terminationGracePeriodSeconds: GRACE, containers: [{ name: "app", image: "busybox" }] },
      });
      expect(created.status).toBe(201);
    }
    // A DaemonSet's pod is left alone, as kubectl drain --ignore-daemonsets leaves it.
    const ds = await kubeCall(admin, "POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "ds-pod", ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "ds", uid: "1", controller: true }] },
      spec: { nodeName: machines[0], containers: [{ name: "app", image: "busybox" }] },
    });
    expect(ds.status).toBe(201);

    // While the pool scales to 0, watch (by polling) that no node is gone while a pod of it is listed:
    // nodes are read first, so a node found missing was deleted before the pods were read.
    let done = false;
    const violations: string[] = [];
    let seenTerminating = false;
    const watcher = (async () => {
      while (!done) {
        const listed = await kubeCall(admin, "GET", "/api/v1/nodes").catch(() => undefined);
        const pods = await kubeCall(admin, "GET", "/api/v1/pods").catch(() => undefined);
        if (listed?.status === 200 && pods?.status === 200) {
          const present = new Set(listed.body.items.map((n: any) => n.metadata.name));
          for (const pod of pods.body.items.filter((p: any) => p.metadata.name.startsWith("slow-"))) {
            if (pod.metadata.deletionTimestamp) seenTerminating = true;
            if (!present.has(pod.spec.nodeName)) violations.push(`${pod.metadata.name} listed after node ${pod.spec.nodeName} was removed`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const scaleStarted = Date.now();
    await sdk.client.agentPools.createOrUpdate(RG, name, "drain", { count: 0, mode: "User" });
    const took = (Date.now() - scaleStarted) / 1000;
    done = true;
    await watcher;

    expect(violations).toEqual([]);
    expect(seenTerminating).toBe(true);
    expect(took).toBeGreaterThanOrEqual(GRACE - 1);
    const pods = (await kubeCall(admin, "GET", "/api/v1/pods")).body.items.map((p: any) => p.metadata.name);
    expect(pods.filter((n: string) => n.startsWith("slow-"))).toEqual([]);
    expect(pods).toContain("ds-pod"); // not evicted; no pod garbage collector in the stand-in
    expect((await nodes()).map((n) => n.metadata.name)).not.toEqual(expect.arrayContaining([machines[0]]));
    expect((await containersOf(name)).filter((c) => c.Labels["floci.az.aks/pool"] === "drain")).toEqual([]);
    await kubeCall(admin, "DELETE", "/api/v1/namespaces/default/pods/ds-pod?gracePeriodSeconds=0");
    await sdk.client.agentPools.delete(RG, name, "drain");
    console.log(`drain test: scale-in took ${took.toFixed(1)} s (grace ${GRACE} s); whole test ${((Date.now() - started0) / 1000).toFixed(1)} s`);
  }, 120_000);

  it("adds and deletes a pool: its nodes join, then are drained and removed with their containers", async () => {
    await sdk.client.agentPools.createOrUpdate(RG, name, "extra", { count: 1, mode: "User", nodeTaints: ["batch=true:NoExecute"] });
    const [machine] = await machineNames("extra");
    const node = (await nodes()).find((n) => n.metadata.name === machine);
    expect(node?.metadata.labels["kubernetes.azure.com/agentpool"]).toBe("extra");
    expect(readyOf(node)).toBe("True");

    await sdk.client.agentPools.delete(RG, name, "extra");
    expect((await nodes()).map((n) => n.metadata.name)).not.toContain(machine);
    expect((await containersOf(name)).filter((c) => c.Labels["floci.az.aks/pool"] === "extra")).toEqual([]);
  }, 60_000);

  it("runs kubectl get nodes through RunCommand", async () => {
    const result = await sdk.client.managedClusters.runCommand(RG, name, { command: "kubectl get nodes" });
    expect(result.provisioningState).toBe("Succeeded");
    expect(result.exitCode).toBe(0);
    expect(result.logs).toMatch(/NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    for (const machine of [...(await machineNames("system")), ...(await machineNames("apps"))]) expect(result.logs).toContain(machine);

    const failing = await sdk.client.managedClusters.runCommand(RG, name, { command: "kubectl get nosuchthing" });
    expect(failing.exitCode).not.toBe(0);
    expect(failing.logs).not.toBe("");
  }, 60_000);

  // ---- credentials (issue 14) ----------------------------------------------------------------------

  const kinds = ["admin", "user", "monitoring"] as const;
  async function credential(kind: (typeof kinds)[number]): Promise<any> {
    const list = {
      admin: () => sdk.client.managedClusters.listClusterAdminCredentials(RG, name),
      user: () => sdk.client.managedClusters.listClusterUserCredentials(RG, name),
      monitoring: () => sdk.client.managedClusters.listClusterMonitoringUserCredentials(RG, name),
    }[kind];
    return parseKubeconfig((await list()).kubeconfigs![0].value);
  }
  const pemOf = (kubeconfig: any, field: string) => Buffer.from(kubeconfig.users[0].user[field], "base64").toString("utf8");
  /** A file out of the server container. */
  async function serverFile(path: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await docker.getContainer(`floci-az-aks-${await instanceOf(name)}`).getArchive({ path })) chunks.push(chunk as Buffer);
    return firstFileOfTar(Buffer.concat(chunks))!.toString("utf8");
  }
  /** One request to the API server: the kubeconfig's CA, and its client certificate or a bearer token. */
  function kubeCall(kubeconfig: any, method: string, path: string, body?: unknown, bearer?: string): Promise<{ status: number; body: any }> {
    const clusterEntry = kubeconfig.clusters[0].cluster;
    const server = new URL(clusterEntry.server);
    const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: server.hostname, port: server.port, path, method, timeout: 5000,
          ca: b64(clusterEntry["certificate-authority-data"]),
          ...(bearer ? {} : { cert: pemOf(kubeconfig, "client-certificate-data"), key: pemOf(kubeconfig, "client-key-data") }),
          headers: { accept: "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(payload ? { "content-type": "application/json" } : {}) },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text.startsWith("{") ? JSON.parse(text) : text }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(payload);
    });
  }
  function kubectl(kubeconfig: any, args: string[]): { code: number; stdout: string; stderr: string } {
    const file = join(dataDir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, Buffer.from(JSON.stringify(kubeconfig)));
    const result = spawnSync("kubectl", ["--kubeconfig", file, ...args], { encoding: "utf8", timeout: 30_000 });
    rmSync(file, { force: true });
    return { code: result.status ?? -1, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
  }

  it.runIf(kubectlWorks)("hands out three distinct credentials: kubectl auth can-i per kind, CNs, and certificates issued by the ECDSA client CA", async () => {
    const started = Date.now();
    const clientCa = new X509Certificate(await serverFile("/var/lib/rancher/k3s/server/tls/client-ca.crt"));
    expect(clientCa.publicKey.asymmetricKeyType).toBe("ec");
    expect(clientCa.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const expected = {
      admin: { cn: "system:admin", masters: true, can: { "create pods": "yes", "get pods": "yes", "delete nodes": "yes", "get nodes": "yes" } },
      user: { cn: `clusterUser_${RG}_${name}`, masters: false, can: { "create pods": "yes", "get pods": "yes", "delete nodes": "yes", "get nodes": "yes" } },
      monitoring: { cn: `clusterMonitoringUser_${RG}_${name}`, masters: false, can: { "create pods": "no", "get pods": "yes", "delete nodes": "no", "get nodes": "yes" } },
    };
    const certificates = new Set<string>();
    for (const kind of kinds) {
      const kubeconfig = await credential(kind);
      const certificate = new X509Certificate(pemOf(kubeconfig, "client-certificate-data"));
      certificates.add(certificate.fingerprint256);
      // Issued by the client CA (not by the server CA kubeconfig's certificate-authority-data holds).
      expect(certificate.checkIssued(clientCa) && certificate.verify(clientCa.publicKey), `${kind}: issued by the client CA`).toBe(true);
      const serverCa = new X509Certificate(Buffer.from(kubeconfig.clusters[0].cluster["certificate-authority-data"], "base64"));
      expect(serverCa.fingerprint256).not.toBe(clientCa.fingerprint256);
      expect(certificate.subject).toContain(`CN=${expected[kind].cn}`);
      expect(certificate.subject.includes("O=system:masters")).toBe(expected[kind].masters);
      const whoami = kubectl(kubeconfig, ["auth", "whoami", "-o", "json"]);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect(JSON.parse(whoami.stdout).status.userInfo.username).toBe(expected[kind].cn);
      for (const [question, answer] of Object.entries(expected[kind].can)) {
        const result = kubectl(kubeconfig, ["auth", "can-i", ...question.split(" ")]);
        expect(`${kind}: can-i ${question}: ${result.stdout}`).toBe(`${kind}: can-i ${question}: ${answer}`);
        expect(result.code).toBe(answer === "yes" ? 0 : 1);
      }
    }
    expect(certificates.size).toBe(3);
    // The monitoring credential reads nodes but its deletes are refused (403, not 401).
    const monitoring = await credential("monitoring");
    expect((await kubeCall(monitoring, "GET", "/api/v1/nodes")).status).toBe(200);
    expect((await kubeCall(monitoring, "DELETE", `/api/v1/nodes/${(await machineNames("system"))[0]}`)).status).toBe(403);
    // Issued once, then kept: the same certificate on the next call.
    expect(pemOf(await credential("user"), "client-certificate-data")).toBe(pemOf(await credential("user"), "client-certificate-data"));
    // The bindings are create-or-replace: listing again rewrites them without error.
    const bindings = (await kubeCall(await credential("admin"), "GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")).body.items;
    expect(bindings.find((b: any) => b.metadata.name === "aks-emulator:clusterUser")).toMatchObject({ roleRef: { name: "cluster-admin" }, subjects: [{ kind: "User", name: expected.user.cn }] });
    expect(bindings.find((b: any) => b.metadata.name === "aks-emulator:clusterMonitoringUser")).toMatchObject({ roleRef: { name: "aks-emulator:cluster-monitoring-user" } });
    console.log(`credentials test: ${Date.now() - started} ms`);
  }, 120_000);

  it("refuses, as k3s does, a client certificate of another CA (401) and a CSR for system:masters with the kube-apiserver-client signer (403)", async () => {
    const admin = await credential("admin");
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const foreign = forge.pki.createCertificate();
    foreign.publicKey = keys.publicKey;
    foreign.serialNumber = "01";
    foreign.validity.notBefore = new Date(Date.now() - 60_000);
    foreign.validity.notAfter = new Date(Date.now() + 86_400_000);
    const subject = [{ name: "organizationName", value: "system:masters" }, { name: "commonName", value: "system:admin" }];
    foreign.setSubject(subject);
    foreign.setIssuer(subject);
    foreign.sign(keys.privateKey, forge.md.sha256.create());
    const impostor = structuredClone(admin);
    impostor.users[0].user["client-certificate-data"] = Buffer.from(forge.pki.certificateToPem(foreign)).toString("base64");
    impostor.users[0].user["client-key-data"] = Buffer.from(forge.pki.privateKeyToPem(keys.privateKey)).toString("base64");
    expect((await kubeCall(impostor, "GET", "/api/v1/nodes")).status).toBe(401);

    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = keys.publicKey;
    csr.setSubject(subject);
    csr.sign(keys.privateKey, forge.md.sha256.create());
    const refused = await kubeCall(admin, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", {
      apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: { name: `masters-${RUN}` },
      spec: { request: Buffer.from(forge.pki.certificationRequestToPem(csr)).toString("base64"), signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"] },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed");
  }, 60_000);

  it("rotates the cluster certificates: a new client CA, the old credentials refused (401), new ones issued that work, every node Ready again", async () => {
    const started = Date.now();
    const instance = await instanceOf(name);
    const before = Object.fromEntries(await Promise.all(kinds.map(async (kind) => [kind, await credential(kind)] as const)));
    const caBefore = await serverFile("/var/lib/rancher/k3s/server/tls/client-ca.crt");
    for (const kind of kinds) expect((await kubeCall(before[kind], "GET", "/api/v1/nodes")).status, kind).toBe(200);

    await sdk.client.managedClusters.rotateClusterCertificates(RG, name);
    expect((await sdk.client.managedClusters.get(RG, name)).provisioningState).toBe("Succeeded");
    expect((await docker.getContainer(`floci-az-aks-${instance}`).inspect()).State.Running).toBe(true);
    expect(await docker.listContainers({ all: true, filters: { label: [`floci.az.aks/instance=${instance}`, "floci.az.aks/role=task"] } })).toEqual([]);

    const caAfter = new X509Certificate(await serverFile("/var/lib/rancher/k3s/server/tls/client-ca.crt"));
    expect(caAfter.fingerprint256).not.toBe(new X509Certificate(caBefore).fingerprint256);
    expect(caAfter.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    for (const kind of kinds) {
      expect((await kubeCall(before[kind], "GET", "/api/v1/nodes")).status, `old ${kind} credential`).toBe(401);
      const now = await credential(kind);
      const certificate = new X509Certificate(pemOf(now, "client-certificate-data"));
      expect(certificate.fingerprint256).not.toBe(new X509Certificate(pemOf(before[kind], "client-certificate-data")).fingerprint256);
      expect(certificate.checkIssued(caAfter) && certificate.verify(caAfter.publicKey), `new ${kind} credential issued by the new client CA`).toBe(true);
      expect((await kubeCall(now, "GET", "/api/v1/nodes")).status, `new ${kind} credential`).toBe(200);
    }
    await eventually("every node is Ready again", async () => ((await nodes()).every((n) => readyOf(n) === "True") ? true : undefined));
    console.log(`certificate rotation test: ${Date.now() - started} ms`);
  }, 120_000);

  it("rotates the service-account signing key: a new key first in service.key, the old one appended, the server restarted, tokens signed before still valid", async () => {
    const started = Date.now();
    const instance = await instanceOf(name);
    const admin = await credential("admin");
    const keyBlocks = (text: string) => text.match(/-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----/g) ?? [];
    const keysBefore = keyBlocks(await serverFile("/var/lib/rancher/k3s/server/tls/service.key"));
    expect(keysBefore.length).toBeGreaterThanOrEqual(1);
    const tokenRequest = () => kubeCall(admin, "POST", "/api/v1/namespaces/default/serviceaccounts/default/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} });
    const oldToken = (await tokenRequest()).body.status.token as string;
    const kid = (token: string) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).kid;
    const startedAt = (await docker.getContainer(`floci-az-aks-${instance}`).inspect()).State.StartedAt;

    await sdk.client.managedClusters.rotateServiceAccountSigningKeys(RG, name);
    expect((await sdk.client.managedClusters.get(RG, name)).provisioningState).toBe("Succeeded");

    expect((await docker.getContainer(`floci-az-aks-${instance}`).inspect()).State.StartedAt).not.toBe(startedAt);
    const keysAfter = keyBlocks(await serverFile("/var/lib/rancher/k3s/server/tls/service.key"));
    expect(keysAfter).toHaveLength(keysBefore.length + 1);
    expect(keysAfter.slice(1)).toEqual(keysBefore);
    expect(keysAfter[0]).not.toBe(keysBefore[0]);
    const logs = (await docker.getContainer(`floci-az-aks-${instance}`).logs({ stdout: true, stderr: true, tail: 400 })).toString("utf8");
    expect(logs).toContain("Updated service.key from the datastore (certificate rotate-ca)");

    const whoami = async (token: string) => kubeCall(admin, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }, token);
    const old = await whoami(oldToken);
    expect(old.status).toBe(201);
    expect(old.body.status.userInfo.username).toBe("system:serviceaccount:default:default");
    const newToken = (await tokenRequest()).body.status.token as string;
    expect(kid(newToken)).not.toBe(kid(oldToken));
    expect((await whoami(newToken)).status).toBe(201);
    expect((await whoami(`${oldToken.slice(0, -4)}AAAA`)).status).toBe(401);
    await eventually("every node is Ready again", async () => ((await nodes()).every((n) => readyOf(n) === "True") ? true : undefined));
    console.log(`signing key rotation test: ${Date.now() - started} ms`);
  }, 120_000);

  it("stops and starts the cluster: containers stop and start again, the volume stays, every node keeps its address, and Ready means a heartbeat since the start", async () => {
    const instance = await instanceOf(name);
    // Fixed addresses (k3d's way): k3s agents before v1.32.10/v1.34.2 exit when the node IP changes (k3d#1637).
    const internalIp = (node: any) => node.status.addresses.find((a: any) => a.type === "InternalIP")?.address;
    const before = new Map((await nodes()).map((n) => [n.metadata.name, internalIp(n)]));
    expect([...before.values()].every(Boolean)).toBe(true);
    const network = await docker.getNetwork(`floci-az-aks-${instance}`).inspect();
    expect(network.IPAM?.Config?.[0]?.Subnet).toMatch(/^10\.210\.\d+\.0\/24$/);
    await sdk.client.managedClusters.stop(RG, name);
    expect((await sdk.client.managedClusters.get(RG, name)).powerState?.code).toBe("Stopped");
    expect((await containersOf(name)).every((c) => c.State === "exited")).toBe(true);
    await docker.getVolume(`floci-az-aks-${instance}-data`).inspect();

    await sdk.client.managedClusters.start(RG, name);
    expect((await sdk.client.managedClusters.get(RG, name)).powerState?.code).toBe("Running");
    expect((await containersOf(name)).every((c) => c.State === "running")).toBe(true);
    const listed = await nodes();
    expect(listed).toHaveLength(2);
    expect(listed.every((n) => readyOf(n) === "True")).toBe(true);
    expect(new Map(listed.map((n) => [n.metadata.name, internalIp(n)]))).toEqual(before);
    // The server kept the nodes' Ready=True from before the stop (the grace period is 40 s): the
    // operation waited for a heartbeat newer than each agent's restart.
    for (const node of listed) {
      const agent = (await containersOf(name)).find((c) => c.Labels["floci.az.aks/node"] === node.metadata.name)!;
      const startedAt = Date.parse((await docker.getContainer(agent.Id).inspect()).State.StartedAt);
      const beat = Date.parse(node.status.conditions.find((c: any) => c.type === "Ready").lastHeartbeatTime);
      expect(beat, node.metadata.name).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000) * 1000);
    }
  }, 120_000);

  it("a pre-fix k3s (v1.32.7: agents exit when their node IP changed) survives Stop/Start: its agents keep their addresses", async () => {
    const old = "realold";
    const started = Date.now();
    await sdk.client.managedClusters.createOrUpdate(RG, old, {
      location: LOCATION,
      dnsPrefix: old,
      kubernetesVersion: "1.32.7",
      agentPoolProfiles: [{ name: "system", count: 3, vmSize: "Standard_D2s_v3", mode: "System" }],
    });
    const credentials = await sdk.client.managedClusters.listClusterAdminCredentials(RG, old);
    const kubeconfig = parseKubeconfig(credentials.kubeconfigs![0].value);
    const addresses = async () =>
      new Map(((await kubeGet(kubeconfig, "/api/v1/nodes")).body.items as any[]).map((n) => [n.metadata.name, n.status.addresses.find((a: any) => a.type === "InternalIP")?.address]));
    const before = await addresses();
    expect(before.size).toBe(3);
    await sdk.client.managedClusters.stop(RG, old);
    // Started in the reverse order, Docker would hand out the addresses differently without fixed ones.
    await sdk.client.managedClusters.start(RG, old);
    expect((await sdk.client.managedClusters.get(RG, old)).provisioningState).toBe("Succeeded");
    const agents = (await containersOf(old)).filter((c) => c.Labels["floci.az.aks/role"] === "agent");
    expect(agents.map((c) => c.State)).toEqual(["running", "running", "running"]);
    expect(await addresses()).toEqual(before);
    await sdk.client.managedClusters.delete(RG, old);
    console.log(`pre-fix Stop/Start test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 240_000);

  it("upgrades 1.35 -> 1.36: the server moves to the v1.36.5 image on the same volume, then a pool follows", async () => {
    const instance = await instanceOf(name);
    const before = await docker.getContainer(`floci-az-aks-${instance}`).inspect();
    const current = await sdk.client.managedClusters.get(RG, name);
    const upgraded = await sdk.client.managedClusters.createOrUpdate(RG, name, { ...current, kubernetesVersion: "1.36.5" });
    expect(upgraded.provisioningState).toBe("Succeeded");
    expect(upgraded.currentKubernetesVersion).toBe("1.36.5");
    const after = await docker.getContainer(`floci-az-aks-${instance}`).inspect();
    expect(after.Id).not.toBe(before.Id);
    expect(after.Config.Image).toBe(`${IMAGE_REPOSITORY}:v1.36.5-k3s1`);
    expect(after.Mounts.find((m) => m.Destination === "/var/lib/rancher/k3s")?.Name).toBe(`floci-az-aks-${instance}-data`);
    const kubeconfig = await adminKubeconfig();
    expect((await kubeGet(kubeconfig, "/version")).body.gitVersion).toBe("v1.36.5+k3s1");
    // The data volume kept the cluster: the nodes are still there.
    expect(await nodes(kubeconfig)).toHaveLength(2);

    await sdk.client.agentPools.createOrUpdate(RG, name, "apps", { ...apps, count: 1, orchestratorVersion: "1.36.5" });
    const appsNodes = (await nodes()).filter((n) => n.metadata.labels.agentpool === "apps");
    expect(appsNodes.map((n) => n.status.nodeInfo.kubeletVersion)).toEqual(["v1.36.5+k3s1"]);
    expect(appsNodes.every((n) => readyOf(n) === "True")).toBe(true);
    const agent = (await containersOf(name)).find((c) => c.Labels["floci.az.aks/pool"] === "apps")!;
    expect(agent.Image).toBe(`${IMAGE_REPOSITORY}:v1.36.5-k3s1`);
  }, 120_000);

  it("reports a node container killed behind its back as a Failed cluster; a PUT of the cluster brings it back", async () => {
    const [machine] = await machineNames("apps");
    const agent = (await containersOf(name)).find((c) => c.Labels["floci.az.aks/node"] === machine)!;
    await docker.getContainer(agent.Id).kill();

    const failed = await eventually("the cluster reads Failed", async () => {
      const cluster = await sdk.client.managedClusters.get(RG, name);
      return cluster.provisioningState === "Failed" ? cluster : undefined;
    });
    expect(failed.status?.provisioningError?.code).toBe("ClusterUnhealthy");
    expect(failed.status?.provisioningError?.message).toContain(machine);
    expect((await sdk.client.agentPools.get(RG, name, "apps")).provisioningState).toBe("Failed");
    expect((await sdk.client.agentPools.get(RG, name, "system")).provisioningState).toBe("Succeeded");

    const repaired = await sdk.client.managedClusters.createOrUpdate(RG, name, await sdk.client.managedClusters.get(RG, name));
    expect(repaired.provisioningState).toBe("Succeeded");
    expect(repaired.status?.provisioningError).toBeUndefined();
    expect((await sdk.client.agentPools.get(RG, name, "apps")).provisioningState).toBe("Succeeded");
    expect((await docker.getContainer(agent.Id).inspect()).State.Running).toBe(true);
    expect((await nodes()).every((n) => readyOf(n) === "True")).toBe(true);
  }, 120_000);

  it("survives a restart: with KEEP_RUNNING_ON_SHUTDOWN the same containers are adopted; without, they are recreated on the same volume", async () => {
    const instance = await instanceOf(name);
    const idsBefore = (await containersOf(name)).map((c) => c.Id).sort();
    await emu.close(); // keepRunningOnShutdown: the containers stay
    expect((await containersOf(name)).map((c) => c.Id).sort()).toEqual(idsBefore);

    await start(); // same data folder; this one removes its containers when it stops
    expect((await sdk.client.managedClusters.get(RG, name)).provisioningState).toBe("Succeeded");
    expect((await containersOf(name)).map((c) => c.Id).sort()).toEqual(idsBefore);
    expect(await nodes()).toHaveLength(2);
    await sdk.client.agentPools.createOrUpdate(RG, name, "apps", { ...apps, count: 2, orchestratorVersion: "1.36.5" });
    expect(await nodes()).toHaveLength(3);
    const hostPort = (await adminKubeconfig()).clusters[0].cluster.server;

    await emu.close();
    expect(await containersOf(name)).toEqual([]);
    await docker.getVolume(`floci-az-aks-${instance}-data`).inspect(); // the state stays for the next start

    await start();
    const kubeconfig = await adminKubeconfig();
    expect(kubeconfig.clusters[0].cluster.server).toBe(hostPort);
    const back = await eventually("the re-created nodes are Ready", async () => {
      const listed = await nodes(kubeconfig);
      return listed.length === 3 && listed.every((n) => readyOf(n) === "True") ? listed : undefined;
    });
    expect(back.map((n) => n.metadata.name).sort()).toEqual([...(await machineNames("system")), ...(await machineNames("apps"))].sort());
    expect(await instanceOf(name)).toBe(instance);
  }, 180_000);

  it("deletes the cluster: no container, volume or network of it is left", async () => {
    const instance = await instanceOf(name);
    await sdk.client.managedClusters.delete(RG, name);
    await restError(() => sdk.client.managedClusters.get(RG, name));
    expect(await containersOf(name)).toEqual([]);
    const label = { label: [`floci.az.aks/instance=${instance}`] };
    expect((await docker.listVolumes({ filters: label })).Volumes ?? []).toEqual([]);
    expect(await docker.listNetworks({ filters: label })).toEqual([]);
  }, 60_000);

  it("fails an operation whose image cannot be found or pulled, saying which and what to do", async () => {
    await emu.close();
    await start({ defaultImage: "aks-emulator/no-such-k3s-image" });
    const error = await sdk.client.managedClusters.createOrUpdate(RG, "nopull", request({ agentPoolProfiles: [system] })).then(
      () => expect.fail("the create succeeded"),
      (e: Error & { code?: string }) => e,
    );
    expect(`${error.code} ${error.message}`).toContain("ImagePullFailed");
    expect(error.message).toContain("aks-emulator/no-such-k3s-image:v1.35.9-k3s1");
    expect(error.message).toContain("FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE");
    const cluster = await sdk.client.managedClusters.get(RG, "nopull");
    expect(cluster.provisioningState).toBe("Failed");
    await sdk.client.managedClusters.delete(RG, "nopull");
    expect(await containersOf("nopull")).toEqual([]);
  }, 60_000);

  it("fails an operation whose API server is not ready by the deadline, with the reason, rather than waiting for ever", async () => {
    await emu.close();
    await start({ readyTimeoutSeconds: 0 });
    const error = await sdk.client.managedClusters.createOrUpdate(RG, "late", request({ agentPoolProfiles: [system] })).then(
      () => expect.fail("the create succeeded"),
      (e: Error & { code?: string }) => e,
    );
    expect(`${error.code} ${error.message}`).toContain("ApiServerNotReady");
    expect(error.message).toContain("FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS");
    const cluster = await sdk.client.managedClusters.get(RG, "late");
    expect(cluster.provisioningState).toBe("Failed");
    expect(cluster.status?.provisioningError?.code).toBe("ApiServerNotReady");
    await sdk.client.managedClusters.delete(RG, "late");
    expect(await containersOf("late")).toEqual([]);
  }, 60_000);
});
