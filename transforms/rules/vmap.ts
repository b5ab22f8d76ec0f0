// Batching (vmap) rules of every first-order primitive. A rule receives the
// batched values (each with its batch dim, or null when unbatched; at least
// one is batched) and applies the primitive to the whole batch at once,
// returning the outputs and where their batch dims ended up. Rules avoid
// transposes where the primitive's params can absorb the batch dim at any
// position (reductions, broadcast_in_dim, transpose, dot_general, gather,
// scatter...), and broadcast unbatched operands only where the IR requires
// equal shapes. The indexing primitives' rules are in vmap_indexing.ts, the
// helpers all of them share in vmap_helpers.ts.

import { TransformError } from "../../src/core/errors";
import type { BinaryElementwise, Cumulative, FirstOrderPrimitive, ParamsOf, ReduceWindowParams, ReduceWindowPrimitive, Reduction, UnaryElementwise } from "../../src/core/primitives";
import { BINARY_ELEMENTWISE, UNARY_ELEMENTWISE, familyTable } from "../../src/core/primitives";
import { complementDims, range } from "../../src/core/shape";
import { bind, bind1, type Tracer } from "../../src/core/trace";
import { type BatchDim, type VmapRule, matchBatchDim, moveAxis } from "../vmap";
import { decompositionVmapRules } from "./vmap_decompositions";
import { alignAll, firstBatched, insertAt, mergeAxes, reshape, scalarConst, shift, splitAxis } from "./vmap_helpers";
import { dynamicSlice, dynamicUpdateSlice, gather, scatter } from "./vmap_indexing";

// --- elementwise --------------------------------------------------------------------

function unary(prim: UnaryElementwise | "convert_element_type" | "bitcast_convert_type" | "stop_gradient"): VmapRule<UnaryElementwise | "convert_element_type" | "bitcast_convert_type" | "stop_gradient"> {
  return (_axisSize, [x], [d], params) => [[bind1(prim, [x], params)], [d]];
}

function naryElementwise(prim: BinaryElementwise | "threefry2x32"): VmapRule<BinaryElementwise | "threefry2x32"> {
  return (axisSize, args, dims, params) => {
    const [vals, d] = alignAll(axisSize, args, dims);
    const outs = bind(prim, vals, params);
    return [outs, outs.map(() => d)];
  };
}

/**
 * select_n(which, ...cases): a scalar `which` may stay rank 0 while unbatched; a
 * batched scalar `which` ([B]) is broadcast to the batched cases' shape.
 */
const selectN: VmapRule<"select_n"> = (axisSize, [which, ...cases], [wd, ...cds], params) => {
  const whichRank = wd === null ? which.ndim : which.ndim - 1;
  const caseRank = cds[0] === null ? cases[0].ndim : cases[0].ndim - 1;
  if (whichRank === caseRank) {
    const [vals, d] = alignAll(axisSize, [which, ...cases], [wd, ...cds]);
    return [[bind1("select_n", vals, params)], [d]];
  }
  // `which` is a scalar selector and the cases are not scalars.
  const d = cds.some((x) => x !== null) ? firstBatched(cds) : 0;
  const cs = cases.map((c, i) => matchBatchDim(c, cds[i], axisSize, d));
  const w = wd === null ? which : bind1("broadcast_in_dim", [which], { shape: [...cs[0].shape], broadcastDimensions: [d] });
  return [[bind1("select_n", [w, ...cs], params)], [d]];
};

/** clamp(lo, x, hi): lo and hi may be scalars; unbatched scalars stay rank 0. */
const clamp: VmapRule<"clamp"> = (axisSize, [lo, x, hi], [ld, xd, hd], params) => {
  const xRank = xd === null ? x.ndim : x.ndim - 1;
  const d = xd ?? firstBatched([ld, hd]);
  const xb = matchBatchDim(x, xd, axisSize, xRank === 0 ? 0 : d);
  const outD = xRank === 0 ? 0 : d;
  const fit = (b: Tracer, bd: BatchDim): Tracer => {
    const bRank = bd === null ? b.ndim : b.ndim - 1;
    if (bRank === xRank) return matchBatchDim(b, bd, axisSize, outD);
    // a scalar bound of a non-scalar x
    if (bd === null) return b;
    return bind1("broadcast_in_dim", [b], { shape: [...xb.shape], broadcastDimensions: [outD] });
  };
  return [[bind1("clamp", [fit(lo, ld), xb, fit(hi, hd)], params)], [outD]];
};

// --- reductions, arg reductions, cumulative -----------------------------------------

function reduction(prim: Reduction): VmapRule<Reduction> {
  return (_axisSize, [x], [d], { axes }) => {
    const bd = d as number;
    const out = bind1(prim, [x], { axes: axes.map((a) => shift(a, bd)) });
    return [[out], [bd - axes.filter((a) => a < bd).length]];
  };
}

function argReduction(prim: "argmax" | "argmin"): VmapRule<"argmax" | "argmin"> {
  return (_axisSize, [x], [d], params) => {
    const bd = d as number;
    const out = bind1(prim, [x], { ...params, axis: shift(params.axis, bd) });
    return [[out], [params.axis < bd ? bd - 1 : bd]];
  };
}

function cumulative(prim: Cumulative): VmapRule<Cumulative> {
  return (_axisSize, [x], [d], params) => {
    const bd = d as number;
    return [[bind1(prim, [x], { ...params, axis: shift(params.axis, bd) })], [bd]];
  };
}

// --- shape primitives -----------------------------------------------------------------

const broadcastInDim: VmapRule<"broadcast_in_dim"> = (axisSize, [x], [d], { shape, broadcastDimensions: bdims }) => {
  const bd = d as number;
  // Put the batch dim of the output between the outputs of operand dims bd-1 and bd.
  const p = bd === 0 ? 0 : bdims[bd - 1] + 1;
  const newDims = [...bdims.slice(0, bd), p, ...bdims.slice(bd).map((o) => o + 1)];
  const out = bind1("broadcast_in_dim", [x], { shape: insertAt(shape, p, axisSize), broadcastDimensions: newDims });
  return [[out], [p]];
};

const reshapeRule: VmapRule<"reshape"> = (axisSize, [x], [d], { newSizes }) => {
  const x0 = moveAxis(x, d as number, 0);
  return [[reshape(x0, [axisSize, ...newSizes])], [0]];
};

const transpose: VmapRule<"transpose"> = (_axisSize, [x], [d], { permutation }) => {
  const bd = d as number;
  // Keep the batch dim where it is in the output too.
  const perm = insertAt(permutation.map((a) => shift(a, bd)), bd, bd);
  return [[bind1("transpose", [x], { permutation: perm })], [bd]];
};

const squeeze: VmapRule<"squeeze"> = (_axisSize, [x], [d], { dimensions }) => {
  const bd = d as number;
  const out = bind1("squeeze", [x], { dimensions: dimensions.map((a) => shift(a, bd)) });
  return [[out], [bd - dimensions.filter((a) => a < bd).length]];
};

const expandDims: VmapRule<"expand_dims"> = (_axisSize, [x], [d], { dimensions }) => {
  const bd = d as number;
  const r = x.ndim - 1;
  const outRank = r + dimensions.length;
  // The batch dim goes right before the output position of operand dim bd.
  const operandPositions = complementDims(outRank, dimensions);
  const p = bd < r ? operandPositions[bd] : outRank;
  const out = bind1("expand_dims", [x], { dimensions: dimensions.map((a) => (a < p ? a : a + 1)) });
  return [[out], [p]];
};

const rev: VmapRule<"rev"> = (_axisSize, [x], [d], { dimensions }) => {
  const bd = d as number;
  return [[bind1("rev", [x], { dimensions: dimensions.map((a) => shift(a, bd)) })], [bd]];
};

const slice: VmapRule<"slice"> = (axisSize, [x], [d], { startIndices, limitIndices, strides }) => {
  const bd = d as number;
  const out = bind1("slice", [x], {
    startIndices: insertAt(startIndices, bd, 0),
    limitIndices: insertAt(limitIndices, bd, axisSize),
    strides: strides === null ? null : insertAt(strides, bd, 1),
  });
  return [[out], [bd]];
};

const pad: VmapRule<"pad"> = (axisSize, [x, v], [xd, vd], { paddingConfig }) => {
  if (vd === null) {
    const bd = xd as number;
    return [[bind1("pad", [x, v], { paddingConfig: insertAt(paddingConfig, bd, [0, 0, 0] as [number, number, number]) })], [bd]];
  }
  // A batched padding value: pad with a placeholder, then select the padding
  // value wherever a padded mask is false.
  const bd = xd ?? 0;
  const xb = matchBatchDim(x, xd, axisSize, bd);
  const cfg = insertAt(paddingConfig, bd, [0, 0, 0] as [number, number, number]);
  const padded = bind1("pad", [xb, scalarConst(0, xb.dtype, xb.weakType)], { paddingConfig: cfg });
  const unbatchedShape = xb.shape.filter((_, i) => i !== bd);
  const ones = bind1("broadcast_in_dim", [scalarConst(true, "bool")], { shape: unbatchedShape, broadcastDimensions: [] });
  const mask = bind1("pad", [ones, scalarConst(false, "bool")], { paddingConfig });
  const full = [...padded.shape];
  const maskB = bind1("broadcast_in_dim", [mask], { shape: full, broadcastDimensions: range(mask.ndim).map((i) => shift(i, bd)) });
  const vB = bind1("broadcast_in_dim", [v], { shape: full, broadcastDimensions: [bd] });
  return [[bind1("select_n", [maskB, vB, padded], {})], [bd]];
};

const concatenate: VmapRule<"concatenate"> = (axisSize, args, dims, { dimension }) => {
  const [vals, d] = alignAll(axisSize, args, dims);
  return [[bind1("concatenate", vals, { dimension: shift(dimension, d) })], [d]];
};

const iota: VmapRule<"iota"> = () => {
  throw new TransformError("vmap: internal error: iota has no operands, so it is never batched");
};

const sort: VmapRule<"sort"> = (axisSize, args, dims, params) => {
  const [vals, d] = alignAll(axisSize, args, dims);
  const outs = bind("sort", vals, { ...params, dimension: shift(params.dimension, d) });
  return [outs, outs.map(() => d)];
};

const topK: VmapRule<"top_k"> = (_axisSize, [x], [d], params) => {
  let bd = d as number;
  let xb = x;
  if (bd === x.ndim - 1) {
    // top_k works on the last axis: the batch dim must not be there.
    xb = moveAxis(x, bd, 0);
    bd = 0;
  }
  const outs = bind("top_k", [xb], params);
  return [outs, [bd, bd]];
};

// --- dot_general / conv ------------------------------------------------------------------

const dotGeneral: VmapRule<"dot_general"> = (_axisSize, [lhs, rhs], [dl, dr], params) => {
  const [[lc, rc], [lb, rb]] = params.dimensionNumbers;
  const sh = (xs: readonly number[], d: BatchDim) => (d === null ? [...xs] : xs.map((a) => shift(a, d)));
  const lc2 = sh(lc, dl);
  const rc2 = sh(rc, dr);
  let lb2 = sh(lb, dl);
  let rb2 = sh(rb, dr);
  let outDim: number;
  if (dl !== null && dr !== null) {
    // Both batched: a new leading batch dim of the dot.
    lb2 = [dl, ...lb2];
    rb2 = [dr, ...rb2];
    outDim = 0;
  } else if (dl !== null) {
    // Only lhs: its batch dim is a free lhs dim.
    const free = complementDims(lhs.ndim, lc2, lb2);
    outDim = lb.length + free.indexOf(dl);
  } else {
    const dR = dr as number;
    const free = complementDims(rhs.ndim, rc2, rb2);
    const lhsFree = lhs.ndim - lc.length - lb.length;
    outDim = lb.length + lhsFree + free.indexOf(dR);
  }
  const out = bind1("dot_general", [lhs, rhs], { ...params, dimensionNumbers: [[lc2, rc2], [lb2, rb2]] });
  return [[out], [outDim]];
};

/**
 * conv_general_dilated, as JAX's batching rule: a batched lhs folds into the
 * batch dim; a batched rhs folds into the output features; both batched fold
 * into feature groups (or batch groups when batchGroupCount > 1). Folding keeps
 * groups major, as the grouped convolution requires.
 */
const conv: VmapRule<"conv_general_dilated"> = (axisSize, [lhs, rhs], [dl, dr], params) => {
  const B = axisSize;
  const { lhsSpec, rhsSpec, outSpec } = params.dimensionNumbers;
  const G = params.featureGroupCount;
  const BG = params.batchGroupCount;
  const convWith = (l: Tracer, r: Tracer, p: Partial<ParamsOf<"conv_general_dilated">>) =>
    bind1("conv_general_dilated", [l, r], { ...params, ...p });

  if (dl !== null && dr === null) {
    const a = lhsSpec[0];
    let l = moveAxis(lhs, dl, a); // [.., B, N, ..]
    if (BG > 1) {
      // N = [BG, n] with groups major: make it [BG, B, n].
      l = splitAxis(l, a + 1, [BG, l.shape[a + 1] / BG]);
      l = moveAxis(l, a + 1, a);
      l = mergeAxes(l, a, 3);
    } else {
      l = mergeAxes(l, a, 2);
    }
    const out = convWith(l, rhs, {});
    const c = outSpec[0];
    return [[splitAxis(out, c, [B, out.shape[c] / B])], [c]];
  }

  if (dl === null && dr !== null) {
    const K = Math.max(G, BG);
    const a = rhsSpec[0];
    let r = moveAxis(rhs, dr, a); // [.., B, O, ..]
    if (K > 1) {
      r = splitAxis(r, a + 1, [K, r.shape[a + 1] / K]);
      r = moveAxis(r, a + 1, a); // [K, B, O/K]
      r = mergeAxes(r, a, 3);
    } else {
      r = mergeAxes(r, a, 2);
    }
    let out = convWith(lhs, r, {});
    const c = outSpec[1];
    const O = out.shape[c] / B;
    if (K > 1) {
      out = splitAxis(out, c, [K, B, O / K]);
      out = moveAxis(out, c + 1, c); // [B, K, O/K]
      out = mergeAxes(out, c + 1, 2);
    } else {
      out = splitAxis(out, c, [B, O]);
    }
    return [[out], [c]];
  }

  // Both batched.
  const dL = dl as number;
  const dR = dr as number;
  let r = moveAxis(rhs, dR, rhsSpec[0]);
  r = mergeAxes(r, rhsSpec[0], 2); // O' = B*O, B major
  let out: Tracer;
  if (BG > 1) {
    let l = moveAxis(lhs, dL, lhsSpec[0]);
    l = mergeAxes(l, lhsSpec[0], 2); // N' = B*N
    out = convWith(l, r, { batchGroupCount: BG * B });
  } else {
    let l = moveAxis(lhs, dL, lhsSpec[1]);
    l = mergeAxes(l, lhsSpec[1], 2); // C' = B*C
    out = convWith(l, r, { featureGroupCount: G * B });
  }
  const c = outSpec[1];
  return [[splitAxis(out, c, [B, out.shape[c] / B])], [c]];
};

// --- windows ----------------------------------------------------------------------------

type WindowShape = Pick<ReduceWindowParams, "windowDimensions" | "windowStrides" | "padding">;

// A window op batched at dim bd: a size-1, stride-1, unpadded and undilated
// window on the batch dim maps each batch element to itself.
function windowWithBatchDim(p: WindowShape, bd: number): WindowShape {
  return {
    windowDimensions: insertAt(p.windowDimensions, bd, 1),
    windowStrides: insertAt(p.windowStrides, bd, 1),
    padding: insertAt(p.padding, bd, [0, 0] as [number, number]),
  };
}
function windowParamsWithBatchDim(p: ReduceWindowParams, bd: number): ReduceWindowParams {
  return { ...windowWithBatchDim(p, bd), baseDilation: insertAt(p.baseDilation, bd, 1), windowDilation: insertAt(p.windowDilation, bd, 1) };
}

function reduceWindow(prim: ReduceWindowPrimitive): VmapRule<ReduceWindowPrimitive> {
  return (_axisSize, [x], [d], p) => {
    const bd = d as number;
    return [[bind1(prim, [x], windowParamsWithBatchDim(p, bd))], [bd]];
  };
}

const selectAndScatterAdd: VmapRule<"select_and_scatter_add"> = (axisSize, args, dims, p) => {
  // source and operand have equal ranks, and a trivial window on the batch dim
  // maps it to itself, so both can share one batch position.
  const [[source, operand], bd] = alignAll(axisSize, args, dims);
  const out = bind1("select_and_scatter_add", [source, operand], { selectPrim: p.selectPrim, ...windowWithBatchDim(p, bd) });
  return [[out], [bd]];
};

const selectAndGatherAdd: VmapRule<"select_and_gather_add"> = (axisSize, args, dims, p) => {
  const [[tangents, operand], bd] = alignAll(axisSize, args, dims);
  const out = bind1("select_and_gather_add", [tangents, operand], { selectPrim: p.selectPrim, ...windowParamsWithBatchDim(p, bd) });
  return [[out], [bd]];
};

// --- the table -----------------------------------------------------------------------------

export const firstOrderVmapRules: { [P in FirstOrderPrimitive]: VmapRule<P> } = {
  // elementwise families: the op applies per element, so the batch dim passes through (aligned first for binary ops)
  ...familyTable(UNARY_ELEMENTWISE, unary),
  ...familyTable(BINARY_ELEMENTWISE, naryElementwise),
  select_n: selectN,
  clamp,
  // dtype
  convert_element_type: unary("convert_element_type"),
  bitcast_convert_type: unary("bitcast_convert_type"),
  // reductions
  reduce_sum: reduction("reduce_sum"), reduce_max: reduction("reduce_max"), reduce_min: reduction("reduce_min"),
  reduce_prod: reduction("reduce_prod"), reduce_and: reduction("reduce_and"), reduce_or: reduction("reduce_or"),
  argmax: argReduction("argmax"), argmin: argReduction("argmin"),
  cumsum: cumulative("cumsum"), cumprod: cumulative("cumprod"), cummax: cumulative("cummax"), cummin: cumulative("cummin"),
  // shape
  broadcast_in_dim: broadcastInDim,
  reshape: reshapeRule,
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
  // indexing
  gather,
  scatter: scatter("scatter"),
  scatter_add: scatter("scatter_add"),
  // linear algebra / conv / windows
  dot_general: dotGeneral,
  conv_general_dilated: conv,
  reduce_window_sum: reduceWindow("reduce_window_sum"),
  reduce_window_max: reduceWindow("reduce_window_max"),
  reduce_window_min: reduceWindow("reduce_window_min"),
  select_and_scatter_add: selectAndScatterAdd,
  select_and_gather_add: selectAndGatherAdd,
  // sorting
  sort,
  top_k: topK,
  ...decompositionVmapRules,
  // random
  threefry2x32: naryElementwise("threefry2x32"),
  // autodiff markers
  stop_gradient: unary("stop_gradient"),
};
