#!/usr/bin/env node
// CLI: `aks-emulator [serve] [--port N] [--host H] [--hostname NAME]... [--data-dir DIR]`,
// `aks-emulator ca` prints the local CA certificate, `aks-emulator help` lists the settings.
import { startApp, StartupError } from "./app.js";
import { AZ_LOGIN_USAGE, azLogin, AzLoginError, parseAzLoginArgs } from "./cli/azLogin.js";
import { COVERAGE_USAGE, CoverageCliError, parseCoverageArgs, printCoverage } from "./cli/coverage.js";
import { ConfigError, configVariables, loadConfig, parseArgs } from "./config.js";
import { loadOrCreateTls } from "./tls/certificates.js";
import { consoleLogger } from "./util.js";

function usage(): string {
  const rows = configVariables.map((v) => `  ${v.name}${v.flag ? ` (${v.flag})` : ""}\n      default ${v.default || "(none)"}: ${v.description}`);
  return [
    "Usage: aks-emulator [serve] [--port N] [--host ADDR] [--hostname NAME]... [--data-dir DIR]",
    "       aks-emulator ca          print the local CA certificate (PEM) that signs the server certificate",
    "       aks-emulator az-login    point the Azure CLI at a running emulator and sign in (az-login --help)",
    "       aks-emulator coverage    print a running emulator's AKS API coverage, markdown or JSON (coverage --help)",
    "",
    "Settings (flags override environment variables):",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  if (process.argv[2] === "az-login") {
    const rest = process.argv.slice(3);
    if (rest.some((a) => a === "--help" || a === "-h")) console.log(AZ_LOGIN_USAGE);
    else process.exitCode = await azLogin(parseAzLoginArgs(rest));
    return;
  }
  if (process.argv[2] === "coverage") {
    const rest = process.argv.slice(3);
    if (rest.some((a) => a === "--help" || a === "-h")) console.log(COVERAGE_USAGE);
    else await printCoverage(parseCoverageArgs(rest));
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
  if (error instanceof AzLoginError) {
    console.error(`aks-emulator az-login: ${error.message} (aks-emulator az-login --help lists the options)`);
    process.exit(2);
  }
  if (error instanceof CoverageCliError) {
    console.error(`aks-emulator coverage: ${error.message} (aks-emulator coverage --help lists the options)`);
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
