// More of numpy's elementwise functions, composed from the primitive ones
// with jax.numpy's formulas and dtype rules (floating results promote ints
// to float32): signbit, copysign, logaddexp/logaddexp2, hypot, heaviside,
// sinc, fmax/fmin (NaN-ignoring), deg2rad/rad2deg, isclose.

import { isFloat } from "../core/dtype";
import { checkOptions, opt } from "../core/options";
import { bind1, type ArrayLike, type Tracer } from "../core/trace";
import * as ew from "./elementwise";
import { asInexact, asTracer, promoteArgs, toInexact } from "./promote";
import { zerosLike } from "./creation";

function inexactPair(where: string, x: ArrayLike, y: ArrayLike): [Tracer, Tracer] {
  const [a, b] = promoteArgs(where, [x, y], { toDType: toInexact }).args;
  return [a, b];
}

/** True where the sign bit is set (so -0.0 and -NaN count as negative); x < 0 for integers. */
export function signbit(x: ArrayLike): Tracer {
  const t = asTracer("signbit", x);
  if (t.dtype === "bool" || t.dtype === "uint32") return zerosLike(t, "bool");
  if (!isFloat(t.dtype)) return ew.less(t, 0);
  const asF32 = t.dtype === "float32" ? t : ew.astype(t, "float32");
  return ew.less(bind1("bitcast_convert_type", [asF32], { newDtype: "int32" }), 0);
}

/** |x1| with the sign (bit) of x2. */
export function copysign(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = inexactPair("copysign", x1, x2);
  return ew.where(signbit(b), ew.negative(ew.abs(a)), ew.abs(a));
}

/** log(exp(x1) + exp(x2)) without overflow; equal infinities give that infinity. */
export function logaddexp(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = inexactPair("logaddexp", x1, x2);
  const delta = ew.subtract(a, b);
  const amax = ew.maximum(a, b);
  return ew.where(ew.isnan(delta), ew.add(a, b), ew.add(amax, ew.log1p(ew.exp(ew.negative(ew.abs(delta))))));
}

/** log2(2^x1 + 2^x2) without overflow. */
export function logaddexp2(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = inexactPair("logaddexp2", x1, x2);
  const delta = ew.subtract(a, b);
  const amax = ew.maximum(a, b);
  const tail = ew.divide(ew.log1p(ew.exp2(ew.negative(ew.abs(delta)))), Math.LN2);
  return ew.where(ew.isnan(delta), ew.add(a, b), ew.add(amax, tail));
}

/** sqrt(x1² + x2²) scaled by the larger magnitude (no overflow for large inputs); inf if either is infinite. */
export function hypot(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a0, b0] = inexactPair("hypot", x1, x2);
  const a = ew.abs(a0);
  const b = ew.abs(b0);
  const hi = ew.maximum(a, b);
  const lo = ew.minimum(a, b);
  const zero = ew.equal(hi, 0);
  const ratio = ew.divide(lo, ew.where(zero, 1, hi));
  const r = ew.where(zero, hi, ew.multiply(hi, ew.sqrt(ew.add(1, ew.square(ratio)))));
  return ew.where(ew.logicalOr(ew.isposinf(a), ew.isposinf(b)), Infinity, r);
}

/** 0 for x1 < 0, x2 at x1 = 0, 1 for x1 > 0. */
export function heaviside(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = inexactPair("heaviside", x1, x2);
  return ew.where(ew.less(a, 0), 0, ew.where(ew.greater(a, 0), 1, b));
}

/** The normalized sinc sin(πx)/(πx), 1 at 0 (with derivative 0 there). */
export function sinc(x: ArrayLike): Tracer {
  const t = asInexact("sinc", x);
  const zero = ew.equal(t, 0);
  const pix = ew.multiply(Math.PI, ew.where(zero, 1, t));
  return ew.where(zero, 1, ew.divide(ew.sin(pix), pix));
}

/** Elementwise maximum that ignores NaN (NaN only where both are NaN). */
export function fmax(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = promoteArgs("fmax", [x1, x2]).args;
  return ew.where(ew.isnan(a), b, ew.where(ew.isnan(b), a, ew.maximum(a, b)));
}

/** Elementwise minimum that ignores NaN (NaN only where both are NaN). */
export function fmin(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = promoteArgs("fmin", [x1, x2]).args;
  return ew.where(ew.isnan(a), b, ew.where(ew.isnan(b), a, ew.minimum(a, b)));
}

/** Degrees to radians. */
export function deg2rad(x: ArrayLike): Tracer {
  return ew.multiply(asInexact("deg2rad", x), Math.PI / 180);
}
export const radians = deg2rad;

/** Radians to degrees. */
export function rad2deg(x: ArrayLike): Tracer {
  return ew.multiply(asInexact("rad2deg", x), 180 / Math.PI);
}
export const degrees = rad2deg;

export interface IscloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN is close to NaN when true. */
  equalNan?: boolean;
}

/** Elementwise |a - b| <= atol + rtol·|b|; equal infinities are close; NaN only with equalNan. */
export function isclose(a: ArrayLike, b: ArrayLike, opts: IscloseOptions = {}): Tracer {
  checkOptions("np.isclose", opts, { rtol: opt.nonNegative, atol: opt.nonNegative, equalNan: opt.boolean });
  const [x, y] = promoteArgs("isclose", [a, b], { toDType: toInexact }).args;
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  const finiteClose = ew.lessEqual(ew.abs(ew.subtract(x, y)), ew.add(atol, ew.multiply(rtol, ew.abs(y))));
  const bothInf = ew.logicalAnd(ew.isinf(x), ew.isinf(y));
  const out = ew.where(bothInf, ew.equal(x, y), ew.logicalAnd(finiteClose, ew.logicalAnd(ew.isfinite(x), ew.isfinite(y))));
  if (!opts.equalNan) return out;
  return ew.logicalOr(out, ew.logicalAnd(ew.isnan(x), ew.isnan(y)));
}
