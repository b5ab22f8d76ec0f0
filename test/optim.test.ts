// Tests of tinyflow/optim: the first steps of sgd (plain, momentum,
// nesterov), adam, adamw and rmsprop against hand-computed updates, schedules
// at known points, clipByGlobalNorm, chain, jit of a whole training step, and
// convergence on a small least-squares problem for every optimizer.

import { describe, expect, it } from "vitest";
import { np, grad, jit, valueAndGrad } from "../src/index";
import * as optim from "../src/optim";
import { ArgumentError, ShapeError, type Tracer } from "../src/core";

const f32 = (d: any): Tracer => np.array(d, { dtype: "float32" });
const vals = (x: Tracer): number[] => Array.from(x.dataSync() as ArrayLike<number>);
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

type P = { w: Tracer };

/** Run `steps` updates with gradient gFn(params) and return the parameter history. */
function run(opt: optim.GradientTransformation, w0: number[], gFn: (w: number[]) => number[], steps: number): number[][] {
  let params: P = { w: f32(w0) };
  let state = opt.init(params);
  const hist: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const g = { w: f32(gFn(vals(params.w))) };
    const [updates, s] = opt.update(g, state, params);
    state = s;
    params = optim.applyUpdates(params, updates);
    hist.push(vals(params.w));
  }
  return hist;
}

describe("optimizer steps vs hand-computed updates", () => {
  const g = [0.5, -1];
  const constG = () => g;

  it("sgd", () => {
    const h = run(optim.sgd(0.1), [1, 2], constG, 2);
    close(h[0], [0.95, 2.1]);
    close(h[1], [0.9, 2.2]);
  });

  it("sgd with momentum", () => {
    const h = run(optim.sgd(0.1, { momentum: 0.9 }), [1, 2], constG, 3);
    // traces: g, 1.9 g, 2.71 g
    close(h[0], [1 - 0.05, 2 + 0.1]);
    close(h[1], [0.95 - 0.19 * 0.5, 2.1 + 0.19]);
    close(h[2], [0.855 - 0.271 * 0.5, 2.29 + 0.271]);
  });

  it("sgd with nesterov momentum", () => {
    const h = run(optim.sgd(0.1, { momentum: 0.9, nesterov: true }), [1, 2], constG, 2);
    close(h[0], [1 - 0.19 * 0.5, 2 + 0.19]);
    close(h[1], [h[0][0] - 0.271 * 0.5, h[0][1] + 0.271]);
  });

  it("adam (bias-corrected moments, gradients that change every step)", () => {
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const gFn = (w: number[]) => w.map((x) => 2 * x); // d/dw of Σ w²
    const h = run(optim.adam(lr), [1, -3], gFn, 3);
    // reference in float64
    let w = [1, -3];
    let m = [0, 0];
    let v = [0, 0];
    for (let t = 1; t <= 3; t++) {
      const gr = gFn(w);
      m = m.map((mi, i) => b1 * mi + (1 - b1) * gr[i]);
      v = v.map((vi, i) => b2 * vi + (1 - b2) * gr[i] ** 2);
      w = w.map((wi, i) => wi - (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps));
      close(h[t - 1], w, 1e-5);
    }
  });

  it("adamw adds decoupled weight decay", () => {
    const h = run(optim.adamw(0.1, { weightDecay: 0.5 }), [2, -4], constG, 1);
    // first Adam direction is g/|g| = sign(g); decay adds 0.5 * w
    close(h[0], [2 - 0.1 * (1 + 0.5 * 2), -4 - 0.1 * (-1 + 0.5 * -4)], 1e-5);
  });

  it("rmsprop (eps inside the root, as optax)", () => {
    const h = run(optim.rmsprop(0.01, { decay: 0.9 }), [1, 1], constG, 2);
    // nu1 = 0.1 g², nu2 = 0.19 g²
    const s1 = g.map((gi) => 0.01 * gi / Math.sqrt(0.1 * gi * gi + 1e-8));
    close(h[0], [1 - s1[0], 1 - s1[1]], 1e-5);
    const s2 = g.map((gi) => 0.01 * gi / Math.sqrt(0.19 * gi * gi + 1e-8));
    close(h[1], [h[0][0] - s2[0], h[0][1] - s2[1]], 1e-5);
  });

  it("a schedule learning rate is read at the step count (0 first)", () => {
    const h = run(optim.sgd(optim.linearSchedule(1, 0, 4)), [0, 0], () => [1, 1], 3);
    // lrs 1, 0.75, 0.5
    close(h.map((r) => r[0]), [-1, -1.75, -2.25]);
  });
});

describe("schedules", () => {
  const at = (s: optim.Schedule, c: number) => s(c).item() as number;

  it("constant, exponential decay (smooth and staircase), cosine, warmup-cosine", () => {
    expect(at(optim.constantSchedule(0.3), 100)).toBeCloseTo(0.3, 6);
    const e = optim.exponentialDecay(1, 10, 0.5);
    expect(at(e, 0)).toBeCloseTo(1, 6);
    expect(at(e, 10)).toBeCloseTo(0.5, 6);
    expect(at(e, 15)).toBeCloseTo(0.5 ** 1.5, 5);
    expect(at(optim.exponentialDecay(1, 10, 0.5, { staircase: true }), 15)).toBeCloseTo(0.5, 6);
    expect(at(optim.exponentialDecay(1, 10, 0.5, { endValue: 0.3 }), 100)).toBeCloseTo(0.3, 6);
    const c = optim.cosineDecaySchedule(2, 100);
    expect(at(c, 0)).toBeCloseTo(2, 6);
    expect(at(c, 50)).toBeCloseTo(1, 5);
    expect(at(c, 100)).toBeCloseTo(0, 6);
    expect(at(c, 300)).toBeCloseTo(0, 6);
    const w = optim.warmupCosineDecaySchedule(0, 1, 10, 110, 0.1);
    expect(at(w, 0)).toBeCloseTo(0, 6);
    expect(at(w, 5)).toBeCloseTo(0.5, 6);
    expect(at(w, 10)).toBeCloseTo(1, 6);
    expect(at(w, 60)).toBeCloseTo(0.55, 5);
    expect(at(w, 110)).toBeCloseTo(0.1, 5);
    const p = optim.piecewiseConstantSchedule(1, { 10: 0.5, 20: 0.1 });
    expect([at(p, 5), at(p, 10), at(p, 25)].map((x) => Number(x.toFixed(6)))).toEqual([1, 0.5, 0.05]);
  });

  it("schedules accept a traced int32 count under jit", () => {
    const s = optim.warmupCosineDecaySchedule(0, 1, 10, 110);
    const f = jit((c: Tracer) => s(c));
    expect((f(np.array(5, { dtype: "int32" })) as Tracer).item()).toBeCloseTo(0.5, 6);
  });
});

describe("clipping and chaining", () => {
  it("clipByGlobalNorm rescales only when the norm exceeds the limit", () => {
    const clip = optim.clipByGlobalNorm(1);
    const st = clip.init({});
    const [big] = clip.update({ a: f32([3]), b: f32([[4]]) }, st);
    close(vals(big.a), [0.6]);
    close(vals(big.b), [0.8]);
    const [small] = clip.update({ a: f32([0.3]), b: f32([[0.4]]) }, st);
    close(vals(small.a), [0.3]);
    close(vals(small.b), [0.4]);
    expect(optim.globalNorm({ a: f32([3]), b: f32([[4]]) }).item()).toBeCloseTo(5, 6);
  });

  it("chain(clipByGlobalNorm, sgd) clips before stepping", () => {
    const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd(1));
    const params = { w: f32([0, 0]) };
    const state = opt.init(params);
    const [u] = opt.update({ w: f32([30, 40]) }, state, params);
    close(vals(optim.applyUpdates(params, u).w), [-0.6, -0.8]);
  });
});

describe("training", () => {
  // Least squares: minimise mean((A x - b)^2) with solution x* = [1, -2].
  const A = f32([[1, 0], [0, 1], [1, 1], [2, -1]]);
  const xStar = [1, -2];
  const b = f32([[1, 0], [0, 1], [1, 1], [2, -1]].map((r) => r[0] * xStar[0] + r[1] * xStar[1]));
  const loss = (p: { x: Tracer }) => np.mean(np.square(np.subtract(np.matmul(A, p.x), b)));

  const cases: [string, optim.GradientTransformation, number][] = [
    ["sgd", optim.sgd(0.1), 200],
    ["sgd+momentum", optim.sgd(0.05, { momentum: 0.9 }), 200],
    ["sgd+nesterov", optim.sgd(0.05, { momentum: 0.9, nesterov: true }), 200],
    ["adam", optim.adam(0.1), 300],
    ["adamw", optim.adamw(0.1, { weightDecay: 1e-4 }), 300],
    ["rmsprop", optim.rmsprop(0.01, { momentum: 0.9 }), 300],
    ["adam+warmup-cosine", optim.adam(optim.warmupCosineDecaySchedule(0, 0.1, 20, 300)), 300],
    ["clip+sgd", optim.chain(optim.clipByGlobalNorm(1), optim.sgd(0.1)), 300],
  ];
  for (const [name, opt, steps] of cases) {
    it(`${name} converges on least squares (jitted step)`, () => {
      const step = jit((params: { x: Tracer }, state: any) => {
        const [l, g] = valueAndGrad(loss)(params);
        const [updates, s] = opt.update(g, state, params);
        return [optim.applyUpdates(params, updates), s, l];
      });
      let params = { x: f32([0, 0]) };
      let state = opt.init(params);
      const first = loss(params).item() as number;
      let last = first;
      for (let i = 0; i < steps; i++) {
        const out = step(params, state) as any;
        [params, state, last] = [out[0], out[1], out[2].item()];
      }
      expect(last).toBeLessThan(first * 1e-3);
      close(vals(params.x), xStar, 0.05);
    });
  }

  it("the state is a pytree of arrays with an int32 step count", () => {
    const opt = optim.adam(0.1);
    const params = { x: f32([0, 0]) };
    const st = opt.init(params) as any[];
    expect(st[0].count.dtype).toBe("int32");
    const [, st2] = opt.update(grad(loss)(params), st, params) as any;
    expect(st2[0].count.item()).toBe(1);
  });
});

describe("typed errors name the function", () => {
  it("bad hyper-parameters", () => {
    expect(() => optim.sgd("fast" as any)).toThrow(ArgumentError);
    expect(() => optim.adam(0.1, { b1: 1.5 })).toThrow(/optim\.scaleByAdam/);
    expect(() => optim.clipByGlobalNorm(-1)).toThrow(/optim\.clipByGlobalNorm/);
    expect(() => optim.cosineDecaySchedule(1, 0)).toThrow(/optim\.cosineDecaySchedule/);
  });
  it("mismatched trees", () => {
    const opt = optim.sgd(0.1, { momentum: 0.9 });
    const st = opt.init({ w: f32([1, 2]) });
    expect(() => opt.update({ v: f32([1, 2]) }, st)).toThrow(/optim\.trace/);
    expect(() => optim.applyUpdates({ w: f32([1, 2]) }, { w: f32([1, 2, 3]) })).toThrow(ShapeError);
    expect(() => optim.adamw(0.1).update({ w: f32([1]) }, optim.adamw(0.1).init({ w: f32([1]) }))).toThrow(/optim\.addDecayedWeights/);
    expect(() => optim.chain(optim.sgd(0.1), {} as any)).toThrow(/optim\.chain/);
  });
});
