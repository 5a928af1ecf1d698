// The emulator as users get it without the repository: the packed npm package (`npm pack`), installed
// with its runtime dependencies only into an empty folder, and the container image made from it
// (scripts/image/build-local.sh: the Dockerfile's runtime settings on this machine's node, since the
// Dockerfile's base image cannot be pulled here). Each runs the seed's curl quickstart as written
// (test/support/seedQuickstart.ts): the package's own `aks-emulator` command, and the image as
// docker-compose.yml runs it, in mocked mode and in real mode (the k3s stand-in images, the Docker
// socket mounted), where step 3's kubeconfig then serves `kubectl get nodes`.
//
// The tarball is packed from this checkout's build (`npm pack --ignore-scripts`: npm test has built it,
// and a rebuild would change dist/ under the other test files); the install takes its dependencies
// from the npm registry, better-sqlite3 compiled where no prebuilt binary is reachable.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuildIsCurrent, freePort, ROOT } from "../durability/childEmulator.js";
import { runSeedQuickstart } from "../support/seedQuickstart.js";

const run = promisify(execFile);
const RUN = Math.random().toString(36).slice(2, 8);
const work = mkdtempSync(join(tmpdir(), "aks-package-"));
const appDir = join(work, "app");
let tarball = "";

const folderBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? folderBytes(path) : entry.isFile() ? statSync(path).size : 0);
  }, 0);

async function waitForHealth(url: string, alive: () => boolean, output: () => string, timeoutMs = 60_000): Promise<void> {
  let last = "no answer yet";
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((wait) => setTimeout(wait, 200))) {
    if (!alive()) throw new Error(`the emulator exited before answering:\n${output()}`);
    // Bounded per attempt: a fetch to a port Docker publishes before anything listens was seen to hang.
    const answer = await Promise.race([
      fetch(`${url}/_emulator/health`, { signal: AbortSignal.timeout(2000) }).then((r) => `${r.status}`, (e: Error) => e.message),
      new Promise<string>((done) => setTimeout(() => done("no answer within 3 s"), 3000)),
    ]);
    if (answer === "200") return;
    last = answer;
  }
  throw new Error(`${url}/_emulator/health did not answer 200 within ${timeoutMs} ms (last: ${last}):\n${output()}`);
}

beforeAll(async () => {
  assertBuildIsCurrent();
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, maxBuffer: 16 << 20 });
  tarball = join(work, JSON.parse(packed.stdout)[0].filename);
  mkdirSync(appDir);
  const started = Date.now();
  await run("npm", ["install", "--no-audit", "--no-fund", "--omit=dev", tarball], { cwd: appDir, maxBuffer: 64 << 20, timeout: 600_000 });
  console.log(
    `npm package: ${(statSync(tarball).size / 1e6).toFixed(2)} MB packed; npm install --omit=dev took ${((Date.now() - started) / 1000).toFixed(0)} s, ` +
      `${readdirSync(join(appDir, "node_modules")).length} top-level packages, ${(folderBytes(join(appDir, "node_modules")) / 1e6).toFixed(0)} MB`,
  );
}, 660_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the npm package (npm pack), installed into an empty folder", () => {
  const installed = () => join(appDir, "node_modules", "aks-emulator");

  it("holds the built server, the generated documents it serves and the licence notices, and no source, test or upstream spec file", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n").map((f) => f.replace(/^package\//, ""));
    for (const needed of ["package.json", "README.md", "LICENSE", "THIRD-PARTY-NOTICES.md", "dist/package.json", "dist/src/main.js", "specs/MANIFEST.json", "specs/api-versions.json"]) expect(files).toContain(needed);
    const documents = files.filter((f) => /^generated\/openapi\/\d{4}-\d{2}-\d{2}\.json$/.test(f));
    expect(documents.length).toBeGreaterThanOrEqual(6);
    expect(files.filter((f) => /^(src|test|scripts|specs\/upstream|bench)\//.test(f) || f.endsWith(".ts"))).toEqual([]);
  });

  it("installs the runtime dependencies only", () => {
    const modules = readdirSync(join(appDir, "node_modules"));
    for (const runtime of ["openapi-backend", "ajv", "better-sqlite3", "dockerode"]) expect(modules).toContain(runtime);
    for (const dev of ["vitest", "typescript", "esbuild", "tsx", "@stoplight", "autocannon", "playwright-core"]) expect(modules).not.toContain(dev);
  });

  async function startInstalled(args: string[], home: string): Promise<{ port: number; child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, FLOCI_AZ_SERVICES_AKS_MOCKED: "true", FLOCI_AZ_SERVICES_AKS_PORT: String(port) };
    const child = spawn(join(appDir, "node_modules", ".bin", "aks-emulator"), args, { cwd: appDir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
    const exited = new Promise((done) => child.once("exit", done));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    };
    await waitForHealth(`http://127.0.0.1:${port}`, () => child.exitCode === null, () => output);
    return { port, child, output: () => output, stop };
  }

  it("its aks-emulator command (the package's bin) serves the seed's quickstart, run as written", async () => {
    expect(existsSync(join(installed(), "dist", "src", "main.js"))).toBe(true);
    const home = join(work, "home-quickstart");
    mkdirSync(join(home, ".kube"), { recursive: true });
    const emulator = await startInstalled([], home);
    try {
      await runSeedQuickstart(emulator.port, home);
    } finally {
      await emulator.stop();
    }
  }, 60_000);

  it("keeps its state in a data folder across a restart (its native SQLite module works)", async () => {
    const home = join(work, "home-data");
    const data = join(work, "data");
    mkdirSync(home, { recursive: true });
    const cluster = (port: number) => `http://127.0.0.1:${port}/subscriptions/my-sub/resourceGroups/kept/providers/Microsoft.ContainerService/managedClusters/kept?api-version=2026-08-01`;
    const first = await startInstalled(["--data-dir", data], home);
    try {
      const body = { location: "eastus", properties: { dnsPrefix: "kept", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } };
      const put = await fetch(cluster(first.port), { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(put.status, await put.text()).toBe(201);
    } finally {
      await first.stop();
    }
    const second = await startInstalled(["--data-dir", data], home);
    try {
      const got = await fetch(cluster(second.port));
      expect(got.status).toBe(200);
      expect(((await got.json()) as { properties: { provisioningState: string } }).properties.provisioningState).toBe("Succeeded");
    } finally {
      await second.stop();
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
// The container image

const docker = new Docker();
const IMAGE = `aks-emulator:test-${RUN}`;
const TEST_LABEL = "floci.az.aks/test";

async function dockerUnavailable(): Promise<string | undefined> {
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message})`;
  }
  const missing = await docker.getImage("aks-emulator/k3s-standin:v1.29.15-k3s1").inspect().then(() => false, () => true);
  if (missing) return "the k3s stand-in images are missing: run scripts/k3s-standin/build.sh";
  return undefined;
}

const reason = await dockerUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the container image tests cannot run: ${reason}`);
if (reason) console.warn(`test/package/package.test.ts: the container image tests are skipped: ${reason}`);

describe.skipIf(reason !== undefined)("its container image (scripts/image/build-local.sh), run as docker-compose.yml runs it", () => {
  const containers: Docker.Container[] = [];
  // The seed's cluster is my-rg/my-cluster; no other test runs it in real mode.
  const resourceGroupLabel = { label: ["floci.az.aks/resource-group=my-rg"] };

  beforeAll(async () => {
    const { stdout } = await run("bash", [join(ROOT, "scripts", "image", "build-local.sh"), "--app", appDir, "--tag", IMAGE], { maxBuffer: 16 << 20, timeout: 300_000 });
    console.log(stdout.trim());
  }, 320_000);

  afterAll(async () => {
    for (const container of containers) await container.remove({ force: true, v: true }).catch(() => {});
    // Real mode's cluster: the quickstart deletes it; what a failure left goes too.
    for (const c of await docker.listContainers({ all: true, filters: resourceGroupLabel })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    for (const n of await docker.listNetworks({ filters: resourceGroupLabel })) await docker.getNetwork(n.Id).remove().catch(() => {});
    for (const v of (await docker.listVolumes({ filters: resourceGroupLabel })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
    await docker.getImage(IMAGE).remove({ force: true }).catch(() => {});
  }, 120_000);

  /** The compose service: port 4577 published (here on a free host port), a volume at /data, the socket with its group. */
  async function startContainer(env: string[]): Promise<{ container: Docker.Container; port: number }> {
    const socketGroup = String(statSync("/var/run/docker.sock").gid);
    const container = await docker.createContainer({
      Image: IMAGE,
      Labels: { [TEST_LABEL]: RUN },
      Env: ["FLOCI_AZ_SERVICES_AKS_ENABLED=true", "FLOCI_AZ_SERVICES_AKS_HOSTNAMES=aks-emulator", "FLOCI_AZ_SERVICES_AKS_KEEP_RUNNING_ON_SHUTDOWN=false", ...env],
      ExposedPorts: { "4577/tcp": {} },
      HostConfig: {
        Binds: ["/var/run/docker.sock:/var/run/docker.sock"],
        GroupAdd: [socketGroup],
        PortBindings: { "4577/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      },
    });
    containers.push(container);
    await container.start();
    const port = Number((await container.inspect()).NetworkSettings.Ports["4577/tcp"]![0].HostPort);
    const logs = async () => (await container.logs({ stdout: true, stderr: true, tail: 40 })).toString("utf8");
    let output = "";
    await waitForHealth(`http://127.0.0.1:${port}`, () => true, () => output, 60_000).catch(async (error: Error) => {
      output = await logs();
      throw new Error(`${error.message}\n${output}`);
    });
    return { container, port };
  }

  it("runs as the non-root user node, with a volume at /data, and its health check turns healthy", async () => {
    const { container } = await startContainer(["FLOCI_AZ_SERVICES_AKS_MOCKED=true"]);
    const inspected = await container.inspect();
    expect(inspected.Config.User).toBe("node");
    expect(Object.keys(inspected.Config.Volumes ?? {})).toEqual(["/data"]);
    expect(inspected.Mounts.find((m) => m.Destination === "/data")?.Type).toBe("volume");
    const exec = await container.exec({ Cmd: ["id", "-u"], AttachStdout: true });
    const stream = await exec.start({});
    const uid = await new Promise<string>((done) => {
      let text = "";
      stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      stream.on("end", () => done(text));
    });
    expect(uid).toContain("1000");
    let health = "";
    for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((wait) => setTimeout(wait, 1000))) {
      health = (await container.inspect()).State.Health?.Status ?? "none";
      if (health === "healthy") break;
    }
    expect(health).toBe("healthy");
  }, 90_000);

  it("mocked mode: the seed's quickstart, run as written", async () => {
    const { port } = await startContainer(["FLOCI_AZ_SERVICES_AKS_MOCKED=true"]);
    const home = join(work, "home-image-mocked");
    mkdirSync(join(home, ".kube"), { recursive: true });
    await runSeedQuickstart(port, home);
  }, 60_000);

  it("real mode (the Docker socket mounted, the k3s stand-in image): the seed's quickstart, and step 3's kubeconfig serves kubectl get nodes", async () => {
    const { port } = await startContainer([
      "FLOCI_AZ_SERVICES_AKS_MOCKED=false",
      "FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE=aks-emulator/k3s-standin",
      "FLOCI_AZ_SERVICES_AKS_PRIVILEGED=false",
      "FLOCI_AZ_SERVICES_AKS_API_SERVER_BASE_PORT=36750",
      "FLOCI_AZ_SERVICES_AKS_API_SERVER_MAX_PORT=36799",
      "FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS=90",
    ]);
    const home = join(work, "home-image-real");
    mkdirSync(join(home, ".kube"), { recursive: true });
    let nodes = "";
    await runSeedQuickstart(port, home, {
      real: true,
      pollTimeoutMs: 150_000,
      beforeDelete: async (kubeconfig) => {
        nodes = (await run("kubectl", ["--kubeconfig", kubeconfig, "get", "nodes", "-o", "name"], { timeout: 30_000 })).stdout;
      },
    });
    expect(nodes.trim().split("\n").length).toBeGreaterThanOrEqual(1);
    expect(nodes).toMatch(/^node\//);
    // The delete (step 4) removes the cluster's containers.
    for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((wait) => setTimeout(wait, 1000))) {
      if ((await docker.listContainers({ all: true, filters: resourceGroupLabel })).length === 0) break;
    }
    expect(await docker.listContainers({ all: true, filters: resourceGroupLabel })).toEqual([]);
  }, 300_000);
});
