// Normalisation layers: BatchNorm (batch statistics in train mode, running
// statistics — explicit state — in eval mode, flax's momentum convention) and
// LayerNorm (statistics over the trailing feature axes of each example).

import * as lax from "../../lax";
import * as np from "../../numpy";
import type { Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { checkOptions, describeValue, opt } from "../../core/options";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

export interface BatchNormOptions {
  /** Running-average momentum: new = momentum·old + (1 − momentum)·batch (default 0.9, flax's convention; PyTorch's 0.1 means 0.9 here). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** The feature axis of the input (default 1: [N, C] and NCHW images; -1 for NHWC). */
  axis?: number;
}

export interface BatchNormParams {
  scale: Tracer;
  bias: Tracer;
}

export interface BatchNormState {
  mean: Tracer;
  var: Tracer;
}

/**
 * Batch normalisation over every axis but the feature axis. Train mode (only
 * through applyWithState) normalises with the batch's mean and biased
 * variance and returns the running statistics moved towards them (the new
 * statistics carry no gradient); eval mode normalises with the running
 * statistics passed as `{ state }`. Params { scale, bias } and state
 * { mean, var } are [features].
 */
export function BatchNorm(features: number, opts: BatchNormOptions = {}): Layer<BatchNormParams, BatchNormState> {
  const where = "nn.BatchNorm";
  checkOptions(where, opts, { momentum: opt.nonNegative, eps: opt.nonNegative, axis: opt.integer });
  positiveInt(where, "features", features);
  const momentum = opts.momentum ?? 0.9;
  if (momentum > 1) throw new ArgumentError(`${where}: momentum must be in [0, 1] (new = momentum·old + (1 − momentum)·batch), got ${momentum}`);
  const eps = opts.eps ?? 1e-5;
  const axis = opts.axis ?? 1;
  const header = `BatchNorm(${features}${momentum !== 0.9 ? `, momentum=${momentum}` : ""}${eps !== 1e-5 ? `, eps=${eps}` : ""}${opts.axis !== undefined ? `, axis=${axis}` : ""})`;
  return defineLayer<BatchNormParams, BatchNormState, {}>({
    name: "BatchNorm",
    header,
    optionRules: {},
    stateful: true,
    init: () => ({
      params: { scale: np.ones([features]), bias: np.zeros([features]) },
      state: { mean: np.zeros([features]), var: np.ones([features]) },
    }),
    forward(params, state, x, { train }) {
      const ax = axis < 0 ? axis + x.ndim : axis;
      const expected = `rank >= 2 with ${features} features on axis ${axis}`;
      expectShape(header, x.ndim >= 2 && ax >= 0 && ax < x.ndim && x.shape[ax] === features, expected, x);
      if (state?.mean === undefined || state?.var === undefined) {
        throw new ArgumentError(`${header}: state must be { mean, var } as init returns, got ${describeValue(state)}`);
      }
      const reduceAxes = [...Array(x.ndim).keys()].filter((a) => a !== ax);
      const perFeature = (v: Tracer) => np.reshape(v, x.shape.map((d, i) => (i === ax ? d : 1)));
      let mean: Tracer;
      let variance: Tracer;
      let newState = state;
      if (train) {
        mean = np.mean(x, reduceAxes);
        variance = np.mean(np.square(np.subtract(x, perFeature(mean))), reduceAxes);
        const move = (old: Tracer, batch: Tracer) => np.add(np.multiply(momentum, old), np.multiply(1 - momentum, lax.stopGradient(batch)));
        newState = { mean: move(state.mean, mean), var: move(state.var, variance) };
      } else {
        mean = state.mean;
        variance = state.var;
      }
      const inv = np.multiply(params.scale, np.rsqrt(np.add(variance, eps)));
      const y = np.add(np.multiply(np.subtract(x, perFeature(mean)), perFeature(inv)), perFeature(params.bias));
      return [y, newState];
    },
  });
}

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

export interface LayerNormParams {
  scale: Tracer;
  bias: Tracer;
}

/**
 * Layer normalisation over the trailing axes given by `normalizedShape` (a
 * number for the last axis only), with a learned elementwise scale and bias of
 * that shape. The same in train and eval mode.
 */
export function LayerNorm(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}): Layer<LayerNormParams, {}> {
  const where = "nn.LayerNorm";
  checkOptions(where, opts, { eps: opt.nonNegative });
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : null;
  if (shape === null || shape.length === 0) throw new ArgumentError(`${where}: normalizedShape must be a positive integer or a non-empty list of them, got ${describeValue(normalizedShape)}`);
  shape.forEach((d) => positiveInt(where, "normalizedShape", d));
  const eps = opts.eps ?? 1e-5;
  const header = `LayerNorm(${shape.length === 1 ? shape[0] : `[${shape.join(", ")}]`}${eps !== 1e-5 ? `, eps=${eps}` : ""})`;
  return defineLayer<LayerNormParams, {}, {}>({
    name: "LayerNorm",
    header,
    optionRules: {},
    init: () => ({ params: { scale: np.ones(shape), bias: np.zeros(shape) }, state: {} }),
    forward(params, state, x) {
      const k = shape.length;
      const tail = x.shape.slice(x.ndim - k);
      expectShape(header, x.ndim >= k && tail.every((d, i) => d === shape[i]), `[..., ${shape.join(", ")}]`, x);
      const axes = [...Array(k).keys()].map((i) => x.ndim - k + i);
      const mean = np.mean(x, axes, { keepdims: true });
      const centered = np.subtract(x, mean);
      const variance = np.mean(np.square(centered), axes, { keepdims: true });
      const y = np.add(np.multiply(np.multiply(centered, np.rsqrt(np.add(variance, eps))), params.scale), params.bias);
      return [y, state];
    },
  });
}
