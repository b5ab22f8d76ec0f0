// Where a pooled short kernel's time goes: W5's conv (32×28×28×1 → 32, 3×3,
// SAME, NHWC) on a 2-thread pool, each call cut into the phases of
// WorkerPool.dispatch as the calling thread sees them — posting the job
// (writing the slots and Atomics.notify, up to the start of its own share),
// its own share (the chunks it claims), and the wait for the worker's last
// chunk — next to the same conv on one thread. The phases are timed by
// wrapping the pool's dispatch and the kernels' conv entry point on this
// instance; the job itself runs unchanged. Between calls the calling thread
// busy-waits `gap` ms, standing in for the jitted call's own work around
// the kernel (W5's `f(X, W)` spends ~0.07 ms outside it): the worker's short
// idle spin (worker.ts) is over by then, so every call wakes it by futex, as
// in a loop of jitted calls.
//
// What to read: "post" is a few µs when the woken worker gets a core of its
// own; when the machine's other cores are busy, the scheduler may run the
// woken worker on the calling thread's core, and the caller then stalls in
// Atomics.notify until the worker blocks again — the share of calls with a
// post phase over 50 µs counts those. Wall ms per call (min / median / p90
// over single calls, the gap not included), and CPU ms per call of the whole
// process (both threads) over each block of calls, the gap's busy-wait
// included (the same in both variants: compare the difference).
//
// Run: npx tsx bench/pool_dispatch.ts [rounds] [block] [gap ms]   (default 20, 20, 0.07)

import os from "node:os";
import { conv2dShapes, convUnits, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";

const ROUNDS = Number(process.argv[2] ?? 20);
const BLOCK = Number(process.argv[3] ?? 20);
const GAP_MS = Number(process.argv[4] ?? 0.07);

const K = instantiateWasmKernels();
const W5: Conv2dParams = { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
const shapes = conv2dShapes(W5);
const filled = (n: number): number => K.putF32(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
const x = filled(shapes.xSize), w = filled(shapes.wSize), y = K.allocF32(shapes.ySize);

/** The conv family's default (conv_job.ts), spelled out so the chunk count below is known. */
const CHUNKS_PER_THREAD = 4;
const single = new ThreadPool(K, { threads: 1 });
const pool = new ThreadPool(K, { threads: 2, convChunksPerThread: CHUNKS_PER_THREAD });
if (pool.start() < 2) {
  console.log("pool_dispatch: the pool has no worker on this host (TINYFLOW_THREADS=1 or no worker threads); nothing to measure");
  process.exit(0);
}

// Phase clocks of the current call, set by the wrappers below.
let posted = 0, ownDone = 0, callerChunks = 0;
const dispatch = pool.dispatch.bind(pool);
pool.dispatch = (ws, kind, own, workEstimate, takeOver) =>
  dispatch(ws, kind, () => {
    posted = performance.now();
    own();
    ownDone = performance.now();
  }, workEstimate, takeOver);
// Only the calling thread enters the kernels through this object (workers have their own instances).
const convRange = K.conv2dRangeAt.bind(K);
K.conv2dRangeAt = (params, mode, a, b, out, u0, u1, epilogue) => {
  if (u1 > u0) callerChunks++;
  return convRange(params, mode, a, b, out, u0, u1, epilogue);
};

interface Samples { wall: number[]; cpu: number[]; post: number[]; own: number[]; wait: number[]; share: number[] }
const samples = (): Samples => ({ wall: [], cpu: [], post: [], own: [], wait: [], share: [] });
const variants: Array<{ label: string; pooled: boolean; run: () => void; s: Samples }> = [
  { label: "1 thread", pooled: false, run: () => single.conv({ params: W5, mode: "forward", a: x, b: w, out: y }), s: samples() },
  { label: "2 threads", pooled: true, run: () => pool.conv({ params: W5, mode: "forward", a: x, b: w, out: y }), s: samples() },
];
const spin = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

for (const v of variants) for (let i = 0; i < 30; i++) v.run();
for (let r = 0; r < ROUNDS; r++) {
  for (const v of variants.slice().sort(() => Math.random() - 0.5)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < BLOCK; i++) {
      posted = ownDone = 0;
      callerChunks = 0;
      const t0 = performance.now();
      v.run();
      const t1 = performance.now();
      v.s.wall.push(t1 - t0);
      if (v.pooled && posted > 0) {
        v.s.post.push(posted - t0);
        v.s.own.push(ownDone - posted);
        v.s.wait.push(t1 - ownDone);
        v.s.share.push(callerChunks);
      }
      spin(GAP_MS);
    }
    const c = process.cpuUsage(c0);
    // The gap's busy-wait stays in: its CPU time is not the wall time it spans when the thread
    // loses its core, so subtracting `gap` would mislead; both variants carry the same gap.
    v.s.cpu.push((c.user + c.system) / 1000 / BLOCK);
  }
}

const q = (xs: number[], p: number): number => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (xs: number[]): string => (xs.length === 0 ? "-" : `${q(xs, 0).toFixed(3)} / ${q(xs, 0.5).toFixed(3)} / ${q(xs, 0.9).toFixed(3)}`);
console.log(`W5 conv, ${ROUNDS} rounds of ${BLOCK} calls per variant, ${GAP_MS} ms busy gap between calls; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${os.availableParallelism()} cores`);
console.log(`ms per call: min / median / p90 over calls (CPU: over blocks, with the ${GAP_MS} ms gap)`);
for (const v of variants) console.log(`  ${v.label.padEnd(10)} wall ${ms(v.s.wall)}   CPU ${ms(v.s.cpu)}`);
const s = variants[1]!.s;
const stalled = s.post.filter((t) => t > 0.05).length;
// Cut as conv_job.ts cuts a split conv's units.
const units = convUnits(W5, "forward");
const nChunks = Math.ceil(units / Math.ceil(units / (2 * CHUNKS_PER_THREAD)));
console.log(`2 threads, phases of dispatch (min / median / p90 ms):`);
console.log(`  post (slots + notify)   ${ms(s.post)}   calls with post > 0.05 ms: ${stalled} of ${s.post.length}`);
console.log(`  own share               ${ms(s.own)}   caller's chunks of ${nChunks}: min ${q(s.share, 0)}, median ${q(s.share, 0.5)}, max ${q(s.share, 1)}`);
console.log(`  wait for the worker     ${ms(s.wait)}`);
console.log(`  parts taken over (worker not awake when the caller finished): ${pool.takenOverParts} of ${pool.splitJobs} jobs`);
single.close();
pool.close();
process.exit(0);
