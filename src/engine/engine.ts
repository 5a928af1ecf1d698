// The provisioning engine: the provisioningState machine, long-running operations, conflicts and
// cascades. It records every change in the store, starts the work on the backend and returns at
// once; the operation record (served by the LRO endpoints) reports how the work ends.
//
// One style for the whole engine (engine/*.ts):
//   - `Engine` is the one object handlers and the platform call. Its own methods are the operations
//     on managed clusters and agent pools; every other group of operations is a module it builds
//     once, at start, and exposes: engine.resourceGroups, engine.lifecycle, engine.machines,
//     engine.children. There is no other way in: handlers never see the store.
//   - Every module, the Engine's own methods included, works over the one `EngineCore` (core.ts):
//     the engine's port (store, backend, clock, logger, config), the shared lookups and guards, the
//     shared writes, the backend's view of clusters and pools, and the operation runner. Modules
//     never call each other.
//   - An operation that writes is one store transaction: its body runs in core.transaction(...).
//     Reads (views, lists, the backend's node names) only read.
//   - The engine imports only the store's port, arm/ conventions, its own model and util/config;
//     never http/, api/ or platform/. Views it keeps are frozen: the HTTP writer keeps their JSON.
import type { OperationRecord } from "../arm/lro.js";
import { assertPreconditions, type ConditionalHeaders } from "../arm/preconditions.js";
import { errors } from "../arm/errors.js";
import type { Config } from "../config.js";
import type { PageReader } from "../arm/paging.js";
import { pageReader, type ResourceStore, type StoredResource } from "../store/store.js";
import { BoundedCache, newUuid, spread, type Clock, type Logger } from "../util.js";
import type { ClusterBackend, ClusterRef, CredentialKind, PoolRef } from "./backend.js";
import { EngineCore, type InjectedFault } from "./core.js";
import { ClusterLifecycle } from "./lifecycle.js";
import { Machines } from "./machines.js";
import {
  assertClusterQuotas,
  assertNotStopped,
  buildCluster,
  buildPool,
  modifiedSystemData,
  clusterId,
  CLUSTER_TYPE,
  POOL_TYPE,
  PRIVATE_STATE,
  RESOURCE_GROUP_TYPE,
  assertValidTags,
  type Caller,
} from "./model.js";
import { ResourceGroups } from "./resourceGroups.js";
import { ChildResources } from "./subresources.js";

const SECRET_PATHS: [string, string][] = [
  ["servicePrincipalProfile", "secret"],
  ["windowsProfile", "adminPassword"],
  ["aadProfile", "serverAppSecret"],
];

/** Cluster views kept with their JSON (a few KiB each): the clusters being read now, not every cluster stored. */
const VIEW_CACHE_LIMIT = 1024;

export class Engine {
  /** What the engine's modules share; for the engine's own files (recovery, health watch) only. */
  readonly core: EngineCore;
  /** Resource groups (Microsoft.Resources): what the platform's endpoints call. */
  readonly resourceGroups: ResourceGroups;
  /** Start, Stop, AbortLatestOperation, rotations, resets, RunCommand, access profiles. */
  readonly lifecycle: ClusterLifecycle;
  /** A pool's machines, DeleteMachines and UpgradeNodeImageVersion. */
  readonly machines: Machines;
  /** Child resources of clusters and resource groups (maintenance configurations, snapshots, ...). */
  readonly children: ChildResources;
  /** The views last served, by cluster record, with the pool records each was made from; the oldest are forgotten. */
  private readonly views = new BoundedCache<StoredResource, { pools: StoredResource[]; view: Record<string, any> }>(VIEW_CACHE_LIMIT);

  constructor(store: ResourceStore, backend: ClusterBackend, clock: Clock, logger: Logger, config: Config) {
    this.core = new EngineCore({ store, backend, clock, logger, config });
    this.resourceGroups = new ResourceGroups(this.core);
    this.lifecycle = new ClusterLifecycle(this.core);
    this.machines = new Machines(this.core);
    this.children = new ChildResources(this.core);
  }

  /** Runs fn (a request's handler) with `fault` injected into the long-running operations it starts (core.ts InjectedFault). */
  withInjected<T>(fault: InjectedFault, fn: () => T): T {
    return this.core.withInjected(fault, fn);
  }

  // ---- clusters ----------------------------------------------------------------------------------

  getCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource {
    return this.core.getCluster(subscriptionId, resourceGroup, name);
  }

  /** The cluster, or undefined when there is none (no resource-group check). */
  findCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource | undefined {
    return this.core.store.get(clusterId(subscriptionId, resourceGroup, name));
  }

  /** The clusters of a subscription or resource group, as a page source: the store reads one page at a time, after the last one. */
  listClusters(subscriptionId: string, resourceGroup?: string): PageReader<StoredResource> {
    const { store } = this.core;
    if (resourceGroup === undefined) return pageReader(store, (range) => store.listByType(subscriptionId, CLUSTER_TYPE, range));
    const group = this.core.requireResourceGroup(subscriptionId, resourceGroup);
    return pageReader(store, (range) => store.children(group.id, CLUSTER_TYPE, range));
  }

  /**
   * The cluster as served: agentPoolProfiles is the view of its agent-pool resources; no secrets,
   * nothing private. Stored records are never changed in place (a change stores a new record), so a
   * view made from the same cluster record and the same pool records is still right: it is kept,
   * frozen (so the HTTP writer makes its JSON once). `keep: false` (a read of many clusters at once,
   * the status page's) uses a kept view but keeps no new one, so it pushes no other out.
   */
  clusterView(cluster: StoredResource, { keep = true }: { keep?: boolean } = {}): Record<string, any> {
    const pools = this.core.pools(cluster);
    const kept = this.views.get(cluster);
    if (kept && kept.pools.length === pools.length && kept.pools.every((pool, i) => pool === pools[i])) return kept.view;
    const view = Object.freeze(this.composeClusterView(cluster, pools));
    if (keep) this.views.set(cluster, { pools, view });
    return view;
  }

  private composeClusterView(cluster: StoredResource, pools: StoredResource[]): Record<string, any> {
    const properties = spread(cluster.body.properties, { agentPoolProfiles: pools.map((p) => ({ name: p.body.name, ...p.body.properties })) }) as Record<string, any>;
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
    const { core } = this;
    return core.transaction(() => {
      core.backend.checkAvailable?.();
      const location = typeof request.location === "string" && request.location ? request.location : undefined;
      const group = core.requireWritableResourceGroup(subscriptionId, resourceGroup, location ? { location, leniency: caller.leniency } : undefined);
      const id = clusterId(subscriptionId, resourceGroup, name);
      const existing = core.store.get(id);
      assertPreconditions(conditions, existing?.body.eTag, { kind: "managed cluster", name: existing?.body.name ?? name });
      if (existing) {
        core.assertClusterIdle(existing);
        assertNotStopped(existing);
      }
      const canonicalId = existing?.id ?? `${group.id}/providers/Microsoft.ContainerService/managedClusters/${name}`;
      const ctx = { subscriptionId, resourceGroup: group.body.name, name: existing?.body.name ?? name, id: canonicalId, tenantId: core.config.tenantId, principal: caller.principal, now: core.clock.now(), leniency: caller.leniency };
      const { cluster: body, pools } = buildCluster(ctx, request, existing?.body);
      if (!existing && pools.length === 0) {
        throw errors.clusterWithoutPools();
      }
      const names = new Set<string>();
      for (const pool of pools) {
        if (names.has(pool.name.toLowerCase())) throw errors.duplicatePoolName(pool.name);
        names.add(pool.name.toLowerCase());
      }
      // Build every pool before storing anything: a bad pool refuses the whole request.
      const existingPools = existing ? core.pools(existing) : [];
      const poolBodies = pools.map((pool, index) => {
        const previous = existingPools.find((p) => p.body.name.toLowerCase() === pool.name.toLowerCase());
        const defaultMode = !existing && index === 0 ? "System" : "User";
        return buildPool(
          { clusterId: canonicalId, name: previous?.body.name ?? pool.name, clusterVersion: body.properties.currentKubernetesVersion, defaultMode, location: body.location, leniency: caller.leniency, principal: caller.principal, now: ctx.now },
          pool.properties,
          previous?.body,
        );
      });
      const allPools = [...existingPools.filter((p) => !names.has(p.body.name.toLowerCase())).map((p) => p.body), ...poolBodies];
      if (!allPools.some((p) => p.properties.mode === "System")) {
        throw errors.clusterWithoutSystemPool();
      }
      assertClusterQuotas(ctx.name, allPools);

      // What the emulator keeps for itself (the credential generation) survives the update.
      if (existing?.body[PRIVATE_STATE]) body[PRIVATE_STATE] = existing.body[PRIVATE_STATE];
      const cluster: StoredResource = { id: canonicalId, type: CLUSTER_TYPE, parentKey: group.id.toLowerCase(), subscriptionId, body, etag: body.eTag };
      core.store.put(cluster);
      const storedPools = poolBodies.map((poolBody) => core.putPoolRecord(cluster, poolBody));
      // The machines of the pools the request names follow their counts (the others did not change).
      for (const pool of storedPools) core.writeMachineSet(cluster, pool);
      // A cluster PUT is a cluster-level write: the pools it does not name get new eTags too.
      core.refreshETags(cluster.id, [cluster, ...storedPools]);
      const ref = core.clusterRef(cluster);
      const poolRefs = core.poolRefs(cluster);
      const operation = core.runOperation({
        locks: [cluster, ...storedPools],
        subscriptionId,
        location: body.location,
        action: existing ? "Update" : "Create",
        work: () => core.backend.applyCluster(ref, poolRefs),
        onSuccess: () => {
          core.setState(cluster.id, "Succeeded");
          for (const pool of storedPools) core.setState(pool.id, "Succeeded");
        },
        onFailure: (error) => {
          core.setState(cluster.id, "Failed", error);
          for (const pool of storedPools) core.setState(pool.id, "Failed", error);
        },
      });
      return { created: !existing, cluster: core.store.get(cluster.id)!, operation };
    });
  }

  /** PATCH tags: replaces the whole tags map. */
  updateClusterTags(subscriptionId: string, resourceGroup: string, name: string, tags: Record<string, string> | undefined, caller: Caller, conditions?: ConditionalHeaders) {
    const { core } = this;
    return core.transaction(() => {
      const cluster = core.getCluster(subscriptionId, resourceGroup, name);
      assertPreconditions(conditions, cluster.body.eTag, { kind: "managed cluster", name: cluster.body.name });
      core.assertClusterIdle(cluster);
      assertNotStopped(cluster);
      assertValidTags(tags);
      const body = { ...cluster.body, tags: tags ?? {}, eTag: newUuid(), systemData: modifiedSystemData(caller.principal, core.clock.now(), cluster.body.systemData) };
      const updated = { ...cluster, body, etag: body.eTag };
      core.store.put(updated);
      core.refreshETags(updated.id, [updated]); // every pool's eTag too: a cluster-level write
      const operation = core.runOperation({ locks: [updated], subscriptionId, location: body.location, action: "UpdateTags", work: async () => {}, onSuccess: () => {}, onFailure: () => {} });
      return { cluster: core.store.get(cluster.id)!, operation };
    });
  }

  deleteCluster(subscriptionId: string, resourceGroup: string, name: string, conditions?: ConditionalHeaders): OperationRecord | undefined {
    const { core } = this;
    return core.transaction(() => {
      core.requireResourceGroup(subscriptionId, resourceGroup);
      const cluster = core.store.get(clusterId(subscriptionId, resourceGroup, name));
      if (!cluster) return undefined;
      assertPreconditions(conditions, cluster.body.eTag, { kind: "managed cluster", name: cluster.body.name });
      core.assertClusterIdle(cluster);
      core.setState(cluster.id, "Deleting");
      const ref = core.clusterRef(cluster);
      return core.runOperation({
        locks: [cluster, ...core.pools(cluster)],
        subscriptionId,
        location: cluster.body.location,
        action: "Delete",
        work: () => core.backend.deleteCluster(ref),
        onSuccess: () => core.removeTree(cluster.id),
        onFailure: (error) => core.setState(cluster.id, "Failed", error),
      });
    });
  }

  /** A kubeconfig of the cluster's current certificate generation; a stopped cluster hands out none. */
  async credentials(subscriptionId: string, resourceGroup: string, name: string, kind: CredentialKind): Promise<string> {
    return this.core.kubeconfig(this.core.getCluster(subscriptionId, resourceGroup, name), kind);
  }

  // ---- agent pools -------------------------------------------------------------------------------

  getPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): StoredResource {
    return this.core.getPool(subscriptionId, resourceGroup, clusterName, poolName).pool;
  }

  /** The agent pool, or undefined when it or its cluster does not exist. */
  findPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): StoredResource | undefined {
    return this.core.store.get(`${clusterId(subscriptionId, resourceGroup, clusterName)}/agentPools/${poolName}`);
  }

  listPools(subscriptionId: string, resourceGroup: string, clusterName: string): StoredResource[] {
    return this.core.pools(this.core.getCluster(subscriptionId, resourceGroup, clusterName));
  }

  /** The cluster's pools as a page source (AgentPools_List): each page read after the last one. */
  poolPages(subscriptionId: string, resourceGroup: string, clusterName: string): PageReader<StoredResource> {
    const { store } = this.core;
    const cluster = this.core.getCluster(subscriptionId, resourceGroup, clusterName);
    return pageReader(store, (range) => store.children(cluster.id, POOL_TYPE, range));
  }

  putPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, request: Record<string, any>, caller: Caller, conditions?: ConditionalHeaders) {
    const { core } = this;
    return core.transaction(() => {
      core.backend.checkAvailable?.();
      core.requireWritableResourceGroup(subscriptionId, resourceGroup);
      const cluster = core.getCluster(subscriptionId, resourceGroup, clusterName);
      const existing = core.findPool(cluster, poolName);
      assertPreconditions(conditions, existing?.body.properties.eTag, { kind: "agent pool", name: existing?.body.name ?? poolName });
      core.assertClusterIdle(cluster);
      assertNotStopped(cluster);
      const body = buildPool(
        {
          clusterId: cluster.id,
          name: existing?.body.name ?? poolName,
          clusterVersion: cluster.body.properties.currentKubernetesVersion,
          defaultMode: "User",
          location: cluster.body.location,
          leniency: caller.leniency,
          principal: caller.principal,
          now: core.clock.now(),
        },
        request.properties ?? {},
        existing?.body,
      );
      if (existing?.body.properties.mode === "System" && body.properties.mode !== "System") this.assertAnotherSystemPool(cluster, poolName);
      const others = core.pools(cluster).filter((p) => p.id.toLowerCase() !== body.id.toLowerCase());
      assertClusterQuotas(cluster.body.name, [...others.map((p) => p.body), body]);
      const pool = core.putPoolRecord(cluster, body);
      core.writeMachineSet(cluster, pool); // a new pool's machines, or the scaled pool's
      const operation = core.applyPool(cluster, pool, existing ? "UpdateAgentPool" : "CreateAgentPool");
      return { created: !existing, pool: core.store.get(pool.id)!, operation };
    });
  }

  deletePool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, conditions?: ConditionalHeaders): OperationRecord | undefined {
    const { core } = this;
    return core.transaction(() => {
      const cluster = core.getCluster(subscriptionId, resourceGroup, clusterName);
      const pool = core.findPool(cluster, poolName);
      if (!pool) return undefined;
      assertPreconditions(conditions, pool.body.properties.eTag, { kind: "agent pool", name: pool.body.name });
      core.assertClusterIdle(cluster);
      assertNotStopped(cluster);
      if (pool.body.properties.mode === "System") this.assertAnotherSystemPool(cluster, poolName);
      core.setState(pool.id, "Deleting");
      const ref = core.clusterRef(cluster);
      return core.runOperation({
        locks: [pool],
        subscriptionId,
        location: cluster.body.location,
        action: "DeleteAgentPool",
        work: () => core.backend.deleteAgentPool(ref, pool.body.name),
        onSuccess: () => core.removeTree(pool.id), // with the pool's machine set
        onFailure: (error) => core.setState(pool.id, "Failed", error),
      });
    });
  }

  private assertAnotherSystemPool(cluster: StoredResource, poolName: string): void {
    const others = this.core.pools(cluster).filter((p) => p.body.name.toLowerCase() !== poolName.toLowerCase());
    if (!others.some((p) => p.body.properties.mode === "System")) {
      throw errors.lastSystemPool(poolName, cluster.body.name);
    }
  }

  // ---- operations --------------------------------------------------------------------------------

  getOperation(name: string): OperationRecord | undefined {
    return this.core.getOperation(name);
  }

  /**
   * POST /_emulator/reset: running operations are cancelled, every cluster is torn down through the
   * backend (in real mode its containers and volumes go), then the store is emptied.
   */
  resetAll(): Promise<void> {
    return this.core.resetAll();
  }

  // ---- the backend's view (at start: the backend re-adopts what the store knows) ------------------

  clusterRef(cluster: StoredResource): ClusterRef {
    return this.core.clusterRef(cluster);
  }

  /** The cluster's pools as the backend sees them, with their nodes' names. */
  poolRefs(cluster: StoredResource): PoolRef[] {
    return this.core.poolRefs(cluster);
  }
}

export { CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE };
