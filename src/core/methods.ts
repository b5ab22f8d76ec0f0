// The method forms of arrays (`x.add(y)`, `x.sum(0)`, `x.at(i).set(v)`) are
// implemented by the numpy layer, which sits above the core. The core
// declares their signatures here and numpy installs the implementation at
// load time, so core never imports numpy.

import type { DType } from "./dtype";
import { TinyflowError } from "./errors";
import type { ArrayLike, Axis, KeepDims, Tracer } from "./trace";

/** One index of `x.slice(...)` / `x.at(...)`: an integer, a [start, stop, step?] slice
 * (null entries mean the default), null for a new axis, "..." for the rest, ":" for all,
 * or an integer array (advanced indexing). */
export type IndexSpec = number | readonly [number | null, (number | null)?, (number | null)?] | null | "..." | ":" | Tracer;

export interface AtUpdater {
  set(v: ArrayLike): Tracer;
  add(v: ArrayLike): Tracer;
  multiply(v: ArrayLike): Tracer;
  min(v: ArrayLike): Tracer;
  max(v: ArrayLike): Tracer;
  get(): Tracer;
}

type Bin = (x: ArrayLike, y: ArrayLike) => Tracer;
type Un = (x: ArrayLike) => Tracer;
type Red = (x: ArrayLike, axis?: Axis, opts?: KeepDims) => Tracer;

export interface TracerMethods {
  add: Bin; subtract: Bin; multiply: Bin; divide: Bin; power: Bin; remainder: Bin;
  equal: Bin; notEqual: Bin; less: Bin; lessEqual: Bin; greater: Bin; greaterEqual: Bin;
  maximum: Bin; minimum: Bin; matmul: Bin; dot: Bin;
  negative: Un; abs: Un; exp: Un; log: Un; sqrt: Un; square: Un; tanh: Un; sin: Un; cos: Un;
  sum: Red; mean: Red; max: Red; min: Red; prod: Red;
  argmax: (x: ArrayLike, axis?: number, opts?: KeepDims) => Tracer;
  argmin: (x: ArrayLike, axis?: number, opts?: KeepDims) => Tracer;
  reshape: (x: ArrayLike, shape: readonly number[]) => Tracer;
  transpose: (x: ArrayLike, axes?: readonly number[]) => Tracer;
  squeeze: (x: ArrayLike, axis?: Axis) => Tracer;
  expandDims: (x: ArrayLike, axis: Axis) => Tracer;
  broadcastTo: (x: ArrayLike, shape: readonly number[]) => Tracer;
  astype: (x: ArrayLike, dtype: DType) => Tracer;
  clip: (x: ArrayLike, lo: ArrayLike | null, hi: ArrayLike | null) => Tracer;
  index: (x: Tracer, index: readonly IndexSpec[]) => Tracer;
  at: (x: Tracer, index: readonly IndexSpec[]) => AtUpdater;
}

let installed: TracerMethods | null = null;

export function installTracerMethods(m: TracerMethods): void {
  installed = m;
}

export function tracerMethods(): TracerMethods {
  if (installed === null) throw new TinyflowError("array methods are not installed; import 'tinyflow' (the numpy layer installs them)");
  return installed;
}
