// Oversubscription: a worker that a loaded machine has not scheduled yet never
// holds up a call. The calling thread, done with its own share, takes over
// every part whose worker has not claimed it (one compareExchange per part),
// so the part runs exactly once, here. A worker is held asleep with the
// pool's stallWorkerForTesting hook; the pool's stall limit is far beyond the
// test timeout, so a call that waited for the sleeping worker would time the
// test out. Every job below is one where running a part twice changes the
// result: an in-place kernel (x <- x + 1), an sgemm with beta = 1
// (C <- A·B + C), a conv whose output is checked against the unsplit kernel.
// After the worker is released and has skipped the job it woke for, the
// results are checked again: a late second run would show there.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileKernel, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import type { Conv2dParams } from "../src/backends/wasm/conv_params";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ParallelKernel } from "../src/backends/wasm/parallel_kernel";
import { ThreadPool } from "../src/backends/wasm/threads";
import { sameBits, seededFloats } from "./float_bits";

const T_OUT = 60_000;
let K: WasmKernels;
let pool: ThreadPool;


beforeAll(async () => {
  K = instantiateWasmKernels();
  pool = new ThreadPool(K, { threads: 3, minGemmWork: 0, minKernelWork: 16, minConvWork: 0, startTimeoutMs: 10_000, stallTimeoutMs: 600_000 });
  expect(await pool.whenReady(15_000)).toBe(3);
}, T_OUT);
afterAll(() => pool?.close());

/** x <- x + 1 in place, split into one chunk per thread. */
function inPlaceIncrement(n: number): ParallelKernel {
  const spec: KernelSpec = {
    shape: [n],
    inputs: [{ dtype: "float32", strides: [1] }],
    nodes: [{ op: "input", input: 0 }, { op: "const", value: 1, dtype: "float32" }, { op: "add", args: [0, 1], dtype: "float32" }],
    outputs: [{ node: 2, dtype: "float32" }],
  };
  return new ParallelKernel(spec, compileKernel(spec, { memory: K.memory }), K.memory);
}

describe("a split job whose worker has not woken up", () => {
  it("does not wait for it: the calling thread runs its kernel chunk, once", async () => {
    const n = 1 << 16;
    const par = inPlaceIncrement(n);
    const x0 = seededFloats(n, 7);
    const p = K.putF32(x0);
    const want = x0.map((v) => Math.fround(v + 1));
    try {
      const split = pool.splitJobs, taken = pool.takenOverParts;
      pool.stallWorkerForTesting(0);
      par.run(pool, [p], [p]);
      expect(pool.splitJobs - split).toBe(1);
      expect(pool.takenOverParts - taken).toBeGreaterThanOrEqual(1);
      expect(sameBits(K.readF32(p, n), want)).toBe("");
      await pool.releaseStalledWorkerForTesting();
      // the worker woke for that job, found its part taken over and skipped it
      expect(sameBits(K.readF32(p, n), want)).toBe("");
    } finally {
      K.freeF32(p, n);
    }
  }, T_OUT);

  it("does not wait for it: an sgemm with beta = 1 takes every row chunk once", async () => {
    const m = 192, n = 160, k = 96;
    const a = K.putF32(seededFloats(m * k, 3)), b = K.putF32(seededFloats(k * n, 4));
    const c0 = seededFloats(m * n, 5);
    const ref = K.putF32(c0), got = K.putF32(c0);
    try {
      K.sgemm({ m, n, k, a, b, c: ref, beta: 1 });
      const taken = pool.takenOverParts;
      pool.stallWorkerForTesting(1);
      pool.sgemm({ m, n, k, a, b, c: got, beta: 1 });
      expect(pool.takenOverParts - taken).toBeGreaterThanOrEqual(1);
      expect(sameBits(K.readF32(got, m * n), K.readF32(ref, m * n))).toBe("");
      await pool.releaseStalledWorkerForTesting();
      expect(sameBits(K.readF32(got, m * n), K.readF32(ref, m * n))).toBe("");
    } finally {
      for (const [q, len] of [[a, m * k], [b, k * n], [ref, m * n], [got, m * n]] as const) K.freeF32(q, len);
    }
  }, T_OUT);

  it("does not wait for it: a split convolution equals the unsplit kernel", async () => {
    const params: Conv2dParams = { layout: "NCHW", n: 2, cin: 8, h: 24, w: 24, cout: 16, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
    const xs = 2 * 8 * 24 * 24, ws = 16 * 8 * 9, ys = 2 * 16 * 24 * 24;
    const x = K.putF32(seededFloats(xs, 8)), w = K.putF32(seededFloats(ws, 9));
    const ref = K.allocF32(ys), got = K.allocF32(ys);
    try {
      K.conv2d(params, x, w, ref);
      const taken = pool.takenOverParts;
      pool.stallWorkerForTesting(0);
      pool.conv({ params, mode: "forward", a: x, b: w, out: got });
      expect(pool.takenOverParts - taken).toBeGreaterThanOrEqual(1);
      expect(sameBits(K.readF32(got, ys), K.readF32(ref, ys))).toBe("");
      await pool.releaseStalledWorkerForTesting();
      expect(sameBits(K.readF32(got, ys), K.readF32(ref, ys))).toBe("");
    } finally {
      for (const [q, len] of [[x, xs], [w, ws], [ref, ys], [got, ys]] as const) K.freeF32(q, len);
    }
  }, T_OUT);

  it("the released worker takes parts again, and many jobs in a row stay right", () => {
    const n = 1 << 16;
    const par = inPlaceIncrement(n);
    const x0 = seededFloats(n, 11);
    const p = K.putF32(x0);
    try {
      const want = x0.slice();
      for (let i = 0; i < 50; i++) {
        par.run(pool, [p], [p]);
        for (let e = 0; e < n; e++) want[e] = Math.fround(want[e]! + 1);
      }
      expect(sameBits(K.readF32(p, n), want)).toBe("");
      expect(pool.readyWorkers()).toBe(2);
    } finally {
      K.freeF32(p, n);
    }
  }, T_OUT);
});
