// The IR passes (DCE, CSE, simplification/folding, inlining of calls) on real traced
// jaxprs: each keeps values and types and removes what it should.

import { describe, expect, it } from "vitest";
import { np, nn, lax, jit, grad, valueAndGrad, makeJaxpr, type ArrayImpl, checkJaxpr, checkpoint, customJvp, customVjp } from "../src/index";
import { evalClosedJaxpr } from "../src/core";
import { ClosedJaxpr } from "../src/core/ir";
import { cse, dce, inlineCalls, optimize, padSumsToConcatenate, simplify, transposesIntoIndices } from "../transforms/passes";
import { onInterpreter } from "./interpreter_oracle";
import { expectAllclose } from "../src/testing";

const x3 = () => np.array([0.5, 1, 2], { dtype: np.float32 });
const toInterpreter = (a: unknown) => (a as ArrayImpl).to("interpreter");
const eqnCount = (j: { jaxpr: { eqns: unknown[] } }) => j.jaxpr.eqns.length;

describe("IR passes", () => {
  it("DCE drops equations that do not reach the outputs", () => {
    const j = makeJaxpr((x: any) => {
      np.exp(x); // dead
      return np.sin(x);
    })(x3());
    const cleaned = dce(j.jaxpr);
    expect(j.jaxpr.eqns.map((e) => e.primitive)).toEqual(["exp", "sin"]);
    expect(cleaned.eqns.map((e) => e.primitive)).toEqual(["sin"]);
    checkJaxpr(cleaned);
  });

  it("CSE merges identical equations", () => {
    const j = makeJaxpr((x: any) => np.sin(x).add(np.sin(x)))(x3());
    const merged = cse(j.jaxpr);
    expect(j.jaxpr.eqns.filter((e) => e.primitive === "sin")).toHaveLength(2);
    expect(merged.eqns.filter((e) => e.primitive === "sin")).toHaveLength(1);
    checkJaxpr(merged);
  });

  it("simplification removes identities and folds constants", () => {
    const c = np.array([1, 2, 3], { dtype: np.float32 });
    const j = makeJaxpr((x: any) => x.mul(1).add(0).reshape(3).add(c.mul(2)).transpose([0]))(x3());
    const s = simplify(j);
    const prims = s.jaxpr.eqns.map((e) => e.primitive);
    expect(prims).not.toContain("reshape");
    expect(prims).not.toContain("transpose");
    expect(prims.filter((p) => p === "mul")).toHaveLength(0);
    checkJaxpr(s);
    expectAllclose(evalClosedJaxpr(s, [x3()])[0], evalClosedJaxpr(j, [x3()])[0]);
  });

  it("a sum of zero pads whose windows do not overlap becomes one concatenate (the gradient of slicing gates out of a matmul)", () => {
    const x = np.arange(24, { dtype: np.float32 }).reshape([2, 12]);
    // Three of four column blocks read (one left out, so the concatenate needs a zero block).
    const f = (v: any) => {
      const [a, b, c] = [lax.slice(v, [0, 0], [2, 3]), lax.slice(v, [0, 3], [2, 6]), lax.slice(v, [0, 9], [2, 12])];
      return np.sum(np.sin(a).mul(np.tanh(b))).add(np.sum(np.exp(c)));
    };
    const j = makeJaxpr(grad(f))(x);
    expect(j.jaxpr.eqns.filter((e) => e.primitive === "pad")).toHaveLength(3);
    const rewritten = dce(padSumsToConcatenate(j.jaxpr));
    checkJaxpr(rewritten);
    const prims = rewritten.eqns.map((e) => e.primitive);
    expect(prims).not.toContain("pad");
    expect(prims.filter((p) => p === "concatenate")).toHaveLength(1);
    expectAllclose(evalClosedJaxpr(new ClosedJaxpr(rewritten, j.consts), [x])[0], grad(f)(x), { atol: 1e-6, rtol: 1e-6 });
    // Overlapping windows, or pads along two dimensions, stay as they are.
    const overlap = makeJaxpr(grad((v: any) => np.sum(np.sin(lax.slice(v, [0, 0], [2, 6]))).add(np.sum(np.cos(lax.slice(v, [0, 4], [2, 12]))))))(x);
    expect(padSumsToConcatenate(overlap.jaxpr)).toBe(overlap.jaxpr);
    const twoDims = makeJaxpr(grad((v: any) => np.sum(np.sin(lax.slice(v, [0, 0], [1, 6]))).add(np.sum(np.cos(lax.slice(v, [1, 6], [2, 12]))))))(x);
    expect(padSumsToConcatenate(twoDims.jaxpr)).toBe(twoDims.jaxpr);
  });

  it("a transpose of gathered rows, and a scatter-add of transposed updates, move onto the indices (a time-major embedding and its gradient)", () => {
    const table = np.arange(5 * 3, { dtype: np.float32 }).reshape([5, 3]).mul(0.1);
    // ids out of range too (gathered as the fill value, dropped by the scatter-add), and repeated ones
    const ids = np.array([[0, 4, 2, 7], [1, 1, 3, -1]], { dtype: np.int32 });
    const loss = (t: any, i: any) => np.sum(np.tanh(np.transpose(np.take(t, i, 0), [1, 0, 2])).mul(np.arange(4 * 2 * 3, { dtype: np.float32 }).reshape([4, 2, 3])));
    const j = makeJaxpr(valueAndGrad(loss))(table, ids);
    const floatTransposes = (jx: { eqns: { primitive: string; outputs: { aval: { dtype: string } }[] }[] }) =>
      jx.eqns.filter((e) => e.primitive === "transpose" && e.outputs[0].aval.dtype === "float32").length;
    expect(floatTransposes(j.jaxpr)).toBe(2); // the forward's and the gradient's
    const rewritten = dce(transposesIntoIndices(j.jaxpr));
    checkJaxpr(rewritten);
    expect(floatTransposes(rewritten)).toBe(0);
    const onInterp = [table, ids].map(toInterpreter);
    const want = onInterpreter(() => evalClosedJaxpr(j, onInterp));
    expectAllclose(onInterpreter(() => evalClosedJaxpr(new ClosedJaxpr(rewritten, j.consts), onInterp)), want, { atol: 1e-6, rtol: 1e-6 });
    // Compiled (the pass runs in jit's pipeline) on the default backend, against the interpreter.
    expectAllclose(jit(valueAndGrad(loss))(table, ids), want, { atol: 1e-5, rtol: 1e-5 });
  });

  it("moves a permutation of three batch dims onto the indices, for gather and scatter_add", () => {
    const x = np.arange(6 * 2, { dtype: np.float32 }).reshape([6, 2]);
    const ids = np.array(Array.from({ length: 2 * 3 * 4 }, (_, k) => (k * 5) % 8 - 1), { dtype: np.int32 }).reshape([2, 3, 4, 1]);
    const gatherDn = { offsetDims: [3], collapsedSliceDims: [0], startIndexMap: [0] };
    const scatterDn = { updateWindowDims: [3], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
    const u = np.arange(4 * 2 * 3 * 2, { dtype: np.float32 }).reshape([4, 2, 3, 2]);
    const cases: [string, (x: any, i: any, u: any) => any][] = [
      ["gather (fill)", (x, i) => np.transpose(lax.gather(x, i, gatherDn, [1, 2], { mode: "fill", fillValue: -1 }), [2, 0, 1, 3])],
      ["gather (clip)", (x, i) => np.transpose(lax.gather(x, i, gatherDn, [1, 2], { mode: "clip" }), [1, 2, 0, 3])],
      ["scatter_add", (x, i, u) => lax.scatterAdd(x, i, np.transpose(u, [1, 2, 0, 3]), scatterDn)],
    ];
    for (const [name, f] of cases) {
      const j = makeJaxpr(f)(x, ids, u);
      const rewritten = dce(transposesIntoIndices(j.jaxpr));
      checkJaxpr(rewritten);
      expect(rewritten.eqns.filter((e) => e.primitive === "transpose").map((e) => e.outputs[0].aval.dtype), name).toEqual(["int32"]);
      const args = [x, ids, u].map(toInterpreter);
      expectAllclose(
        onInterpreter(() => evalClosedJaxpr(new ClosedJaxpr(rewritten, j.consts), args)),
        onInterpreter(() => evalClosedJaxpr(j, args)),
        { atol: 0, rtol: 0 },
      );
    }
    // A transpose that moves the slice dims, or a gathered value used elsewhere too, stays as it is.
    const movesWindow = makeJaxpr((x: any, i: any) => np.transpose(lax.gather(x, i, gatherDn, [1, 2]), [3, 0, 1, 2]))(x, ids);
    expect(transposesIntoIndices(movesWindow.jaxpr)).toBe(movesWindow.jaxpr);
    const sharedGather = makeJaxpr((x: any, i: any) => {
      const g = lax.gather(x, i, gatherDn, [1, 2]);
      return [np.transpose(g, [2, 0, 1, 3]), g];
    })(x, ids);
    expect(transposesIntoIndices(sharedGather.jaxpr)).toBe(sharedGather.jaxpr);
    // Nor a plain scatter: which update to a repeated index wins depends on the order of the updates.
    const plainScatter = makeJaxpr((x: any, i: any, u: any) => lax.scatter(x, i, np.transpose(u, [1, 2, 0, 3]), scatterDn))(x, ids, u);
    expect(transposesIntoIndices(plainScatter.jaxpr)).toBe(plainScatter.jaxpr);
  });

  it("inlines nested jit calls", () => {
    const inner = jit((x: any) => np.sin(x));
    const j = makeJaxpr((x: any) => inner(x).mul(2))(x3());
    expect(j.jaxpr.eqns.map((e) => e.primitive)).toContain("pjit");
    const flat = inlineCalls(j);
    expect(flat.jaxpr.eqns.map((e) => e.primitive)).not.toContain("pjit");
    checkJaxpr(flat);
    expectAllclose(evalClosedJaxpr(flat, [x3()])[0], evalClosedJaxpr(j, [x3()])[0]);
  });

  it("inlines one jitted function called twice with fresh variables (the second call used to hang the pass)", () => {
    const inner = jit((x: any) => np.sin(x).mul(2));
    const outer = (x: any) => inner(x).sub(inner(x.add(1)).mul(3));
    const j = makeJaxpr(outer)(x3());
    const pjits = j.jaxpr.eqns.filter((e) => e.primitive === "pjit");
    expect(pjits).toHaveLength(2);
    expect((pjits[0].params as { jaxpr: unknown }).jaxpr).toBe((pjits[1].params as { jaxpr: unknown }).jaxpr);
    const flat = inlineCalls(j);
    checkJaxpr(flat); // every variable is bound once
    expect(flat.jaxpr.eqns.filter((e) => e.primitive === "sin")).toHaveLength(2);
    expectAllclose(evalClosedJaxpr(flat, [x3()])[0], outer(x3()));
    expectAllclose(jit(outer)(x3()), outer(x3()));
  });

  it("inlines custom-rule calls and checkpoint: no derivative is left to take at lowering", () => {
    const square = customJvp((x: any) => np.square(x));
    square.defjvp(([x]: any[], [t]: any[]) => [np.square(x), x.mul(t).mul(2)]);
    const softplus = customVjp((x: any) => np.log1p(np.exp(x)));
    softplus.defvjp((x: any) => [np.log1p(np.exp(x)), x], (x: any, ct: any) => [ct.mul(nn.sigmoid(x))]);
    const remat = checkpoint((x: any) => np.sin(np.sin(x)));
    const f = (x: any) => np.sum(square(softplus(remat(x))));
    const j = makeJaxpr(f)(x3());
    const callPrims = ["custom_jvp_call", "custom_vjp_call", "checkpoint"];
    expect(j.jaxpr.eqns.map((e) => e.primitive)).toEqual(expect.arrayContaining(callPrims));
    const flat = inlineCalls(j);
    checkJaxpr(flat);
    expect(flat.jaxpr.eqns.map((e) => e.primitive).filter((p) => callPrims.includes(p))).toEqual([]);
    expectAllclose(evalClosedJaxpr(flat, [x3()])[0], f(x3()));
    // So jit compiles them, and their gradients, to one program.
    for (const g of [f, grad(f)]) {
      const text = jit(g).lower(x3()).text();
      expect(text.slice(text.indexOf("# program on"))).not.toContain("run op by op");
      expectAllclose(jit(g)(x3()), g(x3()), { atol: 1e-6 });
    }
    // Control flow stays an equation: a branch is taken, a loop repeated.
    const withCond = makeJaxpr((x: any) => lax.cond(np.sum(x).gt(0), (y: any) => square(y), (y: any) => y, x))(x3());
    expect(inlineCalls(withCond).jaxpr.eqns.map((e) => e.primitive)).toContain("cond");
  });

  it("the pipeline preserves values on a gradient jaxpr and shrinks it", async () => {
    const { grad } = await import("../src/index");
    const f = (x: any) => np.sum(np.tanh(x.mul(2).add(1)).mul(x));
    const j = makeJaxpr(grad(f))(x3());
    const o = optimize(j);
    checkJaxpr(o);
    expect(eqnCount(o)).toBeLessThan(eqnCount(j));
    expectAllclose(evalClosedJaxpr(o, [x3()])[0], evalClosedJaxpr(j, [x3()])[0], { atol: 1e-6 });
  });

  it("jit(f).lower() prints the optimized jaxpr and the program", () => {
    const f = jit((x: any) => x.mul(1).add(np.sin(x)));
    const text = f.lower(x3()).text();
    expect(text).toContain("# after passes");
    expect(text).toMatch(/# program on (wasm|interpreter)/);
  });
});
