// The real backend: each managed cluster is a k3s server container (the control plane, no node of
// its own) on a network of its own, with its state on a named volume, and each agent-pool node is a
// k3s agent container named as the machine AKS would name. Everything goes through the Docker Engine
// API (dockerode); every container, volume and network carries floci.az.aks/* labels and the backend
// only ever touches objects labelled floci.az.aks/managed=true.
//
// Operations stay in progress until the API server answers /readyz (over TLS, trusting the CA of the
// kubeconfig k3s writes) and every expected node reports Ready, or fail with the reason when the
// readiness deadline passes. Per cluster the backend remembers (in a store setting, so it outlives a
// restart with a data folder) an 8-character instance id, the join token and the API server's host port.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { Writable } from "node:stream";
import Docker from "dockerode";
import { ArmError, errors } from "../../arm/errors.js";
import type { ResourceStore } from "../../store/store.js";
import type { Logger } from "../../util.js";
import type { ClusterBackend, ClusterHealth, ClusterRef, CommandOutput, CredentialKind, KnownCluster, PoolRef } from "../backend.js";
import { buildKubeconfig, kubeconfigNames } from "../kubeconfig.js";
import { clientCsrPem, newEcdsaCa, newRsaKeyPem, stillValid, tarOneFile } from "./k3s/x509.js";
import { firstFileOfTar, kubeRequest, nodeHeartbeats, parseK3sKubeconfig, type KubeConnection } from "./k3s/kubeapi.js";
import {
  API_PORT,
  agentCreateOptions,
  agentImage,
  isPoolRunning,
  isRemovableOrphan,
  K3S_DATA_DIR,
  K3S_KUBECONFIG,
  LABELS,
  networkCreateOptions,
  networkName,
  ownerLabels,
  poolNodeNames,
  serverCreateOptions,
  serverImage,
  serverName,
  volumeCreateOptions,
  volumeName,
  type InstanceSpec,
  type Owner,
} from "./k3s/spec.js";

export interface K3sBackendOptions {
  store: ResourceStore;
  logger: Logger;
  /** Default: new Docker() (DOCKER_HOST, else the local socket). */
  docker?: Docker;
  defaultImage: string;
  apiServerBasePort: number;
  apiServerMaxPort: number;
  /** Host users' kubeconfigs name (FLOCI_AZ_SERVICES_AKS_API_SERVER_HOST); default 127.0.0.1. */
  apiServerHost?: string;
  /** How the emulator reaches the API servers (FLOCI_AZ_SERVICES_AKS_API_SERVER_ACCESS); default auto. */
  apiServerAccess?: "auto" | "network" | "published";
  privileged: boolean;
  readyTimeoutSeconds: number;
  keepRunningOnShutdown: boolean;
  /** State outlives the process (a data folder): volumes stay when containers are removed at shutdown. */
  durable: boolean;
}

/** What the backend remembers per cluster. */
interface InstanceRecord {
  clusterId: string;
  instanceId: string;
  token: string;
  hostPort: number;
  /** The cluster network's subnet (a /24 of SUBNET_POOL); absent in records of older emulators until their next apply. */
  subnet?: string;
  /** Node name -> its fixed address in the subnet (the server holds .2). */
  addresses?: Record<string, string>;
  /** The user and monitoring client certificates the cluster's CSR API issued (see issuedCredential). */
  credentials?: Partial<Record<"user" | "monitoring", { certificatePem: string; keyPem: string }>>;
}

/** Cluster networks get /24s from 10.210.0.0/16 (clear of k3s's 10.42/16 pods and 10.43/16 services), skipping any subnet a Docker network already holds. */
const SUBNET_POOL = [10, 210] as const;
const ipToInt = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
function cidrRange(cidr: string): [number, number] | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const size = 2 ** (32 - Number(m[2]));
  const start = Math.floor(ipToInt(m[1]) / size) * size;
  return [start, start + size - 1];
}
const overlaps = (a: string, b: string) => {
  const [ra, rb] = [cidrRange(a), cidrRange(b)];
  return !!ra && !!rb && ra[0] <= rb[1] && rb[0] <= ra[1];
};
const subnetAddress = (subnet: string, host: number) => `${subnet.split(".").slice(0, 3).join(".")}.${host}`;
/** The hosts of a cluster's /24 an emulator in a container joins at (highest first); nodes get addresses below them. */
const EMULATOR_HOSTS = [254, 253, 252, 251, 250] as const;

/** Whether this process runs in a container (Docker writes /.dockerenv; cgroup v1 paths name the runtime). */
function runsInContainer(): boolean {
  if (existsSync("/.dockerenv")) return true;
  try {
    return /\/(docker|containerd|kubepods|libpod)[/-]/.test(readFileSync("/proc/1/cgroup", "utf8"));
  } catch {
    return false;
  }
}

/** This container's id: Docker bind-mounts /etc/hostname from /var/lib/docker/containers/<id>/; else the hostname (Docker's default is the short id). */
function ownContainerId(): string {
  for (const file of ["/proc/self/mountinfo", "/proc/self/cgroup"]) {
    try {
      const m = /containers\/([0-9a-f]{64})\//.exec(readFileSync(file, "utf8")) ?? /docker[-/]([0-9a-f]{64})/.exec(readFileSync(file, "utf8"));
      if (m) return m[1];
    } catch {
      /* not Linux, or not there */
    }
  }
  return hostname();
}

/** Store setting: normalised cluster id -> InstanceRecord (JSON). */
const INSTANCES_SETTING = "k3s.instances";
/** Store setting: this emulator's owner id (labels of what it creates). */
const OWNER_SETTING = "k3s.owner";
const POLL_MS = 500;
const STOP_TIMEOUT_S = 10;
/** How long RunCommand waits for its command (AKS's run-command pod has a time limit too). */
const RUN_COMMAND_TIMEOUT_MS = 10 * 60_000;
const MANAGED_FILTER = `${LABELS.managed}=true`;

/** User and monitoring client certificates: a year (k3s's signer caps them at its cluster-signing duration, a year by default). */
const CREDENTIAL_LIFETIME_S = 365 * 86_400;
/** The monitoring credential's read-only ClusterRole: read what monitoring reads (nodes included), never secrets. */
const MONITORING_ROLE = "aks-emulator:cluster-monitoring-user";
const MONITORING_RULES = [
  {
    apiGroups: [""],
    resources: ["nodes", "nodes/metrics", "nodes/stats", "pods", "pods/log", "services", "endpoints", "namespaces", "events", "configmaps", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas", "limitranges"],
    verbs: ["get", "list", "watch"],
  },
  { apiGroups: ["apps", "batch", "autoscaling", "policy", "networking.k8s.io", "metrics.k8s.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
  { nonResourceURLs: ["/metrics", "/healthz", "/livez", "/readyz", "/version"], verbs: ["get"] },
];
const isStatus = (error: unknown, status: number) => (error as { statusCode?: number })?.statusCode === status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors that mean the Docker engine itself does not answer (rather than refusing one request). */
function engineDown(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ECONNREFUSED" || code === "ENOENT" || code === "EACCES" || code === "EHOSTUNREACH" || code === "ETIMEDOUT" || code === "ECONNRESET";
}

function dockerMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e?.json?.message ?? e?.message ?? String(error);
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A Writable collecting what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

export class K3sBackend implements ClusterBackend {
  readonly kind = "k3s" as const;
  readonly docker: Docker;
  private readonly store: ResourceStore;
  private readonly logger: Logger;
  /** Whether the Docker engine answered the last ping; checkAvailable reads it (it must answer at once). */
  private available = false;
  private unavailableReason = "not checked yet";
  private pinging: Promise<void> | undefined;
  private lastPing = 0;
  /** Per-cluster (and "ports") chains: one piece of work at a time on a cluster. */
  private readonly locks = new Map<string, Promise<void>>();
  private readonly pulls = new Map<string, Promise<void>>();
  private closed = false;
  /** Who creates the objects: kept in the store, so a restart on the same data folder is the same owner. */
  private readonly owner: Owner;
  /** The emulator's own container when it reaches API servers over their networks (API_SERVER_ACCESS), else undefined. */
  private selfContainer: string | undefined;

  constructor(private readonly options: K3sBackendOptions) {
    this.docker = options.docker ?? new Docker();
    this.store = options.store;
    this.logger = options.logger;
    let ownerId = this.store.getSetting(OWNER_SETTING);
    if (!ownerId) {
      ownerId = randomBytes(8).toString("hex");
      this.store.putSetting(OWNER_SETTING, ownerId);
    }
    this.owner = { id: ownerId, host: hostname(), pid: process.pid };
    const access = options.apiServerAccess ?? "auto";
    this.selfContainer = access === "network" || (access === "auto" && runsInContainer()) ? ownContainerId() : undefined;
  }

  private get apiServerHost(): string {
    return this.options.apiServerHost || "127.0.0.1";
  }

  /** Owner labels go on after the spec digest: a restarted emulator (a new pid) keeps the containers. */
  private owned<T extends { Labels?: Record<string, string> }>(options: T): T {
    return { ...options, Labels: { ...options.Labels, ...ownerLabels(this.owner) } };
  }

  // ---- availability --------------------------------------------------------------------------------

  /** Pings the engine (up to 1.5 s); call once before use. */
  async init(): Promise<void> {
    await this.ping();
    if (this.selfContainer && this.available) {
      // Auto-detected: only a container of this very engine can join the clusters' networks (a
      // machine that is itself a container, talking to another engine, dials the published ports).
      const id = this.selfContainer;
      const mine = await this.docker.getContainer(id).inspect().then((info) => info.Id, () => undefined);
      if (mine) this.logger.info(`k3s: the emulator runs in container ${mine.slice(0, 12)}: it reaches API servers over their cluster networks`);
      else if ((this.options.apiServerAccess ?? "auto") === "auto") this.selfContainer = undefined;
      else this.logger.warn(`k3s: FLOCI_AZ_SERVICES_AKS_API_SERVER_ACCESS=network, but container ${id} is not on this Docker engine`);
      if (mine) this.selfContainer = mine;
    }
  }

  private ping(): Promise<void> {
    this.pinging ??= (async () => {
      this.lastPing = Date.now();
      try {
        await Promise.race([
          this.docker.ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 1.5 s")), 1500).unref()),
        ]);
        if (!this.available) this.logger.info("k3s: the Docker engine answers");
        this.available = true;
      } catch (error) {
        this.markUnavailable((error as Error).message);
      } finally {
        this.pinging = undefined;
      }
    })();
    return this.pinging;
  }

  private markUnavailable(reason: string): void {
    if (this.available) this.logger.warn(`k3s: the Docker engine does not answer: ${reason}`);
    this.available = false;
    this.unavailableReason = reason;
  }

  checkAvailable(): void {
    if (this.available) return;
    // Look again in the background, so a request after Docker came back is taken.
    if (Date.now() - this.lastPing > 1000) void this.ping();
    throw errors.realModeUnavailable(this.unavailableReason);
  }

  // ---- the port --------------------------------------------------------------------------------------

  applyCluster(cluster: ClusterRef, pools: PoolRef[]): Promise<void> {
    return this.clusterWork(cluster, "apply", async () => {
      const record = await this.instanceFor(cluster);
      const spec = this.spec(record);
      await this.ensureImages([serverImage(spec, cluster), ...pools.filter(isPoolRunning).map((p) => agentImage(spec, cluster, p))]);
      const deadline = this.deadline();
      await this.ensureServer(record, cluster);
      const conn = await this.waitForApi(record, cluster, deadline);
      const wanted = new Set(pools.map((p) => p.name.toLowerCase()));
      const existing = await this.containers(record.instanceId);
      const stray = existing.filter((c) => c.Labels[LABELS.role] === "agent" && !wanted.has((c.Labels[LABELS.pool] ?? "").toLowerCase()));
      await Promise.all(stray.map((c) => this.removeAgent(conn, c)));
      await Promise.all(pools.map((pool) => this.ensureAgents(record, cluster, pool, conn, existing)));
      await this.waitForNodes(conn, record, cluster, pools, deadline);
    });
  }

  applyAgentPool(cluster: ClusterRef, pool: PoolRef): Promise<void> {
    return this.clusterWork(cluster, "apply pool", async () => {
      const record = await this.instanceFor(cluster);
      const spec = this.spec(record);
      await this.ensureImages([serverImage(spec, cluster), ...(isPoolRunning(pool) ? [agentImage(spec, cluster, pool)] : [])]);
      const deadline = this.deadline();
      await this.ensureServer(record, cluster);
      const conn = await this.waitForApi(record, cluster, deadline);
      await this.ensureAgents(record, cluster, pool, conn, await this.containers(record.instanceId));
      await this.waitForNodes(conn, record, cluster, [pool], deadline);
    });
  }

  deleteAgentPool(cluster: ClusterRef, poolName: string): Promise<void> {
    return this.clusterWork(cluster, "delete pool", async () => {
      const record = this.record(cluster.id);
      if (!record) return;
      const agents = (await this.containers(record.instanceId)).filter(
        (c) => c.Labels[LABELS.role] === "agent" && (c.Labels[LABELS.pool] ?? "").toLowerCase() === poolName.toLowerCase(),
      );
      const conn = await this.connection(record).catch(() => undefined);
      await Promise.all(agents.map((c) => this.removeAgent(conn, c)));
    });
  }

  deleteCluster(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "delete", async () => {
      const record = this.record(cluster.id);
      if (!record) return;
      await this.destroyInstance(record.instanceId, true);
      this.forget(cluster.id);
    });
  }

  stopCluster(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "stop", async () => {
      const record = this.record(cluster.id);
      if (!record) return;
      await this.stopInstance(record.instanceId);
    });
  }

  /** Every pool starts with the cluster (the engine's pools still read Stopped from the cluster's stop). */
  startCluster(cluster: ClusterRef, pools: PoolRef[]): Promise<void> {
    return this.applyCluster(cluster, pools.map((pool) => ({ ...pool, powerState: "Running" })));
  }

  /**
   * k3s's ways (https://docs.k3s.io/cli/certificate), as AKS replaces the client certificates and the
   * CA that signs them:
   * 1. A new client CA: with the server running, a new ECDSA P-256 client-ca.crt/.key staged in a
   *    folder of its own (k3s: never write into the in-use server/tls), loaded with `k3s certificate
   *    rotate-ca --path=... --force` (k3s checks the files and saves them to its datastore; --force
   *    because the new CA is not cross-signed by the old one, so certificates the old CA issued, the
   *    user and monitoring ones included, stop authenticating: 401).
   * 2. With the server stopped, `k3s certificate rotate` on its volume (new serving and admin
   *    certificates), then the server starts: k3s loads the new CA from its datastore and issues its
   *    client certificates, k3s.yaml's admin one included, from it.
   * 3. The agents restart (servers first, then agents, as the docs say): their kubelet client
   *    certificates come from the new CA. The cached user and monitoring credentials are dropped; the
   *    next List*Credential issues new ones.
   * An image without the commands keeps its certificates; the operation still succeeds (logged).
   */
  rotateCertificates(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "rotate certificates", async () => {
      const record = this.requireRecord(cluster);
      await this.waitForApi(record, cluster, this.deadline());
      const ca = newEcdsaCa(`k3s-client-ca@${Math.floor(Date.now() / 1000)}`);
      const rotated = await this.rotateCa(record, cluster, { "client-ca.crt": ca.certPem, "client-ca.key": ca.keyPem }, true);
      this.saveCredentials(cluster.id, undefined);
      const server = this.docker.getContainer(serverName(record.instanceId));
      await server.stop({ t: STOP_TIMEOUT_S }).catch((error) => {
        if (!isStatus(error, 304)) throw error;
      });
      const { exitCode, output } = await this.runTask(record, cluster, serverImage(this.spec(record), cluster), ["certificate", "rotate"]);
      if (exitCode === 0) this.logger.info(`k3s: ${cluster.name}: certificates rotated`);
      else this.logger.warn(`k3s: ${cluster.name}: 'k3s certificate rotate' exited ${exitCode}; the cluster keeps its certificates. ${output.trim().slice(-500)}`);
      const deadline = this.deadline();
      await this.ensureServer(record, cluster);
      await this.waitForApi(record, cluster, deadline);
      if (rotated) await this.restartAgents(record);
    });
  }

  /**
   * k3s's service-account issuer key rotation (https://docs.k3s.io/cli/certificate, "Service-Account
   * Issuer Key Rotation"), with the server running:
   * 1. a new RSA 2048 key (PKCS#1, what `openssl genrsa -traditional` writes) staged as
   *    <staging>/tls/service.key, outside the in-use server/tls;
   * 2. the current server/tls/service.key appended to it: k3s signs new tokens with the first key of
   *    the file and verifies tokens against every key in it, so tokens signed before stay valid (AKS
   *    also keeps the old key for a while);
   * 3. `k3s certificate rotate-ca --path=<staging>`: k3s checks the file and saves it to its datastore
   *    (its warnings that the CA files were not updated are expected);
   * 4. the server restarts (k3s writes the key from its datastore to server/tls at start); agents and
   *    pods need no restart.
   */
  rotateServiceAccountSigningKeys(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "rotate signing keys", async () => {
      const record = this.requireRecord(cluster);
      await this.waitForApi(record, cluster, this.deadline());
      if (!(await this.rotateCa(record, cluster, { "service.key": newRsaKeyPem() }, false, `${K3S_DATA_DIR}/server/tls/service.key`))) return;
      await this.docker.getContainer(serverName(record.instanceId)).restart({ t: STOP_TIMEOUT_S });
      await this.waitForApi(record, cluster, this.deadline());
      this.logger.info(`k3s: ${cluster.name}: service-account issuer key rotated (the old key still verifies tokens)`);
    });
  }

  /**
   * `k3s certificate rotate-ca` in the running server: the files go to a staging folder on the volume
   * (its tls/ subfolder, as the command reads it), `appendTo` (a file in the container) is appended to
   * service.key, the command runs, the staging folder is removed. False (logged) when the command
   * fails, say an image without it: the cluster keeps what it had.
   */
  private async rotateCa(record: InstanceRecord, cluster: ClusterRef, files: Record<string, string>, force: boolean, appendServiceKeyFrom?: string): Promise<boolean> {
    const staging = `${K3S_DATA_DIR}/server/rotate-ca-aks-emulator`;
    const container = this.docker.getContainer(serverName(record.instanceId));
    const prepared = await this.execInServer(record, ["sh", "-c", `rm -rf '${staging}' && mkdir -p '${staging}/tls'`]);
    if (prepared.exitCode !== 0) throw new Error(`could not prepare ${staging}: ${prepared.output.trim()}`);
    for (const [name, content] of Object.entries(files)) {
      await container.putArchive(tarOneFile(name, content, name.endsWith(".key") ? 0o600 : 0o644), { path: `${staging}/tls` });
    }
    const append = appendServiceKeyFrom ? `cat '${appendServiceKeyFrom}' >> '${staging}/tls/service.key' && ` : "";
    const result = await this.execInServer(record, ["sh", "-c", `${append}k3s certificate rotate-ca --path='${staging}'${force ? " --force" : ""}; code=$?; rm -rf '${staging}'; exit $code`]);
    if (result.exitCode === 0) {
      this.logger.info(`k3s: ${cluster.name}: 'k3s certificate rotate-ca' loaded ${Object.keys(files).join(", ")}`);
      return true;
    }
    this.logger.warn(`k3s: ${cluster.name}: 'k3s certificate rotate-ca' exited ${result.exitCode}; nothing was rotated. ${result.output.trim().slice(-500)}`);
    return false;
  }

  /** A command in the server container (up to 2 minutes). */
  private async execInServer(record: InstanceRecord, cmd: string[]): Promise<{ exitCode: number; output: string }> {
    const exec = await this.docker.getContainer(serverName(record.instanceId)).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = sink();
    this.docker.modem.demuxStream(stream, out.stream, out.stream);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
      }),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 120_000))),
    ]).finally(() => clearTimeout(timer));
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: out.text() };
  }

  /** Restarts the running agents (after a client CA rotation their kubelet certificates are reissued). */
  private async restartAgents(record: InstanceRecord): Promise<void> {
    const agents = (await this.containers(record.instanceId)).filter((c) => c.Labels[LABELS.role] === "agent" && c.State === "running");
    await Promise.all(agents.map((c) => this.docker.getContainer(c.Id).restart({ t: STOP_TIMEOUT_S }).catch((e) => this.ignoreMissing(e))));
  }

  /** kubectl (or any shell command) inside the server container, where k3s's kubectl finds its admin kubeconfig. */
  async runCommand(cluster: ClusterRef, command: string, context?: string): Promise<CommandOutput> {
    this.checkAvailable();
    const record = this.requireRecord(cluster);
    if (context) this.logger.info(`k3s: ${cluster.name}: run command: the attached context (files) is not unpacked in real mode`);
    return this.translateErrors(cluster, "run command", async () => {
      const container = this.docker.getContainer(serverName(record.instanceId));
      const exec = await container.exec({
        Cmd: ["sh", "-c", command],
        Env: [`KUBECONFIG=${K3S_KUBECONFIG}`],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const out = sink();
      this.docker.modem.demuxStream(stream, out.stream, out.stream);
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        new Promise<boolean>((resolve, reject) => {
          stream.on("end", () => resolve(true));
          stream.on("close", () => resolve(true));
          stream.on("error", reject);
        }),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), RUN_COMMAND_TIMEOUT_MS))),
      ]).finally(() => clearTimeout(timer));
      if (!finished) {
        stream.destroy();
        return { exitCode: 124, logs: `${out.text()}\n(the command did not end within ${RUN_COMMAND_TIMEOUT_MS / 60_000} minutes; it was stopped waiting for)` };
      }
      const { ExitCode } = await exec.inspect();
      return { exitCode: ExitCode ?? 0, logs: out.text() };
    });
  }

  /**
   * A kubeconfig pointed at the published port, named as AKS names it, trusting the server CA of
   * k3s.yaml. admin: k3s's admin client certificate (system:admin, group system:masters). user and
   * monitoring: certificates of their own from the cluster's CSR API (issuedCredential).
   */
  async kubeconfig(cluster: ClusterRef, kind: CredentialKind): Promise<string> {
    this.checkAvailable();
    const record = this.requireRecord(cluster);
    return this.translateErrors(cluster, "kubeconfig", async () => {
      // Just after a start (or while a re-adoption recreates the server) k3s may not have written it
      // yet: wait a little, as long as work runs on the cluster or its server runs.
      const serverRuns = () => this.docker.getContainer(serverName(record.instanceId)).inspect().then((i) => i.State.Running, () => false);
      const worthWaiting = async () => this.locks.has(lockKey(cluster.id)) || (await serverRuns());
      let yaml = await this.readK3sYaml(record.instanceId);
      for (const until = Date.now() + Math.min(30_000, this.options.readyTimeoutSeconds * 1000); !yaml && Date.now() < until && (await worthWaiting()); ) {
        await sleep(POLL_MS);
        yaml = await this.readK3sYaml(record.instanceId);
      }
      if (!yaml) {
        throw errors.credentialsNotReady(cluster.name, serverName(record.instanceId));
      }
      const credentials = parseK3sKubeconfig(yaml);
      const user =
        kind === "admin"
          ? { clientCertificatePem: credentials.clientCertificatePem, clientKeyPem: credentials.clientKeyPem }
          : await this.issuedCredential(record, cluster, kind, { port: record.hostPort, ...credentials });
      return buildKubeconfig({
        cluster,
        kind,
        server: `https://${this.apiServerHost.includes(":") ? `[${this.apiServerHost}]` : this.apiServerHost}:${record.hostPort}`,
        caPem: credentials.caPem,
        user,
      });
    });
  }

  // ---- user and monitoring credentials ---------------------------------------------------------------

  /**
   * The user or monitoring client certificate, issued once and kept in the instance record until the
   * client CA changes (RotateClusterCertificates) or it nears its end. Issued through the Kubernetes
   * CSR API with the admin identity: a new RSA key and a CSR whose CN is the AKS user name
   * (clusterUser_{rg}_{name}, clusterMonitoringUser_{rg}_{name}) and no organization (the
   * kubernetes.io/kube-apiserver-client signer refuses O=system:masters); the CSR is posted, approved
   * through its /approval subresource and read back once k3s's signer (its client CA) has signed it.
   * A ClusterRoleBinding gives the user cluster-admin (AKS without Entra ID: the user credential is an
   * administrator's) and the monitoring user a read-only ClusterRole.
   */
  private issuedCredential(record: InstanceRecord, cluster: ClusterRef, kind: "user" | "monitoring", admin: KubeConnection): Promise<{ clientCertificatePem: string; clientKeyPem: string }> {
    return this.exclusive(`credential:${cluster.id.toLowerCase()}:${kind}`, async () => {
      const cached = this.record(cluster.id)?.credentials?.[kind];
      const commonName = `${kubeconfigNames[kind]}_${cluster.resourceGroup}_${cluster.name}`;
      await this.ensureCredentialRbac(admin, kind, commonName);
      if (cached && stillValid(cached.certificatePem, admin.clientCertificatePem)) return { clientCertificatePem: cached.certificatePem, clientKeyPem: cached.keyPem };
      const keyPem = newRsaKeyPem();
      const name = `aks-emulator-${kind}-${randomBytes(4).toString("hex")}`;
      const created = await kubeRequest(admin, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { name },
        spec: {
          request: Buffer.from(clientCsrPem(keyPem, commonName)).toString("base64"),
          signerName: "kubernetes.io/kube-apiserver-client",
          usages: ["digital signature", "key encipherment", "client auth"],
          expirationSeconds: CREDENTIAL_LIFETIME_S,
        },
      });
      if (created.status !== 201) throw new Error(`creating the certificate signing request ${name}: HTTP ${created.status} ${created.text.slice(0, 300)}`);
      try {
        const approval = await kubeRequest(admin, "PUT", `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}/approval`, {
          ...created.body,
          status: { conditions: [{ type: "Approved", status: "True", reason: "AKSEmulatorApproved", message: `${kubeconfigNames[kind]} credential of ${cluster.name}` }] },
        });
        if (approval.status !== 200) throw new Error(`approving the certificate signing request ${name}: HTTP ${approval.status} ${approval.text.slice(0, 300)}`);
        let certificatePem = "";
        for (const until = Date.now() + 30_000; !certificatePem; await sleep(POLL_MS)) {
          const current = await kubeRequest(admin, "GET", `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`);
          const failed = (current.body?.status?.conditions ?? []).find((c: any) => c.type === "Failed" && c.status === "True");
          if (failed) throw new Error(`the signer refused the certificate signing request ${name}: ${failed.reason}: ${failed.message}`);
          if (current.body?.status?.certificate) certificatePem = Buffer.from(current.body.status.certificate, "base64").toString("utf8");
          else if (Date.now() > until) throw new Error(`the certificate signing request ${name} was approved but not signed within 30 s (is k3s's signer running?)`);
        }
        this.saveCredentials(cluster.id, { ...this.record(cluster.id)?.credentials, [kind]: { certificatePem, keyPem } });
        this.logger.info(`k3s: ${cluster.name}: issued the ${kind} credential (CN ${commonName}) through the CSR API`);
        return { clientCertificatePem: certificatePem, clientKeyPem: keyPem };
      } finally {
        // Issued (or failed): the request has served (kube-controller-manager would clean it up after an hour).
        await kubeRequest(admin, "DELETE", `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`).catch(() => undefined);
      }
    });
  }

  /** Create-or-replace (PUT: RBAC objects may be created by an update) the ClusterRole and ClusterRoleBinding of a credential. */
  private async ensureCredentialRbac(admin: KubeConnection, kind: "user" | "monitoring", commonName: string): Promise<void> {
    const put = async (plural: string, object: { metadata: { name: string } }) => {
      const path = `/apis/rbac.authorization.k8s.io/v1/${plural}/${encodeURIComponent(object.metadata.name)}`;
      let response = await kubeRequest(admin, "PUT", path, object);
      if (response.status === 404) response = await kubeRequest(admin, "POST", `/apis/rbac.authorization.k8s.io/v1/${plural}`, object);
      if (response.status === 422 && /roleRef/.test(response.text)) {
        await kubeRequest(admin, "DELETE", path); // a binding's roleRef cannot change: replace it
        response = await kubeRequest(admin, "POST", `/apis/rbac.authorization.k8s.io/v1/${plural}`, object);
      }
      if (response.status >= 300) throw new Error(`writing ${plural}/${object.metadata.name}: HTTP ${response.status} ${response.text.slice(0, 300)}`);
    };
    const labels = { "app.kubernetes.io/managed-by": "aks-emulator" };
    const role = kind === "user" ? "cluster-admin" : MONITORING_ROLE;
    if (kind === "monitoring") {
      await put("clusterroles", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: MONITORING_ROLE, labels }, rules: MONITORING_RULES } as any);
    }
    await put("clusterrolebindings", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `aks-emulator:${kubeconfigNames[kind]}`, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: commonName }],
    } as any);
  }

  private saveCredentials(clusterId: string, credentials: InstanceRecord["credentials"]): void {
    const records = this.records();
    const record = records[clusterId.toLowerCase()];
    if (!record) return;
    if (credentials) record.credentials = credentials;
    else delete record.credentials;
    this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
  }

  // ---- start, health, shutdown ---------------------------------------------------------------------

  /**
   * Clusters the store knows keep their containers (started again, in the background, when they
   * should run; stopped when they should not); containers, volumes and networks labelled by this
   * emulator that belong to no known cluster are removed.
   */
  async reconcile(lookup: (clusterId: string) => KnownCluster | undefined): Promise<void> {
    if (!this.available) {
      this.logger.warn(`k3s: not reconciling containers at start: the Docker engine does not answer (${this.unavailableReason})`);
      return;
    }
    const known = new Set<string>();
    for (const record of Object.values(this.records())) {
      const cluster = lookup(record.clusterId);
      if (!cluster) {
        this.logger.info(`k3s: removing instance ${record.instanceId}: its cluster ${record.clusterId} is no longer in the store`);
        await this.destroyInstance(record.instanceId, true);
        this.forget(record.clusterId);
        continue;
      }
      known.add(record.instanceId);
      if (cluster.running) {
        this.logger.info(`k3s: re-adopting ${cluster.cluster.name} (instance ${record.instanceId})`);
        this.applyCluster(cluster.cluster, cluster.pools).then(
          () => this.logger.info(`k3s: ${cluster.cluster.name} is running`),
          (error: Error) => this.logger.warn(`k3s: ${cluster.cluster.name} could not be brought back: ${error.message}`),
        );
      } else {
        await this.stopInstance(record.instanceId);
      }
    }
    let foreign = 0;
    const orphan = (labels: Record<string, string> | undefined | null) => {
      if (known.has(labels?.[LABELS.instance] ?? "")) return false;
      if (isRemovableOrphan(labels ?? undefined, this.owner, processRuns)) return true;
      foreign++;
      return false;
    };
    const containers = (await this.docker.listContainers({ all: true, filters: { label: [MANAGED_FILTER] } })).filter((c) => orphan(c.Labels));
    const volumes = ((await this.docker.listVolumes({ filters: { label: [MANAGED_FILTER] } })).Volumes ?? []).filter((v) => orphan(v.Labels));
    const networks = (await this.docker.listNetworks({ filters: { label: [MANAGED_FILTER] } })).filter((n) => orphan(n.Labels));
    if (containers.length + volumes.length + networks.length) {
      this.logger.info(`k3s: removing what no known cluster owns: ${containers.length} container(s), ${volumes.length} volume(s), ${networks.length} network(s)`);
    }
    if (foreign) this.logger.info(`k3s: leaving ${foreign} labelled object(s) of another running emulator alone`);
    for (const c of containers) await this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch((e) => this.ignoreMissing(e));
    for (const n of networks) {
      await this.leaveNetwork(n.Id);
      await this.docker.getNetwork(n.Id).remove().catch((e) => this.ignoreMissing(e));
    }
    for (const v of volumes) await this.docker.getVolume(v.Name).remove().catch((e) => this.ignoreMissing(e));
  }

  trackedClusters(): string[] {
    return Object.values(this.records()).map((r) => r.clusterId);
  }

  /** The server and every node of the running pools must exist and run; undefined while work runs on the cluster. */
  async checkHealth(cluster: ClusterRef, pools: PoolRef[]): Promise<ClusterHealth | undefined> {
    const record = this.record(cluster.id);
    if (!record || !this.available || this.closed || this.locks.has(lockKey(cluster.id))) return undefined;
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.containers(record.instanceId);
    } catch (error) {
      if (engineDown(error)) this.markUnavailable(dockerMessage(error));
      return undefined;
    }
    if (this.locks.has(lockKey(cluster.id))) return undefined;
    const problems: string[] = [];
    const failedPools: string[] = [];
    const describe = (name: string, c: Docker.ContainerInfo | undefined) => (c ? `is ${c.State} (${c.Status})` : "is missing");
    const server = containers.find((c) => c.Labels[LABELS.role] === "server");
    if (server?.State !== "running") problems.push(`The API server container ${serverName(record.instanceId)} ${describe(serverName(record.instanceId), server)}.`);
    for (const pool of pools.filter(isPoolRunning)) {
      for (const node of poolNodeNames(cluster, pool)) {
        const agent = containers.find((c) => c.Labels[LABELS.role] === "agent" && c.Labels[LABELS.node] === node);
        if (agent?.State === "running") continue;
        problems.push(`Node ${node} of agent pool '${pool.name}' (container floci-az-aks-${record.instanceId}-${node}) ${describe(node, agent)}.`);
        if (!failedPools.includes(pool.name)) failedPools.push(pool.name);
      }
    }
    return { problems, failedPools };
  }

  /** At shutdown: removes this emulator's containers (and, when state is not kept, volumes) unless told to keep them running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Work still running (a re-adoption, an operation) ends first, or it would create containers anew.
    await Promise.race([Promise.allSettled([...this.locks.values()]), sleep(2_000)]);
    const records = Object.values(this.records());
    if (!this.available || records.length === 0) return;
    if (this.options.keepRunningOnShutdown) {
      this.logger.info(`k3s: leaving the containers of ${records.length} cluster(s) running (FLOCI_AZ_SERVICES_AKS_KEEP_RUNNING_ON_SHUTDOWN=true)`);
      return;
    }
    this.logger.info(`k3s: removing the containers of ${records.length} cluster(s)${this.options.durable ? " (their volumes stay for the next start)" : ""}`);
    await Promise.all(
      records.map(async (record) => {
        try {
          await this.destroyInstance(record.instanceId, !this.options.durable);
          if (!this.options.durable) this.forget(record.clusterId);
        } catch (error) {
          this.logger.warn(`k3s: could not remove instance ${record.instanceId}: ${dockerMessage(error)}`);
        }
      }),
    );
  }

  // ---- work, locks, errors -------------------------------------------------------------------------

  /** One piece of work on a cluster at a time; Docker's own errors become ARM errors that say what failed. */
  private clusterWork<T>(cluster: ClusterRef, what: string, work: () => Promise<T>): Promise<T> {
    return this.exclusive(lockKey(cluster.id), async () => {
      await this.haltIfClosed();
      return this.translateErrors(cluster, what, work);
    });
  }

  /**
   * Once the emulator stops, work halts where it is and never settles: its operation stays
   * InProgress in the store, as after a crash, and the next start carries it to its end (recovery).
   * Shutdown then need not wait for a readiness deadline, and nothing is created after close().
   */
  private async haltIfClosed(): Promise<void> {
    if (this.closed) await new Promise<never>(() => {});
  }

  private async translateErrors<T>(cluster: ClusterRef, what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ArmError) throw error;
      if (engineDown(error)) {
        this.markUnavailable(dockerMessage(error));
        throw errors.dockerStopped(cluster.name, what, dockerMessage(error));
      }
      throw errors.dockerOperationFailed(cluster.name, what, dockerMessage(error));
    }
  }

  private async exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.locks.set(key, mine);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(key) === mine) this.locks.delete(key);
    }
  }

  private deadline(): number {
    return Date.now() + this.options.readyTimeoutSeconds * 1000;
  }

  private ignoreMissing(error: unknown): void {
    if (!isStatus(error, 404) && !isStatus(error, 304)) throw error;
  }

  // ---- what the backend remembers ------------------------------------------------------------------

  private records(): Record<string, InstanceRecord> {
    const text = this.store.getSetting(INSTANCES_SETTING);
    return text ? (JSON.parse(text) as Record<string, InstanceRecord>) : {};
  }

  private record(clusterId: string): InstanceRecord | undefined {
    return this.records()[clusterId.toLowerCase()];
  }

  private requireRecord(cluster: ClusterRef): InstanceRecord {
    const record = this.record(cluster.id);
    if (!record) throw errors.containersNotCreated(cluster.name);
    return record;
  }

  private forget(clusterId: string): void {
    const records = this.records();
    delete records[clusterId.toLowerCase()];
    this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
  }

  private spec(record: InstanceRecord): InstanceSpec {
    return {
      instanceId: record.instanceId,
      token: record.token,
      hostPort: record.hostPort,
      defaultImage: this.options.defaultImage,
      privileged: this.options.privileged,
      ...(record.subnet ? { subnet: record.subnet, serverIp: subnetAddress(record.subnet, 2) } : {}),
      ...(this.options.apiServerHost && this.options.apiServerHost !== "127.0.0.1" ? { apiServerHost: this.options.apiServerHost } : {}),
    };
  }

  /** Changes the cluster's record (under the "ports" lock: records are one store setting). */
  private updateRecord(clusterId: string, change: (record: InstanceRecord) => InstanceRecord): Promise<InstanceRecord | undefined> {
    return this.exclusive("ports", async () => {
      const records = this.records();
      const current = records[clusterId.toLowerCase()];
      if (!current) return undefined;
      const updated = change({ ...current, addresses: { ...current.addresses } });
      records[clusterId.toLowerCase()] = updated;
      this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
      return updated;
    });
  }

  /** A /24 of SUBNET_POOL that no record and no Docker network holds. */
  private async freeSubnet(): Promise<string> {
    const taken: string[] = Object.values(this.records()).flatMap((r) => (r.subnet ? [r.subnet] : []));
    for (const network of await this.docker.listNetworks()) for (const config of network.IPAM?.Config ?? []) if (config.Subnet) taken.push(config.Subnet);
    for (let third = 0; third < 256; third++) {
      const candidate = `${SUBNET_POOL[0]}.${SUBNET_POOL[1]}.${third}.0/24`;
      if (!taken.some((t) => overlaps(t, candidate))) return candidate;
    }
    throw new Error(`no free /24 left in ${SUBNET_POOL.join(".")}.0.0/16 for a cluster network`);
  }

  /**
   * The node's fixed address, allocated (lowest free, from .3: .1 is the gateway, .2 the server, .250
   * to .254 are kept for an emulator in a container: EMULATOR_HOSTS) and stored the first time.
   */
  private async nodeAddress(record: InstanceRecord, node: string): Promise<string | undefined> {
    if (!record.subnet) return undefined;
    const updated = await this.updateRecord(record.clusterId, (r) => {
      if (r.addresses![node]) return r;
      const used = new Set(Object.values(r.addresses!));
      for (let host = 3; host < EMULATOR_HOSTS[EMULATOR_HOSTS.length - 1]; host++) {
        const ip = subnetAddress(r.subnet!, host);
        if (!used.has(ip)) return { ...r, addresses: { ...r.addresses, [node]: ip } };
      }
      throw new Error(`no free address left in ${r.subnet}`);
    });
    return updated?.addresses?.[node];
  }

  private async releaseAddress(instanceId: string, node: string): Promise<void> {
    const record = Object.values(this.records()).find((r) => r.instanceId === instanceId);
    if (record?.addresses?.[node]) {
      await this.updateRecord(record.clusterId, (r) => {
        delete r.addresses![node];
        return r;
      });
    }
  }

  /** The cluster's record, made (with a new instance id, token and host port) the first time. */
  private instanceFor(cluster: ClusterRef): Promise<InstanceRecord> {
    return this.exclusive("ports", async () => {
      const existing = this.record(cluster.id);
      if (existing?.subnet) return existing;
      if (existing) {
        // A record of an older emulator: its network gets a subnet of ours when next created (ensureNetwork).
        const records = this.records();
        const updated = { ...existing, subnet: await this.freeSubnet(), addresses: {} };
        records[cluster.id.toLowerCase()] = updated;
        this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
        return updated;
      }
      const records = this.records();
      const ids = new Set(Object.values(records).map((r) => r.instanceId));
      let instanceId: string;
      do instanceId = randomBytes(4).toString("hex");
      while (ids.has(instanceId));
      const record: InstanceRecord = { clusterId: cluster.id, instanceId, token: randomBytes(24).toString("hex"), hostPort: await this.freePort(), subnet: await this.freeSubnet(), addresses: {} };
      records[cluster.id.toLowerCase()] = record;
      this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
      this.logger.info(`k3s: ${cluster.name}: instance ${instanceId}, network ${record.subnet}, API server on ${this.apiServerHost}:${record.hostPort}`);
      return record;
    });
  }

  /** The lowest port of the range no recorded cluster holds, no container publishes and nothing listens on. */
  private async freePort(exclude: number[] = []): Promise<number> {
    const { apiServerBasePort: base, apiServerMaxPort: max } = this.options;
    const taken = new Set<number>(exclude);
    for (const record of Object.values(this.records())) taken.add(record.hostPort);
    for (const container of await this.docker.listContainers({ all: true })) {
      for (const port of container.Ports ?? []) if (port.PublicPort) taken.add(port.PublicPort);
    }
    for (let port = base; port <= max; port++) {
      if (!taken.has(port) && (await portIsFree(port))) return port;
    }
    throw errors.apiServerPortsExhausted(base, max);
  }

  private async reassignPort(record: InstanceRecord): Promise<InstanceRecord> {
    return this.exclusive("ports", async () => {
      const records = this.records();
      const updated = { ...record, hostPort: await this.freePort([record.hostPort]) };
      records[record.clusterId.toLowerCase()] = updated;
      this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
      return updated;
    });
  }

  // ---- Docker objects ------------------------------------------------------------------------------

  private containers(instanceId: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [MANAGED_FILTER, `${LABELS.instance}=${instanceId}`] } });
  }

  private async ensureImages(images: string[]): Promise<void> {
    for (const image of new Set(images)) await this.ensureImage(image);
  }

  /** Present locally, or pulled (one pull per image at a time, progress in the log). */
  private async ensureImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    let pull = this.pulls.get(image);
    if (!pull) {
      pull = this.pull(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    await pull;
  }

  private async pull(image: string): Promise<void> {
    this.logger.info(`k3s: image ${image} is not present locally; pulling it`);
    let lastLine = "";
    let lastProgress = 0;
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null, output: { error?: string }[]) => {
            const failed = error?.message ?? output?.find((event) => event.error)?.error;
            if (failed) reject(new Error(failed));
            else resolve();
          },
          (event: { status?: string; id?: string; progress?: string; error?: string }) => {
            if (!event.status) return;
            const progressing = event.status === "Downloading" || event.status === "Extracting";
            const line = `${event.id ? `${event.id}: ` : ""}${event.status}${progressing && event.progress ? ` ${event.progress}` : ""}`;
            if (progressing && Date.now() - lastProgress < 5000) return;
            if (progressing) lastProgress = Date.now();
            if (line !== lastLine) this.logger.info(`k3s: pull ${image}: ${line}`);
            lastLine = line;
          },
        );
      });
    } catch (error) {
      if (engineDown(error)) throw error;
      throw errors.imagePullFailed(image, dockerMessage(error));
    }
    this.logger.info(`k3s: pulled ${image}`);
  }

  private async ensureNetwork(record: InstanceRecord, cluster: ClusterRef): Promise<void> {
    const network = this.docker.getNetwork(networkName(record.instanceId));
    let current: Docker.NetworkInspectInfo | undefined;
    try {
      current = await network.inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    if (current && record.subnet && !(current.IPAM?.Config ?? []).some((c) => c.Subnet === record.subnet)) {
      // Made by an older emulator without a subnet of its own: fixed addresses need one. Its
      // containers go too (their options change with the fixed addresses anyway; the volume stays).
      this.logger.info(`k3s: ${cluster.name}: recreating network ${networkName(record.instanceId)} with subnet ${record.subnet}`);
      await this.destroyInstance(record.instanceId, false);
      current = undefined;
    }
    if (!current) {
      await this.docker.createNetwork(this.owned(networkCreateOptions(this.spec(record), cluster))).catch((e) => {
        if (!isStatus(e, 409)) throw e;
      });
    }
    await this.joinNetwork(record.instanceId);
  }

  /**
   * An emulator in a container reaches the API server over the cluster's network (127.0.0.1 there is
   * its own container, where no port is published): it joins the network, once.
   */
  private async joinNetwork(instanceId: string): Promise<void> {
    if (!this.selfContainer) return;
    const network = await this.docker.getNetwork(networkName(instanceId)).inspect();
    const joined = Object.keys(network.Containers ?? {}).some((id) => id.startsWith(this.selfContainer!) || this.selfContainer!.startsWith(id));
    if (joined) return;
    // At a fixed address of its own (the highest free of EMULATOR_HOSTS): one Docker picked would be
    // the lowest free, the server's .2 (or a node's), and that container could then not start.
    const subnet = network.IPAM?.Config?.find((c) => c.Subnet)?.Subnet;
    const held = new Set(Object.values(network.Containers ?? {}).map((c) => c.IPv4Address?.split("/")[0]));
    const ip = subnet ? EMULATOR_HOSTS.map((host) => subnetAddress(subnet, host)).find((a) => !held.has(a)) : undefined;
    const endpoint = ip ? { EndpointConfig: { IPAMConfig: { IPv4Address: ip } } } : {};
    await this.docker.getNetwork(networkName(instanceId)).connect({ Container: this.selfContainer, ...endpoint }).catch((error) => {
      // Already there (a race with another operation) is fine; anything else says what failed.
      if (isStatus(error, 403) && /already exists/i.test(dockerMessage(error))) return;
      throw new Error(`the emulator (container ${this.selfContainer!.slice(0, 12)}) could not join network ${networkName(instanceId)}: ${dockerMessage(error)} (set FLOCI_AZ_SERVICES_AKS_API_SERVER_ACCESS=published when the emulator does not run on this Docker engine)`);
    });
  }

  /** Before a cluster network is removed: the emulator's own endpoint on it would keep it ("has active endpoints"). */
  private async leaveNetwork(network: string): Promise<void> {
    if (!this.selfContainer) return;
    await this.docker.getNetwork(network).disconnect({ Container: this.selfContainer, Force: true }).catch(() => undefined);
  }

  private async ensureVolume(record: InstanceRecord, cluster: ClusterRef): Promise<void> {
    try {
      await this.docker.getVolume(volumeName(record.instanceId)).inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await this.docker.createVolume(this.owned(volumeCreateOptions(this.spec(record), cluster)));
    }
  }

  /** The server container as it should be: created, replaced when its options changed (an upgrade), started. */
  private async ensureServer(recordIn: InstanceRecord, cluster: ClusterRef): Promise<void> {
    let record = recordIn;
    await this.ensureNetwork(record, cluster);
    await this.ensureVolume(record, cluster);
    for (let attempt = 0; ; attempt++) {
      const options = serverCreateOptions(this.spec(record), cluster);
      // Replaced (an upgrade): stopped with SIGTERM and a grace period first, so k3s shuts down its
      // datastore (kine/SQLite on the volume) cleanly instead of being killed mid-write by remove({ force }).
      const graceful = (old: Docker.Container) => old.stop({ t: STOP_TIMEOUT_S }).then(() => undefined, (e) => this.ignoreMissing(e));
      const started = await this.ensureContainer(options, `API server of ${cluster.name}`, graceful).then(
        () => true,
        async (error) => {
          // The host port was taken behind our back (another program): move to a free one, once.
          if (attempt === 0 && /port is already allocated|bind: address already in use/i.test(dockerMessage(error))) {
            this.logger.warn(`k3s: ${cluster.name}: port ${record.hostPort} is taken: ${dockerMessage(error)}; moving the API server`);
            record = await this.reassignPort(record);
            return false;
          }
          throw error;
        },
      );
      if (started) return;
    }
  }

  /** Creates (or replaces, when its spec digest differs) and starts one container. */
  private async ensureContainer(options: Docker.ContainerCreateOptions, what: string, beforeReplace?: (container: Docker.Container) => Promise<void>): Promise<"kept" | "created"> {
    const name = options.name!;
    let current: Docker.ContainerInspectInfo | undefined;
    try {
      current = await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    if (current && current.Config.Labels?.[LABELS.spec] === options.Labels?.[LABELS.spec]) {
      if (!current.State.Running) await this.startContainer(this.docker.getContainer(current.Id), name);
      return "kept";
    }
    if (current) {
      this.logger.info(`k3s: replacing ${name} (${what}): its image or options changed`);
      await beforeReplace?.(this.docker.getContainer(current.Id));
      await this.docker.getContainer(current.Id).remove({ force: true, v: true });
    }
    await this.haltIfClosed();
    const container = await this.docker.createContainer(this.owned(options));
    try {
      await this.startContainer(container, name);
    } catch (error) {
      await container.remove({ force: true, v: true }).catch(() => {});
      throw error;
    }
    return "created";
  }

  private async startContainer(container: Docker.Container, name: string): Promise<void> {
    try {
      await container.start();
    } catch (error) {
      if (isStatus(error, 304)) return; // already running
      throw new Error(`could not start container ${name}: ${dockerMessage(error)}`);
    }
  }

  /** A one-off container on the cluster's volume (k3s subcommands that need the server stopped). */
  private async runTask(record: InstanceRecord, cluster: ClusterRef, image: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
    const name = `${serverName(record.instanceId)}-task`;
    await this.docker.getContainer(name).remove({ force: true, v: true }).catch((e) => this.ignoreMissing(e));
    const spec = this.spec(record);
    const container = await this.docker.createContainer(this.owned({
      name,
      Image: image,
      Cmd: cmd,
      Labels: { ...serverCreateOptions(spec, cluster).Labels, [LABELS.role]: "task" },
      HostConfig: {
        Privileged: spec.privileged,
        Tmpfs: { "/run": "", "/var/run": "" },
        Mounts: [{ Type: "volume", Source: volumeName(record.instanceId), Target: K3S_DATA_DIR }],
        NetworkMode: "none",
      },
    }));
    try {
      await container.start();
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        container.wait() as Promise<{ StatusCode: number }>,
        new Promise<{ StatusCode: number }>((resolve) => (timer = setTimeout(() => resolve({ StatusCode: -1 }), 60_000))),
      ]).finally(() => clearTimeout(timer));
      const logs = await container.logs({ stdout: true, stderr: true, tail: 50 });
      return { exitCode: result.StatusCode, output: stripLogFrames(logs) };
    } finally {
      await container.remove({ force: true, v: true }).catch(() => {});
    }
  }

  /** Stops agents, then the server; containers and volume stay. */
  private async stopInstance(instanceId: string): Promise<void> {
    const containers = await this.containers(instanceId);
    const stop = (c: Docker.ContainerInfo) =>
      c.State === "running" ? this.docker.getContainer(c.Id).stop({ t: STOP_TIMEOUT_S }).catch((e) => this.ignoreMissing(e)) : Promise.resolve();
    await Promise.all(containers.filter((c) => c.Labels[LABELS.role] !== "server").map(stop));
    await Promise.all(containers.filter((c) => c.Labels[LABELS.role] === "server").map(stop));
  }

  /** Removes the instance's containers and network, and its volume when `withVolume`. */
  private async destroyInstance(instanceId: string, withVolume: boolean): Promise<void> {
    for (const c of await this.containers(instanceId)) {
      await this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch((e) => this.ignoreMissing(e));
    }
    await this.leaveNetwork(networkName(instanceId));
    await this.docker.getNetwork(networkName(instanceId)).remove().catch((e) => this.ignoreMissing(e));
    if (withVolume) await this.docker.getVolume(volumeName(instanceId)).remove().catch((e) => this.ignoreMissing(e));
  }

  // ---- agents ----------------------------------------------------------------------------------------

  /**
   * The pool's agents as they should be: one per node name, running unless the pool is stopped; a
   * node whose container is new (or replaced) is first deleted from the API, so it registers afresh
   * with its labels and taints (k3s ties a node name to its agent's password); agents beyond the
   * pool's nodes are drained and removed.
   */
  private async ensureAgents(record: InstanceRecord, cluster: ClusterRef, pool: PoolRef, conn: KubeConnection, existing: Docker.ContainerInfo[]): Promise<void> {
    const spec = this.spec(record);
    const nodes = poolNodeNames(cluster, pool);
    const mine = existing.filter((c) => c.Labels[LABELS.role] === "agent" && (c.Labels[LABELS.pool] ?? "").toLowerCase() === pool.name.toLowerCase());
    const extra = mine.filter((c) => !nodes.includes(c.Labels[LABELS.node]));
    await Promise.all(extra.map((c) => this.removeAgent(conn, c)));
    await Promise.all(
      nodes.map(async (node) => {
        const current = mine.find((c) => c.Labels[LABELS.node] === node);
        if (!isPoolRunning(pool)) {
          if (current?.State === "running") await this.docker.getContainer(current.Id).stop({ t: STOP_TIMEOUT_S }).catch((e) => this.ignoreMissing(e));
          return;
        }
        const options = agentCreateOptions(spec, cluster, pool, node, await this.nodeAddress(record, node));
        if (!current) await this.deleteNode(conn, node);
        const outcome = await this.ensureContainer(options, `node ${node}`, async (old) => {
          // Stopped first: a running agent would register the node again right after its deletion.
          await old.stop({ t: STOP_TIMEOUT_S }).catch((e) => this.ignoreMissing(e));
          await this.deleteNode(conn, node);
        });
        if (outcome === "created") this.logger.info(`k3s: ${cluster.name}: node ${node} (pool ${pool.name}) started`);
      }),
    );
  }

  /**
   * Drains the node (cordon, evict its pods), stops its agent (a running one would register the node
   * again), deletes the node from the API, then removes the container.
   */
  private async removeAgent(conn: KubeConnection | undefined, container: Docker.ContainerInfo): Promise<void> {
    const node = container.Labels[LABELS.node];
    const agent = this.docker.getContainer(container.Id);
    if (conn && node) await this.drainNode(conn, node);
    await agent.stop({ t: STOP_TIMEOUT_S }).catch((e) => this.ignoreMissing(e));
    if (conn && node) await this.deleteNode(conn, node);
    await agent.remove({ force: true, v: true }).catch((e) => this.ignoreMissing(e));
    if (node) await this.releaseAddress(container.Labels[LABELS.instance], node);
    this.logger.info(`k3s: node ${node} removed`);
  }

  /**
   * As `kubectl drain --ignore-daemonsets` (and AKS before it removes a node): cordon, evict every pod
   * but DaemonSet and mirror pods (an eviction a PodDisruptionBudget refuses, 429, is tried again every
   * 5 s), then wait until the evicted pods are gone: they stay listed while they terminate (up to their
   * grace period). AKS bounds this by the pool's upgradeSettings.drainTimeoutInMinutes (default 30);
   * here the operation's deadline (FLOCI_AZ_SERVICES_AKS_READY_TIMEOUT_SECONDS) bounds it, after which
   * the node is removed anyway (logged). Best effort: an API error ends the drain, not the operation.
   */
  private async drainNode(conn: KubeConnection, node: string): Promise<void> {
    const until = this.deadline();
    try {
      await kubeRequest(conn, "PATCH", `/api/v1/nodes/${node}`, { spec: { unschedulable: true } });
      const podsPath = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`;
      const evictable = (list: any) =>
        (list?.items ?? []).filter(
          (pod: any) =>
            !(pod.metadata?.ownerReferences ?? []).some((o: any) => o.kind === "DaemonSet") &&
            !pod.metadata?.annotations?.["kubernetes.io/config.mirror"] &&
            !["Succeeded", "Failed"].includes(pod.status?.phase),
        );
      const first = await kubeRequest(conn, "GET", podsPath);
      if (first.status !== 200) return;
      let pending: any[] = evictable(first.body);
      if (!pending.length) return;
      const started = Date.now();
      this.logger.info(`k3s: draining node ${node}: evicting ${pending.length} pod(s)`);
      let nextEviction = 0;
      for (;;) {
        // Evict what is not terminating yet (a pod evicted earlier has its deletionTimestamp).
        if (Date.now() >= nextEviction) {
          for (const pod of pending.filter((p) => !p.metadata?.deletionTimestamp)) {
            const { namespace, name } = pod.metadata;
            const response = await kubeRequest(conn, "POST", `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, {
              apiVersion: "policy/v1",
              kind: "Eviction",
              metadata: { name, namespace },
            }).catch(() => undefined);
            if (response?.status === 429) nextEviction = Date.now() + 5000;
          }
        }
        const now = await kubeRequest(conn, "GET", podsPath);
        if (now.status !== 200) return;
        pending = evictable(now.body);
        if (!pending.length) {
          this.logger.info(`k3s: drained node ${node} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return;
        }
        if (Date.now() >= until) {
          const names = pending.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ");
          this.logger.warn(`k3s: draining node ${node}: ${pending.length} pod(s) still there after ${((Date.now() - started) / 1000).toFixed(0)} s (the deadline): ${names}; removing the node anyway`);
          return;
        }
        await sleep(POLL_MS);
      }
    } catch (error) {
      this.logger.warn(`k3s: draining node ${node}: ${(error as Error).message}`);
    }
  }

  private async deleteNode(conn: KubeConnection, node: string): Promise<void> {
    try {
      const response = await kubeRequest(conn, "DELETE", `/api/v1/nodes/${node}`);
      if (response.status >= 300 && response.status !== 404) this.logger.warn(`k3s: deleting node ${node}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
    } catch (error) {
      this.logger.warn(`k3s: deleting node ${node}: ${(error as Error).message}`);
    }
  }

  // ---- the API server --------------------------------------------------------------------------------

  /** k3s.yaml out of the server container (a one-file tar); undefined until k3s has written it. */
  private async readK3sYaml(instanceId: string): Promise<string | undefined> {
    let text: string | undefined;
    try {
      const archive = await collect(await this.docker.getContainer(serverName(instanceId)).getArchive({ path: K3S_KUBECONFIG }));
      text = firstFileOfTar(archive)?.toString("utf8");
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
    // k3s writes k3s.yaml early and in place (not write-then-rename: pkg/cli/server writes it with
    // os.WriteFile), so a read can catch it empty or half-written: not there yet, read again.
    try {
      if (text) parseK3sKubeconfig(text);
    } catch {
      return undefined;
    }
    return text || undefined;
  }

  private async connection(record: InstanceRecord): Promise<KubeConnection> {
    const yaml = await this.readK3sYaml(record.instanceId);
    if (!yaml) throw new Error("the API server has not written its kubeconfig yet");
    const credentials = parseK3sKubeconfig(yaml);
    if (this.selfContainer) {
      // Over the cluster network: the server's fixed address (or the one Docker gave it), the
      // certificate checked against its container name (a --tls-san of the server).
      const address =
        (record.subnet ? subnetAddress(record.subnet, 2) : undefined) ??
        (await this.docker.getContainer(serverName(record.instanceId)).inspect()).NetworkSettings.Networks[networkName(record.instanceId)]?.IPAddress;
      return { ...credentials, host: address || serverName(record.instanceId), servername: serverName(record.instanceId), port: API_PORT };
    }
    return { ...credentials, host: this.apiServerHost, port: record.hostPort };
  }

  /** Until /readyz answers 200 over TLS with the cluster's CA and admin certificate, or the deadline. */
  private async waitForApi(recordIn: InstanceRecord, cluster: ClusterRef, deadline: number): Promise<KubeConnection> {
    const record = this.record(cluster.id) ?? recordIn; // the port may have moved
    let problem = "the container has not started";
    for (;;) {
      const state = await this.docker.getContainer(serverName(record.instanceId)).inspect().then((i) => i.State, () => undefined);
      if (state && !state.Running && state.Status !== "created") {
        throw errors.apiServerExited(cluster.name, serverName(record.instanceId), state.ExitCode, state.Error, await this.logTail(serverName(record.instanceId)));
      }
      try {
        const conn = await this.connection(record);
        const ready = await kubeRequest(conn, "GET", "/readyz", undefined, 3000);
        if (ready.status === 200) return conn;
        problem = `/readyz answered HTTP ${ready.status}: ${ready.text.slice(0, 200)}`;
      } catch (error) {
        problem = (error as Error).message;
      }
      await this.haltIfClosed();
      if (Date.now() > deadline) {
        throw errors.apiServerNotReady(cluster.name, serverName(record.instanceId), record.hostPort, this.options.readyTimeoutSeconds, problem, await this.logTail(serverName(record.instanceId)));
      }
      await sleep(POLL_MS);
    }
  }

  /** Until every node of the running pools is registered and Ready, or the deadline. */
  private async waitForNodes(conn: KubeConnection, record: InstanceRecord, cluster: ClusterRef, pools: PoolRef[], deadline: number): Promise<void> {
    const expected = pools.filter(isPoolRunning).flatMap((pool) => poolNodeNames(cluster, pool));
    if (expected.length === 0) return;
    let waiting: string[] = expected.map((n) => `${n} (not registered)`);
    const startedAt = new Map<string, number>(); // container id -> State.StartedAt (ms, whole seconds)
    for (;;) {
      try {
        const response = await kubeRequest(conn, "GET", "/api/v1/nodes", undefined, 3000);
        if (response.status === 200) {
          const beats = nodeHeartbeats(response.body);
          const agents = (await this.containers(record.instanceId)).filter((c) => c.Labels[LABELS.role] === "agent");
          const since = async (node: string): Promise<number> => {
            const agent = agents.find((c) => c.Labels[LABELS.node] === node);
            if (!agent) return Infinity;
            if (!startedAt.has(agent.Id)) {
              const started = Date.parse((await this.docker.getContainer(agent.Id).inspect()).State.StartedAt);
              // lastHeartbeatTime has whole seconds: compare with the start's second.
              startedAt.set(agent.Id, Math.floor(started / 1000) * 1000);
            }
            return startedAt.get(agent.Id)!;
          };
          const problems = await Promise.all(
            expected.map(async (n) => {
              const beat = beats.get(n);
              if (!beat) return `${n} (not registered)`;
              if (beat.status !== "True") return `${n} (Ready=${beat.status})`;
              // Ready from before the agent's (re)start is stale: the server kept the status its kubelet
              // last posted (k8s's node lifecycle controller waits node-monitor-grace-period, 40 s, before
              // it marks a silent node Unknown). Only a heartbeat since the start counts.
              const start = await since(n);
              return beat.heartbeat >= start ? undefined : `${n} (Ready=True from before its start: no heartbeat since)`;
            }),
          );
          waiting = problems.filter((p): p is string => p !== undefined);
          if (waiting.length === 0) return;
        } else waiting = [`GET /api/v1/nodes answered HTTP ${response.status}`];
      } catch (error) {
        waiting = [`GET /api/v1/nodes: ${(error as Error).message}`];
      }
      await this.haltIfClosed();
      const exited = (await this.containers(record.instanceId)).filter((c) => c.Labels[LABELS.role] === "agent" && expected.includes(c.Labels[LABELS.node]) && c.State === "exited");
      if (exited.length || Date.now() > deadline) {
        const tail = exited.length ? await this.logTail(exited[0].Names[0]?.replace(/^\//, "") ?? exited[0].Id) : "";
        throw exited.length
          ? errors.nodesExited(cluster.name, exited.map((c) => `${c.Labels[LABELS.node]} (${c.Status})`), tail)
          : errors.nodesNotReady(cluster.name, this.options.readyTimeoutSeconds, waiting);
      }
      await sleep(POLL_MS);
    }
  }

  /** The last lines a container logged, for error messages. */
  private async logTail(container: string): Promise<string> {
    try {
      const logs = stripLogFrames(await this.docker.getContainer(container).logs({ stdout: true, stderr: true, tail: 8 })).trim();
      return logs ? `Last lines of its log: ${logs.split("\n").slice(-8).join(" | ").slice(0, 1500)}` : "It logged nothing.";
    } catch {
      return "";
    }
  }
}

const lockKey = (clusterId: string) => `cluster:${clusterId.toLowerCase()}`;

/** Whether a process of this host runs with that pid (EPERM: it runs, as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether nothing listens on 127.0.0.1:port now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Container logs of a container without a TTY come in 8-byte-framed chunks; keep the text. */
export function stripLogFrames(logs: Buffer | string): string {
  const buffer = Buffer.isBuffer(logs) ? logs : Buffer.from(logs);
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length && [0, 1, 2].includes(buffer[offset]) && buffer[offset + 1] === 0) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset === 0) return buffer.toString("utf8");
  return Buffer.concat(parts).toString("utf8");
}
