// Helpers of the batching rules: where axes move when a batch dim is
// inserted, reshapes that merge or split axes, and aligning the batch dims of
// operands that must share one shape.

import { Array as ConcreteArray } from "../../src/core/array";
import type { DType } from "../../src/core/dtype";
import { TransformError } from "../../src/core/errors";
import { bind1, type Tracer } from "../../src/core/trace";
import { type BatchDim, matchBatchDim } from "../vmap";

/** Where an axis of the unbatched value sits once a batch dim is inserted at `bd`. */
export function shift(axis: number, bd: number): number {
  return axis < bd ? axis : axis + 1;
}

/** A copy of `xs` with `v` inserted at index `at`. */
export function insertAt<T>(xs: readonly T[], at: number, v: T): T[] {
  const out = [...xs];
  out.splice(at, 0, v);
  return out;
}

export function reshape(x: Tracer, newSizes: readonly number[]): Tracer {
  return bind1("reshape", [x], { newSizes: [...newSizes] });
}

/** Merge axes [at, at + count) of x into one (the first is the most major). */
export function mergeAxes(x: Tracer, at: number, count: number): Tracer {
  const s = [...x.shape];
  const merged = s.slice(at, at + count).reduce((a, b) => a * b, 1);
  s.splice(at, count, merged);
  return reshape(x, s);
}

/** Split axis `at` of x into `sizes` (row-major). */
export function splitAxis(x: Tracer, at: number, sizes: readonly number[]): Tracer {
  const s = [...x.shape];
  s.splice(at, 1, ...sizes);
  return reshape(x, s);
}

export function scalarConst(value: number | boolean, dtype: DType, weakType = false): Tracer {
  return ConcreteArray.scalar(value, dtype, weakType);
}

/** The first batch dim that is not null (a rule only runs when there is one). */
export function firstBatched(dims: readonly BatchDim[]): number {
  const d = dims.find((x) => x !== null);
  if (d === undefined || d === null) throw new TransformError("vmap: internal error: a batching rule was called with no batched operand");
  return d;
}

/**
 * Operands of equal (unbatched) shapes: give every one its batch dim at the same
 * position — the first batched operand's — moving batched ones and broadcasting
 * unbatched ones (the IR requires equal shapes). Returns the values and the dim.
 */
export function alignAll(axisSize: number, args: readonly Tracer[], dims: readonly BatchDim[]): [Tracer[], number] {
  const d = firstBatched(dims);
  return [args.map((x, i) => matchBatchDim(x, dims[i], axisSize, d)), d];
}
