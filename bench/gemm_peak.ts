// Benchmark of the hand-written WASM SIMD sgemm (wasm/tinyflow_kernels.wasm)
// against the machine's WASM SIMD peak as measured by the peak_flops_kernel
// probe (13 independent f32x4 mul+add chains). Single-threaded.
// Run: npx tsx bench/gemm_peak.ts [--quick] [--conv]
//   --quick  fewer repetitions
//   --conv   also time conv2d forward / backward-data / backward-filter
// Every timing is preceded by a warm-up of at least 0.3 s so V8 has tiered the
// wasm functions up from Liftoff to TurboFan. The machine may be shared, so
// both the median and the best run are printed.
import { type Conv2dParams, conv2dShapes } from "../src/backends/wasm/conv_params.js";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels.js";

const quick = process.argv.includes("--quick");
const withConv = process.argv.includes("--conv");
const RUNS = quick ? 5 : 9;
const K = instantiateWasmKernels();

interface Stats {
  median: number;
  best: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, best: s[s.length - 1]! };
}

/** GFLOPS of `f` (which performs `flops` flops), after a warm-up. */
function measure(f: () => void, flops: number, minSeconds = quick ? 0.05 : 0.15): Stats {
  const warmEnd = performance.now() + 300;
  do f(); while (performance.now() < warmEnd);
  const t0 = performance.now();
  f();
  const once = Math.max(1e-3, (performance.now() - t0) / 1e3);
  const reps = Math.max(1, Math.ceil(minSeconds / once));
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    runs.push((flops * reps) / ((performance.now() - t) / 1e3) / 1e9);
  }
  return stats(runs);
}

function fmt(s: Stats): string {
  return `${s.median.toFixed(2)} GFLOPS (best ${s.best.toFixed(2)})`;
}

function gemm(n: number, transA = false, transB = false): Stats {
  const a = K.allocF32(n * n);
  const b = K.allocF32(n * n);
  const c = K.allocF32(n * n);
  const heap = K.heapF32();
  for (let i = 0; i < n * n; i++) {
    heap[(a >> 2) + i] = Math.sin(i) * 0.5;
    heap[(b >> 2) + i] = Math.cos(i) * 0.5;
  }
  const s = measure(() => K.sgemm({ m: n, n, k: n, a, b, c, transA, transB }), 2 * n * n * n);
  K.freeF32(a, n * n);
  K.freeF32(b, n * n);
  K.freeF32(c, n * n);
  return s;
}

const iters = 2_000_000;
const peak = measure(() => K.peakFlops(iters), iters * K.raw.peak_flops_per_iter());
console.log(`WASM SIMD peak probe (13 chains of f32x4 mul+add): ${fmt(peak)}`);
console.log("sgemm, single thread, row-major C = A*B:");
const pct = (s: Stats) => `${((100 * s.median) / peak.median).toFixed(0)}% of peak median, ${((100 * s.best) / peak.best).toFixed(0)}% of best`;
for (const n of [256, 512, 1024]) {
  const s = gemm(n);
  console.log(`  ${String(n).padStart(4)}^3 NN: ${fmt(s)}  ${pct(s)}`);
}
if (!quick) {
  for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
    const s = gemm(1024, ta, tb);
    console.log(`  1024^3 ${ta ? "T" : "N"}${tb ? "T" : "N"}: ${fmt(s)}  ${pct(s)}`);
  }
}

if (withConv) {
  const cfgs: Array<[string, Conv2dParams]> = [
    ["NHWC 8x32x32x64 -> 64, 3x3 pad 1", { layout: "NHWC", n: 8, h: 32, w: 32, cin: 64, cout: 64, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
    ["NCHW 8x64x32x32 -> 64, 3x3 pad 1", { layout: "NCHW", n: 8, h: 32, w: 32, cin: 64, cout: 64, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
    ["NHWC 32x28x28x1 -> 32, 5x5 pad 2", { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 5, kw: 5, padding: [[2, 2], [2, 2]] }],
    ["NHWC 8x16x16x128 depthwise 3x3", { layout: "NHWC", n: 8, h: 16, w: 16, cin: 128, cout: 128, groups: 128, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ];
  console.log("conv2d, single thread:");
  for (const [name, p] of cfgs) {
    const s = conv2dShapes(p);
    const x = K.allocF32(s.xSize);
    const w = K.allocF32(s.wSize);
    const y = K.allocF32(s.ySize);
    K.heapF32().fill(0.5, x >> 2, (x >> 2) + s.xSize);
    K.heapF32().fill(0.25, w >> 2, (w >> 2) + s.wSize);
    const flops = 2 * s.ySize * p.kh * p.kw * (p.cin / (p.groups ?? 1));
    const fwd = measure(() => K.conv2d(p, x, w, y), flops);
    const bd = measure(() => K.conv2dBackwardData(p, y, w, x), flops);
    const bf = measure(() => K.conv2dBackwardFilter(p, x, y, w), flops);
    console.log(`  ${name}: fwd ${fwd.median.toFixed(2)}, bwd-data ${bd.median.toFixed(2)}, bwd-filter ${bf.median.toFixed(2)} GFLOPS (medians)`);
    K.freeF32(x, s.xSize);
    K.freeF32(w, s.wSize);
    K.freeF32(y, s.ySize);
  }
}
