// Property tests (fast-check) of the number policy: any JS number, nested
// list of numbers or booleans, and typed array of every kind becomes an array
// of the documented dtype holding the documented values (float32 rounding is
// Math.fround); integer dtypes take exactly the integers in their range and
// throw a DTypeError for anything else; JS numbers meeting integer arrays
// keep the integer dtype when integer-valued and promote to float32 otherwise.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import "../src/backends";
import * as np from "../src/numpy";
import { DTypeError } from "../src/core/errors";
import type { Tracer } from "../src/core/trace";

const numRuns = Number(process.env.NUM_RUNS ?? 30);
const flat = (x: Tracer): number[] => Array.from(x.dataSync());
const sameValues = (got: number[], want: number[]) => expect(got.map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(want.map((v) => (Number.isNaN(v) ? "NaN" : v)));

// Nested lists cannot spell an empty inner dimension, and an empty list is float32 whatever it was meant to hold.
const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 });
/** Nest a flat list into `shape` (row-major), as a user would write it. */
function nest<T>(values: readonly T[], shape: readonly number[]): unknown {
  if (shape.length === 1) return [...values];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}
const withShape = <T>(elem: fc.Arbitrary<T>) =>
  shapeArb.chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.tuple(fc.constant(shape), fc.array(elem, { minLength: n, maxLength: n }));
  });

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;

describe("JS values round-trip with the documented dtypes", () => {
  test("nested number lists are float32 holding Math.fround of each value", () => {
    fc.assert(
      fc.property(withShape(fc.double()), ([shape, values]) => {
        const a = np.array(nest(values, shape) as never);
        expect(a.dtype).toBe("float32");
        expect(a.shape).toEqual(shape);
        sameValues(flat(a), values.map(Math.fround));
      }),
      { numRuns },
    );
  });

  test("a JS number is a weak float32 scalar", () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const a = np.array(x);
        expect([a.dtype, a.weakType, a.shape]).toEqual(["float32", true, []]);
        sameValues(flat(a), [Math.fround(x)]);
      }),
      { numRuns },
    );
  });

  test("nested boolean lists are bool", () => {
    fc.assert(
      fc.property(withShape(fc.boolean()), ([shape, values]) => {
        const a = np.array(nest(values, shape) as never);
        expect(a.dtype).toBe("bool");
        expect(flat(a)).toEqual(values.map(Number));
      }),
      { numRuns },
    );
  });

  test("typed arrays of every kind keep their values, with the documented dtype", () => {
    const kinds: [string, (xs: number[]) => ArrayBufferView, fc.Arbitrary<number>, string][] = [
      ["Float32Array", (xs) => Float32Array.from(xs), fc.float(), "float32"],
      ["Float64Array", (xs) => Float64Array.from(xs), fc.double(), "float32"],
      ["Int32Array", (xs) => Int32Array.from(xs), fc.integer({ min: INT32_MIN, max: INT32_MAX }), "int32"],
      ["Int16Array", (xs) => Int16Array.from(xs), fc.integer({ min: -32768, max: 32767 }), "int32"],
      ["Int8Array", (xs) => Int8Array.from(xs), fc.integer({ min: -128, max: 127 }), "int32"],
      ["Uint32Array", (xs) => Uint32Array.from(xs), fc.integer({ min: 0, max: UINT32_MAX }), "uint32"],
      ["Uint16Array", (xs) => Uint16Array.from(xs), fc.integer({ min: 0, max: 65535 }), "int32"],
      ["Uint8Array", (xs) => Uint8Array.from(xs), fc.integer({ min: 0, max: 255 }), "int32"],
      ["Uint8ClampedArray", (xs) => Uint8ClampedArray.from(xs), fc.integer({ min: 0, max: 255 }), "int32"],
    ];
    for (const [name, make, elem, dtype] of kinds) {
      fc.assert(
        fc.property(fc.array(elem, { maxLength: 20 }), (xs) => {
          const data = make(xs);
          const a = np.array(data as never);
          expect(a.dtype, name).toBe(dtype);
          expect(a.shape).toEqual([xs.length]);
          // Each value as the source stores it, then as float32 stores it when the dtype is float.
          const stored = Array.from(data as unknown as ArrayLike<number>);
          sameValues(flat(a), dtype === "float32" ? stored.map(Math.fround) : stored);
        }),
        { numRuns },
      );
    }
  });
});

describe("integer dtypes take exactly the integers in their range", () => {
  const ranges: ["int32" | "uint32", number, number][] = [
    ["int32", INT32_MIN, INT32_MAX],
    ["uint32", 0, UINT32_MAX],
  ];
  for (const [dtype, lo, hi] of ranges) {
    test(`${dtype}: integers in [${lo}, ${hi}] round-trip exactly`, () => {
      fc.assert(
        fc.property(withShape(fc.integer({ min: lo, max: hi })), ([shape, values]) => {
          const a = np.array(nest(values, shape) as never, { dtype });
          expect(a.dtype).toBe(dtype);
          expect(flat(a)).toEqual(values);
        }),
        { numRuns },
      );
    });

    test(`${dtype}: a fraction, NaN, ±Infinity or an out-of-range value anywhere is a DTypeError`, () => {
      const bad = fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Number.isInteger(v)),
        fc.constantFrom(NaN, Infinity, -Infinity),
        fc.integer({ min: 1, max: 2 ** 40 }).map((k) => hi + k),
        fc.integer({ min: 1, max: 2 ** 40 }).map((k) => lo - k),
      );
      fc.assert(
        fc.property(fc.array(fc.integer({ min: lo, max: hi }), { maxLength: 6 }), bad, fc.nat(), (good, v, at) => {
          const values = [...good];
          values.splice(at % (good.length + 1), 0, v);
          expect(() => np.array(values, { dtype })).toThrow(DTypeError);
          expect(() => np.array(v, { dtype })).toThrow(DTypeError);
          expect(() => np.array(Float64Array.from(values), { dtype })).toThrow(DTypeError);
        }),
        { numRuns },
      );
    });
  }
});

describe("JS numbers meeting integer arrays", () => {
  test("an integer-valued number keeps int32 (wrapping as int32 arithmetic does); a fraction promotes to float32", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: INT32_MIN, max: INT32_MAX }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => !Number.isInteger(v)),
        (xs, n, f) => {
          const a = np.array(xs, { dtype: "int32" });
          const r = a.add(n);
          expect(r.dtype).toBe("int32");
          expect(flat(r)).toEqual(xs.map((x) => (x + n) | 0));
          const q = a.add(f);
          expect(q.dtype).toBe("float32");
          expect(flat(q)).toEqual(xs.map((x) => Math.fround(Math.fround(x) + Math.fround(f))));
        },
      ),
      { numRuns },
    );
  });
});
