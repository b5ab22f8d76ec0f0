// Small primitive-level helpers shared by the jvp and transpose rule tables
// (transforms/rules/jvp.ts, transforms/rules/transpose.ts). Every helper is a
// direct bind1 of one primitive, with the IR's rules made explicit: binary
// operands must have equal shapes and dtypes, so constants are built at the
// operand's dtype and broadcast to its shape. Keeping these here (instead of
// using src/lax) keeps the rules independent of the user-facing wrappers.

import { Array } from "../../src/core/array";
import type { ShapedArray } from "../../src/core/aval";
import type { DType } from "../../src/core/dtype";
import type {
  GatherDimensionNumbers,
  GatherMode,
  ParamsOf,
  ScatterDimensionNumbers,
} from "../../src/core/primitives";
import { bind1, type Tracer } from "../../src/core/trace";

export type AvalLike = { readonly shape: readonly number[]; readonly dtype: DType };

/** A constant of `value` with the shape and dtype of `like`. */
export function full(like: AvalLike, value: number): Tracer {
  const s = Array.scalar(value, like.dtype, false);
  if (like.shape.length === 0) return s;
  return bind1("broadcast_in_dim", [s], { shape: [...like.shape], broadcastDimensions: [] });
}
export const zeros = (like: AvalLike): Tracer => full(like, 0);
export const ones = (like: AvalLike): Tracer => full(like, 1);

/** A scalar (rank-0) value broadcast to `shape`; a no-op for rank-0 shapes. */
export function broadcastScalarTo(x: Tracer, shape: readonly number[]): Tracer {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1("broadcast_in_dim", [x], { shape: [...shape], broadcastDimensions: [] });
}

export const add = (a: Tracer, b: Tracer): Tracer => bind1("add", [a, b], {});
export const sub = (a: Tracer, b: Tracer): Tracer => bind1("sub", [a, b], {});
export const mul = (a: Tracer, b: Tracer): Tracer => bind1("mul", [a, b], {});
export const div = (a: Tracer, b: Tracer): Tracer => bind1("div", [a, b], {});
export const neg = (a: Tracer): Tracer => bind1("neg", [a], {});
export const eq = (a: Tracer, b: Tracer): Tracer => bind1("eq", [a, b], {});
export const gt = (a: Tracer, b: Tracer): Tracer => bind1("gt", [a, b], {});
export const lt = (a: Tracer, b: Tracer): Tracer => bind1("lt", [a, b], {});
export const and = (a: Tracer, b: Tracer): Tracer => bind1("and", [a, b], {});

/** `x * c` for a JS number c. */
export const mulC = (x: Tracer, c: number): Tracer => mul(x, full(x, c));
/** `x + c` for a JS number c. */
export const addC = (x: Tracer, c: number): Tracer => add(x, full(x, c));

/** select(pred, onTrue, onFalse) = select_n(pred, onFalse, onTrue). */
export function select(pred: Tracer, onTrue: Tracer, onFalse: Tracer): Tracer {
  return bind1("select_n", [pred, onFalse, onTrue], {});
}

/** A bool mask as 0/1 of `dtype`. */
export function maskAs(pred: Tracer, dtype: DType): Tracer {
  return bind1("convert_element_type", [pred], { newDtype: dtype, weakType: false });
}

export function convert(x: Tracer, dtype: DType, weakType = false): Tracer {
  if (x.dtype === dtype) return x;
  return bind1("convert_element_type", [x], { newDtype: dtype, weakType });
}

export function reduceSum(x: Tracer, axes: number[]): Tracer {
  if (axes.length === 0) return x;
  return bind1("reduce_sum", [x], { axes: [...axes].sort((a, b) => a - b) });
}

export function reshape(x: Tracer, shape: readonly number[]): Tracer {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1("reshape", [x], { newSizes: [...shape] });
}

export function transpose(x: Tracer, perm: readonly number[]): Tracer {
  if (perm.every((p, i) => p === i)) return x;
  return bind1("transpose", [x], { permutation: [...perm] });
}

export function rev(x: Tracer, dims: number[]): Tracer {
  if (dims.length === 0) return x;
  return bind1("rev", [x], { dimensions: dims });
}

export function pad(x: Tracer, value: Tracer, config: [number, number, number][]): Tracer {
  if (config.every(([lo, hi, int]) => lo === 0 && hi === 0 && int === 0)) return x;
  return bind1("pad", [x, value], { paddingConfig: config });
}

export function slice(x: Tracer, start: number[], limit: number[], strides: number[] | null = null): Tracer {
  const trivialStrides = strides === null || strides.every((s) => s === 1);
  if (trivialStrides && start.every((s) => s === 0) && limit.every((l, i) => l === x.shape[i])) return x;
  return bind1("slice", [x], { startIndices: start, limitIndices: limit, strides: trivialStrides ? null : strides });
}

/** Slice `[start, limit)` of one axis. */
export function sliceAxis(x: Tracer, axis: number, start: number, limit: number): Tracer {
  return slice(
    x,
    x.shape.map((_, d) => (d === axis ? start : 0)),
    x.shape.map((n, d) => (d === axis ? limit : n)),
  );
}

/** Pad one axis with a constant: `lo` before and `hi` after. */
export function padAxis(x: Tracer, axis: number, lo: number, hi: number, value: number): Tracer {
  return pad(
    x,
    Array.scalar(value, x.dtype),
    x.shape.map((_, d): [number, number, number] => (d === axis ? [lo, hi, 0] : [0, 0, 0])),
  );
}

/** Shift along `axis` by `k` places (towards higher indices when forward), filling with `fill`. */
export function shift(x: Tracer, axis: number, k: number, fill: number, forward: boolean): Tracer {
  const n = x.shape[axis];
  const kk = Math.min(k, n);
  if (forward) return padAxis(sliceAxis(x, axis, 0, n - kk), axis, kk, 0, fill);
  return padAxis(sliceAxis(x, axis, kk, n), axis, 0, kk, fill);
}

export function iota(dtype: DType, shape: readonly number[], dimension: number): Tracer {
  return bind1("iota", [], { dtype, shape: [...shape], dimension });
}

export function gather(operand: Tracer, indices: Tracer, params: ParamsOf<"gather">): Tracer {
  return bind1("gather", [operand, indices], params);
}

/**
 * take_along_axis(x, idx, axis): out[..., i, ...] = x[..., idx[..., i, ...], ...],
 * with idx of x's shape except along `axis`. A gather whose other dims are
 * batching dims, so its transpose (scatter_add) is exact.
 */
export function takeAlongAxis(x: Tracer, idx: Tracer, axis: number): Tracer {
  const r = x.ndim;
  const others = [...globalThis.Array(r).keys()].filter((d) => d !== axis);
  const indices = reshape(idx, [...idx.shape, 1]);
  return gather(x, indices, {
    dimensionNumbers: {
      offsetDims: [],
      collapsedSliceDims: [axis],
      startIndexMap: [axis],
      operandBatchingDims: others,
      startIndicesBatchingDims: others,
    },
    sliceSizes: x.shape.map(() => 1),
    mode: "clip",
    fillValue: null,
  });
}

/** The gather that reads, for each update element of a scatter, the operand element it lands on. */
export function gatherParamsOfScatter(
  dn: ScatterDimensionNumbers,
  operandShape: readonly number[],
  updatesShape: readonly number[],
  mode: GatherMode,
  fillValue: number | null,
): ParamsOf<"gather"> {
  const windowOperandDims = [...globalThis.Array(operandShape.length).keys()].filter(
    (d) => !dn.insertedWindowDims.includes(d) && !dn.operandBatchingDims.includes(d),
  );
  const sliceSizes = operandShape.map(() => 1);
  windowOperandDims.forEach((od, j) => (sliceSizes[od] = updatesShape[dn.updateWindowDims[j]]));
  const gdn: GatherDimensionNumbers = {
    offsetDims: [...dn.updateWindowDims],
    collapsedSliceDims: [...dn.insertedWindowDims],
    startIndexMap: [...dn.scatterDimsToOperandDims],
    operandBatchingDims: [...dn.operandBatchingDims],
    startIndicesBatchingDims: [...dn.scatterIndicesBatchingDims],
  };
  return { dimensionNumbers: gdn, sliceSizes, mode, fillValue };
}

/** The scatter dimension numbers that put a gather's output back where it was read. */
export function scatterDnumsOfGather(dn: GatherDimensionNumbers): ScatterDimensionNumbers {
  return {
    updateWindowDims: [...dn.offsetDims],
    insertedWindowDims: [...dn.collapsedSliceDims],
    scatterDimsToOperandDims: [...dn.startIndexMap],
    operandBatchingDims: [...dn.operandBatchingDims],
    scatterIndicesBatchingDims: [...dn.startIndicesBatchingDims],
  };
}

/**
 * For a scatter with possibly repeated indices: a bool mask over the updates
 * that is true for the update element that actually lands (the winner of its
 * operand position), and a bool mask over the operand that is true where no
 * update lands. Both depend on the indices only. JAX's trick: scatter the
 * ids 1..N of the update positions, then gather them back and compare.
 */
export function scatterMasks(
  operand: ShapedArray | AvalLike,
  indices: Tracer,
  updates: ShapedArray | AvalLike,
  dn: ScatterDimensionNumbers,
  mode: GatherMode,
): { updateWins: Tracer; operandKept: Tracer } {
  const scatterDims = [...globalThis.Array(updates.shape.length).keys()].filter((d) => !dn.updateWindowDims.includes(d));
  // id of each update element's scatter position (window elements share it), 1-based.
  const posShape = scatterDims.map((d) => updates.shape[d]);
  const nPos = posShape.reduce((a, b) => a * b, 1);
  let ids = reshape(addC(iota("int32", [nPos], 0), 1), posShape);
  ids = bind1("broadcast_in_dim", [ids], { shape: [...updates.shape], broadcastDimensions: scatterDims });
  const zeroIds = full({ shape: operand.shape, dtype: "int32" }, 0);
  const scattered = bind1("scatter", [zeroIds, indices, ids], { dimensionNumbers: dn, mode });
  const back = gather(scattered, indices, gatherParamsOfScatter(dn, operand.shape, updates.shape, mode, -1));
  return { updateWins: eq(ids, back), operandKept: eq(scattered, zeroIds) };
}

