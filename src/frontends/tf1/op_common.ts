// What every TF1 op file shares: TF's dtype constants, the `name` option
// (every TF1 op takes one), and the builders of one-input and two-input graph
// ops from a numpy function.

import "../../setup";
import type { DType } from "../../core/dtype";
import { opt, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import * as np from "../../numpy";
import { Tensor, makeOp, type TensorLike, type Value } from "./graph";

export const float32: DType = "float32";
export const float16: DType = "float16";
export const int32: DType = "int32";
export const uint32: DType = "uint32";
export const bool: DType = "bool";

export interface NameOpt {
  name?: string;
}
export const nameRules: OptionRules<NameOpt> = { name: opt.string };

// A graph value (a kernel input) as an array, for the numpy calls that need one.
export const toTracer = (v: Value): Tracer => np.asarray(v);

export type Bin = (x: TensorLike, y: TensorLike, name?: string) => Tensor;
export type Un = (x: TensorLike, name?: string) => Tensor;
export const binary =
  (opType: string, api: string, f: (a: Value, b: Value) => Tracer): Bin =>
  (x, y, name) =>
    makeOp(opType, [x, y], ([a, b]) => f(a, b), { name, api });
export const unary =
  (opType: string, api: string, f: (a: Value) => Tracer): Un =>
  (x, name) =>
    makeOp(opType, [x], ([a]) => f(a), { name, api });
