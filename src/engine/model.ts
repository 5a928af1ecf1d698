// The engine's model: who calls, the records it stores (resource groups, clusters, agent pools and
// their machine sets, with what the emulator keeps for itself), and the pure functions that turn what
// a client sent into what AKS stores and serves: the client's fields round-trip unchanged, and the
// read-only and defaulted fields Azure computes are filled in.
import { createHash, randomBytes } from "node:crypto";
import { errors } from "../arm/errors.js";
import { isAzureRegion, normaliseLocation } from "../arm/locations.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import type { StoredResource } from "../store/store.js";
import { BoundedCache, flatString, isoTime, newUuid, spread } from "../util.js";
import { clusterUpgradeTarget, minorOf, nodeImageVersion, poolVersion, resolveKubernetesVersion } from "./versions.js";

export const CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters";
export const POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools";
export const RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups";
export const MACHINE_TYPE = "Microsoft.ContainerService/managedClusters/agentPools/machines";
/** A pool's machine set: stored below the pool, never served. */
export const MACHINE_SET_TYPE = "AksEmulator/agentPools/machineSet";

/** A resource as the engine hands it out: the stored record, never changed in place by its readers. */
export type ResourceRecord<TBody = any> = StoredResource<TBody>;

// ---- callers ---------------------------------------------------------------------------------------

/** Who is calling, read from the bearer token's claims (verified only when token checks are on). */
export interface Principal {
  id: string;
  type: "User" | "Application" | "ManagedIdentity" | "Key";
  tenantId?: string;
}

/** What a write needs to know of its request (an ArmRequest will do). */
export interface Caller {
  principal: Principal;
  /** What this request may be let off in the default mode (absent: strict). */
  leniency?: LeniencyPolicy;
}

// ---- ids ---------------------------------------------------------------------------------------------

export const resourceGroupId = (subscriptionId: string, resourceGroup: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

export const clusterId = (subscriptionId: string, resourceGroup: string, name: string) =>
  `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.ContainerService/managedClusters/${name}`;

// ---- what the emulator keeps for itself ------------------------------------------------------------

/**
 * The part of a cluster's stored body that is never served (clusterView leaves it out): what the
 * emulator keeps for itself. It lives in the body so that every store persists it with the cluster.
 */
export const PRIVATE_STATE = "_emulator";

export interface ClusterPrivateState {
  /** How many times the cluster's certificates were rotated; kubeconfigs are issued for this generation. */
  credentialGeneration?: number;
}

export const privateState = (cluster: StoredResource): ClusterPrivateState => cluster.body?.[PRIVATE_STATE] ?? {};

export const credentialGeneration = (cluster: StoredResource): number => privateState(cluster).credentialGeneration ?? 0;

/**
 * Defaults nearly every record holds, one frozen copy shared by them all: stored records are never
 * changed in place (the tests freeze each record a store holds), and each copy would be another 32 to
 * 60 bytes of every cluster kept in memory.
 */
const RUNNING: { code: string } = Object.freeze({ code: "Running" });
const STOPPED: { code: string } = Object.freeze({ code: "Stopped" });
export const powerStateOf = (code: string): { code: string } => (code === "Running" ? RUNNING : code === "Stopped" ? STOPPED : { code });
const MSI_PRINCIPAL = Object.freeze({ clientId: "msi" });
const DEFAULT_UPGRADE_SETTINGS = Object.freeze({ maxSurge: "10%" });
const ONE_MANAGED_OUTBOUND_IP = Object.freeze({ count: 1 });
const IPV4_ONLY = Object.freeze(["IPv4"]);
const DEFAULT_SERVICE_CIDR = "10.0.0.0/16";
const DEFAULT_POD_CIDR = "10.244.0.0/16";
const DEFAULT_SERVICE_CIDRS = Object.freeze([DEFAULT_SERVICE_CIDR]);
const DEFAULT_POD_CIDRS = Object.freeze([DEFAULT_POD_CIDR]);
const oneCidr = (cidr: string, usual: readonly string[]): readonly string[] => (cidr === usual[0] ? usual : [cidr]);

/** `properties.powerState.code` of a cluster or pool; a record from before power states existed is Running. */
export const powerCode = (resource: StoredResource): string => resource.body.properties?.powerState?.code ?? "Running";

export const isStopped = (cluster: StoredResource): boolean => powerCode(cluster) === "Stopped";

/**
 * AKS refuses every write to a stopped cluster but Start (and Delete): a cluster PUT, a tags PATCH, an
 * agent-pool write, the credential listings, rotations, resets and run-command alike. Its answer, word
 * for word (a Terraform pool update against a stopped cluster): 400 OperationNotAllowed.
 */
export function assertNotStopped(cluster: StoredResource): void {
  if (!isStopped(cluster)) return;
  const [, , subscriptionId, , resourceGroup] = cluster.id.split("/");
  throw errors.clusterStopped(subscriptionId, resourceGroup);
}

// ---- machine sets --------------------------------------------------------------------------------
// The scale-set instances behind an agent pool, named as AKS names them. Each pool keeps a small
// record of its instances (never served) so that names stay stable: a scale-out adds new instance
// ids, a scale-in removes the highest ones (the scale set's default), and deleting named machines
// removes exactly those. The operation that creates or scales a pool stores its machine set, in the
// operation's transaction; reads (Machines_List, the backend's node names) only read it.

export interface MachineInstance {
  id: number;
  ip: string;
}

export interface MachineSet {
  instances: MachineInstance[]; // ascending instance id
  nextInstanceId: number; // a scale set never reuses an instance id
}

/**
 * Internal records (never served) have lower-case ids: a store keys records by the lower-cased id,
 * and V8 lower-cases a lower-case string to that same string, so the record's id and its key are one
 * string of ~190 bytes, not two. Keys ignore case: a record stored under the earlier mixed-case id is
 * the same record.
 */
export const machineSetId = (pool: StoredResource) => `${pool.id.toLowerCase()}/machineset`;

/** AKS's 8-digit number in scale-set names, the same for every pool of a cluster. */
function clusterNumber(cluster: StoredResource): string {
  return String(parseInt(idHash(cluster.id), 16) % 100_000_000).padStart(8, "0");
}

/**
 * The first 8 hex digits of the sha256 of a cluster's id in lower case: its scale sets' number and its
 * FQDNs' hash. Kept per id: a hash costs microseconds, and every operation on a pool names its scale set.
 */
const idHashes = new BoundedCache<string, string>(4096);
function idHash(id: string): string {
  const key = id.toLowerCase();
  let hash = idHashes.get(key);
  if (hash === undefined) {
    hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
    idHashes.set(key, hash);
  }
  return hash;
}

/** Linux: aks-{pool}-{number}-vmss; Windows scale sets are named aks{pool}. */
export function scaleSetName(cluster: StoredResource, pool: StoredResource): string {
  return pool.body.properties.osType === "Windows" ? `aks${pool.body.name}` : `aks-${pool.body.name}-${clusterNumber(cluster)}-vmss`;
}

/** A scale-set instance's computer name: the scale set's name and the instance id in base 36, six wide. */
export const machineName = (scaleSet: string, instance: MachineInstance) => `${scaleSet}${instance.id.toString(36).padStart(6, "0")}`;

// ---- node addresses ------------------------------------------------------------------------------
// Nodes take addresses of AKS's default node subnet 10.224.0.0/16, from .4 (Azure keeps .0-.3), never
// a .0 or .255. Each cluster keeps its address space (never served) beside its pools: the high-water
// mark and the addresses its machines gave back, lowest first. A new machine takes the lowest address
// given back, else the next never used: O(1) per machine, with no scan of the addresses in use. The
// cluster quota (5,000 nodes) keeps the high-water mark far inside the subnet.

export const ADDRESS_SPACE_TYPE = "AksEmulator/managedClusters/addressSpace";

export interface AddressSpace {
  next: number; // the lowest address number never handed out (10.224.x.y is x*256+y)
  free: number[]; // address numbers handed out and given back, ascending
}

/** Lower case, as machineSetId. */
export const addressSpaceId = (clusterId: string) => `${clusterId.toLowerCase()}/addressspace`;

const FIRST_ADDRESS = 4;
const SUBNET_ADDRESSES = 65_536;
const usable = (n: number) => n % 256 !== 0 && n % 256 !== 255;
/** The free list of nearly every address space (nothing given back): one frozen copy for all. */
const NO_ADDRESSES = Object.freeze([]) as unknown as number[];
/** Every cluster numbers its nodes from the same subnet: one string per address, shared by them all. */
const addressStrings = new BoundedCache<number, string>(SUBNET_ADDRESSES);
const addressOf = (n: number): string => addressStrings.getOrMake(n, () => flatString(`10.224.${Math.floor(n / 256)}.${n % 256}`));
function addressNumber(ip: string): number | undefined {
  const m = /^10\.224\.(\d+)\.(\d+)$/.exec(ip);
  return m ? Number(m[1]) * 256 + Number(m[2]) : undefined;
}

/** The address space of a cluster stored before address spaces were: derived once from the addresses its machines hold. */
export function addressSpaceOf(used: Iterable<string>): AddressSpace {
  const taken = new Set<number>();
  for (const ip of used) {
    const n = addressNumber(ip);
    if (n !== undefined) taken.add(n);
  }
  let next = FIRST_ADDRESS;
  for (const n of taken) if (n >= next) next = n + 1;
  const free: number[] = [];
  for (let n = FIRST_ADDRESS; n < next; n++) if (usable(n) && !taken.has(n)) free.push(n);
  return { next, free };
}

/** Hands out and takes back a cluster's node addresses during one write; `result()` is the space to store. */
export class AddressAllocator {
  private head = 0;
  private next: number;
  private readonly given: number[] = [];
  constructor(private readonly space: AddressSpace) {
    this.next = space.next;
  }

  take(): string {
    if (this.head < this.space.free.length) return addressOf(this.space.free[this.head++]);
    while (!usable(this.next)) this.next++;
    if (this.next >= SUBNET_ADDRESSES) throw new Error("the node subnet 10.224.0.0/16 has no address left");
    return addressOf(this.next++);
  }

  giveBack(ip: string): void {
    const n = addressNumber(ip);
    if (n !== undefined) this.given.push(n);
  }

  result(): AddressSpace {
    const rest = this.head < this.space.free.length ? this.space.free.slice(this.head) : NO_ADDRESSES;
    const free = this.given.length ? [...rest, ...this.given].sort((a, b) => a - b) : rest;
    return { next: this.next, free };
  }
}

/**
 * The machine set of a pool of `count` nodes, grown or shrunk from `stored` (none: a new pool): a
 * scale-in removes the highest instance ids and gives their addresses back, a scale-out adds new ones
 * on the addresses the cluster's allocator hands out.
 */
export function resizeMachineSet(stored: MachineSet | undefined, count: number, addresses: AddressAllocator): MachineSet {
  const set: MachineSet = { instances: [...(stored?.instances ?? [])], nextInstanceId: stored?.nextInstanceId ?? 0 };
  for (const removed of set.instances.splice(count)) addresses.giveBack(removed.ip);
  while (set.instances.length < count) set.instances.push({ id: set.nextInstanceId++, ip: addresses.take() });
  // Kept in the stored record: a pushed array keeps room to grow (17 entries for a pool of 3); a copy is its size.
  set.instances = set.instances.slice();
  return set;
}

/** A machine as Machines_List and Machines_Get serve it. */
export function machineView(cluster: StoredResource, pool: StoredResource, instance: MachineInstance): Record<string, any> {
  const scaleSet = scaleSetName(cluster, pool);
  const name = machineName(scaleSet, instance);
  const [, , subscriptionId] = cluster.id.split("/");
  const zones: string[] | undefined = pool.body.properties.availabilityZones;
  return {
    id: `${pool.id}/machines/${name}`,
    name,
    type: MACHINE_TYPE,
    ...(zones?.length ? { zones: [zones[instance.id % zones.length]] } : {}),
    properties: {
      network: { ipAddresses: [{ family: "IPv4", ip: instance.ip }] },
      resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${cluster.body.properties.nodeResourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${instance.id}`,
    },
  };
}

// ---- building what is stored -------------------------------------------------------------------

export interface SystemData {
  createdBy: string;
  createdByType: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: string;
  lastModifiedAt: string;
}

export function systemData(principal: Principal, now: Date, previous?: SystemData): SystemData {
  const at = isoTime(now);
  if (previous) {
    const { createdBy = principal.id, createdByType = principal.type, createdAt = at } = previous;
    return { createdBy, createdByType, createdAt, lastModifiedBy: principal.id, lastModifiedByType: principal.type, lastModifiedAt: at };
  }
  // A create stamps the cluster and each of its pools alike: one frozen copy for them all.
  const last = lastCreated;
  if (last && last.createdAt === at && last.createdBy === principal.id && last.createdByType === principal.type) return last;
  const stamped = { createdBy: principal.id, createdByType: principal.type, createdAt: at, lastModifiedBy: principal.id, lastModifiedByType: principal.type, lastModifiedAt: at };
  return (lastCreated = Object.freeze(stamped));
}
let lastCreated: SystemData | undefined;

/**
 * systemData after a change to a resource that exists: what it had (nothing, for a record stored
 * before the emulator kept one: its creator is not known), and who changed it last.
 */
export function modifiedSystemData(principal: Principal, now: Date, previous: Partial<SystemData> | undefined): Partial<SystemData> {
  return { ...previous, lastModifiedBy: principal.id, lastModifiedByType: principal.type, lastModifiedAt: isoTime(now) };
}

/** A GUID that is the same for the same inputs: stable principal and object ids across restarts. */
export function stableGuid(...parts: string[]): string {
  const hex = createHash("sha1").update(parts.join("|").toLowerCase()).digest("hex");
  // Flat: stored in ids (an outbound IP's), where the rope of its nine pieces would cost about 400 bytes a record.
  return flatString(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`);
}


export interface ClusterContext {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  id: string;
  tenantId: string;
  principal: Principal;
  now: Date;
  /** What the request may be let off (absent: strict). */
  leniency?: LeniencyPolicy;
}

export interface PoolInput {
  name: string;
  properties: Record<string, any>;
}

/** Request fields that are read-only in the spec: clients may echo them back, they are never taken as input. */
const READ_ONLY_CLUSTER_PROPERTIES = ["provisioningState", "maxAgentPools", "currentKubernetesVersion", "fqdn", "privateFQDN", "azurePortalFQDN", "resourceUID", "powerState"];
// powerState is not among them: a pool PUT with powerState.code Stopped/Running stops or starts the pool.
const READ_ONLY_POOL_PROPERTIES = ["provisioningState", "currentOrchestratorVersion", "eTag", "nodeImageVersion"];

function withoutKeys(object: Record<string, any>, keys: string[]): Record<string, any> {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}

/**
 * The stored cluster (without its pools, which are stored as agent-pool resources) and the pools the
 * request names. `previous` is the stored cluster on an update: computed fields keep their values.
 */
export function buildCluster(
  ctx: ClusterContext,
  request: Record<string, any>,
  previous: Record<string, any> | undefined,
): { cluster: Record<string, any>; pools: PoolInput[] } {
  // ARM's form of the location ("East US" is eastus): it names the node resource group, the operation URLs and the FQDNs.
  // A new cluster's location must be an Azure region (Microsoft's examples' placeholder "location1" is
  // not: the examples replay puts a real region in its place).
  const location: string = previous?.location ?? normaliseLocation(request.location);
  if (!previous) assertAzureRegion(request.location, CLUSTER_TYPE);
  assertValidTags(request.tags);
  if (previous && request.location && normaliseLocation(request.location) !== normaliseLocation(previous.location)) {
    throw errors.clusterLocationChange(ctx.name, previous.location, request.location);
  }
  const requested = withoutKeys(request.properties ?? {}, READ_ONLY_CLUSTER_PROPERTIES);
  const { agentPoolProfiles, ...clusterProperties } = requested;
  const before = previous?.properties ?? {};
  if (previous) assertCreateOnlyUnchanged(clusterProperties, before);
  else if (clusterProperties.dnsPrefix !== undefined && !DNS_PREFIX_RE.test(clusterProperties.dnsPrefix)) throw errors.dnsPrefixInvalid(String(clusterProperties.dnsPrefix));
  if (!previous) assertNetworkRanges(clusterProperties.networkProfile);

  // An empty version (AKS's own examples send "") means none: the default, or the current one.
  const requestedVersion: string | undefined = clusterProperties.kubernetesVersion || undefined;
  const kubernetesVersion = requestedVersion ?? before.kubernetesVersion;
  // An update that changes the version is an upgrade, held to the catalogue's upgrade paths.
  const currentKubernetesVersion = previous
    ? clusterUpgradeTarget(before.currentKubernetesVersion, requestedVersion, location, ctx.leniency)
    : resolveKubernetesVersion(kubernetesVersion, location, ctx.leniency);
  const upgrading = previous !== undefined && currentKubernetesVersion !== before.currentKubernetesVersion;
  const dnsPrefix =
    clusterProperties.dnsPrefix ??
    clusterProperties.fqdnSubdomain ??
    before.dnsPrefix ??
    `${ctx.name.slice(0, 10)}-${ctx.resourceGroup.slice(0, 16)}-${ctx.subscriptionId.slice(0, 6)}`.replace(/[^a-zA-Z0-9-]/g, "");
  const hash = idHash(ctx.id);
  // The stored name stands (a change is refused; another casing is the same group).
  // Names built here are stored with the cluster: flat, not as ropes (see flatString).
  const nodeResourceGroup = before.nodeResourceGroup ?? clusterProperties.nodeResourceGroup ?? flatString(`MC_${ctx.resourceGroup}_${ctx.name}_${location}`);
  const fqdnBase = `${dnsPrefix}-${hash}`;
  const isPrivate = clusterProperties.apiServerAccessProfile?.enablePrivateCluster === true;

  const properties: Record<string, any> = spread(clusterProperties, {
    kubernetesVersion: kubernetesVersion ?? minorOf(currentKubernetesVersion),
    provisioningState: previous ? (upgrading ? "Upgrading" : "Updating") : "Creating",
    powerState: before.powerState ?? RUNNING,
    maxAgentPools: 100,
    currentKubernetesVersion,
    dnsPrefix,
    nodeResourceGroup,
    enableRBAC: clusterProperties.enableRBAC ?? true,
    supportPlan: clusterProperties.supportPlan ?? "KubernetesOfficial",
    servicePrincipalProfile: clusterProperties.servicePrincipalProfile ?? before.servicePrincipalProfile ?? MSI_PRINCIPAL,
    networkProfile: networkProfile(previous ? keptNetworkProfile(clusterProperties.networkProfile, before.networkProfile) : clusterProperties.networkProfile, ctx, nodeResourceGroup),
    azurePortalFQDN: flatString(`${fqdnBase}.portal.hcp.${normaliseLocation(location)}.azmk8s.io`),
    resourceUID: before.resourceUID ?? randomBytes(12).toString("hex"), // 24 hex digits, one flat string
  });
  if (isPrivate) properties.privateFQDN = flatString(`${fqdnBase}.privatelink.${normaliseLocation(location)}.azmk8s.io`);
  else properties.fqdn = flatString(`${fqdnBase}.hcp.${normaliseLocation(location)}.azmk8s.io`);
  if (clusterProperties.oidcIssuerProfile?.enabled) {
    properties.oidcIssuerProfile = {
      ...clusterProperties.oidcIssuerProfile,
      issuerURL: `https://${normaliseLocation(location)}.oic.prod-aks.azure.com/${ctx.tenantId}/${stableGuid(ctx.id, "oidc")}/`,
    };
  }

  const cluster: Record<string, any> = {
    id: ctx.id,
    name: ctx.name,
    type: CLUSTER_TYPE,
    location,
    ...(request.tags !== undefined ? { tags: request.tags } : {}),
    ...(request.sku !== undefined ? { sku: request.sku } : {}),
    ...(request.extendedLocation !== undefined ? { extendedLocation: request.extendedLocation } : {}),
    ...(request.kind !== undefined ? { kind: request.kind } : {}),
    properties,
    eTag: newUuid(),
    systemData: systemData(ctx.principal, ctx.now, previous?.systemData),
  };
  // A cluster's managed identity cannot be taken away: an update PUT that leaves `identity` out (a
  // hand-written body, a partial model) keeps it, and with it the kubelet identity in identityProfile.
  const identity = managedIdentity(request.identity ?? previous?.identity, ctx);
  if (identity) {
    cluster.identity = identity;
    properties.identityProfile ??= before.identityProfile ?? {
      kubeletidentity: {
        resourceId: `/subscriptions/${ctx.subscriptionId}/resourcegroups/${nodeResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${ctx.name}-agentpool`,
        clientId: stableGuid(ctx.id, "kubelet-client"),
        objectId: stableGuid(ctx.id, "kubelet-object"),
      },
    };
  }

  const pools: PoolInput[] = (agentPoolProfiles ?? []).map(({ name, ...poolProperties }: Record<string, any>) => ({
    name,
    properties: poolProperties,
  }));
  return { cluster, pools };
}

export { normaliseLocation };

// ---- create-only properties ------------------------------------------------------------------------
// What AKS refuses to change on an existing cluster, 400 PropertyChangeNotAllowed "Changing property
// 'dnsPrefix' is not allowed." (target dnsPrefix; AKS's answer to Terraform and Rancher). The spec says
// "cannot be updated once the Managed Cluster has been created" of dnsPrefix and fqdnSubdomain; AKS
// refuses nodeResourceGroup and the network plugin, service CIDR and DNS service IP the same way (the
// message's property path follows AKS's pattern). outboundType is not among them: the spec calls it
// create-only but AKS has updated it in place since 2023 (az aks update --outbound-type). A PUT that
// leaves one out keeps it: that is no change.
const CREATE_ONLY_PROPERTIES: readonly { path: string; read: (p: Record<string, any>) => unknown; caseInsensitive?: boolean }[] = [
  { path: "dnsPrefix", read: (p) => p.dnsPrefix },
  { path: "fqdnSubdomain", read: (p) => p.fqdnSubdomain },
  { path: "nodeResourceGroup", read: (p) => p.nodeResourceGroup, caseInsensitive: true },
  { path: "networkProfile.networkPlugin", read: (p) => p.networkProfile?.networkPlugin, caseInsensitive: true },
  { path: "networkProfile.serviceCidr", read: (p) => p.networkProfile?.serviceCidr },
  { path: "networkProfile.dnsServiceIP", read: (p) => p.networkProfile?.dnsServiceIP },
];
/** AKS's naming rule for dnsPrefix (the spec has no pattern): 1-54 letters, digits and hyphens, alphanumeric at both ends. */
const DNS_PREFIX_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,52}[a-zA-Z0-9])?$/;
const KEPT_NETWORK_PROPERTIES = ["networkPlugin", "serviceCidr", "dnsServiceIP"];

function assertCreateOnlyUnchanged(requested: Record<string, any>, before: Record<string, any>): void {
  for (const { path, read, caseInsensitive } of CREATE_ONLY_PROPERTIES) {
    const sent = read(requested);
    const stored = read(before);
    if (sent === undefined || sent === null || stored === undefined) continue;
    const same = caseInsensitive && typeof sent === "string" && typeof stored === "string" ? sent.toLowerCase() === stored.toLowerCase() : sent === stored;
    if (!same) throw errors.propertyChangeNotAllowed(path);
  }
}

/** An update's network profile: the create-only fields it leaves out keep their stored values (with the plugin, its mode). */
function keptNetworkProfile(requested: Record<string, any> | undefined, stored: Record<string, any> | undefined): Record<string, any> | undefined {
  if (!stored) return requested;
  const kept: Record<string, any> = {};
  for (const key of KEPT_NETWORK_PROPERTIES) if (requested?.[key] === undefined && stored[key] !== undefined) kept[key] = stored[key];
  if (requested?.networkPlugin === undefined && requested?.networkPluginMode === undefined && stored.networkPluginMode !== undefined) kept.networkPluginMode = stored.networkPluginMode;
  return Object.keys(kept).length ? { ...requested, ...kept } : requested;
}

// ---- tags ------------------------------------------------------------------------------------------
// ARM's limits on a resource's tags (Azure Resource Manager docs, "Use tags to organize your Azure
// resources": 50 tags, names of 512 characters at most without < > % & \ ? /), with ARM's codes and
// words, checked in ARM's order: characters, name lengths, value lengths (256 characters), count.
export const TAG_LIMIT = 50;
export const TAG_NAME_LIMIT = 512;
export const TAG_VALUE_LIMIT = 256;
const RESERVED_TAG_NAME_CHARACTERS = /[<>%&\\?\/\u0000-\u001f\u007f]/;

export function assertValidTags(tags: unknown): void {
  if (!tags || typeof tags !== "object") return;
  const entries = Object.entries(tags as Record<string, unknown>);
  const reserved = entries.filter(([name]) => RESERVED_TAG_NAME_CHARACTERS.test(name)).map(([name]) => name);
  if (reserved.length) throw errors.tagNameCharacters(reserved.join(", "));
  const longNames = entries.filter(([name]) => name.length > TAG_NAME_LIMIT).map(([name]) => name);
  if (longNames.length) throw errors.tagNameTooLong(longNames.join(", "), TAG_NAME_LIMIT);
  const longValues = entries.filter(([, value]) => typeof value === "string" && value.length > TAG_VALUE_LIMIT).map(([, value]) => value as string);
  if (longValues.length) throw errors.tagValueTooLong(longValues.join(", "), TAG_VALUE_LIMIT);
  if (entries.length > TAG_LIMIT) throw errors.tooManyTags(entries.length, TAG_LIMIT);
}

// ---- locations ---------------------------------------------------------------------------------------

/** ARM's refusal of a new resource (`type`) in a location Azure does not have. */
export function assertAzureRegion(location: unknown, type: string): void {
  if (typeof location !== "string" || isAzureRegion(location)) return;
  throw type === RESOURCE_GROUP_TYPE ? errors.locationNotAvailableForResourceGroup(location) : errors.locationNotAvailableForResourceType(location, type);
}

// ---- network ranges ----------------------------------------------------------------------------------
// What AKS refuses of a new cluster's IPv4 ranges (the create-only serviceCidr and dnsServiceIP, and
// podCidr): a range that is no CIDR, one overlapping the ranges AKS reserves for itself (AKS docs:
// "AKS clusters may not use 169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16, or 192.0.2.0/24 for the
// Kubernetes service address range, pod address range or cluster virtual network address range"),
// pod and service ranges that overlap, and a DNS service IP outside the service range or on its
// network address or first address (which is the kubernetes service's). What is left out takes AKS's
// defaults (10.0.0.0/16, 10.0.0.10, 10.244.0.0/16), which pass. IPv6 ranges (dual-stack) are not checked,
// nor a range against the cluster's virtual network, which the emulator does not model.
const RESERVED_RANGES = ["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"];

function ipv4Number(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
}

/** An IPv4 CIDR as [first, last] address numbers; undefined when it is none. */
function ipv4Range(cidr: string): [number, number] | undefined {
  const [address, bits, ...rest] = cidr.split("/");
  if (rest.length || bits === undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
  const start = ipv4Number(address);
  if (start === undefined) return undefined;
  const size = 2 ** (32 - Number(bits));
  const first = start - (start % size);
  return [first, first + size - 1];
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] <= b[1] && b[0] <= a[1];
const isIPv6 = (text: string) => text.includes(":");

/** AKS's DNS service IP when none is sent: the tenth address of the service range (10.0.0.10 by default). */
function defaultDnsServiceIP(serviceCidr: unknown): string {
  const range = typeof serviceCidr === "string" ? ipv4Range(serviceCidr) : undefined;
  if (!range || range[1] - range[0] < 10) return "10.0.0.10";
  const n = range[0] + 10;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function assertNetworkRanges(profile: Record<string, any> | undefined): void {
  if (!profile) return;
  const ranges: Record<string, [number, number]> = {};
  for (const property of ["serviceCidr", "podCidr"] as const) {
    const value = profile[property];
    if (typeof value !== "string" || !value || isIPv6(value)) continue;
    const range = ipv4Range(value);
    if (!range) throw errors.networkCidrInvalid(property, value, "it is not a valid IPv4 CIDR");
    const reserved = RESERVED_RANGES.find((r) => overlaps(range, ipv4Range(r)!));
    if (reserved) throw errors.networkCidrInvalid(property, value, `it overlaps ${reserved}, which AKS reserves`);
    ranges[property] = range;
  }
  const service = ranges.serviceCidr ?? (profile.serviceCidr === undefined ? ipv4Range("10.0.0.0/16") : undefined);
  if (ranges.podCidr && service && overlaps(ranges.podCidr, service)) {
    throw errors.networkCidrInvalid("podCidr", profile.podCidr, `it overlaps serviceCidr '${profile.serviceCidr ?? "10.0.0.0/16"}'`);
  }
  const dns = profile.dnsServiceIP;
  if (typeof dns !== "string" || !dns || isIPv6(dns) || !service) return;
  const serviceCidr = profile.serviceCidr ?? "10.0.0.0/16";
  const ip = ipv4Number(dns);
  if (ip === undefined || ip < service[0] || ip > service[1]) throw errors.dnsServiceIPInvalid(dns, serviceCidr, "it is not within the range");
  if (ip === service[0]) throw errors.dnsServiceIPInvalid(dns, serviceCidr, "it is the network address");
  if (ip === service[0] + 1) throw errors.dnsServiceIPInvalid(dns, serviceCidr, "it is the first address, which the kubernetes service takes,");
}

/** A resource group as ARM serves it (Microsoft.Resources/resourceGroups). */
export function resourceGroupBody(id: string, name: string, location: string, tags: Record<string, string> = {}, managedBy?: string): Record<string, any> {
  return {
    id,
    name,
    type: RESOURCE_GROUP_TYPE,
    location: normaliseLocation(location),
    ...(managedBy !== undefined ? { managedBy } : {}),
    tags,
    properties: { provisioningState: "Succeeded" },
  };
}

function managedIdentity(identity: Record<string, any> | undefined, ctx: ClusterContext): Record<string, any> | undefined {
  if (!identity || identity.type === "None") return identity;
  const out: Record<string, any> = { ...identity };
  if (identity.type === "SystemAssigned") {
    out.principalId = stableGuid(ctx.id, "system-identity");
    out.tenantId = ctx.tenantId;
  }
  if (identity.userAssignedIdentities) {
    out.userAssignedIdentities = Object.fromEntries(
      Object.entries(identity.userAssignedIdentities).map(([resourceId, value]) => [
        resourceId,
        { ...(value as object), principalId: stableGuid(resourceId, "principal"), clientId: stableGuid(resourceId, "client") },
      ]),
    );
  }
  return out;
}

function networkProfile(requested: Record<string, any> | undefined, ctx: ClusterContext, nodeResourceGroup: string): Record<string, any> {
  const plugin = requested?.networkPlugin ?? "azure";
  const overlay = plugin === "azure" && (requested?.networkPluginMode ?? (requested?.networkPlugin ? undefined : "overlay")) === "overlay";
  const profile: Record<string, any> = {
    networkPlugin: plugin,
    ...(overlay ? { networkPluginMode: "overlay" } : {}),
    networkPolicy: requested?.networkPolicy ?? "none",
    serviceCidr: DEFAULT_SERVICE_CIDR,
    dnsServiceIP: defaultDnsServiceIP(requested?.serviceCidr),
    outboundType: "loadBalancer",
    loadBalancerSku: "standard",
    ipFamilies: IPV4_ONLY,
    ...(plugin === "kubenet" || overlay ? { podCidr: DEFAULT_POD_CIDR } : {}),
    ...requested,
  };
  if (profile.outboundType === "loadBalancer" && String(profile.loadBalancerSku).toLowerCase() === "standard") {
    profile.loadBalancerProfile = {
      managedOutboundIPs: ONE_MANAGED_OUTBOUND_IP,
      backendPoolType: "NodeIPConfiguration",
      ...requested?.loadBalancerProfile,
      effectiveOutboundIPs: [
        { id: flatString(`/subscriptions/${ctx.subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.Network/publicIPAddresses/${stableGuid(ctx.id, "outbound-ip")}`) },
      ],
    };
  }
  profile.serviceCidrs ??= oneCidr(profile.serviceCidr, DEFAULT_SERVICE_CIDRS);
  if (profile.podCidr) profile.podCidrs ??= oneCidr(profile.podCidr, DEFAULT_POD_CIDRS);
  return profile;
}

export interface PoolContext {
  clusterId: string;
  name: string;
  clusterVersion: string;
  /** The first pool of a new cluster defaults to mode System. */
  defaultMode: "System" | "User";
  location: string;
  /** What the request may be let off (absent: strict). */
  leniency?: LeniencyPolicy;
  /** Who asks, and when: the pool's systemData. */
  principal: Principal;
  now: Date;
}

// AKS's quotas and pool rules (docs: "Quotas, virtual machine size restrictions, and region
// availability in AKS"; the spec's descriptions of count, maxPods and the pool name).
export const POOL_NODE_LIMIT = 1000;
export const CLUSTER_NODE_LIMIT = 5000;
export const CLUSTER_POOL_LIMIT = 100;
const MAX_PODS_RANGE = [10, 250] as const;
const WINDOWS_POOL_NAME_LIMIT = 6;

/**
 * AKS's quotas over a cluster's pools as a write would leave them (every pool body, changed or not):
 * at most 100 pools and 5,000 nodes. Refused before anything is stored.
 */
export function assertClusterQuotas(clusterName: string, pools: { properties: Record<string, any> }[]): void {
  if (pools.length > CLUSTER_POOL_LIMIT) throw errors.tooManyAgentPools(clusterName, pools.length, CLUSTER_POOL_LIMIT);
  let nodes = 0;
  for (const pool of pools) nodes += pool.properties.count ?? 0;
  if (nodes > CLUSTER_NODE_LIMIT) throw errors.tooManyClusterNodes(clusterName, nodes, CLUSTER_NODE_LIMIT);
}

/** The stored agent pool resource: {id, name, type, properties}. */
export function buildPool(ctx: PoolContext, requested: Record<string, any>, previous: Record<string, any> | undefined): Record<string, any> {
  const before = previous?.properties ?? {};
  const sent = withoutKeys(requested, READ_ONLY_POOL_PROPERTIES);
  // AKS's start/stop body carries powerState alone (examples/AgentPools_Start.json): the rest stays.
  const powerOnly = previous !== undefined && sent.powerState !== undefined && Object.keys(sent).length === 1;
  const input = powerOnly ? { ...withoutKeys(before, READ_ONLY_POOL_PROPERTIES), powerState: sent.powerState } : sent;
  const requestedVersion: string | undefined = input.orchestratorVersion || undefined; // "" means none, as for clusters
  const orchestratorVersion = requestedVersion ?? before.orchestratorVersion ?? ctx.clusterVersion;
  const currentOrchestratorVersion = poolVersion(before.currentOrchestratorVersion, requestedVersion, ctx.clusterVersion, ctx.location, ctx.leniency);
  const upgrading = previous !== undefined && currentOrchestratorVersion !== before.currentOrchestratorVersion;
  const mode = input.mode ?? before.mode ?? ctx.defaultMode;
  const count = input.count ?? (input.enableAutoScaling ? input.minCount : undefined) ?? before.count ?? 1;
  if (mode === "System" && count < 1) {
    throw errors.systemPoolCountTooLow(ctx.name);
  }
  // AKS's own rules for a pool, before anything is stored (the spec has no bounds for them).
  if (count < 0 || count > POOL_NODE_LIMIT) throw errors.agentPoolCountOutOfRange(count, mode === "System" ? 1 : 0, POOL_NODE_LIMIT, mode === "System");
  if (input.enableAutoScaling && (input.minCount === undefined || input.maxCount === undefined || input.minCount > input.maxCount)) {
    throw errors.autoscaleBoundsInvalid(ctx.name);
  }
  // An autoscaled pool's count lies within minCount..maxCount (AKS refuses it with its count message,
  // naming the autoscaler's bounds). Microsoft's example AgentPools_Update.json (count 3, minCount 2,
  // maxCount 2) breaks it: the examples replay expects AKS's refusal.
  if (input.enableAutoScaling && (count < input.minCount || count > input.maxCount)) {
    throw errors.agentPoolCountOutOfRange(count, input.minCount, input.maxCount, false);
  }
  const maxPods = input.maxPods ?? before.maxPods;
  if (maxPods !== undefined && (maxPods < MAX_PODS_RANGE[0] || maxPods > MAX_PODS_RANGE[1])) throw errors.maxPodsInvalid();
  const osType = input.osType ?? before.osType ?? "Linux";
  if (osType === "Windows" && mode === "System") throw errors.systemPoolMustBeLinux(ctx.name);
  if (osType === "Windows" && ctx.name.length > WINDOWS_POOL_NAME_LIMIT) throw errors.windowsPoolNameTooLong();
  const wasStopped = before.powerState?.code === "Stopped";
  const power: string = input.powerState?.code ?? before.powerState?.code ?? "Running";
  if (power === "Stopped" && !wasStopped && mode === "System") {
    throw errors.systemPoolCannotStop(ctx.name);
  }
  assertNodeLabelsAllowed(input.nodeLabels);
  const osSKU = input.osSKU ?? (input.osType === "Windows" ? "Windows2022" : "Ubuntu");
  const properties: Record<string, any> = {
    count,
    vmSize: "Standard_DS2_v2",
    osDiskSizeGB: 128,
    osDiskType: "Managed",
    kubeletDiskType: "OS",
    maxPods: 250,
    type: "VirtualMachineScaleSets",
    osType: "Linux",
    osSKU,
    enableAutoScaling: false,
    enableNodePublicIP: false,
    enableFIPS: false,
    scaleDownMode: "Delete",
    upgradeSettings: DEFAULT_UPGRADE_SETTINGS,
    ...input,
    mode,
    orchestratorVersion,
    currentOrchestratorVersion,
    // A Kubernetes upgrade reimages the nodes, so they come back on the newest node image.
    nodeImageVersion: upgrading ? nodeImageVersion(osSKU, "latest") : (before.nodeImageVersion ?? nodeImageVersion(osSKU)),
    provisioningState: previous ? poolTransition(before, { power, wasStopped, upgrading, count }) : "Creating",
    powerState: powerStateOf(power),
    eTag: newUuid(),
  };
  // In AgentPool's schema since 2025-10-01: the view leaves it out at older versions.
  const changed = previous ? modifiedSystemData(ctx.principal, ctx.now, previous.systemData) : systemData(ctx.principal, ctx.now);
  return { id: `${ctx.clusterId}/agentPools/${ctx.name}`, name: ctx.name, type: POOL_TYPE, properties, systemData: changed };
}

// ---- node labels: kubelet's --node-labels rule ------------------------------------------------------

/**
 * The label keys in the kubernetes.io / k8s.io namespaces a kubelet may set on its own node, and the
 * namespaces it may set any key in (with their subdomains): k8s.io/kubernetes
 * staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go (kubeletLabels, kubeletLabelNamespaces,
 * IsKubeletLabel). Any other key there makes kubelet exit at start ("unknown 'kubernetes.io' or
 * 'k8s.io' labels specified with --node-labels"), so AKS refuses it up front.
 */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/** Whether kubelet refuses this --node-labels key (cmd/kubelet's isKubernetesLabel && !IsKubeletLabel). */
export function kubeletRefusesLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const namespace = key.slice(0, slash);
  const inKubernetes = ["kubernetes.io", "k8s.io"].some((ns) => namespace === ns || namespace.endsWith(`.${ns}`));
  if (!inKubernetes || KUBELET_LABELS.has(key)) return false;
  return !KUBELET_LABEL_NAMESPACES.some((ns) => namespace === ns || namespace.endsWith(`.${ns}`));
}

/** AKS's refusal of a pool's nodeLabels entry kubelet would not start with. */
function assertNodeLabelsAllowed(nodeLabels: unknown): void {
  if (!nodeLabels || typeof nodeLabels !== "object") return;
  for (const [key, value] of Object.entries(nodeLabels)) {
    if (kubeletRefusesLabel(key)) throw errors.reservedNodeLabel(key, String(value ?? ""));
  }
}

/** The provisioningState AKS shows while a pool update runs. */
function poolTransition(before: Record<string, any>, change: { power: string; wasStopped: boolean; upgrading: boolean; count: number }): string {
  if (change.power === "Stopped" && !change.wasStopped) return "Stopping";
  if (change.power === "Running" && change.wasStopped) return "Starting";
  if (change.upgrading) return "Upgrading";
  return before.count !== change.count ? "Scaling" : "Updating";
}
