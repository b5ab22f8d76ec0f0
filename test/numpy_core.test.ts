// Unit tests of np creation, promotion, elementwise ops, reductions, printing
// and their typed errors, with hand-computed expected values.

import { describe, expect, test } from "vitest";
import "../src/backends";
import * as np from "../src/numpy";
import { resultTypeOf } from "../src/numpy/promote";
import { ArgumentError, AxisError, DTypeError, ShapeError } from "../src/core/errors";
import type { Tracer } from "../src/core/trace";

const L = (x: Tracer) => x.tolist();
function close(x: Tracer, expected: unknown, tol = 1e-5) {
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
  const a = flat(x.tolist());
  const b = flat(expected);
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    if (Number.isNaN(b[i])) expect(Number.isNaN(v)).toBe(true);
    else if (v === b[i]) expect(v).toBe(b[i]);
    else expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
  });
}

describe("creation", () => {
  test("array infers dtype and shape", () => {
    // JS numbers are float32 whatever their values; integers come from { dtype }.
    const a = np.array([[1, 2], [3, 4]]);
    expect(a.dtype).toBe("float32");
    expect(a.shape).toEqual([2, 2]);
    expect(np.array([[1, 2], [3, 4]], { dtype: "int32" }).dtype).toBe("int32");
    expect(np.array([1, 2.5]).dtype).toBe("float32");
    expect(np.array([true, false]).dtype).toBe("bool");
    expect(np.array([1, 2], { dtype: np.float32 }).dtype).toBe("float32");
    expect(np.array([1, 2], np.uint32).dtype).toBe("uint32");
    expect(np.array(new Float32Array([1, 2])).dtype).toBe("float32");
    expect(L(np.array(new Int32Array([3, 4])))).toEqual([3, 4]);
    expect(np.array(new Int32Array([3, 4])).dtype).toBe("int32");
    expect(np.array([]).shape).toEqual([0]);
    expect(np.array([[], []]).shape).toEqual([2, 0]);
    expect(L(np.array([np.array([1, 2]), np.array([3, 4])]))).toEqual([[1, 2], [3, 4]]);
    expect(np.array([np.array([1, 2], { dtype: "int32" }), np.array([3, 4], { dtype: "int32" })]).dtype).toBe("int32");
    const s = np.array(2);
    expect(s.shape).toEqual([]);
    expect(s.weakType).toBe(true);
    expect(s.dtype).toBe("float32");
    expect(np.array(2, np.int32).weakType).toBe(false);
    expect(np.asarray(a)).toBe(a);
  });
  test("zeros, ones, full, *Like, empty, eye, identity", () => {
    expect(L(np.zeros([2, 2]))).toEqual([[0, 0], [0, 0]]);
    expect(np.zeros(3).dtype).toBe("float32");
    expect(L(np.ones(2, { dtype: np.int32 }))).toEqual([1, 1]);
    expect(L(np.full([2], 7))).toEqual([7, 7]);
    expect(np.full([2], 7).dtype).toBe("float32");
    expect(np.full([2], 7, { dtype: "int32" }).dtype).toBe("int32");
    expect(L(np.full([2, 2], np.array([1, 2])))).toEqual([[1, 2], [1, 2]]);
    expect(L(np.zerosLike(np.array([1.5, 2])))).toEqual([0, 0]);
    expect(np.onesLike(np.array([1, 2], { dtype: "int32" })).dtype).toBe("int32");
    expect(L(np.fullLike(np.array([1, 2]), 3))).toEqual([3, 3]);
    expect(L(np.empty([0, 3]))).toEqual([]);
    expect(L(np.eye(2, 3, 1))).toEqual([[0, 1, 0], [0, 0, 1]]);
    expect(L(np.identity(2))).toEqual([[1, 0], [0, 1]]);
    expect(L(np.iota(3))).toEqual([0, 1, 2]);
  });
  test("arange and linspace", () => {
    expect(L(np.arange(4))).toEqual([0, 1, 2, 3]);
    // float32 by default (JS numbers are float32); int32 on request.
    expect(np.arange(4).dtype).toBe("float32");
    expect(np.arange(4, { dtype: "int32" }).dtype).toBe("int32");
    expect(L(np.arange(1, 7, 2))).toEqual([1, 3, 5]);
    expect(L(np.arange(5, 0, -2))).toEqual([5, 3, 1]);
    close(np.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
    expect(np.arange(0, 1, 0.25).dtype).toBe("float32");
    expect(np.arange(3, { dtype: np.float32 }).dtype).toBe("float32");
    expect(L(np.arange(3, 3))).toEqual([]);
    close(np.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
    close(np.linspace(0, 1, 4, { endpoint: false }), [0, 0.25, 0.5, 0.75]);
  });
  test("creation errors", () => {
    expect(() => np.array([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => np.array([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => np.zeros([2, -1])).toThrow(ShapeError);
    expect(() => np.arange(0, 5, 0)).toThrow(/arange: step must not be zero/);
    expect(() => np.array([1], { dtype: "float64" as never })).toThrow(DTypeError);
    expect(() => np.array({ a: 1 } as never)).toThrow(ArgumentError);
  });
  test("printing", () => {
    expect(String(np.array([[1, 2], [3, 4]], { dtype: np.float32 }))).toBe("Array([[1., 2.],\n       [3., 4.]], dtype=float32)");
    expect(String(np.array([1, 2, 3], { dtype: "int32" }))).toBe("Array([1, 2, 3], dtype=int32)");
    expect(String(np.array([1, 2, 3]))).toBe("Array([1., 2., 3.], dtype=float32)");
    expect(String(np.array([true, false]))).toBe("Array([ True, False], dtype=bool)");
    expect(String(np.array(1.5))).toBe("Array(1.5, dtype=float32)");
  });
});

describe("promotion", () => {
  test("JAX weak-type rules", () => {
    const i = np.array([1, 2, 3], { dtype: "int32" });
    const f = np.array([1, 2], np.float32);
    const r1 = np.add(i, 2.5);
    expect(r1.dtype).toBe("float32");
    expect(L(r1)).toEqual([3.5, 4.5, 5.5]);
    const r2 = np.add(f, 2);
    expect(r2.dtype).toBe("float32");
    expect(r2.weakType).toBe(false);
    expect(np.add(i, 2).dtype).toBe("int32");
    expect(np.add(i, f.slice([0, 1])).dtype).toBe("float32");
    // A JS number meets a bool array as float32 (JAX's Python int would give int32: JS cannot say "int").
    expect(np.add(np.array([true]), 1).dtype).toBe("float32");
    expect(np.add(np.array([1], np.uint32), np.array([1], np.int32)).dtype).toBe("int32");
    expect(np.add(np.array([1], np.float16), 1.5).dtype).toBe("float16");
    expect(np.add(np.array([1], np.float16), np.array([1], np.float32)).dtype).toBe("float32");
    expect(np.add(1, 2).weakType).toBe(true);
    expect(np.add(1, 2).dtype).toBe("float32");
    expect(np.divide(i, 2).dtype).toBe("float32");
    close(np.divide(i, 2), [0.5, 1, 1.5]);
    expect(resultTypeOf("t", [i, 2.5])).toEqual({ dtype: "float32", weakType: true });
  });
  test("broadcasting", () => {
    const a = np.array([[1], [2]]);
    const b = np.array([10, 20, 30]);
    expect(L(np.add(a, b))).toEqual([[11, 21, 31], [12, 22, 32]]);
    expect(L(np.multiply(np.ones([2, 1, 3], np.int32), np.array([[2], [3]])))).toEqual([
      [[2, 2, 2], [3, 3, 3]],
      [[2, 2, 2], [3, 3, 3]],
    ]);
    expect(np.add(np.zeros([0, 3]), np.ones([3])).shape).toEqual([0, 3]);
    expect(() => np.add(np.zeros([2, 3]), np.zeros([4]))).toThrow(ShapeError);
    expect(() => np.add(np.zeros([2, 3]), np.zeros([4]))).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast/);
    expect(() => np.add(np.zeros([2]), "x" as never)).toThrow(ArgumentError);
  });
});

describe("elementwise", () => {
  const x = () => np.array([-2, -0.5, 0, 1.5], np.float32);
  test("arithmetic", () => {
    expect(L(np.subtract(np.array([5, 3]), 1))).toEqual([4, 2]);
    expect(L(np.negative(np.array([1, -2])))).toEqual([-1, 2]);
    expect(L(np.floorDivide(np.array([-7, 7, 6, -6]), np.array([2, -2, 3, 4])))).toEqual([-4, -4, 2, -2]);
    expect(L(np.floorDivide(np.array([-7.5], np.float32), 2))).toEqual([-4]);
    expect(L(np.remainder(np.array([-7, 7, 6]), np.array([3, -3, 3])))).toEqual([2, -2, 0]);
    close(np.remainder(np.array([-1.5], np.float32), 1), [0.5]);
    expect(L(np.fmod(np.array([-7]), 3))).toEqual([-1]);
    expect(L(np.power(np.array([2, 3]), 3))).toEqual([8, 27]);
    expect(L(np.power(np.array([2, 3]), np.array([2, 3])))).toEqual([4, 27]);
    close(np.power(np.array([4], np.float32), 0.5), [2]);
    expect(L(np.maximum(np.array([1, 5]), 3))).toEqual([3, 5]);
    expect(L(np.minimum(np.array([1, 5]), 3))).toEqual([1, 3]);
    expect(L(np.square(np.array([3, -2])))).toEqual([9, 4]);
    expect(L(np.reciprocal(np.array([4, 0.5], np.float32)))).toEqual([0.25, 2]);
    expect(L(np.abs(x()))).toEqual([2, 0.5, 0, 1.5]);
    expect(L(np.sign(x()))).toEqual([-1, -1, 0, 1]);
    expect(L(np.add(np.array([true, false]), np.array([true, true])))).toEqual([true, true]);
  });
  test("rounding", () => {
    expect(L(np.floor(x()))).toEqual([-2, -1, 0, 1]);
    expect(L(np.ceil(x()))).toEqual([-2, -0, 0, 2]);
    expect(L(np.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.4], np.float32)))).toEqual([0, 2, 2, -0, -2, 0]);
    close(np.round(np.array([1.234, 5.678], np.float32), 2), [1.23, 5.68]);
    expect(L(np.trunc(np.array([-1.7, 1.7], np.float32)))).toEqual([-1, 1]);
    expect(L(np.round(np.array([3])))).toEqual([3]);
  });
  test("unary math promotes ints to float32", () => {
    const e = np.exp(np.array([0, 1]));
    expect(e.dtype).toBe("float32");
    close(e, [1, Math.E]);
    close(np.log(np.array([1, Math.E], np.float32)), [0, 1]);
    close(np.sqrt(np.array([4, 9])), [2, 3]);
    close(np.log1p(np.array([0], np.float32)), [0]);
    close(np.expm1(np.array([0], np.float32)), [0]);
    close(np.sin(np.array([0, Math.PI / 2], np.float32)), [0, 1]);
    close(np.cos(np.array([0], np.float32)), [1]);
    close(np.tan(np.array([Math.PI / 4], np.float32)), [1]);
    close(np.arcsin(np.array([1], np.float32)), [Math.PI / 2]);
    close(np.arccos(np.array([1], np.float32)), [0]);
    close(np.arctan(np.array([1], np.float32)), [Math.PI / 4]);
    close(np.arctan2(np.array([1], np.float32), np.array([-1], np.float32)), [(3 * Math.PI) / 4]);
    close(np.sinh(np.array([1], np.float32)), [Math.sinh(1)]);
    close(np.cosh(np.array([1], np.float32)), [Math.cosh(1)]);
    close(np.tanh(np.array([1], np.float32)), [Math.tanh(1)]);
    close(np.erf(np.array([0.5], np.float32)), [0.5204998778]);
    close(np.rsqrt(np.array([4], np.float32)), [0.5]);
    close(np.log2(np.array([8], np.float32)), [3]);
    close(np.log10(np.array([100], np.float32)), [2]);
    close(np.exp2(np.array([3], np.float32)), [8]);
    close(np.cbrt(np.array([-8], np.float32)), [-2], 1e-4);
  });
  test("nan/inf predicates and comparisons", () => {
    const v = np.array([1, NaN, Infinity, -Infinity], np.float32);
    expect(L(np.isnan(v))).toEqual([false, true, false, false]);
    expect(L(np.isfinite(v))).toEqual([true, false, false, false]);
    expect(L(np.isinf(v))).toEqual([false, false, true, true]);
    expect(L(np.isnan(np.array([1, 2])))).toEqual([false, false]);
    expect(L(np.nanToNum(v, { posinf: 9, neginf: -9 }))).toEqual([1, 0, 9, -9]);
    const a = np.array([1, 2, 3]);
    expect(L(np.equal(a, 2))).toEqual([false, true, false]);
    expect(L(np.notEqual(a, 2))).toEqual([true, false, true]);
    expect(L(np.less(a, 2))).toEqual([true, false, false]);
    expect(L(np.lessEqual(a, 2))).toEqual([true, true, false]);
    expect(L(np.greater(a, 2.5))).toEqual([false, false, true]);
    expect(L(np.greaterEqual(a, 2))).toEqual([false, true, true]);
  });
  test("logical, bitwise, where, clip, astype", () => {
    const t = np.array([true, true, false, false]);
    const u = np.array([true, false, true, false]);
    expect(L(np.logicalAnd(t, u))).toEqual([true, false, false, false]);
    expect(L(np.logicalOr(t, u))).toEqual([true, true, true, false]);
    expect(L(np.logicalXor(t, u))).toEqual([false, true, true, false]);
    expect(L(np.logicalNot(np.array([0, 2])))).toEqual([true, false]);
    expect(L(np.bitwiseAnd(np.array([12], { dtype: "int32" }), 10))).toEqual([8]);
    expect(L(np.bitwiseOr(np.array([12], { dtype: "int32" }), 10))).toEqual([14]);
    expect(L(np.invert(np.array([0], { dtype: "int32" })))).toEqual([-1]);
    expect(L(np.leftShift(np.array([1], { dtype: "int32" }), 3))).toEqual([8]);
    const w = np.where(np.array([true, false, true]), np.array([1, 2, 3], { dtype: "int32" }), 0.5);
    expect(w.dtype).toBe("float32");
    expect(L(w)).toEqual([1, 0.5, 3]);
    expect(L(np.where(np.array([[1], [0]]), np.array([1, 2]), np.array([9, 8])))).toEqual([[1, 2], [9, 8]]);
    expect(L(np.clip(np.array([-1, 5, 10]), 0, 6))).toEqual([0, 5, 6]);
    expect(L(np.clip(np.array([-1, 5]), null, 2))).toEqual([-1, 2]);
    expect(L(np.astype(np.array([1.5, -1.5], np.float32), np.int32))).toEqual([1, -1]);
  });
  test("allclose and arrayEqual are host-side", () => {
    expect(np.allclose(np.array([1, 2], np.float32), np.array([1, 2.000001], np.float32))).toBe(true);
    expect(np.allclose(np.array([1, 2], np.float32), np.array([1, 2.1], np.float32))).toBe(false);
    expect(np.allclose(np.array([[1, 1]], np.float32), 1)).toBe(true);
    expect(np.allclose(np.array([NaN], np.float32), np.array([NaN], np.float32))).toBe(false);
    expect(np.allclose(np.array([NaN], np.float32), np.array([NaN], np.float32), { equalNan: true })).toBe(true);
    expect(np.arrayEqual(np.array([1, 2]), np.array([1, 2]))).toBe(true);
    expect(np.arrayEqual(np.array([1, 2]), np.array([[1, 2]]))).toBe(false);
  });
  test("arrayEqual, allclose and isclose with equalNan (jnp's equal_nan)", () => {
    const a = np.array([1, NaN, 3], np.float32);
    const b = np.array([1, NaN, 3], np.float32);
    expect(np.arrayEqual(a, b)).toBe(false);
    expect(np.arrayEqual(a, b, { equalNan: true })).toBe(true);
    expect(np.arrayEqual(a, np.array([1, 2, 3], np.float32), { equalNan: true })).toBe(false);
    expect(np.arrayEqual(np.array([1, 2], np.int32), np.array([1, 2], np.float32))).toBe(true);
    expect(np.arrayEqual(np.array([Infinity]), np.array([Infinity]))).toBe(true);
    expect(() => np.arrayEqual(a, b, { equalNaN: true } as never)).toThrow(ArgumentError);
    expect(np.allclose(a, b, { equalNan: true })).toBe(true);
    expect(np.allclose(np.array([Infinity, -Infinity]), np.array([Infinity, -Infinity]))).toBe(true);
    expect(np.allclose(np.array([Infinity]), np.array([-Infinity]))).toBe(false);
    expect(L(np.isclose(a, b))).toEqual([true, false, true]);
    expect(L(np.isclose(a, b, { equalNan: true }))).toEqual([true, true, true]);
    expect(L(np.isclose(np.array([NaN, 1]), np.array([1, NaN]), { equalNan: true }))).toEqual([false, false]);
  });
  test("elementwise errors", () => {
    expect(() => np.where(np.array([true]))).toThrow(/where: the one-argument form/);
    expect(() => np.where(np.array([true]))).toThrow(ArgumentError);
    expect(() => np.negative(np.array([true]))).toThrow(DTypeError);
    expect(() => np.subtract(np.array([true]), np.array([false]))).toThrow(/subtract: not supported for bool/);
    expect(() => np.bitwiseAnd(np.array([1.5]), 1)).toThrow(DTypeError);
    expect(() => np.power(np.array([2], { dtype: "int32" }), -1)).toThrow(/negative integer powers/);
    expect(() => np.clip(np.array([1]))).toThrow(ArgumentError);
  });
});

describe("integer semantics (numpy's: exact, wrapping modulo 2^32)", () => {
  // x ** y modulo 2^32 as a signed int32, by BigInt.
  const powRef = (a: number, b: number) => {
    if (b < 0) return Math.abs(a) === 1 ? (a === -1 && b % 2 !== 0 ? -1 : 1) : 0;
    const m = 1n << 32n;
    let r = 1n, base = ((BigInt(a) % m) + m) % m, k = BigInt(b);
    for (; k > 0n; k >>= 1n, base = (base * base) % m) if (k & 1n) r = (r * base) % m;
    return Number(BigInt.asIntN(32, r));
  };
  const bases = [3, 3, 2, -7, 0, 0, -1, -1, 1, 5, 3, 2, -2];
  const exps = [16, 20, 31, 3, 0, 5, 7, -3, -5, -1, 1000001, 32, 33];
  test("power of int32 by an int32 array is exact and wraps", () => {
    const out = np.power(np.array(bases, { dtype: "int32" }), np.array(exps, { dtype: "int32" }));
    expect(out.dtype).toBe("int32");
    expect(out.tolist()).toEqual(bases.map((a, i) => powRef(a, exps[i])));
    expect(np.power(np.array([3], { dtype: "int32" }), 20).tolist()).toEqual([powRef(3, 20)]);
    expect(np.power(np.array([3], { dtype: "uint32" }), np.array([20], { dtype: "uint32" })).tolist()).toEqual([3486784401]);
  });
  test("rightShift is arithmetic on int32 and logical on uint32", () => {
    const x = np.array([-8, 8, -1, -2147483648, 7, -5], { dtype: "int32" });
    const s = np.array([1, 1, 40, 31, 33, 0], { dtype: "int32" });
    expect(np.rightShift(x, s).tolist()).toEqual([-4, 4, -1, -1, 0, -5]);
    expect(np.rightShift(np.array([4294967288], { dtype: "uint32" }), np.array([1], { dtype: "uint32" })).tolist()).toEqual([2147483644]);
  });
  test("out-of-range host integers are errors, never clamps", () => {
    expect(() => np.array(3e9, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => np.array(2 ** 40, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => np.array(-1, { dtype: "uint32" })).toThrow(/-1 is out of range for uint32/);
    expect(np.array(2 ** 40).dtype).toBe("float32");
    expect(np.array(2 ** 40).item()).toBe(2 ** 40);
  });
});

describe("reductions", () => {
  const x = () => np.array([[1, 2, 3], [4, 5, 6]], np.float32);
  test("sum/mean/max/min/prod with axes and keepdims", () => {
    expect(L(np.sum(x()))).toBe(21);
    expect(L(np.sum(x(), 0))).toEqual([5, 7, 9]);
    expect(L(np.sum(x(), -1))).toEqual([6, 15]);
    expect(L(np.sum(x(), [0, 1]))).toBe(21);
    expect(np.sum(x(), 1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(np.sum(x(), null, { keepdims: true }).shape).toEqual([1, 1]);
    expect(L(np.mean(x(), 1))).toEqual([2, 5]);
    expect(np.mean(np.array([1, 2])).dtype).toBe("float32");
    close(np.mean(np.array([1, 2])), 1.5);
    expect(L(np.max(x(), 0))).toEqual([4, 5, 6]);
    expect(L(np.min(x(), 1))).toEqual([1, 4]);
    expect(L(np.prod(x(), 1))).toEqual([6, 120]);
    expect(L(x().sum(0))).toEqual([5, 7, 9]);
    expect(L(x().max())).toBe(6);
  });
  test("bool sums count in int32; all/any", () => {
    const b = np.array([true, false, true]);
    const s = np.sum(b);
    expect(s.dtype).toBe("int32");
    expect(L(s)).toBe(2);
    expect(L(np.all(b))).toBe(false);
    expect(L(np.any(b))).toBe(true);
    expect(L(np.all(np.array([[1, 0], [2, 3]]), 1))).toEqual([false, true]);
    expect(L(np.countNonzero(np.array([0, 1, 2])))).toBe(2);
  });
  test("empty and scalar reductions", () => {
    expect(L(np.sum(np.zeros([0])))).toBe(0);
    expect(L(np.prod(np.zeros([0])))).toBe(1);
    expect(L(np.sum(np.zeros([2, 0]), 1))).toEqual([0, 0]);
    expect(L(np.all(np.zeros([0], np.bool)))).toBe(true);
    expect(Number.isNaN(L(np.mean(np.zeros([0]))) as number)).toBe(true);
    expect(L(np.sum(np.array(3)))).toBe(3);
    expect(L(np.logsumexp(np.zeros([0])))).toBe(-Infinity);
  });
  test("argmax/argmin, var/std, logsumexp, cumulative", () => {
    const a = np.array([[1, 9, 3], [7, 2, 8]], np.float32);
    expect(L(np.argmax(a))).toBe(1);
    expect(L(np.argmax(a, 1))).toEqual([1, 2]);
    expect(L(np.argmin(a, 0))).toEqual([0, 1, 0]);
    expect(np.argmax(a, 1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(L(np.argmin(a))).toBe(0);
    close(np.var(np.array([1, 2, 3, 4], np.float32)), 1.25);
    close(np.var(np.array([1, 2, 3, 4], np.float32), null, { ddof: 1 }), 5 / 3);
    close(np.std(np.array([[1, 3], [5, 5]], np.float32), 1), [1, 0]);
    close(np.logsumexp(np.array([0, 0], np.float32)), Math.LN2);
    close(np.logsumexp(np.array([[1000, 1000], [-Infinity, -Infinity]], np.float32), 1), [1000 + Math.LN2, -Infinity]);
    expect(L(np.cumsum(np.array([[1, 2], [3, 4]])))).toEqual([1, 3, 6, 10]);
    expect(L(np.cumsum(np.array([[1, 2], [3, 4]]), 0))).toEqual([[1, 2], [4, 6]]);
    expect(L(np.cumprod(np.array([1, 2, 3]), -1))).toEqual([1, 2, 6]);
    expect(np.cumsum(np.array([true, true])).dtype).toBe("int32");
    close(np.average(np.array([1, 2, 3], np.float32), 0, np.array([3, 1, 0], np.float32)), 1.25);
    expect(L(np.ptp(np.array([3, 9, 1])))).toBe(8);
  });
  test("sort and argsort", () => {
    const a = np.array([[3, 1, 2], [0, 5, 4]]);
    expect(L(np.sort(a))).toEqual([[1, 2, 3], [0, 4, 5]]);
    expect(L(np.sort(a, 0))).toEqual([[0, 1, 2], [3, 5, 4]]);
    expect(L(np.sort(a, null))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(L(np.argsort(a))).toEqual([[1, 2, 0], [0, 2, 1]]);
    expect(L(np.argsort(np.array([2, 1, 2, 1])))).toEqual([1, 3, 0, 2]);
    expect(() => np.sort(a, 2)).toThrow(AxisError);
  });
  test("reduction errors", () => {
    expect(() => np.sum(x(), 2)).toThrow(AxisError);
    expect(() => np.sum(x(), [0, 0])).toThrow(/repeated axis/);
    expect(() => np.max(np.zeros([0]))).toThrow(/zero-size array/);
    expect(() => np.argmax(np.zeros([0]))).toThrow(ShapeError);
    expect(() => np.mean(x(), -3)).toThrow(/axis -3 is out of bounds/);
  });
});
