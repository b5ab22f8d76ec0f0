// Samplers over the threefry bit stream, following jax.random's algorithms
// so that the same key gives the same numbers as JAX (up to the last ulp of
// transcendental functions): uniform (mantissa trick), normal (erf_inv),
// bernoulli, gumbel, categorical (gumbel-max), randint (JAX's two-word
// modular method), permutation/shuffle (sort by random keys), choice,
// truncatedNormal, exponential.

import * as lax from "../lax";
import * as np from "../numpy";
import { isFloat, isInt, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { sizeOf } from "../core/shape";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { checkKey, checkShapeArg, randomBits, split } from "./prng";
import { checkOptions, opt, type OptionRules } from "../core/options";


function describe(x: unknown): string {
  if (isTracer(x)) return x.aval.str();
  if (Array.isArray(x)) return "a JS array (wrap it with np.array(...))";
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

function floatDType(where: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (!isFloat(d)) throw new DTypeError(`random.${where}: dtype must be a floating dtype (float32 or float16), got ${String(d)}`);
  return d;
}

/** A number or array parameter converted to `dtype`. */
function param(where: string, name: string, x: unknown, dtype: DType): Tracer {
  if (typeof x === "number") return np.asarray(x, { dtype });
  if (isTracer(x)) return x.dtype === dtype ? x : np.astype(x, dtype);
  throw new ArgumentError(`random.${where}: ${name} must be a number or an array, got ${describe(x)}`);
}

/** Check that the parameters' shapes broadcast to `shape` (JAX's _check_shape). */
function checkBroadcastsTo(where: string, shape: readonly number[], ...params: Tracer[]): void {
  for (const p of params) {
    let ok = p.ndim <= shape.length;
    if (ok) {
      const off = shape.length - p.ndim;
      ok = p.shape.every((d, i) => d === 1 || d === shape[i + off]);
    }
    if (!ok) {
      throw new ShapeError(`random.${where}: a parameter of shape [${p.shape.join(",")}] does not broadcast to the requested shape [${shape.join(",")}]`);
    }
  }
}

function nextafterToward(x: Tracer, up: boolean): Tracer {
  // Adjacent float32 by stepping the bit pattern; ±0 step to the smallest subnormal.
  const bitsI = lax.bitcastConvertType(x, "int32");
  const neg = np.less(bitsI, 0);
  const grow = up ? np.logicalNot(neg) : neg; // magnitude grows when moving away from zero
  const stepped = lax.bitcastConvertType(np.where(grow, np.add(bitsI, 1), np.subtract(bitsI, 1)), "float32");
  const tiny = np.asarray(up ? 1.401298464324817e-45 : -1.401298464324817e-45, { dtype: "float32" });
  const atInf = np.equal(x, up ? Infinity : -Infinity);
  return np.where(np.equal(x, 0), tiny, np.where(atInf, x, stepped));
}

export interface UniformOptions {
  minval?: ArrayLike;
  maxval?: ArrayLike;
  dtype?: DType;
}

/** Uniform floats in [minval, maxval) (defaults [0, 1)): 23 random mantissa bits under exponent 0, minus 1. */
export function uniform(key: ArrayLike, shape: number | readonly number[] = [], opts: UniformOptions = {}): Tracer {
  checkOptions("random.uniform", opts, { minval: opt.arrayLike, maxval: opt.arrayLike, dtype: opt.dtype });
  const k = checkKey("uniform", key);
  const s = checkShapeArg("uniform", shape);
  const dtype = floatDType("uniform", opts.dtype);
  const lo = param("uniform", "minval", opts.minval ?? 0, "float32");
  const hi = param("uniform", "maxval", opts.maxval ?? 1, "float32");
  checkBroadcastsTo("uniform", s, lo, hi);
  const bits = randomBits(k, s);
  const floatBits = lax.or(lax.shiftRightLogical(bits, 32 - 23), 0x3f800000);
  const floats = lax.sub(lax.bitcastConvertType(floatBits, "float32"), 1);
  const scaled = np.add(np.multiply(floats, np.subtract(hi, lo)), lo);
  const out = np.broadcastTo(np.maximum(lo, scaled), s);
  return dtype === "float32" ? out : np.astype(out, dtype);
}

/** Standard normal samples: √2 · erf_inv(u) with u uniform in (-1, 1). */
const dtypeRules: OptionRules<{ dtype?: DType }> = { dtype: opt.dtype };

export function normal(key: ArrayLike, shape: number | readonly number[] = [], opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.normal", opts, dtypeRules);
  const dtype = floatDType("normal", opts.dtype);
  const s = checkShapeArg("normal", shape);
  const u = uniform(checkKey("normal", key), s, { minval: -0.9999999403953552, maxval: 1 });
  const out = np.multiply(np.asarray(Math.SQRT2, { dtype: "float32" }), lax.erfInv(u));
  return dtype === "float32" ? out : np.astype(out, dtype);
}

/** Booleans that are true with probability p (p broadcasts to shape; shape defaults to p's). */
export function bernoulli(key: ArrayLike, p: ArrayLike = 0.5, shape?: number | readonly number[]): Tracer {
  const k = checkKey("bernoulli", key);
  const pt = param("bernoulli", "p", p, isTracer(p) && isFloat(p.dtype) ? p.dtype : "float32");
  const s = shape === undefined ? [...pt.shape] : checkShapeArg("bernoulli", shape);
  checkBroadcastsTo("bernoulli", s, pt);
  return np.less(uniform(k, s, { dtype: pt.dtype }), pt);
}

/** Standard Gumbel samples: -log(-log(u)) with u uniform in [tiny, 1). */
export function gumbel(key: ArrayLike, shape: number | readonly number[] = [], opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.gumbel", opts, dtypeRules);
  const k = checkKey("gumbel", key);
  const dtype = floatDType("gumbel", opts.dtype);
  const s = checkShapeArg("gumbel", shape);
  const u = uniform(k, s, { minval: 1.1754943508222875e-38, maxval: 1 });
  const out = np.negative(np.log(np.negative(np.log(u))));
  return dtype === "float32" ? out : np.astype(out, dtype);
}

/** Exponential(1) samples: -log1p(-u). */
export function exponential(key: ArrayLike, shape: number | readonly number[] = [], opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.exponential", opts, dtypeRules);
  const k = checkKey("exponential", key);
  const dtype = floatDType("exponential", opts.dtype);
  const out = np.negative(np.log1p(np.negative(uniform(k, checkShapeArg("exponential", shape)))));
  return dtype === "float32" ? out : np.astype(out, dtype);
}

export interface CategoricalOptions {
  axis?: number;
  /** Output shape; must end with the batch shape (logits' shape without `axis`). */
  shape?: readonly number[];
  /**
   * false samples without replacement (the Gumbel top-k trick): the leading
   * dims of `shape` before the batch shape hold distinct classes, at most as
   * many as there are classes. Default true.
   */
  replace?: boolean;
}

/** Samples class indices from unnormalized log-probabilities along `axis` (gumbel-max trick). */
export function categorical(key: ArrayLike, logits: ArrayLike, opts: CategoricalOptions = {}): Tracer {
  checkOptions("random.categorical", opts, { axis: opt.integer, shape: opt.integers, replace: opt.boolean });
  const k = checkKey("categorical", key);
  if (!isTracer(logits)) throw new ArgumentError(`random.categorical: logits must be an array, got ${describe(logits)}`);
  const l = isFloat(logits.dtype) ? logits : np.astype(logits, "float32");
  if (l.ndim === 0) throw new ShapeError(`random.categorical: logits must have a class axis, got ${l.aval.str()}`);
  let axis = opts.axis ?? -1;
  if (!Number.isInteger(axis) || axis < -l.ndim || axis >= l.ndim) {
    throw new ShapeError(`random.categorical: axis ${axis} is out of range for logits ${l.aval.str()}`);
  }
  if (axis >= 0) axis -= l.ndim;
  const posAxis = axis + l.ndim;
  const batchShape = l.shape.filter((_, i) => i !== posAxis);
  const shape = opts.shape === undefined ? batchShape : checkShapeArg("categorical", opts.shape);
  const tail = shape.slice(shape.length - batchShape.length);
  if (shape.length < batchShape.length || tail.some((d, i) => d !== batchShape[i])) {
    throw new ShapeError(`random.categorical: shape [${shape.join(",")}] must end with the logits' batch shape [${batchShape.join(",")}]`);
  }
  const prefix = shape.slice(0, shape.length - batchShape.length);
  if (opts.replace === false) return categoricalWithoutReplacement(k, l, posAxis, prefix, shape);
  const logitsShape = [...batchShape];
  logitsShape.splice(posAxis, 0, l.shape[posAxis]);
  const g = gumbel(k, [...prefix, ...logitsShape], { dtype: l.dtype });
  let lb = l;
  for (let i = 0; i < prefix.length; i++) lb = np.expandDims(lb, 0);
  return np.argmax(np.add(g, lb), axis + prefix.length + logitsShape.length);
}

/**
 * The Gumbel top-k trick (as jax.random.categorical with replace=False): one
 * Gumbel perturbation of the logits, then the k = prod(prefix) largest classes
 * of each distribution, laid out with the k draws leading.
 */
function categoricalWithoutReplacement(key: Tracer, logits: Tracer, axis: number, prefix: number[], shape: number[]): Tracer {
  const k = sizeOf(prefix);
  const classes = logits.shape[axis];
  if (k > classes) {
    throw new ArgumentError(`random.categorical: ${k} samples without replacement exceed the ${classes} categories of logits ${logits.aval.str()}`);
  }
  const perturbed = np.moveaxis(np.add(logits, gumbel(key, logits.shape, { dtype: logits.dtype })), axis, -1);
  const indices = lax.topK(perturbed, k)[1];
  return np.reshape(np.moveaxis(indices, -1, 0), shape);
}

/** Integers uniformly in [minval, maxval) (JAX's algorithm: two 32-bit words reduced modulo the span). */
export function randint(key: ArrayLike, shape: number | readonly number[], minval: ArrayLike, maxval: ArrayLike, opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.randint", opts, dtypeRules);
  const k = checkKey("randint", key);
  const s = checkShapeArg("randint", shape);
  const dtype = opts.dtype ?? "int32";
  if (dtype !== "int32") throw new DTypeError(`random.randint: dtype must be int32, got ${String(dtype)}`);
  const INT_MAX = 2147483647;
  const INT_MIN = -2147483648;
  const intParam = (name: string, x: ArrayLike): Tracer => {
    if (typeof x === "number") {
      if (!Number.isFinite(x)) throw new ArgumentError(`random.randint: ${name} must be finite, got ${x}`);
      return np.asarray(Math.max(INT_MIN, Math.min(INT_MAX, Math.trunc(x))), { dtype: "int32" });
    }
    if (!isTracer(x)) throw new ArgumentError(`random.randint: ${name} must be an integer or an int array, got ${describe(x)}`);
    if (x.dtype === "int32") return x;
    return np.astype(isInt(x.dtype) || x.dtype === "bool" ? x : np.trunc(x), "int32");
  };
  const lo = intParam("minval", minval);
  const hi = intParam("maxval", maxval);
  checkBroadcastsTo("randint", s, lo, hi);
  // A maxval above int32's range can only come from a JS number (arrays are int32 already).
  const hiOutOfRange = typeof maxval === "number" && maxval > INT_MAX;
  const ks = split(k);
  const k1 = lax.reshape(lax.slice(ks, [0, 0], [1, 2]), [2]);
  const k2 = lax.reshape(lax.slice(ks, [1, 0], [2, 2]), [2]);
  const higher = randomBits(k1, s);
  const lower = randomBits(k2, s);
  const loB = np.broadcastTo(lo, s);
  const hiB = np.broadcastTo(hi, s);
  // span = (maxval - minval) as uint32 (int32 subtraction wraps, then reinterpreted).
  let span = lax.bitcastConvertType(lax.sub(hiB, loB), "uint32");
  const empty = np.lessEqual(hiB, loB);
  span = lax.select(empty, lax.full(s, 1, "uint32"), span);
  if (hiOutOfRange) span = lax.select(np.logicalNot(empty), lax.add(span, 1), span);
  let multiplier = lax.rem(lax.full(s, 2 ** 16, "uint32"), span);
  multiplier = lax.rem(lax.mul(multiplier, multiplier), span);
  let offset = lax.add(lax.mul(lax.rem(higher, span), multiplier), lax.rem(lower, span));
  offset = lax.rem(offset, span);
  return lax.add(loB, lax.bitcastConvertType(offset, "int32"));
}

function shuffleAlong(key: Tracer, x: Tracer, axis: number): Tracer {
  // Sorting by random 32-bit keys; enough rounds that ties are negligible (JAX uses exponent 3).
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(2 ** 32 - 1));
  let k = key;
  let out = x;
  for (let r = 0; r < rounds; r++) {
    const ks = split(k);
    k = lax.reshape(lax.slice(ks, [0, 0], [1, 2]), [2]);
    const sub = lax.reshape(lax.slice(ks, [1, 0], [2, 2]), [2]);
    const sortKeys = randomBits(sub, out.shape);
    out = lax.sortKeyVal(sortKeys, out, axis)[1];
  }
  return out;
}

/**
 * A random permutation of arange(n) (x a number), or of an array's rows along
 * `axis` (independent=true shuffles each 1-D slice along axis independently).
 */
export function permutation(key: ArrayLike, x: number | Tracer, opts: { axis?: number; independent?: boolean } = {}): Tracer {
  checkOptions("random.permutation", opts, { axis: opt.integer, independent: opt.boolean });
  const k = checkKey("permutation", key);
  if (typeof x === "number") {
    if (!Number.isInteger(x) || x < 0) throw new ArgumentError(`random.permutation: n must be a non-negative integer, got ${x}`);
    return shuffleAlong(k, np.arange(x, { dtype: "int32" }), 0);
  }
  if (!isTracer(x)) throw new ArgumentError(`random.permutation: x must be an integer or an array, got ${describe(x)}`);
  if (x.ndim === 0) throw new ShapeError(`random.permutation: x must have at least one dimension (or pass an integer n), got ${x.aval.str()}`);
  const axisIn = opts.axis ?? 0;
  if (!Number.isInteger(axisIn) || axisIn < -x.ndim || axisIn >= x.ndim) {
    throw new ShapeError(`random.permutation: axis ${axisIn} is out of range for ${x.aval.str()}`);
  }
  const axis = axisIn < 0 ? axisIn + x.ndim : axisIn;
  if (opts.independent || x.ndim === 1) return shuffleAlong(k, x, axis);
  const ind = shuffleAlong(k, np.arange(x.shape[axis], { dtype: "int32" }), 0);
  return np.take(x, ind, axis);
}

export interface ChoiceOptions {
  shape?: readonly number[];
  replace?: boolean;
  /** Probabilities of each entry (1-D, same length as the sampled axis). */
  p?: ArrayLike | null;
  axis?: number;
}

/** Random samples from arange(a) (a a number) or from an array's entries along `axis`. */
export function choice(key: ArrayLike, a: number | Tracer, opts: ChoiceOptions = {}): Tracer {
  checkOptions("random.choice", opts, { shape: opt.integers, replace: opt.boolean, p: opt.nullable(opt.arrayLike), axis: opt.integer });
  const k = checkKey("choice", key);
  const shape = checkShapeArg("choice", opts.shape ?? []);
  const replace = opts.replace ?? true;
  let arr: Tracer | null = null;
  let nInputs: number;
  let axis = 0;
  if (typeof a === "number") {
    if (!Number.isInteger(a)) throw new ArgumentError(`random.choice: a must be an integer or an array, got ${a}`);
    nInputs = a;
  } else if (isTracer(a)) {
    if (a.ndim === 0) throw new ShapeError(`random.choice: a must be an integer or an array of rank >= 1, got ${a.aval.str()}`);
    arr = a;
    const ax = opts.axis ?? 0;
    if (!Number.isInteger(ax) || ax < -a.ndim || ax >= a.ndim) throw new ShapeError(`random.choice: axis ${ax} is out of range for ${a.aval.str()}`);
    axis = ax < 0 ? ax + a.ndim : ax;
    nInputs = a.shape[axis];
  } else {
    throw new ArgumentError(`random.choice: a must be an integer or an array, got ${describe(a)}`);
  }
  const nDraws = sizeOf(shape);
  if (nDraws === 0) return np.zeros(shape, { dtype: arr === null ? "int32" : arr.dtype });
  if (nInputs <= 0) throw new ArgumentError(`random.choice: a must be greater than 0 unless no samples are taken, got ${nInputs}`);
  if (!replace && nDraws > nInputs) {
    throw new ArgumentError(`random.choice: cannot take a larger sample (${nDraws}) than the population (${nInputs}) when replace=false`);
  }
  let ind: Tracer;
  const p = opts.p ?? null;
  if (p === null) {
    if (replace) {
      ind = randint(k, shape, 0, nInputs);
    } else {
      const perm = permutation(k, nInputs);
      ind = lax.slice(perm, [0], [nDraws]);
    }
  } else {
    const pt = param("choice", "p", p, isTracer(p) && isFloat(p.dtype) ? p.dtype : "float32");
    if (pt.ndim !== 1 || pt.shape[0] !== nInputs) {
      throw new ShapeError(`random.choice: p must be 1-D with ${nInputs} entries (one per choice), got ${pt.aval.str()}`);
    }
    if (replace) {
      const cum = np.cumsum(pt);
      const total = lax.slice(cum, [nInputs - 1], [nInputs]);
      const r = np.multiply(lax.reshape(total, []), np.subtract(1, uniform(k, shape, { dtype: pt.dtype })));
      // searchsorted(cum, r, side="left") = number of cumulative sums below r.
      const below = np.less(np.broadcastTo(cum, [...shape, nInputs]), np.expandDims(r, -1));
      ind = np.minimum(np.sum(np.astype(below, "int32"), -1), nInputs - 1);
    } else {
      const g = np.add(gumbel(k, [nInputs], { dtype: pt.dtype }), np.log(pt));
      ind = lax.topK(g, nDraws)[1];
    }
  }
  if (arr === null) return np.reshape(ind, shape);
  const taken = np.take(arr, np.reshape(ind, [nDraws]), axis);
  return np.reshape(taken, [...arr.shape.slice(0, axis), ...shape, ...arr.shape.slice(axis + 1)]);
}

/** Normal samples truncated to (lower, upper): inverse CDF of a uniform between the bounds' CDFs. */
export function truncatedNormal(key: ArrayLike, lower: ArrayLike, upper: ArrayLike, shape?: number | readonly number[], opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.truncatedNormal", opts, dtypeRules);
  const k = checkKey("truncatedNormal", key);
  const dtype = floatDType("truncatedNormal", opts.dtype);
  const lo = param("truncatedNormal", "lower", lower, "float32");
  const hi = param("truncatedNormal", "upper", upper, "float32");
  const s = shape === undefined ? np.broadcastShapes(lo.shape, hi.shape) : checkShapeArg("truncatedNormal", shape);
  checkBroadcastsTo("truncatedNormal", s, lo, hi);
  const sqrt2 = np.asarray(Math.SQRT2, { dtype: "float32" });
  const a = lax.erf(np.divide(lo, sqrt2));
  const b = lax.erf(np.divide(hi, sqrt2));
  const u = uniform(k, s, { minval: a, maxval: b });
  const out = np.multiply(sqrt2, lax.erfInv(u));
  const clipped = np.clip(out, nextafterToward(lax.stopGradient(lo), true), nextafterToward(lax.stopGradient(hi), false));
  return dtype === "float32" ? clipped : np.astype(clipped, dtype);
}

/** Random ±1 values (int32) with equal probability. */
export function rademacher(key: ArrayLike, shape: number | readonly number[]): Tracer {
  const b = bernoulli(checkKey("rademacher", key), 0.5, checkShapeArg("rademacher", shape));
  return np.subtract(np.multiply(np.astype(b, "int32"), 2), 1);
}
