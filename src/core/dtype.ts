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

export function checkDType(x: unknown, where: string): DType {
  if (!isDType(x)) {
    throw new DTypeError(`${where}: unknown dtype ${JSON.stringify(x)}; expected one of ${ALL_DTYPES.join(", ")}`);
  }
  return x;
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

/** dtype of a JS scalar: numbers are weakly typed like Python scalars in JAX. */
export function dtypeOfScalar(x: number | boolean): DTypeWithWeak {
  if (typeof x === "boolean") return { dtype: "bool", weakType: false };
  return Number.isInteger(x) ? { dtype: "int32", weakType: true } : { dtype: "float32", weakType: true };
}
