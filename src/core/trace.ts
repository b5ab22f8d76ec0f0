// Traces and bind(). A transformation pushes a MainTrace on the stack; its
// Tracers box values of the level below. bind() finds the highest-level
// trace among its arguments (or the dynamic trace of an enclosing jit),
// lifts every argument to it, and lets that trace process the primitive.
// The eval trace at the bottom computes concrete Arrays.

import type { ShapedArray } from "./aval";
import type { DType, TypedArray } from "./dtype";
import { ArrayConversionError, ConcretizationError, TracerError, fmtShape } from "./errors";
import { tracerMethods, type IndexSpec, type AtUpdater } from "./methods";
import type { ParamsOf, Primitive } from "./primitives";

export type TraceCtor = new (main: MainTrace) => Trace;

export class MainTrace {
  active = true;
  constructor(
    readonly level: number,
    readonly traceType: TraceCtor,
    /** Per-transformation state (e.g. the jaxpr builder, the vmap axis size). */
    readonly globalData: unknown,
  ) {}
}

export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Box a value from a lower level (an Array or a lower tracer) as this trace's tracer. */
  abstract lift(x: Tracer): Tracer;
  abstract processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[];
}

/** Every array-like value the user handles: concrete Arrays and the tracers of transformations. */
export abstract class Tracer {
  abstract get _trace(): Trace;
  abstract get aval(): ShapedArray;

  get shape(): readonly number[] {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.ndim;
  }
  get size(): number {
    return this.aval.size;
  }
  get weakType(): boolean {
    return this.aval.weakType;
  }

  // Concrete access. An Array has data; a tracer has it only when it boxes a
  // concrete value (grad's JVP tracer of an eager input, as in JAX, where
  // Python control flow on such values works). Abstract tracers (jit, vmap,
  // makeJaxpr) have none.

  /** The concrete Array behind this value, or null when it is abstract. */
  concreteValue(): Tracer | null {
    return null;
  }
  /** A short description used where a tracer is printed: `Traced<f32[3]>with<JaxprTrace>`, as JAX prints tracers. */
  protected describeTracer(): string {
    return `Traced<${this.aval.str()}>with<${this._trace.constructor.name}>`;
  }
  private concreteOrThrow(what: string): Tracer {
    const c = this.concreteValue();
    if (c !== null) return c;
    throw new ConcretizationError(
      `${what}: this value is an abstract tracer (${this.aval.str()}) inside a transformation (jit, vmap, makeJaxpr…), so it has no concrete value. ${CONCRETIZATION_FIXES}`,
    );
  }
  async data(): Promise<TypedArray> {
    return this.concreteOrThrow("data()").data();
  }
  dataSync(): TypedArray {
    return this.concreteOrThrow("dataSync()").dataSync();
  }
  item(): number | boolean {
    return this.concreteOrThrow("item()").item();
  }
  tolist(): unknown {
    return this.concreteOrThrow("tolist()").tolist();
  }

  /** Release this value's memory now (see Array.dispose); a tracer owns no buffer, so for it this does nothing. */
  dispose(): void {}
  get isDisposed(): boolean {
    return false;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // --- JS protocols --------------------------------------------------------------
  // JS has no operator overloading: `x > 0`, `x + 1`, `Number(x)` and a loop
  // bound `i < n` all convert x to a primitive. A concrete 0-d array gives its
  // number; anything else would give a silently wrong answer (NaN, string
  // concatenation, an always-false comparison), so it throws instead.
  // Truthiness (`if (x)`) never reaches this code: every object is truthy in JS.

  [Symbol.toPrimitive](hint: "number" | "string" | "default"): number | string | boolean {
    if (hint === "string") return this.toString();
    const what = hint === "number" ? NUMBER_HINT_USES : DEFAULT_HINT_USES;
    const c = this.concreteOrThrow(what);
    if (c.ndim !== 0) {
      throw new ArrayConversionError(
        `${what}: only a 0-d array converts to a JS number, got shape ${fmtShape(c.shape)} (${c.aval.str()}). ` +
          `JS operators do not work elementwise on arrays: use np.greater / np.less / np.equal for comparisons, np.add / x.add(y) for arithmetic, ` +
          `np.where(cond, a, b) to select, or reduce to a scalar first (x.sum(), np.any(...)).`,
      );
    }
    const v = c.item();
    return hint === "number" ? Number(v) : v;
  }
  valueOf(): number | boolean {
    return this[Symbol.toPrimitive]("default") as number | boolean;
  }
  /** A concrete array prints like numpy (`Array([1., 2.], dtype=float32)`); a tracer as JAX prints it. */
  toString(): string {
    const c = this.concreteValue();
    return c === null ? this.describeTracer() : c.toString();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  /** `JSON.stringify(x)` writes `{ dtype, shape, data }` with `data` nested like
   * `x.tolist()` (non-finite floats as the strings "NaN", "Infinity", "-Infinity",
   * since JSON has no such numbers); `np.fromJSON` reads it back. */
  toJSON(): ArrayJSON {
    const c = this.concreteOrThrow("JSON.stringify / toJSON()");
    return { dtype: c.dtype, shape: [...c.shape], data: encodeNonFinite(c.tolist()) as ArrayJSON["data"] };
  }
  /** `{ dtype, shape, data }` with `data` a fresh flat typed array: what
   * `structuredClone` / `postMessage` can carry (transfer `data.buffer` to move
   * it without a copy); `np.fromTransferable` rebuilds the array. An Array
   * itself cannot be cloned: its storage lives in a backend. */
  toTransferable(): ArrayTransferable {
    const c = this.concreteOrThrow("toTransferable()");
    return { dtype: c.dtype, shape: [...c.shape], data: c.dataSync().slice() };
  }

  // --- method forms (implemented by the numpy layer, see methods.ts) ---
  add(y: ArrayLike): Tracer { return tracerMethods().add(this, y); }
  sub(y: ArrayLike): Tracer { return tracerMethods().subtract(this, y); }
  mul(y: ArrayLike): Tracer { return tracerMethods().multiply(this, y); }
  div(y: ArrayLike): Tracer { return tracerMethods().divide(this, y); }
  pow(y: ArrayLike): Tracer { return tracerMethods().power(this, y); }
  mod(y: ArrayLike): Tracer { return tracerMethods().remainder(this, y); }
  neg(): Tracer { return tracerMethods().negative(this); }
  eq(y: ArrayLike): Tracer { return tracerMethods().equal(this, y); }
  ne(y: ArrayLike): Tracer { return tracerMethods().notEqual(this, y); }
  lt(y: ArrayLike): Tracer { return tracerMethods().less(this, y); }
  le(y: ArrayLike): Tracer { return tracerMethods().lessEqual(this, y); }
  gt(y: ArrayLike): Tracer { return tracerMethods().greater(this, y); }
  ge(y: ArrayLike): Tracer { return tracerMethods().greaterEqual(this, y); }
  maximum(y: ArrayLike): Tracer { return tracerMethods().maximum(this, y); }
  minimum(y: ArrayLike): Tracer { return tracerMethods().minimum(this, y); }
  abs(): Tracer { return tracerMethods().abs(this); }
  exp(): Tracer { return tracerMethods().exp(this); }
  log(): Tracer { return tracerMethods().log(this); }
  sqrt(): Tracer { return tracerMethods().sqrt(this); }
  square(): Tracer { return tracerMethods().square(this); }
  tanh(): Tracer { return tracerMethods().tanh(this); }
  sin(): Tracer { return tracerMethods().sin(this); }
  cos(): Tracer { return tracerMethods().cos(this); }
  sum(axis?: Axis, opts?: KeepDims): Tracer { return tracerMethods().sum(this, axis, opts); }
  mean(axis?: Axis, opts?: KeepDims): Tracer { return tracerMethods().mean(this, axis, opts); }
  max(axis?: Axis, opts?: KeepDims): Tracer { return tracerMethods().max(this, axis, opts); }
  min(axis?: Axis, opts?: KeepDims): Tracer { return tracerMethods().min(this, axis, opts); }
  prod(axis?: Axis, opts?: KeepDims): Tracer { return tracerMethods().prod(this, axis, opts); }
  argmax(axis?: number, opts?: KeepDims): Tracer { return tracerMethods().argmax(this, axis, opts); }
  argmin(axis?: number, opts?: KeepDims): Tracer { return tracerMethods().argmin(this, axis, opts); }
  reshape(...shape: number[] | [readonly number[]]): Tracer {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    return tracerMethods().reshape(this, s);
  }
  transpose(axes?: readonly number[]): Tracer { return tracerMethods().transpose(this, axes); }
  get T(): Tracer { return tracerMethods().transpose(this); }
  flatten(): Tracer { return tracerMethods().reshape(this, [-1]); }
  ravel(): Tracer { return tracerMethods().reshape(this, [-1]); }
  squeeze(axis?: Axis): Tracer { return tracerMethods().squeeze(this, axis); }
  expandDims(axis: Axis): Tracer { return tracerMethods().expandDims(this, axis); }
  broadcastTo(shape: readonly number[]): Tracer { return tracerMethods().broadcastTo(this, shape); }
  astype(dtype: DType): Tracer { return tracerMethods().astype(this, dtype); }
  matmul(y: ArrayLike): Tracer { return tracerMethods().matmul(this, y); }
  dot(y: ArrayLike): Tracer { return tracerMethods().dot(this, y); }
  clip(lo: ArrayLike | null, hi: ArrayLike | null): Tracer { return tracerMethods().clip(this, lo, hi); }
  /** numpy basic/advanced indexing: numbers, [start, stop, step] slices, null (new axis), "..." and int arrays. */
  slice(...index: IndexSpec[]): Tracer { return tracerMethods().index(this, index); }
  /** Iterating an array yields its slices along the first axis, as in numpy/JAX
   * (`const [k1, k2] = random.split(key)`). */
  *[Symbol.iterator](): Iterator<Tracer> {
    if (this.ndim === 0) throw new TypeError(`iteration over a 0-d array (${this.aval.str()})`);
    for (let i = 0; i < this.shape[0]; i++) yield tracerMethods().index(this, [i]);
  }
  /** Functional updates, as JAX's `x.at[idx].set(v)`: returns a new array. */
  at(...index: IndexSpec[]): AtUpdater { return tracerMethods().at(this, index); }
}

export type ArrayLike = Tracer | number | boolean;

/** What `JSON.stringify(x)` writes for an array (see `Tracer.toJSON`). */
export interface ArrayJSON {
  dtype: DType;
  shape: number[];
  data: NestedJSON;
}
export type NestedJSON = number | boolean | string | NestedJSON[];

/** What `x.toTransferable()` gives: structured-cloneable, transferable data. */
export interface ArrayTransferable {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

const NUMBER_HINT_USES = "converting an array to a JS number (a comparison such as `x > 0`, arithmetic such as `x * 2`, `Number(x)`, or a loop bound `i < n`)";
const DEFAULT_HINT_USES = "converting an array to a JS primitive (`x + 1`, `x == 1`)";
const CONCRETIZATION_FIXES =
  "JS operators and control flow cannot see traced values: use np.greater / np.less / np.equal and np.where for elementwise choices, " +
  "lax.cond / lax.switch to branch, lax.foriLoop / lax.whileLoop for loops whose bound is traced, " +
  "or mark the argument static with jit(f, { staticArgnums: [i] }) so it stays a JS value.";

function encodeNonFinite(v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (globalThis.Array.isArray(v)) return v.map(encodeNonFinite);
  return v;
}
export type Axis = number | readonly number[] | null;
export interface KeepDims {
  keepdims?: boolean;
}

// --- the trace stack ---------------------------------------------------------

const traceStack: MainTrace[] = [];
let dynamicMain: MainTrace | null = null;
let bottom: Trace | null = null;

/** Called once by the module that defines the eval trace (array.ts). */
export function registerEvalTrace(ctor: TraceCtor): void {
  const main = new MainTrace(0, ctor, null);
  traceStack.length = 0;
  traceStack.push(main);
  dynamicMain = main;
  bottom = new ctor(main);
}

export function evalTrace(): Trace {
  if (bottom === null) throw new TracerError("tinyflow's eval trace is not registered; import 'tinyflow'");
  return bottom;
}

/** Run `fn` with a new main trace pushed; the trace is marked inactive afterwards so
 * tracers that escape can be recognized. */
export function withMainTrace<T>(traceType: TraceCtor, globalData: unknown, fn: (main: MainTrace) => T): T {
  const main = new MainTrace(traceStack.length, traceType, globalData);
  traceStack.push(main);
  try {
    return fn(main);
  } finally {
    traceStack.pop();
    main.active = false;
  }
}

/** Make `main` the dynamic trace (jit/makeJaxpr): ops on no tracer args are staged into it. */
export function withDynamicTrace<T>(main: MainTrace, fn: () => T): T {
  const prev = dynamicMain;
  dynamicMain = main;
  try {
    return fn();
  } finally {
    dynamicMain = prev;
  }
}

/** True when `args` are concrete and no transformation is tracing: the fast path of jit. */
export function atEvalLevel(args: readonly Tracer[]): boolean {
  const bottomMain = traceStack[0];
  return dynamicMain === bottomMain && args.every((a) => a._trace.main === bottomMain);
}

function findTopTrace(args: readonly Tracer[]): Trace {
  let top: MainTrace = traceStack[0];
  for (const a of args) {
    const m = a._trace.main;
    if (m.level > top.level) top = m;
  }
  if (dynamicMain !== null && dynamicMain.level > top.level) top = dynamicMain;
  if (top === traceStack[0]) return evalTrace();
  return new top.traceType(top);
}

export function fullRaise(trace: Trace, x: Tracer): Tracer {
  const m = x._trace.main;
  if (!m.active) {
    throw new TracerError(
      `a tracer (${x.aval.str()}) from a finished transformation was used: it escaped the function being transformed ` +
        `(e.g. stored in an outer variable or returned through a side channel). Return values from the transformed function instead.`,
    );
  }
  if (m === trace.main) return x;
  if (m.level < trace.main.level) return trace.lift(x);
  throw new TracerError(`internal: tracer of level ${m.level} cannot be lowered into trace level ${trace.main.level}`);
}

/** Apply a primitive to its arguments under the current transformations. */
export function bind<P extends Primitive>(prim: P, args: readonly Tracer[], params: ParamsOf<P>): Tracer[] {
  const trace = findTopTrace(args);
  // Eager operations (every argument concrete, no transformation tracing) need no raising.
  if (trace === bottom) return trace.processPrimitive(prim, args as Tracer[], params);
  const raised = args.map((a) => fullRaise(trace, a));
  return trace.processPrimitive(prim, raised, params);
}

export function bind1<P extends Primitive>(prim: P, args: readonly Tracer[], params: ParamsOf<P>): Tracer {
  const outs = bind(prim, args, params);
  return outs[0];
}

export function isTracer(x: unknown): x is Tracer {
  return x instanceof Tracer;
}
