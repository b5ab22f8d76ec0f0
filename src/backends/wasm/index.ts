// The wasm backend: arrays live in one WebAssembly linear memory; jitted
// jaxprs are planned (../plan/planner.ts) to fused SIMD kernels generated at run
// time plus the hand-written Rust GEMM/conv kernels; eager operations run as
// one-equation programs (prepareOp), which the eval trace caches per signature.

import type { ShapedArray } from "../../core/aval";
import { registerBackend, type Backend, type Executable, type OpRunner, type StackedRows } from "../../core/backend";
import type { TypedArray } from "../../core/dtype";
import { BackendError } from "../../core/errors";
import { copyOut } from "../../core/host_heap";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../../core/ir";
import { isHigherOrder, type FirstOrderPrimitive, type ParamsOf } from "../../core/primitives";
import { fusionGroupsOf } from "./fusion_groups";
import { Planner } from "../plan/planner";
import { storageBytes, WASM_TARGET } from "../plan/lowered_program";
import { fetchKernelBytes, KERNELS_URL } from "./kernel_binary";
import { getWasmKernels, instantiateWasmKernels, type WasmKernels } from "./kernels";
import type { WasmBuffer } from "./buffer";
import { WasmMemory } from "./memory";
import { WasmProgram, viewOf } from "./program";
import { getThreadPool, setPoolKernelBytes } from "./threads";

export class WasmBackend implements Backend<WasmBuffer> {
  readonly name = "wasm";
  readonly spillable = true;
  /**
   * The linear memory and its kernels, for tinyflow's own modules and tests. Internal, and
   * stripped from the published declarations (tsconfig.build.json `stripInternal`) with the
   * constructor: they name WebAssembly's types, which a consumer without the DOM lib lacks.
   * @internal
   */
  readonly mem: WasmMemory;

  /** Made by wasmBackend() and loadWasmBackend(). @internal */
  constructor(mem: WasmMemory) {
    this.mem = mem;
  }

  fromHost(data: TypedArray, aval: ShapedArray): WasmBuffer {
    const buf = this.mem.alloc(aval.size * (aval.dtype === "bool" ? 1 : 4));
    viewOf(this.mem, buf, aval.dtype, aval.size).set(data);
    return buf;
  }
  readSync(buf: WasmBuffer, aval: ShapedArray): TypedArray {
    return copyOut(viewOf(this.mem, buf, aval.dtype, aval.size));
  }
  async read(buf: WasmBuffer, aval: ShapedArray): Promise<TypedArray> {
    return this.readSync(buf, aval);
  }
  free(buf: WasmBuffer): void {
    this.mem.free(buf);
  }

  /** Rows of a buffer are plain pointers into it: a scan's programs write their outputs straight into its stacked outputs. */
  readonly stackedRows: StackedRows<WasmBuffer> = {
    allocate: (aval) => this.mem.alloc(aval.size * storageBytes(aval.dtype)),
    row: (buf, rows, index) => {
      const bytes = buf.bytes / rows;
      return { ptr: buf.ptr + index * bytes, bytes, refs: 1 };
    },
    copy: (src, dst) => {
      if (src.bytes > 0) new Uint8Array(this.mem.memory.buffer).copyWithin(dst.ptr, src.ptr, src.ptr + src.bytes);
    },
  };

  prepareOp<P extends FirstOrderPrimitive>(prim: P, params: ParamsOf<P>, inAvals: ShapedArray[], outAvals: ShapedArray[]): OpRunner<WasmBuffer> {
    const ins = inAvals.map((a) => new Var(a));
    const outs = outAvals.map((a) => new Var(a));
    const jaxpr = new Jaxpr([], ins, [new JaxprEqn(prim, ins, params, outs)], outs);
    const program = new WasmProgram(Planner.plan(new ClosedJaxpr(jaxpr, []), WASM_TARGET), this.mem, this.mem.kernels);
    return { run: (inputs) => program.run(inputs, NO_CONSTS), dispose: () => program.dispose() };
  }

  compile(closed: ClosedJaxpr, constBuffers: WasmBuffer[]): Executable<WasmBuffer> | null {
    if (closed.jaxpr.eqns.some((e) => isHigherOrder(e.primitive))) return null;
    const lowered = Planner.plan(closed, WASM_TARGET);
    const program = new WasmProgram(lowered, this.mem, this.mem.kernels);
    return {
      run: (inputs, donated, destinations) => program.run(inputs, constBuffers, donated, destinations),
      describe: () => `${program.describe()}\n\n# generated kernels\n${program.kernelCode()}`,
      profile: () => program.profile(),
      fusionGroups: () => fusionGroupsOf(closed.jaxpr, lowered),
      dispose: () => program.dispose(),
    };
  }

  /** Bytes of linear memory currently allocated (arrays, workspaces, constants). */
  liveBytes(): number {
    return this.mem.liveBytes();
  }
}

const NO_CONSTS: WasmBuffer[] = [];

let instance: WasmBackend | null = null;

function start(kernels: WasmKernels): WasmBackend {
  const backend = new WasmBackend(new WasmMemory(kernels));
  // Boot the worker threads now, in the background, so the first large
  // kernel (or a jit's first call) does not wait for them.
  getThreadPool(kernels).prestart();
  return backend;
}

/** The process-wide wasm backend, started synchronously (Node: the kernels are read from disk). */
export function wasmBackend(): WasmBackend {
  if (instance === null) {
    try {
      instance = start(getWasmKernels());
    } catch (e) {
      throw new BackendError(`the wasm backend could not start: ${(e as Error).message}`);
    }
  }
  return instance;
}

/**
 * Starts the wasm backend asynchronously from `source` (the .wasm's URL or its
 * bytes; by default the file next to tinyflow's kernel loader, KERNELS_URL).
 * Browsers do this by themselves on import (`await ready()` waits for it);
 * call it for kernels hosted elsewhere. The backend becomes the default when
 * `makeDefault` (the default) is set. Resolves to the running backend; a
 * second call returns the first one's backend.
 */
export async function loadWasmBackend(source: URL | string | Uint8Array = KERNELS_URL, { makeDefault = true } = {}): Promise<WasmBackend> {
  if (instance !== null) return instance;
  const bytes = source instanceof Uint8Array ? source : await fetchKernelBytes(source);
  if (instance === null) {
    let kernels: WasmKernels;
    try {
      kernels = instantiateWasmKernels({ bytes });
    } catch (e) {
      throw new BackendError(`the wasm backend could not start: ${(e as Error).message}`);
    }
    setPoolKernelBytes(kernels, bytes);
    instance = start(kernels);
  }
  registerBackend(instance, { makeDefault });
  return instance;
}
