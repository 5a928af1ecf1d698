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
    // Node would answer a request without Host with a bare 400: the handler below answers ARM's error.
    requireHostHeader: false,
    // Node checks those timeouts on an interval (30 s by default); keep it
    // below the shortest timeout asked for so short ones are honoured.
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(30_000, ...[options.headersTimeoutMs, options.requestTimeoutMs].filter((t): t is number => !!t).map((t) => t / 2)),
    ),
  };
  const guarded: Handler = (req, res) => {
    // RFC 9112 section 3.2: an HTTP/1.1 request without Host is refused with 400.
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return answerEarly(req, res, errors.hostHeaderMissing());
    handler(req, res);
  };
  const httpServer = http.createServer(serverOptions, guarded);
  // ALPN pinned to http/1.1: clients offering h2 (Go, curl) then settle on HTTP/1.1.
  // `ca: []`: the server asks for no client certificate, so it needs no trust store. Without a `ca`,
  // Node builds its bundled root store (some 140 certificates) for the context: about 20 ms of start-up
  // here (alternating starts: 162 -> 138 and 120 -> 100 ms).
  const httpsServer = https.createServer(
    { ...serverOptions, key: tls.key, cert: tls.cert, ca: [], minVersion: "TLSv1.2", ALPNProtocols: ["http/1.1"] },
    guarded,
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
  for (const s of inner) {
    // Expect: 100-continue. Node would send 100 Continue at once; the request is handed on without it,
    // and whatever reads the body sends it (the ARM pipeline once the request passed every check
    // before its body, a body over the limit included: see sendContinue), so a refusal comes instead.
    s.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => s.emit("request", req, res));
    // Any other expectation: node's bare 417, as ARM's error.
    s.on("checkExpectation", (req: http.IncomingMessage, res: http.ServerResponse) => {
      answerEarly(req, res, errors.expectationUnsupported(String(req.headers.expect)));
    });
  }

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

/** Sends 100 Continue to a request that asked for it (Expect: 100-continue) and has not had it: its body is about to be read. */
export function sendContinue(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (res.headersSent || !req.headers.expect || !/^\s*100-continue\s*$/i.test(req.headers.expect)) return;
  if ((res as { _sent100?: boolean })._sent100 || req.complete) return;
  res.writeContinue();
}

/**
 * ARM's error for a request refused before the ARM pipeline sees it (no Host, an unknown Expect), with
 * ARM's request ids; the connection closes after it (its body, if any, is not read).
 */
function answerEarly(req: http.IncomingMessage, res: http.ServerResponse, error: ArmError): void {
  const requestId = randomUUID();
  const correlation = req.headers["x-ms-correlation-request-id"];
  const ids: RequestIds = { requestId, correlationId: (Array.isArray(correlation) ? correlation[0] : correlation) ?? requestId };
  (res as TaggedResponse)[REQUEST_IDS] = ids;
  const body = JSON.stringify(error.toBody());
  res.shouldKeepAlive = false;
  res.writeHead(error.status, [
    "x-ms-request-id", ids.requestId,
    "x-ms-correlation-request-id", ids.correlationId,
    "content-type", "application/json; charset=utf-8",
    "content-length", String(Buffer.byteLength(body)),
  ]);
  res.end(body);
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
  // A forwarded scheme other than http or https is ignored, like a malformed forwarded host: the
  // request's own stand instead, so every URL built from them (tokens' issuer, nextLink, Location) parses.
  const proto = forwardedProto?.toLowerCase();
  const scheme = proto === "http" || proto === "https"
    ? proto
    : (req.socket as TLSSocket).encrypted
      ? "https"
      : "http";
  const host = validHost(firstValue(req.headers["x-forwarded-host"])) ?? validHost(firstValue(req.headers.host)) ?? "localhost";
  return `${scheme}://${host}`;
}

/** host[:port] as a URL authority takes it (a name or IPv4 address, or a bracketed IPv6 one; a port up to 65535), else undefined. */
const HOST_RE = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
function validHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const match = HOST_RE.exec(host);
  if (!match || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined;
  return host;
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(",")[0]?.trim() || undefined;
}
