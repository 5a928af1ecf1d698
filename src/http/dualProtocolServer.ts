// One TCP port that answers both plain HTTP/1.1 and HTTPS.
//
// The first byte of a connection decides: 0x16 is a TLS handshake record
// (ClientHello), anything else is taken as HTTP. The byte is pushed back with
// `socket.unshift`, then the socket is handed to an inner http.Server or
// https.Server by emitting 'connection' on it. Neither inner server listens
// itself; both reuse all of node's HTTP machinery (keep-alive, timeouts,
// parser limits) unchanged. tls.TLSSocket and the HTTP parser both drain data
// already buffered on the raw socket, so the unshifted byte is not lost.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { TLSSocket } from "node:tls";

const TLS_HANDSHAKE_RECORD = 0x16;

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
