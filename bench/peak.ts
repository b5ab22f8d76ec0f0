// The WASM SIMD peak of this machine, measured by the Rust microkernel
// (independent chains of f32x4 mul+add on registers, one thread). Prints one
// JSON line {gflops}. bench/run.ts runs it in its own processes so the W1
// matmul rows can be read as a fraction of the machine's peak.

import { getWasmKernels } from "../src/backends/wasm/kernels";

const kernels = getWasmKernels();
const iters = 2_000_000;
kernels.peakFlops(iters); // warm up: let V8's optimizing tier compile the kernel
const samples: number[] = [];
for (let i = 0; i < 9; i++) {
  const t0 = performance.now();
  const { flops } = kernels.peakFlops(iters);
  samples.push(flops / ((performance.now() - t0) * 1e6));
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ gflops: samples[Math.floor(samples.length / 2)], best: samples[samples.length - 1] }));
