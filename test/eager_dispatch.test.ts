// The eager dispatch path (src/core/eval_trace.ts, src/core/eager_op_cache.ts):
// an operation's signature (backend, primitive, operand types, params) is
// prepared once and looked up afterwards. These tests check that the lookup
// never answers for a different signature (params told apart structurally,
// including NaN/±Infinity/-0 and params mutated by the caller after a call),
// that bad input still gets its typed error on every call, that a disposed
// operand or the memory limit is still checked on a cache hit, and that the
// cache stays bounded, evicting the least recently used signatures and
// releasing their runners.

import { afterEach, describe, expect, it, vi } from "vitest";
import { ArrayImpl as TfArray, DisposedArrayError, MemoryLimitError, ShapeError, getBackend, np, setMemoryLimit } from "../src/index";
import { bind1 } from "../src/core/trace";
import { onEagerOperation } from "../src/core/eval_trace";
import { DEFAULT_PREPARED_OP_CAPACITY, preparedOpCount, sameParams } from "../src/core/eager_op_cache";
import type { Backend, OpRunner } from "../src/core/backend";

const f32 = (data: number[], shape = [data.length], backend = "wasm") => TfArray.fromTyped(Float32Array.from(data), shape, "float32", { backend });
const i32 = (data: number[], shape = [data.length], backend = "wasm") => TfArray.fromTyped(Int32Array.from(data), shape, "int32", { backend });
const values = (x: unknown) => Array.from((x as TfArray).dataSync());

afterEach(() => {
  onEagerOperation(null);
  setMemoryLimit(512 * 2 ** 20);
});

describe("eager dispatch", () => {
  it("a repeated signature is prepared once and computes each call's own operands", () => {
    const wasm = getBackend("wasm");
    const a = f32([1, 2, 3, 4, 5, 6, 7]);
    const b = f32([10, 20, 30, 40, 50, 60, 70]);
    expect(values(np.add(a, b))).toEqual([11, 22, 33, 44, 55, 66, 77]);
    const prepared = preparedOpCount(wasm);
    const ran: string[] = [];
    onEagerOperation((prim) => ran.push(prim));
    // Other arrays of the same type hit the same entry.
    const c = f32([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -1]);
    expect(values(np.add(c, a))).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 6]);
    expect(values(np.add(b, c))).toEqual([10.5, 20.5, 30.5, 40.5, 50.5, 60.5, 69]);
    expect(preparedOpCount(wasm)).toBe(prepared);
    expect(ran).toEqual(["add", "add"]);
    // A new type is a new signature.
    expect(values(np.add(i32([1, 2]), i32([3, 4])))).toEqual([4, 6]);
    expect(preparedOpCount(wasm)).toBe(prepared + 1);
  });

  it("params are told apart structurally: NaN, ±Infinity, -0 and 0 fill values each get their own program", () => {
    const x = f32([1, 2, 3, 4, 5, 6], [3, 2]);
    const rows = i32([0, 7, 2], [3, 1]); // row 7 is out of bounds: filled
    const dimensionNumbers = { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0], operandBatchingDims: [], startIndicesBatchingDims: [] };
    // JSON.stringify writes all of NaN, Infinity and -Infinity as null, and -0 as 0.
    for (const fillValue of [NaN, Infinity, -Infinity, 0, -0, NaN, 0]) {
      const out = values(bind1("gather", [x, rows], { dimensionNumbers, sliceSizes: [1, 2], mode: "fill", fillValue }));
      expect(out.slice(0, 2)).toEqual([1, 2]);
      expect(out.slice(4)).toEqual([5, 6]);
      expect(Object.is(out[2], fillValue) && Object.is(out[3], fillValue), `fill value ${fillValue} gave ${out[2]}, ${out[3]}`).toBe(true);
    }
  });

  it("a caller's params object mutated after a call does not change what the cache answers", () => {
    const x = f32([1, 2, 3, 4, 5, 6]);
    const params = { newSizes: [2, 3] };
    expect((bind1("reshape", [x], params) as TfArray).shape).toEqual([2, 3]);
    params.newSizes[0] = 3;
    params.newSizes[1] = 2;
    const y = bind1("reshape", [x], params) as TfArray;
    expect(y.shape).toEqual([3, 2]);
    expect(values(y)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("sameParams compares numbers by Object.is, arrays elementwise and objects key by key", () => {
    expect(sameParams({}, {})).toBe(true);
    expect(sameParams({ a: [1, [2, 3]], b: null }, { a: [1, [2, 3]], b: null })).toBe(true);
    expect(sameParams({ a: NaN }, { a: NaN })).toBe(true);
    expect(sameParams({ a: 0 }, { a: -0 })).toBe(false);
    expect(sameParams({ a: Infinity }, { a: null })).toBe(false);
    expect(sameParams({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(sameParams({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(sameParams({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameParams({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(sameParams({ a: "fill" }, { a: "clip" })).toBe(false);
  });

  it("bad input gets its typed error on every call, before and after good calls of the same primitive", () => {
    const wasm = getBackend("wasm");
    const three = f32([1, 2, 3]);
    const four = f32([1, 2, 3, 4]);
    const bad = () => bind1("add", [three, four], {});
    expect(bad).toThrow(ShapeError);
    expect(bad).toThrow(/add: .*f32\[3\].*f32\[4\]/);
    expect(values(bind1("add", [three, three], {}))).toEqual([2, 4, 6]);
    const prepared = preparedOpCount(wasm);
    expect(bad).toThrow(ShapeError);
    expect(preparedOpCount(wasm)).toBe(prepared);
  });

  it("a disposed operand is refused on a cache hit", () => {
    const a = f32([1, 2, 3]);
    const b = f32([4, 5, 6]);
    expect(values(np.multiply(a, b))).toEqual([4, 10, 18]);
    b.dispose();
    expect(() => np.multiply(a, b)).toThrow(DisposedArrayError);
    expect(() => np.multiply(a, b)).toThrow(/mul: input 2 of 2 \(f32\[3\]\) was disposed/);
  });

  it("the memory limit is checked on a cache hit", () => {
    const a = f32(Array.from({ length: 1024 }, (_, i) => i));
    expect(values(np.multiply(a, a))[3]).toBe(9);
    setMemoryLimit(8 * 1024); // inputs 2 x 4 KiB + output 4 KiB = 12 KiB
    expect(() => np.multiply(a, a)).toThrow(MemoryLimitError);
    expect(() => np.multiply(a, a)).toThrow(/mul: needs 12288 bytes of device memory at once/);
  });

  it("keeps at most 4096 signatures per backend", () => {
    const interp = getBackend("interpreter");
    const n = 4200;
    const x = f32(Array.from({ length: n }, (_, i) => i), [n], "interpreter");
    const sliceAt = (i: number) => bind1("slice", [x], { startIndices: [i], limitIndices: [i + 1], strides: null });
    for (let i = 0; i < n; i++) sliceAt(i);
    expect(preparedOpCount(interp)).toBeLessThanOrEqual(4096);
    // Entries built after the cache started over, and entries built again, compute correctly.
    expect(values(sliceAt(n - 1))).toEqual([n - 1]);
    expect(values(sliceAt(3))).toEqual([3]);
  });

  it("at a backend's capacity evicts the least recently used signatures, releasing each runner once", () => {
    const interp = getBackend("interpreter") as Backend & { preparedOpCapacity?: number };
    expect(interp.preparedOpCapacity ?? DEFAULT_PREPARED_OP_CAPACITY).toBe(4096);
    const capacity = 8;
    Object.defineProperty(interp, "preparedOpCapacity", { value: capacity, configurable: true });
    // Every runner prepared from here on, and how often each is released.
    const released = new Map<OpRunner<unknown>, number>();
    const prepareOp = interp.prepareOp.bind(interp);
    const spy = vi.spyOn(interp, "prepareOp").mockImplementation((prim, params, inAvals, outAvals) => {
      const inner = prepareOp(prim, params, inAvals, outAvals);
      const runner: OpRunner<unknown> = {
        run: (bufs) => inner.run(bufs),
        dispose: () => {
          released.set(runner, (released.get(runner) ?? 0) + 1);
          inner.dispose();
        },
      };
      released.set(runner, 0);
      return runner;
    });
    try {
      const n = 50;
      const x = f32(Array.from({ length: n }, (_, i) => i), [n], "interpreter");
      const sliceAt = (i: number) => bind1("slice", [x], { startIndices: [i], limitIndices: [i + 1], strides: null });
      const hot = () => bind1("neg", [x], {});
      expect(values(hot())[7]).toBe(-7);
      const preparedBefore = spy.mock.calls.length;
      for (let i = 0; i < n; i++) {
        expect(values(sliceAt(i))).toEqual([i]);
        expect(values(hot())[i]).toBe(-i); // used every step: never the least recently used
        expect(preparedOpCount(interp)).toBeLessThanOrEqual(capacity);
      }
      // The hot signature was never prepared again; every slice once.
      expect(spy.mock.calls.length - preparedBefore).toBe(n);
      // Each evicted runner released exactly once; the ones still cached not at all.
      const counts = [...released.values()];
      expect(counts.every((c) => c <= 1)).toBe(true);
      expect(counts.filter((c) => c === 0).length).toBe(preparedOpCount(interp));
      // An evicted signature prepared again computes correctly.
      expect(values(sliceAt(0))).toEqual([0]);
    } finally {
      spy.mockRestore();
      delete (interp as { preparedOpCapacity?: number }).preparedOpCapacity;
    }
  });
});
