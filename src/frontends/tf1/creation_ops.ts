// TF1's ops that make tensors from a static shape: zeros/ones/fill, the
// *_like ops, range, and the random ops (seeded per op and per graph).

import "../../setup";
import { dtypeOfScalar, type DType } from "../../core/dtype";
import { ArgumentError } from "../../core/errors";
import { checkOptions, opt, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import * as np from "../../numpy";
import * as random from "../../random";
import { Tensor, describe, makeOp, type Kernel, type TensorLike } from "./graph";
import type { NameOpt } from "./op_common";

function staticShapeArg(where: string, shape: readonly number[] | number): number[] {
  if (typeof shape !== "number" && !Array.isArray(shape)) throw new ArgumentError(`tf.${where}: shape must be an array of non-negative integers, got ${typeof shape}`);
  const s = typeof shape === "number" ? [shape] : [...shape];
  if (s.some((d) => !Number.isInteger(d) || d < 0)) throw new ArgumentError(`tf.${where}: shape must be non-negative integers, got ${JSON.stringify(shape)}`);
  return s;
}

export function zeros(shape: readonly number[] | number, dtype: DType = "float32", name?: string): Tensor {
  const s = staticShapeArg("zeros", shape);
  return makeOp("Zeros", [], () => np.zeros(s, dtype), { api: "zeros", name, shape: s, dtype });
}
export function ones(shape: readonly number[] | number, dtype: DType = "float32", name?: string): Tensor {
  const s = staticShapeArg("ones", shape);
  return makeOp("Ones", [], () => np.ones(s, dtype), { api: "ones", name, shape: s, dtype });
}
/** `tf.fill(dims, value, dtype?)`: a JS number fills float32 unless a dtype is given (tinyflow's number policy, not TF's int32). */
export function fill(dims: readonly number[], value: number, dtype: DType = dtypeOfScalar(value).dtype, name?: string): Tensor {
  const s = staticShapeArg("fill", dims);
  return makeOp("Fill", [], () => np.full(s, value, dtype), { api: "fill", name, shape: s, dtype });
}
export function zeros_like(x: TensorLike, dtype?: DType, name?: string): Tensor {
  return makeOp("ZerosLike", [x], ([v]) => np.zerosLike(v, dtype), { api: "zeros_like", name });
}
export function ones_like(x: TensorLike, dtype?: DType, name?: string): Tensor {
  return makeOp("OnesLike", [x], ([v]) => np.onesLike(v, dtype), { api: "ones_like", name });
}
export function range(start: number, limit?: number, delta = 1, dtype?: DType): Tensor {
  for (const [what, v] of [["start", start], ["limit", limit ?? 0], ["delta", delta]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`tf.range: ${what} must be a finite number, got ${describe(v)}`);
  }
  const [lo, hi] = limit === undefined ? [0, start] : [start, limit];
  const d = dtype ?? "float32"; // np.arange's default: JS numbers are float32 (TF would infer int32 from Python ints)
  return makeOp("Range", [], () => np.arange(lo, hi, delta, { dtype: d }));
}

export interface RandomOptions extends NameOpt {
  mean?: number;
  stddev?: number;
  dtype?: DType;
  /** Op-level seed: with the graph seed it fixes the op's random stream. */
  seed?: number;
}
export interface UniformOptions extends NameOpt {
  minval?: number;
  maxval?: number;
  dtype?: DType;
  seed?: number;
}
const randomRules: OptionRules<RandomOptions> = { mean: opt.number, stddev: opt.nonNegative, dtype: opt.dtype, seed: opt.integer, name: opt.string };
const uniformRules: OptionRules<UniformOptions> = { minval: opt.number, maxval: opt.number, dtype: opt.dtype, seed: opt.integer, name: opt.string };

function randomOp(opType: string, where: string, shape: readonly number[] | number, dtype: DType, seed: number | undefined, name: string | undefined, draw: (key: Tracer, s: number[]) => Tracer): Tensor {
  const s = staticShapeArg(where, shape);
  let node: Tensor | null = null;
  const kernel: Kernel = (_ins, ctx) => draw(ctx.randomKey(seed ?? node!.id), s);
  node = makeOp(opType, [], kernel, { name, shape: s, dtype, attrs: { random: true } });
  return node;
}

/** `tf.random_normal(shape, { mean, stddev, dtype, seed })`: fresh values on every run. */
export function random_normal(shape: readonly number[] | number, options?: RandomOptions): Tensor {
  const opts = checkOptions("tf.random_normal", options, randomRules);
  const dtype = opts.dtype ?? "float32";
  return randomOp("RandomStandardNormal", "random_normal", shape, dtype, opts.seed, opts.name, (k, s) =>
    np.add(np.multiply(random.normal(k, s, { dtype }), opts.stddev ?? 1), opts.mean ?? 0),
  );
}
/** `tf.truncated_normal(shape, { mean, stddev, dtype, seed })`: normal values redrawn beyond two stddevs. */
export function truncated_normal(shape: readonly number[] | number, options?: RandomOptions): Tensor {
  const opts = checkOptions("tf.truncated_normal", options, randomRules);
  const dtype = opts.dtype ?? "float32";
  return randomOp("TruncatedNormal", "truncated_normal", shape, dtype, opts.seed, opts.name, (k, s) =>
    np.add(np.multiply(random.truncatedNormal(k, -2, 2, s, { dtype }), opts.stddev ?? 1), opts.mean ?? 0),
  );
}
/** `tf.random_uniform(shape, { minval, maxval, dtype, seed })`. */
export function random_uniform(shape: readonly number[] | number, options?: UniformOptions): Tensor {
  const opts = checkOptions("tf.random_uniform", options, uniformRules);
  const dtype = opts.dtype ?? "float32";
  return randomOp("RandomUniform", "random_uniform", shape, dtype, opts.seed, opts.name, (k, s) =>
    random.uniform(k, s, { dtype, minval: opts.minval ?? 0, maxval: opts.maxval ?? 1 }),
  );
}
