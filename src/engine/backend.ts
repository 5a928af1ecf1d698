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
}

export interface PoolRef {
  name: string;
  count: number;
  mode: string;
  nodeLabels: Record<string, string>;
  nodeTaints: string[];
}

/** What a command run in the cluster (RunCommand) printed and how it exited. */
export interface CommandOutput {
  exitCode: number;
  logs: string;
}

export interface ClusterBackend {
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
}
