// lax shape and reduction wrappers: broadcast_in_dim, reshape, transpose,
// squeeze, expand_dims, rev, slice, dynamic_slice/update, pad, concatenate,
// iota, sort/top_k, the reductions, argmax/argmin and cumulative scans, plus
// the structured helpers JAX builds on them (broadcast, full, sliceInDim…).
// Axes may be negative here; the IR params are normalized before bind.

import { Array } from "../core/array";
import { checkDType, checkedTypedFrom, dtypeOfScalar, type DType } from "../core/dtype";
import { ArgumentError, ShapeError, asCalledFrom } from "../core/errors";
import { normalizeAxes, normalizeAxis, resolveReshape, checkShape } from "../core/shape";
import { bind, bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { broadcastScalar, checkIntArray, scalarArray, toTracer } from "./util";
import { checkOptions, opt } from "../core/options";

// --- broadcasting / reshaping ---

export function broadcastInDim(x: ArrayLike, shape: readonly number[], broadcastDimensions: readonly number[]): Tracer {
  const t = toTracer("broadcastInDim", x);
  checkShape(shape, "broadcastInDim");
  checkIntArray("broadcastInDim", "broadcastDimensions", broadcastDimensions);
  if (t.ndim === shape.length && t.shape.every((d, i) => d === shape[i]) && broadcastDimensions.every((d, i) => d === i)) return t;
  return bind1("broadcast_in_dim", [t], { shape: [...shape], broadcastDimensions: [...broadcastDimensions] });
}

/** lax.broadcast: prepend `sizes` as new leading dims. */
export function broadcast(x: ArrayLike, sizes: readonly number[]): Tracer {
  const t = toTracer("broadcast", x);
  const shape = [...checkShape(sizes, "broadcast"), ...t.shape];
  return broadcastInDim(t, shape, t.shape.map((_, i) => i + sizes.length));
}

/** Reshape (one -1 allowed); `dimensions` (optional) transposes first, as lax.reshape. */
export function reshape(x: ArrayLike, newSizes: readonly number[], dimensions?: readonly number[]): Tracer {
  let t = toTracer("reshape", x);
  if (dimensions !== undefined) t = transpose(t, dimensions);
  const sizes = resolveReshape(t.shape, newSizes, "reshape");
  if (sizes.length === t.ndim && sizes.every((d, i) => d === t.shape[i])) return t;
  return bind1("reshape", [t], { newSizes: sizes });
}

export function transpose(x: ArrayLike, permutation: readonly number[]): Tracer {
  const t = toTracer("transpose", x);
  const perm = checkIntArray("transpose", "permutation", permutation).map((p) => (p < 0 ? p + t.ndim : p));
  if (perm.length === t.ndim && perm.every((p, i) => p === i)) return t;
  return bind1("transpose", [t], { permutation: perm });
}

export function squeeze(x: ArrayLike, dimensions: readonly number[]): Tracer {
  const t = toTracer("squeeze", x);
  const dims = normalizeAxes(dimensions, t.ndim, "squeeze").sort((a, b) => a - b);
  if (dims.length === 0) return t;
  return bind1("squeeze", [t], { dimensions: dims });
}

/** Insert size-1 dims at the given positions of the output. */
export function expandDims(x: ArrayLike, dimensions: readonly number[]): Tracer {
  const t = toTracer("expandDims", x);
  const outRank = t.ndim + dimensions.length;
  const dims = normalizeAxes(dimensions, outRank, "expandDims").sort((a, b) => a - b);
  if (dims.length === 0) return t;
  return bind1("expand_dims", [t], { dimensions: dims });
}

export function rev(x: ArrayLike, dimensions: readonly number[]): Tracer {
  const t = toTracer("rev", x);
  const dims = normalizeAxes(dimensions, t.ndim, "rev").sort((a, b) => a - b);
  if (dims.length === 0) return t;
  return bind1("rev", [t], { dimensions: dims });
}

// --- slicing ---

export function slice(x: ArrayLike, startIndices: readonly number[], limitIndices: readonly number[], strides?: readonly number[] | null): Tracer {
  const t = toTracer("slice", x);
  checkIntArray("slice", "startIndices", startIndices, t.ndim);
  checkIntArray("slice", "limitIndices", limitIndices, t.ndim);
  if (strides != null) checkIntArray("slice", "strides", strides, t.ndim);
  const st = strides == null || strides.every((s) => s === 1) ? null : [...strides];
  if (st === null && startIndices.every((s) => s === 0) && limitIndices.every((l, i) => l === t.shape[i])) return t;
  return bind1("slice", [t], { startIndices: [...startIndices], limitIndices: [...limitIndices], strides: st });
}

/** Slice along one axis: x[..., start:limit:stride, ...]. Negative start/limit count from the end. */
export function sliceInDim(x: ArrayLike, startIndex: number, limitIndex: number, stride = 1, axis = 0): Tracer {
  return asCalledFrom("sliceInDim", () => {
    const t = toTracer("sliceInDim", x);
    const ax = normalizeAxis(axis, t.ndim, "sliceInDim");
    const n = t.shape[ax];
    const s = startIndex < 0 ? startIndex + n : startIndex;
    const l = limitIndex < 0 ? limitIndex + n : limitIndex;
    const starts = t.shape.map(() => 0);
    const limits = [...t.shape];
    const strides = t.shape.map(() => 1);
    starts[ax] = s;
    limits[ax] = l;
    strides[ax] = stride;
    return slice(t, starts, limits, strides);
  });
}

function startScalars(where: string, starts: readonly ArrayLike[] | Tracer, n: number): Tracer[] {
  let list: Tracer[];
  if (isTracer(starts)) {
    if (starts.ndim !== 1 || starts.shape[0] !== n) {
      throw new ShapeError(`${where}: start indices array must have shape [${n}], got ${starts.aval.str()}`);
    }
    list = [...Array_range(n)].map((i) => reshape(slice(starts, [i], [i + 1]), []));
  } else {
    if (!globalThis.Array.isArray(starts) || starts.length !== n) {
      throw new ArgumentError(`${where}: expected ${n} start indices (one per operand dimension), got ${JSON.stringify(starts)}`);
    }
    list = starts.map((s) => (isTracer(s) ? s : scalarArray(s as number, "int32")));
  }
  return list.map((s) => (s.dtype === "int32" ? s : bind1("convert_element_type", [s], { newDtype: "int32", weakType: false })));
}

function* Array_range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** dynamic_slice(x, starts, sizes): starts may be traced; they are clamped into range. */
export function dynamicSlice(x: ArrayLike, startIndices: readonly ArrayLike[] | Tracer, sliceSizes: readonly number[]): Tracer {
  const t = toTracer("dynamicSlice", x);
  checkIntArray("dynamicSlice", "sliceSizes", sliceSizes, t.ndim);
  const starts = startScalars("dynamicSlice", startIndices, t.ndim);
  return bind1("dynamic_slice", [t, ...starts], { sliceSizes: [...sliceSizes] });
}

/** dynamic_slice along one axis. */
export function dynamicSliceInDim(x: ArrayLike, startIndex: ArrayLike, sliceSize: number, axis = 0): Tracer {
  return asCalledFrom("dynamicSliceInDim", () => {
    const t = toTracer("dynamicSliceInDim", x);
    const ax = normalizeAxis(axis, t.ndim, "dynamicSliceInDim");
    const starts: ArrayLike[] = t.shape.map(() => 0);
    starts[ax] = startIndex;
    const sizes = [...t.shape];
    sizes[ax] = sliceSize;
    return dynamicSlice(t, starts, sizes);
  });
}

export function dynamicUpdateSlice(x: ArrayLike, update: ArrayLike, startIndices: readonly ArrayLike[] | Tracer): Tracer {
  const t = toTracer("dynamicUpdateSlice", x);
  const u = toTracer("dynamicUpdateSlice", update, t.dtype);
  const starts = startScalars("dynamicUpdateSlice", startIndices, t.ndim);
  return bind1("dynamic_update_slice", [t, u, ...starts], {});
}

export function dynamicUpdateSliceInDim(x: ArrayLike, update: ArrayLike, startIndex: ArrayLike, axis = 0): Tracer {
  return asCalledFrom("dynamicUpdateSliceInDim", () => {
    const t = toTracer("dynamicUpdateSliceInDim", x);
    const ax = normalizeAxis(axis, t.ndim, "dynamicUpdateSliceInDim");
    const starts: ArrayLike[] = t.shape.map(() => 0);
    starts[ax] = startIndex;
    return dynamicUpdateSlice(t, update, starts);
  });
}

/** pad(x, paddingValue, [[lo, hi, interior], ...]); lo/hi may be negative. */
export function pad(x: ArrayLike, paddingValue: ArrayLike, paddingConfig: readonly (readonly [number, number, number])[]): Tracer {
  const t = toTracer("pad", x);
  const v = toTracer("pad", paddingValue, t.dtype);
  if (!globalThis.Array.isArray(paddingConfig) || paddingConfig.length !== t.ndim) {
    throw new ArgumentError(`pad: paddingConfig must have one [lo, hi, interior] triple per dim of ${t.aval.str()}, got ${JSON.stringify(paddingConfig)}`);
  }
  return bind1("pad", [t, v], { paddingConfig: paddingConfig.map((c) => [c[0], c[1], c[2]] as [number, number, number]) });
}

export function concatenate(operands: readonly ArrayLike[], dimension: number): Tracer {
  if (!globalThis.Array.isArray(operands) || operands.length === 0) throw new ArgumentError("concatenate: needs at least one operand");
  const ts = operands.map((o) => toTracer("concatenate", o));
  const dim = normalizeAxis(dimension, ts[0].ndim, "concatenate");
  if (ts.length === 1) return ts[0];
  return bind1("concatenate", ts, { dimension: dim });
}

// --- creation ---

/** lax.iota(dtype, size): [0, 1, ..., size-1]. */
export function iota(dtype: DType, size: number): Tracer {
  return broadcastedIota(dtype, [size], 0);
}

export function broadcastedIota(dtype: DType, shape: readonly number[], dimension: number): Tracer {
  return asCalledFrom("broadcastedIota", () => {
    checkDType(dtype, "iota");
    checkShape(shape, "iota");
    const dim = normalizeAxis(dimension, shape.length, "iota");
    return bind1("iota", [], { dtype, shape: [...shape], dimension: dim });
  });
}

/** An array of `shape` filled with `value` (a broadcast scalar). */
export function full(shape: readonly number[], value: ArrayLike, dtype?: DType): Tracer {
  checkShape(shape, "full");
  if (isTracer(value)) {
    if (value.ndim !== 0) throw new ShapeError(`full: the fill value must be a scalar, got ${value.aval.str()}`);
    const v = dtype === undefined || value.dtype === dtype ? value : bind1("convert_element_type", [value], { newDtype: dtype, weakType: false });
    return broadcastScalar(v, shape);
  }
  const d = checkDType(dtype ?? dtypeOfScalar(value).dtype, "full");
  return broadcastScalar(Array.fromTyped(checkedTypedFrom("full", d, [value]), [], d), shape);
}

export function fullLike(x: Tracer, value: ArrayLike, dtype?: DType, shape?: readonly number[]): Tracer {
  const t = toTracer("fullLike", x);
  return full(shape ?? t.shape, value, dtype ?? t.dtype);
}

export function zerosLike(x: Tracer): Tracer {
  return fullLike(toTracer("zerosLike", x), 0);
}

// --- reductions ---

type Red = "reduce_sum" | "reduce_max" | "reduce_min" | "reduce_prod" | "reduce_and" | "reduce_or";
function reduction(prim: Red, where: string): (x: ArrayLike, axes: readonly number[]) => Tracer {
  return (x, axes) => {
    const t = toTracer(where, x);
    const ax = normalizeAxes(axes, t.ndim, where).sort((a, b) => a - b);
    if (ax.length === 0) return t;
    return bind1(prim, [t], { axes: ax });
  };
}
export const reduceSum = reduction("reduce_sum", "reduceSum");
export const reduceMax = reduction("reduce_max", "reduceMax");
export const reduceMin = reduction("reduce_min", "reduceMin");
export const reduceProd = reduction("reduce_prod", "reduceProd");
export const reduceAnd = reduction("reduce_and", "reduceAnd");
export const reduceOr = reduction("reduce_or", "reduceOr");

export function argmax(x: ArrayLike, axis: number, indexDtype: DType = "int32"): Tracer {
  const t = toTracer("argmax", x);
  return bind1("argmax", [t], { axis: normalizeAxis(axis, t.ndim, "argmax"), indexDtype });
}

export function argmin(x: ArrayLike, axis: number, indexDtype: DType = "int32"): Tracer {
  const t = toTracer("argmin", x);
  return bind1("argmin", [t], { axis: normalizeAxis(axis, t.ndim, "argmin"), indexDtype });
}

type Cum = "cumsum" | "cumprod" | "cummax" | "cummin";
function cumulative(prim: Cum): (x: ArrayLike, axis?: number, opts?: { reverse?: boolean }) => Tracer {
  return (x, axis = 0, opts = {}) => {
    const t = toTracer(prim, x);
    return bind1(prim, [t], { axis: normalizeAxis(axis, t.ndim, prim), reverse: opts.reverse ?? false });
  };
}
export const cumsum = cumulative("cumsum");
export const cumprod = cumulative("cumprod");
export const cummax = cumulative("cummax");
export const cummin = cumulative("cummin");

// --- sorting ---

export interface SortOptions {
  dimension?: number;
  isStable?: boolean;
  numKeys?: number;
}

/** Sort one operand, or several lexicographically by the first numKeys of them. */
export function sort(operand: ArrayLike, opts?: SortOptions): Tracer;
export function sort(operands: readonly ArrayLike[], opts?: SortOptions): Tracer[];
export function sort(operand: ArrayLike | readonly ArrayLike[], opts: SortOptions = {}): Tracer | Tracer[] {
  checkOptions("lax.sort", opts, { dimension: opt.integer, isStable: opt.boolean, numKeys: opt.positiveInteger });
  const many = globalThis.Array.isArray(operand);
  const ts = (many ? (operand as ArrayLike[]) : [operand as ArrayLike]).map((o) => toTracer("sort", o));
  if (ts.length === 0) throw new ArgumentError("sort: needs at least one operand");
  const dimension = normalizeAxis(opts.dimension ?? -1, ts[0].ndim, "sort");
  const outs = bind("sort", ts, { dimension, isStable: opts.isStable ?? true, numKeys: opts.numKeys ?? 1 });
  return many ? outs : outs[0];
}

/** Sort `keys` and carry `values` along (lax.sort_key_val). */
export function sortKeyVal(keys: ArrayLike, values: ArrayLike, dimension = -1, isStable = true): [Tracer, Tracer] {
  return asCalledFrom("sortKeyVal", () => {
    const [k, v] = sort([keys, values], { dimension, isStable, numKeys: 1 });
    return [k, v];
  });
}

/** The k largest entries along the last axis -> [values, int32 indices]. */
export function topK(x: ArrayLike, k: number): [Tracer, Tracer] {
  const t = toTracer("topK", x);
  if (!Number.isInteger(k) || k < 0) throw new ArgumentError(`topK: k must be a non-negative integer, got ${k} (operand ${t.aval.str()})`);
  const outs = bind("top_k", [t], { k });
  return [outs[0], outs[1]];
}
