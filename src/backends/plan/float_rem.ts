// Float `rem` (C's fmod, as the interpreter's `%`: the sign of x, exact) as a
// DAG of float32 kernel ops, so np.fmod, np.remainder and friends fuse
// instead of running on the host. The remainder of two floats is always a
// float, but x - trunc(x/y)·y is not exact in float32 once the quotient has
// more than a few bits; so |x| is reduced modulo |y|·2^S for S = 275, 264,
// ..., 11, 0 — each step's quotient q is below 2^12 — with q·|y|·2^S formed
// exactly from |y| split into two 12-bit halves (Veltkamp), and q corrected
// when x/y rounded up to an integer. The node type is the caller's
// (transcendental.ts has the builder).

import type { F32Builder } from "./transcendental";

/** Bits of quotient each reduction step removes: q < 2^12 keeps q times a 12-bit half of |y| exact. */
const STEP_BITS = 11;
/** Steps to cover every quotient of float32 values: |x|/|y| < 2^128 / 2^-149 = 2^277 <= 2^(11·26). */
const STEPS = 26;
/** Veltkamp's splitting constant for float32: 2^12 + 1 splits a 24-bit significand into two 12-bit halves. */
const SPLITTER = 4097;
/**
 * |y| at least this is scaled (with |x|) by SCALE_DOWN, which keeps it a normal float32 and keeps every
 * product below 2^116, where neither the split nor q·|y|·2^S can overflow.
 */
const SCALED_FRAME = 2 ** -100;
const SCALE_DOWN = 2 ** -26;
/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * fmod(x, y): x when |x| < |y| (so ±0, and finite x over ±inf, come back unchanged), NaN for y = ±0,
 * x = ±inf or a NaN operand, else the exact remainder with x's sign (a zero remainder is ±0 as x).
 * Exact everywhere except when |x| is within 2^-12 of the largest float32 and |y| < 2^-100: there
 * one half-product overflows and the result is NaN.
 */
export function floatRem<N>(b: F32Builder<N>, x: N, y: N): N {
  const c = (v: number) => b.constant(v);
  const pick = (pred: N, onTrue: N, onFalse: N): N => b.op("select", pred, onFalse, onTrue);
  const ax = b.op("abs", x);
  const ay = b.op("abs", y);
  const scale = pick(b.less(ay, c(SCALED_FRAME)), c(1), c(SCALE_DOWN));
  let a = b.op("mul", ax, scale);
  const d = b.op("mul", ay, scale);
  const spread = b.op("mul", d, c(SPLITTER));
  const dHi = b.op("sub", spread, b.op("sub", spread, d));
  const dLo = b.op("sub", d, dHi);
  // d·2^S and its halves for each step, by exact doublings (inf once past the float32 range: such steps keep a).
  const divisors: { whole: N; hi: N; lo: N }[] = [{ whole: d, hi: dHi, lo: dLo }];
  for (let k = 1; k < STEPS; k++) {
    const prev = divisors[k - 1];
    const up = (v: N) => b.op("mul", v, c(2 ** STEP_BITS));
    divisors.push({ whole: up(prev.whole), hi: up(prev.hi), lo: up(prev.lo) });
  }
  for (let k = STEPS - 1; k >= 0; k--) {
    const { whole, hi, lo } = divisors[k];
    // q is the true quotient's integer part, or one more when a/whole rounded up to an integer (or, where
    // division is not correctly rounded, as WGSL's, one less): r is then off by one divisor, and corrected.
    const q = b.op("trunc", b.op("div", a, whole));
    const r = b.op("sub", b.op("sub", a, b.op("mul", q, hi)), b.op("mul", q, lo));
    const fixed = pick(b.less(r, c(0)), b.op("add", r, whole), pick(b.less(r, whole), r, b.op("sub", r, whole)));
    a = pick(b.less(a, whole), a, fixed);
  }
  const remainder = b.op("mul", b.op("sign", x), b.op("div", a, scale));
  const defined = pick(b.less(c(FLOAT32_MAX), ax), c(NaN), remainder);
  return pick(b.less(ax, ay), x, pick(b.less(c(0), ay), defined, c(NaN)));
}
