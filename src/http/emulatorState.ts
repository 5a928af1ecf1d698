// GET /_emulator/state: what the status page (/_emulator/ui) shows of the whole instance, across
// subscriptions: clusters with their pools' provisioning and power states, and the operations running
// and recently ended. Made from the engine's views (the inventory), never from the store.
import type { OperationRecord } from "../arm/lro.js";
import type { Inventory } from "../handlers/contract.js";

/** Clusters listed at most; `clustersTotal` says how many there are. */
const MAX_CLUSTERS = 500;
/** Ended operations listed, newest first. */
const RECENT_OPERATIONS = 50;

export interface PoolSummary {
  name: string;
  mode: string | undefined;
  count: number | undefined;
  vmSize: string | undefined;
  orchestratorVersion: string | undefined;
  provisioningState: string | undefined;
  powerState: string | undefined;
}

export interface ClusterSummary {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  kubernetesVersion: string | undefined;
  provisioningState: string | undefined;
  powerState: string | undefined;
  fqdn: string | undefined;
  pools: PoolSummary[];
}

export interface OperationSummary {
  name: string;
  action: string;
  status: string;
  resourceId: string;
  startTime: string;
  endTime: string | undefined;
  error: { code: string; message: string } | undefined;
}

export interface EmulatorState {
  time: string;
  mode: string;
  strict: boolean;
  clusters: ClusterSummary[];
  clustersTotal: number;
  operations: { running: OperationSummary[]; finished: OperationSummary[] };
}

export function emulatorState(inventory: Inventory, mode: string, strict: boolean): EmulatorState {
  const { clusters, total } = inventory.clusters(MAX_CLUSTERS);
  const { running, finished } = inventory.operations(RECENT_OPERATIONS);
  return {
    time: new Date().toISOString(),
    mode,
    strict,
    clusters: clusters.map(clusterSummary),
    clustersTotal: total,
    operations: { running: running.map(operationSummary), finished: finished.map(operationSummary) },
  };
}

/** A served cluster view's essentials; the id names its subscription and resource group. */
function clusterSummary(view: Record<string, any>): ClusterSummary {
  const segments = String(view.id).split("/");
  const properties = view.properties ?? {};
  return {
    id: view.id,
    subscriptionId: segments[2],
    resourceGroup: segments[4],
    name: view.name,
    location: view.location,
    kubernetesVersion: properties.currentKubernetesVersion ?? properties.kubernetesVersion,
    provisioningState: properties.provisioningState,
    powerState: properties.powerState?.code,
    fqdn: properties.fqdn,
    pools: (properties.agentPoolProfiles ?? []).map(
      (pool: Record<string, any>): PoolSummary => ({
        name: pool.name,
        mode: pool.mode,
        count: pool.count,
        vmSize: pool.vmSize,
        orchestratorVersion: pool.currentOrchestratorVersion ?? pool.orchestratorVersion,
        provisioningState: pool.provisioningState,
        powerState: pool.powerState?.code,
      }),
    ),
  };
}

function operationSummary(operation: OperationRecord): OperationSummary {
  return {
    name: operation.name,
    action: operation.action,
    status: operation.status,
    resourceId: operation.resourceId,
    startTime: operation.startTime,
    endTime: operation.endTime,
    error: operation.error && { code: operation.error.code, message: operation.error.message },
  };
}
