// Benchmark of the run-time generated WASM SIMD kernels: the fused elementwise
// kernel of tanh(x*2+1)*x on 1e6 and 1e7 float32 elements (median of several
// runs, with and without reading the result back into a fresh Float32Array),
// against a plain JS loop over the same data measured in the same run. Also a
// fused row reduction (sum over the last axis of exp(x - 1)) for reference; and
// a small softmax piece, sum(exp(x - m[:, None]), 1) over [100, 10], on tame and
// on saturated logits (where exp underflows), in µs per call against JS.
// Prints ms, GB/s (bytes read + written by the kernel) and the ratio to JS.
//
//   npx tsx bench/codegen_elementwise.ts
//   node --experimental-wasm-relaxed-simd --import tsx bench/codegen_elementwise.ts   # + relaxed SIMD

import os from "node:os";
import { probeRelaxedSimd } from "../src/backends/wasm/codegen/assembler";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { tanhSpec } from "../test/kernel_specs";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Median wall time and median process CPU time (user+system) in ms. On a loaded machine the
 * CPU time is the better estimate of what the code costs (it excludes time spent descheduled). */
function time(fn: () => void, reps: number): { wall: number; cpu: number } {
  fn(); // warm-up (also lets V8 tier the wasm function up to TurboFan)
  fn();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

const fused = (n: number): KernelSpec => tanhSpec([n], [1]);

const relaxedAvailable = probeRelaxedSimd();
console.log(`# codegen_elementwise — ${new Date().toISOString()}`);
console.log(`cpu: ${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}, node ${process.version}, v8 ${process.versions.v8}, relaxed SIMD: ${relaxedAvailable}`);
console.log("");
console.log("| workload | n | variant | wall ms | cpu ms | GB/s (cpu) | speed-up vs JS (cpu) |");
console.log("|---|---|---|---|---|---|---|");

type T = { wall: number; cpu: number };
function row(work: string, n: number, variant: string, t: T, bytes: number, ref: T): void {
  console.log(
    `| ${work} | ${n.toExponential(0)} | ${variant} | ${t.wall.toFixed(2)} | ${t.cpu.toFixed(2)} | ` +
      `${(bytes / (t.cpu * 1e6)).toFixed(2)} | ${(ref.cpu / t.cpu).toFixed(2)}x |`,
  );
}

for (const n of [1e6, 1e7]) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((n * 8 + 65536) / 65536) + 1 });
  const inPtr = 0;
  const outPtr = n * 4;
  const x = new Float32Array(memory.buffer, inPtr, n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.001) * 3;
  const reps = n >= 1e7 ? 7 : 21;

  // JS reference in the same run
  const xs = Float32Array.from(x);
  const jsOut = new Float32Array(n);
  const tJs = time(() => {
    for (let i = 0; i < n; i++) {
      const v = xs[i];
      jsOut[i] = Math.tanh(v * 2 + 1) * v;
    }
  }, reps);
  row("tanh(x*2+1)*x", n, "JS loop (Math.tanh)", tJs, n * 8, tJs);

  for (const relaxed of relaxedAvailable ? [false, true] : [false]) {
    const tc0 = performance.now();
    const k = compileKernel(fused(n), { memory, relaxedSimd: relaxed });
    const tCompile = performance.now() - tc0;
    const tk = time(() => k.run([inPtr], [outPtr]), reps);
    const tr = time(() => {
      k.run([inPtr], [outPtr]);
      new Float32Array(memory.buffer, outPtr, n).slice(); // readback into a JS-owned array
    }, reps);
    // correctness spot check
    const out = new Float32Array(memory.buffer, outPtr, n);
    let maxErr = 0;
    for (let i = 0; i < n; i += 997) maxErr = Math.max(maxErr, Math.abs(out[i] - jsOut[i]));
    const tag = relaxed ? " relaxed" : "";
    row("tanh(x*2+1)*x", n, `wasm kernel${tag}`, tk, n * 8, tJs);
    row("tanh(x*2+1)*x", n, `wasm kernel${tag} + readback`, tr, n * 8, tJs);
    if (n === 1e6) console.log(`| | | (compile ${tCompile.toFixed(2)} ms, ${k.bytes.length} bytes; max abs err vs JS ${maxErr.toExponential(1)}) | | | | |`);
  }

  // a fused row reduction: sum(exp(x - 1), axis=-1) over rows of 1000
  const rows = n / 1000;
  const red = compileKernel(
    {
      shape: [rows, 1000],
      inputs: [{ dtype: "float32", strides: [1000, 1] }],
      nodes: [
        { op: "input", input: 0 },
        { op: "const", value: 1, dtype: "float32" },
        { op: "sub", args: [0, 1], dtype: "float32" },
        { op: "exp", args: [2], dtype: "float32" },
      ],
      outputs: [{ node: 3, dtype: "float32" }],
      reduction: { op: "sum", axes: [1] },
    },
    { memory },
  );
  const tRed = time(() => red.run([inPtr], [outPtr]), reps);
  const tRedJs = time(() => {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < 1000; j++) s += Math.exp(xs[r * 1000 + j] - 1);
      jsOut[r] = s;
    }
  }, reps);
  row("sum(exp(x-1), -1)", n, "JS loop", tRedJs, n * 4, tRedJs);
  row("sum(exp(x-1), -1)", n, "wasm kernel", tRed, n * 4, tRedJs);
}

// a small oddly shaped kernel, called many times: sum(exp(x - m[:, None]), 1) over [100, 10]
{
  const memory = new WebAssembly.Memory({ initial: 2 });
  const spec: KernelSpec = {
    shape: [100, 10],
    inputs: [{ dtype: "float32", strides: [10, 1] }, { dtype: "float32", strides: [1, 0] }],
    nodes: [
      { op: "input", input: 0 },
      { op: "input", input: 1 },
      { op: "sub", args: [0, 1], dtype: "float32" },
      { op: "exp", args: [2], dtype: "float32" },
    ],
    outputs: [{ node: 3, dtype: "float32" }],
    reduction: { op: "sum", axes: [1] },
  };
  const k = compileKernel(spec, { memory });
  const x = new Float32Array(memory.buffer, 0, 1000);
  const m = new Float32Array(memory.buffer, 4096, 100);
  const calls = 2000;
  for (const [label, fill] of [
    ["tame logits", (i: number) => Math.sin(i) * 3],
    ["saturated logits", (i: number) => (i % 10 === 3 ? 0 : -105 - (i % 7))],
  ] as const) {
    for (let i = 0; i < 1000; i++) x[i] = fill(i);
    m.fill(0);
    const xs = Float32Array.from(x);
    const out = new Float32Array(100);
    const tJs = time(() => {
      for (let c = 0; c < calls; c++) {
        for (let r = 0; r < 100; r++) {
          let s = 0;
          for (let j = 0; j < 10; j++) s += Math.exp(xs[r * 10 + j] - m[r]);
          out[r] = s;
        }
      }
    }, 9);
    const tK = time(() => {
      for (let c = 0; c < calls; c++) k.run([0, 4096], [8192]);
    }, 9);
    const us = (t: T): T => ({ wall: (t.wall * 1000) / calls, cpu: (t.cpu * 1000) / calls });
    console.log(`| sum(exp(x - m[:,None]), 1) [100,10], ${label} | µs/call | JS loop | ${us(tJs).wall.toFixed(2)} | ${us(tJs).cpu.toFixed(2)} | | 1.00x |`);
    console.log(`| sum(exp(x - m[:,None]), 1) [100,10], ${label} | µs/call | wasm kernel | ${us(tK).wall.toFixed(2)} | ${us(tK).cpu.toFixed(2)} | | ${(tJs.cpu / tK.cpu).toFixed(2)}x |`);
  }
}
