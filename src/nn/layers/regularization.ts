// l2Penalty: the L2 regularisation term Σ w² over a parameter pytree,
// counting weights (kernels, embedding tables) but not biases or
// normalisation scales unless a filter says otherwise.

import * as np from "../../numpy";
import { isFloat } from "../../core/dtype";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { checkOptions, describeValue, opt } from "../../core/options";

/** Decides whether a parameter counts; `path` is its keys from the root (["0", "weight"]). */
export type PenaltyFilter = (path: readonly string[], leaf: Tracer) => boolean;

/** The default filter: floating arrays of rank >= 2 whose name does not end in "bias" or "scale" (bias, hiddenBias, scale). */
export const isWeight: PenaltyFilter = (path, leaf) => {
  const name = path[path.length - 1] ?? "";
  return isFloat(leaf.dtype) && leaf.ndim >= 2 && !/(bias|scale)$/i.test(name);
};

/**
 * Σ w² over the parameters that `filter` accepts (default: weights, not
 * biases or norm scales). Add `lambda * l2Penalty(params)` to a loss for L2
 * regularisation (the gradient is 2·lambda·w).
 */
export function l2Penalty(params: unknown, opts: { filter?: PenaltyFilter } = {}): Tracer {
  const { filter = isWeight } = checkOptions("nn.l2Penalty", opts, { filter: opt.function });
  let total: Tracer = np.zeros([]);
  const walk = (x: unknown, path: string[]): void => {
    if (isTracer(x)) {
      if (filter(path, x)) total = np.add(total, np.sum(np.square(x)));
      return;
    }
    if (x === null || x === undefined) return;
    if (Array.isArray(x)) return x.forEach((c, i) => walk(c, [...path, String(i)]));
    if (typeof x === "object") return Object.entries(x).forEach(([k, c]) => walk(c, [...path, k]));
    throw new ArgumentError(`nn.l2Penalty: params must be a pytree of arrays, found ${describeValue(x)} at ${path.join(".") || "the root"}`);
  };
  walk(params, []);
  return total;
}
