// The spec's `pattern`s are .NET regular expressions: ARM and AKS check them with .NET, where `\w` is
// a Unicode word character ([\p{L}\p{Mn}\p{Nd}\p{Pc}]), so a resource group `résumé` fits
// `^[-\w\._\(\)]+$`. JavaScript's `\w` is ASCII only, even with the `u` flag. Every pattern the
// emulator compiles from the spec goes through dotNetPattern (ajv's RegExp engine, below), so `\w` and
// `\W` mean what they mean to Azure, for every pattern alike.

const WORD_CLASS_BODY = "\\p{L}\\p{Mn}\\p{Nd}\\p{Pc}";

/** The pattern with .NET's `\w` / `\W` spelled in Unicode property classes (to compile with the `u` flag). */
export function dotNetPattern(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\" && i + 1 < source.length) {
      const next = source[++i];
      if (next === "w") out += inClass ? WORD_CLASS_BODY : `[${WORD_CLASS_BODY}]`;
      else if (next === "W" && !inClass) out += `[^${WORD_CLASS_BODY}]`;
      else out += c + next; // `\W` inside a class has no property-class spelling: left as JavaScript reads it
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** A RegExp of a spec pattern as .NET reads it (always with the `u` flag, which `\p{...}` needs). */
export function dotNetRegExp(source: string, flags = ""): RegExp {
  return new RegExp(dotNetPattern(source), flags.includes("u") ? flags : `${flags}u`);
}

/**
 * ajv's `code.regExp` option: the engine ajv compiles every schema `pattern` with. `code` is what
 * standalone code generation would call; the emulator never generates standalone code.
 */
export const dotNetRegExpEngine = Object.assign((pattern: string, flags: string) => dotNetRegExp(pattern, flags), { code: "dotNetRegExp" });
