// The version catalogue: the Kubernetes versions the emulator offers, with their patches and
// upgrade paths, and the node images. Cluster defaults, version checks, the versions list, the
// upgrade profiles and the available agent pool versions all read this one table (or the file that
// replaces it: FLOCI_AZ_SERVICES_AKS_KUBERNETES_VERSIONS_FILE).
import { readFileSync } from "node:fs";
import { errors } from "../arm/errors.js";
import type { LeniencyPolicy } from "../arm/leniency.js";
import { ConfigError } from "../config.js";
import { BoundedCache, flatString } from "../util.js";

export interface MinorVersion {
  minor: string; // "1.36"
  patches: string[]; // oldest first
  isDefault?: boolean;
  isPreview?: boolean;
  /** Minors this one upgrades to. */
  upgrades: string[];
  supportPlan: SupportPlan[];
}

/** The support plans AKS offers for a minor version (KubernetesSupportPlan). */
export type SupportPlan = "KubernetesOfficial" | "AKSLongTermSupport";

/** AKS's version skew policy: a pool may be at most this many minors below the control plane. */
export const MAX_POOL_MINOR_SKEW = 3;

const COMMUNITY_AND_LTS: SupportPlan[] = ["KubernetesOfficial", "AKSLongTermSupport"];
const LTS_ONLY: SupportPlan[] = ["AKSLongTermSupport"];

/**
 * What AKS offers in December 2026. Sourced up to the AKS release notes of 2026-10-25 (1.37 GA and
 * LTS, 1.36 the default, patches 1.37.1/1.36.5/1.35.9/1.34.12) and the release calendar of
 * learn.microsoft.com/azure/aks/supported-kubernetes-versions (ms.date 2026-08-05); the rest is
 * extrapolated from that calendar: 1.34's community support ends Nov 2026, so 1.32 to 1.34 are
 * LTS-only (LTS ends Mar/Jul/Nov 2027), 1.31's LTS ended Nov 2026, and 1.38 (upstream Dec 2026)
 * reaches AKS preview only around Feb 2027, so nothing is in preview. Patches are the ones the
 * release notes announced; later ones (Nov/Dec 2026) are not known here.
 * Every minor since 1.27 is LTS-capable. Every minor upgrades one minor at a time (see below).
 */
const BUILT_IN_CATALOGUE: readonly MinorVersion[] = [
  // LTS-only minors upgrade one minor at a time too: AKS lets an LTS cluster skip to a higher LTS
  // minor only on the Premium tier with the AKSLongTermSupport plan, which the emulator does not model.
  { minor: "1.32", patches: ["1.32.7", "1.32.11"], upgrades: ["1.33"], supportPlan: LTS_ONLY },
  { minor: "1.33", patches: ["1.33.7", "1.33.13"], upgrades: ["1.34"], supportPlan: LTS_ONLY },
  { minor: "1.34", patches: ["1.34.9", "1.34.10", "1.34.12"], upgrades: ["1.35"], supportPlan: LTS_ONLY },
  { minor: "1.35", patches: ["1.35.6", "1.35.7", "1.35.9"], upgrades: ["1.36"], supportPlan: COMMUNITY_AND_LTS },
  { minor: "1.36", patches: ["1.36.2", "1.36.3", "1.36.5"], upgrades: ["1.37"], isDefault: true, supportPlan: COMMUNITY_AND_LTS },
  // 1.37.0: the 1.37 preview (notes of 2026-09-04) predates upstream 1.37.1 (2026-09-15).
  { minor: "1.37", patches: ["1.37.0", "1.37.1"], upgrades: [], supportPlan: COMMUNITY_AND_LTS },
];

let catalogue: readonly MinorVersion[] = BUILT_IN_CATALOGUE;

/** The catalogue in force: the built-in one, or the file loadVersionCatalogue read. */
export const versionCatalogue = (): readonly MinorVersion[] => catalogue;

/** The minor new clusters get when they name no version. */
export const defaultMinor = (): MinorVersion => catalogue.find((v) => v.isDefault)!;

// ---- the catalogue file ----------------------------------------------------------------------------

const MINOR = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const PATCH = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const SUPPORT_PLANS = ["KubernetesOfficial", "AKSLongTermSupport"];

/**
 * Replaces the catalogue with a JSON file {"versions": [MinorVersion, ...]}, or restores the
 * built-in one (file undefined). A file that does not hold a usable catalogue is a ConfigError
 * naming the file and the fault, and leaves the catalogue in force as it was.
 */
export function loadVersionCatalogue(file: string | undefined): void {
  if (file === undefined) {
    catalogue = BUILT_IN_CATALOGUE;
    return;
  }
  const fail = (what: string): never => {
    throw new ConfigError(`FLOCI_AZ_SERVICES_AKS_KUBERNETES_VERSIONS_FILE ${file}: ${what}`);
  };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return fail(`cannot be read (${(error as Error).message})`);
  }
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`is not JSON (${(error as Error).message})`);
  }
  const versions = parsed?.versions;
  if (!Array.isArray(versions) || versions.length === 0) fail('needs {"versions": [...]} with at least one entry');
  const entries: MinorVersion[] = versions.map((raw: any, index: number) => catalogueEntry(raw, `versions[${index}]`, fail));
  const minors = entries.map((e) => e.minor);
  for (const [index, minor] of minors.entries()) if (minors.indexOf(minor) !== index) fail(`minor ${minor} appears twice`);
  for (const entry of entries) {
    for (const target of entry.upgrades) {
      if (!minors.includes(target)) fail(`${entry.minor} upgrades to ${target}, which is not a minor in the file`);
      if (compareVersions(target, entry.minor) <= 0) fail(`${entry.minor} upgrades to ${target}, which is not a newer minor`);
    }
  }
  const defaults = entries.filter((e) => e.isDefault);
  if (defaults.length !== 1) fail(`needs exactly one entry with "isDefault": true, found ${defaults.length}${defaults.length ? ` (${defaults.map((e) => e.minor).join(", ")})` : ""}`);
  catalogue = Object.freeze(entries.sort((a, b) => compareVersions(a.minor, b.minor)));
}

function catalogueEntry(raw: any, where: string, fail: (what: string) => never): MinorVersion {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`${where} is not an object`);
  const { minor, patches, upgrades = [], isDefault, isPreview, supportPlan = ["KubernetesOfficial"] } = raw;
  if (typeof minor !== "string" || !MINOR.test(minor)) fail(`${where}.minor must be a minor version like "1.35", got ${JSON.stringify(minor)}`);
  if (!Array.isArray(patches) || patches.length === 0) fail(`${where} (${minor}) needs a non-empty "patches" list`);
  for (const patch of patches) {
    if (typeof patch !== "string" || !PATCH.test(patch)) fail(`${where} (${minor}) patch ${JSON.stringify(patch)} is not a version like "1.35.1"`);
    if (minorOf(patch) !== minor) fail(`${where} (${minor}) patch ${patch} is not a patch of ${minor}`);
  }
  if (new Set(patches).size !== patches.length) fail(`${where} (${minor}) lists a patch twice`);
  if (!Array.isArray(upgrades) || upgrades.some((u: unknown) => typeof u !== "string")) fail(`${where} (${minor}) "upgrades" must be a list of minors`);
  for (const flag of ["isDefault", "isPreview"] as const) {
    if (raw[flag] !== undefined && typeof raw[flag] !== "boolean") fail(`${where} (${minor}) "${flag}" must be true or false`);
  }
  if (!Array.isArray(supportPlan) || supportPlan.length === 0 || supportPlan.some((p: unknown) => !SUPPORT_PLANS.includes(p as string))) {
    fail(`${where} (${minor}) "supportPlan" must list ${SUPPORT_PLANS.join(" and/or ")}`);
  }
  return {
    minor,
    patches: [...patches].sort(compareVersions),
    upgrades: [...upgrades],
    ...(isDefault ? { isDefault: true } : {}),
    ...(isPreview ? { isPreview: true } : {}),
    supportPlan: [...supportPlan],
  };
}

// ---- Kubernetes releases outside the catalogue (the default mode's let-off) -------------------------

/**
 * Each upstream minor's newest patch, as of December 2026: finals from kubernetes/website's
 * data/releases/eol.yaml and the k3s release notes (1.29.15 shipped 2025-03 although eol.yaml still
 * says 1.29.14; 1.33.13 is the last 1.33 patch AKS announced); for minors still patched upstream, the
 * newest release the sources show (kubernetes.io/releases, AKS notes of 2026-10-25). A newer upstream
 * patch than these is refused as unknown.
 */
export const UPSTREAM_NEWEST_PATCH: Readonly<Record<string, string>> = Object.freeze({
  "1.24": "1.24.17",
  "1.25": "1.25.16",
  "1.26": "1.26.15",
  "1.27": "1.27.16",
  "1.28": "1.28.15",
  "1.29": "1.29.15",
  "1.30": "1.30.14",
  "1.31": "1.31.14",
  "1.32": "1.32.13",
  "1.33": "1.33.13",
  "1.34": "1.34.12",
  "1.35": "1.35.9",
  "1.36": "1.36.5",
  "1.37": "1.37.1",
});

/** A real upstream release a version names: "1.29" -> 1.29.15; "1.29.3" -> itself; else undefined. */
export function kubernetesRelease(version: string): string | undefined {
  if (MINOR.test(version)) return UPSTREAM_NEWEST_PATCH[version];
  if (!PATCH.test(version)) return undefined;
  const newest = UPSTREAM_NEWEST_PATCH[minorOf(version)];
  return newest && compareVersions(version, newest) <= 0 ? version : undefined;
}

/** A version resolved from a request, and the let-off to note once the request is accepted. */
interface Resolved {
  version: string;
  letOff?: string;
}

function lenientRelease(requested: string, policy: LeniencyPolicy | undefined, refusal: string): Resolved | undefined {
  if (!policy?.lenient) return undefined;
  const release = kubernetesRelease(requested);
  if (!release) return undefined;
  return {
    version: release,
    letOff: `${requested} is not in AKS's version catalogue; accepted as ${release}, a Kubernetes release (strict mode refuses it with ${refusal})`,
  };
}

const noteLetOff = (resolved: Resolved, policy: LeniencyPolicy | undefined) => {
  if (resolved.letOff) policy?.note("kubernetes-version", resolved.letOff);
};

// ---- versions and upgrade paths ----------------------------------------------------------------------

/** "1.36.5" -> "1.36", one string per minor (a cluster stores its own). */
export const minorOf = (version: string): string => minorsOfVersions.getOrMake(version, (v) => v.split(".").slice(0, 2).join("."));
const minorsOfVersions = new BoundedCache<string, string>(1024);

const minorEntry = (version: string) => catalogue.find((v) => v.minor === minorOf(version));
const minorNumber = (version: string) => Number(version.split(".")[1]);

/** Semantic order of two "1.x.y" versions (negative when a < b). */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export const isKnownPatch = (version: string) => !!minorEntry(version)?.patches.includes(version);
export const isPreviewVersion = (version: string) => minorEntry(version)?.isPreview === true;

/**
 * Where a patch may go, as AKS lists it: newer patches of its minor, then every patch of the minors
 * it upgrades to (oldest first). Only catalogue versions: a version outside it lists nothing.
 */
export function upgradeTargets(version: string): string[] {
  const entry = minorEntry(version);
  if (!entry) return [];
  const newerPatches = entry.patches.filter((p) => compareVersions(p, version) > 0);
  const nextMinors = entry.upgrades.flatMap((minor) => catalogue.find((v) => v.minor === minor)?.patches ?? []);
  return [...newerPatches, ...nextMinors];
}

/**
 * What a PUT may move a version to: the catalogue's paths; from a minor outside the catalogue
 * (accepted in the default mode), its own newest release, then the next minor only: its catalogue
 * patches, else its newest release.
 */
function allowedUpgrades(version: string): string[] {
  if (minorEntry(version)) return upgradeTargets(version);
  const [major, minor] = version.split(".").map(Number);
  const next = `${major}.${minor + 1}`;
  const own = UPSTREAM_NEWEST_PATCH[minorOf(version)];
  const nextEntry = catalogue.find((v) => v.minor === next);
  const nextRelease = UPSTREAM_NEWEST_PATCH[next];
  return [
    ...(own && compareVersions(own, version) > 0 ? [own] : []),
    ...(nextEntry ? nextEntry.patches : nextRelease ? [nextRelease] : []),
  ];
}

/**
 * Whether a PUT may move `current` to a resolved target: along the paths above; a release let off in
 * the default mode may also be any newer patch of a minor those paths reach (k3s ships patches AKS
 * skipped, and real-mode users pin them).
 */
function mayUpgrade(current: string, resolved: Resolved, allowed: string[]): boolean {
  if (allowed.includes(resolved.version)) return true;
  if (!resolved.letOff || compareVersions(resolved.version, current) <= 0) return false;
  return [current, ...allowed].some((v) => minorOf(v) === minorOf(resolved.version));
}

function resolveClusterVersion(requested: string, location: string, policy: LeniencyPolicy | undefined): Resolved {
  const minor = catalogue.find((v) => v.minor === requested || v.patches.includes(requested));
  if (minor) return { version: minor.minor === requested ? minor.patches.at(-1)! : requested };
  const lenient = lenientRelease(requested, policy, "K8sVersionNotSupported");
  if (lenient) return lenient;
  throw errors.k8sVersionNotSupported(requested, location);
}

/**
 * "1.36" -> newest 1.36 patch; "1.36.3" -> itself; anything else is AKS's refusal, except that the
 * default mode (policy.lenient) accepts a real Kubernetes release outside the catalogue and notes it.
 */
export function resolveKubernetesVersion(requested: string | undefined, location: string, policy?: LeniencyPolicy): string {
  if (!requested) return defaultMinor().patches.at(-1)!;
  const resolved = resolveClusterVersion(requested, location, policy);
  noteLetOff(resolved, policy);
  return resolved.version;
}

/**
 * The control plane version a PUT asks for, checked against the upgrade paths. Naming the current
 * minor ("1.36" while on 1.36.2) keeps the current patch, as AKS does; a downgrade or a skipped
 * minor is AKS's 400 OperationNotAllowed, listing the available upgrades newest first.
 */
export function clusterUpgradeTarget(current: string, requested: string | undefined, location: string, policy?: LeniencyPolicy): string {
  if (!requested || requested === minorOf(current) || requested === current) return current;
  const resolved = resolveClusterVersion(requested, location, policy);
  const target = resolved.version;
  if (target === current) return current;
  const allowed = allowedUpgrades(current);
  if (compareVersions(target, current) < 0) throw errors.kubernetesDowngrade(current, target, allowed);
  if (!mayUpgrade(current, resolved, allowed)) throw errors.kubernetesUpgradeNotAllowed(current, target, allowed);
  noteLetOff(resolved, policy);
  return target;
}

/**
 * The version an agent pool runs after a PUT: `current` undefined for a new pool. A minor alias
 * picks the newest patch not above the control plane (the current one if it names the pool's own
 * minor). Pools upgrade along the same paths as clusters, never past the control plane, and stay
 * within the skew policy below it.
 */
export function poolVersion(current: string | undefined, requested: string | undefined, controlPlane: string, location: string, policy?: LeniencyPolicy): string {
  const resolved = resolvePoolVersion(current, requested ?? current ?? controlPlane, controlPlane, location, policy);
  const target = resolved.version;
  if (current && target !== current && !mayUpgrade(current, resolved, allowedUpgrades(current))) {
    throw errors.agentPoolUpgradeNotAllowed(current, target);
  }
  if (compareVersions(target, controlPlane) > 0) {
    throw errors.poolAboveControlPlane(target, controlPlane, minorNumber(target), minorNumber(controlPlane));
  }
  if (minorNumber(controlPlane) - minorNumber(target) > MAX_POOL_MINOR_SKEW) {
    throw errors.poolTooFarBehind(target, controlPlane, MAX_POOL_MINOR_SKEW, minorNumber(target), minorNumber(controlPlane));
  }
  noteLetOff(resolved, policy);
  return target;
}

function resolvePoolVersion(current: string | undefined, requested: string, controlPlane: string, location: string, policy: LeniencyPolicy | undefined): Resolved {
  // The pool's own version, or the control plane's, stays acceptable even once outside the catalogue.
  if (current && (requested === current || requested === minorOf(current))) return { version: current };
  if (requested === controlPlane || isKnownPatch(requested)) return { version: requested };
  const entry = catalogue.find((v) => v.minor === requested);
  if (entry) return { version: [...entry.patches].reverse().find((p) => compareVersions(p, controlPlane) <= 0) ?? entry.patches.at(-1)! };
  const lenient = lenientRelease(requested, policy, "AgentPoolK8sVersionNotSupported");
  if (lenient) return lenient;
  throw errors.agentPoolK8sVersionNotSupported(requested, location);
}

/** Patches a new pool may run beside this control plane: not above it, within the skew policy. */
export function agentPoolVersions(controlPlane: string): string[] {
  return catalogue
    .flatMap((v) => v.patches)
    .filter((p) => compareVersions(p, controlPlane) <= 0 && minorNumber(controlPlane) - minorNumber(p) <= MAX_POOL_MINOR_SKEW);
}

// ---- node images ----------------------------------------------------------------------------------

/**
 * Node image releases, oldest first. New pools start on the release rolled out as the region's
 * default; the newest one is what a node image upgrade (or a Kubernetes upgrade, which reimages the
 * nodes) moves a pool to, and what the upgrade profile reports as latestNodeImageVersion. Linux:
 * releases seen on AKS clusters in Aug/Sep 2026; Windows: AgentBaker's 2026-02B/03B bases (the
 * newest the sources show; AKS ships newer ones monthly).
 */
const NODE_IMAGE_RELEASES = { linux: ["202608.06.1", "202609.15.0"], windows: ["20348.4773.260206", "20348.4893.260303"] };

export type NodeImageRelease = "default" | "latest";

export function nodeImageVersion(osSku: string | undefined, release: NodeImageRelease = "default"): string {
  // One string per image, shared by every pool that runs it (each pool stores its image's name).
  return nodeImageNames.getOrMake(`${osSku}|${release}`, () => flatString(imageName(osSku, release)));
}
const nodeImageNames = new BoundedCache<string, string>(256);

function imageName(osSku: string | undefined, release: NodeImageRelease): string {
  const pick = (list: string[]) => (release === "latest" ? list.at(-1)! : list.at(-2)!);
  if (osSku?.startsWith("Windows")) return `AKSWindows-${osSku === "Windows2019" ? "2019" : "2022"}-containerd-${pick(NODE_IMAGE_RELEASES.windows)}`;
  if (osSku === "AzureLinux") return `AKSAzureLinux-V3gen2-${pick(NODE_IMAGE_RELEASES.linux)}`;
  if (osSku === "Ubuntu2404") return `AKSUbuntu-2404gen2containerd-${pick(NODE_IMAGE_RELEASES.linux)}`;
  return `AKSUbuntu-2204gen2containerd-${pick(NODE_IMAGE_RELEASES.linux)}`;
}

// ---- k3s images (real mode) -------------------------------------------------------------------------

/**
 * rancher/k3s image tags (k3s release vX.Y.Z+k3sN, tagged vX.Y.Z-k3sN on Docker Hub) for every
 * catalogue patch, every newest release the default mode accepts (1.29.15 is the seed's "1.29"), and
 * the patches of earlier catalogues (clusters stored under them). An explicit table, never a formatted
 * tag: the suffix is the newest k3s build of that Kubernetes patch the sources show, and k3s skips
 * patches (its first 1.34 release is v1.34.1+k3s1). Every tag is one of
 * scripts/k3s-standin/published-tags.txt (the verified list, with its sources; the stand-in images
 * are built only for those). Sources, per row:
 *   [docs]    k3s-io/docs docs/release-notes/v1.XX.X.md (docs.k3s.io/release-notes/v1.XX.X)
 *   [release] github.com/k3s-io/k3s/releases/tag/<release>
 *   [channel] update.k3s.io/v1-release/channels, the minor's channel (as quoted by users' repositories)
 *   [users]   public repositories pinning or running the release (installers, Rancher's version lists)
 */
const K3S_TAGS: Readonly<Record<string, string>> = Object.freeze({
  "1.24.17": "v1.24.17-k3s1", // [channel] v1.24 = v1.24.17+k3s1 (superseb/ranchertools CHANNELS.md)
  "1.25.16": "v1.25.16-k3s4", // [channel] v1.25 = v1.25.16+k3s4 (same)
  "1.26.15": "v1.26.15-k3s1", // [channel] v1.26 = v1.26.15+k3s1 (same)
  "1.27.16": "v1.27.16-k3s1", // [channel] v1.27 = v1.27.16+k3s1 (same)
  "1.28.15": "v1.28.15-k3s1", // [channel] v1.28 = v1.28.15+k3s1 (same)
  "1.29.15": "v1.29.15-k3s1", // [users] v1.29.15+k3s1, 2025-03-25, the last 1.29 release
  "1.30.14": "v1.30.14-k3s2", // [docs] v1.30.X: v1.30.14+k3s2, Jul 26 2025 (after +k3s1, Jun 30)
  "1.31.11": "v1.31.11-k3s1", // [docs] v1.31.X: Jul 26 2025
  "1.31.12": "v1.31.12-k3s1", // [docs] v1.31.X: Aug 25 2025
  "1.31.13": "v1.31.13-k3s1", // [docs] v1.31.X: Sep 22 2025
  "1.31.14": "v1.31.14-k3s1", // [docs] v1.31.X: Nov 20 2025
  "1.32.7": "v1.32.7-k3s1", // [docs] v1.32.X: Jul 26 2025
  "1.32.8": "v1.32.8-k3s1", // [docs] v1.32.X: Aug 25 2025
  "1.32.9": "v1.32.9-k3s1", // [docs] v1.32.X: Sep 22 2025
  "1.32.11": "v1.32.11-k3s3", // [users] v1.32.11+k3s3 (Rancher v2.13.1's K3s list, its k3s-images.txt release asset); +k3s1 also exists
  "1.32.13": "v1.32.13-k3s1", // [users] rancher/k3s-upgrade:v1.32.13-k3s1 by digest; 2026-03-04, the last 1.32 release
  "1.33.3": "v1.33.3-k3s1", // [docs] v1.33.X: Jul 26 2025
  "1.33.4": "v1.33.4-k3s1", // [docs] v1.33.X: Aug 25 2025
  "1.33.5": "v1.33.5-k3s1", // [docs] v1.33.X: Sep 22 2025
  "1.33.7": "v1.33.7-k3s1", // [docs] v1.33.X: Dec 19 2025
  "1.33.13": "v1.33.13-k3s2", // [users] v1.33.13+k3s2, 2026-08-04, the v1.33 channel's latest; +k3s1 also exists
  "1.34.1": "v1.34.1-k3s1", // [docs] v1.34.X: Sep 22 2025, "the first k3s release in the 1.34 release line"
  "1.34.9": "v1.34.9-k3s1", // [release] v1.34.9+k3s1
  "1.34.10": "v1.34.10-k3s1", // [users] v1.34.10+k3s1, 2026-07-29
  "1.34.12": "v1.34.12-k3s1", // [channel] v1.34 = v1.34.12+k3s1 (30 Sep 2026)
  "1.35.6": "v1.35.6-k3s1", // [release] v1.35.6+k3s1
  "1.35.7": "v1.35.7-k3s1", // [users] v1.35.7+k3s1, 2026-07-29
  "1.35.9": "v1.35.9-k3s1", // [users] v1.35.9+k3s1 (installers pinning it, 2026-09/10)
  "1.36.2": "v1.36.2-k3s1", // [docs] v1.36.X: Jun 24 2026
  "1.36.3": "v1.36.3-k3s1", // [docs] v1.37.X: "Update stable channel to v1.36.3+k3s1"
  "1.36.5": "v1.36.5-k3s1", // [channel] stable = v1.36.5+k3s1 (30 Sep 2026)
  "1.37.0": "v1.37.0-k3s1", // [docs] v1.37.X: Sep 14 2026
  "1.37.1": "v1.37.1-k3s1", // [docs] v1.37.X: Sep 30 2026
});

/** The table itself (Kubernetes patch -> rancher/k3s tag), for the tests and the stand-in build. */
export const K3S_IMAGE_TAGS = K3S_TAGS;

/**
 * The rancher/k3s tag of a Kubernetes version: its own build, else the newest build of the same
 * minor not above it (k3s skips some patches); a version older than every build of its minor, or of
 * a minor k3s is not listed for, has none.
 */
export function k3sTag(kubernetesVersion: string): string {
  const exact = K3S_TAGS[kubernetesVersion];
  if (exact) return exact;
  const below = Object.keys(K3S_TAGS)
    .filter((v) => minorOf(v) === minorOf(kubernetesVersion) && compareVersions(v, kubernetesVersion) <= 0)
    .sort(compareVersions)
    .at(-1);
  if (below) return K3S_TAGS[below];
  throw new Error(
    `No rancher/k3s image is known for Kubernetes ${kubernetesVersion}. Set FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE to an image with a tag (e.g. rancher/k3s:v1.36.5-k3s1) to run it.`,
  );
}

/** Whether an image reference names a tag or a digest (a registry's ":port" does not count). */
export const imageHasTag = (image: string) => image.includes("@") || image.slice(image.lastIndexOf("/") + 1).includes(":");

/**
 * The image a real-mode node of this version runs: FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE as is when it
 * names a tag (or digest), which then overrides the mapping; else that repository with the mapped tag.
 */
export const k3sImage = (defaultImage: string, kubernetesVersion: string) =>
  imageHasTag(defaultImage) ? defaultImage : `${defaultImage}:${k3sTag(kubernetesVersion)}`;
