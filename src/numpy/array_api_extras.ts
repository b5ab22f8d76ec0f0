// The rest of jax.numpy's everyday surface that the larger files do not
// hold: the array-API spellings of existing functions (acos, bitwiseInvert,
// ...), numpy's constants, dtype queries (promoteTypes, resultType, finfo,
// iinfo), stacking helpers (dstack, unstack, append), spaced sequences
// (logspace, geomspace), index grids (indices, diagIndices, fromfunction),
// vector products (vecdot, matvec, vecmat), polynomial arithmetic, window
// functions, NaN-skipping scans, modf, floatPower, vander, unwrap and
// arrayEquiv.

import { checkDType, promoteTypes as promoteWithWeak, isFloat, isInt, type DType, type DTypeWithWeak } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, asCalledFrom } from "../core/errors";
import { checkShape } from "../core/shape";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { arange, linspace, zeros, type LinspaceOptions } from "./creation";
import * as ew from "./elementwise";
import { cumprod, cumsum, sum } from "./reductions";
import { atleast3d, broadcastShapes, concatenate, expandDims, ravel, reshape, split, squeeze, stack, broadcastTo } from "./shape";
import { matmul } from "./linalg";
import { diff } from "./sequences";
import { convolve } from "./products";
import { asInexact, asTracer, checkArg, resultTypeOf, seqArg } from "./promote";
import { index } from "./indexing";

// --- array-API spellings --------------------------------------------------------------

export const acos = ew.arccos;
export const asin = ew.arcsin;
export const atan = ew.arctan;
export const atan2 = ew.arctan2;
export const acosh = ew.arccosh;
export const asinh = ew.arcsinh;
export const atanh = ew.arctanh;
export const bitwiseInvert = ew.invert;
export const bitwiseLeftShift = ew.leftShift;
export const bitwiseRightShift = ew.rightShift;

// --- constants -----------------------------------------------------------------------

export const pi = Math.PI;
export const e = Math.E;
export const inf = Infinity;
export const nan = NaN;
export const eulerGamma = 0.5772156649015329;

// --- dtypes ------------------------------------------------------------------------------

/** jnp.promote_types: the dtype two (strongly typed) dtypes promote to. */
export function promoteTypes(a: DType, b: DType): DType {
  return promoteWithWeak({ dtype: checkDType(a, "promoteTypes"), weakType: false }, { dtype: checkDType(b, "promoteTypes"), weakType: false }).dtype;
}

/** jnp.result_type: the dtype an operation on these operands computes in (JS numbers are weak, as Python scalars). */
export function resultType(...args: (ArrayLike | DType)[]): DType {
  if (args.length === 0) throw new ArgumentError("resultType: needs at least one array, JS number, boolean or dtype name");
  const named = args.filter((a): a is DType => typeof a === "string").map((d) => checkDType(d, "resultType"));
  const operands = args.filter((a) => typeof a !== "string").map((a, i) => checkArg("resultType", a, `argument ${i}`));
  let r: DTypeWithWeak | undefined = operands.length > 0 ? resultTypeOf("resultType", operands) : undefined;
  for (const d of named) r = r === undefined ? { dtype: d, weakType: false } : promoteWithWeak(r, { dtype: d, weakType: false });
  return r!.dtype;
}

/** Machine limits of a float dtype (jnp.finfo). */
export interface FloatInfo {
  dtype: DType;
  bits: number;
  eps: number;
  max: number;
  min: number;
  /** The smallest positive normal number (also `smallestNormal`). */
  tiny: number;
  smallestNormal: number;
  resolution: number;
}

/** Limits of an integer dtype (jnp.iinfo). */
export interface IntInfo {
  dtype: DType;
  bits: number;
  min: number;
  max: number;
}

const dtypeArg = (where: string, x: DType | ArrayLike): DType => (typeof x === "string" ? x : asTracer(where, x).dtype);

export function finfo(x: DType | ArrayLike): FloatInfo {
  const dtype = dtypeArg("finfo", x);
  if (dtype === "float32") {
    const max = 3.4028234663852886e38;
    return { dtype, bits: 32, eps: 2 ** -23, max, min: -max, tiny: 2 ** -126, smallestNormal: 2 ** -126, resolution: 1e-6 };
  }
  if (dtype === "float16") return { dtype, bits: 16, eps: 2 ** -10, max: 65504, min: -65504, tiny: 2 ** -14, smallestNormal: 2 ** -14, resolution: 1e-3 };
  throw new DTypeError(`finfo: expected a float dtype (float32, float16), got ${dtype}; use iinfo for integers`);
}

export function iinfo(x: DType | ArrayLike): IntInfo {
  const dtype = dtypeArg("iinfo", x);
  if (dtype === "int32") return { dtype, bits: 32, min: -(2 ** 31), max: 2 ** 31 - 1 };
  if (dtype === "uint32") return { dtype, bits: 32, min: 0, max: 2 ** 32 - 1 };
  throw new DTypeError(`iinfo: expected an integer dtype (int32, uint32), got ${dtype}; use finfo for floats`);
}

/** True for JS numbers and booleans and for 0-d arrays (jnp.isscalar). */
export function isscalar(x: unknown): boolean {
  return typeof x === "number" || typeof x === "boolean" || (isTracer(x) && x.ndim === 0);
}

// --- stacking -------------------------------------------------------------------------------

/** Stack along the third axis (1-D and 2-D arrays are made 3-D first, as numpy's dstack). */
export function dstack(arrays: readonly ArrayLike[]): Tracer {
  return concatenate(seqArg("dstack", arrays).map(atleast3d), 2);
}

/** The slices of x along `axis`, each without that axis (jnp.unstack). */
export function unstack(x: ArrayLike, axis = 0): Tracer[] {
  const t = asTracer("unstack", x);
  if (t.ndim === 0) throw new ShapeError(`unstack: needs an array of rank >= 1, got ${t.aval.str()}`);
  const ax = axis < 0 ? axis + t.ndim : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= t.ndim) throw new ArgumentError(`unstack: axis ${axis} is out of range for ${t.aval.str()}`);
  return split(t, t.shape[ax], ax).map((s) => squeeze(s, ax));
}

/** values appended to arr along `axis`; with axis null both are flattened first (numpy's append). */
export function append(arr: ArrayLike, values: ArrayLike, axis: number | null = null): Tracer {
  return asCalledFrom("append", () => {
    if (axis === null) return concatenate([ravel(arr), ravel(values)], 0);
    return concatenate([arr, values], axis);
  });
}

// --- sequences ------------------------------------------------------------------------------

export interface LogspaceOptions extends LinspaceOptions {
  /** The base of the exponents (10). */
  base?: number;
}

/** base ** linspace(start, stop, num). */
export function logspace(start: number, stop: number, num = 50, opts: LogspaceOptions = {}): Tracer {
  return asCalledFrom("logspace", () => {
    const { base = 10, ...rest } = opts;
    return ew.power(base, linspace(start, stop, num, rest));
  });
}

/** num numbers from start to stop spaced evenly on a log scale (both of one sign, non-zero). */
export function geomspace(start: number, stop: number, num = 50, opts: LinspaceOptions = {}): Tracer {
  return asCalledFrom("geomspace", () => {
    if (start === 0 || stop === 0) throw new ArgumentError(`geomspace: start and stop must be non-zero, got ${start} and ${stop}`);
    if (Math.sign(start) !== Math.sign(stop)) throw new ArgumentError(`geomspace: start and stop must have one sign, got ${start} and ${stop}`);
    const sign = Math.sign(start);
    const out = ew.multiply(sign, ew.exp(linspace(Math.log(Math.abs(start)), Math.log(Math.abs(stop)), num, opts)));
    if (num === 0) return out;
    // The endpoints exactly, as numpy does.
    const i = arange(num, { dtype: "int32" });
    const first = ew.where(ew.equal(i, 0), start, out);
    return (opts.endpoint ?? true) && num > 1 ? ew.where(ew.equal(i, num - 1), stop, first) : first;
  });
}

/** Cumulative sum treating NaN as 0. */
export function nancumsum(x: ArrayLike, axis: number | null = null): Tracer {
  return asCalledFrom("nancumsum", () => {
    const t = asTracer("nancumsum", x);
    return cumsum(ew.where(ew.isnan(t), 0, t), axis);
  });
}

/** Cumulative product treating NaN as 1. */
export function nancumprod(x: ArrayLike, axis: number | null = null): Tracer {
  return asCalledFrom("nancumprod", () => {
    const t = asTracer("nancumprod", x);
    return cumprod(ew.where(ew.isnan(t), 1, t), axis);
  });
}

// --- index grids --------------------------------------------------------------------------------

/** An int32 array [len(dimensions), ...dimensions] whose slice i holds each element's i-th index. */
export function indices(dimensions: readonly number[]): Tracer {
  if (!globalThis.Array.isArray(dimensions) || !dimensions.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ArgumentError(`indices: dimensions must be a list of non-negative integers, got ${JSON.stringify(dimensions)}`);
  }
  const grids = dimensions.map((n, i) => {
    const shape = dimensions.map((_, j) => (j === i ? n : 1));
    return broadcastTo(reshape(arange(n, { dtype: "int32" }), shape), dimensions);
  });
  return grids.length === 0 ? zeros([0], { dtype: "int32" }) : stack(grids);
}

/** The indices of the main diagonal of an n × ... × n array: `ndim` copies of arange(n). */
export function diagIndices(n: number, ndim = 2): Tracer[] {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(ndim) || ndim < 1) {
    throw new ArgumentError(`diagIndices: expected n >= 0 and ndim >= 1 integers, got ${n} and ${ndim}`);
  }
  return globalThis.Array.from({ length: ndim }, () => arange(n, { dtype: "int32" }));
}

/** diagIndices for an array whose dims are all equal. */
export function diagIndicesFrom(x: ArrayLike): Tracer[] {
  const t = asTracer("diagIndicesFrom", x);
  if (t.ndim < 2 || t.shape.some((d) => d !== t.shape[0])) {
    throw new ShapeError(`diagIndicesFrom: needs an array of rank >= 2 with all dims equal, got ${t.aval.str()}`);
  }
  return diagIndices(t.shape[0], t.ndim);
}

/** fn called with one float32 coordinate array per dim of `shape` (numpy's fromfunction). */
export function fromfunction(fn: (...coords: Tracer[]) => Tracer, shape: readonly number[], opts: { dtype?: DType } = {}): Tracer {
  if (typeof fn !== "function") throw new ArgumentError(`fromfunction: expected a function of the coordinate arrays, got ${typeof fn}`);
  checkShape(shape, "fromfunction");
  const dtype = opts.dtype ?? "float32";
  return fn(...shape.map((_, i) => ew.astype(index(indices(shape), [i]), dtype)));
}

// --- vector and polynomial products -------------------------------------------------------------

/** Σ a·b along `axis` (jnp.vecdot; real arrays). */
export function vecdot(a: ArrayLike, b: ArrayLike, axis = -1): Tracer {
  return asCalledFrom("vecdot", () => {
    return sum(ew.multiply(a, b), axis);
  });
}

/** Matrix-vector product over stacks: a [..., m, n] with v [..., n] -> [..., m]. */
export function matvec(a: ArrayLike, v: ArrayLike): Tracer {
  return asCalledFrom("matvec", () => {
    return squeeze(matmul(a, expandDims(asTracer("matvec", v), -1)), -1);
  });
}

/** Vector-matrix product over stacks: v [..., m] with a [..., m, n] -> [..., n]. */
export function vecmat(v: ArrayLike, a: ArrayLike): Tracer {
  return asCalledFrom("vecmat", () => {
    return squeeze(matmul(expandDims(asTracer("vecmat", v), -2), a), -2);
  });
}

/** Two coefficient vectors (highest power first) padded at the front to one length. */
function alignedCoefficients(where: string, a: ArrayLike, b: ArrayLike): [Tracer, Tracer] {
  const x = asTracer(where, a);
  const y = asTracer(where, b);
  if (x.ndim !== 1 || y.ndim !== 1) throw new ShapeError(`${where}: expected 1-D coefficient arrays, got ${x.aval.str()} and ${y.aval.str()}`);
  const n = Math.max(x.shape[0], y.shape[0]);
  const padFront = (t: Tracer) => (t.shape[0] === n ? t : concatenate([zeros([n - t.shape[0]], { dtype: t.dtype }), t]));
  return [padFront(x), padFront(y)];
}

export function polyadd(a: ArrayLike, b: ArrayLike): Tracer {
  const [x, y] = alignedCoefficients("polyadd", a, b);
  return ew.add(x, y);
}

export function polysub(a: ArrayLike, b: ArrayLike): Tracer {
  const [x, y] = alignedCoefficients("polysub", a, b);
  return ew.subtract(x, y);
}

/** The product of two polynomials (the full convolution of their coefficients). */
export function polymul(a: ArrayLike, b: ArrayLike): Tracer {
  return asCalledFrom("polymul", () => {
    return convolve(a, b, "full");
  });
}

/** The m-th derivative of a polynomial (coefficients highest power first). */
export function polyder(p: ArrayLike, m = 1): Tracer {
  if (!Number.isInteger(m) || m < 0) throw new ArgumentError(`polyder: the order m must be a non-negative integer, got ${m}`);
  let c = asTracer("polyder", p);
  if (c.ndim !== 1) throw new ShapeError(`polyder: expected a 1-D coefficient array, got ${c.aval.str()}`);
  for (let k = 0; k < m && c.shape[0] > 0; k++) {
    const n = c.shape[0] - 1;
    c = ew.multiply(index(c, [[0, n]]), arange(n, 0, -1, { dtype: isInt(c.dtype) ? c.dtype : "float32" }));
  }
  return c;
}

/** The Vandermonde matrix of x: columns x^(N-1), ..., x, 1 (or increasing powers). */
export function vander(x: ArrayLike, n: number | null = null, opts: { increasing?: boolean } = {}): Tracer {
  const t = asTracer("vander", x);
  if (t.ndim !== 1) throw new ShapeError(`vander: expected a 1-D array, got ${t.aval.str()}`);
  const cols = n ?? t.shape[0];
  if (!Number.isInteger(cols) || cols < 0) throw new ArgumentError(`vander: N must be a non-negative integer, got ${n}`);
  const powers = opts.increasing ? arange(cols, { dtype: "int32" }) : arange(cols - 1, -1, -1, { dtype: "int32" });
  return ew.power(expandDims(t, 1), cols === 0 ? zeros([0], { dtype: "int32" }) : powers);
}

// --- windows ---------------------------------------------------------------------------------

/** cos terms of a generalized cosine window of M points: Σ_k a_k cos(2πk n/(M-1)). */
function cosineWindow(where: string, m: number, coefficients: readonly number[]): Tracer {
  if (!Number.isInteger(m)) throw new ArgumentError(`${where}: M must be an integer, got ${m}`);
  if (m < 1) return zeros([0]);
  if (m === 1) return ew.add(zeros([1]), 1);
  const n = arange(m, { dtype: "float32" });
  return coefficients.reduce<Tracer>((acc, a, k) => ew.add(acc, ew.multiply(a * (k % 2 === 0 ? 1 : -1), ew.cos(ew.multiply((2 * Math.PI * k) / (m - 1), n)))), zeros([m]));
}

export function hann(m: number): Tracer {
  return cosineWindow("hann", m, [0.5, 0.5]);
}

export function blackman(m: number): Tracer {
  return cosineWindow("blackman", m, [0.42, 0.5, 0.08]);
}

/** The triangular (Bartlett) window: 1 - |2n/(M-1) - 1|. */
export function bartlett(m: number): Tracer {
  if (!Number.isInteger(m)) throw new ArgumentError(`bartlett: M must be an integer, got ${m}`);
  if (m < 1) return zeros([0]);
  if (m === 1) return ew.add(zeros([1]), 1);
  const n = arange(m, { dtype: "float32" });
  return ew.subtract(1, ew.abs(ew.subtract(ew.multiply(2 / (m - 1), n), 1)));
}

// --- elementwise odds and ends -------------------------------------------------------------------

/** [fractional part, integral part], both with x's sign (numpy's modf). */
export function modf(x: ArrayLike): [Tracer, Tracer] {
  const t = asInexact("modf", x);
  const whole = ew.trunc(t);
  return [ew.subtract(t, whole), whole];
}

/** x ** y computed in floating point whatever the input dtypes. */
export function floatPower(x: ArrayLike, y: ArrayLike): Tracer {
  const a = asInexact("floatPower", x);
  const b = typeof y === "number" ? y : asInexact("floatPower", y);
  return ew.power(a, b);
}

/**
 * Unwrap phase angles along `axis`: jumps larger than `discont` (default
 * period/2) are replaced by their equivalent modulo `period` (2π).
 */
export function unwrap(p: ArrayLike, opts: { discont?: number | null; axis?: number; period?: number } = {}): Tracer {
  const t = asInexact("unwrap", p);
  if (!isFloat(t.dtype) || t.ndim === 0) throw new ShapeError(`unwrap: expected a float array of rank >= 1, got ${t.aval.str()}`);
  const axis = (opts.axis ?? -1) < 0 ? (opts.axis ?? -1) + t.ndim : (opts.axis ?? -1);
  const period = opts.period ?? 2 * Math.PI;
  const discont = Math.max(opts.discont ?? period / 2, period / 2);
  const n = t.shape[axis];
  if (n < 2) return t;
  const dd = diff(t, 1, axis);
  const half = period / 2;
  let ddmod = ew.subtract(ew.remainder(ew.add(dd, half), period), half);
  // numpy: a jump of exactly +period/2 stays +period/2 rather than -period/2.
  ddmod = ew.where(ew.logicalAnd(ew.equal(ddmod, -half), ew.greater(dd, 0)), half, ddmod);
  const correction = ew.where(ew.less(ew.abs(dd), discont), 0, ew.subtract(ddmod, dd));
  const shape = [...t.shape];
  shape[axis] = 1;
  return ew.add(t, concatenate([zeros(shape, { dtype: t.dtype }), cumsum(correction, axis)], axis));
}

/** Host-side: the arrays broadcast together and are equal everywhere (numpy's array_equiv). */
export function arrayEquiv(a: ArrayLike, b: ArrayLike): boolean {
  const x = asTracer("arrayEquiv", a);
  const y = asTracer("arrayEquiv", b);
  try {
    broadcastShapes(x.shape, y.shape);
  } catch {
    return false;
  }
  return ew.allclose(x, y, { rtol: 0, atol: 0 });
}
