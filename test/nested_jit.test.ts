// A jitted function stays compiled under every transformation: the pjit
// primitive runs its jaxpr as one cached program, partial evaluation splits it
// into a known and an unknown pjit, transpose emits a pjit, vmap a pjit of the
// batched jaxpr. Results must equal the un-jitted function's.

import { afterEach, describe, expect, it, vi } from "vitest";
import { np, lax, jit, grad, vmap, valueAndGrad, hessian, makeJaxpr, getBackend, type Array } from "../src/index";
import { expectAllclose } from "../src/testing";
import { evalJaxpr } from "../src/core/eval_jaxpr";
import { onEagerOperation } from "../src/core/eval_trace";
import { programsBuilt } from "../transforms/compiled_call";

function mlpLoss(params: { w1: any; b1: any; w2: any; b2: any }, x: any, y: any) {
  const h = np.tanh(np.dot(x, params.w1).add(params.b1));
  const out = np.dot(h, params.w2).add(params.b2);
  return np.mean(np.square(out.sub(y)));
}

function mlpData() {
  const w1 = np.array([[0.1, -0.2, 0.3, 0.05], [0.4, 0.1, -0.5, 0.2], [-0.3, 0.2, 0.1, -0.1]]);
  const b1 = np.array([0.01, -0.02, 0.03, 0.0]);
  const w2 = np.array([[0.2, -0.1], [0.3, 0.4], [-0.5, 0.1], [0.1, 0.2]]);
  const b2 = np.array([0.1, -0.1]);
  const x = np.array([[1, 2, 3], [0.5, -1, 2], [-2, 0.3, 1], [0.7, 0.7, -0.4], [1.5, -0.5, 0]]);
  const y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [0.5, 0.5]], { dtype: "float32" });
  return { params: { w1, b1, w2, b2 }, x, y };
}

/** A function with control flow inside: a cond on the data and a scan. */
function controlFlowFn(w: any, xs: any) {
  const [carry] = lax.scan((c: any, x: any) => [np.sin(c.mul(x)).add(c), null], w, xs);
  return lax.cond(np.sum(carry).gt(0), (c: any) => np.sum(np.square(c)), (c: any) => np.sum(c.mul(3)), carry);
}

afterEach(() => {
  vi.restoreAllMocks();
  onEagerOperation(null);
});

describe("nested jit", () => {
  it("grad(jit(f)) == grad(f) == jit(grad(f)) on an MLP loss", () => {
    const { params, x, y } = mlpData();
    const jitted = jit(mlpLoss);
    const a = grad(jitted)(params, x, y);
    const b = grad(mlpLoss)(params, x, y);
    const c = jit(grad(mlpLoss))(params, x, y);
    expectAllclose(a, b, { atol: 1e-5 });
    expectAllclose(c, b, { atol: 1e-5 });
    const [v, g] = valueAndGrad(jitted)(params, x, y);
    expectAllclose(v, mlpLoss(params, x, y));
    expectAllclose(g, b, { atol: 1e-5 });
  });

  it("grad(jit(f)) == grad(f) through cond and scan inside the jitted function", () => {
    const w = np.array([0.3, -0.2, 0.5]);
    const xs = np.array([[1, 0.5, -1], [0.2, 0.3, 0.4], [-0.7, 1.1, 0.9]]);
    for (const w0 of [w, w.neg()]) {
      expectAllclose(grad(jit(controlFlowFn))(w0, xs), grad(controlFlowFn)(w0, xs), { atol: 1e-5 });
      expectAllclose(grad(controlFlowFn, { argnums: 1 })(w0, xs), grad(jit(controlFlowFn), { argnums: 1 })(w0, xs), { atol: 1e-5 });
    }
  });

  it("vmap(jit(f)) and jit(vmap(jit(f))) match vmap(f)", () => {
    const f = (w: any, x: any) => np.sum(np.tanh(np.dot(w, x)).mul(np.sum(x)));
    const w = np.array([[0.5, -1, 0.25], [1, 0.5, -0.5]]);
    const xs = np.array([[1, 2, 3], [-1, 0.5, 2], [0, 1, -2], [3, 1, 1]], { dtype: "float32" });
    const expected = vmap(f, { inAxes: [null, 0] })(w, xs);
    expectAllclose(vmap(jit(f), { inAxes: [null, 0] })(w, xs), expected);
    expectAllclose(jit(vmap(jit(f), { inAxes: [null, 0] }))(w, xs), expected);
    // batched on a non-leading axis of both operands
    const ws = np.stack([w, w.mul(2)], 2);
    const xb = np.array([[1, -1], [2, 0.5], [3, 2]], { dtype: "float32" });
    expectAllclose(vmap(jit(f), { inAxes: [2, 1] })(ws, xb), vmap(f, { inAxes: [2, 1] })(ws, xb));
    // per-example gradients through the jitted function
    const perEx = vmap(grad(jit(f)), { inAxes: [null, 0] })(w, xs);
    expectAllclose(perEx, vmap(grad(f), { inAxes: [null, 0] })(w, xs), { atol: 1e-5 });
  });

  it("higher-order derivatives through a jitted function", () => {
    const f = (x: any) => np.sum(np.sin(x).mul(np.exp(x.mul(0.5))));
    const x = np.array([0.3, -1.2, 2.0]);
    expectAllclose(hessian(jit(f))(x), hessian(f)(x), { atol: 1e-4 });
    const scalar = (x: any) => np.sum(jit(f)(x.mul(2)));
    expectAllclose(grad(grad(scalar))(np.array(0.7)), grad(grad((x: any) => f(x.mul(2))))(np.array(0.7)), { atol: 1e-4 });
    const g = (x: any) => f(x.reshape([1]));
    expectAllclose(grad(jit(grad(jit(g))))(np.array(0.4)), grad(grad(g))(np.array(0.4)), { atol: 1e-4 });
  });

  it("makeJaxpr(grad(jit(f))) keeps the forward and the backward as pjit calls", () => {
    const { params, x, y } = mlpData();
    const text = String(makeJaxpr(grad(jit(mlpLoss)))(params, x, y));
    const outer = text.split("\n").filter((line) => /^ {4}\S/.test(line));
    expect(outer.filter((line) => line.includes("= pjit[")).length).toBe(2);
    expect(text).toContain("name=transpose(jvp(mlpLoss))");
    // nothing but the two calls (and their constants) runs outside them
    expect(text).not.toMatch(/^ {4}\S.*= (tanh|dot_general)/m);
  });

  it("the nested calls run compiled, and a second call compiles nothing new", () => {
    const { params, x, y } = mlpData();
    const jitted = jit(mlpLoss);
    const backend = getBackend();
    const expected = grad(mlpLoss)(params, x, y);
    const eagerOps: string[] = [];
    onEagerOperation((prim) => eagerOps.push(prim));
    const compile = vi.spyOn(backend, "compile");
    expectAllclose(grad(jitted)(params, x, y), expected, { atol: 1e-5 });
    // the forward (known) and the backward (transposed) programs
    expect(compile).toHaveBeenCalledTimes(2);
    const built = programsBuilt();
    compile.mockClear();
    eagerOps.length = 0;
    expectAllclose(grad(jitted)(params, x, y), expected, { atol: 1e-5 });
    expect(compile).not.toHaveBeenCalled();
    expect(programsBuilt()).toBe(built);
    // the model's own operations ran inside the compiled calls, never op by op
    expect(eagerOps.filter((p) => p === "tanh" || p === "dot_general")).toEqual([]);
    expect(jitted.traceCount).toBe(1);
  });

  it("jit(f) called directly and a pjit equation of it share one program", () => {
    const f = jit((x: any) => np.exp(x).sum());
    const x = np.array([1, 2, 3], { dtype: "float32" });
    const twice = np.stack([x, x]);
    const mixed = np.stack([x, x.mul(2)]);
    const direct = f(x);
    const built = programsBuilt();
    const closed = makeJaxpr(f)(x);
    expect(closed.jaxpr.eqns.map((e) => e.primitive)).toEqual(["pjit"]);
    // the eval rule of that equation finds the program the direct call built
    expectAllclose(evalJaxpr(closed.jaxpr, closed.consts, [x])[0], direct);
    expect(programsBuilt()).toBe(built);
    expectAllclose(vmap(f)(twice), np.stack([direct, direct]));
    expect(programsBuilt()).toBe(built + 1); // the batched jaxpr, once
    vmap(f)(mixed);
    expect(programsBuilt()).toBe(built + 1);
    expect(f.traceCount).toBe(1);
  });

  it("honours donatedInvars when a pjit equation runs", () => {
    const f = jit((x: any) => x.mul(2), { donateArgnums: [0] });
    const closed = makeJaxpr(f)(np.zeros([3]));
    expect((closed.jaxpr.eqns[0].params as { donatedInvars: boolean[] }).donatedInvars).toEqual([true]);
    const x = np.array([1, 2, 3], { dtype: "float32" });
    expectAllclose(evalJaxpr(closed.jaxpr, closed.consts, [x])[0], np.array([2, 4, 6], { dtype: "float32" }));
    expect((x as Array).isDisposed).toBe(true);
    // under a transformation nothing is donated: the primal is needed again
    const w = np.array([1, 2, 3], { dtype: "float32" });
    expectAllclose(grad((v: any) => np.sum(f(v)))(w), np.array([2, 2, 2], { dtype: "float32" }));
    expect((w as Array).isDisposed).toBe(false);
  });
});
