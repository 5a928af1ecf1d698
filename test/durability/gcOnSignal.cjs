// Test-only preload for the soak test (NODE_OPTIONS="--require .../gcOnSignal.cjs"), never part of
// the emulator: on SIGUSR2 the process runs a full garbage collection and writes one line to stderr,
// `MEMORY {"heapUsed":...,"rss":...}`. RSS read without it is wherever V8's sawtooth happens to stand
// (garbage not yet collected: V8 lets the old space grow to several times the live heap before a full
// collection), so two readings differ by tens of MiB with nothing retained; after a full collection
// the figures are what the process keeps.
"use strict";
const v8 = require("node:v8");
const vm = require("node:vm");

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

process.on("SIGUSR2", () => {
  gc();
  gc(); // a second pass frees what the first one's finalizers released
  const { heapUsed, rss } = process.memoryUsage();
  process.stderr.write(`MEMORY ${JSON.stringify({ heapUsed, rss })}\n`);
});
