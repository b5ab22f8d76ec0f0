// Tests of the layer protocol and the dense layers: Linear/Flatten/Sequential
// shapes and values, jit(grad) = grad over a model's params, key splitting,
// per-layer apply options routed through Sequential (masks, graph edges),
// the typed errors for wrong shapes and misuse, the summary text (with state), l2Penalty,
// and the initializers' statistics (variance scaling fans, orthogonality).

import { describe, expect, it } from "vitest";
import { np, random, grad, jit, vmap, tree, type Array } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, OptionsError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";

const key = (seed: number) => random.key(seed);
const stats = (x: Array) => {
  const v = globalThis.Array.from(x.dataSync() as Float32Array);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance, min: Math.min(...v), max: Math.max(...v) };
};

describe("Linear", () => {
  it("computes x·W + b over the last axis, with any leading axes", () => {
    const lin = nn.Linear(3, 2);
    const { params, state } = lin.init(key(0));
    expect(params.weight.shape).toEqual([3, 2]);
    expect(params.bias!.shape).toEqual([2]);
    expect(state).toEqual({});
    const x = random.normal(key(1), [5, 4, 3]);
    const y = lin.apply(params, x);
    expect(y.shape).toEqual([5, 4, 2]);
    expectAllclose(y, np.add(np.matmul(x, params.weight), params.bias!), { atol: 1e-5 });
  });

  it("without bias has only a weight", () => {
    const lin = nn.Linear(4, 2, { bias: false, kernelInit: nn.initializers.ones });
    const { params } = lin.init(key(0));
    expect(Object.keys(params)).toEqual(["weight"]);
    expect(lin.apply(params, np.ones([1, 4])).tolist()).toEqual([[4, 4]]);
    expect(String(lin)).toBe("Linear(4→2, bias=false)");
  });

  it("names the layer, the expected and the actual shape on a wrong input", () => {
    const lin = nn.Linear(784, 128);
    const { params } = lin.init(key(0));
    expect(() => lin.apply(params, np.zeros([32, 100]))).toThrow(ShapeError);
    expect(() => lin.apply(params, np.zeros([32, 100]))).toThrow("Linear(784→128) expects inputs [..., 784], got [32, 100]");
  });

  it("rejects bad hyperparameters, options and non-array inputs with typed errors", () => {
    expect(() => nn.Linear(0, 3)).toThrow(ArgumentError);
    expect(() => nn.Linear(2.5, 3)).toThrow("inFeatures must be a positive integer");
    expect(() => nn.Linear(2, 3, { bais: false } as never)).toThrow(OptionsError);
    const lin = nn.Linear(2, 3);
    const { params } = lin.init(key(0));
    expect(() => lin.apply(params, [[1, 2]] as never)).toThrow("wrap it with np.array");
    expect(() => lin.apply(params, np.ones([1, 2]), { trian: true } as never)).toThrow(OptionsError);
    expect(() => lin.init(3 as never)).toThrow("key must be a PRNG key");
  });
});

describe("Sequential", () => {
  const model = nn.Sequential([nn.Flatten(), nn.Linear(12, 8), nn.relu, nn.Linear(8, 3)]);

  it("chains layers and functions; params and state are per-child lists", () => {
    const { params, state } = model.init(key(0));
    expect(params.length).toBe(4);
    expect(params[0]).toEqual({});
    expect(params[1].weight.shape).toEqual([12, 8]);
    expect(state).toEqual([{}, {}, {}, {}]);
    const x = random.normal(key(1), [5, 3, 4]);
    const byHand = np.add(np.matmul(nn.relu(np.add(np.matmul(x.reshape([5, 12]), params[1].weight), params[1].bias!)), params[3].weight), params[3].bias!);
    expectAllclose(model.apply(params, x), byHand, { atol: 1e-5 });
    const [y, newState] = model.applyWithState(params, state, x, { train: true, key: key(2) });
    expectAllclose(y, byHand, { atol: 1e-5 });
    expect(newState).toEqual(state);
  });

  it("init splits the key per child: different layers get different weights, and the same key the same model", () => {
    const twin = nn.Sequential([nn.Linear(4, 4), nn.Linear(4, 4)]);
    const a = twin.init(key(7)).params;
    const b = twin.init(key(7)).params;
    expect(a[0].weight.tolist()).toEqual(b[0].weight.tolist());
    expect(a[0].weight.tolist()).not.toEqual(a[1].weight.tolist());
    const child = random.split(key(7), 2).slice(1);
    expect(a[1].weight.tolist()).toEqual(nn.Linear(4, 4).init(child).params.weight.tolist());
  });

  it("jit(grad(loss)) over the params equals grad(loss), and vmap over examples works", () => {
    const { params } = model.init(key(0));
    const x = random.normal(key(1), [6, 12]);
    const t = random.normal(key(2), [6, 3]);
    const loss = (p: typeof params) => nn.mse(model.apply(p, x), t);
    const g = grad(loss)(params);
    const gj = jit(grad(loss))(params);
    expect(tree.structure(gj).equals(tree.structure(params))).toBe(true);
    expectAllclose(gj, g, { atol: 1e-5, rtol: 1e-5 });
    const perExample = vmap((xi: Array) => model.apply(params, xi.reshape([1, 12])), { inAxes: 0 })(x);
    expectAllclose(perExample.reshape([6, 3]), model.apply(params, x), { atol: 1e-5 });
  });

  it("vmaps over init and apply: an ensemble of models from a stack of keys", () => {
    const keys = random.split(key(0), 3);
    const stacked = vmap((k: Array) => model.init(k).params)(keys);
    expect(stacked[1].weight.shape).toEqual([3, 12, 8]);
    const x = random.normal(key(1), [2, 12]);
    const ys = vmap((p: typeof stacked) => model.apply(p, x))(stacked);
    expect(ys.shape).toEqual([3, 2, 3]);
    expectAllclose(ys.slice(2), model.apply(model.init(keys.slice(2)).params, x), { atol: 1e-5 });
  });

  it("reports the failing child's shape error and an uncalled factory", () => {
    const { params } = model.init(key(0));
    expect(() => model.apply(params, np.zeros([2, 13]))).toThrow("Linear(12→8) expects inputs [..., 12], got [2, 13]");
    const bad = nn.Sequential([nn.Flatten as never, nn.Linear(4, 2)]);
    const p = bad.init(key(0)).params;
    expect(() => bad.apply(p, np.zeros([2, 4]))).toThrow("layer factory");
    expect(() => nn.Sequential([3 as never])).toThrow(ArgumentError);
    expect(() => model.apply([] as never, np.zeros([2, 12]))).toThrow("one entry per layer (4)");
  });

  it("prints its tree, and a summary with shapes and counts (from init when params are not given)", () => {
    expect(String(model)).toBe("Sequential(\n  (0) Flatten()\n  (1) Linear(12→8)\n  (2) relu\n  (3) Linear(8→3)\n)");
    const s = model.summary();
    expect(s).toBe(model.summary(model.init(key(3)).params));
    const lines = s.split("\n");
    expect(lines[0]).toMatch(/^layer\s+parameters\s+count$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\(1\) Linear\(12→8\)\s+weight f32\[12,8\], bias f32\[8\]\s+104$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\(2\) relu\s+0$/));
    expect(lines).toContainEqual(expect.stringMatching(/^Sequential\s+131$/));
    expect(lines[lines.length - 1]).toBe("Total parameters: 131");
  });
});

describe("Sequential's per-layer options", () => {
  const x = random.normal(key(1), [2, 5, 8]);

  it("gives a child its own apply options by index: a causal mask reaches the attention layer", () => {
    const model = nn.Sequential([nn.LayerNorm(8), nn.MultiHeadAttention(8, 2), nn.Linear(8, 4)]);
    const { params } = model.init(key(0));
    const attention = model.children[1][1] as ReturnType<typeof nn.MultiHeadAttention>;
    const byHand = (opts: { isCausal?: boolean }) =>
      (model.children[2][1] as ReturnType<typeof nn.Linear>).apply(params[2], attention.apply(params[1], (model.children[0][1] as ReturnType<typeof nn.LayerNorm>).apply(params[0], x), opts));
    const causal = model.apply(params, x, { layerOptions: { 1: { isCausal: true } } });
    expectAllclose(causal, byHand({ isCausal: true }), { atol: 1e-5 });
    expectAllclose(model.apply(params, x), byHand({}), { atol: 1e-5 });
    // causality: the first position's output does not depend on later inputs
    const later = np.concatenate([x.slice([0, 2], [0, 4]), np.full([2, 1, 8], 7)], 1);
    expectAllclose(model.apply(params, later, { layerOptions: { 1: { isCausal: true } } }).slice([0, 2], [0, 4]), causal.slice([0, 2], [0, 4]), { atol: 1e-5 });
    // under jit, as a training step would run it
    const f = jit((p: typeof params, v: Array) => model.apply(p, v, { layerOptions: { 1: { isCausal: true } } }));
    expectAllclose(f(params, x), causal, { atol: 1e-5 });
  });

  it("passes graph edges to each GCN layer, and reaches into a nested Sequential", () => {
    const edges = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]], { dtype: "int32" });
    const gcn = nn.Sequential([nn.GCNConv(3, 4), nn.relu, nn.GCNConv(4, 2)]);
    const { params } = gcn.init(key(2));
    const feats = random.normal(key(3), [4, 3]);
    const [g0, , g2] = gcn.children.map(([, c]) => c) as [ReturnType<typeof nn.GCNConv>, unknown, ReturnType<typeof nn.GCNConv>];
    const expected = g2.apply(params[2], nn.relu(g0.apply(params[0], feats, { edges })), { edges });
    expectAllclose(gcn.apply(params, feats, { layerOptions: { 0: { edges }, 2: { edges } } }), expected, { atol: 1e-5 });

    const outer = nn.Sequential([gcn, nn.Linear(2, 1)]);
    const po = outer.init(key(4)).params;
    const nested = outer.apply(po, feats, { layerOptions: { 0: { layerOptions: { 0: { edges }, 2: { edges } } } } });
    expectAllclose(nested, (outer.children[1][1] as ReturnType<typeof nn.Linear>).apply(po[1], gcn.apply(po[0], feats, { layerOptions: { 0: { edges }, 2: { edges } } })), { atol: 1e-5 });
  });

  it("keeps train and the key at the Sequential: dropout still gets a split key with layer options given", () => {
    const model = nn.Sequential([nn.MultiHeadAttention(8, 2), nn.Dropout(0.5)]);
    const { params } = model.init(key(0));
    const a = model.apply(params, x, { train: true, key: key(9), layerOptions: { 0: { isCausal: true } } });
    const b = model.apply(params, x, { train: true, key: key(9), layerOptions: { 0: { isCausal: true } } });
    expectAllclose(a, b, { atol: 0 });
    const zeros = (a.dataSync() as Float32Array).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(10); // about half of the 80 outputs are dropped
  });

  it("rejects options for a missing index, a plain function, shared options and unknown child options", () => {
    const model = nn.Sequential([nn.MultiHeadAttention(8, 2), nn.relu]);
    const { params } = model.init(key(0));
    expect(() => model.apply(params, x, { layerOptions: { 2: {} } as never })).toThrow('Sequential: layerOptions has key "2", but the layers are indexed 0..1');
    expect(() => model.apply(params, x, { layerOptions: { 1: { isCausal: true } } as never })).toThrow("child 1 (relu) is a plain function that takes no options");
    expect(() => model.apply(params, x, { layerOptions: { 0: { key: key(1) } } as never })).toThrow(/layerOptions\[0\] sets "key", which the Sequential owns/);
    expect(() => model.apply(params, x, { layerOptions: { 0: 3 } as never })).toThrow(ArgumentError);
    expect(() => model.apply(params, x, { layerOptions: { 0: { maks: x } } as never })).toThrow(OptionsError);
    expect(() => model.apply(params, x, { layerOptions: "causal" as never })).toThrow(OptionsError);
  });
});

describe("summary with state", () => {
  it("shows BatchNorm's running statistics beside the parameters, with counts and a state total", () => {
    const model = nn.Sequential([nn.Linear(4, 3), nn.BatchNorm(3), nn.relu]);
    const { params, state } = model.init(key(0));
    const s = model.summary();
    expect(s).toBe(model.summary(params, state));
    expect(s).toBe(model.summary(params)); // the state's shapes come from init when not given
    const lines = s.split("\n");
    expect(lines[0]).toMatch(/^layer\s+parameters\s+count\s+state\s+count$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\(1\) BatchNorm\(3\)\s+scale f32\[3\], bias f32\[3\]\s+6\s+mean f32\[3\], var f32\[3\]\s+6$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\(0\) Linear\(4→3\)\s+weight f32\[4,3\], bias f32\[3\]\s+15$/));
    expect(lines).toContainEqual(expect.stringMatching(/^Sequential\s+21\s+6$/));
    expect(lines.slice(-2)).toEqual(["Total parameters: 21", expect.stringMatching(/^Total state: 6 \(not trained/)]);
    // a stateless model keeps the three-column table
    expect(nn.Linear(4, 3).summary().split("\n")[0]).toMatch(/^layer\s+parameters\s+count$/);
  });
});

describe("l2Penalty", () => {
  it("sums the squares of weights, not biases, unless a filter says otherwise", () => {
    const params = { w: np.full([2, 2], 2), bias: np.ones([2]), layer: { scale: np.full([3, 3], 5), weight: np.ones([1, 3]) } };
    expect(nn.l2Penalty(params).item()).toBeCloseTo(16 + 3);
    expect(nn.l2Penalty(params, { filter: () => true }).item()).toBeCloseTo(16 + 2 + 225 + 3);
    const g = grad((p: typeof params) => nn.l2Penalty(p))(params);
    expect(g.w.tolist()).toEqual([[4, 4], [4, 4]]);
    expect(g.bias.tolist()).toEqual([0, 0]);
    expect(() => nn.l2Penalty({ a: "x" })).toThrow(ArgumentError);
  });
});

describe("initializers", () => {
  const I = nn.initializers;

  it("computes fans as JAX: dense [in, out], HWIO conv kernels, explicit axes for OIHW", () => {
    expect(I.computeFans([300, 200])).toEqual([300, 200]);
    expect(I.computeFans([3, 3, 16, 32])).toEqual([144, 288]);
    expect(I.computeFans([32, 16, 3, 3], { inAxis: 1, outAxis: 0 })).toEqual([144, 288]);
    expect(() => I.computeFans([5])).toThrow(ShapeError);
  });

  const cases: [string, nn.initializers.Initializer, number[], number, "uniform" | "normal"][] = [
    ["xavierUniform", I.xavierUniform(), [400, 300], 2 / 700, "uniform"],
    ["glorotNormal", I.glorotNormal(), [400, 300], 2 / 700, "normal"],
    ["heUniform", I.heUniform(), [400, 300], 2 / 400, "uniform"],
    ["heNormal (conv HWIO)", I.heNormal(), [3, 3, 64, 128], 2 / 576, "normal"],
    ["lecunUniform", I.lecunUniform(), [400, 300], 1 / 400, "uniform"],
    ["lecunNormal", I.lecunNormal(), [400, 300], 1 / 400, "normal"],
    ["normal", I.normal({ stddev: 0.1 }), [300, 400], 0.01, "normal"],
  ];
  for (const [name, init, shape, variance, kind] of cases) {
    it(`${name} has mean 0 and variance ${variance.toPrecision(3)} over ${shape.join("×")}`, () => {
      const s = stats(init(key(11), shape));
      expect(Math.abs(s.mean)).toBeLessThan(0.02 * Math.sqrt(variance)); // about 7 standard errors of the mean
      expect(s.variance / variance).toBeGreaterThan(0.96);
      expect(s.variance / variance).toBeLessThan(1.04);
      const limit = kind === "uniform" ? Math.sqrt(3 * variance) : name === "normal" ? Infinity : (2 * Math.sqrt(variance)) / 0.87962566103423978;
      expect(Math.max(-s.min, s.max)).toBeLessThanOrEqual(limit * (1 + 1e-6));
    });
  }

  it("uniform is in [0, scale), constants fill, and every initializer is a pure function of its key", () => {
    const u = stats(I.uniform({ scale: 0.5 })(key(1), [1000]));
    expect(u.min).toBeGreaterThanOrEqual(0);
    expect(u.max).toBeLessThan(0.5);
    expect(I.zeros(key(0), [2]).tolist()).toEqual([0, 0]);
    expect(I.ones(key(0), [2]).tolist()).toEqual([1, 1]);
    expect(I.constant(3)(key(0), [2]).tolist()).toEqual([3, 3]);
    expect(I.xavierUniform()(key(4), [3, 3]).tolist()).toEqual(I.xavierUniform()(key(4), [3, 3]).tolist());
    expect(jit((k: Array) => I.heNormal()(k, [4, 5]))(key(4)).tolist()).toEqual(I.heNormal()(key(4), [4, 5]).tolist());
    expect(() => I.heNormal()(key(0), [3])).toThrow(ShapeError);
    expect(() => I.normal()(key(0), [3], "int32")).toThrow("floating dtype");
  });

  it("orthogonal gives QᵀQ = I for tall and QQᵀ = I for wide shapes, scaled, and for conv kernels", () => {
    const tall = I.orthogonal()(key(5), [64, 32]);
    expectAllclose(np.matmul(tall.T, tall), np.eye(32), { atol: 1e-5 });
    const wide = I.orthogonal({ scale: 2 })(key(6), [8, 20]);
    expectAllclose(np.matmul(wide, wide.T), np.multiply(np.eye(8), 4), { atol: 1e-4 });
    const kernel = I.orthogonal()(key(7), [3, 3, 4, 16]).reshape([36, 16]);
    expectAllclose(np.matmul(kernel.T, kernel), np.eye(16), { atol: 1e-5 });
    const square = I.orthogonal()(key(8), [50, 50]);
    expectAllclose(np.matmul(square.T, square), np.eye(50), { atol: 1e-5 });
    // columns of a Haar matrix have mean-square 1/n entries
    expect(stats(square).variance * 50).toBeCloseTo(1, 1);
  });
});
