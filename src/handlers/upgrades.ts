// Versions and upgrades: ListKubernetesVersions, upgrade profiles, available agent pool versions,
// UpgradeNodeImageVersion, Machines, DeleteMachines. Everything version-related reads the one
// catalogue in engine/versions.ts, so the list, the profiles and what a PUT accepts agree.
import type { OperationHandlers } from "./contract.js";
import { page } from "../arm/paging.js";
import {
  agentPoolVersions,
  compareVersions,
  isPreviewVersion,
  nodeImageVersion,
  upgradeTargets,
  versionCatalogue,
} from "../engine/versions.js";

/** Upgrade items as the profiles list them, oldest first, flagged when the target is a preview version. */
const upgradeItems = (versions: string[]) => versions.map((v) => ({ kubernetesVersion: v, ...(isPreviewVersion(v) ? { isPreview: true } : {}) }));

export const upgradeHandlers = {
  ManagedClusters_ListKubernetesVersions: () => ({
    status: 200,
    body: {
      values: versionCatalogue().map((v) => ({
        version: v.minor,
        capabilities: { supportPlan: v.supportPlan },
        ...(v.isDefault ? { isDefault: true } : {}),
        ...(v.isPreview ? { isPreview: true } : {}),
        patchVersions: Object.fromEntries(v.patches.map((p) => [p, { upgrades: upgradeTargets(p) }])),
      })),
    },
  }),

  ManagedClusters_GetUpgradeProfile: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const cluster = engine.getCluster(subscriptionId, resourceGroupName, resourceName);
    const current: string = cluster.body.properties.currentKubernetesVersion;
    return {
      status: 200,
      body: {
        id: `${cluster.id}/upgradeprofiles/default`,
        name: "default",
        type: "Microsoft.ContainerService/managedClusters/upgradeprofiles",
        properties: {
          controlPlaneProfile: { kubernetesVersion: current, osType: "Linux", upgrades: upgradeItems(upgradeTargets(current)) },
          // A cluster upgrade takes the pools along, so each pool may go where its own version leads.
          agentPoolProfiles: engine.listPools(subscriptionId, resourceGroupName, resourceName).map((p) => ({
            name: p.body.name,
            kubernetesVersion: p.body.properties.currentOrchestratorVersion,
            osType: p.body.properties.osType ?? "Linux",
            upgrades: upgradeItems(upgradeTargets(p.body.properties.currentOrchestratorVersion)),
          })),
        },
      },
    };
  },

  AgentPools_GetUpgradeProfile: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    const cluster = engine.getCluster(subscriptionId, resourceGroupName, resourceName);
    const pool = engine.getPool(subscriptionId, resourceGroupName, resourceName, agentPoolName);
    const properties = pool.body.properties;
    // A pool on its own never goes past the control plane.
    const upgrades = upgradeTargets(properties.currentOrchestratorVersion).filter((v) => compareVersions(v, cluster.body.properties.currentKubernetesVersion) <= 0);
    return {
      status: 200,
      body: {
        id: `${pool.id}/upgradeprofiles/default`,
        name: "default",
        type: "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
        properties: {
          kubernetesVersion: properties.currentOrchestratorVersion,
          osType: properties.osType ?? "Linux",
          upgrades: upgradeItems(upgrades),
          latestNodeImageVersion: nodeImageVersion(properties.osSKU, "latest"),
        },
      },
    };
  },

  AgentPools_GetAvailableAgentPoolVersions: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const cluster = engine.getCluster(subscriptionId, resourceGroupName, resourceName);
    const controlPlane: string = cluster.body.properties.currentKubernetesVersion;
    return {
      status: 200,
      body: {
        id: `${cluster.id}/availableagentpoolversions`,
        name: "default",
        type: "Microsoft.ContainerService/managedClusters/availableAgentpoolVersions",
        properties: {
          // A new pool runs the control plane's version unless told otherwise.
          agentPoolVersions: agentPoolVersions(controlPlane).map((v) => ({
            kubernetesVersion: v,
            ...(v === controlPlane ? { default: true } : {}),
            ...(isPreviewVersion(v) ? { isPreview: true } : {}),
          })),
        },
      },
    };
  },

  AgentPools_UpgradeNodeImageVersion: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    const { pool, operation } = engine.machines.upgradeNodeImageVersion(subscriptionId, resourceGroupName, resourceName, agentPoolName);
    return { status: 202, longRunning: operation, body: pool.body };
  },

  AgentPools_DeleteMachines: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    const operation = engine.machines.delete(subscriptionId, resourceGroupName, resourceName, agentPoolName, req.body?.machineNames ?? []);
    return { status: 202, longRunning: operation };
  },

  Machines_List: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    return { status: 200, body: page(req, engine.machines.pages(subscriptionId, resourceGroupName, resourceName, agentPoolName), (m) => m.machine) };
  },

  Machines_Get: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName, machineName } = req.params;
    return { status: 200, body: engine.machines.get(subscriptionId, resourceGroupName, resourceName, agentPoolName, machineName) };
  },
} satisfies Partial<OperationHandlers>;
