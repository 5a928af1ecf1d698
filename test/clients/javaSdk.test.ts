// Microsoft's Java SDK (azure-resourcemanager-containerservice with azure-identity) against the
// emulator over HTTPS, trusting its CA through a trust store passed with -Djavax.net.ssl.trustStore, as
// the README tells Java users to. Two releases, unmodified and at their own hard-coded api-versions:
// 2.40.0, the one the product documentation pins (2024-02-01), and 2.56.1 (2025-09-01).
//
// test/clients/java/.../AksEmulatorJavaSuite.java runs the documentation's Java example
// (shared/seed/000_95a56bac639d0e4e.txt), adjusted only where it cannot work anywhere (checked below,
// line by line), in the default (non-strict) mode: subscription "subscription-id", resource group
// "my-rg" never created. Then get, list, add, scale and remove a pool, the admin and user
// kubeconfigs, tags by PUT and by PATCH, and delete. Each step prints "PASS <step>"; WireObserver.java
// prints every exchange ("WIRE ...") from azure-core's HttpClientProvider service, outside the SDK's
// pipeline.
//
// Maven resolves from Maven Central into <clientCache>/maven, and each version compiles once into
// <clientCache>/java-containerservice-<version>-<hash of pom and sources>: a warm run starts no Maven.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, TEST_TENANT, type TestEmulator } from "../support/emulator.js";
import { clientCache } from "../support/clientCache.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const JAVA_PROJECT = join(ROOT, "test", "clients", "java");
const SUITE_SOURCE = join(JAVA_PROJECT, "src", "main", "java", "emulator", "AksEmulatorJavaSuite.java");
const SEED = resolve(ROOT, "..", "shared", "seed", "000_95a56bac639d0e4e.txt");
const README = join(ROOT, "README.md");

/** Each release with the api-version it hard-codes (its ContainerServiceManagementClientBuilder). */
const RELEASES = [
  { sdk: "2.40.0", apiVersion: "2024-02-01" },
  { sdk: "2.56.1", apiVersion: "2025-09-01" },
];
const STEPS = [
  "create",
  "get",
  "list",
  "add pool",
  "scale pool",
  "remove pool",
  "admin kubeconfig",
  "user kubeconfig",
  "tags by PUT",
  "tags by PATCH",
  "delete",
];

/** Every file Maven builds from, in a stable order: their hash names the build folder. */
function projectFiles(dir = JAVA_PROJECT): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.name !== "target")
    .flatMap((entry) => (entry.isDirectory() ? projectFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/** Runs a command asynchronously (an emulator may be answering in this process); a failure shows its output. */
async function exec(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeout: number }): Promise<string> {
  try {
    const result = await run(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
    return result.stdout;
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed (exit ${failed.code}):\n--- stdout ---\n${failed.stdout ?? ""}\n--- stderr ---\n${failed.stderr ?? failed.message}`);
  }
}

/**
 * The suite compiled against one release: its classes folder and class path, built when missing.
 * Maven runs offline first (everything may be in the cache already) and online only when that fails.
 */
async function javaSuiteBuild(sdk: string): Promise<{ classPath: string; seconds: number }> {
  const hash = createHash("sha256");
  for (const file of projectFiles()) hash.update(relative(JAVA_PROJECT, file)).update("\0").update(readFileSync(file)).update("\0");
  const buildDir = join(clientCache, `java-containerservice-${sdk}-${hash.digest("hex").slice(0, 12)}`);
  const classPathFile = join(buildDir, "classpath.txt");
  const classes = join(buildDir, "classes");
  const started = performance.now();
  if (!existsSync(classPathFile) || !existsSync(join(classes, "emulator", "AksEmulatorJavaSuite.class"))) {
    rmSync(buildDir, { recursive: true, force: true });
    mkdirSync(clientCache, { recursive: true });
    const args = [
      "-B",
      "-q",
      `-Dmaven.repo.local=${join(clientCache, "maven")}`,
      `-Dcontainerservice.version=${sdk}`,
      `-Dbuild.dir=${buildDir}`,
      "-f",
      join(JAVA_PROJECT, "pom.xml"),
      "compile",
      "dependency:build-classpath",
      `-Dmdep.outputFile=${classPathFile}`,
    ];
    try {
      await exec("mvn", ["-o", ...args], { timeout: 300_000 });
    } catch {
      await exec("mvn", args, { timeout: 600_000 });
    }
  }
  return { classPath: `${classes}:${readFileSync(classPathFile, "utf8").trim()}`, seconds: (performance.now() - started) / 1000 };
}

/** A PKCS12 trust store holding the emulator's CA, made with keytool as a Java user would. */
async function trustStore(): Promise<string> {
  const dataDir = process.env.AKS_EMULATOR_TEST_DATA_DIR!;
  const store = join(dataDir, "aks-emulator-ca.p12");
  if (!existsSync(store)) {
    await exec(
      "keytool",
      ["-importcert", "-noprompt", "-alias", "aks-emulator-ca", "-file", join(dataDir, "ca.pem"), "-keystore", store, "-storetype", "PKCS12", "-storepass", "changeit"],
      { timeout: 60_000 },
    );
  }
  return store;
}

interface Exchange {
  method: string;
  status: number;
  apiVersion: string;
  path: string;
  document: string;
  leniency: string;
}

/** The WIRE lines WireObserver printed, in order. */
function exchanges(stdout: string): Exchange[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("WIRE "))
    .map((line) => {
      const [, method, status, apiVersion, path, document, ...leniency] = line.split(" ");
      return { method, status: Number(status), apiVersion, path, document, leniency: leniency.join(" ") };
    });
}

/** The kinds named in an x-aks-emulator-leniency header ("kind: detail; kind: detail"). */
function leniencyKinds(header: string): string[] {
  return header === "-" ? [] : [...header.matchAll(/(?:^|; )([a-z-]+): /g)].map((m) => m[1]);
}

/** The seed's Java example, from its AzureProfile to its create(). */
function seedJavaExample(): string {
  const text = readFileSync(SEED, "utf8").replace(/\r\n/g, "\n");
  const first = "AzureProfile profile = new AzureProfile(";
  const last = "    .create();";
  const start = text.indexOf(first);
  const end = text.indexOf(last, start);
  if (start < 0 || end < 0) throw new Error(`${SEED}: no Java example from '${first}' to '${last.trim()}'; the seed changed`);
  return text.slice(start, end + last.length) + "\n";
}

/** The seed's example with the adjustments it cannot work anywhere without, each of which must apply. */
function expectedJavaExample(): string {
  const changes: [string, string][] = [
    // AzureEnvironment.AZURE sends every ARM request to management.azure.com.
    [
      'AzureProfile profile = new AzureProfile(\n    "tenant-id", "subscription-id", AzureEnvironment.AZURE);\n',
      "AzureEnvironment emulator = new AzureEnvironment(Map.of(\n" +
        '    "resourceManagerEndpointUrl", endpoint,\n' +
        '    "activeDirectoryEndpointUrl", endpoint,\n' +
        '    "managementEndpointUrl", "https://management.core.windows.net/"));\n' +
        'AzureProfile profile = new AzureProfile(\n    "tenant-id", "subscription-id", emulator);\n',
    ],
    // azure-identity refuses an http authority; MSAL Java asks login.microsoftonline.com about any
    // authority it does not know unless instance discovery is off.
    [
      '    .authorityHost("http://localhost:4577/")  // point to floci-az\n    .build();\n',
      '    .authorityHost(endpoint + "/")  // point to floci-az\n    .disableInstanceDiscovery()\n    .build();\n',
    ],
    // The fluent stages: withVirtualMachineSize returns the stage whose only method is the count.
    ["        .withAgentPoolVirtualMachineCount(1)\n", ""],
    [
      "        .withVirtualMachineSize(ContainerServiceVMSizeTypes.STANDARD_DS2_V2)\n",
      "        .withVirtualMachineSize(ContainerServiceVMSizeTypes.STANDARD_DS2_V2)\n        .withAgentPoolVirtualMachineCount(1)\n",
    ],
  ];
  let example = seedJavaExample();
  for (const [from, to] of changes) {
    if (example.split(from).length !== 2) throw new Error(`the seed's Java example does not have exactly one '${from.trim()}'; the seed changed:\n${seedJavaExample()}`);
    example = example.replace(from, to);
  }
  return example;
}

/** The block of AksEmulatorJavaSuite.java between its "documentation's example" markers, unindented. */
function suiteJavaExample(): string {
  const source = readFileSync(SUITE_SOURCE, "utf8");
  const block = /\n {8}\/\/ --- The documentation's example[^\n]*\n([\s\S]*?)\n {8}\/\/ --- End of the documentation's example/.exec(source);
  if (!block) throw new Error(`${SUITE_SOURCE}: no "// --- The documentation's example" block`);
  return block[1].split("\n").map((line) => line.replace(/^ {8}/, "")).join("\n") + "\n";
}

describe("the documentation's Java example", () => {
  it("AksEmulatorJavaSuite.java runs it with only the adjustments it cannot work anywhere without", () => {
    expect(suiteJavaExample()).toBe(expectedJavaExample());
  });

  it("the README's Java section shows that very code", () => {
    expect(readFileSync(README, "utf8")).toContain(suiteJavaExample());
  });
});

/**
 * Both releases with every operation already done when its first answer is sent (the mocked default),
 * then the newest with each one in progress for a while, so that its poller follows the
 * Azure-AsyncOperation and Location headers to the end.
 */
const RUNS = [
  ...RELEASES.map((release) => ({ ...release, delayMs: 0 })),
  { ...RELEASES[RELEASES.length - 1], delayMs: 1500 },
];

for (const { sdk, apiVersion, delayMs } of RUNS) {
  const label = delayMs ? `, each operation in progress for ${delayMs} ms` : "";
  describe(`azure-resourcemanager-containerservice ${sdk}, unmodified (it sends ${apiVersion})${label}`, () => {
    let emu: TestEmulator;
    let stdout = "";
    beforeAll(async () => {
      const [build, store] = await Promise.all([javaSuiteBuild(sdk), trustStore()]);
      console.info(`java suite ${sdk}: ready in ${build.seconds.toFixed(1)} s (cache ${clientCache})`);
      emu = await startTestEmulator({ strict: false, mockProvisioningDelayMs: delayMs });
      const started = performance.now();
      stdout = await exec(
        "java",
        // C1 only and the serial collector: a short-lived client starts in a third of the time (JIT
        // settings of the JVM, nothing of the SDK's).
        [
          "-XX:TieredStopAtLevel=1",
          "-XX:+UseSerialGC",
          `-Djavax.net.ssl.trustStore=${store}`,
          "-Djavax.net.ssl.trustStorePassword=changeit",
          "-cp",
          build.classPath,
          "emulator.AksEmulatorJavaSuite",
        ],
        {
          timeout: 240_000,
          env: {
            ...process.env,
            EMULATOR_URL: emu.url,
            // DefaultAzureCredential's EnvironmentCredential: a client secret against the emulator's token endpoint.
            AZURE_TENANT_ID: TEST_TENANT,
            AZURE_CLIENT_ID: "java-app",
            AZURE_CLIENT_SECRET: "any-secret",
            AZURE_HTTP_CLIENT_IMPLEMENTATION: "emulator.WireObserver",
          },
        },
      );
      console.info(`java suite ${sdk}${label}: ran in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }, 900_000);
    afterAll(() => emu?.close());

    it("passes every step, in order", () => {
      const passed = stdout.split("\n").filter((line) => line.startsWith("PASS ")).map((line) => line.slice(5));
      expect(passed.map((step) => STEPS.find((name) => step === name || step.startsWith(`${name} `))), stdout).toEqual(STEPS);
      expect(stdout, stdout).toContain(`\nPASSED ${STEPS.length}\n`);
      expect(passed[0]).toMatch(/^create my-cluster Succeeded 1\.\d+/);
      expect(emu.violations).toEqual([]);
    });

    it(`sends ${apiVersion} on every ARM request, and the document of that version answers`, () => {
      const arm = exchanges(stdout).filter((e) => e.path.startsWith("/subscriptions/"));
      expect(new Set(arm.map((e) => e.apiVersion))).toEqual(new Set([apiVersion]));
      // Operation-status resources name no document; every other answer names the request's own.
      const resources = arm.filter((e) => !/\/locations\/[^/]+\/(operations|operationresults)\//.test(e.path));
      expect(new Set(resources.map((e) => e.document))).toEqual(new Set([apiVersion]));
      expect(arm.filter((e) => e.status >= 500), "5xx answers").toEqual([]);
    });

    it("signs in at the emulator's token endpoint, and nothing else leaves for Microsoft's hosts", () => {
      const all = exchanges(stdout);
      expect(all[0]).toMatchObject({ method: "POST", status: 200, path: `/${TEST_TENANT}/oauth2/v2.0/token` });
      expect(all.filter((e) => !e.path.startsWith("/subscriptions/")).map((e) => e.path)).toEqual([`/${TEST_TENANT}/oauth2/v2.0/token`]);
    });

    it("covers the cluster, pool, credential and tag operations with the methods the SDK chose", () => {
      const cluster = "/subscriptions/subscription-id/resourceGroups/my-rg/providers/Microsoft.ContainerService/managedClusters/my-cluster";
      const seen = new Set(exchanges(stdout).map((e) => `${e.method} ${e.status} ${e.path}`));
      for (const expected of [
        `PUT 201 ${cluster}`, // create
        `PUT 201 ${cluster}/agentPools/userpool`, // add a pool: the pool resource
        `PUT 200 ${cluster}`, // scale (the cluster with its agentPoolProfiles) and tags by PUT
        `DELETE 202 ${cluster}/agentPools/userpool`,
        `GET 404 ${cluster}/agentPools/userpool`,
        `POST 200 ${cluster}/listClusterAdminCredential`,
        `POST 200 ${cluster}/listClusterUserCredential`,
        `PATCH 200 ${cluster}`, // tags by PATCH
        `DELETE 202 ${cluster}`,
        `GET 404 ${cluster}`,
      ]) {
        expect(seen, expected).toContain(expected);
      }
    });

    if (delayMs > 0) it("polls each write's Azure-AsyncOperation to the end, at the request's api-version", () => {
      const wire = exchanges(stdout);
      const writes = wire.filter((e) => (e.method === "PUT" && (e.status === 201 || e.status === 200)) || (e.method === "DELETE" && e.status === 202));
      expect(writes.length).toBeGreaterThanOrEqual(6);
      for (const write of writes) {
        const next = wire[wire.indexOf(write) + 1];
        expect(next, `after ${write.method} ${write.path}`).toMatchObject({ method: "GET", status: 200, apiVersion });
        expect(next.path, `after ${write.method} ${write.path}`).toMatch(/\/providers\/Microsoft\.ContainerService\/locations\/eastus\/operations\/[^/]+$/);
      }
      // A delete's poller ends at its Location, operationresults, which answers 204 once it is done.
      expect(wire.filter((e) => /\/operationresults\//.test(e.path)).map((e) => e.status)).toEqual([204, 204]);
    });

    it("is let off only what the documentation's example does that Azure refuses: the subscription id and the missing resource group", () => {
      const wire = exchanges(stdout).filter((e) => e.path.startsWith("/subscriptions/"));
      expect(new Set(wire.flatMap((e) => leniencyKinds(e.leniency)))).toEqual(new Set(["subscription-id", "resource-group"]));
      expect(leniencyKinds(wire[0].leniency).sort()).toEqual(["resource-group", "subscription-id"]);
    });
  });
}
