// The pool's adaptive split of short jobs (pool.ts "Short jobs",
// split_choice.ts) against always splitting and against one thread, in one
// process, interleaved: each round runs every variant for `block` calls, the
// order rotated round by round, the default pool rebuilt for each variant
// (setThreadCount / setAdaptiveSplit; its workers start outside the timed
// calls) -- so all three see the same load, which on a shared machine moves
// from second to second.
//
// Workloads (bench/workloads.md):
//   - W5 as taught: `await f(X, W).data()`, nothing disposed (the W5 row);
//   - W5 tuned: the same, the result disposed after reading;
//   - W5 kernel: the conv alone on the backend's pool, then `gap` ms of
//     busy-waiting standing in for the rest of a W5 call, so the worker goes
//     back to sleep between calls as in the W5 loop;
//   - gemm 256: W1's 256³ matmul kernel alone (also short: 8x the split
//     threshold), with the same gap.
// Printed per variant: wall ms per call (min / median over the rounds' per-call
// means), the process's CPU ms per call (all threads; the kernel rows include
// the gap's busy-wait), and the share of calls that split. Load average
// before and after: compare rows within one run only.
//
// Run: npx tsx bench/adaptive_split.ts [rounds] [block] [gap ms]   (default 10 rounds of 100 calls, gap 0.5)

import { loadavg } from "node:os";
import { np, lax, jit, type Tracer } from "../src/index";
import { wasmBackend } from "../src/backends/wasm";
import { getThreadPool, setAdaptiveSplit, setThreadCount } from "../src/backends/wasm/threads";
import { conv2dShapes, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { W5_SHAPE, convInputs } from "./harness";

const rounds = Number(process.argv[2] ?? 10);
const block = Number(process.argv[3] ?? 100);
const GAP_MS = Number(process.argv[4] ?? 0.5);
const load0 = loadavg();

const s = W5_SHAPE;
const { x: xData, w: wData } = convInputs(s);
const X = np.array(xData).reshape([s.n, s.h, s.w, s.cin]);
const W = np.array(wData).reshape([s.kh, s.kw, s.cin, s.cout]);
const f = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));

const K = wasmBackend().mem.kernels;
const params: Conv2dParams = { layout: "NHWC", ...s, padding: [[1, 1], [1, 1]] };
const shapes = conv2dShapes(params);
const [xp, wp, yp] = [K.allocF32(shapes.xSize), K.allocF32(shapes.wSize), K.allocF32(shapes.ySize)];
K.writeF32(xp, xData);
K.writeF32(wp, wData);
const G = 256;
const [ga, gb, gc] = [K.allocF32(G * G), K.allocF32(G * G), K.allocF32(G * G)];
K.writeF32(ga, Float32Array.from({ length: G * G }, (_, i) => Math.sin(i)));
K.writeF32(gb, Float32Array.from({ length: G * G }, (_, i) => Math.cos(i)));

const busyWait = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
let sink = 0;
const workloads: Array<{ label: string; run: () => unknown }> = [
  { label: "W5 as taught", run: async () => { sink += (await f(X, W).data())[7]!; } },
  { label: "W5 tuned", run: async () => { const y = f(X, W); sink += (await y.data())[7]!; y.dispose(); } },
  { label: `W5 kernel + ${GAP_MS} ms`, run: () => { getThreadPool(K).conv({ params, mode: "forward", a: xp, b: wp, out: yp }); busyWait(GAP_MS); } },
  { label: `gemm 256 + ${GAP_MS} ms`, run: () => { getThreadPool(K).sgemm({ m: G, n: G, k: G, a: ga, b: gb, c: gc }); busyWait(GAP_MS); } },
];
const modes = [
  { label: "adaptive", threads: 2, adaptive: true },
  { label: "always split", threads: 2, adaptive: false },
  { label: "1 thread", threads: 1, adaptive: false },
] as const;
const variants = workloads.flatMap((w) => modes.map((m) => ({ ...m, workload: w.label, run: w.run })));

interface Tally { wall: number[]; cpu: number; split: number; calls: number }
const tallies = variants.map((): Tally => ({ wall: [], cpu: 0, split: 0, calls: 0 }));
for (let r = -1; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + Math.max(r, 0)) % variants.length;
    const v = variants[i]!;
    setAdaptiveSplit(v.adaptive);
    setThreadCount(v.threads, K);
    const pool = getThreadPool(K);
    await pool.whenReady(10_000);
    // Warm-up calls: the new pool's choices take their first samples here, as in a steady loop.
    for (let j = 0; j < 20; j++) await v.run();
    if (r < 0) continue; // warm-up round (compiles, tier-up)
    const split0 = pool.splitJobs;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let j = 0; j < block; j++) await v.run();
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    const t = tallies[i]!;
    t.wall.push(wall / block);
    t.cpu += (c.user + c.system) / 1000;
    t.split += pool.splitJobs - split0;
    t.calls += block;
  }
}
setAdaptiveSplit(undefined);
setThreadCount(undefined, K);

const minMed = (xs: number[]): string => {
  const q = xs.slice().sort((a, b) => a - b);
  return `${q[0]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
};
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
console.log(`adaptive split vs always split vs 1 thread: ${rounds} rounds of ${block} calls per variant, rotated; load ${load(load0)} -> ${load(loadavg())}`);
console.log(`${"workload".padEnd(22)} ${"pool".padEnd(13)} ${"wall ms min / med".padStart(18)}  ${"CPU ms/call".padStart(11)}  split/call`);
variants.forEach((v, i) => {
  const t = tallies[i]!;
  console.log(`${v.workload.padEnd(22)} ${v.label.padEnd(13)} ${minMed(t.wall).padStart(18)}  ${(t.cpu / t.calls).toFixed(3).padStart(11)}  ${(t.split / t.calls).toFixed(2).padStart(10)}`);
});
if (sink === 0.5) console.log("");
process.exit(0);
