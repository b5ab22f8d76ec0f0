// tinyflow/optim: optax-style optimizers and gradient transformations over
// pytrees, learning-rate schedules and applyUpdates.

import "../setup";

export * from "./transforms";
export * from "./schedules";
