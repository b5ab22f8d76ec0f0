// Tests of tinyflow/eager, the define-and-run front end: the API example,
// the chain rule on small graphs against tinyflow's grad, accumulation and
// zeroing of .grad, noGrad and detach, shared subexpressions, non-scalar
// backward with an explicit gradient, the freed tape, SGD/Adam steps, and a
// tiny MLP whose loss decreases.

import { describe, expect, it } from "vitest";
import * as torch from "../src/frontends/eager";
import { tensor, noGrad, AutogradError } from "../src/frontends/eager";
import { np, grad, ShapeError, type Array as TfArray } from "../src/index";

const vals = (x: TfArray | torch.Tensor): number[] => Array.from((x instanceof torch.Tensor ? x.value : x).dataSync() as ArrayLike<number>);
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

describe("eager autograd", () => {
  it("runs the API example: grad 2", () => {
    const x = tensor([3], { requiresGrad: true }),
      y = tensor([2], { requiresGrad: true });
    const loss = x.sub(y).square().sum();
    loss.backward();
    expect(x.grad!.item()).toBe(2);
    expect(y.grad!.item()).toBe(-2);
    expect(String(x.grad)).toBe("tensor([2.])");
    expect(loss.gradFn!.name).toBe("sumBackward");
    expect(x.isLeaf && !loss.isLeaf).toBe(true);
  });

  it("applies the chain rule like tinyflow's grad", () => {
    const wv = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], { dtype: "float32" });
    const bv = np.array([0.01, 0.02, -0.03], { dtype: "float32" });
    const xv = np.array([[1, 2], [-1, 0.5], [0.3, -2]], { dtype: "float32" });
    const f = (w: any, b: any) => np.mean(np.log(np.add(np.exp(np.tanh(np.add(np.matmul(xv, w), b))), 1)).mul(np.array([1, 2, 3])));
    const [ew, eb] = grad(f, { argnums: [0, 1] })(wv, bv);

    const w = tensor(wv, { requiresGrad: true });
    const b = tensor(bv, { requiresGrad: true });
    const x = tensor(xv);
    x.matmul(w).add(b).tanh().exp().add(1).log().mul(tensor([1, 2, 3])).mean().backward();
    close(vals(w.grad!), vals(ew as TfArray));
    close(vals(b.grad!), vals(eb as TfArray));
    expect(x.grad).toBeNull();
  });

  it("sums the contributions of a tensor used several times", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const h = x.mul(x); // used twice below
    const y = h.mul(x).add(h).sum(); // x³ + x²
    y.backward();
    close(vals(x.grad!), [1, 2, 3].map((v) => 3 * v * v + 2 * v));
  });

  it("accumulates grads across backward calls until zeroed", () => {
    const x = tensor([1, -2], { requiresGrad: true });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    close(vals(x.grad!), [6, 6]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.square().sum().backward();
    close(vals(x.grad!), [2, -4]);
    x.grad = null;
    x.exp().sum().backward();
    close(vals(x.grad!), [Math.exp(1), Math.exp(-2)]);
  });

  it("records nothing under noGrad, and detach cuts the tape", () => {
    const x = tensor([2], { requiresGrad: true });
    const y = noGrad(() => x.mul(x));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => y.sum().backward()).toThrow(AutogradError);
    expect(torch.isGradEnabled()).toBe(true);

    const d = x.mul(3).detach();
    expect(d.requiresGrad).toBe(false);
    // z = x · stop(3x): dz/dx = 3x (the detached factor is a constant)
    x.mul(d).sum().backward();
    close(vals(x.grad!), [6]);
  });

  it("needs a gradient for non-scalar backward, and uses it", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward()).toThrow(AutogradError);
    expect(() => y.backward(tensor([1, 1]))).toThrow(ShapeError);
    y.backward(tensor([1, 10, 100]));
    close(vals(x.grad!), [2, 20, 200]);
  });

  it("frees the tape after backward unless retainGraph", () => {
    const x = tensor([1.5], { requiresGrad: true });
    const z = x.square().sum();
    z.backward(null, { retainGraph: true });
    z.backward();
    close(vals(x.grad!), [6]);
    expect(() => z.backward()).toThrow(/second time/);
  });

  it("rejects grads on integer tensors and in-place changes of leaves that require grad", () => {
    expect(() => tensor([1, 2], { dtype: "int32", requiresGrad: true })).toThrow(AutogradError);
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => w.sub_(1)).toThrow(AutogradError);
    noGrad(() => w.sub_(1));
    close(vals(w), [0, 1]);
  });

  it("supports shape ops and reductions with their PyTorch meanings", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const y = x.T.reshape(3, 2).sum(0).mul(tensor([1, 2])).sum();
    y.backward();
    // x.T = [[1,4],[2,5],[3,6]]; sum(0) = [6, 15]; y = 6 + 30: d/dx = 1 on column 0 of x.T (row 0 of x), 2 on row 1
    close(vals(x.grad!), [1, 1, 1, 2, 2, 2]);
    expect(x.transpose(0, 1).shape).toEqual([3, 2]);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(x.size()).toEqual([2, 3]);
    expect(x.mean(1, true).shape).toEqual([2, 1]);
    expect(vals(x.argmax(1))).toEqual([2, 2]);
  });
});

describe("eager training", () => {
  it("SGD and Adam take PyTorch's steps", () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const sgd = new torch.SGD([p], { lr: 0.1, momentum: 0.9 });
    p.square().sum().backward(); // g = [2, 4]
    sgd.step(); // buf = g; p = p - 0.1 g
    close(vals(p), [0.8, 1.6]);
    sgd.zeroGrad();
    p.square().sum().backward(); // g = [1.6, 3.2]; buf = 0.9·[2,4] + g = [3.4, 6.8]
    sgd.step();
    close(vals(p), [0.8 - 0.34, 1.6 - 0.68]);

    const q = tensor([1, -1], { requiresGrad: true });
    const adam = new torch.Adam([q], { lr: 0.01 });
    q.mul(tensor([3, 0.5])).sum().backward();
    adam.step(); // the first Adam step is lr·sign(g)
    close(vals(q), [0.99, -1.01], 1e-4);
  });

  it("trains a tiny MLP with SGD: the loss decreases", () => {
    torch.manualSeed(0);
    // y = sin(x) on [-3, 3]
    const xs = Array.from({ length: 64 }, (_, i) => -3 + (6 * i) / 63);
    const x = tensor(xs.map((v) => [v]));
    const y = tensor(xs.map((v) => [Math.sin(v)]));
    const model = new torch.Sequential(new torch.Linear(1, 32), new torch.Tanh(), new torch.Linear(32, 1));
    expect(model.parameters().length).toBe(4);
    const opt = new torch.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 200; step++) {
      opt.zeroGrad();
      const loss = torch.functional.mseLoss(model.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 10);
    expect(losses[losses.length - 1]).toBeLessThan(0.02);
  });

  it("crossEntropy takes class indices or probabilities", () => {
    const logits = tensor([[2, 0, -1], [0.5, 1.5, 0]], { requiresGrad: true });
    const a = torch.functional.crossEntropy(logits, np.array([0, 1], { dtype: "int32" }));
    const b = torch.functional.crossEntropy(logits, tensor([[1, 0, 0], [0, 1, 0]]));
    close([a.item()], [b.item()]);
    a.backward();
    // d/dlogits = (softmax - onehot) / N
    const sm = (r: number[]) => r.map((v) => Math.exp(v) / r.reduce((s, u) => s + Math.exp(u), 0));
    const expected = [sm([2, 0, -1]).map((p, j) => (p - (j === 0 ? 1 : 0)) / 2), sm([0.5, 1.5, 0]).map((p, j) => (p - (j === 1 ? 1 : 0)) / 2)].flat();
    close(vals(logits.grad!), expected);
  });
});
