// The Kubernetes version catalogue: its invariants, the file that can replace it, the default mode's
// acceptance of real Kubernetes releases outside it, and the rancher/k3s tag of each version.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ArmError } from "../../src/arm/errors.js";
import { LeniencyRecord, STRICT } from "../../src/arm/leniency.js";
import { ConfigError } from "../../src/config.js";
import {
  clusterUpgradeTarget,
  compareVersions,
  defaultMinor,
  K3S_IMAGE_TAGS,
  k3sImage,
  k3sTag,
  kubernetesRelease,
  loadVersionCatalogue,
  MAX_POOL_MINOR_SKEW,
  minorOf,
  poolVersion,
  resolveKubernetesVersion,
  UPSTREAM_NEWEST_PATCH,
  upgradeTargets,
  versionCatalogue,
} from "../../src/engine/versions.js";

const LOCATION = "eastus";
const dir = mkdtempSync(join(tmpdir(), "aks-versions-"));
let files = 0;
const catalogueFile = (content: unknown) => {
  const file = join(dir, `versions-${files++}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
};
const entry = (minor: string, patches: string[], upgrades: string[], extra: Record<string, unknown> = {}) => ({
  minor,
  patches,
  upgrades,
  isPreview: false,
  supportPlan: ["KubernetesOfficial"],
  ...extra,
});
const GOOD = {
  versions: [entry("1.35", ["1.35.1"], ["1.36"]), entry("1.36", ["1.36.0", "1.36.2"], [], { isDefault: true })],
};
/** The ARM error a call throws. */
const armError = (call: () => unknown): ArmError => {
  try {
    call();
  } catch (error) {
    if (error instanceof ArmError) return error;
    throw error;
  }
  throw new Error("expected an ArmError");
};

afterEach(() => loadVersionCatalogue(undefined));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the built-in catalogue", () => {
  it("has one default, patches of their own minor oldest first, and upgrades to newer minors it lists", () => {
    const catalogue = versionCatalogue();
    expect(catalogue.filter((v) => v.isDefault)).toHaveLength(1);
    expect(defaultMinor()).toBe(catalogue.find((v) => v.isDefault));
    expect(defaultMinor().isPreview).not.toBe(true);
    const minors = catalogue.map((v) => v.minor);
    expect([...minors].sort(compareVersions)).toEqual(minors);
    for (const minor of catalogue) {
      expect(minor.patches.length).toBeGreaterThan(0);
      expect([...minor.patches].sort(compareVersions)).toEqual(minor.patches);
      for (const patch of minor.patches) expect(minorOf(patch)).toBe(minor.minor);
      expect(minor.supportPlan.length).toBeGreaterThan(0);
      for (const target of minor.upgrades) {
        expect(minors).toContain(target);
        expect(compareVersions(target, minor.minor)).toBeGreaterThan(0);
        // an upgrade never leaves pools further behind than the skew policy allows
        expect(Number(target.split(".")[1]) - Number(minor.minor.split(".")[1])).toBeLessThanOrEqual(MAX_POOL_MINOR_SKEW);
      }
    }
  });

  it("upgrades community minors one minor at a time, and every minor but the newest somewhere", () => {
    const catalogue = versionCatalogue();
    for (const [index, minor] of catalogue.entries()) {
      const next = catalogue[index + 1]?.minor;
      if (!next) expect(minor.upgrades).toEqual([]);
      else expect(minor.upgrades).toContain(next);
      if (minor.supportPlan.includes("KubernetesOfficial")) expect(minor.upgrades).toEqual(next ? [next] : []);
      else expect(minor.supportPlan).toEqual(["AKSLongTermSupport"]);
    }
  });

  it("resolves no version to the default minor's newest patch and an alias to its newest patch", () => {
    expect(resolveKubernetesVersion(undefined, LOCATION)).toBe(defaultMinor().patches.at(-1));
    for (const minor of versionCatalogue()) {
      expect(resolveKubernetesVersion(minor.minor, LOCATION)).toBe(minor.patches.at(-1));
      for (const patch of minor.patches) expect(resolveKubernetesVersion(patch, LOCATION)).toBe(patch);
    }
  });
});

describe("a catalogue file", () => {
  it("replaces the catalogue for every reader, and undefined restores the built-in one", () => {
    const builtIn = versionCatalogue();
    loadVersionCatalogue(catalogueFile(GOOD));
    expect(versionCatalogue().map((v) => v.minor)).toEqual(["1.35", "1.36"]);
    expect(defaultMinor().minor).toBe("1.36");
    expect(resolveKubernetesVersion(undefined, LOCATION)).toBe("1.36.2");
    expect(resolveKubernetesVersion("1.35", LOCATION)).toBe("1.35.1");
    expect(upgradeTargets("1.35.1")).toEqual(["1.36.0", "1.36.2"]);
    expect(armError(() => resolveKubernetesVersion(builtIn[0].patches[0], LOCATION)).code).toBe("K8sVersionNotSupported");

    loadVersionCatalogue(undefined);
    expect(versionCatalogue()).toBe(builtIn);
  });

  it("sorts minors and patches oldest first and defaults supportPlan and upgrades", () => {
    loadVersionCatalogue(
      catalogueFile({ versions: [{ minor: "1.36", patches: ["1.36.2", "1.36.0"], isDefault: true }, { minor: "1.35", patches: ["1.35.1"], upgrades: ["1.36"] }] }),
    );
    expect(versionCatalogue()).toEqual([
      { minor: "1.35", patches: ["1.35.1"], upgrades: ["1.36"], supportPlan: ["KubernetesOfficial"] },
      { minor: "1.36", patches: ["1.36.0", "1.36.2"], upgrades: [], isDefault: true, supportPlan: ["KubernetesOfficial"] },
    ]);
  });

  const bad: [string, unknown, RegExp][] = [
    ["is not JSON", "{versions:", /is not JSON/],
    ["has no versions", { minors: [] }, /at least one entry/],
    ["has an empty versions list", { versions: [] }, /at least one entry/],
    ["has no default", { versions: [entry("1.36", ["1.36.0"], [])] }, /exactly one entry with "isDefault": true, found 0/],
    [
      "has two defaults",
      { versions: [entry("1.35", ["1.35.1"], ["1.36"], { isDefault: true }), entry("1.36", ["1.36.0"], [], { isDefault: true })] },
      /exactly one entry with "isDefault": true, found 2 \(1\.35, 1\.36\)/,
    ],
    ["names a patch of another minor", { versions: [entry("1.36", ["1.36.0", "1.35.4"], [], { isDefault: true })] }, /patch 1\.35\.4 is not a patch of 1\.36/],
    ["names a patch that is no version", { versions: [entry("1.36", ["1.36"], [], { isDefault: true })] }, /patch "1\.36" is not a version like "1\.35\.1"/],
    ["has a minor with no patches", { versions: [entry("1.36", [], [], { isDefault: true })] }, /\(1\.36\) needs a non-empty "patches" list/],
    ["names a minor that is no minor", { versions: [entry("1.36.0", ["1.36.0"], [], { isDefault: true })] }, /minor must be a minor version like "1\.35", got "1\.36\.0"/],
    ["upgrades to a minor not in the file", { versions: [entry("1.36", ["1.36.0"], ["1.37"], { isDefault: true })] }, /1\.36 upgrades to 1\.37, which is not a minor in the file/],
    [
      "upgrades to an older minor",
      { versions: [entry("1.35", ["1.35.1"], []), entry("1.36", ["1.36.0"], ["1.35"], { isDefault: true })] },
      /1\.36 upgrades to 1\.35, which is not a newer minor/,
    ],
    ["lists a minor twice", { versions: [entry("1.36", ["1.36.0"], [], { isDefault: true }), entry("1.36", ["1.36.1"], [])] }, /minor 1\.36 appears twice/],
    ["names an unknown support plan", { versions: [entry("1.36", ["1.36.0"], [], { isDefault: true, supportPlan: ["Premium"] })] }, /"supportPlan" must list/],
  ];
  it.each(bad)("is refused, naming the file, when it %s", (_what, content, problem) => {
    const file = catalogueFile(content);
    const builtIn = versionCatalogue();
    let thrown: unknown;
    try {
      loadVersionCatalogue(file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(file);
    expect((thrown as Error).message).toMatch(problem);
    // a refused file leaves the catalogue in force
    expect(versionCatalogue()).toBe(builtIn);
  });

  it("is refused, naming the file, when it cannot be read", () => {
    const missing = join(dir, "missing.json");
    expect(() => loadVersionCatalogue(missing)).toThrow(ConfigError);
    expect(() => loadVersionCatalogue(missing)).toThrow(new RegExp(`${missing.replace(/[.\\/]/g, "\\$&")}: cannot be read`));
  });
});

describe("Kubernetes releases outside the catalogue", () => {
  it("knows each upstream minor's newest patch from 1.24 to the newest catalogue minor", () => {
    const newest = Number(versionCatalogue().at(-1)!.minor.split(".")[1]);
    for (let minor = 24; minor <= newest; minor++) expect(UPSTREAM_NEWEST_PATCH[`1.${minor}`]).toMatch(new RegExp(`^1\\.${minor}\\.\\d+$`));
    expect(UPSTREAM_NEWEST_PATCH["1.29"]).toBe("1.29.15");
    expect(kubernetesRelease("1.29")).toBe("1.29.15");
    expect(kubernetesRelease("1.29.3")).toBe("1.29.3");
    expect(kubernetesRelease("1.29.15")).toBe("1.29.15");
    for (const unknown of ["1.29.16", "1.29.99", "1.99", "1.23", "2.0", "1.29.03", "abc", "", "1.29.3.1", "v1.29.3"]) expect(kubernetesRelease(unknown)).toBeUndefined();
  });

  it("in the default mode accepts 1.29 as 1.29.15 and 1.29.3 as itself, noting each let-off", () => {
    const record = new LeniencyRecord();
    expect(resolveKubernetesVersion("1.29", LOCATION, record)).toBe("1.29.15");
    expect(resolveKubernetesVersion("1.29.3", LOCATION, record)).toBe("1.29.3");
    expect(record.used).toEqual([
      {
        kind: "kubernetes-version",
        detail: "1.29 is not in AKS's version catalogue; accepted as 1.29.15, a Kubernetes release (strict mode refuses it with K8sVersionNotSupported)",
      },
      {
        kind: "kubernetes-version",
        detail: "1.29.3 is not in AKS's version catalogue; accepted as 1.29.3, a Kubernetes release (strict mode refuses it with K8sVersionNotSupported)",
      },
    ]);
    expect(LeniencyRecord.headerValue(record.used)).toContain("kubernetes-version: 1.29 is not in AKS's version catalogue, accepted as 1.29.15");
  });

  it("notes nothing for a catalogue version", () => {
    const record = new LeniencyRecord();
    expect(resolveKubernetesVersion(defaultMinor().minor, LOCATION, record)).toBe(defaultMinor().patches.at(-1));
    expect(resolveKubernetesVersion(undefined, LOCATION, record)).toBe(defaultMinor().patches.at(-1));
    expect(record.used).toEqual([]);
  });

  it.each(["1.29.99", "1.99", "2.0", "abc"])("refuses %s even in the default mode, as AKS does", (version) => {
    const record = new LeniencyRecord();
    const error = armError(() => resolveKubernetesVersion(version, LOCATION, record));
    expect({ status: error.status, code: error.code, target: error.target }).toEqual({ status: 400, code: "K8sVersionNotSupported", target: "properties.kubernetesVersion" });
    expect(error.message).toBe(
      `Version ${version} is not supported in this region (${LOCATION}). Please use [az aks get-versions] command to get the supported version list in this region.`,
    );
    expect(record.used).toEqual([]);
  });

  it.each([
    ["no policy", undefined],
    ["the strict policy", STRICT],
  ])("refuses 1.29 with %s", (_what, policy) => {
    expect(armError(() => resolveKubernetesVersion("1.29", LOCATION, policy)).code).toBe("K8sVersionNotSupported");
    expect(armError(() => clusterUpgradeTarget(defaultMinor().patches[0], "1.29.3", LOCATION, policy)).code).toBe("K8sVersionNotSupported");
  });

  it("refuses a pool's out-of-catalogue version as AgentPoolK8sVersionNotSupported, unless lenient", () => {
    const controlPlane = versionCatalogue()[0].patches.at(-1)!; // 1.32.x
    expect(armError(() => poolVersion(undefined, "1.31", controlPlane, LOCATION)).code).toBe("AgentPoolK8sVersionNotSupported");
    expect(armError(() => poolVersion(undefined, "1.31", controlPlane, LOCATION, STRICT)).code).toBe("AgentPoolK8sVersionNotSupported");
    const record = new LeniencyRecord();
    expect(poolVersion(undefined, "1.31", controlPlane, LOCATION, record)).toBe("1.31.14");
    expect(record.used.map((l) => l.detail)).toEqual([
      "1.31 is not in AKS's version catalogue; accepted as 1.31.14, a Kubernetes release (strict mode refuses it with AgentPoolK8sVersionNotSupported)",
    ]);
    expect(armError(() => poolVersion(undefined, "1.31.99", controlPlane, LOCATION, new LeniencyRecord())).code).toBe("AgentPoolK8sVersionNotSupported");
  });

  it("upgrades an out-of-catalogue cluster one minor at a time, and lists only the catalogue", () => {
    const record = new LeniencyRecord();
    expect(clusterUpgradeTarget("1.29.3", "1.29", LOCATION, record)).toBe("1.29.3"); // its own minor: no change
    expect(clusterUpgradeTarget("1.29.3", "1.29.15", LOCATION, record)).toBe("1.29.15");
    expect(clusterUpgradeTarget("1.29.15", "1.30", LOCATION, record)).toBe("1.30.14");
    expect(record.used.map((l) => l.detail)).toEqual([
      "1.29.15 is not in AKS's version catalogue; accepted as 1.29.15, a Kubernetes release (strict mode refuses it with K8sVersionNotSupported)",
      "1.30 is not in AKS's version catalogue; accepted as 1.30.14, a Kubernetes release (strict mode refuses it with K8sVersionNotSupported)",
    ]);
    const skip = armError(() => clusterUpgradeTarget("1.29.15", "1.31", LOCATION, new LeniencyRecord()));
    expect(skip.code).toBe("OperationNotAllowed");
    expect(skip.message).toContain("Upgrading Kubernetes version 1.29.15 to 1.31.14 is not allowed. Available upgrades: [1.30.14].");
    // the minor below the catalogue's oldest goes to that minor's catalogue patches
    const oldest = versionCatalogue()[0];
    const below = `1.${Number(oldest.minor.split(".")[1]) - 1}`;
    expect(clusterUpgradeTarget(UPSTREAM_NEWEST_PATCH[below], oldest.minor, LOCATION, new LeniencyRecord())).toBe(oldest.patches.at(-1));
    // a release let off may be any newer patch of a minor the paths reach; strict mode names only the catalogue
    const community = versionCatalogue().find((v) => v.upgrades.length === 1)!; // 1.35 -> 1.36
    const next = versionCatalogue().find((v) => v.minor === community.upgrades[0])!;
    const unlisted = `${next.minor}.${Number(next.patches[0].split(".")[2]) - 1}`; // 1.36.1: a release AKS skipped
    expect(clusterUpgradeTarget(community.patches[0], unlisted, LOCATION, new LeniencyRecord())).toBe(unlisted);
    expect(poolVersion(community.patches[0], unlisted, next.patches.at(-1)!, LOCATION, new LeniencyRecord())).toBe(unlisted);
    expect(armError(() => clusterUpgradeTarget(community.patches[0], unlisted, LOCATION, STRICT)).code).toBe("K8sVersionNotSupported");
    expect(armError(() => clusterUpgradeTarget(next.patches[0], `${community.minor}.1`, LOCATION, new LeniencyRecord())).code).toBe("OperationNotAllowed");
    // what AKS lists stays the catalogue
    expect(upgradeTargets("1.29.15")).toEqual([]);
    // the version a cluster already runs stays acceptable in strict mode
    expect(clusterUpgradeTarget("1.29.15", "1.29.15", LOCATION, STRICT)).toBe("1.29.15");
    expect(poolVersion("1.29.15", undefined, "1.29.15", LOCATION, STRICT)).toBe("1.29.15");
    expect(poolVersion(undefined, undefined, "1.29.15", LOCATION, STRICT)).toBe("1.29.15");
  });
});

describe("rancher/k3s tags", () => {
  it("maps every catalogue patch and every accepted release to a k3s build of that patch", () => {
    const versions = [...versionCatalogue().flatMap((v) => v.patches), ...Object.values(UPSTREAM_NEWEST_PATCH)];
    for (const version of versions) expect(k3sTag(version)).toMatch(new RegExp(`^v${version.replace(/\./g, "\\.")}-k3s\\d+$`));
  });

  it("knows k3s's first 1.34 build, v1.34.1-k3s1, and that there is no 1.34.0 build", () => {
    expect(k3sTag("1.34.1")).toBe("v1.34.1-k3s1");
    expect(k3sImage("rancher/k3s", "1.34.1")).toBe("rancher/k3s:v1.34.1-k3s1");
    expect(() => k3sTag("1.34.0")).toThrow(/No rancher\/k3s image is known for Kubernetes 1\.34\.0/);
  });

  it("uses the newest build of the same minor not above a version it has no build for", () => {
    expect(k3sTag("1.36.4")).toBe("v1.36.3-k3s1");
    expect(k3sTag("1.36.9")).toBe("v1.36.5-k3s1");
    expect(k3sTag("1.30.14")).toBe("v1.30.14-k3s2");
    expect(() => k3sTag("1.23.17")).toThrow(/FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE/);
  });

  it("leaves an image that names a tag or digest alone, even for a version without a build", () => {
    expect(k3sImage("rancher/k3s:v1.30.4-k3s1", "1.34.0")).toBe("rancher/k3s:v1.30.4-k3s1");
    expect(k3sImage("rancher/k3s@sha256:abc", "1.23.1")).toBe("rancher/k3s@sha256:abc");
    expect(k3sImage("localhost:5000/k3s", "1.37.1")).toBe("localhost:5000/k3s:v1.37.1-k3s1");
  });
});

describe("the rancher/k3s tag table (issue 14: only tags k3s really publishes)", () => {
  const publishedFile = readFileSync(join(__dirname, "../../scripts/k3s-standin/published-tags.txt"), "utf8");
  const published = publishedFile
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(/\s+/)[0]);
  const source = readFileSync(join(__dirname, "../../src/engine/versions.ts"), "utf8");

  it("lists every verified tag once, each with its source", () => {
    expect(published.length).toBeGreaterThan(0);
    expect(new Set(published).size).toBe(published.length);
    for (const line of publishedFile.split("\n").filter((l) => l.trim() && !l.startsWith("#"))) {
      expect(line, line).toMatch(/^v\d+\.\d+\.\d+-k3s\d+\s+\S.*$/);
    }
  });

  it("is an explicit table: every row a literal tag with its source, none formatted", () => {
    const table = source.slice(source.indexOf("const K3S_TAGS"), source.indexOf("});", source.indexOf("const K3S_TAGS")));
    const rows = table.split("\n").filter((line) => /^\s+"\d/.test(line));
    expect(rows.length).toBe(Object.keys(K3S_IMAGE_TAGS).length);
    for (const row of rows) expect(row, row).toMatch(/^\s+"(\d+\.\d+\.\d+)": "v\1-k3s\d+", \/\/ \[(docs|release|channel|users)\] \S/);
    expect(table).not.toMatch(/`|\$\{|\+ ?"/);
  });

  it("names only tags from the verified list", () => {
    for (const [version, tag] of Object.entries(K3S_IMAGE_TAGS)) expect(published, `${version} -> ${tag}`).toContain(tag);
  });

  it("maps the seed's 1.29 (accepted as 1.29.15) to a real tag", () => {
    expect(kubernetesRelease("1.29")).toBe("1.29.15");
    expect(k3sTag("1.29.15")).toBe("v1.29.15-k3s1");
    expect(published).toContain(k3sTag(kubernetesRelease("1.29")!));
  });

  it("has no v1.34.0-k3s1 anywhere: k3s's first 1.34 release is v1.34.1+k3s1", () => {
    expect(Object.values(K3S_IMAGE_TAGS)).not.toContain("v1.34.0-k3s1");
    expect(published).not.toContain("v1.34.0-k3s1");
    expect(source).not.toContain("v1.34.0-k3s1");
    expect(() => k3sTag("1.34.0")).toThrow(/No rancher\/k3s image is known/);
  });

  it("picks the newest build of a patch k3s rebuilt", () => {
    expect(k3sTag("1.30.14")).toBe("v1.30.14-k3s2");
    expect(k3sTag("1.25.16")).toBe("v1.25.16-k3s4");
    expect(k3sTag("1.33.13")).toBe("v1.33.13-k3s2");
    expect(k3sTag("1.32.11")).toBe("v1.32.11-k3s3");
  });
});
