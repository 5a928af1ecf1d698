// The product documentation's curl quickstart (shared/seed/000_95a56bac639d0e4e.txt, steps 1-4), read
// from the seed at test time and run with bash, as users run it: test/seed/quickstart.test.ts runs it
// against `node dist/src/main.js`, test/package/ against the packed npm package and its container image.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ROOT } from "../durability/childEmulator.js";

/** The seed sits in shared/ beside the repository (CI lays a copy there too). */
export const SEED = resolve(ROOT, "..", "shared", "seed", "000_95a56bac639d0e4e.txt");
export const SEED_PORT = "localhost:4577";
export const KUBECTL_LINE = "kubectl --kubeconfig ~/.kube/my-cluster.yaml get nodes";
export const KUBECONFIG_CHECK = "test -s ~/.kube/my-cluster.yaml";
export const LENIENCY_HEADER = "x-aks-emulator-leniency";
export const LENIENCY_KINDS = ["api-version", "kubernetes-version", "resource-group", "subscription-id"];

// ---------------------------------------------------------------------------------------------------
// The seed's text

export interface Step {
  number: number;
  title: string;
  /** The step's shell code as the seed prints it (port 4577). */
  code: string;
}

/**
 * The quickstart's steps: the text between "1 — Create a cluster" and "SDK Integration", cut at the
 * "N — Title" headings. The seed is a page's text without code fences, so a step's code is told from its
 * prose by paragraphs (blank-line separated): a paragraph whose first line reads as an English sentence
 * ("In real mode, ...", "In mocked mode ...") and whose text ends with a full stop is prose; the others
 * (curl, while, KUBECONFIG_B64=..., echo, kubectl, # comments) are the step's code, blank lines kept.
 */
export function quickstartSteps(seedText: string): Step[] {
  const text = seedText.replace(/\r\n/g, "\n");
  const start = text.indexOf("1 — Create a cluster");
  const end = text.indexOf("SDK Integration", start);
  if (start < 0 || end < 0) throw new Error(`${SEED}: no text between "1 — Create a cluster" and "SDK Integration"; the seed changed`);
  const section = text.slice(start, end);
  const headings = [...section.matchAll(/^(\d) — (.+)$/gm)];
  return headings.map((heading, i) => {
    const bodyStart = heading.index! + heading[0].length;
    const bodyEnd = i + 1 < headings.length ? headings[i + 1].index! : section.length;
    const paragraphs = section.slice(bodyStart, bodyEnd).split(/\n[ \t]*\n/);
    const isProse = (p: string) => /^[A-Z][a-z]+,? [a-z]/.test(p.trim()) && /\.$/.test(p.trim());
    const code = paragraphs.filter((p) => p.trim() && !isProse(p)).map((p) => p.replace(/^\n+|\s+$/g, "")).join("\n\n");
    return { number: Number(heading[1]), title: heading[2].trim(), code };
  });
}

/** The code as the test runs it: the port, and (step 3) the kubectl line. */
export function runnable(step: Step, port: number): string {
  if (!step.code.includes(SEED_PORT)) throw new Error(`step ${step.number} (${step.title}) no longer names ${SEED_PORT}; the seed changed:\n${step.code}`);
  let code = step.code.split(SEED_PORT).join(`localhost:${port}`);
  if (step.number === 3) {
    const lines = code.split("\n");
    const at = lines.findIndex((line) => line.trim() === KUBECTL_LINE);
    if (at < 0 || lines.filter((line) => line.trim() === KUBECTL_LINE).length !== 1) {
      throw new Error(`step 3 does not have exactly one line '${KUBECTL_LINE}'; the seed changed:\n${step.code}`);
    }
    lines[at] = KUBECONFIG_CHECK;
    code = lines.join("\n");
  }
  return code;
}

/** Step 1's curl command, read as a request (for the checks that need a status or headers). */
export interface SeedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export function curlRequest(step: Step): SeedRequest {
  const code = step.code.replace(/\\\n/g, " ");
  const method = code.match(/-X\s+([A-Z]+)/)?.[1];
  const url = code.match(/"(http:\/\/localhost:4577\/[^"]+)"/)?.[1];
  const body = code.match(/-d\s+'([^']*)'/)?.[1];
  const headers: Record<string, string> = {};
  for (const [, header] of code.matchAll(/-H\s+"([^"]+)"/g)) {
    const colon = header.indexOf(":");
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  if (!method || !url || body === undefined) throw new Error(`step ${step.number}: cannot read the curl command as a request; the seed changed:\n${step.code}`);
  return { method, url, headers, body };
}

export interface BashRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  script: string;
}

/** `bash -euo pipefail -c SCRIPT` with HOME set; never rejects (the caller reports what happened). */
export function bash(script: string, home: string, timeoutMs = 30_000): Promise<BashRun> {
  return new Promise((done) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], { cwd: home, env: { ...process.env, HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      stderr += `\n[test: killed after ${timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, script });
    });
  });
}

export function describeRun(label: string, run: BashRun): string {
  return `${label}: bash exited ${run.code ?? run.signal}\n--- script ---\n${run.script}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** The seed's steps, read once. */
export const seedSteps: Step[] = quickstartSteps(readFileSync(SEED, "utf8"));

export function seedStep(n: number): Step {
  const found = seedSteps.find((s) => s.number === n);
  if (!found) throw new Error(`the seed's quickstart has no step ${n} (found: ${seedSteps.map((s) => `${s.number} — ${s.title}`).join(", ")})`);
  return found;
}

/**
 * Steps 1-4 in order against an emulator on `port` (HOME is `home`, holding ~/.kube), each checked
 * for what the seed says it shows: a cluster (Succeeded at once in mocked mode; in real mode, as the
 * seed says, step 2 polls until it is), a poll that ends with Succeeded, a kubeconfig file, a delete.
 * `beforeDelete` runs between steps 3 and 4. Throws naming the step that failed, with what bash printed.
 */
export async function runSeedQuickstart(port: number, home: string, options: { real?: boolean; pollTimeoutMs?: number; beforeDelete?: (kubeconfigFile: string) => Promise<void> } = {}): Promise<void> {
  const run = async (n: number, timeoutMs = 30_000) => {
    const result = await bash(runnable(seedStep(n), port), home, timeoutMs);
    if (result.code !== 0) throw new Error(describeRun(`step ${n} (${seedStep(n).title})`, result));
    return result;
  };
  const created = await run(1);
  let body: any;
  try {
    body = JSON.parse(created.stdout);
  } catch {
    throw new Error(describeRun("step 1 printed no JSON", created));
  }
  const expected = options.real ? ["Creating", "Succeeded"] : ["Succeeded"];
  if (!expected.includes(body?.properties?.provisioningState)) throw new Error(describeRun(`step 1 answered no ${expected.join(" or ")} cluster`, created));
  const polled = await run(2, options.pollTimeoutMs);
  const lines = polled.stdout.trimEnd().split("\n");
  if (lines.at(-1) !== "provisioningState: Succeeded" || (!options.real && lines.length !== 1)) throw new Error(describeRun("step 2 did not end with Succeeded", polled));
  await run(3);
  const file = join(home, ".kube", "my-cluster.yaml");
  const kubeconfig = existsSync(file) ? parseYaml(readFileSync(file, "utf8")) : undefined;
  if (kubeconfig?.kind !== "Config") throw new Error(`step 3 wrote no kubeconfig to ${file}`);
  await options.beforeDelete?.(file);
  await run(4);
}
