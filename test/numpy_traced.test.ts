// The numpy layer under transformations: the same functions staged by
// makeJaxpr/jit and mapped by vmap give the eager results, and the typed
// errors for data-dependent operations on tracers.

import { describe, expect, test } from "vitest";
import { jit, makeJaxpr, vmap, grad, np, lax } from "../src";
import { TracerError } from "../src/core/errors";
import type { Tracer } from "../src/core/trace";

const L = (x: Tracer) => x.tolist();

describe("numpy under jit / makeJaxpr / vmap / grad", () => {
  test("indexing, at(), matmul, einsum and reductions stage the same values", () => {
    const f = (x: Tracer, i: Tracer) => {
      const a = x.slice(i, [null, null, -1]);
      const b = x.at(i, 0).add(100);
      const c = np.einsum("ij,kj->ik", x, x);
      return [a, b, np.matmul(x, x.T), c, np.logsumexp(x, 1), np.where(np.greater(x, 2), x, 0)] as const;
    };
    const x = np.array([[1, 2, 3], [4, 5, 6]], np.float32);
    const i = np.array([1, 0, 1], { dtype: "int32" });
    const eager = f(x, i).map(L);
    const staged = (jit(f as never) as (x: Tracer, i: Tracer) => Tracer[])(x, i).map(L);
    expect(staged).toEqual(eager);
    expect(eager[0]).toEqual([[6, 5, 4], [3, 2, 1], [6, 5, 4]]);
    expect(eager[1]).toEqual([[101, 2, 3], [204, 5, 6]]);
    const text = String(makeJaxpr((x: Tracer) => np.sum(np.add(x, 1), 0))(x));
    expect(text).toContain("reduce_sum");
    expect(text).toContain("add");
  });
  test("a traced scalar index lowers to gather; at().set with a traced index lowers to scatter", () => {
    const x = np.arange(5, { dtype: np.float32 });
    const get = jit((x: Tracer, t: Tracer) => x.slice(t));
    expect(L(get(x, np.array(3, { dtype: "int32" })) as Tracer)).toBe(3);
    const put = jit((x: Tracer, t: Tracer) => x.at(t).set(-1));
    expect(L(put(x, np.array(1, { dtype: "int32" })) as Tracer)).toEqual([0, -1, 2, 3, 4]);
  });
  test("vmap of numpy functions", () => {
    const xs = np.array([[1, 2], [3, 4], [5, 6]], np.float32);
    const r = vmap((v: Tracer) => np.dot(v, v))(xs) as Tracer;
    expect(L(r)).toEqual([5, 25, 61]);
    const m = vmap((v: Tracer) => np.mean(v))(xs) as Tracer;
    expect(L(m)).toEqual([1.5, 3.5, 5.5]);
  });
  test("grad through numpy ops", () => {
    const g = grad((x: Tracer) => np.sum(np.square(x)))(np.array([1, 2, 3], np.float32)) as Tracer;
    expect(L(g)).toEqual([2, 4, 6]);
    const g2 = grad((x: Tracer) => lax.reduceSum(x.at(np.array([0, 0], { dtype: "int32" })).get(), [0]))(np.array([1, 2], np.float32)) as Tracer;
    expect(L(g2)).toEqual([2, 0]);
  });
  test("data-dependent operations on tracers throw TracerError", () => {
    const x = np.array([1, 2], np.float32);
    expect(() => jit((x: Tracer) => x.slice(np.greater(x, 1)))(x)).toThrow(TracerError);
    expect(() => jit((x: Tracer) => (np.allclose(x, x) ? x : x))(x)).toThrow(/allclose: needs concrete arrays/);
    expect(() => jit((x: Tracer) => np.segmentSum(x, np.array([0, 1], { dtype: "int32" }).add(x.astype("int32"))))(x)).toThrow(/numSegments must be given/);
  });
});
