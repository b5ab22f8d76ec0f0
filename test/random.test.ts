// Tests of tinyflow.random: JAX's known threefry answers in both streams
// (partitionable by default, the legacy one behind a flag), the Random123 threefry test vector, distribution
// statistics, determinism, permutation/choice validity, and jit/vmap over keys.

import { describe, expect, it } from "vitest";
import { np, jit, vmap, grad } from "../src/index";
import * as random from "../src/random";
import { ArgumentError, DTypeError, ShapeError, type Tracer } from "../src/core";

const vals = (x: Tracer): number[] => Array.from(x.dataSync() as ArrayLike<number>);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};

describe("keys", () => {
  it("key(seed) is [high, low] uint32 words, as PRNGKey", () => {
    const k = random.key(0);
    expect(k.dtype).toBe("uint32");
    expect(k.shape).toEqual([2]);
    expect(k.tolist()).toEqual([0, 0]);
    expect(random.key(42).tolist()).toEqual([0, 42]);
    expect(random.key(-1).tolist()).toEqual([0, 4294967295]);
    expect(random.key(2 ** 32 + 5).tolist()).toEqual([1, 5]);
    expect(random.PRNGKey(7).tolist()).toEqual([0, 7]);
    // a traced seed works under jit (int32 bits reinterpreted as uint32)
    const kj = jit((s: Tracer) => random.key(s))(np.array(-1, { dtype: "int32" })) as Tracer;
    expect(kj.tolist()).toEqual([0, 4294967295]);
  });

  it("the threefry2x32 block matches the Random123 known-answer vectors", () => {
    // Threefry-2x32-20, key (0, 0), counter (0, 0) -> (0x6b200159, 0x99ba4efe)
    const out = random.threefry2x32(random.key(0), np.array([0, 0], { dtype: "uint32" }));
    expect(vals(out)).toEqual([0x6b200159, 0x99ba4efe]);
    // key (ffffffff, ffffffff), counter (ffffffff, ffffffff) -> (0x1cb996fc, 0xbb002be7)
    const kff = np.array([0xffffffff, 0xffffffff], { dtype: "uint32" });
    expect(vals(random.threefry2x32(kff, np.array([0xffffffff, 0xffffffff], { dtype: "uint32" })))).toEqual([0x1cb996fc, 0xbb002be7]);
    // key (13198a2e, 03707344), counter (243f6a88, 85a308d3) -> (c4923a9c, 483df7a0)
    const kpi = np.array([0x13198a2e, 0x03707344], { dtype: "uint32" });
    expect(vals(random.threefry2x32(kpi, np.array([0x243f6a88, 0x85a308d3], { dtype: "uint32" })))).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  // Known answers of current JAX (jax_threefry_partitionable=True, the default since 0.5):
  // jax/random.py's docstring (uniform(key(0)) = 0.947667, and 0.00729382 for split(key)[1]),
  // JEP 9263 (uniform(key(0), (3,))), jax.experimental.random.stateful_rng's docstring
  // (fold_in(key(0), 0) and fold_in(key(0), 1)), and the value quoted in issue 12 for bits(key(0)).
  it("bits, split, foldIn and uniform of key(0) equal current JAX's known values", () => {
    expect(random.isThreefryPartitionable()).toBe(true);
    expect(random.bits(random.key(0)).item()).toBe(4070199207);
    expect(random.split(random.key(0)).tolist()).toEqual([
      [1797259609, 2579123966],
      [928981903, 3453687069],
    ]);
    expect(random.foldIn(random.key(0), 0).tolist()).toEqual([1797259609, 2579123966]);
    expect(random.foldIn(random.key(0), 1).tolist()).toEqual([928981903, 3453687069]);
    expect(random.uniform(random.key(0)).item()).toBeCloseTo(0.947667, 6);
    const u3 = vals(random.uniform(random.key(0), [3]));
    [0.947667, 0.9785799, 0.33229148].forEach((v, i) => expect(u3[i]).toBeCloseTo(v, 6));
    const sub = np.index(random.split(random.key(0)), [1]);
    expect(random.uniform(sub).item()).toBeCloseTo(0.00729382, 7);
  });

  // JAX's tests/random_test.py test_threefry_split_fold_in_symmetry (partitionable mode only).
  it("split(key, n)[i] equals foldIn(key, i), as in JAX's partitionable stream", () => {
    const k = random.key(72);
    const s = random.split(k, 3).tolist() as number[][];
    [0, 1, 2].forEach((i) => expect(random.foldIn(k, i).tolist()).toEqual(s[i]));
    // Under vmap over a batch of indices too.
    const folded = vmap((i: Tracer) => random.foldIn(k, i))(np.array([0, 1, 2], { dtype: "int32" }));
    expect(folded.tolist()).toEqual(s);
  });

  // The legacy stream, kept behind setThreefryPartitionable(false): JAX's own
  // pinned values from tests/random_test.py (testRngRandomBits, testPRNGValues,
  // skipped there when the partitionable flag is on) and the PRNGKey(0) values of JAX < 0.5.
  it("setThreefryPartitionable(false) gives JAX's legacy stream", () => {
    random.withThreefryPartitionable(false, () => {
      expect(random.isThreefryPartitionable()).toBe(false);
      expect(random.bits(random.key(0)).item()).toBe(1797259609);
      expect(vals(random.bits(random.key(1701), [3]))).toEqual([56197195, 4200222568, 961309823]);
      expect(random.split(random.key(0)).tolist()).toEqual([
        [4146024105, 967050713],
        [2718843009, 1272950319],
      ]);
      expect(random.split(random.key(0), 4).tolist()).toEqual([
        [2285895361, 1501764800],
        [1518642379, 4090693311],
        [433833334, 4221794875],
        [839183663, 3740430601],
      ]);
      expect(random.foldIn(random.key(0), 4).tolist()).toEqual([2285895361, 433833334]);
      expect(random.randint(random.key(0), [3, 3], 0, 8).tolist()).toEqual([[2, 1, 3], [6, 1, 5], [6, 3, 4]]);
      // jax.random.uniform(PRNGKey(0)) = 0.41845703, jax.random.normal(PRNGKey(0)) = -0.20584226
      expect(random.uniform(random.key(0)).item()).toBeCloseTo(0.41845703, 7);
      expect(random.normal(random.key(0)).item()).toBeCloseTo(-0.20584226, 6);
      // jax.random.normal(PRNGKey(0), (3,)) = [1.8160863, -0.48262316, 0.33988908] (erf_inv may differ in the last ulps)
      const n3 = vals(random.normal(random.key(0), [3]));
      [1.8160863, -0.48262316, 0.33988908].forEach((v, i) => expect(Math.abs(n3[i] - v)).toBeLessThan(2e-6));
    });
    expect(random.isThreefryPartitionable()).toBe(true);
    expect(random.setThreefryPartitionable(false)).toBe(true);
    expect(random.setThreefryPartitionable(true)).toBe(false);
    expect(() => random.setThreefryPartitionable("no" as unknown as boolean)).toThrow(ArgumentError);
  });

  it("a jitted draw follows the stream setting in force at each call (the flag is part of jit's cache key)", () => {
    const draw = jit((k: Tracer) => random.bits(k));
    expect(draw(random.key(0)).item()).toBe(4070199207);
    expect(random.withThreefryPartitionable(false, () => draw(random.key(0)).item())).toBe(1797259609);
    expect(draw(random.key(0)).item()).toBe(4070199207);
    // Both streams stay cached: toggling back does not retrace.
    expect(draw.traceCount).toBe(2);
  });

  it("split shapes, foldIn and the same key giving the same numbers", () => {
    const k = random.key(123);
    expect(random.split(k, 5).shape).toEqual([5, 2]);
    expect(random.split(k, [2, 3]).shape).toEqual([2, 3, 2]);
    const a = vals(random.uniform(k, [10]));
    const b = vals(random.uniform(random.key(123), [10]));
    expect(a).toEqual(b);
    const c = vals(random.uniform(random.key(124), [10]));
    expect(a).not.toEqual(c);
    const f1 = random.foldIn(k, 1);
    const f2 = random.foldIn(k, 2);
    expect(f1.shape).toEqual([2]);
    expect(f1.tolist()).not.toEqual(f2.tolist());
    expect(random.foldIn(k, 1).tolist()).toEqual(f1.tolist());
    // fold_in(key, d) is threefry_2x32(key, [0, d])
    expect(f1.tolist()).toEqual(vals(random.threefry2x32(k, np.array([0, 1], { dtype: "uint32" }))));
  });

  it("randomBits hashes the counters (0, i) and xors the two words; the legacy stream pads an odd count like JAX", () => {
    const k = random.key(3);
    const b5 = random.randomBits(k, [5]);
    expect(b5.dtype).toBe("uint32");
    expect(b5.shape).toEqual([5]);
    // Partitionable: element i is y0 ^ y1 of the block hashed from (hi, lo) = (0, i).
    const expected = [0, 1, 2, 3, 4].map((i) => {
      const [y0, y1] = vals(random.threefry2x32(k, np.array([0, i], { dtype: "uint32" })));
      return (y0 ^ y1) >>> 0;
    });
    expect(vals(b5)).toEqual(expected);
    // Legacy: the odd case hashes [0..4, 0] split as halves [0,1,2] | [3,4,0].
    const legacy = random.withThreefryPartitionable(false, () => vals(random.randomBits(k, [5])));
    const manual = vals(random.threefry2x32(k, np.array([0, 1, 2, 3, 4, 0], { dtype: "uint32" }))).slice(0, 5);
    expect(legacy).toEqual(manual);
  });
});

describe("distributions", () => {
  const k = random.key(2024);

  it("uniform is in range with mean ≈ 0.5 over 1e5 samples", () => {
    const u = vals(random.uniform(k, [100000]));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(std(u) - Math.sqrt(1 / 12))).toBeLessThan(0.005);
    const r = vals(random.uniform(k, [1000], { minval: -3, maxval: 5 }));
    expect(Math.min(...r)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...r)).toBeLessThan(5);
  });

  it("normal has mean ≈ 0 and std ≈ 1", () => {
    const n = vals(random.normal(k, [50000]));
    expect(Math.abs(mean(n))).toBeLessThan(0.02);
    expect(Math.abs(std(n) - 1)).toBeLessThan(0.02);
  });

  it("truncatedNormal stays inside its bounds", () => {
    const t = vals(random.truncatedNormal(k, -0.5, 1, [5000]));
    expect(Math.min(...t)).toBeGreaterThan(-0.5);
    expect(Math.max(...t)).toBeLessThan(1);
    expect(mean(t)).toBeGreaterThan(0.1); // the truncated mean is ≈ 0.17
  });

  it("bernoulli frequency ≈ p", () => {
    const b = random.bernoulli(k, 0.3, [20000]);
    expect(b.dtype).toBe("bool");
    expect(Math.abs(mean(vals(b)) - 0.3)).toBeLessThan(0.015);
  });

  it("randint is in [minval, maxval) and hits every value", () => {
    const r = random.randint(k, [5000], 3, 8);
    expect(r.dtype).toBe("int32");
    const v = vals(r);
    expect(new Set(v)).toEqual(new Set([3, 4, 5, 6, 7]));
    const wide = vals(random.randint(k, [2000], -2147483648, 2147483647));
    expect(Math.min(...wide)).toBeLessThan(-1e9);
    expect(Math.max(...wide)).toBeGreaterThan(1e9);
  });

  it("categorical follows the logits' probabilities", () => {
    const logits = np.log(np.array([0.1, 0.2, 0.7], { dtype: "float32" }));
    const s = vals(random.categorical(k, logits, { shape: [20000] }));
    const freq = [0, 1, 2].map((c) => s.filter((x) => x === c).length / s.length);
    expect(Math.abs(freq[0] - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(freq[2] - 0.7)).toBeLessThan(0.015);
    const batched = random.categorical(k, np.array([[0, -1e9], [-1e9, 0]], { dtype: "float32" }));
    expect(batched.tolist()).toEqual([0, 1]);
  });

  it("gumbel has mean ≈ Euler's gamma", () => {
    const g = vals(random.gumbel(k, [20000]));
    expect(Math.abs(mean(g) - 0.5772)).toBeLessThan(0.03);
  });

  it("permutation is a permutation, and shuffles array rows together", () => {
    const p = vals(random.permutation(k, 100));
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    expect(p).not.toEqual([...Array(100).keys()]);
    const x = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], { dtype: "float32" });
    const rows = random.permutation(k, x).tolist() as number[][];
    rows.forEach((r) => expect(r[0]).toBe(r[1]));
    expect(rows.map((r) => r[0]).sort()).toEqual([0, 1, 2, 3]);
  });

  it("choice with and without replacement and with probabilities", () => {
    const noRep = vals(random.choice(k, 10, { shape: [10], replace: false }));
    expect([...noRep].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    const withP = vals(random.choice(k, np.array([5, 6, 7], { dtype: "int32" }), { shape: [3000], p: np.array([0, 0.25, 0.75], { dtype: "float32" }) }));
    expect(withP.includes(5)).toBe(false);
    expect(Math.abs(withP.filter((v) => v === 7).length / 3000 - 0.75)).toBeLessThan(0.03);
    const pNoRep = vals(random.choice(k, 4, { shape: [2], replace: false, p: np.array([0.5, 0.5, 0, 0], { dtype: "float32" }) }));
    expect([...pNoRep].sort()).toEqual([0, 1]);
    const rep = vals(random.choice(k, 3, { shape: [50] }));
    rep.forEach((v) => expect([0, 1, 2]).toContain(v));
  });
});

describe("transformations", () => {
  it("vmap over a batch of keys equals sampling each key", () => {
    const keys = random.split(random.key(5), 4);
    const batched = vmap((kk: Tracer) => random.normal(kk, [3]))(keys) as Tracer;
    expect(batched.shape).toEqual([4, 3]);
    const rows = batched.tolist() as number[][];
    for (let i = 0; i < 4; i++) {
      const ki = np.array((keys.tolist() as number[][])[i], { dtype: "uint32" });
      const single = vals(random.normal(ki, [3]));
      rows[i].forEach((v, j) => expect(v).toBeCloseTo(single[j], 6));
    }
    const splits = vmap((kk: Tracer) => random.split(kk, 3))(keys) as Tracer;
    expect(splits.shape).toEqual([4, 3, 2]);
  });

  it("jit gives the same numbers as eager execution", () => {
    const f = jit((kk: Tracer) => random.uniform(random.foldIn(kk, 7), [6], { minval: -1, maxval: 1 }));
    const k = random.key(11);
    expect(vals(f(k) as Tracer)).toEqual(vals(random.uniform(random.foldIn(k, 7), [6], { minval: -1, maxval: 1 })));
    const g = jit((kk: Tracer) => random.permutation(kk, 8));
    expect(vals(g(k) as Tracer)).toEqual(vals(random.permutation(k, 8)));
  });

  it("gradients flow through the reparameterised normal", () => {
    const k = random.key(1);
    const eps = random.normal(k, [4]);
    const d = grad((sigma: Tracer) => np.sum(np.multiply(sigma, random.normal(k, [4]))))(np.array(2, { dtype: "float32" }));
    expect(d.item()).toBeCloseTo(vals(eps).reduce((a, b) => a + b, 0), 5);
  });
});

describe("typed errors name the function", () => {
  it("bad keys", () => {
    expect(() => random.uniform(np.array([1, 2], { dtype: "int32" }), [2])).toThrow(DTypeError);
    expect(() => random.uniform(np.array([1, 2, 3], { dtype: "uint32" }), [2])).toThrow(/random\.uniform/);
    expect(() => random.split(42 as any)).toThrow(ArgumentError);
  });
  it("bad shapes and parameters", () => {
    expect(() => random.normal(random.key(0), [2.5])).toThrow(ShapeError);
    expect(() => random.uniform(random.key(0), [3], { minval: np.zeros([4]) })).toThrow(/random\.uniform/);
    expect(() => random.choice(random.key(0), 3, { shape: [5], replace: false })).toThrow(/random\.choice/);
    expect(() => random.key(1.5)).toThrow(/random\.key/);
    expect(() => random.categorical(random.key(0), np.zeros([3]), { axis: 2 })).toThrow(ShapeError);
  });
});
