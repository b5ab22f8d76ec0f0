//! 2-D convolution (float32) as im2col + sgemm, with its two gradients.
//!
//! Supported: layouts NHWC (weights HWIO) and NCHW (weights OIHW); any
//! stride, padding (per side, may be negative: negative padding crops),
//! kernel dilation ("rhs dilation"), input dilation ("lhs dilation", i.e.
//! zeros inserted between input pixels, as used by transposed convolution)
//! and feature groups (cin and cout divisible by groups; depthwise is
//! groups == cin).
//!
//! With input spatial size H, effective input Hd = (H-1)*lhs_dil + 1 and
//! effective kernel Kd = (KH-1)*dil + 1:
//!   OH = floor((Hd + pad_top + pad_bottom - Kd) / stride) + 1   (0 if negative)
//! and output pixel (oy, ox) reads input pixel (iy, ix) for tap (ky, kx) when
//! oy*stride + ky*dil - pad_top = iy*lhs_dil (same for x).
//!
//! `forward`        y  = conv(x, w)
//! `backward_data`  dx = d(sum(y*dy))/dx   (dcols = dy * W^T, then col2im)
//! `backward_filter` dw = d(sum(y*dy))/dw  (dw = im2col(x)^T * dy)
//! Both gradients accept every parameter the forward accepts (including
//! lhs dilation and negative padding), so no kernel flipping is needed by the
//! caller. The caller's parameter block is 21 int32 (see `ConvParams::read`).
//!
//! Paths:
//! * depthwise (Cin/groups == 1, groups > 1, any channel multiplier): direct
//!   loops vectorised over channels (NHWC) or along output rows (NCHW);
//! * 1x1 / stride 1 / no padding / no input dilation: the input itself is the
//!   im2col matrix (no copy), one gemm per group;
//! * otherwise im2col (col2im for the data gradient) on chunks of whole output
//!   rows, so the column buffer stays around 4 MiB, and one gemm per group
//!   and chunk.
//! Scratch (column buffer, gemm packing) comes from the allocator per call.
//!
//! Threads: `run_range` computes a range of a convolution's units (output
//! lines for the forward, images for the gradients; the filter gradient's
//! range gives a partial sum), so the thread pool's convolution jobs
//! (src/backends/wasm/conv_job.ts) can split one convolution. The forward
//! applies an epilogue (epilogue.rs: bias, scale, relu...) inside the gemm's
//! stores (the depthwise paths in a pass over each range of lines they
//! computed). A forward or data-gradient range gives the same bits as one
//! call over all units, however the units are cut (see `GemmRows`).
//!
//! Measured (bench/conv_kernels.ts): the im2col + sgemm forward already runs
//! the W5 conv (K = 9) at ~26 GFLOPS on one thread; a direct kernel on one
//! output line's im2col rows against unpacked weights (no packing, 4×8
//! register tile) was 1.5–2× slower on W5 and on the W7 convs, so it was
//! not kept. Packing the gemm's A panels straight from the image (no im2col
//! buffer; a `PackA` source for gemm.rs) was tried too: the im2col pass is
//! ~0.13 ms of W5's 0.55 on one thread, but the NHWC forward convs ran
//! 2.5–3× slower (bench/conv_ab.ts), even with a packer that only wrote
//! zeros, so the gemm instantiated for it was the cost; not kept, cause not
//! found.

use core::arch::wasm32::*;

use crate::alloc::Scratch;
use crate::epilogue::{ChannelAxis, Epilogue, StoreEpilogue, ERR_EPILOGUE};
use crate::gemm::{self, Gemm};

pub const PARAMS_LEN: usize = 21;

pub const ERR_LAYOUT: i32 = -1;
pub const ERR_DIMS: i32 = -2;
pub const ERR_GROUPS: i32 = -3;
pub const ERR_STRIDE: i32 = -4;
pub const ERR_OUT_SHAPE: i32 = -5;
pub const ERR_OOM: i32 = -6;
pub const ERR_TOO_BIG: i32 = -7;

/// Column buffer budget in floats (4 MiB).
const COLS_BUDGET: usize = 1 << 20;

#[derive(Clone, Copy)]
pub struct ConvParams {
    pub nchw: bool,
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub groups: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: i64,
    pub pb: i64,
    pub pl: i64,
    pub pr: i64,
    pub dh: usize,
    pub dw: usize,
    pub lh: usize,
    pub lw: usize,
    pub oh: usize,
    pub ow: usize,
}

fn out_size(size: i64, k: i64, stride: i64, dil: i64, ldil: i64, lo: i64, hi: i64) -> i64 {
    let eff_in = (size - 1) * ldil + 1;
    let eff_k = (k - 1) * dil + 1;
    let span = eff_in + lo + hi - eff_k;
    if span < 0 {
        0
    } else {
        span / stride + 1
    }
}

impl ConvParams {
    /// Reads and validates the parameter block:
    /// [0] layout (0 = NHWC x/y with HWIO w, 1 = NCHW x/y with OIHW w)
    /// [1] N  [2] H  [3] W  [4] C_in  [5] C_out  [6] KH  [7] KW  [8] groups
    /// [9] stride_h  [10] stride_w
    /// [11] pad_top  [12] pad_bottom  [13] pad_left  [14] pad_right
    /// [15] dilation_h  [16] dilation_w  (kernel / rhs dilation)
    /// [17] lhs_dilation_h  [18] lhs_dilation_w  (input dilation)
    /// [19] OH  [20] OW  (expected output size; must match the formula)
    pub unsafe fn read(raw: *const i32) -> Result<ConvParams, i32> {
        if raw.is_null() {
            return Err(ERR_DIMS);
        }
        let v = |i: usize| *raw.add(i) as i64;
        let layout = v(0);
        if layout != 0 && layout != 1 {
            return Err(ERR_LAYOUT);
        }
        let (n, h, w, cin, cout, kh, kw, groups) = (v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8));
        if n < 0 || h < 1 || w < 1 || cin < 1 || cout < 1 || kh < 1 || kw < 1 {
            return Err(ERR_DIMS);
        }
        if groups < 1 || cin % groups != 0 || cout % groups != 0 {
            return Err(ERR_GROUPS);
        }
        let (sh, sw, dh, dw, lh, lw) = (v(9), v(10), v(15), v(16), v(17), v(18));
        if sh < 1 || sw < 1 || dh < 1 || dw < 1 || lh < 1 || lw < 1 {
            return Err(ERR_STRIDE);
        }
        let (pt, pb, pl, pr) = (v(11), v(12), v(13), v(14));
        let oh = out_size(h, kh, sh, dh, lh, pt, pb);
        let ow = out_size(w, kw, sw, dw, lw, pl, pr);
        if v(19) != oh || v(20) != ow {
            return Err(ERR_OUT_SHAPE);
        }
        // Element counts must stay addressable in a 4 GiB memory, and
        // every index computed in usize (32-bit) must not overflow.
        let fits = |xs: &[i64]| {
            let mut acc: i64 = 1;
            for &x in xs {
                acc = match acc.checked_mul(x) {
                    Some(v) if v < (1 << 30) => v,
                    _ => return false,
                };
            }
            true
        };
        if !(fits(&[n, h, w, cin])
            && fits(&[n, oh, ow, cout])
            && fits(&[kh, kw, cin / groups, cout])
            && fits(&[oh, ow, kh, kw, cin])
            && fits(&[n, oh, ow, kh, kw]))
        {
            return Err(ERR_TOO_BIG);
        }
        Ok(ConvParams {
            nchw: layout == 1,
            n: n as usize,
            h: h as usize,
            w: w as usize,
            cin: cin as usize,
            cout: cout as usize,
            kh: kh as usize,
            kw: kw as usize,
            groups: groups as usize,
            sh: sh as usize,
            sw: sw as usize,
            pt,
            pb,
            pl,
            pr,
            dh: dh as usize,
            dw: dw as usize,
            lh: lh as usize,
            lw: lw as usize,
            oh: oh as usize,
            ow: ow as usize,
        })
    }

    fn cg(&self) -> usize {
        self.cin / self.groups
    }
    fn cog(&self) -> usize {
        self.cout / self.groups
    }
    /// Reduction length per group: KH*KW*Cg.
    fn kg(&self) -> usize {
        self.kh * self.kw * self.cg()
    }
    /// True when the im2col matrix equals the input itself.
    fn identity_cols(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.lh == 1
            && self.lw == 1
            && self.pt == 0
            && self.pb == 0
            && self.pl == 0
            && self.pr == 0
    }
    /// Input row for output row `o` and tap `k`, if it hits a real pixel.
    #[inline(always)]
    fn tap_y(&self, o: usize, k: usize) -> Option<usize> {
        tap(o, k, self.sh, self.dh, self.pt, self.lh, self.h)
    }
    #[inline(always)]
    fn tap_x(&self, o: usize, k: usize) -> Option<usize> {
        tap(o, k, self.sw, self.dw, self.pl, self.lw, self.w)
    }
}

#[inline(always)]
fn tap(o: usize, k: usize, stride: usize, dil: usize, pad: i64, ldil: usize, size: usize) -> Option<usize> {
    let pos = o as i64 * stride as i64 + k as i64 * dil as i64 - pad;
    if pos < 0 {
        return None;
    }
    if ldil == 1 {
        // Common case: no division.
        return if pos < size as i64 { Some(pos as usize) } else { None };
    }
    let ld = ldil as i64;
    if pos % ld != 0 {
        return None;
    }
    let i = pos / ld;
    if i < size as i64 {
        Some(i as usize)
    } else {
        None
    }
}

#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
unsafe fn st(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

/// dst[0..len] = src[0..len]. Short runs (im2col of few channels) are copied
/// inline: V8 lowers `memory.copy` to an out-of-line call.
#[inline(always)]
unsafe fn copy(src: *const f32, dst: *mut f32, len: usize) {
    if len >= 64 {
        core::ptr::copy_nonoverlapping(src, dst, len);
        return;
    }
    let mut i = 0;
    while i + 4 <= len {
        st(dst.add(i), ld(src.add(i)));
        i += 4;
    }
    while i < len {
        *dst.add(i) = *src.add(i);
        i += 1;
    }
}

#[inline(always)]
unsafe fn zero(dst: *mut f32, len: usize) {
    if len >= 64 {
        core::ptr::write_bytes(dst, 0, len);
        return;
    }
    let z = f32x4_splat(0.0);
    let mut i = 0;
    while i + 4 <= len {
        st(dst.add(i), z);
        i += 4;
    }
    while i < len {
        *dst.add(i) = 0.0;
        i += 1;
    }
}

/// dst[i] += src[i]
#[inline(always)]
unsafe fn add_into(src: *const f32, dst: *mut f32, len: usize) {
    let mut i = 0;
    while i + 4 <= len {
        st(dst.add(i), f32x4_add(ld(dst.add(i)), ld(src.add(i))));
        i += 4;
    }
    while i < len {
        *dst.add(i) += *src.add(i);
        i += 1;
    }
}

/// dst[i] += a[i] * b[i]
#[inline(always)]
unsafe fn mul_add_into(dst: *mut f32, a: *const f32, b: *const f32, len: usize) {
    let mut i = 0;
    while i + 4 <= len {
        st(dst.add(i), f32x4_add(ld(dst.add(i)), f32x4_mul(ld(a.add(i)), ld(b.add(i)))));
        i += 4;
    }
    while i < len {
        *dst.add(i) += *a.add(i) * *b.add(i);
        i += 1;
    }
}

/// dst[i] += a[i] * s
#[inline(always)]
unsafe fn axpy(dst: *mut f32, a: *const f32, s: f32, len: usize) {
    let vs = f32x4_splat(s);
    let mut i = 0;
    while i + 4 <= len {
        st(dst.add(i), f32x4_add(ld(dst.add(i)), f32x4_mul(ld(a.add(i)), vs)));
        i += 4;
    }
    while i < len {
        *dst.add(i) += *a.add(i) * s;
        i += 1;
    }
}

/// sum a[i] * b[i]
#[inline(always)]
unsafe fn dot(a: *const f32, b: *const f32, len: usize) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut i = 0;
    while i + 4 <= len {
        acc = f32x4_add(acc, f32x4_mul(ld(a.add(i)), ld(b.add(i))));
        i += 4;
    }
    let mut s = f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc)
        + f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc);
    while i < len {
        s += *a.add(i) * *b.add(i);
        i += 1;
    }
    s
}

/// What a conv gemm's rows (op(A)'s) are. Output pixels (the NHWC forward
/// and data gradient) come in blocks whose sizes depend on how the conv is
/// split (by lines or images) and chunked; a block of at most 4 rows would
/// take the gemm's unpacked path, which sums in another order (a dot
/// product's lanes, or K past the panel in one pass), so a split conv would
/// differ in the last bit from the unsplit one. Pixel rows therefore always
/// take the packed path: such blocks come only from tiny images or outputs,
/// where it costs about the same (measured: 4 rows of a data gradient took
/// half the time packed, 2 rows of a forward 8% more). Rows whose count is
/// the same in every call (channels, kernel taps) keep the unpacked path.
#[derive(Clone, Copy)]
enum GemmRows {
    Pixels,
    Fixed,
}

/// The gemm of `m` rows, C overwritten (beta 0) or accumulated (beta 1), the
/// epilogue `se` run as C is stored.
unsafe fn gemm_rows_of(g: &Gemm, m: usize, rows: GemmRows, scratch: *mut f32, se: &StoreEpilogue) {
    match rows {
        GemmRows::Pixels => gemm::gemm_rows_packed(g, m, scratch, se),
        GemmRows::Fixed => gemm::gemm_rows_epilogue(g, m, 0, m, scratch, se),
    }
}

/// One gemm on a shared scratch buffer sized by `gemm_scratch_floats`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_call(
    rows: GemmRows,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    scratch: *mut f32,
) {
    let g = Gemm { trans_a, trans_b, n, k, alpha: 1.0, a, lda, b, ldb, beta, c, ldc };
    let none = StoreEpilogue { epi: &Epilogue::EMPTY, axis: ChannelAxis::Col, channel0: 0 };
    gemm_rows_of(&g, m, rows, scratch, &none);
}

/// A forward conv's gemm (C = op(A)·op(B), overwritten) with the epilogue `se` run as C is stored.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_call_epilogue(
    rows: GemmRows,
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    scratch: *mut f32,
    se: &StoreEpilogue,
) {
    let g = Gemm { trans_a: false, trans_b: false, n, k, alpha: 1.0, a, lda, b, ldb, beta: 0.0, c, ldc };
    gemm_rows_of(&g, m, rows, scratch, se);
}

/// Enough scratch for any gemm this module issues.
fn gemm_scratch_floats() -> usize {
    gemm::scratch_floats(gemm::MC, gemm::NC, gemm::KC)
}

// ---------------------------------------------------------------- NHWC ----

/// cols[r, g*Kg + (ky*KW+kx)*Cg + ci] = x[n, iy, ix, g*Cg + ci] for output
/// pixels q0..q0+rows (flattened over n, oy, ox; both multiples of OW);
/// `ADD` reverses it (col2im, accumulating into x). Works one output row at a
/// time so each tap is a run of pixels with a constant input stride.
unsafe fn im2col_nhwc<const ADD: bool>(p: &ConvParams, x: *mut f32, q0: usize, rows: usize, cols: *mut f32) {
    let cg = p.cg();
    let kg = p.kg();
    let kt = p.groups * kg;
    let lines = rows / p.ow;
    let first = q0 / p.ow;
    let step = p.sw * p.cin;
    for l in 0..lines {
        let line = first + l;
        let (ni, oy) = (line / p.oh, line % p.oh);
        let block = cols.add(l * p.ow * kt);
        if !ADD {
            zero(block, p.ow * kt);
        }
        for ky in 0..p.kh {
            let iy = match p.tap_y(oy, ky) {
                Some(v) => v,
                None => continue,
            };
            let xrow = x.add((ni * p.h + iy) * p.w * p.cin);
            for kx in 0..p.kw {
                let off = (ky * p.kw + kx) * cg;
                for_each_x_run(p, kx, |lo, hi, ix0| {
                    let mut src = xrow.add(ix0 * p.cin);
                    let mut dst = block.add(lo * kt + off);
                    if cg == 1 && p.groups == 1 {
                        for _ in lo..hi {
                            if ADD {
                                *src += *dst;
                            } else {
                                *dst = *src;
                            }
                            src = src.add(step);
                            dst = dst.add(kt);
                        }
                    } else {
                        for _ in lo..hi {
                            for g in 0..p.groups {
                                if ADD {
                                    add_into(dst.add(g * kg), src.add(g * cg), cg);
                                } else {
                                    copy(src.add(g * cg), dst.add(g * kg), cg);
                                }
                            }
                            src = src.add(step);
                            dst = dst.add(kt);
                        }
                    }
                });
            }
        }
    }
}

/// Output pixels per im2col chunk: whole output rows, about COLS_BUDGET floats.
fn nhwc_chunk(p: &ConvParams, total: usize) -> usize {
    if p.ow == 0 || total == 0 {
        return 0;
    }
    let kt = p.groups * p.kg();
    let rows = COLS_BUDGET / (kt * p.ow);
    let rows = if rows < 1 { 1 } else { rows };
    let c = rows * p.ow;
    if c > total {
        total
    } else {
        c
    }
}

/// Forward NHWC for output lines l0..l1 (a line is one output row of one
/// image, flattened over n and oy), the epilogue applied by the gemm as it
/// stores each tile (channels are C's columns).
unsafe fn forward_nhwc(p: &ConvParams, x: *const f32, w: *const f32, y: *mut f32, l0: usize, l1: usize, epi: &Epilogue) -> i32 {
    let (cog, kg) = (p.cog(), p.kg());
    let kt = p.groups * kg;
    if p.ow == 0 || l0 >= l1 {
        return 0;
    }
    let gs = match Scratch::new(gemm_scratch_floats()) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    let (start, total) = (l0 * p.ow, l1 * p.ow);
    let direct = p.identity_cols();
    let chunk = if direct { total - start } else { nhwc_chunk(p, total - start) };
    let cols = if direct { None } else { Scratch::new(chunk * kt) };
    if !direct && cols.is_none() {
        return ERR_OOM;
    }
    let mut q0 = start;
    while q0 < total {
        let rows = if chunk < total - q0 { chunk } else { total - q0 };
        let (a, lda) = match &cols {
            None => (x.add(q0 * p.cin), p.cin),
            Some(s) => {
                im2col_nhwc::<false>(p, x as *mut f32, q0, rows, s.ptr);
                (s.ptr as *const f32, kt)
            }
        };
        for g in 0..p.groups {
            let se = StoreEpilogue { epi, axis: ChannelAxis::Col, channel0: g * cog };
            gemm_call_epilogue(GemmRows::Pixels, rows, cog, kg, a.add(g * kg), lda, w.add(g * cog), p.cout,
                               y.add(q0 * p.cout + g * cog), p.cout, gs.ptr, &se);
        }
        q0 += chunk;
    }
    0
}

unsafe fn backward_data_nhwc(p: &ConvParams, dy: *const f32, w: *const f32, dx: *mut f32, gs: *mut f32) -> i32 {
    let (cg, cog, kg) = (p.cg(), p.cog(), p.kg());
    let kt = p.groups * kg;
    let total = p.n * p.oh * p.ow;
    if p.identity_cols() {
        for g in 0..p.groups {
            gemm_call(GemmRows::Pixels, false, true, total, cg, cog, dy.add(g * cog), p.cout, w.add(g * cog), p.cout, 0.0,
                      dx.add(g * cg), p.cin, gs);
        }
        return 0;
    }
    zero(dx, p.n * p.h * p.w * p.cin);
    if total == 0 {
        return 0;
    }
    let chunk = nhwc_chunk(p, total);
    let cols = match Scratch::new(chunk * kt) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    let mut q0 = 0;
    while q0 < total {
        let rows = if chunk < total - q0 { chunk } else { total - q0 };
        for g in 0..p.groups {
            gemm_call(GemmRows::Pixels, false, true, rows, kg, cog, dy.add(q0 * p.cout + g * cog), p.cout, w.add(g * cog), p.cout,
                      0.0, cols.ptr.add(g * kg), kt, gs);
        }
        im2col_nhwc::<true>(p, dx, q0, rows, cols.ptr);
        q0 += chunk;
    }
    0
}

unsafe fn backward_filter_nhwc(p: &ConvParams, x: *const f32, dy: *const f32, dw: *mut f32, gs: *mut f32) -> i32 {
    let (cog, kg) = (p.cog(), p.kg());
    let kt = p.groups * kg;
    let total = p.n * p.oh * p.ow;
    if total == 0 {
        zero(dw, kg * p.cout);
        return 0;
    }
    let direct = p.identity_cols();
    let chunk = if direct { total } else { nhwc_chunk(p, total) };
    let cols = if direct { None } else { Scratch::new(chunk * kt) };
    if !direct && cols.is_none() {
        return ERR_OOM;
    }
    let mut q0 = 0;
    while q0 < total {
        let rows = if chunk < total - q0 { chunk } else { total - q0 };
        let (a, lda) = match &cols {
            None => (x.add(q0 * p.cin), p.cin),
            Some(s) => {
                im2col_nhwc::<false>(p, x as *mut f32, q0, rows, s.ptr);
                (s.ptr as *const f32, kt)
            }
        };
        let beta = if q0 == 0 { 0.0 } else { 1.0 };
        for g in 0..p.groups {
            gemm_call(GemmRows::Fixed, true, false, kg, cog, rows, a.add(g * kg), lda, dy.add(q0 * p.cout + g * cog), p.cout, beta,
                      dw.add(g * cog), p.cout, gs);
        }
        q0 += chunk;
    }
    0
}

// ---------------------------------------------------------------- NCHW ----

/// Calls `f(lo, hi, ix0)` for the runs of output columns ox in [lo, hi) whose
/// tap `kx` reads a real input column, ix = ix0 + (ox - lo) * stride_w.
/// Without input dilation this is one run; with it, one run per valid ox.
#[inline(always)]
fn for_each_x_run(p: &ConvParams, kx: usize, mut f: impl FnMut(usize, usize, usize)) {
    let off = kx as i64 * p.dw as i64 - p.pl;
    if p.lw == 1 {
        let sw = p.sw as i64;
        let ow = p.ow as i64;
        let lo = if off >= 0 { 0 } else { (-off + sw - 1) / sw };
        let lim = p.w as i64 - off;
        let hi = if lim <= 0 { 0 } else { (lim - 1) / sw + 1 };
        let lo = if lo > ow { ow } else { lo };
        let hi = if hi > ow { ow } else { hi };
        if hi > lo {
            f(lo as usize, hi as usize, (lo * sw + off) as usize);
        }
    } else {
        for ox in 0..p.ow {
            if let Some(ix) = p.tap_x(ox, kx) {
                f(ox, ox + 1, ix);
            }
        }
    }
}

/// For image `ni` and output pixels p0..p0+cnt (flattened oy*OW+ox; both
/// multiples of OW): cols[((c*KH + ky)*KW + kx) * cnt + j] = x[ni, c, iy, ix].
/// `ADD` reverses it (col2im, accumulating into x).
unsafe fn im2col_nchw<const ADD: bool>(p: &ConvParams, x: *mut f32, ni: usize, p0: usize, cnt: usize, cols: *mut f32) {
    let hw = p.h * p.w;
    let oy0 = p0 / p.ow;
    let rows = cnt / p.ow;
    let sw = p.sw;
    for c in 0..p.cin {
        let img = x.add((ni * p.cin + c) * hw);
        for ky in 0..p.kh {
            for kx in 0..p.kw {
                let row = cols.add(((c * p.kh + ky) * p.kw + kx) * cnt);
                for r in 0..rows {
                    let seg = row.add(r * p.ow);
                    if !ADD {
                        zero(seg, p.ow);
                    }
                    let iy = match p.tap_y(oy0 + r, ky) {
                        Some(iy) => iy,
                        None => continue,
                    };
                    let src = img.add(iy * p.w);
                    for_each_x_run(p, kx, |lo, hi, ix0| {
                        let n = hi - lo;
                        let s = src.add(ix0);
                        let d = seg.add(lo);
                        if sw == 1 {
                            if ADD {
                                add_into(d, s, n);
                            } else {
                                copy(s, d, n);
                            }
                        } else {
                            for j in 0..n {
                                if ADD {
                                    *s.add(j * sw) += *d.add(j);
                                } else {
                                    *d.add(j) = *s.add(j * sw);
                                }
                            }
                        }
                    });
                }
            }
        }
    }
}

/// Output pixels per im2col chunk: whole output rows, about COLS_BUDGET floats.
fn nchw_chunk(p: &ConvParams) -> usize {
    if p.ow == 0 || p.oh == 0 {
        return 0;
    }
    let kt = p.groups * p.kg();
    let rows = COLS_BUDGET / (kt * p.ow);
    let rows = if rows < 1 { 1 } else if rows > p.oh { p.oh } else { rows };
    rows * p.ow
}

/// Forward NCHW for output lines l0..l1 (see forward_nhwc), the epilogue
/// applied by the gemm as it stores each tile (channels are C's rows).
unsafe fn forward_nchw(p: &ConvParams, x: *const f32, w: *const f32, y: *mut f32, l0: usize, l1: usize, epi: &Epilogue) -> i32 {
    let (cog, kg) = (p.cog(), p.kg());
    let kt = p.groups * kg;
    let plane = p.oh * p.ow;
    if plane == 0 || l0 >= l1 {
        return 0;
    }
    let direct = p.identity_cols();
    let chunk = if direct { plane } else { nchw_chunk(p) };
    let cols = if direct { None } else { Scratch::new(chunk * kt) };
    if !direct && cols.is_none() {
        return ERR_OOM;
    }
    let gs_buf = match Scratch::new(gemm_scratch_floats()) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    let gs = gs_buf.ptr;
    for ni in l0 / p.oh..=(l1 - 1) / p.oh {
        // This image's output rows within the lines, as pixel offsets in its planes.
        let first = if ni * p.oh > l0 { 0 } else { l0 - ni * p.oh };
        let last = if (ni + 1) * p.oh < l1 { p.oh } else { l1 - ni * p.oh };
        let (mut p0, end) = (first * p.ow, last * p.ow);
        while p0 < end {
            let cnt = if chunk < end - p0 { chunk } else { end - p0 };
            let (b, ldb) = match &cols {
                None => (x.add(ni * p.cin * plane + p0), plane),
                Some(s) => {
                    im2col_nchw::<false>(p, x as *mut f32, ni, p0, cnt, s.ptr);
                    (s.ptr as *const f32, cnt)
                }
            };
            for g in 0..p.groups {
                let se = StoreEpilogue { epi, axis: ChannelAxis::Row, channel0: g * cog };
                gemm_call_epilogue(GemmRows::Fixed, cog, cnt, kg, w.add(g * cog * kg), kg, b.add(g * kg * ldb), ldb,
                                   y.add((ni * p.cout + g * cog) * plane + p0), plane, gs, &se);
            }
            p0 += cnt;
        }
    }
    0
}

unsafe fn backward_data_nchw(p: &ConvParams, dy: *const f32, w: *const f32, dx: *mut f32, gs: *mut f32) -> i32 {
    let (cg, cog, kg) = (p.cg(), p.cog(), p.kg());
    let kt = p.groups * kg;
    let plane = p.oh * p.ow;
    if p.identity_cols() {
        for ni in 0..p.n {
            for g in 0..p.groups {
                gemm_call(GemmRows::Fixed, true, false, cg, plane, cog, w.add(g * cog * kg), kg,
                          dy.add((ni * p.cout + g * cog) * plane), plane, 0.0,
                          dx.add((ni * p.cin + g * cg) * plane), plane, gs);
            }
        }
        return 0;
    }
    zero(dx, p.n * p.h * p.w * p.cin);
    if plane == 0 {
        return 0;
    }
    let chunk = nchw_chunk(p);
    let cols = match Scratch::new(chunk * kt) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    for ni in 0..p.n {
        let mut p0 = 0;
        while p0 < plane {
            let cnt = if chunk < plane - p0 { chunk } else { plane - p0 };
            for g in 0..p.groups {
                gemm_call(GemmRows::Fixed, true, false, kg, cnt, cog, w.add(g * cog * kg), kg,
                          dy.add((ni * p.cout + g * cog) * plane + p0), plane, 0.0,
                          cols.ptr.add(g * kg * cnt), cnt, gs);
            }
            im2col_nchw::<true>(p, dx, ni, p0, cnt, cols.ptr);
            p0 += chunk;
        }
    }
    0
}

unsafe fn backward_filter_nchw(p: &ConvParams, x: *const f32, dy: *const f32, dw: *mut f32, gs: *mut f32) -> i32 {
    let (cog, kg) = (p.cog(), p.kg());
    let kt = p.groups * kg;
    let plane = p.oh * p.ow;
    if p.n == 0 || plane == 0 {
        zero(dw, kg * p.cout);
        return 0;
    }
    let direct = p.identity_cols();
    let chunk = if direct { plane } else { nchw_chunk(p) };
    let cols = if direct { None } else { Scratch::new(chunk * kt) };
    if !direct && cols.is_none() {
        return ERR_OOM;
    }
    let mut first = true;
    for ni in 0..p.n {
        let mut p0 = 0;
        while p0 < plane {
            let cnt = if chunk < plane - p0 { chunk } else { plane - p0 };
            let (b, ldb) = match &cols {
                None => (x.add(ni * p.cin * plane + p0), plane),
                Some(s) => {
                    im2col_nchw::<false>(p, x as *mut f32, ni, p0, cnt, s.ptr);
                    (s.ptr as *const f32, cnt)
                }
            };
            let beta = if first { 0.0 } else { 1.0 };
            for g in 0..p.groups {
                gemm_call(GemmRows::Fixed, false, true, cog, kg, cnt, dy.add((ni * p.cout + g * cog) * plane + p0), plane,
                          b.add(g * kg * ldb), ldb, beta, dw.add(g * cog * kg), kg, gs);
            }
            first = false;
            p0 += chunk;
        }
    }
    0
}

// ---------------------------------------------------------- depthwise ----
//
// Grouped convolution with one input channel per group (Cin/groups == 1,
// groups > 1): depthwise, with channel multiplier m = Cout/groups. Done
// directly: a gemm per group would have K = KH*KW and N = m, far too small to
// pay for im2col and packing.

const FWD: u8 = 0;
const BWD_DATA: u8 = 1;
const BWD_FILTER: u8 = 2;

fn is_depthwise(p: &ConvParams) -> bool {
    p.cg() == 1 && p.groups > 1
}

/// NHWC: per output pixel and tap, a vector operation over channels.
/// Output lines l0..l1 (flattened over n and oy; the gradients take all lines).
unsafe fn depthwise_nhwc<const MODE: u8>(p: &ConvParams, a: *const f32, b: *const f32, out: *mut f32, l0: usize, l1: usize) {
    let m = p.cog();
    let (cin, cout) = (p.cin, p.cout);
    match MODE {
        FWD => zero(out.add(l0 * p.ow * cout), (l1 - l0) * p.ow * cout),
        BWD_DATA => zero(out, p.n * p.h * p.w * cin),
        _ => zero(out, p.kh * p.kw * cout),
    }
    for line in l0..l1 {
        let (ni, oy) = (line / p.oh, line % p.oh);
        {
            for ox in 0..p.ow {
                let q = ((ni * p.oh + oy) * p.ow + ox) * cout;
                for ky in 0..p.kh {
                    let iy = match p.tap_y(oy, ky) {
                        Some(v) => v,
                        None => continue,
                    };
                    for kx in 0..p.kw {
                        let ix = match p.tap_x(ox, kx) {
                            Some(v) => v,
                            None => continue,
                        };
                        let xi = ((ni * p.h + iy) * p.w + ix) * cin;
                        let tap = (ky * p.kw + kx) * cout;
                        match MODE {
                            FWD => {
                                // a = x, b = w, out = y
                                let (yp, xp, wp) = (out.add(q), a.add(xi), b.add(tap));
                                if m == 1 {
                                    mul_add_into(yp, xp, wp, cout);
                                } else {
                                    for g in 0..p.groups {
                                        axpy(yp.add(g * m), wp.add(g * m), *xp.add(g), m);
                                    }
                                }
                            }
                            BWD_DATA => {
                                // a = dy, b = w, out = dx
                                let (dyp, wp, dxp) = (a.add(q), b.add(tap), out.add(xi));
                                if m == 1 {
                                    mul_add_into(dxp, dyp, wp, cin);
                                } else {
                                    for g in 0..p.groups {
                                        *dxp.add(g) += dot(dyp.add(g * m), wp.add(g * m), m);
                                    }
                                }
                            }
                            _ => {
                                // a = x, b = dy, out = dw
                                let (xp, dyp, dwp) = (a.add(xi), b.add(q), out.add(tap));
                                if m == 1 {
                                    mul_add_into(dwp, xp, dyp, cout);
                                } else {
                                    for g in 0..p.groups {
                                        axpy(dwp.add(g * m), dyp.add(g * m), *xp.add(g), m);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// NCHW: per (image, output channel, tap, output row), a vector operation
/// along the row.
/// Output lines l0..l1 (flattened over n and oy; the gradients take all lines).
unsafe fn depthwise_nchw<const MODE: u8>(p: &ConvParams, a: *const f32, b: *const f32, out: *mut f32, l0: usize, l1: usize) {
    let m = p.cog();
    let hw = p.h * p.w;
    let plane = p.oh * p.ow;
    let kk = p.kh * p.kw;
    let sw = p.sw;
    match MODE {
        FWD => {}
        BWD_DATA => zero(out, p.n * p.cin * hw),
        _ => zero(out, p.cout * kk),
    }
    if l0 >= l1 {
        return;
    }
    for ni in l0 / p.oh..=(l1 - 1) / p.oh {
        let oy0 = if ni * p.oh > l0 { 0 } else { l0 - ni * p.oh };
        let oy1 = if (ni + 1) * p.oh < l1 { p.oh } else { l1 - ni * p.oh };
        if MODE == FWD {
            for co in 0..p.cout {
                zero(out.add((ni * p.cout + co) * plane + oy0 * p.ow), (oy1 - oy0) * p.ow);
            }
        }
        for co in 0..p.cout {
            let g = co / m;
            let xplane = (ni * p.cin + g) * hw;
            let yplane = (ni * p.cout + co) * plane;
            for ky in 0..p.kh {
                for kx in 0..p.kw {
                    let wi = co * kk + ky * p.kw + kx;
                    for oy in oy0..oy1 {
                        let iy = match p.tap_y(oy, ky) {
                            Some(v) => v,
                            None => continue,
                        };
                        for_each_x_run(p, kx, |lo, hi, ix0| {
                            let cnt = hi - lo;
                            let yo = yplane + oy * p.ow + lo;
                            let xo = xplane + iy * p.w + ix0;
                            match MODE {
                                FWD => {
                                    let (wv, yr, xr) = (*b.add(wi), out.add(yo), a.add(xo));
                                    if sw == 1 {
                                        axpy(yr, xr, wv, cnt);
                                    } else {
                                        for j in 0..cnt {
                                            *yr.add(j) += wv * *xr.add(j * sw);
                                        }
                                    }
                                }
                                BWD_DATA => {
                                    let (wv, dyr, dxr) = (*b.add(wi), a.add(yo), out.add(xo));
                                    if sw == 1 {
                                        axpy(dxr, dyr, wv, cnt);
                                    } else {
                                        for j in 0..cnt {
                                            *dxr.add(j * sw) += wv * *dyr.add(j);
                                        }
                                    }
                                }
                                _ => {
                                    let (xr, dyr) = (a.add(xo), b.add(yo));
                                    let s = if sw == 1 {
                                        dot(xr, dyr, cnt)
                                    } else {
                                        let mut s = 0.0;
                                        for j in 0..cnt {
                                            s += *xr.add(j * sw) * *dyr.add(j);
                                        }
                                        s
                                    };
                                    *out.add(wi) += s;
                                }
                            }
                        });
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ winograd ----
//
// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016) for the NHWC forward of a 3×3, stride-1,
// undilated, ungrouped conv with one or two input channels — the first
// layer of a CNN on grey images, where im2col + sgemm has K = 9·Cin, too
// short for the gemm to do more than stream its packed panels. Each 2×2 block of output pixels is
//   Y = Aᵀ [ Σ_ci U[ci] ⊙ V[ci] ] A,  U = G g Gᵀ (4×4 per input/output
// channel pair, computed once per call), V = Bᵀ d B (the 4×4 input patch d),
// vectorised over four output channels: per output pixel and channel, 4·Cin
// multiplies and 4·Cin + 2 adds instead of 9·Cin of each.
// Cin = 1: 10 vector operations per pixel and 4 channels against 18.
// The transforms' sums round differently from a direct sum (errors of a few
// ulps of Σ|x·w|, within the sum-of-products tolerance the backend is tested
// against); subnormal inputs read as zero, as in the gemm's packing.
//
// Measured (bench/conv_ab.ts, one thread, after tier-up, load ~7): W5
// 0.54 -> 0.40 ms, the W7 CNN's first conv 0.73 -> 0.49, two input channels
// 1.26 -> 0.99; with a bias + relu epilogue 1.1-1.2x. Three input channels
// ran 7% slower and four 27% slower than im2col + sgemm (the per-tile loads
// of U and V grow with Cin while the gemm's register tile reuses them), so
// the path stops at two. A direct kernel (the gemm's 4×8 register tile over
// a zero-padded strip of input rows, no im2col or packing) was slower than
// the gemm at steady state. The epilogue runs in a pass over each tile row's
// lines while they are in L1: applied per tile in registers it was slower.
//
// Tiles sit on a fixed grid (even output rows and columns of each image), so
// a range of lines that starts or ends inside a tile row computes that tile
// and stores only its own rows: a split conv equals the unsplit one bitwise.

/// Input channels up to which Winograd beats im2col + sgemm (bench/conv_ab.ts).
const WINOGRAD_MAX_CIN: usize = 2;

fn winograd_applies(p: &ConvParams) -> bool {
    !p.nchw
        && p.groups == 1
        && p.kh == 3
        && p.kw == 3
        && p.sh == 1
        && p.sw == 1
        && p.dh == 1
        && p.dw == 1
        && p.lh == 1
        && p.lw == 1
        && p.cin <= WINOGRAD_MAX_CIN
}

/// U = G g Gᵀ for g = w[.., .., ci, co] (HWIO), in blocks of four output
/// channels: u[((co/4·16 + t)·Cin + ci)·4 + co%4] = U[t] (t = 4·i + j), so a
/// tile's loads for one block are at constant offsets; Co4 = Cout rounded up
/// to 4, the padding channels zero.
unsafe fn winograd_filter(p: &ConvParams, w: *const f32, u: *mut f32, co4: usize) {
    let (cin, cout) = (p.cin, p.cout);
    for ci in 0..cin {
        for co in 0..co4 {
            let mut g = [[0f32; 3]; 3];
            if co < cout {
                for (ky, row) in g.iter_mut().enumerate() {
                    for (kx, e) in row.iter_mut().enumerate() {
                        *e = gemm::daz1(*w.add(((ky * 3 + kx) * cin + ci) * cout + co));
                    }
                }
            }
            // G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2; then the same on columns.
            let mut gg = [[0f32; 3]; 4];
            for c in 0..3 {
                let (a, b, d) = (g[0][c], g[1][c], g[2][c]);
                gg[0][c] = a;
                gg[1][c] = (a + b + d) * 0.5;
                gg[2][c] = (a - b + d) * 0.5;
                gg[3][c] = d;
            }
            for (i, r) in gg.iter().enumerate() {
                let (a, b, d) = (r[0], r[1], r[2]);
                let vals = [a, (a + b + d) * 0.5, (a - b + d) * 0.5, d];
                for (j, v) in vals.iter().enumerate() {
                    *u.add((co / 4 * 16 * cin + (i * 4 + j) * cin + ci) * 4 + co % 4) = *v;
                }
            }
        }
    }
}

/// v[ci·16 + 4i + j] = (Bᵀ d B)[i][j] for the 4×4 input patch d whose top-left
/// pixel is (iy0, ix0) of image `img` (pixels outside the image are zero,
/// subnormal ones too).
#[inline(always)]
unsafe fn winograd_input<const CIN: usize>(p: &ConvParams, img: *const f32, iy0: i64, ix0: i64, v: &mut [f32; 16 * WINOGRAD_MAX_CIN]) {
    let cin = CIN;
    let inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= p.h as i64 && ix0 + 4 <= p.w as i64;
    for ci in 0..cin {
        let mut d = [[0f32; 4]; 4];
        if inside {
            let base = img.add((iy0 as usize * p.w + ix0 as usize) * cin + ci);
            for (r, row) in d.iter_mut().enumerate() {
                for (c, e) in row.iter_mut().enumerate() {
                    *e = gemm::daz1(*base.add((r * p.w + c) * cin));
                }
            }
        } else {
            for (r, row) in d.iter_mut().enumerate() {
                let iy = iy0 + r as i64;
                if iy < 0 || iy >= p.h as i64 {
                    continue;
                }
                for (c, e) in row.iter_mut().enumerate() {
                    let ix = ix0 + c as i64;
                    if ix >= 0 && ix < p.w as i64 {
                        *e = gemm::daz1(*img.add((iy as usize * p.w + ix as usize) * cin + ci));
                    }
                }
            }
        }
        // Bᵀ d: rows d0-d2, d1+d2, d2-d1, d1-d3; then (·) B: the same on columns.
        let mut t = [[0f32; 4]; 4];
        for c in 0..4 {
            let (a, b, e, f) = (d[0][c], d[1][c], d[2][c], d[3][c]);
            t[0][c] = a - e;
            t[1][c] = b + e;
            t[2][c] = e - b;
            t[3][c] = b - f;
        }
        let o = ci * 16;
        for (i, r) in t.iter().enumerate() {
            let (a, b, e, f) = (r[0], r[1], r[2], r[3]);
            v[o + 4 * i] = a - e;
            v[o + 4 * i + 1] = b + e;
            v[o + 4 * i + 2] = e - b;
            v[o + 4 * i + 3] = b - f;
        }
    }
}

/// Row i of Aᵀ-free half of the output transform: with m_ij = Σ_ci U[4i+j, ci] ⊙ V[ci, 4i+j],
/// (m_i0 + m_i1 + m_i2, m_i1 - m_i2 - m_i3) — M's row i times A.
#[inline(always)]
unsafe fn winograd_row<const CIN: usize>(u: *const f32, v: *const f32, i: usize) -> (v128, v128) {
    let m = |j: usize| {
        let t = 4 * i + j;
        let mut acc = f32x4_mul(ld(u.add(t * CIN * 4)), v128_load32_splat(v.add(t) as *const u32));
        for ci in 1..CIN {
            acc = f32x4_add(acc, f32x4_mul(ld(u.add((t * CIN + ci) * 4)), v128_load32_splat(v.add(ci * 16 + t) as *const u32)));
        }
        acc
    };
    let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3));
    (f32x4_add(f32x4_add(m0, m1), m2), f32x4_sub(f32x4_sub(m1, m2), m3))
}

/// The 2×2 output pixels of one tile for one block of four output channels
/// (`u` at the block's transformed filter): [y00, y01, y10, y11] = Aᵀ M A,
/// M's rows folded in as they are made so only a few vectors stay live.
#[inline(always)]
unsafe fn winograd_tile4<const CIN: usize>(u: *const f32, v: &[f32; 16 * WINOGRAD_MAX_CIN]) -> [v128; 4] {
    let v = v.as_ptr();
    // Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]] on M's rows.
    let (a0, a1) = winograd_row::<CIN>(u, v, 0);
    let (b0, b1) = winograd_row::<CIN>(u, v, 1);
    let (mut y00, mut y01) = (f32x4_add(a0, b0), f32x4_add(a1, b1));
    let (mut y10, mut y11) = (b0, b1);
    let (c0, c1) = winograd_row::<CIN>(u, v, 2);
    y00 = f32x4_add(y00, c0);
    y01 = f32x4_add(y01, c1);
    y10 = f32x4_sub(y10, c0);
    y11 = f32x4_sub(y11, c1);
    let (d0, d1) = winograd_row::<CIN>(u, v, 3);
    y10 = f32x4_sub(y10, d0);
    y11 = f32x4_sub(y11, d1);
    [y00, y01, y10, y11]
}

/// Forward NHWC by Winograd for output lines l0..l1 (see `winograd_applies`).
unsafe fn winograd_nhwc(p: &ConvParams, x: *const f32, w: *const f32, y: *mut f32, l0: usize, l1: usize, epi: &Epilogue) -> i32 {
    if p.ow == 0 || l0 >= l1 {
        return 0;
    }
    let co4 = (p.cout + 3) & !3;
    let u = match Scratch::new(16 * p.cin * co4) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    winograd_filter(p, w, u.ptr, co4);
    match p.cin {
        1 => winograd_lines::<1>(p, x, u.ptr, y, l0, l1, epi),
        _ => winograd_lines::<2>(p, x, u.ptr, y, l0, l1, epi),
    }
    0
}

/// `winograd_nhwc` for CIN input channels, on the transformed filter `u`.
unsafe fn winograd_lines<const CIN: usize>(p: &ConvParams, x: *const f32, u: *const f32, y: *mut f32, l0: usize, l1: usize, epi: &Epilogue) {
    let cout = p.cout;
    let full_cout = cout & !3;
    let mut v = [0f32; 16 * WINOGRAD_MAX_CIN];
    for ni in l0 / p.oh..=(l1 - 1) / p.oh {
        let first = if ni * p.oh > l0 { 0 } else { l0 - ni * p.oh };
        let last = if (ni + 1) * p.oh < l1 { p.oh } else { l1 - ni * p.oh };
        let img = x.add(ni * p.h * p.w * CIN);
        let mut ty = first & !1;
        while ty < last {
            // This tile row's output rows that belong to the range.
            let r_lo = if ty < first { 1 } else { 0 };
            let r_hi = if ty + 2 <= last { 2 } else { last - ty };
            let whole_rows = r_lo == 0 && r_hi == 2;
            let mut tx = 0;
            while tx < p.ow {
                let c_hi = if tx + 2 <= p.ow { 2 } else { p.ow - tx };
                winograd_input::<CIN>(p, img, ty as i64 - p.pt, tx as i64 - p.pl, &mut v);
                let y0 = y.add(((ni * p.oh + ty) * p.ow + tx) * cout);
                let y1 = y0.add(p.ow * cout);
                if whole_rows && c_hi == 2 {
                    // The common tile: four whole pixels.
                    let mut co = 0;
                    while co < full_cout {
                        let t = winograd_tile4::<CIN>(u.add(co * 16 * CIN), &v);
                        st(y0.add(co), t[0]);
                        st(y0.add(cout + co), t[1]);
                        st(y1.add(co), t[2]);
                        st(y1.add(cout + co), t[3]);
                        co += 4;
                    }
                    if co < cout {
                        winograd_store_tile::<CIN>(u, &v, y0, p.ow * cout, cout, co, 0, 2, 2);
                    }
                } else {
                    let mut co = 0;
                    while co < cout {
                        winograd_store_tile::<CIN>(u, &v, y0, p.ow * cout, cout, co, r_lo, r_hi, c_hi);
                        co += 4;
                    }
                }
                tx += 2;
            }
            if !epi.is_empty() {
                // On the tile row's lines while they are in L1 (in registers, op by op
                // per tile, it cost more than this pass).
                epi.apply_rows(y.add((ni * p.oh + ty + r_lo) * p.ow * cout), (r_hi - r_lo) * p.ow, cout);
            }
            ty += 2;
        }
    }
}

/// Output channels co..co+4 (fewer at the end of Cout) of one tile, rows
/// r_lo..r_hi and columns 0..c_hi of it; `y0` is the tile's top-left pixel,
/// `ldy` the output row stride.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn winograd_store_tile<const CIN: usize>(u: *const f32, v: &[f32; 16 * WINOGRAD_MAX_CIN],
                                                y0: *mut f32, ldy: usize, cout: usize, co: usize, r_lo: usize, r_hi: usize, c_hi: usize) {
    let t = winograd_tile4::<CIN>(u.add(co * 16 * CIN), v);
    let lanes = if co + 4 <= cout { 4 } else { cout - co };
    for r in r_lo..r_hi {
        for c in 0..c_hi {
            let dst = y0.add(r * ldy + c * cout + co);
            let val = t[2 * r + c];
            if lanes == 4 {
                st(dst, val);
            } else {
                let e = [f32x4_extract_lane::<0>(val), f32x4_extract_lane::<1>(val), f32x4_extract_lane::<2>(val)];
                for (k, e) in e.iter().enumerate().take(lanes) {
                    *dst.add(k) = *e;
                }
            }
        }
    }
}

// ------------------------------------------------------------- entry ----

#[derive(Clone, Copy)]
pub enum Mode {
    Forward,
    BackwardData,
    BackwardFilter,
}

/// Work units a convolution splits into for `conv2d_range`: output lines
/// (N·OH) for the forward, images (N) for the gradients.
pub fn units(p: &ConvParams, mode: Mode) -> usize {
    match mode {
        Mode::Forward => p.n * p.oh,
        _ => p.n,
    }
}

/// Runs one convolution kernel on all its units. Pointer roles by mode:
///   Forward:        (a = x,  b = w,  out = y)
///   BackwardData:   (a = dy, b = w,  out = dx)
///   BackwardFilter: (a = x,  b = dy, out = dw)
pub unsafe fn run(raw: *const i32, mode: Mode, a: *const f32, b: *const f32, out: *mut f32) -> i32 {
    let p = match ConvParams::read(raw) {
        Ok(p) => p,
        Err(e) => return e,
    };
    run_units(&p, mode, a, b, out, 0, units(&p, mode), &Epilogue::EMPTY)
}

/// Runs units u0..u1 of a convolution (see `units`), so threads can split it:
///   Forward: output lines u0..u1 of y, then the epilogue `epi` on them;
///   BackwardData: dx of images u0..u1 (dy and dx of other images untouched);
///   BackwardFilter: out = the filter gradient of images u0..u1 alone (a
///   partial sum the caller adds up).
/// Only the forward takes an epilogue (`raw_epi`, see epilogue.rs; null = none).
pub unsafe fn run_range(raw: *const i32, mode: Mode, a: *const f32, b: *const f32, out: *mut f32, u0: i32, u1: i32,
                        raw_epi: *const i32) -> i32 {
    let p = match ConvParams::read(raw) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let epi = match Epilogue::read(raw_epi) {
        Ok(e) => e,
        Err(e) => return e,
    };
    if !matches!(mode, Mode::Forward) && !epi.is_empty() {
        return ERR_EPILOGUE;
    }
    if u0 < 0 || u1 < u0 || u1 as usize > units(&p, mode) {
        return ERR_DIMS;
    }
    run_units(&p, mode, a, b, out, u0 as usize, u1 as usize, &epi)
}

#[allow(clippy::too_many_arguments)]
unsafe fn run_units(p: &ConvParams, mode: Mode, a: *const f32, b: *const f32, out: *mut f32, u0: usize, u1: usize,
                    epi: &Epilogue) -> i32 {
    if let Mode::Forward = mode {
        if is_depthwise(p) {
            if p.nchw {
                depthwise_nchw::<FWD>(p, a, b, out, u0, u1);
            } else {
                depthwise_nhwc::<FWD>(p, a, b, out, u0, u1);
            }
            if !epi.is_empty() {
                apply_epilogue_lines(p, out, u0, u1, epi);
            }
            return 0;
        }
        if winograd_applies(p) {
            return winograd_nhwc(p, a, b, out, u0, u1, epi);
        }
        return if p.nchw { forward_nchw(p, a, b, out, u0, u1, epi) } else { forward_nhwc(p, a, b, out, u0, u1, epi) };
    }
    // The gradients of images u0..u1 are those of the convolution of these images alone.
    let mut q = *p;
    q.n = u1 - u0;
    let (x_image, y_image) = (p.h * p.w * p.cin, p.oh * p.ow * p.cout);
    let (a, b, out) = match mode {
        Mode::BackwardData => (a.add(u0 * y_image), b, out.add(u0 * x_image)),
        _ => (a.add(u0 * x_image), b.add(u0 * y_image), out),
    };
    let lines = q.n * q.oh;
    if is_depthwise(&q) {
        match (mode, q.nchw) {
            (Mode::BackwardData, false) => depthwise_nhwc::<BWD_DATA>(&q, a, b, out, 0, lines),
            (Mode::BackwardData, true) => depthwise_nchw::<BWD_DATA>(&q, a, b, out, 0, lines),
            (_, false) => depthwise_nhwc::<BWD_FILTER>(&q, a, b, out, 0, lines),
            (_, true) => depthwise_nchw::<BWD_FILTER>(&q, a, b, out, 0, lines),
        }
        return 0;
    }
    let gs = match Scratch::new(gemm_scratch_floats()) {
        Some(s) => s,
        None => return ERR_OOM,
    };
    match (mode, q.nchw) {
        (Mode::BackwardData, false) => backward_data_nhwc(&q, a, b, out, gs.ptr),
        (Mode::BackwardData, true) => backward_data_nchw(&q, a, b, out, gs.ptr),
        (_, false) => backward_filter_nhwc(&q, a, b, out, gs.ptr),
        (_, true) => backward_filter_nchw(&q, a, b, out, gs.ptr),
    }
}

/// The epilogue on output lines l0..l1 of y (the depthwise forward's second pass).
unsafe fn apply_epilogue_lines(p: &ConvParams, y: *mut f32, l0: usize, l1: usize, epi: &Epilogue) {
    if p.nchw {
        for l in l0..l1 {
            let (ni, oy) = (l / p.oh, l % p.oh);
            for co in 0..p.cout {
                epi.apply_run(y.add(((ni * p.cout + co) * p.oh + oy) * p.ow), co, p.ow);
            }
        }
    } else {
        epi.apply_rows(y.add(l0 * p.ow * p.cout), (l1 - l0) * p.ow, p.cout);
    }
}

/// dst[i] = Σ_j parts[j·len + i] for j in 0..count, in order (the filter
/// gradient's per-part sums; the order makes the result independent of which
/// thread computed which part).
pub unsafe fn sum_parts(parts: *const f32, count: usize, len: usize, dst: *mut f32) {
    copy(parts, dst, len);
    for j in 1..count {
        add_into(parts.add(j * len), dst, len);
    }
}
