// Cluster lifecycle beyond create/update/delete: power (Start, Stop), AbortLatestOperation on a
// cluster or a pool, certificate and signing-key rotation, the credential resets, RunCommand and its
// results, and the deprecated access profiles. An engine module (engine.lifecycle): each write is one
// transaction over the core's long-running operations; the refusals are AKS's, in AKS's words where
// they are known.
import { randomUUID } from "node:crypto";
import { errors } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { StoredResource } from "../store/store.js";
import type { ClusterRef, CredentialKind } from "./backend.js";
import type { EngineCore } from "./core.js";
import { assertNotStopped, credentialGeneration, isStopped, POOL_TYPE, powerCode, powerStateOf, PRIVATE_STATE, privateState } from "./model.js";

// Where composition code has always found it; the private-state helpers live in the model.
export { isStopped } from "./model.js";

/** The deprecated access profiles' role names, and the kubeconfig each stands for. */
const ACCESS_PROFILE_ROLES: Record<string, { name: string; kind: CredentialKind }> = {
  clusteradmin: { name: "clusterAdmin", kind: "admin" },
  clusteruser: { name: "clusterUser", kind: "user" },
};

export interface RunCommandRequest {
  command: string;
  context?: string;
  clusterToken?: string;
}

/** What GetCommandResult finds: a command still running (202), or its RunCommandResult (200). */
export type CommandLookup = { running: true; cluster: StoredResource } | { running: false; cluster: StoredResource; result: Record<string, unknown> };

interface ClusterWork {
  action: string;
  /** provisioningState of the cluster while the work runs. */
  state: string;
  /** provisioningState of every pool while the work runs; the pools are then locked with the cluster. */
  poolState?: string;
  work: (ref: ClusterRef) => Promise<void>;
  /** Applied before the cluster (and its pools) read Succeeded again. */
  onSuccess?: () => void;
  result?: () => { status: number; body?: unknown };
}

export class ClusterLifecycle {
  constructor(private readonly core: EngineCore) {}

  // ---- power ---------------------------------------------------------------------------------------

  /**
   * ManagedClusters_Stop: Stopping, then powerState Stopped on the cluster and on every pool. A stopped
   * cluster cannot be stopped again; AKS's words: "managed cluster is in Provisioning State(Succeeded)
   * and Power State(Stopped), stopping cannot be performed" (400).
   */
  stop(subscriptionId: string, resourceGroup: string, name: string): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      core.backend.checkAvailable?.();
      const cluster = core.getCluster(subscriptionId, resourceGroup, name);
      core.assertClusterIdle(cluster);
      if (isStopped(cluster)) throw this.powerRefusal(cluster, "stopping");
      return this.clusterOperation(cluster, {
        action: "Stop",
        state: "Stopping",
        poolState: "Stopping",
        work: (ref) => core.backend.stopCluster(ref),
        onSuccess: () => this.setPowerState(cluster.id, "Stopped"),
      });
    });
  }

  /** ManagedClusters_Start: Starting, then powerState Running on the cluster and on every pool. */
  start(subscriptionId: string, resourceGroup: string, name: string): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      core.backend.checkAvailable?.();
      const cluster = core.getCluster(subscriptionId, resourceGroup, name);
      core.assertClusterIdle(cluster);
      // Starting a running cluster is refused the way stopping a stopped one is (the same check, mirrored).
      if (!isStopped(cluster)) throw this.powerRefusal(cluster, "starting");
      const pools = core.poolRefs(cluster);
      return this.clusterOperation(cluster, {
        action: "Start",
        state: "Starting",
        poolState: "Starting",
        work: (ref) => core.backend.startCluster(ref, pools),
        onSuccess: () => this.setPowerState(cluster.id, "Running"),
      });
    });
  }

  // ---- abort ---------------------------------------------------------------------------------------

  /**
   * AbortLatestOperation on the cluster: the operation running on it ends Canceled (with an error), and
   * what it locked reads provisioningState Canceled. Cancellation is immediate here, so the answer is
   * AKS's 204. With nothing running: 409 OperationNotAllowed, "Cancel operation is not allowed when the
   * ProvisioningState is Succeeded".
   */
  abortCluster(subscriptionId: string, resourceGroup: string, name: string): void {
    this.core.transaction(() => this.abort(this.core.getCluster(subscriptionId, resourceGroup, name)));
  }

  /** AbortLatestOperation on an agent pool: as for the cluster, for the operation running on the pool. */
  abortPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): void {
    this.core.transaction(() => this.abort(this.core.getPool(subscriptionId, resourceGroup, clusterName, poolName).pool));
  }

  private abort(resource: StoredResource): void {
    const { core } = this;
    const { store } = core;
    const running = resource.activeOperation ? store.getOperation(resource.activeOperation) : undefined;
    // A cluster whose resource group is being deleted is locked by the group's delete, which is ARM's
    // (Microsoft.Resources), not an AKS operation on the cluster: in Azure the group delete sends the
    // cluster a DELETE, and AKS has nothing in its abort for a delete to go back to. So the abort is
    // refused (409 OperationNotAllowed, as AKS refuses an abort it cannot perform) and the group's
    // delete goes on; cancelling it would leave the group and its clusters half deleted.
    if (running?.status === "InProgress" && running.provider === "Microsoft.Resources") throw errors.cancelNotAllowed("Deleting");
    if (running?.status === "InProgress" && core.cancelOperation(running.name)) {
      // The abort is an operation on the resource: a cluster's is cluster-level (its eTag and every
      // pool's change), a pool's changes the pool's only.
      const current = store.get(resource.id);
      if (current?.type === POOL_TYPE) core.refreshPoolETag(current);
      else if (current) core.refreshETags(current.id);
      return;
    }
    const state = store.get(resource.id)?.body.properties?.provisioningState ?? "Succeeded";
    throw errors.cancelNotAllowed(state);
  }

  // ---- rotations -----------------------------------------------------------------------------------

  /**
   * ManagedClusters_RotateClusterCertificates: new certificates, so every kubeconfig handed out before
   * stops matching; the credential listings then serve the new generation.
   */
  rotateClusterCertificates(subscriptionId: string, resourceGroup: string, name: string): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      const cluster = this.writableCluster(subscriptionId, resourceGroup, name);
      const generation = credentialGeneration(cluster) + 1;
      return this.clusterOperation(cluster, {
        action: "RotateClusterCertificates",
        state: "Updating",
        work: (ref) => core.backend.rotateCertificates({ ...ref, credentialGeneration: generation }),
        onSuccess: () => core.updateRecord(cluster.id, (record) => ({ ...record, body: { ...record.body, [PRIVATE_STATE]: { ...privateState(record), credentialGeneration: generation } } })),
      });
    });
  }

  /** ManagedClusters_RotateServiceAccountSigningKeys: no field of the spec shows the key; the operation does. */
  rotateServiceAccountSigningKeys(subscriptionId: string, resourceGroup: string, name: string): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      const cluster = this.writableCluster(subscriptionId, resourceGroup, name);
      return this.clusterOperation(cluster, {
        action: "RotateServiceAccountSigningKeys",
        state: "Updating",
        work: (ref) => core.backend.rotateServiceAccountSigningKeys(ref),
      });
    });
  }

  // ---- resets --------------------------------------------------------------------------------------

  /** ManagedClusters_ResetAADProfile: properties.aadProfile becomes the profile sent (its secret is never served). */
  resetAADProfile(subscriptionId: string, resourceGroup: string, name: string, profile: Record<string, any>): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      const cluster = this.writableCluster(subscriptionId, resourceGroup, name);
      const aadProfile = { ...profile, tenantID: profile.tenantID ?? core.config.tenantId };
      const pools = core.poolRefs(cluster);
      return this.clusterOperation(cluster, {
        action: "ResetAADProfile",
        state: "Updating",
        work: (ref) => core.backend.applyCluster(ref, pools),
        onSuccess: () => this.setProperty(cluster.id, "aadProfile", aadProfile),
        // The SDK takes 200 or 202 here, not 204: the spec gives this action no 204.
        result: () => ({ status: 200 }),
      });
    });
  }

  /**
   * ManagedClusters_ResetServicePrincipalProfile: properties.servicePrincipalProfile becomes the one sent
   * (its secret is kept, never served). A cluster with a managed identity has no service principal to
   * reset; AKS: 400 BadRequest "Updating service principal profile is not allowed on MSI cluster."
   */
  resetServicePrincipalProfile(subscriptionId: string, resourceGroup: string, name: string, profile: Record<string, any>): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      const cluster = this.writableCluster(subscriptionId, resourceGroup, name);
      if (usesManagedIdentity(cluster)) throw errors.servicePrincipalOnMsiCluster();
      const servicePrincipalProfile = { clientId: profile.clientId, ...(profile.secret !== undefined ? { secret: profile.secret } : {}) };
      const pools = core.poolRefs(cluster);
      return this.clusterOperation(cluster, {
        action: "ResetServicePrincipalProfile",
        state: "Updating",
        work: (ref) => core.backend.applyCluster(ref, pools),
        onSuccess: () => this.setProperty(cluster.id, "servicePrincipalProfile", servicePrincipalProfile),
        result: () => ({ status: 200 }),
      });
    });
  }

  // ---- run command ---------------------------------------------------------------------------------

  /**
   * ManagedClusters_RunCommand: the command runs beside whatever else the cluster does (it is a pod in
   * the cluster, not a change to it), so it locks nothing. Its id is AKS's 32 hex digits (az reads it
   * out of the Location URL with `commandResults/(\w*)\?`), and its RunCommandResult is what that URL,
   * GetCommandResult, answers once it ends.
   */
  runCommand(subscriptionId: string, resourceGroup: string, name: string, request: RunCommandRequest): { cluster: StoredResource; commandId: string; operation: OperationRecord } {
    const { core } = this;
    return core.transaction(() => {
      core.backend.checkAvailable?.();
      const cluster = core.getCluster(subscriptionId, resourceGroup, name);
      assertNotStopped(cluster);
      const commandId = randomUUID().replace(/-/g, "");
      const ref = core.clusterRef(cluster);
      const startedAt = core.clock.now().toISOString();
      let result: Record<string, unknown> | undefined;
      const operation = core.runOperation({
        locks: [],
        resourceId: cluster.id,
        name: commandId,
        subscriptionId: cluster.subscriptionId,
        location: cluster.body.location,
        action: "RunCommand",
        work: async (signal) => {
          try {
            const output = await core.backend.runCommand(ref, request.command, request.context);
            result = commandResult(commandId, { provisioningState: "Succeeded", exitCode: output.exitCode, startedAt, finishedAt: core.clock.now().toISOString(), logs: boundedLogs(output.logs) });
          } catch (error) {
            if (signal.aborted) throw error;
            // The command could not run: the request itself still succeeded, the result says why.
            result = commandResult(commandId, { provisioningState: "Failed", startedAt, finishedAt: core.clock.now().toISOString(), reason: (error as Error).message });
          }
        },
        onSuccess: () => {},
        onFailure: () => {},
        result: () => ({ status: 200, body: result }),
      });
      return { cluster, commandId, operation };
    });
  }

  /** ManagedClusters_GetCommandResult: 202 while the command runs, then its RunCommandResult; 404 for an id the cluster never ran. */
  commandResult(subscriptionId: string, resourceGroup: string, name: string, commandId: string): CommandLookup {
    const cluster = this.core.getCluster(subscriptionId, resourceGroup, name);
    const operation = this.core.getOperation(commandId);
    if (!operation || operation.action !== "RunCommand" || operation.resourceId.toLowerCase() !== cluster.id.toLowerCase()) {
      throw errors.commandNotFound(commandId, cluster.body.name);
    }
    if (operation.status === "InProgress") return { running: true, cluster };
    const stored = operation.result?.body as Record<string, unknown> | undefined;
    if (operation.status === "Succeeded" && stored) return { running: false, cluster, result: stored };
    return {
      running: false,
      cluster,
      result: commandResult(operation.name, {
        provisioningState: operation.status === "Canceled" ? "Canceled" : "Failed",
        startedAt: operation.startTime,
        ...(operation.endTime ? { finishedAt: operation.endTime } : {}),
        reason: operation.error?.message ?? `The command ended ${operation.status}.`,
      }),
    };
  }

  // ---- access profiles -----------------------------------------------------------------------------

  /**
   * ManagedClusters_GetAccessProfile (deprecated): the clusterAdmin or clusterUser kubeconfig as a
   * ManagedClusterAccessProfile. It goes through the same credential check as the listings, so a
   * stopped cluster refuses it as it refuses ListClusterAdminCredential.
   */
  async accessProfile(subscriptionId: string, resourceGroup: string, name: string, roleName: string) {
    const cluster = this.core.getCluster(subscriptionId, resourceGroup, name);
    const role = ACCESS_PROFILE_ROLES[roleName.toLowerCase()];
    if (!role) {
      throw errors.accessProfileNotFound(roleName, cluster.body.name);
    }
    const kubeconfig = await this.core.kubeconfig(cluster, role.kind);
    return {
      id: `${cluster.id}/accessProfiles/${role.name}`,
      name: role.name,
      type: "Microsoft.ContainerService/ManagedClusters/AccessProfiles",
      location: cluster.body.location,
      properties: { kubeConfig: Buffer.from(kubeconfig).toString("base64") },
    };
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** The cluster, for a write: idle (else 409) and not stopped (else AKS's 400). */
  private writableCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource {
    this.core.backend.checkAvailable?.();
    const cluster = this.core.getCluster(subscriptionId, resourceGroup, name);
    this.core.assertClusterIdle(cluster);
    assertNotStopped(cluster);
    return cluster;
  }

  private powerRefusal(cluster: StoredResource, verb: "stopping" | "starting") {
    const state = cluster.body.properties?.provisioningState ?? "Succeeded";
    return errors.powerChangeNotAllowed(state, powerCode(cluster), verb);
  }

  /** A long-running operation on the cluster (and, with poolState, its pools), ending Succeeded or Failed. */
  private clusterOperation(cluster: StoredResource, spec: ClusterWork): OperationRecord {
    const { core } = this;
    const pools = spec.poolState ? core.pools(cluster) : [];
    const ref = core.clusterRef(cluster);
    core.setState(cluster.id, spec.state);
    for (const pool of pools) core.setState(pool.id, spec.poolState!);
    core.refreshETags(cluster.id); // a cluster-level operation: the cluster's eTag and every pool's
    const ids = [cluster.id, ...pools.map((pool) => pool.id)];
    return core.runOperation({
      locks: ids.map((id) => core.store.get(id)!),
      subscriptionId: cluster.subscriptionId,
      location: cluster.body.location,
      action: spec.action,
      work: () => spec.work(ref),
      onSuccess: () => {
        spec.onSuccess?.();
        for (const id of ids) core.setState(id, "Succeeded");
      },
      onFailure: (error) => {
        for (const id of ids) core.setState(id, "Failed", error);
      },
      result: spec.result,
    });
  }

  /** powerState.code on the cluster and every one of its pools. */
  private setPowerState(clusterId: string, code: "Running" | "Stopped"): void {
    const { core } = this;
    const cluster = core.store.get(clusterId);
    for (const resource of [cluster, ...(cluster ? core.pools(cluster) : [])]) {
      if (resource) core.updateRecord(resource.id, (record) => ({ ...record, body: { ...record.body, properties: { ...record.body.properties, powerState: powerStateOf(code) } } }));
    }
  }

  private setProperty(id: string, property: string, value: unknown): void {
    this.core.updateRecord(id, (record) => ({ ...record, body: { ...record.body, properties: { ...record.body.properties, [property]: value } } }));
  }
}

/** The most of a command's logs a result keeps (AKS truncates large logs): the first MiB, then a note. */
export const COMMAND_LOGS_MAX_BYTES = 1024 * 1024;

function boundedLogs(logs: string): string {
  if (typeof logs !== "string" || logs.length <= COMMAND_LOGS_MAX_BYTES / 4) return logs;
  const bytes = Buffer.from(logs, "utf8");
  if (bytes.length <= COMMAND_LOGS_MAX_BYTES) return logs;
  // A cut inside a character leaves a replacement character: drop it.
  const kept = bytes.subarray(0, COMMAND_LOGS_MAX_BYTES).toString("utf8").replace(/\uFFFD$/, "");
  return `${kept}\n[output truncated: ${bytes.length - Buffer.byteLength(kept, "utf8")} more bytes not kept]`;
}

function commandResult(id: string, properties: Record<string, unknown>): Record<string, unknown> {
  return { id, properties };
}

/** A cluster that runs as a managed identity (servicePrincipalProfile.clientId "msi") has no service principal. */
function usesManagedIdentity(cluster: StoredResource): boolean {
  const identityType: string | undefined = cluster.body.identity?.type;
  return (identityType !== undefined && identityType !== "None") || cluster.body.properties?.servicePrincipalProfile?.clientId === "msi";
}
