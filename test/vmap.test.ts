// Unit tests of vmap: for every first-order primitive, vmap(f) over hand-picked
// params equals stacking f over slices (stackOfSlices), for every combination
// of batched axes (first, last, unbatched) of its arguments and several output
// axes; then the vmap API itself: inAxes/outAxes trees, negative axes, nested
// vmap, axisSize, composition with jit, and the errors of bad input.

import { describe, expect, it } from "vitest";
import { ArgumentError, AxisError, ShapeError, grad, jacfwd, jacrev, jit, lax, makeJaxpr, np, vmap } from "../src/index";
import type { Array as TfArray, Tracer } from "../src/index";
import { bind1 } from "../src/core/trace";
import { isHigherOrder, type FirstOrderPrimitive, type Primitive } from "../src/core/primitives";
import { shapeRules } from "../src/core/shape_rules";
import { type ArgSpec, type Axis, type PrimCase, checkPrimCase, describeCase, expectSameArray, randomArray, rng, stackOfSlices } from "./vmap_oracle";

const f32 = (shape: number[], lo?: number, hi?: number): ArgSpec => ({ shape, dtype: "float32", lo, hi });
const i32 = (shape: number[], lo?: number, hi?: number): ArgSpec => ({ shape, dtype: "int32", lo, hi });
const u32 = (shape: number[], lo?: number, hi?: number): ArgSpec => ({ shape, dtype: "uint32", lo, hi });
const bool = (shape: number[]): ArgSpec => ({ shape, dtype: "bool" });
const c = (prim: FirstOrderPrimitive, params: Record<string, unknown>, ...args: ArgSpec[]): PrimCase => ({ prim, params, args });

const UNARY_F32: FirstOrderPrimitive[] = [
  "neg", "sign", "floor", "ceil", "round", "is_finite", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt",
  "logistic", "erf", "erf_inv", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "atanh",
  "stop_gradient",
];
const BINARY_F32: FirstOrderPrimitive[] = ["add", "sub", "mul", "div", "max", "min", "atan2", "eq", "ne", "lt", "le", "gt", "ge"];

const rw = (windowDimensions: number[], windowStrides: number[], padding: [number, number][], baseDilation: number[], windowDilation: number[]) => ({
  windowDimensions, windowStrides, padding, baseDilation, windowDilation,
});
const gdn = (offsetDims: number[], collapsedSliceDims: number[], startIndexMap: number[], operandBatchingDims: number[] = [], startIndicesBatchingDims: number[] = []) => ({
  offsetDims, collapsedSliceDims, startIndexMap, operandBatchingDims, startIndicesBatchingDims,
});
const sdn = (updateWindowDims: number[], insertedWindowDims: number[], scatterDimsToOperandDims: number[], operandBatchingDims: number[] = [], scatterIndicesBatchingDims: number[] = []) => ({
  updateWindowDims, insertedWindowDims, scatterDimsToOperandDims, operandBatchingDims, scatterIndicesBatchingDims,
});
const convParams = (o: {
  strides: number[]; padding: [number, number][]; lhsDil?: number[]; rhsDil?: number[];
  specs: [number[], number[], number[]]; G?: number; BG?: number;
}) => ({
  windowStrides: o.strides,
  padding: o.padding,
  lhsDilation: o.lhsDil ?? o.strides.map(() => 1),
  rhsDilation: o.rhsDil ?? o.strides.map(() => 1),
  dimensionNumbers: { lhsSpec: o.specs[0], rhsSpec: o.specs[1], outSpec: o.specs[2] },
  featureGroupCount: o.G ?? 1,
  batchGroupCount: o.BG ?? 1,
  preferredElementType: null,
});
const NCW: [number[], number[], number[]] = [[0, 1, 2], [0, 1, 2], [0, 1, 2]];

/** Hand-picked cases: every first-order primitive but iota (which has no operands) appears. */
const CASES: PrimCase[] = [
  ...UNARY_F32.map((p) => c(p, {}, f32([2, 3], -0.9, 0.9))),
  c("acosh", {}, f32([2, 3], 1.1, 3)),
  c("integer_pow", { y: 3 }, f32([2, 3])),
  c("integer_pow", { y: -2 }, f32([3], 0.5, 2)),
  c("not", {}, bool([2, 3])),
  c("not", {}, i32([4])),
  c("abs", {}, i32([2, 2])),
  ...BINARY_F32.map((p) => c(p, {}, f32([2, 3]), f32([2, 3]))),
  c("add", {}, f32([]), f32([])),
  c("rem", {}, i32([2, 3], -9, 9), i32([2, 3], 1, 4)),
  c("rem", {}, f32([3], -3, 3), f32([3], 0.5, 2)),
  c("pow", {}, f32([2, 3], 0.5, 2), f32([2, 3])),
  c("and", {}, bool([2, 3]), bool([2, 3])),
  c("or", {}, i32([3], 0, 15), i32([3], 0, 15)),
  c("xor", {}, bool([4]), bool([4])),
  c("shift_left", {}, i32([2, 2], -8, 8), i32([2, 2], 0, 33)),
  c("shift_right_logical", {}, u32([3], 0, 1000), u32([3], 0, 12)),
  c("select_n", {}, bool([2, 3]), f32([2, 3]), f32([2, 3])),
  c("select_n", {}, bool([]), f32([2, 3]), f32([2, 3])),
  c("select_n", {}, i32([], 0, 2), i32([3]), i32([3]), i32([3])),
  c("select_n", {}, i32([2], 0, 1), f32([2]), f32([2])),
  c("clamp", {}, f32([]), f32([2, 3]), f32([])),
  c("clamp", {}, f32([2, 3], -2, 0), f32([2, 3]), f32([2, 3], 0, 2)),
  c("clamp", {}, f32([]), f32([]), f32([])),
  c("convert_element_type", { newDtype: "int32", weakType: false }, f32([2, 3], -5, 5)),
  c("convert_element_type", { newDtype: "float32", weakType: false }, bool([3])),
  c("bitcast_convert_type", { newDtype: "int32" }, f32([2, 2])),
  c("bitcast_convert_type", { newDtype: "float32" }, u32([3], 0, 1 << 30)),
  c("reduce_sum", { axes: [1] }, f32([2, 3, 4])),
  c("reduce_sum", { axes: [0, 2] }, f32([2, 3, 4])),
  c("reduce_max", { axes: [0] }, f32([3, 2])),
  c("reduce_min", { axes: [] }, f32([3, 2])),
  c("reduce_prod", { axes: [1] }, f32([2, 3])),
  c("reduce_and", { axes: [0, 1] }, bool([2, 3])),
  c("reduce_or", { axes: [1] }, bool([2, 3])),
  c("argmax", { axis: 1, indexDtype: "int32" }, i32([3, 4], 0, 2)),
  c("argmin", { axis: 0, indexDtype: "int32" }, f32([3, 4])),
  c("cumsum", { axis: 1, reverse: false }, f32([2, 4])),
  c("cumprod", { axis: 0, reverse: true }, f32([3, 2])),
  c("cummax", { axis: 0, reverse: false }, i32([4])),
  c("cummin", { axis: 1, reverse: true }, f32([2, 3])),
  c("broadcast_in_dim", { shape: [2, 3], broadcastDimensions: [1] }, f32([3])),
  c("broadcast_in_dim", { shape: [3, 4, 2], broadcastDimensions: [0, 1] }, f32([3, 1])),
  c("broadcast_in_dim", { shape: [2, 2], broadcastDimensions: [] }, f32([])),
  c("reshape", { newSizes: [3, 4] }, f32([2, 3, 2])),
  c("reshape", { newSizes: [1, 1] }, f32([])),
  c("transpose", { permutation: [2, 0, 1] }, f32([2, 3, 4])),
  c("squeeze", { dimensions: [1, 3] }, f32([2, 1, 3, 1])),
  c("expand_dims", { dimensions: [0, 3] }, f32([2, 3])),
  c("expand_dims", { dimensions: [1] }, f32([2])),
  c("rev", { dimensions: [0, 2] }, f32([2, 3, 4])),
  c("slice", { startIndices: [1, 0], limitIndices: [4, 6], strides: [2, 3] }, f32([5, 6])),
  c("slice", { startIndices: [1], limitIndices: [3], strides: null }, f32([4])),
  c("dynamic_slice", { sliceSizes: [2, 3] }, f32([5, 4]), i32([], -1, 6), i32([], -1, 6)),
  c("dynamic_update_slice", {}, f32([5, 4]), f32([2, 3]), i32([], -1, 6), i32([], -1, 6)),
  c("pad", { paddingConfig: [[1, 2, 0], [-1, 1, 2]] }, f32([3, 4]), f32([])),
  c("pad", { paddingConfig: [[0, 1, 1]] }, bool([3]), bool([])),
  c("concatenate", { dimension: 1 }, f32([2, 3]), f32([2, 1]), f32([2, 2])),
  c("concatenate", { dimension: 0 }, i32([1]), i32([2])),
  // gather: rows of a matrix (take), clip and fill
  c("gather", { dimensionNumbers: gdn([1], [0], [0]), sliceSizes: [1, 3], mode: "clip", fillValue: null }, f32([5, 3]), i32([4, 1], -1, 6)),
  c("gather", { dimensionNumbers: gdn([1], [0], [0]), sliceSizes: [1, 3], mode: "fill", fillValue: null }, f32([5, 3]), i32([4, 1], -1, 6)),
  // gather: 2-d windows from 2-d starts, index batch rank 2
  c("gather", { dimensionNumbers: gdn([2, 3], [], [1, 0]), sliceSizes: [2, 2], mode: "clip", fillValue: null }, f32([4, 5]), i32([2, 3, 2], 0, 4)),
  // gather with batching dims already (take_along_axis)
  c("gather", { dimensionNumbers: gdn([], [1], [1], [0], [0]), sliceSizes: [1, 1], mode: "fill", fillValue: -1 }, f32([3, 4]), i32([3, 2, 1], 0, 4)),
  c("scatter", { dimensionNumbers: sdn([1], [0], [0]), mode: "fill" }, f32([5, 3]), i32([4, 1], -1, 5), f32([4, 3])),
  c("scatter_add", { dimensionNumbers: sdn([1], [0], [0]), mode: "clip" }, f32([5, 3]), i32([4, 1], -1, 5), f32([4, 3])),
  c("scatter_add", { dimensionNumbers: sdn([], [1], [1], [0], [0]), mode: "fill" }, i32([3, 4]), i32([3, 2, 1], 0, 4), i32([3, 2])),
  c("scatter", { dimensionNumbers: sdn([0, 2], [], [0, 1]), mode: "clip" }, f32([4, 5]), i32([3, 2], 0, 4), f32([2, 3, 2])),
  c("dot_general", { dimensionNumbers: [[[1], [0]], [[], []]], preferredElementType: null }, f32([2, 3]), f32([3, 4])),
  c("dot_general", { dimensionNumbers: [[[2], [1]], [[0], [0]]], preferredElementType: null }, f32([2, 3, 4]), f32([2, 4, 5])),
  c("dot_general", { dimensionNumbers: [[[0], [0]], [[], []]], preferredElementType: null }, f32([3]), f32([3])),
  c("dot_general", { dimensionNumbers: [[[0, 2], [2, 0]], [[], []]], preferredElementType: null }, i32([2, 3, 4]), i32([4, 5, 2])),
  c("conv_general_dilated", convParams({ strides: [1], padding: [[1, 0]], specs: NCW }), f32([2, 3, 5]), f32([4, 3, 2])),
  c("conv_general_dilated", convParams({ strides: [2], padding: [[0, 1]], rhsDil: [2], specs: NCW, G: 2 }), f32([1, 4, 6]), f32([6, 2, 2])),
  c("conv_general_dilated", convParams({ strides: [1], padding: [[0, 0]], lhsDil: [2], specs: NCW, BG: 2 }), f32([4, 2, 4]), f32([6, 2, 2])),
  // NHWC / HWIO / NHWC
  c("conv_general_dilated", convParams({ strides: [1, 1], padding: [[1, 1], [0, 0]], specs: [[0, 3, 1, 2], [3, 2, 0, 1], [0, 3, 1, 2]] }), f32([1, 3, 4, 2]), f32([2, 2, 2, 3])),
  c("reduce_window_sum", rw([2, 3], [1, 2], [[0, 1], [1, 0]], [1, 1], [1, 1]), f32([4, 5])),
  c("reduce_window_max", rw([2, 2], [1, 1], [[1, 1], [0, 0]], [2, 1], [1, 2]), f32([3, 5])),
  c("reduce_window_min", rw([3], [2], [[1, 1]], [1], [1]), i32([6])),
  c("select_and_scatter_add", { selectPrim: "ge", windowDimensions: [2, 2], windowStrides: [2, 2], padding: [[0, 0], [0, 0]] }, f32([2, 2]), f32([4, 4])),
  c("select_and_scatter_add", { selectPrim: "le", windowDimensions: [3], windowStrides: [1], padding: [[1, 1]] }, f32([5]), f32([5])),
  c("select_and_gather_add", { selectPrim: "ge", ...rw([2, 2], [1, 2], [[0, 0], [1, 0]], [1, 1], [1, 1]) }, f32([4, 5]), f32([4, 5])),
  c("select_and_gather_add", { selectPrim: "le", ...rw([2], [1], [[0, 0]], [1], [2]) }, f32([5]), f32([5])),
  c("sort", { dimension: 1, isStable: true, numKeys: 1 }, f32([3, 4])),
  c("sort", { dimension: 0, isStable: true, numKeys: 1 }, i32([4, 2], 0, 2), f32([4, 2])),
  c("sort", { dimension: 0, isStable: true, numKeys: 2 }, i32([5], 0, 1), i32([5], 0, 2), f32([5])),
  c("top_k", { k: 2 }, f32([3, 5])),
  c("top_k", { k: 3 }, i32([5], 0, 3)),
  c("cholesky", {}, f32([2, 3, 3])),
  c("lu", {}, f32([3, 4])),
  c("qr", { fullMatrices: true }, f32([4, 3])),
  c("qr", { fullMatrices: false }, f32([2, 4, 3])),
  c("eigh", {}, f32([4, 4])),
  c("svd", { fullMatrices: true }, f32([3, 5])),
  c("svd", { fullMatrices: false }, f32([2, 4, 3])),
  c("triangular_solve", { leftSide: true, lower: true, transposeA: false, unitDiagonal: false }, f32([3, 3], 1, 2), f32([3, 2])),
  c("triangular_solve", { leftSide: false, lower: false, transposeA: true, unitDiagonal: true }, f32([2, 3, 3]), f32([2, 4, 3])),
  c("threefry2x32", {}, u32([3], 0, 4294967295), u32([3], 0, 4294967295), u32([3], 0, 4294967295), u32([3], 0, 4294967295)),
];

/** Candidate batch axes of an arg of rank r: first, last (after all dims), unbatched. */
function axisChoices(rank: number): Axis[] {
  return rank === 0 ? [0, null] : [0, rank, null];
}

/** In-axes combinations: the full product for up to 3 args, a selection beyond. */
function inAxesCombos(pc: PrimCase): Axis[][] {
  const ranks = pc.args.map((a) => a.shape.length);
  let combos: Axis[][] = [[]];
  if (ranks.length <= 3) {
    for (const r of ranks) combos = combos.flatMap((cmb) => axisChoices(r).map((a) => [...cmb, a]));
  } else {
    combos = [ranks.map(() => 0), ranks.map((r) => r)];
    ranks.forEach((_, i) => combos.push(ranks.map((r, j) => (i === j ? r : null))));
  }
  return combos.filter((cmb) => cmb.some((a) => a !== null));
}

describe("vmap of every first-order primitive equals stacking over slices", () => {
  it("covers every first-order primitive (iota separately)", () => {
    const covered = new Set(CASES.map((x) => x.prim));
    covered.add("iota");
    // Every first-order primitive: the keys of the shape-rule table, which the compiler keeps exhaustive.
    const all = (Object.keys(shapeRules) as Primitive[]).filter((p): p is FirstOrderPrimitive => !isHigherOrder(p));
    expect(all.filter((p) => !covered.has(p))).toEqual([]);
  });

  CASES.forEach((pc, k) => {
    it(`${k}: ${describeCase(pc)}`, () => {
      const combos = inAxesCombos(pc);
      const failures: string[] = [];
      combos.forEach((inAxes, n) => {
        const numOut = pc.prim === "sort" ? pc.args.length : (MULTI_OUTPUT[pc.prim as FirstOrderPrimitive] ?? 1);
        // alternate output axes: 0, then the last position
        const outAxes = n % 2 === 0 ? 0 : Array.from({ length: numOut }, () => -1);
        for (const b of [3, 1]) {
          const err = checkPrimCase(pc, inAxes, outAxes, b, 1000 + 17 * k + n);
          if (err !== null) failures.push(`inAxes ${JSON.stringify(inAxes)} outAxes ${JSON.stringify(outAxes)} B=${b}: ${err}`);
        }
      });
      expect(failures).toEqual([]);
    });
  });

  it("iota (no operands) inside a vmapped function", () => {
    const f = (x: Tracer) => lax.add(x, bind1("iota", [], { dtype: "float32", shape: [2, 3], dimension: 1 }));
    const xs = randomArray(rng(1), { shape: [4, 2, 3], dtype: "float32" });
    expectSameArray(vmap(f)(xs), stackOfSlices(f, [xs], [0]));
    const g = (x: Tracer) => lax.add(x, bind1("iota", [], { dtype: "int32", shape: [3], dimension: 0 }));
    const ys = randomArray(rng(2), { shape: [3, 4], dtype: "int32" });
    expectSameArray(vmap(g, { inAxes: 1, outAxes: 1 })(ys), stackOfSlices(g, [ys], [1], 1));
  });
});

/** Output counts of the primitives with more than one output (sort has one per operand). */
const MULTI_OUTPUT: Partial<Record<FirstOrderPrimitive, number>> = { top_k: 2, threefry2x32: 2, lu: 3, qr: 2, eigh: 2, svd: 3 };


// --- the API ----------------------------------------------------------------------------

const arr = (shape: number[], seed = 7, dtype: "float32" | "int32" = "float32") => randomArray(rng(seed), { shape, dtype });

describe("vmap API", () => {
  it("maps a numpy-level function with inAxes other than 0 and mixed null", () => {
    const f = (x: Tracer, w: Tracer, b: Tracer) => np.tanh(np.add(np.matmul(w, x), b));
    const xs = arr([3, 5], 1); // mapped over axis 1: x is [3]
    const w = arr([4, 3], 2);
    const bs = arr([4, 5], 3); // mapped over axis 1: b is [4]
    const got = vmap(f, { inAxes: [1, null, 1] })(xs, w, bs);
    expectSameArray(got, stackOfSlices(f, [xs, w, bs], [1, null, 1]));
    expect(got.shape).toEqual([5, 4]);
  });

  it("accepts negative inAxes and outAxes", () => {
    const f = (x: Tracer) => np.sum(x, 0);
    const xs = arr([3, 2, 4]);
    const got = vmap(f, { inAxes: -1, outAxes: -1 })(xs);
    expectSameArray(got, stackOfSlices(f, [xs], [2], 1));
    expect(got.shape).toEqual([2, 4]);
  });

  it("places outputs by outAxes, per output, with null for unmapped outputs", () => {
    const f = (x: Tracer, y: Tracer) => [np.multiply(x, 2), np.exp(y)];
    const xs = arr([2, 3, 4]);
    const y = arr([3, 4], 5);
    const [a, b] = vmap(f, { inAxes: [0, null], outAxes: [2, null] })(xs, y);
    expect(a.shape).toEqual([3, 4, 2]);
    expectSameArray([a, b], stackOfSlices(f, [xs, y], [0, null], [2, null]));
  });

  it("broadcasts an unmapped output when outAxes is a number", () => {
    const f = (_x: Tracer, y: Tracer) => np.exp(y);
    const xs = arr([3, 2]);
    const y = arr([2], 5);
    const got = vmap(f, { inAxes: [0, null], outAxes: 1 })(xs, y);
    expect(got.shape).toEqual([2, 3]);
    expectSameArray(got, stackOfSlices(f, [xs, y], [0, null], 1));
  });

  it("takes pytree inAxes and returns pytrees", () => {
    const f = (p: { w: Tracer; b: Tracer }, x: Tracer) => ({ y: np.add(np.matmul(p.w, x), p.b), n: np.sum(x) });
    const p = { w: arr([2, 3], 1), b: arr([2], 2) };
    const xs = arr([4, 3], 3);
    const got = vmap(f, { inAxes: [{ w: null, b: null }, 0] })(p, xs) as { y: TfArray; n: TfArray };
    const want = stackOfSlices((x: Tracer) => [np.add(np.matmul(p.w, x), p.b), np.sum(x)], [xs], [0]) as TfArray[];
    expectSameArray([got.y, got.n], want);
    const got2 = vmap(f, { inAxes: [null, 1] })(p, arr([3, 5], 4)) as { y: TfArray; n: TfArray };
    expect(got2.y.shape).toEqual([5, 2]);
  });

  it("nests: vmap(vmap(f)) over two axes equals the double loop", () => {
    const f = (x: Tracer, y: Tracer) => lax.dotGeneral(x, y, [[[0], [0]], [[], []]]);
    const xs = arr([2, 3, 4], 1); // outer over axis 0, inner over axis 1 (of the slice)
    const ys = arr([3, 4], 2); // outer unmapped, inner over axis 1
    const inner = vmap(f, { inAxes: [1, 1] });
    const outer = vmap(inner, { inAxes: [0, null], outAxes: 1 });
    const got = outer(xs, ys);
    const want = stackOfSlices((x: TfArray) => stackOfSlices(f, [x, ys], [1, 1]), [xs], [0], 1);
    expectSameArray(got, want);
    expect(got.shape).toEqual([4, 2]);
  });

  it("nests with the inner map over an axis the outer one batched", () => {
    const f = (x: Tracer) => np.cumsum(x, 0);
    const xs = arr([3, 4, 2]);
    const got = vmap(vmap(f, { inAxes: 1, outAxes: 1 }), { inAxes: 2, outAxes: 0 })(xs);
    const want = stackOfSlices((x: TfArray) => stackOfSlices(f, [x], [1], 1), [xs], [2], 0);
    expectSameArray(got, want);
  });

  it("axisSize with all-null inAxes replicates the output", () => {
    const f = (x: Tracer) => np.sin(x);
    const x = arr([2, 3]);
    const got = vmap(f, { inAxes: null, axisSize: 4 })(x);
    expect(got.shape).toEqual([4, 2, 3]);
    expectSameArray(got, stackOfSlices(f, [x], [null], 0, 4));
    const got1 = vmap(f, { inAxes: [null], axisSize: 2, outAxes: 2 })(x);
    expect(got1.shape).toEqual([2, 3, 2]);
  });

  it("axisSize must agree with the mapped axes", () => {
    const f = (x: Tracer) => np.sin(x);
    expectSameArray(vmap(f, { axisSize: 3 })(arr([3, 2])), stackOfSlices(f, [arr([3, 2])], [0]));
    expect(() => vmap(f, { axisSize: 4 })(arr([3, 2]))).toThrow(ShapeError);
  });

  it("maps over a size-1 and a size-0 axis", () => {
    const f = (x: Tracer) => np.multiply(np.sum(x, 0), 2);
    expectSameArray(vmap(f)(arr([1, 3])), stackOfSlices(f, [arr([1, 3])], [0]));
    const empty = vmap(f, { inAxes: 1, outAxes: 0 })(arr([3, 0]));
    expect(empty.shape).toEqual([0]);
  });

  it("lets JS numbers through as unmapped constants", () => {
    const f = (x: Tracer) => np.add(np.multiply(x, 3), 1);
    const xs = arr([4, 2]);
    expectSameArray(vmap(f)(xs), stackOfSlices(f, [xs], [0]));
  });

  it("composes with jit and makeJaxpr", () => {
    const f = (x: Tracer, y: Tracer) => np.sum(np.multiply(x, y), 1);
    const xs = arr([3, 2, 4], 1);
    const y = arr([2, 4], 2);
    const want = stackOfSlices(f, [xs, y], [0, null]);
    expectSameArray(jit(vmap(f, { inAxes: [0, null] }))(xs, y), want);
    expectSameArray(vmap(jit(f), { inAxes: [0, null] })(xs, y), want);
    const text = String(makeJaxpr(vmap(f, { inAxes: [0, null] }))(xs, y));
    expect(text).toContain("reduce_sum");
    expect(text).toContain("f32[3,2]");
  });

  it("composes with grad: vmap(grad(f)) equals the stacked gradients, batched indices included", () => {
    const f = (x: Tracer, i: Tracer) => {
      const pooled = lax.reduceWindow(x, -Infinity, "max", [2, 2], [1, 1]);
      const window = lax.dynamicSlice(x, [i, 1], [2, 3]);
      return np.add(np.add(np.sum(np.multiply(pooled, pooled)), np.sum(np.exp(window))), np.sum(lax.cumsum(x, 1)));
    };
    const g = grad(f);
    const xs = arr([3, 4, 5], 11);
    const is = randomArray(rng(12), { shape: [3], dtype: "int32", lo: 0, hi: 3 });
    expectSameArray(vmap(g)(xs, is), stackOfSlices(g, [xs, is], [0, 0]));
    const i0 = randomArray(rng(13), { shape: [], dtype: "int32", lo: 0, hi: 3 });
    const x2 = arr([4, 5, 2], 14);
    expectSameArray(vmap(g, { inAxes: [2, null], outAxes: 1 })(x2, i0), stackOfSlices(g, [x2, i0], [2, null], 1));
  });

  it("jacrev (vmap over cotangents) agrees with jacfwd (vmap over tangents)", () => {
    const f = (x: Tracer) => {
      const w = arr([3, 2, 2], 21); // OIW
      const y = lax.convGeneralDilated(np.reshape(x, [1, 2, 4]), w, [1], [[1, 0]]);
      return np.tanh(np.reshape(y, [-1]));
    };
    const x = arr([8], 22);
    const jf = jacfwd(f)(x) as TfArray;
    const jr = jacrev(f)(x) as TfArray;
    expect(jf.shape).toEqual([12, 8]);
    expectSameArray(jr, jf);
  });

  it("does not transpose for a batched reduction, transpose, broadcast or dot", () => {
    const prims = (f: (...a: any[]) => unknown, ...args: TfArray[]) => String(makeJaxpr(f)(...args));
    expect(prims(vmap((x: Tracer) => lax.reduceSum(x, [0]), { inAxes: 1 }), arr([3, 4]))).not.toContain("transpose");
    expect(prims(vmap((x: Tracer) => lax.broadcastInDim(x, [2, 3], [1]), { inAxes: 1, outAxes: 2 }), arr([3, 5]))).not.toContain("transpose");
    const dot = (x: Tracer, y: Tracer) => lax.dotGeneral(x, y, [[[1], [0]], [[], []]]);
    expect(prims(vmap(dot, { inAxes: [null, 1], outAxes: 1 }), arr([2, 3]), arr([3, 5, 4]))).not.toContain("transpose");
    expect(prims(vmap(dot, { inAxes: [0, null] }), arr([5, 2, 3]), arr([3, 4]))).not.toContain("transpose");
  });
});

describe("vmap errors", () => {
  const f2 = (x: Tracer, y: Tracer) => np.add(x, y);

  it("rejects an inAxes list of the wrong length", () => {
    expect(() => vmap(f2, { inAxes: [0] })(arr([2]), arr([2]))).toThrow(ArgumentError);
    expect(() => vmap(f2, { inAxes: [0] })(arr([2]), arr([2]))).toThrow(/inAxes has 1 entries but the function was called with 2 arguments/);
  });

  it("rejects out-of-range inAxes", () => {
    expect(() => vmap(np.sin, { inAxes: 2 })(arr([2, 3]))).toThrow(AxisError);
    expect(() => vmap(np.sin, { inAxes: 2 })(arr([2, 3]))).toThrow(/inAxes 2 is out of range for argument 0 of shape f32\[2,3\] \(rank 2\)/);
    expect(() => vmap(np.sin, { inAxes: -3 })(arr([2, 3]))).toThrow(AxisError);
    expect(() => vmap(np.sin)(np.array(1.5))).toThrow(AxisError);
  });

  it("rejects out-of-range outAxes", () => {
    expect(() => vmap(np.sin, { outAxes: 3 })(arr([2, 3]))).toThrow(AxisError);
    expect(() => vmap(np.sin, { outAxes: 3 })(arr([2, 3]))).toThrow(/outAxes 3 is out of range for an output of rank 1/);
  });

  it("rejects mapped axes of different sizes", () => {
    expect(() => vmap(f2)(arr([2, 3]), arr([3, 3]))).toThrow(ShapeError);
    expect(() => vmap(f2)(arr([2, 3]), arr([3, 3]))).toThrow(/mapped axes have different sizes/);
    expect(() => vmap(f2, { inAxes: [0, 1] })(arr([2, 3]), arr([2, 3]))).toThrow(/size 3 on axis 1, but another mapped axis \(or axisSize\) is 2/);
  });

  it("requires axisSize when no argument is mapped", () => {
    expect(() => vmap(np.sin, { inAxes: null })(arr([2]))).toThrow(ArgumentError);
    expect(() => vmap(np.sin, { inAxes: null })(arr([2]))).toThrow(/no argument is mapped.*axisSize/);
  });

  it("rejects outAxes null for an output that depends on mapped inputs", () => {
    expect(() => vmap(np.sin, { outAxes: null })(arr([2]))).toThrow(ArgumentError);
    expect(() => vmap(np.sin, { outAxes: null })(arr([2]))).toThrow(/outAxes is null for output 0/);
  });

  it("rejects an inAxes tree that does not match the arguments", () => {
    const g = (p: { a: Tracer }) => np.sin(p.a);
    expect(() => vmap(g, { inAxes: [{ b: 0 }] })({ a: arr([2]) })).toThrow(ArgumentError);
    expect(() => vmap(g, { inAxes: [{ b: 0 }] })({ a: arr([2]) })).toThrow(/has keys \{b\} but the value has \{a\}/);
  });

  it("reports shape errors of the mapped function as ShapeErrors naming the primitive", () => {
    const bad = (x: Tracer, y: Tracer) => lax.add(x, y);
    expect(() => vmap(bad, { inAxes: [0, null] })(arr([4, 2]), arr([3]))).toThrow(ShapeError);
    expect(() => vmap(bad, { inAxes: [0, null] })(arr([4, 2]), arr([3]))).toThrow(/^add: /);
  });
});
