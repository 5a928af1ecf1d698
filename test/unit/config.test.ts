import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, configVariables, loadConfig, parseArgs } from "../../src/config.js";

describe("configuration", () => {
  it("reads the documented FLOCI_AZ_SERVICES_AKS_* variables", () => {
    const config = loadConfig({}, {
      FLOCI_AZ_SERVICES_AKS_ENABLED: "false",
      FLOCI_AZ_SERVICES_AKS_MOCKED: "true",
      FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE: "rancher/k3s:v1.33.5-k3s1",
      FLOCI_AZ_SERVICES_AKS_API_SERVER_BASE_PORT: "7000",
      FLOCI_AZ_SERVICES_AKS_API_SERVER_MAX_PORT: "7010",
      FLOCI_AZ_SERVICES_AKS_KEEP_RUNNING_ON_SHUTDOWN: "true",
    });
    expect(config).toMatchObject({
      aksEnabled: false,
      mocked: true,
      defaultImage: "rancher/k3s:v1.33.5-k3s1",
      apiServerBasePort: 7000,
      apiServerMaxPort: 7010,
      keepRunningOnShutdown: true,
      port: 4577,
    });
  });

  it("leaves the mode undecided when _MOCKED is unset", () => {
    expect(loadConfig({}, {}).mocked).toBeUndefined();
  });

  it("flags override variables", () => {
    const { flags } = parseArgs(["--port", "5000", "--hostname", "a.test", "--hostname=b.test"]);
    const config = loadConfig(flags, { FLOCI_AZ_SERVICES_AKS_PORT: "6000", FLOCI_AZ_SERVICES_AKS_HOSTNAMES: "c.test" });
    expect(config.port).toBe(5000);
    expect(config.hostNames).toEqual(["a.test", "b.test", "c.test"]);
  });

  it("refuses malformed values naming the setting", () => {
    expect(() => loadConfig({}, { FLOCI_AZ_SERVICES_AKS_MOCKED: "maybe" })).toThrow(/FLOCI_AZ_SERVICES_AKS_MOCKED/);
    expect(() => loadConfig({}, { FLOCI_AZ_SERVICES_AKS_PORT: "70000" })).toThrow(ConfigError);
    expect(() => loadConfig({}, { FLOCI_AZ_SERVICES_AKS_API_SERVER_BASE_PORT: "7000", FLOCI_AZ_SERVICES_AKS_API_SERVER_MAX_PORT: "6000" })).toThrow(/below/);
    expect(() => parseArgs(["--nope", "1"])).toThrow(/unknown flag/);
  });

  it("reads ARM's token buckets for the rate limit as size,perSecond, and refuses anything else", () => {
    expect(loadConfig({}, {}).rateLimit).toEqual({ enforce: false, reads: { size: 250, perSecond: 25 }, writes: { size: 200, perSecond: 10 }, deletes: { size: 200, perSecond: 10 } });
    const config = loadConfig({}, { FLOCI_AZ_SERVICES_AKS_RATE_LIMIT: "true", FLOCI_AZ_SERVICES_AKS_RATE_LIMIT_READS: "5, 0.5" });
    expect(config.rateLimit).toMatchObject({ enforce: true, reads: { size: 5, perSecond: 0.5 } });
    for (const bad of ["5", "0,1", "5,0", "5,1,2", "1.5,1", "x,y"]) {
      expect(() => loadConfig({}, { FLOCI_AZ_SERVICES_AKS_RATE_LIMIT_WRITES: bad }), bad).toThrow(/FLOCI_AZ_SERVICES_AKS_RATE_LIMIT_WRITES: expected 'size,perSecond'/);
    }
  });

  it("the README's configuration table lists every setting with its default", () => {
    const readme = readFileSync("README.md", "utf8");
    for (const variable of configVariables) {
      const row = readme.split("\n").find((line) => line.startsWith(`| \`${variable.name}\``));
      expect(row, variable.name).toBeDefined();
      if (variable.flag) expect(row).toContain(`\`${variable.flag}\``);
      if (variable.default && variable.default !== "auto") expect(row).toContain(`\`${variable.default}\``);
    }
  });
});
