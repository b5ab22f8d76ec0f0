// Shape/dtype rules of the elementwise, reduction and shape primitives: the
// avals they produce (shapes, dtypes, weak types) and the typed errors they
// throw, whose messages start with the primitive and name the shapes.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/core/aval";
import type { DType } from "../src/core/dtype";
import { ArgumentError, AxisError, DTypeError, ShapeError } from "../src/core/errors";
import { BINARY_ELEMENTWISE, UNARY_ELEMENTWISE, type ParamsOf } from "../src/core/primitives";
import { elementwiseShapeRules, type ElementwiseGroupPrimitive } from "../src/core/shape_rules/elementwise";
import { structuralShapeRules, type StructuralPrimitive } from "../src/core/shape_rules/structural";

type Prim = ElementwiseGroupPrimitive | StructuralPrimitive;
const rules = { ...elementwiseShapeRules, ...structuralShapeRules } as { [P in Prim]: (a: ShapedArray[], p: ParamsOf<P>) => ShapedArray[] };

const sa = (dtype: DType, shape: number[], weak = false) => new ShapedArray(shape, dtype, weak);
const f32 = (...shape: number[]) => sa("float32", shape);
const i32 = (...shape: number[]) => sa("int32", shape);
const u32 = (...shape: number[]) => sa("uint32", shape);
const b = (...shape: number[]) => sa("bool", shape);
const none = {} as Record<string, never>;

function rule<P extends Prim>(prim: P, avals: ShapedArray[], params: ParamsOf<P>): ShapedArray[] {
  return (rules[prim] as (a: ShapedArray[], p: ParamsOf<P>) => ShapedArray[])(avals, params);
}
const strs = (avals: ShapedArray[]) => avals.map((a) => a.str());

/** Asserts `prim` rejects the inputs with `cls`, a message starting with the primitive and containing `parts`. */
function rejects<P extends Prim>(prim: P, avals: ShapedArray[], params: ParamsOf<P>, cls: new (m: string) => Error, ...parts: string[]): void {
  let err: unknown;
  try {
    rule(prim, avals, params);
  } catch (e) {
    err = e;
  }
  expect(err, `${prim} should throw ${cls.name}`).toBeInstanceOf(cls);
  const msg = (err as Error).message;
  expect(msg.startsWith(`${prim}: `), msg).toBe(true);
  for (const p of parts) expect(msg).toContain(p);
}

describe("unary rules", () => {
  it("keep the aval (weak type too); is_finite gives bool", () => {
    for (const p of UNARY_ELEMENTWISE) {
      if (p === "not" || p === "integer_pow") continue;
      expect(strs(rule(p, [f32(2, 3)], none))).toEqual([p === "is_finite" ? "bool[2,3]" : "f32[2,3]"]);
    }
    expect(rule("exp", [sa("float32", [], true)], none)[0].weakType).toBe(true);
    expect(strs(rule("not", [b(4)], none))).toEqual(["bool[4]"]);
    expect(strs(rule("integer_pow", [i32(4)], { y: 3 }))).toEqual(["i32[4]"]);
    expect(strs(rule("neg", [sa("float16", [2])], none))).toEqual(["f16[2]"]);
  });
  it("reject wrong dtypes", () => {
    rejects("sin", [i32(2, 3)], none, DTypeError, "i32[2,3]", "floating");
    rejects("floor", [b(2)], none, DTypeError, "bool[2]");
    rejects("not", [f32(3)], none, DTypeError, "f32[3]", "bool or an integer");
    rejects("neg", [b(3)], none, DTypeError, "bool[3]");
    rejects("abs", [u32(3)], none, DTypeError, "u32[3]");
  });
  it("reject wrong arg counts and bad integer_pow exponents", () => {
    rejects("exp", [f32(2), f32(2)], none, ArgumentError, "expected 1 operand", "f32[2] and f32[2]");
    rejects("neg", [], none, ArgumentError, "got 0");
    rejects("integer_pow", [f32(2)], { y: 1.5 }, ArgumentError, "1.5");
    rejects("integer_pow", [i32(2)], { y: -2 }, DTypeError, "i32[2]", "negative");
  });
});

describe("binary rules", () => {
  it("need equal shapes and dtypes; weak only if all weak; comparisons give bool", () => {
    for (const p of BINARY_ELEMENTWISE) {
      const x = p === "and" || p === "or" || p === "xor" || p.startsWith("shift") ? i32(2, 3) : f32(2, 3);
      const [o] = rule(p, [x, x], none);
      expect(o.shape).toEqual([2, 3]);
    }
    expect(rule("add", [sa("float32", [2], true), sa("float32", [2], true)], none)[0].weakType).toBe(true);
    expect(rule("add", [sa("float32", [2], true), f32(2)], none)[0].weakType).toBe(false);
    expect(strs(rule("lt", [i32(2), i32(2)], none))).toEqual(["bool[2]"]);
    expect(strs(rule("max", [b(2), b(2)], none))).toEqual(["bool[2]"]);
  });
  it("reject shape mismatches (no implicit broadcasting)", () => {
    rejects("add", [f32(2, 3), f32(3)], none, ShapeError, "f32[2,3] and f32[3]");
    expect(() => rule("add", [f32(2, 3), f32(3)], none)).toThrow("add: operands must have equal shapes, got f32[2,3] and f32[3]");
    rejects("mul", [f32(1), f32(4)], none, ShapeError, "f32[1] and f32[4]");
    rejects("eq", [i32(), i32(2)], none, ShapeError, "i32[] and i32[2]");
  });
  it("reject dtype mismatches and wrong dtypes", () => {
    rejects("add", [f32(2), i32(2)], none, DTypeError, "f32[2] and i32[2]");
    rejects("add", [b(2), b(2)], none, DTypeError, "bool[2]");
    rejects("shift_left", [f32(2), f32(2)], none, DTypeError, "f32[2]", "integer");
    rejects("and", [f32(2), f32(2)], none, DTypeError, "f32[2]");
    rejects("pow", [i32(2), i32(2)], none, DTypeError, "i32[2]");
  });
  it("reject wrong arg counts", () => {
    rejects("add", [f32(2)], none, ArgumentError, "expected 2 operands", "f32[2]");
    rejects("sub", [f32(2), f32(2), f32(2)], none, ArgumentError, "got 3");
    rejects("lt", [], none, ArgumentError, "no operands");
  });
});

describe("select_n / clamp / conversions / threefry rules", () => {
  it("select_n accepts bool with 2 cases, int32 with many, scalar which", () => {
    expect(strs(rule("select_n", [b(3), f32(3), f32(3)], none))).toEqual(["f32[3]"]);
    expect(strs(rule("select_n", [i32(), i32(3), i32(3), i32(3)], none))).toEqual(["i32[3]"]);
  });
  it("select_n rejections", () => {
    rejects("select_n", [b(3), f32(3), f32(3), f32(3)], none, ArgumentError, "bool[3]", "at most 2");
    rejects("select_n", [f32(3), f32(3), f32(3)], none, DTypeError, "f32[3]");
    rejects("select_n", [b(2), f32(3), f32(3)], none, ShapeError, "bool[2]", "f32[3] and f32[3]");
    rejects("select_n", [b(3), f32(3), i32(3)], none, DTypeError, "f32[3] and i32[3]");
    rejects("select_n", [b(3)], none, ArgumentError, "at least 2");
  });
  it("clamp accepts scalar or full bounds and rejects others", () => {
    expect(strs(rule("clamp", [f32(), f32(2, 2), f32(2, 2)], none))).toEqual(["f32[2,2]"]);
    rejects("clamp", [f32(2), f32(2, 2), f32()], none, ShapeError, "f32[2], f32[2,2], f32[]");
    rejects("clamp", [i32(), f32(2), f32()], none, DTypeError, "i32[], f32[2], f32[]");
    rejects("clamp", [f32(), f32(2)], none, ArgumentError, "expected 3");
  });
  it("convert / bitcast", () => {
    expect(strs(rule("convert_element_type", [f32(2)], { newDtype: "int32", weakType: false }))).toEqual(["i32[2]"]);
    expect(strs(rule("bitcast_convert_type", [f32(2)], { newDtype: "uint32" }))).toEqual(["u32[2]"]);
    rejects("bitcast_convert_type", [f32(2)], { newDtype: "bool" }, DTypeError, "f32[2]", "bool");
    rejects("bitcast_convert_type", [sa("float16", [2])], { newDtype: "int32" }, DTypeError, "f16[2]");
    rejects("convert_element_type", [f32(2)], { newDtype: "float64" as DType, weakType: false }, DTypeError, "float64");
    rejects("convert_element_type", [], { newDtype: "int32", weakType: false }, ArgumentError);
  });
  it("threefry2x32 takes 4 equal uint32 arrays and gives 2", () => {
    expect(strs(rule("threefry2x32", [u32(3), u32(3), u32(3), u32(3)], none))).toEqual(["u32[3]", "u32[3]"]);
    rejects("threefry2x32", [u32(3), u32(3), u32(3)], none, ArgumentError, "expected 4");
    rejects("threefry2x32", [u32(3), u32(3), u32(3), u32(2)], none, ShapeError, "u32[2]");
    rejects("threefry2x32", [i32(3), i32(3), i32(3), i32(3)], none, DTypeError, "i32[3]", "uint32");
  });
});

describe("reduction / arg / cumulative rules", () => {
  it("drop reduced axes and keep dtype", () => {
    expect(strs(rule("reduce_sum", [f32(2, 3, 4)], { axes: [0, 2] }))).toEqual(["f32[3]"]);
    expect(strs(rule("reduce_max", [b(2)], { axes: [0] }))).toEqual(["bool[]"]);
    expect(strs(rule("argmax", [f32(2, 3)], { axis: 1, indexDtype: "int32" }))).toEqual(["i32[2]"]);
    expect(strs(rule("cumsum", [i32(2, 3)], { axis: 1, reverse: true }))).toEqual(["i32[2,3]"]);
  });
  it("reject bad axes", () => {
    rejects("reduce_sum", [f32(2, 3)], { axes: [2] }, AxisError, "f32[2,3]", "[2]");
    rejects("reduce_max", [f32(2, 3)], { axes: [1, 1] }, AxisError, "repeated", "f32[2,3]");
    rejects("reduce_min", [f32(2, 3)], { axes: [-1] }, AxisError, "f32[2,3]");
    rejects("argmax", [f32(2, 3)], { axis: 2, indexDtype: "int32" }, AxisError, "f32[2,3]");
    rejects("cumsum", [f32(2, 3)], { axis: -1, reverse: false }, AxisError, "f32[2,3]");
  });
  it("reject bad dtypes", () => {
    rejects("reduce_sum", [b(2)], { axes: [0] }, DTypeError, "bool[2]");
    rejects("reduce_and", [f32(2)], { axes: [0] }, DTypeError, "f32[2]");
    rejects("argmin", [f32(2)], { axis: 0, indexDtype: "float32" }, DTypeError, "f32[2]", "indexDtype");
    rejects("cumprod", [b(2)], { axis: 0, reverse: false }, DTypeError, "bool[2]");
  });
  it("reject wrong arg counts and empty argmax axes", () => {
    rejects("reduce_sum", [f32(2), f32(2)], { axes: [0] }, ArgumentError, "f32[2] and f32[2]");
    rejects("argmax", [], { axis: 0, indexDtype: "int32" }, ArgumentError);
    rejects("cummax", [f32(2), f32(2)], { axis: 0, reverse: false }, ArgumentError);
    rejects("argmax", [f32(0, 3)], { axis: 0, indexDtype: "int32" }, ShapeError, "f32[0,3]", "non-empty");
  });
});

describe("shape op rules", () => {
  it("produce the expected avals", () => {
    expect(strs(rule("broadcast_in_dim", [f32(1, 3)], { shape: [4, 2, 3], broadcastDimensions: [1, 2] }))).toEqual(["f32[4,2,3]"]);
    expect(strs(rule("reshape", [f32(2, 3)], { newSizes: [6, 1] }))).toEqual(["f32[6,1]"]);
    expect(strs(rule("transpose", [f32(2, 3, 4)], { permutation: [2, 0, 1] }))).toEqual(["f32[4,2,3]"]);
    expect(strs(rule("squeeze", [f32(1, 3, 1)], { dimensions: [2] }))).toEqual(["f32[1,3]"]);
    expect(strs(rule("expand_dims", [f32(3)], { dimensions: [0, 2] }))).toEqual(["f32[1,3,1]"]);
    expect(strs(rule("slice", [f32(10)], { startIndices: [1], limitIndices: [8], strides: [3] }))).toEqual(["f32[3]"]);
    expect(strs(rule("dynamic_slice", [f32(5, 4), i32(), u32()], { sliceSizes: [2, 4] }))).toEqual(["f32[2,4]"]);
    expect(strs(rule("dynamic_update_slice", [f32(5, 4), f32(1, 4), i32(), i32()], none))).toEqual(["f32[5,4]"]);
    expect(strs(rule("pad", [f32(3, 2), f32()], { paddingConfig: [[1, 2, 1], [-1, 0, 0]] }))).toEqual(["f32[8,1]"]);
    expect(strs(rule("concatenate", [f32(2, 3), f32(2, 1)], { dimension: 1 }))).toEqual(["f32[2,4]"]);
    expect(strs(rule("iota", [], { dtype: "int32", shape: [3, 2], dimension: 1 }))).toEqual(["i32[3,2]"]);
    expect(strs(rule("sort", [f32(3, 2), i32(3, 2)], { dimension: 0, isStable: true, numKeys: 1 }))).toEqual(["f32[3,2]", "i32[3,2]"]);
    expect(strs(rule("top_k", [f32(3, 5)], { k: 2 }))).toEqual(["f32[3,2]", "i32[3,2]"]);
    expect(rule("concatenate", [sa("float32", [1], true), f32(1)], { dimension: 0 })[0].weakType).toBe(false);
    expect(rule("reshape", [sa("int32", [2], true)], { newSizes: [2, 1] })[0].weakType).toBe(true);
  });
  it("broadcast_in_dim rejections", () => {
    rejects("broadcast_in_dim", [f32(2, 3)], { shape: [3, 3], broadcastDimensions: [0, 1] }, ShapeError, "f32[2,3]", "[3,3]");
    rejects("broadcast_in_dim", [f32(1, 3)], { shape: [3, 3], broadcastDimensions: [1, 0] }, ShapeError, "strictly increasing", "f32[1,3]");
    rejects("broadcast_in_dim", [f32(3)], { shape: [3], broadcastDimensions: [] }, ShapeError, "f32[3]");
    rejects("broadcast_in_dim", [f32(3)], { shape: [3], broadcastDimensions: [1] }, ShapeError, "out of range", "f32[3]");
  });
  it("reshape / transpose / squeeze / expand_dims / rev rejections", () => {
    rejects("reshape", [f32(2, 3)], { newSizes: [4, 2] }, ShapeError, "f32[2,3]", "[4,2]");
    rejects("reshape", [f32(2, 3)], { newSizes: [-1, 3] }, ShapeError, "-1");
    rejects("transpose", [f32(2, 3)], { permutation: [0, 0] }, ShapeError, "f32[2,3]", "[0,0]");
    rejects("transpose", [f32(2, 3)], { permutation: [0] }, ShapeError, "f32[2,3]");
    rejects("squeeze", [f32(2, 3)], { dimensions: [0] }, ShapeError, "f32[2,3]", "size 2");
    rejects("squeeze", [f32(1, 3)], { dimensions: [2] }, AxisError, "f32[1,3]");
    rejects("expand_dims", [f32(3)], { dimensions: [2] }, AxisError, "f32[3]");
    rejects("expand_dims", [f32(3)], { dimensions: [0, 0] }, AxisError, "repeated");
    rejects("rev", [f32(3)], { dimensions: [1] }, AxisError, "f32[3]");
    rejects("rev", [f32(3), f32(3)], { dimensions: [0] }, ArgumentError, "f32[3] and f32[3]");
  });
  it("slice / dynamic_slice / dynamic_update_slice rejections", () => {
    rejects("slice", [f32(5)], { startIndices: [2], limitIndices: [6], strides: null }, ShapeError, "f32[5]");
    rejects("slice", [f32(5)], { startIndices: [3], limitIndices: [2], strides: null }, ShapeError, "f32[5]");
    rejects("slice", [f32(5)], { startIndices: [0], limitIndices: [5], strides: [0] }, ShapeError, "f32[5]", "strides");
    rejects("slice", [f32(5, 2)], { startIndices: [0], limitIndices: [5], strides: null }, ShapeError, "f32[5,2]");
    rejects("dynamic_slice", [f32(5), i32(), i32()], { sliceSizes: [2] }, ArgumentError, "f32[5]", "expected 1 start");
    rejects("dynamic_slice", [f32(5), f32()], { sliceSizes: [2] }, DTypeError, "f32[5]", "f32[]");
    rejects("dynamic_slice", [f32(5), i32(1)], { sliceSizes: [2] }, ShapeError, "i32[1]");
    rejects("dynamic_slice", [f32(5), i32()], { sliceSizes: [6] }, ShapeError, "f32[5]", "[6]");
    rejects("dynamic_update_slice", [f32(5), f32(6), i32()], none, ShapeError, "f32[6]", "f32[5]");
    rejects("dynamic_update_slice", [f32(5), i32(2), i32()], none, DTypeError, "i32[2]", "f32[5]");
    rejects("dynamic_update_slice", [f32(5, 2), f32(1, 2), i32()], none, ArgumentError, "f32[5,2]");
  });
  it("pad / concatenate / iota rejections", () => {
    rejects("pad", [f32(3), f32(1)], { paddingConfig: [[0, 0, 0]] }, ShapeError, "f32[1]", "scalar");
    rejects("pad", [f32(3), i32()], { paddingConfig: [[0, 0, 0]] }, DTypeError, "f32[3]", "i32[]");
    rejects("pad", [f32(3), f32()], { paddingConfig: [[0, 0, -1]] }, ShapeError, "f32[3]", "interior");
    rejects("pad", [f32(3), f32()], { paddingConfig: [[-2, -2, 0]] }, ShapeError, "f32[3]", "negative size");
    rejects("concatenate", [f32(2, 3), f32(3, 3)], { dimension: 1 }, ShapeError, "f32[2,3] and f32[3,3]");
    rejects("concatenate", [f32(2, 3), i32(2, 3)], { dimension: 0 }, DTypeError, "f32[2,3] and i32[2,3]");
    rejects("concatenate", [f32(2, 3), f32(2)], { dimension: 0 }, ShapeError, "f32[2,3] and f32[2]");
    rejects("concatenate", [f32(2)], { dimension: 1 }, AxisError, "f32[2]");
    rejects("concatenate", [], { dimension: 0 }, ArgumentError);
    rejects("iota", [], { dtype: "int32", shape: [3], dimension: 1 }, ShapeError, "[3]");
    rejects("iota", [], { dtype: "bool", shape: [3], dimension: 0 }, DTypeError, "bool");
    rejects("iota", [f32(3)], { dtype: "int32", shape: [3], dimension: 0 }, ArgumentError, "f32[3]");
  });
  it("sort / top_k rejections", () => {
    rejects("sort", [f32(3), f32(4)], { dimension: 0, isStable: true, numKeys: 1 }, ShapeError, "f32[3] and f32[4]");
    rejects("sort", [f32(3)], { dimension: 1, isStable: true, numKeys: 1 }, AxisError, "f32[3]");
    rejects("sort", [f32(3)], { dimension: 0, isStable: true, numKeys: 2 }, ArgumentError, "f32[3]");
    rejects("sort", [f32(3)], { dimension: 0, isStable: true, numKeys: 0 }, ArgumentError, "numKeys");
    rejects("top_k", [f32(3)], { k: 4 }, ShapeError, "f32[3]");
    rejects("top_k", [f32()], { k: 1 }, ShapeError, "f32[]");
    rejects("top_k", [f32(3), f32(3)], { k: 1 }, ArgumentError, "f32[3] and f32[3]");
  });
});
