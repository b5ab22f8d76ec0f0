// Dead worker threads: a worker of the wasm backend's pool that dies in the
// middle of a job fails that call at once with a BackendError saying so (not a
// stall until the pool's time limit), and the pool replaces the worker, so the
// calls after it are threaded and correct again. Workers are killed with the
// pool's test hooks: crashWorkerForTesting (the worker exits when its next job
// starts, running its exit handler or, as process.exit before the handler is
// installed would, not) and terminateWorkerForTesting (the thread is ended
// from outside, as worker.terminate() elsewhere or running out of memory
// would: no handler runs; the pool's watchdog thread notices). The
// pools' stall limit is set far beyond the tests' timeouts, so a death that
// went unnoticed would time the test out rather than pass.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError } from "../src/index";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";
import { ParallelKernel } from "../src/backends/wasm/parallel_kernel";
import { seededFloats } from "./float_bits";

const T_OUT = 60_000;
let K: WasmKernels;
let pool: ThreadPool;


beforeAll(async () => {
  K = instantiateWasmKernels();
  pool = new ThreadPool(K, { threads: 3, minGemmWork: 0, minKernelWork: 16, startTimeoutMs: 10_000, stallTimeoutMs: 600_000 });
  await pool.whenReady(15_000);
}, T_OUT);
afterAll(() => pool?.close());

/** A 256x256 sgemm on the pool, checked against the single-threaded one; returns whether it matched. */
function gemmMatches(): boolean {
  const m = 256;
  const a = K.putF32(seededFloats(m * m, 3));
  const ref = K.allocF32(m * m);
  const got = K.allocF32(m * m);
  try {
    K.sgemm({ m, n: m, k: m, a, b: a, c: ref });
    pool.sgemm({ m, n: m, k: m, a, b: a, c: got });
    const x = K.readF32(got, m * m), y = K.readF32(ref, m * m);
    return x.every((v, i) => Object.is(v, y[i]));
  } finally {
    for (const p of [a, ref, got]) K.freeF32(p, m * m);
  }
}

describe("a worker that dies mid-job", () => {
  it("starts with every worker ready", () => {
    expect(pool.readyWorkers()).toBe(2);
  });

  it("fails the sgemm it was part of with a BackendError naming the worker and its exit code", () => {
    pool.crashWorkerForTesting(1);
    let err: unknown;
    try {
      gemmMatches();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/thread pool: worker thread 2 died \(exit code 70\) while computing its part of a matrix product; this call's result is lost/);
  }, T_OUT);

  it("is replaced: later calls use all threads again and are right", async () => {
    expect(pool.replacedWorkers).toBe(1);
    expect(await pool.whenReady(15_000)).toBe(3);
    const before = pool.splitJobs;
    expect(gemmMatches()).toBe(true);
    expect(gemmMatches()).toBe(true);
    expect(pool.splitJobs - before).toBe(2);
  }, T_OUT);

  it("a death during a split generated kernel fails that kernel the same way, and the pool recovers", async () => {
    const n = 1 << 16;
    const spec: KernelSpec = {
      shape: [n],
      inputs: [{ dtype: "float32", strides: [1] }],
      nodes: [{ op: "input", input: 0 }, { op: "tanh", args: [0], dtype: "float32" }],
      outputs: [{ node: 1, dtype: "float32" }],
    };
    const single = compileKernel(spec, { memory: K.memory });
    const par = new ParallelKernel(spec, single, K.memory);
    const x = K.putF32(seededFloats(n, 5));
    const ref = K.allocF32(n);
    const got = K.allocF32(n);
    try {
      single.run([x], [ref]);
      pool.crashWorkerForTesting(0);
      expect(() => par.run(pool, [x], [got])).toThrow(/worker thread 1 died \(exit code 70\) while computing its part of a kernel/);
      expect(await pool.whenReady(15_000)).toBe(3);
      const before = pool.splitJobs;
      par.run(pool, [x], [got]);
      expect(pool.splitJobs - before).toBe(1);
      const a = K.readF32(got, n), b = K.readF32(ref, n);
      expect(a.every((v, i) => Object.is(v, b[i]))).toBe(true);
      expect(pool.replacedWorkers).toBe(2);
    } finally {
      for (const p of [x, ref, got]) K.freeF32(p, n);
    }
  }, T_OUT);

  it("a worker that ends mid-job without running its exit handler fails the call at once (the watchdog sees it), and is replaced", async () => {
    const replaced = pool.replacedWorkers;
    pool.crashWorkerForTesting(0, { withoutExitHandler: true });
    // this thread is blocked waiting for the job when the worker ends: only the watchdog can see it
    expect(() => gemmMatches()).toThrow(/worker thread 1 died \(exit code none: ended from outside\) while computing its part of a matrix product/);
    expect(await pool.whenReady(15_000)).toBe(3);
    expect(pool.replacedWorkers).toBe(replaced + 1);
    const before = pool.splitJobs;
    expect(gemmMatches()).toBe(true);
    expect(pool.splitJobs - before).toBe(1);
  }, T_OUT);

  it("a worker terminated from outside never stalls a call: the call fails at once or runs without it, and it is replaced", async () => {
    const replaced = pool.replacedWorkers;
    pool.terminateWorkerForTesting(0);
    // Depending on when the thread ends, the next call either had posted its part to the worker
    // (and fails, the watchdog settling the part) or finds the slot dead and runs without it.
    for (let i = 0; i < 3; i++) {
      try {
        expect(gemmMatches()).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(BackendError);
        expect((e as Error).message).toMatch(/worker thread 1 died \(exit code none: ended from outside\)/);
      }
    }
    expect(await pool.whenReady(15_000)).toBe(3);
    expect(pool.replacedWorkers).toBe(replaced + 1);
    const before = pool.splitJobs;
    expect(gemmMatches()).toBe(true);
    expect(pool.splitJobs - before).toBe(1);
  }, T_OUT);

  it("a slot whose replacement dies too is replaced again", async () => {
    pool.crashWorkerForTesting(1);
    expect(() => gemmMatches()).toThrow(BackendError);
    await pool.whenReady(15_000);
    for (let i = 0; i < 5; i++) expect(gemmMatches()).toBe(true);
    expect(pool.readyWorkers()).toBe(2);
    expect(pool.replacedWorkers).toBe(5);
  }, T_OUT);
});
