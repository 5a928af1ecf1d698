// The version catalogue: the Kubernetes versions the emulator offers, with their patches and
// upgrade paths. Cluster defaults, version checks and (later) upgrade profiles all read this table.
import { badRequest } from "../arm/errors.js";

export interface MinorVersion {
  minor: string; // "1.33"
  patches: string[]; // oldest first
  isDefault?: boolean;
  isPreview?: boolean;
  /** Minors this one upgrades to. */
  upgrades: string[];
  supportPlan: string[];
}

export const versionCatalogue: readonly MinorVersion[] = [
  { minor: "1.31", patches: ["1.31.11", "1.31.12", "1.31.13"], upgrades: ["1.32"], supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"] },
  { minor: "1.32", patches: ["1.32.7", "1.32.8", "1.32.9"], upgrades: ["1.33"], supportPlan: ["KubernetesOfficial"] },
  { minor: "1.33", patches: ["1.33.3", "1.33.4", "1.33.5"], upgrades: ["1.34"], isDefault: true, supportPlan: ["KubernetesOfficial"] },
  { minor: "1.34", patches: ["1.34.0", "1.34.1"], upgrades: [], supportPlan: ["KubernetesOfficial"] },
];

export const defaultMinor = versionCatalogue.find((v) => v.isDefault)!;

/** "1.33" -> newest 1.33 patch; "1.33.4" -> itself; anything else is AKS's refusal. */
export function resolveKubernetesVersion(requested: string | undefined, location: string): string {
  if (!requested) return defaultMinor.patches.at(-1)!;
  const minor = versionCatalogue.find((v) => v.minor === requested || v.patches.includes(requested));
  if (!minor) {
    throw badRequest(
      "K8sVersionNotSupported",
      `Version ${requested} is not supported in this region (${location}). Please use [az aks get-versions] command to get the supported version list in this region.`,
      "properties.kubernetesVersion",
    );
  }
  return minor.minor === requested ? minor.patches.at(-1)! : requested;
}

export const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");

export const nodeImageVersion = (osSku: string | undefined) =>
  osSku === "AzureLinux" ? "AKSAzureLinux-V3gen2-202511.07.0" : "AKSUbuntu-2204gen2containerd-202511.07.0";
