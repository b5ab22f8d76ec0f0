// The WebGPU runtime under the backend: device buffers (one 32-bit word per
// element, float16 two per word) with reference counts and a pool of released buffers, the
// pipeline cache keyed by shader text, dispatches batched into command
// encoders, and the ordering of host work.
//
// The pipeline cache shares a compiled pipeline between the programs whose
// shaders are the same text. A program holds what it acquired until it is
// disposed (jit's clearCache, eviction from jit's or the eager-op cache);
// a pipeline no program holds any more leaves the cache then. The cache is
// also bounded, least recently used first out, by the kernel cache capacity
// (setKernelCacheCapacity governs the wasm code generators' caches and this
// one): with shape-specialised shaders every new shape is a new pipeline,
// and many jitted functions each keep their own programs. Evicting only
// forgets the cache's reference: a program holding the pipeline keeps it
// working (WebGPU pipelines have no destroy; they go when unreferenced), and
// the next program that needs that shader compiles it again. So the cache
// never keeps a pipeline alive by itself: the pipelines' memory (0.5-0.9 MB of
// host memory each on SwiftShader, 15-30 ms of CPU to compile) is bounded by
// the caches of programs, and the bound here only limits what is shared. Of
// those, the eager op cache keeps fewer signatures with specialised shaders
// (WebGpuBackend.preparedOpCapacity), since each then holds pipelines of its own.
//
// A GPU cannot be read synchronously, so a program that needs the host in the
// middle (a host step) continues asynchronously: the runtime keeps one chain
// of pending work, and everything that must follow it — later programs,
// releases of buffers, readbacks — is queued behind it. Programs without host
// steps only encode and submit, synchronously. Releases go through the chain
// too, so a pooled buffer is never handed out while queued work still reads it.

import type { ShapedArray } from "../../core/aval";
import { allocTyped, type DType, type TypedArray } from "../../core/dtype";
import { BackendError, MemoryLimitError, TinyflowError } from "../../core/errors";
import { notePipelines } from "../../core/residency";
import { kernelCacheCapacity, registerKernelCache } from "../../core/kernel_cache_capacity";
import type { GpuContext } from "./device";
import { halfWords, packHalves, unpackHalves } from "./half";

/** An array's storage on the device; `refs` owners share it. */
export interface GpuBuffer {
  readonly buffer: GPUBuffer;
  /** Bytes the array uses (the GPUBuffer may be larger: pooled sizes are rounded). */
  readonly bytes: number;
  refs: number;
  /**
   * The contents on the host, for small arrays whose values the host knows (uploaded, or computed
   * from such arrays on the host): tracing and constant folding read scalars synchronously.
   */
  shadow?: TypedArray;
}

/** Pooled buffers are kept up to this many bytes in all. */
const POOL_LIMIT = 256 * 2 ** 20;

/** Dispatches recorded before a submit even when nothing reads (bounds the command buffer). */
const MAX_RECORDED = 512;

/** How long a failed mapping waits for the device's `lost` promise before reporting its own error. */
const LOST_GRACE_MS = 100;

/** Bytes of a device word: an element of every dtype is one word (bool 0/1) but float16, packed two per word (half.ts). */
export const WORD = 4;

/** Device words of an array of `elements` of `dtype`. */
export const deviceWords = (elements: number, dtype: DType): number => (dtype === "float16" ? halfWords(elements) : elements);

/** Buffer sizes are rounded up so released buffers fit later requests of similar size. */
function roundedSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** Math.max(8, Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** Host data as device words. */
export function toWords(data: TypedArray, dtype: DType): Uint32Array {
  if (dtype === "bool") return Uint32Array.from(data as Uint8Array);
  if (dtype === "float16") return packHalves(data);
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

/** Device words as host data of `dtype`. */
export function fromWords(words: ArrayBuffer, dtype: DType, length: number): TypedArray {
  if (dtype === "float16") return unpackHalves(words, length);
  const out = allocTyped(dtype, length);
  if (dtype === "bool") {
    const w = new Uint32Array(words, 0, length);
    for (let i = 0; i < length; i++) out[i] = w[i] !== 0 ? 1 : 0;
  } else new Uint32Array(out.buffer, out.byteOffset, length).set(new Uint32Array(words, 0, length));
  return out;
}

/** A compiled pipeline of the cache and how many programs hold it. */
export interface PipelineLease {
  readonly code: string;
  readonly pipeline: GPUComputePipeline;
  users: number;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  /** The pipeline cache by WGSL text, least recently acquired first (a Map iterates in insertion order; an acquisition re-inserts). */
  private readonly pipelines = new Map<string, PipelineLease>();
  /** Pipelines compiled since the start, the ones compiled again after eviction included (tests). */
  compiledPipelines = 0;
  /**
   * Pipelines some program holds, in the cache or evicted from it: the ones alive on the device
   * (WebGPU frees a pipeline when nothing references it), what the program caches' bounds limit.
   */
  heldPipelines = 0;
  private readonly unregisterCache: () => void;
  /** Work queued behind a host step, or null when nothing is pending. */
  private chain: Promise<void> | null = null;
  /** The first error of asynchronous work, reported by the next readback. */
  private failure: Error | null = null;
  private lost: string | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  /** Work sent to the device so far (for tests and benchmarks that count it per step). */
  dispatches = 0;
  submits = 0;
  copies = 0;
  readbacks = 0;
  /**
   * Bake sizes and strides into every shader (a pipeline per shape)
   * instead of reading them from a uniform (a pipeline per kernel structure). Off by default:
   * bench/webgpu_pipelines.ts measures both.
   */
  specializeShapes = false;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    // Validation and out-of-memory errors arrive as events: the next readback reports the first.
    this.device.addEventListener("uncapturederror", (ev) => {
      this.failure ??= new BackendError(`webgpu: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
    void this.device.lost.then((info) => {
      this.lost = `${info.reason}: ${info.message}`;
      // A lost device's pipelines can never run again.
      notePipelines(-this.pipelines.size);
      this.pipelines.clear();
      this.unregisterCache();
    });
    const cache = this.pipelines;
    this.unregisterCache = registerKernelCache({
      name: "webgpu pipelines",
      get size() {
        return cache.size;
      },
      evictToCapacity: () => this.evictToCapacity(),
    });
  }

  /** Why the device was lost, or null while it works. */
  get lostReason(): string | null {
    return this.lost;
  }

  private checkAlive(): void {
    if (this.lost !== null) {
      throw new BackendError(`webgpu: the device was lost (${this.lost}); reload the WebGPU backend (loadWebGpuBackend) or use the wasm backend`);
    }
  }

  /**
   * The error to report for a failed mapping: the device-lost error when the device went (its
   * `lost` promise may settle just after the mapping's rejection, so it is given a moment), else
   * the platform's error as a BackendError.
   */
  private async mappingError(e: unknown): Promise<Error> {
    const settled = await Promise.race([this.device.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), LOST_GRACE_MS))]);
    if (settled) {
      try {
        this.checkAlive();
      } catch (lost) {
        return lost as Error;
      }
    }
    return new BackendError(`webgpu: reading a buffer back failed (${(e as Error)?.message ?? String(e)}); the results of the work queued before it are unknown`);
  }

  /** A device buffer of `words` (deviceWords of an array); refused over the device's storage binding limit. */
  alloc(words: number, what: string): GpuBuffer {
    this.checkAlive();
    const bytes = Math.max(1, words) * WORD;
    const limit = this.ctx.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new MemoryLimitError(
        `webgpu: ${what} needs a buffer of ${bytes} bytes, over this device's maxStorageBufferBindingSize of ${limit} bytes; ` +
          `split the array (e.g. process it in batches) or use the wasm backend`,
      );
    }
    const size = Math.min(roundedSize(bytes), Math.max(limit - (limit % WORD), bytes));
    const free = this.pool.get(size);
    const reused = free?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return { buffer: reused, bytes, refs: 1 };
    }
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return { buffer, bytes, refs: 1 };
  }

  /** Drops one owner; the last one returns the buffer to the pool once queued work no longer needs it. */
  release(buf: GpuBuffer): void {
    if (--buf.refs > 0) return;
    this.after(() => {
      const size = buf.buffer.size;
      if (this.pooledBytes + size > POOL_LIMIT) {
        this.destroyNow(buf.buffer);
        return;
      }
      const list = this.pool.get(size) ?? [];
      list.push(buf.buffer);
      this.pool.set(size, list);
      this.pooledBytes += size;
    });
  }

  /** Destroys a buffer (a program's uniform) once queued work is done with it. */
  destroy(buffer: GPUBuffer): void {
    this.after(() => this.destroyNow(buffer));
  }

  /** Dispatches recorded but not yet submitted may use the buffer: they are submitted first (a submit after destroy is invalid). */
  private destroyNow(buffer: GPUBuffer): void {
    this.flush();
    buffer.destroy();
  }

  retain(buf: GpuBuffer): GpuBuffer {
    buf.refs++;
    return buf;
  }

  /** Uploads words; recorded dispatches are submitted first, since a queue write runs before unsubmitted commands. */
  write(buf: GpuBuffer, words: Uint32Array): void {
    this.flush();
    if (words.length > 0) this.device.queue.writeBuffer(buf.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
  }

  /** A small uniform buffer holding `words` (a pass's parameters); its owner destroys it. */
  uniform(words: Uint32Array): GPUBuffer {
    this.checkAlive();
    const buffer = this.device.createBuffer({ size: Math.max(16, words.byteLength), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.flush();
    this.device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
    return buffer;
  }

  /** Pipelines in the cache. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** The compiled pipeline of `code`, shared with every other holder; the caller gives it back with releasePipeline when done. */
  acquirePipeline(code: string): PipelineLease {
    this.checkAlive();
    let lease = this.pipelines.get(code);
    if (lease) this.pipelines.delete(code);
    else {
      const module = this.device.createShaderModule({ code });
      lease = { code, pipeline: this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } }), users: 0 };
      this.compiledPipelines++;
      notePipelines(1);
    }
    if (lease.users++ === 0) this.heldPipelines++;
    this.pipelines.set(code, lease);
    this.evictToCapacity();
    return lease;
  }

  /** A holder is done with the pipeline: the last one drops it from the cache (unless eviction already did). */
  releasePipeline(lease: PipelineLease): void {
    if (--lease.users > 0) return;
    this.heldPipelines--;
    if (this.pipelines.get(lease.code) !== lease) return;
    this.pipelines.delete(lease.code);
    notePipelines(-1);
  }

  /** Forgets the least recently used pipelines beyond the kernel cache capacity (their holders keep them working). */
  private evictToCapacity(): void {
    const capacity = kernelCacheCapacity();
    for (const code of this.pipelines.keys()) {
      if (this.pipelines.size <= capacity) return;
      this.pipelines.delete(code);
      notePipelines(-1);
    }
  }

  /** Records one dispatch in the open compute pass (many dispatches share one submit). */
  dispatch(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[], workgroups: readonly [number, number, number]): void {
    if (workgroups.some((w) => w === 0)) return;
    this.checkAlive();
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.dispatches++;
    if (++this.recorded >= MAX_RECORDED) this.flush();
  }

  /** Records a copy of `src`'s words into `dst` (between compute passes, in order with the dispatches). */
  copy(src: GpuBuffer, dst: GpuBuffer): void {
    this.checkAlive();
    const bytes = Math.max(WORD, Math.min(src.bytes, dst.bytes));
    if (this.pass) this.pass.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, bytes);
    this.copies++;
  }

  /** Submits what was recorded. */
  flush(): void {
    if (this.pass) this.pass.end();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.submits++;
    }
    this.pass = null;
    this.encoder = null;
    this.recorded = 0;
  }

  /** Workgroups for `n` invocations of 256 (or `n` workgroups when `perWorkgroup`), in a 2-D grid under the 65535 limit. */
  static grid(n: number): [number, number, number] {
    if (n <= 65535) return [n, 1, 1];
    const y = Math.ceil(n / 65535);
    return [Math.ceil(n / y), y, 1];
  }

  /**
   * Runs `work` after everything queued so far: at once when nothing is
   * pending, else behind the chain. Work that returns a promise (a host step)
   * makes later work wait for it.
   */
  after(work: () => void | Promise<void>): void {
    if (this.chain === null) {
      const r = work();
      if (r instanceof Promise) this.track(r);
      return;
    }
    this.track(this.chain.then(work));
  }

  /**
   * Runs `f` from inside queued asynchronous work (a control-flow driver) as that work's own
   * next step: what `f` queues runs at once, or behind what `f` queued before it, never behind
   * the outer chain (which waits for the driver itself). `pending` settles when what `f` queued
   * has run, rejecting with the first error of the device or of that work.
   */
  nested<T>(f: () => T): { value: T; pending: Promise<void> | null } {
    const outer = this.chain;
    this.chain = null;
    let local: Promise<void> | null;
    let value: T;
    try {
      value = f();
    } finally {
      // (f's programs set the chain through after(): not the null assigned above.)
      local = this.chain as Promise<void> | null;
      this.chain = outer;
    }
    const pending = local?.then(() => this.throwFailure(false)) ?? null;
    if (pending === null) this.throwFailure(false);
    return { value, pending };
  }

  private track(p: Promise<void>): void {
    const tracked: Promise<void> = p.then(
      () => {
        if (this.chain === tracked) this.chain = null;
      },
      (e: unknown) => {
        this.failure ??= e instanceof TinyflowError ? e : new BackendError(`webgpu: queued work failed: ${(e as Error)?.message ?? String(e)}`);
        if (this.chain === tracked) this.chain = null;
      },
    );
    this.chain = tracked;
  }

  /** Copies buffers to the host (one mapping each), after queued work. */
  async readWords(bufs: readonly GpuBuffer[]): Promise<ArrayBuffer[]> {
    this.checkAlive();
    const stagings = bufs.map((b) => this.device.createBuffer({ size: Math.max(WORD, b.bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
    // The copies close the recorded dispatches' command buffer: one submit (a while loop reads its predicate so each iteration).
    if (this.pass) this.pass.end();
    const enc = this.encoder ?? this.device.createCommandEncoder();
    this.pass = null;
    this.encoder = null;
    this.recorded = 0;
    bufs.forEach((b, i) => enc.copyBufferToBuffer(b.buffer, 0, stagings[i], 0, Math.max(WORD, b.bytes)));
    this.device.queue.submit([enc.finish()]);
    this.submits++;
    this.readbacks += bufs.length;
    let out: ArrayBuffer[];
    try {
      out = await Promise.all(
        stagings.map(async (s) => {
          await s.mapAsync(GPUMapMode.READ);
          const copy = s.getMappedRange().slice(0);
          s.unmap();
          s.destroy();
          return copy;
        }),
      );
    } catch (e) {
      throw await this.mappingError(e);
    }
    this.checkAlive();
    return out;
  }

  /** Reads an array back once all queued work has run. */
  read(buf: GpuBuffer, aval: ShapedArray): Promise<TypedArray> {
    this.checkAlive();
    return new Promise<TypedArray>((resolve, reject) => {
      this.after(async () => {
        try {
          // A lost device explains any failure of the work before it.
          this.checkAlive();
          this.throwFailure();
          const [words] = await this.readWords([buf]);
          resolve(fromWords(words, aval.dtype, aval.size));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Throws the first error of asynchronous work; `report` clears it (a readback reports it once). */
  private throwFailure(report = true): void {
    const f = this.failure;
    if (f) {
      if (report) this.failure = null;
      throw f;
    }
  }

  /** Resolves when all queued work (host steps included) has finished on the device. */
  async sync(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.after(async () => {
        try {
          this.flush();
          await this.device.queue.onSubmittedWorkDone();
          this.throwFailure();
          resolve();
        } catch (e) {
          reject(e);
        }
      }),
    );
  }
}
