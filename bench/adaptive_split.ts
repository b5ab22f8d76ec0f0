// The pool's adaptive split of short jobs (pool.ts "Short jobs",
// split_choice.ts) against always splitting and against one thread, call by
// call: three pools on one kernels instance (adaptive, always split, one
// thread), and each round runs one call on each, in an order that rotates, so
// the three see the same load -- which on a shared machine moves from
// second to second. Between calls the calling thread busy-waits `gap` ms,
// standing in for the rest of a W5 call (readback, dispatch), so a worker
// goes back to sleep between its pool's calls as it does in the W5 loop.
//
// Jobs: W5's conv (32×28×28×1 → 32, 3×3 SAME, NHWC; 3.4x the conv split
// threshold) and W1's 256³ matmul (8x the gemm threshold), both short; a
// 512³ matmul (64x) is not, and splits in both 2-thread pools (a check that
// large jobs keep splitting: its adaptive and always-split rows agree).
// Printed per job and pool: wall ms per call (min / median / p90 / mean,
// the gap not included), the process's CPU ms per call (every thread: the
// caller, the pool's worker, V8's), and the share of calls that split.
// Load average before and after: compare rows within one run only.
//
// Run: npx tsx bench/adaptive_split.ts [calls] [gap ms]   (default 1500 calls per pool and job, gap 0.5)

import { loadavg } from "node:os";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";
import { conv2dShapes, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { W5_SHAPE, convInputs } from "./harness";

const calls = Number(process.argv[2] ?? 1500);
const GAP_MS = Number(process.argv[3] ?? 0.5);
const load0 = loadavg();

const K = instantiateWasmKernels();
const params: Conv2dParams = { layout: "NHWC", ...W5_SHAPE, padding: [[1, 1], [1, 1]] };
const shapes = conv2dShapes(params);
const { x: xData, w: wData } = convInputs(W5_SHAPE);
const [xp, wp, yp] = [K.putF32(xData), K.putF32(wData), K.allocF32(shapes.ySize)];
const matrices = (n: number): { a: number; b: number; c: number } => ({
  a: K.putF32(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i))),
  b: K.putF32(Float32Array.from({ length: n * n }, (_, i) => Math.cos(i))),
  c: K.allocF32(n * n),
});
const g256 = matrices(256), g512 = matrices(512);

const pools = [
  { label: "adaptive", pool: new ThreadPool(K, { threads: 2, adaptiveSplit: true }) },
  { label: "always split", pool: new ThreadPool(K, { threads: 2, adaptiveSplit: false }) },
  { label: "1 thread", pool: new ThreadPool(K, { threads: 1 }) },
];
for (const p of pools) await p.pool.whenReady(10_000);
if (pools[0]!.pool.activeThreads < 2) {
  console.log("adaptive_split: no worker threads on this host (TINYFLOW_THREADS=1 or no worker_threads); nothing to compare");
  process.exit(0);
}
const jobs: Array<{ label: string; run: (p: ThreadPool) => void }> = [
  { label: "W5 conv", run: (p) => p.conv({ params, mode: "forward", a: xp, b: wp, out: yp }) },
  { label: "gemm 256", run: (p) => p.sgemm({ m: 256, n: 256, k: 256, ...g256 }) },
  { label: "gemm 512 (large)", run: (p) => p.sgemm({ m: 512, n: 512, k: 512, ...g512 }) },
];

const busyWait = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(`adaptive split vs always split vs 1 thread, call by call: ${calls} calls per pool and job, ${GAP_MS} ms busy gap between calls`);
console.log(`${"job".padEnd(17)} ${"pool".padEnd(13)} ${"wall ms min / med / p90 / mean".padStart(31)}  ${"CPU ms/call".padStart(11)}  split/call`);
for (const job of jobs) {
  const n = job.label.startsWith("gemm 512") ? Math.ceil(calls / 8) : calls;
  for (let i = 0; i < 30; i++) for (const p of pools) job.run(p.pool); // warm-up: V8 tier-up, the choices' first samples
  const wall = pools.map(() => [] as number[]);
  const cpu = pools.map(() => 0);
  const split0 = pools.map((p) => p.pool.splitJobs);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < pools.length; k++) {
      const j = (i + k) % pools.length;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      job.run(pools[j]!.pool);
      wall[j]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[j]! += (c.user + c.system) / 1000;
      busyWait(GAP_MS);
    }
  }
  pools.forEach((p, j) => {
    const w = wall[j]!.sort((a, b) => a - b);
    const mean = w.reduce((s, x) => s + x, 0) / w.length;
    const cols = `${q(w, 0).toFixed(3)} / ${q(w, 0.5).toFixed(3)} / ${q(w, 0.9).toFixed(3)} / ${mean.toFixed(3)}`;
    console.log(`${job.label.padEnd(17)} ${p.label.padEnd(13)} ${cols.padStart(31)}  ${(cpu[j]! / n).toFixed(3).padStart(11)}  ${((p.pool.splitJobs - split0[j]!) / n).toFixed(2).padStart(10)}`);
  });
}
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
console.log(`load ${load(load0)} -> ${load(loadavg())}`);
for (const p of pools) p.pool.close();
process.exit(0);
