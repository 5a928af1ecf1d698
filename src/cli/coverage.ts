// `aks-emulator coverage [--url URL] [--format markdown|json]`: prints a running emulator's API
// coverage (GET /_emulator/coverage), so a CI job can publish which AKS operations its tests called.
import { coverageMarkdown, type CoverageReport } from "../http/journal.js";
import { CliError, parseFlags } from "./emulatorClient.js";

export const COVERAGE_USAGE = [
  "Usage: aks-emulator coverage [--url URL] [--format markdown|json]",
  "  Prints which AKS operations a running emulator was called with (per api-version, with statuses)",
  "  and which operations of the served documents were never called. Defaults: --url https://localhost:4577",
  "  (trust its CA: aks-emulator ca > ca.pem; NODE_EXTRA_CA_CERTS=ca.pem; or use its http:// URL), --format markdown.",
].join("\n");

export class CoverageCliError extends CliError {}

export interface CoverageArgs {
  url: string;
  format: "markdown" | "json";
}

export function parseCoverageArgs(args: readonly string[]): CoverageArgs {
  const flags = parseFlags(args, { "--url": "value", "--format": "value" });
  const format = (flags.get("--format") as string | undefined) ?? "markdown";
  if (format !== "markdown" && format !== "json") throw new CoverageCliError(`--format must be markdown or json, not '${format}'`);
  return { url: ((flags.get("--url") as string | undefined) ?? "https://localhost:4577").replace(/\/+$/, ""), format };
}

/** Fetches the report and writes it to stdout. */
export async function printCoverage(args: CoverageArgs, out: (text: string) => void = (text) => process.stdout.write(text)): Promise<void> {
  let answer: Response;
  try {
    answer = await fetch(`${args.url}/_emulator/coverage`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    throw new CoverageCliError(`cannot reach ${args.url}: ${cause?.message ?? (error as Error).message}`);
  }
  if (!answer.ok) throw new CoverageCliError(`${args.url}/_emulator/coverage answered ${answer.status}: ${(await answer.text()).slice(0, 500)}`);
  const report = (await answer.json()) as CoverageReport;
  out(args.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${coverageMarkdown(report)}\n`);
}
