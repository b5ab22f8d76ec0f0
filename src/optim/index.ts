// tinyflow/optim: optax-style optimizers and gradient transformations over
// pytrees, learning-rate schedules and applyUpdates.

/**
 * Optax-style optimizers, gradient transformations and learning-rate schedules.
 *
 * @module tinyflow/optim
 */

import "../setup";

export * from "./transforms";
export {
  constantSchedule,
  polynomialSchedule,
  linearSchedule,
  exponentialDecay,
  cosineDecaySchedule,
  joinSchedules,
  warmupCosineDecaySchedule,
  piecewiseConstantSchedule,
  type Schedule,
  type ScalarOrSchedule,
  type ExponentialDecayOptions,
} from "./schedules";
