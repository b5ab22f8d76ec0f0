// Entry of the browser test page (bundled by test/browser/serve.ts with
// esbuild): the wasm backend loads its kernels by itself (from next to the
// bundle, as a user's esbuild bundle would); the page checks that an
// operation before `await ready()` is refused with the "still loading" error,
// awaits ready(), waits for the worker threads to boot, runs the shared
// computations (compute.ts) and publishes everything on window.__results (or
// window.__error on failure, e.g. the kernels' 404).

import { defaultBackendName, getBackend, np, ready } from "../../src/index";
import { getThreadPool } from "../../src/backends/wasm/threads";
import type { WasmBackend } from "../../src/backends/wasm";
import { compute } from "./compute";

declare const window: any;

/** The error an operation throws before the kernels have arrived (module evaluation is synchronous, so they cannot have). */
function errorBeforeReady(): string {
  try {
    np.zeros([2]);
    return "no error";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

async function main(): Promise<void> {
  const beforeReady = errorBeforeReady();
  const t0 = performance.now();
  await ready();
  const backend = getBackend("wasm") as WasmBackend;
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
    beforeReady,
    ms: { load: tReady - t0, compute: tDone - tReady },
    results,
  };
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
});
