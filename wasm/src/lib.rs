//! tinyflow_kernels: hand-written WebAssembly SIMD kernels for tinyflow's wasm
//! backend (sgemm, conv2d and its gradients, a peak-FLOPS probe, and a small
//! allocator), exported as plain C-ABI functions with no wasm-bindgen.
//! Instantiated by src/backends/wasm/kernels.ts (the file is found and read
//! by kernel_binary.ts); built by scripts/build-wasm.sh.
//!
//! Memory model
//! ------------
//! The module imports its memory (`env.memory`) so TypeScript creates it and
//! can share it with kernels generated at run time. The module is linked for
//! a *shared* memory (`--shared-memory`, max 4 GiB) and built with
//! `+atomics,+bulk-memory`. This works with Debian's rustc 1.63 and its
//! prebuilt wasm32 std package, no build-std needed: wasm-ld accepts the
//! prebuilt objects (checked: even a std-using crate links this way). The
//! crate is nevertheless `#![no_std]` with its own allocator because the
//! prebuilt std was compiled *without* `atomics`, so its code is not
//! thread-safe on a shared memory: its dlmalloc global allocator takes no
//! lock and its thread-locals are plain statics (those paths are chosen by
//! `cfg(target_feature = "atomics")` when std itself is compiled). Only
//! `core` is linked, and nothing here relies on std. Consequences:
//! * Data segments are passive and copied by the linker-generated start
//!   function `__wasm_init_memory`, guarded by an atomic flag, so only the
//!   first instance on a memory initialises it; later instances skip it.
//! * Every instance starts with the same `__stack_pointer` (top of the 1 MiB
//!   main stack). `__stack_pointer` is exported (mutable global), so a worker
//!   that instantiates the module on the same memory must `alloc` its own
//!   stack and set `__stack_pointer` to the end of it before calling any
//!   kernel. `alloc`/`free` keep everything in wasm locals and never touch
//!   the shadow stack (checked in the built module), so calling `alloc` for
//!   that stack first is safe.
//! * The allocator (alloc.rs) is guarded by a spin lock on real wasm atomics.
//! * The kernels keep no global mutable state; `sgemm_rows` takes a caller
//!   scratch buffer so threads can split C by rows.
//! * Where shared memory is unavailable (a browser page that is not
//!   cross-origin isolated), the loader clears the "shared" flag of the memory
//!   import in the binary and passes an ordinary memory: atomic read-modify-
//!   write instructions are valid on unshared memory, and the
//!   `memory.atomic.wait32` in the start function is only reached when two
//!   threads initialise at once, which cannot happen single-threaded.
//!
//! Error convention: functions that can fail return an i32, 0 on success and
//! a negative code otherwise (see the constants below and in conv.rs).

#![no_std]

mod alloc;
mod conv;
#[macro_use]
mod elem;
mod epilogue;
mod gemm;
mod linalg;
mod ordering;
mod peak;
mod scratch;
mod window;

/// Bumped whenever an exported signature or a parameter layout changes.
pub const ABI_VERSION: i32 = 1;

pub const ERR_ARGS: i32 = -2;
pub const ERR_LD: i32 = -8;
pub const ERR_OOM: i32 = -6;

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[no_mangle]
pub extern "C" fn abi_version() -> i32 {
    ABI_VERSION
}

// ------------------------------------------------------------ memory ----

/// Allocates `bytes` bytes (16-byte aligned, 64 for >= 1 KiB); 0 when the
/// memory cannot grow. Thread safe.
#[no_mangle]
pub extern "C" fn alloc(bytes: usize) -> usize {
    alloc::alloc(bytes)
}

/// Frees a block from `alloc`; `bytes` must be the size passed to `alloc`.
#[no_mangle]
pub extern "C" fn free(ptr: usize, bytes: usize) {
    alloc::free(ptr, bytes)
}

/// Bytes currently allocated (block sizes: requests rounded up to their size class, alloc.rs `block_size`).
#[no_mangle]
pub extern "C" fn heap_live_bytes() -> usize {
    alloc::live_bytes()
}

/// Checks the allocator's invariants (a test hook, O(free blocks)): the
/// bytes of freed blocks / 16 when they hold, a negative code otherwise
/// (alloc.rs `check`).
#[no_mangle]
pub extern "C" fn heap_check() -> i32 {
    alloc::check()
}

/// Coalesces the freed blocks waiting in the allocator's quick lists (a test
/// hook; allocation does it when it finds no block otherwise).
#[no_mangle]
pub extern "C" fn heap_flush() {
    alloc::flush()
}

// -------------------------------------------------------------- gemm ----

#[allow(clippy::too_many_arguments)]
fn gemm_args(
    trans_a: i32,
    trans_b: i32,
    m: i32,
    n: i32,
    k: i32,
    alpha: f32,
    a: *const f32,
    lda: i32,
    b: *const f32,
    ldb: i32,
    beta: f32,
    c: *mut f32,
    ldc: i32,
) -> Result<(gemm::Gemm, usize), i32> {
    if m < 0 || n < 0 || k < 0 || (trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1) {
        return Err(ERR_ARGS);
    }
    let (ta, tb) = (trans_a == 1, trans_b == 1);
    let a_cols = if ta { m } else { k };
    let b_cols = if tb { k } else { n };
    if lda < a_cols.max(1) || ldb < b_cols.max(1) || ldc < n.max(1) {
        return Err(ERR_LD);
    }
    let g = gemm::Gemm {
        trans_a: ta,
        trans_b: tb,
        n: n as usize,
        k: k as usize,
        alpha,
        a,
        lda: lda as usize,
        b,
        ldb: ldb as usize,
        beta,
        c,
        ldc: ldc as usize,
    };
    Ok((g, m as usize))
}

/// Row-major C = alpha * op(A) * op(B) + beta * C with op(X) = X or X^T
/// (trans_* = 0 or 1). op(A) is M x K, op(B) is K x N, C is M x N. When
/// beta == 0, C is not read. Allocates its packing scratch per call.
/// Returns 0, ERR_ARGS (-2), ERR_LD (-8) or ERR_OOM (-6).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sgemm(
    trans_a: i32,
    trans_b: i32,
    m: i32,
    n: i32,
    k: i32,
    alpha: f32,
    a: *const f32,
    lda: i32,
    b: *const f32,
    ldb: i32,
    beta: f32,
    c: *mut f32,
    ldc: i32,
) -> i32 {
    sgemm_rows(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, m, core::ptr::null_mut())
}

/// Same as `sgemm` but only computes rows m0..m1 of C (0 <= m0 <= m1 <= M),
/// using `scratch` (at least `sgemm_scratch_bytes(m1 - m0, N, K)` bytes, not
/// used concurrently by anyone else) for the packed panels; scratch = 0 means
/// allocate internally. Threads on one shared memory may call this at once on
/// disjoint row ranges of the same C.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sgemm_rows(
    trans_a: i32,
    trans_b: i32,
    m: i32,
    n: i32,
    k: i32,
    alpha: f32,
    a: *const f32,
    lda: i32,
    b: *const f32,
    ldb: i32,
    beta: f32,
    c: *mut f32,
    ldc: i32,
    m0: i32,
    m1: i32,
    scratch: *mut f32,
) -> i32 {
    let (g, m) = match gemm_args(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if m0 < 0 || m1 < m0 || m1 as usize > m {
        return ERR_ARGS;
    }
    let (m0, m1) = (m0 as usize, m1 as usize);
    let need = gemm::scratch_floats(m1 - m0, g.n, g.k);
    if !scratch.is_null() || need == 0 {
        gemm::gemm_rows(&g, m, m0, m1, scratch);
        return 0;
    }
    match alloc::Scratch::new(need) {
        Some(s) => {
            gemm::gemm_rows(&g, m, m0, m1, s.ptr);
            0
        }
        None => ERR_OOM,
    }
}

/// Scratch bytes `sgemm_rows` needs for `rows` rows of an M x N x K product
/// (at most about 2.2 MiB).
#[no_mangle]
pub extern "C" fn sgemm_scratch_bytes(rows: i32, n: i32, k: i32) -> i32 {
    if rows < 0 || n < 0 || k < 0 {
        return ERR_ARGS;
    }
    (gemm::scratch_floats(rows as usize, n as usize, k as usize) * 4) as i32
}

/// Packs op(A)[i0..i0+mc, p0..p0+kc] (op = transpose when trans_a = 1) into
/// `dst` in the layout of sgemm's A panels (4-row micro-panels, zero padded,
/// subnormals flushed to zero). For GEMM kernels generated at run time, which
/// import it; the caller guarantees the ranges (no checks, like the kernel).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sgemm_pack_a(trans_a: i32, a: *const f32, lda: i32, i0: i32, p0: i32, mc: i32, kc: i32, dst: *mut f32) {
    gemm::pack_a_flushed(trans_a != 0, a, lda as usize, i0 as usize, p0 as usize, mc as usize, kc as usize, dst)
}

/// Packs op(B)[p0..p0+kc, j0..j0+nc] into `dst` in the layout of sgemm's B
/// panels (8-column micro-panels, zero padded, subnormals flushed).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sgemm_pack_b(trans_b: i32, b: *const f32, ldb: i32, p0: i32, j0: i32, kc: i32, nc: i32, dst: *mut f32) {
    gemm::pack_b_flushed(trans_b != 0, b, ldb as usize, p0 as usize, j0 as usize, kc as usize, nc as usize, dst)
}

// -------------------------------------------------------------- conv ----

/// y = conv2d(x, w); `params` points at 21 int32 (layout in conv.rs /
/// src/backends/wasm/conv_params.ts). NHWC: x [N,H,W,Cin], w [KH,KW,Cin/G,Cout], y [N,OH,OW,Cout].
/// NCHW: x [N,Cin,H,W], w [Cout,Cin/G,KH,KW], y [N,Cout,OH,OW].
#[no_mangle]
pub unsafe extern "C" fn conv2d(params: *const i32, x: *const f32, w: *const f32, y: *mut f32) -> i32 {
    conv::run(params, conv::Mode::Forward, x, w, y)
}

/// dx = gradient of sum(conv2d(x, w) * dy) with respect to x (dx is overwritten).
#[no_mangle]
pub unsafe extern "C" fn conv2d_backward_data(params: *const i32, dy: *const f32, w: *const f32, dx: *mut f32) -> i32 {
    conv::run(params, conv::Mode::BackwardData, dy, w, dx)
}

/// dw = gradient of sum(conv2d(x, w) * dy) with respect to w (dw is overwritten).
#[no_mangle]
pub unsafe extern "C" fn conv2d_backward_filter(params: *const i32, x: *const f32, dy: *const f32, dw: *mut f32) -> i32 {
    conv::run(params, conv::Mode::BackwardFilter, x, dy, dw)
}

/// Units u0..u1 of a convolution, so a thread pool can split it (conv.rs
/// `run_range`): mode 0 forward (units are output lines N·OH; `epilogue`
/// points at an epilogue block, see epilogue.rs, or is null), 1 data gradient
/// (units are images; a = dy, b = w, out = dx), 2 filter gradient (units are
/// images; a = x, b = dy, out = their partial dw).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv2d_range(params: *const i32, mode: i32, a: *const f32, b: *const f32, out: *mut f32, u0: i32,
                                      u1: i32, epilogue: *const i32) -> i32 {
    let mode = match mode {
        0 => conv::Mode::Forward,
        1 => conv::Mode::BackwardData,
        2 => conv::Mode::BackwardFilter,
        _ => return ERR_ARGS,
    };
    conv::run_range(params, mode, a, b, out, u0, u1, epilogue)
}

/// dst = parts[0] + parts[1] + ... (count blocks of len floats, added in order).
#[no_mangle]
pub unsafe extern "C" fn conv2d_sum_parts(parts: *const f32, count: i32, len: i32, dst: *mut f32) -> i32 {
    if count < 1 || len < 0 {
        return ERR_ARGS;
    }
    conv::sum_parts(parts, count as usize, len as usize, dst);
    0
}

/// Length of the conv2d parameter block in int32.
#[no_mangle]
pub extern "C" fn conv2d_params_len() -> i32 {
    conv::PARAMS_LEN as i32
}

// -------------------------------------------------------------- peak ----

/// Runs `iters` iterations of 13 independent f32x4 mul+add chains
/// (`peak_flops_per_iter()` flops each) and returns a value derived from them.
#[no_mangle]
pub extern "C" fn peak_flops_kernel(iters: i32) -> f32 {
    peak::run(iters, 0.5)
}

/// Flops performed by one iteration of `peak_flops_kernel`.
#[no_mangle]
pub extern "C" fn peak_flops_per_iter() -> i32 {
    peak::FLOPS_PER_ITER
}

// ---------------------------------------------- axis and window kernels ----
// dtype codes and fold codes: elem.rs. Counts are element counts; every
// pointer is aligned for its element type. Return 0, ERR_ARGS or ERR_OOM.

fn dims(xs: &[i32]) -> Option<[usize; 4]> {
    let mut out = [0usize; 4];
    for (i, &x) in xs.iter().enumerate() {
        if x < 0 {
            return None;
        }
        out[i] = x as usize;
    }
    Some(out)
}

/// out[o, i] (int32) = the index along the axis of the first max (is_min = 0)
/// or min (1) of x viewed as [outer, n, inner]; a NaN wins at its first index.
#[no_mangle]
pub unsafe extern "C" fn argreduce(dtype: i32, is_min: i32, x: *const u8, out: *mut i32, outer: i32, n: i32, inner: i32) -> i32 {
    let [outer, n, inner, _] = match dims(&[outer, n, inner]) {
        Some(d) => d,
        None => return ERR_ARGS,
    };
    if dtype == elem::DT_F32 && inner == 1 {
        return ordering::argreduce_f32_rows(is_min != 0, x as *const f32, out, outer, n);
    }
    with_elem!(dtype, T, bools = true, { ordering::argreduce::<T>(is_min != 0, x as *const T, out, outer, n, inner) })
}

/// out = the running fold (0 add, 1 mul, 2 max, 3 min) of x along the axis of
/// [outer, n, inner], from the end when `reverse` = 1.
#[no_mangle]
pub unsafe extern "C" fn cumulative(dtype: i32, fold: i32, reverse: i32, x: *const u8, out: *mut u8, outer: i32, n: i32, inner: i32) -> i32 {
    let [outer, n, inner, _] = match dims(&[outer, n, inner]) {
        Some(d) => d,
        None => return ERR_ARGS,
    };
    let m = match elem::Monoid::from_code(fold) {
        Some(m) => m,
        None => return ERR_ARGS,
    };
    with_elem!(dtype, T, bools = false, { ordering::cumulative::<T>(m, reverse != 0, x as *const T, out as *mut T, outer, n, inner) })
}

/// keys[0..n] = the sort keys (u32, ordered as the sort orders) of n elements of x.
#[no_mangle]
pub unsafe extern "C" fn sort_keys(dtype: i32, x: *const u8, keys: *mut u32, n: i32) -> i32 {
    if n < 0 {
        return ERR_ARGS;
    }
    with_elem!(dtype, T, bools = true, {
        ordering::keys_of::<T>(x as *const T, keys, n as usize);
        0
    })
}

/// perm[r, ·] = the stable ascending sort permutation of row r, lexicographic
/// over `num_keys` key arrays of rows*n u32 stored one after another at `keys`.
#[no_mangle]
pub unsafe extern "C" fn sort_permutation(keys: *const u32, num_keys: i32, rows: i32, n: i32, perm: *mut u32) -> i32 {
    let [num_keys, rows, n, _] = match dims(&[num_keys, rows, n]) {
        Some(d) if d[0] >= 1 => d,
        _ => return ERR_ARGS,
    };
    ordering::sort_perm(keys, num_keys, rows, n, perm)
}

/// dst[r, j] = src[r, perm[r, j]] for elements of `elem_bytes` (1 or 4) bytes.
#[no_mangle]
pub unsafe extern "C" fn permute_rows(elem_bytes: i32, src: *const u8, perm: *const u32, dst: *mut u8, rows: i32, n: i32) -> i32 {
    let [rows, n, _, _] = match dims(&[rows, n]) {
        Some(d) => d,
        None => return ERR_ARGS,
    };
    match elem_bytes {
        1 => ordering::gather_rows::<u8>(src, perm, dst, rows, n),
        4 => ordering::gather_rows::<u32>(src as *const u32, perm, dst as *mut u32, rows, n),
        _ => return ERR_ARGS,
    }
    0
}

/// vals/idx [rows, k] = the k largest elements of each row of x [rows, n] (NaN
/// largest, ties to the lower index), in descending order, and their int32 indices.
#[no_mangle]
pub unsafe extern "C" fn top_k(dtype: i32, x: *const u8, rows: i32, n: i32, k: i32, vals: *mut u8, idx: *mut i32) -> i32 {
    let [rows, n, k, _] = match dims(&[rows, n, k]) {
        Some(d) if d[2] <= d[1] => d,
        _ => return ERR_ARGS,
    };
    with_elem!(dtype, T, bools = true, { ordering::top_k::<T>(x as *const T, rows, n, k, vals as *mut T, idx) })
}

/// out = reduce_window of x (fold 0 sum, 2 max, 3 min); `params`: window.rs.
#[no_mangle]
pub unsafe extern "C" fn reduce_window(dtype: i32, fold: i32, params: *const i32, x: *const u8, out: *mut u8) -> i32 {
    let m = match elem::Monoid::from_code(fold) {
        Some(m) if m != elem::Monoid::Mul => m,
        _ => return ERR_ARGS,
    };
    if dtype == elem::DT_F32 {
        return match m {
            elem::Monoid::Add => window::reduce_window_f32_sum(params, x as *const f32, out as *mut f32),
            _ => window::reduce_window_f32_max_min(m == elem::Monoid::Max, params, x as *const f32, out as *mut f32),
        };
    }
    with_elem!(dtype, T, bools = true, { window::reduce_window::<T>(m, params, x as *const T, out as *mut T) })
}

/// out [operand's shape] = each source element added at the element of its
/// window of operand chosen by ge (select = 1) or le (0).
#[no_mangle]
pub unsafe extern "C" fn select_and_scatter_add(dtype: i32, ge: i32, params: *const i32, source: *const u8, operand: *const u8, out: *mut u8, operand_len: i32) -> i32 {
    if operand_len < 0 {
        return ERR_ARGS;
    }
    if dtype == elem::DT_F32 {
        return window::select_and_scatter_add_f32(ge != 0, params, source as *const f32, operand as *const f32, out as *mut f32, operand_len as usize);
    }
    with_elem!(dtype, T, bools = false, {
        window::select_and_scatter_add::<T>(ge != 0, params, source as *const T, operand as *const T, out as *mut T, operand_len as usize)
    })
}

/// out [windows] = tangents at the element of each window of operand chosen by ge (1) or le (0).
#[no_mangle]
pub unsafe extern "C" fn select_and_gather_add(dtype: i32, ge: i32, params: *const i32, tangents: *const u8, operand: *const u8, out: *mut u8) -> i32 {
    with_elem!(dtype, T, bools = false, {
        window::select_and_gather_add::<T>(ge != 0, params, tangents as *const T, operand as *const T, out as *mut T)
    })
}
