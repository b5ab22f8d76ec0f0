// lax wrappers of the contraction, convolution, windowed-reduction and
// gather/scatter primitives, with JAX's conveniences: string padding
// ("SAME"/"VALID"), conv dimension numbers as layout strings
// (["NCHW","OIHW","NCHW"]), reduce_window by op name with an init value,
// and partial gather/scatter dimension numbers (batching dims default to []).

import type { DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, asCalledFrom } from "../core/errors";
import type {
  ConvDimensionNumbers,
  DotDimensionNumbers,
  GatherDimensionNumbers,
  GatherMode,
  ScatterDimensionNumbers,
} from "../core/primitives";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { add, max, min } from "./elementwise";
import { checkIntArray, toTracer } from "./util";
import { checkOptions, describeValue, opt, type OptionRules } from "../core/options";

// --- dot ---

export interface DotOptions {
  preferredElementType?: DType | null;
}

const dotRules: OptionRules<DotOptions> = { preferredElementType: opt.nullable(opt.dtype) };
const scatterRules: OptionRules<ScatterOptions> = { mode: opt.oneOf("clip", "fill") };

export function dotGeneral(lhs: ArrayLike, rhs: ArrayLike, dimensionNumbers: DotDimensionNumbers, opts: DotOptions = {}): Tracer {
  checkOptions("lax.dotGeneral", opts, dotRules);
  const l = toTracer("dotGeneral", lhs);
  const r = toTracer("dotGeneral", rhs);
  const dn = dimensionNumbers;
  if (!globalThis.Array.isArray(dn) || dn.length !== 2) {
    throw new ArgumentError(`dotGeneral: dimensionNumbers must be [[lhsContracting, rhsContracting], [lhsBatch, rhsBatch]], got ${JSON.stringify(dn)}`);
  }
  const norm = (dims: readonly number[], nd: number) => checkIntArray("dotGeneral", "dimension numbers", dims).map((d) => (d < 0 ? d + nd : d));
  const [[lc, rc], [lb, rb]] = dn;
  const numbers: DotDimensionNumbers = [[norm(lc, l.ndim), norm(rc, r.ndim)], [norm(lb, l.ndim), norm(rb, r.ndim)]];
  return bind1("dot_general", [l, r], { dimensionNumbers: numbers, preferredElementType: opts.preferredElementType ?? null });
}

/** lax.dot: vector·vector, matrix·vector, matrix·matrix (contracts lhs's last dim with rhs's first). */
export function dot(lhs: ArrayLike, rhs: ArrayLike, opts: DotOptions = {}): Tracer {
  checkOptions("lax.dot", opts, dotRules);
  const l = toTracer("dot", lhs);
  const r = toTracer("dot", rhs);
  if (l.ndim < 1 || l.ndim > 2 || r.ndim < 1 || r.ndim > 2) {
    throw new ShapeError(`dot: expected 1-D or 2-D operands, got ${l.aval.str()} and ${r.aval.str()}`);
  }
  if (l.shape[l.ndim - 1] !== r.shape[0]) {
    throw new ShapeError(`dot: contracting dimensions differ: ${l.aval.str()} · ${r.aval.str()} (${l.shape[l.ndim - 1]} != ${r.shape[0]})`);
  }
  return dotGeneral(l, r, [[[l.ndim - 1], [0]], [[], []]], opts);
}

// --- padding helpers ---

export type Padding = "SAME" | "VALID" | "SAME_LOWER" | readonly (readonly [number, number])[];

/** JAX's padtype_to_pads: explicit [lo, hi] pairs for "SAME"/"VALID" given input and (dilated) window sizes. */
export function padtypeToPads(inShape: readonly number[], windowShape: readonly number[], strides: readonly number[], padding: Padding, where = "padtypeToPads"): [number, number][] {
  for (const [name, v] of [["inShape", inShape], ["windowShape", windowShape], ["strides", strides]] as const) {
    if (!globalThis.Array.isArray(v) || !v.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ArgumentError(`${where}: ${name} must be a list of non-negative integers, got ${describeValue(v)}`);
    }
  }
  if (typeof padding !== "string") {
    if (!globalThis.Array.isArray(padding) || padding.length !== inShape.length) {
      throw new ArgumentError(`${where}: padding must be "SAME", "VALID" or ${inShape.length} [lo, hi] pairs, got ${JSON.stringify(padding)}`);
    }
    return padding.map((p) => {
      if (!globalThis.Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1])) {
        throw new ArgumentError(`${where}: padding must hold [lo, hi] integer pairs, got ${JSON.stringify(padding)}`);
      }
      return [p[0], p[1]] as [number, number];
    });
  }
  if (padding === "VALID") return inShape.map(() => [0, 0]);
  if (padding === "SAME" || padding === "SAME_LOWER") {
    return inShape.map((n, i) => {
      const out = Math.ceil(n / strides[i]);
      const total = Math.max((out - 1) * strides[i] + windowShape[i] - n, 0);
      const small = Math.floor(total / 2);
      return padding === "SAME" ? [small, total - small] : [total - small, small];
    });
  }
  throw new ArgumentError(`${where}: unknown padding ${JSON.stringify(padding)}; expected "SAME", "VALID" or [lo, hi] pairs`);
}

// --- conv ---

export type ConvDimensionNumbersLike = ConvDimensionNumbers | readonly [string, string, string] | null;

/** Turn layout strings like ["NHWC", "HWIO", "NHWC"] into ConvDimensionNumbers (spatial order follows the rhs spec, as JAX). */
export function convDimensionNumbers(ndim: number, dn: ConvDimensionNumbersLike | undefined): ConvDimensionNumbers {
  if (!Number.isInteger(ndim) || ndim < 0) throw new ArgumentError(`convDimensionNumbers: ndim must be a non-negative integer (the operands' rank), got ${describeValue(ndim)}`);
  const iota = [...Array(ndim).keys()];
  if (dn == null) return { lhsSpec: iota, rhsSpec: iota, outSpec: iota };
  if (!globalThis.Array.isArray(dn)) {
    const o = dn as ConvDimensionNumbers;
    const specs = [o?.lhsSpec, o?.rhsSpec, o?.outSpec];
    if (typeof dn !== "object" || !specs.every((s) => globalThis.Array.isArray(s) && s.length === ndim && s.every((d) => Number.isInteger(d) && d >= 0 && d < ndim))) {
      throw new ArgumentError(
        `convDimensionNumbers: expected layout strings such as ["NCHW", "OIHW", "NCHW"] or { lhsSpec, rhsSpec, outSpec } (each ${ndim} dimension indices), got ${describeValue(dn)}`,
      );
    }
    return { lhsSpec: [...o.lhsSpec], rhsSpec: [...o.rhsSpec], outSpec: [...o.outSpec] };
  }
  const [ls, rs, os] = dn as readonly string[];
  for (const [name, s, a, b] of [["lhs", ls, "N", "C"], ["rhs", rs, "O", "I"], ["out", os, "N", "C"]] as const) {
    if (typeof s !== "string" || s.length !== ndim || !s.includes(a) || !s.includes(b) || new Set(s).size !== s.length) {
      throw new ArgumentError(
        `convGeneralDilated: ${name} layout ${JSON.stringify(s)} must be a string of ${ndim} distinct letters containing ${a} and ${b} (e.g. ["NCHW", "OIHW", "NCHW"])`,
      );
    }
  }
  const rhsSpatial = [...rs].filter((c) => c !== "O" && c !== "I");
  for (const [name, s] of [["lhs", ls], ["out", os]] as const) {
    const sp = [...s].filter((c) => c !== "N" && c !== "C");
    if (!sp.every((c) => rhsSpatial.includes(c))) {
      throw new ArgumentError(`convGeneralDilated: ${name} layout ${s} has spatial dims that the rhs layout ${rs} lacks`);
    }
  }
  const spec = (s: string, a: string, b: string) => [s.indexOf(a), s.indexOf(b), ...rhsSpatial.map((c) => s.indexOf(c))];
  return { lhsSpec: spec(ls, "N", "C"), rhsSpec: spec(rs, "O", "I"), outSpec: spec(os, "N", "C") };
}

export interface ConvOptions {
  lhsDilation?: readonly number[];
  rhsDilation?: readonly number[];
  dimensionNumbers?: ConvDimensionNumbersLike;
  featureGroupCount?: number;
  batchGroupCount?: number;
  preferredElementType?: DType | null;
}

export function convGeneralDilated(lhs: ArrayLike, rhs: ArrayLike, windowStrides: readonly number[], padding: Padding, opts: ConvOptions = {}): Tracer {
  checkOptions("lax.convGeneralDilated", opts, { lhsDilation: opt.integers, rhsDilation: opt.integers, dimensionNumbers: opt.any, featureGroupCount: opt.positiveInteger, batchGroupCount: opt.positiveInteger, preferredElementType: opt.nullable(opt.dtype) });
  const l = toTracer("convGeneralDilated", lhs);
  const r = toTracer("convGeneralDilated", rhs);
  if (l.ndim < 2 || r.ndim !== l.ndim) {
    throw new ShapeError(`convGeneralDilated: lhs and rhs must have the same rank >= 2, got lhs ${l.aval.str()} and rhs ${r.aval.str()}`);
  }
  if (l.ndim === 2) return convWithoutSpatialDims(l, r, windowStrides, padding, opts);
  const nsp = l.ndim - 2;
  const dn = convDimensionNumbers(l.ndim, opts.dimensionNumbers);
  const ones = Array<number>(nsp).fill(1);
  const strides = checkIntArray("convGeneralDilated", "windowStrides", windowStrides, nsp);
  const lhsDilation = checkIntArray("convGeneralDilated", "lhsDilation", opts.lhsDilation ?? ones, nsp);
  const rhsDilation = checkIntArray("convGeneralDilated", "rhsDilation", opts.rhsDilation ?? ones, nsp);
  const inSp = dn.lhsSpec.slice(2).map((d) => l.shape[d]);
  const kSp = dn.rhsSpec.slice(2).map((d, i) => (r.shape[d] - 1) * rhsDilation[i] + 1);
  const pads = padtypeToPads(inSp, kSp, strides, padding, "convGeneralDilated");
  return bind1("conv_general_dilated", [l, r], {
    windowStrides: strides,
    padding: pads,
    lhsDilation,
    rhsDilation,
    dimensionNumbers: dn,
    featureGroupCount: opts.featureGroupCount ?? 1,
    batchGroupCount: opts.batchGroupCount ?? 1,
    preferredElementType: opts.preferredElementType ?? null,
  });
}

/**
 * A convolution with no spatial dims (JAX allows it: it is a grouped matrix
 * product). The primitive and its kernels expect at least one spatial dim, so
 * a trailing size-1 one is added to both operands and dropped from the result.
 */
function convWithoutSpatialDims(l: Tracer, r: Tracer, windowStrides: readonly number[], padding: Padding, opts: ConvOptions): Tracer {
  checkIntArray("convGeneralDilated", "windowStrides", windowStrides, 0);
  for (const name of ["lhsDilation", "rhsDilation"] as const) checkIntArray("convGeneralDilated", name, opts[name] ?? [], 0);
  padtypeToPads([], [], [], padding, "convGeneralDilated");
  const dn = convDimensionNumbers(2, opts.dimensionNumbers);
  const withSpatial = { lhsSpec: [...dn.lhsSpec, 2], rhsSpec: [...dn.rhsSpec, 2], outSpec: [...dn.outSpec, 2] };
  const out = convGeneralDilated(reshapeTo(l, [...l.shape, 1]), reshapeTo(r, [...r.shape, 1]), [1], "VALID", { ...opts, lhsDilation: [1], rhsDilation: [1], dimensionNumbers: withSpatial });
  return reshapeTo(out, out.shape.slice(0, 2));
}

function reshapeTo(x: Tracer, shape: number[]): Tracer {
  return bind1("reshape", [x], { newSizes: shape });
}

export interface ConvTransposeOptions {
  rhsDilation?: readonly number[];
  /** Layout strings; defaults to channels-last (["NHWC", "HWIO", "NHWC"] for 2-D), as JAX's conv_transpose. */
  dimensionNumbers?: ConvDimensionNumbersLike;
  /** Flip the kernel's spatial dims and swap its I/O axes: the gradient of a forward convolution. */
  transposeKernel?: boolean;
  preferredElementType?: DType | null;
}

/** JAX's _conv_transpose_padding: the padding of the stride-dilated input for "SAME"/"VALID". */
function convTransposePadding(k: number, s: number, padding: "SAME" | "VALID"): [number, number] {
  let padLen: number;
  let padA: number;
  if (padding === "SAME") {
    padLen = k + s - 2;
    padA = s > k - 1 ? k - 1 : Math.ceil(padLen / 2);
  } else {
    padLen = k + s - 2 + Math.max(k - s, 0);
    padA = k - 1;
  }
  return [padA, padLen - padA];
}

/**
 * lax.conv_transpose: the transposed ("deconvolution") convolution, a
 * convolution of the input dilated by `strides`, with JAX's padding rule for
 * "SAME"/"VALID" (explicit [lo, hi] pairs pad the dilated input directly).
 */
export function convTranspose(lhs: ArrayLike, rhs: ArrayLike, strides: readonly number[], padding: Padding, opts: ConvTransposeOptions = {}): Tracer {
  checkOptions("lax.convTranspose", opts, { rhsDilation: opt.integers, dimensionNumbers: opt.any, transposeKernel: opt.boolean, preferredElementType: opt.nullable(opt.dtype) });
  const l = toTracer("convTranspose", lhs);
  let r = toTracer("convTranspose", rhs);
  const nd = l.ndim;
  const defaults: Record<number, [string, string, string]> = { 2: ["NC", "IO", "NC"], 3: ["NHC", "HIO", "NHC"], 4: ["NHWC", "HWIO", "NHWC"], 5: ["NHWDC", "HWDIO", "NHWDC"] };
  const dnLike = opts.dimensionNumbers ?? defaults[nd];
  if (dnLike === undefined) throw new ShapeError(`convTranspose: operands of rank ${nd} need explicit dimensionNumbers`);
  const dn = convDimensionNumbers(nd, dnLike);
  const nsp = nd - 2;
  const st = checkIntArray("convTranspose", "strides", strides, nsp);
  const rhsDilation = checkIntArray("convTranspose", "rhsDilation", opts.rhsDilation ?? Array<number>(nsp).fill(1), nsp);
  const kSp = dn.rhsSpec.slice(2).map((d) => r.shape[d]);
  let pads: [number, number][];
  if (padding === "SAME" || padding === "VALID") {
    pads = kSp.map((k, i) => convTransposePadding((k - 1) * rhsDilation[i] + 1, st[i], padding));
  } else {
    pads = padtypeToPads(kSp, kSp, st, padding, "convTranspose");
  }
  if (opts.transposeKernel) {
    r = bind1("rev", [r], { dimensions: dn.rhsSpec.slice(2) });
    const perm = r.shape.map((_, i) => i);
    [perm[dn.rhsSpec[0]], perm[dn.rhsSpec[1]]] = [perm[dn.rhsSpec[1]], perm[dn.rhsSpec[0]]];
    r = bind1("transpose", [r], { permutation: perm });
  }
  return convGeneralDilated(l, r, Array<number>(nsp).fill(1), pads, {
    lhsDilation: st,
    rhsDilation,
    dimensionNumbers: dn,
    preferredElementType: opts.preferredElementType ?? null,
  });
}

/** lax.conv: NCHW/OIHW convolution with strides and padding. */
export function conv(lhs: ArrayLike, rhs: ArrayLike, windowStrides: readonly number[], padding: Padding): Tracer {
  return asCalledFrom("conv", () => {
    return convGeneralDilated(lhs, rhs, windowStrides, padding);
  });
}

// --- reduce_window ---

export type ReduceWindowOp = "sum" | "max" | "min";

export interface ReduceWindowOptions {
  baseDilation?: readonly number[];
  windowDilation?: readonly number[];
}

/**
 * reduce_window(x, init, op, windowDimensions, windowStrides, padding). Padded
 * cells hold the op's identity; a non-identity `init` is folded into every
 * window (sum: + init, max/min: against init), as XLA's init value does.
 */
export function reduceWindow(
  x: ArrayLike,
  init: ArrayLike,
  op: ReduceWindowOp,
  windowDimensions: readonly number[],
  windowStrides?: readonly number[],
  padding: Padding = "VALID",
  opts: ReduceWindowOptions = {},
): Tracer {
  checkOptions("lax.reduceWindow", opts, { baseDilation: opt.integers, windowDilation: opt.integers });
  const t = toTracer("reduceWindow", x);
  const r = t.ndim;
  const ones = Array<number>(r).fill(1);
  const wd = checkIntArray("reduceWindow", "windowDimensions", windowDimensions, r);
  const ws = checkIntArray("reduceWindow", "windowStrides", windowStrides ?? ones, r);
  const bd = checkIntArray("reduceWindow", "baseDilation", opts.baseDilation ?? ones, r);
  const wdl = checkIntArray("reduceWindow", "windowDilation", opts.windowDilation ?? ones, r);
  const dilatedIn = t.shape.map((n, i) => (n === 0 ? 0 : (n - 1) * bd[i] + 1));
  const pads = padtypeToPads(dilatedIn, wd.map((w, i) => (w - 1) * wdl[i] + 1), ws, padding, "reduceWindow");
  const params = { windowDimensions: wd, windowStrides: ws, padding: pads, baseDilation: bd, windowDilation: wdl };
  let out: Tracer;
  let identity: number;
  switch (op) {
    case "sum":
      out = bind1("reduce_window_sum", [t], params);
      identity = 0;
      break;
    case "max":
      out = bind1("reduce_window_max", [t], params);
      identity = -Infinity;
      break;
    case "min":
      out = bind1("reduce_window_min", [t], params);
      identity = Infinity;
      break;
    default:
      throw new ArgumentError(`reduceWindow: op must be "sum", "max" or "min", got ${JSON.stringify(op)}`);
  }
  if (isTracer(init)) {
    if (init.ndim !== 0) throw new ShapeError(`reduceWindow: init must be a scalar, got ${init.aval.str()}`);
    if (init.dtype !== t.dtype) throw new DTypeError(`reduceWindow: init must have the operand's dtype, got ${init.aval.str()} for operand ${t.aval.str()}`);
  } else if (typeof init === "number" && (init === identity || (op !== "sum" && isIntExtreme(init, op, t.dtype)))) {
    return out;
  }
  const initB = isTracer(init) ? bind1("broadcast_in_dim", [init], { shape: [...out.shape], broadcastDimensions: [] }) : init;
  return op === "sum" ? add(out, initB) : op === "max" ? max(out, initB) : min(out, initB);
}

function isIntExtreme(v: number, op: ReduceWindowOp, dtype: DType): boolean {
  if (dtype === "int32") return op === "max" ? v === -2147483648 : v === 2147483647;
  if (dtype === "uint32") return op === "max" ? v === 0 : v === 4294967295;
  return false;
}

// --- gather / scatter ---

export type GatherDimensionNumbersLike = Pick<GatherDimensionNumbers, "offsetDims" | "collapsedSliceDims" | "startIndexMap"> & Partial<GatherDimensionNumbers>;
export type ScatterDimensionNumbersLike = Pick<ScatterDimensionNumbers, "updateWindowDims" | "insertedWindowDims" | "scatterDimsToOperandDims"> &
  Partial<ScatterDimensionNumbers>;

export interface GatherOptions {
  /** "clip" clamps start indices into range; "fill" (default, as JAX) returns fillValue for out-of-bounds slices. */
  mode?: GatherMode;
  fillValue?: number | null;
}

export function gather(operand: ArrayLike, indices: Tracer, dimensionNumbers: GatherDimensionNumbersLike, sliceSizes: readonly number[], opts: GatherOptions = {}): Tracer {
  checkOptions("lax.gather", opts, { mode: opt.oneOf("clip", "fill"), fillValue: opt.nullable(opt.number) });
  const op = toTracer("gather", operand);
  if (!isTracer(indices)) throw new ArgumentError(`gather: indices must be an integer array, got ${typeof indices}`);
  const dn: GatherDimensionNumbers = {
    offsetDims: [...dimensionNumbers.offsetDims],
    collapsedSliceDims: [...dimensionNumbers.collapsedSliceDims],
    startIndexMap: [...dimensionNumbers.startIndexMap],
    operandBatchingDims: [...(dimensionNumbers.operandBatchingDims ?? [])],
    startIndicesBatchingDims: [...(dimensionNumbers.startIndicesBatchingDims ?? [])],
  };
  return bind1("gather", [op, indices], { dimensionNumbers: dn, sliceSizes: [...sliceSizes], mode: opts.mode ?? "fill", fillValue: opts.fillValue ?? null });
}

export interface ScatterOptions {
  /** "fill" (default, as JAX) drops out-of-bounds updates; "clip" clamps them into range. */
  mode?: GatherMode;
}

function scatterDn(dimensionNumbers: ScatterDimensionNumbersLike): ScatterDimensionNumbers {
  return {
    updateWindowDims: [...dimensionNumbers.updateWindowDims],
    insertedWindowDims: [...dimensionNumbers.insertedWindowDims],
    scatterDimsToOperandDims: [...dimensionNumbers.scatterDimsToOperandDims],
    operandBatchingDims: [...(dimensionNumbers.operandBatchingDims ?? [])],
    scatterIndicesBatchingDims: [...(dimensionNumbers.scatterIndicesBatchingDims ?? [])],
  };
}

/** scatter: overwrite windows of operand with updates (with duplicate indices, which update wins is unspecified). */
export function scatter(operand: ArrayLike, indices: Tracer, updates: ArrayLike, dimensionNumbers: ScatterDimensionNumbersLike, opts: ScatterOptions = {}): Tracer {
  checkOptions("lax.scatter", opts, scatterRules);
  const op = toTracer("scatter", operand);
  const up = toTracer("scatter", updates, op.dtype);
  return bind1("scatter", [op, indices, up], { dimensionNumbers: scatterDn(dimensionNumbers), mode: opts.mode ?? "fill" });
}

/** scatter_add: add updates into windows of operand; duplicate indices accumulate. */
export function scatterAdd(operand: ArrayLike, indices: Tracer, updates: ArrayLike, dimensionNumbers: ScatterDimensionNumbersLike, opts: ScatterOptions = {}): Tracer {
  checkOptions("lax.scatterAdd", opts, scatterRules);
  const op = toTracer("scatterAdd", operand);
  const up = toTracer("scatterAdd", updates, op.dtype);
  return bind1("scatter_add", [op, indices, up], { dimensionNumbers: scatterDn(dimensionNumbers), mode: opts.mode ?? "fill" });
}

