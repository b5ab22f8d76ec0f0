// tinyflow/eager: the PyTorch-style define-and-run front end. A `Tensor`
// wraps a concrete tinyflow Array; ops run eagerly, and an op on tensors
// that require grad records its operands and a backward rule: the op's vjp,
// traced once per op signature and cached as a jitted function (so the
// gradient rules are tinyflow's own, with no second set of formulas, and
// nothing is traced per op in a training loop). `backward()` walks this tape in reverse
// topological order and accumulates `.grad` on leaves, as PyTorch does:
// grads add up across backward calls until zeroed, a non-scalar needs an
// explicit `gradient`, and the tape is freed after a backward unless
// `{ retainGraph: true }` (a second backward through a freed tape throws).
//
// This file holds the Tensor and the recording of ops on the tape; grad mode
// is in grad_mode.ts, the per-signature rule cache in op_rules.ts, the
// backward walk in backward.ts.

import { Array as TfArray, isArray } from "../../core/array";
import { isFloat, type DType } from "../../core/dtype";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors";
import { checkOptions, describeValue, opt, type OptionRules } from "../../core/options";
import { Tracer } from "../../core/trace";
import * as lax from "../../lax";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import { backwardPass } from "./backward";
import { CompileError, compileTracing, concretizationInCompile, effectInCompile } from "./compile_state";
import { AutogradError } from "./errors";
import { isGradEnabled, noGrad } from "./grad_mode";
import { asArray, signature, vjpRule, type Kind } from "./op_rules";

/** One recorded op: the tensors it was differentiated against and its pullback. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Output cotangent -> one cotangent per input; null once backward freed the tape. */
  pull: ((ct: TfArray) => TfArray[]) | null;
}

export type Data = number | boolean | TfArray | Tracer | Float32Array | Int32Array | Uint8Array | readonly Data[];
/** An op argument: a Tensor, a JS number (weakly typed), or a concrete tinyflow Array (a constant). */
export type Operand = Tensor | number | TfArray | Tracer;

export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
}
/** @internal */
export const tensorRules: OptionRules<TensorOptions> = { requiresGrad: opt.boolean, dtype: opt.dtype };

export interface BackwardOptions {
  /** Keep the tape for another backward through it. */
  retainGraph?: boolean;
}
const backwardRules: OptionRules<BackwardOptions> = { retainGraph: opt.boolean };

export class Tensor {
  #value: TfArray;
  #requiresGrad = false;
  #retainsGrad = false;
  /** The accumulated gradient (leaves that require grad, and tensors after retainGrad()). */
  grad: Tensor | null = null;
  /** The op that made this tensor (null for leaves): PyTorch's grad_fn. */
  readonly gradFn: GradFn | null;

  constructor(value: TfArray, opts: { requiresGrad?: boolean; gradFn?: GradFn | null } = {}) {
    this.#value = value;
    this.gradFn = opts.gradFn ?? null;
    if (opts.requiresGrad) this.requiresGrad = true;
  }

  /** The tinyflow Array holding the data. */
  get value(): TfArray {
    return this.#value;
  }
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && !isFloat(this.dtype)) throw new AutogradError(`eager: only tensors of floating-point dtype can require gradients, this one is ${this.dtype}`);
    if (!on && this.gradFn !== null) throw new AutogradError("eager: requiresGrad can only be turned off on leaf tensors; use detach()");
    this.#requiresGrad = on;
  }
  /** PyTorch's requires_grad_(): set the flag and return this. */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get shape(): readonly number[] {
    return this.#value.shape;
  }
  get dtype(): DType {
    return this.#value.dtype;
  }
  get ndim(): number {
    return this.#value.ndim;
  }
  dim(): number {
    return this.#value.ndim;
  }
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    return this.shape[dim < 0 ? dim + this.ndim : dim];
  }
  numel(): number {
    return this.#value.size;
  }

  /** The single element as a JS number. */
  item(): number {
    const tracing = compileTracing();
    if (tracing) throw concretizationInCompile(tracing.where, "Tensor.item()");
    if (this.numel() !== 1) throw new ArgumentError(`Tensor.item(): only a tensor of one element converts to a number, got shape ${fmtShape(this.shape)}`);
    return Number(this.#value.item());
  }
  tolist(): unknown {
    const tracing = compileTracing();
    if (tracing) throw concretizationInCompile(tracing.where, "Tensor.tolist()");
    return this.#value.tolist();
  }
  /** A one-element tensor converts to its number (`loss < best`, `Number(t)`), as its Array does. */
  [Symbol.toPrimitive](hint: "number" | "string" | "default"): number | string | boolean {
    const tracing = compileTracing();
    if (tracing) throw concretizationInCompile(tracing.where, "using a tensor as a JS number or boolean");
    return hint === "string" ? this.toString() : this.#value[Symbol.toPrimitive](hint);
  }
  /** The data as a tinyflow Array (shares memory, as PyTorch's numpy() does). */
  numpy(): TfArray {
    return this.#value;
  }
  /** A tensor on the same data that is cut off from the tape. */
  detach(): Tensor {
    // Inside compile() the whole function is differentiated at once: detaching is a stop_gradient there.
    return compileTracing() ? new Tensor(lax.stopGradient(operandValue(this)) as TfArray) : new Tensor(this.#value);
  }
  clone(): Tensor {
    return unaryOp("clone", this, (x) => np.add(x, 0));
  }
  /** Keep .grad on this non-leaf tensor too. */
  retainGrad(): this {
    if (!this.requiresGrad) throw new AutogradError("eager: retainGrad() on a tensor that does not require grad");
    this.#retainsGrad = true;
    return this;
  }
  get retainsGrad(): boolean {
    return this.#retainsGrad || (this.isLeaf && this.requiresGrad);
  }
  /** Drop the accumulated gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    this.grad = null;
  }

  /** Replace the data in place; allowed under noGrad or on tensors that do not require grad. */
  set_(value: Operand): this {
    const tracing = compileTracing();
    if (tracing) throw effectInCompile(tracing.where, "an in-place update (set_, add_, sub_, mul_, zero_, an optimizer step)", "return the new value from the function and assign it outside");
    if (isGradEnabled() && this.requiresGrad) {
      throw new AutogradError("eager: a leaf tensor that requires grad is being used in an in-place operation; wrap it in noGrad(() => ...)");
    }
    const v = value instanceof Tensor ? value.value : asArray(value as TfArray | number, this.dtype);
    if (v.shape.join() !== this.shape.join()) throw new ShapeError(`Tensor.set_: new value ${v.aval.str()} does not match the tensor's shape ${fmtShape(this.shape)}`);
    this.#value = v.dtype === this.dtype ? v : (np.astype(v, this.dtype) as TfArray);
    return this;
  }
  add_(y: Operand): this {
    return this.set_(noGrad(() => this.add(y)));
  }
  sub_(y: Operand): this {
    return this.set_(noGrad(() => this.sub(y)));
  }
  mul_(y: Operand): this {
    return this.set_(noGrad(() => this.mul(y)));
  }
  zero_(): this {
    return this.set_(np.zerosLike(this.#value) as TfArray);
  }

  /**
   * Accumulate d(this)/d(leaf) · gradient into every leaf's .grad. `gradient`
   * defaults to 1 and is required when this tensor has more than one element.
   */
  backward(gradient?: Operand | null, opts: BackwardOptions = {}): void {
    checkOptions("Tensor.backward", opts, backwardRules);
    const tracing = compileTracing();
    if (tracing) throw effectInCompile(tracing.where, "backward()", "return the loss from the compiled function and call backward() on the result");
    const ct = this.#rootCotangent(gradient ?? null);
    for (const [t, g] of backwardPass<Tensor>(this, ct, opts.retainGraph ?? false)) {
      t.grad = t.grad === null ? new Tensor(g) : new Tensor(np.add(t.grad.value, g) as TfArray);
    }
  }

  /** The cotangent backward() starts from: `gradient`, checked against this tensor, or 1 for a one-element tensor. */
  #rootCotangent(gradient: Operand | null): TfArray {
    if (!this.requiresGrad) {
      throw new AutogradError("backward(): this tensor does not require grad and has no gradFn (did you compute it under noGrad, or from tensors without requiresGrad?)");
    }
    if (gradient === null) {
      if (this.numel() !== 1) {
        throw new AutogradError(`backward(): grad can be implicitly created only for scalar outputs; this tensor has shape ${fmtShape(this.shape)}, so pass a gradient of that shape`);
      }
      return np.onesLike(this.value) as TfArray;
    } else {
      const g = gradient instanceof Tensor ? gradient.value : asArray(gradient as TfArray | number);
      if (g.shape.join() !== this.shape.join()) {
        throw new ShapeError(`backward(): the gradient has shape ${fmtShape(g.shape)} but the tensor has shape ${fmtShape(this.shape)}`);
      }
      return g.dtype === this.dtype ? g : (np.astype(g, this.dtype) as TfArray);
    }
  }

  // --- method forms ---
  add(y: Operand): Tensor {
    return binaryOp("add", this, y, np.add);
  }
  sub(y: Operand): Tensor {
    return binaryOp("sub", this, y, np.subtract);
  }
  mul(y: Operand): Tensor {
    return binaryOp("mul", this, y, np.multiply);
  }
  div(y: Operand): Tensor {
    return binaryOp("div", this, y, np.divide);
  }
  pow(y: Operand): Tensor {
    return binaryOp("pow", this, y, np.power);
  }
  rsub(y: Operand): Tensor {
    return binaryOp("rsub", this, y, (a, b) => np.subtract(b, a));
  }
  maximum(y: Operand): Tensor {
    return binaryOp("maximum", this, y, np.maximum);
  }
  minimum(y: Operand): Tensor {
    return binaryOp("minimum", this, y, np.minimum);
  }
  matmul(y: Operand): Tensor {
    return binaryOp("matmul", this, y, np.matmul);
  }
  mm(y: Operand): Tensor {
    return this.matmul(y);
  }
  neg(): Tensor {
    return unaryOp("neg", this, np.negative);
  }
  exp(): Tensor {
    return unaryOp("exp", this, np.exp);
  }
  log(): Tensor {
    return unaryOp("log", this, np.log);
  }
  sqrt(): Tensor {
    return unaryOp("sqrt", this, np.sqrt);
  }
  abs(): Tensor {
    return unaryOp("abs", this, np.abs);
  }
  square(): Tensor {
    return unaryOp("square", this, np.square);
  }
  sin(): Tensor {
    return unaryOp("sin", this, np.sin);
  }
  cos(): Tensor {
    return unaryOp("cos", this, np.cos);
  }
  relu(): Tensor {
    return unaryOp("relu", this, tnn.relu);
  }
  sigmoid(): Tensor {
    return unaryOp("sigmoid", this, tnn.sigmoid);
  }
  tanh(): Tensor {
    return unaryOp("tanh", this, np.tanh);
  }
  clamp(min: number | null = null, max: number | null = null): Tensor {
    return unaryOp("clamp", this, (x) => np.clip(x, min, max), [min, max]);
  }
  softmax(dim = -1): Tensor {
    return unaryOp("softmax", this, (x) => tnn.softmax(x, dim), [dim]);
  }
  logSoftmax(dim = -1): Tensor {
    return unaryOp("logSoftmax", this, (x) => tnn.logSoftmax(x, dim), [dim]);
  }
  /** Sum over `dim` (all by default), keeping reduced dims with keepdim. */
  sum(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    return unaryOp("sum", this, (x) => np.sum(x, dim ?? null, { keepdims: keepdim }), [dim ?? null, keepdim]);
  }
  mean(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    return unaryOp("mean", this, (x) => np.mean(x, dim ?? null, { keepdims: keepdim }), [dim ?? null, keepdim]);
  }
  /** Max over `dim` (all by default); PyTorch's max(dim) also returns indices, here only values (see argmax). */
  max(dim?: number | null, keepdim = false): Tensor {
    return unaryOp("max", this, (x) => np.max(x, dim ?? null, { keepdims: keepdim }), [dim ?? null, keepdim]);
  }
  min(dim?: number | null, keepdim = false): Tensor {
    return unaryOp("min", this, (x) => np.min(x, dim ?? null, { keepdims: keepdim }), [dim ?? null, keepdim]);
  }
  argmax(dim?: number | null): Tensor {
    return constOp(np.argmax(operandValue(this), dim ?? null));
  }
  eq(y: Operand): Tensor {
    return constOp(np.equal(operandValue(this), operandValue(y)));
  }
  gt(y: Operand): Tensor {
    return constOp(np.greater(operandValue(this), operandValue(y)));
  }
  lt(y: Operand): Tensor {
    return constOp(np.less(operandValue(this), operandValue(y)));
  }
  /** dtype conversion (to a non-float dtype cuts the tape). */
  to(dtype: DType): Tensor {
    if (!isFloat(dtype)) return constOp(np.astype(operandValue(this), dtype));
    return unaryOp("to", this, (x) => np.astype(x, dtype), [dtype]);
  }
  float(): Tensor {
    return this.to("float32");
  }
  reshape(...shape: (number | readonly number[])[]): Tensor {
    const s = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
    return unaryOp("reshape", this, (x) => np.reshape(x, s), [s]);
  }
  view(...shape: (number | readonly number[])[]): Tensor {
    return this.reshape(...shape);
  }
  flatten(startDim = 0): Tensor {
    const s = this.shape;
    const start = startDim < 0 ? startDim + s.length : startDim;
    return this.reshape([...s.slice(0, start), -1]);
  }
  /** Swap two dims (PyTorch's transpose(dim0, dim1); for 2-D tensors the defaults swap the two). */
  transpose(dim0 = 0, dim1 = 1): Tensor {
    return unaryOp("transpose", this, (x) => np.swapaxes(x, dim0, dim1), [dim0, dim1]);
  }
  permute(...dims: number[]): Tensor {
    return unaryOp("permute", this, (x) => np.transpose(x, dims), [dims]);
  }
  /** All dims reversed (PyTorch's .T). */
  get T(): Tensor {
    return unaryOp("T", this, (x) => np.transpose(x));
  }
  unsqueeze(dim: number): Tensor {
    return unaryOp("unsqueeze", this, (x) => np.expandDims(x, dim), [dim]);
  }
  squeeze(dim?: number): Tensor {
    return unaryOp("squeeze", this, (x) => (dim === undefined ? np.squeeze(x) : np.squeeze(x, dim)), [dim ?? null]);
  }

  toString(): string {
    let s = String(this.#value).replace(/^Array\(/, "tensor(");
    if (this.dtype === "float32") s = s.replace(/, dtype=float32\)$/, ")");
    if (this.requiresGrad) s = s.replace(/\)$/, this.gradFn ? `, gradFn=<${this.gradFn.name}>)` : ", requiresGrad=true)");
    return s;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

// --- recording ------------------------------------------------------------------------------
//
// The forward runs the op eagerly (see op_rules.ts for the backward rules it records).

function operandValue(x: Operand): Tracer | number {
  if (x instanceof Tensor) {
    const tracing = compileTracing();
    if (tracing) return tracing.valueOf(x);
    if (!isArray(x.value)) {
      throw new CompileError(
        "eager: this tensor was computed while compile() traced a function, so it holds no data; return it from the compiled function instead of keeping it aside",
      );
    }
    return x.value;
  }
  // Inside compile() an Array argument of the compiled function arrives traced.
  if (typeof x === "number" || isArray(x) || (x instanceof Tracer && compileTracing() !== null)) return x;
  throw new ArgumentError(`eager: expected a Tensor, a number or a concrete Array operand, got ${x === null ? "null" : typeof x}`);
}

function constOp(v: Tracer): Tensor {
  return new Tensor(compileTracing() ? (v as TfArray) : asArray(v));
}

/**
 * Run `f` on the operands' values. Where grad mode is on and some Tensor
 * operand requires grad, the result records the op for backward: its
 * backward rule is cached under `key` (a built-in op's name and parameters,
 * or a user's function) and the operand kinds.
 */
function record(key: string | Function, name: string, operands: readonly Operand[], f: (...xs: (Tracer | number)[]) => Tracer): Tensor {
  const vals = operands.map(operandValue);
  // Inside compile() nothing is taped: the traced function is differentiated as a whole, and
  // what noGrad computes there is cut off from it.
  if (compileTracing()) return new Tensor((isGradEnabled() ? f(...vals) : lax.stopGradient(f(...vals))) as TfArray);
  if (!isGradEnabled() || !operands.some((o) => o instanceof Tensor && o.requiresGrad)) return new Tensor(asArray(f(...vals)));
  const kinds: Kind[] = operands.map((o, i) => (o instanceof Tensor && o.requiresGrad ? "d" : typeof vals[i] === "number" ? (vals[i] as number) : "c"));
  const diffs = vals.filter((_, i) => kinds[i] === "d") as TfArray[];
  const consts = vals.filter((_, i) => kinds[i] === "c") as TfArray[];
  const { jitted } = signature(key, f, kinds, diffs[0].backend);
  const out = jitted ? jitted.forward(diffs, consts) : asArray(f(...vals));
  if (!isFloat(out.dtype)) return new Tensor(out);
  const rule = jitted?.rule ?? vjpRule(f, kinds);
  const gradFn: GradFn = {
    name: `${name}Backward`,
    inputs: operands.filter((o): o is Tensor => o instanceof Tensor && o.requiresGrad),
    pull: (ct) => rule(diffs, consts, ct),
  };
  return new Tensor(out, { requiresGrad: true, gradFn });
}

/** A built-in op: its backward rule is keyed by `name` and the JS parameters its function closes over. */
/** @internal */
export function op(name: string, params: readonly unknown[], operands: readonly Operand[], f: (...xs: (Tracer | number)[]) => Tracer): Tensor {
  return record(`${name}(${JSON.stringify(params)})`, name, operands, f);
}

/**
 * Apply `f` to the operands' values, recording it for backward where grad
 * mode is on and some Tensor operand requires grad. `f` must be a pure
 * function of its arguments: its backward rule is cached per `f` (and per
 * operand kinds and shapes), so reuse one function rather than a fresh
 * closure per call to get the compiled backward.
 */
export function apply(name: string, operands: readonly Operand[], f: (...xs: (Tracer | number)[]) => Tracer): Tensor {
  if (typeof name !== "string") throw new ArgumentError(`apply: the first argument is the operation's name (a string), got ${describeValue(name)}; call apply(name, [x, y], (a, b) => ...)`);
  if (!globalThis.Array.isArray(operands)) throw new ArgumentError(`apply(${name}): operands must be a list of tensors or numbers, got ${describeValue(operands)}`);
  if (typeof f !== "function") throw new ArgumentError(`apply(${name}): the third argument must be a function of the operands' arrays, got ${describeValue(f)}`);
  return record(f, name, operands, f);
}

function unaryOp(name: string, x: Tensor, f: (a: Tracer) => Tracer, params: readonly unknown[] = []): Tensor {
  return op(name, params, [x], (a) => f(a as Tracer));
}
function binaryOp(name: string, x: Tensor, y: Operand, f: (a: Tracer | number, b: Tracer | number) => Tracer): Tensor {
  return op(name, [], [x, y], f);
}

/** Wrap a pure tinyflow function of arrays as a differentiable op on tensors (any tinyflow layer or loss). */
export function lift<A extends Operand[]>(name: string, f: (...xs: (Tracer | number)[]) => Tracer): (...args: A) => Tensor {
  if (typeof name !== "string") throw new ArgumentError(`lift: the first argument is the operation's name (a string), got ${describeValue(name)}`);
  if (typeof f !== "function") throw new ArgumentError(`lift(${name}): expected a function of tinyflow arrays, got ${describeValue(f)}`);
  return (...args: A) => apply(name, args, f);
}
