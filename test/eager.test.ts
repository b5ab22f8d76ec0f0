// Tests of tinyflow/eager, the define-and-run front end: the API example,
// the chain rule on small graphs against tinyflow's grad, accumulation and
// zeroing of .grad, noGrad and detach, shared subexpressions, non-scalar
// backward with an explicit gradient, the freed tape, SGD/Adam steps, a
// tiny MLP whose loss decreases, the cached backward rules (no vjp traced per
// op once a signature recurs) and the validation of options objects.

import { describe, expect, it } from "vitest";
import * as torch from "../src/frontends/eager";
import { tensor, noGrad, AutogradError } from "../src/frontends/eager";
import { signatureCount } from "../src/frontends/eager/op_rules";
import { np, grad, DTypeError, OptionsError, ShapeError, type Array as TfArray } from "../src/index";

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
    // d/dlogits = (softmax - onehot) / N
    const sm = (r: number[]) => r.map((v) => Math.exp(v) / r.reduce((s, u) => s + Math.exp(u), 0));
    const expected = [sm([2, 0, -1]).map((p, j) => (p - (j === 0 ? 1 : 0)) / 2), sm([0.5, 1.5, 0]).map((p, j) => (p - (j === 1 ? 1 : 0)) / 2)].flat();
    // three times: the first backward traces the vjp, the later ones run the jitted rule (labels as its traced int32 input)
    for (let i = 0; i < 3; i++) {
      const a = torch.functional.crossEntropy(logits, np.array([0, 1], { dtype: "int32" }));
      const b = torch.functional.crossEntropy(logits, tensor([[1, 0, 0], [0, 1, 0]]));
      close([a.item()], [b.item()]);
      a.backward();
      close(vals(logits.grad!), expected);
      logits.zeroGrad();
      b.backward();
      close(vals(logits.grad!), expected);
      logits.zeroGrad();
    }
    // other labels through the same compiled rule
    torch.functional.crossEntropy(logits, np.array([2, 0], { dtype: "int32" })).backward();
    const other = [sm([2, 0, -1]).map((p, j) => (p - (j === 2 ? 1 : 0)) / 2), sm([0.5, 1.5, 0]).map((p, j) => (p - (j === 0 ? 1 : 0)) / 2)].flat();
    close(vals(logits.grad!), other);
  });
});

describe("eager backward rules", () => {
  it("traces an op's vjp only until its signature recurs, then reuses the jitted forward and rule", () => {
    let calls = 0;
    const cube = (a: any) => {
      calls++;
      return np.multiply(np.square(a), a);
    };
    const op = torch.lift<[torch.Tensor]>("cube", cube);
    const x = tensor([1, -2, 0.5], { requiresGrad: true });
    const expected = [3, 12, 0.75];
    // 1st use: an eager forward + a vjp traced in backward; 2nd: the jits' traces of forward and backward
    for (let i = 0; i < 2; i++) {
      op(x).sum().backward();
      close(vals(x.grad!), expected);
      x.zeroGrad();
    }
    calls = 0;
    for (let i = 0; i < 3; i++) {
      op(x).sum().backward();
      close(vals(x.grad!), expected);
      x.zeroGrad();
    }
    expect(calls).toBe(0); // forward and backward ran the compiled programs: nothing was traced
    // new avals reuse the rule's jit, which traces once for them
    const y = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    op(y).sum().backward();
    close(vals(y.grad!), [3, 12, 27, 48]);
  });

  it("keys built-in ops by their parameters and number operands", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    for (let i = 0; i < 2; i++) {
      // the same op names with other parameters must not share a rule
      x.sum(0).mul(tensor([1, 2, 3])).sum().backward();
      close(vals(x.grad!), [1, 2, 3, 1, 2, 3]);
      x.zeroGrad();
      x.sum(1).mul(tensor([1, 2])).sum().backward();
      close(vals(x.grad!), [1, 1, 1, 2, 2, 2]);
      x.zeroGrad();
      x.mul(2).sum().backward();
      close(vals(x.grad!), [2, 2, 2, 2, 2, 2]);
      x.zeroGrad();
      x.mul(-3).sum().backward();
      close(vals(x.grad!), [-3, -3, -3, -3, -3, -3]);
      x.zeroGrad();
      x.rsub(1).div(x.add(1)).sum().backward(); // (1 - x) / (x + 1): d/dx = -2 / (x + 1)²
      close(vals(x.grad!), [1, 2, 3, 4, 5, 6].map((v) => -2 / (v + 1) ** 2));
      x.zeroGrad();
    }
  });

  it("keeps a hot signature compiled when compiled one-off signatures overflow the table (least recently used out)", () => {
    let hotTraces = 0;
    const hot = 0.5;
    const scaleFn = (a: unknown, s: unknown) => {
      if (s === hot) hotTraces++;
      return np.multiply(a as TfArray, s as number);
    };
    const scale = torch.lift<[torch.Tensor, number]>("scale", scaleFn);
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const backend = x.value.backend;
    const capacity = 8;
    Object.defineProperty(backend, "preparedOpCapacity", { value: capacity, configurable: true });
    try {
      const step = (s: number) => {
        const y = scale(x, s);
        y.sum().backward();
        close(vals(x.grad!), [s, s, s]);
        x.zeroGrad();
        close(vals(y), [s, 2 * s, 3 * s]);
      };
      step(hot);
      step(hot); // second use: jitted (its forward and rule traced once each)
      hotTraces = 0;
      // Each JS number is a new signature, compiled at its second use; the hot one is used every step.
      for (let i = 1; i <= 4 * capacity; i++) {
        step(i);
        step(i);
        step(hot);
        expect(signatureCount(scaleFn)).toBeLessThanOrEqual(capacity);
      }
      expect(hotTraces).toBe(0); // never evicted: its compiled forward and rule kept running
      step(1); // evicted long ago: starts over, and still computes correctly
    } finally {
      delete (backend as { preparedOpCapacity?: number }).preparedOpCapacity;
    }
  });

  it("gives constant operands no gradient and changing constant values their own results", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    for (const c of [[3, 4], [5, -6], [0.5, 0.25]]) {
      w.mul(tensor(c)).sum().backward();
      close(vals(w.grad!), c);
      w.zeroGrad();
    }
  });
});

describe("eager options", () => {
  it("tensor, zeros, ones, randn and rand check their options", () => {
    expect(() => tensor([1], { requiresgrad: true } as never)).toThrow(OptionsError);
    expect(() => tensor([1], { requiresgrad: true } as never)).toThrow(/tensor: unknown option "requiresgrad" \(did you mean "requiresGrad"\?\)/);
    expect(() => tensor([1], { requiresGrad: "yes" } as never)).toThrow(/tensor: option requiresGrad must be a boolean, got "yes"/);
    expect(() => tensor([1], { dtype: "float64" } as never)).toThrow(DTypeError);
    expect(() => torch.zeros([2], { dtype: "f32" } as never)).toThrow(DTypeError);
    expect(() => torch.ones([2], { grad: true } as never)).toThrow(/ones: unknown option "grad"/);
    expect(() => torch.randn(2, 3, { dtype: "int32" })).toThrow(OptionsError);
    expect(() => torch.rand(2, { requiresGrad: 1 } as never)).toThrow(/rand: option requiresGrad must be a boolean/);
    const r = torch.randn(2, 3, { requiresGrad: true });
    expect(r.shape).toEqual([2, 3]);
    expect(r.requiresGrad).toBe(true);
    expect(torch.zeros([2], { dtype: "int32" }).dtype).toBe("int32");
  });

  it("backward and Linear check their options", () => {
    const x = tensor([1], { requiresGrad: true });
    expect(() => x.square().sum().backward(null, { retain_graph: true } as never)).toThrow(/Tensor.backward: unknown option "retain_graph" \(did you mean "retainGraph"\?\)/);
    expect(() => new torch.Linear(2, 3, { bias: 0 } as never)).toThrow(/Linear: option bias must be a boolean, got 0/);
    expect(new torch.Linear(2, 3, { bias: false }).bias).toBeNull();
  });

  it("SGD and Adam check their options", () => {
    const p = tensor([1, 2], { requiresGrad: true });
    expect(() => new torch.SGD([p], {} as never)).toThrow(/SGD: option lr is required/);
    expect(() => new torch.SGD([p], { lr: -1 })).toThrow(/SGD: option lr must be a non-negative number, got -1/);
    expect(() => new torch.SGD([p], { lr: 0.1, momentm: 0.9 } as never)).toThrow(OptionsError);
    expect(() => new torch.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov momentum needs a momentum above 0/);
    expect(() => new torch.Adam([p], { betas: [0.9] } as never)).toThrow(/Adam: option betas must be a pair \[beta1, beta2\] of numbers in \[0, 1\), got \[0.9/);
    expect(() => new torch.Adam([p], { learningRate: 0.1 } as never)).toThrow(/Adam: unknown option "learningRate"/);
    expect(() => new torch.Adam([p], { eps: Number.NaN })).toThrow(OptionsError);
  });

  it("Adam with weight decay follows PyTorch's formula over several steps", () => {
    const q = tensor([1, -2, 0.5], { requiresGrad: true });
    const adam = new torch.Adam([q], { lr: 0.1, betas: [0.8, 0.9], eps: 1e-3, weightDecay: 0.5 });
    // reference in float64: g = 2q + wd·q; m, v moments; p -= lr · m̂ / (√v̂ + eps)
    let p = [1, -2, 0.5];
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    for (let t = 1; t <= 4; t++) {
      adam.zeroGrad();
      q.square().sum().backward();
      adam.step();
      const g = p.map((x) => 2 * x + 0.5 * x);
      m = m.map((mi, i) => 0.8 * mi + 0.2 * g[i]);
      v = v.map((vi, i) => 0.9 * vi + 0.1 * g[i] ** 2);
      p = p.map((x, i) => x - (0.1 * (m[i] / (1 - 0.8 ** t))) / (Math.sqrt(v[i] / (1 - 0.9 ** t)) + 1e-3));
      close(vals(q), p, 1e-5);
    }
  });
});
