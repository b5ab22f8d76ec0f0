// The program fuzzer: random well-typed numpy programs (programs.ts: shapes,
// broadcasting, reductions, reshapes, matmul, where, indexing), each wrapped
// in one of several contexts -- plain, a pytree argument, a lax.cond branch,
// a lax.scan body, a customVjp whose rule is the program's own vjp -- and
// checked against every oracle at once:
//   interpreter == wasm (jit on each backend), eager == jit,
//   grad vs central finite differences (smooth programs), jit(grad) == grad,
//   vmap == a loop over examples.
// A failure shrinks to the smallest program and prints it as code, with its
// inputs and its jaxpr. CI runs a fixed seed; a long campaign is
//   NUM_RUNS=2000 FUZZ_SEED=$RANDOM npx vitest run property-tests/fuzz_programs.prop.test.ts

import fc from "fast-check";
import { describe, it } from "vitest";
import { customVjp, defaultBackendName, grad, jit, lax, makeJaxpr, np, setDefaultBackend, vjp, vmap, type Tracer } from "../src/index";
import { checkGrads, expectAllclose } from "../src/testing";
import { batchedCases, cases, tame, type Case, type T } from "./programs";

const numRuns = Number(process.env.NUM_RUNS ?? 20);
const seed = Number(process.env.FUZZ_SEED ?? 20261202);

type Context = "plain" | "pytree" | "cond" | "scan" | "customVjp";
const CONTEXTS: Context[] = ["plain", "pytree", "cond", "scan", "customVjp"];

/** The program as a function of its inputs, run inside `ctx`; equal to prog.run for every context. */
function inContext(c: Case, ctx: Context): (...xs: T[]) => T {
  const run = (...xs: T[]) => c.prog.run(...xs);
  switch (ctx) {
    case "plain":
      return run;
    case "pytree":
      return (...xs) => ((p: { first: T; rest: T[] }) => run(p.first, ...p.rest))({ first: xs[0], rest: xs.slice(1) });
    case "cond":
      // the predicate depends on the data, so both branches are traced and one is taken
      return (...xs) => lax.cond(np.isfinite(np.sum(xs[0])), (...ys: T[]) => run(...ys), (...ys: T[]) => run(...ys).mul(0), ...xs) as T;
    case "scan":
      // two steps of carry + prog / 2 from a zero carry
      return (...xs) => lax.scan((carry: T) => [carry.add(run(...xs).mul(0.5)), null], np.zeros(c.prog.outShape), null, { length: 2 })[0] as T;
    case "customVjp": {
      const f = customVjp(run);
      // residuals are arrays (the inputs); bwd takes the program's own vjp at them
      f.defvjp(
        (...xs: T[]) => [run(...xs), xs],
        (xs: T[], ct: T) => (vjp(run, ...xs)[1] as (ct: T) => T[])(ct),
      );
      return f as (...xs: T[]) => T;
    }
  }
}

function report(what: string, c: Case, ctx: Context, e: unknown): Error {
  let jaxpr = "";
  try {
    jaxpr = String(makeJaxpr(inContext(c, ctx))(...c.inputs));
  } catch (err) {
    jaxpr = `(could not trace: ${(err as Error).message})`;
  }
  return new Error(`${what} failed in context ${ctx}\n${c.prog}\njaxpr:\n${jaxpr}\n${(e as Error).message}`);
}

function onBackend<R>(name: string, f: () => R): R {
  const prev = defaultBackendName();
  setDefaultBackend(name);
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

const close = (got: unknown, want: unknown) => expectAllclose(got, want, { atol: 1e-4, rtol: 1e-4 });

describe("program fuzzer", () => {
  it("interpreter == wasm and eager == jit, in every context", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 6 }), fc.constantFrom(...CONTEXTS), (c, ctx) => {
        const want = c.prog.run(...c.inputs);
        fc.pre(tame(want));
        const f = inContext(c, ctx);
        try {
          close(f(...c.inputs), want);
          const onWasm = jit(f)(...c.inputs);
          close(onWasm, want);
          const inputsOnInterp = c.inputs.map((x) => x.to("interpreter"));
          const onInterp = onBackend("interpreter", () => jit(f)(...inputsOnInterp));
          close(onInterp, onWasm);
        } catch (e) {
          throw report("values", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
  });

  it("grad matches finite differences, and jit(grad) == grad, on smooth programs", () => {
    fc.assert(
      fc.property(cases({ mode: "smooth", maxOps: 4, maxInputSize: 12 }), fc.constantFrom(...CONTEXTS), (c, ctx) => {
        fc.pre(tame(c.prog.run(...c.inputs), 1e3));
        const loss = (...xs: T[]) => np.sum(inContext(c, ctx)(...xs));
        const argnums = c.inputs.map((_, i) => i);
        try {
          checkGrads(loss, c.inputs, { order: 1, modes: ["rev"], eps: 1e-2, atol: 5e-2, rtol: 5e-2 });
          close(jit(grad(loss, { argnums }))(...c.inputs), grad(loss, { argnums })(...c.inputs));
        } catch (e) {
          throw report("gradients", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
  });

  it("vmap equals a loop over the examples", () => {
    fc.assert(
      fc.property(batchedCases({ mode: "all", maxOps: 5 }), fc.constantFrom<Context>("plain", "cond", "customVjp"), (c, ctx) => {
        const perExample = c.examples.map((ex) => c.prog.run(...ex));
        fc.pre(perExample.every((y) => tame(y)));
        try {
          const got = vmap(inContext(c, ctx), { inAxes: c.inAxes })(...c.inputs) as Tracer;
          close(got, np.stack(perExample));
        } catch (e) {
          throw report("vmap", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
  });
});
