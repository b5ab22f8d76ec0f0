// TF1's shape ops: reshape, transpose, concat/stack, expand_dims/squeeze,
// tile, one_hot.

import "../../setup";
import type { DType } from "../../core/dtype";
import { ArgumentError } from "../../core/errors";
import { checkOptions, opt, type OptionRules } from "../../core/options";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import { Tensor, makeOp, type TensorLike } from "./graph";
import { toTracer, type NameOpt } from "./op_common";

export function reshape(x: TensorLike, shape: readonly number[], name?: string): Tensor {
  return makeOp("Reshape", [x], ([v]) => np.reshape(v, shape), { api: "reshape", name });
}
export function transpose(x: TensorLike, perm?: readonly number[] | null, name?: string): Tensor {
  return makeOp("Transpose", [x], ([v]) => np.transpose(v, perm ?? null), { api: "transpose", name });
}
/** `tf.concat(values, axis)` (TF ≥ 1.0 argument order). */
export function concat(values: readonly TensorLike[], axis: number, name?: string): Tensor {
  if (!Array.isArray(values)) throw new ArgumentError("tf.concat: values must be an array of tensors");
  return makeOp("ConcatV2", values, (vs) => np.concatenate(vs.map(toTracer), axis), { api: "concat", name });
}
export function stack(values: readonly TensorLike[], axis = 0, name?: string): Tensor {
  if (!Array.isArray(values)) throw new ArgumentError(`tf.stack: expected an array of tensors, got ${typeof values}`);
  return makeOp("Pack", values, (vs) => np.stack(vs.map(toTracer), axis), { api: "stack", name });
}
export function expand_dims(x: TensorLike, axis: number, name?: string): Tensor {
  return makeOp("ExpandDims", [x], ([v]) => np.expandDims(v, axis), { api: "expand_dims", name });
}
export function squeeze(x: TensorLike, axis?: number | readonly number[] | null, name?: string): Tensor {
  return makeOp("Squeeze", [x], ([v]) => (axis === undefined || axis === null ? np.squeeze(v) : np.squeeze(v, axis)), { api: "squeeze", name });
}
export function tile(x: TensorLike, multiples: readonly number[], name?: string): Tensor {
  return makeOp("Tile", [x], ([v]) => np.tile(v, multiples), { api: "tile", name });
}
export interface OneHotOptions extends NameOpt {
  on_value?: number;
  off_value?: number;
  axis?: number;
  dtype?: DType;
}
const oneHotRules: OptionRules<OneHotOptions> = { on_value: opt.number, off_value: opt.number, axis: opt.integer, dtype: opt.dtype, name: opt.string };
export function one_hot(indices: TensorLike, depth: number, options?: OneHotOptions): Tensor {
  const opts = checkOptions("tf.one_hot", options, oneHotRules);
  return makeOp(
    "OneHot",
    [indices],
    ([v]) => {
      const oh = tnn.oneHot(v, depth, { dtype: opts.dtype ?? "float32", axis: opts.axis ?? -1 });
      const on = opts.on_value ?? 1;
      const off = opts.off_value ?? 0;
      return on === 1 && off === 0 ? oh : np.add(np.multiply(oh, on - off), off);
    },
    { api: "one_hot", name: opts.name },
  );
}
