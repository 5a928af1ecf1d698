// The served api-versions of the Microsoft.ContainerService spec: one generated OpenAPI 3 document
// each, with an openapi-backend instance used for ajv request and response validation against that
// version's own document. Routing does not go through openapi-backend (see routeIndex.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OpenAPIBackend, type Operation } from "openapi-backend";
import type { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { apiVersions, operationsByVersion, type ApiVersion, type OperationId, type OperationInfo } from "../../generated/operations.js";
import { projectRoot } from "../paths.js";
import type { RouteDef } from "./routeIndex.js";

// ajv-formats is CommonJS: under ESM its function arrives as the default export itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface ValidationIssue {
  /** Where: "path/resourceName", "query/api-version", "requestBody/properties/count", "response/...". */
  location: string;
  keyword: string;
  message: string;
  params: Record<string, any>;
}

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
  /** Checks path parameters (as the route index parsed them), query, headers and body in one pass. */
  validateRequest(operationId: string, request: ParsedRequest): ValidationIssue[];
  validateResponse(operationId: string, status: number, body: unknown): ValidationIssue[];
}

// ARM resource ids: absolute paths. The spec's other formats come from ajv-formats.
function customizeAjv(ajv: Ajv): Ajv {
  addFormats(ajv);
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

async function loadVersion(version: ApiVersion): Promise<SpecVersion> {
  const document = JSON.parse(readFileSync(join(projectRoot, "generated", "openapi", `${version}.json`), "utf8"));
  const backend = new OpenAPIBackend({
    definition: document,
    quick: true,
    validate: true,
    strict: false,
    ajvOpts: { strict: false, allErrors: true, logger: quietLogger } as any,
    customizeAjv: customizeAjv as any,
  });
  await backend.init(); // validators compile lazily, per operation, on first use
  const operations = new Map(operationsByVersion[version].map((o) => [o.operationId, o]));
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
  };
}

export class SpecRegistry {
  readonly versions: ReadonlyMap<string, SpecVersion>;
  /** Newest first. */
  readonly versionNames: readonly ApiVersion[] = apiVersions;

  private constructor(versions: SpecVersion[]) {
    this.versions = new Map(versions.map((v) => [v.version, v]));
  }

  static async load(): Promise<SpecRegistry> {
    return new SpecRegistry(await Promise.all(apiVersions.map(loadVersion)));
  }

  get(version: string): SpecVersion | undefined {
    return this.versions.get(version);
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

  /** The versions in which an operation exists, newest first. */
  versionsOf(operationId: OperationId | string): ApiVersion[] {
    return apiVersions.filter((v) => this.versions.get(v)!.operations.has(operationId));
  }
}
