import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest, syncSpecs, type Manifest } from "../../scripts/sync-specs.js";
import { apiVersions, operationsByVersion } from "../../generated/operations.js";
import { aksHandlers } from "../../src/handlers/index.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function fixture(files: Record<string, string>, manifestFiles: Manifest["files"]) {
  const root = mkdtempSync(join(tmpdir(), "sync-specs-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, "source", path)), { recursive: true });
    writeFileSync(join(root, "source", path), text);
  }
  const manifest: Manifest = { rawUrlTemplate: "http://127.0.0.1:9/{commit}/{path}", entry: {}, files: manifestFiles };
  return { root, manifest, source: join(root, "source"), target: join(root, "target") };
}

describe("spec sync", () => {
  it("copies files whose sha256 matches the manifest", async () => {
    const text = '{"swagger":"2.0"}';
    const f = fixture({ "a/spec.json": text }, [{ path: "a/spec.json", commit: "c1", sha256: sha256(text), bytes: text.length }]);
    await syncSpecs({ manifest: f.manifest, source: f.source, target: f.target, log: () => {} });
    expect(readFileSync(join(f.target, "a/spec.json"), "utf8")).toBe(text);
  });

  it("refuses a file whose sha256 differs, and writes nothing", async () => {
    const f = fixture({ "a/spec.json": '{"tampered":true}' }, [{ path: "a/spec.json", commit: "c1", sha256: sha256("original"), bytes: 8 }]);
    await expect(syncSpecs({ manifest: f.manifest, source: f.source, target: f.target, log: () => {} })).rejects.toThrow(/sha256 .* differs/);
    expect(existsSync(join(f.target, "a/spec.json"))).toBe(false);
  });

  it("the project manifest pins every vendored document and the common-types, each with commit and sha256", () => {
    const manifest = readManifest();
    expect(Object.keys(manifest.entry).sort()).toEqual(["2024-02-01", "2025-09-01", "2025-10-01", "2026-04-01", "2026-06-01", "2026-08-01"]);
    const paths = manifest.files.map((f) => f.path);
    for (const entry of Object.values(manifest.entry)) expect(paths).toContain(entry);
    expect(paths.some((p) => p.endsWith("common-types/resource-management/v6/types.json"))).toBe(true);
    for (const file of manifest.files) {
      expect(file.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe("generated catalogue", () => {
  it("has every operation of each document, newest document first", () => {
    // Counts from shared/specs' CHANGES notes: 2024-02-01 has GetOSOptions and lacks nine later operations.
    const counts = { "2026-08-01": 69, "2026-06-01": 69, "2026-04-01": 69, "2025-10-01": 65, "2025-09-01": 65, "2024-02-01": 57 };
    expect(apiVersions).toEqual(Object.keys(counts));
    for (const [version, count] of Object.entries(counts)) expect(operationsByVersion[version as keyof typeof counts], version).toHaveLength(count);
    expect(operationsByVersion["2024-02-01"].map((o) => o.operationId)).toContain("ManagedClusters_GetOSOptions");
    expect(operationsByVersion["2025-09-01"].map((o) => o.operationId)).not.toContain("ManagedClusters_GetOSOptions");
  });

  it("generated OpenAPI documents are OpenAPI 3 with no external references left", () => {
    for (const version of apiVersions) {
      const text = readFileSync(join("generated", "openapi", `${version}.json`), "utf8");
      const doc = JSON.parse(text);
      expect(doc.openapi).toMatch(/^3\./);
      expect(text).not.toMatch(/"\$ref":"[^#]/);
      expect(text).not.toContain("x-ms-examples");
    }
  });

  it("has a handler for exactly the operations of the served versions, none a placeholder", () => {
    const all = [...new Set(apiVersions.flatMap((v) => operationsByVersion[v].map((o) => o.operationId)))].sort();
    expect(Object.keys(aksHandlers).sort()).toEqual(all);
    for (const handler of Object.values(aksHandlers)) expect(handler.toString()).not.toMatch(/NotImplemented/);
  });
});
