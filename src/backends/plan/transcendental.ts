// Float32 transcendentals that have no kernel op of their own, written as DAGs
// of ops that do (exp, expm1, log, log1p, sqrt, sin, cos, arithmetic), as
// JAX's lax lowers them, so the planner fuses them instead of running them on
// the host. Each formula is chosen to stay within a few float32 ulp of the
// interpreter (which rounds the float64 Math.* result) over the whole range,
// including ±0, ±inf, NaN and the domain edges; property-tests/backend.prop
// and test/wasm_transcendental.test.ts check that. The node type is the
// caller's (see threefry.ts for the same pattern).

import type { BinaryElementwise, UnaryElementwise } from "../../core/primitives";
import type { ScalarOp } from "./kernel_graph";

/** Builds the caller's expression nodes: float32 constants and ops, and the bool a < b. */
export interface F32Builder<N> {
  constant(value: number): N;
  op(op: Exclude<ScalarOp, "eq" | "ne" | "lt" | "le" | "gt" | "ge">, ...args: N[]): N;
  less(a: N, b: N): N;
}

/** Builds the expansion of a primitive over the nodes of its operands. */
export type Expansion = <N>(b: F32Builder<N>, ...operands: N[]) => N;

/** Above this |x|, e^-|x| is below half an ulp of e^|x| (e^-18 < 2^-25): sinh and cosh are e^|x| / 2. */
const HYPERBOLIC_TAIL = 9;
/** Above this |x|, x^2 ± 1 rounds to x^2 and asinh(|x|) = acosh(x) = log(2x) to float32 precision. */
const ASYMPTOTIC_LOG = 4096;

/** e^|x| / 2 without overflowing where e^|x| does but the half does not (|x| in [88.7, 89.4]): (e^(|x|/2) / 2) * e^(|x|/2). */
function halfExp<N>(b: F32Builder<N>, ax: N): N {
  const h = b.op("exp", b.op("mul", ax, b.constant(0.5)));
  return b.op("mul", b.op("mul", h, b.constant(0.5)), h);
}

/** tan(pi/8): above it atan's argument is reduced by atan t = pi/4 + atan((t-1)/(t+1)). */
const TAN_PI_8 = 0.41421356237309503;
/**
 * atan u = u + u z P(z), z = u^2, for |u| <= tan(pi/8): P fitted for this file by weighted least squares
 * on Chebyshev nodes against float64 atan (relative error of the formula about 0.01 float32 ulp).
 */
const ATAN_POLY = [-0.33333316445350647, 0.1999853104352951, -0.14244486391544342, 0.1060001328587532, -0.06092337146401405];
/** pi/2 and pi/4 as float32 head + tail, so adding them loses no more than the final rounding. */
const HALF_PI = [Math.fround(Math.PI / 2), Math.PI / 2 - Math.fround(Math.PI / 2)] as const;
const QUARTER_PI = [Math.fround(Math.PI / 4), Math.PI / 4 - Math.fround(Math.PI / 4)] as const;

/** c + v for a constant c given as head + tail: (tail + v) + head. */
const addConst = <N>(b: F32Builder<N>, c: readonly [number, number], v: N): N => b.op("add", b.op("add", b.constant(c[1]), v), b.constant(c[0]));

const PI = [Math.fround(Math.PI), Math.PI - Math.fround(Math.PI)] as const;
/** The largest finite float32: above it is only +inf. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * atan of a non-negative (or NaN) value by range reduction: ax > 1 uses pi/2 - atan(1/ax),
 * then t > tan(pi/8) uses pi/4 + atan((t-1)/(t+1)), leaving |u| <= tan(pi/8) for the polynomial.
 */
function atanOfMagnitude<N>(b: F32Builder<N>, ax: N): N {
  const big = b.less(b.constant(1), ax);
  const t = pick(b, big, b.op("div", b.constant(1), ax), ax);
  const mid = b.less(b.constant(TAN_PI_8), t);
  const u = pick(b, mid, b.op("div", b.op("sub", t, b.constant(1)), b.op("add", t, b.constant(1))), t);
  const z = b.op("mul", u, u);
  let poly = b.constant(ATAN_POLY[ATAN_POLY.length - 1]);
  for (let i = ATAN_POLY.length - 2; i >= 0; i--) poly = b.op("add", b.op("mul", poly, z), b.constant(ATAN_POLY[i]));
  const p = b.op("add", u, b.op("mul", b.op("mul", u, z), poly));
  const reduced = pick(b, mid, addConst(b, QUARTER_PI, p), p);
  return pick(b, big, addConst(b, HALF_PI, b.op("neg", reduced)), reduced);
}

/** atan x = sign(x) atan|x|: odd (-0 stays -0), ±inf -> ±pi/2. */
const atan = <N>(b: F32Builder<N>, x: N): N => b.op("mul", b.op("sign", x), atanOfMagnitude(b, b.op("abs", x)));

/** Whether v's sign bit is set, -0 included: 1/sign(v) is -1 or -inf exactly then (false for NaN). */
const signBit = <N>(b: F32Builder<N>, v: N): N => b.less(b.op("div", b.constant(1), b.op("sign", v)), b.constant(0));

/**
 * atan2(y, x) as C's: the angle atan(|y|/|x|), pi/4 when both are infinite and 0 when y is 0
 * (where |y|/|x| is NaN), mirrored to pi - angle when x's sign bit is set, then given y's sign. NaN in, NaN out.
 */
function atan2<N>(b: F32Builder<N>, y: N, x: N): N {
  const ay = b.op("abs", y);
  const ax = b.op("abs", x);
  const ratio = atanOfMagnitude(b, b.op("div", ay, ax));
  const infinite = pick(b, b.less(b.constant(FLOAT32_MAX), ax), pick(b, b.less(b.constant(FLOAT32_MAX), ay), b.constant(Math.PI / 4), ratio), ratio);
  // y = ±0 (or NaN): the angle is 0, or NaN when either operand is NaN (min propagates NaN).
  const angle = pick(b, b.less(b.constant(0), ay), infinite, b.op("min", b.op("min", ax, ay), b.constant(0)));
  const mirrored = pick(b, signBit(b, x), addConst(b, PI, b.op("neg", angle)), angle);
  return b.op("mul", pick(b, signBit(b, y), b.constant(-1), b.constant(1)), mirrored);
}

/**
 * erf_inv x = x p(w) with w = -log((1-x)(1+x)), after Giles ("Approximating the erfinv function", 2010):
 * p is a polynomial in w - 2.5 for w < 5 and in sqrt(w) - 3 above (|x| up to 1 - 2^-24, w < 17).
 * Coefficients fitted for this file by least squares on Chebyshev nodes against erfinv(x)/x in
 * 40-digit arithmetic (relative error of the formula below 1e-8, about 0.15 float32 ulp).
 */
const ERF_INV_CENTRAL = [1.5014093595818911, 0.246640278480722, -0.004177388473880818, -0.0012527252268797937, 0.00021834588677392772,
  -4.973069675518957e-6, -3.4630930700156604e-6, 4.6826697361335157e-7, 2.326480016967558e-8, -8.94141408136484e-9];
const ERF_INV_TAIL = [2.8329767956131193, 1.0016750069411127, 0.009445616748880559, -0.007638032953483011, 0.005684116335789968,
  -0.0035933862841816683, 0.0014927637328560062, -6.541356503406148e-5, -0.00031591887162968346, 0.0001222179667402512];
/** Where erf_inv switches from the central polynomial to the tail one (|x| about 0.9966). */
const ERF_INV_SPLIT = 5;

/** c[0] + c[1] v + c[2] v^2 + ... by Horner's rule. */
function horner<N>(b: F32Builder<N>, coefficients: readonly number[], v: N): N {
  let acc = b.constant(coefficients[coefficients.length - 1]);
  for (let i = coefficients.length - 2; i >= 0; i--) acc = b.op("add", b.op("mul", acc, v), b.constant(coefficients[i]));
  return acc;
}

/**
 * erf_inv: odd (x p keeps -0), NaN beyond [-1, 1] (log of a negative product), ±inf at ±1: there w = inf,
 * and the tail polynomial, whose leading coefficient is positive, is +inf by Horner's rule.
 */
function erfInv<N>(b: F32Builder<N>, x: N): N {
  const ax = b.op("abs", x);
  const w = b.op("neg", b.op("log", b.op("mul", b.op("sub", b.constant(1), ax), b.op("add", b.constant(1), ax))));
  const central = horner(b, ERF_INV_CENTRAL, b.op("sub", w, b.constant(2.5)));
  const tail = horner(b, ERF_INV_TAIL, b.op("sub", b.op("sqrt", w), b.constant(3)));
  return b.op("mul", x, pick(b, b.less(w, b.constant(ERF_INV_SPLIT)), central, tail));
}

/** select(pred, onFalse, onTrue), as the kernel op orders its operands. */
const pick = <N>(b: F32Builder<N>, pred: N, onTrue: N, onFalse: N): N => b.op("select", pred, onFalse, onTrue);

/**
 * The expansions. `sign(x) * f(|x|)` keeps odd functions odd, -0 included (sign(±0) = ±0)
 * and NaN propagating. A primitive listed here needs no kernel op: the planner's
 * ELEMENTWISE_KERNEL_OPS is typed over the elementwise primitives not listed here.
 */
export const TRANSCENDENTAL_EXPANSIONS = {
  // tan = sin / cos: both are within an ulp, and cos has no cancellation near pi/2 (it is computed from the reduced argument).
  tan: (b, x) => b.op("div", b.op("sin", x), b.op("cos", x)),
  // sinh|x| = (t + t/(t+1)) / 2 with t = expm1|x| (no cancellation near 0); e^|x|/2 in the tail.
  sinh: (b, x) => {
    const ax = b.op("abs", x);
    const t = b.op("expm1", ax);
    const near = b.op("mul", b.constant(0.5), b.op("add", t, b.op("div", t, b.op("add", t, b.constant(1)))));
    const mag = pick(b, b.less(ax, b.constant(HYPERBOLIC_TAIL)), near, halfExp(b, ax));
    return b.op("mul", b.op("sign", x), mag);
  },
  // cosh = (e + 1/e) / 2 with e = e^|x| (both terms positive: no cancellation); e^|x|/2 in the tail.
  cosh: (b, x) => {
    const ax = b.op("abs", x);
    const e = b.op("exp", ax);
    const near = b.op("mul", b.constant(0.5), b.op("add", e, b.op("div", b.constant(1), e)));
    return pick(b, b.less(ax, b.constant(HYPERBOLIC_TAIL)), near, halfExp(b, ax));
  },
  atan: (b, x) => atan(b, x),
  erf_inv: (b, x) => erfInv(b, x),
  atan2: (b, y, x) => atan2(b, y, x),
  // asin x = atan(x / sqrt((1-x)(1+x))): ±1 -> ±pi/2 (x/0), NaN beyond.
  asin: (b, x) => atan(b, b.op("div", x, b.op("sqrt", b.op("mul", b.op("sub", b.constant(1), x), b.op("add", b.constant(1), x))))),
  // acos x = 2 atan(sqrt((1-x)/(1+x))): 1 -> 0, -1 -> pi (sqrt(2/0)), NaN beyond.
  acos: (b, x) => b.op("mul", b.constant(2), atan(b, b.op("sqrt", b.op("div", b.op("sub", b.constant(1), x), b.op("add", b.constant(1), x))))),
  // asinh|x| = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))) (exact near 0); log|x| + ln 2 for large |x|.
  asinh: (b, x) => {
    const ax = b.op("abs", x);
    const x2 = b.op("mul", ax, ax);
    const near = b.op("log1p", b.op("add", ax, b.op("div", x2, b.op("add", b.constant(1), b.op("sqrt", b.op("add", b.constant(1), x2))))));
    const far = b.op("add", b.op("log", ax), b.constant(Math.LN2));
    const mag = pick(b, b.less(ax, b.constant(ASYMPTOTIC_LOG)), near, far);
    return b.op("mul", b.op("sign", x), mag);
  },
  // acosh x = log1p(t + sqrt(t (t + 2))) with t = x - 1 (exact for x in [1, 2]); log x + ln 2 for large x; NaN below 1.
  acosh: (b, x) => {
    const t = b.op("sub", x, b.constant(1));
    const near = b.op("log1p", b.op("add", t, b.op("sqrt", b.op("mul", t, b.op("add", t, b.constant(2))))));
    const far = b.op("add", b.op("log", x), b.constant(Math.LN2));
    const inDomain = pick(b, b.less(x, b.constant(ASYMPTOTIC_LOG)), near, far);
    return pick(b, b.less(x, b.constant(1)), b.constant(NaN), inDomain);
  },
  // atanh|x| = log1p(2|x| / (1 - |x|)) / 2: ±inf at ±1, NaN beyond (log1p of a value below -1).
  atanh: (b, x) => {
    const ax = b.op("abs", x);
    const mag = b.op("mul", b.constant(0.5), b.op("log1p", b.op("div", b.op("add", ax, ax), b.op("sub", b.constant(1), ax))));
    return b.op("mul", b.op("sign", x), mag);
  },
} satisfies { [P in UnaryElementwise | BinaryElementwise]?: Expansion };

/** The elementwise primitives computed from other kernel ops. */
export type ExpandedPrimitive = keyof typeof TRANSCENDENTAL_EXPANSIONS;
