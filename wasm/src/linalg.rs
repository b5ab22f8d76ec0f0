//! Matrix decompositions for the lax.linalg primitives: Cholesky, LU with
//! partial pivoting, Householder QR, symmetric eigendecomposition
//! (Householder tridiagonalization + implicit QL) and SVD (one-sided Jacobi
//! started from the eigenvectors of AᵀA), plus the triangular solve. Each
//! export runs over a batch of row-major float32 matrices.
//!
//! Everything is accumulated in f64 and rounded once on store: the float32
//! results are then as accurate as the algorithms allow, and they are the
//! same bits as the interpreter's reference implementation
//! (src/backends/interpreter/rules/decomposition_algorithms.ts), which
//! performs the same IEEE operations in the same order (no fused multiply-adds on either
//! side; `hypot` and the two-lane dot product are written out in both).

use crate::scratch::Buf;
use crate::{ERR_ARGS, ERR_OOM};
use core::arch::wasm32::{f64x2_extract_lane, f64x2_splat, f64x2_sqrt};
use core::slice::{from_raw_parts, from_raw_parts_mut};

/// IEEE sqrt (core has no scalar f64 sqrt without std; this lowers to one f64.sqrt).
fn sqrt(x: f64) -> f64 {
    f64x2_extract_lane::<0>(f64x2_sqrt(f64x2_splat(x)))
}

fn abs(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !(1u64 << 63))
}

/// sqrt(a² + b²) scaled by the larger magnitude (the interpreter's `hypot`).
fn hypot(a: f64, b: f64) -> f64 {
    let (mut x, mut y) = (abs(a), abs(b));
    if x < y {
        core::mem::swap(&mut x, &mut y);
    }
    if x == 0.0 {
        return y;
    }
    let r = y / x;
    x * sqrt(1.0 + r * r)
}

fn is_finite(x: f64) -> bool {
    x - x == 0.0
}

/// Σ x[i]·y[i] with even and odd terms in two sums (the interpreter's `dot`).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let (mut s0, mut s1) = (0.0, 0.0);
    let len = x.len();
    let mut i = 0;
    while i + 1 < len {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        i += 2;
    }
    if i < len {
        s0 += x[i] * y[i];
    }
    s0 + s1
}

/// An f64 workspace of `len` zeros.
fn zeros(len: usize) -> Result<(Buf<f64>, &'static mut [f64]), i32> {
    let buf = Buf::<f64>::new(len).ok_or(ERR_OOM)?;
    let s = unsafe { from_raw_parts_mut(buf.ptr, len) };
    s.fill(0.0);
    Ok((buf, s))
}

fn load(dst: &mut [f64], src: *const f32) {
    let s = unsafe { from_raw_parts(src, dst.len()) };
    for (d, &v) in dst.iter_mut().zip(s) {
        *d = v as f64;
    }
}

fn store(dst: *mut f32, src: &[f64]) {
    let d = unsafe { from_raw_parts_mut(dst, src.len()) };
    for (o, &v) in d.iter_mut().zip(src) {
        *o = v as f32;
    }
}

fn dims(batch: i32, m: i32, n: i32) -> Result<(usize, usize, usize), i32> {
    if batch < 0 || m < 0 || n < 0 {
        return Err(ERR_ARGS);
    }
    Ok((batch as usize, m as usize, n as usize))
}

fn code(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e,
    }
}

// ------------------------------------------------------------ cholesky ----

/// L with a = L Lᵀ from a's lower triangle (zeros above); false when a is not positive definite.
fn cholesky_f64(a: &[f64], n: usize, l: &mut [f64]) -> bool {
    l.fill(0.0);
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if !(s > 0.0) {
                    return false;
                }
                l[i * n + i] = sqrt(s);
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    true
}

/// Cholesky factors of `batch` n×n matrices; a factor that fails is all NaN.
#[no_mangle]
pub extern "C" fn linalg_cholesky(a: *const f32, l: *mut f32, batch: i32, n: i32) -> i32 {
    code((|| {
        let (batch, _, n) = dims(batch, n, n)?;
        let nn = n * n;
        let (_ba, am) = zeros(nn)?;
        let (_bl, lm) = zeros(nn)?;
        for b in 0..batch {
            load(am, unsafe { a.add(b * nn) });
            if !cholesky_f64(am, n, lm) {
                lm.fill(f64::NAN);
            }
            store(unsafe { l.add(b * nn) }, lm);
        }
        Ok(())
    })())
}

// ------------------------------------------------------------------ lu ----

fn lu_f64(a: &mut [f64], m: usize, n: usize, pivots: &mut [i32], perm: &mut [i32]) {
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i as i32;
    }
    let k = m.min(n);
    for j in 0..k {
        let mut p = j;
        let mut best = abs(a[j * n + j]);
        for i in j + 1..m {
            let v = abs(a[i * n + j]);
            if v > best {
                best = v;
                p = i;
            }
        }
        pivots[j] = p as i32;
        if p != j {
            for c in 0..n {
                a.swap(j * n + c, p * n + c);
            }
            perm.swap(j, p);
        }
        let pivot = a[j * n + j];
        if pivot == 0.0 {
            continue;
        }
        for i in j + 1..m {
            a[i * n + j] /= pivot;
            let l = a[i * n + j];
            if l == 0.0 {
                continue;
            }
            for c in j + 1..n {
                a[i * n + c] -= l * a[j * n + c];
            }
        }
    }
}

/// Packed L\U, pivots (min(m, n) per matrix) and the row permutation (m per matrix).
#[no_mangle]
pub extern "C" fn linalg_lu(a: *const f32, lu: *mut f32, pivots: *mut i32, perm: *mut i32, batch: i32, m: i32, n: i32) -> i32 {
    code((|| {
        let (batch, m, n) = dims(batch, m, n)?;
        let k = m.min(n);
        let (_ba, am) = zeros(m * n)?;
        for b in 0..batch {
            load(am, unsafe { a.add(b * m * n) });
            let piv = unsafe { from_raw_parts_mut(pivots.add(b * k), k) };
            let pm = unsafe { from_raw_parts_mut(perm.add(b * m), m) };
            lu_f64(am, m, n, piv, pm);
            store(unsafe { lu.add(b * m * n) }, am);
        }
        Ok(())
    })())
}

// ------------------------------------------------------------------ qr ----

/// Rows [row0, row0 + v.len()) and columns [c0, c1) of x (row stride ld) ← (I - tau v vᵀ) x.
fn apply_reflector(x: &mut [f64], ld: usize, row0: usize, c0: usize, c1: usize, v: &[f64], tau: f64, w: &mut [f64]) {
    w[c0..c1].fill(0.0);
    for (i, &vi) in v.iter().enumerate() {
        if vi == 0.0 {
            continue;
        }
        let r = (row0 + i) * ld;
        for c in c0..c1 {
            w[c] += vi * x[r + c];
        }
    }
    for (i, &vi) in v.iter().enumerate() {
        let f = tau * vi;
        if f == 0.0 {
            continue;
        }
        let r = (row0 + i) * ld;
        for c in c0..c1 {
            x[r + c] -= f * w[c];
        }
    }
}

/// Householder QR (LAPACK's reflectors): a ← R; q ← the first q_cols columns of Q.
/// `vs` holds the reflectors (k × m), `taus` k, `w` max(n, q_cols).
#[allow(clippy::too_many_arguments)]
fn qr_f64(a: &mut [f64], m: usize, n: usize, q: &mut [f64], q_cols: usize, vs: &mut [f64], taus: &mut [f64], w: &mut [f64]) {
    let k = m.min(n);
    for j in 0..k {
        let len = m - j;
        let v = &mut vs[j * m..j * m + len];
        v.fill(0.0);
        v[0] = 1.0;
        taus[j] = 0.0;
        let alpha = a[j * n + j];
        let mut tail_sq = 0.0;
        for i in 1..len {
            let x = a[(j + i) * n + j];
            tail_sq += x * x;
        }
        if tail_sq == 0.0 {
            continue;
        }
        let beta = (if alpha >= 0.0 { -1.0 } else { 1.0 }) * hypot(alpha, sqrt(tail_sq));
        let tau = (beta - alpha) / beta;
        taus[j] = tau;
        let scale = 1.0 / (alpha - beta);
        for i in 1..len {
            v[i] = a[(j + i) * n + j] * scale;
            a[(j + i) * n + j] = 0.0;
        }
        a[j * n + j] = beta;
        apply_reflector(a, n, j, j + 1, n, v, tau, w);
    }
    q.fill(0.0);
    for i in 0..m.min(q_cols) {
        q[i * q_cols + i] = 1.0;
    }
    for j in (0..k).rev() {
        if taus[j] != 0.0 {
            apply_reflector(q, q_cols, j, 0, q_cols, &vs[j * m..(j + 1) * m - j], taus[j], w);
        }
    }
}

/// Q (m × (full ? m : k)) and R ((full ? m : k) × n) of `batch` m×n matrices.
#[no_mangle]
pub extern "C" fn linalg_qr(a: *const f32, q: *mut f32, r: *mut f32, batch: i32, m: i32, n: i32, full: i32) -> i32 {
    code((|| {
        let (batch, m, n) = dims(batch, m, n)?;
        let k = m.min(n);
        let q_cols = if full != 0 { m } else { k };
        let (_ba, am) = zeros(m * n)?;
        let (_bq, qm) = zeros(m * q_cols)?;
        let (_bv, vs) = zeros(k * m)?;
        let (_bt, taus) = zeros(k)?;
        let (_bw, w) = zeros(n.max(q_cols))?;
        for b in 0..batch {
            load(am, unsafe { a.add(b * m * n) });
            qr_f64(am, m, n, qm, q_cols, vs, taus, w);
            store(unsafe { q.add(b * m * q_cols) }, qm);
            store(unsafe { r.add(b * q_cols * n) }, &am[..q_cols * n]);
        }
        Ok(())
    })())
}

// ---------------------------------------------------------------- eigh ----

/// tred2: z (symmetric) ← Q with Qᵀ z Q tridiagonal; d its diagonal, e[1..] its subdiagonal.
fn tridiagonalize(z: &mut [f64], n: usize, d: &mut [f64], e: &mut [f64]) {
    for j in 0..n {
        d[j] = z[(n - 1) * n + j];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for k in 0..i {
            scale += abs(d[k]);
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = z[(i - 1) * n + j];
                z[i * n + j] = 0.0;
                z[j * n + i] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = sqrt(h);
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for j in 0..i {
                e[j] = 0.0;
            }
            for j in 0..i {
                f = d[j];
                z[j * n + i] = f;
                g = e[j] + z[j * n + j] * f;
                for k in j + 1..i {
                    g += z[k * n + j] * d[k];
                    e[k] += z[k * n + j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    z[k * n + j] -= f * e[k] + g * d[k];
                }
                d[j] = z[(i - 1) * n + j];
                z[i * n + j] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        z[(n - 1) * n + i] = z[i * n + i];
        z[i * n + i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = z[k * n + i + 1] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += z[k * n + i + 1] * z[k * n + j];
                }
                for k in 0..=i {
                    z[k * n + j] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            z[k * n + i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = z[(n - 1) * n + j];
        z[(n - 1) * n + j] = 0.0;
    }
    z[(n - 1) * n + n - 1] = 1.0;
    e[0] = 0.0;
}

/// tql2: eigenvalues of the tridiagonal (d, e) into d; the rotations applied to the rows of zt.
fn tridiagonal_ql(d: &mut [f64], e: &mut [f64], zt: &mut [f64], n: usize) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = 1.0 / 4503599627370496.0; // 2^-52
    for l in 0..n {
        let t = abs(d[l]) + abs(e[l]);
        if t > tst1 {
            tst1 = t;
        }
        let mut m = l;
        while m < n - 1 && abs(e[m]) > eps * tst1 {
            m += 1;
        }
        if m > l {
            for _ in 0..60 {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = hypot(p, 1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for i in l + 2..n {
                    d[i] -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                let mut i = m;
                while i > l {
                    i -= 1;
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
                    let (lo, hi) = zt.split_at_mut((i + 1) * n);
                    let zi = &mut lo[i * n..];
                    let zj = &mut hi[..n];
                    for k in 0..n {
                        let zk1 = zj[k];
                        let zk = zi[k];
                        zj[k] = s * zk + c * zk1;
                        zi[k] = c * zk - s * zk1;
                    }
                }
                p = (-s * s2 * c3 * el1 * e[l]) / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if !(abs(e[l]) > eps * tst1) {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

/// Indices 0..len ordered by `before` (a strict total order), stably by insertion.
fn order_by(order: &mut [usize], before: impl Fn(usize, usize) -> bool) {
    for i in 0..order.len() {
        order[i] = i;
    }
    for i in 1..order.len() {
        let x = order[i];
        let mut j = i;
        while j > 0 && before(x, order[j - 1]) {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = x;
    }
}

/// Ascending eigenvalues w and eigenvectors (columns of v) of the symmetric matrix in a's lower triangle.
/// Workspace: z, zt (n×n), e (n), order (n).
fn eigh_f64(a: &[f64], n: usize, w: &mut [f64], v: &mut [f64], z: &mut [f64], zt: &mut [f64], e: &mut [f64], order: &mut [usize]) {
    if n == 0 {
        return;
    }
    if !a.iter().all(|&x| is_finite(x)) {
        w.fill(f64::NAN);
        v.fill(f64::NAN);
        return;
    }
    for i in 0..n {
        for j in 0..=i {
            z[i * n + j] = a[i * n + j];
            z[j * n + i] = a[i * n + j];
        }
    }
    e.fill(0.0);
    tridiagonalize(z, n, w, e);
    for i in 0..n {
        for j in 0..n {
            zt[j * n + i] = z[i * n + j];
        }
    }
    tridiagonal_ql(w, e, zt, n);
    order_by(order, |p, q| w[p] < w[q] || (w[p] == w[q] && p < q));
    for c in 0..n {
        e[c] = w[order[c]];
        let row = order[c] * n;
        for r in 0..n {
            v[r * n + c] = zt[row + r];
        }
    }
    w.copy_from_slice(&e[..n]);
}

/// Eigenvectors v (columns) and ascending eigenvalues w of `batch` symmetric n×n matrices (lower triangles).
#[no_mangle]
pub extern "C" fn linalg_eigh(a: *const f32, v: *mut f32, w: *mut f32, batch: i32, n: i32) -> i32 {
    code((|| {
        let (batch, _, n) = dims(batch, n, n)?;
        let nn = n * n;
        let (_b1, am) = zeros(nn)?;
        let (_b2, vm) = zeros(nn)?;
        let (_b3, z) = zeros(nn)?;
        let (_b4, zt) = zeros(nn)?;
        let (_b5, wv) = zeros(n)?;
        let (_b6, e) = zeros(n)?;
        let ob = Buf::<usize>::new(n).ok_or(ERR_OOM)?;
        let order = unsafe { from_raw_parts_mut(ob.ptr, n) };
        for b in 0..batch {
            load(am, unsafe { a.add(b * nn) });
            eigh_f64(am, n, wv, vm, z, zt, e, order);
            store(unsafe { v.add(b * nn) }, vm);
            store(unsafe { w.add(b * n) }, wv);
        }
        Ok(())
    })())
}

// ----------------------------------------------------------------- svd ----

/// Rows p, q of x (length len each, at offsets p, q) ← c·p - s·q, s·p + c·q.
fn rotate(x: &mut [f64], p: usize, q: usize, len: usize, c: f64, s: f64) {
    for i in 0..len {
        let xp = x[p + i];
        let xq = x[q + i];
        x[p + i] = c * xp - s * xq;
        x[q + i] = s * xp + c * xq;
    }
}

/// Workspace of one tall SVD (m >= n).
struct SvdWork<'a> {
    g: &'a mut [f64],     // n×m: row j = column j of A V
    v: &'a mut [f64],     // n×n: row j = column j of V
    gram: &'a mut [f64],  // n×n: AᵀA, then the eigh workspace
    z: &'a mut [f64],     // n×n
    zt: &'a mut [f64],    // n×n
    norms: &'a mut [f64], // n
    e: &'a mut [f64],     // n
    x: &'a mut [f64],     // m
    order: &'a mut [usize],
    have: &'a mut [bool], // u_cols
}

/// One-sided Jacobi SVD of m×n `a` (m >= n), started from the eigenvectors of AᵀA so that
/// few sweeps remain: s descending (n), u (m×u_cols), vt (n×n).
#[allow(clippy::too_many_arguments)]
fn svd_tall_f64(a: &[f64], m: usize, n: usize, u_cols: usize, s: &mut [f64], u: &mut [f64], vt: &mut [f64], wk: &mut SvdWork) {
    if !a.iter().all(|&x| is_finite(x)) {
        s.fill(f64::NAN);
        u.fill(f64::NAN);
        vt.fill(f64::NAN);
        return;
    }
    let g = &mut *wk.g;
    let v = &mut *wk.v;
    let norms = &mut *wk.norms;
    // AᵀA (lower triangle) and its eigenvectors: the columns of A V are then nearly orthogonal.
    for i in 0..m {
        for j in 0..n {
            g[j * m + i] = a[i * n + j];
        }
    }
    for p in 0..n {
        for q in 0..=p {
            wk.gram[p * n + q] = dot(&g[p * m..(p + 1) * m], &g[q * m..(q + 1) * m]);
        }
    }
    if n > 0 {
        // eigh writes the eigenvalues into norms (scratch here) and the eigenvectors into vt (scratch).
        eigh_f64(wk.gram, n, norms, vt, wk.z, wk.zt, wk.e, wk.order);
    }
    for j in 0..n {
        for r in 0..n {
            v[j * n + r] = vt[r * n + j];
        }
    }
    // G = A V, row j = Σ_r v[j][r] · (column r of A); computed from a directly.
    for j in 0..n {
        for i in 0..m {
            let mut acc = 0.0;
            for r in 0..n {
                acc += a[i * n + r] * v[j * n + r];
            }
            g[j * m + i] = acc;
        }
    }
    let tol = 1e-15;
    for _sweep in 0..60 {
        for j in 0..n {
            norms[j] = dot(&g[j * m..(j + 1) * m], &g[j * m..(j + 1) * m]);
        }
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = norms[p];
                let beta = norms[q];
                let gamma = dot(&g[p * m..(p + 1) * m], &g[q * m..(q + 1) * m]);
                if gamma == 0.0 || abs(gamma) <= tol * sqrt(alpha * beta) {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = (if zeta >= 0.0 { 1.0 } else { -1.0 }) / (abs(zeta) + sqrt(1.0 + zeta * zeta));
                let c = 1.0 / sqrt(1.0 + t * t);
                let sn = c * t;
                rotate(g, p * m, q * m, m, c, sn);
                rotate(v, p * n, q * n, n, c, sn);
                norms[p] = alpha - t * gamma;
                norms[q] = beta + t * gamma;
            }
        }
        if !rotated {
            break;
        }
    }
    for j in 0..n {
        norms[j] = sqrt(dot(&g[j * m..(j + 1) * m], &g[j * m..(j + 1) * m]));
    }
    let order = &mut *wk.order;
    order_by(&mut order[..n], |p, q| norms[p] > norms[q] || (norms[p] == norms[q] && p < q));
    let s_max = if n > 0 { norms[order[0]] } else { 0.0 };
    let tiny = s_max * (m as f64) * (1.0 / 4503599627370496.0);
    let have = &mut *wk.have;
    for c in 0..n {
        let j = order[c];
        s[c] = norms[j];
        for r in 0..n {
            vt[c * n + r] = v[j * n + r];
        }
        let ok = norms[j] > tiny && norms[j] > 0.0;
        have[c] = ok;
        for i in 0..m {
            u[i * u_cols + c] = if ok { g[j * m + i] / norms[j] } else { 0.0 };
        }
    }
    for c in n..u_cols {
        have[c] = false;
    }
    complete_orthonormal(u, m, u_cols, have, wk.x);
}

/// Fill the columns of u (m×cols) not marked in `have` with unit vectors orthogonal to the others.
fn complete_orthonormal(u: &mut [f64], m: usize, cols: usize, have: &mut [bool], x: &mut [f64]) {
    for c in 0..cols {
        if have[c] {
            continue;
        }
        let mut best = 0;
        let mut best_norm = -1.0;
        for cand in 0..m {
            let mut outside = 1.0;
            for k in 0..cols {
                if have[k] {
                    let q = u[cand * cols + k];
                    outside -= q * q;
                }
            }
            if outside > best_norm {
                best_norm = outside;
                best = cand;
            }
        }
        x.fill(0.0);
        x[best] = 1.0;
        for _pass in 0..2 {
            for k in 0..cols {
                if !have[k] {
                    continue;
                }
                let mut proj = 0.0;
                for i in 0..m {
                    proj += u[i * cols + k] * x[i];
                }
                for i in 0..m {
                    x[i] -= proj * u[i * cols + k];
                }
            }
        }
        let norm = sqrt(dot(x, x));
        for i in 0..m {
            u[i * cols + c] = x[i] / norm;
        }
        have[c] = true;
    }
}

/// s (descending, k), u (m × (full ? m : k)) and vt ((full ? n : k) × n) of `batch` m×n matrices.
#[no_mangle]
pub extern "C" fn linalg_svd(a: *const f32, s: *mut f32, u: *mut f32, vt: *mut f32, batch: i32, m: i32, n: i32, full: i32) -> i32 {
    code((|| {
        let (batch, m, n) = dims(batch, m, n)?;
        let full = full != 0;
        let k = m.min(n);
        // A wide matrix is decomposed through its transpose: aᵀ = U' Σ V'ᵀ, so u = V' and vt = U'ᵀ.
        let wide = m < n;
        let (tm, tn) = if wide { (n, m) } else { (m, n) };
        let tu_cols = if full { tm } else { k };
        let (_b0, am) = zeros(m * n)?;
        let (_b1, at) = zeros(m * n)?;
        let (_b2, sv) = zeros(k)?;
        let (_b3, um) = zeros(tm * tu_cols)?;
        let (_b4, vm) = zeros(tn * tn)?;
        let (_b5, g) = zeros(tn * tm)?;
        let (_b6, v) = zeros(tn * tn)?;
        let (_b7, gram) = zeros(tn * tn)?;
        let (_b8, z) = zeros(tn * tn)?;
        let (_b9, zt) = zeros(tn * tn)?;
        let (_b10, norms) = zeros(tn)?;
        let (_b11, e) = zeros(tn)?;
        let (_b12, x) = zeros(tm)?;
        let (_b13, out_u) = zeros(m * if full { m } else { k })?;
        let (_b14, out_vt) = zeros(n * if full { n } else { k })?;
        let ob = Buf::<usize>::new(tn.max(1)).ok_or(ERR_OOM)?;
        let order = unsafe { from_raw_parts_mut(ob.ptr, tn.max(1)) };
        let hb = Buf::<bool>::new(tu_cols.max(1)).ok_or(ERR_OOM)?;
        let have = unsafe { from_raw_parts_mut(hb.ptr, tu_cols.max(1)) };
        let mut wk = SvdWork { g, v, gram, z, zt, norms, e, x, order, have };
        let u_cols = if full { m } else { k };
        let vt_rows = if full { n } else { k };
        for b in 0..batch {
            load(am, unsafe { a.add(b * m * n) });
            if wide {
                for i in 0..m {
                    for j in 0..n {
                        at[j * m + i] = am[i * n + j];
                    }
                }
                svd_tall_f64(at, tm, tn, tu_cols, sv, um, vm, &mut wk);
                // u = V' (m×m): u[i][j] = vm[j][i]; vt = U'ᵀ: vt[i][j] = um[j][i].
                for i in 0..m {
                    for j in 0..m {
                        out_u[i * m + j] = vm[j * m + i];
                    }
                }
                for i in 0..vt_rows {
                    for j in 0..n {
                        out_vt[i * n + j] = um[j * tu_cols + i];
                    }
                }
            } else {
                svd_tall_f64(am, tm, tn, tu_cols, sv, um, vm, &mut wk);
                out_u[..m * u_cols].copy_from_slice(&um[..m * u_cols]);
                out_vt[..n * n].copy_from_slice(&vm[..n * n]);
            }
            store(unsafe { s.add(b * k) }, sv);
            store(unsafe { u.add(b * m * u_cols) }, &out_u[..m * u_cols]);
            store(unsafe { vt.add(b * vt_rows * n) }, &out_vt[..vt_rows * n]);
        }
        Ok(())
    })())
}

// ---------------------------------------------------- triangular solve ----

/// op(a) x = b (left) or x op(a) = b for `batch` n×n triangular a and rows×cols b.
/// flags: bit 0 left side, bit 1 lower, bit 2 transpose a, bit 3 unit diagonal.
#[no_mangle]
pub extern "C" fn linalg_triangular_solve(a: *const f32, b: *const f32, x: *mut f32, batch: i32, n: i32, rows: i32, cols: i32, flags: i32) -> i32 {
    code((|| {
        let (batch, n, _) = dims(batch, n, n)?;
        if rows < 0 || cols < 0 {
            return Err(ERR_ARGS);
        }
        let (rows, cols) = (rows as usize, cols as usize);
        let left = flags & 1 != 0;
        let lower = flags & 2 != 0;
        let trans_a = flags & 4 != 0;
        let unit = flags & 8 != 0;
        // Solve M y = c with M = a or aᵀ: x op(a) = b  <=>  op(a)ᵀ xᵀ = bᵀ.
        let transposed = if left { trans_a } else { !trans_a };
        let lower_m = lower != transposed;
        let nn = n * n;
        let (_b1, am) = zeros(nn)?;
        let (_b2, bm) = zeros(rows * cols)?;
        // M row-major, so that each substitution step reads a contiguous row.
        let (_b3, mm) = zeros(nn)?;
        let (_b4, y) = zeros(n)?;
        let rhs_count = if left { cols } else { rows };
        for bi in 0..batch {
            load(am, unsafe { a.add(bi * nn) });
            load(bm, unsafe { b.add(bi * rows * cols) });
            for i in 0..n {
                for j in 0..n {
                    mm[i * n + j] = if transposed { am[j * n + i] } else { am[i * n + j] };
                }
            }
            for r in 0..rhs_count {
                for i in 0..n {
                    y[i] = if left { bm[i * cols + r] } else { bm[r * cols + i] };
                }
                for step in 0..n {
                    let i = if lower_m { step } else { n - 1 - step };
                    let mut acc = y[i];
                    if lower_m {
                        for k in 0..i {
                            acc -= mm[i * n + k] * y[k];
                        }
                    } else {
                        for k in i + 1..n {
                            acc -= mm[i * n + k] * y[k];
                        }
                    }
                    y[i] = if unit { acc } else { acc / mm[i * n + i] };
                }
                for i in 0..n {
                    if left {
                        bm[i * cols + r] = y[i];
                    } else {
                        bm[r * cols + i] = y[i];
                    }
                }
            }
            store(unsafe { x.add(bi * rows * cols) }, bm);
        }
        Ok(())
    })())
}
