// Properties of composed transformations over random numpy programs (see
// programs.ts): grad(sum ∘ vmap(f)) against per-example grads, vmap(grad(f))
// against a loop of grads (random inAxes, some inputs unbatched), jit of those
// against the un-jitted versions, jacfwd == jacrev, hessian symmetric and
// equal to the other Jacobian-of-Jacobian orders, grad(grad) against finite
// differences of grad, grad of lax.scan against the unrolled loop, grad of
// lax.cond against the taken branch, and checkGrads to order 2 in both modes.
// Failures print the program as code with its inputs.
// NUM_RUNS (default 15) sets the runs per property.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { grad, hessian, jacfwd, jacrev, jit, lax, np, vmap } from "../src/index";
import { checkGrads, expectAllclose } from "../src/testing";
import { Program, arrayOf, batchedCases, cases, instrsArb, tame, type BatchedCase, type T } from "./programs";

const numRuns = Number(process.env.NUM_RUNS ?? 15);

/** A case or program as readable text (template literals would not use fast-check's toString). */
const show = (x: unknown) => (typeof x === "string" ? x : fc.stringify(x));

function close(what: string, prog: unknown, got: unknown, want: unknown, tol = 1e-3): void {
  try {
    expectAllclose(got, want, { atol: tol, rtol: tol });
  } catch (e) {
    throw new Error(`${what}\n${show(prog)}\n${(e as Error).message}`);
  }
}

const range = (n: number) => [...globalThis.Array(n).keys()];
const lossOf = (p: Program) => (...xs: T[]) => p.run(...xs).sum();
/** grad with respect to every argument, as a list. */
const gradAll = (p: Program) => grad(lossOf(p), { argnums: range(p.inShapes.length) }) as (...xs: T[]) => T[];

/** Per-example grads from a JS loop: loopGrads[i][b] = d loss(example b) / d input i. */
function loopGrads(c: BatchedCase): T[][] {
  const per = c.examples.map((e) => gradAll(c.prog)(...e));
  return range(c.prog.inShapes.length).map((i) => per.map((g) => g[i]));
}

function allTame(xs: T[][], bound = 1e4): boolean {
  return xs.every((row) => row.every((x) => tame(x, bound)));
}

describe("vmap and grad compose", () => {
  it("vmap(grad(f)) equals a loop of grads (per-example grads, outputs batched at 0)", () => {
    fc.assert(
      fc.property(batchedCases({ mode: "all", maxOps: 5 }), (c) => {
        const want = loopGrads(c);
        fc.pre(allTame(want) && c.examples.every((e) => tame(c.prog.run(...e))));
        const got = vmap(gradAll(c.prog), { inAxes: c.inAxes })(...c.inputs);
        want.forEach((w, i) => close(`vmap(grad) input ${i}`, c, got[i], np.stack(w)));
      }),
      { numRuns },
    );
  });

  it("grad(sum of vmap(f)) equals per-example grads (summed for unbatched inputs)", () => {
    fc.assert(
      fc.property(batchedCases({ mode: "all", maxOps: 5 }), (c) => {
        const want = loopGrads(c);
        fc.pre(allTame(want) && c.examples.every((e) => tame(c.prog.run(...e))));
        const batchedLoss = (...xs: T[]) => vmap((...ys: T[]) => c.prog.run(...ys), { inAxes: c.inAxes })(...xs).sum();
        const got = grad(batchedLoss, { argnums: range(c.inputs.length) })(...c.inputs) as T[];
        want.forEach((w, i) => {
          const axis = c.inAxes[i];
          const expected = axis === null ? w.reduce((a, b) => a.add(b)) : np.stack(w, axis);
          close(`grad(vmap) input ${i} (inAxis ${axis})`, c, got[i], expected);
        });
        // jit(grad(vmap(...))) equals the un-jitted composition.
        const jitted = jit(grad(batchedLoss, { argnums: range(c.inputs.length) }))(...c.inputs) as T[];
        close("jit(grad(vmap))", c, jitted, got);
      }),
      { numRuns },
    );
  });

  it("jit(vmap(grad(f))) and vmap(jit(grad(f))) equal vmap(grad(f))", () => {
    fc.assert(
      fc.property(batchedCases({ mode: "all", maxOps: 4 }), (c) => {
        const plain = vmap(gradAll(c.prog), { inAxes: c.inAxes })(...c.inputs);
        fc.pre(plain.every((g) => tame(g)));
        close("jit(vmap(grad))", c, jit(vmap(gradAll(c.prog), { inAxes: c.inAxes }))(...c.inputs), plain);
        close("vmap(jit(grad))", c, vmap(jit(gradAll(c.prog)), { inAxes: c.inAxes })(...c.inputs), plain);
      }),
      { numRuns },
    );
  });
});

describe("Jacobians", () => {
  it("jacfwd(f) equals jacrev(f)", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 5, maxInputSize: 16 }), (c) => {
        fc.pre(tame(c.prog.run(...c.inputs)));
        const f = (...xs: T[]) => c.prog.run(...xs);
        const argnums = range(c.inputs.length);
        const fwd = jacfwd(f, { argnums })(...c.inputs) as T[];
        const rev = jacrev(f, { argnums })(...c.inputs) as T[];
        fwd.forEach((j, i) => expect(j.shape, `${c.prog}\njacobian block ${i}`).toEqual([...c.prog.outShape, ...c.prog.inShapes[i]]));
        close("jacfwd vs jacrev", c, fwd, rev);
      }),
      { numRuns },
    );
  });

  it("hessian is symmetric and equals jacfwd(jacfwd), jacrev(jacrev) and jacrev(jacfwd)", () => {
    fc.assert(
      fc.property(cases({ mode: "smooth", maxOps: 5, minInputs: 1, maxInputs: 1, maxInputSize: 8 }), (c) => {
        const loss = lossOf(c.prog);
        fc.pre(tame(loss(...c.inputs), 1e3));
        const x = c.inputs[0];
        const n = x.size;
        const H = hessian(loss)(x);
        expect(H.shape, String(c.prog)).toEqual([...x.shape, ...x.shape]);
        fc.pre(tame(H, 1e3));
        const H2 = H.reshape([n, n]);
        close("hessian symmetric", c, H2, H2.transpose(), 1e-3);
        close("jacfwd(jacfwd)", c, jacfwd(jacfwd(loss))(x), H);
        close("jacrev(jacrev)", c, jacrev(jacrev(loss))(x), H);
        close("jacrev(jacfwd)", c, jacrev(jacfwd(loss))(x), H);
      }),
      { numRuns },
    );
  });

  it("grad(grad) (a Hessian-vector product) matches finite differences of grad", () => {
    fc.assert(
      fc.property(cases({ mode: "smooth", maxOps: 5, minInputs: 1, maxInputs: 2 }), fc.integer({ min: 0, max: 1000 }), (c, seed) => {
        const loss = lossOf(c.prog);
        const g = gradAll(c.prog);
        fc.pre(tame(loss(...c.inputs), 100) && g(...c.inputs).every((x) => tame(x, 100)));
        // A fixed direction per input, from the seed.
        const vs = c.inputs.map((x, i) => arrayOf(range(x.size).map((k) => Math.sin(seed + 7 * i + 3 * k)), x.shape));
        const hvp = grad((...xs: T[]) => g(...xs).reduce((acc: T, gi, i) => acc.add(np.sum(gi.mul(vs[i]))), np.zeros([])), { argnums: range(c.inputs.length) })(...c.inputs) as T[];
        const eps = 1e-2;
        const shifted = (s: number) => g(...c.inputs.map((x, i) => x.add(vs[i].mul(s * eps))));
        const plus = shifted(1);
        const minus = shifted(-1);
        const fd = plus.map((p, i) => p.sub(minus[i]).div(2 * eps));
        const scale = Math.max(1, ...hvp.map((h) => np.max(np.abs(h)).item() as number));
        close("grad(grad) · v vs finite differences", c, hvp, fd, 2e-2 * scale);
      }),
      { numRuns },
    );
  });
});

describe("control flow under grad", () => {
  /** Bring a program output to `shape`: broadcast it if it fits, else broadcast its sum. */
  const fit = (y: T, shape: number[]): T => {
    try {
      return np.broadcastTo(y, shape);
    } catch {
      return np.broadcastTo(y.sum(), shape);
    }
  };

  it("grad of lax.scan equals grad of the unrolled JS loop (forward and reverse, eager and jit)", () => {
    const arb = fc.record({
      c: cases({ mode: "all", maxOps: 4, minInputs: 2, maxInputs: 2 }),
      steps: fc.integer({ min: 1, max: 3 }),
      reverse: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ c, steps, reverse }) => {
        const carryShape = c.prog.inShapes[0];
        const body = (carry: T, x: T): [T, T] => {
          const y = c.prog.run(carry, x);
          return [np.tanh(fit(y, carryShape)).add(carry.mul(0.5)), y.sum()];
        };
        const xsOf = (x: T) => np.stack(range(steps).map((t) => x.mul(1 - 0.25 * t).add(0.1 * t)));
        const weights = arrayOf(range(steps).map((t) => (t + 1) / steps), [steps]);
        const scanLoss = (c0: T, x: T) => {
          const [cT, ys] = lax.scan(body, c0, xsOf(x), { reverse });
          return cT.sum().add(np.tanh(ys).mul(weights).sum());
        };
        const unrolledLoss = (c0: T, x: T) => {
          const xs = xsOf(x);
          let carry = c0;
          const ys: T[] = new globalThis.Array(steps);
          for (let k = 0; k < steps; k++) {
            const t = reverse ? steps - 1 - k : k;
            const [next, y] = body(carry, xs.slice(t));
            carry = next;
            ys[t] = y;
          }
          return carry.sum().add(np.tanh(np.stack(ys)).mul(weights).sum());
        };
        const label = `${show(c)}\nscanned ${steps} steps${reverse ? " in reverse" : ""}: carry' = tanh(fit(out)) + 0.5·carry, y = sum(out)`;
        const want = grad(unrolledLoss, { argnums: [0, 1] })(c.inputs[0], c.inputs[1]) as T[];
        fc.pre(want.every((w) => tame(w)));
        close("scan loss", label, scanLoss(c.inputs[0], c.inputs[1]), unrolledLoss(c.inputs[0], c.inputs[1]));
        close("grad(scan)", label, grad(scanLoss, { argnums: [0, 1] })(c.inputs[0], c.inputs[1]), want);
        close("jit(grad(scan))", label, jit(grad(scanLoss, { argnums: [0, 1] }))(c.inputs[0], c.inputs[1]), want);
      }),
      { numRuns },
    );
  });

  it("grad of lax.cond equals grad of the branch taken (concrete and traced predicate)", () => {
    const arb = fc
      .record({ c: cases({ mode: "all", maxOps: 4, minInputs: 1, maxInputs: 2 }), other: instrsArb({ mode: "all", maxOps: 4 }), threshold: fc.integer({ min: -4, max: 4 }) })
      .map(({ c, other, threshold }) => {
        const alt = new Program(c.prog.inShapes, other, "all");
        return { ...c, alt, threshold, [fc.toStringMethod]: () => `true branch:\n${show(c)}\nfalse branch:\n${alt}\npredicate: sum(v0) > ${threshold / 2}` };
      });
    fc.assert(
      fc.property(arb, (c) => {
        const shape = c.prog.inShapes[0];
        const t = (...xs: T[]) => fit(c.prog.run(...xs), shape);
        const f = (...xs: T[]) => fit(c.alt.run(...xs), shape);
        const argnums = range(c.inputs.length);
        const pred = (xs: T[]) => np.greater(xs[0].sum(), c.threshold / 2);
        const condLoss = (...xs: T[]) => np.sin(lax.cond(pred(xs), t, f, ...xs)).sum();
        const taken = (pred(c.inputs).item() as boolean) ? t : f;
        const takenLoss = (...xs: T[]) => np.sin(taken(...xs)).sum();
        const want = grad(takenLoss, { argnums })(...c.inputs) as T[];
        fc.pre(want.every((w) => tame(w)) && tame(c.prog.run(...c.inputs)) && tame(c.alt.run(...c.inputs)));
        close("grad(cond), concrete predicate", c, grad(condLoss, { argnums })(...c.inputs), want);
        close("jit(grad(cond)), traced predicate", c, jit(grad(condLoss, { argnums }))(...c.inputs), want);
        // A predicate fixed from outside the differentiated function.
        const fixed = pred(c.inputs);
        const fixedLoss = (...xs: T[]) => np.sin(lax.cond(fixed, t, f, ...xs)).sum();
        close("grad(cond), closed-over predicate", c, grad(fixedLoss, { argnums })(...c.inputs), want);
      }),
      { numRuns },
    );
  });
});

describe("checkGrads on random smooth programs", () => {
  it("passes to order 2 in forward and reverse mode", () => {
    fc.assert(
      fc.property(cases({ mode: "smooth", maxOps: 4, maxInputs: 2, maxInputSize: 12 }), (c) => {
        const f = (...xs: T[]) => c.prog.run(...xs);
        fc.pre(tame(f(...c.inputs), 30) && gradAll(c.prog)(...c.inputs).every((g) => tame(g, 30)));
        try {
          checkGrads(f, c.inputs, { order: 2, modes: ["fwd", "rev"], eps: 1e-2, atol: 5e-2, rtol: 5e-2 });
        } catch (e) {
          throw new Error(`${show(c)}\n${(e as Error).message}`);
        }
      }),
      { numRuns },
    );
  });
});
