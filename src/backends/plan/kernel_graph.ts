// The kernel graph: what the backend-neutral planner (planner.ts) hands a
// code generator. A planned program is a list of steps over numbered slots;
// each step is one of the kinds below — a fused elementwise/reduction kernel
// (KernelSpec), a GEMM with a fused epilogue, a conv, a window copy (the
// indexing primitives), an axis/window library call, or a host step. The wasm
// backend compiles these to WebAssembly, the WebGPU backend to WGSL; neither
// decides what is fused.

import type { DType } from "../../core/dtype";
import type { Decomposition, ParamsOf } from "../../core/primitives";

export type KDType = "float32" | "int32" | "uint32" | "bool";

export type UnaryOp =
  | "neg" | "abs" | "sign" | "not" | "floor" | "ceil" | "round" | "nearest" | "trunc" | "is_finite"
  | "exp" | "log" | "log1p" | "expm1" | "tanh" | "logistic" | "erf" | "sin" | "cos" | "sqrt" | "rsqrt"
  | "convert" | "round_f16";
export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "rem" | "max" | "min" | "pow" | "and" | "or" | "xor"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "shift_left" | "shift_right_logical";
export type TernaryOp = "select" | "clamp";
export type ScalarOp = UnaryOp | BinaryOp | TernaryOp;

export type KernelNode =
  | { op: "input"; input: number }
  | { op: "const"; value: number; dtype: KDType }
  | { op: "integer_pow"; args: readonly [number]; y: number; dtype: KDType }
  | { op: ScalarOp; args: readonly number[]; dtype: KDType };

export type ReduceOp = "sum" | "prod" | "max" | "min" | "and" | "or";

export interface KernelSpec {
  shape: readonly number[];
  inputs: readonly { dtype: KDType; strides: readonly number[] }[];
  nodes: readonly KernelNode[];
  outputs: readonly { node: number; dtype: KDType }[];
  reduction?: { op: ReduceOp; axes: readonly number[] };
}


export interface WindowDim {
  size: number;
  /** Element strides of the source, the destination and the index buffers along this dim. */
  src: number;
  dst: number;
  idx: number;
}

export interface WindowStart {
  /** dtype of the index buffer this start is read from. */
  dtype: "int32" | "uint32";
  /** Element stride of the moved pointer per unit of this start index. */
  stride: number;
  /** The largest start keeping the window in bounds. */
  hi: number;
}

export interface WindowSpec {
  /** dtype of the source and destination elements. */
  dtype: KDType;
  dims: readonly WindowDim[];
  /** Number of leading dims that select the index vector; the starts are read after them. */
  at: number;
  starts: readonly WindowStart[];
  /** Which pointer the starts move: the source (gather, dynamic_slice) or the destination (scatter). */
  target: "src" | "dst";
  mode: "clip" | "fill";
  combine: "copy" | "add";
  /** For a gather in "fill" mode: the value of a window out of bounds. */
  fill?: number;
}


/** Most epilogue operands one GEMM carries (each is one pointer argument). */
export const MAX_EPILOGUE_OPERANDS = 8;

/**
 * x ∘ v for the accumulated value x and an operand v (`rsub` is v - x, `rdiv`
 * v / x), or `relu`: x <= 0 ? 0 : x (NaN stays NaN, -0 becomes +0, as `select_n(x <= 0, x, 0)`).
 */
export type EpilogueOpKind = "add" | "sub" | "rsub" | "mul" | "div" | "rdiv" | "max" | "min" | "relu";

/**
 * What one epilogue step combines x with: a constant, a vector of C's columns
 * (`col`: element j, e.g. a bias), a vector of C's rows (`row`: element i), or
 * nothing (`none`, for relu).
 */
export type EpilogueOperand = { kind: "const"; value: number } | { kind: "col" } | { kind: "row" } | { kind: "none" };

/** Whether an operand is a vector in memory (one pointer argument). */
export const isVectorOperand = (o: EpilogueOperand): o is { kind: "col" } | { kind: "row" } => o.kind === "col" || o.kind === "row";

export interface EpilogueOp {
  op: EpilogueOpKind;
  operand: EpilogueOperand;
}


/** The fold of a scan or window, by its code in wasm/src/elem.rs. */
export type Fold = "add" | "mul" | "max" | "min";

/**
 * One kernel call. Axis kernels see their operand as [outer, n, inner]; sort
 * and top_k work on contiguous rows of n; window kernels take the parameter
 * block of window.rs (rank, then per dim in, out, window, stride, pad_lo,
 * base dilation, window dilation).
 */
export type LibraryCall =
  | { op: "argreduce"; dtype: DType; isMin: boolean; outer: number; n: number; inner: number }
  | { op: "cumulative"; dtype: DType; fold: Fold; reverse: boolean; outer: number; n: number; inner: number }
  | { op: "sort"; dtypes: DType[]; numKeys: number; rows: number; n: number }
  | { op: "top_k"; dtype: DType; rows: number; n: number; k: number }
  | { op: "reduce_window"; dtype: DType; fold: Exclude<Fold, "mul">; window: number[] }
  | { op: "select_and_scatter_add"; dtype: DType; ge: boolean; window: number[]; operandSize: number }
  | { op: "select_and_gather_add"; dtype: DType; ge: boolean; window: number[] }
  /** A matrix decomposition over `batch` float32 matrices of m×n (triangular_solve: a n×n, b rows×cols). */
  | { op: "decomposition"; prim: Decomposition; batch: number; m: number; n: number; full: boolean; solve: ParamsOf<"triangular_solve"> | null; rows: number; cols: number };

/**
 * A library step reads `inputs` and writes `outputs` (slots, in the
 * primitive's operand/result order); `scratch` slots are workspace only this
 * step uses (sort: the keys, then the permutation).
 */
export interface LibraryStep {
  kind: "library";
  call: LibraryCall;
  inputs: number[];
  outputs: number[];
  scratch: number[];
}

