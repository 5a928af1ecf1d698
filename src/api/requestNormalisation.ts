// Request bodies read as ARM and AKS read them, before they are validated. What a client sends back
// from a GET, or fills in for what its user left unset, is not an error at Azure:
//   - a read-only property is ignored (ARM: id, name, type, systemData, provisioningState, a
//     cluster's powerState, fqdn, an identity's principalId...);
//   - null for an optional property is the property left out;
//   - "" for an enum Azure models as a string (x-ms-enum modelAsString) is the property left out;
//   - 0 or "" for the few properties AKS itself reads as unset (UNSET_VALUES below).
// Everything else reaches ajv as it was sent: validation stays exact. Strict mode does this too,
// because Azure does. Driven by the serving document's request body schema: one plan per schema,
// compiled on first use and kept, so a request costs one walk of its body.

type Schema = Record<string, any>;

/**
 * Values AKS reads as "not set", which the documents cannot say: the property's schema (by its
 * name in components/schemas), the property, and the value. Each entry is what a real client sends
 * and Azure accepts:
 * - AgentPoolUpgradeSettings.drainTimeoutInMinutes / nodeSoakDurationInMinutes = 0: the azurerm
 *   provider's expandAgentPoolUpgradeSettings and expandClusterNodePoolUpgradeSettings
 *   (internal/services/containers) set both whenever the attribute is an int, which is 0 when the
 *   user left it out; its acceptance tests (upgrade_settings with only max_surge) pass against
 *   Azure, which answers the defaults (drainTimeoutInMinutes 30, nodeSoakDurationInMinutes 0).
 * - ManagedClusterProperties.nodeResourceGroup = "": the provider sends node_resource_group as it
 *   is, "" when unset; AKS names the group MC_{resourceGroup}_{cluster}_{location} then.
 */
export const UNSET_VALUES: Readonly<Record<string, Readonly<Record<string, readonly unknown[]>>>> = {
  AgentPoolUpgradeSettings: { drainTimeoutInMinutes: [0], nodeSoakDurationInMinutes: [0] },
  ManagedClusterProperties: { nodeResourceGroup: [""] },
};

/** How one property of an object is read. */
interface PropertyRule {
  /** Read-only: ignored whatever its value. */
  readOnly: boolean;
  /** Not required: null (and the unset values) mean it was left out. */
  optional: boolean;
  /** Values that mean "left out" besides null ("" of a modelAsString enum, the UNSET_VALUES). */
  unset: readonly unknown[] | undefined;
  /** The plan for the property's value, when it is an object or an array. */
  value: Plan | undefined;
}

interface ObjectPlan {
  kind: "object";
  properties: Map<string, PropertyRule>;
  /** additionalProperties: the plan for each value of the map (a null value stays: a PATCH removes with it). */
  additional: Plan | undefined;
}

interface ArrayPlan {
  kind: "array";
  items: Plan;
}

type Plan = ObjectPlan | ArrayPlan;

/** One thing the normalisation did, for the debug log: "properties.kubeletDiskType: '' is unset". */
export type Normalisation = string;

export interface NormalisedBody {
  body: unknown;
  /** What was read differently from how it was sent; empty when the body is unchanged. */
  applied: Normalisation[];
}

const NOTHING: readonly Normalisation[] = Object.freeze([]);
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The normalisation of one document's request bodies; plans are compiled per schema on first use. */
export class RequestNormaliser {
  private readonly plans = new WeakMap<Schema, Plan | null>();
  private readonly names = new Map<Schema, string>();

  /**
   * @param resolveRef resolves a "#/components/schemas/X" reference left in the document.
   * @param schemas the document's components/schemas (names for UNSET_VALUES).
   */
  constructor(
    private readonly resolveRef: (ref: string) => Schema | undefined,
    schemas: Record<string, Schema>,
  ) {
    for (const [name, schema] of Object.entries(schemas)) this.names.set(schema, name);
  }

  /** The body as Azure reads it. The body itself is never changed: a changed part is a copy. */
  normalise(body: unknown, schema: Schema | undefined): NormalisedBody {
    if (!schema || typeof body !== "object" || body === null) return { body, applied: NOTHING as Normalisation[] };
    const plan = this.plan(schema);
    if (!plan) return { body, applied: NOTHING as Normalisation[] };
    const applied: Normalisation[] = [];
    return { body: this.apply(body, plan, "", applied), applied };
  }

  private apply(value: unknown, plan: Plan, path: string, applied: Normalisation[]): unknown {
    if (plan.kind === "array") {
      if (!Array.isArray(value)) return value;
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const next = typeof item === "object" && item !== null ? this.apply(item, plan.items, `${path.endsWith(".") ? path.slice(0, -1) : path}[${i}].`, applied) : item;
        if (next !== item) (out ??= value.slice())[i] = next;
      }
      return out ?? value;
    }
    if (!isPlainObject(value)) return value;
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = value[key];
      const rule = plan.properties.get(key);
      let next: unknown = item;
      if (rule) {
        if (rule.readOnly) {
          next = DROP;
          applied.push(`${path}${key}: read-only, ignored`);
        } else if (rule.optional && (item === null || (rule.unset !== undefined && rule.unset.includes(item)))) {
          next = DROP;
          applied.push(`${path}${key}: ${JSON.stringify(item)} is unset`);
        } else if (rule.value && typeof item === "object" && item !== null) {
          next = this.apply(item, rule.value, `${path}${key}.`, applied);
        }
      } else if (plan.additional && typeof item === "object" && item !== null) {
        next = this.apply(item, plan.additional, `${path}${key}.`, applied);
      }
      if (next === item) {
        if (out) out[key] = item;
        continue;
      }
      // The first difference: copy what came before it, then go on copying.
      if (!out) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]] = value[keys[j]];
      }
      if (next !== DROP) out[key] = next;
    }
    return out ?? value;
  }

  /** The plan for a schema: null when nothing beneath it can need normalising (a scalar, a free-form object). */
  private plan(schema: Schema): Plan | null {
    const resolved = this.deref(schema) ?? schema;
    const kept = this.plans.get(resolved);
    if (kept !== undefined) return kept;
    const folded = this.fold(resolved);
    if (folded.items) {
      const items = { kind: "array", items: undefined as unknown as Plan } as ArrayPlan;
      this.plans.set(resolved, items); // before compiling the items: recursive schemas find it
      const itemPlan = this.plan(folded.items);
      if (!itemPlan) {
        this.plans.set(resolved, null);
        return null;
      }
      items.items = itemPlan;
      return items;
    }
    if (!folded.properties.size && !folded.additional) {
      this.plans.set(resolved, null);
      return null;
    }
    const plan: ObjectPlan = { kind: "object", properties: new Map(), additional: undefined };
    this.plans.set(resolved, plan);
    const unsetByName = folded.name ? UNSET_VALUES[folded.name] : undefined;
    for (const [name, property] of folded.properties) {
      const target = this.deref(property) ?? property;
      const readOnly = property.readOnly === true || target.readOnly === true || folded.readOnly.has(name);
      const optional = !folded.required.has(name);
      let unset: unknown[] | undefined = unsetByName?.[name] ? [...unsetByName[name]] : undefined;
      if (target["x-ms-enum"]?.modelAsString === true && Array.isArray(target.enum) && !target.enum.includes("")) (unset ??= []).push("");
      plan.properties.set(name, { readOnly, optional, unset, value: readOnly ? undefined : (this.plan(property) ?? undefined) });
    }
    if (folded.additional) plan.additional = this.plan(folded.additional) ?? undefined;
    return plan;
  }

  /** A schema and its allOf branches as one object: properties, required, read-only $ref properties, items, additionalProperties. */
  private fold(schema: Schema): Folded {
    const folded: Folded = { name: this.names.get(schema), properties: new Map(), required: new Set(), readOnly: new Set(), items: undefined, additional: undefined };
    const seen = new Set<Schema>();
    const visit = (node: Schema | undefined) => {
      const resolved = this.deref(node);
      if (!resolved || seen.has(resolved)) return;
      seen.add(resolved);
      for (const branch of resolved.allOf ?? []) visit(branch);
      for (const [name, property] of Object.entries<Schema>(resolved.properties ?? {})) folded.properties.set(name, property);
      for (const name of resolved.required ?? []) folded.required.add(name);
      for (const name of resolved["x-aks-emulator-read-only"] ?? []) folded.readOnly.add(name);
      if (resolved.items && typeof resolved.items === "object") folded.items = resolved.items;
      if (isPlainObject(resolved.additionalProperties)) folded.additional = resolved.additionalProperties;
    };
    visit(schema);
    return folded;
  }

  private deref(schema: Schema | undefined): Schema | undefined {
    let current = schema;
    for (let hops = 0; current && typeof current.$ref === "string" && hops < 32; hops++) current = this.resolveRef(current.$ref);
    return current;
  }
}

interface Folded {
  /** The schema's name in components/schemas, when it has one. */
  name: string | undefined;
  properties: Map<string, Schema>;
  required: Set<string>;
  /** Properties whose $ref carried readOnly in the Swagger document (scripts/generate.ts keeps their names). */
  readOnly: Set<string>;
  items: Schema | undefined;
  additional: Schema | undefined;
}

/** What apply() returns for a property that is to be left out. */
const DROP = Symbol("drop");
