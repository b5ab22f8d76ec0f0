// The compiled-kernel caches under eager code are bounded (issue 11): the code
// generators' caches (codegen/instance_cache.ts) and the thread pool's module
// registrations (pool.ts register) keep the most recently used kernels up to
// setKernelCacheCapacity's bound; what falls out is released (the process's
// memory stays flat over ever-new kernels) and compiles again, on this thread
// and in the workers, when it comes back.
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compileKernel, compiledModuleCount } from "../src/backends/wasm/codegen/kernel";
import { DEFAULT_KERNEL_CACHE_CAPACITY, kernelCacheSizes, setKernelCacheCapacity } from "../src/core/kernel_cache_capacity";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ParallelKernel } from "../src/backends/wasm/parallel_kernel";
import { ThreadPool } from "../src/backends/wasm/threads";
import { MAX_THREADS } from "../src/backends/wasm/worker_hosts";
import { BackendError } from "../src/core/errors";
import { floatSource, sameBits } from "./float_bits";
import { tanhSpec } from "./kernel_specs";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const T_OUT = 30_000;
const rand = floatSource(11);

let K: WasmKernels;
beforeAll(() => {
  K = instantiateWasmKernels();
});
afterEach(() => setKernelCacheCapacity(DEFAULT_KERNEL_CACHE_CAPACITY));

/** Runs `kernel` (one input, one output of n floats) on `x` and returns the output. */
function runOn(kernel: { run(ins: number[], outs: number[]): void }, x: Float32Array): Float32Array {
  const pin = K.putF32(x);
  const pout = K.allocF32(x.length);
  kernel.run([pin], [pout]);
  const out = K.readF32(pout, x.length);
  K.freeF32(pin, x.length);
  K.freeF32(pout, x.length);
  return out;
}

describe("kernel caches: bound", () => {
  it("keep the most recently used kernels up to the bound; an evicted one compiles again and computes the same", () => {
    setKernelCacheCapacity(3);
    const sizes = [1001, 1002, 1003, 1004];
    const x = rand(1001);
    const first = compileKernel(tanhSpec([1001], [1]), { memory: K.memory });
    const before = runOn(first, x);
    const compiled0 = compiledModuleCount();
    for (const n of sizes.slice(1)) compileKernel(tanhSpec([n], [1]), { memory: K.memory });
    expect(kernelCacheSizes().kernel).toBe(3);
    // 1002..1004 are cached: no new module
    compileKernel(tanhSpec([1004], [1]), { memory: K.memory });
    compileKernel(tanhSpec([1002], [1]), { memory: K.memory });
    expect(compiledModuleCount()).toBe(compiled0 + 3);
    // 1001 was evicted: compiled again, a new kernel object, the same bits; the old one still runs
    const again = compileKernel(tanhSpec([1001], [1]), { memory: K.memory });
    expect(compiledModuleCount()).toBe(compiled0 + 4);
    expect(again).not.toBe(first);
    expect(sameBits(runOn(again, x), before)).toBe("");
    expect(sameBits(runOn(first, x), before)).toBe("");
    // 1003 was the least recently used: evicted by 1001, while 1002 (used after it) stayed
    compileKernel(tanhSpec([1002], [1]), { memory: K.memory });
    expect(compiledModuleCount()).toBe(compiled0 + 4);
    compileKernel(tanhSpec([1003], [1]), { memory: K.memory });
    expect(compiledModuleCount()).toBe(compiled0 + 5);
  });

  it("lowering the bound evicts at once; a bad bound is a typed error", () => {
    for (let n = 2001; n <= 2010; n++) compileKernel(tanhSpec([n], [1]), { memory: K.memory });
    expect(kernelCacheSizes().kernel).toBeGreaterThanOrEqual(10);
    setKernelCacheCapacity(4);
    expect(kernelCacheSizes().kernel).toBe(4);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => setKernelCacheCapacity(bad)).toThrow(BackendError);
    expect(() => setKernelCacheCapacity(0)).toThrow(/setKernelCacheCapacity: keys must be a positive integer, got 0/);
  });

  it("host memory stays flat over thousands of ever-new kernels", () => {
    setKernelCacheCapacity(64);
    const memory = K.memory;
    let n = 3000;
    const compileMany = (count: number): void => {
      for (const end = n + count; n < end; n++) compileKernel(tanhSpec([n], [1]), { memory });
    };
    const settledRss = (): number => {
      for (let i = 0; i < 3; i++) gc();
      return process.memoryUsage().rss;
    };
    compileMany(600);
    const rss0 = settledRss();
    compileMany(4000);
    const grown = settledRss() - rss0;
    // Unbounded, these 4,000 modules hold ~28 KB of RSS each (~110 MB); bounded, what V8 keeps of
    // its code space and heap after collecting the evicted ones (~20 MB, the same at 2,000 and 4,000).
    expect(grown).toBeLessThan(50 * 2 ** 20);
    expect(kernelCacheSizes().kernel).toBe(64);
  }, T_OUT);
});

describe("kernel caches: bound, threaded", () => {
  let pool: ThreadPool | undefined;
  afterAll(() => pool?.close());

  it("an evicted registration is freed; its kernel registers again under a new id and the workers compile it anew", async () => {
    setKernelCacheCapacity(1); // the pool keeps MAX_THREADS registrations (its floor), the workers as many compiled copies
    pool = new ThreadPool(K, { threads: 3, minKernelWork: 16, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
    await pool.whenReady(15_000);
    expect(pool.activeThreads).toBe(3);
    const p = pool;
    const runSplit = (n: number): string => {
      const spec = tanhSpec([n], [1]);
      const single = compileKernel(spec, { memory: K.memory });
      const par = new ParallelKernel(spec, single, K.memory, () => 0);
      const x = rand(n);
      const ref = runOn(single, x);
      const pin = K.putF32(x);
      const pout = K.allocF32(n);
      K.writeF32(pout, new Float32Array(n).fill(Number.NaN));
      const splits = p.splitJobs;
      par.run(p, [pin], [pout]);
      expect(p.splitJobs).toBe(splits + 1);
      const got = K.readF32(pout, n);
      K.freeF32(pin, n);
      K.freeF32(pout, n);
      return sameBits(got, ref);
    };
    expect(runSplit(50_001)).toBe("");
    for (let n = 50_002; n < 50_014; n++) expect(runSplit(n)).toBe("");
    expect(p.registrations).toBe(MAX_THREADS);
    const live = K.liveBytes();
    for (let n = 60_002; n < 60_014; n++) expect(runSplit(n)).toBe("");
    expect(p.registrations).toBe(MAX_THREADS);
    // freed registrations' bytes went back: no growth beyond a few modules' worth of size-class rounding
    expect(K.liveBytes() - live).toBeLessThan(64 * 1024);
    // 50_001 was evicted long ago (here and in the workers): it comes back right
    expect(runSplit(50_001)).toBe("");
  }, T_OUT);
});
