// tinyflow.nn functions: activations (relu, gelu, silu, ...), softmax and
// friends, oneHot, standardize, dotProductAttention (jax.nn semantics) and
// the losses used for training (optax semantics). Everything is written over
// the numpy and lax wrappers with differentiable primitives only; branches
// use the "double where" pattern so no NaN/inf leaks into gradients.

import * as np from "../numpy";
import * as lax from "../lax";
import { isFloat, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, asCalledFrom } from "../core/errors";
import { flatten as treeFlatten } from "../core/pytree";
import { isTracer, type ArrayLike, type Axis, type Tracer } from "../core/trace";
import { checkOptions, opt } from "../core/options";

// --- helpers -----------------------------------------------------------------------

function describe(x: unknown): string {
  if (isTracer(x)) return x.aval.str();
  if (x === null) return "null";
  if (Array.isArray(x)) return "a JS array (wrap it with np.array(...))";
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

/** Check that `x` is an array or a JS number and return it as a Tracer. */
function arg(where: string, x: unknown, name = "x"): Tracer {
  if (isTracer(x)) return x;
  if (typeof x === "number") return np.asarray(x);
  throw new ArgumentError(`nn.${where}: ${name} must be an array or a JS number, got ${describe(x)}`);
}

/** As `arg`, converted to a floating dtype (ints and bools become float32, as JAX's promote_args_inexact). */
function floatArg(where: string, x: unknown, name = "x"): Tracer {
  const t = arg(where, x, name);
  if (t.dtype === "bool") throw new DTypeError(`nn.${where}: ${name} must be numeric, got ${t.aval.str()}`);
  return isFloat(t.dtype) ? t : np.astype(t, "float32");
}

function checkAxis(where: string, x: Tracer, axis: Axis): void {
  const axes = axis === null ? [] : typeof axis === "number" ? [axis] : [...axis];
  for (const a of axes) {
    if (!Number.isInteger(a) || a < -x.ndim || a >= Math.max(x.ndim, 1)) {
      throw new ShapeError(`nn.${where}: axis ${a} is out of range for x ${x.aval.str()}`);
    }
  }
}

/** where(c, a, b) for a tracer condition. */
const where = (c: Tracer, a: ArrayLike, b: ArrayLike): Tracer => np.where(c, a, b);

// --- activations -------------------------------------------------------------------

/** max(x, 0); the gradient at 0 is 0, as jax.nn.relu. NaN stays NaN (0 is chosen where x <= 0, which NaN is not). */
export function relu(x: ArrayLike): Tracer {
  const t = arg("relu", x);
  return where(np.lessEqual(t, 0), np.zerosLike(t), t);
}

/** min(max(x, 0), 6); the gradient is 0 at both kinks, as jax.nn.relu6. NaN counts as inside, so it propagates. */
export function relu6(x: ArrayLike): Tracer {
  const t = arg("relu6", x);
  const inside = np.logicalNot(np.logicalOr(np.lessEqual(t, 0), np.greaterEqual(t, 6)));
  return where(inside, t, where(np.greater(t, 0), np.fullLike(t, 6), np.zerosLike(t)));
}

/** x for x >= 0, negativeSlope * x otherwise. */
export function leakyRelu(x: ArrayLike, negativeSlope = 0.01): Tracer {
  return asCalledFrom("leakyRelu", () => {
    const t = floatArg("leakyRelu", x);
    return where(np.greaterEqual(t, 0), t, np.multiply(t, negativeSlope));
  });
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise. */
export function elu(x: ArrayLike, alpha = 1.0): Tracer {
  return asCalledFrom("elu", () => {
    const t = floatArg("elu", x);
    const pos = np.greater(t, 0);
    const safe = where(pos, np.zerosLike(t), t); // exp never sees large positives
    return where(pos, t, np.multiply(alpha, np.expm1(safe)));
  });
}

/** max(x, 0) + min(0, alpha * (exp(x / alpha) - 1)). */
export function celu(x: ArrayLike, alpha = 1.0): Tracer {
  return asCalledFrom("celu", () => {
    const t = floatArg("celu", x);
    const pos = np.greater(t, 0);
    const safe = where(pos, np.zerosLike(t), t);
    return where(pos, t, np.multiply(alpha, np.expm1(np.divide(safe, alpha))));
  });
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** Scaled ELU with the self-normalizing constants. */
export function selu(x: ArrayLike): Tracer {
  return np.multiply(SELU_SCALE, elu(floatArg("selu", x), SELU_ALPHA));
}

/**
 * Gaussian error linear unit. approximate=true (the default, as JAX) uses
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); approximate=false uses the exact
 * x·Φ(x) = x·(1 + erf(x/√2))/2.
 */
export function gelu(x: ArrayLike, opts: { approximate?: boolean } = {}): Tracer {
  checkOptions("nn.gelu", opts, { approximate: opt.boolean });
  const t = floatArg("gelu", x);
  if (opts.approximate ?? true) {
    const c = Math.sqrt(2 / Math.PI);
    const inner = np.multiply(c, np.add(t, np.multiply(0.044715, lax.integerPow(t, 3))));
    return np.multiply(np.multiply(0.5, t), np.add(1, np.tanh(inner)));
  }
  return np.divide(np.multiply(t, np.add(np.erf(np.divide(t, Math.SQRT2)), 1)), 2);
}

/** The logistic function 1 / (1 + exp(-x)) (lax.logistic). */
export function sigmoid(x: ArrayLike): Tracer {
  return lax.logistic(floatArg("sigmoid", x));
}

/** x · sigmoid(x). */
export function silu(x: ArrayLike): Tracer {
  const t = floatArg("silu", x);
  return np.multiply(t, lax.logistic(t));
}
export const swish = silu;

/** log(1 + exp(x)), stable for large |x| and with a finite gradient everywhere. */
export function softplus(x: ArrayLike): Tracer {
  const t = floatArg("softplus", x);
  const pos = np.greater(t, 0);
  // x > 0: x + log1p(exp(-x)); x <= 0: log1p(exp(x)). Each branch only sees its own half.
  const xp = where(pos, t, np.zerosLike(t));
  const xn = where(pos, np.zerosLike(t), t);
  const hi = np.add(xp, np.log1p(np.exp(np.negative(xp))));
  const lo = np.log1p(np.exp(xn));
  return where(pos, hi, lo);
}

/** log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid(x: ArrayLike): Tracer {
  return np.negative(softplus(np.negative(floatArg("logSigmoid", x))));
}

export function tanh(x: ArrayLike): Tracer {
  return np.tanh(floatArg("tanh", x));
}

/** x / (1 + |x|). */
export function softSign(x: ArrayLike): Tracer {
  const t = floatArg("softSign", x);
  return np.divide(t, np.add(1, np.abs(t)));
}

/** clip(x, -1, 1) with zero gradient outside. */
export function hardTanh(x: ArrayLike): Tracer {
  const t = floatArg("hardTanh", x);
  return where(np.greater(t, 1), np.onesLike(t), where(np.less(t, -1), np.fullLike(t, -1), t));
}

/** relu6(x + 3) / 6. */
export function hardSigmoid(x: ArrayLike): Tracer {
  return np.divide(relu6(np.add(floatArg("hardSigmoid", x), 3)), 6);
}

/** x · hardSigmoid(x). */
export function hardSilu(x: ArrayLike): Tracer {
  const t = floatArg("hardSilu", x);
  return np.multiply(t, hardSigmoid(t));
}
export const hardSwish = hardSilu;

/** Gated linear unit: splits `axis` in two halves a, b and returns a · sigmoid(b). */
export function glu(x: ArrayLike, axis = -1): Tracer {
  const t = floatArg("glu", x);
  checkAxis("glu", t, axis);
  const ax = axis < 0 ? axis + t.ndim : axis;
  if (t.shape[ax] % 2 !== 0) throw new ShapeError(`nn.glu: axis ${axis} of x ${t.aval.str()} must have an even size`);
  const [a, b] = np.split(t, 2, ax);
  return np.multiply(a, lax.logistic(b));
}

// --- softmax family ----------------------------------------------------------------

/** exp(x) / sum(exp(x)) along `axis` (default -1); the max is shifted out under stop_gradient. */
export function softmax(x: ArrayLike, axis: Axis = -1): Tracer {
  const t = floatArg("softmax", x);
  checkAxis("softmax", t, axis);
  // An empty input has an empty softmax (JAX takes the max with initial=-inf, so nothing throws).
  if (t.size === 0) return t;
  const mx = lax.stopGradient(np.max(t, axis, { keepdims: true }));
  const e = np.exp(np.subtract(t, mx));
  return np.divide(e, np.sum(e, axis, { keepdims: true }));
}

/** log(1 - exp(-x)) for x >= 0, stable at both ends (log1p(-exp(-x)) for x > ln 2, log(-expm1(-x)) below). */
export function log1mexp(x: ArrayLike): Tracer {
  const t = floatArg("log1mexp", x);
  const big = np.greater(t, Math.LN2);
  return np.where(big, np.log1p(np.negative(np.exp(np.negative(t)))), np.log(np.negative(np.expm1(np.negative(t)))));
}

/** x - logsumexp(x) along `axis` (default -1), computed stably. */
export function logSoftmax(x: ArrayLike, axis: Axis = -1): Tracer {
  const t = floatArg("logSoftmax", x);
  checkAxis("logSoftmax", t, axis);
  if (t.size === 0) return t;
  const shifted = np.subtract(t, lax.stopGradient(np.max(t, axis, { keepdims: true })));
  return np.subtract(shifted, np.log(np.sum(np.exp(shifted), axis, { keepdims: true })));
}

/** log(sum(exp(x))) over `axis` (all axes by default), stable for large |x|. */
export function logsumexp(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  checkOptions("nn.logsumexp", opts, { keepdims: opt.boolean });
  const t = floatArg("logsumexp", x);
  checkAxis("logsumexp", t, axis);
  return np.logsumexp(t, axis, { keepdims: opts.keepdims ?? false });
}

/**
 * oneHot(labels, numClasses): a new trailing axis (or `axis`) of size
 * numClasses with 1 at each label and 0 elsewhere; out-of-range labels give
 * all zeros (as JAX).
 */
export function oneHot(labels: ArrayLike, numClasses: number, opts: { dtype?: DType; axis?: number } = {}): Tracer {
  checkOptions("nn.oneHot", opts, { dtype: opt.dtype, axis: opt.integer });
  const t = arg("oneHot", labels, "labels");
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new ArgumentError(`nn.oneHot: numClasses must be a non-negative integer, got ${numClasses} (labels ${t.aval.str()})`);
  }
  if (t.dtype === "bool") throw new DTypeError(`nn.oneHot: labels must be integers, got ${t.aval.str()}`);
  const outNdim = t.ndim + 1;
  const axis = opts.axis ?? -1;
  if (!Number.isInteger(axis) || axis < -outNdim || axis >= outNdim) {
    throw new ShapeError(`nn.oneHot: axis ${axis} is out of range for an output of rank ${outNdim} (labels ${t.aval.str()})`);
  }
  const ax = axis < 0 ? axis + outNdim : axis;
  const outShape = [...t.shape.slice(0, ax), numClasses, ...t.shape.slice(ax)];
  const lhs = np.expandDims(t, ax);
  const rhs = lax.broadcastedIota(t.dtype, outShape, ax);
  return np.astype(np.equal(np.broadcastTo(lhs, outShape), rhs), opts.dtype ?? "float32");
}

export interface StandardizeOptions {
  mean?: ArrayLike;
  variance?: ArrayLike;
  epsilon?: number;
}

/** (x - mean) / sqrt(variance + epsilon) along `axis` (default -1); mean/variance computed when not given. */
export function standardize(x: ArrayLike, axis: Axis = -1, opts: StandardizeOptions = {}): Tracer {
  checkOptions("nn.standardize", opts, { mean: opt.arrayLike, variance: opt.arrayLike, epsilon: opt.nonNegative });
  const t = floatArg("standardize", x);
  checkAxis("standardize", t, axis);
  const mean = opts.mean !== undefined ? arg("standardize", opts.mean, "mean") : np.mean(t, axis, { keepdims: true });
  const centered = np.subtract(t, mean);
  const variance = opts.variance !== undefined ? arg("standardize", opts.variance, "variance") : np.mean(np.square(centered), axis, { keepdims: true });
  return np.multiply(centered, np.rsqrt(np.add(variance, opts.epsilon ?? 1e-5)));
}
/** The older jax.nn name of standardize. */
export const normalize = standardize;

// --- attention ---------------------------------------------------------------------

export interface AttentionOptions {
  /** Added to the logits; broadcastable to [B, N, T, S] ([N, T, S] unbatched). */
  bias?: ArrayLike | null;
  /** Boolean, true = attend; broadcastable to [B, N, T, S] ([N, T, S] unbatched). */
  mask?: ArrayLike | null;
  /** Multiplies q·k; default 1/sqrt(H). */
  scale?: number | null;
  /** Query i attends keys j <= i (the lower triangle of a [T, S] matrix). */
  isCausal?: boolean;
}

/**
 * Scaled dot-product attention as jax.nn.dot_product_attention: query [B, T, N, H],
 * key/value [B, S, K, H] (K divides N: grouped-query attention), output [B, T, N, H].
 * The unbatched forms [T, N, H] / [S, K, H] are accepted too. Masked logits get a
 * large negative value (not -inf), so fully masked rows stay finite.
 */
export function dotProductAttention(query: ArrayLike, key: ArrayLike, value: ArrayLike, opts: AttentionOptions = {}): Tracer {
  checkOptions("nn.dotProductAttention", opts, { bias: opt.nullable(opt.arrayLike), mask: opt.nullable(opt.arrayLike), scale: opt.nullable(opt.number), isCausal: opt.boolean });
  const where_ = "dotProductAttention";
  let q = floatArg(where_, query, "query");
  let k = floatArg(where_, key, "key");
  let v = floatArg(where_, value, "value");
  const rank = q.ndim;
  if ((rank !== 3 && rank !== 4) || k.ndim !== rank || v.ndim !== rank) {
    throw new ShapeError(
      `nn.${where_}: query, key and value must all be [B, T, N, H] (or unbatched [T, N, H]), got query ${q.aval.str()}, key ${k.aval.str()}, value ${v.aval.str()}`,
    );
  }
  const unbatched = rank === 3;
  if (unbatched) {
    q = np.expandDims(q, 0);
    k = np.expandDims(k, 0);
    v = np.expandDims(v, 0);
  }
  const [B, T, N, H] = q.shape;
  const [Bk, S, K, Hk] = k.shape;
  const [Bv, Sv, Kv] = v.shape;
  if (Bk !== B || Bv !== B || Hk !== H || Sv !== S || Kv !== K) {
    throw new ShapeError(
      `nn.${where_}: key must be [B=${B}, S, K, H=${H}] and value [B, S, K, Hv] with the key's S and K; got query ${q.aval.str()}, key ${k.aval.str()}, value ${v.aval.str()}`,
    );
  }
  if (K === 0 || N % K !== 0) {
    throw new ShapeError(`nn.${where_}: the number of query heads N=${N} must be a multiple of the key/value heads K=${K}`);
  }
  if (N !== K) {
    k = np.repeat(k, N / K, 2);
    v = np.repeat(v, N / K, 2);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(H);
  if (typeof scale !== "number" || !Number.isFinite(scale)) throw new ArgumentError(`nn.${where_}: scale must be a finite number, got ${String(scale)}`);

  if (q.dtype !== k.dtype || q.dtype !== v.dtype) {
    q = np.astype(q, "float32");
    k = np.astype(k, "float32");
    v = np.astype(v, "float32");
  }
  // logits[b, n, t, s] = Σ_h q[b, t, n, h] k[b, s, n, h]
  let logits = np.multiply(lax.dotGeneral(q, k, [[[3], [3]], [[0, 2], [0, 2]]]), scale);
  if (logits.dtype !== "float32") logits = np.astype(logits, "float32");
  const full = [B, N, T, S];
  const bcast = (name: string, x: Tracer): Tracer => {
    let r: number[] | null = null;
    try {
      r = np.broadcastShapes(x.shape, full);
    } catch {
      r = null;
    }
    if (r === null || r.length !== 4 || r.some((d, i) => d !== full[i])) {
      throw new ShapeError(`nn.${where_}: ${name} ${x.aval.str()} does not broadcast to the logits' shape [B, N, T, S] = [${full.join(",")}]`);
    }
    return np.broadcastTo(x, full);
  };
  if (opts.bias !== undefined && opts.bias !== null) logits = np.add(logits, bcast("bias", arg(where_, opts.bias, "bias")));
  let keep: Tracer | null = null;
  if (opts.mask !== undefined && opts.mask !== null) {
    const m = arg(where_, opts.mask, "mask");
    if (m.dtype !== "bool") throw new DTypeError(`nn.${where_}: mask must be boolean (true = attend), got ${m.aval.str()}`);
    keep = bcast("mask", m);
  }
  if (opts.isCausal) {
    const rows = lax.broadcastedIota("int32", [T, S], 0);
    const cols = lax.broadcastedIota("int32", [T, S], 1);
    const causal = np.broadcastTo(np.greaterEqual(rows, cols), full);
    keep = keep === null ? causal : np.logicalAnd(keep, causal);
  }
  if (keep !== null) logits = where(keep, logits, np.fullLike(logits, -0.7 * 3.4028234663852886e38));
  let probs = softmax(logits, -1);
  if (probs.dtype !== v.dtype) probs = np.astype(probs, v.dtype);
  // out[b, t, n, h] = Σ_s probs[b, n, t, s] v[b, s, n, h]
  const out = np.transpose(lax.dotGeneral(probs, v, [[[3], [1]], [[0, 1], [0, 2]]]), [0, 2, 1, 3]);
  return unbatched ? np.squeeze(out, 0) : out;
}

// --- losses ------------------------------------------------------------------------

function sameShape(where: string, a: Tracer, b: Tracer, an: string, bn: string): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`nn.${where}: ${an} ${a.aval.str()} and ${bn} ${b.aval.str()} must have the same shape`);
  }
}

/** Per-example cross entropy -Σ labels·logSoftmax(logits) over the last axis (optax). */
export function softmaxCrossEntropy(logits: ArrayLike, labels: ArrayLike): Tracer {
  const l = floatArg("softmaxCrossEntropy", logits, "logits");
  const y = floatArg("softmaxCrossEntropy", labels, "labels");
  if (l.ndim === 0) throw new ShapeError(`nn.softmaxCrossEntropy: logits must have a class axis, got ${l.aval.str()}`);
  sameShape("softmaxCrossEntropy", l, y, "logits", "labels");
  return np.negative(np.sum(np.multiply(y, logSoftmax(l, -1)), -1));
}

/**
 * Per-example cross entropy with integer class labels: logsumexp(logits) - logits[label].
 * A label in [-C, 0) counts from the end, and one outside [-C, C) gives NaN, as optax's
 * take_along_axis in its default "fill" mode does -- never a plausible finite loss.
 */
export function softmaxCrossEntropyWithIntegerLabels(logits: ArrayLike, labels: ArrayLike): Tracer {
  const where_ = "softmaxCrossEntropyWithIntegerLabels";
  const l = floatArg(where_, logits, "logits");
  const y = arg(where_, labels, "labels");
  if (y.dtype !== "int32" && y.dtype !== "uint32") throw new DTypeError(`nn.${where_}: labels must be integers, got ${y.aval.str()}`);
  if (l.ndim !== y.ndim + 1 || y.shape.some((d, i) => d !== l.shape[i])) {
    throw new ShapeError(`nn.${where_}: logits must be labels' shape plus a class axis, got logits ${l.aval.str()} and labels ${y.aval.str()}`);
  }
  const C = l.shape[l.ndim - 1];
  const wrapped = y.dtype === "int32" ? where(np.less(y, 0), np.add(y, C), y) : y;
  const valid = y.dtype === "int32" ? np.logicalAnd(np.greaterEqual(wrapped, 0), np.less(wrapped, C)) : np.less(wrapped, C);
  const labelLogits = np.sum(np.multiply(oneHot(wrapped, C, { dtype: l.dtype }), l), -1);
  return where(valid, np.subtract(np.logsumexp(l, -1), labelLogits), NaN);
}

/** Elementwise (predictions - targets)² (optax.squared_error). */
export function squaredError(predictions: ArrayLike, targets: ArrayLike): Tracer {
  const p = floatArg("squaredError", predictions, "predictions");
  const t = floatArg("squaredError", targets, "targets");
  np.broadcastShapes(p.shape, t.shape);
  return np.square(np.subtract(p, t));
}

/** Elementwise 0.5·(predictions - targets)² (optax.l2_loss). */
export function l2Loss(predictions: ArrayLike, targets: ArrayLike): Tracer {
  const p = floatArg("l2Loss", predictions, "predictions");
  const t = floatArg("l2Loss", targets, "targets");
  sameShape("l2Loss", p, t, "predictions", "targets");
  return np.multiply(0.5, np.square(np.subtract(p, t)));
}

/** Mean squared error over all elements (a scalar). */
export function mse(predictions: ArrayLike, targets: ArrayLike): Tracer {
  const p = floatArg("mse", predictions, "predictions");
  const t = floatArg("mse", targets, "targets");
  sameShape("mse", p, t, "predictions", "targets");
  return np.mean(np.square(np.subtract(p, t)));
}

/** Elementwise binary cross entropy of logits against labels in [0, 1] (optax). */
export function sigmoidBinaryCrossEntropy(logits: ArrayLike, labels: ArrayLike): Tracer {
  const l = floatArg("sigmoidBinaryCrossEntropy", logits, "logits");
  const y = floatArg("sigmoidBinaryCrossEntropy", labels, "labels");
  sameShape("sigmoidBinaryCrossEntropy", l, y, "logits", "labels");
  const logP = logSigmoid(l);
  const logNotP = logSigmoid(np.negative(l));
  return np.subtract(np.negative(np.multiply(y, logP)), np.multiply(np.subtract(1, y), logNotP));
}

/** scale · ½ Σ‖p‖² over every array leaf of a parameter pytree (weight decay as a loss term). */
export function l2Regularization(params: unknown, scale = 1): Tracer {
  const [leaves] = treeFlatten(params, "nn.l2Regularization");
  let total: Tracer = np.asarray(0, { dtype: "float32" });
  for (const leaf of leaves) {
    if (!isTracer(leaf)) continue;
    if (!isFloat(leaf.dtype)) continue;
    total = np.add(total, np.sum(np.square(leaf)));
  }
  return np.multiply(0.5 * scale, total);
}
