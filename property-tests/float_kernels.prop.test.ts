// Property: the kernels that replaced the last host steps on wasm compute what
// the interpreter computes, over random shapes and the values that break them:
// float `rem` (plan/float_rem.ts) bit for bit over arbitrary float32 bit
// patterns (subnormals, huge quotients, ±0, ±inf, NaN); erf_inv
// (plan/transcendental.ts) within 4 float32 ulp over [-1, 1] and its edges;
// integer dot_general (plan/contraction.ts) bit for bit with products and sums
// wrapping past 2^31; bool cummax/cummin (plan/library.ts) exactly. NUM_RUNS
// (default 20) sets the runs per property.

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
