// The provisioning engine: the provisioningState machine, long-running operations, conflicts and
// cascades. It records every change in the store, starts the work on the backend and returns at
// once; the operation record (served by the LRO endpoints) reports how the work ends.
import type { Principal } from "../api/types.js";
import { ArmError, badRequest, notFound, operationNotAllowed, resourceGroupNotFound, resourceNotFound } from "../arm/errors.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import { newOperation, type OperationRecord } from "../arm/lro.js";
import type { Config } from "../config.js";
import { reusable } from "../http/encodedBodies.js";
import { assertPreconditions, type ConditionalHeaders } from "../http/preconditions.js";
import type { ResourceStore, StoredResource } from "../store/store.js";
import { BoundedCache, type Clock, type Logger } from "../util.js";
import type { ClusterBackend, ClusterRef, CredentialKind, PoolRef } from "./backend.js";
import { assertNotStopped, ClusterLifecycle, credentialGeneration, PRIVATE_STATE } from "./lifecycle.js";
import { poolMachineNames } from "./machines.js";
import { buildCluster, buildPool, CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE, resourceGroupBody } from "./model.js";

export interface Caller {
  principal: Principal;
  /** What this request may be let off in the default mode (absent: strict). */
  leniency?: LeniencyPolicy;
}

export const resourceGroupId = (subscriptionId: string, resourceGroup: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

export const clusterId = (subscriptionId: string, resourceGroup: string, name: string) =>
  `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.ContainerService/managedClusters/${name}`;

const SECRET_PATHS: [string, string][] = [
  ["servicePrincipalProfile", "secret"],
  ["windowsProfile", "adminPassword"],
  ["aadProfile", "serverAppSecret"],
];

export interface OperationSpec {
  /** Resources the operation works on; the first names it. Writes to any of them get 409 meanwhile. */
  locks: StoredResource[];
  /** The resource the operation is about, when it locks none (a RunCommand); default: the first lock. */
  resourceId?: string;
  /** The operation's id, when the caller must choose it (a RunCommand's command id); default: a new GUID. */
  name?: string;
  subscriptionId: string;
  location: string;
  provider?: string;
  action: string;
  work: (signal: AbortSignal) => Promise<void>;
  onSuccess: () => void;
  onFailure: (error: Error) => void;
  onCancel?: () => void;
  /** What the operation's Location URL answers once it has succeeded (default: 204, no body). */
  result?: () => { status: number; body?: unknown };
}

/** Cluster views kept with their JSON (a few KiB each): the clusters being read now, not every cluster stored. */
const VIEW_CACHE_LIMIT = 1024;

const TRANSACTIONAL_METHODS = ["deleteResourceGroup", "putCluster", "updateClusterTags", "deleteCluster", "putPool", "deletePool", "runOperation", "cancelOperation"] as const;

export class Engine {
  /** Operations whose work is still running, for cancellation. */
  private readonly running = new Map<string, { controller: AbortController; spec: OperationSpec }>();
  /** The operation whose end is being recorded (see settle). */
  private settling: string | undefined;
  /** The views last served, by cluster record, with the pool records each was made from; the oldest are forgotten. */
  private readonly views = new BoundedCache<StoredResource, { pools: StoredResource[]; view: Record<string, any> }>(VIEW_CACHE_LIMIT);
  /** Start, Stop, AbortLatestOperation, rotations, resets, RunCommand, access profiles. */
  readonly lifecycle: ClusterLifecycle;

  constructor(
    private readonly store: ResourceStore,
    readonly backend: ClusterBackend,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly config: Config,
  ) {
    this.lifecycle = new ClusterLifecycle(this, store, clock, config.tenantId);
    // Each write stores several records (cluster, pools, operation, locks): one transaction each, so
    // a refusal half-way or a crash leaves all of them or none.
    for (const name of TRANSACTIONAL_METHODS) {
      const method = this[name] as (...args: unknown[]) => unknown;
      (this as Record<string, unknown>)[name] = (...args: unknown[]) => store.transaction(() => method.apply(this, args));
    }
  }

  // ---- resource groups -------------------------------------------------------------------------

  requireResourceGroup(subscriptionId: string, resourceGroup: string): StoredResource {
    const group = this.store.get(resourceGroupId(subscriptionId, resourceGroup));
    if (!group) throw resourceGroupNotFound(resourceGroup);
    return group;
  }

  /**
   * As requireResourceGroup, for writes: a group being deleted takes no new resources (ARM's 409).
   * In the default mode the first PUT of a resource into a group that does not exist creates the
   * group, with the resource's location (the product documentation's quickstart creates none).
   */
  requireWritableResourceGroup(subscriptionId: string, resourceGroup: string, createWith?: { location: string; leniency?: LeniencyPolicy }): StoredResource {
    if (createWith?.leniency?.lenient && !this.store.get(resourceGroupId(subscriptionId, resourceGroup))) {
      const id = resourceGroupId(subscriptionId, resourceGroup);
      const body = resourceGroupBody(id, resourceGroup, createWith.location);
      this.store.put({ id, type: RESOURCE_GROUP_TYPE, parentKey: `/subscriptions/${subscriptionId}`.toLowerCase(), subscriptionId, body, etag: "" });
      createWith.leniency.note("resource-group", `resource group '${resourceGroup}' did not exist; created in ${body.location} (strict mode refuses with ResourceGroupNotFound)`, { wrote: true });
    }
    const group = this.requireResourceGroup(subscriptionId, resourceGroup);
    if (group.body.properties?.provisioningState === "Deleting") {
      throw new ArmError(409, "ResourceGroupBeingDeleted", `The resource group '${group.body.name}' is in deprovisioning state and cannot perform this operation.`);
    }
    return group;
  }

  /** Deletes a resource group and everything in it; its clusters are torn down through the backend. */
  deleteResourceGroup(subscriptionId: string, resourceGroup: string, caller: Caller): OperationRecord | undefined {
    const group = this.store.get(resourceGroupId(subscriptionId, resourceGroup));
    if (!group) return undefined;
    this.assertIdle(group);
    const clusters = this.store.children(group.id, CLUSTER_TYPE);
    for (const cluster of clusters) this.assertClusterIdle(cluster);
    this.store.put({ ...group, body: { ...group.body, properties: { ...group.body.properties, provisioningState: "Deleting" } } });
    return this.runOperation({
      locks: [group, ...clusters],
      subscriptionId,
      location: group.body.location,
      provider: "Microsoft.Resources",
      action: "DeleteResourceGroup",
      work: async () => {
        for (const cluster of clusters) await this.backend.deleteCluster(this.clusterRef(cluster));
      },
      onSuccess: () => this.removeTree(group.id),
      onFailure: (error) => this.setState(group.id, "Failed", error),
    });
  }

  // ---- clusters ----------------------------------------------------------------------------------

  getCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource {
    const cluster = this.store.get(clusterId(subscriptionId, resourceGroup, name));
    if (!cluster) {
      this.requireResourceGroup(subscriptionId, resourceGroup);
      throw resourceNotFound(CLUSTER_TYPE, name, resourceGroup);
    }
    return cluster;
  }

  /** The cluster, or undefined when there is none (no resource-group check). */
  findCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource | undefined {
    return this.store.get(clusterId(subscriptionId, resourceGroup, name));
  }

  /** The agent pool, or undefined when it or its cluster does not exist. */
  findPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): StoredResource | undefined {
    return this.store.get(`${clusterId(subscriptionId, resourceGroup, clusterName)}/agentPools/${poolName}`);
  }

  /** The clusters of a subscription or resource group, as a page source: the store reads one range at a time. */
  listClusters(subscriptionId: string, resourceGroup?: string): (offset: number, limit: number) => StoredResource[] {
    if (resourceGroup === undefined) return (offset, limit) => this.store.listByType(subscriptionId, CLUSTER_TYPE, { offset, limit });
    const group = this.requireResourceGroup(subscriptionId, resourceGroup);
    return (offset, limit) => this.store.children(group.id, CLUSTER_TYPE, { offset, limit });
  }

  /**
   * The cluster as served: agentPoolProfiles is the view of its agent-pool resources; no secrets,
   * nothing private. Stored records are never changed in place (a change stores a new record), so a
   * view made from the same cluster record and the same pool records is still right: it is kept,
   * frozen, and its JSON is made once (http/encodedBodies.ts).
   */
  clusterView(cluster: StoredResource): Record<string, any> {
    const pools = this.store.children(cluster.id, POOL_TYPE);
    const kept = this.views.get(cluster);
    if (kept && kept.pools.length === pools.length && kept.pools.every((pool, i) => pool === pools[i])) return kept.view;
    const view = reusable(this.composeClusterView(cluster, pools));
    this.views.set(cluster, { pools, view });
    return view;
  }

  private composeClusterView(cluster: StoredResource, pools: StoredResource[]): Record<string, any> {
    const properties = { ...cluster.body.properties, agentPoolProfiles: pools.map((p) => ({ name: p.body.name, ...p.body.properties })) };
    for (const [profile, secret] of SECRET_PATHS) {
      if (properties[profile]?.[secret] !== undefined) properties[profile] = { ...properties[profile], [secret]: undefined };
    }
    const { [PRIVATE_STATE]: _private, ...served } = cluster.body;
    return { ...served, properties };
  }

  putCluster(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    request: Record<string, any>,
    caller: Caller,
    conditions?: ConditionalHeaders,
  ): { created: boolean; cluster: StoredResource; operation: OperationRecord } {
    this.backend.checkAvailable?.();
    const location = typeof request.location === "string" && request.location ? request.location : undefined;
    const group = this.requireWritableResourceGroup(subscriptionId, resourceGroup, location ? { location, leniency: caller.leniency } : undefined);
    const id = clusterId(subscriptionId, resourceGroup, name);
    const existing = this.store.get(id);
    assertPreconditions(conditions, existing?.body.eTag, { kind: "managed cluster", name: existing?.body.name ?? name });
    if (existing) {
      this.assertClusterIdle(existing);
      assertNotStopped(existing);
    }
    const canonicalId = existing?.id ?? `${group.id}/providers/Microsoft.ContainerService/managedClusters/${name}`;
    const ctx = { subscriptionId, resourceGroup: group.body.name, name: existing?.body.name ?? name, id: canonicalId, tenantId: this.config.tenantId, principal: caller.principal, now: this.clock.now(), leniency: caller.leniency };
    const { cluster: body, pools } = buildCluster(ctx, request, existing?.body);
    if (!existing && pools.length === 0) {
      throw badRequest("InvalidParameter", "A managed cluster needs at least one agent pool in properties.agentPoolProfiles, and one of them must be a System pool.", "properties.agentPoolProfiles");
    }
    const names = new Set<string>();
    for (const pool of pools) {
      if (names.has(pool.name.toLowerCase())) throw badRequest("InvalidParameter", `Agent pool name '${pool.name}' appears twice in properties.agentPoolProfiles.`, "properties.agentPoolProfiles");
      names.add(pool.name.toLowerCase());
    }
    // Build every pool before storing anything: a bad pool refuses the whole request.
    const existingPools = existing ? this.store.children(existing.id, POOL_TYPE) : [];
    const poolBodies = pools.map((pool, index) => {
      const previous = existingPools.find((p) => p.body.name.toLowerCase() === pool.name.toLowerCase());
      const defaultMode = !existing && index === 0 ? "System" : "User";
      return buildPool(
        { clusterId: canonicalId, name: previous?.body.name ?? pool.name, clusterVersion: body.properties.currentKubernetesVersion, defaultMode, location: body.location, leniency: caller.leniency },
        pool.properties,
        previous?.body,
      );
    });
    const allPools = [...existingPools.filter((p) => !names.has(p.body.name.toLowerCase())).map((p) => p.body), ...poolBodies];
    if (!allPools.some((p) => p.properties.mode === "System")) {
      throw badRequest("InvalidParameter", "A managed cluster needs at least one agent pool of mode System.", "properties.agentPoolProfiles");
    }

    // What the emulator keeps for itself (the credential generation) survives the update.
    if (existing?.body[PRIVATE_STATE]) body[PRIVATE_STATE] = existing.body[PRIVATE_STATE];
    const cluster: StoredResource = { id: canonicalId, type: CLUSTER_TYPE, parentKey: group.id.toLowerCase(), subscriptionId, body, etag: body.eTag };
    this.store.put(cluster);
    const storedPools = poolBodies.map((poolBody) => this.putPoolRecord(cluster, poolBody));
    const operation = this.runOperation({
      locks: [cluster, ...storedPools],
      subscriptionId,
      location: body.location,
      action: existing ? "Update" : "Create",
      work: () => this.backend.applyCluster(this.clusterRef(cluster), this.poolRefs(cluster)),
      onSuccess: () => {
        this.setState(cluster.id, "Succeeded");
        for (const pool of storedPools) this.setState(pool.id, "Succeeded");
      },
      onFailure: (error) => {
        this.setState(cluster.id, "Failed", error);
        for (const pool of storedPools) this.setState(pool.id, "Failed", error);
      },
    });
    return { created: !existing, cluster: this.store.get(cluster.id)!, operation };
  }

  /** PATCH tags: replaces the whole tags map. */
  updateClusterTags(subscriptionId: string, resourceGroup: string, name: string, tags: Record<string, string> | undefined, caller: Caller, conditions?: ConditionalHeaders) {
    const cluster = this.getCluster(subscriptionId, resourceGroup, name);
    assertPreconditions(conditions, cluster.body.eTag, { kind: "managed cluster", name: cluster.body.name });
    this.assertClusterIdle(cluster);
    assertNotStopped(cluster);
    const body = { ...cluster.body, tags: tags ?? {}, eTag: crypto.randomUUID(), systemData: { ...cluster.body.systemData, lastModifiedBy: caller.principal.id, lastModifiedByType: caller.principal.type, lastModifiedAt: this.clock.now().toISOString() } };
    const updated = { ...cluster, body, etag: body.eTag };
    this.store.put(updated);
    const operation = this.runOperation({ locks: [updated], subscriptionId, location: body.location, action: "UpdateTags", work: async () => {}, onSuccess: () => {}, onFailure: () => {} });
    return { cluster: this.store.get(cluster.id)!, operation };
  }

  deleteCluster(subscriptionId: string, resourceGroup: string, name: string, conditions?: ConditionalHeaders): OperationRecord | undefined {
    this.requireResourceGroup(subscriptionId, resourceGroup);
    const cluster = this.store.get(clusterId(subscriptionId, resourceGroup, name));
    if (!cluster) return undefined;
    assertPreconditions(conditions, cluster.body.eTag, { kind: "managed cluster", name: cluster.body.name });
    this.assertClusterIdle(cluster);
    this.setState(cluster.id, "Deleting");
    const ref = this.clusterRef(cluster);
    return this.runOperation({
      locks: [cluster, ...this.store.children(cluster.id, POOL_TYPE)],
      subscriptionId,
      location: cluster.body.location,
      action: "Delete",
      work: () => this.backend.deleteCluster(ref),
      onSuccess: () => this.removeTree(cluster.id),
      onFailure: (error) => this.setState(cluster.id, "Failed", error),
    });
  }

  /** A kubeconfig of the cluster's current certificate generation; a stopped cluster hands out none. */
  async credentials(subscriptionId: string, resourceGroup: string, name: string, kind: CredentialKind): Promise<string> {
    const cluster = this.getCluster(subscriptionId, resourceGroup, name);
    assertNotStopped(cluster);
    return this.backend.kubeconfig(this.clusterRef(cluster), kind);
  }

  // ---- agent pools -------------------------------------------------------------------------------

  getPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): StoredResource {
    const cluster = this.getCluster(subscriptionId, resourceGroup, clusterName);
    const pool = this.store.get(`${cluster.id}/agentPools/${poolName}`);
    if (!pool) throw notFound(`Agent pool '${poolName}' was not found in managed cluster '${cluster.body.name}'.`);
    return pool;
  }

  listPools(subscriptionId: string, resourceGroup: string, clusterName: string): StoredResource[] {
    const cluster = this.getCluster(subscriptionId, resourceGroup, clusterName);
    return this.store.children(cluster.id, POOL_TYPE);
  }

  putPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, request: Record<string, any>, caller: Caller, conditions?: ConditionalHeaders) {
    this.backend.checkAvailable?.();
    this.requireWritableResourceGroup(subscriptionId, resourceGroup);
    const cluster = this.getCluster(subscriptionId, resourceGroup, clusterName);
    const current = this.store.get(`${cluster.id}/agentPools/${poolName}`);
    assertPreconditions(conditions, current?.body.properties.eTag, { kind: "agent pool", name: current?.body.name ?? poolName });
    this.assertClusterIdle(cluster);
    assertNotStopped(cluster);
    const existing = this.store.get(`${cluster.id}/agentPools/${poolName}`);
    const body = buildPool(
      {
        clusterId: cluster.id,
        name: existing?.body.name ?? poolName,
        clusterVersion: cluster.body.properties.currentKubernetesVersion,
        defaultMode: "User",
        location: cluster.body.location,
        leniency: caller.leniency,
      },
      request.properties ?? {},
      existing?.body,
    );
    if (existing?.body.properties.mode === "System" && body.properties.mode !== "System") this.assertAnotherSystemPool(cluster, poolName);
    const pool = this.putPoolRecord(cluster, body);
    const operation = this.runOperation({
      locks: [pool],
      subscriptionId,
      location: cluster.body.location,
      action: existing ? "UpdateAgentPool" : "CreateAgentPool",
      work: () => this.backend.applyAgentPool(this.clusterRef(cluster), poolRef(pool, this.store)),
      onSuccess: () => this.setState(pool.id, "Succeeded"),
      onFailure: (error) => this.setState(pool.id, "Failed", error),
    });
    return { created: !existing, pool: this.store.get(pool.id)!, operation };
  }

  deletePool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, conditions?: ConditionalHeaders): OperationRecord | undefined {
    const cluster = this.getCluster(subscriptionId, resourceGroup, clusterName);
    const pool = this.store.get(`${cluster.id}/agentPools/${poolName}`);
    if (!pool) return undefined;
    assertPreconditions(conditions, pool.body.properties.eTag, { kind: "agent pool", name: pool.body.name });
    this.assertClusterIdle(cluster);
    assertNotStopped(cluster);
    if (pool.body.properties.mode === "System") this.assertAnotherSystemPool(cluster, poolName);
    this.setState(pool.id, "Deleting");
    return this.runOperation({
      locks: [pool],
      subscriptionId,
      location: cluster.body.location,
      action: "DeleteAgentPool",
      work: () => this.backend.deleteAgentPool(this.clusterRef(cluster), pool.body.name),
      onSuccess: () => this.removeTree(pool.id), // with the pool's machine records
      onFailure: (error) => this.setState(pool.id, "Failed", error),
    });
  }

  // ---- operations --------------------------------------------------------------------------------

  getOperation(name: string): OperationRecord | undefined {
    return this.store.getOperation(name);
  }

  // ---- internals -----------------------------------------------------------------------------------

  putPoolRecord(cluster: StoredResource, body: Record<string, any>): StoredResource {
    const pool: StoredResource = { id: body.id, type: POOL_TYPE, parentKey: cluster.id.toLowerCase(), subscriptionId: cluster.subscriptionId, body, etag: body.properties.eTag };
    this.store.put(pool);
    return pool;
  }

  private assertAnotherSystemPool(cluster: StoredResource, poolName: string): void {
    const others = this.store.children(cluster.id, POOL_TYPE).filter((p) => p.body.name.toLowerCase() !== poolName.toLowerCase());
    if (!others.some((p) => p.body.properties.mode === "System")) {
      throw badRequest("OperationNotAllowed", `Agent pool '${poolName}' is the last System pool of managed cluster '${cluster.body.name}'; a cluster needs at least one System pool.`);
    }
  }

  /** A write is refused while any operation runs on the cluster or on one of its pools. */
  assertClusterIdle(cluster: StoredResource): void {
    this.assertIdle(cluster);
    for (const pool of this.store.children(cluster.id, POOL_TYPE)) this.assertIdle(pool);
  }

  assertIdle(resource: StoredResource): void {
    if (!resource.activeOperation) return;
    const running = this.store.getOperation(resource.activeOperation);
    if (running?.status === "InProgress") {
      throw operationNotAllowed(
        `Operation is not allowed because there's an in progress ${running.action} operation (${running.name}) on '${resource.body.name}' started at ${running.startTime}. Please wait for it to finish.`,
      );
    }
  }

  setState(id: string, state: string, error?: ArmError | Error): void {
    const resource = this.store.get(id);
    if (!resource) return;
    const properties = { ...resource.body.properties, provisioningState: state };
    if (error && resource.type === CLUSTER_TYPE) properties.status = { provisioningError: { code: errorCode(error), message: error.message } };
    else if (resource.type === CLUSTER_TYPE) delete properties.status;
    const activeOperation = resource.activeOperation !== undefined && resource.activeOperation === this.settling ? undefined : resource.activeOperation;
    this.store.put({ ...resource, activeOperation, body: { ...resource.body, properties } });
  }

  /** Deletes a resource and everything below it. */
  removeTree(id: string): void {
    for (const child of this.store.children(id)) this.removeTree(child.id);
    this.store.delete(id);
  }

  /** The cluster's pools as the backend sees them, with their nodes' names. */
  poolRefs(cluster: StoredResource): PoolRef[] {
    return this.store.children(cluster.id, POOL_TYPE).map((pool) => poolRef(pool, this.store));
  }

  clusterRef(cluster: StoredResource): ClusterRef {
    const [, , subscriptionId, , resourceGroup] = cluster.id.split("/");
    return {
      id: cluster.id,
      subscriptionId,
      resourceGroup,
      name: cluster.body.name,
      location: cluster.body.location,
      kubernetesVersion: cluster.body.properties.currentKubernetesVersion,
      credentialGeneration: credentialGeneration(cluster),
    };
  }

  /**
   * Starts a long-running operation: records it, locks the resources (a write to any of them gets 409
   * until it ends), runs the work and settles the operation and the resources when the work does.
   * The work receives an AbortSignal that fires when the operation is cancelled (abort).
   */
  runOperation(spec: OperationSpec): OperationRecord {
    const created = newOperation(
      { subscriptionId: spec.subscriptionId, location: spec.location, provider: spec.provider ?? "Microsoft.ContainerService", resourceId: spec.resourceId ?? spec.locks[0].id, action: spec.action },
      this.clock.now(),
    );
    const operation = spec.name ? { ...created, name: spec.name } : created;
    this.store.putOperation(operation);
    for (const lock of spec.locks) {
      const current = this.store.get(lock.id);
      if (current) this.store.put({ ...current, activeOperation: operation.name });
    }
    const controller = new AbortController();
    this.running.set(operation.name, { controller, spec });
    // The mocked backend with no delay does nothing: the operation ends inside this request, so the
    // answer shows the end state (the product documentation promises Succeeded at once). An
    // operation with a result (a RunCommand) still reads it from its work, after the answer.
    if (this.backend.instant && !spec.result) {
      let started: Promise<void>;
      try {
        started = spec.work(controller.signal);
      } catch (error) {
        this.settle(operation.name, "Failed", error as Error, () => spec.onFailure(error as Error));
        return this.store.getOperation(operation.name) ?? operation;
      }
      void started.catch(() => {});
      // An effect that throws here refuses the whole request: its transaction leaves nothing behind.
      this.settle(operation.name, "Succeeded", undefined, spec.onSuccess);
      return this.store.getOperation(operation.name) ?? operation;
    }
    let work: Promise<void>;
    try {
      work = spec.work(controller.signal);
    } catch (error) {
      work = Promise.reject(error);
    }
    // Ending the operation and its effect on the resources is one change: one transaction. A store
    // that cannot write then (disk full) must not take the process down: the operation stays
    // recorded as running and the next start settles it.
    const end = (step: () => void) => {
      try {
        this.store.transaction(step);
      } catch (error) {
        this.logger.error(`operation ${operation.name} (${spec.action} ${operation.resourceId}) could not be recorded as ended: ${(error as Error).message}`);
      }
    };
    work.then(
      () =>
        end(() => {
          this.settle(operation.name, "Succeeded", undefined, spec.onSuccess);
        }),
      (error: Error) => {
        if (controller.signal.aborted) return; // cancelled: already settled as Canceled
        this.logger.warn(`operation ${operation.name} (${spec.action} ${operation.resourceId}) failed: ${error.message}`);
        end(() => {
          this.settle(operation.name, "Failed", error, () => spec.onFailure(error));
        });
      },
    );
    return operation;
  }

  /**
   * Cancels a running operation (AbortLatestOperation): the operation ends Canceled, its resources
   * read provisioningState Canceled, and whatever the work does afterwards is ignored.
   */
  cancelOperation(name: string): boolean {
    const entry = this.running.get(name);
    if (!entry) return false;
    const error = new ArmError(409, "OperationCanceled", `The operation '${entry.spec.action}' was canceled by an AbortLatestOperation request.`);
    if (!this.settle(name, "Canceled", error)) return false;
    entry.controller.abort(error);
    for (const lock of entry.spec.locks) this.setState(lock.id, "Canceled");
    entry.spec.onCancel?.();
    return true;
  }

  /**
   * POST /_emulator/reset: running operations are cancelled, every cluster is torn down through the
   * backend (in real mode its containers and volumes go), then the store is emptied.
   */
  async resetAll(): Promise<void> {
    for (const name of [...this.running.keys()]) this.cancelOperation(name);
    for (const cluster of this.store.all().filter((r) => r.type === CLUSTER_TYPE)) {
      try {
        await this.backend.deleteCluster(this.clusterRef(cluster));
      } catch (error) {
        this.logger.warn(`reset: tearing down ${cluster.id} failed: ${(error as Error).message}`);
      }
    }
    this.store.clear();
  }

  /**
   * Ends an operation once: returns false when it had already ended (e.g. cancelled first). Its
   * effects on the resources run after the operation reads ended; a state they set on a resource
   * the operation locked releases the lock in the same write (setState), the rest are released here.
   */
  private settle(name: string, status: "Succeeded" | "Failed" | "Canceled", error?: Error, effects?: () => void): boolean {
    const entry = this.running.get(name);
    const operation = this.store.getOperation(name);
    if (!entry || !operation || operation.status !== "InProgress") return false;
    this.running.delete(name);
    const done: OperationRecord = { ...operation, status, endTime: this.clock.now().toISOString(), percentComplete: 100 };
    if (error) done.error = { code: errorCode(error), message: error.message };
    if (status === "Succeeded" && entry.spec.result) done.result = entry.spec.result();
    this.store.putOperation(done);
    if (effects) {
      this.settling = name;
      try {
        effects();
      } finally {
        this.settling = undefined;
      }
    }
    for (const lock of entry.spec.locks) {
      const current = this.store.get(lock.id);
      if (current?.activeOperation === name) this.store.put({ ...current, activeOperation: undefined });
    }
    return true;
  }

}

function errorCode(error: Error): string {
  return error instanceof ArmError ? error.code : "InternalOperationError";
}

/**
 * The pool as the backend sees it. Given the store, it names the pool's nodes as its machines are
 * named (engine/machines.ts), so `kubectl get nodes` in real mode and Machines_List agree.
 */
export function poolRef(pool: StoredResource, store?: ResourceStore): PoolRef {
  const p = pool.body.properties;
  const cluster = store?.get(pool.parentKey);
  return {
    name: pool.body.name,
    count: p.count ?? 0,
    mode: p.mode,
    nodeLabels: p.nodeLabels ?? {},
    nodeTaints: p.nodeTaints ?? [],
    ...(p.currentOrchestratorVersion ? { kubernetesVersion: p.currentOrchestratorVersion } : {}),
    ...(p.powerState?.code ? { powerState: p.powerState.code } : {}),
    ...(store && cluster ? { nodeNames: poolMachineNames(store, cluster, pool) } : {}),
  };
}

export { CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE };
