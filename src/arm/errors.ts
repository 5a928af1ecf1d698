// The emulator's one error catalogue. Every ARM error it answers with is a named factory below that
// fixes its code, HTTP status and message template (and target or headers where ARM sends them):
// call sites read `throw errors.resourceGroupBeingDeleted(name)`. The engine, handlers, platform and
// backends throw these domain errors; only the HTTP shell turns one into a response:
// {"error": {"code", "message", "target"?, "details"?}}. Nothing outside src/arm/ constructs an
// ArmError by hand (test/unit/errorCatalogue.test.ts keeps it so).
import { AZURE_REGIONS } from "./locations.js";

export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details?: ArmErrorBody[];
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details?: ArmErrorBody[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ArmError";
  }

  toBody(): { error: ArmErrorBody } {
    const error: ArmErrorBody = { code: this.code, message: this.message };
    if (this.target) error.target = this.target;
    if (this.details?.length) error.details = this.details;
    return { error };
  }
}

/** The code an operation records for a failure that is no ArmError (a bug, a backend's plain Error); answered as 500. */
export const INTERNAL_OPERATION_ERROR = "InternalOperationError";
/** The code of the health watch's failure: a cluster failed with it is set Succeeded again once its containers run. */
export const CLUSTER_UNHEALTHY = "ClusterUnhealthy";

/** The code a finished operation records for its error: the ArmError's own, else InternalOperationError. */
export function operationErrorCode(error: Error): string {
  return error instanceof ArmError ? error.code : INTERNAL_OPERATION_ERROR;
}

/** The code an operation settled after a restart records: the ArmError's own, else OperationInterrupted. */
export function interruptedOperationCode(error: Error): string {
  return error instanceof ArmError ? error.code : "OperationInterrupted";
}

const SUPPORTED_VERSIONS_LINK = "Please see https://aka.ms/aks-supported-k8s-ver for version details.";
const UPGRADE_RULES_LINK = "For more information, please check https://aka.ms/aks/UpgradeVersionRules";
const INTERNAL_ERROR_MESSAGE = "An internal error occurred in the emulator.";

const err = (status: number, code: string, message: string, target?: string, details?: ArmErrorBody[], headers?: Record<string, string>) =>
  new ArmError(status, code, message, target, details, headers);

/** ARM's 401: the error envelope plus the WWW-Authenticate challenge naming the authority to sign in at. */
function unauthenticated(authority: string, code: string, message: string, description: string): ArmError {
  const quoted = (text: string) => text.replace(/["\\\r\n]/g, "'");
  return err(401, code, message, undefined, undefined, {
    "WWW-Authenticate": `Bearer authorization_uri="${quoted(authority)}", error="invalid_token", error_description="${quoted(description)}"`,
  });
}

/** The request-content answer over a list of per-property details (the first one's property is the target). */
function contentDetails(code: string, details: ArmErrorBody[]): ArmError {
  return err(400, code, `The request content was invalid: ${details.map((d) => d.message).join("; ")}.`, details[0]?.target, details);
}

/**
 * Codes more than one factory answers with, and why: ARM and AKS reuse a generic code and tell the
 * cases apart by message and target. Every other code belongs to exactly one factory.
 */
export const SHARED_CODES: Readonly<Record<string, string>> = {
  InvalidParameter: "AKS's code for any request property, path or query value it refuses; the message and target name which.",
  LocationNotAvailableForResourceType: "ARM's refusal of a location the resource type is not offered in, and AKS's of a cluster moving to another location.",
  InvalidRequestContent: "ARM's code for a body that is not the JSON the operation takes (shape, type, missing body or tags).",
  NotFound: "AKS's 404 for a missing sub-resource (agent pool, machine, command, profile, child resource) and the web endpoints' 404.",
  OperationNotAllowed: "AKS's refusal of a write the resource's state forbids: 409 while an operation runs or for a cancel, 400 otherwise.",
  BadRequest: "The generic 400 AKS and ARM use for a service principal reset on an MSI cluster, conflicting conditional headers and a node label kubelet may not set.",
  PreconditionFailed: "ARM's 412 for each way If-Match / If-None-Match can fail.",
  NoRegisteredProviderFound: "ARM's answer for an api-version no document serves, and for the provider switched off.",
  InvalidResourceGroupName: "The resource group name refused by the platform's own rule and by the spec's pattern.",
  InternalServerError: "A 500 that is the emulator's fault: a failed stage, a missing token issuer, web endpoints.",
  AuthenticationFailed: "ARM's 401 for a missing and for a malformed Authorization header.",
  RequestContentTooLarge: "ARM's 413 for a body over the limit, and node's for oversized chunk extensions.",
  OperationInterrupted: "An operation the emulator's restart cut short, named by operation or by the resource's state.",
  RealModeUnavailable: "Docker not answering: 400 when a write is refused up front, 500 when it stops during the work.",
  ClusterNotReady: "409 for a real-mode cluster whose containers or credentials do not exist yet.",
  NodesNotReady: "Real-mode node containers that exited or did not become Ready in time.",
  NodePoolMcVersionIncompatible: "AKS's code for a pool version above its control plane and for one too far below it.",
};

/** The error catalogue. Grouped by where the error arises; each factory documents its status and code. */
export const errors = {
  // ---- ARM front door: URI, route, subscription, api-version, provider ------------------------------

  /** 400 InvalidRequestUri: a path segment with a malformed escape. */
  invalidRequestUri: (path: string) => err(400, "InvalidRequestUri", `The request URI '${path}' is not valid.`),
  /** 405 MethodNotAllowed, with the Allow header RFC 9110 asks for. */
  methodNotAllowed: (method: string | undefined, path: string, allowed: readonly string[]) =>
    err(405, "MethodNotAllowed", `The HTTP method '${method}' is not supported at '${path}'. Supported: ${allowed.join(", ")}.`, undefined, undefined, {
      Allow: allowed.join(", "),
    }),
  /** 400 InvalidSubscriptionId: a subscription id that is not a GUID. */
  invalidSubscriptionId: (subscriptionId: string) => err(400, "InvalidSubscriptionId", `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`),
  /** 400 MissingApiVersionParameter. */
  missingApiVersion: () => err(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."),
  /** 400 InvalidApiVersionParameter, naming the accepted versions when there is a fixed list. */
  invalidApiVersion: (apiVersion: string, accepted: readonly string[] | undefined) => {
    const supported = accepted ? ` The supported versions are '${accepted.join(",")}'.` : "";
    return err(400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid.${supported}`);
  },
  /** 400 NoRegisteredProviderFound: Microsoft.ContainerService switched off by configuration. */
  providerDisabled: () =>
    err(400, "NoRegisteredProviderFound", "The Microsoft.ContainerService provider is disabled in this emulator (FLOCI_AZ_SERVICES_AKS_ENABLED=false)."),
  /** 400 NoRegisteredProviderFound: an api-version no document serves for the operation. */
  noRegisteredProvider: (location: string, apiVersion: string, resourceType: string, supported: readonly string[], defaultLocation: string) =>
    err(
      400,
      "NoRegisteredProviderFound",
      `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${resourceType}'. ` +
        `The supported api-versions are '${supported.join(", ")}'. The supported locations are '${defaultLocation}'.`,
    ),
  /** 501 NotImplemented: a spec operation with no handler. */
  notImplemented: (operationId: string) => err(501, "NotImplemented", `The operation '${operationId}' is not implemented by the emulator.`),
  /** 500 InvalidResponse: strict response validation caught the emulator breaking the spec. */
  invalidResponse: (operationId: string, summary: string) => err(500, "InvalidResponse", `The emulator's response to ${operationId} breaks the spec: ${summary}`),
  /** 500 InternalServerError: something failed that is the emulator's fault. */
  internalError: (message: string = INTERNAL_ERROR_MESSAGE) => err(500, "InternalServerError", message),
  /**
   * 507 InsufficientStorage: the data folder's disk is full. The request's transaction was rolled
   * back, so it had no effect; the same request succeeds once space is freed. Retry-After says so.
   */
  insufficientStorage: (file: string) =>
    err(507, "InsufficientStorage", `The emulator's data folder is full (writing '${file}' failed): the request was not applied. Free space on that disk and retry.`, undefined, undefined, {
      "Retry-After": "5",
    }),

  // ---- throttling (429 with Retry-After; FLOCI_AZ_SERVICES_AKS_RATE_LIMIT) -------------------------

  /**
   * 429 SubscriptionRequestsThrottled: a subscription's token bucket for this kind of request is empty;
   * TenantRequestsThrottled, worded alike, for a tenant-level request (no subscription in its path).
   * ARM's message as its token-bucket throttling sends it (https://aka.ms/arm-throttling).
   */
  throttled: (scope: "subscription" | "tenant", kind: string, scopeId: string, actor: string, retryAfterSeconds: number) =>
    err(
      429,
      scope === "subscription" ? "SubscriptionRequestsThrottled" : "TenantRequestsThrottled",
      `Number of '${kind}' requests for ${scope} '${scopeId}' actor '${actor}' exceeded. Please try again after '${retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
      undefined,
      undefined,
      { "Retry-After": String(retryAfterSeconds) },
    ),

  // ---- authentication (401 with WWW-Authenticate) --------------------------------------------------

  /** 401 AuthenticationFailed: no Authorization header. */
  authorizationMissing: (authority: string) =>
    unauthenticated(authority, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", "The authentication failed because of missing 'Authorization' header."),
  /** 401 AuthenticationFailed: an Authorization header that is not `Bearer <token>`. */
  authorizationMalformed: (authority: string) =>
    unauthenticated(
      authority,
      "AuthenticationFailed",
      "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      "The authentication failed because of the invalid format of 'Authorization' header: expected 'Bearer <token>'.",
    ),
  /** 500 InternalServerError: token checks on without an issuer to check against. */
  noTokenIssuer: () => err(500, "InternalServerError", "Token checks are on but the emulator has no token issuer."),
  /** 401 ExpiredAuthenticationToken. */
  tokenExpired: (authority: string, expiry: string, now: string) => {
    const message = `The access token expiry UTC time '${expiry}' is earlier than current UTC time '${now}'.`;
    return unauthenticated(authority, "ExpiredAuthenticationToken", message, message);
  },
  /** 401 InvalidAuthenticationTokenTenant: a token from another issuer. */
  tokenWrongIssuer: (authority: string, issuer: string, expectedIssuer: string) => {
    const message =
      `The access token is from the wrong issuer '${issuer}'. It must match the tenant '${expectedIssuer}' associated with this subscription. ` +
      `Please use the authority (URL) '${authority}' to get the token.`;
    return unauthenticated(authority, "InvalidAuthenticationTokenTenant", message, message);
  },
  /** 401 InvalidAuthenticationToken: any other token the emulator did not issue. */
  tokenInvalid: (authority: string, reason: string) =>
    unauthenticated(authority, "InvalidAuthenticationToken", "The access token is invalid.", `The access token is invalid: ${reason}.`),

  // ---- the request as bytes: HTTP parsing, body reading, JSON ------------------------------------

  /** 431 RequestHeaderFieldsTooLarge (node's parser). */
  requestHeadersTooLarge: (limit: number) => err(431, "RequestHeaderFieldsTooLarge", `The request line and headers exceed the limit of ${limit} bytes.`),
  /** 413 RequestContentTooLarge (node's parser): chunk extensions over its limit. */
  chunkExtensionsTooLarge: () => err(413, "RequestContentTooLarge", "The chunk extensions of the request body are too large."),
  /** 408 RequestTimeout: headers or body sent too slowly. */
  requestTimeout: () =>
    err(408, "RequestTimeout", "The request was not received in time: the client sent its headers or body too slowly, or stopped sending."),
  /** 400 InvalidRequestFormat: bytes node's HTTP/1.1 parser refused. */
  invalidRequestFormat: (parserCode: string | undefined, detail: string) =>
    err(400, "InvalidRequestFormat", `The request is not valid HTTP/1.1 (${parserCode ?? "parse error"}: ${detail}).`),
  /** 413 RequestContentTooLarge: ARM's own code and wording for a body over its limit. */
  bodyTooLarge: (limit: number) => err(413, "RequestContentTooLarge", `The request content size exceeds the maximum size of ${limit} bytes.`),
  /** 400 InvalidRequestContent: the body stream failed. */
  bodyUnreadable: (reason: string) => err(400, "InvalidRequestContent", `The request body could not be read: ${reason}`),
  /** 400 InvalidRequestContent: the connection closed mid-body. */
  bodyIncomplete: () => err(400, "InvalidRequestContent", "The connection closed before the request body was complete."),
  /** 400 InvalidRequestContent: JSON nested deeper than the emulator parses. */
  bodyTooDeep: (maxDepth: number) =>
    err(400, "InvalidRequestContent", `The request content was invalid: JSON nested deeper than ${maxDepth} levels is not accepted.`),
  /** 400 InvalidRequestContent: a body that is not JSON. */
  bodyNotJson: (reason: string) => err(400, "InvalidRequestContent", `The request content was invalid and could not be deserialized: '${reason}'.`),
  /** 415 UnsupportedMediaType: a body whose Content-Type is not application/json (`undefined`: no Content-Type at all). */
  unsupportedMediaType: (contentType: string | undefined) =>
    err(415, "UnsupportedMediaType", `The content media type '${contentType ?? "<null>"}' is not supported. Only 'application/json' is supported.`),
  /** 400 MissingHostHeader: an HTTP/1.1 request without the Host header RFC 9112 requires. */
  hostHeaderMissing: () => err(400, "MissingHostHeader", "The request has no Host header; HTTP/1.1 requires one (RFC 9112, section 3.2)."),
  /** 417 ExpectationFailed: an Expect header other than 100-continue. */
  expectationUnsupported: (expect: string) =>
    err(417, "ExpectationFailed", `The expectation '${expect}' of the Expect header is not supported; only '100-continue' is.`),

  // ---- the request against the spec (ajv's findings) and ARM's conventions ---------------------------

  /** 400 SkuNotAvailable: the cluster SKU "Basic", renamed "Base" in 2023-02-01. */
  basicSkuRenamed: () => err(400, "SkuNotAvailable", "Basic managed cluster SKU name is invalid. 'Basic' has been replaced by 'Base' since v2023-02-01.", "sku.name"),
  /** 400 InvalidParameter (InvalidResourceGroupName for resourceGroupName): a path value the spec refuses. */
  pathParameterInvalid: (name: string, value: string, reason: string) =>
    err(400, name === "resourceGroupName" ? "InvalidResourceGroupName" : "InvalidParameter", `The value '${value}' of parameter '${name}' is invalid: it ${reason}.`, name),
  /** 400 InvalidParameter: a query parameter the spec refuses. */
  queryParameterInvalid: (parameter: string, reason: string) => err(400, "InvalidParameter", `The query parameter '${parameter}' ${reason}.`, parameter),
  /** 400 InvalidRequestContent: an operation that takes a body, sent none. */
  bodyRequired: () => err(400, "InvalidRequestContent", "The request content was invalid: the operation requires a JSON object body and none was sent."),
  /** 400 LocationRequired: ARM checks location before anything else in a tracked resource's body. */
  locationRequired: () => err(400, "LocationRequired", "The location property is required for this definition."),
  /** 400 InvalidParameter: well-typed JSON whose values break the spec's rules; one detail per finding. */
  bodyValuesInvalid: (details: ArmErrorBody[]) => contentDetails("InvalidParameter", details),
  /** 400 InvalidRequestContent: JSON of the wrong shape (types, required properties); one detail per finding. */
  bodyShapeInvalid: (details: ArmErrorBody[]) => contentDetails("InvalidRequestContent", details),
  /** 400 InvalidSkipToken: a $skipToken the emulator did not hand out. */
  invalidSkipToken: (token: string) => err(400, "InvalidSkipToken", `The $skipToken '${token}' is not valid.`, "$skipToken"),
  /** 400 BadRequest: If-None-Match other than '*'. */
  ifNoneMatchInvalid: (header: string) => err(400, "BadRequest", `The If-None-Match header can only be empty or '*'; it was '${header}'.`),
  /** 400 BadRequest: If-Match together with If-None-Match. */
  conditionalHeadersTogether: () => err(400, "BadRequest", "The If-Match and If-None-Match headers cannot be used together."),
  /** 412 PreconditionFailed: If-None-Match '*' on a resource that exists. */
  preconditionAlreadyExists: (kind: string, name: string) =>
    err(412, "PreconditionFailed", `The ${kind} '${name}' already exists, and the If-None-Match header is '*'. Leave the header out to update it.`),
  /** 412 PreconditionFailed: If-Match on a resource that does not exist. */
  preconditionNoResource: (kind: string, name: string) =>
    err(412, "PreconditionFailed", `Resource not found but ETag header is provided. If this is a request to create ${kind} '${name}', please do not provide ETag.`),
  /** 412 PreconditionFailed: If-Match naming another eTag. */
  preconditionETagMismatch: (header: string, kind: string, name: string) =>
    err(
      412,
      "PreconditionFailed",
      `The eTag '${header}' in the If-Match header does not match the current eTag of ${kind} '${name}'. GET the resource for its current eTag and retry.`,
    ),

  // ---- the emulator's own web endpoints --------------------------------------------------------------

  /** 404 NotFound: no ARM route and no web endpoint. */
  noEndpointMatches: (method: string, path: string) => err(404, "NotFound", `No resource or endpoint matches '${method} ${path}'.`),
  /** A web endpoint's failure: its 4xx as InvalidRequestContent, anything else 500 InternalServerError. */
  webEndpointFailed: (status: number, message: string) => err(status, status === 500 ? "InternalServerError" : "InvalidRequestContent", message),
  /** 400 InvalidFaultRule: a fault-injection rule (POST /_emulator/faults, the faults file) the emulator cannot use. */
  faultRuleInvalid: (reason: string) => err(400, "InvalidFaultRule", `The fault rule is invalid: ${reason}`),
  /** 404 FaultRuleNotFound: DELETE /_emulator/faults/{id} of a rule that does not exist. */
  faultRuleNotFound: (id: string) => err(404, "FaultRuleNotFound", `No fault rule with id '${id}' exists.`),
  /**
   * An injected fault's answer (a rule's `error`): the status, code and message the rule names, in
   * ARM's envelope, with Retry-After when the rule gives one (a 429's or a 503's).
   */
  injected: (status: number, code: string, message: string, retryAfter?: number) =>
    err(status, code, message, undefined, undefined, retryAfter !== undefined ? { "Retry-After": String(retryAfter) } : undefined),
  /** An injected fault's end of a long-running operation (a rule's `failOperation`): the AKS code and message it names. */
  injectedOperationFailure: (code: string, message: string) => err(400, code, message),
  /** 500 InternalServerError: the web endpoints could not be loaded. */
  webEndpointsUnavailable: () => err(500, "InternalServerError", "The emulator's web endpoints failed to load."),

  // ---- Microsoft.Resources: resource groups, resources, operations ------------------------------------

  /** 404 ResourceNotFound, ARM's message for a missing tracked resource, e.g. "The Resource 'Microsoft.ContainerService/managedClusters/c1' under resource group 'rg' was not found. ...". */
  resourceNotFound: (type: string, name: string, resourceGroup?: string) => {
    const scope = resourceGroup ? ` under resource group '${resourceGroup}'` : "";
    return err(404, "ResourceNotFound", `The Resource '${type}/${name}'${scope} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  },
  /** 404 ResourceGroupNotFound. */
  resourceGroupNotFound: (resourceGroup: string) => err(404, "ResourceGroupNotFound", `Resource group '${resourceGroup}' could not be found.`),
  /** 409 ResourceGroupBeingDeleted: any write into a group being deleted, the group's own PUT included. */
  resourceGroupBeingDeleted: (resourceGroup: string) =>
    err(409, "ResourceGroupBeingDeleted", `The resource group '${resourceGroup}' is in deprovisioning state and cannot perform this operation.`),
  /** 409 InvalidResourceGroupLocation: a group PUT naming another location than the group's. */
  resourceGroupLocationConflict: (requested: string, existing: string) =>
    err(409, "InvalidResourceGroupLocation", `Invalid resource group location '${requested}'. The Resource group already exists in location '${existing}'.`),
  /**
   * 400 LocationNotAvailableForResourceGroup: a resource group PUT naming a location Azure does not
   * have, in ARM's words (quoted in microsoft/vscode-azureresourcegroups#33 and Azure/azure-cli#7602).
   */
  locationNotAvailableForResourceGroup: (location: string) =>
    err(
      400,
      "LocationNotAvailableForResourceGroup",
      `The provided location '${location}' is not available for resource group. List of available regions is '${AZURE_REGIONS.join(",")}'.`,
      "location",
    ),
  /** 400 InvalidResourceGroupName: the platform's naming rule. */
  resourceGroupNameInvalid: (resourceGroup: string) =>
    err(
      400,
      "InvalidResourceGroupName",
      `Resource group name '${resourceGroup}' is invalid: use up to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.`,
      "resourceGroupName",
    ),
  /** 400 InvalidRequestContent: a resource group PUT whose body is no object. */
  resourceGroupBodyInvalid: () => err(400, "InvalidRequestContent", "The request content was invalid: a JSON object with 'location' is required."),
  /** 400 InvalidRequestContent: a PATCH whose body is no object. */
  patchBodyInvalid: () => err(400, "InvalidRequestContent", "The request content was invalid: a JSON object is required."),
  /** 400 InvalidRequestContent: tags that are not an object of strings. */
  tagsInvalid: () => err(400, "InvalidRequestContent", "The request content was invalid: 'tags' must be an object of strings.", "tags"),
  /** 404 NotFound: an operation id unknown to the provider and subscription. */
  operationNotFound: (operationId: string) => err(404, "NotFound", `Operation '${operationId}' was not found.`),
  /**
   * A failed or canceled operation as its result URL answers it: the recorded code and message
   * (500 for InternalOperationError, 400 otherwise), else 400 OperationFailed.
   */
  operationFailed: (name: string, status: string, recorded: ArmErrorBody | undefined) =>
    err(recorded?.code === INTERNAL_OPERATION_ERROR ? 500 : 400, recorded?.code ?? "OperationFailed", recorded?.message ?? `Operation ${name} ${status.toLowerCase()}.`),

  // ---- operations: busy, canceled, interrupted -------------------------------------------------------

  /** 409 OperationNotAllowed: a write while an operation runs on the resource (or its cluster). */
  operationInProgress: (action: string, operationName: string, resourceName: string, startTime: string) =>
    err(
      409,
      "OperationNotAllowed",
      `Operation is not allowed because there's an in progress ${action} operation (${operationName}) on '${resourceName}' started at ${startTime}. Please wait for it to finish.`,
    ),
  /** 409 OperationNotAllowed: AbortLatestOperation with nothing running. */
  cancelNotAllowed: (provisioningState: string) => err(409, "OperationNotAllowed", `Cancel operation is not allowed when the ProvisioningState is ${provisioningState}.`),
  /** 409 OperationCanceled: what a canceled operation records. */
  operationCanceled: (action: string) => err(409, "OperationCanceled", `The operation '${action}' was canceled by an AbortLatestOperation request.`),
  /** 500 OperationInterrupted: an operation the emulator's restart cut short. */
  operationInterrupted: (action: string) => err(500, "OperationInterrupted", `The emulator restarted while operation '${action}' was running; retry the request.`),
  /** 500: a resource found mid-operation after a restart fails with its operation's recorded error, else OperationInterrupted. */
  resourceInterrupted: (recorded: Partial<ArmErrorBody> | undefined, resourceName: string | undefined, state: string | undefined) =>
    err(500, recorded?.code ?? "OperationInterrupted", recorded?.message ?? `The emulator restarted while '${resourceName}' was ${state}; retry the request.`),

  // ---- managed clusters -----------------------------------------------------------------------------

  /** 400 OperationNotAllowed: any write to a stopped cluster but Start and Delete, in AKS's words. */
  clusterStopped: (subscriptionId: string, resourceGroup: string) =>
    err(
      400,
      "OperationNotAllowed",
      `An error has occurred in subscription ${subscriptionId}, resourceGroup: ${resourceGroup} request: Managed Cluster is in stopped state, no operations except for start are allowed.`,
    ),
  /** 400 OperationNotAllowed: stop or start in a state that does not allow it. */
  powerChangeNotAllowed: (provisioningState: string, powerState: string, verb: "stopping" | "starting") =>
    err(400, "OperationNotAllowed", `Managed cluster is in Provisioning State(${provisioningState}) and Power State(${powerState}), ${verb} cannot be performed.`),
  /**
   * 400 LocationNotAvailableForResourceType: a new resource in a location Azure does not offer its type
   * in, in ARM's words (quoted in Azure/pcs-cli#409 and Azure/AKS#5099).
   */
  locationNotAvailableForResourceType: (location: string, resourceType: string) =>
    err(
      400,
      "LocationNotAvailableForResourceType",
      `The provided location '${location}' is not available for resource type '${resourceType}'. List of available regions for the resource type is '${AZURE_REGIONS.join(",")}'.`,
      "location",
    ),
  /** 400 LocationNotAvailableForResourceType: a cluster PUT moving the cluster. */
  clusterLocationChange: (cluster: string, from: string, to: string) =>
    err(400, "LocationNotAvailableForResourceType", `The location of cluster '${cluster}' cannot change from '${from}' to '${to}'.`, "location"),
  /** 400 PropertyChangeNotAllowed: an update changing a create-only cluster property (AKS's words: "Changing property 'dnsPrefix' is not allowed."). */
  propertyChangeNotAllowed: (property: string) => err(400, "PropertyChangeNotAllowed", `Changing property '${property}' is not allowed.`, property),
  /**
   * 400 InvalidParameter: a dnsPrefix that is not 1-54 letters, digits and hyphens starting and ending
   * alphanumeric (AKS's naming rules, https://aka.ms/aks-naming-rules). AKS's exact words were not found;
   * this follows its pattern for a refused parameter ("The value of parameter ... is invalid.").
   */
  dnsPrefixInvalid: (dnsPrefix: string) =>
    err(
      400,
      "InvalidParameter",
      `The value of parameter dnsPrefix '${dnsPrefix}' is invalid: it must contain between 1 and 54 characters, only letters, numbers and hyphens, and start and end with a letter or a number. Please see https://aka.ms/aks-naming-rules for more details.`,
      "properties.dnsPrefix",
    ),
  /** 400 InvalidTagNameCharacters: ARM's answer for tag names with a reserved or control character; `names` as ARM lists them, joined by ", ". */
  tagNameCharacters: (names: string) =>
    err(400, "InvalidTagNameCharacters", `The tag names '${names}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`, "tags"),
  /** 400 InvalidTagName: ARM's answer for a tag name over 512 characters; `names` joined by ", ". */
  tagNameTooLong: (names: string, limit: number) =>
    err(400, "InvalidTagName", `Tag key too large. Following tag name '${names}' exceeded the maximum length. Maximum allowed length for tag name - '${limit}' characters.`, "tags"),
  /**
   * 400 InvalidTagValueLength: ARM's answer for a tag value over 256 characters; `values` joined by ", "
   * (ARM's words, as a PowerShell module mirroring ARM's tag checks quotes them: "Tag value too large.
   * Following tag value '...' exceeded the maximum length. Maximum allowed length for tag value - '256' characters.").
   */
  tagValueTooLong: (values: string, limit: number) =>
    err(
      400,
      "InvalidTagValueLength",
      `Tag value too large. Following tag value '${values}' exceeded the maximum length. Maximum allowed length for tag value - '${limit}' characters.`,
      "tags",
    ),
  /** 400 InvalidTags: ARM's answer for more than 50 tags on a resource. */
  tooManyTags: (count: number, limit: number) =>
    err(400, "InvalidTags", `Too many tags specified. Requested tag count - '${count}'. Maximum number of tags allowed - '${limit}'.`, "tags"),
  /** 400 InvalidParameter: a new cluster without agent pools. */
  clusterWithoutPools: () =>
    err(400, "InvalidParameter", "A managed cluster needs at least one agent pool in properties.agentPoolProfiles, and one of them must be a System pool.", "properties.agentPoolProfiles"),
  /** 400 InvalidParameter: an agent pool named twice in agentPoolProfiles. */
  duplicatePoolName: (pool: string) => err(400, "InvalidParameter", `Agent pool name '${pool}' appears twice in properties.agentPoolProfiles.`, "properties.agentPoolProfiles"),
  /** 400 InvalidParameter: a cluster whose pools would have no System pool. */
  clusterWithoutSystemPool: () => err(400, "InvalidParameter", "A managed cluster needs at least one agent pool of mode System.", "properties.agentPoolProfiles"),
  /** 400 BadRequest: ResetServicePrincipalProfile on a cluster with a managed identity, in AKS's words. */
  servicePrincipalOnMsiCluster: () => err(400, "BadRequest", "Updating service principal profile is not allowed on MSI cluster."),
  /**
   * 400 InvalidParameter: a RunCommand whose command is empty or blank. AKS's exact words for it are
   * not quoted anywhere public: the message follows AKS's InvalidParameter pattern.
   */
  runCommandEmpty: () => err(400, "InvalidParameter", "The value of parameter command is invalid: the command to run must not be empty.", "command"),
  /**
   * 400 InvalidParameter: a network profile range AKS refuses: a service or pod CIDR that is no IPv4
   * CIDR, or that overlaps a range AKS reserves (169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16,
   * 192.0.2.0/24: AKS docs "Configure kubenet networking", prerequisites; Azure/AKS#2234), or pod and
   * service CIDRs that overlap. AKS's own words for these are not public (Azure/AKS#2234 asks for
   * them): the message follows AKS's InvalidParameter pattern, the target names the property.
   */
  networkCidrInvalid: (property: string, value: string, reason: string) =>
    err(400, "InvalidParameter", `The value of parameter networkProfile.${property} '${value}' is invalid: ${reason}.`, `properties.networkProfile.${property}`),
  /**
   * 400 InvalidParameter: a dnsServiceIP outside the service CIDR, or its network address or first
   * address (the kubernetes service's; Azure/AKS#2579 made AKS refuse these, aks-engine's words:
   * "DNSServiceIP is not within ServiceCidr", "DNSServiceIP can not be the first IP address in
   * ServiceCidr"). AKS's own text is not public: the message follows its InvalidParameter pattern.
   */
  dnsServiceIPInvalid: (dnsServiceIP: string, serviceCidr: string, reason: string) =>
    err(
      400,
      "InvalidParameter",
      `The value of parameter networkProfile.dnsServiceIP '${dnsServiceIP}' is invalid: ${reason} of serviceCidr '${serviceCidr}'.`,
      "properties.networkProfile.dnsServiceIP",
    ),
  /** 404 NotFound: a run-command id the cluster never ran. */
  commandNotFound: (commandId: string, cluster: string) => err(404, "NotFound", `Command '${commandId}' was not found in managed cluster '${cluster}'.`),
  /** 404 NotFound: an access profile role other than clusterAdmin and clusterUser. */
  accessProfileNotFound: (roleName: string, cluster: string) =>
    err(404, "NotFound", `Access profile '${roleName}' was not found in managed cluster '${cluster}': the role names are 'clusterAdmin' and 'clusterUser'.`),
  /** 500 ClusterUnhealthy: the health watch found a cluster's containers gone. */
  clusterUnhealthy: (cluster: string, problems: readonly string[]) =>
    err(
      500,
      CLUSTER_UNHEALTHY,
      `Managed cluster '${cluster}' lost containers behind the emulator's back: ${problems.join(" ")} ` +
        "Start them again, or update the cluster (a PUT of it, e.g. az aks update) to recreate them.",
    ),

  // ---- Kubernetes versions ----------------------------------------------------------------------------

  /** 400 K8sVersionNotSupported: a cluster version outside the catalogue. */
  k8sVersionNotSupported: (version: string, location: string) =>
    err(
      400,
      "K8sVersionNotSupported",
      `Version ${version} is not supported in this region (${location}). Please use [az aks get-versions] command to get the supported version list in this region.`,
      "properties.kubernetesVersion",
    ),
  /** 400 AgentPoolK8sVersionNotSupported: a pool version outside the catalogue. */
  agentPoolK8sVersionNotSupported: (version: string, location: string) =>
    err(
      400,
      "AgentPoolK8sVersionNotSupported",
      `Version ${version} is not supported in this region (${location}). Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list`,
      "properties.orchestratorVersion",
    ),
  /** 400 OperationNotAllowed: a control plane downgrade; `allowed` are the upgrades, oldest first. */
  kubernetesDowngrade: (current: string, target: string, allowed: readonly string[]) =>
    err(
      400,
      "OperationNotAllowed",
      `Downgrading Kubernetes version ${current} to ${target} is not allowed. ${availableUpgrades(allowed)} ${SUPPORTED_VERSIONS_LINK}`,
      "properties.kubernetesVersion",
    ),
  /** 400 OperationNotAllowed: a control plane upgrade off the paths; `allowed` are the upgrades, oldest first. */
  kubernetesUpgradeNotAllowed: (current: string, target: string, allowed: readonly string[]) =>
    err(
      400,
      "OperationNotAllowed",
      `Upgrading Kubernetes version ${current} to ${target} is not allowed. ${availableUpgrades(allowed)} ${SUPPORTED_VERSIONS_LINK}`,
      "properties.kubernetesVersion",
    ),
  /** 400 AgentPoolUpgradeVersionNotAllowed: a pool upgrade skipping a minor. */
  agentPoolUpgradeNotAllowed: (current: string, target: string) =>
    err(
      400,
      "AgentPoolUpgradeVersionNotAllowed",
      `Upgrade agent pool version from ${current} to ${target} is not allowed, you can only upgrade one minor version at a time. Please use [az aks get-upgrades] command to get the supported upgrade paths. For more information, please check https://aka.ms/version-skew-policy`,
      "properties.orchestratorVersion",
    ),
  /** 400 NodePoolMcVersionIncompatible: a pool above its control plane. */
  poolAboveControlPlane: (target: string, controlPlane: string, targetMinor: number, controlPlaneMinor: number) => {
    const why =
      targetMinor > controlPlaneMinor
        ? `Minor version of node pool version ${targetMinor} is bigger than control plane version ${controlPlaneMinor}.`
        : "Node pool version cannot be greater than control plane version.";
    return err(400, "NodePoolMcVersionIncompatible", `${incompatibleVersions(target, controlPlane)} ${why} ${UPGRADE_RULES_LINK}`, "properties.orchestratorVersion");
  },
  /** 400 NodePoolMcVersionIncompatible: a pool more than `maxSkew` minors below its control plane. */
  poolTooFarBehind: (target: string, controlPlane: string, maxSkew: number, targetMinor: number, controlPlaneMinor: number) =>
    err(
      400,
      "NodePoolMcVersionIncompatible",
      `${incompatibleVersions(target, controlPlane)} Minor version of node pool cannot be more than ${maxSkew} versions less than control plane's version. Minor version of node pool is ${targetMinor} and control plane is ${controlPlaneMinor}. ${UPGRADE_RULES_LINK}`,
      "properties.orchestratorVersion",
    ),

  // ---- agent pools and machines -----------------------------------------------------------------------

  /** 404 NotFound: an agent pool the cluster does not have. */
  agentPoolNotFound: (pool: string, cluster: string) => err(404, "NotFound", `Agent pool '${pool}' was not found in managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: a System pool of no nodes. */
  systemPoolCountTooLow: (pool: string) => err(400, "InvalidParameter", `The count of System agent pool '${pool}' must be at least 1.`, "properties.count"),
  /** 400 InvalidParameter: autoscaling without a sound minCount..maxCount. */
  autoscaleBoundsInvalid: (pool: string) =>
    err(400, "InvalidParameter", `Agent pool '${pool}' enables autoscaling: minCount and maxCount are required and minCount may not exceed maxCount.`, "properties.minCount"),
  /** 400 OperationNotAllowed: stopping a System pool. */
  systemPoolCannotStop: (pool: string) =>
    err(
      400,
      "OperationNotAllowed",
      `Agent pool '${pool}' is a System pool and System pools cannot be stopped. Stop the whole cluster (az aks stop) or stop User pools only.`,
      "properties.powerState.code",
    ),
  /** 400 OperationNotAllowed: deleting the cluster's last System pool. */
  lastSystemPool: (pool: string, cluster: string) =>
    err(400, "OperationNotAllowed", `Agent pool '${pool}' is the last System pool of managed cluster '${cluster}'; a cluster needs at least one System pool.`),
  /**
   * 400 InvalidParameter: a pool's count outside what it may have (User 0-1000, System 1-1000). AKS's
   * words (an AKS create refused, quoted in kubernetes-sigs/cluster-api-provider-azure#5947); the
   * reasons sentence only when the floor is 1.
   */
  agentPoolCountOutOfRange: (count: number, minCount: number, maxCount: number, systemPoolFloor: boolean) =>
    err(
      400,
      "InvalidParameter",
      `agentPoolProfile.count was ${count}. It must be greater or equal to minCount:${minCount} and less than or equal to maxCount:${maxCount}.` +
        (systemPoolFloor ? " If allowedMinCount was expected to be 0 but is 1: 1) The nodepool is a VMAS pool. 2) api Version is less than 2020-03-01. 3) The node is a system pool." : ""),
      "properties.count",
    ),
  /** 400 InvalidParameter: maxPods outside 10-250, in AKS's words (Azure/AKS#931). */
  maxPodsInvalid: () => err(400, "InvalidParameter", "The value of parameter maxPods is invalid.", "properties.maxPods"),
  /** 400 SystemPoolMustBeLinux: a System pool of Windows nodes, in AKS's words (kubernetes-sigs/cluster-api-provider-azure#1174). */
  systemPoolMustBeLinux: (pool: string) => err(400, "SystemPoolMustBeLinux", `System node pool must be linux. Nodepool name: ${pool}.`, "properties.osType"),
  /** 400 WindowsAgentPoolNameTooLong: a Windows pool named with more than 6 characters, in AKS's words (jenkins-infra/azure#284). */
  windowsPoolNameTooLong: () => err(400, "WindowsAgentPoolNameTooLong", "Windows agent pool name can not be longer than 6 characters."),
  /**
   * 400 BadRequest: a pool nodeLabels key in the kubernetes.io or k8s.io namespace that kubelet does not
   * let a node set on itself (its --node-labels check: the node would never register), such as
   * node-role.kubernetes.io/x. AKS's words and target ("key=value") as quoted in
   * hashicorp/terraform-provider-azurerm#18567 (node-role.kubernetes.io/eos, 2022-09) and Azure/AKS#2866
   * (node-restriction.kubernetes.io/mvis, 2022-03); Azure/AKS#4628 (2025-03): AKS still blocks these.
   */
  reservedNodeLabel: (key: string, value: string) =>
    err(
      400,
      "BadRequest",
      "For Kubernetes version greater than or equal to 1.16, node label keys in the 'kubernetes.io' or 'k8s.io' namespace must begin with an allowed prefix (kubelet.kubernetes.io, node.kubernetes.io). For more information, please check https://aka.ms/aks-node-labels-116.",
      `${key}=${value}`,
    ),
  /**
   * 400 InvalidParameter: a cluster over AKS's quota of 100 agent pools. AKS's own text for it is not
   * public (docs "Quotas, virtual machine size restrictions, and region availability" give the limit
   * only): the message follows AKS's InvalidParameter pattern.
   */
  tooManyAgentPools: (cluster: string, pools: number, limit: number) =>
    err(
      400,
      "InvalidParameter",
      `The value of parameter agentPoolProfiles is invalid: managed cluster '${cluster}' would have ${pools} agent pools; a managed cluster can have at most ${limit} agent pools. Please see https://aka.ms/aks/quotas-skus-regions for more details.`,
      "properties.agentPoolProfiles",
    ),
  /**
   * 400 InvalidParameter: a cluster over AKS's quota of 5,000 nodes across its pools. As for the pool
   * quota, AKS's own text is not public: the message follows AKS's InvalidParameter pattern.
   */
  tooManyClusterNodes: (cluster: string, nodes: number, limit: number) =>
    err(
      400,
      "InvalidParameter",
      `The value of parameter agentPoolProfile.count is invalid: managed cluster '${cluster}' would have ${nodes} nodes across its agent pools; a managed cluster can have at most ${limit} nodes. Please see https://aka.ms/aks/quotas-skus-regions for more details.`,
      "properties.count",
    ),
  /** 404 NotFound: a machine the pool does not have. */
  machineNotFound: (machine: string, pool: string, cluster: string) =>
    err(404, "NotFound", `Machine '${machine}' was not found in agent pool '${pool}' of managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: DeleteMachines naming no machine. */
  noMachinesNamed: () => err(400, "InvalidParameter", "The request must name at least one machine in machineNames.", "machineNames"),
  /** 400 InvalidParameter: DeleteMachines naming machines the pool does not have. */
  machinesNotInPool: (machines: readonly string[], pool: string) =>
    err(
      400,
      "InvalidParameter",
      `Machine(s) ${machines.map((n) => `'${n}'`).join(", ")} not found in agent pool '${pool}'. Use 'az aks machine list' to see the machines of the agent pool.`,
      "machineNames",
    ),
  /** 400 InvalidParameter: DeleteMachines emptying a System pool. */
  machinesEmptySystemPool: (pool: string) =>
    err(400, "InvalidParameter", `Deleting these machines would leave System agent pool '${pool}' with no nodes; a System pool needs at least 1 node.`, "machineNames"),

  // ---- cluster sub-resources and catalogues -----------------------------------------------------------

  /** 404 NotFound: a mesh revision profile mode other than istio. */
  meshRevisionProfileNotFound: (mode: string, location: string) =>
    err(404, "NotFound", `Mesh revision profile for mode '${mode}' was not found in location '${location}'. The supported modes are 'istio'.`),
  /** 404 NotFound: a mesh upgrade profile mode other than istio. */
  meshUpgradeProfileNotFound: (mode: string, cluster: string) =>
    err(404, "NotFound", `Mesh upgrade profile for mode '${mode}' was not found in managed cluster '${cluster}'. The supported modes are 'istio'.`),
  /** 404 NotFound: the mesh upgrade profile of a cluster whose mesh is not Istio. */
  meshNotIstio: (mode: string, cluster: string, meshMode: string) =>
    err(404, "NotFound", `Mesh upgrade profile for mode '${mode}' was not found in managed cluster '${cluster}': its service mesh is not Istio (serviceMeshProfile.mode is '${meshMode}').`),
  /** 404 NotFound: a maintenance configuration the cluster does not have. */
  maintenanceConfigurationNotFound: (name: string, cluster: string) =>
    err(404, "NotFound", `Maintenance configuration '${name}' was not found in managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: a configName AKS does not know (AKS's own wording). */
  maintenanceConfigNameInvalid: () =>
    err(
      400,
      "InvalidParameter",
      "Only 'default', 'aksManagedAutoUpgradeSchedule' and 'aksManagedNodeOSUpgradeSchedule' are allowed configNames for maintenance configuration.",
    ),
  /** 400 InvalidParameter: `default` with both timeInWeek/notAllowedTime and maintenanceWindow. */
  maintenanceBothShapes: (name: string) =>
    err(400, "InvalidParameter", `Maintenance configuration '${name}' takes either timeInWeek/notAllowedTime or maintenanceWindow, not both.`, "properties.maintenanceWindow"),
  /** 400 InvalidParameter: `default` with neither timeInWeek nor maintenanceWindow. */
  maintenanceNoSchedule: (name: string) =>
    err(400, "InvalidParameter", `Maintenance configuration '${name}' needs properties.timeInWeek or properties.maintenanceWindow.`, "properties.timeInWeek"),
  /** 400 InvalidParameter: `default` with a window other than weekly, every week. */
  maintenanceDefaultWindowInvalid: () =>
    err(
      400,
      "InvalidParameter",
      "The 'default' maintenance configuration only supports a maintenanceWindow with a weekly schedule and intervalWeeks 1.",
      "properties.maintenanceWindow.schedule",
    ),
  /** 400 InvalidParameter: timeInWeek/notAllowedTime on a configuration other than `default`. */
  maintenanceLegacyShape: (name: string) =>
    err(
      400,
      "InvalidParameter",
      `Maintenance configuration '${name}' does not take timeInWeek or notAllowedTime: they belong to the 'default' configuration. Use maintenanceWindow.`,
      "properties.timeInWeek",
    ),
  /** 400 InvalidParameter: a managed schedule configuration without maintenanceWindow. */
  maintenanceWindowMissing: (name: string) =>
    err(400, "InvalidParameter", `Maintenance configuration '${name}' needs properties.maintenanceWindow.`, "properties.maintenanceWindow"),
  /** 400 InvalidParameter: a schedule with not exactly one schedule type. */
  maintenanceScheduleNotOne: () =>
    err(
      400,
      "InvalidParameter",
      "One and only one of daily, weekly, absoluteMonthly and relativeMonthly must be set in maintenanceWindow.schedule.",
      "properties.maintenanceWindow.schedule",
    ),
  /** 400 InvalidParameter: a daily schedule for auto-upgrades. */
  maintenanceDailyNotAllowed: () =>
    err(
      400,
      "InvalidParameter",
      "A daily schedule is only supported by 'aksManagedNodeOSUpgradeSchedule'; 'aksManagedAutoUpgradeSchedule' takes weekly, absoluteMonthly or relativeMonthly.",
      "properties.maintenanceWindow.schedule.daily",
    ),
  /**
   * 400 InvalidParameter: a managed namespace name that is no Kubernetes namespace name (an RFC 1123
   * label). Kubernetes' words for it; AKS's own are not public.
   */
  managedNamespaceNameInvalid: (name: string) =>
    err(
      400,
      "InvalidParameter",
      `The value '${name}' of parameter 'managedNamespaceName' is invalid: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character and be at most 63 characters (regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?').`,
      "managedNamespaceName",
    ),
  /** 404 NotFound: a managed namespace the cluster does not have. */
  managedNamespaceNotFound: (name: string, cluster: string) => err(404, "NotFound", `Managed namespace '${name}' was not found in managed cluster '${cluster}'.`),
  /** 404 NotFound: a trusted access role binding the cluster does not have. */
  trustedAccessRoleBindingNotFound: (name: string, cluster: string) =>
    err(404, "NotFound", `Trusted access role binding '${name}' was not found in managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: a sourceResourceId that is no resource id. */
  trustedAccessSourceInvalid: (sourceResourceId: string) =>
    err(400, "InvalidParameter", `'${sourceResourceId}' is not an Azure resource id.`, "properties.sourceResourceId"),
  /** 400 InvalidParameter: a binding without roles. */
  trustedAccessNoRoles: () => err(400, "InvalidParameter", "A trusted access role binding needs at least one role in properties.roles.", "properties.roles"),
  /** 400 InvalidParameter: a role not offered for the source resource type; `offered` are the ones that are. */
  trustedAccessRoleNotOffered: (role: string, sourceType: string, offered: readonly string[]) => {
    const available = offered.length ? `The roles for it are: ${offered.join(", ")}.` : "No trusted access role is offered for that resource type.";
    return err(400, "InvalidParameter", `Role '${role}' is not a trusted access role for source resource type '${sourceType}'. ${available}`, "properties.roles");
  },
  /** 404 NotFound: a private endpoint connection the cluster does not have. */
  privateEndpointConnectionNotFound: (name: string, cluster: string) =>
    err(404, "NotFound", `Private endpoint connection '${name}' was not found in managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: a private endpoint connection to a cluster that is not private. */
  clusterNotPrivate: (cluster: string) => err(400, "InvalidParameter", `Managed cluster '${cluster}' is not a private cluster: it has no private link resource.`),
  /** 400 InvalidParameter: a connection update without privateLinkServiceConnectionState. */
  connectionStateRequired: () =>
    err(400, "InvalidParameter", "The private link service connection state is required.", "properties.privateLinkServiceConnectionState"),
  /** 400 InvalidParameter: ResolvePrivateLinkServiceId without a name. */
  privateLinkNameRequired: () => err(400, "InvalidParameter", "The name of the private link resource to resolve is required.", "name"),
  /** 404 NotFound: a private link resource other than the private cluster's `management`. */
  privateLinkResourceNotFound: (name: string, cluster: string, isPrivate: boolean) =>
    err(404, "NotFound", `Private link resource '${name}' was not found in managed cluster '${cluster}'${isPrivate ? "" : ", which is not a private cluster"}.`),
  /** 400 InvalidParameter: a snapshot update changing its source. */
  snapshotSourceChange: (name: string, before: string, after: string) =>
    err(400, "InvalidParameter", `The source of snapshot '${name}' cannot change from '${before}' to '${after}'.`, SNAPSHOT_SOURCE),
  /** 400 InvalidParameter: a snapshot without a source. */
  snapshotSourceRequired: (name: string) =>
    err(400, "InvalidParameter", `Snapshot '${name}' needs ${SNAPSHOT_SOURCE}: the id of the agent pool to take it from.`, SNAPSHOT_SOURCE),
  /** 400 InvalidParameter: a snapshot source that is no existing agent pool. */
  snapshotSourceNotFound: (sourceId: string, name: string) =>
    err(400, "InvalidParameter", `The source resource '${sourceId}' of snapshot '${name}' was not found: it must be the id of an existing agent pool.`, SNAPSHOT_SOURCE),
  /** 404 NotFound: an identity binding the cluster does not have. */
  identityBindingNotFound: (name: string, cluster: string) => err(404, "NotFound", `Identity binding '${name}' was not found in managed cluster '${cluster}'.`),
  /** 400 InvalidParameter: an identity binding without its managed identity. */
  identityBindingIdentityRequired: (name: string) =>
    err(400, "InvalidParameter", `The managed identity of identity binding '${name}' is required.`, "properties.managedIdentity.resourceId"),
  /** 400 InvalidParameter: an identity binding changing its managed identity (create-only). */
  identityBindingIdentityChange: (name: string, before: string, after: string) =>
    err(400, "InvalidParameter", `The managed identity of identity binding '${name}' cannot change from '${before}' to '${after}'.`, "properties.managedIdentity.resourceId"),

  // ---- real mode: k3s clusters through Docker ---------------------------------------------------------

  /** 400 RealModeUnavailable: a write refused up front while the Docker engine does not answer. */
  realModeUnavailable: (reason: string) =>
    err(
      400,
      "RealModeUnavailable",
      `Real mode (k3s clusters through Docker) is not available: the Docker engine does not answer (${reason}). ` +
        "Start Docker or point DOCKER_HOST at a Docker engine, then retry; or set FLOCI_AZ_SERVICES_AKS_MOCKED=true to run with mocked clusters.",
    ),
  /** 500 RealModeUnavailable: the Docker engine stopped answering during work on a cluster. */
  dockerStopped: (cluster: string, what: string, detail: string) =>
    err(500, "RealModeUnavailable", `The Docker engine stopped answering while working on managed cluster '${cluster}' (${what}): ${detail}.`),
  /** 500 DockerOperationFailed: Docker refused work on a cluster. */
  dockerOperationFailed: (cluster: string, what: string, detail: string) =>
    err(500, "DockerOperationFailed", `Docker refused work on managed cluster '${cluster}' (${what}): ${detail}`),
  /** 409 ClusterNotReady: credentials asked of a cluster whose API server has not written them. */
  credentialsNotReady: (cluster: string, container: string) =>
    err(
      409,
      "ClusterNotReady",
      `Managed cluster '${cluster}' has no credentials yet: its API server (container ${container}) has not written them. Retry once the cluster reads Succeeded.`,
    ),
  /** 409 ClusterNotReady: a cluster whose containers do not exist yet. */
  containersNotCreated: (cluster: string) => err(409, "ClusterNotReady", `Managed cluster '${cluster}' has no containers yet; wait for its creation to finish.`),
  /** 409 ApiServerPortsExhausted: no free host port in the configured range. */
  apiServerPortsExhausted: (base: number, max: number) =>
    err(
      409,
      "ApiServerPortsExhausted",
      `No host port is free for another API server: every port from ${base} to ${max} is taken. Delete a cluster, or widen FLOCI_AZ_SERVICES_AKS_API_SERVER_BASE_PORT..FLOCI_AZ_SERVICES_AKS_API_SERVER_MAX_PORT.`,
    ),
  /** 400 ImagePullFailed: the k3s image is not on the Docker host and could not be pulled. */
  imagePullFailed: (image: string, detail: string) =>
    err(
      400,
      "ImagePullFailed",
      `The image '${image}' is not present on the Docker host and could not be pulled: ${detail}. ` +
        `Pull or build it there (docker pull ${image}), or set FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE to an image the Docker host has ` +
        "(a repository gets the tag v{kubernetesVersion}-k3s1; repository:tag is used for every version).",
    ),
  /** 500 ApiServerExited: the API server container exited; `logTail` is its last log lines. */
  apiServerExited: (cluster: string, container: string, exitCode: number, error: string | undefined, logTail: string) =>
    err(500, "ApiServerExited", `The API server of managed cluster '${cluster}' (container ${container}) exited with code ${exitCode}${error ? ` (${error})` : ""}. ${logTail}`),
  /** 500 ApiServerNotReady: the API server did not answer /readyz in time. */
  apiServerNotReady: (cluster: string, container: string, hostPort: number, seconds: number, problem: string | undefined, logTail: string) =>
    err(
      500,
      "ApiServerNotReady",
      `The API server of managed cluster '${cluster}' (container ${container}, https://127.0.0.1:${hostPort}) was not ready within ${seconds} s: ${problem}. ` +
        `Raise FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS if it is only slow. ${logTail}`,
    ),
  /** 500 NodesNotReady: node containers exited; `nodes` names them with their status. */
  nodesExited: (cluster: string, nodes: readonly string[], logTail: string) =>
    err(500, "NodesNotReady", `Node container(s) of managed cluster '${cluster}' exited: ${nodes.join(", ")}. ${logTail}`),
  /** 500 NodesNotReady: nodes not Ready in time; `waiting` names them. */
  nodesNotReady: (cluster: string, seconds: number, waiting: readonly string[]) =>
    err(
      500,
      "NodesNotReady",
      `Nodes of managed cluster '${cluster}' were not Ready within ${seconds} s: ${waiting.join(", ")}. Raise FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS if they are only slow.`,
    ),
} satisfies Record<string, (...args: any[]) => ArmError>;

export type ErrorCatalogue = typeof errors;

// ---- message pieces ------------------------------------------------------------------------------------

const SNAPSHOT_SOURCE = "properties.creationData.sourceResourceId";

function availableUpgrades(allowed: readonly string[]): string {
  return `Available upgrades: [${[...allowed].reverse().join(" ")}].`;
}

function incompatibleVersions(target: string, controlPlane: string): string {
  return `Node pool version ${target} and control plane version ${controlPlane} are incompatible.`;
}
