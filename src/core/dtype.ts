// dtypes, their storage, and JAX's type-promotion lattice — the one place
// where the result dtype of mixing two operands is decided.

import { DTypeError } from "./errors";

export type DType = "float32" | "float16" | "int32" | "uint32" | "bool";

export const float32: DType = "float32";
export const float16: DType = "float16";
export const int32: DType = "int32";
export const uint32: DType = "uint32";
export const bool: DType = "bool";

export const ALL_DTYPES: readonly DType[] = ["bool", "int32", "uint32", "float16", "float32"];

/**
 * numpy/JAX dtype names that tinyflow does not compute in. They exist so that
 * `np.float64` (as written in code ported from JAX) is a value the dtype
 * validator recognises and rejects with the reason and the fix, instead of
 * `undefined` — which an options object legitimately reads as "the default".
 * Typed apart from DType, so TypeScript already rejects them at compile time.
 */
export const float64 = "float64" as const;
export const int64 = "int64" as const;
export const uint64 = "uint64" as const;
export type UnsupportedDType = "float64" | "int64" | "uint64" | "int16" | "int8" | "uint16" | "uint8" | "bfloat16" | "complex64" | "complex128";
const UNSUPPORTED_DTYPES: Record<UnsupportedDType, string> = {
  float64: "tinyflow computes in float32 (as JAX does without jax_enable_x64); use float32",
  int64: "tinyflow's integers are 32-bit (as JAX's without jax_enable_x64); use int32",
  uint64: "tinyflow's integers are 32-bit (as JAX's without jax_enable_x64); use uint32",
  int16: "the narrow integer types are not implemented; use int32",
  int8: "the narrow integer types are not implemented; use int32",
  uint16: "the narrow integer types are not implemented; use int32 or uint32",
  uint8: "the narrow integer types are not implemented; use int32 or uint32",
  bfloat16: "bfloat16 is not implemented; use float16 or float32",
  complex64: "complex numbers are not implemented",
  complex128: "complex numbers are not implemented",
};

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;

/** Short names used by the jaxpr printer, as JAX prints them. */
export const DTYPE_SHORT: Record<DType, string> = {
  float32: "f32",
  float16: "f16",
  int32: "i32",
  uint32: "u32",
  bool: "bool",
};

export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float16";
}
export function isInt(d: DType): boolean {
  return d === "int32" || d === "uint32";
}
export function isBool(d: DType): boolean {
  return d === "bool";
}

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (ALL_DTYPES as readonly string[]).includes(x);
}

/** `x` as a DType, or a DTypeError naming `where`, the value, why and the accepted dtypes. */
export function checkDType(x: unknown, where: string): DType {
  if (isDType(x)) return x;
  const accepted = `tinyflow's dtypes are ${ALL_DTYPES.join(", ")}`;
  if (typeof x === "string" && Object.hasOwn(UNSUPPORTED_DTYPES, x)) {
    throw new DTypeError(`${where}: dtype ${x} is not supported: ${UNSUPPORTED_DTYPES[x as UnsupportedDType]} (${accepted})`);
  }
  throw new DTypeError(`${where}: unknown dtype ${x === undefined ? "undefined" : JSON.stringify(x) ?? String(x)}; ${accepted}`);
}

/**
 * Host storage of a dtype. float16 is stored widened to float32 on the host
 * (the interpreter computes in f32 and rounds on write via Math.fround's
 * half-precision cousin, see roundToDType).
 */
export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
    case "float16":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

export function typedFrom(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocTyped(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundToDType(dtype, values[i]);
  return out;
}

const f16Scratch = new Float32Array(1);
const f16Bits = new Uint32Array(f16Scratch.buffer);

/** Round a float32 value to the nearest float16 (round-to-nearest-even), returned as a number. */
export function roundToFloat16(x: number): number {
  if (!Number.isFinite(x)) return x;
  f16Scratch[0] = x;
  const bits = f16Bits[0];
  const sign = bits & 0x80000000 ? -1 : 1;
  const ax = Math.abs(f16Scratch[0]);
  if (ax >= 65520) return sign * Infinity;
  if (ax < 2 ** -24 / 2) return sign * 0;
  const exp = Math.max(Math.floor(Math.log2(ax)), -14);
  const quantum = 2 ** (exp - 10);
  const q = ax / quantum;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // ties to even
  return sign * r * quantum;
}

/** The value that storing `x` into an array of `dtype` produces (C-style casts). */
export function roundToDType(dtype: DType, x: number): number {
  switch (dtype) {
    case "float32":
      return Math.fround(x);
    case "float16":
      return roundToFloat16(x);
    case "int32":
      return Number.isNaN(x) ? 0 : Math.trunc(Math.max(-2147483648, Math.min(2147483647, x))) | 0;
    case "uint32":
      return Number.isNaN(x) ? 0 : Math.trunc(Math.max(0, Math.min(4294967295, x))) >>> 0;
    case "bool":
      return x ? 1 : 0;
  }
}

export function byteWidth(dtype: DType): number {
  return dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4;
}

// --- promotion ---------------------------------------------------------------
// JAX's lattice restricted to our dtypes (x64 disabled):
//   bool -> i* (weak int) -> {int32, uint32} ; i* -> f* (weak float) -> float16 -> float32
// uint32 ⊔ int32 is int64 in JAX, canonicalized to int32 without x64.

const RANK: Record<DType, number> = { bool: 0, int32: 1, uint32: 1, float16: 2, float32: 3 };

export interface DTypeWithWeak {
  dtype: DType;
  weakType: boolean;
}

/** Result dtype of combining operands, following JAX: weakly typed operands
 * (JS numbers) take the other operand's dtype unless they are of a higher kind. */
export function promoteTypes(a: DTypeWithWeak, b: DTypeWithWeak): DTypeWithWeak {
  if (a.dtype === b.dtype) return { dtype: a.dtype, weakType: a.weakType && b.weakType };
  if (a.weakType && !b.weakType) return promoteWeakStrong(a.dtype, b.dtype);
  if (b.weakType && !a.weakType) return promoteWeakStrong(b.dtype, a.dtype);
  const weak = a.weakType && b.weakType;
  if ((a.dtype === "int32" && b.dtype === "uint32") || (a.dtype === "uint32" && b.dtype === "int32")) {
    return { dtype: "int32", weakType: weak };
  }
  return { dtype: RANK[a.dtype] >= RANK[b.dtype] ? a.dtype : b.dtype, weakType: weak };
}

function promoteWeakStrong(weak: DType, strong: DType): DTypeWithWeak {
  const weakKind = kind(weak);
  const strongKind = kind(strong);
  if (KIND_RANK[weakKind] <= KIND_RANK[strongKind]) return { dtype: strong, weakType: false };
  // e.g. int32 array + 2.5: the result is the default float, still weak.
  return { dtype: weak, weakType: true };
}

type Kind = "b" | "i" | "f";
const KIND_RANK: Record<Kind, number> = { b: 0, i: 1, f: 2 };
function kind(d: DType): Kind {
  return isBool(d) ? "b" : isInt(d) ? "i" : "f";
}

export function resultDType(operands: DTypeWithWeak[], where: string): DTypeWithWeak {
  if (operands.length === 0) throw new DTypeError(`${where}: no operands to promote`);
  return operands.reduce((acc, x) => promoteTypes(acc, x));
}

// --- JS values entering arrays -------------------------------------------------
// The number policy. JS has one number type and cannot tell 1 from 1.0, so:
// - a JS number is float32, weakly typed (a Python float in JAX): alone it
//   makes a weak f32 scalar, and it takes the dtype of the arrays it meets
//   (`x_f16.mul(2)` stays float16). Because JS cannot say "integer", an
//   integer-valued number meeting integer arrays acts as a Python int
//   (`x_int32.add(1)` stays int32); a fractional one promotes them to float32
//   as a Python float does (see weakDTypeOfNumbers).
// - a JS boolean is bool.
// - integer dtypes come only from an explicit `{ dtype }`, an integer typed
//   array, or a function that produces indices (argmax, iota, randint...).
// - host values stored into an integer dtype must be integers in range: a
//   fraction, NaN, ±Infinity or an out-of-range value is a DTypeError, never
//   a silent truncation or clamp (checkedHostValue). Casting an existing
//   array (`astype`) keeps C-style conversion, as in JAX.

/** dtype of a JS scalar on its own: numbers are weak float32, booleans bool. */
export function dtypeOfScalar(x: number | boolean): DTypeWithWeak {
  if (typeof x === "boolean") return { dtype: "bool", weakType: false };
  return { dtype: "float32", weakType: true };
}

/**
 * The weak dtype the JS numbers of one operation take when its array operands
 * promote to `others` (undefined when there are none): integer-valued numbers
 * next to integer arrays are a weak int (JAX's Python int); if any number is
 * fractional, or the arrays are not integers, all are a weak float32 (JAX's
 * Python float).
 */
export function weakDTypeOfNumbers(numbers: readonly number[], others: DTypeWithWeak | undefined): DTypeWithWeak {
  if (others !== undefined && isInt(others.dtype) && numbers.every((x) => Number.isInteger(x))) return { dtype: others.dtype, weakType: true };
  return { dtype: "float32", weakType: true };
}

const INT_RANGE: Record<"int32" | "uint32", [number, number]> = { int32: [-2147483648, 2147483647], uint32: [0, 4294967295] };

/**
 * The value a JS number/boolean from the host takes in `dtype`, checked: for
 * an integer dtype it must be an integer within range (a DTypeError names
 * `where`, the value, the range and the fix). Floats round to nearest
 * (float32 via Math.fround, overflow gives ±Infinity as in JAX); bool is
 * truthiness.
 */
export function checkedHostValue(where: string, dtype: DType, x: number | boolean): number {
  const v = Number(x);
  if (dtype === "int32" || dtype === "uint32") {
    const [lo, hi] = INT_RANGE[dtype];
    if (!Number.isInteger(v)) {
      const fix = Number.isFinite(v) ? "round it first (Math.round/Math.trunc), or make a float array and cast it with .astype" : "use a float dtype";
      throw new DTypeError(`${where}: ${v} is not an integer and cannot be stored as ${dtype}; ${fix}`);
    }
    if (v < lo || v > hi) {
      throw new DTypeError(`${where}: ${v} is out of range for ${dtype} [${lo}, ${hi}]; tinyflow never clamps — use float32 for large magnitudes`);
    }
    return v;
  }
  return roundToDType(dtype, v);
}

/** Storage of host values in `dtype`, each checked as checkedHostValue does. */
export function checkedTypedFrom(where: string, dtype: DType, values: globalThis.ArrayLike<number | boolean>): TypedArray {
  const out = allocTyped(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = checkedHostValue(where, dtype, values[i]);
  return out;
}
