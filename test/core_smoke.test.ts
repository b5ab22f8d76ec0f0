// Smoke tests of the core: binding on concrete arrays, tracing, the printer and
// type checker on hand-built jaxprs, and escaped-tracer detection.

import { describe, expect, it } from "vitest";
import "../src/backends";
import { Array, bind1, ShapedArray, Var, Jaxpr, JaxprEqn, Literal, checkJaxpr, printJaxpr, TracerError, JaxprTypeError } from "../src/core";
import { makeJaxpr } from "../transforms/jaxpr_trace";

const f32 = (xs: number[], shape = [xs.length]) => Array.fromTyped(new Float32Array(xs), shape, "float32");

describe("core smoke", () => {
  it("binds a primitive on concrete arrays", () => {
    const y = bind1("sin", [f32([0, Math.PI / 2])], {}) as Array;
    expect([...y.dataSync()]).toEqual([0, 1]);
  });
  it("traces a jaxpr", () => {
    const j = makeJaxpr((x: any) => bind1("sin", [x], {}))(f32([1, 2, 3]));
    expect(String(j)).toBe("{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b) }");
  });
  it("prints and type-checks a hand-built jaxpr", () => {
    const a = new Var(new ShapedArray([3], "float32"));
    const b = new Var(new ShapedArray([3], "float32"));
    const c = new Var(new ShapedArray([3], "float32"));
    const two = new Literal(2, new ShapedArray([], "float32", true));
    const bc = new Var(new ShapedArray([3], "float32", true));
    const j = new Jaxpr([], [a], [
      new JaxprEqn("sin", [a], {}, [b]),
      new JaxprEqn("broadcast_in_dim", [two], { shape: [3], broadcastDimensions: [] }, [bc]),
      new JaxprEqn("mul", [b, bc], {}, [c]),
    ], [c]);
    expect(printJaxpr(j)).toContain("broadcast_in_dim[shape=(3,) broadcastDimensions=()] 2.0:f32[]");
    expect(checkJaxpr(j).map(String)).toEqual(["f32[3]"]);
    const bad = new Jaxpr([], [a], [new JaxprEqn("sin", [a], {}, [new Var(new ShapedArray([4], "float32"))])], [c]);
    expect(() => checkJaxpr(bad)).toThrow(JaxprTypeError);
  });
  it("rejects escaped tracers", () => {
    let leaked: any = null;
    makeJaxpr((x: any) => { leaked = x; return x; })(f32([1]));
    expect(() => bind1("sin", [leaked], {})).toThrow(TracerError);
  });
});
