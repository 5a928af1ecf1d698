import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import express from "express";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { ClientSecretCredential } from "@azure/identity";
import { loadOrCreateTls, type TlsMaterial } from "../../src/tls/certificates.js";
import { createDualProtocolServer, type DualProtocolServer } from "../../src/http/dualProtocolServer.js";
import { audienceOf, loadOrCreateIssuer, type Issuer } from "../../src/platform/identity.js";
import { createIdentityRouter } from "../../src/http/webApp.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "0d9a5c2e-1111-2222-3333-444455556666";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

describe("identity endpoints", () => {
  let tls: TlsMaterial;
  let issuer: Issuer;
  let server: DualProtocolServer;
  let port: number;
  let httpsBase: string;

  /** A request to the emulator; https URLs trust the emulator CA. */
  function call(method: string, url: string, form?: Record<string, string>, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const mod = url.startsWith("https:") ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method,
          ca: tls.caCertPem,
          headers: body ? { "content-type": "application/x-www-form-urlencoded", ...headers } : headers,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-emu-identity-"));
    tls = await loadOrCreateTls(path.join(dir, "tls"), []);
    issuer = await loadOrCreateIssuer(path.join(dir, "identity"));
    const app = express();
    app.use(createIdentityRouter({ issuer, defaultTenantId: TENANT, caCertPem: () => tls.caCertPem }));
    server = createDualProtocolServer(app, { key: tls.keyPem, cert: tls.certPem });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    httpsBase = `https://localhost:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("persists the signing key and derives kid from it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-emu-issuer-"));
    const a = await loadOrCreateIssuer(dir);
    const b = await loadOrCreateIssuer(dir);
    expect(b.kid).toBe(a.kid);
    expect(fs.statSync(path.join(dir, "signing-key.pem")).mode & 0o777).toBe(0o600);
    expect(a.jwks().keys).toEqual([expect.objectContaining({ kty: "RSA", use: "sig", kid: a.kid })]);
  });

  it("maps scopes to audiences like Entra", () => {
    expect(audienceOf("https://management.azure.com/.default")).toBe("https://management.azure.com/");
    expect(audienceOf("https://management.core.windows.net//.default")).toBe("https://management.core.windows.net/");
    expect(audienceOf("openid profile offline_access https://management.azure.com/.default")).toBe("https://management.azure.com/");
    expect(audienceOf("6dae42f8-4368-4678-94ff-3960e28e3630/.default")).toBe("6dae42f8-4368-4678-94ff-3960e28e3630");
    expect(audienceOf("https://graph.microsoft.com/User.Read")).toBe("https://graph.microsoft.com/");
    expect(audienceOf("https://management.core.windows.net/")).toBe("https://management.core.windows.net/");
  });

  it("issues a client-credentials token that verifies against the published JWKS", async () => {
    const r = await call("POST", `${httpsBase}/${TENANT}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_secret: "anything",
      scope: "https://management.azure.com/.default",
    });
    expect(r.status).toBe(200);
    expect(r.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });

    const discovery = await call("GET", `${httpsBase}/${TENANT}/v2.0/.well-known/openid-configuration`);
    const keys = await call("GET", discovery.json.jwks_uri);
    expect(keys.status).toBe(200);
    const { payload, protectedHeader } = await jwtVerify(r.json.access_token, createLocalJWKSet(keys.json as JSONWebKeySet), {
      issuer: discovery.json.issuer,
      audience: "https://management.azure.com/",
    });
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "JWT", kid: issuer.kid });
    expect(payload).toMatchObject({ tid: TENANT, appid: CLIENT, azp: CLIENT, idtyp: "app", ver: "2.0" });
    expect(payload.oid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(payload.sub).toBe(payload.oid);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(await issuer.verify(r.json.access_token, [`${httpsBase}/${TENANT}/v2.0`])).toMatchObject({ tid: TENANT });

    // Same client, same object id.
    const again = await call("POST", `${httpsBase}/${TENANT}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_secret: "other",
      scope: "https://management.core.windows.net//.default",
    });
    const claims = decodeJwt(again.json.access_token);
    expect(claims.oid).toBe(payload.oid);
    expect(claims.aud).toBe("https://management.core.windows.net/");
  });

  it("serves the v1 token endpoint with a resource", async () => {
    const r = await call("POST", `${httpsBase}/common/oauth2/token`, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_secret: "s",
      resource: "https://management.core.windows.net/",
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_type: "Bearer", expires_in: "3599", resource: "https://management.core.windows.net/" });
    expect(Number(r.json.expires_on)).toBeGreaterThan(Date.now() / 1000);
    expect(decodeJwt(r.json.access_token)).toMatchObject({ aud: "https://management.core.windows.net/", tid: TENANT });
  });

  it("answers Entra's OAuth errors", async () => {
    const missing = await call("POST", `${httpsBase}/${TENANT}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      scope: "https://management.azure.com/.default",
    });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: "invalid_request", error_codes: [900144] });
    expect(missing.json.error_description).toMatch(/^AADSTS900144: .*client_id/);
    for (const field of ["timestamp", "trace_id", "correlation_id"]) expect(typeof missing.json[field]).toBe("string");
    expect(missing.headers["x-ms-request-id"]).toBeDefined();

    const grant = await call("POST", `${httpsBase}/${TENANT}/oauth2/v2.0/token`, {
      grant_type: "authorization_code",
      client_id: CLIENT,
      code: "x",
    });
    expect(grant.status).toBe(400);
    expect(grant.json).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("signs users in with password and refresh_token grants", async () => {
    const r = await call("POST", `${httpsBase}/organizations/oauth2/v2.0/token`, {
      grant_type: "password",
      client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      username: "dev@contoso.example",
      password: "whatever",
      scope: "https://management.core.windows.net//.default offline_access openid profile",
      client_info: "1",
    });
    expect(r.status).toBe(200);
    const access = decodeJwt(r.json.access_token);
    expect(access).toMatchObject({ upn: "dev@contoso.example", unique_name: "dev@contoso.example", idtyp: "user", tid: TENANT });
    expect(decodeJwt(r.json.id_token)).toMatchObject({ preferred_username: "dev@contoso.example", aud: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" });
    expect(JSON.parse(Buffer.from(r.json.client_info, "base64url").toString())).toEqual({ uid: access.oid, utid: TENANT });

    const refreshed = await call("POST", `${httpsBase}/organizations/oauth2/v2.0/token`, {
      grant_type: "refresh_token",
      client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      refresh_token: r.json.refresh_token,
      scope: "https://management.azure.com/.default",
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.json.access_token)).toMatchObject({ upn: "dev@contoso.example", aud: "https://management.azure.com/" });
  });

  it("publishes an OpenID configuration on the requested host, over https", async () => {
    for (const tenant of [TENANT, "common", "contoso.onmicrosoft.com"]) {
      const r = await call("GET", `${httpsBase}/${tenant}/v2.0/.well-known/openid-configuration`);
      expect(r.status).toBe(200);
      const doc = r.json;
      const segment = tenant === "common" ? "common" : TENANT;
      expect(doc.issuer).toBe(`${httpsBase}/${TENANT}/v2.0`);
      expect(doc.token_endpoint).toBe(`${httpsBase}/${segment}/oauth2/v2.0/token`);
      expect(doc.authorization_endpoint).toBe(`${httpsBase}/${segment}/oauth2/v2.0/authorize`);
      expect(doc.jwks_uri).toBe(`${httpsBase}/${segment}/discovery/v2.0/keys`);
      for (const key of ["end_session_endpoint", "device_authorization_endpoint", "kerberos_endpoint"]) {
        expect(doc[key].startsWith(`${httpsBase}/`)).toBe(true);
      }
      expect(doc).toMatchObject({
        id_token_signing_alg_values_supported: ["RS256"],
        tenant_region_scope: null,
        request_uri_parameter_supported: false,
        cloud_instance_name: "microsoftonline.com",
      });
    }
    const v1 = await call("GET", `${httpsBase}/common/.well-known/openid-configuration`);
    expect(v1.json.token_endpoint).toBe(`${httpsBase}/common/oauth2/token`);
    const keys = await call("GET", `${httpsBase}/common/discovery/keys`);
    expect(keys.json.keys[0].kid).toBe(issuer.kid);
  });

  it("serves ARM cloud metadata in the 2022-09-01 form", async () => {
    const r = await call("GET", `${httpsBase}/metadata/endpoints?api-version=2022-09-01`);
    expect(r.status).toBe(200);
    const m = r.json;
    expect(Array.isArray(m)).toBe(false);
    expect(m).toMatchObject({
      name: "AzureCloud",
      resourceManager: `${httpsBase}/`,
      microsoftGraphResourceId: "https://graph.microsoft.com/",
      authentication: {
        loginEndpoint: `${httpsBase}/`,
        audiences: ["https://management.core.windows.net/", "https://management.azure.com/"],
        tenant: "common",
        identityProvider: "AAD",
      },
      suffixes: { acrLoginServer: "azurecr.io", keyVaultDns: "vault.azure.net", storage: "core.windows.net" },
    });
    for (const key of ["portal", "media", "graphAudience", "graph", "batch", "sqlManagement", "vmImageAliasDoc", "activeDirectoryDataLake"]) {
      expect(typeof m[key]).toBe("string");
    }
    for (const key of ["sqlServerHostname", "mhsmDns", "mysqlServerEndpoint", "postgresqlServerEndpoint", "attestationEndpoint"]) {
      expect(typeof m.suffixes[key]).toBe("string");
    }
  });

  it("serves the older metadata forms", async () => {
    const legacy = await call("GET", `${httpsBase}/metadata/endpoints?api-version=2018-01-01`);
    expect(legacy.json).toMatchObject({
      galleryEndpoint: expect.any(String),
      graphEndpoint: expect.any(String),
      portalEndpoint: expect.any(String),
      authentication: { loginEndpoint: `${httpsBase}/`, audiences: expect.arrayContaining(["https://management.core.windows.net/"]) },
    });
    const list = await call("GET", `${httpsBase}/metadata/endpoints?api-version=2019-05-01`);
    expect(Array.isArray(list.json)).toBe(true);
    expect(list.json[0]).toMatchObject({ name: "AzureCloud", resourceManager: `${httpsBase}/` });
    const plain = await call("GET", `http://127.0.0.1:${port}/metadata/endpoints?api-version=2022-09-01`);
    expect(plain.json.resourceManager).toBe(`http://127.0.0.1:${port}/`);
  });

  it("tolerates the double slash Go clients send after loginEndpoint", async () => {
    const meta = await call("GET", `${httpsBase}//metadata/endpoints?api-version=2022-09-01`);
    expect(meta.json.name).toBe("AzureCloud");
    const r = await call("POST", `${httpsBase}//${TENANT}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_secret: "s",
      scope: "https://management.azure.com//.default",
    });
    expect(r.status).toBe(200);
  });

  it("serves the CA certificate", async () => {
    const r = await call("GET", `http://127.0.0.1:${port}/_emulator/ca.pem`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/x-pem-file/);
    expect(r.text).toBe(tls.caCertPem);
  });

  it("gives @azure/identity's ClientSecretCredential a token", async () => {
    // How an SDK client trusts the emulator CA in-process: `tlsOptions.ca` on
    // the credential (core-rest-pipeline's TLS policy; it replaces the default
    // roots for that client only). Outside a test, start node with
    // NODE_EXTRA_CA_CERTS=<dir>/ca.pem, which must be set before node starts.
    const credential = new ClientSecretCredential(TENANT, CLIENT, "any-secret", {
      authorityHost: httpsBase,
      disableInstanceDiscovery: true,
      additionallyAllowedTenants: ["*"],
      tlsOptions: { ca: tls.caCertPem },
    });
    const token = await credential.getToken("https://management.azure.com/.default");
    expect(token.token).toBeTruthy();
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(decodeJwt(token.token)).toMatchObject({ aud: "https://management.azure.com/", tid: TENANT, appid: CLIENT });
  });
});
