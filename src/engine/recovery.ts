// After a restart, the work of operations that were running is gone with the old process. Each is
// settled so none stays InProgress: deletes and writes are carried to their end through the
// backend (both are idempotent), anything else fails cleanly with OperationInterrupted.
//
// Then a sweep: a resource can also be left in a transitional provisioningState (Creating, Deleting,
// Stopping, ...) that no running operation will ever end, when the process died between two of the
// separate commits that start or end an operation (an operation's end and its onSuccess; a state set
// just before the operation is recorded). Each such resource takes the outcome of the latest
// operation recorded on it or on one of its parents, so nothing reads "in progress" forever.
import { errors, interruptedOperationCode } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import { normaliseId, SETTLED_STATES, type ResourceStore, type StoredResource } from "../store/store.js";
import type { Clock, Logger } from "../util.js";
import type { EngineCore } from "./core.js";
import { CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE } from "./model.js";
import type { Engine } from "./engine.js";

const REAPPLY = new Set(["Create", "Update", "UpdateTags", "CreateAgentPool", "UpdateAgentPool"]);
const REMOVE = new Set(["Delete", "DeleteAgentPool", "DeleteResourceGroup"]);
/** Resources whose writes do backend work; every other type is a record of the engine alone (sub-resources). */
const BACKEND_TYPES = new Set([CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE].map((t) => t.toLowerCase()));

type Plan = "remove" | "reapply" | "interrupt";

function planFor(operation: OperationRecord, target: StoredResource | undefined): Plan {
  if (REMOVE.has(operation.action)) return "remove";
  if (REAPPLY.has(operation.action)) return "reapply";
  // A sub-resource's long-running write has no backend work (maintenance configurations, role
  // bindings, private endpoint connections, ...): it just ends, as the interrupted process would have.
  if (target && !BACKEND_TYPES.has(target.type.toLowerCase())) {
    if (operation.action.startsWith("Delete")) return "remove";
    if (/^(Create|Update)/.test(operation.action)) return "reapply";
  }
  return "interrupt";
}

export async function recoverInterruptedOperations(engine: Engine, store: ResourceStore, clock: Clock, logger: Logger): Promise<number> {
  const { core } = engine;
  const interrupted = store.listOperations("InProgress");
  const locked = store.listLocked();
  for (const operation of interrupted) {
    const resources = locked.filter((r) => r.activeOperation === operation.name);
    const target = store.get(operation.resourceId);
    const plan = planFor(operation, target);
    let error: Error | undefined;
    try {
      if (plan === "remove") await finishRemoval(core, store, operation, resources);
      else if (plan === "reapply") await reapply(core, store, resources);
      else error = errors.operationInterrupted(operation.action);
    } catch (failure) {
      error = failure as Error;
    }
    const done: OperationRecord = { ...operation, status: error ? "Failed" : "Succeeded", endTime: clock.now().toISOString(), percentComplete: 100 };
    if (error) done.error = { code: interruptedOperationCode(error), message: error.message };
    store.transaction(() => {
      for (const resource of resources) {
        const current = store.get(resource.id);
        if (!current) continue;
        store.put({ ...current, activeOperation: undefined });
        core.setState(resource.id, error ? "Failed" : "Succeeded", error);
      }
      // What the Location URL of a sub-resource's write answers once it has ended: the resource.
      const written = plan === "reapply" && !error && target && !BACKEND_TYPES.has(target.type.toLowerCase()) ? store.get(target.id) : undefined;
      if (written) done.result = { status: 200, body: written.body };
      store.putOperation(done);
    });
    logger.info(`recovered operation ${operation.name} (${operation.action} ${operation.resourceId}): ${done.status}`);
  }
  const swept = await settleStrandedStates(core, store, logger);
  if (swept) logger.info(`aks-emulator: settled ${swept} resource(s) left in a transitional state by the last stop`);
  return interrupted.length;
}

async function finishRemoval(core: EngineCore, store: ResourceStore, operation: OperationRecord, resources: StoredResource[]): Promise<void> {
  const target = store.get(operation.resourceId);
  if (!target) return;
  const clusters = target.type === CLUSTER_TYPE ? [target] : resources.filter((r) => r.type === CLUSTER_TYPE);
  if (target.type === POOL_TYPE) {
    const cluster = store.get(target.parentKey);
    if (cluster) await core.backend.deleteAgentPool(core.clusterRef(cluster), target.body.name);
  } else {
    for (const cluster of clusters) await core.backend.deleteCluster(core.clusterRef(cluster));
  }
  store.transaction(() => core.removeTree(target.id));
}

async function reapply(core: EngineCore, store: ResourceStore, resources: StoredResource[]): Promise<void> {
  for (const resource of resources.filter((r) => r.type === CLUSTER_TYPE)) {
    await core.backend.applyCluster(core.clusterRef(resource), core.poolRefs(resource));
  }
  for (const pool of resources.filter((r) => r.type === POOL_TYPE)) {
    const cluster = store.get(pool.parentKey);
    if (cluster) await core.backend.applyAgentPool(core.clusterRef(cluster), core.poolRef(cluster, pool));
  }
}

/**
 * Resources in a transitional provisioningState that no running operation holds, and locks naming
 * an operation that has ended. Parents first, so a removal takes its children with it.
 */
async function settleStrandedStates(core: EngineCore, store: ResourceStore, logger: Logger): Promise<number> {
  const depth = (r: StoredResource) => r.id.split("/").length;
  let operations: OperationRecord[] | undefined; // oldest first; read when a resource needs them
  let settled = 0;
  for (const resource of store.unsettled().sort((a, b) => depth(a) - depth(b))) {
    const current = store.get(resource.id);
    if (!current) continue; // removed with its parent
    const lock = current.activeOperation ? store.getOperation(current.activeOperation) : undefined;
    if (lock?.status === "InProgress") continue;
    const state = current.body?.properties?.provisioningState;
    if (typeof state !== "string" || SETTLED_STATES.has(state)) {
      if (current.activeOperation) store.put({ ...current, activeOperation: undefined }); // a stale lock
      continue;
    }
    // The operation this state belongs to: the one still named by the lock, else the latest one on
    // the resource or on a parent (a cluster's operation also moves its pools, a resource group's
    // delete its clusters). An operation that was never recorded leaves the latest earlier one,
    // whose outcome is the state before the unanswered request.
    const key = normaliseId(current.id);
    const operation = lock ?? (operations ??= store.listOperations()).findLast((op) => key === normaliseId(op.resourceId) || key.startsWith(`${normaliseId(op.resourceId)}/`));
    if (operation?.status === "Succeeded" && planFor(operation, store.get(operation.resourceId)) === "remove") {
      store.transaction(() => core.removeTree(operation.resourceId));
    } else if (!operation && state === "Deleting") {
      // No record at all of how it came to be deleted: finish what was asked.
      const cluster = current.type === CLUSTER_TYPE ? current : current.type === POOL_TYPE ? store.get(current.parentKey) : undefined;
      if (cluster && current.type === POOL_TYPE) await core.backend.deleteAgentPool(core.clusterRef(cluster), current.body.name);
      else if (cluster) await core.backend.deleteCluster(core.clusterRef(cluster));
      store.transaction(() => core.removeTree(current.id));
    } else {
      const outcome = operation?.status === "Failed" || operation?.status === "Canceled" ? operation.status : operation ? "Succeeded" : "Failed";
      const error =
        outcome !== "Failed"
          ? undefined
          : errors.resourceInterrupted(operation?.error, current.body?.name, state);
      store.transaction(() => {
        store.put({ ...current, activeOperation: undefined });
        core.setState(current.id, outcome, error);
      });
    }
    settled++;
    logger.info(`settled ${current.id} left ${state} (${operation ? `${operation.action} ${operation.name}: ${operation.status}` : "no operation recorded"})`);
  }
  return settled;
}
