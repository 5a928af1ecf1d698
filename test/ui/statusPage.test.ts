// The status page (/_emulator/ui) in a real browser: Debian's Chromium, driven by playwright-core (no
// browser of Playwright's own is downloaded). Clusters made through the real SDK and over HTTP show
// up with their pools without a reload, an operation in progress and then finished; a fault added
// through the page's form is the one GET /_emulator/faults lists, and its button removes it; the
// journal lists the PUT and filters; the kubeconfig buttons download kubeconfigs naming the cluster.
// Screenshots go to test-results/ui/ (ignored). Without Chromium this fails, saying how to install
// it: it is never skipped.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectRoot } from "../../src/paths.js";
import { useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, SDK_DEFAULT_API_VERSION, sdkClient } from "../support/sdk.js";

const CHROMIUM = process.env.AKS_EMULATOR_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOTS = join(projectRoot, "test-results", "ui");
const RG = "ui-rg";
const CLUSTER = "ui-aks";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

async function faults(): Promise<any[]> {
  const response = await fetch(`${emu.httpUrl}/_emulator/faults`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { value: any[] }).value;
}

describe("the status page in Chromium", () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const clusterRow = (name: string) => page.locator(`tr.cluster[data-name="${name}"]`);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`bash scripts/ci/setup-chromium.sh\` (Debian's chromium package), or name another binary in AKS_EMULATOR_CHROMIUM.`);
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    expect((await fetch(`${emu.httpUrl}/_emulator/reset`, { method: "POST" })).status).toBe(204);
    await new ArmHttp(emu).createResourceGroup(RG);
    await sdkClient(emu).client.managedClusters.beginCreateOrUpdateAndWait(
      RG,
      CLUSTER,
      {
        location: "eastus",
        dnsPrefix: "ui",
        agentPoolProfiles: [
          { name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" },
          { name: "user1", count: 2, vmSize: "Standard_DS2_v2", mode: "User" },
        ],
      },
      { updateIntervalInMs: 50 },
    );
    browser = await chromium.launch({ executablePath: CHROMIUM });
    // The emulator's own CA signs its certificate; the browser is not told to trust it.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // A refused request is logged by the browser itself ("Failed to load resource"); the page's own errors are the rest.
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
    await page.goto(`${emu.url}/_emulator/ui`);
  });

  afterAll(async () => {
    await browser?.close();
    expect(pageErrors).toEqual([]);
  });

  it("shows the cluster made through the SDK, with its pools' provisioning and power states", async () => {
    try {
      await clusterRow(CLUSTER).waitFor();
    } catch {
      await shot("no-cluster");
      throw new Error(`the status page shows no cluster ${CLUSTER} after it was created (screenshot: ${join(SCREENSHOTS, "no-cluster.png")})`);
    }
    await expect.poll(() => clusterRow(CLUSTER).innerText()).toMatch(/ui-rg\s+eastus.*Succeeded\s+Running/s);
    for (const pool of ["system", "user1"]) {
      const row = page.locator(`tr.pool[data-cluster="${CLUSTER}"][data-name="${pool}"]`);
      expect(await row.innerText()).toMatch(/Succeeded\s+Running/);
    }
    expect(await page.locator("#finished-rows").innerText()).toMatch(/Create\s+.*managedClusters\/ui-aks\s+Succeeded/s);
    await shot("clusters");
  });

  it("shows a cluster created afterwards without a reload", async () => {
    await new ArmHttp(emu).accepted("PUT", `${clusterPath(RG, "ui-later")}?api-version=${SDK_DEFAULT_API_VERSION}`, minimalCluster());
    await clusterRow("ui-later").waitFor();
    expect(await page.locator("#cluster-count").innerText()).toBe("(2)");
  });

  it("adds a fault through its form, and removes it with its button", async () => {
    const form = page.locator("#fault-form");
    await form.locator('input[name="operationId"]').fill("ManagedClusters_Get");
    await form.locator('select[name="method"]').selectOption("GET");
    await form.locator('input[name="times"]').fill("2");
    await form.locator('input[name="retryAfter"]').fill("1");
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.locator("#fault-result").innerText()).toMatch(/^Added fault-\d+\.$/);
    const [rule] = await faults();
    expect(rule).toMatchObject({ match: { operationId: "ManagedClusters_Get", method: "GET" }, times: 2, error: { status: 429, code: "TooManyRequests", retryAfter: 1 }, fired: 0 });
    const row = page.locator(`tr.fault[data-id="${rule.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain("429 TooManyRequests");
    await shot("fault-added");

    await row.locator("button.remove").click();
    await row.waitFor({ state: "detached" });
    expect(await faults()).toEqual([]);
  });

  it("refuses a fault the API refuses, with its message", async () => {
    const form = page.locator("#fault-form");
    await form.locator('select[name="action"]').selectOption("error");
    await form.locator('input[name="code"]').fill("not a code");
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.locator("#fault-result").innerText()).toContain("The fault rule is invalid");
    await form.locator('input[name="code"]').fill("TooManyRequests");
    expect(await faults()).toEqual([]);
  });

  it("lists the PUT in the journal, and filters it", async () => {
    const put = page.locator('tr.request[data-method="PUT"][data-operation="ManagedClusters_CreateOrUpdate"]', { hasText: `/managedClusters/${CLUSTER}\t` });
    await put.waitFor();
    expect(await put.innerText()).toMatch(/\tPUT\t.*\t201\t/);
    const filter = page.locator("#journal-filter");
    await filter.locator('select[name="method"]').selectOption("PUT");
    await filter.locator('input[name="status"]').fill("201");
    await expect.poll(() => page.locator("tr.request").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-method")))).toEqual(["PUT", "PUT", "PUT"]);
    await filter.locator('input[name="operationId"]').fill("ManagedClusters_CreateOrUpdate");
    await expect.poll(() => page.locator("tr.request").count()).toBe(2);
    await shot("journal-filtered");
    await filter.locator('select[name="method"]').selectOption("");
    await filter.locator('input[name="status"]').fill("");
    await filter.locator('input[name="operationId"]').fill("");
  });

  it("shows an operation in progress, then finished", async () => {
    const added = await fetch(`${emu.httpUrl}/_emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ match: { operationId: "ManagedClusters_CreateOrUpdate" }, times: 1, operationDelayMs: 2500 }),
    });
    expect(added.status).toBe(201);
    const put = await new ArmHttp(emu).call("PUT", `${clusterPath(RG, "ui-slow")}?api-version=${SDK_DEFAULT_API_VERSION}`, minimalCluster());
    expect(put.status).toBe(201);
    const running = page.locator("#running-rows tr.operation", { hasText: "managedClusters/ui-slow" });
    await running.waitFor();
    expect(await running.innerText()).toMatch(/^Create\t.*\tInProgress\t/);
    expect(await clusterRow("ui-slow").innerText()).toContain("Creating");
    await shot("operation-running");
    await page.locator("#finished-rows tr.operation", { hasText: "managedClusters/ui-slow" }).waitFor();
    await expect.poll(() => clusterRow("ui-slow").innerText()).toContain("Succeeded");
    expect((await fetch(`${emu.httpUrl}/_emulator/faults`, { method: "DELETE" })).status).toBe(204);
  });

  it("downloads the cluster's admin and user kubeconfigs", async () => {
    for (const kind of ["admin", "user"]) {
      const [download] = await Promise.all([page.waitForEvent("download"), clusterRow(CLUSTER).locator(`button.kubeconfig[data-kind="${kind}"]`).click()]);
      expect(download.suggestedFilename()).toBe(`${CLUSTER}-${kind}.kubeconfig`);
      const kubeconfig = parse(readFileSync(await download.path(), "utf8"));
      expect(kubeconfig.kind).toBe("Config");
      expect(kubeconfig.clusters.map((c: { name: string }) => c.name)).toEqual([CLUSTER]);
      expect(kubeconfig["current-context"]).toBe(CLUSTER);
      expect(kubeconfig.users[0].name).toBe(`${kind === "admin" ? "clusterAdmin" : "clusterUser"}_${RG}_${CLUSTER}`);
    }
    expect(await page.locator("#kubeconfig-error").innerText()).toBe("");
  });
});
