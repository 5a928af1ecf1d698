#!/usr/bin/env node
// CLI: `aks-emulator [serve] [--port N] [--host H] [--hostname NAME]... [--data-dir DIR]`,
// `aks-emulator ca` prints the local CA certificate, `aks-emulator help` lists the settings.
import { startApp, StartupError } from "./app.js";
import { ConfigError, configVariables, loadConfig, parseArgs } from "./config.js";
import { loadOrCreateTls } from "./tls/certificates.js";
import { consoleLogger } from "./util.js";

function usage(): string {
  const rows = configVariables.map((v) => `  ${v.name}${v.flag ? ` (${v.flag})` : ""}\n      default ${v.default || "(none)"}: ${v.description}`);
  return [
    "Usage: aks-emulator [serve] [--port N] [--host ADDR] [--hostname NAME]... [--data-dir DIR]",
    "       aks-emulator ca          print the local CA certificate (PEM) that signs the server certificate",
    "",
    "Settings (flags override environment variables):",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
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
    app.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: Error) => {
  if (error instanceof ConfigError) {
    console.error(`aks-emulator: ${error.message}\n\n${usage()}`);
    process.exit(2);
  }
  if (error instanceof StartupError) {
    console.error(`aks-emulator: ${error.message}`);
    process.exit(1);
  }
  console.error(`aks-emulator: failed to start: ${error.stack ?? error.message}`);
  process.exit(1);
});
