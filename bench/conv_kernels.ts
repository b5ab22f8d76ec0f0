// Times the Rust conv kernels on the benchmark shapes (W5, the W7 CNN's two
// convs, and a stride-2 conv), one thread, CPU time per call: the forward
// conv, and each gradient two ways — on its gradient kernel
// (conv2d_backward_data / conv2d_backward_filter, what the wasm lowering runs
// since plan/conv_lowering.ts) and as the forward kernel on the transposed
// convolution that `grad` writes (input dilated by the strides for the data
// gradient; batch and features swapped for the filter gradient, whose
// operands the lowering would also have to transpose — not timed here).
// The variants of one shape run interleaved; min and median over the reps.
// A second table times the thread pool's split conv (ThreadPool.conv, as the
// wasm backend runs conv steps) on one and on two threads, in wall-clock ms
// (CPU time adds up both threads), with the bias+relu epilogue as a third
// forward variant; the ratio is the two-thread speedup.
//
// Run: npx tsx bench/conv_kernels.ts [reps]   (default 15)

import { conv2dShapes, encodeConvEpilogue, type Conv2dParams, type ConvMode } from "../src/backends/wasm/conv_params.js";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels.js";
import { ThreadPool } from "../src/backends/wasm/threads.js";

const K = instantiateWasmKernels();

function filled(n: number): number {
  const p = K.allocF32(n);
  K.writeF32(p, Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
  return p;
}

interface Variant {
  label: string;
  run: () => void;
}

/** The forward conv, and each gradient on its kernel and as a forward conv. */
function variants(p: Conv2dParams): Variant[] {
  const s = conv2dShapes(p);
  const [x, w, y] = [filled(s.xSize), filled(s.wSize), filled(s.ySize)];
  const [sh, sw] = p.strides ?? [1, 1];
  const [[pt], [pl]] = p.padding ?? [[0, 0], [0, 0]];
  // The data gradient as grad writes it: dy dilated by the strides, the reversed kernel, padded to give H×W.
  const lo = [p.kh - 1 - pt, p.kw - 1 - pl];
  const dataT: Conv2dParams = {
    layout: p.layout, n: p.n, h: s.oh, w: s.ow, cin: p.cout, cout: p.cin, kh: p.kh, kw: p.kw, lhsDilation: [sh, sw],
    padding: [[lo[0], p.h + p.kh - 1 - ((s.oh - 1) * sh + 1) - lo[0]], [lo[1], p.w + p.kw - 1 - ((s.ow - 1) * sw + 1) - lo[1]]],
  };
  // The filter gradient as grad writes it: x's channels as the batch, its batch as the features, dy as the kernel.
  const filterT: Conv2dParams = {
    layout: "NHWC", n: p.cin, h: p.h, w: p.w, cin: p.n, cout: p.cout, kh: s.oh, kw: s.ow, dilation: [sh, sw],
    padding: [[pt, (p.kh - 1) - pt + (s.oh - 1) * sh - (p.h - 1)], [pl, (p.kw - 1) - pl + (s.ow - 1) * sw - (p.w - 1)]],
  };
  const dt = conv2dShapes(dataT);
  const ft = conv2dShapes(filterT);
  if (dt.oh !== p.h || dt.ow !== p.w || ft.oh !== p.kh || ft.ow !== p.kw) throw new Error("conv_kernels: transposed conv shapes do not match");
  const [dA, dB, dC] = [filled(dt.xSize), filled(dt.wSize), filled(dt.ySize)];
  const [fA, fB, fC] = [filled(ft.xSize), filled(ft.wSize), filled(ft.ySize)];
  return [
    { label: "forward", run: () => K.conv2d(p, x, w, y) },
    { label: "data gradient: backward_data", run: () => K.conv2dBackwardData(p, y, w, x) },
    { label: "data gradient: forward on the transposed conv", run: () => K.conv2d(dataT, dA, dB, dC) },
    { label: "filter gradient: backward_filter", run: () => K.conv2dBackwardFilter(p, x, y, w) },
    { label: "filter gradient: forward on swapped dims", run: () => K.conv2d(filterT, fA, fB, fC) },
  ];
}

const SHAPES: Array<[string, Conv2dParams]> = [
  ["W5 32x28x28x1->32 NHWC", { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv1 64x28x28x1->16 NHWC", { layout: "NHWC", n: 64, h: 28, w: 28, cin: 1, cout: 16, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv2 64x14x14x16->32 NHWC", { layout: "NHWC", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv2 as NCHW", { layout: "NCHW", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["64x28x28x16->32 stride 2 NHWC", { layout: "NHWC", n: 64, h: 28, w: 28, cin: 16, cout: 32, kh: 3, kw: 3, strides: [2, 2], padding: [[0, 1], [0, 1]] }],
];

const cpuMs = (f: () => void): number => {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};

const reps = Number(process.argv[2] ?? 15);
const { loadavg } = await import("node:os");
console.log(`conv kernels, one thread, CPU ms per call (min / median of ${reps}, first 2 dropped); load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const [name, p] of SHAPES) {
  const vs = variants(p);
  const times = vs.map(() => [] as number[]);
  for (let r = 0; r < reps + 2; r++) vs.forEach((v, i) => times[i]!.push(cpuMs(v.run)));
  console.log(name);
  vs.forEach((v, i) => {
    const t = times[i]!.slice(2).sort((a, b) => a - b);
    console.log(`  ${v.label.padEnd(48)} ${t[0]!.toFixed(2).padStart(7)} / ${t[t.length >> 1]!.toFixed(2).padStart(7)} ms`);
  });
}

const pools = { one: new ThreadPool(K, { threads: 1 }), two: new ThreadPool(K, { threads: 2 }) };
await pools.two.whenReady(10_000);
console.log(`\nsplit conv (ThreadPool.conv), wall ms per call (min / median of ${reps}), 1 vs 2 threads; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const [name, p] of SHAPES) {
  const s = conv2dShapes(p);
  const [x, w, y, bias] = [filled(s.xSize), filled(s.wSize), filled(s.ySize), filled(p.cout)];
  const dx = filled(s.xSize);
  const dw = filled(s.wSize);
  const biasRelu = encodeConvEpilogue([{ op: "add", operand: { kind: "col" } }, { op: "relu", operand: { kind: "none" } }], [bias]);
  const jobs: Array<[string, ConvMode, number, number, number, readonly number[] | undefined]> = [
    ["forward", "forward", x, w, y, undefined],
    ["forward + bias + relu epilogue", "forward", x, w, y, biasRelu],
    ["data gradient", "data", y, w, dx, undefined],
    ["filter gradient", "filter", x, y, dw, undefined],
  ];
  console.log(name);
  for (const [label, mode, a, b, out, epilogue] of jobs) {
    const run = (pool: ThreadPool) => pool.conv({ params: p, mode, a, b, out, ...(epilogue ? { epilogue } : {}) });
    const t = { one: [] as number[], two: [] as number[] };
    for (let r = 0; r < reps + 2; r++) {
      for (const k of ["one", "two"] as const) {
        const t0 = performance.now();
        run(pools[k]);
        t[k].push(performance.now() - t0);
      }
    }
    const stat = (v: number[]) => { const q = v.slice(2).sort((c, d) => c - d); return [q[0]!, q[q.length >> 1]!]; };
    const [o, tw] = [stat(t.one), stat(t.two)];
    console.log(`  ${label.padEnd(32)} 1 thread ${o[0]!.toFixed(2).padStart(6)} / ${o[1]!.toFixed(2).padStart(6)}   2 threads ${tw[0]!.toFixed(2).padStart(6)} / ${tw[1]!.toFixed(2).padStart(6)}   speedup (min) ${(o[0]! / tw[0]!).toFixed(2)}x`);
  }
}
pools.one.close();
pools.two.close();
