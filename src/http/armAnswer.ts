// ARM's answer on the wire: status and every header in one writeHead (ARM's request ids first),
// then the body's JSON. Both the ARM pipeline and the web endpoints answer errors through it.
import type { ServerResponse } from "node:http";
import type { ArmError } from "../arm/errors.js";
import type { ArmResponse } from "../handlers/contract.js";
import { REQUEST_IDS, type TaggedResponse } from "./dualProtocolServer.js";
import { encodeBody } from "./encodedBodies.js";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function errorResponse(error: ArmError): ArmResponse {
  return { status: error.status, headers: error.headers, body: error.toBody() };
}

export function writeError(res: ServerResponse, error: ArmError): void {
  write(res, errorResponse(error), false);
}

/** Writes the answer: status and every header (`added`: more name, value pairs) in one writeHead, then the body's JSON. */
export function write(res: ServerResponse, response: ArmResponse, headOnly: boolean, added?: readonly string[]): void {
  // The connection is gone (the client hung up, or the server answered a timeout on it): nothing to send.
  if (res.destroyed || res.writableEnded || res.headersSent) return;
  const ids = (res as TaggedResponse)[REQUEST_IDS];
  const head: string[] = ids ? ["x-ms-request-id", ids.requestId, "x-ms-correlation-request-id", ids.correlationId] : [];
  if (ids?.clientRequestId) head.push("x-ms-client-request-id", ids.clientRequestId);
  if (response.headers) for (const name in response.headers) head.push(name, response.headers[name]);
  if (added) for (let i = 0; i < added.length; i++) head.push(added[i]);
  if (response.body === undefined) {
    head.push("content-length", "0");
    res.writeHead(response.status, head);
    res.end();
    return;
  }
  const payload = encodeBody(response.body);
  head.push("content-type", JSON_CONTENT_TYPE, "content-length", String(typeof payload === "string" ? Buffer.byteLength(payload) : payload.length));
  res.writeHead(response.status, head);
  res.end(headOnly ? undefined : payload);
}
