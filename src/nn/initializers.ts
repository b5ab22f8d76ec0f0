// nn.initializers: functions `(key, shape, dtype?) => Array` that draw the
// starting values of parameters, with jax.nn.initializers' names, defaults and
// fan conventions (variance scaling over fan_in / fan_out / fan_avg, where a
// kernel's fans are its in/out axes times the receptive field, the product of
// the remaining axes). Every initializer is a pure function of its key, so it
// works eagerly and under jit/vmap.

import * as np from "../numpy";
import * as lax from "../lax";
import * as random from "../random";
import { foriLoop } from "../../transforms";
import { isFloat, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import { sizeOf } from "../core/shape";
import type { ArrayLike, Tracer } from "../core/trace";

/** An initializer: draws an array of `shape` (float32 by default) from `key`. */
export type Initializer = (key: ArrayLike, shape: readonly number[], dtype?: DType) => Tracer;

function checkShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`nn.initializers.${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

function floatDType(where: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (!isFloat(d)) throw new DTypeError(`nn.initializers.${where}: dtype must be a floating dtype (float32 or float16), got ${String(d)}`);
  return d;
}

const castTo = (x: Tracer, dtype: DType): Tracer => (x.dtype === dtype ? x : np.astype(x, dtype));

// --- constants -----------------------------------------------------------------------

/** All zeros (jax.nn.initializers.zeros); the key is ignored. */
export const zeros: Initializer = (_key, shape, dtype) => np.zeros(checkShape("zeros", shape), dtype ?? "float32");

/** All ones (jax.nn.initializers.ones); the key is ignored. */
export const ones: Initializer = (_key, shape, dtype) => np.ones(checkShape("ones", shape), dtype ?? "float32");

/** An initializer that fills with `value` (jax.nn.initializers.constant). */
export function constant(value: number): Initializer {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ArgumentError(`nn.initializers.constant: value must be a finite number, got ${String(value)}`);
  return (_key, shape, dtype) => np.full(checkShape("constant", shape), value, dtype ?? "float32");
}

// --- simple distributions --------------------------------------------------------------

/** Normal samples with mean 0 and `stddev` (default 1e-2, as JAX). */
export function normal(opts: { stddev?: number } = {}): Initializer {
  const { stddev = 1e-2 } = checkOptions("nn.initializers.normal", opts, { stddev: opt.nonNegative });
  return (key, shape, dtype) => np.multiply(random.normal(key, checkShape("normal", shape), { dtype: floatDType("normal", dtype) }), stddev);
}

/** Uniform samples in [0, scale) (default scale 1e-2, as JAX's uniform). */
export function uniform(opts: { scale?: number } = {}): Initializer {
  const { scale = 1e-2 } = checkOptions("nn.initializers.uniform", opts, { scale: opt.number });
  return (key, shape, dtype) => random.uniform(key, checkShape("uniform", shape), { minval: 0, maxval: scale, dtype: floatDType("uniform", dtype) });
}

// --- variance scaling ------------------------------------------------------------------

/** Which axes of a kernel are its input and output features; every other axis (not batch) is receptive field. */
export interface FanAxes {
  /** Input-feature axis or axes (default -2: a dense kernel [in, out], a conv kernel HWIO [kh, kw, in, out]). */
  inAxis?: number | readonly number[];
  /** Output-feature axis or axes (default -1). */
  outAxis?: number | readonly number[];
  /** Axes that index independent kernels and count in neither fan (default none). */
  batchAxis?: readonly number[];
}

const fanRules: OptionRules<FanAxes> = { inAxis: opt.integers, outAxis: opt.integers, batchAxis: opt.integers };

/**
 * [fanIn, fanOut] of a kernel shape, as JAX's _compute_fans: the product of
 * the in (out) axes times the receptive field (the product of the axes that are
 * neither in, out nor batch). For a PyTorch-layout conv kernel [out, in, kh, kw]
 * pass `{ inAxis: 1, outAxis: 0 }`.
 */
export function computeFans(shape: readonly number[], axes: FanAxes = {}): [number, number] {
  checkOptions("nn.initializers.computeFans", axes, fanRules);
  const s = checkShape("computeFans", shape);
  const norm = (a: number | readonly number[] | undefined, dflt: number, name: string): number[] =>
    (a === undefined ? [dflt] : typeof a === "number" ? [a] : [...a]).map((d) => {
      if (!Number.isInteger(d) || d < -s.length || d >= s.length) {
        throw new ShapeError(`nn.initializers: ${name} ${d} is out of range for a kernel of shape [${s.join(",")}] (fans need at least 2 axes)`);
      }
      return d < 0 ? d + s.length : d;
    });
  if (s.length < 2) throw new ShapeError(`nn.initializers: a fan-scaled initializer needs a kernel of rank >= 2, got shape [${s.join(",")}]; use normal/uniform/zeros for vectors`);
  const inA = norm(axes.inAxis, -2, "inAxis");
  const outA = norm(axes.outAxis, -1, "outAxis");
  const batchA = norm(axes.batchAxis ?? [], 0, "batchAxis");
  const prodOf = (ax: number[]) => ax.reduce((p, a) => p * s[a], 1);
  const total = sizeOf(s);
  const batch = prodOf(batchA);
  const receptive = total / batch / prodOf(inA) / prodOf(outA);
  return [prodOf(inA) * receptive, prodOf(outA) * receptive];
}

export type FanMode = "fan_in" | "fan_out" | "fan_avg";
export type ScalingDistribution = "truncated_normal" | "normal" | "uniform";

/** stddev of a standard normal truncated to (-2, 2), so truncated samples can be rescaled to unit variance. */
const TRUNCATED_STDDEV = 0.87962566103423978;

/**
 * jax.nn.initializers.variance_scaling: samples with variance scale / n, where
 * n is fan_in, fan_out or their average; "uniform" draws from ±sqrt(3·variance),
 * "truncated_normal" from a normal truncated at two standard deviations.
 */
export function varianceScaling(scale: number, mode: FanMode, distribution: ScalingDistribution, axes: FanAxes = {}): Initializer {
  checkOptions("nn.initializers.varianceScaling", axes, fanRules);
  if (typeof scale !== "number" || !(scale > 0) || !Number.isFinite(scale)) throw new ArgumentError(`nn.initializers.varianceScaling: scale must be a positive number, got ${String(scale)}`);
  if (!["fan_in", "fan_out", "fan_avg"].includes(mode)) throw new ArgumentError(`nn.initializers.varianceScaling: mode must be "fan_in", "fan_out" or "fan_avg", got ${JSON.stringify(mode)}`);
  if (!["truncated_normal", "normal", "uniform"].includes(distribution)) {
    throw new ArgumentError(`nn.initializers.varianceScaling: distribution must be "truncated_normal", "normal" or "uniform", got ${JSON.stringify(distribution)}`);
  }
  return (key, shape, dtype) => {
    const s = checkShape("varianceScaling", shape);
    const d = floatDType("varianceScaling", dtype);
    const [fanIn, fanOut] = computeFans(s, axes);
    const n = mode === "fan_in" ? fanIn : mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
    const variance = scale / Math.max(1, n);
    if (distribution === "uniform") {
      const limit = Math.sqrt(3 * variance);
      return random.uniform(key, s, { minval: -limit, maxval: limit, dtype: d });
    }
    if (distribution === "normal") return castTo(np.multiply(random.normal(key, s), Math.sqrt(variance)), d);
    return castTo(np.multiply(random.truncatedNormal(key, -2, 2, s), Math.sqrt(variance) / TRUNCATED_STDDEV), d);
  };
}

/** Glorot/Xavier uniform: variance 1/fan_avg, uniform. */
export const xavierUniform = (axes: FanAxes = {}): Initializer => varianceScaling(1, "fan_avg", "uniform", axes);
/** Glorot/Xavier normal: variance 1/fan_avg, truncated normal. */
export const xavierNormal = (axes: FanAxes = {}): Initializer => varianceScaling(1, "fan_avg", "truncated_normal", axes);
export const glorotUniform = xavierUniform;
export const glorotNormal = xavierNormal;
/** He/Kaiming uniform: variance 2/fan_in, uniform (for ReLU networks). */
export const heUniform = (axes: FanAxes = {}): Initializer => varianceScaling(2, "fan_in", "uniform", axes);
/** He/Kaiming normal: variance 2/fan_in, truncated normal. */
export const heNormal = (axes: FanAxes = {}): Initializer => varianceScaling(2, "fan_in", "truncated_normal", axes);
/** LeCun uniform: variance 1/fan_in, uniform. */
export const lecunUniform = (axes: FanAxes = {}): Initializer => varianceScaling(1, "fan_in", "uniform", axes);
/** LeCun normal: variance 1/fan_in, truncated normal (flax's default kernel init). */
export const lecunNormal = (axes: FanAxes = {}): Initializer => varianceScaling(1, "fan_in", "truncated_normal", axes);

// --- orthogonal --------------------------------------------------------------------------

/**
 * Orthogonal matrices (jax.nn.initializers.orthogonal): the kernel is viewed as
 * a matrix [rows = product of the other axes, cols = shape[columnAxis]] and
 * filled with the Q factor of a Gaussian matrix, so its rows or its columns
 * (whichever are fewer) are orthonormal, times `scale`. Q has R's diagonal
 * positive, which makes it Haar-distributed; it is computed by Gram–Schmidt
 * with re-orthogonalisation inside a foriLoop, so it traces to one loop.
 */
export function orthogonal(opts: { scale?: number; columnAxis?: number } = {}): Initializer {
  const { scale = 1, columnAxis = -1 } = checkOptions("nn.initializers.orthogonal", opts, { scale: opt.number, columnAxis: opt.integer });
  return (key, shape, dtype) => {
    const s = checkShape("orthogonal", shape);
    const d = floatDType("orthogonal", dtype);
    if (s.length < 2) throw new ShapeError(`nn.initializers.orthogonal: the shape must have rank >= 2, got [${s.join(",")}]`);
    if (!Number.isInteger(columnAxis) || columnAxis < -s.length || columnAxis >= s.length) {
      throw new ShapeError(`nn.initializers.orthogonal: columnAxis ${columnAxis} is out of range for shape [${s.join(",")}]`);
    }
    const col = columnAxis < 0 ? columnAxis + s.length : columnAxis;
    const nCols = s[col];
    const nRows = sizeOf(s) / nCols;
    // Orthonormalise the columns of the taller of A and Aᵀ, then transpose back when needed.
    const [tall, wide] = nRows >= nCols ? [nRows, nCols] : [nCols, nRows];
    const a = random.normal(key, [tall, wide]);
    const q = gramSchmidt(a);
    const matrix = nRows >= nCols ? q : np.transpose(q);
    // matrix is [rows, cols] with the column axis last; move it back into place.
    const rest = s.filter((_, i) => i !== col);
    const shaped = np.reshape(matrix, [...rest, nCols]);
    const back = np.moveaxis(shaped, -1, col);
    return castTo(np.multiply(back, scale), d);
  };
}

/** Orthonormal columns of a tall [m, n] matrix (m >= n) by classical Gram–Schmidt applied twice per column ("twice is enough"). */
function gramSchmidt(a: Tracer): Tracer {
  const [m, n] = a.shape;
  const q0 = np.zeros([m, n]);
  return foriLoop(0, n, (j: Tracer, q: Tracer) => {
    let v = lax.dynamicSlice(a, [np.asarray(0, { dtype: "int32" }), j], [m, 1]);
    // Columns not filled yet are zero, so projecting on all of Q only removes the finished ones.
    for (let pass = 0; pass < 2; pass++) v = np.subtract(v, np.matmul(q, np.matmul(np.transpose(q), v)));
    const unit = np.divide(v, np.sqrt(np.sum(np.square(v))));
    return lax.dynamicUpdateSlice(q, unit, [np.asarray(0, { dtype: "int32" }), j]);
  }, q0) as Tracer;
}
