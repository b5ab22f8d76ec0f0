// A/B of two builds of the Rust kernels in one process: the conv forward
// (W5 in both layouts, first layers of 2 and 3 channels, the W7 CNN's convs;
// plain and with a bias + relu epilogue) and square
// sgemms, each on one thread (a ThreadPool of one thread per build, so the
// conv runs the same range code the backend runs), CPU ms per call. The two
// builds alternate call by call, so both see the same load; min and median
// over the reps, after a warm-up that lets V8 tier the kernels up. Use it to
// judge a kernel change against the committed .wasm of another commit:
//
//   git show main:wasm/tinyflow_kernels.wasm > /tmp/base.wasm
//   npx tsx bench/conv_ab.ts /tmp/base.wasm [reps]      (default 30)

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { conv2dShapes, encodeConvEpilogue, type Conv2dParams } from "../src/backends/wasm/conv_params.js";
import { readKernelBytes } from "../src/backends/wasm/kernel_binary.js";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels.js";
import { ThreadPool } from "../src/backends/wasm/threads.js";

const basePath = process.argv[2];
if (!basePath) throw new Error("usage: npx tsx bench/conv_ab.ts <baseline .wasm> [reps]");
const reps = Number(process.argv[3] ?? 30);
const builds: Array<[string, WasmKernels]> = [
  [`baseline ${basePath}`, instantiateWasmKernels({ bytes: new Uint8Array(readFileSync(basePath)) })],
  ["this tree", instantiateWasmKernels({ bytes: readKernelBytes() })],
];

function filled(K: WasmKernels, n: number): number {
  const p = K.allocF32(n);
  K.writeF32(p, Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
  return p;
}

const CONVS: Array<[string, Conv2dParams]> = [
  ["W5 32x28x28x1->32 NHWC", { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W5 as NCHW", { layout: "NCHW", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["RGB first layer 32x32x32x3->32 NHWC", { layout: "NHWC", n: 32, h: 32, w: 32, cin: 3, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["2 channels 32x28x28x2->32 NHWC", { layout: "NHWC", n: 32, h: 28, w: 28, cin: 2, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv1 64x28x28x1->16 NHWC", { layout: "NHWC", n: 64, h: 28, w: 28, cin: 1, cout: 16, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv2 64x14x14x16->32 NHWC", { layout: "NHWC", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
  ["W7 conv2 as NCHW", { layout: "NCHW", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
];

interface Case {
  label: string;
  runs: Array<() => void>;
}

const cases: Case[] = [];
for (const [name, p] of CONVS) {
  const s = conv2dShapes(p);
  const per = builds.map(([, K]) => {
    const pool = new ThreadPool(K, { threads: 1 });
    const [x, w, y, bias] = [filled(K, s.xSize), filled(K, s.wSize), filled(K, s.ySize), filled(K, p.cout)];
    const epilogue = encodeConvEpilogue([{ op: "add", operand: { kind: "col" } }, { op: "relu", operand: { kind: "none" } }], [bias]);
    return {
      plain: () => pool.conv({ params: p, mode: "forward", a: x, b: w, out: y }),
      biasRelu: () => pool.conv({ params: p, mode: "forward", a: x, b: w, out: y, epilogue }),
    };
  });
  cases.push({ label: `${name} forward`, runs: per.map((r) => r.plain) });
  cases.push({ label: `${name} forward + bias + relu`, runs: per.map((r) => r.biasRelu) });
}
for (const n of [256, 512]) {
  const per = builds.map(([, K]) => {
    const [a, b, c] = [filled(K, n * n), filled(K, n * n), filled(K, n * n)];
    return () => K.sgemm({ m: n, n, k: n, a, b, c });
  });
  cases.push({ label: `sgemm ${n}`, runs: per });
}

/** Calls (and at least this many ms) of each case and build before timing. */
const WARMUP_CALLS = 400;
const WARMUP_MS = 300;

const cpuMs = (f: () => void): number => {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};
const stat = (v: number[]): string => {
  const q = v.slice(3).sort((a, b) => a - b);
  return `${q[0]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
};

console.log(`kernel A/B, one thread, CPU ms per call (min / median of ${reps}); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`${"case".padEnd(48)} ${"baseline".padStart(15)} ${"this tree".padStart(15)}  ratio (min)`);
for (const c of cases) {
  // V8 runs a wasm function in its baseline tier (Liftoff, ~2-3x slower on
  // these kernels) until the function has used up its tier-up budget, which
  // took ~150-350 W5 convs; a short A/B would time the baseline code of the
  // paths a case is the first to reach. Warm every build up past that first.
  for (const run of c.runs) for (let i = 0, t0 = performance.now(); i < WARMUP_CALLS || performance.now() - t0 < WARMUP_MS; i++) run();
  const t = builds.map(() => [] as number[]);
  for (let r = 0; r < reps + 3; r++) c.runs.forEach((run, i) => t[i]!.push(cpuMs(run)));
  const mins = t.map((v) => v.slice(3).sort((a, b) => a - b)[0]!);
  console.log(`${c.label.padEnd(48)} ${stat(t[0]!).padStart(15)} ${stat(t[1]!).padStart(15)}  ${(mins[1]! / mins[0]!).toFixed(3)}`);
}
console.log(`load at end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
