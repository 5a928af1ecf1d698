// The health watch (real mode): containers can stop or vanish behind the emulator's back (docker
// kill, docker rm, a reboot of the Docker host). Every interval, each idle cluster that should be
// running is compared with what runs; a missing or stopped container turns the cluster (and the
// pools it hits) provisioningState Failed with status.provisioningError saying which, as AKS reports
// a cluster whose nodes or control plane it lost. When everything runs again (someone started the
// container, or a cluster PUT, `az aks update`, recreated it), the watch turns them Succeeded again.
import { CLUSTER_UNHEALTHY, errors } from "../arm/errors.js";
import type { ResourceStore, StoredResource } from "../store/store.js";
import type { Logger } from "../util.js";
import type { ClusterBackend } from "./backend.js";
import type { EngineCore } from "./core.js";
import { isStopped, POOL_TYPE } from "./model.js";
import type { Engine } from "./engine.js";

export interface HealthWatch {
  /** One pass over every cluster (what the timer runs; tests may call it). */
  checkNow(): Promise<void>;
  stop(): void;
}

export function startHealthWatch(engine: Engine, store: ResourceStore, backend: ClusterBackend, intervalSeconds: number, logger: Logger): HealthWatch | undefined {
  if (!backend.checkHealth || !backend.trackedClusters || intervalSeconds <= 0) return undefined;
  let running: Promise<void> | undefined;
  const checkNow = () => (running ??= pass(engine.core, store, backend, logger).finally(() => (running = undefined)));
  const timer = setInterval(() => {
    checkNow().catch((error: Error) => logger.warn(`health check failed: ${error.message}`));
  }, intervalSeconds * 1000);
  timer.unref();
  return { checkNow, stop: () => clearInterval(timer) };
}

/** Idle: no operation runs on the cluster or its pools. */
function idle(core: EngineCore, cluster: StoredResource): boolean {
  try {
    core.assertClusterIdle(cluster);
    return true;
  } catch {
    return false;
  }
}

/** Only clusters the watch failed (provisioningError ClusterUnhealthy) are turned back. */
const failedByWatch = (cluster: StoredResource) => cluster.body.properties?.status?.provisioningError?.code === CLUSTER_UNHEALTHY;

async function pass(core: EngineCore, store: ResourceStore, backend: ClusterBackend, logger: Logger): Promise<void> {
  for (const id of backend.trackedClusters!()) {
    const before = store.get(id);
    if (!before || isStopped(before) || !idle(core, before)) continue;
    const state = before.body.properties?.provisioningState;
    if (state !== "Succeeded" && !(state === "Failed" && failedByWatch(before))) continue;
    const health = await backend.checkHealth!(core.clusterRef(before), core.poolRefs(before));
    if (!health) continue;
    // Re-read: an operation may have started while the containers were looked at.
    const cluster = store.get(id);
    if (!cluster || isStopped(cluster) || !idle(core, cluster) || cluster.body.properties?.provisioningState !== state) continue;
    const pools = store.children(cluster.id, POOL_TYPE);
    if (health.problems.length && state === "Succeeded") {
      const error = errors.clusterUnhealthy(cluster.body.name, health.problems);
      logger.warn(`health: ${error.message}`);
      store.transaction(() => {
        core.setState(cluster.id, "Failed", error);
        for (const pool of pools) if (health.failedPools.some((name) => name.toLowerCase() === pool.body.name.toLowerCase())) core.setState(pool.id, "Failed");
      });
    } else if (!health.problems.length && state === "Failed") {
      logger.info(`health: managed cluster '${cluster.body.name}' runs again`);
      store.transaction(() => {
        core.setState(cluster.id, "Succeeded");
        for (const pool of pools) if (pool.body.properties?.provisioningState === "Failed" && !pool.activeOperation) core.setState(pool.id, "Succeeded");
      });
    }
  }
}
