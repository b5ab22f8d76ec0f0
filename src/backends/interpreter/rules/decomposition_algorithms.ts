// The matrix decomposition algorithms of the interpreter (cholesky, lu, qr,
// eigh, svd, triangular_solve) on one row-major matrix at a time, in float64
// (decompositions.ts rounds their results to the output dtype), so that the
// interpreter is an accurate oracle for the wasm kernels (wasm/src/linalg.rs
// runs the same algorithms).
//
// Algorithms: Cholesky row by row (Cholesky–Banachiewicz); LU with partial
// pivoting (LAPACK getrf's choice of pivot: the first largest |entry|);
// Householder QR with LAPACK's reflector convention (geqrf/larfg: R's
// diagonal is -sign(a_kk)·‖x‖, no reflection where the column below is
// already zero); eigh by Householder tridiagonalization and the implicit QL
// algorithm (EISPACK's tred2/tql2); SVD by one-sided (Hestenes) Jacobi on
// the columns of A V, V the eigenvectors of AᵀA (so that one or two sweeps
// remain), U completed to an orthonormal basis by Gram–Schmidt.
//
// The wasm kernels perform the same IEEE operations in the same order, so
// both backends give the same bits: no Math.hypot or `**` here (their
// rounding is the engine's), `hypot` and the two-lane `dot` below instead.

import type { ParamsOf } from "../../../core/primitives";

/** L (n×n, lower, zeros above) with a = L Lᵀ from a's lower triangle; false when a is not positive definite. */
export function choleskyF64(a: Float64Array, n: number, l: Float64Array): boolean {
  l.fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return false;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return true;
}

/** In-place LU with partial pivoting of m×n `a` (L's unit diagonal implicit); fills pivots (k) and perm (m). */
export function luF64(a: Float64Array, m: number, n: number, pivots: Int32Array, perm: Int32Array): void {
  for (let i = 0; i < m; i++) perm[i] = i;
  const k = Math.min(m, n);
  for (let j = 0; j < k; j++) {
    let p = j;
    let best = Math.abs(a[j * n + j]);
    for (let i = j + 1; i < m; i++) {
      const v = Math.abs(a[i * n + j]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    pivots[j] = p;
    if (p !== j) {
      for (let c = 0; c < n; c++) {
        const t = a[j * n + c];
        a[j * n + c] = a[p * n + c];
        a[p * n + c] = t;
      }
      const t = perm[j];
      perm[j] = perm[p];
      perm[p] = t;
    }
    const pivot = a[j * n + j];
    // A zero pivot means the column is zero at and below j: LAPACK leaves it (and reports it).
    if (pivot === 0) continue;
    for (let i = j + 1; i < m; i++) {
      const l = (a[i * n + j] /= pivot);
      if (l === 0) continue;
      for (let c = j + 1; c < n; c++) a[i * n + c] -= l * a[j * n + c];
    }
  }
}

/**
 * Householder QR of m×n `a` (overwritten by R, zeros below the diagonal).
 * Returns Q's first `qCols` columns (m×qCols) as the product of the
 * reflectors applied to the identity.
 */
export function qrF64(a: Float64Array, m: number, n: number, qCols: number): Float64Array {
  const k = Math.min(m, n);
  const vs: Float64Array[] = [];
  const taus = new Float64Array(k);
  const w = new Float64Array(Math.max(n, qCols));
  for (let j = 0; j < k; j++) {
    const len = m - j;
    const v = new Float64Array(len);
    const alpha = a[j * n + j];
    let tailSq = 0;
    for (let i = 1; i < len; i++) {
      const x = a[(j + i) * n + j];
      tailSq += x * x;
    }
    vs.push(v);
    v[0] = 1;
    if (tailSq === 0) continue; // H = I, as LAPACK's larfg
    const beta = (alpha >= 0 ? -1 : 1) * hypot(alpha, Math.sqrt(tailSq));
    const tau = (taus[j] = (beta - alpha) / beta);
    const scale = 1 / (alpha - beta);
    for (let i = 1; i < len; i++) {
      v[i] = a[(j + i) * n + j] * scale;
      a[(j + i) * n + j] = 0;
    }
    a[j * n + j] = beta;
    applyReflector(a, n, j, j + 1, n, v, tau, w);
  }
  const q = new Float64Array(m * qCols);
  for (let i = 0; i < Math.min(m, qCols); i++) q[i * qCols + i] = 1;
  for (let j = k - 1; j >= 0; j--) if (taus[j] !== 0) applyReflector(q, qCols, j, 0, qCols, vs[j], taus[j], w);
  return q;
}

/** Rows [row0, row0 + v.length) and columns [c0, c1) of x (row stride `ld`) ← (I - tau v vᵀ) x, by rows. */
function applyReflector(x: Float64Array, ld: number, row0: number, c0: number, c1: number, v: Float64Array, tau: number, w: Float64Array): void {
  w.fill(0, c0, c1);
  for (let i = 0; i < v.length; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const r = (row0 + i) * ld;
    for (let c = c0; c < c1; c++) w[c] += vi * x[r + c];
  }
  for (let i = 0; i < v.length; i++) {
    const f = tau * v[i];
    if (f === 0) continue;
    const r = (row0 + i) * ld;
    for (let c = c0; c < c1; c++) x[r + c] -= f * w[c];
  }
}

/**
 * Eigen-decomposition of the symmetric n×n matrix given by a's lower
 * triangle: ascending eigenvalues w and eigenvectors as the columns of v
 * (n×n). Householder tridiagonalization accumulating the transform, then the
 * implicit QL iteration with Wilkinson-style shifts, rotating the rows of
 * zt = vᵀ so that every update runs along contiguous memory.
 */
export function eighF64(a: Float64Array, n: number, w: Float64Array, v: Float64Array): void {
  if (n === 0) return;
  if (!a.every(Number.isFinite)) {
    w.fill(NaN);
    v.fill(NaN);
    return;
  }
  // z holds the symmetric matrix (from the lower triangle) and becomes the orthogonal transform.
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) z[i * n + j] = z[j * n + i] = a[i * n + j];
  const d = w;
  const e = new Float64Array(n);
  tridiagonalize(z, n, d, e);
  const zt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) zt[j * n + i] = z[i * n + j];
  tridiagonalQl(d, e, zt, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => d[p] - d[q] || p - q);
  const sorted = order.map((i) => d[i]);
  for (let c = 0; c < n; c++) {
    w[c] = sorted[c];
    const row = order[c] * n;
    for (let r = 0; r < n; r++) v[r * n + c] = zt[row + r];
  }
}

/** tred2: z (symmetric) ← the orthogonal Q with Qᵀ z Q tridiagonal; d its diagonal, e[1..] its subdiagonal. */
function tridiagonalize(z: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = z[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = z[(i - 1) * n + j];
        z[i * n + j] = 0;
        z[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        z[j * n + i] = f;
        g = e[j] + z[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += z[k * n + j] * d[k];
          e[k] += z[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) z[k * n + j] -= f * e[k] + g * d[k];
        d[j] = z[(i - 1) * n + j];
        z[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    z[(n - 1) * n + i] = z[i * n + i];
    z[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = z[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += z[k * n + i + 1] * z[k * n + j];
        for (let k = 0; k <= i; k++) z[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) z[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = z[(n - 1) * n + j];
    z[(n - 1) * n + j] = 0;
  }
  z[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** tql2: eigenvalues of the tridiagonal (d, e) into d; the rotations applied to the rows of zt (eigenvectors as rows). */
function tridiagonalQl(d: Float64Array, e: Float64Array, zt: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 60; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zk1 = zt[rj + k];
            const zk = zt[ri + k];
            zt[rj + k] = s * zk + c * zk1;
            zt[ri + k] = c * zk - s * zk1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * SVD of m×n `a` with m >= n by one-sided Jacobi: s descending (n), u (m×uCols,
 * uCols = n or m) and vt (n×n). Works on aᵀ so that the rotated columns are
 * contiguous rows.
 */
export function svdTallF64(a: Float64Array, m: number, n: number, uCols: number, s: Float64Array, u: Float64Array, vt: Float64Array): void {
  if (!a.every(Number.isFinite)) {
    s.fill(NaN);
    u.fill(NaN);
    vt.fill(NaN);
    return;
  }
  const g = new Float64Array(n * m); // row j = column j of A V, rotated towards U Σ
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[j * m + i] = a[i * n + j];
  // The eigenvectors of AᵀA (lower triangle): the columns of A V are then nearly orthogonal.
  const gram = new Float64Array(n * n);
  for (let p = 0; p < n; p++) for (let q = 0; q <= p; q++) gram[p * n + q] = dot(g, p * m, g, q * m, m);
  const eigvecs = new Float64Array(n * n);
  if (n > 0) eighF64(gram, n, new Float64Array(n), eigvecs);
  const v = new Float64Array(n * n); // row j = column j of V
  for (let j = 0; j < n; j++) for (let r = 0; r < n; r++) v[j * n + r] = eigvecs[r * n + j];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let r = 0; r < n; r++) acc += a[i * n + r] * v[j * n + r];
      g[j * m + i] = acc;
    }
  }
  const norms = new Float64Array(n);
  const tol = 1e-15;
  for (let sweep = 0; sweep < 60; sweep++) {
    for (let j = 0; j < n; j++) norms[j] = dot(g, j * m, g, j * m, m);
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p];
        const beta = norms[q];
        const gamma = dot(g, p * m, g, q * m, m);
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = c * t;
        rotate(g, p * m, q * m, m, c, sn);
        rotate(v, p * n, q * n, n, c, sn);
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
      }
    }
    if (!rotated) break;
  }
  for (let j = 0; j < n; j++) norms[j] = Math.sqrt(dot(g, j * m, g, j * m, m));
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => norms[q] - norms[p] || p - q);
  const sMax = n > 0 ? norms[order[0]] : 0;
  // Columns of singular values below this are numerically zero: their U column is completed instead.
  const tiny = sMax * m * 2 ** -52;
  const have: boolean[] = [];
  for (let c = 0; c < n; c++) {
    const j = order[c];
    s[c] = norms[j];
    for (let r = 0; r < n; r++) vt[c * n + r] = v[j * n + r];
    const ok = norms[j] > tiny && norms[j] > 0;
    have.push(ok);
    for (let i = 0; i < m; i++) u[i * uCols + c] = ok ? g[j * m + i] / norms[j] : 0;
  }
  for (let c = n; c < uCols; c++) have.push(false);
  completeOrthonormal(u, m, uCols, have);
}

/** Fill the columns of u (m×cols) not marked in `have` with unit vectors orthogonal to all others (Gram–Schmidt on e_i). */
function completeOrthonormal(u: Float64Array, m: number, cols: number, have: boolean[]): void {
  const x = new Float64Array(m);
  for (let c = 0; c < cols; c++) {
    if (have[c]) continue;
    let best = -1;
    let bestNorm = -1;
    // The basis vector with the largest part outside the span so far.
    for (let cand = 0; cand < m; cand++) {
      let outside = 1;
      for (let k = 0; k < cols; k++) {
        if (!have[k]) continue;
        const q = u[cand * cols + k];
        outside -= q * q;
      }
      if (outside > bestNorm) {
        bestNorm = outside;
        best = cand;
      }
    }
    x.fill(0);
    x[best] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < cols; k++) {
        if (!have[k]) continue;
        let proj = 0;
        for (let i = 0; i < m; i++) proj += u[i * cols + k] * x[i];
        for (let i = 0; i < m; i++) x[i] -= proj * u[i * cols + k];
      }
    }
    const norm = Math.sqrt(dot(x, 0, x, 0, m));
    for (let i = 0; i < m; i++) u[i * cols + c] = x[i] / norm;
    have[c] = true;
  }
}

/** Σ x[xo + i]·y[yo + i] with even and odd terms in two sums (as the wasm kernel's two lanes). */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < len; i += 2) {
    s0 += x[xo + i] * y[yo + i];
    s1 += x[xo + i + 1] * y[yo + i + 1];
  }
  if (i < len) s0 += x[xo + i] * y[yo + i];
  return s0 + s1;
}

/** sqrt(a² + b²), scaled by the larger magnitude. */
function hypot(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  if (x < y) [x, y] = [y, x];
  if (x === 0) return y;
  const r = y / x;
  return x * Math.sqrt(1 + r * r);
}

/** Rows p, q of x ← c·p - s·q, s·p + c·q. */
function rotate(x: Float64Array, p: number, q: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const xp = x[p + i];
    const xq = x[q + i];
    x[p + i] = c * xp - s * xq;
    x[q + i] = s * xp + c * xq;
  }
}

/**
 * op(a) x = b (leftSide) or x op(a) = b for one n×n triangular a and b (rows×cols),
 * in place on b. The right-side solve is the left one transposed.
 */
export function triangularSolveF64(a: Float64Array, n: number, b: Float64Array, rows: number, cols: number, p: ParamsOf<"triangular_solve">): void {
  // Normalize to a left solve M y = c with M lower or upper: x op(a) = b  <=>  op(a)ᵀ xᵀ = bᵀ.
  const left = p.leftSide;
  const transposed = left ? p.transposeA : !p.transposeA; // whether M = aᵀ
  const lowerM = p.lower !== transposed;
  const at = (i: number, j: number) => (transposed ? a[j * n + i] : a[i * n + j]);
  const rhsCount = left ? cols : rows;
  // y[i] for right-hand side r lives at b[i*cols + r] (left) or b[r*cols + i] (right).
  const idx = left ? (i: number, r: number) => i * cols + r : (i: number, r: number) => r * cols + i;
  const order = lowerM ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: n }, (_, i) => n - 1 - i);
  for (let r = 0; r < rhsCount; r++) {
    for (const i of order) {
      let acc = b[idx(i, r)];
      if (lowerM) for (let k = 0; k < i; k++) acc -= at(i, k) * b[idx(k, r)];
      else for (let k = i + 1; k < n; k++) acc -= at(i, k) * b[idx(k, r)];
      b[idx(i, r)] = p.unitDiagonal ? acc : acc / at(i, i);
    }
  }
}

/** SVD of any m×n (a wide matrix through its transpose). */
export function svdF64(a: Float64Array, m: number, n: number, full: boolean): { s: Float64Array; u: Float64Array; vt: Float64Array } {
  const k = Math.min(m, n);
  if (m >= n) {
    const uCols = full ? m : k;
    const s = new Float64Array(k);
    const u = new Float64Array(m * uCols);
    const vt = new Float64Array(n * n);
    svdTallF64(a, m, n, uCols, s, u, vt);
    return { s, u, vt };
  }
  const at = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
  // aᵀ = U' Σ V'ᵀ, so a = V' Σ U'ᵀ: u = V' (m×m), vt = U'ᵀ.
  const t = svdF64(at, n, m, full);
  const vtCols = t.u.length / n;
  const u = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) u[i * m + j] = t.vt[j * m + i];
  const vt = new Float64Array(vtCols * n);
  for (let i = 0; i < vtCols; i++) for (let j = 0; j < n; j++) vt[i * n + j] = t.u[j * vtCols + i];
  return { s: t.s, u, vt };
}
