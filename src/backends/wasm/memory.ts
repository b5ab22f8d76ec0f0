// The wasm backend's linear memory: one WebAssembly.Memory shared by the
// Rust kernels and the kernels generated at run time, with the Rust module's
// allocator handing out buffers.

import type { WasmBuffer } from "./buffer";
import type { WasmKernels } from "./kernels";
import { MemoryLimitError } from "../../core/errors";
import { currentOperation } from "../../core/residency";

/** Everything a wasm32 linear memory can address. */
const WASM32_BYTES = 2 ** 32;

export class WasmMemory {
  constructor(readonly kernels: WasmKernels) {}

  get memory(): WebAssembly.Memory {
    return this.kernels.memory;
  }

  alloc(bytes: number): WasmBuffer {
    if (bytes === 0) return { ptr: 0, bytes: 0, refs: 1 };
    if (!(bytes < WASM32_BYTES)) {
      throw new MemoryLimitError(
        `${currentOperation()}: needs a buffer of ${bytes} bytes, more than the 4 GiB a wasm32 memory can address; ` +
          `split the operation into smaller pieces (e.g. lax.scan over chunks of a leading axis) or use smaller shapes`,
      );
    }
    return { ptr: this.kernels.alloc(bytes), bytes, refs: 1 };
  }

  /** Take another reference to a buffer. */
  retain(buf: WasmBuffer): WasmBuffer {
    buf.refs++;
    return buf;
  }

  /** Drop a reference; the memory is released with the last one. */
  free(buf: WasmBuffer): void {
    if (buf.refs <= 0) throw new Error("wasm memory: a buffer was freed more often than it was referenced");
    if (--buf.refs === 0 && buf.bytes > 0) this.kernels.free(buf.ptr, buf.bytes);
  }

  /** Bytes currently allocated. */
  liveBytes(): number {
    return this.kernels.liveBytes();
  }

}
