// Node pool snapshots: tracked resources of a resource group, taken from an existing agent pool whose
// versions, OS and VM size they record. Synchronous PUT (201/200) and DELETE (200/204), Get, List
// (subscription, resource group), UpdateTags.
import { errors } from "../../arm/errors.js";
import { isAzureRegion } from "../../arm/locations.js";
import { page } from "../../arm/paging.js";
import type { OperationHandlers } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

const SNAPSHOT_TYPE = "Microsoft.ContainerService/snapshots";

export const snapshot: ChildKind = {
  type: SNAPSHOT_TYPE,
  parent: "resourceGroup",
  label: "Snapshot",
  notFound: (name, group) => errors.resourceNotFound(SNAPSHOT_TYPE, name, group.body.name),
  build: ({ name, request, previous, agentPool }) => {
    const sourceId: string | undefined = request.properties?.creationData?.sourceResourceId;
    if (!previous && typeof request.location === "string" && !isAzureRegion(request.location)) throw errors.locationNotAvailableForResourceType(request.location, SNAPSHOT_TYPE);
    const common = { location: previous?.location ?? request.location, ...(request.tags !== undefined ? { tags: request.tags } : {}) };
    if (previous) {
      // A snapshot records its pool as it was: an update changes tags, never what was captured.
      const before = previous.properties.creationData.sourceResourceId as string;
      if (sourceId && sourceId.toLowerCase() !== before.toLowerCase()) {
        throw errors.snapshotSourceChange(name, before, sourceId);
      }
      return { ...common, properties: previous.properties };
    }
    if (!sourceId) throw errors.snapshotSourceRequired(name);
    const pool = agentPool(sourceId);
    if (!pool) {
      throw errors.snapshotSourceNotFound(sourceId, name);
    }
    const p = pool.body.properties;
    return {
      ...common,
      properties: {
        creationData: { sourceResourceId: pool.id },
        snapshotType: "NodePool",
        kubernetesVersion: p.currentOrchestratorVersion ?? p.orchestratorVersion,
        nodeImageVersion: p.nodeImageVersion,
        osType: p.osType,
        osSku: p.osSKU,
        vmSize: p.vmSize,
        enableFIPS: p.enableFIPS ?? false,
      },
    };
  },
};

const crud = childHandlers(snapshot, "resourceName");

export const snapshotHandlers = {
  Snapshots_Get: crud.get,
  Snapshots_ListByResourceGroup: crud.list,
  Snapshots_CreateOrUpdate: crud.put,
  Snapshots_Delete: crud.delete,
  Snapshots_UpdateTags: crud.updateTags,
  Snapshots_List: (req, { engine }) => {
    const snapshots = engine.children.listInSubscription(req.params.subscriptionId, snapshot);
    return { status: 200, body: page(req, snapshots, (s) => s.body) };
  },
} satisfies Partial<OperationHandlers>;
