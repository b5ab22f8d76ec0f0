// A tiny expression layer over FuncBuilder for writing SIMD code readably.
//
// An `Ex` is a deferred expression: a closure that, when emitted, pushes one
// value on the wasm stack. `Emitter.bind(e)` emits `e` right away into a fresh
// local and returns an `Ex` that just reads that local — so program order is
// the order of `bind` calls, and a value used more than once must be bound
// (an unbound `Ex` used twice is emitted, i.e. computed, twice).
//
// Naming: f* helpers are f32x4 lane ops, i* are i32x4, d* are f64x2; masks are
// all-ones / all-zeros lanes as SIMD comparisons produce them.

import type { FuncBuilder } from "./assembler";
import type { PlainOp, ValType } from "./wasm_encoding";

export type Ex = (f: FuncBuilder) => void;

export class Emitter {
  private readonly pool = new Map<string, number>();

  constructor(
    readonly f: FuncBuilder,
    /** Use `f32x4.relaxed_madd` for a*b+c (fused or not, engine's choice). */
    readonly relaxed = false,
    /** Materialise each distinct v128 constant once, in a local set in the function's prologue
     * (V8 builds a v128.const from general registers each time it is executed). */
    readonly hoistConstants = true,
  ) {}

  /** A v128 constant: a pooled local when hoisting, else inline. */
  private vconst(key: string, emit: (f: FuncBuilder) => void): Ex {
    if (!this.hoistConstants) return emit;
    let idx = this.pool.get(key);
    if (idx === undefined) {
      const l = this.f.local("v128", "k");
      idx = l;
      this.pool.set(key, l);
      this.f.inPrologue((f) => {
        emit(f);
        f.localSet(l);
      });
    }
    const i = idx;
    return (f) => void f.localGet(i);
  }

  /** Emits `e` now into a new local of `type`; returns a reader of it. */
  bind(e: Ex, type: ValType = "v128", name = "t"): Ex {
    const idx = this.f.local(type, name);
    e(this.f);
    this.f.localSet(idx);
    return (f) => void f.localGet(idx);
  }

  /** Emits `e` now into an existing local. */
  set(idx: number, e: Ex): void {
    e(this.f);
    this.f.localSet(idx);
  }

  /** Reader of local `idx`. */
  get(idx: number): Ex {
    return (f) => void f.localGet(idx);
  }

  /** An instruction applied to operands (pushed left to right). */
  op(name: PlainOp, ...args: Ex[]): Ex {
    return (f) => {
      for (const a of args) a(f);
      f.op(name);
    };
  }

  // --- constants -----------------------------------------------------------------
  fc(v: number): Ex {
    const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
    return this.vconst(`i32:${bits}`, (f) => void f.v128ConstF32(v));
  }
  ic(v: number): Ex {
    return this.vconst(`i32:${v >>> 0}`, (f) => void f.v128ConstI32(v));
  }
  dc(v: number): Ex {
    const b = new BigUint64Array(new Float64Array([v]).buffer)[0];
    return this.vconst(`i64:${b}`, (f) => void f.v128ConstF64(v));
  }
  lc(v: bigint): Ex {
    return this.vconst(`i64:${BigInt.asUintN(64, v)}`, (f) => void f.v128ConstI64(v));
  }
  i32(v: number): Ex {
    return (f) => void f.i32Const(v);
  }

  // --- f32x4 ---------------------------------------------------------------------
  fadd = (a: Ex, b: Ex): Ex => this.op("f32x4.add", a, b);
  fsub = (a: Ex, b: Ex): Ex => this.op("f32x4.sub", a, b);
  fmul = (a: Ex, b: Ex): Ex => this.op("f32x4.mul", a, b);
  fdiv = (a: Ex, b: Ex): Ex => this.op("f32x4.div", a, b);
  fmin = (a: Ex, b: Ex): Ex => this.op("f32x4.min", a, b);
  fmax = (a: Ex, b: Ex): Ex => this.op("f32x4.max", a, b);
  fabs = (a: Ex): Ex => this.op("f32x4.abs", a);
  fneg = (a: Ex): Ex => this.op("f32x4.neg", a);
  fsqrt = (a: Ex): Ex => this.op("f32x4.sqrt", a);
  fnearest = (a: Ex): Ex => this.op("f32x4.nearest", a);
  ftrunc = (a: Ex): Ex => this.op("f32x4.trunc", a);
  feq = (a: Ex, b: Ex): Ex => this.op("f32x4.eq", a, b);
  fne = (a: Ex, b: Ex): Ex => this.op("f32x4.ne", a, b);
  flt = (a: Ex, b: Ex): Ex => this.op("f32x4.lt", a, b);
  fle = (a: Ex, b: Ex): Ex => this.op("f32x4.le", a, b);
  fgt = (a: Ex, b: Ex): Ex => this.op("f32x4.gt", a, b);
  fge = (a: Ex, b: Ex): Ex => this.op("f32x4.ge", a, b);
  /** a*b + c, fused when relaxed SIMD is on and the engine fuses. */
  fmadd = (a: Ex, b: Ex, c: Ex): Ex =>
    this.relaxed ? this.op("f32x4.relaxed_madd", a, b, c) : this.fadd(this.fmul(a, b), c);
  /** Horner: c[0] + x*(c[1] + x*(c[2] + ...)). */
  fpoly(x: Ex, c: readonly number[]): Ex {
    let acc: Ex = this.fc(c[c.length - 1]);
    for (let i = c.length - 2; i >= 0; i--) acc = this.fmadd(acc, x, this.fc(c[i]));
    return acc;
  }

  // --- bitwise / i32x4 -------------------------------------------------------------
  and = (a: Ex, b: Ex): Ex => this.op("v128.and", a, b);
  or = (a: Ex, b: Ex): Ex => this.op("v128.or", a, b);
  xor = (a: Ex, b: Ex): Ex => this.op("v128.xor", a, b);
  not = (a: Ex): Ex => this.op("v128.not", a);
  /** a & ~b */
  andnot = (a: Ex, b: Ex): Ex => this.op("v128.andnot", a, b);
  /** Lanes of `t` where `mask` is set, else of `e`. */
  sel = (t: Ex, e: Ex, mask: Ex): Ex => this.op("v128.bitselect", t, e, mask);
  iadd = (a: Ex, b: Ex): Ex => this.op("i32x4.add", a, b);
  isub = (a: Ex, b: Ex): Ex => this.op("i32x4.sub", a, b);
  ishl = (a: Ex, k: number): Ex => this.op("i32x4.shl", a, this.i32(k));
  ishrs = (a: Ex, k: number): Ex => this.op("i32x4.shr_s", a, this.i32(k));
  ishru = (a: Ex, k: number): Ex => this.op("i32x4.shr_u", a, this.i32(k));
  ieq = (a: Ex, b: Ex): Ex => this.op("i32x4.eq", a, b);
  ineg = (a: Ex): Ex => this.op("i32x4.neg", a);
  /** f32 -> i32, truncating, saturating, NaN -> 0. */
  f2i = (a: Ex): Ex => this.op("i32x4.trunc_sat_f32x4_s", a);
  i2f = (a: Ex): Ex => this.op("f32x4.convert_i32x4_s", a);

  // --- f64x2 ---------------------------------------------------------------------
  dadd = (a: Ex, b: Ex): Ex => this.op("f64x2.add", a, b);
  dsub = (a: Ex, b: Ex): Ex => this.op("f64x2.sub", a, b);
  dmul = (a: Ex, b: Ex): Ex => this.op("f64x2.mul", a, b);
  ddiv = (a: Ex, b: Ex): Ex => this.op("f64x2.div", a, b);
  /** a*b + c in f64x2 lanes, fused when relaxed SIMD is on and the engine fuses. */
  dmadd = (a: Ex, b: Ex, c: Ex): Ex =>
    this.relaxed ? this.op("f64x2.relaxed_madd", a, b, c) : this.dadd(this.dmul(a, b), c);
  dpoly(x: Ex, c: readonly number[]): Ex {
    let acc: Ex = this.dc(c[c.length - 1]);
    for (let i = c.length - 2; i >= 0; i--) acc = this.dmadd(acc, x, this.dc(c[i]));
    return acc;
  }
  /** f64x2 of lanes 0,1 (`hi` false) or 2,3 (`hi` true) of an f32x4. */
  promote = (a: Ex, hi: boolean): Ex => this.op("f64x2.promote_low_f32x4", hi ? this.highHalf(a) : a);
  /** f64x2 of i32 lanes 0,1 or 2,3. */
  i2d = (a: Ex, hi: boolean): Ex => this.op("f64x2.convert_low_i32x4_s", hi ? this.highHalf(a) : a);
  /** Moves bytes 8..15 to 0..7. */
  highHalf = (a: Ex): Ex => (f) => {
    a(f);
    f.v128ConstI32(0);
    f.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  };
  /** Joins the low 8 bytes of `lo` and of `hi` (e.g. two demoted f64x2 halves into one f32x4). */
  joinLow = (lo: Ex, hi: Ex): Ex => (f) => {
    lo(f);
    hi(f);
    f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  };
}
