// Structured control flow (lax.cond / switch / whileLoop / foriLoop / scan):
// values, and every transformation over them — jvp, grad (against the
// unrolled loop / the taken branch), vmap (batched predicates included), jit
// — plus the typed errors of the API and of reverse mode through whileLoop.

import { describe, expect, it } from "vitest";
import { ArgumentError, DTypeError, ShapeError, TransformError, checkJaxpr, grad, hessian, jacfwd, jacrev, jit, jvp, lax, linearize, makeJaxpr, nn, np, vmap, type Tracer } from "../src/index";

type T = Tracer;

function f32(data: unknown): T {
  return np.array(data as number[], { dtype: "float32" });
}

function flat(x: unknown): number[] {
  const l = (x as T).tolist();
  return (Array.isArray(l) ? (l as unknown[]).flat(Infinity) : [l]) as number[];
}

function expectClose(actual: unknown, expected: unknown, tol = 1e-4): void {
  const a = flat(actual);
  const e = typeof expected === "number" ? [expected] : Array.isArray(expected) ? (expected.flat(Infinity) as number[]) : flat(expected);
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => {
    if (Math.abs(v - e[i]) > tol * (1 + Math.abs(e[i]))) {
      throw new Error(`mismatch at ${i}: got ${v}, expected ${e[i]} (actual ${JSON.stringify(a)}, expected ${JSON.stringify(e)})`);
    }
  });
}

// --- shared test functions -------------------------------------------------------

/** A nonlinear recurrence with a pytree carry and ys. */
function rnn(W: T, xs: T): [{ h: T; n: T }, { out: T; sq: T }] {
  return lax.scan(
    (c: { h: T; n: T }, x: T) => {
      const h = np.tanh(np.matmul(W, c.h).add(x));
      return [{ h, n: c.n.add(h.sum()) }, { out: h.mul(2), sq: c.n.mul(c.n) }];
    },
    { h: np.ones([2]), n: f32(0.5) },
    xs,
  );
}

function rnnUnrolled(W: T, xs: T): [{ h: T; n: T }, { out: T; sq: T }] {
  let c = { h: np.ones([2]) as T, n: f32(0.5) };
  const outs: T[] = [];
  const sqs: T[] = [];
  for (let i = 0; i < xs.shape[0]; i++) {
    const h = np.tanh(np.matmul(W, c.h).add(xs.slice(i)));
    outs.push(h.mul(2));
    sqs.push(c.n.mul(c.n));
    c = { h, n: c.n.add(h.sum()) };
  }
  return [c, { out: np.stack(outs), sq: np.stack(sqs) }];
}

const W0 = f32([[0.5, -0.3], [0.2, 0.8]]);
const XS0 = f32([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6], [0.7, 0.1]]);

const rnnLoss = (W: T, xs: T) => {
  const [c, ys] = rnn(W, xs);
  return c.h.sum().add(c.n).add(ys.out.sum()).add(ys.sq.sum().mul(0.1));
};
const rnnUnrolledLoss = (W: T, xs: T) => {
  const [c, ys] = rnnUnrolled(W, xs);
  return c.h.sum().add(c.n).add(ys.out.sum()).add(ys.sq.sum().mul(0.1));
};

// --- cond / switch -----------------------------------------------------------------

describe("cond and switch: values", () => {
  it("picks the branch by a bool or integer predicate (branch 0 is falseFn)", () => {
    const x = f32([1, 2, 3]);
    const tf = (a: T) => a.mul(2);
    const ff = (a: T) => a.add(1);
    expectClose(lax.cond(true, tf, ff, x), [2, 4, 6]);
    expectClose(lax.cond(false, tf, ff, x), [2, 3, 4]);
    expectClose(lax.cond(np.array(5, { dtype: "int32" }), tf, ff, x), [2, 4, 6]);
    expectClose(lax.cond(0, tf, ff, x), [2, 3, 4]);
    expectClose(lax.cond(x.sum().gt(10), tf, ff, x), [2, 3, 4]);
  });

  it("takes and returns pytrees, and reconciles weakly typed outputs", () => {
    const ops = { a: f32([1, 2]), b: [f32(3)] };
    const out = lax.cond(
      true,
      (o: typeof ops) => ({ s: o.a.sum().add(o.b[0]), k: 1 }),
      (o: typeof ops) => ({ s: o.b[0], k: f32(2) }),
      ops,
    ) as { s: T; k: T };
    expectClose(out.s, 6);
    expectClose(out.k, 1);
    expect(out.k.dtype).toBe("float32");
  });

  it("works without operands", () => {
    expectClose(lax.cond(true, () => 1, () => 2), 1);
    expectClose(lax.cond(false, () => f32(1.5), () => 2), 2);
    expect(lax.cond(false, () => f32(1.5), () => 2).dtype).toBe("float32");
  });

  it("switch clamps the index into range", () => {
    const branches = [(x: T) => x.add(1), (x: T) => x.mul(10), (x: T) => x.neg()];
    const x = f32(2);
    expectClose(lax.switch(0, branches, x), 3);
    expectClose(lax.switch(1, branches, x), 20);
    expectClose(lax.switch(2, branches, x), -2);
    expectClose(lax.switch(7, branches, x), -2);
    expectClose(lax.switch(-3, branches, x), 3);
  });

  it("closes over outer values, which become explicit operands", () => {
    const y = f32([10, 20]);
    const f = (x: T) => lax.cond(x.sum().gt(0), (a: T) => a.mul(y), (a: T) => a.sub(y), x);
    expectClose(f(f32([1, 2])), [10, 40]);
    const text = String(makeJaxpr(f)(f32([1, 2])));
    expect(text).toContain("cond[");
  });
});

describe("cond and switch: transformations", () => {
  const f = (x: T) => lax.cond(x.sum().gt(0), (a: T) => a.mul(a).sum(), (a: T) => np.sin(a).sum(), x);

  it("jvp matches the taken branch", () => {
    const x = f32([1, 2, 3]);
    const v = f32([0.5, -1, 2]);
    const [y, t] = jvp(f, [x], [v]);
    expectClose(y, 14);
    expectClose(t, 2 * (0.5 - 2 + 6));
    const xn = f32([-1, -2, 0.5]);
    const [, tn] = jvp(f, [xn], [v]);
    expectClose(tn, 0.5 * Math.cos(-1) - Math.cos(-2) + 2 * Math.cos(0.5));
  });

  it("grad equals the grad of the taken branch (concrete and traced predicate)", () => {
    const x = f32([1, 2, 3]);
    expectClose(grad(f)(x), [2, 4, 6]);
    const xn = f32([-1, -2, 0.5]);
    expectClose(grad(f)(xn), [Math.cos(-1), Math.cos(-2), Math.cos(0.5)]);
    // Under jit the predicate is abstract: the general partial-eval path with residuals from every branch.
    expectClose(jit(grad(f))(x), [2, 4, 6]);
    expectClose(jit(grad(f))(xn), [Math.cos(-1), Math.cos(-2), Math.cos(0.5)]);
  });

  it("grad of switch with three branches under jit", () => {
    const g = (i: T, x: T) => lax.switch(i, [(a: T) => a.mul(a).sum(), (a: T) => np.exp(a).sum(), (a: T) => a.sum().mul(3)], x);
    const x = f32([0.5, -1]);
    const dg = jit((i: T, x: T) => grad((x: T) => g(i, x))(x));
    expectClose(dg(np.array(0, { dtype: "int32" }), x), [1, -2]);
    expectClose(dg(np.array(1, { dtype: "int32" }), x), [Math.exp(0.5), Math.exp(-1)]);
    expectClose(dg(np.array(2, { dtype: "int32" }), x), [3, 3]);
  });

  it("grad flows into closed-over values and pytree operands", () => {
    const h = (w: T, x: T) => lax.cond(x.gt(0), (p: { w: T; x: T }) => p.w.mul(p.x), (p: { w: T; x: T }) => p.w.mul(p.w), { w, x });
    const [gw, gx] = grad(h, { argnums: [0, 1] })(f32(3), f32(2)) as T[];
    expectClose(gw, 2);
    expectClose(gx, 3);
    const [gw2, gx2] = grad(h, { argnums: [0, 1] })(f32(3), f32(-2)) as T[];
    expectClose(gw2, 6);
    expectClose(gx2, 0);
  });

  it("vmap with an unbatched predicate keeps cond; a batched predicate selects per lane", () => {
    const xs = f32([[1, 2], [-3, -4], [5, -6]]);
    const g = (x: T) => lax.cond(x.sum().gt(0), (a: T) => a.mul(10), (a: T) => a.neg(), x);
    expectClose(vmap(g)(xs), [[10, 20], [3, 4], [-5, 6]]);
    const h = (p: T | boolean, x: T) => lax.cond(p, (a: T) => a.mul(10), (a: T) => a.neg(), x);
    expectClose(vmap(h, { inAxes: [null, 0] })(true, xs), [[10, 20], [-30, -40], [50, -60]]);
    const sw = (i: T, x: T) => lax.switch(i, [(a: T) => a.add(1), (a: T) => a.mul(2), (a: T) => a.neg()], x);
    expectClose(vmap(sw)(np.array([2, 0, 9], { dtype: "int32" }), f32([1, 2, 3])), [-1, 3, -3]);
  });

  it("vmap of grad of cond with a batched predicate", () => {
    const k = (x: T) => lax.cond(x.sum().gt(0), (a: T) => a.mul(a).sum(), (a: T) => np.sin(a).sum(), x);
    const xs = f32([[1, 2], [-1, -0.5]]);
    expectClose(vmap(grad(k))(xs), [[2, 4], [Math.cos(-1), Math.cos(-0.5)]]);
  });

  it("hessian through cond, and cond inside scan under grad / jit / vmap", () => {
    const cube = (x: T) => lax.cond(x.sum().gt(0), (a: T) => a.mul(a).mul(a).sum(), (a: T) => a.sum(), x);
    expectClose(hessian(cube)(f32([0.5, -1, 2])), [[3, 0, 0], [0, -6, 0], [0, 0, 12]]);
    const cs = (x: T) => lax.scan((c: T, xi: T) => [lax.cond(xi.gt(0), (a: T) => a.mul(xi), (a: T) => np.sin(a), c), c], f32(1.5), x)[0];
    // x = [0.5, -1, 2]: c = 2 * sin(1.5 * 0.5)
    const want = [2 * Math.cos(0.75) * 1.5, 0, Math.sin(0.75)];
    const x = f32([0.5, -1, 2]);
    expectClose(grad(cs)(x), want);
    expectClose(jit(grad(cs))(x), want);
    expectClose(vmap(grad(cs))(np.stack([x, x])), [want, want]);
    checkJaxpr(makeJaxpr(vmap(grad(cs)))(np.stack([x, x])));
  });

  it("jit of cond", () => {
    const j = jit(f);
    expectClose(j(f32([1, 2, 3])), 14);
    expectClose(j(f32([-1, -2, -3])), Math.sin(-1) + Math.sin(-2) + Math.sin(-3));
  });
});

describe("cond and switch: errors", () => {
  it("branch outputs of different types raise a ShapeError naming both", () => {
    const x = f32([1, 2]);
    expect(() => lax.cond(true, (a: T) => a, (a: T) => a.sum(), x)).toThrow(ShapeError);
    expect(() => lax.cond(true, (a: T) => a, (a: T) => a.sum(), x)).toThrow(/f32\[2\].*f32\[\]/);
    expect(() => lax.cond(true, (a: T) => a, (a: T) => np.array([1, 2], { dtype: "int32" }), x)).toThrow(/i32\[2\]/);
    expect(() => lax.cond(true, (a: T) => [a, a], (a: T) => a, x)).toThrow(ShapeError);
    // A JS float cannot silently become an int32 output.
    expect(() => lax.cond(true, () => np.array([1, 2], { dtype: "int32" }).sum(), () => 2.5)).toThrow(ShapeError);
  });

  it("a float predicate or a non-scalar one is rejected", () => {
    expect(() => lax.cond(f32(1), (a: T) => a, (a: T) => a, f32(1))).toThrow(DTypeError);
    expect(() => lax.cond(np.array([true, false]), (a: T) => a, (a: T) => a, f32(1))).toThrow(ShapeError);
    expect(() => lax.switch(0, [], f32(1))).toThrow(ArgumentError);
  });
});

// --- scan ----------------------------------------------------------------------------

describe("scan: values", () => {
  it("cumulative sum, forward and reverse", () => {
    const xs = f32([1, 2, 3, 4]);
    const [c, ys] = lax.scan((c: T, x: T) => [c.add(x), c], f32(0), xs);
    expectClose(c, 10);
    expectClose(ys, [0, 1, 3, 6]);
    const [cr, ysr] = lax.scan((c: T, x: T) => [c.add(x), c], f32(0), xs, { reverse: true });
    expectClose(cr, 10);
    expectClose(ysr, [9, 7, 4, 0]);
  });

  it("pytree carry and ys match the unrolled loop", () => {
    const [c, ys] = rnn(W0, XS0);
    const [cu, ysu] = rnnUnrolled(W0, XS0);
    expectClose(c.h, cu.h);
    expectClose(c.n, cu.n);
    expectClose(ys.out, ysu.out);
    expectClose(ys.sq, ysu.sq);
  });

  it("xs = null with length, and ys = null", () => {
    const [c, ys] = lax.scan((c: T) => [c.mul(2), c], f32(1), null, { length: 5 });
    expectClose(c, 32);
    expectClose(ys, [1, 2, 4, 8, 16]);
    const [c2, ys2] = lax.scan((c: T, x: T) => [c.add(x), null], f32(0), f32([1, 2]));
    expectClose(c2, 3);
    expect(ys2).toBeNull();
    const [c3, ys3] = lax.scan((c: T) => [c.add(1), c], f32(0), undefined, { length: 0 });
    expectClose(c3, 0);
    expect(ys3.shape).toEqual([0]);
  });

  it("a weakly typed initial carry takes the body's dtype", () => {
    const [c] = lax.scan((c: T, x: T) => [c.add(x), null], 0, f32([1.5, 2]));
    expect(c.dtype).toBe("float32");
    expectClose(c, 3.5);
  });
});

describe("scan: transformations", () => {
  it("jvp matches the unrolled loop", () => {
    const v = f32([[1, 0], [0.5, -1]]);
    const [y, t] = jvp((W: T) => rnnLoss(W, XS0), [W0], [v]);
    const [yu, tu] = jvp((W: T) => rnnUnrolledLoss(W, XS0), [W0], [v]);
    expectClose(y, yu);
    expectClose(t, tu);
  });

  it("grad equals the grad of the unrolled loop, for consts, init and xs", () => {
    const [gW, gxs] = grad(rnnLoss, { argnums: [0, 1] })(W0, XS0) as T[];
    const [gWu, gxsu] = grad(rnnUnrolledLoss, { argnums: [0, 1] })(W0, XS0) as T[];
    expectClose(gW, gWu);
    expectClose(gxs, gxsu);
    const viaInit = (h0: T) => lax.scan((h: T, x: T) => [np.sin(h.mul(x)), h.sum()], h0, XS0)[1].sum();
    const viaInitU = (h0: T) => {
      let h = h0;
      let s: T = f32(0);
      for (let i = 0; i < 4; i++) {
        s = s.add(h.sum());
        h = np.sin(h.mul(XS0.slice(i)));
      }
      return s;
    };
    expectClose(grad(viaInit)(f32([0.3, -0.7])), grad(viaInitU)(f32([0.3, -0.7])));
  });

  it("grad of a reverse scan and of nested scans", () => {
    const rev = (x: T) => lax.scan((c: T, xi: T) => [c.mul(xi).add(np.sin(xi)), c], f32(1), x, { reverse: true })[1].sum();
    const revU = (x: T) => {
      let c = f32(1);
      let s = f32(0);
      for (let i = x.shape[0] - 1; i >= 0; i--) {
        s = s.add(c);
        c = c.mul(x.slice(i)).add(np.sin(x.slice(i)));
      }
      return s;
    };
    const x = f32([0.5, 1.5, -0.7, 2]);
    expectClose(grad(rev)(x), grad(revU)(x));
    const nested = (m: T) => lax.scan((c: T, row: T) => [lax.scan((d: T, v: T) => [d.mul(v).add(1), null], c, row)[0], null], f32(1), m)[0];
    const nestedU = (m: T) => {
      let c = f32(1);
      for (let i = 0; i < m.shape[0]; i++) for (let j = 0; j < m.shape[1]; j++) c = c.mul(m.slice(i, j)).add(1);
      return c;
    };
    const m = f32([[0.5, 2], [1.5, -1]]);
    expectClose(grad(nested)(m), grad(nestedU)(m));
  });

  it("second derivatives through scan", () => {
    const f = (x: T) => lax.scan((c: T, _: null) => [np.sin(c).mul(x), null], x, null, { length: 3 })[0];
    const fu = (x: T) => {
      let c = x;
      for (let i = 0; i < 3; i++) c = np.sin(c).mul(x);
      return c;
    };
    expectClose(grad(grad(f))(f32(0.7)), grad(grad(fu))(f32(0.7)));
    expectClose(jacfwd(grad(f))(f32(0.7)), grad(grad(fu))(f32(0.7)));
  });

  it("vmap matches stacking per-example results; batched consts, carry and xs", () => {
    const Ws = np.stack([W0, W0.mul(-1), W0.T]);
    const xss = np.stack([XS0, XS0.mul(2), XS0.neg()]);
    const out = vmap(rnnLoss)(Ws, xss);
    expectClose(out, [0, 1, 2].map((i) => flat(rnnLoss(Ws.slice(i), xss.slice(i)))[0]));
    const onlyXs = vmap(rnnLoss, { inAxes: [null, 1] })(W0, np.moveaxis(xss, 0, 1));
    expectClose(onlyXs, [0, 1, 2].map((i) => flat(rnnLoss(W0, xss.slice(i)))[0]));
    const ys = vmap((xs: T) => rnn(W0, xs)[1].out)(xss);
    expectClose(ys, np.stack([0, 1, 2].map((i) => rnn(W0, xss.slice(i))[1].out)));
  });

  it("jacrev and jacfwd of scan agree; an int carry rides along", () => {
    const f = (x: T) => lax.scan((c: T, xi: T) => [c.mul(xi), c], f32(1), x)[1];
    const x = f32([0.5, -1, 2]);
    expectClose(jacrev(f)(x), [[0, 0, 0], [1, 0, 0], [-1, 0.5, 0]]);
    expectClose(jacfwd(f)(x), [[0, 0, 0], [1, 0, 0], [-1, 0.5, 0]]);
    const g = (x: T) => lax.scan((c: [T, T], xi: T) => [[c[0].add(1), c[1].mul(xi).add(c[0])] as [T, T], null], [np.array(0, { dtype: "int32" }), f32(1)] as [T, T], x)[0][1];
    expectClose(grad(g)(x), [-2, 1, 0.5]);
  });

  it("vmap of grad of scan", () => {
    const Ws = np.stack([W0, W0.mul(0.5)]);
    const g = vmap(grad(rnnLoss))(Ws, np.stack([XS0, XS0]));
    expectClose(g, np.stack([grad(rnnUnrolledLoss)(W0, XS0), grad(rnnUnrolledLoss)(W0.mul(0.5), XS0)]));
  });

  it("jit of scan and of grad of scan", () => {
    expectClose(jit(rnnLoss)(W0, XS0), rnnUnrolledLoss(W0, XS0));
    expectClose(jit(grad(rnnLoss))(W0, XS0), grad(rnnUnrolledLoss)(W0, XS0));
  });

  it("the linearized scan keeps loop-invariant residuals out of the stacked ones", () => {
    const text = String(makeJaxpr(grad(rnnLoss))(W0, XS0));
    expect(text).toMatch(/reverse=True/);
    // W (f32[2,2]) is a const of the backward scan, never stacked as f32[4,2,2].
    expect(text).not.toContain("f32[4,2,2]");
  });
});

describe("scan: residuals of the linearized body", () => {
  // A gated cell: c' = σ(a)·c + σ(b)·tanh(a·b), h = tanh(c'), each activation's value used by the
  // cell itself, so the backward scan needs it as a residual anyway.
  const cell = (c: T, x: T): [T, T] => {
    const a = x.mul(1.5), b = x.sub(0.5);
    const next = nn.sigmoid(a).mul(c).add(nn.sigmoid(b).mul(np.tanh(a.mul(b))));
    return [next, np.tanh(next)];
  };
  const loss = (c0: T, xs: T) => {
    const [c, hs] = lax.scan(cell, c0, xs);
    return c.sum().add((hs as T).sum());
  };
  const unrolled = (c0: T, xs: T) => {
    let c = c0, total = f32(0);
    for (let t = 0; t < xs.shape[0]; t++) {
      const [next, h] = cell(c, xs.slice(t));
      c = next;
      total = total.add(h.sum());
    }
    return c.sum().add(total);
  };
  const C0 = f32([0.2, -0.4, 0.1]);
  const XS = f32([[0.5, -1, 2], [0.3, 0.2, -0.7], [1.5, 0.1, 0.4], [-0.2, 0.9, 0.05]]);

  it("derivatives the backward scan can recompute from saved values (σ(1−σ), 1−tanh²) are not saved", () => {
    const text = String(makeJaxpr(grad(loss, { argnums: [0, 1] }))(C0, XS));
    const forward = text.slice(0, text.indexOf("reverse=True"));
    // Stacked ys: the hs, and the residuals c, a, b, σ(a), σ(b), tanh(a·b) and 1−tanh²(c') (tanh(c')
    // itself is not needed): eight [4,3] ys, where saving σ(a)(1−σ(a)), σ(b)(1−σ(b)) and
    // 1−tanh²(a·b) too would make eleven.
    const scanOutputs = /((?:\w+:f32\[[\d,]*\] )+)= scan\[/.exec(forward)![1];
    expect(scanOutputs.match(/f32\[4,3\]/g)!.length).toBe(8);
    checkJaxpr(makeJaxpr(grad(loss, { argnums: [0, 1] }))(C0, XS));
    const want = grad(unrolled, { argnums: [0, 1] })(C0, XS) as T[];
    for (const g of [grad(loss, { argnums: [0, 1] }), jit(grad(loss, { argnums: [0, 1] }))]) {
      const got = g(C0, XS) as T[];
      got.forEach((x, i) => expectClose(x, want[i]));
    }
  });
});

describe("whileLoop/foriLoop: carry types are checked (as JAX)", () => {
  it("a body that changes the carry's shape or dtype raises a ShapeError", () => {
    expect(() => lax.whileLoop((c: T) => np.less(c.sum(), 10), (c: T) => np.concatenate([c, c]), f32([1, 1]))).toThrow(/f32\[2\].*f32\[4\]/);
    expect(() => lax.whileLoop((c: T) => np.less(c.sum(), 10), (c: T) => c.astype("int32"), f32([1, 1]))).toThrow(ShapeError);
    expect(() => lax.foriLoop(0, 3, (_i: T, c: T) => c.astype("int32"), f32([1, 1]))).toThrow(ShapeError);
  });
});

describe("scan: errors", () => {
  it("a carry that changes type raises a ShapeError naming the leaf", () => {
    expect(() => lax.scan((c: { h: T }, x: T) => [{ h: c.h.sum() }, null], { h: f32([1, 2]) }, f32([1, 2, 3]))).toThrow(ShapeError);
    expect(() => lax.scan((c: { h: T }, x: T) => [{ h: c.h.sum() }, null], { h: f32([1, 2]) }, f32([1, 2, 3]))).toThrow(/\.h/);
    expect(() => lax.scan((c: T) => [c.astype("int32"), null], f32(1), null, { length: 2 })).toThrow(ShapeError);
    expect(() => lax.scan((c: T) => [[c, c] as any, null], f32(1), null, { length: 2 })).toThrow(ShapeError);
  });

  it("xs with the wrong leading size raise a ShapeError", () => {
    expect(() => lax.scan((c: T, x: T) => [c, x], f32(0), f32([1, 2, 3]), { length: 4 })).toThrow(ShapeError);
    expect(() => lax.scan((c: T, x: { a: T; b: T }) => [c, x.a], f32(0), { a: f32([1, 2, 3]), b: f32([1, 2]) })).toThrow(/xs leaf \.b/);
    expect(() => lax.scan((c: T, x: T) => [c, x], f32(0), f32(3))).toThrow(ShapeError);
    expect(() => lax.scan((c: T) => [c, null], f32(0), null)).toThrow(ArgumentError);
  });
});

// --- while / fori ------------------------------------------------------------------

describe("whileLoop and foriLoop: values", () => {
  it("whileLoop with a pytree carry", () => {
    const out = lax.whileLoop((c: { i: T; x: T }) => c.i.lt(5), (c: { i: T; x: T }) => ({ i: c.i.add(1), x: c.x.mul(2) }), { i: np.array(0, { dtype: "int32" }), x: f32([1, 3]) });
    expectClose(out.i, 5);
    expectClose(out.x, [32, 96]);
    expect(lax.whileLoop((c: T) => c.lt(0), (c: T) => c.add(1), np.array(3, { dtype: "int32" })).tolist()).toBe(3);
  });

  it("foriLoop with static and traced bounds", () => {
    expectClose(lax.foriLoop(0, 5, (i: T, v: T) => v.add(i), f32(0)), 10);
    expectClose(lax.foriLoop(2, 2, (i: T, v: T) => v.add(i), f32(7)), 7);
    const traced = jit((n: T) => lax.foriLoop(np.array(1, { dtype: "int32" }), n, (i: T, v: T) => v.mul(i), f32(1)));
    expectClose(traced(np.array(5, { dtype: "int32" })), 24);
    const text = String(makeJaxpr((n: T) => lax.foriLoop(0, n, (i: T, v: T) => v.add(i), f32(0)))(np.array(3, { dtype: "int32" })));
    expect(text).toContain("while[");
    expect(String(makeJaxpr((x: T) => lax.foriLoop(0, 3, (i: T, v: T) => v.add(i), x))(f32(0)))).toContain("scan[");
  });
});

describe("whileLoop and foriLoop: transformations", () => {
  const pow4 = (x: T) => lax.whileLoop((c: [T, T]) => c[0].lt(3), (c: [T, T]) => [c[0].add(1), c[1].mul(x)] as [T, T], [np.array(0, { dtype: "int32" }), x] as [T, T])[1];

  it("jvp and linearize through whileLoop", () => {
    const x = f32([1, 2, 3]);
    const [y, t] = jvp(pow4, [x], [f32([1, 1, 0.5])]);
    expectClose(y, [1, 16, 81]);
    expectClose(t, [4, 32, 54]);
    const [y2, lin] = linearize(pow4, x);
    expectClose(y2, [1, 16, 81]);
    expectClose(lin(f32([1, 1, 0.5])), [4, 32, 54]);
    expectClose(jacfwd((x: T) => pow4(x).sum())(x), [4, 32, 108]);
  });

  it("reverse mode through whileLoop raises a TransformError pointing to scan / foriLoop", () => {
    const loss = (x: T) => pow4(x).sum();
    expect(() => grad(loss)(f32([1, 2]))).toThrow(TransformError);
    expect(() => grad(loss)(f32([1, 2]))).toThrow(/scan|foriLoop/);
  });

  it("grad of foriLoop with static bounds equals the unrolled loop", () => {
    const f = (x: T) => lax.foriLoop(0, 4, (i: T, v: T) => np.sin(v).mul(x).add(i), x);
    const fu = (x: T) => {
      let v = x;
      for (let i = 0; i < 4; i++) v = np.sin(v).mul(x).add(i);
      return v;
    };
    expectClose(grad(f)(f32(0.8)), grad(fu)(f32(0.8)));
    expectClose(f(f32(0.8)), fu(f32(0.8)));
  });

  it("vmap of whileLoop: lanes finish at different times", () => {
    const dbl = (x: T) => lax.whileLoop((c: T) => c.lt(10), (c: T) => c.mul(2), x);
    expectClose(vmap(dbl)(f32([1, 2, 3, 11])), [16, 16, 12, 11]);
    // A batched bound, an unbatched carry start and a per-lane step count.
    const steps = (n: T) => lax.whileLoop((c: [T, T]) => c[0].lt(n), (c: [T, T]) => [c[0].add(1), c[1].mul(1.5)] as [T, T], [np.array(0, { dtype: "int32" }), f32(1)] as [T, T]);
    const [ks, vs] = vmap(steps)(np.array([0, 3, 1], { dtype: "int32" }));
    expectClose(ks, [0, 3, 1]);
    expectClose(vs, [1, 3.375, 1.5]);
    // Unbatched predicate, batched carry.
    const scale = (x: T) => lax.whileLoop((c: [T, T]) => c[0].lt(3), (c: [T, T]) => [c[0].add(1), c[1].mul(x)] as [T, T], [np.array(0, { dtype: "int32" }), f32(1)] as [T, T])[1];
    expectClose(vmap(scale)(f32([2, 3])), [8, 27]);
    // vmap of a traced-bound foriLoop, and jvp under vmap.
    expectClose(vmap((n: T) => lax.foriLoop(0, n, (i: T, v: T) => v.add(i), f32(0)))(np.array([3, 5], { dtype: "int32" })), [3, 10]);
    expectClose(vmap((x: T) => jvp(pow4, [x], [f32(1)])[1])(f32([1, 2])), [4, 32]);
  });

  it("nested vmap and jacfwd of a batched-predicate whileLoop; the jaxprs type-check", () => {
    const dbl = (x: T) => lax.whileLoop((c: T) => c.lt(10), (c: T) => c.mul(2), x);
    expectClose(vmap(vmap(dbl))(f32([[1, 2], [3, 11]])), [[16, 16], [12, 11]]);
    expectClose(jacfwd(vmap(dbl))(f32([1, 3])), [[16, 0], [0, 4]]);
    checkJaxpr(makeJaxpr(vmap(dbl))(f32([1, 3])));
    checkJaxpr(makeJaxpr((x: T) => jvp(dbl, [x], [x]))(f32(1)));
  });

  it("jit of whileLoop", () => {
    const f = jit((x: T) => lax.whileLoop((c: T) => c.sum().lt(100), (c: T) => c.mul(3), x));
    expectClose(f(f32([1, 2])), [81, 162]);
  });
});

describe("whileLoop: errors", () => {
  it("a body that changes the carry type raises a ShapeError; condFn must return a bool scalar", () => {
    expect(() => lax.whileLoop((c: T) => c.sum().lt(3), (c: T) => np.concatenate([c, c]), f32([1]))).toThrow(ShapeError);
    expect(() => lax.whileLoop((c: { a: T }) => c.a.lt(3), (c: { a: T }) => ({ a: c.a.astype("int32") }), { a: f32(1) })).toThrow(/\.a/);
    expect(() => lax.whileLoop((c: T) => c, (c: T) => c, f32(1))).toThrow(DTypeError);
  });
});
