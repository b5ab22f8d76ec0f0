// bench/lstm_cell.ts — the LSTM cell's fused elementwise kernel in isolation:
// the kernel the planner builds for the forward scan body of the LSTM's
// gradient (B32 H128: gates from the step's row of the input projection, which
// nn.LSTM computes for the whole sequence before the scan, plus the recurrent
// GEMM's output; c and h and the linearization residuals out), compiled on its own and timed per call, next
// to kernels of one special function each over the same [32,128] space (what
// a logistic or tanh costs per element), interleaved in one process.
// Prints µs per call and ns per element, min and median of wall and CPU time.
//   npx tsx bench/lstm_cell.ts [reps] [--text]

import os from "node:os";
import { np, nn, random, valueAndGrad, type Array as TfArray } from "../src/index";
import { makeJaxpr } from "../transforms/jaxpr_trace";
import { optimize } from "../transforms/passes";
import { Planner } from "../src/backends/plan/planner";
import { WASM_TARGET } from "../src/backends/plan/lowered_program";
import type { ClosedJaxpr } from "../src/core/ir";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { median } from "./harness";

const reps = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 2000);
const B = 32, T = 4, E = 32, H = 128;

/** The fused kernel over [B, H] with the most outputs in the forward scan body of the LSTM's gradient. */
function cellKernelSpec(): KernelSpec {
  const lstm = nn.LSTM(E, H);
  const params = lstm.init(random.key(0)).params;
  const xs = random.normal(random.key(1), [B, T, E]);
  const loss = (p: unknown, x: TfArray) => np.mean(lstm.apply(p as never, x));
  const closed = optimize(makeJaxpr(valueAndGrad(loss))(params, xs));
  const scan = closed.jaxpr.eqns.find((e) => e.primitive === "scan" && !(e.params as { reverse: boolean }).reverse);
  if (!scan) throw new Error("no forward scan in the LSTM gradient");
  const body = optimize((scan.params as { jaxpr: ClosedJaxpr }).jaxpr);
  const lowered = Planner.plan(body, WASM_TARGET);
  const kernels = lowered.steps.flatMap((s) => (s.kind === "kernel" && s.spec.shape.join() === `${B},${H}` ? [s.spec] : []));
  if (kernels.length === 0) throw new Error("no [B, H] kernel in the scan body");
  return kernels.reduce((a, b) => (b.outputs.length > a.outputs.length ? b : a));
}

const dense = [H, 1];
const unary = (op: "logistic" | "tanh" | "exp"): KernelSpec => ({
  shape: [B, H],
  inputs: [{ dtype: "float32", strides: dense }],
  nodes: [{ op: "input", input: 0 }, { op, args: [0], dtype: "float32" }],
  outputs: [{ node: 1, dtype: "float32" }],
});
const copy: KernelSpec = { shape: [B, H], inputs: [{ dtype: "float32", strides: dense }], nodes: [{ op: "input", input: 0 }], outputs: [{ node: 0, dtype: "float32" }] };

const memory = new WebAssembly.Memory({ initial: 512, maximum: 65536 });
const sharedMemory = new WebAssembly.Memory({ initial: 512, maximum: 65536, shared: true });
for (const m of [memory, sharedMemory]) {
  const f32 = new Float32Array(m.buffer);
  for (let i = 0; i < f32.length; i++) f32[i] = Math.sin(i) * 3;
}

interface Variant { name: string; spec: KernelSpec; run: () => void; walls: number[]; cpus: number[] }
/** `outSets` > 1: each call writes the next of that many sets of output buffers, as a scan body
 * writes each iteration's residuals into buffers of their own (cold in the caches). */
function variant(name: string, spec: KernelSpec, mem = memory, outSets = 1): Variant {
  const k = compileKernel(spec, { memory: mem, relaxedSimd: false });
  // Inputs anywhere in the first 4 MiB (their strides reach at most B * 512 floats), outputs after.
  const ins = spec.inputs.map((_, i) => 4096 * 4 * (i % 8));
  const setBytes = spec.outputs.length * B * H * 4;
  const sets = Array.from({ length: outSets }, (_, s) => spec.outputs.map((_, o) => (1 << 22) + s * setBytes + o * B * H * 4));
  let next = 0;
  return {
    name, spec, walls: [], cpus: [],
    run: () => {
      k.run(ins, sets[next]);
      next = (next + 1) % outSets;
    },
  };
}

const cell = cellKernelSpec();
if (process.argv.includes("--text")) {
  console.log(JSON.stringify(cell));
  console.log(compileKernel(cell, { memory, relaxedSimd: false }).text());
}
const variants = [variant(`lstm cell (${cell.inputs.length} in, ${cell.outputs.length} out)`, cell), variant("lstm cell, shared memory", cell, sharedMemory), variant("lstm cell, 64 output sets", cell, memory, 64), variant("logistic", unary("logistic")), variant("tanh", unary("tanh")), variant("exp", unary("exp")), variant("copy", copy)];
const CALLS = 20;
for (let r = -50; r < reps; r++) {
  for (const v of variants) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) v.run();
    const wall = (performance.now() - t0) / CALLS;
    const c = process.cpuUsage(c0);
    if (r >= 0) {
      v.walls.push(wall * 1000);
      v.cpus.push((c.user + c.system) / CALLS);
    }
  }
}
const n = B * H;
console.log(`[${B},${H}] kernels, ${reps} reps x ${CALLS} calls interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const v of variants) {
  const w = v.walls, c = v.cpus;
  console.log(
    `${v.name.padEnd(32)} wall min ${Math.min(...w).toFixed(1).padStart(6)} med ${median(w).toFixed(1).padStart(6)} µs  ` +
      `cpu med ${median(c).toFixed(1).padStart(6)} µs  = ${((Math.min(...w) * 1000) / n).toFixed(2)} ns/element (min wall)`,
  );
}
