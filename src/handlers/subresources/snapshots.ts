// Node pool snapshots: tracked resources of a resource group, taken from an existing agent pool whose
// versions, OS and VM size they record. Synchronous PUT (201/200) and DELETE (200/204), Get, List
// (subscription, resource group), UpdateTags.
import { badRequest, resourceNotFound } from "../../arm/errors.js";
import { page } from "../../arm/paging.js";
import type { Handler } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

const SNAPSHOT_TYPE = "Microsoft.ContainerService/snapshots";
const SOURCE = "properties.creationData.sourceResourceId";

export const snapshot: ChildKind = {
  type: SNAPSHOT_TYPE,
  parent: "resourceGroup",
  label: "Snapshot",
  notFound: (name, group) => resourceNotFound(SNAPSHOT_TYPE, name, group.body.name),
  build: ({ name, request, previous, agentPool }) => {
    const sourceId: string | undefined = request.properties?.creationData?.sourceResourceId;
    const common = { location: previous?.location ?? request.location, ...(request.tags !== undefined ? { tags: request.tags } : {}) };
    if (previous) {
      // A snapshot records its pool as it was: an update changes tags, never what was captured.
      const before = previous.properties.creationData.sourceResourceId as string;
      if (sourceId && sourceId.toLowerCase() !== before.toLowerCase()) {
        throw badRequest("InvalidParameter", `The source of snapshot '${name}' cannot change from '${before}' to '${sourceId}'.`, SOURCE);
      }
      return { ...common, properties: previous.properties };
    }
    if (!sourceId) throw badRequest("InvalidParameter", `Snapshot '${name}' needs ${SOURCE}: the id of the agent pool to take it from.`, SOURCE);
    const pool = agentPool(sourceId);
    if (!pool) {
      throw badRequest("InvalidParameter", `The source resource '${sourceId}' of snapshot '${name}' was not found: it must be the id of an existing agent pool.`, SOURCE);
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

const crud = childHandlers(snapshot, "resourceName", "sync");

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
} satisfies Record<string, Handler>;
