// Per-example gradients, the "done" criterion of the transformations issue:
// vmap(grad(loss), { inAxes: [null, 0, 0] }) over an MLP's loss gives a pytree
// of per-example gradients (each leaf with a leading batch axis) equal to a JS
// loop of single-example grads, eagerly and under jit; and makeJaxpr(grad(f))
// prints the IR we expect, equation by equation.

import { describe, expect, it } from "vitest";
import { grad, jit, makeJaxpr, np, valueAndGrad, vmap, type Tracer } from "../src/index";
import { expectAllclose } from "../src/testing";

type T = Tracer;
interface Params {
  w1: T;
  b1: T;
  w2: T;
  b2: T;
}

const D = 4;
const H = 5;
const K = 3;
const B = 6;

/** Deterministic values in about [-1, 1]. */
function det(shape: number[], seed: number): T {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.array(globalThis.Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9)).astype(np.float32).reshape(shape);
}

const params: Params = { w1: det([D, H], 1), b1: det([H], 2), w2: det([H, K], 3), b2: det([K], 4) };
const X = det([B, D], 5);
const Y = det([B, K], 6);
const labels = np.array([0, 2, 1, 1, 0, 2], { dtype: np.int32 });

function mlp(p: Params, x: T): T {
  const h = np.tanh(np.matmul(x, p.w1).add(p.b1));
  return np.matmul(h, p.w2).add(p.b2);
}

/** Squared error of one example (x: [D], y: [K]). */
function mseLoss(p: Params, x: T, y: T): T {
  return np.square(mlp(p, x).sub(y)).mean();
}

/** Softmax cross-entropy of one example with an integer label. */
function xentLoss(p: Params, x: T, label: T): T {
  const logits = mlp(p, x);
  return np.logsumexp(logits).sub(logits.slice(label));
}

function loopGrads(loss: (p: Params, x: T, y: T) => T, ys: T): Params {
  const per = globalThis.Array.from({ length: B }, (_, i) => grad(loss)(params, X.slice(i), ys.slice(i)) as Params);
  return {
    w1: np.stack(per.map((g) => g.w1)),
    b1: np.stack(per.map((g) => g.b1)),
    w2: np.stack(per.map((g) => g.w2)),
    b2: np.stack(per.map((g) => g.b2)),
  };
}

describe("per-example gradients of an MLP", () => {
  for (const [name, loss, ys] of [
    ["mean squared error", mseLoss, Y],
    ["softmax cross-entropy with int labels", xentLoss, labels],
  ] as const) {
    describe(name, () => {
      const want = loopGrads(loss, ys);

      it("vmap(grad(loss), { inAxes: [null, 0, 0] }) equals a loop of single-example grads", () => {
        const got = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, X, ys) as Params;
        expect(Object.keys(got).sort()).toEqual(["b1", "b2", "w1", "w2"]);
        expect(got.w1.shape).toEqual([B, D, H]);
        expect(got.b1.shape).toEqual([B, H]);
        expect(got.w2.shape).toEqual([B, H, K]);
        expect(got.b2.shape).toEqual([B, K]);
        expectAllclose(got, want, { atol: 1e-5, rtol: 1e-4 });
        // Not trivially zero: the check compares real gradients.
        expect(np.abs(want.w1).sum().item() as number).toBeGreaterThan(1e-2);
      });

      it("under jit, and jit inside vmap", () => {
        const f = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
        expectAllclose(f(params, X, ys), want, { atol: 1e-5, rtol: 1e-4 });
        expectAllclose(f(params, X, ys), want, { atol: 1e-5, rtol: 1e-4 });
        expect(f.traceCount).toBe(1);
        expectAllclose(vmap(jit(grad(loss)), { inAxes: [null, 0, 0] })(params, X, ys), want, { atol: 1e-5, rtol: 1e-4 });
      });

      it("the mean of the per-example grads is the grad of the mean batch loss", () => {
        const batchLoss = (p: Params) => vmap((x: T, y: T) => loss(p, x, y))(X, ys).mean();
        const g = grad(batchLoss)(params) as Params;
        expectAllclose(g, { w1: want.w1.mean(0), b1: want.b1.mean(0), w2: want.w2.mean(0), b2: want.b2.mean(0) }, { atol: 1e-5, rtol: 1e-4 });
      });

      it("per-example values and grads together (valueAndGrad under vmap), batch on a non-leading axis", () => {
        const [vals, grads] = vmap(valueAndGrad(loss), { inAxes: [null, 1, ys.ndim === 2 ? 1 : 0] })(params, X.T, ys.ndim === 2 ? ys.T : ys) as [T, Params];
        expect(vals.shape).toEqual([B]);
        globalThis.Array.from({ length: B }, (_, i) => expectAllclose(vals.slice(i), loss(params, X.slice(i), ys.slice(i)), { atol: 1e-6 }));
        expectAllclose(grads, want, { atol: 1e-5, rtol: 1e-4 });
      });
    });
  }
});

describe("makeJaxpr(grad(f)) prints the expected IR", () => {
  it("f(x) = sum(sin(x) * x)", () => {
    // d/dx sum(sin x · x) = sin x + x cos x: the forward pass (sin, cos saved for
    // the tangent, the product and its sum), then the transposed linear part:
    // a cotangent of ones, mul's transpose to both factors, sin's tangent (· cos).
    const expected = [
      "{ lambda ; a:f32[3]. let",
      "    b:f32[3] = sin a",
      "    c:f32[3] = cos a",
      "    d:f32[3] = mul b a",
      "    e:f32[] = reduce_sum[axes=(0,)] d",
      "    f:f32[3] = broadcast_in_dim[shape=(3,) broadcastDimensions=()] 1.0:f32[]",
      "    g:f32[3] = mul f b",
      "    h:f32[3] = mul f a",
      "    i:f32[3] = mul h c",
      "    j:f32[3] = add g i",
      "  in (j) }",
    ].join("\n");
    const f = (x: T) => np.sin(x).mul(x).sum();
    const x = np.array([0.5, -1, 2]).astype(np.float32);
    expect(String(makeJaxpr(grad(f))(x))).toBe(expected);
    expectAllclose(grad(f)(x), np.sin(x).add(x.mul(np.cos(x))), { atol: 1e-6 });
  });

  it("f(w, x) = sum(tanh(x @ w)), the gradient with respect to w", () => {
    // tanh' = 1 - tanh², then the transpose of dot_general: xᵀ · ct, as
    // dot_general contracting the batch rows followed by a transpose to w's layout.
    const expected = [
      "{ lambda ; a:f32[3,2] b:f32[4,3]. let",
      "    c:f32[4,2] = dot_general[dimensionNumbers=(((1,), (0,)), ((), ())) preferredElementType=None] b a",
      "    d:f32[4,2] = tanh c",
      "    e:f32[4,2] = broadcast_in_dim[shape=(4, 2) broadcastDimensions=()] 1.0:f32[]",
      "    f:f32[4,2] = mul d d",
      "    g:f32[4,2] = sub e f",
      "    h:f32[] = reduce_sum[axes=(0, 1)] d",
      "    i:f32[4,2] = broadcast_in_dim[shape=(4, 2) broadcastDimensions=()] 1.0:f32[]",
      "    j:f32[4,2] = mul i g",
      "    k:f32[2,3] = dot_general[dimensionNumbers=(((0,), (0,)), ((), ())) preferredElementType=None] j b",
      "    l:f32[3,2] = transpose[permutation=(1, 0)] k",
      "  in (l) }",
    ].join("\n");
    const f = (w: T, x: T) => np.tanh(np.matmul(x, w)).sum();
    const w = det([3, 2], 7);
    const x = det([4, 3], 8);
    expect(String(makeJaxpr(grad(f))(w, x))).toBe(expected);
    const t = np.tanh(np.matmul(x, w));
    expectAllclose(grad(f)(w, x), np.matmul(x.T, np.subtract(1, t.mul(t))), { atol: 1e-6 });
  });
});
