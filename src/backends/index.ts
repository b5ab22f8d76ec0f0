// Registers the available backends and chooses the default. The interpreter
// is always present and is the reference; wasm is the default. Where the
// kernels can be read synchronously (Node) the wasm backend starts here;
// elsewhere (browsers) it starts loading its kernels now and a stand-in
// holds its place until they arrive, so operations before `await ready()`
// throw a BackendError that says so. A wasm backend that cannot start is an
// error too, never a silent switch to the interpreter: that takes
// setDefaultBackend("interpreter") or TINYFLOW_BACKEND=interpreter.
// WebGPU starts asynchronously (`await loadWebGpuBackend()`); until then a
// stand-in under "webgpu" says so. "auto" names WebGPU once it runs and wasm
// otherwise, saying once why it is not WebGPU.

import { getBackend, registerBackend, registerBackendAlias, setDefaultBackend, type Backend } from "../core/backend";
import { BackendError } from "../core/errors";
import { interpreterBackend } from "./interpreter";
import { UnavailableBackend } from "./unavailable";
import { loadWasmBackend, wasmBackend } from "./wasm";
import { canReadKernelsSync, KERNELS_URL } from "./wasm/kernel_binary";
import { webGpuBackendIfLoaded, webGpuStartError } from "./webgpu";

const TO_INTERPRETER = `or run on the reference interpreter: setDefaultBackend("interpreter") (in Node also TINYFLOW_BACKEND=interpreter)`;

const asBackendError = (e: unknown): BackendError => (e instanceof BackendError ? e : new BackendError(`the wasm backend could not start: ${String((e as Error)?.message ?? e)}`));
const cannotStart = (e: unknown): BackendError => {
  const cause = asBackendError(e);
  return new BackendError(`${cause.message}; ${TO_INTERPRETER}`);
};

registerBackend(interpreterBackend);

let wasmStart: Promise<unknown>;
if (canReadKernelsSync()) {
  try {
    registerBackend(wasmBackend(), { makeDefault: true });
  } catch (e) {
    registerBackend(new UnavailableBackend("wasm", cannotStart(e)), { makeDefault: true });
  }
  wasmStart = Promise.resolve();
} else {
  const standIn = new UnavailableBackend(
    "wasm",
    new BackendError(`the wasm backend is still loading its kernels from ${KERNELS_URL}: \`await ready()\` (from "tinyflow") once before the first operation, ${TO_INTERPRETER}`),
  );
  registerBackend(standIn, { makeDefault: true });
  // Not the default on success: the user may have chosen another backend meanwhile.
  wasmStart = loadWasmBackend(KERNELS_URL, { makeDefault: false }).catch((e: unknown) => {
    standIn.failed(cannotStart(e));
  });
}

registerBackend(
  new UnavailableBackend(
    "webgpu",
    new BackendError(
      `the WebGPU backend starts asynchronously: \`await loadWebGpuBackend()\` (from "tinyflow") once before using backend "webgpu", ` +
        `or use backend "auto" (WebGPU once it is loaded, else wasm)`,
    ),
  ),
);

let autoWarned = false;
/** "auto": WebGPU when it runs, else wasm — the first fallback says why, once. */
function autoBackend(): Backend {
  const gpu = webGpuBackendIfLoaded();
  if (gpu) return gpu;
  if (!autoWarned) {
    autoWarned = true;
    const why = webGpuStartError()?.message ?? "the WebGPU backend is not loaded (`await loadWebGpuBackend()` first)";
    console.warn(`tinyflow: backend "auto" runs on wasm: ${why}`);
  }
  return getBackend("wasm");
}
registerBackendAlias("auto", autoBackend);

const requested = typeof process !== "undefined" ? process.env?.TINYFLOW_BACKEND : undefined;
if (requested) setDefaultBackend(requested);

/**
 * Resolves once the default backend can run. In browsers the wasm backend
 * fetches its kernels asynchronously: `await ready()` once before the first
 * operation. In Node it resolves at once. Rejects with the BackendError that
 * explains why the default backend cannot start (e.g. "could not fetch the
 * kernels from <url>: 404").
 */
export async function ready(): Promise<void> {
  await wasmStart;
  const backend = getBackend();
  if (backend instanceof UnavailableBackend) throw backend.error;
}

export { interpreterBackend };
