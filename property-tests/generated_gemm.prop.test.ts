// Properties of the GEMM generated at run time (src/backends/wasm/codegen/gemm.ts)
// on random problems: sizes 0..~70 (k up to 600, across the 256-deep K blocks),
// every transpose combination, padded leading dimensions, and a random
// epilogue (up to 4 ops of add/sub/rsub/mul/div/rdiv/max/min/relu on constants,
// row and column vectors).
// 1. Without relaxed SIMD, the generated GEMM equals the Rust sgemm followed by
//    the epilogue ops in float32, bitwise.
// 2. With relaxed_madd (turned on here with the V8 flag Node 20 needs), the
//    product before the epilogue is within a rounding bound of a float64 reference.
// 3. jit(relu(x @ W + b) * s) on the wasm backend, where the lowering folds
//    the epilogue into the GEMM, equals the interpreter.
// 4. Batched matmuls of any small shape, eager and jitted, with either operand
//    transposed, n = 1 (the GEMV path) and optional bias + relu, equal the
//    interpreter (the dispatch of program.ts: calling-thread path, GEMV swap,
//    column blocks and row splits for the larger ones).
// NUM_RUNS (default 20) sets the runs per property.
import v8 from "node:v8";
import fc from "fast-check";
import { beforeAll, describe, it } from "vitest";
import { compileGemm, type EpilogueOp, type EpilogueOpKind } from "../src/backends/wasm/codegen/gemm";
import { SGEMM_SKINNY_M, instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { Array as TfArray, defaultBackendName, jit, nn, np, setDefaultBackend } from "../src/index";
import { expectAllclose } from "../src/testing";
import { epilogueReference, randomFloats } from "../test/float_bits";
import { rng } from "../test/rng";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

let K: WasmKernels;
beforeAll(() => {
  K = instantiateWasmKernels();
});

const BINARY: EpilogueOpKind[] = ["add", "sub", "rsub", "mul", "div", "rdiv", "max", "min"];
const arbOp: fc.Arbitrary<EpilogueOp> = fc.oneof(
  fc.constant<EpilogueOp>({ op: "relu", operand: { kind: "none" } }),
  fc.record({
    op: fc.constantFrom(...BINARY),
    operand: fc.oneof(
      fc.constantFrom({ kind: "col" as const }, { kind: "row" as const }),
      fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }).map((value) => ({ kind: "const" as const, value })),
    ),
  }),
);

const arbProblem = fc.record({
  m: fc.integer({ min: 0, max: 70 }),
  n: fc.integer({ min: 0, max: 70 }),
  k: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 250, max: 600 })),
  transA: fc.boolean(),
  transB: fc.boolean(),
  pad: fc.integer({ min: 0, max: 5 }),
  ops: fc.array(arbOp, { maxLength: 4 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});
type Problem = typeof arbProblem extends fc.Arbitrary<infer P> ? P : never;

const data = (n: number, seed: number): Float32Array => randomFloats(rng(seed), n);


/** Runs problem `p` through the generated GEMM; returns [C from it, C from the Rust sgemm, ldc, vectors, float64 product]. */
function run(p: Problem, relaxed: boolean) {
  const { m, n, k } = p;
  // The Rust reference gets extra rows of op(A) (ignored) so it runs its packed
  // path, which the generated GEMM shares, rather than the unpacked skinny one.
  const mm = Math.max(m, SGEMM_SKINNY_M + 1);
  const [aRows, aCols] = p.transA ? [k, mm] : [mm, k];
  const [bRows, bCols] = p.transB ? [n, k] : [k, n];
  const lda = Math.max(1, aCols + p.pad), ldb = Math.max(1, bCols + p.pad), ldc = Math.max(1, n + p.pad);
  const a = data(Math.max(1, aRows * lda), p.seed);
  const b = data(Math.max(1, bRows * ldb), p.seed + 1);
  const vecs = p.ops.filter((o) => o.operand.kind === "col" || o.operand.kind === "row")
    .map((o, i) => data(Math.max(1, o.operand.kind === "col" ? n : m), p.seed + 2 + i).map((v) => v + 1));
  const gen = compileGemm(p.ops, { memory: K.memory, packers: K.raw, relaxedSimd: relaxed });
  const pa = K.putF32(a), pb = K.putF32(b);
  const cLen = Math.max(1, m * ldc);
  const pc = K.putF32(new Float32Array(cLen).fill(NaN)), pr = K.putF32(new Float32Array(mm * ldc).fill(NaN));
  const pv = vecs.map((v) => K.putF32(v));
  const scratchBytes = gen.scratchBytes(m, n, k);
  const scratch = K.alloc(scratchBytes);
  gen.gemmRows(p.transA ? 1 : 0, p.transB ? 1 : 0, m, n, k, pa, lda, pb, ldb, pc, ldc, 0, m, scratch, ...pv);
  K.sgemm({ transA: p.transA, transB: p.transB, m: mm, n, k, a: pa, lda, b: pb, ldb, c: pr, ldc });
  const got = K.readF32(pc, cLen), rust = K.readF32(pr, cLen);
  K.free(scratch, scratchBytes);
  for (const [ptr, len] of [[pa, a.length], [pb, b.length], [pc, cLen], [pr, mm * ldc], ...pv.map((q, i) => [q, vecs[i]!.length])]) K.freeF32(ptr!, len!);
  const A = (i: number, q: number) => (p.transA ? a[q * lda + i]! : a[i * lda + q]!);
  const B = (q: number, j: number) => (p.transB ? b[j * ldb + q]! : b[q * ldb + j]!);
  return { got, rust, ldc, vecs, A, B };
}

/** The epilogue of `ops` applied in float32 to x at (i, j). */
function epilogue(ops: readonly EpilogueOp[], vecs: Float32Array[], x: number, i: number, j: number): number {
  let vi = 0;
  for (const { op, operand: o } of ops) {
    const v = o.kind === "const" ? Math.fround(o.value) : o.kind === "col" ? vecs[vi++]![j]! : o.kind === "row" ? vecs[vi++]![i]! : 0;
    x = epilogueReference(op, x, v);
  }
  return x;
}

describe("generated GEMM properties", () => {
  it("without relaxed SIMD: equals the Rust sgemm and then the epilogue in float32, bitwise", () => {
    fc.assert(
      fc.property(arbProblem, (p) => {
        const { got, rust, ldc, vecs } = run(p, false);
        for (let i = 0; i < p.m; i++) {
          for (let j = 0; j < p.n; j++) {
            const want = epilogue(p.ops, vecs, rust[i * ldc + j]!, i, j);
            const g = got[i * ldc + j]!;
            if (!Object.is(g, want) && !(Number.isNaN(g) && Number.isNaN(want))) {
              throw new Error(`(${i}, ${j}): generated ${g}, Rust + epilogue ${want}`);
            }
          }
        }
        for (let i = 0; i < p.m; i++) for (let j = p.n; j < ldc; j++) if (!Number.isNaN(got[i * ldc + j]!)) throw new Error(`padding (${i}, ${j}) was written`);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("with relaxed_madd: the product is within rounding of float64", () => {
    fc.assert(
      fc.property(arbProblem.map((p) => ({ ...p, ops: [] })), (p) => {
        const { got, ldc, A, B } = run(p, true);
        for (let i = 0; i < p.m; i++) {
          for (let j = 0; j < p.n; j++) {
            let s = 0, abs = 0;
            for (let q = 0; q < p.k; q++) {
              s += A(i, q) * B(q, j);
              abs += Math.abs(A(i, q) * B(q, j));
            }
            const bound = 2 * (p.k + 2) * 2 ** -24 * abs + 1e-30;
            if (!(Math.abs(got[i * ldc + j]! - s) <= bound)) throw new Error(`(${i}, ${j}): ${got[i * ldc + j]} vs ${s} ± ${bound}`);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("jit of a dense layer with a folded epilogue equals the interpreter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }),
        fc.float({ min: -3, max: 3, noNaN: true }), fc.integer({ min: 1, max: 2 ** 30 }),
        (m, n, k, s, seed) => {
          const arr = (shape: number[], off: number) => TfArray.fromTyped(data(shape.reduce((x, y) => x * y, 1), seed + off), shape, "float32", { backend: "wasm" });
          const x = arr([m, k], 0), w = arr([k, n], 1), b = arr([n], 2);
          const layer = (x: TfArray, w: TfArray, b: TfArray) => nn.relu(np.dot(x, w).add(b)).mul(s);
          const got = jit(layer)(x, w, b) as TfArray;
          const prev = defaultBackendName();
          setDefaultBackend("interpreter");
          let want: TfArray;
          try {
            want = layer(x.to("interpreter"), w.to("interpreter"), b.to("interpreter")) as TfArray;
          } finally {
            setDefaultBackend(prev);
          }
          expectAllclose(got, want, { atol: 1e-5 * Math.max(1, Math.abs(s)) * Math.sqrt(k), rtol: 1e-5 });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("batched matmuls of any small shape (GEMV, transposed operands, bias + relu), eager and jitted, equal the interpreter", () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 1, max: 40 }),
          n: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 })),
          k: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 250, max: 300 })),
          transA: fc.boolean(),
          transB: fc.boolean(),
          dense: fc.boolean(),
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
        }),
        ({ batch, m, n, k, transA, transB, dense, seed }) => {
          const arr = (shape: number[], off: number) => TfArray.fromTyped(data(shape.reduce((x, y) => x * y, 1), seed + off), shape, "float32", { backend: "wasm" });
          const swap = (t: TfArray) => np.swapaxes(t, -1, -2);
          const a = arr(transA ? [batch, k, m] : [batch, m, k], 0);
          const b = arr(transB ? [batch, n, k] : [batch, k, n], 1);
          const bias = arr([n], 2);
          const f = (a: TfArray, b: TfArray, bias: TfArray) => {
            const y = np.matmul(transA ? swap(a) : a, transB ? swap(b) : b);
            return dense ? nn.relu(y.add(bias)) : y;
          };
          const prev = defaultBackendName();
          setDefaultBackend("interpreter");
          let want: TfArray;
          try {
            want = f(a.to("interpreter"), b.to("interpreter"), bias.to("interpreter")) as TfArray;
          } finally {
            setDefaultBackend(prev);
          }
          const tol = { atol: 1e-5 * Math.sqrt(Math.max(1, k)), rtol: 1e-5 };
          expectAllclose(f(a, b, bias) as TfArray, want, tol);
          expectAllclose(jit(f)(a, b, bias) as TfArray, want, tol);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
