// lax elementwise wrappers: one thin function per unary/binary primitive,
// plus select_n, clamp, dtype conversions, stop_gradient and threefry2x32.
// As in JAX, binary ops need equal shapes and dtypes; JS numbers are the
// exception: they become weak scalars of the other operand's dtype.

import { checkDType, type DType } from "../core/dtype";
import { ArgumentError } from "../core/errors";
import { bind, bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import type { BinaryElementwise, UnaryElementwise } from "../core/primitives";
import { broadcastScalar, checkArrayLike, laxOperands, scalarArray, toTracer } from "./util";
import { checkOptions, opt } from "../core/options";

function unary(prim: Exclude<UnaryElementwise, "integer_pow">): (x: ArrayLike) => Tracer {
  return (x) => bind1(prim, [toTracer(prim, x)], {});
}

function binary(prim: BinaryElementwise): (x: ArrayLike, y: ArrayLike) => Tracer {
  return (x, y) => bind1(prim, laxOperands(prim, [x, y]), {});
}

// --- unary ---
export const neg = unary("neg");
export const sign = unary("sign");
export const floor = unary("floor");
export const ceil = unary("ceil");
/** Rounds half away from zero (lax.round's default). */
export const round = unary("round");
export const isFinite = unary("is_finite");
export const abs = unary("abs");
/** Logical not for bool, bitwise not for integers. */
export const not = unary("not");
export const exp = unary("exp");
export const log = unary("log");
export const log1p = unary("log1p");
export const expm1 = unary("expm1");
export const sqrt = unary("sqrt");
export const rsqrt = unary("rsqrt");
export const logistic = unary("logistic");
export const erf = unary("erf");
export const erfInv = unary("erf_inv");
export const sin = unary("sin");
export const cos = unary("cos");
export const tan = unary("tan");
export const asin = unary("asin");
export const acos = unary("acos");
export const atan = unary("atan");
export const sinh = unary("sinh");
export const cosh = unary("cosh");
export const tanh = unary("tanh");
export const asinh = unary("asinh");
export const acosh = unary("acosh");
export const atanh = unary("atanh");

/** x ** y for a static integer y. */
export function integerPow(x: ArrayLike, y: number): Tracer {
  if (!Number.isInteger(y)) throw new ArgumentError(`integerPow: exponent must be an integer, got ${y}`);
  return bind1("integer_pow", [toTracer("integerPow", x)], { y });
}

export function square(x: ArrayLike): Tracer {
  return integerPow(x, 2);
}

export function reciprocal(x: ArrayLike): Tracer {
  const t = toTracer("reciprocal", x);
  return div(broadcastScalar(scalarArray(1, t.dtype), t.shape), t);
}

// --- binary ---
export const add = binary("add");
export const sub = binary("sub");
export const mul = binary("mul");
/** Division; for integers it truncates toward zero (C semantics, as XLA). */
export const div = binary("div");
/** Remainder with the sign of the dividend (C fmod). */
export const rem = binary("rem");
export const pow = binary("pow");
export const max = binary("max");
export const min = binary("min");
export const atan2 = binary("atan2");
export const and = binary("and");
export const or = binary("or");
export const xor = binary("xor");
export const eq = binary("eq");
export const ne = binary("ne");
export const lt = binary("lt");
export const le = binary("le");
export const gt = binary("gt");
export const ge = binary("ge");
export const shiftLeft = binary("shift_left");
export const shiftRightLogical = binary("shift_right_logical");

/**
 * x >> y with the sign bit copied in (lax.shift_right_arithmetic); for uint32 it is
 * the logical shift. Composed as ~((~x) >>> y) for negative x, so a shift by 32 or
 * more gives -1 for negative x and 0 otherwise, as XLA defines it.
 */
export function shiftRightArithmetic(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = laxOperands("shiftRightArithmetic", [x, y]);
  if (a.dtype !== "int32") return bind1("shift_right_logical", [a, b], {});
  const logical = bind1("shift_right_logical", [a, b], {});
  const fromComplement = bind1("not", [bind1("shift_right_logical", [bind1("not", [a], {}), b], {})], {});
  const negative = bind1("lt", [a, broadcastScalar(scalarArray(0, "int32"), a.shape)], {});
  return bind1("select_n", [negative, logical, fromComplement], {});
}

// --- select / clamp ---

/** select_n(which, ...cases): which is bool (2 cases: false -> cases[0]) or int32. */
export function selectN(which: ArrayLike, ...cases: ArrayLike[]): Tracer {
  if (cases.length === 0) throw new ArgumentError("selectN: needs at least one case");
  const w = toTracer("selectN", which);
  const cs = laxOperands("selectN", cases);
  return bind1("select_n", [w, ...cs], {});
}

/** JAX's lax.select(pred, onTrue, onFalse). */
export function select(pred: ArrayLike, onTrue: ArrayLike, onFalse: ArrayLike): Tracer {
  return selectN(pred, onFalse, onTrue);
}

/** clamp(lo, x, hi): lo/hi are scalars or x-shaped; JS numbers take x's dtype. */
export function clamp(lo: ArrayLike, x: ArrayLike, hi: ArrayLike): Tracer {
  const xt = toTracer("clamp", x);
  const conv = (b: ArrayLike) => (isTracer(checkArrayLike("clamp", b)) ? (b as Tracer) : scalarArray(b as number, xt.dtype));
  return bind1("clamp", [conv(lo), xt, conv(hi)], {});
}

// --- dtypes ---

export function convertElementType(x: ArrayLike, newDtype: DType, opts: { weakType?: boolean } = {}): Tracer {
  checkOptions("lax.convertElementType", opts, { weakType: opt.boolean });
  checkDType(newDtype, "convertElementType");
  const t = toTracer("convertElementType", x);
  const weakType = opts.weakType ?? false;
  if (t.dtype === newDtype && t.weakType === weakType) return t;
  return bind1("convert_element_type", [t], { newDtype, weakType });
}

export function bitcastConvertType(x: ArrayLike, newDtype: DType): Tracer {
  checkDType(newDtype, "bitcastConvertType");
  return bind1("bitcast_convert_type", [toTracer("bitcastConvertType", x)], { newDtype });
}

export function stopGradient(x: ArrayLike): Tracer {
  return bind1("stop_gradient", [toTracer("stopGradient", x)], {});
}

/** threefry2x32(key0, key1, x0, x1) -> [y0, y1]; all uint32 of one shape. */
export function threefry2x32(key0: ArrayLike, key1: ArrayLike, x0: ArrayLike, x1: ArrayLike): [Tracer, Tracer] {
  const args = [key0, key1, x0, x1].map((a) => toTracer("threefry2x32", a, "uint32"));
  const outs = bind("threefry2x32", args, {});
  return [outs[0], outs[1]];
}

