//! Single-precision GEMM, row-major: C = alpha * op(A) * op(B) + beta * C.
//!
//! op(A) is M x K (A stored M x K with row stride lda, or K x M when
//! transposed), op(B) is K x N (stored K x N, or N x K when transposed), C is
//! M x N with row stride ldc.
//!
//! Structure (Goto/BLIS style):
//!   for jc in N step NC:                 B panel  KC x NC   (L2)
//!     for pc in K step KC:    pack B
//!       for ic in [m0,m1) step MC:       A block  MC x KC   (L2)
//!         pack A
//!         for jr in NC step NR:          B micro-panel KC x NR (L1)
//!           for ir in MC step MR:        A micro-panel MR x KC
//!             4x8 microkernel: 8 v128 accumulators, f32x4.mul + f32x4.add
//! Packed panels are zero padded to whole MR/NR tiles, so the microkernel
//! always runs full tiles; partial tiles of C are written through a small
//! staging tile. The 4x8 shape was picked by measuring 10 shapes under V8
//! (it keeps 8 accumulators + 2 B vectors + 1 broadcast + 1 temporary within
//! the 15 allocatable xmm registers; 6x8 and 8x8 spill).
//!
//! Subnormal inputs are read as zero (like XLA on CPU, which runs with
//! denormals-are-zero): the packing pass flushes them, because a multiply with a
//! subnormal operand takes a microcode assist of 100+ cycles on x86, and a
//! saturated softmax's gradient is full of them (a 10x100x784 product took 7 ms
//! instead of 0.1 ms). NaN and infinities pass through unchanged.
//!
//! `gemm_rows_epilogue` also runs an elementwise epilogue (epilogue.rs: bias,
//! relu... per row or column of C) on each tile as it is stored, while the
//! results are in registers; plain `gemm_rows` compiles without it.
//!
//! Reentrancy: the routine keeps no global state; the packing buffers live
//! in a caller-supplied scratch area (see `scratch_floats`), so several
//! threads can compute disjoint row ranges of C at once.

use core::arch::wasm32::*;

use crate::epilogue::{Epilogue, StoreEpilogue, ChannelAxis};

pub const MR: usize = 4;
pub const NR: usize = 8;
pub const KC: usize = 256;
pub const MC: usize = 128;
pub const NC: usize = 2048;

#[inline]
fn round_up(x: usize, m: usize) -> usize {
    (x + m - 1) / m * m
}

#[inline]
fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// Floats of scratch needed by `gemm_rows` for `rows` rows of C (m1 - m0).
pub fn scratch_floats(rows: usize, n: usize, k: usize) -> usize {
    if rows == 0 || n == 0 || k == 0 {
        return 0;
    }
    let kc = min(KC, k);
    round_up(min(MC, rows), MR) * kc + round_up(min(NC, n), NR) * kc + 16
}

/// Plain description of one GEMM call.
#[derive(Clone, Copy)]
pub struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: *const f32,
    pub lda: usize,
    pub b: *const f32,
    pub ldb: usize,
    pub beta: f32,
    pub c: *mut f32,
    pub ldc: usize,
}

impl Gemm {
    /// A description with no operands (the packing exports fill in one side).
    fn empty() -> Gemm {
        Gemm {
            trans_a: false,
            trans_b: false,
            n: 0,
            k: 0,
            alpha: 1.0,
            a: core::ptr::null(),
            lda: 0,
            b: core::ptr::null(),
            ldb: 0,
            beta: 0.0,
            c: core::ptr::null_mut(),
            ldc: 0,
        }
    }
}

/// Transposes the 4x4 block held in rows r0..r3 (returns its columns).
#[inline(always)]
fn transpose4(r0: v128, r1: v128, r2: v128, r3: v128) -> (v128, v128, v128, v128) {
    let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
    let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
    let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
    let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
    (
        i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
        i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
        i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
    )
}

#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
unsafe fn st(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

/// Zeroes a vector's subnormal lanes. |v| < MIN_POSITIVE is false for NaN, so
/// NaN is kept. The packing passes apply it to every value they store (in
/// registers, so flushing costs no second pass over the packed panels).
#[inline(always)]
fn daz(v: v128) -> v128 {
    let tiny = f32x4_lt(f32x4_abs(v), f32x4_splat(f32::MIN_POSITIVE));
    v128_andnot(v, tiny)
}

/// `daz` of one float.
#[inline(always)]
pub(crate) fn daz1(x: f32) -> f32 {
    if f32::from_bits(x.to_bits() & 0x7fff_ffff) < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// Packs op(A)[i0..i0+mc, p0..p0+kc] into MR-row micro-panels, subnormals
/// flushed: dst[(ir/MR)*MR*kc + p*MR + r] = op(A)(i0+ir+r, p0+p), rows past mc are 0.
unsafe fn pack_a(g: &Gemm, i0: usize, p0: usize, mc: usize, kc: usize, dst: *mut f32) {
    let mut ir = 0;
    while ir < mc {
        let rows = min(MR, mc - ir);
        let d = dst.add(ir * kc);
        if !g.trans_a {
            // op(A)(i, p) = a[i*lda + p]: MR rows, each contiguous in p.
            let base = g.a.add((i0 + ir) * g.lda + p0);
            if rows == MR {
                let r0 = base;
                let r1 = base.add(g.lda);
                let r2 = base.add(2 * g.lda);
                let r3 = base.add(3 * g.lda);
                let mut p = 0;
                while p + 4 <= kc {
                    let (c0, c1, c2, c3) =
                        transpose4(ld(r0.add(p)), ld(r1.add(p)), ld(r2.add(p)), ld(r3.add(p)));
                    let o = d.add(p * MR);
                    st(o, daz(c0));
                    st(o.add(4), daz(c1));
                    st(o.add(8), daz(c2));
                    st(o.add(12), daz(c3));
                    p += 4;
                }
                while p < kc {
                    let o = d.add(p * MR);
                    *o = daz1(*r0.add(p));
                    *o.add(1) = daz1(*r1.add(p));
                    *o.add(2) = daz1(*r2.add(p));
                    *o.add(3) = daz1(*r3.add(p));
                    p += 1;
                }
            } else {
                for p in 0..kc {
                    let o = d.add(p * MR);
                    for r in 0..MR {
                        *o.add(r) = if r < rows { daz1(*base.add(r * g.lda + p)) } else { 0.0 };
                    }
                }
            }
        } else {
            // op(A)(i, p) = a[p*lda + i]: for each p the MR values are contiguous.
            let base = g.a.add(p0 * g.lda + i0 + ir);
            if rows == MR {
                for p in 0..kc {
                    st(d.add(p * MR), daz(v128_load(base.add(p * g.lda) as *const v128)));
                }
            } else {
                for p in 0..kc {
                    let s = base.add(p * g.lda);
                    let o = d.add(p * MR);
                    for r in 0..MR {
                        *o.add(r) = if r < rows { daz1(*s.add(r)) } else { 0.0 };
                    }
                }
            }
        }
        ir += MR;
    }
}

/// Packs op(B)[p0..p0+kc, j0..j0+nc] into NR-column micro-panels, subnormals flushed:
/// dst[(jr/NR)*NR*kc + p*NR + c] = op(B)(p0+p, j0+jr+c), columns past nc are 0.
unsafe fn pack_b(g: &Gemm, p0: usize, j0: usize, kc: usize, nc: usize, dst: *mut f32) {
    let mut jr = 0;
    while jr < nc {
        let cols = min(NR, nc - jr);
        let d = dst.add(jr * kc);
        if !g.trans_b {
            // op(B)(p, j) = b[p*ldb + j]: each p row of the panel is contiguous.
            let base = g.b.add(p0 * g.ldb + j0 + jr);
            if cols == NR {
                for p in 0..kc {
                    let s = base.add(p * g.ldb);
                    let o = d.add(p * NR);
                    st(o, daz(ld(s)));
                    st(o.add(4), daz(ld(s.add(4))));
                }
            } else {
                for p in 0..kc {
                    let s = base.add(p * g.ldb);
                    let o = d.add(p * NR);
                    for c in 0..NR {
                        *o.add(c) = if c < cols { daz1(*s.add(c)) } else { 0.0 };
                    }
                }
            }
        } else {
            // op(B)(p, j) = b[j*ldb + p]: NR rows of storage, each contiguous in p.
            let base = g.b.add((j0 + jr) * g.ldb + p0);
            if cols == NR {
                let l = g.ldb;
                let mut p = 0;
                while p + 4 <= kc {
                    let (a0, a1, a2, a3) = transpose4(
                        ld(base.add(p)),
                        ld(base.add(l + p)),
                        ld(base.add(2 * l + p)),
                        ld(base.add(3 * l + p)),
                    );
                    let (b0, b1, b2, b3) = transpose4(
                        ld(base.add(4 * l + p)),
                        ld(base.add(5 * l + p)),
                        ld(base.add(6 * l + p)),
                        ld(base.add(7 * l + p)),
                    );
                    let o = d.add(p * NR);
                    st(o, daz(a0));
                    st(o.add(4), daz(b0));
                    st(o.add(8), daz(a1));
                    st(o.add(12), daz(b1));
                    st(o.add(16), daz(a2));
                    st(o.add(20), daz(b2));
                    st(o.add(24), daz(a3));
                    st(o.add(28), daz(b3));
                    p += 4;
                }
                while p < kc {
                    let o = d.add(p * NR);
                    for c in 0..NR {
                        *o.add(c) = daz1(*base.add(c * l + p));
                    }
                    p += 1;
                }
            } else {
                for p in 0..kc {
                    let o = d.add(p * NR);
                    for c in 0..NR {
                        *o.add(c) = if c < cols { daz1(*base.add(c * g.ldb + p)) } else { 0.0 };
                    }
                }
            }
        }
        jr += NR;
    }
}

/// How the microkernel result is merged into C.
#[derive(Clone, Copy, PartialEq)]
enum Merge {
    /// C = alpha*AB (C is not read: NaNs in C do not leak through).
    Overwrite,
    /// C = C + alpha*AB
    Accumulate,
    /// C = alpha*AB + beta*C
    Scale(f32),
}

/// The 4x8 microkernel: acc = sum_p pa[p*4 + i] * pb[p*8 + j], then merged into
/// the `rows` x `cols` tile of C at `c`.
/// With `EPI`, when `last` (the final pass over K), the store epilogue `se`
/// runs on each merged value before it is stored; the tile's top-left element
/// is C's (row0, col0).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_4x8<const EPI: bool>(
    kc: usize,
    pa: *const f32,
    pb: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    merge: Merge,
    se: &StoreEpilogue,
    last: bool,
    row0: usize,
    col0: usize,
) {
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11) = (z, z, z, z);
    let (mut c20, mut c21, mut c30, mut c31) = (z, z, z, z);
    let mut a = pa;
    let mut b = pb;
    let end = pa.add(kc * MR);
    while a < end {
        let b0 = ld(b);
        let b1 = ld(b.add(4));
        let a0 = v128_load32_splat(a as *const u32);
        c00 = f32x4_add(c00, f32x4_mul(a0, b0));
        c01 = f32x4_add(c01, f32x4_mul(a0, b1));
        let a1 = v128_load32_splat(a.add(1) as *const u32);
        c10 = f32x4_add(c10, f32x4_mul(a1, b0));
        c11 = f32x4_add(c11, f32x4_mul(a1, b1));
        let a2 = v128_load32_splat(a.add(2) as *const u32);
        c20 = f32x4_add(c20, f32x4_mul(a2, b0));
        c21 = f32x4_add(c21, f32x4_mul(a2, b1));
        let a3 = v128_load32_splat(a.add(3) as *const u32);
        c30 = f32x4_add(c30, f32x4_mul(a3, b0));
        c31 = f32x4_add(c31, f32x4_mul(a3, b1));
        a = a.add(MR);
        b = b.add(NR);
    }
    let va = f32x4_splat(alpha);
    let acc = [[c00, c01], [c10, c11], [c20, c21], [c30, c31]];
    if rows == MR && cols == NR {
        let mut out = acc;
        for (i, row) in out.iter_mut().enumerate() {
            let dst = c.add(i * ldc);
            for (h, v) in row.iter_mut().enumerate() {
                let p = dst.add(4 * h);
                let r = f32x4_mul(*v, va);
                *v = match merge {
                    Merge::Overwrite => r,
                    Merge::Accumulate => f32x4_add(ld(p), r),
                    Merge::Scale(beta) => f32x4_add(r, f32x4_mul(ld(p), f32x4_splat(beta))),
                };
            }
        }
        if EPI && last {
            se.apply_tile(&mut out, row0, col0);
        }
        for (i, row) in out.iter().enumerate() {
            let dst = c.add(i * ldc);
            for (h, v) in row.iter().enumerate() {
                st(dst.add(4 * h), *v);
            }
        }
    } else {
        let mut tile = [0.0f32; MR * NR];
        let t = tile.as_mut_ptr();
        for (i, row) in acc.iter().enumerate() {
            st(t.add(i * NR), f32x4_mul(row[0], va));
            st(t.add(i * NR + 4), f32x4_mul(row[1], va));
        }
        for i in 0..rows {
            let dst = c.add(i * ldc);
            for j in 0..cols {
                let r = *t.add(i * NR + j);
                let p = dst.add(j);
                let out = match merge {
                    Merge::Overwrite => r,
                    Merge::Accumulate => *p + r,
                    Merge::Scale(beta) => r + beta * *p,
                };
                *p = if EPI && last { se.apply1(out, row0 + i, col0 + j) } else { out };
            }
        }
    }
}

/// Packs op(A)[i0..i0+mc, p0..p0+kc] into MR-row micro-panels at `dst`
/// (`round_up(mc, MR) * kc` floats), subnormals flushed: the packing pass of
/// `gemm_rows`, exported so a GEMM microkernel generated at run time can share
/// the packed layout and the denormals-are-zero behaviour.
pub unsafe fn pack_a_flushed(trans_a: bool, a: *const f32, lda: usize, i0: usize, p0: usize, mc: usize, kc: usize, dst: *mut f32) {
    let g = Gemm { trans_a, a, lda, ..Gemm::empty() };
    pack_a(&g, i0, p0, mc, kc, dst);
}

/// Packs op(B)[p0..p0+kc, j0..j0+nc] into NR-column micro-panels at `dst`
/// (`round_up(nc, NR) * kc` floats), subnormals flushed (see `pack_a_flushed`).
pub unsafe fn pack_b_flushed(trans_b: bool, b: *const f32, ldb: usize, p0: usize, j0: usize, kc: usize, nc: usize, dst: *mut f32) {
    let g = Gemm { trans_b, b, ldb, ..Gemm::empty() };
    pack_b(&g, p0, j0, kc, nc, dst);
}

// ------------------------------------------------------------ skinny ----
//
// When op(A) has few rows (a vector-matrix product, or a narrow
// matrix-vector product that the wasm lowering turned into one by computing
// C^T), packing B would copy all of B to use each element only a few times: a
// second pass over the largest operand. These paths read A and B where they
// lie instead, with the same denormals-are-zero rule as the packing: dot
// products when B is stored transposed (op(A) of up to SKINNY_M rows), and
// streaming B's rows when it is not (up to 2 rows).

/// Problems whose op(A) has at most this many rows skip packing.
pub const SKINNY_M: usize = 4;

#[inline(always)]
unsafe fn merge1(p: *mut f32, r: f32, beta: f32) {
    *p = if beta == 0.0 {
        r
    } else if beta == 1.0 {
        *p + r
    } else {
        r + beta * *p
    };
}

#[inline(always)]
unsafe fn merge4(p: *mut f32, r: v128, beta: f32) {
    let out = if beta == 0.0 {
        r
    } else if beta == 1.0 {
        f32x4_add(v128_load(p as *const v128), r)
    } else {
        f32x4_add(r, f32x4_mul(v128_load(p as *const v128), f32x4_splat(beta)))
    };
    v128_store(p as *mut v128, out);
}

#[inline(always)]
unsafe fn a_at(g: &Gemm, i: usize, p: usize) -> f32 {
    daz1(if g.trans_a { *g.a.add(p * g.lda + i) } else { *g.a.add(i * g.lda + p) })
}

/// op(B) stored K x N: C[i, j..j+4V] = Σ_p A(i, p) · B[p, j..j+4V] for R rows
/// and V vectors of columns, streaming the rows of B; returns the columns done
/// (whole blocks of 4V from `j`).
unsafe fn skinny_rows_b<const R: usize, const V: usize>(g: &Gemm, i0: usize, mut j: usize) -> usize {
    let n = g.n;
    let k = g.k;
    let va = f32x4_splat(g.alpha);
    while j + 4 * V <= n {
        let mut acc = [[f32x4_splat(0.0); V]; R];
        for p in 0..k {
            let bp = g.b.add(p * g.ldb + j);
            let mut bv = [f32x4_splat(0.0); V];
            for (h, v) in bv.iter_mut().enumerate() {
                *v = daz(ld(bp.add(4 * h)));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let a = f32x4_splat(a_at(g, i0 + r, p));
                for (h, c) in row.iter_mut().enumerate() {
                    *c = f32x4_add(*c, f32x4_mul(a, bv[h]));
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let c = g.c.add((i0 + r) * g.ldc + j);
            for (h, v) in row.iter().enumerate() {
                merge4(c.add(4 * h), f32x4_mul(*v, va), g.beta);
            }
        }
        j += 4 * V;
    }
    j
}

/// The columns from `j` on that no vector block covers, one by one.
unsafe fn skinny_rows_b_tail<const R: usize>(g: &Gemm, i0: usize, j0: usize) {
    for j in j0..g.n {
        for r in 0..R {
            let mut s = 0.0f32;
            for p in 0..g.k {
                s += a_at(g, i0 + r, p) * daz1(*g.b.add(p * g.ldb + j));
            }
            merge1(g.c.add((i0 + r) * g.ldc + j), s * g.alpha, g.beta);
        }
    }
}

/// op(B) stored K x N, R rows: 16-column blocks, then 4-column blocks, then single columns.
unsafe fn skinny_rows_streaming<const R: usize>(g: &Gemm, i0: usize) {
    let j = skinny_rows_b::<R, 4>(g, i0, 0);
    let j = skinny_rows_b::<R, 1>(g, i0, j);
    skinny_rows_b_tail::<R>(g, i0, j);
}

/// op(B) stored N x K and A's rows contiguous in k: C[i, j] = A[i, :] · Bt[j, :]
/// as dot products, R rows by J columns at a time (R·J accumulators).
unsafe fn skinny_rows_dot<const R: usize, const J: usize>(g: &Gemm, i0: usize) {
    let k = g.k;
    let n = g.n;
    let row = |r: usize| if g.trans_a { g.a.add(i0 + r) } else { g.a.add((i0 + r) * g.lda) };
    let mut j = 0;
    while j < n {
        let cols = min(J, n - j);
        // A partial block reuses its last column (computed, not stored twice).
        let col = |c: usize| g.b.add((j + min(c, cols - 1)) * g.ldb);
        let mut acc = [[f32x4_splat(0.0); J]; R];
        let mut p = 0;
        while p + 4 <= k {
            let mut bv = [f32x4_splat(0.0); J];
            for (c, v) in bv.iter_mut().enumerate() {
                *v = daz(ld(col(c).add(p)));
            }
            for (r, accr) in acc.iter_mut().enumerate() {
                let av = daz(ld(row(r).add(p)));
                for (c, a) in accr.iter_mut().enumerate() {
                    *a = f32x4_add(*a, f32x4_mul(av, bv[c]));
                }
            }
            p += 4;
        }
        for (r, accr) in acc.iter().enumerate() {
            for (c, a) in accr.iter().enumerate().take(cols) {
                let mut s = (f32x4_extract_lane::<0>(*a) + f32x4_extract_lane::<1>(*a)) + (f32x4_extract_lane::<2>(*a) + f32x4_extract_lane::<3>(*a));
                for q in p..k {
                    s += daz1(*row(r).add(q)) * daz1(*col(c).add(q));
                }
                merge1(g.c.add((i0 + r) * g.ldc + j + c), s * g.alpha, g.beta);
            }
        }
        j += cols;
    }
}

/// Rows m0..m1 of C without packing, for problems with at most SKINNY_M rows;
/// false when the layout has no unpacked path (A transposed with B transposed,
/// unless A is a single contiguous row).
unsafe fn skinny_rows(g: &Gemm, m: usize, m0: usize, m1: usize) -> bool {
    let rows_contiguous = !g.trans_a || (m == 1 && g.lda == 1);
    // Streaming B (not transposed) reloads A's elements once per column block,
    // which past 2 rows costs more than packing B (measured).
    if m > SKINNY_M || (g.trans_b && !rows_contiguous) || (!g.trans_b && m > 2) {
        return false;
    }
    let mut i = m0;
    while i < m1 {
        let r = min(SKINNY_M, m1 - i);
        match (g.trans_b, r) {
            (false, 1) => skinny_rows_streaming::<1>(g, i),
            (false, _) => skinny_rows_streaming::<2>(g, i),
            (true, 1) => skinny_rows_dot::<1, 4>(g, i),
            (true, 2) => skinny_rows_dot::<2, 4>(g, i),
            (true, 3) => skinny_rows_dot::<3, 2>(g, i),
            (true, _) => skinny_rows_dot::<4, 2>(g, i),
        }
        i += r;
    }
    true
}

/// C[m0..m1, :] = alpha * op(A)[m0..m1, :] * op(B) + beta * C[m0..m1, :]
/// for an op(A) of `m` rows. `scratch` must hold `scratch_floats(m1 - m0, n,
/// k)` floats and not be shared with a concurrent call.
pub unsafe fn gemm_rows(g: &Gemm, m: usize, m0: usize, m1: usize, scratch: *mut f32) {
    let none = StoreEpilogue { epi: &Epilogue::EMPTY, axis: ChannelAxis::Col, channel0: 0 };
    gemm_rows_impl::<false, true>(g, m, m0, m1, scratch, &none);
}

/// `gemm_rows`, then the epilogue `se` on every element of C[m0..m1, :],
/// applied as the last pass over K stores each tile (no second pass over C).
/// The few problems that take the unpacked skinny path get it in a pass over
/// their rows of C right after.
pub unsafe fn gemm_rows_epilogue(g: &Gemm, m: usize, m0: usize, m1: usize, scratch: *mut f32, se: &StoreEpilogue) {
    if se.epi.is_empty() {
        gemm_rows(g, m, m0, m1, scratch);
    } else {
        gemm_rows_impl::<true, true>(g, m, m0, m1, scratch, se);
    }
}

/// `gemm_rows_epilogue` for all of op(A)'s rows, always on the packed path:
/// each row of C then comes out with the same bits whatever the number of
/// rows, which a caller that cuts one product into row blocks of sizes that
/// vary with its thread split needs (the unpacked skinny paths sum in another
/// order: lanes of a dot product, or K in one pass instead of KC panels).
pub unsafe fn gemm_rows_packed(g: &Gemm, m: usize, scratch: *mut f32, se: &StoreEpilogue) {
    if se.epi.is_empty() {
        gemm_rows_impl::<false, false>(g, m, 0, m, scratch, se);
    } else {
        gemm_rows_impl::<true, false>(g, m, 0, m, scratch, se);
    }
}

unsafe fn gemm_rows_impl<const EPI: bool, const UNPACKED: bool>(g: &Gemm, m: usize, m0: usize, m1: usize, scratch: *mut f32,
                                                              se: &StoreEpilogue) {
    if m1 <= m0 || g.n == 0 {
        return;
    }
    let n = g.n;
    let k = g.k;
    if UNPACKED && k > 0 && g.alpha != 0.0 && skinny_rows(g, m, m0, m1) {
        if EPI {
            se.apply_block(g.c, g.ldc, m0, m1, n);
        }
        return;
    }
    if k == 0 || g.alpha == 0.0 {
        for i in m0..m1 {
            let row = g.c.add(i * g.ldc);
            for j in 0..n {
                let p = row.add(j);
                *p = if g.beta == 0.0 { 0.0 } else { g.beta * *p };
            }
        }
        if EPI {
            se.apply_block(g.c, g.ldc, m0, m1, n);
        }
        return;
    }
    let rows = m1 - m0;
    let kc_max = min(KC, k);
    let pa = scratch;
    let pb_off = (round_up(min(MC, rows), MR) * kc_max + 15) & !15;
    let pb = scratch.add(pb_off);
    let mut jc = 0;
    while jc < n {
        let nc = min(NC, n - jc);
        let mut pc = 0;
        while pc < k {
            let kc = min(KC, k - pc);
            let last = pc + kc == k;
            pack_b(g, pc, jc, kc, nc, pb);
            let merge = if pc != 0 || g.beta == 1.0 {
                Merge::Accumulate
            } else if g.beta == 0.0 {
                Merge::Overwrite
            } else {
                Merge::Scale(g.beta)
            };
            let mut ic = m0;
            while ic < m1 {
                let mc = min(MC, m1 - ic);
                pack_a(g, ic, pc, mc, kc, pa);
                let mut jr = 0;
                while jr < nc {
                    let cols = min(NR, nc - jr);
                    let bp = pb.add(jr * kc);
                    let mut ir = 0;
                    while ir < mc {
                        let rws = min(MR, mc - ir);
                        let cp = g.c.add((ic + ir) * g.ldc + jc + jr);
                        micro_4x8::<EPI>(kc, pa.add(ir * kc), bp, cp, g.ldc, rws, cols, g.alpha, merge, se, last,
                                         ic + ir, jc + jr);
                        ir += MR;
                    }
                    jr += NR;
                }
                ic += MC;
            }
            pc += KC;
        }
        jc += NC;
    }
}
