// The headers of long-running answers, decided from the operations' generated metadata (arm/lro.ts):
// the rule must give every AKS operation the headers its handler gave it by hand before.
import { describe, expect, it } from "vitest";
import { finalStateAtLocation, isLongRunning, LRO_EXCEPTIONS, lroHeaderSet, newOperationId, operationInfo } from "../../src/arm/lro.js";
import { aksHandlers } from "../../src/handlers/index.js";

const AAO = { asyncOperation: true, location: false };
const BOTH = { asyncOperation: true, location: true };
const LOCATION = { asyncOperation: false, location: true };

/** Every long-running answer the handlers give: operationId, status, headers. */
const ANSWERS: [string, number, typeof AAO][] = [
  ["ManagedClusters_CreateOrUpdate", 201, AAO],
  ["ManagedClusters_CreateOrUpdate", 200, AAO],
  ["ManagedClusters_UpdateTags", 200, AAO],
  ["ManagedClusters_Delete", 202, BOTH],
  ["AgentPools_CreateOrUpdate", 201, AAO],
  ["AgentPools_CreateOrUpdate", 200, AAO],
  ["AgentPools_Delete", 202, BOTH],
  ["AgentPools_UpgradeNodeImageVersion", 202, BOTH],
  ["AgentPools_DeleteMachines", 202, BOTH],
  ["ManagedClusters_Start", 202, BOTH],
  ["ManagedClusters_Stop", 202, BOTH],
  ["ManagedClusters_RotateClusterCertificates", 202, BOTH],
  ["ManagedClusters_RotateServiceAccountSigningKeys", 202, BOTH],
  ["ManagedClusters_ResetAADProfile", 202, BOTH],
  ["ManagedClusters_ResetServicePrincipalProfile", 202, BOTH],
  ["ManagedClusters_RunCommand", 202, LOCATION],
  ["ManagedClusters_GetCommandResult", 202, LOCATION],
  ["TrustedAccessRoleBindings_CreateOrUpdate", 201, AAO],
  ["TrustedAccessRoleBindings_CreateOrUpdate", 200, AAO],
  ["TrustedAccessRoleBindings_Delete", 202, BOTH],
  ["ManagedNamespaces_CreateOrUpdate", 201, AAO],
  ["ManagedNamespaces_CreateOrUpdate", 200, AAO],
  ["ManagedNamespaces_Delete", 202, BOTH],
  ["IdentityBindings_CreateOrUpdate", 201, BOTH],
  ["IdentityBindings_CreateOrUpdate", 200, BOTH],
  ["IdentityBindings_Delete", 202, BOTH],
  ["PrivateEndpointConnections_Delete", 200, AAO],
];

describe("long-running answers from the generated metadata", () => {
  it.each(ANSWERS)("%s %i", (operationId, status, expected) => {
    expect(lroHeaderSet(operationId, status)).toEqual(expected);
    // the status is one the operation's document declares
    expect(operationInfo(operationId)!.statusCodes).toContain(status);
  });

  it("has exceptions only for the command operations", () => {
    expect(Object.keys(LRO_EXCEPTIONS).sort()).toEqual(["ManagedClusters_GetCommandResult", "ManagedClusters_RunCommand"]);
  });

  it("refuses operation headers for an operation the spec does not make long-running", () => {
    expect(() => lroHeaderSet("Snapshots_CreateOrUpdate", 201)).toThrow(/not a long-running/);
    expect(() => lroHeaderSet("MaintenanceConfigurations_Delete", 200)).toThrow(/not a long-running/);
  });

  it("reads sync or long-running and final-state-via from the metadata", () => {
    expect(isLongRunning("Snapshots_CreateOrUpdate")).toBe(false);
    expect(isLongRunning("MaintenanceConfigurations_CreateOrUpdate")).toBe(false);
    expect(isLongRunning("TrustedAccessRoleBindings_CreateOrUpdate")).toBe(true);
    expect(finalStateAtLocation("IdentityBindings_CreateOrUpdate")).toBe(true);
    expect(finalStateAtLocation("ManagedNamespaces_CreateOrUpdate")).toBe(false);
    expect(finalStateAtLocation("ManagedClusters_CreateOrUpdate")).toBe(false);
  });

  it("knows every handled operation's metadata, older-document-only ones included", () => {
    for (const operationId of Object.keys(aksHandlers)) expect(operationInfo(operationId), operationId).toBeDefined();
    expect(operationInfo("ManagedClusters_GetOSOptions")?.statusCodes).toEqual([200]);
  });
});

describe("operation ids", () => {
  it("are version-7 UUIDs that sort by start time, and differ within one millisecond", () => {
    const at = new Date("2026-12-08T01:00:00.000Z");
    const ids = [newOperationId(at), newOperationId(at), newOperationId(new Date(at.getTime() + 1))];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0].slice(0, 13)).toBe(`${at.getTime().toString(16).padStart(12, "0").slice(0, 8)}-${at.getTime().toString(16).slice(-4)}`);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2] > ids[0] && ids[2] > ids[1]).toBe(true);
  });
});
