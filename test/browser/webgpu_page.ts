// Entry of the WebGPU browser smoke page (bundled by serve.ts): starts the
// WebGPU backend on navigator.gpu (headless Chromium with
// --enable-unsafe-webgpu: SwiftShader, or the machine's GPU), runs the shared
// computations (webgpu_compute.ts) on it and publishes them, with the adapter
// and the error a synchronous read gives, on window.__results (or
// window.__error).

import { ArrayImpl, jit, loadWebGpuBackend, np, ready, type Tracer } from "../../src/index";
import { computeOn } from "./webgpu_compute";

declare const window: any;

async function main(): Promise<void> {
  await ready();
  const t0 = performance.now();
  const gpu = await loadWebGpuBackend();
  const tReady = performance.now();
  const results = await computeOn("webgpu");
  const tDone = performance.now();
  let syncRead = "no error";
  try {
    // A computed array: small uploads keep a host copy, which can be read.
    const x = ArrayImpl.fromTyped(new Float32Array(40), [40], "float32", { backend: "webgpu" });
    (jit((v: Tracer) => np.cos(v), { backend: "webgpu" })(x) as ArrayImpl).dataSync();
  } catch (e) {
    syncRead = `${(e as Error).name}: ${(e as Error).message}`;
  }
  window.__results = { adapter: gpu.adapterName, syncRead, ms: { start: tReady - t0, compute: tDone - tReady }, results };
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
});
