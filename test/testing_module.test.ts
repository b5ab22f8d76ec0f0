// Tests of tinyflow/testing itself: the arbitraries generate what they are
// asked for (shapes, dtypes, bounds, pytrees), expectAllclose accepts close
// values and rejects others with a message naming the leaf and the index, and
// checkGrads passes on correct functions (orders 1-3, pytrees, several
// arguments) and fails on functions whose derivative rules are wrong — so it
// really asserts something.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArgumentError, customJvp, customVjp, isArray, lax, np, tree, type Tracer } from "../src/index";
import { AllcloseError, arrays, checkGrads, expectAllclose, pytrees, shapes } from "../src/testing";

type T = Tracer;
const values = (x: T) => globalThis.Array.from(x.dataSync(), Number);

describe("arbitraries", () => {
  it("shapes respect rank and dim bounds", () => {
    fc.assert(
      fc.property(shapes({ minRank: 1, maxRank: 4, minDim: 2, maxDim: 3 }), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1);
        expect(s.length).toBeLessThanOrEqual(4);
        s.forEach((d) => expect(d === 2 || d === 3, `dim ${d} in [${s}]`).toBe(true));
      }),
      { numRuns: 50 },
    );
    // The defaults: rank 0..3, dims 1..5.
    const all = fc.sample(shapes(), { numRuns: 200, seed: 1 });
    expect(all.every((s) => s.length <= 3 && s.every((d) => d >= 1 && d <= 5))).toBe(true);
    expect(all.some((s) => s.length === 0)).toBe(true);
  });

  it("arrays have the requested fixed shape, dtype and float bounds", () => {
    fc.assert(
      fc.property(arrays({ shape: [2, 3], dtype: "float32", min: -0.5, max: 2 }), (x) => {
        expect(isArray(x)).toBe(true);
        expect(x.shape).toEqual([2, 3]);
        expect(x.dtype).toBe("float32");
        values(x).forEach((v) => {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(-0.5);
          expect(v).toBeLessThanOrEqual(2);
        });
      }),
      { numRuns: 50 },
    );
  });

  it("int32 and bool arrays hold integers in range, and shapes may come from an arbitrary", () => {
    fc.assert(
      fc.property(arrays({ shape: shapes({ minRank: 2, maxRank: 2, maxDim: 4 }), dtype: "int32", min: -2.5, max: 7 }), (x) => {
        expect(x.dtype).toBe("int32");
        expect(x.ndim).toBe(2);
        expect(x.size).toBe(x.shape[0] * x.shape[1]);
        values(x).forEach((v) => {
          expect(Number.isInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(-2);
          expect(v).toBeLessThanOrEqual(7);
        });
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(arrays({ shape: [5], dtype: "bool" }), (x) => {
        expect(x.dtype).toBe("bool");
        values(x).forEach((v) => expect(v === 0 || v === 1).toBe(true));
      }),
      { numRuns: 30 },
    );
  });

  it("arrays without options have the default shapes and float32 values in [-3, 3]", () => {
    const xs = fc.sample(arrays(), { numRuns: 100, seed: 7 });
    xs.forEach((x) => {
      expect(x.dtype).toBe("float32");
      expect(x.ndim).toBeLessThanOrEqual(3);
      values(x).forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(3));
    });
    // Not all the same: the arbitrary actually varies shapes and values.
    expect(new Set(xs.map((x) => x.shape.join())).size).toBeGreaterThan(3);
  });

  it("pytrees are lists and objects of leaves from the leaf arbitrary, within the depth bound", () => {
    const depth = (t: unknown): number =>
      isArray(t) ? 0 : globalThis.Array.isArray(t) ? 1 + Math.max(...t.map(depth)) : 1 + Math.max(...Object.values(t as object).map(depth));
    const samples = fc.sample(pytrees(arrays({ shape: [2], min: 0, max: 1 }), 2), { numRuns: 100, seed: 3 });
    samples.forEach((t) => {
      const leaves = tree.leaves(t);
      expect(leaves.length).toBeGreaterThan(0);
      leaves.forEach((l) => {
        expect(isArray(l)).toBe(true);
        expect((l as T).shape).toEqual([2]);
      });
      expect(depth(t)).toBeLessThanOrEqual(2);
    });
    expect(samples.some((t) => !isArray(t))).toBe(true);
  });
});

describe("expectAllclose", () => {
  const a = np.array([1, 2, 3]).astype(np.float32);

  it("passes for equal and nearly equal pytrees, numbers and NaNs in the same place", () => {
    expectAllclose(a, a);
    expectAllclose({ x: [a, 2] }, { x: [a.add(1e-7), 2] });
    expectAllclose(a, a.add(0.05), { atol: 0.1 });
    expectAllclose(np.array([100]).astype(np.float32), np.array([101]).astype(np.float32), { atol: 0, rtol: 0.011 });
    expectAllclose(np.array([NaN, 1]), np.array([NaN, 1]));
    expectAllclose(3, 3);
  });

  it("fails with a message naming the leaf path and the flat index", () => {
    const got = { w: a, layers: [a, np.array([[1, 2], [3, 4]]).astype(np.float32)] };
    const want = { w: a, layers: [a, np.array([[1, 2], [3, 4.5]]).astype(np.float32)] };
    expect(() => expectAllclose(got, want)).toThrow(AllcloseError);
    expect(() => expectAllclose(got, want)).toThrow(/leaf \.layers\[1\] differs at flat index 3: 4 vs 4\.5/);
    // rtol scales with the expected value: 100 vs 101 fails at rtol 1e-3.
    expect(() => expectAllclose(np.array([100]), np.array([101]), { atol: 0, rtol: 1e-3 })).toThrow(/flat index 0/);
    // A NaN against a number is a difference.
    expect(() => expectAllclose(np.array([1, NaN]), np.array([1, 2]))).toThrow(/flat index 1/);
  });

  it("reports the worst element, shape mismatches and structure mismatches", () => {
    expect(() => expectAllclose(np.array([1, 5, 3]), np.array([1.1, 2, 3.2]), { atol: 0.01 })).toThrow(/flat index 1/);
    expect(() => expectAllclose({ w: np.zeros([2, 3]) }, { w: np.zeros([3, 2]) })).toThrow(/leaf \.w has shape \[2,3\] vs \[3,2\]/);
    expect(() => expectAllclose({ w: a }, { w: a, b: a })).toThrow(/structures differ/);
    expect(() => expectAllclose([a], [a, a])).toThrow(AllcloseError);
    expect(() => expectAllclose("x", "x")).toThrow(ArgumentError);
  });
});

describe("checkGrads", () => {
  const x = np.array([0.3, -0.7, 1.1]).astype(np.float32);

  it("passes on correct functions: several arguments, pytrees, orders 1 to 3", () => {
    checkGrads((y: T) => np.sin(y).mul(y), [x]);
    checkGrads((y: T, z: T) => np.tanh(y.mul(z)).sum(), [x, x.mul(2)], { order: 2 });
    checkGrads(
      (p: { w: T; b: T }, y: T) => ({ a: np.tanh(p.w.mul(y)), b: [p.b.mul(y).sum()] }),
      [{ w: x, b: np.array(0.5).astype(np.float32) }, x.add(1)],
      { order: 2, modes: ["fwd", "rev"] },
    );
    checkGrads((y: T) => np.exp(y.mul(0.5)).sum(), [x], { order: 3 });
    checkGrads((m: T) => np.matmul(m, m).sum(), [np.array([[0.5, -1], [2, 0.25]]).astype(np.float32)], { order: 2, modes: ["rev"] });
  });

  it("passes through a correct customJvp rule, and fails (fwd) on a wrong one", () => {
    const goodSin = customJvp((y: T) => np.sin(y)).defjvp(([y]: [T], [t]: [T]) => [np.sin(y), np.cos(y).mul(t)]);
    checkGrads(goodSin, [x], { order: 2 });
    const badSin = customJvp((y: T) => np.sin(y)).defjvp(([y]: [T], [t]: [T]) => [np.sin(y), np.cos(y).mul(t).mul(2)]);
    expect(() => checkGrads(badSin, [x], { modes: ["fwd"] })).toThrow(AllcloseError);
    expect(() => checkGrads(badSin, [x], { modes: ["fwd"] })).toThrow(/fwd, jvp vs finite differences/);
    expect(() => checkGrads(badSin, [x])).toThrow(AllcloseError);
  });

  it("order 2 catches a rule whose first derivative is right but second is wrong", () => {
    // The tangent rule treats cos(x) as a constant, so its own derivative is lost.
    const sin2 = customJvp((y: T) => np.sin(y)).defjvp(([y]: [T], [t]: [T]) => [np.sin(y), np.cos(lax.stopGradient(y)).mul(t)]);
    checkGrads(sin2, [x], { order: 1 });
    expect(() => checkGrads(sin2, [x], { order: 2, modes: ["fwd"] })).toThrow(AllcloseError);
  });

  it("rev mode catches a wrong reverse-mode rule", () => {
    // bwd returns 2·ct instead of cos(y)·ct: ⟨u, J v⟩ (by finite differences) ≠ ⟨Jᵀu, v⟩.
    const wrong = customVjp((y: T) => np.sin(y)).defvjp((y: T) => [np.sin(y), y], (_y: T, ct: T) => [ct.mul(2)]);
    expect(() => checkGrads(wrong, [x], { modes: ["rev"] })).toThrow(/rev, ⟨u, J v⟩ vs ⟨Jᵀu, v⟩/);
    // The same check passes when the rule is right.
    checkGrads((y: T) => np.sin(y).mul(y), [x], { modes: ["rev"] });
  });

  it("rev mode checks a customVjp function's bwd rule against finite differences", () => {
    const good = customVjp((y: T) => np.sin(y)).defvjp((y: T) => [np.sin(y), y], (y: T, ct: T) => [np.cos(y).mul(ct)]);
    checkGrads(good, [x], { modes: ["rev"] });
  });

  it("validates its options", () => {
    expect(() => checkGrads((y: T) => y, [x], { order: 0 })).toThrow(ArgumentError);
    expect(() => checkGrads((y: T) => y, [x], { order: 1.5 })).toThrow(/order must be a positive integer/);
  });
});
