// An in-process emulator on port 0 for tests: mocked backend unless one is given, strict response
// validation (a response that breaks the spec becomes a 500 the SDK throws on), and a list of every
// violation so a suite can assert there were none.
import { ClientSecretCredential } from "@azure/identity";
import { startApp, type AppOptions, type RunningApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import type { ResponseViolation } from "../../src/http/armPipeline.js";
import { silentLogger } from "../../src/util.js";

export interface TestEmulator extends RunningApp {
  violations: ResponseViolation[];
  config: Config;
  /** A credential that signs in against the emulator's own token endpoint, as a user's app would. */
  credential: ClientSecretCredential;
}

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
    dataDir,
    mocked: true,
    responseValidation: "strict",
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
  const credential = new ClientSecretCredential(TEST_TENANT, "11111111-2222-3333-4444-555555555555", "any-secret", {
    authorityHost: app.url,
    disableInstanceDiscovery: true,
  });
  return { ...app, violations, config, credential };
}
