// Options objects are validated by every public function that takes one:
// an unknown key or a value of the wrong type throws OptionsError naming the
// function, the option and what it accepts. Table-driven over the public API.

import { describe, expect, it } from "vitest";
import { ArgumentError, DTypeError, OptionsError, checkpoint, grad, hessian, jacfwd, jacrev, jit, jvp, lax, linearize, nn, np, optim, random, valueAndGrad, vjp, vmap, type Tracer } from "../src/index";

const f = (x: Tracer) => np.sum(np.sin(x));
const x = np.array([0.5, 1, 2], { dtype: "float32" });
const key = random.key(0);
const bad = { bogusOption: 1 } as any;

/** [function name as the message gives it, a call passing `o` as its options]. */
const calls: [string, (o: any) => unknown][] = [
  ["grad", (o) => grad(f, o)(x)],
  ["valueAndGrad", (o) => valueAndGrad(f, o)(x)],
  ["jvp", (o) => jvp(f, [x], [x], o)],
  ["vmap", (o) => vmap(np.sin, o)(x)],
  ["jit", (o) => jit(f, o)(x)],
  ["jacfwd", (o) => jacfwd(np.sin, o)(x)],
  ["jacrev", (o) => jacrev(np.sin, o)(x)],
  ["hessian", (o) => hessian(f, o)(x)],
  ["checkpoint", (o) => checkpoint(f, o)(x)],
  ["lax.scan", (o) => lax.scan((c: Tracer, y: Tracer) => [c.add(y), y], np.array(0, { dtype: "float32" }), x, o)],
  ["lax.dot", (o) => lax.dot(x, x, o)],
  ["lax.sort", (o) => lax.sort(x, o)],
  ["lax.convertElementType", (o) => lax.convertElementType(x, "int32", o)],
  ["np.sum", (o) => np.sum(x, 0, o)],
  ["np.mean", (o) => np.mean(x, null, o)],
  ["np.max", (o) => np.max(x, 0, o)],
  ["np.variance", (o) => np.variance(x, 0, o)],
  ["np.argmax", (o) => np.argmax(x, 0, o)],
  ["np.cumsum", (o) => np.cumsum(x, 0, o)],
  ["np.array", (o) => np.array([1, 2], o)],
  ["np.zeros", (o) => np.zeros([2], o)],
  ["np.linspace", (o) => np.linspace(0, 1, 5, o)],
  ["np.take", (o) => np.take(x, [0, 1], 0, o)],
  ["np.pad", (o) => np.pad(x, 1, o)],
  ["np.allclose", (o) => np.allclose(x, x, o)],
  ["np.nanToNum", (o) => np.nanToNum(x, o)],
  ["nn.gelu", (o) => nn.gelu(x, o)],
  ["nn.oneHot", (o) => nn.oneHot(np.array([0, 1], { dtype: "int32" }), 3, o)],
  ["nn.dotProductAttention", (o) => nn.dotProductAttention(np.ones([2, 1, 4]), np.ones([2, 1, 4]), np.ones([2, 1, 4]), o)],
  ["random.uniform", (o) => random.uniform(key, [2], o)],
  ["random.normal", (o) => random.normal(key, [2], o)],
  ["random.categorical", (o) => random.categorical(key, x, o)],
  ["random.permutation", (o) => random.permutation(key, 4, o)],
  ["optim.sgd", (o) => optim.sgd(0.1, o)],
  ["optim.adam", (o) => optim.adam(0.1, o)],
  ["optim.adamw", (o) => optim.adamw(0.1, o)],
  ["optim.rmsprop", (o) => optim.rmsprop(0.1, o)],
];

/** [function, a wrongly typed options object, what the message must say]. */
const wrongTypes: [string, (o: any) => unknown, object, RegExp][] = [
  ["vmap", (o) => vmap(np.sin, o)(x), { inAxes: 0.5 }, /option inAxes must be an integer, null.*got 0\.5 \(not an integer\)/],
  ["vmap", (o) => vmap(np.sin, o)(x), { axisSize: -1 }, /option axisSize must be a non-negative integer, got -1/],
  ["grad", (o) => grad(f, o)(x), { hasAux: "yes" }, /option hasAux must be a boolean, got "yes"/],
  ["grad", (o) => grad(f, o)(x), { argnums: [0.5] }, /option argnums must be an integer or a list of integers/],
  ["jit", (o) => jit(f, o)(x), { staticArgnums: "0" }, /option staticArgnums must be an integer or a list of integers, got "0"/],
  ["jit", (o) => jit(f, o)(x), { backend: 1 }, /option backend must be a string/],
  ["np.sum", (o) => np.sum(x, 0, o), { keepdims: 1 }, /option keepdims must be a boolean, got 1/],
  ["np.take", (o) => np.take(x, [0], 0, o), { mode: "wrap" }, /option mode must be one of "fill", "clip", got "wrap"/],
  ["lax.scan", (o) => lax.scan((c: Tracer, y: Tracer) => [c, y], x, x, o), { length: 2.5 }, /option length must be a non-negative integer/],
  ["optim.adam", (o) => optim.adam(0.1, o), { b1: "0.9" }, /option b1 must be a finite number, got "0\.9"/],
  ["random.uniform", (o) => random.uniform(key, [2], o), { minval: "0" }, /option minval must be a number, a boolean or an array/],
];

describe("unknown options", () => {
  for (const [name, call] of calls) {
    it(`${name} rejects an unknown option and lists the accepted ones`, () => {
      let err: unknown = null;
      try {
        call(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OptionsError);
      expect(err).toBeInstanceOf(ArgumentError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${name}: unknown option "bogusOption"`)).toBe(true);
      expect(msg).toMatch(/accepts "/);
    });
    it(`${name} accepts an empty options object`, () => {
      expect(() => call({})).not.toThrow();
    });
  }
});

describe("wrongly typed options", () => {
  for (const [name, call, o, msg] of wrongTypes) {
    it(`${name} ${JSON.stringify(o)}`, () => {
      expect(() => call(o)).toThrow(OptionsError);
      expect(() => call(o)).toThrow(new RegExp(`^${name.replace(".", "\\.")}: ${msg.source}`));
    });
  }
  it("an unsupported dtype option stays a DTypeError, named by function, with the reason", () => {
    expect(() => np.sum(x, 0, { dtype: "float64" as never })).toThrow(DTypeError);
    expect(() => np.sum(x, 0, { dtype: "float64" as never })).toThrow(/^np\.sum: dtype float64 is not supported: .*tinyflow's dtypes are bool, int32, uint32, float16, float32/);
    expect(() => random.normal(key, [2], { dtype: "f32" as never })).toThrow(DTypeError);
  });
  it("a non-object options argument is rejected", () => {
    expect(() => vmap(np.sin, 0 as any)).toThrow(/vmap: the options must be a plain object \{ inAxes, outAxes, axisSize \}, got 0/);
    expect(() => grad(f, [0] as any)).toThrow(OptionsError);
  });
  it("a near miss in spelling is pointed out", () => {
    expect(() => grad(f, { has_aux: true } as any)).toThrow(/unknown option "has_aux" \(did you mean "hasAux"\?\)/);
    expect(() => vmap(np.sin, { in_axes: 0 } as any)).toThrow(/did you mean "inAxes"/);
  });
});

describe("option forms that JAX accepts", () => {
  it("jit's staticArgnums takes one integer as JAX does", () => {
    const g = jit((n: number, a: Tracer) => a.mul(n), { staticArgnums: 0 });
    expect(g(3, x).tolist()).toEqual([1.5, 3, 6]);
    expect(g(3, x).tolist()).toEqual([1.5, 3, 6]);
    expect(g.traceCount).toBe(1);
  });
  it("vjp(f, ...primals, { hasAux: true }) returns [out, vjpFn, aux]", () => {
    const h = (a: Tracer): [Tracer, Tracer] => [np.sum(np.square(a)), a.mul(10)];
    const [out, vjpFn, aux] = vjp(h, x, { hasAux: true });
    expect(Number(out)).toBeCloseTo(5.25, 5);
    expect(aux.tolist()).toEqual([5, 10, 20]);
    expect(vjpFn(np.array(1, { dtype: "float32" }))[0].tolist()).toEqual([1, 2, 4]);
  });
  it("vjp without options still treats a plain-object primal as a pytree", () => {
    const [out, vjpFn] = vjp((p: { w: Tracer }) => np.sum(p.w), { w: x });
    expect(Number(out)).toBeCloseTo(3.5, 5);
    expect(vjpFn(np.array(1, { dtype: "float32" }))[0].w.tolist()).toEqual([1, 1, 1]);
  });
  it("vjp and linearize validate the trailing options object", () => {
    expect(() => vjp(f, x, { hasAux: 1 } as any)).toThrow(/^vjp: option hasAux must be a boolean, got 1/);
    const [y, jvpFn, aux] = linearize((a: Tracer): [Tracer, Tracer] => [np.sin(a), a.sum()], x, { hasAux: true });
    expect(Number(aux)).toBeCloseTo(3.5, 5);
    expect(Array.from(jvpFn(np.ones([3])).dataSync())).toEqual(Array.from(np.cos(x).dataSync()));
    expect(y.shape).toEqual([3]);
  });
  it("jvp takes { hasAux } as its fourth argument", () => {
    const [p, t, aux] = jvp((a: Tracer): [Tracer, Tracer] => [np.sum(a.mul(a)), a], [x], [np.ones([3])], { hasAux: true });
    expect(Number(p)).toBeCloseTo(5.25, 5);
    expect(Number(t)).toBeCloseTo(7, 5);
    expect(aux.tolist()).toEqual([0.5, 1, 2]);
  });
});
