// Shape/dtype rules ("abstract evaluation") of the elementwise primitives
// (unary, binary, select_n, clamp, dtype conversions, threefry), the
// reductions, argmax/argmin and the cumulative scans. The IR never
// broadcasts implicitly: binary operands must have equal shapes and dtypes.
// The small validation helpers at the top are shared with structural.ts.

import { ShapedArray } from "../aval";
import { byteWidth, checkDType, isBool, isFloat, isInt, type DType } from "../dtype";
import { ArgumentError, AxisError, DTypeError, ShapeError } from "../errors";
import {
  BINARY_ELEMENTWISE,
  COMPARISONS,
  CUMULATIVE,
  REDUCTIONS,
  UNARY_ELEMENTWISE,
  familyTable,
  type BinaryElementwise,
  type Cumulative,
  type Reduction,
  type UnaryElementwise,
} from "../primitives";
import { shapesEqual } from "../shape";
import type { ShapeRule, ShapeRuleTable } from "./types";

// --- shared helpers -------------------------------------------------------------

/** Formats avals for error messages: `f32[2,3] and i32[]`, or `f32[2], f32[2], i32[]` for more. */
export function fmtAvals(avals: readonly ShapedArray[]): string {
  if (avals.length === 0) return "no operands";
  return avals.map((a) => a.str()).join(avals.length === 2 ? " and " : ", ");
}

/** Throws unless exactly `n` inputs (or at least `n` with `atLeast`) were given. */
export function expectArgs(prim: string, inAvals: readonly ShapedArray[], n: number, atLeast = false): void {
  if (atLeast ? inAvals.length < n : inAvals.length !== n) {
    throw new ArgumentError(
      `${prim}: expected ${atLeast ? "at least " : ""}${n} operand${n === 1 ? "" : "s"}, got ${inAvals.length} (${fmtAvals(inAvals)})`,
    );
  }
}

/** A dtype class a primitive accepts, with its name for error messages. */
export interface DTypeClass {
  name: string;
  test: (d: DType) => boolean;
}
export const FLOATING: DTypeClass = { name: "a floating dtype (float16, float32)", test: isFloat };
export const NUMERIC: DTypeClass = { name: "a numeric dtype (int32, uint32, float16, float32)", test: (d) => !isBool(d) };
export const SIGNED: DTypeClass = { name: "a signed dtype (int32, float16, float32)", test: (d) => d === "int32" || isFloat(d) };
export const INTEGER: DTypeClass = { name: "an integer dtype (int32, uint32)", test: isInt };
export const BOOL_OR_INT: DTypeClass = { name: "bool or an integer dtype (int32, uint32)", test: (d) => isBool(d) || isInt(d) };
export const ANY: DTypeClass = { name: "any dtype", test: () => true };

export function expectDType(prim: string, aval: ShapedArray, cls: DTypeClass, what = "operand"): void {
  if (!cls.test(aval.dtype)) {
    throw new DTypeError(`${prim}: ${what} must have ${cls.name}, got ${aval.str()}`);
  }
}

/** Throws unless `x` is an integer (params are plain JS numbers). */
export function expectInt(prim: string, name: string, x: unknown, min = -Infinity): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min) {
    throw new ArgumentError(
      `${prim}: ${name} must be an integer${min > -Infinity ? ` >= ${min}` : ""}, got ${JSON.stringify(x)}`,
    );
  }
  return x;
}

/** Throws unless `axes` are integers in [0, ndim) with no repeats (IR params are normalized). */
export function checkAxes(prim: string, name: string, axes: readonly number[], ndim: number, aval?: ShapedArray): void {
  const on = aval ? ` for operand ${aval.str()}` : ` for rank ${ndim}`;
  if (!Array.isArray(axes)) throw new AxisError(`${prim}: ${name} must be an array of axes, got ${JSON.stringify(axes)}`);
  const seen = new Set<number>();
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= ndim) {
      throw new AxisError(`${prim}: ${name} ${JSON.stringify(axes)} out of range${on} (expected integers in [0, ${ndim}))`);
    }
    if (seen.has(a)) throw new AxisError(`${prim}: repeated axis ${a} in ${name} ${JSON.stringify(axes)}${on}`);
    seen.add(a);
  }
}

export function checkAxis(prim: string, name: string, axis: number, aval: ShapedArray): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= aval.ndim) {
    throw new AxisError(`${prim}: ${name} ${axis} out of range for operand ${aval.str()} (expected an integer in [0, ${aval.ndim}))`);
  }
}

/** Throws unless all avals share one shape and one dtype. */
export function expectSameShapeDType(prim: string, avals: readonly ShapedArray[], what = "operands"): void {
  const [a0] = avals;
  for (const a of avals) {
    if (!shapesEqual(a.shape, a0.shape)) {
      throw new ShapeError(`${prim}: ${what} must have equal shapes, got ${fmtAvals(avals)}`);
    }
  }
  for (const a of avals) {
    if (a.dtype !== a0.dtype) {
      throw new DTypeError(`${prim}: ${what} must have equal dtypes, got ${fmtAvals(avals)}`);
    }
  }
}

export const allWeak = (avals: readonly ShapedArray[]): boolean => avals.every((a) => a.weakType);

// --- unary ------------------------------------------------------------------------

const UNARY_CLASS: Record<UnaryElementwise, DTypeClass> = {
  neg: NUMERIC, sign: NUMERIC, floor: FLOATING, ceil: FLOATING, round: FLOATING, is_finite: FLOATING,
  abs: SIGNED, not: BOOL_OR_INT,
  exp: FLOATING, log: FLOATING, log1p: FLOATING, expm1: FLOATING, sqrt: FLOATING, rsqrt: FLOATING,
  logistic: FLOATING, erf: FLOATING, erf_inv: FLOATING,
  sin: FLOATING, cos: FLOATING, tan: FLOATING, asin: FLOATING, acos: FLOATING, atan: FLOATING,
  sinh: FLOATING, cosh: FLOATING, tanh: FLOATING, asinh: FLOATING, acosh: FLOATING, atanh: FLOATING,
  integer_pow: NUMERIC,
};

function unaryRule<P extends UnaryElementwise>(prim: P): ShapeRule<P> {
  return (inAvals, params) => {
    expectArgs(prim, inAvals, 1);
    const [x] = inAvals;
    expectDType(prim, x, UNARY_CLASS[prim]);
    if (prim === "is_finite") return [x.withDType("bool")];
    if (prim === "integer_pow") {
      const y = expectInt(prim, "exponent y", (params as { y: number }).y);
      if (y < 0 && isInt(x.dtype)) {
        throw new DTypeError(`${prim}: integers cannot be raised to negative powers, got ${x.str()} ** ${y}`);
      }
    }
    return [x];
  };
}

// --- binary -----------------------------------------------------------------------

const BINARY_CLASS: Record<BinaryElementwise, DTypeClass> = {
  add: NUMERIC, sub: NUMERIC, mul: NUMERIC, div: NUMERIC, rem: NUMERIC, pow: FLOATING,
  max: ANY, min: ANY, atan2: FLOATING,
  and: BOOL_OR_INT, or: BOOL_OR_INT, xor: BOOL_OR_INT,
  eq: ANY, ne: ANY, lt: ANY, le: ANY, gt: ANY, ge: ANY,
  shift_left: INTEGER, shift_right_logical: INTEGER,
};

const IS_COMPARISON = new Set<string>(COMPARISONS);

function binaryRule<P extends BinaryElementwise>(prim: P): ShapeRule<P> {
  return (inAvals) => {
    expectArgs(prim, inAvals, 2);
    expectSameShapeDType(prim, inAvals);
    const [x] = inAvals;
    if (!BINARY_CLASS[prim].test(x.dtype)) {
      throw new DTypeError(`${prim}: operands must have ${BINARY_CLASS[prim].name}, got ${fmtAvals(inAvals)}`);
    }
    if (IS_COMPARISON.has(prim)) return [x.withDType("bool")];
    return [new ShapedArray(x.shape, x.dtype, allWeak(inAvals))];
  };
}

// --- the rest of group A ----------------------------------------------------------

const selectN: ShapeRule<"select_n"> = (inAvals) => {
  const prim = "select_n";
  expectArgs(prim, inAvals, 2, true);
  const [which, ...cases] = inAvals;
  if (isBool(which.dtype)) {
    if (cases.length > 2) {
      throw new ArgumentError(`${prim}: a bool selector picks between at most 2 cases, got ${cases.length} (which ${which.str()}, cases ${fmtAvals(cases)})`);
    }
  } else if (!isInt(which.dtype)) {
    throw new DTypeError(`${prim}: which must be bool or int32, got ${which.str()}`);
  }
  expectSameShapeDType(prim, cases, "cases");
  const c0 = cases[0];
  if (which.ndim !== 0 && !shapesEqual(which.shape, c0.shape)) {
    throw new ShapeError(`${prim}: which must be a scalar or have the cases' shape, got which ${which.str()} and cases ${fmtAvals(cases)}`);
  }
  return [new ShapedArray(c0.shape, c0.dtype, allWeak(cases))];
};

const clamp: ShapeRule<"clamp"> = (inAvals) => {
  const prim = "clamp";
  expectArgs(prim, inAvals, 3);
  const [lo, x, hi] = inAvals;
  for (const [name, b] of [["lo", lo], ["hi", hi]] as const) {
    if (b.ndim !== 0 && !shapesEqual(b.shape, x.shape)) {
      throw new ShapeError(`${prim}: ${name} must be a scalar or have x's shape, got clamp(${fmtAvals(inAvals)})`);
    }
    if (b.dtype !== x.dtype) {
      throw new DTypeError(`${prim}: ${name} must have x's dtype, got clamp(${fmtAvals(inAvals)})`);
    }
  }
  return [x];
};

const convertElementType: ShapeRule<"convert_element_type"> = (inAvals, params) => {
  const prim = "convert_element_type";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  checkNewDType(prim, params.newDtype);
  return [new ShapedArray(x.shape, params.newDtype, !!params.weakType)];
};

function checkNewDType(prim: string, d: DType): void {
  checkDType(d, prim);
}

const bitcastConvertType: ShapeRule<"bitcast_convert_type"> = (inAvals, params) => {
  const prim = "bitcast_convert_type";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  checkNewDType(prim, params.newDtype);
  const to = params.newDtype;
  const ok = x.dtype === to || (byteWidth(x.dtype) === 4 && byteWidth(to) === 4);
  if (!ok) {
    throw new DTypeError(`${prim}: can only reinterpret between dtypes of equal bit width, got ${x.str()} -> ${to}`);
  }
  return [new ShapedArray(x.shape, to, false)];
};

const stopGradient: ShapeRule<"stop_gradient"> = (inAvals) => {
  expectArgs("stop_gradient", inAvals, 1);
  return [inAvals[0]];
};

const threefry2x32: ShapeRule<"threefry2x32"> = (inAvals) => {
  const prim = "threefry2x32";
  expectArgs(prim, inAvals, 4);
  expectSameShapeDType(prim, inAvals, "key0, key1, x0, x1");
  if (inAvals[0].dtype !== "uint32") {
    throw new DTypeError(`${prim}: all operands must be uint32, got ${fmtAvals(inAvals)}`);
  }
  const out = new ShapedArray(inAvals[0].shape, "uint32", false);
  return [out, out];
};

// --- reductions, argmax/argmin, cumulative ----------------------------------------

const REDUCTION_CLASS: Record<Reduction, DTypeClass> = {
  reduce_sum: NUMERIC, reduce_prod: NUMERIC, reduce_max: ANY, reduce_min: ANY,
  reduce_and: BOOL_OR_INT, reduce_or: BOOL_OR_INT,
};

function reductionRule<P extends Reduction>(prim: P): ShapeRule<P> {
  return (inAvals, params) => {
    expectArgs(prim, inAvals, 1);
    const [x] = inAvals;
    expectDType(prim, x, REDUCTION_CLASS[prim]);
    checkAxes(prim, "axes", params.axes, x.ndim, x);
    const drop = new Set(params.axes);
    return [x.withShape(x.shape.filter((_, i) => !drop.has(i)))];
  };
}

function argRule<P extends "argmax" | "argmin">(prim: P): ShapeRule<P> {
  return (inAvals, params) => {
    expectArgs(prim, inAvals, 1);
    const [x] = inAvals;
    checkAxis(prim, "axis", params.axis, x);
    if (!isInt(params.indexDtype)) {
      throw new DTypeError(`${prim}: indexDtype must be an integer dtype (int32, uint32), got ${JSON.stringify(params.indexDtype)} for operand ${x.str()}`);
    }
    if (x.shape[params.axis] === 0) {
      throw new ShapeError(`${prim}: the reduced axis ${params.axis} must be non-empty, got operand ${x.str()}`);
    }
    return [new ShapedArray(x.shape.filter((_, i) => i !== params.axis), params.indexDtype, false)];
  };
}

const CUMULATIVE_CLASS: Record<Cumulative, DTypeClass> = { cumsum: NUMERIC, cumprod: NUMERIC, cummax: ANY, cummin: ANY };

function cumulativeRule<P extends Cumulative>(prim: P): ShapeRule<P> {
  return (inAvals, params) => {
    expectArgs(prim, inAvals, 1);
    const [x] = inAvals;
    expectDType(prim, x, CUMULATIVE_CLASS[prim]);
    checkAxis(prim, "axis", params.axis, x);
    if (typeof params.reverse !== "boolean") {
      throw new ArgumentError(`${prim}: reverse must be a boolean, got ${JSON.stringify(params.reverse)}`);
    }
    return [x];
  };
}

// --- the table --------------------------------------------------------------------

export type ElementwiseOtherPrimitive =
  | "select_n" | "clamp" | "convert_element_type" | "bitcast_convert_type" | "stop_gradient" | "threefry2x32";
/** Group A: every elementwise primitive. */
export type ElementwisePrimitive = UnaryElementwise | BinaryElementwise | ElementwiseOtherPrimitive;
/** Group B: reductions, argmax/argmin and cumulative scans. */
export type ReductionLikePrimitive = Reduction | "argmax" | "argmin" | Cumulative;
/** Everything `elementwiseShapeRules` / `elementwiseInterpRules` cover. */
export type ElementwiseGroupPrimitive = ElementwisePrimitive | ReductionLikePrimitive;

export const elementwiseShapeRules: ShapeRuleTable<ElementwiseGroupPrimitive> = {
  ...familyTable(UNARY_ELEMENTWISE, unaryRule),
  ...familyTable(BINARY_ELEMENTWISE, binaryRule),
  select_n: selectN,
  clamp,
  convert_element_type: convertElementType,
  bitcast_convert_type: bitcastConvertType,
  stop_gradient: stopGradient,
  threefry2x32,
  ...familyTable(REDUCTIONS, reductionRule),
  argmax: argRule("argmax"),
  argmin: argRule("argmin"),
  ...familyTable(CUMULATIVE, cumulativeRule),
};
