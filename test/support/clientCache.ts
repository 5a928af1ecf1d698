// The real clients' installs, cached outside the clone ($AKS_EMULATOR_CLIENT_CACHE, else
// ~/.cache/aks-emulator/clients) and named by the versions they hold: a fresh clone on the same machine
// reuses them, and a changed pin makes a new one. Python clients each get a virtualenv per pin set;
// the Java (Maven repository) and Go (module cache) suites keep theirs under the same folder.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const clientCache = process.env.AKS_EMULATOR_CLIENT_CACHE ?? join(homedir(), ".cache", "aks-emulator", "clients");

/** The python of a venv holding exactly these pinned packages, created and installed when missing. */
export function pythonWith(packages: string[]): string {
  const venv = join(clientCache, `python-${packages.map((p) => p.replace(/[^\w.=-]/g, "")).join("+")}`);
  const python = join(venv, "bin", "python");
  const installed = existsSync(python) && spawnSync(python, ["-m", "pip", "freeze"], { encoding: "utf8" }).stdout;
  if (installed && packages.every((p) => installed.toLowerCase().includes(p.toLowerCase()))) return python;
  mkdirSync(clientCache, { recursive: true });
  if (!existsSync(python)) execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
  execFileSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...packages], { stdio: "inherit", timeout: 300_000 });
  return python;
}
