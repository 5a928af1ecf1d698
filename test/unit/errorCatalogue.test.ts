// The error catalogue (src/arm/errors.ts): every factory answers with its own (code, status) or a code
// SHARED_CODES documents as shared, in ARM's envelope; and nothing outside src/arm/ builds an ArmError
// by hand, so every error the emulator answers with is one the catalogue names.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/sourceFiles.js";
import { ArmError, errors, SHARED_CODES, type ErrorCatalogue } from "../../src/arm/errors.js";

const SRC = resolve(__dirname, "../../src");


/** Arguments for the factories that take something other than strings; every other one gets "x" per parameter. */
const SAMPLE_ARGS: Partial<{ [K in keyof ErrorCatalogue]: Parameters<ErrorCatalogue[K]> }> = {
  methodNotAllowed: ["PATCH", "/subscriptions", ["GET", "PUT"]],
  invalidApiVersion: ["2020-01-01", ["2021-04-01"]],
  pathParameterInvalid: ["resourceGroupName", "bad!", "must match pattern"],
  noRegisteredProvider: ["westeurope", "2020-01-01", "Microsoft.ContainerService/managedClusters", ["2025-10-01"], "westeurope"],
  requestHeadersTooLarge: [16384],
  bodyTooLarge: [4194304],
  bodyTooDeep: [64],
  bodyValuesInvalid: [[{ code: "InvalidParameter", message: "properties.count: must be >= 0", target: "properties.count" }]],
  bodyShapeInvalid: [[{ code: "InvalidParameter", message: "properties.count: must be integer", target: "properties.count" }]],
  webEndpointFailed: [400, "The request body is not JSON."],
  operationFailed: ["op1", "Failed", undefined],
  resourceInterrupted: [undefined, "c1", "Updating"],
  internalError: [],
  clusterUnhealthy: ["c1", ["Container x is gone."]],
  kubernetesDowngrade: ["1.34.1", "1.33.2", ["1.34.2", "1.35.0"]],
  kubernetesUpgradeNotAllowed: ["1.33.1", "1.35.0", ["1.33.2", "1.34.1"]],
  poolAboveControlPlane: ["1.35.0", "1.34.1", 35, 34],
  poolTooFarBehind: ["1.30.0", "1.34.1", 3, 30, 34],
  machinesNotInPool: [["m1", "m2"], "pool1"],
  trustedAccessRoleNotOffered: ["role", "Microsoft.Foo/bars", []],
  privateLinkResourceNotFound: ["management", "c1", false],
  powerChangeNotAllowed: ["Updating", "Running", "stopping"],
  apiServerPortsExhausted: [6443, 6543],
  apiServerExited: ["c1", "k3s-server", 1, undefined, ""],
  apiServerNotReady: ["c1", "k3s-server", 6443, 120, "no answer", ""],
  nodesExited: ["c1", ["node-0 (exited)"], ""],
  nodesNotReady: ["c1", 120, ["node-0"]],
  injected: [429, "TooManyRequests", "Too many requests, retry later.", 1],
  injectedOperationFailure: ["VMExtensionProvisioningError", "VM has reported a failure when processing extension."],
};

function build(name: keyof ErrorCatalogue): ArmError {
  const factory = errors[name] as (...args: unknown[]) => ArmError;
  const args = (SAMPLE_ARGS[name] as unknown[] | undefined) ?? Array.from({ length: factory.length }, () => "x");
  return factory(...args);
}

const names = Object.keys(errors) as (keyof ErrorCatalogue)[];

describe("the error catalogue", () => {
  it("has a factory for every error, each an ArmError in ARM's envelope", () => {
    expect(names.length).toBeGreaterThan(90);
    for (const name of names) {
      const error = build(name);
      expect(error, name).toBeInstanceOf(ArmError);
      expect(error.status, name).toBeGreaterThanOrEqual(400);
      expect(error.status, name).toBeLessThan(600);
      expect(error.code, name).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(error.message.length, name).toBeGreaterThan(10);
      const body = JSON.parse(JSON.stringify(error.toBody()));
      expect(body.error, name).toMatchObject({ code: error.code, message: error.message });
      expect(Object.keys(body), name).toEqual(["error"]);
    }
  });

  it("gives each factory its own (code, status), but for the codes SHARED_CODES documents", () => {
    const byCode = new Map<string, string[]>();
    const byPair = new Map<string, string[]>();
    for (const name of names) {
      const { code, status } = build(name);
      byCode.set(code, [...(byCode.get(code) ?? []), name]);
      byPair.set(`${status} ${code}`, [...(byPair.get(`${status} ${code}`) ?? []), name]);
    }
    const undocumented = [...byPair].filter(([pair, owners]) => owners.length > 1 && !SHARED_CODES[pair.split(" ")[1]]);
    expect(undocumented).toEqual([]);
    // every code documented as shared is shared, so the list stays true
    for (const code of Object.keys(SHARED_CODES)) expect(byCode.get(code)?.length ?? 0, code).toBeGreaterThan(1);
  });

  it("keeps ARM's extras: a target, the Allow and WWW-Authenticate headers, details", () => {
    expect(errors.methodNotAllowed("PATCH", "/x", ["GET", "PUT"]).headers).toEqual({ Allow: "GET, PUT" });
    expect(errors.authorizationMissing("https://login/t").headers?.["WWW-Authenticate"]).toContain('authorization_uri="https://login/t"');
    expect(errors.k8sVersionNotSupported("1.2.3", "westeurope").toBody()).toEqual({
      error: {
        code: "K8sVersionNotSupported",
        message:
          "Version 1.2.3 is not supported in this region (westeurope). Please use [az aks get-versions] command to get the supported version list in this region.",
        target: "properties.kubernetesVersion",
      },
    });
    const details = [{ code: "InvalidParameter", message: "a: b", target: "a" }];
    expect(errors.bodyValuesInvalid(details).toBody().error).toMatchObject({ code: "InvalidParameter", target: "a", details });
  });

  it("answers a resource group being deleted from one factory", () => {
    const error = errors.resourceGroupBeingDeleted("rg1");
    expect([error.status, error.code, error.message]).toEqual([409, "ResourceGroupBeingDeleted", "The resource group 'rg1' is in deprovisioning state and cannot perform this operation."]);
  });
});

describe("errors are built only by the catalogue", () => {
  const outside = sourceFiles(SRC).filter((file) => !relative(SRC, file).startsWith("arm/"));

  it("reads the tree", () => {
    expect(outside.length).toBeGreaterThan(40);
  });

  it("has no `new ArmError(` outside src/arm/", () => {
    const offenders = outside.filter((file) => /new\s+ArmError\s*\(/.test(readFileSync(file, "utf8"))).map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it("writes every ARM error through a named factory: no file outside src/arm/ throws a bare ARM code", () => {
    const generic = /\b(badRequest|conflict|notFound|operationNotAllowed)\(\s*["'`]/;
    const offenders = outside.filter((file) => generic.test(readFileSync(file, "utf8"))).map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
    // ResourceGroupBeingDeleted is written once, in the catalogue
    const mentions = sourceFiles(SRC).filter((file) => readFileSync(file, "utf8").includes('"ResourceGroupBeingDeleted"'));
    expect(mentions.map((file) => relative(SRC, file))).toEqual(["arm/errors.ts"]);
  });
});
