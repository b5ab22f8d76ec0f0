// Vectorised f32x4 special functions, emitted inline as WASM SIMD code by the
// kernel generator: exp, log, log1p, expm1, tanh, logistic, erf, sin, cos,
// pow(x, y), plus sqrt / rsqrt on the hardware instructions.
//
// Each emitter takes a MathCtx and an operand expression and returns a bound
// expression (a local) holding the result. Accuracy (measured by
// test/wasm_codegen.test.ts against Math.* in f64 on many points incl. edge
// cases) is a few ulp over the whole float range; inf / nan / ±0 / denormal
// inputs follow C / Math.* semantics (pow follows C's pow, like the reference
// interpreter's powC).
//
// Methods (all constants below are Taylor coefficients or were fitted for this
// file by Chebyshev interpolation against the interpreter's f64 erf):
// - exp: x clamped to [-104, 89]; n = round(x/ln2); r = x - n*ln2 by a two-part
//   Cody–Waite split (the high part has 9 significant bits so n*hi is exact);
//   e^r by its degree-7 Taylor polynomial (|r| <= 0.35, truncation < 0.1 ulp);
//   the result is (2p) * 2^(n-1) for n >= -125 (overflow gives inf); for n < -125 the
//   subnormal result is built as the integer bit pattern round(p * 2^(n+149)), since a
//   float product that underflows takes a slow microcode assist on x86 (it made kernels
//   on saturated softmaxes 10-30x slower).
// - expm1: same reduction on x clamped to [-20, 89], expm1(r) by degree-8
//   Taylor, then expm1(x) = 2*((2^(n-1) - 1/2) + 2^(n-1)*expm1(r)), which is
//   exactly expm1(r) for n = 0 (no cancellation near 0) and reaches 2^128 → inf.
// - log: x = 2^k * m with m in [sqrt(1/2), sqrt(2)) by integer ops on the bits
//   (denormals pre-scaled by 2^23); with f = m - 1 and s = f/(2+f),
//   log(1+f) = f - s*(f - R), R = 2s^2/3 + 2s^4/5 + 2s^6/7 + 2s^8/9 (the
//   atanh series; truncation < 0.05 ulp); plus k*ln2 split in two parts.
// - log1p: u = 1+x; log(u) - ((u-1)-x)/u (the classic correction for the
//   rounding of 1+x); x itself for |x| < 2^-24.
// - tanh: e = expm1(2|x|) (|x| clamped to 10), tanh = sign(x) * e/(e+2); exact
//   near 0 because expm1 is, and saturates to ±1.
// - logistic: z = exp(-|x|); 1/(1+z) for x >= 0, z/(1+z) for x < 0 (accurate
//   in both tails, subnormal results included).
// - erf: |x| < 1: x + x*P(x^2) (deg 6, P = erf(x)/x - 1); else
//   1 - exp(-x^2) * Q(1/x) (deg 7 in 1/x for erfc(x)e^{x^2} on [1, 4]), |x|
//   clamped to 4 where erf is 1 in f32.
// - sin / cos: the reduction x - j*pi/2 is done in f64x2 lanes with pi/2 in
//   three parts (32 + 21 + 53 bits; exact products for |x| <= 2^20), then
//   degree-9/10 Taylor polynomials in f32 and the quadrant j mod 4. Lanes with
//   |x| > 2^20 (rare: every float there is an integer) call the imported
//   Math.sin / Math.cos — exact, and still correct for the full range.
// - pow: |x| = 2^k m as for log, then ln|x| (atanh series to s^17), w = y*ln|x|
//   and e^w all in f64x2 lanes, rounded once to f32; then C pow's special
//   cases (negative x with integer y, zeros, infinities, nan, pow(1, y) = 1,
//   pow(x, 0) = 1, pow(-1, ±inf) = 1).

import type { FuncBuilder } from "./assembler";
import type { Emitter, Ex } from "./expr";

export interface MathCtx {
  e: Emitter;
  /** Function indices of imported f64 -> f64 Math.sin / Math.cos (needed by sin / cos). */
  sinImport?: number;
  cosImport?: number;
}

export type MathFn = "exp" | "log" | "log1p" | "expm1" | "tanh" | "logistic" | "erf" | "sin" | "cos" | "sqrt" | "rsqrt";

const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;
/** ln2 split for exp-type reductions: 0.693359375 has 9 significant bits. */
const EXP_LN2_HI = 0.693359375;
const EXP_LN2_LO = Math.fround(LN2 - EXP_LN2_HI);
/** ln2 split for log: 15 significant bits, k*hi exact for |k| <= 2^8. */
const LOG_LN2_HI = 0.693145751953125;
const LOG_LN2_LO = Math.fround(LN2 - LOG_LN2_HI);
const INF = Infinity;
const SIGN = -0x80000000;

const invFact = (n: number): number => {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return 1 / f;
};

/** 1/2!, 1/3!, ..., 1/n! */
const factTail = (n: number): number[] => Array.from({ length: n - 1 }, (_, i) => invFact(i + 2));

/** erf(x)/x - 1 on t = x^2 in [0, 1] (degree 6). */
const ERF_SMALL = [
  0.12837916612625122, -0.3761262595653534, 0.11283594369888306, -0.02685421146452427, 0.005189087241888046,
  -0.000801686430349946, 0.00007875875598983839,
];
/** erfc(x)*exp(x^2) on u = 1/x in [1/4, 1] (degree 7). */
const ERFC_SCALED = [
  0.000381532299797982, 0.557292640209198, 0.05359949544072151, -0.5138991475105286, 0.5898971557617188,
  -0.3685625493526459, 0.12847945094108582, -0.019605029374361038,
];

/** 2^n as f32 bits for an i32x4 n in [-126, 127] (n + 127 << 23). */
function pow2i(e: Emitter, n: Ex): Ex {
  return e.ishl(e.iadd(n, e.ic(127)), 23);
}

/** The common exp-style reduction: returns n (f32, integral) and r = x - n ln2. */
function expReduce(e: Emitter, x: Ex): { n: Ex; r: Ex } {
  const n = e.bind(e.fnearest(e.fmul(x, e.fc(LOG2E))), "v128", "n");
  const r1 = e.bind(e.fmadd(n, e.fc(-EXP_LN2_HI), x));
  const r = e.bind(e.fmadd(n, e.fc(-EXP_LN2_LO), r1), "v128", "r");
  return { n, r };
}

export function vexp(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(e.fmax(e.fmin(x0, e.fc(89)), e.fc(-104)), "v128", "x");
  const { n, r } = expReduce(e, x);
  const r2 = e.bind(e.fmul(r, r));
  const q = e.fpoly(r, factTail(7)); // 1/2 + r/6 + ... + r^5/7!
  const p = e.bind(e.fadd(e.fc(1), e.fmadd(r2, q, r)), "v128", "p");
  const ni = e.bind(e.f2i(n));
  // n >= -125: p * 2^n = (2p) * 2^(n-1), one product with a normal power of two that rounds
  // once (to inf past the top, NaN stays NaN). Lanes with n < -125 get garbage here (a normal or
  // infinite product, never an underflowing one) and are replaced below.
  const f = e.f;
  const res = f.local("v128", "exp");
  e.set(res, e.fmul(e.fadd(p, p), pow2i(e, e.isub(ni, e.ic(1)))));
  // n < -125 (n >= -150 after the clamp): the subnormal p * 2^n is m * 2^-149 with
  // m = p * 2^(n+149) rounded half-even to an integer, which is exactly its bit pattern (for
  // m >= 2^23, that of the smallest normals) — the hardware's rounding, without an underflowing
  // product (each of which costs a microcode assist of 100+ cycles on x86: a saturated softmax is
  // full of them). Taken only when some lane needs it.
  const tiny = e.bind(e.op("i32x4.lt_s", ni, e.ic(-125)));
  tiny(f);
  f.op("v128.any_true").if_();
  const k = e.iadd(e.op("i32x4.min_s", ni, e.ic(-125)), e.ic(149));
  e.set(res, e.sel(e.f2i(e.fnearest(e.fmul(p, pow2i(e, k)))), e.get(res), tiny));
  f.end();
  return e.get(res);
}

export function vexpm1(m: MathCtx, x0: Ex): Ex {
  return expm1Core(m, x0, true);
}

/** expm1; `general` false skips the clamping and the tiny-|x| pass-through, valid for x in
 * [0, 20] (where e.g. tanh calls it: there p(r) = r exactly for tiny r). */
function expm1Core(m: MathCtx, x0: Ex, general: boolean): Ex {
  const e = m.e;
  const xin = e.bind(x0, "v128", "x");
  const x = general ? e.bind(e.fmax(e.fmin(xin, e.fc(89)), e.fc(-20))) : xin;
  const { n, r } = expReduce(e, x);
  const r2 = e.bind(e.fmul(r, r));
  const p = e.bind(e.fmadd(r2, e.fpoly(r, factTail(8)), r), "v128", "p");
  // t = 2^(n-1): biased exponent n - 1 + 127 (n in [-29, 128])
  const t = e.bind(e.ishl(e.iadd(e.f2i(n), e.ic(126)), 23), "v128", "t");
  const res = e.fmul(e.fmadd(t, p, e.fsub(t, e.fc(0.5))), e.fc(2));
  if (!general) return e.bind(res, "v128", "expm1");
  return e.bind(e.sel(xin, res, e.flt(e.fabs(xin), e.fc(2 ** -24))), "v128", "expm1");
}

/** x = 2^k * m, m in [sqrt(1/2), sqrt(2)), for x > 0 (denormals included). k: i32x4, m: f32x4. */
function decompose(e: Emitter, x: Ex): { k: Ex; m: Ex } {
  const den = e.bind(e.flt(x, e.fc(2 ** -126)));
  const xs = e.sel(e.fmul(x, e.fc(2 ** 23)), x, den);
  const ix = e.bind(e.iadd(xs, e.ic(0x3f800000 - 0x3f3504f3)));
  const k = e.bind(e.isub(e.isub(e.ishrs(ix, 23), e.ic(127)), e.and(den, e.ic(23))), "v128", "k");
  const mm = e.bind(e.iadd(e.and(ix, e.ic(0x7fffff)), e.ic(0x3f3504f3)), "v128", "m");
  return { k, m: mm };
}

export function vlog(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const { k, m: mm } = decompose(e, x);
  const f = e.bind(e.fsub(mm, e.fc(1)), "v128", "f");
  const s = e.bind(e.fdiv(f, e.fadd(e.fc(2), f)), "v128", "s");
  const z = e.bind(e.fmul(s, s));
  const R = e.fmul(z, e.fpoly(z, [2 / 3, 2 / 5, 2 / 7, 2 / 9]));
  const kf = e.bind(e.i2f(k));
  const lo = e.fsub(e.fmul(kf, e.fc(LOG_LN2_LO)), e.fmul(s, e.fsub(f, R)));
  let res = e.bind(e.fmadd(kf, e.fc(LOG_LN2_HI), e.fadd(lo, f)), "v128", "log");
  res = e.bind(e.sel(e.fc(-INF), res, e.feq(x, e.fc(0))));
  res = e.bind(e.sel(x, res, e.feq(x, e.fc(INF))));
  return e.bind(e.sel(res, e.fc(NaN), e.fge(x, e.fc(0))), "v128", "log");
}

export function vlog1p(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const u = e.bind(e.fadd(e.fc(1), x), "v128", "u");
  const lu = vlog(m, u);
  const c = e.bind(e.fdiv(e.fsub(e.fsub(u, e.fc(1)), x), u), "v128", "c");
  const res = e.fsub(lu, e.and(c, e.feq(c, c))); // nan correction (u = 0 or inf) -> 0
  return e.bind(e.sel(x, res, e.flt(e.fabs(x), e.fc(2 ** -24))), "v128", "log1p");
}

export function vtanh(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const ax = e.bind(e.fmin(e.fabs(x), e.fc(10)));
  const em = expm1Core(m, e.fadd(ax, ax), false);
  const t = e.fdiv(em, e.fadd(em, e.fc(2)));
  return e.bind(e.or(t, e.and(x, e.ic(SIGN))), "v128", "tanh");
}

export function vlogistic(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const z = vexp(m, e.fneg(e.fabs(x)));
  const num = e.sel(z, e.fc(1), e.flt(x, e.fc(0)));
  return e.bind(e.fdiv(num, e.fadd(e.fc(1), z)), "v128", "logistic");
}

export function verf(m: MathCtx, x0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const ax = e.bind(e.fabs(x));
  const small = e.bind(e.fmadd(x, e.fpoly(e.fmul(x, x), ERF_SMALL), x), "v128", "small");
  const axc = e.bind(e.fmin(ax, e.fc(4)));
  const g = e.fpoly(e.fdiv(e.fc(1), axc), ERFC_SCALED);
  const ex = vexp(m, e.fneg(e.fmul(axc, axc)));
  const big = e.or(e.fsub(e.fc(1), e.fmul(ex, g)), e.and(x, e.ic(SIGN)));
  return e.bind(e.sel(small, big, e.flt(ax, e.fc(1))), "v128", "erf");
}

// pi/2 in three parts: P1 = the double's top 32 bits, P2 = the rest of the double, P3 = pi/2 - double(pi/2).
const PIO2 = Math.PI / 2;
const PIO2_1 = (() => {
  const b = new BigUint64Array(new Float64Array([PIO2]).buffer);
  b[0] &= ~((1n << 21n) - 1n);
  return new Float64Array(b.buffer)[0];
})();
const PIO2_2 = PIO2 - PIO2_1;
const PIO2_3 = 6.123233995736766e-17;
const SINCOS_FAST_LIMIT = 2 ** 20;

/** Per-lane fallback: lanes of `res` where `mask` is set become f32(call(f64(x))). */
function laneFallback(f: FuncBuilder, resLocal: number, xLocal: number, maskLocal: number, fn: number, name: string): void {
  f.localGet(maskLocal).op("v128.any_true").if_();
  for (let j = 0; j < 4; j++) {
    f.localGet(maskLocal).lane("i32x4.extract_lane", j).if_();
    f.localGet(resLocal);
    f.localGet(xLocal).lane("f32x4.extract_lane", j).op("f64.promote_f32").call(fn, name).op("f32.demote_f64");
    f.lane("f32x4.replace_lane", j).localSet(resLocal);
    f.end();
  }
  f.end();
}

function vsincos(m: MathCtx, x0: Ex, isCos: boolean): Ex {
  const e = m.e;
  const f = e.f;
  const xl = f.local("v128", "x");
  e.set(xl, x0);
  const x = e.get(xl);
  const ax = e.bind(e.fabs(x));
  const hugeL = f.local("v128", "huge");
  e.set(hugeL, e.fgt(ax, e.fc(SINCOS_FAST_LIMIT)));
  const rs: Ex[] = [];
  const js: Ex[] = [];
  for (const hi of [false, true]) {
    const xd = e.bind(e.promote(x, hi));
    const j = e.bind(e.op("f64x2.nearest", e.dmul(xd, e.dc(2 / Math.PI))), "v128", "j");
    const r = e.dsub(e.dsub(e.dsub(xd, e.dmul(j, e.dc(PIO2_1))), e.dmul(j, e.dc(PIO2_2))), e.dmul(j, e.dc(PIO2_3)));
    rs.push(e.bind(e.op("f32x4.demote_f64x2_zero", r)));
    js.push(e.bind(e.op("i32x4.trunc_sat_f64x2_s_zero", j)));
  }
  const r = e.bind(e.joinLow(rs[0], rs[1]), "v128", "r");
  let q = e.bind(e.joinLow(js[0], js[1]), "v128", "q");
  if (isCos) q = e.bind(e.iadd(q, e.ic(1)));
  const z = e.bind(e.fmul(r, r));
  const sinp = e.bind(e.fmadd(e.fmul(r, z), e.fpoly(z, [-invFact(3), invFact(5), -invFact(7), invFact(9)]), r));
  const cosp = e.bind(e.fmadd(z, e.fpoly(z, [-invFact(2), invFact(4), -invFact(6), invFact(8), -invFact(10)]), e.fc(1)));
  let res = e.sel(cosp, sinp, e.ineg(e.and(q, e.ic(1))));
  res = e.xor(res, e.ishl(e.and(q, e.ic(2)), 30));
  if (!isCos) res = e.sel(x, res, e.flt(ax, e.fc(2 ** -12)));
  const resL = f.local("v128", isCos ? "cos" : "sin");
  e.set(resL, res);
  const imp = isCos ? m.cosImport : m.sinImport;
  if (imp === undefined) throw new Error(`vecmath: ${isCos ? "cos" : "sin"} needs the Math.${isCos ? "cos" : "sin"} import`);
  laneFallback(f, resL, xl, hugeL, imp, isCos ? "cos" : "sin");
  return e.get(resL);
}

export const vsin = (m: MathCtx, x: Ex): Ex => vsincos(m, x, false);
export const vcos = (m: MathCtx, x: Ex): Ex => vsincos(m, x, true);

// f64 constants for pow
const POW_LN2_HI = (() => {
  const b = new BigUint64Array(new Float64Array([LN2]).buffer);
  b[0] &= ~((1n << 21n) - 1n);
  return new Float64Array(b.buffer)[0];
})();
const POW_LN2_LO = LN2 - POW_LN2_HI;

/** e^w for f64x2 w already clamped to [-200, 200]. */
function dexp(e: Emitter, w: Ex): Ex {
  const n = e.bind(e.op("f64x2.nearest", e.dmul(w, e.dc(LOG2E))));
  const r = e.bind(e.dsub(e.dsub(w, e.dmul(n, e.dc(POW_LN2_HI))), e.dmul(n, e.dc(POW_LN2_LO))));
  const p = e.dadd(e.dc(1), e.dadd(r, e.dmul(e.dmul(r, r), e.dpoly(r, factTail(11)))));
  const ni = e.op("i64x2.extend_low_i32x4_s", e.op("i32x4.trunc_sat_f64x2_s_zero", n));
  const scale = e.op("i64x2.shl", e.op("i64x2.add", ni, e.lc(1023n)), e.i32(52));
  return e.dmul(p, scale);
}

export function vpow(m: MathCtx, x0: Ex, y0: Ex): Ex {
  const e = m.e;
  const x = e.bind(x0, "v128", "x");
  const y = e.bind(y0, "v128", "y");
  const ax = e.bind(e.fabs(x));
  const { k, m: mm } = decompose(e, ax);
  const halves: Ex[] = [];
  for (const hi of [false, true]) {
    const f = e.bind(e.dsub(e.promote(mm, hi), e.dc(1)));
    const s = e.bind(e.ddiv(f, e.dadd(e.dc(2), f)));
    const z = e.bind(e.dmul(s, s));
    const R = e.dmul(z, e.dpoly(z, [2 / 3, 2 / 5, 2 / 7, 2 / 9, 2 / 11, 2 / 13, 2 / 15, 2 / 17]));
    const ln = e.dadd(e.dmul(e.i2d(k, hi), e.dc(LN2)), e.dsub(f, e.dmul(s, e.dsub(f, R))));
    const w = e.bind(e.op("f64x2.max", e.op("f64x2.min", e.dmul(e.promote(y, hi), ln), e.dc(200)), e.dc(-200)));
    halves.push(e.bind(e.op("f32x4.demote_f64x2_zero", dexp(e, w))));
  }
  let p = e.bind(e.joinLow(halves[0], halves[1]), "v128", "pow");
  // |x| = 0 or inf: 0 or inf by whether (|x| = inf) == (y > 0)
  const axInf = e.bind(e.feq(ax, e.fc(INF)));
  const mag = e.sel(e.fc(INF), e.fc(0), e.ieq(axInf, e.fgt(y, e.fc(0))));
  p = e.bind(e.sel(mag, p, e.or(axInf, e.feq(ax, e.fc(0)))));
  const yInt = e.bind(e.feq(e.ftrunc(y), y));
  const yOdd = e.and(e.and(yInt, e.flt(e.fabs(y), e.fc(2 ** 24))), e.ineg(e.and(e.f2i(y), e.ic(1))));
  const xNegSign = e.op("i32x4.lt_s", x, e.ic(0));
  p = e.bind(e.xor(p, e.and(e.and(xNegSign, yOdd), e.ic(SIGN))));
  const negNonInt = e.and(e.and(e.flt(x, e.fc(0)), e.fgt(x, e.fc(-INF))), e.not(yInt));
  const anyNan = e.or(e.fne(x, x), e.fne(y, y));
  p = e.bind(e.sel(e.fc(NaN), p, e.or(negNonInt, anyNan)));
  const one = e.or(e.or(e.feq(y, e.fc(0)), e.feq(x, e.fc(1))), e.and(e.feq(ax, e.fc(1)), e.feq(e.fabs(y), e.fc(INF))));
  return e.bind(e.sel(e.fc(1), p, one), "v128", "pow");
}

/** Emits unary `fn` on `x`; returns the bound result. */
export function emitMath(m: MathCtx, fn: MathFn, x: Ex): Ex {
  const e = m.e;
  switch (fn) {
    case "exp":
      return vexp(m, x);
    case "log":
      return vlog(m, x);
    case "log1p":
      return vlog1p(m, x);
    case "expm1":
      return vexpm1(m, x);
    case "tanh":
      return vtanh(m, x);
    case "logistic":
      return vlogistic(m, x);
    case "erf":
      return verf(m, x);
    case "sin":
      return vsin(m, x);
    case "cos":
      return vcos(m, x);
    case "sqrt":
      return e.bind(e.fsqrt(x));
    case "rsqrt":
      return e.bind(e.fdiv(e.fc(1), e.fsqrt(x)));
  }
}
