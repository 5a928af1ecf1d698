// Read-only catalogues AKS publishes: the provider's operation list, the Istio revisions of the
// service-mesh add-on, and the outbound network dependencies of a cluster's nodes.
import { apiVersions, operationsByVersion } from "../../generated/operations.js";
import { minorOf, versionCatalogue } from "./versions.js";

export const PROVIDER = "Microsoft.ContainerService";
const PROVIDER_DISPLAY = "Microsoft Container Service";

// ---- Operations_List ------------------------------------------------------------------------------

export interface OperationValue {
  name: string;
  display: { provider: string; resource: string; operation: string; description: string };
  origin: string;
}

/** Display names of the resource types, as the portal's access-control blade shows them. */
const RESOURCE_DISPLAY: Record<string, string> = {
  "": "Container Service",
  operations: "Available Container Service Operations",
  "locations/operations": "Operation",
  "locations/operationresults": "OperationResult",
  "locations/kubernetesVersions": "Kubernetes Versions",
  "locations/meshRevisionProfiles": "Mesh Revision Profiles",
  "locations/trustedAccessRoles": "Trusted Access Roles",
  managedClusters: "Managed Clusters",
  "managedClusters/agentPools": "Agent Pools",
  "managedClusters/agentPools/machines": "Machines",
  "managedClusters/agentPools/upgradeProfiles": "Agent Pools",
  "managedClusters/accessProfiles": "Managed Clusters",
  "managedClusters/availableAgentPoolVersions": "Managed Clusters",
  "managedClusters/commandResults": "Managed Clusters",
  "managedClusters/identityBindings": "Identity Bindings",
  "managedClusters/maintenanceConfigurations": "Maintenance Configurations",
  "managedClusters/managedNamespaces": "Managed Namespaces",
  "managedClusters/meshUpgradeProfiles": "Mesh Upgrade Profiles",
  "managedClusters/outboundNetworkDependenciesEndpoints": "Managed Clusters",
  "managedClusters/privateEndpointConnections": "Private Endpoint Connections",
  "managedClusters/privateLinkResources": "Private Link Resources",
  "managedClusters/trustedAccessRoleBindings": "Trusted Access Role Bindings",
  "managedClusters/upgradeProfiles": "UpgradeProfile",
  snapshots: "Snapshots",
};

/** operation (display name) and description for the names whose wording is not the generic one. */
const OPERATION_TEXT: Record<string, [string, string]> = {
  "operations/read": ["List Available Container Service Operations", "Lists operations available on Microsoft.ContainerService resource provider"],
  "register/action": ["Register Subscription for Container Service", "Registers Subscription with Microsoft.ContainerService resource provider"],
  "unregister/action": ["Unregister Subscription for Container Service", "Unregisters Subscription with Microsoft.ContainerService resource provider"],
  "locations/operations/read": ["Get Operation", "Gets the status of an asynchronous operation"],
  "locations/operationresults/read": ["Get Operation Result", "Gets the status of an asynchronous operation result"],
  "locations/kubernetesVersions/read": ["List Kubernetes versions", "List Kubernetes versions supported in the location"],
  "locations/meshRevisionProfiles/read": ["Read service mesh revision profiles", "Read service mesh revision profiles in a location"],
  "locations/trustedAccessRoles/read": ["Get trusted access roles", "Get the supported trusted access roles in a location"],
  "managedClusters/read": ["Get Managed Cluster", "Get a managed cluster"],
  "managedClusters/write": ["Create or Update Managed Cluster", "Creates a new managed cluster or updates an existing one"],
  "managedClusters/delete": ["Delete Managed Cluster", "Deletes a managed cluster"],
  "managedClusters/start/action": ["Start Managed Cluster", "Starts a managed cluster"],
  "managedClusters/stop/action": ["Stop Managed Cluster", "Stops a managed cluster"],
  "managedClusters/abort/action": ["Abort the latest operation", "Aborts the operation currently running on a managed cluster"],
  "managedClusters/listClusterAdminCredential/action": ["List clusterAdmin credential", "List the clusterAdmin credential of a managed cluster"],
  "managedClusters/listClusterUserCredential/action": ["List clusterUser credential", "List the clusterUser credential of a managed cluster"],
  "managedClusters/listClusterMonitoringUserCredential/action": ["List clusterMonitoringUser credential", "List the clusterMonitoringUser credential of a managed cluster"],
  "managedClusters/resetServicePrincipalProfile/action": ["Reset service principal profile", "Reset the service principal profile of a managed cluster"],
  "managedClusters/resetAADProfile/action": ["Reset AAD profile", "Reset the AAD profile of a managed cluster"],
  "managedClusters/resolvePrivateLinkServiceId/action": ["Resolve private link service id", "Resolve the private link service id of a managed cluster"],
  "managedClusters/rotateClusterCertificates/action": ["Rotate certificates of the cluster", "Rotate certificates of a managed cluster"],
  "managedClusters/rotateServiceAccountSigningKeys/action": ["Rotate service account signing keys", "Rotate the service account signing keys of a managed cluster"],
  "managedClusters/runCommand/action": ["RunCommand", "Run user issued command against managed kubernetes server."],
  "managedClusters/commandResults/read": ["CommandResult", "Retrieve result from previous issued command."],
  "managedClusters/accessProfiles/listCredential/action": ["Get Managed Cluster AccessProfile by List Credential", "Get a managed cluster access profile by role name using list credential"],
  "managedClusters/availableAgentPoolVersions/read": ["Get Available Agent Pool Versions", "Gets the available agent pool versions of the cluster"],
  "managedClusters/upgradeProfiles/read": ["Get UpgradeProfile", "Gets the upgrade profile of the cluster"],
  "managedClusters/meshUpgradeProfiles/read": ["Read service mesh upgrade profiles", "Read the service mesh upgrade profiles of a managed cluster"],
  "managedClusters/outboundNetworkDependenciesEndpoints/read": ["List outbound network dependencies endpoints", "Gets the outbound network dependencies endpoints of a managed cluster"],
  "managedClusters/agentPools/read": ["Get Agent Pool", "Gets an agent pool"],
  "managedClusters/agentPools/write": ["Create or Update Agent Pool", "Creates a new agent pool or updates an existing one"],
  "managedClusters/agentPools/delete": ["Delete Agent Pool", "Deletes an agent pool"],
  "managedClusters/agentPools/abort/action": ["Abort the latest agent pool operation", "Aborts the operation currently running on an agent pool"],
  "managedClusters/agentPools/deleteMachines/action": ["Delete machines", "Deletes specific machines of an agent pool"],
  "managedClusters/agentPools/upgradeNodeImageVersion/action": ["Upgrade agent pool node image version", "Upgrade the node image version of agent pool"],
  "managedClusters/agentPools/upgradeProfiles/read": ["Get Agent Pool UpgradeProfile", "Gets the upgrade profile of the Agent Pool"],
  "managedClusters/agentPools/machines/read": ["Get Machine", "Gets a machine of an agent pool"],
  "managedClusters/managedNamespaces/listCredential/action": ["List Managed Namespace credential", "Lists the credential of a managed namespace"],
  "managedClusters/maintenanceConfigurations/read": ["Get a maintenance configuration", "Gets a maintenance configuration"],
  "managedClusters/maintenanceConfigurations/write": ["Create or Update maintenance configuration", "Creates a new MaintenanceConfiguration or updates an existing one"],
  "managedClusters/maintenanceConfigurations/delete": ["Delete Maintenance Configuration", "Deletes a maintenance configuration"],
  "managedClusters/privateEndpointConnections/read": ["Get private endpoint connection", "Get private endpoint connection"],
  "managedClusters/privateEndpointConnections/write": ["Approve or Reject Private Endpoint Connection", "Approve or Reject Private Endpoint Connection"],
  "managedClusters/privateEndpointConnections/delete": ["Delete private endpoint connection", "Delete private endpoint connection"],
  "managedClusters/privateLinkResources/read": ["Gets private link resources", "Gets private link resources"],
  "snapshots/read": ["Get Snapshot", "Get a snapshot"],
  "snapshots/write": ["Create or Update Snapshot", "Creates a new snapshot or updates an existing one"],
  "snapshots/delete": ["Delete Snapshot", "Deletes a snapshot"],
  "managedClusters/providers/Microsoft.Insights/diagnosticSettings/read": ["Read Diagnostic Setting", "Get the diagnostic setting for a managed cluster resource"],
  "managedClusters/providers/Microsoft.Insights/diagnosticSettings/write": ["Write Diagnostic Setting", "Creates or updates the diagnostic setting for a managed cluster resource"],
  "managedClusters/providers/Microsoft.Insights/logDefinitions/read": ["Read Managed Cluster log definitions", "Gets the available logs for a managed cluster"],
  "managedClusters/providers/Microsoft.Insights/metricDefinitions/read": ["Read Managed Cluster metric definitions", "Gets the available metrics for a managed cluster"],
};

/** Names every provider publishes that are not paths of its REST spec: registration and operation status. */
const PROVIDER_EXTRAS: { name: string; origin: string }[] = [
  { name: "register/action", origin: "user,system" },
  { name: "unregister/action", origin: "user,system" },
  { name: "locations/operations/read", origin: "user,system" },
  { name: "locations/operationresults/read", origin: "user,system" },
];

/** Azure Monitor's names for a tracked resource type (diagnostic settings, log and metric definitions). */
const MONITORING_EXTRAS: { name: string; origin: string }[] = [
  { name: "managedClusters/providers/Microsoft.Insights/diagnosticSettings/read", origin: "system" },
  { name: "managedClusters/providers/Microsoft.Insights/diagnosticSettings/write", origin: "system" },
  { name: "managedClusters/providers/Microsoft.Insights/logDefinitions/read", origin: "system" },
  { name: "managedClusters/providers/Microsoft.Insights/metricDefinitions/read", origin: "system" },
];

const VERB_ORDER = ["read", "write", "delete"];

/**
 * The RBAC operation name of a spec path and method, e.g.
 * GET .../managedClusters/{resourceName}/agentPools/{agentPoolName} -> managedClusters/agentPools/read,
 * POST .../managedClusters/{resourceName}/runCommand -> managedClusters/runCommand/action.
 * Below the provider, segments alternate type and name; a trailing odd segment is a collection type
 * (GET) or an action (POST). Names may be literals ("upgradeProfiles/default").
 */
export function operationName(method: string, path: string): string {
  const marker = `/providers/${PROVIDER}/`;
  const at = path.indexOf(marker);
  const segments = path.slice(at + marker.length).split("/").filter(Boolean);
  const types: string[] = [];
  let action: string | undefined;
  for (let i = 0; i < segments.length; i += 2) {
    const last = i === segments.length - 1;
    if (last && method.toUpperCase() === "POST") action = segments[i];
    else types.push(segments[i]);
  }
  const type = types.join("/");
  if (action) return `${type}/${action}/action`;
  const verb = ({ GET: "read", HEAD: "read", PUT: "write", PATCH: "write", DELETE: "delete" } as Record<string, string>)[method.toUpperCase()] ?? "action";
  return `${type}/${verb}`;
}

function singular(resource: string): string {
  return resource.endsWith("ies") ? `${resource.slice(0, -3)}y` : resource.endsWith("s") ? resource.slice(0, -1) : resource;
}

function humanise(type: string): string {
  const last = type.split("/").at(-1) ?? type;
  return last.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
}

function describe(name: string, origin: string): OperationValue {
  const parts = name.split("/");
  const verb = parts.at(-1)!;
  const typeParts = verb === "action" ? parts.slice(0, -2) : parts.slice(0, -1);
  const type = typeParts.join("/");
  // Azure Monitor's names on a cluster (".../managedClusters/providers/Microsoft.Insights/...") are the cluster's.
  const resource = RESOURCE_DISPLAY[type] ?? (type.startsWith("managedClusters/providers/") ? RESOURCE_DISPLAY.managedClusters : humanise(type));
  const text = OPERATION_TEXT[name];
  let operation: string;
  let description: string;
  if (text) [operation, description] = text;
  else {
    const thing = singular(resource);
    const a = /^[aeiou]/i.test(thing) ? "an" : "a";
    if (verb === "read") [operation, description] = [`Get ${thing}`, `Gets ${a} ${thing.toLowerCase()}`];
    else if (verb === "write") [operation, description] = [`Create or Update ${thing}`, `Creates a new ${thing.toLowerCase()} or updates an existing one`];
    else if (verb === "delete") [operation, description] = [`Delete ${thing}`, `Deletes ${a} ${thing.toLowerCase()}`];
    else {
      const act = humanise(parts.at(-2)!);
      [operation, description] = [`${act} ${thing}`, `${act} ${a} ${thing.toLowerCase()}`];
    }
  }
  return { name: `${PROVIDER}/${name}`, display: { provider: PROVIDER_DISPLAY, resource, operation, description }, origin };
}

let operationCatalogue: OperationValue[] | undefined;

/**
 * The provider's operation catalogue: one name per resource type and verb of every operation of
 * every served api-version (the catalogue belongs to the provider, not to a version), plus the
 * registration, operation-status and Azure Monitor names every provider publishes. Read, write and
 * delete come first for each type, then its actions, in the order the spec introduces the types.
 */
export function providerOperations(): readonly OperationValue[] {
  if (operationCatalogue) return operationCatalogue;
  const names = new Map<string, string>(); // name -> origin, insertion-ordered
  for (const extra of PROVIDER_EXTRAS) names.set(extra.name, extra.origin);
  for (const version of apiVersions) {
    for (const op of operationsByVersion[version]) names.set(operationName(op.method, op.path), "user,system");
  }
  for (const extra of MONITORING_EXTRAS) names.set(extra.name, extra.origin);
  const typeOrder = new Map<string, number>();
  const typeOf = (name: string) => {
    const parts = name.split("/");
    return (parts.at(-1) === "action" ? parts.slice(0, -2) : parts.slice(0, -1)).join("/");
  };
  for (const name of names.keys()) if (!typeOrder.has(typeOf(name))) typeOrder.set(typeOf(name), typeOrder.size);
  const rank = (name: string) => {
    const verb = name.split("/").at(-1)!;
    const index = VERB_ORDER.indexOf(verb);
    return index >= 0 ? index : VERB_ORDER.length;
  };
  const sorted = [...names.keys()].sort((a, b) => typeOrder.get(typeOf(a))! - typeOrder.get(typeOf(b))! || rank(a) - rank(b));
  operationCatalogue = sorted.map((name) => describe(name, names.get(name)!));
  return operationCatalogue;
}

// ---- service mesh (Istio add-on) revisions -----------------------------------------------------------

export interface MeshRevisionEntry {
  revision: string;
  /** Kubernetes minors the revision runs on (AKS's published compatibility table). */
  kubernetes: readonly string[];
  /** Revisions a canary upgrade from this one may go to. */
  upgrades: readonly string[];
}

/** The Istio add-on's supported revisions (AKS's "Istio add-on support policy" release calendar). */
export const istioRevisions: readonly MeshRevisionEntry[] = [
  { revision: "asm-1-25", kubernetes: ["1.29", "1.30", "1.31", "1.32", "1.33"], upgrades: ["asm-1-26", "asm-1-27"] },
  { revision: "asm-1-26", kubernetes: ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"], upgrades: ["asm-1-27"] },
  { revision: "asm-1-27", kubernetes: ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"], upgrades: [] },
];

/** The mesh modes that have revision profiles; path values match case-insensitively. */
export const MESH_MODES = ["istio"] as const;

export const isMeshMode = (mode: string) => MESH_MODES.some((m) => m === mode.toLowerCase());

/** Only the Kubernetes minors the emulator itself offers (what ListKubernetesVersions lists). */
const offeredMinors = () => new Set(versionCatalogue().map((v) => v.minor));

export interface MeshRevisionBody {
  revision: string;
  upgrades: string[];
  compatibleWith: { name: string; versions: string[] }[];
}

export function meshRevisionBody(entry: MeshRevisionEntry, kubernetesMinor?: string): MeshRevisionBody {
  const offered = offeredMinors();
  const upgrades = entry.upgrades.filter((target) => {
    if (!kubernetesMinor) return true;
    return istioRevisions.find((r) => r.revision === target)?.kubernetes.includes(kubernetesMinor) ?? false;
  });
  return {
    revision: entry.revision,
    upgrades,
    compatibleWith: [{ name: "kubernetes", versions: entry.kubernetes.filter((minor) => offered.has(minor)) }],
  };
}

/** The location's revision profile for a mode: every supported revision. */
export function meshRevisionProfile(subscriptionId: string, location: string, mode: string): Record<string, unknown> {
  const name = mode.toLowerCase();
  return {
    id: `/subscriptions/${subscriptionId}/providers/${PROVIDER}/locations/${location}/meshRevisionProfiles/${name}`,
    name,
    type: `${PROVIDER}/locations/meshRevisionProfiles`,
    properties: { meshRevisions: istioRevisions.map((entry) => meshRevisionBody(entry)) },
  };
}

/**
 * The revision a cluster's Istio mesh runs: the newest of serviceMeshProfile.istio.revisions (during
 * a canary upgrade both run; the upgrade is judged from the newer), or, when none is named, the one
 * AKS installs: the newest revision compatible with the cluster's Kubernetes minor.
 */
export function clusterMeshRevision(revisions: readonly string[] | undefined, kubernetesVersion: string): string | undefined {
  const named = [...(revisions ?? [])].sort(compareRevisions);
  if (named.length) return named.at(-1);
  const minor = minorOf(kubernetesVersion);
  return [...istioRevisions].reverse().find((r) => r.kubernetes.includes(minor))?.revision;
}

function compareRevisions(a: string, b: string): number {
  const parse = (r: string) => r.replace(/^asm-/, "").split("-").map(Number);
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** A cluster's upgrade profile for its Istio revision: the upgrades compatible with its Kubernetes minor. */
export function meshUpgradeProfile(clusterId: string, revision: string, kubernetesVersion: string): Record<string, unknown> {
  const entry = istioRevisions.find((r) => r.revision === revision);
  const properties: MeshRevisionBody = entry
    ? meshRevisionBody(entry, minorOf(kubernetesVersion))
    : { revision, upgrades: [], compatibleWith: [] }; // a revision past its end of life: nothing to offer
  return {
    id: `${clusterId}/meshUpgradeProfiles/istio`,
    name: "istio",
    type: `${PROVIDER}/managedClusters/meshUpgradeProfiles`,
    properties,
  };
}

/** The cluster's Istio upgrade profile, or undefined when its service mesh is not Istio. */
export function clusterMeshProfile(cluster: { id: string; body: Record<string, any> }): Record<string, unknown> | undefined {
  const properties = cluster.body.properties ?? {};
  const mesh = properties.serviceMeshProfile;
  if (String(mesh?.mode ?? "Disabled").toLowerCase() !== "istio") return undefined;
  const revision = clusterMeshRevision(mesh.istio?.revisions, properties.currentKubernetesVersion);
  if (!revision) return undefined;
  return meshUpgradeProfile(cluster.id, revision, properties.currentKubernetesVersion);
}

// ---- outbound network dependencies ---------------------------------------------------------------------

export interface OutboundEndpoint {
  category: string;
  endpoints: { domainName: string; endpointDetails: { port: number; protocol: string; description?: string }[] }[];
}

const https = (description?: string) => [{ port: 443, protocol: "Https", ...(description ? { description } : {}) }];
const http = (description?: string) => [{ port: 80, protocol: "Http", ...(description ? { description } : {}) }];

/**
 * The FQDNs and ports an AKS cluster's nodes reach (AKS's "Outbound network and FQDN rules"), in the
 * categories the API reports them. The API server rules name the cluster's own region; a private
 * cluster reaches its API server through a private endpoint, so it has no public API server rule.
 */
export function outboundEndpoints(location: string, privateCluster: boolean): OutboundEndpoint[] {
  const region = location.replace(/\s+/g, "").toLowerCase();
  const categories: OutboundEndpoint[] = [
    {
      category: "azure-resource-management",
      endpoints: [
        { domainName: "management.azure.com", endpointDetails: https("Kubernetes operations against the Azure API") },
        { domainName: "login.microsoftonline.com", endpointDetails: https("Microsoft Entra ID authentication") },
      ],
    },
    {
      category: "images",
      endpoints: [
        { domainName: "mcr.microsoft.com", endpointDetails: https("Microsoft Artifact Registry") },
        { domainName: "*.data.mcr.microsoft.com", endpointDetails: https("mcr cdn") },
        { domainName: "mcr-0001.mcr-msedge.net", endpointDetails: https("mcr cdn") },
      ],
    },
    {
      category: "artifacts",
      endpoints: [
        { domainName: "packages.aks.azure.com", endpointDetails: https("Kubernetes and Azure CNI binaries") },
        { domainName: "acs-mirror.azureedge.net", endpointDetails: https("Kubernetes and Azure CNI binaries (legacy)") },
        { domainName: "packages.microsoft.com", endpointDetails: https("Cached apt-get operations") },
      ],
    },
    {
      category: "time-sync",
      endpoints: [{ domainName: "ntp.ubuntu.com", endpointDetails: [{ port: 123, protocol: "UDP", description: "NTP time synchronization on Linux nodes" }] }],
    },
    {
      category: "ubuntu-optional",
      endpoints: [
        { domainName: "security.ubuntu.com", endpointDetails: http() },
        { domainName: "azure.archive.ubuntu.com", endpointDetails: http() },
        { domainName: "changelogs.ubuntu.com", endpointDetails: http() },
        { domainName: "snapshot.ubuntu.com", endpointDetails: https() },
      ],
    },
    {
      category: "gpu",
      endpoints: [
        { domainName: "nvidia.github.io", endpointDetails: https() },
        { domainName: "us.download.nvidia.com", endpointDetails: https() },
        { domainName: "download.docker.com", endpointDetails: https() },
      ],
    },
    {
      category: "windows",
      endpoints: [
        { domainName: "onegetcdn.azureedge.net", endpointDetails: https() },
        { domainName: "go.microsoft.com", endpointDetails: https() },
        { domainName: "*.mp.microsoft.com", endpointDetails: http() },
        { domainName: "www.msftconnecttest.com", endpointDetails: http() },
        { domainName: "ctldl.windowsupdate.com", endpointDetails: http() },
      ],
    },
  ];
  if (!privateCluster) {
    categories.push(
      { category: "apiserver", endpoints: [{ domainName: `*.hcp.${region}.azmk8s.io`, endpointDetails: https("Node to API server communication") }] },
      { category: "tunnel-classic", endpoints: [{ domainName: `*.hcp.${region}.azmk8s.io`, endpointDetails: [{ port: 9000, protocol: "TCP", description: "Tunnel to the API server" }] }] },
    );
  }
  return categories;
}

// ---- OS options (api-versions up to 2024-02-01: ManagedClusters_GetOSOptions) ----------------------

/** The OS SKUs a location offers for node pools, each with and without a FIPS-enabled image. */
const OS_OPTIONS: readonly { osType: string; fips: boolean }[] = ["Ubuntu", "AzureLinux", "Windows2019", "Windows2022"].flatMap((osType) => [
  { osType, fips: false },
  { osType, fips: true },
]);

export function osOptionsProfile(subscriptionId: string, location: string) {
  return {
    id: `/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${location}/osOptions/default`,
    name: "default",
    type: "Microsoft.ContainerService/locations/osOptions",
    properties: { osOptionPropertyList: OS_OPTIONS.map((o) => ({ "os-type": o.osType, "enable-fips-image": o.fips })) },
  };
}
