// Reading a request's JSON body: ARM's size limit, refused before or while it arrives, and a nesting
// limit checked on the raw text before anything parses it.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { errors, type ArmError } from "../arm/errors.js";

/** Deepest nesting of objects and arrays a request body may have; the deepest AKS body needs about 10. */
export const MAX_JSON_DEPTH = 64;

/** Whether the request has a body at all: one with neither content-length nor transfer-encoding has none. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
}

/** The declared Content-Length (NaN when there is none, e.g. a chunked body). */
export function declaredLength(req: IncomingMessage): number {
  const header = req.headers["content-length"];
  return header === undefined ? NaN : Number(header);
}

/** Whether a Content-Type is application/json, with any parameters (charset). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const at = contentType.indexOf(";");
  return (at < 0 ? contentType : contentType.slice(0, at)).trim().toLowerCase() === "application/json";
}

/** How long a connection closed for a body over the drain bound may still send before it is dropped. */
const CLOSE_LINGER_MS = 2_000;

/**
 * Reads and drops the rest of a body whose request was already answered, so the client (which may
 * still be sending) reads the answer instead of a reset; past `bound` bytes the server half-closes
 * the connection (its answer is out) and drops it soon after.
 */
export function drainBounded(req: IncomingMessage, bound: number): void {
  let drained = 0;
  const onData = (chunk: Buffer): void => {
    drained += chunk.length;
    if (drained <= bound) return;
    req.removeListener("data", onData);
    closeGracefully(req.socket);
  };
  req.on("data", onData);
  req.resume();
}

function closeGracefully(socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  socket.end();
  // What the client still sends meanwhile is read and dropped (the socket keeps flowing).
  socket.resume();
  setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
}

/**
 * The body as JSON. `mediaTypeError`: the refusal for a Content-Type that is not application/json,
 * answered once the body turns out not to be empty.
 */
export function readJsonBody(req: IncomingMessage, limit: number, mediaTypeError?: ArmError): Promise<unknown> {
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
      if (mediaTypeError && size > 0) return reject(mediaTypeError);
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
