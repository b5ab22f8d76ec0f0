// Minibatching by PRNG key, in the JAX way: the order of an epoch is
// `random.permutation(key, n)`, so the same key gives the same batches on every
// machine and `random.split` gives each epoch its own order. The rows are
// gathered on the host from the loader's typed arrays, and each batch becomes
// one tinyflow Array, so a training loop never holds more than one batch on
// the device besides the model.

import { Array as TfArray } from "../core/array";
import type { DType } from "../core/dtype";
import { ArgumentError } from "../core/errors";
import { sizeOf } from "../core/shape";
import type { Tracer } from "../core/trace";
import { permutation } from "../random";

/** A host-side table of examples: `rows` of `rowShape` each, row-major in `data`. */
export interface HostRows {
  data: Float32Array | Int32Array;
  rowShape: readonly number[];
  dtype: DType;
}

/** The example indices of each batch of one epoch, in the order `random.permutation(key, numExamples)` gives. */
export function epochOrder(where: string, key: Tracer, numExamples: number, batchSize: number, dropRemainder = true): Int32Array[] {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new ArgumentError(`${where}: batchSize must be a positive integer, got ${batchSize}`);
  if (batchSize > numExamples && dropRemainder) {
    throw new ArgumentError(`${where}: batchSize ${batchSize} is larger than the ${numExamples} examples; use a smaller batch`);
  }
  const order = Int32Array.from(permutation(key, numExamples).dataSync() as ArrayLike<number>);
  const batches: Int32Array[] = [];
  for (let start = 0; start < numExamples; start += batchSize) {
    if (start + batchSize > numExamples && dropRemainder) break;
    batches.push(order.subarray(start, Math.min(start + batchSize, numExamples)));
  }
  return batches;
}

/** The rows `indices` of `table` as one Array of shape [indices.length, ...rowShape]. */
export function gatherRows(table: HostRows, indices: ArrayLike<number>): TfArray {
  const rowSize = sizeOf(table.rowShape);
  const out = table.data instanceof Float32Array ? new Float32Array(indices.length * rowSize) : new Int32Array(indices.length * rowSize);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i];
    out.set(table.data.subarray(src * rowSize, (src + 1) * rowSize), i * rowSize);
  }
  return TfArray.fromTyped(out, [indices.length, ...table.rowShape], table.dtype);
}

/** One epoch of [inputs, targets] batches in the order of `key`. */
export function* keyedBatches(
  where: string,
  key: Tracer,
  inputs: HostRows,
  targets: HostRows,
  numExamples: number,
  batchSize: number,
  dropRemainder = true,
): Generator<[TfArray, TfArray]> {
  for (const idx of epochOrder(where, key, numExamples, batchSize, dropRemainder)) yield [gatherRows(inputs, idx), gatherRows(targets, idx)];
}
