// Threefry-2x32 on wasm runs as a fused kernel (the planner expands it into
// u32 add/shift/or/xor nodes, plan/threefry.ts), never as a host step: its
// words must equal the interpreter's bit for bit, for random keys and
// counters, broadcast and strided operands, and through the samplers of
// tinyflow.random under jit, in both threefry streams.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, np, setDefaultBackend, type Tracer } from "../src/index";
import * as random from "../src/random";
import { onInterpreter } from "./interpreter_oracle";

/** Deterministic pseudo-random uint32 words (a 32-bit LCG), so failures reproduce. */
function words(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s ^ (s >>> 13);
  }
  return out;
}

const u32 = (shape: number[], seed: number): TfArray => np.array(words(shape.reduce((a, b) => a * b, 1), seed), { dtype: "uint32" }).reshape(shape) as TfArray;

/** Runs `f` eagerly on the interpreter (the oracle) over copies of `args`. */
function onInterpreterCopies<T>(f: (...xs: Tracer[]) => T, args: TfArray[]): T {
  return onInterpreter(() => f(...args.map((a) => a.to("interpreter"))));
}

const bitsOf = (x: Tracer): number[] => Array.from(x.dataSync() as ArrayLike<number>);

function expectSameBits(got: Tracer, want: Tracer): void {
  expect(got.dtype).toBe(want.dtype);
  expect(got.shape).toEqual(want.shape);
  expect(bitsOf(got)).toEqual(bitsOf(want));
}

const hostSteps = (text: string): string[] => text.split("\n").filter((line) => line.includes("HOST FALLBACK"));

describe("threefry2x32 on wasm", () => {
  it("equals the interpreter bit for bit on random keys and counters", () => {
    const both = (k0: Tracer, k1: Tracer, x0: Tracer, x1: Tracer) => lax.threefry2x32(k0, k1, x0, x1);
    for (const [i, shape] of [[1], [7], [3, 5], [2, 3, 9], [1030]].entries()) {
      const [k0, k1, x0, x1] = [0, 1, 2, 3].map((j) => u32(shape, 17 * i + j + 1));
      const args = [k0, k1, x0, x1];
      const got = jit(both)(k0, k1, x0, x1) as unknown as TfArray[];
      const want = onInterpreterCopies(both, args);
      expect(got[0].backend.name).toBe("wasm");
      expectSameBits(got[0], want[0]);
      expectSameBits(got[1], want[1]);
    }
  });

  it("reads broadcast keys and strided (transposed, sliced) counters", () => {
    const f = (k: Tracer, x0: Tracer, x1: Tracer) => {
      const shape = [4, 6];
      const k0 = lax.broadcast(lax.slice(k, [0], [1]).reshape([]), shape);
      const k1 = lax.broadcast(lax.slice(k, [1], [2]).reshape([]), shape);
      const [y0, y1] = lax.threefry2x32(k0, k1, lax.transpose(x0, [1, 0]), lax.slice(x1, [1, 0], [5, 6]));
      return lax.xor(y0, y1);
    };
    const [k, x0, x1] = [u32([2], 3), u32([6, 4], 4), u32([5, 6], 5)];
    expectSameBits(jit(f)(k, x0, x1) as Tracer, onInterpreterCopies(f, [k, x0, x1]) as Tracer);
  });

  it("matches the Random123 known-answer vector under jit", () => {
    // Threefry-2x32-20 with key = counter = 0xffffffff (Random123's kat_vectors).
    const ones = np.array(new Uint32Array([0xffffffff]), { dtype: "uint32" });
    const [y0, y1] = jit((a: Tracer) => lax.threefry2x32(a, a, a, a))(ones) as Tracer[];
    expect([...bitsOf(y0), ...bitsOf(y1)]).toEqual([0x1cb996fc, 0xbb002be7]);
  });

  it("lowers to one fused kernel with both words and no host step", () => {
    const f = (k0: Tracer, k1: Tracer, x0: Tracer, x1: Tracer) => lax.threefry2x32(k0, k1, x0, x1);
    const [k0, k1, x0, x1] = [0, 1, 2, 3].map((j) => u32([64], j));
    const text = jit(f).lower(k0, k1, x0, x1).text();
    expect(hostSteps(text)).toEqual([]);
    expect(text).toMatch(/wasm program: 1 steps \(1 fused kernels\)/);
  });
});

describe("shifts by a constant amount (threefry's rotations) use one SIMD shift", () => {
  it("equal the interpreter for amounts 0..40, incl. >= 32 (which give 0)", () => {
    for (const dtype of ["uint32", "int32"] as const) {
      const x = np.array(words(13, 99), { dtype: "uint32" });
      const xs = dtype === "uint32" ? (x as TfArray) : (lax.bitcastConvertType(x, "int32") as TfArray);
      for (const amount of [0, 1, 9, 31, 32, 33, 40]) {
        const f = (v: Tracer) => [lax.shiftLeft(v, lax.full([13], amount, dtype)), lax.shiftRightLogical(v, lax.full([13], amount, dtype))];
        const got = jit(f)(xs) as Tracer[];
        const want = onInterpreterCopies(f, [xs]);
        expectSameBits(got[0], want[0]);
        expectSameBits(got[1], want[1]);
      }
    }
  });
});

describe("tinyflow.random under jit equals the interpreter", () => {
  // No sampler has a host step on wasm. Their bits equal the interpreter's, except normal's: its inverse CDF
  // (erf_inv) is a polynomial kernel there, within 4 float32 ulp of the interpreter's (wasm_transcendental.test.ts).
  const samplers: [string, (k: Tracer) => Tracer, "bits" | "ulps"][] = [
    ["bits", (k) => random.bits(k, [3, 50]), "bits"],
    ["uniform", (k) => random.uniform(k, [257], { minval: -2, maxval: 3 }), "bits"],
    ["normal", (k) => random.normal(k, [4, 33]), "ulps"],
    ["bernoulli", (k) => random.bernoulli(k, 0.3, [100]), "bits"],
    ["split", (k) => random.split(k, 5), "bits"],
  ];
  for (const partitionable of [true, false]) {
    for (const [name, sample, equality] of samplers) {
      it(`${name} (${partitionable ? "partitionable" : "legacy"} stream)`, () => {
        random.withThreefryPartitionable(partitionable, () => {
          const key = random.key(1234) as TfArray;
          const got = jit(sample)(key) as Tracer;
          const want = onInterpreterCopies(sample, [key]);
          if (equality === "bits") expectSameBits(got, want);
          else {
            const g = Array.from(got.dataSync() as Float32Array);
            const w = Array.from(want.dataSync() as Float32Array);
            g.forEach((v, i) => expect(Math.abs(v - w[i]), `element ${i}: ${v} vs ${w[i]}`).toBeLessThanOrEqual(4 * 2 ** -23 * Math.max(Math.abs(w[i]), 2 ** -126)));
          }
          const onHost = hostSteps(jit(sample).lower(key).text()).map((line) => line.match(/HOST FALLBACK (\w+)/)![1]);
          expect(onHost).toEqual([]);
        });
      });
    }
  }
});
