// After a restart, the work of operations that were running is gone with the old process. Each is
// settled so none stays InProgress: deletes and writes are carried to their end through the
// backend (both are idempotent), anything else fails cleanly with OperationInterrupted.
import { ArmError } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { ResourceStore, StoredResource } from "../store/store.js";
import type { Clock, Logger } from "../util.js";
import { CLUSTER_TYPE, POOL_TYPE, poolRef, type Engine } from "./provisioner.js";

const REAPPLY = new Set(["Create", "Update", "UpdateTags", "CreateAgentPool", "UpdateAgentPool"]);
const REMOVE = new Set(["Delete", "DeleteAgentPool", "DeleteResourceGroup"]);

export async function recoverInterruptedOperations(engine: Engine, store: ResourceStore, clock: Clock, logger: Logger): Promise<number> {
  const interrupted = store.listOperations("InProgress");
  const locked = store.listLocked();
  for (const operation of interrupted) {
    const resources = locked.filter((r) => r.activeOperation === operation.name);
    let error: Error | undefined;
    try {
      if (REMOVE.has(operation.action)) await finishRemoval(engine, store, operation, resources);
      else if (REAPPLY.has(operation.action)) await reapply(engine, store, resources);
      else error = new ArmError(500, "OperationInterrupted", `The emulator restarted while operation '${operation.action}' was running; retry the request.`);
    } catch (failure) {
      error = failure as Error;
    }
    const done: OperationRecord = { ...operation, status: error ? "Failed" : "Succeeded", endTime: clock.now().toISOString(), percentComplete: 100 };
    if (error) done.error = { code: error instanceof ArmError ? error.code : "OperationInterrupted", message: error.message };
    store.transaction(() => {
      store.putOperation(done);
      for (const resource of resources) {
        const current = store.get(resource.id);
        if (!current) continue;
        store.put({ ...current, activeOperation: undefined });
        engine.setState(resource.id, error ? "Failed" : "Succeeded", error);
      }
    });
    logger.info(`recovered operation ${operation.name} (${operation.action} ${operation.resourceId}): ${done.status}`);
  }
  return interrupted.length;
}

async function finishRemoval(engine: Engine, store: ResourceStore, operation: OperationRecord, resources: StoredResource[]): Promise<void> {
  const target = store.get(operation.resourceId);
  if (!target) return;
  const clusters = target.type === CLUSTER_TYPE ? [target] : resources.filter((r) => r.type === CLUSTER_TYPE);
  if (target.type === POOL_TYPE) {
    const cluster = store.get(target.parentKey);
    if (cluster) await engine.backend.deleteAgentPool(engine.clusterRef(cluster), target.body.name);
  } else {
    for (const cluster of clusters) await engine.backend.deleteCluster(engine.clusterRef(cluster));
  }
  store.transaction(() => engine.removeTree(target.id));
}

async function reapply(engine: Engine, store: ResourceStore, resources: StoredResource[]): Promise<void> {
  for (const resource of resources.filter((r) => r.type === CLUSTER_TYPE)) {
    await engine.backend.applyCluster(engine.clusterRef(resource), store.children(resource.id, POOL_TYPE).map(poolRef));
  }
  for (const pool of resources.filter((r) => r.type === POOL_TYPE)) {
    const cluster = store.get(pool.parentKey);
    if (cluster) await engine.backend.applyAgentPool(engine.clusterRef(cluster), poolRef(pool));
  }
}
