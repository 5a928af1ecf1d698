// Machines: the scale-set instances behind an agent pool, named as AKS names them, and the two
// node-level operations on a pool: DeleteMachines and UpgradeNodeImageVersion. Each pool keeps a
// small record of its instances (never served) so that names stay stable: a scale-out adds new
// instance ids, a scale-in removes the highest ones (the scale set's default), and deleting named
// machines removes exactly those.
import { createHash, randomUUID } from "node:crypto";
import type { Services } from "../api/types.js";
import { badRequest, notFound } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { ResourceStore, StoredResource } from "../store/store.js";
import { assertNotStopped } from "./lifecycle.js";
import { POOL_TYPE, poolRef } from "./provisioner.js";
import { nodeImageVersion } from "./versions.js";

export const MACHINE_TYPE = "Microsoft.ContainerService/managedClusters/agentPools/machines";
const MACHINE_SET_TYPE = "AksEmulator/agentPools/machineSet";

interface Instance {
  id: number;
  ip: string;
}
interface MachineSet {
  instances: Instance[]; // ascending instance id
  nextInstanceId: number; // a scale set never reuses an instance id
}

type Context = Pick<Services, "engine" | "store">;

const machineSetId = (pool: StoredResource) => `${pool.id}/machineSet`;

/** AKS's 8-digit number in scale-set names, the same for every pool of a cluster. */
function clusterNumber(cluster: StoredResource): string {
  const hash = createHash("sha256").update(cluster.id.toLowerCase()).digest("hex");
  return String(parseInt(hash.slice(0, 8), 16) % 100_000_000).padStart(8, "0");
}

/** Linux: aks-{pool}-{number}-vmss; Windows scale sets are named aks{pool}. */
function scaleSetName(cluster: StoredResource, pool: StoredResource): string {
  return pool.body.properties.osType === "Windows" ? `aks${pool.body.name}` : `aks-${pool.body.name}-${clusterNumber(cluster)}-vmss`;
}

/** A scale-set instance's computer name: the scale set's name and the instance id in base 36, six wide. */
const machineName = (scaleSet: string, instance: Instance) => `${scaleSet}${instance.id.toString(36).padStart(6, "0")}`;

/** Brings the pool's instance record in line with its count, storing it when it changed. */
function syncMachineSet({ store }: Pick<Context, "store">, cluster: StoredResource, pool: StoredResource): MachineSet {
  const stored = store.get<MachineSet>(machineSetId(pool))?.body;
  const set: MachineSet = { instances: [...(stored?.instances ?? [])], nextInstanceId: stored?.nextInstanceId ?? 0 };
  const count: number = pool.body.properties.count ?? 0;
  if (stored && set.instances.length === count) return set;
  set.instances.splice(count); // scale-in removes the highest instance ids
  const used = new Set(usedAddresses({ store }, cluster));
  while (set.instances.length < count) {
    const ip = nextAddress(used);
    used.add(ip);
    set.instances.push({ id: set.nextInstanceId++, ip });
  }
  putMachineSet({ store }, pool, set);
  return set;
}

function putMachineSet({ store }: Pick<Context, "store">, pool: StoredResource, set: MachineSet): void {
  store.put({ id: machineSetId(pool), type: MACHINE_SET_TYPE, parentKey: pool.id.toLowerCase(), subscriptionId: pool.subscriptionId, body: set, etag: "" });
}

function usedAddresses({ store }: Pick<Context, "store">, cluster: StoredResource): string[] {
  return store.children(cluster.id, POOL_TYPE).flatMap((p) => store.get<MachineSet>(machineSetId(p))?.body.instances.map((i) => i.ip) ?? []);
}

/** Nodes take the lowest free address of AKS's default node subnet 10.224.0.0/16, from .4 (Azure keeps .0-.3). */
function nextAddress(used: Set<string>): string {
  for (let n = 4; ; n++) {
    if (n % 256 === 0 || n % 256 === 255) continue;
    const ip = `10.224.${Math.floor(n / 256)}.${n % 256}`;
    if (!used.has(ip)) return ip;
  }
}

function machineView(cluster: StoredResource, pool: StoredResource, instance: Instance): Record<string, any> {
  const scaleSet = scaleSetName(cluster, pool);
  const name = machineName(scaleSet, instance);
  const [, , subscriptionId] = cluster.id.split("/");
  const zones: string[] | undefined = pool.body.properties.availabilityZones;
  return {
    id: `${pool.id}/machines/${name}`,
    name,
    type: MACHINE_TYPE,
    ...(zones?.length ? { zones: [zones[instance.id % zones.length]] } : {}),
    properties: {
      network: { ipAddresses: [{ family: "IPv4", ip: instance.ip }] },
      resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${cluster.body.properties.nodeResourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${instance.id}`,
    },
  };
}

/**
 * The names of the pool's machines, in instance order: what its nodes are called in real mode, so
 * that `kubectl get nodes` and Machines_List agree. Brings the pool's instance record in line with
 * its count first (a scale changed it).
 */
export function poolMachineNames(store: ResourceStore, cluster: StoredResource, pool: StoredResource): string[] {
  const scaleSet = scaleSetName(cluster, pool);
  return syncMachineSet({ store }, cluster, pool).instances.map((instance) => machineName(scaleSet, instance));
}

function poolOf({ engine }: Context, subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string) {
  const cluster = engine.getCluster(subscriptionId, resourceGroup, clusterName);
  return { cluster, pool: engine.getPool(subscriptionId, resourceGroup, clusterName, poolName) };
}

export function listMachines(ctx: Context, subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string): Record<string, any>[] {
  const { cluster, pool } = poolOf(ctx, subscriptionId, resourceGroup, clusterName, poolName);
  return syncMachineSet(ctx, cluster, pool).instances.map((i) => machineView(cluster, pool, i));
}

export function getMachine(ctx: Context, subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, machine: string): Record<string, any> {
  const found = listMachines(ctx, subscriptionId, resourceGroup, clusterName, poolName).find((m) => m.name.toLowerCase() === machine.toLowerCase());
  if (!found) throw notFound(`Machine '${machine}' was not found in agent pool '${poolName}' of managed cluster '${clusterName}'.`);
  return found;
}

/**
 * Deletes the named machines and lowers the pool's count by as many; the other machines keep their
 * names. Every name must be a machine of the pool, and a System pool keeps at least one node.
 */
export function deleteMachines(ctx: Context, subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string, machineNames: string[]): OperationRecord {
  const { engine, store } = ctx;
  engine.backend.checkAvailable?.();
  const { cluster, pool } = poolOf(ctx, subscriptionId, resourceGroup, clusterName, poolName);
  engine.assertClusterIdle(cluster);
  assertNotStopped(cluster);
  const set = syncMachineSet(ctx, cluster, pool);
  const scaleSet = scaleSetName(cluster, pool);
  const doomed = new Set(machineNames.map((n) => n.toLowerCase()));
  const known = new Set(set.instances.map((i) => machineName(scaleSet, i).toLowerCase()));
  const unknown = machineNames.filter((n) => !known.has(n.toLowerCase()));
  if (doomed.size === 0) throw badRequest("InvalidParameter", "The request must name at least one machine in machineNames.", "machineNames");
  if (unknown.length) {
    throw badRequest(
      "InvalidParameter",
      `Machine(s) ${unknown.map((n) => `'${n}'`).join(", ")} not found in agent pool '${pool.body.name}'. Use 'az aks machine list' to see the machines of the agent pool.`,
      "machineNames",
    );
  }
  const properties = pool.body.properties;
  const count = set.instances.length - doomed.size;
  if (properties.mode === "System" && count < 1) {
    throw badRequest("InvalidParameter", `Deleting these machines would leave System agent pool '${pool.body.name}' with no nodes; a System pool needs at least 1 node.`, "machineNames");
  }

  putMachineSet(ctx, pool, { ...set, instances: set.instances.filter((i) => !doomed.has(machineName(scaleSet, i).toLowerCase())) });
  const updated = engine.putPoolRecord(cluster, { ...pool.body, properties: { ...properties, count, provisioningState: "Scaling", eTag: randomUUID() } });
  return engine.runOperation({
    locks: [updated],
    subscriptionId,
    location: cluster.body.location,
    action: "DeleteMachines",
    work: () => engine.backend.applyAgentPool(engine.clusterRef(cluster), poolRef(updated, store)),
    onSuccess: () => engine.setState(updated.id, "Succeeded"),
    onFailure: (error) => engine.setState(updated.id, "Failed", error),
  });
}

/**
 * Moves the pool's nodes to the newest node image of the catalogue. The pool reads
 * UpgradingNodeImageVersion meanwhile; the operation's Location answers the upgraded pool.
 */
export function upgradeNodeImageVersion(ctx: Context, subscriptionId: string, resourceGroup: string, clusterName: string, poolName: string) {
  const { engine, store } = ctx;
  engine.backend.checkAvailable?.();
  const { cluster, pool } = poolOf(ctx, subscriptionId, resourceGroup, clusterName, poolName);
  engine.assertClusterIdle(cluster);
  assertNotStopped(cluster);
  engine.setState(pool.id, "UpgradingNodeImageVersion");
  let upgraded: Record<string, any> | undefined;
  // The final pool, computed once: the operation's result and the stored pool are the same body.
  const finalBody = () => {
    const current = store.get(pool.id)!.body;
    const latest = nodeImageVersion(current.properties.osSKU, "latest");
    return (upgraded ??= { ...current, properties: { ...current.properties, nodeImageVersion: latest, provisioningState: "Succeeded", eTag: randomUUID() } });
  };
  const operation = engine.runOperation({
    locks: [pool],
    subscriptionId,
    location: cluster.body.location,
    action: "UpgradeNodeImageVersion",
    work: () => engine.backend.applyAgentPool(engine.clusterRef(cluster), poolRef(pool, store)),
    onSuccess: () => {
      const current = store.get(pool.id);
      if (current) store.put({ ...current, body: finalBody(), etag: finalBody().properties.eTag });
    },
    onFailure: (error) => engine.setState(pool.id, "Failed", error),
    result: () => ({ status: 200, body: finalBody() }),
  });
  return { pool: store.get(pool.id)!, operation };
}
