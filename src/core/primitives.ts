// The primitive registry: every operation of the IR is declared here once,
// with the type of its params. Rule tables elsewhere (shape rules, the
// interpreter, jvp, transpose, vmap, lowering) are typed
// `{ [P in Primitive]: Rule<P> }`, so adding a primitive here is a compile
// error until every transformation covers it.

import type { DType } from "./dtype";
import type { ShapedArray } from "./aval";
import type { ClosedJaxpr, Jaxpr } from "./ir";

export interface GatherDimensionNumbers {
  /** Output dims that hold the slice (offset) dims, in order. */
  offsetDims: number[];
  /** Operand dims sliced to size 1 and dropped from the output. */
  collapsedSliceDims: number[];
  /** Maps index-vector position i to the operand dim it starts. */
  startIndexMap: number[];
  /** Operand dims that are batch dims matched one-to-one with startIndicesBatchingDims. */
  operandBatchingDims: number[];
  startIndicesBatchingDims: number[];
}

export interface ScatterDimensionNumbers {
  /** Update dims that index into the operand window. */
  updateWindowDims: number[];
  /** Operand dims of window size 1 not present in updates. */
  insertedWindowDims: number[];
  /** Maps index-vector position i to the operand dim it starts. */
  scatterDimsToOperandDims: number[];
  operandBatchingDims: number[];
  scatterIndicesBatchingDims: number[];
}

/** Gather/scatter out-of-bounds handling: clamp indices into range, or fill/drop. */
export type GatherMode = "clip" | "fill";

/** [[lhsContracting, rhsContracting], [lhsBatch, rhsBatch]], as in lax.dot_general. */
export type DotDimensionNumbers = [[number[], number[]], [number[], number[]]];

/** Each spec lists dims: [batch/outFeature, feature/inFeature, ...spatial]. */
export interface ConvDimensionNumbers {
  lhsSpec: number[]; // [N, C, ...spatial] positions in the lhs
  rhsSpec: number[]; // [O, I, ...spatial] positions in the rhs
  outSpec: number[]; // [N, C, ...spatial] positions in the output
}

export interface ReduceWindowParams {
  windowDimensions: number[];
  windowStrides: number[];
  padding: [number, number][];
  baseDilation: number[];
  windowDilation: number[];
}

type NoParams = Record<string, never>;
type Axes = { axes: number[] };
type CumParams = { axis: number; reverse: boolean };

export interface PrimitiveParamsMap {
  // --- unary elementwise ---
  neg: NoParams; sign: NoParams; floor: NoParams; ceil: NoParams; round: NoParams;
  is_finite: NoParams; abs: NoParams; not: NoParams;
  exp: NoParams; log: NoParams; log1p: NoParams; expm1: NoParams;
  sqrt: NoParams; rsqrt: NoParams; logistic: NoParams; erf: NoParams; erf_inv: NoParams;
  sin: NoParams; cos: NoParams; tan: NoParams; asin: NoParams; acos: NoParams; atan: NoParams;
  sinh: NoParams; cosh: NoParams; tanh: NoParams; asinh: NoParams; acosh: NoParams; atanh: NoParams;
  integer_pow: { y: number };
  // --- binary elementwise (same shapes and dtypes; broadcasting is done above the IR) ---
  add: NoParams; sub: NoParams; mul: NoParams; div: NoParams; rem: NoParams; pow: NoParams;
  max: NoParams; min: NoParams; atan2: NoParams;
  and: NoParams; or: NoParams; xor: NoParams;
  eq: NoParams; ne: NoParams; lt: NoParams; le: NoParams; gt: NoParams; ge: NoParams;
  shift_left: NoParams; shift_right_logical: NoParams;
  /** select_n(which, ...cases): which is bool (2 cases) or int32; picks cases[which]. */
  select_n: NoParams;
  clamp: NoParams; // clamp(lo, x, hi)
  // --- dtype ---
  convert_element_type: { newDtype: DType; weakType: boolean };
  bitcast_convert_type: { newDtype: DType };
  // --- reductions ---
  reduce_sum: Axes; reduce_max: Axes; reduce_min: Axes; reduce_prod: Axes; reduce_and: Axes; reduce_or: Axes;
  argmax: { axis: number; indexDtype: DType };
  argmin: { axis: number; indexDtype: DType };
  cumsum: CumParams; cumprod: CumParams; cummax: CumParams; cummin: CumParams;
  // --- shape ---
  broadcast_in_dim: { shape: number[]; broadcastDimensions: number[] };
  reshape: { newSizes: number[] };
  transpose: { permutation: number[] };
  squeeze: { dimensions: number[] };
  expand_dims: { dimensions: number[] };
  rev: { dimensions: number[] };
  slice: { startIndices: number[]; limitIndices: number[]; strides: number[] | null };
  /** dynamic_slice(operand, ...startIndices): one int scalar per operand dim, clamped into range. */
  dynamic_slice: { sliceSizes: number[] };
  /** dynamic_update_slice(operand, update, ...startIndices). */
  dynamic_update_slice: NoParams;
  /** pad(operand, paddingValue): [low, high, interior] per dim; low/high may be negative. */
  pad: { paddingConfig: [number, number, number][] };
  concatenate: { dimension: number };
  iota: { dtype: DType; shape: number[]; dimension: number };
  // --- indexing ---
  gather: { dimensionNumbers: GatherDimensionNumbers; sliceSizes: number[]; mode: GatherMode; fillValue: number | null };
  /** scatter(operand, indices, updates) */
  scatter: { dimensionNumbers: ScatterDimensionNumbers; mode: GatherMode };
  scatter_add: { dimensionNumbers: ScatterDimensionNumbers; mode: GatherMode };
  // --- linear algebra / conv / windows ---
  dot_general: { dimensionNumbers: DotDimensionNumbers; preferredElementType: DType | null };
  conv_general_dilated: {
    windowStrides: number[];
    padding: [number, number][];
    lhsDilation: number[];
    rhsDilation: number[];
    dimensionNumbers: ConvDimensionNumbers;
    featureGroupCount: number;
    batchGroupCount: number;
    preferredElementType: DType | null;
  };
  reduce_window_sum: ReduceWindowParams;
  reduce_window_max: ReduceWindowParams;
  reduce_window_min: ReduceWindowParams;
  /** select_and_scatter_add(source, operand): scatter-adds each source element to the
   * position in its window of operand chosen by selectPrim (ge: max, le: min). The
   * transpose of select_and_gather_add, i.e. max-pool's backward pass. */
  select_and_scatter_add: { selectPrim: "ge" | "le"; windowDimensions: number[]; windowStrides: number[]; padding: [number, number][] };
  /** select_and_gather_add(tangents, operand): for each window, the tangent at the
   * position selectPrim picks in operand. Max-pool's jvp. */
  select_and_gather_add: { selectPrim: "ge" | "le" } & ReduceWindowParams;
  // --- matrix decompositions: operands are stacks [...batch, m, n] (batch dims leading, shared by all operands) ---
  /** cholesky(a) -> L with a = L Lᵀ (reads a's lower triangle); NaN where a is not positive definite. */
  cholesky: NoParams;
  /** lu(a) -> [packed L\U, pivots (int32, min(m, n)), permutation (int32, m)], partial pivoting. */
  lu: NoParams;
  /** qr(a) -> [q, r] by Householder reflections; full: q m×m, r m×n; else q m×k, r k×n. */
  qr: { fullMatrices: boolean };
  /** eigh(a) -> [v, w]: eigenvectors (columns) and ascending eigenvalues of a symmetric a (reads the lower triangle). */
  eigh: NoParams;
  /** svd(a) -> [s (descending), u, vt]; full: u m×m, vt n×n; else u m×k, vt k×n. */
  svd: { fullMatrices: boolean };
  /** triangular_solve(a, b): op(a) x = b (leftSide) or x op(a) = b, a triangular. */
  triangular_solve: { leftSide: boolean; lower: boolean; transposeA: boolean; unitDiagonal: boolean };
  // --- sorting ---
  /** sort(...operands) along dimension, lexicographic over the first numKeys operands. */
  sort: { dimension: number; isStable: boolean; numKeys: number };
  /** top_k(operand) over the last axis -> [values, int32 indices]. */
  top_k: { k: number };
  // --- random ---
  /** threefry2x32(key0, key1, x0, x1) -> [y0, y1], all uint32 of one shape. */
  threefry2x32: NoParams;
  // --- autodiff markers ---
  stop_gradient: NoParams;
  // --- higher-order ---
  pjit: { jaxpr: ClosedJaxpr; name: string; donatedInvars: boolean[] };
  /** cond(index, ...operands): index is int32 (clamped) into branches. */
  cond: { branches: ClosedJaxpr[] };
  /** while(...condConsts, ...bodyConsts, ...carry). */
  while: { condJaxpr: ClosedJaxpr; bodyJaxpr: ClosedJaxpr; condNconsts: number; bodyNconsts: number };
  /** scan(...consts, ...carry, ...xs) -> [...carry, ...ys]. */
  scan: { jaxpr: ClosedJaxpr; numConsts: number; numCarry: number; length: number; reverse: boolean; linear: boolean[] };
  /** custom_jvp_call(...args): calls `call`, and under jvp uses the user's rule. */
  custom_jvp_call: { call: ClosedJaxpr; jvp: CustomJvpRuleFn; numConsts: number; symbolicZeros: boolean };
  /** custom_vjp_call(...args): calls `call`; under reverse mode uses fwd/bwd. */
  custom_vjp_call: { call: ClosedJaxpr; fwd: CustomVjpFwdFn; bwd: CustomVjpBwdFn; numConsts: number; outTreeKey: string };
  /** custom_lin(...residuals, ...tangents): the linear tangent map of a customVjp function;
   * it can only be transposed (with the user's bwd), not evaluated. */
  custom_lin: { bwd: CustomVjpBwdFn; numRes: number; outAvals: ShapedArray[] };
  /** checkpoint(...args): rematerializes `jaxpr` in the backward pass instead of saving residuals. */
  checkpoint: { jaxpr: Jaxpr; preventCse: boolean; policy: string | null };
}

/** Opaque callables carried by custom-derivative primitives; transforms/ gives them meaning. */
export type CustomJvpRuleFn = (...args: unknown[]) => unknown;
export type CustomVjpFwdFn = (...args: unknown[]) => unknown;
export type CustomVjpBwdFn = (...args: unknown[]) => unknown;

export type Primitive = keyof PrimitiveParamsMap;
export type ParamsOf<P extends Primitive> = PrimitiveParamsMap[P];

export const HIGHER_ORDER_PRIMITIVES = ["pjit", "cond", "while", "scan", "custom_jvp_call", "custom_vjp_call", "custom_lin", "checkpoint"] as const;
export type HigherOrderPrimitive = (typeof HIGHER_ORDER_PRIMITIVES)[number];
export type FirstOrderPrimitive = Exclude<Primitive, HigherOrderPrimitive>;

export function isHigherOrder(p: Primitive): p is HigherOrderPrimitive {
  return (HIGHER_ORDER_PRIMITIVES as readonly string[]).includes(p);
}

/**
 * A rule table over a family of primitives (unary, binary, comparisons, ...):
 * one entry per member, made by `make` from its name, as JAX's lax.py derives
 * the rules of a whole family (`standard_unop`) from one list. Tables spread
 * it, so they stay exhaustive over the family's list.
 */
export function familyTable<Ps extends Primitive, R>(family: readonly Ps[], make: (p: Ps) => R): { [P in Ps]: R } {
  return Object.fromEntries(family.map((p) => [p, make(p)])) as { [P in Ps]: R };
}

export const UNARY_ELEMENTWISE = [
  "neg", "sign", "floor", "ceil", "round", "is_finite", "abs", "not",
  "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "logistic", "erf", "erf_inv",
  "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
  "integer_pow",
] as const satisfies readonly Primitive[];
export type UnaryElementwise = (typeof UNARY_ELEMENTWISE)[number];

export const BINARY_ELEMENTWISE = [
  "add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2",
  "and", "or", "xor", "eq", "ne", "lt", "le", "gt", "ge", "shift_left", "shift_right_logical",
] as const satisfies readonly Primitive[];
export type BinaryElementwise = (typeof BINARY_ELEMENTWISE)[number];

export const COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"] as const satisfies readonly BinaryElementwise[];

export const REDUCTIONS = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or"] as const satisfies readonly Primitive[];
export type Reduction = (typeof REDUCTIONS)[number];

export const CUMULATIVE = ["cumsum", "cumprod", "cummax", "cummin"] as const satisfies readonly Primitive[];
export type Cumulative = (typeof CUMULATIVE)[number];

export const DECOMPOSITIONS = ["cholesky", "lu", "qr", "eigh", "svd", "triangular_solve"] as const satisfies readonly Primitive[];
export type Decomposition = (typeof DECOMPOSITIONS)[number];

export const REDUCE_WINDOWS = ["reduce_window_sum", "reduce_window_max", "reduce_window_min"] as const satisfies readonly Primitive[];
export type ReduceWindowPrimitive = (typeof REDUCE_WINDOWS)[number];
