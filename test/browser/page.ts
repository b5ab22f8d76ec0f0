// Entry of the browser test page (bundled by test/browser/serve.ts with
// esbuild): loads the wasm backend from the test server, waits for the worker
// threads to boot, runs the shared computations (compute.ts) and publishes
// everything on window.__results (or window.__error on failure).

import { defaultBackendName, loadWasmBackend } from "../../src/index";
import { getThreadPool } from "../../src/backends/wasm/threads";
import { compute } from "./compute";

declare const window: any;

async function main(): Promise<void> {
  const wasmUrl = new URL(String(window.__WASM_URL ?? "/kernels/tinyflow_kernels.wasm"), location.href);
  const t0 = performance.now();
  const backend = await loadWasmBackend(wasmUrl);
  const pool = getThreadPool(backend.mem.kernels);
  const readyThreads = await pool.whenReady(20_000);
  const tReady = performance.now();
  const splitBefore = pool.splitJobs;
  const results = compute();
  const tDone = performance.now();
  window.__results = {
    backend: defaultBackendName(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sharedMemory: backend.mem.kernels.shared,
    hardwareConcurrency: navigator.hardwareConcurrency,
    threads: pool.threads,
    readyThreads,
    failedWorkers: pool.failedWorkers(),
    splitJobs: pool.splitJobs - splitBefore,
    ms: { load: tReady - t0, compute: tDone - tReady },
    results,
  };
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
});
