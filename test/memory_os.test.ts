// Memory as the operating system sees it: 10,000-step loops, synchronous and
// awaiting, jitted and eager, with and without dispose(), each in its own
// child process (test/memory_loop.ts), keep RSS and the bytes of ArrayBuffers
// within the memory limit plus a small constant — where an unbounded loop
// would grow by 160 MB (one 16 KB array a step) to 800 MB (eager, five). The
// library's own counter (residentBytes) is checked too, and the last result.
// Small arrays and a 256 KiB limit keep each loop to a few seconds.

import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const STEPS = 10_000;
const ELEMENTS = 4096;
const LIMIT = 256 * 1024;
/** What V8 may keep beyond the limit: heap growth (RSS), buffers a collection leaves (arrayBuffers, measured after one). */
const SLACK = 96 * 2 ** 20;

interface LoopResult {
  rssGrowth: number;
  arrayBuffersGrowth: number;
  residentBytes: number;
  limitBytes: number;
  spilled: number;
  taken: number;
  recomputed: number;
  last: number;
  expected: number;
}

function runLoop(
  mode: "sync" | "async",
  kind: "jit" | "eager",
  release: "dispose" | "keep",
  steps = STEPS,
  elements = ELEMENTS,
  limit = LIMIT,
  collection: "collect" | "leave" = "collect",
): LoopResult {
  const args = [mode, kind, release, String(steps), String(elements), String(limit), collection];
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", path.join(here, "memory_loop.ts"), ...args], {
    cwd: path.resolve(here, ".."),
    encoding: "utf8",
    env: { ...process.env, TINYFLOW_THREADS: "1" },
  });
  return JSON.parse(out.trim().split("\n").pop()!) as LoopResult;
}

/** The loop's last value is right, and device memory, RSS and arrayBuffers stayed bounded. */
function expectBounded(r: LoopResult): void {
  const what = JSON.stringify(r);
  expect(r.last, what).toBe(r.expected);
  expect(r.residentBytes, what).toBeLessThanOrEqual(LIMIT);
  expect(r.rssGrowth, what).toBeLessThan(LIMIT + SLACK);
  expect(r.arrayBuffersGrowth, what).toBeLessThan(SLACK);
}

describe("a 10,000-step loop stays within the memory limit plus a small constant (RSS and arrayBuffers)", () => {
  for (const mode of ["sync", "async"] as const) {
    for (const kind of ["jit", "eager"] as const) {
      for (const release of ["keep", "dispose"] as const) {
        it(`${mode} ${kind}, ${release === "keep" ? "nothing disposed" : "each result disposed"}`, () => {
          const r = runLoop(mode, kind, release);
          expectBounded(r);
        }, 180_000);
      }
    }
  }
});

// Readbacks of 4 MB a step: past the first one, glibc keeps freed readback
// buffers in its heap instead of returning them to the OS (src/core/host_heap.ts),
// which must cost a constant, not a growth.
describe("a loop reading back 4 MB a step stays bounded too (RSS and arrayBuffers)", () => {
  const BIG_ELEMENTS = 1_000_000;
  const BIG_LIMIT = 64 * 2 ** 20;
  for (const mode of ["sync", "async"] as const) {
    it(`${mode} jit, nothing disposed, 520 steps`, () => {
      const r = runLoop(mode, "jit", "keep", 520, BIG_ELEMENTS, BIG_LIMIT);
      const what = JSON.stringify(r);
      expect(r.last, what).toBe(r.expected);
      expect(r.residentBytes, what).toBeLessThanOrEqual(BIG_LIMIT);
      expect(r.rssGrowth, what).toBeLessThan(BIG_LIMIT + SLACK);
      // Spilled host copies (sync) count as ArrayBuffers; they are bounded by the limit.
      expect(r.arrayBuffersGrowth, what).toBeLessThan(BIG_LIMIT + SLACK);
    }, 180_000);
  }
});

// The loops above force a full collection every 250 steps to sample what is
// still held. A user's loop forces none: these run the README's code (nothing
// disposed, no collection forced inside the 10,000 steps) and bound what the
// OS sees, RSS sampled every 250 steps, and what the ArrayBuffers still held
// after the last step (one collection there). Each adds 5-25 s of a child
// process on a loaded 2-core machine.
describe("the same loops with no collection forced inside them (RSS and arrayBuffers)", () => {
  for (const mode of ["sync", "async"] as const) {
    for (const kind of ["jit", "eager"] as const) {
      it(`${mode} ${kind}, nothing disposed, nothing collected by hand`, () => {
        const r = runLoop(mode, kind, "keep", STEPS, ELEMENTS, LIMIT, "leave");
        expectBounded(r);
      }, 180_000);
    }
  }
});

// A jitted 1 MB result read each step, nothing disposed: each step's output
// takes the block of the result read the step before (src/core/residency.ts,
// "Taking read results"), so device memory holds about two results whatever
// the collector does, and the process stays flat without a collection forced.
describe("a loop reading a 1 MB jitted result each step takes the last one's block every step", () => {
  const MB_ELEMENTS = 1 << 18;
  const MB_LIMIT = 64 * 2 ** 20;
  for (const mode of ["sync", "async"] as const) {
    it(`${mode} jit, nothing disposed, nothing collected by hand, 10,000 steps`, () => {
      const r = runLoop(mode, "jit", "keep", STEPS, MB_ELEMENTS, MB_LIMIT, "leave");
      const what = JSON.stringify(r);
      expect(r.last, what).toBe(r.expected);
      // Every step but the first took the block of the result before it (a finalizer may free one first).
      expect(r.taken, what).toBeGreaterThanOrEqual(STEPS * (mode === "sync" ? 1 : 0.95) - 1);
      expect(r.recomputed, what).toBe(0);
      expect(r.spilled, what).toBe(0);
      expect(r.residentBytes, what).toBeLessThanOrEqual(4 * 4 * MB_ELEMENTS);
      expect(r.rssGrowth, what).toBeLessThan(SLACK);
      expect(r.arrayBuffersGrowth, what).toBeLessThan(SLACK);
    }, 180_000);
  }
});
