//! Peak-throughput probe: 13 independent f32x4 chains of acc = acc*m + c.
//! Each iteration issues 13 f32x4.mul + 13 f32x4.add = 104 flops with no
//! dependency between the chains. 13 accumulators + the 2 constants use 15
//! v128 registers, all V8 can allocate on x64 (xmm15 is its scratch), so
//! nothing spills. Each chain is mul->add latency bound, so on cores whose
//! latency x ports exceeds 13 chains (measured on Sapphire Rapids: 8 chains
//! 19, 10: 21, 12: 23, 13: 24 GFLOPS) this is a lower bound of the true peak;
//! a well-fed GEMM microkernel (independent muls, add-only chains) can beat it.
//! The constants keep every value a normal float (acc converges to
//! c / (1 - m)), so no denormal slow paths are hit.

use core::arch::wasm32::*;

pub const CHAINS: usize = 13;
pub const FLOPS_PER_ITER: i32 = (CHAINS * 2 * 4) as i32;

pub fn run(iters: i32, seed: f32) -> f32 {
    let m = f32x4_splat(0.999_999);
    let c = f32x4_splat(1.0e-3);
    let mut acc = [f32x4_splat(0.0); CHAINS];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = f32x4_splat(seed + i as f32);
    }
    let mut t = 0;
    while t < iters {
        for a in acc.iter_mut() {
            *a = f32x4_add(f32x4_mul(*a, m), c);
        }
        t += 1;
    }
    let mut s = acc[0];
    for a in acc.iter().skip(1) {
        s = f32x4_add(s, *a);
    }
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s) + f32x4_extract_lane::<2>(s) + f32x4_extract_lane::<3>(s)
}
