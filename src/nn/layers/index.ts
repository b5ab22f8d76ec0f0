// The layers of tinyflow/nn: the protocol, its building blocks and every
// layer factory, re-exported by src/nn/index.ts.

export { defineLayer, isLayer, type AnyLayer, type ApplyOptions, type ForwardOptions, type Layer, type LayerFunction, type LayerSpec, type StepOptions } from "./layer";
export { Linear, Flatten, type LinearOptions, type LinearParams } from "./dense";
export {
  Sequential,
  type SequentialParams, type SequentialState, type SequentialApplyOptions, type SequentialLayerOptions, type LayerApplyOptions, type LayerParams, type LayerState,
} from "./sequential";
export { l2Penalty, type PenaltyFilter } from "./regularization";
export { Conv2d, MaxPool2d, AvgPool2d, maxPool, avgPool, type Conv2dOptions, type Conv2dParams, type PoolOptions, type ImageLayout, type Padding2d, type Size2d } from "./conv";
export { BatchNorm, LayerNorm, type BatchNormOptions, type BatchNormParams, type BatchNormState, type LayerNormOptions, type LayerNormParams } from "./normalization";
export { Dropout } from "./dropout";
export { Embedding, type EmbeddingLayer, type EmbeddingOptions, type EmbeddingParams } from "./embedding";
export { MultiHeadAttention, type MultiHeadAttentionOptions, type MultiHeadAttentionParams, type AttentionApplyOptions } from "./attention";
export {
  RNNCell, GRUCell, LSTMCell, RNN, GRU, LSTM,
  type RecurrentCell, type RecurrentLayer, type RecurrentCellOptions, type RecurrentOptions, type RNNCellParams, type GRUCellParams, type LSTMCellParams, type LSTMCarry,
} from "./recurrent";
export { GCNConv, type GCNConvOptions, type GCNConvParams, type GCNApplyOptions } from "./graph";
export { SwitchMoE, type SwitchMoELayer, type SwitchMoEOptions, type SwitchMoEParams, type SwitchMoEAux } from "./moe";
