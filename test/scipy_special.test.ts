// Tests of tinyflow.scipy.special, nn.log1mexp and lax.erfc against values
// from their defining identities (Γ(n) = (n-1)!, ψ(1) = -γ, ψ(x+1) = ψ(x) +
// 1/x, erfc(x) = 1 - erf(x) where that is exact enough, known tail values).

import { describe, expect, test } from "vitest";
import { np, nn, lax, scipy, grad, type Array } from "../src/index";

import { close as closeTo, flat } from "./values";

const close = (x: Array, expected: number[], tol = 2e-6): void => closeTo(x, expected, tol);
const { special } = scipy;
const EULER_GAMMA = 0.5772156649015329;

describe("scipy.special", () => {
  test("gammaln: log (n-1)!, Γ(1/2) = √π, the reflection branch", () => {
    close(special.gammaln(np.array([1, 2, 5, 10, 0.5])), [0, 0, Math.log(24), Math.log(362880), 0.5 * Math.log(Math.PI)], 1e-5);
    // Γ(-1/2) = -2√π
    close(special.gammaln(np.array([-0.5])), [Math.log(2 * Math.sqrt(Math.PI))], 1e-5);
    expect(special.gammaln(np.array([3], { dtype: "int32" })).dtype).toBe("float32");
  });

  test("digamma: ψ(1) = -γ, the recurrence, and the derivative of gammaln", () => {
    close(special.digamma(np.array([1, 2, 0.5])), [-EULER_GAMMA, 1 - EULER_GAMMA, -EULER_GAMMA - 2 * Math.LN2], 1e-5);
    const x = np.array([0.3, 2.7, 15]);
    close(np.subtract(special.digamma(np.add(x, 1)), special.digamma(x)), flat(np.reciprocal(x)), 1e-4);
    close(grad((v: Array) => np.sum(special.gammaln(v)))(x), flat(special.digamma(x)), 1e-4);
    // ψ(-0.5) = ψ(1.5) + π tan(-π/2)... via reflection: ψ(1 - x) - ψ(x) = π cot(πx), ψ(-1/2) = 2 - γ - 2 ln 2
    close(special.digamma(np.array([-0.5])), [2 - EULER_GAMMA - 2 * Math.LN2], 1e-4);
  });

  test("erfc keeps its tail, and lax.erfc is the same function", () => {
    close(special.erfc(np.array([0, 0.5, -1])), [1, 1 - 0.5204998778130465, 1 + 0.8427007929497149], 2e-6);
    // erfc(5) = 1.5374597944280e-12, where 1 - erf(5) is 0 in float32.
    const tail = flat(special.erfc(np.array([5, 9])));
    expect(Math.abs(tail[0] - 1.5374597944280e-12) / 1.5374597944280e-12).toBeLessThan(1e-5);
    expect(Math.abs(tail[1] - 4.1370317465138e-37) / 4.1370317465138e-37).toBeLessThan(1e-4);
    expect(flat(lax.erfc(np.array([5])))).toEqual([tail[0]]);
    close(grad((v: Array) => special.erfc(v))(np.array(0.7)), [(-2 / Math.sqrt(Math.PI)) * Math.exp(-0.49)], 1e-5);
  });

  test("logit, expit, xlogy, xlog1py, entr", () => {
    close(special.logit(np.array([0.5, 0.75])), [0, Math.log(3)]);
    close(special.expit(np.array([0, Math.log(3)])), [0.5, 0.75]);
    close(special.xlogy(np.array([0, 2]), np.array([0, Math.E])), [0, 2]);
    close(special.xlog1py(np.array([0, 3]), np.array([-1, Math.E - 1])), [0, 3]);
    close(special.entr(np.array([0, 0.5, -1])), [0, 0.5 * Math.LN2, -Infinity]);
  });
});

describe("nn.log1mexp", () => {
  test("log(1 - exp(-x)) on both branches, finite near 0 and for large x", () => {
    close(nn.log1mexp(np.array([0.1, 1, 5])), [Math.log(1 - Math.exp(-0.1)), Math.log(1 - Math.exp(-1)), Math.log(1 - Math.exp(-5))], 1e-5);
    close(nn.log1mexp(np.array([1e-6])), [Math.log(1e-6)], 1e-3);
    close(nn.log1mexp(np.array([40])), [-Math.exp(-40)], 1e-3);
  });
});
