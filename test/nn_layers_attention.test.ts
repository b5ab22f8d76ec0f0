// Tests of MultiHeadAttention: agreement with nn.dotProductAttention over the
// same projections, the causal mask (no gradient from the future), masks and
// key padding masks, cross-attention, attention dropout's key discipline, and
// a Transformer-block training step (jit(grad) = grad, wasm kernels only).

import { describe, expect, it } from "vitest";
import { np, random, grad, jit, valueAndGrad, vmap, type Array } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, DTypeError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";

const key = (seed: number) => random.key(seed);
const B = 2, T = 5, D = 8, H = 2;
const mha = nn.MultiHeadAttention(D, H);
const params = mha.init(key(0)).params;
const x = random.normal(key(1), [B, T, D]);
const lin = (p: nn.LinearParams, v: Array) => np.add(np.matmul(v, p.weight), p.bias!);

/** The same attention through nn.dotProductAttention. */
function reference(q: Array, kv: Array, opts: nn.AttentionOptions = {}): Array {
  const heads = (t: Array) => t.reshape([t.shape[0], t.shape[1], H, D / H]);
  const out = nn.dotProductAttention(heads(lin(params.query, q)), heads(lin(params.key, kv)), heads(lin(params.value, kv)), opts);
  return lin(params.out, out.reshape([q.shape[0], q.shape[1], D]));
}

describe("MultiHeadAttention", () => {
  it("self-attention equals dotProductAttention over the same projections, with and without a causal mask", () => {
    expect(mha.apply(params, x).shape).toEqual([B, T, D]);
    expectAllclose(mha.apply(params, x), reference(x, x), { atol: 1e-5 });
    expectAllclose(mha.apply(params, x, { isCausal: true }), reference(x, x, { isCausal: true }), { atol: 1e-5 });
    expect(Object.keys(params).sort()).toEqual(["key", "out", "query", "value"]);
    expect(params.query.weight.shape).toEqual([D, D]);
  });

  it("causal: output t gets no information (zero gradient) from inputs after t", () => {
    for (const t of [0, 2, 4]) {
      const g = grad((xx: Array) => np.sum(mha.apply(params, xx, { isCausal: true }).slice(":", t)))(x);
      const perStep = np.sum(np.abs(g), [0, 2]).tolist() as number[];
      perStep.forEach((v, s) => (s > t ? expect(v).toBe(0) : expect(v).toBeGreaterThan(0)));
    }
  });

  it("a boolean mask and a key padding mask hide keys; padded keys do not change the output", () => {
    const kpm = np.array([[true, true, true, false, false], [true, true, true, true, true]]);
    const y = mha.apply(params, x, { keyPaddingMask: kpm });
    const changed = x.at(0, [3, null]).set(100);
    const y2 = mha.apply(params, changed, { keyPaddingMask: kpm });
    // batch 0's outputs at real positions only see keys 0..2, which did not change
    expectAllclose(y.slice(0, [0, 3]), y2.slice(0, [0, 3]), { atol: 1e-5 });
    const asMask = np.broadcastTo(kpm.reshape([B, 1, 1, T]), [B, H, T, T]);
    expectAllclose(y, reference(x, x, { mask: asMask }), { atol: 1e-5 });
    const tri = np.greaterEqual(np.arange(T).reshape([T, 1]), np.arange(T).reshape([1, T]));
    expectAllclose(mha.apply(params, x, { mask: tri }), mha.apply(params, x, { isCausal: true }), { atol: 1e-6 });
    expectAllclose(mha.apply(params, x, { mask: tri, keyPaddingMask: kpm }), reference(x, x, { mask: np.logicalAnd(asMask, tri), isCausal: false }), { atol: 1e-5 });
  });

  it("cross-attention takes keys and values from the context", () => {
    const ctx = random.normal(key(2), [B, 7, D]);
    const y = mha.apply(params, x, { context: ctx });
    expect(y.shape).toEqual([B, T, D]);
    expectAllclose(y, reference(x, ctx), { atol: 1e-5 });
  });

  it("works unbatched and under vmap over the batch", () => {
    const per = vmap((xi: Array) => mha.apply(params, xi, { isCausal: true }))(x);
    expectAllclose(per, mha.apply(params, x, { isCausal: true }), { atol: 1e-5 });
  });

  it("attention dropout: identity in eval, same key same output, needs a key in train mode", () => {
    const drop = nn.MultiHeadAttention(D, H, { dropout: 0.5 });
    const p = drop.init(key(0)).params;
    expectAllclose(drop.apply(p, x), mha.apply(p, x), { atol: 1e-6 });
    const a = drop.apply(p, x, { train: true, key: key(3) });
    expect(a.tolist()).toEqual(drop.apply(p, x, { train: true, key: key(3) }).tolist());
    expect(a.tolist()).not.toEqual(drop.apply(p, x, { train: true, key: key(4) }).tolist());
    expect(() => drop.apply(p, x, { train: true })).toThrow("needs a PRNG key");
  });

  it("names the layer on wrong shapes, masks and hyperparameters", () => {
    expect(() => mha.apply(params, np.zeros([2, 5, 6]))).toThrow("MultiHeadAttention(dModel=8, heads=2) expects inputs [batch, seq, 8], got [2, 5, 6]");
    expect(() => mha.apply(params, x, { context: np.zeros([3, 4, D]) })).toThrow("expects context [2, keyLen, 8], got [3, 4, 8]");
    expect(() => mha.apply(params, x, { mask: np.ones([T, T]) })).toThrow(DTypeError);
    expect(() => mha.apply(params, x, { mask: np.ones([3, 3], { dtype: "bool" }) })).toThrow("does not broadcast");
    expect(() => mha.apply(params, x, { keyPaddingMask: np.ones([B, 4], { dtype: "bool" }) })).toThrow(ShapeError);
    expect(() => mha.apply(params, x, { casual: true } as never)).toThrow('unknown option "casual"');
    expect(() => nn.MultiHeadAttention(10, 3)).toThrow(ArgumentError);
    expect(mha.summary(params)).toContain("(query) Linear(8→8)");
  });
});

describe("a Transformer-block training step", () => {
  const V = 11;
  const emb = nn.Embedding(V, D);
  const ln1 = nn.LayerNorm(D);
  const ln2 = nn.LayerNorm(D);
  const ff = nn.Sequential([nn.Linear(D, 4 * D), nn.gelu, nn.Linear(4 * D, D)]);
  const head = nn.Linear(D, V);
  const init = () => {
    const ks = random.split(key(9), 6);
    return { emb: emb.init(ks.slice(0)).params, ln1: ln1.init(ks.slice(1)).params, attn: mha.init(ks.slice(2)).params, ln2: ln2.init(ks.slice(3)).params, ff: ff.init(ks.slice(4)).params, head: head.init(ks.slice(5)).params };
  };
  const p0 = init();
  type P = typeof p0;
  const tokens = random.randint(key(3), [B, T], 0, V);
  const targets = random.randint(key(4), [B, T], 0, V);
  const loss = (p: P, ids: Array, tgt: Array) => {
    let h = emb.apply(p.emb, ids);
    h = h.add(mha.apply(p.attn, ln1.apply(p.ln1, h), { isCausal: true }));
    h = h.add(ff.apply(p.ff, ln2.apply(p.ln2, h)));
    return np.mean(nn.softmaxCrossEntropyWithIntegerLabels(head.apply(p.head, h), tgt));
  };

  it("jit(grad) over the params equals grad", () => {
    const [l, g] = valueAndGrad(loss)(p0, tokens, targets);
    const [lj, gj] = jit(valueAndGrad(loss))(p0, tokens, targets);
    expect(lj.item()).toBeCloseTo(l.item(), 4);
    expectAllclose(gj, g, { atol: 1e-4, rtol: 1e-3 });
  });

  it("compiles without host fallbacks", () => {
    const text = jit(valueAndGrad(loss)).lower(p0, tokens, targets).text();
    expect(text.split("\n").filter((line) => line.includes("HOST FALLBACK"))).toEqual([]);
  });
});
