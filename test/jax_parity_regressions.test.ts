// Regression tests of results that disagreed with JAX (issue 12): each case
// is a reproducer that once threw or returned a wrong value, checked against
// what JAX returns (values derived by hand).

import { describe, expect, test } from "vitest";
import { np, nn, lax, vjp, jit, grad, random, type Array } from "../src/index";
import { ArgumentError } from "../src/core/errors";

describe("numpy results that differed from JAX", () => {
  test("reciprocal promotes integers and bools to float32 (reciprocal(0) is inf)", () => {
    const r = np.reciprocal(np.array([0, 2, -4], { dtype: "int32" }));
    expect(r.dtype).toBe("float32");
    expect(r.tolist()).toEqual([Infinity, 0.5, -0.25]);
    const b = np.reciprocal(np.array([true, false]));
    expect(b.dtype).toBe("float32");
    expect(b.tolist()).toEqual([1, Infinity]);
    expect(np.reciprocal(np.array([4], { dtype: "float16" })).dtype).toBe("float16");
  });

  test("array stacks lists of 0-d arrays, arrays and tracers", () => {
    const a = np.array([np.array(1.5), np.array(2.5)]);
    expect(a.shape).toEqual([2]);
    expect(a.tolist()).toEqual([1.5, 2.5]);
    const m = np.array([np.array([1, 2]), [3, 4]]);
    expect(m.tolist()).toEqual([[1, 2], [3, 4]]);
    const traced = jit((x: Array, y: Array) => np.array([x, y]))(np.array(1), np.array(2));
    expect(traced.tolist()).toEqual([1, 2]);
    const g = grad((x: Array) => np.sum(np.array([x, np.multiply(x, 3)])))(np.array(2));
    expect(g.item()).toBe(4);
  });

  test("softmax and logSoftmax of an empty array are empty", () => {
    expect(nn.softmax(np.zeros([0])).shape).toEqual([0]);
    expect(nn.logSoftmax(np.zeros([2, 0])).shape).toEqual([2, 0]);
  });

  test("cumsum of a scalar along axis 0 is a 1-element vector, as jnp.cumsum", () => {
    const c = np.cumsum(5, 0);
    expect(c.shape).toEqual([1]);
    expect(c.tolist()).toEqual([5]);
    expect(np.cumprod(np.array(3), 0).tolist()).toEqual([3]);
  });
});

describe("lax and random results that differed from JAX", () => {
  test("convGeneralDilated with no spatial dims is a (grouped) matrix product", () => {
    const x = np.array([[1, 2, 3], [4, 5, 6]]);
    const w = np.array([[1, 0, 1], [0, 1, 0], [2, 2, 2], [1, 1, 1]]);
    const expected = [[4, 2, 12, 6], [10, 5, 30, 15]];
    expect(lax.convGeneralDilated(x, w, [], "VALID").tolist()).toEqual(expected);
    expect(lax.convGeneralDilated(x, np.transpose(w), [], [], { dimensionNumbers: ["NC", "IO", "NC"] }).tolist()).toEqual(expected);
    expect(jit((a: Array) => lax.convGeneralDilated(a, w, [], "SAME"))(x).tolist()).toEqual(expected);
    // Two groups: channels [0] and [1] of a [1, 2] input, one output per group.
    const grouped = lax.convGeneralDilated(np.array([[2, 3]]), np.array([[10], [100]]), [], "VALID", { featureGroupCount: 2 });
    expect(grouped.tolist()).toEqual([[20, 300]]);
    expect(() => lax.convGeneralDilated(x, w, [1], "VALID")).toThrow(ArgumentError);
  });

  test("categorical with replace: false draws distinct classes (Gumbel top-k)", () => {
    const draws = random.categorical(random.key(1), np.zeros([5]), { shape: [5], replace: false }).tolist() as number[];
    expect([...draws].sort()).toEqual([0, 1, 2, 3, 4]);
    const batched = random.categorical(random.key(2), np.zeros([2, 4]), { shape: [3, 2], replace: false });
    expect(batched.shape).toEqual([3, 2]);
    const cols = [0, 1].map((j) => (batched.tolist() as number[][]).map((r) => r[j]));
    for (const c of cols) expect(new Set(c).size).toBe(3);
    // A class with probability ~0 is never drawn while others remain.
    const skewed = random.categorical(random.key(3), np.array([0, 0, -1e9]), { shape: [2], replace: false }).tolist() as number[];
    expect([...skewed].sort()).toEqual([0, 1]);
    expect(() => random.categorical(random.key(0), np.zeros([3]), { shape: [4], replace: false })).toThrow(ArgumentError);
  });

  test("vjp with { hasAux: true } returns the aux and keeps the options out of the primals", () => {
    const [out, pullback, aux] = vjp((x: Array) => [np.sin(x), np.cos(x)] as [Array, Array], np.array(1), { hasAux: true });
    expect(out.item()).toBeCloseTo(Math.sin(1), 6);
    expect((aux as Array).item()).toBeCloseTo(Math.cos(1), 6);
    const [g] = pullback(np.array(1));
    expect((g as Array).item()).toBeCloseTo(Math.cos(1), 6);
  });
});

describe("lax.convTranspose", () => {
  test("a stride-2 VALID transposed convolution dilates the input by the stride (hand-computed)", () => {
    // x = [1, 2, 3] dilated to [1, 0, 2, 0, 3], padded by k - 1 = 2 on each side, correlated with [1, 1, 1].
    const x = np.reshape(np.array([1, 2, 3]), [1, 3, 1]);
    const k = np.reshape(np.array([1, 1, 1]), [3, 1, 1]);
    const y = lax.convTranspose(x, k, [2], "VALID");
    expect(y.shape).toEqual([1, 7, 1]);
    expect(np.ravel(y).tolist()).toEqual([1, 1, 3, 2, 5, 3, 3]);
    // SAME keeps in·stride outputs.
    expect(lax.convTranspose(x, k, [2], "SAME").shape).toEqual([1, 6, 1]);
    // transposeKernel flips [1, 2, 0] to [0, 2, 1]; stride 1 then correlates the 2-padded input with it.
    const k2 = np.reshape(np.array([1, 2, 0]), [3, 1, 1]);
    expect(np.ravel(lax.convTranspose(x, k2, [1], "VALID", { transposeKernel: true })).tolist()).toEqual([1, 4, 7, 6, 0]);
  });

  test("it is the transpose (vjp) of the strided forward convolution", () => {
    const x = np.reshape(np.array([1, -2, 3, 0.5, 4, -1]), [1, 6, 1]);
    const k = np.reshape(np.array([0.5, -1, 2]), [3, 1, 1]);
    const forward = (v: Array) => lax.convGeneralDilated(v, k, [2], "VALID", { dimensionNumbers: ["NHC", "HIO", "NHC"] });
    const out = forward(x);
    const ct = np.reshape(np.array([1, 2]), out.shape);
    const [, pullback] = vjp(forward, x);
    const [viaVjp] = pullback(ct);
    // Padding (k - 1, k - 1 + (in - k) mod stride) reproduces the input length.
    const viaTranspose = lax.convTranspose(ct, k, [2], [[2, 3]], { transposeKernel: true });
    expect(viaTranspose.tolist()).toEqual((viaVjp as Array).tolist());
  });
});
