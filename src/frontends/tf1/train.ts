// `tf.train`: TF1's optimizers as graph builders. `minimize(loss)` adds
// `tf.gradients` of the loss with respect to the trainable variables and the
// assignments of one update step, grouped into one Operation. Slot variables
// (momentum, Adam's moments) are ordinary non-trainable Variables, so build
// the optimizer before running `global_variables_initializer()`. All reads
// of a run see the values from before it, so each update is written from
// the old values and the new slot values computed in the same step.

import { ArgumentError } from "../../core/errors";
import { checkOptions, opt, type OptionRule, type OptionRules } from "../../core/options";
import { Operation, RefVariable, Tensor, describe, type TensorLike } from "./graph";
import { zeros } from "./creation_ops";
import { gradients } from "./gradients";
import { add, divide, multiply, sqrt, subtract } from "./math_ops";
import { Variable, assign, assign_add, assign_sub, group } from "./state_ops";

export interface MinimizeOptions {
  var_list?: readonly RefVariable[];
  /** An int32 Variable incremented by each step. */
  global_step?: RefVariable | null;
  name?: string;
}

export type GradAndVar = [Tensor, RefVariable];

export interface ComputeGradientsOptions {
  var_list?: readonly RefVariable[];
}
export interface ApplyGradientsOptions {
  /** An int32 Variable incremented by each step. */
  global_step?: RefVariable | null;
  name?: string;
}

const varListRule: OptionRule = { expected: "a list of Variables", accepts: (v) => Array.isArray(v) && v.every((x) => x instanceof RefVariable) };
const globalStepRule: OptionRule = { expected: "null or a Variable", accepts: (v) => v === null || v instanceof RefVariable };
const computeRules: OptionRules<ComputeGradientsOptions> = { var_list: varListRule };
const applyRules: OptionRules<ApplyGradientsOptions> = { global_step: globalStepRule, name: opt.string };
const minimizeRules: OptionRules<MinimizeOptions> = { var_list: varListRule, global_step: globalStepRule, name: opt.string };

export abstract class Optimizer {
  constructor(readonly name: string) {}

  /** [gradient, variable] pairs of the loss for var_list (default: all trainable variables). */
  compute_gradients(loss: Tensor, options?: ComputeGradientsOptions): GradAndVar[] {
    const opts = checkOptions(`${this.name}Optimizer.compute_gradients`, options, computeRules);
    if (!(loss instanceof Tensor)) throw new ArgumentError(`${this.name}.compute_gradients: loss must be a Tensor, got ${describe(loss)}`);
    const vars = [...(opts.var_list ?? loss.graph.trainableVariables)];
    if (vars.length === 0) throw new ArgumentError(`${this.name}.compute_gradients: no variables to optimize`);
    const grads = gradients(loss, vars);
    return vars.map((v, i) => [grads[i], v]);
  }

  /** One Operation that applies the update for each [gradient, variable] pair. */
  apply_gradients(gradsAndVars: readonly (readonly [Tensor, RefVariable])[], options?: ApplyGradientsOptions): Operation {
    const opts = checkOptions(`${this.name}Optimizer.apply_gradients`, options, applyRules);
    const updates: (Tensor | Operation)[] = [];
    const extra = this.prepare(gradsAndVars.map(([, v]) => v));
    for (const [g, v] of gradsAndVars) updates.push(...this.applyOne(g, v));
    updates.push(...extra);
    if (opts.global_step) updates.push(assign_add(opts.global_step, 1));
    return new Operation("NoOp", [group(updates)], opts.name ?? this.name);
  }

  minimize(loss: Tensor, options?: MinimizeOptions): Operation {
    const opts = checkOptions(`${this.name}Optimizer.minimize`, options, minimizeRules);
    return this.apply_gradients(this.compute_gradients(loss, { var_list: opts.var_list }), { global_step: opts.global_step, name: opts.name });
  }

  /** Shared per-step state (e.g. Adam's beta powers) and its updates. */
  protected prepare(_vars: RefVariable[]): (Tensor | Operation)[] {
    return [];
  }
  protected abstract applyOne(grad: Tensor, v: RefVariable): (Tensor | Operation)[];

  protected slot(v: RefVariable, slotName: string): RefVariable {
    const shape = v.shape;
    if (shape === null || shape.some((d) => d === null)) throw new ArgumentError(`${this.name}: variable '${v.name}' needs a fully known shape for its ${slotName} slot`);
    return Variable(zeros(shape as number[], v.dtype), { name: `${v.opName}/${this.name}/${slotName}`, trainable: false });
  }
}

/** `tf.train.GradientDescentOptimizer(learning_rate)`: v -= lr · g. */
export class GradientDescentOptimizer extends Optimizer {
  constructor(readonly learning_rate: TensorLike) {
    super("GradientDescent");
  }
  protected applyOne(g: Tensor, v: RefVariable): Tensor[] {
    return [assign_sub(v, multiply(this.learning_rate, g))];
  }
}

/** `tf.train.MomentumOptimizer(learning_rate, momentum)`: a = m·a + g; v -= lr · a. */
export class MomentumOptimizer extends Optimizer {
  constructor(
    readonly learning_rate: TensorLike,
    readonly momentum: TensorLike,
  ) {
    super("Momentum");
  }
  protected applyOne(g: Tensor, v: RefVariable): Tensor[] {
    const acc = this.slot(v, "Momentum");
    const accNew = add(multiply(this.momentum, acc), g);
    return [assign(acc, accNew), assign_sub(v, multiply(this.learning_rate, accNew))];
  }
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}
const decayRate: OptionRule = { expected: "a number in [0, 1)", accepts: (v) => typeof v === "number" && v >= 0 && v < 1 };
const adamRules: OptionRules<AdamOptions> = { beta1: decayRate, beta2: decayRate, epsilon: opt.nonNegative };

/** `tf.train.AdamOptimizer(learning_rate = 0.001, { beta1, beta2, epsilon })`, TF's update with bias-corrected step size. */
export class AdamOptimizer extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  #lrT: Tensor | null = null;

  constructor(
    readonly learning_rate: TensorLike = 0.001,
    options?: AdamOptions,
  ) {
    super("Adam");
    const opts = checkOptions("tf.train.AdamOptimizer", options, adamRules);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
  }

  protected override prepare(): Tensor[] {
    const b1p = Variable(this.beta1, { name: "beta1_power", trainable: false, dtype: "float32" });
    const b2p = Variable(this.beta2, { name: "beta2_power", trainable: false, dtype: "float32" });
    this.#lrT = divide(multiply(this.learning_rate, sqrt(subtract(1, b2p))), subtract(1, b1p));
    return [assign(b1p, multiply(b1p, this.beta1)), assign(b2p, multiply(b2p, this.beta2))];
  }

  protected applyOne(g: Tensor, v: RefVariable): Tensor[] {
    const m = this.slot(v, "Adam");
    const s = this.slot(v, "Adam_1");
    const mNew = add(multiply(this.beta1, m), multiply(1 - this.beta1, g));
    const sNew = add(multiply(this.beta2, s), multiply(1 - this.beta2, multiply(g, g)));
    const step = divide(multiply(this.#lrT!, mNew), add(sqrt(sNew), this.epsilon));
    return [assign(m, mNew), assign(s, sNew), assign_sub(v, step)];
  }
}

/** A class that can also be called without `new`, as TF's Python constructors are. */
function callable<A extends unknown[], T>(C: new (...args: A) => T): { (...args: A): T; new (...args: A): T } {
  const f = function (...args: A): T {
    return new C(...args);
  };
  f.prototype = C.prototype;
  return f as unknown as { (...args: A): T; new (...args: A): T };
}

/** `tf.train`: the optimizers, callable with or without `new`. */
export const train = {
  Optimizer,
  GradientDescentOptimizer: callable(GradientDescentOptimizer),
  MomentumOptimizer: callable(MomentumOptimizer),
  AdamOptimizer: callable(AdamOptimizer),
};
