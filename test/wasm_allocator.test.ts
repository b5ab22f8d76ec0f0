// The wasm heap's allocator (wasm/src/alloc.rs): exact same-size reuse,
// coalescing and splitting, the top of the heap given back, alignment, its
// invariants under threads, and the bound on the linear memory that these
// buy over ever-new sizes (issue 11: the memory had grown to 636 MB with
// 0.1 MB live). Each test has an instance of its own, on a fresh memory.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { getBackend, np } from "../src/index";
import { readKernelBytes } from "../src/backends/wasm/kernel_binary";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { blockSize } from "./wasm_block_size";

const MiB = 2 ** 20;

/** xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const fresh = (): WasmKernels => instantiateWasmKernels({ shared: false });

describe("wasm allocator", () => {
  it("gives a freed block back to the next request of its size, at once", () => {
    const K = fresh();
    const keep = K.alloc(100); // neighbours stay allocated, so nothing coalesces
    for (const size of [4, 100, 1000, 1024, 4096, 65536, 1 << 20, 3 * MiB + 12]) {
      const p = K.alloc(size);
      const fence = K.alloc(16);
      K.free(p, size);
      expect(K.alloc(size)).toBe(p);
      K.free(p, size);
      K.free(fence, 16);
    }
    K.free(keep, 100);
  });

  it("merges freed neighbours and splits a large free block", () => {
    const K = fresh();
    // Sizes of whole blocks (see blockSize) whose sum is one too, so the merged request fits exactly.
    const sizes = [3072, 5120, 7168];
    const blocks = sizes.map((s) => K.alloc(s));
    const top = K.alloc(64); // keeps the three off the top of the heap
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]).toBe(blocks[i - 1] + blockSize(sizes[i - 1]));
    const total = sizes.reduce((a, s) => a + blockSize(s), 0);
    const free0 = K.heapFreeBytes(true);
    // freed out of order: the middle one merges with both sides
    K.free(blocks[0], sizes[0]);
    K.free(blocks[2], sizes[2]);
    K.free(blocks[1], sizes[1]);
    expect(K.heapFreeBytes(true)).toBe(free0 + total);
    // one request of the merged size fits exactly where the three were
    const merged = K.alloc(total);
    expect(merged).toBe(blocks[0]);
    K.free(merged, total);
    // smaller requests split the merged block (which took in the alignment
    // sliver below the first block, if any); the rest stays free
    const inMerged = (p: number, size: number): boolean => p >= blocks[0] - 48 && p + blockSize(size) <= blocks[0] + total;
    const small = K.alloc(200);
    expect(inMerged(small, 200)).toBe(true);
    expect(K.heapFreeBytes()).toBe(free0 + total - blockSize(200));
    const mid = K.alloc(4000);
    expect(inMerged(mid, 4000)).toBe(true);
    expect(mid >= small + 208 || mid + 4032 <= small).toBe(true);
    K.free(small, 200);
    K.free(mid, 4000);
    K.free(top, 64);
    K.heapFreeBytes(true);
  });

  it("gives a block that reaches the top back to the bump pointer: growing sizes reuse one region", () => {
    const K = fresh();
    const memory0 = K.memory.buffer.byteLength;
    // 256 sizes from 16 KiB to 4 MiB, each freed before the next: the old
    // size-class heap kept one block per class (~500 MB in all)
    for (let n = 1; n <= 256; n++) {
      const size = n * 16384 + 48;
      const p = K.alloc(size);
      expect(p % 64).toBe(0);
      K.free(p, size);
    }
    expect(K.memory.buffer.byteLength - memory0).toBeLessThanOrEqual(4 * MiB + 256 * 1024);
    expect(K.heapFreeBytes(true)).toBeLessThan(64); // at most an alignment sliver
  });

  it("aligns blocks (16 bytes, 64 from 1 KiB) and counts live bytes by block size", () => {
    const K = fresh();
    const next = rng(3);
    const live0 = K.liveBytes();
    const blocks: Array<[number, number]> = [];
    let expected = 0;
    for (let i = 0; i < 2000; i++) {
      const size = 1 + Math.floor(next() ** 3 * 20000);
      const p = K.alloc(size);
      expect(p % (size >= 1024 ? 64 : 16)).toBe(0);
      blocks.push([p, size]);
      expected += blockSize(size);
      if (next() < 0.4) {
        const [q, s] = blocks.splice(Math.floor(next() * blocks.length), 1)[0];
        K.free(q, s);
        expected -= blockSize(s);
      }
    }
    expect(K.liveBytes() - live0).toBe(expected);
    for (const [q, s] of blocks) K.free(q, s);
    expect(K.liveBytes()).toBe(live0);
    expect(K.heapFreeBytes(true)).toBeGreaterThanOrEqual(0); // throws when an invariant broke
  });

  it("keeps the memory within 2x the peak live bytes over bursts of ever-new sizes", () => {
    // The eager pattern of issue 11 on the allocator alone: each step makes
    // five arrays of a size no step had before ([n, 8] floats and a scalar),
    // and they are freed in bursts, as finalizers free dead arrays, in random
    // order, every 1 to 64 MiB of garbage.
    {
      const K = fresh();
      const next = rng(11);
      const memory0 = K.memory.buffer.byteLength;
      const garbage: Array<[number, number]> = [];
      let garbageBytes = 0;
      let burst = MiB;
      let peak = 0;
      const live0 = K.liveBytes();
      for (let n = 1; n <= 3090; n++) {
        for (const size of [32 * n, 32 * n, 32 * n, 32 * n, 4]) {
          garbage.push([K.alloc(size), size]);
          garbageBytes += size;
        }
        peak = Math.max(peak, K.liveBytes() - live0);
        if (garbageBytes >= burst) {
          while (garbage.length) {
            const [p, s] = garbage.splice(Math.floor(next() * garbage.length), 1)[0];
            K.free(p, s);
          }
          garbageBytes = 0;
          burst = Math.min(64 * MiB, burst * 2);
        }
      }
      const grown = K.memory.buffer.byteLength - memory0;
      // measured: 73 MB for a 67 MB peak (the size-class heap: 419 MB for 79 MB)
      expect(grown).toBeLessThanOrEqual(2 * peak + 4 * MiB);
      for (const [p, s] of garbage) K.free(p, s);
      expect(K.heapFreeBytes(true)).toBeGreaterThanOrEqual(0);
    }
  });

  it("keeps the backend's memory bounded under eager code over ever-new sizes", async () => {
    // Awaiting each result lets finalizers free the dead arrays as the loop
    // goes, so what is live stays small; the memory beyond it is the heap's.
    const wasm = getBackend("wasm") as unknown as { liveBytes(): number; mem: { memory: WebAssembly.Memory } };
    const memory0 = wasm.mem.memory.buffer.byteLength;
    const live0 = wasm.liveBytes();
    let peak = 0;
    for (let n = 1; n <= 400; n++) {
      const x = np.ones([n, 40]);
      await np.sum(np.tanh(np.add(np.exp(x), x))).data();
      peak = Math.max(peak, wasm.liveBytes() - live0);
    }
    const grown = wasm.mem.memory.buffer.byteLength - memory0;
    // measured: 5.3 MB for a 4.7 MB peak (the size-class heap: 32 MB for 5.4 MB)
    expect(grown).toBeLessThanOrEqual(2 * peak + 4 * MiB);
  }, 60_000);
});

// Workers that instantiate the module on one shared memory and allocate at
// once (plain JS: eval'd workers have no TS loader). Each fills its blocks
// with its id and checks them before freeing: overlapping blocks would show.
const WORKER_SRC = `
const { parentPort, workerData } = require("node:worker_threads");
const { bytes, memory, id, iters, flag, threads } = workerData;
const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const stack = e.alloc(1 << 20);
e.__stack_pointer.value = stack + (1 << 20);
const go = new Int32Array(memory.buffer, flag, 1);
Atomics.add(go, 0, 1);
while (Atomics.load(go, 0) < threads) {}
let s = id * 2654435761 >>> 0 || 1;
const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
const live = [];
let bad = 0;
for (let i = 0; i < iters; i++) {
  const u = next();
  const size = 4 * (1 + Math.floor(u < 0.6 ? next() * 250 : u < 0.95 ? next() * 16000 : next() * 250000));
  const p = e.alloc(size);
  if (p === 0 || p % (size >= 1024 ? 64 : 16) !== 0) { bad++; continue; }
  new Int32Array(memory.buffer, p, size >> 2).fill(id);
  live.push([p, size]);
  while (live.length > 48 || (i === iters - 1 && live.length)) {
    const [q, n] = live.splice(Math.floor(next() * live.length), 1)[0];
    const v = new Int32Array(memory.buffer, q, n >> 2);
    for (let j = 0; j < v.length; j++) if (v[j] !== id) { bad++; break; }
    e.free(q, n);
  }
}
e.free(stack, 1 << 20);
parentPort.postMessage(bad);
`;

describe("wasm allocator on threads", () => {
  it("three threads allocating and freeing mixed sizes at once never share a byte and leave the heap consistent", async () => {
    const K = instantiateWasmKernels({ shared: true });
    const bytes = readKernelBytes();
    const flag = K.alloc(16);
    new Int32Array(K.memory.buffer, flag, 1)[0] = 0;
    const live0 = K.liveBytes();
    const threads = 3;
    const bad = await Promise.all(
      Array.from(
        { length: threads },
        (_, t) =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(WORKER_SRC, { eval: true, workerData: { bytes, memory: K.memory, id: t + 1, iters: 20000, flag, threads } });
            w.once("message", (m: number) => {
              resolve(m);
              void w.terminate();
            });
            w.once("error", reject);
          }),
      ),
    );
    expect(bad).toEqual([0, 0, 0]);
    expect(K.liveBytes()).toBe(live0);
    K.free(flag, 16);
    // everything the threads freed coalesces; the heap stays within a few times one thread's window
    expect(K.heapFreeBytes(true)).toBeGreaterThanOrEqual(0);
    expect(K.memory.buffer.byteLength).toBeLessThan(64 * MiB);
  }, 60_000);
});
