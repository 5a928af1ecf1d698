// Reading a request's JSON body: ARM's size limit, refused before or while it arrives, and a nesting
// limit checked on the raw text before anything parses it.
import type { IncomingMessage } from "node:http";
import { errors } from "../arm/errors.js";

/** Deepest nesting of objects and arrays a request body may have; the deepest AKS body needs about 10. */
export const MAX_JSON_DEPTH = 64;

/** Whether the request has a body at all: one with neither content-length nor transfer-encoding has none. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
}

export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume(); // drain, so the 413 reaches the client
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (error) => {
      if (!failed) reject(errors.bodyUnreadable(error.message));
      failed = true;
    });
    // The connection went away before the body was complete (the client hung up, or the server
    // answered a request timeout on it): the handler must not run on half a body.
    req.on("close", () => {
      if (!failed && !req.complete) reject(errors.bodyIncomplete());
      failed = true;
    });
    req.on("end", () => {
      if (failed) return;
      failed = true; // settled
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text.trim()) return resolve(undefined);
      // What reads the parsed body (validation, the engine's copies, the response writer) recurses
      // once per level: refuse absurd nesting from the raw text, before anything parses it.
      if (nestingExceeds(text, MAX_JSON_DEPTH)) {
        return reject(errors.bodyTooDeep(MAX_JSON_DEPTH));
      }
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(
          errors.bodyNotJson((error as Error).message),
        );
      }
    });
  });
}

/** Whether JSON text nests objects and arrays deeper than `limit`; one pass, no recursion, strings skipped. */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function tooLarge(limit: number) {
  // ARM's own code and wording for a body over its 4 MB limit.
  return errors.bodyTooLarge(limit);
}
