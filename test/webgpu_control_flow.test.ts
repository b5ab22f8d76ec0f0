// Control flow under jit on WebGPU: a scan compiles (its iteration and
// stacking programs are GPU programs; nothing is read back), and equals the
// interpreter. while and cond need a predicate read back synchronously, which
// a GPU cannot do, so programs holding them keep running op by op there, as
// before (small host-known scalars stay readable): checked to still work.

import { describe, expect, it } from "vitest";
import { np, lax, jit, grad, type Array, type ArrayImpl } from "../src/index";
import { onEagerOperation } from "../src/core/eval_trace";
import { onInterpreter } from "./interpreter_oracle";
import { gpu, mismatch, noGpuReason, readAll } from "./webgpu_setup";

const toInterpreter = (a: Array) => (a as ArrayImpl).to("interpreter");
const W = np.array([[0.3, -0.2, 0.1], [0.05, 0.4, -0.3], [-0.1, 0.2, 0.25]]);
const XS = np.array([[0.5, -1, 2], [0.3, 0.2, -0.7], [1.5, 0.1, 0.4], [-0.2, 0.9, 0.05]]);
const rnnLoss = (w: Array, xs: Array, reverse: boolean) => {
  const [h, ys] = lax.scan((c: Array, x: Array) => {
    const n = np.tanh(np.dot(w, c).add(x));
    return [n, n.mul(2)];
  }, np.zeros([3]), xs, { reverse });
  return np.sum(h).add(np.mean(np.square(ys)));
};

describe.skipIf(gpu === null)(`control flow under jit on WebGPU${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  it("a scan and the gradient through it run compiled and equal the interpreter", async () => {
    for (const reverse of [false, true]) {
      const f = jit((w: Array, xs: Array) => [rnnLoss(w, xs, reverse), grad(rnnLoss)(w, xs, reverse)], { backend: "webgpu" });
      f(W, XS);
      let eager = 0;
      onEagerOperation(() => eager++);
      const got = f(W, XS) as Array[];
      onEagerOperation(null);
      expect(eager).toBe(0);
      const want = onInterpreter(() => [rnnLoss(toInterpreter(W), toInterpreter(XS), reverse), grad(rnnLoss)(toInterpreter(W), toInterpreter(XS), reverse)]);
      const [g, w] = [await readAll(got as never), await readAll(want as never)];
      g.forEach((x, i) => expect(mismatch(x, w[i], 1e-4, 1e-5)).toBeNull());
    }
  });

  it("a foriLoop under jit still runs (op by op) and is right", async () => {
    const f = jit((x: Array) => lax.foriLoop(0, 5, (_i: Array, v: Array) => v.mul(2), x), { backend: "webgpu" });
    expect(globalThis.Array.from(await f(np.array([1, 2])).data())).toEqual([32, 64]);
  });
});
