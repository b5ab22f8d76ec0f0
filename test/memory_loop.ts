// A training-like loop run in a child process by test/memory_os.test.ts, so
// that what it measures is the operating system's view of this process alone
// (RSS and the bytes of ArrayBuffers), not only tinyflow's counters.
//
//   node --import tsx test/memory_loop.ts <sync|async> <jit|eager> <dispose|keep> <steps> <elements> <limitBytes> [collect|leave]
//
// Each step computes y = tanh(x*2+1)*x on a fresh input (jitted, or as a chain
// of eager ops whose intermediates nobody disposes), reads y back (with
// `await y.data()` in the async loop, `y.dataSync()` in the synchronous one)
// and then drops y, or disposes it. It prints one JSON line: the growth of RSS
// and of arrayBuffers over a baseline taken after a warm-up, the device bytes
// still resident, how many buffers were spilled, and a checksum of the last
// result, so the caller can check the loop computed what it should.
//
// RSS is sampled as the loop leaves it; arrayBuffers after a full collection
// (the parent runs this with --expose-gc), so it counts the buffers something
// still holds -- what an unbounded loop would accumulate -- and not readbacks
// that are garbage V8 has not collected yet (35-140 MB at a sample, varying
// from run to run, which made a bound on the uncollected figure flaky).
//
// "collect" (the default) forces those collections every 250 steps; "leave"
// is the loop exactly as a user writes it: nothing forces a collection inside
// the measured steps, so RSS shows whether tinyflow and V8 alone keep memory
// bounded. Only the baseline (after the warm-up) and the final arrayBuffers
// figure (after the last step) are taken after a forced collection.

import { Array as TfArray, jit, memoryStats, np, setMemoryLimit } from "../src/index";

const [mode, kind, release, stepsArg, sizeArg, limitArg, collection = "collect"] = process.argv.slice(2);
const steps = Number(stepsArg);
const n = Number(sizeArg);
setMemoryLimit(Number(limitArg));

const f = (v: any) => np.tanh(v.mul(2).add(1)).mul(v);
const g = kind === "jit" ? jit(f) : f;
const source = Float32Array.from({ length: n }, (_, i) => ((i % 101) - 50) / 50);

function step(i: number): TfArray {
  source[0] = (i % 7) / 7; // a fresh input each step, as a batch would be
  return g(np.array(source)) as TfArray;
}

const warmup = Math.min(500, steps >> 2);
const collect = (globalThis as { gc?: () => void }).gc ?? ((): void => {
  throw new Error("memory_loop.ts needs node --expose-gc");
});
let base = { rss: 0, arrayBuffers: 0 };
let maxRss = 0;
let maxAb = 0;
let last = 0;
for (let i = 0; i < steps; i++) {
  const y = step(i);
  const out = mode === "async" ? await y.data() : y.dataSync();
  last = out[1]!;
  if (release === "dispose") y.dispose();
  if (i === warmup) {
    const rss = process.memoryUsage().rss;
    collect();
    base = { rss, arrayBuffers: process.memoryUsage().arrayBuffers };
  }
  if (i > warmup && i % 250 === 0) {
    maxRss = Math.max(maxRss, process.memoryUsage().rss - base.rss);
    if (collection === "collect") {
      collect();
      maxAb = Math.max(maxAb, process.memoryUsage().arrayBuffers - base.arrayBuffers);
    }
  }
}
if (collection === "leave") {
  maxRss = Math.max(maxRss, process.memoryUsage().rss - base.rss);
  collect();
  maxAb = process.memoryUsage().arrayBuffers - base.arrayBuffers;
}
const x1 = source[1]!;
const expected = Math.fround(Math.tanh(Math.fround(Math.fround(x1 * 2) + 1)) * x1);
process.stdout.write(
  JSON.stringify({ rssGrowth: maxRss, arrayBuffersGrowth: maxAb, ...memoryStats(), last, expected }) + "\n",
  () => process.exit(0),
);
