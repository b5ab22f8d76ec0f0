// Property: jit(f) equals f. Random numpy programs (elementwise unary/binary
// ops with broadcasting, reductions over axes, reshape/transpose, matmul,
// where, indexing; see programs.ts) give the same values run eagerly and
// through jit (traced once, optimized by the IR passes, run by the backend),
// and jit retraces exactly once per new input signature. Counterexamples print
// the program as code with its inputs. NUM_RUNS (default 15) sets the runs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jit, makeJaxpr, np } from "../src/index";
import { expectAllclose } from "../src/testing";
import { arrayOf, cases, tame, type Case, type T } from "./programs";

const numRuns = Number(process.env.NUM_RUNS ?? 15);

function close(what: string, c: Case, got: unknown, want: unknown, tol = 1e-4): void {
  try {
    expectAllclose(got, want, { atol: tol, rtol: tol });
  } catch (e) {
    throw new Error(`${what}\n${c.prog}\n${(e as Error).message}`);
  }
}

describe("jit(f) equals f on random programs", () => {
  it("single output, every op", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 6 }), (c) => {
        const want = c.prog.run(...c.inputs);
        fc.pre(tame(want));
        const f = jit((...xs: T[]) => c.prog.run(...xs));
        const got = f(...c.inputs);
        expect(got.shape, String(c.prog)).toEqual(c.prog.outShape);
        expect(got.dtype).toBe(want.dtype);
        close("jit(f) vs f", c, got, want);
        // A second call takes the cached program and gives the same values.
        close("second jit call", c, f(...c.inputs), want);
        expect(f.traceCount).toBe(1);
      }),
      { numRuns },
    );
  });

  it("pytree outputs holding every register, and jit of jit", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 5 }), (c) => {
        // All intermediates as outputs: the passes must not drop or merge live values.
        const all = (...xs: T[]) => {
          const regs: T[] = [...xs];
          const sub = c.prog.ops.map((op) => {
            regs.push(op.apply(regs));
            return regs[regs.length - 1];
          });
          return { last: regs[regs.length - 1], regs: sub };
        };
        const want = all(...c.inputs);
        fc.pre(want.regs.every((r) => tame(r)));
        close("jit(all registers)", c, jit(all)(...c.inputs), want);
        close("jit(jit(f))", c, jit((...xs: T[]) => jit(all)(...xs).last)(...c.inputs), want.last);
      }),
      { numRuns },
    );
  });

  it("makeJaxpr of a program has the program's output type and evaluates under jit", () => {
    fc.assert(
      fc.property(cases({ mode: "all", maxOps: 4 }), (c) => {
        const jaxpr = makeJaxpr((...xs: T[]) => c.prog.run(...xs))(...c.inputs);
        const text = String(jaxpr);
        expect(text, text).toMatch(/^\{ lambda/);
        const outType = `f32[${c.prog.outShape.join(",")}]`;
        expect(text.includes(outType), `${c.prog}\nexpected an output of type ${outType} in\n${text}`).toBe(true);
      }),
      { numRuns },
    );
  });
});

describe("jit(f) equals f on shrunk counterexamples found by the properties", () => {
  // Outputs that are a prefix of an input buffer (a slice at offset 0): the
  // compiled program hands back the input's buffer, which holds more values.
  const prefixSlices: [string, (x: T) => T, number[]][] = [
    ["v0[0] of f32[2]", (x) => x.slice(0), [2]],
    ["v0[0] of f32[3,1]", (x) => x.slice(0), [3, 1]],
    ["v0[0:1] of f32[2,1,2]", (x) => x.slice([0, 1]), [2, 1, 2]],
  ];
  for (const [name, f, shape] of prefixSlices) {
    it(name, () => {
      const x = arrayOf(globalThis.Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5), shape);
      expectAllclose(jit(f)(x), f(x));
    });
  }
});

describe("jit retracing", () => {
  it("traces once per distinct input signature, in any call order", () => {
    const shape = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 });
    const dtype = fc.constantFrom(np.float32, np.int32);
    fc.assert(
      fc.property(fc.array(fc.tuple(shape, dtype), { minLength: 1, maxLength: 8 }), (calls) => {
        const f = jit((x: T) => x.mul(x).sum(x.ndim > 0 ? 0 : undefined));
        const seen = new Set<string>();
        calls.forEach(([s, d], k) => {
          const x = np.ones(s, d);
          const out = f(x);
          const want = x.mul(x).sum(x.ndim > 0 ? 0 : undefined);
          expectAllclose(out, want);
          expect(out.dtype).toBe(want.dtype);
          seen.add(`${d}[${s}]`);
          expect(f.traceCount, `after call ${k} (${d}[${s}]); signatures so far: ${[...seen].join(" ")}`).toBe(seen.size);
        });
      }),
      { numRuns },
    );
  });

  it("closes over a fresh constant in each trace", () => {
    let scale = 2;
    const f = jit((x: T) => x.mul(scale));
    const a = arrayOf([1, 2], [2]);
    expectAllclose(f(a), arrayOf([2, 4], [2]));
    scale = 3; // cached: the old trace keeps the value it saw, as in JAX
    expectAllclose(f(a), arrayOf([2, 4], [2]));
    expectAllclose(f(arrayOf([1, 2, 3], [3])), arrayOf([3, 6, 9], [3]));
    expect(f.traceCount).toBe(2);
  });
});
