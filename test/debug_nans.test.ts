// config.update("debugNans" | "debugInfs", true): the first primitive that
// produces a NaN/Inf throws a FloatingPointError naming the primitive, its
// types and the user's line -- eagerly, and inside jit (re-run equation by
// equation to find the culprit). Off, nothing is checked.

import { afterEach, describe, expect, it } from "vitest";
import { ArgumentError, FloatingPointError, config, grad, jit, np, type Tracer } from "../src/index";

afterEach(() => {
  config.update("debugNans", false);
  config.update("debugInfs", false);
});

function sqrtOfDouble(a: Tracer): Tracer {
  const doubled = a.mul(2);
  const root = np.sqrt(doubled); // the NaN for negative inputs
  return root.sum();
}

describe("debugNans / debugInfs", () => {
  it("is off by default: NaN flows through", () => {
    expect(config.read("debugNans")).toBe(false);
    expect(Number.isNaN(np.log(np.array([-1])).item())).toBe(true);
  });
  it("eagerly: names the primitive and this file's line", () => {
    config.update("debugNans", true);
    expect(() => np.log(np.array([1, -1]))).toThrow(FloatingPointError);
    expect(() => np.log(np.array([1, -1]))).toThrow(/NaN produced by log\(f32\[2\]\).*flat index 1.*debug_nans\.test\.ts:\d+/);
  });
  it("under jit: re-runs to find the first equation and its traced line", () => {
    config.update("debugNans", true);
    const f = jit(sqrtOfDouble);
    expect(() => f(np.array([1, -1, 2]))).toThrow(/NaN produced by sqrt\(f32\[3\]\).*called at sqrtOfDouble \(.*debug_nans\.test\.ts:\d+/);
    expect(f(np.array([1, 2])).item()).toBeCloseTo(Math.SQRT2 + 2, 5);
  });
  it("debugInfs catches infinities, debugNans alone does not", () => {
    config.update("debugNans", true);
    expect(grad(sqrtOfDouble)(np.array([0, 1])).shape).toEqual([2]);
    config.update("debugInfs", true);
    expect(() => grad(sqrtOfDouble)(np.array([0, 1]))).toThrow(/Infinity produced by/);
  });
  it("rejects unknown settings and non-boolean values", () => {
    expect(() => (config.update as (n: string, v: boolean) => void)("debugNan", true)).toThrow(ArgumentError);
    expect(() => config.update("debugNans", 1 as never)).toThrow(/takes true or false/);
  });
});
