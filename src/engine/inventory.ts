// Read-only listings across every subscription, for the emulator's status page (GET /_emulator/state):
// ARM's own lists stop at one subscription, and the page shows the whole instance. The composition
// root builds it over the engine and hands it to the web endpoints; it only reads.
import type { OperationRecord } from "../arm/lro.js";
import type { Engine } from "./engine.js";
import { CLUSTER_TYPE } from "./model.js";

export interface Inventory {
  /** The first `limit` clusters of every subscription, in creation order, as served (engine.clusterView), and how many there are. */
  clusters(limit: number): { clusters: Record<string, any>[]; total: number };
  /** The operations still running, and the `recent` newest that ended, newest first. */
  operations(recent: number): { running: OperationRecord[]; finished: OperationRecord[] };
}

export function engineInventory(engine: Engine): Inventory {
  const { store } = engine.core;
  return {
    clusters(limit) {
      const { items, total } = store.firstOfType(CLUSTER_TYPE, limit);
      return { clusters: items.map((cluster) => engine.clusterView(cluster, { keep: false })), total };
    },
    operations(recent) {
      return { running: store.listOperations("InProgress"), finished: store.recentlyEnded(recent) };
    },
  };
}
