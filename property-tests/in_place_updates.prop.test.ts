// Properties of in-place updates in compiled programs: a dynamic_update_slice
// (or scatter) writes into its operand's buffer instead of a copy when the
// operand dies there — statically for an intermediate used once
// (IndexingContext.overwritable), at run time for a donated input that the
// output takes over (the operand copy is then skipped). Each case is checked
// against the interpreter (the oracle), and the aliasing cases check that an
// update written in place is never visible through a value still alive: the
// operand returned as well, read after the update, held by another array, or
// passed twice. Scan loops (whose carries are donated from one iteration to
// the next) are covered with reverse scans, lengths 0 and 1, grad and nesting.
// NUM_RUNS sets the number of cases (default 15).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Array as TArray, grad, jit, lax, np, type ArrayImpl, type Tracer } from "../src/index";
import { onInterpreter } from "../test/interpreter_oracle";

type T = Tracer;
const numRuns = Number(process.env.NUM_RUNS ?? 15);

const i32 = (v: number): T => np.array(v, { dtype: "int32" });
const values = (x: T): number[] => globalThis.Array.from(x.dataSync() as Float32Array);
const toInterp = (x: T): T => (x as ArrayImpl).to("interpreter");
/** A fresh wasm array of `shape` whose elements are `seed`, `seed + 1`, ... (each call its own buffer). */
const fresh = (shape: readonly number[], seed: number): T =>
  TArray.fromTyped(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => seed + i), [...shape], "float32");

function expectSame(got: T, want: T, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const g = values(got);
  const w = values(want);
  g.forEach((v, i) => {
    if (Math.abs(v - w[i]) > 1e-4 * (1 + Math.abs(w[i]))) throw new Error(`${what}: element ${i} is ${v}, expected ${w[i]}\n got ${JSON.stringify(g)}\n want ${JSON.stringify(w)}`);
  });
}

/** An operand shape, an update shape inside it, and start indices, some out of range (they clamp). */
const updateCase = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      update: fc.tuple(...shape.map((n) => fc.integer({ min: 1, max: n }))),
      starts: fc.tuple(...shape.map((n) => fc.integer({ min: -2, max: n + 2 }))),
    }),
  );

/** How the operand may still be alive besides the update. */
const ALIASING = ["none", "returned", "read after", "held elsewhere", "passed twice"] as const;

describe("in-place dynamic_update_slice and scatter", () => {
  it("a donated operand updated in place equals the interpreter, and a still-live alias never sees the update", () => {
    fc.assert(
      fc.property(updateCase, fc.constantFrom(...ALIASING), fc.boolean(), ({ shape, update, starts }, aliasing, donate) => {
        const dus = (x: T, u: T, ...s: T[]): T => lax.dynamicUpdateSlice(x, u, s);
        const f = (x: T, u: T, y: T, ...s: T[]): T[] => {
          const out = dus(x, u, ...s);
          if (aliasing === "returned") return [out, x];
          if (aliasing === "read after") return [out, x.mul(y).sum()];
          if (aliasing === "passed twice") return [out, y.add(1)];
          return [out];
        };
        const jitted = jit(f, donate ? { donateArgnums: [0] } : {});
        const x = fresh(shape, 1);
        const u = fresh(update, -50);
        const s = starts.map(i32);
        const before = values(x);
        // The interpreter's answer, from copies made before x can be given up.
        const want = onInterpreter(() => f(toInterp(x), toInterp(u), toInterp(x), ...s.map(toInterp)));
        const held = aliasing === "held elsewhere" ? jit((v: T) => v)(x) : null;
        const got = jitted(x, u, aliasing === "passed twice" ? x : fresh(shape, 1), ...s);
        got.forEach((g, k) => expectSame(g, want[k], `output ${k} (${aliasing}, donated ${donate})`));
        if (held !== null) expect(values(held)).toEqual(before);
        // A donated argument is given up whether or not its buffer was reused; one not donated is untouched.
        if (!donate) expect(values(x)).toEqual(before);
      }),
      { numRuns },
    );
  });

  it("chained updates of an intermediate are written in place and equal the interpreter", () => {
    fc.assert(
      fc.property(updateCase, fc.integer({ min: 1, max: 3 }), ({ shape, update, starts }, chain) => {
        const f = (x: T, u: T): T => {
          let out = x.mul(2);
          for (let k = 0; k < chain; k++) out = lax.dynamicUpdateSlice(out, u.add(k), starts.map((s, d) => i32(s + k * (d === 0 ? 1 : 0))));
          return out;
        };
        const x = fresh(shape, 3);
        const u = fresh(update, -9);
        const want = onInterpreter(() => f(toInterp(x), toInterp(u)));
        expectSame(jit(f)(x, u), want, `chain of ${chain}`);
        // x·2 is computed where the first update goes, and every update is written there: no kernel copies an operand.
        const program = jit(f).lower(x, u).text().split("# program on wasm")[1].split("# generated kernels")[0];
        expect(program).not.toMatch(/fused kernel over \[[\d,]*\]: copy \(%/);
        expect(program.match(/dynamic_update_slice kernel/g)?.length).toBe(chain);
      }),
      { numRuns },
    );
  });

  it("scatter-add into an intermediate used once equals the interpreter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: -1, max: 6 }), { minLength: 1, maxLength: 5 }), (n, idx) => {
        const f = (x: T, v: T): T => x.mul(3).at(np.array(idx.map((i) => Math.min(Math.max(i, 0), n - 1)), { dtype: "int32" })).add(v);
        const x = fresh([n, 2], 1);
        const v = fresh([idx.length, 2], 10);
        expectSame(jit(f)(x, v), onInterpreter(() => f(toInterp(x), toInterp(v))), "scatter-add");
      }),
      { numRuns },
    );
  });
});

describe("in-place updates of a scan's carry", () => {
  /** A scan writing each step's value into a carried buffer at the step's index (and, optionally, emitting the buffer before the write: an alias of the carry). */
  const writer = (reverse: boolean, emitCarry: boolean) => (acc0: T, w: T, xs: T) =>
    lax.scan(
      (c: { acc: T; i: T }, x: T) => {
        const row = np.tanh(x.mul(w)).reshape([1, ...x.shape]);
        const acc = lax.dynamicUpdateSlice(c.acc, row, [c.i, ...x.shape.map(() => i32(0))]);
        return [{ acc, i: c.i.add(reverse ? -1 : 1) }, emitCarry ? c.acc.sum() : row.sum()];
      },
      { acc: acc0, i: i32(reverse ? Math.max(0, xs.shape[0] - 1) : 0) },
      xs,
      { reverse },
    );

  it("forward and reverse, lengths 0 to 5, with the carry also emitted before each write, equal the interpreter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean(), fc.boolean(), (length, width, reverse, emitCarry, donate) => {
        const f = (acc0: T, w: T, xs: T) => {
          const [c, ys] = writer(reverse, emitCarry)(acc0, w, xs);
          return [c.acc, ys];
        };
        const acc0 = fresh([Math.max(length, 1), width], 0.5);
        const w = fresh([width], 0.1);
        const xs = fresh([length, width], -1).mul(0.3);
        const want = onInterpreter(() => f(toInterp(acc0), toInterp(w), toInterp(xs)));
        const before = values(acc0);
        const held = jit((v: T) => v)(acc0);
        const got = jit(f, donate ? { donateArgnums: [0] } : {})(acc0, w, xs);
        got.forEach((g, k) => expectSame(g, want[k], `output ${k}`));
        expect(values(held)).toEqual(before);
      }),
      { numRuns },
    );
  });

  it("grad through the in-place writes, and a scan of them nested in a scan, equal the interpreter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), (length, width, reverse) => {
        const loss = (w: T, xs: T) => {
          const [c, ys] = writer(reverse, false)(np.zeros([length, width]), w, xs);
          return c.acc.mul(c.acc).sum().add(ys.sum());
        };
        const nested = (w: T, xss: T) => lax.scan((s: T, xs: T) => [s.add(loss(w, xs)), s], np.zeros([]), xss)[0];
        const w = fresh([width], 0.2).mul(0.5);
        const xs = fresh([length, width], -2).mul(0.2);
        const xss = np.stack([xs, xs.mul(-0.5)]);
        expectSame(jit(grad(loss))(w, xs), onInterpreter(() => grad(loss)(toInterp(w), toInterp(xs))), "grad");
        expectSame(jit(nested)(w, xss), onInterpreter(() => nested(toInterp(w), toInterp(xss))), "nested");
      }),
      { numRuns },
    );
  });
});
