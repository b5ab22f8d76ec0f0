// Keeping the pages of large readback buffers committed between readbacks
// (Node on Linux, glibc's malloc), and filling them without zeroing them first.
//
// Every `data()`/`dataSync()` returns a fresh typed array the caller owns, so
// a loop that reads a 1e6-element result each step allocates a 4 MB
// ArrayBuffer per step and drops it. Node allocates ArrayBuffers with calloc.
// glibc serves a 4 MB request from its heap once its dynamic mmap threshold
// has risen past 4 MB (it rises to the size of the largest mmapped chunk freed
// so far, at most 32 MiB), and returns the heap's free top to the operating
// system whenever it exceeds the trim threshold, twice the mmap threshold
// (8 MB after 4 MB chunks). A garbage collection frees a dozen dead readback
// buffers at once, the heap top is trimmed, and the next readbacks fault
// every page back in: measured on W2 as taught (jit tanh(x*2+1)*x on 1e6
// elements, results never disposed, 2-core VM, Node 20, load 17-20): 200-350
// page faults and 10-15 ms of CPU per call, where the hand-disposed loop,
// whose buffers die young and one scavenge at a time, often paid 0-50.
//
// Freeing one mmapped chunk of just under 32 MiB raises both thresholds to
// their largest (mmap 32 MiB, trim 64 MiB) for the rest of the process, so
// freed readback buffers stay in the heap and are reused: same measurement,
// 34-54 faults and 6.2-6.9 ms of CPU per call. The cost: glibc may keep up to
// 64 MiB of free heap instead of 8 MB, a constant. The priming buffer is
// never touched, so it is never committed; it is freed at the next
// collection, which is when the thresholds change. Environment variables
// that set glibc's thresholds (MALLOC_TRIM_THRESHOLD_ ...) turn its dynamic
// thresholds off, and then this changes nothing. Other allocators (musl,
// browsers' PartitionAlloc, macOS, Windows) are left alone.

import type { TypedArray } from "./dtype";

/** glibc's initial mmap threshold: below it, frees do not return memory to the OS at once. */
const GLIBC_DEFAULT_MMAP_THRESHOLD = 128 * 1024;
/** glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: a freed mmapped chunk larger than this moves no threshold. */
const GLIBC_MMAP_THRESHOLD_MAX = 32 * 2 ** 20;
/** Room for glibc's chunk header and page rounding, so the chunk stays at or under the maximum. */
const CHUNK_OVERHEAD = 64 * 1024;

// Copying out (`copyOut`): a readback's typed array is written in full by the
// copy, so on Node it is allocated uninitialised (Buffer.allocUnsafeSlow:
// malloc instead of calloc). A freed readback buffer that glibc kept in its
// heap (above) is then reused as it is; `slice()` zeroes all of it first, an
// extra pass over the memory. Measured (3.2 MB, the W5 conv's output, Node
// 20, 2-core VM at load 13, CPU ms per copy min / median of 60 rounds of
// 10): slice() 0.243 / 0.382, allocUnsafeSlow + set() 0.159 / 0.260. The
// array covers its whole ArrayBuffer (byteOffset 0, exact length), as a
// slice's does, and every byte is overwritten, so no stale heap data shows.
// Below COPY_OUT_UNSAFE_BYTES the call costs more than the zeroing saves.
const COPY_OUT_UNSAFE_BYTES = 64 * 1024;

interface UnsafeBufferFactory {
  allocUnsafeSlow(size: number): { buffer: ArrayBuffer; byteOffset: number; byteLength: number };
}
const nodeBuffer: UnsafeBufferFactory | undefined = (globalThis as { Buffer?: UnsafeBufferFactory }).Buffer;

/** A copy of `src` in a new typed array of its type that the caller owns (a readback). */
export function copyOut<T extends TypedArray>(src: T): T {
  if (nodeBuffer === undefined || src.byteLength < COPY_OUT_UNSAFE_BYTES) return src.slice() as T;
  const raw = nodeBuffer.allocUnsafeSlow(src.byteLength);
  // Node's allocUnsafeSlow never pools; a polyfill that did would expose its pool through `.buffer`.
  if (raw.byteOffset !== 0 || raw.buffer.byteLength !== src.byteLength) return src.slice() as T;
  const Ctor = src.constructor as new (buffer: ArrayBuffer, byteOffset: number, length: number) => T;
  const out = new Ctor(raw.buffer, raw.byteOffset, src.length);
  out.set(src as ArrayLike<number> & T);
  return out;
}

let primed = false;

/** Called before a readback of `bytes`: the first large one primes glibc's thresholds (see above). */
export function primeHostHeapFor(bytes: number): void {
  if (primed || bytes < GLIBC_DEFAULT_MMAP_THRESHOLD) return;
  primed = true;
  if (!isNodeOnLinux()) return;
  // Dropped at once: what matters is glibc's free() of it, at the next collection.
  new ArrayBuffer(GLIBC_MMAP_THRESHOLD_MAX - CHUNK_OVERHEAD);
}

function isNodeOnLinux(): boolean {
  const proc = (globalThis as { process?: { platform?: string; versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === "string" && proc.platform === "linux";
}
