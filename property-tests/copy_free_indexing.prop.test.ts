// Properties of the copies compiled programs leave out, checked against the
// interpreter (the oracle):
// - in-place updates: a dynamic_update_slice (or scatter) writes into its
//   operand's buffer instead of a copy when the operand dies there —
//   statically for an intermediate used once (IndexingContext.overwritable),
//   at run time for a donated input that the output takes over (the operand
//   copy is then skipped). The aliasing cases check that an update written in
//   place is never visible through a value still alive: the operand returned
//   as well, read after the update, held by another array, or passed twice;
// - dynamic slices as views: a contiguous dynamic_slice of a finished buffer
//   is a view at an offset read at run time (a dynamic_view step), read in
//   place by kernels and GEMMs, clamped as dynamic_slice clamps, and copied
//   when it is an output;
// - both inside scan loops (their xs sliced per iteration, their carries
//   donated from one iteration to the next): forward and reverse, lengths 0
//   and 1, grad, nesting.
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

describe("dynamic slices as views", () => {
  /** An operand shape, slice sizes (contiguous or not), starts (some out of range), and how the slice is used. */
  const sliceCase = fc
    .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        sizes: fc.tuple(...shape.map((n, d) => (d === 0 ? fc.integer({ min: 1, max: n }) : fc.oneof(fc.constant(n), fc.integer({ min: 1, max: n }))))),
        starts: fc.tuple(...shape.map((n) => fc.integer({ min: -3, max: n + 3 }))),
        startType: fc.constantFrom("int32" as const, "uint32" as const),
        use: fc.constantFrom("returned", "elementwise", "matmul", "sliced again", "operand read after"),
        operand: fc.constantFrom("input", "computed"),
      }),
    );

  it("read in place by their consumers (or copied when returned), they equal the interpreter", () => {
    fc.assert(
      fc.property(sliceCase, ({ shape, sizes, starts, startType, use, operand }) => {
        const last = shape[shape.length - 1];
        // A GEMM's output is an intermediate in the program's reused workspace; `later`, written after the
        // view and before its readers, would take the operand's workspace buffer if the view did not keep it alive.
        const scaled = (x: T, by: number): T => np.matmul(x.reshape([-1, last]), np.eye(last).mul(by)).reshape(shape);
        const f = (x: T, ...s: T[]): T => {
          const v = lax.dynamicSlice(operand === "input" ? x : scaled(x, 2), s, sizes);
          const later = scaled(x, 3);
          switch (use) {
            case "returned":
              return v;
            case "elementwise":
              return np.tanh(v).add(v.mul(v)).add(later.sum());
            case "matmul":
              return np.matmul(v.reshape([-1, sizes[sizes.length - 1]]), np.ones([sizes[sizes.length - 1], 2]));
            case "sliced again":
              return lax.dynamicSlice(v, s.map(() => np.array(0, { dtype: startType })), sizes.map((z, d) => (d === 0 ? z : 1)));
            case "operand read after":
              return v.sum().add(x.sum());
          }
        };
        // Negative uint32 starts wrap to huge values, which clamp to the last position.
        const s = starts.map((v) => np.array(startType === "uint32" ? v >>> 0 : v, { dtype: startType }));
        const x = fresh(shape, -3).mul(0.25);
        expectSame(jit(f)(x, ...s), onInterpreter(() => f(toInterp(x), ...s.map(toInterp))), `${use} of a ${JSON.stringify(sizes)} slice of ${JSON.stringify(shape)}`);
      }),
      { numRuns },
    );
  });

  it("a contiguous slice of an input is a view, not a copy; a strided one is copied", () => {
    const x = fresh([4, 3, 2], 0);
    const i = np.array(1, { dtype: "int32" });
    const z = np.array(0, { dtype: "int32" });
    const program = (sizes: number[]) =>
      jit((x: T, i: T, z: T) => lax.dynamicSlice(x, [i, z, z], sizes).mul(2)).lower(x, i, z).text().split("# program on wasm")[1].split("# generated kernels")[0];
    expect(program([1, 3, 2])).toContain("dynamic_slice as a view (no copy)");
    expect(program([2, 3, 2])).toContain("dynamic_slice as a view (no copy)");
    expect(program([2, 2, 2])).toContain("dynamic_slice kernel: copy windows");
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
