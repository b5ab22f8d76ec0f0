// How the wasm backend dispatches a GEMM step (src/backends/wasm/program.ts,
// ThreadPool.sgemmOnCaller in threads.ts): small products run on the calling
// thread from arguments prepared once, never waking a worker; a matrix-vector
// product (n = 1) runs as the vector-matrix product xᵀ·op(A)ᵀ on the Rust
// sgemm's unpacked skinny path. Results are checked against the interpreter
// (eager and jitted, transposed operands, batches, epilogues) and against the
// Rust sgemm bitwise.
import { afterAll, describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, BackendError, jit, lax, nn, np, type Tracer } from "../src/index";
import { wasmBackend } from "../src/backends/wasm";
import { compileGemm } from "../src/backends/wasm/codegen/gemm";
import { prepareCallerGemm } from "../src/backends/wasm/gemm_job";
import { getThreadPool, setThreadCount } from "../src/backends/wasm/threads";
import { expectAllclose } from "../src/testing";
import { randomFloats } from "./float_bits";
import { rng } from "./rng";
import { onInterpreter } from "./interpreter_oracle";
import { programSteps } from "./wasm_lowering_checks";

let seed = 11;
function rand(shape: number[]): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return TfArray.fromTyped(randomFloats(rng(seed++), n), shape, "float32", { backend: "wasm" });
}

/** f on wasm, eagerly and under jit, equals f eagerly on the interpreter. */
function expectMatchesInterpreter(f: (...xs: Tracer[]) => Tracer, args: TfArray[], k: number): void {
  const want = onInterpreter(() => f(...args.map((a) => a.to("interpreter")))) as TfArray;
  const tol = { atol: 2e-6 * Math.sqrt(Math.max(1, k)) * 4, rtol: 1e-5 };
  expectAllclose(f(...args) as TfArray, want, tol);
  expectAllclose(jit(f)(...args) as TfArray, want, tol);
}


describe("small GEMMs stay on the calling thread", () => {
  const kernels = wasmBackend().mem.kernels;
  afterAll(() => setThreadCount(undefined, kernels));

  it("eager and jitted small matmuls post no job to the workers; a large one does", async () => {
    setThreadCount(2, kernels);
    const pool = getThreadPool(kernels);
    await pool.whenReady();
    const a = rand([10, 10]);
    const b = rand([10, 10]);
    const x = rand([3, 20, 30]);
    const w = rand([3, 30, 12]);
    const bias = rand([12]);
    const v = rand([10, 1]);
    const dense = jit((x: Tracer, w: Tracer, b: Tracer) => nn.relu(np.matmul(x, w).add(b)));
    const before = pool.splitJobs;
    for (let i = 0; i < 50; i++) {
      np.matmul(a, b).dispose();
      (dense(x, w, bias) as TfArray).dispose();
      np.matmul(a, v).dispose(); // a matrix-vector product
    }
    expect(pool.splitJobs - before).toBe(0);
    // 256³ is past the pool's threshold: with a second thread ready it is split.
    const big = rand([256, 256]);
    np.matmul(big, big).dispose();
    if (pool.activeThreads === 2) expect(pool.splitJobs - before).toBe(1);
  }, 60_000);

  it("the caller path equals the Rust sgemm bitwise, and the generated GEMM with its epilogue per batch item", () => {
    const K = kernels;
    const pool = getThreadPool(K);
    for (const [batch, m, n, k, ta, tb] of [[1, 10, 10, 10, false, false], [3, 7, 13, 300, true, false], [2, 5, 9, 17, true, true], [1, 1, 40, 33, false, true]] as const) {
      const lda = ta ? m : k, ldb = tb ? k : n;
      const pa = K.putF32(randomFloats(rng(batch * m), batch * m * k));
      const pb = K.putF32(randomFloats(rng(batch * n), batch * k * n));
      const col = K.putF32(randomFloats(rng(n), n));
      const pc = K.allocF32(batch * m * n), pr = K.allocF32(batch * m * n);
      const plain = prepareCallerGemm(K, { transA: ta, transB: tb, batch, m, n, k });
      pool.sgemmOnCaller(plain, pa, pb, pc, []);
      for (let i = 0; i < batch; i++) {
        K.sgemm({ transA: ta, transB: tb, m, n, k, a: pa + i * m * k * 4, lda, b: pb + i * k * n * 4, ldb, c: pr + i * m * n * 4, ldc: n });
      }
      expect(Array.from(K.readF32(pc, batch * m * n))).toEqual(Array.from(K.readF32(pr, batch * m * n)));
      const gen = compileGemm([{ op: "add", operand: { kind: "col" } }, { op: "relu", operand: { kind: "none" } }], { memory: K.memory, packers: K.raw, relaxedSimd: false });
      const fused = prepareCallerGemm(K, { transA: ta, transB: tb, batch, m, n, k, generated: gen, epilogueStrides: [0] });
      pool.sgemmOnCaller(fused, pa, pb, pc, [col]);
      const got = K.readF32(pc, batch * m * n), prod = K.readF32(pr, batch * m * n), bias = K.readF32(col, n);
      for (let i = 0; i < batch * m * n; i++) {
        const want = Math.max(0, Math.fround(prod[i]! + bias[i % n]!));
        // The Rust skinny path (m <= 4) sums in another order than the packed one the generated GEMM shares.
        if (m > 4) expect(got[i], `item ${i} of ${batch}x${m}x${n}x${k}`).toBe(want);
        else expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(1e-5 * Math.sqrt(k));
      }
      for (const [p, len] of [[pa, batch * m * k], [pb, batch * k * n], [col, n], [pc, batch * m * n], [pr, batch * m * n]] as const) K.freeF32(p, len);
    }
  });

  it("prepareCallerGemm rejects bad shapes and mismatched epilogues with a BackendError naming it", () => {
    const K = kernels;
    expect(() => prepareCallerGemm(K, { m: -1, n: 2, k: 3 })).toThrow(BackendError);
    expect(() => prepareCallerGemm(K, { m: 2.5, n: 2, k: 3 })).toThrow(/prepareCallerGemm: m must be a non-negative integer, got 2.5/);
    expect(() => prepareCallerGemm(K, { m: 4, n: 8, k: 16, lda: 3 })).toThrow(/prepareCallerGemm: leading dimensions \(3, 8, 8\)/);
    const gen = compileGemm([{ op: "add", operand: { kind: "row" } }], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    expect(() => prepareCallerGemm(K, { m: 4, n: 8, k: 16, generated: gen })).toThrow(/epilogue takes 1 vector operands, got 0/);
  });
});

describe("GEMV: a matrix-vector product runs as a vector-matrix product", () => {
  it("the program says so, and eager and jitted results equal the interpreter for every layout", () => {
    const A = rand([37, 53]);
    const At = rand([53, 37]);
    const x = rand([53]);
    const xCol = rand([53, 1]);
    expect(programSteps((a: Tracer, v: Tracer) => np.matmul(a, v), A, x).join("\n")).toMatch(/sgemm 1x\[37x53\]·\[53x1\].*rust, as the vector-matrix product/);
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [A, x], 53);
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [A, xCol], 53);
    expectMatchesInterpreter((a, v) => np.matmul(a.T, v), [At, x], 53);
    expectMatchesInterpreter((a, v) => lax.dotGeneral(a, v, [[[1], [1]], [[], []]]), [A, xCol.T as TfArray], 53);
    // Batched: 4 matrices times 4 vectors.
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([4, 9, 21]), rand([4, 21, 1])], 21);
    // With a bias the generated GEMM runs it (the epilogue reads C's rows), still correct.
    expectMatchesInterpreter((a, v, b) => np.matmul(a, v).add(b), [rand([20, 30]), rand([30, 1]), rand([20, 1])], 30);
  });

  it("edge sizes: one row, k = 0, k = 1 and empty products equal the interpreter", () => {
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([1, 5]), rand([5, 1])], 5);
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([6, 0]), rand([0, 1])], 0);
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([6, 1]), rand([1, 1])], 1);
    // Empty products (m, n or the batch 0) are prepared without complaint.
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([0, 4]), rand([4, 1])], 4);
    expectMatchesInterpreter((a, v) => lax.dotGeneral(a, v, [[[], []], [[0], [1]]]), [rand([1]), rand([0, 1])], 0);
    expectMatchesInterpreter((a, v) => np.matmul(a, v), [rand([0, 3, 5]), rand([0, 5, 1])], 5);
  });
});
