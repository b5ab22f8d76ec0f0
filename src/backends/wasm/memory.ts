// The wasm backend's linear memory: one WebAssembly.Memory shared by the
// Rust kernels and the kernels generated at run time, with the Rust module's
// allocator handing out buffers.

import { getWasmKernels, type WasmKernels } from "./kernels";

/** A block of linear memory. Zero-byte buffers have no memory (ptr 0). */
export interface WasmBuffer {
  readonly ptr: number;
  readonly bytes: number;
}

export class WasmMemory {
  constructor(readonly kernels: WasmKernels) {}

  get memory(): WebAssembly.Memory {
    return this.kernels.memory;
  }

  alloc(bytes: number): WasmBuffer {
    if (bytes === 0) return { ptr: 0, bytes: 0 };
    return { ptr: this.kernels.alloc(bytes), bytes };
  }

  free(buf: WasmBuffer): void {
    if (buf.bytes > 0) this.kernels.free(buf.ptr, buf.bytes);
  }

  /** Bytes currently allocated. */
  liveBytes(): number {
    return this.kernels.liveBytes();
  }

  static default(): WasmMemory {
    return new WasmMemory(getWasmKernels());
  }
}
