// tinyflow/eager's optimizers (PyTorch's torch.optim): SGD and Adam, each
// step one jitted update per parameter; Adam's moments are tinyflow/optim's
// scaleByAdam.

import { Array as TfArray } from "../../core/array";
import { ArgumentError, OptionsError } from "../../core/errors";
import { checkOptions, opt, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import { jit } from "../../../transforms";
import * as np from "../../numpy";
import { scaleByAdam, type AdamState, type GradientTransformation } from "../../optim/transforms";
import { noGrad } from "./grad_mode";
import { Tensor } from "./tensor";

// --- optimizers ------------------------------------------------------------------------------------------

abstract class Optimizer {
  readonly params: Tensor[];
  constructor(params: Iterable<Tensor>, where: string) {
    this.params = [...params];
    if (this.params.length === 0) throw new ArgumentError(`${where}: got an empty parameter list`);
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ArgumentError(`${where}: parameter ${i} is not a Tensor`);
      if (!p.isLeaf || !p.requiresGrad) throw new ArgumentError(`${where}: parameter ${i} must be a leaf tensor with requiresGrad`);
    });
  }
  /** Set every parameter's grad to null. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
  abstract step(): void;
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
const sgdRules: OptionRules<SGDOptions> = { lr: opt.nonNegative, momentum: opt.nonNegative, weightDecay: opt.nonNegative, nesterov: opt.boolean };

const sgdUpdate = jit((p: Tracer, g: Tracer, buf: Tracer, lr: Tracer, mom: Tracer, wd: Tracer, nesterov: boolean, first: boolean) => {
  const gw = np.add(g, np.multiply(wd, p));
  const b = first ? gw : np.add(np.multiply(mom, buf), gw);
  const d = nesterov ? np.add(gw, np.multiply(mom, b)) : b;
  return [np.subtract(p, np.multiply(lr, d)), b];
}, { staticArgnums: [6, 7] });

/** PyTorch's SGD: buf = momentum·buf + g (buf = g on the first step); p -= lr·buf. */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  #bufs = new Map<Tensor, TfArray>();
  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    super(params, "SGD");
    checkOptions("SGD", opts, sgdRules);
    if (opts?.lr === undefined) throw new OptionsError("SGD: option lr is required (a non-negative number), e.g. new SGD(model.parameters(), { lr: 0.1 })");
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new OptionsError("SGD: nesterov momentum needs a momentum above 0, got momentum 0; pass { momentum: 0.9, nesterov: true }");
  }
  step(): void {
    noGrad(() => {
      for (const p of this.params) {
        if (p.grad === null) continue;
        const buf = this.#bufs.get(p);
        const s = (v: number) => TfArray.scalar(v, "float32");
        const [np_, b] = sgdUpdate(p.value, p.grad.value, buf ?? p.grad.value, s(this.lr), s(this.momentum), s(this.weightDecay), this.nesterov, buf === undefined) as [TfArray, TfArray];
        if (this.momentum !== 0) this.#bufs.set(p, b);
        p.set_(np_);
      }
    });
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

const adamRules: OptionRules<AdamOptions> = {
  lr: opt.nonNegative,
  betas: {
    expected: "a pair [beta1, beta2] of numbers in [0, 1)",
    accepts: (v) => Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === "number" && b >= 0 && b < 1),
  },
  eps: opt.nonNegative,
  weightDecay: opt.nonNegative,
};

/** One parameter's jitted Adam step: (p, g, state, lr, weight decay) -> [new p, new state]. */
type AdamStep = (p: TfArray, g: TfArray, state: AdamState, lr: TfArray, wd: TfArray) => [TfArray, AdamState];

/**
 * PyTorch's Adam: p -= lr · m̂ / (√v̂ + eps) with bias-corrected moments and
 * L2 weight decay added to the gradient. The moments are optim's scaleByAdam
 * (one state per parameter, so each counts its own steps, as PyTorch does).
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly #adam: GradientTransformation<AdamState>;
  readonly #update: AdamStep;
  #state = new Map<Tensor, AdamState>();
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, "Adam");
    checkOptions("Adam", opts, adamRules);
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    const adam = scaleByAdam({ b1: this.betas[0], b2: this.betas[1], eps: this.eps });
    this.#adam = adam;
    this.#update = jit((p: Tracer, g: Tracer, state: AdamState, lr: Tracer, wd: Tracer) => {
      const [step, next] = adam.update(np.add(g, np.multiply(wd, p)), state);
      return [np.subtract(p, np.multiply(lr, step)), next];
    }) as unknown as AdamStep;
  }
  step(): void {
    const s = (v: number) => TfArray.scalar(v, "float32");
    noGrad(() => {
      for (const p of this.params) {
        if (p.grad === null) continue;
        const [p2, state] = this.#update(p.value, p.grad.value, this.#state.get(p) ?? this.#adam.init(p.value), s(this.lr), s(this.weightDecay));
        this.#state.set(p, state);
        p.set_(p2);
      }
    });
  }
}

export const optim = { SGD, Adam };
