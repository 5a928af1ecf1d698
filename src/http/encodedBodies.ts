// Response bodies served again and again unchanged (a cluster's view until the cluster or one of its
// pools changes) are serialized once. Only objects marked reusable are cached: marking them is a
// promise that they are never changed afterwards (they are frozen), and the cache holds them weakly,
// so a view the engine drops takes its bytes with it.
const encoded = new WeakMap<object, Buffer | null>();

/** Freezes a response body and marks it as served many times: its JSON is kept once made. */
export function reusable<T extends object>(body: T): T {
  encoded.set(Object.freeze(body), null);
  return body;
}

/** The body's JSON: the kept bytes of a reusable body, else a fresh string. */
export function encodeJson(body: unknown): Buffer | string {
  if (typeof body !== "object" || body === null) return JSON.stringify(body);
  const kept = encoded.get(body);
  if (kept) return kept;
  if (kept === null) {
    const bytes = Buffer.from(JSON.stringify(body));
    encoded.set(body, bytes);
    return bytes;
  }
  return JSON.stringify(body);
}
