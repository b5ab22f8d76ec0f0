// The convolution job family of the wasm thread pool: a convolution or one
// of its gradients split by work-stealing chunks of its units, like gemm
// jobs (gemm_job.ts): output lines for the forward (so batch 1 splits too),
// images for the gradients (their im2col/col2im buffers do not overlap across
// images). A forward or data-gradient chunk computes its outputs exactly as
// one call over all units would. The filter gradient sums over images, so its
// chunks write partial sums that the calling thread adds in chunk order; the
// chunking depends only on the conv's size, never on the thread count, so its
// result is the same on any number of threads.

import { BackendError } from "../../core/errors";
import { CONV_EPILOGUE_WORDS, CONV_PARAMS_LEN, convParamsBlock, convUnits, type Conv2dParams, type ConvMode } from "./conv_params";
import { SHORT_JOB_SIGNATURE, type WorkerPool } from "./pool";
import { CTL, JOB, claimChunks } from "./worker";

/** The conv family's knobs (ThreadPoolOptions). */
export interface ConvJobOptions {
  /** Split a convolution when its multiply-adds are at least this (default 2^21). */
  minConvWork?: number;
  /**
   * Work-stealing chunks of a split convolution's units per thread, about
   * (default 4). A conv chunk is one more kernel call and repacks nothing: 2,
   * 4 and 8 cost the same CPU time on W5 and the W7 convs (bench/pool_chunks.ts).
   */
  convChunksPerThread?: number;
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

/** The conv modes' shortJobChoice signatures (their costs per multiply-add differ). */
const CONV_SIGNATURE: { [M in ConvMode]: number } = { forward: SHORT_JOB_SIGNATURE.convForward, data: SHORT_JOB_SIGNATURE.convData, filter: SHORT_JOB_SIGNATURE.convFilter };

/** Partial sums a large filter gradient is cut into (a constant, so its rounding does not depend on the thread count). */
const FILTER_GRADIENT_PARTS = 8;

/** Splits convolutions across a pool. */
export class ConvJobs {
  readonly minConvWork: number;
  readonly convChunksPerThread: number;
  /** The conv job's parameter and epilogue blocks, shared by every thread (0 until the first conv). */
  private convBlock = 0;

  constructor(
    private readonly pool: WorkerPool,
    opts: ConvJobOptions = {},
  ) {
    this.minConvWork = opts.minConvWork ?? 1 << 21;
    this.convChunksPerThread = Math.max(1, Math.floor(opts.convChunksPerThread ?? 4));
  }

  /**
   * A convolution or one of its gradients, its units split across the pool in
   * work-stealing chunks when it is large (see the header).
   */
  conv(job: ConvJob): void {
    const { params, mode, a, b, out } = job;
    const shapes = this.pool.kernels.checkConvOperands(params, mode, a, b, out);
    if (job.epilogue && mode !== "forward") throw new BackendError(`ThreadPool.conv: only the forward conv takes an epilogue, got one for the ${mode} gradient`);
    const units = convUnits(params, mode);
    const work = shapes.ySize * params.kh * params.kw * (params.cin / (params.groups ?? 1));
    const large = work >= this.minConvWork && units >= 2;
    const T = !large || this.pool.threads <= 1 ? 1 : Math.min(this.pool.start(), units);
    // A short conv splits only while that has been faster lately (pool.ts, "Short jobs").
    const choice = T > 1 ? this.pool.shortJobChoice(CONV_SIGNATURE[mode], work, this.minConvWork) : undefined;
    this.pool.runChosen(choice, work, (split) => this.run(job, shapes, units, work, large, split ? T : 1));
  }

  /** The conv on `T` threads (1: the calling thread alone), its units cut as the header says. */
  private run(job: ConvJob, shapes: { wSize: number }, units: number, work: number, large: boolean, T: number): void {
    const { params, mode, a, b, out } = job;
    // The filter gradient's partition is fixed by its size alone (see the header).
    const partitioned = mode === "filter" && large;
    const chunk = partitioned
      ? Math.ceil(units / Math.min(units, FILTER_GRADIENT_PARTS))
      : T <= 1 ? units : Math.max(1, Math.ceil(units / (T * this.convChunksPerThread)));
    const nChunks = units === 0 ? 0 : Math.ceil(units / chunk);
    if (this.convBlock === 0) this.convBlock = this.pool.kernels.alloc((CONV_PARAMS_LEN + CONV_EPILOGUE_WORDS) * 4);
    const parts = partitioned ? this.pool.kernels.alloc(nChunks * shapes.wSize * 4) : 0;
    try {
      const block = this.convBlock;
      const epilogue = job.epilogue ? block + CONV_PARAMS_LEN * 4 : 0;
      const i32 = this.pool.ctl(); // after alloc(), which may grow the memory
      i32.set(convParamsBlock(params).block, block >> 2);
      if (job.epilogue) i32.set(job.epilogue, (block >> 2) + CONV_PARAMS_LEN);
      // An empty range checks the parameter and epilogue blocks on this thread (the workers trust them).
      this.pool.kernels.conv2dRangeAt(block, mode, a, b, out, 0, 0, epilogue);
      const dst = (c: number): number => (partitioned ? parts + c * shapes.wSize * 4 : out);
      if (nChunks <= 1 && !partitioned) {
        this.pool.kernels.conv2dRangeAt(block, mode, a, b, out, 0, units, epilogue);
        return;
      }
      const ws = T > 1 ? this.pool.pick(Math.min(T, nChunks) - 1) : [];
      const words = [block, epilogue, mode === "forward" ? 0 : mode === "data" ? 1 : 2, a, b, out, units, chunk, parts, shapes.wSize];
      for (const w of ws) i32.set(words, this.pool.slotBase(w) + CTL.ARGS);
      const runChunk = (c: number): number => {
        this.pool.kernels.conv2dRangeAt(block, mode, a, b, dst(c), c * chunk, Math.min(units, (c + 1) * chunk), epilogue);
        return 0;
      };
      if (ws.length === 0) for (let c = 0; c < nChunks; c++) runChunk(c);
      else this.pool.dispatch(ws, JOB.CONV, () => void claimChunks(this.pool.ctl(), this.pool.nextChunkWord, nChunks, runChunk), work);
      if (partitioned) this.pool.kernels.convSumParts(parts, nChunks, shapes.wSize, out);
    } finally {
      if (parts !== 0) this.pool.kernels.free(parts, nChunks * shapes.wSize * 4);
    }
  }
}
