// The layering rules of src/, checked over every import (type-only ones included): no import circle,
// the engine a closed core, and the HTTP shell, spec layer and platform never reaching into the
// engine or the store (they go through the handler contract and the services they are given).
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/sourceFiles.js";

const SRC = resolve(__dirname, "../../src");


/** file (relative to src/) -> the src/ files it imports (relative), from `import`, `export ... from` and `import()`. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    const targets = new Set<string>();
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), match[1]).replace(/\.js$/, ".ts");
      if (target.startsWith(SRC)) targets.add(relative(SRC, target));
    }
    graph.set(relative(SRC, file), [...targets]);
  }
  return graph;
}

const layer = (file: string) => file.split("/")[0].replace(/\.ts$/, "");

describe("src/ layering", () => {
  const graph = importGraph();

  it("reads the whole tree", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("engine/engine.ts")).toContain("engine/core.ts");
  });

  it("has no import circle", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  it("keeps the engine a closed core: it imports only the store's port, arm/ conventions, config and util", () => {
    const allowed = new Set(["engine", "store", "arm", "config", "util"]);
    const breaches = [...graph]
      .filter(([file]) => layer(file) === "engine")
      .flatMap(([file, targets]) => targets.filter((t) => !allowed.has(layer(t)) && !t.startsWith("../generated")).map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });

  it("keeps the store below everything but arm/ conventions and util", () => {
    const allowed = new Set(["store", "arm", "util"]);
    const breaches = [...graph]
      .filter(([file]) => layer(file) === "store")
      .flatMap(([file, targets]) => targets.filter((t) => !allowed.has(layer(t))).map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });

  it("never imports the engine or the store from the HTTP shell, the spec layer or the platform", () => {
    const breaches = [...graph]
      .filter(([file]) => ["http", "api", "platform"].includes(layer(file)))
      .flatMap(([file, targets]) => targets.filter((t) => ["engine", "store"].includes(layer(t))).map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });

  it("keeps arm/ conventions free of every layer above them", () => {
    const breaches = [...graph]
      .filter(([file]) => layer(file) === "arm")
      .flatMap(([file, targets]) => targets.filter((t) => !["arm", "util"].includes(layer(t))).map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });
});
