// numpy functions over sequences along an axis: differences and integrals
// (diff, ediff1d, trapezoid, cumulativeSum/cumulativeProd with
// include_initial), sorted-array lookups (searchsorted, digitize, interp),
// counting (bincount, histogram, isin, unique with a static size), and
// condition-driven choice (select, piecewise). Sizes that numpy derives from
// the data are static arguments here, as in JAX, so every function traces.

import { Array } from "../core/array";
import { isFloat, isInt } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { normalizeAxis } from "../core/shape";
import type { ArrayLike, Tracer } from "../core/trace";
import * as ew from "./elementwise";
import { arange, full, zeros } from "./creation";
import { any, cumprod, cumsum, max, min, sort, sum } from "./reductions";
import { broadcastTo, concatenate, expandDims, ravel, reshape } from "./shape";
import { asTracer, promoteArgs, toInexact } from "./promote";
import { at, index, take } from "./indexing";

function sliceAlong(x: Tracer, axis: number, start: number, stop: number): Tracer {
  const spec = x.shape.map((_, i) => (i === axis ? ([start, stop] as [number, number]) : (":" as const)));
  return index(x, spec);
}

/** The n-th discrete difference along `axis` (default last), with optional values prepended/appended first. */
export function diff(a: ArrayLike, n = 1, axis = -1, opts: { prepend?: ArrayLike; append?: ArrayLike } = {}): Tracer {
  checkOptions("np.diff", opts, { prepend: opt.arrayLike, append: opt.arrayLike });
  let t = asTracer("diff", a);
  if (t.ndim === 0) throw new ShapeError(`diff: needs an array of at least 1 dimension, got ${t.aval.str()}`);
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`diff: the order n must be a non-negative integer, got ${n}`);
  const ax = normalizeAxis(axis, t.ndim, "diff");
  const edge = (v: ArrayLike) => {
    const e = asTracer("diff", v);
    const shape = t.shape.map((d, i) => (i === ax ? (e.ndim === 0 ? 1 : e.shape[i]) : d));
    return broadcastTo(e, shape);
  };
  if (opts.prepend !== undefined) t = concatenate([edge(opts.prepend), t], ax);
  if (opts.append !== undefined) t = concatenate([t, edge(opts.append)], ax);
  for (let k = 0; k < n; k++) {
    const len = t.shape[ax];
    if (len === 0) break;
    const [next, prev] = [sliceAlong(t, ax, 1, len), sliceAlong(t, ax, 0, len - 1)];
    t = t.dtype === "bool" ? ew.notEqual(next, prev) : ew.subtract(next, prev);
  }
  return t;
}

/** Differences of the flattened array, with optional values before and after. */
export function ediff1d(ary: ArrayLike, opts: { toEnd?: ArrayLike; toBegin?: ArrayLike } = {}): Tracer {
  checkOptions("np.ediff1d", opts, { toEnd: opt.arrayLike, toBegin: opt.arrayLike });
  const flat = ravel(asTracer("ediff1d", ary));
  let out = flat.size === 0 ? flat : diff(flat);
  if (opts.toBegin !== undefined) out = concatenate([ravel(ew.astype(asTracer("ediff1d", opts.toBegin), out.dtype)), out], 0);
  if (opts.toEnd !== undefined) out = concatenate([out, ravel(ew.astype(asTracer("ediff1d", opts.toEnd), out.dtype))], 0);
  return out;
}

/** The trapezoid rule along `axis`: sample points x, or uniform spacing dx. */
export function trapezoid(y: ArrayLike, opts: { x?: ArrayLike | null; dx?: number; axis?: number } = {}): Tracer {
  checkOptions("np.trapezoid", opts, { x: opt.nullable(opt.arrayLike), dx: opt.number, axis: opt.integer });
  const t = promoteArgs("trapezoid", [y], { toDType: toInexact }).args[0];
  if (t.ndim === 0) throw new ShapeError(`trapezoid: y must have at least one dimension, got ${t.aval.str()}`);
  const ax = normalizeAxis(opts.axis ?? -1, t.ndim, "trapezoid");
  const len = t.shape[ax];
  if (len < 2) return sum(ew.multiply(t, 0), ax);
  const mids = ew.divide(ew.add(sliceAlong(t, ax, 1, len), sliceAlong(t, ax, 0, len - 1)), 2);
  if (opts.x === undefined || opts.x === null) return ew.multiply(sum(mids, ax), opts.dx ?? 1);
  let xs = asTracer("trapezoid", opts.x);
  if (xs.ndim === 1) {
    if (xs.shape[0] !== len) throw new ShapeError(`trapezoid: x has ${xs.shape[0]} points but y has ${len} along axis ${ax}`);
    xs = reshape(xs, t.shape.map((d, i) => (i === ax ? len : 1)));
  }
  const dxs = diff(xs, 1, xs.ndim === t.ndim ? ax : -1);
  return sum(ew.multiply(mids, dxs), ax);
}

function cumulativeWithInitial(where: string, op: typeof cumsum, identity: number) {
  return (x: ArrayLike, opts: { axis?: number | null; includeInitial?: boolean } = {}): Tracer => {
    checkOptions(`np.${where}`, opts, { axis: opt.nullable(opt.integer), includeInitial: opt.boolean });
    const t = asTracer(where, x);
    if (t.ndim > 1 && (opts.axis === undefined || opts.axis === null)) {
      throw new ArgumentError(`${where}: axis is required for arrays of more than one dimension, got ${t.aval.str()}`);
    }
    const ax = t.ndim === 0 ? 0 : normalizeAxis(opts.axis ?? 0, t.ndim, where);
    const out = op(t.ndim === 0 ? reshape(t, [1]) : t, ax);
    if (!opts.includeInitial) return out;
    const initShape = out.shape.map((d, i) => (i === ax ? 1 : d));
    return concatenate([full(initShape, identity, { dtype: out.dtype }), out], ax);
  };
}

/** Cumulative sum along an axis (the array API's cumulative_sum), optionally starting with 0. */
export const cumulativeSum = cumulativeWithInitial("cumulativeSum", cumsum, 0);
/** Cumulative product along an axis, optionally starting with 1. */
export const cumulativeProd = cumulativeWithInitial("cumulativeProd", cumprod, 1);

/**
 * Indices where v would be inserted into the sorted 1-D array a to keep it
 * sorted: side "left" counts a < v, "right" counts a <= v.
 */
export function searchsorted(a: ArrayLike, v: ArrayLike, opts: { side?: "left" | "right" } = {}): Tracer {
  checkOptions("np.searchsorted", opts, { side: opt.oneOf("left", "right") });
  const [sorted, values] = promoteArgs("searchsorted", [a, v], { broadcast: false }).args;
  if (sorted.ndim !== 1) throw new ShapeError(`searchsorted: a must be a sorted 1-D array, got ${sorted.aval.str()}`);
  const cmp = (opts.side ?? "left") === "left" ? ew.less : ew.lessEqual;
  const below = cmp(sorted, expandDims(values, -1));
  return sum(ew.astype(below, "int32"), -1);
}

/** The bin of each x among monotonically increasing `bins` (numpy's convention: right=false means bins[i-1] <= x < bins[i]). */
export function digitize(x: ArrayLike, bins: ArrayLike, right = false): Tracer {
  const b = asTracer("digitize", bins);
  if (b.ndim !== 1) throw new ShapeError(`digitize: bins must be 1-D, got ${b.aval.str()}`);
  return searchsorted(b, x, { side: right ? "left" : "right" });
}

/**
 * Piecewise-linear interpolation of (xp, fp) at x, xp increasing; left/right
 * give the values beyond the ends (default fp's first and last).
 */
export function interp(x: ArrayLike, xp: ArrayLike, fp: ArrayLike, opts: { left?: number | null; right?: number | null } = {}): Tracer {
  checkOptions("np.interp", opts, { left: opt.nullable(opt.number), right: opt.nullable(opt.number) });
  const [xt, xpt, fpt] = promoteArgs("interp", [x, xp, fp], { broadcast: false, toDType: toInexact }).args;
  if (xpt.ndim !== 1 || fpt.ndim !== 1 || xpt.shape[0] !== fpt.shape[0] || xpt.shape[0] === 0) {
    throw new ShapeError(`interp: xp and fp must be non-empty 1-D arrays of the same length, got ${xpt.aval.str()} and ${fpt.aval.str()}`);
  }
  const n = xpt.shape[0];
  const i = ew.clip(searchsorted(xpt, xt, { side: "right" }), 1, Math.max(1, n - 1));
  const lo = ew.subtract(i, 1);
  const x0 = take(xpt, lo);
  const x1 = take(xpt, i);
  const f0 = take(fpt, lo);
  const f1 = take(fpt, i);
  const span = ew.subtract(x1, x0);
  const w = ew.where(ew.equal(span, 0), 0, ew.divide(ew.subtract(xt, x0), ew.where(ew.equal(span, 0), 1, span)));
  let out = n === 1 ? broadcastTo(f0, xt.shape) : ew.add(f0, ew.multiply(w, ew.subtract(f1, f0)));
  const first = index(fpt, [0]);
  const last = index(fpt, [n - 1]);
  out = ew.where(ew.less(xt, index(xpt, [0])), opts.left ?? first, out);
  out = ew.where(ew.greater(xt, index(xpt, [n - 1])), opts.right ?? last, out);
  return out;
}

/**
 * Occurrences of each value 0..length-1 in a non-negative int array (weighted
 * sums with weights). `length` must be static under jit; eagerly it defaults
 * to max(x) + 1. Values >= length are dropped, as JAX does.
 */
export function bincount(x: ArrayLike, opts: { weights?: ArrayLike | null; minlength?: number; length?: number | null } = {}): Tracer {
  checkOptions("np.bincount", opts, { weights: opt.nullable(opt.arrayLike), minlength: opt.nonNegativeInteger, length: opt.nullable(opt.nonNegativeInteger) });
  const t = asTracer("bincount", x);
  if (!isInt(t.dtype) && t.dtype !== "bool") throw new DTypeError(`bincount: x must hold non-negative integers, got ${t.aval.str()}`);
  if (t.ndim !== 1) throw new ShapeError(`bincount: x must be 1-D, got ${t.aval.str()}`);
  let length = opts.length ?? null;
  if (length === null) {
    if (!(t instanceof Array)) {
      throw new ArgumentError("bincount: under jit/vmap the output size depends on the data; pass a static { length }");
    }
    const data = t.dataSync() as globalThis.ArrayLike<number>;
    let m = -1;
    for (let i = 0; i < data.length; i++) m = Math.max(m, Number(data[i]));
    length = Math.max(m + 1, opts.minlength ?? 0);
  }
  const w = opts.weights == null ? null : asTracer("bincount", opts.weights);
  if (w !== null && (w.ndim !== 1 || w.shape[0] !== t.shape[0])) {
    throw new ShapeError(`bincount: weights must be 1-D like x ${t.aval.str()}, got ${w.aval.str()}`);
  }
  const hits = ew.equal(expandDims(ew.astype(t, "int32"), -1), arange(length, { dtype: "int32" }));
  if (w === null) return sum(ew.astype(hits, "int32"), 0);
  return sum(ew.multiply(ew.astype(hits, isFloat(w.dtype) ? w.dtype : "float32"), expandDims(w, -1)), 0);
}

export interface HistogramOptions {
  /** The number of equal-width bins (default 10) or the bin edges. */
  bins?: number | ArrayLike;
  /** [lo, hi] of the equal-width bins (default: the data's min and max). */
  range?: readonly [number, number] | null;
  weights?: ArrayLike | null;
  /** Divide by the total count and the bin widths, so the result integrates to 1. */
  density?: boolean;
}

/** [counts, edges] of the flattened data; the last bin includes its right edge, as numpy. */
export function histogram(a: ArrayLike, opts: HistogramOptions = {}): [Tracer, Tracer] {
  checkOptions("np.histogram", opts, { bins: opt.any, range: opt.any, weights: opt.nullable(opt.arrayLike), density: opt.boolean });
  const data = ravel(promoteArgs("histogram", [a], { toDType: toInexact }).args[0]);
  const bins = opts.bins ?? 10;
  let edges: Tracer;
  if (typeof bins === "number") {
    if (!Number.isInteger(bins) || bins < 1) throw new ArgumentError(`histogram: bins must be a positive integer or an array of edges, got ${bins}`);
    let lo: Tracer | number;
    let hi: Tracer | number;
    if (opts.range) {
      [lo, hi] = opts.range;
      if (!(lo <= hi)) throw new ArgumentError(`histogram: range must be [lo, hi] with lo <= hi, got ${JSON.stringify(opts.range)}`);
    } else if (data.size === 0) {
      [lo, hi] = [0, 1];
    } else {
      [lo, hi] = [min(data), max(data)];
    }
    // numpy widens an empty range to [lo - 0.5, hi + 0.5].
    const same = ew.equal(lo, hi);
    const l = ew.where(same, ew.subtract(lo, 0.5), lo);
    const h = ew.where(same, ew.add(hi, 0.5), hi);
    const steps = ew.divide(arange(bins + 1, { dtype: "float32" }), bins);
    edges = ew.add(l, ew.multiply(steps, ew.subtract(h, l)));
  } else {
    edges = ew.astype(asTracer("histogram", bins), data.dtype);
    if (edges.ndim !== 1 || edges.shape[0] < 2) throw new ShapeError(`histogram: bin edges must be 1-D with at least 2 entries, got ${edges.aval.str()}`);
  }
  const nb = edges.shape[0] - 1;
  const lastEdge = index(edges, [nb]);
  // Bin i holds edges[i] <= x < edges[i+1]; x equal to the last edge falls in the last bin.
  let bin = ew.subtract(searchsorted(edges, data, { side: "right" }), 1);
  bin = ew.where(ew.equal(data, lastEdge), nb - 1, bin);
  const inside = ew.logicalAnd(ew.greaterEqual(data, index(edges, [0])), ew.lessEqual(data, lastEdge));
  const hits = ew.logicalAnd(ew.equal(expandDims(bin, -1), arange(nb, { dtype: "int32" })), expandDims(inside, -1));
  let counts: Tracer;
  if (opts.weights == null) counts = sum(ew.astype(hits, "float32"), 0);
  else {
    const w = ravel(asTracer("histogram", opts.weights));
    if (w.size !== data.size) throw new ShapeError(`histogram: weights must have as many entries as a (${data.size}), got ${w.aval.str()}`);
    counts = sum(ew.multiply(ew.astype(hits, "float32"), expandDims(w, -1)), 0);
  }
  if (opts.density) {
    const widths = diff(edges);
    counts = ew.divide(counts, ew.multiply(sum(counts), widths));
  }
  return [counts, edges];
}

/** Whether each element of `element` occurs in `testElements` (invert: whether it does not). */
export function isin(element: ArrayLike, testElements: ArrayLike, opts: { invert?: boolean } = {}): Tracer {
  checkOptions("np.isin", opts, { invert: opt.boolean });
  const [e, tests] = promoteArgs("isin", [element, testElements], { broadcast: false }).args;
  const found = any(ew.equal(expandDims(e, -1), ravel(tests)), -1);
  return opts.invert ? ew.logicalNot(found) : found;
}

/**
 * The sorted unique values of the flattened array. Under jit the output size
 * must be static: `size` keeps the first `size` unique values, padded with
 * `fillValue` (default: the smallest value). Eagerly `size` may be omitted.
 */
export function unique(x: ArrayLike, opts: { size?: number | null; fillValue?: number | null } = {}): Tracer {
  checkOptions("np.unique", opts, { size: opt.nullable(opt.nonNegativeInteger), fillValue: opt.nullable(opt.number) });
  const sorted = sort(ravel(asTracer("unique", x)));
  const n = sorted.size;
  let size = opts.size ?? null;
  if (n === 0) return size === null ? sorted : full([size], opts.fillValue ?? 0, { dtype: sorted.dtype });
  const isNew = concatenate([Array.fromTyped(Uint8Array.of(1), [1], "bool"), ew.notEqual(index(sorted, [[1, n]]), index(sorted, [[0, n - 1]]))], 0);
  if (size === null) {
    if (!(isNew instanceof Array)) throw new ArgumentError("unique: under jit/vmap the number of unique values depends on the data; pass a static { size }");
    size = (isNew.dataSync() as Uint8Array).reduce((s, v) => s + (v ? 1 : 0), 0);
  }
  // The k-th unique value goes to slot k; repeats go past the end and are dropped.
  const slot = ew.where(isNew, ew.subtract(cumsum(ew.astype(isNew, "int32")), 1), size);
  const fill = opts.fillValue ?? null;
  const base = fill === null ? broadcastTo(index(sorted, [0]), [size]) : full([size], fill, { dtype: sorted.dtype });
  return at(base, [slot]).set(sorted);
}

/**
 * choicelist[i] where condlist[i] is the first true condition, else `default`
 * (conditions and choices broadcast together).
 */
export function select(condlist: readonly ArrayLike[], choicelist: readonly ArrayLike[], defaultValue: ArrayLike = 0): Tracer {
  if (!globalThis.Array.isArray(condlist) || !globalThis.Array.isArray(choicelist) || condlist.length !== choicelist.length) {
    throw new ArgumentError(`select: condlist and choicelist must be lists of the same length, got ${condlist?.length} and ${choicelist?.length}`);
  }
  let out = asTracer("select", defaultValue);
  for (let i = condlist.length - 1; i >= 0; i--) {
    const c = asTracer("select", condlist[i]);
    if (c.dtype !== "bool") throw new DTypeError(`select: condition ${i} must be a bool array, got ${c.aval.str()}`);
    out = ew.where(c, choicelist[i], out);
  }
  return out;
}

/**
 * Evaluate funclist[i] (a function of x, or a constant) where condlist[i]
 * holds; with one more function than conditions, the last applies where none
 * holds (else 0). Every function is evaluated on all of x, as in JAX.
 */
export function piecewise(x: ArrayLike, condlist: readonly ArrayLike[], funclist: readonly (((x: Tracer) => ArrayLike) | number)[]): Tracer {
  const t = asTracer("piecewise", x);
  if (!globalThis.Array.isArray(condlist) || !globalThis.Array.isArray(funclist)) {
    throw new ArgumentError(`piecewise: condlist and funclist must be arrays, got ${typeof condlist} and ${typeof funclist}`);
  }
  const nc = condlist.length;
  if (funclist.length !== nc && funclist.length !== nc + 1) {
    throw new ArgumentError(`piecewise: expected ${nc} or ${nc + 1} functions for ${nc} conditions, got ${funclist.length}`);
  }
  const value = (f: ((x: Tracer) => ArrayLike) | number): Tracer => broadcastTo(ew.astype(asTracer("piecewise", typeof f === "function" ? f(t) : f), t.dtype), t.shape);
  let out = funclist.length === nc + 1 ? value(funclist[nc]) : zeros(t.shape, { dtype: t.dtype });
  // Later conditions win where several hold, as numpy.
  for (let i = 0; i < nc; i++) out = ew.where(asTracer("piecewise", condlist[i]), value(funclist[i]), out);
  return out;
}
