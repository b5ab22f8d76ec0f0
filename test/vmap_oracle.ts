// The oracle of the vmap tests: `stackOfSlices(f, args, inAxes, outAxes)`
// computes what `vmap(f)` must return by slicing the concrete arguments along
// their mapped axes, calling f on each slice, and stacking the results. The
// slicing and stacking are done on host data (no primitive, no transformation
// involved), so the oracle does not depend on the code under test. Also: a
// seeded random array builder and a NaN-aware closeness check.

import { expect } from "vitest";
import { Array as TfArray, vmap } from "../src/index";
import type { DType, Tracer } from "../src/index";
import { bind } from "../src/core/trace";
import { allocTyped, type TypedArray } from "../src/core/dtype";
import { rng } from "./rng";

export type Axis = number | null;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Host-side x[..., i, ...] along `axis` (the axis is removed). */
export function takeSlice(x: TfArray, axis: number, i: number): TfArray {
  const shape = x.shape;
  const data = x.dataSync();
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const n = shape[axis];
  const out = allocTyped(x.dtype, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) out[o * inner + k] = data[(o * n + i) * inner + k];
  }
  return TfArray.fromTyped(out, shape.filter((_, d) => d !== axis), x.dtype, { weakType: x.weakType });
}

/** Host-side stack of equal-shaped arrays along a new `axis`. */
export function stackArrays(xs: readonly TfArray[], axis: number, dtype?: DType, shape?: readonly number[]): TfArray {
  const s = xs.length ? xs[0].shape : (shape ?? []);
  const dt = xs.length ? xs[0].dtype : (dtype ?? "float32");
  const outer = sizeOf(s.slice(0, axis));
  const inner = sizeOf(s.slice(axis));
  const n = xs.length;
  const out = allocTyped(dt, outer * n * inner);
  xs.forEach((x, i) => {
    const data = x.dataSync();
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) out[(o * n + i) * inner + k] = data[o * inner + k];
    }
  });
  const outShape = [...s];
  outShape.splice(axis, 0, n);
  return TfArray.fromTyped(out, outShape, dt, { weakType: xs.length ? xs[0].weakType : false });
}

/**
 * What vmap(f, { inAxes, outAxes, axisSize }) must return for flat array
 * arguments: f applied to each slice, the results stacked along outAxes (an
 * output with outAxes null must be the same for every slice; slice 0's is
 * returned). f may return one array or a list of them.
 */
export function stackOfSlices(
  f: (...xs: any[]) => unknown,
  args: readonly TfArray[],
  inAxes: readonly Axis[],
  outAxes: Axis | readonly Axis[] = 0,
  axisSize?: number,
): TfArray | TfArray[] {
  let n = axisSize;
  args.forEach((a, i) => {
    const ax = inAxes[i];
    if (ax !== null) n = a.shape[ax < 0 ? ax + a.ndim : ax];
  });
  if (n === undefined) throw new Error("stackOfSlices: no mapped argument and no axisSize");
  const perSlice: TfArray[][] = [];
  let single = false;
  for (let i = 0; i < n; i++) {
    const sliced = args.map((a, j) => {
      const ax = inAxes[j];
      return ax === null ? a : takeSlice(a, ax < 0 ? ax + a.ndim : ax, i);
    });
    const out = f(...sliced);
    single = !Array.isArray(out);
    perSlice.push((single ? [out] : out) as TfArray[]);
  }
  const numOuts = perSlice.length ? perSlice[0].length : 0;
  const results: TfArray[] = [];
  for (let k = 0; k < numOuts; k++) {
    const oa = Array.isArray(outAxes) ? outAxes[k] : outAxes;
    const items = perSlice.map((outs) => outs[k]);
    if (oa === null) {
      results.push(items[0]);
    } else {
      const rank = items[0].ndim + 1;
      results.push(stackArrays(items, oa < 0 ? oa + rank : oa));
    }
  }
  return single ? results[0] : results;
}

// --- random data -------------------------------------------------------------------

export { rng };

export interface ArgSpec {
  shape: number[];
  dtype: DType;
  /** value range: integers in [lo, hi] for int dtypes, reals in [lo, hi) for floats */
  lo?: number;
  hi?: number;
}

export function randomArray(r: () => number, spec: ArgSpec): TfArray {
  const { shape, dtype } = spec;
  const n = sizeOf(shape);
  const data: TypedArray = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") data[i] = r() < 0.5 ? 1 : 0;
    else if (dtype === "int32" || dtype === "uint32") {
      const lo = spec.lo ?? (dtype === "uint32" ? 0 : -5);
      const hi = spec.hi ?? 5;
      data[i] = lo + Math.floor(r() * (hi - lo + 1));
    } else {
      const lo = spec.lo ?? -2;
      const hi = spec.hi ?? 2;
      // a quarter-step grid keeps ties (max/sort) and exact sums likely
      data[i] = Math.round((lo + r() * (hi - lo)) * 4) / 4;
    }
  }
  return TfArray.fromTyped(data, shape, dtype);
}

// --- comparison ------------------------------------------------------------------------

/** Why two arrays differ (dtype, shape or values), or null when they agree. */
export function difference(got: TfArray, want: TfArray, tol = { rtol: 1e-4, atol: 1e-5 }): string | null {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype} != ${want.dtype}`;
  if (got.weakType !== want.weakType) return `weakType ${got.weakType} != ${want.weakType}`;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `shape [${got.shape}] != [${want.shape}]`;
  }
  const a = got.dataSync();
  const b = want.dataSync();
  const exact = got.dtype !== "float32" && got.dtype !== "float16";
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const ok = exact || !Number.isFinite(y) ? x === y : Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y);
    if (!ok) return `value at flat index ${i}: got ${x}, want ${y}`;
  }
  return null;
}

export function expectSameArray(got: unknown, want: unknown): void {
  const g = (Array.isArray(got) ? got : [got]) as TfArray[];
  const w = (Array.isArray(want) ? want : [want]) as TfArray[];
  expect(g.length).toBe(w.length);
  g.forEach((x, i) => {
    const diff = difference(x, w[i]);
    if (diff !== null) {
      expect.fail(`output ${i}: ${diff}\n got: ${String(x)}\nwant: ${String(w[i])}`);
    }
  });
}

// --- primitive-level cases ------------------------------------------------------------


/** One primitive applied with fixed params to arguments of the given (unbatched) specs. */
export interface PrimCase {
  prim: string;
  params: Record<string, unknown>;
  args: ArgSpec[];
  /** Overrides binding `prim` (for iota, which has no operands to batch). */
  fn?: (...xs: Tracer[]) => Tracer[];
}

export function primFn(c: PrimCase): (...xs: Tracer[]) => Tracer[] {
  return c.fn ?? ((...xs) => bind(c.prim as never, xs, c.params as never));
}

/** The output ranks of a case, from one unbatched evaluation. */
export function outRanks(c: PrimCase): number[] {
  const r = rng(1);
  return primFn(c)(...c.args.map((s) => randomArray(r, s))).map((o) => o.ndim);
}

/** The batched version of an arg spec: the batch axis of size b inserted at `axis`. */
export function batchedSpec(spec: ArgSpec, axis: Axis, b: number): ArgSpec {
  if (axis === null) return spec;
  const shape = [...spec.shape];
  shape.splice(axis < 0 ? axis + shape.length + 1 : axis, 0, b);
  return { ...spec, shape };
}

/**
 * Run vmap over a primitive case with the given in/out axes and batch size and
 * compare with stackOfSlices. Returns null on agreement, else a description.
 * Errors thrown by vmap are reported too (the oracle must not throw).
 */
export function checkPrimCase(c: PrimCase, inAxes: readonly Axis[], outAxes: readonly Axis[] | number, b: number, seed: number): string | null {
  const r = rng(seed);
  const args = c.args.map((s, i) => randomArray(r, batchedSpec(s, inAxes[i], b)));
  const f = primFn(c);
  const want = stackOfSlices(f, args, inAxes, outAxes) as TfArray[];
  let got: TfArray[];
  try {
    got = vmap(f, { inAxes: [...inAxes], outAxes: typeof outAxes === "number" ? outAxes : [...outAxes] })(...args) as TfArray[];
  } catch (e) {
    return `vmap threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  if (got.length !== want.length) return `got ${got.length} outputs, want ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const d = difference(got[i], want[i]);
    if (d !== null) return `output ${i}: ${d}`;
  }
  return null;
}

export function describeCase(c: PrimCase): string {
  if (c.fn) return `${c.prim} (custom function) ${JSON.stringify(c.params)}`;
  const args = c.args.map((a) => `${a.dtype}[${a.shape}]${a.lo !== undefined ? `∈[${a.lo},${a.hi}]` : ""}`).join(", ");
  return `${c.prim}(${args}) ${JSON.stringify(c.params)}`;
}
