// Mocked or real: the decision when FLOCI_AZ_SERVICES_AKS_MOCKED is unset, against a stand-in Docker
// engine (an HTTP server answering the Engine API's /_ping, reached through DOCKER_HOST as dockerode
// reaches any engine), and real mode's refusal when no Docker engine answers.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decideMode } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { startTestEmulator, TEST_SUBSCRIPTION, type TestEmulator } from "../support/emulator.js";

const savedDockerHost = process.env.DOCKER_HOST;
afterEach(() => {
  if (savedDockerHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedDockerHost;
});

describe("mode decision", () => {
  let engine: Server;
  let pings = 0;
  beforeAll(async () => {
    engine = createServer((req, res) => {
      if (req.url?.endsWith("/_ping")) {
        pings++;
        res.writeHead(200, { "content-type": "text/plain", "api-version": "1.41" }).end("OK");
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => engine.close(() => resolve())));

  it("chooses real mode when _MOCKED is unset and a Docker engine answers", async () => {
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${(engine.address() as AddressInfo).port}`;
    const decision = await decideMode(loadConfig({}, {}));
    expect(decision.mocked).toBe(false);
    expect(decision.reason).toMatch(/Docker engine answers/);
    expect(pings).toBeGreaterThan(0);
  });

  it("chooses mocked mode when _MOCKED is unset and no engine answers, saying why", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    const decision = await decideMode(loadConfig({}, {}));
    expect(decision.mocked).toBe(true);
    expect(decision.reason).toMatch(/no Docker engine answers/);
  });

  it("follows _MOCKED when it is set", async () => {
    expect(await decideMode(loadConfig({}, { FLOCI_AZ_SERVICES_AKS_MOCKED: "false" }))).toMatchObject({ mocked: false });
    expect(await decideMode(loadConfig({}, { FLOCI_AZ_SERVICES_AKS_MOCKED: "true" }))).toMatchObject({ mocked: true });
  });
});

describe("real mode without a Docker engine", () => {
  let emu: TestEmulator;
  beforeAll(async () => {
    // DOCKER_HOST at a port nothing listens on: the engine does not answer.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    emu = await startTestEmulator({ mocked: false });
  });
  afterAll(() => emu.close());

  it("refuses a cluster with an ARM error saying Docker does not answer and how to switch to mocked mode, storing nothing", async () => {
    const base = `${emu.url}/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/rg1`;
    const group = await fetch(`${base}?api-version=2023-07-01`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ location: "eastus" }) });
    expect(group.status).toBe(201);
    const clusterUrl = `${base}/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2026-06-01`;
    const put = await fetch(clusterUrl, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ location: "eastus", properties: { agentPoolProfiles: [{ name: "np1", count: 1, mode: "System" }] } }),
    });
    expect(put.status).toBe(400);
    const body: any = await put.json();
    expect(body.error.code).toBe("RealModeUnavailable");
    expect(body.error.message).toMatch(/Docker engine does not answer/);
    expect(body.error.message).toContain("FLOCI_AZ_SERVICES_AKS_MOCKED=true");
    expect((await fetch(clusterUrl)).status).toBe(404);
    expect(emu.mode.kind).toBe("k3s");
  });
});
