// bench/invariant_nodes.ts — what computing a fused kernel's loop-invariant
// nodes once buys (codegen/kernel_loops.ts placeNodes): y = x·logistic(s) +
// tanh(s) over 65536 elements with s a scalar (computed once per call), s one
// value per row of 256 (once per row), and s given dense, one value per element
// (the same functions computed for every vector: what every variant cost before
// the hoisting, bar what V8 hoisted itself). Interleaved in one process; µs per
// call, min and median.
//   npx tsx bench/invariant_nodes.ts [reps]

import os from "node:os";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { median } from "./harness";

const reps = Number(process.argv[2] ?? 2000);
const N = 65536, ROWS = 256;
const spec = (sStrides: number[]): KernelSpec => ({
  shape: [ROWS, N / ROWS],
  inputs: [{ dtype: "float32", strides: [N / ROWS, 1] }, { dtype: "float32", strides: sStrides }],
  nodes: [
    { op: "input", input: 0 }, { op: "input", input: 1 }, { op: "logistic", args: [1], dtype: "float32" }, { op: "mul", args: [0, 2], dtype: "float32" },
    { op: "tanh", args: [1], dtype: "float32" }, { op: "add", args: [3, 4], dtype: "float32" },
  ],
  outputs: [{ node: 5, dtype: "float32" }],
});
const memory = new WebAssembly.Memory({ initial: 64 });
const f32 = new Float32Array(memory.buffer);
for (let i = 0; i < f32.length; i++) f32[i] = Math.sin(i);
const variants = [
  { name: "s scalar (once per call)", strides: [0, 0] },
  { name: `s per row of ${N / ROWS} (once per row)`, strides: [1, 0] },
  { name: "s dense (per element)", strides: [N / ROWS, 1] },
].map((v) => ({ ...v, kernel: compileKernel(spec(v.strides), { memory, relaxedSimd: false }), times: [] as number[] }));
for (let r = -100; r < reps; r++) {
  for (const v of variants) {
    const t0 = performance.now();
    v.kernel.run([0, 4 * N], [8 * N]);
    if (r >= 0) v.times.push((performance.now() - t0) * 1000);
  }
}
console.log(`x·logistic(s) + tanh(s) over [${ROWS}, ${N / ROWS}], ${reps} reps interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const v of variants) console.log(`${v.name.padEnd(32)} min ${Math.min(...v.times).toFixed(1).padStart(6)} µs  med ${median(v.times).toFixed(1).padStart(6)} µs`);
