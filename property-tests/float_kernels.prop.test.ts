// Property: the kernels that replaced the last host steps on wasm compute what
// the interpreter computes, over random shapes and the values that break them:
// float `rem` (plan/float_rem.ts) bit for bit over arbitrary float32 bit
// patterns (subnormals, huge quotients, ±0, ±inf, NaN); erf_inv
// (plan/transcendental.ts) within 4 float32 ulp over [-1, 1] and its edges;
// integer dot_general (plan/contraction.ts) bit for bit with products and sums
// wrapping past 2^31; bool cummax/cummin (plan/library.ts) exactly; float16
// scatter_add (plan/indexing.ts: float32 sums rounded to half once) over
// hundreds of halves with repeated indices: exactly where the float32 sums are
// exact, else within their rounding error. NUM_RUNS (default 20) sets the runs
// per property.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, np, setDefaultBackend, type Tracer } from "../src/index";
import { interpreterValues } from "../test/interpreter_oracle";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

/** f jitted on wasm: its values, after checking that no step of it ran on the host. */
function onWasm(f: (...xs: Tracer[]) => Tracer, args: TfArray[]): number[] {
  expect(jit(f).lower(...args).text()).not.toContain("HOST FALLBACK");
  return Array.from((jit(f)(...args) as Tracer).dataSync() as ArrayLike<number>);
}

const sameFloat = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** A shape of rank 0 to 3 with dims 0 to 9 (at most 400 elements). */
const shapeArb = fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }).filter((s) => s.reduce((a, b) => a * b, 1) <= 400);

/** float32 values: arbitrary bit patterns half of the time, else small multiples and the edges. */
const float32Arb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((bits) => new Float32Array(new Uint32Array([bits]).buffer)[0]),
  fc.integer({ min: -64, max: 64 }).map((k) => k / 4),
  fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38),
);

const filled = <T>(shape: number[], arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) });

describe("the kernels that replaced host steps equal the interpreter", () => {
  it("float rem: bit for bit, float32 and float16", () => {
    const caseArb = shapeArb.chain((shape) => fc.tuple(fc.constant(shape), filled(shape, float32Arb), filled(shape, float32Arb), fc.boolean()));
    fc.assert(
      fc.property(caseArb, ([shape, xs, ys, half]) => {
        const dtype = half ? "float16" : "float32";
        const x = np.array(new Float32Array(xs), { dtype }).reshape(shape) as TfArray;
        const y = np.array(new Float32Array(ys), { dtype }).reshape(shape) as TfArray;
        const f = (a: Tracer, b: Tracer) => lax.rem(a, b);
        const got = onWasm(f, [x, y]);
        const want = interpreterValues(f, [x, y]);
        got.forEach((g, i) => expect(sameFloat(g, want[i]), `rem(${xs[i]}, ${ys[i]}) = ${g}, want ${want[i]}`).toBe(true));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("erf_inv: within 4 ulp, ±1 -> ±inf, beyond -> NaN, -0 kept", () => {
    const inDomain = fc.oneof(
      fc.float({ min: -1, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 1 << 20 }).map((k) => Math.fround(1 - k * 2 ** -24) * (k % 2 ? 1 : -1)),
      fc.constantFrom(0, -0, 1, -1, 1.5, -2, NaN, Infinity),
    );
    const caseArb = shapeArb.chain((shape) => fc.tuple(fc.constant(shape), filled(shape, inDomain)));
    fc.assert(
      fc.property(caseArb, ([shape, xs]) => {
        const x = np.array(new Float32Array(xs), { dtype: "float32" }).reshape(shape) as TfArray;
        const f = (a: Tracer) => lax.erfInv(a);
        const got = onWasm(f, [x]);
        const want = interpreterValues(f, [x]);
        got.forEach((g, i) => {
          const where = `erf_inv(${xs[i]}) = ${g}, want ${want[i]}`;
          if (!Number.isFinite(want[i]) || want[i] === 0) expect(sameFloat(g, want[i]), where).toBe(true);
          else {
            const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(want[i]))), -126) - 23);
            expect(Math.abs(g - want[i]) / ulp, where).toBeLessThanOrEqual(4);
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("integer dot_general: bit for bit, wrapping as int32", () => {
    const dims = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 6 }));
    const caseArb = fc.tuple(dims, fc.constantFrom("int32" as const, "uint32" as const), fc.boolean()).chain(([[b, m, k, n], dtype, transposed]) => {
      const word = dtype === "int32" ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : fc.integer({ min: 0, max: 2 ** 32 - 1 });
      return fc.tuple(fc.constant({ b, m, k, n, dtype, transposed }), filled([b, m, k], word), filled([b, k, n], word));
    });
    fc.assert(
      fc.property(caseArb, ([{ b, m, k, n, dtype, transposed }, ls, rs]) => {
        const typed = (v: number[]) => (dtype === "int32" ? new Int32Array(v) : new Uint32Array(v));
        const lhs = np.array(typed(ls), { dtype }).reshape([b, m, k]) as TfArray;
        // The rhs as [b, k, n], or stored as [b, n, k] and contracted along its last dim.
        const rhs = (transposed ? np.array(typed(rs), { dtype }).reshape([b, n, k]) : np.array(typed(rs), { dtype }).reshape([b, k, n])) as TfArray;
        const f = (x: Tracer, y: Tracer) => lax.dotGeneral(x, y, [[[2], [transposed ? 2 : 1]], [[0], [0]]]);
        expect(onWasm(f, [lhs, rhs])).toEqual(interpreterValues(f, [lhs, rhs]));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  describe("float16 scatter_add with repeated indices", () => {
    /** How the sums are formed: a segment sum, .at[].add into an input, or into an intermediate buffer it may overwrite. */
    const forms = {
      segmentSum: (_x: Tracer, u: Tracer, ids: Tracer, segments: number) => np.segmentSum(u, ids, segments),
      "add into an input": (x: Tracer, u: Tracer, ids: Tracer) => x.at(ids).add(u).mul(2),
      // 1-D, so the gather's buffer is the scatter's own operand (not a reshape of it) and is summed into in place.
      "add in place into a gathered intermediate": (x: Tracer, u: Tracer, ids: Tracer, segments: number) =>
        np.take(x.reshape([-1]), np.arange(x.size - 1, -1, -1, { dtype: "int32" }), 0).at(ids).add(u.reshape([-1]).slice([0, ids.size])).reshape([segments, -1]),
    };
    /** rows x width halves `values` summed into `segments` rows by ids in [-1, segments] (out of range ones dropped). */
    const caseArb = (values: fc.Arbitrary<number>) =>
      fc
        .record({ rows: fc.integer({ min: 0, max: 300 }), width: fc.integer({ min: 1, max: 3 }), segments: fc.integer({ min: 1, max: 5 }), form: fc.constantFrom(...(Object.keys(forms) as (keyof typeof forms)[])) })
        .chain((c) => fc.tuple(fc.constant(c), filled([c.rows, c.width], values), filled([c.segments, c.width], values), filled([c.rows], fc.integer({ min: -1, max: c.segments }))));
    /** f's values jitted on wasm and on the interpreter, and the sum of every |update| (a bound on what one output element adds). */
    function run([c, us, xs, ids]: [{ rows: number; width: number; segments: number; form: keyof typeof forms }, number[], number[], number[]]) {
      const u = np.array(new Float32Array(us), { dtype: "float16" }).reshape([c.rows, c.width]) as TfArray;
      const x = np.array(new Float32Array(xs), { dtype: "float16" }).reshape([c.segments, c.width]) as TfArray;
      const idArray = np.array(new Int32Array(ids), { dtype: "int32" }) as TfArray;
      const f = (a: Tracer, b: Tracer, i: Tracer) => forms[c.form](a, b, i, c.segments);
      const got = onWasm(f, [x, u, idArray]);
      expect((jit(f)(x, u, idArray) as Tracer).dtype).toBe("float16");
      const magnitude = Array.from(u.dataSync() as ArrayLike<number>).reduce((sum, v) => sum + Math.abs(v), 0);
      return { got, want: interpreterValues(f, [x, u, idArray]), magnitude };
    }

    it("exactly the interpreter's where float32 sums are exact (multiples of 1/64 up to 32)", () => {
      fc.assert(
        fc.property(caseArb(fc.integer({ min: -2048, max: 2048 }).map((k) => k / 64)), (c) => {
          const { got, want } = run(c);
          expect(got).toEqual(want);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it("any halves, subnormal to 100: within float16 rounding plus the float32 sums' rounding error", () => {
      const values = fc.oneof(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -1e-5, max: 1e-5, noNaN: true }));
      fc.assert(
        fc.property(caseArb(values), (c) => {
          const { got, want, magnitude } = run(c);
          const rows = c[0].rows;
          got.forEach((g, i) => {
            // Each side rounds to float16 once (half a float16 ulp, an ulp across a binade edge) a sum that the float32
            // adds moved by at most half a float32 ulp of the running sum each (operand |x| <= 100); doubled for the form
            // that doubles its result.
            const f16Ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(want[i]) || 1)), -14) - 10);
            const bound = 2 * (2 * f16Ulp + rows * 2 ** -24 * (magnitude + 100));
            expect(Math.abs(g - want[i]), `element ${i}: ${g}, want ${want[i]}`).toBeLessThanOrEqual(bound);
          });
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  it("bool cummax/cummin along any axis, either direction: exactly", () => {
    const caseArb = shapeArb
      .filter((s) => s.length > 0)
      .chain((shape) => fc.tuple(fc.constant(shape), filled(shape, fc.boolean()), fc.integer({ min: 0, max: shape.length - 1 }), fc.boolean(), fc.boolean()));
    fc.assert(
      fc.property(caseArb, ([shape, bits, axis, reverse, isMax]) => {
        const x = np.array(new Uint8Array(bits.map(Number)), { dtype: "bool" }).reshape(shape) as TfArray;
        const f = (a: Tracer) => (isMax ? lax.cummax(a, axis, { reverse }) : lax.cummin(a, axis, { reverse }));
        expect(onWasm(f, [x])).toEqual(interpreterValues(f, [x]));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
