// Child resources: those under a cluster (maintenance configurations, trusted access role bindings,
// identity bindings, managed namespaces, private endpoint connections) and those under a resource
// group (node pool snapshots). An engine module (engine.children): one set of operations serves them
// all, each write one transaction; each kind only says how its body is built. Children are stored
// with their parent as parentKey, so removing the parent (a cluster or a resource group being
// deleted) takes them along.
import type { ArmError } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { PageReader } from "../arm/paging.js";
import { pageReader, type StoredResource } from "../store/store.js";
import { newUuid } from "../util.js";
import type { EngineCore } from "./core.js";
import { CLUSTER_TYPE, POOL_TYPE, RESOURCE_GROUP_TYPE, systemData, type Caller } from "./model.js";

export interface ChildKind {
  /** ARM type, e.g. "Microsoft.ContainerService/managedClusters/maintenanceConfigurations". Its last segment names the child in its id. */
  type: string;
  parent: "cluster" | "resourceGroup";
  /** Names the kind in operation records, e.g. "MaintenanceConfiguration". */
  label: string;
  /** AKS's answer for a missing child. */
  notFound(name: string, parent: StoredResource): ArmError;
  /** provisioningState while a long-running write runs (default Creating / Updating). */
  states?: { create: string; update: string };
  /**
   * What the request becomes: the body without id, name, type and systemData, which are common (a
   * kind served under another type may set `type`). `previous` is the stored body on an update.
   * Throws an ArmError to refuse the request.
   */
  build(input: BuildInput): Record<string, any>;
}

export interface BuildInput {
  name: string;
  parent: StoredResource;
  request: Record<string, any>;
  previous?: Record<string, any>;
  /** The time of the write (the engine's clock). */
  now: Date;
  /** The emulator's tenant. */
  tenantId: string;
  /** The agent pool with this id, when there is one (a snapshot's source). */
  agentPool(id: string): StoredResource | undefined;
}

export class ChildResources {
  constructor(private readonly core: EngineCore) {}

  /**
   * The parent named by the request's path: the cluster ({resourceName}) or the resource group. A
   * missing one answers its own 404 (ResourceNotFound, or ResourceGroupNotFound).
   */
  parentOf(kind: ChildKind, params: Record<string, string>): StoredResource {
    if (kind.parent === "resourceGroup") return this.core.requireResourceGroup(params.subscriptionId, params.resourceGroupName);
    return this.core.getCluster(params.subscriptionId, params.resourceGroupName, params.resourceName);
  }

  childId(parent: StoredResource, kind: ChildKind, name: string): string {
    if (parent.type === RESOURCE_GROUP_TYPE) return `${parent.id}/providers/${kind.type}/${name}`;
    return `${parent.id}/${kind.type.split("/").at(-1)}/${name}`;
  }

  find(parent: StoredResource, kind: ChildKind, name: string): StoredResource | undefined {
    return this.core.store.get(this.childId(parent, kind, name));
  }

  get(parent: StoredResource, kind: ChildKind, name: string): StoredResource {
    const child = this.find(parent, kind, name);
    if (!child) throw kind.notFound(name, parent);
    return child;
  }

  list(parent: StoredResource, kind: ChildKind): StoredResource[] {
    return this.core.store.children(parent.id, kind.type);
  }

  /** The parent's children of a kind as a page source: the store reads one page at a time, after the last one. */
  pages(parent: StoredResource, kind: ChildKind): PageReader<StoredResource> {
    const { store } = this.core;
    return pageReader(store, (range) => store.children(parent.id, kind.type, range));
  }

  /** The subscription's resources of a kind as a page source (Snapshots_List). */
  listInSubscription(subscriptionId: string, kind: ChildKind): PageReader<StoredResource> {
    const { store } = this.core;
    return pageReader(store, (range) => store.listByType(subscriptionId, kind.type, range));
  }

  /** Creates or replaces a child at once (a synchronous PUT). */
  put(parent: StoredResource, kind: ChildKind, name: string, request: Record<string, any> | undefined, caller: Caller): { created: boolean; resource: StoredResource } {
    const { core } = this;
    return core.transaction(() => {
      const existing = this.assertWritable(parent, kind, name);
      const now = core.clock.now();
      const built = kind.build({
        name: existing?.body.name ?? name,
        parent,
        request: request ?? {},
        previous: existing?.body,
        now,
        tenantId: core.config.tenantId,
        agentPool: (id) => {
          const pool = core.store.get(id);
          return pool?.type === POOL_TYPE ? pool : undefined;
        },
      });
      const body: Record<string, any> = {
        id: existing?.id ?? this.childId(parent, kind, name),
        name: existing?.body.name ?? name,
        type: kind.type,
        ...built,
        systemData: systemData(caller.principal, now, existing?.body.systemData),
      };
      const resource: StoredResource = { id: body.id, type: kind.type, parentKey: parent.id.toLowerCase(), subscriptionId: parent.subscriptionId, body, etag: body.eTag ?? newUuid() };
      core.store.put(resource);
      return { created: !existing, resource };
    });
  }

  /**
   * A long-running PUT: the child reads Creating/Updating in the 201/200, and Succeeded once the
   * operation ends. With `resultAtLocation`, the operation's Location URL answers the final resource
   * (final-state-via: location).
   */
  putLongRunning(parent: StoredResource, kind: ChildKind, name: string, request: Record<string, any> | undefined, caller: Caller, resultAtLocation = false) {
    const { core } = this;
    return core.transaction(() => {
      const states = kind.states ?? { create: "Creating", update: "Updating" };
      const { created, resource } = this.put(parent, kind, name, request, caller);
      core.setState(resource.id, created ? states.create : states.update);
      const operation = this.run(parent, resource, created ? `Create${kind.label}` : `Update${kind.label}`, () => core.setState(resource.id, "Succeeded"), resultAtLocation);
      return { created, resource: core.store.get(resource.id)!, operation };
    });
  }

  /** Applies `change` to a stored child (PATCH tags, a connection's state), keeping who created it. */
  update(parent: StoredResource, kind: ChildKind, name: string, caller: Caller, change: (body: Record<string, any>) => Record<string, any>): StoredResource {
    const { core } = this;
    return core.transaction(() => {
      this.assertWritable(parent, kind, name);
      const existing = this.get(parent, kind, name);
      const body: Record<string, any> = { ...change(existing.body), systemData: systemData(caller.principal, core.clock.now(), existing.body.systemData) };
      if (body.eTag !== undefined) body.eTag = newUuid();
      const resource = { ...existing, body, etag: body.eTag ?? newUuid() };
      core.store.put(resource);
      return resource;
    });
  }

  /** A synchronous DELETE: false when there was nothing to delete. */
  delete(parent: StoredResource, kind: ChildKind, name: string): boolean {
    const { core } = this;
    return core.transaction(() => {
      const existing = this.assertWritable(parent, kind, name);
      if (!existing) return false;
      core.removeTree(existing.id);
      return true;
    });
  }

  /** A long-running DELETE: the child reads Deleting until the operation ends; undefined when missing. */
  deleteLongRunning(parent: StoredResource, kind: ChildKind, name: string): OperationRecord | undefined {
    const { core } = this;
    return core.transaction(() => {
      const existing = this.assertWritable(parent, kind, name);
      if (!existing) return undefined;
      core.setState(existing.id, "Deleting");
      return this.run(parent, existing, `Delete${kind.label}`, () => core.removeTree(existing.id));
    });
  }

  /**
   * Writes wait for the parent: 409 while the cluster (or one of its pools) has an operation running,
   * or while the resource group is being deleted; and for the child's own running operation.
   */
  private assertWritable(parent: StoredResource, kind: ChildKind, name: string): StoredResource | undefined {
    const { core } = this;
    if (parent.type === CLUSTER_TYPE) core.assertClusterIdle(parent);
    else core.requireWritableResourceGroup(parent.subscriptionId, parent.body.name);
    const existing = this.find(parent, kind, name);
    if (existing) core.assertIdle(existing);
    return existing;
  }

  /** Nothing to wait for on any backend: the operation ends as soon as it has been recorded. */
  private run(parent: StoredResource, child: StoredResource, action: string, onSuccess: () => void, resultAtLocation = false): OperationRecord {
    const { core } = this;
    return core.runOperation({
      locks: [child],
      subscriptionId: parent.subscriptionId,
      location: parent.body.location,
      action,
      work: async () => {},
      onSuccess,
      onFailure: (error) => core.setState(child.id, "Failed", error),
      ...(resultAtLocation
        ? {
            // settled before onSuccess runs: serve the resource as it is about to read
            result: () => {
              const current = core.store.get(child.id);
              return current ? { status: 200, body: { ...current.body, properties: { ...current.body.properties, provisioningState: "Succeeded" } } } : { status: 204 };
            },
          }
        : {}),
    });
  }
}
