// Managed clusters: CreateOrUpdate, Get, Delete, List (subscription, resource group), UpdateTags.
import { lroHeaders } from "../arm/lro.js";
import { page } from "../arm/paging.js";
import type { Handler } from "./contract.js";

export const managedClusterHandlers = {
  ManagedClusters_Get: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return { status: 200, body: engine.clusterView(engine.getCluster(subscriptionId, resourceGroupName, resourceName)) };
  },

  ManagedClusters_List: (req, { engine }) => {
    return { status: 200, body: page(req, engine.listClusters(req.params.subscriptionId), (c) => engine.clusterView(c)) };
  },

  ManagedClusters_ListByResourceGroup: (req, { engine }) => {
    const clusters = engine.listClusters(req.params.subscriptionId, req.params.resourceGroupName);
    return { status: 200, body: page(req, clusters, (c) => engine.clusterView(c)) };
  },

  ManagedClusters_CreateOrUpdate: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    // A PUT at an older version keeps what a newer one set and this one cannot express.
    const existing = engine.findCluster(subscriptionId, resourceGroupName, resourceName);
    const body = existing && req.document ? req.document.carryForward(req.operationId, req.body, engine.clusterView(existing)) : req.body;
    const { created, cluster, operation } = engine.putCluster(subscriptionId, resourceGroupName, resourceName, body as Record<string, any>, req, req.headers);
    return {
      status: created ? 201 : 200,
      headers: lroHeaders(req.baseUrl, operation, req.apiVersion),
      body: engine.clusterView(cluster),
    };
  },

  ManagedClusters_UpdateTags: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const { cluster, operation } = engine.updateClusterTags(subscriptionId, resourceGroupName, resourceName, req.body?.tags, req, req.headers);
    return { status: 200, headers: lroHeaders(req.baseUrl, operation, req.apiVersion), body: engine.clusterView(cluster) };
  },

  ManagedClusters_Delete: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const operation = engine.deleteCluster(subscriptionId, resourceGroupName, resourceName, req.headers);
    if (!operation) return { status: 204 };
    return { status: 202, headers: lroHeaders(req.baseUrl, operation, req.apiVersion, { asyncOperation: true, location: true }) };
  },
} satisfies Record<string, Handler>;
