// tinyflow/nn: the functional building blocks (activations, softmax,
// attention, losses). Layers/modules and initializers are added later.

/**
 * Activations, softmax/logsumexp, attention and losses.
 *
 * @module tinyflow/nn
 */

import "../setup";

export * from "./functions";
