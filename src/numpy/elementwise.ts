// numpy elementwise functions over lax: arithmetic with numpy semantics
// (true division, floor division and remainder with the divisor's sign),
// unary math (ints promoted to float32 as JAX does), comparisons, logical and
// bitwise ops, where/clip, and host-side allclose. All binary/ternary ops go
// through promote.ts for JAX dtype promotion and numpy broadcasting.

import { Array } from "../core/array";
import { checkDType, isFloat, isInt, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, TracerError, asCalledFrom } from "../core/errors";
import { applyComposite } from "../core/eval_trace";
import { broadcastShapes, fmtValue, sizeOf } from "../core/shape";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { asInexact, asTracer, broadcastTo, checkArg, promoteArgs, requireNumeric, toBool, toInexact } from "./promote";
import { checkOptions, opt } from "../core/options";
import { shiftRightArithmetic } from "../lax/elementwise";

type Bin = (x: ArrayLike, y: ArrayLike) => Tracer;
type Un = (x: ArrayLike) => Tracer;

function binop(where: string, prim: "add" | "sub" | "mul" | "max" | "min" | "atan2" | "pow", opts: { inexact?: boolean; numeric?: boolean } = {}): Bin {
  const promoted = (x: ArrayLike, y: ArrayLike) => {
    const p = promoteArgs(where, [x, y], opts.inexact ? { toDType: toInexact } : {});
    if (opts.numeric && p.dtype === "bool") throw new DTypeError(`${where}: not supported for bool operands, got ${fmt(x)} and ${fmt(y)}`);
    return bind1(prim, p.args, {});
  };
  // Eagerly, promotion and broadcasting fuse with the op (no temporaries).
  return (x, y) => applyComposite(where, promoted, [x, y]);
}

function fmt(x: ArrayLike): string {
  return isTracer(x) ? x.aval.str() : `${typeof x} ${String(x)}`;
}

function promotedAdd(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("add", [x, y]);
  return bind1(p.dtype === "bool" ? "or" : "add", p.args, {});
}
/** numpy add; for bools it is logical or (as numpy). */
export function add(x: ArrayLike, y: ArrayLike): Tracer {
  return applyComposite("add", promotedAdd, [x, y]);
}
export const subtract: Bin = binop("subtract", "sub", { numeric: true });
function promotedMultiply(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("multiply", [x, y]);
  return bind1(p.dtype === "bool" ? "and" : "mul", p.args, {});
}
/** numpy multiply; for bools it is logical and (as numpy). */
export function multiply(x: ArrayLike, y: ArrayLike): Tracer {
  return applyComposite("multiply", promotedMultiply, [x, y]);
}
export const maximum: Bin = binop("maximum", "max");
export const minimum: Bin = binop("minimum", "min");
export const arctan2: Bin = binop("arctan2", "atan2", { inexact: true });

function promotedDivide(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("divide", [x, y], { toDType: toInexact });
  return bind1("div", p.args, {});
}
/** True division: integer operands give float32. */
export function divide(x: ArrayLike, y: ArrayLike): Tracer {
  return applyComposite("divide", promotedDivide, [x, y]);
}
export const trueDivide = divide;

function signOfInt(x: Tracer): Tracer {
  return bind1("sign", [x], {});
}

/** Floor division (rounds toward -inf), as numpy's //. */
export function floorDivide(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("floorDivide", [x, y]);
  const [a, b] = p.args;
  if (p.dtype === "bool") throw new DTypeError(`floorDivide: not supported for bool operands, got ${fmt(x)} and ${fmt(y)}`);
  if (isFloat(p.dtype)) return bind1("floor", [bind1("div", [a, b], {})], {});
  const q = bind1("div", [a, b], {});
  if (p.dtype === "uint32") return q;
  // Truncated quotient is one too large when the signs differ and the division is inexact.
  const r = bind1("rem", [a, b], {});
  const zero = zerosOf(r);
  const adjust = bind1("and", [bind1("ne", [signOfInt(a), signOfInt(b)], {}), bind1("ne", [r, zero], {})], {});
  const one = full1(q, 1);
  return bind1("select_n", [adjust, q, bind1("sub", [q, one], {})], {});
}

/** numpy remainder (mod): the result has the sign of the divisor. */
export function remainder(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("remainder", [x, y]);
  const [a, b] = p.args;
  if (p.dtype === "bool") throw new DTypeError(`remainder: not supported for bool operands, got ${fmt(x)} and ${fmt(y)}`);
  const r = bind1("rem", [a, b], {});
  if (p.dtype === "uint32") return r;
  const zero = zerosOf(r);
  const rNeg = bind1("lt", [r, zero], {});
  const bNeg = bind1("lt", [b, zerosOf(b)], {});
  const fix = bind1("and", [bind1("ne", [r, zero], {}), bind1("ne", [rNeg, bNeg], {})], {});
  return bind1("select_n", [fix, r, bind1("add", [r, b], {})], {});
}
export const mod = remainder;

/** C-style remainder (sign of the dividend), numpy's fmod. */
export function fmod(x: ArrayLike, y: ArrayLike): Tracer {
  const p = promoteArgs("fmod", [x, y]);
  return bind1("rem", p.args, {});
}

/** [floorDivide(x, y), remainder(x, y)]. */
export function divmod(x: ArrayLike, y: ArrayLike): [Tracer, Tracer] {
  return asCalledFrom("divmod", () => {
    return [floorDivide(x, y), remainder(x, y)];
  });
}

function zerosOf(x: Tracer): Tracer {
  return full1(x, 0);
}

function full1(x: Tracer, v: number): Tracer {
  const s = Array.scalar(v, x.dtype, false);
  return x.ndim === 0 ? s : bind1("broadcast_in_dim", [s], { shape: [...x.shape], broadcastDimensions: [] });
}

/**
 * x ** y. A JS integer exponent uses integer_pow (exact for ints); otherwise the
 * float pow is used, and integer results are rounded back (exact while |result| < 2^24).
 */
export function power(x: ArrayLike, y: ArrayLike): Tracer {
  checkArg("power", x);
  checkArg("power", y);
  if (typeof y === "number" && Number.isInteger(y) && Math.abs(y) <= 64) {
    const xt = asTracer("power", x);
    const d = promoteArgs("power", [xt, y], { broadcast: false });
    const base = d.args[0];
    if (base.dtype === "bool") throw new DTypeError(`power: not supported for bool operands, got ${base.aval.str()}`);
    if (y < 0 && isInt(base.dtype)) throw new DTypeError(`power: integers to negative integer powers are not allowed, got ${base.aval.str()} ** ${y}`);
    return bind1("integer_pow", [base], { y });
  }
  const p = promoteArgs("power", [x, y]);
  if (p.dtype === "bool") throw new DTypeError(`power: not supported for bool operands, got ${fmt(x)} and ${fmt(y)}`);
  if (isFloat(p.dtype)) return bind1("pow", p.args, {});
  return integerPower(p.args[0], p.args[1]);
}

/**
 * x ** y for integer arrays, exact and wrapping modulo 2^32 as numpy's: binary
 * exponentiation over all 32 bits of y (JAX's _pow_int_int stops at 6 bits, which
 * is only right before overflow). A negative exponent truncates 1/x^|y| toward
 * zero: ±1 give ±1, every other base 0 (numpy raises there; a traced value cannot).
 */
function integerPower(x: Tracer, y: Tracer): Tracer {
  const dtype = x.dtype;
  const full = (v: number) => broadcastTo(Array.scalar(v, dtype, false), x.shape);
  const one = full(1);
  let acc = one, base = x, bits = y;
  for (let i = 0; i < 32; i++) {
    const bitSet = bind1("ne", [bind1("and", [bits, one], {}), full(0)], {});
    acc = bind1("select_n", [bitSet, acc, bind1("mul", [acc, base], {})], {});
    if (i === 31) break;
    base = bind1("mul", [base, base], {});
    bits = bind1("shift_right_logical", [bits, one], {});
  }
  if (dtype === "uint32") return acc;
  const negativeExponent = bind1("lt", [y, full(0)], {});
  const unitBase = bind1("or", [bind1("eq", [x, one], {}), bind1("eq", [x, full(-1)], {})], {});
  const truncatedToZero = bind1("and", [negativeExponent, bind1("not", [unitBase], {})], {});
  return bind1("select_n", [truncatedToZero, acc, full(0)], {});
}
export const pow = power;

// --- unary ---

function mathUnary(where: string, prim: "exp" | "log" | "log1p" | "expm1" | "sqrt" | "rsqrt" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh" | "acosh" | "atanh" | "erf" | "erf_inv" | "logistic"): Un {
  return (x) => bind1(prim, [asInexact(where, x)], {});
}

export const exp = mathUnary("exp", "exp");
export const log = mathUnary("log", "log");
export const log1p = mathUnary("log1p", "log1p");
export const expm1 = mathUnary("expm1", "expm1");
export const sqrt = mathUnary("sqrt", "sqrt");
export const rsqrt = mathUnary("rsqrt", "rsqrt");
export const sin = mathUnary("sin", "sin");
export const cos = mathUnary("cos", "cos");
export const tan = mathUnary("tan", "tan");
export const arcsin = mathUnary("arcsin", "asin");
export const arccos = mathUnary("arccos", "acos");
export const arctan = mathUnary("arctan", "atan");
export const sinh = mathUnary("sinh", "sinh");
export const cosh = mathUnary("cosh", "cosh");
export const tanh = mathUnary("tanh", "tanh");
export const arcsinh = mathUnary("arcsinh", "asinh");
export const arccosh = mathUnary("arccosh", "acosh");
export const arctanh = mathUnary("arctanh", "atanh");
/** The error function (jax.scipy.special.erf; exported here for convenience). */
export const erf = mathUnary("erf", "erf");
export const erfinv = mathUnary("erfinv", "erf_inv");

export function exp2(x: ArrayLike): Tracer {
  const t = asInexact("exp2", x);
  return bind1("exp", [bind1("mul", [t, full1(t, Math.LN2)], {})], {});
}
export function log2(x: ArrayLike): Tracer {
  const t = asInexact("log2", x);
  return bind1("div", [bind1("log", [t], {}), full1(t, Math.LN2)], {});
}
export function log10(x: ArrayLike): Tracer {
  const t = asInexact("log10", x);
  return bind1("div", [bind1("log", [t], {}), full1(t, Math.LN10)], {});
}
export function cbrt(x: ArrayLike): Tracer {
  const t = asInexact("cbrt", x);
  const a = bind1("pow", [bind1("abs", [t], {}), full1(t, 1 / 3)], {});
  return bind1("mul", [bind1("sign", [t], {}), a], {});
}

export function negative(x: ArrayLike): Tracer {
  const t = asTracer("negative", x);
  if (t.dtype === "bool") throw new DTypeError(`negative: not supported for bool arrays (use logicalNot), got ${t.aval.str()}`);
  return bind1("neg", [t], {});
}

export function positive(x: ArrayLike): Tracer {
  return asTracer("positive", x);
}

export function abs(x: ArrayLike): Tracer {
  const t = asTracer("abs", x);
  if (t.dtype === "bool" || t.dtype === "uint32") return t;
  return bind1("abs", [t], {});
}
export const absolute = abs;
export const fabs = abs;

export function sign(x: ArrayLike): Tracer {
  const t = asTracer("sign", x);
  if (t.dtype === "bool") return t;
  return bind1("sign", [t], {});
}

function roundLike(where: string, prim: "floor" | "ceil"): Un {
  return (x) => {
    const t = asTracer(where, x);
    if (!isFloat(t.dtype)) return t;
    return bind1(prim, [t], {});
  };
}
export const floor = roundLike("floor", "floor");
export const ceil = roundLike("ceil", "ceil");

export function trunc(x: ArrayLike): Tracer {
  const t = asTracer("trunc", x);
  if (!isFloat(t.dtype)) return t;
  const neg = bind1("lt", [t, zerosOf(t)], {});
  return bind1("select_n", [neg, bind1("floor", [t], {}), bind1("ceil", [t], {})], {});
}

function roundHalfEven(t: Tracer): Tracer {
  const r = bind1("round", [t], {}); // half away from zero
  const diff = bind1("abs", [bind1("sub", [r, t], {})], {});
  const isHalf = bind1("eq", [diff, full1(t, 0.5)], {});
  const even = bind1("mul", [bind1("round", [bind1("mul", [t, full1(t, 0.5)], {})], {}), full1(t, 2)], {});
  return bind1("select_n", [isHalf, r, even], {});
}

/** Round to `decimals` places, halves to even (numpy's round / around). */
export function round(x: ArrayLike, decimals = 0): Tracer {
  const t = asTracer("round", x);
  if (!Number.isInteger(decimals)) throw new ArgumentError(`round: decimals must be an integer, got ${decimals}`);
  if (!isFloat(t.dtype)) {
    if (decimals >= 0) return t;
    const f = bind1("convert_element_type", [t], { newDtype: "float32", weakType: false });
    const r = round(f, decimals);
    return bind1("convert_element_type", [r], { newDtype: t.dtype, weakType: t.weakType });
  }
  if (decimals === 0) return roundHalfEven(t);
  const scale = full1(t, 10 ** decimals);
  return bind1("div", [roundHalfEven(bind1("mul", [t, scale], {})), scale], {});
}
export const around = round;
export const rint = (x: ArrayLike): Tracer => asCalledFrom("rint", () => round(x, 0));

export function square(x: ArrayLike): Tracer {
  const t = asTracer("square", x);
  requireNumeric("square", t);
  return bind1("integer_pow", [t], { y: 2 });
}

/** 1 / x; for integer arrays this is integer division, as numpy's reciprocal. */
/** 1/x; integer and bool inputs are promoted to float32 first (as jnp.reciprocal), so reciprocal(0) is inf. */
export function reciprocal(x: ArrayLike): Tracer {
  return bind1("integer_pow", [asInexact("reciprocal", x)], { y: -1 });
}

export function isnan(x: ArrayLike): Tracer {
  const t = asTracer("isnan", x);
  if (!isFloat(t.dtype)) return full1(bind1("convert_element_type", [t], { newDtype: "bool", weakType: false }), 0);
  return bind1("ne", [t, t], {});
}

export function isfinite(x: ArrayLike): Tracer {
  const t = asTracer("isfinite", x);
  if (!isFloat(t.dtype)) return full1(bind1("convert_element_type", [t], { newDtype: "bool", weakType: false }), 1);
  return bind1("is_finite", [t], {});
}

export function isinf(x: ArrayLike): Tracer {
  const t = asTracer("isinf", x);
  if (!isFloat(t.dtype)) return full1(bind1("convert_element_type", [t], { newDtype: "bool", weakType: false }), 0);
  return bind1("eq", [bind1("abs", [t], {}), full1(t, Infinity)], {});
}

export function isposinf(x: ArrayLike): Tracer {
  const t = asTracer("isposinf", x);
  if (!isFloat(t.dtype)) return isinf(t);
  return bind1("eq", [t, full1(t, Infinity)], {});
}

export function isneginf(x: ArrayLike): Tracer {
  const t = asTracer("isneginf", x);
  if (!isFloat(t.dtype)) return isinf(t);
  return bind1("eq", [t, full1(t, -Infinity)], {});
}

/** Replace NaN by `nan`, +-inf by large finite values (or the given ones). */
export function nanToNum(x: ArrayLike, opts: { nan?: number; posinf?: number; neginf?: number } = {}): Tracer {
  checkOptions("np.nanToNum", opts, { nan: opt.number, posinf: opt.number, neginf: opt.number });
  const t = asTracer("nanToNum", x);
  if (!isFloat(t.dtype)) return t;
  const big = t.dtype === "float16" ? 65504 : 3.4028234663852886e38;
  let r = bind1("select_n", [isnan(t), t, full1(t, opts.nan ?? 0)], {});
  r = bind1("select_n", [isposinf(r), r, full1(t, opts.posinf ?? big)], {});
  return bind1("select_n", [isneginf(r), r, full1(t, opts.neginf ?? -big)], {});
}

// --- comparisons ---

function compare(where: string, prim: "eq" | "ne" | "lt" | "le" | "gt" | "ge"): Bin {
  return (x, y) => bind1(prim, promoteArgs(where, [x, y]).args, {});
}
export const equal = compare("equal", "eq");
export const notEqual = compare("notEqual", "ne");
export const less = compare("less", "lt");
export const lessEqual = compare("lessEqual", "le");
export const greater = compare("greater", "gt");
export const greaterEqual = compare("greaterEqual", "ge");

// --- logical / bitwise ---

function logical(where: string, prim: "and" | "or" | "xor"): Bin {
  return (x, y) => {
    const a = toBool(where, x);
    const b = toBool(where, y);
    return bind1(prim, promoteArgs(where, [a, b]).args, {});
  };
}
export const logicalAnd = logical("logicalAnd", "and");
export const logicalOr = logical("logicalOr", "or");
export const logicalXor = logical("logicalXor", "xor");
export function logicalNot(x: ArrayLike): Tracer {
  return bind1("not", [toBool("logicalNot", x)], {});
}

function bitwise(where: string, prim: "and" | "or" | "xor"): Bin {
  return (x, y) => {
    const p = promoteArgs(where, [x, y]);
    if (isFloat(p.dtype)) throw new DTypeError(`${where}: needs integer or bool operands, got ${fmt(x)} and ${fmt(y)}`);
    return bind1(prim, p.args, {});
  };
}
export const bitwiseAnd = bitwise("bitwiseAnd", "and");
export const bitwiseOr = bitwise("bitwiseOr", "or");
export const bitwiseXor = bitwise("bitwiseXor", "xor");
export function invert(x: ArrayLike): Tracer {
  const t = asTracer("invert", x);
  if (isFloat(t.dtype)) throw new DTypeError(`invert: needs an integer or bool operand, got ${t.aval.str()}`);
  return bind1("not", [t], {});
}
export const bitwiseNot = invert;

function shift(where: string, op: (a: Tracer, b: Tracer) => Tracer): Bin {
  return (x, y) => {
    const p = promoteArgs(where, [x, y]);
    if (!isInt(p.dtype)) throw new DTypeError(`${where}: needs integer operands, got ${fmt(x)} and ${fmt(y)}`);
    return op(p.args[0], p.args[1]);
  };
}
export const leftShift = shift("leftShift", (a, b) => bind1("shift_left", [a, b], {}));
/** numpy's right_shift: arithmetic (sign-filling) for int32, logical for uint32. */
export const rightShift = shift("rightShift", shiftRightArithmetic);

// --- where / clip ---

/** where(cond, x, y): x where cond is true, else y; all three broadcast together. */
export function where(condition: ArrayLike, x?: ArrayLike, y?: ArrayLike): Tracer {
  if (x === undefined || y === undefined) {
    throw new ArgumentError(
      "where: the one-argument form where(condition) (= nonzero) has a data-dependent shape and is not supported; pass both x and y",
    );
  }
  const c = toBool("where", condition);
  const p = promoteArgs("where", [x, y]);
  const shape = broadcastShapes("where", c.shape, p.shape);
  const [a, b] = p.args.map((t) => broadcastTo(t, shape));
  return bind1("select_n", [broadcastTo(c, shape), b, a], {});
}

/** clip(x, lo, hi) = minimum(maximum(x, lo), hi); either bound may be null. */
export function clip(x: ArrayLike, lo: ArrayLike | null = null, hi: ArrayLike | null = null): Tracer {
  return asCalledFrom("clip", () => {
    let r = asTracer("clip", x);
    if (lo === null && hi === null) throw new ArgumentError(`clip: at least one of lo and hi must be given (x ${r.aval.str()})`);
    if (lo !== null) r = maximum(r, lo);
    if (hi !== null) r = minimum(r, hi);
    return r;
  });
}

/** Cast to `dtype` (numpy's astype). */
export function astype(x: ArrayLike, dtype: DType): Tracer {
  checkDType(dtype, "astype");
  const t = asTracer("astype", x);
  if (t.dtype === dtype && !t.weakType) return t;
  return bind1("convert_element_type", [t], { newDtype: dtype, weakType: false });
}

// --- host-side comparisons ---

function hostData(where: string, x: ArrayLike): { data: globalThis.ArrayLike<number>; shape: readonly number[] } {
  if (typeof x === "number" || typeof x === "boolean") return { data: [Number(x)], shape: [] };
  if (!(x instanceof Array)) {
    if (!isTracer(x)) throw new ArgumentError(`${where}: expected an array or a JS number, got ${fmtValue(x)}`);
    throw new TracerError(`${where}: needs concrete arrays (it returns a JS boolean), got an abstract tracer ${x.aval.str()} inside a transformation`);
  }
  return { data: x.dataSync(), shape: x.shape };
}

/** Host-side: are all elements close (|a - b| <= atol + rtol * |b|)? Concrete arrays only. */
export function allclose(a: ArrayLike, b: ArrayLike, opts: { rtol?: number; atol?: number; equalNan?: boolean } = {}): boolean {
  checkOptions("np.allclose", opts, { rtol: opt.nonNegative, atol: opt.nonNegative, equalNan: opt.boolean });
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  const A = hostData("allclose", a);
  const B = hostData("allclose", b);
  const shape = broadcastShapes("allclose", A.shape, B.shape);
  const size = sizeOf(shape);
  const at = (h: typeof A, flat: number): number => {
    // index into a broadcast operand
    let idx = 0;
    let stride = 1;
    let rem = flat;
    const coords: number[] = [];
    for (let d = shape.length - 1; d >= 0; d--) {
      coords[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    const off = shape.length - h.shape.length;
    for (let d = h.shape.length - 1; d >= 0; d--) {
      const c = h.shape[d] === 1 ? 0 : coords[d + off];
      idx += c * stride;
      stride *= h.shape[d];
    }
    return h.data[idx];
  };
  for (let i = 0; i < size; i++) {
    const x = at(A, i);
    const y = at(B, i);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (opts.equalNan && Number.isNaN(x) && Number.isNaN(y)) continue;
      return false;
    }
    if (x === y) continue;
    // Unequal infinities are never close (|inf - y| <= rtol·|inf| would hold for -inf and any y).
    if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return false;
  }
  return true;
}

/** Host-side: same shape and equal elements; NaN equals NaN only with `equalNan` (jnp.array_equal's equal_nan). */
export function arrayEqual(a: ArrayLike, b: ArrayLike, opts: { equalNan?: boolean } = {}): boolean {
  checkOptions("np.arrayEqual", opts, { equalNan: opt.boolean });
  const A = hostData("arrayEqual", a);
  const B = hostData("arrayEqual", b);
  if (A.shape.length !== B.shape.length || A.shape.some((d, i) => d !== B.shape[i])) return false;
  for (let i = 0; i < A.data.length; i++) {
    const x = A.data[i];
    const y = B.data[i];
    if (x === y) continue;
    if (opts.equalNan && Number.isNaN(x) && Number.isNaN(y)) continue;
    return false;
  }
  return true;
}
