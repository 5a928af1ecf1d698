// The README's client sections, read as code: a suite runs a snippet exactly as the README shows it,
// with only the endpoint swapped for the test emulator's, so the README cannot drift from what works.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The endpoint every README snippet names. */
export const README_ENDPOINT = "https://localhost:4577";

/** The first fenced block of `language` under the README heading `heading` (a line starting with it). */
export function readmeSnippet(heading: string, language: string): string {
  const lines = readFileSync(resolve(ROOT, "README.md"), "utf8").replace(/\r\n/g, "\n").split("\n");
  const at = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, "").startsWith(heading));
  if (at < 0) throw new Error(`README.md has no heading starting with '${heading}'`);
  // Walk the section line by line: a '#' inside a fence is a comment, not the next heading.
  let block: string[] | undefined;
  for (const line of lines.slice(at + 1)) {
    if (block) {
      if (line.startsWith("```")) return block.join("\n") + "\n";
      block.push(line);
    } else if (line === "```" + language) block = [];
    else if (/^#+ /.test(line)) break;
  }
  throw new Error(`README.md's '${heading}' section has no \`\`\`${language} block`);
}

/** A snippet with its endpoint pointed at `url`; it must name the README's endpoint. */
export function pointedAt(snippet: string, url: string): string {
  if (!snippet.includes(README_ENDPOINT)) throw new Error(`the snippet does not name ${README_ENDPOINT}:\n${snippet}`);
  return snippet.replaceAll(README_ENDPOINT, url);
}
