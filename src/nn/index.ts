// tinyflow/nn: the functional building blocks (activations, softmax,
// attention, losses). Layers/modules and initializers are added later.

import "../setup";

export * from "./functions";
