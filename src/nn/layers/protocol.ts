// The types of the layer protocol (Layer, its apply options, plain-function
// layers) and the test for a layer object, shared by defineLayer, the
// composite layers and the summary renderer.

import type { ArrayLike, Tracer } from "../../core/trace";

/** Options every layer's apply accepts. */
export interface ApplyOptions<S = unknown> {
  /** Train mode: dropout active, batch statistics used and running statistics updated (default false). */
  train?: boolean;
  /** PRNG key for stochastic layers (Dropout) in train mode; Sequential splits it per child. */
  key?: Tracer;
  /** The layer's state (BatchNorm's running statistics) for eval-mode `apply`. */
  state?: S;
}

/** Options of applyWithState: ApplyOptions without `state` (it is an argument). */
export type StepOptions = Omit<ApplyOptions, "state">;

/** A plain function used as a stateless layer in Sequential (nn.relu, x => x.mul(2)). */
export type LayerFunction = (x: Tracer) => Tracer;

/**
 * A layer: `init(key)` draws its parameters and state; `apply` is a pure
 * function of them. `O` are the layer's own apply options (attention masks,
 * graph edges, recurrent carries).
 */
export interface Layer<P = unknown, S = unknown, O extends object = {}> {
  /** The layer kind, e.g. "Linear". */
  readonly name: string;
  /** True when the layer keeps state that train mode updates (BatchNorm, or a Sequential holding one). */
  readonly stateful: boolean;
  /** The named sub-layers whose parameters sit under the same keys of this layer's params (for summaries). */
  readonly children: readonly (readonly [string, Layer<any, any, any> | LayerFunction])[];
  /** One-line description with the hyperparameters, e.g. "Linear(784→128)". */
  describe(): string;
  init(key: ArrayLike): { params: P; state: S };
  /** Forward pass without returning state: eval mode, or train mode for stateless layers. */
  apply(params: P, x: Tracer, opts?: ApplyOptions<S> & O): Tracer;
  /** Forward pass returning the updated state (train mode updates BatchNorm's running statistics). */
  applyWithState(params: P, state: S, x: Tracer, opts?: StepOptions & O): [Tracer, S];
  /**
   * The layer tree with parameter shapes and counts, and the state's (BatchNorm's running
   * statistics) beside them when the layer keeps any; what is not given is traced from `init`.
   */
  summary(params?: P, state?: S): string;
  /** The layer tree without counts (what String(layer) prints). */
  toString(): string;
}

/** Any layer, whatever its params, state and options. */
export type AnyLayer = Layer<any, any, any>;

/** Whether a value is a layer (an object with the protocol's methods). */
export function isLayer(x: unknown): x is AnyLayer {
  return typeof x === "object" && x !== null && typeof (x as AnyLayer).init === "function" && typeof (x as AnyLayer).applyWithState === "function";
}
