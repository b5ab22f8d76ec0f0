// Sequential: a chain of layers (and plain functions such as nn.relu used as
// stateless layers). Params and state are JS arrays with one entry per child
// ({} for a function), so `params[0].weight` is the first layer's weight; in
// init and in train mode the key is split with random.split, one per child.

import * as random from "../../random";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { describeValue } from "../../core/options";
import { defineLayer, isLayer, type AnyLayer, type Layer, type LayerFunction } from "./layer";

type ParamsOf<L> = L extends Layer<infer P, any, any> ? P : {};
type StateOf<L> = L extends Layer<any, infer S, any> ? S : {};

/** Sequential's params: one entry per child, in order. */
export type SequentialParams<L extends readonly (AnyLayer | LayerFunction)[]> = { -readonly [K in keyof L]: ParamsOf<L[K]> };
/** Sequential's state: one entry per child ({} for stateless ones). */
export type SequentialState<L extends readonly (AnyLayer | LayerFunction)[]> = { -readonly [K in keyof L]: StateOf<L[K]> };

/**
 * Compose layers left to right. Children are layers or plain functions of one
 * array (nn.relu, (x) => x.reshape(...)); the model is stateful when a child is.
 * Only train and key reach the children (a layer that needs its own apply
 * options, such as attention masks, is applied directly).
 */
export function Sequential<const L extends readonly (AnyLayer | LayerFunction)[]>(layers: L): Layer<SequentialParams<L>, SequentialState<L>> {
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
  return defineLayer<P, S, {}>({
    name: "Sequential",
    header,
    optionRules: {},
    stateful: layers.some((c) => isLayer(c) && c.stateful),
    children,
    emptyState: () => layers.map(() => ({})) as unknown as S,
    init(key) {
      const keys = perChildKeys(key);
      const inits = layers.map((c, i) => (isLayer(c) ? c.init(keys[i]!) : { params: {}, state: {} }));
      return { params: inits.map((r) => r.params) as unknown as P, state: inits.map((r) => r.state) as unknown as S };
    },
    forward(params, state, x, { train, key }) {
      const ps = checkTree("params", params);
      const ss = checkTree("state", state);
      const keys = perChildKeys(train ? key : undefined);
      let h = x;
      const newState: unknown[] = [];
      layers.forEach((c, i) => {
        if (isLayer(c)) {
          const [y, s] = c.applyWithState(ps[i], ss[i], h, keys[i] === undefined ? { train } : { train, key: keys[i] });
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
