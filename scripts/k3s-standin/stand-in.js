// A stand-in for the rancher/k3s image, for machines that cannot pull images or run privileged
// containers. It honours the part of k3s's contract the emulator's k3s backend observes:
//
//   server   k3s's server flags; a CA, serving and admin client certificates under
//            <data-dir>/server/tls (kept on the data volume), the admin kubeconfig at
//            /etc/rancher/k3s/k3s.yaml in k3s's shape, and a Kubernetes API over TLS (health, version,
//            discovery, nodes, namespaces) with client-certificate or bearer-token authentication.
//   agent    k3s's agent flags; registers its node (labels, taints, address) with the server and
//            heartbeats every 2 s; the server marks a node NotReady (Unknown) after 10 s of silence.
//   kubectl  a small kubectl (get nodes|namespaces, version, delete node, get --raw) on the admin
//            kubeconfig, behind /bin/kubectl and /bin/k3s in the image.
//
// Plain Node (ESM), node-forge the only dependency. Nothing here is a Kubernetes: no pods, no
// scheduling, no watch. Everything else k3s accepts is accepted and logged as ignored.
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import forge from "node-forge";

const DEFAULT_VERSION = "v1.33.5+k3s1";
const VERSION = process.env.K3S_VERSION || DEFAULT_VERSION;
const STANDIN = "aks-emulator k3s stand-in";
const CONTAINER_RUNTIME = "containerd://stand-in";
const DEFAULT_DATA_DIR = "/var/lib/rancher/k3s";
const DEFAULT_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
const NODE_PASSWORD_FILE = process.env.K3S_STANDIN_NODE_PASSWORD_FILE || "/etc/rancher/node/password";
const HEARTBEAT_MS = seconds(process.env.K3S_STANDIN_HEARTBEAT_SECONDS, 2) * 1000;
// kube-controller-manager's node-monitor-grace-period: 40 s by default, as in the Kubernetes releases
// k3s ships (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/).
const DEFAULT_GRACE_MS = seconds(process.env.K3S_STANDIN_NODE_GRACE_SECONDS, 40) * 1000;
// k3s writes k3s.yaml before its API server answers (and in place, not atomically): how long the
// stand-in leaves it half-written, then how long it waits after the complete write before it listens.
const KUBECONFIG_PARTIAL_MS = Number(process.env.K3S_STANDIN_KUBECONFIG_PARTIAL_MS ?? 300);
const API_DELAY_MS = Number(process.env.K3S_STANDIN_API_DELAY_MS ?? 1500);

/**
 * k3s agents from v1.31.10/v1.32.6/v1.33.2 until v1.31.14/v1.32.10/v1.33.6/v1.34.2 exit when the node's
 * recorded InternalIP is no longer on any interface (kube-router's network policy controller looks the
 * old address up: k3s#12639, fixed by k3s#12844; k3d#1637 hit it on Stop/Start). VERSION: vX.Y.Z+k3sN.
 */
function nodeIpChangeIsFatal(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m || Number(m[1]) !== 1) return false;
  const [minor, patch] = [Number(m[2]), Number(m[3])];
  const window = { 31: [10, 14], 32: [6, 10], 33: [2, 6], 34: [0, 2] }[minor];
  return !!window && patch >= window[0] && patch < window[1];
}

function seconds(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

// ---------------------------------------------------------------------------------------------
// Logging, in k3s's (logrus) text format on stderr.

function log(level, msg) {
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  process.stderr.write(`time="${time}" level=${level} msg=${JSON.stringify(String(msg))}\n`);
}
const info = (msg) => log("info", msg);
const warn = (msg) => log("warning", msg);
function fatal(msg) {
  log("fatal", msg);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Flags, as k3s's urfave/cli takes them: --name=value, --name value, -n value; booleans as --name or
// --name=false; list flags repeatable and comma-separated; some with an environment fallback.

const BOOLEAN_K3S_FLAGS = new Set([
  "disable-agent", "cluster-init", "cluster-reset", "disable-network-policy", "disable-kube-proxy",
  "disable-scheduler", "disable-cloud-controller", "disable-helm-controller", "disable-apiserver",
  "disable-controller-manager", "disable-etcd", "secrets-encryption", "selinux", "rootless",
  "prefer-bundled-bin", "debug", "protect-kernel-defaults", "docker", "embedded-registry",
  "supervisor-metrics", "with-node-id", "flannel-ipv6-masq", "flannel-external-ip",
  "egress-selector-mode-disabled", "etcd-expose-metrics", "etcd-disable-snapshots", "etcd-s3",
  "disable-default-registry-endpoint", "enable-pprof", "lb-server-port-disabled", "vpn-auth",
  "disable-apiserver-lb", "airgap-extra-registry", "etcd-snapshot-compress", "help", "h",
]);

/** spec: name -> { kind: "string" | "bool" | "list", aliases?: string[], env?: string[] } */
function parseFlags(args, spec) {
  const byName = new Map();
  for (const [name, def] of Object.entries(spec)) {
    byName.set(name, { name, ...def });
    for (const alias of def.aliases ?? []) byName.set(alias, { name, ...def });
  }
  const values = {};
  const ignored = [];
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value = eq >= 0 ? body.slice(eq + 1) : undefined;
    const def = byName.get(name);
    if (!def) {
      // Unknown: a boolean unless a value follows it.
      if (value === undefined && !BOOLEAN_K3S_FLAGS.has(name) && i + 1 < args.length && !args[i + 1].startsWith("-")) {
        value = args[++i];
      }
      ignored.push(value === undefined ? `--${name}` : `--${name}=${value}`);
      continue;
    }
    if (def.kind === "bool") {
      values[def.name] = value === undefined ? true : !/^(false|0|no)$/i.test(value);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) fatal(`flag needs an argument: --${name}`);
      value = args[++i];
    }
    if (def.kind === "list") {
      values[def.name] = [...(values[def.name] ?? []), ...splitList(value)];
    } else {
      values[def.name] = value;
    }
  }
  for (const [name, def] of Object.entries(spec)) {
    if (values[name] !== undefined) continue;
    for (const env of def.env ?? []) {
      const v = process.env[env];
      if (v === undefined || v === "") continue;
      if (def.kind === "list") values[name] = splitList(v);
      else if (def.kind === "bool") values[name] = !/^(false|0|no)$/i.test(v);
      else values[name] = v;
      break;
    }
  }
  return { values, ignored, positional };
}

const splitList = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Small helpers.

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function writeFileAtomic(file, data, mode) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function firstIPv4() {
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (name === "lo") continue;
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

function allIPs() {
  const ips = [];
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (!a.internal && !a.address.startsWith("fe80:")) ips.push(a.address);
  }
  return ips;
}

/** A k3s token: "K10<ca sha256>::<user>:<password>" or a bare password. */
function parseToken(token) {
  const m = /^K10([0-9a-f]{64})::([^:]+):(.+)$/.exec(token ?? "");
  return m ? { caHash: m[1], user: m[2], password: m[3] } : { caHash: undefined, user: undefined, password: token ?? "" };
}

function safeEqual(a, b) {
  const ba = Buffer.from(String(a));
  const bb = Buffer.from(String(b));
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function parseLabels(list) {
  const labels = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    const key = eq >= 0 ? item.slice(0, eq) : item;
    const value = eq >= 0 ? item.slice(eq + 1) : "";
    if (!LABEL_NAME.test(key) || key.length > 316 || !LABEL_VALUE.test(value) || value.length > 63) {
      throw new Error(`invalid node label ${JSON.stringify(item)}: expected key=value with a valid label key and value`);
    }
    labels[key] = value;
  }
  return labels;
}

// kubelet's --node-labels rule (k8s.io/kubernetes staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go
// and cmd/kubelet/app/options ValidateKubeletFlags): a key in the kubernetes.io or k8s.io namespaces
// must be one of these, or in (a subdomain of) one of these namespaces; else kubelet exits at start.
const KUBELET_LABELS = [
  "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
  "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
  "kubernetes.io/arch", "kubernetes.io/hostname", "kubernetes.io/os", "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
];
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];
const inNamespace = (namespace, ns) => namespace === ns || namespace.endsWith(`.${ns}`);

/** kubelet's refusal of --node-labels, in its words (k3s logs it as "kubelet exited: ..."), or undefined. */
function kubeletLabelError(labels) {
  const unknown = Object.keys(labels)
    .filter((key) => {
      const namespace = key.includes("/") ? key.slice(0, key.indexOf("/")) : "";
      if (!inNamespace(namespace, "kubernetes.io") && !inNamespace(namespace, "k8s.io")) return false;
      return !KUBELET_LABELS.includes(key) && !KUBELET_LABEL_NAMESPACES.some((ns) => inNamespace(namespace, ns));
    })
    .sort();
  if (!unknown.length) return undefined;
  return (
    `failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${unknown.join(" ")}]\n` +
    `--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${KUBELET_LABEL_NAMESPACES.join(", ")}) ` +
    `or be in the specifically allowed set (${KUBELET_LABELS.join(", ")})`
  );
}

/** k3s --node-taint: key=value:Effect or key:Effect. */
function parseTaints(list) {
  const taints = [];
  for (const item of list ?? []) {
    const m = /^([^=:]+)(?:=([^:]*))?:([A-Za-z]+)$/.exec(item);
    if (!m || !LABEL_NAME.test(m[1]) || !LABEL_VALUE.test(m[2] ?? "") || !TAINT_EFFECTS.includes(m[3])) {
      throw new Error(`invalid node taint ${JSON.stringify(item)}: expected key=value:Effect with Effect one of ${TAINT_EFFECTS.join(", ")}`);
    }
    taints.push(m[2] === undefined ? { key: m[1], effect: m[3] } : { key: m[1], value: m[2], effect: m[3] });
  }
  return taints;
}

/** "10s", "1m30s", "40" -> milliseconds (Go durations, as kube-controller-manager takes them). */
function parseGoDuration(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  let consumed = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === text.length && total > 0 ? total : undefined;
}

// ---------------------------------------------------------------------------------------------
// Certificates (node-forge on keys from Node's crypto).

function newKeyPair() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" });
  const key = forge.pki.privateKeyFromPem(pem);
  return { key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem };
}

function serial() {
  const bytes = crypto.randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString("hex");
}

function issue({ subject, issuerCert, issuerKey, publicKey, signingKey, days, extensions }) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  // UTF8String, as Go writes them: forge's default PrintableString cannot hold "@" or ":", and Go's
  // x509 (kubectl, client-go) refuses such a certificate.
  const attrs = subject.map((a) => ({ ...a, valueTagClass: forge.asn1.Type.UTF8 }));
  cert.setSubject(attrs);
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : attrs);
  cert.setExtensions(extensions);
  cert.sign(issuerKey ?? signingKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, "\n");
}

function sanExtension(sans) {
  return {
    name: "subjectAltName",
    altNames: sans.map((s) => (net.isIP(s) ? { type: 7, ip: s } : { type: 2, value: s })),
  };
}

function certSans(certPem) {
  const cert = forge.pki.certificateFromPem(certPem);
  const ext = cert.getExtension("subjectAltName");
  return new Set((ext?.altNames ?? []).map((a) => (a.type === 7 ? normalizeIp(a.ip) : a.value)));
}

function normalizeIp(ip) {
  // forge prints IPv6 addresses in full form; Node's net.SocketAddress does not exist in Node 20, so
  // compare through a canonical expansion.
  if (!ip || !ip.includes(":")) return ip;
  const [head, tail] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(":");
}

function loadOrCreatePki(tlsDir, wantedSans) {
  fs.mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const file = (name) => path.join(tlsDir, name);
  const read = (name) => (fs.existsSync(file(name)) ? fs.readFileSync(file(name), "utf8") : undefined);
  const write = (name, data, mode = 0o644) => writeFileAtomic(file(name), data, mode);

  let caCert = read("server-ca.crt");
  let caKey = read("server-ca.key");
  let caCreated = false;
  if (!caCert || !caKey) {
    const kp = newKeyPair();
    const subject = [{ name: "commonName", value: `k3s-server-ca@${Math.floor(Date.now() / 1000)}` }];
    caCert = issue({
      subject, publicKey: kp.publicKey, signingKey: kp.key, days: 3650,
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "subjectKeyIdentifier" },
      ],
    });
    caKey = kp.pem;
    write("server-ca.key", caKey, 0o600);
    write("server-ca.crt", caCert);
    caCreated = true;
    info(`Generated CA certificate ${file("server-ca.crt")}`);
  }
  const forgeCaCert = forge.pki.certificateFromPem(caCert);
  const forgeCaKey = forge.pki.privateKeyFromPem(caKey);
  const signedByCa = (pem) => {
    try {
      return forgeCaCert.verify(forge.pki.certificateFromPem(pem));
    } catch {
      return false;
    }
  };
  const expiresSoon = (pem) => forge.pki.certificateFromPem(pem).validity.notAfter.getTime() - Date.now() < 90 * 86_400_000;

  // Serving certificate: reissued when a wanted name is missing (dynamiclistener adds names as k3s
  // learns them), when it was not signed by this CA, or when it is about to expire.
  let servingCert = read("serving-kube-apiserver.crt");
  let servingKey = read("serving-kube-apiserver.key");
  const wanted = wantedSans.map(normalizeIp);
  const current = servingCert ? certSans(servingCert) : new Set();
  const missing = wanted.filter((s) => !current.has(s));
  if (caCreated || !servingCert || !servingKey || missing.length || !signedByCa(servingCert) || expiresSoon(servingCert)) {
    const kp = newKeyPair();
    const sans = [...new Set([...wanted, ...current])];
    servingCert = issue({
      subject: [{ name: "commonName", value: "k3s" }, { name: "organizationName", value: "k3s" }],
      issuerCert: forgeCaCert, issuerKey: forgeCaKey, publicKey: kp.publicKey, days: 365,
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        sanExtension(sans),
      ],
    });
    servingKey = kp.pem;
    write("serving-kube-apiserver.key", servingKey, 0o600);
    write("serving-kube-apiserver.crt", servingCert);
    info(`Wrote serving certificate for ${sans.join(", ")}`);
  }

  // The client CA (ECDSA P-256, as k3s makes it): it signs every client certificate, the admin's
  // and those the CSR API issues for signer kubernetes.io/kube-apiserver-client.
  let clientCaCert = read("client-ca.crt");
  let clientCaKey = read("client-ca.key");
  if (!clientCaCert || !clientCaKey) {
    const kp = newEcKeyPair();
    clientCaCert = issueEc({
      subject: [{ name: "commonName", value: `k3s-client-ca@${Math.floor(Date.now() / 1000)}` }],
      signingKey: kp.privateKey, publicKey: kp.publicKey, notAfter: new Date(Date.now() + 3650 * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
      ],
    });
    clientCaKey = kp.pem;
    write("client-ca.key", clientCaKey, 0o600);
    write("client-ca.crt", clientCaCert);
    info(`Generated client CA certificate ${file("client-ca.crt")} (ECDSA P-256)`);
  }
  const clientCaSigner = crypto.createPrivateKey(clientCaKey);

  let adminCert = read("client-admin.crt");
  let adminKey = read("client-admin.key");
  if (!adminCert || !adminKey || !issuedBy(adminCert, clientCaCert) || expiresSoon(adminCert)) {
    const kp = newKeyPair();
    adminCert = issueEc({
      subject: [{ name: "organizationName", value: "system:masters" }, { name: "commonName", value: "system:admin" }],
      issuerPem: clientCaCert, signingKey: clientCaSigner, publicKey: kp.publicKey, notAfter: new Date(Date.now() + 365 * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", clientAuth: true },
      ],
    });
    adminKey = kp.pem;
    write("client-admin.key", adminKey, 0o600);
    write("client-admin.crt", adminCert);
    info("Wrote admin client certificate (system:admin, system:masters), issued by the client CA");
  }

  // The service-account issuer key (RSA, PKCS#1): k3s signs tokens with the first key of the file and
  // accepts tokens signed by any of them.
  if (!read("service.key")) {
    write("service.key", newKeyPair().pem, 0o600);
    info(`Generated service-account issuer key ${file("service.key")}`);
  }
  return { caCert, servingCert, servingKey, adminCert, adminKey, clientCaCert, clientCaSigner, serviceKeyPem: read("service.key") };
}

const b64 = (s) => Buffer.from(s).toString("base64");

/** The admin kubeconfig exactly as k3s writes it. */
function kubeconfigYaml(port, pki) {
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    `    server: https://127.0.0.1:${port}`,
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// ECDSA certificates, RBAC rules and service-account tokens (the credentials section).
//
// k3s's CAs are ECDSA P-256 and its client CA (server/tls/client-ca.*) is not the CA of k3s.yaml's
// certificate-authority-data (that is the server CA). node-forge writes certificates but signs with
// RSA only: the TBSCertificate is built with forge, its signature algorithm (and, for an EC subject
// key, its SubjectPublicKeyInfo) replaced, and it is signed with Node's crypto.

const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const DUMMY_RSA = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger("3"), new forge.jsbn.BigInteger("3"));
const derOf = (a) => Buffer.from(forge.asn1.toDer(a).getBytes(), "binary");
const asn1Of = (buf) => forge.asn1.fromDer(forge.util.createBuffer(buf.toString("binary")));

function newEcKeyPair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKey, pem: privateKey.export({ type: "sec1", format: "pem" }) };
}

/** The subject Name of a certificate (any key type), as ASN.1, byte for byte. */
function subjectNameAsn1(certPem) {
  const der = new crypto.X509Certificate(certPem).raw;
  return asn1Of(der).value[0].value[5];
}

/**
 * A certificate signed with an ECDSA key (sha256). publicKey: a forge RSA public key or a Node
 * KeyObject (any type); issuerPem: the issuing CA (absent: self-signed).
 */
function issueEc({ subject, subjectAsn1, issuerPem, signingKey, publicKey, notAfter, extensions }) {
  const cert = forge.pki.createCertificate();
  const keyObject = publicKey instanceof crypto.KeyObject;
  cert.publicKey = keyObject ? DUMMY_RSA : publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = notAfter;
  const attrs = (subject ?? [{ name: "commonName", value: "x" }]).map((a) => ({ ...a, valueTagClass: forge.asn1.Type.UTF8 }));
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions(extensions);
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption; // replaced below
  const tbs = forge.pki.getTBSCertificate(cert);
  const A = forge.asn1;
  const sigAlg = () => A.create(A.Class.UNIVERSAL, A.Type.SEQUENCE, true, [A.create(A.Class.UNIVERSAL, A.Type.OID, false, A.oidToDer(OID_ECDSA_SHA256).getBytes())]);
  tbs.value[2] = sigAlg(); // RFC 5758: no parameters
  if (subjectAsn1) tbs.value[5] = subjectAsn1;
  tbs.value[3] = issuerPem ? subjectNameAsn1(issuerPem) : tbs.value[5];
  if (keyObject) tbs.value[6] = asn1Of(publicKey.export({ type: "spki", format: "der" }));
  const signature = crypto.sign("sha256", derOf(tbs), signingKey);
  const certificate = A.create(A.Class.UNIVERSAL, A.Type.SEQUENCE, true, [
    tbs,
    sigAlg(),
    A.create(A.Class.UNIVERSAL, A.Type.BITSTRING, false, String.fromCharCode(0) + signature.toString("binary")),
  ]);
  return forge.pem.encode({ type: "CERTIFICATE", body: forge.asn1.toDer(certificate).getBytes() }).replace(/\r\n/g, "\n");
}

/** Whether certPem was issued (and signed) by caPem. */
function issuedBy(certPem, caPem) {
  try {
    const cert = new crypto.X509Certificate(certPem);
    const ca = new crypto.X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** The RSA keys of a service.key file, the signing one first (k3s: the file may hold several). */
function serviceKeys(pem) {
  const blocks = String(pem ?? "").match(/-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----/g) ?? [];
  return blocks.map((block) => {
    const key = crypto.createPrivateKey(block);
    if (key.asymmetricKeyType !== "rsa") throw new Error("service.key holds a key that is not RSA");
    const publicKey = crypto.createPublicKey(key);
    const kid = crypto.createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("base64url");
    return { key, publicKey, kid, pem: block };
  });
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

function signJwt(payload, signer) {
  const head = `${b64url({ alg: "RS256", kid: signer.kid })}.${b64url(payload)}`;
  return `${head}.${crypto.sign("sha256", Buffer.from(head), signer.key).toString("base64url")}`;
}

/** The claims of a JWT signed by one of the keys, unexpired; else undefined. */
function verifyJwt(token, keys) {
  const parts = String(token).split(".");
  if (parts.length !== 3) return undefined;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString());
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
  } catch {
    return undefined;
  }
  if (header.alg !== "RS256") return undefined;
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], "base64url");
  if (!keys.some((k) => crypto.verify("sha256", signed, k.publicKey, signature))) return undefined;
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return undefined;
  return claims;
}

const SA_ISSUER = "https://kubernetes.default.svc.cluster.local";
const CSR_USAGES = [
  "signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment",
  "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing",
  "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
  "microsoft sgc", "netscape sgc",
];
const READ = ["get", "list", "watch"];

/** The default ClusterRoles and ClusterRoleBindings kube-apiserver bootstraps (the part the stand-in uses). */
const BOOTSTRAP_CLUSTER_ROLES = {
  "cluster-admin": [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { nonResourceURLs: ["*"], verbs: ["*"] }],
  admin: [{ apiGroups: ["", "apps", "batch", "autoscaling", "networking.k8s.io", "policy", "rbac.authorization.k8s.io"], resources: ["*"], verbs: ["*"] }],
  view: [
    {
      apiGroups: [""],
      resources: ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "pods/status", "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status", "serviceaccounts", "services", "services/status", "bindings", "events", "limitranges", "namespaces", "namespaces/status", "resourcequotas", "resourcequotas/status"],
      verbs: READ,
    },
    { apiGroups: ["apps"], resources: ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"], verbs: READ },
    { apiGroups: ["batch"], resources: ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], verbs: READ },
    { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], verbs: READ },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingresses/status", "networkpolicies"], verbs: READ },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets", "poddisruptionbudgets/status"], verbs: READ },
  ],
  "system:discovery": [{ nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*", "/version", "/version/"], verbs: ["get"] }],
  "system:basic-user": [
    { apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], verbs: ["create"] },
    { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
  ],
};
const BOOTSTRAP_BINDINGS = {
  "cluster-admin": { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:masters" }] },
  "system:discovery": { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:discovery" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" }] },
  "system:basic-user": { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:basic-user" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" }] },
};

/** RBAC's rule match (k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go). */
function ruleAllows(rule, a) {
  const has = (list, v) => (list ?? []).includes("*") || (list ?? []).includes(v);
  if (!has(rule.verbs, a.verb)) return false;
  if (a.nonResource) {
    return (rule.nonResourceURLs ?? []).some((u) => u === "*" || u === a.path || (u.endsWith("*") && a.path.startsWith(u.slice(0, -1))));
  }
  if (!rule.resources?.length || !has(rule.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources;
  if (!(resources.includes("*") || resources.includes(combined) || (a.subresource && resources.includes(`*/${a.subresource}`)))) return false;
  return !rule.resourceNames?.length || rule.resourceNames.includes(a.name);
}

/** What a request asks for, as the RBAC authorizer sees it (k8s's RequestInfo). */
function requestAttributes(method, p, searchParams) {
  let rest;
  let group = "";
  let m;
  if ((m = /^\/api\/v1(\/.*)?$/.exec(p))) rest = m[1];
  else if ((m = /^\/apis\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p))) {
    group = m[1];
    rest = m[3];
  }
  const lower = method === "HEAD" ? "get" : method.toLowerCase();
  if (!rest) return { nonResource: true, path: p, verb: lower };
  let segs = rest.split("/").filter(Boolean).map(decodeURIComponent);
  let namespace = "";
  if (segs[0] === "namespaces" && segs.length >= 3) {
    namespace = segs[1];
    segs = segs.slice(2);
  } else if (segs[0] === "namespaces" && segs.length === 2) namespace = segs[1];
  const [resource, name = "", subresource = ""] = segs;
  const watch = ["true", "1"].includes(searchParams?.get("watch") ?? "");
  const verb =
    { GET: name ? "get" : watch ? "watch" : "list", HEAD: name ? "get" : "list", POST: "create", PUT: "update", PATCH: "patch", DELETE: name ? "delete" : "deletecollection" }[method] ?? lower;
  return { nonResource: false, verb, group, resource, subresource, name, namespace };
}

function forbiddenMessage(identity, a) {
  if (a.nonResource) return `forbidden: User "${identity.user}" cannot ${a.verb} path "${a.path}"`;
  const what = `${a.resource}${a.group ? `.${a.group}` : ""}${a.name ? ` "${a.name}"` : ""}`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${identity.user}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`;
}

/** Protobuf fields of a message: number -> list of values (varints as numbers, length-delimited as Buffers). */
function protoFields(buf) {
  const fields = {};
  let i = 0;
  const varint = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[i++];
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    let value;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      value = buf.subarray(i, i + length);
      i += length;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`protobuf wire type ${wire} is not supported`);
    (fields[field] ??= []).push(value);
  }
  return fields;
}

/**
 * kubectl sends built-in types as protobuf ("k8s\0" + runtime.Unknown{typeMeta, raw}); the stand-in
 * reads the one it needs that way, a SelfSubjectAccessReview (kubectl auth can-i), into its JSON form.
 */
function selfSubjectAccessReviewFromProtobuf(body) {
  if (body.subarray(0, 4).toString("binary") !== "k8s\0") throw new Error("not a Kubernetes protobuf envelope");
  const raw = protoFields(body.subarray(4))[2]?.[0];
  const spec = protoFields(raw ?? Buffer.alloc(0))[2]?.[0] ?? Buffer.alloc(0);
  const specFields = protoFields(spec);
  const strings = (msg, names) => {
    const f = protoFields(msg);
    return Object.fromEntries(names.map((n, idx) => [n, f[idx + 1]?.[0]?.toString()]).filter(([n, v]) => n && v !== undefined));
  };
  if (specFields[1]) return { spec: { resourceAttributes: strings(specFields[1][0], ["namespace", "verb", "group", "version", "resource", "subresource", "name"]) } };
  if (specFields[2]) return { spec: { nonResourceAttributes: strings(specFields[2][0], ["path", "verb"]) } };
  return { spec: {} };
}

/** Discovery of the API groups the stand-in serves. */
const API_GROUP_RESOURCES = {
  "rbac.authorization.k8s.io": [
    { name: "clusterrolebindings", singularName: "clusterrolebinding", namespaced: false, kind: "ClusterRoleBinding", verbs: ["create", "delete", "get", "list", "update"] },
    { name: "clusterroles", singularName: "clusterrole", namespaced: false, kind: "ClusterRole", verbs: ["create", "delete", "get", "list", "update"] },
  ],
  "certificates.k8s.io": [
    { name: "certificatesigningrequests", singularName: "certificatesigningrequest", namespaced: false, kind: "CertificateSigningRequest", verbs: ["create", "delete", "get", "list"], shortNames: ["csr"] },
    { name: "certificatesigningrequests/approval", singularName: "", namespaced: false, kind: "CertificateSigningRequest", verbs: ["update"] },
  ],
  "authorization.k8s.io": [{ name: "selfsubjectaccessreviews", singularName: "", namespaced: false, kind: "SelfSubjectAccessReview", verbs: ["create"] }],
  "authentication.k8s.io": [{ name: "selfsubjectreviews", singularName: "", namespaced: false, kind: "SelfSubjectReview", verbs: ["create"] }],
};

/** rotate-ca: files of <path>/tls the stand-in takes. */
const ROTATABLE_CA_FILES = ["client-ca.crt", "client-ca.key", "service.key"];

// ---------------------------------------------------------------------------------------------
// Kubernetes object shapes.

function status(code, reason, message, details) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** kubectl's duration.HumanDuration. */
function humanDuration(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

const age = (iso) => humanDuration(Date.now() - Date.parse(iso));

function nodeRoles(labels) {
  const roles = new Set();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) roles.add(k.slice("node-role.kubernetes.io/".length));
    else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

function nodeStatusText(node) {
  const ready = node.status.conditions.find((c) => c.type === "Ready");
  let text = ready?.status === "True" ? "Ready" : "NotReady";
  if (node.spec.unschedulable) text += ",SchedulingDisabled";
  return text;
}

const NODE_COLUMNS = [
  { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
  { name: "Status", type: "string", format: "", description: "The status of the node", priority: 0 },
  { name: "Roles", type: "string", format: "", description: "The roles of the node", priority: 0 },
  { name: "Age", type: "string", format: "", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", priority: 0 },
  { name: "Version", type: "string", format: "", description: "Kubelet Version reported by the node.", priority: 0 },
  { name: "Internal-IP", type: "string", format: "", description: "List of addresses reachable to the node.", priority: 1 },
  { name: "External-IP", type: "string", format: "", description: "List of addresses reachable to the node.", priority: 1 },
  { name: "OS-Image", type: "string", format: "", description: "OS Image reported by the node.", priority: 1 },
  { name: "Kernel-Version", type: "string", format: "", description: "Kernel Version reported by the node.", priority: 1 },
  { name: "Container-Runtime", type: "string", format: "", description: "Container runtime version reported by the node.", priority: 1 },
];

const NAMESPACE_COLUMNS = [
  { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
  { name: "Status", type: "string", format: "", description: "The status of the namespace", priority: 0 },
  { name: "Age", type: "string", format: "", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", priority: 0 },
];

function nodeCells(node) {
  const addr = (type) => node.status.addresses.find((a) => a.type === type)?.address ?? "<none>";
  return [
    node.metadata.name, nodeStatusText(node), nodeRoles(node.metadata.labels), age(node.metadata.creationTimestamp),
    node.status.nodeInfo.kubeletVersion, addr("InternalIP"), addr("ExternalIP"), node.status.nodeInfo.osImage,
    node.status.nodeInfo.kernelVersion, node.status.nodeInfo.containerRuntimeVersion,
  ];
}

const namespaceCells = (ns) => [ns.metadata.name, ns.status.phase, age(ns.metadata.creationTimestamp)];

function table(apiVersion, columns, objects, cellsOf, resourceVersion) {
  return {
    kind: "Table",
    apiVersion,
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows: objects.map((o) => ({
      cells: cellsOf(o),
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}

/** Label selectors: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b). */
function parseSelector(text) {
  const reqs = [];
  const parts = [];
  let depth = 0;
  let cur = "";
  for (const ch of text ?? "") {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts.map((p) => p.trim()).filter(Boolean)) {
    let m;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(raw))) {
      reqs.push({ key: m[1], op: m[2], values: m[3].split(",").map((s) => s.trim()) });
    } else if ((m = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(raw))) {
      reqs.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", values: [m[3]] });
    } else if ((m = /^!\s*(\S+)$/.exec(raw))) {
      reqs.push({ key: m[1], op: "!" });
    } else if (/^\S+$/.test(raw)) {
      reqs.push({ key: raw, op: "exists" });
    } else {
      throw new Error(`unable to parse requirement: ${raw}`);
    }
  }
  return (labels) =>
    reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels ?? {}, r.key);
      const v = labels?.[r.key];
      switch (r.op) {
        case "=": return has && v === r.values[0];
        case "!=": return !has || v !== r.values[0];
        case "in": return has && r.values.includes(v);
        case "notin": return !has || !r.values.includes(v);
        case "exists": return has;
        case "!": return !has;
      }
      return false;
    });
}

function parseFieldSelector(text) {
  const reqs = (text ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((raw) => {
    const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(raw);
    if (!m || !FIELDS[m[1]]) throw new Error(`field label not supported: ${raw}`);
    return { key: m[1], neg: m[2] === "!=", value: m[3] };
  });
  return (obj) =>
    reqs.every((r) => {
      const v = FIELDS[r.key](obj);
      return r.neg ? v !== r.value : v === r.value;
    });
}
// The field selectors the stand-in answers (nodes: name, unschedulable; pods: name, namespace, node, phase).
const FIELDS = {
  "metadata.name": (o) => o.metadata.name,
  "metadata.namespace": (o) => o.metadata.namespace ?? "",
  "spec.unschedulable": (o) => String(!!o.spec?.unschedulable),
  "spec.nodeName": (o) => o.spec?.nodeName ?? "",
  "status.phase": (o) => o.status?.phase ?? "",
};

// ---- kubelet's resolver (k3s pkg/agent/config: locateOrGenerateResolvConf) ----------------------

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast. */
function isGlobalUnicast(ip) {
  const kind = net.isIP(ip);
  if (kind === 4) {
    const [a, b] = ip.split(".").map(Number);
    return !(a === 0 || a === 127 || a >= 224 || (a === 169 && b === 254));
  }
  if (kind === 6) {
    const low = ip.toLowerCase();
    return !(low === "::" || low === "::1" || low.startsWith("ff") || /^fe[89ab]/.test(low));
  }
  return false;
}

/** k3s's isValidResolvConf: at least one nameserver, and every nameserver a global unicast address. */
function isValidResolvConf(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return false;
  }
  let found = false;
  for (const line of text.split("\n")) {
    const m = /^nameserver\s+(\S*)/.exec(line);
    if (!m) continue;
    if (!isGlobalUnicast(m[1])) return false;
    found = true;
  }
  return found;
}

/**
 * The resolv.conf kubelet hands pods (dnsPolicy Default, so CoreDNS's upstream too), as k3s picks it:
 * --resolv-conf as given; else /etc/resolv.conf or /run/systemd/resolve/resolv.conf when valid; else
 * (Docker's 127.0.0.11 is loopback) <data-dir>/agent/etc/resolv.conf naming 8.8.8.8, with k3s's
 * warning. Written where k3s v1.32+ writes kubelet's defaults, resolvConf included:
 * <data-dir>/agent/etc/kubelet.conf.d/00-k3s-defaults.conf.
 */
function kubeletResolvConf(given, dataDir) {
  let resolvConf = given;
  if (resolvConf) {
    if (!fs.existsSync(resolvConf)) warn(`--resolv-conf ${resolvConf} does not exist: pods' sandboxes would fail to start`);
  } else {
    resolvConf = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"].find(isValidResolvConf);
  }
  if (!resolvConf) {
    resolvConf = path.join(dataDir, "agent", "etc", "resolv.conf");
    writeFileAtomic(resolvConf, "nameserver 8.8.8.8\n", 0o644);
    warn("Host resolv.conf includes loopback or multicast nameservers - kubelet will use autogenerated resolv.conf with nameserver 8.8.8.8");
  }
  writeFileAtomic(
    path.join(dataDir, "agent", "etc", "kubelet.conf.d", "00-k3s-defaults.conf"),
    `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nresolvConf: ${JSON.stringify(resolvConf)}\n`,
    0o600,
  );
  info(`Kubelet resolv.conf: ${resolvConf}`);
  return resolvConf;
}

/** A merge patch of what the stand-in keeps of a node: labels, taints and spec.unschedulable. */
function patchNode(node, patch) {
  if (!patch || typeof patch !== "object") return "the patch must be an object";
  const labels = patch.metadata?.labels;
  if (labels !== undefined) {
    if (labels === null || typeof labels !== "object") return "metadata.labels must be an object";
    for (const [k, v] of Object.entries(labels)) {
      if (v !== null && (!LABEL_NAME.test(k) || typeof v !== "string" || !LABEL_VALUE.test(v))) return `metadata.labels: invalid label ${k}=${v}`;
    }
  }
  const spec = patch.spec ?? {};
  if (spec.taints !== undefined && spec.taints !== null && !Array.isArray(spec.taints)) return "spec.taints must be a list";
  for (const t of spec.taints ?? []) {
    if (!t?.key || !TAINT_EFFECTS.includes(t.effect)) return `spec.taints: invalid taint ${JSON.stringify(t)}`;
  }
  if (labels) {
    for (const [k, v] of Object.entries(labels)) {
      if (v === null) delete node.labels[k];
      else node.labels[k] = v;
    }
  }
  if (spec.taints !== undefined) {
    // Those the node lifecycle controller adds are not the node's own.
    node.taints = (spec.taints ?? [])
      .filter((t) => !["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready", "node.kubernetes.io/unschedulable"].includes(t.key))
      .map((t) => (t.value === undefined ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect }));
  }
  if (spec.unschedulable !== undefined) {
    const cordoned = spec.unschedulable === true;
    if (cordoned && !node.unschedulable) node.unschedulableSince = nowIso();
    node.unschedulable = cordoned;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// server

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

async function server(args) {
  const { values: flags, ignored, positional } = parseFlags(args, {
    "tls-san": { kind: "list", env: ["K3S_TLS_SAN"] },
    "https-listen-port": { kind: "string" },
    "bind-address": { kind: "string" },
    token: { kind: "string", aliases: ["t"], env: ["K3S_TOKEN"] },
    "token-file": { kind: "string", env: ["K3S_TOKEN_FILE"] },
    "agent-token": { kind: "string", env: ["K3S_AGENT_TOKEN"] },
    "node-name": { kind: "string", env: ["K3S_NODE_NAME"] },
    "node-label": { kind: "list" },
    "node-taint": { kind: "list" },
    "node-ip": { kind: "list", aliases: ["i"] },
    disable: { kind: "list" },
    "disable-agent": { kind: "bool" },
    "write-kubeconfig": { kind: "string", aliases: ["o"], env: ["K3S_KUBECONFIG_OUTPUT"] },
    "write-kubeconfig-mode": { kind: "string", env: ["K3S_KUBECONFIG_MODE"] },
    "data-dir": { kind: "string", aliases: ["d"], env: ["K3S_DATA_DIR"] },
    "kube-controller-manager-arg": { kind: "list" },
    "egress-selector-mode": { kind: "string" },
    "disable-network-policy": { kind: "bool" },
    "resolv-conf": { kind: "string", env: ["K3S_RESOLV_CONF"] },
  });
  info(`Starting k3s ${VERSION} (${STANDIN})`);
  // k3s's --egress-selector-mode takes agent (default), cluster, pod or disabled (https://docs.k3s.io/cli/server#networking).
  const egressMode = flags["egress-selector-mode"] ?? "agent";
  if (!["agent", "cluster", "pod", "disabled"].includes(egressMode)) fatal(`invalid egress-selector-mode ${JSON.stringify(egressMode)}`);
  if (flags["egress-selector-mode"]) info(`Egress selector mode: ${egressMode}`);
  if (flags["disable-network-policy"]) info("Network policy controller disabled (--disable-network-policy)");
  for (const flag of ignored) warn(`${STANDIN}: flag ${flag} accepted and ignored`);
  if (positional.length) warn(`${STANDIN}: arguments ${positional.join(" ")} ignored`);
  if (flags.disable?.length) info(`${STANDIN}: --disable=${flags.disable.join(",")} accepted (nothing of it runs here)`);

  const port = Number(flags["https-listen-port"] ?? 6443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fatal(`invalid --https-listen-port ${flags["https-listen-port"]}`);
  const dataDir = flags["data-dir"] || DEFAULT_DATA_DIR;
  const serverDir = path.join(dataDir, "server");
  const kubeconfigPath = flags["write-kubeconfig"] || DEFAULT_KUBECONFIG;
  const modeText = flags["write-kubeconfig-mode"] || "0600";
  if (!/^[0-7]{3,4}$/.test(modeText)) fatal(`invalid --write-kubeconfig-mode ${modeText}`);
  const kubeconfigMode = parseInt(modeText, 8);
  const disableAgent = !!flags["disable-agent"];
  const nodeName = (flags["node-name"] || os.hostname()).toLowerCase();
  let ownLabels;
  let ownTaints;
  try {
    ownLabels = parseLabels(flags["node-label"]);
    ownTaints = parseTaints(flags["node-taint"]);
  } catch (e) {
    fatal(e.message);
  }
  if (!disableAgent && kubeletLabelError(ownLabels)) fatal(`kubelet exited: ${kubeletLabelError(ownLabels)}`);
  if (!disableAgent && !DNS1123_SUBDOMAIN.test(nodeName)) fatal(`invalid node name ${JSON.stringify(nodeName)}: must be a lowercase RFC 1123 subdomain`);
  if (!disableAgent) kubeletResolvConf(flags["resolv-conf"], dataDir);
  let graceMs = DEFAULT_GRACE_MS;
  for (const arg of flags["kube-controller-manager-arg"] ?? []) {
    const m = /^node-monitor-grace-period=(.+)$/.exec(arg);
    if (m && parseGoDuration(m[1])) graceMs = parseGoDuration(m[1]);
  }
  const nodeIp = flags["node-ip"]?.[0] || firstIPv4();

  const sans = [
    "127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local", "10.43.0.1", os.hostname(), nodeName, ...allIPs(),
    ...(flags["node-ip"] ?? []), ...(flags["tls-san"] ?? []),
  ].filter((s, i, all) => s && all.indexOf(s) === i);
  applyDatastoreFiles(serverDir);
  const pki = loadOrCreatePki(path.join(serverDir, "tls"), sans);
  const caHash = sha256(pki.caCert);

  // The cluster token: the flag, else the token file, else the one kept from an earlier start, else new.
  const tokenFile = path.join(serverDir, "token");
  let given = flags.token;
  if (!given && flags["token-file"]) given = fs.readFileSync(flags["token-file"], "utf8").trim();
  let password;
  if (given) {
    const parsed = parseToken(given);
    if (parsed.caHash && parsed.caHash !== caHash) fatal("token CA hash does not match the cluster CA certificate");
    password = parsed.password;
  } else if (fs.existsSync(tokenFile)) {
    password = parseToken(fs.readFileSync(tokenFile, "utf8").trim()).password;
  } else {
    password = crypto.randomBytes(16).toString("hex");
  }
  const fullToken = `K10${caHash}::server:${password}`;
  writeFileAtomic(tokenFile, `${fullToken}\n`, 0o600);
  writeFileAtomic(path.join(serverDir, "node-token"), `${fullToken}\n`, 0o600);
  const agentPassword = flags["agent-token"] ? parseToken(flags["agent-token"]).password : undefined;
  if (agentPassword) writeFileAtomic(path.join(serverDir, "agent-token"), `K10${caHash}::node:${agentPassword}\n`, 0o600);

  // State: nodes and namespaces, kept in the data dir.
  const stateFile = path.join(serverDir, "standin-state.json");
  let state = { resourceVersion: 1, namespaces: {}, nodes: {} };
  if (fs.existsSync(stateFile)) {
    try {
      state = { ...state, ...JSON.parse(fs.readFileSync(stateFile, "utf8")) };
      info(`Loaded ${Object.keys(state.nodes).length} node(s) from ${stateFile}`);
    } catch (e) {
      warn(`Could not read ${stateFile} (${e.message}); starting from an empty state`);
    }
  }
  const save = () => writeFileAtomic(stateFile, JSON.stringify(state, null, 1), 0o600);
  const nextRv = () => String(++state.resourceVersion);
  for (const name of SYSTEM_NAMESPACES) {
    if (!state.namespaces[name]) state.namespaces[name] = { uid: crypto.randomUUID(), creationTimestamp: nowIso(), resourceVersion: nextRv() };
  }
  save();

  // Heartbeats live in memory; a node loaded from disk gets the grace period from this start.
  const startedAt = Date.now();
  const lastSeen = new Map();
  for (const name of Object.keys(state.nodes)) lastSeen.set(name, startedAt);

  const setReady = (node, ready, reason, message) => {
    const statusText = ready === undefined ? "Unknown" : ready ? "True" : "False";
    if (node.ready?.status === statusText && node.ready.reason === reason) return false;
    node.ready = { status: statusText, reason, message, lastTransitionTime: nowIso() };
    node.resourceVersion = nextRv();
    return true;
  };

  /** Registration and heartbeat, as a kubelet's node registration plus status updates. */
  function heartbeat(name, body) {
    const now = Date.now();
    let node = state.nodes[name];
    if (node?.passwordHash && !safeEqual(node.passwordHash, sha256(String(body.password ?? "")))) {
      return {
        code: 403,
        body: status(403, "Forbidden", `Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag`),
      };
    }
    // An agent's first call of a start: the node as recorded, unchanged (the address a restarted kubelet finds).
    if (body.probe && node) return { code: 200, body: { kind: "StandinNodeRegistration", name, uid: node.uid, address: node.address } };
    let changed = false;
    if (!node) {
      const used = new Set(Object.values(state.nodes).map((n) => n.podCIDR));
      let i = 0;
      while (used.has(`10.42.${i}.0/24`)) i++;
      node = state.nodes[name] = {
        uid: crypto.randomUUID(),
        creationTimestamp: nowIso(),
        resourceVersion: nextRv(),
        labels: { ...(body.labels ?? {}) },
        taints: [...(body.taints ?? [])],
        podCIDR: `10.42.${i}.0/24`,
        passwordHash: sha256(String(body.password ?? "")),
      };
      changed = true;
      info(`Registered node ${name} (${body.address})`);
    }
    for (const key of ["address", "hostname", "kernelVersion", "bootID"]) {
      if (body[key] !== undefined && node[key] !== body[key]) {
        node[key] = body[key];
        changed = true;
      }
    }
    const ready = body.ready !== false;
    if (setReady(node, ready, ready ? "KubeletReady" : body.reason || "KubeletNotReady", ready ? "kubelet is posting ready status" : body.message || "kubelet is not ready")) {
      changed = true;
      info(`Node ${name} is ${ready ? "Ready" : "NotReady"}`);
    }
    node.lastHeartbeatTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    lastSeen.set(name, now);
    if (changed) {
      node.resourceVersion = nextRv();
      save();
    }
    return { code: 200, body: { kind: "StandinNodeRegistration", name, uid: node.uid } };
  }

  // The node lifecycle controller: silence longer than the grace period makes Ready Unknown.
  const monitor = setInterval(() => {
    let changed = false;
    for (const [name, node] of Object.entries(state.nodes)) {
      const seen = lastSeen.get(name) ?? startedAt;
      if (node.ready?.status !== "Unknown" && Date.now() - seen > graceMs) {
        setReady(node, undefined, "NodeStatusUnknown", "Kubelet stopped posting node status.");
        info(`Node ${name} is NotReady: no heartbeat for ${Math.round((Date.now() - seen) / 1000)}s`);
        changed = true;
      }
    }
    if (changed) save();
  }, 1000);

  const renderNode = (name, node, forList) => {
    const taints = [...(node.taints ?? [])];
    if (node.unschedulable) taints.push({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule", timeAdded: node.unschedulableSince });
    const condTime = node.ready?.lastTransitionTime ?? node.creationTimestamp;
    if (node.ready?.status === "Unknown") {
      taints.push({ key: "node.kubernetes.io/unreachable", effect: "NoSchedule", timeAdded: condTime });
      taints.push({ key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: condTime });
    } else if (node.ready?.status === "False") {
      taints.push({ key: "node.kubernetes.io/not-ready", effect: "NoSchedule", timeAdded: condTime });
      taints.push({ key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: condTime });
    }
    // kubelet runs with --hostname-override=<node name> under k3s: the hostname label and address
    // are the node name; the machine's hostname goes to the k3s.io/hostname annotation.
    const hostname = name;
    const capacity = { cpu: String(os.cpus().length || 1), "ephemeral-storage": "61202244Ki", memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: "110" };
    return {
      ...(forList ? {} : { kind: "Node", apiVersion: "v1" }),
      metadata: {
        name,
        uid: node.uid,
        resourceVersion: node.resourceVersion,
        creationTimestamp: node.creationTimestamp,
        labels: {
          "beta.kubernetes.io/arch": "amd64",
          "beta.kubernetes.io/instance-type": "k3s",
          "beta.kubernetes.io/os": "linux",
          ...node.labels,
          "kubernetes.io/arch": "amd64",
          "kubernetes.io/hostname": hostname,
          "kubernetes.io/os": "linux",
          "node.kubernetes.io/instance-type": "k3s",
        },
        annotations: {
          "k3s.io/internal-ip": node.address ?? "",
          "k3s.io/hostname": node.hostname || name,
          "node.alpha.kubernetes.io/ttl": "0",
          "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        },
      },
      spec: {
        podCIDR: node.podCIDR,
        podCIDRs: [node.podCIDR],
        providerID: `k3s://${name}`,
        ...(node.unschedulable ? { unschedulable: true } : {}),
        ...(taints.length ? { taints } : {}),
      },
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          {
            type: "Ready",
            status: node.ready?.status ?? "Unknown",
            lastHeartbeatTime: node.lastHeartbeatTime ?? node.creationTimestamp,
            lastTransitionTime: condTime,
            reason: node.ready?.reason ?? "NodeStatusNeverUpdated",
            message: node.ready?.message ?? "Kubelet never posted node status.",
          },
        ],
        addresses: [
          { type: "InternalIP", address: node.address ?? "" },
          { type: "Hostname", address: hostname },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: "",
          systemUUID: "",
          bootID: node.bootID ?? "",
          kernelVersion: node.kernelVersion ?? os.release(),
          osImage: `K3s ${VERSION} (${STANDIN})`,
          containerRuntimeVersion: CONTAINER_RUNTIME,
          kubeletVersion: VERSION,
          kubeProxyVersion: VERSION,
          operatingSystem: "linux",
          architecture: "amd64",
        },
      },
    };
  };

  const renderNamespace = (name, ns, forList) => ({
    ...(forList ? {} : { kind: "Namespace", apiVersion: "v1" }),
    metadata: {
      name,
      uid: ns.uid,
      resourceVersion: ns.resourceVersion,
      creationTimestamp: ns.creationTimestamp,
      labels: { "kubernetes.io/metadata.name": name },
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  });

  // ---- pods: created bound to a node (no scheduler, no containers); deletion takes the grace period -
  // A stand-in pod runs no process, so its termination ends when its grace period does (as a container
  // that ignores SIGTERM): an eviction or a graceful delete sets deletionTimestamp (now + grace, as the
  // API server does) and the pod stays listed until then. That is what a drain waits for.
  state.pods ??= {};
  const podKey = (namespace, name) => `${namespace}/${name}`;
  const podTimers = new Map();
  const removePod = (key) => {
    podTimers.delete(key);
    if (!state.pods[key]) return;
    delete state.pods[key];
    nextRv();
    save();
    info(`Pod ${key} terminated and removed`);
  };
  const scheduleRemoval = (key) => {
    const pod = state.pods[key];
    if (!pod?.deleteAt || podTimers.has(key)) return;
    podTimers.set(key, setTimeout(() => removePod(key), Math.max(0, pod.deleteAt - Date.now())).unref());
  };
  for (const key of Object.keys(state.pods)) scheduleRemoval(key);
  const renderPod = (pod, forList) => ({
    ...(forList ? {} : { kind: "Pod", apiVersion: "v1" }),
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid,
      resourceVersion: pod.resourceVersion,
      creationTimestamp: pod.creationTimestamp,
      ...(pod.labels ? { labels: pod.labels } : {}),
      ...(pod.annotations ? { annotations: pod.annotations } : {}),
      ...(pod.ownerReferences ? { ownerReferences: pod.ownerReferences } : {}),
      ...(pod.deleteAt ? { deletionTimestamp: new Date(pod.deleteAt).toISOString().replace(/\.\d{3}Z$/, "Z"), deletionGracePeriodSeconds: pod.deletionGracePeriodSeconds } : {}),
    },
    spec: { ...(pod.nodeName ? { nodeName: pod.nodeName } : {}), terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds, containers: pod.containers },
    status: { phase: pod.nodeName && state.nodes[pod.nodeName] ? "Running" : "Pending" },
  });
  /** Starts the pod's termination (a delete or an eviction): removed at once with grace 0, else after the grace period. */
  const terminatePod = (key, graceSeconds) => {
    const pod = state.pods[key];
    const grace = Number.isInteger(graceSeconds) && graceSeconds >= 0 ? graceSeconds : pod.terminationGracePeriodSeconds;
    const deleteAt = Date.now() + grace * 1000;
    if (pod.deleteAt && pod.deleteAt <= deleteAt) return; // already ending sooner: a later delete only shortens it
    pod.deleteAt = deleteAt;
    pod.deletionGracePeriodSeconds = grace;
    pod.resourceVersion = nextRv();
    save();
    clearTimeout(podTimers.get(key));
    podTimers.delete(key);
    info(`Pod ${key} terminating (grace period ${grace}s)`);
    if (grace === 0) removePod(key);
    else scheduleRemoval(key);
  };

  /** The pod API; true when the request was one of its paths (and answered). */
  async function podRoutes(req, res, url, p, method, match) {
    let m;
    const all = p === "/api/v1/pods";
    if (all || (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(p))) {
      const namespace = all ? undefined : decodeURIComponent(m[1]);
      if (method === "GET") {
        const items = Object.values(state.pods)
          .filter((pod) => !namespace || pod.namespace === namespace)
          .map((pod) => renderPod(pod, true))
          .filter(match)
          .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
        send(res, 200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: String(state.resourceVersion) }, items });
        return true;
      }
      if (method !== "POST" || all) return methodNotAllowed(res, method), true;
      let body;
      try {
        body = JSON.parse((await readBody(req)) || "{}");
      } catch {
        return send(res, 400, status(400, "BadRequest", "the pod is not JSON")), true;
      }
      if (!state.namespaces[namespace]) return send(res, 404, status(404, "NotFound", `namespaces "${namespace}" not found`, { name: namespace, kind: "namespaces" })), true;
      const name = body.metadata?.name ?? (body.metadata?.generateName ? `${body.metadata.generateName}${crypto.randomBytes(3).toString("hex").slice(0, 5)}` : "");
      const grace = body.spec?.terminationGracePeriodSeconds ?? 30; // Kubernetes' default
      const problems = [];
      if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) problems.push("metadata.name: Invalid value: must be a lowercase RFC 1123 subdomain");
      if (!Array.isArray(body.spec?.containers) || !body.spec.containers.length) problems.push("spec.containers: Required value");
      if (!Number.isInteger(grace) || grace < 0) problems.push("spec.terminationGracePeriodSeconds: must be a non-negative integer");
      if (problems.length) return send(res, 422, status(422, "Invalid", `Pod "${name}" is invalid: ${problems.join(", ")}`, { name, kind: "pods" })), true;
      const key = podKey(namespace, name);
      if (state.pods[key]) return send(res, 409, status(409, "AlreadyExists", `pods "${name}" already exists`, { name, kind: "pods" })), true;
      state.pods[key] = {
        name, namespace, uid: crypto.randomUUID(), creationTimestamp: nowIso(), resourceVersion: nextRv(),
        labels: body.metadata?.labels, annotations: body.metadata?.annotations, ownerReferences: body.metadata?.ownerReferences,
        nodeName: body.spec?.nodeName, terminationGracePeriodSeconds: grace, containers: body.spec.containers,
      };
      save();
      info(`Created pod ${key}${body.spec?.nodeName ? ` on node ${body.spec.nodeName}` : " (no node: Pending, nothing schedules here)"}`);
      send(res, 201, renderPod(state.pods[key], false));
      return true;
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/eviction)?$/.exec(p))) {
      const namespace = decodeURIComponent(m[1]);
      const name = decodeURIComponent(m[2]);
      const key = podKey(namespace, name);
      const pod = state.pods[key];
      if (!pod) return send(res, 404, status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" })), true;
      if (m[3]) {
        // policy/v1 Eviction (no PodDisruptionBudgets here, so never 429): a graceful delete.
        if (method !== "POST") return methodNotAllowed(res, method), true;
        let body;
        try {
          body = JSON.parse((await readBody(req)) || "{}");
        } catch {
          return send(res, 400, status(400, "BadRequest", "the eviction is not JSON")), true;
        }
        terminatePod(key, body.deleteOptions?.gracePeriodSeconds);
        send(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
        return true;
      }
      if (method === "GET") return send(res, 200, renderPod(pod, false)), true;
      if (method === "DELETE") {
        let body = {};
        try {
          body = JSON.parse((await readBody(req)) || "{}");
        } catch {
          /* no DeleteOptions */
        }
        const query = url.searchParams.get("gracePeriodSeconds");
        terminatePod(key, query !== null ? Number(query) : body.gracePeriodSeconds);
        send(res, 200, renderPod(state.pods[key] ?? { ...pod }, false));
        return true;
      }
      return methodNotAllowed(res, method), true;
    }
    return false;
  }

  // ---- credentials: CSR API, RBAC, access reviews, service-account tokens, rotate-ca -------------
  state.csrs ??= {};
  state.clusterRoles ??= {};
  state.clusterRoleBindings ??= {};
  let saKeys = serviceKeys(pki.serviceKeyPem);
  info(`Service-account issuer: ${saKeys.length} key(s) in service.key, signing with kid ${saKeys[0]?.kid}`);

  const roleRules = (name) => state.clusterRoles[name]?.rules ?? BOOTSTRAP_CLUSTER_ROLES[name];
  const allBindings = () => ({ ...Object.fromEntries(Object.entries(BOOTSTRAP_BINDINGS)), ...state.clusterRoleBindings });
  /** RBAC over ClusterRoleBindings (system:masters: everything, as kube-apiserver's own authorizer). */
  function authorize(identity, a) {
    if (identity.groups.includes("system:masters")) return { allowed: true, reason: "" };
    for (const [name, binding] of Object.entries(allBindings())) {
      const matches = (binding.subjects ?? []).some(
        (s) =>
          (s.kind === "User" && s.name === identity.user) ||
          (s.kind === "Group" && identity.groups.includes(s.name)) ||
          (s.kind === "ServiceAccount" && identity.user === `system:serviceaccount:${s.namespace}:${s.name}`),
      );
      if (!matches || binding.roleRef?.kind !== "ClusterRole") continue;
      if ((roleRules(binding.roleRef.name) ?? []).some((rule) => ruleAllows(rule, a))) {
        return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${name}" of ClusterRole "${binding.roleRef.name}" to User "${identity.user}"` };
      }
    }
    return { allowed: false, reason: "" };
  }

  const meta = (name, record) => ({ name, uid: record.uid, resourceVersion: record.resourceVersion, creationTimestamp: record.creationTimestamp });
  const renderCsr = (name, c) => ({ kind: "CertificateSigningRequest", apiVersion: "certificates.k8s.io/v1", metadata: meta(name, c), spec: c.spec, status: c.status ?? {} });
  const renderRbac = (kind, name, o) => ({
    kind, apiVersion: "rbac.authorization.k8s.io/v1",
    metadata: { ...meta(name, o), ...(o.labels ? { labels: o.labels } : {}) },
    ...(kind === "ClusterRole" ? { rules: o.rules ?? [] } : { roleRef: o.roleRef, subjects: o.subjects ?? [] }),
  });
  const invalid = (res, kind, name, message) => send(res, 422, status(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, { name, kind }));

  /** The kube-apiserver-client signer: the client CA signs an approved request, as kube-controller-manager's csrsigning. */
  function signCsr(name) {
    const c = state.csrs[name];
    if (!c || c.status?.certificate || !(c.status?.conditions ?? []).some((x) => x.type === "Approved" && x.status === "True")) return;
    if (c.spec.signerName !== "kubernetes.io/kube-apiserver-client") return; // no signer of the stand-in handles it: it stays unsigned
    const fail = (message) => {
      c.status.conditions.push({ type: "Failed", status: "True", reason: "SignerValidationFailure", message, lastUpdateTime: nowIso(), lastTransitionTime: nowIso() });
      c.resourceVersion = nextRv();
      save();
    };
    const allowed = ["digital signature", "key encipherment", "client auth"];
    if (!c.spec.usages.includes("client auth") || c.spec.usages.some((u) => !allowed.includes(u))) return fail(`invalid usage for client certificate: ${c.spec.usages.join(", ")}`);
    let csr;
    try {
      csr = forge.pki.certificationRequestFromPem(Buffer.from(c.spec.request, "base64").toString());
    } catch (e) {
      return fail(`unable to parse csr: ${e.message}`);
    }
    const seconds = Math.min(c.spec.expirationSeconds ?? 365 * 86_400, 365 * 86_400);
    const cert = issueEc({
      subjectAsn1: forge.pki.distinguishedNameToAsn1(csr.subject),
      issuerPem: pki.clientCaCert, signingKey: pki.clientCaSigner, publicKey: csr.publicKey, notAfter: new Date(Date.now() + seconds * 1000),
      extensions: [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: c.spec.usages.includes("key encipherment"), critical: true },
        { name: "extKeyUsage", clientAuth: true },
      ],
    });
    c.status.certificate = b64(cert);
    c.resourceVersion = nextRv();
    save();
    info(`Signed certificate request ${name} (${csr.subject.getField("CN")?.value}) with the client CA`);
  }

  async function createCsr(req, res, identity) {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, status(400, "BadRequest", "the request body is not JSON"));
    }
    const name = body?.metadata?.name;
    const kind = "CertificateSigningRequest.certificates.k8s.io";
    if (!name || !DNS1123_SUBDOMAIN.test(name)) return invalid(res, kind, name ?? "", "metadata.name: Required value: name or generateName is required");
    const spec = body.spec ?? {};
    if (!spec.signerName) return invalid(res, kind, name, "spec.signerName: Required value");
    if (!Array.isArray(spec.usages) || !spec.usages.length) return invalid(res, kind, name, "spec.usages: Required value");
    const badUsage = spec.usages.find((u) => !CSR_USAGES.includes(u));
    if (badUsage) return invalid(res, kind, name, `spec.usages[${spec.usages.indexOf(badUsage)}]: Unsupported value: "${badUsage}"`);
    if (spec.expirationSeconds !== undefined && !(Number.isInteger(spec.expirationSeconds) && spec.expirationSeconds >= 600)) {
      return invalid(res, kind, name, `spec.expirationSeconds: Invalid value: ${spec.expirationSeconds}: may not specify a duration less than 600 seconds (10 minutes)`);
    }
    let csr;
    try {
      csr = forge.pki.certificationRequestFromPem(Buffer.from(String(spec.request ?? ""), "base64").toString());
      if (!csr.verify()) throw new Error("signature verification failed");
    } catch (e) {
      return invalid(res, kind, name, `spec.request: Invalid value: "...": ${/RSA/.test(e.message) ? `the ${STANDIN} parses RSA requests only` : e.message}`);
    }
    const organizations = csr.subject.attributes.filter((a) => a.shortName === "O" || a.name === "organizationName").map((a) => a.value);
    // kube-apiserver's CertificateSubjectRestriction admission plugin.
    if (spec.signerName === "kubernetes.io/kube-apiserver-client" && organizations.includes("system:masters")) {
      return send(res, 403, status(403, "Forbidden", `certificatesigningrequests.certificates.k8s.io "${name}" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed`, { name, group: "certificates.k8s.io", kind: "certificatesigningrequests" }));
    }
    if (state.csrs[name]) return send(res, 409, status(409, "AlreadyExists", `certificatesigningrequests.certificates.k8s.io "${name}" already exists`, { name, group: "certificates.k8s.io", kind: "certificatesigningrequests" }));
    state.csrs[name] = {
      uid: crypto.randomUUID(), creationTimestamp: nowIso(), resourceVersion: nextRv(),
      spec: { request: spec.request, signerName: spec.signerName, usages: spec.usages, ...(spec.expirationSeconds ? { expirationSeconds: spec.expirationSeconds } : {}), username: identity.user, groups: identity.groups },
      status: {},
    };
    save();
    return send(res, 201, renderCsr(name, state.csrs[name]));
  }

  async function approveCsr(req, res, name) {
    const c = state.csrs[name];
    if (!c) return send(res, 404, status(404, "NotFound", `certificatesigningrequests.certificates.k8s.io "${name}" not found`, { name, group: "certificates.k8s.io", kind: "certificatesigningrequests" }));
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, status(400, "BadRequest", "the request body is not JSON"));
    }
    const conditions = (body?.status?.conditions ?? []).map((x) => ({ lastUpdateTime: nowIso(), lastTransitionTime: nowIso(), ...x }));
    const approved = conditions.some((x) => x.type === "Approved" && x.status === "True");
    const denied = conditions.some((x) => x.type === "Denied" && x.status === "True");
    if (approved && denied) return invalid(res, "CertificateSigningRequest.certificates.k8s.io", name, "status.conditions: Invalid value: Approved and Denied conditions are mutually exclusive");
    c.status = { ...c.status, conditions };
    c.resourceVersion = nextRv();
    save();
    if (approved) setTimeout(() => signCsr(name), 250); // signed by the controller, a moment later
    return send(res, 200, renderCsr(name, c));
  }

  async function rbacObject(req, res, method, plural, name) {
    const kind = plural === "clusterroles" ? "ClusterRole" : "ClusterRoleBinding";
    const store = plural === "clusterroles" ? state.clusterRoles : state.clusterRoleBindings;
    const builtin = plural === "clusterroles" ? BOOTSTRAP_CLUSTER_ROLES : BOOTSTRAP_BINDINGS;
    const lookup = (n) => store[n] ?? (builtin[n] ? { uid: `bootstrap-${n}`, creationTimestamp: nowIso(), resourceVersion: "1", labels: { "kubernetes.io/bootstrapping": "rbac-defaults" }, ...(plural === "clusterroles" ? { rules: builtin[n] } : builtin[n]) } : undefined);
    const notFound = (n) => send(res, 404, status(404, "NotFound", `${plural}.rbac.authorization.k8s.io "${n}" not found`, { name: n, group: "rbac.authorization.k8s.io", kind: plural }));
    if (method === "GET" && !name) {
      const names = [...new Set([...Object.keys(builtin), ...Object.keys(store)])].sort();
      return send(res, 200, { kind: `${kind}List`, apiVersion: "rbac.authorization.k8s.io/v1", metadata: { resourceVersion: String(state.resourceVersion) }, items: names.map((n) => renderRbac(kind, n, lookup(n))) });
    }
    if (method === "GET") return lookup(name) ? send(res, 200, renderRbac(kind, name, lookup(name))) : notFound(name);
    if (method === "DELETE") {
      if (!store[name]) return notFound(name);
      delete store[name];
      nextRv();
      save();
      return send(res, 200, status(200, undefined, undefined, { name, group: "rbac.authorization.k8s.io", kind: plural }));
    }
    if (method !== "POST" && method !== "PUT") return methodNotAllowed(res, method);
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, status(400, "BadRequest", "the request body is not JSON"));
    }
    const objName = body?.metadata?.name;
    if (method === "PUT" && objName !== name) return send(res, 400, status(400, "BadRequest", `the name of the object (${objName}) does not match the name on the URL (${name})`));
    if (!objName) return invalid(res, `${kind}.rbac.authorization.k8s.io`, "", "metadata.name: Required value: name or generateName is required");
    const existing = store[objName];
    if (method === "POST" && (existing || builtin[objName])) return send(res, 409, status(409, "AlreadyExists", `${plural}.rbac.authorization.k8s.io "${objName}" already exists`, { name: objName, group: "rbac.authorization.k8s.io", kind: plural }));
    let record;
    if (kind === "ClusterRole") {
      if (!Array.isArray(body.rules ?? [])) return invalid(res, "ClusterRole.rbac.authorization.k8s.io", objName, "rules: Invalid value: must be a list");
      for (const [i, r] of (body.rules ?? []).entries()) {
        if (!r?.verbs?.length) return invalid(res, "ClusterRole.rbac.authorization.k8s.io", objName, `rules[${i}].verbs: Required value: verbs must contain at least one value`);
        if (r.nonResourceURLs?.length && r.resources?.length) return invalid(res, "ClusterRole.rbac.authorization.k8s.io", objName, `rules[${i}].nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
      }
      record = { rules: body.rules ?? [] };
    } else {
      const ref = body.roleRef ?? {};
      if (ref.apiGroup !== "rbac.authorization.k8s.io" || ref.kind !== "ClusterRole" || !ref.name) {
        return invalid(res, "ClusterRoleBinding.rbac.authorization.k8s.io", objName, `roleRef: Invalid value: a ClusterRoleBinding refers to a ClusterRole of rbac.authorization.k8s.io by name`);
      }
      const old = existing ?? (builtin[objName] ? BOOTSTRAP_BINDINGS[objName] : undefined);
      if (old && JSON.stringify(old.roleRef) !== JSON.stringify(ref)) return invalid(res, "ClusterRoleBinding.rbac.authorization.k8s.io", objName, "roleRef: Invalid value: cannot change roleRef");
      for (const [i, s] of (body.subjects ?? []).entries()) {
        if (!["User", "Group", "ServiceAccount"].includes(s?.kind) || !s.name) return invalid(res, "ClusterRoleBinding.rbac.authorization.k8s.io", objName, `subjects[${i}]: Invalid value: a subject has a kind (User, Group, ServiceAccount) and a name`);
      }
      record = { roleRef: ref, subjects: body.subjects ?? [] };
    }
    store[objName] = { uid: existing?.uid ?? crypto.randomUUID(), creationTimestamp: existing?.creationTimestamp ?? nowIso(), resourceVersion: nextRv(), ...(body.metadata?.labels ? { labels: body.metadata.labels } : {}), ...record };
    save();
    info(`${existing ? "Updated" : "Created"} ${kind} ${objName}`);
    return send(res, existing ? 200 : 201, renderRbac(kind, objName, store[objName]));
  }

  const readRawBody = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });

  /** The credential APIs; true when the request was one of them (and answered). */
  async function credentialRoutes(req, res, url, p, method, identity) {
    let m;
    const type = String(req.headers["content-type"] ?? "application/json").split(";")[0].trim();
    const ssar = p === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && method === "POST";
    const protobuf = type === "application/vnd.kubernetes.protobuf" && (ssar || p === "/apis/authentication.k8s.io/v1/selfsubjectreviews");
    if (["POST", "PUT"].includes(method) && type !== "application/json" && !protobuf && (p.startsWith("/apis/") || p.endsWith("/token"))) {
      send(res, 415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json (the ${STANDIN} reads JSON only)`));
      return true;
    }
    if (ssar) {
      let body;
      try {
        body = protobuf ? selfSubjectAccessReviewFromProtobuf(await readRawBody(req)) : JSON.parse((await readBody(req)) || "{}");
      } catch (e) {
        send(res, 400, status(400, "BadRequest", `the SelfSubjectAccessReview cannot be read: ${e.message}`));
        return true;
      }
      const ra = body.spec?.resourceAttributes;
      const na = body.spec?.nonResourceAttributes;
      const a = ra
        ? { nonResource: false, verb: ra.verb ?? "", group: ra.group ?? "", resource: ra.resource ?? "", subresource: ra.subresource ?? "", name: ra.name ?? "", namespace: ra.namespace ?? "" }
        : { nonResource: true, path: na?.path ?? "", verb: na?.verb ?? "" };
      const decision = authorize(identity, a);
      send(res, 201, { kind: "SelfSubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: { creationTimestamp: null }, spec: body.spec ?? {}, status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) } });
      return true;
    }
    if (p === "/apis/authentication.k8s.io/v1/selfsubjectreviews" && method === "POST") {
      await readBody(req);
      send(res, 201, { kind: "SelfSubjectReview", apiVersion: "authentication.k8s.io/v1", metadata: { creationTimestamp: nowIso() }, status: { userInfo: { username: identity.user, groups: identity.groups, ...(identity.extra ? { extra: identity.extra } : {}) } } });
      return true;
    }
    if (p === "/apis/certificates.k8s.io/v1/certificatesigningrequests") {
      if (method === "POST") await createCsr(req, res, identity);
      else if (method === "GET") send(res, 200, { kind: "CertificateSigningRequestList", apiVersion: "certificates.k8s.io/v1", metadata: { resourceVersion: String(state.resourceVersion) }, items: Object.entries(state.csrs).map(([n, c]) => renderCsr(n, c)) });
      else methodNotAllowed(res, method);
      return true;
    }
    if ((m = /^\/apis\/certificates\.k8s\.io\/v1\/certificatesigningrequests\/([^/]+)(\/approval)?$/.exec(p))) {
      const name = decodeURIComponent(m[1]);
      if (m[2]) {
        if (method !== "PUT") methodNotAllowed(res, method);
        else await approveCsr(req, res, name);
        return true;
      }
      const c = state.csrs[name];
      if (!c) send(res, 404, status(404, "NotFound", `certificatesigningrequests.certificates.k8s.io "${name}" not found`, { name, group: "certificates.k8s.io", kind: "certificatesigningrequests" }));
      else if (method === "GET") send(res, 200, renderCsr(name, c));
      else if (method === "DELETE") {
        delete state.csrs[name];
        nextRv();
        save();
        send(res, 200, status(200, undefined, undefined, { name, group: "certificates.k8s.io", kind: "certificatesigningrequests", uid: c.uid }));
      } else methodNotAllowed(res, method);
      return true;
    }
    if ((m = /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/(clusterroles|clusterrolebindings)(?:\/([^/]+))?$/.exec(p))) {
      await rbacObject(req, res, method, m[1], m[2] ? decodeURIComponent(m[2]) : undefined);
      return true;
    }
    // TokenRequest: a service-account token signed with the first key of service.key.
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(p)) && method === "POST") {
      const [namespace, sa] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
      if (!state.namespaces[namespace] || sa !== "default") {
        send(res, 404, status(404, "NotFound", `serviceaccounts "${sa}" not found`, { name: sa, kind: "serviceaccounts" }));
        return true;
      }
      const body = JSON.parse((await readBody(req)) || "{}");
      const seconds = Math.max(600, Number(body.spec?.expirationSeconds) || 3600);
      const now = Math.floor(Date.now() / 1000);
      const token = signJwt(
        { aud: body.spec?.audiences?.length ? body.spec.audiences : [SA_ISSUER, "k3s"], exp: now + seconds, iat: now, nbf: now, iss: SA_ISSUER, sub: `system:serviceaccount:${namespace}:${sa}`, "kubernetes.io": { namespace, serviceaccount: { name: sa, uid: sha256(`${namespace}/${sa}`).slice(0, 36) } } },
        saKeys[0],
      );
      send(res, 201, { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", metadata: { name: sa, namespace, creationTimestamp: null }, spec: { audiences: body.spec?.audiences ?? [SA_ISSUER, "k3s"], expirationSeconds: seconds }, status: { token, expirationTimestamp: new Date((now + seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") } });
      return true;
    }
    return false;
  }

  /**
   * k3s certificate rotate-ca: the supervisor takes the new files, checks them and keeps them in its
   * datastore (here <data-dir>/server/standin-datastore); the server writes them to server/tls at its
   * next start (k3s: "restart K3s on all servers").
   */
  async function rotateCa(req, res, url) {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, "the request body is not JSON", "text/plain");
    }
    const force = url.searchParams.get("force") === "true";
    const files = Object.fromEntries(Object.entries(body.files ?? {}).map(([n, v]) => [n, Buffer.from(String(v), "base64").toString()]));
    const tls = path.join(serverDir, "tls");
    const current = (n) => (fs.existsSync(path.join(tls, n)) ? fs.readFileSync(path.join(tls, n), "utf8") : undefined);
    const problems = [];
    const staged = {};
    for (const [n, content] of Object.entries(files)) {
      if (content === current(n)) {
        warn(`rotate-ca: ${n} is unchanged; not updated`);
        continue;
      }
      if (!ROTATABLE_CA_FILES.includes(n)) problems.push(`${n}: the ${STANDIN} rotates ${ROTATABLE_CA_FILES.join(", ")} only`);
      else staged[n] = content;
    }
    if ("client-ca.crt" in staged !== "client-ca.key" in staged) problems.push("client-ca.crt and client-ca.key must be rotated together");
    if (staged["client-ca.crt"]) {
      try {
        const cert = new crypto.X509Certificate(staged["client-ca.crt"]);
        const key = crypto.createPrivateKey(staged["client-ca.key"]);
        if (!cert.checkPrivateKey(key)) problems.push("client-ca.key does not match client-ca.crt");
        if (!cert.ca) problems.push("client-ca.crt is not a CA certificate");
        // k3s: a new CA that the current one did not sign (cross-sign) is refused without --force.
        if (!force && !issuedBy(staged["client-ca.crt"], pki.clientCaCert)) problems.push("client-ca.crt: new CA certificate is not signed by the current CA certificate; use --force to rotate to an unrelated CA (existing client certificates stop working)");
      } catch (e) {
        problems.push(`client-ca: ${e.message}`);
      }
    }
    if (staged["service.key"]) {
      try {
        if (!serviceKeys(staged["service.key"]).length) problems.push("service.key holds no RSA private key");
      } catch (e) {
        problems.push(`service.key: ${e.message}`);
      }
    }
    if (problems.length) return send(res, 400, `failed to validate new CA certificates and keys: ${problems.join("; ")}`, "text/plain");
    const datastore = path.join(serverDir, "standin-datastore");
    for (const [n, content] of Object.entries(staged)) writeFileAtomic(path.join(datastore, n), content, n.endsWith(".key") ? 0o600 : 0o644);
    info(`rotate-ca: saved ${Object.keys(staged).join(", ") || "nothing"} to the datastore; restart the server to use them`);
    return send(res, 200, { updated: Object.keys(staged) }, "application/json");
  }

  // Authentication: a client certificate signed by the cluster CA, or the cluster token as a bearer
  // token (or as k3s's supervisor basic auth, user "node" or "server", for the agent endpoints).
  const tokenMatches = (presented) => {
    const p = parseToken(presented).password;
    return !!p && (safeEqual(p, password) || (agentPassword !== undefined && safeEqual(p, agentPassword)));
  };
  const authenticate = (req, { agentOnly = false } = {}) => {
    const header = req.headers.authorization ?? "";
    if (header.startsWith("Bearer ")) {
      const t = header.slice(7).trim();
      if (agentOnly ? tokenMatches(t) : safeEqual(parseToken(t).password, password)) return { user: "token", groups: ["system:masters", "system:authenticated"] };
      // A service-account token: signed by any key of service.key (the old ones too, after a rotation).
      const claims = !agentOnly && verifyJwt(t, saKeys);
      if (claims?.sub?.startsWith("system:serviceaccount:")) {
        const ns = claims.sub.split(":")[2];
        return { user: claims.sub, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"] };
      }
    } else if (header.startsWith("Basic ")) {
      const [user, ...rest] = Buffer.from(header.slice(6), "base64").toString().split(":");
      if (agentOnly && ["node", "server"].includes(user) && tokenMatches(rest.join(":"))) return { user };
    }
    // A client certificate: verified against the client CA only (the TLS server's ca), so one the
    // server CA (or any other) issued is not authorized: 401. CN is the user, O the groups.
    if (!agentOnly && req.socket.authorized) {
      const cert = req.socket.getPeerCertificate();
      if (cert?.subject?.CN) {
        const o = cert.subject.O;
        return { user: cert.subject.CN, groups: [...(Array.isArray(o) ? o : o ? [o] : []), "system:authenticated"] };
      }
    }
    return undefined;
  };

  const send = (res, code, body, contentType = "application/json") => {
    const data = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data), "Cache-Control": "no-cache, private" });
    res.end(data);
  };
  const notFound = (res) => send(res, 404, status(404, "NotFound", "the server could not find the requested resource", { causes: [{ reason: "UnexpectedServerResponse", message: "404 page not found" }] }));
  const methodNotAllowed = (res, method) => send(res, 405, status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method})`));

  const tableVersion = (req) => {
    const accept = String(req.headers.accept ?? "");
    if (!accept.includes("as=Table")) return undefined;
    return /as=Table;v=v1;g=meta\.k8s\.io|as=Table;g=meta\.k8s\.io;v=v1(?!beta)/.test(accept) ? "meta.k8s.io/v1" : "meta.k8s.io/v1beta1";
  };

  const readBody = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on("data", (c) => {
        size += c.length;
        if (size > 1 << 20) reject(new Error("body too large"));
        else chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks).toString()));
      req.on("error", reject);
    });

  async function handle(req, res) {
    const url = new URL(req.url ?? "/", "https://localhost");
    const p = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";

    // k3s's supervisor serves these without authentication.
    if (method === "GET" && p === "/ping") return send(res, 200, "pong", "text/plain");
    if (method === "GET" && p === "/cacerts") return send(res, 200, pki.caCert, "text/plain");

    let m;
    if (p === "/v1-k3s/cert/cacerts") {
      const supervisor = authenticate(req, { agentOnly: true });
      if (supervisor?.user !== "server") return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
      if (method !== "PUT") return methodNotAllowed(res, method);
      return rotateCa(req, res, url);
    }
    if ((m = /^\/standin\/v1\/nodes\/([^/]+)\/heartbeat$/.exec(p))) {
      if (!authenticate(req, { agentOnly: true })) return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
      if (method !== "POST") return methodNotAllowed(res, method);
      let body;
      try {
        body = JSON.parse((await readBody(req)) || "{}");
      } catch {
        return send(res, 400, status(400, "BadRequest", "the heartbeat body is not JSON"));
      }
      const name = decodeURIComponent(m[1]).toLowerCase();
      if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) return send(res, 422, status(422, "Invalid", `Node "${name}" is invalid: metadata.name: must be a lowercase RFC 1123 subdomain`));
      const result = heartbeat(name, body);
      return send(res, result.code, result.body);
    }

    const identity = authenticate(req);
    if (!identity) return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    const attributes = requestAttributes(method, p, url.searchParams);
    if (!authorize(identity, attributes).allowed) {
      return send(res, 403, status(403, "Forbidden", forbiddenMessage(identity, attributes), attributes.nonResource ? undefined : { name: attributes.name || undefined, group: attributes.group, kind: attributes.resource }));
    }
    if (await credentialRoutes(req, res, url, p, method, identity)) return;

    if (["/livez", "/readyz", "/healthz"].includes(p)) {
      if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, method);
      if (url.searchParams.has("verbose")) {
        const name = p.slice(1);
        return send(res, 200, `[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-apiextensions-controllers ok\n${name} check passed\n`, "text/plain; charset=utf-8");
      }
      return send(res, 200, "ok", "text/plain; charset=utf-8");
    }
    if (p === "/api/v1/pods" || /^\/api\/v1\/namespaces\/[^/]+\/pods(\/|$)/.test(p)) {
      if (["true", "1"].includes(url.searchParams.get("watch") ?? "")) return send(res, 405, status(405, "MethodNotAllowed", `watch is not supported by the ${STANDIN}; poll instead`));
      let podMatch;
      try {
        const labels = parseSelector(url.searchParams.get("labelSelector") ?? "");
        const fields = parseFieldSelector(url.searchParams.get("fieldSelector") ?? "");
        podMatch = (o) => labels(o.metadata.labels) && fields(o);
      } catch (e) {
        return send(res, 400, status(400, "BadRequest", e.message));
      }
      if (await podRoutes(req, res, url, p, method, podMatch)) return;
    }
    if (method !== "GET" && !(["DELETE", "PATCH"].includes(method) && p.startsWith("/api/v1/nodes/"))) return methodNotAllowed(res, method);
    if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1" || p.startsWith("/api/v1/watch")) {
      return send(res, 405, status(405, "MethodNotAllowed", `watch is not supported by the ${STANDIN}; poll instead`));
    }

    if (p === "/version") {
      const [major, minor] = VERSION.replace(/^v/, "").split(".");
      return send(res, 200, {
        major, minor, gitVersion: VERSION, gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean",
        buildDate: "2025-01-01T00:00:00Z", goVersion: "go1.24.6", compiler: "gc", platform: "linux/amd64",
      });
    }
    if (p === "/api") {
      return send(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `${nodeIp}:${port}` }] });
    }
    if (p === "/apis") {
      const groups = Object.keys(API_GROUP_RESOURCES).map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: "v1" }], preferredVersion: { groupVersion: `${name}/v1`, version: "v1" } }));
      return send(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups });
    }
    if ((m = /^\/apis\/([^/]+)\/v1$/.exec(p)) && API_GROUP_RESOURCES[m[1]]) {
      return send(res, 200, { kind: "APIResourceList", apiVersion: "v1", groupVersion: `${m[1]}/v1`, resources: API_GROUP_RESOURCES[m[1]] });
    }
    if (p === "/api/v1") {
      return send(res, 200, {
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace", verbs: ["get", "list"], shortNames: ["ns"] },
          { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["delete", "get", "list", "patch"], shortNames: ["no"] },
          { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["create", "delete", "get", "list"], shortNames: ["po"] },
          { name: "pods/eviction", singularName: "", namespaced: true, kind: "Eviction", group: "policy", version: "v1", verbs: ["create"] },
          { name: "serviceaccounts/token", singularName: "", namespaced: true, kind: "TokenRequest", group: "authentication.k8s.io", version: "v1", verbs: ["create"] },
        ],
      });
    }

    let match;
    try {
      const labels = parseSelector(url.searchParams.get("labelSelector") ?? "");
      const fields = parseFieldSelector(url.searchParams.get("fieldSelector") ?? "");
      match = (o) => labels(o.metadata.labels) && fields(o);
    } catch (e) {
      return send(res, 400, status(400, "BadRequest", e.message));
    }
    const rv = String(state.resourceVersion);

    if (p === "/api/v1/nodes" || p === "/api/v1/namespaces") {
      const isNodes = p.endsWith("nodes");
      const items = Object.entries(isNodes ? state.nodes : state.namespaces)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, o]) => (isNodes ? renderNode(name, o, true) : renderNamespace(name, o, true)))
        .filter(match);
      const tv = tableVersion(req);
      if (tv) return send(res, 200, table(tv, isNodes ? NODE_COLUMNS : NAMESPACE_COLUMNS, items, isNodes ? nodeCells : namespaceCells, rv));
      return send(res, 200, { kind: isNodes ? "NodeList" : "NamespaceList", apiVersion: "v1", metadata: { resourceVersion: rv }, items });
    }
    if ((m = /^\/api\/v1\/(nodes|namespaces)\/([^/]+)$/.exec(p))) {
      const isNodes = m[1] === "nodes";
      const name = decodeURIComponent(m[2]);
      const record = (isNodes ? state.nodes : state.namespaces)[name];
      if (!record) {
        return send(res, 404, status(404, "NotFound", `${m[1]} "${name}" not found`, { name, kind: m[1] }));
      }
      if (method === "PATCH") {
        const type = String(req.headers["content-type"] ?? "").split(";")[0].trim();
        if (!["application/merge-patch+json", "application/strategic-merge-patch+json"].includes(type)) {
          return send(res, 415, status(415, "UnsupportedMediaType", `the ${STANDIN} takes merge and strategic merge patches, not ${type || "no content type"}`));
        }
        let patch;
        try {
          patch = JSON.parse(await readBody(req));
        } catch {
          return send(res, 400, status(400, "BadRequest", "the patch is not JSON"));
        }
        const problem = patchNode(record, patch);
        if (problem) return send(res, 422, status(422, "Invalid", `Node "${name}" is invalid: ${problem}`, { name, kind: "nodes" }));
        record.resourceVersion = nextRv();
        save();
        info(`Patched node ${name}`);
        return send(res, 200, renderNode(name, record, false));
      }
      if (method === "DELETE") {
        delete state.nodes[name];
        lastSeen.delete(name);
        nextRv();
        save();
        info(`Deleted node ${name}`);
        return send(res, 200, status(200, undefined, undefined, { name, kind: "nodes", uid: record.uid }));
      }
      const obj = isNodes ? renderNode(name, record, false) : renderNamespace(name, record, false);
      const tv = tableVersion(req);
      if (tv) return send(res, 200, table(tv, isNodes ? NODE_COLUMNS : NAMESPACE_COLUMNS, [obj], isNodes ? nodeCells : namespaceCells, rv));
      return send(res, 200, obj);
    }
    return notFound(res);
  }

  const httpsServer = https.createServer(
    { key: pki.servingKey, cert: pki.servingCert, ca: [pki.clientCaCert], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      handle(req, res).catch((e) => {
        warn(`request ${req.method} ${req.url} failed: ${e.stack ?? e}`);
        if (!res.headersSent) send(res, 500, status(500, "InternalError", String(e.message ?? e)));
        else res.destroy();
      });
    },
  );
  httpsServer.keepAliveTimeout = 30_000;

  // As k3s: k3s.yaml is written before the API server answers, and written in place (a reader can
  // catch it empty or half-written), so clients must wait for /readyz and re-read a bad file.
  const kubeconfigText = kubeconfigYaml(port, pki);
  fs.mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
  fs.writeFileSync(kubeconfigPath, kubeconfigText.slice(0, Math.floor(kubeconfigText.length / 2)), { mode: kubeconfigMode });
  fs.chmodSync(kubeconfigPath, kubeconfigMode);
  await sleep(KUBECONFIG_PARTIAL_MS);
  fs.writeFileSync(kubeconfigPath, kubeconfigText, { mode: kubeconfigMode });
  info(`Wrote kubeconfig ${kubeconfigPath}`);
  await sleep(API_DELAY_MS);

  await new Promise((resolve, reject) => {
    httpsServer.once("error", reject);
    if (flags["bind-address"]) httpsServer.listen(port, flags["bind-address"], resolve);
    else httpsServer.listen(port, resolve);
  });
  info(`Running kube-apiserver (${STANDIN}) on https://${flags["bind-address"] || "0.0.0.0"}:${port}`);

  let selfBeat;
  if (!disableAgent) {
    const bootID = crypto.randomUUID();
    const self = () =>
      heartbeat(nodeName, {
        password: `server:${password}`,
        labels: { ...ownLabels, "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true" },
        taints: ownTaints,
        address: nodeIp,
        hostname: os.hostname(),
        kernelVersion: os.release(),
        bootID,
      });
    const first = self();
    if (first.code !== 200) warn(`Could not register the server's node ${nodeName}: ${first.body.message}`);
    selfBeat = setInterval(self, HEARTBEAT_MS);
  } else {
    info("--disable-agent: the server registers no node of its own");
  }
  info("k3s is up and running");

  const stop = (signal) => {
    info(`Received ${signal}, shutting down`);
    clearInterval(monitor);
    if (selfBeat) clearInterval(selfBeat);
    try {
      save();
    } catch {
      /* the volume may be gone */
    }
    httpsServer.close();
    httpsServer.closeAllConnections?.();
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => stop(signal));
}

// ---------------------------------------------------------------------------------------------
// agent

function request(url, { method = "GET", headers = {}, body, ca, cert, key, insecure = false, timeoutMs = 5000, checkHostname = true }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = https.request(
      {
        method,
        hostname: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port || 443,
        path: u.pathname + u.search,
        headers: { ...headers, ...(body !== undefined ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {}) },
        ca, cert, key,
        rejectUnauthorized: !insecure,
        ...(checkHostname ? {} : { checkServerIdentity: () => undefined }),
        agent: false,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function agent(args) {
  const { values: flags, ignored, positional } = parseFlags(args, {
    server: { kind: "string", aliases: ["s"], env: ["K3S_URL"] },
    token: { kind: "string", aliases: ["t"], env: ["K3S_TOKEN"] },
    "token-file": { kind: "string", env: ["K3S_TOKEN_FILE"] },
    "node-name": { kind: "string", env: ["K3S_NODE_NAME"] },
    "node-label": { kind: "list" },
    "node-taint": { kind: "list" },
    "node-ip": { kind: "list", aliases: ["i"] },
    "data-dir": { kind: "string", aliases: ["d"], env: ["K3S_DATA_DIR"] },
    "resolv-conf": { kind: "string", env: ["K3S_RESOLV_CONF"] },
  });
  info(`Starting k3s agent ${VERSION} (${STANDIN})`);
  for (const flag of ignored) warn(`${STANDIN}: flag ${flag} accepted and ignored`);
  if (positional.length) warn(`${STANDIN}: arguments ${positional.join(" ")} ignored`);
  const serverUrl = flags.server;
  if (!serverUrl) fatal("--server is required");
  let base;
  try {
    base = new URL(serverUrl);
    if (base.protocol !== "https:") throw new Error("not https");
  } catch {
    fatal(`--server must be an https URL (https://HOST:PORT), not ${JSON.stringify(serverUrl)}`);
  }
  let token = flags.token;
  if (!token && flags["token-file"]) token = fs.readFileSync(flags["token-file"], "utf8").trim();
  if (!token) fatal("--token is required");
  const parsedToken = parseToken(token);
  const nodeName = (flags["node-name"] || os.hostname()).toLowerCase();
  if (!DNS1123_SUBDOMAIN.test(nodeName)) fatal(`invalid node name ${JSON.stringify(nodeName)}: must be a lowercase RFC 1123 subdomain`);
  let labels;
  let taints;
  try {
    labels = parseLabels(flags["node-label"]);
    taints = parseTaints(flags["node-taint"]);
  } catch (e) {
    fatal(e.message);
  }
  const kubeletError = kubeletLabelError(labels);
  if (kubeletError) fatal(`kubelet exited: ${kubeletError}`);
  kubeletResolvConf(flags["resolv-conf"], flags["data-dir"] || DEFAULT_DATA_DIR);

  // The node password, as k3s keeps it: the server remembers it per node name and refuses another.
  let nodePassword;
  try {
    nodePassword = fs.readFileSync(NODE_PASSWORD_FILE, "utf8").trim();
  } catch {
    nodePassword = crypto.randomBytes(16).toString("hex");
    try {
      writeFileAtomic(NODE_PASSWORD_FILE, `${nodePassword}\n`, 0o600);
    } catch (e) {
      warn(`could not write ${NODE_PASSWORD_FILE}: ${e.message}`);
    }
  }
  const bootID = crypto.randomUUID();
  const origin = base.origin;
  const auth = `Basic ${Buffer.from(`node:${parsedToken.password}`).toString("base64")}`;
  let ca;
  let registeredUid;
  let lastError = "";
  let connectedBefore = false;
  let stopping = false;

  let probed = false;
  const myAddress = () => flags["node-ip"]?.[0] || firstIPv4();
  const registration = (ready, probe = false) =>
    JSON.stringify({
      probe,
      password: nodePassword,
      labels,
      taints,
      address: myAddress(),
      hostname: os.hostname(),
      kernelVersion: os.release(),
      bootID,
      ready,
      ...(ready ? {} : { reason: "KubeletNotReady", message: "node is shutting down" }),
    });

  const beat = async () => {
    if (!ca) {
      const r = await request(`${origin}/cacerts`, { insecure: true });
      if (r.status !== 200 || !r.body.includes("BEGIN CERTIFICATE")) throw new Error(`GET /cacerts answered ${r.status}`);
      if (parsedToken.caHash && sha256(r.body) !== parsedToken.caHash) {
        throw new Error("token CA hash does not match the server's CA certificate");
      }
      ca = r.body;
    }
    const r = await request(`${origin}/standin/v1/nodes/${encodeURIComponent(nodeName)}/heartbeat`, {
      method: "POST", headers: { Authorization: auth }, body: registration(true, !probed), ca, checkHostname: false,
    });
    if (!probed && r.status === 200) {
      probed = true;
      const recorded = JSON.parse(r.body).address;
      if (recorded && recorded !== myAddress()) {
        if (nodeIpChangeIsFatal(VERSION)) {
          // k3s's own line (k3s#12639): the agent exits, and keeps exiting on every start.
          fatal("Failed to start networking: unable to initialize network policy controller: error getting node subnet: failed to find interface with specified node ip");
        }
        info(`Node IP changed from ${recorded} to ${myAddress()}`);
      }
      return;
    }
    if (r.status === 401) throw new Error("the server rejected the token (401 Unauthorized)");
    if (r.status !== 200) {
      let message = r.body;
      try {
        message = JSON.parse(r.body).message ?? message;
      } catch {
        /* not JSON */
      }
      throw new Error(`${r.status}: ${message}`);
    }
    const { uid } = JSON.parse(r.body);
    if (uid !== registeredUid) {
      info(`${registeredUid ? "Re-registered" : "Registered"} node ${nodeName} with ${origin} (uid ${uid})`);
      registeredUid = uid;
    }
    if (lastError && connectedBefore) info(`Connected to ${origin} again`);
    connectedBefore = true;
    lastError = "";
  };

  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    info(`Received ${signal}, shutting down`);
    // A kubelet in a container posts no NotReady when it stops (graceful node shutdown needs systemd's
    // inhibitor locks): the node keeps Ready=True and its last heartbeat until the controller's grace
    // period runs out, then turns Unknown.
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => void shutdown(signal));

  info(`Connecting to ${origin} as node ${nodeName}`);
  while (!stopping) {
    let wait = HEARTBEAT_MS;
    try {
      await beat();
    } catch (e) {
      wait = Math.min(HEARTBEAT_MS, 1000); // a server that is starting answers soon: ask again sooner
      const message = e?.message ?? String(e);
      // A new server CA (say, a new server volume) shows as a TLS failure: fetch /cacerts again.
      if (/certificate|self[- ]signed|unable to verify|CERT_|SSL/i.test(message)) ca = undefined;
      if (message !== lastError) warn(`Waiting to register node ${nodeName} with ${origin}: ${message}`);
      lastError = message;
    }
    await sleep(wait);
  }
}

// ---------------------------------------------------------------------------------------------
// kubectl

function kubeconfigField(text, field) {
  const m = new RegExp(`^\\s*${field}:\\s*(\\S+)\\s*$`, "m").exec(text);
  return m ? m[1].replace(/^["']|["']$/g, "") : undefined;
}

function printTable(rows, { noHeaders = false } = {}) {
  const all = noHeaders ? rows.slice(1) : rows;
  if (!all.length) return;
  const widths = all[0].map((_, i) => Math.max(6, ...all.map((r) => String(r[i]).length + 3)));
  for (const row of all) {
    process.stdout.write(row.map((cell, i) => (i === row.length - 1 ? String(cell) : String(cell).padEnd(widths[i]))).join("") + "\n");
  }
}

async function kubectl(args) {
  const fail = (msg) => {
    process.stderr.write(`${msg}\n`);
    process.exit(1);
  };
  const supported = `supported: get nodes|namespaces [NAME...] [-o json|wide|name] [-l SELECTOR], get --raw PATH, delete node NAME..., version, cluster-info`;
  const firstWord = args.find((a) => !a.startsWith("-"));
  if (firstWord && !["get", "delete", "version", "cluster-info"].includes(firstWord)) {
    fail(`error: "kubectl ${firstWord}" is not supported by the ${STANDIN} (${supported})`);
  }
  // Global and command flags.
  const rest = [];
  const opt = { output: undefined, selector: undefined, noHeaders: false, kubeconfig: process.env.KUBECONFIG || undefined, raw: undefined, client: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const take = (name) => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= args.length) fail(`error: flag needs an argument: ${name}`);
      return args[++i];
    };
    if (a === "-o" || a.startsWith("-o=") || a === "--output" || a.startsWith("--output=")) opt.output = take("-o");
    else if (/^-o\S/.test(a)) opt.output = a.slice(2);
    else if (a === "-l" || a.startsWith("-l=") || a === "--selector" || a.startsWith("--selector=")) opt.selector = take("-l");
    else if (a === "--kubeconfig" || a.startsWith("--kubeconfig=")) opt.kubeconfig = take("--kubeconfig");
    else if (a === "--raw" || a.startsWith("--raw=")) opt.raw = take("--raw");
    else if (a === "--no-headers" || a === "--no-headers=true") opt.noHeaders = true;
    else if (a === "--client" || a === "--client=true") opt.client = true;
    else if (a === "-n" || a === "--namespace" || a === "--context" || a === "--request-timeout") i++;
    else if (/^(-n|--namespace|--context|--request-timeout)=/.test(a) || a === "-A" || a === "--all-namespaces" || a === "--wait" || a.startsWith("--wait=")) continue;
    else if (a.startsWith("-") && a !== "-") fail(`error: unknown flag: ${a} (the ${STANDIN}'s kubectl supports -o, -l, --no-headers, --raw, --kubeconfig)`);
    else rest.push(a);
  }
  const [command, ...operands] = rest;
  if (!command) fail(`error: the ${STANDIN}'s kubectl needs a command (${supported})`);
  if (!["get", "delete", "version", "cluster-info"].includes(command)) {
    fail(`error: "kubectl ${command}" is not supported by the ${STANDIN} (${supported})`);
  }

  const kubeconfigPath = opt.kubeconfig || DEFAULT_KUBECONFIG;
  let config;
  try {
    config = fs.readFileSync(kubeconfigPath, "utf8");
  } catch (e) {
    if (command === "version" && opt.client) config = "";
    else fail(`error: cannot read kubeconfig ${kubeconfigPath}: ${e.code === "ENOENT" ? "no such file (is the k3s server running here?)" : e.message}`);
  }
  const serverUrl = kubeconfigField(config, "server");
  const decode = (f) => {
    const v = kubeconfigField(config, f);
    return v ? Buffer.from(v, "base64").toString() : undefined;
  };
  const creds = { ca: decode("certificate-authority-data"), cert: decode("client-certificate-data"), key: decode("client-key-data") };
  const bearer = kubeconfigField(config, "token");
  const api = async (p, { method = "GET", accept = "application/json" } = {}) => {
    let r;
    try {
      r = await request(`${serverUrl}${p}`, { method, headers: { Accept: accept, ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) }, ...creds, timeoutMs: 10_000 });
    } catch (e) {
      const hostPort = new URL(serverUrl).host;
      if (e.code === "ECONNREFUSED") fail(`The connection to the server ${hostPort} was refused - did you specify the right host or port?`);
      fail(`Unable to connect to the server: ${e.message}`);
    }
    if (r.status >= 400) {
      let s;
      try {
        s = JSON.parse(r.body);
      } catch {
        /* not a Status */
      }
      if (r.status === 401) fail("error: You must be logged in to the server (Unauthorized)");
      fail(`Error from server (${s?.reason ?? r.status}): ${s?.message ?? r.body}`);
    }
    return r.body;
  };

  if (command === "version") {
    const client = { major: VERSION.replace(/^v/, "").split(".")[0], minor: VERSION.split(".")[1], gitVersion: VERSION, compiler: "gc", platform: "linux/amd64" };
    const serverVersion = opt.client ? undefined : JSON.parse(await api("/version"));
    if (opt.output === "json") {
      process.stdout.write(JSON.stringify({ clientVersion: client, ...(serverVersion ? { serverVersion } : {}) }, null, 2) + "\n");
    } else {
      process.stdout.write(`Client Version: ${VERSION}\n`);
      if (serverVersion) process.stdout.write(`Server Version: ${serverVersion.gitVersion}\n`);
    }
    return;
  }
  if (command === "cluster-info") {
    await api("/readyz");
    process.stdout.write(`Kubernetes control plane is running at ${serverUrl}\n`);
    return;
  }
  if (command === "get" && opt.raw) {
    process.stdout.write(await api(opt.raw));
    return;
  }

  // get/delete RESOURCE [NAME...], also RESOURCE/NAME.
  const resourceOf = (word) => {
    const w = (word ?? "").toLowerCase();
    if (["nodes", "node", "no"].includes(w)) return "nodes";
    if (["namespaces", "namespace", "ns"].includes(w)) return "namespaces";
    return undefined;
  };
  let resource;
  const names = [];
  for (const operand of operands) {
    const [kind, name] = operand.split("/");
    const r = resourceOf(kind);
    if (name !== undefined && r) {
      resource = r;
      names.push(name);
    } else if (!resource && r) resource = r;
    else if (resource) names.push(operand);
    else fail(`error: the server doesn't have a resource type "${kind}" (the ${STANDIN} serves nodes and namespaces)`);
  }
  if (!resource) fail(`error: you must specify the type of resource to ${command}; ${supported}`);

  if (command === "delete") {
    if (resource !== "nodes") fail(`error: the ${STANDIN}'s kubectl deletes nodes only`);
    if (!names.length) fail("error: resource(s) were provided, but no name was specified");
    for (const name of names) {
      await api(`/api/v1/nodes/${encodeURIComponent(name)}`, { method: "DELETE" });
      process.stdout.write(`node "${name}" deleted\n`);
    }
    return;
  }

  const query = opt.selector ? `?labelSelector=${encodeURIComponent(opt.selector)}` : "";
  const output = opt.output ?? "";
  if (!["", "json", "wide", "name"].includes(output)) fail(`error: output format "${output}" is not supported by the ${STANDIN}'s kubectl (json, wide, name)`);
  const kind = resource === "nodes" ? "Node" : "Namespace";
  if (output === "json" || output === "name") {
    const objects = names.length
      ? await Promise.all(names.map(async (n) => JSON.parse(await api(`/api/v1/${resource}/${encodeURIComponent(n)}`))))
      : JSON.parse(await api(`/api/v1/${resource}${query}`)).items.map((o) => ({ apiVersion: "v1", kind, ...o }));
    if (output === "name") {
      for (const o of objects) process.stdout.write(`${kind.toLowerCase()}/${o.metadata.name}\n`);
    } else if (names.length === 1) {
      process.stdout.write(JSON.stringify(objects[0], null, 4) + "\n");
    } else {
      process.stdout.write(JSON.stringify({ apiVersion: "v1", items: objects, kind: "List", metadata: { resourceVersion: "" } }, null, 4) + "\n");
    }
    return;
  }
  const accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  const tables = names.length
    ? await Promise.all(names.map(async (n) => JSON.parse(await api(`/api/v1/${resource}/${encodeURIComponent(n)}`, { accept }))))
    : [JSON.parse(await api(`/api/v1/${resource}${query}`, { accept }))];
  const columns = tables[0].columnDefinitions.map((c, i) => ({ ...c, i })).filter((c) => output === "wide" || c.priority === 0);
  const rows = tables.flatMap((t) => t.rows);
  if (!rows.length) {
    process.stderr.write("No resources found\n");
    return;
  }
  printTable([columns.map((c) => c.name.toUpperCase()), ...rows.map((r) => columns.map((c) => r.cells[c.i]))], { noHeaders: opt.noHeaders });
}

// ---------------------------------------------------------------------------------------------
// certificate rotate: k3s's offline rotation (https://docs.k3s.io/cli/certificate). With the server
// stopped, the leaf certificates move to a backup folder; the next start issues new ones from the
// same CA and writes a kubeconfig with the new admin certificate.

/**
 * At server start: files `k3s certificate rotate-ca` saved to the datastore replace those in
 * server/tls (k3s loads its bootstrap data from the datastore at start). Client certificates the old
 * client CA issued (k3s.yaml's admin one included) are reissued by loadOrCreatePki.
 */
function applyDatastoreFiles(serverDir) {
  const datastore = path.join(serverDir, "standin-datastore");
  if (!fs.existsSync(datastore)) return;
  for (const name of fs.readdirSync(datastore)) {
    writeFileAtomic(path.join(serverDir, "tls", name), fs.readFileSync(path.join(datastore, name)), name.endsWith(".key") ? 0o600 : 0o644);
    info(`Updated ${name} from the datastore (certificate rotate-ca)`);
  }
  fs.rmSync(datastore, { recursive: true, force: true });
}

/**
 * k3s certificate rotate-ca --path=DIR [--force]: sends DIR/tls's files to the running server (its
 * supervisor port, authenticated with the server token), which checks them and saves them to the
 * datastore; they take effect when the server restarts. Fails when no server answers, as k3s does.
 */
async function rotateCaCommand(rest) {
  const { values: flags, ignored } = parseFlags(rest, {
    "data-dir": { kind: "string", aliases: ["d"], env: ["K3S_DATA_DIR"] },
    path: { kind: "string" },
    force: { kind: "bool" },
    server: { kind: "string", aliases: ["s"], env: ["K3S_URL"] },
    token: { kind: "string", aliases: ["t"], env: ["K3S_TOKEN"] },
  });
  for (const flag of ignored) warn(`${STANDIN}: flag ${flag} accepted and ignored`);
  if (!flags.path) fatal("--path is required");
  const dataDir = flags["data-dir"] || DEFAULT_DATA_DIR;
  const dir = path.join(flags.path, "tls");
  if (!fs.existsSync(dir)) fatal(`${dir} does not exist`);
  let token = flags.token;
  if (!token) {
    try {
      token = fs.readFileSync(path.join(dataDir, "server", "token"), "utf8").trim();
    } catch {
      fatal("--token is required (no server token file in the data dir)");
    }
  }
  const files = {};
  for (const name of fs.readdirSync(dir)) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isFile()) files[name] = fs.readFileSync(full).toString("base64");
  }
  const url = `${flags.server || "https://127.0.0.1:6443"}/v1-k3s/cert/cacerts${flags.force ? "?force=true" : ""}`;
  let r;
  try {
    r = await request(url, {
      method: "PUT", body: JSON.stringify({ files }), insecure: true,
      headers: { Authorization: `Basic ${Buffer.from(`server:${parseToken(token).password}`).toString("base64")}` },
      timeoutMs: 10_000,
    });
  } catch (e) {
    fatal(`see server log for details: Put "${url}": ${e.message}`);
  }
  if (r.status !== 200) fatal(`see server log for details: ${r.status}: ${r.body}`);
  const { updated } = JSON.parse(r.body);
  info(`Certificates and keys updated in the datastore: ${updated.join(", ") || "none"}; restart k3s on every server to use them`);
}

function certificate(args) {
  const [sub, ...rest] = args;
  if (sub === "rotate-ca") return rotateCaCommand(rest);
  if (sub !== "rotate") {
    process.stderr.write(`k3s certificate: "${sub ?? ""}" is not supported by the ${STANDIN} (rotate, rotate-ca)\n`);
    process.exit(1);
  }
  const { values: flags, ignored } = parseFlags(rest, {
    "data-dir": { kind: "string", aliases: ["d"], env: ["K3S_DATA_DIR"] },
    service: { kind: "list", aliases: ["s"] },
  });
  for (const flag of ignored) warn(`${STANDIN}: flag ${flag} accepted and ignored`);
  const tlsDir = path.join(flags["data-dir"] || DEFAULT_DATA_DIR, "server", "tls");
  if (!fs.existsSync(path.join(tlsDir, "server-ca.crt"))) fatal(`no server certificates under ${tlsDir}: has this server started before?`);
  const backup = path.join(path.dirname(tlsDir), `tls-${Math.floor(Date.now() / 1000)}`);
  fs.mkdirSync(backup, { recursive: true, mode: 0o700 });
  for (const name of fs.readdirSync(tlsDir)) fs.copyFileSync(path.join(tlsDir, name), path.join(backup, name));
  info(`Server detected, rotating server certificates`);
  info(`Certificates backed up to ${backup}`);
  const services = flags.service?.length ? flags.service : ["admin", "api-server"];
  const files = { admin: ["client-admin"], "api-server": ["serving-kube-apiserver"] };
  for (const service of services) {
    for (const base of files[service] ?? []) {
      for (const ext of [".crt", ".key"]) fs.rmSync(path.join(tlsDir, base + ext), { force: true });
    }
    if (!files[service]) info(`Rotating certificates for ${service} service (nothing to rotate in the ${STANDIN})`);
    else info(`Rotating certificates for ${service} service`);
  }
  info(`Successfully backed up certificates for all services to path ${backup}, please restart k3s server or agent to rotate certificates`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case "server":
      return server(args);
    case "agent":
      return agent(args);
    case "kubectl":
      return kubectl(args);
    case "certificate":
      return certificate(args);
    case "--version":
    case "-v":
      process.stdout.write(`k3s version ${VERSION} (${STANDIN})\ngo version go1.24.6\n`);
      return;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`k3s ${VERSION} (${STANDIN})\n\nUsage: k3s server|agent|kubectl [flags]\n`);
      return;
    default:
      process.stderr.write(`k3s: "${command}" is not supported by the ${STANDIN} (server, agent, kubectl, certificate rotate, --version)\n`);
      process.exit(1);
  }
}

main().catch((e) => fatal(e?.stack ?? String(e)));
