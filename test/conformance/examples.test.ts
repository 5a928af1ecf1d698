// Replays Microsoft's own request/response examples against a fresh emulator, one test per file: for
// every api-version whose examples specs/MANIFEST.json lists (the files it ships in
// specs/upstream/.../<version>/examples/), each example at its own document's api-version.
//
// Each example is mapped to its operation through its version's upstream Swagger x-ms-examples
// (generation strips it from the OpenAPI 3 document). Before the replay, what the example presupposes is
// made to exist, derived from its own parameters: its resource group, cluster, agent pool, maintenance
// configuration, managed namespace, identity binding, trusted access role binding, snapshot (taken from
// a pool of a cluster made for it)... (except the one a PUT example creates); for an AbortLatestOperation
// example an operation in progress on the resource it names (held by a gated backend: mocked operations
// otherwise end inside the request); for a Start example a stopped cluster; for a GetCommandResult
// example a command run on its cluster. Then the example's request is sent as written (path
// parameters, api-version, query parameters and body; the one exception is a command id, which only
// the server assigns: the replay reads the result of the command it ran) and:
//   - every status code the example lists must be one the generated document declares for the
//     operation (so the emulator is allowed to produce it),
//   - the replay's status must be one the example lists,
//   - every response must validate against the spec (strict response validation: a violation is a
//     500 and is recorded in emu.violations, which must stay empty).
// Response bodies are not compared with the example's: examples show what one real cluster answered
// (its ids, dates, versions), not what every answer must be; the spec is the contract.
// A summary table per version (example, operation, expected statuses, actual status, clean) is printed
// at the end; an example that fails because its operation (or one it presupposes) still answers 501
// NotImplemented is told apart from other failures. Examples share one emulator but not state: the
// resource groups an example names are deleted after it, so each starts from what it presupposes.
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.js";
import { isAzureRegion } from "../../src/arm/locations.js";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { ArmHttp, RESOURCE_GROUP_API_VERSION, type RawResponse } from "../support/sdk.js";

const manifest: { entry: Record<string, string>; files: { path: string }[] } = JSON.parse(
  readFileSync(join(projectRoot, "specs", "MANIFEST.json"), "utf8"),
);

interface SwaggerParameter {
  name: string;
  in: "path" | "query" | "header" | "body";
}

interface Example {
  /** The api-version of the document whose examples folder ships the file. */
  version: string;
  file: string;
  title: string;
  operationId: string;
  method: string;
  /** The upstream path template, e.g. /subscriptions/{subscriptionId}/resourceGroups/... */
  template: string;
  longRunning: boolean;
  parameters: Record<string, any>;
  swaggerParameters: SwaggerParameter[];
  listed: number[];
  /** The statuses the generated document declares for the operation. */
  declared: number[];
}

type Unreplayable = { file: string; unmapped: string };

interface VersionExamples {
  version: string;
  /** The examples MANIFEST.json lists for the version, in file-name order. */
  files: string[];
  referencedCount: number;
  examples: (Example | Unreplayable)[];
  /** The examples in replay order, those that cannot be replayed last. */
  ordered: (Example | Unreplayable)[];
}

// ---- reading the examples and their operations ----------------------------------------------------

const documents = new Map<string, any>();

function readDocument(file: string): any {
  if (!documents.has(file)) documents.set(file, JSON.parse(readFileSync(file, "utf8")));
  return documents.get(file);
}

/** Resolves a Swagger $ref (local or into the common-types files) relative to `from`. */
function resolveRef(ref: string, from: string): { value: any; file: string } {
  const [file, pointer = ""] = ref.split("#");
  const target = file ? resolve(dirname(from), file) : from;
  let value = readDocument(target);
  for (const key of pointer.split("/").filter(Boolean)) value = value[key.replace(/~1/g, "/").replace(/~0/g, "~")];
  return { value, file: target };
}

function parameterOf(parameter: any, swaggerPath: string): SwaggerParameter {
  const { value } = parameter.$ref ? resolveRef(parameter.$ref, swaggerPath) : { value: parameter };
  return { name: value.name, in: value.in };
}

type Operation = Pick<Example, "operationId" | "method" | "template" | "longRunning" | "swaggerParameters">;

/** example file name -> the operation whose x-ms-examples names it */
function operationsByExample(swaggerPath: string): Map<string, Operation> {
  const map = new Map<string, Operation>();
  for (const [template, item] of Object.entries<any>(readDocument(swaggerPath).paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      if (!operation?.operationId) continue;
      const swaggerParameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) => parameterOf(p, swaggerPath));
      const longRunning = operation["x-ms-long-running-operation"] === true;
      for (const ref of Object.values<any>(operation["x-ms-examples"] ?? {})) {
        map.set(basename(ref.$ref), { operationId: operation.operationId, method: method.toUpperCase(), template, longRunning, swaggerParameters });
      }
    }
  }
  return map;
}

function declaredStatuses(generated: any, version: string, operationId: string): number[] {
  for (const item of Object.values<any>(generated.paths)) {
    for (const operation of Object.values<any>(item)) {
      if (operation?.operationId === operationId) return Object.keys(operation.responses).filter((s) => /^\d+$/.test(s)).map(Number);
    }
  }
  throw new Error(`${operationId} is not in the generated ${version} document`);
}

function readVersion(version: string, entry: string): VersionExamples {
  const swaggerPath = join(projectRoot, "specs", "upstream", entry);
  const examplesPath = `${dirname(entry)}/examples/`;
  const files = manifest.files
    .map((f) => f.path)
    .filter((path) => path.startsWith(examplesPath) && path.endsWith(".json"))
    .map((path) => path.slice(examplesPath.length))
    .sort();
  const examplesDir = join(dirname(swaggerPath), "examples");
  const generated = JSON.parse(readFileSync(join(projectRoot, "generated", "openapi", `${version}.json`), "utf8"));
  const byExample = operationsByExample(swaggerPath);
  const examples = files.map((file): Example | Unreplayable => {
    const operation = byExample.get(file);
    if (!operation) return { file, unmapped: `no operation of ${version}/managedClusters.json names ${file} in x-ms-examples` };
    if (!existsSync(join(examplesDir, file))) return { file, unmapped: `${version}/examples/${file} is not in specs/upstream (npm run sync-specs)` };
    const content = JSON.parse(readFileSync(join(examplesDir, file), "utf8"));
    return {
      version,
      file,
      title: content.title ?? file,
      ...operation,
      parameters: content.parameters ?? {},
      listed: Object.keys(content.responses ?? {}).map(Number),
      declared: declaredStatuses(generated, version, operation.operationId),
    };
  });
  const ordered = [...examples].sort((a, b) => {
    if ("unmapped" in a || "unmapped" in b) return ("unmapped" in a ? 1 : 0) - ("unmapped" in b ? 1 : 0);
    return rank(a) - rank(b) || a.file.localeCompare(b.file);
  });
  return { version, files, referencedCount: byExample.size, examples, ordered };
}

// A sensible order: creations (parents first, so an example that creates a cluster creates it as it
// says, in its own location), then reads, updates, actions (state-changing ones last), then deletes
// (the deepest resource first), so a replay rarely finds its resources in an unusual state.
function rank(example: Example): number {
  switch (example.method) {
    case "PUT":
      return pairsOf(example.template).length / 100;
    case "GET":
      return 1;
    case "PATCH":
      return 2;
    case "POST":
      return example.longRunning ? 4 : 3;
    default:
      return 5 + (10 - pairsOf(example.template).length);
  }
}

/** Every version whose examples the manifest ships, newest first (the manifest's order). */
const versions: VersionExamples[] = Object.entries(manifest.entry)
  .map(([version, entry]) => readVersion(version, entry))
  .filter((v) => v.files.length > 0);

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

/**
 * The body with a real region in place of a placeholder location. Microsoft's examples create clusters,
 * snapshots and namespaces in "location1", which is no Azure region: ARM refuses it
 * (LocationNotAvailableForResourceType), and so does the emulator. The placeholder stands for "some
 * region", so the replay sends the one its setup uses (eastus); a real region in an example is sent as written.
 */
function withRealLocation(body: unknown): unknown {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  const location = (body as Record<string, unknown>).location;
  return typeof location === "string" && !isAzureRegion(location) ? { ...body, location: LOCATION } : body;
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
    else if (parameter.in === "body") body = withRealLocation(value);
  }
  if (!query.has("api-version")) query.set("api-version", example.version);
  return { method: example.method, url: `${fill(example.template, example.parameters)}?${query.toString()}`, body, headers };
}

// ---- making the example's resources exist -----------------------------------------------------------

const LOCATION = "eastus";

/** The part of a resource path before the provider, e.g. /subscriptions/{id}/resourceGroups/{name}. */
const scopeOf = (path: string) => path.slice(0, path.indexOf("/providers/"));

/**
 * Minimal bodies AKS accepts, per collection; the cluster is the smallest one with a System pool. A
 * snapshot is taken from a pool: its body names a cluster made for it in the same resource group.
 */
const CREATABLE: Record<string, (path: string, name: string, version: string) => unknown | Promise<unknown>> = {
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
  managednamespaces: () => ({ location: LOCATION, properties: {} }),
  identitybindings: (path, name) => ({
    properties: { managedIdentity: { resourceId: `${scopeOf(path)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}` } },
  }),
  trustedaccessrolebindings: (path) => ({
    properties: {
      sourceResourceId: `${scopeOf(path)}/providers/Microsoft.MachineLearningServices/workspaces/workspace1`,
      roles: ["Microsoft.MachineLearningServices/workspaces/mlworkload"],
    },
  }),
  snapshots: async (path, name, version) => {
    const cluster = `${scopeOf(path)}/providers/Microsoft.ContainerService/managedClusters/${name}-source`;
    await ensure(cluster, "managedClusters", CREATABLE.managedclusters(cluster, `${name}-source`, version), version);
    return { location: LOCATION, properties: { creationData: { sourceResourceId: `${cluster}/agentPools/nodepool1` } } };
  },
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

const outcomes = new Map<string, Outcome[]>(versions.map((v) => [v.version, []]));

const gate = new GatedBackend({ gated: ["applyCluster", "applyAgentPool"] });
let emu: TestEmulator;
let arm: ArmHttp;
beforeAll(async () => {
  emu = await startTestEmulator({}, { backend: gate });
  arm = new ArmHttp(emu);
});
afterAll(async () => {
  gate.release();
  for (const { version } of versions) printSummary(version, outcomes.get(version)!);
  await emu?.close();
});

/** Waits for the long-running operation a response started, the way an ARM client does. */
async function settle(response: RawResponse): Promise<void> {
  const asyncOperation = response.headers.get("azure-asyncoperation");
  const location = response.headers.get("location");
  if (asyncOperation && [200, 201, 202].includes(response.status)) await arm.pollAsyncOperation(asyncOperation);
  else if (location && response.status === 202) await arm.pollLocation(location);
}

/** Makes the resource at `path` exist (unless it does), with `body`, and waits until its creation ends. */
async function ensure(path: string, label: string, body: unknown, version: string): Promise<void> {
  const url = `${path}?api-version=${version}`;
  const exists = await arm.call("GET", url);
  if (exists.status === 200) return;
  if (exists.status !== 404) throw new SetupFailure(`reading ${label}`, exists);
  const response = await arm.call("PUT", url, await body);
  if (![200, 201].includes(response.status)) throw new SetupFailure(`creating ${label}`, response);
  await settle(response);
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
    await ensure(path, `${pair.collection}/${p[pair.param]}`, body(path, String(p[pair.param]), example.version), example.version);
  }
}

/** An abort presupposes an operation in progress on the resource it names: an update, held by the gate. */
async function startOperationToAbort(example: Example): Promise<RawResponse | undefined> {
  if (!example.operationId.endsWith("_AbortLatestOperation")) return undefined;
  const template = example.template.replace(/\/abort$/, "");
  const collection = template.split("/").at(-2)!.toLowerCase();
  const path = fill(template, example.parameters);
  gate.hold();
  const body = await CREATABLE[collection](path, path.split("/").at(-1)!, example.version);
  const update = await arm.call("PUT", `${path}?api-version=${example.version}`, body);
  if (![200, 201].includes(update.status)) throw new SetupFailure(`starting an operation on ${collection} to abort`, update);
  // Mocked operations otherwise end inside the request: only the gate keeps this one running.
  const statusUrl = update.headers.get("azure-asyncoperation");
  const status = statusUrl ? (await arm.call("GET", statusUrl)).body?.status : undefined;
  if (status !== "InProgress") throw new SetupFailure(`starting an operation on ${collection} to abort: it is not in progress (${status}), nothing held it`, update);
  return update;
}

/** A start presupposes a stopped cluster: the replay stops the one it names first. */
async function stopClusterToStart(example: Example): Promise<void> {
  if (example.operationId !== "ManagedClusters_Start") return;
  const cluster = fill(example.template.replace(/\/start$/, ""), example.parameters);
  const stop = await arm.call("POST", `${cluster}/stop?api-version=${example.version}`);
  if (![202, 204].includes(stop.status)) throw new SetupFailure("stopping the cluster to start", stop);
  await settle(stop);
}

/**
 * A command result presupposes a command the cluster ran. Its id is the server's to assign, so the
 * example's id cannot be made to exist: the replay runs a command and reads that one's result instead.
 * Returns the parameters to replay with.
 */
async function runCommandToRead(example: Example): Promise<Record<string, any>> {
  if (example.operationId !== "ManagedClusters_GetCommandResult") return example.parameters;
  const cluster = fill(example.template.replace(/\/commandResults\/\{commandId\}$/, ""), example.parameters);
  const run = await arm.call("POST", `${cluster}/runCommand?api-version=${example.version}`, { command: "kubectl get namespaces" });
  if (![200, 202].includes(run.status)) throw new SetupFailure("running a command whose result to read", run);
  const commandId = run.body?.id ?? run.headers.get("location")?.match(/\/commandResults\/([^/?]+)/)?.[1];
  if (!commandId) throw new SetupFailure("reading the id of the command run", run);
  await settle(run);
  return { ...example.parameters, commandId };
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
 * Examples whose request no real cluster could satisfy (today). They are still replayed as written;
 * the emulator must refuse them the way AKS would, and they count as not clean in the summary.
 */
const EXAMPLE_DEFECTS: { matches: (example: Example) => boolean; status: number; code: string; why: string }[] = [
  {
    matches: (example) => example.file === "AgentPoolsDeleteMachines.json",
    status: 400,
    code: "InvalidParameter",
    why: "example defect: it deletes aks-nodepool1-42263519-vmss00000a/b from pool agentpool1; machines of a pool named nodepool1 cannot be in agentpool1, so AKS refuses them too",
  },
  {
    matches: (example) => example.file === "MachineGet.json",
    status: 404,
    code: "NotFound",
    why: "example defect: it reads aks-nodepool1-42263519-vmss00000t from pool agentpool1; a machine of a pool named nodepool1 cannot be in agentpool1, so AKS finds none either",
  },
  {
    matches: (example) => example.parameters.parameters?.sku?.name === "Basic",
    status: 400,
    code: "SkuNotAvailable",
    why: "example defect: sku.name 'Basic' was renamed 'Base' in api-version 2023-02-01 (azure-rest-api-specs#27263); AKS refuses it with SkuNotAvailable",
  },
  {
    matches: (example) => example.file === "AgentPools_Update.json" && example.parameters.parameters?.properties?.enableAutoScaling === true,
    status: 400,
    code: "InvalidParameter",
    why: "example defect: it sends count 3 with enableAutoScaling and minCount 2, maxCount 2; an autoscaled pool's count must lie within minCount..maxCount, so AKS refuses it too",
  },
  {
    matches: (example) => /^1\.23\./.test(example.parameters.parameters?.properties?.orchestratorVersion ?? ""),
    status: 400,
    code: "AgentPoolK8sVersionNotSupported",
    why: "example defect: orchestratorVersion 1.23.x left AKS's support long ago (and the default mode lets off releases from 1.24 only); AKS refuses it too",
  },
];

for (const { version, files, referencedCount, examples, ordered } of versions) {
  describe(`Microsoft's ${version} examples replayed against the emulator`, () => {
    it(`ships examples, each named by an operation's x-ms-examples (${files.length} shipped of ${referencedCount} referenced)`, () => {
      expect(files.length).toBeGreaterThan(0);
      expect(examples.filter((e) => "unmapped" in e).map((e) => (e as Unreplayable).unmapped)).toEqual([]);
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
        outcomes.get(version)!.push(outcome);
        const violationsBefore = emu.violations.length;

        // the emulator may produce every status the example shows
        const undeclared = example.listed.filter((status) => !example.declared.includes(status));
        expect(undeclared, `statuses the example lists that the spec does not declare for ${example.operationId}`).toEqual([]);

        let response: RawResponse;
        try {
          await presuppose(example);
          await stopClusterToStart(example);
          const running = await startOperationToAbort(example);
          const request = requestOf({ ...example, parameters: await runCommandToRead(example) });
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
        const defect = EXAMPLE_DEFECTS.find((d) => d.matches(example));
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
}

function printSummary(version: string, outcomes: Outcome[]): void {
  const header = ["example", "operation", "expected", "actual", "clean", "why not"];
  const rows = outcomes.map((o) => [o.file, o.operationId, o.expected, o.actual, o.clean ? "yes" : "no", o.clean ? "" : o.notBuilt ? "not built yet (501)" : o.reason.slice(0, 120)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  const clean = outcomes.filter((o) => o.clean).length;
  const notBuilt = outcomes.filter((o) => !o.clean && o.notBuilt).length;
  const text = [
    "",
    `Examples replay (${version}): ${clean} of ${outcomes.length} clean; ${notBuilt} not clean because an operation is not built yet, ${outcomes.length - clean - notBuilt} for other reasons`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("-|-"),
    ...rows.map(line),
    "",
  ].join("\n");
  console.log(text);
}
