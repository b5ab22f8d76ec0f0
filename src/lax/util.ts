// Shared helpers of the lax wrappers: turning JS numbers into weakly typed
// scalars of an operand's dtype (the one place lax promotes scalars), and
// small argument checks used by several wrappers.

import { Array } from "../core/array";
import { checkedTypedFrom, dtypeOfScalar, type DType } from "../core/dtype";
import { ArgumentError, DTypeError } from "../core/errors";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";

/**
 * A JS number/boolean as a concrete scalar Array, of `dtype` if given (else
 * the number policy: weak float32 for numbers, bool for booleans); numbers
 * stay weakly typed. A number that an integer `dtype` cannot hold exactly is
 * a DTypeError naming `where`, never a truncation or clamp.
 */
export function scalarArray(x: number | boolean, dtype?: DType, where = "lax"): Tracer {
  const target = dtype ?? dtypeOfScalar(x).dtype;
  const weak = typeof x === "boolean" ? false : target !== "bool";
  return Array.fromTyped(checkedTypedFrom(where, target, [x]), [], target, { weakType: weak });
}

/** Broadcast a rank-0 value to `shape` with broadcast_in_dim (no-op for rank 0 shapes). */
export function broadcastScalar(x: Tracer, shape: readonly number[]): Tracer {
  if (shape.length === 0) return x;
  return bind1("broadcast_in_dim", [x], { shape: [...shape], broadcastDimensions: [] });
}

/** Check that `x` is a Tracer or a JS scalar; returns it. */
export function checkArrayLike(where: string, x: unknown, name = "operand"): ArrayLike {
  if (isTracer(x) || typeof x === "number" || typeof x === "boolean") return x;
  throw new ArgumentError(`${where}: ${name} must be an array or a JS number/boolean, got ${describe(x)}`);
}

export function describe(x: unknown): string {
  if (isTracer(x)) return x.aval.str();
  if (x === null) return "null";
  if (globalThis.Array.isArray(x)) return `a JS array (${JSON.stringify(x).slice(0, 40)}); wrap it with np.array(...)`;
  return typeof x === "object" ? `an object (${String(x).slice(0, 40)})` : `${typeof x} ${String(x)}`;
}

/**
 * The lax-level operand rule: every Tracer operand keeps its dtype and shape;
 * JS numbers become weakly typed scalars of the first Tracer's dtype, broadcast
 * to its shape. With no Tracer at all they are float32 (bool if all are booleans).
 */
export function laxOperands(where: string, args: readonly ArrayLike[]): Tracer[] {
  args.forEach((a, i) => checkArrayLike(where, a, `operand ${i}`));
  const ref = args.find(isTracer) as Tracer | undefined;
  if (ref === undefined) {
    const dtype: DType = args.some((a) => typeof a === "number") ? "float32" : "bool";
    return args.map((a) => scalarArray(a as number | boolean, dtype, where));
  }
  return args.map((a) => (isTracer(a) ? a : broadcastScalar(scalarArray(a, ref.dtype, where), ref.shape)));
}

export function toTracer(where: string, x: ArrayLike, dtype?: DType): Tracer {
  checkArrayLike(where, x);
  if (isTracer(x)) return x;
  return scalarArray(x, dtype, where);
}

export function checkIntArray(where: string, name: string, xs: unknown, len?: number): number[] {
  if (!globalThis.Array.isArray(xs) || !xs.every((v) => Number.isInteger(v))) {
    throw new ArgumentError(`${where}: ${name} must be an array of integers, got ${JSON.stringify(xs)}`);
  }
  if (len !== undefined && xs.length !== len) {
    throw new ArgumentError(`${where}: ${name} must have ${len} entries, got ${JSON.stringify(xs)}`);
  }
  return [...xs];
}

export function expectDTypeOf(where: string, x: Tracer, ok: (d: DType) => boolean, expected: string): void {
  if (!ok(x.dtype)) throw new DTypeError(`${where}: expected ${expected}, got ${x.aval.str()}`);
}
