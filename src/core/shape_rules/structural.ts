// Shape/dtype rules of the shape primitives: broadcast_in_dim, reshape,
// transpose, squeeze, expand_dims, rev, slice, dynamic_slice,
// dynamic_update_slice, pad, concatenate, iota, sort and top_k. Params in the
// IR are already normalized (non-negative axes, no -1 in reshape sizes); the
// rules check them and follow XLA's definitions.

import { ShapedArray } from "../aval";
import { isBool, isInt } from "../dtype";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../errors";
import { isPermutation, shapesEqual, sizeOf } from "../shape";
import {
  allWeak,
  checkAxes,
  checkAxis,
  expectArgs,
  expectInt,
  fmtAvals,
} from "./elementwise";
import type { ShapeRule, ShapeRuleTable } from "./types";

export type StructuralPrimitive =
  | "broadcast_in_dim" | "reshape" | "transpose" | "squeeze" | "expand_dims" | "rev"
  | "slice" | "dynamic_slice" | "dynamic_update_slice" | "pad" | "concatenate" | "iota"
  | "sort" | "top_k";

function checkShapeParam(prim: string, name: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`${prim}: ${name} must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

function expectLength(prim: string, name: string, list: readonly unknown[], n: number, x: ShapedArray): void {
  if (!Array.isArray(list) || list.length !== n) {
    throw new ShapeError(`${prim}: ${name} must have one entry per operand dimension (${n}) for operand ${x.str()}, got ${JSON.stringify(list)}`);
  }
}

/** Start-index operands of dynamic_slice / dynamic_update_slice: one int scalar per dim. */
function checkStartIndices(prim: string, operand: ShapedArray, starts: readonly ShapedArray[]): void {
  if (starts.length !== operand.ndim) {
    throw new ArgumentError(`${prim}: expected ${operand.ndim} start indices (one per dimension of ${operand.str()}), got ${starts.length} (${fmtAvals(starts)})`);
  }
  for (const s of starts) {
    if (s.ndim !== 0) throw new ShapeError(`${prim}: start indices must be scalars, got ${fmtAvals(starts)} for operand ${operand.str()}`);
    if (!isInt(s.dtype)) throw new DTypeError(`${prim}: start indices must be int32 or uint32, got ${fmtAvals(starts)} for operand ${operand.str()}`);
  }
}

const broadcastInDim: ShapeRule<"broadcast_in_dim"> = (inAvals, { shape, broadcastDimensions: bd }) => {
  const prim = "broadcast_in_dim";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  checkShapeParam(prim, "shape", shape);
  expectLength(prim, "broadcastDimensions", bd, x.ndim, x);
  for (let i = 0; i < bd.length; i++) {
    const d = bd[i];
    if (!Number.isInteger(d) || d < 0 || d >= shape.length) {
      throw new ShapeError(`${prim}: broadcastDimensions ${JSON.stringify(bd)} out of range for output shape ${fmtShape(shape)} (operand ${x.str()})`);
    }
    if (i > 0 && d <= bd[i - 1]) {
      throw new ShapeError(`${prim}: broadcastDimensions ${JSON.stringify(bd)} must be strictly increasing (operand ${x.str()}, shape ${fmtShape(shape)})`);
    }
    if (x.shape[i] !== 1 && x.shape[i] !== shape[d]) {
      throw new ShapeError(
        `${prim}: operand ${x.str()} dim ${i} (size ${x.shape[i]}) must be 1 or equal to output dim ${d} (size ${shape[d]}) of shape ${fmtShape(shape)}`,
      );
    }
  }
  return [x.withShape(shape)];
};

const reshape: ShapeRule<"reshape"> = (inAvals, { newSizes }) => {
  const prim = "reshape";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  checkShapeParam(prim, "newSizes", newSizes);
  if (sizeOf(newSizes) !== x.size) {
    throw new ShapeError(`${prim}: cannot reshape ${x.str()} (size ${x.size}) into ${fmtShape(newSizes)} (size ${sizeOf(newSizes)})`);
  }
  return [x.withShape(newSizes)];
};

const transpose: ShapeRule<"transpose"> = (inAvals, { permutation }) => {
  const prim = "transpose";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  if (!isPermutation(permutation, x.ndim)) {
    throw new ShapeError(`${prim}: permutation ${JSON.stringify(permutation)} is not a permutation of [0, ${x.ndim}) for operand ${x.str()}`);
  }
  return [x.withShape(permutation.map((p) => x.shape[p]))];
};

const squeeze: ShapeRule<"squeeze"> = (inAvals, { dimensions }) => {
  const prim = "squeeze";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  checkAxes(prim, "dimensions", dimensions, x.ndim, x);
  for (const d of dimensions) {
    if (x.shape[d] !== 1) {
      throw new ShapeError(`${prim}: can only squeeze dimensions of size 1, but dimension ${d} of ${x.str()} has size ${x.shape[d]}`);
    }
  }
  return [x.withShape(x.shape.filter((_, i) => !dimensions.includes(i)))];
};

const expandDims: ShapeRule<"expand_dims"> = (inAvals, { dimensions }) => {
  const prim = "expand_dims";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  const outRank = x.ndim + (Array.isArray(dimensions) ? dimensions.length : 0);
  checkAxes(prim, "dimensions", dimensions, outRank, x);
  return [x.withShape(expandedShape(x.shape, dimensions))];
};

/** The shape with size-1 dims inserted at output positions `dims`. */
export function expandedShape(shape: readonly number[], dims: readonly number[]): number[] {
  const out: number[] = [];
  let src = 0;
  for (let i = 0; i < shape.length + dims.length; i++) out.push(dims.includes(i) ? 1 : shape[src++]);
  return out;
}

const rev: ShapeRule<"rev"> = (inAvals, { dimensions }) => {
  expectArgs("rev", inAvals, 1);
  checkAxes("rev", "dimensions", dimensions, inAvals[0].ndim, inAvals[0]);
  return [inAvals[0]];
};

const slice: ShapeRule<"slice"> = (inAvals, { startIndices, limitIndices, strides }) => {
  const prim = "slice";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  expectLength(prim, "startIndices", startIndices, x.ndim, x);
  expectLength(prim, "limitIndices", limitIndices, x.ndim, x);
  if (strides !== null) expectLength(prim, "strides", strides, x.ndim, x);
  const out: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const s = startIndices[i];
    const l = limitIndices[i];
    const st = strides === null ? 1 : strides[i];
    if (!Number.isInteger(s) || !Number.isInteger(l) || s < 0 || l < s || l > x.shape[i]) {
      throw new ShapeError(
        `${prim}: bounds [${startIndices}]..[${limitIndices}] do not fit operand ${x.str()} in dim ${i} (expected 0 <= start <= limit <= ${x.shape[i]}, got ${s}..${l})`,
      );
    }
    if (!Number.isInteger(st) || st < 1) {
      throw new ShapeError(`${prim}: strides must be positive integers, got ${JSON.stringify(strides)} for operand ${x.str()}`);
    }
    out.push(Math.ceil((l - s) / st));
  }
  return [x.withShape(out)];
};

const dynamicSlice: ShapeRule<"dynamic_slice"> = (inAvals, { sliceSizes }) => {
  const prim = "dynamic_slice";
  expectArgs(prim, inAvals, 1, true);
  const [x, ...starts] = inAvals;
  checkStartIndices(prim, x, starts);
  expectLength(prim, "sliceSizes", sliceSizes, x.ndim, x);
  sliceSizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || s > x.shape[i]) {
      throw new ShapeError(`${prim}: sliceSizes ${fmtShape(sliceSizes)} must be non-negative and fit in operand ${x.str()} (dim ${i})`);
    }
  });
  return [x.withShape(sliceSizes)];
};

const dynamicUpdateSlice: ShapeRule<"dynamic_update_slice"> = (inAvals) => {
  const prim = "dynamic_update_slice";
  expectArgs(prim, inAvals, 2, true);
  const [x, update, ...starts] = inAvals;
  if (update.ndim !== x.ndim || update.shape.some((d, i) => d > x.shape[i])) {
    throw new ShapeError(`${prim}: update ${update.str()} must have the rank of operand ${x.str()} and fit inside it`);
  }
  if (update.dtype !== x.dtype) {
    throw new DTypeError(`${prim}: update must have the operand's dtype, got operand ${x.str()} and update ${update.str()}`);
  }
  checkStartIndices(prim, x, starts);
  return [x];
};

const pad: ShapeRule<"pad"> = (inAvals, { paddingConfig }) => {
  const prim = "pad";
  expectArgs(prim, inAvals, 2);
  const [x, v] = inAvals;
  if (v.ndim !== 0) throw new ShapeError(`${prim}: padding value must be a scalar, got ${v.str()} for operand ${x.str()}`);
  if (v.dtype !== x.dtype) throw new DTypeError(`${prim}: padding value must have the operand's dtype, got operand ${x.str()} and padding value ${v.str()}`);
  expectLength(prim, "paddingConfig", paddingConfig, x.ndim, x);
  const out = paddingConfig.map(([lo, hi, interior], i) => {
    if (![lo, hi, interior].every(Number.isInteger) || interior < 0) {
      throw new ShapeError(`${prim}: paddingConfig ${JSON.stringify(paddingConfig)} must hold integers with interior >= 0 (operand ${x.str()})`);
    }
    const d = x.shape[i];
    const size = lo + hi + d + Math.max(d - 1, 0) * interior;
    if (size < 0) {
      throw new ShapeError(`${prim}: paddingConfig ${JSON.stringify(paddingConfig)} gives dim ${i} of operand ${x.str()} a negative size ${size}`);
    }
    return size;
  });
  return [new ShapedArray(out, x.dtype, allWeak(inAvals))];
};

const concatenate: ShapeRule<"concatenate"> = (inAvals, { dimension }) => {
  const prim = "concatenate";
  expectArgs(prim, inAvals, 1, true);
  const [x0] = inAvals;
  checkAxis(prim, "dimension", dimension, x0);
  let total = 0;
  for (const x of inAvals) {
    if (x.ndim !== x0.ndim || x.shape.some((d, i) => i !== dimension && d !== x0.shape[i])) {
      throw new ShapeError(
        `${prim}: operands must have equal ranks and equal sizes except in dimension ${dimension}, got ${fmtAvals(inAvals)}`,
      );
    }
    if (x.dtype !== x0.dtype) throw new DTypeError(`${prim}: operands must have equal dtypes, got ${fmtAvals(inAvals)}`);
    total += x.shape[dimension];
  }
  const shape = [...x0.shape];
  shape[dimension] = total;
  return [new ShapedArray(shape, x0.dtype, allWeak(inAvals))];
};

const iota: ShapeRule<"iota"> = (inAvals, { dtype, shape, dimension }) => {
  const prim = "iota";
  expectArgs(prim, inAvals, 0);
  checkShapeParam(prim, "shape", shape);
  if (!Number.isInteger(dimension) || dimension < 0 || dimension >= shape.length) {
    throw new ShapeError(`${prim}: dimension ${dimension} out of range for shape ${fmtShape(shape)} (expected an integer in [0, ${shape.length}))`);
  }
  if (isBool(dtype) || !["int32", "uint32", "float16", "float32"].includes(dtype)) {
    throw new DTypeError(`${prim}: dtype must be numeric (int32, uint32, float16, float32), got ${JSON.stringify(dtype)} for shape ${fmtShape(shape)}`);
  }
  return [new ShapedArray(shape, dtype, false)];
};

const sort: ShapeRule<"sort"> = (inAvals, { dimension, numKeys }) => {
  const prim = "sort";
  expectArgs(prim, inAvals, 1, true);
  const [x0] = inAvals;
  for (const x of inAvals) {
    if (!shapesEqual(x.shape, x0.shape)) throw new ShapeError(`${prim}: operands must have equal shapes, got ${fmtAvals(inAvals)}`);
  }
  checkAxis(prim, "dimension", dimension, x0);
  expectInt(prim, "numKeys", numKeys, 1);
  if (numKeys > inAvals.length) {
    throw new ArgumentError(`${prim}: numKeys ${numKeys} exceeds the number of operands ${inAvals.length} (${fmtAvals(inAvals)})`);
  }
  return [...inAvals];
};

const topK: ShapeRule<"top_k"> = (inAvals, { k }) => {
  const prim = "top_k";
  expectArgs(prim, inAvals, 1);
  const [x] = inAvals;
  if (x.ndim === 0) throw new ShapeError(`${prim}: operand must have rank >= 1, got ${x.str()}`);
  const n = x.shape[x.ndim - 1];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ShapeError(`${prim}: k must be an integer in [0, ${n}] (the last dimension of ${x.str()}), got ${k}`);
  }
  const shape = [...x.shape.slice(0, -1), k];
  return [x.withShape(shape), new ShapedArray(shape, "int32", false)];
};

export const structuralShapeRules: ShapeRuleTable<StructuralPrimitive> = {
  broadcast_in_dim: broadcastInDim,
  reshape,
  transpose,
  squeeze,
  expand_dims: expandDims,
  rev,
  slice,
  dynamic_slice: dynamicSlice,
  dynamic_update_slice: dynamicUpdateSlice,
  pad,
  concatenate,
  iota,
  sort,
  top_k: topK,
};
