// Cluster lifecycle: Start, Stop, AbortLatestOperation (cluster and pool), Rotate*, Reset*, RunCommand,
// GetCommandResult, GetAccessProfile. The engine (engine.lifecycle) decides; these shape the answers.
import type { ArmRequest, OperationHandlers } from "./contract.js";
import type { OperationRecord } from "../arm/lro.js";
import { errors } from "../arm/errors.js";

/** A long-running POST action: 202, and the pipeline adds its status URL and result URL, Retry-After 1 (arm/lro.ts). */
const accepted = (operation: OperationRecord) => ({ status: 202 as const, longRunning: operation });

/** Where a command's result is read (GetCommandResult): AKS's Location for RunCommand, and az reads the command id out of it. */
const commandResultUrl = (req: ArmRequest, clusterId: string, commandId: string) =>
  `${req.baseUrl}${encodeURI(clusterId)}/commandResults/${commandId}?api-version=${encodeURIComponent(req.apiVersion)}`;

export const lifecycleHandlers = {
  ManagedClusters_Stop: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.stop(subscriptionId, resourceGroupName, resourceName));
  },

  ManagedClusters_Start: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.start(subscriptionId, resourceGroupName, resourceName));
  },

  // Cancellation takes effect at once, so the answer is the spec's (and AKS's) 204.
  ManagedClusters_AbortLatestOperation: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    engine.lifecycle.abortCluster(subscriptionId, resourceGroupName, resourceName);
    return { status: 204 };
  },

  AgentPools_AbortLatestOperation: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    engine.lifecycle.abortPool(subscriptionId, resourceGroupName, resourceName, agentPoolName);
    return { status: 204 };
  },

  ManagedClusters_RotateClusterCertificates: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.rotateClusterCertificates(subscriptionId, resourceGroupName, resourceName));
  },

  ManagedClusters_RotateServiceAccountSigningKeys: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.rotateServiceAccountSigningKeys(subscriptionId, resourceGroupName, resourceName));
  },

  ManagedClusters_ResetAADProfile: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.resetAADProfile(subscriptionId, resourceGroupName, resourceName, req.body));
  },

  ManagedClusters_ResetServicePrincipalProfile: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return accepted(engine.lifecycle.resetServicePrincipalProfile(subscriptionId, resourceGroupName, resourceName, req.body));
  },

  // 202 with Location at the command's result (final-state-via location, final-state-schema RunCommandResult).
  ManagedClusters_RunCommand: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    // The spec requires `command` but lets it be empty: AKS refuses an empty or blank one.
    if (typeof req.body?.command === "string" && !req.body.command.trim()) throw errors.runCommandEmpty();
    const { cluster, commandId } = engine.lifecycle.runCommand(subscriptionId, resourceGroupName, resourceName, req.body);
    return { status: 202, longRunning: { resultUrl: commandResultUrl(req, cluster.id, commandId) } };
  },

  ManagedClusters_GetCommandResult: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, commandId } = req.params;
    const found = engine.lifecycle.commandResult(subscriptionId, resourceGroupName, resourceName, commandId);
    if (found.running) return { status: 202, longRunning: { resultUrl: commandResultUrl(req, found.cluster.id, commandId) } };
    return { status: 200, body: found.result };
  },

  ManagedClusters_GetAccessProfile: async (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, roleName } = req.params;
    return { status: 200, body: await engine.lifecycle.accessProfile(subscriptionId, resourceGroupName, resourceName, roleName) };
  },
} satisfies Partial<OperationHandlers>;
