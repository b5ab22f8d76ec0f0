// TF1's op functions (snake_case, TF1 argument conventions) building graph
// nodes whose kernels are tinyflow numpy/lax/nn calls: math, reductions,
// shapes, creation and random ops, `tf.nn`, `placeholder`, `Variable`,
// `assign*`, `group`, initializers and `gradients`.

import "../../setup";
import type { Array as TfArray } from "../../core/array";
import { dtypeOfScalar, isDType, type DType } from "../../core/dtype";
import { ArgumentError, TinyflowError } from "../../core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import * as lax from "../../lax";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import * as random from "../../random";
import {
  Operation,
  RefVariable,
  Tensor,
  castTensor,
  convertInput,
  describe,
  get_default_graph,
  installTensorMethods,
  makeAssign,
  makeOp,
  toTensor,
  type Data,
  type Kernel,
  type TensorLike,
  type Value,
  type VariableOptions,
} from "./graph";

export const float32: DType = "float32";
export const float16: DType = "float16";
export const int32: DType = "int32";
export const uint32: DType = "uint32";
export const bool: DType = "bool";

export interface NameOpt {
  name?: string;
}
const nameRules: OptionRules<NameOpt> = { name: opt.string };

const t = (v: Value): Tracer => np.asarray(v);

// --- placeholders, constants, variables -------------------------------------------

export interface PlaceholderOptions extends NameOpt {
  /** Static shape; null dims (or no shape) are unknown. */
  shape?: readonly (number | null)[] | null;
}
const placeholderRules: OptionRules<PlaceholderOptions> = {
  shape: { expected: "null or a list of non-negative integers and nulls", accepts: (v) => v === null || (Array.isArray(v) && v.every((d) => d === null || (Number.isInteger(d) && d >= 0))) },
  name: opt.string,
};

/**
 * `tf.placeholder(dtype, shape?, name?)` or `tf.placeholder(dtype, { shape, name })` (TF1's keywords):
 * a value given at run time through feed_dict; null dims (or no shape) are unknown.
 */
export function placeholder(dtype: DType, shapeOrOpts?: readonly (number | null)[] | null | PlaceholderOptions, name?: string): Tensor {
  let shape: readonly (number | null)[] | null | undefined;
  if (isPlainObject(shapeOrOpts)) {
    if (name !== undefined) throw new ArgumentError(`tf.placeholder: name given twice, positionally and in the options; give it one way`);
    const o = checkOptions("tf.placeholder", shapeOrOpts as PlaceholderOptions, placeholderRules);
    shape = o.shape;
    name = o.name;
  } else {
    shape = shapeOrOpts as readonly (number | null)[] | null | undefined;
  }
  if (!isDType(dtype)) throw new ArgumentError(`tf.placeholder: unknown dtype ${String(dtype)}`);
  if (name !== undefined && typeof name !== "string") throw new ArgumentError(`tf.placeholder: name must be a string, got ${describe(name)}`);
  if (shape !== undefined && shape !== null) {
    if (!Array.isArray(shape) || shape.some((d) => d !== null && (!Number.isInteger(d) || d < 0))) {
      throw new ArgumentError(`tf.placeholder: shape must be an array of non-negative integers or null, got ${JSON.stringify(shape)}`);
    }
  }
  return new Tensor({ opType: "Placeholder", inputs: [], kernel: null, shape: shape === undefined || shape === null ? null : [...shape], dtype, name: name ?? "Placeholder" });
}

/** `tf.constant(value, dtype?, shape?)`. */
export function constant(value: Data, dtype?: DType | null, shape?: readonly number[] | null, name?: string): Tensor {
  // A constant is never weakly typed (np.array(2) alone would be): a bare number is a strong float32.
  let a: TfArray;
  try {
    a = np.array(value as never, { dtype: dtype ?? (typeof value === "number" ? "float32" : undefined) }) as TfArray;
  } catch (e) {
    if (e instanceof TinyflowError) e.message = `tf.constant: the value cannot become a tensor (${e.message})`;
    throw e;
  }
  if (dtype === undefined || dtype === null) {
    // np.array's number policy (JS numbers are float32 — TF1 would make integer literals int32;
    // Int32Array gives int32), narrowed to the dtypes TF1 infers for constants.
    if (a.dtype !== "bool" && a.dtype !== "int32" && a.dtype !== "float32") a = np.astype(a, "float32") as TfArray;
  }
  if (shape !== undefined && shape !== null) a = (a.size === 1 ? np.broadcastTo(np.reshape(a, []), shape) : np.reshape(a, shape)) as TfArray;
  return new Tensor({ opType: "Const", inputs: [], kernel: () => a, shape: [...a.shape], dtype: a.dtype, name: name ?? "Const", attrs: { value: a } });
}

interface VariableFn {
  (initialValue: TensorLike, opts?: VariableOptions): RefVariable;
  new (initialValue: TensorLike, opts?: VariableOptions): RefVariable;
}
/** `tf.Variable(initialValue, { name, trainable, dtype })`, with or without `new`. */
export const Variable = function Variable(initialValue: TensorLike, opts?: VariableOptions): RefVariable {
  return new RefVariable(initialValue, opts);
} as unknown as VariableFn;
Variable.prototype = RefVariable.prototype;
export type Variable = RefVariable;

export function assign(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("Assign", ref, value, checkOptions("tf.assign", opts, nameRules).name);
}
export function assign_add(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("AssignAdd", ref, value, checkOptions("tf.assign_add", opts, nameRules).name);
}
export function assign_sub(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("AssignSub", ref, value, checkOptions("tf.assign_sub", opts, nameRules).name);
}

/** `tf.group(...)`: one op that runs all of its inputs. Accepts the inputs spread or as one array. */
export function group(...inputs: (Tensor | Operation | readonly (Tensor | Operation)[])[]): Operation {
  const flat = inputs.flat() as (Tensor | Operation)[];
  for (const x of flat) if (!(x instanceof Tensor || x instanceof Operation)) throw new ArgumentError(`tf.group: expected Tensors or Operations, got ${describe(x)}`);
  return new Operation("NoOp", flat, "group_deps");
}

export function no_op(name?: string): Operation {
  return new Operation("NoOp", [], name);
}

export function global_variables(): RefVariable[] {
  return [...get_default_graph().variables];
}
export function trainable_variables(): RefVariable[] {
  return get_default_graph().trainableVariables;
}
export function variables_initializer(varList: readonly RefVariable[], name = "init"): Operation {
  if (!Array.isArray(varList)) throw new ArgumentError(`tf.variables_initializer: expected an array of variables, got ${typeof varList}`);
  return new Operation("NoOp", varList.map((v) => v.initializer), name);
}
/** Initialize every variable made so far (call it after building the model and the optimizer). */
export function global_variables_initializer(): Operation {
  return variables_initializer(global_variables());
}
/** TF ≤ 0.11's name of global_variables_initializer. */
export const initialize_all_variables = global_variables_initializer;
export const all_variables = global_variables;

// --- gradients -------------------------------------------------------------------------

export interface GradientsOptions extends NameOpt {
  /** Cotangents for ys (default: ones). */
  grad_ys?: TensorLike | readonly (TensorLike | null)[] | null;
}
// grad_ys is checked against ys where it is used.
const gradientsRules: OptionRules<GradientsOptions> = { grad_ys: opt.any, name: opt.string };

/**
 * `tf.gradients(ys, xs, grad_ys?)`: symbolic d(sum of ys)/d x for each x
 * (Variables or any Tensors). An x that ys do not depend on gets zeros (TF gives None).
 */
export function gradients(ys: Tensor | readonly Tensor[], xs: Tensor | readonly Tensor[], grad_ys?: GradientsOptions["grad_ys"] | GradientsOptions): Tensor[] {
  let gy: GradientsOptions["grad_ys"] = grad_ys as GradientsOptions["grad_ys"];
  let name: string | undefined;
  // Data is never a plain object, so one is the options form.
  if (isPlainObject(grad_ys)) {
    const o = checkOptions("tf.gradients", grad_ys as GradientsOptions, gradientsRules);
    gy = o.grad_ys;
    name = o.name;
  }
  const yList = (Array.isArray(ys) ? ys : [ys]) as Tensor[];
  const xList = (Array.isArray(xs) ? xs : [xs]) as Tensor[];
  for (const y of yList) if (!(y instanceof Tensor)) throw new ArgumentError(`tf.gradients: ys must be Tensors, got ${describe(y)}`);
  for (const x of xList) if (!(x instanceof Tensor)) throw new ArgumentError(`tf.gradients: xs must be Tensors or Variables, got ${describe(x)}`);
  for (const x of xList) {
    if (x.dtype !== "float32" && x.dtype !== "float16") throw new ArgumentError(`tf.gradients: x '${x.name}' has dtype ${x.dtype}; gradients need floating-point xs`);
  }
  let gyList: (Tensor | null)[];
  if (gy === undefined || gy === null) gyList = yList.map(() => null);
  else {
    const isList = Array.isArray(gy) && gy.length === yList.length && gy.every((g) => g === null || g instanceof Tensor);
    if (!isList && yList.length !== 1) throw new ArgumentError(`tf.gradients: grad_ys must be a list with one entry (Tensor or null) per y (${yList.length})`);
    const raw = (isList ? gy : [gy]) as (TensorLike | null)[];
    gyList = raw.map((g) => (g === null ? null : toTensor(g)));
  }
  const unique = [...new Set(xList)];
  const node = new Tensor({
    opType: "Gradients",
    inputs: [...yList, ...unique, ...gyList.filter((g): g is Tensor => g !== null)],
    kernel: null,
    shape: [],
    dtype: "float32",
    name: name ?? "gradients",
    attrs: { ys: yList, xs: unique, grad_ys: gyList },
  });
  return xList.map(
    (x) => new Tensor({ opType: "GradientsOutput", inputs: [node], kernel: null, shape: x.shape, dtype: x.dtype, name: `${node.opName}/${x.opName}_grad`, attrs: { index: unique.indexOf(x) } }),
  );
}

export function stop_gradient(x: TensorLike, name?: string): Tensor {
  return makeOp("StopGradient", [x], ([a]) => lax.stopGradient(a), { api: "stop_gradient", name });
}

// --- elementwise math --------------------------------------------------------------------

type Bin = (x: TensorLike, y: TensorLike, name?: string) => Tensor;
type Un = (x: TensorLike, name?: string) => Tensor;
const binary =
  (opType: string, api: string, f: (a: Value, b: Value) => Tracer): Bin =>
  (x, y, name) =>
    makeOp(opType, [x, y], ([a, b]) => f(a, b), { name, api });
const unary =
  (opType: string, api: string, f: (a: Value) => Tracer): Un =>
  (x, name) =>
    makeOp(opType, [x], ([a]) => f(a), { name, api });

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
export const identity = unary("Identity", "identity", (a) => t(a));

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
  return makeOp("MatMul", [a, b], ([x, y]) => np.matmul(opts.transpose_a ? swapLast(t(x)) : x, opts.transpose_b ? swapLast(t(y)) : y), { api: "matmul", name: opts.name });
}

/** `tf.add_n(inputs)`: the sum of a list of tensors. */
export function add_n(inputs: readonly TensorLike[], name?: string): Tensor {
  if (!Array.isArray(inputs)) throw new ArgumentError(`tf.add_n: expected an array of tensors, got ${typeof inputs}`);
  if (inputs.length === 0) throw new ArgumentError("tf.add_n: needs at least one input");
  return makeOp("AddN", inputs, (xs) => xs.slice(1).reduce<Tracer>((acc, x) => np.add(acc, x), t(xs[0])), { api: "add_n", name });
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

// --- shapes -------------------------------------------------------------------------------

export function reshape(x: TensorLike, shape: readonly number[], name?: string): Tensor {
  return makeOp("Reshape", [x], ([v]) => np.reshape(v, shape), { api: "reshape", name });
}
export function transpose(x: TensorLike, perm?: readonly number[] | null, name?: string): Tensor {
  return makeOp("Transpose", [x], ([v]) => np.transpose(v, perm ?? null), { api: "transpose", name });
}
/** `tf.concat(values, axis)` (TF ≥ 1.0 argument order). */
export function concat(values: readonly TensorLike[], axis: number, name?: string): Tensor {
  if (!Array.isArray(values)) throw new ArgumentError("tf.concat: values must be an array of tensors");
  return makeOp("ConcatV2", values, (vs) => np.concatenate(vs.map(t), axis), { api: "concat", name });
}
export function stack(values: readonly TensorLike[], axis = 0, name?: string): Tensor {
  if (!Array.isArray(values)) throw new ArgumentError(`tf.stack: expected an array of tensors, got ${typeof values}`);
  return makeOp("Pack", values, (vs) => np.stack(vs.map(t), axis), { api: "stack", name });
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

// --- creation and random ops -------------------------------------------------------------

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

// --- tf.nn ------------------------------------------------------------------------------------

export interface SoftmaxOptions extends NameOpt {
  axis?: number;
  /** TF1's older name of axis. */
  dim?: number;
}
const softmaxRules: OptionRules<SoftmaxOptions> = { axis: opt.integer, dim: opt.integer, name: opt.string };
type AxisArg = number | SoftmaxOptions | undefined;

/** The axis and name of `softmax(logits, axis, name)` / `softmax(logits, { axis, name })`. */
function softmaxArgs(where: string, a: AxisArg, name: string | undefined): { axis: number; name: string | undefined } {
  if (a === undefined || typeof a === "number") return { axis: a ?? -1, name };
  if (!isPlainObject(a)) throw new ArgumentError(`tf.nn.${where}: expected an axis or an options object { axis, dim, name }, got ${describe(a)}`);
  const o = checkOptions(`tf.nn.${where}`, a as SoftmaxOptions, softmaxRules);
  if (o.axis !== undefined && o.dim !== undefined) throw new ArgumentError(`tf.nn.${where}: give axis or dim, not both`);
  return { axis: o.axis ?? o.dim ?? -1, name: name ?? o.name };
}

export interface CrossEntropyArgs {
  labels: TensorLike;
  logits: TensorLike;
  name?: string;
  axis?: number;
  dim?: number;
}

// labels and logits are inputs, converted (and checked) by makeOp.
const xentRules: OptionRules<CrossEntropyArgs> = { labels: opt.any, logits: opt.any, name: opt.string, axis: opt.integer, dim: opt.integer };
/** The sparse and sigmoid losses have no class axis to choose. */
const xentNoAxisRules: OptionRules<Omit<CrossEntropyArgs, "axis" | "dim">> = { labels: opt.any, logits: opt.any, name: opt.string };

function xentArgs(where: string, a: TensorLike | CrossEntropyArgs, b?: TensorLike, withAxis = true): CrossEntropyArgs {
  if (b !== undefined) return { labels: a as TensorLike, logits: b };
  if (isPlainObject(a)) {
    const o: CrossEntropyArgs = withAxis
      ? checkOptions(`tf.nn.${where}`, a as CrossEntropyArgs, xentRules)
      : checkOptions<Omit<CrossEntropyArgs, "axis" | "dim">>(`tf.nn.${where}`, a as CrossEntropyArgs, xentNoAxisRules);
    if (o.labels === undefined || o.logits === undefined) throw new ArgumentError(`tf.nn.${where}: the options need both labels and logits`);
    if (o.axis !== undefined && o.dim !== undefined) throw new ArgumentError(`tf.nn.${where}: give axis or dim, not both`);
    return o;
  }
  throw new ArgumentError(`tf.nn.${where}: call it as (labels, logits) or ({ labels, logits })`);
}

export type ConvPadding = "SAME" | "VALID";

export interface DropoutOptions extends NameOpt {
  /** Op-level seed: with the graph seed it fixes the op's random stream. */
  seed?: number;
}
const dropoutRules: OptionRules<DropoutOptions> = { seed: opt.integer, name: opt.string };

function poolArg(where: string, v: readonly number[] | number, n: number): number[] {
  const a = typeof v === "number" ? [1, ...Array(n).fill(v), 1] : [...v];
  if (a.length !== n + 2 || a[0] !== 1 || a[a.length - 1] !== 1) {
    throw new ArgumentError(`tf.nn.${where}: expected ${n + 2} values [1, …, 1] (NHWC), got ${JSON.stringify(v)}`);
  }
  return a.slice(1, -1);
}

export const nn = {
  relu,
  sigmoid,
  tanh,
  relu6: unary("Relu6", "nn.relu6", tnn.relu6),
  elu: unary("Elu", "nn.elu", (a) => tnn.elu(a)),
  softplus: unary("Softplus", "nn.softplus", tnn.softplus),
  softsign: unary("Softsign", "nn.softsign", tnn.softSign),
  /** `tf.nn.softmax(logits, axis = -1)`. */
  softmax(logits: TensorLike, axis?: AxisArg, name?: string): Tensor {
    const a = softmaxArgs("softmax", axis, name);
    return makeOp("Softmax", [logits], ([v]) => tnn.softmax(v, a.axis), { name: a.name });
  },
  log_softmax(logits: TensorLike, axis?: AxisArg, name?: string): Tensor {
    const a = softmaxArgs("log_softmax", axis, name);
    return makeOp("LogSoftmax", [logits], ([v]) => tnn.logSoftmax(v, a.axis), { name: a.name });
  },
  /**
   * Per-example -Σ labels·log softmax(logits), over the last axis. Call as
   * (labels, logits) or ({ labels, logits }). As in TF1 (before _v2), no gradient flows into labels.
   */
  softmax_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("softmax_cross_entropy_with_logits", labels, logits);
    const ax = a.axis ?? a.dim ?? -1;
    return makeOp(
      "SoftmaxCrossEntropyWithLogits",
      [a.labels, a.logits],
      ([y, l]) => np.negative(np.sum(np.multiply(lax.stopGradient(y), tnn.logSoftmax(l, ax)), ax)),
      { name: a.name },
    );
  },
  softmax_cross_entropy_with_logits_v2(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("softmax_cross_entropy_with_logits_v2", labels, logits);
    const ax = a.axis ?? a.dim ?? -1;
    return makeOp("SoftmaxCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => np.negative(np.sum(np.multiply(y, tnn.logSoftmax(l, ax)), ax)), { name: a.name });
  },
  /** Integer class labels [batch] and logits [batch, classes]. */
  sparse_softmax_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("sparse_softmax_cross_entropy_with_logits", labels, logits, false);
    return makeOp("SparseSoftmaxCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => tnn.softmaxCrossEntropyWithIntegerLabels(l, y), { name: a.name });
  },
  sigmoid_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("sigmoid_cross_entropy_with_logits", labels, logits, false);
    return makeOp("SigmoidCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => tnn.sigmoidBinaryCrossEntropy(l, y), { name: a.name });
  },
  /** sum(t²) / 2. */
  l2_loss(x: TensorLike, name?: string): Tensor {
    return makeOp("L2Loss", [x], ([v]) => np.multiply(np.sum(np.square(v)), 0.5), { name });
  },
  bias_add(value: TensorLike, bias: TensorLike, name?: string): Tensor {
    return makeOp("BiasAdd", [value, bias], ([v, b]) => np.add(v, b), { name });
  },
  /** Inverted dropout: keeps each element with probability keep_prob (a number or a Tensor, e.g. a placeholder) and scales by 1/keep_prob. */
  dropout(x: TensorLike, keep_prob: TensorLike, options?: DropoutOptions): Tensor {
    const opts = checkOptions("tf.nn.dropout", options, dropoutRules);
    let node: Tensor | null = null;
    node = makeOp(
      "Dropout",
      [x, keep_prob],
      ([v, p], ctx) => {
        const xv = t(v);
        const keep = np.less(random.uniform(ctx.randomKey(opts.seed ?? node?.id ?? 0), xv.shape, { dtype: xv.dtype }), p);
        return np.where(keep, np.divide(xv, p), 0);
      },
      { name: opts.name, attrs: { random: true } },
    );
    return node;
  },
  /** `tf.nn.conv2d(input NHWC, filter HWIO, strides [1, sh, sw, 1], padding)`. */
  conv2d(input: TensorLike, filter: TensorLike, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const st = poolArg("conv2d", strides, 2);
    return makeOp("Conv2D", [input, filter], ([x, w]) => lax.convGeneralDilated(x, w, st, padding, { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }), { name });
  },
  /** `tf.nn.max_pool(value NHWC, ksize [1, kh, kw, 1], strides [1, sh, sw, 1], padding)`. */
  max_pool(value: TensorLike, ksize: readonly number[] | number, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const k = poolArg("max_pool", ksize, 2);
    const st = poolArg("max_pool", strides, 2);
    return makeOp("MaxPool", [value], ([x]) => lax.reduceWindow(x, -Infinity, "max", [1, ...k, 1], [1, ...st, 1], padding), { name });
  },
  avg_pool(value: TensorLike, ksize: readonly number[] | number, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const k = poolArg("avg_pool", ksize, 2);
    const st = poolArg("avg_pool", strides, 2);
    return makeOp(
      "AvgPool",
      [value],
      ([x]) => {
        const xv = t(x);
        const sums = lax.reduceWindow(xv, 0, "sum", [1, ...k, 1], [1, ...st, 1], padding);
        // TF averages over the window's cells inside the input (SAME padding excluded).
        const counts = lax.reduceWindow(np.onesLike(xv), 0, "sum", [1, ...k, 1], [1, ...st, 1], padding);
        return np.divide(sums, counts);
      },
      { name },
    );
  },
};

installTensorMethods({ add, subtract, multiply, divide, pow, negative, matmul, less, less_equal, greater, greater_equal });

