// Control flow under jit on WebGPU equals the interpreter and runs compiled:
// a scan reads nothing back (its iteration and stacking programs are GPU
// programs); a while loop and a cond run through an asynchronous driver that
// reads one scalar (the predicate per iteration, the index once) and runs the
// compiled bodies (transforms/control_flow/deferred_loops.ts), with nothing
// run op by op. Carries of rank 0-4, pytree carries, nested loops and
// branches, zero iterations, data-dependent trip counts, grad/jvp/vmap of
// each, eager work queued behind a loop, and the work counted per iteration.
// Skipped, loudly, where no adapter exists.

import { describe, expect, it } from "vitest";
import { np, lax, jit, grad, jvp, vmap, tree, ArrayImpl, type Array } from "../src/index";
import { onEagerOperation } from "../src/core/eval_trace";
import { onInterpreter } from "./interpreter_oracle";
import { rng } from "./rng";
import { gpu, mismatch, noGpuReason, readAll } from "./webgpu_setup";

const r = rng(23);
const toInterpreter = (a: Array) => (a as ArrayImpl).to("interpreter");
/** A float32 array of `shape` with values in [-1, 1). */
const rand = (shape: number[]) => ArrayImpl.fromTyped(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape, "float32");
const leavesOf = (t: unknown) => tree.leaves(t) as Array[];

/**
 * `f` jitted on WebGPU (its second call counted: no operation may run op by op) against
 * the interpreter on the same inputs, every output leaf within `tol`.
 */
async function expectAgrees(f: (...xs: Array[]) => unknown, args: Array[], tol = 1e-5): Promise<void> {
  const jf = jit(f as (...xs: Array[]) => Array, { backend: "webgpu" });
  const onGpu = args.map((a) => (a as ArrayImpl).to("webgpu"));
  jf(...onGpu);
  let eager = 0;
  onEagerOperation(() => eager++);
  let got: Array[];
  try {
    got = leavesOf(jf(...onGpu));
  } finally {
    onEagerOperation(null);
  }
  expect(eager).toBe(0);
  const want = leavesOf(onInterpreter(() => f(...args.map(toInterpreter))));
  const [g, w] = [await readAll(got), await readAll(want)];
  expect(g.length).toBe(w.length);
  g.forEach((x, i) => expect(mismatch(x, w[i], tol, tol), `output ${i}`).toBeNull());
}

const W = np.array([[0.3, -0.2, 0.1], [0.05, 0.4, -0.3], [-0.1, 0.2, 0.25]]);
const XS = np.array([[0.5, -1, 2], [0.3, 0.2, -0.7], [1.5, 0.1, 0.4], [-0.2, 0.9, 0.05]]);
const rnnLoss = (w: Array, xs: Array, reverse: boolean) => {
  const [h, ys] = lax.scan((c: Array, x: Array) => {
    const n = np.tanh(np.dot(w, c).add(x));
    return [n, n.mul(2)];
  }, np.zeros([3]), xs, { reverse });
  return np.sum(h).add(np.mean(np.square(ys)));
};

/** Doubles x until its absolute sum reaches `limit`: a trip count that depends on the data. */
const doubleUntil = (x: Array, limit: number) => lax.whileLoop((v: Array) => np.less(np.sum(np.abs(v)), limit), (v: Array) => v.mul(2), x);

const SHAPES = [[], [3], [2, 3], [2, 3, 2], [2, 1, 3, 2]];

describe.skipIf(gpu === null)(`control flow under jit on WebGPU${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  it("a scan and the gradient through it run compiled and equal the interpreter", async () => {
    for (const reverse of [false, true]) {
      await expectAgrees((w, xs) => [rnnLoss(w, xs, reverse), grad(rnnLoss)(w, xs, reverse)], [W, XS], 1e-4);
    }
  });

  it("a scan whose body closes over an array of rank 0-4 runs compiled (the fuzzer's rank-3 reproducer)", async () => {
    for (const shape of SHAPES) {
      await expectAgrees((x) => lax.scan((c: Array) => [c.add(np.negative(x)), null], np.zerosLike(x), null, { length: 2 })[0], [rand(shape)]);
    }
  });

  it("a while loop with a data-dependent trip count runs compiled at rank 0-4", async () => {
    for (const shape of SHAPES) {
      await expectAgrees((x) => doubleUntil(x, 50), [rand(shape)]);
      // The fuzzer's while context: a counter and a carry closing over the input.
      await expectAgrees((x) => {
        const [, twice] = lax.whileLoop(([i]: [Array, Array]) => np.less(i, 2), ([i, c]: [Array, Array]) => [i.add(1), c.add(np.negative(x))], [np.array(0, { dtype: "int32" }), np.zerosLike(x)]);
        return twice;
      }, [rand(shape)]);
    }
  });

  it("pytree carries and operands, zero iterations, and a while inside a scan and a cond (and a cond inside a while)", async () => {
    const x = rand([2, 3]);
    // Pytree carry {n, acc: [sum, prod]}; the loop runs while n < 5.
    await expectAgrees((v) => lax.whileLoop(
      (c: { n: Array; acc: Array[] }) => np.less(c.n, 5),
      (c: { n: Array; acc: Array[] }) => ({ n: c.n.add(1), acc: [c.acc[0].add(v), c.acc[1].mul(np.cos(v))] }),
      { n: np.array(0, { dtype: "int32" }), acc: [np.zerosLike(v), np.onesLike(v)] },
    ), [x]);
    // A scan with a pytree carry and pytree ys, and a cond over pytree operands and results.
    await expectAgrees((xs: Array) => lax.scan(
      (c: { h: Array; n: Array }, row: Array) => [{ h: np.tanh(c.h.add(row)), n: c.n.add(1) }, { sq: np.square(row), h: c.h }],
      { h: np.zeros([3]), n: np.array(0, { dtype: "int32" }) },
      xs,
    ), [XS]);
    await expectAgrees((v) => lax.cond(
      np.greater(np.sum(v), 0),
      (p: { a: Array; b: Array[] }) => ({ s: p.a.add(p.b[0]), t: [np.exp(p.b[1])] }),
      (p: { a: Array; b: Array[] }) => ({ s: p.a.mul(p.b[1]), t: [p.b[0]] }),
      { a: v, b: [np.sin(v), np.cos(v)] },
    ), [x]);
    // Zero iterations: the outputs are the initial carry.
    await expectAgrees((v) => doubleUntil(v, -1), [x]);
    // A while in a scan body, a cond in a while body, and a while in a cond branch.
    await expectAgrees((xs: Array) => lax.scan((c: Array, row: Array) => {
      const grown = doubleUntil(row.add(c), 10);
      return [np.tanh(grown), np.sum(grown)];
    }, np.zeros([3]), xs), [XS]);
    await expectAgrees((v) => lax.whileLoop(
      ([i]: [Array, Array]) => np.less(i, 4),
      ([i, c]: [Array, Array]): [Array, Array] => [i.add(1), lax.cond(np.greater(np.sum(c), 0), (a: Array) => a.sub(1), (a: Array) => a.mul(-2), c)],
      [np.array(0, { dtype: "int32" }), v] as [Array, Array],
    ), [x]);
    await expectAgrees((v) => lax.cond(np.greater(np.max(v), 0), (a: Array) => doubleUntil(a, 20), (a: Array) => a, v), [x]);
  });

  it("cond and switch with a data-dependent index take the right branch at rank 0-4", async () => {
    for (const shape of SHAPES) {
      const x = rand(shape);
      for (const sign of [1, -1]) {
        await expectAgrees((v) => lax.cond(np.greater(np.sum(v), 0), (a: Array) => np.exp(a), (a: Array) => np.sin(a).mul(3), v.mul(sign)), [x]);
      }
    }
    const branches = [(a: Array) => a.add(1), (a: Array) => np.square(a), (a: Array) => np.tanh(a).mul(-1)];
    for (const k of [-3, 0, 1, 2, 7]) {
      // The index is clamped into [0, 2], as lax.switch does.
      await expectAgrees((i: Array, v: Array) => lax.switch(i, branches, v), [np.array(k, { dtype: "int32" }), rand([2, 2])]);
      await expectAgrees((i: Array, v: Array) => lax.switch(i.add(0), branches, v), [np.array(k, { dtype: "int32" }), rand([2, 2])]);
    }
  });

  it("the untaken branch's NaNs never leak into a cond's result", async () => {
    const x = np.array([-4, -1, -0.5]);
    // log of a negative number is NaN: the taken branch here is the other one.
    const f = jit((v: Array) => lax.cond(np.greater(np.min(v), 0), (a: Array) => np.log(a), (a: Array) => np.abs(a), v), { backend: "webgpu" });
    expect(globalThis.Array.from(await f((x as ArrayImpl).to("webgpu")).data())).toEqual([4, 1, 0.5]);
  });

  it("grad of cond, jvp of while, grad of a foriLoop, and vmap of each equal the interpreter", async () => {
    const x = rand([2, 3]);
    const condLoss = (v: Array) => np.sum(lax.cond(np.greater(np.sum(v), 0), (a: Array) => np.sin(a).mul(a), (a: Array) => np.square(a), v));
    await expectAgrees((v) => grad(condLoss)(v), [x]);
    await expectAgrees((v) => grad(condLoss)(v.mul(-1)), [x]);
    await expectAgrees((v) => jvp((a: Array) => doubleUntil(np.sin(a), 40), [v], [np.onesLike(v)]), [x]);
    const foriLoss = (v: Array) => np.sum(lax.foriLoop(0, 4, (_i: Array, c: Array) => np.sin(c).add(v), v));
    await expectAgrees((v) => grad(foriLoss)(v), [x]);
    // vmap: each example's loop runs its own trip count; each example takes its own branch.
    const rows = rand([4, 3]);
    await expectAgrees((v) => vmap((row: Array) => doubleUntil(row, 8))(v), [rows]);
    await expectAgrees((v) => vmap((row: Array) => lax.cond(np.greater(np.sum(row), 0), (a: Array) => np.exp(a), (a: Array) => a.mul(5), row))(v), [rows]);
    await expectAgrees((v) => vmap(grad(condLoss))(v), [rows]);
    await expectAgrees((v) => vmap((row: Array) => rnnLoss(W, row.reshape([1, 3]), false))(v), [rows], 1e-4);
  });

  it("eager work after a compiled while queues behind it", async () => {
    const f = jit((v: Array) => doubleUntil(v, 100), { backend: "webgpu" });
    const x = (np.array([1, 2, 3]) as ArrayImpl).to("webgpu");
    const y = f(x);
    const z = np.add(y, 1);
    const w = f(np.subtract(z, 32));
    // 6 doubles to 192 (x32); [1, 33, 65] sums to 99, doubled once.
    expect(globalThis.Array.from(await z.data())).toEqual([33, 65, 97]);
    expect(globalThis.Array.from(await w.data())).toEqual([2, 66, 130]);
  });

  it("a while loop reads one scalar per iteration and copies each carry once", async () => {
    const f = jit((v: Array) => lax.whileLoop(([i]: [Array, Array]) => np.less(i, 10), ([i, c]: [Array, Array]): [Array, Array] => [i.add(1), np.tanh(c.mul(2))], [np.array(0, { dtype: "int32" }), v] as [Array, Array]), { backend: "webgpu" });
    const x = (rand([4, 4]) as ArrayImpl).to("webgpu");
    await f(x)[1].data();
    const before = gpu!.workCounts;
    const [, y] = f(x);
    await y.data();
    const after = gpu!.workCounts;
    // 11 predicate reads (10 true, one false) and the final read of y; two carries copied out.
    expect(after.readbacks - before.readbacks).toBe(12);
    expect(after.copies - before.copies).toBe(2);
  });

  it("a foriLoop under jit runs compiled and is right", async () => {
    const f = jit((x: Array) => lax.foriLoop(0, 5, (_i: Array, v: Array) => v.mul(2), x), { backend: "webgpu" });
    expect(globalThis.Array.from(await f(np.array([1, 2])).data())).toEqual([32, 64]);
  });
});
