// The caller of an ARM request, from its bearer token. With token checks off (the default) any token,
// or none, is accepted and only read; with them on, the token must be one the emulator's issuer signed
// for the request's base URL and the configured tenant, and still valid, or the request gets ARM's 401.
import { errors } from "../arm/errors.js";
import type { Principal } from "../handlers/contract.js";

/** Checks a token's signature, issuer and lifetime (the emulator's issuer; injected, so jose loads on first use). */
export interface TokenVerifier {
  verify(token: string, acceptedIssuers: string[]): Promise<Record<string, unknown>>;
}

/** The caller from the bearer token's claims: `verified` when token checks verified them, else read unverified. */
export function principalOf(authorization: string | undefined, defaultTenant: string, verified?: Record<string, any>): Principal {
  const token = authorization?.match(/^Bearer\s+(\S+)/i)?.[1];
  if (token || verified) {
    try {
      const claims = verified ?? JSON.parse(Buffer.from(token!.split(".")[1], "base64url").toString("utf8"));
      if (claims.upn || claims.unique_name) return { id: claims.upn ?? claims.unique_name, type: "User", tenantId: claims.tid };
      if (claims.appid || claims.azp) return { id: claims.appid ?? claims.azp, type: "Application", tenantId: claims.tid };
    } catch {
      // not a JWT: fall through to the anonymous principal
    }
  }
  return { id: "aks-emulator", type: "Application", tenantId: defaultTenant };
}

/** The caller of a request under token checks, or ARM's 401 naming what is wrong with its token. */
export async function verifiedPrincipal(authorization: string | undefined, baseUrl: string, tenantId: string, verifier: TokenVerifier | undefined): Promise<Principal> {
  const tenant = tenantId.toLowerCase();
  const authority = `${baseUrl}/${tenant}`;
  if (!authorization?.trim()) {
    throw errors.authorizationMissing(authority);
  }
  const token = authorization.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!token) {
    throw errors.authorizationMalformed(authority);
  }
  if (!verifier) throw errors.noTokenIssuer();
  const expectedIssuer = `${authority}/v2.0`;
  try {
    return principalOf(authorization, tenantId, await verifier.verify(token, [expectedIssuer]));
  } catch (error) {
    const { code, claim, payload } = error as { code?: string; claim?: string; payload?: Record<string, unknown> };
    if (code === "ERR_JWT_EXPIRED") {
      const expiry = typeof payload?.exp === "number" ? new Date(payload.exp * 1000).toISOString() : "unknown";
      throw errors.tokenExpired(authority, expiry, new Date().toISOString());
    }
    if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && claim === "iss") {
      throw errors.tokenWrongIssuer(authority, String(payload?.iss), expectedIssuer);
    }
    const reason = (error as Error).message || "not a token this emulator issued";
    throw errors.tokenInvalid(authority, reason);
  }
}

