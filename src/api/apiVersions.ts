// Which vendored document serves a requested api-version. Azure has published 119 api-versions of
// managedClusters; the project vendors a few documents. A version with its own document is served
// by it; any other published version by the nearest document: the newest one not newer than the
// request, or the oldest one when the request is older than all of them. A date-shaped version
// Azure never published is served the same way only in the default (lenient) mode.
import { apiVersions, publishedApiVersions, type ApiVersion } from "../../generated/operations.js";

/** How a requested version relates to what Azure published. */
export type VersionStanding = "document" | "published" | "unpublished";

export interface ServedVersion {
  /** As the client sent it. */
  requested: string;
  /** The vendored document that serves it. */
  document: ApiVersion;
  standing: VersionStanding;
}

const DATE_SHAPED = /^(\d{4}-\d{2}-\d{2})(-preview|-beta|-alpha|-privatepreview)?$/i;

/** Every published version, stable then preview, each oldest first: the list ARM's errors quote. */
export const publishedVersions: readonly string[] = [...publishedApiVersions.stable, ...publishedApiVersions.preview];
const publishedSet = new Set(publishedVersions.map((v) => v.toLowerCase()));

/** Documents oldest first, for the nearest-not-newer search. */
const documentsOldestFirst = [...apiVersions].sort();

function nearestDocument(date: string): ApiVersion {
  let chosen = documentsOldestFirst[0];
  for (const document of documentsOldestFirst) if (document <= date) chosen = document;
  return chosen;
}

// Published and vendored versions are a fixed set: their answers are kept. Others are computed each
// time, so a client sending endless made-up versions cannot grow this map.
const resolved = new Map<string, ServedVersion | undefined>();

/** The serving document of a requested api-version; undefined when it is not even date-shaped. */
export function servingDocument(requested: string): ServedVersion | undefined {
  const exact = resolved.get(requested); // clients send the published spelling: no lower-casing then
  if (exact) return exact;
  const key = requested.toLowerCase();
  const kept = resolved.get(key);
  if (kept) return { ...kept, requested };
  const match = DATE_SHAPED.exec(key);
  if (!match) return undefined;
  const own = documentsOldestFirst.find((d) => d === key);
  const standing: VersionStanding = own ? "document" : publishedSet.has(key) ? "published" : "unpublished";
  const served: ServedVersion = { requested, document: own ?? nearestDocument(match[1]), standing };
  if (standing !== "unpublished") {
    resolved.set(requested, served);
    if (requested !== key) resolved.set(key, { ...served, requested: key });
  }
  return served;
}

/** Every published version with the document serving it, for GET /_emulator/api-versions. */
export function servedVersionTable(): { apiVersion: string; kind: "stable" | "preview"; document: ApiVersion; ownDocument: boolean }[] {
  const row = (apiVersion: string, kind: "stable" | "preview") => {
    const served = servingDocument(apiVersion)!;
    return { apiVersion, kind, document: served.document, ownDocument: served.standing === "document" };
  };
  return [...publishedApiVersions.stable.map((v) => row(v, "stable")), ...publishedApiVersions.preview.map((v) => row(v, "preview"))];
}
