// Writes racing for one resource, on the memory store and on the SQLite store: the first the
// emulator takes starts an operation, and every other write to that resource meanwhile is refused
// with ARM's 409 OperationNotAllowed, so exactly one wins and the stored state is the winner's. The
// backend's work waits for the test (a gate), so the race does not depend on timing.
//
// Creates of the same new cluster race the same way: AKS answers the first with 201 and refuses every
// other write while that create runs (409 OperationNotAllowed, "there's an in progress create"); a
// PUT after it has ended is an update (200). That is what is asserted, precisely.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { call, clusterBody, clusterPath, onBase, poolBody, poolPath, poolsPath, rgPath, type Answer } from "./childEmulator.js";

const N = 10;
/** The emulator's HTTPS address on 127.0.0.1 (the certificate covers it). */
const b = (e: TestEmulator) => `https://127.0.0.1:${e.port}`;
const RG = "race-rg";

async function settled(emu: TestEmulator, answer: Answer): Promise<void> {
  const url = onBase(b(emu), answer.headers.get("azure-asyncoperation")!);
  for (let i = 0; i < 200; i++) {
    const status = await call(b(emu), "GET", url);
    if (status.body.status !== "InProgress") {
      expect(status.body.status).toBe("Succeeded");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`operation ${url} did not end`);
}

/** Splits the answers into the winners (statuses in `win`) and the rest, which must all be 409 OperationNotAllowed. */
function oneWinner(answers: Answer[], win: number): Answer {
  const winners = answers.filter((a) => a.status === win);
  const refused = answers.filter((a) => a.status !== win);
  expect(winners.map((a) => a.status), JSON.stringify(answers.map((a) => [a.status, a.body?.error?.code]))).toEqual([win]);
  expect(refused).toHaveLength(N - 1);
  for (const answer of refused) {
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: "OperationNotAllowed", message: expect.stringContaining("in progress") });
  }
  return winners[0];
}

describe.each(["memory", "sqlite"] as const)("durability: racing writes (%s store)", (storeKind) => {
  let emu: TestEmulator | undefined;
  let backend: GatedBackend;
  let dataDir: string | undefined;

  const start = async () => {
    backend = new GatedBackend({ held: true, gated: ["applyCluster", "applyAgentPool", "deleteAgentPool", "deleteCluster"] });
    emu = await startTestEmulator(dataDir ? { dataDir } : {}, { backend });
    return emu;
  };
  const restart = async () => {
    backend.releaseAll();
    await emu!.close();
    return start();
  };

  afterEach(async () => {
    backend?.releaseAll();
    if (emu) expect(emu.violations).toEqual([]);
    await emu?.close();
    emu = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function setUp(): Promise<TestEmulator> {
    dataDir = storeKind === "sqlite" ? mkdtempSync(join(tmpdir(), "aks-emulator-race-")) : undefined;
    const e = await start();
    expect((await call(b(e), "PUT", rgPath(RG), { location: "eastus" })).status).toBe(201);
    return e;
  }

  async function existingCluster(e: TestEmulator, name: string): Promise<void> {
    const created = await call(b(e), "PUT", clusterPath(RG, name), clusterBody({ writer: "setup" }));
    expect(created.status).toBe(201);
    backend.releaseAll();
    await settled(e, created);
  }

  it(`${N} parallel PUTs to one cluster: one 200, ${N - 1} 409 OperationNotAllowed, and the winner's tags are stored`, async () => {
    const e = await setUp();
    await existingCluster(e, "shared");

    const answers = await Promise.all(Array.from({ length: N }, (_, i) => call(b(e), "PUT", clusterPath(RG, "shared"), clusterBody({ writer: `w${i}` }))));
    const winner = oneWinner(answers, 200);
    const tags = winner.body.tags;
    expect(tags.writer).toMatch(/^w\d$/);
    expect(winner.body.properties.provisioningState).toBe("Updating");
    expect(backend.pending).toBe(1); // one operation runs

    const during = await call(b(e), "GET", clusterPath(RG, "shared"));
    expect(during.body).toMatchObject({ tags, properties: { provisioningState: "Updating" } });
    backend.releaseAll();
    await settled(e, winner);
    expect((await call(b(e), "GET", clusterPath(RG, "shared"))).body).toMatchObject({ tags, properties: { provisioningState: "Succeeded" } });

    // The refusals left nothing behind: a restart (the SQLite store reloads from disk) reads the same.
    if (storeKind === "sqlite") {
      const again = await restart();
      expect((await call(b(again), "GET", clusterPath(RG, "shared"))).body).toMatchObject({ tags, properties: { provisioningState: "Succeeded" } });
    }
  });

  it(`${N} parallel creates of one new cluster: one 201, ${N - 1} 409 while it is created, then a PUT is an update (200)`, async () => {
    const e = await setUp();
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => call(b(e), "PUT", clusterPath(RG, "fresh"), clusterBody({ writer: `w${i}` }))));
    const winner = oneWinner(answers, 201);
    const tags = winner.body.tags;
    expect(winner.body.properties.provisioningState).toBe("Creating");
    expect(backend.pending).toBe(1);

    backend.releaseAll();
    await settled(e, winner);
    const stored = await call(b(e), "GET", clusterPath(RG, "fresh"));
    expect(stored.body).toMatchObject({ tags, properties: { provisioningState: "Succeeded", agentPoolProfiles: [{ name: "system" }] } });
    const listed = await call(b(e), "GET", `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters?api-version=2026-06-01`);
    expect(listed.body.value.map((c: any) => c.name)).toEqual(["fresh"]);

    const update = await call(b(e), "PUT", clusterPath(RG, "fresh"), clusterBody({ writer: "after" }));
    expect(update.status).toBe(200);
    backend.releaseAll();
    await settled(e, update);
    if (storeKind === "sqlite") {
      const again = await restart();
      expect((await call(b(again), "GET", clusterPath(RG, "fresh"))).body).toMatchObject({ tags: { writer: "after" }, properties: { provisioningState: "Succeeded" } });
    }
  });

  it(`${N} parallel creates of different pools in one cluster: one 201, ${N - 1} 409, and only the winner's pool exists`, async () => {
    const e = await setUp();
    await existingCluster(e, "pools");
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => call(b(e), "PUT", poolPath(RG, "pools", `p${i}`), poolBody({ writer: `w${i}` }))));
    const winner = oneWinner(answers, 201);
    backend.releaseAll();
    await settled(e, winner);
    const pools = (await call(b(e), "GET", poolsPath(RG, "pools"))).body.value;
    expect(pools.map((p: any) => p.name)).toEqual(["system", winner.body.name]);
    expect(pools[1].properties).toMatchObject({ provisioningState: "Succeeded", tags: winner.body.properties.tags });
    if (storeKind === "sqlite") {
      const again = await restart();
      expect((await call(b(again), "GET", poolsPath(RG, "pools"))).body.value.map((p: any) => p.name)).toEqual(["system", winner.body.name]);
    }
  });
});
