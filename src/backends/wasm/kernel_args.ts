// The typed error of the hand-written wasm kernels (the codes their C ABI
// returns, and checks made in TypeScript) and the argument checks that every
// kernel entry point, the conv parameter encoding and the loader share.

import { BackendError } from "../../core/errors";

/** Error codes returned by the wasm side. */
export const WASM_ERROR_CODES: Readonly<Record<number, string>> = {
  [-1]: "bad layout",
  [-2]: "bad arguments",
  [-3]: "channels not divisible by groups",
  [-4]: "stride and dilations must be >= 1",
  [-5]: "output shape does not match the parameters",
  [-6]: "out of wasm memory",
  [-7]: "problem too large for a 4 GiB memory",
  [-8]: "leading dimension too small",
  [-9]: "bad conv epilogue block",
};

/** A hand-written kernel refused its arguments, or the wasm memory could not hold them (a BackendError). */
export class WasmKernelError extends BackendError {
  /** Negative code from the wasm side, or 0 for checks done in TypeScript. */
  readonly code: number;
  constructor(message: string, code = 0) {
    super(message);
    this.name = "WasmKernelError";
    this.code = code;
  }
}

export function fail(message: string, code = 0): never {
  throw new WasmKernelError(message, code);
}

export function check(code: number, what: string): void {
  if (code !== 0) fail(`${what}: ${WASM_ERROR_CODES[code] ?? "unknown error"} (code ${code})`, code);
}

export function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x);
}

export function nonNeg(name: string, x: unknown): number {
  if (!isInt(x) || x < 0 || x > 0x7fffffff) fail(`${name} must be a non-negative int32, got ${String(x)}`);
  return x;
}

export function pos(name: string, x: unknown): number {
  if (!isInt(x) || x < 1 || x > 0x7fffffff) fail(`${name} must be a positive int32, got ${String(x)}`);
  return x;
}

export function int32(name: string, x: unknown): number {
  if (!isInt(x) || x < -0x80000000 || x > 0x7fffffff) fail(`${name} must be an int32, got ${String(x)}`);
  return x;
}

export function finite(name: string, x: unknown): number {
  if (typeof x !== "number" || !Number.isFinite(x)) fail(`${name} must be a finite number, got ${String(x)}`);
  return x;
}
