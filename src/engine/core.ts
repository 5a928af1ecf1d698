// What every part of the engine works over (see the style note at the top of engine.ts): the
// engine's own port (store, backend, clock, logger, config), the lookups and guards the operations
// share, the writes they share (provisioning states, removals, pool records and their machine sets),
// the backend's view of clusters and pools, and the runner of long-running operations. Handlers
// never see it: they call the engine's operations.
import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { errors, operationErrorCode, type ArmError } from "../arm/errors.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import { newOperation, type OperationRecord } from "../arm/lro.js";
import type { Config } from "../config.js";
import type { ResourceStore, StoredResource } from "../store/store.js";
import { isoTime, newUuid, spread, type Clock, type Logger } from "../util.js";
import type { ClusterBackend, ClusterRef, CredentialKind, PoolRef } from "./backend.js";
import {
  AddressAllocator,
  ADDRESS_SPACE_TYPE,
  addressSpaceId,
  addressSpaceOf,
  assertNotStopped,
  CLUSTER_TYPE,
  clusterId,
  credentialGeneration,
  MACHINE_SET_TYPE,
  machineName,
  machineSetId,
  POOL_TYPE,
  RESOURCE_GROUP_TYPE,
  resizeMachineSet,
  resourceGroupBody,
  resourceGroupId,
  scaleSetName,
  type AddressSpace,
  type MachineInstance,
  type MachineSet,
} from "./model.js";

/**
 * How long finished operation records are kept: ARM answers an operation's status for a bounded time
 * after it ends, then no more (a poll then gets what an unknown operation id gets). Also bounded by
 * count and by size, so a stream of writes keeps the store flat. Each operation's end drops at most a
 * few expired ones, in its own transaction: no timer.
 */
export const OPERATION_RETENTION_MS = 60 * 60 * 1000;
export const FINISHED_OPERATIONS_KEPT = 10_000;
export const FINISHED_OPERATIONS_MAX_BYTES = 32 * 1024 * 1024;
const OPERATIONS_PRUNED_PER_END = 4;
/** An operation's end the store could not record (a full disk) is tried again after these waits, doubling. */
const END_RETRY_FIRST_MS = 100;
const END_RETRY_MAX_MS = 2000;
/** The signal of an operation that ends inside the call that starts it: nothing can cancel it. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * A fault injected into the long-running operations one call starts (the emulator's fault injection:
 * a rule's failOperation and operationDelayMs). Neutral of HTTP: the caller names it, the engine
 * honours it. The operation starts as usual; its completion waits `delayMs` more, then it ends Failed
 * with `fail`'s code and message when given (the resources Failed, the cluster's
 * status.provisioningError set, as AKS reports a failed operation).
 */
export interface InjectedFault {
  fail?: { code: string; message: string };
  delayMs?: number;
}

/** The fault injected into the operations the call under way starts (EngineCore.withInjected). */
const injectedFaults = new AsyncLocalStorage<InjectedFault>();

/** The engine's port: what it is given by the composition root. */
export interface EngineServices {
  store: ResourceStore;
  backend: ClusterBackend;
  clock: Clock;
  logger: Logger;
  config: Config;
}

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

export class EngineCore {
  readonly store: ResourceStore;
  readonly backend: ClusterBackend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Config;
  /** Operations whose work is still running, for cancellation. */
  private readonly running = new Map<string, { controller?: AbortController; spec: OperationSpec }>();
  /** The operation whose end is being recorded (see settle). */
  private settling: string | undefined;
  /**
   * The in-memory side of the transaction under way (see transaction): what undoes its changes to
   * `running` if it rolls back, and what runs only once it has committed (starting or aborting work).
   */
  private pending: { undo: (() => void)[]; committed: (() => void)[] } | undefined;

  constructor(services: EngineServices) {
    ({ store: this.store, backend: this.backend, clock: this.clock, logger: this.logger, config: this.config } = services);
  }

  /**
   * Runs one operation's changes as one store transaction: a write stores several records (cluster,
   * pools, machine sets, operation, locks), and a refusal half-way or a crash leaves all or none.
   */
  transaction<T>(fn: () => T): T {
    // The engine's own memory (which operations run) follows the store: a transaction the store
    // refuses at its commit (a full disk) must leave no operation registered as running or taken out
    // of `running`, and no work started or aborted for a change that never happened. Under the
    // store's deferCommits (a request) the commit, and with it these steps, may come after this
    // returns: with the other requests' changes of the same turn (group commit), or not at all.
    if (this.pending) return this.store.transaction(fn); // joins the outer transaction
    const pending = { undo: [] as (() => void)[], committed: [] as (() => void)[] };
    return this.store.transaction(
      () => {
        this.pending = pending;
        try {
          return fn();
        } finally {
          this.pending = undefined;
        }
      },
      {
        committed: () => {
          for (const step of pending.committed) this.guarded(step, "after a commit");
        },
        failed: () => {
          for (const step of pending.undo.reverse()) this.guarded(step, "undoing a rolled-back change");
        },
      },
    );
  }

  /** A step the store runs at a commit or a rollback, perhaps after the request that made it: a throw is logged, not passed on. */
  private guarded(step: () => void, when: string): void {
    try {
      step();
    } catch (error) {
      this.logger.error(`${when}: ${(error as Error).message}`);
    }
  }

  /** Runs `step` once the transaction under way has committed (at once outside one). */
  private whenCommitted(step: () => void): void {
    if (this.pending) this.pending.committed.push(step);
    else step();
  }

  /** Undoes an in-memory change if the transaction under way rolls back. */
  private onRollback(step: () => void): void {
    this.pending?.undo.push(step);
  }

  // ---- lookups -------------------------------------------------------------------------------------

  requireResourceGroup(subscriptionId: string, resourceGroup: string): StoredResource {
    const group = this.store.get(resourceGroupId(subscriptionId, resourceGroup));
    if (!group) throw errors.resourceGroupNotFound(resourceGroup);
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
      this.putResourceGroupRecord(subscriptionId, body);
      createWith.leniency.note("resource-group", `resource group '${resourceGroup}' did not exist; created in ${body.location} (strict mode refuses with ResourceGroupNotFound)`, { wrote: true });
    }
    const group = this.requireResourceGroup(subscriptionId, resourceGroup);
    if (group.body.properties?.provisioningState === "Deleting") {
      throw errors.resourceGroupBeingDeleted(group.body.name);
    }
    return group;
  }

  getCluster(subscriptionId: string, resourceGroup: string, name: string): StoredResource {
    const cluster = this.store.get(clusterId(subscriptionId, resourceGroup, name));
    if (!cluster) {
      this.requireResourceGroup(subscriptionId, resourceGroup);
      throw errors.resourceNotFound(CLUSTER_TYPE, name, resourceGroup);
    }
    return cluster;
  }

  findPool(cluster: StoredResource, poolName: string): StoredResource | undefined {
    return this.store.get(`${cluster.id}/agentPools/${poolName}`);
  }

  getPool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): { cluster: StoredResource; pool: StoredResource } {
    const cluster = this.getCluster(subscriptionId, resourceGroup, clusterName);
    const pool = this.findPool(cluster, poolName);
    if (!pool) throw errors.agentPoolNotFound(poolName, cluster.body.name);
    return { cluster, pool };
  }

  /** A pool about to be written: the backend is there, the cluster runs, and nothing is in progress on it. */
  writablePool(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): { cluster: StoredResource; pool: StoredResource } {
    this.backend.checkAvailable?.();
    const found = this.getPool(subscriptionId, resourceGroup, clusterName, poolName);
    this.assertClusterIdle(found.cluster);
    assertNotStopped(found.cluster);
    return found;
  }

  pools(cluster: StoredResource): StoredResource[] {
    return this.store.children(cluster.id, POOL_TYPE);
  }

  // ---- guards ----------------------------------------------------------------------------------------

  /** A write is refused while any operation runs on the cluster or on one of its pools. */
  assertClusterIdle(cluster: StoredResource): void {
    this.assertIdle(cluster);
    for (const pool of this.pools(cluster)) this.assertIdle(pool);
  }

  assertIdle(resource: StoredResource): void {
    if (!resource.activeOperation) return;
    const running = this.store.getOperation(resource.activeOperation);
    if (running?.status === "InProgress") {
      throw errors.operationInProgress(running.action, running.name, resource.body.name, running.startTime);
    }
  }

  // ---- shared writes ---------------------------------------------------------------------------------

  putResourceGroupRecord(subscriptionId: string, body: Record<string, any>): StoredResource {
    const group: StoredResource = { id: body.id, type: RESOURCE_GROUP_TYPE, parentKey: `/subscriptions/${subscriptionId}`.toLowerCase(), subscriptionId, body, etag: "" };
    this.store.put(group);
    return group;
  }

  putPoolRecord(cluster: StoredResource, body: Record<string, any>): StoredResource {
    const pool: StoredResource = { id: body.id, type: POOL_TYPE, parentKey: cluster.id.toLowerCase(), subscriptionId: cluster.subscriptionId, body, etag: body.properties.eTag };
    this.store.put(pool);
    return pool;
  }

  /**
   * A cluster-level write (PUT, PATCH tags, Stop, Start, a rotation, a reset, an abort) gives the
   * cluster a new eTag and every one of its pools a new `properties.eTag`: AKS documents that a
   * cluster-level operation updates both, an agent-pool operation only the pool's
   * (https://learn.microsoft.com/azure/aks/use-etags). Part of the write's transaction. `keep`: ids
   * of records the write stored with a new eTag already (a PUT's cluster and the pools it names).
   */
  refreshETags(clusterId: string, keep: readonly StoredResource[] = []): void {
    const kept = new Set(keep.map((record) => record.id.toLowerCase()));
    const cluster = this.store.get(clusterId);
    if (!cluster) return;
    if (!kept.has(cluster.id.toLowerCase())) {
      const eTag = newUuid();
      this.store.put({ ...cluster, etag: eTag, body: { ...cluster.body, eTag } });
    }
    for (const pool of this.pools(cluster)) {
      if (!kept.has(pool.id.toLowerCase())) this.refreshPoolETag(pool);
    }
  }

  /** An agent-pool write: the pool's `properties.eTag` (and the record's etag) is new. */
  refreshPoolETag(pool: StoredResource): void {
    const eTag = newUuid();
    this.store.put({ ...pool, etag: eTag, body: { ...pool.body, properties: { ...pool.body.properties, eTag } } });
  }

  /** Stores a changed copy of a record (records are never changed in place). */
  updateRecord(id: string, change: (record: StoredResource) => StoredResource): void {
    const record = this.store.get(id);
    if (record) this.store.put(change(record));
  }

  setState(id: string, state: string, error?: ArmError | Error): void {
    const resource = this.store.get(id);
    if (!resource) return;
    const properties = { ...resource.body.properties, provisioningState: state };
    if (error && resource.type === CLUSTER_TYPE) properties.status = { provisioningError: { code: operationErrorCode(error), message: error.message } };
    else if (resource.type === CLUSTER_TYPE) delete properties.status;
    const activeOperation = resource.activeOperation !== undefined && resource.activeOperation === this.settling ? undefined : resource.activeOperation;
    this.store.put({ ...resource, activeOperation, body: { ...resource.body, properties } });
  }

  /** Deletes a resource and everything below it (a pool's machine set too). */
  removeTree(id: string): void {
    for (const child of this.store.children(id)) this.removeTree(child.id);
    const record = this.store.get(id);
    if (record?.type === MACHINE_SET_TYPE) this.releaseMachineSet(record);
    this.store.delete(id);
  }

  // ---- machine sets --------------------------------------------------------------------------------

  /**
   * The pool's machine set as stored by the operation that last created or scaled it. Only reads: a
   * pool stored before machine sets were (an older data folder) is answered the set its next
   * operation will store.
   */
  machineSet(cluster: StoredResource, pool: StoredResource): MachineSet {
    const stored = this.store.get<MachineSet>(machineSetId(pool))?.body;
    const count: number = pool.body.properties.count ?? 0;
    if (stored && stored.instances.length === count) return stored;
    return resizeMachineSet(stored, count, new AddressAllocator(this.addressSpace(cluster)));
  }

  /** Stores the pool's machine set: part of the operation that creates, scales or shrinks the pool. */
  putMachineSet(pool: StoredResource, set: MachineSet): void {
    this.store.put({ id: machineSetId(pool), type: MACHINE_SET_TYPE, parentKey: pool.id.toLowerCase(), subscriptionId: pool.subscriptionId, body: set, etag: "" });
  }

  /**
   * Brings the pool's machine set in line with its count, storing it when it changed (new machines
   * take the addresses the cluster's address space hands out, removed ones give theirs back): the
   * write of an operation that creates or scales the pool, in its transaction. Its cost is the
   * pool's change, not the cluster's size.
   */
  writeMachineSet(cluster: StoredResource, pool: StoredResource): void {
    const stored = this.store.get<MachineSet>(machineSetId(pool))?.body;
    const count: number = pool.body.properties.count ?? 0;
    if (stored && stored.instances.length === count) return;
    const addresses = new AddressAllocator(this.addressSpace(cluster));
    this.putMachineSet(pool, resizeMachineSet(stored, count, addresses));
    this.putAddressSpace(cluster.id, cluster.subscriptionId, addresses.result());
  }

  /** Stores a pool's machine set without the named machines (DeleteMachines), giving their addresses back. */
  removeMachines(cluster: StoredResource, pool: StoredResource, set: MachineSet, doomed: (instance: MachineInstance) => boolean): void {
    const addresses = new AddressAllocator(this.addressSpace(cluster));
    for (const instance of set.instances) if (doomed(instance)) addresses.giveBack(instance.ip);
    this.putMachineSet(pool, { ...set, instances: set.instances.filter((i) => !doomed(i)) });
    this.putAddressSpace(cluster.id, cluster.subscriptionId, addresses.result());
  }

  /** The cluster's address space as stored; for a cluster stored before address spaces were, derived once from its machines. */
  private addressSpace(cluster: StoredResource): AddressSpace {
    return this.store.get<AddressSpace>(addressSpaceId(cluster.id))?.body ?? addressSpaceOf(this.usedAddresses(cluster));
  }

  private putAddressSpace(clusterId: string, subscriptionId: string, space: AddressSpace): void {
    this.store.put({ id: addressSpaceId(clusterId), type: ADDRESS_SPACE_TYPE, parentKey: clusterId.toLowerCase(), subscriptionId, body: space, etag: "" });
  }

  /**
   * A machine set being removed (its pool deleted) gives its addresses back to the cluster's stored
   * address space; a cluster with none (an older data folder, or being removed whole) derives it later.
   */
  private releaseMachineSet(record: StoredResource): void {
    const clusterId = record.id.slice(0, record.id.toLowerCase().lastIndexOf("/agentpools/"));
    const space = this.store.get<AddressSpace>(addressSpaceId(clusterId));
    if (!space) return;
    const addresses = new AddressAllocator(space.body);
    for (const instance of (record.body as MachineSet).instances) addresses.giveBack(instance.ip);
    this.putAddressSpace(clusterId, space.subscriptionId, addresses.result());
  }

  /** The addresses the cluster's machines hold, as stored: read only to derive an older cluster's address space. */
  private usedAddresses(cluster: StoredResource): string[] {
    return this.pools(cluster).flatMap((p) => this.store.get<MachineSet>(machineSetId(p))?.body.instances.map((i) => i.ip) ?? []);
  }

  // ---- the backend's view --------------------------------------------------------------------------

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
      ...(cluster.body.properties.networkProfile?.networkPolicy ? { networkPolicy: cluster.body.properties.networkProfile.networkPolicy } : {}),
    };
  }

  /**
   * The pool as the backend sees it. Its nodes are named as its machines are (the stored machine
   * set), so `kubectl get nodes` in real mode and Machines_List agree.
   */
  poolRef(cluster: StoredResource, pool: StoredResource): PoolRef {
    const p = pool.body.properties;
    const scaleSet = scaleSetName(cluster, pool);
    return {
      name: pool.body.name,
      mode: p.mode,
      nodeLabels: p.nodeLabels ?? {},
      nodeTaints: p.nodeTaints ?? [],
      nodeNames: this.machineSet(cluster, pool).instances.map((instance) => machineName(scaleSet, instance)),
      ...(p.currentOrchestratorVersion ? { kubernetesVersion: p.currentOrchestratorVersion } : {}),
      ...(p.powerState?.code ? { powerState: p.powerState.code } : {}),
    };
  }

  /** The cluster's pools as the backend sees them. */
  poolRefs(cluster: StoredResource): PoolRef[] {
    return this.pools(cluster).map((pool) => this.poolRef(cluster, pool));
  }

  /** A kubeconfig of the cluster's current certificate generation; a stopped cluster hands out none. */
  kubeconfig(cluster: StoredResource, kind: CredentialKind): Promise<string> {
    assertNotStopped(cluster);
    return this.backend.kubeconfig(this.clusterRef(cluster), kind);
  }

  // ---- long-running operations ---------------------------------------------------------------------

  /** Runs fn with `fault` injected into every long-running operation it starts, across its awaits too. */
  withInjected<T>(fault: InjectedFault, fn: () => T): T {
    return injectedFaults.run(fault, fn);
  }

  /** The operation with an injected fault: its work, then the delay, then the failure. */
  private static withFault(spec: OperationSpec, fault: InjectedFault): OperationSpec {
    return {
      ...spec,
      work: async (signal) => {
        await spec.work(signal);
        if (fault.delayMs && fault.delayMs > 0) await sleep(fault.delayMs, undefined, { signal });
        if (fault.fail) throw errors.injectedOperationFailure(fault.fail.code, fault.fail.message);
      },
    };
  }

  getOperation(name: string): OperationRecord | undefined {
    return this.store.getOperation(name);
  }

  /**
   * The operation that applies a pool as stored now (its machine set written already) to the backend:
   * the pool reads Succeeded or Failed when it ends. `spec` adds to it or overrides it.
   */
  applyPool(cluster: StoredResource, pool: StoredResource, action: string, spec: Partial<OperationSpec> = {}): OperationRecord {
    const ref = this.clusterRef(cluster);
    const poolRef = this.poolRef(cluster, pool);
    return this.runOperation({
      locks: [pool],
      subscriptionId: cluster.subscriptionId,
      location: cluster.body.location,
      action,
      work: () => this.backend.applyAgentPool(ref, poolRef),
      onSuccess: () => this.setState(pool.id, "Succeeded"),
      onFailure: (error) => this.setState(pool.id, "Failed", error),
      ...spec,
    });
  }

  /**
   * Starts a long-running operation: records it, locks the resources (a write to any of them gets 409
   * until it ends), runs the work and settles the operation and the resources when the work does.
   * The work receives an AbortSignal that fires when the operation is cancelled (abort).
   */
  runOperation(requested: OperationSpec): OperationRecord {
    const fault = injectedFaults.getStore();
    const spec = fault ? EngineCore.withFault(requested, fault) : requested;
    return this.transaction(() => {
      const created = newOperation(
        { subscriptionId: spec.subscriptionId, location: spec.location, provider: spec.provider ?? "Microsoft.ContainerService", resourceId: spec.resourceId ?? spec.locks[0].id, action: spec.action },
        this.clock.now(),
      );
      const operation = spec.name ? { ...created, name: spec.name } : created;
      this.store.putOperation(operation);
      for (const lock of spec.locks) {
        const current = this.store.get(lock.id);
        if (current) this.store.put(spread(current, { activeOperation: operation.name }));
      }
      // The mocked backend with no delay does nothing: the operation ends inside this request, so the
      // answer shows the end state (the product documentation promises Succeeded at once). An
      // operation with a result (a RunCommand) still reads it from its work, after the answer.
      // Nothing can cancel an operation that ends before this call returns: its work gets a signal
      // that never fires, and no controller of its own.
      // An operation with an injected fault ends after the request, as one on a backend that takes time.
      const instant = this.backend.instant && !spec.result && !fault;
      const controller = instant ? undefined : new AbortController();
      this.running.set(operation.name, { controller, spec });
      this.onRollback(() => this.running.delete(operation.name));
      if (!controller) {
        let started: Promise<void>;
        try {
          started = spec.work(NEVER_ABORTED);
        } catch (error) {
          this.settle(operation.name, "Failed", error as Error, () => spec.onFailure(error as Error));
          return this.store.getOperation(operation.name) ?? operation;
        }
        void started.catch(() => {});
        // An effect that throws here refuses the whole request: its transaction leaves nothing behind.
        this.settle(operation.name, "Succeeded", undefined, spec.onSuccess);
        return this.store.getOperation(operation.name) ?? operation;
      }
      // Ending the operation and its effect on the resources is one change: one transaction. A store
      // that cannot write then (disk full) must not take the process down, nor leave the operation
      // InProgress for good (every later write would get 409): the end is tried again, less and
      // less often, until it is recorded (or until an abort, once writable, ends it first). A stop
      // meanwhile leaves it to the next start's recovery.
      const end = (step: () => void, attempt = 0) => {
        try {
          this.transaction(step);
          if (attempt > 0) this.logger.info(`operation ${operation.name} (${spec.action} ${operation.resourceId}) recorded as ended after ${attempt} retries`);
        } catch (error) {
          if (attempt === 0) this.logger.error(`operation ${operation.name} (${spec.action} ${operation.resourceId}) could not be recorded as ended: ${(error as Error).message}; retrying`);
          setTimeout(() => end(step, attempt + 1), Math.min(END_RETRY_MAX_MS, END_RETRY_FIRST_MS * 2 ** attempt)).unref();
        }
      };
      // The work starts once the operation is committed: a request refused at its commit starts none.
      this.whenCommitted(() => this.startWork(operation, spec, controller, end));
      return operation;
    });
  }

  private startWork(operation: OperationRecord, spec: OperationSpec, controller: AbortController, end: (step: () => void) => void): void {
    let work: Promise<void>;
    try {
      work = spec.work(controller.signal);
    } catch (error) {
      work = Promise.reject(error);
    }
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
  }

  /**
   * Cancels a running operation (AbortLatestOperation): the operation ends Canceled, its resources
   * read provisioningState Canceled, and whatever the work does afterwards is ignored.
   */
  cancelOperation(name: string): boolean {
    return this.transaction(() => {
      const entry = this.running.get(name);
      if (!entry) return false;
      const error = errors.operationCanceled(entry.spec.action);
      if (!this.settle(name, "Canceled", error)) return false;
      // Only once Canceled is recorded: an abort the store refuses leaves the work running, to end it.
      this.whenCommitted(() => entry.controller?.abort(error));
      for (const lock of entry.spec.locks) this.setState(lock.id, "Canceled");
      entry.spec.onCancel?.();
      return true;
    });
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
    this.onRollback(() => this.running.set(name, entry)); // an end not recorded can be tried again
    const done: OperationRecord = spread(operation, { status, endTime: isoTime(this.clock.now()), percentComplete: 100 });
    if (error) done.error = { code: operationErrorCode(error), message: error.message };
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
    this.store.pruneOperations({
      endedBefore: new Date(this.clock.now().getTime() - OPERATION_RETENTION_MS).toISOString(),
      keepNewest: FINISHED_OPERATIONS_KEPT,
      maxBytes: FINISHED_OPERATIONS_MAX_BYTES,
      maxDrops: OPERATIONS_PRUNED_PER_END,
    });
    return true;
  }
}
