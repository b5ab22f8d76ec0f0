// Pytrees through every transformation: objects, nested lists, null and
// undefined leaves and JS numbers go in and come back out with the same
// structure (grad, valueAndGrad, hasAux, jvp, vjp, linearize, vmap with tree
// inAxes/outAxes, jit, jacfwd/jacrev/hessian); and mistakes give typed errors
// that name the offending leaf path or axis (a non-array leaf, a tangent or
// cotangent of the wrong structure or shape, an inAxes tree that does not
// match the arguments).

import { describe, expect, it } from "vitest";
import {
  ArgumentError, AxisError, DTypeError, ShapeError, grad, hessian, jacfwd, jacrev, jit, jvp, linearize, np, tree, valueAndGrad, vjp, vmap, type Tracer,
} from "../src/index";
import { expectAllclose } from "../src/testing";

type T = Tracer;
const f32 = (data: number | number[] | number[][]) => np.array(data).astype(np.float32);

interface Params {
  w: T;
  layers: [T, { c: T }];
  off: null;
  none: undefined;
}

const params: Params = { w: f32([0.5, -1.5]), layers: [f32(0.25), { c: f32([1, 2, 3]) }], off: null, none: undefined };
const x = f32([2, 0.5]);

function loss(p: Params, x: T): T {
  return np.sin(p.w.mul(x)).sum().mul(p.layers[0]).add(np.square(p.layers[1].c).sum().mul(p.layers[0]));
}

/** The gradient of `loss` with respect to params, by hand. */
function lossGrad(p: Params, x: T): Params {
  const a = p.layers[0];
  return {
    w: np.cos(p.w.mul(x)).mul(x).mul(a),
    layers: [np.sin(p.w.mul(x)).sum().add(np.square(p.layers[1].c).sum()), { c: p.layers[1].c.mul(2).mul(a) }],
    off: null,
    none: undefined,
  };
}

describe("pytrees in and out of transformations", () => {
  it("grad of a function of an object returns an object of the same structure", () => {
    const g: Params = grad(loss)(params, x);
    expect(tree.structure(g).toString()).toBe(tree.structure(params).toString());
    expect(Object.keys(g).sort()).toEqual(["layers", "none", "off", "w"]);
    expect(g.off).toBeNull();
    expect("none" in g && g.none === undefined).toBe(true);
    expectAllclose(g, lossGrad(params, x), { atol: 1e-6 });
  });

  it("argnums lists, valueAndGrad and hasAux keep every tree", () => {
    const [gp, gx] = grad(loss, { argnums: [0, 1] })(params, x) as [Params, T];
    expectAllclose(gp, lossGrad(params, x), { atol: 1e-6 });
    expect(gx.shape).toEqual([2]);
    const [value, g] = valueAndGrad(loss)(params, x);
    expectAllclose(value, loss(params, x));
    expectAllclose(g, lossGrad(params, x), { atol: 1e-6 });
    const withAux = (p: Params, x: T) => [loss(p, x), { pred: p.w.mul(x), nothing: null, list: [p.layers[0]] }];
    const [g2, aux] = grad(withAux, { hasAux: true })(params, x);
    expectAllclose(g2, lossGrad(params, x), { atol: 1e-6 });
    expectAllclose(aux, { pred: params.w.mul(x), nothing: null, list: [params.layers[0]] });
  });

  it("JS numbers are leaves: every number is a weak float32 and gets a gradient", () => {
    const g = grad((p: { a: number; b: T }) => np.multiply(p.a, p.b).sum())({ a: 1.5, b: f32([1, 2.5]) });
    expectAllclose(g, { a: f32(3.5), b: f32([1.5, 1.5]) });
    // JS cannot tell 3 from 3.0: an integer-valued number is float32 too (a Python float in JAX), so it is differentiable.
    const g3 = grad((a: number) => np.multiply(a, a))(3) as T;
    expect(g3.dtype).toBe("float32");
    expect(g3.item()).toBe(6);
  });

  it("jvp takes tangents with the primals' structure and returns the output's", () => {
    const f = (p: Params, x: T) => ({ y: p.w.mul(x), s: [p.layers[1].c.sum().mul(p.layers[0])], n: null });
    const tp: Params = { w: f32([1, 0]), layers: [f32(1), { c: f32([0, 1, 0]) }], off: null, none: undefined };
    const tx = f32([0, 1]);
    const [out, tout] = jvp(f, [params, x], [tp, tx]);
    expectAllclose(out, f(params, x));
    // d(w·x) = dw·x + w·dx; d(sum(c)·a) = sum(dc)·a + sum(c)·da
    expectAllclose(tout, { y: tp.w.mul(x).add(params.w.mul(tx)), s: [f32(0.25 + 6)], n: null });
  });

  it("vjp and linearize round-trip structured outputs and cotangents", () => {
    const f = (p: Params) => ({ a: p.w.mul(2), b: [p.layers[1].c.sum()] });
    const [out, pullback] = vjp(f, params);
    expectAllclose(out, f(params));
    const [ct] = pullback({ a: f32([1, 10]), b: [f32(3)] });
    expectAllclose(ct, { w: f32([2, 20]), layers: [f32(0), { c: f32([3, 3, 3]) }], off: null, none: undefined });
    const [y, lin] = linearize(f, params);
    expectAllclose(y, f(params));
    const tp: Params = { w: f32([1, 1]), layers: [f32(5), { c: f32([1, 2, 3]) }], off: null, none: undefined };
    expectAllclose(lin(tp), { a: f32([2, 2]), b: [f32(6)] });
  });

  it("vmap with object inAxes (a tree prefix), null subtrees and tree outAxes", () => {
    const f = (p: { w: T; b: T; fixed: { k: T } }, x: T) => ({ y: p.w.mul(x).add(p.b), k: p.fixed.k.mul(2) });
    const p = { w: f32([[1, 2], [3, 4], [5, 6]]), b: f32([0.5, -0.5]), fixed: { k: f32([7]) } };
    const xs = f32([[1, 1], [2, 2], [3, 3]]);
    const out = vmap(f, { inAxes: [{ w: 0, b: null, fixed: null }, 0], outAxes: { y: 1, k: null } })(p, xs);
    expect(out.y.shape).toEqual([2, 3]);
    expectAllclose(out.y, p.w.mul(xs).add(p.b).T);
    expectAllclose(out.k, f32([14]));
    // inAxes given per leaf down the tree, with negative axes.
    const out2 = vmap(f, { inAxes: [{ w: -1, b: null, fixed: { k: null } }, -1] })({ ...p, w: p.w.T }, xs.T);
    expectAllclose(out2.y, p.w.mul(xs).add(p.b));
    expectAllclose(out2.k, np.stack([f32([14]), f32([14]), f32([14])]));
  });

  it("jit keeps null and undefined leaves and nested lists", () => {
    const f = jit((p: Params, x: T) => ({ y: p.w.mul(x), n: p.off, u: p.none, l: [p.layers[0], [p.layers[1].c]] }));
    const out = f(params, x);
    expect(out.n).toBeNull();
    expect(out.u).toBeUndefined();
    expectAllclose(out.l, [params.layers[0], [params.layers[1].c]]);
    expectAllclose(jit(grad(loss))(params, x), lossGrad(params, x), { atol: 1e-6 });
  });

  it("Jacobians of tree functions are trees of trees: out structure outside, in structure inside", () => {
    const f = (p: { w: T; b: T }) => ({ y: p.w.mul(p.b), z: p.w.sum() });
    const p = { w: f32([1, 2.5]), b: f32(0.5) };
    const jr = jacrev(f)(p);
    const jf = jacfwd(f)(p);
    expectAllclose(jr, jf, { atol: 1e-6 });
    expect(jr.y.w.shape).toEqual([2, 2]);
    expect(jr.y.b.shape).toEqual([2]);
    expect(jr.z.w.shape).toEqual([2]);
    expectAllclose(jr.y.b, p.w);
    expectAllclose(jr.z, { w: f32([1, 1]), b: f32(0) });
    const h = hessian((q: { w: T; b: T }) => q.w.mul(q.w).sum().mul(q.b))(p);
    expectAllclose(h, { w: { w: f32([[1, 0], [0, 1]]), b: f32([2, 5]) }, b: { w: f32([2, 5]), b: f32(0) } });
  });
});

describe("errors name the leaf or axis at fault", () => {
  it("a non-array leaf is an ArgumentError naming its path, in every transformation", () => {
    const bad = { ...params, name: "layer1" };
    const path = /\[0\]\.name is a string/;
    expect(() => grad(loss)(bad as never, x)).toThrow(ArgumentError);
    expect(() => grad(loss)(bad as never, x)).toThrow(path);
    expect(() => vmap(loss, { inAxes: [null, 0] })(bad as never, np.stack([x, x]))).toThrow(path);
    expect(() => jit(loss)(bad as never, x)).toThrow(path);
    expect(() => jvp(loss, [bad, x], [bad, x])).toThrow(ArgumentError);
    expect(() => vjp(loss, bad, x)).toThrow(path);
    expect(() => jacrev(loss)(bad as never, x)).toThrow(path);
    expect(() => grad((p: { f: () => number }) => f32(1))({ f: () => 1 })).toThrow(/\[0\]\.f is a function/);
    expect(() => grad((m: Map<string, T>) => f32(1))(new Map())).toThrow(/instance of Map/);
  });

  it("with argnums, the path names the actual argument position", () => {
    expect(() => grad((_x: T, p: unknown) => f32(1), { argnums: 1 })(x, { name: "layer1" })).toThrow(/\[1\]\.name|argument 1/);
  });

  it("an integer leaf under grad names the argument and the leaf", () => {
    expect(() => grad((_x: T, p: { w: T }) => p.w.sum().astype(np.float32), { argnums: 1 })(x, { w: np.array([1, 2], { dtype: np.int32 }) })).toThrow(
      /argument 1\.w is i32\[2\]/,
    );
  });

  it("tangents of the wrong structure or shape", () => {
    const tWrong = { w: f32([1, 1]) };
    expect(() => jvp(loss, [params, x], [tWrong, x])).toThrow(ArgumentError);
    expect(() => jvp(loss, [params, x], [tWrong, x])).toThrow(/tangents have structure .* but primals have/);
    const tShape = { ...params, w: f32([1, 1, 1]) };
    expect(() => jvp(loss, [params, x], [tShape, x])).toThrow(ShapeError);
    expect(() => jvp(loss, [params, x], [tShape, x])).toThrow(/tangent for primal \[0\]\.w is f32\[3\] but the primal is f32\[2\]/);
    expect(() => jvp(loss, [params, x], [params])).toThrow(/got 2 primals but 1 tangents/);
    const [, lin] = linearize(loss, params, x);
    expect(() => lin({ v: x }, x)).toThrow(/linearize \(jvpFn\): tangents have structure/);
  });

  it("cotangents of the wrong structure or shape", () => {
    const [, pullback] = vjp((p: Params) => ({ a: p.w, b: p.w.sum() }), params);
    expect(() => pullback({ a: f32([1, 1]) } as never)).toThrow(/cotangent has structure \{a: \*\} but the output has \{a: \*, b: \*\}/);
    expect(() => pullback({ a: f32([1, 1, 1]), b: f32(1) } as never)).toThrow(/cotangent 0 is f32\[3\] but the output is f32\[2\]/);
  });

  it("inAxes trees that do not match the arguments", () => {
    const f = (p: { w: T; b: T }, x: T) => p.w.mul(x).add(p.b);
    const p = { w: f32([1, 2]), b: f32([3, 4]) };
    const xs = np.stack([x, x, x]);
    expect(() => vmap(f, { inAxes: [{ w: null }, 0] })(p, xs)).toThrow(/axis spec at \[0\] has keys \{w\} but the value has \{b,w\}/);
    expect(() => vmap(f, { inAxes: [[null, null], 0] })(p, xs)).toThrow(/axis spec at \[0\] .*/);
    expect(() => vmap(f, { inAxes: [null] })(p, xs)).toThrow(/inAxes has 1 entries but the function was called with 2 arguments/);
    expect(() => vmap((ys: T[]) => ys[0], { inAxes: [[0, null, 0]] })([x, x])).toThrow(/axis spec at \[0\] has 3 entries but the value there has 2/);
  });

  it("an axis out of range or mapped sizes that differ name the argument", () => {
    const f = (p: { w: T; b: T }, x: T) => p.w.mul(x).add(p.b);
    const p = { w: f32([1, 2]), b: f32([3, 4]) };
    expect(() => vmap(f, { inAxes: [{ w: null, b: 1 }, 0] })(p, np.stack([x, x]))).toThrow(AxisError);
    expect(() => vmap(f, { inAxes: [{ w: null, b: 1 }, 0] })(p, np.stack([x, x]))).toThrow(/inAxes 1 is out of range for argument 0\.b of shape f32\[2\]/);
    expect(() => vmap(f, { inAxes: [{ w: 0, b: null }, 0] })(p, np.stack([x, x, x]))).toThrow(ShapeError);
    expect(() => vmap(f, { inAxes: [{ w: 0, b: null }, 0] })(p, np.stack([x, x, x]))).toThrow(/mapped axes have different sizes/);
    expect(() => vmap(f, { inAxes: [null, null] })(p, x)).toThrow(/no argument is mapped/);
  });
});
