// SwitchMoE: a Switch Transformer mixture-of-experts feed-forward layer. A
// linear router picks one expert per token (top-1), each expert (a two-layer
// MLP) takes at most `capacity` tokens in arrival order, the expert's output
// is scaled by the router probability, and tokens over capacity are dropped
// (their output is zero, so a residual connection passes them through). The
// auxiliary losses are Switch's load-balancing loss and the router z-loss.
// Routing is expressed with one-hot dispatch tensors and batched matmuls, so
// it is static-shaped and works under jit, grad and vmap.

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import type { Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { checkOptions, describeValue, opt } from "../../core/options";
import { sizeOf } from "../../core/shape";
import { logsumexp, oneHot, relu, softmax } from "../functions";
import { lecunNormal, varianceScaling, zeros, type Initializer } from "../initializers";
import { defineLayer, expectShape, layerInput, positiveInt, type Layer } from "./layer";

export interface SwitchMoEOptions {
  /** Each expert takes ceil(capacityFactor · tokens / numExperts) tokens at most (default 1.25). */
  capacityFactor?: number;
  /** The experts' hidden activation (default nn.relu). */
  activation?: (x: Tracer) => Tracer;
  /** Initializer of the [dModel, numExperts] router weight (default variance scaling 0.1/fan_in, truncated normal, as Switch). */
  routerInit?: Initializer;
  /** Initializer of the experts' [numExperts, in, out] kernels (fans per expert; default lecunNormal({ batchAxis: [0] })). */
  kernelInit?: Initializer;
}

export interface SwitchMoEParams {
  router: { weight: Tracer };
  experts: { inputWeight: Tracer; inputBias: Tracer; outputWeight: Tracer; outputBias: Tracer };
}

/** What applyWithAux returns besides y. */
export interface SwitchMoEAux {
  /** numExperts · Σ_e f_e · P_e, with f_e the fraction of tokens whose top choice is e and P_e the mean router probability of e (1 when balanced). */
  loadBalancingLoss: Tracer;
  /** mean over tokens of logsumexp(router logits)², which keeps the logits small. */
  routerZLoss: Tracer;
  /** int32, the expert each token was routed to (x's leading shape). */
  expertIndex: Tracer;
  /** bool, true where the token arrived after its expert was full (its output is zero). */
  dropped: Tracer;
}

/** A SwitchMoE layer: apply gives y; applyWithAux gives y with the routing and the auxiliary losses. */
export interface SwitchMoELayer extends Layer<SwitchMoEParams, {}> {
  /** The number of tokens each expert takes for a batch of `tokens` tokens. */
  capacity(tokens: number): number;
  applyWithAux(params: SwitchMoEParams, x: Tracer): { y: Tracer; aux: SwitchMoEAux };
}

/**
 * SwitchMoE(dModel, dHidden, numExperts): x [tokens, dModel] (or any leading
 * axes, flattened into tokens) → y of x's shape. Expert e computes
 * act(x·W1[e] + b1[e])·W2[e] + b2[e], scaled by the router probability.
 */
export function SwitchMoE(dModel: number, dHidden: number, numExperts: number, opts: SwitchMoEOptions = {}): SwitchMoELayer {
  const where = "nn.SwitchMoE";
  checkOptions(where, opts, { capacityFactor: opt.nonNegative, activation: opt.function, routerInit: opt.function, kernelInit: opt.function });
  positiveInt(where, "dModel", dModel);
  positiveInt(where, "dHidden", dHidden);
  positiveInt(where, "numExperts", numExperts);
  const capacityFactor = opts.capacityFactor ?? 1.25;
  if (!(capacityFactor > 0)) throw new ArgumentError(`${where}: capacityFactor must be positive, got ${describeValue(capacityFactor)}`);
  const activation = opts.activation ?? relu;
  const routerInit = opts.routerInit ?? varianceScaling(0.1, "fan_in", "truncated_normal");
  const kernelInit = opts.kernelInit ?? lecunNormal({ batchAxis: [0] });
  const E = numExperts;
  const header = `SwitchMoE(dModel=${dModel}, hidden=${dHidden}, experts=${E}${capacityFactor !== 1.25 ? `, capacityFactor=${capacityFactor}` : ""})`;
  const capacity = (tokens: number) => Math.max(1, Math.ceil((capacityFactor * tokens) / E));

  const route = (params: SwitchMoEParams, x: Tracer): { y: Tracer; aux: SwitchMoEAux } => {
    expectShape(header, x.ndim >= 2 && x.shape[x.ndim - 1] === dModel, `[tokens, ${dModel}]`, x);
    const lead = x.shape.slice(0, -1);
    const T = sizeOf(lead);
    const C = capacity(T);
    const tokens = np.reshape(x, [T, dModel]);
    const logits = lax.dotGeneral(tokens, params.router.weight, [[[1], [0]], [[], []]]);
    const probs = softmax(logits, -1);
    const expertIndex = np.argmax(probs, -1);
    const choice = oneHot(expertIndex, E); // [T, E]
    const gate = np.sum(np.multiply(probs, choice), -1); // the chosen expert's probability, differentiable
    // 0-based arrival position of each token in its expert's queue; positions >= C one-hot to zeros (dropped).
    const position = np.astype(np.subtract(np.sum(np.multiply(np.cumsum(choice, 0), choice), -1), 1), "int32");
    const dispatch = np.multiply(np.expandDims(choice, 2), np.expandDims(oneHot(position, C), 1)); // [T, E, C]
    const expertIn = lax.dotGeneral(dispatch, tokens, [[[0], [0]], [[], []]]); // [E, C, dModel]
    const ex = params.experts;
    const hidden = activation(np.add(lax.dotGeneral(expertIn, ex.inputWeight, [[[2], [1]], [[0], [0]]]), np.expandDims(ex.inputBias, 1)));
    const expertOut = np.add(lax.dotGeneral(hidden, ex.outputWeight, [[[2], [1]], [[0], [0]]]), np.expandDims(ex.outputBias, 1)); // [E, C, dModel]
    const combine = np.multiply(dispatch, np.reshape(gate, [T, 1, 1]));
    const y = lax.dotGeneral(combine, expertOut, [[[1, 2], [0, 1]], [[], []]]); // [T, dModel]
    const fraction = np.mean(choice, 0);
    const meanProb = np.mean(probs, 0);
    const loadBalancingLoss = np.multiply(E, np.sum(np.multiply(fraction, meanProb)));
    const routerZLoss = np.mean(np.square(logsumexp(logits, -1)));
    const dropped = np.greaterEqual(position, C);
    return {
      y: np.reshape(y, x.shape),
      aux: { loadBalancingLoss, routerZLoss, expertIndex: np.reshape(expertIndex, lead), dropped: np.reshape(dropped, lead) },
    };
  };

  const layer = defineLayer<SwitchMoEParams, {}, {}>({
    name: "SwitchMoE",
    header,
    optionRules: {},
    init(key) {
      const [kr, k1, k2] = random.split(key, 3);
      const params: SwitchMoEParams = {
        router: { weight: routerInit(kr, [dModel, E]) },
        experts: {
          inputWeight: kernelInit(k1, [E, dModel, dHidden]),
          inputBias: zeros(k1, [E, dHidden]),
          outputWeight: kernelInit(k2, [E, dHidden, dModel]),
          outputBias: zeros(k2, [E, dModel]),
        },
      };
      return { params, state: {} };
    },
    forward: (params, state, x) => [route(params, x).y, state],
  });
  return Object.assign(layer, {
    capacity,
    applyWithAux: (params: SwitchMoEParams, x: Tracer) => route(params, layerInput(`${header}.applyWithAux`, x)),
  });
}
