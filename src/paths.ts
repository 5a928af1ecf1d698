import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project folder (holding package.json and generated/), found from this file in src/ or dist/src/. */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "specs"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the aks-emulator project folder");
    dir = parent;
  }
  return dir;
})();
