// Tests of the image and normalisation layers: Conv2d against lax and a
// hand-computed convolution (NCHW and NHWC, stride, dilation, groups), the
// pools, BatchNorm's train/eval and momentum convention, Dropout's key
// discipline, LayerNorm, Embedding, and a CNN training step whose
// jit(grad) equals grad and whose compiled program runs on wasm kernels.

import { describe, expect, it } from "vitest";
import { np, lax, random, grad, jit, valueAndGrad, type Array } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, DTypeError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";

const key = (seed: number) => random.key(seed);
const vals = (x: Array) => globalThis.Array.from(x.dataSync() as Float32Array);

describe("Conv2d", () => {
  it("NCHW: weight [out, in/groups, kh, kw], equals lax.convGeneralDilated plus the bias", () => {
    const conv = nn.Conv2d(3, 4, [3, 2], { stride: 2, padding: 1, dilation: [1, 2], biasInit: nn.initializers.normal({ stddev: 1 }) });
    const { params } = conv.init(key(0));
    expect(params.weight.shape).toEqual([4, 3, 3, 2]);
    const x = random.normal(key(1), [2, 3, 9, 8]);
    const y = conv.apply(params, x);
    const ref = lax.convGeneralDilated(x, params.weight, [2, 2], [[1, 1], [1, 1]], { rhsDilation: [1, 2] });
    expectAllclose(y, np.add(ref, params.bias!.reshape([4, 1, 1])), { atol: 1e-5 });
    expect(y.shape).toEqual([2, 4, 5, 4]);
  });

  it("a 1×1 conv is a per-pixel matmul (checked by hand)", () => {
    const conv = nn.Conv2d(2, 3, 1, { bias: false });
    const { params } = conv.init(key(0));
    const x = random.normal(key(1), [1, 2, 2, 2]);
    const y = conv.apply(params, x);
    const w = params.weight.reshape([3, 2]);
    expectAllclose(y.reshape([3, 4]), np.matmul(w, x.reshape([2, 4])), { atol: 1e-5 });
  });

  it("NHWC with HWIO weights computes the same as NCHW with the transposed weights", () => {
    const nhwc = nn.Conv2d(4, 6, 3, { padding: "SAME", groups: 2, layout: "NHWC" });
    const nchw = nn.Conv2d(4, 6, 3, { padding: "SAME", groups: 2 });
    const p = nhwc.init(key(0)).params;
    expect(p.weight.shape).toEqual([3, 3, 2, 6]);
    const x = random.normal(key(1), [2, 5, 5, 4]);
    const y = nhwc.apply(p, x);
    const y2 = nchw.apply({ weight: np.transpose(p.weight, [3, 2, 0, 1]), bias: p.bias }, np.transpose(x, [0, 3, 1, 2]));
    expectAllclose(y, np.transpose(y2, [0, 2, 3, 1]), { atol: 1e-5 });
  });

  it("draws the kernel in HWIO so fan-based initializers see the right fans, the same numbers in both layouts", () => {
    const a = nn.Conv2d(16, 32, 3, { kernelInit: nn.initializers.heNormal() }).init(key(3)).params.weight;
    const b = nn.Conv2d(16, 32, 3, { kernelInit: nn.initializers.heNormal(), layout: "NHWC" }).init(key(3)).params.weight;
    expectAllclose(a, np.transpose(b, [3, 2, 0, 1]));
    const v = vals(a);
    const variance = v.reduce((s, t) => s + t * t, 0) / v.length;
    expect(variance / (2 / 144)).toBeGreaterThan(0.85);
    expect(variance / (2 / 144)).toBeLessThan(1.15);
  });

  it("names the layer and the expected input on a wrong shape, and checks its hyperparameters", () => {
    const conv = nn.Conv2d(1, 32, 3, { padding: "SAME" });
    const { params } = conv.init(key(0));
    expect(() => conv.apply(params, np.zeros([8, 3, 28, 28]))).toThrow("Conv2d(1→32, 3×3, padding=SAME) expects inputs [N, 1, H, W], got [8, 3, 28, 28]");
    expect(() => conv.apply(params, np.zeros([8, 784]))).toThrow(ShapeError);
    expect(() => nn.Conv2d(1, 2, 5).apply(nn.Conv2d(1, 2, 5).init(key(0)).params, np.zeros([1, 1, 3, 3]))).toThrow("H >= 5 and W >= 5");
    expect(() => nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow("groups=2 must divide");
    expect(() => nn.Conv2d(3, 4, 0)).toThrow(ArgumentError);
    expect(() => nn.Conv2d(3, 4, 3, { padding: "FULL" as never })).toThrow('"SAME", "VALID"');
    expect(() => nn.Conv2d(3, 4, 3, { layout: "CHWN" as never })).toThrow("NCHW");
  });
});

describe("pooling", () => {
  const x = np.arange(16).reshape([1, 1, 4, 4]);

  it("MaxPool2d and AvgPool2d over non-overlapping windows by default", () => {
    const p = nn.MaxPool2d(2);
    expect(p.apply(p.init(key(0)).params, x).tolist()).toEqual([[[[5, 7], [13, 15]]]]);
    const a = nn.AvgPool2d(2);
    expect(a.apply({}, x).tolist()).toEqual([[[[2.5, 4.5], [10.5, 12.5]]]]);
    expect(String(nn.MaxPool2d([3, 2], { stride: 1, padding: "SAME" }))).toBe("MaxPool2d(3×2, stride=1, padding=SAME)");
  });

  it("strides, SAME padding (counted as zeros in averages) and NHWC", () => {
    expect(nn.maxPool(x, 3, { stride: 1 }).tolist()).toEqual([[[[10, 11], [14, 15]]]]);
    const same = nn.avgPool(np.ones([1, 1, 3, 3]), 2, { padding: "SAME" });
    expect(same.tolist()).toEqual([[[[1, 0.5], [0.5, 0.25]]]]);
    const nhwc = nn.maxPool(np.transpose(x, [0, 2, 3, 1]), 2, { layout: "NHWC" });
    expect(nhwc.reshape([4]).tolist()).toEqual([5, 7, 13, 15]);
    expect(() => nn.MaxPool2d(2).apply({}, np.zeros([4, 4]))).toThrow("MaxPool2d(2) expects inputs [N, C, H, W], got [4, 4]");
  });

  it("max pooling's gradient goes to the window maxima", () => {
    const g = grad((v: Array) => np.sum(nn.maxPool(v, 2)))(x);
    expect(g.reshape([16]).tolist()).toEqual([0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
  });
});

describe("BatchNorm", () => {
  const x = random.normal(key(1), [16, 3, 4, 4]).mul(2).add(1);

  it("train mode normalises with batch statistics and moves the running ones with momentum (flax convention)", () => {
    const bn = nn.BatchNorm(3, { momentum: 0.8 });
    const { params, state } = bn.init(key(0));
    expect(state.mean.tolist()).toEqual([0, 0, 0]);
    expect(state.var.tolist()).toEqual([1, 1, 1]);
    const [y, s1] = bn.applyWithState(params, state, x, { train: true });
    const bm = np.mean(x, [0, 2, 3]);
    const bv = np.variance(x, [0, 2, 3]);
    expectAllclose(np.mean(y, [0, 2, 3]), np.zeros([3]), { atol: 1e-5 });
    expectAllclose(np.variance(y, [0, 2, 3]), np.ones([3]), { atol: 1e-3 });
    expectAllclose(s1.mean, bm.mul(0.2), { atol: 1e-6 });
    expectAllclose(s1.var, np.add(0.8, bv.mul(0.2)), { atol: 1e-5 });
    const [, s2] = bn.applyWithState(params, s1, x, { train: true });
    expectAllclose(s2.mean, np.add(s1.mean.mul(0.8), bm.mul(0.2)), { atol: 1e-6 });
  });

  it("eval mode uses the running statistics read-only, with scale and bias", () => {
    const bn = nn.BatchNorm(3);
    const state = { mean: np.array([1, 2, 3]), var: np.array([4, 1, 0.25]) };
    const params = { scale: np.array([2, 1, 1]), bias: np.array([0, 1, -1]) };
    const x1 = np.ones([1, 3]).mul(3);
    expectAllclose(bn.apply(params, x1, { state }), np.array([[2 * (2 / Math.sqrt(4 + 1e-5)), 1 + 1 / Math.sqrt(1 + 1e-5), -1]]), { atol: 1e-5 });
    const [y, same] = bn.applyWithState(params, state, x1);
    expectAllclose(y, bn.apply(params, x1, { state }));
    expect(same).toBe(state);
  });

  it("apply refuses train mode (state would be lost) and eval mode without state", () => {
    const bn = nn.BatchNorm(3);
    const { params, state } = bn.init(key(0));
    expect(() => bn.apply(params, x, { train: true, state })).toThrow(/BatchNorm\(3\)\.apply: train mode .* applyWithState/);
    expect(() => bn.apply(params, x)).toThrow("pass them: apply(params, x, { state })");
    expect(() => bn.apply(params, np.zeros([2, 5]), { state })).toThrow("BatchNorm(3) expects inputs rank >= 2 with 3 features on axis 1, got [2, 5]");
    expect(() => nn.BatchNorm(3, { momentum: 1.5 })).toThrow(ArgumentError);
    const seq = nn.Sequential([nn.Linear(3, 3), nn.BatchNorm(3)]);
    expect(seq.stateful).toBe(true);
    expect(() => seq.apply(seq.init(key(0)).params, np.zeros([2, 3]), { train: true })).toThrow(ArgumentError);
  });

  it("normalises the last axis with axis: -1, and its gradients hold no gradient through the running statistics", () => {
    const bn = nn.BatchNorm(4, { axis: -1 });
    const { params, state } = bn.init(key(0));
    const h = random.normal(key(2), [8, 5, 4]);
    const [y] = bn.applyWithState(params, state, h, { train: true });
    expectAllclose(np.mean(y, [0, 1]), np.zeros([4]), { atol: 1e-5 });
    const loss = (p: typeof params) => {
      const [out, s] = bn.applyWithState(p, state, h, { train: true });
      return np.sum(np.square(out)).add(np.sum(s.mean));
    };
    expectAllclose(jit(grad(loss))(params), grad(loss)(params), { atol: 1e-4 });
  });
});

describe("Dropout", () => {
  const d = nn.Dropout(0.5);
  const x = np.ones([1000]);

  it("same key → same mask, different keys differ, kept values scaled by 1/(1 − rate)", () => {
    const a = d.apply({}, x, { train: true, key: key(1) });
    const b = d.apply({}, x, { train: true, key: key(1) });
    const c = d.apply({}, x, { train: true, key: key(2) });
    expect(a.tolist()).toEqual(b.tolist());
    expect(a.tolist()).not.toEqual(c.tolist());
    const v = vals(a);
    expect(v.every((t) => t === 0 || t === 2)).toBe(true);
    const kept = v.filter((t) => t === 2).length / v.length;
    expect(kept).toBeGreaterThan(0.44);
    expect(kept).toBeLessThan(0.56);
    const d3 = nn.Dropout(0.25).apply({}, np.ones([4000]), { train: true, key: key(3) });
    expect(np.mean(d3).item()).toBeCloseTo(1, 1);
    expect(vals(d3).filter((t) => t !== 0).every((t) => Math.abs(t - 4 / 3) < 1e-6)).toBe(true);
  });

  it("is the identity in eval mode, rate 0 and without train; zero at rate 1; needs a key in train mode", () => {
    expect(d.apply({}, x).tolist()).toEqual(x.tolist());
    expect(nn.Dropout(0).apply({}, x, { train: true }).tolist()).toEqual(x.tolist());
    expect(np.sum(nn.Dropout(1).apply({}, x, { train: true, key: key(0) })).item()).toBe(0);
    expect(() => d.apply({}, x, { train: true })).toThrow("Dropout(0.5): train mode draws a random mask, so it needs a PRNG key");
    expect(() => nn.Dropout(1.5)).toThrow(ArgumentError);
    expect(() => d.apply({}, x, { train: true, key: 3 as never })).toThrow("PRNG key");
  });

  it("Sequential gives each Dropout its own key from random.split", () => {
    const seq = nn.Sequential([nn.Dropout(0.5), nn.Dropout(0.5)]);
    const y = seq.apply([{}, {}], x, { train: true, key: key(4) });
    const [k0, k1] = [random.split(key(4), 2).slice(0), random.split(key(4), 2).slice(1)];
    const byHand = d.apply({}, d.apply({}, x, { train: true, key: k0 }), { train: true, key: k1 });
    expect(y.tolist()).toEqual(byHand.tolist());
  });
});

describe("LayerNorm and Embedding", () => {
  it("LayerNorm normalises each example's trailing axes, then scales and shifts", () => {
    const ln = nn.LayerNorm(5);
    const { params } = ln.init(key(0));
    const x = random.normal(key(1), [3, 4, 5]).mul(3).add(2);
    const y = ln.apply(params, x);
    expectAllclose(np.mean(y, -1), np.zeros([3, 4]), { atol: 1e-5 });
    expectAllclose(np.variance(y, -1), np.ones([3, 4]), { atol: 1e-3 });
    const ln2 = nn.LayerNorm([4, 5]);
    const p2 = { scale: np.full([4, 5], 2), bias: np.ones([4, 5]) };
    expectAllclose(np.mean(ln2.apply(p2, x), [1, 2]), np.ones([3]), { atol: 1e-5 });
    expect(() => ln.apply(params, np.zeros([2, 6]))).toThrow("LayerNorm(5) expects inputs [..., 5], got [2, 6]");
  });

  it("Embedding looks up rows of the table by int32 id, and attend is x·tableᵀ", () => {
    const emb = nn.Embedding(10, 4);
    const { params } = emb.init(key(0));
    const ids = np.array([[1, 9], [0, 1]], { dtype: "int32" });
    const e = emb.apply(params, ids);
    expect(e.shape).toEqual([2, 2, 4]);
    expectAllclose(e.slice(0, 0), params.table.slice(1));
    expectAllclose(e.slice(1, 1), params.table.slice(1));
    expectAllclose(emb.attend(params, e), np.matmul(e, params.table.T), { atol: 1e-5 });
    const g = grad((t: Array) => np.sum(emb.apply({ table: t }, ids)))(params.table);
    expect(np.sum(g, 1).tolist()).toEqual([4, 8, 0, 0, 0, 0, 0, 0, 0, 4]);
    expect(() => emb.apply(params, np.array([1, 2]))).toThrow(DTypeError);
    expect(() => emb.apply(params, np.array([1, 2]))).toThrow('expects integer ids (int32), got f32[2]');
  });
});

describe("a CNN training step", () => {
  const model = nn.Sequential([
    nn.Conv2d(1, 4, 3, { padding: "SAME", kernelInit: nn.initializers.xavierUniform() }), nn.BatchNorm(4), nn.relu, nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.25), nn.Linear(4 * 4 * 4, 10, { kernelInit: nn.initializers.xavierUniform() }),
  ]);
  const { params, state } = model.init(key(0));
  const x = random.normal(key(1), [6, 1, 8, 8]);
  const labels = np.array([1, 2, 3, 4, 5, 6], { dtype: "int32" });
  type P = typeof params;
  type S = typeof state;
  const step = (p: P, s: S, xb: Array, yb: Array, k: Array) =>
    valueAndGrad((q: P) => {
      const [logits, ns] = model.applyWithState(q, s, xb, { train: true, key: k });
      return [np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits, yb)).add(nn.l2Penalty(q).mul(1e-3)), ns] as [Array, S];
    }, { hasAux: true })(p);

  it("jit(grad) over the params equals grad, and the state updates agree", () => {
    const [[l, s], g] = step(params, state, x, labels, key(5));
    const [[lj, sj], gj] = jit(step)(params, state, x, labels, key(5));
    expect(lj.item()).toBeCloseTo(l.item(), 4);
    expectAllclose(gj, g, { atol: 1e-4, rtol: 1e-3 });
    expectAllclose(sj, s, { atol: 1e-6 });
    expect(model.apply(params, x, { state: s }).shape).toEqual([6, 10]);
  });

  it("compiles to wasm kernels: nothing, not even the dropout PRNG (threefry2x32), runs on the host", () => {
    const text = jit(step).lower(params, state, x, labels, key(5)).text();
    expect(text.split("\n").filter((line) => line.includes("HOST FALLBACK"))).toEqual([]);
    expect(text).toContain("conv2d");
  });
});
