//! Peak-throughput probe: twelve independent f32x4 chains of acc = acc*m + c.
//! Each iteration issues 12 f32x4.mul + 12 f32x4.add = 96 flops with no
//! dependency between the chains, so the loop is bound by the SIMD ports,
//! not by latency (12 chains cover mul+add latency on current x86 cores).
//! The constants keep every value a normal float (acc converges to
//! c / (1 - m)), so no denormal slow paths are hit.

use core::arch::wasm32::*;

pub const FLOPS_PER_ITER: i32 = 96;

pub fn run(iters: i32, seed: f32) -> f32 {
    let m = f32x4_splat(0.999_999);
    let c = f32x4_splat(1.0e-3);
    let s = f32x4_splat(seed);
    let mut a0 = f32x4_add(s, f32x4_splat(0.0));
    let mut a1 = f32x4_add(s, f32x4_splat(1.0));
    let mut a2 = f32x4_add(s, f32x4_splat(2.0));
    let mut a3 = f32x4_add(s, f32x4_splat(3.0));
    let mut a4 = f32x4_add(s, f32x4_splat(4.0));
    let mut a5 = f32x4_add(s, f32x4_splat(5.0));
    let mut a6 = f32x4_add(s, f32x4_splat(6.0));
    let mut a7 = f32x4_add(s, f32x4_splat(7.0));
    let mut a8 = f32x4_add(s, f32x4_splat(8.0));
    let mut a9 = f32x4_add(s, f32x4_splat(9.0));
    let mut a10 = f32x4_add(s, f32x4_splat(10.0));
    let mut a11 = f32x4_add(s, f32x4_splat(11.0));
    let mut i = 0;
    while i < iters {
        a0 = f32x4_add(f32x4_mul(a0, m), c);
        a1 = f32x4_add(f32x4_mul(a1, m), c);
        a2 = f32x4_add(f32x4_mul(a2, m), c);
        a3 = f32x4_add(f32x4_mul(a3, m), c);
        a4 = f32x4_add(f32x4_mul(a4, m), c);
        a5 = f32x4_add(f32x4_mul(a5, m), c);
        a6 = f32x4_add(f32x4_mul(a6, m), c);
        a7 = f32x4_add(f32x4_mul(a7, m), c);
        a8 = f32x4_add(f32x4_mul(a8, m), c);
        a9 = f32x4_add(f32x4_mul(a9, m), c);
        a10 = f32x4_add(f32x4_mul(a10, m), c);
        a11 = f32x4_add(f32x4_mul(a11, m), c);
        i += 1;
    }
    let s0 = f32x4_add(f32x4_add(f32x4_add(a0, a1), f32x4_add(a2, a3)), f32x4_add(a4, a5));
    let s1 = f32x4_add(f32x4_add(f32x4_add(a6, a7), f32x4_add(a8, a9)), f32x4_add(a10, a11));
    let t = f32x4_add(s0, s1);
    f32x4_extract_lane::<0>(t) + f32x4_extract_lane::<1>(t) + f32x4_extract_lane::<2>(t) + f32x4_extract_lane::<3>(t)
}
