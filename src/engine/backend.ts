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
}

export interface PoolRef {
  name: string;
  count: number;
  mode: string;
  nodeLabels: Record<string, string>;
  nodeTaints: string[];
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
  /** A kubeconfig (YAML) for the cluster, with cluster, user and context named as AKS names them. */
  kubeconfig(cluster: ClusterRef, kind: CredentialKind): Promise<string>;
}
