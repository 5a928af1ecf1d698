import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One CA for every test server, trusted through NODE_EXTRA_CA_CERTS exactly as a user trusts it.
    globalSetup: ["test/support/globalSetup.ts"],
    setupFiles: ["test/support/freezeRecords.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
