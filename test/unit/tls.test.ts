import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { loadOrCreateTls, type TlsMaterial } from "../../src/tls/certificates.js";
import { createDualProtocolServer, requestBaseUrl, type DualProtocolServer } from "../../src/http/dualProtocolServer.js";

interface Reply {
  status: number;
  body: string;
  localPort: number;
}

/** GET over http or https; `ca` makes the TLS client trust our CA. */
function get(url: string, opts: { ca?: string; agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {}): Promise<Reply> {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ca: opts.ca, agent: opts.agent, headers: opts.headers }, (res) => {
      let body = "";
      const localPort = res.socket.localPort ?? -1;
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, localPort }));
    });
    req.on("error", reject);
    req.end();
  });
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("loadOrCreateTls", () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aks-emu-tls-")), "tls");

  it("creates a CA and a server certificate with the requested SANs", async () => {
    const m = await loadOrCreateTls(dir, ["emulator.test", "10.9.8.7"]);
    expect(m.caPath).toBe(path.join(dir, "ca.pem"));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, "ca-key.pem")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, "server-key.pem")).mode & 0o777).toBe(0o600);

    const ca = new X509Certificate(m.caCertPem);
    const leaf = new X509Certificate(m.certPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain("CN=aks-emulator local CA");
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    for (const host of ["localhost", "emulator.test"]) expect(leaf.checkHost(host)).toBe(host);
    for (const ip of ["127.0.0.1", "::1", "10.9.8.7"]) expect(leaf.checkIP(ip)).toBe(ip);
    expect(leaf.keyUsage).toContain("1.3.6.1.5.5.7.3.1"); // serverAuth EKU
  });

  it("reuses the certificates on a second call", async () => {
    const first = await loadOrCreateTls(dir, ["emulator.test"]);
    const second = await loadOrCreateTls(dir, ["EMULATOR.test", "127.0.0.1"]);
    expect(fingerprint(second.caCertPem)).toBe(fingerprint(first.caCertPem));
    expect(fingerprint(second.certPem)).toBe(fingerprint(first.certPem));
    expect(second.keyPem).toBe(first.keyPem);
  });

  it("names an IPv6 host as an IP address, and reuses a certificate that has it", async () => {
    const ipv6Dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aks-emu-tls-")), "tls");
    const first = await loadOrCreateTls(ipv6Dir, ["fd00::7", "[FD00::8]"]);
    const leaf = new X509Certificate(first.certPem);
    for (const ip of ["fd00::7", "fd00::8", "::1"]) expect(leaf.checkIP(ip)).toBe(ip);
    expect(leaf.subjectAltName).not.toMatch(/DNS:fd00/i);
    const second = await loadOrCreateTls(ipv6Dir, ["fd00::7"]);
    expect(fingerprint(second.certPem)).toBe(fingerprint(first.certPem));
  });

  it("reissues only the server certificate for a new host name", async () => {
    const before = await loadOrCreateTls(dir, []);
    const after = await loadOrCreateTls(dir, ["new-name.test"]);
    expect(fingerprint(after.caCertPem)).toBe(fingerprint(before.caCertPem));
    expect(after.caKeyPem).toBe(before.caKeyPem);
    expect(fingerprint(after.certPem)).not.toBe(fingerprint(before.certPem));
    const leaf = new X509Certificate(after.certPem);
    expect(leaf.checkHost("new-name.test")).toBe("new-name.test");
    expect(leaf.checkIssued(new X509Certificate(after.caCertPem))).toBe(true);
  });

  it.runIf(hasOpenssl())("passes openssl verify (strict)", async () => {
    const m = await loadOrCreateTls(dir, []);
    const leafPath = path.join(dir, "server.pem");
    const out = execFileSync("openssl", ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", m.caPath, leafPath], {
      encoding: "utf8",
    });
    expect(out.trim()).toBe(`${leafPath}: OK`);
  });
});

describe("createDualProtocolServer", () => {
  let material: TlsMaterial;
  let server: DualProtocolServer;
  let port: number;

  beforeAll(async () => {
    material = await loadOrCreateTls(fs.mkdtempSync(path.join(os.tmpdir(), "aks-emu-dual-")), []);
    server = createDualProtocolServer(
      (req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ base: requestBaseUrl(req), method: req.method, length: body.length }));
        });
      },
      { key: material.keyPem, cert: material.certPem },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("answers plain HTTP", async () => {
    const r = await get(`http://127.0.0.1:${port}/x`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).base).toBe(`http://127.0.0.1:${port}`);
  });

  it("answers HTTPS when the client trusts the CA", async () => {
    const r = await get(`https://localhost:${port}/x`, { ca: material.caCertPem });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).base).toBe(`https://localhost:${port}`);
  });

  it("rejects a TLS client that does not trust the CA", async () => {
    await expect(get(`https://localhost:${port}/x`)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  it("honours X-Forwarded-Proto and X-Forwarded-Host (first value)", async () => {
    const r = await get(`http://127.0.0.1:${port}/x`, {
      headers: { "x-forwarded-proto": "https, http", "x-forwarded-host": "emu.example:9443, proxy" },
    });
    expect(JSON.parse(r.body).base).toBe("https://emu.example:9443");
  });

  it.each(["http", "https"])("keeps %s connections alive across requests", async (scheme) => {
    const agent = new (scheme === "https" ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 1 });
    try {
      const host = scheme === "https" ? "localhost" : "127.0.0.1";
      const a = await get(`${scheme}://${host}:${port}/a`, { ca: material.caCertPem, agent });
      const b = await get(`${scheme}://${host}:${port}/b`, { ca: material.caCertPem, agent });
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(b.localPort).toBe(a.localPort); // same client socket
    } finally {
      agent.destroy();
    }
  });

  it("delivers a large request body intact over both protocols", async () => {
    const payload = "x".repeat(1024 * 1024);
    for (const [scheme, host] of [
      ["http", "127.0.0.1"],
      ["https", "localhost"],
    ] as const) {
      const mod = scheme === "https" ? https : http;
      const length = await new Promise<number>((resolve, reject) => {
        const req = mod.request(`${scheme}://${host}:${port}/upload`, { method: "POST", ca: material.caCertPem }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(JSON.parse(body).length as number));
        });
        req.on("error", reject);
        req.end(payload);
      });
      expect(length).toBe(payload.length);
    }
  });

  it("survives clients that hang up before or during the handshake", async () => {
    // Connect and close without a byte.
    await new Promise<void>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.end());
      s.on("close", () => resolve());
    });
    // Reset the connection abruptly.
    await new Promise<void>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.resetAndDestroy());
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    // Start a TLS handshake and abort it.
    await new Promise<void>((resolve) => {
      const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: material.caCertPem });
      s.once("secureConnect", () => s.destroy());
      s.on("close", () => resolve());
      s.on("error", () => resolve());
      setImmediate(() => s.destroy());
    });
    const r = await get(`http://127.0.0.1:${port}/still-alive`);
    expect(r.status).toBe(200);
  });

  it("closes cleanly while a keep-alive connection is idle", async () => {
    const local = createDualProtocolServer((_req, res) => res.end("ok"), { key: material.keyPem, cert: material.certPem });
    await new Promise<void>((resolve) => local.listen(0, "127.0.0.1", resolve));
    const localPort = (local.address() as AddressInfo).port;
    const agents = [new http.Agent({ keepAlive: true }), new https.Agent({ keepAlive: true })];
    try {
      await get(`http://127.0.0.1:${localPort}/`, { agent: agents[0] });
      await get(`https://localhost:${localPort}/`, { agent: agents[1], ca: material.caCertPem });
      const started = Date.now();
      await new Promise<void>((resolve, reject) => local.close((err) => (err ? reject(err) : resolve())));
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const a of agents) a.destroy();
    }
  });
});
