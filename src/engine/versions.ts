// The version catalogue: the Kubernetes versions the emulator offers, with their patches and
// upgrade paths, and the node images. Cluster defaults, version checks, the versions list, the
// upgrade profiles and the available agent pool versions all read this one table.
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

/** AKS's version skew policy: a pool may be at most this many minors below the control plane. */
export const MAX_POOL_MINOR_SKEW = 3;

export const defaultMinor = versionCatalogue.find((v) => v.isDefault)!;

export const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");

const minorEntry = (version: string) => versionCatalogue.find((v) => v.minor === minorOf(version));
const minorNumber = (version: string) => Number(version.split(".")[1]);

/** Semantic order of two "1.x.y" versions (negative when a < b). */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export const isKnownPatch = (version: string) => !!minorEntry(version)?.patches.includes(version);
export const isPreviewVersion = (version: string) => minorEntry(version)?.isPreview === true;

/** Where a patch may go: newer patches of its minor, then every patch of the minors it upgrades to (oldest first). */
export function upgradeTargets(version: string): string[] {
  const entry = minorEntry(version);
  if (!entry) return [];
  const newerPatches = entry.patches.filter((p) => compareVersions(p, version) > 0);
  const nextMinors = entry.upgrades.flatMap((minor) => versionCatalogue.find((v) => v.minor === minor)?.patches ?? []);
  return [...newerPatches, ...nextMinors];
}

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

const SUPPORTED_VERSIONS_LINK = "Please see https://aka.ms/aks-supported-k8s-ver for version details.";

/**
 * The control plane version a PUT asks for, checked against the upgrade paths. Naming the current
 * minor ("1.33" while on 1.33.3) keeps the current patch, as AKS does; a downgrade or a skipped
 * minor is AKS's 400 OperationNotAllowed, listing the available upgrades newest first.
 */
export function clusterUpgradeTarget(current: string, requested: string | undefined, location: string): string {
  if (!requested || requested === minorOf(current)) return current;
  const target = resolveKubernetesVersion(requested, location);
  if (target === current) return current;
  const available = `Available upgrades: [${upgradeTargets(current).reverse().join(" ")}].`;
  if (compareVersions(target, current) < 0) {
    throw badRequest("OperationNotAllowed", `Downgrading Kubernetes version ${current} to ${target} is not allowed. ${available} ${SUPPORTED_VERSIONS_LINK}`, "properties.kubernetesVersion");
  }
  if (!upgradeTargets(current).includes(target)) {
    throw badRequest("OperationNotAllowed", `Upgrading Kubernetes version ${current} to ${target} is not allowed. ${available} ${SUPPORTED_VERSIONS_LINK}`, "properties.kubernetesVersion");
  }
  return target;
}

/**
 * The version an agent pool runs after a PUT: `current` undefined for a new pool. A minor alias
 * picks the newest patch not above the control plane (the current one if it names the pool's own
 * minor). Pools upgrade one minor at a time, never past the control plane, and stay within the
 * skew policy below it.
 */
export function poolVersion(current: string | undefined, requested: string | undefined, controlPlane: string, location: string): string {
  const target = resolvePoolVersion(current, requested ?? current ?? controlPlane, controlPlane, location);
  if (current && target !== current && !upgradeTargets(current).includes(target)) {
    throw badRequest(
      "AgentPoolUpgradeVersionNotAllowed",
      `Upgrade agent pool version from ${current} to ${target} is not allowed, you can only upgrade one minor version at a time. Please use [az aks get-upgrades] command to get the supported upgrade paths. For more information, please check https://aka.ms/version-skew-policy`,
      "properties.orchestratorVersion",
    );
  }
  const incompatible = `Node pool version ${target} and control plane version ${controlPlane} are incompatible.`;
  const rules = "For more information, please check https://aka.ms/aks/UpgradeVersionRules";
  if (compareVersions(target, controlPlane) > 0) {
    const why =
      minorNumber(target) > minorNumber(controlPlane)
        ? `Minor version of node pool version ${minorNumber(target)} is bigger than control plane version ${minorNumber(controlPlane)}.`
        : "Node pool version cannot be greater than control plane version.";
    throw badRequest("NodePoolMcVersionIncompatible", `${incompatible} ${why} ${rules}`, "properties.orchestratorVersion");
  }
  if (minorNumber(controlPlane) - minorNumber(target) > MAX_POOL_MINOR_SKEW) {
    throw badRequest(
      "NodePoolMcVersionIncompatible",
      `${incompatible} Minor version of node pool cannot be more than ${MAX_POOL_MINOR_SKEW} versions less than control plane's version. Minor version of node pool is ${minorNumber(target)} and control plane is ${minorNumber(controlPlane)}. ${rules}`,
      "properties.orchestratorVersion",
    );
  }
  return target;
}

function resolvePoolVersion(current: string | undefined, requested: string, controlPlane: string, location: string): string {
  if (isKnownPatch(requested)) return requested;
  const entry = versionCatalogue.find((v) => v.minor === requested);
  if (!entry) {
    throw badRequest(
      "AgentPoolK8sVersionNotSupported",
      `Version ${requested} is not supported in this region (${location}). Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list`,
      "properties.orchestratorVersion",
    );
  }
  if (current && minorOf(current) === requested) return current;
  return [...entry.patches].reverse().find((p) => compareVersions(p, controlPlane) <= 0) ?? entry.patches.at(-1)!;
}

/** Patches a new pool may run beside this control plane: not above it, within the skew policy. */
export function agentPoolVersions(controlPlane: string): string[] {
  return versionCatalogue
    .flatMap((v) => v.patches)
    .filter((p) => compareVersions(p, controlPlane) <= 0 && minorNumber(controlPlane) - minorNumber(p) <= MAX_POOL_MINOR_SKEW);
}

// ---- node images ----------------------------------------------------------------------------------

/**
 * Node image releases, oldest first. New pools start on the release rolled out as the region's
 * default; the newest one is what a node image upgrade (or a Kubernetes upgrade, which reimages the
 * nodes) moves a pool to, and what the upgrade profile reports as latestNodeImageVersion.
 */
const NODE_IMAGE_RELEASES = { linux: ["202511.07.0", "202512.04.0"], windows: ["20348.4294.251111", "20348.4405.251209"] };

export type NodeImageRelease = "default" | "latest";

export function nodeImageVersion(osSku: string | undefined, release: NodeImageRelease = "default"): string {
  const pick = (list: string[]) => (release === "latest" ? list.at(-1)! : list.at(-2)!);
  if (osSku?.startsWith("Windows")) return `AKSWindows-${osSku === "Windows2019" ? "2019" : "2022"}-containerd-${pick(NODE_IMAGE_RELEASES.windows)}`;
  if (osSku === "AzureLinux") return `AKSAzureLinux-V3gen2-${pick(NODE_IMAGE_RELEASES.linux)}`;
  if (osSku === "Ubuntu2404") return `AKSUbuntu-2404gen2containerd-${pick(NODE_IMAGE_RELEASES.linux)}`;
  return `AKSUbuntu-2204gen2containerd-${pick(NODE_IMAGE_RELEASES.linux)}`;
}

// ---- k3s images (real mode) -------------------------------------------------------------------------

/** The k3s release of an AKS Kubernetes version: 1.33.5 -> v1.33.5-k3s1 (rancher/k3s tags its images so). */
export const k3sTag = (kubernetesVersion: string) => `v${kubernetesVersion}-k3s1`;

/** Whether an image reference names a tag or a digest (a registry's ":port" does not count). */
export const imageHasTag = (image: string) => image.includes("@") || image.slice(image.lastIndexOf("/") + 1).includes(":");

/**
 * The image a real-mode node of this version runs: FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE as is when it
 * names a tag (or digest), which then overrides the mapping; else that repository with the derived tag.
 */
export const k3sImage = (defaultImage: string, kubernetesVersion: string) =>
  imageHasTag(defaultImage) ? defaultImage : `${defaultImage}:${k3sTag(kubernetesVersion)}`;
