// TF1's math ops: elementwise arithmetic, comparisons and unary functions,
// `cast`, `where`, `matmul`, `add_n`, and the reductions (`reduce_*`,
// `argmax`/`argmin`); installs the Tensor methods that stand for operators.

import "../../setup";
import type { DType } from "../../core/dtype";
import { ArgumentError } from "../../core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import { Tensor, castTensor, convertInput, describe, installTensorMethods, makeOp, toTensor, type TensorLike, type Value } from "./graph";
import { binary, toTracer, unary, type NameOpt } from "./op_common";

export const add = binary("Add", "add", np.add);
export const subtract = binary("Sub", "subtract", np.subtract);
export const multiply = binary("Mul", "multiply", np.multiply);
/** True division (TF's tf.divide / tf.truediv). */
export const divide = binary("RealDiv", "divide", np.divide);
export const truediv = divide;
export const realdiv = divide;
export const floordiv = binary("FloorDiv", "floordiv", np.floorDivide);
export const mod = binary("FloorMod", "mod", np.remainder);
export const pow = binary("Pow", "pow", np.power);
export const maximum = binary("Maximum", "maximum", np.maximum);
export const minimum = binary("Minimum", "minimum", np.minimum);
export const squared_difference = binary("SquaredDifference", "squared_difference", (a, b) => np.square(np.subtract(a, b)));
/** TF < 1.0 names. */
export const mul = multiply;
export const sub = subtract;
export const neg = unary("Neg", "neg", np.negative);

export const equal = binary("Equal", "equal", np.equal);
export const not_equal = binary("NotEqual", "not_equal", np.notEqual);
export const less = binary("Less", "less", np.less);
export const less_equal = binary("LessEqual", "less_equal", np.lessEqual);
export const greater = binary("Greater", "greater", np.greater);
export const greater_equal = binary("GreaterEqual", "greater_equal", np.greaterEqual);
export const logical_and = binary("LogicalAnd", "logical_and", np.logicalAnd);
export const logical_or = binary("LogicalOr", "logical_or", np.logicalOr);
export const logical_not = unary("LogicalNot", "logical_not", np.logicalNot);

export const negative = unary("Neg", "negative", np.negative);
export const exp = unary("Exp", "exp", np.exp);
export const log = unary("Log", "log", np.log);
export const log1p = unary("Log1p", "log1p", np.log1p);
export const sqrt = unary("Sqrt", "sqrt", np.sqrt);
export const rsqrt = unary("Rsqrt", "rsqrt", np.rsqrt);
export const square = unary("Square", "square", np.square);
export const abs = unary("Abs", "abs", np.abs);
export const sign = unary("Sign", "sign", np.sign);
export const floor = unary("Floor", "floor", np.floor);
export const ceil = unary("Ceil", "ceil", np.ceil);
export const round = unary("Round", "round", (a) => np.round(a));
export const sin = unary("Sin", "sin", np.sin);
export const cos = unary("Cos", "cos", np.cos);
export const tanh = unary("Tanh", "tanh", np.tanh);
export const sigmoid = unary("Sigmoid", "sigmoid", tnn.sigmoid);
export const relu = unary("Relu", "relu", tnn.relu);
export const reciprocal = unary("Reciprocal", "reciprocal", np.reciprocal);
export const identity = unary("Identity", "identity", (a) => toTracer(a));

export function clip_by_value(x: TensorLike, clip_value_min: TensorLike, clip_value_max: TensorLike, name?: string): Tensor {
  return makeOp("ClipByValue", [x, clip_value_min, clip_value_max], ([a, lo, hi]) => np.clip(a, lo, hi), { api: "clip_by_value", name });
}

/** `tf.cast(x, dtype)`. */
export function cast(x: TensorLike, dtype: DType, name?: string): Tensor {
  return castAs("cast", x, dtype, name);
}
export const to_float = (x: TensorLike) => castAs("to_float", x, "float32");
export const to_int32 = (x: TensorLike) => castAs("to_int32", x, "int32");

function castAs(api: string, x: TensorLike, dtype: DType, name?: string): Tensor {
  const c = castTensor(convertInput(api, 0, x), dtype);
  return name === undefined ? c : makeOp("Cast", [x], ([a]) => np.astype(a, dtype), { api, name });
}

export function where(condition: TensorLike, x: TensorLike, y: TensorLike, name?: string): Tensor {
  return makeOp("Select", [condition, x, y], ([c, a, b]) => np.where(c, a, b), { api: "where", name });
}

export interface MatmulOptions extends NameOpt {
  transpose_a?: boolean;
  transpose_b?: boolean;
}
const matmulRules: OptionRules<MatmulOptions> = { transpose_a: opt.boolean, transpose_b: opt.boolean, name: opt.string };
const swapLast = (x: Tracer) => (x.ndim < 2 ? x : np.swapaxes(x, -1, -2));
/** `tf.matmul(a, b, { transpose_a, transpose_b })`. */
export function matmul(a: TensorLike, b: TensorLike, options?: MatmulOptions): Tensor {
  const opts = checkOptions("tf.matmul", options, matmulRules);
  return makeOp("MatMul", [a, b], ([x, y]) => np.matmul(opts.transpose_a ? swapLast(toTracer(x)) : x, opts.transpose_b ? swapLast(toTracer(y)) : y), { api: "matmul", name: opts.name });
}

/** `tf.add_n(inputs)`: the sum of a list of tensors. */
export function add_n(inputs: readonly TensorLike[], name?: string): Tensor {
  if (!Array.isArray(inputs)) throw new ArgumentError(`tf.add_n: expected an array of tensors, got ${typeof inputs}`);
  if (inputs.length === 0) throw new ArgumentError("tf.add_n: needs at least one input");
  return makeOp("AddN", inputs, (xs) => xs.slice(1).reduce<Tracer>((acc, x) => np.add(acc, x), toTracer(xs[0])), { api: "add_n", name });
}

// --- reductions ---------------------------------------------------------------------------

export interface ReduceOptions extends NameOpt {
  axis?: number | readonly number[] | null;
  /** TF1's older name of axis. */
  reduction_indices?: number | readonly number[] | null;
  keepdims?: boolean;
  /** TF1's older name of keepdims. */
  keep_dims?: boolean;
}

const reduceRules: OptionRules<ReduceOptions> = { axis: opt.axis, reduction_indices: opt.axis, keepdims: opt.boolean, keep_dims: opt.boolean, name: opt.string };

type Reducer = (x: TensorLike, axis?: number | readonly number[] | null | ReduceOptions, keepdims?: boolean, name?: string) => Tensor;

function reduceArgs(where: string, axisOrOpts: number | readonly number[] | null | ReduceOptions | undefined, keepdims?: boolean, name?: string) {
  let axis: number | readonly number[] | null = null;
  let keep = keepdims ?? false;
  let nm = name;
  if (typeof axisOrOpts === "number" || Array.isArray(axisOrOpts)) axis = axisOrOpts as number | number[];
  else if (axisOrOpts !== null && axisOrOpts !== undefined) {
    if (!isPlainObject(axisOrOpts)) throw new ArgumentError(`tf.${where}: expected an axis or an options object, got ${describe(axisOrOpts)}`);
    const o = checkOptions(`tf.${where}`, axisOrOpts as ReduceOptions, reduceRules);
    if (o.axis !== undefined && o.axis !== null && o.reduction_indices !== undefined && o.reduction_indices !== null) {
      throw new ArgumentError(`tf.${where}: give axis or reduction_indices, not both`);
    }
    if (o.keepdims !== undefined && o.keep_dims !== undefined) throw new ArgumentError(`tf.${where}: give keepdims or keep_dims, not both`);
    axis = o.axis ?? o.reduction_indices ?? null;
    keep = o.keepdims ?? o.keep_dims ?? keep;
    nm = o.name ?? nm;
  }
  return { axis: axis === null ? null : typeof axis === "number" ? axis : [...axis], keep, name: nm };
}

const reducer =
  (opType: string, where: string, f: (x: Value, axis: number | number[] | null, keep: boolean) => Tracer): Reducer =>
  (x, axisOrOpts, keepdims, name) => {
    const a = reduceArgs(where, axisOrOpts, keepdims, name);
    return makeOp(opType, [x], ([v]) => f(v, a.axis, a.keep), { name: a.name, api: where });
  };

export const reduce_sum = reducer("Sum", "reduce_sum", (x, axis, keepdims) => np.sum(x, axis, { keepdims }));
export const reduce_mean = reducer("Mean", "reduce_mean", (x, axis, keepdims) => np.mean(x, axis, { keepdims }));
export const reduce_max = reducer("Max", "reduce_max", (x, axis, keepdims) => np.max(x, axis, { keepdims }));
export const reduce_min = reducer("Min", "reduce_min", (x, axis, keepdims) => np.min(x, axis, { keepdims }));
export const reduce_prod = reducer("Prod", "reduce_prod", (x, axis, keepdims) => np.prod(x, axis, { keepdims }));
export const reduce_any = reducer("Any", "reduce_any", (x, axis, keepdims) => np.any(x, axis, { keepdims }));
export const reduce_all = reducer("All", "reduce_all", (x, axis, keepdims) => np.all(x, axis, { keepdims }));
export const reduce_logsumexp = reducer("LogSumExp", "reduce_logsumexp", (x, axis, keepdims) => np.logsumexp(x, axis, { keepdims }));

export interface ArgOptions extends NameOpt {
  axis?: number;
  /** TF1's older name of axis. */
  dimension?: number;
}
const argRules: OptionRules<ArgOptions> = { axis: opt.integer, dimension: opt.integer, name: opt.string };
const argReducer = (opType: string, where: string, f: typeof np.argmax) => (x: TensorLike, axis?: number | ArgOptions | null, name?: string): Tensor => {
  let ax = 0;
  let nm = name;
  if (typeof axis === "number") ax = axis;
  else if (axis !== null && axis !== undefined) {
    if (!isPlainObject(axis)) throw new ArgumentError(`tf.${where}: expected an axis or an options object { axis, dimension, name }, got ${describe(axis)}`);
    const o = checkOptions(`tf.${where}`, axis as ArgOptions, argRules);
    if (o.axis !== undefined && o.dimension !== undefined) throw new ArgumentError(`tf.${where}: give axis or dimension, not both`);
    ax = o.axis ?? o.dimension ?? 0;
    nm = o.name ?? nm;
  }
  return makeOp(opType, [x], ([v]) => f(v, ax), { name: nm, api: where });
};
/** `tf.argmax(x, axis = 0)` (int32 indices; TF's default output is int64). */
export const argmax = argReducer("ArgMax", "argmax", np.argmax);
export const argmin = argReducer("ArgMin", "argmin", np.argmin);

installTensorMethods({ add, subtract, multiply, divide, pow, negative, matmul, less, less_equal, greater, greater_equal });
