import type { OperationRecord } from "../arm/lro.js";
import { BoundedCache, ownCopy } from "../util.js";
import { deepFreeze, isUnsettled, normaliseId, recordChecks, type CommitHooks, type OperationRetention, type Range, type ResourceStore, type StoredResource } from "./store.js";

/**
 * In-memory store: maps plus two list indexes (a parent's children; by subscription and type), each
 * keeping its keys in position order so a page after a position is a binary search away (or, for a
 * parent's few children, a short scan).
 * Its transaction gives all-or-nothing by undo log, so a change refused half-way leaves no trace.
 *
 * Memory (10,000 clusters of one pool are 40,000 records): a record is stored as a shallow copy whose
 * parentKey and subscriptionId are the store's own single copies (a subscription id cut from a request
 * URL would keep the whole URL alive, a parent key made by each write is one more copy of the parent's
 * id), a parent's few children are one flat array, and a record's position is kept only there.
 */
export class MemoryStore implements ResourceStore {
  private resources = new Map<string, StoredResource>();
  /**
   * The position last given: each record's (its creation sequence, list order) is kept only in its
   * parent's list of children, where lists need it anyway (a map of 40,000 keys is 1.8 MB more).
   */
  private lastPosition = 0;
  /** Each parent's children, by parent key. */
  private byParent = new Map<string, Children>();
  private byType = new Map<string, OrderedKeys>();
  /**
   * The keys of the records stored last, as the maps hold them: a new parent's first child (a new
   * cluster's pool, a new pool's machine set) indexes its parent under that same string rather than
   * its own copy of the parent's key (its list of children starts at the first child, the parent a moment before).
   */
  private readonly recentKeys = new BoundedCache<string, string>(64);
  /** One copy of each subscription id. */
  private subscriptions = new Map<string, string>();
  private operations = new Map<string, OperationRecord>();
  /** Finished operations in the order they ended, with their JSON size (the end time is the record's): what pruneOperations reads. */
  private finished = new Map<string, number>();
  private finishedBytes = 0;
  /** The latest end in `finished`, and whether an entry went in out of end order (an undo): then it is sorted before use. */
  private lastEnded = "";
  private finishedUnordered = false;
  /** How many stored resources name each operation as their activeOperation (those are never pruned). */
  private activeRefs = new Map<string, number>();
  private readonly settings = new Map<string, string>();
  private undo: (() => void)[] | undefined;

  get<T>(id: string): StoredResource<T> | undefined {
    return this.resources.get(normaliseId(id));
  }

  put(given: StoredResource): void {
    if (recordChecks.freeze) deepFreeze(given);
    const resource = this.compact(given);
    const key = normaliseId(resource.id);
    const previous = this.resources.get(key);
    this.record(() => (previous ? this.put(previous) : this.delete(key)));
    this.countRef(previous?.activeOperation, -1);
    this.countRef(resource.activeOperation, 1);
    this.resources.set(key, resource);
    if (!previous) this.recentKeys.set(key, key);
    // Most puts store a new version of a record: it is indexed already, under the same keys.
    if (previous && previous.parentKey === resource.parentKey && previous.subscriptionId === resource.subscriptionId && previous.type === resource.type) return;
    // An update keeps its position (as the SQLite store keeps a row's seq); a new record stands last.
    let position = previous ? this.positionOf(key, previous) : undefined;
    if (previous && position !== undefined) this.unindex(key, previous, position);
    else position = ++this.lastPosition;
    this.index(key, resource, position);
  }

  delete(id: string): boolean {
    const key = normaliseId(id);
    const existing = this.resources.get(key);
    if (!existing) return false;
    const position = this.positionOf(key, existing)!;
    // Undone, it is back where it stood.
    this.record(() => {
      this.countRef(existing.activeOperation, 1);
      this.resources.set(key, existing);
      this.index(key, existing, position);
    });
    this.countRef(existing.activeOperation, -1);
    this.resources.delete(key);
    this.unindex(key, existing, position);
    return true;
  }

  /** The record as kept: a copy whose parentKey and subscriptionId are the store's own copies. */
  private compact(resource: StoredResource): StoredResource {
    const subscriptionId = this.subscriptionCopy(resource.subscriptionId);
    const siblings = this.byParent.get(resource.parentKey);
    const sibling = siblings && someChild(siblings);
    const parentKey = (sibling !== undefined ? this.resources.get(sibling)?.parentKey : undefined) ?? this.recentKeys.get(resource.parentKey) ?? resource.parentKey;
    const { id, type, body, etag, activeOperation } = resource;
    const kept: StoredResource = { id, type, parentKey, subscriptionId, body, etag, activeOperation };
    return recordChecks.freeze ? Object.freeze(kept) : kept;
  }

  /** The operation as kept: a copy whose subscription id is the store's own copy. */
  private compactOperation(operation: OperationRecord): OperationRecord {
    const kept = { ...operation, subscriptionId: this.subscriptionCopy(operation.subscriptionId) };
    return recordChecks.freeze ? Object.freeze(kept) : kept;
  }

  private subscriptionCopy(given: string): string {
    let subscriptionId = this.subscriptions.get(given);
    if (subscriptionId === undefined) {
      subscriptionId = ownCopy(given);
      this.subscriptions.set(subscriptionId, subscriptionId);
    }
    return subscriptionId;
  }

  private countRef(operation: string | undefined, change: number): void {
    if (operation === undefined) return;
    const key = operation.toLowerCase();
    const count = (this.activeRefs.get(key) ?? 0) + change;
    if (count > 0) this.activeRefs.set(key, count);
    else this.activeRefs.delete(key);
  }

  private index(key: string, resource: StoredResource, position: number): void {
    const children = this.byParent.get(resource.parentKey);
    const changed = withChild(children, lowerType(resource.type), key, position);
    if (changed !== children) this.byParent.set(resource.parentKey, changed);
    const listKey = typeKey(resource.subscriptionId, resource.type);
    const list = this.byType.get(listKey);
    if (list) list.add(key, position);
    else this.byType.set(listKey, new OrderedKeys(key, position));
  }

  private unindex(key: string, resource: StoredResource, position: number): void {
    // An emptied list goes: else every deleted parent (a short-lived cluster, its pools) leaves its
    // keyed empty lists behind for good (the soak test's RSS).
    const children = this.byParent.get(resource.parentKey);
    const changed = children && withoutChild(children, lowerType(resource.type), key, position);
    if (!changed) this.byParent.delete(resource.parentKey);
    else if (changed !== children) this.byParent.set(resource.parentKey, changed);
    const listKey = typeKey(resource.subscriptionId, resource.type);
    const list = this.byType.get(listKey);
    if (list && list.remove(key, position)) this.byType.delete(listKey);
  }

  children<T>(parentId: string, type?: string, range?: Range): StoredResource<T>[] {
    const children = this.byParent.get(normaliseId(parentId));
    if (!children) return [];
    return this.collect<T>(type === undefined ? allChildren(children) : childrenOfType(children, lowerType(type)), range);
  }

  listByType<T>(subscriptionId: string, type: string, range?: Range): StoredResource<T>[] {
    return this.collect<T>(this.byType.get(typeKey(subscriptionId, type)), range);
  }

  firstOfType<T>(type: string, limit: number): { items: StoredResource<T>[]; total: number } {
    // Each subscription's list is in position order: its first `limit` are candidates, merged by position.
    const candidates: { key: string; position: number }[] = [];
    let total = 0;
    for (const subscriptionId of this.subscriptions.keys()) {
      const list = this.byType.get(typeKey(subscriptionId, type));
      if (!list) continue;
      total += list.keys.length;
      for (let i = 0; i < Math.min(limit, list.keys.length); i++) candidates.push({ key: list.keys[i], position: list.positionAt(i) });
    }
    candidates.sort((a, b) => a.position - b.position);
    return { items: candidates.slice(0, limit).map(({ key }) => this.resources.get(key)!), total };
  }

  position(id: string): number | undefined {
    const key = normaliseId(id);
    const record = this.resources.get(key);
    return record && this.positionOf(key, record);
  }

  private positionOf(key: string, record: StoredResource): number | undefined {
    const children = this.byParent.get(record.parentKey);
    return children && childPosition(children, lowerType(record.type), key);
  }

  getOperation(id: string): OperationRecord | undefined {
    return this.operations.get(id.toLowerCase());
  }

  putOperation(operation: OperationRecord): void {
    const key = operation.name.toLowerCase();
    const previous = this.operations.get(key);
    this.record(() => this.setOperation(key, previous));
    if (recordChecks.freeze) deepFreeze(operation);
    this.setOperation(key, this.compactOperation(operation));
  }

  /** Stores (or, with none, removes) an operation record, keeping the finished list and its byte count. */
  private setOperation(key: string, operation: OperationRecord | undefined): void {
    const was = this.finished.get(key);
    if (was !== undefined) {
      this.finished.delete(key);
      this.finishedBytes -= was;
    }
    if (!operation) {
      this.operations.delete(key);
      return;
    }
    this.operations.set(key, operation);
    if (operation.status !== "InProgress") {
      const bytes = JSON.stringify(operation).length;
      const ended = operation.endTime ?? "";
      this.finished.set(key, bytes);
      this.finishedBytes += bytes;
      if (ended < this.lastEnded) this.finishedUnordered = true;
      else this.lastEnded = ended;
    }
  }

  /** Puts `finished` back in end order, when an undo put an entry out of it. */
  private orderFinished(): void {
    if (!this.finishedUnordered) return;
    const ended = (key: string) => this.operations.get(key)!.endTime ?? "";
    this.finished = new Map([...this.finished].sort(([a], [b]) => (ended(a) < ended(b) ? -1 : ended(a) > ended(b) ? 1 : 0)));
    this.finishedUnordered = false;
  }

  recentlyEnded(limit: number): OperationRecord[] {
    this.orderFinished();
    const keys = [...this.finished.keys()];
    const out: OperationRecord[] = [];
    for (let i = keys.length - 1; i >= 0 && out.length < limit; i--) out.push(this.operations.get(keys[i])!);
    return out;
  }

  pruneOperations(retention: OperationRetention): number {
    this.orderFinished();
    let dropped = 0;
    let passed = 0;
    // Oldest end first; the first one that need not go ends the walk (those after it ended later).
    for (const key of this.finished.keys()) {
      const ended = this.operations.get(key)!.endTime ?? "";
      if (dropped >= retention.maxDrops || passed > retention.maxDrops * 4) break;
      const over = this.finished.size > retention.keepNewest || this.finishedBytes > retention.maxBytes;
      if (!over && !(ended < retention.endedBefore)) break;
      if (this.activeRefs.has(key)) {
        passed++;
        continue;
      }
      const previous = this.operations.get(key);
      this.record(() => this.setOperation(key, previous));
      this.setOperation(key, undefined);
      dropped++;
    }
    return dropped;
  }

  operationCount(): number {
    return this.operations.size;
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

  transaction<T>(fn: () => T, hooks?: CommitHooks): T {
    if (this.undo) return fn(); // nested: part of the outer transaction
    const undo: (() => void)[] = (this.undo = []);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.undo = undefined;
      for (const step of undo.reverse()) step();
      hooks?.failed();
      throw error;
    } finally {
      this.undo = undefined;
    }
    hooks?.committed();
    return result;
  }

  /** Nothing to commit: every change is kept when made. */
  deferCommits<T>(fn: () => T): T {
    return fn();
  }

  durable(): undefined {
    return undefined;
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
    this.finished = new Map();
    this.finishedBytes = 0;
    this.lastEnded = "";
    this.finishedUnordered = false;
    this.activeRefs = new Map();
  }

  close(): void {}

  private record(step: () => void): void {
    this.undo?.push(step);
  }

  private collect<T>(list: OrderedKeys | undefined, range?: Range): StoredResource<T>[] {
    if (!list) return [];
    const { keys } = list;
    const first = (range?.after === undefined ? 0 : list.firstAfter(range.after)) + (range?.offset ?? 0);
    const end = Math.min(keys.length, range ? first + range.limit : keys.length);
    const out: StoredResource<T>[] = [];
    for (let i = first; i < end; i++) out.push(this.resources.get(keys[i])!);
    return out;
  }
}

/** A parent with more children than this keeps one OrderedKeys per type; fewer are one flat array. */
const FLAT_CHILDREN_LIMIT = 8;

/**
 * A parent's children. Nearly every parent has one or two (a pool's machine set; a one-pool cluster's
 * pool and address space): those are one flat array `[type, key, position, ...]` in position order,
 * replaced (not grown) on a change so it stays sized to its entries. Per-type lists of two arrays each
 * cost about 250 bytes more a parent, an object around the array 40 more, and 10,000 clusters are
 * 20,000 parents. Past FLAT_CHILDREN_LIMIT children, one OrderedKeys per type (lower-cased).
 */
type Children = (string | number)[] | Map<string, OrderedKeys>;

function childrenOfType(children: Children, type: string): OrderedKeys | undefined {
  if (!Array.isArray(children)) return children.get(type);
  let list: OrderedKeys | undefined;
  for (let i = 0; i < children.length; i += 3) if (children[i] === type) (list ??= new OrderedKeys()).add(children[i + 1] as string, children[i + 2] as number);
  return list;
}

/** Every child, of any type, in position order. */
function allChildren(children: Children): OrderedKeys | undefined {
  const merged = new OrderedKeys();
  if (Array.isArray(children)) for (let i = 0; i < children.length; i += 3) merged.add(children[i + 1] as string, children[i + 2] as number);
  else {
    if (children.size === 1) return children.values().next().value;
    for (const list of children.values()) for (let i = 0; i < list.keys.length; i++) merged.add(list.keys[i], list.positionAt(i));
  }
  return merged.keys.length === 0 ? undefined : merged;
}

/** The key of a child (any one): its record holds the parent key every child's record shares. */
function someChild(children: Children): string | undefined {
  if (Array.isArray(children)) return children[1] as string | undefined;
  return children.values().next().value?.keys[0];
}

function childPosition(children: Children, type: string, key: string): number | undefined {
  if (!Array.isArray(children)) return children.get(type)?.positionOf(key);
  for (let i = 1; i < children.length; i += 3) if (children[i] === key) return children[i + 1] as number;
  return undefined;
}

/** The children with one more: a new array, or the same map changed. */
function withChild(children: Children | undefined, type: string, key: string, position: number): Children {
  if (children === undefined) return [type, key, position];
  if (!Array.isArray(children)) {
    const list = children.get(type);
    if (list) list.add(key, position);
    else children.set(type, new OrderedKeys(key, position));
    return children;
  }
  // After the last entry of an earlier position (the usual: a new child, the newest).
  let at = children.length;
  while (at > 0 && (children[at - 1] as number) > position) at -= 3;
  if (at > 0 && children[at - 2] === key) return children; // indexed already
  if (children.length < FLAT_CHILDREN_LIMIT * 3) return at === children.length ? children.concat(type, key, position) : children.toSpliced(at, 0, type, key, position);
  let lists: Children = new Map<string, OrderedKeys>();
  for (let i = 0; i < children.length; i += 3) lists = withChild(lists, children[i] as string, children[i + 1] as string, children[i + 2] as number);
  return withChild(lists, type, key, position);
}

/** The children with one fewer (a new array, or the same map changed); undefined when none are left. */
function withoutChild(children: Children, type: string, key: string, position: number): Children | undefined {
  if (!Array.isArray(children)) {
    if (children.get(type)?.remove(key, position)) children.delete(type);
    return children.size === 0 ? undefined : children;
  }
  for (let i = 0; i < children.length; i += 3) {
    if (children[i + 1] === key && children[i + 2] === position) return children.length === 3 ? undefined : children.toSpliced(i, 3);
  }
  return children;
}

/** A list longer than this finds a key's position through an index of its own. */
const SCANNED_LIST_MAX = 64;

/** The keys of one list with their positions, both in position order. */
class OrderedKeys {
  readonly keys: string[];
  private readonly positions: number[];
  /** Each key's position, made at the first positionOf of a long list (paging one, deleting from one) and kept up from then. */
  private index: Map<string, number> | undefined;

  /** A list of one (the usual: a pool's machine set, a one-pool cluster's pool), in arrays sized to it. */
  constructor(key?: string, position?: number) {
    this.keys = key === undefined ? [] : [key];
    this.positions = position === undefined ? [] : [position];
  }

  positionAt(index: number): number {
    return this.positions[index];
  }

  /** A key's position: by a scan in a short list, through the index in a long one (a scan of 10,000 keys is about 150 us). */
  positionOf(key: string): number | undefined {
    if (this.keys.length <= SCANNED_LIST_MAX) {
      const at = this.keys.indexOf(key);
      return at < 0 ? undefined : this.positions[at];
    }
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.keys.length; i++) this.index.set(this.keys[i], this.positions[i]);
    }
    return this.index.get(key);
  }

  /** The index of the first entry whose position is greater than `position`. */
  firstAfter(position: number): number {
    const { positions } = this;
    let [low, high] = [0, positions.length];
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (positions[middle] <= position) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  add(key: string, position: number): void {
    const { positions } = this;
    if (positions.length === 0 || positions[positions.length - 1] < position) {
      // the usual case: a new record, the newest
      this.keys.push(key);
      positions.push(position);
      this.index?.set(key, position);
      return;
    }
    const at = this.firstAfter(position);
    if (this.keys[at - 1] === key) return;
    this.keys.splice(at, 0, key);
    positions.splice(at, 0, position);
    this.index?.set(key, position);
  }

  /** True when the list is left empty. */
  remove(key: string, position: number): boolean {
    const at = this.firstAfter(position) - 1;
    if (at >= 0 && this.keys[at] === key) {
      this.keys.splice(at, 1);
      this.positions.splice(at, 1);
      this.index?.delete(key);
    }
    return this.keys.length === 0;
  }
}

const typeKey = (subscriptionId: string, type: string) => `${subscriptionId}|${type}`.toLowerCase();
/** Each type lower-cased once (types are a handful of constants). */
const lowerTypes = new Map<string, string>();
const lowerType = (type: string): string => {
  let lower = lowerTypes.get(type);
  if (lower === undefined) lowerTypes.set(type, (lower = type.toLowerCase()));
  return lower;
};
