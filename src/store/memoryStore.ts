import type { OperationRecord } from "../arm/lro.js";
import { normaliseId, type ResourceStore, type StoredResource } from "./store.js";

/** In-memory store: maps plus two indexes (by parent, by subscription and type) for cheap lists. */
export class MemoryStore implements ResourceStore {
  private readonly resources = new Map<string, StoredResource>();
  private readonly byParent = new Map<string, Set<string>>();
  private readonly byType = new Map<string, Set<string>>();
  private readonly operations = new Map<string, OperationRecord>();

  get<T>(id: string): StoredResource<T> | undefined {
    return this.resources.get(normaliseId(id));
  }

  put(resource: StoredResource): void {
    const key = normaliseId(resource.id);
    this.resources.set(key, resource);
    index(this.byParent, resource.parentKey, key);
    index(this.byType, typeKey(resource.subscriptionId, resource.type), key);
  }

  delete(id: string): boolean {
    const key = normaliseId(id);
    const existing = this.resources.get(key);
    if (!existing) return false;
    this.resources.delete(key);
    this.byParent.get(existing.parentKey)?.delete(key);
    this.byType.get(typeKey(existing.subscriptionId, existing.type))?.delete(key);
    return true;
  }

  children<T>(parentId: string, type?: string): StoredResource<T>[] {
    return this.collect<T>(this.byParent.get(normaliseId(parentId)), type);
  }

  listByType<T>(subscriptionId: string, type: string): StoredResource<T>[] {
    return this.collect<T>(this.byType.get(typeKey(subscriptionId, type)));
  }

  getOperation(id: string): OperationRecord | undefined {
    return this.operations.get(id.toLowerCase());
  }

  putOperation(operation: OperationRecord): void {
    this.operations.set(operation.name.toLowerCase(), operation);
  }

  private collect<T>(keys: Set<string> | undefined, type?: string): StoredResource<T>[] {
    const out: StoredResource<T>[] = [];
    for (const key of keys ?? []) {
      const resource = this.resources.get(key);
      if (resource && (!type || resource.type.toLowerCase() === type.toLowerCase())) out.push(resource);
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
