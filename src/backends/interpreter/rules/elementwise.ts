// Interpreter rules of the elementwise primitives, the reductions,
// argmax/argmin and the cumulative scans: exact reference semantics (XLA's)
// on row-major host arrays. Unary and binary ops are tables of scalar
// functions specialised per dtype; values are computed in f64 and rounded to
// the element type by the store into the output TypedArray (float16 outputs
// are rounded centrally by the caller). Integer results are wrapped mod 2^32.

import type { ShapedArray } from "../../../core/aval";
import { isFloat, isInt, roundToDType, type DType } from "../../../core/dtype";
import type { ElementwiseGroupPrimitive } from "../../../core/shape_rules/elementwise";
import {
  BINARY_ELEMENTWISE,
  CUMULATIVE,
  REDUCTIONS,
  UNARY_ELEMENTWISE,
  familyTable,
  type BinaryElementwise,
  type Cumulative,
  type Reduction,
  type UnaryElementwise,
} from "../../../core/primitives";
import { sizeOf } from "../../../core/shape";
import { HostArray } from "../host_array";
import {
  erf,
  erfInv,
  intDiv,
  intRem,
  powC,
  roundHalfAway,
  shiftLeft,
  shiftRightLogical,
  sign,
  threefry2x32Block,
  wrapFor,
} from "../math";
import { splitAxis } from "./structural";
import type { InterpRule, InterpRuleTable } from "./types";

type Scalar1 = (x: number) => number;
type Scalar2 = (a: number, b: number) => number;

// --- unary -------------------------------------------------------------------------

/** Scalar function of each unary op for an operand dtype (integer_pow handled separately). */
const UNARY: Record<Exclude<UnaryElementwise, "integer_pow">, (d: DType) => Scalar1> = {
  neg: () => (x) => -x,
  sign: () => sign,
  floor: () => Math.floor,
  ceil: () => Math.ceil,
  round: () => roundHalfAway,
  is_finite: () => (x) => (Number.isFinite(x) ? 1 : 0),
  abs: () => Math.abs,
  not: (d) => (d === "bool" ? (x) => (x ? 0 : 1) : (x) => ~x),
  exp: () => Math.exp,
  log: () => Math.log,
  log1p: () => Math.log1p,
  expm1: () => Math.expm1,
  sqrt: () => Math.sqrt,
  rsqrt: () => (x) => 1 / Math.sqrt(x),
  logistic: () => (x) => 1 / (1 + Math.exp(-x)),
  erf: () => erf,
  erf_inv: () => erfInv,
  sin: () => Math.sin,
  cos: () => Math.cos,
  tan: () => Math.tan,
  asin: () => Math.asin,
  acos: () => Math.acos,
  atan: () => Math.atan,
  sinh: () => Math.sinh,
  cosh: () => Math.cosh,
  tanh: () => Math.tanh,
  asinh: () => Math.asinh,
  acosh: () => Math.acosh,
  atanh: () => Math.atanh,
};

/** Applies `f` to every element of `x` into a fresh array of `aval`. */
function map1(x: HostArray, aval: ShapedArray, f: Scalar1): HostArray {
  const out = HostArray.forAval(aval);
  const a = x.data;
  const o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = f(a[i]);
  return out;
}

function unaryRule<P extends Exclude<UnaryElementwise, "integer_pow">>(prim: P): InterpRule<P> {
  return ([x], _params, [aval]) => [map1(x, aval, UNARY[prim](x.dtype))];
}

/** The multiplication of a dtype, rounded to it at each step (XLA multiplies in the element type). */
function mulFor(d: DType): Scalar2 {
  if (d === "int32") return Math.imul;
  if (d === "uint32") return (a, b) => Math.imul(a, b) >>> 0;
  if (d === "bool") return (a, b) => a & b;
  return (a, b) => roundToDType(d, a * b);
}

/** x ** y by binary exponentiation in the element type, as JAX lowers integer_pow. */
const integerPow: InterpRule<"integer_pow"> = ([x], { y }, [aval]) => {
  const mul = mulFor(x.dtype);
  const n = Math.abs(y);
  return [
    map1(x, aval, (v) => {
      if (n === 0) return 1;
      let acc: number | null = null;
      let base = v;
      for (let e = n; e > 0; ) {
        if (e % 2 === 1) acc = acc === null ? base : mul(acc, base);
        e = Math.floor(e / 2);
        if (e > 0) base = mul(base, base);
      }
      return y < 0 ? 1 / (acc as number) : (acc as number);
    }),
  ];
};

// --- binary ------------------------------------------------------------------------

/** Scalar function of each binary op for the operands' dtype; integer results wrapped. */
const BINARY: Record<BinaryElementwise, (d: DType) => Scalar2> = {
  add: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(a + b);
  },
  sub: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(a - b);
  },
  mul: (d) => (isFloat(d) ? (a, b) => a * b : mulFor(d)),
  div: (d) => (isInt(d) ? (a, b) => intDiv(a, b, d) : (a, b) => a / b),
  rem: (d) => (isInt(d) ? intRem : (a, b) => a % b),
  pow: () => powC,
  max: () => Math.max,
  min: () => Math.min,
  atan2: () => Math.atan2,
  and: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(a & b);
  },
  or: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(a | b);
  },
  xor: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(a ^ b);
  },
  eq: () => (a, b) => (a === b ? 1 : 0),
  ne: () => (a, b) => (a !== b ? 1 : 0),
  lt: () => (a, b) => (a < b ? 1 : 0),
  le: () => (a, b) => (a <= b ? 1 : 0),
  gt: () => (a, b) => (a > b ? 1 : 0),
  ge: () => (a, b) => (a >= b ? 1 : 0),
  shift_left: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(shiftLeft(a, b));
  },
  shift_right_logical: (d) => {
    const w = wrapFor(d);
    return (a, b) => w(shiftRightLogical(a, b));
  },
};

function binaryRule<P extends BinaryElementwise>(prim: P): InterpRule<P> {
  return ([x, y], _params, [aval]) => {
    const f = BINARY[prim](x.dtype);
    const out = HostArray.forAval(aval);
    const a = x.data;
    const b = y.data;
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = f(a[i], b[i]);
    return [out];
  };
}

// --- the rest of group A -----------------------------------------------------------

/** Reads element i of an operand that is either full-shaped or a scalar broadcast. */
const at = (x: HostArray, i: number): number => (x.ndim === 0 ? x.data[0] : x.data[i]);

const selectN: InterpRule<"select_n"> = ([which, ...cases], _params, [aval]) => {
  const out = HostArray.forAval(aval);
  const last = cases.length - 1;
  for (let i = 0; i < out.data.length; i++) {
    const w = Math.min(Math.max(at(which, i), 0), last); // out-of-range int selectors clamp
    out.data[i] = cases[w].data[i];
  }
  return [out];
};

const clamp: InterpRule<"clamp"> = ([lo, x, hi], _params, [aval]) => {
  const out = HostArray.forAval(aval);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(Math.max(x.data[i], at(lo, i)), at(hi, i));
  return [out];
};

/** One element converted as XLA's convert: float->int truncates and saturates (NaN -> 0),
 * int->int wraps mod 2^32, anything->bool is x != 0. */
function converter(from: DType, to: DType): Scalar1 {
  if (to === "bool") return (x) => (x !== 0 ? 1 : 0);
  if (isFloat(to) || isFloat(from)) return (x) => roundToDType(to, x);
  return wrapFor(to);
}

const convertElementType: InterpRule<"convert_element_type"> = ([x], { newDtype }, [aval]) => [
  map1(x, aval, converter(x.dtype, newDtype)),
];

const bitcastConvertType: InterpRule<"bitcast_convert_type"> = ([x], _params, [aval]) => {
  const out = HostArray.forAval(aval);
  if (x.dtype === aval.dtype) out.data.set(x.data);
  else new Uint8Array(out.data.buffer).set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  return [out];
};

const stopGradient: InterpRule<"stop_gradient"> = ([x], _params, [aval]) => [map1(x, aval, (v) => v)];

const threefry2x32: InterpRule<"threefry2x32"> = ([k0, k1, x0, x1], _params, [a0, a1]) => {
  const y0 = HostArray.forAval(a0);
  const y1 = HostArray.forAval(a1);
  const pair = new Uint32Array(2);
  for (let i = 0; i < y0.data.length; i++) {
    threefry2x32Block(k0.data[i], k1.data[i], x0.data[i], x1.data[i], pair);
    y0.data[i] = pair[0];
    y1.data[i] = pair[1];
  }
  return [y0, y1];
};

// --- reductions --------------------------------------------------------------------

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

/** Identity element of each reduction's monoid for a dtype. */
const IDENTITY: Record<Reduction, (d: DType) => number> = {
  reduce_sum: () => 0,
  reduce_prod: () => 1,
  reduce_max: (d) => (isFloat(d) ? -Infinity : d === "int32" ? INT32_MIN : 0),
  reduce_min: (d) => (isFloat(d) ? Infinity : d === "int32" ? INT32_MAX : d === "uint32" ? UINT32_MAX : 1),
  reduce_and: (d) => (d === "bool" ? 1 : d === "int32" ? -1 : UINT32_MAX),
  reduce_or: () => 0,
};

/** The binary op each reduction / scan folds with. Floats accumulate in f64 (rounded once on store). */
const MONOID_OP: Record<Reduction | Cumulative, BinaryElementwise> = {
  reduce_sum: "add", reduce_prod: "mul", reduce_max: "max", reduce_min: "min", reduce_and: "and", reduce_or: "or",
  cumsum: "add", cumprod: "mul", cummax: "max", cummin: "min",
};

/** For each flat input index, the flat output index after dropping `axes`. */
function reducedIndex(shape: readonly number[], axes: readonly number[]): Int32Array {
  const kept = shape.map((_, i) => !axes.includes(i));
  const outStrides = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (kept[i]) {
      outStrides[i] = s;
      s *= shape[i];
    }
  }
  const map = new Int32Array(sizeOf(shape));
  const idx = new Array<number>(shape.length).fill(0);
  let o = 0;
  for (let k = 0; k < map.length; k++) {
    map[k] = o;
    for (let d = shape.length - 1; d >= 0; d--) {
      o += outStrides[d];
      if (++idx[d] < shape[d]) break;
      o -= outStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return map;
}

function reductionRule<P extends Reduction>(prim: P): InterpRule<P> {
  return ([x], { axes }, [aval]) => {
    const f = BINARY[MONOID_OP[prim]](x.dtype);
    const acc = new Float64Array(sizeOf(aval.shape)).fill(IDENTITY[prim](x.dtype));
    const map = reducedIndex(x.shape, axes);
    for (let k = 0; k < map.length; k++) acc[map[k]] = f(acc[map[k]], x.data[k]);
    const out = HostArray.forAval(aval);
    out.data.set(acc);
    return [out];
  };
}

function argRule<P extends "argmax" | "argmin">(prim: P): InterpRule<P> {
  const better = prim === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  return ([x], { axis }, [aval]) => {
    const out = HostArray.forAval(aval);
    const { outer, n, inner } = splitAxis(x.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let best = 0;
        let bestVal = x.data[base];
        for (let j = 1; j < n && bestVal === bestVal; j++) {
          const v = x.data[base + j * inner];
          if (v !== v || better(v, bestVal)) {
            best = j;
            bestVal = v; // a NaN wins and ends the scan (first NaN, like numpy)
          }
        }
        out.data[o * inner + i] = best;
      }
    }
    return [out];
  };
}

function cumulativeRule<P extends Cumulative>(prim: P): InterpRule<P> {
  return ([x], { axis, reverse }, [aval]) => {
    const f = BINARY[MONOID_OP[prim]](x.dtype);
    const out = HostArray.forAval(aval);
    const { outer, n, inner } = splitAxis(x.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let acc = 0;
        for (let t = 0; t < n; t++) {
          const k = base + (reverse ? n - 1 - t : t) * inner;
          acc = t === 0 ? x.data[k] : f(acc, x.data[k]);
          out.data[k] = acc;
        }
      }
    }
    return [out];
  };
}

// --- the table ---------------------------------------------------------------------

const UNARY_NO_POW = UNARY_ELEMENTWISE.filter((p): p is Exclude<UnaryElementwise, "integer_pow"> => p !== "integer_pow");

export const elementwiseInterpRules: InterpRuleTable<ElementwiseGroupPrimitive> = {
  ...familyTable(UNARY_NO_POW, unaryRule),
  integer_pow: integerPow,
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
