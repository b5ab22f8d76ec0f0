// The conv job of the wasm thread pool (ThreadPool.conv, wasm/src/conv.rs
// run_range) and conv epilogues: a W7-sized conv and its gradients really run
// on the workers and equal the unsplit kernels; the filter gradient's result
// does not depend on the thread count; the planner folds bias and relu into a
// conv, and not what a conv epilogue cannot take; bad input gets typed errors.
// (Random shapes: property-tests/conv_threads.prop.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, jit, lax, nn, np, type Tracer } from "../src/index";
import { BackendError } from "../src/core/errors";
import { conv2dShapes, encodeConvEpilogue, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { WasmKernelError } from "../src/backends/wasm/kernel_args";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";
import { randomFloats } from "./float_bits";
import { rng } from "./rng";

const T_OUT = 60_000;
// The W7 CNN's second conv: 64×14×14×16 → 32, 3×3 SAME.
const W7_CONV2: Conv2dParams = { layout: "NHWC", n: 64, h: 14, w: 14, cin: 16, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };

let K: WasmKernels;
let pool: ThreadPool;

beforeAll(async () => {
  K = instantiateWasmKernels();
  pool = new ThreadPool(K, { threads: 2, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
  await pool.whenReady(15_000);
}, T_OUT);

afterAll(() => pool.close());

function operands(p: Conv2dParams): { x: number; w: number; y: number; free(): void } {
  const s = conv2dShapes(p);
  const next = rng(7);
  const x = K.putF32(randomFloats(next, s.xSize));
  const w = K.putF32(randomFloats(next, s.wSize));
  const y = K.putF32(randomFloats(next, s.ySize));
  return { x, w, y, free: () => [[x, s.xSize], [w, s.wSize], [y, s.ySize]].forEach(([ptr, n]) => K.freeF32(ptr!, n!)) };
}

describe("ThreadPool.conv", () => {
  it("splits a W7-sized conv and both gradients across the workers, equal to the unsplit kernels", () => {
    const p = W7_CONV2;
    const s = conv2dShapes(p);
    const o = operands(p);
    const out = K.allocF32(Math.max(s.xSize, s.ySize, s.wSize));
    try {
      const cases = [
        { mode: "forward" as const, a: o.x, b: o.w, size: s.ySize, whole: () => K.conv2d(p, o.x, o.w, out) },
        { mode: "data" as const, a: o.y, b: o.w, size: s.xSize, whole: () => K.conv2dBackwardData(p, o.y, o.w, out) },
        { mode: "filter" as const, a: o.x, b: o.y, size: s.wSize, whole: () => K.conv2dBackwardFilter(p, o.x, o.y, out) },
      ];
      for (const c of cases) {
        const before = pool.splitJobs;
        pool.conv({ params: p, mode: c.mode, a: c.a, b: c.b, out });
        expect(pool.splitJobs, c.mode).toBe(before + 1);
        const split = K.readF32(out, c.size);
        c.whole();
        const whole = K.readF32(out, c.size);
        if (c.mode === "filter") {
          // Summed over 64 images in 8 partial sums instead of one running sum.
          for (let i = 0; i < c.size; i++) expect(Math.abs(split[i]! - whole[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(whole[i]!)));
        } else {
          expect(new Uint32Array(split.buffer)).toEqual(new Uint32Array(whole.buffer));
        }
      }
    } finally {
      o.free();
      K.freeF32(out, Math.max(s.xSize, s.ySize, s.wSize));
    }
  }, T_OUT);

  it("gives the filter gradient bitwise the same on one thread as on two", () => {
    const p = W7_CONV2;
    const s = conv2dShapes(p);
    const o = operands(p);
    const one = new ThreadPool(K, { threads: 1 });
    try {
      pool.conv({ params: p, mode: "filter", a: o.x, b: o.y, out: o.w });
      const two = K.readF32(o.w, s.wSize);
      one.conv({ params: p, mode: "filter", a: o.x, b: o.y, out: o.w });
      expect(new Uint32Array(K.readF32(o.w, s.wSize).buffer)).toEqual(new Uint32Array(two.buffer));
    } finally {
      one.close();
      o.free();
    }
  }, T_OUT);

  it("rejects bad jobs with typed errors naming the problem", () => {
    const p = W7_CONV2;
    const o = operands(p);
    try {
      const bias = K.putF32(new Float32Array(p.cout));
      const epilogue = encodeConvEpilogue([{ op: "add", operand: { kind: "col" } }], [bias]);
      expect(() => pool.conv({ params: p, mode: "data", a: o.y, b: o.w, out: o.x, epilogue })).toThrow(BackendError);
      expect(() => pool.conv({ params: p, mode: "data", a: o.y, b: o.w, out: o.x, epilogue })).toThrow(/only the forward conv takes an epilogue/);
      // An operand that does not fit in memory.
      expect(() => pool.conv({ params: p, mode: "forward", a: o.x, b: o.w, out: K.memory.buffer.byteLength - 64 })).toThrow(WasmKernelError);
      // A block the kernel refuses: relu given an operand.
      const bad = encodeConvEpilogue([{ op: "add", operand: { kind: "const", value: 1 } }], []);
      bad[2] = 0; // "add" with no operand
      expect(() => pool.conv({ params: p, mode: "forward", a: o.x, b: o.w, out: o.y, epilogue: bad })).toThrow(/bad conv epilogue block/);
      K.freeF32(bias, p.cout);
    } finally {
      o.free();
    }
  });

  it("encodeConvEpilogue checks the op count and the vector operands", () => {
    const relu = { op: "relu" as const, operand: { kind: "none" as const } };
    expect(() => encodeConvEpilogue(Array.from({ length: 9 }, () => relu), [])).toThrow(/at most 8 ops, got 9/);
    expect(() => encodeConvEpilogue([{ op: "add", operand: { kind: "col" } }], [])).toThrow(/needs a vector operand/);
    expect(() => encodeConvEpilogue([relu], [64])).toThrow(/1 vector operands given, the ops use 0/);
  });
});

describe("conv epilogues in jit", () => {
  const nhwc = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as ["NHWC", "HWIO", "NHWC"] };
  const arr = (shape: number[], seed: number) => TfArray.fromTyped(randomFloats(rng(seed), shape.reduce((a, b) => a * b, 1)), shape, "float32");
  const lowered = (f: (...a: Tracer[]) => Tracer, ...args: TfArray[]) => (jit(f).lower as (...a: unknown[]) => { text(): string })(...args).text();

  it("folds a per-channel bias, a scale and relu into the conv's store", () => {
    const [x, w, b] = [arr([2, 6, 6, 3], 1), arr([3, 3, 3, 5], 2), arr([5], 3)];
    const f = (xi: Tracer, wi: Tracer, bi: Tracer) => nn.relu(lax.convGeneralDilated(xi, wi, [1, 1], "SAME", nhwc).add(bi).mul(2));
    const text = lowered(f, x, w, b);
    expect(text).toMatch(/conv2d NHWC \(%\d+, %\d+\) -> %\d+:float32\[2,6,6,5\] \(fused epilogue relu\(mul\(add\(x, %\d+\[channel\]\), 2\)\)\)/);
    expect(text).not.toMatch(/\d+: fused kernel/);
    const got = (jit(f)(x, w, b) as TfArray).dataSync() as Float32Array;
    const want = (f(x, w, b) as TfArray).dataSync() as Float32Array;
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it("does not fold a vector that is not per channel, nor a conv output used twice", () => {
    const [x, w] = [arr([2, 6, 6, 3], 1), arr([3, 3, 3, 5], 2)];
    const perPixel = arr([6, 6, 1], 4);
    const f = (xi: Tracer, wi: Tracer, v: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", nhwc).add(v);
    expect(lowered(f, x, w, perPixel)).not.toMatch(/fused epilogue/);
    const g = (xi: Tracer, wi: Tracer) => {
      const y = lax.convGeneralDilated(xi, wi, [1, 1], "SAME", nhwc);
      return np.add(nn.relu(y), y);
    };
    expect(lowered(g, x, w)).not.toMatch(/fused epilogue/);
    const got = (jit(f)(x, w, perPixel) as TfArray).dataSync() as Float32Array;
    expect(Array.from(got)).toEqual(Array.from((f(x, w, perPixel) as TfArray).dataSync() as Float32Array));
  });
});
