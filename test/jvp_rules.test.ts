// Tests of the jvp and transpose rules of the first-order primitives: for
// every differentiable primitive (bound directly, with representative params)
// the jvp is compared to central finite differences taken in float64 on the
// host, and the vjp to the jvp (<u, J v> = <J^T u, v>), which exercises the
// transpose rule of every linear primitive the jvp rules emit. Hand-checked
// cases cover the tricky rules: max/min ties, pow at 0, reduce_prod with
// zeros, sort/top_k gradients, max-pool gradients, scatter with repeated
// indices, and non-differentiable outputs.

import { describe, expect, it } from "vitest";
import { Array, grad, jvp, makeJaxpr, vjp, type Tracer } from "../src/index";
import type { ConvDimensionNumbers, GatherDimensionNumbers, ParamsOf, Primitive, ScatterDimensionNumbers } from "../src/core/primitives";
import { bind, bind1 } from "../src/core/trace";
import { firstOrderJvpRules } from "../transforms/rules/jvp";
import { firstOrderTransposeRules } from "../transforms/rules/transpose";
import { UndefinedPrimal, backwardPass } from "../transforms/transpose";
import { instantiate } from "../transforms/tangents";
import { checkGrads, distinct, f32, i32, rng, uniform, type CheckOptions, type Fn } from "./ad_check";

const p1 = <P extends Primitive>(prim: P, params: ParamsOf<P>) => (...xs: Tracer[]) => bind1(prim, xs, params);
const list = (x: Tracer) => globalThis.Array.from((x as Array).dataSync());
const near = (got: number[], want: number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `index ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))));
};

interface Case {
  name: string;
  f: Fn;
  inputs: (rand: () => number) => Array[];
  opts?: CheckOptions;
}

const U = (shape: number[], lo = -1, hi = 1) => (rand: () => number) => uniform(rand, shape, lo, hi);
const one = (shape: number[], lo = -1, hi = 1): Case["inputs"] => (r) => [U(shape, lo, hi)(r)];
const two = (a: (r: () => number) => Array, b: (r: () => number) => Array): Case["inputs"] => (r) => [a(r), b(r)];

// --- elementwise ---------------------------------------------------------------------

const unaryCases: Case[] = [
  { name: "neg", f: p1("neg", {}), inputs: one([2, 3]) },
  { name: "abs", f: p1("abs", {}), inputs: (r) => [distinct(r, [2, 3])] },
  { name: "exp", f: p1("exp", {}), inputs: one([2, 3]) },
  { name: "log", f: p1("log", {}), inputs: one([2, 3], 0.5, 2) },
  { name: "log1p", f: p1("log1p", {}), inputs: one([5], -0.5, 2) },
  { name: "expm1", f: p1("expm1", {}), inputs: one([5]) },
  { name: "sqrt", f: p1("sqrt", {}), inputs: one([5], 0.5, 2) },
  { name: "rsqrt", f: p1("rsqrt", {}), inputs: one([5], 0.5, 2) },
  { name: "logistic", f: p1("logistic", {}), inputs: one([5], -3, 3) },
  { name: "erf", f: p1("erf", {}), inputs: one([5], -2, 2) },
  { name: "erf_inv", f: p1("erf_inv", {}), inputs: one([5], -0.8, 0.8) },
  { name: "sin", f: p1("sin", {}), inputs: one([5], -3, 3) },
  { name: "cos", f: p1("cos", {}), inputs: one([5], -3, 3) },
  { name: "tan", f: p1("tan", {}), inputs: one([5], -1, 1) },
  { name: "asin", f: p1("asin", {}), inputs: one([5], -0.8, 0.8) },
  { name: "acos", f: p1("acos", {}), inputs: one([5], -0.8, 0.8) },
  { name: "atan", f: p1("atan", {}), inputs: one([5], -3, 3) },
  { name: "sinh", f: p1("sinh", {}), inputs: one([5], -2, 2) },
  { name: "cosh", f: p1("cosh", {}), inputs: one([5], -2, 2) },
  { name: "tanh", f: p1("tanh", {}), inputs: one([5], -2, 2) },
  { name: "asinh", f: p1("asinh", {}), inputs: one([5], -2, 2) },
  { name: "acosh", f: p1("acosh", {}), inputs: one([5], 1.2, 3) },
  { name: "atanh", f: p1("atanh", {}), inputs: one([5], -0.8, 0.8) },
  { name: "integer_pow y=3", f: p1("integer_pow", { y: 3 }), inputs: one([5], -2, 2) },
  { name: "integer_pow y=-2", f: p1("integer_pow", { y: -2 }), inputs: one([5], 0.5, 2) },
  { name: "integer_pow y=1", f: p1("integer_pow", { y: 1 }), inputs: one([5]) },
  { name: "integer_pow y=0", f: p1("integer_pow", { y: 0 }), inputs: one([5]) },
];

const binaryCases: Case[] = [
  { name: "add", f: p1("add", {}), inputs: two(U([2, 3]), U([2, 3])) },
  { name: "sub", f: p1("sub", {}), inputs: two(U([2, 3]), U([2, 3])) },
  { name: "mul", f: p1("mul", {}), inputs: two(U([2, 3]), U([2, 3])) },
  { name: "div", f: p1("div", {}), inputs: two(U([2, 3]), U([2, 3], 0.5, 2)) },
  { name: "rem", f: p1("rem", {}), inputs: two(U([4], 2.2, 2.8), U([4], 1.0, 1.05)) },
  { name: "pow", f: p1("pow", {}), inputs: two(U([4], 0.5, 2), U([4], -2, 2)) },
  { name: "max", f: p1("max", {}), inputs: (r) => { const d = distinct(r, [6]); return [d, f32([6], list(d).map((v, i) => v + (i % 2 ? 0.3 : -0.3)))]; } },
  { name: "min", f: p1("min", {}), inputs: (r) => { const d = distinct(r, [6]); return [d, f32([6], list(d).map((v, i) => v + (i % 2 ? 0.3 : -0.3)))]; } },
  { name: "atan2", f: p1("atan2", {}), inputs: two(U([5], 0.3, 1), U([5], -1, 1)) },
];

const otherElementwise: Case[] = [
  {
    name: "select_n (bool)",
    f: (a, b) => bind1("select_n", [Array.fromTyped(Uint8Array.from([1, 0, 1, 1]), [4], "bool"), a, b], {}),
    inputs: two(U([4]), U([4])),
  },
  {
    name: "select_n (int, 3 cases)",
    f: (a, b, c) => bind1("select_n", [i32([4], [2, 0, 1, 2]), a, b, c], {}),
    inputs: (r) => [U([4])(r), U([4])(r), U([4])(r)],
  },
  {
    name: "clamp (array bounds)",
    f: p1("clamp", {}),
    inputs: () => [f32([4], [0, 0, 0, 0.9]), f32([4], [-0.5, 0.5, 1.5, 0.3]), f32([4], [1, 1, 1, 0.2])],
  },
  {
    name: "clamp (scalar bounds)",
    f: p1("clamp", {}),
    inputs: () => [f32([], [0]), f32([4], [-0.5, 0.5, 1.5, 0.7]), f32([], [1])],
  },
];

// --- reductions --------------------------------------------------------------------------

const reductionCases: Case[] = [
  { name: "reduce_sum axes [0,2]", f: p1("reduce_sum", { axes: [0, 2] }), inputs: one([2, 3, 4]) },
  { name: "reduce_max axes [1]", f: p1("reduce_max", { axes: [1] }), inputs: (r) => [distinct(r, [3, 4])] },
  { name: "reduce_min axes [0,1]", f: p1("reduce_min", { axes: [0, 1] }), inputs: (r) => [distinct(r, [3, 2])] },
  { name: "reduce_prod axes [1]", f: p1("reduce_prod", { axes: [1] }), inputs: one([3, 4], 0.5, 1.5) },
  { name: "reduce_prod axes [0,2]", f: p1("reduce_prod", { axes: [0, 2] }), inputs: one([2, 2, 3], -1.5, 1.5) },
  { name: "cumsum", f: p1("cumsum", { axis: 1, reverse: false }), inputs: one([2, 5]) },
  { name: "cumsum reverse", f: p1("cumsum", { axis: 0, reverse: true }), inputs: one([4, 2]) },
  { name: "cumprod", f: p1("cumprod", { axis: 1, reverse: false }), inputs: one([2, 6], -1.5, 1.5) },
  { name: "cumprod reverse", f: p1("cumprod", { axis: 0, reverse: true }), inputs: one([5, 2], 0.5, 1.5) },
  { name: "cummax", f: p1("cummax", { axis: 1, reverse: false }), inputs: (r) => [distinct(r, [2, 6])] },
  { name: "cummin reverse", f: p1("cummin", { axis: 0, reverse: true }), inputs: (r) => [distinct(r, [6, 2])] },
];

// --- shape ops ---------------------------------------------------------------------------

const shapeCases: Case[] = [
  { name: "broadcast_in_dim (new dims)", f: p1("broadcast_in_dim", { shape: [2, 3, 4], broadcastDimensions: [1] }), inputs: one([3]) },
  { name: "broadcast_in_dim (size-1 expansion)", f: p1("broadcast_in_dim", { shape: [3, 4], broadcastDimensions: [0, 1] }), inputs: one([3, 1]) },
  { name: "reshape", f: p1("reshape", { newSizes: [3, 2, 2] }), inputs: one([4, 3]) },
  { name: "transpose", f: p1("transpose", { permutation: [2, 0, 1] }), inputs: one([2, 3, 4]) },
  { name: "squeeze", f: p1("squeeze", { dimensions: [0, 2] }), inputs: one([1, 3, 1]) },
  { name: "expand_dims", f: p1("expand_dims", { dimensions: [0, 2] }), inputs: one([3, 2]) },
  { name: "rev", f: p1("rev", { dimensions: [1] }), inputs: one([2, 4]) },
  { name: "slice (strided)", f: p1("slice", { startIndices: [1, 0], limitIndices: [4, 5], strides: [2, 3] }), inputs: one([5, 6]) },
  { name: "slice", f: p1("slice", { startIndices: [0, 2], limitIndices: [2, 4], strides: null }), inputs: one([3, 5]) },
  {
    name: "dynamic_slice",
    f: (x) => bind1("dynamic_slice", [x, i32([], [1]), i32([], [5])], { sliceSizes: [2, 2] }),
    inputs: one([4, 4]),
  },
  {
    name: "dynamic_update_slice",
    f: (x, u) => bind1("dynamic_update_slice", [x, u, i32([], [2]), i32([], [1])], {}),
    inputs: two(U([4, 4]), U([2, 3])),
  },
  {
    name: "pad (interior, negative lo)",
    f: p1("pad", { paddingConfig: [[1, 2, 1], [-1, 1, 0]] }),
    inputs: two(U([3, 4]), U([])),
  },
  { name: "concatenate", f: p1("concatenate", { dimension: 1 }), inputs: (r) => [U([2, 1])(r), U([2, 3])(r), U([2, 2])(r)] },
];

// --- indexing ----------------------------------------------------------------------------

const gdn = (p: Partial<GatherDimensionNumbers>): GatherDimensionNumbers => ({
  offsetDims: [], collapsedSliceDims: [], startIndexMap: [], operandBatchingDims: [], startIndicesBatchingDims: [], ...p,
});
const sdn = (p: Partial<ScatterDimensionNumbers>): ScatterDimensionNumbers => ({
  updateWindowDims: [], insertedWindowDims: [], scatterDimsToOperandDims: [], operandBatchingDims: [], scatterIndicesBatchingDims: [], ...p,
});
const rowsIdx = i32([4, 1], [2, 0, 2, 3]);

const indexingCases: Case[] = [
  {
    name: "gather rows (repeated indices, clip)",
    f: (x) => bind1("gather", [x, rowsIdx], { dimensionNumbers: gdn({ offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }), sliceSizes: [1, 3], mode: "clip", fillValue: null }),
    inputs: one([4, 3]),
  },
  {
    name: "gather windows (fill mode, out of bounds)",
    f: (x) =>
      bind1("gather", [x, i32([3, 2], [0, 1, 2, 2, 3, 0])], {
        dimensionNumbers: gdn({ offsetDims: [1, 2], startIndexMap: [0, 1] }),
        sliceSizes: [2, 2],
        mode: "fill",
        fillValue: 5,
      }),
    inputs: one([4, 3]),
  },
  {
    name: "scatter_add (repeated indices)",
    f: (x, u) => bind1("scatter_add", [x, rowsIdx, u], { dimensionNumbers: sdn({ updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "clip" }),
    inputs: two(U([4, 3]), U([4, 3])),
  },
  {
    name: "scatter (repeated indices)",
    f: (x, u) => bind1("scatter", [x, rowsIdx, u], { dimensionNumbers: sdn({ updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "clip" }),
    inputs: two(U([4, 3]), U([4, 3])),
  },
  {
    name: "scatter (fill mode, out of bounds dropped)",
    f: (x, u) => bind1("scatter", [x, i32([3, 1], [1, 7, 3]), u], { dimensionNumbers: sdn({ updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "fill" }),
    inputs: two(U([5]), U([3])),
  },
];

// --- dot / conv / windows ----------------------------------------------------------------

const dot = (dn: ParamsOf<"dot_general">["dimensionNumbers"]) => p1("dot_general", { dimensionNumbers: dn, preferredElementType: null });

const linalgCases: Case[] = [
  { name: "dot_general matmul", f: dot([[[1], [0]], [[], []]]), inputs: two(U([2, 3]), U([3, 4])) },
  { name: "dot_general contract lhs dim 0 with rhs dim 1", f: dot([[[0], [1]], [[], []]]), inputs: two(U([3, 2]), U([4, 3])) },
  { name: "dot_general batch dims + two contracting dims", f: dot([[[3, 1], [0, 2]], [[2], [3]]]), inputs: two(U([2, 3, 5, 4]), U([4, 2, 3, 5])) },
  { name: "dot_general vector inner", f: dot([[[0], [0]], [[], []]]), inputs: two(U([5]), U([5])) },
];

function conv(opts: Partial<ParamsOf<"conv_general_dilated">> & { nsp: number; dn?: ConvDimensionNumbers }): Fn {
  const nsp = opts.nsp;
  const ones = globalThis.Array(nsp).fill(1);
  const identity = [0, 1, ...globalThis.Array.from({ length: nsp }, (_, i) => i + 2)];
  return p1("conv_general_dilated", {
    windowStrides: opts.windowStrides ?? ones,
    padding: opts.padding ?? ones.map((): [number, number] => [0, 0]),
    lhsDilation: opts.lhsDilation ?? ones,
    rhsDilation: opts.rhsDilation ?? ones,
    dimensionNumbers: opts.dn ?? { lhsSpec: identity, rhsSpec: identity, outSpec: identity },
    featureGroupCount: opts.featureGroupCount ?? 1,
    batchGroupCount: opts.batchGroupCount ?? 1,
    preferredElementType: null,
  });
}
const NHWC: ConvDimensionNumbers = { lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2] }; // rhs HWIO

const convCases: Case[] = [
  { name: "conv 1d", f: conv({ nsp: 1 }), inputs: two(U([2, 3, 7]), U([4, 3, 3])) },
  { name: "conv 2d stride 2 + padding", f: conv({ nsp: 2, windowStrides: [2, 2], padding: [[1, 1], [2, 0]] }), inputs: two(U([1, 2, 6, 5]), U([3, 2, 3, 2])) },
  { name: "conv 2d stride 3 (uneven) + negative padding", f: conv({ nsp: 2, windowStrides: [3, 2], padding: [[-1, 1], [0, 1]] }), inputs: two(U([2, 1, 8, 6]), U([2, 1, 2, 3])) },
  { name: "conv 2d lhs + rhs dilation", f: conv({ nsp: 2, lhsDilation: [2, 1], rhsDilation: [1, 2], padding: [[1, 0], [0, 1]] }), inputs: two(U([1, 2, 4, 6]), U([2, 2, 2, 2])) },
  { name: "conv 2d NHWC / HWIO", f: conv({ nsp: 2, dn: NHWC, windowStrides: [1, 2], padding: [[1, 1], [0, 0]] }), inputs: two(U([2, 5, 4, 3]), U([2, 2, 3, 4])) },
  { name: "conv featureGroupCount 2", f: conv({ nsp: 1, featureGroupCount: 2, windowStrides: [2] }), inputs: two(U([2, 4, 7]), U([6, 2, 3])) },
  { name: "conv depthwise (featureGroupCount = C)", f: conv({ nsp: 2, featureGroupCount: 3, padding: [[1, 1], [1, 1]] }), inputs: two(U([1, 3, 4, 4]), U([3, 1, 3, 3])) },
  { name: "conv batchGroupCount 2", f: conv({ nsp: 1, batchGroupCount: 2, padding: [[1, 0]] }), inputs: two(U([4, 3, 6]), U([4, 3, 2])) },
  { name: "conv batchGroupCount 2, NHWC, stride", f: conv({ nsp: 2, dn: NHWC, batchGroupCount: 2, windowStrides: [2, 1] }), inputs: two(U([2, 5, 3, 2]), U([2, 2, 2, 4])) },
];

const rw = (w: number[], o: Partial<ParamsOf<"reduce_window_sum">> = {}): ParamsOf<"reduce_window_sum"> => ({
  windowDimensions: w,
  windowStrides: o.windowStrides ?? w.map(() => 1),
  padding: o.padding ?? w.map((): [number, number] => [0, 0]),
  baseDilation: o.baseDilation ?? w.map(() => 1),
  windowDilation: o.windowDilation ?? w.map(() => 1),
});

const windowCases: Case[] = [
  { name: "reduce_window_sum", f: p1("reduce_window_sum", rw([2, 3])), inputs: one([4, 5]) },
  { name: "reduce_window_sum stride + padding", f: p1("reduce_window_sum", rw([2, 2], { windowStrides: [2, 3], padding: [[1, 0], [1, 2]] })), inputs: one([5, 6]) },
  { name: "reduce_window_sum dilations + negative padding", f: p1("reduce_window_sum", rw([2, 2], { baseDilation: [2, 1], windowDilation: [1, 2], padding: [[-1, 1], [0, 0]] })), inputs: one([4, 5]) },
  { name: "reduce_window_max (max pool 2x2 / 2)", f: p1("reduce_window_max", rw([1, 2, 2], { windowStrides: [1, 2, 2] })), inputs: (r) => [distinct(r, [2, 4, 4])] },
  { name: "reduce_window_max overlapping + padding", f: p1("reduce_window_max", rw([3, 2], { padding: [[1, 1], [0, 1]] })), inputs: (r) => [distinct(r, [4, 3])] },
  { name: "reduce_window_max base dilation", f: p1("reduce_window_max", rw([3], { baseDilation: [2], windowStrides: [2] })), inputs: (r) => [distinct(r, [5])] },
  { name: "reduce_window_min stride", f: p1("reduce_window_min", rw([2, 2], { windowStrides: [1, 2] })), inputs: (r) => [distinct(r, [3, 4])] },
  {
    name: "select_and_scatter_add (source linear)",
    f: (s) => bind1("select_and_scatter_add", [s, distinct(rng(5), [4, 4])], { selectPrim: "ge", windowDimensions: [2, 2], windowStrides: [2, 2], padding: [[0, 0], [0, 0]] }),
    inputs: one([2, 2]),
  },
  {
    name: "select_and_gather_add (tangents linear)",
    f: (t) => bind1("select_and_gather_add", [t, distinct(rng(6), [4, 5])], { selectPrim: "le", ...rw([2, 3], { windowStrides: [2, 1], padding: [[0, 0], [1, 1]] }) }),
    inputs: one([4, 5]),
  },
];

const sortCases: Case[] = [
  { name: "sort", f: p1("sort", { dimension: 1, isStable: true, numKeys: 1 }), inputs: (r) => [distinct(r, [2, 5])] },
  {
    name: "sort two operands by the first",
    f: (k, v) => bind("sort", [k, v], { dimension: 0, isStable: true, numKeys: 1 }),
    inputs: (r) => [distinct(r, [4, 2]), uniform(r, [4, 2])],
  },
  { name: "top_k", f: (x) => bind("top_k", [x], { k: 3 })[0], inputs: (r) => [distinct(r, [2, 5])] },
];

const groups: [string, Case[]][] = [
  ["unary elementwise", unaryCases],
  ["binary elementwise", binaryCases],
  ["select_n / clamp", otherElementwise],
  ["reductions and scans", reductionCases],
  ["shape ops", shapeCases],
  ["gather / scatter", indexingCases],
  ["dot_general", linalgCases],
  ["conv_general_dilated", convCases],
  ["windows", windowCases],
  ["sort / top_k", sortCases],
];

describe.each(groups)("jvp vs finite differences and vjp vs jvp: %s", (_g, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const rand = rng(42);
    const xs = c.inputs(rand);
    checkGrads(c.f, xs, { label: c.name, ...c.opts });
  });
});

// --- transpose rules, directly ------------------------------------------------------------------

/**
 * For a function linear in all its inputs, the transpose rules applied by
 * backwardPass to its jaxpr must give the adjoint: <u, f(v)> = <f^T(u), v>.
 * This runs each transpose rule on the primitive itself, including rules
 * (like scatter's) that the jvp rules never put on the tangent side.
 */
function checkAdjoint(f: Fn, shapes: number[][], seed = 7): void {
  const rand = rng(seed);
  const vs = shapes.map((s) => uniform(rand, s));
  const closed = makeJaxpr((...a: Tracer[]) => f(...a))(...vs);
  const outs = [f(...vs)].flat();
  const us = outs.map((o) => uniform(rand, o.shape));
  const cts = backwardPass(closed.jaxpr, closed.consts, vs.map((v) => new UndefinedPrimal(v.aval)), us).map((c) => instantiate(c!));
  const dot = (a: Tracer[], b: Tracer[]) => a.reduce((acc, x, i) => acc + list(x).reduce((s2, v, k) => s2 + v * list(b[i])[k], 0), 0);
  const lhs = dot(us, outs);
  const rhs = dot(cts, vs);
  expect(Math.abs(lhs - rhs), `<u, f v> = ${lhs} but <f^T u, v> = ${rhs}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(lhs)));
}

const known = (shape: number[], seed = 3) => uniform(rng(seed), shape);
/** A stack of two 3×3 matrices with a dominant diagonal, for triangular solves. */
const wellConditioned = bind1("add", [known([2, 3, 3], 5), Array.fromTyped(Float32Array.from({ length: 18 }, (_, i) => (i % 9) % 4 === 0 ? 3 : 0), [2, 3, 3], "float32")], {});
const adjointCases: [string, Fn, number[][]][] = [
  ["add", p1("add", {}), [[3], [3]]],
  ["sub", p1("sub", {}), [[3], [3]]],
  ["neg", p1("neg", {}), [[2, 2]]],
  ["mul by a known value", (x) => bind1("mul", [known([3]), x], {}), [[3]]],
  ["div by a known value", (x) => bind1("div", [x, uniform(rng(9), [3], 0.5, 2)], {}), [[3]]],
  ["convert_element_type f32 -> f32 (weak)", p1("convert_element_type", { newDtype: "float32", weakType: true }), [[3]]],
  ["reduce_sum", p1("reduce_sum", { axes: [1] }), [[2, 3]]],
  ["broadcast_in_dim", p1("broadcast_in_dim", { shape: [2, 3, 4], broadcastDimensions: [0, 2] }), [[2, 1]]],
  ["reshape", p1("reshape", { newSizes: [6] }), [[2, 3]]],
  ["transpose", p1("transpose", { permutation: [1, 2, 0] }), [[2, 3, 4]]],
  ["squeeze", p1("squeeze", { dimensions: [1] }), [[2, 1, 3]]],
  ["expand_dims", p1("expand_dims", { dimensions: [2] }), [[2, 3]]],
  ["rev", p1("rev", { dimensions: [0, 1] }), [[2, 3]]],
  ["slice", p1("slice", { startIndices: [1, 1], limitIndices: [3, 5], strides: [1, 2] }), [[4, 5]]],
  ["pad", p1("pad", { paddingConfig: [[-1, 2, 2], [1, -1, 0]] }), [[3, 3], []]],
  ["concatenate", p1("concatenate", { dimension: 0 }), [[1, 2], [3, 2]]],
  ["dynamic_slice", (x) => bind1("dynamic_slice", [x, i32([], [2]), i32([], [0])], { sliceSizes: [2, 2] }), [[3, 3]]],
  ["dynamic_update_slice", (x, u) => bind1("dynamic_update_slice", [x, u, i32([], [1]), i32([], [9])], {}), [[3, 3], [2, 2]]],
  ["gather", (x) => bind1("gather", [x, rowsIdx], { dimensionNumbers: gdn({ offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }), sliceSizes: [1, 2], mode: "clip", fillValue: null }), [[4, 2]]],
  ["scatter_add", (x, u) => bind1("scatter_add", [x, rowsIdx, u], { dimensionNumbers: sdn({ updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "clip" }), [[4, 2], [4, 2]]],
  ["scatter (repeated indices)", (x, u) => bind1("scatter", [x, rowsIdx, u], { dimensionNumbers: sdn({ updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "clip" }), [[4, 2], [4, 2]]],
  ["scatter (fill mode)", (x, u) => bind1("scatter", [x, i32([3, 1], [4, -1, 0]), u], { dimensionNumbers: sdn({ insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "fill" }), [[4], [3]]],
  ["dot_general, lhs linear", (x) => bind1("dot_general", [x, known([4, 3, 2])], { dimensionNumbers: [[[1], [1]], [[0], [2]]], preferredElementType: null }), [[2, 3, 5]]],
  ["dot_general, rhs linear", (y) => bind1("dot_general", [known([2, 3, 5]), y], { dimensionNumbers: [[[1], [1]], [[0], [2]]], preferredElementType: null }), [[4, 3, 2]]],
  ["conv_general_dilated, lhs linear (groups, stride, padding, dilation)", (x) => conv({ nsp: 1, featureGroupCount: 2, windowStrides: [2], padding: [[1, 2]], lhsDilation: [2], rhsDilation: [2] })(x, known([4, 2, 2])) as Tracer, [[2, 4, 5]]],
  ["conv_general_dilated, rhs linear (batch groups)", (w) => conv({ nsp: 1, batchGroupCount: 2, windowStrides: [2], padding: [[0, 1]] })(known([4, 3, 6]), w) as Tracer, [[4, 3, 2]]],
  ["reduce_window_sum", p1("reduce_window_sum", rw([2, 2], { windowStrides: [2, 1], padding: [[1, 1], [-1, 0]], baseDilation: [1, 2], windowDilation: [2, 1] })), [[4, 3]]],
  ["select_and_gather_add", (t) => bind1("select_and_gather_add", [t, distinct(rng(1), [4, 4])], { selectPrim: "ge", ...rw([2, 2], { windowStrides: [2, 2] }) }), [[4, 4]]],
  ["select_and_scatter_add", (s) => bind1("select_and_scatter_add", [s, distinct(rng(1), [4, 4])], { selectPrim: "le", windowDimensions: [3, 2], windowStrides: [1, 2], padding: [[1, 1], [0, 0]] }), [[4, 2]]],
  ["cumsum", p1("cumsum", { axis: 1, reverse: true }), [[2, 4]]],
  ["select_n (known selector)", (a, b) => bind1("select_n", [Array.fromTyped(Uint8Array.from([1, 0, 0]), [3], "bool"), a, b], {}), [[3], [3]]],
  ["triangular_solve (b linear, left side, stacked)", (b) => bind1("triangular_solve", [wellConditioned, b], { leftSide: true, lower: true, transposeA: false, unitDiagonal: false }), [[2, 3, 2]]],
  ["triangular_solve (b linear, right side, transposed a)", (b) => bind1("triangular_solve", [wellConditioned, b], { leftSide: false, lower: false, transposeA: true, unitDiagonal: true }), [[2, 4, 3]]],
];

describe("transpose rules are adjoints (backwardPass on the primitive's own jaxpr)", () => {
  it.each(adjointCases)("%s", (_n, f, shapes) => checkAdjoint(f, shapes));

  it("covers every primitive that has a transpose rule", () => {
    const covered = new Set(adjointCases.map(([n]) => n.split(/[ ,]/)[0]));
    const missing = Object.entries(firstOrderTransposeRules).filter(([k, r]) => r !== null && !covered.has(k)).map(([k]) => k);
    expect(missing).toEqual([]);
  });
});

// --- rule tables ---------------------------------------------------------------------------

describe("rule tables", () => {
  it("have a jvp rule for every first-order primitive and transpose rules for the linear ones", () => {
    const linear = Object.entries(firstOrderTransposeRules).filter(([, r]) => r !== null).map(([k]) => k).sort();
    expect(linear).toEqual(
      [
        "add", "broadcast_in_dim", "concatenate", "conv_general_dilated", "convert_element_type", "cumsum", "div", "dot_general",
        "dynamic_slice", "dynamic_update_slice", "expand_dims", "gather", "mul", "neg", "pad", "reduce_sum", "reduce_window_sum",
        "reshape", "rev", "scatter", "scatter_add", "select_and_gather_add", "select_and_scatter_add", "select_n", "slice",
        "squeeze", "sub", "transpose", "triangular_solve",
      ].sort(),
    );
    expect(Object.keys(firstOrderJvpRules).length).toBe(Object.keys(firstOrderTransposeRules).length);
    for (const rule of Object.values(firstOrderJvpRules)) expect(typeof rule).toBe("function");
  });
});

// --- hand-checked cases ------------------------------------------------------------------------

describe("hand-checked derivatives", () => {
  it("max/min split the tangent half and half at ties (as JAX)", () => {
    const x = f32([3], [1, 2, 3]);
    const y = f32([3], [1, 5, 0]);
    const [gx, gy] = grad((a: Tracer, b: Tracer) => bind1("reduce_sum", [bind1("max", [a, b], {})], { axes: [0] }), { argnums: [0, 1] })(x, y);
    near(list(gx), [0.5, 0, 1]);
    near(list(gy), [0.5, 1, 0]);
    const [gmx, gmy] = grad((a: Tracer, b: Tracer) => bind1("reduce_sum", [bind1("min", [a, b], {})], { axes: [0] }), { argnums: [0, 1] })(x, y);
    near(list(gmx), [0.5, 1, 0]);
    near(list(gmy), [0.5, 0, 1]);
    // max(x, x) = x: the two halves add up to 1
    near(list(grad((a: Tracer) => bind1("reduce_sum", [bind1("max", [a, a], {})], { axes: [0] }))(x)), [1, 1, 1]);
  });

  it("reduce_max averages the tangent over tied maxima", () => {
    const x = f32([2, 3], [1, 3, 3, 2, 0, -1]);
    const g = grad((a: Tracer) => bind1("reduce_sum", [bind1("reduce_max", [a], { axes: [1] })], { axes: [0] }))(x);
    near(list(g), [0, 0.5, 0.5, 1, 0, 0]);
  });

  it("pow at x = 0: d/dx 0^2 = 0, d/dx 0^0 = 0 and d/dy 0^y = 0 (no NaN)", () => {
    const pw = (a: Tracer, b: Tracer) => bind1("reduce_sum", [bind1("pow", [a, b], {})], { axes: [0] });
    const [gx, gy] = grad(pw, { argnums: [0, 1] })(f32([3], [0, 0, 2]), f32([3], [2, 0, 3]));
    near(list(gx), [0, 0, 12]);
    near(list(gy), [0, 0, 8 * Math.log(2)]);
  });

  it("reduce_prod and cumprod are exact with zeros", () => {
    const x = f32([4], [2, 0, 3, 5]);
    const g = grad((a: Tracer) => bind1("reduce_prod", [a], { axes: [0] }))(x);
    near(list(g), [0, 30, 0, 0]);
    const x2 = f32([3], [0, 0, 4]);
    near(list(grad((a: Tracer) => bind1("reduce_prod", [a], { axes: [0] }))(x2)), [0, 0, 0]);
    // cumprod: [2, 0, 0, 0]; d/dx of the sum of it
    const gc = grad((a: Tracer) => bind1("reduce_sum", [bind1("cumprod", [a], { axis: 0, reverse: false })], { axes: [0] }))(x);
    // d/dx0 = 1 + x1 + x1 x2 + x1 x2 x3 = 1; d/dx1 = x0 + x0 x2 + x0 x2 x3 = 2 + 6 + 30; d/dx2 = d/dx3 = 0
    near(list(gc), [1, 38, 0, 0]);
  });

  it("sort's gradient routes each cotangent back to the element's original position", () => {
    const x = f32([4], [3, 1, 4, 2]);
    const w = f32([4], [10, 20, 30, 40]);
    const g = grad((a: Tracer) => bind1("reduce_sum", [bind1("mul", [bind1("sort", [a], { dimension: 0, isStable: true, numKeys: 1 }), w], {})], { axes: [0] }))(x);
    // sorted = [1, 2, 3, 4] = x[1], x[3], x[0], x[2]
    near(list(g), [30, 10, 40, 20]);
  });

  it("top_k's gradient lands on the selected entries", () => {
    const x = f32([2, 4], [5, 1, 7, 3, 0, 9, 8, 2]);
    const g = grad((a: Tracer) => bind1("reduce_sum", [bind("top_k", [a], { k: 2 })[0]], { axes: [0, 1] }))(x);
    near(list(g), [1, 0, 1, 0, 0, 1, 1, 0]);
  });

  it("max-pool's gradient puts each cotangent at its window's argmax (select_and_scatter_add)", () => {
    const x = f32([1, 4, 4], [1, 2, 5, 3, 4, 0, 1, 1, 9, 8, 2, 7, 6, 7, 3, 6]);
    const pool = (a: Tracer) => bind1("reduce_window_max", [a], rw([1, 2, 2], { windowStrides: [1, 2, 2] }));
    const ct = f32([1, 2, 2], [1, 2, 3, 4]);
    const [, pb] = vjp(pool, x);
    const [g] = pb(ct);
    near(list(g), [0, 0, 2, 0, 1, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0]);
    expect(String(makeJaxpr((a: Tracer) => pb(a)[0])(ct))).toContain("select_and_scatter_add");
    // overlapping windows accumulate
    const y = f32([3], [0, 5, 1]);
    const g2 = grad((a: Tracer) => bind1("reduce_sum", [bind1("reduce_window_max", [a], rw([2]))], { axes: [0] }))(y);
    near(list(g2), [0, 2, 0]);
  });

  it("scatter with repeated indices: only the update that lands gets a gradient", () => {
    const x = f32([3], [1, 2, 3]);
    const u = f32([3], [10, 20, 30]);
    const idx = i32([3, 1], [1, 1, 2]);
    const s = (a: Tracer, b: Tracer) =>
      bind1("scatter", [a, idx, b], { dimensionNumbers: sdn({ insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "clip" });
    const out = s(x, u);
    // the interpreter applies updates in order: the last write to a position wins
    near(list(out), [1, 20, 30]);
    const [, pb] = vjp(s, x, u);
    const [gx, gu] = pb(f32([3], [1, 1, 1]));
    near(list(gx), [1, 0, 0]);
    near(list(gu), [0, 1, 1]);
  });

  it("non-differentiable outputs have zero tangents", () => {
    const x = f32([4], [-1.5, 0.2, 2.7, 3]);
    const v = f32([4], [1, 1, 1, 1]);
    for (const prim of ["sign", "floor", "ceil", "round", "stop_gradient"] as const) {
      const [, t] = jvp((a: Tracer) => bind1(prim, [a], {}), [x], [v]);
      near(list(t as Tracer), [0, 0, 0, 0]);
    }
    const [, targ] = jvp((a: Tracer) => bind1("argmax", [a], { axis: 0, indexDtype: "int32" }), [x], [v]);
    expect((targ as Tracer).dtype).toBe("int32");
    expect(list(targ as Tracer)).toEqual([0]);
    const [, tcmp] = jvp((a: Tracer) => bind1("lt", [a, f32([4], [0, 0, 0, 0])], {}), [x], [v]);
    expect((tcmp as Tracer).dtype).toBe("bool");
    // stop_gradient blocks reverse mode too
    near(list(grad((a: Tracer) => bind1("reduce_sum", [bind1("mul", [a, bind1("stop_gradient", [a], {})], {})], { axes: [0] }))(x)), list(x));
  });

  it("convert_element_type: float -> float carries the tangent, float -> int gives zero", () => {
    const x = f32([3], [0.5, 1.25, -2]);
    const v = f32([3], [1, 2, 3]);
    const [, t16] = jvp((a: Tracer) => bind1("convert_element_type", [a], { newDtype: "float16", weakType: false }), [x], [v]);
    expect((t16 as Tracer).dtype).toBe("float16");
    near(list(t16 as Tracer), [1, 2, 3]);
    const [, ti] = jvp((a: Tracer) => bind1("convert_element_type", [a], { newDtype: "int32", weakType: false }), [x], [v]);
    expect(list(ti as Tracer)).toEqual([0, 0, 0]);
    // reverse through f32 -> f16 -> f32
    const g = grad((a: Tracer) =>
      bind1("reduce_sum", [bind1("convert_element_type", [bind1("mul", [bind1("convert_element_type", [a], { newDtype: "float16", weakType: false }), bind1("convert_element_type", [a], { newDtype: "float16", weakType: false })], {})], { newDtype: "float32", weakType: false })], { axes: [0] }),
    )(x);
    near(list(g), [1, 2.5, -4], 1e-3);
  });

  it("cummax takes the tangent of the latest position attaining the running max", () => {
    const x = f32([5], [1, 3, 2, 3, 5]);
    const [, t] = jvp((a: Tracer) => bind1("cummax", [a], { axis: 0, reverse: false }), [x], [f32([5], [10, 20, 30, 40, 50])]);
    near(list(t as Tracer), [10, 20, 20, 40, 50]);
  });

  it("jvp of a function of an integer input treats it as constant", () => {
    const idx = i32([2], [1, 0]);
    const x = f32([2], [3, 4]);
    const [, t] = jvp((a: Tracer, i: Tracer) => bind1("mul", [a, bind1("convert_element_type", [i], { newDtype: "float32", weakType: false })], {}), [x, idx], [f32([2], [1, 1]), idx]);
    near(list(t as Tracer), [1, 0]);
  });
});
