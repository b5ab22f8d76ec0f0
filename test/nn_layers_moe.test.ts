// Tests of SwitchMoE on a hand-built routing: top-1 choice, capacity and
// dropping in arrival order, outputs scaled by the router probability, the
// load-balancing and z-loss values, gradients (jit(grad) = grad, wasm
// kernels), leading axes, and errors.

import { describe, expect, it } from "vitest";
import { np, random, grad, jit, type Array } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";

const key = (seed: number) => random.key(seed);

describe("SwitchMoE", () => {
  // Tokens [1,0] go to expert 0 and [0,1] to expert 1: the router's logits are 5·x.
  const x = np.array([[1, 0], [1, 0], [1, 0], [0, 1]]);
  const moe = nn.SwitchMoE(2, 3, 2, { capacityFactor: 1 });
  const init = moe.init(key(0)).params;
  const params = { ...init, router: { weight: np.array([[5, 0], [0, 5]]) } };
  const p = 1 / (1 + Math.exp(-5)); // the chosen expert's probability for every token
  const ffn = (e: number, v: Array) => {
    const ex = params.experts;
    const h = nn.relu(np.add(np.matmul(v, ex.inputWeight.slice(e)), ex.inputBias.slice(e)));
    return np.add(np.matmul(h, ex.outputWeight.slice(e)), ex.outputBias.slice(e));
  };

  it("routes top-1, keeps ceil(capacityFactor·T/E) tokens per expert in arrival order and zeroes the dropped", () => {
    expect(moe.capacity(4)).toBe(2);
    const { y, aux } = moe.applyWithAux(params, x);
    expect(aux.expertIndex.tolist()).toEqual([0, 0, 0, 1]);
    expect(aux.dropped.tolist()).toEqual([false, false, true, false]);
    expectAllclose(y.slice([0, 2]), np.multiply(p, ffn(0, x.slice([0, 2]))), { atol: 1e-5 });
    expect(y.slice(2).tolist()).toEqual([0, 0]);
    expectAllclose(y.slice(3), np.multiply(p, ffn(1, x.slice(3))), { atol: 1e-5 });
    expectAllclose(moe.apply(params, x), y);
    const roomy = nn.SwitchMoE(2, 3, 2, { capacityFactor: 2 });
    expect(roomy.applyWithAux(params, x).aux.dropped.tolist()).toEqual([false, false, false, false]);
    expectAllclose(roomy.apply(params, x).slice(2), np.multiply(p, ffn(0, x.slice(2))), { atol: 1e-5 });
  });

  it("computes the load-balancing loss E·Σ f_e·P_e and the router z-loss by hand", () => {
    const { aux } = moe.applyWithAux(params, x);
    const P0 = (3 * p + (1 - p)) / 4;
    const P1 = (3 * (1 - p) + p) / 4;
    expect(aux.loadBalancingLoss.item()).toBeCloseTo(2 * (0.75 * P0 + 0.25 * P1), 5);
    expect(aux.routerZLoss.item()).toBeCloseTo((5 + Math.log1p(Math.exp(-5))) ** 2, 3);
    const uniform = { ...params, router: { weight: np.zeros([2, 2]) } };
    expect(moe.applyWithAux(uniform, x).aux.loadBalancingLoss.item()).toBeCloseTo(1, 6);
  });

  it("accepts leading axes and keeps them in y, expertIndex and dropped", () => {
    const { y, aux } = moe.applyWithAux(params, x.reshape([2, 2, 2]));
    expect(y.shape).toEqual([2, 2, 2]);
    expect(aux.dropped.tolist()).toEqual([[false, false], [true, false]]);
  });

  it("gradients reach the router through the gate and the experts through their tokens; jit(grad) = grad on wasm kernels", () => {
    const big = nn.SwitchMoE(4, 8, 3);
    const bp = big.init(key(1)).params;
    const tokens = random.normal(key(2), [10, 4]);
    const loss = (q: typeof bp) => {
      const { y, aux } = big.applyWithAux(q, tokens);
      return np.mean(np.square(np.add(tokens, y))).add(aux.loadBalancingLoss.mul(0.01)).add(aux.routerZLoss.mul(1e-3));
    };
    const g = grad(loss)(bp);
    expect(np.max(np.abs(g.router.weight)).item()).toBeGreaterThan(0);
    expectAllclose(jit(grad(loss))(bp), g, { atol: 1e-5, rtol: 1e-4 });
    expect(jit(grad(loss)).lower(bp).text().split("\n").filter((l) => l.includes("HOST FALLBACK"))).toEqual([]);
    expect(big.summary(bp)).toContain("experts.inputWeight f32[3,4,8]");
  });

  it("names the layer on a wrong input and checks its hyperparameters", () => {
    expect(() => moe.apply(params, np.zeros([4, 3]))).toThrow(ShapeError);
    expect(() => moe.apply(params, np.zeros([4, 3]))).toThrow("SwitchMoE(dModel=2, hidden=3, experts=2, capacityFactor=1) expects inputs [tokens, 2], got [4, 3]");
    expect(() => moe.applyWithAux(params, [[1, 2]] as never)).toThrow(ArgumentError);
    expect(() => nn.SwitchMoE(2, 3, 0)).toThrow(ArgumentError);
    expect(() => nn.SwitchMoE(2, 3, 2, { capacityFactor: 0 })).toThrow("capacityFactor must be positive");
  });
});
