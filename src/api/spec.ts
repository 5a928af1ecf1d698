// The served api-versions of the Microsoft.ContainerService spec: one generated OpenAPI 3 document
// each, with an openapi-backend instance used for ajv request and response validation against that
// version's own document, and the shape of each version's responses (versionShape.ts). Documents
// load on first use. Routing does not go through openapi-backend (see routeIndex.ts).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { OpenAPIBackend as OpenAPIBackendClass, Operation } from "openapi-backend";
import type { Ajv } from "ajv";
import { apiVersions, operationsByVersion, type ApiVersion, type OperationId, type OperationInfo } from "../../generated/operations.js";
import { projectRoot } from "../paths.js";
import type { RouteDef } from "./routeIndex.js";
import { VersionShape } from "./versionShape.js";
import { RequestNormaliser, type NormalisedBody } from "./requestNormalisation.js";
import type { ValidationIssue } from "../arm/requestErrors.js";
import { dotNetRegExpEngine } from "../arm/patterns.js";

export type { ValidationIssue };

// openapi-backend with ajv and ajv-formats (about 150 ms and 20 MiB to load) loads with the first
// document, not at start-up. Both are CommonJS; ajv-formats' module is its function.
const load = createRequire(import.meta.url);
let validationModules: { OpenAPIBackend: typeof OpenAPIBackendClass; addFormats: (ajv: Ajv) => Ajv } | undefined;
const validation = () =>
  (validationModules ??= {
    OpenAPIBackend: (load("openapi-backend") as typeof import("openapi-backend")).OpenAPIBackend,
    addFormats: load("ajv-formats") as (ajv: Ajv) => Ajv,
  });


export interface ParsedRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, any>;
  body: unknown;
}

export interface SpecVersion {
  version: ApiVersion;
  document: any;
  operations: ReadonlyMap<string, OperationInfo>;
  /** The request body as ARM and AKS read it (requestNormalisation.ts): what validation then judges. */
  normaliseRequest(operationId: string, body: unknown): NormalisedBody;
  /** Checks path parameters (as the route index parsed them), query, headers and body in one pass. */
  validateRequest(operationId: string, request: ParsedRequest): ValidationIssue[];
  validateResponse(operationId: string, status: number, body: unknown): ValidationIssue[];
  /** The response body as this version's document defines it (see versionShape.ts). */
  projectResponse(operationId: string, status: number, body: unknown): unknown;
  /** A PUT body completed with what the stored resource holds that this version cannot express. */
  carryForward(operationId: string, body: unknown, previous: unknown): unknown;
}

// ARM resource ids: absolute paths. The spec's other formats come from ajv-formats.
function customizeAjv(ajv: Ajv): Ajv {
  validation().addFormats(ajv);
  ajv.addFormat("arm-id", /^\//);
  return ajv;
}

function toIssues(errors: any[] | null | undefined, prefix = ""): ValidationIssue[] {
  return (errors ?? []).map((e) => ({
    location: (prefix + (e.instancePath ?? "")).replace(/^\//, ""),
    keyword: e.keyword,
    message: e.message ?? "is invalid",
    params: e.params ?? {},
  }));
}

const quietLogger = { log() {}, warn() {}, error() {} };

function loadVersion(version: ApiVersion, keep?: <T extends object>(value: T) => T): SpecVersion {
  const document = JSON.parse(readFileSync(join(projectRoot, "generated", "openapi", `${version}.json`), "utf8"));
  const backend = new (validation().OpenAPIBackend)({
    definition: document,
    quick: true,
    validate: true,
    strict: false,
    // The spec's patterns are .NET's: `\w` is a Unicode word character (arm/patterns.ts).
    ajvOpts: { strict: false, allErrors: true, logger: quietLogger, code: { regExp: dotNetRegExpEngine } } as any,
    customizeAjv: customizeAjv as any,
  });
  // In quick mode with a parsed document init() does all its work before its first await: the
  // backend is ready when it returns. Validators compile lazily, per operation, on first use.
  void backend.init();
  if (!backend.initialized) throw new Error(`the ${version} document did not initialise synchronously`);
  const schemas = (backend.definition as any).components?.schemas ?? {};
  const resolveSchemaRef = (ref: string) => (ref.startsWith("#/components/schemas/") ? schemas[ref.slice(21)] : undefined);
  const normaliser = new RequestNormaliser(resolveSchemaRef, schemas);
  const shape = new VersionShape((ref) => (ref.startsWith("#/components/schemas/") ? schemas[ref.slice(21)] : undefined), keep);
  const jsonSchema = (content: any) => content?.["application/json"]?.schema;
  const responseSchema = (operationId: string, status: number) => {
    const responses: Record<string, any> = find(operationId).responses ?? {};
    return jsonSchema((responses[String(status)] ?? responses.default)?.content);
  };
  const operations = new Map<string, OperationInfo>(operationsByVersion[version].map((o) => [o.operationId, o]));
  // openapi-backend's getOperation walks the whole document on every call: look each one up once.
  const byId = new Map<string, Operation>();
  const find = (operationId: string): Operation => {
    let operation = byId.get(operationId);
    if (!operation) {
      operation = backend.getOperation(operationId);
      if (!operation) throw new Error(`operation ${operationId} is not in ${version}`);
      byId.set(operationId, operation);
    }
    return operation;
  };
  return {
    version,
    document,
    operations,
    normaliseRequest(operationId, body) {
      return normaliser.normalise(body, jsonSchema((find(operationId).requestBody as any)?.content));
    },
    validateRequest(operationId, request) {
      // openapi-backend's own validateRequest parses the path again on every call (about a quarter of
      // a millisecond); the route index has already done that, so its compiled validators are called
      // directly with the parameters in the shape they expect.
      const parameters: Record<string, unknown> = { path: request.params, query: request.query, header: request.headers };
      const contentType = String(request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (typeof request.body === "object" || contentType === "application/json") parameters.requestBody = request.body;
      const issues: ValidationIssue[] = [];
      for (const validate of backend.validator.getRequestValidatorsForOperation(find(operationId).operationId!)) {
        if (!validate(parameters)) issues.push(...toIssues(validate.errors));
      }
      return issues;
    },
    validateResponse(operationId, status, body) {
      const operation = find(operationId);
      const declared = operation.responses?.[String(status)] ?? operation.responses?.default;
      if (!declared) return [{ location: "response", keyword: "status", message: `status ${status} is not declared for ${operationId}`, params: { status } }];
      if (!(declared as any).content) {
        return body === undefined ? [] : [{ location: "response", keyword: "body", message: `status ${status} of ${operationId} has no body in the spec`, params: {} }];
      }
      const result = backend.validateResponse(body, operation, status);
      return result.valid ? [] : toIssues(result.errors, "response");
    },
    projectResponse(operationId, status, body) {
      if (body === undefined || status >= 400 || !operations.has(operationId)) return body;
      return shape.project(body, responseSchema(operationId, status));
    },
    carryForward(operationId, body, previous) {
      if (!operations.has(operationId)) return body;
      return shape.carryForward(body, previous, jsonSchema((find(operationId).requestBody as any)?.content));
    },
  };
}

const operationIdsByVersion = new Map(apiVersions.map((v) => [v, new Set<string>(operationsByVersion[v].map((o) => o.operationId))]));

/**
 * The vendored documents, each read and compiled on first use: start-up time and idle memory do not
 * grow with the number of documents in the manifest.
 */
export class SpecRegistry {
  /** Newest first. */
  readonly versionNames: readonly ApiVersion[] = apiVersions;
  private readonly loaded = new Map<ApiVersion, SpecVersion>();

  /** @param keep marks projections of frozen views as served many times (the HTTP layer keeps their JSON). */
  constructor(private readonly keep?: <T extends object>(value: T) => T) {}

  /** The document of a vendored version (loading it now if this is its first use); undefined for any other version. */
  get(version: string): SpecVersion | undefined {
    const kept = this.loaded.get(version as ApiVersion);
    if (kept) return kept;
    if (!(apiVersions as readonly string[]).includes(version)) return undefined;
    const spec = loadVersion(version as ApiVersion, this.keep);
    this.loaded.set(version as ApiVersion, spec);
    return spec;
  }

  /** Documents loaded so far (for the status endpoint and the benchmark). */
  loadedVersions(): ApiVersion[] {
    return [...this.loaded.keys()];
  }

  /** Whether a document defines an operation, without loading the document. */
  hasOperation(version: ApiVersion, operationId: string): boolean {
    return operationIdsByVersion.get(version)!.has(operationId);
  }

  /** One route per operationId (templates are the same in every version that has the operation). */
  routes(): RouteDef[] {
    const seen = new Map<string, RouteDef>();
    for (const version of apiVersions) {
      for (const op of operationsByVersion[version]) {
        if (!seen.has(op.operationId)) {
          seen.set(op.operationId, { method: op.method, template: op.path, operationId: op.operationId, kind: "aks" });
        }
      }
    }
    return [...seen.values()];
  }

  /** The documents in which an operation exists, newest first. */
  versionsOf(operationId: OperationId | string): ApiVersion[] {
    return apiVersions.filter((v) => this.hasOperation(v, operationId));
  }
}
