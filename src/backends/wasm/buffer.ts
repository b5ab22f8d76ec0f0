// The handle of an array's storage on the wasm backend. It lives apart from
// the allocator (memory.ts) because the public declarations name it (the
// WasmBackend type implements Backend<WasmBuffer>) while the allocator names
// WebAssembly's own types, which a consumer's TypeScript may not declare (no
// DOM lib): this file keeps those out of what tinyflow's .d.ts reach.

/**
 * A block of linear memory, reference counted: a program may return one of its
 * inputs (a reshape, an identity) as an output, and each Array holding the block
 * owns one reference. Zero-byte buffers have no memory (ptr 0).
 */
export interface WasmBuffer {
  readonly ptr: number;
  readonly bytes: number;
  refs: number;
}
