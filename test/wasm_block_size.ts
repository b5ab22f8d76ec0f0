// The block size the wasm allocator gives a request (wasm/src/alloc.rs
// `block_size`), mirrored for the allocator's tests, which count live bytes
// and expect neighbours at exact offsets.

/** 16-byte multiples (at least 16) under 512 bytes; from there up, rounded up to a 32nd of the size's octave, and to 64 bytes from 1 KiB. */
export function blockSize(bytes: number): number {
  if (bytes < 512) return Math.max(16, Math.ceil(bytes / 16) * 16);
  const step = 2 ** (31 - Math.clz32(bytes) - 5);
  const up = Math.ceil(bytes / step) * step;
  return up >= 1024 ? Math.ceil(up / 64) * 64 : up;
}
