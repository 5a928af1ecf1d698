// Talking to a k3s API server from the host: the admin kubeconfig k3s writes (read out of the
// container as a tar archive), and HTTPS requests that trust its CA and present its client cert.
import { request } from "node:https";
import { parse } from "yaml";

/** The first regular file of a tar archive (docker's getArchive of one file): 512-byte headers, data padded to 512. */
export function firstFileOfTar(archive: Buffer): Buffer | undefined {
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return undefined; // end of archive
    const size = parseTarSize(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]);
    const start = offset + 512;
    if (type === "0" || type === "\0") return archive.subarray(start, start + size);
    offset = start + Math.ceil(size / 512) * 512; // a directory, a pax header, a link: skip it
  }
  return undefined;
}

function parseTarSize(field: Buffer): number {
  if (field[0] & 0x80) {
    // base-256 (GNU) for sizes above 8 GiB: never for a kubeconfig, but read it right anyway
    let size = 0;
    for (let i = 1; i < field.length; i++) size = size * 256 + field[i];
    return size;
  }
  const text = field.toString("ascii").replace(/\0.*$/s, "").trim();
  return text ? parseInt(text, 8) : 0;
}

/** What a client needs from k3s.yaml: the CA and the admin client certificate and key (PEM). */
export interface K3sCredentials {
  caPem: string;
  clientCertificatePem: string;
  clientKeyPem: string;
}

const fromBase64 = (value: unknown, what: string): string => {
  if (typeof value !== "string" || !value) throw new Error(`the k3s kubeconfig has no ${what}`);
  return Buffer.from(value, "base64").toString("utf8");
};

export function parseK3sKubeconfig(yamlText: string): K3sCredentials {
  const config = parse(yamlText) ?? {};
  const cluster = config.clusters?.[0]?.cluster ?? {};
  const user = config.users?.[0]?.user ?? {};
  return {
    caPem: fromBase64(cluster["certificate-authority-data"], "certificate-authority-data"),
    clientCertificatePem: fromBase64(user["client-certificate-data"], "client-certificate-data"),
    clientKeyPem: fromBase64(user["client-key-data"], "client-key-data"),
  };
}

export interface KubeConnection extends K3sCredentials {
  /** Port to dial: the published host port, or 6443 on the cluster network. */
  port: number;
  /** Where to dial (default 127.0.0.1): the API server host, or the server container's name on its network (a name its certificate covers). */
  host?: string;
  /** The name the server certificate is checked against (and sent as SNI) when host is an address. */
  servername?: string;
}

export interface KubeResponse {
  status: number;
  body: any;
  text: string;
}

/** One request to the API server, verifying its certificate against the cluster's CA. */
export function kubeRequest(conn: KubeConnection, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: conn.host ?? "127.0.0.1",
        port: conn.port,
        ...(conn.servername ? { servername: conn.servername } : {}),
        method,
        path,
        ca: conn.caPem,
        cert: conn.clientCertificatePem,
        key: conn.clientKeyPem,
        headers: {
          accept: "application/json",
          ...(payload ? { "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json", "content-length": Buffer.byteLength(payload) } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Node name -> Ready condition ("True", "False", "Unknown"), from GET /api/v1/nodes. */
export function nodeReadiness(nodeList: any): Map<string, string> {
  const ready = new Map<string, string>();
  for (const node of nodeList?.items ?? []) {
    const condition = (node.status?.conditions ?? []).find((c: any) => c.type === "Ready");
    ready.set(node.metadata?.name, condition?.status ?? "Unknown");
  }
  return ready;
}

/**
 * Node name -> its Ready condition's status and lastHeartbeatTime (ms since the epoch; NaN when
 * absent). After a restart the API still shows the status the kubelet posted before the stop, Ready
 * True included, until the node lifecycle controller's grace period (node-monitor-grace-period, 40 s
 * by default: https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/)
 * runs out: only a heartbeat newer than the restart says the kubelet runs again.
 */
export function nodeHeartbeats(nodeList: any): Map<string, { status: string; heartbeat: number }> {
  const beats = new Map<string, { status: string; heartbeat: number }>();
  for (const node of nodeList?.items ?? []) {
    const condition = (node.status?.conditions ?? []).find((c: any) => c.type === "Ready");
    beats.set(node.metadata?.name, { status: condition?.status ?? "Unknown", heartbeat: Date.parse(condition?.lastHeartbeatTime ?? "") });
  }
  return beats;
}
