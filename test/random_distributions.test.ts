// Tests of the derived random distributions at fixed keys: a Kolmogorov–
// Smirnov distance against the exact CDF (below the 1% critical value
// 1.63/√N) where the CDF is closed-form, moments against their formulas
// otherwise, support checks, dtype/shape errors, and vmap over split keys.

import { describe, expect, test } from "vitest";
import { np, random, vmap, jit, type Array } from "../src/index";
import { ArgumentError, DTypeError, ShapeError } from "../src/core/errors";

const N = 20000;
const values = (x: Array): number[] => globalThis.Array.from(x.dataSync() as ArrayLike<number>);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a: number[]) => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};

/** sup |F_empirical - F| over the sample. */
function ksDistance(sample: number[], cdf: (x: number) => number): number {
  const s = [...sample].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs((i + 1) / s.length - f), Math.abs(f - i / s.length));
  });
  return d;
}
const KS_CRITICAL = 1.63 / Math.sqrt(N);

describe("closed-form CDFs: KS distance below the 1% critical value", () => {
  const cases: [string, () => Array, (x: number) => number][] = [
    ["cauchy", () => random.cauchy(random.key(1), [N]), (x) => 0.5 + Math.atan(x) / Math.PI],
    ["laplace", () => random.laplace(random.key(2), [N]), (x) => (x < 0 ? 0.5 * Math.exp(x) : 1 - 0.5 * Math.exp(-x))],
    ["logistic", () => random.logistic(random.key(3), [N]), (x) => 1 / (1 + Math.exp(-x))],
    ["rayleigh(scale 2)", () => random.rayleigh(random.key(4), 2, [N]), (x) => 1 - Math.exp(-(x * x) / 8)],
    ["pareto(b 3)", () => random.pareto(random.key(5), 3, [N]), (x) => (x < 1 ? 0 : 1 - x ** -3)],
    ["weibullMin(scale 1.5, k 2)", () => random.weibullMin(random.key(6), 1.5, 2, [N]), (x) => 1 - Math.exp(-((x / 1.5) ** 2))],
    [
      "triangular(0, 1, 3)",
      () => random.triangular(random.key(7), 0, 1, 3, [N]),
      (x) => (x <= 0 ? 0 : x <= 1 ? (x * x) / 3 : x < 3 ? 1 - ((3 - x) ** 2) / 6 : 1),
    ],
    ["lognormal(sigma 0.5)", () => random.lognormal(random.key(8), 0.5, [N]), (x) => 0.5 * (1 + erf(Math.log(x) / (0.5 * Math.SQRT2)))],
    ["gamma(1) = exponential", () => random.gamma(random.key(9), 1, [N]), (x) => 1 - Math.exp(-x)],
    ["beta(1, 1) = uniform", () => random.beta(random.key(10), 1, 1, [N]), (x) => Math.min(1, Math.max(0, x))],
  ];
  for (const [name, draw, cdf] of cases) {
    test(name, () => {
      const d = ksDistance(values(draw()), cdf);
      expect(d).toBeLessThan(KS_CRITICAL);
    });
  }
});

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for a KS reference. */
function erf(x: number): number {
  const s = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return s * y;
}

describe("moments and supports", () => {
  test("maxwell, geometric, gamma, chisquare, t, beta", () => {
    const mx = values(random.maxwell(random.key(11), [N]));
    expect(Math.abs(mean(mx) - 2 * Math.sqrt(2 / Math.PI))).toBeLessThan(0.02);
    const g = random.geometric(random.key(12), 0.25, [N]);
    expect(g.dtype).toBe("int32");
    const gv = values(g);
    expect(Math.min(...gv)).toBe(1);
    expect(Math.abs(mean(gv) - 4)).toBeLessThan(0.1); // 1/p
    expect(Math.abs(variance(gv) - 12) / 12).toBeLessThan(0.06); // (1-p)/p²
    for (const a of [0.3, 2.5]) {
      const gm = values(random.gamma(random.key(13), a, [N]));
      expect(Math.min(...gm)).toBeGreaterThanOrEqual(0);
      expect(Math.abs(mean(gm) - a) / a).toBeLessThan(0.03);
      expect(Math.abs(variance(gm) - a) / a).toBeLessThan(0.08);
    }
    const c = values(random.chisquare(random.key(14), 4, [N]));
    expect(Math.abs(mean(c) - 4)).toBeLessThan(0.1);
    const tt = values(random.t(random.key(15), 5, [N]));
    expect(Math.abs(mean(tt))).toBeLessThan(0.05);
    expect(Math.abs(variance(tt) - 5 / 3)).toBeLessThan(0.15);
    const b = values(random.beta(random.key(16), 2, 3, [N]));
    expect(Math.abs(mean(b) - 0.4)).toBeLessThan(0.01);
    expect(Math.abs(variance(b) - 0.04)).toBeLessThan(0.004);
  });

  test("dirichlet rows sum to 1 with means alpha/Σalpha; ball points lie in the unit ball", () => {
    const d = random.dirichlet(random.key(17), np.array([1, 2, 3]), [N / 4]);
    expect(d.shape).toEqual([N / 4, 3]);
    const rows = d.tolist() as number[][];
    for (const r of rows.slice(0, 100)) expect(Math.abs(r[0] + r[1] + r[2] - 1)).toBeLessThan(1e-5);
    [1 / 6, 2 / 6, 3 / 6].forEach((m, j) => expect(Math.abs(mean(rows.map((r) => r[j])) - m)).toBeLessThan(0.01));
    for (const p of [1, 2]) {
      const pts = random.ball(random.key(18), 3, { p, shape: [2000] }).tolist() as number[][];
      const norms = pts.map((v) => v.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p));
      expect(Math.max(...norms)).toBeLessThanOrEqual(1);
      // Uniform in a 3-ball: P(‖x‖ <= r) = r³, so the median norm is 2^(-1/3).
      const sorted = [...norms].sort((a, b) => a - b);
      expect(Math.abs(sorted[1000] - 2 ** (-1 / 3))).toBeLessThan(0.03);
    }
  });

  test("multivariateNormal has the requested mean and covariance (cholesky, eigh and svd)", () => {
    const cov = np.array([[2, 0.6], [0.6, 1]]);
    for (const method of ["cholesky", "eigh", "svd"] as const) {
      const x = random.multivariateNormal(random.key(19), np.array([1, -1]), cov, [N], { method });
      expect(x.shape).toEqual([N, 2]);
      const rows = x.tolist() as number[][];
      const a = rows.map((r) => r[0]);
      const b = rows.map((r) => r[1]);
      expect(Math.abs(mean(a) - 1)).toBeLessThan(0.04);
      expect(Math.abs(mean(b) + 1)).toBeLessThan(0.03);
      expect(Math.abs(variance(a) - 2)).toBeLessThan(0.1);
      expect(Math.abs(variance(b) - 1)).toBeLessThan(0.05);
      const ma = mean(a);
      const mb = mean(b);
      const covAB = a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0) / N;
      expect(Math.abs(covAB - 0.6)).toBeLessThan(0.05);
    }
    // The default shape is the batch shape of mean and cov.
    expect(random.multivariateNormal(random.key(0), np.zeros([4, 2]), np.eye(2)).shape).toEqual([4, 2]);
  });
});

describe("keys, shapes and errors", () => {
  test("vmap over split keys equals one key at a time; jit equals eager", () => {
    const keys = random.split(random.key(20), 3);
    const batched = vmap((k: Array) => random.laplace(k, [4]))(keys);
    const single = [0, 1, 2].map((i) => random.laplace(np.index(keys, [i]), [4]).tolist());
    expect(batched.tolist()).toEqual(single);
    const gammaBatched = vmap((k: Array) => random.gamma(k, 2, [3]))(keys);
    expect(gammaBatched.tolist()).toEqual([0, 1, 2].map((i) => random.gamma(np.index(keys, [i]), 2, [3]).tolist()));
    const k = random.key(21);
    expect(jit((kk: Array) => random.cauchy(kk, [5]))(k).tolist()).toEqual(random.cauchy(k, [5]).tolist());
  });

  test("parameters broadcast to the shape; mismatches and bad dtypes are typed errors", () => {
    expect(random.pareto(random.key(0), np.array([1, 2, 3])).shape).toEqual([3]);
    expect(random.weibullMin(random.key(0), 1, np.array([1, 2]), [4, 2]).shape).toEqual([4, 2]);
    expect(random.cauchy(random.key(0), [2], { dtype: "float16" }).dtype).toBe("float16");
    expect(() => random.pareto(random.key(0), np.array([1, 2, 3]), [2])).toThrow(ShapeError);
    expect(() => random.laplace(random.key(0), [2], { dtype: "int32" })).toThrow(DTypeError);
    expect(() => random.geometric(random.key(0), 0.5, [2], { dtype: "float32" })).toThrow(DTypeError);
    expect(() => random.multivariateNormal(random.key(0), np.zeros([3]), np.eye(2))).toThrow(ShapeError);
    expect(() => random.multivariateNormal(random.key(0), np.zeros([2]), np.eye(2), [3], { method: "qr" as "svd" })).toThrow(/method/);
    expect(() => random.ball(random.key(0), 0)).toThrow(ArgumentError);
    expect(() => random.dirichlet(random.key(0), 1)).toThrow(ShapeError);
    expect(() => random.cauchy(np.zeros([3]), [2])).toThrow(DTypeError);
  });
});
