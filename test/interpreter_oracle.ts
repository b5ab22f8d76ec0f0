// Running a computation on the interpreter, the oracle the other backends'
// tests compare against, with the default backend restored afterwards.

import { ArrayImpl as TfArray, defaultBackendName, setDefaultBackend, type Tracer } from "../src/index";

/** `f()` with the interpreter as the default backend. */
export function onInterpreter<T>(f: () => T): T {
  const prev = defaultBackendName();
  setDefaultBackend("interpreter");
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

/** The interpreter's values of f over copies of the arguments, as a flat list. */
export function interpreterValues(f: (...xs: Tracer[]) => Tracer, args: readonly TfArray[]): number[] {
  return onInterpreter(() => Array.from(f(...args.map((a) => a.to("interpreter"))).dataSync() as ArrayLike<number>));
}
