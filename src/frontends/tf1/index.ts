// tinyflow/tf1: the TF1 define-then-run front end. Build a graph of symbolic
// Tensors with TF1's snake_case functions (placeholder, Variable, matmul,
// reduce_mean, gradients, assign, train.GradientDescentOptimizer, …), then
// evaluate fetches with `new tf.Session().run(fetches, { feed_dict })`. The
// graph is lowered onto tinyflow's IR: each Session.run signature is traced
// once through `jit` and its gradients come from tinyflow's `vjp`.

/**
 * The TF1-style define-then-run front end: placeholders, Variables, `gradients`, `Session.run`.
 *
 * @module tinyflow/tf1
 */

import "../../setup";

export {
  Graph,
  Operation,
  RefVariable,
  Tensor,
  get_default_graph,
  reset_default_graph,
  set_random_seed,
  type Data,
  type StaticShape,
  type TensorLike,
  type VariableOptions,
} from "./graph";
export { float32, float16, int32, uint32, bool, type NameOpt } from "./op_common";
export * from "./state_ops";
export * from "./gradients";
export * from "./math_ops";
export * from "./array_ops";
export * from "./creation_ops";
export * from "./nn_ops";
export { Session, type FeedDict, type FeedValue, type Fetch, type Fetches, type FetchResult, type RunOptions, type SessionOptions } from "./session";
export { train, Optimizer, GradientDescentOptimizer, MomentumOptimizer, AdamOptimizer, type AdamOptions, type MinimizeOptions } from "./train";
export { InvalidArgumentError, FailedPreconditionError, ClosedSessionError } from "./errors";
export { TinyflowError, ShapeError, ArgumentError, DTypeError } from "../../core/errors";
export type { GradAndVar, ComputeGradientsOptions, ApplyGradientsOptions } from "./train";
export type { TensorInit } from "./graph";
