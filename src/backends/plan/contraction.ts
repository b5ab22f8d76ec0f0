// dot_general and conv_general_dilated that no library call takes (integer
// operands, 1-D and 3-D convs, batch-grouped convs, float16 convs) lowered as
// one fused sum-reduction kernel instead of a host step: the iteration space
// is the output's dims followed by the contracted dims, each operand is read
// there through strided views (a conv's window is `out·stride + tap·dilation`
// over an input padded and base-dilated by a `pad` window step), and the
// kernel sums the product over the contracted dims. Integer products and sums
// wrap in int32 as the interpreter's; float ones accumulate in float32 and a
// float16 result is rounded once, as a float16 reduce_sum is. The float32
// GEMM and conv kernels stay the fast path (planner.ts tries them first).
// Like indexing.ts, this file reaches the planner only through a context.

import type { DType } from "../../core/dtype";
import { typedEqn, type Atom, type JaxprEqn, type Var } from "../../core/ir";
import { complementDims, range, stridesOf } from "../../core/shape";
import type { KDType } from "./kernel_graph";

/** Iteration dim i of a read walks the operand's dim `dim`, `scale` elements of it per step; null: broadcast. */
export type DimRead = { dim: number; scale: number } | null;

/** What lowerContraction needs from the planner; N is its lazy expression node. */
export interface ContractionContext<N> {
  /** `a`'s lazy value read over an iteration space, one DimRead per iteration dim. */
  readOver(a: Atom, reads: readonly DimRead[]): N;
  /** `a` padded by a pad window step (lo, hi, interior per dim, zeros filled in); null when the target has no window steps. */
  padded(a: Atom, config: readonly (readonly [number, number, number])[]): Atom | null;
  /** The node converting `node` to `dtype` (none when it already is), and the product of two nodes. */
  convert(node: N, from: DType, to: KDType): N;
  mul(a: N, b: N, dtype: KDType): N;
  /**
   * A sum-reduction kernel of `node` over `shape` along its trailing `contracted` dims, accumulated
   * in `acc`, whose result (the kept dims, dense) is `out`'s value with `out`'s dim d at
   * `outStrides[d]` in that dense buffer; converted or rounded to `out`'s dtype as needed.
   */
  sum(node: N, shape: readonly number[], contracted: number, acc: KDType, out: Var, outStrides: readonly number[]): void;
}

const isFloat = (d: DType): boolean => d === "float32" || d === "float16";

/** The dtype products are summed in: float32 for a float result, else wrapping int32. */
const accumulatorOf = (out: DType): KDType => (isFloat(out) ? "float32" : "int32");

/** Lowers a dot_general or conv_general_dilated as a fused sum-reduction kernel; false for other primitives. */
export function lowerContraction<N>(eqn: JaxprEqn, ctx: ContractionContext<N>): boolean {
  const typed = typedEqn(eqn);
  if (typed.primitive === "dot_general") return lowerDot(typed, ctx), true;
  if (typed.primitive === "conv_general_dilated") return lowerConv(typed, ctx);
  return false;
}

/** The product of the two operands' reads, each converted to the accumulator dtype. */
function product<N>(ctx: ContractionContext<N>, operands: readonly [Atom, Atom], reads: readonly [readonly DimRead[], readonly DimRead[]], acc: KDType): N {
  const [l, r] = operands.map((a, i) => ctx.convert(ctx.readOver(a, reads[i]), a.aval.dtype, acc));
  return ctx.mul(l, r, acc);
}

/** dot_general over the iteration space [batch, lhs free, rhs free, contracted]: the output's dims, then the sum's. */
function lowerDot<N>(eqn: JaxprEqn<"dot_general">, ctx: ContractionContext<N>): void {
  const [lhs, rhs] = eqn.inputs;
  const out = eqn.outputs[0];
  const [[lc, rc], [lb, rb]] = eqn.params.dimensionNumbers;
  const lf = complementDims(lhs.aval.ndim, lc, lb);
  const rf = complementDims(rhs.aval.ndim, rc, rb);
  const walk = (d: number): DimRead => ({ dim: d, scale: 1 });
  const lhsReads = [...lb.map(walk), ...lf.map(walk), ...rf.map(() => null), ...lc.map(walk)];
  const rhsReads = [...rb.map(walk), ...lf.map(() => null), ...rf.map(walk), ...rc.map(walk)];
  const shape = [...out.aval.shape, ...lc.map((d) => lhs.aval.shape[d])];
  const acc = accumulatorOf(out.aval.dtype);
  ctx.sum(product(ctx, [lhs, rhs], [lhsReads, rhsReads], acc), shape, lc.length, acc, out, stridesOf(out.aval.shape));
}

/**
 * conv_general_dilated over the iteration space [n, group, out feature in group, out spatial..., in feature, tap...]:
 * out[n, g·F + f, s] = sum over i, k of lhs[n', c, s·stride + k·rhsDilation] · rhs[g·F + f, i, k], where for feature
 * groups c = g·I + i and n' = n, for batch groups c = i and n' = g·Nout + n (one of the two group counts is 1).
 */
function lowerConv<N>(eqn: JaxprEqn<"conv_general_dilated">, ctx: ContractionContext<N>): boolean {
  const p = eqn.params;
  const [lhs, rhs] = eqn.inputs;
  const out = eqn.outputs[0];
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const spatial = p.windowStrides.length;
  const groups = p.featureGroupCount * p.batchGroupCount;
  const nOut = out.aval.shape[outSpec[0]];
  const features = out.aval.shape[outSpec[1]];
  const perGroup = groups === 0 ? 0 : features / groups;
  const inFeatures = rhs.aval.shape[rhsSpec[1]];
  const outSpatial = outSpec.slice(2).map((d) => out.aval.shape[d]);
  const taps = rhsSpec.slice(2).map((d) => rhs.aval.shape[d]);
  // The input padded and base-dilated, so every window tap is an in-bounds strided read.
  const needsPad = p.padding.some(([lo, hi]) => lo !== 0 || hi !== 0) || p.lhsDilation.some((d) => d !== 1);
  const config = lhs.aval.shape.map((): [number, number, number] => [0, 0, 0]);
  lhsSpec.slice(2).forEach((d, j) => (config[d] = [p.padding[j][0], p.padding[j][1], p.lhsDilation[j] - 1]));
  const x = needsPad ? ctx.padded(lhs, config) : lhs;
  if (x === null) return false;
  const lhsGroup: DimRead = p.featureGroupCount > 1 ? { dim: lhsSpec[1], scale: inFeatures } : p.batchGroupCount > 1 ? { dim: lhsSpec[0], scale: nOut } : null;
  const lhsReads: DimRead[] = [
    { dim: lhsSpec[0], scale: 1 }, lhsGroup, null,
    ...range(spatial).map((j) => ({ dim: lhsSpec[2 + j], scale: p.windowStrides[j] })),
    { dim: lhsSpec[1], scale: 1 },
    ...range(spatial).map((j) => ({ dim: lhsSpec[2 + j], scale: p.rhsDilation[j] })),
  ];
  const rhsReads: DimRead[] = [
    null, { dim: rhsSpec[0], scale: perGroup }, { dim: rhsSpec[0], scale: 1 },
    ...range(spatial).map(() => null),
    { dim: rhsSpec[1], scale: 1 },
    ...range(spatial).map((j) => ({ dim: rhsSpec[2 + j], scale: 1 })),
  ];
  const shape = [nOut, groups, perGroup, ...outSpatial, inFeatures, ...taps];
  // The kernel writes [n, feature, spatial...] densely; the output's own dim order is a view of it.
  const canonical = stridesOf([nOut, features, ...outSpatial]);
  const outStrides = new Array<number>(out.aval.ndim);
  outSpec.forEach((d, c) => (outStrides[d] = canonical[c]));
  const acc = accumulatorOf(out.aval.dtype);
  ctx.sum(product(ctx, [x, rhs], [lhsReads, rhsReads], acc), shape, 1 + spatial, acc, out, outStrides);
  return true;
}
