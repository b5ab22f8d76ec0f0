// The wasm heap under ever-new sizes (issue 11): how far the linear memory
// grows beyond what is live, and what the allocator's alloc/free cost.
//
// Workloads (each in its own process, so one's heap does not serve the next):
//   eager  eager one-op programs over [n, 8] for n = 1..3090 (exp, add, tanh, sum:
//          the sweep of bench/eager_kernel_cache.ts), one synchronous loop: no
//          finalizer runs inside it, so the dead arrays pile up to the residency
//          limit (512 MiB; past it the oldest are spilled to the host)
//   eager-await  the same sweep awaiting each result (`await x.data()`), so
//          finalizers free dead arrays as the loop goes: what is live stays small
//          and the memory beyond it is the allocator's doing
//   jit    a jitted layer sum(tanh(x @ w + b)) over batch sizes 1, 5, 9, ... 1021 of x [batch, 64]
//   mixed  3,000 steps of eager ops on random shapes [r, c] (r, c in 1..400),
//          keeping the last 48 results alive in random slots
//   alloc  the allocator alone: ns per alloc+free pair of mixed sizes (a window
//          of 64 live blocks, random replacement) and of a training-loop pattern
//          (the same 12 sizes allocated then freed each step), on 1 and 2 threads
//          (worker threads sharing one memory), min and median of 5 reps, each
//          after a warm-up run in its worker
// Prints, per checkpoint: the linear memory's size, live bytes now and at their
// peak (sampled after every step), their ratio and the process's RSS.
//
//   node --expose-gc --import tsx bench/wasm_heap.ts [eager|jit|mixed|alloc ...] [--against=OTHER.wasm]
// To measure another build of the kernels (e.g. main's: `git show main:wasm/tinyflow_kernels.wasm > /tmp/main.wasm`),
// point TINYFLOW_KERNELS at its .wasm; `alloc --against=FILE` runs that build's reps interleaved with this one's.

import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { mb, settle } from "./memory_probe";

const ALL = ["eager", "eager-await", "jit", "mixed", "alloc"] as const;
type Workload = (typeof ALL)[number];

const asked = process.argv.slice(2).filter((a): a is Workload => (ALL as readonly string[]).includes(a));

if (asked.length !== 1) {
  // The driver: one child process per workload.
  const run = asked.length ? asked : [...ALL];
  console.log(`kernels: ${process.env.TINYFLOW_KERNELS ?? "wasm/tinyflow_kernels.wasm"}; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  for (const w of run) {
    const args = ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), w, ...process.argv.filter((a) => a.startsWith("--against="))];
    const r = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

const workload = asked[0];

// Helpers shared with the worker threads, kept as plain JS source: eval'd
// workers have no TS loader (and a transpiled function's text may call
// helpers the loader injects).
const SHARED_JS = `
/** xorshift32 in [0, 1). */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}
/** The request sizes a pattern draws from: mixed sizes, or the 12 sizes of a training step. */
function sizesFor(pattern, next, count) {
  const out = new Int32Array(count);
  const step = [64, 4096, 4096, 65536, 16384, 256, 4096, 262144, 65536, 1024, 4, 16384];
  for (let i = 0; i < count; i++) {
    if (pattern === "loop") { out[i] = step[i % step.length]; continue; }
    const u = next();
    // 70% under 1 KiB, 25% 1-64 KiB, 5% 64 KiB-1 MiB
    const lo = u < 0.7 ? 16 : u < 0.95 ? 1024 : 65536;
    const hi = u < 0.7 ? 1024 : u < 0.95 ? 65536 : 1 << 20;
    out[i] = Math.floor(lo + next() * (hi - lo));
  }
  return out;
}
/** Runs \`pairs\` alloc+free pairs on the exports \`e\`; returns nanoseconds per pair. */
function runPattern(e, pattern, pairs, seed) {
  const next = rng(seed);
  const sizes = sizesFor(pattern, next, 4096);
  const window = pattern === "loop" ? 12 : 64;
  const ptrs = new Int32Array(window);
  const lens = new Int32Array(window);
  for (let i = 0; i < window; i++) { lens[i] = sizes[i]; ptrs[i] = e.alloc(lens[i]); }
  const picks = new Int32Array(4096);
  for (let i = 0; i < picks.length; i++) picks[i] = Math.floor(next() * window);
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) {
    // loop: free and allocate again each of the step's blocks in order; mixed: replace a random one
    const slot = pattern === "loop" ? i % window : picks[i & 4095];
    e.free(ptrs[slot], lens[slot]);
    const size = pattern === "loop" ? lens[slot] : sizes[(i + window) & 4095];
    ptrs[slot] = e.alloc(size);
    lens[slot] = size;
  }
  const ns = ((performance.now() - t0) * 1e6) / pairs;
  for (let i = 0; i < window; i++) e.free(ptrs[i], lens[i]);
  return ns;
}
`;
const rng = new Function(`${SHARED_JS}; return rng;`)() as (seed: number) => () => number;


async function heapGrowth(which: Exclude<Workload, "alloc">): Promise<void> {
  const { getBackend, jit, np } = await import("../src/index");
  const wasm = getBackend("wasm") as unknown as { liveBytes(): number; mem: { memory: WebAssembly.Memory } };
  const memory = (): number => wasm.mem.memory.buffer.byteLength;
  await settle();
  const live0 = wasm.liveBytes();
  let peak = 0;
  const sample = (): void => {
    peak = Math.max(peak, wasm.liveBytes() - live0);
  };
  const t0 = performance.now();
  const report = async (label: string): Promise<void> => {
    const peakBefore = peak;
    await settle();
    const m = memory();
    console.log(
      `${which.padEnd(11)} ${label.padEnd(22)} wasm memory ${mb(m).padStart(9)}  live now +${mb(wasm.liveBytes() - live0).padStart(8)}  ` +
        `peak live +${mb(peakBefore).padStart(8)}  memory/peak ${(m / Math.max(peakBefore, 1)).toFixed(2).padStart(6)}  ` +
        `rss ${mb(process.memoryUsage().rss).padStart(9)}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  };
  if (which === "eager" || which === "eager-await") {
    let n = 1;
    for (const upTo of [250, 1000, 3090]) {
      for (; n <= upTo; n++) {
        const x = np.ones([n, 8]);
        const y = np.sum(np.tanh(np.add(np.exp(x), x)));
        if (which === "eager") y.item();
        else await y.data();
        sample();
      }
      await report(`n <= ${upTo}`);
    }
  } else if (which === "jit") {
    const layer = jit((x: ReturnType<typeof np.ones>, w: ReturnType<typeof np.ones>, b: ReturnType<typeof np.ones>) =>
      np.sum(np.tanh(np.add(np.matmul(x, w), b))),
    );
    const w = np.full([64, 64], 0.01);
    const b = np.full([64], 0.1);
    let batch = 1;
    for (const upTo of [256, 1021]) {
      for (; batch <= upTo; batch += 4) {
        layer(np.full([batch, 64], 0.5), w, b).item();
        sample();
      }
      await report(`batch <= ${upTo}`);
    }
  } else {
    const next = rng(12345);
    const size = (): number => 1 + Math.floor(next() * 400);
    const kept: unknown[] = new Array(48).fill(null);
    for (const upTo of [1000, 3000]) {
      for (let step = upTo === 1000 ? 0 : 1000; step < upTo; step++) {
        const r = size();
        const c = size();
        const x = np.full([r, c], next());
        const y = np.tanh(np.multiply(np.exp(x), 0.5));
        const out = step % 3 === 0 ? np.matmul(y, np.full([c, size()], 0.1)) : np.sum(y, 0);
        kept[Math.floor(next() * kept.length)] = out;
        if (step % 50 === 0) (out as { item?: () => number; dataSync(): unknown }).dataSync();
        sample();
      }
      await report(`steps < ${upTo}`);
    }
  }
}

// ------------------------------------------------------ alloc/free cost ----

// Each thread instantiates the module on the shared memory, says it is ready,
// and on "go" runs the pattern and reports its ns per pair.
const WORKER_SRC = `
const { parentPort, workerData } = require("node:worker_threads");
const { bytes, memory, pattern, pairs, seed } = workerData;
const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const stack = e.alloc(1 << 20);
e.__stack_pointer.value = stack + (1 << 20);
${SHARED_JS}
// A warm-up run first: V8 compiles wasm with its baseline compiler and tiers
// hot functions up while they run, which would be timed otherwise.
runPattern(e, pattern, pairs / 4, seed + 1000);
parentPort.once("message", () => {
  const ns = runPattern(e, pattern, pairs, seed);
  e.free(stack, 1 << 20);
  parentPort.postMessage(ns);
});
parentPort.postMessage("ready");
`;

/** Runs one rep of `pattern` on `threads` workers started together; returns the slowest thread's ns per pair. */
async function oneRep(bytes: Uint8Array, memory: WebAssembly.Memory, pattern: string, threads: number, pairs: number, rep: number): Promise<number> {
  const workers = Array.from(
    { length: threads },
    (_, t) => new Worker(WORKER_SRC, { eval: true, workerData: { bytes, memory, pattern, pairs, seed: 7 + t + 100 * rep } }),
  );
  try {
    // The result cannot come before "go", so waiting for the next message after "ready" misses nothing.
    await Promise.all(workers.map((w) => once(w, "message")));
    for (const w of workers) w.postMessage("go");
    const ns = await Promise.all(workers.map(async (w) => (await once(w, "message"))[0] as number));
    return Math.max(...ns);
  } finally {
    for (const w of workers) void w.terminate();
  }
}

async function allocBench(): Promise<void> {
  const { instantiateWasmKernels } = await import("../src/backends/wasm/kernels");
  const { readKernelBytes } = await import("../src/backends/wasm/kernel_binary");
  // Builds to compare, reps interleaved in this process: this one, and --against=FILE's.
  const builds: Array<{ name: string; bytes: Uint8Array }> = [{ name: "this build", bytes: readKernelBytes() }];
  const against = process.argv.find((a) => a.startsWith("--against="))?.slice("--against=".length);
  if (against) builds.push({ name: against, bytes: new Uint8Array(readFileSync(against)) });
  const pairs = 400_000;
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const threads of [1, 2]) {
    for (const pattern of ["mixed", "loop"]) {
      // A fresh memory per build and configuration, shared by its reps' threads.
      const memories = builds.map((b) => instantiateWasmKernels({ bytes: b.bytes, shared: true }).memory);
      const reps: number[][] = builds.map(() => []);
      for (let rep = 0; rep < 5; rep++) {
        for (let i = 0; i < builds.length; i++) reps[i].push(await oneRep(builds[i].bytes, memories[i], pattern, threads, pairs, rep));
      }
      builds.forEach((b, i) =>
        console.log(
          `alloc ${pattern.padEnd(5)} ${threads} thread${threads > 1 ? "s" : " "}: ns per alloc+free pair min ${Math.min(...reps[i]).toFixed(1).padStart(6)}  ` +
            `median ${median(reps[i]).toFixed(1).padStart(6)}  wasm memory ${mb(memories[i].buffer.byteLength).padStart(8)}  [${b.name}]`,
        ),
      );
    }
  }
}

if (workload === "alloc") await allocBench();
else await heapGrowth(workload);
