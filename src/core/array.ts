// The concrete Array: an immutable value living in a backend buffer. It is a
// Tracer of the eval trace, so user code handles concrete and traced values
// alike. Memory is released when the Array is garbage-collected
// (FinalizationRegistry), or earlier with dispose(); residency.ts keeps device
// memory bounded in between.

import { ShapedArray } from "./aval";
import { getBackend, type Backend } from "./backend";
import { allocTyped, isDType, roundToDType, type DType, type TypedArray } from "./dtype";
import { ArgumentError, TinyflowError, fmtShape } from "./errors";
import { formatArray } from "./format";
import { deviceBuffer, newStorage, readStorage, releaseStorage, type Storage } from "./residency";
import { checkShape, sizeOf, type Shape } from "./shape";
import { Tracer, evalTrace, type Trace } from "./trace";

const finalizer = new FinalizationRegistry<Storage>(releaseStorage);

export class Array extends Tracer {
  readonly #aval: ShapedArray;
  readonly backend: Backend;
  readonly #storage: Storage;
  #disposed = false;

  constructor(aval: ShapedArray, backend: Backend, buf: unknown) {
    super();
    this.#aval = aval;
    this.backend = backend;
    this.#storage = newStorage(backend, aval, buf);
    finalizer.register(this, this.#storage, this);
  }

  get _trace(): Trace {
    return evalTrace();
  }
  override concreteValue(): Array {
    return this;
  }
  get aval(): ShapedArray {
    return this.#aval;
  }
  /** The backend buffer holding the data (uploaded again if it was spilled to the host). */
  get buffer(): unknown {
    if (this.#disposed) throw new TinyflowError(`this Array (${this.#aval.str()}) was disposed and cannot be used`);
    return deviceBuffer(this.#storage);
  }
  override get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Release the buffer now instead of waiting for garbage collection. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    finalizer.unregister(this);
    releaseStorage(this.#storage);
  }
  override [Symbol.dispose](): void {
    this.dispose();
  }

  override dataSync(): TypedArray {
    if (this.#disposed) throw new TinyflowError(`this Array (${this.#aval.str()}) was disposed and cannot be used`);
    return readStorage(this.#storage);
  }
  override async data(): Promise<TypedArray> {
    return this.dataSync();
  }
  override item(): number | boolean {
    if (this.size !== 1) throw new ArgumentError(`item(): only an array of one element converts to a scalar, got shape ${fmtShape(this.shape)}`);
    const v = this.dataSync()[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }
  override tolist(): unknown {
    const data = this.dataSync();
    const conv = (v: number) => (this.dtype === "bool" ? v !== 0 : v);
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return conv(data[offset]);
      const stride = sizeOf(this.shape.slice(dim + 1));
      return globalThis.Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  override toString(): string {
    return formatArray(this.dataSync(), this.shape, this.dtype);
  }

  /** Move to another backend (copies through the host). */
  to(backendName: string): Array {
    const target = getBackend(backendName);
    if (target === this.backend) return this;
    return new Array(this.#aval, target, target.fromHost(this.dataSync(), this.#aval));
  }

  static fromTyped(data: TypedArray, shape: Shape, dtype: DType, opts: { weakType?: boolean; backend?: string } = {}): Array {
    if (data.length !== sizeOf(shape)) {
      throw new ArgumentError(`Array: ${data.length} values do not fill shape ${fmtShape(shape)} (size ${sizeOf(shape)})`);
    }
    const backend = getBackend(opts.backend);
    const aval = new ShapedArray(shape, dtype, opts.weakType ?? false);
    return new Array(aval, backend, backend.fromHost(data, aval));
  }

  static scalar(value: number | boolean, dtype: DType, weakType = false, backend?: string): Array {
    const data = allocTyped(dtype, 1);
    data[0] = roundToDType(dtype, Number(value));
    return Array.fromTyped(data, [], dtype, { weakType, backend });
  }

  static full(shape: Shape, value: number | boolean, dtype: DType, backend?: string): Array {
    checkShape([...shape], "full");
    if (!isDType(dtype)) throw new ArgumentError(`full: unknown dtype ${String(dtype)}`);
    const data = allocTyped(dtype, sizeOf(shape));
    data.fill(roundToDType(dtype, Number(value)));
    return Array.fromTyped(data, shape, dtype, { backend });
  }
}

export function isArray(x: unknown): x is Array {
  return x instanceof Array;
}
