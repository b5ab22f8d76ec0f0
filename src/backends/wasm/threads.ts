// ThreadPool: the wasm backend's worker pool (pool.ts) with its job families
// -- sgemm row chunks (gemm_job.ts), convolution units (conv_job.ts) and, on
// the pool as posted by parallel_kernel.ts and parallel_window.ts, generated
// kernels -- and the process-wide default pool of each backend memory.

import { BackendError } from "../../core/errors";
import { ConvJobs, type ConvJob, type ConvJobOptions } from "./conv_job";
import { GemmJobs, type BatchedSgemmArgs, type CallerGemm, type GemmJobOptions } from "./gemm_job";
import type { WasmKernels } from "./kernels";
import { WorkerPool, type PoolOptions } from "./pool";

/** What a ThreadPool is configured with: the pool's own options and each job family's. */
export interface ThreadPoolOptions extends PoolOptions, GemmJobOptions, ConvJobOptions {
  /**
   * Split a kernel when elements × (1 + its op costs) is at least this
   * (default 2^19: e.g. 256K elements of x + y, 44K of tanh(2x + 1)·x). Op
   * costs: 8 for transcendental functions, pow, div and rem, 1 otherwise.
   */
  minKernelWork?: number;
}

/** A worker pool that runs sgemms, convolutions and split generated kernels. */
export class ThreadPool extends WorkerPool {
  readonly minKernelWork: number;
  private readonly gemms: GemmJobs;
  private readonly convs: ConvJobs;

  constructor(kernels: WasmKernels, opts: ThreadPoolOptions = {}) {
    super(kernels, opts);
    this.minKernelWork = opts.minKernelWork ?? 1 << 19;
    this.gemms = new GemmJobs(this, opts);
    this.convs = new ConvJobs(this, opts);
  }

  /** Split a convolution when its multiply-adds are at least this (ConvJobOptions.minConvWork). */
  get minConvWork(): number {
    return this.convs.minConvWork;
  }

  /** A batch of sgemms, split across the pool by rows of C when large (GemmJobs.sgemm). */
  sgemm(args: BatchedSgemmArgs): void {
    this.gemms.sgemm(args);
  }

  /** Whether an sgemm of `rows` stacked rows and batch·m·n·k = `work` runs on the calling thread alone (GemmJobs.runsOnCaller). */
  runsOnCaller(rows: number, work: number): boolean {
    return this.gemms.runsOnCaller(rows, work);
  }

  /** A batch of small sgemms prepared once (prepareCallerGemm), on the calling thread (GemmJobs.sgemmOnCaller). */
  sgemmOnCaller(g: CallerGemm, a: number, b: number, c: number, epilogue: readonly number[]): void {
    this.gemms.sgemmOnCaller(g, a, b, c, epilogue);
  }

  /** A convolution or one of its gradients, split across the pool when large (ConvJobs.conv). */
  conv(job: ConvJob): void {
    this.convs.conv(job);
  }

  override close(): void {
    super.close();
    this.gemms.release();
  }
}


// ------------------------------------------------------- default pools --

const pools = new WeakMap<WebAssembly.Memory, ThreadPool>();
const poolKernelBytes = new WeakMap<WebAssembly.Memory, Uint8Array>();
let configuredThreads: number | undefined;
let configuredAdaptiveSplit: boolean | undefined;

/**
 * The kernels module bytes the default pools of `kernels` give their workers
 * (loadWasmBackend: the bytes it loaded, so browser workers need not fetch the
 * module from its default URL).
 */
export function setPoolKernelBytes(kernels: WasmKernels, bytes: Uint8Array): void {
  poolKernelBytes.set(kernels.memory, bytes);
}

/** The process-wide pool of a backend's memory (sized by setThreadCount / TINYFLOW_THREADS). */
export function getThreadPool(kernels: WasmKernels): ThreadPool {
  let p = pools.get(kernels.memory);
  if (!p) {
    const kernelBytes = poolKernelBytes.get(kernels.memory);
    p = new ThreadPool(kernels, {
      ...(configuredThreads === undefined ? {} : { threads: configuredThreads }),
      ...(configuredAdaptiveSplit === undefined ? {} : { adaptiveSplit: configuredAdaptiveSplit }),
      ...(kernelBytes ? { kernelBytes } : {}),
    });
    pools.set(kernels.memory, p);
  }
  return p;
}

/**
 * Sets the thread count of the default pools (closing the current pool of
 * `kernels`, if given, so the next job gets a new one). `undefined` restores
 * the environment's default.
 */
export function setThreadCount(n: number | undefined, kernels?: WasmKernels): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new BackendError(`setThreadCount: expected a positive integer, got ${String(n)}`);
  configuredThreads = n;
  if (kernels) closeDefaultPool(kernels);
}

/**
 * Whether the default pools' short jobs choose between splitting and the calling thread
 * (PoolOptions.adaptiveSplit), closing the current pool of `kernels`, if given, so the next job gets
 * a new one; `undefined` restores the default (on). For benchmarks that compare the two.
 */
export function setAdaptiveSplit(on: boolean | undefined, kernels?: WasmKernels): void {
  configuredAdaptiveSplit = on;
  if (kernels) closeDefaultPool(kernels);
}

/** Close the default pool of `kernels`, so that the next job starts one with the current settings. */
function closeDefaultPool(kernels: WasmKernels): void {
  pools.get(kernels.memory)?.close();
  pools.delete(kernels.memory);
}
