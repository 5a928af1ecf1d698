// Mocked backend: no containers. Work takes the configured delay (0: done at once) and the
// kubeconfig points at https://localhost:6443 with TLS verification off.
import { createHash } from "node:crypto";
import type { ClusterBackend, ClusterRef, CredentialKind } from "../backend.js";
import { buildKubeconfig } from "../kubeconfig.js";

export class MockBackend implements ClusterBackend {
  readonly kind = "mock" as const;

  constructor(private readonly delayMs = 0) {}

  private wait(): Promise<void> {
    return this.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.delayMs)) : Promise.resolve();
  }

  applyCluster(): Promise<void> {
    return this.wait();
  }
  applyAgentPool(): Promise<void> {
    return this.wait();
  }
  deleteAgentPool(): Promise<void> {
    return this.wait();
  }
  deleteCluster(): Promise<void> {
    return this.wait();
  }

  async kubeconfig(cluster: ClusterRef, kind: CredentialKind): Promise<string> {
    // A stable, per-cluster and per-kind token, so repeated reads give the same file.
    const token = createHash("sha256").update(`${cluster.id.toLowerCase()}|${kind}`).digest("hex");
    return buildKubeconfig({ cluster, kind, server: "https://localhost:6443", user: { token } });
  }
}
