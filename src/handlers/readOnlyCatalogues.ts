// Read-only catalogues: the operations list, mesh revision and upgrade profiles, outbound network
// dependency endpoints, and the OS options older api-versions serve.
import { errors } from "../arm/errors.js";
import { page } from "../arm/paging.js";
import type { OperationHandlers } from "./contract.js";
import { clusterMeshProfile, isMeshMode, meshRevisionProfile, osOptionsProfile, outboundEndpoints, providerOperations } from "../engine/catalogues.js";

export const catalogueHandlers = {
  Operations_List: (req) => ({ status: 200, body: page(req, providerOperations(), (op) => op) }),

  ManagedClusters_ListMeshRevisionProfiles: (req) => {
    const { subscriptionId, location } = req.params;
    const profiles = [meshRevisionProfile(subscriptionId, location, "istio")];
    return { status: 200, body: page(req, profiles, (p) => p) };
  },

  ManagedClusters_GetMeshRevisionProfile: (req) => {
    const { subscriptionId, location, mode } = req.params;
    if (!isMeshMode(mode)) {
      throw errors.meshRevisionProfileNotFound(mode, location);
    }
    return { status: 200, body: meshRevisionProfile(subscriptionId, location, mode) };
  },

  // AKS lists a profile per mesh the cluster runs: none when serviceMeshProfile.mode is not Istio
  // (az aks mesh get-upgrades reads the list and prints nothing then).
  ManagedClusters_ListMeshUpgradeProfiles: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const profile = clusterMeshProfile(engine.getCluster(subscriptionId, resourceGroupName, resourceName));
    return { status: 200, body: page(req, profile ? [profile] : [], (p) => p) };
  },

  ManagedClusters_GetMeshUpgradeProfile: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, mode } = req.params;
    const cluster = engine.getCluster(subscriptionId, resourceGroupName, resourceName);
    if (!isMeshMode(mode)) {
      throw errors.meshUpgradeProfileNotFound(mode, cluster.body.name);
    }
    const profile = clusterMeshProfile(cluster);
    if (!profile) {
      const current = cluster.body.properties?.serviceMeshProfile?.mode ?? "Disabled";
      throw errors.meshNotIstio(mode, cluster.body.name, current);
    }
    return { status: 200, body: profile };
  },

  ManagedClusters_GetOSOptions: (req) => ({ status: 200, body: osOptionsProfile(req.params.subscriptionId, req.params.location) }),

  ManagedClusters_ListOutboundNetworkDependenciesEndpoints: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const cluster = engine.getCluster(subscriptionId, resourceGroupName, resourceName);
    const isPrivate = cluster.body.properties?.apiServerAccessProfile?.enablePrivateCluster === true;
    return { status: 200, body: page(req, outboundEndpoints(cluster.body.location, isPrivate), (e) => e) };
  },
} satisfies Partial<OperationHandlers>;
