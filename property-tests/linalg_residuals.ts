// Backward-error checks for a float32 cholesky, lu or triangular_solve computed on
// another backend than the interpreter. The interpreter factors and solves in
// float64 and rounds once; a float32 kernel rounds at every operation, so on an
// ill-conditioned matrix the two may differ in every digit while both are as
// right as float32 allows. What a backward-stable algorithm guarantees is a
// small residual relative to the magnitudes it combined:
//   substitution:  |c - M ŷ| <= γ·(|M||ŷ| + |c|) componentwise,
//   Cholesky:      |A - L̂ L̂ᵀ| <= γ·|L̂||L̂ᵀ| componentwise on the lower triangle,
//   LU:            |P A - L̂ Û| <= γ·|L̂||Û| componentwise,
// with γ a small multiple of n·2^-24 (Higham, Accuracy and Stability of
// Numerical Algorithms, theorems 8.5, 9.3 and 10.3). A result passes when it equals
// the interpreter's within a tight tolerance or meets that bound. Matrices
// holding NaN or ±Inf have no meaningful residual: there the results must agree
// on which elements are non-finite, and finite ones closely. Whether a matrix
// is positive definite may differ only where a pivot is within rounding of 0.

import type { ParamsOf } from "../src/core/primitives";
import type { TypedArray } from "../src/core/dtype";

/** γ for sums of `terms` float32 products: a generous multiple of the unit roundoff. */
const gamma = (terms: number): number => 8 * (terms + 2) * 2 ** -24;

const allFinite = (xs: ArrayLike<number>): boolean => Array.prototype.every.call(xs, (x: number) => Number.isFinite(x));

/** Element-by-element agreement for matrices with non-finite inputs: non-finite where the oracle is, close elsewhere. */
function agreeOnSpecials(got: ArrayLike<number>, want: ArrayLike<number>, where: string): string | null {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Object.is(g, w) || g === w) continue;
    if (!Number.isFinite(g) && !Number.isFinite(w)) continue;
    if (Number.isFinite(g) && Number.isFinite(w) && Math.abs(g - w) <= 1e-3 * Math.max(1, Math.abs(w))) continue;
    return `${where}, element ${i} (inputs hold NaN/Inf): got ${g}, want ${w}`;
  }
  return null;
}

const closeTo = (g: number, w: number): boolean => g === w || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6;

/**
 * Whether `got` (batch × rows × cols) solves the triangular systems of `a` (batch × n × n) and
 * `b` as `p` says, within rounding: null when it does, else what is wrong.
 */
export function triangularSolveMismatch(
  a: TypedArray, b: TypedArray, got: TypedArray, want: TypedArray, batch: number, rows: number, cols: number, p: ParamsOf<"triangular_solve">,
): string | null {
  const n = p.leftSide ? rows : cols;
  const rhs = p.leftSide ? cols : rows;
  const transposed = p.leftSide ? p.transposeA : !p.transposeA;
  const lowerM = p.lower !== transposed;
  for (let m = 0; m < batch; m++) {
    const A = a.subarray(m * n * n, (m + 1) * n * n);
    const B = b.subarray(m * rows * cols, (m + 1) * rows * cols);
    const G = got.subarray(m * rows * cols, (m + 1) * rows * cols);
    const W = want.subarray(m * rows * cols, (m + 1) * rows * cols);
    const M = (i: number, k: number) => (i === k && p.unitDiagonal ? 1 : transposed ? A[k * n + i] : A[i * n + k]);
    const inTriangle = (i: number, k: number) => (lowerM ? k <= i : k >= i);
    let finiteInputs = allFinite(B);
    for (let i = 0; i < n && finiteInputs; i++) for (let k = 0; k < n; k++) if (inTriangle(i, k) && !Number.isFinite(M(i, k))) finiteInputs = false;
    const where = `matrix ${m}`;
    if (!finiteInputs) {
      const e = agreeOnSpecials(G, W, where);
      if (e) return e;
      continue;
    }
    if (Array.prototype.every.call(G, (g: number, i: number) => closeTo(g, W[i]))) continue;
    const at = (i: number, r: number) => (p.leftSide ? i * cols + r : r * cols + i);
    for (let r = 0; r < rhs; r++) {
      for (let i = 0; i < n; i++) {
        let lhs = 0;
        let mag = Math.abs(B[at(i, r)]);
        for (let k = 0; k < n; k++) {
          if (!inTriangle(i, k)) continue;
          lhs += M(i, k) * G[at(k, r)];
          mag += Math.abs(M(i, k) * G[at(k, r)]);
        }
        const resid = Math.abs(B[at(i, r)] - lhs);
        // A non-finite ŷ is right only where the oracle's is non-finite too (a zero pivot, overflow).
        if (!Number.isFinite(resid) && !Number.isFinite(W[at(i, r)])) continue;
        if (!(resid <= gamma(n) * mag)) {
          return `${where}, right-hand side ${r}, row ${i}: residual ${resid.toExponential(3)} > ${(gamma(n) * mag).toExponential(3)} (got ${G[at(i, r)]}, interpreter ${W[at(i, r)]})`;
        }
      }
    }
  }
  return null;
}

/** Whether `got` (batch × n × n) is a Cholesky factor of `a`'s lower triangles within rounding (NaN where `a` is not positive definite): null when it is. */
export function choleskyMismatch(a: TypedArray, got: TypedArray, want: TypedArray, batch: number, n: number): string | null {
  for (let m = 0; m < batch; m++) {
    const A = a.subarray(m * n * n, (m + 1) * n * n);
    const G = got.subarray(m * n * n, (m + 1) * n * n);
    const W = want.subarray(m * n * n, (m + 1) * n * n);
    const where = `matrix ${m}`;
    let finiteInputs = true;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (!Number.isFinite(A[i * n + j])) finiteInputs = false;
    if (!finiteInputs) {
      const e = agreeOnSpecials(G, W, where);
      if (e) return e;
      continue;
    }
    if (Array.prototype.every.call(G, (g: number, i: number) => closeTo(g, W[i]))) continue;
    const failedG = Number.isNaN(G[0]);
    const failedW = Number.isNaN(W[0]);
    let scale = 0;
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(A[i * n + i]));
    /** The smallest squared pivot of a factor: how far from singular the factorisation found the matrix. */
    const minPivot = (L: ArrayLike<number>) => Math.min(...Array.from({ length: n }, (_, j) => L[j * n + j] * L[j * n + j]));
    const marginal = (L: ArrayLike<number>) => minPivot(L) <= gamma(n) * n * scale;
    if (failedG && failedW) {
      if (!Array.prototype.every.call(G, Number.isNaN)) return `${where}: a failed factorisation must be NaN everywhere`;
      continue;
    }
    if (failedG) {
      if (!Array.prototype.every.call(G, Number.isNaN)) return `${where}: a failed factorisation must be NaN everywhere`;
      if (marginal(W)) continue;
      return `${where}: got NaN (not positive definite), but the interpreter's smallest squared pivot is ${minPivot(W)}`;
    }
    if (failedW && !marginal(G)) return `${where}: the interpreter found it not positive definite; got a factor with smallest squared pivot ${minPivot(G)}`;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j > i) {
          if (G[i * n + j] !== 0) return `${where}: element (${i}, ${j}) above the diagonal is ${G[i * n + j]}, want 0`;
          continue;
        }
        let llt = 0;
        let mag = 0;
        for (let k = 0; k <= j; k++) {
          llt += G[i * n + k] * G[j * n + k];
          mag += Math.abs(G[i * n + k] * G[j * n + k]);
        }
        const resid = Math.abs(A[i * n + j] - llt);
        if (!(resid <= gamma(n) * mag)) {
          return `${where}, element (${i}, ${j}): |a - L Lᵀ| = ${resid.toExponential(3)} > ${(gamma(n) * mag).toExponential(3)} (got ${G[i * n + j]}, interpreter ${W[i * n + j]})`;
        }
      }
    }
  }
  return null;
}

/**
 * Whether `got` = [packed L\U (batch × m × n), pivots (batch × k), permutation (batch × m)] is an LU
 * factorisation with partial pivoting of `a` within rounding: null when it is. Where rounding makes
 * two candidate pivots tie differently than in float64, another row may be chosen; the result must
 * then still be a factorisation P a = L U with |L| <= 1, its pivots consistent with its permutation.
 */
export function luMismatch(a: TypedArray, got: readonly TypedArray[], want: readonly TypedArray[], batch: number, m: number, n: number): string | null {
  const k = Math.min(m, n);
  for (let b = 0; b < batch; b++) {
    const A = a.subarray(b * m * n, (b + 1) * m * n);
    const [G, GP, GQ] = [got[0].subarray(b * m * n, (b + 1) * m * n), got[1].subarray(b * k, (b + 1) * k), got[2].subarray(b * m, (b + 1) * m)];
    const [W, WP, WQ] = [want[0].subarray(b * m * n, (b + 1) * m * n), want[1].subarray(b * k, (b + 1) * k), want[2].subarray(b * m, (b + 1) * m)];
    const where = `matrix ${b}`;
    if (!allFinite(A)) {
      const e = agreeOnSpecials(G, W, where) ?? agreeOnSpecials(GP, WP, `${where} pivots`) ?? agreeOnSpecials(GQ, WQ, `${where} permutation`);
      if (e) return e;
      continue;
    }
    const samePivots = Array.prototype.every.call(GP, (p: number, i: number) => p === WP[i]) && Array.prototype.every.call(GQ, (q: number, i: number) => q === WQ[i]);
    if (samePivots && Array.prototype.every.call(G, (g: number, i: number) => closeTo(g, W[i]))) continue;
    // The permutation is the identity with the pivots' swaps applied in order.
    const perm = Array.from({ length: m }, (_, i) => i);
    for (let j = 0; j < k; j++) {
      const p = GP[j];
      if (!(p >= j && p < m)) return `${where}: pivot ${j} is ${p}, outside [${j}, ${m})`;
      [perm[j], perm[p]] = [perm[p], perm[j]];
    }
    if (perm.some((q, i) => q !== GQ[i])) return `${where}: permutation ${Array.from(GQ)} does not follow from pivots ${Array.from(GP)}`;
    const L = (i: number, j: number) => (i === j ? 1 : j < i ? G[i * n + j] : 0);
    const U = (i: number, j: number) => (i <= j ? G[i * n + j] : 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < Math.min(i, k); j++) {
        if (!(Math.abs(L(i, j)) <= 1 + 1e-6)) return `${where}: |L(${i}, ${j})| = ${Math.abs(L(i, j))} > 1: not the largest pivot`;
      }
      for (let j = 0; j < n; j++) {
        let lu = 0;
        let mag = 0;
        for (let t = 0; t <= Math.min(i, j, k - 1); t++) {
          lu += L(i, t) * U(t, j);
          mag += Math.abs(L(i, t) * U(t, j));
        }
        const resid = Math.abs(A[GQ[i] * n + j] - lu);
        if (!(resid <= gamma(k) * mag + 1e-30)) {
          return `${where}, element (${i}, ${j}): |(P a - L U)| = ${resid.toExponential(3)} > ${(gamma(k) * mag).toExponential(3)} (pivots ${Array.from(GP)}, interpreter's ${Array.from(WP)})`;
        }
      }
    }
  }
  return null;
}
