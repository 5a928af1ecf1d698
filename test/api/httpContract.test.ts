// The HTTP contract below the operations: every refusal is ARM's JSON error with x-ms-request-id, never
// a 5xx, a bare status line or a reset. Malformed client text (Basic credentials, X-Forwarded-Host),
// Content-Type (415), bodies over the limit with and without Expect: 100-continue (413, no 100 first),
// HEAD of a resource (204 / 404), a request without Host and an unknown Expect. Driven over plain HTTP
// with fetch and raw node:net sockets, where the subject is what a client sends below HTTP's usual shape.
import net from "node:net";
import { describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { clusterPath, minimalCluster } from "../support/sdk.js";

const RG_VERSION = "2023-07-01";
const V = "2025-10-01";
const rgUrl = (emu: TestEmulator, rg: string) => `${emu.httpUrl}/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${rg}?api-version=${RG_VERSION}`;
const MEDIA_TYPE_MESSAGE = (type: string) => `The content media type '${type}' is not supported. Only 'application/json' is supported.`;

interface RawAnswer {
  /** Every status line the server sent, interim ones (100 Continue) included. */
  statuses: number[];
  headers: Record<string, string>;
  body: any;
  /** How the connection ended: "close" (FIN) or the socket error's code. */
  ended: string;
  /** Body bytes the client got to write. */
  sent: number;
}

/**
 * One exchange over a raw socket: `head` at once, then `bodyBytes` of spaces in 1 MiB writes, either
 * straight away or (waitForContinue) only after an interim 100 Continue. Resolves when the server
 * has sent a complete final answer and closed, or after `settleMs` with what arrived.
 */
function rawExchange(port: number, head: string, opts: { bodyBytes?: number; waitForContinue?: boolean; settleMs?: number } = {}): Promise<RawAnswer> {
  const { bodyBytes = 0, waitForContinue = false, settleMs = 3_000 } = opts;
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let sent = 0;
    let sending = false;
    let ended = "open";
    const send = async () => {
      if (sending) return;
      sending = true;
      while (sent < bodyBytes && !socket.destroyed && socket.writable) {
        const piece = Math.min(1 << 20, bodyBytes - sent);
        const ok = socket.write(Buffer.alloc(piece, 0x20));
        sent += piece;
        if (!ok) await new Promise((r) => socket.once("drain", r).once("close", r));
      }
    };
    const finish = () => {
      const parts = text.split("\r\n\r\n");
      const statuses: number[] = [];
      let headers: Record<string, string> = {};
      let body: any;
      for (let i = 0; i < parts.length; i++) {
        const match = /^HTTP\/1\.1 (\d{3})/.exec(parts[i]);
        if (!match) continue;
        statuses.push(Number(match[1]));
        if (Number(match[1]) >= 200) {
          headers = Object.fromEntries(parts[i].split("\r\n").slice(1).map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
          const rest = parts.slice(i + 1).join("\r\n\r\n");
          try {
            body = rest ? JSON.parse(rest) : undefined;
          } catch {
            body = rest;
          }
          break;
        }
      }
      resolve({ statuses, headers, body, ended, sent });
    };
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (waitForContinue && text.startsWith("HTTP/1.1 100")) void send();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => (ended = error.code ?? "error"));
    socket.on("end", () => {
      if (ended === "open") ended = "close";
    });
    socket.on("close", () => {
      clearTimeout(timer);
      finish();
    });
    socket.on("connect", () => {
      socket.write(head.replace(/\n/g, "\r\n"));
      if (!waitForContinue) void send();
    });
    const timer = setTimeout(() => socket.destroy(), settleMs);
  });
}

/** ARM's JSON error with its request ids, as fetch got it; returns the error. */
async function armError(response: Response, status: number, code: string): Promise<{ code: string; message: string }> {
  const body: any = await response.json();
  expect({ status: response.status, code: body.error?.code }).toEqual({ status, code });
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("x-ms-request-id")).toBeTruthy();
  return body.error;
}

function rawArmError(answer: RawAnswer, status: number, code: string): { code: string; message: string } {
  expect({ status: answer.statuses.at(-1), code: answer.body?.error?.code }).toEqual({ status, code });
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  return answer.body.error;
}

let emu: TestEmulator;
useEmulator((e) => (emu = e));

describe("client text that is not well formed: a 4xx, never a 5xx", () => {
  it("token endpoint, HTTP Basic credentials with a malformed percent-escape: 400 invalid_client in Entra's OAuth shape", async () => {
    const response = await fetch(`${emu.httpUrl}/common/oauth2/v2.0/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("%zz:secret").toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-ms-request-id")).toBeTruthy();
    const body: any = await response.json();
    expect(body).toMatchObject({ error: "invalid_client", error_codes: [90023] });
    expect(body.error_description).toMatch(/^AADSTS90023: /);
    // well-formed Basic credentials still sign in
    const ok = await fetch(`${emu.httpUrl}/common/oauth2/v2.0/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("my%20app:secret").toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
    });
    expect(ok.status).toBe(200);
  });

  it("instance discovery with a malformed X-Forwarded-Host: 200, describing the request's own host", async () => {
    const response = await fetch(`${emu.httpUrl}/common/discovery/instance`, { headers: { "x-forwarded-host": "bad host[" } });
    expect(response.status).toBe(200);
    const body: any = await response.json();
    const own = new URL(emu.httpUrl).host;
    expect(body.metadata[0].aliases).toEqual([own]);
    expect(body.tenant_discovery_endpoint).toBe(`${emu.httpUrl}/common/v2.0/.well-known/openid-configuration`);
  });

  it("a malformed X-Forwarded-Host or a port over 65535 on an ARM write: the request's own host in the Location it answers", async () => {
    for (const forwarded of ["a b", "host:99999", "x/y"]) {
      const response = await fetch(`${emu.httpUrl}/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/fwd-rg?api-version=${RG_VERSION}`, {
        method: "PUT",
        headers: { "content-type": "application/json", "x-forwarded-host": forwarded, "x-forwarded-proto": "gopher" },
        body: JSON.stringify({ location: "eastus" }),
      });
      expect(response.status, forwarded).toBeLessThan(300);
    }
    const del = await fetch(rgUrl(emu, "fwd-rg"), { method: "DELETE", headers: { "x-forwarded-host": "a b", "x-forwarded-proto": "gopher" } });
    expect(del.status).toBe(202);
    expect(del.headers.get("location")).toMatch(new RegExp(`^${emu.httpUrl}/subscriptions/`));
  });
});

describe("Content-Type: ARM routes take application/json only (415 UnsupportedMediaType)", () => {
  for (const type of ["text/plain", "application/xml", "application/x-www-form-urlencoded"]) {
    it(`PUT with ${type}: 415, and nothing is written`, async () => {
      const response = await fetch(rgUrl(emu, "media-rg"), { method: "PUT", headers: { "content-type": type }, body: JSON.stringify({ location: "eastus" }) });
      const error = await armError(response, 415, "UnsupportedMediaType");
      expect(error.message).toBe(MEDIA_TYPE_MESSAGE(type));
      expect((await fetch(rgUrl(emu, "media-rg"))).status).toBe(404);
    });
  }

  it("a body without Content-Type: 415 naming '<null>'", async () => {
    const answer = await rawExchange(
      emu.port,
      `PUT /subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/media-rg?api-version=${RG_VERSION} HTTP/1.1\nHost: localhost\nContent-Length: 21\nConnection: close\n\n{"location":"eastus"}`,
    );
    expect(rawArmError(answer, 415, "UnsupportedMediaType").message).toBe(MEDIA_TYPE_MESSAGE("<null>"));
  });

  it("a chunked text/plain body on an AKS PATCH: 415; an empty one is no body", async () => {
    const path = `${clusterPath("media-rg", "c1")}?api-version=${V}`;
    const answer = await rawExchange(emu.port, `PATCH ${path} HTTP/1.1\nHost: localhost\nContent-Type: text/plain\nTransfer-Encoding: chunked\nConnection: close\n\n2\n{}\n0\n\n`);
    rawArmError(answer, 415, "UnsupportedMediaType");
    const action = await fetch(`${emu.httpUrl}${clusterPath("media-rg", "c1")}/stop?api-version=${V}`, { method: "POST", headers: { "content-length": "0" } });
    // no such cluster: the empty body passed the media-type check
    expect(action.status).toBe(404);
  });

  it("application/json with parameters is accepted; the OAuth form endpoints keep their form bodies", async () => {
    const response = await fetch(rgUrl(emu, "media-ok-rg"), { method: "PUT", headers: { "content-type": "Application/JSON; charset=utf-8" }, body: JSON.stringify({ location: "eastus" }) });
    expect(response.status).toBe(201);
    const token = await fetch(`${emu.httpUrl}/common/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&client_id=abc&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
    });
    expect(token.status).toBe(200);
  });

  it("the SDK (application/json) still writes", async () => {
    const created = await fetch(`${emu.httpUrl}${clusterPath("media-ok-rg", "c1")}?api-version=${V}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(minimalCluster()),
    });
    expect(created.status).toBe(201);
  });
});

describe("a body over the limit: 413 the client reads, before any 100 Continue", () => {
  const bigHead = (bytes: number, expect100: boolean) =>
    `PUT /subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/big-rg?api-version=${RG_VERSION} HTTP/1.1\nHost: localhost\nContent-Type: application/json\nContent-Length: ${bytes}\n${expect100 ? "Expect: 100-continue\n" : ""}\n`;

  it("8 MB sent at once without Expect: the client reads 413 RequestContentTooLarge, no reset", async () => {
    const answer = await rawExchange(emu.port, bigHead(8_000_000, false), { bodyBytes: 8_000_000 });
    expect(answer.statuses).toEqual([413]);
    rawArmError(answer, 413, "RequestContentTooLarge");
    expect(answer.ended).not.toBe("ECONNRESET");
  });

  it("with Expect: 100-continue: 413 at once and no 100 Continue; the body is never sent", async () => {
    const answer = await rawExchange(emu.port, bigHead(8_000_000, true), { bodyBytes: 8_000_000, waitForContinue: true, settleMs: 1_500 });
    expect(answer.statuses).toEqual([413]);
    rawArmError(answer, 413, "RequestContentTooLarge");
    expect(answer.sent).toBe(0);
  });

  it("with Expect: 100-continue and a body within the limit: 100 Continue, then the answer", async () => {
    const body = JSON.stringify({ location: "eastus" });
    const head = `PUT /subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/continue-rg?api-version=${RG_VERSION} HTTP/1.1\nHost: localhost\nContent-Type: application/json\nContent-Length: ${body.length}\nExpect: 100-continue\nConnection: close\n\n`;
    const socketAnswer = await new Promise<string>((resolve) => {
      const socket = net.connect(emu.port, "127.0.0.1", () => socket.write(head.replace(/\n/g, "\r\n")));
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        if (!text) socket.write(body);
        text += chunk.toString("latin1");
      });
      socket.on("close", () => resolve(text));
    });
    expect(socketAnswer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
  });

  it("a body far over the drain bound: the 413 arrives, then the server closes the connection (not a reset)", async () => {
    const answer = await rawExchange(emu.port, bigHead(200_000_000, false), { bodyBytes: 200_000_000, settleMs: 10_000 });
    rawArmError(answer, 413, "RequestContentTooLarge");
    expect(answer.sent).toBeLessThan(200_000_000);
  });
});

describe("HEAD of a resource: 204 when it exists, 404 when not, never a body", () => {
  it("HEAD of a cluster: 204 without a body once it exists, 404 before", async () => {
    const url = `${emu.httpUrl}${clusterPath("head-rg", "c1")}?api-version=${V}`;
    const missing = await fetch(url, { method: "HEAD" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-ms-request-id")).toBeTruthy();
    expect(await missing.text()).toBe("");
    await fetch(rgUrl(emu, "head-rg"), { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ location: "eastus" }) });
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(minimalCluster()) })).status).toBe(201);
    const found = await fetch(url, { method: "HEAD" });
    expect(found.status).toBe(204);
    expect(found.headers.get("x-ms-request-id")).toBeTruthy();
    expect(await found.text()).toBe("");
  });

  it("HEAD of a path without GET (an action) is still 405 with Allow", async () => {
    const response = await fetch(`${emu.httpUrl}${clusterPath("head-rg", "c1")}/stop?api-version=${V}`, { method: "HEAD" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});

describe("what node refused before any handler: ARM errors with request ids", () => {
  it("an HTTP/1.1 request without Host: 400 MissingHostHeader", async () => {
    const answer = await rawExchange(emu.port, "GET /_emulator/health HTTP/1.1\n\n");
    rawArmError(answer, 400, "MissingHostHeader");
    expect(answer.headers.connection).toBe("close");
  });

  it("Expect: foo: 417 ExpectationFailed naming the expectation", async () => {
    const answer = await rawExchange(emu.port, "GET /_emulator/health HTTP/1.1\nHost: localhost\nExpect: foo\n\n");
    expect(rawArmError(answer, 417, "ExpectationFailed").message).toContain("'foo'");
  });

  it("the server still serves after all of the above", async () => {
    expect((await fetch(`${emu.httpUrl}/_emulator/health`)).status).toBe(200);
  });
});
