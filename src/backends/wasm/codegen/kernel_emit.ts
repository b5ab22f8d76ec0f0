// The WebAssembly SIMD the fused-kernel generator emits per dtype: loads and
// stores (whole, splatted, gathered, partial vectors), the reduction monoids and
// their identities, and one scalar op of a KernelSpec's DAG as v128 code.

import type { FuncBuilder } from "./assembler";
import type { Emitter, Ex } from "./expr";
import { emitMath, vpow, type MathCtx, type MathFn } from "./vecmath";
import { MATH_FNS, fail } from "./kernel_spec";
import type { KDType, KernelNode, ReduceOp } from "../../plan/kernel_graph";


// --- per-dtype memory access -----------------------------------------------------------
//
// Every access is `ptr + off` with a static byte offset `off`: non-negative offsets go into the
// memarg (free), negative ones are added to the pointer first.

export const esize = (d: KDType): number => (d === "bool" ? 1 : 4);

/** Pushes the address `ptr + off`; returns the memarg offset to use with it. */
function addr(f: FuncBuilder, ptr: number, off: number): number {
  f.localGet(ptr);
  if (off >= 0) return off;
  f.i32Const(off).op("i32.add");
  return 0;
}

export function loadVec(f: FuncBuilder, dt: KDType, ptr: number, off = 0): void {
  const o = addr(f, ptr, off);
  if (dt === "bool") {
    f.mem("v128.load32_zero", o, 0).op("i16x8.extend_low_i8x16_u").op("i32x4.extend_low_i16x8_u");
  } else f.mem("v128.load", o, 2);
}

export function loadSplat(f: FuncBuilder, dt: KDType, ptr: number, off = 0): void {
  const o = addr(f, ptr, off);
  if (dt === "bool") f.mem("i32.load8_u", o, 0).op("i32x4.splat");
  else f.mem("v128.load32_splat", o, 2);
}

/** Which element fills each lane of a partial vector of 1..3 (or 4) elements. The filler lanes
 * repeat real elements, the same ones for every operand, so they compute what real lanes compute:
 * a filler lane must not produce a subnormal (a slow microcode assist on x86) or a trap that no
 * real element produces. Contiguous tails load as load32_splat / load64_splat (+ one lane). */
const FILL: Record<number, readonly number[]> = { 1: [0, 0, 0, 0], 2: [0, 1, 0, 1], 3: [0, 1, 2, 1], 4: [0, 1, 2, 3] };

/** Elements `ptr + off + e * byteStride` for e = 0..lanes-1 into the lanes (filler lanes per FILL). */
export function gather(f: FuncBuilder, dt: KDType, ptr: number, byteStride: number, off = 0, lanes = 4): void {
  loadSplat(f, dt, ptr, off);
  for (let l = 1; l < 4; l++) {
    const src = FILL[lanes][l];
    if (src === 0) continue;
    const tmp = f.local("v128", "g");
    f.localSet(tmp);
    if (dt === "bool") {
      f.localGet(tmp);
      const o = addr(f, ptr, off + byteStride * src);
      f.mem("i32.load8_u", o, 0).lane("i32x4.replace_lane", l);
    } else {
      const o = addr(f, ptr, off + byteStride * src);
      f.localGet(tmp);
      f.memLane("v128.load32_lane", l, o, 2);
    }
  }
}

/** The first `lanes` (1..3) contiguous elements at `ptr + off`, filler lanes per FILL. */
export function loadPartial(f: FuncBuilder, dt: KDType, ptr: number, off: number, lanes: number): void {
  if (dt === "bool") return gather(f, dt, ptr, 1, off, lanes);
  const o = addr(f, ptr, off);
  if (lanes === 1) f.mem("v128.load32_splat", o, 2);
  else {
    f.mem("v128.load64_splat", o, 2);
    if (lanes === 3) {
      const tmp = f.local("v128", "g");
      f.localSet(tmp);
      const o2 = addr(f, ptr, off + 8);
      f.localGet(tmp);
      f.memLane("v128.load32_lane", 2, o2, 2);
    }
  }
}

/** `lanes` (4, or 1..3 for a row's tail) contiguous elements at `ptr + off`: a whole vector or a partial one. */
export function loadLanes(f: FuncBuilder, dt: KDType, ptr: number, off: number, lanes: number): void {
  if (lanes === 4) loadVec(f, dt, ptr, off);
  else loadPartial(f, dt, ptr, off, lanes);
}

/** `lanes` elements `byteStride` bytes apart from `ptr + off`: loaded as a vector when contiguous, else gathered. */
export function loadStrided(f: FuncBuilder, dt: KDType, ptr: number, byteStride: number, off: number, lanes: number): void {
  if (byteStride === esize(dt)) loadLanes(f, dt, ptr, off, lanes);
  else gather(f, dt, ptr, byteStride, off, lanes);
}

/** The inputs broadcast along `dim` (byte stride 0), each splatted once from its pointer into a
 * local named `name`; null for the inputs that vary along `dim`. */
export function splatBroadcastInputs(
  f: FuncBuilder, e: Emitter, inputs: readonly { dtype: KDType }[], bstr: readonly (readonly number[])[], dim: number, ptrs: readonly number[], name: string,
): (Ex | null)[] {
  return inputs.map((inp, k) => {
    if (bstr[k][dim] !== 0) return null;
    const l = f.local("v128", name);
    loadSplat(f, inp.dtype, ptrs[k]);
    f.localSet(l);
    return e.get(l);
  });
}

/** Bytes 0..3 of the v128 on the stack hold the four bool lanes (0/1) of `val`. */
function narrowBool(f: FuncBuilder, val: Ex): void {
  val(f);
  val(f);
  f.op("i16x8.narrow_i32x4_u");
  const tmp = f.local("v128", "n");
  f.localTee(tmp);
  f.localGet(tmp);
  f.op("i8x16.narrow_i16x8_u");
}

/** Stores lanes 0..lanes-1 of `val` (an Ex that may be emitted twice) contiguously at `ptr + off`. */
export function storePartial(f: FuncBuilder, dt: KDType, ptr: number, val: Ex, off: number, lanes: number): void {
  if (dt === "bool") {
    const bytes = f.local("v128", "nb");
    narrowBool(f, val);
    f.localSet(bytes);
    const st = (name: "v128.store8_lane" | "v128.store16_lane" | "v128.store32_lane", lane: number, at: number): void => {
      const o = addr(f, ptr, at);
      f.localGet(bytes).memLane(name, lane, o, 0);
    };
    if (lanes === 4) st("v128.store32_lane", 0, off);
    else if (lanes === 1) st("v128.store8_lane", 0, off);
    else {
      st("v128.store16_lane", 0, off);
      if (lanes === 3) st("v128.store8_lane", 2, off + 2);
    }
    return;
  }
  const o = addr(f, ptr, off);
  val(f);
  if (lanes === 4) f.mem("v128.store", o, 2);
  else if (lanes === 1) f.memLane("v128.store32_lane", 0, o, 2);
  else {
    f.memLane("v128.store64_lane", 0, o, 2);
    if (lanes === 3) {
      const o2 = addr(f, ptr, off + 8);
      val(f);
      f.memLane("v128.store32_lane", 2, o2, 2);
    }
  }
}

export function storeLane0(f: FuncBuilder, dt: KDType, ptr: number, val: Ex, off = 0): void {
  const o = addr(f, ptr, off);
  val(f);
  if (dt === "bool") f.lane("i32x4.extract_lane", 0).mem("i32.store8", o, 0);
  else f.memLane("v128.store32_lane", 0, o, 2);
}

// --- reductions -------------------------------------------------------------------------

/**
 * Blocked accumulation of long inner reductions: lane accumulators take this many groups
 * (one group = one vector per accumulator) before their sum moves into a level-1
 * accumulator, which takes this many such blocks before moving into level 2, and so on.
 * Each accumulator then adds at most ~64 values of similar magnitude, so a float32 sum of
 * n elements errs by about eps·(32 + 64·levels + n/2^21), not eps·n/16 (1e6 × 0.1 gave
 * 100060, and 2^28 ones saturated). The flushes are a few vector adds per 512 elements.
 */
export const REDUCTION_BLOCKS = [32, 64, 64] as const;

/** Longest kept row (in vectors) whose sum over an outer reduced dim is kept in registers (see emitBlockedOuterRows in kernel_loops.ts). */
export const OUTER_ROW_VECTORS = 8;

/** Identity of a reduction as the i32 bit pattern of one lane. */
export function identityBits(op: ReduceOp, dt: KDType): number {
  const f = dt === "float32";
  switch (op) {
    case "sum":
    case "or":
      return 0;
    case "prod":
      return f ? 0x3f800000 : 1;
    case "and":
      return dt === "bool" ? 1 : -1;
    case "max":
      return f ? 0xff800000 | 0 : dt === "int32" ? -0x80000000 : 0;
    case "min":
      return f ? 0x7f800000 : dt === "int32" ? 0x7fffffff : dt === "uint32" ? -1 : 1;
  }
}

export function monoid(e: Emitter, op: ReduceOp, dt: KDType, a: Ex, b: Ex): Ex {
  const F = dt === "float32";
  const unsigned = dt !== "int32";
  if (dt === "bool") {
    if (op === "sum" || op === "max") op = "or";
    if (op === "prod" || op === "min") op = "and";
  }
  switch (op) {
    case "sum":
      return e.op(F ? "f32x4.add" : "i32x4.add", a, b);
    case "prod":
      return e.op(F ? "f32x4.mul" : "i32x4.mul", a, b);
    case "max":
      return e.op(F ? "f32x4.max" : unsigned ? "i32x4.max_u" : "i32x4.max_s", a, b);
    case "min":
      return e.op(F ? "f32x4.min" : unsigned ? "i32x4.min_u" : "i32x4.min_s", a, b);
    case "and":
      return e.and(a, b);
    case "or":
      return e.or(a, b);
  }
}

// --- ops ----------------------------------------------------------------------------------

/** Applies a scalar i32 computation lane by lane: `scalar` pushes the i32 result from locals x, y. */
function lanewise(e: Emitter, a: Ex, b: Ex, scalar: (f: FuncBuilder, x: number, y: number) => void): Ex {
  const f = e.f;
  const av = e.bind(a);
  const bv = e.bind(b);
  const res = f.local("v128", "lw");
  const x = f.local("i32", "x");
  const y = f.local("i32", "y");
  av(f);
  f.localSet(res);
  for (let j = 0; j < 4; j++) {
    av(f);
    f.lane("i32x4.extract_lane", j).localSet(x);
    bv(f);
    f.lane("i32x4.extract_lane", j).localSet(y);
    f.localGet(res);
    scalar(f, x, y);
    f.lane("i32x4.replace_lane", j).localSet(res);
  }
  return e.get(res);
}

/** y if y is neither 0 nor (when `minusOne`) -1, else 1: a divisor that cannot trap. */
function safeDivisor(f: FuncBuilder, y: number, minusOne: boolean): void {
  f.i32Const(1).localGet(y).localGet(y).op("i32.eqz");
  if (minusOne) f.localGet(y).i32Const(-1).op("i32.eq").op("i32.or");
  f.op("select");
}

function intDiv(e: Emitter, a: Ex, b: Ex, unsigned: boolean): Ex {
  return lanewise(e, a, b, (f, x, y) => {
    if (unsigned) {
      f.i32Const(-1).localGet(x);
      safeDivisor(f, y, false);
      f.op("i32.div_u").localGet(y).op("i32.eqz").op("select");
    } else {
      f.i32Const(-1);
      f.i32Const(0).localGet(x).op("i32.sub");
      f.localGet(x);
      safeDivisor(f, y, true);
      f.op("i32.div_s").localGet(y).i32Const(-1).op("i32.eq").op("select");
      f.localGet(y).op("i32.eqz").op("select");
    }
  });
}

function intRem(e: Emitter, a: Ex, b: Ex, unsigned: boolean): Ex {
  return lanewise(e, a, b, (f, x, y) => {
    f.localGet(x).localGet(x);
    safeDivisor(f, y, false);
    f.op(unsigned ? "i32.rem_u" : "i32.rem_s").localGet(y).op("i32.eqz").op("select");
  });
}

function shift(e: Emitter, a: Ex, b: Ex, left: boolean): Ex {
  return lanewise(e, a, b, (f, x, y) => {
    f.i32Const(0).localGet(x).localGet(y).op(left ? "i32.shl" : "i32.shr_u");
    f.localGet(y).i32Const(32).op("i32.ge_u").op("select");
  });
}

/** A shift by a constant amount: one SIMD shift (the generic one goes lane by lane, as SIMD shifts take the amount mod 32). */
export function constShift(e: Emitter, a: Ex, amount: number, left: boolean): Ex {
  const k = amount >>> 0;
  if (k >= 32) return e.ic(0);
  return left ? e.ishl(a, k) : e.ishru(a, k);
}

export function constEx(e: Emitter, value: number, dt: KDType): Ex {
  if (dt === "float32") return e.fc(value);
  if (dt === "bool") return e.ic(value ? 1 : 0);
  if (!Number.isFinite(value)) fail(`const ${value} is not a valid ${dt}`);
  return e.ic(dt === "uint32" ? value >>> 0 : value | 0);
}

function compare(e: Emitter, op: string, a: Ex, b: Ex, dt: KDType): Ex {
  if (dt === "float32") {
    const name = { eq: "f32x4.eq", ne: "f32x4.ne", lt: "f32x4.lt", le: "f32x4.le", gt: "f32x4.gt", ge: "f32x4.ge" }[op]!;
    return e.op(name as "f32x4.eq", a, b);
  }
  const sfx = dt === "uint32" ? "_u" : "_s";
  const name = op === "eq" || op === "ne" ? `i32x4.${op}` : `i32x4.${op}${sfx}`;
  return e.op(name as "i32x4.eq", a, b);
}

export function emitOp(m: MathCtx, node: Exclude<KernelNode, { op: "input" } | { op: "const" }>, args: Ex[], adt: KDType[]): Ex {
  const e = m.e;
  const dt = node.dtype;
  const a0 = adt[0];
  const F = a0 === "float32";
  const U = a0 === "uint32";
  const B = a0 === "bool";
  const [a, b, c] = args;
  const SIGN = -0x80000000;
  switch (node.op) {
    case "add":
      return F ? e.fadd(a, b) : B ? e.or(a, b) : e.iadd(a, b);
    case "sub":
      return F ? e.fsub(a, b) : B ? e.xor(a, b) : e.isub(a, b);
    case "mul":
      return F ? e.fmul(a, b) : B ? e.and(a, b) : e.op("i32x4.mul", a, b);
    case "div":
      return F ? e.fdiv(a, b) : intDiv(e, a, b, U);
    case "rem":
      return intRem(e, a, b, U);
    case "max":
      return F ? e.fmax(a, b) : e.op(U || B ? "i32x4.max_u" : "i32x4.max_s", a, b);
    case "min":
      return F ? e.fmin(a, b) : e.op(U || B ? "i32x4.min_u" : "i32x4.min_s", a, b);
    case "pow":
      return vpow(m, a, b);
    case "and":
      return e.and(a, b);
    case "or":
      return e.or(a, b);
    case "xor":
      return e.xor(a, b);
    case "not":
      return B ? e.xor(a, e.ic(1)) : e.not(a);
    case "shift_left":
      return shift(e, a, b, true);
    case "shift_right_logical":
      return shift(e, a, b, false);
    case "neg":
      return F ? e.fneg(a) : e.ineg(a);
    case "abs":
      return F ? e.fabs(a) : U ? a : e.op("i32x4.abs", a);
    case "sign": {
      if (F) {
        const x = e.bind(a);
        const one = e.or(e.fc(1), e.and(x, e.ic(SIGN)));
        return e.sel(one, x, e.and(e.fne(x, e.fc(0)), e.feq(x, x)));
      }
      if (U) return e.ineg(e.op("i32x4.ne", a, e.ic(0)));
      const x = e.bind(a);
      return e.isub(e.op("i32x4.lt_s", x, e.ic(0)), e.op("i32x4.gt_s", x, e.ic(0)));
    }
    case "floor":
      return e.op("f32x4.floor", a);
    case "ceil":
      return e.op("f32x4.ceil", a);
    case "trunc":
      return e.op("f32x4.trunc", a);
    case "nearest":
      return e.op("f32x4.nearest", a);
    case "round": {
      const x = e.bind(a);
      const t = e.bind(e.ftrunc(x));
      const one = e.or(e.fc(1), e.and(x, e.ic(SIGN)));
      return e.sel(e.fadd(t, one), t, e.fge(e.fabs(e.fsub(x, t)), e.fc(0.5)));
    }
    case "is_finite":
      return e.ineg(e.flt(e.fabs(a), e.fc(Infinity)));
    case "eq":
    case "ne":
    case "lt":
    case "le":
    case "gt":
    case "ge":
      return e.ineg(compare(e, node.op, a, b, a0));
    case "select": {
      const mask = B ? e.ineg(a) : U ? e.op("i32x4.ne", a, e.ic(0)) : e.op("i32x4.gt_s", a, e.ic(0));
      return e.sel(c, b, mask);
    }
    case "clamp":
      // (lo, x, hi): min(max(x, lo), hi)
      return F
        ? e.fmin(e.fmax(b, a), c)
        : e.op(U || B ? "i32x4.min_u" : "i32x4.min_s", e.op(U || B ? "i32x4.max_u" : "i32x4.max_s", b, a), c);
    case "convert": {
      if (a0 === dt) return a;
      if (dt === "bool") return e.ineg(F ? e.fne(a, e.fc(0)) : e.op("i32x4.ne", a, e.ic(0)));
      if (F) return e.op(dt === "uint32" ? "i32x4.trunc_sat_f32x4_u" : "i32x4.trunc_sat_f32x4_s", a);
      if (dt === "float32") return e.op(U ? "f32x4.convert_i32x4_u" : "f32x4.convert_i32x4_s", a);
      return a; // int32 <-> uint32 <- bool: same bits
    }
    case "round_f16":
      return roundToHalf(e, a);
    case "integer_pow": {
      const y = node.y;
      const mul = (p: Ex, q: Ex): Ex => (F ? e.fmul(p, q) : B ? e.and(p, q) : e.op("i32x4.mul", p, q));
      if (y === 0) return constEx(e, 1, dt);
      let acc: Ex | null = null;
      let base = e.bind(a);
      for (let n = Math.abs(y); n > 0; n = Math.floor(n / 2)) {
        if (n % 2 === 1) acc = acc === null ? base : e.bind(mul(acc, base));
        if (n > 1) base = e.bind(mul(base, base));
      }
      return y < 0 ? e.fdiv(e.fc(1), acc!) : acc!;
    }
    default:
      if (MATH_FNS.has(node.op)) return emitMath(m, node.op as MathFn, a);
      return fail(`op ${node.op} has no code generator`);
  }
}

/**
 * Rounds float32 lanes to the nearest float16 value (ties to even), kept as float32: how the
 * wasm backend stores float16 (held widened, rounded on every store). Normal halves: round
 * the f32 bits to 10 mantissa bits (a carry may bump the exponent; past 65504 is infinity);
 * subnormal halves (|x| < 2^-14) are multiples of 2^-24, which (|x| + 0.5) - 0.5 rounds to.
 */
function roundToHalf(e: Emitter, a: Ex): Ex {
  const x = e.bind(a);
  const ax = e.bind(e.and(x, e.ic(0x7fffffff)));
  const lsb = e.and(e.ishru(ax, 13), e.ic(1));
  const normal = e.bind(e.and(e.iadd(e.iadd(ax, e.ic(0xfff)), lsb), e.ic(~0x1fff)));
  const capped = e.sel(e.ic(0x7f800000), normal, e.op("i32x4.gt_s", normal, e.ic(0x477fe000)));
  const sub = e.fsub(e.fadd(ax, e.fc(0.5)), e.fc(0.5));
  const mag = e.sel(sub, capped, e.flt(ax, e.fc(2 ** -14)));
  const signed = e.or(mag, e.and(x, e.ic(-0x80000000)));
  return e.sel(x, signed, e.fne(x, x));
}
