// Memory back after a burst. A burst of writes (a fleet created, a soak run) grows V8's heap, and V8
// gives the garbage and its grown young generation back when its memory reducer runs, which it may
// not do for a long while: the same fill of 10,000 clusters settled at 120 MiB of RSS in one run and
// stayed at 203 MiB 40 s later in the next. So, once the process is idle and its heap has grown past
// the last idle collection's, one full collection: it frees most of the old generation's garbage
// (about 200 -> 175 MiB after that fill). The young generation (32 MiB after a burst) and the
// compaction of what is left still wait for the reducer, which this does not make run.
import { performance } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface IdleCollectionOptions {
  /** How often the heap and the event loop are looked at. */
  intervalMs: number;
  /** Growth of the heap (bytes committed) since the last collection that makes one worth its pause. */
  growthBytes: number;
  /** Below this share of the interval spent running, the process is idle. */
  idleUtilization: number;
  /** A full collection, and the bytes the heap holds committed (tests pass their own). */
  collect?: () => void;
  committedBytes?: () => number;
}

export const IDLE_COLLECTION: IdleCollectionOptions = { intervalMs: 2000, growthBytes: 16 * 2 ** 20, idleUtilization: 0.02 };

/**
 * Node's full collection, without --expose-gc on the command line: the flag set now exposes it to new
 * contexts only. Undefined if this Node does not expose it so.
 */
export function fullCollection(): (() => void) | undefined {
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  return typeof gc === "function" ? (gc as () => void) : undefined;
}

/** Starts the watch (its timer does not keep the process alive); returns its stop. */
export function startIdleCollection(options: IdleCollectionOptions = IDLE_COLLECTION): () => void {
  // Node's collection is looked up at the first need: a new context costs start-up time and memory.
  let collect = options.collect;
  const committedBytes = options.committedBytes ?? (() => getHeapStatistics().total_heap_size);
  let baseline = committedBytes();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const committed = committedBytes();
    // A heap that shrank (the reducer ran) lowers the mark, so the next burst is measured from there.
    if (committed < baseline) baseline = committed;
    if (busy >= options.idleUtilization || committed < baseline + options.growthBytes) return;
    // Memory back is a nicety: a Node without the collection, or one that throws, ends the watch, never the process.
    try {
      collect ??= fullCollection();
      if (!collect) throw new Error("this Node does not expose its full collection");
      collect();
    } catch {
      clearInterval(timer);
      return;
    }
    baseline = committedBytes(); // lowered above as freed pages go back
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
