// One TCP port that answers both plain HTTP/1.1 and HTTPS.
//
// The first byte of a connection decides: 0x16 is a TLS handshake record
// (ClientHello), anything else is taken as HTTP. The byte is pushed back with
// `socket.unshift`, then the socket is handed to an inner http.Server or
// https.Server by emitting 'connection' on it. Neither inner server listens
// itself; both reuse all of node's HTTP machinery (keep-alive, timeouts,
// parser limits) unchanged. tls.TLSSocket and the HTTP parser both drain data
// already buffered on the raw socket, so the unshifted byte is not lost.

import { randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { errors, type ArmError } from "../arm/errors.js";

const TLS_HANDSHAKE_RECORD = 0x16;

/** ARM's ids of a request, kept on its response so that whatever answers it uses the same ones. */
export interface RequestIds {
  requestId: string;
  correlationId: string;
  clientRequestId?: string;
}
export const REQUEST_IDS = Symbol("requestIds");
export type TaggedResponse = http.ServerResponse & { [REQUEST_IDS]?: RequestIds };

export interface DualProtocolServerOptions {
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxHeaderSize?: number;
}

/** A net.Server that can also drop the connections its inner HTTP servers hold. */
export type DualProtocolServer = net.Server & {
  closeAllConnections(): void;
  closeIdleConnections(): void;
};

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createDualProtocolServer(
  handler: Handler,
  tls: { key: string; cert: string },
  options: DualProtocolServerOptions = {},
): DualProtocolServer {
  const serverOptions: http.ServerOptions = {
    ...(options.requestTimeoutMs !== undefined && { requestTimeout: options.requestTimeoutMs }),
    ...(options.headersTimeoutMs !== undefined && { headersTimeout: options.headersTimeoutMs }),
    ...(options.maxHeaderSize !== undefined && { maxHeaderSize: options.maxHeaderSize }),
    // Node checks those timeouts on an interval (30 s by default); keep it
    // below the shortest timeout asked for so short ones are honoured.
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(30_000, ...[options.headersTimeoutMs, options.requestTimeoutMs].filter((t): t is number => !!t).map((t) => t / 2)),
    ),
  };
  const httpServer = http.createServer(serverOptions, handler);
  // ALPN pinned to http/1.1: clients offering h2 (Go, curl) then settle on HTTP/1.1.
  const httpsServer = https.createServer(
    { ...serverOptions, key: tls.key, cert: tls.cert, minVersion: "TLSv1.2", ALPNProtocols: ["http/1.1"] },
    handler,
  );
  const inner = [httpServer, httpsServer];
  if (options.keepAliveTimeoutMs !== undefined) {
    for (const s of inner) s.keepAliveTimeout = options.keepAliveTimeoutMs;
  }
  // A failed handshake (e.g. a client that does not trust the CA) is the
  // client's problem: drop the socket without an unhandled 'error'.
  httpsServer.on("tlsClientError", (_err, socket) => socket.destroy());
  // What node refuses before any handler sees a request (headers over
  // maxHeaderSize, malformed HTTP, a request or its headers too slow) it would
  // answer with a bare status line; answer with ARM's JSON error instead.
  for (const s of inner) s.on("clientError", answerClientError);

  /** Raw sockets that have not yet sent their first byte. */
  const undecided = new Set<net.Socket>();
  const firstByteTimeoutMs = options.headersTimeoutMs ?? 60_000;

  const outer = net.createServer((socket) => {
    // Raw-socket errors (ECONNRESET from a client that hangs up early, ...)
    // must never become uncaught exceptions. The inner servers add their own
    // handlers once they own the socket.
    socket.on("error", () => socket.destroy());
    undecided.add(socket);
    const silent = (): void => void socket.destroy();
    socket.setTimeout(firstByteTimeoutMs, silent);
    socket.once("close", () => undecided.delete(socket));

    const dispatch = (): void => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        if (!socket.readableEnded && !socket.destroyed) socket.once("readable", dispatch);
        return;
      }
      undecided.delete(socket);
      // From here on, timeouts are the inner server's business.
      socket.setTimeout(0);
      socket.removeListener("timeout", silent);
      socket.unshift(first);
      const target = first[0] === TLS_HANDSHAKE_RECORD ? httpsServer : httpServer;
      target.emit("connection", socket);
    };
    socket.once("readable", dispatch);
  }) as DualProtocolServer;

  // The inner servers start their timeout bookkeeping (headersTimeout,
  // requestTimeout) on 'listening'; they never listen, so forward the event.
  outer.on("listening", () => {
    for (const s of inner) s.emit("listening");
  });

  outer.closeIdleConnections = () => {
    for (const s of inner) s.closeIdleConnections();
    for (const socket of undecided) socket.destroy();
  };
  outer.closeAllConnections = () => {
    for (const s of inner) s.closeAllConnections();
    for (const socket of undecided) socket.destroy();
  };

  // Requests in flight when close() is called still get their response, but
  // their connections must not then idle in keep-alive until the timeout.
  let closing = false;
  const inFlight = new Set<http.ServerResponse>();
  for (const s of inner) {
    s.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      if (closing) res.shouldKeepAlive = false;
      inFlight.add(res);
      res.once("close", () => {
        inFlight.delete(res);
        // A response without keep-alive closes its own socket once flushed.
        if (closing && res.shouldKeepAlive) s.closeIdleConnections();
      });
    });
  }

  const closeOuter = outer.close.bind(outer);
  outer.close = (callback?: (err?: Error) => void) => {
    closing = true;
    closeOuter(callback);
    // Unsent responses go out with "Connection: close".
    for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    // http.Server#close stops its timers and drops idle keep-alive sockets.
    for (const s of inner) s.close();
    outer.closeIdleConnections();
    return outer;
  };

  return outer;
}

/** Sockets already answered: node reports a broken request again for every chunk that follows. */
const answered = new WeakSet<net.Socket>();
/** How long a refused connection may still send (and have it read and dropped) before it is closed. */
const LINGER_MS = 1_000;

interface ClientError extends Error {
  code?: string;
}

/** The status and ARM error for what node's HTTP parser or its timeouts refused. */
function describeClientError(error: ClientError, options: { maxHeaderSize?: number }): ArmError {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return errors.requestHeadersTooLarge(options.maxHeaderSize ?? http.maxHeaderSize);
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return errors.chunkExtensionsTooLarge();
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return errors.requestTimeout();
    default:
      return errors.invalidRequestFormat(error.code, error.message);
  }
}

function answerClientError(this: http.Server, error: ClientError, socket: net.Socket): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  // The response in flight on this socket, if a handler already has the request (e.g. its body is late).
  const inFlight = (socket as net.Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, code, message } = describeClientError(error, { maxHeaderSize: (this as http.Server & { maxHeaderSize?: number }).maxHeaderSize });
  const ids = (inFlight as TaggedResponse | undefined)?.[REQUEST_IDS];
  const requestId = ids?.requestId ?? String(inFlight?.getHeader("x-ms-request-id") ?? randomUUID());
  const correlationId = ids?.correlationId ?? String(inFlight?.getHeader("x-ms-correlation-request-id") ?? requestId);
  const body = JSON.stringify({ error: { code, message } });
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-ms-request-id: ${requestId}`,
    `x-ms-correlation-request-id: ${correlationId}`,
    "Connection: close",
  ];
  if (inFlight) {
    // The handler must not go on with this request: stop its body, so it never sees the end of it;
    // the connection closes below and the handler's body read fails.
    inFlight.req?.pause();
  }
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
  // A slow or stalled client: close as soon as the answer is out. Otherwise the client may still be
  // sending what was refused: node's parser keeps reading and dropping it (closing with unread data
  // would reset the connection and could lose the answer), and the connection closes soon after.
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") socket.once("finish", () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * The origin the client used to reach us, e.g. "https://localhost:8443".
 * X-Forwarded-Proto / X-Forwarded-Host (first value) win, for reverse proxies.
 */
export function requestBaseUrl(req: http.IncomingMessage): string {
  const forwardedProto = firstValue(req.headers["x-forwarded-proto"]);
  const scheme = forwardedProto
    ? forwardedProto.toLowerCase()
    : (req.socket as TLSSocket).encrypted
      ? "https"
      : "http";
  const host = firstValue(req.headers["x-forwarded-host"]) || firstValue(req.headers.host) || "localhost";
  return `${scheme}://${host}`;
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(",")[0]?.trim() || undefined;
}
