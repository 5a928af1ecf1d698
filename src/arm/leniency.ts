// The default mode runs the product documentation's examples as written, so it lets a request off
// some of Azure's refusals (a subscription id that is not a GUID, a resource group never created, an
// api-version Azure never published, a Kubernetes release outside AKS's catalogue). Every such let-off
// is recorded on the request: the answer names them in a header and the log names each kind once,
// so a user sees where the same call would fail against Azure. Strict mode lets nothing off.

export type LeniencyKind = "subscription-id" | "resource-group" | "api-version" | "kubernetes-version";

export interface Leniency {
  kind: LeniencyKind;
  /** What was let off, e.g. "api-version 2024-04-01 is not published; served by the 2024-02-01 document". */
  detail: string;
  /** A let-off that changed state (a group created): a refused request changed nothing, so it is not named then. */
  wrote?: boolean;
}

/** What a request may be let off, and where the let-offs are noted. Engine code takes this, not the HTTP request. */
export interface LeniencyPolicy {
  /** False in strict mode: every check is Azure's own. */
  readonly lenient: boolean;
  note(kind: LeniencyKind, detail: string, options?: { wrote?: boolean }): void;
}

/** Strict mode: nothing is let off (and so nothing is noted). */
export const STRICT: LeniencyPolicy = Object.freeze({ lenient: false, note() {} });

export const LENIENCY_HEADER = "x-aks-emulator-leniency";

const NONE: readonly Leniency[] = Object.freeze([]);

/** One request's let-offs, in the order they happened. */
export class LeniencyRecord implements LeniencyPolicy {
  readonly lenient = true;
  /** Made on the first let-off: most requests have none, and one of these is made per request. */
  private list: Leniency[] | undefined;

  get used(): readonly Leniency[] {
    return this.list ?? NONE;
  }

  note(kind: LeniencyKind, detail: string, options?: { wrote?: boolean }): void {
    this.list ??= [];
    if (!this.list.some((l) => l.kind === kind && l.detail === detail)) this.list.push({ kind, detail, ...(options?.wrote ? { wrote: true } : {}) });
  }

  /** What the answer names: everything when the request took effect, else only the let-offs that changed nothing. */
  named(succeeded: boolean): readonly Leniency[] {
    return succeeded ? this.used : this.used.filter((l) => !l.wrote);
  }

  /** The header value: "kind: detail" entries joined by "; ", printable ASCII only (details quote client input). */
  static headerValue(used: readonly Leniency[]): string | undefined {
    if (!used.length) return undefined;
    return used.map((l) => `${l.kind}: ${l.detail}`.replace(/[^\x20-\x7e]/g, "?").replace(/;/g, ",")).join("; ");
  }
}
