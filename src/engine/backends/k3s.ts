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
import { createServer } from "node:net";
import { hostname } from "node:os";
import { Writable } from "node:stream";
import Docker from "dockerode";
import { ArmError, errors } from "../../arm/errors.js";
import type { ResourceStore } from "../../store/store.js";
import type { Logger } from "../../util.js";
import type { ClusterBackend, ClusterHealth, ClusterRef, CommandOutput, CredentialKind, KnownCluster, PoolRef } from "../backend.js";
import { buildKubeconfig } from "../kubeconfig.js";
import { firstFileOfTar, kubeRequest, nodeReadiness, parseK3sKubeconfig, type KubeConnection } from "./k3s/kubeapi.js";
import {
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
  }

  /** Owner labels go on after the spec digest: a restarted emulator (a new pid) keeps the containers. */
  private owned<T extends { Labels?: Record<string, string> }>(options: T): T {
    return { ...options, Labels: { ...options.Labels, ...ownerLabels(this.owner) } };
  }

  // ---- availability --------------------------------------------------------------------------------

  /** Pings the engine (up to 1.5 s); call once before use. */
  async init(): Promise<void> {
    await this.ping();
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
   * k3s's way (https://docs.k3s.io/cli/certificate): with the server stopped, `k3s certificate rotate`
   * on its data folder, then start it; it writes a new admin client certificate into k3s.yaml. The
   * cluster CA stays, so certificates issued before keep working until they expire (AKS also replaces
   * the CA). An image without the command (the test stand-in) keeps its certificates; the operation
   * still succeeds and the kubeconfig keeps working.
   */
  rotateCertificates(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "rotate certificates", async () => {
      const record = this.requireRecord(cluster);
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
    });
  }

  /**
   * k3s signs service-account tokens with a key in its data folder and has no command to rotate it
   * while keeping the old key for verification (AKS keeps both for a while); replacing it under a
   * running cluster would break every in-cluster client until its token is refreshed. So this
   * checks the API server answers and changes nothing.
   */
  rotateServiceAccountSigningKeys(cluster: ClusterRef): Promise<void> {
    return this.clusterWork(cluster, "rotate signing keys", async () => {
      const record = this.requireRecord(cluster);
      await this.waitForApi(record, cluster, this.deadline());
      this.logger.info(`k3s: ${cluster.name}: service-account signing keys are not rotated in real mode (k3s keeps its key)`);
    });
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
   * The admin kubeconfig k3s wrote, pointed at the published port and named as AKS names it. Every
   * kind (admin, user, monitoring) carries k3s's admin client certificate: k3s issues no other.
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
      return buildKubeconfig({
        cluster,
        kind,
        server: `https://127.0.0.1:${record.hostPort}`,
        caPem: credentials.caPem,
        user: { clientCertificatePem: credentials.clientCertificatePem, clientKeyPem: credentials.clientKeyPem },
      });
    });
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
    for (const n of networks) await this.docker.getNetwork(n.Id).remove().catch((e) => this.ignoreMissing(e));
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
    return { instanceId: record.instanceId, token: record.token, hostPort: record.hostPort, defaultImage: this.options.defaultImage, privileged: this.options.privileged };
  }

  /** The cluster's record, made (with a new instance id, token and host port) the first time. */
  private instanceFor(cluster: ClusterRef): Promise<InstanceRecord> {
    return this.exclusive("ports", async () => {
      const existing = this.record(cluster.id);
      if (existing) return existing;
      const records = this.records();
      const ids = new Set(Object.values(records).map((r) => r.instanceId));
      let instanceId: string;
      do instanceId = randomBytes(4).toString("hex");
      while (ids.has(instanceId));
      const record: InstanceRecord = { clusterId: cluster.id, instanceId, token: randomBytes(24).toString("hex"), hostPort: await this.freePort() };
      records[cluster.id.toLowerCase()] = record;
      this.store.putSetting(INSTANCES_SETTING, JSON.stringify(records));
      this.logger.info(`k3s: ${cluster.name}: instance ${instanceId}, API server on 127.0.0.1:${record.hostPort}`);
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
    try {
      await this.docker.getNetwork(networkName(record.instanceId)).inspect();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await this.docker.createNetwork(this.owned(networkCreateOptions(this.spec(record), cluster))).catch((e) => {
        if (!isStatus(e, 409)) throw e;
      });
    }
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
      const started = await this.ensureContainer(options, `API server of ${cluster.name}`).then(
        () => true,
        async (error) => {
          // The host port was taken behind our back (another program): move to a free one, once.
          if (attempt === 0 && /port is already allocated|address already in use/i.test(dockerMessage(error))) {
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
        const options = agentCreateOptions(spec, cluster, pool, node);
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
    this.logger.info(`k3s: node ${node} removed`);
  }

  /** Best effort, as `kubectl drain --ignore-daemonsets` does it; waits up to 30 s for evicted pods to go. */
  private async drainNode(conn: KubeConnection, node: string): Promise<void> {
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
      const pods = evictable(first.body);
      for (const pod of pods) {
        const { namespace, name } = pod.metadata;
        await kubeRequest(conn, "POST", `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name, namespace },
        }).catch(() => undefined);
      }
      const until = Date.now() + 30_000;
      while (pods.length && Date.now() < until) {
        const now = await kubeRequest(conn, "GET", podsPath);
        if (now.status !== 200 || evictable(now.body).length === 0) break;
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
    try {
      const archive = await collect(await this.docker.getContainer(serverName(instanceId)).getArchive({ path: K3S_KUBECONFIG }));
      return firstFileOfTar(archive)?.toString("utf8");
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  private async connection(record: InstanceRecord): Promise<KubeConnection> {
    const yaml = await this.readK3sYaml(record.instanceId);
    if (!yaml) throw new Error("the API server has not written its kubeconfig yet");
    return { port: record.hostPort, ...parseK3sKubeconfig(yaml) };
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
    for (;;) {
      try {
        const response = await kubeRequest(conn, "GET", "/api/v1/nodes", undefined, 3000);
        if (response.status === 200) {
          const readiness = nodeReadiness(response.body);
          waiting = expected.filter((n) => readiness.get(n) !== "True").map((n) => `${n} (${readiness.has(n) ? `Ready=${readiness.get(n)}` : "not registered"})`);
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
