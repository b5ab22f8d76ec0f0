// Property: the wasm heap's allocator (wasm/src/alloc.rs) never hands out
// overlapping or misaligned blocks, keeps what was written into a block until
// it is freed, counts live bytes exactly, and keeps its invariants (checked
// by its heap_check hook) after any sequence of allocations, frees and
// flushes of its quick lists, and after everything is freed and coalesced.
// Sequences mix tiny, small,
// just-under/over 1 KiB, large and MiB-sized requests, repeated sizes (the
// quick path) and frees in any order. NUM_RUNS (default 30) sets the runs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels";
import { blockSize } from "../test/wasm_block_size";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 30);

type Op = { kind: "alloc"; size: number } | { kind: "free"; pick: number } | { kind: "flush" };

const sizeArb = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 65, max: 1023 }),
  fc.integer({ min: 1000, max: 1100 }),
  fc.integer({ min: 1101, max: 70_000 }),
  fc.integer({ min: 70_001, max: 3 * 2 ** 20 }),
  fc.constantFrom(16, 256, 1024, 4096, 65536), // repeated sizes: the quick lists
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: sizeArb.map((size) => ({ kind: "alloc" as const, size })) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: "free" as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
);

describe("wasm allocator (property)", () => {
  it("blocks never overlap, stay aligned and keep their contents; the heap stays consistent", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), (ops) => {
        const K = instantiateWasmKernels({ shared: false });
        const live0 = K.liveBytes();
        const blocks: Array<{ ptr: number; size: number; tag: number }> = [];
        let tag = 1;
        let liveExpected = 0;
        const view = (ptr: number, size: number): Uint8Array => new Uint8Array(K.memory.buffer, ptr, size);
        // Each block holds its tag (mod 251, never 0) in its first and last bytes and every 4 KiB between.
        const mark = (t: number): number => 1 + (t % 251);
        const stamp = (b: { ptr: number; size: number; tag: number }): void => {
          const v = view(b.ptr, b.size);
          for (let i = 0; i < b.size; i += 4096) v[i] = mark(b.tag);
          v[b.size - 1] = mark(b.tag);
        };
        const intact = (b: { ptr: number; size: number; tag: number }): boolean => {
          const v = view(b.ptr, b.size);
          for (let i = 0; i < b.size; i += 4096) if (v[i] !== mark(b.tag)) return false;
          return v[b.size - 1] === mark(b.tag);
        };
        for (const op of ops) {
          if (op.kind === "alloc") {
            const b = { ptr: K.alloc(op.size), size: op.size, tag: tag++ };
            expect(b.ptr % (op.size >= 1024 ? 64 : 16)).toBe(0);
            expect(b.ptr + op.size).toBeLessThanOrEqual(K.memory.buffer.byteLength);
            for (const o of blocks) {
              const apart = b.ptr >= o.ptr + blockSize(o.size) || o.ptr >= b.ptr + blockSize(b.size);
              if (!apart) throw new Error(`block [${b.ptr}, +${op.size}) overlaps [${o.ptr}, +${o.size})`);
            }
            stamp(b);
            blocks.push(b);
            liveExpected += blockSize(op.size);
          } else if (op.kind === "free" && blocks.length) {
            const [b] = blocks.splice(op.pick % blocks.length, 1);
            expect(intact(b)).toBe(true);
            K.free(b.ptr, b.size);
            liveExpected -= blockSize(b.size);
          } else if (op.kind === "flush") {
            K.heapFreeBytes(true);
          }
        }
        for (const b of blocks) expect(intact(b)).toBe(true);
        expect(K.liveBytes() - live0).toBe(liveExpected);
        expect(K.heapFreeBytes()).toBeGreaterThanOrEqual(0); // throws when an invariant broke
        for (const b of blocks) K.free(b.ptr, b.size);
        expect(K.liveBytes()).toBe(live0);
        // Everything freed and coalesced: the invariants hold (free blocks
        // maximal, none touching the top, every one listed and tagged).
        expect(K.heapFreeBytes(true)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: NUM_RUNS },
    );
  }, 120_000);
});
