// Registers the available backends. The interpreter is always present and is
// the reference; the wasm backend is the default where it can start, unless
// TINYFLOW_BACKEND names another one.

import { registerBackend, setDefaultBackend } from "../core/backend";
import { interpreterBackend } from "./interpreter";
import { wasmBackend } from "./wasm";

registerBackend(interpreterBackend);
try {
  registerBackend(wasmBackend(), { makeDefault: true });
} catch {
  // No WebAssembly SIMD or no access to the kernel binary: stay on the interpreter.
}
const requested = typeof process !== "undefined" ? process.env?.TINYFLOW_BACKEND : undefined;
if (requested) setDefaultBackend(requested);

export { interpreterBackend };
