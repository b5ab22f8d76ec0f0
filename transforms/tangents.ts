// Symbolic zeros and the small algebra of tangents/cotangents shared by jvp,
// transpose and vjp: a Zero carries only an aval, so untouched inputs cost
// nothing to differentiate.

import { Array } from "../src/core/array";
import type { ShapedArray } from "../src/core/aval";
import { isFloat } from "../src/core/dtype";
import { bind1, type Tracer } from "../src/core/trace";

export class Zero {
  constructor(readonly aval: ShapedArray) {}
}

export type Tangent = Tracer | Zero;

export function isZero(t: unknown): t is Zero {
  return t instanceof Zero;
}

export function zerosOfAval(aval: ShapedArray): Tracer {
  const zero = Array.scalar(0, aval.dtype, aval.weakType);
  if (aval.ndim === 0) return zero;
  return bind1("broadcast_in_dim", [zero], { shape: [...aval.shape], broadcastDimensions: [] });
}

export function instantiate(t: Tangent): Tracer {
  return isZero(t) ? zerosOfAval(t.aval) : t;
}

/** Sum of two tangents, keeping symbolic zeros symbolic. */
export function addTangents(a: Tangent, b: Tangent): Tangent {
  if (isZero(a)) return b;
  if (isZero(b)) return a;
  return bind1("add", [a, b], {});
}

/** Inputs of non-float dtype have no tangent space (JAX's float0): always Zero. */
export function isDifferentiable(aval: ShapedArray): boolean {
  return isFloat(aval.dtype);
}
