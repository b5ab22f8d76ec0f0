// Dtype promotion and broadcasting as in JAX, in one place. Every numpy
// binary/ternary op passes its operands through `promoteArgs`, which computes
// the JAX result dtype (weak types included: a JS number is weak, like a
// Python scalar), converts each operand (convert_element_type) and broadcasts
// it (broadcast_in_dim) to the common shape.

import { Array } from "../core/array";
import { checkedTypedFrom, dtypeOfScalar, isFloat, promoteTypes, resultDType, weakDTypeOfNumbers, type DType, type DTypeWithWeak } from "../core/dtype";
import { ArgumentError, DTypeError } from "../core/errors";
import { broadcastShapes } from "../core/shape";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { describe } from "../lax/util";

export function checkArg(where: string, x: unknown, name = "argument"): ArrayLike {
  if (isTracer(x) || typeof x === "number" || typeof x === "boolean") return x;
  throw new ArgumentError(`${where}: ${name} must be an array or a JS number/boolean, got ${describe(x)}`);
}

/** A non-empty list of arrays (the stacking functions' argument), checked. */
export function seqArg(where: string, arrays: readonly ArrayLike[]): readonly ArrayLike[] {
  if (!globalThis.Array.isArray(arrays)) throw new ArgumentError(`${where}: expected a list of arrays, got ${typeof arrays}`);
  if (arrays.length === 0) throw new ArgumentError(`${where}: need at least one array to ${where}`);
  return arrays;
}

/** Truthiness: bool arrays as is, others compared to zero. */
export function toBool(where: string, x: ArrayLike): Tracer {
  const t = asTracer(where, x);
  if (t.dtype === "bool") return t;
  const zero = Array.scalar(0, t.dtype, false);
  return bind1("ne", [t, t.ndim === 0 ? zero : broadcastTo(zero, t.shape)], {});
}

/** dtype (with the weak bit) of an operand on its own: JS numbers are weak float32, booleans bool. */
export function dtypeOf(x: ArrayLike): DTypeWithWeak {
  if (isTracer(x)) return { dtype: x.dtype, weakType: x.weakType };
  return dtypeOfScalar(x);
}

/**
 * The JAX result dtype of mixing these operands. Arrays and booleans are
 * promoted first; each JS number then joins as JAX's Python scalar would:
 * a weak int of the arrays' integer dtype when it is integer-valued and the
 * arrays are integers (`x_int32.add(1)` is int32), else a weak float32 (see
 * the number policy in core/dtype.ts).
 */
export function resultTypeOf(where: string, args: readonly ArrayLike[]): DTypeWithWeak {
  const typed = args.filter((x) => typeof x !== "number").map(dtypeOf);
  const numbers = args.filter((x): x is number => typeof x === "number");
  if (numbers.length === 0) return resultDType(typed, where); // throws for no operands at all
  const others = typed.length > 0 ? resultDType(typed, where) : undefined;
  const weak = weakDTypeOfNumbers(numbers, others);
  return others === undefined ? weak : promoteTypes(others, weak);
}

/**
 * Convert one operand to `dtype`. A JS scalar becomes a scalar Array of that
 * dtype, checked: a number that an integer dtype cannot hold is a DTypeError
 * (JAX raises OverflowError), never a clamp.
 */
export function convertTo(x: ArrayLike, dtype: DType, weakType = false, where = "convert"): Tracer {
  if (!isTracer(x)) return Array.fromTyped(checkedTypedFrom(where, dtype, [x]), [], dtype, { weakType });
  if (x.dtype === dtype && x.weakType === weakType) return x;
  if (x.dtype === dtype && !weakType) return x; // a weak operand combined with a strong one: keep as is
  return bind1("convert_element_type", [x], { newDtype: dtype, weakType });
}

/** numpy broadcasting of one operand to `shape` (trailing alignment) with broadcast_in_dim. */
export function broadcastTo(x: Tracer, shape: readonly number[]): Tracer {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const off = shape.length - x.ndim;
  return bind1("broadcast_in_dim", [x], { shape: [...shape], broadcastDimensions: x.shape.map((_, i) => i + off) });
}

export interface Promoted {
  args: Tracer[];
  dtype: DType;
  weakType: boolean;
  /** The common broadcast shape ([] when broadcast: false). */
  shape: readonly number[];
}

const NO_PROMOTE_OPTIONS: { toDType?: (d: DTypeWithWeak) => DTypeWithWeak; broadcast?: boolean } = {};

/**
 * Promote operands to their common JAX dtype and broadcast them to their common
 * shape. `toDType` may override the computed dtype (e.g. float for true division).
 */
export function promoteArgs(where: string, operands: readonly ArrayLike[], opts: { toDType?: (d: DTypeWithWeak) => DTypeWithWeak; broadcast?: boolean } = NO_PROMOTE_OPTIONS): Promoted {
  const same = alreadyPromoted(operands, opts.toDType);
  if (same !== null) return same;
  operands.forEach((x, i) => checkArg(where, x, `operand ${i}`));
  let rt = resultTypeOf(where, operands);
  if (opts.toDType) rt = opts.toDType(rt);
  const converted = operands.map((x) => convertTo(x, rt.dtype, rt.weakType, where));
  if (opts.broadcast === false) return { args: converted, dtype: rt.dtype, weakType: rt.weakType, shape: [] };
  const shape = broadcastShapes(where, ...converted.map((t) => t.shape));
  const args = converted.map((t) => broadcastTo(t, shape));
  return { args, dtype: rt.dtype, weakType: rt.weakType, shape };
}

/**
 * The common case, answered without computing anything: every operand an array
 * of one type (dtype, weak bit and shape), which `toDType` keeps. Eager code
 * pays for promotion on every operation, so this check comes first.
 */
function alreadyPromoted(operands: readonly ArrayLike[], toDType: ((d: DTypeWithWeak) => DTypeWithWeak) | undefined): Promoted | null {
  if (operands.length === 0) return null;
  const first = operands[0];
  if (!isTracer(first)) return null;
  const aval = first.aval;
  for (let i = 1; i < operands.length; i++) {
    const x = operands[i];
    if (!isTracer(x)) return null;
    const other = x.aval;
    if (other !== aval && !other.strictEquals(aval)) return null;
  }
  if (toDType !== undefined) {
    const d = toDType(aval);
    if (d.dtype !== aval.dtype || d.weakType !== aval.weakType) return null;
  }
  return { args: operands.slice() as Tracer[], dtype: aval.dtype, weakType: aval.weakType, shape: aval.shape };
}

/** Promote to an inexact (floating) dtype, as JAX's promote_args_inexact: ints and bools become float32. */
export function toInexact(d: DTypeWithWeak): DTypeWithWeak {
  return isFloat(d.dtype) ? d : { dtype: "float32", weakType: d.weakType };
}

/** A single operand as a Tracer (JS scalars become weak scalar Arrays). */
export function asTracer(where: string, x: ArrayLike): Tracer {
  checkArg(where, x);
  if (isTracer(x)) return x;
  const d = dtypeOfScalar(x);
  return Array.scalar(x, d.dtype, d.weakType);
}

/** A single operand converted to an inexact dtype (unary math on ints gives float32). */
export function asInexact(where: string, x: ArrayLike): Tracer {
  const t = asTracer(where, x);
  if (isFloat(t.dtype)) return t;
  return bind1("convert_element_type", [t], { newDtype: "float32", weakType: t.weakType });
}

export function requireNumeric(where: string, x: Tracer): void {
  if (x.dtype === "bool") throw new DTypeError(`${where}: not supported for bool arrays, got ${x.aval.str()}`);
}
