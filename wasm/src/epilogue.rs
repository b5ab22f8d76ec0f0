//! Elementwise epilogues applied to a convolution's output as it is computed:
//! `relu(conv(x, w) + b)` in the conv's own stores instead of three passes.
//! The planner (src/backends/plan/planner.ts, conv_lowering.ts) folds the ops
//! that follow a conv into its step; this file reads them from an int32 block
//! and applies them per output channel: inside the GEMM's store of each tile
//! (`StoreEpilogue`, the im2col + GEMM convs), or in a pass over output that
//! is still in cache (`apply_rows`/`apply_run`, the depthwise convs). The ops and their semantics are those of the
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

/// Runs `$body` with `$f` bound to op `$kind` as a function of (x, v) on four
/// lanes, one monomorphic closure per op so the loops in `$body` inline it.
macro_rules! with_op {
    ($kind:expr, $f:ident => $body:expr) => {
        match $kind {
            KIND_ADD => { let $f = |x: v128, v: v128| f32x4_add(x, v); $body }
            KIND_SUB => { let $f = |x: v128, v: v128| f32x4_sub(x, v); $body }
            KIND_RSUB => { let $f = |x: v128, v: v128| f32x4_sub(v, x); $body }
            KIND_MUL => { let $f = |x: v128, v: v128| f32x4_mul(x, v); $body }
            KIND_DIV => { let $f = |x: v128, v: v128| f32x4_div(x, v); $body }
            KIND_RDIV => { let $f = |x: v128, v: v128| f32x4_div(v, x); $body }
            KIND_MAX => { let $f = |x: v128, v: v128| f32x4_max(x, v); $body }
            KIND_MIN => { let $f = |x: v128, v: v128| f32x4_min(x, v); $body }
            // x & ~(x <= 0): +0 where x <= 0, x elsewhere (NaN included).
            _ => { let $f = |x: v128, _v: v128| v128_andnot(x, f32x4_le(x, f32x4_splat(0.0))); $body }
        }
    };
}

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

    /// In place on `rows` NHWC pixels of `cout` channels each (channel 0 first, row stride cout).
    /// One op at a time over the whole block: the block is small enough to stay in cache, and
    /// each inner loop then runs a single instruction sequence.
    pub unsafe fn apply_rows(&self, y: *mut f32, rows: usize, cout: usize) {
        for i in 0..self.len {
            let operand = self.operands[i];
            with_op!(self.kinds[i], f => match operand {
                Operand::Channel(p) => channel_rows(y, rows, cout, p, f),
                Operand::Const(c) => flat(y, rows * cout, f32x4_splat(c), f),
                Operand::None => flat(y, rows * cout, f32x4_splat(0.0), f),
            });
        }
    }

    /// In place on `run[0..len]`, all of channel c (a row of an NCHW plane).
    pub unsafe fn apply_run(&self, run: *mut f32, c: usize, len: usize) {
        for i in 0..self.len {
            let v = match self.operands[i] {
                Operand::Channel(p) => f32x4_splat(*p.add(c)),
                Operand::Const(k) => f32x4_splat(k),
                Operand::None => f32x4_splat(0.0),
            };
            with_op!(self.kinds[i], f => flat(run, len, v, f));
        }
    }
}

/// Which index of a GEMM's C picks the per-channel operands of a store epilogue.
#[derive(Clone, Copy)]
pub enum ChannelAxis {
    /// C's columns are channels (an NHWC conv: pixels x channels).
    Col,
    /// C's rows are channels (an NCHW conv: channels x pixels).
    Row,
}

/// An epilogue applied by the GEMM as it stores C (gemm.rs `gemm_rows_epilogue`),
/// while the results are still in registers: C's row or column `i` is channel
/// `channel0 + i`. Each element goes through the same ops, in the same order
/// and with the same f32x4 instructions, as `Epilogue::apply_rows`/`apply_run`
/// would apply to it afterwards, so the results are the same bits.
#[derive(Clone, Copy)]
pub struct StoreEpilogue<'a> {
    pub epi: &'a Epilogue,
    pub axis: ChannelAxis,
    pub channel0: usize,
}

impl<'a> StoreEpilogue<'a> {
    /// The ops on a register tile of C: t[r][h] holds C[row0 + r, col0 + 4h .. col0 + 4h + 4].
    /// Op by op over the whole tile, so each op's kind and operands are read
    /// once per tile, not once per vector (per vector, the dispatch cost more
    /// than a separate pass over the output: W5 with bias + relu 1.15 ms vs 0.82).
    #[inline(always)]
    pub unsafe fn apply_tile<const R: usize, const H: usize>(&self, t: &mut [[v128; H]; R], row0: usize, col0: usize) {
        let e = self.epi;
        for i in 0..e.len {
            let mut v = [[f32x4_splat(0.0); H]; R];
            match e.operands[i] {
                Operand::Channel(p) => match self.axis {
                    ChannelAxis::Col => {
                        let q = p.add(self.channel0 + col0);
                        let mut cols = [f32x4_splat(0.0); H];
                        for (h, c) in cols.iter_mut().enumerate() {
                            *c = v128_load(q.add(4 * h) as *const v128);
                        }
                        for row in v.iter_mut() {
                            *row = cols;
                        }
                    }
                    ChannelAxis::Row => {
                        let q = p.add(self.channel0 + row0);
                        for (r, row) in v.iter_mut().enumerate() {
                            *row = [f32x4_splat(*q.add(r)); H];
                        }
                    }
                },
                Operand::Const(k) => v = [[f32x4_splat(k); H]; R],
                Operand::None => {}
            }
            with_op!(e.kinds[i], f => {
                for r in 0..R {
                    for h in 0..H {
                        t[r][h] = f(t[r][h], v[r][h]);
                    }
                }
            });
        }
    }

    /// The ops on four consecutive elements of C at (row, col..col+4).
    #[inline(always)]
    pub unsafe fn apply4(&self, mut x: v128, row: usize, col: usize) -> v128 {
        let e = self.epi;
        for i in 0..e.len {
            let v = match e.operands[i] {
                Operand::Channel(p) => match self.axis {
                    ChannelAxis::Col => v128_load(p.add(self.channel0 + col) as *const v128),
                    ChannelAxis::Row => f32x4_splat(*p.add(self.channel0 + row)),
                },
                Operand::Const(k) => f32x4_splat(k),
                Operand::None => f32x4_splat(0.0),
            };
            x = with_op!(e.kinds[i], f => f(x, v));
        }
        x
    }

    /// The ops on the element of C at (row, col).
    #[inline(always)]
    pub unsafe fn apply1(&self, x: f32, row: usize, col: usize) -> f32 {
        let e = self.epi;
        let mut y = f32x4_splat(x);
        for i in 0..e.len {
            let v = match e.operands[i] {
                Operand::Channel(p) => f32x4_splat(*p.add(self.channel0 + match self.axis {
                    ChannelAxis::Col => col,
                    ChannelAxis::Row => row,
                })),
                Operand::Const(k) => f32x4_splat(k),
                Operand::None => f32x4_splat(0.0),
            };
            y = with_op!(e.kinds[i], f => f(y, v));
        }
        f32x4_extract_lane::<0>(y)
    }

    /// The ops, in place, on rows r0..r1 (columns 0..n) of C at `c` with row stride `ldc`.
    pub unsafe fn apply_block(&self, c: *mut f32, ldc: usize, r0: usize, r1: usize, n: usize) {
        for r in r0..r1 {
            let row = c.add(r * ldc);
            let mut j = 0;
            while j + 4 <= n {
                let q = row.add(j) as *mut v128;
                v128_store(q, self.apply4(v128_load(q), r, j));
                j += 4;
            }
            while j < n {
                *row.add(j) = self.apply1(*row.add(j), r, j);
                j += 1;
            }
        }
    }
}

/// y[r, j] = f(y[r, j], p[j]) for `rows` rows of `cout`.
#[inline(always)]
unsafe fn channel_rows(y: *mut f32, rows: usize, cout: usize, p: *const f32, f: impl Fn(v128, v128) -> v128) {
    for r in 0..rows {
        let row = y.add(r * cout);
        let mut j = 0;
        while j + 4 <= cout {
            let q = row.add(j) as *mut v128;
            v128_store(q, f(v128_load(q), v128_load(p.add(j) as *const v128)));
            j += 4;
        }
        while j < cout {
            *row.add(j) = f32x4_extract_lane::<0>(f(f32x4_splat(*row.add(j)), f32x4_splat(*p.add(j))));
            j += 1;
        }
    }
}

/// y[0..len] = f(y, v) with one operand vector v for every lane.
#[inline(always)]
unsafe fn flat(y: *mut f32, len: usize, v: v128, f: impl Fn(v128, v128) -> v128) {
    let mut j = 0;
    while j + 4 <= len {
        let q = y.add(j) as *mut v128;
        v128_store(q, f(v128_load(q), v));
        j += 4;
    }
    while j < len {
        *y.add(j) = f32x4_extract_lane::<0>(f(f32x4_splat(*y.add(j)), v));
        j += 1;
    }
}
