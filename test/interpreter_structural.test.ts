// Reference semantics of the shape primitives in the interpreter
// (broadcast_in_dim, reshape, transpose, squeeze, expand_dims, rev, slice,
// dynamic_slice, dynamic_update_slice, pad, concatenate, iota, sort, top_k),
// checked against hand-computed row-major results.

import { describe, expect, it } from "vitest";
import type { ParamsOf } from "../src/core/primitives";
import { structuralShapeRules, type StructuralPrimitive } from "../src/core/shape_rules/structural";
import type { HostArray } from "../src/backends/interpreter/host_array";
import { structuralInterpRules } from "../src/backends/interpreter/rules/structural";
import { hostArray, runRule } from "./interp_rules";

const arr = hostArray;
const f32 = (values: number[], shape = [values.length]) => arr("float32", shape, values);
const i32 = (values: number[], shape = [values.length]) => arr("int32", shape, values);
const range = (n: number) => [...Array(n).keys()];

const run = <P extends StructuralPrimitive>(prim: P, inputs: HostArray[], params: ParamsOf<P>): HostArray[] =>
  runRule(structuralShapeRules[prim], structuralInterpRules[prim], inputs, params);
/** The single output as [shape, values]. */
function run1<P extends StructuralPrimitive>(prim: P, inputs: HostArray[], params: ParamsOf<P>): [readonly number[], number[]] {
  const [o] = run(prim, inputs, params);
  return [o.shape, Array.from(o.data)];
}
const none = {} as Record<string, never>;

describe("broadcast_in_dim", () => {
  it("maps operand dims to output dims", () => {
    expect(run1("broadcast_in_dim", [f32([0, 1, 2])], { shape: [2, 3], broadcastDimensions: [1] })).toEqual([[2, 3], [0, 1, 2, 0, 1, 2]]);
    expect(run1("broadcast_in_dim", [f32([0, 1, 2])], { shape: [3, 2], broadcastDimensions: [0] })).toEqual([[3, 2], [0, 0, 1, 1, 2, 2]]);
  });
  it("expands size-1 dims and scalars; empty outputs", () => {
    expect(run1("broadcast_in_dim", [f32([7, 8, 9], [1, 3])], { shape: [2, 3], broadcastDimensions: [0, 1] })).toEqual([
      [2, 3], [7, 8, 9, 7, 8, 9],
    ]);
    expect(run1("broadcast_in_dim", [f32([5], [])], { shape: [2, 2], broadcastDimensions: [] })).toEqual([[2, 2], [5, 5, 5, 5]]);
    expect(run1("broadcast_in_dim", [f32([], [0])], { shape: [2, 0], broadcastDimensions: [1] })).toEqual([[2, 0], []]);
    expect(run1("broadcast_in_dim", [f32([1, 2], [2, 1])], { shape: [2, 2, 3], broadcastDimensions: [0, 2] })).toEqual([
      [2, 2, 3], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
    ]);
  });
});

describe("reshape / squeeze / expand_dims", () => {
  it("reshape keeps row-major order", () => {
    expect(run1("reshape", [f32(range(6), [2, 3])], { newSizes: [3, 2] })).toEqual([[3, 2], range(6)]);
    expect(run1("reshape", [f32([4], [1, 1])], { newSizes: [] })).toEqual([[], [4]]);
    expect(run1("reshape", [f32([], [0, 3])], { newSizes: [3, 0] })).toEqual([[3, 0], []]);
  });
  it("squeeze drops size-1 dims", () => {
    expect(run1("squeeze", [i32([1, 2, 3], [1, 3, 1])], { dimensions: [0, 2] })).toEqual([[3], [1, 2, 3]]);
    expect(run1("squeeze", [i32([1, 2, 3], [1, 3, 1])], { dimensions: [] })).toEqual([[1, 3, 1], [1, 2, 3]]);
  });
  it("expand_dims inserts size-1 dims at output positions", () => {
    expect(run1("expand_dims", [i32([1, 2, 3])], { dimensions: [0, 2] })).toEqual([[1, 3, 1], [1, 2, 3]]);
    expect(run1("expand_dims", [i32([9], [])], { dimensions: [0] })).toEqual([[1], [9]]);
  });
});

describe("transpose / rev", () => {
  it("transpose 2-d and 3-d", () => {
    expect(run1("transpose", [f32([1, 2, 3, 4, 5, 6], [2, 3])], { permutation: [1, 0] })).toEqual([[3, 2], [1, 4, 2, 5, 3, 6]]);
    // out[k, i, 0] = x[i, 0, k]
    expect(run1("transpose", [f32(range(6), [2, 1, 3])], { permutation: [2, 0, 1] })).toEqual([[3, 2, 1], [0, 3, 1, 4, 2, 5]]);
    expect(run1("transpose", [f32([], [0, 2])], { permutation: [1, 0] })).toEqual([[2, 0], []]);
  });
  it("rev along some or all dims", () => {
    const x = () => f32([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(run1("rev", [x()], { dimensions: [1] })).toEqual([[2, 3], [3, 2, 1, 6, 5, 4]]);
    expect(run1("rev", [x()], { dimensions: [0] })).toEqual([[2, 3], [4, 5, 6, 1, 2, 3]]);
    expect(run1("rev", [x()], { dimensions: [0, 1] })).toEqual([[2, 3], [6, 5, 4, 3, 2, 1]]);
    expect(run1("rev", [x()], { dimensions: [] })).toEqual([[2, 3], [1, 2, 3, 4, 5, 6]]);
    expect(run1("rev", [f32([], [0, 3])], { dimensions: [0] })).toEqual([[0, 3], []]);
  });
});

describe("slice / dynamic_slice / dynamic_update_slice", () => {
  it("slice with and without strides", () => {
    expect(run1("slice", [f32(range(5))], { startIndices: [1], limitIndices: [4], strides: null })).toEqual([[3], [1, 2, 3]]);
    expect(run1("slice", [f32(range(7))], { startIndices: [1], limitIndices: [6], strides: [2] })).toEqual([[3], [1, 3, 5]]);
    expect(run1("slice", [f32(range(12), [3, 4])], { startIndices: [1, 1], limitIndices: [3, 4], strides: [1, 2] })).toEqual([
      [2, 2], [5, 7, 9, 11],
    ]);
    expect(run1("slice", [f32(range(4))], { startIndices: [2], limitIndices: [2], strides: null })).toEqual([[0], []]);
  });
  it("dynamic_slice clamps the start so the window stays in bounds", () => {
    const x = () => f32(range(5));
    expect(run1("dynamic_slice", [x(), i32([1], [])], { sliceSizes: [3] })).toEqual([[3], [1, 2, 3]]);
    expect(run1("dynamic_slice", [x(), i32([3], [])], { sliceSizes: [3] })).toEqual([[3], [2, 3, 4]]);
    expect(run1("dynamic_slice", [x(), i32([-1], [])], { sliceSizes: [3] })).toEqual([[3], [0, 1, 2]]);
    expect(run1("dynamic_slice", [x(), arr("uint32", [], [4])], { sliceSizes: [2] })).toEqual([[2], [3, 4]]);
    expect(run1("dynamic_slice", [f32(range(12), [3, 4]), i32([2], []), i32([1], [])], { sliceSizes: [2, 2] })).toEqual([
      [2, 2], [5, 6, 9, 10],
    ]);
  });
  it("dynamic_update_slice writes the update at clamped starts", () => {
    expect(run1("dynamic_update_slice", [f32([0, 0, 0, 0, 0]), f32([1, 2]), i32([1], [])], none)).toEqual([[5], [0, 1, 2, 0, 0]]);
    expect(run1("dynamic_update_slice", [f32([0, 0, 0, 0, 0]), f32([1, 2]), i32([4], [])], none)).toEqual([[5], [0, 0, 0, 1, 2]]);
    expect(run1("dynamic_update_slice", [f32([0, 0, 0, 0, 0]), f32([1, 2]), i32([-7], [])], none)).toEqual([[5], [1, 2, 0, 0, 0]]);
    expect(
      run1("dynamic_update_slice", [i32(range(9), [3, 3]), i32([-1, -2], [1, 2]), i32([1], []), i32([1], [])], none),
    ).toEqual([[3, 3], [0, 1, 2, 3, -1, -2, 6, 7, 8]]);
  });
});

describe("pad", () => {
  const v = (x: number) => f32([x], []);
  it("low/high/interior padding", () => {
    expect(run1("pad", [f32([1, 2, 3]), v(0)], { paddingConfig: [[1, 2, 1]] })).toEqual([[8], [0, 1, 0, 2, 0, 3, 0, 0]]);
    expect(run1("pad", [f32([1, 2, 3, 4], [2, 2]), v(9)], { paddingConfig: [[1, 0, 0], [0, 1, 0]] })).toEqual([
      [3, 3], [9, 9, 9, 1, 2, 9, 3, 4, 9],
    ]);
  });
  it("negative padding crops", () => {
    expect(run1("pad", [f32([1, 2, 3]), v(0)], { paddingConfig: [[-1, -1, 0]] })).toEqual([[1], [2]]);
    expect(run1("pad", [f32([1, 2, 3]), v(0)], { paddingConfig: [[-1, 0, 1]] })).toEqual([[4], [0, 2, 0, 3]]);
    expect(run1("pad", [f32([1, 2, 3]), v(7)], { paddingConfig: [[-2, 2, 0]] })).toEqual([[3], [3, 7, 7]]);
  });
  it("empty operands and scalars", () => {
    expect(run1("pad", [f32([], [0]), v(5)], { paddingConfig: [[1, 1, 3]] })).toEqual([[2], [5, 5]]);
    expect(run1("pad", [f32([4], []), v(5)], { paddingConfig: [] })).toEqual([[], [4]]);
  });
});

describe("concatenate / iota", () => {
  it("concatenate along dims 0 and 1, with an empty operand", () => {
    expect(run1("concatenate", [f32([1, 2]), f32([3])], { dimension: 0 })).toEqual([[3], [1, 2, 3]]);
    expect(
      run1("concatenate", [f32([1, 2], [2, 1]), f32([3, 4, 5, 6], [2, 2]), f32([], [2, 0])], { dimension: 1 }),
    ).toEqual([[2, 3], [1, 3, 4, 2, 5, 6]]);
    expect(run1("concatenate", [i32([1, 2], [1, 2]), i32([3, 4], [1, 2])], { dimension: 0 })).toEqual([[2, 2], [1, 2, 3, 4]]);
  });
  it("iota counts along its dimension", () => {
    expect(run1("iota", [], { dtype: "int32", shape: [2, 3], dimension: 1 })).toEqual([[2, 3], [0, 1, 2, 0, 1, 2]]);
    expect(run1("iota", [], { dtype: "int32", shape: [2, 3], dimension: 0 })).toEqual([[2, 3], [0, 0, 0, 1, 1, 1]]);
    const [o] = run("iota", [], { dtype: "float32", shape: [4], dimension: 0 });
    expect(o.dtype).toBe("float32");
    expect(Array.from(o.data)).toEqual([0, 1, 2, 3]);
    expect(run1("iota", [], { dtype: "uint32", shape: [0, 2], dimension: 1 })).toEqual([[0, 2], []]);
  });
});

describe("sort / top_k", () => {
  it("sorts ascending with NaN last", () => {
    expect(run1("sort", [f32([3, 1, NaN, 2, -Infinity, -0])], { dimension: 0, isStable: true, numKeys: 1 })).toEqual([
      [6], [-Infinity, -0, 1, 2, 3, NaN],
    ]);
    expect(run1("sort", [i32([5, -2, 9, 0])], { dimension: 0, isStable: false, numKeys: 1 })).toEqual([[4], [-2, 0, 5, 9]]);
  });
  it("permutes all operands together, stably", () => {
    const [k, val] = run("sort", [f32([2, 1, 2, 1]), i32([0, 1, 2, 3])], { dimension: 0, isStable: true, numKeys: 1 });
    expect(Array.from(k.data)).toEqual([1, 1, 2, 2]);
    expect(Array.from(val.data)).toEqual([1, 3, 0, 2]);
    const [z, zi] = run("sort", [f32([0, -0, 0]), i32([0, 1, 2])], { dimension: 0, isStable: true, numKeys: 1 });
    expect(Array.from(zi.data)).toEqual([0, 1, 2]); // -0 and +0 are equal keys
    expect(Array.from(z.data)).toEqual([0, -0, 0]);
  });
  it("is lexicographic over numKeys keys", () => {
    const [a, b, c] = run("sort", [i32([1, 0, 1, 0]), f32([3, 2, 1, 4]), i32([10, 11, 12, 13])], {
      dimension: 0, isStable: true, numKeys: 2,
    });
    expect(Array.from(a.data)).toEqual([0, 0, 1, 1]);
    expect(Array.from(b.data)).toEqual([2, 4, 1, 3]);
    expect(Array.from(c.data)).toEqual([11, 13, 12, 10]);
  });
  it("sorts along a chosen dimension of a 2-d array", () => {
    expect(run1("sort", [f32([3, 1, 2, 4], [2, 2])], { dimension: 0, isStable: true, numKeys: 1 })).toEqual([[2, 2], [2, 1, 3, 4]]);
    expect(run1("sort", [f32([3, 1, 4, 2], [2, 2])], { dimension: 1, isStable: true, numKeys: 1 })).toEqual([[2, 2], [1, 3, 2, 4]]);
  });
  it("top_k: largest k on the last axis, ties by lower index, int32 indices", () => {
    const [v, i] = run("top_k", [f32([1, 3, 2, 3])], { k: 2 });
    expect(Array.from(v.data)).toEqual([3, 3]);
    expect(i.dtype).toBe("int32");
    expect(Array.from(i.data)).toEqual([1, 3]);
    const [v2, i2] = run("top_k", [i32([5, 1, 7, 0, 9, 8], [2, 3])], { k: 2 });
    expect(v2.shape).toEqual([2, 2]);
    expect(Array.from(v2.data)).toEqual([7, 5, 9, 8]);
    expect(Array.from(i2.data)).toEqual([2, 0, 1, 2]);
    const [v3, i3] = run("top_k", [f32([1, NaN, 2])], { k: 3 });
    expect(Array.from(v3.data)).toEqual([NaN, 2, 1]);
    expect(Array.from(i3.data)).toEqual([1, 2, 0]);
    const [v4] = run("top_k", [f32([1, 2])], { k: 0 });
    expect(v4.shape).toEqual([0]);
  });
});
