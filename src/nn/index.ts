// tinyflow/nn: the functional building blocks (activations, softmax,
// attention, losses), the layers (functional, pytree parameters) and the
// parameter initializers.

/**
 * Activations, softmax/logsumexp, attention, losses, layers (Linear, Conv2d,
 * BatchNorm, attention, recurrent, graph and mixture-of-experts layers,
 * Sequential) and `initializers`.
 *
 * @module tinyflow/nn
 */

import "../setup";

export * from "./functions";
export * from "./layers";
export * as initializers from "./initializers";
