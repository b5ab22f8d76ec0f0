// What the eager ops need to know about compile() (compile.ts): whether a
// compiled function is being traced right now, and which traced value stands
// for a tensor there. Kept apart so that the ops (index.ts) and compile.ts
// both depend on it without depending on each other at run time.

import { TinyflowError } from "../../core/errors";
import type { Tracer } from "../../core/trace";

/** A compiled function used in a way tracing cannot support: a branch on a traced value, an in-place update, an escaped tensor. */
export class CompileError extends TinyflowError {}

/** The compile() trace in progress. */
export interface CompileTracing {
  /** `compile(name)`, for messages. */
  readonly where: string;
  /** The traced value of a tensor inside the trace: its own for tensors made there, a new input for tensors from outside. */
  valueOf(t: { readonly value: Tracer }): Tracer;
}

let current: CompileTracing | null = null;

export function compileTracing(): CompileTracing | null {
  return current;
}

export function duringCompileTrace<T>(tracing: CompileTracing, fn: () => T): T {
  const prev = current;
  current = tracing;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** The error for reading a traced tensor's value in JS (a branch, a conversion, item()). */
export function concretizationInCompile(where: string, what: string): CompileError {
  return new CompileError(
    `${where}: ${what} needs the tensor's value, but compile() traces the function once per input signature, when values are not known ` +
      "(a data-dependent JS branch such as `if (x.sum() > 0)`); select with where(cond, a, b) (np.where), " +
      "use lax.cond inside a function given to lift(), or call this part uncompiled",
  );
}

/** The error for an in-place or effectful eager operation inside a compiled function. */
export function effectInCompile(where: string, what: string, fix: string): CompileError {
  return new CompileError(`${where}: ${what} is not supported inside a compiled function; ${fix}`);
}
