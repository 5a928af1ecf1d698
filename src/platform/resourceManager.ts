// ARM's own endpoints a real client calls besides AKS: subscriptions, tenants, locations, resource
// providers and resource groups, and the long-running-operation status and result URLs.
import type { ArmRequest, Handler, HandlerServices } from "../handlers/contract.js";
import type { RouteDef } from "../api/routeIndex.js";
import { publishedVersions } from "../api/apiVersions.js";
import { publishedApiVersions } from "../../generated/operations.js";
import { errors } from "../arm/errors.js";
import { isAzureRegion, LOCATIONS } from "../arm/locations.js";
import { dotNetRegExp } from "../arm/patterns.js";
import { isTerminal, locationUrl, operationStatusBody, type OperationRecord } from "../arm/lro.js";
import { page } from "../arm/paging.js";
import type { VersionPolicy } from "../http/armPipeline.js";
import { snapshot } from "../handlers/subresources/snapshots.js";

export interface PlatformRoute extends RouteDef {
  kind: "platform";
  versions: VersionPolicy;
  handler: Handler;
}

// api-versions ARM accepts for resource groups (Microsoft.Resources), oldest first.
export const RESOURCE_GROUP_API_VERSIONS = [
  "2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01", "2016-09-01", "2017-05-10",
  "2017-06-01", "2017-08-01", "2018-02-01", "2018-05-01", "2019-03-01", "2019-05-01", "2019-05-10", "2019-07-01",
  "2019-08-01", "2019-10-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01",
  "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01", "2025-03-01", "2025-04-01",
];
const resourceGroupVersions: VersionPolicy = { accepted: RESOURCE_GROUP_API_VERSIONS, errorCode: "InvalidApiVersionParameter" };

/** Namespaces listed as registered; Terraform registers its list of providers unless told not to. */
const KNOWN_PROVIDERS = [
  "Microsoft.ContainerService", "Microsoft.Resources", "Microsoft.Authorization", "Microsoft.Compute", "Microsoft.Network",
  "Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ManagedIdentity", "Microsoft.OperationalInsights",
  "Microsoft.OperationsManagement", "Microsoft.Insights", "Microsoft.ContainerRegistry", "Microsoft.Monitor",
  "Microsoft.AlertsManagement", "Microsoft.Dashboard", "Microsoft.KubernetesConfiguration", "Microsoft.Kubernetes",
  "Microsoft.PolicyInsights", "Microsoft.Security", "Microsoft.Features", "Microsoft.ApiManagement", "Microsoft.AppConfiguration",
  "Microsoft.Web", "Microsoft.Sql", "Microsoft.DBforPostgreSQL", "Microsoft.DBforMySQL", "Microsoft.DocumentDB",
  "Microsoft.EventHub", "Microsoft.ServiceBus", "Microsoft.Cache", "Microsoft.Cdn", "Microsoft.DataProtection",
  "Microsoft.RecoveryServices", "Microsoft.Maintenance", "Microsoft.ManagedServices", "Microsoft.Management",
  "Microsoft.Search", "Microsoft.SignalRService", "Microsoft.CognitiveServices", "Microsoft.EventGrid", "Microsoft.Relay",
  "Microsoft.Logic", "Microsoft.App", "Microsoft.ContainerInstance", "Microsoft.Devices", "Microsoft.DataFactory",
  "Microsoft.HealthcareApis", "Microsoft.MachineLearningServices", "Microsoft.Automation", "Microsoft.Batch",
];


// ARM's rule, as .NET reads it: `\w` takes Unicode letters and digits (a group `résumé`).
const RESOURCE_GROUP_NAME_RE = dotNetRegExp("^[-\\w._()]{1,90}$");


const SUBSCRIPTION_GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function subscriptionBody(subscriptionId: string, { config }: HandlerServices) {
  return {
    id: `/subscriptions/${subscriptionId}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId,
    tenantId: config.tenantId,
    displayName: subscriptionId === config.subscriptionId ? "AKS Emulator" : `AKS Emulator (${subscriptionId})`,
    state: "Enabled",
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
    tags: {},
  };
}

function providerBody(subscriptionId: string, namespace: string, services: HandlerServices) {
  const resourceTypes =
    namespace.toLowerCase() === "microsoft.containerservice"
      ? containerServiceResourceTypes(services)
      : [];
  return {
    id: `/subscriptions/${subscriptionId}/providers/${namespace}`,
    namespace,
    registrationState: "Registered",
    registrationPolicy: "RegistrationRequired",
    resourceTypes,
  };
}

function containerServiceResourceTypes({ config }: HandlerServices) {
  // Every published version, newest first, as ARM lists them; the default is the newest stable one.
  const apiVersions = [...publishedVersions].sort().reverse();
  const locations = LOCATIONS.map(([, display]) => display);
  return [
    "managedClusters", "managedClusters/agentPools", "managedClusters/maintenanceConfigurations", "snapshots",
    "locations", "locations/operations", "locations/operationresults", "locations/kubernetesVersions", "operations",
  ].map((resourceType) => ({
    resourceType,
    locations: resourceType.startsWith("locations") || resourceType === "operations" ? [] : locations,
    apiVersions,
    defaultApiVersion: publishedApiVersions.stable.at(-1),
    capabilities: resourceType === "managedClusters" ? "CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SupportsTags, SupportsLocation" : "None",
    ...(config.aksEnabled ? {} : { locations: [] }),
  }));
}

function resourceGroupView(body: Record<string, any>) {
  return body;
}

function putResourceGroup(req: ArmRequest, { engine }: HandlerServices) {
  const { subscriptionId, resourceGroupName } = req.params;
  if (!RESOURCE_GROUP_NAME_RE.test(resourceGroupName) || resourceGroupName.endsWith(".")) {
    throw errors.resourceGroupNameInvalid(resourceGroupName);
  }
  const body = req.body;
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw errors.resourceGroupBodyInvalid();
  }
  if (typeof body.location !== "string" || !body.location) throw errors.locationRequired();
  if (!isAzureRegion(body.location)) throw errors.locationNotAvailableForResourceGroup(body.location);
  if (body.tags !== undefined && !isStringMap(body.tags)) throw errors.tagsInvalid();
  const { created, group } = engine.resourceGroups.put(subscriptionId, resourceGroupName, { location: body.location, tags: body.tags, managedBy: body.managedBy });
  return { status: created ? 201 : 200, body: resourceGroupView(group.body) };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return !!value && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}


/**
 * Resources_ListByResourceGroup: the group's top-level resources (clusters, node pool snapshots) in
 * ARM's generic shape. Terraform lists them before it deletes a group (prevent_deletion_if_contains_resources).
 */
function listGroupResources(req: ArmRequest, { engine }: HandlerServices) {
  const { subscriptionId, resourceGroupName } = req.params;
  const group = engine.resourceGroups.get(subscriptionId, resourceGroupName); // ResourceGroupNotFound
  const resources = [...engine.listClusters(subscriptionId, resourceGroupName).read(undefined, Number.MAX_SAFE_INTEGER), ...engine.children.list(group, snapshot)];
  const expand = new Set((req.query.$expand ?? "").split(",").map((e) => e.trim().toLowerCase()));
  return { status: 200, body: page(req, resources, (r) => genericResource(r.body, expand)) };
}

/** ARM's GenericResourceExpanded; createdTime, changedTime and provisioningState only as $expand asks. */
function genericResource(body: Record<string, any>, expand: Set<string>) {
  const out: Record<string, unknown> = { id: body.id, name: body.name, type: body.type };
  for (const key of ["kind", "location", "sku", "identity", "managedBy", "tags"]) if (body[key] !== undefined) out[key] = body[key];
  if (expand.has("createdtime") && body.systemData?.createdAt) out.createdTime = body.systemData.createdAt;
  if (expand.has("changedtime") && body.systemData?.lastModifiedAt) out.changedTime = body.systemData.lastModifiedAt;
  if (expand.has("provisioningstate") && body.properties?.provisioningState) out.provisioningState = body.properties.provisioningState;
  return out;
}

/** Answers an operation-status or operation-result URL. */
function operationResult(op: OperationRecord, req: ArmRequest) {
  if (!isTerminal(op.status)) {
    return { status: 202, headers: { Location: locationUrl(req.baseUrl, op, req.apiVersion), "Retry-After": "1" } };
  }
  if (op.status === "Succeeded") {
    if (op.result) return { status: op.result.status, body: op.result.body };
    return { status: op.provider === "Microsoft.Resources" ? 200 : 204 };
  }
  throw errors.operationFailed(op.name, op.status, op.error);
}

function findOperation(req: ArmRequest, services: HandlerServices, provider: string): OperationRecord {
  const op = services.engine.getOperation(req.params.operationId);
  if (!op || op.provider.toLowerCase() !== provider.toLowerCase() || op.subscriptionId.toLowerCase() !== req.params.subscriptionId.toLowerCase()) {
    throw errors.operationNotFound(req.params.operationId);
  }
  return op;
}

const S = "/subscriptions/{subscriptionId}";
const RG = `${S}/resourceGroups/{resourceGroupName}`;
const AKS_LOCATION = `${S}/providers/Microsoft.ContainerService/locations/{location}`;

export const platformRoutes: PlatformRoute[] = [
  {
    kind: "platform", method: "GET", template: "/subscriptions", operationId: "Subscriptions_List", versions: "any",
    handler: (req, services) => {
      // FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS besides the default: az resolves `--subscription X` against
      // this list (kept at login), so the documentation's `--subscription my-sub` needs it listed.
      const ids = new Set([services.config.subscriptionId, ...services.config.subscriptions]);
      const listed = [...ids].filter((id) => {
        if (SUBSCRIPTION_GUID_RE.test(id)) return true;
        if (!req.leniency.lenient) return false; // strict mode: ARM's subscriptions are GUIDs
        req.leniency.note("subscription-id", `'${id}' is listed though it is not a GUID (FLOCI_AZ_SERVICES_AKS_SUBSCRIPTIONS; strict mode lists GUIDs only)`);
        return true;
      });
      const value = listed.map((id) => subscriptionBody(id, services));
      return { status: 200, body: { value, count: { type: "Total", value: value.length } } };
    },
  },
  {
    kind: "platform", method: "GET", template: S, operationId: "Subscriptions_Get", versions: "any",
    handler: (req, services) => {
      return { status: 200, body: subscriptionBody(req.params.subscriptionId, services) };
    },
  },
  {
    kind: "platform", method: "GET", template: `${S}/locations`, operationId: "Subscriptions_ListLocations", versions: "any",
    handler: (req) => {
      const value = LOCATIONS.map(([name, displayName, geographyGroup]) => ({
        id: `/subscriptions/${req.params.subscriptionId}/locations/${name}`,
        name,
        type: "Region",
        displayName,
        regionalDisplayName: `(${geographyGroup}) ${displayName}`,
        metadata: { regionType: "Physical", regionCategory: "Recommended", geographyGroup },
      }));
      return { status: 200, body: { value } };
    },
  },
  {
    kind: "platform", method: "GET", template: "/tenants", operationId: "Tenants_List", versions: "any",
    handler: (req, { config }) => ({
      status: 200,
      body: {
        value: [
          {
            id: `/tenants/${config.tenantId}`,
            tenantId: config.tenantId,
            countryCode: "US",
            displayName: "AKS Emulator",
            domains: ["aksemulator.onmicrosoft.com"],
            defaultDomain: "aksemulator.onmicrosoft.com",
            tenantCategory: "Home",
            tenantType: "AAD",
          },
        ],
      },
    }),
  },
  {
    kind: "platform", method: "GET", template: `${S}/providers`, operationId: "Providers_List", versions: "any",
    handler: (req, services) => {
      return { status: 200, body: page(req, KNOWN_PROVIDERS, (ns) => providerBody(req.params.subscriptionId, ns, services), 1000) };
    },
  },
  {
    kind: "platform", method: "GET", template: `${S}/providers/{resourceProviderNamespace}`, operationId: "Providers_Get", versions: "any",
    handler: (req, services) => {
      const known = KNOWN_PROVIDERS.find((ns) => ns.toLowerCase() === req.params.resourceProviderNamespace.toLowerCase());
      return { status: 200, body: providerBody(req.params.subscriptionId, known ?? req.params.resourceProviderNamespace, services) };
    },
  },
  {
    kind: "platform", method: "POST", template: `${S}/providers/{resourceProviderNamespace}/register`, operationId: "Providers_Register", versions: "any",
    handler: (req, services) => {
      const known = KNOWN_PROVIDERS.find((ns) => ns.toLowerCase() === req.params.resourceProviderNamespace.toLowerCase());
      return { status: 200, body: providerBody(req.params.subscriptionId, known ?? req.params.resourceProviderNamespace, services) };
    },
  },
  {
    kind: "platform", method: "GET", template: `${S}/resourcegroups`, operationId: "ResourceGroups_List", versions: resourceGroupVersions,
    handler: (req, { engine }) => {
      return { status: 200, body: page(req, engine.resourceGroups.list(req.params.subscriptionId), (g) => resourceGroupView(g.body)) };
    },
  },
  { kind: "platform", method: "PUT", template: RG, operationId: "ResourceGroups_CreateOrUpdate", versions: resourceGroupVersions, handler: putResourceGroup },
  {
    kind: "platform", method: "GET", template: RG, operationId: "ResourceGroups_Get", versions: resourceGroupVersions,
    handler: (req, { engine }) => ({ status: 200, body: resourceGroupView(engine.resourceGroups.get(req.params.subscriptionId, req.params.resourceGroupName).body) }),
  },
  {
    kind: "platform", method: "HEAD", template: RG, operationId: "ResourceGroups_CheckExistence", versions: resourceGroupVersions,
    handler: (req, { engine }) => {
      return { status: engine.resourceGroups.find(req.params.subscriptionId, req.params.resourceGroupName) ? 204 : 404 };
    },
  },
  {
    kind: "platform", method: "PATCH", template: RG, operationId: "ResourceGroups_Update", versions: resourceGroupVersions,
    handler: (req, { engine }) => {
      const { subscriptionId, resourceGroupName } = req.params;
      engine.resourceGroups.get(subscriptionId, resourceGroupName); // a missing group answers 404 before the body is judged
      const patch = req.body ?? {};
      if (typeof patch !== "object" || Array.isArray(patch)) {
        throw errors.patchBodyInvalid();
      }
      if (patch.tags !== undefined && patch.tags !== null && !isStringMap(patch.tags)) {
        throw errors.tagsInvalid();
      }
      const group = engine.resourceGroups.update(subscriptionId, resourceGroupName, { tags: patch.tags, managedBy: patch.managedBy });
      return { status: 200, body: resourceGroupView(group.body) };
    },
  },
  {
    kind: "platform", method: "DELETE", template: RG, operationId: "ResourceGroups_Delete", versions: resourceGroupVersions,
    handler: (req, { engine }) => {
      const op = engine.resourceGroups.delete(req.params.subscriptionId, req.params.resourceGroupName);
      if (!op) throw errors.resourceGroupNotFound(req.params.resourceGroupName);
      return { status: 202, headers: { Location: locationUrl(req.baseUrl, op, req.apiVersion), "Retry-After": "1" } };
    },
  },
  { kind: "platform", method: "GET", template: `${RG}/resources`, operationId: "Resources_ListByResourceGroup", versions: resourceGroupVersions, handler: listGroupResources },
  {
    kind: "platform", method: "GET", template: `${S}/operationresults/{operationId}`, operationId: "ResourceGroups_OperationResult", versions: "any",
    handler: (req, services) => operationResult(findOperation(req, services, "Microsoft.Resources"), req),
  },
  {
    kind: "platform", method: "GET", template: `${AKS_LOCATION}/operations/{operationId}`, operationId: "ContainerService_OperationStatus", versions: "any",
    handler: (req, services) => {
      const op = findOperation(req, services, "Microsoft.ContainerService");
      // Retry-After on every in-progress poll: without it az and Python wait 30 s, Terraform 10 s.
      return { status: 200, headers: isTerminal(op.status) ? undefined : { "Retry-After": "1" }, body: operationStatusBody(op) };
    },
  },
  {
    kind: "platform", method: "GET", template: `${AKS_LOCATION}/operationresults/{operationId}`, operationId: "ContainerService_OperationResult", versions: "any",
    handler: (req, services) => operationResult(findOperation(req, services, "Microsoft.ContainerService"), req),
  },
];
