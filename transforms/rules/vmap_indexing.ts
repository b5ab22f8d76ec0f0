// Batching rules of the indexing primitives: dynamic_slice and
// dynamic_update_slice (batched start indices become a gather / scatter with
// batching dims, as JAX does), gather, scatter and scatter_add — the batch dim
// joins the operand's and the indices' batching dims instead of being moved.

import type { DType } from "../../src/core/dtype";
import type { GatherDimensionNumbers, ScatterDimensionNumbers } from "../../src/core/primitives";
import { complementDims, range } from "../../src/core/shape";
import { bind1, type Tracer } from "../../src/core/trace";
import { type BatchDim, type VmapRule, matchBatchDim, moveAxis } from "../vmap";
import { alignAll, insertAt, scalarConst, shift } from "./vmap_helpers";

/** Sorted insertion of a new batching-dim pair into (sorted) operand dims and the matching index dims. */
function addBatchingPair(operandDims: readonly number[], indexDims: readonly number[], od: number, id: number): [number[], number[]] {
  const ops = operandDims.map((a) => shift(a, od));
  const idx = indexDims.map((a) => shift(a, id));
  let k = 0;
  while (k < ops.length && ops[k] < od) k++;
  return [insertAt(ops, k, od), insertAt(idx, k, id)];
}

/**
 * An output (or updates) rank-`rank` layout whose non-`windowDims` positions
 * follow the index batch dims in order: insert one more of them so that it is
 * the `id`-th. Returns the new window dims and the inserted position.
 */
function insertBatchPosition(rank: number, windowDims: readonly number[], id: number): [number[], number] {
  const others = complementDims(rank, windowDims);
  const p = id < others.length ? others[id] : rank;
  return [windowDims.map((o) => (o < p ? o : o + 1)), p];
}

/**
 * Insert a new window dim into the sorted `windowDims` of a layout, so that it is
 * the `j`-th window dim: placed right after the (j-1)-th. Returns the new window
 * dims and its position.
 */
function insertWindowPosition(windowDims: readonly number[], j: number): [number[], number] {
  const p = j === 0 ? 0 : windowDims[j - 1] + 1;
  return [[...windowDims.slice(0, j), p, ...windowDims.slice(j).map((o) => o + 1)], p];
}

/** Stack rank-0 (possibly batched to [B]) start indices into a [B, n] index array. */
function stackIndices(axisSize: number, starts: readonly Tracer[], dims: readonly BatchDim[]): Tracer {
  const dtypes = new Set(starts.map((s) => s.dtype));
  const dtype: DType = dtypes.size === 1 ? starts[0].dtype : "int32";
  const cols = starts.map((s, i) => {
    const v = s.dtype === dtype ? s : bind1("convert_element_type", [s], { newDtype: dtype, weakType: false });
    return bind1("broadcast_in_dim", [v], { shape: [axisSize, 1], broadcastDimensions: dims[i] === null ? [] : [0] });
  });
  return cols.length === 1 ? cols[0] : bind1("concatenate", cols, { dimension: 1 });
}

export const dynamicSlice: VmapRule<"dynamic_slice"> = (axisSize, [operand, ...starts], [od, ...sds], { sliceSizes }) => {
  const r = sliceSizes.length;
  if (sds.every((s) => s === null)) {
    const bd = od as number;
    const zero = scalarConst(0, starts.length ? starts[0].dtype : "int32");
    const out = bind1("dynamic_slice", [operand, ...insertAt(starts, bd, zero)], { sliceSizes: insertAt(sliceSizes, bd, axisSize) });
    return [[out], [bd]];
  }
  // Batched start indices: a gather with one index vector per batch element.
  const indices = stackIndices(axisSize, starts, sds);
  const offsetDims = range(r).map((i) => i + 1);
  if (od === null) {
    const dn: GatherDimensionNumbers = {
      offsetDims, collapsedSliceDims: [], startIndexMap: range(r), operandBatchingDims: [], startIndicesBatchingDims: [],
    };
    return [[bind1("gather", [operand, indices], { dimensionNumbers: dn, sliceSizes: [...sliceSizes], mode: "clip", fillValue: null })], [0]];
  }
  const op0 = moveAxis(operand, od, 0);
  const dn: GatherDimensionNumbers = {
    offsetDims, collapsedSliceDims: [], startIndexMap: offsetDims, operandBatchingDims: [0], startIndicesBatchingDims: [0],
  };
  return [[bind1("gather", [op0, indices], { dimensionNumbers: dn, sliceSizes: [1, ...sliceSizes], mode: "clip", fillValue: null })], [0]];
};

export const dynamicUpdateSlice: VmapRule<"dynamic_update_slice"> = (axisSize, [operand, update, ...starts], [od, ud, ...sds], params) => {
  if (sds.every((s) => s === null)) {
    const [[op, up], bd] = alignAll(axisSize, [operand, update], [od, ud]);
    const zero = scalarConst(0, starts.length ? starts[0].dtype : "int32");
    return [[bind1("dynamic_update_slice", [op, up, ...insertAt(starts, bd, zero)], params)], [bd]];
  }
  // Batched start indices: a scatter with batching dims, clamped like dynamic_update_slice.
  const op0 = matchBatchDim(operand, od, axisSize, 0);
  const up0 = matchBatchDim(update, ud, axisSize, 0);
  const r = op0.ndim - 1;
  const indices = stackIndices(axisSize, starts, sds);
  const window = range(r).map((i) => i + 1);
  const dn: ScatterDimensionNumbers = {
    updateWindowDims: window, insertedWindowDims: [], scatterDimsToOperandDims: window, operandBatchingDims: [0], scatterIndicesBatchingDims: [0],
  };
  return [[bind1("scatter", [op0, indices, up0], { dimensionNumbers: dn, mode: "clip" })], [0]];
};

// --- gather / scatter -----------------------------------------------------------------

export const gather: VmapRule<"gather"> = (axisSize, [operand, indices], [od, idIn], params) => {
  const dn = params.dimensionNumbers;
  let idx = indices;
  let id = idIn;
  const indicesRank = id === null ? idx.ndim : idx.ndim - 1; // unbatched
  if (id !== null && id === indicesRank) {
    // the index vector must stay the last dim
    idx = moveAxis(idx, id, 0);
    id = 0;
  }
  const outRank = indicesRank - 1 + dn.offsetDims.length; // unbatched output rank

  if (id === null) {
    // Only the operand is batched: its batch dim becomes one more (full) window dim.
    const bd = od as number;
    const windowDims = complementDims(operand.ndim - 1, dn.collapsedSliceDims, dn.operandBatchingDims);
    const j = windowDims.filter((w) => w < bd).length;
    const [offsetDims, p] = insertWindowPosition(dn.offsetDims, j);
    const newDn: GatherDimensionNumbers = {
      offsetDims,
      collapsedSliceDims: dn.collapsedSliceDims.map((a) => shift(a, bd)),
      startIndexMap: dn.startIndexMap.map((a) => shift(a, bd)),
      operandBatchingDims: dn.operandBatchingDims.map((a) => shift(a, bd)),
      startIndicesBatchingDims: dn.startIndicesBatchingDims,
    };
    const out = bind1("gather", [operand, idx], { ...params, dimensionNumbers: newDn, sliceSizes: insertAt(params.sliceSizes, bd, axisSize) });
    return [[out], [p]];
  }

  // Batched indices: one more batch dim of the output, the id-th non-offset one.
  const [offsetDims, p] = insertBatchPosition(outRank, dn.offsetDims, id);
  if (od === null) {
    const newDn: GatherDimensionNumbers = {
      ...dn,
      offsetDims,
      startIndicesBatchingDims: dn.startIndicesBatchingDims.map((a) => shift(a, id)),
    };
    return [[bind1("gather", [operand, idx], { ...params, dimensionNumbers: newDn })], [p]];
  }
  // Both batched: pair the two batch dims as batching dims.
  const [operandBatchingDims, startIndicesBatchingDims] = addBatchingPair(dn.operandBatchingDims, dn.startIndicesBatchingDims, od, id);
  const newDn: GatherDimensionNumbers = {
    offsetDims,
    collapsedSliceDims: dn.collapsedSliceDims.map((a) => shift(a, od)),
    startIndexMap: dn.startIndexMap.map((a) => shift(a, od)),
    operandBatchingDims,
    startIndicesBatchingDims,
  };
  const out = bind1("gather", [operand, idx], { ...params, dimensionNumbers: newDn, sliceSizes: insertAt(params.sliceSizes, od, 1) });
  return [[out], [p]];
};

export function scatter(prim: "scatter" | "scatter_add"): VmapRule<"scatter" | "scatter_add"> {
  return (axisSize, [operand, indices, updates], [odIn, idIn, ud], params) => {
    const dn = params.dimensionNumbers;
    let idx = indices;
    let id = idIn;
    const indicesRank = id === null ? idx.ndim : idx.ndim - 1;
    if (id !== null && id === indicesRank) {
      idx = moveAxis(idx, id, 0);
      id = 0;
    }
    const updatesRank = ud === null ? updates.ndim : updates.ndim - 1;
    // The output is batched, so the operand must be.
    const od = odIn ?? 0;
    const op = matchBatchDim(operand, odIn, axisSize, od);

    if (id === null) {
      // Indices unbatched: the batch dim is one more (full) window dim of the updates.
      const windowDims = complementDims(op.ndim - 1, dn.insertedWindowDims, dn.operandBatchingDims);
      const j = windowDims.filter((w) => w < od).length;
      const [updateWindowDims, q] = insertWindowPosition(dn.updateWindowDims, j);
      const up = matchBatchDim(updates, ud, axisSize, q);
      const newDn: ScatterDimensionNumbers = {
        updateWindowDims,
        insertedWindowDims: dn.insertedWindowDims.map((a) => shift(a, od)),
        scatterDimsToOperandDims: dn.scatterDimsToOperandDims.map((a) => shift(a, od)),
        operandBatchingDims: dn.operandBatchingDims.map((a) => shift(a, od)),
        scatterIndicesBatchingDims: dn.scatterIndicesBatchingDims,
      };
      return [[bind1(prim, [op, idx, up], { ...params, dimensionNumbers: newDn })], [od]];
    }

    // Batched indices: pair the operand's and the indices' batch dims as batching
    // dims; the updates get the batch dim as their id-th scatter dim.
    const [updateWindowDims, q] = insertBatchPosition(updatesRank, dn.updateWindowDims, id);
    const up = matchBatchDim(updates, ud, axisSize, q);
    const [operandBatchingDims, scatterIndicesBatchingDims] = addBatchingPair(dn.operandBatchingDims, dn.scatterIndicesBatchingDims, od, id);
    const newDn: ScatterDimensionNumbers = {
      updateWindowDims,
      insertedWindowDims: dn.insertedWindowDims.map((a) => shift(a, od)),
      scatterDimsToOperandDims: dn.scatterDimsToOperandDims.map((a) => shift(a, od)),
      operandBatchingDims,
      scatterIndicesBatchingDims,
    };
    return [[bind1(prim, [op, idx, up], { ...params, dimensionNumbers: newDn })], [od]];
  };
}
