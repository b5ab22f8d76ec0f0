// bench/webgpu_pipelines.ts — what shape-generic WGSL buys and costs. For a
// fused elementwise chain, a fused row reduction, a GEMM, a conv, and the
// window and library steps (argmax feeding a gather and a scatter-add; a scan,
// a sort and top_k; max pooling and its gradient), each run
// at several shapes on the WebGPU backend in two modes, interleaved in this
// one process: "generic" (sizes and strides in a per-dispatch uniform: one
// pipeline per kernel structure, the default) and "specialised" (baked into the
// WGSL: one pipeline per shape). Prints, per mode, the first call at each new
// shape (trace + plan + pipeline compilation + run; the first shape of a
// generic run is the only one that compiles) and the steady-state time of one
// call (min and median of reps, read back with `await y.data()`), plus the
// load average. On SwiftShader the compile times are real costs of that driver
// (a CPU JIT); its run times say little about a GPU.
//
//   npx tsx bench/webgpu_pipelines.ts [--reps 5]

import { grad, jit, lax, loadWebGpuBackend, nn, np, type Array as TfArray } from "../src/index";
import type { GpuRuntime } from "../src/backends/webgpu/runtime";
import { loadLine } from "./harness.js";

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf("--reps") + 1] ?? 5) || 5;

const backend = await loadWebGpuBackend({ makeDefault: true });
// The mode switch lives on the backend's runtime (not public API).
const runtime = (backend as unknown as { rt: GpuRuntime }).rt;

interface Case {
  name: string;
  shapes: number[][][];
  f: (...xs: TfArray[]) => TfArray | TfArray[];
}

const cases: Case[] = [
  { name: "elementwise tanh(2x+1)*y", shapes: [[[64, 96], [64, 96]], [[100, 130], [100, 130]], [[256, 200], [256, 200]], [[33, 517], [33, 517]]], f: (x, y) => np.tanh(x.mul(2).add(1)).mul(y) },
  { name: "row sum of exp(x - max)", shapes: [[[64, 96]], [[100, 130]], [[256, 200]], [[33, 517]]], f: (x) => np.sum(np.exp(x.sub(np.max(x, 1, { keepdims: true }))), 1) },
  { name: "matmul + bias relu", shapes: [[[64, 96], [96, 80], [80]], [[100, 130], [130, 70], [70]], [[128, 128], [128, 128], [128]], [[33, 257], [257, 65], [65]]], f: (a, b, c) => np.maximum(np.matmul(a, b).add(c), 0) },
  {
    name: "conv 3x3 NCHW",
    shapes: [[[2, 3, 16, 16], [8, 3, 3, 3]], [[2, 4, 20, 18], [6, 4, 3, 3]], [[1, 8, 24, 24], [8, 8, 3, 3]], [[3, 2, 15, 21], [5, 2, 3, 3]]],
    f: (x, w) => lax.convGeneralDilated(x, w, [1, 1], "SAME"),
  },
  {
    name: "argmax, gather, scatter-add",
    shapes: [[[64, 96]], [[100, 130]], [[256, 200]], [[33, 517]]],
    f: (x) => {
      const rows = np.argmax(x, 1);
      return x.at(rows).add(np.take(x, rows, 0));
    },
  },
  { name: "cumsum, sort, top_k", shapes: [[[64, 96]], [[100, 130]], [[256, 200]], [[33, 300]]], f: (x) => [np.cumsum(x, 1), np.sort(x, 1), lax.topK(x, 3)[0]] },
  {
    name: "max pool and its gradient",
    shapes: [[[2, 16, 16, 3]], [[2, 20, 18, 4]], [[1, 24, 24, 8]], [[3, 15, 21, 2]]],
    f: (x) => {
      const pool = (a: TfArray) => nn.maxPool(a, [3, 3], { stride: [2, 2], padding: "SAME" });
      return [pool(x), grad((a: TfArray) => np.sum(np.square(pool(a))))(x) as TfArray];
    },
  },
];

/** Runs `f` and reads every output back. */
const readAll = async (out: TfArray | TfArray[]) => Promise.all([out].flat().map((y) => y.data()));

const now = () => performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** First-call and steady-state times of `c` at every shape, in one mode. */
async function measure(c: Case, specialize: boolean): Promise<{ first: number[]; steadyMin: number[]; steadyMedian: number[] }> {
  runtime.specializeShapes = specialize;
  // A fresh jit per mode, so neither mode reuses the other's programs.
  const f = jit(c.f);
  const first: number[] = [];
  const steadyMin: number[] = [];
  const steadyMedian: number[] = [];
  for (const shapes of c.shapes) {
    const xs = shapes.map((s, i) => np.array(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(j * 0.37 + i))).reshape(s));
    const t0 = now();
    await readAll(f(...xs));
    first.push(now() - t0);
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t = now();
      await readAll(f(...xs));
      times.push(now() - t);
    }
    steadyMin.push(Math.min(...times));
    steadyMedian.push(median(times));
  }
  return { first, steadyMin, steadyMedian };
}

const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" / ");
console.log(`# WebGPU pipelines: generic (uniform sizes) vs specialised (baked sizes), on ${backend.adapterName}; ${loadLine("before")}`);
console.log(`# per case: first call at each new shape (ms), then steady min and median of ${reps} calls (ms), shapes in order`);
for (const c of cases) {
  // Interleaved: specialised, generic, specialised, generic; a mode's second run has its pipelines cached, so only the first counts for compilation.
  const spec = await measure(c, true);
  const gen = await measure(c, false);
  console.log(`\n## ${c.name}`);
  console.log(`| mode | first call per shape | steady min | steady median |\n|---|---|---|---|`);
  console.log(`| specialised | ${ms(spec.first)} | ${ms(spec.steadyMin)} | ${ms(spec.steadyMedian)} |`);
  console.log(`| generic | ${ms(gen.first)} | ${ms(gen.steadyMin)} | ${ms(gen.steadyMedian)} |`);
}
runtime.specializeShapes = false;
console.log(`\n# ${loadLine("after")}`);
process.exit(0);
