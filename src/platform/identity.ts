// An emulated Microsoft Entra ID: just enough of login.microsoftonline.com
// and of ARM's /metadata/endpoints for real clients to sign in against the
// emulator — @azure/identity (MSAL Node), the Azure CLI (MSAL Python) and
// Terraform's go-azure-sdk. Any client secret is accepted; tokens are RS256
// JWTs signed with a key persisted next to the emulator's other state.
//
// What the clients need, found by reading them:
// - MSAL (Node and Python) fetches `{authority}/v2.0/.well-known/openid-configuration`
//   and needs `authorization_endpoint`, `token_endpoint`, `issuer`, `jwks_uri`;
//   MSAL Node rejects the document unless `issuer` has the authority's
//   scheme, host and port. Instance discovery goes to the real
//   login.microsoftonline.com, so clients must turn it off
//   (`disableInstanceDiscovery: true`; `az config set core.instance_discovery=false`).
// - MSAL Python's username/password flow first asks `/common/userrealm/{user}`.
// - go-azure-sdk posts to `${loginEndpoint}/${tenant}/oauth2/v2.0/token`; with the
//   trailing slash of `loginEndpoint` that path starts with "//" (handled below),
//   and it reads `oid`, `tid`, `appid`, `idtyp` from the access token unverified.
// - Azure CLI and go-azure-sdk read /metadata/endpoints (2022-09-01, one object);
//   2019-05-01/2020-06-01 return an array of clouds; 2015-01-01/1.0 the legacy object.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { SignJWT, calculateJwkThumbprint, createLocalJWKSet, decodeJwt, exportJWK, jwtVerify, type JWK, type JWTPayload } from "jose";
import { requestBaseUrl } from "../http/dualProtocolServer.js";

const TOKEN_LIFETIME_SECONDS = 3600;
const EXPIRES_IN = 3599;

export interface TokenResponse {
  token_type: "Bearer";
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

export interface TokenInput {
  tenantId: string;
  clientId: string;
  /** A v2 `scope` ("https://management.azure.com/.default") or a v1 `resource`. */
  scopeOrResource: string;
  /** Origin the client used, e.g. "https://localhost:8443"; the issuer is derived from it. */
  baseUrl: string;
  /** Set for user sign-ins (password / refresh_token grants): the user name. */
  user?: string;
}

export interface Issuer {
  /** RFC 7638 thumbprint of the signing key. */
  kid: string;
  issueToken(input: TokenInput): Promise<TokenResponse>;
  /** Signs arbitrary claims (id tokens, refresh tokens) with the issuer key. */
  sign(claims: JWTPayload, lifetimeSeconds?: number): Promise<string>;
  jwks(): { keys: object[] };
  verify(token: string, acceptedIssuers: string[]): Promise<JWTPayload>;
}

/** `${baseUrl}/${tenantId}/v2.0`, the `iss` of every token for that tenant. */
export function issuerUrl(baseUrl: string, tenantId: string): string {
  return `${baseUrl}/${tenantId}/v2.0`;
}

/** Loads `signing-key.pem` from `dir`, creating an RSA 2048 key on first use. */
export async function loadOrCreateIssuer(dir: string): Promise<Issuer> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(dir, "signing-key.pem");
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await fs.readFile(keyFile, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    await fs.writeFile(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwk: JWK = { kty: publicJwk.kty, use: "sig", kid, n: publicJwk.n, e: publicJwk.e };
  const keySet = createLocalJWKSet({ keys: [jwk] });

  const sign = (claims: JWTPayload, lifetimeSeconds = TOKEN_LIFETIME_SECONDS): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iat: now, nbf: now, exp: now + lifetimeSeconds, ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
      .sign(privateKey);
  };

  return {
    kid,
    sign,
    async issueToken(input) {
      const iss = issuerUrl(input.baseUrl, input.tenantId);
      const claims: JWTPayload = {
        aud: audienceOf(input.scopeOrResource),
        iss,
        tid: input.tenantId,
        appid: input.clientId,
        azp: input.clientId,
        appidacr: "1",
        azpacr: "1",
        uti: randomUUID(),
        ver: "2.0",
      };
      if (input.user) {
        const oid = nameBasedUuid(`${input.tenantId}/user/${input.user.toLowerCase()}`);
        Object.assign(claims, {
          oid,
          sub: oid,
          idtyp: "user",
          scp: "user_impersonation",
          upn: input.user,
          unique_name: input.user,
          name: input.user,
        });
      } else {
        const oid = nameBasedUuid(`${input.tenantId}/${input.clientId}`);
        Object.assign(claims, { oid, sub: oid, idtyp: "app" });
      }
      const access_token = await sign(claims);
      return { token_type: "Bearer", expires_in: EXPIRES_IN, ext_expires_in: EXPIRES_IN, access_token };
    },
    jwks: () => ({ keys: [{ ...jwk }] }),
    async verify(token, acceptedIssuers) {
      const { payload } = await jwtVerify(token, keySet, { issuer: acceptedIssuers, algorithms: ["RS256"] });
      return payload;
    },
  };
}

/**
 * The `aud` Entra puts in a token for a scope or resource:
 * "https://management.azure.com/.default" -> "https://management.azure.com/",
 * "https://management.core.windows.net//.default" -> "https://management.core.windows.net/",
 * "6dae42f8-4368-4678-94ff-3960e28e3630/.default" (AKS AAD server) -> the bare app id,
 * a v1 resource is used as is. OIDC scopes (openid, profile...) are ignored.
 */
export function audienceOf(scopeOrResource: string): string {
  const scope = resourceScopes(scopeOrResource)[0] ?? "";
  const isUrl = scope.includes("://");
  if (scope.endsWith("/.default")) {
    const resource = scope.slice(0, -"/.default".length);
    return isUrl ? `${resource.replace(/\/+$/, "")}/` : resource;
  }
  if (isUrl) {
    // "https://graph.microsoft.com/User.Read": a permission on that resource.
    try {
      const url = new URL(scope);
      if (/^\/[^/]+$/.test(url.pathname)) return `${url.protocol}//${url.host}/`;
    } catch {
      // not a URL after all: use as is
    }
  }
  return scope;
}

/** The scopes of a space-separated list that name a resource (not openid, profile...). */
function resourceScopes(scopes: string): string[] {
  const oidc = new Set(["openid", "profile", "offline_access", "email"]);
  return scopes.split(/\s+/).filter((s) => s && !oidc.has(s));
}

/** A name-based (version 5 style, SHA-1) UUID: stable object ids per tenant + client. */
function nameBasedUuid(name: string): string {
  const hash = createHash("sha1").update("aks-emulator:").update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------
// HTTP endpoints

export interface IdentityRouterOptions {
  issuer: Issuer;
  /** Tenant that `common`, `organizations`, `consumers` and domain names stand for. */
  defaultTenantId: string;
  caCertPem: () => string;
  /** `name` in /metadata/endpoints; "AzureCloud" by default. */
  environmentName?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT_NAME = /^[a-z0-9][a-z0-9.-]*$/i;
const MULTI_TENANT = new Set(["common", "organizations", "consumers"]);
/** Paths served here, as they look once a leading "//" is collapsed. */
const IDENTITY_PATH =
  /^\/(?:metadata\/endpoints|_emulator\/ca\.pem|[^/]+\/(?:oauth2\/|discovery\/|v2\.0\/\.well-known\/|\.well-known\/|userrealm\/))/;

interface TenantRef {
  /** The tenant GUID used in tokens and issuers. */
  id: string;
  /** The path segment endpoints are published under (common stays common, like Entra). */
  segment: string;
}

export type IdentityEndpoints = ReturnType<typeof identityEndpoints>;

/** The handlers of the identity, cloud metadata and CA endpoints, by the names http/routes.ts registers. */
export function identityEndpoints(opts: IdentityRouterOptions) {
  const { issuer } = opts;
  const defaultTenantId = opts.defaultTenantId.toLowerCase();

  /** Maps a tenant path segment to a tenant, or undefined when it is not one. */
  const tenantOf = (name: string | undefined): TenantRef | undefined => {
    if (!name || !TENANT_NAME.test(name)) return undefined;
    const lower = name.toLowerCase();
    if (MULTI_TENANT.has(lower)) return { id: defaultTenantId, segment: lower };
    const id = GUID.test(lower) ? lower : defaultTenantId; // domains alias the default tenant
    return { id, segment: id };
  };

  /** Runs before every web endpoint: tolerates Go clients' leading "//", and gives Entra's answers its request ids. */
  const entraRequest = (req: Request, res: Response, next: NextFunction): void => {
    // go-azure-sdk joins `loginEndpoint` (which ends in "/") with "/{tenant}/...".
    if (req.url.startsWith("//")) {
      const collapsed = req.url.replace(/^\/+/, "/");
      if (IDENTITY_PATH.test(collapsed)) req.url = collapsed;
    }
    if (!IDENTITY_PATH.test(req.path)) return next();
    if (!res.hasHeader("x-ms-request-id")) res.setHeader("x-ms-request-id", randomUUID());
    const clientRequestId = req.get("client-request-id");
    if (clientRequestId) res.setHeader("client-request-id", clientRequestId);
    next();
  };

  // --- OpenID Connect discovery -------------------------------------------

  const openIdConfiguration = (req: Request, res: Response, version: "v1" | "v2"): void => {
    const tenant = tenantOf(req.params.tenant as string | undefined);
    if (!tenant) return void res.status(400).json(tenantNotFound(req.params.tenant as string));
    const base = requestBaseUrl(req);
    const t = `${base}/${tenant.segment}`;
    const v2 = version === "v2" ? "/v2.0" : "";
    res.json({
      token_endpoint: `${t}/oauth2${v2}/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${t}/discovery${v2}/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      // Entra's v1 document names https://sts.windows.net/{tid}/; the emulator
      // has one issuer per tenant, the one its tokens carry.
      issuer: issuerUrl(base, tenant.id),
      request_uri_parameter_supported: false,
      userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
      authorization_endpoint: `${t}/oauth2${v2}/authorize`,
      device_authorization_endpoint: `${t}/oauth2${v2}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${t}/oauth2${v2}/logout`,
      claims_supported: [
        "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
        "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
        "c_hash", "email",
      ],
      kerberos_endpoint: `${t}/kerberos`,
      tenant_region_scope: null,
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    });
  };
  const keys = (_req: Request, res: Response): void => {
    res.json(issuer.jwks());
  };

  // MSAL's instance discovery (only reached when a client is pointed at it explicitly).
  const instanceDiscovery = (req: Request, res: Response): void => {
    const base = requestBaseUrl(req);
    const host = new URL(base).host;
    let segment = "common";
    try {
      segment = new URL(String(req.query.authorization_endpoint)).pathname.split("/")[1] || segment;
    } catch {
      // no or bad authorization_endpoint: describe the common tenant
    }
    res.json({
      tenant_discovery_endpoint: `${base}/${segment}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  };

  // MSAL Python's home realm discovery before a username/password sign-in.
  const userRealm = (req: Request, res: Response): void => {
    const username = req.params.username as string;
    res.json({
      ver: "1.0",
      account_type: "Managed",
      domain_name: username.includes("@") ? username.slice(username.indexOf("@") + 1) : "emulator.local",
      cloud_instance_name: "microsoftonline.com",
      cloud_audience_urn: "urn:federation:MicrosoftOnline",
    });
  };

  // --- Token endpoints ------------------------------------------------------

  const token = async (req: Request, res: Response, version: "v1" | "v2"): Promise<void> => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const base = requestBaseUrl(req);
    const fail = (error: string, code: number, message: string): void =>
      void res.status(400).json(oauthError(req, base, error, code, message));

    const tenant = tenantOf(req.params.tenant as string | undefined);
    if (!tenant) return void res.status(400).json(tenantNotFound(req.params.tenant as string));
    const grantType = body.grant_type;
    if (!grantType) return fail("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (!["client_credentials", "password", "refresh_token"].includes(grantType)) {
      return fail("unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    const clientId = clientIdOf(req, body);
    if (clientId === MALFORMED_BASIC) {
      return fail("invalid_client", 90023, "The client credentials of the HTTP Basic Authorization header are malformed: the client id is not valid percent-encoding.");
    }
    if (!clientId) return fail("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");

    // The audience: v2 asks by scope, v1 by resource.
    const requested = version === "v2" ? body.scope : body.resource;
    const paramName = version === "v2" ? "scope" : "resource";

    let user: string | undefined;
    let scopeOrResource = requested;
    if (grantType === "password") {
      user = body.username;
      if (!user) return fail("invalid_request", 900144, "The request body must contain the following parameter: 'username'.");
    } else if (grantType === "refresh_token") {
      if (!body.refresh_token) {
        return fail("invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.");
      }
      // Our refresh tokens are JWTs naming the user and the original scope;
      // anything else is accepted leniently as an app sign-in.
      try {
        const rt = await issuer.verify(body.refresh_token, [issuerUrl(base, tenant.id)]);
        user = typeof rt.upn === "string" ? rt.upn : undefined;
        scopeOrResource ??= typeof rt.scp_requested === "string" ? rt.scp_requested : undefined;
      } catch {
        // not ours (or expired): issue for the client id alone
      }
    }
    if (!scopeOrResource || !audienceOf(scopeOrResource)) {
      return fail("invalid_request", 900144, `The request body must contain the following parameter: '${paramName}'.`);
    }

    const issued = await issuer.issueToken({ tenantId: tenant.id, clientId, scopeOrResource, baseUrl: base, user });
    const response: Record<string, unknown> = { ...issued };
    if (user) Object.assign(response, await userSignInExtras(issuer, { base, tenantId: tenant.id, clientId, user, scopeOrResource, version }));
    if (version === "v1") {
      // v1 (ADAL) answers carry numbers as strings, plus expires_on/not_before/resource.
      const now = Math.floor(Date.now() / 1000);
      Object.assign(response, {
        expires_in: String(issued.expires_in),
        ext_expires_in: String(issued.ext_expires_in),
        expires_on: String(now + issued.expires_in),
        not_before: String(now),
        resource: scopeOrResource,
      });
    }
    res.setHeader("cache-control", "no-store, no-cache");
    res.setHeader("pragma", "no-cache");
    res.json(response);
  };

  // --- ARM cloud metadata -----------------------------------------------------

  const cloudMetadataEndpoint = (req: Request, res: Response): void => {
    const base = requestBaseUrl(req);
    const apiVersion = typeof req.query["api-version"] === "string" ? req.query["api-version"] : "";
    const cloud = cloudMetadata(base, opts.environmentName ?? "AzureCloud");
    if (apiVersion >= "2022-09-01") res.json(cloud);
    else if (apiVersion >= "2019-05-01") res.json([cloud]);
    else res.json(legacyCloudMetadata(base)); // 2015-01-01, 2018-01-01, "1.0", absent
  };

  return {
    entraRequest,
    openIdConfigurationV2: (req: Request, res: Response) => openIdConfiguration(req, res, "v2"),
    openIdConfigurationV1: (req: Request, res: Response) => openIdConfiguration(req, res, "v1"),
    keys,
    instanceDiscovery,
    userRealm,
    tokenV2: (req: Request, res: Response, next: NextFunction) => void token(req, res, "v2").catch(next),
    tokenV1: (req: Request, res: Response, next: NextFunction) => void token(req, res, "v1").catch(next),
    cloudMetadata: cloudMetadataEndpoint,
    caPem: (_req: Request, res: Response) => {
      res.type("application/x-pem-file").send(opts.caCertPem());
    },
  } satisfies Record<string, RequestHandler>;
}

/** What clientIdOf answers for HTTP Basic credentials whose client id is not valid percent-encoding. */
const MALFORMED_BASIC = Symbol("malformedBasic");

/** client_id from the form, HTTP Basic auth (client_secret_basic), or a client assertion's `sub`. */
function clientIdOf(req: Request, body: Record<string, string | undefined>): string | typeof MALFORMED_BASIC | undefined {
  if (body.client_id) return body.client_id;
  const auth = req.get("authorization");
  if (auth?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
    let user: string;
    try {
      // RFC 6749 section 2.3.1: the client id is form-urlencoded before it is put in the header.
      user = decodeURIComponent(decoded.split(":")[0] ?? "");
    } catch {
      return MALFORMED_BASIC;
    }
    if (user) return user;
  }
  if (body.client_assertion) {
    try {
      const sub = decodeJwt(body.client_assertion).sub;
      if (sub) return sub;
    } catch {
      // unparseable assertion: no client id
    }
  }
  return undefined;
}

/** id_token, client_info and refresh_token, which MSAL expects after a user sign-in. */
async function userSignInExtras(
  issuer: Issuer,
  p: { base: string; tenantId: string; clientId: string; user: string; scopeOrResource: string; version: "v1" | "v2" },
): Promise<Record<string, string>> {
  const iss = issuerUrl(p.base, p.tenantId);
  const oid = nameBasedUuid(`${p.tenantId}/user/${p.user.toLowerCase()}`);
  const idToken = await issuer.sign({
    aud: p.clientId,
    iss,
    oid,
    sub: oid,
    tid: p.tenantId,
    name: p.user,
    preferred_username: p.user,
    upn: p.user,
    ver: "2.0",
  });
  const refreshToken = await issuer.sign(
    { iss, aud: p.clientId, upn: p.user, scp_requested: p.scopeOrResource, typ: "refresh" },
    90 * 24 * 3600,
  );
  return {
    scope: p.version === "v2" ? resourceScopes(p.scopeOrResource).join(" ") : "user_impersonation",
    id_token: idToken,
    client_info: Buffer.from(JSON.stringify({ uid: oid, utid: p.tenantId })).toString("base64url"),
    refresh_token: refreshToken,
  };
}

/** Entra's OAuth error body, e.g. for a missing client_id (AADSTS900144). */
function oauthError(req: Request, base: string, error: string, code: number, message: string): object {
  const traceId = randomUUID();
  const correlationId = req.get("client-request-id") ?? randomUUID();
  const timestamp = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  return {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${base}/error?code=${code}`,
  };
}

function tenantNotFound(name: string): object {
  return {
    error: "invalid_tenant",
    error_description: `AADSTS90002: Tenant '${name}' not found.`,
    error_codes: [90002],
  };
}

/**
 * The 2022-09-01 cloud document: the emulator is resource manager and login
 * endpoint; everything else keeps the Azure public cloud values.
 */
function cloudMetadata(base: string, name: string): object {
  return {
    portal: "https://portal.azure.com",
    authentication: {
      loginEndpoint: `${base}/`,
      audiences: ["https://management.core.windows.net/", "https://management.azure.com/"],
      tenant: "common",
      identityProvider: "AAD",
    },
    media: "https://rest.media.azure.net",
    graphAudience: "https://graph.windows.net/",
    graph: "https://graph.windows.net/",
    name,
    suffixes: {
      azureDataLakeStoreFileSystem: "azuredatalakestore.net",
      acrLoginServer: "azurecr.io",
      sqlServerHostname: "database.windows.net",
      azureDataLakeAnalyticsCatalogAndJob: "azuredatalakeanalytics.net",
      keyVaultDns: "vault.azure.net",
      storage: "core.windows.net",
      azureFrontDoorEndpointSuffix: "azurefd.net",
      storageSyncEndpointSuffix: "afs.azure.net",
      mhsmDns: "managedhsm.azure.net",
      mysqlServerEndpoint: "mysql.database.azure.com",
      postgresqlServerEndpoint: "postgres.database.azure.com",
      mariadbServerEndpoint: "mariadb.database.azure.com",
      synapseAnalytics: "dev.azuresynapse.net",
      attestationEndpoint: "attest.azure.net",
    },
    batch: "https://batch.core.windows.net/",
    resourceManager: `${base}/`,
    vmImageAliasDoc: "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
    activeDirectoryDataLake: "https://datalake.azure.net/",
    sqlManagement: "https://management.core.windows.net:8443/",
    microsoftGraphResourceId: "https://graph.microsoft.com/",
    appInsightsResourceId: "https://api.applicationinsights.io",
    appInsightsTelemetryChannelResourceId: "https://dc.applicationinsights.azure.com/v2/track",
    attestationResourceId: "https://attest.azure.net",
    synapseAnalyticsResourceId: "https://dev.azuresynapse.net",
    logAnalyticsResourceId: "https://api.loganalytics.io",
    ossrDbmsResourceId: "https://ossrdbms-aad.database.windows.net",
    // Not in ARM's 2022 document, but older Azure CLI releases index it unconditionally.
    gallery: "https://gallery.azure.com/",
  };
}

/** The api-version 2015-01-01 (and "1.0") document, as Azure Stack tooling and go-autorest read it. */
function legacyCloudMetadata(base: string): object {
  return {
    galleryEndpoint: "https://gallery.azure.com/",
    graphEndpoint: "https://graph.windows.net/",
    graphAudience: "https://graph.windows.net/",
    portalEndpoint: "https://portal.azure.com/",
    authentication: {
      loginEndpoint: `${base}/`,
      audiences: ["https://management.core.windows.net/", "https://management.azure.com/"],
    },
  };
}
