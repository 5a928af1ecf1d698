// Trusted access: the roles other Azure services may be bound to in a cluster (a per-location
// catalogue), and the cluster's role bindings (long-running PUT and DELETE, Get, List). A binding
// names its source resource and roles qualified by that resource's type, e.g.
// "Microsoft.MachineLearningServices/workspaces/mlworkload"; roles the catalogue does not list for the
// source's type are refused.
import { errors } from "../../arm/errors.js";
import { page } from "../../arm/paging.js";
import type { OperationHandlers } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

const rule = (verbs: string[], apiGroups: string[], resources: string[]): Rule => ({ verbs, apiGroups, resources, resourceNames: [], nonResourceURLs: [] });
const READ = ["get", "list", "watch"];

/** The roles AKS offers in every location (Kubernetes ClusterRole rules). */
export const TRUSTED_ACCESS_ROLES: { sourceResourceType: string; name: string; rules: Rule[] }[] = [
  {
    sourceResourceType: "Microsoft.MachineLearningServices/workspaces",
    name: "mlworkload",
    rules: [rule(["*"], ["", "apps", "batch", "amlarc.azureml.com"], ["*"]), rule(READ, [""], ["nodes", "namespaces"])],
  },
  {
    sourceResourceType: "Microsoft.MachineLearningServices/workspaces",
    name: "inference-v1",
    rules: [rule(READ, [""], ["pods", "services", "endpoints", "configmaps"]), rule(["get", "create", "update", "patch", "delete"], ["apps"], ["deployments"])],
  },
  {
    sourceResourceType: "Microsoft.DataProtection/backupVaults",
    name: "backup-operator",
    rules: [rule(["*"], ["clusterbackup.dataprotection.microsoft.com", "velero.io"], ["*"]), rule(READ, [""], ["namespaces", "persistentvolumes", "persistentvolumeclaims"])],
  },
];

/** "Microsoft.Ns/type[/subtype...]" of an ARM resource id, or undefined when it is not one. */
function resourceTypeOf(id: string): string | undefined {
  const segments = id.split("/").filter(Boolean);
  const at = segments.findIndex((s) => s.toLowerCase() === "providers");
  if (at < 0 || segments.length < at + 4 || (segments.length - at - 2) % 2 !== 0) return undefined;
  const rest = segments.slice(at + 2);
  return [segments[at + 1], ...rest.filter((_, i) => i % 2 === 0)].join("/");
}

export const trustedAccessRoleBinding: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings",
  parent: "cluster",
  label: "TrustedAccessRoleBinding",
  // the spec's provisioning states have no Creating
  states: { create: "Updating", update: "Updating" },
  notFound: (name, cluster) => errors.trustedAccessRoleBindingNotFound(name, cluster.body.name),
  build: ({ request }) => {
    const { sourceResourceId, roles } = request.properties as { sourceResourceId: string; roles: string[] };
    const sourceType = resourceTypeOf(sourceResourceId);
    if (!sourceType) throw errors.trustedAccessSourceInvalid(sourceResourceId);
    const offered = TRUSTED_ACCESS_ROLES.filter((r) => r.sourceResourceType.toLowerCase() === sourceType.toLowerCase()).map((r) => `${r.sourceResourceType}/${r.name}`);
    if (roles.length === 0) throw errors.trustedAccessNoRoles();
    for (const role of roles) {
      if (!offered.some((o) => o.toLowerCase() === role.toLowerCase())) throw errors.trustedAccessRoleNotOffered(role, sourceType, offered);
    }
    return { properties: { sourceResourceId, roles } };
  },
};

const crud = childHandlers(trustedAccessRoleBinding, "trustedAccessRoleBindingName");

export const trustedAccessHandlers = {
  TrustedAccessRoles_List: (req) => ({ status: 200, body: page(req, TRUSTED_ACCESS_ROLES, (role) => role) }),
  TrustedAccessRoleBindings_Get: crud.get,
  TrustedAccessRoleBindings_List: crud.list,
  TrustedAccessRoleBindings_CreateOrUpdate: crud.put,
  TrustedAccessRoleBindings_Delete: crud.delete,
} satisfies Partial<OperationHandlers>;
