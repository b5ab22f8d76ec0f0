// Keeping the pages of large readback buffers committed between readbacks
// (Node on Linux, glibc's malloc).
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

/** glibc's initial mmap threshold: below it, frees do not return memory to the OS at once. */
const GLIBC_DEFAULT_MMAP_THRESHOLD = 128 * 1024;
/** glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: a freed mmapped chunk larger than this moves no threshold. */
const GLIBC_MMAP_THRESHOLD_MAX = 32 * 2 ** 20;
/** Room for glibc's chunk header and page rounding, so the chunk stays at or under the maximum. */
const CHUNK_OVERHEAD = 64 * 1024;

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
