// The worker side of the wasm backend's thread pool (pool.ts), and the
// layout of the control block both sides share.
//
// A worker instantiates the Rust kernels on the backend's shared
// WebAssembly.Memory (with its own shadow stack), then serves jobs until the
// pool closes: it blocks with Atomics.wait (browsers: in slices, between which
// its event loop runs; see the idle loop) on the sequence word of its slot in a control
// block that lives in that memory, claims the job described in the slot (the
// main thread may have taken it over already: then it skips it), runs it,
// and decrements the block's pending counter (waking the main thread when it
// reaches zero). Jobs never travel by postMessage, so a job costs one futex
// wake-up each way and nothing is serialized.
//
// Jobs:
//   gemm   - chunks of the rows of a batch of sgemms, the rows of every batch
//            item stacked (row r is row r % m of item r / m): the worker claims
//            chunk after chunk (`chunk` rows each, the last one shorter) from
//            the header's NEXT counter with Atomics.add, shared with the main
//            thread and the other workers, until none are left (work stealing:
//            a thread that is descheduled simply takes fewer chunks). Each
//            chunk runs through sgemm_rows with a scratch buffer this worker
//            allocates once and grows as needed;
//   kernel - one run of a kernel generated at run time: its module bytes sit in
//            the shared memory (registered once per kernel; the worker compiles
//            and caches them by id) and the slot holds its pointer arguments;
//   conv   - chunks of a convolution's units (output lines for the forward,
//            images for the gradients; wasm/src/conv.rs run_range), claimed
//            from NEXT like gemm chunks. The parameter and epilogue blocks sit
//            in the shared memory, written once by the pool for all threads;
//            a filter gradient's chunk c writes its partial sum to part c.
//
// `workerMain` must stay self-contained (no imports, no module-level
// references): pool.ts ships it to the worker as source text
// (`workerSource`), which works for Node's worker_threads (eval) and for Web
// Workers (a Blob URL) alike, without a bundler or a TypeScript loader in the
// worker. The chunk walks both sides of a job share (`claimChunks`,
// `forEachItemRows`) travel beside it as source text and reach it as its
// second argument.

/** Layout of the control block, in int32 words. */
export const CTL = {
  /** Header words before the first slot. */
  HEADER: 16,
  /** Header: number of dispatched jobs not finished yet. */
  PENDING: 0,
  /** Header: first error code reported by a worker since it was cleared (0 = none). */
  ERROR: 1,
  /** Header: next unclaimed chunk of the running gemm job (Atomics.add by every thread). */
  NEXT: 2,
  /** Header, a test hook: slot + 1 of a worker that exits (as if it crashed) when its next job starts,
   * -(slot + 1) for one that exits without running its exit handler; 0 = none. */
  CRASH: 3,
  /** Header, a test hook: slot + 1 of a worker that, when it wakes for its next job, sleeps before
   * claiming it (as a worker not yet scheduled on a loaded machine would) until the word is set to
   * -(slot + 1); the worker sets it to 0 once it has claimed or skipped that job. */
  STALL: 4,
  /** Words per worker slot (256 bytes: slots do not share cache lines). */
  SLOT: 64,
  /** Slot: job sequence number, bumped by the main thread to post a job. */
  SEQ: 0,
  /** Slot: 0 starting, 1 ready, -1 failed to start, -2 died after starting (exited or crashed). */
  READY: 1,
  /** Slot: result of the last job (0 ok, < 0 error); the exit code once the worker died. */
  STATUS: 2,
  /** Slot: job kind (see JOB). */
  KIND: 3,
  /** Slot: first argument word. */
  ARGS: 4,
  /** Slot: a browser worker's heartbeat, bumped at every job it wakes for and every idle slice
   * (see the idle loop in workerMain); where no watchdog can see a worker end (no Web Locks), the
   * pool takes a slot whose heartbeat stopped for a worker that is gone (pool.ts). */
  ALIVE: 62,
  /** Slot: the job's claim word. 1 (posted) from when the main thread posts a job until the worker
   * claims it (compareExchange 1 -> 2) or the main thread, done with its own share, cancels it
   * (1 -> 0) and does the part itself; 2 (claimed) until the job is settled (2 -> 0) -- by the
   * worker, by its exit handler, or by the pool's watchdog thread when the worker vanished
   * without one. Each transition is a compareExchange, so a part runs once and is settled once. */
  BUSY: 63,
} as const;

export const JOB = { GEMM: 1, KERNEL: 2, EXIT: 3, CONV: 4 } as const;

/** Error codes a worker reports besides the Rust kernels' own (negative). */
export const WORKER_ERRORS = { EXCEPTION: -100, BAD_JOB: -101, DIED: -102 } as const;

/** Most pointer arguments a kernel job can carry in one slot. */
export const MAX_KERNEL_PTRS = CTL.SLOT - CTL.ARGS - 4 - 2;

/** What a worker is started with. */
export interface WorkerInit {
  memory: WebAssembly.Memory;
  /** The Rust kernels module (tinyflow_kernels.wasm) as bytes. */
  rustBytes: Uint8Array;
  /** Byte address of the control block. */
  ctlPtr: number;
  /** This worker's slot. */
  slot: number;
  /** Shadow stack bytes. */
  stackBytes: number;
  /** Compiled modules (kernels, GEMMs) this worker keeps, least recently used out: the pool's bound on registrations. */
  moduleCapacity: number;
  /** Node: one end of a MessageChannel whose other end the pool's watchdog holds; it closes when
   * this thread ends however it ends, which tells the watchdog (watchdog.ts). */
  alivePort?: unknown;
  /** Browsers: the Web Lock this worker holds for its whole life, from before it says it is
   * ready; the watchdog is granted it when the worker ends (watchdog.ts). */
  lock?: string;
  /** Browsers: how long an idle worker blocks in Atomics.wait before it returns to its event loop
   * to wait there (see the idle loop in workerMain); 0 or absent (Node): it blocks until the next job. */
  idleYieldMs?: number;
  ctl: typeof CTL;
  gemmArgs: typeof GEMM_ARGS;
  convArgs: typeof CONV_ARGS;
  job: typeof JOB;
  errors: typeof WORKER_ERRORS;
}

/**
 * Gemm job argument words (after CTL.ARGS). A job for a GEMM generated at
 * run time (codegen/gemm.ts) also carries the module (registered in the
 * shared memory like a kernel's), the scratch bytes it needs beyond the Rust
 * sgemm's, and its epilogue operands as (pointer, byte stride per batch item).
 */
export const GEMM_ARGS = {
  /** Words of a plain (Rust sgemm) job. */
  PLAIN: 18,
  GEN_ID: 18,
  GEN_PTR: 19,
  GEN_LEN: 20,
  GEN_EXTRA_SCRATCH: 21,
  GEN_OPERANDS: 22,
  /** First (pointer, stride) pair. */
  GEN_OPERAND0: 23,
} as const;

/**
 * Conv job argument words (after CTL.ARGS): byte pointers of the parameter
 * block and of the epilogue block (0 = none), the mode code (0 forward, 1 data
 * gradient, 2 filter gradient), operand pointers, the unit count and chunk
 * size, and for the filter gradient the partial-sum buffers (part c at
 * PARTS + c·PART_FLOATS·4).
 */
export const CONV_ARGS = { PARAMS: 0, EPILOGUE: 1, MODE: 2, A: 3, B: 4, OUT: 5, UNITS: 6, CHUNK: 7, PARTS: 8, PART_FLOATS: 9, WORDS: 10 } as const;

interface RustExports {
  alloc(bytes: number): number;
  free(ptr: number, bytes: number): void;
  sgemm_rows(...args: number[]): number;
  sgemm_scratch_bytes(rows: number, n: number, k: number): number;
  sgemm_pack_a(...args: number[]): void;
  sgemm_pack_b(...args: number[]): void;
  conv2d_range(params: number, mode: number, a: number, b: number, out: number, u0: number, u1: number, epilogue: number): number;
  __stack_pointer: WebAssembly.Global;
}

/**
 * Claims chunks 0, 1, ... of the running job from the header's chunk counter
 * (word `next` of `i32`, shared by every thread of the job) until all `count`
 * are claimed, running each; stops at the first non-zero status. Each chunk
 * runs once, on whichever thread claims it. Self-contained (see the header).
 */
export function claimChunks(i32: Int32Array, next: number, count: number, run: (chunk: number) => number): number {
  for (;;) {
    const c = Atomics.add(i32, next, 1);
    if (c >= count) return 0;
    const rc = run(c);
    if (rc !== 0) return rc;
  }
}

/**
 * Walks the stacked rows [r0, r1) of a batch of GEMMs (row r is row r % m of
 * item ⌊r / m⌋) as one `rows(item, m0, m1)` call per item they cross; stops
 * at the first non-zero status. Self-contained (see the header).
 */
export function forEachItemRows(r0: number, r1: number, m: number, rows: (item: number, m0: number, m1: number) => number): number {
  let r = r0;
  while (r < r1) {
    const item = Math.floor(r / m);
    const m0 = r - item * m;
    const m1 = Math.min(m, m0 + (r1 - r));
    const rc = rows(item, m0, m1);
    if (rc !== 0) return rc;
    r += m1 - m0;
  }
  return 0;
}

/** The chunk walks workerMain shares with the calling thread. */
export interface SharedWalks {
  claimChunks: typeof claimChunks;
  forEachItemRows: typeof forEachItemRows;
}

/** The worker's whole program; runs until it gets an EXIT job. */
export function workerMain(init: WorkerInit, walks: SharedWalks): void {
  const { memory, ctl: C, job: J, errors: E } = init;
  const words = (): Int32Array => new Int32Array(memory.buffer);
  const base = (init.ctlPtr >> 2) + C.HEADER + init.slot * C.SLOT;
  const hdr = init.ctlPtr >> 2;
  let i32 = words();
  let rust: RustExports;
  let stack = 0;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(init.rustBytes as Uint8Array<ArrayBuffer>), { env: { memory } });
    rust = inst.exports as unknown as RustExports;
    stack = rust.alloc(init.stackBytes) >>> 0;
    if (stack === 0) throw new Error("no memory for a stack");
    rust.__stack_pointer.value = stack + init.stackBytes;
  } catch {
    Atomics.store(i32, base + C.READY, -1);
    Atomics.notify(i32, base + C.READY);
    return;
  }
  const f32 = (word: number): number => new Float32Array(i32.buffer, word * 4, 1)[0]!;
  let scratch = 0;
  let scratchBytes = 0;
  const kernels = new Map<number, (...ptrs: number[]) => void>();
  const env = { memory, sin: Math.sin, cos: Math.cos };
  const gemms = new Map<number, (...args: number[]) => void>();
  // The compiled copies by registration id, least recently used first. Ids are never reused
  // (pool.ts register), so an entry is never wrong, only possibly dead: dropping the oldest past
  // the pool's bound frees what the pool has freed already.
  const lookup = <F>(cache: Map<number, F>, id: number): F | undefined => {
    const f = cache.get(id);
    if (f !== undefined) {
      cache.delete(id);
      cache.set(id, f);
    }
    return f;
  };
  const keep = <F>(cache: Map<number, F>, id: number, f: F): void => {
    cache.set(id, f);
    for (const old of cache.keys()) {
      if (cache.size <= init.moduleCapacity) break;
      cache.delete(old);
    }
  };

  const runGemm = (a: number): number => {
    const ta = i32[a]!, tb = i32[a + 1]!, m = i32[a + 2]!, n = i32[a + 3]!, k = i32[a + 4]!;
    const alpha = f32(a + 5), beta = f32(a + 10);
    const pa = i32[a + 6]! >>> 0, lda = i32[a + 7]!, pb = i32[a + 8]! >>> 0, ldb = i32[a + 9]!;
    const pc = i32[a + 11]! >>> 0, ldc = i32[a + 12]!;
    const rows = i32[a + 13]!, chunk = i32[a + 14]!;
    const sa = i32[a + 15]!, sb = i32[a + 16]!, sc = i32[a + 17]!;
    if (m <= 0 || chunk <= 0) return 0;
    // A generated GEMM (id != 0): compiled once per module, importing this worker's Rust packing.
    const G = init.gemmArgs;
    const genId = i32[a + G.GEN_ID]!;
    let gen: ((...args: number[]) => void) | undefined;
    const operands: number[] = [];
    if (genId !== 0) {
      gen = lookup(gemms, genId);
      if (!gen) {
        const ptr = i32[a + G.GEN_PTR]! >>> 0;
        const len = i32[a + G.GEN_LEN]!;
        if (ptr + len > memory.buffer.byteLength) memory.grow(0);
        const bytes = new Uint8Array(memory.buffer, ptr, len).slice();
        const genEnv = { memory, sgemm_pack_a: rust.sgemm_pack_a, sgemm_pack_b: rust.sgemm_pack_b };
        gen = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: genEnv }).exports.gemm_rows as (...args: number[]) => void;
        keep(gemms, genId, gen);
      }
      const count = i32[a + G.GEN_OPERANDS]!;
      for (let e = 0; e < 2 * count; e++) operands.push(i32[a + G.GEN_OPERAND0 + e]!);
    }
    const extra = genId !== 0 ? i32[a + G.GEN_EXTRA_SCRATCH]! : 0;
    const need = rust.sgemm_scratch_bytes(Math.min(m, chunk), n, k) + extra;
    if (need > scratchBytes) {
      if (scratch !== 0) rust.free(scratch, scratchBytes);
      scratch = rust.alloc(need) >>> 0;
      scratchBytes = scratch === 0 ? 0 : need;
      if (scratch === 0) return -6;
    }
    const itemRows = (bi: number, m0: number, m1: number): number => {
      if (!gen) return rust.sgemm_rows(ta, tb, m, n, k, alpha, pa + bi * sa, lda, pb + bi * sb, ldb, beta, pc + bi * sc, ldc, m0, m1, scratch);
      const eps: number[] = [];
      for (let e = 0; e < operands.length; e += 2) eps.push((operands[e]! >>> 0) + bi * operands[e + 1]!);
      gen(ta, tb, m, n, k, pa + bi * sa, lda, pb + bi * sb, ldb, pc + bi * sc, ldc, m0, m1, scratch, ...eps);
      return 0;
    };
    // i32 covers the control block (it was refreshed when the job arrived),
    // and views of a shared memory stay valid when it grows.
    return walks.claimChunks(i32, hdr + C.NEXT, Math.ceil(rows / chunk), (c) => walks.forEachItemRows(c * chunk, Math.min(rows, (c + 1) * chunk), m, itemRows));
  };

  const runConv = (at: number): number => {
    const A = init.convArgs;
    const params = i32[at + A.PARAMS]! >>> 0, epilogue = i32[at + A.EPILOGUE]! >>> 0, mode = i32[at + A.MODE]!;
    const pa = i32[at + A.A]! >>> 0, pb = i32[at + A.B]! >>> 0, out = i32[at + A.OUT]! >>> 0;
    const units = i32[at + A.UNITS]!, chunk = i32[at + A.CHUNK]!;
    const parts = i32[at + A.PARTS]! >>> 0, partBytes = i32[at + A.PART_FLOATS]! * 4;
    if (chunk <= 0) return 0;
    return walks.claimChunks(i32, hdr + C.NEXT, Math.ceil(units / chunk), (c) =>
      rust.conv2d_range(params, mode, pa, pb, mode === 2 ? parts + c * partBytes : out, c * chunk, Math.min(units, (c + 1) * chunk), epilogue),
    );
  };

  const runKernel = (a: number): number => {
    const id = i32[a]!;
    let fn = lookup(kernels, id);
    if (!fn) {
      const ptr = i32[a + 1]! >>> 0;
      const len = i32[a + 2]!;
      if (ptr + len > memory.buffer.byteLength) memory.grow(0);
      const bytes = new Uint8Array(memory.buffer, ptr, len).slice();
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
      fn = inst.exports.kernel as (...ptrs: number[]) => void;
      keep(kernels, id, fn);
    }
    const n = i32[a + 3]!;
    const ptrs: number[] = new Array(n);
    for (let p = 0; p < n; p++) ptrs[p] = i32[a + 4 + p]! >>> 0;
    fn(...ptrs);
    return 0;
  };

  // A worker that exits (process.exit, an uncaught error, the crash test hook)
  // says so in its slot, and settles the job it was running -- its part is
  // lost, so it reports DIED -- instead of leaving the main thread waiting for
  // it. Node runs exit handlers for those exits; a worker killed from outside
  // (terminate, out of memory) runs none: the watchdog settles its job.
  const host = (globalThis as { process?: { on(ev: string, f: (code: number) => void): void; removeAllListeners(ev: string): void; exit(code: number): void } }).process;
  host?.on("exit", (code: number) => {
    if (Atomics.compareExchange(i32, base + C.BUSY, 2, 0) === 2) {
      Atomics.store(i32, base + C.STATUS, code);
      Atomics.compareExchange(i32, hdr + C.ERROR, 0, E.DIED);
      if (Atomics.sub(i32, hdr + C.PENDING, 1) === 1) Atomics.notify(i32, hdr + C.PENDING);
    }
    Atomics.store(i32, base + C.READY, -2);
    Atomics.notify(i32, base + C.READY);
  });

  // Read the sequence number before announcing readiness: the main thread
  // may post the first job as soon as it sees READY.
  let seq = Atomics.load(i32, base + C.SEQ);
  Atomics.store(i32, base + C.READY, 1);
  Atomics.notify(i32, base + C.READY);
  // The test hooks' crash: Node exits the thread (with or without its exit handler); a browser
  // worker has neither, so it closes its global and unwinds out of workerMain without settling
  // its job, as a worker the browser ends would (the pool's watchdog notices, see pool.ts).
  const crash = (withHandler: boolean): void => {
    if (!host) {
      (globalThis as { close?(): void }).close?.();
      throw new Error("worker crash (test hook)");
    }
    if (!withHandler) host.removeAllListeners("exit");
    host.exit(withHandler ? 70 : 71);
  };
  const runClaimed = (): void => {
    const kind = i32[base + C.KIND];
    if (Atomics.compareExchange(i32, hdr + C.CRASH, init.slot + 1, 0) === init.slot + 1) crash(true);
    if (Atomics.compareExchange(i32, hdr + C.CRASH, -(init.slot + 1), 0) === -(init.slot + 1)) crash(false);
    let status: number;
    try {
      status = kind === J.GEMM ? runGemm(base + C.ARGS) : kind === J.KERNEL ? runKernel(base + C.ARGS) : kind === J.CONV ? runConv(base + C.ARGS) : E.BAD_JOB;
    } catch {
      status = E.EXCEPTION;
    }
    if (i32.buffer.byteLength !== memory.buffer.byteLength) i32 = words();
    if (Atomics.compareExchange(i32, base + C.BUSY, 2, 0) !== 2) return; // settled by the watchdog: the main thread has moved on
    Atomics.store(i32, base + C.STATUS, status);
    if (status !== 0) Atomics.compareExchange(i32, hdr + C.ERROR, 0, status);
    if (Atomics.sub(i32, hdr + C.PENDING, 1) === 1) Atomics.notify(i32, hdr + C.PENDING);
  };
  // Idle. A short spin catches a job posted right after the last one finished (e.g. consecutive
  // steps of a program) without a futex round trip; then the worker blocks in Atomics.wait. A
  // browser worker blocks in slices of `idleYieldMs` and lets its event loop run between them:
  // Chromium ends a terminated worker only when it runs its event loop (else by force after 2 s,
  // measured 2041 ms for a worker blocked while idle), and only then releases the Web Lock the
  // watchdog waits on. An idle worker so wakes 1000 / idleYieldMs times a second, for microseconds.
  // The spin follows a part this worker ran only: a part it found taken over means it woke after
  // the caller had finished the job, when a next job is no likelier than any other time, so it
  // blocks at once instead of spinning on a core the machine is short of.
  const yieldMs = init.idleYieldMs ?? 0;
  const SPINS = 2000;
  let ranPart = false;
  const serve = (): void => {
    for (;;) {
      let spins = ranPart ? 0 : SPINS;
      while (Atomics.load(i32, base + C.SEQ) === seq && spins++ < SPINS);
      if (yieldMs > 0) {
        if (Atomics.load(i32, base + C.SEQ) === seq) Atomics.wait(i32, base + C.SEQ, seq, yieldMs);
        Atomics.add(i32, base + C.ALIVE, 1);
        if (Atomics.load(i32, base + C.SEQ) === seq) {
          ranPart = false;
          idle();
          return;
        }
      }
      while (Atomics.load(i32, base + C.SEQ) === seq) Atomics.wait(i32, base + C.SEQ, seq);
      seq = Atomics.load(i32, base + C.SEQ);
      if (i32.buffer.byteLength !== memory.buffer.byteLength) i32 = words();
      // (released before this worker even woke: it still owes the release its 0)
      const stalled = Math.abs(Atomics.load(i32, hdr + C.STALL)) === init.slot + 1;
      const stallEnd = Date.now() + 120_000;
      while (stalled && Atomics.load(i32, hdr + C.STALL) === init.slot + 1 && Date.now() < stallEnd) Atomics.wait(i32, hdr + C.STALL, init.slot + 1, 1000);
      // Claim the job. The calling thread cancels the parts that workers have not claimed by the
      // time it finished its own share and does them itself, so a failed claim means this part is
      // done already (or, with KIND = EXIT, that the pool is closing). Arguments are read after the
      // claim: they are written before BUSY is set, and a late claim may find a newer job there.
      ranPart = Atomics.compareExchange(i32, base + C.BUSY, 1, 2) === 1;
      if (ranPart) runClaimed();
      else if (i32[base + C.KIND] === J.EXIT) {
        finish();
        return;
      }
      if (stalled) Atomics.compareExchange(i32, hdr + C.STALL, -(init.slot + 1), 0);
    }
  };
  // Browsers: one turn of the event loop between blocking slices (see serve). A message to itself,
  // not setTimeout, which nested timers clamp to 4 ms.
  let turn: MessageChannel | undefined;
  const idle = (): void => {
    if (!turn) {
      turn = new MessageChannel();
      turn.port1.onmessage = serve;
    }
    turn.port2.postMessage(0);
  };
  const finish = (): void => {
    // The port is held to here: while this thread runs, the watchdog's end stays open.
    (init.alivePort as { close?(): void } | undefined)?.close?.();
    turn?.port1.close();
    if (scratch !== 0) rust.free(scratch, scratchBytes);
    rust.free(stack, init.stackBytes); // free() does not touch the shadow stack
  };
  serve();
}

/**
 * Source text of a worker script. `host` "node": a worker_threads eval script
 * reading its WorkerInit from workerData. "browser": a classic Web Worker
 * script that waits for one message carrying the WorkerInit (with `rustUrl`
 * instead of `rustBytes` when the page did not pass the bytes).
 */
export function workerSource(host: "node" | "browser"): string {
  // Transpilers may wrap named functions in a `__name` helper (esbuild's
  // keepNames, used by tsx and vitest); the shim makes the text standalone.
  const prelude =
    "var __name = (f, _n) => f;\n" +
    `const workerMain = ${workerMain.toString()};\n` +
    `const walks = { claimChunks: ${claimChunks.toString()}, forEachItemRows: ${forEachItemRows.toString()} };\n`;
  if (host === "node") {
    return prelude + 'workerMain(require("node:worker_threads").workerData, walks);\n';
  }
  return (
    prelude +
    "self.onmessage = async (ev) => {\n" +
    "  self.onmessage = null;\n" +
    "  const init = ev.data;\n" +
    "  if (!init.rustBytes) {\n" +
    "    try { init.rustBytes = new Uint8Array(await (await fetch(init.rustUrl)).arrayBuffer()); }\n" +
    "    catch { const i32 = new Int32Array(init.memory.buffer); const at = (init.ctlPtr >> 2) + init.ctl.HEADER + init.slot * init.ctl.SLOT + init.ctl.READY; Atomics.store(i32, at, -1); return; }\n" +
    "  }\n" +
    "  if (init.lock && self.navigator && navigator.locks) {\n" +
    "    try { await new Promise((held, failed) => navigator.locks.request(init.lock, () => { held(); return new Promise(() => {}); }).catch(failed)); }\n" +
    "    catch { const i32 = new Int32Array(init.memory.buffer); const at = (init.ctlPtr >> 2) + init.ctl.HEADER + init.slot * init.ctl.SLOT + init.ctl.READY; Atomics.store(i32, at, -1); return; }\n" +
    "  }\n" +
    "  workerMain(init, walks);\n" +
    "};\n"
  );
}
