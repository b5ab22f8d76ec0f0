// numpy's structured products and grids: cross, kron, convolve/correlate
// (1-D, modes "full"/"same"/"valid", through lax.convGeneralDilated),
// polyval/polyfit, meshgrid, rot90 and the hsplit/vsplit/dsplit family.

import { ArgumentError, ShapeError, asCalledFrom } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { normalizeAxis } from "../core/shape";
import { bind1, type ArrayLike, type Tracer } from "../core/trace";
import * as ew from "./elementwise";
import { sum } from "./reductions";
import { arraySplit, broadcastTo, expandDims, flip, moveaxis, reshape, stack, transpose } from "./shape";
import { arange } from "./creation";
import { asTracer, promoteArgs, toInexact } from "./promote";
import { index } from "./indexing";
import { lstsq } from "./np_linalg";

/** The cross product of 3-vectors (or 2-vectors, whose z components are taken as 0) along the given axes. */
export function cross(a: ArrayLike, b: ArrayLike, opts: { axisa?: number; axisb?: number; axisc?: number; axis?: number } = {}): Tracer {
  checkOptions("np.cross", opts, { axisa: opt.integer, axisb: opt.integer, axisc: opt.integer, axis: opt.integer });
  let [x, y] = promoteArgs("cross", [a, b], { broadcast: false }).args;
  x = moveaxis(x, normalizeAxis(opts.axis ?? opts.axisa ?? -1, x.ndim, "cross"), -1);
  y = moveaxis(y, normalizeAxis(opts.axis ?? opts.axisb ?? -1, y.ndim, "cross"), -1);
  const nx = x.shape[x.ndim - 1];
  const ny = y.shape[y.ndim - 1];
  if ((nx !== 2 && nx !== 3) || (ny !== 2 && ny !== 3)) {
    throw new ShapeError(`cross: the vectors must have 2 or 3 components, got ${x.aval.str()} and ${y.aval.str()}`);
  }
  const comp = (t: Tracer, i: number) => (i < t.shape[t.ndim - 1] ? index(t, ["...", i]) : ew.multiply(index(t, ["...", 0]), 0));
  const [x0, x1, x2] = [0, 1, 2].map((i) => comp(x, i));
  const [y0, y1, y2] = [0, 1, 2].map((i) => comp(y, i));
  const z = ew.subtract(ew.multiply(x0, y1), ew.multiply(x1, y0));
  if (nx === 2 && ny === 2) return z;
  const c = stack([ew.subtract(ew.multiply(x1, y2), ew.multiply(x2, y1)), ew.subtract(ew.multiply(x2, y0), ew.multiply(x0, y2)), z], -1);
  return moveaxis(c, -1, normalizeAxis(opts.axis ?? opts.axisc ?? -1, c.ndim, "cross"));
}

/** The Kronecker product: blocks a[i, j] · b. */
export function kron(a: ArrayLike, b: ArrayLike): Tracer {
  let [x, y] = promoteArgs("kron", [a, b], { broadcast: false }).args;
  const nd = Math.max(x.ndim, y.ndim);
  x = reshape(x, [...Array<number>(nd - x.ndim).fill(1), ...x.shape]);
  y = reshape(y, [...Array<number>(nd - y.ndim).fill(1), ...y.shape]);
  // Interleave: x[..., i, 1, j, 1] * y[..., 1, k, 1, l] -> [i·k, j·l].
  const xs = reshape(x, x.shape.flatMap((d) => [d, 1]));
  const ys = reshape(y, y.shape.flatMap((d) => [1, d]));
  return reshape(ew.multiply(xs, ys), x.shape.map((d, i) => d * y.shape[i]));
}

/** How much of the full convolution to keep: all of it, the centre of the longer input's length, or only full overlaps. */
export type ConvolveMode = "full" | "same" | "valid";

function convolve1d(where: string, a: ArrayLike, v: ArrayLike, mode: ConvolveMode, flipKernel: boolean): Tracer {
  if (mode !== "full" && mode !== "same" && mode !== "valid") throw new ArgumentError(`${where}: mode must be "full", "same" or "valid", got ${JSON.stringify(mode)}`);
  let [x, k] = promoteArgs(where, [a, v], { broadcast: false, toDType: toInexact }).args;
  if (x.ndim !== 1 || k.ndim !== 1) throw new ShapeError(`${where}: a and v must be 1-D, got ${x.aval.str()} and ${k.aval.str()}`);
  if (x.shape[0] === 0 || k.shape[0] === 0) throw new ShapeError(`${where}: a and v must not be empty, got ${x.aval.str()} and ${k.aval.str()}`);
  // numpy swaps so the longer input slides under the shorter.
  let swapped = false;
  if (k.shape[0] > x.shape[0]) {
    [x, k] = [k, x];
    swapped = true;
  }
  if (flipKernel) k = flip(k);
  const n = x.shape[0];
  const m = k.shape[0];
  // "same" keeps the centre of the full result, which starts at (m - 1) // 2.
  const half = Math.floor((m - 1) / 2);
  const pad: [number, number] = mode === "valid" ? [0, 0] : mode === "full" ? [m - 1, m - 1] : [m - 1 - half, half];
  const out = bind1("conv_general_dilated", [reshape(x, [1, 1, n]), reshape(k, [1, 1, m])], {
    windowStrides: [1],
    padding: [pad],
    lhsDilation: [1],
    rhsDilation: [1],
    dimensionNumbers: { lhsSpec: [0, 1, 2], rhsSpec: [0, 1, 2], outSpec: [0, 1, 2] },
    featureGroupCount: 1,
    batchGroupCount: 1,
    preferredElementType: null,
  });
  const r = reshape(out, [out.shape[2]]);
  // Correlation with swapped inputs is the reversed correlation.
  return swapped && !flipKernel ? flip(r) : r;
}

/** The discrete linear convolution of two 1-D arrays. */
export function convolve(a: ArrayLike, v: ArrayLike, mode: ConvolveMode = "full"): Tracer {
  return convolve1d("convolve", a, v, mode, true);
}

/** The cross-correlation of two 1-D arrays (numpy's default mode "valid"). */
export function correlate(a: ArrayLike, v: ArrayLike, mode: ConvolveMode = "valid"): Tracer {
  return convolve1d("correlate", a, v, mode, false);
}

/** p[0]·x^(n-1) + ... + p[n-1] by Horner's rule. */
export function polyval(p: ArrayLike, x: ArrayLike): Tracer {
  const [c, xt] = promoteArgs("polyval", [p, x], { broadcast: false }).args;
  if (c.ndim !== 1) throw new ShapeError(`polyval: the coefficients must be 1-D, got ${c.aval.str()}`);
  let acc = ew.multiply(xt, 0);
  for (let i = 0; i < c.shape[0]; i++) acc = ew.add(ew.multiply(acc, xt), index(c, [i]));
  return acc;
}

/** The least-squares polynomial of degree `deg` through (x, y), highest power first. */
export function polyfit(x: ArrayLike, y: ArrayLike, deg: number): Tracer {
  if (!Number.isInteger(deg) || deg < 0) throw new ArgumentError(`polyfit: deg must be a non-negative integer, got ${deg}`);
  const [xt, yt] = promoteArgs("polyfit", [x, y], { broadcast: false, toDType: toInexact }).args;
  if (xt.ndim !== 1 || yt.ndim < 1 || yt.ndim > 2 || yt.shape[0] !== xt.shape[0]) {
    throw new ShapeError(`polyfit: x must be 1-D and y 1-D or 2-D with as many rows, got ${xt.aval.str()} and ${yt.aval.str()}`);
  }
  const powers = ew.astype(ew.subtract(deg, reshape(arange(deg + 1), [1, deg + 1])), xt.dtype);
  const vander = ew.power(expandDims(xt, 1), powers);
  // Scale the columns to unit norm for conditioning, as numpy does.
  const scale = ew.sqrt(sum(ew.square(vander), 0));
  const safe = ew.where(ew.equal(scale, 0), 1, scale);
  const [c] = lstsq(ew.divide(vander, safe), yt);
  return yt.ndim === 1 ? ew.divide(c, safe) : ew.divide(c, expandDims(safe, 1));
}

/** Coordinate arrays from 1-D vectors; indexing "xy" (default) swaps the first two output axes as numpy. */
export function meshgrid(...args: (ArrayLike | { indexing?: "xy" | "ij" })[]): Tracer[] {
  const last = args[args.length - 1];
  const hasOpts = last !== null && typeof last === "object" && !("aval" in (last as object)) && !globalThis.Array.isArray(last);
  const opts = (hasOpts ? last : {}) as { indexing?: "xy" | "ij" };
  checkOptions("np.meshgrid", opts, { indexing: opt.oneOf("xy", "ij") });
  const xs = (hasOpts ? args.slice(0, -1) : args).map((a) => asTracer("meshgrid", a as ArrayLike));
  xs.forEach((x, i) => {
    if (x.ndim !== 1) throw new ShapeError(`meshgrid: input ${i} must be 1-D, got ${x.aval.str()}`);
  });
  const xy = (opts.indexing ?? "xy") === "xy" && xs.length >= 2;
  const shape = xs.map((x) => x.shape[0]);
  if (xy) [shape[0], shape[1]] = [shape[1], shape[0]];
  return xs.map((x, i) => {
    const axis = xy && i < 2 ? 1 - i : i;
    const s = shape.map((_, j) => (j === axis ? x.shape[0] : 1));
    return broadcastTo(reshape(x, s), shape);
  });
}

/** Rotate by 90° k times in the plane of `axes` (from the first axis towards the second). */
export function rot90(m: ArrayLike, k = 1, axes: readonly [number, number] = [0, 1]): Tracer {
  const t = asTracer("rot90", m);
  if (t.ndim < 2) throw new ShapeError(`rot90: needs an array of at least 2 dimensions, got ${t.aval.str()}`);
  if (!Number.isInteger(k)) throw new ArgumentError(`rot90: k must be an integer, got ${k}`);
  const [a0, a1] = axes.map((a) => normalizeAxis(a, t.ndim, "rot90"));
  if (a0 === a1) throw new ArgumentError(`rot90: the two axes must differ, got ${JSON.stringify(axes)}`);
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return t;
  if (turns === 2) return flip(flip(t, a0), a1);
  const perm = t.shape.map((_, i) => i);
  [perm[a0], perm[a1]] = [perm[a1], perm[a0]];
  return turns === 1 ? transpose(flip(t, a1), perm) : flip(transpose(t, perm), a1);
}

function splitAlong(where: string, axis: number, minRank: number) {
  return (x: ArrayLike, indicesOrSections: number | readonly number[]): Tracer[] => {
    const t = asTracer(where, x);
    if (t.ndim < minRank) throw new ShapeError(`${where}: needs an array of at least ${minRank} dimensions, got ${t.aval.str()}`);
    const ax = t.ndim === 1 && where === "hsplit" ? 0 : axis;
    if (typeof indicesOrSections === "number" && t.shape[ax] % indicesOrSections !== 0) {
      throw new ShapeError(`${where}: ${indicesOrSections} sections do not divide axis ${ax} of ${t.aval.str()} equally`);
    }
    return asCalledFrom(where, () => arraySplit(t, indicesOrSections, ax));
  };
}

/** Split along axis 1 (axis 0 for 1-D arrays). */
export const hsplit = splitAlong("hsplit", 1, 1);
/** Split along axis 0. */
export const vsplit = splitAlong("vsplit", 0, 2);
/** Split along axis 2. */
export const dsplit = splitAlong("dsplit", 2, 3);
