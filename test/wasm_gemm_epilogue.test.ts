// Tests of the wasm lowering's GEMM epilogue folding (lowering.ts
// `foldIntoGemm`, run by the generated GEMM of codegen/gemm.ts): in jitted MLP
// layers, bias adds (column and row vectors), scales, clamps and relu that
// consume a GEMM output only are folded into the GEMM's store — the program
// text shows one sgemm step with the fused epilogue and no extra kernel — and
// the results equal the interpreter. A GEMM output also used elsewhere, an
// operand computed after the GEMM, or an operand that is not a row/column
// vector is not folded, and stays correct. Gradients of a jitted two-layer MLP
// and batched / narrow (transposed) GEMMs are checked the same way.
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, grad, jit, nn, np } from "../src/index";
import { expectAllclose } from "../src/testing";
import { onInterpreter } from "./interpreter_oracle";
import { expectMatchesInterpreter, programSteps, wasmRandom } from "./wasm_lowering_checks";

const rand = wasmRandom(3);

describe("GEMM epilogues folded by the wasm lowering", () => {
  const x = rand([37, 50]);
  const w = rand([50, 24]);
  const b = rand([24]);
  const r = rand([37]);

  it("relu(x @ W + b) is one sgemm step with the bias and relu in its store", () => {
    const layer = (x: TfArray, w: TfArray, b: TfArray) => nn.relu(np.dot(x, w).add(b));
    const s = programSteps(layer, x, w, b);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatch(/sgemm 1x\[37x50\]·\[50x24\] .*fused epilogue relu\(add\(x, %\d+\[j\]\)\)/);
    expectMatchesInterpreter(layer, [x, w, b], 2e-5);
  });

  it("scales, reversed subtraction, row vectors and clamps chain in one epilogue", () => {
    const f = (x: TfArray, w: TfArray, b: TfArray, r: TfArray) =>
      np.minimum(np.maximum(b.sub(np.dot(x, w).mul(0.5)).add(r.reshape([37, 1])), -0.25), 0.75);
    const s = programSteps(f, x, w, b, r);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatch(/fused epilogue min\(max\(add\(sub\(%\d+\[j\], mul\(x, 0\.5\)\), %\d+\[i\]\), -0\.25\), 0\.75\)/);
    expectMatchesInterpreter(f, [x, w, b, r], 2e-5);
  });

  it("division by a column vector and of a constant", () => {
    const f = (x: TfArray, w: TfArray, b: TfArray) => np.divide(2, np.dot(x, w).div(b).add(30));
    const s = programSteps(f, x, w, b);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatch(/fused epilogue div\(2, add\(div\(x, %\d+\[j\]\), 30\)\)/);
    expectMatchesInterpreter(f, [x, w, b.abs().add(0.5) as TfArray], 1e-4);
  });

  it("is not folded when the GEMM output is also used elsewhere, and stays correct", () => {
    const f = (x: TfArray, w: TfArray, b: TfArray) => {
      const h = np.dot(x, w);
      return [nn.relu(h.add(b)), h.sum(0)];
    };
    const s = programSteps(f, x, w, b);
    expect(s.filter((l) => l.includes("fused epilogue"))).toHaveLength(0);
    expect(s.filter((l) => l.includes("fused kernel")).length).toBeGreaterThanOrEqual(2);
    expectMatchesInterpreter(f, [x, w, b], 2e-5);
  });

  it("folds up to the last single-use value: an intermediate used twice stops the chain", () => {
    const f = (x: TfArray, w: TfArray, b: TfArray) => {
      const z = np.dot(x, w).add(b);
      return nn.relu(z).add(z.mul(z));
    };
    const s = programSteps(f, x, w, b);
    expect(s[0]).toMatch(/fused epilogue add\(x, %\d+\[j\]\)\)$/);
    expectMatchesInterpreter(f, [x, w, b], 2e-5);
  });

  it("an operand computed after the GEMM, or one that is not a row/column vector, is added by a separate kernel", () => {
    const lazyBias = (x: TfArray, w: TfArray, b: TfArray) => np.dot(x, w).add(np.exp(b));
    expect(programSteps(lazyBias, x, w, b).some((l) => l.includes("fused epilogue"))).toBe(false);
    expectMatchesInterpreter(lazyBias, [x, w, b], 2e-5);
    const residual = (x: TfArray, w: TfArray, y: TfArray) => np.dot(x, w).add(y);
    const y = rand([37, 24]);
    expect(programSteps(residual, x, w, y).some((l) => l.includes("fused epilogue"))).toBe(false);
    expectMatchesInterpreter(residual, [x, w, y], 2e-5);
  });

  it("batched matmul shares the bias across the batch", () => {
    const xb = rand([3, 9, 20]);
    const wb = rand([3, 20, 12]);
    const bb = rand([12]);
    const f = (x: TfArray, w: TfArray, b: TfArray) => nn.relu(np.matmul(x, w).add(b));
    const s = programSteps(f, xb, wb, bb);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatch(/sgemm 3x\[9x20\]·\[20x12\].*fused epilogue relu\(add\(x, %\d+\[j\]\)\)/);
    expectMatchesInterpreter(f, [xb, wb, bb], 2e-5);
  });

  it("a narrow C computed transposed takes its column bias as the step's row vector", () => {
    const xn = rand([300, 256]);
    const wn = rand([256, 3]);
    const bn = rand([3]);
    const f = (x: TfArray, w: TfArray, b: TfArray) => nn.relu(np.dot(x, w).add(b));
    const s = programSteps(f, xn, wn, bn);
    expect(s[0]).toMatch(/sgemm .*\[3x256\]·\[256x300\].*fused epilogue relu\(add\(x, %\d+\[i\]\)\)/);
    expectMatchesInterpreter(f, [xn, wn, bn], 1e-4);
  });

  it("wide layers cross the 8x4 tile edges and the K blocks (k > 256)", () => {
    const xw = rand([67, 300]);
    const ww = rand([300, 45]);
    const bw = rand([45]);
    const f = (x: TfArray, w: TfArray, b: TfArray) => nn.relu(np.dot(x, w).add(b)).mul(2);
    expect(programSteps(f, xw, ww, bw)[0]).toMatch(/fused epilogue mul\(relu\(add\(x, %\d+\[j\]\)\), 2\)/);
    expectMatchesInterpreter(f, [xw, ww, bw], 1e-4);
  });

  it("a jitted two-layer MLP's loss and gradients equal the interpreter", () => {
    const xs = rand([16, 10]);
    const ys = rand([16, 3]);
    const params = { w1: rand([10, 32]), b1: rand([32]), w2: rand([32, 3]), b2: rand([3]) };
    type P = typeof params;
    const loss = (p: P, x: TfArray, y: TfArray) => {
      const h = nn.relu(np.dot(x, p.w1).add(p.b1));
      return np.mean(np.square(np.dot(h, p.w2).add(p.b2).sub(y)));
    };
    const fwd = (p: P, x: TfArray) => nn.relu(np.dot(x, p.w1).add(p.b1));
    expect(programSteps(fwd as (...a: any[]) => unknown, params as unknown as TfArray, xs).some((l) => l.includes("fused epilogue relu"))).toBe(true);
    const g = jit(grad(loss))(params, xs, ys) as P;
    const want = onInterpreter(() => {
      const pi = { w1: params.w1.to("interpreter"), b1: params.b1.to("interpreter"), w2: params.w2.to("interpreter"), b2: params.b2.to("interpreter") };
      return grad(loss)(pi, xs.to("interpreter"), ys.to("interpreter")) as P;
    });
    for (const key of ["w1", "b1", "w2", "b2"] as const) expectAllclose(g[key], want[key], { atol: 1e-5, rtol: 1e-4 });
    expectAllclose(jit(loss)(params, xs, ys) as TfArray, onInterpreter(() => loss({ w1: params.w1.to("interpreter"), b1: params.b1.to("interpreter"), w2: params.w2.to("interpreter"), b2: params.b2.to("interpreter") }, xs.to("interpreter"), ys.to("interpreter"))), { atol: 1e-5, rtol: 1e-5 });
  });
});
