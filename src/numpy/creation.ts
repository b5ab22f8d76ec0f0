// numpy array creation: array/asarray from nested JS lists, typed arrays and
// scalars; zeros/ones/full/empty and their *Like forms; arange, linspace,
// eye, iota. Data-dependent constructors compute on the host and produce a
// concrete Array (as JAX does); shape-only ones broadcast a scalar so they
// stage cheaply under jit.

import { Array } from "../core/array";
import {
  allocTyped,
  checkDType,
  checkedHostValue,
  checkedTypedFrom,
  dtypeOfScalar,
  isDType,
  isFloat,
  resultDType,
  roundToDType,
  weakDTypeOfNumbers,
  type DType,
  type DTypeWithWeak,
  type TypedArray,
} from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, asCalledFrom } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import { checkShape } from "../core/shape";
import { ShapedArray } from "../core/aval";
import { checkFitsLimit } from "../core/residency";
import { copyOut, primeHostHeapFor } from "../core/host_heap";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { describe } from "../lax/util";
import { stack } from "./shape";

/** Nested JS lists of numbers/booleans (or arrays) accepted by np.array. */
export type NestedData = number | boolean | Tracer | TypedArray | Float64Array | Int8Array | Int16Array | Uint8ClampedArray | readonly NestedData[];

export interface DTypeOpt {
  dtype?: DType | null;
}

const dtypeOptRules: OptionRules<DTypeOpt> = { dtype: opt.nullable(opt.dtype) };

/** Accept `dtype` given either directly or as `{ dtype }` (an options object checked against `rules`). */
function dtypeArg<T extends DTypeOpt>(where: string, d: DType | T | null | undefined, rules: OptionRules<T> = dtypeOptRules as OptionRules<T>): DType | undefined {
  if (d === null || d === undefined) return undefined;
  if (typeof d === "string") return checkDType(d, where);
  if (typeof d === "object") checkOptions(`np.${where}`, d, rules);
  if (typeof d === "object" && (d.dtype === undefined || d.dtype === null)) return undefined;
  return checkDType((d as DTypeOpt).dtype, where);
}

function shapeArg(where: string, shape: number | readonly number[]): number[] {
  return checkShape(typeof shape === "number" ? [shape] : ArrayBuffer.isView(shape) ? globalThis.Array.from(shape as unknown as globalThis.ArrayLike<number>) : shape, where);
}

/**
 * The dtype a typed array's elements keep. Float64Array narrows to float32
 * (tinyflow computes in float32); the narrow integer arrays widen to int32,
 * which holds each of their values exactly and mixes with other integer
 * arrays without surprises (uint8/uint16 included: numpy also promotes them
 * with int32 to int32); Uint32Array stays uint32.
 */
function typedArrayDType(x: ArrayBufferView): DType {
  if (x instanceof Float32Array || x instanceof Float64Array) return "float32";
  if (x instanceof Uint32Array) return "uint32";
  if (x instanceof Int32Array || x instanceof Int16Array || x instanceof Int8Array || x instanceof Uint16Array || x instanceof Uint8Array || x instanceof Uint8ClampedArray) {
    return "int32";
  }
  throw new DTypeError(
    `array: ${x.constructor.name} is not supported (64-bit integers do not exist in tinyflow); convert it to an Int32Array, Uint32Array or Float32Array first`,
  );
}

/** The storage class `allocTyped` uses for a dtype, when a typed array can be copied as is. */
function storesAsIs(view: ArrayBufferView, dtype: DType): boolean {
  if (dtype === "float16" || dtype === "bool") return false; // rounding / normalising to 0/1 needed
  return view.constructor === allocTyped(dtype, 0).constructor;
}

/**
 * Convert `data` to an array: a JS number or boolean, nested lists of them,
 * a typed array, or an existing array (converted with `{ dtype }` if given).
 *
 * The number policy (JS cannot tell 1 from 1.0): JS numbers are **float32**
 * whatever their values — `np.array(2)` is a weakly typed float32 scalar
 * (a Python scalar in JAX) and `np.array([1, 2])` a float32 array; booleans
 * are bool (numbers mixed with booleans give float32). Typed arrays keep
 * their element type: Float32Array and Float64Array give float32,
 * Int32Array/Int16Array/Int8Array/Uint16Array/Uint8Array give int32,
 * Uint32Array gives uint32. Integer arrays otherwise need `{ dtype: "int32" }`
 * (or "uint32"): every value must then be an integer within the dtype's
 * range — a fraction, NaN, ±Infinity or an out-of-range value throws a
 * DTypeError instead of being truncated or clamped (use `Math.round`, or
 * `.astype` on a float array for C-style casting). An unknown or unsupported
 * dtype (`np.float64`, "int64", a typo) throws a DTypeError naming the
 * accepted ones; `{ dtype: undefined }` means the default.
 */
export function array(data: NestedData, opts: DTypeOpt | DType = {}): Tracer {
  const dtype = dtypeArg("array", opts);
  if (isTracer(data)) {
    return dtype === undefined || data.dtype === dtype ? data : bind1("convert_element_type", [data], { newDtype: dtype, weakType: false });
  }
  if (typeof data === "number" || typeof data === "boolean") {
    if (dtype !== undefined) return Array.fromTyped(checkedTypedFrom("array", dtype, [data]), [], dtype);
    const d = dtypeOfScalar(data);
    return Array.scalar(data, d.dtype, d.weakType);
  }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const view = data as unknown as globalThis.ArrayLike<number> & ArrayBufferView;
    const own = typedArrayDType(view); // also rejects BigInt64Array/BigUint64Array
    const d = dtype ?? own;
    // Same storage type: copied as is (the common path for data loading). The copy is the
    // array's own host data, uploaded when first used (residency.ts, "Staged uploads").
    primeHostHeapFor(view.byteLength);
    if (storesAsIs(view, d)) return Array.ownHostData(copyOut(view as unknown as TypedArray), [view.length], d);
    return Array.ownHostData(checkedTypedFrom("array", d, view), [view.length], d);
  }
  if (!globalThis.Array.isArray(data)) {
    throw new ArgumentError(`array: expected nested lists of numbers/booleans, a typed array, a number or an array, got ${describe(data)}`);
  }
  if (containsAbstract(data)) {
    // Traced elements: build the array with stack (as jnp.array does under jit).
    const parts = (data as readonly NestedData[]).map((e) => array(e, dtype === undefined ? {} : { dtype }));
    return stack(parts, 0);
  }
  // Infer the shape from the first element at each level; check rectangularity while flattening.
  const shape: number[] = [];
  let probe: unknown = data;
  while (globalThis.Array.isArray(probe) || (ArrayBuffer.isView(probe) && !(probe instanceof DataView)) || isTracer(probe)) {
    if (isTracer(probe)) {
      shape.push(...probe.shape);
      break;
    }
    const p = probe as globalThis.ArrayLike<unknown>;
    shape.push(p.length);
    if (p.length === 0) break;
    probe = p[0];
  }
  // Host values, and (when concrete arrays are nested in the lists) which of them came from arrays:
  // those are converted like astype, host values are checked.
  const values: (number | boolean)[] = [];
  const fromArray: boolean[] = [];
  const hostNumbers: number[] = [];
  let sawBool = false;
  const elementDTypes: DTypeWithWeak[] = [];
  const walk = (x: unknown, dim: number): void => {
    if (dim === shape.length && !isTracer(x)) {
      if (typeof x === "number") hostNumbers.push(x);
      else if (typeof x === "boolean") sawBool = true;
      else throw new ShapeError(`array: ragged nested data: expected a scalar at depth ${dim} (shape [${shape}]), got ${describe(x)}`);
      values.push(x);
      fromArray.push(false);
      return;
    }
    if (isTracer(x)) {
      const expected = shape.slice(dim);
      if (x.ndim !== expected.length || x.shape.some((d, i) => d !== expected[i])) {
        throw new ShapeError(`array: ragged nested data: an element array ${x.aval.str()} does not match the expected shape [${expected}]`);
      }
      const d = x.dataSync();
      for (let i = 0; i < d.length; i++) {
        values.push(d[i]);
        fromArray.push(true);
      }
      elementDTypes.push({ dtype: x.dtype, weakType: x.weakType });
      return;
    }
    const isList = globalThis.Array.isArray(x) || ArrayBuffer.isView(x);
    const list = x as globalThis.ArrayLike<unknown>;
    if (!isList || list.length !== shape[dim]) {
      throw new ShapeError(
        `array: ragged nested data: expected a list of length ${shape[dim]} at depth ${dim} (shape [${shape}]), got ${describe(x)}`,
      );
    }
    if (ArrayBuffer.isView(x)) elementDTypes.push({ dtype: typedArrayDType(x), weakType: false });
    for (let i = 0; i < list.length; i++) walk(list[i], dim + 1);
  };
  walk(data, 0);
  const d = dtype ?? inferListDType(elementDTypes, hostNumbers, sawBool);
  const out = allocTyped(d, values.length);
  for (let i = 0; i < values.length; i++) out[i] = fromArray[i] ? roundToDType(d, Number(values[i])) : checkedHostValue("array", d, values[i]);
  return Array.ownHostData(out, shape, d);
}

/**
 * dtype of nested lists: JS numbers are float32, booleans bool; arrays and
 * typed arrays nested inside promote with them as in JAX (numbers weakly).
 */
function inferListDType(elementDTypes: readonly DTypeWithWeak[], numbers: readonly number[], sawBool: boolean): DType {
  const parts: DTypeWithWeak[] = [...elementDTypes];
  if (sawBool) parts.push({ dtype: "bool", weakType: false });
  const others = parts.length > 0 ? resultDType(parts, "array") : undefined;
  if (numbers.length > 0) {
    parts.push(weakDTypeOfNumbers(numbers, others));
  }
  return parts.length === 0 ? "float32" : resultDType(parts, "array").dtype;
}

function containsAbstract(x: unknown): boolean {
  if (isTracer(x)) return !(x instanceof Array);
  return globalThis.Array.isArray(x) && x.some(containsAbstract);
}

/** Like array, but returns Tracers unchanged (when no dtype change is requested). */
export function asarray(data: NestedData, opts: DTypeOpt | DType = {}): Tracer {
  return asCalledFrom("asarray", () => {
    return array(data, opts);
  });
}

function filled(where: string, shape: number | readonly number[], value: number | boolean, dtype: DType): Tracer {
  const s = shapeArg(where, shape);
  const scalar = Array.fromTyped(checkedTypedFrom(where, dtype, [value]), [], dtype);
  if (s.length === 0) return scalar;
  return bind1("broadcast_in_dim", [scalar], { shape: s, broadcastDimensions: [] });
}

export function zeros(shape: number | readonly number[], dtype?: DType | DTypeOpt): Tracer {
  return filled("zeros", shape, 0, dtypeArg("zeros", dtype) ?? "float32");
}

export function ones(shape: number | readonly number[], dtype?: DType | DTypeOpt): Tracer {
  return filled("ones", shape, 1, dtypeArg("ones", dtype) ?? "float32");
}

/** Uninitialized arrays do not exist here: empty is zeros. */
export function empty(shape: number | readonly number[], dtype?: DType | DTypeOpt): Tracer {
  return filled("empty", shape, 0, dtypeArg("empty", dtype) ?? "float32");
}

export function full(shape: number | readonly number[], fillValue: ArrayLike, dtype?: DType | DTypeOpt): Tracer {
  const d = dtypeArg("full", dtype);
  const s = shapeArg("full", shape);
  if (isTracer(fillValue)) {
    const v = d === undefined || d === fillValue.dtype ? fillValue : bind1("convert_element_type", [fillValue], { newDtype: d, weakType: false });
    const off = s.length - v.ndim;
    if (off < 0) throw new ShapeError(`full: fill value ${v.aval.str()} does not broadcast to shape [${s}]`);
    if (v.ndim === s.length && v.shape.every((x, i) => x === s[i])) return v;
    v.shape.forEach((n, i) => {
      if (n !== 1 && n !== s[off + i]) throw new ShapeError(`full: fill value ${v.aval.str()} does not broadcast to shape [${s}]`);
    });
    return bind1("broadcast_in_dim", [v], { shape: s, broadcastDimensions: v.shape.map((_, i) => i + off) });
  }
  if (typeof fillValue !== "number" && typeof fillValue !== "boolean") {
    throw new ArgumentError(`full: fillValue must be a number, boolean or array, got ${describe(fillValue)}`);
  }
  return filled("full", s, fillValue, d ?? dtypeOfScalar(fillValue).dtype);
}

function likeArgs(where: string, x: ArrayLike): { shape: number[]; dtype: DType } {
  if (isTracer(x)) return { shape: [...x.shape], dtype: x.dtype };
  if (typeof x === "number" || typeof x === "boolean") return { shape: [], dtype: dtypeOfScalar(x).dtype };
  throw new ArgumentError(`${where}: expected an array, got ${describe(x)}`);
}

export function zerosLike(x: ArrayLike, dtype?: DType | DTypeOpt): Tracer {
  const a = likeArgs("zerosLike", x);
  return filled("zerosLike", a.shape, 0, dtypeArg("zerosLike", dtype) ?? a.dtype);
}

export function onesLike(x: ArrayLike, dtype?: DType | DTypeOpt): Tracer {
  const a = likeArgs("onesLike", x);
  return filled("onesLike", a.shape, 1, dtypeArg("onesLike", dtype) ?? a.dtype);
}

export function fullLike(x: ArrayLike, fillValue: ArrayLike, dtype?: DType | DTypeOpt): Tracer {
  return asCalledFrom("fullLike", () => {
    const a = likeArgs("fullLike", x);
    return full(a.shape, fillValue, dtypeArg("fullLike", dtype) ?? a.dtype);
  });
}

export function emptyLike(x: ArrayLike, dtype?: DType | DTypeOpt): Tracer {
  return asCalledFrom("emptyLike", () => {
    return zerosLike(x, dtype);
  });
}

/**
 * arange(stop) / arange(start, stop, step?, { dtype }): the values
 * start + i * step below stop (above it for a negative step).
 *
 * The default dtype is **float32**, whatever the arguments: JS cannot tell
 * `arange(5)` from `arange(5.0)`, and JS numbers are float32 everywhere else
 * in tinyflow (tfjs's `range` and jax-js's `arange` agree). Python's JAX
 * makes `arange(5)` int32 only because Python has ints. float32 counts
 * exactly up to 2**24. For indices ask for them: `arange(n, { dtype: "int32" })`
 * (start and step must then be integers and every value in range, else a
 * DTypeError), or `np.iota(n)`, which is int32.
 */
export function arange(start: number, stop?: number | null | DTypeOpt, step?: number | DTypeOpt, opts?: DTypeOpt): Tracer {
  let o: DTypeOpt = opts ?? {};
  let a = start;
  let b: number;
  let s = 1;
  if (typeof stop === "object" && stop !== null) {
    o = stop;
    b = start;
    a = 0;
  } else if (stop === undefined || stop === null) {
    b = start;
    a = 0;
  } else {
    b = stop;
    if (typeof step === "object") o = step;
    else if (step !== undefined) s = step;
  }
  for (const [n, v] of [["start", a], ["stop", b], ["step", s]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`arange: ${n} must be a finite number, got ${String(v)}`);
  }
  if (s === 0) throw new ArgumentError(`arange: step must not be zero (start ${a}, stop ${b})`);
  const dtype = dtypeArg("arange", o) ?? "float32";
  if (dtype === "bool") throw new DTypeError("arange: bool dtype is not supported; use float32, float16, int32 or uint32");
  const n = Math.max(0, Math.ceil((b - a) / s));
  if (n > 0) {
    // The values are monotone: checking the first, the step and the last covers them all.
    checkedHostValue("arange (start)", dtype, a);
    if (!Number.isInteger(s) && !isFloat(dtype)) checkedHostValue("arange (step)", dtype, s);
    checkedHostValue("arange (last value)", dtype, a + (n - 1) * s);
  }
  checkFitsLimit("arange", [], [new ShapedArray([n], dtype)]);
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) data[i] = roundToDType(dtype, a + i * s);
  return Array.fromTyped(data, [n], dtype);
}

export interface LinspaceOptions extends DTypeOpt {
  endpoint?: boolean;
}
const linspaceRules: OptionRules<LinspaceOptions> = { ...dtypeOptRules, endpoint: opt.boolean };

/** linspace(start, stop, num = 50, { endpoint, dtype }): float32 by default; integer dtypes floor each point (as JAX). */
export function linspace(start: number, stop: number, num = 50, opts: LinspaceOptions = {}): Tracer {
  return asCalledFrom("linspace", () => {
    if (typeof start !== "number" || typeof stop !== "number") throw new ArgumentError(`linspace: start and stop must be JS numbers, got ${describe(start)} and ${describe(stop)}`);
    if (!Number.isInteger(num) || num < 0) throw new ArgumentError(`linspace: num must be a non-negative integer, got ${num}`);
    const endpoint = opts.endpoint ?? true;
    const dtype = dtypeArg("linspace", opts, linspaceRules) ?? "float32";
    const div = endpoint ? num - 1 : num;
    const step = div > 0 ? (stop - start) / div : 0;
    checkFitsLimit("linspace", [], [new ShapedArray([num], dtype)]);
    const data = allocTyped(dtype, num);
    for (let i = 0; i < num; i++) {
      const v = endpoint && i === num - 1 && num > 1 ? stop : start + i * step;
      // Integer dtypes take the floor of each point, as JAX does; a point out of the dtype's range is an error.
      data[i] = isFloat(dtype) || dtype === "bool" ? roundToDType(dtype, v) : checkedHostValue("linspace", dtype, Math.floor(v));
    }
    return Array.fromTyped(data, [num], dtype);
  });
}

/** eye(N, M?, k?): ones on the k-th diagonal. */
export function eye(N: number, M?: number | null, k = 0, dtype?: DType | DTypeOpt): Tracer {
  const m = M ?? N;
  if (!Number.isInteger(N) || N < 0 || !Number.isInteger(m) || m < 0) throw new ArgumentError(`eye: N and M must be non-negative integers, got ${N}, ${m}`);
  if (!Number.isInteger(k)) throw new ArgumentError(`eye: k must be an integer, got ${k}`);
  const d = dtypeArg("eye", dtype) ?? "float32";
  checkFitsLimit("eye", [], [new ShapedArray([N, m], d)]);
  const data = allocTyped(d, N * m);
  for (let i = 0; i < N; i++) {
    const j = i + k;
    if (j >= 0 && j < m) data[i * m + j] = 1;
  }
  return Array.fromTyped(data, [N, m], d);
}

export function identity(n: number, dtype?: DType | DTypeOpt): Tracer {
  return asCalledFrom("identity", () => {
    return eye(n, n, 0, dtype);
  });
}

/** np.iota(n, dtype?) = lax.iota: [0, ..., n-1] staged as the iota primitive. */
export function iota(n: number, dtype?: DType | DTypeOpt): Tracer {
  const d = dtypeArg("iota", dtype) ?? "int32";
  checkShape([n], "iota");
  return bind1("iota", [], { dtype: d, shape: [n], dimension: 0 });
}

export { isDType };
