// Scalar math for the reference interpreter: the special functions JS lacks
// (erf, erfc, erfinv), XLA's rounding / NaN / integer-overflow conventions,
// and the Threefry-2x32 block cipher. Everything here works on JS numbers
// (f64); callers round to the element dtype by storing into a TypedArray.

import type { DType } from "../../core/dtype";

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1 / sqrt(pi)

/**
 * erf for |x| < 2.5 from the everywhere-positive series
 *   erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*5*...*(2n+1)),
 * which has no cancellation (each term is the previous times 2x^2/(2n+3)).
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (Math.abs(term) <= Math.abs(sum) * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc for x >= 2.5 from the continued fraction
 *   erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 * evaluated bottom-up from a fixed depth (ample for x >= 2.5: checked
 * against the series in the overlap region by the tests).
 */
function erfcContinuedFraction(x: number): number {
  let f = x;
  for (let k = 120; k >= 1; k--) f = x + k / 2 / f;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

const ERF_SPLIT = 2.5;

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < ERF_SPLIT) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= ERF_SPLIT) return erfcContinuedFraction(x);
  if (x <= -ERF_SPLIT) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

/**
 * Inverse of erf on (-1, 1): an initial guess from Winitzki's closed form
 * (a = 0.147, ~2e-3 relative error), then Halley steps on erf(x) = y. For
 * |y| > 1/2 the residual is formed as (1-|y|) - erfc(x), which keeps full
 * relative precision as |y| -> 1.
 */
export function erfInv(y: number): number {
  if (Number.isNaN(y) || y < -1 || y > 1) return NaN;
  if (y === 1) return Infinity;
  if (y === -1) return -Infinity;
  if (y === 0) return y; // keeps -0
  const a = Math.abs(y);
  const oneMinusA = 1 - a; // exact for a >= 1/2
  const ln = Math.log(oneMinusA * (1 + a)); // ln(1 - a^2)
  const A = 0.147;
  const t = 2 / (Math.PI * A) + ln / 2;
  let x = Math.sqrt(Math.sqrt(t * t - ln / A) - t);
  for (let i = 0; i < 8; i++) {
    const f = a <= 0.5 ? erf(x) - a : oneMinusA - erfc(x);
    const fp = TWO_OVER_SQRT_PI * Math.exp(-x * x);
    if (fp === 0) break;
    const step = f / (fp + x * f); // Halley: f'' = -2x f'
    x -= step;
    if (Math.abs(step) <= 1e-16 * x) break;
  }
  return y < 0 ? -x : x;
}

/** lax.round's default: round half away from zero (keeps -0, NaN, +-inf). */
export function roundHalfAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** sign with sign(+-0) = +-0 and sign(NaN) = NaN. */
export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x;
}

/** C's pow (as XLA): pow(1, y) = 1 and pow(-1, +-inf) = 1, where JS gives NaN. */
export function powC(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** Wraps an exact integer result into the dtype's range (ints mod 2^32, bool to 0/1); floats pass. */
export function wrapFor(dtype: DType): (v: number) => number {
  switch (dtype) {
    case "int32":
      return (v) => v | 0;
    case "uint32":
      return (v) => v >>> 0;
    case "bool":
      return (v) => (v ? 1 : 0);
    default:
      return (v) => v;
  }
}

/**
 * Integer division truncating toward zero, with XLA's answers for the cases
 * C leaves undefined: x / 0 = -1 (all bits set), INT_MIN / -1 = INT_MIN.
 */
export function intDiv(a: number, b: number, dtype: DType): number {
  if (b === 0) return dtype === "uint32" ? 0xffffffff : -1;
  return wrapFor(dtype)(Math.trunc(a / b));
}

/** Integer remainder with the dividend's sign (C %); x % 0 = x, INT_MIN % -1 = 0. */
export function intRem(a: number, b: number): number {
  return b === 0 ? a : a % b;
}

/** 32-bit shifts as XLA defines them: a shift by >= 32 (unsigned) gives 0. */
export function shiftLeft(a: number, b: number): number {
  return b >>> 0 >= 32 ? 0 : a << b;
}
export function shiftRightLogical(a: number, b: number): number {
  return b >>> 0 >= 32 ? 0 : a >>> b;
}

// --- Threefry-2x32 (Random123), 20 rounds, as JAX's threefry2x32_p -----------

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

const rotl32 = (v: number, r: number): number => ((v << r) | (v >>> (32 - r))) >>> 0;

/** Encrypts the counter (x0, x1) under key (k0, k1); writes the two output words to out[0..1]. */
export function threefry2x32Block(k0: number, k1: number, x0: number, x1: number, out: Uint32Array | number[]): void {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let a = (x0 + ks[0]) >>> 0;
  let b = (x1 + ks[1]) >>> 0;
  for (let round = 0; round < 20; round++) {
    a = (a + b) >>> 0;
    b = (rotl32(b, ROTATIONS[round % 8]) ^ a) >>> 0;
    if (round % 4 === 3) {
      const s = (round + 1) / 4;
      a = (a + ks[s % 3]) >>> 0;
      b = (b + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  out[0] = a >>> 0;
  out[1] = b >>> 0;
}
