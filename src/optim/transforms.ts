// Optax-style gradient transformations: `{ init(params), update(updates,
// state, params?) -> [updates, state] }` over pytrees. States are pytrees of
// arrays (the step count an int32 scalar), so an update step can be jitted
// with the state as an ordinary argument. The optimizers (sgd, adam, adamw,
// rmsprop) are chains of the small transformations here, as in optax.

import * as np from "../numpy";
import * as lax from "../lax";
import { isFloat } from "../core/dtype";
import { ArgumentError, ShapeError, asCalledFrom } from "../core/errors";
import * as tree from "../core/pytree";
import { isTracer, type Tracer } from "../core/trace";
import { asSchedule, type ScalarOrSchedule } from "./schedules";
import { checkOptions, opt, type OptionRules } from "../core/options";

/** Optimizer state: any pytree of arrays. */
export type OptState = any;

export interface GradientTransformation<S = OptState> {
  init(params: unknown): S;
  /** Transform `updates` (usually gradients) given the state (and params, for weight decay). */
  update<U>(updates: U, state: S, params?: unknown): [U, S];
}

// --- helpers -----------------------------------------------------------------------

function checkTree(where: string, x: unknown, name: string): void {
  const [leaves] = tree.flatten(x, `optim.${where}`);
  leaves.forEach((l, i) => {
    if (!isTracer(l) && typeof l !== "number") {
      throw new ArgumentError(`optim.${where}: ${name} leaf ${tree.leafPaths(x)[i]} must be an array or a number, got ${typeof l}`);
    }
  });
}

function sameStructure(where: string, a: unknown, b: unknown, an: string, bn: string): void {
  const da = tree.structure(a);
  const db = tree.structure(b);
  if (!da.equals(db)) throw new ShapeError(`optim.${where}: ${an} has structure ${da} but ${bn} has ${db}`);
  const la = tree.leaves(a);
  const lb = tree.leaves(b);
  la.forEach((x, i) => {
    const y = lb[i];
    const sx = isTracer(x) ? x.shape : [];
    const sy = isTracer(y) ? y.shape : [];
    if (sx.length !== sy.length || sx.some((d, j) => d !== sy[j])) {
      throw new ShapeError(`optim.${where}: leaf ${tree.leafPaths(a)[i]} of ${an} has shape [${sx.join(",")}] but ${bn} has [${sy.join(",")}]`);
    }
  });
}

/** zeros shaped like each leaf (float32 for number leaves). */
function zerosLikeTree(params: unknown): unknown {
  return tree.map((p: Tracer | number) => (isTracer(p) ? np.zeros(p.shape, { dtype: isFloat(p.dtype) ? p.dtype : "float32" }) : np.asarray(0, { dtype: "float32" })), params);
}

function num(where: string, name: string, x: unknown, lo = -Infinity, hi = Infinity): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < lo || x > hi) {
    throw new ArgumentError(`optim.${where}: ${name} must be a finite number in [${lo}, ${hi}], got ${String(x)}`);
  }
  return x;
}

const zeroCount = (): Tracer => np.asarray(0, { dtype: "int32" });
/** count + 1, saturating at int32's max (optax's safe_increment). */
const increment = (c: Tracer): Tracer => np.where(np.less(c, 2147483647), np.add(c, 1), c);

// --- transformations ---------------------------------------------------------------

/** Leaves updates unchanged. */
export function identity(): GradientTransformation<Record<string, never>> {
  return {
    init: () => ({}),
    update: (updates, state) => [updates, state],
  };
}

/** Multiplies updates by a constant. */
export function scale(step: number): GradientTransformation<Record<string, never>> {
  num("scale", "step", step);
  return {
    init: () => ({}),
    update: (updates, state) => [tree.map((g: Tracer) => np.multiply(g, step), updates), state],
  };
}

export interface ScheduleState {
  count: Tracer;
}

/** Multiplies updates by schedule(count), then counts the step. */
export function scaleBySchedule(schedule: (count: Tracer) => Tracer): GradientTransformation<ScheduleState> {
  if (typeof schedule !== "function") throw new ArgumentError(`optim.scaleBySchedule: schedule must be a function of the step count, got ${typeof schedule}`);
  return {
    init: () => ({ count: zeroCount() }),
    update: (updates, state) => {
      const s = schedule(state.count);
      return [tree.map((g: Tracer) => np.multiply(g, np.astype(s, isTracer(g) && isFloat(g.dtype) ? g.dtype : "float32")), updates), { count: increment(state.count) }];
    },
  };
}

/** Scales by -lr (a descent step); a schedule of the step count keeps its own count. */
export function scaleByLearningRate(lr: ScalarOrSchedule, opts: { flipSign?: boolean } = {}): GradientTransformation {
  checkOptions("optim.scaleByLearningRate", opts, { flipSign: opt.boolean });
  const sign = opts.flipSign ?? true ? -1 : 1;
  if (typeof lr === "function") return scaleBySchedule((c) => np.multiply(sign, lr(c)));
  num("scaleByLearningRate", "learning rate", lr);
  return scale(sign * lr);
}

export interface TraceState {
  trace: unknown;
}

/** Momentum: t = g + decay·t; updates t (or g + decay·t with nesterov). */
export function trace(opts: { decay: number; nesterov?: boolean }): GradientTransformation<TraceState> {
  if (typeof opts !== "object" || opts === null) throw new ArgumentError(`optim.trace: expected an options object { decay, nesterov? }, got ${String(opts)}`);
  checkOptions("optim.trace", opts, { decay: opt.number, nesterov: opt.boolean });
  const decay = num("trace", "decay", opts.decay);
  return {
    init: (params) => ({ trace: zerosLikeTree(params) }),
    update: (updates, state) => {
      sameStructure("trace", updates, state.trace, "updates", "the momentum state");
      const newTrace = tree.map((g: Tracer, t: Tracer) => np.add(g, np.multiply(decay, t)), updates, state.trace);
      const out = opts.nesterov ? tree.map((g: Tracer, t: Tracer) => np.add(g, np.multiply(decay, t)), updates, newTrace) : newTrace;
      return [out as typeof updates, { trace: newTrace }];
    },
  };
}

export interface AdamState {
  count: Tracer;
  mu: unknown;
  nu: unknown;
}

export interface ScaleByAdamOptions {
  b1?: number;
  b2?: number;
  eps?: number;
  epsRoot?: number;
}

const adamRules: OptionRules<ScaleByAdamOptions> = { b1: opt.number, b2: opt.number, eps: opt.number, epsRoot: opt.number };
const rmsRules: OptionRules<{ decay?: number; eps?: number; initialScale?: number }> = { decay: opt.number, eps: opt.number, initialScale: opt.number };

/** Adam's rescaling: m̂ / (sqrt(v̂ + epsRoot) + eps) with bias-corrected moments. */
export function scaleByAdam(opts: ScaleByAdamOptions = {}): GradientTransformation<AdamState> {
  checkOptions("optim.scaleByAdam", opts, adamRules);
  const b1 = num("scaleByAdam", "b1", opts.b1 ?? 0.9, 0, 1);
  const b2 = num("scaleByAdam", "b2", opts.b2 ?? 0.999, 0, 1);
  const eps = num("scaleByAdam", "eps", opts.eps ?? 1e-8, 0);
  const epsRoot = num("scaleByAdam", "epsRoot", opts.epsRoot ?? 0, 0);
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosLikeTree(params), nu: zerosLikeTree(params) }),
    update: (updates, state) => {
      sameStructure("scaleByAdam", updates, state.mu, "updates", "the first-moment state");
      const mu = tree.map((g: Tracer, m: Tracer) => np.add(np.multiply(1 - b1, g), np.multiply(b1, m)), updates, state.mu);
      const nu = tree.map((g: Tracer, v: Tracer) => np.add(np.multiply(1 - b2, np.square(g)), np.multiply(b2, v)), updates, state.nu);
      const count = increment(state.count);
      const c = np.astype(count, "float32");
      const bc1 = np.subtract(1, np.power(np.asarray(b1, { dtype: "float32" }), c));
      const bc2 = np.subtract(1, np.power(np.asarray(b2, { dtype: "float32" }), c));
      const out = tree.map(
        (m: Tracer, v: Tracer) => np.divide(np.divide(m, bc1), np.add(np.sqrt(np.add(np.divide(v, bc2), epsRoot)), eps)),
        mu,
        nu,
      );
      return [out as typeof updates, { count, mu, nu }];
    },
  };
}

export interface RmsState {
  nu: unknown;
}

/** RMSProp's rescaling: g / sqrt(ν + eps) with ν the running mean of g² (eps inside the root, as optax). */
export function scaleByRms(opts: { decay?: number; eps?: number; initialScale?: number } = {}): GradientTransformation<RmsState> {
  checkOptions("optim.scaleByRms", opts, rmsRules);
  const decay = num("scaleByRms", "decay", opts.decay ?? 0.9, 0, 1);
  const eps = num("scaleByRms", "eps", opts.eps ?? 1e-8, 0);
  const initialScale = num("scaleByRms", "initialScale", opts.initialScale ?? 0);
  return {
    init: (params) => ({ nu: tree.map((z: Tracer) => np.add(z, initialScale), zerosLikeTree(params)) }),
    update: (updates, state) => {
      sameStructure("scaleByRms", updates, state.nu, "updates", "the second-moment state");
      const nu = tree.map((g: Tracer, v: Tracer) => np.add(np.multiply(1 - decay, np.square(g)), np.multiply(decay, v)), updates, state.nu);
      const out = tree.map((g: Tracer, v: Tracer) => np.multiply(g, lax.rsqrt(np.add(v, eps))), updates, nu);
      return [out as typeof updates, { nu }];
    },
  };
}

export interface StddevState {
  mu: unknown;
  nu: unknown;
}

/** Centered RMSProp's rescaling: g / sqrt(ν - μ² + eps). */
export function scaleByStddev(opts: { decay?: number; eps?: number; initialScale?: number } = {}): GradientTransformation<StddevState> {
  checkOptions("optim.scaleByStddev", opts, rmsRules);
  const decay = num("scaleByStddev", "decay", opts.decay ?? 0.9, 0, 1);
  const eps = num("scaleByStddev", "eps", opts.eps ?? 1e-8, 0);
  const initialScale = num("scaleByStddev", "initialScale", opts.initialScale ?? 0);
  return {
    init: (params) => ({ mu: zerosLikeTree(params), nu: tree.map((z: Tracer) => np.add(z, initialScale), zerosLikeTree(params)) }),
    update: (updates, state) => {
      sameStructure("scaleByStddev", updates, state.mu, "updates", "the first-moment state");
      const mu = tree.map((g: Tracer, m: Tracer) => np.add(np.multiply(1 - decay, g), np.multiply(decay, m)), updates, state.mu);
      const nu = tree.map((g: Tracer, v: Tracer) => np.add(np.multiply(1 - decay, np.square(g)), np.multiply(decay, v)), updates, state.nu);
      const out = tree.map((g: Tracer, m: Tracer, v: Tracer) => np.multiply(g, lax.rsqrt(np.add(np.subtract(v, np.square(m)), eps))), updates, mu, nu);
      return [out as typeof updates, { mu, nu }];
    },
  };
}

/** updates + weightDecay · params (decoupled weight decay). `mask(params)` may select the leaves to decay. */
export function addDecayedWeights(weightDecay: number, mask?: ((params: any) => any) | null): GradientTransformation<Record<string, never>> {
  num("addDecayedWeights", "weightDecay", weightDecay);
  return {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined || params === null) {
        throw new ArgumentError("optim.addDecayedWeights: update(grads, state, params) needs params to apply weight decay (adamw)");
      }
      sameStructure("addDecayedWeights", updates, params, "updates", "params");
      const m = mask ? mask(params) : tree.map(() => true, params);
      const out = tree.map((g: Tracer, p: Tracer, keep: boolean) => (keep ? np.add(g, np.multiply(weightDecay, p)) : g), updates, params, m);
      return [out as typeof updates, state];
    },
  };
}

/** The global L2 norm of all leaves of a pytree. */
export function globalNorm(updates: unknown): Tracer {
  checkTree("globalNorm", updates, "updates");
  let total: Tracer = np.asarray(0, { dtype: "float32" });
  for (const leaf of tree.leaves(updates)) total = np.add(total, np.sum(np.square(leaf)));
  return np.sqrt(total);
}

/** Rescales all updates by maxNorm / globalNorm when the global norm exceeds maxNorm. */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<Record<string, never>> {
  num("clipByGlobalNorm", "maxNorm", maxNorm, 0);
  return {
    init: () => ({}),
    update: (updates, state) => {
      const g = globalNorm(updates);
      const under = np.less(g, maxNorm);
      const out = tree.map((t: Tracer) => np.where(under, t, np.multiply(np.divide(t, g), maxNorm)), updates);
      return [out as typeof updates, state];
    },
  };
}

/** Clips each update elementwise to [-maxDelta, maxDelta]. */
export function clip(maxDelta: number): GradientTransformation<Record<string, never>> {
  num("clip", "maxDelta", maxDelta, 0);
  return {
    init: () => ({}),
    update: (updates, state) => [tree.map((t: Tracer) => np.clip(t, -maxDelta, maxDelta), updates), state],
  };
}

/** Applies transformations in sequence; the state is the list of their states. */
export function chain(...transforms: GradientTransformation[]): GradientTransformation<OptState[]> {
  transforms.forEach((t, i) => {
    if (t === null || typeof t !== "object" || typeof t.init !== "function" || typeof t.update !== "function") {
      throw new ArgumentError(`optim.chain: argument ${i} is not a gradient transformation ({ init, update })`);
    }
  });
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (updates, state, params) => {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new ArgumentError(`optim.chain: the state must be the list of ${transforms.length} inner states that init() returned`);
      }
      let u = updates;
      const next: OptState[] = [];
      transforms.forEach((t, i) => {
        const [nu, ns] = t.update(u, state[i], params);
        u = nu;
        next.push(ns);
      });
      return [u, next];
    },
  };
}

// --- optimizers --------------------------------------------------------------------

/** Stochastic gradient descent, optionally with (Nesterov) momentum. */
export function sgd(learningRate: ScalarOrSchedule, opts: { momentum?: number | null; nesterov?: boolean } = {}): GradientTransformation {
  checkOptions("optim.sgd", opts, { momentum: opt.nullable(opt.number), nesterov: opt.boolean });
  asSchedule(learningRate, "sgd");
  const parts: GradientTransformation[] = [];
  if (opts.momentum !== undefined && opts.momentum !== null && opts.momentum !== 0) {
    parts.push(trace({ decay: num("sgd", "momentum", opts.momentum, 0), nesterov: opts.nesterov ?? false }));
  }
  parts.push(scaleByLearningRate(learningRate));
  return chain(...parts);
}

/** Adam (Kingma & Ba). */
export function adam(learningRate: ScalarOrSchedule, opts: ScaleByAdamOptions = {}): GradientTransformation {
  checkOptions("optim.adam", opts, adamRules);
  asSchedule(learningRate, "adam");
  return chain(scaleByAdam(opts), scaleByLearningRate(learningRate));
}

export interface AdamWOptions extends ScaleByAdamOptions {
  weightDecay?: number;
  /** params -> pytree of booleans choosing the leaves to decay (e.g. not biases). */
  mask?: ((params: any) => any) | null;
}

/** Adam with decoupled weight decay (default 1e-4, as optax). */
export function adamw(learningRate: ScalarOrSchedule, opts: AdamWOptions = {}): GradientTransformation {
  checkOptions("optim.adamw", opts, { ...adamRules, weightDecay: opt.number, mask: opt.nullable(opt.function) });
  asSchedule(learningRate, "adamw");
  const { b1, b2, eps, epsRoot } = opts;
  return chain(scaleByAdam({ b1, b2, eps, epsRoot }), addDecayedWeights(opts.weightDecay ?? 1e-4, opts.mask ?? null), scaleByLearningRate(learningRate));
}

export interface RmspropOptions {
  decay?: number;
  eps?: number;
  initialScale?: number;
  centered?: boolean;
  momentum?: number | null;
  nesterov?: boolean;
}

/** RMSProp (eps inside the square root, as optax), optionally centered and with momentum. */
export function rmsprop(learningRate: ScalarOrSchedule, opts: RmspropOptions = {}): GradientTransformation {
  checkOptions("optim.rmsprop", opts, { decay: opt.number, eps: opt.number, initialScale: opt.number, centered: opt.boolean, momentum: opt.nullable(opt.number), nesterov: opt.boolean });
  asSchedule(learningRate, "rmsprop");
  const inner = { decay: opts.decay, eps: opts.eps, initialScale: opts.initialScale };
  const parts: GradientTransformation[] = [opts.centered ? scaleByStddev(inner) : scaleByRms(inner), scaleByLearningRate(learningRate)];
  if (opts.momentum !== undefined && opts.momentum !== null && opts.momentum !== 0) {
    parts.push(trace({ decay: num("rmsprop", "momentum", opts.momentum, 0), nesterov: opts.nesterov ?? false }));
  }
  return chain(...parts);
}

/** params + updates, leafwise, keeping each parameter's dtype. */
export function applyUpdates<P>(params: P, updates: unknown): P {
  return asCalledFrom("applyUpdates", () => {
    checkTree("applyUpdates", params, "params");
    sameStructure("applyUpdates", params, updates, "params", "updates");
    return tree.map((p: Tracer | number, u: Tracer) => {
      const s = np.add(p, u);
      return isTracer(p) && s.dtype !== p.dtype ? np.astype(s, p.dtype) : s;
    }, params, updates);
  });
}
