// The request journal and the API coverage of one emulator instance (GET /_emulator/requests and
// /_emulator/coverage): the ARM pipeline's last stage records each answered ARM request here.
// The journal is a ring buffer bounded by count and bytes; bodies are kept only with
// FLOCI_AZ_SERVICES_AKS_JOURNAL_BODIES (each capped), so the common request costs one small object.
// Coverage counts every request by (requested api-version, operationId) and status, unbounded by the
// ring, and names the operations of each served document no request reached.
import { apiVersions, operationsByVersion } from "../../generated/operations.js";

/** Outcome of a validation step: not reached (an earlier stage answered), skipped (not an AKS operation, or off), passed, failed. */
export type ValidationOutcome = "notReached" | "skipped" | "passed" | "failed";

export interface JournalEntry {
  /** ISO time the request arrived. */
  time: string;
  method: string;
  path: string;
  apiVersion: string;
  /** The route's operationId; undefined for a request no ARM route matched (InvalidRequestUri, 405). */
  operationId: string | undefined;
  /** The vendored document that served an AKS request. */
  document: string | undefined;
  status: number;
  durationMs: number;
  requestValidation: ValidationOutcome;
  responseValidation: ValidationOutcome;
  requestId: string;
  correlationId: string;
  clientRequestId: string | undefined;
  /** With FLOCI_AZ_SERVICES_AKS_JOURNAL_BODIES only, and only returned with ?body=true: JSON, truncated to BODY_CAP characters. */
  requestBody?: string;
  responseBody?: string;
}

export interface JournalFilter {
  operationId?: string;
  method?: string;
  status?: number;
  apiVersion?: string;
  /** Case-insensitive prefix of the request path (an ARM resource id). */
  resourceId?: string;
  top?: number;
}

export interface CoverageReport {
  /** Per requested api-version and operationId: calls and their statuses. */
  called: { apiVersion: string; document: string | undefined; operationId: string; calls: number; statuses: Record<string, number> }[];
  /** Per served document: its operations no request served by it reached. */
  uncalled: { document: string; operations: string[] }[];
  totals: { requests: number; operationsCalled: number; operationsServed: number };
}

export const JOURNAL_MAX_ENTRIES = 1000;
export const JOURNAL_MAX_BYTES = 4 * 1024 * 1024;
/** Largest body (characters of JSON) kept per entry. */
export const BODY_CAP = 16 * 1024;
/** Distinct (api-version, operationId) pairs counted: api-versions are the clients' strings. */
const MAX_COVERAGE_KEYS = 10_000;
/** Rough size of an entry without its strings. */
const ENTRY_OVERHEAD = 200;

interface Slot {
  entry: JournalEntry;
  bytes: number;
}

interface Counter {
  apiVersion: string;
  document: string | undefined;
  operationId: string;
  calls: number;
  statuses: Map<number, number>;
}

export class RequestJournal {
  private ring: (Slot | undefined)[];
  /** Index of the oldest entry, and how many there are. */
  private head = 0;
  private count = 0;
  private bytes = 0;
  private readonly coverage = new Map<string, Counter>();
  /** `${document} ${operationId}` of every operation a request served by that document reached. */
  private readonly reached = new Set<string>();
  private requests = 0;

  constructor(
    readonly keepBodies = false,
    readonly maxEntries = JOURNAL_MAX_ENTRIES,
    readonly maxBytes = JOURNAL_MAX_BYTES,
  ) {
    this.ring = new Array(maxEntries);
  }

  /** Records one answered request. Bodies are made into JSON only when they are kept. */
  record(entry: JournalEntry, requestBody?: unknown, responseBody?: unknown): void {
    this.requests++;
    if (entry.operationId) this.count_(entry);
    if (this.keepBodies) {
      if (requestBody !== undefined) entry.requestBody = capped(requestBody);
      if (responseBody !== undefined) entry.responseBody = capped(responseBody);
    }
    const bytes = ENTRY_OVERHEAD + entry.path.length + entry.apiVersion.length + (entry.requestBody?.length ?? 0) + (entry.responseBody?.length ?? 0);
    while (this.count > 0 && (this.count >= this.maxEntries || this.bytes + bytes > this.maxBytes)) this.dropOldest();
    this.ring[(this.head + this.count) % this.maxEntries] = { entry, bytes };
    this.count++;
    this.bytes += bytes;
  }

  /** Entries, newest first, that match the filter. */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const out: JournalEntry[] = [];
    const top = filter.top ?? Infinity;
    const method = filter.method?.toUpperCase();
    const operationId = filter.operationId?.toLowerCase();
    const resourceId = filter.resourceId?.toLowerCase();
    const apiVersion = filter.apiVersion?.toLowerCase();
    for (let i = this.count - 1; i >= 0 && out.length < top; i--) {
      const { entry } = this.ring[(this.head + i) % this.maxEntries]!;
      if (method && entry.method !== method) continue;
      if (operationId && entry.operationId?.toLowerCase() !== operationId) continue;
      if (filter.status !== undefined && entry.status !== filter.status) continue;
      if (apiVersion && entry.apiVersion.toLowerCase() !== apiVersion) continue;
      if (resourceId && !entry.path.toLowerCase().startsWith(resourceId)) continue;
      out.push(entry);
    }
    return out;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.count, bytes: this.bytes };
  }

  /** Empties the journal (DELETE /_emulator/requests); coverage stays. */
  clear(): void {
    this.ring = new Array(this.maxEntries);
    this.head = this.count = this.bytes = 0;
  }

  /** The journal and the coverage (POST /_emulator/reset). */
  reset(): void {
    this.clear();
    this.coverage.clear();
    this.reached.clear();
    this.requests = 0;
  }

  coverageReport(): CoverageReport {
    const called = [...this.coverage.values()]
      .map((c) => ({
        apiVersion: c.apiVersion,
        document: c.document,
        operationId: c.operationId,
        calls: c.calls,
        statuses: Object.fromEntries([...c.statuses].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n])),
      }))
      .sort((a, b) => (a.apiVersion === b.apiVersion ? a.operationId.localeCompare(b.operationId) : b.apiVersion.localeCompare(a.apiVersion)));
    let served = 0;
    const uncalled = apiVersions.map((document) => {
      const operations = operationsByVersion[document].map((op) => op.operationId as string);
      served += operations.length;
      return { document, operations: operations.filter((op) => !this.reached.has(`${document} ${op}`)).sort() };
    });
    return { called, uncalled, totals: { requests: this.requests, operationsCalled: this.reached.size, operationsServed: served } };
  }

  private count_(entry: JournalEntry): void {
    const key = `${entry.apiVersion} ${entry.operationId}`;
    let counter = this.coverage.get(key);
    if (!counter) {
      if (this.coverage.size >= MAX_COVERAGE_KEYS) return;
      counter = { apiVersion: entry.apiVersion, document: entry.document, operationId: entry.operationId!, calls: 0, statuses: new Map() };
      this.coverage.set(key, counter);
    }
    counter.calls++;
    counter.statuses.set(entry.status, (counter.statuses.get(entry.status) ?? 0) + 1);
    if (entry.document) this.reached.add(`${entry.document} ${entry.operationId}`);
  }

  private dropOldest(): void {
    const slot = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.bytes -= slot.bytes;
    this.head = (this.head + 1) % this.maxEntries;
    this.count--;
  }
}

function capped(body: unknown): string {
  let json: string;
  try {
    json = typeof body === "string" ? body : JSON.stringify(body);
  } catch {
    return "(not JSON)";
  }
  return json.length > BODY_CAP ? `${json.slice(0, BODY_CAP)}...(truncated, ${json.length} characters)` : json;
}

/** The journal's filters from a request's query (GET /_emulator/requests). */
export function journalFilter(query: Record<string, unknown>): JournalFilter {
  const text = (name: string) => (typeof query[name] === "string" && query[name] ? (query[name] as string) : undefined);
  const number = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, not '${value}'`);
    return n;
  };
  return {
    operationId: text("operationId"),
    method: text("method"),
    status: number("status"),
    apiVersion: text("apiVersion") ?? text("api-version"),
    resourceId: text("resourceId"),
    top: number("$top") ?? number("top"),
  };
}

/** The coverage report as a Markdown document (aks-emulator coverage --format markdown). */
export function coverageMarkdown(report: CoverageReport): string {
  const lines = [
    "# AKS API coverage",
    "",
    `${report.totals.requests} request(s); ${report.totals.operationsCalled} of ${report.totals.operationsServed} operations of the served documents called.`,
    "",
    "## Called",
    "",
    "| api-version | document | operationId | calls | statuses |",
    "| --- | --- | --- | ---: | --- |",
    ...report.called.map((c) => `| ${c.apiVersion} | ${c.document ?? ""} | ${c.operationId} | ${c.calls} | ${Object.entries(c.statuses).map(([s, n]) => `${s}: ${n}`).join(", ")} |`),
    "",
    "## Never called",
    "",
  ];
  for (const { document, operations } of report.uncalled) {
    lines.push(`### ${document} (${operations.length})`, "", ...(operations.length ? operations.map((op) => `- ${op}`) : ["(every operation was called)"]), "");
  }
  return lines.join("\n");
}
