// Tests of the recurrent cells and layers: one step of each cell against its
// gate equations written out, the scanned LSTM/GRU/RNN against hand-unrolled
// loops over time, returnSequences and initial carries, backpropagation
// through time (jit(grad) = grad through the scan), the input projection
// hoisted out of the scan (equal to scanning the cell's full step, on the
// interpreter and compiled, forward and gradient), and the shape errors.

import { describe, expect, it } from "vitest";
import { np, lax, random, grad, jit, makeJaxpr, vmap, type Array, type ClosedJaxpr } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";
import { onInterpreter } from "./interpreter_oracle";

const key = (seed: number) => random.key(seed);
const Bt = 3, T = 6, F = 4, Hd = 5;
const sig = (v: Array) => np.divide(1, np.add(1, np.exp(np.negative(v))));
const blocks = (v: Array, n: number) => np.split(v, n, -1);
const withBias = { biasInit: nn.initializers.normal({ stddev: 0.5 }) };
const xs = random.normal(key(1), [Bt, T, F]);

describe("cells", () => {
  it("LSTMCell: i, f, g, o gates as PyTorch; carry { h, c }; apply returns h", () => {
    const cell = nn.LSTMCell(F, Hd, withBias);
    const p = cell.init(key(0)).params;
    expect(p.inputWeight.shape).toEqual([F, 4 * Hd]);
    expect(p.hiddenWeight.shape).toEqual([Hd, 4 * Hd]);
    const x = xs.slice(":", 0);
    const carry = { h: random.normal(key(2), [Bt, Hd]), c: random.normal(key(3), [Bt, Hd]) };
    const [next, h] = cell.applyStep(p, x, { carry });
    const [i, f, g, o] = blocks(np.matmul(x, p.inputWeight).add(np.matmul(carry.h, p.hiddenWeight)).add(p.bias), 4);
    const c2 = sig(f).mul(carry.c).add(sig(i).mul(np.tanh(g)));
    expectAllclose(next.c, c2, { atol: 1e-5 });
    expectAllclose(h, sig(o).mul(np.tanh(c2)), { atol: 1e-5 });
    expectAllclose(next.h, h);
    expectAllclose(cell.apply(p, x, { carry }), h);
    const [zeroStart] = cell.applyStep(p, x);
    expectAllclose(zeroStart.h, cell.applyStep(p, x, { carry: cell.initialCarry([Bt]) })[1]);
  });

  it("GRUCell: r, z, n with the reset gate inside the hidden term (PyTorch)", () => {
    const cell = nn.GRUCell(F, Hd, withBias);
    const p = cell.init(key(0)).params;
    const x = xs.slice(":", 0);
    const h = random.normal(key(2), [Bt, Hd]);
    const [xr, xz, xn] = blocks(np.matmul(x, p.inputWeight).add(p.inputBias), 3);
    const [hr, hz, hn] = blocks(np.matmul(h, p.hiddenWeight).add(p.hiddenBias), 3);
    const r = sig(xr.add(hr)), z = sig(xz.add(hz));
    const n = np.tanh(xn.add(r.mul(hn)));
    const [next, out] = cell.applyStep(p, x, { carry: h });
    expectAllclose(next, np.subtract(1, z).mul(n).add(z.mul(h)), { atol: 1e-5 });
    expectAllclose(out, next);
  });

  it("RNNCell: tanh(x·Wx + h·Wh + b); recurrent kernels start orthogonal per gate", () => {
    const cell = nn.RNNCell(F, Hd, withBias);
    const p = cell.init(key(0)).params;
    const x = xs.slice(":", 0);
    const h = random.normal(key(2), [Bt, Hd]);
    expectAllclose(cell.apply(p, x, { carry: h }), np.tanh(np.matmul(x, p.inputWeight).add(np.matmul(h, p.hiddenWeight)).add(p.bias)), { atol: 1e-5 });
    expectAllclose(np.matmul(p.hiddenWeight.T, p.hiddenWeight), np.eye(Hd), { atol: 1e-5 });
    const lstmW = nn.LSTMCell(F, Hd).init(key(0)).params.hiddenWeight;
    const gate2 = lstmW.slice(":", [Hd, 2 * Hd]);
    expectAllclose(np.matmul(gate2.T, gate2), np.eye(Hd), { atol: 1e-5 });
  });

  it("cells check x and the carry's shapes", () => {
    const cell = nn.LSTMCell(F, Hd);
    const p = cell.init(key(0)).params;
    expect(() => cell.applyStep(p, np.zeros([Bt, F + 1]))).toThrow(`LSTMCell(4→5) expects inputs [..., 4], got [3, 5]`);
    expect(() => cell.applyStep(p, np.zeros([Bt, F]), { carry: { h: np.zeros([Bt, 2]), c: np.zeros([Bt, Hd]) } })).toThrow("expects carry h [3, 5], got [3, 2]");
    expect(() => cell.applyStep(p, np.zeros([Bt, F]), { carry: np.zeros([Bt, Hd]) as never })).toThrow(ArgumentError);
    expect(() => nn.GRUCell(0, 3)).toThrow(ArgumentError);
  });
});

describe("sequence layers over lax.scan", () => {
  it("LSTM equals a hand-unrolled loop of its cell, from zeros or a given carry", () => {
    const lstm = nn.LSTM(F, Hd, withBias);
    const p = lstm.init(key(0)).params;
    const start = { h: random.normal(key(5), [Bt, Hd]), c: random.normal(key(6), [Bt, Hd]) };
    for (const initialCarry of [undefined, start]) {
      let carry = initialCarry ?? lstm.cell.initialCarry([Bt]);
      const outs: Array[] = [];
      for (let t = 0; t < T; t++) {
        const [i, f, g, o] = blocks(np.matmul(xs.slice(":", t), p.inputWeight).add(np.matmul(carry.h, p.hiddenWeight)).add(p.bias), 4);
        const c = sig(f).mul(carry.c).add(sig(i).mul(np.tanh(g)));
        carry = { h: sig(o).mul(np.tanh(c)), c };
        outs.push(carry.h);
      }
      const ys = lstm.apply(p, xs, initialCarry ? { initialCarry } : {});
      expect(ys.shape).toEqual([Bt, T, Hd]);
      expectAllclose(ys, np.stack(outs, 1), { atol: 1e-5 });
      const [final, ys2] = lstm.applyWithCarry(p, xs, initialCarry ? { initialCarry } : {});
      expectAllclose(final, carry, { atol: 1e-5 });
      expectAllclose(ys2, ys);
    }
  });

  it("GRU and RNN equal their cells stepped in a loop; returnSequences=false keeps the last output", () => {
    for (const [layer, cell] of [[nn.GRU(F, Hd, withBias), nn.GRUCell(F, Hd)], [nn.RNN(F, Hd, withBias), nn.RNNCell(F, Hd)]] as const) {
      const p = layer.init(key(0)).params as never;
      let h = np.zeros([Bt, Hd]);
      const outs: Array[] = [];
      for (let t = 0; t < T; t++) {
        h = cell.applyStep(p, xs.slice(":", t), { carry: h })[0];
        outs.push(h);
      }
      expectAllclose(layer.apply(p, xs), np.stack(outs, 1), { atol: 1e-5 });
    }
    const last = nn.GRU(F, Hd, { returnSequences: false });
    const p = last.init(key(0)).params;
    expectAllclose(last.apply(p, xs), nn.GRU(F, Hd).apply(p, xs).slice(":", T - 1), { atol: 1e-6 });
    expect(last.apply(p, xs).shape).toEqual([Bt, Hd]);
    expect(String(last)).toBe("GRU(4→5, returnSequences=false)");
    expect(last.summary(p)).toMatch(/GRU\(4→5, returnSequences=false\)\s+inputWeight f32\[4,15\], hiddenWeight f32\[5,15\], inputBias f32\[15\], hiddenBias f32\[15\]\s+165/);
  });

  it("accepts an unbatched [time, features] sequence and vmaps over the batch", () => {
    const lstm = nn.LSTM(F, Hd);
    const p = lstm.init(key(0)).params;
    expectAllclose(vmap((s: Array) => lstm.apply(p, s))(xs), lstm.apply(p, xs), { atol: 1e-5 });
  });

  it("backpropagation through time: jit(grad) through the scan equals grad, and matches the unrolled loop's gradient", () => {
    const lstm = nn.LSTM(F, Hd, { returnSequences: false });
    const head = nn.Linear(Hd, 1);
    const p = { lstm: lstm.init(key(0)).params, head: head.init(key(1)).params };
    const loss = (q: typeof p) => np.mean(np.square(head.apply(q.head, lstm.apply(q.lstm, xs))));
    const unrolled = (q: typeof p) => {
      let carry = lstm.cell.initialCarry([Bt]);
      for (let t = 0; t < T; t++) carry = lstm.cell.applyStep(q.lstm, xs.slice(":", t), { carry })[0];
      return np.mean(np.square(head.apply(q.head, carry.h)));
    };
    const g = grad(loss)(p);
    expectAllclose(jit(grad(loss))(p), g, { atol: 1e-5, rtol: 1e-4 });
    expectAllclose(grad(unrolled)(p), g, { atol: 1e-5, rtol: 1e-4 });
    expect(jit(grad(loss)).lower(p).text().split("\n").filter((l) => l.includes("HOST FALLBACK"))).toEqual([]);
  });

  it("projects the inputs of the whole sequence with one matmul before the scan; the scan body multiplies by the recurrent kernel only", () => {
    const gatesOf = { LSTM: 4, GRU: 3, RNN: 1 };
    for (const layer of [nn.LSTM(F, Hd), nn.GRU(F, Hd), nn.RNN(F, Hd)]) {
      const p = layer.init(key(0)).params as never;
      const closed = makeJaxpr((x: Array) => layer.apply(p, x))(xs);
      const outer = closed.jaxpr.eqns.filter((e) => e.primitive === "dot_general").map((e) => e.outputs[0].aval.shape);
      expect(outer).toEqual([[T, Bt, gatesOf[layer.name as keyof typeof gatesOf] * Hd]]);
      const scanEqn = closed.jaxpr.eqns.find((e) => e.primitive === "scan")!;
      const body = (scanEqn.params as { jaxpr: ClosedJaxpr }).jaxpr;
      expect(body.jaxpr.eqns.filter((e) => e.primitive === "dot_general").length).toBe(1);
    }
  });

  it("the hoisted projection equals scanning the cell's whole step: forward and gradient, interpreter and jit", () => {
    const stepwise = <P, C>(layer: nn.RecurrentLayer<P, C>, p: P, x: Array): Array => {
      const [, ys] = lax.scan((c, xt) => layer.cell.applyStep(p, xt as Array, { carry: c as C }), layer.cell.initialCarry([Bt]), np.moveaxis(x, 1, 0));
      return np.moveaxis(ys as Array, 0, 1);
    };
    for (const layer of [nn.LSTM(F, Hd, withBias), nn.GRU(F, Hd, withBias), nn.RNN(F, Hd, withBias)] as nn.RecurrentLayer<unknown, unknown>[]) {
      const p = layer.init(key(0)).params;
      const hoistedLoss = (q: unknown, x: Array) => np.sum(np.sin(layer.apply(q, x)));
      const stepwiseLoss = (q: unknown, x: Array) => np.sum(np.sin(stepwise(layer, q, x)));
      const want = onInterpreter(() => {
        const [pi, xi] = [layer.init(key(0)).params, random.normal(key(1), [Bt, T, F])];
        return { y: stepwise(layer, pi, xi), g: grad(stepwiseLoss, { argnums: [0, 1] })(pi, xi) };
      });
      expectAllclose(onInterpreter(() => layer.apply(layer.init(key(0)).params, random.normal(key(1), [Bt, T, F]))), want.y, { atol: 1e-5 });
      expectAllclose(jit((q: unknown, x: Array) => layer.apply(q, x))(p, xs), want.y, { atol: 1e-5 });
      expectAllclose(grad(hoistedLoss, { argnums: [0, 1] })(p, xs), want.g, { atol: 1e-5, rtol: 1e-4 });
      expectAllclose(jit(grad(hoistedLoss, { argnums: [0, 1] }))(p, xs), want.g, { atol: 1e-5, rtol: 1e-4 });
    }
  });

  it("names the layer on a wrong input", () => {
    const lstm = nn.LSTM(F, Hd);
    const p = lstm.init(key(0)).params;
    expect(() => lstm.apply(p, np.zeros([Bt, T, 7]))).toThrow(ShapeError);
    expect(() => lstm.apply(p, np.zeros([Bt, T, 7]))).toThrow("LSTM(4→5) expects inputs [batch, time, 4], got [3, 6, 7]");
    expect(() => lstm.apply(p, xs, { initialCarry: { h: np.zeros([2, Hd]), c: np.zeros([2, Hd]) } })).toThrow("expects carry h [3, 5], got [2, 5]");
    expect(() => nn.LSTM(F, Hd, { returnSequence: false } as never)).toThrow('unknown option "returnSequence"');
  });
});
