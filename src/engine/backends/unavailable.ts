import { ArmError } from "../../arm/errors.js";
import type { ClusterBackend, CommandOutput } from "../backend.js";

/** Real mode before the k3s backend exists: every cluster write is refused with what to do instead. */
export class RealModeUnavailableBackend implements ClusterBackend {
  readonly kind = "k3s" as const;

  constructor(private readonly reason: string) {}

  checkAvailable(): void {
    this.refuse();
  }

  private refuse(): never {
    throw new ArmError(
      400,
      "RealModeUnavailable",
      `Real mode (k3s clusters through Docker) is not available: ${this.reason}. ` +
        "Set FLOCI_AZ_SERVICES_AKS_MOCKED=true to run with mocked clusters.",
    );
  }
  async applyCluster(): Promise<void> {
    this.refuse();
  }
  async applyAgentPool(): Promise<void> {
    this.refuse();
  }
  async deleteAgentPool(): Promise<void> {}
  async deleteCluster(): Promise<void> {}
  async stopCluster(): Promise<void> {
    this.refuse();
  }
  async startCluster(): Promise<void> {
    this.refuse();
  }
  async rotateCertificates(): Promise<void> {
    this.refuse();
  }
  async rotateServiceAccountSigningKeys(): Promise<void> {
    this.refuse();
  }
  async runCommand(): Promise<CommandOutput> {
    this.refuse();
  }
  async kubeconfig(): Promise<string> {
    this.refuse();
  }
}
