#!/usr/bin/env node
// CLI: `aks-emulator [serve] [--port N] [--host H] [--hostname NAME]... [--data-dir DIR]`,
// `aks-emulator ca` prints the local CA certificate, `aks-emulator help` lists the settings and the
// client commands (az-login, coverage, kubeconfig, env).
import { startApp, StartupError } from "./app.js";
import { CliError } from "./cli/emulatorClient.js";
import { ConfigError, configVariables, loadConfig, parseArgs } from "./config.js";
import { startIdleCollection } from "./idleCollection.js";
import { loadOrCreateTls } from "./tls/certificates.js";
import { consoleLogger } from "./util.js";

function usage(): string {
  const rows = configVariables.map((v) => `  ${v.name}${v.flag ? ` (${v.flag})` : ""}\n      default ${v.default || "(none)"}: ${v.description}`);
  return [
    "Usage: aks-emulator [serve] [--port N] [--host ADDR] [--hostname NAME]... [--data-dir DIR]",
    "       aks-emulator ca          print the local CA certificate (PEM) that signs the server certificate",
    "       aks-emulator az-login    point the Azure CLI at a running emulator and sign in (az-login --help)",
    "       aks-emulator coverage    print a running emulator's AKS API coverage, markdown or JSON (coverage --help)",
    "       aks-emulator kubeconfig  merge a cluster's kubeconfig into ~/.kube/config, as az aks get-credentials (kubeconfig --help)",
    "       aks-emulator env         print the exports that make each SDK, az and Terraform trust and sign in to it (env --help)",
    "",
    "Settings (flags override environment variables):",
    ...rows,
  ].join("\n");
}

/** The commands that set clients up or read a running emulator: each loaded only when run, so the server starts without them. */
const CLIENT_COMMANDS: Record<string, () => Promise<{ usage: string; run(argv: string[]): Promise<number | void> }>> = {
  "az-login": async () => {
    const { AZ_LOGIN_USAGE, azLogin, parseAzLoginArgs } = await import("./cli/azLogin.js");
    return { usage: AZ_LOGIN_USAGE, run: (argv) => azLogin(parseAzLoginArgs(argv)) };
  },
  coverage: async () => {
    const { COVERAGE_USAGE, parseCoverageArgs, printCoverage } = await import("./cli/coverage.js");
    return { usage: COVERAGE_USAGE, run: (argv) => printCoverage(parseCoverageArgs(argv)) };
  },
  kubeconfig: async () => {
    const { KUBECONFIG_USAGE, kubeconfig, parseKubeconfigArgs } = await import("./cli/kubeconfig.js");
    return { usage: KUBECONFIG_USAGE, run: (argv) => kubeconfig(parseKubeconfigArgs(argv)) };
  },
  env: async () => {
    const { ENV_USAGE, parseEnvArgs, printEnv } = await import("./cli/env.js");
    return { usage: ENV_USAGE, run: (argv) => printEnv(parseEnvArgs(argv)) };
  },
};

async function main(): Promise<void> {
  const clientCommand = Object.hasOwn(CLIENT_COMMANDS, process.argv[2] ?? "") ? CLIENT_COMMANDS[process.argv[2]] : undefined;
  if (clientCommand) {
    const { usage: commandUsage, run } = await clientCommand();
    const rest = process.argv.slice(3);
    if (rest.some((a) => a === "--help" || a === "-h")) console.log(commandUsage);
    else process.exitCode = (await run(rest)) ?? 0;
    return;
  }
  const { command, flags } = parseArgs(process.argv.slice(2));
  if (command === "help") {
    console.log(usage());
    return;
  }
  const config = loadConfig(flags);
  if (command === "ca") {
    const tls = await loadOrCreateTls(config.keyDir, config.hostNames);
    process.stdout.write(tls.caCertPem);
    return;
  }

  const app = await startApp({ config });
  startIdleCollection();
  const log = consoleLogger;
  log.info(`aks-emulator: mode ${app.mode.kind === "mock" ? "mocked" : "real (k3s)"}: ${app.mode.reason}`);
  log.info(`aks-emulator: state ${app.services.config.dataDir ? `in ${app.services.config.dataDir}` : "in memory (set --data-dir to keep it)"}`);
  log.info(`aks-emulator: listening on port ${app.port} (HTTP and HTTPS): ${app.url} and ${app.httpUrl}`);
  log.info(`aks-emulator: CA certificate ${app.caPath} (also GET /_emulator/ca.pem); e.g. export NODE_EXTRA_CA_CERTS=${app.caPath}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`aks-emulator: ${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: Error) => {
        log.error(`aks-emulator: stopping failed: ${error.stack ?? error.message}`);
        process.exit(1);
      },
    );
  };
  // A failure no request answers for (a store write at the end of an operation on a full disk, say)
  // stops the process: it cannot keep its state and the folder in step any more. What was answered is
  // in the data folder, and the next start settles the operations that were running.
  const fatal = (error: unknown) => {
    const where = app.services.config.dataDir ? `; the state answered so far is in ${app.services.config.dataDir}, and the next start settles the operations that were running` : "";
    log.error(`aks-emulator: fatal error, stopping${where}: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: Error) => {
  if (error instanceof CliError) {
    const command = process.argv[2];
    console.error(`aks-emulator ${command}: ${error.message} (aks-emulator ${command} --help lists the options)`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    console.error(`aks-emulator: ${error.message}\n\n${usage()}`);
    process.exit(2);
  }
  if (error instanceof StartupError) {
    console.error(`aks-emulator: ${error.message}`);
    process.exit(1);
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
    console.error(`aks-emulator: cannot listen: ${error.message} (set --port / FLOCI_AZ_SERVICES_AKS_PORT, --host / FLOCI_AZ_SERVICES_AKS_HOST)`);
    process.exit(1);
  }
  console.error(`aks-emulator: failed to start: ${error.stack ?? error.message}`);
  process.exit(1);
});
