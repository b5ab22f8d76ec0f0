// Compiler of fused elementwise / reduction kernels to WebAssembly SIMD.
//
// A KernelSpec describes one fused group as a scalar DAG evaluated at every
// point of an iteration space; `compileKernel` turns it into a wasm module
// that imports the backend's linear memory ("env"."memory", plain or shared)
// and exports `kernel(in0, ..., inN-1, out0, ..., outM-1)`, whose arguments are
// byte pointers into that memory.
//
//   interface KernelSpec {
//     shape: number[];        // iteration space (= output shape for elementwise,
//                             //   = input shape for reductions)
//     inputs: { dtype; strides: number[] }[]  // element strides per iteration dim;
//                             //   0 = broadcast along that dim; negative allowed
//                             //   (the pointer passed to run() addresses the element
//                             //   at iteration index 0)
//     nodes: KernelNode[];    // the DAG in topological order (args refer to earlier nodes)
//     outputs: { node; dtype }[]   // dense row-major outputs of `shape`, or of the
//                             //   shape with the reduced axes removed
//     reduction?: { op: "sum"|"prod"|"max"|"min"|"and"|"or"; axes: number[] }
//                             // every output is reduced over these axes
//   }
//
// Nodes: {op:"input", input: k} | {op:"const", value, dtype} |
// {op, args, dtype} with the ops of `ScalarOp` (see ARITY for arities; `dtype`
// is the result dtype) | {op:"integer_pow", args:[x], y, dtype}. dtypes:
// float32, int32, uint32, bool (stored as one byte 0/1; in registers as i32
// lanes 0/1). Semantics follow the reference interpreter
// (backends/interpreter/rules/elementwise.ts): max/min propagate NaN, round is
// half away from zero (`nearest` is half to even), int division truncates with
// x/0 = -1 (all ones) and INT_MIN/-1 = INT_MIN, x%0 = x, shifts by >= 32 give 0,
// float->int converts truncate and saturate (NaN -> 0), anything->bool is x != 0,
// `select` is lax.select_n(pred, onFalse, onTrue) (int preds clamp), and
// `clamp` is (lo, x, hi). Float reductions accumulate in f32 (the interpreter
// in f64), in several vector accumulators, so sums differ by rounding; long
// inner float sums/products are blocked (see REDUCTION_BLOCKS) so their error
// grows with the logarithm of the length, not the length.
//
// Code shape: the iteration space is canonicalised (size-1 dims dropped,
// adjacent dims merged when every operand is linear across them), then a loop
// nest walks it with one pointer per operand. The innermost dim runs 4-wide:
// inputs contiguous in it are loaded with v128.load, broadcast ones (stride 0)
// are splatted once per row, others are gathered lane by lane. Short rows (up
// to 4 vectors, 2 for heavy DAGs) are unrolled: no inner loop, no pointer
// updates, the element offsets in the memargs, the parent's pointers used
// directly. The n % 4 tail is one partial vector (1-3 elements loaded and
// stored; its filler lanes repeat real elements so they cannot produce a
// subnormal or anything else the real lanes do not). When the innermost dim is
// reduced, it is reduced in up to 4 vector accumulators (the tail masked to the
// identity), then horizontally; when an outer dim is reduced, the
// (pre-initialised) outputs are accumulated into vector-wise. `run` calls the
// export with a fixed arity (no per-call allocation). Modules are cached by a
// canonical key.
//
// Subnormals: x86 takes a microcode assist (~100+ cycles) on float ops that
// produce a subnormal (and on multiplications that consume one), and wasm
// cannot set FTZ/DAZ (measured: a kernel 10-30x slower). The
// special functions avoid creating them internally (exp builds subnormal
// results as integers, see vecmath.ts); subnormals that the user's own
// arithmetic produces stay slow.

import { BackendError } from "../../../core/errors";
import { FuncBuilder, ModuleBuilder, compileGenerated, isSharedMemory, memoryImport, probeRelaxedSimd } from "./assembler";
import { Emitter, type Ex } from "./expr";
import { emitMath, vpow, type MathCtx, type MathFn } from "./vecmath";

export type { KDType, UnaryOp, BinaryOp, TernaryOp, ScalarOp, KernelNode, ReduceOp, KernelSpec } from "../../plan/kernel_graph";
import type { KDType, KernelNode, KernelSpec, ReduceOp, ScalarOp } from "../../plan/kernel_graph";

export interface CompileOptions {
  /** The linear memory the kernel reads and writes (imported as env.memory). */
  memory: WebAssembly.Memory;
  /** Use f32x4/f64x2.relaxed_madd in the special functions' polynomial evaluations (fused or
   * not, the engine's choice; every function stays within its documented ulp bound either way).
   * Defaults to `relaxedSimdAvailable()`; pass false for results that do not depend on the engine. */
  relaxedSimd?: boolean;
}

export interface CompiledKernel {
  /** Runs the kernel on byte pointers into the memory (one per input, one per output). */
  run(inputPtrs: readonly number[], outputPtrs: readonly number[]): void;
  /** The wasm module's bytes (empty for kernels with an empty iteration space). */
  readonly bytes: Uint8Array;
  /** A readable listing of the generated code. */
  text(): string;
  /** The canonical cache key. */
  readonly key: string;
}

const ARITY: Record<ScalarOp | "integer_pow", number> = {
  neg: 1, abs: 1, sign: 1, not: 1, floor: 1, ceil: 1, round: 1, nearest: 1, trunc: 1, is_finite: 1,
  exp: 1, log: 1, log1p: 1, expm1: 1, tanh: 1, logistic: 1, erf: 1, sin: 1, cos: 1, sqrt: 1, rsqrt: 1,
  convert: 1, round_f16: 1, integer_pow: 1,
  add: 2, sub: 2, mul: 2, div: 2, rem: 2, max: 2, min: 2, pow: 2, and: 2, or: 2, xor: 2,
  eq: 2, ne: 2, lt: 2, le: 2, gt: 2, ge: 2, shift_left: 2, shift_right_logical: 2,
  select: 3, clamp: 3,
};

const MATH_FNS = new Set<string>(["exp", "log", "log1p", "expm1", "tanh", "logistic", "erf", "sin", "cos", "sqrt", "rsqrt"]);
const FLOAT_ONLY = new Set<string>([...MATH_FNS, "floor", "ceil", "round", "nearest", "trunc", "is_finite", "pow", "round_f16"]);
const INT_OR_BOOL_ONLY = new Set<string>(["and", "or", "xor", "not"]);
const INT_ONLY = new Set<string>(["rem", "shift_left", "shift_right_logical"]);
const NOT_BOOL = new Set<string>(["neg", "abs", "sign", "div"]);
const COMPARE = new Set<string>(["eq", "ne", "lt", "le", "gt", "ge"]);
const KDTYPES = new Set<string>(["float32", "int32", "uint32", "bool"]);
/** Ops whose emitted code is long: kernels using them are not unrolled. */
const HEAVY = new Set<string>([...MATH_FNS, "pow", "div", "rem", "shift_left", "shift_right_logical"]);

const fail = (msg: string): never => {
  throw new BackendError(`compileKernel: ${msg}`);
};

// --- validation and canonical form ---------------------------------------------------

/** dtype of every node, checking arities and operand dtypes. */
function inferDTypes(spec: KernelSpec): KDType[] {
  const dts: KDType[] = [];
  spec.nodes.forEach((node, i) => {
    if (node.op === "input") {
      const inp = spec.inputs[node.input];
      if (!inp) fail(`node ${i} reads input ${node.input}, but there are ${spec.inputs.length} inputs`);
      dts.push(inp.dtype);
      return;
    }
    if (!KDTYPES.has(node.dtype)) fail(`node ${i} (${node.op}) has unsupported dtype ${node.dtype}`);
    if (node.op === "const") {
      if (typeof node.value !== "number") fail(`node ${i} (const) needs a numeric value`);
      dts.push(node.dtype);
      return;
    }
    const arity = ARITY[node.op];
    if (arity === undefined) fail(`node ${i}: unknown op ${JSON.stringify(node.op)}`);
    if (node.args.length !== arity) fail(`node ${i} (${node.op}) takes ${arity} argument(s), got ${node.args.length}`);
    for (const a of node.args) {
      if (!Number.isInteger(a) || a < 0 || a >= i) fail(`node ${i} (${node.op}) argument ${a} is not an earlier node`);
    }
    const adt = node.args.map((a) => dts[a]);
    const dt = node.dtype;
    const op = node.op;
    const where = `node ${i} (${op}) with operand dtype(s) ${adt.join(", ")} and result ${dt}`;
    if (op === "convert") {
      dts.push(dt);
      return;
    }
    if (op === "select") {
      if (adt[0] === "float32") fail(`${where}: the predicate must be bool or an integer`);
      if (adt[1] !== dt || adt[2] !== dt) fail(`${where}: both cases must have the result dtype`);
      dts.push(dt);
      return;
    }
    if (adt.some((d) => d !== adt[0])) fail(`${where}: operands must share a dtype`);
    const a0 = adt[0];
    if (COMPARE.has(op)) {
      if (dt !== "bool") fail(`${where}: comparisons produce bool`);
    } else if (op === "is_finite") {
      if (dt !== "bool") fail(`${where}: is_finite produces bool`);
    } else if (dt !== a0) fail(`${where}: the result dtype must equal the operands'`);
    if (FLOAT_ONLY.has(op) && a0 !== "float32") fail(`${where}: expected float32`);
    if (INT_OR_BOOL_ONLY.has(op) && a0 === "float32") fail(`${where}: expected an integer or bool dtype`);
    if (INT_ONLY.has(op) && (a0 === "float32" || a0 === "bool")) fail(`${where}: expected int32 or uint32`);
    if (NOT_BOOL.has(op) && a0 === "bool") fail(`${where}: not defined for bool`);
    if (op === "integer_pow") {
      const y = (node as { y: number }).y;
      if (!Number.isInteger(y)) fail(`${where}: y must be an integer, got ${y}`);
      if (y < 0 && a0 !== "float32") fail(`${where}: negative powers need float32`);
    }
    dts.push(dt);
  });
  return dts;
}

interface Canon {
  shape: number[];
  /** reduced[d]: dim d is reduced. */
  reduced: boolean[];
  /** element strides per input per canonical dim */
  strides: number[][];
  empty: boolean;
  /** number of elements of each output */
  outSize: number;
}

function canonicalize(spec: KernelSpec): Canon {
  const nd = spec.shape.length;
  for (const s of spec.shape) if (!Number.isInteger(s) || s < 0) fail(`bad shape [${spec.shape.join(",")}]`);
  spec.inputs.forEach((inp, k) => {
    if (!KDTYPES.has(inp.dtype)) fail(`input ${k} has unsupported dtype ${inp.dtype}`);
    if (inp.strides.length !== nd) {
      fail(`input ${k} has ${inp.strides.length} strides for the ${nd}-d shape [${spec.shape.join(",")}]`);
    }
    for (const s of inp.strides) if (!Number.isInteger(s)) fail(`input ${k} has a non-integer stride`);
  });
  const red = new Array<boolean>(nd).fill(false);
  if (spec.reduction) {
    for (const a of spec.reduction.axes) {
      if (!Number.isInteger(a) || a < 0 || a >= nd || red[a]) fail(`bad reduction axes [${spec.reduction.axes.join(",")}] for ${nd} dims`);
      red[a] = true;
    }
  }
  let outSize = 1;
  for (let d = 0; d < nd; d++) if (!red[d]) outSize *= spec.shape[d];
  const empty = spec.shape.some((s) => s === 0);
  // drop size-1 dims
  let dims = [...Array(nd).keys()].filter((d) => spec.shape[d] !== 1);
  const shape = dims.map((d) => spec.shape[d]);
  const reduced = dims.map((d) => red[d]);
  const strides = spec.inputs.map((inp) => dims.map((d) => inp.strides[d]));
  // merge adjacent dims that are linear for every input and agree on being reduced
  for (let d = shape.length - 2; d >= 0; d--) {
    const ok = reduced[d] === reduced[d + 1] && strides.every((s) => s[d] === s[d + 1] * shape[d + 1]);
    if (ok) {
      shape[d] *= shape[d + 1];
      shape.splice(d + 1, 1);
      reduced.splice(d + 1, 1);
      for (const s of strides) {
        s[d] = s[d + 1];
        s.splice(d + 1, 1);
      }
    }
  }
  dims = [];
  if (shape.length === 0) {
    shape.push(1);
    reduced.push(false);
    for (const s of strides) s.push(0);
  }
  return { shape, reduced, strides, empty, outSize };
}

// --- per-dtype memory access -----------------------------------------------------------
//
// Every access is `ptr + off` with a static byte offset `off`: non-negative offsets go into the
// memarg (free), negative ones are added to the pointer first.

const esize = (d: KDType): number => (d === "bool" ? 1 : 4);

/** Pushes the address `ptr + off`; returns the memarg offset to use with it. */
function addr(f: FuncBuilder, ptr: number, off: number): number {
  f.localGet(ptr);
  if (off >= 0) return off;
  f.i32Const(off).op("i32.add");
  return 0;
}

function loadVec(f: FuncBuilder, dt: KDType, ptr: number, off = 0): void {
  const o = addr(f, ptr, off);
  if (dt === "bool") {
    f.mem("v128.load32_zero", o, 0).op("i16x8.extend_low_i8x16_u").op("i32x4.extend_low_i16x8_u");
  } else f.mem("v128.load", o, 2);
}

function loadSplat(f: FuncBuilder, dt: KDType, ptr: number, off = 0): void {
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
function gather(f: FuncBuilder, dt: KDType, ptr: number, byteStride: number, off = 0, lanes = 4): void {
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
function loadPartial(f: FuncBuilder, dt: KDType, ptr: number, off: number, lanes: number): void {
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
function storePartial(f: FuncBuilder, dt: KDType, ptr: number, val: Ex, off: number, lanes: number): void {
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

function storeLane0(f: FuncBuilder, dt: KDType, ptr: number, val: Ex, off = 0): void {
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
const REDUCTION_BLOCKS = [32, 64, 64] as const;

/** Longest kept row (in vectors) whose sum over an outer reduced dim is kept in registers (see blockedOuterRows). */
const OUTER_ROW_VECTORS = 8;

/** Identity of a reduction as the i32 bit pattern of one lane. */
function identityBits(op: ReduceOp, dt: KDType): number {
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

function monoid(e: Emitter, op: ReduceOp, dt: KDType, a: Ex, b: Ex): Ex {
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
function constShift(e: Emitter, a: Ex, amount: number, left: boolean): Ex {
  const k = amount >>> 0;
  if (k >= 32) return e.ic(0);
  return left ? e.ishl(a, k) : e.ishru(a, k);
}

function constEx(e: Emitter, value: number, dt: KDType): Ex {
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

function emitOp(m: MathCtx, node: Exclude<KernelNode, { op: "input" } | { op: "const" }>, args: Ex[], adt: KDType[]): Ex {
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

// --- code generation -----------------------------------------------------------------------

interface Generated {
  bytes: Uint8Array;
  text: string;
  usesSin: boolean;
  usesCos: boolean;
}

function generate(spec: KernelSpec, canon: Canon, dts: KDType[], shared: boolean, relaxed: boolean): Generated {
  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const { shape, reduced, strides } = canon;
  const D = shape.length;
  const inner = D - 1;
  const n = shape[inner];
  const redOp = spec.reduction?.op;
  const hasRed = redOp !== undefined && reduced.some((r) => r);
  const mode: "none" | "inner" | "outer" = !hasRed ? "none" : reduced[inner] ? "inner" : "outer";
  /** Only the innermost (canonical) dim is reduced: each output is written exactly once. */
  const directStore = mode === "inner" && reduced.filter((r) => r).length === 1;

  // live nodes
  const live = new Array<boolean>(spec.nodes.length).fill(false);
  for (const o of spec.outputs) live[o.node] = true;
  for (let i = spec.nodes.length - 1; i >= 0; i--) {
    const nd = spec.nodes[i];
    if (live[i] && "args" in nd) for (const a of nd.args) live[a] = true;
  }
  const liveOps = spec.nodes.filter((_, i) => live[i]).map((nd) => nd.op as string);
  const usesSin = liveOps.includes("sin");
  const usesCos = liveOps.includes("cos");
  const heavy = liveOps.some((op) => HEAVY.has(op));

  const mb = new ModuleBuilder();
  mb.importMemory(memoryImport(shared));
  const ctxImports: { sinImport?: number; cosImport?: number } = {};
  if (usesSin) ctxImports.sinImport = mb.importFunction("env", "sin", ["f64"], ["f64"]);
  if (usesCos) ctxImports.cosImport = mb.importFunction("env", "cos", ["f64"], ["f64"]);
  const f = new FuncBuilder("kernel", new Array(nIn + nOut).fill("i32"), [], { relaxedSimd: relaxed });
  const e = new Emitter(f, relaxed);
  const m: MathCtx = { e, ...ctxImports };

  // byte strides per pointer (inputs then outputs) per canonical dim
  const outDTs = spec.outputs.map((o) => o.dtype);
  const bstr: number[][] = spec.inputs.map((inp, k) => strides[k].map((s) => s * esize(inp.dtype)));
  for (let o = 0; o < nOut; o++) {
    const s = new Array<number>(D).fill(0);
    let acc = esize(outDTs[o]);
    for (let d = D - 1; d >= 0; d--) {
      if (mode !== "none" && reduced[d]) continue;
      s[d] = acc;
      acc *= shape[d];
    }
    bstr.push(s);
  }
  const nPtr = nIn + nOut;

  f.comment(
    `shape [${shape.join(",")}]${hasRed ? ` reduce ${redOp} over dims [${reduced.flatMap((r, d) => (r ? [d] : [])).join(",")}]` : ""}; ` +
      `inner dim: ${spec.inputs.map((_, k) => (strides[k][inner] === 1 ? "contig" : strides[k][inner] === 0 ? "bcast" : "gather")).join(" ")}`,
  );

  // constants, hoisted
  const constVals = new Map<number, Ex>();
  spec.nodes.forEach((nd, i) => {
    if (live[i] && nd.op === "const") constVals.set(i, e.bind(constEx(e, nd.value, nd.dtype), "v128", "c"));
  });

  /** Evaluates the DAG on input values; returns the output values. */
  const dag = (inVals: Ex[]): Ex[] => {
    const vals: Ex[] = [];
    spec.nodes.forEach((nd, i) => {
      if (!live[i]) return;
      if (nd.op === "input") vals[i] = inVals[nd.input];
      else if (nd.op === "const") vals[i] = constVals.get(i)!;
      else {
        const amount = nd.op === "shift_left" || nd.op === "shift_right_logical" ? spec.nodes[nd.args[1]] : undefined;
        const r =
          amount?.op === "const"
            ? constShift(e, vals[nd.args[0]], amount.value, nd.op === "shift_left")
            : emitOp(m, nd, nd.args.map((a) => vals[a]), nd.args.map((a) => dts[a]));
        vals[i] = e.bind(r, "v128", "v");
      }
    });
    return spec.outputs.map((o) => vals[o.node]);
  };

  // reduction outputs start at the identity unless each is written once
  if (mode !== "none" && !directStore) {
    for (let o = 0; o < nOut; o++) {
      const dt = outDTs[o];
      const p = f.local("i32", "init");
      const cnt = f.local("i32", "i");
      f.localGet(nIn + o).localSet(p);
      f.i32Const(0).localSet(cnt);
      f.loop();
      f.localGet(p).i32Const(identityBits(redOp!, dt)).mem(dt === "bool" ? "i32.store8" : "i32.store", 0, dt === "bool" ? 0 : 2);
      f.localGet(p).i32Const(esize(dt)).op("i32.add").localSet(p);
      f.localGet(cnt).i32Const(1).op("i32.add").localTee(cnt).i32Const(canon.outSize).op("i32.lt_u").brIf(0);
      f.end();
    }
  }

  // pointer locals per level: level 0 uses the params
  const ptr: number[][] = [];
  ptr.push([...Array(nPtr).keys()]);
  for (let d = 1; d < D; d++) ptr.push(Array.from({ length: nPtr }, () => f.local("i32", `p${d}_`)));

  const advance = (ps: number[], d: number, times: number): void => {
    for (let p = 0; p < nPtr; p++) {
      const step = bstr[p][d] * times;
      if (step !== 0) f.localGet(ps[p]).i32Const(step).op("i32.add").localSet(ps[p]);
    }
  };

  /** A counted loop of `count` (> 0) iterations around `body`. */
  const counted = (count: number, body: () => void): void => {
    if (count === 1) {
      body();
      return;
    }
    const cnt = f.local("i32", "i");
    f.i32Const(0).localSet(cnt);
    f.loop();
    body();
    f.localGet(cnt).i32Const(1).op("i32.add").localTee(cnt).i32Const(count).op("i32.lt_u").brIf(0);
    f.end();
  };

  const nv = Math.floor(n / 4);
  const rem = n % 4;
  /** Short rows are unrolled completely: no loop and no pointer updates, the element offsets go
   * into the memargs, and the parent level's pointers are used directly. */
  const unrollInner = nv <= (heavy ? 2 : 4);
  /** Lanes 0..rem-1 set: selects the live lanes of a partial (tail) vector. */
  let tailMask = -1;
  if (rem > 0 && mode === "inner") {
    const l = (tailMask = f.local("v128", "tailmask"));
    f.inPrologue((ff) => {
      ff.v128ConstI32(-1, rem > 1 ? -1 : 0, rem > 2 ? -1 : 0, 0);
      ff.localSet(l);
    });
  }

  const innerLoop = (ps: number[]): void => {
    // broadcast inputs: splat once
    const bcast: (Ex | null)[] = spec.inputs.map((inp, k) => {
      if (bstr[k][inner] !== 0) return null;
      const l = f.local("v128", "b");
      loadSplat(f, inp.dtype, ps[k]);
      f.localSet(l);
      return e.get(l);
    });
    /** The inputs at element `at` (static, relative to the current pointers) of the inner dim:
     * `lanes` consecutive elements (4, or 1..3 for the tail; other lanes hold filler). */
    const inputsAt = (at: number, lanes: number): Ex[] =>
      spec.inputs.map((inp, k) => {
        const bv = bcast[k];
        if (bv) return bv;
        const bs = bstr[k][inner];
        const l = f.local("v128", "in");
        if (bs === esize(inp.dtype)) {
          if (lanes === 4) loadVec(f, inp.dtype, ps[k], at * bs);
          else loadPartial(f, inp.dtype, ps[k], at * bs, lanes);
        } else gather(f, inp.dtype, ps[k], bs, at * bs, lanes);
        f.localSet(l);
        return e.get(l);
      });

    if (mode !== "inner") {
      const storeAt = (outs: Ex[], at: number, lanes: number): void => {
        outs.forEach((v, o) => {
          const dt = outDTs[o];
          const pp = ps[nIn + o];
          const off = at * esize(dt);
          let val = v;
          if (mode === "outer") {
            const cur = f.local("v128", "acc");
            if (lanes === 4) loadVec(f, dt, pp, off);
            else loadPartial(f, dt, pp, off, lanes);
            f.localSet(cur);
            val = e.bind(monoid(e, redOp!, dt, e.get(cur), v));
          }
          storePartial(f, dt, pp, val, off, lanes);
        });
      };
      if (unrollInner) {
        if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled`);
        for (let j = 0; j < nv; j++) storeAt(dag(inputsAt(4 * j, 4)), 4 * j, 4);
        if (rem > 0) {
          f.comment(`tail: ${rem} lane(s)`);
          storeAt(dag(inputsAt(4 * nv, rem)), 4 * nv, rem);
        }
        return;
      }
      f.comment(`vector loop: ${nv} x 4`);
      counted(nv, () => {
        storeAt(dag(inputsAt(0, 4)), 0, 4);
        advance(ps, inner, 4);
      });
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        storeAt(dag(inputsAt(0, rem)), 0, rem);
      }
      return;
    }

    // innermost dim reduced: vector accumulators
    const K = heavy ? 1 : unrollInner ? Math.max(1, Math.min(4, nv + (rem > 0 ? 1 : 0))) : 4;
    const accs: number[][] = outDTs.map((dt) =>
      Array.from({ length: K }, () => {
        const l = f.local("v128", "acc");
        f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
        return l;
      }),
    );
    // Blocked accumulation (REDUCTION_BLOCKS) for float sums and products that span more than one block.
    const blocked = (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && !unrollInner && Math.floor(nv / K) > REDUCTION_BLOCKS[0];
    const levelAccs: number[][] = blocked
      ? REDUCTION_BLOCKS.map(() =>
          outDTs.map((dt) => {
            const l = f.local("v128", "blk");
            f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
            return l;
          }),
        )
      : [];
    /** Moves the sum of level `l` (0: the lane accumulators) into level l + 1 and resets it. */
    const flush = (l: number): void =>
      outDTs.forEach((dt, o) => {
        const id = identityBits(redOp!, dt);
        if (l === 0) {
          let sum: Ex = e.get(accs[o][0]);
          for (let j = 1; j < K; j++) sum = e.bind(monoid(e, redOp!, dt, sum, e.get(accs[o][j])));
          e.set(levelAccs[0][o], monoid(e, redOp!, dt, e.get(levelAccs[0][o]), sum));
          for (let j = 0; j < K; j++) f.v128ConstI32(id).localSet(accs[o][j]);
        } else {
          e.set(levelAccs[l][o], monoid(e, redOp!, dt, e.get(levelAccs[l][o]), e.get(levelAccs[l - 1][o])));
          f.v128ConstI32(id).localSet(levelAccs[l - 1][o]);
        }
      });
    /** `count` units of level `l` (a level-0 unit is one group), each flushed into level l + 1... */
    const units = (l: number, count: number, group: () => void): void => {
      if (count === 0) return;
      if (l === 0) counted(count, group);
      else
        counted(count, () => {
          units(l - 1, REDUCTION_BLOCKS[l - 1], group);
          flush(l - 1);
        });
    };
    /** `nb` groups as whole units of the highest level, then whole units of each lower level. */
    const blockedGroups = (nb: number, group: () => void): void => {
      const unitGroups = [1];
      for (const b of REDUCTION_BLOCKS) unitGroups.push(unitGroups[unitGroups.length - 1] * b);
      let left = nb;
      for (let l = REDUCTION_BLOCKS.length; l >= 0; l--) {
        const q = Math.floor(left / unitGroups[l]);
        units(l, q, group);
        left -= q * unitGroups[l];
      }
    };
    const accumulate = (outs: Ex[], j: number, lanes: number): void => {
      outs.forEach((v, o) => {
        const dt = outDTs[o];
        let val = v;
        if (lanes < 4) val = e.sel(v, e.ic(identityBits(redOp!, dt)), e.get(tailMask));
        e.set(accs[o][j], monoid(e, redOp!, dt, e.get(accs[o][j]), val));
      });
    };
    if (unrollInner) {
      if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled into ${K} accumulator(s)`);
      for (let j = 0; j < nv; j++) accumulate(dag(inputsAt(4 * j, 4)), j % K, 4);
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        accumulate(dag(inputsAt(4 * nv, rem)), nv % K, rem);
      }
    } else {
      const nb = Math.floor(nv / K);
      const nr = nv - nb * K;
      const group = (): void => {
        for (let j = 0; j < K; j++) accumulate(dag(inputsAt(4 * j, 4)), j, 4);
        advance(ps, inner, 4 * K);
      };
      if (blocked && nb > REDUCTION_BLOCKS[0]) {
        f.comment(`vector loop: ${nb} x ${K} x 4, blocked ${REDUCTION_BLOCKS.join("/")} (pairwise-like accumulation)`);
        blockedGroups(nb, group);
      } else if (nb > 0) {
        f.comment(`vector loop: ${nb} x ${K} x 4`);
        counted(nb, group);
      }
      for (let j = 0; j < nr; j++) accumulate(dag(inputsAt(4 * j, 4)), j, 4);
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        accumulate(dag(inputsAt(4 * nr, rem)), nr % K, rem);
      }
    }
    f.comment("combine accumulators, horizontal reduce, store");
    outDTs.forEach((dt, o) => {
      const a = accs[o];
      for (let j = 1; j < K; j++) e.set(a[0], monoid(e, redOp!, dt, e.get(a[0]), e.get(a[j])));
      // the block levels, smallest sums first
      for (const lv of levelAccs) e.set(a[0], monoid(e, redOp!, dt, e.get(a[0]), e.get(lv[o])));
      const acc = e.get(a[0]);
      const swapHalves: Ex = (ff) => {
        acc(ff);
        acc(ff);
        ff.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
      };
      e.set(a[0], monoid(e, redOp!, dt, acc, swapHalves));
      const swapPairs: Ex = (ff) => {
        acc(ff);
        acc(ff);
        ff.shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]);
      };
      e.set(a[0], monoid(e, redOp!, dt, acc, swapPairs));
      const pp = ps[nIn + o];
      if (directStore) storeLane0(f, dt, pp, acc);
      else {
        const cur = f.local("v128", "cur");
        loadSplat(f, dt, pp);
        f.localSet(cur);
        storeLane0(f, dt, pp, e.bind(monoid(e, redOp!, dt, e.get(cur), acc)));
      }
    });
  };

  // --- blocked accumulation over an outer reduced dim ------------------------------------
  // A reduced dim just outside a short kept innermost one -- sum(x, 0) of [1e6, 4] -- would
  // add row after row into the outputs, an error of eps·rows. When the row fits in
  // OUTER_ROW_VECTORS vectors, its sum over the rows is kept in registers instead, with the
  // block levels of inner reductions (REDUCTION_BLOCKS, counted in rows), and added into the
  // outputs once: error ~ eps·log(rows), and faster (no load/store of the outputs per row;
  // measured 10x on [1e6, 4]). Wider rows keep the row-by-row loop: walking them in column
  // tiles (strided) measured 1.2-2x slower than streaming the rows, so they stay eps·rows
  // until kernels get a scratch row for a level-1 accumulator (RELIABILITY.md, known gaps).
  const outerRows = D >= 2 && mode === "outer" && reduced[D - 2] ? shape[D - 2] : 0;
  const rowVecs = Math.ceil(n / 4);
  const outerBlocked =
    (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && outerRows > REDUCTION_BLOCKS[0] && rowVecs <= (heavy ? 2 : OUTER_ROW_VECTORS);
  const blockedOuterRows = (ps: number[]): void => {
    const d = D - 2;
    const lastLanes = n % 4 === 0 ? 4 : n % 4;
    f.comment(`dim ${d}: ${outerRows} (reduced), rows of ${rowVecs} vector(s) summed in registers, blocked ${REDUCTION_BLOCKS.join("/")}`);
    const rowPtr = Array.from({ length: nPtr }, () => f.local("i32", "row"));
    for (let p = 0; p < nPtr; p++) f.localGet(ps[p]).localSet(rowPtr[p]);
    // levels[0] takes rows; levels[l] takes REDUCTION_BLOCKS[l - 1] units of level l - 1
    const levels: number[][][] = [0, ...REDUCTION_BLOCKS].map(() =>
      outDTs.map((dt) =>
        Array.from({ length: rowVecs }, () => {
          const l = f.local("v128", "oacc");
          f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
          return l;
        }),
      ),
    );
    const fold = (into: number, from: number): void =>
      outDTs.forEach((dt, o) => {
        for (let j = 0; j < rowVecs; j++) e.set(levels[into][o][j], monoid(e, redOp!, dt, e.get(levels[into][o][j]), e.get(levels[from][o][j])));
      });
    const reset = (l: number): void =>
      outDTs.forEach((dt, o) => {
        for (let j = 0; j < rowVecs; j++) f.v128ConstI32(identityBits(redOp!, dt)).localSet(levels[l][o][j]);
      });
    /** One row into level 0; advances the row pointers. Filler lanes of a partial last vector are never stored. */
    const row = (): void => {
      for (let j = 0; j < rowVecs; j++) {
        const lanes = j === rowVecs - 1 ? lastLanes : 4;
        const ins = spec.inputs.map((inp, k) => {
          const bs = bstr[k][inner];
          const l = f.local("v128", "oin");
          if (bs === 0) loadSplat(f, inp.dtype, rowPtr[k]);
          else if (bs === esize(inp.dtype)) {
            if (lanes === 4) loadVec(f, inp.dtype, rowPtr[k], 4 * j * bs);
            else loadPartial(f, inp.dtype, rowPtr[k], 4 * j * bs, lanes);
          } else gather(f, inp.dtype, rowPtr[k], bs, 4 * j * bs, lanes);
          f.localSet(l);
          return e.get(l);
        });
        dag(ins).forEach((v, o) => e.set(levels[0][o][j], monoid(e, redOp!, outDTs[o], e.get(levels[0][o][j]), v)));
      }
      advance(rowPtr, d, 1);
    };
    /** `count` units of level `l` (a level-0 unit is one row), each folded into level l + 1. */
    const units = (l: number, count: number): void => {
      if (count === 0) return;
      if (l === 0) counted(count, row);
      else
        counted(count, () => {
          units(l - 1, REDUCTION_BLOCKS[l - 1]);
          fold(l, l - 1);
          reset(l - 1);
        });
    };
    const unitRows = [1];
    for (const b of REDUCTION_BLOCKS) unitRows.push(unitRows[unitRows.length - 1] * b);
    let left = outerRows;
    for (let l = REDUCTION_BLOCKS.length; l >= 0; l--) {
      const q = Math.floor(left / unitRows[l]);
      units(l, q);
      left -= q * unitRows[l];
    }
    f.comment("combine the block levels (smallest sums first), add into the outputs");
    for (let l = 1; l <= REDUCTION_BLOCKS.length; l++) fold(0, l);
    outDTs.forEach((dt, o) => {
      for (let j = 0; j < rowVecs; j++) {
        const lanes = j === rowVecs - 1 ? lastLanes : 4;
        const off = 4 * j * esize(dt);
        const cur = f.local("v128", "ocur");
        if (lanes === 4) loadVec(f, dt, ps[nIn + o], off);
        else loadPartial(f, dt, ps[nIn + o], off, lanes);
        f.localSet(cur);
        storePartial(f, dt, ps[nIn + o], e.bind(monoid(e, redOp!, dt, e.get(cur), e.get(levels[0][o][j]))), off, lanes);
      }
    });
  };

  const level = (d: number): void => {
    if (d === D - 2 && outerBlocked) {
      blockedOuterRows(ptr[d]);
      return;
    }
    if (d === inner) {
      innerLoop(ptr[d]);
      return;
    }
    f.comment(`dim ${d}: ${shape[d]}${reduced[d] && hasRed ? " (reduced)" : ""}`);
    counted(shape[d], () => {
      if (d + 1 === inner && unrollInner) innerLoop(ptr[d]);
      else {
        for (let p = 0; p < nPtr; p++) f.localGet(ptr[d][p]).localSet(ptr[d + 1][p]);
        level(d + 1);
      }
      advance(ptr[d], d, 1);
    });
  };
  level(0);

  mb.addFunction(f, "kernel");
  return { bytes: mb.encode(), text: mb.text(), usesSin, usesCos };
}

// --- compile + caches --------------------------------------------------------------------------

const moduleCache = new Map<string, { module: WebAssembly.Module; gen: Generated }>();
const instanceCache = new WeakMap<WebAssembly.Memory, Map<string, CompiledKernel>>();

/** Whether this engine runs relaxed-SIMD code (probed once by validating a tiny module, then
 * cached): Node >= 22 / recent browsers; Node 20 with `--experimental-wasm-relaxed-simd`. When
 * true, compileKernel uses `relaxed_madd` unless told otherwise. */
export function relaxedSimdAvailable(): boolean {
  return probeRelaxedSimd();
}

/** Number of distinct kernel modules compiled so far (for tests and debugging). */
export function compiledModuleCount(): number {
  return moduleCache.size;
}

function canonicalKey(spec: KernelSpec, canon: Canon, shared: boolean, relaxed: boolean): string {
  return JSON.stringify({
    s: canon.shape,
    r: canon.reduced,
    e: canon.empty,
    o: canon.outSize,
    st: canon.strides,
    i: spec.inputs.map((i) => i.dtype),
    n: spec.nodes,
    out: spec.outputs,
    ro: spec.reduction?.op ?? null,
    sh: shared,
    rx: relaxed,
  }, distinctNumbers);
}

/** JSON writes NaN and ±Infinity all as null and -0 as 0; constants with those values must not share a kernel. */
function distinctNumbers(_key: string, v: unknown): unknown {
  return typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${Object.is(v, -0) ? "-0" : v}` : v;
}

/** `run` is called once per kernel per program step, thousands of times a second on small
 * kernels: call the export with a fixed arity (no spread, no per-call allocation) where there
 * are few pointers; beyond that, through one reused argument array. */
function makeRunner(
  fn: (...ptrs: number[]) => void,
  nIn: number,
  nOut: number,
  check: (ins: readonly number[], outs: readonly number[]) => void,
): CompiledKernel["run"] {
  type R = CompiledKernel["run"];
  const f = fn as (...a: number[]) => void;
  if (nOut === 1) {
    const one: R[] = [
      (i, o) => (check(i, o), f(o[0])),
      (i, o) => (check(i, o), f(i[0], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], o[0])),
    ];
    if (nIn < one.length) return one[nIn];
  }
  if (nOut === 2 && nIn <= 3) {
    const two: R[] = [
      (i, o) => (check(i, o), f(o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0], o[1])),
    ];
    return two[nIn];
  }
  const args = new Array<number>(nIn + nOut).fill(0);
  return (ins, outs) => {
    check(ins, outs);
    for (let k = 0; k < nIn; k++) args[k] = ins[k];
    for (let k = 0; k < nOut; k++) args[nIn + k] = outs[k];
    Reflect.apply(f, undefined, args);
  };
}

/** Compiles (or fetches from the cache) the kernel of `spec` for `opts.memory`. */
export function compileKernel(spec: KernelSpec, opts: CompileOptions): CompiledKernel {
  const relaxed = opts.relaxedSimd ?? relaxedSimdAvailable();
  if (relaxed && !relaxedSimdAvailable()) fail("relaxedSimd was requested, but this engine does not support relaxed SIMD");
  const memory = opts.memory;
  const shared = isSharedMemory(memory);
  const dts = inferDTypes(spec);
  spec.outputs.forEach((o, i) => {
    if (!Number.isInteger(o.node) || o.node < 0 || o.node >= spec.nodes.length) fail(`output ${i} names a missing node ${o.node}`);
    if (dts[o.node] !== o.dtype) fail(`output ${i} has dtype ${o.dtype} but node ${o.node} produces ${dts[o.node]}`);
  });
  if (spec.outputs.length === 0) fail("a kernel needs at least one output");
  const canon = canonicalize(spec);
  const key = canonicalKey(spec, canon, shared, relaxed);

  let perMem = instanceCache.get(memory);
  if (!perMem) instanceCache.set(memory, (perMem = new Map()));
  const hit = perMem.get(key);
  if (hit) return hit;

  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const checkPtrs = (ins: readonly number[], outs: readonly number[]): void => {
    if (ins.length !== nIn || outs.length !== nOut) {
      throw new BackendError(`kernel.run: expected ${nIn} input and ${nOut} output pointers, got ${ins.length} and ${outs.length}`);
    }
  };

  let kernel: CompiledKernel;
  if (canon.empty) {
    // nothing to iterate: reductions over empty axes fill their (non-empty) outputs with the identity
    kernel = {
      key,
      bytes: new Uint8Array(0),
      text: () => ";; empty iteration space: no code" + (spec.reduction ? "; outputs filled with the identity" : ""),
      run(ins, outs) {
        checkPtrs(ins, outs);
        if (!spec.reduction || canon.outSize === 0) return;
        outs.forEach((p, o) => {
          const dt = spec.outputs[o].dtype;
          const bits = identityBits(spec.reduction!.op, dt);
          if (dt === "bool") new Uint8Array(memory.buffer, p, canon.outSize).fill(bits);
          else new Int32Array(memory.buffer, p, canon.outSize).fill(bits);
        });
      },
    };
  } else {
    let cached = moduleCache.get(key);
    if (!cached) {
      const gen = generate(spec, canon, dts, shared, relaxed);
      const module = compileGenerated("compileKernel", gen.bytes);
      cached = { module, gen };
      moduleCache.set(key, cached);
    }
    const { module, gen } = cached;
    const env: Record<string, unknown> = { memory };
    if (gen.usesSin) env.sin = Math.sin;
    if (gen.usesCos) env.cos = Math.cos;
    const instance = new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
    const fn = instance.exports.kernel as (...ptrs: number[]) => void;
    kernel = { key, bytes: gen.bytes, text: () => gen.text, run: makeRunner(fn, nIn, nOut, checkPtrs) };
  }
  perMem.set(key, kernel);
  return kernel;
}
