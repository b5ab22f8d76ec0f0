// Tests of tinyflow.nn functions: activation values against hand-computed
// numbers, softmax/logsumexp stability, oneHot, standardize, attention
// against a naive JS implementation (with causal masking), losses, their
// gradients, and the typed errors for bad input.

import { describe, expect, it } from "vitest";
import { np, grad, jit, vmap } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, DTypeError, ShapeError, type Tracer } from "../src/core";
import { rng } from "./rng";

const f32 = (d: any, o?: any): Tracer => np.array(d, o ?? { dtype: "float32" });
const vals = (x: Tracer): number[] => Array.from(x.dataSync() as ArrayLike<number>);
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

describe("activations", () => {
  const xs = [-3, -1, -0.5, 0, 0.5, 1, 3, 7];
  const x = () => f32(xs);

  it("relu, relu6, leakyRelu, elu", () => {
    close(vals(nn.relu(x())), xs.map((v) => Math.max(v, 0)));
    close(vals(nn.relu6(x())), xs.map((v) => Math.min(Math.max(v, 0), 6)));
    close(vals(nn.leakyRelu(x(), 0.1)), xs.map((v) => (v >= 0 ? v : 0.1 * v)));
    close(vals(nn.elu(x())), xs.map((v) => (v > 0 ? v : Math.expm1(v))));
  });

  it("gelu matches known values (tanh approximation by default, exact erf on request)", () => {
    // jax.nn.gelu(1.0) = 0.841192, gelu(1.0, approximate=False) = 0.841345; gelu(-1) = -0.158808 / -0.158655
    close(vals(nn.gelu(f32([1, -1, 0, 2])) ), [0.8411919906082768, -0.15880800939172324, 0, 1.954597694087775], 1e-5);
    close(vals(nn.gelu(f32([1, -1, 0, 2]), { approximate: false })), [0.8413447460685428, -0.15865525393145713, 0, 1.9544997361036414], 1e-5);
  });

  it("sigmoid, silu, softplus, logSigmoid, tanh", () => {
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    close(vals(nn.sigmoid(x())), xs.map(sig));
    close(vals(nn.silu(x())), xs.map((v) => v * sig(v)));
    close(vals(nn.swish(x())), xs.map((v) => v * sig(v)));
    close(vals(nn.softplus(x())), xs.map((v) => Math.log1p(Math.exp(v))));
    close(vals(nn.logSigmoid(x())), xs.map((v) => Math.log(sig(v))));
    close(vals(nn.tanh(x())), xs.map(Math.tanh));
  });

  it("softplus and logSigmoid stay finite for large |x| and have finite gradients", () => {
    close(vals(nn.softplus(f32([-200, 200, 1e4]))), [0, 200, 1e4], 1e-6);
    close(vals(nn.logSigmoid(f32([-200, 200]))), [-200, 0], 1e-6);
    const g = vmap(grad((v: Tracer) => nn.softplus(v)))(f32([-200, 0, 200]));
    close(vals(g), [0, 0.5, 1], 1e-6);
    const ge = vmap(grad((v: Tracer) => nn.elu(v)))(f32([-100, -1, 100]));
    close(vals(ge), [Math.exp(-100), Math.exp(-1), 1], 1e-6);
  });

  it("relu's gradient is 0 at 0 and 1 above, as JAX", () => {
    const g = vmap(grad((v: Tracer) => nn.relu(v)))(f32([-1, 0, 2]));
    expect(vals(g)).toEqual([0, 0, 1]);
  });

  it("exact gelu's gradient is Φ(x) + x·φ(x)", () => {
    const pts = [-1, 0, 0.5, 2];
    const g = vmap(grad((v: Tracer) => nn.gelu(v, { approximate: false })))(f32(pts));
    const cdf = vals(nn.gelu(f32(pts), { approximate: false })).map((y, i) => (pts[i] === 0 ? 0.5 : y / pts[i]));
    close(vals(g), pts.map((p, i) => cdf[i] + (p * Math.exp(-p * p / 2)) / Math.sqrt(2 * Math.PI)), 1e-5);
  });

  it("gelu's gradient matches a central difference", () => {
    const f = (v: number) => {
      const c = Math.sqrt(2 / Math.PI);
      return 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)));
    };
    const pts = [-2, -0.3, 0.7, 1.5];
    const g = vmap(grad((v: Tracer) => nn.gelu(v)))(f32(pts));
    close(vals(g), pts.map((p) => (f(p + 1e-5) - f(p - 1e-5)) / 2e-5), 1e-3);
  });
});

describe("NaN propagates through the piecewise activations (as jax.nn)", () => {
  const x = np.array([NaN, -1, 0.5, 7]);
  for (const name of ["relu", "relu6", "hardSigmoid", "hardSilu", "hardTanh", "leakyRelu", "elu", "celu", "selu", "gelu", "silu", "softplus", "sigmoid", "logSigmoid", "softSign"] as const) {
    it(`${name}(NaN) is NaN, eagerly and under jit`, () => {
      const f = (nn as any)[name] as (t: Tracer) => Tracer;
      expect(Number.isNaN((f(x).tolist() as number[])[0])).toBe(true);
      expect(Number.isNaN((jit(f)(x).tolist() as number[])[0])).toBe(true);
      expect((f(x).tolist() as number[]).slice(1).every(Number.isFinite)).toBe(true);
    });
  }
  it("keeps relu's and relu6's gradients at the kinks", () => {
    expect((grad((t: any) => nn.relu(t).sum())(np.array([0, 1])).tolist())).toEqual([0, 1]);
    expect((grad((t: any) => nn.relu6(t).sum())(np.array([0, 6, 3])).tolist())).toEqual([0, 0, 1]);
  });
});

describe("softmax family", () => {
  it("softmax rows sum to 1 and match exp/sum", () => {
    const data = [
      [1, 2, 3],
      [-1, 0, 10],
    ];
    const s = nn.softmax(f32(data));
    const rows = s.tolist() as number[][];
    rows.forEach((r, i) => {
      expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      const e = data[i].map(Math.exp);
      const z = e.reduce((a, b) => a + b, 0);
      close(r, e.map((v) => v / z), 1e-6);
    });
    // along axis 0
    const s0 = nn.softmax(f32(data), 0).tolist() as number[][];
    for (let j = 0; j < 3; j++) expect(s0[0][j] + s0[1][j]).toBeCloseTo(1, 6);
  });

  it("softmax and logSoftmax are stable at 1e4", () => {
    const s = vals(nn.softmax(f32([1e4, 1e4, 1e4 - 1])));
    s.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    const e = Math.exp(-1);
    close(s, [1 / (2 + e), 1 / (2 + e), e / (2 + e)], 1e-6);
    const ls = vals(nn.logSoftmax(f32([1e4, 0])));
    close(ls, [0, -1e4], 1e-6);
  });

  it("logsumexp is stable at 1e4 and reduces the given axes", () => {
    const v = nn.logsumexp(f32([1e4, 1e4]));
    expect(v.item() as number).toBeCloseTo(1e4 + Math.log(2), 2);
    const m = nn.logsumexp(f32([[0, 0], [1e4, -1e4]]), 1);
    close(vals(m), [Math.log(2), 1e4], 1e-6);
    const k = nn.logsumexp(f32([[0, 0]]), 1, { keepdims: true });
    expect(k.shape).toEqual([1, 1]);
  });

  it("the gradient of logsumexp is softmax, even at 1e4", () => {
    const g = grad((x: Tracer) => nn.logsumexp(x))(f32([1e4, 1e4 - 1, 1e4 - 2]));
    const sm = vals(nn.softmax(f32([0, -1, -2])));
    close(vals(g), sm, 1e-6);
  });

  it("softmax works under jit and vmap", () => {
    const f = jit((x: Tracer) => nn.softmax(x));
    const r = f(f32([[0, 0], [0, Math.log(3)]])).tolist() as number[][];
    close(r[1], [0.25, 0.75], 1e-6);
    const vm = vmap((x: Tracer) => nn.softmax(x))(f32([[0, 0], [0, Math.log(3)]]));
    close(vals(vm), [0.5, 0.5, 0.25, 0.75], 1e-6);
  });
});

describe("oneHot and standardize", () => {
  it("oneHot builds the identity rows and zeros for out-of-range labels", () => {
    const o = nn.oneHot(f32([0, 2, 5, -1], { dtype: "int32" }), 3);
    expect(o.dtype).toBe("float32");
    expect(o.tolist()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const oi = nn.oneHot(f32([[1], [0]], { dtype: "int32" }), 2, { dtype: "int32" });
    expect(oi.shape).toEqual([2, 1, 2]);
    expect(oi.dtype).toBe("int32");
    const o0 = nn.oneHot(f32([1, 0], { dtype: "int32" }), 3, { axis: 0 });
    expect(o0.tolist()).toEqual([
      [0, 1],
      [1, 0],
      [0, 0],
    ]);
  });

  it("standardize gives zero mean and unit variance", () => {
    const s = nn.standardize(f32([[1, 2, 3, 4], [10, 10, 10, 14]]));
    const rows = s.tolist() as number[][];
    for (const r of rows) {
      const mean = r.reduce((a, b) => a + b, 0) / r.length;
      const v = r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length;
      expect(mean).toBeCloseTo(0, 5);
      expect(v).toBeCloseTo(1, 3);
    }
    close(vals(nn.normalize(f32([1, 3]), -1, { epsilon: 0 })), [-1, 1], 1e-6);
  });
});

// --- attention ---------------------------------------------------------------------

function naiveAttention(q: number[][][][], k: number[][][][], v: number[][][][], opts: { causal?: boolean; mask?: boolean[][]; scale?: number } = {}): number[][][][] {
  const B = q.length, T = q[0].length, N = q[0][0].length, H = q[0][0][0].length;
  const S = k[0].length, K = k[0][0].length;
  const G = N / K;
  const scale = opts.scale ?? 1 / Math.sqrt(H);
  const out: number[][][][] = [];
  for (let b = 0; b < B; b++) {
    out.push([]);
    for (let t = 0; t < T; t++) {
      out[b].push([]);
      for (let n = 0; n < N; n++) {
        const kh = Math.floor(n / G);
        const logits: number[] = [];
        for (let s = 0; s < S; s++) {
          let d = 0;
          for (let h = 0; h < H; h++) d += q[b][t][n][h] * k[b][s][kh][h];
          let l = d * scale;
          const masked = (opts.causal && s > t) || (opts.mask && !opts.mask[t][s]);
          if (masked) l = -Infinity;
          logits.push(l);
        }
        const m = Math.max(...logits);
        const e = logits.map((l) => (l === -Infinity ? 0 : Math.exp(l - m)));
        const z = e.reduce((a, c) => a + c, 0);
        const row: number[] = [];
        for (let h = 0; h < v[0][0][0].length; h++) {
          let acc = 0;
          for (let s = 0; s < S; s++) acc += (e[s] / z) * v[b][s][kh][h];
          row.push(acc);
        }
        out[b][t].push(row);
      }
    }
  }
  return out;
}

function det(shape: number[], seed: number): number[][][][] {
  const next = rng(seed);
  const build = (d: number): any => (d === shape.length ? next() * 2 - 1 : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

describe("dotProductAttention", () => {
  const B = 2, T = 4, S = 4, N = 2, H = 3;
  const q = det([B, T, N, H], 1), k = det([B, S, N, H], 2), v = det([B, S, N, H], 3);

  it("matches a naive implementation", () => {
    const out = nn.dotProductAttention(f32(q), f32(k), f32(v));
    expect(out.shape).toEqual([B, T, N, H]);
    close(vals(out), flat(naiveAttention(q, k, v)), 1e-5);
  });

  it("applies causal masking", () => {
    const out = nn.dotProductAttention(f32(q), f32(k), f32(v), { isCausal: true });
    close(vals(out), flat(naiveAttention(q, k, v, { causal: true })), 1e-5);
    // The first query can only see the first key: its output is exactly value[:, 0].
    const first = (out.tolist() as number[][][][]).map((b) => b[0]);
    close(flat(first), flat(v.map((b) => b[0])), 1e-6);
  });

  it("applies a boolean mask, a bias and a custom scale", () => {
    const mask = [
      [true, false, true, false],
      [true, true, false, false],
      [false, false, false, true],
      [true, true, true, true],
    ];
    const out = nn.dotProductAttention(f32(q), f32(k), f32(v), { mask: f32(mask, { dtype: "bool" }), scale: 0.5 });
    close(vals(out), flat(naiveAttention(q, k, v, { mask, scale: 0.5 })), 1e-5);
    // A bias of -inf-like values equals a mask.
    const bias = mask.map((r) => r.map((m) => (m ? 0 : -1e9)));
    const outB = nn.dotProductAttention(f32(q), f32(k), f32(v), { bias: f32(bias), scale: 0.5 });
    close(vals(outB), vals(out), 1e-5);
  });

  it("accepts unbatched [T, N, H] inputs and grouped-query heads", () => {
    const out = nn.dotProductAttention(f32(q[0]), f32(k[0]), f32(v[0]), { isCausal: true });
    expect(out.shape).toEqual([T, N, H]);
    close(vals(out), flat(naiveAttention([q[0]], [k[0]], [v[0]], { causal: true })), 1e-5);
    const q4 = det([1, T, 4, H], 7);
    const k1 = det([1, S, 2, H], 8);
    const v1 = det([1, S, 2, H], 9);
    const g = nn.dotProductAttention(f32(q4), f32(k1), f32(v1));
    close(vals(g), flat(naiveAttention(q4, k1, v1)), 1e-5);
  });

  it("works under jit and vmap (vmap over the batch axis equals the batched call)", () => {
    const f = jit((a: Tracer, b: Tracer, c: Tracer) => nn.dotProductAttention(a, b, c, { isCausal: true }));
    const batched = nn.dotProductAttention(f32(q), f32(k), f32(v), { isCausal: true });
    close(vals(f(f32(q), f32(k), f32(v)) as Tracer), vals(batched), 1e-6);
    const vm = vmap((a: Tracer, b: Tracer, c: Tracer) => nn.dotProductAttention(a, b, c, { isCausal: true }))(f32(q), f32(k), f32(v));
    close(vals(vm as Tracer), vals(batched), 1e-6);
  });

  it("is differentiable (finite gradient that matches a finite difference)", () => {
    const f = (qq: Tracer) => np.sum(np.square(nn.dotProductAttention(qq, f32(k), f32(v), { isCausal: true })));
    const g = grad(f)(f32(q));
    const gv = vals(g);
    gv.forEach((x) => expect(Number.isFinite(x)).toBe(true));
    const base = q.map((b) => b.map((t) => t.map((n) => n.slice())));
    const fNum = (d: number) => {
      const qq = base.map((b) => b.map((t) => t.map((n) => n.slice())));
      qq[1][2][1][0] += d;
      return flat(naiveAttention(qq, k, v, { causal: true })).reduce((a, c) => a + c * c, 0);
    };
    const fd = (fNum(1e-4) - fNum(-1e-4)) / 2e-4;
    const idx = ((1 * T + 2) * N + 1) * H + 0;
    expect(Math.abs(gv[idx] - fd)).toBeLessThan(1e-3);
  });
});

describe("losses", () => {
  it("softmaxCrossEntropyWithIntegerLabels: negative labels count from the end, out-of-range ones give NaN", () => {
    const logits = np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    const labels = np.array([2, -1, 3, -4], { dtype: "int32" });
    for (const fn of [nn.softmaxCrossEntropyWithIntegerLabels, jit(nn.softmaxCrossEntropyWithIntegerLabels)]) {
      const out = fn(logits, labels).tolist() as number[];
      expect(out[0]).toBeCloseTo(0.40760612, 5);
      expect(out[1]).toBeCloseTo(0.40760612, 5);
      expect(Number.isNaN(out[2]) && Number.isNaN(out[3])).toBe(true);
    }
    const u = nn.softmaxCrossEntropyWithIntegerLabels(logits.slice([0, 2]), np.array([0, 9], { dtype: "uint32" })).tolist() as number[];
    expect(Number.isFinite(u[0]) && Number.isNaN(u[1])).toBe(true);
  });

  it("softmaxCrossEntropy equals -sum(labels * log softmax)", () => {
    const logits = [[2, 1, 0], [0, 0, 0]];
    const labels = [[1, 0, 0], [0, 0.5, 0.5]];
    const l = vals(nn.softmaxCrossEntropy(f32(logits), f32(labels)));
    const lse0 = Math.log(Math.exp(2) + Math.exp(1) + 1);
    close(l, [lse0 - 2, Math.log(3)], 1e-6);
  });

  it("softmaxCrossEntropyWithIntegerLabels agrees with the one-hot form, and its gradient is softmax - onehot", () => {
    const logits = f32([[2, 1, 0], [0, 3, 0]]);
    const labels = f32([0, 2], { dtype: "int32" });
    const a = vals(nn.softmaxCrossEntropyWithIntegerLabels(logits, labels));
    const b = vals(nn.softmaxCrossEntropy(logits, nn.oneHot(labels, 3)));
    close(a, b, 1e-6);
    const g = grad((z: Tracer) => np.sum(nn.softmaxCrossEntropyWithIntegerLabels(z, labels)))(logits);
    const expected = np.subtract(nn.softmax(logits), nn.oneHot(labels, 3));
    close(vals(g), vals(expected), 1e-6);
  });

  it("mse, l2Loss, squaredError, sigmoidBinaryCrossEntropy", () => {
    const p = f32([1, 2, 3]);
    const t = f32([1, 0, 0]);
    expect(nn.mse(p, t).item()).toBeCloseTo((0 + 4 + 9) / 3, 5);
    close(vals(nn.l2Loss(p, t)), [0, 2, 4.5]);
    close(vals(nn.squaredError(p, t)), [0, 4, 9]);
    const bce = vals(nn.sigmoidBinaryCrossEntropy(f32([0, 2, -100]), f32([1, 0, 0])));
    close(bce, [Math.log(2), Math.log1p(Math.exp(2)), 0], 1e-6);
    const l2 = nn.l2Regularization({ w: f32([3, 4]), b: f32([1]) });
    expect(l2.item()).toBeCloseTo(0.5 * 26, 5);
  });
});

describe("typed errors name the function", () => {
  it("bad argument kinds", () => {
    expect(() => nn.relu([1, 2] as any)).toThrow(ArgumentError);
    expect(() => nn.relu([1, 2] as any)).toThrow(/nn\.relu/);
    expect(() => nn.oneHot(f32([0]), 2.5)).toThrow(/nn\.oneHot/);
  });
  it("bad shapes", () => {
    expect(() => nn.softmax(f32([1, 2]), 3)).toThrow(ShapeError);
    expect(() => nn.dotProductAttention(np.zeros([2, 3]), np.zeros([2, 3]), np.zeros([2, 3]))).toThrow(/nn\.dotProductAttention/);
    expect(() => nn.dotProductAttention(np.zeros([1, 2, 3, 4]), np.zeros([1, 2, 2, 5]), np.zeros([1, 2, 2, 5]))).toThrow(ShapeError);
    expect(() => nn.softmaxCrossEntropy(np.zeros([2, 3]), np.zeros([2, 4]))).toThrow(/nn\.softmaxCrossEntropy/);
  });
  it("bad dtypes", () => {
    expect(() => nn.softmaxCrossEntropyWithIntegerLabels(np.zeros([2, 3]), np.zeros([2]))).toThrow(DTypeError);
    expect(() =>
      nn.dotProductAttention(np.zeros([2, 1, 2]), np.zeros([2, 1, 2]), np.zeros([2, 1, 2]), { mask: np.ones([1, 2, 2]) }),
    ).toThrow(/mask must be boolean/);
  });
});
