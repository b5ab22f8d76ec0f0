// The WASM SIMD peak of this machine, one thread: the Rust microkernel (13
// independent chains of f32x4 mul+add on registers), and, when the engine
// has relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd), the same 13
// chains as f32x4.relaxed_madd in a module generated here — the ceiling of
// the generated relaxed GEMM. Prints one JSON line
// {gflops, best, relaxed: {gflops, best} | null} (medians and best of 9 runs).
// bench/run.ts runs it in its own processes so the W1 matmul rows can be read
// as a fraction of the machine's peak.

import { getWasmKernels } from "../src/backends/wasm/kernels";
import { FuncBuilder, ModuleBuilder, probeRelaxedSimd } from "../src/backends/wasm/codegen/assembler";

const CHAINS = 13;
const ITERS = 2_000_000;

function sample(run: () => number, flops: number): { gflops: number; best: number } {
  run(); // warm up: let V8's optimizing tier compile the kernel
  const samples: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    run();
    samples.push(flops / ((performance.now() - t0) * 1e6));
  }
  samples.sort((a, b) => a - b);
  return { gflops: samples[Math.floor(samples.length / 2)]!, best: samples[samples.length - 1]! };
}

/** acc_c = relaxed_madd(acc_c, m, c) on 13 chains for `iters` iterations; returns a lane of their sum. */
function relaxedProbe(): (iters: number) => number {
  const f = new FuncBuilder("peak", ["i32"], ["f32"], { relaxedSimd: true });
  const acc = Array.from({ length: CHAINS }, (_, i) => f.local("v128", `acc${i}`));
  const [m, c] = [f.local("v128", "m"), f.local("v128", "c")];
  f.v128ConstF32(0.999999).localSet(m).v128ConstF32(1e-3).localSet(c);
  acc.forEach((a, i) => f.v128ConstF32(0.5 + i).localSet(a));
  f.block().loop();
  f.localGet(0).op("i32.eqz").brIf(1);
  for (const a of acc) f.localGet(a).localGet(m).localGet(c).op("f32x4.relaxed_madd").localSet(a);
  f.localGet(0).i32Const(1).op("i32.sub").localSet(0);
  f.br(0).end().end();
  f.localGet(acc[0]!);
  for (const a of acc.slice(1)) f.localGet(a).op("f32x4.add");
  f.lane("f32x4.extract_lane", 0);
  const mb = new ModuleBuilder();
  mb.addFunction(f, "peak");
  const inst = new WebAssembly.Instance(new WebAssembly.Module(mb.encode() as BufferSource));
  return inst.exports.peak as (iters: number) => number;
}

const kernels = getWasmKernels();
const plain = sample(() => kernels.peakFlops(ITERS).flops, ITERS * kernels.raw.peak_flops_per_iter());
let relaxed: { gflops: number; best: number } | null = null;
if (probeRelaxedSimd()) {
  const probe = relaxedProbe();
  relaxed = sample(() => probe(ITERS), ITERS * CHAINS * 8);
}
console.log(JSON.stringify({ ...plain, relaxed }));
