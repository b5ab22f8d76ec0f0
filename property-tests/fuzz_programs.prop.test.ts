// The program fuzzer: random well-typed numpy programs (programs.ts: shapes,
// broadcasting, reductions, reshapes, matmul, where, indexing; float32,
// int32 with bool intermediates, and float16), each wrapped in one of several
// contexts -- plain, a pytree argument, a lax.cond branch, a lax.scan body, a
// lax.whileLoop body, a customVjp whose rule is the program's own vjp, a
// customJvp whose rule is the program's own jvp -- and checked against every
// oracle at once:
//   interpreter == wasm (jit on each backend; == webgpu where an adapter
//   exists), eager == jit, grad vs central finite differences (smooth
//   programs), jit(grad) == grad, vmap == a loop over examples.
// int32 programs must agree bit for bit (wrapping arithmetic, integer
// division, shifts); float16 programs within float16's rounding.
// A failure shrinks to the smallest program and prints it as code, with its
// inputs and its jaxpr. CI runs a fixed seed; a long campaign is
//   NUM_RUNS=2000 FUZZ_SEED=$RANDOM nice npx vitest run property-tests/fuzz_programs.prop.test.ts --testTimeout=0
// (WEBGPU_NUM_RUNS sets the WebGPU property's runs: each new kernel shape
// compiles a pipeline, slow on SwiftShader.)

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl, customJvp, customVjp, defaultBackendName, grad, jit, jvp, lax, makeJaxpr, np, setDefaultBackend, vjp, vmap, type Array as TfArray, type Tracer } from "../src/index";
import { checkGrads, expectAllclose } from "../src/testing";
import { batchedCases, cases, tame, type Case, type T } from "./programs";
import { gpu, noGpuReason } from "../test/webgpu_setup";

const numRuns = Number(process.env.NUM_RUNS ?? 20);
const seed = Number(process.env.FUZZ_SEED ?? 20261202);

type Context = "plain" | "pytree" | "cond" | "scan" | "while" | "customVjp" | "customJvp";
const CONTEXTS: Context[] = ["plain", "pytree", "cond", "scan", "while", "customVjp", "customJvp"];
/** Reverse mode has no rule for a while loop (as in JAX: use scan or foriLoop with static bounds). */
const DIFFERENTIABLE: Context[] = CONTEXTS.filter((c) => c !== "while");
/** Contexts for integer programs: custom derivative rules are for floats. */
const INT_CONTEXTS: Context[] = ["plain", "pytree", "cond", "scan", "while"];

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
      // two steps of carry + prog from a zero carry of prog's dtype, minus prog (exact for integers)
      return (...xs) => {
        const twice = lax.scan((carry: T) => [carry.add(run(...xs)), null], np.zerosLike(run(...xs)), null, { length: 2 })[0] as T;
        return twice.sub(run(...xs));
      };
    case "while":
      // the same with a data-independent trip count in a while loop: (counter, carry) until the counter reaches 2
      return (...xs) => {
        const init: [T, T] = [np.array(0, { dtype: "int32" }), np.zerosLike(run(...xs))];
        const [, twice] = lax.whileLoop(
          ([i]: [T, T]) => np.less(i, 2),
          ([i, carry]: [T, T]) => [i.add(1), carry.add(run(...xs))],
          init,
        ) as [T, T];
        return twice.sub(run(...xs));
      };
    case "customVjp": {
      const f = customVjp(run);
      // residuals are arrays (the inputs); bwd takes the program's own vjp at them
      f.defvjp(
        (...xs: T[]) => [run(...xs), xs],
        (xs: T[], ct: T) => (vjp(run, ...xs)[1] as (ct: T) => T[])(ct),
      );
      return f as (...xs: T[]) => T;
    }
    case "customJvp": {
      const f = customJvp(run);
      // the rule is the program's own jvp, so grad goes through linearize + transpose of the rule
      f.defjvp((primals: T[], tangents: T[]) => jvp(run, primals, tangents) as [T, T]);
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

/** Bit-for-bit equality, dtype and shape included (integer programs). */
function same(got: TfArray, want: TfArray): void {
  expect(`${got.dtype}${JSON.stringify(got.shape)}`).toBe(`${want.dtype}${JSON.stringify(want.shape)}`);
  const g = Array.from(got.dataSync() as Int32Array);
  const w = Array.from(want.dataSync() as Int32Array);
  const k = g.findIndex((y, i) => y !== w[i]);
  if (k >= 0) throw new Error(`differs at flat index ${k}: ${g[k]} vs ${w[k]}`);
}

/** float16 results: each op rounds to float16 on the interpreter, while a fused kernel may keep float32 in between. */
function closeHalf(got: TfArray, want: TfArray): void {
  expect(got.dtype).toBe("float16");
  const scale = Math.max(1, ...Array.from(want.dataSync() as Float32Array, Math.abs));
  expectAllclose(got.astype("float32"), want.astype("float32"), { atol: 2e-2 * scale, rtol: 2e-2 });
}

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
      fc.property(cases({ mode: "smooth", maxOps: 4, maxInputSize: 12 }), fc.constantFrom(...DIFFERENTIABLE), (c, ctx) => {
        fc.pre(tame(c.prog.run(...c.inputs), 1e3));
        const loss = (...xs: T[]) => np.sum(inContext(c, ctx)(...xs));
        const argnums = c.inputs.map((_, i) => i);
        // Central differences in float32 with eps = 1e-2 are only as good as the function is flat:
        // cos(exp(exp(x))) at x = 1.375 has |f'| ~ 200 and a third derivative ~ 1e7, so its difference
        // quotient is off by ~140 (campaign seed 9917). Such programs are skipped, not failed: gradients
        // at most 20 in size.
        fc.pre((grad(loss, { argnums })(...c.inputs) as T[]).every((g) => tame(g, 20)));
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
      fc.property(batchedCases({ mode: "all", maxOps: 5 }), fc.constantFrom<Context>("plain", "cond", "scan", "while", "customVjp", "customJvp"), (c, ctx) => {
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

  it("int32 programs (with bool intermediates): interpreter == wasm == eager, bit for bit, and vmap == a loop", () => {
    fc.assert(
      fc.property(cases({ mode: "int", maxOps: 6 }), fc.constantFrom(...INT_CONTEXTS), (c, ctx) => {
        const want = c.prog.run(...c.inputs);
        const f = inContext(c, ctx);
        try {
          same(f(...c.inputs), want);
          const onWasm = jit(f)(...c.inputs);
          same(onWasm, want);
          const inputsOnInterp = c.inputs.map((x) => x.to("interpreter"));
          same(onBackend("interpreter", () => jit(f)(...inputsOnInterp)), onWasm);
        } catch (e) {
          throw report("int32 values", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
    fc.assert(
      fc.property(batchedCases({ mode: "int", maxOps: 5 }), fc.constantFrom(...INT_CONTEXTS), (c, ctx) => {
        try {
          const got = vmap(inContext(c, ctx), { inAxes: c.inAxes })(...c.inputs) as TfArray;
          same(got, np.stack(c.examples.map((ex) => c.prog.run(...ex))) as TfArray);
        } catch (e) {
          throw report("int32 vmap", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
  });

  it("float16 programs: interpreter == wasm == eager within float16 rounding", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 5 }), fc.constantFrom<Context>("plain", "pytree", "cond", "scan", "while"), (c, ctx) => {
        const halves = c.inputs.map((x) => x.astype("float16") as ArrayImpl);
        const want = c.prog.run(...halves);
        fc.pre(want.dtype === "float16" && tame(want.astype("float32"), 100));
        const f = inContext(c, ctx);
        try {
          closeHalf(f(...halves), want);
          const onWasm = jit(f)(...halves);
          closeHalf(onWasm, want);
          const halvesOnInterp = halves.map((x) => x.to("interpreter"));
          closeHalf(onBackend("interpreter", () => jit(f)(...halvesOnInterp)), want);
        } catch (e) {
          throw report("float16 values", c, ctx, e);
        }
      }),
      { numRuns, seed },
    );
  });
});

describe.skipIf(gpu === null)(`program fuzzer on WebGPU${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  const gpuRuns = Number(process.env.WEBGPU_NUM_RUNS ?? 4);
  // Rank <= 4: while and cond compile on WebGPU too (an asynchronous driver reads their predicate),
  // and a program run op by op stays on its backend (rank 3 used to read the GPU synchronously).
  it("interpreter == webgpu in every context", { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(cases({ mode: "all", maxOps: 5, maxRank: 4 }), fc.constantFrom(...CONTEXTS), async (c, ctx) => {
        const want = c.prog.run(...c.inputs);
        fc.pre(tame(want));
        const f = inContext(c, ctx);
        try {
          const got = jit(f, { backend: "webgpu" })(...c.inputs.map((x) => x.to("webgpu"))) as TfArray;
          const data = await got.data();
          close(ArrayImpl.fromTyped(Float32Array.from(data as Float32Array), [...got.shape], "float32"), want);
        } catch (e) {
          throw report("webgpu values", c, ctx, e);
        }
      }),
      { numRuns: gpuRuns, seed },
    );
  });
});
