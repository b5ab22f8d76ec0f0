// A stand-in registered under a backend's name while that backend is still
// loading (the wasm kernels being fetched in a browser) or after it failed to
// start: every use throws a BackendError saying why and what to do, so a
// program never runs silently on another backend than the one it asked for.

import type { ShapedArray } from "../core/aval";
import type { Backend, Executable, OpRunner } from "../core/backend";
import type { TypedArray } from "../core/dtype";
import { BackendError } from "../core/errors";

export class UnavailableBackend implements Backend<never> {
  private reason: BackendError;

  constructor(
    readonly name: string,
    reason: BackendError,
  ) {
    this.reason = reason;
  }

  /** The error every use throws. */
  get error(): BackendError {
    return this.reason;
  }

  /** The backend's start failed: from now on uses throw this instead of "still loading". */
  failed(reason: BackendError): void {
    this.reason = reason;
  }

  private refuse(): never {
    throw this.reason;
  }
  fromHost(_data: TypedArray, _aval: ShapedArray): never {
    return this.refuse();
  }
  readSync(_buf: never, _aval: ShapedArray): TypedArray {
    return this.refuse();
  }
  read(_buf: never, _aval: ShapedArray): Promise<TypedArray> {
    return this.refuse();
  }
  free(_buf: never): void {
    this.refuse();
  }
  prepareOp(): OpRunner<never> {
    return this.refuse();
  }
  compile(): Executable<never> | null {
    return this.refuse();
  }
}
