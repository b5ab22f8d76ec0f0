// The `np.linalg` namespace (jax.numpy.linalg): numpy's signatures over the
// decompositions of decompositions.ts — solve/inv/det/slogdet through LU,
// lstsq/pinv/matrix_rank/the spectral norms through the SVD — plus norm with
// every ord and axis form, matrix_power and multi_dot. Inputs are stacks of
// matrices (batch dims first); integers are promoted to float32.

import { Array } from "../core/array";
import { ArgumentError, ShapeError } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { broadcastShapes, normalizeAxis } from "../core/shape";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import * as ew from "./elementwise";
import { asarray, zerosLike } from "./creation";
import { max, min, prod, sum } from "./reductions";
import { expandDims, moveaxis, reshape, squeeze, swapaxes } from "./shape";
import { broadcastTo, promoteArgs, toInexact } from "./promote";
import { takeAlongAxis } from "./indexing";
import { diagonal, matmul } from "./linalg";
import * as lin from "./decompositions";

const mT = (x: Tracer): Tracer => swapaxes(x, -1, -2);
const EPS32 = 2 ** -23;

function eyeLike(n: number, like: Tracer): Tracer {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  const e = Array.fromTyped(data, [n, n], "float32");
  return like.dtype === "float32" ? e : ew.astype(e, like.dtype);
}

/** The lower Cholesky factor L with a = L Lᵀ (upper: true gives Lᵀ); NaN where a is not positive definite. */
export function cholesky(a: ArrayLike, opts: { upper?: boolean } = {}): Tracer {
  checkOptions("np.linalg.cholesky", opts, { upper: opt.boolean });
  const l = lin.cholesky(lin.matrixArg("np.linalg.cholesky", a, { square: true }));
  return opts.upper ? mT(l) : l;
}

/** QR: mode "reduced" (default) gives [q (m×k), r (k×n)], "complete" [q (m×m), r (m×n)], "r" only r. */
export function qr(a: ArrayLike, mode?: "reduced" | "complete"): [Tracer, Tracer];
export function qr(a: ArrayLike, mode: "r"): Tracer;
export function qr(a: ArrayLike, mode: "reduced" | "complete" | "r" = "reduced"): Tracer | [Tracer, Tracer] {
  if (mode !== "reduced" && mode !== "complete" && mode !== "r") {
    throw new ArgumentError(`np.linalg.qr: mode must be "reduced", "complete" or "r", got ${JSON.stringify(mode)}`);
  }
  const [q, r] = lin.qr(lin.matrixArg("np.linalg.qr", a), { fullMatrices: mode === "complete" });
  return mode === "r" ? r : [q, r];
}

/** Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices: [w, v]; UPLO names the triangle read. */
export function eigh(a: ArrayLike, UPLO: "L" | "U" = "L", opts: { symmetrizeInput?: boolean } = {}): [Tracer, Tracer] {
  checkOptions("np.linalg.eigh", opts, { symmetrizeInput: opt.boolean });
  if (UPLO !== "L" && UPLO !== "U") throw new ArgumentError(`np.linalg.eigh: UPLO must be "L" or "U", got ${JSON.stringify(UPLO)}`);
  const [v, w] = lin.eigh(lin.matrixArg("np.linalg.eigh", a, { square: true }), { lower: UPLO === "L", symmetrizeInput: opts.symmetrizeInput ?? true });
  return [w, v];
}

/** The eigenvalues (ascending) of symmetric matrices. */
export function eigvalsh(a: ArrayLike, UPLO: "L" | "U" = "L"): Tracer {
  return eigh(a, UPLO)[0];
}

export interface LinalgSvdOptions {
  fullMatrices?: boolean;
  /** false returns only the singular values. */
  computeUv?: boolean;
  /** Accepted for numpy parity; the general algorithm is used either way. */
  hermitian?: boolean;
}

/** SVD: [u, s, vh] with a = u diag(s) vh, s descending (computeUv: false gives s alone). */
export function svd(a: ArrayLike, opts: LinalgSvdOptions & { computeUv: false }): Tracer;
export function svd(a: ArrayLike, opts?: LinalgSvdOptions & { computeUv?: true }): [Tracer, Tracer, Tracer];
export function svd(a: ArrayLike, opts: LinalgSvdOptions = {}): Tracer | [Tracer, Tracer, Tracer] {
  checkOptions("np.linalg.svd", opts, { fullMatrices: opt.boolean, computeUv: opt.boolean, hermitian: opt.boolean });
  const m = lin.matrixArg("np.linalg.svd", a);
  if (opts.computeUv === false) return lin.singularValues(m);
  return lin.svd(m, { fullMatrices: opts.fullMatrices ?? true });
}

/** The singular values, descending. */
export function svdvals(a: ArrayLike): Tracer {
  return lin.singularValues(lin.matrixArg("np.linalg.svdvals", a));
}

/** The LU factors' diagonal and the parity of the row permutation (+1 or -1), per matrix. */
function luDiagonalAndParity(where: string, a: ArrayLike): [Tracer, Tracer] {
  const m = lin.matrixArg(where, a, { square: true });
  const [packed, pivots] = lin.lu(m);
  const n = m.shape[m.ndim - 1];
  const swaps = sum(ew.astype(ew.notEqual(pivots, indexVector(n)), "int32"), -1);
  const parity = ew.subtract(1, ew.multiply(2, ew.astype(ew.remainder(swaps, 2), m.dtype)));
  return [diagonal(packed, 0, -2, -1), parity];
}

function indexVector(n: number): Tracer {
  return Array.fromTyped(Int32Array.from({ length: n }, (_, i) => i), [n], "int32");
}

/** Determinants of square matrices (through LU with partial pivoting). */
export function det(a: ArrayLike): Tracer {
  const [d, parity] = luDiagonalAndParity("np.linalg.det", a);
  return ew.multiply(parity, prod(d, -1));
}

/** [sign, logabsdet] with det = sign · exp(logabsdet), without overflow (sign 0 and logabsdet -inf for singular matrices). */
export function slogdet(a: ArrayLike): [Tracer, Tracer] {
  const [d, parity] = luDiagonalAndParity("np.linalg.slogdet", a);
  const sign = ew.multiply(parity, prod(ew.sign(d), -1));
  return [sign, sum(ew.log(ew.abs(d)), -1)];
}

/**
 * Solve a x = b. b is a vector per matrix when it is 1-D (numpy 2 and JAX),
 * else a stack of matrices; batch dims broadcast.
 */
export function solve(a: ArrayLike, b: ArrayLike): Tracer {
  const where = "np.linalg.solve";
  const [am0, bm0] = promoteArgs(where, [a, b], { broadcast: false, toDType: toInexact }).args;
  const am = lin.matrixArg(where, am0, { square: true });
  const vector = bm0.ndim === 1;
  const n = am.shape[am.ndim - 1];
  let bm = vector ? reshape(bm0, [bm0.shape[0], 1]) : bm0;
  if (bm.ndim < 2 || bm.shape[bm.ndim - 2] !== n) {
    throw new ShapeError(`${where}: a ${am.aval.str()} needs b with ${n} rows (or a vector of ${n}), got b ${bm0.aval.str()}`);
  }
  const batch = broadcastShapes(where, am.shape.slice(0, -2), bm.shape.slice(0, -2));
  const ab = broadcastTo(am, [...batch, n, n]);
  bm = broadcastTo(bm, [...batch, ...bm.shape.slice(-2)]);
  const [packed, , perm] = lin.lu(ab);
  const permIdx = broadcastTo(expandDims(perm, -1), [...batch, n, bm.shape[bm.ndim - 1]]);
  const pb = takeAlongAxis(bm, permIdx, -2);
  const y = lin.triangularSolve(packed, pb, { leftSide: true, lower: true, unitDiagonal: true });
  const x = lin.triangularSolve(packed, y, { leftSide: true, lower: false });
  return vector ? reshape(x, x.shape.slice(0, -1)) : x;
}

/** Matrix inverses (solve against the identity). */
export function inv(a: ArrayLike): Tracer {
  const m = lin.matrixArg("np.linalg.inv", a, { square: true });
  const n = m.shape[m.ndim - 1];
  return solve(m, broadcastTo(eyeLike(n, m), m.shape));
}

/**
 * Least squares: [x, residuals, rank, s] minimizing ‖a x - b‖ through the
 * SVD; singular values below rcond·s_max count as zero (rcond defaults to
 * eps·max(m, n)). Residuals are always returned (zeros where numpy returns
 * an empty array), as in JAX.
 */
export function lstsq(a: ArrayLike, b: ArrayLike, opts: { rcond?: number | null } = {}): [Tracer, Tracer, Tracer, Tracer] {
  const where = "np.linalg.lstsq";
  checkOptions(where, opts, { rcond: opt.nullable(opt.number) });
  const [a0, b0] = promoteArgs(where, [a, b], { broadcast: false, toDType: toInexact }).args;
  if (a0.ndim !== 2) throw new ShapeError(`${where}: a must be a 2-D matrix, got ${a0.aval.str()}`);
  if (b0.ndim !== 1 && b0.ndim !== 2) throw new ShapeError(`${where}: b must be 1-D or 2-D, got ${b0.aval.str()}`);
  const [m, n] = a0.shape;
  if (b0.shape[0] !== m) throw new ShapeError(`${where}: a ${a0.aval.str()} and b ${b0.aval.str()} must have the same number of rows`);
  const bm = b0.ndim === 1 ? reshape(b0, [m, 1]) : b0;
  const rcond = opts.rcond ?? EPS32 * Math.max(m, n);
  const [u, s, vt] = lin.svd(a0, { fullMatrices: false });
  const k = s.shape[0];
  const sMax = k === 0 ? asarray(0, { dtype: s.dtype }) : reshape(max(s), []);
  const mask = ew.greaterEqual(s, ew.multiply(rcond, sMax));
  const rank = sum(ew.astype(mask, "int32"));
  const sInv = ew.where(mask, ew.reciprocal(ew.where(mask, s, 1)), 0);
  const x = matmul(mT(vt), ew.multiply(expandDims(sInv, 1), matmul(mT(u), bm)));
  const resid = sum(ew.square(ew.subtract(bm, matmul(a0, x))), 0);
  return [b0.ndim === 1 ? reshape(x, [n]) : x, b0.ndim === 1 ? reshape(resid, []) : resid, rank, s];
}

/** The Moore–Penrose pseudo-inverse through the SVD; singular values at or below rtol·s_max are dropped (rtol defaults to 10·max(m, n)·eps). */
export function pinv(a: ArrayLike, opts: { rtol?: number | null; hermitian?: boolean } = {}): Tracer {
  checkOptions("np.linalg.pinv", opts, { rtol: opt.nullable(opt.number), hermitian: opt.boolean });
  const m = lin.matrixArg("np.linalg.pinv", a);
  const [rows, cols] = m.shape.slice(-2);
  const rtol = opts.rtol ?? 10 * Math.max(rows, cols) * EPS32;
  const [u, s, vt] = lin.svd(m, { fullMatrices: false });
  if (s.shape[s.ndim - 1] === 0) return zerosLike(mT(m));
  const cutoff = ew.multiply(rtol, max(s, -1, { keepdims: true }));
  const keep = ew.greater(s, cutoff);
  const sInv = ew.where(keep, ew.reciprocal(ew.where(keep, s, 1)), 0);
  return matmul(ew.multiply(mT(vt), expandDims(sInv, -2)), mT(u));
}

/** The number of singular values above rtol·s_max (rtol defaults to max(m, n)·eps), per matrix. */
export function matrixRank(a: ArrayLike, opts: { rtol?: number | null } = {}): Tracer {
  checkOptions("np.linalg.matrixRank", opts, { rtol: opt.nullable(opt.number) });
  const m = lin.matrixArg("np.linalg.matrixRank", a);
  const [rows, cols] = m.shape.slice(-2);
  const s = lin.singularValues(m);
  if (s.shape[s.ndim - 1] === 0) return zerosLike(reshape(s, s.shape.slice(0, -1)), "int32");
  const tol = ew.multiply(opts.rtol ?? Math.max(rows, cols) * EPS32, max(s, -1, { keepdims: true }));
  return sum(ew.astype(ew.greater(s, tol), "int32"), -1);
}

/** a raised to the integer power n by repeated squaring (n < 0 inverts first, n = 0 gives identities). */
export function matrixPower(a: ArrayLike, n: number): Tracer {
  const where = "np.linalg.matrixPower";
  if (!Number.isInteger(n)) throw new ArgumentError(`${where}: the exponent must be an integer, got ${n}`);
  let m = isTracer(a) ? a : asarray(a as never);
  if (m.ndim < 2 || m.shape[m.ndim - 1] !== m.shape[m.ndim - 2]) {
    throw new ShapeError(`${where}: expected square matrices in the last two axes, got ${m.aval.str()}`);
  }
  const size = m.shape[m.ndim - 1];
  if (n === 0) return broadcastTo(ew.astype(eyeLike(size, ew.astype(m, "float32")), m.dtype), m.shape);
  if (n < 0) m = inv(m);
  let k = Math.abs(n);
  let result: Tracer | null = null;
  let base = m;
  while (k > 0) {
    if (k & 1) result = result === null ? base : matmul(result, base);
    k >>= 1;
    if (k > 0) base = matmul(base, base);
  }
  return result as Tracer;
}

/**
 * The product of a chain of matrices in the cheapest association (dynamic
 * programming over the chain's shapes); the first and last may be vectors.
 */
export function multiDot(arrays: readonly ArrayLike[]): Tracer {
  const where = "np.linalg.multiDot";
  if (!globalThis.Array.isArray(arrays) || arrays.length < 2) {
    throw new ArgumentError(`${where}: expected a list of at least two arrays, got ${globalThis.Array.isArray(arrays) ? arrays.length : typeof arrays}`);
  }
  const ts = promoteArgs(where, arrays, { broadcast: false }).args;
  const last = ts.length - 1;
  const first1d = ts[0].ndim === 1;
  const last1d = ts[last].ndim === 1;
  const mats = ts.map((t, i) => {
    if (i === 0 && first1d) return reshape(t, [1, t.shape[0]]);
    if (i === last && last1d) return reshape(t, [t.shape[0], 1]);
    if (t.ndim !== 2) throw new ShapeError(`${where}: array ${i} must be 2-D (only the first and last may be 1-D), got ${t.aval.str()}`);
    return t;
  });
  mats.forEach((t, i) => {
    if (i > 0 && mats[i - 1].shape[1] !== t.shape[0]) {
      throw new ShapeError(`${where}: arrays ${i - 1} and ${i} do not chain: ${ts[i - 1].aval.str()} · ${ts[i].aval.str()}`);
    }
  });
  // dims[i] × dims[i+1] is the shape of matrix i; cost[i][j] the cheapest product of i..j.
  const dims = [mats[0].shape[0], ...mats.map((t) => t.shape[1])];
  const k = mats.length;
  const cost = globalThis.Array.from({ length: k }, () => new globalThis.Array<number>(k).fill(0));
  const split = globalThis.Array.from({ length: k }, () => new globalThis.Array<number>(k).fill(0));
  for (let len = 1; len < k; len++) {
    for (let i = 0; i + len < k; i++) {
      const j = i + len;
      cost[i][j] = Infinity;
      for (let s = i; s < j; s++) {
        const c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1];
        if (c < cost[i][j]) {
          cost[i][j] = c;
          split[i][j] = s;
        }
      }
    }
  }
  const chain = (i: number, j: number): Tracer => (i === j ? mats[i] : matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j)));
  let out = chain(0, k - 1);
  if (first1d) out = squeeze(out, 0);
  if (last1d) out = squeeze(out, -1);
  return out;
}

// --- norms --------------------------------------------------------------------------

export type NormOrd = number | "fro" | "nuc" | null;

function floatArg(where: string, x: ArrayLike): Tracer {
  return promoteArgs(where, [x], { broadcast: false, toDType: toInexact }).args[0];
}

/** ‖x‖ along `axis` for a vector ord (2, 1, inf, -inf, 0 = count of non-zeros, any other p: (Σ|x|^p)^(1/p)). */
function vectorNormAlong(where: string, x: Tracer, ord: NormOrd, axis: number[], keepdims: boolean): Tracer {
  const o = { keepdims };
  if (ord === "fro" || ord === "nuc") throw new ArgumentError(`${where}: ord ${JSON.stringify(ord)} is a matrix norm; vectors take a number (2, 1, Infinity, -Infinity, 0, p)`);
  if (ord === null || ord === 2) return ew.sqrt(sum(ew.multiply(x, x), axis, o));
  if (typeof ord !== "number" || Number.isNaN(ord)) throw new ArgumentError(`${where}: invalid ord ${JSON.stringify(ord)}`);
  const ax = ew.abs(x);
  if (ord === Infinity) return max(ax, axis, o);
  if (ord === -Infinity) return min(ax, axis, o);
  if (ord === 0) return sum(ew.astype(ew.notEqual(x, 0), x.dtype), axis, o);
  if (ord === 1) return sum(ax, axis, o);
  return ew.power(sum(ew.power(ax, ord), axis, o), 1 / ord);
}

/** The matrix norm over the axis pair [rowAxis, colAxis]. */
function matrixNormAlong(where: string, x: Tracer, ord: NormOrd, rowAxis: number, colAxis: number, keepdims: boolean): Tracer {
  const restore = (r: Tracer): Tracer => {
    if (!keepdims) return r;
    const [lo, hi] = rowAxis < colAxis ? [rowAxis, colAxis] : [colAxis, rowAxis];
    return expandDims(expandDims(r, lo), hi);
  };
  if (ord === null || ord === "fro") return ew.sqrt(sum(ew.multiply(x, x), [rowAxis, colAxis], { keepdims }));
  if (ord === Infinity || ord === -Infinity || ord === 1 || ord === -1) {
    // inf: the largest row sum of |x| (sum over columns); 1: the largest column sum.
    const summedAxis = ord === 1 || ord === -1 ? rowAxis : colAxis;
    const otherAxis = summedAxis === rowAxis ? colAxis : rowAxis;
    const sums = sum(ew.abs(x), summedAxis, { keepdims: true });
    const pick = ord > 0 ? max : min;
    const r = pick(sums, otherAxis, { keepdims: true });
    return keepdims ? r : squeeze(r, [rowAxis, colAxis]);
  }
  if (ord === 2 || ord === -2 || ord === "nuc") {
    const s = lin.singularValues(moveaxis(x, [rowAxis, colAxis], [-2, -1]));
    const r = ord === 2 ? max(s, -1) : ord === -2 ? min(s, -1) : sum(s, -1);
    return restore(r);
  }
  throw new ArgumentError(`${where}: invalid ord ${JSON.stringify(ord)} for a matrix norm; use null, "fro", "nuc", Infinity, -Infinity, 1, -1, 2 or -2`);
}

/**
 * numpy's norm: axis null gives the 2-norm of the flattened array when ord is
 * null, else the vector norm of a 1-D input or the matrix norm of a 2-D one;
 * an integer axis gives vector norms, an axis pair matrix norms.
 */
export function norm(x: ArrayLike, ord: NormOrd = null, axis: number | readonly number[] | null = null, opts: { keepdims?: boolean } = {}): Tracer {
  const where = "np.linalg.norm";
  checkOptions(where, opts, { keepdims: opt.boolean });
  const keepdims = opts.keepdims ?? false;
  const t = floatArg(where, x);
  if (axis === null || axis === undefined) {
    if (ord === null) {
      const all_ = t.shape.map((_, i) => i);
      return ew.sqrt(sum(ew.multiply(t, t), all_, { keepdims }));
    }
    if (t.ndim === 1) return vectorNormAlong(where, t, ord, [0], keepdims);
    if (t.ndim === 2) return matrixNormAlong(where, t, ord, 0, 1, keepdims);
    throw new ShapeError(`${where}: ord ${JSON.stringify(ord)} needs a 1-D or 2-D input or an explicit axis, got ${t.aval.str()}`);
  }
  const axes = typeof axis === "number" ? [axis] : [...axis];
  if (axes.length === 1) return vectorNormAlong(where, t, ord, [normalizeAxis(axes[0], t.ndim, where)], keepdims);
  if (axes.length === 2) {
    const [r, c] = axes.map((a) => normalizeAxis(a, t.ndim, where));
    if (r === c) throw new ArgumentError(`${where}: the two axes of a matrix norm must differ, got ${JSON.stringify(axis)}`);
    return matrixNormAlong(where, t, ord, r, c, keepdims);
  }
  throw new ArgumentError(`${where}: axis must be null, an integer or a pair of integers, got ${JSON.stringify(axis)}`);
}

/** The matrix norm over the last two axes (ord "fro" by default). */
export function matrixNorm(x: ArrayLike, opts: { ord?: NormOrd; keepdims?: boolean } = {}): Tracer {
  checkOptions("np.linalg.matrixNorm", opts, { ord: opt.any, keepdims: opt.boolean });
  const t = floatArg("np.linalg.matrixNorm", x);
  if (t.ndim < 2) throw new ShapeError(`np.linalg.matrixNorm: needs an array of at least 2 dimensions, got ${t.aval.str()}`);
  return matrixNormAlong("np.linalg.matrixNorm", t, opts.ord ?? "fro", t.ndim - 2, t.ndim - 1, opts.keepdims ?? false);
}

/** The vector norm along `axis` (all axes, flattened, by default; ord 2 by default). */
export function vectorNorm(x: ArrayLike, opts: { ord?: number; axis?: number | readonly number[] | null; keepdims?: boolean } = {}): Tracer {
  checkOptions("np.linalg.vectorNorm", opts, { ord: opt.number, axis: opt.axis, keepdims: opt.boolean });
  const t = floatArg("np.linalg.vectorNorm", x);
  const axis = opts.axis ?? null;
  const axes = axis === null ? t.shape.map((_, i) => i) : (typeof axis === "number" ? [axis] : [...axis]).map((a) => normalizeAxis(a, t.ndim, "np.linalg.vectorNorm"));
  return vectorNormAlong("np.linalg.vectorNorm", t, opts.ord ?? 2, axes, opts.keepdims ?? false);
}

/** The 2-norm condition number ‖a‖₂·‖a⁻¹‖₂ = s_max / s_min. */
export function cond(a: ArrayLike): Tracer {
  const s = svdvals(a);
  return ew.divide(max(s, -1), min(s, -1));
}

export { diagonal, matmul, outer, tensordot, trace, vdot } from "./linalg";
export { matrixTranspose } from "./matrices";
