// numpy shape manipulation over lax: reshape transpose swapaxes moveaxis
// expandDims squeeze broadcastTo broadcastArrays concatenate stack vstack
// hstack split arraySplit tile repeat flip roll pad ravel atleast1d/2d/3d.
// Axes may be negative, as in numpy; concatenate/stack promote dtypes.

import { Array } from "../core/array";
import { ArgumentError, ShapeError, fmtShape, asCalledFrom } from "../core/errors";
import { fmtValue, broadcastShapes as coreBroadcastShapes, isPermutation, normalizeAxes, normalizeAxis, resolveReshape, checkAxisList, checkShape } from "../core/shape";
import { bind1, isTracer, type ArrayLike, type Axis, type Tracer } from "../core/trace";
import { asTracer, broadcastTo as broadcastOne, promoteArgs, seqArg } from "./promote";
import { checkOptions, opt } from "../core/options";

export function reshape(x: ArrayLike, shape: number | readonly number[]): Tracer {
  const t = asTracer("reshape", x);
  const target = typeof shape === "number" ? [shape] : checkAxisList(shape, "reshape", "the new shape");
  const s = resolveReshape(t.shape, target, "reshape");
  if (s.length === t.ndim && s.every((d, i) => d === t.shape[i])) return t;
  return bind1("reshape", [t], { newSizes: s });
}

export function ravel(x: ArrayLike): Tracer {
  const t = asTracer("ravel", x);
  return reshape(t, [t.size]);
}

/** Permute axes; default reverses them. */
export function transpose(x: ArrayLike, axes?: readonly number[] | null): Tracer {
  const t = asTracer("transpose", x);
  const perm = axes == null ? [...t.shape.keys()].reverse() : checkAxisList(axes, "transpose").map((a) => (Number.isInteger(a) && a < 0 ? a + t.ndim : a));
  if (!isPermutation(perm, t.ndim)) {
    throw new ShapeError(`transpose: axes ${JSON.stringify(axes)} are not a permutation of the ${t.ndim} axes of ${t.aval.str()}`);
  }
  if (perm.every((p, i) => p === i)) return t;
  return bind1("transpose", [t], { permutation: perm });
}

/** Reverse the order of the axes (numpy's .T / permute_dims with no axes). */
export function permuteDims(x: ArrayLike, axes?: readonly number[]): Tracer {
  return asCalledFrom("permuteDims", () => {
    return transpose(x, axes);
  });
}

export function swapaxes(x: ArrayLike, axis1: number, axis2: number): Tracer {
  const t = asTracer("swapaxes", x);
  const a = normalizeAxis(axis1, t.ndim, "swapaxes");
  const b = normalizeAxis(axis2, t.ndim, "swapaxes");
  const perm = [...t.shape.keys()];
  perm[a] = b;
  perm[b] = a;
  return transpose(t, perm);
}

/** Move axes `source` to positions `destination`, keeping the others in order. */
export function moveaxis(x: ArrayLike, source: number | readonly number[], destination: number | readonly number[]): Tracer {
  const t = asTracer("moveaxis", x);
  const src = normalizeAxes(source, t.ndim, "moveaxis");
  const dst = normalizeAxes(destination, t.ndim, "moveaxis");
  if (src.length !== dst.length) {
    throw new ArgumentError(`moveaxis: source ${JSON.stringify(source)} and destination ${JSON.stringify(destination)} must have the same number of elements`);
  }
  const rest = [...t.shape.keys()].filter((a) => !src.includes(a));
  const perm = new globalThis.Array<number>(t.ndim).fill(-1);
  src.forEach((s, i) => (perm[dst[i]] = s));
  let k = 0;
  for (let i = 0; i < t.ndim; i++) if (perm[i] === -1) perm[i] = rest[k++];
  return transpose(t, perm);
}

/** Insert size-1 axes at the given positions of the result (numpy semantics). */
export function expandDims(x: ArrayLike, axis: Axis): Tracer {
  const t = asTracer("expandDims", x);
  if (axis === null) throw new ArgumentError("expandDims: axis must be given");
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = normalizeAxes(list, t.ndim + list.length, "expandDims").sort((a, b) => a - b);
  if (out.length === 0) return t;
  return bind1("expand_dims", [t], { dimensions: out });
}

/** Remove size-1 axes: all of them, or the given ones (which must have size 1). */
export function squeeze(x: ArrayLike, axis?: Axis): Tracer {
  const t = asTracer("squeeze", x);
  let axes: number[];
  if (axis === undefined || axis === null) {
    axes = [...t.shape.keys()].filter((i) => t.shape[i] === 1);
  } else {
    axes = normalizeAxes(axis, t.ndim, "squeeze");
    for (const a of axes) {
      if (t.shape[a] !== 1) throw new ShapeError(`squeeze: cannot select an axis to squeeze out which has size not equal to one: axis ${a} of ${t.aval.str()} has size ${t.shape[a]}`);
    }
  }
  if (axes.length === 0) return t;
  return bind1("squeeze", [t], { dimensions: axes.sort((a, b) => a - b) });
}

/** Broadcast to `shape` by numpy's rules (trailing alignment; size-1 dims stretch). */
export function broadcastTo(x: ArrayLike, shape: number | readonly number[]): Tracer {
  const t = asTracer("broadcastTo", x);
  const s = typeof shape === "number" ? [shape] : [...shape];
  const ok = s.length >= t.ndim && t.shape.every((d, i) => d === 1 || d === s[s.length - t.ndim + i]);
  if (!ok) throw new ShapeError(`broadcastTo: cannot broadcast ${t.aval.str()} to shape ${fmtShape(s)}`);
  return broadcastOne(t, s);
}

export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  return coreBroadcastShapes("broadcastShapes", ...shapes.map((s) => checkShape(s, "broadcastShapes")));
}

export function broadcastArrays(...xs: ArrayLike[]): Tracer[] {
  const ts = xs.map((x) => asTracer("broadcastArrays", x));
  const s = coreBroadcastShapes("broadcastArrays", ...ts.map((t) => t.shape));
  return ts.map((t) => broadcastOne(t, s));
}

/** Join arrays along an existing axis (axis null flattens them first). Dtypes are promoted. */
export function concatenate(arrays: readonly ArrayLike[], axis: number | null = 0): Tracer {
  const list = seqArg("concatenate", arrays);
  let ts = promoteArgs("concatenate", list, { broadcast: false }).args;
  if (axis === null) {
    ts = ts.map((t) => reshape(t, [t.size]));
    axis = 0;
  }
  const nd = ts[0].ndim;
  if (nd === 0) throw new ShapeError("concatenate: zero-dimensional arrays cannot be concatenated");
  const ax = normalizeAxis(axis, nd, "concatenate");
  for (const t of ts) {
    if (t.ndim !== nd || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      throw new ShapeError(
        `concatenate: all arrays must have the same shape except along axis ${ax}, got ${ts.map((u) => u.aval.str()).join(", ")}`,
      );
    }
  }
  if (ts.length === 1) return ts[0];
  return bind1("concatenate", ts, { dimension: ax });
}

/** Join arrays of one shape along a new axis. */
export function stack(arrays: readonly ArrayLike[], axis = 0): Tracer {
  const list = seqArg("stack", arrays);
  const ts = promoteArgs("stack", list, { broadcast: false }).args;
  const s0 = ts[0].shape;
  for (const t of ts) {
    if (t.ndim !== s0.length || t.shape.some((d, i) => d !== s0[i])) {
      throw new ShapeError(`stack: all input arrays must have the same shape, got ${ts.map((u) => u.aval.str()).join(", ")}`);
    }
  }
  const ax = normalizeAxis(axis, s0.length + 1, "stack");
  return concatenate(ts.map((t) => expandDims(t, ax)), ax);
}

export function atleast1d(x: ArrayLike): Tracer {
  const t = asTracer("atleast1d", x);
  return t.ndim >= 1 ? t : reshape(t, [1]);
}
export function atleast2d(x: ArrayLike): Tracer {
  const t = asTracer("atleast2d", x);
  return t.ndim >= 2 ? t : reshape(t, t.ndim === 0 ? [1, 1] : [1, t.shape[0]]);
}
export function atleast3d(x: ArrayLike): Tracer {
  const t = asTracer("atleast3d", x);
  if (t.ndim >= 3) return t;
  if (t.ndim === 0) return reshape(t, [1, 1, 1]);
  if (t.ndim === 1) return reshape(t, [1, t.shape[0], 1]);
  return reshape(t, [...t.shape, 1]);
}

/** Stack along the first axis (1-D arrays become rows). */
export function vstack(arrays: readonly ArrayLike[]): Tracer {
  return concatenate(seqArg("vstack", arrays).map(atleast2d), 0);
}
/** Stack along the second axis (1-D arrays are joined end to end). */
export function hstack(arrays: readonly ArrayLike[]): Tracer {
  const ts = seqArg("hstack", arrays).map(atleast1d);
  return concatenate(ts, ts[0].ndim === 1 ? 0 : 1);
}
export function columnStack(arrays: readonly ArrayLike[]): Tracer {
  const ts = seqArg("columnStack", arrays).map((x) => {
    const t = asTracer("columnStack", x);
    return t.ndim < 2 ? reshape(t, [t.size, 1]) : t;
  });
  return concatenate(ts, 1);
}

function sliceAxis(t: Tracer, ax: number, start: number, stop: number): Tracer {
  if (start === 0 && stop === t.shape[ax]) return t;
  const starts = t.shape.map(() => 0);
  const limits = [...t.shape];
  starts[ax] = start;
  limits[ax] = stop;
  return bind1("slice", [t], { startIndices: starts, limitIndices: limits, strides: null });
}

/**
 * Split into equal sections (a number, which must divide the axis) or at the
 * given indices (a list of split points).
 */
export function split(x: ArrayLike, indicesOrSections: number | readonly number[], axis = 0): Tracer[] {
  const t = asTracer("split", x);
  const ax = normalizeAxis(axis, t.ndim, "split");
  const n = t.shape[ax];
  if (typeof indicesOrSections === "number") {
    const k = indicesOrSections;
    if (!Number.isInteger(k) || k <= 0) throw new ArgumentError(`split: number of sections must be a positive integer, got ${k}`);
    if (n % k !== 0) throw new ShapeError(`split: array split does not result in an equal division: axis ${ax} of ${t.aval.str()} has size ${n}, not divisible by ${k}`);
  }
  return asCalledFrom("split", () => arraySplit(t, indicesOrSections, ax));
}

/** Like split, but a number of sections need not divide the axis (the first ones get one more). */
export function arraySplit(x: ArrayLike, indicesOrSections: number | readonly number[], axis = 0): Tracer[] {
  const t = asTracer("arraySplit", x);
  const ax = normalizeAxis(axis, t.ndim, "arraySplit");
  const n = t.shape[ax];
  let bounds: number[];
  if (typeof indicesOrSections === "number") {
    const k = indicesOrSections;
    if (!Number.isInteger(k) || k <= 0) throw new ArgumentError(`arraySplit: number of sections must be a positive integer, got ${k}`);
    const base = Math.floor(n / k);
    const extra = n % k;
    bounds = [0];
    for (let i = 0; i < k; i++) bounds.push(bounds[i] + base + (i < extra ? 1 : 0));
  } else {
    if (!globalThis.Array.isArray(indicesOrSections) || !indicesOrSections.every(Number.isInteger)) {
      throw new ArgumentError(`arraySplit: expected a number of sections or a list of integer indices, got ${JSON.stringify(indicesOrSections)}`);
    }
    const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
    bounds = [0, ...indicesOrSections.map(clampIdx), n];
  }
  const out: Tracer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) out.push(sliceAxis(t, ax, bounds[i], Math.max(bounds[i], bounds[i + 1])));
  return out;
}

/** Repeat the whole array `reps` times along each axis. */
export function tile(x: ArrayLike, reps: number | readonly number[]): Tracer {
  let t = asTracer("tile", x);
  const r = typeof reps === "number" ? [reps] : [...reps];
  if (!r.every((v) => Number.isInteger(v) && v >= 0)) throw new ArgumentError(`tile: reps must be non-negative integers, got ${JSON.stringify(reps)}`);
  const nd = Math.max(r.length, t.ndim);
  const rr = [...new globalThis.Array<number>(nd - r.length).fill(1), ...r];
  if (t.ndim < nd) t = reshape(t, [...new globalThis.Array<number>(nd - t.ndim).fill(1), ...t.shape]);
  const interleaved: number[] = [];
  const bdims: number[] = [];
  t.shape.forEach((d, i) => {
    interleaved.push(rr[i], d);
    bdims.push(2 * i + 1);
  });
  const b = bind1("broadcast_in_dim", [t], { shape: interleaved, broadcastDimensions: bdims });
  return reshape(b, t.shape.map((d, i) => d * rr[i]));
}

/** Repeat each element: `repeats` a number, or one count per element along the axis. axis undefined flattens. */
export function repeat(x: ArrayLike, repeats: number | readonly number[], axis?: number | null): Tracer {
  let t = asTracer("repeat", x);
  if (axis === undefined || axis === null) {
    t = ravel(t);
    axis = 0;
  }
  const ax = normalizeAxis(axis, t.ndim, "repeat");
  const n = t.shape[ax];
  if (typeof repeats === "number") {
    if (!Number.isInteger(repeats) || repeats < 0) throw new ArgumentError(`repeat: repeats must be a non-negative integer, got ${repeats}`);
    const shape = [...t.shape.slice(0, ax + 1), repeats, ...t.shape.slice(ax + 1)];
    const bdims = t.shape.map((_, i) => (i <= ax ? i : i + 1));
    const b = bind1("broadcast_in_dim", [t], { shape, broadcastDimensions: bdims });
    const out = [...t.shape];
    out[ax] = n * repeats;
    return reshape(b, out);
  }
  if (!globalThis.Array.isArray(repeats) || repeats.length !== n || !repeats.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ArgumentError(`repeat: repeats must be a non-negative integer or a list of ${n} of them (axis ${ax} of ${t.aval.str()}), got ${JSON.stringify(repeats)}`);
  }
  const idx: number[] = [];
  repeats.forEach((c, i) => {
    for (let k = 0; k < c; k++) idx.push(i);
  });
  const indices = Array.fromTyped(Int32Array.from(idx), [idx.length, 1], "int32");
  const offsetDims = t.shape.map((_, i) => i).filter((i) => i !== ax);
  const sliceSizes = [...t.shape];
  sliceSizes[ax] = 1;
  const g = bind1("gather", [t, indices], {
    dimensionNumbers: { offsetDims: offsetDims.map((_, j) => j + 1), collapsedSliceDims: [ax], startIndexMap: [ax], operandBatchingDims: [], startIndicesBatchingDims: [] },
    sliceSizes,
    mode: "clip",
    fillValue: null,
  });
  return moveaxis(g, 0, ax);
}

/** Reverse the order of elements along the given axes (all when undefined). */
export function flip(x: ArrayLike, axis?: Axis): Tracer {
  const t = asTracer("flip", x);
  const axes = normalizeAxes(axis, t.ndim, "flip").sort((a, b) => a - b);
  if (axes.length === 0) return t;
  return bind1("rev", [t], { dimensions: axes });
}
export function flipud(x: ArrayLike): Tracer {
  return asCalledFrom("flipud", () => {
    return flip(x, 0);
  });
}
export function fliplr(x: ArrayLike): Tracer {
  return asCalledFrom("fliplr", () => {
    return flip(x, 1);
  });
}

/** Roll elements along an axis (the flattened array when axis is undefined). */
export function roll(x: ArrayLike, shift: number | readonly number[], axis?: number | readonly number[] | null): Tracer {
  return asCalledFrom("roll", () => {
    const t = asTracer("roll", x);
    if (axis === undefined || axis === null) {
      if (typeof shift !== "number") throw new ArgumentError("roll: with no axis, shift must be a single number");
      return reshape(roll(ravel(t), shift, 0), t.shape);
    }
    const shifts = typeof shift === "number" ? [shift] : [...shift];
    if (!shifts.every((k) => Number.isInteger(k))) throw new ArgumentError(`roll: shifts must be integers, got ${fmtValue(shift)}`);
    const axes = typeof axis === "number" ? [axis] : [...axis];
    if (shifts.length !== axes.length) throw new ArgumentError(`roll: shift ${JSON.stringify(shift)} and axis ${JSON.stringify(axis)} must have the same length`);
    let r = t;
    shifts.forEach((s, i) => {
      const ax = normalizeAxis(axes[i], t.ndim, "roll");
      const n = t.shape[ax];
      if (n === 0) return;
      const k = ((s % n) + n) % n;
      if (k === 0) return;
      r = concatenate([sliceAxis(r, ax, n - k, n), sliceAxis(r, ax, 0, n - k)], ax);
    });
    return r;
  });
}

export type PadWidth = number | readonly [number, number] | readonly (readonly [number, number] | readonly [number])[];

export interface PadOptions {
  mode?: "constant" | "edge";
  constantValues?: number;
}

function normalizePadWidth(padWidth: PadWidth, nd: number): [number, number][] {
  const bad = () => new ArgumentError(`pad: padWidth must be a number, a [before, after] pair, or one pair per axis (${nd}), got ${JSON.stringify(padWidth)}`);
  let pairs: [number, number][];
  if (typeof padWidth === "number") pairs = new globalThis.Array(nd).fill([padWidth, padWidth]);
  else if (!globalThis.Array.isArray(padWidth)) throw bad();
  else if (padWidth.length > 0 && typeof padWidth[0] === "number") {
    const p = padWidth as readonly number[];
    if (p.length === 1) pairs = new globalThis.Array(nd).fill([p[0], p[0]]);
    else if (p.length === 2) pairs = new globalThis.Array(nd).fill([p[0], p[1]]);
    else throw bad();
  } else {
    const list = padWidth as readonly (readonly number[])[];
    if (list.length === 1) pairs = new globalThis.Array(nd).fill([list[0][0], list[0][1] ?? list[0][0]]);
    else if (list.length === nd) pairs = list.map((p) => [p[0], p[1] ?? p[0]] as [number, number]);
    else throw bad();
  }
  if (!pairs.every((p) => Number.isInteger(p[0]) && Number.isInteger(p[1]) && p[0] >= 0 && p[1] >= 0)) throw bad();
  return pairs;
}

/** numpy pad with mode "constant" (default, constantValues = 0) or "edge". */
export function pad(x: ArrayLike, padWidth: PadWidth, opts: PadOptions = {}): Tracer {
  checkOptions("np.pad", opts, { mode: opt.oneOf("constant", "edge"), constantValues: opt.number });
  const t = asTracer("pad", x);
  const pairs = normalizePadWidth(padWidth, t.ndim);
  const mode = opts.mode ?? "constant";
  if (mode === "constant") {
    const v = Array.scalar(opts.constantValues ?? 0, t.dtype, false);
    return bind1("pad", [t, v], { paddingConfig: pairs.map(([a, b]) => [a, b, 0] as [number, number, number]) });
  }
  if (mode === "edge") {
    let r = t;
    pairs.forEach(([a, b], ax) => {
      if (a === 0 && b === 0) return;
      const n = r.shape[ax];
      if (n === 0) throw new ShapeError(`pad: cannot pad an empty axis ${ax} of ${t.aval.str()} in "edge" mode`);
      const parts: Tracer[] = [];
      if (a > 0) parts.push(repeat(sliceAxis(r, ax, 0, 1), a, ax));
      parts.push(r);
      if (b > 0) parts.push(repeat(sliceAxis(r, ax, n - 1, n), b, ax));
      r = concatenate(parts, ax);
    });
    return r;
  }
  throw new ArgumentError(`pad: mode ${JSON.stringify(mode)} is not supported; use "constant" or "edge"`);
}

export function ndim(x: ArrayLike): number {
  return isTracer(x) ? x.ndim : 0;
}
export function shape(x: ArrayLike): readonly number[] {
  return isTracer(x) ? x.shape : [];
}
export function size(x: ArrayLike): number {
  return isTracer(x) ? x.size : 1;
}
