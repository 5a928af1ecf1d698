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
const DEFAULT_GRACE_MS = seconds(process.env.K3S_STANDIN_NODE_GRACE_SECONDS, 10) * 1000;

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

  let adminCert = read("client-admin.crt");
  let adminKey = read("client-admin.key");
  if (caCreated || !adminCert || !adminKey || !signedByCa(adminCert) || expiresSoon(adminCert)) {
    const kp = newKeyPair();
    adminCert = issue({
      subject: [{ name: "organizationName", value: "system:masters" }, { name: "commonName", value: "system:admin" }],
      issuerCert: forgeCaCert, issuerKey: forgeCaKey, publicKey: kp.publicKey, days: 365,
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", clientAuth: true },
      ],
    });
    adminKey = kp.pem;
    write("client-admin.key", adminKey, 0o600);
    write("client-admin.crt", adminCert);
    info("Wrote admin client certificate (system:admin, system:masters)");
  }
  return { caCert, servingCert, servingKey, adminCert, adminKey };
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
    if (!m || !["metadata.name", "spec.unschedulable"].includes(m[1])) throw new Error(`field label not supported: ${raw}`);
    return { key: m[1], neg: m[2] === "!=", value: m[3] };
  });
  return (obj) =>
    reqs.every((r) => {
      const v = r.key === "metadata.name" ? obj.metadata.name : String(!!obj.spec?.unschedulable);
      return r.neg ? v !== r.value : v === r.value;
    });
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
  });
  info(`Starting k3s ${VERSION} (${STANDIN})`);
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
  if (!disableAgent && !DNS1123_SUBDOMAIN.test(nodeName)) fatal(`invalid node name ${JSON.stringify(nodeName)}: must be a lowercase RFC 1123 subdomain`);
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
      if (agentOnly ? tokenMatches(t) : safeEqual(parseToken(t).password, password)) return { user: "token" };
    } else if (header.startsWith("Basic ")) {
      const [user, ...rest] = Buffer.from(header.slice(6), "base64").toString().split(":");
      if (agentOnly && ["node", "server"].includes(user) && tokenMatches(rest.join(":"))) return { user };
    }
    if (!agentOnly && req.socket.authorized) {
      const cert = req.socket.getPeerCertificate();
      if (cert?.subject?.CN) return { user: cert.subject.CN };
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

    if (!authenticate(req)) return send(res, 401, status(401, "Unauthorized", "Unauthorized"));

    if (["/livez", "/readyz", "/healthz"].includes(p)) {
      if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, method);
      if (url.searchParams.has("verbose")) {
        const name = p.slice(1);
        return send(res, 200, `[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-apiextensions-controllers ok\n${name} check passed\n`, "text/plain; charset=utf-8");
      }
      return send(res, 200, "ok", "text/plain; charset=utf-8");
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
    if (p === "/apis") return send(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [] });
    if (p === "/api/v1") {
      return send(res, 200, {
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace", verbs: ["get", "list"], shortNames: ["ns"] },
          { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["delete", "get", "list", "patch"], shortNames: ["no"] },
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
    { key: pki.servingKey, cert: pki.servingCert, ca: [pki.caCert], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      handle(req, res).catch((e) => {
        warn(`request ${req.method} ${req.url} failed: ${e.stack ?? e}`);
        if (!res.headersSent) send(res, 500, status(500, "InternalError", String(e.message ?? e)));
        else res.destroy();
      });
    },
  );
  httpsServer.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    httpsServer.once("error", reject);
    if (flags["bind-address"]) httpsServer.listen(port, flags["bind-address"], resolve);
    else httpsServer.listen(port, resolve);
  });
  info(`Running kube-apiserver (${STANDIN}) on https://${flags["bind-address"] || "0.0.0.0"}:${port}`);

  writeFileAtomic(kubeconfigPath, kubeconfigYaml(port, pki), kubeconfigMode);
  info(`Wrote kubeconfig ${kubeconfigPath}`);

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

  const registration = (ready) =>
    JSON.stringify({
      password: nodePassword,
      labels,
      taints,
      address: flags["node-ip"]?.[0] || firstIPv4(),
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
      method: "POST", headers: { Authorization: auth }, body: registration(true), ca, checkHostname: false,
    });
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
    if (ca && registeredUid) {
      await request(`${origin}/standin/v1/nodes/${encodeURIComponent(nodeName)}/heartbeat`, {
        method: "POST", headers: { Authorization: auth }, body: registration(false), ca, checkHostname: false, timeoutMs: 500,
      }).catch(() => undefined);
    }
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

function certificate(args) {
  const [sub, ...rest] = args;
  if (sub !== "rotate") {
    process.stderr.write(`k3s certificate: "${sub ?? ""}" is not supported by the ${STANDIN} (rotate)\n`);
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
