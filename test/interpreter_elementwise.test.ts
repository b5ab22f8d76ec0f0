// Reference semantics of the elementwise primitives, the reductions,
// argmax/argmin and the cumulative scans in the interpreter, each checked
// against hand-computed values (XLA conventions: C integer division, int
// wraparound, NaN propagation, f32 rounding), plus the Threefry KATs.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/core/aval";
import type { DType } from "../src/core/dtype";
import type { ParamsOf } from "../src/core/primitives";
import { elementwiseShapeRules, type ElementwiseGroupPrimitive } from "../src/core/shape_rules/elementwise";
import type { HostArray } from "../src/backends/interpreter/host_array";
import { erf, erfc, erfInv, threefry2x32Block } from "../src/backends/interpreter/math";
import { elementwiseInterpRules } from "../src/backends/interpreter/rules/elementwise";
import { hostArray, runRule } from "./interp_rules";

const f = Math.fround;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const U32_MAX = 4294967295;

const arr = hostArray;
const f32 = (values: number[], shape = [values.length]) => arr("float32", shape, values);
const i32 = (values: number[], shape = [values.length]) => arr("int32", shape, values);
const u32 = (values: number[], shape = [values.length]) => arr("uint32", shape, values);
const bool = (values: number[], shape = [values.length]) => arr("bool", shape, values);

const run = <P extends ElementwiseGroupPrimitive>(prim: P, inputs: HostArray[], params: ParamsOf<P>): HostArray[] =>
  runRule(elementwiseShapeRules[prim], elementwiseInterpRules[prim], inputs, params);
const none = {} as Record<string, never>;
function run1<P extends ElementwiseGroupPrimitive>(prim: P, inputs: HostArray[], params: ParamsOf<P>): number[] {
  return Array.from(run(prim, inputs, params)[0].data);
}
const un = (prim: ElementwiseGroupPrimitive, x: HostArray) => run1(prim as "neg", [x], none);
const bin = (prim: ElementwiseGroupPrimitive, x: HostArray, y: HostArray) => run1(prim as "add", [x, y], none);

describe("unary elementwise", () => {
  it("neg wraps ints and flips float zero", () => {
    expect(un("neg", f32([1, -2.5, 0]))).toEqual([-1, 2.5, -0]);
    expect(un("neg", i32([INT_MIN, 5]))).toEqual([INT_MIN, -5]);
    expect(un("neg", u32([5, 0]))).toEqual([U32_MAX - 4, 0]);
  });
  it("sign: 0 -> 0, NaN -> NaN, ints and uints", () => {
    expect(un("sign", f32([-3, 0, 2, NaN, -Infinity]))).toEqual([-1, 0, 1, NaN, -1]);
    expect(un("sign", i32([-5, 0, 7]))).toEqual([-1, 0, 1]);
    expect(un("sign", u32([0, 9]))).toEqual([0, 1]);
  });
  it("floor / ceil", () => {
    expect(un("floor", f32([-1.5, 1.5, 2, -0.25]))).toEqual([-2, 1, 2, -1]);
    expect(un("ceil", f32([-1.5, 1.5, 2, 0.25]))).toEqual([-1, 2, 2, 1]);
  });
  it("round is half away from zero", () => {
    expect(un("round", f32([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, -0.3, Infinity, NaN]))).toEqual([
      1, 2, 3, -1, -3, 0, -0, Infinity, NaN,
    ]);
  });
  it("is_finite gives bool", () => {
    const [o] = run("is_finite", [f32([1, Infinity, -Infinity, NaN])], none);
    expect(o.dtype).toBe("bool");
    expect(Array.from(o.data)).toEqual([1, 0, 0, 0]);
  });
  it("abs, including INT_MIN wrap", () => {
    expect(un("abs", f32([-3.5, 2, -0]))).toEqual([3.5, 2, 0]);
    expect(un("abs", i32([-3, INT_MIN, 4]))).toEqual([3, INT_MIN, 4]);
  });
  it("not on bool, int32 and uint32", () => {
    expect(un("not", bool([1, 0]))).toEqual([0, 1]);
    expect(un("not", i32([0, 5, -1]))).toEqual([-1, -6, 0]);
    expect(un("not", u32([0, U32_MAX]))).toEqual([U32_MAX, 0]);
  });
  it("exp / log / log1p / expm1 / sqrt / rsqrt round to f32", () => {
    expect(un("exp", f32([0, 1, -Infinity]))).toEqual([1, f(Math.E), 0]);
    expect(un("log", f32([1, 0, -1]))).toEqual([0, -Infinity, NaN]);
    expect(un("log1p", f32([1e-7]))).toEqual([f(9.999999500000033e-8)]);
    expect(un("expm1", f32([1e-7]))).toEqual([f(1.0000000500000016e-7)]);
    expect(un("sqrt", f32([4, 2, -1]))).toEqual([2, f(Math.SQRT2), NaN]);
    expect(un("rsqrt", f32([4, 0]))).toEqual([0.5, Infinity]);
  });
  it("logistic", () => {
    expect(un("logistic", f32([0, 2, -Infinity, Infinity]))).toEqual([0.5, f(1 / (1 + Math.exp(-2))), 0, 1]);
  });
  it("erf / erf_inv on f32", () => {
    expect(un("erf", f32([0, 0.5, 1, -2, Infinity]))).toEqual([
      0, f(0.5204998778130465), f(0.8427007929497149), f(-0.9953222650189527), 1,
    ]);
    expect(un("erf_inv", f32([0, 0.5, -1, 1, 2]))).toEqual([0, f(0.4769362762044699), -Infinity, Infinity, NaN]);
  });
  it("trigonometric and hyperbolic", () => {
    const x = f32([0.5]);
    for (const [p, g] of [
      ["sin", Math.sin], ["cos", Math.cos], ["tan", Math.tan], ["asin", Math.asin], ["acos", Math.acos],
      ["atan", Math.atan], ["sinh", Math.sinh], ["cosh", Math.cosh], ["tanh", Math.tanh], ["asinh", Math.asinh],
      ["atanh", Math.atanh],
    ] as const) {
      expect(un(p, x)).toEqual([f(g(0.5))]);
    }
    expect(un("acosh", f32([1, 2, 0.5]))).toEqual([0, f(1.3169578969248166), NaN]);
    expect(un("atanh", f32([1, -1]))).toEqual([Infinity, -Infinity]);
    expect(un("tanh", f32([Infinity, -Infinity]))).toEqual([1, -1]);
    expect(un("asin", f32([1, 2]))).toEqual([f(Math.PI / 2), NaN]);
  });
  it("integer_pow: float and wrapping int, negative and zero exponents", () => {
    expect(run1("integer_pow", [f32([2, -3, 0.5])], { y: 3 })).toEqual([8, -27, 0.125]);
    expect(run1("integer_pow", [f32([2, 4, 0])], { y: -2 })).toEqual([0.25, 0.0625, Infinity]);
    expect(run1("integer_pow", [f32([NaN, 0, 5])], { y: 0 })).toEqual([1, 1, 1]);
    expect(run1("integer_pow", [i32([3, -2])], { y: 20 })).toEqual([-808182895, 1048576]);
    expect(run1("integer_pow", [u32([65536])], { y: 2 })).toEqual([0]);
  });
  it("keeps shape for scalars and empty arrays", () => {
    const [s] = run("exp", [f32([0], [])], none);
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data)).toEqual([1]);
    const [e] = run("neg", [f32([], [0, 3])], none);
    expect(e.shape).toEqual([0, 3]);
    expect(e.data.length).toBe(0);
  });
});

describe("binary elementwise", () => {
  it("add / sub / mul wrap ints mod 2^32", () => {
    expect(bin("add", i32([INT_MAX, -1]), i32([1, 1]))).toEqual([INT_MIN, 0]);
    expect(bin("sub", u32([0, 5]), u32([1, 3]))).toEqual([U32_MAX, 2]);
    expect(bin("mul", i32([65536, 123456789, -3]), i32([65536, 987654321, 7]))).toEqual([0, -67153019, -21]);
    expect(bin("mul", u32([U32_MAX]), u32([U32_MAX]))).toEqual([1]);
  });
  it("float add/mul round to f32", () => {
    expect(bin("add", f32([0.1, 1e8]), f32([0.2, 1]))).toEqual([f(f(0.1) + f(0.2)), 1e8]);
    expect(bin("mul", f32([0.1]), f32([3]))).toEqual([f(f(0.1) * 3)]);
  });
  it("int div truncates toward zero; x/0 = -1, INT_MIN/-1 = INT_MIN", () => {
    expect(bin("div", i32([7, -7, 7, -7, 5, INT_MIN]), i32([2, 2, -2, -2, 0, -1]))).toEqual([3, -3, -3, 3, -1, INT_MIN]);
    expect(bin("div", u32([U32_MAX, 7]), u32([2, 0]))).toEqual([2147483647, U32_MAX]);
    expect(bin("div", f32([1, -1, 0]), f32([0, 0, 0]))).toEqual([Infinity, -Infinity, NaN]);
    expect(bin("div", f32([1]), f32([3]))).toEqual([f(1 / 3)]);
  });
  it("rem has the sign of the dividend; x % 0 = x for ints", () => {
    expect(bin("rem", i32([7, -7, 7, -7, 5, INT_MIN]), i32([2, 2, -2, -2, 0, -1]))).toEqual([1, -1, 1, -1, 5, 0]);
    expect(bin("rem", f32([5.5, -5.5, 1]), f32([-2, 2, 0]))).toEqual([1.5, -1.5, NaN]);
  });
  it("pow follows C pow", () => {
    expect(bin("pow", f32([2, 1, -8, 0, -1]), f32([0.5, NaN, 1 / 3, 0, Infinity]))).toEqual([f(Math.SQRT2), 1, NaN, 1, 1]);
  });
  it("max / min propagate NaN", () => {
    expect(bin("max", f32([1, NaN, 3]), f32([2, 0, NaN]))).toEqual([2, NaN, NaN]);
    expect(bin("min", f32([1, NaN, 3]), f32([2, 0, NaN]))).toEqual([1, NaN, NaN]);
    expect(bin("max", i32([-5, 3]), i32([2, -9]))).toEqual([2, 3]);
    expect(bin("min", bool([1, 0]), bool([1, 1]))).toEqual([1, 0]);
  });
  it("atan2", () => {
    expect(bin("atan2", f32([1, 0]), f32([-1, -1]))).toEqual([f((3 * Math.PI) / 4), f(Math.PI)]);
  });
  it("and / or / xor on bool and ints", () => {
    expect(bin("and", bool([1, 1, 0]), bool([1, 0, 0]))).toEqual([1, 0, 0]);
    expect(bin("or", bool([1, 1, 0]), bool([1, 0, 0]))).toEqual([1, 1, 0]);
    expect(bin("xor", bool([1, 1, 0]), bool([1, 0, 0]))).toEqual([0, 1, 0]);
    expect(bin("and", i32([12, -1]), i32([10, INT_MIN]))).toEqual([8, INT_MIN]);
    expect(bin("xor", u32([U32_MAX]), u32([1]))).toEqual([U32_MAX - 1]);
    expect(bin("or", u32([0x80000000]), u32([1]))).toEqual([0x80000001]);
  });
  it("comparisons give bool and treat NaN as unordered", () => {
    const x = f32([1, 2, NaN, 3]);
    const y = f32([1, 1, NaN, 4]);
    expect(run("eq", [x, y], none)[0].dtype).toBe("bool");
    expect(bin("eq", x, y)).toEqual([1, 0, 0, 0]);
    expect(bin("ne", x, y)).toEqual([0, 1, 1, 1]);
    expect(bin("lt", x, y)).toEqual([0, 0, 0, 1]);
    expect(bin("le", x, y)).toEqual([1, 0, 0, 1]);
    expect(bin("gt", x, y)).toEqual([0, 1, 0, 0]);
    expect(bin("ge", x, y)).toEqual([1, 1, 0, 0]);
    expect(bin("lt", u32([U32_MAX]), u32([1]))).toEqual([0]);
    expect(bin("eq", f32([0]), f32([-0]))).toEqual([1]);
  });
  it("shifts: >= 32 gives 0, logical right shift of negatives", () => {
    expect(bin("shift_left", i32([1, 1, 1, 3]), i32([31, 32, -1, 2]))).toEqual([INT_MIN, 0, 0, 12]);
    expect(bin("shift_right_logical", i32([-1, -1, 16]), i32([28, 32, 2]))).toEqual([15, 0, 4]);
    expect(bin("shift_right_logical", u32([0x80000000]), u32([31]))).toEqual([1]);
    expect(bin("shift_left", u32([0xffffffff]), u32([4]))).toEqual([0xfffffff0]);
  });
  it("scalars and empty arrays", () => {
    expect(bin("add", f32([1.5], []), f32([2], []))).toEqual([3.5]);
    expect(run("add", [f32([], [0, 3]), f32([], [0, 3])], none)[0].shape).toEqual([0, 3]);
  });
});

describe("select_n / clamp", () => {
  it("select_n with a bool selector picks case 1 where true", () => {
    expect(run1("select_n", [bool([1, 0, 1]), f32([1, 2, 3]), f32([10, 20, 30])], none)).toEqual([10, 2, 30]);
  });
  it("select_n with an int32 selector over 3 cases, and a scalar selector", () => {
    const cases = [i32([1, 2, 3]), i32([4, 5, 6]), i32([7, 8, 9])];
    expect(run1("select_n", [i32([2, 0, 1]), ...cases], none)).toEqual([7, 2, 6]);
    expect(run1("select_n", [i32([1], []), ...cases], none)).toEqual([4, 5, 6]);
    expect(run1("select_n", [bool([0], []), f32([1, 2]), f32([3, 4])], none)).toEqual([1, 2]);
  });
  it("clamp with scalar and full-shaped bounds, NaN passes through", () => {
    expect(run1("clamp", [f32([0], []), f32([-1, 0.5, 2, NaN]), f32([1], [])], none)).toEqual([0, 0.5, 1, NaN]);
    expect(run1("clamp", [i32([0, 5, 2]), i32([-3, 3, 9]), i32([1, 6, 4])], none)).toEqual([0, 5, 4]);
  });
});

describe("dtype conversions", () => {
  const cvt = (x: HostArray, newDtype: DType) => run1("convert_element_type", [x], { newDtype, weakType: false });
  it("float -> int truncates toward zero, saturates, NaN -> 0", () => {
    expect(cvt(f32([1.9, -1.9, NaN, 3e9, -3e9, Infinity]), "int32")).toEqual([1, -1, 0, INT_MAX, INT_MIN, INT_MAX]);
    expect(cvt(f32([-1, 5.7, 5e9]), "uint32")).toEqual([0, 5, U32_MAX]);
  });
  it("int <-> int wraps modulo 2^32", () => {
    expect(cvt(u32([U32_MAX, 5]), "int32")).toEqual([-1, 5]);
    expect(cvt(i32([-1, INT_MIN]), "uint32")).toEqual([U32_MAX, 0x80000000]);
  });
  it("to bool is x != 0 (NaN is true, -0 is false)", () => {
    expect(cvt(f32([0, -0, NaN, 0.5]), "bool")).toEqual([0, 0, 1, 1]);
    expect(cvt(i32([0, -3]), "bool")).toEqual([0, 1]);
  });
  it("to float rounds to f32; bool -> 0/1", () => {
    expect(cvt(i32([16777217, -3]), "float32")).toEqual([16777216, -3]);
    expect(cvt(u32([U32_MAX]), "float32")).toEqual([4294967296]);
    expect(cvt(bool([1, 0]), "float32")).toEqual([1, 0]);
    expect(cvt(f32([1.0009765625 + 2 ** -12]), "float16")).toEqual([1.0009765625]);
  });
  it("weakType param flows into the aval", () => {
    const aval = elementwiseShapeRules.convert_element_type([new ShapedArray([2], "int32")], { newDtype: "float32", weakType: true });
    expect(aval[0].weakType).toBe(true);
    expect(aval[0].dtype).toBe("float32");
  });
  it("bitcast_convert_type reinterprets 32-bit patterns", () => {
    const bc = (x: HostArray, newDtype: DType) => run1("bitcast_convert_type", [x], { newDtype });
    expect(bc(f32([1, -0, 2]), "int32")).toEqual([0x3f800000, INT_MIN, 0x40000000]);
    expect(bc(i32([-1]), "uint32")).toEqual([U32_MAX]);
    expect(bc(u32([0x7fc00000, 0x3f800000]), "float32")).toEqual([NaN, 1]);
    expect(bc(f32([1.5], []), "float32")).toEqual([1.5]);
  });
  it("stop_gradient is the identity", () => {
    expect(un("stop_gradient", f32([1, NaN, -0]))).toEqual([1, NaN, -0]);
  });
});

describe("threefry2x32", () => {
  it("matches the Random123 known-answer tests", () => {
    const out = [0, 0];
    threefry2x32Block(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, out);
    expect(out).toEqual([0xc4923a9c, 0x483df7a0]);
    threefry2x32Block(0, 0, 0, 0, out);
    expect(out).toEqual([0x6b200159, 0x99ba4efe]);
    threefry2x32Block(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(out).toEqual([0x1cb996fc, 0xbb002be7]);
  });
  it("works elementwise on uint32 arrays", () => {
    const [y0, y1] = run("threefry2x32", [u32([0x13198a2e, 0]), u32([0x03707344, 0]), u32([0x243f6a88, 0]), u32([0x85a308d3, 0])], none);
    expect(Array.from(y0.data)).toEqual([0xc4923a9c, 0x6b200159]);
    expect(Array.from(y1.data)).toEqual([0x483df7a0, 0x99ba4efe]);
  });
});

describe("reductions", () => {
  const x23 = () => f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const red = (p: ElementwiseGroupPrimitive, x: HostArray, axes: number[]) => run(p as "reduce_sum", [x], { axes })[0];
  it("reduce_sum over each axis, all axes and none", () => {
    expect(Array.from(red("reduce_sum", x23(), [1]).data)).toEqual([6, 15]);
    expect(Array.from(red("reduce_sum", x23(), [0]).data)).toEqual([5, 7, 9]);
    const all = red("reduce_sum", x23(), [0, 1]);
    expect(all.shape).toEqual([]);
    expect(Array.from(all.data)).toEqual([21]);
    expect(Array.from(red("reduce_sum", x23(), []).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it("reduce_sum of a middle axis of a 3-d array", () => {
    const x = i32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 3, 2]);
    const o = red("reduce_sum", x, [1]);
    expect(o.shape).toEqual([2, 2]);
    expect(Array.from(o.data)).toEqual([6, 9, 24, 27]);
  });
  it("reduce_sum accumulates floats in f64 and wraps ints", () => {
    expect(Array.from(red("reduce_sum", f32([1e8, 1, -1e8]), [0]).data)).toEqual([1]);
    expect(Array.from(red("reduce_sum", i32([INT_MAX, 1]), [0]).data)).toEqual([INT_MIN]);
  });
  it("identities of empty reductions", () => {
    const e = f32([], [0, 3]);
    expect(Array.from(red("reduce_sum", e, [0]).data)).toEqual([0, 0, 0]);
    expect(Array.from(red("reduce_max", e, [0]).data)).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(Array.from(red("reduce_min", e, [0]).data)).toEqual([Infinity, Infinity, Infinity]);
    expect(Array.from(red("reduce_prod", e, [0]).data)).toEqual([1, 1, 1]);
    expect(Array.from(red("reduce_max", i32([], [0]), [0]).data)).toEqual([INT_MIN]);
    expect(Array.from(red("reduce_min", i32([], [0]), [0]).data)).toEqual([INT_MAX]);
    expect(Array.from(red("reduce_min", u32([], [0]), [0]).data)).toEqual([U32_MAX]);
    expect(Array.from(red("reduce_and", bool([], [0]), [0]).data)).toEqual([1]);
    expect(Array.from(red("reduce_or", bool([], [0]), [0]).data)).toEqual([0]);
    const none3 = red("reduce_sum", e, [1]);
    expect(none3.shape).toEqual([0]);
  });
  it("reduce_max / reduce_min propagate NaN", () => {
    expect(Array.from(red("reduce_max", f32([1, NaN, 3, 1, 2, 0], [2, 3]), [1]).data)).toEqual([NaN, 2]);
    expect(Array.from(red("reduce_min", f32([1, NaN, 3, 1, 2, 0], [2, 3]), [1]).data)).toEqual([NaN, 0]);
    expect(Array.from(red("reduce_max", i32([-5, -2, -9]), [0]).data)).toEqual([-2]);
  });
  it("reduce_prod wraps ints; reduce_and / reduce_or are bitwise on ints", () => {
    expect(Array.from(red("reduce_prod", i32([65536, 65536, 3]), [0]).data)).toEqual([0]);
    expect(Array.from(red("reduce_prod", f32([0.5, 3, -2]), [0]).data)).toEqual([-3]);
    expect(Array.from(red("reduce_and", i32([6, 3]), [0]).data)).toEqual([2]);
    expect(Array.from(red("reduce_or", i32([6, 3]), [0]).data)).toEqual([7]);
    expect(Array.from(red("reduce_and", bool([1, 1, 0, 1, 1, 1], [2, 3]), [1]).data)).toEqual([0, 1]);
    expect(Array.from(red("reduce_or", bool([0, 0, 0, 1, 0, 0], [2, 3]), [1]).data)).toEqual([0, 1]);
  });
  it("argmax / argmin: first occurrence, first NaN wins", () => {
    const x = f32([1, 3, 3, NaN, 2, NaN], [2, 3]);
    expect(run1("argmax", [x], { axis: 1, indexDtype: "int32" })).toEqual([1, 0]);
    expect(run1("argmin", [f32([3, 1, 1, 2, NaN, 0], [2, 3])], { axis: 1, indexDtype: "int32" })).toEqual([1, 1]);
    expect(run1("argmax", [f32([1, 5, 7, 2], [2, 2])], { axis: 0, indexDtype: "int32" })).toEqual([1, 0]);
    const [o] = run("argmin", [i32([4, -2, -2])], { axis: 0, indexDtype: "uint32" });
    expect(o.dtype).toBe("uint32");
    expect(o.shape).toEqual([]);
    expect(Array.from(o.data)).toEqual([1]);
  });
  it("cumsum / cumprod / cummax / cummin, forward and reverse", () => {
    const cum = (p: ElementwiseGroupPrimitive, x: HostArray, axis: number, reverse = false) =>
      run1(p as "cumsum", [x], { axis, reverse });
    expect(cum("cumsum", f32([1, 2, 3]), 0)).toEqual([1, 3, 6]);
    expect(cum("cumsum", f32([1, 2, 3]), 0, true)).toEqual([6, 5, 3]);
    expect(cum("cumsum", i32([1, 2, 3, 4], [2, 2]), 0)).toEqual([1, 2, 4, 6]);
    expect(cum("cumsum", i32([1, 2, 3, 4], [2, 2]), 1)).toEqual([1, 3, 3, 7]);
    expect(cum("cumsum", i32([INT_MAX, 1]), 0)).toEqual([INT_MAX, INT_MIN]);
    expect(cum("cumprod", i32([2, 3, 4]), 0, true)).toEqual([24, 12, 4]);
    expect(cum("cummax", f32([1, 3, 2, 5]), 0)).toEqual([1, 3, 3, 5]);
    expect(cum("cummax", f32([1, NaN, 3]), 0)).toEqual([1, NaN, NaN]);
    expect(cum("cummin", f32([4, 2, 3, 1]), 0, true)).toEqual([1, 1, 1, 1]);
    expect(cum("cummin", i32([4, 2, 3, 1]), 0)).toEqual([4, 2, 2, 1]);
    expect(run("cumsum", [f32([], [0, 3])], { axis: 1, reverse: false })[0].shape).toEqual([0, 3]);
  });
});

describe("scalar special functions (f64)", () => {
  it("erf / erfc match reference values to < 1e-15", () => {
    const cases: [number, number][] = [
      [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
      [2.5, 0.999593047982555], [3, 0.9999779095030014], [-1, -0.8427007929497149], [1e-10, 1.1283791670955126e-10],
    ];
    for (const [x, v] of cases) expect(Math.abs(erf(x) - v)).toBeLessThan(1e-15);
    expect(Math.abs(erfc(5) / 1.5374597944280351e-12 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(10) / 2.088487583762545e-45 - 1)).toBeLessThan(1e-13);
    expect(erf(NaN)).toBeNaN();
    expect(erf(-Infinity)).toBe(-1);
  });
  it("series and continued fraction agree across the split at 2.5", () => {
    expect(Math.abs(erfc(2.5 - 1e-12) - erfc(2.5))).toBeLessThan(1e-14); // slope there is ~2e-3
  });
  it("erfInv inverts erf, also near +-1", () => {
    for (const y of [-0.999, -0.5, -1e-5, 1e-30, 0.3, 0.75, 0.99, 0.999999]) {
      expect(Math.abs(erf(erfInv(y)) - y)).toBeLessThan(1e-15);
    }
    const y = 1 - 2 ** -40;
    expect(Math.abs(erfc(erfInv(y)) / 2 ** -40 - 1)).toBeLessThan(1e-12);
    expect(erfInv(0.5)).toBeCloseTo(0.4769362762044699, 15);
    expect(erfInv(1.5)).toBeNaN();
  });
});
