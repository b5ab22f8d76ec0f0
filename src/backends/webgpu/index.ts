// The WebGPU backend: arrays live in GPU buffers; jitted jaxprs are planned by
// the same planner as wasm (plan/planner.ts, with WEBGPU_TARGET) and compiled
// to WGSL pipelines; eager operations run as one-equation programs, cached by
// primitive, params and types. Results are read with `await x.data()`: a GPU
// cannot be read synchronously, so dataSync() and the conversions built on it
// throw a BackendError saying so. Starting it is asynchronous (adapter and
// device requests): `await loadWebGpuBackend()`.

import type { ShapedArray } from "../../core/aval";
import { registerBackend, type Backend, type DeferredExecution, type Executable, type OpRunner } from "../../core/backend";
import type { TypedArray } from "../../core/dtype";
import { DEFAULT_PREPARED_OP_CAPACITY } from "../../core/eager_op_cache";
import { BackendError } from "../../core/errors";
import { kernelCacheCapacity } from "../../core/kernel_cache_capacity";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../../core/ir";
import { isHigherOrder, type FirstOrderPrimitive, type ParamsOf } from "../../core/primitives";
import { HostArray, interpret } from "../interpreter";
import { Planner } from "../plan/planner";
import { acquireGpu } from "./device";
import { WebGpuProgram, WEBGPU_TARGET } from "./program";
import { deviceWords, fromWords, GpuRuntime, toWords, type GpuBuffer } from "./runtime";

/**
 * An array's storage on the WebGPU backend, as the public declarations show it: opaque, so
 * they never name WebGPU's own types (a consumer need not have @webgpu/types).
 */
export interface WebGpuBuffer {
  /** Bytes the array uses on the device. */
  readonly bytes: number;
}

/** Work sent to the device since the backend started (see WebGpuBackend.workCounts). */
export interface WebGpuWorkCounts {
  /** Compute dispatches recorded. */
  readonly dispatches: number;
  /** Command buffers submitted to the queue. */
  readonly submits: number;
  /** Buffer-to-buffer copies recorded (a compiled while/cond filling its outputs). */
  readonly copies: number;
  /** Buffers mapped back to the host (`await x.data()`, a while predicate, a cond index). */
  readonly readbacks: number;
}

/** Arrays of at most this many elements keep a host copy when the host knows their values (see GpuBuffer.shadow). */
const SHADOW_MAX = 16;

/**
 * Eager signatures kept with shape-specialised shaders, where every signature
 * holds pipelines of its own: measured on SwiftShader, a one-op tanh pipeline
 * costs ~530 KiB of host memory (RSS over 300 new shapes) and 24 ms to compile,
 * larger kernels ~0.9 MB, so 4,096 signatures would hold 2-4 GB; 256 hold
 * ~130-230 MB and still cover an eager model step's working set of ops. With
 * generic shaders, signatures share one pipeline per kernel structure.
 */
export const SPECIALISED_EAGER_SIGNATURES = 256;

export class WebGpuBackend implements Backend<WebGpuBuffer> {
  readonly name = "webgpu";
  // A spill needs a synchronous read, which a GPU cannot do.
  readonly spillable = false;

  private readonly rt: GpuRuntime;

  /** Made by loadWebGpuBackend(); `runtime` is a GpuRuntime (typed unknown to keep WebGPU's types out of the declarations). */
  constructor(runtime: unknown) {
    this.rt = runtime as GpuRuntime;
  }

  /**
   * Eager signatures the eager op cache keeps for this backend before evicting the least recently
   * used: SPECIALISED_EAGER_SIGNATURES (or the kernel cache capacity if lower) with shape-specialised
   * shaders, whose pipelines each signature holds; the default otherwise.
   */
  get preparedOpCapacity(): number {
    return this.rt.specializeShapes ? Math.min(SPECIALISED_EAGER_SIGNATURES, kernelCacheCapacity()) : DEFAULT_PREPARED_OP_CAPACITY;
  }

  /** The adapter this backend runs on, as the platform names it. */
  get adapterName(): string {
    return this.rt.ctx.adapterName;
  }

  /** Whether the device was lost (a driver reset, `device.destroy()`): every use then throws; `loadWebGpuBackend()` starts a new one. */
  get deviceLost(): boolean {
    return this.rt.lostReason !== null;
  }

  /** The largest buffer this device binds, in bytes (an array is refused beyond it). */
  get maxStorageBufferBindingSize(): number {
    return this.rt.ctx.maxStorageBufferBindingSize;
  }

  /**
   * Compute pipelines in the pipeline cache. They are cached by their WGSL, which holds no sizes or
   * strides (those travel in a small uniform buffer per dispatch), so a known kernel at a new
   * shape adds none. A pipeline leaves the cache when no cached program uses it any more
   * (`clearCache()`, eviction of a program) and, least recently used first, beyond the kernel
   * cache capacity (4096; also `memoryStats().pipelines`).
   */
  get pipelineCount(): number {
    return this.rt.pipelineCount;
  }

  /** Dispatches, submits, copies and readbacks so far: take the difference around a call to count its work. */
  get workCounts(): WebGpuWorkCounts {
    const { dispatches, submits, copies, readbacks } = this.rt;
    return { dispatches, submits, copies, readbacks };
  }

  /**
   * A jitted while loop or cond runs compiled here although its predicate or index is on the
   * GPU: the call allocates and returns its outputs at once and queues a driver on the
   * runtime's chain that reads the predicate (one small mapped read per iteration), runs the
   * compiled bodies and copies the final values into the outputs. Later programs, frees and
   * reads queue behind it, so `await y.data()` sees the result. This keeps JAX's semantics
   * exactly (only the taken branch runs; no NaN of an untaken branch can leak), where running
   * both branches and selecting would not in general.
   */
  readonly deferred: DeferredExecution<WebGpuBuffer> = {
    allocate: (aval) => this.rt.alloc(deviceWords(aval.size, aval.dtype), `an output of ${aval.str()}`),
    retain: (buf) => this.rt.retain(buf as GpuBuffer),
    copy: (src, dst) => this.rt.copy(src as GpuBuffer, dst as GpuBuffer),
    defer: (driver) => this.rt.after(driver),
    nested: (f) => this.rt.nested(f),
    readNow: async (buf, aval) => fromWords((await this.rt.readWords([buf as GpuBuffer]))[0], aval.dtype, aval.size),
  };

  fromHost(data: TypedArray, aval: ShapedArray): WebGpuBuffer {
    const buf = this.rt.alloc(deviceWords(aval.size, aval.dtype), `an array of ${aval.str()}`);
    this.rt.write(buf, toWords(data, aval.dtype));
    if (aval.size <= SHADOW_MAX) buf.shadow = data.slice();
    return buf;
  }
  readSync(buf: WebGpuBuffer, aval: ShapedArray): TypedArray {
    const shadow = (buf as GpuBuffer).shadow;
    if (shadow) return shadow.slice();
    throw new BackendError(
      `webgpu: an array (${aval.str()}) on the GPU cannot be read synchronously (dataSync, item, tolist, String, or moving it to another backend); ` +
        `read it with \`await x.data()\`, or compute on the wasm backend`,
    );
  }
  read(buf: WebGpuBuffer, aval: ShapedArray): Promise<TypedArray> {
    return this.rt.read(buf as GpuBuffer, aval);
  }
  free(buf: WebGpuBuffer): void {
    this.rt.release(buf as GpuBuffer);
  }

  prepareOp<P extends FirstOrderPrimitive>(prim: P, params: ParamsOf<P>, inAvals: ShapedArray[], outAvals: ShapedArray[]): OpRunner<WebGpuBuffer> {
    // Compiled on the first operation that needs the GPU: ops on small host-known values never do.
    let program: WebGpuProgram | null = null;
    const smallOutputs = outAvals.every((a) => a.size <= SHADOW_MAX);
    return {
      run: (buffers) => {
        const inputs = buffers as GpuBuffer[];
        if (smallOutputs && inputs.every((b) => b.shadow)) {
          // Small values the host knows (constants of a trace, folded scalars) stay known: computed by the reference rule.
          const hostIns = inputs.map((b, i) => new HostArray(b.shadow!.slice(), inAvals[i].shape, inAvals[i].dtype));
          return interpret(prim, params, hostIns, outAvals).map((o, i) => this.fromHost(o.data, outAvals[i]));
        }
        if (!program) {
          const ins = inAvals.map((a) => new Var(a));
          const outs = outAvals.map((a) => new Var(a));
          const jaxpr = new Jaxpr([], ins, [new JaxprEqn(prim, ins, params, outs)], outs);
          program = new WebGpuProgram(Planner.plan(new ClosedJaxpr(jaxpr, []), WEBGPU_TARGET), this.rt);
        }
        return program.run(inputs, []);
      },
      dispose: () => program?.dispose(),
    };
  }

  compile(closed: ClosedJaxpr, constBuffers: WebGpuBuffer[]): Executable<WebGpuBuffer> | null {
    if (closed.jaxpr.eqns.some((e) => isHigherOrder(e.primitive))) return null;
    const program = new WebGpuProgram(Planner.plan(closed, WEBGPU_TARGET), this.rt);
    return {
      run: (inputs, donated) => program.run(inputs as GpuBuffer[], constBuffers as GpuBuffer[], donated),
      describe: () => `${program.describe()}\n\n# generated WGSL\n${program.kernelCode()}`,
      // Dropped from jit's cache: its buffers go back to the pool once queued work is done (runtime.ts).
      dispose: () => program.dispose(),
    };
  }

  /** Resolves once every queued dispatch and host step has finished (for timing). */
  sync(): Promise<void> {
    return this.rt.sync();
  }
}

let starting: Promise<WebGpuBackend> | null = null;
let started: WebGpuBackend | null = null;
let startError: BackendError | null = null;

/** The running WebGPU backend, or null before `loadWebGpuBackend()` resolved. */
export function webGpuBackendIfLoaded(): WebGpuBackend | null {
  return started;
}

/** Why the WebGPU backend is not running (null while it is, or before a start was tried). */
export function webGpuStartError(): BackendError | null {
  return startError;
}

/**
 * Starts the WebGPU backend: in browsers on `navigator.gpu`, in Node on the
 * optional package `webgpu` (Dawn; on SwiftShader where there is no GPU).
 * Registers it as "webgpu" and, with `makeDefault`, makes it the default.
 * Rejects with a BackendError naming what is missing when there is no adapter.
 * A second call returns the first one's backend, unless its device was lost
 * (then it starts a new one: arrays of the lost device are gone).
 */
export async function loadWebGpuBackend({ makeDefault = false }: { makeDefault?: boolean } = {}): Promise<WebGpuBackend> {
  if (started?.deviceLost) {
    started = null;
    starting = null;
  }
  starting ??= acquireGpu().then(
    (ctx) => {
      started = new WebGpuBackend(new GpuRuntime(ctx));
      startError = null;
      return started;
    },
    (e: unknown) => {
      starting = null;
      startError = e instanceof BackendError ? e : new BackendError(`webgpu: the backend could not start: ${String((e as Error)?.message ?? e)}`);
      throw startError;
    },
  );
  const backend = await starting;
  registerBackend(backend, { makeDefault });
  return backend;
}
