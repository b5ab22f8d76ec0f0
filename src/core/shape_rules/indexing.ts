// Shape/dtype rules of the indexing primitives — gather, scatter and
// scatter_add — with XLA's general Gather/Scatter semantics, batching dims
// included. The index vector is always the LAST dim of the indices (JAX's
// convention), so indices of shape [...batch, K] hold K start coordinates.
// The small helpers at the bottom are shared with the interpreter rules.

import { ShapedArray } from "../aval";
import { isInt } from "../dtype";
import { ArgumentError, AxisError, DTypeError, ShapeError, fmtShape } from "../errors";
import type { GatherDimensionNumbers, ScatterDimensionNumbers } from "../primitives";
import { complementDims } from "../shape";
import type { ShapeRule, ShapeRuleTable } from "./types";

// --- validation helpers ------------------------------------------------------

/** Check the number of inputs; returns them. */
export function expectInputs(where: string, inAvals: ShapedArray[], n: number, names: string): ShapedArray[] {
  if (inAvals.length !== n) {
    throw new ArgumentError(
      `${where}: expected ${n} inputs ${names}, got ${inAvals.length}` +
        (inAvals.length ? ` (${inAvals.map((a) => a.str()).join(", ")})` : ""),
    );
  }
  return inAvals;
}

/**
 * Check a list of dimension numbers: integers in [0, bound), no repeats, and
 * (when `sorted`) strictly increasing. `ctx` names the shapes involved.
 */
export function checkDimList(
  where: string,
  name: string,
  dims: readonly number[],
  bound: number,
  sorted: boolean,
  ctx: string,
): void {
  if (!Array.isArray(dims)) {
    throw new ArgumentError(`${where}: ${name} must be an array of dimension numbers, got ${JSON.stringify(dims)} (${ctx})`);
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= bound) {
      throw new AxisError(
        `${where}: ${name} ${fmtShape(dims)} has dimension ${d} out of range; expected integers in [0, ${bound}) (${ctx})`,
      );
    }
  }
  if (new Set(dims).size !== dims.length) {
    throw new AxisError(`${where}: ${name} ${fmtShape(dims)} has a repeated dimension (${ctx})`);
  }
  if (sorted) {
    for (let i = 1; i < dims.length; i++) {
      if (dims[i] <= dims[i - 1]) {
        throw new AxisError(`${where}: ${name} ${fmtShape(dims)} must be sorted in increasing order (${ctx})`);
      }
    }
  }
}

function checkDisjoint(where: string, nameA: string, a: readonly number[], nameB: string, b: readonly number[], ctx: string): void {
  const common = a.filter((d) => b.includes(d));
  if (common.length) {
    throw new AxisError(
      `${where}: ${nameA} ${fmtShape(a)} and ${nameB} ${fmtShape(b)} must be disjoint, both contain ${fmtShape(common)} (${ctx})`,
    );
  }
}

function checkIndicesDType(where: string, indices: ShapedArray, ctx: string): void {
  if (!isInt(indices.dtype)) {
    throw new DTypeError(`${where}: indices must be int32 or uint32, got ${indices.str()} (${ctx})`);
  }
}

function checkMode(where: string, mode: unknown): void {
  if (mode !== "clip" && mode !== "fill") {
    throw new ArgumentError(`${where}: mode must be "clip" or "fill", got ${JSON.stringify(mode)}`);
  }
}


// --- gather ------------------------------------------------------------------

/**
 * gather(operand, indices). For an output index Out, with G the output's batch
 * (non-offset) coordinates (= the indices' leading coordinates):
 *   start[startIndexMap[k]] = indices[G, k]          (clamped, or fill if OOB)
 *   start[operandBatchingDims[i]] = G[startIndicesBatchingDims[i]]
 *   operand index = start + window offsets, where the j-th operand dim that is
 *   neither collapsed nor a batching dim gets Out[offsetDims[j]].
 * Output shape: offsetDims positions hold the slice sizes of those window
 * dims; the remaining positions hold indices.shape[:-1] in order.
 */
export const gatherShapeRule: ShapeRule<"gather"> = (inAvals, params) => {
  const where = "gather";
  const [operand, indices] = expectInputs(where, inAvals, 2, "(operand, indices)");
  const ctx = `operand ${operand.str()}, indices ${indices.str()}`;
  const dn: GatherDimensionNumbers = params.dimensionNumbers;
  const { sliceSizes } = params;
  checkMode(where, params.mode);
  if (params.fillValue !== null && typeof params.fillValue !== "number") {
    throw new ArgumentError(`${where}: fillValue must be a number or null, got ${JSON.stringify(params.fillValue)}`);
  }
  checkIndicesDType(where, indices, ctx);
  if (indices.ndim < 1) {
    throw new ShapeError(`${where}: indices must have rank >= 1 (the last dim is the index vector), got ${ctx}`);
  }
  const r = operand.ndim;
  const batchRank = indices.ndim - 1;
  const K = indices.shape[batchRank];

  if (!Array.isArray(sliceSizes) || sliceSizes.length !== r) {
    throw new ShapeError(`${where}: sliceSizes ${JSON.stringify(sliceSizes)} must have one entry per operand dim (${r}) (${ctx})`);
  }
  for (let d = 0; d < r; d++) {
    const s = sliceSizes[d];
    if (!Number.isInteger(s) || s < 0 || s > operand.shape[d]) {
      throw new ShapeError(
        `${where}: sliceSizes ${fmtShape(sliceSizes)} dim ${d} is ${s}; expected an integer in [0, ${operand.shape[d]}] (${ctx})`,
      );
    }
  }
  checkDimList(where, "collapsedSliceDims", dn.collapsedSliceDims, r, true, ctx);
  checkDimList(where, "operandBatchingDims", dn.operandBatchingDims, r, true, ctx);
  checkDisjoint(where, "collapsedSliceDims", dn.collapsedSliceDims, "operandBatchingDims", dn.operandBatchingDims, ctx);
  for (const d of [...dn.collapsedSliceDims, ...dn.operandBatchingDims]) {
    if (sliceSizes[d] > 1) {
      throw new ShapeError(
        `${where}: collapsed and batching operand dims must have slice size <= 1, but sliceSizes ${fmtShape(sliceSizes)} has ${sliceSizes[d]} at dim ${d} (${ctx})`,
      );
    }
  }
  checkDimList(where, "startIndicesBatchingDims", dn.startIndicesBatchingDims, batchRank, false, ctx);
  if (dn.startIndicesBatchingDims.length !== dn.operandBatchingDims.length) {
    throw new ShapeError(
      `${where}: operandBatchingDims ${fmtShape(dn.operandBatchingDims)} and startIndicesBatchingDims ${fmtShape(dn.startIndicesBatchingDims)} must have the same length (${ctx})`,
    );
  }
  dn.operandBatchingDims.forEach((od, i) => {
    const id = dn.startIndicesBatchingDims[i];
    if (operand.shape[od] !== indices.shape[id]) {
      throw new ShapeError(
        `${where}: batching dim sizes differ: operand ${operand.str()} dim ${od} has ${operand.shape[od]}, indices ${indices.str()} dim ${id} has ${indices.shape[id]}`,
      );
    }
  });
  checkDimList(where, "startIndexMap", dn.startIndexMap, r, false, ctx);
  if (dn.startIndexMap.length !== K) {
    throw new ShapeError(
      `${where}: startIndexMap ${fmtShape(dn.startIndexMap)} has ${dn.startIndexMap.length} entries but the index vector (last dim of indices) has size ${K} (${ctx})`,
    );
  }
  checkDisjoint(where, "startIndexMap", dn.startIndexMap, "operandBatchingDims", dn.operandBatchingDims, ctx);

  const windowDims = complementDims(r, dn.collapsedSliceDims, dn.operandBatchingDims);
  if (dn.offsetDims.length !== windowDims.length) {
    throw new ShapeError(
      `${where}: offsetDims ${fmtShape(dn.offsetDims)} must have one entry per operand dim that is neither collapsed nor batching ` +
        `(${windowDims.length}: ${fmtShape(windowDims)}) (${ctx})`,
    );
  }
  const outRank = batchRank + windowDims.length;
  checkDimList(where, "offsetDims", dn.offsetDims, outRank, true, ctx);

  const outShape = new Array<number>(outRank);
  dn.offsetDims.forEach((o, j) => (outShape[o] = sliceSizes[windowDims[j]]));
  let b = 0;
  for (let d = 0; d < outRank; d++) if (!dn.offsetDims.includes(d)) outShape[d] = indices.shape[b++];
  return [new ShapedArray(outShape, operand.dtype, operand.weakType)];
};

// --- scatter -----------------------------------------------------------------

/**
 * scatter / scatter_add (operand, indices, updates). For an updates index U,
 * with G the coordinates of U at its non-window dims (= the indices' leading
 * coordinates):
 *   start[scatterDimsToOperandDims[k]] = indices[G, k]  (clamped, or the whole
 *                                                       window dropped if OOB)
 *   start[operandBatchingDims[i]] = G[scatterIndicesBatchingDims[i]]
 *   operand index = start + window offsets, where the j-th operand dim that is
 *   neither inserted nor batching gets U[updateWindowDims[j]].
 * The output has the operand's shape and dtype.
 */
function scatterShapeRule(where: "scatter" | "scatter_add"): ShapeRule<"scatter" | "scatter_add"> {
  return (inAvals, params) => {
    const [operand, indices, updates] = expectInputs(where, inAvals, 3, "(operand, indices, updates)");
    const ctx = `operand ${operand.str()}, indices ${indices.str()}, updates ${updates.str()}`;
    const dn: ScatterDimensionNumbers = params.dimensionNumbers;
    checkMode(where, params.mode);
    checkIndicesDType(where, indices, ctx);
    if (operand.dtype !== updates.dtype) {
      throw new DTypeError(`${where}: operand and updates must have the same dtype, got ${ctx}`);
    }
    if (indices.ndim < 1) {
      throw new ShapeError(`${where}: indices must have rank >= 1 (the last dim is the index vector), got ${ctx}`);
    }
    const r = operand.ndim;
    const batchRank = indices.ndim - 1;
    const K = indices.shape[batchRank];

    checkDimList(where, "updateWindowDims", dn.updateWindowDims, updates.ndim, true, ctx);
    checkDimList(where, "insertedWindowDims", dn.insertedWindowDims, r, true, ctx);
    checkDimList(where, "operandBatchingDims", dn.operandBatchingDims, r, true, ctx);
    checkDisjoint(where, "insertedWindowDims", dn.insertedWindowDims, "operandBatchingDims", dn.operandBatchingDims, ctx);
    checkDimList(where, "scatterIndicesBatchingDims", dn.scatterIndicesBatchingDims, batchRank, false, ctx);
    if (dn.scatterIndicesBatchingDims.length !== dn.operandBatchingDims.length) {
      throw new ShapeError(
        `${where}: operandBatchingDims ${fmtShape(dn.operandBatchingDims)} and scatterIndicesBatchingDims ${fmtShape(dn.scatterIndicesBatchingDims)} must have the same length (${ctx})`,
      );
    }
    dn.operandBatchingDims.forEach((od, i) => {
      const id = dn.scatterIndicesBatchingDims[i];
      if (operand.shape[od] !== indices.shape[id]) {
        throw new ShapeError(
          `${where}: batching dim sizes differ: operand ${operand.str()} dim ${od} has ${operand.shape[od]}, indices ${indices.str()} dim ${id} has ${indices.shape[id]}`,
        );
      }
    });
    checkDimList(where, "scatterDimsToOperandDims", dn.scatterDimsToOperandDims, r, false, ctx);
    if (dn.scatterDimsToOperandDims.length !== K) {
      throw new ShapeError(
        `${where}: scatterDimsToOperandDims ${fmtShape(dn.scatterDimsToOperandDims)} has ${dn.scatterDimsToOperandDims.length} entries but the index vector (last dim of indices) has size ${K} (${ctx})`,
      );
    }
    checkDisjoint(where, "scatterDimsToOperandDims", dn.scatterDimsToOperandDims, "operandBatchingDims", dn.operandBatchingDims, ctx);

    const windowDims = complementDims(r, dn.insertedWindowDims, dn.operandBatchingDims);
    if (dn.updateWindowDims.length !== windowDims.length) {
      throw new ShapeError(
        `${where}: updateWindowDims ${fmtShape(dn.updateWindowDims)} must have one entry per operand dim that is neither inserted nor batching ` +
          `(${windowDims.length}: ${fmtShape(windowDims)}) (${ctx})`,
      );
    }
    if (updates.ndim !== batchRank + windowDims.length) {
      throw new ShapeError(
        `${where}: updates must have rank ${batchRank + windowDims.length} (${batchRank} scatter dims from indices + ${windowDims.length} window dims), got ${ctx}`,
      );
    }
    const scatterDims = complementDims(updates.ndim, dn.updateWindowDims);
    scatterDims.forEach((ud, j) => {
      if (updates.shape[ud] !== indices.shape[j]) {
        throw new ShapeError(
          `${where}: updates ${updates.str()} scatter dim ${ud} has size ${updates.shape[ud]} but indices ${indices.str()} dim ${j} has ${indices.shape[j]}`,
        );
      }
    });
    dn.updateWindowDims.forEach((ud, j) => {
      const od = windowDims[j];
      if (updates.shape[ud] > operand.shape[od]) {
        throw new ShapeError(
          `${where}: updates ${updates.str()} window dim ${ud} has size ${updates.shape[ud]}, larger than operand ${operand.str()} dim ${od} (${operand.shape[od]})`,
        );
      }
    });
    return [new ShapedArray(operand.shape, operand.dtype, operand.weakType)];
  };
}

export const indexingShapeRules: ShapeRuleTable<"gather" | "scatter" | "scatter_add"> = {
  gather: gatherShapeRule,
  scatter: scatterShapeRule("scatter"),
  scatter_add: scatterShapeRule("scatter_add"),
};
