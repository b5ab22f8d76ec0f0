// The layer protocol of tinyflow/nn: a layer is a plain description object
// (its hyperparameters) with init(key) → { params, state } and a pure
// apply(params, x, opts); parameters and state are plain pytrees, so grad,
// vmap, jit and tinyflow/optim act on them unchanged (flax/equinox style,
// no hidden mutation). `defineLayer` builds the object from a layer's forward
// function and does what every layer shares: option checks, the train/eval
// and key discipline, and summaries.

import { isTracer, type ArrayLike, type Tracer } from "../../core/trace";
import { ArgumentError, ShapeError } from "../../core/errors";
import { checkOptions, describeValue, opt, type OptionRule, type OptionRules } from "../../core/options";
import { renderStructure, renderSummary } from "./summary";
import type { AnyLayer, ApplyOptions, Layer, LayerFunction, StepOptions } from "./protocol";

export type { AnyLayer, ApplyOptions, Layer, LayerFunction, StepOptions } from "./protocol";
export { isLayer } from "./protocol";

/** What a layer's forward function receives besides params, state and x. */
export type ForwardOptions<O extends object> = O & { train: boolean; key: Tracer | undefined };

/** The description `defineLayer` turns into a Layer. */
export interface LayerSpec<P, S, O extends object> {
  name: string;
  /** e.g. "Linear(784→128)". */
  header: string;
  /** Rules of the layer's own apply options (the common train/key/state are added). */
  optionRules: OptionRules<O>;
  /** Whether train mode updates state (then `apply` refuses train mode). */
  stateful?: boolean;
  children?: readonly (readonly [string, AnyLayer | LayerFunction])[];
  init(key: Tracer): { params: P; state: S };
  /** The state a stateless layer is applied with when none is passed. */
  emptyState?: () => S;
  forward(params: P, state: S, x: Tracer, opts: ForwardOptions<O>): [Tracer, S];
}

export const keyRule: OptionRule = { expected: "a PRNG key array (random.key(seed) or a row of random.split)", accepts: (v) => isTracer(v) };
const stepRules: OptionRules<StepOptions> = { train: opt.boolean, key: keyRule };
const applyRules: OptionRules<ApplyOptions> = { ...stepRules, state: opt.any };

/** Check that `x` is an array (layers take arrays, not JS numbers or nested lists). */
export function layerInput(where: string, x: unknown, name = "x"): Tracer {
  if (isTracer(x)) return x;
  throw new ArgumentError(`${where}: ${name} must be an array, got ${describeValue(x)}${Array.isArray(x) ? " (wrap it with np.array(...))" : ""}`);
}

/** Check a PRNG key argument of init. */
export function layerKey(where: string, key: unknown): Tracer {
  if (isTracer(key) && key.dtype === "uint32" && key.ndim === 1 && key.shape[0] === 2) return key;
  throw new ArgumentError(`${where}: key must be a PRNG key (random.key(seed), a uint32 [2] array), got ${describeValue(key)}`);
}

/** Throw the layer's shape error: `Linear(784→128) expects inputs [..., 784], got [32,100]`. */
export function expectShape(header: string, ok: boolean, expected: string, x: Tracer, name = "inputs"): void {
  if (!ok) throw new ShapeError(`${header} expects ${name} ${expected}, got [${x.shape.join(", ")}]`);
}

/** Build a Layer from its spec. */
export function defineLayer<P, S, O extends object>(spec: LayerSpec<P, S, O>): Layer<P, S, O> {
  if (typeof spec !== "object" || spec === null) {
    throw new ArgumentError(`defineLayer: expected a layer spec object ({ name, init, apply, ... }), got ${describeValue(spec)}`);
  }
  if (typeof spec.name !== "string" || typeof spec.init !== "function" || typeof spec.forward !== "function") {
    throw new ArgumentError(
      `defineLayer: a layer spec needs a name (a string) and the functions init(key) and forward(params, state, x, opts), got name ${describeValue(spec.name)}, init ${describeValue(spec.init)}, forward ${describeValue(spec.forward)}`,
    );
  }
  const stateful = spec.stateful ?? false;
  const emptyState = spec.emptyState ?? (() => ({}) as S);
  const rulesApply = { ...applyRules, ...spec.optionRules } as OptionRules<ApplyOptions<S> & O>;
  const rulesStep = { ...stepRules, ...spec.optionRules } as OptionRules<StepOptions & O>;
  const forwardOptions = (o: Record<string, unknown>): ForwardOptions<O> => {
    const rest = { ...o };
    delete rest.state;
    return { ...(rest as O), train: o.train === true, key: o.key as Tracer | undefined };
  };
  const layer: Layer<P, S, O> = {
    name: spec.name,
    stateful,
    children: spec.children ?? [],
    describe: () => spec.header,
    init(key: ArrayLike) {
      return spec.init(layerKey(`${spec.header}.init`, key));
    },
    apply(params: P, x: Tracer, opts?: ApplyOptions<S> & O): Tracer {
      const where = `${spec.header}.apply`;
      const o = checkOptions(where, opts, rulesApply) as ApplyOptions<S> & O;
      if (stateful && o.train === true) {
        throw new ArgumentError(
          `${where}: train mode updates the running statistics, which apply cannot return; call applyWithState(params, state, x, { train: true, key }) and keep the state it returns`,
        );
      }
      let state = o.state;
      if (state === undefined) {
        if (stateful) throw new ArgumentError(`${where}: eval mode reads the running statistics, so pass them: apply(params, x, { state }) with the state from init or applyWithState`);
        state = emptyState();
      }
      return spec.forward(params, state, layerInput(where, x), forwardOptions(o as Record<string, unknown>))[0];
    },
    applyWithState(params: P, state: S, x: Tracer, opts?: StepOptions & O): [Tracer, S] {
      const where = `${spec.header}.applyWithState`;
      const o = checkOptions(where, opts, rulesStep) as StepOptions & O;
      if (state === undefined || state === null) throw new ArgumentError(`${where}: state is missing; pass the state from init (or from the previous applyWithState)`);
      return spec.forward(params, state, layerInput(where, x), forwardOptions(o as Record<string, unknown>));
    },
    summary(params?: P, state?: S): string {
      return renderSummary(layer, params, state);
    },
    toString(): string {
      return renderStructure(layer);
    },
  };
  return layer;
}

/** Check a positive integer hyperparameter of a layer factory. */
export function positiveInt(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new ArgumentError(`${where}: ${name} must be a positive integer, got ${describeValue(v)}`);
  return v;
}
