// Tests of the wasm backend's worker pool (src/backends/wasm/threads.ts and
// worker.ts): threaded sgemm row splits and threaded generated kernels are
// bitwise equal to single-threaded runs (odd sizes, batches, transposes,
// sizes smaller than the thread count, repeated calls); a 1-thread pool and
// TINYFLOW_THREADS=1 start no workers; workers that fail to start leave a
// working single-threaded pool; and the program path (jit) gives the same
// results with 1 and 2 threads. Every pool is closed, workers are unref'd,
// and the tests carry timeouts, so a broken pool fails instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { contiguous, tanhSpec, unarySpec } from "./kernel_specs";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { defaultThreadCount } from "../src/backends/wasm/worker_hosts";
import { ThreadPool, getThreadPool, setAdaptiveSplit, setThreadCount } from "../src/backends/wasm/threads";
import { ParallelKernel } from "../src/backends/wasm/parallel_kernel";
import { wasmBackend } from "../src/backends/wasm";
import { jit, np, type ArrayLike } from "../src/index";
import { floatSource, sameBits } from "./float_bits";

const T_OUT = 30_000;

const rand = floatSource(7);

type GemmCase = { m: number; n: number; k: number; batch?: number; transA?: boolean; transB?: boolean; alpha?: number; beta?: number };

/** Random operands for a batched sgemm case, with the single-threaded result in `ref`. */
function gemmFixture(c: GemmCase) {
  const batch = c.batch ?? 1;
  const { m, n, k } = c;
  const a = rand(batch * m * k);
  const b = rand(batch * k * n);
  const c0 = rand(batch * m * n);
  const pa = K.putF32(a);
  const pb = K.putF32(b);
  const pRef = K.putF32(c0);
  const pGot = K.putF32(c0);
  const common = { transA: c.transA, transB: c.transB, m, n, k, alpha: c.alpha ?? 1, beta: c.beta ?? 0 };
  for (let i = 0; i < batch; i++) K.sgemm({ ...common, a: pa + i * m * k * 4, b: pb + i * k * n * 4, c: pRef + i * m * n * 4 });
  return {
    batch, common, c0, pa, pb, pGot,
    /** Run `run` into the result buffer (reset to C0) and compare with the reference bitwise. */
    check(run: () => void): string {
      K.writeF32(pGot, c0);
      run();
      return sameBits(K.readF32(pGot, batch * m * n), K.readF32(pRef, batch * m * n));
    },
    free(): void {
      for (const [q, len] of [[pa, a.length], [pb, b.length], [pRef, c0.length], [pGot, c0.length]] as const) K.freeF32(q, len);
    },
  };
}

let K: WasmKernels;
let pool: ThreadPool;

beforeAll(async () => {
  K = instantiateWasmKernels();
  // Tiny thresholds so small problems split too.
  pool = new ThreadPool(K, { threads: 3, minGemmWork: 0, minKernelWork: 16, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
  await pool.whenReady(15_000);
}, T_OUT);

afterAll(() => pool?.close());

describe("thread pool: sgemm row splits", () => {
  it("starts its workers", () => {
    expect(K.shared).toBe(true);
    expect(pool.threads).toBe(3);
    expect(pool.failedWorkers()).toBe(0);
    expect(pool.activeThreads).toBe(3);
  });

  const cases: GemmCase[] = [
    { m: 301, n: 259, k: 263 },
    { m: 64, n: 64, k: 64 },
    { m: 97, n: 33, k: 511, transA: true },
    { m: 45, n: 70, k: 19, transB: true, alpha: 0.5, beta: -1.25 },
    { m: 17, n: 9, k: 300, transA: true, transB: true },
    { m: 13, n: 31, k: 7, batch: 5 },
    { m: 3, n: 40, k: 40, batch: 7 },
    { m: 9, n: 5, k: 3 },
    { m: 3, n: 5, k: 3 }, // fewer rows than a split needs: runs whole
    { m: 1, n: 1, k: 1, batch: 2 },
  ];
  for (const c of cases) {
    it(`batch ${c.batch ?? 1} ${c.transA ? "T" : "N"}${c.transB ? "T" : "N"} ${c.m}x${c.n}x${c.k} equals the single-threaded sgemm bitwise`, () => {
      const f = gemmFixture(c);
      const { batch, common } = f;
      const { m } = c;
      const before = pool.splitJobs;
      for (let rep = 0; rep < 3; rep++) {
        expect(f.check(() => pool.sgemm({ ...common, batch, a: f.pa, b: f.pb, c: f.pGot }))).toBe("");
      }
      if (batch * m >= 8) expect(pool.splitJobs).toBe(before + 3);
      else expect(pool.splitJobs).toBe(before);
      f.free();
    }, T_OUT);
  }

  it("many repeated calls stay correct and balanced", () => {
    const m = 130, n = 70, k = 50;
    const pa = K.putF32(rand(m * k));
    const pb = K.putF32(rand(k * n));
    const pRef = K.allocF32(m * n);
    const pGot = K.allocF32(m * n);
    K.sgemm({ m, n, k, a: pa, b: pb, c: pRef });
    const ref = K.readF32(pRef, m * n);
    const before = pool.splitJobs;
    let bad = "";
    for (let rep = 0; rep < 300 && !bad; rep++) {
      K.writeF32(pGot, new Float32Array(m * n).fill(NaN));
      pool.sgemm({ m, n, k, a: pa, b: pb, c: pGot });
      bad = sameBits(K.readF32(pGot, m * n), ref);
    }
    expect(bad).toBe("");
    expect(pool.splitJobs - before).toBe(300);
    K.freeF32(pa, m * k);
    K.freeF32(pb, k * n);
    K.freeF32(pRef, m * n);
    K.freeF32(pGot, m * n);
  }, T_OUT);

  it("work-stealing chunks: many small chunks (odd sizes, batch > 1, transposes) equal the single-threaded sgemm bitwise", async () => {
    // 4-row chunks: far more chunks than threads, chunks straddling batch items.
    const p = new ThreadPool(K, { threads: 3, minGemmWork: 0, minGemmChunkRows: 4, gemmChunksPerThread: 64, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
    try {
      await p.whenReady(15_000);
      const cases: GemmCase[] = [
        { m: 37, n: 29, k: 71, batch: 3 },
        { m: 101, n: 43, k: 300, batch: 2, transA: true, alpha: 0.75, beta: 0.5 },
        { m: 23, n: 57, k: 19, batch: 9, transB: true },
        { m: 5, n: 11, k: 13, batch: 13, transA: true, transB: true, beta: -1 },
      ];
      for (const c of cases) {
        const f = gemmFixture(c);
        const { batch, common } = f;
        const before = p.splitJobs;
        for (let rep = 0; rep < 20; rep++) {
          expect(f.check(() => p.sgemm({ ...common, batch, a: f.pa, b: f.pb, c: f.pGot })), `${JSON.stringify(c)} rep ${rep}`).toBe("");
        }
        expect(p.splitJobs - before).toBe(p.activeThreads > 1 ? 20 : 0);
        f.free();
      }
    } finally {
      p.close();
    }
  }, T_OUT);

  it("surfaces bad arguments as errors (validated before any worker runs)", () => {
    const p = K.allocF32(16);
    const end = K.memory.buffer.byteLength - 64; // C would run past the end of memory
    expect(() => pool.sgemm({ m: 40, n: 40, k: 40, a: p, b: p, c: end })).toThrow(/outside wasm memory/);
    expect(() => pool.sgemm({ m: 40, n: 40, k: 40, a: p, b: p, c: p, ldc: 20 })).toThrow(/ldc/);
    K.freeF32(p, 16);
    // The pool still works afterwards.
    expect(pool.activeThreads).toBe(3);
  });
});

// --- generated kernels ---------------------------------------------------------------------

/** sum/max of exp(x) * y (+ sin(x) as a second output when `two`) over `axes`. */
const reduceSpec = (shape: number[], xs: number[], ys: number[], op: "sum" | "max", axes: number[], two = false): KernelSpec => ({
  shape,
  inputs: [{ dtype: "float32", strides: xs }, { dtype: "float32", strides: ys }],
  nodes: [
    { op: "input", input: 0 },
    { op: "input", input: 1 },
    { op: "exp", args: [0], dtype: "float32" },
    { op: "mul", args: [2, 1], dtype: "float32" },
    { op: "sin", args: [0], dtype: "float32" },
  ],
  outputs: two ? [{ node: 3, dtype: "float32" }, { node: 4, dtype: "float32" }] : [{ node: 3, dtype: "float32" }],
  reduction: { op, axes },
});

/** Elements of a (non-negatively strided) operand: 1 + max offset. */
const extent = (shape: number[], strides: number[]): number => 1 + shape.reduce((acc, n, d) => acc + (n - 1) * Math.max(0, strides[d]!), 0);

function checkKernel(spec: KernelSpec, expectSplit: boolean): void {
  const single = compileKernel(spec, { memory: K.memory });
  // scratch for wide outer reductions, grown as the split needs (freed with the rest below)
  let scratch: [ptr: number, floats: number] = [0, 0];
  const scratchFor = (bytes: number): number => {
    if (scratch[1] * 4 < bytes) {
      if (scratch[1] > 0) K.freeF32(scratch[0], scratch[1]);
      scratch = [K.allocF32(Math.ceil(bytes / 4)), Math.ceil(bytes / 4)];
    }
    return scratch[0];
  };
  const par = new ParallelKernel(spec, single, K.memory, scratchFor);
  const red = new Set(spec.reduction?.axes ?? []);
  const outSize = spec.shape.reduce((a, n, d) => (red.has(d) ? a : a * n), 1);
  const ins = spec.inputs.map((inp) => K.putF32(rand(extent([...spec.shape], [...inp.strides]))));
  const outsRef = spec.outputs.map(() => K.allocF32(outSize));
  const outsGot = spec.outputs.map(() => K.allocF32(outSize));
  single.run(ins, outsRef, single.scratchBytes > 0 ? scratchFor(single.scratchBytes) : undefined);
  const before = pool.splitJobs;
  for (let rep = 0; rep < 3; rep++) {
    for (const p of outsGot) K.writeF32(p, new Float32Array(outSize).fill(NaN));
    par.run(pool, ins, outsGot);
    outsGot.forEach((p, o) => expect(sameBits(K.readF32(p, outSize), K.readF32(outsRef[o]!, outSize))).toBe(""));
  }
  expect(pool.splitJobs - before).toBe(expectSplit ? 3 : 0);
  ins.forEach((p, i) => K.freeF32(p, extent([...spec.shape], [...spec.inputs[i]!.strides])));
  for (const p of [...outsRef, ...outsGot]) K.freeF32(p, outSize);
  if (scratch[1] > 0) K.freeF32(scratch[0], scratch[1]);
}

describe("thread pool: generated kernels", () => {
  it("elementwise 1-D, odd sizes", () => {
    for (const n of [100_003, 4099, 257, 37]) checkKernel(tanhSpec([n], [1]), true);
  }, T_OUT);

  it("elementwise smaller than one vector per thread runs whole", () => {
    checkKernel(tanhSpec([7], [1]), false);
  });

  it("elementwise 2-D with a transposed input and a broadcast one", () => {
    const spec: KernelSpec = {
      shape: [301, 203],
      inputs: [
        { dtype: "float32", strides: [1, 301] }, // transposed read
        { dtype: "float32", strides: [0, 1] }, // broadcast row
      ],
      nodes: [
        { op: "input", input: 0 },
        { op: "input", input: 1 },
        { op: "tanh", args: [0], dtype: "float32" },
        { op: "add", args: [2, 1], dtype: "float32" },
      ],
      outputs: [{ node: 3, dtype: "float32" }],
    };
    checkKernel(spec, true);
  }, T_OUT);

  it("elementwise with size-1 dims and a reversed (negative-stride) input", () => {
    const shape = [1, 97, 1, 130];
    const spec = unarySpec("exp", "float32", "float32", shape, [0, 130, 0, 1]);
    checkKernel(spec, true);
    // reversed rows: the pointer addresses the element at iteration index 0
    const n = 97 * 130;
    const x = K.putF32(rand(n));
    const rev: KernelSpec = { ...spec, inputs: [{ dtype: "float32", strides: [0, -130, 0, 1] }] };
    const single = compileKernel(rev, { memory: K.memory });
    const par = new ParallelKernel(rev, single, K.memory);
    const ref = K.allocF32(n);
    const got = K.allocF32(n);
    const start = x + 96 * 130 * 4;
    single.run([start], [ref]);
    par.run(pool, [start], [got]);
    expect(sameBits(K.readF32(got, n), K.readF32(ref, n))).toBe("");
    for (const p of [x, ref, got]) K.freeF32(p, n);
  }, T_OUT);

  it("row reductions (inner axis), sum and max, one and two outputs", () => {
    const shape = [211, 173];
    checkKernel(reduceSpec(shape, contiguous(shape), contiguous(shape), "sum", [1]), true);
    checkKernel(reduceSpec(shape, contiguous(shape), [0, 1], "max", [1], true), true);
  }, T_OUT);

  it("column reductions (outer axis reduced): split along the kept inner axis", () => {
    const shape = [173, 211];
    checkKernel(reduceSpec(shape, contiguous(shape), contiguous(shape), "sum", [0]), true);
    checkKernel(reduceSpec(shape, contiguous(shape), [1, 0], "sum", [0], true), true);
    // 40-wide rows need scratch whole, chunks of 20 keep their sums in registers: same block levels, same bits
    const s40 = [3000, 40];
    checkKernel(reduceSpec(s40, contiguous(s40), contiguous(s40), "sum", [0]), true);
  }, T_OUT);

  it("reductions over outer and inner axes around a kept middle axis", () => {
    const shape = [9, 45, 31];
    checkKernel(reduceSpec(shape, contiguous(shape), contiguous(shape), "sum", [0, 2]), true);
    // a kept axis of 3 between reduced ones: chunks would be 2 and 1 long, and a
    // 1-long chunk changes the loop nest (and the rounding), so it runs whole
    const s3 = [40, 3, 50];
    checkKernel(reduceSpec(s3, contiguous(s3), contiguous(s3), "sum", [0, 2]), false);
  }, T_OUT);

  it("a reduced dim further out, blocked with its levels in scratch: split along the kept axes inside it", () => {
    // sum over axis 0 of exp(x) * y with y broadcast along axis 1 only (k and n stay apart)
    const s3 = [700, 12, 9];
    checkKernel(reduceSpec(s3, contiguous(s3), [0, 1, 0], "sum", [0], true), true);
    // reduced, kept, reduced: each kept element's inner sums go into the level-0 block
    const s4 = [300, 24, 50];
    checkKernel(reduceSpec(s4, contiguous(s4), contiguous(s4), "sum", [0, 2]), true);
  }, T_OUT);

  it("full reductions run whole", () => {
    const shape = [300, 200];
    checkKernel(reduceSpec(shape, contiguous(shape), contiguous(shape), "sum", [0, 1]), false);
  }, T_OUT);

  it("repeated calls on many distinct kernels", () => {
    for (let i = 0; i < 20; i++) {
      const n = 1000 + 37 * i;
      checkKernel(tanhSpec([n], [1]), true);
    }
  }, T_OUT);
});

// --- configuration and failure ----------------------------------------------------------------

describe("thread pool: configuration and failures", () => {
  it("TINYFLOW_THREADS picks the default thread count (1 = no workers)", () => {
    const saved = process.env.TINYFLOW_THREADS;
    try {
      process.env.TINYFLOW_THREADS = "1";
      expect(defaultThreadCount()).toBe(1);
      const p1 = new ThreadPool(K, { minGemmWork: 0 });
      expect(p1.threads).toBe(1);
      expect(p1.start()).toBe(1);
      const m = 64;
      const pa = K.putF32(rand(m * m));
      const pc = K.allocF32(m * m);
      p1.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pc });
      expect(p1.splitJobs).toBe(0);
      expect(p1.readyWorkers()).toBe(0);
      p1.close();
      K.freeF32(pa, m * m);
      K.freeF32(pc, m * m);
      process.env.TINYFLOW_THREADS = "3";
      expect(defaultThreadCount()).toBe(3);
      process.env.TINYFLOW_THREADS = "64";
      expect(defaultThreadCount()).toBe(8);
      process.env.TINYFLOW_THREADS = "zero";
      expect(defaultThreadCount()).toBeGreaterThanOrEqual(1);
    } finally {
      if (saved === undefined) delete process.env.TINYFLOW_THREADS;
      else process.env.TINYFLOW_THREADS = saved;
    }
  });

  it("a pool on an unshared memory has no workers", () => {
    const U = instantiateWasmKernels({ shared: false });
    const p = new ThreadPool(U, { threads: 4, minGemmWork: 0 });
    expect(p.threads).toBe(1);
    const a = U.putF32(rand(32 * 32));
    const c = U.allocF32(32 * 32);
    p.sgemm({ m: 32, n: 32, k: 32, a, b: a, c });
    expect(sameBits(U.readF32(c, 32 * 32), U.matmul(U.readF32(a, 1024), U.readF32(a, 1024), 32, 32, 32))).toBe("");
    expect(p.splitJobs).toBe(0);
  });

  it("workers that cannot start leave a working single-threaded pool", async () => {
    const bad = new ThreadPool(K, { threads: 2, minGemmWork: 0, kernelBytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]), startTimeoutMs: 5000 });
    const active = await bad.whenReady(10_000);
    expect(active).toBe(1);
    expect(bad.failedWorkers()).toBe(1);
    const m = 50;
    const pa = K.putF32(rand(m * m));
    const pRef = K.allocF32(m * m);
    const pGot = K.allocF32(m * m);
    K.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pRef });
    bad.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pGot });
    expect(sameBits(K.readF32(pGot, m * m), K.readF32(pRef, m * m))).toBe("");
    expect(bad.splitJobs).toBe(0);
    bad.close();
    for (const p of [pa, pRef, pGot]) K.freeF32(p, m * m);
  }, T_OUT);

  it("a job posted the moment the workers are ready is picked up (fresh pools, repeatedly)", () => {
    const m = 64;
    const pa = K.putF32(rand(m * m));
    const pRef = K.allocF32(m * m);
    const pGot = K.allocF32(m * m);
    K.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pRef });
    for (let i = 0; i < 4; i++) {
      const p = new ThreadPool(K, { threads: 2, minGemmWork: 0, stallTimeoutMs: 10_000 });
      p.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pGot }); // starts the workers, then posts at once
      expect(sameBits(K.readF32(pGot, m * m), K.readF32(pRef, m * m))).toBe("");
      p.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pGot });
      expect(p.splitJobs).toBe(p.activeThreads === 2 ? 2 : 0);
      p.close();
    }
    for (const p of [pa, pRef, pGot]) K.freeF32(p, m * m);
  }, T_OUT);

  it("a closed pool runs single-threaded", () => {
    const p = new ThreadPool(K, { threads: 2, minGemmWork: 0 });
    p.close();
    expect(p.start()).toBe(1);
    const m = 40;
    const pa = K.putF32(rand(m * m));
    const pc = K.allocF32(m * m);
    p.sgemm({ m, n: m, k: m, a: pa, b: pa, c: pc });
    expect(p.splitJobs).toBe(0);
    K.freeF32(pa, m * m);
    K.freeF32(pc, m * m);
  });
});

// --- the program path --------------------------------------------------------------------------

describe("thread pool: jit programs", () => {
  afterAll(() => {
    setAdaptiveSplit(undefined);
    setThreadCount(undefined, wasmBackend().mem.kernels);
  });

  it("matmul and a large fused elementwise kernel agree bitwise with 1 and 2 threads", () => {
    const kernels = wasmBackend().mem.kernels;
    const a = np.array(rand(300 * 257), { dtype: "float32" }).reshape([300, 257]);
    const b = np.array(rand(257 * 190), { dtype: "float32" }).reshape([257, 190]);
    const x = np.array(rand(400_000), { dtype: "float32" });
    const mm = jit((p: ArrayLike, q: ArrayLike) => np.matmul(p, q));
    const ew = jit((v: ArrayLike) => np.multiply(np.tanh(np.add(np.multiply(v, 2), 1)), v));
    const bmm = jit((p: ArrayLike, q: ArrayLike) => np.matmul(np.reshape(p, [3, 100, 257]), q));
    const results: Float32Array[][] = [];
    // These jobs are short (pool.ts): splitting is what is checked here, so it is not left to a choice.
    setAdaptiveSplit(false);
    for (const t of [1, 2]) {
      setThreadCount(t, kernels);
      const pool = getThreadPool(kernels);
      expect(pool.threads).toBe(t);
      const before = pool.splitJobs;
      results.push([mm(a, b), ew(x), bmm(a, b)].map((r) => (r as { dataSync(): Float32Array }).dataSync()));
      if (t === 2 && pool.activeThreads === 2) expect(pool.splitJobs - before).toBeGreaterThanOrEqual(3);
      if (t === 1) expect(pool.splitJobs).toBe(before);
    }
    for (let i = 0; i < 3; i++) expect(sameBits(results[1]![i]!, results[0]![i]!)).toBe("");
  }, T_OUT);
});
