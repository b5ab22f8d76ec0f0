// The GEMM job family of the wasm thread pool: batches of sgemms whose rows
// of C (all batch items' rows stacked) are split across the pool, and small
// ones run on the calling thread from arguments prepared once.
//
// Gemm jobs are not split statically: the stacked rows are cut into chunks
// (about gemmChunksPerThread per thread, at least minGemmChunkRows rows) and
// every thread, the calling one included, claims the next chunk with
// Atomics.add on the control block's chunk counter until none are left, so a
// thread that loses its core (a loaded machine) takes fewer chunks instead of
// holding up the call. A worker settles its part once, after its last chunk.
//
// Determinism: a row split computes every element of C exactly as the
// single-threaded sgemm does (same k order, whichever thread runs a chunk),
// so threaded results are bitwise equal to single-threaded ones.

import { BackendError } from "../../core/errors";
import { WASM_ERROR_CODES, WasmKernelError } from "./kernel_args";
import type { SgemmArgs, SgemmRowsArgs, WasmKernels } from "./kernels";
import { MAX_EPILOGUE_OPERANDS, epilogueVectorCount, type GeneratedGemm } from "./codegen/gemm";
import { SHORT_JOB_SIGNATURE, type WorkerPool } from "./pool";
import { CTL, JOB, claimChunks, forEachItemRows } from "./worker";

/** The GEMM family's knobs (ThreadPoolOptions). */
export interface GemmJobOptions {
  /** Split an sgemm when batch·m·n·k is at least this (default 128³). */
  minGemmWork?: number;
  /**
   * Work-stealing chunks of a split sgemm's stacked rows per thread, about
   * (default 4). Each chunk packs B again: on W1 (1024³, 2 threads) 8 chunks
   * per thread cost ~7% more CPU time than 4, and 4 ~5% more than 2
   * (bench/pool_chunks.ts); 4 keeps a thread that loses its core to at most
   * an eighth of the rows on 2 threads.
   */
  gemmChunksPerThread?: number;
  /** Fewest rows in a split sgemm's chunk, rounded up to a multiple of 4 (default 32). */
  minGemmChunkRows?: number;
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

/** Splits sgemms across a pool and runs small ones on the calling thread. */
export class GemmJobs {
  readonly minGemmWork: number;
  readonly gemmChunksPerThread: number;
  readonly minGemmChunkRows: number;
  /** The calling thread's sgemm scratch. */
  private scratch = 0;
  private scratchBytes = 0;

  constructor(
    private readonly pool: WorkerPool,
    opts: GemmJobOptions = {},
  ) {
    this.minGemmWork = opts.minGemmWork ?? 128 * 128 * 128;
    this.gemmChunksPerThread = Math.max(1, Math.floor(opts.gemmChunksPerThread ?? 4));
    this.minGemmChunkRows = Math.max(4, Math.floor(opts.minGemmChunkRows ?? 32));
  }

  /** Threads an sgemm of this size would use now (starts the workers when it is large). */
  private gemmThreads(rows: number, work: number): number {
    if (this.pool.threads <= 1 || work < this.minGemmWork || rows < 8) return 1;
    return Math.min(this.pool.start(), Math.floor(rows / 4));
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
    const work = batch * m * n * k;
    const T = m > 0 && n > 0 ? this.gemmThreads(rows, work) : 1;
    const one: SgemmShared = { transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, gen, operands };
    // A short sgemm splits only while that has been faster lately (pool.ts, "Short jobs").
    const choice = T > 1 ? this.pool.shortJobChoice(gen ? SHORT_JOB_SIGNATURE.generatedGemm : SHORT_JOB_SIGNATURE.sgemm, work, this.minGemmWork) : undefined;
    this.pool.runChosen(choice, work, (split) => this.run(one, args, sA, sB, sC, rows, batch, split ? T : 1));
  }

  /** The sgemm batch on `T` threads (1: the calling thread alone), rows cut as the header says. */
  private run(one: SgemmShared, args: BatchedSgemmArgs, sA: number, sB: number, sC: number, rows: number, batch: number, T: number): void {
    const { transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, gen, operands } = one;
    if (T <= 1 && !gen) {
      for (let i = 0; i < batch; i++) this.pool.kernels.sgemm(sgemmItem(one, args.a + i * sA, args.b + i * sB, args.c + i * sC));
      return;
    }
    // Validate operands on this thread (the workers trust them): the first and
    // last items bound the others, as batch strides are non-negative.
    for (const i of batch > 1 ? [0, batch - 1] : [0]) {
      this.pool.kernels.sgemmRows(sgemmRowsItem(one, args.a + i * sA, args.b + i * sB, args.c + i * sC, 0, 0, 0));
    }
    if (T <= 1) {
      this.ownGemmRows(one, args, sA, sB, sC, 0, rows);
      return;
    }
    const chunk = this.gemmChunkRows(rows, T);
    const nChunks = Math.ceil(rows / chunk);
    const ws = this.pool.pick(Math.min(T, nChunks) - 1);
    const reg = gen && ws.length > 0 ? this.pool.register(gen.bytes) : undefined;
    const i32 = this.pool.ctl(); // after register(), which may grow the memory
    const f32 = new Float32Array(i32.buffer);
    const genWords = reg
      ? [reg.id, reg.ptr, reg.len, gen!.scratchBytes(0, n, k), operands.length, ...operands.flatMap((o) => [o.ptr, o.stride])]
      : [0];
    for (const w of ws) {
      const a = this.pool.slotBase(w) + CTL.ARGS;
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
      claimChunks(this.pool.ctl(), this.pool.nextChunkWord, nChunks, (c) => {
        this.ownGemmRows(one, args, sA, sB, sC, c * chunk, Math.min(rows, (c + 1) * chunk));
        return 0;
      });
    };
    this.pool.dispatch(ws, JOB.GEMM, own, batch * m * n * k);
  }

  /**
   * Whether an sgemm of `rows` stacked rows of C and batch·m·n·k = `work` runs
   * on the calling thread alone: a small product costs less than waking a
   * worker (a 10x10 matmul takes well under a microsecond to compute).
   */
  runsOnCaller(rows: number, work: number): boolean {
    return this.pool.maxThreads <= 1 || work < this.minGemmWork || rows < 8;
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
      if (this.scratch !== 0) this.pool.kernels.free(this.scratch, this.scratchBytes);
      this.scratch = 0;
      this.scratchBytes = 0;
      this.scratch = this.pool.kernels.alloc(g.scratchBytes);
      this.scratchBytes = g.scratchBytes;
    }
    const { transA, transB, m, n, k, lda, ldb, ldc, gen } = g;
    const raw = this.pool.kernels.raw;
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
    const bytes = this.pool.kernels.memory.buffer.byteLength;
    for (const o of operands) {
      const last = o.ptr + (batch - 1) * o.stride;
      if (!Number.isInteger(o.ptr) || o.ptr <= 0 || o.ptr % 4 !== 0 || o.stride < 0 || last >= bytes) {
        throw new BackendError(`ThreadPool.sgemm: epilogue operand at ${o.ptr} (stride ${o.stride}) is not a valid pointer into the ${bytes}-byte memory`);
      }
    }
  }

  private ensureScratch(rows: number, n: number, k: number, gen?: GeneratedGemm): void {
    const need = gen ? this.pool.kernels.sgemmScratchBytes(rows, n, k) + gen.scratchBytes(0, n, k) : this.pool.kernels.sgemmScratchBytes(rows, n, k);
    if (need > this.scratchBytes) {
      if (this.scratch !== 0) this.pool.kernels.free(this.scratch, this.scratchBytes);
      this.scratch = 0;
      this.scratchBytes = 0;
      this.scratch = this.pool.kernels.alloc(need);
      this.scratchBytes = need;
    }
  }

  private ownGemmRows(
    one: SgemmShared,
    args: BatchedSgemmArgs, sA: number, sB: number, sC: number, r0: number, r1: number,
  ): void {
    const { m, n, k, gen } = one;
    this.ensureScratch(Math.min(m, r1 - r0), n, k, gen);
    forEachItemRows(r0, r1, m, (bi, m0, m1) => {
      if (gen) {
        const eps = one.operands.map((o) => o.ptr + bi * o.stride);
        gen.gemmRows(one.transA ? 1 : 0, one.transB ? 1 : 0, m, n, k, args.a + bi * sA, one.lda, args.b + bi * sB, one.ldb, args.c + bi * sC, one.ldc, m0, m1, this.scratch, ...eps);
      } else {
        this.pool.kernels.sgemmRows(sgemmRowsItem(one, args.a + bi * sA, args.b + bi * sB, args.c + bi * sC, m0, m1, this.scratch || 0));
      }
      return 0;
    });
  }

  /** Frees the calling thread's scratch (the pool is closing). */
  release(): void {
    if (this.scratch !== 0) this.pool.kernels.free(this.scratch, this.scratchBytes);
    this.scratch = 0;
    this.scratchBytes = 0;
  }
}
