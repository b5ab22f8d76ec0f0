// Helpers of the interpreter rule tests (test/interpreter_*.test.ts): host
// arrays from literal values, a primitive run through its shape rule and then
// its interpreter rule (checking that the two agree), and an error check.

import { expect } from "vitest";
import { ShapedArray } from "../src/core/aval";
import { typedFrom, type DType } from "../src/core/dtype";
import type { ParamsOf, Primitive } from "../src/core/primitives";
import type { ShapeRule } from "../src/core/shape_rules/types";
import { HostArray } from "../src/backends/interpreter/host_array";
import type { InterpRule } from "../src/backends/interpreter/rules/types";

export function hostArray(dtype: DType, shape: number[], values: ArrayLike<number>): HostArray {
  return new HostArray(typedFrom(dtype, values), shape, dtype);
}

const avalOf = (x: HostArray): ShapedArray => new ShapedArray(x.shape, x.dtype);

/** Runs the shape rule, then the interpreter rule, and checks they agree on shapes, dtypes and sizes. */
export function runRule<P extends Primitive>(shapeRule: ShapeRule<P>, interpRule: InterpRule<P>, inputs: HostArray[], params: ParamsOf<P>): HostArray[] {
  const outAvals = shapeRule(inputs.map(avalOf), params);
  const outs = interpRule(inputs, params, outAvals);
  expect(outs.length).toBe(outAvals.length);
  outs.forEach((o, i) => {
    expect(o.shape).toEqual(outAvals[i].shape);
    expect(o.dtype).toBe(outAvals[i].dtype);
    expect(o.data.length).toBe(outAvals[i].size);
  });
  return outs;
}

/** f throws an instance of cls whose message contains every part. */
export function expectErr(f: () => unknown, cls: new (...a: never[]) => Error, ...parts: string[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  for (const p of parts) expect((err as Error).message).toContain(p);
}
