// Abstract values: what a transformation knows about an array without its
// data — shape, dtype and JAX's weak-type bit.

import { DTYPE_SHORT, type DType } from "./dtype";
import { type Shape, sizeOf, shapesEqual } from "./shape";

export class ShapedArray {
  readonly shape: readonly number[];
  /** Number of elements (computed once: eager dispatch asks for it on every operation). */
  readonly size: number;
  /** key(), built on first use: the eager op cache looks every operand's key up. */
  #key: string | undefined;
  constructor(
    shape: Shape,
    readonly dtype: DType,
    readonly weakType: boolean = false,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Same shape and dtype; weak type is ignored, as JAX's type checker does. */
  equals(other: ShapedArray): boolean {
    return this.dtype === other.dtype && shapesEqual(this.shape, other.shape);
  }
  strictEquals(other: ShapedArray): boolean {
    return this.equals(other) && this.weakType === other.weakType;
  }
  withShape(shape: Shape): ShapedArray {
    return new ShapedArray(shape, this.dtype, this.weakType);
  }
  withDType(dtype: DType, weakType = false): ShapedArray {
    return new ShapedArray(this.shape, dtype, weakType);
  }
  strongType(): ShapedArray {
    return this.weakType ? new ShapedArray(this.shape, this.dtype, false) : this;
  }
  /** `f32[3,4]`, as in JAX's jaxpr text. */
  str(): string {
    return `${DTYPE_SHORT[this.dtype]}[${this.shape.join(",")}]`;
  }
  toString(): string {
    return this.str();
  }
  /** A string key for caches keyed by abstract signature. */
  key(): string {
    return (this.#key ??= `${this.dtype}${this.weakType ? "~" : ""}[${this.shape.join(",")}]`);
  }
}
