// Sequential: a chain of layers (and plain functions such as nn.relu used as
// stateless layers). Params and state are JS arrays with one entry per child
// ({} for a function), so `params[0].weight` is the first layer's weight; in
// init and in train mode the key is split with random.split, one per child.
// `train` reaches every child; a child's own apply options (attention masks,
// graph edges, recurrent carries) are given per call under the same index as
// its params: `apply(params, x, { layerOptions: { 2: { mask } } })`.

import * as random from "../../random";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { describeValue, isPlainObject, type OptionRule } from "../../core/options";
import { defineLayer, isLayer, type AnyLayer, type Layer, type LayerFunction } from "./layer";

/** The params type of a layer ({} for a plain function), e.g. `LayerParams<typeof model>`. */
export type LayerParams<L> = L extends Layer<infer P, any, any> ? P : {};
/** The state type of a layer ({} for a plain function). */
export type LayerState<L> = L extends Layer<any, infer S, any> ? S : {};

/** Sequential's params: one entry per child, in order. */
export type SequentialParams<L extends readonly (AnyLayer | LayerFunction)[]> = { -readonly [K in keyof L]: LayerParams<L[K]> };
/** Sequential's state: one entry per child ({} for stateless ones). */
export type SequentialState<L extends readonly (AnyLayer | LayerFunction)[]> = { -readonly [K in keyof L]: LayerState<L[K]> };
/** A layer's own apply options (never for a plain function), e.g. `{ mask?, isCausal?, ... }` for MultiHeadAttention. */
export type LayerApplyOptions<L> = L extends Layer<any, any, infer O> ? O : never;
/** Per-child apply options of a Sequential, keyed by the child's index: `{ 2: { isCausal: true } }`. */
export type SequentialLayerOptions<L extends readonly (AnyLayer | LayerFunction)[]> = {
  [K in keyof L as K extends `${number}` ? K : never]?: LayerApplyOptions<L[K]>;
};
/** Sequential's own apply options (besides train, key and state, which every layer takes). */
export interface SequentialApplyOptions<L extends readonly (AnyLayer | LayerFunction)[]> {
  /**
   * Options for single children, by index (as their params are indexed): a causal mask for
   * the attention layer at index 2 is `{ layerOptions: { 2: { isCausal: true } } }`; a nested
   * Sequential takes its own `{ layerOptions }`. `train` and `key` are given to the Sequential
   * itself, which passes train to every child and splits the key among them.
   */
  layerOptions?: SequentialLayerOptions<L>;
}

const layerOptionsRule: OptionRule = {
  expected: "an object of per-layer options keyed by layer index ({ 2: { mask } })",
  accepts: (v) => isPlainObject(v) || Array.isArray(v),
};
/** The options a Sequential owns: a child may not take them from layerOptions. */
const SHARED_OPTIONS = ["train", "key", "state"] as const;

/**
 * Compose layers left to right. Children are layers or plain functions of one
 * array (nn.relu, (x) => x.reshape(...)); the model is stateful when a child is.
 * `train` reaches every child and the key is split among them; a child's own
 * apply options go by its index in `layerOptions`
 * (`model.apply(params, x, { layerOptions: { 1: { edges } } })`).
 */
export function Sequential<const L extends readonly (AnyLayer | LayerFunction)[]>(
  layers: L,
): Layer<SequentialParams<L>, SequentialState<L>, SequentialApplyOptions<L>> {
  if (!Array.isArray(layers)) throw new ArgumentError(`nn.Sequential: expected a list of layers, got ${describeValue(layers)}`);
  layers.forEach((c, i) => {
    if (!isLayer(c) && typeof c !== "function") {
      throw new ArgumentError(`nn.Sequential: child ${i} must be a layer (nn.Linear(...)) or a function of one array (nn.relu), got ${describeValue(c)}`);
    }
  });
  const children = layers.map((c, i) => [String(i), c] as const);
  const n = layers.length;
  const header = "Sequential";
  type P = SequentialParams<L>;
  type S = SequentialState<L>;
  const perChildKeys = (key: Tracer | undefined): (Tracer | undefined)[] => {
    if (key === undefined) return layers.map(() => undefined);
    const keys = random.split(key, n);
    return layers.map((_, i) => keys.slice(i));
  };
  const checkTree = (what: string, t: unknown): unknown[] => {
    if (!Array.isArray(t) || t.length !== n) {
      throw new ArgumentError(`${header}: ${what} must be a list with one entry per layer (${n}), as init returns; got ${describeValue(t)}`);
    }
    return t;
  };
  /** The options of each child from `layerOptions`, checked against the children (indices, plain functions, shared options). */
  const perChildOptions = (given: SequentialLayerOptions<L> | undefined): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = layers.map(() => ({}));
    if (given === undefined) return out;
    for (const [k, v] of Object.entries(given)) {
      if (v === undefined) continue;
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new ArgumentError(`${header}: layerOptions has key ${JSON.stringify(k)}, but the layers are indexed 0..${n - 1}; key each child's options by its index`);
      }
      const child = layers[i];
      if (!isLayer(child)) {
        throw new ArgumentError(`${header}: layerOptions[${i}] is given, but child ${i} (${child.name || "a function"}) is a plain function that takes no options`);
      }
      if (!isPlainObject(v)) throw new ArgumentError(`${header}: layerOptions[${i}] must be an options object for ${child.describe()}, got ${describeValue(v)}`);
      const shared = SHARED_OPTIONS.find((o) => o in v);
      if (shared !== undefined) {
        throw new ArgumentError(
          `${header}: layerOptions[${i}] sets "${shared}", which the Sequential owns; pass { train, key } to the Sequential (it gives train to every child and splits the key) and its state as a whole`,
        );
      }
      out[i] = v;
    }
    return out;
  };
  const stateful = layers.some((c) => isLayer(c) && c.stateful);
  return defineLayer<P, S, SequentialApplyOptions<L>>({
    name: "Sequential",
    header,
    optionRules: { layerOptions: layerOptionsRule },
    stateful,
    children,
    emptyState: () => layers.map(() => ({})) as unknown as S,
    init(key) {
      const keys = perChildKeys(key);
      const inits = layers.map((c, i) => (isLayer(c) ? c.init(keys[i]!) : { params: {}, state: {} }));
      return { params: inits.map((r) => r.params) as unknown as P, state: inits.map((r) => r.state) as unknown as S };
    },
    forward(params, state, x, { train, key, layerOptions }) {
      const ps = checkTree("params", params);
      // A stateless Sequential nested in another is handed the parent's placeholder {} for its state.
      const ss = !stateful && isPlainObject(state) && Object.keys(state).length === 0 ? layers.map(() => ({})) : checkTree("state", state);
      const keys = perChildKeys(train ? key : undefined);
      const childOptions = perChildOptions(layerOptions);
      let h = x;
      const newState: unknown[] = [];
      layers.forEach((c, i) => {
        if (isLayer(c)) {
          const [y, s] = c.applyWithState(ps[i], ss[i], h, keys[i] === undefined ? { ...childOptions[i], train } : { ...childOptions[i], train, key: keys[i] });
          h = y;
          newState.push(s);
          return;
        }
        const y: unknown = c(h);
        if (!isTracer(y)) {
          throw new ArgumentError(
            `${header}: child ${i} (${c.name || "a function"}) returned ${describeValue(y)} instead of an array; a layer factory must be called (nn.Flatten(), not nn.Flatten)`,
          );
        }
        h = y;
        newState.push(ss[i]);
      });
      return [h, newState as unknown as S];
    },
  });
}
