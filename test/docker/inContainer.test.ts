// The emulator itself in a container, as docker-compose.yml runs it: the Docker socket mounted, real
// mode. 127.0.0.1 inside its container is not the host, so it must reach each cluster's API server
// over the cluster's network (it joins it: FLOCI_AZ_SERVICES_AKS_API_SERVER_ACCESS=auto detects the
// container), while the kubeconfigs it hands out name the port the Docker engine publishes on the
// host (FLOCI_AZ_SERVICES_AKS_API_SERVER_HOST, 127.0.0.1 by default).
//
// The emulator's container is the stand-in's base image (the host's node binary and its libraries)
// running `node /app/dist/src/main.js` with this repository mounted read-only at /app: the same
// compiled code and node_modules (`npm run build` first). Everything is labelled with this run's
// resource group or container label and removed at the end.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:https";
import Docker from "dockerode";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BASE_IMAGE = "aks-emulator/k3s-standin-base:latest";
const RUN = Math.random().toString(36).slice(2, 8);
const RG = `incontainer-${RUN}`;
const SUB = "00000000-0000-0000-0000-000000000000";
const EMULATOR = `aks-emulator-incontainer-${RUN}`;
const TEST_LABEL = "floci.az.aks/test";
const docker = new Docker();

async function unavailableReason(): Promise<string | undefined> {
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message})`;
  }
  if (!existsSync("dist/src/main.js")) return "dist/src/main.js is missing: npm run build";
  const missing = async () => docker.getImage("aks-emulator/k3s-standin:v1.35.9-k3s1").inspect().then(() => false, () => true);
  if (await missing()) execFileSync("bash", ["scripts/k3s-standin/build.sh"], { stdio: "inherit", timeout: 600_000 });
  if (await missing()) return "the stand-in images are missing: run scripts/k3s-standin/build.sh";
  return undefined;
}

const reason = await unavailableReason();
if (reason && process.env.CI === "true") throw new Error(`the in-container test cannot run: ${reason}`);
if (reason) console.warn(`test/docker/inContainer.test.ts skipped: ${reason}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(reason !== undefined)("the emulator in a container (docker-compose style) with the Docker socket mounted", () => {
  let emulator: Docker.Container;
  let base = "";
  const arm = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      signal: AbortSignal.timeout(30_000),
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const clusterPath = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/boxed`;
  const API = "api-version=2025-10-01";

  const cleanup = async () => {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${RUN}`] } })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    const ours = { label: [`floci.az.aks/resource-group=${RG}`] };
    for (const c of await docker.listContainers({ all: true, filters: ours })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    for (const n of await docker.listNetworks({ filters: ours })) await docker.getNetwork(n.Id).remove().catch(() => {});
    for (const v of (await docker.listVolumes({ filters: ours })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
  };

  beforeAll(async () => {
    emulator = await docker.createContainer({
      name: EMULATOR,
      Image: BASE_IMAGE,
      Entrypoint: ["/usr/local/bin/node"],
      Cmd: ["/app/dist/src/main.js"],
      WorkingDir: "/app",
      Labels: { [TEST_LABEL]: RUN },
      Env: [
        "FLOCI_AZ_SERVICES_AKS_MOCKED=false",
        "FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE=aks-emulator/k3s-standin",
        "FLOCI_AZ_SERVICES_AKS_PRIVILEGED=false",
        "FLOCI_AZ_SERVICES_AKS_API_SERVER_BASE_PORT=36700",
        "FLOCI_AZ_SERVICES_AKS_API_SERVER_MAX_PORT=36749",
        "FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS=90",
        "FLOCI_AZ_SERVICES_AKS_HOST=0.0.0.0",
        "FLOCI_AZ_SERVICES_AKS_KEY_DIR=/tmp/keys",
        "HOME=/tmp",
      ],
      ExposedPorts: { "4577/tcp": {} },
      HostConfig: {
        Binds: [`${process.cwd()}:/app:ro`, "/var/run/docker.sock:/var/run/docker.sock"],
        PortBindings: { "4577/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      },
    });
    await emulator.start();
    const port = (await emulator.inspect()).NetworkSettings.Ports["4577/tcp"]![0].HostPort;
    base = `http://127.0.0.1:${port}`;
    for (const until = Date.now() + 60_000; ; ) {
      // A bounded wait per attempt: a fetch sent while the port is published but nothing listens
      // behind it yet (docker-proxy accepts, then closes) was seen to stay pending for good (Node 20's
      // fetch); the race settles it whatever fetch does.
      const ok = await Promise.race([
        fetch(`${base}/_emulator/health`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false),
        sleep(3000).then(() => false),
      ]);
      if (ok) break;
      if (Date.now() > until || !(await emulator.inspect()).State.Running) {
        throw new Error(`the emulator in its container did not answer: ${(await emulator.logs({ stdout: true, stderr: true, tail: 30 })).toString("utf8")}`);
      }
      await sleep(300);
    }
    expect((await arm("PUT", `/subscriptions/${SUB}/resourcegroups/${RG}?api-version=2023-07-01`, { location: "eastus" })).status).toBeLessThan(300);
  }, 120_000);

  afterAll(async () => {
    await cleanup();
  }, 120_000);

  it("creates a real-mode cluster (Succeeded: it reached the API server over the cluster network) whose admin kubeconfig works from the host", async () => {
    const started = Date.now();
    const put = await arm("PUT", `${clusterPath}?${API}`, {
      location: "eastus",
      properties: { dnsPrefix: "boxed", kubernetesVersion: "1.35.9", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_D2s_v3", mode: "System" }] },
    });
    expect([200, 201], JSON.stringify(put.body)).toContain(put.status);
    let state = "";
    for (const until = Date.now() + 150_000; Date.now() < until; await sleep(1000)) {
      const got = await arm("GET", `${clusterPath}?${API}`);
      state = got.body?.properties?.provisioningState;
      if (state !== "Creating" && state !== "Updating") break;
    }
    const logs = async () => (await emulator.logs({ stdout: true, stderr: true, tail: 20 })).toString("utf8");
    expect(state, await logs()).toBe("Succeeded");
    console.log(`in-container emulator: cluster Succeeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The emulator joined the cluster's network (that is how it reached /readyz and the nodes).
    const server = (await docker.listContainers({ filters: { label: [`floci.az.aks/resource-group=${RG}`, "floci.az.aks/role=server"] } }))[0];
    const network = await docker.getNetwork(`floci-az-aks-${server.Labels["floci.az.aks/instance"]}`).inspect();
    const emulatorId = (await emulator.inspect()).Id;
    expect(Object.keys(network.Containers ?? {})).toContain(emulatorId);
    // At an address of its own (.254), not the lowest free one Docker would pick: the server's .2.
    expect(network.Containers![emulatorId].IPv4Address).toMatch(/^10\.210\.\d+\.254\//);

    const credentials = await arm("POST", `${clusterPath}/listClusterAdminCredential?${API}`);
    expect(credentials.status).toBe(200);
    const kubeconfig = parse(Buffer.from(credentials.body.kubeconfigs[0].value, "base64").toString("utf8"));
    const entry = kubeconfig.clusters[0].cluster;
    const user = kubeconfig.users[0].user;
    const url = new URL(entry.server);
    expect(url.hostname).toBe("127.0.0.1");
    const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
    const nodes = await new Promise<any>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: "/api/v1/nodes", ca: b64(entry["certificate-authority-data"]), cert: b64(user["client-certificate-data"]), key: b64(user["client-key-data"]), timeout: 5000 },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error("no answer from the API server within 5 s")));
      req.end();
    });
    expect(nodes.status).toBe(200);
    expect(nodes.body.items).toHaveLength(1);

    // Deleting removes the network although the emulator had joined it.
    const deleted = await arm("DELETE", `${clusterPath}?${API}`);
    expect([200, 202, 204]).toContain(deleted.status);
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(1000)) {
      if ((await arm("GET", `${clusterPath}?${API}`)).status === 404) break;
    }
    expect(await docker.listNetworks({ filters: { label: [`floci.az.aks/resource-group=${RG}`] } })).toEqual([]);
  }, 240_000);
});
