// HostArray: the interpreter's buffer — a row-major TypedArray with its
// shape and dtype. float16 is stored widened in a Float32Array.

import type { ShapedArray } from "../../core/aval";
import { allocTyped, type DType, type TypedArray } from "../../core/dtype";
import { type Shape, sizeOf, stridesOf } from "../../core/shape";

export class HostArray {
  constructor(
    readonly data: TypedArray,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}
  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get strides(): number[] {
    return stridesOf(this.shape);
  }
  static zeros(shape: Shape, dtype: DType): HostArray {
    return new HostArray(allocTyped(dtype, sizeOf(shape)), [...shape], dtype);
  }
  static forAval(aval: ShapedArray): HostArray {
    return HostArray.zeros(aval.shape, aval.dtype);
  }
}

/** Iterate all multi-indices of `shape` in row-major order. */
export function* multiIndices(shape: Shape): Generator<number[]> {
  const n = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield idx;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}
