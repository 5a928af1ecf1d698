// Each api-version in its own shape, driven by that version's document: the engine keeps one model
// (the newest superset); a response at version V carries only what V's schemas define, and a PUT at V
// keeps what the stored resource holds that V cannot express. No field lists per version: the
// schemas decide (properties, allOf, additionalProperties, items, enum).

type Schema = Record<string, any>;

interface Shape {
  /** An object whose keys the schema lists (else a free-form object or not an object at all). */
  closed: boolean;
  properties: Map<string, Schema>;
  /** additionalProperties: a schema for the other keys, true for anything, undefined for none. */
  additional: Schema | true | undefined;
  items: Schema | undefined;
  enumValues: Set<unknown> | undefined;
}

/** What projection returns for a value the version cannot express at all. */
const DROPPED = Symbol("dropped");

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export class VersionShape {
  private readonly shapes = new WeakMap<Schema, Shape>();
  /** Projections of frozen values (served views), per schema: a view is projected once per version. */
  private readonly projected = new WeakMap<object, Map<Schema, unknown>>();

  /**
   * @param resolveRef resolves a "#/components/schemas/X" reference left in the document.
   * @param keep marks a projection of a frozen value as frozen and served many times (its JSON is kept).
   */
  constructor(
    private readonly resolveRef: (ref: string) => Schema | undefined,
    private readonly keep: <T extends object>(value: T) => T = (value) => Object.freeze(value),
  ) {}

  /** The value as this version defines it: keys its schema lacks and enum values it does not know are left out. */
  project(value: unknown, schema: Schema | undefined): unknown {
    const result = this.projectValue(value, schema);
    return result === DROPPED ? undefined : result;
  }

  /**
   * A PUT body at this version, completed from the stored resource: what the stored resource holds
   * that this version cannot express (a key its schema lacks, or a value its enum lacks) and the
   * request therefore could not have meant to remove, is kept. Objects merge key by key; arrays of
   * named objects (agentPoolProfiles) merge by name.
   */
  carryForward(request: unknown, previous: unknown, schema: Schema | undefined): unknown {
    if (!schema || !isPlainObject(request) || !isPlainObject(previous)) return request;
    const shape = this.shape(schema);
    if (!shape.closed) return request;
    let merged: Record<string, unknown> | undefined;
    const set = (key: string, value: unknown) => {
      if (value === request[key]) return;
      merged ??= { ...request };
      merged[key] = value;
    };
    for (const key of Object.keys(previous)) {
      const before = previous[key];
      if (before === undefined) continue;
      const propertySchema = this.propertySchema(shape, key);
      const sent = request[key];
      if (sent !== undefined) {
        if (propertySchema && propertySchema !== true) set(key, this.carryInto(sent, before, propertySchema));
        continue;
      }
      if (propertySchema === undefined) set(key, before);
      else if (propertySchema !== true && this.projectValue(before, propertySchema) === DROPPED) set(key, before);
    }
    return merged ?? request;
  }

  private carryInto(sent: unknown, before: unknown, schema: Schema): unknown {
    if (isPlainObject(sent)) return this.carryForward(sent, before, schema);
    const items = this.shape(schema).items;
    if (!Array.isArray(sent) || !Array.isArray(before) || !items) return sent;
    const byName = new Map<string, unknown>();
    for (const item of before) if (isPlainObject(item) && typeof item.name === "string") byName.set(item.name.toLowerCase(), item);
    if (!byName.size) return sent;
    let changed = false;
    const out = sent.map((item) => {
      const match = isPlainObject(item) && typeof item.name === "string" ? byName.get(item.name.toLowerCase()) : undefined;
      const merged = match ? this.carryForward(item, match, items) : item;
      if (merged !== item) changed = true;
      return merged;
    });
    return changed ? out : sent;
  }

  private projectValue(value: unknown, schema: Schema | undefined): unknown {
    if (!schema || value === undefined) return value;
    if (typeof value !== "object" || value === null) {
      const values = this.shape(schema).enumValues;
      return values && !values.has(value) ? DROPPED : value;
    }
    // A served view (frozen) is projected once per schema: the common GET costs two lookups.
    const frozen = Object.isFrozen(value);
    if (frozen) {
      const kept = this.projected.get(value)?.get(schema);
      if (kept !== undefined) return kept;
    }
    const shape = this.shape(schema);
    const result = Array.isArray(value) ? this.projectArray(value, shape) : this.projectObject(value as Record<string, unknown>, shape);
    if (frozen) {
      const out = result !== value && typeof result === "object" && result !== null ? this.keep(result) : result;
      let bySchema = this.projected.get(value);
      if (!bySchema) this.projected.set(value, (bySchema = new Map()));
      bySchema.set(schema, out);
      return out;
    }
    return result;
  }

  private projectArray(value: unknown[], shape: Shape): unknown {
    if (!shape.items) return value;
    let changed = false;
    const out: unknown[] = [];
    for (const item of value) {
      const projected = this.projectValue(item, shape.items);
      if (projected !== item) changed = true;
      if (projected !== DROPPED) out.push(projected);
    }
    return changed ? out : value;
  }

  private projectObject(value: Record<string, unknown>, shape: Shape): unknown {
    if (!shape.closed) return value;
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = value[key];
      const propertySchema = this.propertySchema(shape, key);
      const projected = propertySchema === undefined ? DROPPED : propertySchema === true ? item : this.projectValue(item, propertySchema);
      if (projected === item) {
        if (out) out[key] = item;
        continue;
      }
      // The first difference: copy what came before it, then go on copying.
      if (!out) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]] = value[keys[j]];
      }
      if (projected !== DROPPED) out[key] = projected;
    }
    return out ?? value;
  }

  private propertySchema(shape: Shape, key: string): Schema | true | undefined {
    return shape.properties.get(key) ?? shape.additional;
  }

  private shape(schema: Schema): Shape {
    const kept = this.shapes.get(schema);
    if (kept) return kept;
    const shape: Shape = { closed: false, properties: new Map(), additional: undefined, items: undefined, enumValues: undefined };
    this.shapes.set(schema, shape); // before merging: recursive schemas find it
    this.merge(shape, schema, new Set());
    return shape;
  }

  /** Folds a schema and its allOf branches into one shape. */
  private merge(shape: Shape, schema: Schema, seen: Set<Schema>): void {
    const resolved = this.deref(schema);
    if (!resolved || seen.has(resolved)) return;
    seen.add(resolved);
    for (const branch of resolved.allOf ?? []) this.merge(shape, branch, seen);
    if (resolved.properties) {
      shape.closed = true;
      for (const [name, property] of Object.entries<Schema>(resolved.properties)) shape.properties.set(name, this.deref(property) ?? property);
    }
    if (resolved.additionalProperties !== undefined && resolved.additionalProperties !== false) {
      shape.closed = true;
      shape.additional = resolved.additionalProperties === true ? true : (this.deref(resolved.additionalProperties) ?? true);
    }
    if (resolved.items) shape.items = this.deref(resolved.items);
    if (Array.isArray(resolved.enum)) shape.enumValues = new Set(resolved.enum);
  }

  private deref(schema: Schema | undefined): Schema | undefined {
    let current = schema;
    for (let hops = 0; current && typeof current.$ref === "string" && hops < 32; hops++) current = this.resolveRef(current.$ref);
    return current;
  }
}
