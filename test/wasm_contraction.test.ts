// dot_general and conv_general_dilated on wasm beyond the float32 GEMM/conv
// kernels — integer operands (wrapping int32 arithmetic), float16 storage,
// 1-D and 3-D convs, batch- and feature-grouped convs, padding, base and
// window dilation — run as fused sum-reduction kernels (plan/contraction.ts)
// or, for float16 matmuls, the float32 GEMM with a rounding read: never a host
// step, and equal to the interpreter (bit for bit for integers).

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, np, setDefaultBackend, type DType, type Tracer } from "../src/index";
import { rng } from "./rng";
import { interpreterValues } from "./interpreter_oracle";

/** A random array of `shape`: integers in [lo, hi] for integer dtypes, multiples of 1/8 for floats. */
function randomArray(shape: number[], dtype: DType, lo: number, hi: number, seed: number): TfArray {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const isFloat = dtype === "float32" || dtype === "float16";
  const values = Array.from({ length: n }, () => (isFloat ? Math.round((lo + (hi - lo) * r()) * 8) / 8 : Math.floor(lo + (hi - lo + 1) * r())));
  const data = dtype === "int32" ? new Int32Array(values) : dtype === "uint32" ? new Uint32Array(values) : new Float32Array(values);
  return np.array(data, { dtype }).reshape(shape) as TfArray;
}

/** jit(f) on wasm: no host step, and the interpreter's values (within `tol` relative to the largest, 0: exactly). */
function expectLikeInterpreter(f: (...xs: Tracer[]) => Tracer, args: TfArray[], tol = 0): void {
  expect(jit(f).lower(...args).text()).not.toContain("HOST FALLBACK");
  const got = Array.from((jit(f)(...args) as Tracer).dataSync() as ArrayLike<number>);
  const want = interpreterValues(f, args);
  expect(got.length).toBe(want.length);
  if (tol === 0) {
    expect(got).toEqual(want);
    return;
  }
  const scale = Math.max(1, ...want.map(Math.abs));
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * scale));
}

describe("integer and float16 dot_general on wasm", () => {
  it("int32 matmul wraps as the interpreter's (products and sums past 2^31)", () => {
    const a = randomArray([5, 7], "int32", -2_000_000_000, 2_000_000_000, 1);
    const b = randomArray([7, 3], "int32", -2_000_000_000, 2_000_000_000, 2);
    expectLikeInterpreter((x, y) => np.matmul(x, y), [a, b]);
  });

  it("uint32 batched dot with transposed contraction, and int32 accumulated to float32", () => {
    const a = randomArray([2, 3, 4, 5], "uint32", 0, 4_000_000_000, 3);
    const b = randomArray([2, 5, 4, 6], "uint32", 0, 4_000_000_000, 4);
    expectLikeInterpreter((x, y) => lax.dotGeneral(x, y, [[[2, 3], [2, 1]], [[0], [0]]]), [a, b]);
    const c = randomArray([6, 9], "int32", -50, 50, 5);
    const d = randomArray([9, 4], "int32", -50, 50, 6);
    expectLikeInterpreter((x, y) => lax.dotGeneral(x, y, [[[1], [0]], [[], []]], { preferredElementType: "float32" }), [c, d]);
  });

  it("an empty contraction gives zeros", () => {
    const a = randomArray([3, 0], "int32", -5, 5, 7);
    const b = randomArray([0, 2], "int32", -5, 5, 8);
    expectLikeInterpreter((x, y) => np.matmul(x, y), [a, b]);
  });

  it("float16 matmuls, to float16 and to float32, small and narrow (the transposed GEMM)", () => {
    for (const [m, k, n] of [[3, 5, 4], [130, 40, 3]]) {
      const a = randomArray([m, k], "float16", -3, 3, 9);
      const b = randomArray([k, n], "float16", -3, 3, 10);
      expectLikeInterpreter((x, y) => np.matmul(x, y), [a, b], 1e-3);
      expectLikeInterpreter((x, y) => lax.dotGeneral(x, y, [[[1], [0]], [[], []]], { preferredElementType: "float32" }), [a, b], 1e-6);
    }
  });
});

describe("conv_general_dilated beyond the float32 2-D kernel on wasm", () => {
  it("int32 1-D conv with padding, strides, base and window dilation, bit for bit", () => {
    const x = randomArray([2, 3, 11], "int32", -1000, 1000, 11);
    const w = randomArray([4, 3, 3], "int32", -1000, 1000, 12);
    const f = (a: Tracer, b: Tracer) => lax.convGeneralDilated(a, b, [2], [[2, -1]], { lhsDilation: [2], rhsDilation: [2] });
    expectLikeInterpreter(f, [x, w]);
  });

  it("float32 3-D conv with feature groups and an NDHWC layout", () => {
    const x = randomArray([1, 4, 5, 6, 4], "float32", -2, 2, 13);
    const w = randomArray([2, 2, 3, 2, 6], "float32", -2, 2, 14);
    const f = (a: Tracer, b: Tracer) =>
      lax.convGeneralDilated(a, b, [1, 2, 1], "SAME", { dimensionNumbers: ["NDHWC", "DHWIO", "NDHWC"], featureGroupCount: 2 });
    expectLikeInterpreter(f, [x, w], 1e-6);
  });

  it("float32 2-D conv with batch groups (the weight gradient of a grouped conv)", () => {
    const x = randomArray([4, 3, 6, 6], "float32", -2, 2, 15);
    const w = randomArray([6, 3, 2, 2], "float32", -2, 2, 16);
    expectLikeInterpreter((a: Tracer, b: Tracer) => lax.convGeneralDilated(a, b, [1, 1], [[1, 0], [0, 1]], { batchGroupCount: 2 }), [x, w], 1e-6);
  });

  it("float16 2-D conv, rounded to half once", () => {
    const x = randomArray([2, 3, 7, 5], "float16", -2, 2, 17);
    const w = randomArray([4, 3, 3, 2], "float16", -2, 2, 18);
    expectLikeInterpreter((a: Tracer, b: Tracer) => lax.convGeneralDilated(a, b, [1, 1], "VALID"), [x, w], 1e-3);
  });
});
