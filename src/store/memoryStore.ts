import type { OperationRecord } from "../arm/lro.js";
import { deepFreeze, isUnsettled, normaliseId, recordChecks, type Range, type ResourceStore, type StoredResource } from "./store.js";

/**
 * In-memory store: maps plus two indexes (by parent, by subscription and type) for cheap lists.
 * Its transaction gives all-or-nothing by undo log, so a change refused half-way leaves no trace.
 */
export class MemoryStore implements ResourceStore {
  private resources = new Map<string, StoredResource>();
  private byParent = new Map<string, Set<string>>();
  private byType = new Map<string, Set<string>>();
  private operations = new Map<string, OperationRecord>();
  private readonly settings = new Map<string, string>();
  private undo: (() => void)[] | undefined;

  get<T>(id: string): StoredResource<T> | undefined {
    return this.resources.get(normaliseId(id));
  }

  put(resource: StoredResource): void {
    if (recordChecks.freeze) deepFreeze(resource);
    const key = normaliseId(resource.id);
    const previous = this.resources.get(key);
    this.record(() => (previous ? this.put(previous) : this.delete(key)));
    this.resources.set(key, resource);
    // Most puts store a new version of a record: it is indexed already, under the same keys.
    if (previous && previous.parentKey === resource.parentKey && previous.subscriptionId === resource.subscriptionId && previous.type === resource.type) return;
    if (previous) this.unindex(key, previous);
    index(this.byParent, resource.parentKey, key);
    index(this.byType, typeKey(resource.subscriptionId, resource.type), key);
  }

  delete(id: string): boolean {
    const key = normaliseId(id);
    const existing = this.resources.get(key);
    if (!existing) return false;
    this.record(() => this.put(existing));
    this.resources.delete(key);
    this.unindex(key, existing);
    return true;
  }

  private unindex(key: string, resource: StoredResource): void {
    this.byParent.get(resource.parentKey)?.delete(key);
    this.byType.get(typeKey(resource.subscriptionId, resource.type))?.delete(key);
  }

  children<T>(parentId: string, type?: string, range?: Range): StoredResource<T>[] {
    return this.collect<T>(this.byParent.get(normaliseId(parentId)), type, range);
  }

  listByType<T>(subscriptionId: string, type: string, range?: Range): StoredResource<T>[] {
    return this.collect<T>(this.byType.get(typeKey(subscriptionId, type)), undefined, range);
  }

  getOperation(id: string): OperationRecord | undefined {
    return this.operations.get(id.toLowerCase());
  }

  putOperation(operation: OperationRecord): void {
    const key = operation.name.toLowerCase();
    const previous = this.operations.get(key);
    this.record(() => (previous ? this.operations.set(key, previous) : this.operations.delete(key)));
    if (recordChecks.freeze) deepFreeze(operation);
    this.operations.set(key, operation);
  }

  listOperations(status?: OperationRecord["status"]): OperationRecord[] {
    return [...this.operations.values()].filter((op) => !status || op.status === status);
  }

  listLocked(): StoredResource[] {
    return [...this.resources.values()].filter((r) => r.activeOperation);
  }

  unsettled(): StoredResource[] {
    return [...this.resources.values()].filter(isUnsettled);
  }

  all(): StoredResource[] {
    return [...this.resources.values()];
  }

  transaction<T>(fn: () => T): T {
    if (this.undo) return fn(); // nested: part of the outer transaction
    const undo: (() => void)[] = (this.undo = []);
    try {
      return fn();
    } catch (error) {
      this.undo = undefined;
      for (const step of undo.reverse()) step();
      throw error;
    } finally {
      this.undo = undefined;
    }
  }

  getSetting(name: string): string | undefined {
    return this.settings.get(name);
  }

  putSetting(name: string, value: string): void {
    this.settings.set(name, value);
  }

  clear(): void {
    this.resources = new Map();
    this.byParent = new Map();
    this.byType = new Map();
    this.operations = new Map();
  }

  close(): void {}

  private record(step: () => void): void {
    this.undo?.push(step);
  }

  private collect<T>(keys: Set<string> | undefined, type?: string, range?: Range): StoredResource<T>[] {
    const out: StoredResource<T>[] = [];
    const wanted = type?.toLowerCase();
    let skip = range?.offset ?? 0;
    const limit = range?.limit ?? Infinity;
    for (const key of keys ?? []) {
      if (out.length >= limit) break;
      const resource = this.resources.get(key);
      if (!resource || (wanted && resource.type.toLowerCase() !== wanted)) continue;
      if (skip > 0) skip--;
      else out.push(resource);
    }
    return out;
  }
}

const typeKey = (subscriptionId: string, type: string) => `${subscriptionId}|${type}`.toLowerCase();

function index(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}
