//! Window kernels over row-major N-d arrays: reduce_window (sum, max, min:
//! pooling with any window, strides, padding, base and window dilation), and
//! the two halves of max-pool's derivative: select_and_gather_add (the jvp:
//! each window's tangent at the element its operand selects) and
//! select_and_scatter_add (its transpose: each source value added at the
//! selected element). Semantics are the interpreter's: padding and base-
//! dilation holes are skipped (the fold's identity), max/min keep a NaN once
//! seen, selection keeps the current element while `current >= candidate`
//! ("ge") or `<=` ("le") holds, taps taken in row-major window order.
//!
//! The parameter block is `1 + 7 * rank` int32: rank, then per dim
//! [in, out, window, stride, pad_lo, base_dilation, window_dilation].
//! Trailing dims where the window is trivial (size 1, stride 1, no padding or
//! dilation) are not windowed: they are swept as one contiguous run of
//! `lanes` elements per tap, e.g. the channels of an NHWC pooling.

use crate::elem::{Elem, Monoid};
use crate::scratch::Buf;
use core::arch::wasm32::*;

pub const MAX_RANK: usize = 8;

/// The windowed (head) dims of one call and, per output position, its taps.
struct Plan {
    head: usize,
    lanes: usize,
    out: [usize; MAX_RANK],
    win: [usize; MAX_RANK],
    in_stride: [usize; MAX_RANK],
    /// Per head dim d, `[out_d * win_d]` input indices along d (-1: padding or a hole).
    table: Buf<i32>,
    table_at: [usize; MAX_RANK],
    out_count: usize,
    taps: usize,
}

impl Plan {
    unsafe fn read(params: *const i32) -> Option<Plan> {
        let rank = *params;
        if rank < 0 || rank as usize > MAX_RANK {
            return None;
        }
        let rank = rank as usize;
        let p = |d: usize, f: usize| *params.add(1 + 7 * d + f);
        for d in 0..rank {
            if p(d, 0) < 0 || p(d, 1) < 0 || p(d, 2) < 1 || p(d, 3) < 1 || p(d, 5) < 1 || p(d, 6) < 1 {
                return None;
            }
        }
        let trivial = |d: usize| p(d, 0) == p(d, 1) && p(d, 2) == 1 && p(d, 3) == 1 && p(d, 4) == 0 && p(d, 5) == 1;
        let mut head = rank;
        let mut lanes = 1usize;
        while head > 0 && trivial(head - 1) {
            head -= 1;
            lanes *= p(head, 0) as usize;
        }
        let mut plan = Plan {
            head,
            lanes,
            out: [0; MAX_RANK],
            win: [0; MAX_RANK],
            in_stride: [0; MAX_RANK],
            table: Buf::new(0)?,
            table_at: [0; MAX_RANK],
            out_count: 1,
            taps: 1,
        };
        let mut stride = lanes;
        let mut entries = 0;
        for d in (0..head).rev() {
            plan.out[d] = p(d, 1) as usize;
            plan.win[d] = p(d, 2) as usize;
            plan.in_stride[d] = stride;
            stride *= p(d, 0) as usize;
            plan.table_at[d] = entries;
            entries += plan.out[d] * plan.win[d];
            plan.out_count *= plan.out[d];
            plan.taps *= plan.win[d];
        }
        plan.table = Buf::new(entries)?;
        for d in 0..head {
            let (n, s, lo, bd, wd) = (p(d, 0) as i64, p(d, 3) as i64, p(d, 4) as i64, p(d, 5) as i64, p(d, 6) as i64);
            for o in 0..plan.out[d] {
                for w in 0..plan.win[d] {
                    let pos = o as i64 * s + w as i64 * wd - lo;
                    let ix = if pos >= 0 && pos % bd == 0 && pos / bd < n { (pos / bd) as i32 } else { -1 };
                    *plan.table.ptr.add(plan.table_at[d] + o * plan.win[d] + w) = ix;
                }
            }
        }
        Some(plan)
    }

    /// Calls `f(output position, input offsets of its valid taps)` for every output position.
    unsafe fn each_window(&self, offs: *mut usize, mut f: impl FnMut(usize, &[usize])) {
        let h = self.head;
        let mut o = [0usize; MAX_RANK];
        for pos in 0..self.out_count {
            let mut count = 0;
            let mut w = [0usize; MAX_RANK];
            'taps: for _ in 0..self.taps {
                let mut off = 0usize;
                let mut valid = true;
                for d in 0..h {
                    let ix = *self.table.ptr.add(self.table_at[d] + o[d] * self.win[d] + w[d]);
                    if ix < 0 {
                        valid = false;
                        break;
                    }
                    off += ix as usize * self.in_stride[d];
                }
                if valid {
                    *offs.add(count) = off;
                    count += 1;
                }
                for d in (0..h).rev() {
                    w[d] += 1;
                    if w[d] < self.win[d] {
                        continue 'taps;
                    }
                    w[d] = 0;
                }
            }
            f(pos, core::slice::from_raw_parts(offs, count));
            for d in (0..h).rev() {
                o[d] += 1;
                if o[d] < self.out[d] {
                    break;
                }
                o[d] = 0;
            }
        }
    }
}

fn plan_and_offsets(params: *const i32) -> Result<(Plan, Buf<usize>), i32> {
    let plan = unsafe { Plan::read(params) }.ok_or(crate::ERR_ARGS)?;
    let offs = Buf::<usize>::new(plan.taps).ok_or(crate::ERR_OOM)?;
    Ok((plan, offs))
}

/// float32 max/min pooling, 4 lanes at a time (the channels of NHWC pooling).
pub unsafe fn reduce_window_f32_max_min(is_max: bool, params: *const i32, x: *const f32, out: *mut f32) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    let vec = lanes / 4 * 4;
    let init = if is_max { f32::NEG_INFINITY } else { f32::INFINITY };
    plan.each_window(offs.ptr, |pos, taps| {
        let dst = out.add(pos * lanes);
        let mut l = 0;
        while l < vec {
            let mut m = f32x4_splat(init);
            for &off in taps {
                let v = v128_load(x.add(off + l) as *const v128);
                let better = if is_max { f32x4_gt(v, m) } else { f32x4_lt(v, m) };
                // A NaN is taken, and then kept: nothing compares above it.
                m = v128_bitselect(v, m, v128_or(better, f32x4_ne(v, v)));
            }
            v128_store(dst.add(l) as *mut v128, m);
            l += 4;
        }
        for l in vec..lanes {
            let mut m = init;
            for &off in taps {
                let v = *x.add(off + l);
                if v != v || (is_max && v > m) || (!is_max && v < m) {
                    m = v;
                }
            }
            *dst.add(l) = m;
        }
    });
    0
}

/// float32 sum pooling, 4 lanes at a time, summed in f64 in window order and rounded once.
pub unsafe fn reduce_window_f32_sum(params: *const i32, x: *const f32, out: *mut f32) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    let vec = lanes / 4 * 4;
    plan.each_window(offs.ptr, |pos, taps| {
        let dst = out.add(pos * lanes);
        let mut l = 0;
        while l < vec {
            let (mut lo, mut hi) = (f64x2_splat(0.0), f64x2_splat(0.0));
            for &off in taps {
                let v = v128_load(x.add(off + l) as *const v128);
                lo = f64x2_add(lo, f64x2_promote_low_f32x4(v));
                hi = f64x2_add(hi, f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v)));
            }
            let r = i32x4_shuffle::<0, 1, 4, 5>(f32x4_demote_f64x2_zero(lo), f32x4_demote_f64x2_zero(hi));
            v128_store(dst.add(l) as *mut v128, r);
            l += 4;
        }
        for l in vec..lanes {
            let mut m = 0f64;
            for &off in taps {
                m += *x.add(off + l) as f64;
            }
            *dst.add(l) = m as f32;
        }
    });
    0
}

/// out = reduce_window(x) with `m` one of Add, Max, Min.
pub unsafe fn reduce_window<T: Elem>(m: Monoid, params: *const i32, x: *const T, out: *mut T) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    let acc = match Buf::<T::Acc>::new(lanes) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let a = acc.ptr;
    let init = match m {
        Monoid::Max => T::LOWEST,
        Monoid::Min => T::HIGHEST,
        _ => T::ZERO,
    };
    plan.each_window(offs.ptr, |pos, taps| {
        for l in 0..lanes {
            *a.add(l) = init;
        }
        for &off in taps {
            let src = x.add(off);
            match m {
                Monoid::Max => {
                    for l in 0..lanes {
                        let v = (*src.add(l)).load();
                        if T::is_nan(v) || T::gt(v, *a.add(l)) {
                            *a.add(l) = v;
                        }
                    }
                }
                Monoid::Min => {
                    for l in 0..lanes {
                        let v = (*src.add(l)).load();
                        if T::is_nan(v) || T::lt(v, *a.add(l)) {
                            *a.add(l) = v;
                        }
                    }
                }
                _ => {
                    for l in 0..lanes {
                        *a.add(l) = T::fold(Monoid::Add, *a.add(l), (*src.add(l)).load());
                    }
                }
            }
        }
        let dst = out.add(pos * lanes);
        for l in 0..lanes {
            *dst.add(l) = T::store(*a.add(l));
        }
    });
    0
}

/// For lane `l` of one window, the input offset `select` picks (None if all taps are padding).
#[inline(always)]
unsafe fn selected<T: Elem>(ge: bool, operand: *const T, taps: &[usize], l: usize) -> Option<usize> {
    let mut sel: Option<(usize, T::Acc)> = None;
    for &off in taps {
        let at = off + l;
        let v = (*operand.add(at)).load();
        let keep = match sel {
            Some((_, cur)) => {
                if ge {
                    cur >= v
                } else {
                    cur <= v
                }
            }
            None => false,
        };
        if !keep {
            sel = Some((at, v));
        }
    }
    sel.map(|(at, _)| at)
}

/// out (operand's shape) = zeros, then each source value added at its window's selected element.
pub unsafe fn select_and_scatter_add<T: Elem>(ge: bool, params: *const i32, source: *const T, operand: *const T, out: *mut T, operand_len: usize) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    // Sums are kept unrounded (f64 for floats) until every window has added in.
    let acc = match Buf::<T::Acc>::new(operand_len) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let a = acc.ptr;
    for k in 0..operand_len {
        *a.add(k) = T::ZERO;
    }
    plan.each_window(offs.ptr, |pos, taps| {
        for l in 0..lanes {
            if let Some(at) = selected::<T>(ge, operand, taps, l) {
                *a.add(at) = T::fold(Monoid::Add, *a.add(at), (*source.add(pos * lanes + l)).load());
            }
        }
    });
    for k in 0..operand_len {
        *out.add(k) = T::store(*a.add(k));
    }
    0
}

/// select_and_scatter_add for float32, choosing 4 lanes at a time.
pub unsafe fn select_and_scatter_add_f32(ge: bool, params: *const i32, source: *const f32, operand: *const f32, out: *mut f32, operand_len: usize) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    let vec = lanes / 4 * 4;
    let acc = match Buf::<f64>::new(operand_len) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let a = acc.ptr;
    for k in 0..operand_len {
        *a.add(k) = 0.0;
    }
    plan.each_window(offs.ptr, |pos, taps| {
        if taps.is_empty() {
            return;
        }
        let src = source.add(pos * lanes);
        let mut l = 0;
        while l < vec {
            let mut cur = v128_load(operand.add(taps[0] + l) as *const v128);
            let mut at = i32x4_splat(taps[0] as i32);
            for &off in &taps[1..] {
                let v = v128_load(operand.add(off + l) as *const v128);
                let keep = if ge { f32x4_ge(cur, v) } else { f32x4_le(cur, v) };
                cur = v128_bitselect(cur, v, keep);
                at = v128_bitselect(at, i32x4_splat(off as i32), keep);
            }
            let chosen = [
                i32x4_extract_lane::<0>(at) as usize,
                i32x4_extract_lane::<1>(at) as usize + 1,
                i32x4_extract_lane::<2>(at) as usize + 2,
                i32x4_extract_lane::<3>(at) as usize + 3,
            ];
            for (j, &c) in chosen.iter().enumerate() {
                *a.add(c + l) += *src.add(l + j) as f64;
            }
            l += 4;
        }
        for l in vec..lanes {
            if let Some(at) = selected::<f32>(ge, operand, taps, l) {
                *a.add(at) += *src.add(l) as f64;
            }
        }
    });
    for k in 0..operand_len {
        *out.add(k) = *a.add(k) as f32;
    }
    0
}

/// out[window] = tangents at the element of operand each window selects (0 when none).
pub unsafe fn select_and_gather_add<T: Elem>(ge: bool, params: *const i32, tangents: *const T, operand: *const T, out: *mut T) -> i32 {
    let (plan, offs) = match plan_and_offsets(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let lanes = plan.lanes;
    plan.each_window(offs.ptr, |pos, taps| {
        for l in 0..lanes {
            let v = match selected::<T>(ge, operand, taps, l) {
                Some(at) => (*tangents.add(at)).load(),
                None => T::ZERO,
            };
            *out.add(pos * lanes + l) = T::store(v);
        }
    });
    0
}
