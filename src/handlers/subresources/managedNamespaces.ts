// Managed namespaces: Kubernetes namespaces managed through ARM. Long-running PUT and DELETE, Get,
// List, Update (PATCH tags) and ListCredential: the cluster user's kubeconfig with its context
// scoped to the namespace.
import { createRequire } from "node:module";
import { errors } from "../../arm/errors.js";
import type { OperationHandlers } from "../contract.js";
import { kubeconfigNames } from "../../engine/kubeconfig.js";
import type { ChildKind } from "../../engine/subresources.js";
import { newUuid } from "../../util.js";
import { childHandlers } from "./crud.js";

// yaml (about 25 ms to load) loads on the first namespace kubeconfig, not at start-up.
const yaml = (): typeof import("yaml") => createRequire(import.meta.url)("yaml") as typeof import("yaml");

/** A Kubernetes namespace name: an RFC 1123 label, at most 63 characters. */
const NAMESPACE_NAME_RE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export const managedNamespace: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/managedNamespaces",
  parent: "cluster",
  label: "ManagedNamespace",
  notFound: (name, cluster) => errors.managedNamespaceNotFound(name, cluster.body.name),
  build: ({ name, parent, request, previous }) => {
    // The spec's pattern for the name is unanchored (any name with one letter fits it): a namespace
    // name is a Kubernetes one, an RFC 1123 label, or nothing is stored.
    if (!NAMESPACE_NAME_RE.test(name)) throw errors.managedNamespaceNameInvalid(name);
    const { provisioningState, portalFqdn, ...requested } = request.properties ?? {};
    return {
      location: previous?.location ?? request.location ?? parent.body.location,
      ...(request.tags !== undefined ? { tags: request.tags } : {}),
      eTag: newUuid(),
      properties: {
        // AKS's defaults: same-namespace ingress, open egress; never adopt an existing namespace, keep it on delete
        adoptionPolicy: "Never",
        deletePolicy: "Keep",
        ...requested,
        defaultNetworkPolicy: { ingress: "AllowSameNamespace", egress: "AllowAll", ...requested.defaultNetworkPolicy },
        portalFqdn: parent.body.properties.azurePortalFQDN,
      },
    };
  },
};

const crud = childHandlers(managedNamespace, "managedNamespaceName");

export const managedNamespaceHandlers = {
  ManagedNamespaces_Get: crud.get,
  ManagedNamespaces_ListByManagedCluster: crud.list,
  ManagedNamespaces_CreateOrUpdate: crud.put,
  ManagedNamespaces_Delete: crud.delete,
  ManagedNamespaces_Update: crud.updateTags,

  ManagedNamespaces_ListCredential: async (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, managedNamespaceName } = req.params;
    const { children } = engine;
    const cluster = children.parentOf(managedNamespace, req.params);
    const namespace = children.get(cluster, managedNamespace, managedNamespaceName);
    // The cluster user's kubeconfig (named as AKS names it), with every context set to the namespace.
    const kubeconfig = yaml().parse(await engine.credentials(subscriptionId, resourceGroupName, resourceName, "user"));
    for (const entry of kubeconfig.contexts ?? []) entry.context = { ...entry.context, namespace: namespace.body.name };
    const value = Buffer.from(yaml().stringify(kubeconfig)).toString("base64");
    return { status: 200, body: { kubeconfigs: [{ name: kubeconfigNames.user, value }] } };
  },
} satisfies Partial<OperationHandlers>;
