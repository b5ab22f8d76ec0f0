// Forward-mode (JVP) rules of every first-order primitive. A rule gets the
// primals and their tangents (symbolic Zero where a tangent is zero) and
// returns the primal outputs and their tangents. Every tangent computed here
// is linear in the input tangents with coefficients computed from primals
// only, so that linearize can split it off and transpose it: the tangent
// side uses only primitives with transpose rules (mul/div by a known value,
// select_n with a known selector, gathers, slices, pads, dot/conv, ...).
// Non-differentiable outputs (comparisons, integer ops, argmax, iota, sign,
// floor/ceil/round, random bits, bitcasts, stop_gradient) get Zero tangents.
// The rules follow JAX's (jax/_src/lax/*.py) unless a comment says otherwise.

import { Array } from "../../src/core/array";
import { isFloat } from "../../src/core/dtype";
import type { Decomposition, FirstOrderPrimitive, ParamsOf, Primitive, ReduceWindowParams } from "../../src/core/primitives";
import { TransformError } from "../../src/core/errors";
import { range } from "../../src/core/shape";
import { bind, bind1, type Tracer } from "../../src/core/trace";
import type { JvpRule } from "../jvp";
import { Zero, instantiate, isZero, type Tangent } from "../tangents";
import {
  add,
  addC,
  and,
  broadcastScalarTo,
  div,
  eq,
  full,
  gt,
  iota,
  lt,
  maskAs,
  mul,
  mulC,
  neg,
  ones,
  pad,
  reduceSum,
  reshape,
  scatterMasks,
  select,
  shift,
  sub,
  takeAlongAxis,
  transpose,
  zeros,
} from "./ad_util";

type Rule<P extends Primitive> = JvpRule<P>;

// --- rule builders -------------------------------------------------------------------

/** Outputs that are not differentiable (integer/bool results, piecewise-constant functions). */
function zeroTangents<P extends Primitive>(prim: P): Rule<P> {
  return (primals, _tangents, params) => {
    const outs = bind(prim, primals, params);
    return [outs, outs.map((o) => new Zero(o.aval))];
  };
}

/**
 * A primitive linear in the operands at `linear` (jointly), the others being
 * fixed (indices, selectors, ...): its tangent is the primitive applied to the
 * tangents in those positions. Zero if all of them are Zero.
 */
function linearIn<P extends Primitive>(prim: P, linear: (n: number) => number[], fixParams?: (p: ParamsOf<P>) => ParamsOf<P>): Rule<P> {
  return (primals, tangents, params) => {
    const outs = bind(prim, primals, params);
    const lin = linear(primals.length);
    if (lin.every((i) => isZero(tangents[i]))) return [outs, outs.map((o) => new Zero(o.aval))];
    const args = primals.map((p, i) => (lin.includes(i) ? instantiate(tangents[i]) : p));
    const touts = bind(prim, args, fixParams ? fixParams(params) : params);
    return [outs, touts];
  };
}
const first = () => [0];
const all = (n: number) => range(n);

/** f(x) with f'(x) given from x and the output y: tangent = t * f'(x). */
function unary<P extends Primitive>(prim: P, deriv: (x: Tracer, y: Tracer, params: ParamsOf<P>) => Tracer): Rule<P> {
  return (primals, tangents, params) => {
    const [x] = primals;
    const y = bind1(prim, [x], params);
    const [t] = tangents;
    if (isZero(t)) return [[y], [new Zero(y.aval)]];
    return [[y], [mul(t, deriv(x, y, params))]];
  };
}

/** Sum of tangent * coefficient over the operands whose tangent is not Zero
 * (a null coefficient means 1: the tangent passes through). */
function sumTerms(out: Tracer, terms: [Tangent, () => Tracer | null][]): Tangent {
  let acc: Tangent = new Zero(out.aval);
  for (const [t, coeff] of terms) {
    if (isZero(t)) continue;
    const c = coeff();
    const term = c === null ? t : mul(t, c);
    acc = isZero(acc) ? term : add(acc, term);
  }
  return acc;
}

/** f(x, y) with partial derivatives d/dx and d/dy from (x, y, out); null means 1. */
function binary<P extends Primitive>(
  prim: P,
  dx: (x: Tracer, y: Tracer, out: Tracer) => Tracer | null,
  dy: (x: Tracer, y: Tracer, out: Tracer) => Tracer | null,
): Rule<P> {
  return (primals, tangents, params) => {
    const [x, y] = primals;
    const out = bind1(prim, [x, y], params);
    const t = sumTerms(out, [
      [tangents[0], () => dx(x, y, out)],
      [tangents[1], () => dy(x, y, out)],
    ]);
    return [[out], [t]];
  };
}

const square = (x: Tracer) => mul(x, x);
const u = <P extends Primitive>(prim: P, x: Tracer, params: ParamsOf<P>): Tracer => bind1(prim, [x], params);
const exp = (x: Tracer) => u("exp", x, {});
const log = (x: Tracer) => u("log", x, {});
const rsqrt = (x: Tracer) => u("rsqrt", x, {});
const recip = (x: Tracer) => div(ones(x), x);

// --- elementwise ---------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** d/dx x^y = y x^(y-1), 0 where y == 0 (so 0^0 has derivative 0, not 0 * inf). */
function powDx(x: Tracer, y: Tracer): Tracer {
  const yIsZero = eq(y, zeros(y));
  const d = mul(y, bind1("pow", [x, sub(y, ones(y))], {}));
  return select(yIsZero, zeros(x), d);
}
/** d/dy x^y = log(x) x^y, with log(0) replaced by log(1) (so 0^y has derivative 0 in y). */
function powDy(x: Tracer, out: Tracer): Tracer {
  const safeX = select(eq(x, zeros(x)), ones(x), x);
  return mul(log(safeX), out);
}

/** max/min: the operand that wins gets the tangent; ties split it half and half (as JAX). */
function maxMinCoeff(wins: (a: Tracer, b: Tracer) => Tracer) {
  return (a: Tracer, b: Tracer): Tracer => {
    const w = maskAs(wins(a, b), a.dtype);
    const tie = maskAs(eq(a, b), a.dtype);
    return add(w, mulC(tie, 0.5));
  };
}
const maxCoeff = maxMinCoeff(gt);
const minCoeff = maxMinCoeff(lt);

const integerPowRule: Rule<"integer_pow"> = unary("integer_pow", (x, _y, { y }) => {
  if (y === 0) return zeros(x);
  if (y === 1) return ones(x);
  const pm1 = y - 1 === 1 ? x : bind1("integer_pow", [x], { y: y - 1 });
  return mulC(pm1, y);
});

const selectNRule: Rule<"select_n"> = (primals, tangents) => {
  const [which] = primals;
  const out = bind1("select_n", primals, {});
  const ct = tangents.slice(1);
  if (ct.every((t) => isZero(t))) return [[out], [new Zero(out.aval)]];
  return [[out], [bind1("select_n", [which, ...ct.map(instantiate)], {})]];
};

/** clamp(lo, x, hi): the tangent of whichever bound (or x) is active, as JAX's rule. */
const clampRule: Rule<"clamp"> = (primals, tangents) => {
  const [lo, x, hi] = primals;
  const out = bind1("clamp", primals, {});
  const [tlo, tx, thi] = tangents;
  const loB = broadcastScalarTo(lo, x.shape);
  const hiB = broadcastScalarTo(hi, x.shape);
  let acc: Tangent = new Zero(out.aval);
  const addTerm = (t: Tangent, pred: () => Tracer) => {
    if (isZero(t)) return;
    const term = select(pred(), broadcastScalarTo(t, x.shape), zeros(x));
    acc = isZero(acc) ? term : add(acc, term);
  };
  addTerm(tlo, () => and(gt(loB, x), lt(loB, hiB)));
  addTerm(tx, () => and(gt(x, loB), lt(x, hiB)));
  addTerm(thi, () => lt(hiB, x));
  return [[out], [acc]];
};

const convertRule: Rule<"convert_element_type"> = (primals, tangents, params) => {
  const [x] = primals;
  const out = bind1("convert_element_type", [x], params);
  const [t] = tangents;
  if (isZero(t) || !isFloat(x.dtype) || !isFloat(params.newDtype)) return [[out], [new Zero(out.aval)]];
  return [[out], [bind1("convert_element_type", [t], params)]];
};

// --- reductions and scans --------------------------------------------------------------

const keptDims = (ndim: number, axes: readonly number[]) => range(ndim).filter((d) => !axes.includes(d));

/** reduce_max / reduce_min: the tangent averaged over the positions attaining the extremum. */
function reduceChooserRule<P extends "reduce_max" | "reduce_min">(prim: P): Rule<P> {
  return (primals, tangents, params) => {
    const [x] = primals;
    const y = bind1(prim, [x], params);
    const [t] = tangents;
    if (isZero(t)) return [[y], [new Zero(y.aval)]];
    const { axes } = params;
    const yb = bind1("broadcast_in_dim", [y], { shape: [...x.shape], broadcastDimensions: keptDims(x.ndim, axes) });
    const mask = maskAs(eq(x, yb), x.dtype);
    const counts = reduceSum(mask, [...axes]);
    return [[y], [div(reduceSum(mul(t, mask), [...axes]), counts)]];
  };
}

/** Moves `axes` to the end and merges them into one: [...kept, n]. */
function mergeAxesLast(x: Tracer, axes: readonly number[]): Tracer {
  const kept = keptDims(x.ndim, axes);
  const moved = transpose(x, [...kept, ...axes]);
  const n = axes.reduce((s, a) => s * x.shape[a], 1);
  return reshape(moved, [...kept.map((d) => x.shape[d]), n]);
}

/** reduce_prod: d prod = sum_j t_j prod_{k != j} x_k, the cofactors from exclusive
 * prefix and suffix products (exact with zeros, no division). */
const reduceProdRule: Rule<"reduce_prod"> = (primals, tangents, params) => {
  const [x] = primals;
  const y = bind1("reduce_prod", [x], params);
  const [t] = tangents;
  if (isZero(t)) return [[y], [new Zero(y.aval)]];
  const xr = mergeAxesLast(x, params.axes);
  const tr = mergeAxesLast(t, params.axes);
  const last = xr.ndim - 1;
  const before = shift(bind1("cumprod", [xr], { axis: last, reverse: false }), last, 1, 1, true);
  const after = shift(bind1("cumprod", [xr], { axis: last, reverse: true }), last, 1, 1, false);
  return [[y], [reduceSum(mul(tr, mul(before, after)), [last])]];
};

/** cumprod: the jvp of a Hillis-Steele prefix product (log n steps of pairwise
 * products), exact with zeros. */
const cumprodRule: Rule<"cumprod"> = (primals, tangents, params) => {
  const [x] = primals;
  const out = bind1("cumprod", [x], params);
  const [t] = tangents;
  if (isZero(t)) return [[out], [new Zero(out.aval)]];
  const { axis, reverse } = params;
  const n = x.shape[axis];
  let y: Tracer = x;
  let ty: Tracer = t;
  for (let k = 1; k < n; k *= 2) {
    const ys = shift(y, axis, k, 1, !reverse);
    const tys = shift(ty, axis, k, 0, !reverse);
    ty = add(mul(ty, ys), mul(tys, y));
    y = mul(y, ys);
  }
  return [[out], [ty]];
};

/** cummax / cummin: each output takes the tangent of the most recent position
 * (in scan order) that attains the running extremum. */
function cumChooserRule<P extends "cummax" | "cummin">(prim: P): Rule<P> {
  return (primals, tangents, params) => {
    const [x] = primals;
    const y = bind1(prim, [x], params);
    const [t] = tangents;
    if (isZero(t)) return [[y], [new Zero(y.aval)]];
    const { axis, reverse } = params;
    const n = x.shape[axis];
    const pos = iota("int32", x.shape, axis);
    const record = eq(x, y);
    const idx = reverse
      ? bind1("cummin", [select(record, pos, full(pos, n - 1))], { axis, reverse: true })
      : bind1("cummax", [select(record, pos, full(pos, 0))], { axis, reverse: false });
    return [[y], [takeAlongAxis(t, idx, axis)]];
  };
}

// --- windows ---------------------------------------------------------------------------

/** reduce_window_max/min: the tangent at the chosen position of each window. Base
 * dilation is made explicit (interior padding with the identity) so the
 * select_and_gather_add has none, which keeps it transposable. */
function reduceWindowChooserRule<P extends "reduce_window_max" | "reduce_window_min">(prim: P): Rule<P> {
  const selectPrim = prim === "reduce_window_max" ? "ge" : "le";
  return (primals, tangents, params) => {
    const [x] = primals;
    const out = bind1(prim, [x], params);
    const [t] = tangents;
    if (isZero(t)) return [[out], [new Zero(out.aval)]];
    let operand = x;
    let tan = instantiate(t);
    let p: ReduceWindowParams = params;
    if (params.baseDilation.some((d) => d !== 1)) {
      const interior = params.baseDilation.map((d): [number, number, number] => [0, 0, d - 1]);
      const identity = selectPrim === "ge" ? -Infinity : Infinity;
      operand = pad(x, Array.scalar(identity, x.dtype), interior);
      tan = pad(tan, Array.scalar(0, x.dtype), interior);
      p = { ...params, baseDilation: params.baseDilation.map(() => 1) };
    }
    return [[out], [bind1("select_and_gather_add", [tan, operand], { selectPrim, ...p })]];
  };
}

// --- indexing --------------------------------------------------------------------------

/** scatter: updates that land (the last write of each position) and operand
 * elements that are not overwritten carry their tangents; both masks come
 * from the indices only (JAX's scatter-the-ids trick), so the tangent is a
 * scatter_add of masked tangents. */
const scatterRule: Rule<"scatter"> = (primals, tangents, params) => {
  const [operand, indices, updates] = primals;
  const out = bind1("scatter", primals, params);
  const [tOp, , tUp] = tangents;
  if (isZero(tOp) && isZero(tUp)) return [[out], [new Zero(out.aval)]];
  const { updateWins, operandKept } = scatterMasks(operand, indices, updates, params.dimensionNumbers, params.mode);
  const maskedOp = isZero(tOp) ? zeros(operand) : select(operandKept, tOp, zeros(operand));
  if (isZero(tUp)) return [[out], [maskedOp]];
  const maskedUp = select(updateWins, tUp, zeros(updates));
  return [[out], [bind1("scatter_add", [maskedOp, indices, maskedUp], params)]];
};

// --- sorting ---------------------------------------------------------------------------

/** sort: sort an extra iota along with the operands to get the permutation, and
 * permute the tangents with it. */
const sortRule: Rule<"sort"> = (primals, tangents, params) => {
  const { dimension } = params;
  const perm0 = iota("int32", primals[0].shape, dimension);
  const outs = bind("sort", [...primals, perm0], params);
  const perm = outs[outs.length - 1];
  const values = outs.slice(0, -1);
  const touts = tangents.map((t, i) => (isZero(t) ? new Zero(values[i].aval) : takeAlongAxis(t, perm, dimension)));
  return [values, touts];
};

const topKRule: Rule<"top_k"> = (primals, tangents, params) => {
  const [x] = primals;
  const [values, idx] = bind("top_k", [x], params);
  const [t] = tangents;
  const tv = isZero(t) ? new Zero(values.aval) : takeAlongAxis(t, idx, x.ndim - 1);
  return [[values, idx], [tv, new Zero(idx.aval)]];
};

/**
 * The factorizations are differentiated by JAX's rules, written as customJvp
 * wrappers around the primitive (src/numpy/decompositions.ts); a tangent
 * reaching the bare primitive means it was bound directly, past the rules.
 */
function throughItsRule<P extends Exclude<Decomposition, "triangular_solve">>(prim: P): Rule<P> {
  return (primals, tangents, params) => {
    if (tangents.every(isZero)) return zeroTangents(prim)(primals, tangents, params);
    throw new TransformError(
      `jvp: the ${prim} primitive is differentiated through its rule in lax.linalg (JAX's derivative as a customJvp); call lax.linalg.${prim} or np.linalg instead of binding ${prim} directly`,
    );
  };
}

/**
 * triangular_solve (JAX's rule): linear in b; for a, differentiating op(a) x = b
 * gives op(a) dx = -op(da) x (left side) or dx op(a) = -x op(da), where da is
 * restricted to the triangle the solve reads.
 */
const triangularSolveRule: Rule<"triangular_solve"> = ([a, b], [ta, tb], params) => {
  const x = bind1("triangular_solve", [a, b], params);
  let rhs: Tangent = tb;
  if (!isZero(ta)) {
    const r = a.ndim;
    const rows = iota("int32", a.shape, r - 2);
    const cols = iota("int32", a.shape, r - 1);
    const read = bind1(params.lower ? (params.unitDiagonal ? "gt" : "ge") : params.unitDiagonal ? "lt" : "le", [rows, cols], {});
    const used = select(read, ta, zeros(ta));
    const batch = globalThis.Array.from({ length: r - 2 }, (_, i) => i);
    const dims = { preferredElementType: null };
    // op(da) x (left) or x op(da) (right), contracting the right axes instead of transposing.
    const term = params.leftSide
      ? bind1("dot_general", [used, x], { ...dims, dimensionNumbers: [[[params.transposeA ? r - 2 : r - 1], [r - 2]], [batch, batch]] })
      : bind1("dot_general", [x, used], { ...dims, dimensionNumbers: [[[r - 1], [params.transposeA ? r - 1 : r - 2]], [batch, batch]] });
    rhs = isZero(tb) ? neg(term) : sub(tb, term);
  }
  return [[x], [bind1("triangular_solve", [a, instantiate(rhs)], params)]];
};

const decompositionJvpRules: { [P in Decomposition]: Rule<P> } = {
  cholesky: throughItsRule("cholesky"),
  lu: throughItsRule("lu"),
  qr: throughItsRule("qr"),
  eigh: throughItsRule("eigh"),
  svd: throughItsRule("svd"),
  triangular_solve: triangularSolveRule,
};

// --- bilinear ------------------------------------------------------------------------

function bilinear<P extends "dot_general" | "conv_general_dilated">(prim: P): Rule<P> {
  return (primals, tangents, params) => {
    const [a, b] = primals;
    const out = bind1(prim, [a, b], params);
    const [ta, tb] = tangents;
    let acc: Tangent = new Zero(out.aval);
    if (!isZero(ta)) acc = bind1(prim, [ta, b], params);
    if (!isZero(tb)) {
      const term = bind1(prim, [a, tb], params);
      acc = isZero(acc) ? term : add(acc, term);
    }
    return [[out], [acc]];
  };
}

// --- the table -------------------------------------------------------------------------

export const firstOrderJvpRules: { [P in FirstOrderPrimitive]: JvpRule<P> } = {
  // unary
  neg: linearIn("neg", first),
  sign: zeroTangents("sign"),
  floor: zeroTangents("floor"),
  ceil: zeroTangents("ceil"),
  round: zeroTangents("round"),
  is_finite: zeroTangents("is_finite"),
  abs: unary("abs", (x) => u("sign", x, {})),
  not: zeroTangents("not"),
  exp: unary("exp", (_x, y) => y),
  log: unary("log", (x) => recip(x)),
  log1p: unary("log1p", (x) => recip(addC(x, 1))),
  expm1: unary("expm1", (_x, y) => addC(y, 1)),
  sqrt: unary("sqrt", (_x, y) => div(full(y, 0.5), y)),
  rsqrt: unary("rsqrt", (x, y) => mulC(div(y, x), -0.5)),
  logistic: unary("logistic", (_x, y) => mul(y, sub(ones(y), y))),
  erf: unary("erf", (x) => mulC(exp(neg(square(x))), TWO_OVER_SQRT_PI)),
  erf_inv: unary("erf_inv", (_x, y) => mulC(exp(square(y)), 1 / TWO_OVER_SQRT_PI)),
  sin: unary("sin", (x) => u("cos", x, {})),
  cos: unary("cos", (x) => neg(u("sin", x, {}))),
  tan: unary("tan", (_x, y) => addC(square(y), 1)),
  asin: unary("asin", (x) => rsqrt(sub(ones(x), square(x)))),
  acos: unary("acos", (x) => neg(rsqrt(sub(ones(x), square(x))))),
  atan: unary("atan", (x) => recip(addC(square(x), 1))),
  sinh: unary("sinh", (x) => u("cosh", x, {})),
  cosh: unary("cosh", (x) => u("sinh", x, {})),
  tanh: unary("tanh", (_x, y) => sub(ones(y), square(y))),
  asinh: unary("asinh", (x) => rsqrt(addC(square(x), 1))),
  acosh: unary("acosh", (x) => rsqrt(mul(addC(x, -1), addC(x, 1)))),
  atanh: unary("atanh", (x) => recip(mul(addC(x, 1), sub(ones(x), x)))),
  integer_pow: integerPowRule,
  // binary
  add: (primals, tangents) => {
    const out = bind1("add", primals, {});
    const [ta, tb] = tangents;
    const t: Tangent = isZero(ta) ? tb : isZero(tb) ? ta : add(ta, tb);
    return [[out], [t]];
  },
  sub: (primals, tangents) => {
    const out = bind1("sub", primals, {});
    const [ta, tb] = tangents;
    const t: Tangent = isZero(tb) ? ta : isZero(ta) ? neg(tb) : sub(ta, tb);
    return [[out], [t]];
  },
  mul: binary("mul", (_x, y) => y, (x) => x),
  div: (primals, tangents) => {
    const [x, y] = primals;
    const out = bind1("div", [x, y], {});
    const [tx, ty] = tangents;
    let acc: Tangent = new Zero(out.aval);
    if (!isZero(tx)) acc = div(tx, y);
    if (!isZero(ty)) {
      const term = mul(ty, neg(div(out, y)));
      acc = isZero(acc) ? term : add(acc, term);
    }
    return [[out], [acc]];
  },
  rem: binary(
    "rem",
    () => null,
    (x, y) => {
      const q = div(x, y);
      return neg(mul(u("sign", q, {}), u("floor", u("abs", q, {}), {})));
    },
  ),
  pow: binary("pow", (x, y) => powDx(x, y), (x, _y, out) => powDy(x, out)),
  max: binary("max", (x, y) => maxCoeff(x, y), (x, y) => maxCoeff(y, x)),
  min: binary("min", (x, y) => minCoeff(x, y), (x, y) => minCoeff(y, x)),
  atan2: binary(
    "atan2",
    (x, y) => div(y, add(square(x), square(y))),
    (x, y) => neg(div(x, add(square(x), square(y)))),
  ),
  and: zeroTangents("and"),
  or: zeroTangents("or"),
  xor: zeroTangents("xor"),
  eq: zeroTangents("eq"),
  ne: zeroTangents("ne"),
  lt: zeroTangents("lt"),
  le: zeroTangents("le"),
  gt: zeroTangents("gt"),
  ge: zeroTangents("ge"),
  shift_left: zeroTangents("shift_left"),
  shift_right_logical: zeroTangents("shift_right_logical"),
  select_n: selectNRule,
  clamp: clampRule,
  // dtype
  convert_element_type: convertRule,
  bitcast_convert_type: zeroTangents("bitcast_convert_type"),
  // reductions
  reduce_sum: linearIn("reduce_sum", first),
  reduce_max: reduceChooserRule("reduce_max"),
  reduce_min: reduceChooserRule("reduce_min"),
  reduce_prod: reduceProdRule,
  reduce_and: zeroTangents("reduce_and"),
  reduce_or: zeroTangents("reduce_or"),
  argmax: zeroTangents("argmax"),
  argmin: zeroTangents("argmin"),
  cumsum: linearIn("cumsum", first),
  cumprod: cumprodRule,
  cummax: cumChooserRule("cummax"),
  cummin: cumChooserRule("cummin"),
  // shape
  broadcast_in_dim: linearIn("broadcast_in_dim", first),
  reshape: linearIn("reshape", first),
  transpose: linearIn("transpose", first),
  squeeze: linearIn("squeeze", first),
  expand_dims: linearIn("expand_dims", first),
  rev: linearIn("rev", first),
  slice: linearIn("slice", first),
  dynamic_slice: linearIn("dynamic_slice", first),
  dynamic_update_slice: linearIn("dynamic_update_slice", () => [0, 1]),
  pad: linearIn("pad", () => [0, 1]),
  concatenate: linearIn("concatenate", all),
  iota: zeroTangents("iota"),
  // indexing
  gather: linearIn("gather", first, (p) => ({ ...p, fillValue: 0 })),
  scatter: scatterRule,
  scatter_add: linearIn("scatter_add", () => [0, 2]),
  // linear algebra / conv / windows
  dot_general: bilinear("dot_general"),
  conv_general_dilated: bilinear("conv_general_dilated"),
  reduce_window_sum: linearIn("reduce_window_sum", first),
  reduce_window_max: reduceWindowChooserRule("reduce_window_max"),
  reduce_window_min: reduceWindowChooserRule("reduce_window_min"),
  select_and_scatter_add: linearIn("select_and_scatter_add", first),
  select_and_gather_add: linearIn("select_and_gather_add", first),
  // sorting
  sort: sortRule,
  top_k: topKRule,
  ...decompositionJvpRules,
  // random, autodiff markers
  threefry2x32: zeroTangents("threefry2x32"),
  stop_gradient: zeroTangents("stop_gradient"),
};
