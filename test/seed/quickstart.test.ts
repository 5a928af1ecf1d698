// The product documentation's curl quickstart (shared/seed/000_95a56bac639d0e4e.txt, steps 1-4), run
// as written against the emulator as users start it: `node dist/src/main.js` with only environment
// variables, no flags. The steps are read from the seed at test time, so the test runs the documentation,
// not a copy of it. What differs from a user's terminal, and nothing else:
//   - the port: `localhost:4577` becomes `localhost:<free port>` (tests never use fixed ports);
//   - HOME is a temporary folder with ~/.kube in it (step 3 writes ~/.kube/my-cluster.yaml);
//   - step 3's `kubectl ... get nodes` line becomes a check that the kubeconfig was written: the seed
//     itself says kubectl has no connectivity in mocked mode. The test then reads the file.
// By default the quickstart's request (subscription `my-sub`, api-version 2024-04-01, a resource group
// never created, kubernetesVersion "1.29") is let off Azure's refusals, each let-off named in the
// x-aks-emulator-leniency header. In strict mode (FLOCI_AZ_SERVICES_AKS_STRICT=true) the same request
// gets Azure's exact refusals, one after the other as it is fixed one thing at a time.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuildIsCurrent, CLI, freePort, ROOT, SUBSCRIPTION } from "../durability/childEmulator.js";
import { jsonOrUndefined } from "../support/sdk.js";
import { bash, type BashRun, curlRequest, type SeedRequest, describeRun, KUBECTL_LINE, LENIENCY_HEADER, LENIENCY_KINDS, runnable, SEED_PORT, seedStep as step, seedSteps as steps } from "../support/seedQuickstart.js";

// ---------------------------------------------------------------------------------------------------
// The emulator as users start it, and bash as users run the steps

interface UserEmulator {
  port: number;
  httpUrl: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `node dist/src/main.js` with FLOCI_AZ_SERVICES_AKS_* variables only; ready once /_emulator/health answers. */
async function startAsUsersDo(env: Record<string, string>, keyDir: string, timeoutMs = 20_000): Promise<UserEmulator> {
  const port = await freePort();
  const inherited: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("FLOCI_AZ_SERVICES_AKS_")) inherited[name] = value;
  const child = spawn(process.execPath, [CLI], {
    cwd: ROOT,
    env: {
      ...inherited,
      FLOCI_AZ_SERVICES_AKS_MOCKED: "true",
      FLOCI_AZ_SERVICES_AKS_PORT: String(port),
      FLOCI_AZ_SERVICES_AKS_KEY_DIR: keyDir,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!alive()) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the emulator (${JSON.stringify(env)}) exited (${child.exitCode ?? child.signalCode}) before answering on port ${port}:\n${output}`);
    try {
      const health = await fetch(`${httpUrl}/_emulator/health`, { signal: AbortSignal.timeout(1000) });
      if (health.ok) return { port, httpUrl, child, output: () => output, stop };
      last = `${health.status} ${await health.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  await stop();
  throw new Error(`the emulator (${JSON.stringify(env)}) did not answer ${httpUrl}/_emulator/health within ${timeoutMs} ms (last: ${last}):\n${output}`);
}

function parseJson(label: string, text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${label}: the output is not JSON:\n${text}`);
  }
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function send(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: jsonOrUndefined(text) };
}

const shown = (label: string, answer: Answer) =>
  `${label}: answered ${answer.status}${answer.headers.get(LENIENCY_HEADER) ? ` (${LENIENCY_HEADER}: ${answer.headers.get(LENIENCY_HEADER)})` : ""}\n${answer.text}`;

// ---------------------------------------------------------------------------------------------------


describe("the seed's quickstart text", () => {
  it("has steps 1-4, each with shell code that names localhost:4577", () => {
    expect(steps.map((s) => s.number)).toEqual([1, 2, 3, 4]);
    expect(step(1).code).toMatch(/^curl -s -X PUT \\/);
    expect(step(2).code).toMatch(/^while true; do/);
    expect(step(2).code).toMatch(/done$/);
    expect(step(3).code).toMatch(/^KUBECONFIG_B64=\$\(curl -s -X POST \\/);
    expect(step(3).code).toContain(KUBECTL_LINE);
    expect(step(4).code).toMatch(/^curl -s -X DELETE \\/);
    for (const s of steps) expect(s.code, `step ${s.number}`).toContain(SEED_PORT);
    for (const s of steps) expect(s.code, `step ${s.number} took prose for code`).not.toMatch(/^In (real|mocked) mode/m);
  });
});

describe("the seed's curl quickstart, verbatim, against `node dist/src/main.js` (mocked, default mode)", () => {
  let emu: UserEmulator;
  let home: string;
  let keyDir: string;
  const ran: Record<number, BashRun> = {};

  /** Runs step n as written (port and kubectl line aside); fails naming the step if bash fails. */
  async function runStep(n: number, timeoutMs?: number): Promise<BashRun> {
    const s = step(n);
    const run = await bash(runnable(s, emu.port), home, timeoutMs);
    ran[n] = run;
    if (run.code !== 0) throw new Error(`${describeRun(`step ${n} (${s.title})`, run)}\n--- emulator log ---\n${emu.output()}`);
    return run;
  }

  const requireStep = (n: number) => {
    if (ran[n]?.code !== 0) throw new Error(`step ${n} (${step(n).title}) did not run to its end earlier in this file: see its failure`);
  };

  beforeAll(async () => {
    assertBuildIsCurrent();
    home = mkdtempSync(join(tmpdir(), "aks-quickstart-home-"));
    mkdirSync(join(home, ".kube"));
    keyDir = mkdtempSync(join(tmpdir(), "aks-quickstart-keys-"));
    emu = await startAsUsersDo({}, keyDir);
  });
  afterAll(async () => {
    await emu?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it("step 1 — Create a cluster: the body shows provisioningState Succeeded at once", async () => {
    const run = await runStep(1);
    const body = parseJson("step 1 (Create a cluster)", run.stdout);
    expect(body?.properties?.provisioningState, `step 1 (Create a cluster) answered:\n${run.stdout}`).toBe("Succeeded");
    expect(body.name, `step 1 answered:\n${run.stdout}`).toBe("my-cluster");
    expect(body.location, `step 1 answered:\n${run.stdout}`).toBe("eastus");
  });

  it("step 1 created resource group my-rg on the way, at the cluster's location", async () => {
    requireStep(1);
    const group = await send(`${emu.httpUrl}/subscriptions/my-sub/resourcegroups/my-rg?api-version=2023-07-01`, "GET");
    expect(group.status, shown("GET my-rg after step 1", group)).toBe(200);
    expect(group.body?.location, shown("GET my-rg after step 1", group)).toBe("eastus");
  });

  it("step 2 — Poll until ready: the loop ends at its first iteration with Succeeded", async () => {
    requireStep(1);
    const run = await runStep(2, 20_000);
    expect(run.stdout, describeRun("step 2 (Poll until ready)", run)).toBe("provisioningState: Succeeded\n");
  });

  it("step 3 — Get the kubeconfig: ~/.kube/my-cluster.yaml is YAML for https://localhost:6443, TLS verification off", async () => {
    requireStep(1);
    const run = await runStep(3);
    const file = join(home, ".kube", "my-cluster.yaml");
    expect(existsSync(file), describeRun("step 3 (Get the kubeconfig) wrote no ~/.kube/my-cluster.yaml", run)).toBe(true);
    const text = readFileSync(file, "utf8");
    expect(text, `step 3's kubeconfig:\n${text}`).toContain("server: https://localhost:6443");
    expect(text, `step 3's kubeconfig:\n${text}`).toContain("insecure-skip-tls-verify: true");
    let kubeconfig: any;
    try {
      kubeconfig = parseYaml(text);
    } catch (error) {
      throw new Error(`step 3's kubeconfig is not YAML (${(error as Error).message}):\n${text}`);
    }
    expect(kubeconfig?.kind, `step 3's kubeconfig:\n${text}`).toBe("Config");
    expect(kubeconfig.clusters?.[0]?.cluster, `step 3's kubeconfig:\n${text}`).toMatchObject({ server: "https://localhost:6443", "insecure-skip-tls-verify": true });
  });

  it("step 4 — Delete the cluster: runs, and the cluster is gone once the delete settles", async () => {
    requireStep(1);
    const run = await runStep(4);
    const { url } = curlRequest(step(1));
    const clusterUrl = url.replace(`http://${SEED_PORT}`, emu.httpUrl);
    // A delete may still be running (200, provisioningState Deleting): poll while the cluster is there.
    const deadline = Date.now() + 10_000;
    let answer = await send(clusterUrl, "GET");
    while (answer.status === 200 && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 100));
      answer = await send(clusterUrl, "GET");
    }
    expect(answer.status, `${shown("GET my-cluster after step 4", answer)}\n${describeRun("step 4 (Delete the cluster)", run)}`).toBe(404);
  });

  it("a DELETE like step 4's of an existing cluster answers 202 Accepted, as the step's comment says", async () => {
    expect(step(4).code).toContain("# returns 202 Accepted");
    const request = curlRequest(step(1));
    const secondUrl = request.url.replace(`http://${SEED_PORT}`, emu.httpUrl).replace("/managedClusters/my-cluster?", "/managedClusters/my-cluster-2?");
    const created = await send(secondUrl, request.method, request.body, request.headers);
    expect([200, 201], shown("PUT my-cluster-2 (step 1's request, another name)", created)).toContain(created.status);
    expect(created.body?.properties?.provisioningState, shown("PUT my-cluster-2", created)).toBe("Succeeded");
    const deleted = await send(secondUrl, "DELETE");
    expect(deleted.status, shown("DELETE my-cluster-2 (step 4's request, another name)", deleted)).toBe(202);
  });

  it("step 1's request, as the first PUT into my-rg, names all four let-offs in x-aks-emulator-leniency", async () => {
    // The steps above created my-rg; a reset makes this the first PUT into it again.
    const reset = await send(`${emu.httpUrl}/_emulator/reset`, "POST");
    expect(reset.status, shown("POST /_emulator/reset", reset)).toBe(204);
    const request = curlRequest(step(1));
    const answer = await send(request.url.replace(`http://${SEED_PORT}`, emu.httpUrl), request.method, request.body, request.headers);
    expect([200, 201], shown("step 1's request (fetch)", answer)).toContain(answer.status);
    const header = answer.headers.get(LENIENCY_HEADER);
    expect(header, shown(`step 1's request (fetch) has no ${LENIENCY_HEADER} header`, answer)).toBeTruthy();
    const kinds = [...new Set(header!.split("; ").map((entry) => entry.slice(0, entry.indexOf(":")).trim()))].sort();
    expect(kinds, `${LENIENCY_HEADER}: ${header}`).toEqual(LENIENCY_KINDS);
    for (const entry of header!.split("; ")) expect(entry, `${LENIENCY_HEADER}: ${header}`).toMatch(/^[a-z-]+: \S/);
  });
});

describe("the seed's curl quickstart against `node dist/src/main.js` with FLOCI_AZ_SERVICES_AKS_STRICT=true: Azure's refusals", () => {
  let emu: UserEmulator;
  let home: string;
  let keyDir: string;
  let request: SeedRequest;
  let reached = 0;

  const GUID_SUB = SUBSCRIPTION;
  const PUBLISHED = "2024-02-01";
  const clusterUrl = (fixes: { sub?: boolean; api?: boolean }) => {
    let url = request.url.replace(`http://${SEED_PORT}`, emu.httpUrl);
    if (fixes.sub) url = url.replace("/subscriptions/my-sub/", `/subscriptions/${GUID_SUB}/`);
    if (fixes.api) url = url.replace("api-version=2024-04-01", `api-version=${PUBLISHED}`);
    return url;
  };
  const put = (url: string, body = request.body) => send(url, request.method, body, request.headers);

  function expectRefusal(label: string, answer: Answer, status: number, code: string): void {
    expect({ status: answer.status, code: answer.body?.error?.code }, shown(label, answer)).toEqual({ status, code });
    expect(answer.headers.get(LENIENCY_HEADER), shown(`${label}: strict mode names no let-off`, answer)).toBeNull();
  }

  const requireReached = (n: number) => {
    if (reached < n) throw new Error(`strict step ${reached + 1} failed (see its failure); this step builds on step ${n}`);
  };

  beforeAll(async () => {
    assertBuildIsCurrent();
    request = curlRequest(step(1));
    expect(request.url).toContain("/subscriptions/my-sub/");
    expect(request.url).toContain("api-version=2024-04-01");
    expect(JSON.parse(request.body).properties.kubernetesVersion).toBe("1.29");
    home = mkdtempSync(join(tmpdir(), "aks-quickstart-home-"));
    mkdirSync(join(home, ".kube"));
    keyDir = mkdtempSync(join(tmpdir(), "aks-quickstart-keys-"));
    emu = await startAsUsersDo({ FLOCI_AZ_SERVICES_AKS_STRICT: "true" }, keyDir);
  });
  afterAll(async () => {
    await emu?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it("1. step 1 verbatim: 400 InvalidSubscriptionId (subscription my-sub is not a GUID)", async () => {
    const run = await bash(runnable(step(1), emu.port), home);
    expect(run.code, `${describeRun("strict: step 1 verbatim", run)}\n--- emulator log ---\n${emu.output()}`).toBe(0);
    const body = parseJson("strict: step 1 verbatim", run.stdout);
    expect(body?.error?.code, describeRun("strict: step 1 verbatim", run)).toBe("InvalidSubscriptionId");
    expectRefusal("strict: step 1's request (fetch)", await put(clusterUrl({})), 400, "InvalidSubscriptionId");
    reached = 1;
  });

  it("2. with a GUID subscription: 400 NoRegisteredProviderFound for api-version 2024-04-01, listing the supported api-versions", async () => {
    requireReached(1);
    const answer = await put(clusterUrl({ sub: true }));
    expectRefusal("strict: GUID subscription, api-version 2024-04-01", answer, 400, "NoRegisteredProviderFound");
    const message: string = answer.body?.error?.message ?? "";
    expect(message, shown("strict: NoRegisteredProviderFound message", answer)).toContain("'2024-04-01'");
    expect(message, shown("strict: NoRegisteredProviderFound message", answer)).toMatch(/The supported api-versions are '[^']*2024-02-01[^']*'/);
    reached = 2;
  });

  it("3. with api-version 2024-02-01: 404 ResourceGroupNotFound (my-rg was never created)", async () => {
    requireReached(2);
    expectRefusal("strict: GUID subscription, api-version 2024-02-01, no resource group", await put(clusterUrl({ sub: true, api: true })), 404, "ResourceGroupNotFound");
    reached = 3;
  });

  it("4. with my-rg created: 400 K8sVersionNotSupported (kubernetesVersion 1.29 is outside the catalogue)", async () => {
    requireReached(3);
    const group = await send(`${emu.httpUrl}/subscriptions/${GUID_SUB}/resourcegroups/my-rg?api-version=2023-07-01`, "PUT", JSON.stringify({ location: "eastus" }), {
      "content-type": "application/json",
    });
    expect([200, 201], shown("strict: PUT resource group my-rg", group)).toContain(group.status);
    expectRefusal("strict: GUID subscription, api-version 2024-02-01, my-rg created, kubernetesVersion 1.29", await put(clusterUrl({ sub: true, api: true })), 400, "K8sVersionNotSupported");
    reached = 4;
  });

  it("5. with the catalogue's default version: 201 and Succeeded", async () => {
    requireReached(4);
    const versions = await send(`${emu.httpUrl}/subscriptions/${GUID_SUB}/providers/Microsoft.ContainerService/locations/eastus/kubernetesVersions?api-version=${PUBLISHED}`, "GET");
    expect(versions.status, shown("strict: GET kubernetesVersions", versions)).toBe(200);
    const byDefault = (versions.body?.values ?? []).filter((v: any) => v.isDefault === true);
    expect(byDefault.length, shown("strict: GET kubernetesVersions should mark exactly one default", versions)).toBe(1);
    const body = JSON.parse(request.body);
    body.properties.kubernetesVersion = byDefault[0].version;
    const created = await put(clusterUrl({ sub: true, api: true }), JSON.stringify(body));
    expect(created.status, shown(`strict: create with kubernetesVersion ${byDefault[0].version}`, created)).toBe(201);
    expect(created.body?.properties?.provisioningState, shown("strict: create", created)).toBe("Succeeded");
    expect(created.headers.get(LENIENCY_HEADER), shown("strict: create names no let-off", created)).toBeNull();
    reached = 5;
  });
});
