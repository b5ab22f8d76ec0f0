// Entry of the browser page for the wasm thread pool's faults (bundled by
// test/browser/serve.ts; driven by pool_faults.test.ts). On a pool of its own
// (3 threads, a stall limit far beyond the test's timeout, so a death noticed
// only at the stall limit would time the test out) it kills workers with the
// pool's test hooks -- a worker that ends mid-job (it closes itself, as a
// worker the browser ends would, without settling its part), a worker
// terminated from outside while idle, a worker that has not woken up -- runs
// sgemms through each and publishes what happened on window.__results (or
// window.__error).

import { getBackend, ready } from "../../src/index";
import type { WasmBackend } from "../../src/backends/wasm";
import { ThreadPool } from "../../src/backends/wasm/threads";

declare const window: any;

/** What one call did: whether its result was right, or its error, and how long it took. */
export interface Attempt {
  ok?: boolean;
  error?: string;
  ms: number;
}

export interface PoolFaultsReport {
  watchdog: boolean;
  readyThreads: number;
  before: boolean;
  crash: Attempt;
  replacedAfterCrash: number;
  readyAfterCrash: number;
  afterCrash: boolean[];
  terminated: Attempt[];
  msToReplaceTerminated: number;
  replacedAfterTerminate: number;
  stalled: Attempt;
  takenOver: number;
  final: boolean[];
  readyWorkers: number;
  /** A second pool started with navigator.locks hidden (as in a browser without Web Locks): no watchdog. */
  noLocks: {
    readyThreads: number;
    /** A worker terminated from outside while idle: ms until the pool replaced it (its heartbeat stopped), or -1. */
    msToReplaceTerminated: number;
    replaced: number;
    /** Calls right after the termination (its parts taken over), then after the replacement. */
    meanwhile: boolean[];
    after: boolean[];
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  await ready();
  const K = (getBackend("wasm") as WasmBackend).mem.kernels;
  const kernelBytes = new Uint8Array(await (await fetch("/tinyflow_kernels.wasm")).arrayBuffer());
  const pool = new ThreadPool(K, { threads: 3, minGemmWork: 0, kernelBytes, stallTimeoutMs: 600_000 });
  const readyThreads = await pool.whenReady(20_000);
  const m = 256;
  const a = K.putF32(Float32Array.from({ length: m * m }, (_, i) => Math.sin(i * 0.37)));
  const ref = K.allocF32(m * m);
  const got = K.allocF32(m * m);
  K.sgemm({ m, n: m, k: m, a, b: a, c: ref });
  const want = K.readF32(ref, m * m);
  /** A 256x256 sgemm on the pool; whether it equals the single-threaded one bitwise. */
  const gemm = (): boolean => {
    pool.sgemm({ m, n: m, k: m, a, b: a, c: got });
    return K.readF32(got, m * m).every((v, i) => Object.is(v, want[i]));
  };
  const attempt = (): Attempt => {
    const t = performance.now();
    try {
      return { ok: gemm(), ms: performance.now() - t };
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}`, ms: performance.now() - t };
    }
  };
  const before = gemm();

  pool.crashWorkerForTesting(1);
  const crash = attempt();
  const readyAfterCrash = await pool.whenReady(20_000);
  const replacedAfterCrash = pool.replacedWorkers;
  const afterCrash = [gemm(), gemm()];

  pool.terminateWorkerForTesting(0);
  const terminated = [attempt(), attempt(), attempt()];
  const t0 = performance.now();
  while (pool.replacedWorkers === replacedAfterCrash && performance.now() - t0 < 20_000) {
    await sleep(5);
    await pool.whenReady(100); // polls the slots: a dead one is replaced
  }
  const msToReplaceTerminated = performance.now() - t0;
  const replacedAfterTerminate = pool.replacedWorkers;
  await pool.whenReady(20_000);

  const taken = pool.takenOverParts;
  pool.stallWorkerForTesting(0);
  const stalled = attempt();
  const takenOver = pool.takenOverParts - taken;
  await pool.releaseStalledWorkerForTesting();

  const final = [gemm(), gemm(), gemm()];
  const watchdog = (navigator as { locks?: unknown }).locks !== undefined;
  const readyWorkers = pool.readyWorkers();
  pool.close();

  // Without Web Locks there is no watchdog: the heartbeat tells the pool that an idle worker is gone.
  Object.defineProperty(navigator, "locks", { value: undefined, configurable: true });
  const bare = new ThreadPool(K, { threads: 2, minGemmWork: 0, kernelBytes, stallTimeoutMs: 600_000 });
  const bareThreads = await bare.whenReady(20_000);
  const bareGemm = (): boolean => {
    bare.sgemm({ m, n: m, k: m, a, b: a, c: got });
    return K.readF32(got, m * m).every((v, i) => Object.is(v, want[i]));
  };
  bareGemm();
  bare.terminateWorkerForTesting(0);
  const meanwhile = [bareGemm(), bareGemm()];
  const t1 = performance.now();
  while (bare.replacedWorkers === 0 && performance.now() - t1 < 20_000) {
    await sleep(5);
    await bare.whenReady(100); // polls the slots: checks the heartbeats
  }
  const bareMs = bare.replacedWorkers > 0 ? performance.now() - t1 : -1;
  await bare.whenReady(20_000);
  const noLocks = { readyThreads: bareThreads, msToReplaceTerminated: bareMs, replaced: bare.replacedWorkers, meanwhile, after: [bareGemm(), bareGemm()] };
  bare.close();

  const report: PoolFaultsReport = {
    watchdog,
    readyThreads, before, crash, readyAfterCrash, replacedAfterCrash, afterCrash,
    terminated, msToReplaceTerminated, replacedAfterTerminate, stalled, takenOver, final,
    readyWorkers, noLocks,
  };
  window.__results = report;
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
});
