// The TF1 graph: symbolic Tensors (an op type, input Tensors, a static shape
// whose unknown dims are null, a dtype and a unique name), Operations (nodes
// run only for their effects, such as `group` and initializers), Variables
// (graph nodes whose state lives in a Session) and the default Graph that
// names them and collects the variables. A Tensor carries a kernel written
// with tinyflow's numpy: the Session evaluates kernels inside one `jit`
// trace, so the whole subgraph becomes one jaxpr.

import "../../setup";
import { Array as TfArray, isArray } from "../../core/array";
import { ShapedArray } from "../../core/aval";
import { dtypeOfScalar, isDType, type DType } from "../../core/dtype";
import { ArgumentError, ShapeError, TinyflowError } from "../../core/errors";
import { checkOptions, opt, type OptionRules } from "../../core/options";
import { Tracer } from "../../core/trace";
import { traceFlatToJaxpr } from "../../../transforms/jaxpr_trace";
import * as np from "../../numpy";
import * as random from "../../random";

/** A static shape: known dims are numbers, unknown ones null; null for an unknown rank. */
export type StaticShape = (number | null)[];

/** What a kernel sees and returns: traced arrays, or JS numbers (weakly typed, like Python scalars in TF). */
export type Value = Tracer | number | boolean;

/** Per-run services a kernel may use. */
export interface EvalContext {
  /** A fresh PRNG key for this run and this stream (a node id or an op seed). */
  randomKey(stream: number): Tracer;
}

export type Kernel = (inputs: Value[], ctx: EvalContext) => Value;

/** Nested JS data, typed arrays, tinyflow Arrays: what `constant` and feeds accept. */
export type Data = number | boolean | TfArray | Tracer | Float32Array | Int32Array | Uint8Array | readonly Data[];

/** Anything an op accepts as an input: a Tensor, or data converted to a constant. */
export type TensorLike = Tensor | Data;

/** A dtype name; `tf.float32` and friends are these strings. */
export type TfDType = DType;

export function formatShape(shape: StaticShape | null): string {
  if (shape === null) return "<unknown>";
  return `(${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}${shape.length === 1 ? "," : ""})`;
}

// --- graphs --------------------------------------------------------------------------

export class Graph {
  private nextId = 0;
  private readonly nameCounts = new Map<string, number>();
  /** Every variable made in this graph, in creation order (GLOBAL_VARIABLES). */
  readonly variables: RefVariable[] = [];
  /** Graph-level random seed (`tf.set_random_seed`). */
  seed: number | null = null;

  newId(): number {
    return this.nextId++;
  }

  /** A unique op name: `base`, then `base_1`, `base_2`, … */
  uniqueName(base: string): string {
    const n = this.nameCounts.get(base) ?? 0;
    this.nameCounts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  get trainableVariables(): RefVariable[] {
    return this.variables.filter((v) => v.trainable);
  }
}

let defaultGraph = new Graph();

export function get_default_graph(): Graph {
  return defaultGraph;
}

/** Start a fresh default graph (tensors of the old one must not be mixed in). */
export function reset_default_graph(): void {
  defaultGraph = new Graph();
}

/** `tf.set_random_seed(seed)`: the graph-level seed of random ops. */
export function set_random_seed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new ArgumentError(`tf.set_random_seed: seed must be an integer, got ${describe(seed)}`);
  defaultGraph.seed = seed;
}

// --- tensors ----------------------------------------------------------------------

/** The method forms of Tensor, installed by ops.ts (which builds on this file). */
export interface TensorMethodImpls {
  add(x: Tensor, y: TensorLike): Tensor;
  subtract(x: Tensor, y: TensorLike): Tensor;
  multiply(x: Tensor, y: TensorLike): Tensor;
  divide(x: Tensor, y: TensorLike): Tensor;
  pow(x: Tensor, y: TensorLike): Tensor;
  negative(x: Tensor): Tensor;
  matmul(x: Tensor, y: TensorLike): Tensor;
  less(x: Tensor, y: TensorLike): Tensor;
  less_equal(x: Tensor, y: TensorLike): Tensor;
  greater(x: Tensor, y: TensorLike): Tensor;
  greater_equal(x: Tensor, y: TensorLike): Tensor;
}
let methodImpls: TensorMethodImpls | null = null;
export function installTensorMethods(impls: TensorMethodImpls): void {
  methodImpls = impls;
}
function impls(): TensorMethodImpls {
  if (methodImpls === null) throw new ArgumentError("tf1: the ops module was not loaded (import from tinyflow/tf1)");
  return methodImpls;
}

export interface TensorInit {
  opType: string;
  inputs: readonly Tensor[];
  kernel: Kernel | null;
  shape: StaticShape | null;
  dtype: DType;
  name?: string;
  attrs?: Record<string, unknown>;
}

/** A symbolic value of the graph: the output of one op. It has no data until a Session runs it. */
export class Tensor {
  readonly id: number;
  readonly graph: Graph;
  /** The op type (TF's `tensor.op.type`): "MatMul", "Placeholder", … */
  readonly opType: string;
  /** The op's name; the tensor's name is `${opName}:0`. */
  readonly opName: string;
  readonly inputs: readonly Tensor[];
  readonly kernel: Kernel | null;
  readonly dtype: DType;
  readonly attrs: Record<string, unknown>;
  readonly #shape: StaticShape | null;

  constructor(init: TensorInit) {
    this.graph = defaultGraph;
    this.id = this.graph.newId();
    this.opType = init.opType;
    this.opName = this.graph.uniqueName(init.name ?? init.opType);
    this.inputs = init.inputs;
    this.kernel = init.kernel;
    this.dtype = init.dtype;
    this.attrs = init.attrs ?? {};
    this.#shape = init.shape === null ? null : [...init.shape];
  }

  get name(): string {
    return `${this.opName}:0`;
  }
  /** The static shape (null dims unknown; null if the rank is unknown). */
  get shape(): StaticShape | null {
    return this.#shape === null ? null : [...this.#shape];
  }
  get_shape(): { as_list(): StaticShape | null; ndims: number | null; toString(): string } {
    const s = this.shape;
    return { as_list: () => s, ndims: s === null ? null : s.length, toString: () => formatShape(s) };
  }
  get ndim(): number | null {
    return this.#shape === null ? null : this.#shape.length;
  }

  add(y: TensorLike): Tensor {
    return impls().add(this, y);
  }
  sub(y: TensorLike): Tensor {
    return impls().subtract(this, y);
  }
  mul(y: TensorLike): Tensor {
    return impls().multiply(this, y);
  }
  div(y: TensorLike): Tensor {
    return impls().divide(this, y);
  }
  pow(y: TensorLike): Tensor {
    return impls().pow(this, y);
  }
  neg(): Tensor {
    return impls().negative(this);
  }
  matmul(y: TensorLike): Tensor {
    return impls().matmul(this, y);
  }
  lt(y: TensorLike): Tensor {
    return impls().less(this, y);
  }
  le(y: TensorLike): Tensor {
    return impls().less_equal(this, y);
  }
  gt(y: TensorLike): Tensor {
    return impls().greater(this, y);
  }
  ge(y: TensorLike): Tensor {
    return impls().greater_equal(this, y);
  }

  toString(): string {
    return `<tf.Tensor '${this.name}' shape=${formatShape(this.#shape)} dtype=${this.dtype}>`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** A graph node run only for its effects (`group`, initializers, `minimize`): fetching it gives null. */
export class Operation {
  readonly id: number;
  readonly graph: Graph;
  readonly name: string;
  readonly type: string;
  /** What running this op runs. */
  readonly control_inputs: readonly (Tensor | Operation)[];

  constructor(type: string, controlInputs: readonly (Tensor | Operation)[], name?: string) {
    this.graph = defaultGraph;
    this.id = this.graph.newId();
    this.type = type;
    this.name = this.graph.uniqueName(name ?? type);
    this.control_inputs = [...controlInputs];
  }
  toString(): string {
    return `<tf.Operation '${this.name}' type=${this.type}>`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

export interface VariableOptions {
  name?: string;
  /** Whether optimizers train it by default (default true). */
  trainable?: boolean;
  dtype?: DType;
}

const variableRules: OptionRules<VariableOptions> = { name: opt.string, trainable: opt.boolean, dtype: opt.dtype };

/** A variable: a graph node whose value lives in each Session (TF1's RefVariable). */
export class RefVariable extends Tensor {
  readonly initial_value: Tensor;
  readonly trainable: boolean;
  #initializer: Operation | null = null;

  constructor(initialValue: TensorLike, options?: VariableOptions) {
    const opts = checkOptions("tf.Variable", options, variableRules);
    let init = toTensor(initialValue, opts.dtype);
    if (opts.dtype !== undefined && init.dtype !== opts.dtype) init = castTensor(init, opts.dtype);
    super({ opType: "VariableV2", inputs: [], kernel: null, shape: init.shape, dtype: init.dtype, name: opts.name ?? "Variable" });
    this.initial_value = init;
    this.trainable = opts.trainable ?? true;
    this.graph.variables.push(this);
  }

  /** The op that sets the variable to its initial value. */
  get initializer(): Operation {
    if (this.#initializer === null) {
      this.#initializer = new Operation("Assign", [makeAssign("Assign", this, this.initial_value, `${this.opName}/Assign`)], `${this.opName}/Initializer`);
    }
    return this.#initializer;
  }
  assign(value: TensorLike): Tensor {
    return makeAssign("Assign", this, value);
  }
  assign_add(value: TensorLike): Tensor {
    return makeAssign("AssignAdd", this, value);
  }
  assign_sub(value: TensorLike): Tensor {
    return makeAssign("AssignSub", this, value);
  }
  /** The variable's value as a tensor (reading it). */
  value(): Tensor {
    return this;
  }
  read_value(): Tensor {
    return this;
  }
  override toString(): string {
    return `<tf.Variable '${this.name}' shape=${formatShape(this.shape)} dtype=${this.dtype}>`;
  }
}

export type AssignKind = "Assign" | "AssignAdd" | "AssignSub";

/** An assignment node: its value is the variable's new value; the Session stores it after the run. */
export function makeAssign(kind: AssignKind, ref: RefVariable, value: TensorLike, name?: string): Tensor {
  if (!(ref instanceof RefVariable)) throw new ArgumentError(`tf.${snake(kind)}: ref must be a tf.Variable, got ${describe(ref)}`);
  const v = toTensor(value, ref.dtype);
  const rs = ref.shape;
  const vs = v.shape;
  // Assign needs the variable's shape; AssignAdd/AssignSub may broadcast the value onto it.
  if (kind === "Assign" && rs !== null && vs !== null && (rs.length !== vs.length || rs.some((d, i) => d !== null && vs[i] !== null && d !== vs[i]))) {
    throw new ShapeError(`tf.${snake(kind)}: the value's shape ${formatShape(vs)} does not match the variable '${ref.name}' of shape ${formatShape(rs)}`);
  }
  const check = (x: Value): Tracer => {
    const t = np.asarray(x);
    const known = ref.shape;
    if (known !== null && known.every((d) => d !== null) && (t.ndim !== known.length || t.shape.some((d, i) => d !== known[i]))) {
      throw new ShapeError(`tf.${snake(kind)}: the value has shape ${formatShape([...t.shape])} but the variable '${ref.name}' has shape ${formatShape(known)}`);
    }
    return t.dtype === ref.dtype ? t : np.astype(t, ref.dtype);
  };
  const kernel: Kernel =
    kind === "Assign" ? ([x]) => check(x) : kind === "AssignAdd" ? ([r, x]) => check(np.add(r, x)) : ([r, x]) => check(np.subtract(r, x));
  return new Tensor({
    opType: kind,
    inputs: kind === "Assign" ? [v] : [ref, v],
    kernel,
    shape: ref.shape,
    dtype: ref.dtype,
    name,
    attrs: { variable: ref },
  });
}

function snake(kind: AssignKind): string {
  return kind === "Assign" ? "assign" : kind === "AssignAdd" ? "assign_add" : "assign_sub";
}

export function describe(x: unknown): string {
  if (x instanceof Tensor || x instanceof Operation) return String(x);
  if (isArray(x)) return `an Array ${x.aval.str()}`;
  if (x === null) return "null";
  if (Array.isArray(x)) return "a JS array";
  return typeof x;
}

// --- building ops --------------------------------------------------------------------

/**
 * A JS number or boolean as a weakly typed literal node (Python scalars in TF
 * take the other operand's dtype). On its own a number is float32, as
 * everywhere in tinyflow; its kernel hands the JS value to numpy, so it
 * promotes with the other operands by the same number policy.
 */
function literal(v: number | boolean): Tensor {
  const dtype = dtypeOfScalar(v).dtype;
  return new Tensor({ opType: "Const", inputs: [], kernel: () => v, shape: [], dtype, attrs: { literal: v } });
}

/** A constant node holding a concrete tinyflow Array. */
export function constantTensor(value: TfArray, name?: string): Tensor {
  return new Tensor({ opType: "Const", inputs: [], kernel: () => value, shape: [...value.shape], dtype: value.dtype, name: name ?? "Const", attrs: { value } });
}

/** Convert op inputs: Tensors pass through, JS scalars become weak literals, other data constants. */
export function toTensor(x: TensorLike, dtype?: DType): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number" || typeof x === "boolean") return literal(x);
  if (x instanceof Operation) throw new ArgumentError(`tf1: ${x} has no value and cannot be used as an op input`);
  if (isArray(x)) return constantTensor(dtype !== undefined && x.dtype !== dtype ? (np.astype(x, dtype) as TfArray) : x);
  if (x instanceof Tracer) throw new ArgumentError(`tf1: a traced value (${x.aval.str()}) cannot become a graph constant; pass concrete data`);
  if (x === null || x === undefined) throw new ArgumentError(`tf1: expected a Tensor or data, got ${String(x)}`);
  return constantTensor(np.array(x as never, dtype !== undefined ? { dtype } : {}) as TfArray);
}

export function castTensor(t: Tensor, dtype: DType): Tensor {
  if (!isDType(dtype)) throw new ArgumentError(`tf.cast: unknown dtype ${String(dtype)}`);
  return makeOp("Cast", [t], ([x]) => np.astype(x, dtype));
}

const probeCtx: EvalContext = { randomKey: (s) => random.key(s) };
const SENTINELS: [number, number][] = [
  [1009, 1013],
  [5040, 10080],
];

/** Abstract-evaluate `kernel` on inputs whose null dims are `size`; returns the output aval. */
function probe(inputs: readonly Tensor[], kernel: Kernel, size: number): ShapedArray {
  const traced: number[] = [];
  const avals: ShapedArray[] = [];
  inputs.forEach((t, i) => {
    if (t.attrs.literal !== undefined || t.attrs.value !== undefined) return;
    traced.push(i);
    const s = t.shape ?? [];
    avals.push(new ShapedArray(s.map((d) => (d === null ? size : d)), t.dtype, false));
  });
  const { jaxpr } = traceFlatToJaxpr((...args: Tracer[]) => {
    const vals: Value[] = inputs.map((t) => (t.attrs.literal as Value | undefined) ?? (t.attrs.value as TfArray | undefined) ?? (null as never));
    traced.forEach((i, k) => (vals[i] = args[k]));
    return np.asarray(kernel(vals, probeCtx));
  }, avals);
  return jaxpr.outAvals[0];
}

/**
 * Infer the static shape and dtype of kernel(inputs) by tracing it twice,
 * with the unknown dims set to two different sizes: dims that differ are unknown.
 */
export function inferShape(opType: string, inputs: readonly Tensor[], kernel: Kernel): { shape: StaticShape | null; dtype: DType } {
  const unknownRank = inputs.some((t) => t.shape === null);
  const hasNull = inputs.some((t) => t.shape !== null && t.shape.some((d) => d === null));
  if (unknownRank) {
    // Only the dtype can be known; probe with scalars standing in for unknown ranks.
    try {
      return { shape: null, dtype: probe(inputs, kernel, 1).dtype };
    } catch {
      return { shape: null, dtype: inputs[0]?.dtype ?? "float32" };
    }
  }
  if (!hasNull) {
    const a = probe(inputs, kernel, 1);
    return { shape: [...a.shape], dtype: a.dtype };
  }
  let firstError: unknown = null;
  for (const [s1, s2] of SENTINELS) {
    try {
      const a = probe(inputs, kernel, s1);
      const b = probe(inputs, kernel, s2);
      if (a.ndim !== b.ndim) return { shape: null, dtype: a.dtype };
      return { shape: a.shape.map((d, i) => (d === b.shape[i] ? d : null)), dtype: a.dtype };
    } catch (e) {
      firstError ??= e;
    }
  }
  const msg = firstError instanceof Error ? firstError.message : String(firstError);
  throw new ShapeError(`tf1 ${opType}: the inputs ${inputs.map((t) => `${t.name} ${formatShape(t.shape)} ${t.dtype}`).join(", ")} do not fit: ${msg}`);
}

export interface MakeOpOptions {
  name?: string;
  /** The public function making the node (`reduce_sum`), named by input conversion errors; the op type otherwise. */
  api?: string;
  /** Skip inference when the op knows its output. */
  shape?: StaticShape | null;
  dtype?: DType;
  attrs?: Record<string, unknown>;
}

/** Make a node computing kernel(inputs); its static shape and dtype are inferred unless given. */
export function makeOp(opType: string, inputs: readonly TensorLike[], kernel: Kernel, opts: MakeOpOptions = {}): Tensor {
  const ins = inputs.map((x, i) => convertInput(opts.api ?? opType, i, x));
  let shape: StaticShape | null;
  let dtype: DType;
  if (opts.shape !== undefined && opts.dtype !== undefined) {
    shape = opts.shape;
    dtype = opts.dtype;
  } else {
    const inferred = inferWithName(opts.api ?? opType, () => inferShape(opType, ins, kernel));
    shape = opts.shape !== undefined ? opts.shape : inferred.shape;
    dtype = opts.dtype ?? inferred.dtype;
  }
  return new Tensor({ opType, inputs: ins, kernel, shape, dtype, name: opts.name, attrs: opts.attrs });
}

/** An op's input as a Tensor; data that does not convert is an error naming the op's function and the input. */
export function convertInput(api: string, index: number, x: TensorLike): Tensor {
  try {
    return toTensor(x);
  } catch (e) {
    // the class stays (a DTypeError for 1.5 as int32); the message says which function and input
    if (e instanceof TinyflowError) e.message = `tf.${api}: input ${index} cannot become a tensor (${e.message})`;
    throw e;
  }
}

/** Shape inference runs the op's kernel on abstract values: its errors name the tf function that made the node. */
function inferWithName<R>(api: string, infer: () => R): R {
  try {
    return infer();
  } catch (e) {
    if (e instanceof TinyflowError && !e.message.startsWith(`tf.${api}`)) e.message = `tf.${api}: ${e.message}`;
    throw e;
  }
}

/** All Tensors and Operations that `roots` need, inputs before users (iterative DFS). */
export function topoSort(roots: readonly (Tensor | Operation)[]): (Tensor | Operation)[] {
  const order: (Tensor | Operation)[] = [];
  const state = new Map<Tensor | Operation, 1 | 2>();
  const deps = (n: Tensor | Operation) => (n instanceof Operation ? n.control_inputs : n.inputs);
  for (const root of roots) {
    if (state.has(root)) continue;
    const stack: [Tensor | Operation, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const ds = deps(top[0]);
      if (top[1] < ds.length) {
        const d = ds[top[1]++];
        if (!state.has(d)) {
          state.set(d, 1);
          stack.push([d, 0]);
        }
      } else {
        stack.pop();
        state.set(top[0], 2);
        order.push(top[0]);
      }
    }
  }
  return order;
}

/** Whether `x` is a plain data value (for feeds and constants). */
export function isData(x: unknown): x is Data {
  return typeof x === "number" || typeof x === "boolean" || isArray(x) || ArrayBuffer.isView(x) || Array.isArray(x);
}
