// Private link. A private cluster (apiServerAccessProfile.enablePrivateCluster) exposes one private
// link resource, `management` (its API server), whose private link service id ResolvePrivateLinkServiceId
// answers. Private endpoint connections are made by Microsoft.Network when someone creates a private
// endpoint to that resource, never through this API: a cluster starts with none, Update (PUT) only
// changes the state of an existing one (404 otherwise), Delete removes one.
import { errors } from "../../arm/errors.js";
import type { HandlerServices, OperationHandlers } from "../contract.js";
import { stableGuid, type ResourceRecord } from "../../engine/model.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

const MANAGEMENT = "management";

export const privateEndpointConnection: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/privateEndpointConnections",
  parent: "cluster",
  label: "PrivateEndpointConnection",
  notFound: (name, cluster) => errors.privateEndpointConnectionNotFound(name, cluster.body.name),
  build: ({ request }) => ({
    // served with the type Microsoft's examples show
    type: "Microsoft.Network/privateLinkServices/privateEndpointConnections",
    properties: { privateEndpoint: request.properties.privateEndpoint, privateLinkServiceConnectionState: request.properties.privateLinkServiceConnectionState, provisioningState: "Succeeded" },
  }),
};

const isPrivate = (cluster: ResourceRecord) => cluster.body.properties.apiServerAccessProfile?.enablePrivateCluster === true;

function managementLinkResource(cluster: ResourceRecord) {
  const location = String(cluster.body.location).toLowerCase();
  return {
    id: `${cluster.id}/privateLinkResources/${MANAGEMENT}`,
    name: MANAGEMENT,
    type: "Microsoft.ContainerService/managedClusters/privateLinkResources",
    groupId: MANAGEMENT,
    requiredMembers: [MANAGEMENT],
    // the API server's private link service lives in a subscription AKS owns
    privateLinkServiceID: `/subscriptions/${stableGuid(cluster.id, "private-link-subscription")}/resourceGroups/hcp-underlay-${location}/providers/Microsoft.Network/privateLinkServices/${cluster.body.name}-${stableGuid(cluster.id, "private-link-service").slice(0, 8)}`,
  };
}

/**
 * What Microsoft.Network does when a private endpoint targeting the cluster's `management` resource
 * is created: AKS then lists a connection for it. Not reachable through the AKS API (by design).
 */
export function recordPrivateEndpointConnection({ engine }: HandlerServices, cluster: ResourceRecord, privateEndpointId: string, status = "Approved"): ResourceRecord {
  if (!isPrivate(cluster)) throw errors.clusterNotPrivate(cluster.body.name);
  const name = `${privateEndpointId.split("/").at(-1)}.${stableGuid(privateEndpointId, "connection")}`;
  const request = { properties: { privateEndpoint: { id: privateEndpointId }, privateLinkServiceConnectionState: { status, description: "Auto-approved" } } };
  return engine.children.put(cluster, privateEndpointConnection, name, request, { principal: { id: "Microsoft.Network", type: "Application" } }).resource;
}

const crud = childHandlers(privateEndpointConnection, "privateEndpointConnectionName");

export const privateLinkHandlers = {
  PrivateEndpointConnections_Get: crud.get,

  PrivateEndpointConnections_List: (req, { engine }) => {
    const { children } = engine;
    return { status: 200, body: { value: children.list(children.parentOf(privateEndpointConnection, req.params), privateEndpointConnection).map((c) => c.body) } };
  },

  PrivateEndpointConnections_Update: (req, { engine }) => {
    const { children } = engine;
    const cluster = children.parentOf(privateEndpointConnection, req.params);
    // `properties` is optional in the spec (the state inside it is required): a body without it is
    // refused, after the 404 of a missing connection, rather than crashing (found by fuzzing).
    const state = req.body.properties?.privateLinkServiceConnectionState;
    const updated = children.update(cluster, privateEndpointConnection, req.params.privateEndpointConnectionName, req, (body) => {
      if (!state) throw errors.connectionStateRequired();
      return { ...body, properties: { ...body.properties, privateLinkServiceConnectionState: state } };
    });
    return { status: 200, body: updated.body };
  },

  // long-running, but the spec's answer is 200 (with Azure-AsyncOperation), not 202
  PrivateEndpointConnections_Delete: (req, { engine }) => {
    const { children } = engine;
    const cluster = children.parentOf(privateEndpointConnection, req.params);
    const operation = children.deleteLongRunning(cluster, privateEndpointConnection, req.params.privateEndpointConnectionName);
    if (!operation) return { status: 204 };
    return { status: 200, longRunning: operation };
  },

  PrivateLinkResources_List: (req, { engine }) => {
    const cluster = engine.children.parentOf(privateEndpointConnection, req.params);
    return { status: 200, body: { value: isPrivate(cluster) ? [managementLinkResource(cluster)] : [] } };
  },

  ResolvePrivateLinkServiceId_POST: (req, { engine }) => {
    const cluster = engine.children.parentOf(privateEndpointConnection, req.params);
    const name: string | undefined = req.body?.name;
    if (!name) throw errors.privateLinkNameRequired();
    if (!isPrivate(cluster) || name.toLowerCase() !== MANAGEMENT) {
      throw errors.privateLinkResourceNotFound(name, cluster.body.name, isPrivate(cluster));
    }
    return { status: 200, body: managementLinkResource(cluster) };
  },
} satisfies Partial<OperationHandlers>;
