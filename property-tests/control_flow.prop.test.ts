// Properties of structured control flow over random inputs (fast-check):
// grad(scan) equals the grad of the unrolled JS loop (forward and reverse,
// eager and under jit), grad(cond) equals the grad of the branch it takes
// (concrete and abstract predicate), and vmap(scan) equals stacking the
// per-example scans; grad(scan) of a gated cell, whose activation derivatives
// partial evaluation recomputes instead of saving, equals the unrolled loop's.
// NUM_RUNS sets the number of cases (default 15).

import fc from "fast-check";
import { describe, it } from "vitest";
import { Array as TArray, grad, jit, lax, np, vmap, type Tracer } from "../src/index";

type T = Tracer;
const numRuns = Number(process.env.NUM_RUNS ?? 15);

const floats = (n: number, lo = -1.5, hi = 1.5) =>
  fc.array(fc.integer({ min: Math.round(lo * 100), max: Math.round(hi * 100) }), { minLength: n, maxLength: n }).map((v) => v.map((x) => x / 100));

function arr(values: number[], shape: number[]): T {
  return TArray.fromTyped(Float32Array.from(values), shape, "float32");
}

function flat(x: T): number[] {
  return globalThis.Array.from(x.dataSync() as Float32Array);
}

function assertClose(a: T, b: T, what: string, tol = 2e-3): void {
  const x = flat(a);
  const y = flat(b);
  if (x.length !== y.length) throw new Error(`${what}: sizes differ (${x.length} vs ${y.length})`);
  x.forEach((v, i) => {
    if (!(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])))) {
      throw new Error(`${what}: element ${i} is ${v} but expected ${y[i]}\n  got      ${JSON.stringify(x)}\n  expected ${JSON.stringify(y)}`);
    }
  });
}

// One step of a small recurrence with a const (W), a pytree carry and ys.
function step(W: T, c: { h: T; s: T }, x: T): [{ h: T; s: T }, T] {
  const h = np.tanh(np.matmul(W, c.h).add(x.mul(c.s)));
  return [{ h, s: c.s.add(np.sin(h).sum().mul(0.3)) }, h.mul(h).sum()];
}

function scanLoss(reverse: boolean) {
  return (W: T, h0: T, xs: T) => {
    const [c, ys] = lax.scan((c: { h: T; s: T }, x: T) => step(W, c, x), { h: h0, s: arr([0.5], []) }, xs, { reverse });
    return c.h.sum().add(c.s).add(ys.mul(arr([0.7], [])).sum());
  };
}

function unrolledLoss(reverse: boolean) {
  return (W: T, h0: T, xs: T) => {
    let c = { h: h0, s: arr([0.5], []) };
    let ys = arr([0], []);
    const n = xs.shape[0];
    for (let k = 0; k < n; k++) {
      const i = reverse ? n - 1 - k : k;
      const [next, y] = step(W, c, xs.slice(i));
      c = next;
      ys = ys.add(y.mul(arr([0.7], [])));
    }
    return c.h.sum().add(c.s).add(ys);
  };
}

const scanCase = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  reverse: fc.boolean(),
  useJit: fc.boolean(),
  w: floats(4),
  h0: floats(2),
  xs: floats(8),
});

describe("control flow properties", () => {
  it("grad(scan) equals grad of the unrolled loop", () => {
    fc.assert(
      fc.property(scanCase, ({ n, reverse, useJit, w, h0, xs }) => {
        const W = arr(w, [2, 2]);
        const H = arr(h0, [2]);
        const X = arr(xs.slice(0, 2 * n), [n, 2]);
        const g = grad(scanLoss(reverse), { argnums: [0, 1, 2] });
        const got = (useJit ? jit(g) : g)(W, H, X) as T[];
        const want = grad(unrolledLoss(reverse), { argnums: [0, 1, 2] })(W, H, X) as T[];
        ["W", "h0", "xs"].forEach((name, i) => assertClose(got[i], want[i], `d/d${name} (n=${n}, reverse=${reverse}, jit=${useJit})`));
      }),
      { numRuns },
    );
  });

  // A gated cell whose activations' values are reused by the cell, so partial evaluation may
  // recompute their derivatives (σ(1−σ), 1−tanh²) from saved values (residual_remat.ts); sin's
  // derivative is not a function of its value, so its cos stays saved.
  const activations = [(x: T) => lax.logistic(x), (x: T) => np.tanh(x), (x: T) => np.sin(x)];
  function gatedStep(acts: number[], W: T, c: T, x: T): [T, T] {
    const [f, i, g, o] = acts.map((k) => activations[k]);
    const z = np.matmul(W, c).add(x);
    const next = f(z).mul(c).add(i(x).mul(g(z.sub(x))));
    return [next, o(next).mul(f(z))];
  }
  const gatedLoss = (acts: number[], reverse: boolean, unrolled: boolean) => (W: T, c0: T, xs: T) => {
    if (!unrolled) {
      const [c, ys] = lax.scan((c: T, x: T) => gatedStep(acts, W, c, x), c0, xs, { reverse });
      return c.sum().add((ys as T).mul(arr([0.7], [])).sum());
    }
    let c = c0;
    let total = arr([0], []);
    const n = xs.shape[0];
    for (let k = 0; k < n; k++) {
      const [next, y] = gatedStep(acts, W, c, xs.slice(reverse ? n - 1 - k : k));
      c = next;
      total = total.add(y.mul(arr([0.7], [])).sum());
    }
    return c.sum().add(total);
  };

  it("grad(scan) of a gated cell (residual derivatives recomputed) equals grad of the unrolled loop", () => {
    fc.assert(
      fc.property(
        scanCase,
        fc.array(fc.integer({ min: 0, max: activations.length - 1 }), { minLength: 4, maxLength: 4 }),
        ({ n, reverse, useJit, w, h0, xs }, acts) => {
          const W = arr(w, [2, 2]);
          const H = arr(h0, [2]);
          const X = arr(xs.slice(0, 2 * n), [n, 2]);
          const g = grad(gatedLoss(acts, reverse, false), { argnums: [0, 1, 2] });
          const got = (useJit ? jit(g) : g)(W, H, X) as T[];
          const want = grad(gatedLoss(acts, reverse, true), { argnums: [0, 1, 2] })(W, H, X) as T[];
          ["W", "c0", "xs"].forEach((name, i) => assertClose(got[i], want[i], `d/d${name} (acts=${acts}, n=${n}, reverse=${reverse}, jit=${useJit})`));
        },
      ),
      { numRuns },
    );
  });

  const branches = [
    (x: T) => x.mul(x).sum(),
    (x: T) => np.sin(x).mul(x).sum(),
    (x: T) => np.exp(x.mul(0.5)).sum(),
    (x: T) => np.tanh(x).sum().mul(x.sum()),
  ];

  it("grad(cond) equals grad of the taken branch", () => {
    fc.assert(
      fc.property(
        fc.record({ x: floats(3), t: fc.integer({ min: 0, max: 3 }), f: fc.integer({ min: 0, max: 3 }), useJit: fc.boolean(), sw: fc.boolean() }),
        ({ x, t, f, useJit, sw }) => {
          const X = arr(x, [3]);
          const taken = X.sum().gt(0).item() ? t : f; // decided in float32, as the cond does
          const loss = sw
            ? (v: T) => lax.switch(v.sum().gt(0).astype("int32").mul(t - f).add(f), branches, v)
            : (v: T) => lax.cond(v.sum().gt(0), branches[t], branches[f], v);
          const g = useJit ? jit(grad(loss)) : grad(loss);
          assertClose(g(X), grad(branches[taken])(X), `grad (true=${t}, false=${f}, switch=${sw}, jit=${useJit})`);
        },
      ),
      { numRuns },
    );
  });

  it("vmap(scan) equals stacking the per-example scans", () => {
    fc.assert(
      fc.property(fc.record({ b: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 3 }), reverse: fc.boolean(), w: floats(4), hs: floats(6), xs: floats(18) }), ({ b, n, reverse, w, hs, xs }) => {
        const W = arr(w, [2, 2]);
        const H = arr(hs.slice(0, 2 * b), [b, 2]);
        const X = arr(xs.slice(0, b * n * 2), [b, n, 2]);
        const f = (h0: T, xs: T) => lax.scan((c: { h: T; s: T }, x: T) => step(W, c, x), { h: h0, s: arr([0.5], []) }, xs, { reverse });
        const [cb, ysb] = vmap(f)(H, X);
        const per = globalThis.Array.from({ length: b }, (_, i) => f(H.slice(i), X.slice(i)));
        assertClose(cb.h, np.stack(per.map((p) => p[0].h)), `carry h (b=${b}, n=${n})`);
        assertClose(cb.s, np.stack(per.map((p) => p[0].s)), `carry s (b=${b}, n=${n})`);
        assertClose(ysb, np.stack(per.map((p) => p[1])), `ys (b=${b}, n=${n})`);
      }),
      { numRuns },
    );
  });
});
