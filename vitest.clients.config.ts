import { defineConfig } from "vitest/config";

// npm run test:clients: every real client, unmodified, against in-process emulators. Each suite
// installs its client into a cache outside the clone keyed by version (test/support/clientCache.ts)
// the first time, so installs dominate a cold run and vanish from a warm one.
export default defineConfig({
  test: {
    include: ["test/clients/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    setupFiles: ["test/support/freezeRecords.ts"],
    pool: "forks",
    // Client installs (pip, Maven, Go modules) happen in beforeAll on a cold cache.
    testTimeout: 300_000,
    hookTimeout: 900_000,
    reporters: ["default"],
  },
});
