// Runs a large window-copy step (codegen/window.ts) split across the wasm
// thread pool, the way ParallelKernel splits fused kernels: the loop nest is
// cut along one dim into a chunk per thread, each chunk the same loop nest
// over a shorter dim with its pointers moved to the chunk's start.
//
// Only a dim whose chunks write disjoint elements is cut: any dim of a
// gathering step (each destination element is written once), and for a
// scattering step only a dim inside the window (past the point where the
// starts are read), so two chunks never update one element and every element
// sees its updates in the same order as unsplit — duplicate scatter indices
// give the same (bitwise) result on any number of threads.

import type { CompiledKernel } from "./codegen/kernel";
import { compileWindow, type CompiledWindow, type WindowSpec } from "./codegen/window";
import { runKernelChunks } from "./parallel_kernel";
import { SplitChoice } from "./split_choice";
import type { ThreadPool } from "./threads";
import { MAX_KERNEL_PTRS } from "./worker";

interface Chunk {
  kernel: CompiledWindow;
  /** Byte advances of the source, destination and index pointers. */
  src: number;
  dst: number;
  idx: number;
}

export class ParallelWindow {
  private readonly whole: CompiledWindow;
  private readonly work: number;
  private readonly plans = new Map<number, Chunk[] | null>();
  /** Whether this copy splits, while it is short (pool.ts, "Short jobs"): made on its first split run. */
  private choice: SplitChoice | undefined;

  constructor(
    readonly spec: WindowSpec,
    readonly memory: WebAssembly.Memory,
  ) {
    this.whole = compileWindow(spec, memory);
    this.work = spec.dims.reduce((n, d) => n * d.size, 1);
  }

  run(pool: ThreadPool | null, src: number, dst: number, idx: readonly number[]): void {
    const chunks = pool && pool.threads > 1 && this.work >= pool.minKernelWork ? this.plan(pool) : null;
    if (!chunks) {
      this.whole.run(src, dst, idx);
      return;
    }
    const choice = pool!.isShortJob(this.work, pool!.minKernelWork) ? (this.choice ??= new SplitChoice()) : undefined;
    pool!.runChosen(choice, this.work, (split) => {
      if (!split) this.whole.run(src, dst, idx);
      else runKernelChunks(pool!, chunks.map((c) => ({ kernel: asKernel(c.kernel), ins: [src + c.src, dst + c.dst, ...idx.map((p) => p + c.idx)], outs: [] })), this.work);
    });
  }

  private plan(pool: ThreadPool): Chunk[] | null {
    const T = pool.start();
    if (T < 2) return null;
    if (!this.plans.has(T)) this.plans.set(T, this.makePlan(T));
    return this.plans.get(T)!;
  }

  private makePlan(T: number): Chunk[] | null {
    const { spec } = this;
    if (2 + spec.starts.length > MAX_KERNEL_PTRS || this.whole.bytes.length === 0) return null;
    const cuttable = (d: number) => spec.target === "src" || d >= spec.at;
    const d = spec.dims.findIndex((dim, i) => cuttable(i) && dim.size >= 2);
    if (d < 0) return null;
    const dim = spec.dims[d];
    // Chunks of the innermost dim stay whole vectors where they can.
    const unit = d === spec.dims.length - 1 && dim.size >= 4 * T ? 4 : 1;
    const parts = Math.min(T, Math.floor(dim.size / unit));
    if (parts < 2) return null;
    const len = Math.ceil(dim.size / parts / unit) * unit;
    const es = spec.dtype === "bool" ? 1 : 4;
    const chunks: Chunk[] = [];
    for (let at = 0; at < dim.size; at += len) {
      const dims = spec.dims.map((x, i) => (i === d ? { ...x, size: Math.min(len, dim.size - at) } : x));
      chunks.push({ kernel: compileWindow({ ...spec, dims }, this.memory), src: at * dim.src * es, dst: at * dim.dst * es, idx: at * dim.idx * 4 });
    }
    return chunks;
  }
}

/** A window kernel in the shape the pool runs: its pointers (src, dst, ...idx) as one list of inputs. */
function asKernel(w: CompiledWindow): CompiledKernel {
  return { key: w.key, bytes: w.bytes, scratchBytes: 0, text: () => w.text(), run: (ins) => w.run(ins[0], ins[1], ins.slice(2)) };
}
