// numpy reductions over lax: sum mean max min prod all any argmax argmin
// var std logsumexp countNonzero average, and the cumulative scans. `axis`
// is a number, a list, or null/undefined for all axes; `keepdims` keeps the
// reduced axes with size 1. Sums/products of bools count in int32, as JAX.
// The axis is given positionally (`np.sum(x, 1, { keepdims })`) or, as JAX's
// keywords read, inside the options (`np.sum(x, { axis: 1, keepdims })`).

import { Array } from "../core/array";
import { checkDType, isFloat, type DType } from "../core/dtype";
import { OptionsError, ShapeError, asCalledFrom } from "../core/errors";
import { normalizeAxes, normalizeAxis } from "../core/shape";
import { checkOptions, describeValue, isPlainObject, opt, type OptionRule, type OptionRules } from "../core/options";
import { bind, bind1, type ArrayLike, type Axis, type Tracer } from "../core/trace";
import { asTracer, broadcastTo, toBool } from "./promote";

export interface ReduceOptions {
  /** The axes to reduce (null: all), when not given positionally. */
  axis?: Axis;
  keepdims?: boolean;
  dtype?: DType;
}
const reduceRules: OptionRules<ReduceOptions> = { axis: opt.axis, keepdims: opt.boolean, dtype: opt.dtype };

/** Options of the reductions that take no dtype (countNonzero, ptp, logsumexp). */
export interface AxisKeepDims {
  axis?: Axis;
  keepdims?: boolean;
}
const axisKeepdimsRules: OptionRules<AxisKeepDims> = { axis: opt.axis, keepdims: opt.boolean };

/** argmax/argmin: one axis (null: the flattened array). */
export interface ArgReduceOptions {
  axis?: number | null;
  keepdims?: boolean;
}
const singleAxis: OptionRule = opt.nullable(opt.integer);
const argRules: OptionRules<ArgReduceOptions> = { axis: singleAxis, keepdims: opt.boolean };

/**
 * The axis and options of a call written `f(x, axis, opts)` or `f(x, { axis, ...opts })`,
 * validated: an axis given both ways, or two options objects, is an error rather than
 * one silently winning.
 */
function axisAndOptions<T extends { axis?: unknown }>(where: string, axisOrOpts: unknown, opts: T | undefined, rules: OptionRules<T>): [T["axis"] | undefined, T] {
  if (isPlainObject(axisOrOpts)) {
    if (opts !== undefined) {
      throw new OptionsError(`${where}: options given twice, as the second argument ${describeValue(axisOrOpts)} and the third ${describeValue(opts)}; pass one object { axis, ... }`);
    }
    const o = checkOptions(where, axisOrOpts as T, rules);
    return [o.axis, o];
  }
  const o = checkOptions(where, opts, rules);
  if (axisOrOpts === undefined) return [o.axis, o];
  const axisRule = (rules as Record<string, OptionRule>).axis;
  if (!axisRule.accepts(axisOrOpts)) throw new OptionsError(`${where}: axis must be ${axisRule.expected} or an options object { ${Object.keys(rules).join(", ")} }, got ${describeValue(axisOrOpts)}`);
  if (o.axis !== undefined) {
    throw new OptionsError(`${where}: axis given twice, positionally (${describeValue(axisOrOpts)}) and as the option axis (${describeValue(o.axis)}); give it one way`);
  }
  return [axisOrOpts as T["axis"], o];
}

function keep(x: Tracer, out: Tracer, axes: number[], keepdims: boolean | undefined): Tracer {
  if (!keepdims || axes.length === 0) return out;
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return bind1("reshape", [out], { newSizes: shape });
}

function cast(x: Tracer, dtype: DType): Tracer {
  if (x.dtype === dtype) return x;
  return bind1("convert_element_type", [x], { newDtype: dtype, weakType: false });
}

function scalarLike(x: Tracer, v: number): Tracer {
  const s = Array.scalar(v, x.dtype, false);
  return x.ndim === 0 ? s : bind1("broadcast_in_dim", [s], { shape: [...x.shape], broadcastDimensions: [] });
}

function reduceWith(where: string, prim: "reduce_sum" | "reduce_prod" | "reduce_max" | "reduce_min" | "reduce_and" | "reduce_or", t: Tracer, axis: Axis | undefined, opts: ReduceOptions): Tracer {
  const axes = normalizeAxes(axis, t.ndim, where).sort((a, b) => a - b);
  const out = axes.length === 0 ? t : bind1(prim, [t], { axes });
  return keep(t, out, axes, opts.keepdims);
}

export function sum(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.sum", axisOrOpts, options, reduceRules);
  let t = asTracer("sum", x);
  const dtype = opts.dtype ? checkDType(opts.dtype, "sum") : t.dtype === "bool" ? "int32" : t.dtype;
  t = cast(t, dtype);
  return reduceWith("sum", "reduce_sum", t, axis, opts);
}

export function prod(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.prod", axisOrOpts, options, reduceRules);
  let t = asTracer("prod", x);
  const dtype = opts.dtype ? checkDType(opts.dtype, "prod") : t.dtype === "bool" ? "int32" : t.dtype;
  t = cast(t, dtype);
  return reduceWith("prod", "reduce_prod", t, axis, opts);
}

function checkNonEmpty(where: string, t: Tracer, axis: Axis | undefined): void {
  const axes = normalizeAxes(axis, t.ndim, where);
  if (axes.some((a) => t.shape[a] === 0)) {
    throw new ShapeError(`${where}: zero-size array ${t.aval.str()} has no identity to reduce over axis ${JSON.stringify(axis ?? null)}`);
  }
}

export function max(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.max", axisOrOpts, options, reduceRules);
  const t = asTracer("max", x);
  checkNonEmpty("max", t, axis);
  return reduceWith("max", "reduce_max", t, axis, opts);
}
export const amax = max;

export function min(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.min", axisOrOpts, options, reduceRules);
  const t = asTracer("min", x);
  checkNonEmpty("min", t, axis);
  return reduceWith("min", "reduce_min", t, axis, opts);
}
export const amin = min;

export function all(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.all", axisOrOpts, options, reduceRules);
  return reduceWith("all", "reduce_and", toBool("all", x), axis, opts);
}

export function any(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.any", axisOrOpts, options, reduceRules);
  return reduceWith("any", "reduce_or", toBool("any", x), axis, opts);
}

function reducedCount(t: Tracer, axis: Axis | undefined, where: string): number {
  return normalizeAxes(axis, t.ndim, where).reduce((n, a) => n * t.shape[a], 1);
}

function floatDType(t: Tracer, dtype: DType | undefined, where: string): DType {
  if (dtype) return checkDType(dtype, where);
  return isFloat(t.dtype) ? t.dtype : "float32";
}

export function mean(x: ArrayLike, axisOrOpts?: Axis | ReduceOptions, options?: ReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.mean", axisOrOpts, options, reduceRules);
  const t0 = asTracer("mean", x);
  const t = cast(t0, floatDType(t0, opts.dtype, "mean"));
  const n = reducedCount(t, axis, "mean");
  const s = reduceWith("mean", "reduce_sum", t, axis, opts);
  return bind1("div", [s, scalarLike(s, n)], {});
}

export interface VarOptions extends ReduceOptions {
  /** Delta degrees of freedom: divide by N - ddof. */
  ddof?: number;
}
const varRules: OptionRules<VarOptions> = { ...reduceRules, ddof: opt.nonNegative };

export interface CumulativeOptions {
  /** The axis to scan along (null: the flattened array), when not given positionally. */
  axis?: number | null;
  dtype?: DType;
  reverse?: boolean;
}
const cumulativeRules: OptionRules<CumulativeOptions> = { axis: singleAxis, dtype: opt.dtype, reverse: opt.boolean };

export function variance(x: ArrayLike, axisOrOpts?: Axis | VarOptions, options?: VarOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.variance", axisOrOpts, options, varRules);
  const t0 = asTracer("var", x);
  const t = cast(t0, floatDType(t0, opts.dtype, "var"));
  const ddof = opts.ddof ?? 0;
  const n = reducedCount(t, axis, "var");
  const m = mean(t, axis, { keepdims: true });
  const centered = bind1("sub", [t, broadcastTo(m, t.shape)], {});
  const sq = bind1("integer_pow", [centered], { y: 2 });
  const s = reduceWith("var", "reduce_sum", sq, axis, opts);
  return bind1("div", [s, scalarLike(s, Math.max(n - ddof, 0))], {});
}
export { variance as var };

export function std(x: ArrayLike, axisOrOpts?: Axis | VarOptions, options?: VarOptions): Tracer {
  return asCalledFrom("std", () => {
    const [axis, opts] = axisAndOptions("np.std", axisOrOpts, options, varRules);
    return bind1("sqrt", [variance(x, { ...opts, axis })], {});
  });
}

/** log(sum(exp(x))) computed stably (the max is shifted out, with stop_gradient as JAX). */
export function logsumexp(x: ArrayLike, axisOrOpts?: Axis | AxisKeepDims, options?: AxisKeepDims): Tracer {
  const [axis, opts] = axisAndOptions("np.logsumexp", axisOrOpts, options, axisKeepdimsRules);
  const t0 = asTracer("logsumexp", x);
  const t = cast(t0, floatDType(t0, undefined, "logsumexp"));
  const axes = normalizeAxes(axis, t.ndim, "logsumexp");
  if (axes.some((a) => t.shape[a] === 0)) {
    // The sum of no terms is 0, so the result is -inf everywhere.
    const s = reduceWith("logsumexp", "reduce_sum", t, axis, opts);
    return bind1("log", [bind1("mul", [s, scalarLike(s, 0)], {})], {});
  }
  const mx = reduceWith("logsumexp", "reduce_max", t, axis, { keepdims: true });
  // A non-finite max (all -inf, or inf) would give nan; shift by 0 there instead.
  const finite = bind1("is_finite", [mx], {});
  const shift = bind1("stop_gradient", [bind1("select_n", [finite, scalarLike(mx, 0), mx], {})], {});
  const e = bind1("exp", [bind1("sub", [t, broadcastTo(shift, t.shape)], {})], {});
  const s = reduceWith("logsumexp", "reduce_sum", e, axis, { keepdims: true });
  let out = bind1("add", [bind1("log", [s], {}), shift], {});
  if (!opts.keepdims) out = bind1("reshape", [out], { newSizes: t.shape.filter((_, i) => !axes.includes(i)) });
  return out;
}

function argReduce(where: "argmax" | "argmin", x: ArrayLike, axis: number | null | undefined, opts: { keepdims?: boolean }): Tracer {
  let t = asTracer(where, x);
  if (axis === undefined || axis === null) {
    if (t.size === 0) throw new ShapeError(`${where}: attempt to get ${where} of an empty sequence (operand ${t.aval.str()})`);
    const flat = bind1("reshape", [t], { newSizes: [t.size] });
    const r = bind1(where, [flat], { axis: 0, indexDtype: "int32" });
    return opts.keepdims ? bind1("reshape", [r], { newSizes: t.shape.map(() => 1) }) : r;
  }
  const ax = normalizeAxis(axis, t.ndim, where);
  if (t.shape[ax] === 0) throw new ShapeError(`${where}: attempt to get ${where} of an empty axis ${ax} of ${t.aval.str()}`);
  const r = bind1(where, [t], { axis: ax, indexDtype: "int32" });
  return keep(t, r, [ax], opts.keepdims);
}

export function argmax(x: ArrayLike, axisOrOpts?: number | null | ArgReduceOptions, options?: ArgReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.argmax", axisOrOpts, options, argRules);
  return argReduce("argmax", x, axis, opts);
}
export function argmin(x: ArrayLike, axisOrOpts?: number | null | ArgReduceOptions, options?: ArgReduceOptions): Tracer {
  const [axis, opts] = axisAndOptions("np.argmin", axisOrOpts, options, argRules);
  return argReduce("argmin", x, axis, opts);
}

export function countNonzero(x: ArrayLike, axisOrOpts?: Axis | AxisKeepDims, options?: AxisKeepDims): Tracer {
  return asCalledFrom("countNonzero", () => {
    const [axis, opts] = axisAndOptions("np.countNonzero", axisOrOpts, options, axisKeepdimsRules);
    return sum(toBool("countNonzero", x), { axis, keepdims: opts.keepdims });
  });
}

export interface AverageOptions extends AxisKeepDims {
  /** Weights of the shape of x, or 1-D along a single axis; none: the plain mean. */
  weights?: ArrayLike | null;
}
const averageRules: OptionRules<AverageOptions> = { ...axisKeepdimsRules, weights: opt.nullable(opt.arrayLike) };

/** Weighted average: `average(x, axis, weights, { keepdims })` or `average(x, { axis, weights, keepdims })`; without weights it is mean. */
export function average(x: ArrayLike, axisOrOpts?: Axis | AverageOptions, weightsArg?: ArrayLike | null, options?: AverageOptions): Tracer {
  return asCalledFrom("average", () => {
    const [axis, opts] = axisAndOptions("np.average", axisOrOpts, options, averageRules);
    if (weightsArg !== undefined && opts.weights !== undefined) {
      throw new OptionsError(`np.average: weights given twice, positionally and as the option weights; give them one way`);
    }
    const weights = weightsArg ?? opts.weights;
    const keepdims = opts.keepdims;
    if (weights === undefined || weights === null) return mean(x, { axis, keepdims });
    const t0 = asTracer("average", x);
    const t = cast(t0, floatDType(t0, undefined, "average"));
    let w = cast(asTracer("average", weights), t.dtype);
    if (w.ndim !== t.ndim) {
      if (w.ndim !== 1 || typeof axis !== "number") {
        throw new ShapeError(`average: weights ${w.aval.str()} must have the shape of x ${t.aval.str()}, or be 1-D with a single axis`);
      }
      const ax = normalizeAxis(axis, t.ndim, "average");
      if (w.shape[0] !== t.shape[ax]) throw new ShapeError(`average: 1-D weights ${w.aval.str()} must have length ${t.shape[ax]} (axis ${ax} of ${t.aval.str()})`);
      w = bind1("broadcast_in_dim", [w], { shape: [...t.shape], broadcastDimensions: [ax] });
    } else if (w.shape.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(`average: weights ${w.aval.str()} must have the shape of x ${t.aval.str()}`);
    }
    const num = sum(bind1("mul", [t, w], {}), { axis, keepdims });
    const den = sum(w, { axis, keepdims });
    return bind1("div", [num, den], {});
  });
}

function cumulative(where: string, prim: "cumsum" | "cumprod" | "cummax" | "cummin") {
  return (x: ArrayLike, axisOrOpts?: number | null | CumulativeOptions, options?: CumulativeOptions): Tracer => {
    const [axisOpt, opts] = axisAndOptions(`np.${where}`, axisOrOpts, options, cumulativeRules);
    let axis = axisOpt;
    let t = asTracer(where, x);
    if (opts.dtype) t = cast(t, checkDType(opts.dtype, where));
    else if (t.dtype === "bool" && (prim === "cumsum" || prim === "cumprod")) t = cast(t, "int32");
    // A scalar is read as a 1-element vector (as jnp's cumulative reductions do), so cumsum(5, 0) is [5].
    if (axis === undefined || axis === null || t.ndim === 0) t = bind1("reshape", [t], { newSizes: [t.size] });
    const ax = normalizeAxis(axis ?? 0, t.ndim, where);
    return bind1(prim, [t], { axis: ax, reverse: opts.reverse ?? false });
  };
}

/** Cumulative sum; axis null/undefined flattens first (as numpy). */
export const cumsum = cumulative("cumsum", "cumsum");
export const cumprod = cumulative("cumprod", "cumprod");
export const cummax = cumulative("cummax", "cummax");
export const cummin = cumulative("cummin", "cummin");

export function ptp(x: ArrayLike, axisOrOpts?: Axis | AxisKeepDims, options?: AxisKeepDims): Tracer {
  return asCalledFrom("ptp", () => {
    const [axis, opts] = axisAndOptions("np.ptp", axisOrOpts, options, axisKeepdimsRules);
    const o = { axis, keepdims: opts.keepdims };
    return bind1("sub", [max(x, o), min(x, o)], {});
  });
}

// --- sorting ---

export interface SortOptions {
  /** The axis to sort along (default -1; null: the flattened array), when not given positionally. */
  axis?: number | null;
}
const sortRules: OptionRules<SortOptions> = { axis: singleAxis };

/** Sort along an axis (the flattened array when axis is null); stable. */
export function sort(x: ArrayLike, axisOrOpts?: number | null | SortOptions, options?: SortOptions): Tracer {
  const [axisOpt] = axisAndOptions("np.sort", axisOrOpts, options, sortRules);
  let axis = axisOpt === undefined ? -1 : axisOpt;
  let t = asTracer("sort", x);
  if (axis === null) {
    t = bind1("reshape", [t], { newSizes: [t.size] });
    axis = 0;
  }
  if (t.ndim === 0) return t;
  return bind1("sort", [t], { dimension: normalizeAxis(axis, t.ndim, "sort"), isStable: true, numKeys: 1 });
}

/** Indices that sort along an axis (stable; int32). */
export function argsort(x: ArrayLike, axisOrOpts?: number | null | SortOptions, options?: SortOptions): Tracer {
  const [axisOpt] = axisAndOptions("np.argsort", axisOrOpts, options, sortRules);
  let axis = axisOpt === undefined ? -1 : axisOpt;
  let t = asTracer("argsort", x);
  if (axis === null) {
    t = bind1("reshape", [t], { newSizes: [t.size] });
    axis = 0;
  }
  if (t.ndim === 0) return Array.scalar(0, "int32", false);
  const ax = normalizeAxis(axis, t.ndim, "argsort");
  const ids = bind1("iota", [], { dtype: "int32", shape: [...t.shape], dimension: ax });
  const outs = bind("sort", [t, ids], { dimension: ax, isStable: true, numKeys: 1 });
  return outs[1];
}
