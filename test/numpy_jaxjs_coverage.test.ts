// np against the numpy namespace of @jax-js/jax (the peer whose 209+
// functions issue 12 names as the floor): every name jax-js exports from
// `numpy` exists in tinyflow's np (same camelCase name), or is in the
// declined list below with its reason — which the README's numerics section
// shows too. Plus hand-derived values for the functions added for parity.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { np, vmap, type Array } from "../src/index";
import { ArgumentError, DTypeError, ShapeError } from "../src/core/errors";
import { close } from "./values";

/** What tinyflow does not provide, and why (README: "Numerics, random numbers, linear algebra"). */
const DECLINED: Record<string, string> = {
  fft: "needs complex64, declined with complex numbers",
  frexp: "needs the float exponent bits as a primitive; not provided yet",
  ldexp: "needs the float exponent bits as a primitive; not provided yet",
  bitwiseCount: "needs a population-count primitive; not provided yet",
  applyAlongAxis: "write vmap(func1d) over the other axes",
  applyOverAxes: "write the reductions with keepdims directly",
};
/** Type-only exports of jax-js's numpy namespace (tinyflow exports the same types, which have no runtime value). */
const TYPES = new Set(["ArrayLike", "DType"]);
/** jax-js spellings that differ from tinyflow's. */
const RENAMED: Record<string, string> = { var_: "var" };

function jaxJsNumpyNames(): string[] {
  const dts = readFileSync(new URL("../node_modules/@jax-js/jax/dist/index.d.ts", import.meta.url), "utf8");
  const block = /declare namespace numpy_d_exports \{\s*export \{([^}]*)\}/.exec(dts);
  if (!block) throw new Error("the numpy namespace of @jax-js/jax's index.d.ts was not found");
  return block[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.includes(" as ") ? s.split(" as ")[1] : s).trim());
}

describe("np covers @jax-js/jax's numpy namespace", () => {
  const names = jaxJsNumpyNames();
  const npRecord = np as unknown as Record<string, unknown>;

  test("every jax-js numpy export exists in np or is declined with a reason", () => {
    expect(names.length).toBeGreaterThanOrEqual(209);
    const missing = names.filter((n) => !TYPES.has(n) && !(n in DECLINED) && npRecord[RENAMED[n] ?? n] === undefined);
    expect(missing).toEqual([]);
    const covered = names.filter((n) => !TYPES.has(n) && !(n in DECLINED));
    expect(covered.length).toBeGreaterThanOrEqual(209);
  });

  test("the declined list is honest (absent from np) and shown in the README", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const name of Object.keys(DECLINED)) {
      expect(names).toContain(name);
      expect(npRecord[name], name).toBeUndefined();
      expect(readme, name).toContain(`\`${name}\``);
    }
  });
});

describe("the functions added for parity", () => {
  test("array-API spellings and constants", () => {
    close(np.acos(np.array([1, 0])), [0, Math.PI / 2]);
    close(np.atan2(np.array([1]), np.array([1])), [Math.PI / 4]);
    expect(np.bitwiseInvert(np.array([0], { dtype: "int32" })).tolist()).toEqual([-1]);
    expect(np.bitwiseLeftShift(np.array([1], { dtype: "int32" }), np.array([3], { dtype: "int32" })).tolist()).toEqual([8]);
    expect([np.pi, np.e, np.inf]).toEqual([Math.PI, Math.E, Infinity]);
    expect(Number.isNaN(np.nan)).toBe(true);
    expect(np.eulerGamma).toBeCloseTo(0.5772156649, 9);
  });

  test("dtype queries", () => {
    expect(np.promoteTypes("int32", "float32")).toBe("float32");
    expect(np.promoteTypes("bool", "int32")).toBe("int32");
    expect(np.resultType(np.array([1], { dtype: "int32" }), 2)).toBe("int32");
    expect(np.resultType(np.array([1], { dtype: "int32" }), 2.5)).toBe("float32");
    expect(np.finfo("float32").eps).toBe(2 ** -23);
    expect(np.finfo(np.zeros([2])).max).toBeCloseTo(3.4028234663852886e38, -30);
    expect(np.iinfo("int32").max).toBe(2147483647);
    expect(() => np.finfo("int32")).toThrow(DTypeError);
    expect(() => np.iinfo("float32")).toThrow(/use finfo/);
    expect([np.isscalar(3), np.isscalar(np.array(3)), np.isscalar(np.array([3])), np.isscalar("3")]).toEqual([true, true, false, false]);
  });

  test("stacking: dstack, unstack, append", () => {
    expect(np.dstack([np.array([1, 2]), np.array([3, 4])]).tolist()).toEqual([[[1, 3], [2, 4]]]);
    const parts = np.unstack(np.array([[1, 2, 3], [4, 5, 6]]), 1);
    expect(parts.map((p: Array) => p.tolist())).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(() => np.unstack(np.array(1))).toThrow(ShapeError);
    expect(np.append(np.array([[1, 2]]), np.array([3])).tolist()).toEqual([1, 2, 3]);
    expect(np.append(np.array([[1, 2]]), np.array([[3, 4]]), 0).tolist()).toEqual([[1, 2], [3, 4]]);
  });

  test("sequences: logspace, geomspace, nancumsum, nancumprod", () => {
    close(np.logspace(0, 3, 4), [1, 10, 100, 1000], 1e-4);
    close(np.logspace(0, 3, 3, { endpoint: false, base: 2 }), [1, 2, 4], 1e-5);
    expect(np.geomspace(1, 1000, 4).tolist()).toEqual([1, expect.closeTo(10, 4), expect.closeTo(100, 3), 1000]);
    close(np.geomspace(-2, -8, 3), [-2, -4, -8], 1e-5);
    expect(() => np.geomspace(-1, 1)).toThrow(ArgumentError);
    expect(np.nancumsum(np.array([1, NaN, 2])).tolist()).toEqual([1, 1, 3]);
    expect(np.nancumprod(np.array([[2, NaN], [3, 4]]), 1).tolist()).toEqual([[2, 2], [3, 12]]);
  });

  test("index grids: indices, diagIndices, diagIndicesFrom, fromfunction", () => {
    expect(np.indices([2, 3]).tolist()).toEqual([[[0, 0, 0], [1, 1, 1]], [[0, 1, 2], [0, 1, 2]]]);
    expect(np.indices([2, 3]).dtype).toBe("int32");
    expect(np.diagIndices(3).map((d: Array) => d.tolist())).toEqual([[0, 1, 2], [0, 1, 2]]);
    expect(np.diagIndicesFrom(np.zeros([2, 2, 2])).length).toBe(3);
    expect(() => np.diagIndicesFrom(np.zeros([2, 3]))).toThrow(ShapeError);
    expect(np.fromfunction((i: Array, j: Array) => np.add(np.multiply(i, 10), j), [2, 3]).tolist()).toEqual([[0, 1, 2], [10, 11, 12]]);
  });

  test("vecdot, matvec, vecmat over stacks", () => {
    const a = np.array([[1, 2], [3, 4]]);
    const v = np.array([1, -1]);
    expect(np.vecdot(np.array([[1, 2], [3, 4]]), np.array([5, 6])).tolist()).toEqual([17, 39]);
    expect(np.matvec(a, v).tolist()).toEqual([-1, -1]);
    expect(np.vecmat(v, a).tolist()).toEqual([-2, -2]);
    expect(np.matvec(np.stack([a, a]), np.stack([v, np.array([1, 0])])).tolist()).toEqual([[-1, -1], [1, 3]]);
    expect(vmap((x: Array) => np.vecdot(x, x))(a).tolist()).toEqual([5, 25]);
  });

  test("polynomials: polyadd, polysub, polymul, polyder, vander", () => {
    // (x + 2) + (3x² + 1) = 3x² + x + 3; (x + 2)(x - 2) = x² - 4
    expect(np.polyadd(np.array([1, 2]), np.array([3, 0, 1])).tolist()).toEqual([3, 1, 3]);
    expect(np.polysub(np.array([1, 2]), np.array([3, 0, 1])).tolist()).toEqual([-3, 1, 1]);
    expect(np.polymul(np.array([1, 2]), np.array([1, -2])).tolist()).toEqual([1, 0, -4]);
    // d/dx (x³ + 2x² + 3x + 4) = 3x² + 4x + 3; second derivative 6x + 4
    expect(np.polyder(np.array([1, 2, 3, 4])).tolist()).toEqual([3, 4, 3]);
    expect(np.polyder(np.array([1, 2, 3, 4]), 2).tolist()).toEqual([6, 4]);
    expect(np.vander(np.array([1, 2, 3])).tolist()).toEqual([[1, 1, 1], [4, 2, 1], [9, 3, 1]]);
    expect(np.vander(np.array([2, 3]), 3, { increasing: true }).tolist()).toEqual([[1, 2, 4], [1, 3, 9]]);
    expect(() => np.polyder(np.array([1, 2]), -1)).toThrow(ArgumentError);
  });

  test("windows: hann, bartlett, blackman", () => {
    close(np.hann(5), [0, 0.5, 1, 0.5, 0], 1e-6);
    close(np.bartlett(5), [0, 0.5, 1, 0.5, 0], 1e-6);
    close(np.blackman(3), [0.42 - 0.5 + 0.08, 1, 0.42 - 0.5 + 0.08], 1e-6);
    expect(np.hann(1).tolist()).toEqual([1]);
    expect(np.hann(0).shape).toEqual([0]);
  });

  test("modf, floatPower, unwrap, arrayEquiv", () => {
    const [frac, whole] = np.modf(np.array([2.5, -1.25]));
    expect([frac.tolist(), whole.tolist()]).toEqual([[0.5, -0.25], [2, -1]]);
    const fp = np.floatPower(np.array([2], { dtype: "int32" }), np.array([-1], { dtype: "int32" }));
    expect([fp.dtype, fp.tolist()]).toEqual(["float32", [0.5]]);
    // A phase that wraps from just below π to just above -π continues past π.
    close(np.unwrap(np.array([0, 3, -3, -1])), [0, 3, 2 * Math.PI - 3, 2 * Math.PI - 1], 1e-5);
    close(np.unwrap(np.array([0, 3, 6]), { period: 4 }), [0, -1, -2], 1e-5);
    expect(np.arrayEquiv(np.array([1, 2]), np.array([[1, 2], [1, 2]]))).toBe(true);
    expect(np.arrayEquiv(np.array([1, 2]), np.array([[1, 2], [1, 3]]))).toBe(false);
    expect(np.arrayEquiv(np.array([1, 2]), np.array([1, 2, 3]))).toBe(false);
  });
});
