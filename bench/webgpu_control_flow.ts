// bench/webgpu_control_flow.ts — what jitted control flow costs on WebGPU,
// where a while predicate or a cond index must come back from the device
// asynchronously (transforms/control_flow/deferred_loops.ts): per call, the
// dispatches, submits, mapped readbacks and buffer copies it sends
// (WebGpuBackend.workCounts), per loop iteration where there is a loop, and
// wall/CPU ms. Cases, each a jitted function called on the same inputs and its
// result awaited:
//   while newton   Newton's iteration for sqrt on 4096 values until every
//                  relative step is below 1e-6 (trip count read on the device);
//   fori newton    the same body for the same count with static bounds
//                  (a scan: no read per iteration), the baseline;
//   cond mlp       a 784-256-10 MLP whose activation is chosen by lax.cond on
//                  an index computed on the device (one read);
//   select mlp     the same computing both activations and selecting
//                  (np.where): what a cond costs without its read.
// On SwiftShader the times only prove the path runs; the counts hold anywhere.
// Run: npx tsx bench/webgpu_control_flow.ts [reps]

import os from "node:os";
import { np, lax, jit, loadWebGpuBackend, random, ArrayImpl, type Array, type WebGpuBackend, type WebGpuWorkCounts } from "../src/index";
import { median } from "./harness";

const reps = Number(process.argv[2] ?? 10);

let gpu: WebGpuBackend;
try {
  gpu = await loadWebGpuBackend();
} catch (e) {
  console.log(`# WebGPU control-flow rows skipped: no WebGPU adapter here (${(e as Error).message})`);
  process.exit(0);
}

interface Case {
  name: string;
  /** Loop iterations per call (1 for a cond). */
  iterations: number;
  /** One call, its result awaited. */
  run(): Promise<void>;
}

const onGpu = (x: Array) => (x as ArrayImpl).to("webgpu");
const newtonStep = (a: Array, y: Array) => y.add(a.div(y)).mul(0.5);
const values = onGpu(random.uniform(random.key(1), [4096], { minval: 1, maxval: 1e4 }));

const whileNewton = jit(
  (a: Array) =>
    lax.whileLoop(
      ([, y, prev]: [Array, Array, Array]) => np.greater(np.max(np.abs(y.sub(prev)).div(y)), 1e-6),
      ([i, y]: [Array, Array, Array]): [Array, Array, Array] => [i.add(1), newtonStep(a, y), y],
      [np.array(0, { dtype: "int32" }), a, np.zerosLike(a)] as [Array, Array, Array],
    ),
  { backend: "webgpu" },
);
const trips = Number((await whileNewton(values)[0].data())[0]);
const foriNewton = jit((a: Array) => lax.foriLoop(0, trips, (_i: Array, y: Array) => newtonStep(a, y), a), { backend: "webgpu" });

const [k1, k2, k3] = random.split(random.key(2), 3);
const w1 = onGpu(random.normal(k1, [784, 256]).mul(0.05));
const w2 = onGpu(random.normal(k2, [256, 10]).mul(0.05));
const x = onGpu(random.normal(k3, [128, 784]));
const mlp = (index: Array, a: Array, b: Array, v: Array) => {
  const h = np.dot(v, a);
  return np.dot(lax.cond(index, (t: Array) => np.maximum(t, 0), (t: Array) => np.tanh(t), h), b);
};
const condMlp = jit((a: Array, b: Array, v: Array) => mlp(np.greater(np.mean(v), 0), a, b, v), { backend: "webgpu" });
const selectMlp = jit((a: Array, b: Array, v: Array) => {
  const h = np.dot(v, a);
  return np.dot(np.where(np.greater(np.mean(v), 0), np.maximum(h, 0), np.tanh(h)), b);
}, { backend: "webgpu" });

const cases: Case[] = [
  { name: "while newton (4096)", iterations: trips, run: async () => void (await whileNewton(values)[1].data()) },
  { name: "fori newton (4096, same trips)", iterations: trips, run: async () => void (await foriNewton(values).data()) },
  { name: "cond mlp (index on device)", iterations: 1, run: async () => void (await condMlp(w1, w2, x).data()) },
  { name: "select mlp (both branches)", iterations: 1, run: async () => void (await selectMlp(w1, w2, x).data()) },
];

const diff = (a: WebGpuWorkCounts, b: WebGpuWorkCounts) => ({
  dispatches: b.dispatches - a.dispatches,
  submits: b.submits - a.submits,
  readbacks: b.readbacks - a.readbacks,
  copies: b.copies - a.copies,
});
const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const work = new Map<string, ReturnType<typeof diff>>();
for (let r = -2; r < reps; r++) {
  for (const c of cases) {
    await gpu.sync();
    const before = gpu.workCounts;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await c.run();
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    work.set(c.name, diff(before, gpu.workCounts));
    if (r >= 0) {
      wall.get(c.name)!.push(ms);
      cpu.get(c.name)!.push((used.user + used.system) / 1000);
    }
  }
}
console.log(`jitted control flow on WebGPU (${gpu.adapterName}), ${reps} reps interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`newton converges in ${trips} iterations; counts per call include the final readback of the result`);
for (const c of cases) {
  const w = wall.get(c.name)!;
  const u = cpu.get(c.name)!;
  const k = work.get(c.name)!;
  const per = (n: number) => (n / c.iterations).toFixed(2);
  console.log(
    `${c.name.padEnd(32)} wall min ${Math.min(...w).toFixed(1).padStart(7)} med ${median(w).toFixed(1).padStart(7)} ms  cpu med ${median(u).toFixed(1).padStart(7)} ms  ` +
      `per call: ${k.dispatches} dispatches, ${k.submits} submits, ${k.readbacks} readbacks, ${k.copies} copies` +
      (c.iterations > 1 ? `  (per iteration ${per(k.dispatches)} / ${per(k.submits)} / ${per(k.readbacks)})` : ""),
  );
}
process.exit(0);
