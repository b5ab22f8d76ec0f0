// jit: tracing once per signature, static and donated arguments, pytrees,
// composition with grad/vmap, lower(), constants, and typed errors.

import { describe, expect, it } from "vitest";
import { np, jit, grad, vmap, makeJaxpr, ArgumentError, TracerError, Array } from "../src/index";
import { expectAllclose } from "../src/testing";

describe("jit", () => {
  it("traces once per signature and reuses the trace", () => {
    const f = jit((x: any, y: any) => x.mul(y).add(1));
    const a = np.array([1, 2, 3], { dtype: np.float32 });
    expectAllclose(f(a, a), np.array([2, 5, 10], { dtype: np.float32 }));
    f(a.add(1), a);
    expect(f.traceCount).toBe(1);
    f(np.ones([4]), np.ones([4]));
    expect(f.traceCount).toBe(2);
    f(np.ones([4], { dtype: np.int32 }), np.ones([4], { dtype: np.int32 }));
    expect(f.traceCount).toBe(3);
  });

  it("retraces for each value of a static argument", () => {
    const f = jit((x: any, n: number) => x.mul(n), { staticArgnums: [1] });
    const x = np.array([1, 2], { dtype: np.float32 });
    expectAllclose(f(x, 3), np.array([3, 6], { dtype: np.float32 }));
    expectAllclose(f(x, 3), np.array([3, 6], { dtype: np.float32 }));
    expect(f.traceCount).toBe(1);
    expectAllclose(f(x, 5), np.array([5, 10], { dtype: np.float32 }));
    expect(f.traceCount).toBe(2);
  });

  it("hashes static arguments by value: equal fresh objects reuse the trace, mutated ones retrace", () => {
    const f = jit((x: any, cfg: { scale: number[] }) => x.mul(cfg.scale[0]), { staticArgnums: [1] });
    const x = np.array([1, 2], { dtype: np.float32 });
    const cfg = { scale: [2] };
    expectAllclose(f(x, cfg), np.array([2, 4]));
    expectAllclose(f(x, { scale: [2] }), np.array([2, 4]));
    expect(f.traceCount).toBe(1);
    cfg.scale[0] = 3;
    expectAllclose(f(x, cfg), np.array([3, 6]));
    expect(f.traceCount).toBe(2);
  });

  it("refuses static arguments with no value hash", () => {
    const f = jit((x: any, s: any) => x, { staticArgnums: [1] });
    expect(() => f(np.ones([2]), np.ones([2]))).toThrow(/static argument 1 is an array f32\[2\].*dynamic/);
    expect(() => f(np.ones([2]), { w: new Float32Array(2) })).toThrow(/static argument 1\.w is a Float32Array/);
    const cyclic: any = { a: 1 };
    cyclic.self = cyclic;
    expect(() => f(np.ones([2]), cyclic)).toThrow(ArgumentError);
  });

  it("keeps a bounded number of signatures, forgetting the least recently used", () => {
    const f = jit((x: any) => x.add(1));
    const first = np.ones([1]);
    for (let n = 1; n <= 70; n++) {
      f(np.ones([n]));
      f(first); // keeps [1] recently used
    }
    expect(f.traceCount).toBe(70);
    f(first);
    expect(f.traceCount).toBe(70);
    f(np.ones([2])); // evicted long ago: traced again
    expect(f.traceCount).toBe(71);
  });

  it("static arguments may drive JS control flow", () => {
    const f = jit((x: any, neg: boolean) => (neg ? x.neg() : x), { staticArgnums: [1] });
    expectAllclose(f(np.array([1.5]), true), np.array([-1.5]));
  });

  it("invalidates donated inputs", () => {
    const f = jit((x: any) => x.add(1), { donateArgnums: [0] });
    const x = np.zeros([3]);
    const y = f(x);
    expectAllclose(y, np.ones([3]));
    expect((x as Array).isDisposed).toBe(true);
    expect(() => x.dataSync()).toThrow(/donated to jit/);
  });

  it("accepts and returns pytrees", () => {
    const f = jit((p: { w: any; b: any }, x: any) => ({ out: x.mul(p.w).add(p.b), w: p.w }));
    const r = f({ w: np.array([2], { dtype: np.float32 }), b: np.array([1], { dtype: np.float32 }) }, np.array([3], { dtype: np.float32 }));
    expectAllclose(r.out, np.array([7], { dtype: np.float32 }));
    expect(Object.keys(r).sort()).toEqual(["out", "w"]);
  });

  it("is a pjit equation inside other traces, and composes with grad and vmap", () => {
    const f = jit((x: any) => np.sin(x).mul(x));
    const text = String(makeJaxpr((x: any) => f(x).sum())(np.ones([3])));
    expect(text).toContain("pjit[");
    const x = np.array([0.5, 1, 2], { dtype: np.float32 });
    const g = grad((x: any) => f(x).sum())(x);
    const expected = np.sin(x).add(x.mul(np.cos(x)));
    expectAllclose(g, expected, { atol: 1e-6 });
    expectAllclose(jit(grad((x: any) => f(x).sum()))(x), expected, { atol: 1e-6 });
    expectAllclose(vmap(f)(np.stack([x, x])), np.stack([f(x), f(x)]));
    expectAllclose(jit(vmap(grad((x: any) => f(x).sum())))(np.stack([x, x])), np.stack([expected, expected]), { atol: 1e-6 });
  });

  it("lower() shows the traced jaxpr", () => {
    const f = jit((x: any) => np.exp(x).sum());
    const lowered = f.lower(np.ones([2, 2]));
    expect(lowered.text()).toMatch(/exp/);
    expect(lowered.text()).toMatch(/reduce_sum/);
  });

  it("closes over arrays as constants", () => {
    const w = np.array([1, 2, 3], { dtype: np.float32 });
    const f = jit((x: any) => x.mul(w));
    expectAllclose(f(np.ones([3])), w);
  });

  it("gives typed errors for bad static/donate argnums and escaped tracers", () => {
    expect(() => jit((x: any) => x, { staticArgnums: [3] })(np.ones([1]))).toThrow(ArgumentError);
    let leaked: any = null;
    jit((x: any) => {
      leaked = x;
      return x;
    })(np.ones([2]));
    expect(() => leaked.add(1)).toThrow(TracerError);
  });

  it("rejects concrete access to traced values with a helpful message", () => {
    const f = jit((x: any) => (x.sum().item() > 0 ? x : x.neg()));
    expect(() => f(np.ones([2]))).toThrow(/lax.cond/);
  });

  it("constants that JSON cannot tell apart (NaN, ±Infinity) get kernels of their own", () => {
    const x = np.array([1, 2, 3, 4]);
    for (const c of [NaN, Infinity, -Infinity, NaN, Infinity]) {
      const out = globalThis.Array.from(jit((v: any) => np.maximum(v.mul(0), c))(x).dataSync() as Float32Array);
      expect(out, `max(0, ${c})`).toEqual(new globalThis.Array(4).fill(Math.max(0, c)));
    }
  });
});
