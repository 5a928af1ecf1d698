// The idle collection: one full collection once the process is idle and its heap has grown, none
// while it is busy, and none again until the heap grows again.
import { afterEach, describe, expect, it } from "vitest";
import { getHeapStatistics } from "node:v8";
import { fullCollection, startIdleCollection } from "../../src/idleCollection.js";

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

describe("the idle collection", () => {
  it("collects once after the heap grew and the process went idle, not while it is busy, and again after the next burst", async () => {
    let heap = 50 * MiB;
    let collections = 0;
    const collect = () => {
      collections++;
      heap -= 10 * MiB; // what the collection frees at once (more goes back later)
    };
    stops.push(startIdleCollection({ intervalMs: 40, growthBytes: 16 * MiB, idleUtilization: 0.5, collect, committedBytes: () => heap }));
    // A burst: the event loop busy through several intervals while the heap grows by 64 MiB.
    for (let slice = 0; slice < 8; slice++) {
      const until = Date.now() + 60;
      while (Date.now() < until); // busy
      heap = 50 * MiB + (slice + 1) * 8 * MiB;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(collections).toBe(0);
    await sleep(250); // idle: one collection
    expect(collections).toBe(1);
    heap = 60 * MiB; // the freed pages went back
    await sleep(250); // idle, no growth since: no other
    expect(collections).toBe(1);
    heap = 80 * MiB; // grown by 20 MiB from the mark of 60, idle
    await sleep(250);
    expect(collections).toBe(2);
  });

  it("runs Node's full collection without --expose-gc on the command line", () => {
    const collect = fullCollection();
    expect(collect).toBeTypeOf("function");
    let garbage: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `garbage ${i}` }));
    const before = getHeapStatistics().used_heap_size;
    expect(garbage.length).toBe(200_000);
    garbage = undefined;
    collect!();
    expect(getHeapStatistics().used_heap_size).toBeLessThan(before - 8 * MiB);
  });

  it("ends the watch, not the process, when the collection throws", async () => {
    let calls = 0;
    let heap = 50 * MiB;
    const collect = () => {
      calls++;
      throw new Error("no collection here");
    };
    stops.push(startIdleCollection({ intervalMs: 20, growthBytes: 1 * MiB, idleUtilization: 0.5, collect, committedBytes: () => heap }));
    heap = 80 * MiB;
    await sleep(150);
    expect(calls).toBe(1);
    heap = 120 * MiB;
    await sleep(100);
    expect(calls).toBe(1); // the watch ended at the first failure
  });
});
