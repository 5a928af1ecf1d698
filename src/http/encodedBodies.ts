// Response bodies served again and again unchanged (a cluster's view until the cluster or one of its
// pools changes) are serialized once. A frozen body is the promise: the engine freezes the views it
// keeps (and stored records are never changed in place), so neither the body nor anything in it
// changes afterwards. The JSON of any frozen object body is kept, weakly: a view the engine drops
// takes its JSON with it.
const encoded = new WeakMap<object, string | null>();

/** Freezes a response body and marks it as served many times: its JSON is kept once made. */
export function reusable<T extends object>(body: T): T {
  encoded.set(Object.freeze(body), null);
  return body;
}

/** The kept JSON of a frozen body (made on first use); undefined for a body that may still change. */
function keptJson(body: object): string | undefined {
  const kept = encoded.get(body);
  if (kept) return kept;
  if (kept === undefined && !Object.isFrozen(body)) return undefined;
  const json = JSON.stringify(body);
  encoded.set(body, json);
  return json;
}

/** The body's JSON. A frozen body's is made once; a list page splices in the kept JSON of its items. */
export function encodeJson(body: unknown): string {
  if (typeof body !== "object" || body === null) return JSON.stringify(body);
  const kept = keptJson(body);
  if (kept !== undefined) return kept;
  if (isListPage(body)) {
    const items = body.value.map((item) => (typeof item === "object" && item !== null && keptJson(item)) || JSON.stringify(item));
    const nextLink = body.nextLink === undefined ? "" : `,"nextLink":${JSON.stringify(body.nextLink)}`;
    return `{"value":[${items.join(",")}]${nextLink}}`;
  }
  return JSON.stringify(body);
}

/** ARM's list page, {value, nextLink?}, and nothing else. */
function isListPage(body: object): body is { value: unknown[]; nextLink?: string } {
  const keys = Object.keys(body);
  return Array.isArray((body as { value?: unknown }).value) && keys.every((key) => key === "value" || key === "nextLink");
}
