// Eager numpy binary ops that convert or broadcast their operands run as one
// fused program on concrete arrays (applyComposite): same values and dtypes
// as the op-by-op and traced paths, and no temporaries left in device memory;
// the cache of their programs is bounded, least recently used out.

import { describe, expect, it } from "vitest";
import { Array as TfArray, getBackend, jit, memoryStats, np, vmap, grad } from "../src/index";
import { compositeCount, programsBuilt } from "../transforms/compiled_call";
import { expectAllclose } from "../src/testing";

const f32 = (data: number[], shape = [data.length]) => TfArray.fromTyped(Float32Array.from(data), shape, "float32");
const i32 = (data: number[], shape = [data.length]) => TfArray.fromTyped(Int32Array.from(data), shape, "int32");

describe("eager composites", () => {
  it("broadcasting and promotion give the values and dtypes of the traced and interpreter paths", () => {
    const x = f32([1, -2, 3.5, 0.25, 4, -1], [2, 3]);
    const row = f32([0.5, -1, 2]);
    const n = i32([1, 2, 3]);
    const cases: [string, () => any, (a: any, b: any, c: any) => any][] = [
      ["x * 2", () => x.mul(2), (a) => a.mul(2)],
      ["x + row", () => np.add(x, row), (a, b) => np.add(a, b)],
      ["2 - x", () => np.subtract(2, x), (a) => np.subtract(2, a)],
      ["int + 1 stays int32", () => np.add(n, 1), (_a, _b, c) => np.add(c, 1)],
      ["int * 1.5 is float32", () => np.multiply(n, 1.5), (_a, _b, c) => np.multiply(c, 1.5)],
      ["int / int is float32", () => np.divide(n, i32([2])), (_a, _b, c) => np.divide(c, i32([2]))],
      ["row max x", () => np.maximum(row, x), (a, b) => np.maximum(b, a)],
      ["int + float row", () => np.add(n, row), (_a, b, c) => np.add(c, b)],
    ];
    for (const [name, eager, traced] of cases) {
      const got = eager();
      const viaJit = jit(traced)(x, row, n);
      const onInterpreter = traced(x.to("interpreter"), row.to("interpreter"), n.to("interpreter"));
      expect(got.dtype, name).toBe(viaJit.dtype);
      expect(got.dtype, name).toBe(onInterpreter.dtype);
      expect(got.weakType, name).toBe(onInterpreter.weakType);
      expectAllclose(got, viaJit);
      expectAllclose(got.to("interpreter"), onInterpreter);
    }
  });

  it("leaves no broadcast temporaries behind", () => {
    const x = f32(Array.from({ length: 4096 }, (_, i) => Math.sin(i)));
    (x.mul(2) as TfArray).dispose();
    const before = memoryStats().residentBytes;
    for (let i = 0; i < 50; i++) {
      const y = x.mul(2).add(1);
      (y as TfArray).dispose();
    }
    // each iteration leaves only the x.mul(2) result to the garbage collector
    // (16 KiB), never its broadcast of 2 nor a scalar operand
    expect(memoryStats().residentBytes - before).toBeLessThanOrEqual(50 * 4096 * 4);
  });

  it("errors are those of the op, and transformations still see the primitives", () => {
    expect(() => np.add(f32([1, 2, 3]), f32([1, 2]))).toThrow(/add/);
    expect(() => np.subtract(TfArray.fromTyped(Uint8Array.from([1, 0]), [2], "bool"), true)).toThrow(/subtract/);
    expectAllclose(grad((v: any) => np.sum(v.mul(3).add(1)))(f32([1, 2])), f32([3, 3]));
    expectAllclose(vmap((v: any) => v.mul(2))(f32([1, 2, 3, 4], [2, 2])), f32([2, 4, 6, 8], [2, 2]));
  });

  it("keeps at most the backend's eager capacity of composites, evicting the least recently used and their programs", () => {
    const wasm = getBackend("wasm");
    const capacity = 8;
    Object.defineProperty(wasm, "preparedOpCapacity", { value: capacity, configurable: true });
    try {
      const hot = f32([1, 2, 3]);
      expect(Array.from(hot.mul(2).dataSync())).toEqual([2, 4, 6]);
      const built = programsBuilt();
      const n = 40;
      for (let i = 1; i <= n; i++) {
        const x = f32(Array.from({ length: 100 + i }, (_, k) => k));
        expect(x.mul(3).dataSync()[i]).toBe(3 * i);
        expect(Array.from(hot.mul(2).dataSync())).toEqual([2, 4, 6]); // used every step: never evicted
        expect(compositeCount()).toBeLessThanOrEqual(capacity);
      }
      // One program per new shape; the hot one was never compiled again.
      expect(programsBuilt() - built).toBe(n);
      // An evicted composite is traced and compiled again, with the same values.
      expect(f32([5, 6]).mul(3).dataSync()[1]).toBe(18);
    } finally {
      delete (wasm as { preparedOpCapacity?: number }).preparedOpCapacity;
    }
  });
});
