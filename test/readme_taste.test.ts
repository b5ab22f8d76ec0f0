// The README's "A taste" snippet, run: it type-checks under strict tsc
// (test/types/public_types.typecheck.ts holds it verbatim) and computes what
// the comments say.

import { describe, expect, it } from "vitest";
import { np, grad, vmap, jit, makeJaxpr, type Array } from "../src/index";

describe("README: A taste", () => {
  const loss = (w: Array, x: Array, y: Array) => np.mean(np.square(np.dot(x, w).sub(y)));
  const x = np.array([[1, 2], [3, 4], [5, 6]]);
  const y = np.array([1, 2, 3]);
  const w = np.zeros([2]);

  it("grad, per-example grads and jit agree with the closed form", () => {
    // d/dw mean((xw - y)^2) at w = 0 is -2/n * x^T y
    const want = [-2 * (1 * 1 + 3 * 2 + 5 * 3) / 3, -2 * (2 * 1 + 4 * 2 + 6 * 3) / 3];
    const g: Array = grad(loss)(w, x, y);
    expect((g.tolist() as number[]).map((v, i) => Math.abs(v - want[i]) < 1e-4)).toEqual([true, true]);
    const perExample: Array = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y);
    expect(perExample.shape).toEqual([3, 2]);
    expect((perExample.mean(0).tolist() as number[]).map((v, i) => Math.abs(v - want[i]) < 1e-4)).toEqual([true, true]);
    const jg: Array = jit(grad(loss))(w, x, y);
    expect((jg.tolist() as number[]).map((v, i) => Math.abs(v - want[i]) < 1e-4)).toEqual([true, true]);
  });
  it("makeJaxpr prints the traced program", () => {
    const text = String(makeJaxpr((x: Array) => np.sin(x).mul(2))(np.ones([3])));
    expect(text).toMatch(/sin a/);
    expect(text).toMatch(/mul b c/);
  });
});
