// Managed clusters: CreateOrUpdate, Get, Delete, List (subscription, resource group), UpdateTags.
import { page } from "../arm/paging.js";
import type { OperationHandlers } from "./contract.js";
import type { components } from "../../generated/types/newest.js";

// The engine's cluster view is an untyped record (Record<string, any>), served as the spec's
// ManagedCluster: the one cast between the engine's view and the generated types.
const served = (view: Record<string, any>) => view as components["schemas"]["ManagedCluster"];

export const managedClusterHandlers = {
  ManagedClusters_Get: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return { status: 200, body: served(engine.clusterView(engine.getCluster(subscriptionId, resourceGroupName, resourceName))) };
  },

  ManagedClusters_List: (req, { engine }) => {
    return { status: 200, body: page(req, engine.listClusters(req.params.subscriptionId), (c) => served(engine.clusterView(c))) };
  },

  ManagedClusters_ListByResourceGroup: (req, { engine }) => {
    const clusters = engine.listClusters(req.params.subscriptionId, req.params.resourceGroupName);
    return { status: 200, body: page(req, clusters, (c) => served(engine.clusterView(c))) };
  },

  ManagedClusters_CreateOrUpdate: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    // A PUT at an older version keeps what a newer one set and this one cannot express.
    const existing = engine.findCluster(subscriptionId, resourceGroupName, resourceName);
    const body = existing && req.document ? req.document.carryForward(req.operationId, req.body, engine.clusterView(existing)) : req.body;
    const { created, cluster, operation } = engine.putCluster(subscriptionId, resourceGroupName, resourceName, body as Record<string, any>, req, req.headers);
    // The answer shows the cluster of the moment (Creating, Updating), which the operation replaces at
    // once: its view is not kept (after a fleet's creates, the last thousand views kept for nothing).
    return { status: created ? 201 : 200, longRunning: operation, body: served(engine.clusterView(cluster, { keep: false })) };
  },

  ManagedClusters_UpdateTags: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const { cluster, operation } = engine.updateClusterTags(subscriptionId, resourceGroupName, resourceName, req.body?.tags, req, req.headers);
    return { status: 200, longRunning: operation, body: served(engine.clusterView(cluster, { keep: false })) };
  },

  ManagedClusters_Delete: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const operation = engine.deleteCluster(subscriptionId, resourceGroupName, resourceName, req.headers);
    if (!operation) return { status: 204 };
    return { status: 202, longRunning: operation };
  },
} satisfies Partial<OperationHandlers>;
