// Local TLS material for the emulator: a private CA plus a server certificate
// it signs. Clients trust the CA once (ca.pem) and then every reissued server
// certificate is accepted, which is why the CA is kept and only the server
// certificate is renewed when host names change or expiry nears.
//
// RSA keys come from node's crypto (native, fast); node-forge is used only to
// build and sign the X.509 structures, because its own keygen is slow.

import { generateKeyPairSync, randomBytes, createPrivateKey, X509Certificate } from "node:crypto";
import { promises as fs } from "node:fs";
import { isIPv4 } from "node:net";
import path from "node:path";
import { createRequire } from "node:module";
import type forgeTypes from "node-forge";

// node-forge (about 40 ms to load) is needed only to issue certificates, not to reuse them.
type Forge = typeof forgeTypes;
const loadForge = (): Forge => createRequire(import.meta.url)("node-forge") as Forge;

export interface TlsMaterial {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** Absolute path of ca.pem, for NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, SSL_CERT_FILE... */
  caPath: string;
}

const CA_COMMON_NAME = "aks-emulator local CA";
const CA_YEARS = 10;
const SERVER_YEARS = 2;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * Whether a host name is an IP literal (IPv4, or IPv6 checked by the URL parser). Not net.isIP: its
 * IPv6 pattern is compiled on first use, which cost about 5 ms of every start (the default names
 * include ::1).
 */
const isIpLiteral = (name: string): boolean => (name.includes(":") ? URL.canParse(`http://[${name}]/`) : isIPv4(name));

/** Always in the server certificate, whatever the caller asks for. */
const DEFAULT_NAMES = ["localhost", "127.0.0.1", "::1"];

/**
 * Loads the CA and server certificate from `dir`, creating them on first use.
 * The server certificate is reissued (same CA) when it lacks one of
 * `hostNames` or expires within 30 days.
 */
export async function loadOrCreateTls(dir: string, hostNames: string[]): Promise<TlsMaterial> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    caCert: path.resolve(dir, "ca.pem"),
    caKey: path.resolve(dir, "ca-key.pem"),
    cert: path.resolve(dir, "server.pem"),
    key: path.resolve(dir, "server-key.pem"),
  };
  const names = normaliseNames([...DEFAULT_NAMES, ...hostNames]);

  let caCertPem = await readOptional(files.caCert);
  let caKeyPem = await readOptional(files.caKey);
  if (!caCertPem || !caKeyPem || !isUsableCa(caCertPem, caKeyPem)) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = createCa());
    await fs.writeFile(files.caKey, caKeyPem, { mode: 0o600 });
    await fs.writeFile(files.caCert, caCertPem, { mode: 0o644 });
  }

  let certPem = await readOptional(files.cert);
  let keyPem = await readOptional(files.key);
  if (!certPem || !keyPem || !isUsableServerCert(certPem, keyPem, caCertPem, names)) {
    ({ certPem, keyPem } = createServerCert(caCertPem, caKeyPem, names));
    await fs.writeFile(files.key, keyPem, { mode: 0o600 });
    await fs.writeFile(files.cert, certPem, { mode: 0o644 });
  }

  return { caCertPem, caKeyPem, certPem, keyPem, caPath: files.caCert };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Lower-cases, strips IPv6 brackets, drops blanks and duplicates. */
function normaliseNames(names: string[]): string[] {
  const out = new Set<string>();
  for (const raw of names) {
    const name = raw.trim().replace(/^\[(.*)\]$/, "$1").toLowerCase();
    if (name) out.add(name);
  }
  return [...out];
}

function isUsableCa(certPem: string, keyPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return cert.ca && cert.checkPrivateKey(createPrivateKey(keyPem)) && expiresAfter(cert, RENEW_BEFORE_MS);
  } catch {
    return false;
  }
}

function isUsableServerCert(certPem: string, keyPem: string, caCertPem: string, names: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    return (
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      expiresAfter(cert, RENEW_BEFORE_MS) &&
      names.every((name) => (isIpLiteral(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined)
    );
  } catch {
    return false;
  }
}

function expiresAfter(cert: X509Certificate, ms: number): boolean {
  return new Date(cert.validTo).getTime() - Date.now() > ms;
}

/** RSA 2048 key pair as PEM (PKCS#8 private key), converted for forge. */
function newKeyPair(): { keyPem: string; forgePrivate: forgeTypes.pki.rsa.PrivateKey; forgePublic: forgeTypes.pki.rsa.PublicKey } {
  const forge = loadForge();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    keyPem: privateKey,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey),
    forgePublic: forge.pki.publicKeyFromPem(publicKey) as forgeTypes.pki.rsa.PublicKey,
  };
}

/**
 * A random positive serial number in minimal DER form: 16 bytes whose first
 * byte is non-zero and below 0x80 (Go rejects negative and non-minimal ones).
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString("hex");
}

/** Backdated an hour so a client whose clock is slightly behind still accepts it. */
function validity(cert: forgeTypes.pki.Certificate, years: number): void {
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + years);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
}

function createCa(): { certPem: string; keyPem: string } {
  const forge = loadForge();
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = randomSerial();
  validity(cert, CA_YEARS);
  const subject = [
    { name: "commonName", value: CA_COMMON_NAME },
    { name: "organizationName", value: "aks-emulator" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

function createServerCert(caCertPem: string, caKeyPem: string, names: string[]): { certPem: string; keyPem: string } {
  const forge = loadForge();
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem);
  // The authority key identifier must equal the CA's subject key identifier;
  // forge's `keyIdentifier: true` would hash the leaf's own key instead.
  const caSki = caCert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
  const caKeyId = caSki?.subjectKeyIdentifier
    ? forge.util.hexToBytes(caSki.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();

  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = randomSerial();
  validity(cert, SERVER_YEARS);
  const commonName = names.find((n) => !isIpLiteral(n)) ?? "localhost";
  cert.setSubject([
    { name: "commonName", value: commonName },
    { name: "organizationName", value: "aks-emulator" },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: names.map((n) => (isIpLiteral(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caKeyId },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}
