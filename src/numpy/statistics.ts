// numpy's NaN-ignoring reductions (nansum, nanmean, nanmax, ...), order
// statistics (quantile, percentile, median and their nan forms, by sorting
// and linear interpolation between the neighbouring order statistics — numpy's
// default "linear" method), and cov/corrcoef.

import { ShapeError, asCalledFrom } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { normalizeAxis } from "../core/shape";
import type { ArrayLike, Axis, Tracer } from "../core/trace";
import * as ew from "./elementwise";
import { all, argmax, argmin, max, mean, min, prod, sort, sum } from "./reductions";
import { concatenate, expandDims, moveaxis, reshape, squeeze, swapaxes } from "./shape";
import { asTracer, promoteArgs, toInexact } from "./promote";
import { takeAlongAxis } from "./indexing";
import { diagonal, matmul } from "./linalg";
import { broadcastTo } from "./promote";

function inexact(where: string, x: ArrayLike): Tracer {
  return promoteArgs(where, [x], { toDType: toInexact }).args[0];
}

function axesOf(t: Tracer, axis: Axis | undefined, where: string): number[] {
  if (axis === null || axis === undefined) return t.shape.map((_, i) => i);
  return (typeof axis === "number" ? [axis] : [...axis]).map((a) => normalizeAxis(a, t.ndim, where));
}

/** Sum treating NaN as 0. */
export function nansum(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return asCalledFrom("nansum", () => {
    const t = asTracer("nansum", x);
    return sum(ew.where(ew.isnan(t), 0, t), axis, opts);
  });
}

/** Product treating NaN as 1. */
export function nanprod(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return asCalledFrom("nanprod", () => {
    const t = asTracer("nanprod", x);
    return prod(ew.where(ew.isnan(t), 1, t), axis, opts);
  });
}

/** Mean over the non-NaN entries (NaN where all are NaN). */
export function nanmean(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return asCalledFrom("nanmean", () => {
    const t = inexact("nanmean", x);
    const ok = ew.logicalNot(ew.isnan(t));
    return ew.divide(sum(ew.where(ok, t, 0), axis, opts), sum(ew.astype(ok, t.dtype), axis, opts));
  });
}

/** Variance over the non-NaN entries (ddof: delta degrees of freedom). */
export function nanvar(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean; ddof?: number } = {}): Tracer {
  return asCalledFrom("nanvar", () => {
    checkOptions("np.nanvar", opts, { keepdims: opt.boolean, ddof: opt.nonNegative });
    const t = inexact("nanvar", x);
    const ok = ew.logicalNot(ew.isnan(t));
    const m = nanmean(t, axis, { keepdims: true });
    const sq = ew.where(ok, ew.square(ew.subtract(t, m)), 0);
    const n = sum(ew.astype(ok, t.dtype), axis, { keepdims: opts.keepdims });
    return ew.divide(sum(sq, axis, { keepdims: opts.keepdims }), ew.subtract(n, opts.ddof ?? 0));
  });
}

/** Standard deviation over the non-NaN entries. */
export function nanstd(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean; ddof?: number } = {}): Tracer {
  return asCalledFrom("nanstd", () => {
    return ew.sqrt(nanvar(x, axis, opts));
  });
}

/** Maximum ignoring NaN (NaN where all are NaN). */
export function nanmax(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return asCalledFrom("nanmax", () => {
    const t = inexact("nanmax", x);
    const nan = ew.isnan(t);
    const r = max(ew.where(nan, -Infinity, t), axis, opts);
    return ew.where(all(nan, axis, opts), NaN, r);
  });
}

/** Minimum ignoring NaN (NaN where all are NaN). */
export function nanmin(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return asCalledFrom("nanmin", () => {
    const t = inexact("nanmin", x);
    const nan = ew.isnan(t);
    const r = min(ew.where(nan, Infinity, t), axis, opts);
    return ew.where(all(nan, axis, opts), NaN, r);
  });
}

/** Index of the maximum ignoring NaN. */
export function nanargmax(x: ArrayLike, axis: number | null = null): Tracer {
  return asCalledFrom("nanargmax", () => {
    const t = inexact("nanargmax", x);
    return argmax(ew.where(ew.isnan(t), -Infinity, t), axis);
  });
}

/** Index of the minimum ignoring NaN. */
export function nanargmin(x: ArrayLike, axis: number | null = null): Tracer {
  return asCalledFrom("nanargmin", () => {
    const t = inexact("nanargmin", x);
    return argmin(ew.where(ew.isnan(t), Infinity, t), axis);
  });
}

export interface QuantileOptions {
  axis?: Axis;
  keepdims?: boolean;
  /** numpy's interpolation methods between the order statistics around q·(n-1). */
  method?: "linear" | "lower" | "higher" | "nearest" | "midpoint";
}

/**
 * Order statistics along `axis`: the reduced axes are moved last and sorted;
 * q·(count-1) is interpolated between its neighbours. With ignoreNan, NaNs
 * sort last and `count` is the per-row number of non-NaN entries.
 */
function quantileImpl(where: string, x: ArrayLike, q: ArrayLike, opts: QuantileOptions, ignoreNan: boolean): Tracer {
  checkOptions(`np.${where}`, opts, { axis: opt.axis, keepdims: opt.boolean, method: opt.oneOf("linear", "lower", "higher", "nearest", "midpoint") });
  const t = inexact(where, x);
  const qt = ew.astype(asTracer(where, q), t.dtype);
  if (qt.ndim > 1) throw new ShapeError(`${where}: q must be a scalar or 1-D, got ${qt.aval.str()}`);
  const axes = axesOf(t, opts.axis, where);
  const kept = t.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const n = axes.reduce((p, a) => p * t.shape[a], 1);
  if (n === 0) throw new ShapeError(`${where}: cannot take a quantile over an empty axis of ${t.aval.str()}`);
  const moved = moveaxis(t, axes, axes.map((_, i) => t.ndim - axes.length + i));
  const rows = reshape(moved, [...kept.map((i) => t.shape[i]), n]);
  const sorted = sort(rows, -1); // NaN sorts last
  const count = ignoreNan ? sum(ew.astype(ew.logicalNot(ew.isnan(rows)), t.dtype), -1, { keepdims: true }) : null;
  const last = count === null ? n - 1 : ew.subtract(count, 1);
  const qs = qt.ndim === 0 ? reshape(qt, [1]) : qt;
  // pos has shape [...kept, nq].
  const pos = ew.multiply(last, qs);
  const lo = ew.floor(pos);
  const hi = ew.ceil(pos);
  const gather = (idx: Tracer) => {
    const i = ew.astype(ew.clip(idx, 0, n - 1), "int32");
    return takeAlongAxis(sorted, broadcastTo(i, [...sorted.shape.slice(0, -1), qs.shape[0]]), -1);
  };
  const vlo = gather(lo);
  const vhi = gather(hi);
  const method = opts.method ?? "linear";
  let out: Tracer;
  if (method === "lower") out = vlo;
  else if (method === "higher") out = vhi;
  else if (method === "midpoint") out = ew.divide(ew.add(vlo, vhi), 2);
  else if (method === "nearest") out = gather(ew.round(pos));
  else out = ew.add(vlo, ew.multiply(ew.subtract(pos, lo), ew.subtract(vhi, vlo)));
  if (count !== null) out = ew.where(ew.equal(count, 0), NaN, out);
  // numpy puts q's axis first.
  out = moveaxis(out, -1, 0);
  if (opts.keepdims) {
    for (const a of [...axes].sort((p, r) => p - r)) out = expandDims(out, a + 1);
  }
  return qt.ndim === 0 ? squeeze(out, 0) : out;
}

/** The q-th quantiles (q in [0, 1]) along axis (all axes by default). */
export function quantile(x: ArrayLike, q: ArrayLike, opts: QuantileOptions = {}): Tracer {
  return quantileImpl("quantile", x, q, opts, false);
}

/** quantile ignoring NaN. */
export function nanquantile(x: ArrayLike, q: ArrayLike, opts: QuantileOptions = {}): Tracer {
  return quantileImpl("nanquantile", x, q, opts, true);
}

/** The q-th percentiles (q in [0, 100]). */
export function percentile(x: ArrayLike, q: ArrayLike, opts: QuantileOptions = {}): Tracer {
  return quantileImpl("percentile", x, ew.divide(asTracer("percentile", q), 100), opts, false);
}

/** percentile ignoring NaN. */
export function nanpercentile(x: ArrayLike, q: ArrayLike, opts: QuantileOptions = {}): Tracer {
  return quantileImpl("nanpercentile", x, ew.divide(asTracer("nanpercentile", q), 100), opts, true);
}

/** The median along axis (the 0.5 quantile). */
export function median(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return quantileImpl("median", x, 0.5, { axis, keepdims: opts.keepdims }, false);
}

/** median ignoring NaN. */
export function nanmedian(x: ArrayLike, axis: Axis = null, opts: { keepdims?: boolean } = {}): Tracer {
  return quantileImpl("nanmedian", x, 0.5, { axis, keepdims: opts.keepdims }, true);
}

export interface CovOptions {
  /** Variables are rows (true, default) or columns. */
  rowvar?: boolean;
  /** Normalize by N (true) instead of N - 1. */
  bias?: boolean;
  ddof?: number | null;
}

/** The covariance matrix of the variables (rows of m, and of y appended when given). */
export function cov(m: ArrayLike, y: ArrayLike | null = null, opts: CovOptions = {}): Tracer {
  checkOptions("np.cov", opts, { rowvar: opt.boolean, bias: opt.boolean, ddof: opt.nullable(opt.integer) });
  let x = inexact("cov", m);
  if (x.ndim > 2) throw new ShapeError(`cov: m must be 1-D or 2-D, got ${x.aval.str()}`);
  const rowvar = opts.rowvar ?? true;
  const asRows = (t: Tracer) => (t.ndim < 2 ? reshape(t, [1, t.size]) : rowvar ? t : swapaxes(t, 0, 1));
  x = asRows(x);
  if (y !== null) {
    const yt = asRows(inexact("cov", y));
    if (yt.shape[1] !== x.shape[1]) throw new ShapeError(`cov: m and y must have the same number of observations, got ${x.shape[1]} and ${yt.shape[1]}`);
    x = concatenate([x, yt], 0);
  }
  const n = x.shape[1];
  const ddof = opts.ddof ?? (opts.bias ? 0 : 1);
  const centered = ew.subtract(x, mean(x, 1, { keepdims: true }));
  const c = ew.divide(matmul(centered, swapaxes(centered, 0, 1)), n - ddof);
  return x.shape[0] === 1 ? reshape(c, []) : c;
}

/** Pearson correlation coefficients: cov scaled by the standard deviations, clipped to [-1, 1]. */
export function corrcoef(x: ArrayLike, y: ArrayLike | null = null, opts: { rowvar?: boolean } = {}): Tracer {
  return asCalledFrom("corrcoef", () => {
    checkOptions("np.corrcoef", opts, { rowvar: opt.boolean });
    const c = cov(x, y, { rowvar: opts.rowvar });
    if (c.ndim === 0) return ew.divide(c, c);
    const d = ew.sqrt(diagonal(c));
    return ew.clip(ew.divide(ew.divide(c, expandDims(d, 1)), expandDims(d, 0)), -1, 1);
  });
}
