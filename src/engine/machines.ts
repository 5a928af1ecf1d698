// Machines: the scale-set instances behind an agent pool (their model, the machine set, is in
// model.ts), and the two node-level operations on a pool: DeleteMachines and UpgradeNodeImageVersion.
// An engine module (engine.machines): listing machines only reads the pool's stored machine set; the
// operations that change it store it in their transaction.
import { errors } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { PageReader } from "../arm/paging.js";
import type { StoredResource } from "../store/store.js";
import { newUuid } from "../util.js";
import type { EngineCore } from "./core.js";
import { machineName, machineView, scaleSetName } from "./model.js";
import { nodeImageVersion } from "./versions.js";

/** A machine as Machines_List pages it: its view, and its instance id (its place in the list). */
export interface PagedMachine {
  instanceId: number;
  machine: Record<string, any>;
}

export class Machines {
  constructor(private readonly core: EngineCore) {}

  /** The pool's machines, in instance order. */
  list(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): Record<string, any>[] {
    const { cluster, pool } = this.core.getPool(subscriptionId, resourceGroup, clusterName, poolName);
    return this.core.machineSet(cluster, pool).instances.map((i) => machineView(cluster, pool, i));
  }

  /**
   * Machines_List as a page source: a machine's position is its instance id, which only grows along
   * the set and is never reused, so a page resumes after the last machine returned (the opaque
   * $skipToken of clusters and pools) and machines deleted between pages (DeleteMachines, a
   * scale-in) shift none of the others. Each page reads the pool's machine set as stored then.
   */
  pages(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): PageReader<PagedMachine> {
    const { core } = this;
    core.getPool(subscriptionId, resourceGroup, clusterName, poolName); // 404s before any page
    return {
      read: (after, limit) => {
        const { cluster, pool } = core.getPool(subscriptionId, resourceGroup, clusterName, poolName);
        const instances = core.machineSet(cluster, pool).instances; // ascending instance id
        let first = 0;
        if (after !== undefined) {
          let high = instances.length;
          while (first < high) {
            const middle = (first + high) >>> 1;
            if (instances[middle].id <= after) first = middle + 1;
            else high = middle;
          }
        }
        return instances.slice(first, first + limit).map((instance) => ({ instanceId: instance.id, machine: machineView(cluster, pool, instance) }));
      },
      position: (item) => item.instanceId,
    };
  }

  /** Machines_Get. */
  get(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, machine: string): Record<string, any> {
    const found = this.list(subscriptionId, resourceGroup, clusterName, poolName).find((m) => m.name.toLowerCase() === machine.toLowerCase());
    if (!found) throw errors.machineNotFound(machine, poolName, clusterName);
    return found;
  }

  /**
   * AgentPools_DeleteMachines: deletes the named machines and lowers the pool's count by as many; the
   * other machines keep their names. Every name must be a machine of the pool, and a System pool keeps
   * at least one node.
   */
  delete(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, machineNames: string[]): OperationRecord {
    const { core } = this;
    return core.transaction(() => {
      const { cluster, pool } = core.writablePool(subscriptionId, resourceGroup, clusterName, poolName);
      const set = core.machineSet(cluster, pool);
      const scaleSet = scaleSetName(cluster, pool);
      const doomed = new Set(machineNames.map((n) => n.toLowerCase()));
      const known = new Set(set.instances.map((i) => machineName(scaleSet, i).toLowerCase()));
      const unknown = machineNames.filter((n) => !known.has(n.toLowerCase()));
      if (doomed.size === 0) throw errors.noMachinesNamed();
      if (unknown.length) {
        throw errors.machinesNotInPool(unknown, pool.body.name);
      }
      const properties = pool.body.properties;
      const count = set.instances.length - doomed.size;
      if (properties.mode === "System" && count < 1) {
        throw errors.machinesEmptySystemPool(pool.body.name);
      }

      core.removeMachines(cluster, pool, set, (i) => doomed.has(machineName(scaleSet, i).toLowerCase()));
      const updated = core.putPoolRecord(cluster, { ...pool.body, properties: { ...properties, count, provisioningState: "Scaling", eTag: newUuid() } });
      return core.applyPool(cluster, updated, "DeleteMachines");
    });
  }

  /**
   * AgentPools_UpgradeNodeImageVersion: moves the pool's nodes to the newest node image of the
   * catalogue. The pool reads UpgradingNodeImageVersion meanwhile; the operation's Location answers
   * the upgraded pool.
   */
  upgradeNodeImageVersion(subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): { pool: StoredResource; operation: OperationRecord } {
    const { core } = this;
    return core.transaction(() => {
      const { cluster, pool } = core.writablePool(subscriptionId, resourceGroup, clusterName, poolName);
      core.setState(pool.id, "UpgradingNodeImageVersion");
      let upgraded: Record<string, any> | undefined;
      // The final pool, computed once: the operation's result and the stored pool are the same body.
      const finalBody = () => {
        const current = core.store.get(pool.id)!.body;
        const latest = nodeImageVersion(current.properties.osSKU, "latest");
        return (upgraded ??= { ...current, properties: { ...current.properties, nodeImageVersion: latest, provisioningState: "Succeeded", eTag: newUuid() } });
      };
      const operation = core.applyPool(cluster, pool, "UpgradeNodeImageVersion", {
        onSuccess: () => {
          const current = core.store.get(pool.id);
          if (current) core.store.put({ ...current, body: finalBody(), etag: finalBody().properties.eTag });
        },
        result: () => ({ status: 200, body: finalBody() }),
      });
      return { pool: core.store.get(pool.id)!, operation };
    });
  }
}
