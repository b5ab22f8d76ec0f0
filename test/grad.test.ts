// Tests of the reverse-mode and Jacobian APIs as a user calls them: grad,
// valueAndGrad (argnums, hasAux, pytrees of parameters), jvp/vjp/linearize,
// jacfwd == jacrev, hessian, higher-order grad, the IR that makeJaxpr(grad(f))
// prints, and the typed errors for bad input.

import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  DTypeError,
  ShapeError,
  TransformError,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  lax,
  linearize,
  makeJaxpr,
  np,
  valueAndGrad,
  vjp,
  type Tracer,
} from "../src/index";

const F = { dtype: "float32" } as const;
const arr = (data: unknown) => np.array(data as number[], F);
const vals = (x: unknown) => globalThis.Array.from((x as Tracer).dataSync());
const near = (got: unknown, want: number[], tol = 1e-5) => {
  const g = vals(got);
  expect(g.length, `got ${g} want ${want}`).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]), `index ${i}: got ${v}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))));
};

describe("grad and valueAndGrad", () => {
  it("grad of a scalar function has the argument's shape", () => {
    const x = arr([0.5, 1, 2]);
    const g = grad((v: Tracer) => np.sum(np.sin(v)))(x);
    expect(g.shape).toEqual([3]);
    near(g, [Math.cos(0.5), Math.cos(1), Math.cos(2)]);
  });

  it("valueAndGrad returns the value and the gradient", () => {
    const x = arr([1, 2, 3]);
    const [v, g] = valueAndGrad((y: Tracer) => np.sum(np.multiply(y, y)))(x);
    near(v, [14]);
    near(g, [2, 4, 6]);
  });

  it("argnums selects the arguments, as a number or a list (negative indices count from the end)", () => {
    const f = (a: Tracer, b: Tracer, c: Tracer) => np.sum(np.multiply(np.multiply(a, b), c));
    const a = arr([1, 2]);
    const b = arr([3, 4]);
    const c = arr([5, 6]);
    near(grad(f, { argnums: 1 })(a, b, c), [5, 12]);
    const [ga, gc] = grad(f, { argnums: [0, 2] })(a, b, c);
    near(ga, [15, 24]);
    near(gc, [3, 8]);
    near(grad(f, { argnums: -1 })(a, b, c), [3, 8]);
  });

  it("hasAux passes auxiliary outputs through undifferentiated", () => {
    const f = (x: Tracer): [Tracer, { y: Tracer; n: number }] => {
      const y = np.multiply(x, 3);
      return [np.sum(np.square(y)), { y, n: 1 }];
    };
    const x = arr([1, -1]);
    const [g, aux] = grad(f, { hasAux: true })(x);
    near(g, [18, -18]);
    near(aux.y, [3, -3]);
    const [[value, aux2], g2] = valueAndGrad(f, { hasAux: true })(x);
    near(value, [18]);
    near(aux2.y, [3, -3]);
    near(g2, [18, -18]);
  });

  it("grad over a pytree of parameters returns the same keys and nesting", () => {
    const params = { w: arr([[1, 2], [3, 4]]), b: arr([0.5, -0.5]), extra: { scale: arr(2) } };
    const x = arr([[1, 0.5]]);
    const loss = (p: typeof params, input: Tracer) => np.sum(np.multiply(np.add(lax.dot(input, p.w), p.b), p.extra.scale));
    const g = grad(loss)(params, x);
    expect(Object.keys(g).sort()).toEqual(["b", "extra", "w"]);
    expect(Object.keys(g.extra)).toEqual(["scale"]);
    expect(g.w.shape).toEqual([2, 2]);
    // d/dw sum((x w + b) s) = s x^T 1
    near(g.w, [2, 2, 1, 1]);
    near(g.b, [2, 2]);
    // x w + b = [2.5, 4] - -> sum = 6 (b cancels: 0.5 - 0.5)
    near(g.extra.scale, [6.5]);
  });

  it("grad of a list argument returns a list", () => {
    const g = grad((xs: Tracer[]) => np.sum(np.multiply(xs[0], xs[1])))([arr([1, 2]), arr([3, 4])]);
    expect(globalThis.Array.isArray(g)).toBe(true);
    near(g[0], [3, 4]);
    near(g[1], [1, 2]);
  });

  it("an unused argument gets a zero gradient", () => {
    const g = grad((a: Tracer, _b: Tracer) => np.sum(a), { argnums: 1 })(arr([1, 2]), arr([3, 4, 5]));
    near(g, [0, 0, 0]);
  });
});

describe("higher order and Jacobians", () => {
  it("grad(grad(sin)) = -sin, grad^3 = -cos", () => {
    const d2 = grad(grad((x: Tracer) => np.sin(x)));
    const d3 = grad(grad(grad((x: Tracer) => np.sin(x))));
    for (const x of [0.3, 1.1, -2]) {
      near(d2(arr(x)), [-Math.sin(x)]);
      near(d3(arr(x)), [-Math.cos(x)], 1e-4);
    }
  });

  it("second derivatives of tanh, exp*x, and a logistic loss", () => {
    const x = 0.7;
    near(grad(grad((v: Tracer) => np.tanh(v)))(arr(x)), [-2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)], 1e-4);
    near(grad(grad((v: Tracer) => np.multiply(v, np.exp(v))))(arr(x)), [(x + 2) * Math.exp(x)], 1e-4);
    const s = 1 / (1 + Math.exp(-x));
    near(grad(grad((v: Tracer) => np.log(np.add(1, np.exp(v)))))(arr(x)), [s * (1 - s)], 1e-4);
  });

  it("jacfwd == jacrev on a vector function", () => {
    const f = (v: Tracer) => np.multiply(np.sin(v), np.sum(np.square(v)));
    const x = arr([0.3, -0.5, 1.2]);
    const jf = jacfwd(f)(x);
    const jr = jacrev(f)(x);
    expect(jf.shape).toEqual([3, 3]);
    expect(jr.shape).toEqual([3, 3]);
    near(jf, vals(jr), 1e-5);
    // a hand check of one entry: d f_0 / d x_1 = sin(x0) * 2 x1
    expect(vals(jf)[1]).toBeCloseTo(Math.sin(0.3) * 2 * -0.5, 5);
  });

  it("jacfwd and jacrev shape [out..., in...] for matrix inputs and outputs", () => {
    const W = arr([[1, 2, 3], [4, 5, 6]]);
    const f = (x: Tracer) => lax.dot(W, x); // [2,3] @ [3,2] -> [2,2]
    const x = arr([[1, 0], [0, 1], [1, 1]]);
    const jf = jacfwd(f)(x);
    const jr = jacrev(f)(x);
    expect(jf.shape).toEqual([2, 2, 3, 2]);
    near(jf, vals(jr));
  });

  it("hessian of a quadratic form is A + A^T", () => {
    const A = arr([[1, 2, 0], [0, 3, 1], [4, 0, 5]]);
    const f = (x: Tracer) => np.sum(np.multiply(x, lax.dot(A, x)));
    const H = hessian(f)(arr([0.1, -2, 3]));
    expect(H.shape).toEqual([3, 3]);
    near(H, [2, 2, 4, 2, 6, 1, 4, 1, 10]);
  });

  it("jvp, vjp and linearize agree", () => {
    const f = (x: Tracer, y: Tracer) => np.multiply(np.exp(x), np.cos(y));
    const x = arr([0.1, 0.2]);
    const y = arr([1, 2]);
    const vx = arr([1, 0.5]);
    const vy = arr([-1, 2]);
    const [out, tan] = jvp(f, [x, y], [vx, vy]);
    const [out2, jvpFn] = linearize(f, x, y);
    near(out2, vals(out));
    near(jvpFn(vx, vy), vals(tan));
    const [, pb] = vjp(f, x, y);
    const u = arr([0.3, -0.7]);
    const [cx, cy] = pb(u);
    const lhs = vals(tan).reduce((s, t, i) => s + t * vals(u)[i], 0);
    const rhs = [...vals(cx).map((c, i) => c * vals(vx)[i]), ...vals(cy).map((c, i) => c * vals(vy)[i])].reduce((s, t) => s + t, 0);
    expect(lhs).toBeCloseTo(rhs, 5);
  });
});

describe("makeJaxpr(grad(f))", () => {
  it("prints the forward computation and the transposed (backward) equations", () => {
    const f = (x: Tracer) => np.sum(np.multiply(np.sin(x), x));
    const text = String(makeJaxpr(grad(f))(arr([1, 2, 3])));
    expect(text).toMatch(/^\{ lambda ; a:f32\[3\]\. let/);
    expect(text).toContain("sin a");
    expect(text).toContain("cos a");
    expect(text).toContain("reduce_sum");
    // the cotangent of sum is broadcast back, then multiplied by the saved residuals
    expect(text).toContain("broadcast_in_dim");
    expect(text).toMatch(/mul/);
    expect(text).toMatch(/in \([a-z]+\) \}$/);
  });

  it("grad of a matmul shows dot_general transposes", () => {
    const W = arr([[1, 2], [3, 4], [5, 6]]);
    const text = String(makeJaxpr(grad((w: Tracer) => np.sum(lax.dot(arr([[1, 1, 1]]), w))))(W));
    expect(text.match(/dot_general/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(text).toContain("f32[3,2]");
  });
});

describe("errors", () => {
  it("grad of a non-scalar output is a TransformError naming the output type", () => {
    expect(() => grad((x: Tracer) => np.sin(x))(arr([1, 2]))).toThrow(TransformError);
    expect(() => grad((x: Tracer) => np.sin(x))(arr([1, 2]))).toThrow(/scalar.*f32\[2\]/);
  });

  it("grad with respect to an integer input is a DTypeError naming the argument", () => {
    const x = np.array([1, 2, 3], { dtype: "int32" });
    expect(x.dtype).toBe("int32");
    expect(() => grad((v: Tracer) => np.sum(v))(x)).toThrow(DTypeError);
    expect(() => grad((v: Tracer) => np.sum(v))(x)).toThrow(/argument 0 is i32\[3\]/);
    expect(() => grad((p: { a: Tracer }) => np.sum(p.a))({ a: x })).toThrow(/argument 0\.a/);
  });

  it("argnums out of range is an ArgumentError", () => {
    expect(() => grad((a: Tracer) => np.sum(a), { argnums: 2 })(arr([1]))).toThrow(ArgumentError);
    expect(() => grad((a: Tracer) => np.sum(a), { argnums: 2 })(arr([1]))).toThrow(/argnums 2 is out of range.*1 positional/);
  });

  it("jvp with a tangent that does not match its primal is a ShapeError", () => {
    const f = (x: Tracer) => np.sin(x);
    expect(() => jvp(f, [arr([1, 2])], [arr([1, 2, 3])])).toThrow(ShapeError);
    expect(() => jvp(f, [arr([1, 2])], [arr([1, 2, 3])])).toThrow(/tangent.*f32\[3\].*primal is f32\[2\]/);
    expect(() => jvp(f, [arr([1, 2])], [])).toThrow(ArgumentError);
  });

  it("hasAux without a pair, and a pytree output, are rejected", () => {
    expect(() => grad((x: Tracer) => np.sum(x), { hasAux: true })(arr([1]))).toThrow(ArgumentError);
    expect(() => grad((x: Tracer) => ({ a: np.sum(x) }))(arr([1]))).toThrow(TransformError);
  });
});
