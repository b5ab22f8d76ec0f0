// Tests of compile(fn) in tinyflow/eager: the same loss and gradients as
// uncompiled (parameters captured from a module, read afresh after an
// optimizer step), one trace per input signature (shape, dtype,
// requiresGrad, JS arguments, grad mode), list and object outputs, detach
// and noGrad inside the function, where() as the data-dependent choice,
// drawing the compiled program, and the typed errors: a JS branch on a
// traced value, in-place updates, backward or random draws inside, escaped
// tensors, bad outputs and options.

import { describe, expect, it } from "vitest";
import * as torch from "../src/frontends/eager";
import { AutogradError, CompileError, compile, noGrad, tensor, where, type Tensor } from "../src/frontends/eager";
import { ArgumentError, OptionsError, np } from "../src/index";
import { toDot } from "../src/viz";

const list = (t: Tensor | null): number[] => Array.from(t!.value.dataSync() as Float32Array);
const closeTo = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
};

function mlp() {
  torch.manualSeed(1);
  return new torch.Sequential(new torch.Linear(3, 5), new torch.Tanh(), new torch.Linear(5, 2));
}

describe("compile(fn): same numbers as uncompiled", () => {
  it("loss and parameter gradients of an MLP whose parameters the function captures", () => {
    const model = mlp();
    const x = torch.randn(6, 3);
    const y = torch.randn(6, 2);
    const loss = (a: Tensor, b: Tensor) => torch.functional.mseLoss(model.forward(a), b);
    const eager = loss(x, y);
    eager.backward();
    const want = model.parameters().map((p) => list(p.grad));
    model.zeroGrad();
    const step = compile(loss);
    const got = step(x, y);
    expect(got.gradFn?.name).toBe("lossBackward");
    closeTo([got.item()], [eager.item()]);
    got.backward();
    model.parameters().forEach((p, i) => closeTo(list(p.grad), want[i]));
    expect(step.traceCount).toBe(1);
  });
  it("an optimizer's in-place update of captured parameters is seen by the next call (no retrace)", () => {
    const model = mlp();
    const x = torch.randn(4, 3);
    const y = torch.randn(4, 2);
    const loss = compile((a: Tensor, b: Tensor) => torch.functional.mseLoss(model.forward(a), b));
    const opt = new torch.SGD(model.parameters(), { lr: 0.5 });
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      opt.zeroGrad();
      const l = loss(x, y);
      l.backward();
      opt.step();
      losses.push(l.item());
      closeTo([torch.functional.mseLoss(model.forward(x), y).item()], [noGrad(() => loss(x, y)).item()]);
    }
    expect(losses[3]).toBeLessThan(losses[0]);
    expect(loss.traceCount).toBe(2); // grad mode on (the steps) and off (the checks under noGrad)
  });
  it("list and object outputs; backward through one output or a sum of both", () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const f = compile((x: Tensor) => ({ s: x.mul(w).sum(), parts: [x.mul(w), w.square()] }));
    const out = f(tensor([2, 2, 2]));
    closeTo(list(out.parts[1]), [1, 4, 9]);
    out.s.backward();
    closeTo(list(w.grad), [2, 2, 2]);
    w.zeroGrad();
    const again = f(tensor([2, 2, 2]));
    again.s.add(again.parts[1].sum()).backward();
    closeTo(list(w.grad), [4, 6, 8]);
  });
  it("detach() and noGrad() inside the function cut the gradient, as uncompiled", () => {
    const f = (x: Tensor) => x.mul(x.detach()).add(noGrad(() => x.mul(3))).sum();
    const x1 = tensor([1, 2], { requiresGrad: true });
    f(x1).backward();
    const x2 = tensor([1, 2], { requiresGrad: true });
    compile(f)(x2).backward();
    closeTo(list(x2.grad), list(x1.grad));
    closeTo(list(x2.grad), [1, 2]);
  });
  it("where() is the data-dependent choice that compiles", () => {
    const f = compile((x: Tensor) => where(x.gt(0), x, x.mul(-2)).sum());
    const x = tensor([-1, 2, -3], { requiresGrad: true });
    const l = f(x);
    expect(l.item()).toBeCloseTo(10);
    l.backward();
    closeTo(list(x.grad), [-2, 1, -2]);
  });
  it("concrete Arrays and JS values as arguments; a compiled function under noGrad records nothing", () => {
    const f = compile((x: Tensor, scale: number, bias: ReturnType<typeof np.ones>) => x.mul(scale).add(bias));
    const x = tensor([1, 2], { requiresGrad: true });
    closeTo(list(f(x, 3, np.ones([2]))), [4, 7]);
    closeTo(list(f(x, 4, np.ones([2]))), [5, 9]);
    expect(f.traceCount).toBe(2); // a JS number is part of the signature
    const r = noGrad(() => f(x, 3, np.ones([2])));
    expect(r.requiresGrad).toBe(false);
    expect(() => r.sum().backward()).toThrow(AutogradError);
    expect(() => r.sum().backward()).toThrow(/noGrad/);
  });
});

describe("compile(fn): one trace per input signature", () => {
  it("retraces on a new shape, dtype or requiresGrad, not on new values", () => {
    const f = compile((x: Tensor) => x.mul(2).sum());
    f(tensor([1, 2]));
    f(tensor([5, 6]));
    expect(f.traceCount).toBe(1);
    f(tensor([1, 2, 3]));
    expect(f.traceCount).toBe(2);
    f(tensor([1, 2], { dtype: "int32" }));
    expect(f.traceCount).toBe(3);
    f(tensor([1, 2], { requiresGrad: true }));
    expect(f.traceCount).toBe(4);
    f(tensor([7, 8], { requiresGrad: true }));
    f(tensor([9, 9, 9]));
    expect(f.traceCount).toBe(4);
  });
  it("lower() gives the traced and compiled program, which tinyflow/viz draws", () => {
    const model = mlp();
    const f = compile((x: Tensor) => model.forward(x).relu().sum(), { name: "forward" });
    const lowered = f.lower(torch.randn(2, 3));
    // x and the four captured parameters are the jaxpr's inputs.
    expect(lowered.jaxpr.jaxpr.invars.map((v) => v.aval.str())).toEqual(["f32[2,3]", "f32[5,3]", "f32[5]", "f32[2,5]", "f32[2]"]);
    expect(toDot(lowered)).toContain("after IR passes");
    expect(f.traceCount).toBe(1);
  });
});

describe("compile(fn): bad input", () => {
  const x = tensor([1, -2, 3]);
  it("a JS branch on a traced value names the fix", () => {
    const viaNumber = compile((a: Tensor) => ((a.sum() as unknown as number) > 0 ? a : a.neg()));
    expect(() => viaNumber(x)).toThrow(CompileError);
    expect(() => viaNumber(x)).toThrow(/compile\(fn\): using a tensor as a JS number.*where\(cond, a, b\).*lax\.cond/);
    const viaItem = compile(function branchy(a: Tensor) {
      return a.sum().item() > 0 ? a : a.neg();
    });
    expect(() => viaItem(x)).toThrow(/compile\(branchy\): Tensor\.item\(\)/);
  });
  it("in-place updates, backward() and random draws inside are errors saying what to do instead", () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    expect(() => compile((a: Tensor) => a.add_(1))(x)).toThrow(/in-place update.*return the new value/);
    expect(() => compile((a: Tensor) => { a.mul(w).sum().backward(); return a; })(x)).toThrow(/backward\(\).*call backward\(\) on the result/);
    expect(() => compile((a: Tensor) => a.add(torch.randn(3)))(x)).toThrow(/random numbers.*pass them in as arguments/);
  });
  it("a tensor kept aside from a trace holds no data: using it later is an error", () => {
    let kept: Tensor | null = null;
    compile((a: Tensor) => {
      kept = a.mul(2);
      return a;
    })(x);
    expect(() => kept!.add(1)).toThrow(CompileError);
    expect(() => compile((a: Tensor) => a.add(kept!))(x)).toThrow(/computed while another compiled function was traced/);
  });
  it("bad outputs, functions and options", () => {
    expect(() => compile(() => 3)()).toThrow(/returned 3; a compiled function returns tensors/);
    expect(() => compile(3 as never)).toThrow(ArgumentError);
    expect(() => compile((a: Tensor) => a, { fullgraph: true } as never)).toThrow(OptionsError);
  });
});

describe("Tensor as a JS number outside compile", () => {
  it("a one-element tensor converts; a larger one throws", () => {
    expect((tensor(3) as unknown as number) > 2).toBe(true);
    expect(`${tensor([1, 2])}`).toContain("tensor(");
    expect(() => (tensor([1, 2]) as unknown as number) > 0).toThrow();
  });
});
