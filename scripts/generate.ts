// Spec pipeline: specs/upstream (synced, sha256-checked) -> generated/.
// For each api-version named in specs/MANIFEST.json "entry":
//   strip x-ms-examples -> pull external common-types into the document -> apply specs/overlays
//   -> Swagger 2.0 to OpenAPI 3 (swagger2openapi) -> generated/openapi/<version>.json
//   -> openapi-typescript -> generated/types/<version>.ts
// and once for all versions generated/operations.ts (operation catalogue and the Handlers type) and
// generated/types/newest.ts (the types handlers are written against).
// Skips all work when its inputs have not changed since the last run (generated/.stamp).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import converter from "swagger2openapi";
import openapiTS, { astToString } from "openapi-typescript";
import { projectRoot, readManifest, syncSpecs, upstreamDir } from "./sync-specs.js";

type Json = any; // upstream documents are untyped JSON until generation has run
const generatedDir = join(projectRoot, "generated");
const overlaysDir = join(projectRoot, "specs", "overlays");
const HTTP_METHODS = ["get", "put", "post", "patch", "delete", "head", "options"];

function stripExamples(node: Json): void {
  if (Array.isArray(node)) return node.forEach(stripExamples);
  if (node && typeof node === "object") {
    delete node["x-ms-examples"];
    for (const value of Object.values(node)) stripExamples(value);
  }
}

// swagger-parser's bundle leaves a broken pointer for the recursive common-types ErrorDetail, so
// external $refs are resolved here by hand: each external definition or parameter is copied into
// the main document under its own name and the $ref rewritten to point inside the document.
function inlineExternalRefs(doc: Json, entryPath: string): void {
  const loaded = new Map<string, Json>();
  const load = (file: string) => {
    if (!loaded.has(file)) loaded.set(file, JSON.parse(readFileSync(file, "utf8")));
    return loaded.get(file);
  };
  const origin = new Map<string, string>(); // "definitions/Name" -> source file, to catch clashes
  for (const section of ["definitions", "parameters"]) {
    for (const name of Object.keys(doc[section] ?? {})) origin.set(`${section}/${name}`, entryPath);
  }

  const rewrite = (node: Json, currentFile: string): void => {
    if (Array.isArray(node)) return node.forEach((item) => rewrite(item, currentFile));
    if (!node || typeof node !== "object") return;
    if (typeof node.$ref === "string") {
      const [filePart, pointer = ""] = node.$ref.split("#");
      const file = filePart ? resolve(dirname(currentFile), filePart) : currentFile;
      if (file !== entryPath) {
        const [, section, name, ...rest] = pointer.split("/");
        if (!section || !name || rest.length) throw new Error(`unsupported $ref ${node.$ref} in ${currentFile}`);
        const key = `${section}/${name}`;
        if (!origin.has(key)) {
          origin.set(key, file);
          const copy = structuredClone(load(file)[section][name]);
          doc[section] ??= {};
          doc[section][name] = copy;
          rewrite(copy, file);
        } else if (origin.get(key) !== file) {
          throw new Error(`name clash: ${key} comes from both ${origin.get(key)} and ${file}`);
        }
        node.$ref = `#/${section}/${name}`;
      }
    }
    for (const [key, value] of Object.entries(node)) if (key !== "$ref") rewrite(value, currentFile);
  };
  rewrite(doc, entryPath);
}

// swagger2openapi drops the siblings of a $ref, and `readOnly` with them: a cluster's systemData and
// powerState would no longer read as read-only. The names of such properties are kept on the schema
// that holds them, as x-aks-emulator-read-only, for the request normalisation
// (src/api/requestNormalisation.ts: ARM ignores read-only properties in a request).
function keepReadOnlyRefs(node: Json): void {
  if (Array.isArray(node)) return node.forEach(keepReadOnlyRefs);
  if (!node || typeof node !== "object") return;
  const properties = node.properties;
  if (properties && typeof properties === "object" && !Array.isArray(properties)) {
    const names = Object.keys(properties).filter((name) => typeof properties[name]?.$ref === "string" && properties[name].readOnly === true);
    if (names.length) node["x-aks-emulator-read-only"] = names;
  }
  for (const value of Object.values(node)) keepReadOnlyRefs(value);
}

// Overlays are RFC 6902 JSON Patch files named NNN-description.json, applied in order to the
// Swagger document before conversion; specs/README.md explains each one.
function listOverlays(): string[] {
  if (!existsSync(overlaysDir)) return [];
  return readdirSync(overlaysDir).filter((name) => /^\d{3}-.*\.json$/.test(name)).sort();
}

function applyOverlay(doc: Json, version: string, overlayFile: string): void {
  const overlay = JSON.parse(readFileSync(join(overlaysDir, overlayFile), "utf8")) as {
    versions?: string[];
    patch: { op: string; path: string; value?: Json }[];
  };
  if (overlay.versions && !overlay.versions.includes(version)) return;
  for (const operation of overlay.patch) {
    const segments = operation.path.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = segments.pop()!;
    let parent = doc;
    for (const segment of segments) {
      parent = parent?.[segment];
      if (parent === undefined) throw new Error(`${overlayFile}: ${operation.path} does not exist`);
    }
    if (operation.op === "add" || operation.op === "replace") {
      if (operation.op === "replace" && !(last in parent)) throw new Error(`${overlayFile}: ${operation.path} does not exist`);
      if (Array.isArray(parent) && operation.op === "add") {
        parent.splice(last === "-" ? parent.length : Number(last), 0, operation.value);
      } else parent[last] = operation.value;
    } else if (operation.op === "remove") {
      if (!(last in parent)) throw new Error(`${overlayFile}: ${operation.path} does not exist`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else throw new Error(`${overlayFile}: unsupported op ${operation.op}`);
  }
}

export interface OperationInfo {
  operationId: string;
  method: string;
  path: string;
  longRunning: boolean;
  finalStateVia?: string;
  pageable: boolean;
  statusCodes: number[];
}

function catalogue(swagger: Json): OperationInfo[] {
  const operations: OperationInfo[] = [];
  for (const [path, item] of Object.entries<Json>(swagger.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      operations.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        longRunning: !!op["x-ms-long-running-operation"],
        finalStateVia: op["x-ms-long-running-operation-options"]?.["final-state-via"],
        pageable: !!op["x-ms-pageable"],
        statusCodes: Object.keys(op.responses).filter((c) => c !== "default").map(Number),
      });
    }
  }
  return operations;
}

// generated/types/newest.ts: the types handlers are written against. Every operation's types come
// from the newest document that has it: the newest document (apiVersions[0]) for all of them but
// those only older documents still serve.
function newestTypes(versions: string[], byVersion: Record<string, OperationInfo[]>): string {
  const alias = (version: string) => `operations_${version.replace(/-/g, "_")}`;
  const seen = new Set<string>();
  const contributing: string[] = [];
  for (const version of versions) {
    const added = byVersion[version].filter((o) => !seen.has(o.operationId));
    if (version === versions[0] || added.length) contributing.push(version);
    for (const o of added) seen.add(o.operationId);
  }
  const parts = contributing.map((version, i) => {
    const newer = contributing.slice(0, i).map((v) => `keyof ${alias(v)}`);
    return i === 0 ? alias(version) : `Omit<${alias(version)}, ${newer.join(" | ")}>`;
  });
  return [
    "// Generated by scripts/generate.ts from the versions in specs/MANIFEST.json. Do not edit.",
    "// The newest document's types; `operations` holds every served operation, each from the newest document that has it.",
    ...contributing.map((version) => `import type { operations as ${alias(version)} } from "./${version}.js";`),
    "",
    `export type { components, paths } from "./${versions[0]}.js";`,
    `export type operations = ${parts.join("\n  & ")};`,
    "",
  ].join("\n");
}

function inputsFingerprint(): string {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(projectRoot, "specs", "MANIFEST.json")));
  hash.update(readFileSync(join(projectRoot, "specs", "api-versions.json")));
  for (const overlay of listOverlays()) hash.update(overlay).update(readFileSync(join(overlaysDir, overlay)));
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const pkg of ["swagger2openapi", "openapi-typescript"]) {
    hash.update(readFileSync(join(projectRoot, "node_modules", pkg, "package.json")));
  }
  return hash.digest("hex");
}

async function generate(): Promise<void> {
  await syncSpecs();
  const manifest = readManifest();
  const versions = Object.keys(manifest.entry).sort().reverse();
  const stampFile = join(generatedDir, ".stamp");
  const fingerprint = inputsFingerprint();
  const outputs = [join(generatedDir, "operations.ts"), join(generatedDir, "types", "newest.ts"), ...versions.map((v) => join(generatedDir, "openapi", `${v}.json`))];
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === fingerprint && outputs.every(existsSync)) {
    console.log("generate: up to date");
    return;
  }
  mkdirSync(join(generatedDir, "openapi"), { recursive: true });
  mkdirSync(join(generatedDir, "types"), { recursive: true });

  const byVersion: Record<string, OperationInfo[]> = {};
  for (const version of versions) {
    const started = Date.now();
    const entryPath = join(upstreamDir, manifest.entry[version]);
    const swagger = JSON.parse(readFileSync(entryPath, "utf8"));
    stripExamples(swagger);
    inlineExternalRefs(swagger, entryPath);
    const applied = listOverlays();
    for (const overlay of applied) applyOverlay(swagger, version, overlay);
    keepReadOnlyRefs(swagger);
    byVersion[version] = catalogue(swagger);

    const { openapi } = await converter.convertObj(swagger, { patch: true, warnOnly: true, resolve: false });
    openapi.info["x-aks-emulator"] = { source: manifest.entry[version], overlays: applied };
    writeFileSync(join(generatedDir, "openapi", `${version}.json`), JSON.stringify(openapi));

    const types = astToString(await openapiTS(openapi as never, { alphabetize: true }));
    writeFileSync(
      join(generatedDir, "types", `${version}.ts`),
      `// Generated by scripts/generate.ts from ${basename(entryPath)} (${version}). Do not edit.\n${types}`,
    );
    console.log(
      `generate: ${version}: ${Object.keys(openapi.paths).length} paths, ${byVersion[version].length} operations, ` +
        `${Object.keys(openapi.components?.schemas ?? {}).length} schemas in ${Date.now() - started} ms`,
    );
  }

  const published = JSON.parse(readFileSync(join(projectRoot, "specs", "api-versions.json"), "utf8")) as { stable: string[]; preview: string[] };
  const allIds = [...new Set(versions.flatMap((v) => byVersion[v].map((o) => o.operationId)))].sort();
  const lines = [
    "// Generated by scripts/generate.ts from the versions in specs/MANIFEST.json. Do not edit.",
    "",
    `export const apiVersions = ${JSON.stringify(versions)} as const;`,
    "export type ApiVersion = (typeof apiVersions)[number];",
    "",
    "/** The upstream file each document is generated from. */",
    `export const documentSources: Record<ApiVersion, string> = ${JSON.stringify(manifest.entry, null, 2)};`,
    "",
    "/** Every api-version Azure has published for managedClusters (specs/api-versions.json), oldest first. */",
    `export const publishedApiVersions: { readonly stable: readonly string[]; readonly preview: readonly string[] } = ${JSON.stringify({ stable: published.stable, preview: published.preview })};`,
    "",
    "/** Every operationId in any served version of the Microsoft.ContainerService spec. */",
    `export type OperationId =\n${allIds.map((id) => `  | ${JSON.stringify(id)}`).join("\n")};`,
    "",
    "/**",
    " * A handler for every operation: the compiler refuses a Handlers object that misses one. THandlers",
    " * gives each operation's handler type, e.g. { [K in OperationId]: Handler<K> } (src/handlers/contract.ts).",
    " */",
    "export type Handlers<THandlers extends { readonly [K in OperationId]: unknown }> = { readonly [K in OperationId]: THandlers[K] };",
    "",
    "export interface OperationInfo {",
    "  operationId: OperationId;",
    "  method: string;",
    "  path: string;",
    "  longRunning: boolean;",
    "  finalStateVia?: string;",
    "  pageable: boolean;",
    "  statusCodes: number[];",
    "}",
    "",
    ...operationsByVersionSource(versions, byVersion),
    "",
  ];
  writeFileSync(join(generatedDir, "operations.ts"), lines.join("\n"));
  writeFileSync(join(generatedDir, "types", "newest.ts"), newestTypes(versions, byVersion));
  writeFileSync(stampFile, fingerprint);
}

/**
 * operationsByVersion as one table of distinct operations and, per version, the indices of its own:
 * most operations are the same in every version, and the server reads this table at every start
 * (83 distinct entries for 394, 113 -> 26 KB of the bundle, 3.4 -> 2.0 ms to load it, measured).
 */
function operationsByVersionSource(versions: string[], byVersion: Record<string, OperationInfo[]>): string[] {
  const distinct: string[] = [];
  const indexOf = new Map<string, number>();
  const indices = (operations: OperationInfo[]) =>
    operations.map((operation) => {
      const json = JSON.stringify(operation);
      let index = indexOf.get(json);
      if (index === undefined) indexOf.set(json, (index = distinct.push(json) - 1));
      return index;
    });
  const perVersion = versions.map((version) => `  ${JSON.stringify(version)}: pick(${JSON.stringify(indices(byVersion[version]))}),`);
  return [
    "/** Every distinct operation of the served versions: operationsByVersion below picks from it. */",
    `const operationTable: readonly OperationInfo[] = [\n${distinct.map((json) => `  ${json},`).join("\n")}\n];`,
    "const pick = (indices: readonly number[]): readonly OperationInfo[] => indices.map((index) => operationTable[index]);",
    "",
    "export const operationsByVersion: Record<ApiVersion, readonly OperationInfo[]> = {",
    ...perVersion,
    "};",
  ];
}

generate().catch((error: Error) => {
  console.error(`generate: ${error.stack ?? error.message}`);
  process.exit(1);
});
