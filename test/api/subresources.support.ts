// Shared by the sub-resource suites: the api-versions they run at, and a cluster as a user creates it.
import type { ManagedCluster } from "@azure/arm-containerservice";
import { expect } from "vitest";
import { API_VERSIONS, clusterPath, type RecordingClient } from "../support/sdk.js";

export const LOCATION = "eastus";

export const VERSIONS = API_VERSIONS;

export async function createCluster(sdk: RecordingClient, resourceGroup: string, name: string, overrides: Partial<ManagedCluster> = {}): Promise<ManagedCluster> {
  const cluster = await sdk.client.managedClusters.createOrUpdate(resourceGroup, name, {
    location: LOCATION,
    identity: { type: "SystemAssigned" },
    agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_D2s_v3", mode: "System" }],
    ...overrides,
  });
  expect(cluster.provisioningState).toBe("Succeeded");
  return cluster;
}

export const childPath = (resourceGroup: string, cluster: string, collection: string, name: string, apiVersion: string) =>
  `${clusterPath(resourceGroup, cluster)}/${collection}/${name}?api-version=${apiVersion}`;
