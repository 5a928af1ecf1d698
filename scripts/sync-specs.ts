// Brings the pinned upstream Swagger files named in specs/MANIFEST.json into specs/upstream/
// (git-ignored). Source, in order: $AKS_EMULATOR_SPECS_SOURCE, ../shared/specs beside the clone,
// then a download of each file at its pinned commit. Every file must match its sha256.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const upstreamDir = join(projectRoot, "specs", "upstream");

export interface ManifestFile {
  path: string;
  commit: string;
  sha256: string;
  bytes: number;
}
export interface Manifest {
  rawUrlTemplate: string;
  entry: Record<string, string>;
  files: ManifestFile[];
}

export function readManifest(): Manifest {
  return JSON.parse(readFileSync(join(projectRoot, "specs", "MANIFEST.json"), "utf8")) as Manifest;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function localSource(): string | undefined {
  const candidates = [process.env.AKS_EMULATOR_SPECS_SOURCE, join(projectRoot, "..", "shared", "specs")];
  return candidates.find((dir): dir is string => !!dir && existsSync(dir));
}

async function download(manifest: Manifest, file: ManifestFile): Promise<Buffer> {
  const url = manifest.rawUrlTemplate.replace("{commit}", file.commit).replace("{path}", file.path);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

export interface SyncOptions {
  manifest?: Manifest;
  /** Folder holding upstream paths (../shared/specs); undefined: download by commit. */
  source?: string;
  target?: string;
  log?: (line: string) => void;
}

export async function syncSpecs(options: SyncOptions = {}): Promise<void> {
  const manifest = options.manifest ?? readManifest();
  const source = "source" in options ? options.source : localSource();
  const targetDir = options.target ?? upstreamDir;
  const log = options.log ?? console.log;
  let copied = 0;
  for (const file of manifest.files) {
    const target = join(targetDir, file.path);
    if (existsSync(target) && sha256(readFileSync(target)) === file.sha256) continue;
    let data: Buffer;
    let origin: string;
    if (source && existsSync(join(source, file.path))) {
      data = readFileSync(join(source, file.path));
      origin = join(source, file.path);
    } else {
      data = await download(manifest, file);
      origin = `commit ${file.commit}`;
    }
    const actual = sha256(data);
    if (actual !== file.sha256) {
      throw new Error(`${file.path} from ${origin}: sha256 ${actual} differs from the manifest's ${file.sha256}; refusing it`);
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    copied++;
  }
  log(`sync-specs: ${manifest.files.length} files verified (${copied} copied${source ? ` from ${source}` : ""})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  syncSpecs().catch((error: Error) => {
    console.error(`sync-specs: ${error.message}`);
    process.exit(1);
  });
}
