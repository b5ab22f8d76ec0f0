// Shared by the numpy/linalg/scipy unit tests: an array's values as a flat JS
// list, and an elementwise comparison against hand-computed values (nested
// lists or a scalar) with a tolerance relative to max(1, |expected|); NaN
// must meet NaN and ±Infinity must be hit exactly.

import { expect } from "vitest";
import type { Array } from "../src/index";

export const flat = (x: Array): number[] => globalThis.Array.from(x.dataSync() as ArrayLike<number>);

export function close(x: Array, expected: unknown, tol = 1e-5): void {
  const want = (globalThis.Array.isArray(expected) ? (expected as unknown[]).flat(Infinity) : [expected]) as number[];
  const got = flat(x);
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => {
    if (Number.isNaN(want[i])) expect(Number.isNaN(v)).toBe(true);
    else if (!Number.isFinite(want[i])) expect(v).toBe(want[i]);
    else expect(Math.abs(v - want[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])));
  });
}
