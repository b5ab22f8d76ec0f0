// Dropout with explicit PRNG keys (JAX's discipline): in train mode each
// element is kept with probability 1 − rate and scaled by 1/(1 − rate), the
// mask drawn from the key passed to apply; in eval mode it is the identity.

import * as np from "../../numpy";
import * as random from "../../random";
import { ArgumentError } from "../../core/errors";
import { describeValue } from "../../core/options";
import { defineLayer, type Layer } from "./layer";

/**
 * Dropout(rate): train mode needs `{ train: true, key }` (Sequential splits
 * its key per child); the same key gives the same mask. rate = 1 drops
 * everything (outputs zeros).
 */
export function Dropout(rate: number): Layer<{}, {}> {
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) throw new ArgumentError(`nn.Dropout: rate must be a number in [0, 1], got ${describeValue(rate)}`);
  const header = `Dropout(${rate})`;
  return defineLayer<{}, {}, {}>({
    name: "Dropout",
    header,
    optionRules: {},
    init: () => ({ params: {}, state: {} }),
    forward(params, state, x, { train, key }) {
      if (!train || rate === 0) return [x, state];
      if (key === undefined) {
        throw new ArgumentError(`${header}: train mode draws a random mask, so it needs a PRNG key: apply(params, x, { train: true, key }) (random.split a fresh key per step)`);
      }
      if (rate === 1) return [np.zerosLike(x), state];
      const keep = random.bernoulli(key, 1 - rate, x.shape);
      return [np.where(keep, np.divide(x, 1 - rate), np.zerosLike(x)), state];
    },
  });
}
