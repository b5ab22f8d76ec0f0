// Which convolution kernel runs a conv_general_dilated equation. `grad` of a
// convolution produces two more convolutions (transforms/rules/transpose.ts):
// the input gradient, a conv of the output cotangent with the spatially
// reversed kernel that dilates its input by the forward strides; and the
// filter gradient, a conv of the input with the cotangent in which the batch
// and feature dimensions swap roles. Run by the forward kernel, the first
// multiplies mostly inserted zeros when the forward conv was strided, and the
// second needs transposed copies of both activations. The Rust kernels
// conv2d_backward_data and conv2d_backward_filter compute them from the
// forward convolution's parameters, reading the activations in their own
// layout: this file recognises the two forms and recovers those parameters.
//
// Measured (bench/conv_kernels.ts, CPU ms per call, one thread, min of 12 at
// load ~19): the data gradient of the W7 CNN's 64×14×14×16→32 conv 3.42 on
// backward_data vs 4.08 as a forward conv (NCHW 4.30 vs 6.54), of a stride-2
// conv on 28×28 3.43 vs 14.5, of a one-channel first layer (W5) 1.19 vs 9.85
// (the transposed conv has one output channel); the filter gradient costs
// about the same either way (W7 conv2 3.48 vs 3.60, one input channel 1.06
// vs 0.99) before the forward route's transposed copies of x and dy. The
// whole W7 training step (jit, one thread, interleaved in one process):
// 18.7 ms CPU min with both gradient kernels, 19.0 with the data kernel
// only, 20.3 with neither.

import type { JaxprEqn } from "../../core/ir";

/**
 * Elementwise ops that follow a forward conv are folded into its store like a
 * GEMM's epilogue (gemm_conv_lowering.ts foldIntoGemm): `relu(conv(x, w) + b)` is one
 * pass over the output, which the Rust kernel's GEMM applies to each register
 * tile as it stores it (wasm/src/epilogue.rs StoreEpilogue; the depthwise
 * kernels in a pass over each range of lines they computed). Its vector operands are
 * per-output-channel vectors (a bias); this many ops at most.
 */
export const CONV_EPILOGUE_MAX_OPS = 8;

/**
 * How the planner's epilogue folding sees a conv output in the kernel's
 * layout: its leading "batch" and "row" dims, the rest as columns, and which
 * vector kind is a per-channel vector — NHWC [N,OH,OW,C]: C is the column
 * dim; NCHW [N,C,OH,OW]: C is the row dim. Other vectors do not fold.
 */
export function convEpilogueDims(layout: ConvLayout): { batchDims: number; rowDims: number; channelKind: "col" | "row" } {
  return layout === "NHWC" ? { batchDims: 0, rowDims: 3, channelKind: "col" } : { batchDims: 1, rowDims: 1, channelKind: "row" };
}

export interface ConvStepParams {
  n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; groups: number;
  strides: [number, number]; padding: [[number, number], [number, number]]; dilation: [number, number]; lhsDilation: [number, number];
}

export type ConvLayout = "NHWC" | "NCHW";

/** A gradient convolution run by a gradient kernel, with the parameters of the forward convolution it is the gradient of. */
export interface ConvGradientPlan {
  layout: ConvLayout;
  params: ConvStepParams;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The high padding that gives a convolution of `size` pixels exactly `out`
 * outputs (the kernels check the output size against it); the gradient forms
 * only fix the low side, and any high padding that keeps `out` reads the same
 * pixels.
 */
function highPadding(size: number, k: number, stride: number, dilation: number, lhsDilation: number, low: number, out: number): number {
  const dilatedIn = (size - 1) * lhsDilation + 1;
  const dilatedK = (k - 1) * dilation + 1;
  return (out - 1) * stride + dilatedK - dilatedIn - low;
}

/** Plain float32 2-D convolutions with one group, the case both gradient kernels take. */
function isPlain2d(eqn: JaxprEqn<"conv_general_dilated">): boolean {
  const p = eqn.params;
  const [lhs, rhs] = eqn.inputs;
  const out = eqn.outputs[0];
  return (
    lhs.aval.ndim === 4 && [lhs, rhs, out].every((a) => a.aval.dtype === "float32") &&
    p.featureGroupCount === 1 && p.batchGroupCount === 1 &&
    [lhs, rhs, out].every((a) => a.aval.size > 0)
  );
}

/**
 * The filter gradient dw = d/dw Σ conv(x, w)·dy, when the equation reads x and
 * dy and writes dw in the kernel's layout: NHWC x [N,H,W,Cin] and dy
 * [N,OH,OW,Cout] with dw [KH,KW,Cin,Cout] (HWIO), or NCHW x, dy with OIHW dw.
 * In the equation the forward conv's batch N is the contracted feature, its
 * Cin the batch, its output pixels the window and its taps the output.
 */
export function filterGradientPlan(eqn: JaxprEqn<"conv_general_dilated">): ConvGradientPlan | null {
  if (!isPlain2d(eqn)) return null;
  const p = eqn.params;
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  let layout: ConvLayout;
  if (same(lhsSpec, [3, 0, 1, 2]) && same(rhsSpec, [3, 0, 1, 2]) && same(outSpec, [2, 3, 0, 1])) layout = "NHWC";
  else if (same(lhsSpec, [1, 0, 2, 3]) && same(rhsSpec, [1, 0, 2, 3]) && same(outSpec, [1, 0, 2, 3])) layout = "NCHW";
  else return null;
  const [x, dy] = eqn.inputs;
  const [ls, rs, os] = [x.aval.shape, dy.aval.shape, eqn.outputs[0].aval.shape];
  const [h, w] = [ls[lhsSpec[2]], ls[lhsSpec[3]]];
  const [oh, ow] = [rs[rhsSpec[2]], rs[rhsSpec[3]]];
  const [kh, kw] = [os[outSpec[2]], os[outSpec[3]]];
  // Forward strides are the equation's kernel dilation and vice versa.
  const strides: [number, number] = [p.rhsDilation[0], p.rhsDilation[1]];
  const dilation: [number, number] = [p.windowStrides[0], p.windowStrides[1]];
  const lhsDilation: [number, number] = [p.lhsDilation[0], p.lhsDilation[1]];
  const [top, left] = [p.padding[0][0], p.padding[1][0]];
  return {
    layout,
    params: {
      n: ls[lhsSpec[1]], cin: ls[lhsSpec[0]], h, w, cout: rs[rhsSpec[0]], kh, kw, groups: 1,
      strides, dilation, lhsDilation,
      padding: [
        [top, highPadding(h, kh, strides[0], dilation[0], lhsDilation[0], top, oh)],
        [left, highPadding(w, kw, strides[1], dilation[1], lhsDilation[1], left, ow)],
      ],
    },
  };
}

/** A data-gradient plan also says how to read the forward kernel out of the equation's (reversed) rhs. */
export interface DataGradientPlan extends ConvGradientPlan {
  /** The rhs's axes in the kernel's weight order (HWIO or OIHW). */
  weightOrder: number[];
  /** The rhs's spatial axes, reversed to give the forward kernel. */
  reversedAxes: number[];
}

/**
 * The input gradient dx = d/dx Σ conv(x, w)·dy, for an equation that reads dy
 * and writes dx in one layout (NHWC or NCHW) with the rhs rev(w). Every such
 * equation is some conv's input gradient, but the gradient kernel only pays
 * where the equation looks like one: its input is dilated (a strided forward
 * conv, where the forward kernel would multiply mostly zeros), or its rhs is
 * a reversed view that the kernel can read unreversed for free
 * (`rhsIsReversed`, which the planner knows).
 */
export function dataGradientPlan(eqn: JaxprEqn<"conv_general_dilated">, rhsIsReversed: boolean): DataGradientPlan | null {
  if (!isPlain2d(eqn)) return null;
  const p = eqn.params;
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  if (!same(lhsSpec, outSpec)) return null;
  let layout: ConvLayout;
  let weightOrder: number[];
  // The equation's rhs output feature is the forward conv's input feature.
  if (same(lhsSpec, [0, 3, 1, 2])) {
    layout = "NHWC";
    weightOrder = [rhsSpec[2], rhsSpec[3], rhsSpec[0], rhsSpec[1]];
  } else if (same(lhsSpec, [0, 1, 2, 3])) {
    layout = "NCHW";
    weightOrder = [rhsSpec[1], rhsSpec[0], rhsSpec[2], rhsSpec[3]];
  } else return null;
  const undilated = p.lhsDilation.every((d) => d === 1);
  if (!rhsIsReversed && undilated) return null;
  const [dy, wRev] = eqn.inputs;
  const [ls, rs, os] = [dy.aval.shape, wRev.aval.shape, eqn.outputs[0].aval.shape];
  // A 1×1 kernel is its own reverse, so an ordinary forward conv looks like a
  // data gradient too; only a gradient reads its weights in the kernel's order
  // (input and output features swapped back), so take it only then.
  const oneByOne = rs[rhsSpec[2]] === 1 && rs[rhsSpec[3]] === 1;
  if (undilated && oneByOne && !weightOrder.every((d, i) => d === i)) return null;
  const [oh, ow] = [ls[lhsSpec[2]], ls[lhsSpec[3]]];
  const [h, w] = [os[outSpec[2]], os[outSpec[3]]];
  const [kh, kw] = [rs[rhsSpec[2]], rs[rhsSpec[3]]];
  // Forward strides are the equation's input dilation and vice versa; the
  // reversed kernel moves the low padding to the other side of the window.
  const strides: [number, number] = [p.lhsDilation[0], p.lhsDilation[1]];
  const lhsDilation: [number, number] = [p.windowStrides[0], p.windowStrides[1]];
  const dilation: [number, number] = [p.rhsDilation[0], p.rhsDilation[1]];
  const top = (kh - 1) * dilation[0] - p.padding[0][0];
  const left = (kw - 1) * dilation[1] - p.padding[1][0];
  return {
    layout,
    weightOrder,
    reversedAxes: [rhsSpec[2], rhsSpec[3]],
    params: {
      n: ls[lhsSpec[0]], cin: os[outSpec[1]], h, w, cout: ls[lhsSpec[1]], kh, kw, groups: 1,
      strides, dilation, lhsDilation,
      padding: [
        [top, highPadding(h, kh, strides[0], dilation[0], lhsDilation[0], top, oh)],
        [left, highPadding(w, kw, strides[1], dilation[1], lhsDilation[1], left, ow)],
      ],
    },
  };
}
