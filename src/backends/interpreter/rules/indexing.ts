// Interpreter rules of the indexing primitives — gather, scatter and
// scatter_add — the exact reference semantics of XLA's general Gather/Scatter
// (batching dims included) on host arrays. The index vector is the last dim of
// the indices. mode "clip" clamps each start index so the whole slice/window
// is in bounds; mode "fill" makes gather return the fill value for a slice
// that is not wholly in bounds, and makes scatter drop such an update window.

import type { ShapedArray } from "../../../core/aval";
import { type DType, isFloat, roundToDType } from "../../../core/dtype";
import type { GatherDimensionNumbers, GatherMode, ScatterDimensionNumbers } from "../../../core/primitives";
import { stridesOf, sizeOf } from "../../../core/shape";
import { complementDims } from "../../../core/shape";
import { HostArray } from "../host_array";
import type { InterpRuleTable } from "./types";

/** JAX's default gather fill: NaN for floats, the minimum for signed ints,
 * the maximum for unsigned ints, true for bool. */
export function gatherFillValue(dtype: DType, fillValue: number | null): number {
  if (fillValue !== null) return roundToDType(dtype, fillValue);
  switch (dtype) {
    case "float32":
    case "float16":
      return NaN;
    case "int32":
      return -2147483648;
    case "uint32":
      return 4294967295;
    case "bool":
      return 1;
  }
}

/**
 * Computes the operand start offset (linear, row-major) of one slice/window,
 * from the index vector at `idxBase` in the indices data and the batch
 * coordinates `G`. Returns -1 if mode is "fill" and the window is not wholly in
 * bounds. `windowSize[d]` is the window's extent along operand dim d.
 */
function startOffset(
  indices: ArrayLike<number>,
  idxBase: number,
  G: readonly number[],
  startMap: readonly number[],
  operandBatchingDims: readonly number[],
  indicesBatchingDims: readonly number[],
  operandShape: readonly number[],
  operandStrides: readonly number[],
  windowSize: readonly number[],
  mode: GatherMode,
): number {
  let off = 0;
  for (let k = 0; k < startMap.length; k++) {
    const d = startMap[k];
    const hi = operandShape[d] - windowSize[d];
    let v = indices[idxBase + k];
    if (v < 0 || v > hi) {
      if (mode === "fill") return -1;
      v = v < 0 ? 0 : hi;
    }
    off += v * operandStrides[d];
  }
  for (let i = 0; i < operandBatchingDims.length; i++) {
    off += G[indicesBatchingDims[i]] * operandStrides[operandBatchingDims[i]];
  }
  return off;
}

/**
 * The batch coordinates of one gather output / scatter update position `pos`
 * (its coordinates at `batchDims`), written into `G`, and the offset of their
 * index vector in the indices data.
 */
function indexBatch(pos: readonly number[], batchDims: readonly number[], idxStrides: readonly number[], G: number[]): number {
  let idxBase = 0;
  for (let j = 0; j < G.length; j++) {
    G[j] = pos[batchDims[j]];
    idxBase += G[j] * idxStrides[j];
  }
  return idxBase;
}

/** Row-major iteration over `shape` calling fn(multiIndex, flatIndex); the index array is reused. */
function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    fn(idx, k);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

function gatherImpl(
  operand: HostArray,
  indices: HostArray,
  dn: GatherDimensionNumbers,
  sliceSizes: readonly number[],
  mode: GatherMode,
  fillValue: number | null,
  outAval: ShapedArray,
): HostArray {
  const out = HostArray.forAval(outAval);
  const outShape = outAval.shape;
  const batchRank = indices.ndim - 1;
  const idxStrides = stridesOf(indices.shape);
  const opStrides = stridesOf(operand.shape);
  const batchOutDims = complementDims(outShape.length, dn.offsetDims);
  const windowDims = complementDims(operand.ndim, dn.collapsedSliceDims, dn.operandBatchingDims);
  const fill = gatherFillValue(operand.dtype, fillValue);
  const G = new Array<number>(batchRank).fill(0);
  const src = operand.data;
  const dst = out.data;
  forEachIndex(outShape, (o, flat) => {
    const idxBase = indexBatch(o, batchOutDims, idxStrides, G);
    const start = startOffset(
      indices.data, idxBase, G, dn.startIndexMap, dn.operandBatchingDims, dn.startIndicesBatchingDims,
      operand.shape, opStrides, sliceSizes, mode,
    );
    if (start < 0) {
      dst[flat] = fill;
      return;
    }
    let off = start;
    for (let j = 0; j < windowDims.length; j++) off += o[dn.offsetDims[j]] * opStrides[windowDims[j]];
    // Only a degenerate slice (size 0 along a collapsed/batching dim) can land outside.
    dst[flat] = off < src.length ? src[off] : mode === "fill" ? fill : 0;
  });
  return out;
}

function scatterImpl(
  operand: HostArray,
  indices: HostArray,
  updates: HostArray,
  dn: ScatterDimensionNumbers,
  mode: GatherMode,
  combine: "replace" | "add",
  outAval: ShapedArray,
): HostArray {
  const r = operand.ndim;
  const batchRank = indices.ndim - 1;
  const idxStrides = stridesOf(indices.shape);
  const opStrides = stridesOf(operand.shape);
  const windowDims = complementDims(r, dn.insertedWindowDims, dn.operandBatchingDims);
  const scatterDims = complementDims(updates.ndim, dn.updateWindowDims);
  const windowSize = new Array<number>(r).fill(1);
  dn.updateWindowDims.forEach((ud, j) => (windowSize[windowDims[j]] = updates.shape[ud]));

  const dtype = operand.dtype;
  const out = HostArray.forAval(outAval);
  // Floats accumulate in f64 and round once at the end; ints wrap mod 2^32; bool add is OR.
  const acc: Float64Array | null = combine === "add" && isFloat(dtype) ? Float64Array.from(operand.data) : null;
  const dst = out.data;
  dst.set(operand.data);
  const upd = updates.data;
  const G = new Array<number>(batchRank).fill(0);
  forEachIndex(updates.shape, (u, flat) => {
    const idxBase = indexBatch(u, scatterDims, idxStrides, G);
    const start = startOffset(
      indices.data, idxBase, G, dn.scatterDimsToOperandDims, dn.operandBatchingDims, dn.scatterIndicesBatchingDims,
      operand.shape, opStrides, windowSize, mode,
    );
    if (start < 0) return; // dropped: the window is not wholly in bounds
    let off = start;
    for (let j = 0; j < windowDims.length; j++) off += u[dn.updateWindowDims[j]] * opStrides[windowDims[j]];
    const v = upd[flat];
    if (combine === "replace") dst[off] = v;
    else if (acc) acc[off] += v;
    else if (dtype === "bool") dst[off] = dst[off] || v ? 1 : 0;
    else dst[off] = (dst[off] + v) | 0; // typed-array store reduces mod 2^32 for uint32 too
  });
  if (acc) for (let i = 0; i < acc.length; i++) dst[i] = roundToDType(dtype, acc[i]);
  return out;
}

export const indexingInterpRules: InterpRuleTable<"gather" | "scatter" | "scatter_add"> = {
  gather: ([operand, indices], p, [outAval]) =>
    [gatherImpl(operand, indices, p.dimensionNumbers, p.sliceSizes, p.mode, p.fillValue, outAval)],
  scatter: ([operand, indices, updates], p, [outAval]) =>
    [scatterImpl(operand, indices, updates, p.dimensionNumbers, p.mode, "replace", outAval)],
  scatter_add: ([operand, indices, updates], p, [outAval]) =>
    [scatterImpl(operand, indices, updates, p.dimensionNumbers, p.mode, "add", outAval)],
};
