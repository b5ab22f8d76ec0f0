// The transcendentals the planner expands into kernel ops (plan/transcendental.ts:
// tan, atan, asin, acos, atan2, sinh, cosh, asinh, acosh, atanh, erf_inv) against the interpreter, which rounds
// the float64 Math.* result: within a few float32 ulp over wide ranges, with
// ±0, ±inf, NaN and the domain edges exact, and never a host step under jit.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, np, type Tracer } from "../src/index";
import { setDefaultBackend } from "../src/index";
import { interpreterValues } from "./interpreter_oracle";

const EXPANDED = ["tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "erfInv"] as const;
type Expanded = (typeof EXPANDED)[number];
const apply = (name: Expanded, x: Tracer): Tracer => (lax as unknown as Record<Expanded, (x: Tracer) => Tracer>)[name](x);

/** Float32 inputs: special values, domain edges, a log-spaced sweep of both signs over [2^-30, 2^30], and [-1.1, 1.1] in steps of 0.001. */
function inputs(): Float32Array {
  const special = [0, -0, Infinity, -Infinity, NaN, 1, -1, 2, -2, Math.fround(1 + 2 ** -23), Math.fround(1 - 2 ** -24), -Math.fround(1 - 2 ** -24),
    Math.PI / 2, -Math.PI / 2, Math.PI, 0.4142135, 0.4142136, 2.4142135, 2.4142137, 0.5, -0.5, 0.99, -0.99, 9, -9, 88.5, 89, 89.4, 90, -89, 4096, -4096, 1e-40, -1e-40, 3.4e38, -3.4e38];
  const sweep: number[] = [];
  for (let e = -30; e <= 30; e += 0.0625) {
    const v = 2 ** e * (1 + 0.37 * ((e * 16) % 3));
    sweep.push(v, -v);
  }
  // asin, acos, atanh live on [-1, 1]: sweep it densely too.
  for (let i = -1100; i <= 1100; i++) sweep.push(i / 1000);
  // erf_inv's tail: 1 - k 2^-24 up to 1 - 2^-8, where w = -log(1 - x^2) grows to 17.
  for (let k = 1; k <= 1 << 16; k = Math.ceil(k * 1.07)) sweep.push(1 - k * 2 ** -24, -(1 - k * 2 ** -24));
  return new Float32Array([...special, ...sweep]);
}

/** Distance in float32 ulps (of the wanted value) between two float32 values; 0 for equal values (NaN == NaN). */
function ulpDistance(got: number, want: number): number {
  if (Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))) return 0;
  if (!Number.isFinite(got) || !Number.isFinite(want)) return Infinity;
  const e = Math.max(Math.floor(Math.log2(Math.abs(want) || 2 ** -149)), -126);
  return Math.abs(got - want) / 2 ** (e - 23);
}

describe("transcendentals expanded into kernel ops equal the interpreter", () => {
  const x = np.array(inputs(), { dtype: "float32" }) as TfArray;
  for (const name of EXPANDED) {
    it(`${name}: within 4 ulp, specials exact, no host step`, () => {
      const f = (v: Tracer) => apply(name, v);
      const got = Array.from((jit(f)(x) as Tracer).dataSync() as Float32Array);
      const want = interpreterValues(f, [x]);
      const xs = Array.from(x.dataSync() as Float32Array);
      let worst = { ulps: 0, at: NaN, got: NaN, want: NaN };
      got.forEach((g, i) => {
        const d = ulpDistance(g, want[i]);
        if (d > worst.ulps) worst = { ulps: d, at: xs[i], got: g, want: want[i] };
      });
      expect(worst.ulps, `${name}(${worst.at}) = ${worst.got}, want ${worst.want}`).toBeLessThanOrEqual(4);
      // Signed zeros are kept: odd functions map -0 to -0.
      for (let i = 0; i < got.length; i++) if (want[i] === 0) expect(Object.is(got[i], want[i]), `${name}(${xs[i]})`).toBe(true);
      expect(jit(f).lower(x).text()).not.toContain("HOST FALLBACK");
    });
  }
});

describe("atan2 expanded into kernel ops equals the interpreter", () => {
  it("within 4 ulp over every pair of special and swept values, signed zeros and NaN exact, no host step", () => {
    const values = [0, -0, Infinity, -Infinity, NaN, 1, -1, 1e-40, -1e-40, 3.4e38, -3.4e38, 0.3, -0.3, 2.5, -2.5, 1e-20, 7e19];
    for (let e = -20; e <= 20; e += 0.75) values.push(2 ** e * 1.3, -(2 ** e) * 0.7);
    const ys = values.flatMap((y) => values.map(() => y));
    const xs = values.flatMap(() => values);
    const y = np.array(new Float32Array(ys), { dtype: "float32" }) as TfArray;
    const x = np.array(new Float32Array(xs), { dtype: "float32" }) as TfArray;
    const f = (a: Tracer, b: Tracer) => lax.atan2(a, b);
    const got = Array.from((jit(f)(y, x) as Tracer).dataSync() as Float32Array);
    const want = interpreterValues(f, [y, x]);
    got.forEach((g, i) => {
      const where = `atan2(${ys[i]}, ${xs[i]}) = ${g}, want ${want[i]}`;
      expect(ulpDistance(g, want[i]), where).toBeLessThanOrEqual(4);
      if (want[i] === 0) expect(Object.is(g, want[i]), where).toBe(true);
    });
    expect(jit(f).lower(y, x).text()).not.toContain("HOST FALLBACK");
  });
});
