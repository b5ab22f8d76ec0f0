// The lowered program the planner (planner.ts) hands to a backend: numbered
// slots and the steps over them, and the target description that says which
// kinds of step a code generator has. Shared by the wasm and WebGPU backends
// and the buffer plan.

import type { ShapedArray } from "../../core/aval";
import { byteWidth, type DType } from "../../core/dtype";
import type { Var } from "../../core/ir";
import type { Decomposition, FirstOrderPrimitive, ParamsOf } from "../../core/primitives";
import type { EpilogueOp, KernelSpec, LibraryStep } from "./kernel_graph";
import type { WindowStep } from "./indexing";
import type { ConvStepParams } from "./conv_lowering";

/** A strided read of a slot's buffer, relative to some iteration shape. */
export interface View {
  slot: number;
  offset: number;
  strides: number[];
}


/** "view": no buffer of its own; a dynamic_view step points it into another slot's buffer at run time. */
export type SlotKind = "input" | "const" | "temp" | "view";

export interface SlotInfo {
  kind: SlotKind;
  bytes: number;
  dtype: DType;
  shape: readonly number[];
  /** For const slots: the host data to upload. */
  data?: number[];
  /** For input/const slots: their index in the program's inputs / consts. */
  index?: number;
}

/** One step of a lowered program. */
export type Step =
  | {
      kind: "kernel"; spec: KernelSpec; inputs: View[]; outputs: number[];
      /**
       * The kernel copies its one input, read densely, into its one output: a
       * dynamic_update_slice's operand copied before the update is written. A
       * backend skips it when the output took over the operand's (donated)
       * buffer, where it would copy a buffer onto itself.
       */
      operandCopy?: true;
    }
  | {
      kind: "gemm"; transA: boolean; transB: boolean; batch: number; m: number; n: number; k: number; a: number; b: number; c: number;
      /** Elementwise ops fused into the GEMM's store; `operands` are the slots of its vector operands, in order. */
      epilogue?: GemmEpilogue;
    }
  | {
      kind: "conv"; layout: "NHWC" | "NCHW"; params: ConvStepParams; x: number; w: number; y: number;
      /** Elementwise ops fused into the conv's store (conv_lowering.ts); vector operands are per-output-channel, marked `col`. */
      epilogue?: GemmEpilogue;
    }
  /**
   * A gradient of the forward convolution `params` (conv_lowering.ts), in its layout:
   * data: a = dy, b = w, out = dx; filter: a = x, b = dy, out = dw.
   */
  | { kind: "conv_gradient"; gradient: "data" | "filter"; layout: "NHWC" | "NCHW"; params: ConvStepParams; a: number; b: number; out: number }
  | WindowStep
  | DynamicViewStep
  | LibraryStep
  | HostStep;

/**
 * A dynamic_slice that is one contiguous block of its operand's buffer (a row
 * of a scan's stacked xs): no copy, the `view` slot is pointed into `src`'s
 * buffer at the offset the start indices give, read when the step runs and
 * clamped as dynamic_slice clamps (start k into [0, hi[k]], moving `stride[k]`
 * elements per unit). Its readers read `src` in place, so `src` stays alive
 * until the view's last reader (buffer_plan.ts's timeline).
 */
export interface DynamicViewStep {
  kind: "dynamic_view";
  src: number;
  view: number;
  starts: { at: { slot: number; offset: number }; dtype: "int32" | "uint32"; stride: number; hi: number }[];
}

/** A primitive the interpreter runs on the host, its params typed by its primitive. */
export type HostStep = {
  [P in FirstOrderPrimitive]: { kind: "fallback"; prim: P; params: ParamsOf<P>; inputs: number[]; outputs: number[]; inAvals: ShapedArray[]; outAvals: ShapedArray[] };
}[FirstOrderPrimitive];

export interface GemmEpilogue {
  ops: EpilogueOp[];
  operands: number[];
}

export type { ConvStepParams };

export interface LoweredProgram {
  slots: SlotInfo[];
  steps: Step[];
  /** Slot of each jaxpr output. */
  outputs: number[];
  /** Slots an output owns (fresh per run), vs outputs that alias inputs/consts. */
  freshOutputs: Set<number>;
  /** The slot given to each variable that was given one (aliases resolved); read by fusion_groups.ts. */
  varSlots: ReadonlyMap<Var, number>;
  /** The slot whose buffer each variable's value is a strided view of (a GEMM's transposed output, a reshape); read by fusion_groups.ts. */
  viewSlots: ReadonlyMap<Var, number>;
}

/** What a code generator has kernels for; the planner turns everything else into host steps. */
export interface PlanTarget {
  /** Window steps: gather, scatter(_add), dynamic_slice, dynamic_update_slice, pad, concatenate. */
  readonly windowKernels: boolean;
  /** Axis/window library calls: argmax/argmin, cumulative scans, sort, top_k, reduce_window, pooling gradients. */
  readonly libraryKernels: boolean;
  /** Fold elementwise consumers of a GEMM into its store (bias, scale, relu). */
  readonly gemmEpilogues: boolean;
  /** Compute a narrow C as Cᵀ = Bᵀ·Aᵀ (wasm: a narrow C wastes most of the 8-wide register tile). */
  readonly transposeNarrowGemm: boolean;
  /** Conv gradient kernels (conv_gradient steps) for the transposed convolutions of `grad`. */
  readonly convGradientKernels: boolean;
  /** Fold elementwise consumers of a forward conv into its store (per-channel bias, scale, relu). */
  readonly convEpilogues: boolean;
  /**
   * Which matrix decompositions the code generator has a kernel for (a library step); the others
   * run as host steps. Typed over every decomposition, so a new one must be placed on each target.
   */
  readonly decompositionKernels: { readonly [P in Decomposition]: boolean };
  /** Contiguous dynamic slices as dynamic_view steps (views at an offset read at run time) rather than copies; absent: copies. */
  readonly dynamicViews?: boolean;
}

/** The wasm backend's code generators cover every kind of step. */
export const WASM_TARGET: PlanTarget = {
  windowKernels: true, libraryKernels: true, gemmEpilogues: true, transposeNarrowGemm: true, convGradientKernels: true, convEpilogues: true,
  decompositionKernels: { cholesky: true, lu: true, qr: true, eigh: true, svd: true, triangular_solve: true },
  dynamicViews: true,
};

/** Bytes per element of a slot as the plan counts them (float16 is held widened to float32; bool is one byte in wasm). */
export function storageBytes(dtype: DType): number {
  return dtype === "float16" ? 4 : byteWidth(dtype);
}

export function slotShape(aval: ShapedArray): Pick<SlotInfo, "bytes" | "dtype" | "shape"> {
  return { bytes: aval.size * storageBytes(aval.dtype), dtype: aval.dtype, shape: aval.shape };
}
