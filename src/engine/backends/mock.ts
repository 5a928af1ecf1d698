// Mocked backend: no containers. Work takes the configured delay (0: done at once) and the
// kubeconfig points at https://localhost:6443 with TLS verification off.
import { createHash } from "node:crypto";
import type { ClusterBackend, ClusterRef, CommandOutput, CredentialKind } from "../backend.js";
import { buildKubeconfig } from "../kubeconfig.js";

export class MockBackend implements ClusterBackend {
  readonly kind = "mock" as const;

  constructor(private readonly delayMs = 0) {}

  get instant(): boolean {
    return this.delayMs <= 0;
  }

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
  stopCluster(): Promise<void> {
    return this.wait();
  }
  startCluster(): Promise<void> {
    return this.wait();
  }
  rotateCertificates(): Promise<void> {
    return this.wait();
  }
  rotateServiceAccountSigningKeys(): Promise<void> {
    return this.wait();
  }

  /** Nothing runs: the command is echoed back, and it "succeeds". */
  async runCommand(_cluster: ClusterRef, command: string): Promise<CommandOutput> {
    await this.wait();
    return { exitCode: 0, logs: `mocked: ${command}` };
  }

  async kubeconfig(cluster: ClusterRef, kind: CredentialKind): Promise<string> {
    // A stable token per cluster, kind and certificate generation: repeated reads give the same file,
    // and a certificate rotation (a new generation) gives a new one.
    const generation = cluster.credentialGeneration ?? 0;
    const seed = `${cluster.id.toLowerCase()}|${kind}${generation > 0 ? `|${generation}` : ""}`;
    const token = createHash("sha256").update(seed).digest("hex");
    return buildKubeconfig({ cluster, kind, server: "https://localhost:6443", user: { token } });
  }
}
