// Where the wasm thread pool's workers come from: Node's worker_threads or a
// cross-origin isolated browser's Web Workers, reached without importing
// either (the same bundle runs in both), and how many threads the
// environment asks for.

/** Most threads a pool runs, the calling one included. */
export const MAX_THREADS = 8;

type NodeProcess = {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
};
const nodeProcess = (globalThis as { process?: NodeProcess }).process;

export interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, f: (...args: unknown[]) => void): void;
  postMessage(m: unknown, transfer?: unknown[]): void;
}
export type NodeWorkerCtor = new (src: string, opts: { eval: true; workerData: unknown; transferList?: unknown[] }) => NodeWorker;
type NodeMessageChannelCtor = new () => { port1: unknown; port2: unknown };

export function nodeWorkerThreads(): { Worker?: NodeWorkerCtor; MessageChannel?: NodeMessageChannelCtor } | undefined {
  try {
    return nodeProcess?.getBuiltinModule?.("node:worker_threads") as { Worker?: NodeWorkerCtor; MessageChannel?: NodeMessageChannelCtor } | undefined;
  } catch {
    return undefined;
  }
}

export function nodeWorkerCtor(): NodeWorkerCtor | undefined {
  return nodeWorkerThreads()?.Worker;
}

/** The browser globals a pool starts its workers with. */
export interface BrowserGlobals {
  Worker: new (url: string) => { postMessage(m: unknown): void; terminate(): void; onerror: unknown };
  Blob: new (parts: string[], o: { type: string }) => unknown;
  URL: { createObjectURL(b: unknown): string };
  navigator?: { locks?: unknown };
}

export function isBrowserThreadable(): boolean {
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean; Blob?: unknown; URL?: { createObjectURL?: unknown } };
  return typeof g.Worker === "function" && g.crossOriginIsolated === true && typeof g.Blob === "function";
}

/**
 * Whether pools' short jobs choose between splitting and the calling thread (PoolOptions.adaptiveSplit)
 * unless told: TINYFLOW_ADAPTIVE_SPLIT=0 (or off, false) turns it off, as for an A/B run of
 * benchmarks across processes; anything else, or nothing, leaves it on.
 */
export function defaultAdaptiveSplit(): boolean {
  const env = nodeProcess?.env?.TINYFLOW_ADAPTIVE_SPLIT?.trim().toLowerCase();
  return !(env === "0" || env === "off" || env === "false");
}

/**
 * The thread count the environment asks for: TINYFLOW_THREADS, else the
 * available parallelism (Node) or hardwareConcurrency (cross-origin isolated
 * browsers), capped at 8; 1 where threads are unavailable.
 */
export function defaultThreadCount(): number {
  const env = nodeProcess?.env?.TINYFLOW_THREADS;
  if (env !== undefined && env.trim() !== "") {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return Math.min(n, MAX_THREADS);
  }
  if (nodeProcess?.versions?.node) {
    try {
      const os = nodeProcess.getBuiltinModule?.("node:os") as { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
      const n = os?.availableParallelism?.() ?? os?.cpus?.().length ?? 1;
      return Math.max(1, Math.min(n, MAX_THREADS));
    } catch {
      return 1;
    }
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (isBrowserThreadable() && nav?.hardwareConcurrency) return Math.max(1, Math.min(nav.hardwareConcurrency, MAX_THREADS));
  return 1;
}
