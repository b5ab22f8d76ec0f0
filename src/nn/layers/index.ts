// The layers of tinyflow/nn: the protocol, its building blocks and every
// layer factory, re-exported by src/nn/index.ts.

export { defineLayer, expectShape, isLayer, type AnyLayer, type ApplyOptions, type ForwardOptions, type Layer, type LayerFunction, type LayerSpec, type StepOptions } from "./layer";
export { Linear, Flatten, type LinearOptions, type LinearParams } from "./dense";
export { Sequential, type SequentialParams, type SequentialState } from "./sequential";
export { l2Penalty, isWeight, type PenaltyFilter } from "./regularization";
