// Shape arithmetic shared by every layer: sizes, strides, broadcasting and
// axis normalization, with errors that name the caller.

import { AxisError, ShapeError, fmtShape } from "./errors";

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** numpy broadcasting of several shapes; throws a ShapeError naming `where`. */
export function broadcastShapes(where: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    const off = ndim - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (o === 1) out[off + i] = d;
      else if (d !== 1 && d !== o) {
        throw new ShapeError(
          `${where}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together ` +
            `(axis ${off + i - ndim} has sizes ${o} and ${d}; each must be equal or 1)`,
        );
      }
    }
  }
  return out;
}

/** Normalize a possibly negative axis into [0, ndim). */
export function normalizeAxis(axis: number, ndim: number, where: string): number {
  if (!Number.isInteger(axis)) throw new AxisError(`${where}: axis must be an integer, got ${axis}`);
  if (axis < -ndim || axis >= ndim) {
    throw new AxisError(`${where}: axis ${axis} is out of bounds for an array of rank ${ndim} (expected -${ndim} <= axis < ${ndim})`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalize an axis list: null/undefined means all axes; duplicates are an error. */
export function normalizeAxes(axes: number | readonly number[] | null | undefined, ndim: number, where: string): number[] {
  if (axes === null || axes === undefined) return [...Array(ndim).keys()];
  const list = typeof axes === "number" ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(a, ndim, where));
  if (new Set(out).size !== out.length) throw new AxisError(`${where}: repeated axis in ${JSON.stringify(list)}`);
  return out;
}

/** [start, stop) as a list, like Python's range: range(n) is [0, ..., n-1]. */
export function range(start: number, stop?: number): number[] {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

/** The increasing dims of [0, rank) that are in none of the `exclude` lists. */
export function complementDims(rank: number, ...exclude: (readonly number[])[]): number[] {
  const out: number[] = [];
  for (let d = 0; d < rank; d++) if (!exclude.some((e) => e.includes(d))) out.push(d);
  return out;
}

export function isPermutation(perm: readonly number[], n: number): boolean {
  if (perm.length !== n) return false;
  const seen = new Array<boolean>(n).fill(false);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= n || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}

export function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** A JS value as a user wrote it, for messages: NaN, Infinity and undefined stay visible (JSON would print null). */
export function fmtValue(x: unknown): string {
  if (Array.isArray(x)) return `[${x.slice(0, 8).map(fmtValue).join(", ")}${x.length > 8 ? ", ..." : ""}]`;
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "object" && x !== null) return `an object (${String(x).slice(0, 40)})`;
  return String(x);
}

export function checkShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`${where}: a shape must be an array of non-negative integers, got ${fmtValue(shape)}`);
  }
  return [...shape];
}

/** A list of axes given by a user: an array of integers (range is checked by the caller). */
export function checkAxisList(axes: unknown, where: string, what = "axes"): number[] {
  if (!Array.isArray(axes) || !axes.every((a) => Number.isInteger(a))) {
    throw new ShapeError(`${where}: ${what} must be an array of integers, got ${fmtValue(axes)}`);
  }
  return [...axes];
}

/** Resolve one -1 in a reshape target. */
export function resolveReshape(from: Shape, to: readonly number[], where: string): number[] {
  if (!Array.isArray(to) || !to.every((d) => Number.isInteger(d))) {
    throw new ShapeError(`${where}: the new shape must be an integer or an array of integers (one may be -1), got ${fmtValue(to)}`);
  }
  const total = sizeOf(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`${where}: can only specify one unknown dimension (-1), got ${fmtShape(to)}`);
  if (to.some((d) => d < -1 || !Number.isInteger(d))) throw new ShapeError(`${where}: invalid target shape ${fmtShape(to)}`);
  if (unknown === 1) {
    const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(`${where}: cannot reshape an array of shape ${fmtShape(from)} (size ${total}) into ${fmtShape(to)}`);
    }
    return to.map((d) => (d === -1 ? total / known : d));
  }
  if (sizeOf(to) !== total) {
    throw new ShapeError(`${where}: cannot reshape an array of shape ${fmtShape(from)} (size ${total}) into ${fmtShape(to)} (size ${sizeOf(to)})`);
  }
  return [...to];
}
