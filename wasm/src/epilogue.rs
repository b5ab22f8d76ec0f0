//! Elementwise epilogues applied to a convolution's output while it is still
//! in cache: `relu(conv(x, w) + b)` in one pass instead of three. The planner
//! (src/backends/plan/planner.ts, conv_lowering.ts) folds the ops that follow
//! a conv into its step; this file reads them from an int32 block and applies
//! them per output channel. The ops and their semantics are those of the
//! generated GEMM's epilogue (src/backends/wasm/codegen/gemm.ts): the same
//! f32x4 instructions, so max/min propagate NaN and relu maps NaN to NaN.
//!
//! Block layout (int32 words): [0] op count (at most MAX_OPS), then three words
//! per op: kind (see the KIND_ constants), operand (0 none, 1 constant,
//! 2 per-channel vector), and the constant's f32 bits or the vector's byte
//! pointer. A null block is the empty epilogue.

use core::arch::wasm32::*;

pub const MAX_OPS: usize = 8;
pub const ERR_EPILOGUE: i32 = -9;

const KIND_ADD: u8 = 0;
const KIND_SUB: u8 = 1;
const KIND_RSUB: u8 = 2;
const KIND_MUL: u8 = 3;
const KIND_DIV: u8 = 4;
const KIND_RDIV: u8 = 5;
const KIND_MAX: u8 = 6;
const KIND_MIN: u8 = 7;
const KIND_RELU: u8 = 8;

#[derive(Clone, Copy)]
enum Operand {
    None,
    Const(f32),
    Channel(*const f32),
}

#[derive(Clone, Copy)]
pub struct Epilogue {
    len: usize,
    kinds: [u8; MAX_OPS],
    operands: [Operand; MAX_OPS],
}

impl Epilogue {
    pub const EMPTY: Epilogue = Epilogue { len: 0, kinds: [0; MAX_OPS], operands: [Operand::None; MAX_OPS] };

    /// Reads and validates a block (relu takes no operand; every other op takes one).
    pub unsafe fn read(raw: *const i32) -> Result<Epilogue, i32> {
        if raw.is_null() {
            return Ok(Epilogue::EMPTY);
        }
        let len = *raw;
        if !(0..=MAX_OPS as i32).contains(&len) {
            return Err(ERR_EPILOGUE);
        }
        let mut e = Epilogue::EMPTY;
        e.len = len as usize;
        for i in 0..e.len {
            let (kind, operand, value) = (*raw.add(1 + 3 * i), *raw.add(2 + 3 * i), *raw.add(3 + 3 * i));
            if !(0..=KIND_RELU as i32).contains(&kind) {
                return Err(ERR_EPILOGUE);
            }
            e.kinds[i] = kind as u8;
            e.operands[i] = match operand {
                0 => Operand::None,
                1 => Operand::Const(f32::from_bits(value as u32)),
                2 if value != 0 && value % 4 == 0 => Operand::Channel(value as u32 as usize as *const f32),
                _ => return Err(ERR_EPILOGUE),
            };
            if (kind as u8 == KIND_RELU) != matches!(e.operands[i], Operand::None) {
                return Err(ERR_EPILOGUE);
            }
        }
        Ok(e)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ops on four values whose operands are `operand(op)`.
    #[inline(always)]
    unsafe fn apply_with(&self, mut x: v128, operand: impl Fn(Operand) -> v128) -> v128 {
        for i in 0..self.len {
            let v = operand(self.operands[i]);
            x = match self.kinds[i] {
                KIND_ADD => f32x4_add(x, v),
                KIND_SUB => f32x4_sub(x, v),
                KIND_RSUB => f32x4_sub(v, x),
                KIND_MUL => f32x4_mul(x, v),
                KIND_DIV => f32x4_div(x, v),
                KIND_RDIV => f32x4_div(v, x),
                KIND_MAX => f32x4_max(x, v),
                KIND_MIN => f32x4_min(x, v),
                // x & ~(x <= 0): +0 where x <= 0, x elsewhere (NaN included).
                _ => v128_andnot(x, f32x4_le(x, f32x4_splat(0.0))),
            };
        }
        x
    }

    /// Four values of channels c..c+4.
    #[inline(always)]
    pub unsafe fn channels4(&self, x: v128, c: usize) -> v128 {
        self.apply_with(x, |o| match o {
            Operand::Const(v) => f32x4_splat(v),
            Operand::Channel(p) => v128_load(p.add(c) as *const v128),
            Operand::None => f32x4_splat(0.0),
        })
    }

    /// Four values of one channel c.
    #[inline(always)]
    pub unsafe fn channel(&self, x: v128, c: usize) -> v128 {
        self.apply_with(x, |o| match o {
            Operand::Const(v) => f32x4_splat(v),
            Operand::Channel(p) => f32x4_splat(*p.add(c)),
            Operand::None => f32x4_splat(0.0),
        })
    }

    /// One value of channel c (computed in a vector, so it rounds and treats NaN exactly as the vector paths).
    #[inline(always)]
    pub unsafe fn one(&self, x: f32, c: usize) -> f32 {
        f32x4_extract_lane::<0>(self.channel(f32x4_splat(x), c))
    }

    /// In place on `row[0..len]`, where row[j] is channel c0 + j (an NHWC pixel's channels).
    pub unsafe fn apply_channels(&self, row: *mut f32, c0: usize, len: usize) {
        let mut j = 0;
        while j + 4 <= len {
            let p = row.add(j) as *mut v128;
            v128_store(p, self.channels4(v128_load(p), c0 + j));
            j += 4;
        }
        while j < len {
            *row.add(j) = self.one(*row.add(j), c0 + j);
            j += 1;
        }
    }

    /// In place on `run[0..len]`, all of channel c (a row of an NCHW plane).
    pub unsafe fn apply_run(&self, run: *mut f32, c: usize, len: usize) {
        let mut j = 0;
        while j + 4 <= len {
            let p = run.add(j) as *mut v128;
            v128_store(p, self.channel(v128_load(p), c));
            j += 4;
        }
        while j < len {
            *run.add(j) = self.one(*run.add(j), c);
            j += 1;
        }
    }
}
