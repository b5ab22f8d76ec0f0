//! Element types of the non-fused kernels (argmax, cumulative scans, sort,
//! reduce_window and max-pool's gradient) and the arithmetic they share,
//! matching the interpreter backend (src/backends/interpreter) bit for bit:
//! floats are folded in f64 and rounded once when stored (float16 arrays are
//! held as float32 and rounded to half precision on every store), integers
//! wrap mod 2^32, max/min propagate NaN as JavaScript's Math.max/min do.

/// dtype codes shared with src/backends/wasm/library_steps.ts.
pub const DT_F32: i32 = 0;
pub const DT_I32: i32 = 1;
pub const DT_U32: i32 = 2;
pub const DT_BOOL: i32 = 3;
pub const DT_F16: i32 = 4;

/// Binary fold of a scan or window: codes shared with library_steps.ts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Monoid {
    Add,
    Mul,
    Max,
    Min,
}

impl Monoid {
    pub fn from_code(c: i32) -> Option<Monoid> {
        match c {
            0 => Some(Monoid::Add),
            1 => Some(Monoid::Mul),
            2 => Some(Monoid::Max),
            3 => Some(Monoid::Min),
            _ => None,
        }
    }
}

/// A stored element. `Acc` is what values are folded in; `store` rounds back.
pub trait Elem: Copy {
    type Acc: Copy + PartialOrd;
    /// Identity of max (the lowest value) and of min (the highest).
    const LOWEST: Self::Acc;
    const HIGHEST: Self::Acc;
    const ZERO: Self::Acc;
    fn load(self) -> Self::Acc;
    fn store(a: Self::Acc) -> Self;
    fn fold(m: Monoid, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    fn is_nan(a: Self::Acc) -> bool;
    fn gt(a: Self::Acc, b: Self::Acc) -> bool;
    fn lt(a: Self::Acc, b: Self::Acc) -> bool;
    /// A key whose unsigned order is the sort order: ascending, -0 == +0,
    /// every NaN equal and after +inf.
    fn sort_key(self) -> u32;
}

/// Math.max / Math.min on f64: NaN wins; +0 is above -0.
#[inline(always)]
fn js_max(a: f64, b: f64) -> f64 {
    if a != a || b != b {
        f64::NAN
    } else if a > b {
        a
    } else if b > a {
        b
    } else {
        f64::from_bits(a.to_bits() & b.to_bits())
    }
}

#[inline(always)]
fn js_min(a: f64, b: f64) -> f64 {
    if a != a || b != b {
        f64::NAN
    } else if a < b {
        a
    } else if b < a {
        b
    } else {
        f64::from_bits(a.to_bits() | b.to_bits())
    }
}

#[inline(always)]
fn float_fold(m: Monoid, a: f64, b: f64) -> f64 {
    match m {
        Monoid::Add => a + b,
        Monoid::Mul => a * b,
        Monoid::Max => js_max(a, b),
        Monoid::Min => js_min(a, b),
    }
}

#[inline(always)]
fn float_key(x: f32) -> u32 {
    if x != x {
        return u32::MAX;
    }
    let x = if x == 0.0 { 0.0f32 } else { x };
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

impl Elem for f32 {
    type Acc = f64;
    const LOWEST: f64 = f64::NEG_INFINITY;
    const HIGHEST: f64 = f64::INFINITY;
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn load(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn store(a: f64) -> f32 {
        a as f32
    }
    #[inline(always)]
    fn fold(m: Monoid, a: f64, b: f64) -> f64 {
        float_fold(m, a, b)
    }
    #[inline(always)]
    fn is_nan(a: f64) -> bool {
        a != a
    }
    #[inline(always)]
    fn gt(a: f64, b: f64) -> bool {
        a > b
    }
    #[inline(always)]
    fn lt(a: f64, b: f64) -> bool {
        a < b
    }
    #[inline(always)]
    fn sort_key(self) -> u32 {
        float_key(self)
    }
}

/// A float16 value held widened in a float32 slot.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct F16(pub f32);

/// Round a float32 to the nearest float16 (ties to even), returned widened.
#[inline(always)]
pub fn round_f16(x: f32) -> f32 {
    let bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    let ax = f32::from_bits(bits & 0x7fff_ffff);
    if ax != ax || ax == f32::INFINITY {
        return x;
    }
    if ax >= 65520.0 {
        return f32::from_bits(sign | 0x7f80_0000);
    }
    // Spacing of float16 values near ax: 2^(e-10), with e at least -14 (subnormals).
    let e = ((ax.to_bits() >> 23) as i32 - 127).max(-14);
    let quantum = f64::from_bits(((e - 10 + 1023) as u64) << 52);
    // ax / quantum is exact (a power-of-two scale, below 2^11); round it to an integer, ties to even.
    let q = ax as f64 / quantum;
    let mut r = (q + 0.5) as u32 as f64;
    if r - q == 0.5 && (r as u32) & 1 == 1 {
        r -= 1.0;
    }
    let rounded = (r * quantum) as f32;
    f32::from_bits(sign | rounded.to_bits())
}

impl Elem for F16 {
    type Acc = f64;
    const LOWEST: f64 = f64::NEG_INFINITY;
    const HIGHEST: f64 = f64::INFINITY;
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn load(self) -> f64 {
        self.0 as f64
    }
    #[inline(always)]
    fn store(a: f64) -> F16 {
        F16(round_f16(a as f32))
    }
    #[inline(always)]
    fn fold(m: Monoid, a: f64, b: f64) -> f64 {
        float_fold(m, a, b)
    }
    #[inline(always)]
    fn is_nan(a: f64) -> bool {
        a != a
    }
    #[inline(always)]
    fn gt(a: f64, b: f64) -> bool {
        a > b
    }
    #[inline(always)]
    fn lt(a: f64, b: f64) -> bool {
        a < b
    }
    #[inline(always)]
    fn sort_key(self) -> u32 {
        float_key(self.0)
    }
}

macro_rules! int_elem {
    ($t:ty, $lo:expr, $hi:expr, $key:expr) => {
        impl Elem for $t {
            type Acc = $t;
            const LOWEST: $t = $lo;
            const HIGHEST: $t = $hi;
            const ZERO: $t = 0;
            #[inline(always)]
            fn load(self) -> $t {
                self
            }
            #[inline(always)]
            fn store(a: $t) -> $t {
                a
            }
            #[inline(always)]
            fn fold(m: Monoid, a: $t, b: $t) -> $t {
                match m {
                    Monoid::Add => a.wrapping_add(b),
                    Monoid::Mul => a.wrapping_mul(b),
                    Monoid::Max => a.max(b),
                    Monoid::Min => a.min(b),
                }
            }
            #[inline(always)]
            fn is_nan(_: $t) -> bool {
                false
            }
            #[inline(always)]
            fn gt(a: $t, b: $t) -> bool {
                a > b
            }
            #[inline(always)]
            fn lt(a: $t, b: $t) -> bool {
                a < b
            }
            #[inline(always)]
            fn sort_key(self) -> u32 {
                let f: fn($t) -> u32 = $key;
                f(self)
            }
        }
    };
}

int_elem!(i32, i32::MIN, i32::MAX, |x| (x as u32) ^ 0x8000_0000);
int_elem!(u32, 0, u32::MAX, |x| x);
// bool is one byte, 0 or 1; only order and max/min are defined on it here.
int_elem!(u8, 0, 1, |x| x as u32);

/// Calls `$body` with `$T` bound to the element type of dtype code `$dt`
/// (`$bools` says whether bool is accepted); evaluates to ERR_ARGS otherwise.
#[macro_export]
macro_rules! with_elem {
    ($dt:expr, $T:ident, bools = $bools:expr, $body:block) => {
        match $dt {
            $crate::elem::DT_F32 => {
                type $T = f32;
                $body
            }
            $crate::elem::DT_F16 => {
                type $T = $crate::elem::F16;
                $body
            }
            $crate::elem::DT_I32 => {
                type $T = i32;
                $body
            }
            $crate::elem::DT_U32 => {
                type $T = u32;
                $body
            }
            $crate::elem::DT_BOOL if $bools => {
                type $T = u8;
                $body
            }
            _ => $crate::ERR_ARGS,
        }
    };
}
