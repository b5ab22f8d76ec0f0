// The 2-D convolution as the Rust conv kernels take it: its parameters and
// their validation (conv2dShapes), the int32 parameter block and the units a
// thread pool splits, and the encoding of a fused epilogue
// (wasm/src/conv.rs ConvParams, wasm/src/epilogue.rs).

import type { EpilogueOp, EpilogueOpKind } from "../plan/kernel_graph";
import { sizeOf } from "../../core/shape";
// At most this many ops (wasm/src/epilogue.rs MAX_OPS, which must agree).
import { CONV_EPILOGUE_MAX_OPS } from "../plan/conv_lowering";
import { fail, int32, nonNeg, pos } from "./kernel_args";

/** Int32 words of the conv2d parameter block. */
export const CONV_PARAMS_LEN = 21;

export type ConvLayout = "NHWC" | "NCHW";

/**
 * A 2-D convolution. NHWC: x [N,H,W,Cin], w [KH,KW,Cin/G,Cout] (HWIO),
 * y [N,OH,OW,Cout]. NCHW: x [N,Cin,H,W], w [Cout,Cin/G,KH,KW] (OIHW),
 * y [N,Cout,OH,OW].
 */
export interface Conv2dParams {
  layout: ConvLayout;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  /** Feature groups (default 1); cin and cout must be divisible by it. */
  groups?: number;
  /** [sh, sw], default [1, 1]. */
  strides?: readonly [number, number];
  /** [[top, bottom], [left, right]], default zeros; negative values crop. */
  padding?: readonly [readonly [number, number], readonly [number, number]];
  /** Kernel (rhs) dilation [dh, dw], default [1, 1]. */
  dilation?: readonly [number, number];
  /** Input (lhs) dilation [lh, lw], default [1, 1] (transposed convolution). */
  lhsDilation?: readonly [number, number];
}

/** Which convolution a conv2d_range call computes, and its units (what a thread pool splits). */
export type ConvMode = "forward" | "data" | "filter";
/** The mode argument of conv2d_range. */
export const CONV_MODE_CODE: Record<ConvMode, number> = { forward: 0, data: 1, filter: 2 };

/** Units a convolution splits into: output lines (N·OH) for the forward, images (N) for the gradients. */
export function convUnits(p: Conv2dParams, mode: ConvMode): number {
  return mode === "forward" ? p.n * conv2dShapes(p).oh : p.n;
}

/** The conv2d parameter block (wasm/src/conv.rs ConvParams::read) and the shapes it implies. */
export function convParamsBlock(p: Conv2dParams): { block: number[]; shapes: ConvShapes } {
  const s = conv2dShapes(p);
  const [sh, sw] = p.strides ?? [1, 1];
  const [[pt, pb], [pl, pr]] = p.padding ?? [[0, 0], [0, 0]];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [lh, lw] = p.lhsDilation ?? [1, 1];
  const block = [
    p.layout === "NCHW" ? 1 : 0, p.n, p.h, p.w, p.cin, p.cout, p.kh, p.kw, p.groups ?? 1,
    sh, sw, pt, pb, pl, pr, dh, dw, lh, lw, s.oh, s.ow,
  ];
  return { block, shapes: s };
}

/** Int32 words of an encoded conv epilogue. */
export const CONV_EPILOGUE_WORDS = 1 + 3 * CONV_EPILOGUE_MAX_OPS;
const EPILOGUE_KIND_CODE: Record<EpilogueOpKind, number> = { add: 0, sub: 1, rsub: 2, mul: 3, div: 4, rdiv: 5, max: 6, min: 7, relu: 8 };

/**
 * A conv epilogue as the int32 block wasm/src/epilogue.rs reads: `ops` in
 * order, each vector operand a per-output-channel vector at the next of
 * `vectorPtrs` (byte pointers). Row/column vectors of a GEMM epilogue have no
 * meaning here: the planner gives a conv only channel vectors, marked "col".
 */
export function encodeConvEpilogue(ops: readonly EpilogueOp[], vectorPtrs: readonly number[]): number[] {
  if (ops.length > CONV_EPILOGUE_MAX_OPS) fail(`conv epilogue: at most ${CONV_EPILOGUE_MAX_OPS} ops, got ${ops.length}`);
  const words = new Array<number>(CONV_EPILOGUE_WORDS).fill(0);
  words[0] = ops.length;
  let v = 0;
  ops.forEach((o, i) => {
    const at = 1 + 3 * i;
    words[at] = EPILOGUE_KIND_CODE[o.op];
    if (o.operand.kind === "const") {
      words[at + 1] = 1;
      words[at + 2] = new Int32Array(new Float32Array([o.operand.value]).buffer)[0]!;
    } else if (o.operand.kind === "none") {
      words[at + 1] = 0;
    } else {
      const ptr = vectorPtrs[v++];
      if (ptr === undefined) fail(`conv epilogue: op ${i} (${o.op}) needs a vector operand, but only ${vectorPtrs.length} were given`);
      words[at + 1] = 2;
      words[at + 2] = ptr | 0;
    }
  });
  if (v !== vectorPtrs.length) fail(`conv epilogue: ${vectorPtrs.length} vector operands given, the ops use ${v}`);
  return words;
}

export interface ConvShapes {
  oh: number;
  ow: number;
  xSize: number;
  wSize: number;
  ySize: number;
  xShape: number[];
  wShape: number[];
  yShape: number[];
}

/** Validates conv parameters and returns output size and buffer shapes. */
export function conv2dShapes(p: Conv2dParams): ConvShapes {
  if (p.layout !== "NHWC" && p.layout !== "NCHW") fail(`layout must be "NHWC" or "NCHW", got ${String(p.layout)}`, -1);
  const n = nonNeg("n", p.n);
  const h = pos("h", p.h);
  const w = pos("w", p.w);
  const cin = pos("cin", p.cin);
  const cout = pos("cout", p.cout);
  const kh = pos("kh", p.kh);
  const kw = pos("kw", p.kw);
  const groups = pos("groups", p.groups ?? 1);
  if (cin % groups !== 0 || cout % groups !== 0) fail(`cin ${cin} and cout ${cout} must be divisible by groups ${groups}`, -3);
  const [sh, sw] = p.strides ?? [1, 1];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [lh, lw] = p.lhsDilation ?? [1, 1];
  pos("strides[0]", sh); pos("strides[1]", sw);
  pos("dilation[0]", dh); pos("dilation[1]", dw);
  pos("lhsDilation[0]", lh); pos("lhsDilation[1]", lw);
  const [[pt, pb], [pl, pr]] = p.padding ?? [[0, 0], [0, 0]];
  int32("padding top", pt); int32("padding bottom", pb); int32("padding left", pl); int32("padding right", pr);
  const out = (size: number, k: number, s: number, d: number, l: number, lo: number, hi: number) => {
    const span = (size - 1) * l + 1 + lo + hi - ((k - 1) * d + 1);
    return span < 0 ? 0 : Math.floor(span / s) + 1;
  };
  const oh = out(h, kh, sh, dh, lh, pt, pb);
  const ow = out(w, kw, sw, dw, lw, pl, pr);
  const nchw = p.layout === "NCHW";
  const xShape = nchw ? [n, cin, h, w] : [n, h, w, cin];
  const wShape = nchw ? [cout, cin / groups, kh, kw] : [kh, kw, cin / groups, cout];
  const yShape = nchw ? [n, cout, oh, ow] : [n, oh, ow, cout];
  const shapes = { oh, ow, xShape, wShape, yShape, xSize: sizeOf(xShape), wSize: sizeOf(wShape), ySize: sizeOf(yShape) };
  if (oh > 0x7fffffff || ow > 0x7fffffff || Math.max(shapes.xSize, shapes.wSize, shapes.ySize) >= 2 ** 30) {
    fail("convolution too large for a 4 GiB memory", -7);
  }
  return shapes;
}
