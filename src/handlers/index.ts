// Every operation of every served spec version has a handler here: the generated Handlers type makes
// the compiler refuse this object if one is missing. Operations a later stage will fill in answer a
// clear ARM error naming the operation (they are listed in notYetImplemented, and tests check it).
import { ArmError } from "../arm/errors.js";
import type { Handler } from "../api/types.js";
import type { Handlers, OperationId } from "../../generated/operations.js";
import { agentPoolHandlers } from "./agentPools.js";
import { catalogueHandlers } from "./catalogues.js";
import { credentialHandlers } from "./credentials.js";
import { lifecycleHandlers } from "./lifecycle.js";
import { managedClusterHandlers } from "./managedClusters.js";
import { subresourceHandlers } from "./subresources/index.js";
import { upgradeHandlers } from "./upgrades.js";

const notYetImplemented = (operationId: OperationId): Handler => () => {
  throw new ArmError(501, "NotImplemented", `The emulator does not implement '${operationId}' yet.`);
};

export const placeholderOperations = [
  "AgentPools_AbortLatestOperation",
  "AgentPools_DeleteMachines",
  "AgentPools_GetAvailableAgentPoolVersions",
  "AgentPools_GetUpgradeProfile",
  "AgentPools_UpgradeNodeImageVersion",
  "IdentityBindings_CreateOrUpdate",
  "IdentityBindings_Delete",
  "IdentityBindings_Get",
  "IdentityBindings_ListByManagedCluster",
  "Machines_Get",
  "Machines_List",
  "MaintenanceConfigurations_CreateOrUpdate",
  "MaintenanceConfigurations_Delete",
  "MaintenanceConfigurations_Get",
  "MaintenanceConfigurations_ListByManagedCluster",
  "ManagedClusters_AbortLatestOperation",
  "ManagedClusters_GetAccessProfile",
  "ManagedClusters_GetCommandResult",
  "ManagedClusters_GetMeshRevisionProfile",
  "ManagedClusters_GetMeshUpgradeProfile",
  "ManagedClusters_GetUpgradeProfile",
  "ManagedClusters_ListKubernetesVersions",
  "ManagedClusters_ListMeshRevisionProfiles",
  "ManagedClusters_ListMeshUpgradeProfiles",
  "ManagedClusters_ListOutboundNetworkDependenciesEndpoints",
  "ManagedClusters_ResetAADProfile",
  "ManagedClusters_ResetServicePrincipalProfile",
  "ManagedClusters_RotateClusterCertificates",
  "ManagedClusters_RotateServiceAccountSigningKeys",
  "ManagedClusters_RunCommand",
  "ManagedClusters_Start",
  "ManagedClusters_Stop",
  "ManagedNamespaces_CreateOrUpdate",
  "ManagedNamespaces_Delete",
  "ManagedNamespaces_Get",
  "ManagedNamespaces_ListByManagedCluster",
  "ManagedNamespaces_ListCredential",
  "ManagedNamespaces_Update",
  "Operations_List",
  "PrivateEndpointConnections_Delete",
  "PrivateEndpointConnections_Get",
  "PrivateEndpointConnections_List",
  "PrivateEndpointConnections_Update",
  "PrivateLinkResources_List",
  "ResolvePrivateLinkServiceId_POST",
  "Snapshots_CreateOrUpdate",
  "Snapshots_Delete",
  "Snapshots_Get",
  "Snapshots_List",
  "Snapshots_ListByResourceGroup",
  "Snapshots_UpdateTags",
  "TrustedAccessRoleBindings_CreateOrUpdate",
  "TrustedAccessRoleBindings_Delete",
  "TrustedAccessRoleBindings_Get",
  "TrustedAccessRoleBindings_List",
  "TrustedAccessRoles_List",
] as const satisfies readonly OperationId[];

type Placeholder = (typeof placeholderOperations)[number];

const placeholders = Object.fromEntries(placeholderOperations.map((id) => [id, notYetImplemented(id)])) as Record<Placeholder, Handler>;

export const aksHandlers: Handlers<Handler> = {
  ...placeholders,
  ...managedClusterHandlers,
  ...agentPoolHandlers,
  ...credentialHandlers,
  ...lifecycleHandlers,
  ...upgradeHandlers,
  ...subresourceHandlers,
  ...catalogueHandlers,
};
