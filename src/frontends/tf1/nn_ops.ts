// `tf.nn`: activations, softmax and the cross-entropy losses, l2_loss,
// bias_add, dropout, conv2d and the NHWC pools.

import "../../setup";
import { ArgumentError } from "../../core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../../core/options";
import * as lax from "../../lax";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import * as random from "../../random";
import { Tensor, describe, makeOp, type TensorLike } from "./graph";
import { toTracer, unary, type NameOpt } from "./op_common";
import { relu, sigmoid, tanh } from "./math_ops";

export interface SoftmaxOptions extends NameOpt {
  axis?: number;
  /** TF1's older name of axis. */
  dim?: number;
}
const softmaxRules: OptionRules<SoftmaxOptions> = { axis: opt.integer, dim: opt.integer, name: opt.string };
type AxisArg = number | SoftmaxOptions | undefined;

/** The axis and name of `softmax(logits, axis, name)` / `softmax(logits, { axis, name })`. */
function softmaxArgs(where: string, a: AxisArg, name: string | undefined): { axis: number; name: string | undefined } {
  if (a === undefined || typeof a === "number") return { axis: a ?? -1, name };
  if (!isPlainObject(a)) throw new ArgumentError(`tf.nn.${where}: expected an axis or an options object { axis, dim, name }, got ${describe(a)}`);
  const o = checkOptions(`tf.nn.${where}`, a as SoftmaxOptions, softmaxRules);
  if (o.axis !== undefined && o.dim !== undefined) throw new ArgumentError(`tf.nn.${where}: give axis or dim, not both`);
  return { axis: o.axis ?? o.dim ?? -1, name: name ?? o.name };
}

export interface CrossEntropyArgs {
  labels: TensorLike;
  logits: TensorLike;
  name?: string;
  axis?: number;
  dim?: number;
}

// labels and logits are inputs, converted (and checked) by makeOp.
const xentRules: OptionRules<CrossEntropyArgs> = { labels: opt.any, logits: opt.any, name: opt.string, axis: opt.integer, dim: opt.integer };
/** The sparse and sigmoid losses have no class axis to choose. */
const xentNoAxisRules: OptionRules<Omit<CrossEntropyArgs, "axis" | "dim">> = { labels: opt.any, logits: opt.any, name: opt.string };

function xentArgs(where: string, a: TensorLike | CrossEntropyArgs, b?: TensorLike, withAxis = true): CrossEntropyArgs {
  if (b !== undefined) return { labels: a as TensorLike, logits: b };
  if (isPlainObject(a)) {
    const o: CrossEntropyArgs = withAxis
      ? checkOptions(`tf.nn.${where}`, a as CrossEntropyArgs, xentRules)
      : checkOptions<Omit<CrossEntropyArgs, "axis" | "dim">>(`tf.nn.${where}`, a as CrossEntropyArgs, xentNoAxisRules);
    if (o.labels === undefined || o.logits === undefined) throw new ArgumentError(`tf.nn.${where}: the options need both labels and logits`);
    if (o.axis !== undefined && o.dim !== undefined) throw new ArgumentError(`tf.nn.${where}: give axis or dim, not both`);
    return o;
  }
  throw new ArgumentError(`tf.nn.${where}: call it as (labels, logits) or ({ labels, logits })`);
}

export type ConvPadding = "SAME" | "VALID";

export interface DropoutOptions extends NameOpt {
  /** Op-level seed: with the graph seed it fixes the op's random stream. */
  seed?: number;
}
const dropoutRules: OptionRules<DropoutOptions> = { seed: opt.integer, name: opt.string };

function poolArg(where: string, v: readonly number[] | number, n: number): number[] {
  const a = typeof v === "number" ? [1, ...Array(n).fill(v), 1] : [...v];
  if (a.length !== n + 2 || a[0] !== 1 || a[a.length - 1] !== 1) {
    throw new ArgumentError(`tf.nn.${where}: expected ${n + 2} values [1, …, 1] (NHWC), got ${JSON.stringify(v)}`);
  }
  return a.slice(1, -1);
}

export const nn = {
  relu,
  sigmoid,
  tanh,
  relu6: unary("Relu6", "nn.relu6", tnn.relu6),
  elu: unary("Elu", "nn.elu", (a) => tnn.elu(a)),
  softplus: unary("Softplus", "nn.softplus", tnn.softplus),
  softsign: unary("Softsign", "nn.softsign", tnn.softSign),
  /** `tf.nn.softmax(logits, axis = -1)`. */
  softmax(logits: TensorLike, axis?: AxisArg, name?: string): Tensor {
    const a = softmaxArgs("softmax", axis, name);
    return makeOp("Softmax", [logits], ([v]) => tnn.softmax(v, a.axis), { name: a.name });
  },
  log_softmax(logits: TensorLike, axis?: AxisArg, name?: string): Tensor {
    const a = softmaxArgs("log_softmax", axis, name);
    return makeOp("LogSoftmax", [logits], ([v]) => tnn.logSoftmax(v, a.axis), { name: a.name });
  },
  /**
   * Per-example -Σ labels·log softmax(logits), over the last axis. Call as
   * (labels, logits) or ({ labels, logits }). As in TF1 (before _v2), no gradient flows into labels.
   */
  softmax_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("softmax_cross_entropy_with_logits", labels, logits);
    const ax = a.axis ?? a.dim ?? -1;
    return makeOp(
      "SoftmaxCrossEntropyWithLogits",
      [a.labels, a.logits],
      ([y, l]) => np.negative(np.sum(np.multiply(lax.stopGradient(y), tnn.logSoftmax(l, ax)), ax)),
      { name: a.name },
    );
  },
  softmax_cross_entropy_with_logits_v2(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("softmax_cross_entropy_with_logits_v2", labels, logits);
    const ax = a.axis ?? a.dim ?? -1;
    return makeOp("SoftmaxCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => np.negative(np.sum(np.multiply(y, tnn.logSoftmax(l, ax)), ax)), { name: a.name });
  },
  /** Integer class labels [batch] and logits [batch, classes]. */
  sparse_softmax_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("sparse_softmax_cross_entropy_with_logits", labels, logits, false);
    return makeOp("SparseSoftmaxCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => tnn.softmaxCrossEntropyWithIntegerLabels(l, y), { name: a.name });
  },
  sigmoid_cross_entropy_with_logits(labels: TensorLike | CrossEntropyArgs, logits?: TensorLike): Tensor {
    const a = xentArgs("sigmoid_cross_entropy_with_logits", labels, logits, false);
    return makeOp("SigmoidCrossEntropyWithLogits", [a.labels, a.logits], ([y, l]) => tnn.sigmoidBinaryCrossEntropy(l, y), { name: a.name });
  },
  /** sum(t²) / 2. */
  l2_loss(x: TensorLike, name?: string): Tensor {
    return makeOp("L2Loss", [x], ([v]) => np.multiply(np.sum(np.square(v)), 0.5), { name });
  },
  bias_add(value: TensorLike, bias: TensorLike, name?: string): Tensor {
    return makeOp("BiasAdd", [value, bias], ([v, b]) => np.add(v, b), { name });
  },
  /** Inverted dropout: keeps each element with probability keep_prob (a number or a Tensor, e.g. a placeholder) and scales by 1/keep_prob. */
  dropout(x: TensorLike, keep_prob: TensorLike, options?: DropoutOptions): Tensor {
    const opts = checkOptions("tf.nn.dropout", options, dropoutRules);
    let node: Tensor | null = null;
    node = makeOp(
      "Dropout",
      [x, keep_prob],
      ([v, p], ctx) => {
        const xv = toTracer(v);
        const keep = np.less(random.uniform(ctx.randomKey(opts.seed ?? node?.id ?? 0), xv.shape, { dtype: xv.dtype }), p);
        return np.where(keep, np.divide(xv, p), 0);
      },
      { name: opts.name, attrs: { random: true } },
    );
    return node;
  },
  /** `tf.nn.conv2d(input NHWC, filter HWIO, strides [1, sh, sw, 1], padding)`. */
  conv2d(input: TensorLike, filter: TensorLike, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const st = poolArg("conv2d", strides, 2);
    return makeOp("Conv2D", [input, filter], ([x, w]) => lax.convGeneralDilated(x, w, st, padding, { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }), { name });
  },
  /** `tf.nn.max_pool(value NHWC, ksize [1, kh, kw, 1], strides [1, sh, sw, 1], padding)`. */
  max_pool(value: TensorLike, ksize: readonly number[] | number, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const k = poolArg("max_pool", ksize, 2);
    const st = poolArg("max_pool", strides, 2);
    return makeOp("MaxPool", [value], ([x]) => lax.reduceWindow(x, -Infinity, "max", [1, ...k, 1], [1, ...st, 1], padding), { name });
  },
  avg_pool(value: TensorLike, ksize: readonly number[] | number, strides: readonly number[] | number, padding: ConvPadding, name?: string): Tensor {
    const k = poolArg("avg_pool", ksize, 2);
    const st = poolArg("avg_pool", strides, 2);
    return makeOp(
      "AvgPool",
      [value],
      ([x]) => {
        const xv = toTracer(x);
        const sums = lax.reduceWindow(xv, 0, "sum", [1, ...k, 1], [1, ...st, 1], padding);
        // TF averages over the window's cells inside the input (SAME padding excluded).
        const counts = lax.reduceWindow(np.onesLike(xv), 0, "sum", [1, ...k, 1], [1, ...st, 1], padding);
        return np.divide(sums, counts);
      },
      { name },
    );
  },
};
