// Interpreter rules of the linear-algebra and windowed primitives —
// dot_general, conv_general_dilated, reduce_window_{sum,max,min},
// select_and_scatter_add, select_and_gather_add — the exact reference
// semantics on host arrays. Float results accumulate in f64 and are rounded
// once to the output dtype; integer results wrap mod 2^32; bool sums are OR.
//
// Strategy: operands are first permuted into a canonical contiguous layout
// ([batch, free, contracting] for dot_general, [N, C, ...spatial] for conv),
// and windowed ops precompute a table mapping each (output position, window
// tap) to the input offset it reads (or -1 for padding / dilation holes).

import type { ShapedArray } from "../../../core/aval";
import { type DType, type TypedArray, isFloat, roundToDType } from "../../../core/dtype";
import type { ParamsOf, ReduceWindowParams } from "../../../core/primitives";
import { invertPermutation, sizeOf, stridesOf } from "../../../core/shape";
import { complementDims } from "../../../core/shape";
import type { LinalgPrimitive } from "../../../core/shape_rules/linalg";
import { HostArray } from "../host_array";
import type { InterpRuleTable } from "./types";

type Acc = Float64Array | Int32Array;

/** dst[k] = src element at the k-th row-major index of the array transposed by `perm`
 * (dst dim p is src dim perm[p]). */
function permuteInto(src: ArrayLike<number>, shape: readonly number[], perm: readonly number[], dst: { [i: number]: number }): void {
  const st = stridesOf(shape);
  const oshape = perm.map((p) => shape[p]);
  const ost = perm.map((p) => st[p]);
  const n = sizeOf(oshape);
  const r = oshape.length;
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    dst[k] = src[off];
    for (let d = r - 1; d >= 0; d--) {
      off += ost[d];
      if (++idx[d] < oshape[d]) break;
      off -= ost[d] * oshape[d];
      idx[d] = 0;
    }
  }
}

/** A permuted copy of `x` in an f64 (float math) or i32 (wrapping int math) buffer. */
function permuted(x: HostArray, perm: readonly number[], floatMode: boolean): Acc {
  const dst = floatMode ? new Float64Array(x.size) : new Int32Array(x.size);
  permuteInto(x.data, x.shape, perm, dst);
  return dst;
}

/** Store an accumulator into an output buffer of `dtype`: floats round once,
 * ints store mod 2^32 (typed-array conversion), bool is "nonzero". */
function storeInto(dtype: DType, acc: ArrayLike<number>, out: TypedArray): void {
  if (isFloat(dtype)) for (let i = 0; i < acc.length; i++) out[i] = roundToDType(dtype, acc[i]);
  else if (dtype === "bool") for (let i = 0; i < acc.length; i++) out[i] = acc[i] !== 0 ? 1 : 0;
  else out.set(acc as ArrayLike<number>); // int32/uint32 conversion is mod 2^32
}

// --- dot_general -------------------------------------------------------------------

function dotGeneralImpl(lhs: HostArray, rhs: HostArray, p: ParamsOf<"dot_general">, outAval: ShapedArray): HostArray {
  const [[lc, rc], [lb, rb]] = p.dimensionNumbers;
  const lf = complementDims(lhs.ndim, lc, lb);
  const rf = complementDims(rhs.ndim, rc, rb);
  const size = (x: HostArray, dims: number[]) => dims.reduce((a, d) => a * x.shape[d], 1);
  const B = size(lhs, lb);
  const M = size(lhs, lf);
  const N = size(rhs, rf);
  const K = size(lhs, lc);
  const floatMode = isFloat(outAval.dtype);
  const A = permuted(lhs, [...lb, ...lf, ...lc], floatMode); // [B, M, K]
  const Bt = permuted(rhs, [...rb, ...rf, ...rc], floatMode); // [B, N, K]
  const acc = floatMode ? new Float64Array(B * M * N) : new Int32Array(B * M * N);
  for (let b = 0; b < B; b++) {
    for (let m = 0; m < M; m++) {
      const aBase = (b * M + m) * K;
      const oBase = (b * M + m) * N;
      for (let n = 0; n < N; n++) {
        const bBase = (b * N + n) * K;
        let s = 0;
        if (floatMode) for (let k = 0; k < K; k++) s += A[aBase + k] * Bt[bBase + k];
        else for (let k = 0; k < K; k++) s = (s + Math.imul(A[aBase + k], Bt[bBase + k])) | 0;
        acc[oBase + n] = s;
      }
    }
  }
  const out = HostArray.forAval(outAval);
  storeInto(outAval.dtype, acc, out.data);
  return out;
}

// --- window tables ------------------------------------------------------------------

/**
 * For each (output position, window tap) pair, the row-major flat offset into
 * an input of shape `inShape` that the tap reads, or -1 if it falls into
 * padding or a base-dilation hole. Layout: table[outFlat * taps + tapFlat].
 * Position along dim d: o*stride + k*winDil - padLo in the dilated+padded
 * input; it is real iff it lands on a multiple of baseDil inside the input.
 */
function windowTable(
  inShape: readonly number[],
  outShape: readonly number[],
  window: readonly number[],
  strides: readonly number[],
  padding: readonly (readonly [number, number])[],
  baseDil: readonly number[],
  winDil: readonly number[],
): Int32Array {
  let table = new Int32Array([0]);
  let outAcc = 1;
  let tapAcc = 1;
  for (let d = 0; d < inShape.length; d++) {
    const n = inShape[d];
    const od = outShape[d];
    const wd = window[d];
    const dilated = n === 0 ? 0 : (n - 1) * baseDil[d] + 1;
    // 1-d table for this dim: [o, k] -> input index or -1
    const t1 = new Int32Array(od * wd);
    for (let o = 0; o < od; o++) {
      for (let k = 0; k < wd; k++) {
        const pos = o * strides[d] + k * winDil[d] - padding[d][0];
        t1[o * wd + k] = pos < 0 || pos >= dilated || pos % baseDil[d] !== 0 ? -1 : pos / baseDil[d];
      }
    }
    const next = new Int32Array(outAcc * od * tapAcc * wd);
    const newTaps = tapAcc * wd;
    for (let oa = 0; oa < outAcc; oa++) {
      for (let o = 0; o < od; o++) {
        const row = (oa * od + o) * newTaps;
        for (let ta = 0; ta < tapAcc; ta++) {
          const prev = table[oa * tapAcc + ta];
          for (let k = 0; k < wd; k++) {
            const i = t1[o * wd + k];
            next[row + ta * wd + k] = prev < 0 || i < 0 ? -1 : prev * n + i;
          }
        }
      }
    }
    table = next;
    outAcc *= od;
    tapAcc = newTaps;
  }
  return table;
}

// --- conv_general_dilated ------------------------------------------------------------

function convImpl(lhs: HostArray, rhs: HostArray, p: ParamsOf<"conv_general_dilated">, outAval: ShapedArray): HostArray {
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const C = lhs.shape[lhsSpec[1]];
  const O = rhs.shape[rhsSpec[0]];
  const I = rhs.shape[rhsSpec[1]];
  const inSp = lhsSpec.slice(2).map((d) => lhs.shape[d]);
  const kSp = rhsSpec.slice(2).map((d) => rhs.shape[d]);
  const outSp = outSpec.slice(2).map((d) => outAval.shape[d]);
  const Nout = outAval.shape[outSpec[0]];
  const inS = sizeOf(inSp);
  const kS = sizeOf(kSp);
  const outS = sizeOf(outSp);
  const oPerFG = O / p.featureGroupCount; // output features per feature group
  const oPerBG = O / p.batchGroupCount; // output features per batch group
  const floatMode = isFloat(outAval.dtype);
  const L = permuted(lhs, lhsSpec, floatMode); // [N, C, ...in spatial]
  const R = permuted(rhs, rhsSpec, floatMode); // [O, I, ...kernel spatial]
  const table = windowTable(inSp, outSp, kSp, p.windowStrides, p.padding, p.lhsDilation, p.rhsDilation);
  const canon = floatMode ? new Float64Array(Nout * O * outS) : new Int32Array(Nout * O * outS); // [Nout, O, ...out spatial]
  const dims: ConvLoopDims = { Nout, O, I, C, inS, kS, outS, oPerFG, oPerBG };
  if (floatMode) convLoopF64(L as Float64Array, R as Float64Array, table, canon as Float64Array, dims);
  else convLoopI32(L as Int32Array, R as Int32Array, table, canon as Int32Array, dims);
  const laidOut = floatMode ? new Float64Array(canon.length) : new Int32Array(canon.length);
  permuteInto(canon, [Nout, O, ...outSp], invertPermutation(outSpec), laidOut);
  const out = HostArray.forAval(outAval);
  storeInto(outAval.dtype, laidOut, out.data);
  return out;
}

interface ConvLoopDims {
  Nout: number; O: number; I: number; C: number; inS: number; kS: number; outS: number; oPerFG: number; oPerBG: number;
}

// out[n, o, s] = sum_i sum_k L[nIn, g*I + i, table[s, k]] * R[o, i, k], where g is o's
// feature group and nIn = (o's batch group) * Nout + n. This visits the (n, o, i) rows of
// that sum with the offsets of their input plane, kernel row and output plane; the inner
// loops below run one monomorphic copy per accumulator type (f64 / wrapping i32).
function forEachConvRow(d: ConvLoopDims, row: (lBase: number, rBase: number, oBase: number) => void): void {
  const { Nout, O, I, C, inS, kS, outS, oPerFG, oPerBG } = d;
  for (let n = 0; n < Nout; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / oPerFG);
      const nIn = Math.floor(o / oPerBG) * Nout + n;
      const oBase = (n * O + o) * outS;
      for (let i = 0; i < I; i++) row((nIn * C + g * I + i) * inS, (o * I + i) * kS, oBase);
    }
  }
}

function convLoopF64(L: Float64Array, R: Float64Array, table: Int32Array, out: Float64Array, d: ConvLoopDims): void {
  const { kS, outS } = d;
  forEachConvRow(d, (lBase, rBase, oBase) => {
    for (let s = 0; s < outS; s++) {
      const tBase = s * kS;
      let acc = 0;
      for (let k = 0; k < kS; k++) {
        const off = table[tBase + k];
        if (off >= 0) acc += L[lBase + off] * R[rBase + k];
      }
      out[oBase + s] += acc;
    }
  });
}

function convLoopI32(L: Int32Array, R: Int32Array, table: Int32Array, out: Int32Array, d: ConvLoopDims): void {
  const { kS, outS } = d;
  forEachConvRow(d, (lBase, rBase, oBase) => {
    for (let s = 0; s < outS; s++) {
      const tBase = s * kS;
      let acc = 0;
      for (let k = 0; k < kS; k++) {
        const off = table[tBase + k];
        if (off >= 0) acc = (acc + Math.imul(L[lBase + off], R[rBase + k])) | 0;
      }
      out[oBase + s] = (out[oBase + s] + acc) | 0;
    }
  });
}

// --- reduce_window -------------------------------------------------------------------

/** The identity of max (lowest value) / min (highest value) for a dtype. */
function extremum(dtype: DType, which: "lowest" | "highest"): number {
  switch (dtype) {
    case "float32":
    case "float16":
      return which === "lowest" ? -Infinity : Infinity;
    case "int32":
      return which === "lowest" ? -2147483648 : 2147483647;
    case "uint32":
      return which === "lowest" ? 0 : 4294967295;
    case "bool":
      return which === "lowest" ? 0 : 1;
  }
}

/**
 * How a window sweep over ALL dims is evaluated. Dims where the window is
 * trivial (size 1, stride 1, no padding, no base dilation: output = input) are
 * moved to the front by `perm` and looped over as `outer` independent slabs;
 * the window table covers only the remaining dims, so e.g. a 3x3 max pool over
 * [N, H, W, C] tables H x W only.
 */
interface WindowPlan {
  perm: number[];
  outer: number; // product of the trivial dims
  inInner: number; // input elements per slab
  outInner: number; // output elements per slab
  taps: number;
  table: Int32Array; // [outInner, taps] -> offset within an input slab, or -1
}

function planWindow(inShape: readonly number[], outShape: readonly number[], p: ReduceWindowParams): WindowPlan {
  const trivial = (d: number) =>
    p.windowDimensions[d] === 1 && p.windowStrides[d] === 1 && p.padding[d][0] === 0 && p.padding[d][1] === 0 && p.baseDilation[d] === 1;
  const tr = inShape.map((_, d) => d).filter(trivial);
  const nt = inShape.map((_, d) => d).filter((d) => !trivial(d));
  const pick = <T>(xs: readonly T[]) => nt.map((d) => xs[d]);
  return {
    perm: [...tr, ...nt],
    outer: tr.reduce((acc, d) => acc * inShape[d], 1),
    inInner: sizeOf(pick(inShape)),
    outInner: sizeOf(pick(outShape)),
    taps: sizeOf(pick(p.windowDimensions)),
    table: windowTable(pick(inShape), pick(outShape), pick(p.windowDimensions), pick(p.windowStrides), pick(p.padding), pick(p.baseDilation), pick(p.windowDilation)),
  };
}

/** `x` permuted by the plan, as f64 (exact for every dtype we store). */
function permutedF64(x: HostArray, perm: readonly number[]): Float64Array {
  const out = new Float64Array(x.size);
  permuteInto(x.data, x.shape, perm, out);
  return out;
}

/** Undo the plan's permutation: `res` is laid out as shape[perm]. */
function unpermute(res: Float64Array | Int32Array, shape: readonly number[], perm: readonly number[]): Float64Array {
  const out = new Float64Array(res.length);
  permuteInto(res, perm.map((d) => shape[d]), invertPermutation(perm), out);
  return out;
}

function reduceWindowImpl(x: HostArray, p: ReduceWindowParams, outAval: ShapedArray, kind: "sum" | "max" | "min"): HostArray {
  const plan = planWindow(x.shape, outAval.shape, p);
  const { outer, inInner, outInner, taps, table } = plan;
  const src = permutedF64(x, plan.perm);
  const dtype = x.dtype;
  const floatMode = isFloat(dtype);
  const res = new Float64Array(outAval.size);
  const isMax = kind === "max";
  const init = kind === "sum" ? 0 : extremum(dtype, isMax ? "lowest" : "highest");
  for (let t = 0; t < outer; t++) {
    const inBase = t * inInner;
    for (let o = 0; o < outInner; o++) {
      let m = init;
      for (let k = 0; k < taps; k++) {
        const off = table[o * taps + k];
        if (off < 0) continue;
        const v = src[inBase + off];
        if (kind === "sum") m = floatMode ? m + v : (m + v) | 0;
        else if (v !== v || (isMax ? v > m : v < m)) m = v; // NaN propagates
      }
      res[t * outInner + o] = m;
    }
  }
  const out = HostArray.forAval(outAval);
  storeInto(dtype, unpermute(res, outAval.shape, plan.perm), out.data); // max/min values are already representable
  return out;
}

// --- select_and_scatter_add / select_and_gather_add ------------------------------

/** For each output window (in the plan's permuted layout), the offset in the
 * permuted operand chosen by `selectPrim` (first max for "ge", first min for
 * "le", in row-major tap order), or -1 if every tap is padding. The current
 * choice is kept while select(current, candidate) holds. */
function selectInWindows(x: Float64Array, plan: WindowPlan, selectPrim: "ge" | "le"): Int32Array {
  const { outer, inInner, outInner, taps, table } = plan;
  const chosen = new Int32Array(outer * outInner);
  const ge = selectPrim === "ge";
  for (let t = 0; t < outer; t++) {
    const inBase = t * inInner;
    for (let o = 0; o < outInner; o++) {
      let sel = -1;
      for (let k = 0; k < taps; k++) {
        const off = table[o * taps + k];
        if (off < 0) continue;
        const at = inBase + off;
        if (sel < 0 || !(ge ? x[sel] >= x[at] : x[sel] <= x[at])) sel = at;
      }
      chosen[t * outInner + o] = sel;
    }
  }
  return chosen;
}

function selectAndScatterAddImpl(source: HostArray, operand: HostArray, p: ParamsOf<"select_and_scatter_add">, outAval: ShapedArray): HostArray {
  const ones = operand.shape.map(() => 1);
  const plan = planWindow(operand.shape, source.shape, { ...p, baseDilation: ones, windowDilation: ones });
  const chosen = selectInWindows(permutedF64(operand, plan.perm), plan, p.selectPrim);
  const src = permutedF64(source, plan.perm);
  const floatMode = isFloat(outAval.dtype);
  const acc = floatMode ? new Float64Array(operand.size) : new Int32Array(operand.size); // permuted operand layout
  for (let o = 0; o < chosen.length; o++) {
    const at = chosen[o];
    if (at < 0) continue;
    acc[at] = floatMode ? acc[at] + src[o] : (acc[at] + src[o]) | 0;
  }
  const out = HostArray.forAval(outAval);
  storeInto(outAval.dtype, unpermute(acc, operand.shape, plan.perm), out.data);
  return out;
}

function selectAndGatherAddImpl(tangents: HostArray, operand: HostArray, p: ParamsOf<"select_and_gather_add">, outAval: ShapedArray): HostArray {
  const plan = planWindow(operand.shape, outAval.shape, p);
  const chosen = selectInWindows(permutedF64(operand, plan.perm), plan, p.selectPrim);
  const t = permutedF64(tangents, plan.perm);
  const res = new Float64Array(chosen.length);
  for (let o = 0; o < chosen.length; o++) res[o] = chosen[o] < 0 ? 0 : t[chosen[o]];
  const out = HostArray.forAval(outAval);
  storeInto(outAval.dtype, unpermute(res, outAval.shape, plan.perm), out.data);
  return out;
}

export const linalgInterpRules: InterpRuleTable<LinalgPrimitive> = {
  dot_general: ([lhs, rhs], p, [outAval]) => [dotGeneralImpl(lhs, rhs, p, outAval)],
  conv_general_dilated: ([lhs, rhs], p, [outAval]) => [convImpl(lhs, rhs, p, outAval)],
  reduce_window_sum: ([x], p, [outAval]) => [reduceWindowImpl(x, p, outAval, "sum")],
  reduce_window_max: ([x], p, [outAval]) => [reduceWindowImpl(x, p, outAval, "max")],
  reduce_window_min: ([x], p, [outAval]) => [reduceWindowImpl(x, p, outAval, "min")],
  select_and_scatter_add: ([source, operand], p, [outAval]) => [selectAndScatterAddImpl(source, operand, p, outAval)],
  select_and_gather_add: ([tangents, operand], p, [outAval]) => [selectAndGatherAddImpl(tangents, operand, p, outAval)],
};
