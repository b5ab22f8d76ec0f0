// The wasm backend's worker pool: N-1 workers on the backend's shared
// WebAssembly.Memory plus the calling thread; their lifecycle, the control
// block they share, posting a job and waiting for it, and noticing workers
// that die. What a job computes lives with its family: gemm_job.ts (rows of
// sgemms), conv_job.ts (units of a convolution), parallel_kernel.ts
// (generated kernels and window copies); threads.ts puts them together as
// ThreadPool.
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
// chunk counter) and one 256-byte slot per worker. To run a job the
// calling thread writes the job into the slots of the workers it uses, resets
// the chunk counter, sets `pending`, bumps each slot's sequence word and
// notifies it, and computes its own share. Each worker claims its part with a
// compareExchange on its slot's claim word; the calling thread, done with its
// share, cancels the parts not claimed yet and does them itself (dispatch),
// then waits until `pending` is 0 -- for workers that are running, never for
// one that a loaded machine has not woken yet.
// In Node the calling thread blocks in Atomics.wait (allowed on
// Node's main thread). A browser's main thread may not block, so there it
// spins on Atomics.load for the rest of the job (at most the last chunks of
// the other threads); in a browser worker it blocks like in Node.
// Node starts workers synchronously: the first split job waits (up to
// `startTimeoutMs`) for them to become ready. Browser workers start
// asynchronously; until they are ready, jobs run on the calling thread.
//
// A job must not be posted while another runs: the pool is driven by one
// thread (the one that owns the backend).
//
// Short jobs. A job large enough to split but under SHORT_JOB_FACTOR times
// its family's split threshold (W5's conv: 0.4 ms on one thread) splits only
// while splitting has been faster lately: a SplitChoice per kind of job
// (split_choice.ts) weighs the wall times of both ways and probes the other
// now and then. Larger jobs always split.

import { BackendError } from "../../core/errors";
import { WASM_ERROR_CODES, WasmKernelError } from "./kernel_args";
import { KERNELS_URL, readKernelBytes } from "./kernel_binary";
import { kernelCacheCapacity } from "../../core/kernel_cache_capacity";
import type { WasmKernels } from "./kernels";
import { browserWatchdogSource, nodeWatchdogSource, type WatchdogInit } from "./watchdog";
import { MAX_THREADS, defaultAdaptiveSplit, defaultThreadCount, isBrowserThreadable, nodeWorkerCtor, nodeWorkerThreads, type BrowserGlobals, type NodeWorkerCtor } from "./worker_hosts";
import { CONV_ARGS, CTL, GEMM_ARGS, JOB, WORKER_ERRORS, workerSource, type WorkerInit } from "./worker";
import { SplitChoice } from "./split_choice";

/**
 * Browsers: an idle worker blocks this long before it waits from its event loop instead (worker.ts),
 * which is when a terminated one can end: it bounds how long a worker ended while idle goes unnoticed.
 * Workers that get a job at least this often stay in Atomics.wait (the fastest wake-up).
 */
const BROWSER_IDLE_YIELD_MS = 100;
/**
 * Browsers without Web Locks (no watchdog): an idle worker whose heartbeat (CTL.ALIVE, bumped every
 * BROWSER_IDLE_YIELD_MS) has not moved for this long is taken for gone and replaced.
 */
const HEARTBEAT_LOST_MS = 500;
/** Dead workers a pool replaces before it gives up on the slot. */
const MAX_REPLACEMENTS = 16;
const STACK_BYTES = 1 << 20;
/**
 * A job whose work is below this many times its family's split threshold is short: it splits only
 * while that has been faster lately (see "Short jobs" above). 16: W5's conv (3.4x the conv
 * threshold) and a 256³ GEMM (8x) are short; W1's 512³ and 1024³ GEMMs (64x, 512x) and W2's 1e6-element
 * kernel (23x) always split.
 */
export const SHORT_JOB_FACTOR = 16;

/**
 * shortJobChoice's signatures of the job kinds whose choices the pool keeps (their costs per unit
 * of work differ). A generated kernel or window copy keeps its own choice instead.
 */
export const SHORT_JOB_SIGNATURE = { convForward: 0, convData: 1, convFilter: 2, sgemm: 3, generatedGemm: 4 } as const;

/** What every pool is configured with; each job family adds its own knobs (threads.ts). */
export interface PoolOptions {
  /** Total threads including the calling one (default: defaultThreadCount(), worker_hosts.ts). 1 = no workers. */
  threads?: number;
  /** Bytes of wasm/tinyflow_kernels.wasm (default: read from disk in Node; fetched by the workers in browsers). */
  kernelBytes?: Uint8Array;
  /** Node: how long the first split job waits for workers to start (default 5000 ms). */
  startTimeoutMs?: number;
  /**
   * A job whose workers have not finished after this long plus a size-based
   * allowance fails with an error and the pool turns single-threaded (default 30000 ms).
   */
  stallTimeoutMs?: number;
  /**
   * Whether short jobs choose between splitting and running on the calling thread from their recent
   * wall times (default true unless TINYFLOW_ADAPTIVE_SPLIT=0; false: every job large enough to split
   * splits, as benchmarks of the split itself want). See "Short jobs" above.
   */
  adaptiveSplit?: boolean;
}

type WorkerState = "starting" | "ready" | "failed" | "dead";

interface Handle {
  state: WorkerState;
  terminate(): void;
}

/**
 * A pool of workers on one shared memory: the threads, the control block and
 * posting jobs. The job families (threads.ts's ThreadPool) write their jobs
 * into the slots of `pick()`ed workers and post them with `dispatch()`.
 */
export class WorkerPool {
  /** Threads including the calling one. */
  readonly threads: number;
  readonly kernels: WasmKernels;
  private readonly startTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly kernelBytes: Uint8Array | undefined;
  /** Whether short jobs choose their way (PoolOptions.adaptiveSplit). */
  readonly adaptiveSplit: boolean;
  /** The choices of short jobs keyed by shortJobChoice's signature and size class. */
  private readonly choices = new Map<number, SplitChoice>();
  private workers: Handle[] = [];
  /** The thread that notices workers ending while the main thread is blocked (watchdog.ts). */
  private watchdog: { postMessage(m: unknown, transfer?: unknown[]): void; terminate(): unknown } | null = null;
  private started = false;
  private broken = false;
  private closed = false;
  private ctlPtr = 0;
  private ctlBytes = 0;
  private seq: number[] = [];
  private canBlock: boolean | undefined;
  /** Registered module bytes, least recently used first (register()). */
  private readonly registered = new Map<Uint8Array, { id: number; ptr: number; len: number }>();
  private lastRegistrationId = 0;
  /** Jobs run with workers (for tests and benchmarks). */
  splitJobs = 0;
  /** Workers' parts this thread took over because they had not claimed them when it finished its own share (for tests and benchmarks). */
  takenOverParts = 0;
  /** crashWorkerForTesting's slot: the next job waits for it to claim its part instead of taking the part over. */
  private awaitClaimOf = -1;
  /** Set by the crash and stall test hooks: the next job splits whatever its choice (the hooks act on a split job). */
  private nextJobSplitsForTesting = false;
  /** Workers started in place of dead ones (for tests). */
  replacedWorkers = 0;
  /** Browsers without a watchdog: each slot's last heartbeat seen and when it was first seen (checkHeartbeats). */
  private heartbeats: Array<{ value: number; since: number } | undefined> = [];
  private watchHeartbeats = false;

  constructor(kernels: WasmKernels, opts: PoolOptions = {}) {
    this.kernels = kernels;
    const want = opts.threads ?? defaultThreadCount();
    if (!Number.isInteger(want) || want < 1) throw new BackendError(`ThreadPool: threads must be a positive integer, got ${String(want)}`);
    const threadable = kernels.shared && (nodeWorkerCtor() !== undefined || isBrowserThreadable());
    this.threads = threadable ? Math.min(want, MAX_THREADS) : 1;
    this.kernelBytes = opts.kernelBytes;
    this.startTimeoutMs = opts.startTimeoutMs ?? 5000;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
    this.adaptiveSplit = opts.adaptiveSplit ?? defaultAdaptiveSplit();
  }

  /** Whether a job of `work`, at least its family's split threshold `minWork`, is short (chooses its way). */
  isShortJob(work: number, minWork: number): boolean {
    return this.adaptiveSplit && work < minWork * SHORT_JOB_FACTOR;
  }

  /**
   * The choice for a short job of `signature` (a small non-negative integer naming its family and
   * variant, e.g. a conv's mode) and `work`, one per octave of work; undefined when the job is not
   * short (it splits).
   */
  shortJobChoice(signature: number, work: number, minWork: number): SplitChoice | undefined {
    if (!this.isShortJob(work, minWork)) return undefined;
    const key = signature * 64 + Math.max(0, Math.min(63, Math.floor(Math.log2(Math.max(1, work)))));
    let c = this.choices.get(key);
    if (!c) this.choices.set(key, (c = new SplitChoice()));
    return c;
  }

  /**
   * Runs `job` split (true) or on this thread alone (false) as `choice` says -- split when there is
   * no choice -- and tells the choice its wall time per unit of `work`. A job that throws is not
   * recorded.
   */
  runChosen(choice: SplitChoice | undefined, work: number, job: (split: boolean) => void): void {
    const forced = this.nextJobSplitsForTesting;
    this.nextJobSplitsForTesting = false;
    if (!choice || forced) {
      job(true);
      return;
    }
    const way = choice.next();
    const t0 = performance.now();
    job(way === "split");
    choice.record(way, (performance.now() - t0) / Math.max(1, work));
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

  /** A view of the whole memory (the control block's words at ctlPtr / 4); make a new one after anything that may grow the memory. */
  ctl(): Int32Array {
    return new Int32Array(this.kernels.memory.buffer);
  }

  /** Word index of worker `w`'s slot. */
  slotBase(w: number): number {
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
    if (this.watchHeartbeats) this.checkHeartbeats();
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
    const base = { memory: this.kernels.memory, ctlPtr: this.ctlPtr, stackBytes: STACK_BYTES, moduleCapacity: Math.max(kernelCacheCapacity(), MAX_THREADS), ctl: CTL, gemmArgs: GEMM_ARGS, convArgs: CONV_ARGS, job: JOB, errors: WORKER_ERRORS };
    const watch: WatchdogInit = { memory: this.kernels.memory, ctlPtr: this.ctlPtr, ctl: CTL, died: WORKER_ERRORS.DIED };
    if (NodeWorker) {
      const rustBytes = this.kernelBytes ?? readKernelBytes();
      const watchdog = new NodeWorker(nodeWatchdogSource(), { eval: true, workerData: watch });
      watchdog.unref();
      this.watchdog = watchdog;
      this.spawnWorker = (slot) => this.startNodeWorker(NodeWorker, { ...base, rustBytes, slot });
    } else {
      // Browser: one Blob URL for all workers; each gets its WorkerInit by message.
      const g = globalThis as unknown as BrowserGlobals;
      const blobUrl = (src: string): string => g.URL.createObjectURL(new g.Blob([src], { type: "text/javascript" }));
      if (g.navigator?.locks) {
        const watchdog = new g.Worker(blobUrl(browserWatchdogSource()));
        watchdog.postMessage(watch);
        this.watchdog = watchdog;
      } else {
        this.watchHeartbeats = true;
      }
      const url = blobUrl(workerSource("browser"));
      const init = { ...base, rustBytes: this.kernelBytes, rustUrl: KERNELS_URL.href, idleYieldMs: BROWSER_IDLE_YIELD_MS };
      this.spawnWorker = (slot) => this.startBrowserWorker(g, url, { ...init, slot });
    }
    for (let slot = 0; slot < nWorkers; slot++) this.workers.push(this.spawnWorker(slot));
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
  // if it had claimed a part of a job (BUSY = 2), reports DIED and settles the job's pending count,
  // so the main thread, blocked in Atomics.wait, is woken at once and throws.
  // A worker that ends without running its handler (terminate() from
  // elsewhere, out of memory; in browsers, every end) is noticed by the
  // watchdog thread (watchdog.ts: a MessageChannel port in Node, a Web Lock in
  // browsers), whose event loop is never blocked; it does what the exit
  // handler would have (measured in Node: the main thread wakes ~15 ms after
  // terminate()). In Node the main thread's `exit` event is the last resort.
  // Browsers without Web Locks have no watchdog: there an idle worker's
  // heartbeat (CTL.ALIVE) stopping tells the pool (checkHeartbeats). BUSY is cleared by compareExchange, so a job is settled once.
  // A worker that dies before claiming its part costs nothing: the calling
  // thread takes the part over (dispatch), and the next job finds the slot dead.
  // A dead slot gets a new worker (up to MAX_REPLACEMENTS per
  // pool, so a worker that keeps dying cannot loop); the replacement boots in
  // the background and takes jobs once ready.

  /** Starts the worker of a slot (installed by spawn: a Node or a browser worker). */
  private spawnWorker: ((slot: number) => Handle) | null = null;
  /** Browsers: workers started so far, to name each one's Web Lock. */
  private browserWorkersStarted = 0;
  private readonly lockPrefix = `tinyflow-pool-${Math.random().toString(36).slice(2)}`;

  private startBrowserWorker(g: BrowserGlobals, url: string, init: Omit<WorkerInit, "rustBytes"> & { rustBytes?: Uint8Array; rustUrl: string }): Handle {
    const lock = this.watchdog ? `${this.lockPrefix}-${init.slot}-${++this.browserWorkersStarted}` : undefined;
    const w = new g.Worker(url);
    const handle: Handle = { state: "starting", terminate: () => w.terminate() };
    // An error before the worker is ready means it cannot start; after that, its end is the watchdog's to notice.
    w.onerror = () => {
      if (this.workers[init.slot] === handle && !this.closed && Atomics.load(this.ctl(), this.slotBase(init.slot) + CTL.READY) === 0) this.markFailed(init.slot);
    };
    if (lock) this.watchdog!.postMessage({ slot: init.slot, lock });
    w.postMessage({ ...init, ...(lock ? { lock } : {}) });
    return handle;
  }

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

  /**
   * Browsers without Web Locks: a ready worker whose heartbeat has not moved for HEARTBEAT_LOST_MS
   * is gone (an idle one bumps it every slice) and its slot is marked dead. Called between jobs
   * only (poll), when no part is claimed, so a worker busy in a long part is never taken for gone;
   * one that ends mid-part is noticed at the stall limit.
   */
  private checkHeartbeats(): void {
    const i32 = this.ctl();
    const now = performance.now();
    this.workers.forEach((w, slot) => {
      if (w.state !== "ready") {
        this.heartbeats[slot] = undefined;
        return;
      }
      const value = Atomics.load(i32, this.slotBase(slot) + CTL.ALIVE);
      const seen = this.heartbeats[slot];
      if (seen === undefined || seen.value !== value) this.heartbeats[slot] = { value, since: now };
      else if (now - seen.since > HEARTBEAT_LOST_MS && Atomics.load(i32, this.slotBase(slot) + CTL.BUSY) !== 2) {
        this.heartbeats[slot] = undefined;
        this.markDead(slot);
      }
    });
  }

  /** A started worker is gone: its slot is dead until replaced. */
  private markDead(slot: number): void {
    const w = this.workers[slot];
    if (w) w.state = "dead";
    if (this.ctlPtr !== 0) Atomics.store(this.ctl(), this.slotBase(slot) + CTL.READY, -2);
  }

  /** Replaces the workers whose slots say they died (READY = -2), within the replacement budget. */
  private replaceDeadWorkers(): void {
    if (!this.started || this.closed || this.ctlPtr === 0 || !this.spawnWorker) return;
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
        this.workers[slot] = this.spawnWorker(slot);
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
    // The crash happens once the worker has claimed a part: the next job must not take its part over.
    this.awaitClaimOf = slot;
    this.nextJobSplitsForTesting = true;
  }

  /**
   * Test hook: the worker in `slot`, when it wakes for its next job, sleeps before claiming its
   * part, as a worker that a loaded machine has not scheduled yet would, until
   * releaseStalledWorkerForTesting(). Jobs meanwhile take its parts over.
   */
  stallWorkerForTesting(slot: number): void {
    if (this.ctlPtr === 0 || slot < 0 || slot >= this.workers.length) throw new BackendError(`ThreadPool.stallWorkerForTesting: no worker in slot ${slot}`);
    Atomics.store(this.ctl(), (this.ctlPtr >> 2) + CTL.STALL, slot + 1);
    this.nextJobSplitsForTesting = true;
  }

  /** Test hook: wakes the stalled worker; resolves once it has claimed or skipped the job it woke for. */
  async releaseStalledWorkerForTesting(timeoutMs = 30_000): Promise<void> {
    const at = (this.ctlPtr >> 2) + CTL.STALL;
    const slot = Atomics.load(this.ctl(), at);
    if (slot <= 0) throw new BackendError("ThreadPool.releaseStalledWorkerForTesting: no worker is stalled (call stallWorkerForTesting first)");
    Atomics.store(this.ctl(), at, -slot);
    Atomics.notify(this.ctl(), at);
    const end = performance.now() + timeoutMs;
    while (Atomics.load(this.ctl(), at) !== 0) {
      if (performance.now() > end) throw new BackendError(`ThreadPool.releaseStalledWorkerForTesting: worker ${slot} did not resume within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
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
  pick(max: number): number[] {
    this.poll();
    const out: number[] = [];
    for (let i = 0; i < this.workers.length && out.length < max; i++) if (this.workers[i]!.state === "ready") out.push(i);
    return out;
  }

  /**
   * Posts a job (already written into the slots of `ws`), runs `own` (this
   * thread's share), then takes over the parts of the workers that have not
   * claimed theirs yet -- cancelling each with one compareExchange on its
   * claim word, so a part runs on exactly one thread -- and waits only for
   * the workers that did claim theirs. `takeOver(j)` does the part of
   * `ws[j]` on this thread; jobs whose chunks are claimed from the shared
   * counter (gemm, conv) pass none: when `own` returns, every chunk is
   * claimed, and a worker that has not started has none left. So a job never
   * waits for a worker a loaded machine has not scheduled.
   */
  dispatch(ws: number[], kind: number, own: () => void, workEstimate: number, takeOver?: (j: number) => void): void {
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
    ws.forEach((w, j) => {
      const claim = this.slotBase(w) + CTL.BUSY;
      if (w === this.awaitClaimOf) {
        this.awaitClaimOf = -1;
        this.waitWhile(i32, claim, 1, workEstimate, 1); // nobody notifies a claim: short slices
      }
      if (Atomics.compareExchange(i32, claim, 1, 0) !== 1) return;
      Atomics.sub(i32, hdr + CTL.PENDING, 1);
      this.takenOverParts++;
      if (ownError !== undefined || !takeOver) return;
      try {
        takeOver(j);
      } catch (e) {
        ownError = e;
      }
    });
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
    this.waitWhile(i32, hdr + CTL.PENDING, undefined, workEstimate, 1000);
  }

  /**
   * Waits while word `at` is `value` (undefined: while it is not 0), up to the stall limit, after
   * which the pool turns single-threaded and this throws.
   */
  private waitWhile(i32: Int32Array, at: number, value: number | undefined, workEstimate: number, sliceMs: number): void {
    const waiting = (v: number): boolean => (value === undefined ? v !== 0 : v === value);
    let spins = 0;
    while (waiting(Atomics.load(i32, at)) && spins++ < 4000);
    if (!waiting(Atomics.load(i32, at))) return;
    // A generous stall limit: stallTimeoutMs plus the job at 0.1 G-units per second.
    const deadline = performance.now() + this.stallTimeoutMs + workEstimate / 1e5;
    const block = this.blockingAllowed();
    for (;;) {
      const v = Atomics.load(i32, at);
      if (!waiting(v)) return;
      if (performance.now() > deadline) {
        this.broken = true;
        throw new BackendError("thread pool: workers stopped responding; the pool is now single-threaded");
      }
      if (block) Atomics.wait(i32, at, v, sliceMs);
    }
  }

  /** Word index of the header's chunk counter (NEXT), which dispatch() resets before posting a job. */
  get nextChunkWord(): number {
    return (this.ctlPtr >> 2) + CTL.NEXT;
  }

  /**
   * Registers generated module bytes (kernels, GEMMs) in the shared memory, once per module, for
   * the workers to compile. Registrations are kept in order of last use and bounded like the code
   * generators' caches: past the bound the least recently used one's bytes are freed. Its id is
   * never given out again (ids only grow), so a worker's compiled copy under that id can never
   * stand for other code; a module registered again gets a new id, and the workers compile it anew.
   * Callers register right before posting the job that reads the bytes.
   */
  register(bytes: Uint8Array): { id: number; ptr: number; len: number } {
    let r = this.registered.get(bytes);
    if (r) {
      this.registered.delete(bytes);
      this.registered.set(bytes, r);
      return r;
    }
    const ptr = this.kernels.alloc(bytes.length);
    new Uint8Array(this.kernels.memory.buffer, ptr, bytes.length).set(bytes);
    r = { id: ++this.lastRegistrationId, ptr, len: bytes.length };
    this.registered.set(bytes, r);
    // At least MAX_THREADS kept: one job registers up to one module per worker, all still needed.
    const bound = Math.max(kernelCacheCapacity(), MAX_THREADS);
    for (const [old, o] of this.registered) {
      if (this.registered.size <= bound) break;
      this.registered.delete(old);
      this.kernels.free(o.ptr, o.len);
    }
    return r;
  }

  /** Module registrations held (tests). */
  get registrations(): number {
    return this.registered.size;
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
    // The control block and registered module bytes are not freed: a worker
    // being terminated may still read them.
  }
}
