// Chunk counts of the wasm thread pool's work-stealing jobs: how many chunks
// per thread a split sgemm (gemmChunksPerThread) and a split convolution
// (convChunksPerThread) are cut into. More chunks balance a loaded machine
// better (a thread that loses its core takes fewer) but cost more: every gemm
// chunk packs B again, every conv chunk is one more kernel call. Each variant
// is its own pool on one shared memory; the variants of a case run
// interleaved in shuffled order, round after round, so the load other
// processes put on the machine hits them alike. Wall-clock ms, min and
// median, and the process's CPU ms per call (both threads added up: what the
// extra chunks cost, whatever the load); 1 thread is the unsplit kernel.
// Cases: W1 (1024³ sgemm), a batch of 64 256×256 sgemms, a skinny 4096×64×256
// sgemm, W5's conv (32×28×28×1 → 32) and the W7 CNN's second conv
// (64×14×14×16 → 32), forward and filter gradient.
//
// Run: npx tsx bench/pool_chunks.ts [rounds] [reps]   (default 8, 5)

import os from "node:os";
import { type Conv2dParams, type ConvMode, conv2dShapes } from "../src/backends/wasm/conv_params.js";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels.js";
import { ThreadPool } from "../src/backends/wasm/threads.js";

const ROUNDS = Number(process.argv[2] ?? 8);
const REPS = Number(process.argv[3] ?? 5);
const CHUNKS = [2, 4, 8];
const K = instantiateWasmKernels();

const filled = (n: number): number => K.putF32(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
const single = new ThreadPool(K, { threads: 1 });
const gemmPools = CHUNKS.map((c) => new ThreadPool(K, { threads: 2, gemmChunksPerThread: c }));
const convPools = CHUNKS.map((c) => new ThreadPool(K, { threads: 2, convChunksPerThread: c }));
for (const p of [...gemmPools, ...convPools]) p.start();

interface Case {
  name: string;
  variants: Record<string, () => void>;
}

function gemmCase(name: string, batch: number, m: number, n: number, k: number): Case {
  const a = filled(batch * m * k), b = filled(batch * k * n), c = K.allocF32(batch * m * n);
  const run = (p: ThreadPool) => () => p.sgemm({ batch, m, n, k, a, b, c });
  return { name, variants: { "1 thread": run(single), ...Object.fromEntries(CHUNKS.map((ch, i) => [`2 threads, ${ch}/thread`, run(gemmPools[i]!)])) } };
}

function convCase(name: string, params: Conv2dParams, mode: ConvMode): Case {
  const s = conv2dShapes(params);
  const [a, b, out] = mode === "forward" ? [filled(s.xSize), filled(s.wSize), K.allocF32(s.ySize)] : [filled(s.xSize), filled(s.ySize), K.allocF32(s.wSize)];
  const run = (p: ThreadPool) => () => p.conv({ params, mode, a, b, out });
  return { name, variants: { "1 thread": run(single), ...Object.fromEntries(CHUNKS.map((ch, i) => [`2 threads, ${ch}/thread`, run(convPools[i]!)])) } };
}

const W5: Conv2dParams = { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
const W7B: Conv2dParams = { layout: "NHWC", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
const cases: Case[] = [
  gemmCase("W1 sgemm 1024³", 1, 1024, 1024, 1024),
  gemmCase("64 × sgemm 256³", 64, 256, 256, 256),
  gemmCase("sgemm 4096×64×256", 1, 4096, 64, 256),
  convCase("W5 conv forward", W5, "forward"),
  convCase("W7 conv2 forward", W7B, "forward"),
  convCase("W7 conv2 filter grad", W7B, "filter"),
];

const stats = (xs: number[]): string => {
  const s = xs.slice().sort((p, q) => p - q);
  return `min ${s[0]!.toFixed(2).padStart(7)}  med ${s[s.length >> 1]!.toFixed(2).padStart(7)}`;
};
console.log(`load average before: ${os.loadavg().map((v) => v.toFixed(1)).join(" ")}; ${os.availableParallelism()} cores`);
for (const c of cases) {
  const times: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (const [label, f] of Object.entries(c.variants)) {
    times[label] = [];
    cpu[label] = [];
    f(); // warm-up: tiers the kernels up, starts the pool's workers
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [label, f] of Object.entries(c.variants).sort(() => Math.random() - 0.5)) {
      for (let i = 0; i < REPS; i++) {
        const c0 = process.cpuUsage();
        const t = performance.now();
        f();
        times[label]!.push(performance.now() - t);
        const used = process.cpuUsage(c0);
        cpu[label]!.push((used.user + used.system) / 1000);
      }
    }
  }
  console.log(`\n${c.name}: wall ms | CPU ms`);
  for (const [label, xs] of Object.entries(times)) console.log(`  ${label.padEnd(22)} ${stats(xs)} | ${stats(cpu[label]!)}`);
}
console.log(`\nload average after: ${os.loadavg().map((v) => v.toFixed(1)).join(" ")}`);
for (const p of [single, ...gemmPools, ...convPools]) p.close();
