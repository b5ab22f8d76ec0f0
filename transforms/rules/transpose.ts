// Transpose rules of the first-order primitives: for a primitive that is
// linear in some operands (marked UndefinedPrimal in `args`; the others are
// known values), map the output cotangents to cotangents of those operands.
// A rule returns one entry per operand: a cotangent (possibly a symbolic
// Zero) for an undefined operand, null for a known one. Primitives that are
// linear in no operand have `null` in the table; the jvp rules never put them
// on the tangent side of a linearized function. Rules follow JAX's
// (jax/_src/lax/*.py): e.g. dot_general's two transposes, conv's lhs/rhs
// transposes with flipped kernels and swapped dilations, gather <-> scatter_add.

import { Array } from "../../src/core/array";
import type { ShapedArray } from "../../src/core/aval";
import { TransformError } from "../../src/core/errors";
import { BINARY_ELEMENTWISE, UNARY_ELEMENTWISE, familyTable } from "../../src/core/primitives";
import type { ConvDimensionNumbers, FirstOrderPrimitive, ParamsOf, Primitive } from "../../src/core/primitives";
import { complementDims, invertPermutation, range } from "../../src/core/shape";
import { bind1, type Tracer } from "../../src/core/trace";
import { Zero, isZero, type Tangent } from "../tangents";
import { isUndefined, type LinearArg, type TransposeRule } from "../transpose";
import {
  convert,
  gather,
  gatherParamsOfScatter,
  neg,
  pad,
  reduceSum,
  reshape,
  rev,
  scatterDnumsOfGather,
  scatterMasks,
  select,
  slice,
  sub,
  transpose,
  zeros,
} from "./ad_util";

type Rule<P extends Primitive> = TransposeRule<P>;

const avalOf = (a: LinearArg): ShapedArray => a.aval;
const known = (a: LinearArg, prim: string, what: string): Tracer => {
  if (isUndefined(a)) {
    throw new TransformError(`transpose of '${prim}': ${what} must be a known (non-linear) value, but it depends on the differentiated inputs`);
  }
  return a;
};

/** Wraps a rule: if the output cotangent is Zero, every linear operand gets a Zero. */
function withZeroCt<P extends Primitive>(_prim: P, rule: (ct: Tracer, args: LinearArg[], params: ParamsOf<P>) => (Tangent | null)[]): Rule<P> {
  return (cts, args, params) => {
    const [ct] = cts;
    if (isZero(ct)) return args.map((a) => (isUndefined(a) ? new Zero(a.aval) : null));
    return rule(ct, args, params);
  };
}

/** For each operand: `f()` if it is linear (undefined), else null. */
const ifLinear = (a: LinearArg, f: () => Tangent): Tangent | null => (isUndefined(a) ? f() : null);

/** Reshape-like ops: the cotangent is reshaped back to the operand's shape. */
const reshapeBack = <P extends Primitive>(prim: P): Rule<P> =>
  withZeroCt(prim, (ct, [x]) => [reshape(ct, avalOf(x).shape)]);

// --- pad / slice / windows -------------------------------------------------------------

/** Cotangent of pad's operand: undo negative (cropping) padding with zeros, then take
 * every (interior+1)-th element of the interior. */
function padTransposeOperand(ct: Tracer, config: readonly (readonly [number, number, number])[]): Tracer {
  const uncrop = config.map(([lo, hi]): [number, number, number] => [Math.max(-lo, 0), Math.max(-hi, 0), 0]);
  const c = pad(ct, Array.scalar(0, ct.dtype), uncrop);
  const start = config.map(([lo]) => Math.max(lo, 0));
  const limit = c.shape.map((n, d) => n - Math.max(config[d][1], 0));
  const strides = config.map(([, , interior]) => interior + 1);
  return slice(c, start, limit, strides);
}

const dilateDim = (n: number, d: number) => (n === 0 ? 0 : (n - 1) * d + 1);

/**
 * reduce_window_sum: each output sums a (dilated) window of the padded,
 * base-dilated operand. Transposed: spread each cotangent over its window,
 * i.e. a stride-1 window sum over the cotangent dilated by the strides and
 * padded by the window extent, then the pad transpose of the operand's padding
 * and base dilation.
 */
function reduceWindowSumTranspose(ct: Tracer, x: ShapedArray, p: ParamsOf<"reduce_window_sum">): Tangent {
  if (ct.size === 0 || x.size === 0) return new Zero(x);
  const r = x.ndim;
  const padded = range(r).map((d) => p.padding[d][0] + dilateDim(x.shape[d], p.baseDilation[d]) + p.padding[d][1]);
  const cfg = range(r).map((d): [number, number, number] => {
    const ext = (p.windowDimensions[d] - 1) * p.windowDilation[d];
    return [ext, padded[d] - (ct.shape[d] - 1) * p.windowStrides[d] - 1, p.windowStrides[d] - 1];
  });
  const spread = bind1("reduce_window_sum", [pad(ct, Array.scalar(0, ct.dtype), cfg)], {
    windowDimensions: [...p.windowDimensions],
    windowStrides: p.windowStrides.map(() => 1),
    padding: p.windowStrides.map((): [number, number] => [0, 0]),
    baseDilation: p.windowStrides.map(() => 1),
    windowDilation: [...p.windowDilation],
  });
  return padTransposeOperand(
    spread,
    range(r).map((d): [number, number, number] => [p.padding[d][0], p.padding[d][1], p.baseDilation[d] - 1]),
  );
}

// --- dot_general -----------------------------------------------------------------------

/**
 * Cotangent of one side ("this") of dot_general given the other side's value.
 * The output's layout is [batch, lhs free, rhs free]; `thisFreePos` are the
 * positions of this side's free dims in it and `otherFreePos` the other's.
 * ct · other contracts the other side's free dims and keeps the batch dims,
 * leaving [batch, this free, other's contracting dims (in other's order)],
 * which are then permuted to this side's layout.
 */
function dotTransposeSide(
  ct: Tracer,
  other: Tracer,
  thisAval: ShapedArray,
  thisContract: readonly number[],
  thisBatch: readonly number[],
  otherContract: readonly number[],
  otherBatch: readonly number[],
  otherFreePos: number[],
): Tracer {
  const thisFree = complementDims(thisAval.ndim, thisContract, thisBatch);
  const otherFree = complementDims(other.ndim, otherContract, otherBatch);
  const g = convert(ct, other.dtype);
  const nb = thisBatch.length;
  const res = bind1("dot_general", [g, other], {
    dimensionNumbers: [
      [otherFreePos, otherFree],
      [range(nb), [...otherBatch]],
    ],
    preferredElementType: null,
  });
  const sortedOtherContract = [...otherContract].sort((a, b) => a - b);
  const layout = [...thisBatch, ...thisFree, ...sortedOtherContract.map((oc) => thisContract[otherContract.indexOf(oc)])];
  return convert(transpose(res, invertPermutation(layout)), thisAval.dtype, thisAval.weakType);
}

const dotGeneralTranspose: Rule<"dot_general"> = withZeroCt("dot_general", (ct, [a, b], { dimensionNumbers }) => {
  const [[lc, rc], [lb, rb]] = dimensionNumbers;
  if (isUndefined(a) && isUndefined(b)) {
    throw new TransformError("transpose of 'dot_general': both operands are linear, so the product is not linear in them");
  }
  const aAval = avalOf(a);
  const bAval = avalOf(b);
  const nb = lb.length;
  const nlf = aAval.ndim - lc.length - lb.length;
  const nrf = bAval.ndim - rc.length - rb.length;
  const lhsFreePos = range(nlf).map((i) => nb + i);
  const rhsFreePos = range(nrf).map((i) => nb + nlf + i);
  return [
    ifLinear(a, () => dotTransposeSide(ct, b as Tracer, aAval, lc, lb, rc, rb, rhsFreePos)),
    ifLinear(b, () => dotTransposeSide(ct, a as Tracer, bAval, rc, rb, lc, lb, lhsFreePos)),
  ];
});

// --- conv_general_dilated ------------------------------------------------------------

const swapSpec = (s: readonly number[]): number[] => [s[1], s[0], ...s.slice(2)];

/** Split axis `src` of size n into [k, n / k] (k major). */
function splitAxis(x: Tracer, src: number, k: number): Tracer {
  const shape = [...x.shape];
  shape.splice(src, 1, k, x.shape[src] / k);
  return reshape(x, shape);
}

/** Merge axis `src` into axis `dst` (an index after removing src), src major. */
function mergeAxisInto(x: Tracer, src: number, dst: number): Tracer {
  const perm = range(x.ndim).filter((i) => i !== src);
  perm.splice(dst, 0, src);
  const shape = x.shape.filter((_, i) => i !== src);
  shape[dst] *= x.shape[src];
  return reshape(transpose(x, perm), shape);
}

/**
 * Per spatial dim of a convolution: the extents of the dilated input (ld),
 * kernel (kd) and stride-dilated output (od), from which the paddings of both
 * transposed convolutions follow.
 */
function dilatedSpatialExtents(
  p: ParamsOf<"conv_general_dilated">,
  lhsShape: readonly number[],
  rhsShape: readonly number[],
  outShape: readonly number[],
): { ld: number; kd: number; od: number }[] {
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  return lhsSpec.slice(2).map((lhsDim, i) => ({
    ld: dilateDim(lhsShape[lhsDim], p.lhsDilation[i]),
    kd: dilateDim(rhsShape[rhsSpec[2 + i]], p.rhsDilation[i]),
    od: dilateDim(outShape[outSpec[2 + i]], p.windowStrides[i]),
  }));
}

function convTransposeLhs(ct: Tracer, rhs: Tracer, lhs: ShapedArray, p: ParamsOf<"conv_general_dilated">): Tracer {
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const G = p.featureGroupCount;
  const BG = p.batchGroupCount;
  let kernel = rhs;
  let groups = G;
  if (G > 1 || BG > 1) {
    // Move the group factor of the kernel's output features into its input features.
    const k = G > 1 ? G : BG;
    kernel = mergeAxisInto(splitAxis(rhs, rhsSpec[0], k), rhsSpec[0], rhsSpec[1]);
    groups = k;
  }
  const padding = dilatedSpatialExtents(p, lhs.shape, rhs.shape, ct.shape).map(({ ld, kd, od }, i): [number, number] => {
    const before = kd - p.padding[i][0] - 1;
    return [before, ld + kd - 1 - od - before];
  });
  const dn: ConvDimensionNumbers = { lhsSpec: [...outSpec], rhsSpec: swapSpec(rhsSpec), outSpec: [...lhsSpec] };
  let out = bind1("conv_general_dilated", [convert(ct, rhs.dtype), rev(kernel, rhsSpec.slice(2))], {
    windowStrides: [...p.lhsDilation],
    padding,
    lhsDilation: [...p.windowStrides],
    rhsDilation: [...p.rhsDilation],
    dimensionNumbers: dn,
    featureGroupCount: groups,
    batchGroupCount: 1,
    preferredElementType: null,
  });
  if (BG > 1) out = mergeAxisInto(splitAxis(out, lhsSpec[1], BG), lhsSpec[1], lhsSpec[0]);
  return convert(out, lhs.dtype, lhs.weakType);
}

function convTransposeRhs(ct: Tracer, lhs: Tracer, rhs: ShapedArray, p: ParamsOf<"conv_general_dilated">): Tangent {
  if (ct.size === 0) return new Zero(rhs);
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const G = p.featureGroupCount;
  const BG = p.batchGroupCount;
  const padding = dilatedSpatialExtents(p, lhs.shape, rhs.shape, ct.shape).map(({ ld, kd, od }, i): [number, number] => {
    const lo = p.padding[i][0];
    return [lo, od - ld + (kd - lo - 1)];
  });
  const dn: ConvDimensionNumbers = { lhsSpec: swapSpec(lhsSpec), rhsSpec: swapSpec(outSpec), outSpec: swapSpec(rhsSpec) };
  const out = bind1("conv_general_dilated", [lhs, convert(ct, lhs.dtype)], {
    windowStrides: [...p.rhsDilation],
    padding,
    lhsDilation: [...p.lhsDilation],
    rhsDilation: [...p.windowStrides],
    dimensionNumbers: dn,
    featureGroupCount: BG > 1 ? BG : 1,
    batchGroupCount: BG > 1 ? 1 : G,
    preferredElementType: null,
  });
  return convert(out, rhs.dtype, rhs.weakType);
}

const convTranspose: Rule<"conv_general_dilated"> = withZeroCt("conv_general_dilated", (ct, [lhs, rhs], p) => {
  if (isUndefined(lhs) && isUndefined(rhs)) {
    throw new TransformError("transpose of 'conv_general_dilated': both operands are linear, so the convolution is not linear in them");
  }
  return [
    ifLinear(lhs, () => convTransposeLhs(ct, rhs as Tracer, avalOf(lhs), p)),
    ifLinear(rhs, () => convTransposeRhs(ct, lhs as Tracer, avalOf(rhs), p)),
  ];
});

// --- the table -------------------------------------------------------------------------

export const firstOrderTransposeRules: { [P in FirstOrderPrimitive]: TransposeRule<P> | null } = {
  // elementwise families: nonlinear (no transpose) but for the linear members below
  ...familyTable(UNARY_ELEMENTWISE, () => null),
  ...familyTable(BINARY_ELEMENTWISE, () => null),
  // unary
  neg: withZeroCt("neg", (ct) => [neg(ct)]),
  // binary
  add: withZeroCt("add", (ct, [a, b]) => [ifLinear(a, () => ct), ifLinear(b, () => ct)]),
  sub: withZeroCt("sub", (ct, [a, b]) => [ifLinear(a, () => ct), ifLinear(b, () => neg(ct))]),
  mul: withZeroCt("mul", (ct, [a, b]) => {
    if (isUndefined(a) && isUndefined(b)) {
      throw new TransformError(`transpose of 'mul': both operands (${a.aval.str()}) are linear, so the product is not linear in them`);
    }
    return [ifLinear(a, () => bind1("mul", [ct, b as Tracer], {})), ifLinear(b, () => bind1("mul", [a as Tracer, ct], {}))];
  }),
  div: withZeroCt("div", (ct, [a, b]) => {
    const y = known(b, "div", "the denominator");
    return [ifLinear(a, () => bind1("div", [ct, y], {})), null];
  }),
  select_n: withZeroCt("select_n", (ct, [which, ...cases]) => {
    const w = known(which, "select_n", "the selector");
    return [
      null,
      ...cases.map((c, i) =>
        ifLinear(c, () => {
          const z = zeros(ct);
          return bind1("select_n", [w, ...cases.map((_, j) => (j === i ? ct : z))], {});
        }),
      ),
    ];
  }),
  clamp: null,
  // dtype
  convert_element_type: withZeroCt("convert_element_type", (ct, [x]) => {
    const a = avalOf(x);
    return [convert(ct, a.dtype, a.weakType)];
  }),
  bitcast_convert_type: null,
  // reductions
  reduce_sum: withZeroCt("reduce_sum", (ct, [x], { axes }) => {
    const a = avalOf(x);
    const kept = range(a.ndim).filter((d) => !axes.includes(d));
    return [bind1("broadcast_in_dim", [ct], { shape: [...a.shape], broadcastDimensions: kept })];
  }),
  reduce_max: null,
  reduce_min: null,
  reduce_prod: null,
  reduce_and: null,
  reduce_or: null,
  argmax: null,
  argmin: null,
  cumsum: withZeroCt("cumsum", (ct, _args, { axis, reverse }) => [bind1("cumsum", [ct], { axis, reverse: !reverse })]),
  cumprod: null,
  cummax: null,
  cummin: null,
  // shape
  broadcast_in_dim: withZeroCt("broadcast_in_dim", (ct, [x], { shape, broadcastDimensions: bd }) => {
    const a = avalOf(x);
    const newDims = range(shape.length).filter((d) => !bd.includes(d));
    const expanded = bd.filter((d, i) => a.shape[i] === 1 && shape[d] !== 1);
    return [reshape(reduceSum(ct, [...newDims, ...expanded]), a.shape)];
  }),
  reshape: reshapeBack("reshape"),
  transpose: withZeroCt("transpose", (ct, _args, { permutation }) => [transpose(ct, invertPermutation(permutation))]),
  squeeze: reshapeBack("squeeze"),
  expand_dims: reshapeBack("expand_dims"),
  rev: withZeroCt("rev", (ct, _args, { dimensions }) => [rev(ct, [...dimensions])]),
  slice: withZeroCt("slice", (ct, [x], { startIndices, strides }) => {
    // Pad the cotangent back into place; `realLimit` is one past the last element read.
    const a = avalOf(x);
    const cfg = a.shape.map((n, d): [number, number, number] => {
      const st = strides === null ? 1 : strides[d];
      const realLimit = ct.shape[d] === 0 ? startIndices[d] : startIndices[d] + (ct.shape[d] - 1) * st + 1;
      return [startIndices[d], n - realLimit, st - 1];
    });
    return [pad(ct, Array.scalar(0, ct.dtype), cfg)];
  }),
  dynamic_slice: withZeroCt("dynamic_slice", (ct, [x, ...starts]) => {
    const s = starts.map((v) => known(v, "dynamic_slice", "start indices"));
    return [ifLinear(x, () => bind1("dynamic_update_slice", [zeros(avalOf(x)), ct, ...s], {})), ...starts.map(() => null)];
  }),
  dynamic_update_slice: withZeroCt("dynamic_update_slice", (ct, [x, update, ...starts]) => {
    const s = starts.map((v) => known(v, "dynamic_update_slice", "start indices"));
    const ua = avalOf(update);
    return [
      ifLinear(x, () => bind1("dynamic_update_slice", [ct, zeros(ua), ...s], {})),
      ifLinear(update, () => bind1("dynamic_slice", [ct, ...s], { sliceSizes: [...ua.shape] })),
      ...starts.map(() => null),
    ];
  }),
  pad: withZeroCt("pad", (ct, [x, v], { paddingConfig }) => {
    const opCt = padTransposeOperand(ct, paddingConfig);
    return [
      ifLinear(x, () => opCt),
      ifLinear(v, () => sub(reduceSum(ct, range(ct.ndim)), reduceSum(opCt, range(opCt.ndim)))),
    ];
  }),
  concatenate: withZeroCt("concatenate", (ct, args, { dimension }) => {
    let off = 0;
    return args.map((a) => {
      const n = avalOf(a).shape[dimension];
      const start = off;
      off += n;
      return ifLinear(a, () =>
        slice(
          ct,
          ct.shape.map((_, d) => (d === dimension ? start : 0)),
          ct.shape.map((m, d) => (d === dimension ? start + n : m)),
        ),
      );
    });
  }),
  iota: null,
  // indexing
  gather: withZeroCt("gather", (ct, [x, idx], { dimensionNumbers, mode }) => {
    const indices = known(idx, "gather", "the indices");
    const a = avalOf(x);
    return [
      ifLinear(x, () => bind1("scatter_add", [zeros(a), indices, ct], { dimensionNumbers: scatterDnumsOfGather(dimensionNumbers), mode })),
      null,
    ];
  }),
  scatter_add: withZeroCt("scatter_add", (ct, [x, idx, upd], { dimensionNumbers, mode }) => {
    const indices = known(idx, "scatter_add", "the indices");
    const ua = avalOf(upd);
    return [
      ifLinear(x, () => ct),
      null,
      ifLinear(upd, () => gather(ct, indices, gatherParamsOfScatter(dimensionNumbers, ct.shape, ua.shape, mode, 0))),
    ];
  }),
  scatter: withZeroCt("scatter", (ct, [x, idx, upd], { dimensionNumbers, mode }) => {
    // Linear in (operand, updates) jointly: overwritten operand positions get no
    // cotangent; of repeated indices only the update that lands gets one.
    const indices = known(idx, "scatter", "the indices");
    const ua = avalOf(upd);
    const xa = avalOf(x);
    return [
      ifLinear(x, () => bind1("scatter", [ct, indices, zeros(ua)], { dimensionNumbers, mode })),
      null,
      ifLinear(upd, () => {
        const { updateWins } = scatterMasks(xa, indices, ua, dimensionNumbers, mode);
        const g = gather(ct, indices, gatherParamsOfScatter(dimensionNumbers, ct.shape, ua.shape, mode, 0));
        return select(updateWins, g, zeros(ua));
      }),
    ];
  }),
  // linear algebra / conv / windows
  dot_general: dotGeneralTranspose,
  conv_general_dilated: convTranspose,
  reduce_window_sum: withZeroCt("reduce_window_sum", (ct, [x], p) => [reduceWindowSumTranspose(ct, avalOf(x), p)]),
  reduce_window_max: null,
  reduce_window_min: null,
  select_and_gather_add: withZeroCt("select_and_gather_add", (ct, [t, operand], p) => {
    const op = known(operand, "select_and_gather_add", "the operand");
    if (p.baseDilation.some((d) => d !== 1) || p.windowDilation.some((d) => d !== 1)) {
      throw new TransformError(
        `transpose of 'select_and_gather_add' (max/min-pool's reverse mode) supports no base or window dilation, got baseDilation ${JSON.stringify(p.baseDilation)} and windowDilation ${JSON.stringify(p.windowDilation)}`,
      );
    }
    return [
      ifLinear(t, () =>
        bind1("select_and_scatter_add", [ct, op], {
          selectPrim: p.selectPrim,
          windowDimensions: [...p.windowDimensions],
          windowStrides: [...p.windowStrides],
          padding: p.padding.map(([lo, hi]): [number, number] => [lo, hi]),
        }),
      ),
      null,
    ];
  }),
  select_and_scatter_add: withZeroCt("select_and_scatter_add", (ct, [source, operand], p) => {
    const op = known(operand, "select_and_scatter_add", "the operand");
    const ones = op.shape.map(() => 1);
    return [
      ifLinear(source, () =>
        bind1("select_and_gather_add", [ct, op], {
          selectPrim: p.selectPrim,
          windowDimensions: [...p.windowDimensions],
          windowStrides: [...p.windowStrides],
          padding: p.padding.map(([lo, hi]): [number, number] => [lo, hi]),
          baseDilation: ones,
          windowDilation: ones,
        }),
      ),
      null,
    ];
  }),
  // sorting
  sort: null,
  top_k: null,
  cholesky: null, lu: null, qr: null, eigh: null, svd: null,
  // Linear in b: the transpose solves with op(a)ᵀ (JAX's _triangular_solve_transpose_rule).
  triangular_solve: withZeroCt("triangular_solve", (ct, [a, b], p) => {
    const solvedWith = known(a, "triangular_solve", "the triangular matrix a");
    return [null, ifLinear(b, () => bind1("triangular_solve", [solvedWith, ct], { ...p, transposeA: !p.transposeA }))];
  }),
  // random, autodiff markers
  threefry2x32: null,
  stop_gradient: null,
};
