// Tests of the GEMM generated at run time (src/backends/wasm/codegen/gemm.ts):
// without relaxed SIMD it equals the Rust sgemm bitwise (all transposes, M/N/K
// of 0 and 1, odd sizes, every cache-block boundary, leading dimensions wider
// than the matrices, subnormals read as zero); with relaxed_madd it is within
// a rounding bound of a float64 reference; every epilogue op gives the Rust
// result with the op applied in float32; the thread pool splits it bitwise
// equal to one thread, epilogue included; bad epilogues and arguments fail
// with BackendError. This file turns relaxed SIMD on (a V8 flag on Node 20,
// set before anything probes for it) so both code paths run here.
import v8 from "node:v8";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError } from "../src/core/errors";
import { compileGemm, describeEpilogue, type EpilogueOp, type GeneratedGemm } from "../src/backends/wasm/codegen/gemm";
import { probeRelaxedSimd } from "../src/backends/wasm/codegen/assembler";
import { SGEMM_SKINNY_M, instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";

import { epilogueReference, floatSource, sameBits } from "./float_bits";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const rand = floatSource(11);

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** Extra columns of padding in each operand's rows (lda/ldb/ldc beyond the minimum). */
  pad?: number;
}

let K: WasmKernels;
beforeAll(() => {
  K = instantiateWasmKernels();
});

/**
 * Operands of a case in wasm memory, the Rust sgemm's result, and a float64
 * reference. The Rust result is computed for at least SGEMM_SKINNY_M + 1 rows
 * of op(A) (extra random rows, ignored), so it comes from the packed path the
 * generated GEMM shares, not from the unpacked skinny path.
 */
function fixture(c: Case) {
  const { m, n, k } = c;
  const mm = Math.max(m, SGEMM_SKINNY_M + 1);
  const pad = c.pad ?? 0;
  const [aRows, aCols] = c.transA ? [k, mm] : [mm, k];
  const [bRows, bCols] = c.transB ? [n, k] : [k, n];
  const lda = Math.max(1, aCols + pad);
  const ldb = Math.max(1, bCols + pad);
  const ldc = Math.max(1, n + pad);
  const a = rand(Math.max(1, aRows * lda));
  const b = rand(Math.max(1, bRows * ldb));
  const pa = K.putF32(a);
  const pb = K.putF32(b);
  const cLen = Math.max(1, m * ldc);
  const pRust = K.putF32(new Float32Array(mm * ldc).fill(NaN));
  const pGot = K.allocF32(cLen);
  K.sgemm({ transA: c.transA, transB: c.transB, m: mm, n, k, a: pa, lda, b: pb, ldb, c: pRust, ldc });
  const A = (i: number, p: number) => (c.transA ? a[p * lda + i]! : a[i * lda + p]!);
  const B = (p: number, j: number) => (c.transB ? b[j * ldb + p]! : b[p * ldb + j]!);
  /** Exact-ish product and Σ|a·b| (the scale of the rounding error) of element (i, j). */
  const exact = (i: number, j: number): [number, number] => {
    let s = 0;
    let abs = 0;
    for (let p = 0; p < k; p++) {
      s += A(i, p) * B(p, j);
      abs += Math.abs(A(i, p) * B(p, j));
    }
    return [s, abs];
  };
  return {
    lda, ldb, ldc, pa, pb, pGot, cLen, exact,
    rust: () => K.readF32(pRust, cLen),
    /** Runs `gen` on all rows into pGot (pre-filled with NaN) and returns C. */
    run(gen: GeneratedGemm, ...eps: number[]): Float32Array {
      K.writeF32(pGot, new Float32Array(cLen).fill(NaN));
      const scratch = K.alloc(gen.scratchBytes(m, n, k));
      try {
        gen.gemmRows(c.transA ? 1 : 0, c.transB ? 1 : 0, m, n, k, pa, lda, pb, ldb, pGot, ldc, 0, m, scratch, ...eps);
      } finally {
        K.free(scratch, gen.scratchBytes(m, n, k));
      }
      return K.readF32(pGot, cLen);
    },
    free(): void {
      K.freeF32(pa, a.length);
      K.freeF32(pb, b.length);
      K.freeF32(pRust, mm * ldc);
      K.freeF32(pGot, cLen);
    },
  };
}

const shapes: Array<[number, number, number]> = [
  [1, 1, 1], [0, 5, 3], [5, 0, 3], [5, 3, 0], [1, 37, 19], [23, 1, 45], [7, 9, 1],
  [4, 8, 16], [13, 17, 29], [33, 65, 257], [129, 31, 40], [130, 19, 513], [3, 70, 300],
];
const cases: Case[] = [];
for (const [m, n, k] of shapes) {
  for (const transA of [false, true]) for (const transB of [false, true]) cases.push({ m, n, k, transA, transB, pad: (m + n + k) % 3 });
}
const label = (c: Case) => `${c.transA ? "T" : "N"}${c.transB ? "T" : "N"} ${c.m}x${c.n}x${c.k} pad ${c.pad ?? 0}`;

describe("generated GEMM without relaxed SIMD", () => {
  it("equals the Rust sgemm bitwise (all transposes, empty, 1, odd and block-crossing sizes, padded leading dims)", () => {
    const gen = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    for (const c of cases) {
      const f = fixture(c);
      expect(sameBits(f.run(gen).subarray(0, c.m * f.ldc), f.rust().subarray(0, c.m * f.ldc)), label(c)).toBe("");
      f.free();
    }
  });

  it("keeps C's padding columns untouched and writes zeros when k = 0", () => {
    const gen = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    const f = fixture({ m: 6, n: 10, k: 0, pad: 3 });
    const got = f.run(gen);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 13; j++) {
        if (j < 10) expect(got[i * 13 + j]).toBe(0);
        else expect(Number.isNaN(got[i * 13 + j])).toBe(true);
      }
    }
    f.free();
  });

  it("reads subnormal inputs as zero, like the Rust sgemm (NaN and infinities pass)", () => {
    const gen = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    const m = 9, n = 11, k = 13;
    const a = rand(m * k).map((v, i) => (i % 3 === 0 ? 1e-40 : v));
    const b = rand(k * n).map((v, i) => (i % 5 === 0 ? -2e-39 : v));
    a[7] = Infinity;
    b[3] = NaN;
    const pa = K.putF32(a), pb = K.putF32(b), pc = K.allocF32(m * n), pr = K.allocF32(m * n);
    const scratch = K.alloc(gen.scratchBytes(m, n, k));
    gen.gemmRows(0, 0, m, n, k, pa, k, pb, n, pc, n, 0, m, scratch);
    K.sgemm({ m, n, k, a: pa, b: pb, c: pr });
    const zeroed = K.matmul(a.map((v) => (Math.abs(v) < 1.1754943508222875e-38 ? 0 : v)), b.map((v) => (Math.abs(v) < 1.1754943508222875e-38 ? 0 : v)), m, n, k);
    expect(sameBits(K.readF32(pc, m * n), K.readF32(pr, m * n))).toBe("");
    expect(sameBits(K.readF32(pc, m * n), zeroed)).toBe("");
    K.free(scratch, gen.scratchBytes(m, n, k));
    for (const [p, len] of [[pa, m * k], [pb, k * n], [pc, m * n], [pr, m * n]]) K.freeF32(p!, len!);
  });
});

describe("generated GEMM with relaxed SIMD (f32x4.relaxed_madd)", () => {
  it("is detected by the probe once the engine flag is on", () => {
    expect(probeRelaxedSimd()).toBe(true);
    const gen = compileGemm([], { memory: K.memory, packers: K.raw });
    expect(gen.relaxed).toBe(true);
    expect(gen.text()).toContain("f32x4.relaxed_madd");
    expect(compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: false }).text()).not.toContain("relaxed_madd");
  });

  it("is within rounding of a float64 reference, like the Rust sgemm", () => {
    const gen = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: true });
    for (const c of cases) {
      const f = fixture(c);
      const got = f.run(gen);
      const rust = f.rust();
      let worst = "";
      for (let i = 0; i < c.m && !worst; i++) {
        for (let j = 0; j < c.n && !worst; j++) {
          const [want, scale] = f.exact(i, j);
          const bound = 2 * (c.k + 2) * 2 ** -24 * scale + 1e-30;
          const g = got[i * f.ldc + j]!;
          if (!(Math.abs(g - want) <= bound) || !(Math.abs(rust[i * f.ldc + j]! - want) <= bound)) worst = `(${i}, ${j}): ${g} vs ${want} ± ${bound}`;
        }
      }
      expect(worst, label(c)).toBe("");
      f.free();
    }
  });
});

describe("Rust sgemm, skinny products (op(A) of at most SGEMM_SKINNY_M rows, read without packing)", () => {
  it("is within rounding of float64 for every layout, padded leading dims, rows split", () => {
    for (const m of [1, 2, 3, 4]) {
      for (const [n, k] of [[1, 1], [7, 3], [8, 300], [37, 513], [100, 17]] as const) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const pad = (n + k) % 3;
            const lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
            const a = rand((transA ? k : m) * lda), b = rand((transB ? n : k) * ldb);
            const pa = K.putF32(a), pb = K.putF32(b), pc = K.putF32(new Float32Array(m * ldc).fill(NaN));
            // Two row ranges, as the thread pool would split them.
            const split = m >> 1;
            for (const [m0, m1] of [[0, split], [split, m]]) {
              K.sgemmRows({ transA, transB, m, n, k, a: pa, lda, b: pb, ldb, c: pc, ldc, m0: m0!, m1: m1! });
            }
            const got = K.readF32(pc, m * ldc);
            const A = (i: number, p: number) => (transA ? a[p * lda + i]! : a[i * lda + p]!);
            const B = (p: number, j: number) => (transB ? b[j * ldb + p]! : b[p * ldb + j]!);
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < ldc; j++) {
                const g = got[i * ldc + j]!;
                if (j >= n) {
                  expect(Number.isNaN(g), `padding (${i}, ${j})`).toBe(true);
                  continue;
                }
                let s = 0, abs = 0;
                for (let p = 0; p < k; p++) {
                  s += A(i, p) * B(p, j);
                  abs += Math.abs(A(i, p) * B(p, j));
                }
                expect(Math.abs(g - s), `m ${m} n ${n} k ${k} ${transA ? "T" : "N"}${transB ? "T" : "N"} (${i}, ${j})`).toBeLessThanOrEqual(2 * (k + 2) * 2 ** -24 * abs + 1e-30);
              }
            }
            K.freeF32(pa, a.length);
            K.freeF32(pb, b.length);
            K.freeF32(pc, m * ldc);
          }
        }
      }
    }
  });

  it("reads subnormals as zero and honours alpha and beta", () => {
    for (const transB of [false, true]) {
      const m = 2, n = 9, k = 6;
      const a = rand(m * k).map((v, i) => (i % 4 === 0 ? 3e-39 : v));
      const b = rand(k * n).map((v, i) => (i % 3 === 0 ? -1e-40 : v));
      const flush = (x: Float32Array) => x.map((v) => (Math.abs(v) < 1.1754943508222875e-38 ? 0 : v));
      const c0 = rand(m * n);
      const pa = K.putF32(a), pb = K.putF32(b), pc = K.putF32(c0);
      K.sgemm({ m, n, k, transB, a: pa, b: pb, c: pc, alpha: 0.5, beta: -2 });
      const got = K.readF32(pc, m * n);
      const fa = flush(a), fb = flush(b);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += fa[i * k + p]! * (transB ? fb[j * k + p]! : fb[p * n + j]!);
          expect(got[i * n + j]).toBeCloseTo(0.5 * s - 2 * c0[i * n + j]!, 5);
        }
      }
      // A product of subnormal inputs only is exactly zero.
      const tiny = K.putF32(new Float32Array(m * k).fill(1e-39));
      K.sgemm({ m, n, k, transB, a: tiny, b: pb, c: pc });
      expect(Array.from(K.readF32(pc, m * n)).every((v) => v === 0)).toBe(true);
      for (const [p, len] of [[pa, m * k], [pb, k * n], [pc, m * n], [tiny, m * k]]) K.freeF32(p!, len!);
    }
  });
});

describe("generated GEMM epilogues", () => {
  const epilogues: EpilogueOp[][] = [
    [{ op: "add", operand: { kind: "col" } }, { op: "relu", operand: { kind: "none" } }],
    [{ op: "mul", operand: { kind: "const", value: 0.5 } }, { op: "rsub", operand: { kind: "row" } }, { op: "max", operand: { kind: "const", value: -0.1 } }],
    [{ op: "div", operand: { kind: "col" } }, { op: "min", operand: { kind: "row" } }, { op: "sub", operand: { kind: "const", value: 3 } }],
    [{ op: "rdiv", operand: { kind: "const", value: 2 } }, { op: "add", operand: { kind: "row" } }, { op: "add", operand: { kind: "col" } }],
  ];
  for (const ops of epilogues) {
    it(`${describeEpilogue(ops)} equals the Rust result with the ops applied in float32`, () => {
      const gen = compileGemm(ops, { memory: K.memory, packers: K.raw, relaxedSimd: false });
      for (const c of cases.filter((_, i) => i % 3 === 0)) {
        const f = fixture(c);
        const vecs = ops.filter((o) => o.operand.kind === "col" || o.operand.kind === "row").map((o) => rand(Math.max(1, o.operand.kind === "col" ? c.n : c.m)).map((v) => v + 0.75));
        const ptrs = vecs.map((v) => K.putF32(v));
        const got = f.run(gen, ...ptrs);
        const rust = f.rust();
        const want = new Float32Array(f.cLen).fill(NaN);
        for (let i = 0; i < c.m; i++) {
          for (let j = 0; j < c.n; j++) {
            let x = rust[i * f.ldc + j]!;
            let vi = 0;
            for (const op of ops) {
              const o = op.operand;
              const v = o.kind === "const" ? Math.fround(o.value) : o.kind === "col" ? vecs[vi++]![j]! : o.kind === "row" ? vecs[vi++]![i]! : 0;
              x = epilogueReference(op.op, x, v);
            }
            want[i * f.ldc + j] = x;
          }
        }
        for (let i = 0; i < c.m; i++) {
          expect(sameBits(got.subarray(i * f.ldc, i * f.ldc + c.n), want.subarray(i * f.ldc, i * f.ldc + c.n)), `${label(c)} row ${i}`).toBe("");
        }
        ptrs.forEach((p, i) => K.freeF32(p, vecs[i]!.length));
        f.free();
      }
    });
  }

  it("relu keeps NaN and maps -0 to +0 (as select_n(x <= 0, x, 0))", () => {
    const gen = compileGemm([{ op: "add", operand: { kind: "col" } }, { op: "relu", operand: { kind: "none" } }], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    const m = 4, n = 8, k = 1;
    const pa = K.putF32(new Float32Array([1, 1, 1, 1]));
    const pb = K.putF32(new Float32Array([0, -0, 2, -3, NaN, 1, -1, 5]));
    const bias = K.putF32(new Float32Array([-0, -0, 0, 0, 0, 0, 1, 0]));
    const pc = K.allocF32(m * n);
    const scratch = K.alloc(gen.scratchBytes(m, n, k));
    gen.gemmRows(0, 0, m, n, k, pa, 1, pb, n, pc, n, 0, m, scratch, bias);
    const row = Array.from(K.readF32(pc, n));
    expect(row.map((v) => Object.is(v, -0) ? "-0" : v)).toEqual([0, 0, 2, 0, NaN, 1, 0, 5]);
    K.free(scratch, gen.scratchBytes(m, n, k));
  });

  it("rejects malformed epilogues with BackendError", () => {
    const opts = { memory: K.memory, packers: K.raw, relaxedSimd: false };
    expect(() => compileGemm([{ op: "relu", operand: { kind: "col" } }], opts)).toThrow(BackendError);
    expect(() => compileGemm([{ op: "add", operand: { kind: "none" } }], opts)).toThrow(/cannot take a none operand/);
    expect(() => compileGemm([{ op: "pow" as "add", operand: { kind: "const", value: 2 } }], opts)).toThrow(/unknown epilogue op 'pow'/);
    const many = Array.from({ length: 9 }, (): EpilogueOp => ({ op: "add", operand: { kind: "col" } }));
    expect(() => compileGemm(many, opts)).toThrow(/at most 8 vector operands/);
    expect(() => compileGemm([], { ...opts, unroll: 3 })).toThrow(/unroll must be 1, 2, 4 or 8/);
  });
});

describe("generated GEMM on the thread pool", () => {
  let pool: ThreadPool;
  beforeAll(async () => {
    pool = new ThreadPool(K, { threads: 3, minGemmWork: 0, minGemmChunkRows: 4, gemmChunksPerThread: 16, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
    await pool.whenReady(15_000);
  }, 30_000);
  afterAll(() => pool?.close());

  for (const relaxed of [false, true]) {
    it(`row splits equal one thread bitwise, epilogue and batches included (relaxed ${relaxed})`, () => {
      const ops: EpilogueOp[] = [{ op: "add", operand: { kind: "col" } }, { op: "mul", operand: { kind: "row" } }, { op: "relu", operand: { kind: "none" } }];
      const gen = compileGemm(ops, { memory: K.memory, packers: K.raw, relaxedSimd: relaxed });
      for (const [m, n, k, batch, ta, tb] of [[37, 29, 300, 3, false, true], [130, 45, 20, 1, true, false], [9, 70, 513, 2, true, true]] as const) {
        const pa = K.putF32(rand(batch * m * k));
        const pb = K.putF32(rand(batch * k * n));
        const col = K.putF32(rand(n));
        const row = K.putF32(rand(m));
        const pOne = K.allocF32(batch * m * n);
        const pSplit = K.allocF32(batch * m * n);
        const args = {
          transA: ta, transB: tb, m, n, k, batch, a: pa, b: pb, generated: gen,
          epilogue: [{ ptr: col, stride: 0 }, { ptr: row, stride: 0 }],
        };
        const single = new ThreadPool(K, { threads: 1 });
        single.sgemm({ ...args, c: pOne });
        const before = pool.splitJobs;
        for (let rep = 0; rep < 5; rep++) {
          K.writeF32(pSplit, new Float32Array(batch * m * n).fill(NaN));
          pool.sgemm({ ...args, c: pSplit });
          expect(sameBits(K.readF32(pSplit, batch * m * n), K.readF32(pOne, batch * m * n)), `${m}x${n}x${k} batch ${batch} rep ${rep}`).toBe("");
        }
        expect(pool.splitJobs - before).toBe(5);
        for (const [p, len] of [[pa, batch * m * k], [pb, batch * k * n], [col, n], [row, m], [pOne, batch * m * n], [pSplit, batch * m * n]]) K.freeF32(p!, len!);
      }
    }, 60_000);
  }

  it("an empty C (batch 0, m 0 or n 0) is a no-op, even on null operand pointers", () => {
    const gen = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    const single = new ThreadPool(K, { threads: 1 });
    for (const p of [pool, single]) {
      for (const [batch, m, n, k] of [[0, 7, 1, 1], [3, 0, 5, 4], [2, 6, 0, 3]] as const) {
        expect(() => p.sgemm({ batch, m, n, k, a: 0, b: 0, c: 0, generated: gen, epilogue: [] })).not.toThrow();
        expect(() => p.sgemm({ batch, m, n, k, a: 0, b: 0, c: 0 })).not.toThrow();
      }
    }
  });

  it("checks a generated GEMM's arguments before any worker runs", () => {
    const gen = compileGemm([{ op: "add", operand: { kind: "col" } }], { memory: K.memory, packers: K.raw, relaxedSimd: false });
    const p = K.allocF32(64);
    expect(() => pool.sgemm({ m: 8, n: 8, k: 8, a: p, b: p, c: p, generated: gen, epilogue: [] })).toThrow(/takes 1 vector operands, got 0/);
    expect(() => pool.sgemm({ m: 8, n: 8, k: 8, a: p, b: p, c: p, generated: gen, epilogue: [{ ptr: 2, stride: 0 }] })).toThrow(/not a valid pointer/);
    expect(() => pool.sgemm({ m: 8, n: 8, k: 8, a: p, b: p, c: p, beta: 1, generated: gen, epilogue: [{ ptr: p, stride: 0 }] })).toThrow(/alpha = 1 and beta = 0/);
    K.freeF32(p, 64);
  });
});
