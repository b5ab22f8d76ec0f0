// Random valid cases for every first-order primitive, shared by the property
// tests that sweep the primitive set: backend.prop.test.ts (wasm == interpreter)
// and vmap.prop.test.ts (vmap == stack of slices). `primitiveCases(options)`
// returns a table typed over FirstOrderPrimitive, so a new primitive fails to
// compile until it has a generator here. The options bound the cases: the
// largest dim and argument size, the dtypes of each family of primitives,
// whether float data may hold special values (NaN, ±Inf, ±0) and whether
// arguments reach the primitive through views. SIMD_STRESS (the backend
// tests' options) draws dims that stress a SIMD backend — 0, 1, odd sizes and
// non-multiples of 4 up to 33 — every dtype the primitive's shape rule accepts
// (float16 included), special values, and views: a transpose, rev, strided
// slice or broadcast of a differently shaped base array, so that the fused
// lowering inside jit reads them as strided views.
//
// The PrimCase / ArgSpec shapes are those of test/vmap_oracle.ts.

import fc from "fast-check";
import { Array as TfArray, type DType, type Tracer } from "../src/index";
import { allocTyped, roundToDType, type TypedArray } from "../src/core/dtype";
import type { BinaryElementwise, Decomposition, FirstOrderPrimitive, UnaryElementwise } from "../src/core/primitives";
import { UNARY_ELEMENTWISE, BINARY_ELEMENTWISE, familyTable, isHigherOrder, type Primitive } from "../src/core/primitives";
import { shapeRules } from "../src/core/shape_rules/index";
import { bind, bind1 } from "../src/core/trace";
import type { ArgSpec, PrimCase } from "../test/vmap_oracle";

export type { ArgSpec, PrimCase };
export type G = fc.GeneratorValue;
export type CaseGen = (g: G) => PrimCase;

// --- generation helpers over fc.gen() (all shrink towards the first / smallest choice) ---

export const int = (g: G, min: number, max: number): number => g(fc.integer, { min, max });
/** true with probability pTrue; shrinks towards false. */
export const coin = (g: G, pTrue = 0.5): boolean => int(g, 0, 999) >= (1 - pTrue) * 1000;
export const pick = <T>(g: G, xs: readonly T[]): T => xs[int(g, 0, xs.length - 1)];
export const subset = <T>(g: G, xs: readonly T[]): T[] => xs.filter(() => coin(g));
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
export function perm(g: G, n: number): number[] {
  const p = range(n);
  for (let i = n - 1; i > 0; i--) {
    const j = int(g, 0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
/** k distinct elements of xs in random order. */
export const choose = <T>(g: G, xs: readonly T[], k: number): T[] => perm(g, xs.length).slice(0, k).map((i) => xs[i]);
const complement = (n: number, ...ex: number[][]) => range(n).filter((d) => !ex.some((e) => e.includes(d)));

/**
 * Every first-order primitive at run time, read from the registry's shape-rule
 * table (typed exhaustively over Primitive): the sweeps assert that they cover
 * it, so a table that lost an entry at run time fails a test, not silently.
 */
export const FIRST_ORDER_PRIMITIVES: readonly FirstOrderPrimitive[] = (Object.keys(shapeRules) as Primitive[]).filter((p): p is FirstOrderPrimitive => !isHigherOrder(p));

/** The keys of a sweep's table, sorted, for comparing with FIRST_ORDER_PRIMITIVES. */
export const sortedKeys = (table: object): string[] => Object.keys(table).sort();

// --- options ------------------------------------------------------------------------------

/** The dtypes drawn for each family of primitives (a family's dtypes must all be accepted by its members). */
export interface DTypeFamilies {
  float: DType[];
  numeric: DType[];
  signed: DType[];
  integer: DType[];
  boolOrInt: DType[];
  any: DType[];
}

/** Every dtype each family accepts (float16 included). */
export const ALL_DTYPES: DTypeFamilies = {
  float: ["float32", "float16"],
  numeric: ["float32", "int32", "uint32", "float16"],
  signed: ["float32", "int32", "float16"],
  integer: ["int32", "uint32"],
  boolOrInt: ["bool", "int32", "uint32"],
  any: ["float32", "int32", "bool", "uint32", "float16"],
};

export interface CaseOptions {
  /** The largest dim drawn (dims come from DIMS; per-primitive bounds above this are lowered to it). */
  maxDim: number;
  /** The most elements of one argument (per-primitive caps above this are lowered to it). */
  maxSize: number;
  dtypes: DTypeFamilies;
  /** Float data may hold NaN, ±Inf and ±0 (the "special" ValueKind of drawValueKind). */
  specialValues: boolean;
  /** Arguments may reach the primitive through a view of another array (drawViews). */
  views: boolean;
  /** Every case has an array argument (vmap needs one to map over): iota's result is added to one. */
  iotaOperand: boolean;
}

/** Shapes that stress a SIMD backend, every accepted dtype, special values and views (backend.prop.test.ts). */
export const SIMD_STRESS: CaseOptions = {
  maxDim: 33,
  maxSize: 1500,
  dtypes: ALL_DTYPES,
  specialValues: true,
  views: true,
  iotaOperand: false,
};

/** Dims that matter to a 4-lane SIMD backend: 1, tails of 1..3 lanes, empty, and larger odd sizes. */
const DIMS = [1, 2, 3, 5, 0, 4, 7, 8, 9, 13, 17, 33];

const isFloatDT = (d: DType) => d === "float32" || d === "float16";
export const spec = (shape: number[], dtype: DType, lo?: number, hi?: number): ArgSpec => ({ shape, dtype, lo, hi });
/** Marks a spec whose float data never holds NaN or ±Inf, even for "special" values. */
export const finite = (s: ArgSpec): ArgSpec => Object.assign(s, { finite: true });
/** A spec whose range suits the dtype (unsigned ranges start at 0). */
const valued = (shape: number[], dtype: DType, lo = -4, hi = 4): ArgSpec => spec(shape, dtype, dtype === "uint32" ? Math.max(0, lo) : lo, hi);

const windowOut = (n: number, w: number, s: number, lo: number, hi: number, bd: number, wd: number) => {
  const dil = n === 0 ? 0 : (n - 1) * bd + 1;
  const padded = lo + dil + hi;
  const dw = (w - 1) * wd + 1;
  return padded < dw ? 0 : Math.floor((padded - dw) / s) + 1;
};

// --- generators -------------------------------------------------------------------------

type Family = keyof DTypeFamilies;

// --- op records: one row per elementwise primitive ------------------------------------
// As JAX's lax_test op records: everything the per-primitive property tests
// need of an elementwise primitive is one row here — the dtype family and data
// range of its random cases (this file), how closely the wasm and WebGPU
// backends must match the interpreter (backend.prop / webgpu.prop), and the
// range its derivative is checked on (grad.prop). A new elementwise primitive
// is one row; the tables are typed over their families, so tsc asks for it.

/** How closely wasm matches the interpreter: bitwise (exactly rounded ops), or a few float32 ulp. */
export type WasmAccuracy = "exact" | "ulp";
/**
 * How closely WebGPU matches the interpreter: bitwise; WGSL's division and
 * inverseSqrt (a few ulp); f32 transcendental functions; sin/cos (range
 * reduction in f32); pow (exp2 of a product of logs).
 */
export type WebGpuAccuracy = "exact" | "fewUlp" | "transcendental" | "trig" | "pow";
/**
 * Where grad.prop checks the derivative: a data range per operand; "none" for
 * primitives whose derivative is zero or undefined wherever it exists (integer,
 * bool or piecewise-constant results); "own" where grad.prop needs its own
 * builder (operands kept away from a kink or a pole).
 */
type GradDomain<Arity extends number> = (Arity extends 1 ? readonly [number, number] : readonly [readonly [number, number], readonly [number, number]]) | "none" | "own";

export interface UnaryRecord {
  readonly family: Family;
  readonly lo: number;
  readonly hi: number;
  readonly wasm: WasmAccuracy;
  readonly webgpu: WebGpuAccuracy;
  readonly grad: GradDomain<1>;
}
export interface BinaryRecord {
  readonly family: Family;
  readonly wasm: WasmAccuracy;
  readonly webgpu: WebGpuAccuracy;
  readonly grad: GradDomain<2>;
}

/** A record that keeps the literal type of its grad domain, which grad.prop's types read. */
const unaryRecord = <const Gr extends GradDomain<1>>(family: Family, lo: number, hi: number, wasm: WasmAccuracy, webgpu: WebGpuAccuracy, grad: Gr): UnaryRecord & { readonly grad: Gr } =>
  ({ family, lo, hi, wasm, webgpu, grad });
const binaryRecord = <const Gr extends GradDomain<2>>(family: Family, wasm: WasmAccuracy, webgpu: WebGpuAccuracy, grad: Gr): BinaryRecord & { readonly grad: Gr } =>
  ({ family, wasm, webgpu, grad });

/** Every unary elementwise primitive but integer_pow (its exponent is a param: it has its own generators). */
export const UNARY_RECORDS = {
  neg: unaryRecord("numeric", -4, 4, "exact", "exact", [-1, 1]),
  sign: unaryRecord("numeric", -2, 2, "exact", "exact", "none"),
  floor: unaryRecord("float", -3, 3, "exact", "exact", "none"),
  ceil: unaryRecord("float", -3, 3, "exact", "exact", "none"),
  round: unaryRecord("float", -3, 3, "exact", "exact", "none"),
  is_finite: unaryRecord("float", -3, 3, "exact", "exact", "none"),
  abs: unaryRecord("signed", -4, 4, "exact", "exact", "own"),
  not: unaryRecord("boolOrInt", -9, 9, "exact", "exact", "none"),
  exp: unaryRecord("float", -10, 10, "ulp", "transcendental", [-1, 1]),
  log: unaryRecord("float", -0.5, 5, "ulp", "transcendental", [0.5, 2]),
  log1p: unaryRecord("float", -1.5, 3, "ulp", "transcendental", [-0.5, 1]),
  expm1: unaryRecord("float", -5, 5, "ulp", "transcendental", [-1, 1]),
  sqrt: unaryRecord("float", -0.5, 5, "exact", "fewUlp", [0.5, 2]),
  rsqrt: unaryRecord("float", -0.5, 5, "ulp", "fewUlp", [0.5, 2]),
  logistic: unaryRecord("float", -8, 8, "ulp", "transcendental", [-3, 3]),
  erf: unaryRecord("float", -3, 3, "ulp", "transcendental", [-1.5, 1.5]),
  erf_inv: unaryRecord("float", -1, 1, "ulp", "transcendental", [-0.7, 0.7]),
  sin: unaryRecord("float", -7, 7, "ulp", "trig", [-3, 3]),
  cos: unaryRecord("float", -7, 7, "ulp", "trig", [-3, 3]),
  // tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh (and atan2) are expanded by the planner into
  // sin/cos, exp/expm1, log/log1p, sqrt and arithmetic (plan/transcendental.ts).
  tan: unaryRecord("float", -1.5, 1.5, "ulp", "trig", [-1, 1]),
  asin: unaryRecord("float", -1.1, 1.1, "ulp", "transcendental", [-0.7, 0.7]),
  acos: unaryRecord("float", -1.1, 1.1, "ulp", "transcendental", [-0.7, 0.7]),
  atan: unaryRecord("float", -5, 5, "ulp", "transcendental", [-2, 2]),
  sinh: unaryRecord("float", -4, 4, "ulp", "transcendental", [-1.5, 1.5]),
  cosh: unaryRecord("float", -4, 4, "ulp", "transcendental", [-1.5, 1.5]),
  tanh: unaryRecord("float", -5, 5, "ulp", "transcendental", [-1.5, 1.5]),
  asinh: unaryRecord("float", -5, 5, "ulp", "transcendental", [-2, 2]),
  acosh: unaryRecord("float", 0.5, 5, "ulp", "transcendental", [1.3, 3]),
  atanh: unaryRecord("float", -1.1, 1.1, "ulp", "transcendental", [-0.7, 0.7]),
} as const satisfies { [P in Exclude<UnaryElementwise, "integer_pow">]: UnaryRecord };

export const BINARY_RECORDS = {
  add: binaryRecord("numeric", "exact", "exact", [[-1, 1], [-1, 1]]),
  sub: binaryRecord("numeric", "exact", "exact", [[-1, 1], [-1, 1]]),
  mul: binaryRecord("numeric", "exact", "exact", [[-1, 1], [-1, 1]]),
  div: binaryRecord("numeric", "exact", "fewUlp", "own"),
  rem: binaryRecord("numeric", "exact", "exact", [[2.2, 2.8], [1, 1.05]]),
  pow: binaryRecord("float", "ulp", "pow", [[0.5, 1.8], [-1.5, 1.5]]),
  max: binaryRecord("any", "exact", "exact", "own"),
  min: binaryRecord("any", "exact", "exact", "own"),
  atan2: binaryRecord("float", "ulp", "transcendental", [[0.3, 1], [-1, 1]]),
  and: binaryRecord("boolOrInt", "exact", "exact", "none"),
  or: binaryRecord("boolOrInt", "exact", "exact", "none"),
  xor: binaryRecord("boolOrInt", "exact", "exact", "none"),
  eq: binaryRecord("any", "exact", "exact", "none"),
  ne: binaryRecord("any", "exact", "exact", "none"),
  lt: binaryRecord("any", "exact", "exact", "none"),
  le: binaryRecord("any", "exact", "exact", "none"),
  gt: binaryRecord("any", "exact", "exact", "none"),
  ge: binaryRecord("any", "exact", "exact", "none"),
  shift_left: binaryRecord("integer", "exact", "exact", "none"),
  shift_right_logical: binaryRecord("integer", "exact", "exact", "none"),
} as const satisfies { [P in BinaryElementwise]: BinaryRecord };

export type RecordedUnary = keyof typeof UNARY_RECORDS;
type UnaryGrad<G> = { [P in RecordedUnary]: (typeof UNARY_RECORDS)[P]["grad"] extends G ? P : never }[RecordedUnary];
type BinaryGrad<G> = { [P in BinaryElementwise]: (typeof BINARY_RECORDS)[P]["grad"] extends G ? P : never }[BinaryElementwise];
/** Elementwise primitives with no derivative to check (their records say "none"). */
export type ElementwiseWithoutDerivative = UnaryGrad<"none"> | BinaryGrad<"none">;
/** Elementwise primitives whose derivative is checked on the ranges of their records. */
export type UnaryWithGradDomain = UnaryGrad<readonly [number, number]>;
export type BinaryWithGradDomain = BinaryGrad<readonly [readonly [number, number], readonly [number, number]]>;

/**
 * Every first-order primitive's case generator, with shapes, dtypes and data
 * bounded by `o`: a table typed over FirstOrderPrimitive, so a new primitive
 * fails to compile until it has a generator here.
 */
export function primitiveCases(o: CaseOptions): { [P in FirstOrderPrimitive]: CaseGen } {
  const { float: FLOAT, numeric: NUMERIC, integer: INTEGER, boolOrInt: BOOL_OR_INT, any: ANY } = o.dtypes;

  /** A dim from DIMS within [min, min(max, o.maxDim)]. */
  const dim = (g: G, min = 0, max = o.maxDim): number => pick(g, DIMS.filter((d) => d >= min && d <= Math.min(max, o.maxDim)));

  /** A random shape whose size stays within min(cap, o.maxSize) (the interpreter is the oracle, and it is slow). */
  const shapeOf = (g: G, minRank: number, maxRank: number, minDim = 0, maxDim = o.maxDim, cap = o.maxSize): number[] => {
    const s = range(int(g, minRank, maxRank)).map(() => dim(g, minDim, maxDim));
    const limit = Math.min(cap, o.maxSize);
    while (sizeOf(s) > limit) {
      const i = s.indexOf(Math.max(...s));
      s[i] = Math.max(minDim, Math.ceil(s[i] / 2));
    }
    return s;
  };

  const unaryGen = (prim: UnaryElementwise | "stop_gradient"): CaseGen => (g) => {
    const shape = shapeOf(g, 0, 3);
    if (prim === "integer_pow") {
      const y = int(g, -3, 4);
      const dtype = y < 0 ? pick(g, FLOAT) : pick(g, NUMERIC);
      return { prim, params: { y }, args: [isFloatDT(dtype) ? spec(shape, dtype, 0.25, 2.5) : valued(shape, dtype, -5, 5)] };
    }
    if (prim === "stop_gradient") return { prim, params: {}, args: [valued(shape, pick(g, ANY))] };
    const { family, lo, hi } = UNARY_RECORDS[prim];
    return { prim, params: {}, args: [valued(shape, pick(g, o.dtypes[family]), lo, hi)] };
  };

  const binaryGen = (prim: BinaryElementwise): CaseGen => (g) => {
    const shape = shapeOf(g, 0, 3);
    const dtype = pick(g, o.dtypes[BINARY_RECORDS[prim].family]);
    if (prim === "shift_left" || prim === "shift_right_logical") return { prim, params: {}, args: [valued(shape, dtype, -100, 100), spec(shape, dtype, 0, 35)] };
    if (prim === "pow") return { prim, params: {}, args: [spec(shape, dtype, 0, 3), spec(shape, dtype, -3, 3)] };
    if (prim === "div" || prim === "rem") {
      // Integer division by zero has a defined result in this library, but keep most divisors non-zero.
      const lo = isFloatDT(dtype) || coin(g, 0.2) ? -4 : 1;
      return { prim, params: {}, args: [valued(shape, dtype, -20, 20), valued(shape, dtype, lo, 4)] };
    }
    if (prim === "mul" && !isFloatDT(dtype) && coin(g, 0.3)) {
      // wrap-around of 32-bit integer products
      return { prim, params: {}, args: [valued(shape, dtype, -100000, 100000), valued(shape, dtype, -100000, 100000)] };
    }
    return { prim, params: {}, args: [valued(shape, dtype, -4, 4), valued(shape, dtype, -4, 4)] };
  };

  const reductionGen = (prim: string, dtypes: DType[]): CaseGen => (g) => {
    const shape = shapeOf(g, 0, 4);
    const dtype = pick(g, dtypes);
    // products of many factors over/underflow; keep them near 1
    const [lo, hi] = prim === "reduce_prod" ? (isFloatDT(dtype) ? [0.5, 1.75] : [-1, 2]) : [-3, 3];
    return { prim, params: { axes: subset(g, range(shape.length)) }, args: [valued(shape, dtype, lo, hi)] };
  };

  const argGen = (prim: string): CaseGen => (g) => {
    const shape = shapeOf(g, 1, 3, 1);
    return { prim, params: { axis: int(g, 0, shape.length - 1), indexDtype: pick(g, INTEGER) }, args: [valued(shape, pick(g, ANY), -3, 3)] };
  };

  const cumGen = (prim: string, dtypes: DType[]): CaseGen => (g) => {
    const shape = shapeOf(g, 1, 3);
    const dtype = pick(g, dtypes);
    const [lo, hi] = prim === "cumprod" ? (isFloatDT(dtype) ? [0.5, 1.75] : [-1, 2]) : [-3, 3];
    return { prim, params: { axis: int(g, 0, shape.length - 1), reverse: coin(g) }, args: [valued(shape, dtype, lo, hi)] };
  };

  const windowGen = (prim: string, dtypes: DType[]): CaseGen => (g) => {
    const shape = shapeOf(g, 1, 3, 1, 17, 400);
    const p = {
      windowDimensions: shape.map(() => int(g, 1, 3)),
      windowStrides: shape.map(() => int(g, 1, 3)),
      padding: shape.map(() => [int(g, 0, 2), int(g, 0, 2)]),
      baseDilation: shape.map(() => int(g, 1, 2)),
      windowDilation: shape.map(() => int(g, 1, 2)),
    };
    return { prim, params: p, args: [valued(shape, pick(g, dtypes), -4, 4)] };
  };

  /** Operand batching dims and index batch shape shared by gather and scatter. */
  const indexBatch = (g: G, shape: number[]) => {
    const r = shape.length;
    const obd = coin(g, 0.3) ? [int(g, 0, r - 1)] : [];
    const rest = complement(r, obd);
    const K = rest.length === 0 ? 0 : int(g, 1, rest.length);
    return { r, obd, rest, K };
  };
  const batchDims = (g: G, shape: number[], obd: number[]) => {
    const bR = obd.length + int(g, 0, 2);
    const batchPos = choose(g, range(bR), obd.length);
    const batchShape = range(bR).map((i) => (batchPos.includes(i) ? shape[obd[batchPos.indexOf(i)]] : dim(g, 0, 5)));
    return { bR, batchPos, batchShape };
  };

  const gatherGen: CaseGen = (g) => {
    const shape = shapeOf(g, 1, 3, 1, 9, 300);
    const { r, obd, rest, K } = indexBatch(g, shape);
    const startIndexMap = choose(g, rest, K);
    const sliceSizes = shape.map((n, d) => (obd.includes(d) ? 1 : int(g, startIndexMap.includes(d) ? 0 : 1, n)));
    const collapsedSliceDims = rest.filter((d) => sliceSizes[d] === 1 && coin(g));
    const { bR, batchPos, batchShape } = batchDims(g, shape, obd);
    const W = r - collapsedSliceDims.length - obd.length;
    const offsetDims = choose(g, range(bR + W), W).sort((a, b) => a - b);
    const mode = pick(g, ["clip", "fill"]);
    const fillValue = mode === "fill" && coin(g) ? -7 : null;
    return {
      prim: "gather",
      params: {
        dimensionNumbers: { offsetDims, collapsedSliceDims, startIndexMap, operandBatchingDims: obd, startIndicesBatchingDims: batchPos },
        sliceSizes, mode, fillValue,
      },
      args: [valued(shape, pick(g, ANY)), spec([...batchShape, K], pick(g, INTEGER), -1, Math.max(...shape))],
    };
  };

  const scatterGen = (prim: "scatter" | "scatter_add"): CaseGen => (g) => {
    const shape = shapeOf(g, 1, 3, 1, 9, 300);
    const { r, obd, rest, K } = indexBatch(g, shape);
    const scatterDimsToOperandDims = choose(g, rest, K);
    const insertedWindowDims = rest.filter(() => coin(g, 0.4));
    const windowDims = complement(r, insertedWindowDims, obd);
    const { bR, batchPos, batchShape } = batchDims(g, shape, obd);
    const W = windowDims.length;
    const updateWindowDims = choose(g, range(bR + W), W).sort((a, b) => a - b);
    const updShape: number[] = [];
    let w = 0;
    let s = 0;
    for (let i = 0; i < bR + W; i++) updShape.push(updateWindowDims.includes(i) ? int(g, 0, shape[windowDims[w++]]) : batchShape[s++]);
    const dtype = pick(g, prim === "scatter" ? ANY : NUMERIC);
    return {
      prim,
      params: {
        dimensionNumbers: { updateWindowDims, insertedWindowDims, scatterDimsToOperandDims, operandBatchingDims: obd, scatterIndicesBatchingDims: batchPos },
        mode: pick(g, ["clip", "fill"]),
      },
      args: [valued(shape, dtype), spec([...batchShape, K], pick(g, INTEGER), -1, Math.max(...shape)), valued(updShape, dtype)],
    };
  };

  const dotGen: CaseGen = (g) => {
    const d = () => dim(g, 0, 33);
    const bs = range(int(g, 0, 2)).map(() => dim(g, 0, 5));
    const cs = range(int(g, 0, 2)).map(d);
    const lfs = range(int(g, 0, 2)).map(d);
    const rfs = range(int(g, 0, 2)).map(d);
    // keep the work (and the interpreter's time) bounded
    const all = [bs, cs, lfs, rfs];
    while (sizeOf([...bs, ...cs, ...lfs]) > o.maxSize || sizeOf([...bs, ...cs, ...rfs]) > o.maxSize) {
      for (const arr of all) arr.forEach((n, i) => (arr[i] = Math.ceil(n / 2)));
    }
    const layout = (fs: number[]) => {
      const items = [...bs.map((n, i) => ["b", i, n]), ...cs.map((n, i) => ["c", i, n]), ...fs.map((n, i) => ["f", i, n])] as [string, number, number][];
      const p = perm(g, items.length).map((i) => items[i]);
      const pos = (kind: string, i: number) => p.findIndex(([k, j]) => k === kind && j === i);
      return { shape: p.map(([, , n]) => n), batch: bs.map((_, i) => pos("b", i)), contract: cs.map((_, i) => pos("c", i)) };
    };
    const L = layout(lfs);
    const R = layout(rfs);
    // 0: f32; 1: integers (maybe accumulated to f32); 2: f16 (maybe accumulated to f32); 3: f32 with preferred f32
    const kind = pick(g, FLOAT.includes("float16") ? [0, 1, 2, 3] : [0, 1, 3]);
    const [dtype, preferred]: [DType, DType | null] =
      kind === 0 ? ["float32", null]
      : kind === 1 ? [pick(g, INTEGER), coin(g) ? "float32" : null]
      : kind === 2 ? ["float16", pick(g, [null, "float32"] as (DType | null)[])]
      : ["float32", "float32"];
    return {
      prim: "dot_general",
      params: { dimensionNumbers: [[L.contract, R.contract], [L.batch, R.batch]], preferredElementType: preferred },
      args: [valued(L.shape, dtype, -3, 3), valued(R.shape, dtype, -3, 3)],
    };
  };

  const convGen: CaseGen = (g) => {
    const nsp = pick(g, [2, 1, 2, 3]);
    const rank = nsp + 2;
    const grouping = pick(g, ["none", "feature", "batch"]);
    const G = grouping === "feature" ? int(g, 2, 3) : 1;
    const BG = grouping === "batch" ? 2 : 1;
    const I = int(g, 1, 3);
    const C = G * I;
    const O = G * BG * int(g, 1, 3);
    const N = BG * int(g, 1, 2);
    const maxSp = nsp === 3 ? 4 : nsp === 2 ? 9 : 17;
    const inSp = range(nsp).map(() => dim(g, 1, maxSp));
    const kSp = range(nsp).map(() => int(g, 1, 3));
    const standard = coin(g, 0.5);
    const nhwc = range(rank).map((i) => (i === 0 ? 0 : i === 1 ? rank - 1 : i - 1)); // [N, C, spatial] positions for NHWC
    const hwio = range(rank).map((i) => (i === 0 ? rank - 1 : i === 1 ? rank - 2 : i - 2)); // [O, I, spatial] positions for HWIO
    const layoutPick = int(g, 0, 2);
    const lhsSpec = standard ? (layoutPick === 0 ? range(rank) : nhwc) : perm(g, rank);
    const rhsSpec = standard ? (layoutPick === 0 ? range(rank) : hwio) : perm(g, rank);
    const outSpec = standard ? (layoutPick === 0 ? range(rank) : nhwc) : perm(g, rank);
    const place = (specDims: number[], sizes: number[]) => {
      const s = new Array<number>(rank);
      specDims.forEach((d, i) => (s[d] = sizes[i]));
      return s;
    };
    const others = [...FLOAT.filter((d) => d !== "float32"), "int32"] as DType[];
    const dtype = coin(g, 0.15) ? pick(g, others) : "float32";
    return {
      prim: "conv_general_dilated",
      params: {
        windowStrides: range(nsp).map(() => int(g, 1, 3)),
        padding: range(nsp).map(() => [int(g, -1, 2), int(g, 0, 2)]),
        lhsDilation: range(nsp).map(() => (coin(g, 0.25) ? 2 : 1)),
        rhsDilation: range(nsp).map(() => int(g, 1, 2)),
        dimensionNumbers: { lhsSpec, rhsSpec, outSpec },
        featureGroupCount: G,
        batchGroupCount: BG,
        preferredElementType: null,
      },
      // Kernels stay finite: the wasm conv multiplies padding and dilation holes by the kernel
      // (0 * Inf = NaN) where the interpreter skips them (see the report in backend.prop.test.ts).
      args: [valued(place(lhsSpec, [N, C, ...inSp]), dtype, -2, 2), finite(valued(place(rhsSpec, [O, I, ...kSp]), dtype, -2, 2))],
    };
  };

  /** Stacks [...batch, m, n] of float matrices, small enough for the float64 oracle. */
  const matrices = (g: G, square: boolean): { batch: number[]; m: number; n: number } => {
    const batch = shapeOf(g, 0, 2, 0, 3, 6);
    const m = dim(g, 0, 9);
    return { batch, m, n: square ? m : dim(g, 0, 9) };
  };
  const decompositionGens = (): { [P in Decomposition]: CaseGen } => ({
    cholesky: (g) => {
      const { batch, n } = matrices(g, true);
      return { prim: "cholesky", params: {}, args: [valued([...batch, n, n], pick(g, FLOAT), -3, 3)] };
    },
    lu: (g) => {
      const { batch, m, n } = matrices(g, false);
      return { prim: "lu", params: {}, args: [valued([...batch, m, n], pick(g, FLOAT), -3, 3)] };
    },
    qr: (g) => {
      const { batch, m, n } = matrices(g, false);
      return { prim: "qr", params: { fullMatrices: coin(g) }, args: [valued([...batch, m, n], pick(g, FLOAT), -3, 3)] };
    },
    eigh: (g) => {
      const { batch, n } = matrices(g, true);
      return { prim: "eigh", params: {}, args: [valued([...batch, n, n], pick(g, FLOAT), -3, 3)] };
    },
    svd: (g) => {
      const { batch, m, n } = matrices(g, false);
      return { prim: "svd", params: { fullMatrices: coin(g) }, args: [valued([...batch, m, n], pick(g, FLOAT), -3, 3)] };
    },
    triangular_solve: (g) => {
      const { batch, m, n } = matrices(g, false);
      const leftSide = coin(g);
      const k = leftSide ? m : n;
      const dtype = pick(g, FLOAT);
      return {
        prim: "triangular_solve",
        params: { leftSide, lower: coin(g), transposeA: coin(g), unitDiagonal: coin(g) },
        args: [valued([...batch, k, k], dtype, -3, 3), valued([...batch, m, n], dtype, -3, 3)],
      };
    },
  });

  return {
    ...familyTable(UNARY_ELEMENTWISE, unaryGen),
    ...familyTable(BINARY_ELEMENTWISE, binaryGen),
    stop_gradient: unaryGen("stop_gradient"),
    select_n: (g) => {
      const shape = shapeOf(g, 0, 3);
      const boolWhich = coin(g);
      const n = boolWhich ? int(g, 1, 2) : int(g, 1, 4);
      const whichShape = coin(g, 0.3) ? [] : shape;
      const dtype = pick(g, ANY);
      return {
        prim: "select_n", params: {},
        args: [boolWhich ? spec(whichShape, "bool") : spec(whichShape, "int32", 0, n - 1), ...range(n).map(() => valued(shape, dtype))],
      };
    },
    clamp: (g) => {
      const shape = shapeOf(g, 0, 3);
      const dtype = pick(g, NUMERIC);
      const bound = (lo: number, hi: number) => valued(coin(g) ? [] : shape, dtype, lo, hi);
      return { prim: "clamp", params: {}, args: [bound(-3, 1), valued(shape, dtype, -5, 5), bound(0, 3)] };
    },
    convert_element_type: (g) => {
      const from = pick(g, ANY);
      const big = isFloatDT(from) && coin(g, 0.2); // out-of-range float -> int conversions
      return {
        prim: "convert_element_type",
        params: { newDtype: pick(g, ANY), weakType: false },
        args: [valued(shapeOf(g, 0, 3), from, big ? -5e9 : -3.5, big ? 5e9 : 3.5)],
      };
    },
    bitcast_convert_type: (g) => {
      const w4: DType[] = ["float32", "int32", "uint32"];
      const same = coin(g, 0.2);
      const from = same ? pick(g, (["float16", "bool"] as DType[]).filter((d) => ANY.includes(d))) : pick(g, w4);
      const to = same ? from : pick(g, w4);
      const [lo, hi] = from === "float32" ? [-3, 3] : from === "uint32" ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
      return { prim: "bitcast_convert_type", params: { newDtype: to }, args: [spec(shapeOf(g, 0, 3), from, lo, hi)] };
    },
    reduce_sum: reductionGen("reduce_sum", NUMERIC),
    reduce_max: reductionGen("reduce_max", ANY),
    reduce_min: reductionGen("reduce_min", ANY),
    reduce_prod: reductionGen("reduce_prod", NUMERIC),
    reduce_and: reductionGen("reduce_and", BOOL_OR_INT),
    reduce_or: reductionGen("reduce_or", BOOL_OR_INT),
    argmax: argGen("argmax"),
    argmin: argGen("argmin"),
    cumsum: cumGen("cumsum", NUMERIC),
    cumprod: cumGen("cumprod", NUMERIC),
    cummax: cumGen("cummax", ANY),
    cummin: cumGen("cummin", ANY),
    broadcast_in_dim: (g) => {
      const shape = shapeOf(g, 0, 3, 0, 17, 200);
      const outShape: number[] = [];
      const bdims: number[] = [];
      for (const n of shape) {
        while (coin(g, 0.3)) outShape.push(dim(g, 0, 9));
        bdims.push(outShape.length);
        outShape.push(n === 1 && coin(g) ? dim(g, 0, 9) : n);
      }
      while (coin(g, 0.3)) outShape.push(dim(g, 0, 9));
      return { prim: "broadcast_in_dim", params: { shape: outShape, broadcastDimensions: bdims }, args: [valued(shape, pick(g, ANY))] };
    },
    reshape: (g) => {
      const shape = shapeOf(g, 0, 4);
      const n0 = sizeOf(shape);
      let newSizes: number[];
      if (n0 === 0) {
        newSizes = coin(g) ? [0] : [int(g, 1, 3), 0];
      } else {
        const factors: number[] = [];
        let n = n0;
        for (let p = 2; n > 1; p++) while (n % p === 0) (factors.push(p), (n /= p));
        const k = int(g, factors.length ? 1 : 0, 4);
        newSizes = range(k).map(() => 1);
        factors.forEach((f) => (newSizes[int(g, 0, k - 1)] *= f));
      }
      return { prim: "reshape", params: { newSizes }, args: [valued(shape, pick(g, ANY))] };
    },
    transpose: (g) => {
      const shape = shapeOf(g, 0, 4);
      return { prim: "transpose", params: { permutation: perm(g, shape.length) }, args: [valued(shape, pick(g, ANY))] };
    },
    squeeze: (g) => {
      const shape = shapeOf(g, 0, 3).flatMap((n) => (coin(g, 0.4) ? [1, n] : [n]));
      const ones = range(shape.length).filter((d) => shape[d] === 1);
      return { prim: "squeeze", params: { dimensions: subset(g, ones) }, args: [valued(shape, pick(g, ANY))] };
    },
    expand_dims: (g) => {
      const shape = shapeOf(g, 0, 3);
      const k = int(g, 0, 2);
      return { prim: "expand_dims", params: { dimensions: choose(g, range(shape.length + k), k).sort((a, b) => a - b) }, args: [valued(shape, pick(g, ANY))] };
    },
    rev: (g) => {
      const shape = shapeOf(g, 0, 3);
      return { prim: "rev", params: { dimensions: subset(g, range(shape.length)) }, args: [valued(shape, pick(g, ANY))] };
    },
    slice: (g) => {
      const shape = shapeOf(g, 0, 3);
      const startIndices = shape.map((n) => int(g, 0, n));
      const limitIndices = shape.map((n, i) => int(g, startIndices[i], n));
      const strides = coin(g) ? null : shape.map(() => int(g, 1, 4));
      return { prim: "slice", params: { startIndices, limitIndices, strides }, args: [valued(shape, pick(g, ANY))] };
    },
    dynamic_slice: (g) => {
      const shape = shapeOf(g, 0, 3);
      const idt = pick(g, INTEGER);
      return {
        prim: "dynamic_slice", params: { sliceSizes: shape.map((n) => int(g, 0, n)) },
        args: [valued(shape, pick(g, ANY)), ...shape.map((n) => spec([], idt, idt === "int32" ? -2 : 0, n + 2))],
      };
    },
    dynamic_update_slice: (g) => {
      const shape = shapeOf(g, 0, 3);
      const dtype = pick(g, ANY);
      const idt = pick(g, INTEGER);
      return {
        prim: "dynamic_update_slice", params: {},
        args: [valued(shape, dtype), valued(shape.map((n) => int(g, 0, n)), dtype), ...shape.map((n) => spec([], idt, idt === "int32" ? -2 : 0, n + 2))],
      };
    },
    pad: (g) => {
      const shape = shapeOf(g, 0, 3, 0, 17, 400);
      const paddingConfig = shape.map((n) => {
        const interior = int(g, 0, 2);
        const full = n + Math.max(n - 1, 0) * interior;
        const lo = int(g, -Math.min(2, full), 3);
        const hi = int(g, -Math.min(2, full + lo), 3);
        return [lo, hi, interior];
      });
      const dtype = pick(g, ANY);
      return { prim: "pad", params: { paddingConfig }, args: [valued(shape, dtype), valued([], dtype)] };
    },
    concatenate: (g) => {
      const shape = shapeOf(g, 1, 3, 0, 17, 300);
      const dimension = int(g, 0, shape.length - 1);
      const n = int(g, 1, 4);
      const dtype = pick(g, ANY);
      const args = range(n).map(() => {
        const s = [...shape];
        s[dimension] = dim(g, 0, 9);
        return valued(s, dtype);
      });
      return { prim: "concatenate", params: { dimension }, args };
    },
    iota: (g) => {
      const shape = shapeOf(g, 1, 3);
      const params = { dtype: pick(g, NUMERIC), shape, dimension: int(g, 0, shape.length - 1) };
      if (!o.iotaOperand) return { prim: "iota", params, args: [], fn: () => [bind1("iota", [], params)] };
      return { prim: "iota", params, args: [valued(shape, params.dtype)], fn: (x: Tracer) => [bind1("add", [x, bind1("iota", [], params)], {})] };
    },
    gather: gatherGen,
    scatter: scatterGen("scatter"),
    scatter_add: scatterGen("scatter_add"),
    dot_general: dotGen,
    conv_general_dilated: convGen,
    reduce_window_sum: windowGen("reduce_window_sum", NUMERIC),
    reduce_window_max: windowGen("reduce_window_max", ANY.filter((d) => d !== "bool")),
    reduce_window_min: windowGen("reduce_window_min", ANY.filter((d) => d !== "bool")),
    select_and_scatter_add: (g) => {
      const shape = shapeOf(g, 1, 3, 1, 13, 300);
      const padding = shape.map(() => [int(g, 0, 1), int(g, 0, 1)] as [number, number]);
      const windowDimensions = shape.map((n, i) => int(g, 1, Math.min(3, n + padding[i][0] + padding[i][1])));
      const windowStrides = shape.map(() => int(g, 1, 3));
      const src = shape.map((n, i) => windowOut(n, windowDimensions[i], windowStrides[i], padding[i][0], padding[i][1], 1, 1));
      const dtype = pick(g, FLOAT);
      return {
        prim: "select_and_scatter_add",
        params: { selectPrim: pick(g, ["ge", "le"]), windowDimensions, windowStrides, padding },
        args: [valued(src, dtype), valued(shape, dtype)],
      };
    },
    select_and_gather_add: (g) => {
      const c = windowGen("select_and_gather_add", FLOAT)(g);
      const s = c.args[0];
      return { ...c, params: { selectPrim: pick(g, ["ge", "le"]), ...c.params }, args: [valued(s.shape, s.dtype), valued(s.shape, s.dtype)] };
    },
    sort: (g) => {
      const shape = shapeOf(g, 1, 3, 0, 33, 600);
      const n = int(g, 1, 3);
      return {
        prim: "sort",
        params: { dimension: int(g, 0, shape.length - 1), isStable: true, numKeys: int(g, 1, n) },
        args: range(n).map(() => (coin(g) ? valued(shape, pick(g, INTEGER), 0, 2) : valued(shape, pick(g, ANY)))),
      };
    },
    top_k: (g) => {
      const shape = shapeOf(g, 1, 3, 1);
      return { prim: "top_k", params: { k: int(g, 0, shape[shape.length - 1]) }, args: [valued(shape, pick(g, NUMERIC), -3, 3)] };
    },
    ...decompositionGens(),
    threefry2x32: (g) => {
      const shape = shapeOf(g, 0, 2);
      return { prim: "threefry2x32", params: {}, args: range(4).map(() => spec(shape, "uint32", 0, 4294967295)) };
    },
  };
}

// --- data ------------------------------------------------------------------------------

/** How float data is drawn: a quarter grid (exact sums, ties), full-precision reals, or reals with NaN/±Inf/±0. */
export type ValueKind = "grid" | "real" | "special";

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0];

/** Seeded host data for a spec; float16 values are rounded to half precision. */
export function hostData(r: () => number, s: ArgSpec, kind: ValueKind): TypedArray {
  const n = sizeOf(s.shape);
  const out = allocTyped(s.dtype, n);
  for (let i = 0; i < n; i++) {
    if (s.dtype === "bool") out[i] = r() < 0.5 ? 1 : 0;
    else if (s.dtype === "int32" || s.dtype === "uint32") {
      const lo = s.lo ?? (s.dtype === "uint32" ? 0 : -5);
      const hi = s.hi ?? 5;
      out[i] = lo + Math.floor(r() * (hi - lo + 1));
    } else {
      const lo = s.lo ?? -2;
      const hi = s.hi ?? 2;
      let x = lo + r() * (hi - lo);
      if (kind === "grid") x = Math.round(x * 4) / 4;
      if (kind === "special" && r() < 0.15 && !(s as { finite?: boolean }).finite) x = SPECIALS[Math.floor(r() * SPECIALS.length)];
      out[i] = roundToDType(s.dtype, x);
    }
  }
  return out;
}

// --- non-contiguous arguments ------------------------------------------------------------

/**
 * How an argument reaches the primitive: as given, or through a shape op of a
 * base array of another shape (so, inside jit, as a strided view).
 */
export type ArgView =
  | { kind: "plain" }
  | { kind: "transpose"; perm: number[] }
  | { kind: "rev"; dims: number[] }
  | { kind: "slice"; start: number[]; stride: number[]; base: number[] }
  | { kind: "broadcast"; base: number[]; bdims: number[] };

export function randomView(g: G, shape: readonly number[]): ArgView {
  const r = shape.length;
  const k = int(g, 0, 4);
  if (k === 1 && r >= 2) return { kind: "transpose", perm: perm(g, r) };
  if (k === 2 && r >= 1) return { kind: "rev", dims: subset(g, range(r)) };
  if (k === 3 && r >= 1) {
    const stride = shape.map(() => int(g, 1, 3));
    const start = shape.map(() => int(g, 0, 2));
    const base = shape.map((n, d) => start[d] + (n === 0 ? 0 : (n - 1) * stride[d] + 1) + int(g, 0, 2));
    return { kind: "slice", start, stride, base };
  }
  if (k === 4 && r >= 1) {
    // keep some dims, turn others into size-1 dims or drop them
    const base: number[] = [];
    const bdims: number[] = [];
    shape.forEach((n, d) => {
      const c = int(g, 0, 2);
      if (c === 0) (base.push(n), bdims.push(d));
      else if (c === 1) (base.push(1), bdims.push(d));
    });
    return { kind: "broadcast", base, bdims };
  }
  return { kind: "plain" };
}

/** How each argument of a case reaches the primitive: through a random view (when `o.views`) or as given. */
export function drawViews(g: G, c: PrimCase, o: CaseOptions): ArgView[] {
  return c.args.map((a) => (o.views && coin(g, 0.4) ? randomView(g, a.shape) : ({ kind: "plain" } as ArgView)));
}

/** How a case's float data is drawn ("special" only when `o.specialValues`). */
export function drawValueKind(g: G, o: CaseOptions): ValueKind {
  return pick(g, (o.specialValues ? ["grid", "real", "special"] : ["grid", "real"]) as ValueKind[]);
}

/** The shape of the base array a view reads from. */
export function baseShape(v: ArgView, shape: readonly number[]): number[] {
  switch (v.kind) {
    case "plain":
    case "rev":
      return [...shape];
    case "transpose": {
      const b = new Array<number>(shape.length);
      v.perm.forEach((p, i) => (b[p] = shape[i]));
      return b;
    }
    case "slice":
    case "broadcast":
      return [...v.base];
  }
}

/** Apply the view's shape op to the base array (or tracer). */
export function applyView(v: ArgView, x: Tracer, shape: readonly number[]): Tracer {
  switch (v.kind) {
    case "plain":
      return x;
    case "transpose":
      return bind1("transpose", [x], { permutation: v.perm });
    case "rev":
      return bind1("rev", [x], { dimensions: v.dims });
    case "slice":
      return bind1("slice", [x], {
        startIndices: v.start,
        limitIndices: shape.map((n, d) => v.start[d] + (n === 0 ? 0 : (n - 1) * v.stride[d] + 1)),
        strides: v.stride,
      });
    case "broadcast":
      return bind1("broadcast_in_dim", [x], { shape: [...shape], broadcastDimensions: v.bdims });
  }
}

export function describeView(v: ArgView): string {
  switch (v.kind) {
    case "plain":
      return "";
    case "transpose":
      return ` via transpose${JSON.stringify(v.perm)}`;
    case "rev":
      return ` via rev${JSON.stringify(v.dims)}`;
    case "slice":
      return ` via slice of [${v.base}] start=${JSON.stringify(v.start)} stride=${JSON.stringify(v.stride)}`;
    case "broadcast":
      return ` via broadcast of [${v.base}] dims=${JSON.stringify(v.bdims)}`;
  }
}

/** The case's function of its (base) arguments: views applied, then the primitive. */
export function caseFn(c: PrimCase, views: readonly ArgView[]): (...xs: Tracer[]) => Tracer[] {
  return (...xs) => {
    const args = xs.map((x, i) => applyView(views[i], x, c.args[i].shape));
    return c.fn ? c.fn(...args) : bind(c.prim as never, args, c.params as never);
  };
}

/** Host data for each base argument of a case. */
export function caseData(c: PrimCase, views: readonly ArgView[], r: () => number, kind: ValueKind): TypedArray[] {
  return c.args.map((s, i) => hostData(r, { ...s, shape: baseShape(views[i], s.shape) }, kind));
}

/** Arrays of the case's base data on a backend. */
export function caseArrays(c: PrimCase, views: readonly ArgView[], data: readonly TypedArray[], backend: string): TfArray[] {
  return c.args.map((s, i) => TfArray.fromTyped(data[i].slice(), baseShape(views[i], s.shape), s.dtype, { backend }));
}
