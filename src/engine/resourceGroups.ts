// Resource groups (Microsoft.Resources/resourceGroups): what the platform's ARM endpoints do with
// them, and the cascade of a group's delete through its clusters. The platform checks the shape of
// a request; the refusals that depend on what is stored (a group being deleted, a location that
// cannot change) are here.
import { errors } from "../arm/errors.js";
import type { OperationRecord } from "../arm/lro.js";
import type { PageReader } from "../arm/paging.js";
import { pageReader, type StoredResource } from "../store/store.js";
import type { EngineCore } from "./core.js";
import { assertValidTags, CLUSTER_TYPE, normaliseLocation, RESOURCE_GROUP_TYPE, resourceGroupBody, resourceGroupId } from "./model.js";

export interface ResourceGroupInput {
  location: string;
  tags?: Record<string, string>;
  managedBy?: string;
}

export interface ResourceGroupPatch {
  /** null: no tags. */
  tags?: Record<string, string> | null;
  managedBy?: string;
}

export class ResourceGroups {
  constructor(private readonly core: EngineCore) {}

  /** The group, or undefined when there is none. */
  find(subscriptionId: string, resourceGroup: string): StoredResource | undefined {
    return this.core.store.get(resourceGroupId(subscriptionId, resourceGroup));
  }

  /** The group; ResourceGroupNotFound when there is none. */
  get(subscriptionId: string, resourceGroup: string): StoredResource {
    const group = this.find(subscriptionId, resourceGroup);
    if (!group) throw errors.resourceGroupNotFound(resourceGroup);
    return group;
  }

  /** The subscription's groups as a page source: the store reads one page at a time, after the last one. */
  list(subscriptionId: string): PageReader<StoredResource> {
    const { store } = this.core;
    return pageReader(store, (range) => store.listByType(subscriptionId, RESOURCE_GROUP_TYPE, range));
  }

  /** ResourceGroups_CreateOrUpdate: a group keeps its name's casing and its location; tags and managedBy are replaced. */
  put(subscriptionId: string, resourceGroup: string, input: ResourceGroupInput): { created: boolean; group: StoredResource } {
    const { core } = this;
    assertValidTags(input.tags); // ARM's tag limits hold for groups as for every resource
    return core.transaction(() => {
      const existing = this.find(subscriptionId, resourceGroup);
      if (existing?.body.properties?.provisioningState === "Deleting") {
        throw errors.resourceGroupBeingDeleted(existing.body.name);
      }
      if (existing && normaliseLocation(existing.body.location) !== normaliseLocation(input.location)) {
        throw errors.resourceGroupLocationConflict(input.location, existing.body.location);
      }
      const name = existing?.body.name ?? resourceGroup;
      const id = existing?.id ?? resourceGroupId(subscriptionId, resourceGroup);
      const body = resourceGroupBody(id, name, existing?.body.location ?? input.location, input.tags ?? {}, input.managedBy);
      return { created: !existing, group: core.putResourceGroupRecord(subscriptionId, body) };
    });
  }

  /** ResourceGroups_Update (PATCH): tags (replaced whole) and managedBy, when sent. */
  update(subscriptionId: string, resourceGroup: string, patch: ResourceGroupPatch): StoredResource {
    const { core } = this;
    assertValidTags(patch.tags);
    return core.transaction(() => {
      const group = this.get(subscriptionId, resourceGroup);
      const body = { ...group.body, ...(patch.tags !== undefined ? { tags: patch.tags ?? {} } : {}), ...(patch.managedBy !== undefined ? { managedBy: patch.managedBy } : {}) };
      const updated = { ...group, body };
      core.store.put(updated);
      return updated;
    });
  }

  /** Deletes a resource group and everything in it; its clusters are torn down through the backend. Undefined when there is none. */
  delete(subscriptionId: string, resourceGroup: string): OperationRecord | undefined {
    const { core } = this;
    return core.transaction(() => {
      const group = this.find(subscriptionId, resourceGroup);
      if (!group) return undefined;
      core.assertIdle(group);
      const clusters = core.store.children(group.id, CLUSTER_TYPE);
      for (const cluster of clusters) core.assertClusterIdle(cluster);
      core.store.put({ ...group, body: { ...group.body, properties: { ...group.body.properties, provisioningState: "Deleting" } } });
      return core.runOperation({
        locks: [group, ...clusters],
        subscriptionId,
        location: group.body.location,
        provider: "Microsoft.Resources",
        action: "DeleteResourceGroup",
        work: async () => {
          for (const cluster of clusters) await core.backend.deleteCluster(core.clusterRef(cluster));
        },
        onSuccess: () => core.removeTree(group.id),
        onFailure: (error) => core.setState(group.id, "Failed", error),
      });
    });
  }
}
