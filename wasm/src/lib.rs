//! tinyflow_kernels: hand-written WebAssembly SIMD kernels for tinyflow's wasm
//! backend (sgemm, conv2d and its gradients, a peak-FLOPS probe, and a small
//! allocator), exported as plain C-ABI functions with no wasm-bindgen.
//! Loaded by src/backends/wasm/kernels.ts; built by scripts/build-wasm.sh.
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
mod gemm;
mod peak;

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

/// Bytes currently allocated (rounded to size classes).
#[no_mangle]
pub extern "C" fn heap_live_bytes() -> usize {
    alloc::live_bytes()
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
/// kernels.ts). NHWC: x [N,H,W,Cin], w [KH,KW,Cin/G,Cout], y [N,OH,OW,Cout].
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
