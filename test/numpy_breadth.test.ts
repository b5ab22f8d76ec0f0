// Unit tests of the numpy breadth of issue 12 (ufuncs_more, sequences,
// statistics, products, matrices): values computed by hand or from the
// defining identity, dtype promotion, named shape errors, and jit/vmap/grad
// where JAX defines them.

import { describe, expect, test } from "vitest";
import { np, jit, vmap, grad, type Array } from "../src/index";
import { ArgumentError, DTypeError, ShapeError } from "../src/core/errors";

import { close, flat } from "./values";
const i32 = (d: unknown) => np.array(d as number[], { dtype: "int32" });

describe("elementwise", () => {
  test("signbit, copysign, logaddexp(2), hypot, heaviside, sinc, fmax/fmin, degrees, isclose", () => {
    expect(np.signbit(np.array([-1, 0, -0, 2, NaN])).tolist()).toEqual([true, false, true, false, false]);
    expect(np.signbit(i32([-3, 3])).tolist()).toEqual([true, false]);
    close(np.copysign(np.array([1, -2, 3]), np.array([-1, 1, -0])), [-1, 2, -3]);
    expect(np.copysign(i32([1]), i32([-1])).dtype).toBe("float32");
    close(np.logaddexp(np.array([0, 1000, -Infinity]), np.array([0, 1000, -Infinity])), [Math.LN2, 1000 + Math.LN2, -Infinity]);
    close(np.logaddexp2(np.array([1, 3]), np.array([1, 3])), [2, 4]);
    close(np.hypot(np.array([3, 1e30, 0]), np.array([4, 1e30, 0])), [5, Math.SQRT2 * 1e30, 0], 1e-6);
    close(np.heaviside(np.array([-1, 0, 2]), 0.5), [0, 0.5, 1]);
    close(np.sinc(np.array([0, 0.5, 1])), [1, 2 / Math.PI, 0], 1e-6);
    close(grad((x: Array) => np.sinc(x))(np.array(0)), 0);
    close(np.fmax(np.array([1, NaN, NaN]), np.array([NaN, 2, NaN])), [1, 2, NaN]);
    close(np.fmin(np.array([1, 5]), np.array([3, 2])), [1, 2]);
    close(np.deg2rad(np.array([180])), [Math.PI], 1e-6);
    close(np.degrees(np.array([Math.PI / 2])), [90], 1e-5);
    expect(np.isclose(np.array([1, 1e10, NaN, Infinity]), np.array([1.000001, 1.000009e10, NaN, Infinity])).tolist()).toEqual([true, true, false, true]);
    expect(np.isclose(np.array([NaN]), np.array([NaN]), { equalNan: true }).tolist()).toEqual([true]);
  });
});

describe("sequences", () => {
  test("diff, ediff1d, trapezoid, cumulativeSum", () => {
    close(np.diff(np.array([1, 4, 9, 16])), [3, 5, 7]);
    close(np.diff(np.array([1, 4, 9, 16]), 2), [2, 2]);
    close(np.diff(np.array([[1, 2], [4, 8]]), 1, 0), [[3, 6]]);
    close(np.diff(np.array([1, 2]), 1, -1, { prepend: 0, append: 5 }), [1, 1, 3]);
    expect(np.diff(np.array([true, false, false])).tolist()).toEqual([true, false]);
    close(np.ediff1d(np.array([[1, 2], [4, 7]]), { toBegin: -1, toEnd: np.array([10, 20]) }), [-1, 1, 2, 3, 10, 20]);
    close(np.trapezoid(np.array([1, 2, 3])), 4);
    close(np.trapezoid(np.array([1, 2, 3]), { x: np.array([0, 1, 3]) }), 1.5 + 5);
    close(np.trapezoid(np.array([[1, 1], [3, 3]]), { axis: 0, dx: 2 }), [4, 4]);
    close(np.cumulativeSum(np.array([1, 2, 3]), { includeInitial: true }), [0, 1, 3, 6]);
    close(np.cumulativeProd(np.array([[1, 2], [3, 4]]), { axis: 1 }), [[1, 2], [3, 12]]);
    expect(() => np.cumulativeSum(np.ones([2, 2]))).toThrow(ArgumentError);
    expect(() => np.diff(np.array(3))).toThrow(ShapeError);
    close(grad((y: Array) => np.trapezoid(y))(np.array([1, 2, 3])), [0.5, 1, 0.5]);
  });

  test("searchsorted, digitize, interp", () => {
    const a = np.array([1, 2, 2, 3]);
    expect(np.searchsorted(a, np.array([0, 2, 2.5, 4])).tolist()).toEqual([0, 1, 3, 4]);
    expect(np.searchsorted(a, np.array([2]), { side: "right" }).tolist()).toEqual([3]);
    expect(np.digitize(np.array([0.5, 1, 1.5, 3]), np.array([1, 2, 3])).tolist()).toEqual([0, 1, 1, 3]);
    expect(np.digitize(np.array([1, 3]), np.array([1, 2, 3]), true).tolist()).toEqual([0, 2]);
    close(np.interp(np.array([-1, 0, 0.5, 1.5, 2, 5]), np.array([0, 1, 2]), np.array([0, 10, 0])), [0, 0, 5, 5, 0, 0]);
    close(np.interp(np.array([-1, 3]), np.array([0, 1]), np.array([1, 2]), { left: -9, right: 9 }), [-9, 9]);
    expect(() => np.interp(np.array([1]), np.array([0, 1]), np.array([1]))).toThrow(ShapeError);
    const traced = jit((x: Array) => np.interp(x, np.array([0, 1]), np.array([0, 2])))(np.array([0.25]));
    close(traced, [0.5]);
  });

  test("bincount, histogram, isin, unique, select, piecewise", () => {
    expect(np.bincount(i32([0, 1, 1, 3])).tolist()).toEqual([1, 2, 0, 1]);
    expect(np.bincount(i32([0, 1]), { minlength: 4 }).tolist()).toEqual([1, 1, 0, 0]);
    close(np.bincount(i32([0, 1, 1]), { weights: np.array([0.5, 1, 2]) }), [0.5, 3]);
    expect(jit((x: Array) => np.bincount(x, { length: 3 }))(i32([2, 2, 5])).tolist()).toEqual([0, 0, 2]);
    expect(() => jit((x: Array) => np.bincount(x))(i32([1]))).toThrow(/static \{ length \}/);
    expect(() => np.bincount(np.array([1.5]))).toThrow(DTypeError);
    const [h, e] = np.histogram(np.array([1, 2, 2, 3, 4]), { bins: 3 });
    close(h, [1, 2, 2]);
    close(e, [1, 2, 3, 4]);
    const [hd] = np.histogram(np.array([0, 0.5, 1]), { bins: 2, range: [0, 1], density: true });
    close(hd, [2 / 3, 4 / 3]);
    expect(np.isin(np.array([1, 2, 3]), np.array([3, 1])).tolist()).toEqual([true, false, true]);
    expect(np.isin(i32([1, 2]), i32([2]), { invert: true }).tolist()).toEqual([true, false]);
    close(np.unique(np.array([3, 1, 3, 2, 1])), [1, 2, 3]);
    close(jit((x: Array) => np.unique(x, { size: 5, fillValue: -1 }))(np.array([3, 1, 3, 2, 1])), [1, 2, 3, -1, -1]);
    close(np.unique(np.array([2, 2, 7]), { size: 1 }), [2]);
    expect(() => jit((x: Array) => np.unique(x))(np.array([1]))).toThrow(/static \{ size \}/);
    const x = np.array([-2, -1, 0, 1, 2]);
    close(np.select([np.less(x, 0), np.greater(x, 1)], [np.negative(x), np.multiply(x, 10)], -7), [2, 1, -7, -7, 20]);
    close(np.piecewise(x, [np.less(x, 0), np.greaterEqual(x, 0)], [(v: Array) => np.negative(v), (v: Array) => np.square(v)]), [2, 1, 0, 1, 4]);
    close(np.piecewise(x, [np.equal(x, 0)], [100, (v: Array) => v]), [-2, -1, 100, 1, 2]);
    expect(() => np.select([np.array([1])], [np.array([1])])).toThrow(DTypeError);
  });
});

describe("statistics", () => {
  test("nan reductions", () => {
    const x = np.array([[1, NaN, 3], [NaN, NaN, NaN]]);
    close(np.nansum(x), 4);
    close(np.nansum(x, 1), [4, 0]);
    close(np.nanmean(x, 1), [2, NaN]);
    close(np.nanmax(x, 1), [3, NaN]);
    close(np.nanmin(x, 1), [1, NaN]);
    close(np.nanprod(np.array([2, NaN, 3])), 6);
    close(np.nanvar(np.array([1, NaN, 3])), 1);
    close(np.nanstd(np.array([1, NaN, 3]), null, { ddof: 1 }), Math.SQRT2);
    expect(np.nanargmax(np.array([1, NaN, 5, 2])).item()).toBe(2);
    expect(np.nanargmin(np.array([NaN, 4, 0.5])).item()).toBe(2);
  });

  test("median, quantile, percentile and their nan forms", () => {
    close(np.median(np.array([3, 1, 2, 10])), 2.5);
    close(np.median(np.array([[1, 5, 3], [4, 4, 9]]), 1), [3, 4]);
    close(np.quantile(np.array([1, 2, 3, 4]), 0.25), 1.75);
    close(np.quantile(np.array([1, 2, 3, 4]), np.array([0, 0.5, 1])), [1, 2.5, 4]);
    close(np.percentile(np.array([1, 2, 3, 4]), 25, { method: "lower" }), 1);
    close(np.percentile(np.array([1, 2, 3, 4]), 25, { method: "higher" }), 2);
    close(np.quantile(np.array([1, 2, 3, 4]), 0.5, { method: "midpoint" }), 2.5);
    close(np.quantile(np.array([1, 2, 3, 4]), 0.4, { method: "nearest" }), 2);
    expect(np.median(np.ones([2, 3, 4]), [0, 2], { keepdims: true }).shape).toEqual([1, 3, 1]);
    expect(np.quantile(np.ones([2, 3]), np.array([0.1, 0.9]), { axis: 1 }).shape).toEqual([2, 2]);
    close(np.nanmedian(np.array([1, NaN, 3, 100])), 3);
    close(np.nanpercentile(np.array([NaN, 0, 10]), 50), 5);
    close(vmap((r: Array) => np.median(r))(np.array([[1, 9, 5], [2, 2, 8]])), [5, 2]);
    close(grad((v: Array) => np.median(v))(np.array([3, 1, 2])), [0, 0, 1]);
  });

  test("cov and corrcoef", () => {
    // x = [1, 2, 3], y = [2, 4, 7]: var x = 1, var y = 6.333.., cov = 2.5 (ddof 1).
    const data = np.array([[1, 2, 3], [2, 4, 7]]);
    close(np.cov(data), [[1, 2.5], [2.5, 19 / 3]]);
    close(np.cov(np.array([1, 2, 3]), np.array([2, 4, 7])), [[1, 2.5], [2.5, 19 / 3]]);
    close(np.cov(np.transpose(data), null, { rowvar: false, bias: true }), [[2 / 3, 5 / 3], [5 / 3, 38 / 9]]);
    close(np.cov(np.array([1, 2, 3])), 1);
    const r = 2.5 / Math.sqrt(19 / 3);
    close(np.corrcoef(data), [[1, r], [r, 1]]);
    expect(() => np.cov(np.ones([2, 3]), np.ones([2, 4]))).toThrow(ShapeError);
  });
});

describe("products, grids and splits", () => {
  test("cross, kron, convolve, correlate", () => {
    close(np.cross(np.array([1, 0, 0]), np.array([0, 1, 0])), [0, 0, 1]);
    close(np.cross(np.array([[1, 2, 3]]), np.array([[4, 5, 6]])), [[-3, 6, -3]]);
    close(np.cross(np.array([1, 2]), np.array([3, 4])), -2);
    expect(() => np.cross(np.array([1, 2, 3, 4]), np.array([1, 2, 3]))).toThrow(ShapeError);
    close(np.kron(np.array([[1, 2], [3, 4]]), np.array([[0, 1], [1, 0]])), [[0, 1, 0, 2], [1, 0, 2, 0], [0, 3, 0, 4], [3, 0, 4, 0]]);
    close(np.kron(np.array([1, 10]), np.array([1, 2, 3])), [1, 2, 3, 10, 20, 30]);
    close(np.convolve(np.array([1, 2, 3]), np.array([0, 1, 0.5])), [0, 1, 2.5, 4, 1.5]);
    close(np.convolve(np.array([1, 2, 3]), np.array([0, 1, 0.5]), "same"), [1, 2.5, 4]);
    close(np.convolve(np.array([1, 2, 3]), np.array([0, 1, 0.5]), "valid"), [2.5]);
    close(np.convolve(np.array([1, 2, 3, 4]), np.array([1, 1, 1, 1]), "same"), [3, 6, 10, 9]);
    close(np.correlate(np.array([1, 2, 3]), np.array([0, 1, 0.5])), [3.5]);
    close(np.correlate(np.array([1, 2, 3]), np.array([0, 1, 0.5]), "full"), [0.5, 2, 3.5, 3, 0]);
    expect(() => np.convolve(np.array([1]), np.array([1]), "wide" as "full")).toThrow(ArgumentError);
  });

  test("polyval, polyfit, meshgrid, rot90, the split family, tri/tril/triu/diag", () => {
    close(np.polyval(np.array([3, 0, 1]), np.array([0, 1, 2])), [1, 4, 13]);
    const xs = np.array([0, 1, 2, 3]);
    close(np.polyfit(xs, np.polyval(np.array([2, -1, 0.5]), xs), 2), [2, -1, 0.5], 1e-3);
    const [gx, gy] = np.meshgrid(np.array([1, 2, 3]), np.array([10, 20]));
    close(gx, [[1, 2, 3], [1, 2, 3]]);
    close(gy, [[10, 10, 10], [20, 20, 20]]);
    const [ix] = np.meshgrid(np.array([1, 2, 3]), np.array([10, 20]), { indexing: "ij" });
    expect(ix.shape).toEqual([3, 2]);
    const m = np.array([[1, 2], [3, 4]]);
    close(np.rot90(m), [[2, 4], [1, 3]]);
    close(np.rot90(m, 2), [[4, 3], [2, 1]]);
    close(np.rot90(m, -1), [[3, 1], [4, 2]]);
    expect(np.hsplit(np.ones([2, 4]), 2).map((p) => p.shape)).toEqual([[2, 2], [2, 2]]);
    expect(np.vsplit(np.ones([4, 2]), [1]).map((p) => p.shape)).toEqual([[1, 2], [3, 2]]);
    expect(np.dsplit(np.ones([1, 1, 6]), 3).length).toBe(3);
    expect(() => np.hsplit(np.ones([2, 3]), 2)).toThrow(ShapeError);
    close(np.tri(3, 2, 0), [[1, 0], [1, 1], [1, 1]]);
    close(np.tril(m), [[1, 0], [3, 4]]);
    close(np.triu(m, 1), [[0, 2], [0, 0]]);
    close(np.diag(np.array([1, 2]), 1), [[0, 1, 0], [0, 0, 2], [0, 0, 0]]);
    close(np.diag(np.array([1, 2]), -1), [[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
    close(np.diag(m), [1, 4]);
    close(np.diagflat(m), [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 4]]);
    expect(np.matrixTranspose(np.ones([2, 3, 4])).shape).toEqual([2, 4, 3]);
    expect(() => np.tril(np.array([1, 2]))).toThrow(ShapeError);
  });
});
