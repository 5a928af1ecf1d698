// Optimistic concurrency on managed clusters and agent pools: the If-Match and If-None-Match headers
// of PUT, PATCH and DELETE, compared with the resource's eTag (a cluster's body `eTag`, a pool's
// `properties.eTag`). One check for every write that takes them, called by the engine before it
// changes anything. What AKS answers (https://learn.microsoft.com/azure/aks/use-etags):
//
//   PUT     missing resource: If-Match (any value, "*" too) -> 412; If-None-Match "*" -> 201
//           existing:         If-Match "*" or the eTag -> 200, another value -> 412; If-None-Match "*" -> 412
//   PATCH   missing resource: 404 whatever the headers; existing: as PUT
//   DELETE  missing resource: 204 whatever the headers; existing: as PUT
//   If-None-Match other than empty or "*", or both headers at once: 400 (AKS's prevalidation).
import type { IncomingHttpHeaders } from "node:http";
import { errors } from "./errors.js";

/** The request headers a conditional write reads (an ArmRequest's headers will do). */
export type ConditionalHeaders = Pick<IncomingHttpHeaders, "if-match" | "if-none-match">;

export interface PreconditionTarget {
  /** "managed cluster", "agent pool". */
  kind: string;
  name: string;
}

/**
 * Throws ARM's answer when the request's preconditions do not hold for the resource.
 * `currentETag` is the resource's eTag now, or undefined when the resource does not exist; the
 * caller answers a missing resource on PATCH (404) and DELETE (204) before asking.
 */
export function assertPreconditions(headers: ConditionalHeaders | undefined, currentETag: string | undefined, target: PreconditionTarget): void {
  const ifMatch = entityTags(headers?.["if-match"]);
  const ifNoneMatch = entityTags(headers?.["if-none-match"]);
  if (!ifMatch && !ifNoneMatch) return;
  if (ifNoneMatch && !(ifNoneMatch.length === 1 && ifNoneMatch[0] === "*")) {
    throw errors.ifNoneMatchInvalid(headerText(headers?.["if-none-match"]));
  }
  if (ifMatch && ifNoneMatch) {
    throw errors.conditionalHeadersTogether();
  }
  const exists = currentETag !== undefined;
  if (ifNoneMatch && exists) {
    throw errors.preconditionAlreadyExists(target.kind, target.name);
  }
  if (!ifMatch) return;
  if (!exists) {
    throw errors.preconditionNoResource(target.kind, target.name);
  }
  if (ifMatch.includes("*") || ifMatch.includes(currentETag)) return;
  throw errors.preconditionETagMismatch(headerText(headers?.["if-match"]), target.kind, target.name);
}


/**
 * The entity tags a header lists, unquoted and without the weak prefix (clients send the body's eTag
 * bare, as az does, or quoted as RFC 9110 writes it); undefined for an absent or empty header.
 */
function entityTags(header: string | string[] | undefined): string[] | undefined {
  const text = headerText(header).trim();
  if (!text) return undefined;
  const tags = text
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, "").replace(/^"(.*)"$/s, "$1"))
    .filter(Boolean);
  return tags.length ? tags : undefined;
}

function headerText(header: string | string[] | undefined): string {
  return Array.isArray(header) ? header.join(", ") : (header ?? "");
}
