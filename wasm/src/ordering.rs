//! Kernels along one axis of a row-major array seen as [outer, n, inner]:
//! argmax/argmin, the cumulative scans (cumsum/cumprod/cummax/cummin), and
//! along contiguous rows: the stable multi-key sort (as a permutation, then
//! a gather of every operand) and top_k. Semantics are the interpreter's
//! (see elem.rs): first index wins ties, the first NaN wins argmax/argmin,
//! scans fold in order from the start (or the end when reversed) in f64 for
//! floats, and sort keys are ordered with -0 == +0 and NaN after +inf.

use crate::elem::{Elem, Monoid};
use crate::scratch::Buf;
use core::arch::wasm32::*;

/// Index of the first max (or min) of each [outer, ·, inner] column, NaN first.
pub unsafe fn argreduce<T: Elem>(is_min: bool, x: *const T, out: *mut i32, outer: usize, n: usize, inner: usize) -> i32 {
    if n == 0 {
        for k in 0..outer * inner {
            *out.add(k) = 0;
        }
        return 0;
    }
    let better = |v: T::Acc, b: T::Acc| if is_min { T::lt(v, b) } else { T::gt(v, b) };
    if inner == 1 {
        for o in 0..outer {
            let row = x.add(o * n);
            let mut best = 0usize;
            let mut best_v = (*row).load();
            let mut j = 1;
            while j < n && !T::is_nan(best_v) {
                let v = (*row.add(j)).load();
                if T::is_nan(v) || better(v, best_v) {
                    best = j;
                    best_v = v;
                }
                j += 1;
            }
            *out.add(o) = best as i32;
        }
        return 0;
    }
    // Columns: sweep the axis once per outer slab, keeping each lane's best value.
    let best_v = match Buf::<T::Acc>::new(inner) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let bv = best_v.ptr;
    for o in 0..outer {
        let slab = x.add(o * n * inner);
        let idx = out.add(o * inner);
        for i in 0..inner {
            *bv.add(i) = (*slab.add(i)).load();
            *idx.add(i) = 0;
        }
        for j in 1..n {
            let row = slab.add(j * inner);
            for i in 0..inner {
                let b = *bv.add(i);
                let v = (*row.add(i)).load();
                if !T::is_nan(b) && (T::is_nan(v) || better(v, b)) {
                    *bv.add(i) = v;
                    *idx.add(i) = j as i32;
                }
            }
        }
    }
    0
}

/// argmax/argmin of contiguous float32 rows, vectorised: one pass finds the
/// extreme value (and whether a NaN occurs), a second the first index holding it.
pub unsafe fn argreduce_f32_rows(is_min: bool, x: *const f32, out: *mut i32, rows: usize, n: usize) -> i32 {
    if n < 16 {
        return argreduce::<f32>(is_min, x, out, rows, n, 1);
    }
    for r in 0..rows {
        let row = x.add(r * n);
        let mut ext = f32x4_splat(*row);
        let mut nan = i32x4_splat(0);
        let mut j = 0;
        while j + 4 <= n {
            let v = v128_load(row.add(j) as *const v128);
            nan = v128_or(nan, f32x4_ne(v, v));
            ext = if is_min { f32x4_pmin(ext, v) } else { f32x4_pmax(ext, v) };
            j += 4;
        }
        let mut e = [0f32; 4];
        v128_store(e.as_mut_ptr() as *mut v128, ext);
        let mut best = e[0];
        for &l in &e[1..] {
            if (is_min && l < best) || (!is_min && l > best) {
                best = l;
            }
        }
        let mut has_nan = v128_any_true(nan);
        while j < n {
            let v = *row.add(j);
            has_nan |= v != v;
            if (is_min && v < best) || (!is_min && v > best) {
                best = v;
            }
            j += 1;
        }
        let mut at = 0;
        if has_nan {
            while *row.add(at) == *row.add(at) {
                at += 1;
            }
        } else {
            let target = f32x4_splat(best);
            let mut k = 0;
            at = n;
            while k + 4 <= n {
                let hit = f32x4_eq(v128_load(row.add(k) as *const v128), target);
                if v128_any_true(hit) {
                    at = k + (i32x4_bitmask(hit).trailing_zeros() as usize);
                    break;
                }
                k += 4;
            }
            if at == n {
                while *row.add(k) != best {
                    k += 1;
                }
                at = k;
            }
        }
        *out.add(r) = at as i32;
    }
    0
}

/// out = the running fold of x along the axis (from its end when `reverse`).
pub unsafe fn cumulative<T: Elem>(m: Monoid, reverse: bool, x: *const T, out: *mut T, outer: usize, n: usize, inner: usize) -> i32 {
    if n == 0 || inner == 0 {
        return 0;
    }
    let at = |t: usize| if reverse { n - 1 - t } else { t };
    if inner == 1 {
        for o in 0..outer {
            let (src, dst) = (x.add(o * n), out.add(o * n));
            let mut acc = (*src.add(at(0))).load();
            *dst.add(at(0)) = T::store(acc);
            for t in 1..n {
                let k = at(t);
                acc = T::fold(m, acc, (*src.add(k)).load());
                *dst.add(k) = T::store(acc);
            }
        }
        return 0;
    }
    let accs = match Buf::<T::Acc>::new(inner) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let acc = accs.ptr;
    for o in 0..outer {
        let (src, dst) = (x.add(o * n * inner), out.add(o * n * inner));
        let first = at(0) * inner;
        for i in 0..inner {
            *acc.add(i) = (*src.add(first + i)).load();
            *dst.add(first + i) = T::store(*acc.add(i));
        }
        for t in 1..n {
            let row = at(t) * inner;
            for i in 0..inner {
                let a = T::fold(m, *acc.add(i), (*src.add(row + i)).load());
                *acc.add(i) = a;
                *dst.add(row + i) = T::store(a);
            }
        }
    }
    0
}

/// Sort keys of `n` elements of a row, written to `keys`.
pub unsafe fn keys_of<T: Elem>(x: *const T, keys: *mut u32, n: usize) {
    for j in 0..n {
        *keys.add(j) = (*x.add(j)).sort_key();
    }
}

/// Rows at least this long are radix sorted.
const RADIX_MIN: usize = 512;

/// Stable LSD radix sort of `data` by its high 32 bits, a byte per pass; `spare` is as long.
/// A pass whose byte is the same in every element is skipped. The result ends in `data`.
fn radix_sort_by_key(data: &mut [u64], spare: &mut [u64]) {
    let n = data.len();
    let mut counts = [[0usize; 256]; 4];
    for &v in data.iter() {
        for (b, c) in counts.iter_mut().enumerate() {
            c[((v >> (32 + 8 * b)) & 0xff) as usize] += 1;
        }
    }
    let (mut src, mut dst) = (data.as_mut_ptr(), spare.as_mut_ptr());
    for (b, c) in counts.iter().enumerate() {
        if c.iter().any(|&k| k == n) {
            continue;
        }
        let mut start = [0usize; 256];
        let mut sum = 0;
        for d in 0..256 {
            start[d] = sum;
            sum += c[d];
        }
        // SAFETY: src and dst are the two disjoint buffers of n elements; every start[d] < n.
        unsafe {
            for i in 0..n {
                let v = *src.add(i);
                let d = ((v >> (32 + 8 * b)) & 0xff) as usize;
                *dst.add(start[d]) = v;
                start[d] += 1;
            }
        }
        core::mem::swap(&mut src, &mut dst);
    }
    if src != data.as_mut_ptr() {
        // SAFETY: src is `spare`, n elements, disjoint from data.
        unsafe { core::ptr::copy_nonoverlapping(src, data.as_mut_ptr(), n) };
    }
}

/// The stable lexicographic sort permutation of each row given its keys:
/// `keys` holds num_keys arrays of rows*n u32; perm gets rows*n indices within rows.
pub unsafe fn sort_perm(keys: *const u32, num_keys: usize, rows: usize, n: usize, perm: *mut u32) -> i32 {
    if num_keys == 1 {
        // Key and index packed in one u64 (key high): long rows are radix sorted by the key
        // bytes, which is stable; short ones by an unstable sort, stable too as every packed
        // value is distinct.
        let packed = match Buf::<u64>::new(2 * n) {
            Some(b) => b,
            None => return crate::ERR_OOM,
        };
        let p = core::slice::from_raw_parts_mut(packed.ptr, n);
        let spare = core::slice::from_raw_parts_mut(packed.ptr.add(n), n);
        for r in 0..rows {
            for j in 0..n {
                p[j] = ((*keys.add(r * n + j) as u64) << 32) | j as u64;
            }
            if n >= RADIX_MIN {
                radix_sort_by_key(p, spare);
            } else {
                p.sort_unstable();
            }
            for j in 0..n {
                *perm.add(r * n + j) = p[j] as u32;
            }
        }
        return 0;
    }
    let total = rows * n;
    for r in 0..rows {
        let row = core::slice::from_raw_parts_mut(perm.add(r * n), n);
        for (j, v) in row.iter_mut().enumerate() {
            *v = j as u32;
        }
        let base = keys.add(r * n);
        row.sort_unstable_by(|&a, &b| {
            for k in 0..num_keys {
                let ka = *base.add(k * total + a as usize);
                let kb = *base.add(k * total + b as usize);
                if ka != kb {
                    return ka.cmp(&kb);
                }
            }
            a.cmp(&b)
        });
    }
    0
}

/// dst[r, j] = src[r, perm[r, j]] for elements of E.
pub unsafe fn gather_rows<E: Copy>(src: *const E, perm: *const u32, dst: *mut E, rows: usize, n: usize) {
    for r in 0..rows {
        for j in 0..n {
            *dst.add(r * n + j) = *src.add(r * n + *perm.add(r * n + j) as usize);
        }
    }
}

/// The k largest of each row (NaN largest, ties by lower index) and their indices, in order.
pub unsafe fn top_k<T: Elem>(x: *const T, rows: usize, n: usize, k: usize, vals: *mut T, idx: *mut i32) -> i32 {
    if k == 0 || rows == 0 {
        return 0;
    }
    let packed = match Buf::<u64>::new(n) {
        Some(b) => b,
        None => return crate::ERR_OOM,
    };
    let p = core::slice::from_raw_parts_mut(packed.ptr, n);
    for r in 0..rows {
        let row = x.add(r * n);
        for j in 0..n {
            p[j] = ((!(*row.add(j)).sort_key() as u64) << 32) | j as u64;
        }
        if k < n {
            p.select_nth_unstable(k);
        }
        p[..k].sort_unstable();
        for j in 0..k {
            let at = (p[j] & 0xffff_ffff) as usize;
            *vals.add(r * k + j) = *row.add(at);
            *idx.add(r * k + j) = at as i32;
        }
    }
    0
}
