// Helpers for the wasm kernel tests that compare float32 results bit for bit:
// seeded random inputs, a bitwise comparison that names the first difference,
// and the float32 reference of one GEMM epilogue op.

import type { EpilogueOpKind } from "../src/backends/wasm/codegen/gemm";
import { rng } from "./rng";

/** `n` floats uniform in [-0.5, 0.5) from a seeded generator (see test/rng.ts). */
export function randomFloats(next: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = next() - 0.5;
  return a;
}

/** `n` floats uniform in [-0.5, 0.5) from their own stream, seeded with `seed`. */
export function seededFloats(n: number, seed: number): Float32Array {
  return randomFloats(rng(seed), n);
}

/** A `rand(n)` drawing from one seeded stream, for a test file's inputs. */
export function floatSource(seed: number): (n: number) => Float32Array {
  const next = rng(seed);
  return (n) => randomFloats(next, n);
}

/** "" when `got` and `want` are bitwise equal, else where they first differ. */
export function sameBits(got: Float32Array, want: Float32Array): string {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return `[${i}] ${got[i]} != ${want[i]}`;
  return "";
}

/** One epilogue op applied in float32, as the generated GEMM's store computes it. */
export function epilogueReference(op: EpilogueOpKind, x: number, v: number): number {
  switch (op) {
    case "add": return Math.fround(x + v);
    case "sub": return Math.fround(x - v);
    case "rsub": return Math.fround(v - x);
    case "mul": return Math.fround(x * v);
    case "div": return Math.fround(x / v);
    case "rdiv": return Math.fround(v / x);
    case "max": return Number.isNaN(x) || Number.isNaN(v) ? NaN : Math.max(x, v);
    case "min": return Number.isNaN(x) || Number.isNaN(v) ? NaN : Math.min(x, v);
    case "relu": return x <= 0 ? 0 : x;
  }
}
