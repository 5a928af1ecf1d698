import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real clients (Python, JS, az, Java, Go) have their own run: npm run test:clients
    // (vitest.clients.config.ts), so their installs are cached and counted on their own.
    exclude: ["test/clients/**", "**/node_modules/**"],
    // One CA for every test server, trusted through NODE_EXTRA_CA_CERTS exactly as a user trusts it.
    globalSetup: ["test/support/globalSetup.ts"],
    setupFiles: ["test/support/freezeRecords.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
