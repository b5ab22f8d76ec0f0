// Splits a large generated kernel (codegen/kernel.ts) across the wasm thread
// pool: its canonical iteration space is cut along the outermost non-reduced
// dimension into one chunk per thread, each chunk the same loop nest over a
// shorter dim with its pointers moved to the chunk's start, so the result is
// bitwise the single-threaded one. Kernels that need scratch memory (wide outer
// reductions) get one region per chunk, so chunks running at once never share one.
// runKernelChunks posts such chunks (and parallel_window.ts's) to the pool:
// the generated-kernel job family.

import { compileKernel, type CompiledKernel, type KernelSpec } from "./codegen/kernel";
import { sizeOf } from "../../core/shape";
import { esize } from "./codegen/kernel_emit";
import { MATH_FNS, canonicalize } from "./codegen/kernel_spec";
import type { WorkerPool } from "./pool";
import { SplitChoice } from "./split_choice";
import type { ThreadPool } from "./threads";
import { CTL, JOB, MAX_KERNEL_PTRS } from "./worker";

/** Ops that cost about 8 simple ones per element: the special functions, pow, and division. */
const EXPENSIVE = new Set<string>([...MATH_FNS, "pow", "div", "rem"]);

/** How a kernel is cut along one dimension of its canonical iteration space. */
interface SplitPlan {
  /** Canonical (merged, size-1 dims dropped) spec the chunks are cut from. */
  shape: number[];
  dim: number;
  /** Byte offset per unit of the split dim, per input then per output. */
  step: number[];
  /** [start, size] of each chunk along `dim`. */
  chunks: Array<[number, number]>;
  /** One compiled kernel per chunk size. */
  kernels: Map<number, CompiledKernel>;
  /** Byte offset of each chunk's scratch region, and the bytes of all regions together. */
  scratchOffsets: number[];
  scratchBytes: number;
  elements: number;
}

/**
 * A generated kernel that splits itself across a pool when its iteration
 * space is large: along the outermost non-reduced canonical dimension (the
 * dims before it, if any, are reduced ones, so every chunk owns a contiguous
 * block of every output). Kernels that reduce to a scalar, or whose pointers
 * do not fit a worker slot, always run whole.
 */
export class ParallelKernel {
  private plans = new Map<number, SplitPlan | null>();
  /** Whether this kernel splits, while it is short (pool.ts, "Short jobs"): made on its first split run. */
  private choice: SplitChoice | undefined;
  /** Estimated cost: elements × (1 + op costs). */
  readonly work: number;

  /**
   * @param scratch returns the address of at least `bytes` bytes of scratch memory, valid until
   *   the next call; needed when the kernel (or a chunk of it) has `scratchBytes` > 0.
   */
  constructor(
    readonly spec: KernelSpec,
    readonly kernel: CompiledKernel,
    readonly memory: WebAssembly.Memory,
    private readonly scratch?: (bytes: number) => number,
  ) {
    const elements = sizeOf(spec.shape);
    let perElement = 1;
    for (const nd of spec.nodes) if (nd.op !== "input" && nd.op !== "const") perElement += EXPENSIVE.has(nd.op) ? 8 : 1;
    this.work = elements * perElement;
  }

  /** Runs on the pool (or whole when it would not be split). */
  run(pool: ThreadPool | null, ins: readonly number[], outs: readonly number[]): void {
    const plan = pool && pool.threads > 1 ? this.plan(pool) : null;
    if (!plan) {
      this.kernel.run(ins, outs, this.scratchFor(this.kernel.scratchBytes));
      return;
    }
    const choice = pool!.isShortJob(this.work, pool!.minKernelWork) ? (this.choice ??= new SplitChoice()) : undefined;
    pool!.runChosen(choice, this.work, (split) => {
      if (split) this.runSplit(pool!, plan, ins, outs);
      else this.kernel.run(ins, outs, this.scratchFor(this.kernel.scratchBytes));
    });
  }

  /** Runs the chunks of `plan` on the pool. */
  private runSplit(pool: ThreadPool, plan: SplitPlan, ins: readonly number[], outs: readonly number[]): void {
    const nIn = ins.length;
    const scratch = this.scratchFor(plan.scratchBytes);
    const chunks = plan.chunks.map(([start, size], c) => ({
      kernel: plan.kernels.get(size)!,
      ins: ins.map((p, i) => p + start * plan.step[i]!),
      outs: outs.map((p, o) => p + start * plan.step[nIn + o]!),
      ...(scratch ? { scratch: scratch + plan.scratchOffsets[c]! } : {}),
    }));
    runKernelChunks(pool, chunks, plan.elements);
  }

  /** The scratch address for `bytes` (0 when none is needed or no provider was given: a kernel
   * that needs scratch then refuses to run). */
  private scratchFor(bytes: number): number {
    return bytes > 0 && this.scratch ? this.scratch(bytes) : 0;
  }

  /** The split for the pool's active threads (starting its workers), or null; cached per thread count. */
  plan(pool: ThreadPool): SplitPlan | null {
    if (this.work < pool.minKernelWork) return null;
    const T = pool.start();
    if (T < 2) return null;
    if (!this.plans.has(T)) this.plans.set(T, this.makePlan(T, pool.minKernelWork));
    return this.plans.get(T)!;
  }

  private makePlan(T: number, minWork: number): SplitPlan | null {
    const spec = this.spec;
    const scratchPtrs = this.kernel.scratchBytes > 0 ? 1 : 0;
    if (spec.inputs.length + spec.outputs.length + scratchPtrs > MAX_KERNEL_PTRS || this.kernel.bytes.length === 0) return null;
    const elements = sizeOf(spec.shape);
    if (this.work < minWork) return null;
    const c = canonicalize(spec);
    const D = c.shape.length;
    const dim = c.reduced.findIndex((r) => !r);
    if (dim < 0) return null;
    const size = c.shape[dim]!;
    const hasRed = c.reduced.some((r) => r);
    // Chunks of the innermost dim stay multiples of 4 (whole vectors);
    // chunks of a reduction are never 1 long (the loop nest would change).
    const unit = dim === D - 1 ? 4 : hasRed ? 2 : 1;
    // Parts of at least half the threshold's work each.
    const parts = Math.min(T, Math.floor(size / unit), Math.max(1, Math.floor((2 * this.work) / minWork)));
    if (parts < 2) return null;
    const chunk = Math.ceil(size / parts / unit) * unit;
    const chunks: Array<[number, number]> = [];
    for (let s = 0; s < size; s += chunk) chunks.push([s, Math.min(chunk, size - s)]);
    if (hasRed && chunks.length > 1 && chunks[chunks.length - 1]![1] < 2) {
      const last = chunks.pop()!;
      chunks[chunks.length - 1]![1] += last[1];
    }
    if (chunks.length < 2) return null;
    let outInner = 1;
    for (let d = dim + 1; d < D; d++) if (!c.reduced[d]) outInner *= c.shape[d]!;
    const step = [
      ...spec.inputs.map((inp, k) => c.strides[k]![dim]! * esize(inp.dtype)),
      ...spec.outputs.map((o) => outInner * esize(o.dtype)),
    ];
    const axes = c.reduced.flatMap((r, d) => (r ? [d] : []));
    const kernels = new Map<number, CompiledKernel>();
    for (const [, n] of chunks) {
      if (kernels.has(n)) continue;
      const shape = c.shape.slice();
      shape[dim] = n;
      const sub: KernelSpec = {
        shape,
        inputs: spec.inputs.map((inp, k) => ({ dtype: inp.dtype, strides: c.strides[k]! })),
        nodes: spec.nodes,
        outputs: spec.outputs,
        ...(spec.reduction ? { reduction: { op: spec.reduction.op, axes } } : {}),
      };
      kernels.set(n, compileKernel(sub, { memory: this.memory }));
    }
    const scratchOffsets: number[] = [];
    let scratchBytes = 0;
    for (const [, n] of chunks) {
      scratchOffsets.push(scratchBytes);
      scratchBytes += kernels.get(n)!.scratchBytes;
    }
    return { shape: c.shape, dim, step, chunks, kernels, elements, scratchOffsets, scratchBytes };
  }
}

/** One chunk of a split kernel: the kernel, its pointers, and its own scratch region when the kernel needs one. */
export interface KernelChunk {
  kernel: CompiledKernel;
  ins: number[];
  outs: number[];
  scratch?: number;
}

/**
 * Runs the chunks of a split kernel: chunk 0 on this thread, the others on
 * workers (all on this thread when too few workers are ready).
 */
export function runKernelChunks(pool: WorkerPool, chunks: readonly KernelChunk[], elements: number): void {
  const ws = pool.pick(chunks.length - 1);
  if (ws.length < chunks.length - 1) {
    for (const c of chunks) c.kernel.run(c.ins, c.outs, c.scratch);
    return;
  }
  const regs = chunks.slice(1).map((c) => pool.register(c.kernel.bytes));
  const i32 = pool.ctl(); // after register(), which may grow the memory
  ws.forEach((w, j) => {
    const c = chunks[j + 1]!;
    const r = regs[j]!;
    const ptrs = c.scratch ? [...c.ins, ...c.outs, c.scratch] : [...c.ins, ...c.outs];
    i32.set([r.id, r.ptr, r.len, ptrs.length, ...ptrs], pool.slotBase(w) + CTL.ARGS);
  });
  const runChunk = (c: KernelChunk): void => c.kernel.run(c.ins, c.outs, c.scratch);
  pool.dispatch(ws, JOB.KERNEL, () => runChunk(chunks[0]!), elements * 20, (j) => runChunk(chunks[j + 1]!));
}
