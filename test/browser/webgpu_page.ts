// Entry of the WebGPU browser smoke page (bundled by serve.ts): starts the
// WebGPU backend on navigator.gpu (headless Chromium with
// --enable-unsafe-webgpu: SwiftShader, or the machine's GPU), runs the shared
// computations (webgpu_compute.ts) on it and publishes them, with the adapter
// and the error a synchronous read gives, on window.__results (or
// window.__error).

import { ArrayImpl, loadWebGpuBackend, ready } from "../../src/index";
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
    ArrayImpl.fromTyped(new Float32Array(2), [2], "float32", { backend: "webgpu" }).dataSync();
  } catch (e) {
    syncRead = `${(e as Error).name}: ${(e as Error).message}`;
  }
  window.__results = { adapter: gpu.adapterName, syncRead, ms: { start: tReady - t0, compute: tDone - tReady }, results };
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
});
