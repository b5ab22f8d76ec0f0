// Unit tests of np shape manipulation, numpy-style indexing (basic, advanced,
// masks), x.at(...) updates, take/takeAlongAxis/segmentSum, and linear
// algebra (dot, matmul, einsum, tensordot, ...), with typed-error cases.

import { describe, expect, test } from "vitest";
import "../src/backends";
import * as np from "../src/numpy";
import { ArgumentError, AxisError, DTypeError, ShapeError } from "../src/core/errors";
import type { Tracer } from "../src/core/trace";

const L = (x: Tracer) => x.tolist();
const A = (n: number[]) => np.arange(n.reduce((a, b) => a * b, 1)).reshape(n);

describe("shape manipulation", () => {
  test("reshape, ravel, transpose, swapaxes, moveaxis", () => {
    const x = A([2, 3]);
    expect(L(np.reshape(x, [3, -1]))).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(L(np.ravel(x))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(L(x.T)).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(np.transpose(A([2, 3, 4]), [2, 0, 1]).shape).toEqual([4, 2, 3]);
    expect(np.transpose(A([2, 3, 4]), [-1, 0, 1]).shape).toEqual([4, 2, 3]);
    expect(np.swapaxes(A([2, 3, 4]), 0, -1).shape).toEqual([4, 3, 2]);
    expect(np.moveaxis(A([2, 3, 4]), 0, -1).shape).toEqual([3, 4, 2]);
    expect(np.moveaxis(A([2, 3, 4]), [0, 1], [-1, -2]).shape).toEqual([4, 3, 2]);
    expect(L(np.moveaxis(A([2, 3]), 1, 0))).toEqual(L(A([2, 3]).T));
  });
  test("expandDims, squeeze, broadcastTo, broadcastArrays", () => {
    expect(np.expandDims(A([2, 3]), 1).shape).toEqual([2, 1, 3]);
    expect(np.expandDims(A([2, 3]), [0, -1]).shape).toEqual([1, 2, 3, 1]);
    expect(np.squeeze(np.zeros([1, 2, 1])).shape).toEqual([2]);
    expect(np.squeeze(np.zeros([1, 2, 1]), -1).shape).toEqual([1, 2]);
    expect(L(np.broadcastTo(np.array([1, 2]), [2, 2]))).toEqual([[1, 2], [1, 2]]);
    expect(L(np.broadcastTo(3, [2]))).toEqual([3, 3]);
    const [a, b] = np.broadcastArrays(np.array([[1], [2]]), np.array([5, 6, 7]));
    expect(a.shape).toEqual([2, 3]);
    expect(L(b)).toEqual([[5, 6, 7], [5, 6, 7]]);
    expect(np.broadcastShapes([2, 1], [3])).toEqual([2, 3]);
  });
  test("concatenate, stack, split round trips", () => {
    const x = A([2, 3]);
    expect(L(np.concatenate([x, x], 1))).toEqual([[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]);
    expect(L(np.concatenate([x, x], null))).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    expect(np.concatenate([np.array([1]), np.array([1.5])]).dtype).toBe("float32");
    expect(np.stack([x, x], -1).shape).toEqual([2, 3, 2]);
    expect(L(np.stack([np.array([1, 2]), np.array([3, 4])], 1))).toEqual([[1, 3], [2, 4]]);
    const parts = np.split(A([6, 2]), 3);
    expect(parts.map((p) => p.shape)).toEqual([[2, 2], [2, 2], [2, 2]]);
    expect(L(np.concatenate(parts, 0))).toEqual(L(A([6, 2])));
    const parts2 = np.split(np.arange(10), [2, 5, -2]);
    expect(parts2.map(L)).toEqual([[0, 1], [2, 3, 4], [5, 6, 7], [8, 9]]);
    expect(np.arraySplit(np.arange(5), 3).map(L)).toEqual([[0, 1], [2, 3], [4]]);
    const s = np.split(A([2, 4]), 2, 1);
    expect(np.stack(s, 0).shape).toEqual([2, 2, 2]);
    expect(L(np.concatenate(s, 1))).toEqual(L(A([2, 4])));
    expect(L(np.vstack([np.array([1, 2]), np.array([3, 4])]))).toEqual([[1, 2], [3, 4]]);
    expect(L(np.hstack([np.array([1, 2]), np.array([3])]))).toEqual([1, 2, 3]);
  });
  test("tile, repeat, flip, roll, pad", () => {
    expect(L(np.tile(np.array([1, 2]), 2))).toEqual([1, 2, 1, 2]);
    expect(L(np.tile(np.array([1, 2]), [2, 2]))).toEqual([[1, 2, 1, 2], [1, 2, 1, 2]]);
    expect(L(np.repeat(np.array([1, 2]), 2))).toEqual([1, 1, 2, 2]);
    expect(L(np.repeat(A([2, 2]), 2, 1))).toEqual([[0, 0, 1, 1], [2, 2, 3, 3]]);
    expect(L(np.repeat(np.array([5, 6, 7]), [0, 2, 1]))).toEqual([6, 6, 7]);
    expect(L(np.repeat(A([2, 2]), [1, 2], 0))).toEqual([[0, 1], [2, 3], [2, 3]]);
    expect(L(np.flip(A([2, 2])))).toEqual([[3, 2], [1, 0]]);
    expect(L(np.flip(A([2, 2]), 1))).toEqual([[1, 0], [3, 2]]);
    expect(L(np.roll(np.arange(5), 2))).toEqual([3, 4, 0, 1, 2]);
    expect(L(np.roll(A([2, 3]), -1, 1))).toEqual([[1, 2, 0], [4, 5, 3]]);
    expect(L(np.pad(np.array([1, 2]), 1))).toEqual([0, 1, 2, 0]);
    expect(L(np.pad(np.array([1, 2]), [1, 2], { constantValues: 9 }))).toEqual([9, 1, 2, 9, 9]);
    expect(L(np.pad(A([1, 2]), [[1, 0], [0, 1]]))).toEqual([[0, 0, 0], [0, 1, 0]]);
    expect(L(np.pad(np.array([1, 2]), [2, 1], { mode: "edge" }))).toEqual([1, 1, 1, 2, 2]);
  });
  test("shape errors", () => {
    expect(() => np.reshape(A([2, 3]), [4, -1])).toThrow(/reshape: cannot reshape an array of shape \[2,3\]/);
    expect(() => np.transpose(A([2, 3]), [0])).toThrow(ShapeError);
    expect(() => np.squeeze(A([2, 3]), 0)).toThrow(/squeeze: cannot select an axis to squeeze out/);
    expect(() => np.broadcastTo(np.array([1, 2], { dtype: "int32" }), [3])).toThrow(/broadcastTo: cannot broadcast i32\[2\] to shape \[3\]/);
    expect(() => np.concatenate([A([2, 3]), A([3, 2])], 0)).toThrow(/concatenate: all arrays must have the same shape except along axis 0/);
    expect(() => np.stack([np.array([1]), np.array([1, 2])])).toThrow(ShapeError);
    expect(() => np.split(np.arange(5), 2)).toThrow(/does not result in an equal division/);
    expect(() => np.swapaxes(A([2, 3]), 0, 2)).toThrow(AxisError);
    expect(() => np.pad(np.array([1]), 1, { mode: "reflect" as never })).toThrow(ArgumentError);
  });
});

describe("indexing", () => {
  const x = () => A([3, 4]);
  test("basic: ints, slices, negative steps, newaxis, ellipsis", () => {
    expect(L(x().slice(1))).toEqual([4, 5, 6, 7]);
    expect(L(x().slice(-1, -1))).toBe(11);
    expect(L(x().slice([1, null]))).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(L(x().slice(":", [null, null, 2]))).toEqual([[0, 2], [4, 6], [8, 10]]);
    expect(L(x().slice(0, [null, null, -1]))).toEqual([3, 2, 1, 0]);
    expect(L(x().slice(0, [2, 0, -1]))).toEqual([2, 1]);
    expect(L(x().slice(0, [-1, null, -2]))).toEqual([3, 1]);
    expect(L(x().slice([5, 10]))).toEqual([]);
    expect(x().slice(null).shape).toEqual([1, 3, 4]);
    expect(x().slice(":", null, 1).shape).toEqual([3, 1]);
    expect(L(x().slice("...", 1))).toEqual([1, 5, 9]);
    expect(A([2, 3, 4]).slice(0, "...", null).shape).toEqual([3, 4, 1]);
    expect(L(np.array(5, { dtype: "int32" }).slice())).toBe(5);
    expect(L(np.index(x(), [1, [1, 3]]))).toEqual([5, 6]);
  });
  test("advanced: integer arrays broadcast together and are placed as numpy", () => {
    const i = np.array([0, 2], { dtype: "int32" });
    expect(L(x().slice(i))).toEqual([[0, 1, 2, 3], [8, 9, 10, 11]]);
    expect(L(x().slice(":", i))).toEqual([[0, 2], [4, 6], [8, 10]]);
    expect(L(x().slice(i, np.array([1, 3], { dtype: "int32" })))).toEqual([1, 11]);
    expect(L(x().slice(np.array([[0], [2]], { dtype: "int32" }), np.array([1, 3], { dtype: "int32" })))).toEqual([[1, 3], [9, 11]]);
    expect(L(x().slice(np.array([-1], { dtype: "int32" })))).toEqual([[8, 9, 10, 11]]);
    expect(L(x().slice(1, i))).toEqual([4, 6]);
    // advanced indices separated by a slice: the broadcast dims go first
    const y = A([2, 3, 4]);
    expect(y.slice(np.array([0, 1], { dtype: "int32" }), ":", np.array([0, 1], { dtype: "int32" })).shape).toEqual([2, 3]);
    expect(L(y.slice(np.array([0, 1], { dtype: "int32" }), ":", np.array([0, 1], { dtype: "int32" })))).toEqual([[0, 4, 8], [13, 17, 21]]);
    // adjacent advanced indices after a slice stay in place
    expect(y.slice(":", np.array([0, 1], { dtype: "int32" }), np.array([0, 1], { dtype: "int32" })).shape).toEqual([2, 2]);
    expect(y.slice(":", np.array([[0, 1, 2]], { dtype: "int32" })).shape).toEqual([2, 1, 3, 4]);
    // boolean masks (concrete)
    expect(L(np.arange(5, { dtype: "int32" }).slice(np.array([true, false, true, false, true])))).toEqual([0, 2, 4]);
    expect(L(x().slice(np.greater(x(), 8)))).toEqual([9, 10, 11]);
  });
  test("at(...).set/add/multiply/min/max/get", () => {
    const v = np.zeros([5], np.int32);
    expect(L(v.at(1).set(3))).toEqual([0, 3, 0, 0, 0]);
    expect(L(v.at([1, 3]).set(np.array([7, 8], { dtype: "int32" })))).toEqual([0, 7, 8, 0, 0]);
    expect(L(v.at([null, null, 2]).add(1))).toEqual([1, 0, 1, 0, 1]);
    expect(L(v.at([null, null, -1]).set(np.arange(5, { dtype: "int32" })))).toEqual([4, 3, 2, 1, 0]);
    // duplicates accumulate with add
    expect(L(v.at(np.array([0, 0, 4], { dtype: "int32" })).add(1))).toEqual([2, 0, 0, 0, 1]);
    expect(L(v.at(np.array([0, 0, 4], { dtype: "int32" })).add(np.array([1, 2, 3], { dtype: "int32" })))).toEqual([3, 0, 0, 0, 3]);
    // out-of-bounds updates are dropped
    expect(L(v.at(np.array([9], { dtype: "int32" })).set(1))).toEqual([0, 0, 0, 0, 0]);
    const m = np.ones([2, 3], np.float32);
    expect(L(m.at(0, ":").multiply(2))).toEqual([[2, 2, 2], [1, 1, 1]]);
    expect(L(m.at(":", 1).set(np.array([5, 6], { dtype: "int32" })))).toEqual([[1, 5, 1], [1, 6, 1]]);
    expect(L(m.at(np.array([1], { dtype: "int32" }), np.array([2], { dtype: "int32" })).max(4))).toEqual([[1, 1, 1], [1, 1, 4]]);
    expect(L(m.at("...", 0).min(0))).toEqual([[0, 1, 1], [0, 1, 1]]);
    expect(L(np.arange(4, { dtype: "int32" }).at(np.array([1, 2], { dtype: "int32" })).multiply(3))).toEqual([0, 3, 6, 3]);
    expect(L(A([2, 2]).at(1).get())).toEqual([2, 3]);
    const f = np.zeros([3], np.float32).at(0).set(1.5);
    expect(f.dtype).toBe("float32");
    expect(L(f)).toEqual([1.5, 0, 0]);
    expect(L(np.zeros([2, 2], np.int32).at(np.array([true, false])).set(1))).toEqual([[1, 1], [0, 0]]);
  });
  test("take, takeAlongAxis, segmentSum", () => {
    const x2 = A([3, 4]);
    expect(L(np.take(x2, np.array([2, 0], { dtype: "int32" }), 0))).toEqual([[8, 9, 10, 11], [0, 1, 2, 3]]);
    expect(L(np.take(x2, [1, -1], 1))).toEqual([[1, 3], [5, 7], [9, 11]]);
    expect(L(np.take(x2, np.array([[0, 11]], { dtype: "int32" })))).toEqual([[0, 11]]);
    expect(np.take(x2, np.array([[0, 1], [1, 2]], { dtype: "int32" }), 1).shape).toEqual([3, 2, 2]);
    expect(Number.isNaN(L(np.take(np.array([1, 2], np.float32), [5])) && (L(np.take(np.array([1, 2], np.float32), [5])) as number[])[0])).toBe(true);
    expect(L(np.take(np.array([1, 2], { dtype: "int32" }), [5], 0, { mode: "clip" }))).toEqual([2]);
    const s = np.array([[3, 1, 2], [9, 7, 8]], { dtype: "int32" });
    expect(L(np.takeAlongAxis(s, np.array([[1, 2, 0], [0, 2, 1]], { dtype: "int32" }), 1))).toEqual([[1, 2, 3], [9, 8, 7]]);
    expect(L(np.takeAlongAxis(s, np.array([[1, 0, 1]], { dtype: "int32" }), 0))).toEqual([[9, 1, 8]]);
    expect(L(np.segmentSum(np.array([1, 2, 3, 4], { dtype: "int32" }), np.array([0, 0, 2, 2], { dtype: "int32" }), 3))).toEqual([3, 0, 7]);
    expect(L(np.segmentSum(np.array([[1, 1], [2, 2], [3, 3]], np.float32), [1, 0, 1]))).toEqual([[2, 2], [4, 4]]);
  });
  test("indexing errors", () => {
    expect(() => x().slice(3)).toThrow(/index 3 is out of bounds for axis 0 with size 3/);
    expect(() => x().slice(0, 0, 0)).toThrow(/too many indices for array/);
    expect(() => x().slice("...", "...")).toThrow(ArgumentError);
    expect(() => x().slice(np.array([0.5]))).toThrow(DTypeError);
    expect(() => x().slice([0, 1, 0])).toThrow(/slice step cannot be zero/);
    expect(() => np.zeros([3]).at(np.array([0, 1], { dtype: "int32" })).set(np.zeros([3]))).toThrow(ShapeError);
    expect(() => np.takeAlongAxis(x(), np.array([0], { dtype: "int32" }), 1)).toThrow(/same number of dimensions/);
    expect(() => np.segmentSum(np.array([1, 2], { dtype: "int32" }), np.array([0], { dtype: "int32" }), 1)).toThrow(ShapeError);
  });
});

describe("linear algebra", () => {
  const a = () => np.array([[1, 2], [3, 4]], np.float32);
  const b = () => np.array([[5, 6], [7, 8]], np.float32);
  test("dot, matmul (batch broadcasting, 1-D promotion)", () => {
    expect(L(np.dot(a(), b()))).toEqual([[19, 22], [43, 50]]);
    expect(L(np.dot(np.array([1, 2]), np.array([3, 4])))).toBe(11);
    expect(L(np.dot(a(), 2))).toEqual([[2, 4], [6, 8]]);
    expect(np.dot(A([2, 3, 4]), A([5, 4, 6])).shape).toEqual([2, 3, 5, 6]);
    expect(L(np.matmul(a(), b()))).toEqual([[19, 22], [43, 50]]);
    expect(L(a().matmul(np.array([1, 1], np.float32)))).toEqual([3, 7]);
    expect(L(np.matmul(np.array([1, 1], np.float32), a()))).toEqual([4, 6]);
    expect(L(np.matmul(np.array([1, 2]), np.array([3, 4])))).toBe(11);
    const batched = np.matmul(np.stack([a(), b()]), a());
    expect(L(batched)).toEqual([[[7, 10], [15, 22]], [[23, 34], [31, 46]]]);
    expect(np.matmul(np.ones([2, 1, 3, 4]), np.ones([5, 4, 2])).shape).toEqual([2, 5, 3, 2]);
    expect(np.matmul(np.ones([3, 4]), np.ones([5, 4, 2])).shape).toEqual([5, 3, 2]);
    expect(np.matmul(np.array([[1]]), np.array([[2.5]])).dtype).toBe("float32");
  });
  test("einsum's sublist form (integer labels, \"...\" for an ellipsis) equals the subscripts form", () => {
    const x = np.arange(6, { dtype: np.float32 }).reshape(2, 3);
    const y = np.arange(12, { dtype: np.float32 }).reshape(3, 4);
    expect(L(np.einsum(x, [0, 1], y, [1, 2], [0, 2]))).toEqual(L(np.matmul(x, y)));
    // No output sublist: the labels used once, in label order (numpy's implicit output).
    expect(L(np.einsum(x, [0, 1], y, [1, 2]))).toEqual(L(np.matmul(x, y)));
    expect(L(np.einsum(y, [5, 2], x, [0, 5]))).toEqual(L(np.matmul(x, y)));
    expect(L(np.einsum(x, [0, 1], [1, 0]))).toEqual(L(x.T));
    expect(L(np.einsum(A([3, 3]), [7, 7]))).toBe(12);
    expect(L(np.einsum(np.array([1, 2]), [0], np.array([3, 4, 5]), [1], [0, 1]))).toEqual([[3, 4, 5], [6, 8, 10]]);
    const p = np.arange(24, { dtype: np.float32 }).reshape(2, 3, 4);
    const q = np.arange(40, { dtype: np.float32 }).reshape(2, 4, 5);
    expect(L(np.einsum(p, ["...", 0, 1], q, ["...", 1, 2], ["...", 0, 2]))).toEqual(L(np.matmul(p, q)));
    expect(L(np.einsum(p, [0, 26, 1], [26]))).toEqual(L(np.einsum("aBb->B", p)));
    expect(() => np.einsum(x, [0, 52])).toThrow(ArgumentError);
    expect(() => np.einsum(x, [0, 52])).toThrow(/sublist of operand 0 holds 52/);
    expect(() => np.einsum(x, [0, 1.5])).toThrow(ArgumentError);
    expect(() => np.einsum(x, "ij" as unknown as number[])).toThrow(/must be a sublist like \[0, 1\]/);
    expect(() => np.einsum(x, [0, 1, 2])).toThrow(ShapeError);
  });
  test("einsum agrees with matmul and friends", () => {
    const x = np.arange(6, { dtype: np.float32 }).reshape(2, 3);
    const y = np.arange(12, { dtype: np.float32 }).reshape(3, 4);
    expect(L(np.einsum("ij,jk->ik", x, y))).toEqual(L(np.matmul(x, y)));
    expect(L(np.einsum("ij,jk", x, y))).toEqual(L(np.matmul(x, y)));
    expect(L(np.einsum("ij->ji", x))).toEqual(L(x.T));
    expect(L(np.einsum("ij->", x))).toBe(15);
    expect(L(np.einsum("ij->j", x))).toEqual([3, 5, 7]);
    expect(L(np.einsum("ii->i", A([3, 3])))).toEqual([0, 4, 8]);
    expect(L(np.einsum("ii", A([3, 3])))).toBe(12);
    expect(L(np.einsum("i,j->ij", np.array([1, 2]), np.array([3, 4, 5])))).toEqual([[3, 4, 5], [6, 8, 10]]);
    expect(L(np.einsum("i,i->", np.array([1, 2]), np.array([3, 4])))).toBe(11);
    const p = np.arange(24, { dtype: np.float32 }).reshape(2, 3, 4);
    const q = np.arange(40, { dtype: np.float32 }).reshape(2, 4, 5);
    expect(L(np.einsum("bij,bjk->bik", p, q))).toEqual(L(np.matmul(p, q)));
    expect(L(np.einsum("...ij,...jk->...ik", p, q))).toEqual(L(np.matmul(p, q)));
    expect(L(np.einsum("...ij,jk->...ik", p, y.slice(":", [0, 4]).reshape(4, 3).T.reshape(3, 4).T.reshape(4, 3)))).toEqual(
      L(np.matmul(p, y.slice(":", [0, 4]).reshape(4, 3).T.reshape(3, 4).T.reshape(4, 3))),
    );
    expect(L(np.einsum("ij,jk,kl->il", x, y, np.ones([4, 2])))).toEqual(L(np.matmul(np.matmul(x, y), np.ones([4, 2]))));
    expect(L(np.einsum("bi,bi->b", x, x))).toEqual([5, 50]);
  });
  test("tensordot, outer, inner, vdot, trace, diagonal, norm", () => {
    expect(L(np.tensordot(a(), b(), 1))).toEqual([[19, 22], [43, 50]]);
    expect(L(np.tensordot(a(), b()))).toBe(70);
    expect(L(np.tensordot(a(), b(), [[0], [0]]))).toEqual([[26, 30], [38, 44]]);
    expect(L(np.outer(np.array([1, 2]), np.array([3, 4, 5])))).toEqual([[3, 4, 5], [6, 8, 10]]);
    expect(L(np.inner(a(), b()))).toEqual([[17, 23], [39, 53]]);
    expect(L(np.vdot(a(), b()))).toBe(70);
    expect(L(np.trace(A([3, 3])))).toBe(12);
    expect(L(np.trace(A([3, 3]), 1))).toBe(6);
    expect(L(np.diagonal(A([3, 4]), -1))).toEqual([4, 9]);
    expect(L(np.diagonal(A([2, 2, 2]), 0, 1, 2))).toEqual([[0, 3], [4, 7]]);
    expect(L(np.norm(np.array([3, 4], np.float32)))).toBe(5);
  });
  test("linear algebra errors", () => {
    expect(() => np.matmul(np.zeros([2, 3]), np.zeros([4, 5]))).toThrow("matmul: contracting dimensions differ: f32[2,3] @ f32[4,5] (3 != 4)");
    expect(() => np.matmul(np.zeros([2, 2, 3]), np.zeros([3, 3, 1]))).toThrow(/batch dimensions \[2\] and \[3\]/);
    expect(() => np.matmul(np.zeros([]), np.zeros([2]))).toThrow(ShapeError);
    expect(() => np.dot(np.zeros([2]), np.zeros([3]))).toThrow(/dot: contracting dimensions differ/);
    expect(() => np.einsum("ij,jk->ik", np.zeros([2, 3]))).toThrow(/name 2 operands but 1 were given/);
    expect(() => np.einsum("ij,jk->ik", np.zeros([2, 3]), np.zeros([4, 5]))).toThrow(/size of label "j" differs/);
    expect(() => np.einsum("ij->iz", np.zeros([2, 3]))).toThrow(ArgumentError);
    expect(() => np.tensordot(np.zeros([2]), np.zeros([3]), 1)).toThrow(ShapeError);
    expect(() => np.diagonal(np.zeros([3]))).toThrow(/at least 2 dimensions/);
  });
});
