// `aks-emulator coverage [--url URL] [--format markdown|json]`: prints a running emulator's API
// coverage (GET /_emulator/coverage), so a CI job can publish which AKS operations its tests called.
import { coverageMarkdown, type CoverageReport } from "../http/journal.js";
import { CliError } from "./emulatorClient.js";

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
  const parsed: CoverageArgs = { url: "https://localhost:4577", format: "markdown" };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].includes("=") ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)] : [args[i], undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new CoverageCliError(`${name} needs a value`);
      return v;
    };
    if (name === "--url") parsed.url = value().replace(/\/+$/, "");
    else if (name === "--format") {
      const format = value();
      if (format !== "markdown" && format !== "json") throw new CoverageCliError(`--format must be markdown or json, not '${format}'`);
      parsed.format = format;
    } else throw new CoverageCliError(`unknown argument '${args[i]}'`);
  }
  return parsed;
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
