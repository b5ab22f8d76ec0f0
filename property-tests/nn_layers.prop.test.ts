// Properties of the nn layers over random small sizes and hyperparameters:
// each layer's output shape is what its hyperparameters say, and its
// gradients with respect to params and input pass checkGrads (jvp and vjp
// against central finite differences). NUM_RUNS (default 4) sets the runs
// per layer; the sizes stay small so the suite runs in seconds.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { np, random, type Array } from "../src/index";
import * as nn from "../src/nn";
import { checkGrads } from "../src/testing";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 4);
const dim = (max = 4) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 1_000_000 });
const normal = (s: number, shape: number[]) => random.normal(random.key(s), shape);
const tol = { atol: 2e-2, rtol: 2e-2 };
const run = (prop: fc.IProperty<any>) => fc.assert(prop, { numRuns: NUM_RUNS });

/** Values 0.1 apart in random order: max pooling has no near-ties inside the finite-difference step. */
const spaced = (s: number, shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.multiply(random.permutation(random.key(s), n), 0.1).reshape(shape);
};

describe("layer gradients pass checkGrads (params and input) and shapes follow the hyperparameters", () => {
  it("Linear", () =>
    run(fc.property(dim(), dim(), dim(), fc.boolean(), seed, (b, i, o, bias, s) => {
      const layer = nn.Linear(i, o, { bias });
      const p = layer.init(random.key(s)).params;
      const x = normal(s + 1, [b, i]);
      expect(layer.apply(p, x).shape).toEqual([b, o]);
      checkGrads((q: typeof p, v: Array) => layer.apply(q, v), [p, x], tol);
    })));

  it("Conv2d (stride, padding, dilation, groups, layout)", () =>
    run(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }),
      fc.constantFrom("SAME" as const, "VALID" as const, 1), fc.integer({ min: 1, max: 2 }), fc.constantFrom("NCHW" as const, "NHWC" as const), seed,
      (groups, perGroupIn, k, stride, padding, dilation, layout, s) => {
        const cin = groups * perGroupIn, cout = groups * 2, hw = 6;
        const layer = nn.Conv2d(cin, cout, k, { stride, padding, dilation, groups, layout });
        const p = layer.init(random.key(s)).params;
        const x = normal(s + 1, layout === "NCHW" ? [2, cin, hw, hw] : [2, hw, hw, cin]);
        const span = (k - 1) * dilation + 1;
        const out = padding === "SAME" ? Math.ceil(hw / stride) : Math.floor((hw + (padding === 1 ? 2 : 0) - span) / stride) + 1;
        expect(layer.apply(p, x).shape).toEqual(layout === "NCHW" ? [2, cout, out, out] : [2, out, out, cout]);
        checkGrads((q: typeof p, v: Array) => layer.apply(q, v), [p, x], tol);
      })));

  it("MaxPool2d and AvgPool2d", () =>
    run(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom("SAME" as const, "VALID" as const), seed, (w, stride, padding, s) => {
      for (const layer of [nn.MaxPool2d(w, { stride, padding }), nn.AvgPool2d(w, { stride, padding })]) {
        const x = spaced(s, [1, 2, 5, 5]);
        const out = padding === "SAME" ? Math.ceil(5 / stride) : Math.floor((5 - w) / stride) + 1;
        expect(layer.apply({}, x).shape).toEqual([1, 2, out, out]);
        checkGrads((v: Array) => layer.apply({}, v), [x], tol);
      }
    })));

  it("BatchNorm in train and eval mode", () =>
    run(fc.property(fc.integer({ min: 2, max: 5 }), dim(), seed, (b, c, s) => {
      const layer = nn.BatchNorm(c);
      const { params, state } = layer.init(random.key(s));
      const x = normal(s + 1, [b, c, 2]);
      const train = (q: typeof params, v: Array) => layer.applyWithState(q, state, v, { train: true })[0];
      expect(train(params, x).shape).toEqual([b, c, 2]);
      checkGrads(train, [params, x], tol);
      const running = { mean: normal(s + 2, [c]), var: np.add(np.square(normal(s + 3, [c])), 0.5) };
      checkGrads((q: typeof params, v: Array) => layer.apply(q, v, { state: running }), [params, x], tol);
    })));

  it("LayerNorm, Dropout (fixed key) and Embedding", () =>
    run(fc.property(dim(), fc.integer({ min: 2, max: 5 }), seed, (b, d, s) => {
      const ln = nn.LayerNorm(d);
      const lp = ln.init(random.key(s)).params;
      // Spaced inputs: features that nearly coincide make the normalisation too steep for finite differences.
      const x = spaced(s + 1, [b, d]);
      checkGrads((q: typeof lp, v: Array) => ln.apply(q, v), [lp, x], tol);
      const drop = nn.Dropout(0.3);
      checkGrads((v: Array) => drop.apply({}, v, { train: true, key: random.key(s) }), [x], tol);
      const emb = nn.Embedding(6, d);
      const ep = emb.init(random.key(s)).params;
      const ids = random.randint(random.key(s + 2), [b, 3], 0, 6);
      expect(emb.apply(ep, ids).shape).toEqual([b, 3, d]);
      checkGrads((q: typeof ep) => emb.apply(q, ids), [ep], tol);
    })));

  it("MultiHeadAttention (self, causal, cross)", () =>
    run(fc.property(dim(2), dim(3), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), seed, (b, t, heads, headDim, cross, s) => {
      const d = heads * headDim;
      const layer = nn.MultiHeadAttention(d, heads);
      const p = layer.init(random.key(s)).params;
      const x = normal(s + 1, [b, t, d]);
      const ctx = normal(s + 2, [b, t + 1, d]);
      const f = (q: typeof p, v: Array) => layer.apply(q, v, cross ? { context: ctx } : { isCausal: true });
      expect(f(p, x).shape).toEqual([b, t, d]);
      checkGrads(f, [p, x], tol);
    })));

  it("LSTM, GRU and RNN over time", () =>
    run(fc.property(dim(2), dim(3), dim(3), dim(3), fc.boolean(), seed, (b, t, i, h, seq, s) => {
      for (const layer of [nn.LSTM(i, h, { returnSequences: seq }), nn.GRU(i, h, { returnSequences: seq }), nn.RNN(i, h, { returnSequences: seq })]) {
        const p = layer.init(random.key(s)).params as never;
        const x = normal(s + 1, [b, t, i]);
        const f = (q: never, v: Array) => (layer as nn.AnyLayer).apply(q, v);
        expect(f(p, x).shape).toEqual(seq ? [b, t, h] : [b, h]);
        checkGrads(f, [p, x], tol);
      }
    })));

  it("GCNConv on a random graph", () =>
    run(fc.property(fc.integer({ min: 2, max: 6 }), dim(3), dim(3), fc.integer({ min: 0, max: 10 }), seed, (n, i, o, e, s) => {
      const layer = nn.GCNConv(i, o);
      const p = layer.init(random.key(s)).params;
      const edges = random.randint(random.key(s + 3), [2, e], 0, n);
      const x = normal(s + 1, [n, i]);
      const f = (q: typeof p, v: Array) => layer.apply(q, v, { edges });
      expect(f(p, x).shape).toEqual([n, o]);
      checkGrads(f, [p, x], tol);
    })));

  // tanh experts: a relu kink inside the finite-difference step would fail the check without a bug.
  it("SwitchMoE with respect to its experts (routing held fixed)", () =>
    run(fc.property(fc.integer({ min: 2, max: 6 }), dim(3), dim(3), fc.integer({ min: 1, max: 3 }), seed, (t, d, h, experts, s) => {
      const layer = nn.SwitchMoE(d, h, experts, { activation: nn.tanh });
      const p = layer.init(random.key(s)).params;
      const x = normal(s + 1, [t, d]);
      expect(layer.apply(p, x).shape).toEqual([t, d]);
      checkGrads((ex: typeof p.experts) => layer.apply({ router: p.router, experts: ex }, x), [p.experts], tol);
    })));
});
