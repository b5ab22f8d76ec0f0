// The concrete Array: an immutable value living in a backend buffer. It is a
// Tracer of the eval trace, so user code handles concrete and traced values
// alike. Memory is released when the Array is garbage-collected
// (FinalizationRegistry), or earlier with dispose() / `using`; residency.ts
// explains how device memory stays bounded and fast in between. Every way of
// reading a disposed array throws DisposedArrayError.

import { ShapedArray } from "./aval";
import { getBackend, type Backend } from "./backend";
import { allocTyped, roundToDType, type DType, type TypedArray } from "./dtype";
import { ArgumentError, DisposedArrayError, fmtShape } from "./errors";
import { formatArray } from "./format";
import { currentOperation, deviceBuffer, disposeStorage, newStagedStorage, newStorage, readStorage, readStorageAsync, releaseProgramHold, stagedHost, watch, yieldToEventLoop, type Storage } from "./residency";
import { sizeOf, type Shape } from "./shape";
import { Tracer, evalTrace, type Trace } from "./trace";


export class Array extends Tracer {
  readonly #aval: ShapedArray;
  readonly backend: Backend;
  readonly #storage: Storage;
  #disposed = false;

  /** An array over device buffer `buf`; or, with `buf` null, over host data `staged` that it owns and uploads on first use (residency.ts, "Staged uploads"). */
  constructor(aval: ShapedArray, backend: Backend, buf: unknown, staged?: TypedArray) {
    super();
    this.#aval = aval;
    this.backend = backend;
    if (buf === null && staged !== undefined) {
      // Nothing on the device yet: the finalizer is told once something is.
      this.#storage = newStagedStorage(backend, aval, staged);
    } else {
      this.#storage = newStorage(backend, aval, buf);
      watch(this, this.#storage);
    }
  }

  /** The call this array was donated to, once it was (for the message of a later use). */
  #donatedTo: string | null = null;

  get _trace(): Trace {
    return evalTrace();
  }
  override concreteValue(): Array {
    return this;
  }
  get aval(): ShapedArray {
    return this.#aval;
  }
  /**
   * The backend buffer holding the data (uploaded again if it was spilled to the host), for a
   * compiled program to keep as a constant: kept on the device until every program that took
   * it called releaseHeldBuffer().
   */
  get buffer(): unknown {
    if (this.#disposed) this.#throwNotLive("jit: a constant the function captured");
    return deviceBuffer(this, this.#storage, true);
  }

  /**
   * A compiled program that kept `buffer` as a constant was released: with the last one, this
   * array may spill again. Only releaseProgram calls it (an early call would let a live program's
   * constant spill under it).
   * @internal
   */
  releaseHeldBuffer(): void {
    releaseProgramHold(this.#storage);
  }

  /**
   * The backend buffer for the running operation to read as its input `index` (of `count`):
   * valid until the next operation starts (a staged upload may be dropped then).
   */
  operandBuffer(index: number, count: number): unknown {
    if (this.#disposed) this.#throwNotLive(`${currentOperation()}: input ${index + 1} of ${count}`);
    return deviceBuffer(this, this.#storage);
  }

  /**
   * Where residency keeps this array's data: compiled calls offer their outputs
   * for taking with it, and list their inputs' in the recipes (residency.ts,
   * "Taking read results").
   * @internal
   */
  residencyStorage(): Storage {
    return this.#storage;
  }

  /** This array's data under another shape of the same size, sharing its host copy when the data is on the host (else null: reshape on the device). */
  reshapedOnHost(aval: ShapedArray): Array | null {
    const host = this.#disposed ? null : stagedHost(this.#storage);
    return host === null ? null : new Array(aval, this.backend, null, host);
  }

  /** A method of this array (`call`, e.g. "item()") may read it only while it is live. */
  #checkLive(call: string): void {
    if (this.#disposed) this.#throwNotLive(`${call}: this Array`);
  }

  /** Says why the array `subject` names (this one, an operation's input, a constant) can no longer be read. */
  #throwNotLive(subject: string): never {
    const what = `${subject} (${this.#aval.str()})`;
    if (this.#donatedTo !== null) {
      throw new DisposedArrayError(
        `${what} was donated to ${this.#donatedTo} (donateArgnums), which reused its memory, so it cannot be used any more; ` +
          `use the array that call returned, or do not donate this argument`,
      );
    }
    throw new DisposedArrayError(
      `${what} was disposed (by dispose() or a \`using\` scope) and cannot be used; keep it and dispose it only after its last use`,
    );
  }
  override get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Release the buffer because the call `where` took it over (donateArgnums): a later use says so. */
  donate(where: string): void {
    if (this.#disposed) return;
    this.#donatedTo = where;
    this.dispose();
  }

  /** Release the buffer now instead of waiting for garbage collection. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    disposeStorage(this.#storage);
  }
  override [Symbol.dispose](): void {
    this.dispose();
  }

  override dataSync(): TypedArray {
    this.#checkLive("dataSync()");
    return readStorage(this, this.#storage);
  }
  /** The data, read once the array is computed; the await also lets arrays that became garbage free their memory. */
  override async data(): Promise<TypedArray> {
    this.#checkLive("data()");
    const out = await readStorageAsync(this, this.#storage);
    await yieldToEventLoop();
    return out;
  }
  override item(): number | boolean {
    this.#checkLive("item()");
    if (this.size !== 1) throw new ArgumentError(`item(): only an array of one element converts to a scalar, got shape ${fmtShape(this.shape)}`);
    const v = this.dataSync()[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }
  override tolist(): unknown {
    this.#checkLive("tolist()");
    const data = readStorage(this, this.#storage);
    const conv = (v: number) => (this.dtype === "bool" ? v !== 0 : v);
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return conv(data[offset]);
      const stride = sizeOf(this.shape.slice(dim + 1));
      return globalThis.Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  override toString(): string {
    this.#checkLive("toString()");
    return formatArray(readStorage(this, this.#storage), this.shape, this.dtype);
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    // A debugger or console.log of a disposed array says so instead of throwing.
    return this.#disposed ? `Array(${this.#aval.str()}, disposed)` : this.toString();
  }

  /** Move to another backend (copies through the host). */
  to(backendName: string): Array {
    const target = getBackend(backendName);
    if (target === this.backend) return this;
    this.#checkLive(`to("${backendName}")`);
    return new Array(this.#aval, target, target.fromHost(readStorage(this, this.#storage), this.#aval));
  }

  static fromTyped(data: TypedArray, shape: Shape, dtype: DType, opts: { weakType?: boolean; backend?: string } = {}): Array {
    if (data.length !== sizeOf(shape)) {
      throw new ArgumentError(`Array: ${data.length} values do not fill shape ${fmtShape(shape)} (size ${sizeOf(shape)})`);
    }
    const backend = getBackend(opts.backend);
    const aval = new ShapedArray(shape, dtype, opts.weakType ?? false);
    return new Array(aval, backend, backend.fromHost(data, aval));
  }

  /**
   * An array that takes `data` over (the caller must not change it afterwards)
   * and uploads it when an operation first reads it: how np.array makes
   * arrays of data it copied anyway (residency.ts, "Staged uploads"). On a
   * backend that does not spill (WebGPU, the interpreter) it uploads at once.
   * @internal
   */
  static ownHostData(data: TypedArray, shape: Shape, dtype: DType): Array {
    const backend = getBackend();
    const aval = new ShapedArray(shape, dtype, false);
    return backend.spillable === true ? new Array(aval, backend, null, data) : new Array(aval, backend, backend.fromHost(data, aval));
  }

  /**
   * A scalar constant made by the library itself (identities, fill values):
   * `value` is cast C-style (roundToDType), so -Infinity in int32 is its
   * minimum. Values from users go through np.array, which checks them.
   */
  static scalar(value: number | boolean, dtype: DType, weakType = false, backend?: string): Array {
    const data = allocTyped(dtype, 1);
    data[0] = roundToDType(dtype, Number(value));
    return Array.fromTyped(data, [], dtype, { weakType, backend });
  }
}

export function isArray(x: unknown): x is Array {
  return x instanceof Array;
}
