// An in-process emulator on port 0 for tests: mocked backend unless one is given, strict response
// validation (a response that breaks the spec becomes a 500 the SDK throws on), and a list of every
// violation so a suite can assert there were none.
//
// With AKS_EMULATOR_VIA_PRISM=1 (npm run test:prism) each test emulator also gets a Stoplight Prism
// proxy and an HTTPS front (test/support/prism.ts): `url` is then the front, so the SDK's AKS traffic
// is validated by Prism as well, and every error Prism raises lands in `violations` too. The
// emulator's own check then only warns (and records), so Prism sees the emulator's real responses.
import { ClientSecretCredential } from "@azure/identity";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startApp, type AppOptions, type RunningApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import type { ResponseViolation } from "../../src/http/armPipeline.js";
import { loadOrCreateTls } from "../../src/tls/certificates.js";
import { silentLogger } from "../../src/util.js";
import { startPrismFront, type PrismFront } from "./prism.js";

export interface TestEmulator extends RunningApp {
  violations: ResponseViolation[];
  config: Config;
  /** A credential that signs in against the emulator's own token endpoint, as a user's app would. */
  credential: ClientSecretCredential;
  /** The Prism front, when AKS_EMULATOR_VIA_PRISM=1. */
  prism?: PrismFront;
}

/** Whether this test run sends the AKS traffic through Prism (npm run test:prism). */
export const viaPrism = process.env.AKS_EMULATOR_VIA_PRISM === "1";

export const TEST_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
export const TEST_TENANT = "00000000-0000-0000-0000-000000000001";

export async function startTestEmulator(
  overrides: Partial<Config> = {},
  options: Omit<AppOptions, "config"> = {},
): Promise<TestEmulator> {
  const dataDir = process.env.AKS_EMULATOR_TEST_DATA_DIR;
  if (!dataDir) throw new Error("test/support/globalSetup.ts did not run");
  const config: Config = {
    ...loadConfig({}, {}),
    port: 0,
    bindHost: "127.0.0.1",
    keyDir: dataDir,
    dataDir: undefined,
    mocked: true,
    responseValidation: viaPrism ? "warn" : "strict",
    logRequests: false,
    ...overrides,
  };
  const violations: ResponseViolation[] = [];
  const app = await startApp({
    logger: silentLogger,
    ...options,
    config,
    onResponseViolation: (v) => {
      violations.push(v);
      options.onResponseViolation?.(v);
    },
  });
  let prism: PrismFront | undefined;
  if (viaPrism) {
    try {
      const tls = await loadOrCreateTls(dataDir, config.hostNames);
      prism = await startPrismFront({
        emulatorHttpUrl: app.httpUrl,
        tls: { key: tls.keyPem, cert: tls.certPem },
        onViolation: (v) => {
          violations.push(v);
          options.onResponseViolation?.(v);
        },
      });
    } catch (error) {
      await app.close();
      throw error;
    }
  }
  const url = prism?.url ?? app.url;
  const credential = new ClientSecretCredential(TEST_TENANT, "11111111-2222-3333-4444-555555555555", "any-secret", {
    authorityHost: url,
    disableInstanceDiscovery: true,
  });
  if (!prism) return { ...app, violations, config, credential };
  const front = prism;
  return {
    ...app,
    url,
    violations,
    config,
    credential,
    prism: front,
    close: async () => {
      await front.close();
      await app.close();
      console.info(`prism front ${url}: ${front.stats.viaPrism} requests validated by Prism, ${front.stats.direct} sent straight to the emulator`);
      if (front.warnings.length) console.warn(`prism warnings (${url}):\n${front.warnings.join("\n")}`);
    },
  };
}

/**
 * One emulator for the tests of a file (or describe block): started before them, closed after, and
 * after every test the responses that broke the spec must be none (spliced, so one test's violations
 * do not fail the next). `assign` hands the started emulator to the file's own variable.
 */
export function useEmulator(assign: (emu: TestEmulator) => void, overrides: Partial<Config> = {}, options: Omit<AppOptions, "config"> = {}): void {
  let started: TestEmulator | undefined;
  beforeAll(async () => {
    started = await startTestEmulator(overrides, options);
    assign(started);
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(() => {
    expect(started?.violations.splice(0) ?? []).toEqual([]);
  });
}
