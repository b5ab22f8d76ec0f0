// A worker pool for the wasm backend: N-1 workers on the backend's shared
// WebAssembly.Memory, plus the calling thread, split large sgemms (by rows of
// C) and large generated kernels (along their outermost non-reduced
// dimension).
//
// Threads. N = TINYFLOW_THREADS (env var) or, by default,
// os.availableParallelism() in Node / navigator.hardwareConcurrency in a
// cross-origin isolated browser, capped at 8. N = 1, an unshared memory, or a
// host without workers gives a pool with no workers: everything runs on the
// calling thread. Workers are started on the first job large enough to split,
// `unref()`ed in Node (they never keep the process alive), and a pool whose
// workers fail to start runs single-threaded without saying so. A worker that
// dies after starting (see "Dead workers" below) fails the job it was running
// with a BackendError at once and is replaced.
//
// Protocol (see worker.ts). The pool allocates a control block in the shared
// memory with the Rust allocator: a header (pending-job counter, first error,
// gemm chunk counter) and one 256-byte slot per worker. To run a job the
// calling thread writes the job into the slots of the workers it uses, resets
// the chunk counter, sets `pending`, bumps each slot's sequence word and
// notifies it, computes its own share, then waits until `pending` is 0.
// Gemm jobs are not split statically: the stacked rows are cut into chunks
// (about gemmChunksPerThread per thread, at least minGemmChunkRows rows) and
// every thread, the calling one included, claims the next chunk with
// Atomics.add on the counter until none are left, so a thread that loses its
// core (a loaded machine) takes fewer chunks instead of holding up the call.
// A worker decrements `pending` once per job, after its last chunk, so
// `pending` = 0 after the calling thread ran out of chunks means every chunk
// is done. Kernel jobs keep one static chunk per thread.
// In Node the calling thread blocks in Atomics.wait (allowed on
// Node's main thread). A browser's main thread may not block, so there it
// spins on Atomics.load for the rest of the job (at most the last chunks of
// the other threads); in a browser worker it blocks like in Node.
// Node starts workers synchronously: the first split job waits (up to
// `startTimeoutMs`) for them to become ready. Browser workers start
// asynchronously; until they are ready, jobs run on the calling thread.
//
// Determinism: a gemm row split computes every element of C exactly as the
// single-threaded sgemm does (same k order, whichever thread runs a chunk),
// and a kernel split runs the same loop nest on every chunk, so threaded
// results are bitwise equal to
// single-threaded ones (reductions included: chunks never reduce across the
// split dimension and are at least 2 long, so the kernel's loop structure does
// not change).
//
// Conv jobs (ThreadPool.conv) are split like gemm jobs, by work-stealing
// chunks of the convolution's units: output lines for the forward (so batch 1
// splits too), images for the gradients (their im2col/col2im buffers do not
// overlap across images). A forward or data-gradient chunk computes its
// outputs exactly as one call over all units would. The filter gradient sums
// over images, so its chunks write partial sums that the calling thread adds
// in chunk order; the chunking depends only on the conv's size, never on the
// thread count, so its result is the same on any number of threads.
//
// A job must not be posted while another runs: the pool is driven by one
// thread (the one that owns the backend).

import { BackendError } from "../../core/errors";
import type { CompiledKernel } from "./codegen/kernel";
import { CONV_EPILOGUE_WORDS, CONV_PARAMS_LEN, KERNELS_URL, convParamsBlock, convUnits, readKernelBytes, type Conv2dParams, type ConvMode, type SgemmArgs, type SgemmRowsArgs, type WasmKernels, WasmKernelError, WASM_ERROR_CODES } from "./kernels";
import { MAX_EPILOGUE_OPERANDS, epilogueVectorCount, type GeneratedGemm } from "./codegen/gemm";
import { CONV_ARGS, CTL, GEMM_ARGS, JOB, WORKER_ERRORS, watchdogSource, workerSource, type WorkerInit } from "./worker";

const MAX_THREADS = 8;
/** Dead workers a pool replaces before it gives up on the slot. */
const MAX_REPLACEMENTS = 16;
const STACK_BYTES = 1 << 20;

type NodeProcess = {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
};
const nodeProcess = (globalThis as { process?: NodeProcess }).process;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, f: (...args: unknown[]) => void): void;
  postMessage(m: unknown, transfer?: unknown[]): void;
}
type NodeWorkerCtor = new (src: string, opts: { eval: true; workerData: unknown; transferList?: unknown[] }) => NodeWorker;
type NodeMessageChannelCtor = new () => { port1: unknown; port2: unknown };

function nodeWorkerThreads(): { Worker?: NodeWorkerCtor; MessageChannel?: NodeMessageChannelCtor } | undefined {
  try {
    return nodeProcess?.getBuiltinModule?.("node:worker_threads") as { Worker?: NodeWorkerCtor; MessageChannel?: NodeMessageChannelCtor } | undefined;
  } catch {
    return undefined;
  }
}

function nodeWorkerCtor(): NodeWorkerCtor | undefined {
  return nodeWorkerThreads()?.Worker;
}

function isBrowserThreadable(): boolean {
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean; Blob?: unknown; URL?: { createObjectURL?: unknown } };
  return typeof g.Worker === "function" && g.crossOriginIsolated === true && typeof g.Blob === "function";
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

export interface ThreadPoolOptions {
  /** Total threads including the calling one (default: defaultThreadCount()). 1 = no workers. */
  threads?: number;
  /** Bytes of wasm/tinyflow_kernels.wasm (default: read from disk in Node; fetched by the workers in browsers). */
  kernelBytes?: Uint8Array;
  /** Node: how long the first split job waits for workers to start (default 5000 ms). */
  startTimeoutMs?: number;
  /** Split an sgemm when batch·m·n·k is at least this (default 128³). */
  minGemmWork?: number;
  /** Work-stealing chunks of a split sgemm's stacked rows per thread, about (default 8). */
  gemmChunksPerThread?: number;
  /** Fewest rows in a split sgemm's chunk, rounded up to a multiple of 4 (default 32). */
  minGemmChunkRows?: number;
  /**
   * Split a kernel when elements × (1 + its op costs) is at least this
   * (default 2^19: e.g. 256K elements of x + y, 44K of tanh(2x + 1)·x). Op
   * costs: 8 for transcendental functions, pow, div and rem, 1 otherwise.
   */
  minKernelWork?: number;
  /** Split a convolution when its multiply-adds are at least this (default 2^21). */
  minConvWork?: number;
  /** Work-stealing chunks of a split convolution's units per thread, about (default 4). */
  convChunksPerThread?: number;
  /**
   * A job whose workers have not finished after this long plus a size-based
   * allowance fails with an error and the pool turns single-threaded (default 30000 ms).
   */
  stallTimeoutMs?: number;
}

/** A batch of row-major sgemms; item i uses a + i·strideA etc. (byte strides). */
export interface BatchedSgemmArgs {
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  a: number;
  lda?: number;
  b: number;
  ldb?: number;
  c: number;
  ldc?: number;
  /** Byte strides between batch items (default: dense, m·k, k·n and m·ldc floats). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /**
   * Run this GEMM generated at run time (relaxed SIMD and/or a fused
   * epilogue) instead of the Rust sgemm; alpha must be 1 and beta 0.
   */
  generated?: GeneratedGemm;
  /** The generated GEMM's epilogue vectors: byte pointer of item 0 and byte stride per batch item. */
  epilogue?: ReadonlyArray<{ ptr: number; stride: number }>;
}

/**
 * A small sgemm batch prepared once for ThreadPool.sgemmOnCaller: the shapes,
 * leading dimensions and byte strides, checked when it is prepared.
 */
export interface CallerGemm {
  readonly transA: number;
  readonly transB: number;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly lda: number;
  readonly ldb: number;
  readonly ldc: number;
  readonly strideA: number;
  readonly strideB: number;
  readonly strideC: number;
  readonly gen: GeneratedGemm | undefined;
  /** Byte stride per batch item of each epilogue vector operand. */
  readonly epilogueStrides: readonly number[];
  /** Scratch bytes one item needs on the calling thread. */
  readonly scratchBytes: number;
}

/**
 * Prepares a batch of sgemms (alpha 1, beta 0, dense batch strides unless
 * given) for ThreadPool.sgemmOnCaller, checking its shapes once.
 */
export function prepareCallerGemm(kernels: WasmKernels, args: Omit<BatchedSgemmArgs, "a" | "b" | "c" | "epilogue" | "alpha" | "beta"> & { epilogueStrides?: readonly number[] }): CallerGemm {
  const { m, n, k } = args;
  const batch = args.batch ?? 1;
  const transA = args.transA === true;
  const transB = args.transB === true;
  const lda = args.lda ?? Math.max(1, transA ? m : k);
  const ldb = args.ldb ?? Math.max(1, transB ? k : n);
  const ldc = args.ldc ?? Math.max(1, n);
  for (const [name, x] of [["batch", batch], ["m", m], ["n", n], ["k", k], ["lda", lda], ["ldb", ldb], ["ldc", ldc]] as const) {
    if (!Number.isInteger(x) || x < 0) throw new BackendError(`prepareCallerGemm: ${name} must be a non-negative integer, got ${String(x)}`);
  }
  if (lda < Math.max(1, transA ? m : k) || ldb < Math.max(1, transB ? k : n) || ldc < Math.max(1, n)) {
    throw new BackendError(`prepareCallerGemm: leading dimensions (${lda}, ${ldb}, ${ldc}) are smaller than the rows of op(A), op(B), C`);
  }
  const gen = args.generated;
  const epilogueStrides = args.epilogueStrides ?? [];
  if (gen && epilogueStrides.length !== epilogueVectorCount(gen.epilogue)) {
    throw new BackendError(`prepareCallerGemm: the generated GEMM's epilogue takes ${epilogueVectorCount(gen.epilogue)} vector operands, got ${epilogueStrides.length}`);
  }
  return {
    transA: transA ? 1 : 0, transB: transB ? 1 : 0, batch, m, n, k, lda, ldb, ldc,
    strideA: args.strideA ?? m * k * 4, strideB: args.strideB ?? k * n * 4, strideC: args.strideC ?? m * ldc * 4,
    gen, epilogueStrides,
    scratchBytes: gen ? kernels.sgemmScratchBytes(m, n, k) + gen.scratchBytes(0, n, k) : kernels.sgemmScratchBytes(m, n, k),
  };
}

/** One convolution for ThreadPool.conv (byte pointers; see Conv2dParams for layouts and convUnits for the units). */
export interface ConvJob {
  params: Conv2dParams;
  mode: ConvMode;
  /** forward: x, w, y; data: dy, w, dx; filter: x, dy, dw. */
  a: number;
  b: number;
  out: number;
  /** An encoded epilogue (encodeConvEpilogue), forward only. */
  epilogue?: readonly number[];
}

/** Partial sums a large filter gradient is cut into (a constant, so its rounding does not depend on the thread count). */
const FILTER_GRADIENT_PARTS = 8;

type WorkerState = "starting" | "ready" | "failed" | "dead";

interface Handle {
  state: WorkerState;
  terminate(): void;
}

/** The parts of one sgemm that every item of a batch (or chunk of rows) shares. */
interface SgemmShared {
  transA: boolean; transB: boolean; m: number; n: number; k: number; alpha: number; beta: number; lda: number; ldb: number; ldc: number;
  gen: GeneratedGemm | undefined; operands: ReadonlyArray<{ ptr: number; stride: number }>;
}

// One batch item's arguments, written out field by field: V8 spends ~10 µs on
// `{ ...shared, a, b, c }` of this many fields (measured on Node 20), more than
// a small sgemm itself takes.
function sgemmItem(s: SgemmShared, a: number, b: number, c: number): SgemmArgs {
  return { transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: s.alpha, beta: s.beta, a, lda: s.lda, b, ldb: s.ldb, c, ldc: s.ldc };
}
function sgemmRowsItem(s: SgemmShared, a: number, b: number, c: number, m0: number, m1: number, scratch: number): SgemmRowsArgs {
  return { transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: s.alpha, beta: s.beta, a, lda: s.lda, b, ldb: s.ldb, c, ldc: s.ldc, m0, m1, scratch };
}

/** A pool of workers on one shared memory. */
export class ThreadPool {
  /** Threads including the calling one. */
  readonly threads: number;
  readonly kernels: WasmKernels;
  readonly minGemmWork: number;
  readonly gemmChunksPerThread: number;
  readonly minGemmChunkRows: number;
  readonly minKernelWork: number;
  readonly minConvWork: number;
  readonly convChunksPerThread: number;
  private readonly startTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly kernelBytes: Uint8Array | undefined;
  private workers: Handle[] = [];
  /** Node: the thread that notices workers ending while the main thread is blocked (see dead workers). */
  private watchdog: NodeWorker | null = null;
  private started = false;
  private broken = false;
  private closed = false;
  private ctlPtr = 0;
  private ctlBytes = 0;
  private seq: number[] = [];
  private canBlock: boolean | undefined;
  /** The conv job's parameter and epilogue blocks, shared by every thread (0 until the first conv). */
  private convBlock = 0;
  /** Main thread's sgemm scratch. */
  private scratch = 0;
  private scratchBytes = 0;
  private readonly registered = new Map<Uint8Array, { id: number; ptr: number; len: number }>();
  /** Jobs run with workers (for tests and benchmarks). */
  splitJobs = 0;
  /** Workers started in place of dead ones (for tests). */
  replacedWorkers = 0;

  constructor(kernels: WasmKernels, opts: ThreadPoolOptions = {}) {
    this.kernels = kernels;
    const want = opts.threads ?? defaultThreadCount();
    if (!Number.isInteger(want) || want < 1) throw new BackendError(`ThreadPool: threads must be a positive integer, got ${String(want)}`);
    const threadable = kernels.shared && (nodeWorkerCtor() !== undefined || isBrowserThreadable());
    this.threads = threadable ? Math.min(want, MAX_THREADS) : 1;
    this.kernelBytes = opts.kernelBytes;
    this.startTimeoutMs = opts.startTimeoutMs ?? 5000;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
    this.minGemmWork = opts.minGemmWork ?? 128 * 128 * 128;
    this.gemmChunksPerThread = Math.max(1, Math.floor(opts.gemmChunksPerThread ?? 8));
    this.minGemmChunkRows = Math.max(4, Math.floor(opts.minGemmChunkRows ?? 32));
    this.minKernelWork = opts.minKernelWork ?? 1 << 19;
    this.minConvWork = opts.minConvWork ?? 1 << 21;
    this.convChunksPerThread = Math.max(1, Math.floor(opts.convChunksPerThread ?? 4));
  }

  /** Workers ready to take jobs now. */
  readyWorkers(): number {
    return this.workers.filter((w) => w.state === "ready").length;
  }

  /** Threads a large job may use: the configured count, or 1 once the pool broke or closed. */
  get maxThreads(): number {
    return this.broken || this.closed ? 1 : this.threads;
  }

  /** Threads a job posted now would use (1 + ready workers). */
  get activeThreads(): number {
    return this.broken || this.closed ? 1 : 1 + this.readyWorkers();
  }

  /** Started workers that failed. */
  failedWorkers(): number {
    return this.workers.filter((w) => w.state === "failed").length;
  }

  private ctl(): Int32Array {
    return new Int32Array(this.kernels.memory.buffer);
  }

  private slotBase(w: number): number {
    return (this.ctlPtr >> 2) + CTL.HEADER + w * CTL.SLOT;
  }

  /** Refreshes worker states from their READY words. */
  private poll(): void {
    if (!this.started) return;
    const i32 = this.ctl();
    this.workers.forEach((w, i) => {
      if (w.state !== "starting") return;
      const r = Atomics.load(i32, this.slotBase(i) + CTL.READY);
      if (r === 1) w.state = "ready";
      else if (r === -1) w.state = "failed";
    });
    this.replaceDeadWorkers();
  }

  /**
   * Starts the workers if they are not started (no-op for a 1-thread pool);
   * in Node waits for them up to startTimeoutMs. Returns the active thread count.
   */
  start(): number {
    if (this.threads <= 1 || this.closed || this.broken) return 1;
    if (!this.started) {
      if (!this.spawnOnce()) return 1;
      if (this.blockingAllowed()) {
        const i32 = this.ctl();
        const deadline = performance.now() + this.startTimeoutMs;
        for (let i = 0; i < this.workers.length; i++) {
          const at = this.slotBase(i) + CTL.READY;
          while (Atomics.load(i32, at) === 0) {
            const left = deadline - performance.now();
            if (left <= 0) break;
            Atomics.wait(i32, at, 0, left);
          }
        }
      }
    }
    this.poll();
    return this.activeThreads;
  }

  /**
   * Starts the workers without waiting for them, so they boot while the program
   * does other work; jobs use whichever workers are ready when they are posted.
   */
  prestart(): void {
    if (this.threads <= 1 || this.closed || this.broken || this.started) return;
    this.spawnOnce();
  }

  /** Spawns the workers; a pool that cannot start them becomes single-threaded (false). */
  private spawnOnce(): boolean {
    this.started = true;
    try {
      this.spawn();
      return true;
    } catch {
      void this.watchdog?.terminate();
      this.watchdog = null;
      for (const w of this.workers) w.terminate();
      this.workers = [];
      this.broken = true;
      return false;
    }
  }

  /** Resolves once every started worker is ready or failed (or after timeoutMs); returns the active thread count. */
  async whenReady(timeoutMs = 10_000): Promise<number> {
    this.start();
    const end = performance.now() + timeoutMs;
    for (;;) {
      this.poll();
      if (!this.workers.some((w) => w.state === "starting") || performance.now() > end) return this.activeThreads;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private spawn(): void {
    const nWorkers = this.threads - 1;
    this.ctlBytes = (CTL.HEADER + nWorkers * CTL.SLOT) * 4;
    this.ctlPtr = this.kernels.alloc(this.ctlBytes);
    const i32 = this.ctl();
    i32.fill(0, this.ctlPtr >> 2, (this.ctlPtr + this.ctlBytes) >> 2);
    this.seq = new Array(nWorkers).fill(0);
    const NodeWorker = nodeWorkerCtor();
    const base = { memory: this.kernels.memory, ctlPtr: this.ctlPtr, stackBytes: STACK_BYTES, ctl: CTL, gemmArgs: GEMM_ARGS, convArgs: CONV_ARGS, job: JOB, errors: WORKER_ERRORS };
    if (NodeWorker) {
      const rustBytes = this.kernelBytes ?? readKernelBytes();
      this.watchdog = new NodeWorker(watchdogSource(), { eval: true, workerData: { memory: this.kernels.memory, ctlPtr: this.ctlPtr, ctl: CTL, died: WORKER_ERRORS.DIED } });
      this.watchdog.unref();
      this.spawnNodeWorker = (slot) => this.startNodeWorker(NodeWorker, { ...base, rustBytes, slot });
      for (let slot = 0; slot < nWorkers; slot++) this.workers.push(this.spawnNodeWorker(slot));
      return;
    }
    // Browser: one Blob URL for all workers; each gets its WorkerInit by message.
    const g = globalThis as unknown as {
      Worker: new (url: string) => { postMessage(m: unknown): void; terminate(): void; onerror: unknown };
      Blob: new (parts: string[], o: { type: string }) => unknown;
      URL: { createObjectURL(b: unknown): string };
    };
    const url = g.URL.createObjectURL(new g.Blob([workerSource("browser")], { type: "text/javascript" }));
    const rustUrl = KERNELS_URL.href;
    for (let slot = 0; slot < nWorkers; slot++) {
      const w = new g.Worker(url);
      const handle: Handle = { state: "starting", terminate: () => w.terminate() };
      w.onerror = () => {
        handle.state = "failed";
        this.markFailed(slot);
      };
      w.postMessage({ ...base, slot, rustBytes: this.kernelBytes, rustUrl });
      this.workers.push(handle);
    }
  }

  /** A worker failed to start (browser `error` event): its slot is never used. */
  private markFailed(slot: number): void {
    const w = this.workers[slot];
    if (w) w.state = "failed";
    if (this.ctlPtr !== 0) {
      const i32 = this.ctl();
      Atomics.store(i32, this.slotBase(slot) + CTL.READY, -1);
    }
  }

  // ------------------------------------------------------- dead workers --
  //
  // A Node worker that exits after starting (process.exit, an uncaught error)
  // runs its exit handler (worker.ts): it marks its slot dead (READY = -2) and,
  // if it held a job (BUSY), reports DIED and settles the job's pending count,
  // so the main thread, blocked in Atomics.wait, is woken at once and throws.
  // A worker that ends without running its handler (terminate() from
  // elsewhere, out of memory) is noticed by the watchdog thread: it holds the
  // far end of a MessageChannel port each worker keeps, which closes when the
  // worker's thread ends; the watchdog, whose event loop is never blocked,
  // then does what the exit handler would have (measured: the main thread
  // wakes ~15 ms after terminate()). The main thread's `exit` event is the
  // last resort. BUSY is cleared by compareExchange, so a job is settled once.
  // A dead slot gets a new worker (up to MAX_REPLACEMENTS per
  // pool, so a worker that keeps dying cannot loop); the replacement boots in
  // the background and takes jobs once ready.

  /** Starts one Node worker for `init.slot` (installed by spawn in Node). */
  private spawnNodeWorker: ((slot: number) => Handle) | null = null;

  private startNodeWorker(NodeWorker: NodeWorkerCtor, init: WorkerInit): Handle {
    const handle: Handle = { state: "starting", terminate: () => {} };
    const Channel = nodeWorkerThreads()?.MessageChannel;
    const channel = this.watchdog && Channel ? new Channel() : null;
    const w = channel
      ? new NodeWorker(workerSource("node"), { eval: true, workerData: { ...init, alivePort: channel.port1 }, transferList: [channel.port1] })
      : new NodeWorker(workerSource("node"), { eval: true, workerData: init });
    if (channel) this.watchdog!.postMessage({ slot: init.slot, port: channel.port2 }, [channel.port2]);
    w.unref();
    // Events of a replaced worker's predecessor must not touch its slot.
    const current = (): boolean => this.workers[init.slot] === handle && !this.closed;
    w.on("error", () => {
      if (current() && handle.state === "starting") this.markFailed(init.slot);
    });
    w.on("exit", () => {
      if (!current()) return;
      const ready = Atomics.load(this.ctl(), this.slotBase(init.slot) + CTL.READY);
      if (ready === 1 || ready === -2 || handle.state === "ready") this.markDead(init.slot);
      else this.markFailed(init.slot);
    });
    handle.terminate = () => void w.terminate();
    return handle;
  }

  /** A started worker is gone: its slot is dead until replaced. */
  private markDead(slot: number): void {
    const w = this.workers[slot];
    if (w) w.state = "dead";
    if (this.ctlPtr !== 0) Atomics.store(this.ctl(), this.slotBase(slot) + CTL.READY, -2);
  }

  /** Replaces the workers whose slots say they died (READY = -2), within the replacement budget. */
  private replaceDeadWorkers(): void {
    if (!this.started || this.closed || this.ctlPtr === 0 || !this.spawnNodeWorker) return;
    const i32 = this.ctl();
    for (let slot = 0; slot < this.workers.length; slot++) {
      const at = this.slotBase(slot) + CTL.READY;
      if (Atomics.load(i32, at) !== -2 || this.replacedWorkers >= MAX_REPLACEMENTS) continue;
      this.workers[slot]!.state = "dead";
      this.workers[slot]!.terminate();
      Atomics.store(i32, at, 0);
      Atomics.store(i32, this.slotBase(slot) + CTL.STATUS, 0);
      Atomics.store(i32, this.slotBase(slot) + CTL.BUSY, 0);
      this.replacedWorkers++;
      try {
        this.workers[slot] = this.spawnNodeWorker(slot);
      } catch {
        this.markFailed(slot);
      }
    }
  }

  /**
   * Test hook: the worker in `slot` exits (as a crash would) when its next job
   * starts, in the middle of that job; with `withoutExitHandler`, its exit
   * handler is removed first (a thread that ends without one: only the
   * watchdog can notice).
   */
  crashWorkerForTesting(slot: number, opts: { withoutExitHandler?: boolean } = {}): void {
    if (this.ctlPtr === 0 || slot < 0 || slot >= this.workers.length) throw new BackendError(`ThreadPool.crashWorkerForTesting: no worker in slot ${slot}`);
    Atomics.store(this.ctl(), (this.ctlPtr >> 2) + CTL.CRASH, opts.withoutExitHandler ? -(slot + 1) : slot + 1);
  }

  /**
   * Test hook: ends the worker in `slot` from outside, as `worker.terminate()` called elsewhere or
   * running out of memory would: no exit handler runs in it, and the pool is not told.
   */
  terminateWorkerForTesting(slot: number): void {
    const w = this.workers[slot];
    if (!w || w.state !== "ready") throw new BackendError(`ThreadPool.terminateWorkerForTesting: no ready worker in slot ${slot}`);
    w.terminate();
  }

  private blockingAllowed(): boolean {
    if (this.canBlock === undefined) {
      try {
        const probe = new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(probe, 0, 1, 0);
        this.canBlock = true;
      } catch {
        this.canBlock = false;
      }
    }
    return this.canBlock;
  }

  /** Indices of the workers a job may use now, at most `max`. */
  private pick(max: number): number[] {
    this.poll();
    const out: number[] = [];
    for (let i = 0; i < this.workers.length && out.length < max; i++) if (this.workers[i]!.state === "ready") out.push(i);
    return out;
  }

  /** Posts jobs (already written into the slots of `ws`), runs `own`, waits for the workers. */
  private dispatch(ws: number[], kind: number, own: () => void, workEstimate: number): void {
    const i32 = this.ctl();
    const hdr = this.ctlPtr >> 2;
    Atomics.store(i32, hdr + CTL.ERROR, 0);
    Atomics.store(i32, hdr + CTL.NEXT, 0);
    Atomics.store(i32, hdr + CTL.PENDING, ws.length);
    for (const w of ws) {
      const b = this.slotBase(w);
      i32[b + CTL.KIND] = kind;
      Atomics.store(i32, b + CTL.BUSY, 1);
      Atomics.store(i32, b + CTL.SEQ, ++this.seq[w]!);
      Atomics.notify(i32, b + CTL.SEQ, 1);
    }
    if (ws.length > 0) this.splitJobs++;
    let ownError: unknown;
    try {
      own();
    } catch (e) {
      ownError = e;
    }
    this.waitPending(i32, hdr, workEstimate);
    if (ownError !== undefined) throw ownError;
    const err = Atomics.load(i32, hdr + CTL.ERROR);
    if (err === WORKER_ERRORS.DIED) throw this.deathError(ws, kind);
    if (err !== 0) {
      const what = err === WORKER_ERRORS.EXCEPTION ? "a worker's kernel trapped" : (WASM_ERROR_CODES[err] ?? `error ${err}`);
      throw new WasmKernelError(`thread pool: ${what}`, err);
    }
  }

  /** The error of a job one of whose workers died; starts their replacements. */
  private deathError(ws: readonly number[], kind: number): BackendError {
    const i32 = this.ctl();
    const dead = ws.filter((w) => Atomics.load(i32, this.slotBase(w) + CTL.READY) === -2);
    // -1: the watchdog saw the thread end without an exit handler (terminated, out of memory)
    const codes = dead.map((w) => {
      const code = Atomics.load(i32, this.slotBase(w) + CTL.STATUS);
      return code === -1 ? "none: ended from outside" : String(code);
    });
    this.replaceDeadWorkers();
    const what = kind === JOB.GEMM ? "a matrix product" : kind === JOB.CONV ? "a convolution" : "a kernel";
    return new BackendError(
      `thread pool: worker thread ${dead.map((w) => w + 1).join(", ") || "?"} died (exit code ${codes.join(", ") || "?"}) while computing its part of ${what}; ` +
        `this call's result is lost. The pool is starting a replacement, so running the call again works (TINYFLOW_THREADS=1 runs without worker threads).`,
    );
  }

  private waitPending(i32: Int32Array, hdr: number, workEstimate: number): void {
    const at = hdr + CTL.PENDING;
    let spins = 0;
    while (Atomics.load(i32, at) !== 0 && spins++ < 4000);
    if (Atomics.load(i32, at) === 0) return;
    // A generous stall limit: stallTimeoutMs plus the job at 0.1 G-units per second.
    const deadline = performance.now() + this.stallTimeoutMs + workEstimate / 1e5;
    const block = this.blockingAllowed();
    for (;;) {
      const v = Atomics.load(i32, at);
      if (v === 0) return;
      if (performance.now() > deadline) {
        this.broken = true;
        throw new BackendError("thread pool: workers stopped responding; the pool is now single-threaded");
      }
      if (block) Atomics.wait(i32, at, v, 1000);
    }
  }

  // -------------------------------------------------------------- gemm --

  /** Threads an sgemm of this size would use now (starts the workers when it is large). */
  private gemmThreads(rows: number, work: number): number {
    if (this.threads <= 1 || work < this.minGemmWork || rows < 8) return 1;
    return Math.min(this.start(), Math.floor(rows / 4));
  }

  /**
   * A batch of sgemms, rows of C (all items' rows stacked) split across the
   * pool when the problem is large; otherwise one kernels.sgemm per item.
   */
  sgemm(args: BatchedSgemmArgs): void {
    const { m, n, k } = args;
    const batch = args.batch ?? 1;
    const transA = args.transA === true;
    const transB = args.transB === true;
    const alpha = args.alpha ?? 1;
    const beta = args.beta ?? 0;
    const lda = args.lda ?? Math.max(1, transA ? m : k);
    const ldb = args.ldb ?? Math.max(1, transB ? k : n);
    const ldc = args.ldc ?? Math.max(1, n);
    const sA = args.strideA ?? m * k * 4;
    const sB = args.strideB ?? k * n * 4;
    const sC = args.strideC ?? m * ldc * 4;
    const rows = batch * m;
    if (rows === 0 || n === 0) return; // C is empty (its operands may be null pointers)
    const gen = args.generated;
    const operands = args.epilogue ?? [];
    if (gen) this.checkGenerated(gen, operands, alpha, beta, batch);
    const T = m > 0 && n > 0 ? this.gemmThreads(rows, batch * m * n * k) : 1;
    const one: SgemmShared = { transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, gen, operands };
    if (T <= 1 && !gen) {
      for (let i = 0; i < batch; i++) this.kernels.sgemm(sgemmItem(one, args.a + i * sA, args.b + i * sB, args.c + i * sC));
      return;
    }
    // Validate operands on this thread (the workers trust them): the first and
    // last items bound the others, as batch strides are non-negative.
    for (const i of batch > 1 ? [0, batch - 1] : [0]) {
      this.kernels.sgemmRows(sgemmRowsItem(one, args.a + i * sA, args.b + i * sB, args.c + i * sC, 0, 0, 0));
    }
    if (T <= 1) {
      this.ownGemmRows(one, args, sA, sB, sC, 0, rows);
      return;
    }
    const chunk = this.gemmChunkRows(rows, T);
    const nChunks = Math.ceil(rows / chunk);
    const ws = this.pick(Math.min(T, nChunks) - 1);
    const reg = gen && ws.length > 0 ? this.register(gen.bytes) : undefined;
    const i32 = this.ctl(); // after register(), which may grow the memory
    const f32 = new Float32Array(i32.buffer);
    const genWords = reg
      ? [reg.id, reg.ptr, reg.len, gen!.scratchBytes(0, n, k), operands.length, ...operands.flatMap((o) => [o.ptr, o.stride])]
      : [0];
    for (const w of ws) {
      const a = this.slotBase(w) + CTL.ARGS;
      i32.set([transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0, args.a, lda, args.b, ldb, 0, args.c, ldc, rows, chunk, sA, sB, sC, ...genWords], a);
      f32[a + 5] = alpha;
      f32[a + 10] = beta;
    }
    // Chunks are claimed from the NEXT counter by this thread and the workers
    // alike; dispatch() resets it before posting the job.
    const own = (): void => {
      if (ws.length === 0) {
        this.ownGemmRows(one, args, sA, sB, sC, 0, rows);
        return;
      }
      this.ensureScratch(Math.min(m, chunk), n, k, gen);
      const next = (this.ctlPtr >> 2) + CTL.NEXT;
      for (;;) {
        const r0 = Atomics.add(this.ctl(), next, 1) * chunk;
        if (r0 >= rows) return;
        this.ownGemmRows(one, args, sA, sB, sC, r0, Math.min(rows, r0 + chunk));
      }
    };
    this.dispatch(ws, JOB.GEMM, own, batch * m * n * k);
  }

  /**
   * Whether an sgemm of `rows` stacked rows of C and batch·m·n·k = `work` runs
   * on the calling thread alone: a small product costs less than waking a
   * worker (a 10x10 matmul takes well under a microsecond to compute).
   */
  runsOnCaller(rows: number, work: number): boolean {
    return this.threads <= 1 || this.broken || this.closed || work < this.minGemmWork || rows < 8;
  }

  /**
   * A batch of small sgemms on the calling thread, from a `CallerGemm`
   * prepared once (prepareCallerGemm) and the operands' byte pointers: no
   * argument objects and no validation pass per call, for the eager and
   * jitted GEMMs that runsOnCaller() keeps off the workers. The caller vouches
   * for the pointers (a wasm program's own buffers, sized by its plan).
   * `epilogue` holds the byte pointers of the generated GEMM's vector operands
   * for batch item 0 (advanced by `g.epilogueStrides` per item).
   */
  sgemmOnCaller(g: CallerGemm, a: number, b: number, c: number, epilogue: readonly number[]): void {
    if (g.scratchBytes > this.scratchBytes) {
      if (this.scratch !== 0) this.kernels.free(this.scratch, this.scratchBytes);
      this.scratch = 0;
      this.scratchBytes = 0;
      this.scratch = this.kernels.alloc(g.scratchBytes);
      this.scratchBytes = g.scratchBytes;
    }
    const { transA, transB, m, n, k, lda, ldb, ldc, gen } = g;
    const raw = this.kernels.raw;
    for (let i = 0; i < g.batch; i++) {
      const ai = a + i * g.strideA;
      const bi = b + i * g.strideB;
      const ci = c + i * g.strideC;
      if (gen === undefined) {
        const code = raw.sgemm_rows(transA, transB, m, n, k, 1, ai, lda, bi, ldb, 0, ci, ldc, 0, m, this.scratch);
        if (code !== 0) throw new WasmKernelError(`sgemm_rows: ${WASM_ERROR_CODES[code] ?? "unknown error"} (code ${code})`, code);
      } else if (epilogue.length === 0) {
        gen.gemmRows(transA, transB, m, n, k, ai, lda, bi, ldb, ci, ldc, 0, m, this.scratch);
      } else {
        const eps = epilogue.map((p, v) => p + i * g.epilogueStrides[v]!);
        gen.gemmRows(transA, transB, m, n, k, ai, lda, bi, ldb, ci, ldc, 0, m, this.scratch, ...eps);
      }
    }
  }

  /**
   * Rows per work-stealing chunk of a `rows`-row gemm on T threads: about
   * gemmChunksPerThread chunks per thread, a multiple of 4 (whole micro-tiles),
   * at least minGemmChunkRows (each chunk packs B again), but never more than
   * an equal static share, so small gemms still use every thread.
   */
  private gemmChunkRows(rows: number, T: number): number {
    const up4 = (x: number): number => Math.ceil(x / 4) * 4;
    const target = Math.max(up4(rows / (T * this.gemmChunksPerThread)), up4(this.minGemmChunkRows));
    return Math.max(4, Math.min(up4(rows / T), target));
  }

  /** A generated GEMM computes op(A)·op(B) and its epilogue only; its operands must lie in memory. */
  private checkGenerated(gen: GeneratedGemm, operands: ReadonlyArray<{ ptr: number; stride: number }>, alpha: number, beta: number, batch: number): void {
    if (alpha !== 1 || beta !== 0) throw new BackendError(`ThreadPool.sgemm: a generated GEMM needs alpha = 1 and beta = 0, got alpha ${alpha}, beta ${beta}`);
    const want = epilogueVectorCount(gen.epilogue);
    if (operands.length !== want || want > MAX_EPILOGUE_OPERANDS) {
      throw new BackendError(`ThreadPool.sgemm: the generated GEMM's epilogue takes ${want} vector operands, got ${operands.length}`);
    }
    const bytes = this.kernels.memory.buffer.byteLength;
    for (const o of operands) {
      const last = o.ptr + (batch - 1) * o.stride;
      if (!Number.isInteger(o.ptr) || o.ptr <= 0 || o.ptr % 4 !== 0 || o.stride < 0 || last >= bytes) {
        throw new BackendError(`ThreadPool.sgemm: epilogue operand at ${o.ptr} (stride ${o.stride}) is not a valid pointer into the ${bytes}-byte memory`);
      }
    }
  }

  private ensureScratch(rows: number, n: number, k: number, gen?: GeneratedGemm): void {
    const need = gen ? this.kernels.sgemmScratchBytes(rows, n, k) + gen.scratchBytes(0, n, k) : this.kernels.sgemmScratchBytes(rows, n, k);
    if (need > this.scratchBytes) {
      if (this.scratch !== 0) this.kernels.free(this.scratch, this.scratchBytes);
      this.scratch = 0;
      this.scratchBytes = 0;
      this.scratch = this.kernels.alloc(need);
      this.scratchBytes = need;
    }
  }

  private ownGemmRows(
    one: SgemmShared,
    args: BatchedSgemmArgs, sA: number, sB: number, sC: number, r0: number, r1: number,
  ): void {
    const { m, n, k, gen } = one;
    this.ensureScratch(Math.min(m, r1 - r0), n, k, gen);
    let r = r0;
    while (r < r1) {
      const bi = Math.floor(r / m);
      const m0 = r - bi * m;
      const m1 = Math.min(m, m0 + (r1 - r));
      if (gen) {
        const eps = one.operands.map((o) => o.ptr + bi * o.stride);
        gen.gemmRows(one.transA ? 1 : 0, one.transB ? 1 : 0, m, n, k, args.a + bi * sA, one.lda, args.b + bi * sB, one.ldb, args.c + bi * sC, one.ldc, m0, m1, this.scratch, ...eps);
      } else {
        this.kernels.sgemmRows(sgemmRowsItem(one, args.a + bi * sA, args.b + bi * sB, args.c + bi * sC, m0, m1, this.scratch || 0));
      }
      r += m1 - m0;
    }
  }

  // -------------------------------------------------------------- conv --

  /**
   * A convolution or one of its gradients, its units split across the pool in
   * work-stealing chunks when it is large (see the header).
   */
  conv(job: ConvJob): void {
    const { params, mode, a, b, out } = job;
    const shapes = this.kernels.checkConvOperands(params, mode, a, b, out);
    if (job.epilogue && mode !== "forward") throw new BackendError(`ThreadPool.conv: only the forward conv takes an epilogue, got one for the ${mode} gradient`);
    const units = convUnits(params, mode);
    const work = shapes.ySize * params.kh * params.kw * (params.cin / (params.groups ?? 1));
    const large = work >= this.minConvWork && units >= 2;
    // The filter gradient's partition is fixed by its size alone (see the header).
    const partitioned = mode === "filter" && large;
    const T = !large || this.threads <= 1 ? 1 : Math.min(this.start(), units);
    const chunk = partitioned
      ? Math.ceil(units / Math.min(units, FILTER_GRADIENT_PARTS))
      : T <= 1 ? units : Math.max(1, Math.ceil(units / (T * this.convChunksPerThread)));
    const nChunks = units === 0 ? 0 : Math.ceil(units / chunk);
    if (this.convBlock === 0) this.convBlock = this.kernels.alloc((CONV_PARAMS_LEN + CONV_EPILOGUE_WORDS) * 4);
    const parts = partitioned ? this.kernels.alloc(nChunks * shapes.wSize * 4) : 0;
    try {
      const block = this.convBlock;
      const epilogue = job.epilogue ? block + CONV_PARAMS_LEN * 4 : 0;
      const i32 = this.ctl(); // after alloc(), which may grow the memory
      i32.set(convParamsBlock(params).block, block >> 2);
      if (job.epilogue) i32.set(job.epilogue, (block >> 2) + CONV_PARAMS_LEN);
      // An empty range checks the parameter and epilogue blocks on this thread (the workers trust them).
      this.kernels.conv2dRangeAt(block, mode, a, b, out, 0, 0, epilogue);
      const dst = (c: number): number => (partitioned ? parts + c * shapes.wSize * 4 : out);
      if (nChunks <= 1 && !partitioned) {
        this.kernels.conv2dRangeAt(block, mode, a, b, out, 0, units, epilogue);
        return;
      }
      const ws = T > 1 ? this.pick(Math.min(T, nChunks) - 1) : [];
      const words = [block, epilogue, mode === "forward" ? 0 : mode === "data" ? 1 : 2, a, b, out, units, chunk, parts, shapes.wSize];
      for (const w of ws) i32.set(words, this.slotBase(w) + CTL.ARGS);
      const next = (this.ctlPtr >> 2) + CTL.NEXT;
      const own = (): void => {
        for (let c = ws.length === 0 ? 0 : Atomics.add(this.ctl(), next, 1); c < nChunks; c = ws.length === 0 ? c + 1 : Atomics.add(this.ctl(), next, 1)) {
          this.kernels.conv2dRangeAt(block, mode, a, b, dst(c), c * chunk, Math.min(units, (c + 1) * chunk), epilogue);
        }
      };
      if (ws.length === 0) own();
      else this.dispatch(ws, JOB.CONV, own, work);
      if (partitioned) this.kernels.convSumParts(parts, nChunks, shapes.wSize, out);
    } finally {
      if (parts !== 0) this.kernels.free(parts, nChunks * shapes.wSize * 4);
    }
  }

  // ------------------------------------------------------------ kernels --

  /** Registers kernel module bytes in the shared memory (once per module). */
  private register(bytes: Uint8Array): { id: number; ptr: number; len: number } {
    let r = this.registered.get(bytes);
    if (!r) {
      const ptr = this.kernels.alloc(bytes.length);
      new Uint8Array(this.kernels.memory.buffer, ptr, bytes.length).set(bytes);
      r = { id: this.registered.size + 1, ptr, len: bytes.length };
      this.registered.set(bytes, r);
    }
    return r;
  }

  /**
   * Runs chunks of a split kernel: chunk 0 on this thread, the others on
   * workers. Each chunk is (kernel, pointers, and its own scratch region when the kernel needs one).
   */
  runChunks(chunks: ReadonlyArray<{ kernel: CompiledKernel; ins: number[]; outs: number[]; scratch?: number }>, elements: number): void {
    const ws = this.pick(chunks.length - 1);
    if (ws.length < chunks.length - 1) {
      for (const c of chunks) c.kernel.run(c.ins, c.outs, c.scratch);
      return;
    }
    const regs = chunks.slice(1).map((c) => this.register(c.kernel.bytes));
    const i32 = this.ctl(); // after register(), which may grow the memory
    ws.forEach((w, j) => {
      const c = chunks[j + 1]!;
      const r = regs[j]!;
      const ptrs = c.scratch ? [...c.ins, ...c.outs, c.scratch] : [...c.ins, ...c.outs];
      i32.set([r.id, r.ptr, r.len, ptrs.length, ...ptrs], this.slotBase(w) + CTL.ARGS);
    });
    this.dispatch(ws, JOB.KERNEL, () => chunks[0]!.kernel.run(chunks[0]!.ins, chunks[0]!.outs, chunks[0]!.scratch), elements * 20);
  }

  /** Stops the workers and frees the control block. The pool then runs single-threaded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.started && this.ctlPtr !== 0) {
      const i32 = this.ctl();
      this.workers.forEach((w, i) => {
        if (w.state !== "ready") return;
        const b = this.slotBase(i);
        i32[b + CTL.KIND] = JOB.EXIT;
        Atomics.store(i32, b + CTL.SEQ, ++this.seq[i]!);
        Atomics.notify(i32, b + CTL.SEQ);
      });
    }
    void this.watchdog?.terminate();
    this.watchdog = null;
    for (const w of this.workers) w.terminate();
    this.workers = [];
    // The control block, the conv job block and registered module bytes are
    // not freed: a worker being terminated may still read them.
    if (this.scratch !== 0) this.kernels.free(this.scratch, this.scratchBytes);
    this.scratch = 0;
    this.scratchBytes = 0;
  }
}

// ------------------------------------------------------- default pools --

const pools = new WeakMap<WebAssembly.Memory, ThreadPool>();
const poolKernelBytes = new WeakMap<WebAssembly.Memory, Uint8Array>();
let configuredThreads: number | undefined;

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
    p = new ThreadPool(kernels, { ...(configuredThreads === undefined ? {} : { threads: configuredThreads }), ...(kernelBytes ? { kernelBytes } : {}) });
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
  if (kernels) {
    pools.get(kernels.memory)?.close();
    pools.delete(kernels.memory);
  }
}
