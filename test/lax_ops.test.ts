// Unit tests of the lax wrappers: hand-computed values, the weak-scalar rule,
// structural ops, windows/conv, gather/scatter, sorting, and typed errors.

import { describe, expect, test } from "vitest";
import "../src/backends";
import * as lax from "../src/lax";
import * as np from "../src/numpy";
import { ArgumentError, DTypeError, ShapeError, AxisError, TinyflowError } from "../src/core/errors";
import type { Tracer } from "../src/core/trace";

const L = (x: Tracer) => x.tolist();
const f32 = (d: unknown) => np.array(d as number[], { dtype: np.float32 });
const i32 = (d: unknown) => np.array(d as number[], { dtype: np.int32 });
function close(x: Tracer, expected: unknown, tol = 1e-5) {
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
  const a = flat(x.tolist());
  const b = flat(expected);
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
}

describe("lax elementwise", () => {
  test("binary ops on equal shapes", () => {
    const x = f32([1, 2, 3]);
    const y = f32([4, 5, 6]);
    expect(L(lax.add(x, y))).toEqual([5, 7, 9]);
    expect(L(lax.sub(x, y))).toEqual([-3, -3, -3]);
    expect(L(lax.mul(x, y))).toEqual([4, 10, 18]);
    close(lax.div(x, y), [0.25, 0.4, 0.5]);
    expect(L(lax.max(x, f32([0, 5, 1])))).toEqual([1, 5, 3]);
    expect(L(lax.min(x, f32([0, 5, 1])))).toEqual([0, 2, 1]);
    expect(L(lax.pow(x, f32([2, 2, 0.5])))).toEqual([1, 4, Math.fround(Math.sqrt(3))]);
  });
  test("integer division truncates and rem follows the dividend", () => {
    expect(L(lax.div(i32([7, -7]), i32([2, 2])))).toEqual([3, -3]);
    expect(L(lax.rem(i32([7, -7]), i32([3, 3])))).toEqual([1, -1]);
  });
  test("JS numbers are weak scalars of the other operand's dtype", () => {
    const x = f32([1, 2]);
    const r = lax.add(x, 2);
    expect(r.dtype).toBe("float32");
    expect(r.weakType).toBe(false);
    expect(L(r)).toEqual([3, 4]);
    const k = lax.mul(3, i32([1, 2]));
    expect(k.dtype).toBe("int32");
    expect(L(k)).toEqual([3, 6]);
    // Two JS numbers: float32 (the number policy), still weak.
    const s = lax.add(1, 2);
    expect(s.dtype).toBe("float32");
    expect(s.weakType).toBe(true);
    expect(L(s)).toEqual(3);
    expect(lax.add(1, 2.5).dtype).toBe("float32");
  });
  test("comparisons return bool", () => {
    const x = f32([1, 2, 3]);
    const r = lax.lt(x, 2);
    expect(r.dtype).toBe("bool");
    expect(L(r)).toEqual([true, false, false]);
    expect(L(lax.eq(x, f32([1, 0, 3])))).toEqual([true, false, true]);
    expect(L(lax.ne(x, 2))).toEqual([true, false, true]);
    expect(L(lax.ge(x, 2))).toEqual([false, true, true]);
    expect(L(lax.gt(x, 2))).toEqual([false, false, true]);
    expect(L(lax.le(x, 2))).toEqual([true, true, false]);
  });
  test("unary math", () => {
    close(lax.exp(f32([0, 1])), [1, Math.E]);
    close(lax.log(f32([1, Math.E])), [0, 1]);
    close(lax.sqrt(f32([4, 9])), [2, 3]);
    close(lax.rsqrt(f32([4])), [0.5]);
    close(lax.tanh(f32([0])), [0]);
    close(lax.logistic(f32([0])), [0.5]);
    close(lax.erf(f32([0, 1])), [0, 0.8427007929]);
    close(lax.erfInv(f32([0, 0.5])), [0, 0.4769362762], 1e-4);
    expect(L(lax.neg(i32([1, -2])))).toEqual([-1, 2]);
    expect(L(lax.abs(i32([1, -2])))).toEqual([1, 2]);
    expect(L(lax.sign(f32([-3, 0, 2])))).toEqual([-1, 0, 1]);
    expect(L(lax.floor(f32([-1.5, 1.5])))).toEqual([-2, 1]);
    expect(L(lax.ceil(f32([-1.5, 1.5])))).toEqual([-1, 2]);
    expect(L(lax.round(f32([-2.5, 2.5, 0.4])))).toEqual([-3, 3, 0]);
    expect(L(lax.integerPow(f32([2, 3]), 3))).toEqual([8, 27]);
    expect(L(lax.square(i32([3])))).toEqual([9]);
    close(lax.reciprocal(f32([4])), [0.25]);
    expect(L(lax.isFinite(f32([1, Infinity, NaN])))).toEqual([true, false, false]);
    expect(L(lax.not(np.array([true, false])))).toEqual([false, true]);
  });
  test("bitwise, shifts, bitcast, convert", () => {
    expect(L(lax.and(i32([12]), i32([10])))).toEqual([8]);
    expect(L(lax.or(i32([12]), i32([10])))).toEqual([14]);
    expect(L(lax.xor(i32([12]), i32([10])))).toEqual([6]);
    expect(L(lax.shiftLeft(i32([1, 3]), i32([2, 1])))).toEqual([4, 6]);
    expect(L(lax.shiftRightLogical(i32([-1]), i32([28])))).toEqual([15]);
    expect(L(lax.bitcastConvertType(f32([1]), "int32"))).toEqual([1065353216]);
    const c = lax.convertElementType(f32([1.7, -1.7]), "int32");
    expect(c.dtype).toBe("int32");
    expect(L(c)).toEqual([1, -1]);
    expect(L(lax.stopGradient(f32([1, 2])))).toEqual([1, 2]);
  });
  test("select_n, select and clamp", () => {
    const p = np.array([true, false, true]);
    expect(L(lax.selectN(p, f32([1, 2, 3]), f32([4, 5, 6])))).toEqual([4, 2, 6]);
    expect(L(lax.select(p, f32([1, 2, 3]), f32([4, 5, 6])))).toEqual([1, 5, 3]);
    expect(L(lax.selectN(i32([0, 1, 2]), f32([1, 1, 1]), f32([2, 2, 2]), f32([3, 3, 3])))).toEqual([1, 2, 3]);
    expect(L(lax.clamp(0, f32([-1, 0.5, 2]), 1))).toEqual([0, 0.5, 1]);
  });
  test("threefry2x32 matches the Random123 known-answer vector", () => {
    // Known answer (Random123 kat_vectors: threefry2x32_20, key 0, counter 0).
    const z = np.array([0], { dtype: np.uint32 });
    const [a, b] = lax.threefry2x32(z, z, z, z);
    expect(a.dtype).toBe("uint32");
    expect(L(a)).toEqual([0x6b200159]);
    expect(L(b)).toEqual([0x99ba4efe]);
  });
  test("errors: shapes, dtypes, arguments", () => {
    expect(() => lax.add(f32([1, 2]), f32([1, 2, 3]))).toThrow(ShapeError);
    expect(() => lax.add(f32([1, 2]), i32([1, 2]))).toThrow(/add: operands must have equal dtypes/);
    expect(() => lax.add(f32([1]), i32([1]))).toThrow(DTypeError);
    expect(() => lax.exp(i32([1]))).toThrow(/exp: operand must have a floating dtype/);
    expect(() => lax.integerPow(f32([1]), 1.5)).toThrow(ArgumentError);
    expect(() => lax.add([1, 2] as never, 1)).toThrow(/add: operand 0 must be an array/);
  });
});

describe("lax structural", () => {
  const x = () => np.arange(6).reshape(2, 3);
  test("broadcast helpers", () => {
    expect(L(lax.broadcastInDim(i32([1, 2]), [3, 2], [1]))).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect(L(lax.broadcastInDim(i32([1, 2]), [2, 3], [0]))).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(lax.broadcast(i32([1, 2]), [4, 3]).shape).toEqual([4, 3, 2]);
    expect(L(lax.reshape(x(), [3, -1]))).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(L(lax.reshape(x(), [6], [1, 0]))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(L(lax.transpose(x(), [1, 0]))).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(lax.expandDims(x(), [0, -1]).shape).toEqual([1, 2, 3, 1]);
    expect(lax.squeeze(np.zeros([1, 3, 1]), [0, 2]).shape).toEqual([3]);
    expect(L(lax.rev(x(), [1]))).toEqual([[2, 1, 0], [5, 4, 3]]);
  });
  test("slices", () => {
    expect(L(lax.slice(x(), [0, 1], [2, 3]))).toEqual([[1, 2], [4, 5]]);
    expect(L(lax.slice(np.arange(7), [1], [7], [3]))).toEqual([1, 4]);
    expect(L(lax.sliceInDim(x(), 0, -1, 1, 1))).toEqual([[0, 1], [3, 4]]);
    expect(L(lax.dynamicSlice(x(), [1, np.array(1)], [1, 2]))).toEqual([[4, 5]]);
    // starts are clamped so the slice fits
    expect(L(lax.dynamicSlice(np.arange(5), [4], [2]))).toEqual([3, 4]);
    expect(L(lax.dynamicSliceInDim(x(), 1, 2, 1))).toEqual([[1, 2], [4, 5]]);
    expect(L(lax.dynamicUpdateSlice(np.zeros([2, 3], np.int32), i32([[7, 8]]), [1, 1]))).toEqual([[0, 0, 0], [0, 7, 8]]);
    expect(L(lax.dynamicUpdateSliceInDim(np.zeros([4], np.int32), i32([1, 1]), 3, 0))).toEqual([0, 0, 1, 1]);
  });
  test("pad, concatenate, iota, full", () => {
    expect(L(lax.pad(i32([1, 2]), 0, [[1, 2, 1]]))).toEqual([0, 1, 0, 2, 0, 0]);
    expect(L(lax.pad(i32([1, 2, 3]), 9, [[-1, 0, 0]]))).toEqual([2, 3]);
    expect(L(lax.concatenate([i32([1]), i32([2, 3])], 0))).toEqual([1, 2, 3]);
    expect(L(lax.iota("int32", 4))).toEqual([0, 1, 2, 3]);
    expect(L(lax.broadcastedIota("int32", [2, 2], 1))).toEqual([[0, 1], [0, 1]]);
    const f = lax.full([2], 1.5);
    expect(f.dtype).toBe("float32");
    expect(L(f)).toEqual([1.5, 1.5]);
    expect(L(lax.zerosLike(i32([3, 4])))).toEqual([0, 0]);
    expect(L(lax.fullLike(f32([1, 2]), 7))).toEqual([7, 7]);
  });
  test("reductions and cumulative ops", () => {
    expect(L(lax.reduceSum(x(), [1]))).toEqual([3, 12]);
    expect(L(lax.reduceMax(x(), [0]))).toEqual([3, 4, 5]);
    expect(L(lax.reduceMin(x(), [-1]))).toEqual([0, 3]);
    expect(L(lax.reduceProd(i32([2, 3, 4]), [0]))).toBe(24);
    expect(L(lax.reduceAnd(np.array([true, false]), [0]))).toBe(false);
    expect(L(lax.reduceOr(np.array([true, false]), [0]))).toBe(true);
    expect(L(lax.argmax(f32([1, 5, 2]), 0))).toBe(1);
    expect(L(lax.argmin(f32([[1, 5], [0, 9]]), 1))).toEqual([0, 0]);
    expect(L(lax.cumsum(i32([1, 2, 3])))).toEqual([1, 3, 6]);
    expect(L(lax.cumsum(i32([1, 2, 3]), 0, { reverse: true }))).toEqual([6, 5, 3]);
    expect(L(lax.cumprod(i32([1, 2, 3])))).toEqual([1, 2, 6]);
    expect(L(lax.cummax(i32([1, 3, 2])))).toEqual([1, 3, 3]);
    expect(L(lax.cummin(i32([3, 1, 2])))).toEqual([3, 1, 1]);
  });
  test("sort and topK", () => {
    expect(L(lax.sort(f32([3, 1, 2])))).toEqual([1, 2, 3]);
    const [k, v] = lax.sortKeyVal(i32([3, 1, 2]), f32([30, 10, 20]));
    expect(L(k)).toEqual([1, 2, 3]);
    expect(L(v)).toEqual([10, 20, 30]);
    const [vals, idx] = lax.topK(f32([1, 4, 2, 8]), 2);
    expect(L(vals)).toEqual([8, 4]);
    expect(L(idx)).toEqual([3, 1]);
  });
  test("errors", () => {
    expect(() => lax.reshape(x(), [4, 2])).toThrow(ShapeError);
    expect(() => lax.transpose(x(), [0, 0])).toThrow(/transpose: permutation/);
    expect(() => lax.reduceSum(x(), [2])).toThrow(AxisError);
    expect(() => lax.squeeze(x(), [0])).toThrow(/can only squeeze dimensions of size 1/);
    expect(() => lax.dynamicSlice(x(), [0], [1, 1])).toThrow(ArgumentError);
    expect(() => lax.concatenate([], 0)).toThrow(ArgumentError);
    expect(() => lax.topK(f32([1, 2]), 3)).toThrow(ShapeError);
  });
});

describe("lax dot, conv, windows", () => {
  test("dot and dotGeneral", () => {
    const a = f32([[1, 2], [3, 4]]);
    const b = f32([[5, 6], [7, 8]]);
    expect(L(lax.dot(a, b))).toEqual([[19, 22], [43, 50]]);
    expect(L(lax.dot(a, f32([1, 1])))).toEqual([3, 7]);
    expect(L(lax.dot(f32([1, 2]), f32([3, 4])))).toBe(11);
    const bA = np.stack([a, b]);
    const r = lax.dotGeneral(bA, bA, [[[2], [1]], [[0], [0]]]);
    expect(L(r)).toEqual([[[7, 10], [15, 22]], [[67, 78], [91, 106]]]);
    expect(lax.dotGeneral(i32([[1]]), i32([[2]]), [[[1], [0]], [[], []]], { preferredElementType: "float32" }).dtype).toBe("float32");
    expect(() => lax.dot(a, f32([1, 2, 3]))).toThrow(/dot: contracting dimensions differ/);
    expect(() => lax.dotGeneral(a, b, [[[0], [0, 1]], [[], []]])).toThrow(ShapeError);
  });
  test("padtypeToPads and conv dimension numbers", () => {
    expect(lax.padtypeToPads([5], [3], [1], "SAME")).toEqual([[1, 1]]);
    expect(lax.padtypeToPads([5], [4], [2], "SAME")).toEqual([[1, 2]]);
    expect(lax.padtypeToPads([5], [3], [1], "VALID")).toEqual([[0, 0]]);
    const dn = lax.convDimensionNumbers(4, ["NHWC", "HWIO", "NHWC"]);
    expect(dn).toEqual({ lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2] });
    expect(() => lax.convDimensionNumbers(4, ["NCH", "OIHW", "NCHW"])).toThrow(ArgumentError);
    expect(() => lax.padtypeToPads([5], [3], [1], "FULL" as never)).toThrow(/unknown padding/);
  });
  test("convGeneralDilated in NCHW and NHWC", () => {
    // 1x1x3x3 input 0..8, 1x1x2x2 kernel of ones: sums of 2x2 windows.
    const x = np.arange(9, { dtype: np.float32 }).reshape(1, 1, 3, 3);
    const k = np.ones([1, 1, 2, 2]);
    expect(L(lax.convGeneralDilated(x, k, [1, 1], "VALID"))).toEqual([[[[8, 12], [20, 24]]]]);
    const same = lax.convGeneralDilated(x, k, [1, 1], "SAME");
    expect(L(same)).toEqual([[[[8, 12, 7], [20, 24, 13], [13, 15, 8]]]]);
    const xh = np.transpose(x, [0, 2, 3, 1]);
    const kh = np.transpose(k, [2, 3, 1, 0]);
    const yh = lax.convGeneralDilated(xh, kh, [1, 1], "VALID", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] });
    expect(yh.shape).toEqual([1, 2, 2, 1]);
    expect(L(yh.reshape(4))).toEqual([8, 12, 20, 24]);
    // strides and rhs dilation: the kernel taps (0,0),(0,2),(2,0),(2,2)
    expect(L(lax.convGeneralDilated(x, k, [1, 1], "VALID", { rhsDilation: [2, 2] }))).toEqual([[[[16]]]]);
    expect(L(lax.convGeneralDilated(x, k, [2, 2], [[0, 1], [0, 1]]))).toEqual([[[[8, 7], [13, 8]]]]);
    // feature groups: 2 channels, depthwise
    const x2 = np.concatenate([x, x], 1);
    const k2 = np.ones([2, 1, 2, 2]);
    expect(lax.convGeneralDilated(x2, k2, [1, 1], "VALID", { featureGroupCount: 2 }).shape).toEqual([1, 2, 2, 2]);
    expect(() => lax.convGeneralDilated(x, np.ones([1, 2, 2, 2]), [1, 1], "VALID")).toThrow(ShapeError);
    expect(() => lax.convGeneralDilated(f32([1, 2]), f32([1]), [1], "VALID")).toThrow(/rank >= 2/);
  });
  test("reduceWindow sum/max/min with init", () => {
    const x = f32([[1, 2, 3], [4, 5, 6]]);
    expect(L(lax.reduceWindow(x, 0, "sum", [2, 2], [1, 1], "VALID"))).toEqual([[12, 16]]);
    expect(L(lax.reduceWindow(x, -Infinity, "max", [1, 2], [1, 1]))).toEqual([[2, 3], [5, 6]]);
    expect(L(lax.reduceWindow(x, Infinity, "min", [2, 1], [1, 1]))).toEqual([[1, 2, 3]]);
    expect(L(lax.reduceWindow(x, 10, "sum", [2, 2], [1, 1]))).toEqual([[22, 26]]);
    expect(L(lax.reduceWindow(x, -Infinity, "max", [2, 2], [2, 2], "SAME"))).toEqual([[5, 6]]);
    expect(() => lax.reduceWindow(x, 0, "mean" as never, [2, 2])).toThrow(/op must be "sum", "max" or "min"/);
    expect(() => lax.reduceWindow(x, 0, "sum", [2])).toThrow(ArgumentError);
  });
  test("gather, scatter and scatterAdd", () => {
    const x = np.arange(6).reshape(3, 2);
    const idx = i32([[2], [0]]);
    const dn = { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] };
    expect(L(lax.gather(x, idx, dn, [1, 2]))).toEqual([[4, 5], [0, 1]]);
    // fill mode gives the fill value for out-of-bounds rows
    expect(L(lax.gather(x, i32([[5]]), dn, [1, 2], { fillValue: -1 }))).toEqual([[-1, -1]]);
    expect(L(lax.gather(x, i32([[5]]), dn, [1, 2], { mode: "clip" }))).toEqual([[4, 5]]);
    const sdn = { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
    const z = np.zeros([3, 2], np.int32);
    expect(L(lax.scatter(z, i32([[1]]), i32([[7, 8]]), sdn))).toEqual([[0, 0], [7, 8], [0, 0]]);
    expect(L(lax.scatterAdd(z, i32([[1], [1], [9]]), i32([[1, 1], [2, 2], [5, 5]]), sdn))).toEqual([[0, 0], [3, 3], [0, 0]]);
    expect(() => lax.gather(x, f32([[0]]), dn, [1, 2])).toThrow(DTypeError);
    expect(() => lax.gather(x, idx, dn, [1])).toThrow(ShapeError);
    expect(() => lax.scatter(z, i32([[1]]), i32([[7, 8, 9]]), sdn)).toThrow(TinyflowError);
  });
});
