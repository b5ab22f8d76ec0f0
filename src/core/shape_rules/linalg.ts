// Shape/dtype rules of the linear-algebra and windowed primitives:
// dot_general, conv_general_dilated, reduce_window_{sum,max,min},
// select_and_scatter_add and select_and_gather_add, with XLA's semantics.
// The window arithmetic (`windowOutSize`) is shared with the interpreter.

import { ShapedArray } from "../aval";
import { type DType, DTYPE_SHORT, isBool, isFloat, isInt } from "../dtype";
import { ArgumentError, AxisError, DTypeError, ShapeError, fmtShape } from "../errors";
import type { ReduceWindowParams } from "../primitives";
import { isPermutation } from "../shape";
import { complementDims } from "../shape";
import { checkDimList, expectInputs } from "./indexing";
import type { ShapeRule, ShapeRuleTable } from "./types";

export type LinalgPrimitive =
  | "dot_general"
  | "conv_general_dilated"
  | "reduce_window_sum"
  | "reduce_window_max"
  | "reduce_window_min"
  | "select_and_scatter_add"
  | "select_and_gather_add";

// --- shared helpers -------------------------------------------------------------

/**
 * Output extent of a window sweep along one dim: the input (size n) is dilated
 * by `baseDil` (holes between elements), padded by lo/hi (negative crops), and
 * a window of `w` taps spaced `winDil` apart slides with `stride`.
 */
export function windowOutSize(n: number, w: number, stride: number, lo: number, hi: number, baseDil: number, winDil: number): number {
  const dilated = n === 0 ? 0 : (n - 1) * baseDil + 1;
  const padded = lo + dilated + hi;
  const dw = w === 0 ? 0 : (w - 1) * winDil + 1;
  if (padded < dw) return 0;
  return Math.floor((padded - dw) / stride) + 1;
}

function checkIntList(where: string, name: string, xs: unknown, len: number, min: number, ctx: string): number[] {
  if (!Array.isArray(xs) || xs.length !== len) {
    throw new ShapeError(`${where}: ${name} ${JSON.stringify(xs)} must have ${len} entries (${ctx})`);
  }
  for (const x of xs) {
    if (!Number.isInteger(x) || x < min) {
      throw new ArgumentError(`${where}: ${name} ${JSON.stringify(xs)} must hold integers >= ${min}, got ${x} (${ctx})`);
    }
  }
  return xs as number[];
}

function checkPadding(where: string, padding: unknown, len: number, ctx: string): [number, number][] {
  if (!Array.isArray(padding) || padding.length !== len) {
    throw new ShapeError(`${where}: padding ${JSON.stringify(padding)} must have ${len} [lo, hi] pairs (${ctx})`);
  }
  for (const p of padding) {
    if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1])) {
      throw new ArgumentError(`${where}: padding ${JSON.stringify(padding)} must hold [lo, hi] integer pairs (${ctx})`);
    }
  }
  return padding as [number, number][];
}

/**
 * The output dtype given an optional preferredElementType, following JAX's
 * compatibility table: (int, int), (int, float), (float, float); bool inputs
 * may produce any dtype.
 */
function outputDType(where: string, input: DType, preferred: DType | null, ctx: string): DType {
  if (preferred === null || preferred === undefined) return input;
  if (!(["float32", "float16", "int32", "uint32", "bool"] as const).includes(preferred)) {
    throw new DTypeError(`${where}: unknown preferredElementType ${JSON.stringify(preferred)} (${ctx})`);
  }
  const ok = isBool(input) || (isInt(input) && !isBool(preferred)) || (isFloat(input) && isFloat(preferred));
  if (!ok) {
    throw new DTypeError(
      `${where}: preferredElementType ${DTYPE_SHORT[preferred]} is incompatible with input dtype ${DTYPE_SHORT[input]}; ` +
        `allowed (input, preferred) kinds are (int, int), (int, float), (float, float) (${ctx})`,
    );
  }
  return preferred;
}

// --- dot_general -------------------------------------------------------------------

/** Output = batch dims (in lhs batch order), then lhs free dims, then rhs free dims. */
export const dotGeneralShapeRule: ShapeRule<"dot_general"> = (inAvals, params) => {
  const where = "dot_general";
  const [lhs, rhs] = expectInputs(where, inAvals, 2, "(lhs, rhs)");
  const ctx = `lhs ${lhs.str()}, rhs ${rhs.str()}`;
  const dn = params.dimensionNumbers;
  if (!Array.isArray(dn) || dn.length !== 2 || !Array.isArray(dn[0]) || !Array.isArray(dn[1]) || dn[0].length !== 2 || dn[1].length !== 2) {
    throw new ArgumentError(
      `${where}: dimensionNumbers must be [[lhsContracting, rhsContracting], [lhsBatch, rhsBatch]], got ${JSON.stringify(dn)} (${ctx})`,
    );
  }
  const [[lc, rc], [lb, rb]] = dn;
  if (lhs.dtype !== rhs.dtype) {
    throw new DTypeError(`${where}: lhs and rhs must have the same dtype, got ${ctx}`);
  }
  checkDimList(where, "lhs contracting dims", lc, lhs.ndim, false, ctx);
  checkDimList(where, "rhs contracting dims", rc, rhs.ndim, false, ctx);
  checkDimList(where, "lhs batch dims", lb, lhs.ndim, false, ctx);
  checkDimList(where, "rhs batch dims", rb, rhs.ndim, false, ctx);
  if (lc.length !== rc.length) {
    throw new ShapeError(`${where}: lhs contracting dims ${fmtShape(lc)} and rhs contracting dims ${fmtShape(rc)} must have the same length (${ctx})`);
  }
  if (lb.length !== rb.length) {
    throw new ShapeError(`${where}: lhs batch dims ${fmtShape(lb)} and rhs batch dims ${fmtShape(rb)} must have the same length (${ctx})`);
  }
  for (const [side, c, b] of [["lhs", lc, lb], ["rhs", rc, rb]] as const) {
    const both = c.filter((d) => b.includes(d));
    if (both.length) {
      throw new AxisError(`${where}: ${side} dims ${fmtShape(both)} are both contracting and batch dims (${ctx})`);
    }
  }
  lc.forEach((l, i) => {
    const r = rc[i];
    if (lhs.shape[l] !== rhs.shape[r]) {
      throw new ShapeError(
        `${where}: contracting dimension sizes differ: lhs ${lhs.str()} dim ${l} has ${lhs.shape[l]}, rhs ${rhs.str()} dim ${r} has ${rhs.shape[r]}`,
      );
    }
  });
  lb.forEach((l, i) => {
    const r = rb[i];
    if (lhs.shape[l] !== rhs.shape[r]) {
      throw new ShapeError(
        `${where}: batch dimension sizes differ: lhs ${lhs.str()} dim ${l} has ${lhs.shape[l]}, rhs ${rhs.str()} dim ${r} has ${rhs.shape[r]}`,
      );
    }
  });
  const dtype = outputDType(where, lhs.dtype, params.preferredElementType, ctx);
  const lf = complementDims(lhs.ndim, lc, lb);
  const rf = complementDims(rhs.ndim, rc, rb);
  const shape = [...lb.map((d) => lhs.shape[d]), ...lf.map((d) => lhs.shape[d]), ...rf.map((d) => rhs.shape[d])];
  const weak = lhs.weakType && rhs.weakType && params.preferredElementType === null;
  return [new ShapedArray(shape, dtype, weak)];
};

// --- conv_general_dilated -------------------------------------------------------

export const convShapeRule: ShapeRule<"conv_general_dilated"> = (inAvals, params) => {
  const where = "conv_general_dilated";
  const [lhs, rhs] = expectInputs(where, inAvals, 2, "(lhs, rhs)");
  const ctx = `lhs ${lhs.str()}, rhs ${rhs.str()}`;
  if (lhs.dtype !== rhs.dtype) throw new DTypeError(`${where}: lhs and rhs must have the same dtype, got ${ctx}`);
  if (isBool(lhs.dtype)) throw new DTypeError(`${where}: bool inputs are not supported, got ${ctx}`);
  if (lhs.ndim < 3) {
    throw new ShapeError(`${where}: lhs must have rank >= 3 ([batch, feature, ...spatial] with at least one spatial dim), got ${ctx}`);
  }
  if (rhs.ndim !== lhs.ndim) throw new ShapeError(`${where}: lhs and rhs must have the same rank, got ${ctx}`);
  const nsp = lhs.ndim - 2;
  const { lhsSpec, rhsSpec, outSpec } = params.dimensionNumbers;
  for (const [name, spec] of [["lhsSpec", lhsSpec], ["rhsSpec", rhsSpec], ["outSpec", outSpec]] as const) {
    if (!Array.isArray(spec) || !isPermutation(spec, lhs.ndim)) {
      throw new AxisError(`${where}: dimensionNumbers.${name} ${JSON.stringify(spec)} must be a permutation of [0, ${lhs.ndim}) (${ctx})`);
    }
  }
  const strides = checkIntList(where, "windowStrides", params.windowStrides, nsp, 1, ctx);
  const padding = checkPadding(where, params.padding, nsp, ctx);
  const lhsDil = checkIntList(where, "lhsDilation", params.lhsDilation, nsp, 1, ctx);
  const rhsDil = checkIntList(where, "rhsDilation", params.rhsDilation, nsp, 1, ctx);
  const G = params.featureGroupCount;
  const BG = params.batchGroupCount;
  if (!Number.isInteger(G) || G < 1) throw new ArgumentError(`${where}: featureGroupCount must be an integer >= 1, got ${G} (${ctx})`);
  if (!Number.isInteger(BG) || BG < 1) throw new ArgumentError(`${where}: batchGroupCount must be an integer >= 1, got ${BG} (${ctx})`);
  if (G > 1 && BG > 1) {
    throw new ArgumentError(`${where}: at most one of featureGroupCount (${G}) and batchGroupCount (${BG}) may be > 1 (${ctx})`);
  }
  const N = lhs.shape[lhsSpec[0]];
  const C = lhs.shape[lhsSpec[1]];
  const O = rhs.shape[rhsSpec[0]];
  const I = rhs.shape[rhsSpec[1]];
  if (C % G !== 0) {
    throw new ShapeError(`${where}: lhs feature dimension (size ${C}) must be divisible by featureGroupCount ${G} (${ctx}, lhsSpec ${fmtShape(lhsSpec)})`);
  }
  if (C / G !== I) {
    throw new ShapeError(
      `${where}: lhs feature dimension (size ${C}) / featureGroupCount ${G} = ${C / G} must equal the rhs input feature dimension (size ${I}) (${ctx}, lhsSpec ${fmtShape(lhsSpec)}, rhsSpec ${fmtShape(rhsSpec)})`,
    );
  }
  if (O % G !== 0) {
    throw new ShapeError(`${where}: rhs output feature dimension (size ${O}) must be divisible by featureGroupCount ${G} (${ctx}, rhsSpec ${fmtShape(rhsSpec)})`);
  }
  if (N % BG !== 0) {
    throw new ShapeError(`${where}: lhs batch dimension (size ${N}) must be divisible by batchGroupCount ${BG} (${ctx}, lhsSpec ${fmtShape(lhsSpec)})`);
  }
  if (O % BG !== 0) {
    throw new ShapeError(`${where}: rhs output feature dimension (size ${O}) must be divisible by batchGroupCount ${BG} (${ctx}, rhsSpec ${fmtShape(rhsSpec)})`);
  }
  const dtype = outputDType(where, lhs.dtype, params.preferredElementType, ctx);
  const out = new Array<number>(lhs.ndim);
  out[outSpec[0]] = N / BG;
  out[outSpec[1]] = O;
  for (let d = 0; d < nsp; d++) {
    const n = lhs.shape[lhsSpec[2 + d]];
    const k = rhs.shape[rhsSpec[2 + d]];
    out[outSpec[2 + d]] = windowOutSize(n, k, strides[d], padding[d][0], padding[d][1], lhsDil[d], rhsDil[d]);
  }
  const weak = lhs.weakType && rhs.weakType && params.preferredElementType === null;
  return [new ShapedArray(out, dtype, weak)];
};

// --- reduce_window and the select_and_* pair ------------------------------------

/** Validate window params over all dims of `operand`; returns the output shape. */
export function reduceWindowOutShape(where: string, operand: ShapedArray, p: ReduceWindowParams, ctx: string): number[] {
  const r = operand.ndim;
  const wd = checkIntList(where, "windowDimensions", p.windowDimensions, r, 1, ctx);
  const st = checkIntList(where, "windowStrides", p.windowStrides, r, 1, ctx);
  const pad = checkPadding(where, p.padding, r, ctx);
  const bd = checkIntList(where, "baseDilation", p.baseDilation, r, 1, ctx);
  const wdl = checkIntList(where, "windowDilation", p.windowDilation, r, 1, ctx);
  return operand.shape.map((n, d) => windowOutSize(n, wd[d], st[d], pad[d][0], pad[d][1], bd[d], wdl[d]));
}

function reduceWindowShapeRule(where: "reduce_window_sum" | "reduce_window_max" | "reduce_window_min"): ShapeRule<typeof where> {
  return (inAvals, params) => {
    const [operand] = expectInputs(where, inAvals, 1, "(operand)");
    const shape = reduceWindowOutShape(where, operand, params, `operand ${operand.str()}`);
    return [new ShapedArray(shape, operand.dtype, operand.weakType)];
  };
}

function checkSelectPrim(where: string, s: unknown): void {
  if (s !== "ge" && s !== "le") throw new ArgumentError(`${where}: selectPrim must be "ge" or "le", got ${JSON.stringify(s)}`);
}

export const selectAndScatterAddShapeRule: ShapeRule<"select_and_scatter_add"> = (inAvals, params) => {
  const where = "select_and_scatter_add";
  const [source, operand] = expectInputs(where, inAvals, 2, "(source, operand)");
  const ctx = `source ${source.str()}, operand ${operand.str()}`;
  checkSelectPrim(where, params.selectPrim);
  if (source.dtype !== operand.dtype) throw new DTypeError(`${where}: source and operand must have the same dtype, got ${ctx}`);
  const ones = operand.shape.map(() => 1);
  const expected = reduceWindowOutShape(where, operand, { ...params, baseDilation: ones, windowDilation: ones }, ctx);
  if (expected.length !== source.ndim || expected.some((d, i) => d !== source.shape[i])) {
    throw new ShapeError(`${where}: source must have the windowed output shape ${fmtShape(expected)} of the operand, got ${ctx}`);
  }
  return [new ShapedArray(operand.shape, source.dtype, source.weakType)];
};

export const selectAndGatherAddShapeRule: ShapeRule<"select_and_gather_add"> = (inAvals, params) => {
  const where = "select_and_gather_add";
  const [tangents, operand] = expectInputs(where, inAvals, 2, "(tangents, operand)");
  const ctx = `tangents ${tangents.str()}, operand ${operand.str()}`;
  checkSelectPrim(where, params.selectPrim);
  if (tangents.dtype !== operand.dtype) throw new DTypeError(`${where}: tangents and operand must have the same dtype, got ${ctx}`);
  if (tangents.ndim !== operand.ndim || tangents.shape.some((d, i) => d !== operand.shape[i])) {
    throw new ShapeError(`${where}: tangents and operand must have the same shape, got ${ctx}`);
  }
  const shape = reduceWindowOutShape(where, operand, params, ctx);
  return [new ShapedArray(shape, tangents.dtype, tangents.weakType)];
};

export const linalgShapeRules: ShapeRuleTable<LinalgPrimitive> = {
  dot_general: dotGeneralShapeRule,
  conv_general_dilated: convShapeRule,
  reduce_window_sum: reduceWindowShapeRule("reduce_window_sum"),
  reduce_window_max: reduceWindowShapeRule("reduce_window_max"),
  reduce_window_min: reduceWindowShapeRule("reduce_window_min"),
  select_and_scatter_add: selectAndScatterAddShapeRule,
  select_and_gather_add: selectAndGatherAddShapeRule,
};
