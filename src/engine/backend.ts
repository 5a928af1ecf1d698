// The ClusterBackend port: what it takes to make a cluster real. The engine owns state, operations
// and conflicts; a backend only does the work (mocked: nothing; k3s: Docker containers).
export type CredentialKind = "admin" | "user" | "monitoring";

export interface ClusterRef {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  kubernetesVersion: string;
  /** Bumped by every certificate rotation: credentials issued before it must stop matching (0: never rotated). */
  credentialGeneration?: number;
  /** networkProfile.networkPolicy ("none", "calico", "azure", "cilium"); unset or "none": no policy controller. */
  networkPolicy?: string;
}

export interface PoolRef {
  name: string;
  mode: string;
  nodeLabels: Record<string, string>;
  nodeTaints: string[];
  /**
   * The names of the pool's nodes: the machine names Machines_List serves, from the machine set the
   * operation stored (engine/model.ts), so that `kubectl get nodes` and the machines agree. The engine
   * always gives them; how many nodes a pool has is how many names it has.
   */
  nodeNames?: string[];
  /**
   * A ref made without the engine (a backend driven on its own) may give a count instead of names:
   * the backend then names the nodes as a pool that was never scaled in would be named.
   */
  count?: number;
  /** The pool's Kubernetes version (currentOrchestratorVersion); absent: the control plane's. */
  kubernetesVersion?: string;
  /** "Stopped" when the pool was stopped on its own (an agent-pool PUT with powerState Stopped). */
  powerState?: string;
}

/** A cluster the store knows, as the backend needs it to re-adopt its containers at start. */
export interface KnownCluster {
  cluster: ClusterRef;
  pools: PoolRef[];
  /** powerState Running (else Stopped: its containers stay stopped). */
  running: boolean;
}

/** What a health check found wrong with a cluster that should be running. */
export interface ClusterHealth {
  /** One sentence per problem (a container missing or stopped); empty: healthy. */
  problems: string[];
  /** Pools with a missing or stopped node. */
  failedPools: string[];
}

/** What a command run in the cluster (RunCommand) printed and how it exited. */
export interface CommandOutput {
  exitCode: number;
  logs: string;
}

export interface ClusterBackend {
  /**
   * Work that does nothing and ends at once (the mocked backend with no delay): operations that read
   * no result from it end before the request is answered, so the answer already shows their end state.
   */
  readonly instant?: boolean;
  readonly kind: "mock" | "k3s";
  /** Throws an ArmError when the backend cannot take work now, so a write is refused before it is stored. */
  checkAvailable?(): void;
  /** Creates or updates the cluster and its pools; resolves when it is ready. */
  applyCluster(cluster: ClusterRef, pools: PoolRef[]): Promise<void>;
  applyAgentPool(cluster: ClusterRef, pool: PoolRef): Promise<void>;
  deleteAgentPool(cluster: ClusterRef, poolName: string): Promise<void>;
  deleteCluster(cluster: ClusterRef): Promise<void>;
  /** Stops the control plane and every node, keeping the cluster's state (ManagedClusters_Stop). */
  stopCluster(cluster: ClusterRef): Promise<void>;
  /** Brings a stopped cluster and its pools back (ManagedClusters_Start). */
  startCluster(cluster: ClusterRef, pools: PoolRef[]): Promise<void>;
  /**
   * Issues new cluster certificates; `cluster.credentialGeneration` is already the new generation, so
   * kubeconfigs handed out before no longer work (ManagedClusters_RotateClusterCertificates).
   */
  rotateCertificates(cluster: ClusterRef): Promise<void>;
  /** Issues a new service-account signing key (ManagedClusters_RotateServiceAccountSigningKeys). */
  rotateServiceAccountSigningKeys(cluster: ClusterRef): Promise<void>;
  /** Runs a command against the cluster's API server, as AKS's run-command pod does (ManagedClusters_RunCommand). */
  runCommand(cluster: ClusterRef, command: string, context?: string): Promise<CommandOutput>;
  /** A kubeconfig (YAML) for the cluster, with cluster, user and context named as AKS names them. */
  kubeconfig(cluster: ClusterRef, kind: CredentialKind): Promise<string>;
  /**
   * At start, before interrupted operations are recovered: re-adopts what belongs to clusters the
   * store knows (`lookup` answers for a cluster id) and removes what belongs to none.
   */
  reconcile?(lookup: (clusterId: string) => KnownCluster | undefined): Promise<void>;
  /** Ids of the clusters the backend holds something for (what a health watch looks at). */
  trackedClusters?(): string[];
  /** Compares what runs with what should; undefined when the cluster is busy or unknown to the backend. */
  checkHealth?(cluster: ClusterRef, pools: PoolRef[]): Promise<ClusterHealth | undefined>;
  /** When the emulator stops: releases what the backend holds (k3s: removes its containers unless told to keep them). */
  close?(): Promise<void>;
}
