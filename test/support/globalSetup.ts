// Creates the emulator's data folder (local CA, server certificate, signing key) once, before any
// test process starts, and points NODE_EXTRA_CA_CERTS at its CA: the test processes then trust the
// emulator the way a user's process does, with no TLS switch turned off anywhere.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateTls } from "../../src/tls/certificates.js";

export default async function setup(): Promise<() => void> {
  const dataDir = mkdtempSync(join(tmpdir(), "aks-emulator-test-"));
  const tls = await loadOrCreateTls(dataDir, []);
  process.env.AKS_EMULATOR_TEST_DATA_DIR = dataDir;
  process.env.NODE_EXTRA_CA_CERTS = tls.caPath;
  return () => rmSync(dataDir, { recursive: true, force: true });
}
