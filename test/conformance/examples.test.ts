// Replays Microsoft's own request/response examples of the 2026-06-01 spec (the files MANIFEST.json
// ships in specs/upstream/.../2026-06-01/examples/) against a fresh emulator, one test per file.
//
// Each example is mapped to its operation through the upstream Swagger's x-ms-examples (generation
// strips it from the OpenAPI 3 document). Before the replay, what the example presupposes is made
// to exist, derived from its own parameters: its resource group, cluster, agent pool, maintenance
// configuration... (except the one a PUT example creates), and for an AbortLatestOperation example an
// operation in progress on the resource it names. Then the example's request is sent as written
// (path parameters, api-version, query parameters and body) and:
//   - every status code the example lists must be one the generated document declares for the
//     operation (so the emulator is allowed to produce it),
//   - the replay's status must be one the example lists,
//   - every response must validate against the spec (strict response validation: a violation is a
//     500 and is recorded in emu.violations, which must stay empty).
// A summary table (example, operation, expected statuses, actual status, clean) is printed at the end;
// an example that fails because its operation (or one it presupposes) still answers 501
// NotImplemented is told apart from other failures. Examples share one emulator but not state: the
// resource groups an example names are deleted after it, so each starts from what it presupposes.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.js";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { ArmHttp, RESOURCE_GROUP_API_VERSION, type RawResponse } from "../support/sdk.js";

const VERSION = "2026-06-01";
const manifest = JSON.parse(readFileSync(join(projectRoot, "specs", "MANIFEST.json"), "utf8"));
const swaggerPath = join(projectRoot, "specs", "upstream", manifest.entry[VERSION]);
const examplesDir = join(dirname(swaggerPath), "examples");
const swagger = JSON.parse(readFileSync(swaggerPath, "utf8"));
const generated = JSON.parse(readFileSync(join(projectRoot, "generated", "openapi", `${VERSION}.json`), "utf8"));

interface SwaggerParameter {
  name: string;
  in: "path" | "query" | "header" | "body";
}

interface Example {
  file: string;
  title: string;
  operationId: string;
  method: string;
  /** The upstream path template, e.g. /subscriptions/{subscriptionId}/resourceGroups/... */
  template: string;
  parameters: Record<string, any>;
  swaggerParameters: SwaggerParameter[];
  listed: number[];
  /** The statuses the generated document declares for the operation. */
  declared: number[];
}

// ---- reading the examples and their operations ----------------------------------------------------

const documents = new Map<string, any>([[swaggerPath, swagger]]);

/** Resolves a Swagger $ref (local or into the common-types files) relative to `from`. */
function resolveRef(ref: string, from: string): { value: any; file: string } {
  const [file, pointer = ""] = ref.split("#");
  const target = file ? resolve(dirname(from), file) : from;
  if (!documents.has(target)) documents.set(target, JSON.parse(readFileSync(target, "utf8")));
  let value = documents.get(target);
  for (const key of pointer.split("/").filter(Boolean)) value = value[key.replace(/~1/g, "/").replace(/~0/g, "~")];
  return { value, file: target };
}

function parameterOf(parameter: any): SwaggerParameter {
  const { value } = parameter.$ref ? resolveRef(parameter.$ref, swaggerPath) : { value: parameter };
  return { name: value.name, in: value.in };
}

/** example file name -> the operation whose x-ms-examples names it */
function operationsByExample(): Map<string, { operationId: string; method: string; template: string; swaggerParameters: SwaggerParameter[] }> {
  const map = new Map();
  for (const [template, item] of Object.entries<any>(swagger.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      if (!operation?.operationId) continue;
      const swaggerParameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(parameterOf);
      for (const ref of Object.values<any>(operation["x-ms-examples"] ?? {})) {
        map.set(basename(ref.$ref), { operationId: operation.operationId, method: method.toUpperCase(), template, swaggerParameters });
      }
    }
  }
  return map;
}

function declaredStatuses(operationId: string): number[] {
  for (const item of Object.values<any>(generated.paths)) {
    for (const operation of Object.values<any>(item)) {
      if (operation?.operationId === operationId) return Object.keys(operation.responses).filter((s) => /^\d+$/.test(s)).map(Number);
    }
  }
  throw new Error(`${operationId} is not in the generated ${VERSION} document`);
}

const byExample = operationsByExample();
const referencedCount = byExample.size;
const exampleFiles = readdirSync(examplesDir).filter((f) => f.endsWith(".json")).sort();

const examples: (Example | { file: string; unmapped: string })[] = exampleFiles.map((file) => {
  const operation = byExample.get(file);
  const content = JSON.parse(readFileSync(join(examplesDir, file), "utf8"));
  if (!operation) return { file, unmapped: `no operation of ${VERSION}/managedClusters.json names ${file} in x-ms-examples` };
  return {
    file,
    title: content.title ?? file,
    ...operation,
    parameters: content.parameters ?? {},
    listed: Object.keys(content.responses ?? {}).map(Number),
    declared: declaredStatuses(operation.operationId),
  };
});

// A sensible order: creations (parents first, so an example that creates a cluster creates it as it
// says, in its own location), then reads, updates, actions (state-changing ones last), then deletes
// (the deepest resource first), so a replay rarely finds its resources in an unusual state.
function rank(example: Example): number {
  const lro = isLongRunning(example.operationId);
  switch (example.method) {
    case "PUT":
      return pairsOf(example.template).length / 100;
    case "GET":
      return 1;
    case "PATCH":
      return 2;
    case "POST":
      return lro ? 4 : 3;
    default:
      return 5 + (10 - pairsOf(example.template).length);
  }
}

function isLongRunning(operationId: string): boolean {
  for (const item of Object.values<any>(swagger.paths)) {
    for (const operation of Object.values<any>(item)) if (operation?.operationId === operationId) return operation["x-ms-long-running-operation"] === true;
  }
  return false;
}

const ordered = [...examples].sort((a, b) => {
  if ("unmapped" in a || "unmapped" in b) return ("unmapped" in a ? 1 : 0) - ("unmapped" in b ? 1 : 0);
  return rank(a) - rank(b) || a.file.localeCompare(b.file);
});

// ---- building requests from an example's parameters -------------------------------------------------

/** The (collection, name parameter) pairs below the provider, e.g. [["managedClusters","resourceName"], ["agentPools","agentPoolName"]]. */
function pairsOf(template: string): { collection: string; param?: string; literal?: string }[] {
  const marker = "/providers/Microsoft.ContainerService/";
  const at = template.indexOf(marker);
  if (at < 0) return [];
  const segments = template.slice(at + marker.length).split("/");
  const pairs: { collection: string; param?: string; literal?: string }[] = [];
  for (let i = 0; i + 1 < segments.length; i += 2) {
    const name = segments[i + 1];
    const param = name.match(/^\{(.+)\}$/)?.[1];
    pairs.push({ collection: segments[i], ...(param ? { param } : { literal: name }) });
  }
  return pairs;
}

function fill(template: string, parameters: Record<string, any>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (parameters[name] === undefined) throw new Error(`the example has no value for path parameter '${name}'`);
    return encodeURIComponent(String(parameters[name]));
  });
}

function requestOf(example: Example): { method: string; url: string; body?: unknown; headers: Record<string, string> } {
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  let body: unknown;
  for (const parameter of example.swaggerParameters) {
    const value = example.parameters[parameter.name];
    if (value === undefined) continue;
    if (parameter.in === "query") query.set(parameter.name, String(value));
    else if (parameter.in === "header") headers[parameter.name] = String(value);
    else if (parameter.in === "body") body = value;
  }
  if (!query.has("api-version")) query.set("api-version", VERSION);
  return { method: example.method, url: `${fill(example.template, example.parameters)}?${query.toString()}`, body, headers };
}

// ---- making the example's resources exist -----------------------------------------------------------

const LOCATION = "eastus";

/** Minimal bodies AKS accepts, per collection; the cluster is the smallest one with a System pool. */
const CREATABLE: Record<string, (parentPath: string, name: string) => unknown> = {
  managedclusters: () => ({
    location: LOCATION,
    identity: { type: "SystemAssigned" },
    properties: { dnsPrefix: "examples", agentPoolProfiles: [{ name: "nodepool1", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] },
  }),
  agentpools: () => ({ properties: { count: 1, vmSize: "Standard_DS2_v2", mode: "User", osType: "Linux" } }),
  maintenanceconfigurations: (_, name) =>
    name === "default"
      ? { properties: { timeInWeek: [{ day: "Sunday", hourSlots: [1, 2] }] } }
      : { properties: { maintenanceWindow: { schedule: { weekly: { intervalWeeks: 1, dayOfWeek: "Sunday" } }, durationHours: 4, startTime: "00:00" } } },
};

class SetupFailure extends Error {
  constructor(
    message: string,
    readonly response: RawResponse,
  ) {
    super(message);
  }
}

interface Outcome {
  file: string;
  operationId: string;
  expected: string;
  actual: string;
  clean: boolean;
  notBuilt: boolean;
  reason: string;
}

const outcomes: Outcome[] = [];

const gate = new GatedBackend({ gated: ["applyCluster", "applyAgentPool"] });
let emu: TestEmulator;
let arm: ArmHttp;
beforeAll(async () => {
  emu = await startTestEmulator({}, { backend: gate });
  arm = new ArmHttp(emu);
});
afterAll(async () => {
  gate.release();
  printSummary();
  await emu?.close();
});

/** Waits for the long-running operation a response started, the way an ARM client does. */
async function settle(response: RawResponse): Promise<void> {
  const asyncOperation = response.headers.get("azure-asyncoperation");
  const location = response.headers.get("location");
  if (asyncOperation && [200, 201, 202].includes(response.status)) await arm.pollAsyncOperation(asyncOperation);
  else if (location && response.status === 202) await arm.pollLocation(location);
}

/** Creates what the example's path names and does not create itself, parents first. */
async function presuppose(example: Example): Promise<void> {
  await removeResourceGroup(example); // whatever an earlier example left there is not this one's
  const p = example.parameters;
  if (p.resourceGroupName) {
    const path = `/subscriptions/${encodeURIComponent(p.subscriptionId)}/resourcegroups/${encodeURIComponent(p.resourceGroupName)}`;
    const exists = await arm.call("GET", `${path}?api-version=${RESOURCE_GROUP_API_VERSION}`);
    if (exists.status === 404) {
      const response = await arm.call("PUT", `${path}?api-version=${RESOURCE_GROUP_API_VERSION}`, { location: LOCATION });
      if (![200, 201].includes(response.status)) throw new SetupFailure(`creating resource group ${p.resourceGroupName}`, response);
    }
  }
  const pairs = pairsOf(example.template);
  const marker = example.template.indexOf("/providers/Microsoft.ContainerService/");
  let parentTemplate = example.template.slice(0, marker) + "/providers/Microsoft.ContainerService";
  for (const [index, pair] of pairs.entries()) {
    const template = `${parentTemplate}/${pair.collection}/${pair.param ? `{${pair.param}}` : pair.literal}`;
    const own = index === pairs.length - 1 && example.template.endsWith(`/${pair.collection}/{${pair.param}}`);
    const body = CREATABLE[pair.collection.toLowerCase()];
    parentTemplate = template;
    if (!pair.param || !body || (own && example.method === "PUT")) continue;
    const path = fill(template, p);
    const url = `${path}?api-version=${VERSION}`;
    const exists = await arm.call("GET", url);
    if (exists.status === 200) continue;
    if (exists.status !== 404) throw new SetupFailure(`reading ${pair.collection}/${p[pair.param]}`, exists);
    const response = await arm.call("PUT", url, body(path, String(p[pair.param])));
    if (![200, 201].includes(response.status)) throw new SetupFailure(`creating ${pair.collection}/${p[pair.param]}`, response);
    await settle(response);
  }
}

/** An abort presupposes an operation in progress on the resource it names: an update, held by the gate. */
async function startOperationToAbort(example: Example): Promise<RawResponse | undefined> {
  if (!example.operationId.endsWith("_AbortLatestOperation")) return undefined;
  const template = example.template.replace(/\/abort$/, "");
  const collection = template.split("/").at(-2)!.toLowerCase();
  const path = fill(template, example.parameters);
  gate.hold();
  const update = await arm.call("PUT", `${path}?api-version=${VERSION}`, CREATABLE[collection](path, path.split("/").at(-1)!));
  if (![200, 201].includes(update.status)) throw new SetupFailure(`starting an operation on ${collection} to abort`, update);
  return update;
}

/** Deletes the example's resource group, if it has one, and waits until it is gone. */
async function removeResourceGroup(example: Example): Promise<void> {
  const { subscriptionId, resourceGroupName } = example.parameters;
  if (!resourceGroupName) return;
  const url = `/subscriptions/${encodeURIComponent(subscriptionId)}/resourcegroups/${encodeURIComponent(resourceGroupName)}?api-version=${RESOURCE_GROUP_API_VERSION}`;
  const response = await arm.call("DELETE", url);
  if (response.status === 404) return;
  expect(response.status, `deleting resource group ${resourceGroupName}: ${describeResponse(response)}`).toBe(202);
  await settle(response);
}

const isNotImplemented = (response: RawResponse) => response.status === 501 && response.body?.error?.code === "NotImplemented";

function describeResponse(response: RawResponse): string {
  const error = response.body?.error;
  return error ? `${response.status} ${error.code}: ${error.message}` : String(response.status);
}

/**
 * Examples whose request no real cluster could satisfy. They are still replayed as written; the
 * emulator must refuse them the way AKS would, and they count as not clean in the summary.
 */
const EXAMPLE_DEFECTS: Record<string, { status: number; code: string; why: string }> = {
  "AgentPoolsDeleteMachines.json": {
    status: 400,
    code: "InvalidParameter",
    why: "example defect: it deletes aks-nodepool1-42263519-vmss00000a/b from pool agentpool1; machines of a pool named nodepool1 cannot be in agentpool1, so AKS refuses them too",
  },
};

describe(`Microsoft's ${VERSION} examples replayed against the emulator`, () => {
  it(`ships examples, each named by an operation's x-ms-examples (${exampleFiles.length} shipped of ${referencedCount} referenced)`, () => {
    expect(exampleFiles.length).toBeGreaterThan(0);
    expect(examples.filter((e) => "unmapped" in e).map((e) => (e as { unmapped: string }).unmapped)).toEqual([]);
  });

  for (const example of ordered) {
    if ("unmapped" in example) continue; // reported by the test above
    it(`${example.file} (${example.operationId})`, async () => {
      const outcome: Outcome = {
        file: example.file,
        operationId: example.operationId,
        expected: example.listed.join("/"),
        actual: "-",
        clean: false,
        notBuilt: false,
        reason: "",
      };
      outcomes.push(outcome);
      const violationsBefore = emu.violations.length;

      // the emulator may produce every status the example shows
      const undeclared = example.listed.filter((status) => !example.declared.includes(status));
      expect(undeclared, `statuses the example lists that the spec does not declare for ${example.operationId}`).toEqual([]);

      let response: RawResponse;
      try {
        await presuppose(example);
        const running = await startOperationToAbort(example);
        const request = requestOf(example);
        response = await arm.call(request.method, request.url, request.body, request.headers);
        outcome.actual = String(response.status);
        gate.release();
        if (running) await settle(running);
        await settle(response);
      } catch (error) {
        if (!(error instanceof SetupFailure)) throw error;
        outcome.actual = `setup ${error.response.status}`;
        outcome.notBuilt = isNotImplemented(error.response);
        outcome.reason = `${error.message}: ${describeResponse(error.response)}`;
        return expect.fail(`${example.file}: what the example presupposes could not be made (${outcome.reason})`);
      } finally {
        gate.release();
      }
      await removeResourceGroup(example);

      const violations = emu.violations.slice(violationsBefore);
      const defect = EXAMPLE_DEFECTS[example.file];
      if (defect) {
        outcome.reason = defect.why;
        expect(violations, "responses that break the spec").toEqual([]);
        expect(response.status, describeResponse(response)).toBe(defect.status);
        expect(response.body?.error?.code).toBe(defect.code);
        return;
      }
      outcome.notBuilt = isNotImplemented(response);
      if (!example.listed.includes(response.status)) outcome.reason = describeResponse(response);
      else if (violations.length) outcome.reason = `response breaks the spec: ${JSON.stringify(violations[0].issues.slice(0, 3))}`;
      outcome.clean = outcome.reason === "";
      expect(violations, "responses that break the spec").toEqual([]);
      expect(example.listed, `${example.file}: ${describeResponse(response)}`).toContain(response.status);
    });
  }
});

function printSummary(): void {
  const header = ["example", "operation", "expected", "actual", "clean", "why not"];
  const rows = outcomes.map((o) => [o.file, o.operationId, o.expected, o.actual, o.clean ? "yes" : "no", o.clean ? "" : o.notBuilt ? "not built yet (501)" : o.reason.slice(0, 120)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  const clean = outcomes.filter((o) => o.clean).length;
  const notBuilt = outcomes.filter((o) => !o.clean && o.notBuilt).length;
  const text = [
    "",
    `Examples replay (${VERSION}): ${clean} of ${outcomes.length} clean; ${notBuilt} not clean because an operation is not built yet, ${outcomes.length - clean - notBuilt} for other reasons`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("-|-"),
    ...rows.map(line),
    "",
  ].join("\n");
  console.log(text);
}
