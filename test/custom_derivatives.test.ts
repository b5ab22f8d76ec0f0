// customJvp, customVjp and checkpoint: values, the user rules in forward and
// reverse mode, composition with vmap/jit, rematerialization, and bad use.

import { describe, expect, it } from "vitest";
import { np, grad, jvp, vjp, vmap, jit, customJvp, customVjp, checkpoint, makeJaxpr, valueAndGrad, ArgumentError, TransformError, CustomRuleError } from "../src/index";
import { expectAllclose } from "../src/testing";

const f32 = (xs: number[]) => np.array(xs, { dtype: np.float32 });

describe("customJvp", () => {
  // log(1 + exp(x)) with a rule that stays finite for large x.
  const softplus = customJvp((x: any) => np.log1p(np.exp(x)));
  softplus.defjvp(([x]: any[], [t]: any[]) => [softplus(x), t.mul(np.exp(x.neg()).add(1).pow(-1))]);

  it("evaluates the primal function", () => {
    expectAllclose(softplus(f32([0])), f32([Math.log(2)]));
  });
  it("uses the rule in forward and reverse mode", () => {
    const [y, t] = jvp(softplus, [f32([0])], [f32([2])]);
    expectAllclose(y, f32([Math.log(2)]));
    expectAllclose(t, f32([1]));
    expectAllclose(grad((x: any) => softplus(x).sum())(f32([0, 100])), f32([0.5, 1]));
  });
  it("composes with vmap and jit", () => {
    const g = jit(vmap(grad((x: any) => softplus(x).sum())));
    expectAllclose(g(f32([0, 0]).reshape(2, 1)), f32([0.5, 0.5]).reshape(2, 1));
  });
  it("requires defjvp before use", () => {
    const h = customJvp((x: any) => x);
    expect(() => h(f32([1]))).toThrow(ArgumentError);
  });
});

describe("customVjp", () => {
  // Gradient clipping in the backward pass: identity forward, clipped cotangent.
  const clipGrad = customVjp((x: any) => x);
  clipGrad.defvjp(
    (x: any) => [x, null],
    (_res: any, ct: any) => [np.clip(ct, -1, 1)],
  );

  it("uses bwd for reverse mode", () => {
    const g = grad((x: any) => clipGrad(x).mul(5).sum())(f32([1, 2]));
    expectAllclose(g, f32([1, 1]));
  });
  it("passes residuals from fwd to bwd", () => {
    const sq = customVjp((x: any) => x.mul(x));
    sq.defvjp((x: any) => [x.mul(x), x], (x: any, ct: any) => [ct.mul(x).mul(2)]);
    expectAllclose(grad((x: any) => sq(x).sum())(f32([3])), f32([6]));
    const [v, g] = valueAndGrad((x: any) => sq(x).sum())(f32([2]));
    expectAllclose(v, f32([4]).sum());
    expectAllclose(g, f32([4]));
  });
  it("works under vmap and jit", () => {
    const sq = customVjp((x: any) => x.mul(x));
    sq.defvjp((x: any) => [x.mul(x), x], (x: any, ct: any) => [ct.mul(x).mul(2)]);
    const g = jit(vmap(grad((x: any) => sq(x).sum())));
    expectAllclose(g(f32([1, 2, 3]).reshape(3, 1)), f32([2, 4, 6]).reshape(3, 1));
  });
  it("refuses forward mode with a clear error", () => {
    const sq = customVjp((x: any) => x.mul(x));
    sq.defvjp((x: any) => [x.mul(x), x], (x: any, ct: any) => [ct.mul(x).mul(2)]);
    expect(() => jvp(sq, [f32([1])], [f32([1])])).toThrow(TransformError);
  });
  it("checks the cotangent structure returned by bwd", () => {
    const bad = customVjp((x: any, y: any) => x.mul(y));
    bad.defvjp((x: any, y: any) => [x.mul(y), [x, y]], (_r: any, ct: any) => [ct]);
    expect(() => grad((x: any) => bad(x, f32([2])).sum())(f32([1]))).toThrow(/one cotangent per argument/);
  });
});

describe("custom rule outputs are type-checked (as JAX does)", () => {
  it("refuses a bwd cotangent whose shape differs from its argument's", () => {
    const f = customVjp((x: any) => x.mul(2));
    f.defvjp((x: any) => [x.mul(2), null], (_r: any, ct: any) => [np.zeros([7])]);
    expect(() => grad((x: any) => f(x).sum())(f32([1, 2, 3]))).toThrow(CustomRuleError);
    expect(() => grad((x: any) => f(x).sum())(f32([1, 2, 3]))).toThrow(/cotangent for argument 0.*f32\[7\].*f32\[3\]/);
  });
  it("refuses a bwd cotangent of another dtype", () => {
    const f = customVjp((x: any) => x.mul(2));
    f.defvjp((x: any) => [x.mul(2), null], (_r: any, ct: any) => [ct.astype("int32")]);
    expect(() => grad((x: any) => f(x).sum())(f32([1, 2, 3]))).toThrow(CustomRuleError);
  });
  it("refuses a fwd whose output type differs from f's", () => {
    const f = customVjp((x: any) => x.sum());
    f.defvjp((x: any) => [x, null], (_r: any, ct: any) => [ct]);
    expect(() => grad((x: any) => f(x))(f32([1, 2, 3]))).toThrow(/fwd: output 0 is f32\[3\] but must be f32\[\]/);
  });
  it("refuses a jvp rule whose tangent shape differs from the primal's", () => {
    const f = customJvp((x: any) => np.sin(x));
    f.defjvp(([x]: any[], [_t]: any[]) => [np.sin(x), np.ones([9])]);
    expect(() => grad((x: any) => f(x).sum())(f32([1, 2, 3]))).toThrow(CustomRuleError);
    expect(() => jvp(f, [f32([1, 2, 3])], [f32([1, 1, 1])])).toThrow(/tangent output 0 is f32\[9\] but must be f32\[3\]/);
  });
  it("refuses a jvp rule whose primal output differs from f's", () => {
    const f = customJvp((x: any) => np.sin(x));
    f.defjvp(([x]: any[], [t]: any[]) => [np.sin(x).sum(), t]);
    expect(() => jvp(f, [f32([1, 2, 3])], [f32([1, 1, 1])])).toThrow(/primal output 0 is f32\[\] but must be f32\[3\]/);
  });
  it("gives each argument its own cotangent when f closes over an array (found by the fuzzer)", () => {
    const W = np.array([[3]]);
    const run = (x: any, y: any) => np.matmul(x, W).add(y.mul(0));
    const f = customVjp(run);
    f.defvjp((x: any, y: any) => [run(x, y), [x, y]], ([x, y]: any, ct: any) => (vjp(run, x, y)[1] as any)(ct));
    const [gx, gy] = grad((a: any, b: any) => f(a, b).sum(), { argnums: [0, 1] })(f32([2]), np.array(5));
    expectAllclose(gx, f32([3]));
    expectAllclose(gy, np.array(0));
    const [bx] = jit(vmap(grad((a: any, b: any) => f(a, b).sum(), { argnums: [0, 1] })))(f32([2, 3]).reshape(2, 1), f32([5, 6]));
    expectAllclose(bx, f32([3, 3]).reshape(2, 1));
  });
  it("still accepts well-typed rules under vmap and jit", () => {
    const f = customVjp((x: any) => x.mul(2));
    f.defvjp((x: any) => [x.mul(2), null], (_r: any, ct: any) => [ct.mul(2)]);
    expectAllclose(jit(vmap(grad((x: any) => f(x).sum())))(f32([1, 2, 3, 4]).reshape(2, 2)), np.full([2, 2], 2));
  });
});

describe("checkpoint", () => {
  it("gives the same values and gradients", () => {
    const f = (x: any) => np.sin(np.sin(x)).mul(x);
    const x = f32([0.3, 1.2]);
    const g1 = grad((x: any) => f(x).sum())(x);
    const g2 = grad((x: any) => checkpoint(f)(x).sum())(x);
    expectAllclose(g2, g1, { atol: 1e-6 });
    expectAllclose(checkpoint(f)(x), f(x));
  });
  it("recomputes the primal in the backward pass instead of saving residuals", () => {
    const f = checkpoint((x: any) => np.sin(np.sin(x)));
    const text = String(makeJaxpr(grad((x: any) => f(x).sum()))(f32([1, 2])));
    // The backward pass recomputes sin(sin(x)) from the saved input: "sin a" appears
    // twice, where the un-checkpointed gradient computes it once.
    expect((text.match(/= sin a\b/g) ?? []).length).toBe(2);
    const plain = String(makeJaxpr(grad((x: any) => np.sin(np.sin(x)).sum()))(f32([1, 2])));
    expect((plain.match(/= sin a\b/g) ?? []).length).toBe(1);
  });
  it("composes with vmap and second-order grad", () => {
    const f = checkpoint((x: any) => np.sin(x).mul(x));
    const x = f32([0.5, 1.5]);
    expectAllclose(vmap(f)(x), np.sin(x).mul(x));
    const d2 = grad((x: any) => grad((y: any) => f(y).sum())(x).sum())(x);
    // d²/dx² x sin x = 2 cos x − x sin x
    expectAllclose(d2, np.cos(x).mul(2).sub(x.mul(np.sin(x))), { atol: 1e-5 });
  });
});
