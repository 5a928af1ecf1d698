// Identity bindings (2026-06-01): bind a user-assigned managed identity to the cluster. Long-running
// PUT (final state at the Location URL) and DELETE, Get, List. The identity's client, object and tenant
// ids and the binding's OIDC issuer are derived stably from the identity, as Azure reports them.
import { errors } from "../../arm/errors.js";
import type { OperationHandlers } from "../contract.js";
import { stableGuid } from "../../engine/model.js";
import type { ChildKind } from "../../engine/subresources.js";
import { newUuid } from "../../util.js";
import { childHandlers } from "./crud.js";

export const identityBinding: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/identityBindings",
  parent: "cluster",
  label: "IdentityBinding",
  notFound: (name, cluster) => errors.identityBindingNotFound(name, cluster.body.name),
  build: ({ name, request, previous, tenantId }) => {
    // The spec makes `properties` optional (only managedIdentity inside it is required), so a body
    // without it is well-formed: the RP refuses it, it must not crash the handler (found by fuzzing).
    const resourceId: string | undefined = request.properties?.managedIdentity?.resourceId;
    if (!resourceId) {
      throw errors.identityBindingIdentityRequired(name);
    }
    const before = previous?.properties.managedIdentity.resourceId as string | undefined;
    // managedIdentity is read/create only in the spec
    if (before && before.toLowerCase() !== resourceId.toLowerCase()) {
      throw errors.identityBindingIdentityChange(name, before, resourceId);
    }
    // The same ids the emulator gives this identity wherever it appears (a cluster's userAssignedIdentities).
    const clientId = stableGuid(resourceId, "client");
    return {
      eTag: newUuid(),
      properties: {
        managedIdentity: { resourceId: before ?? resourceId, clientId, objectId: stableGuid(resourceId, "principal"), tenantId },
        oidcIssuer: { oidcIssuerUrl: `https://ib.oic.prod-aks.azure.com/${tenantId}/${clientId}/` },
      },
    };
  },
};

const crud = childHandlers(identityBinding, "identityBindingName");

export const identityBindingHandlers = {
  IdentityBindings_Get: crud.get,
  IdentityBindings_ListByManagedCluster: crud.list,
  IdentityBindings_CreateOrUpdate: crud.put,
  IdentityBindings_Delete: crud.delete,
} satisfies Partial<OperationHandlers>;
