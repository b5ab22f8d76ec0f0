// Control flow under jit runs compiled: a jitted function holding scan, while
// or cond is cut into compiled segments around them, and their bodies are
// compiled programs (transforms/segmented_program.ts). Each case is checked
// against the un-jitted function on the interpreter (the oracle), and that
// the jitted call ran no operation op by op.

import { afterEach, describe, expect, it } from "vitest";
import { np, lax, jit, grad, vmap, valueAndGrad, tree, getBackend, makeJaxpr, type Array, type ArrayImpl } from "../src/index";
import { expectAllclose } from "../src/testing";
import { onEagerOperation } from "../src/core/eval_trace";
import type { WasmBackend } from "../src/backends/wasm";
import type { ShapedArray } from "../src/core/aval";
import type { Backend } from "../src/core/backend";
import type { TypedArray } from "../src/core/dtype";
import type { ClosedJaxpr } from "../src/core/ir";
import { buildProgram, releaseProgram } from "../transforms/compiled_program";
import { onInterpreter } from "./interpreter_oracle";

afterEach(() => onEagerOperation(null));

/** Operations run op by op (outside any compiled program) while `f` runs. */
function eagerOpsOf<T>(f: () => T): [T, string[]] {
  const ops: string[] = [];
  onEagerOperation((p) => ops.push(p));
  try {
    return [f(), ops];
  } finally {
    onEagerOperation(null);
  }
}

/**
 * jit(f) on the default backend equals f on the interpreter, and its second
 * call (the first one traces, which may make constants) runs nothing op by op.
 */
function checkCompiled(f: (...args: any[]) => unknown, args: unknown[], tol = 1e-5): void {
  const jitted = jit(f);
  jitted(...args);
  const [got, ops] = eagerOpsOf(() => jitted(...args));
  expect(ops).toEqual([]);
  const want = onInterpreter(() => f(...tree.map((a: ArrayImpl) => a.to("interpreter"), args)));
  expectAllclose(got, want, { atol: tol, rtol: tol });
}

const toInterpreter = (a: Array) => (a as ArrayImpl).to("interpreter");
const f32 = (x: unknown) => np.array(x as number[], { dtype: "float32" });
const i32 = (x: number) => np.array(x, { dtype: "int32" });
const XS = f32([[0.5, -1, 2], [0.3, 0.2, -0.7], [1.5, 0.1, 0.4], [-0.2, 0.9, 0.05]]);
const W = f32([[0.3, -0.2, 0.1], [0.05, 0.4, -0.3], [-0.1, 0.2, 0.25]]);

/** An RNN over XS: carry h, ys the hidden states, W a const of the scan body. */
const rnn = (w: Array, xs: Array, opts: { reverse?: boolean } = {}) =>
  lax.scan((h: Array, x: Array) => {
    const n = np.tanh(np.dot(w, h).add(x));
    return [n, n.mul(2)];
  }, np.zeros([3]), xs, opts);
const rnnLoss = (w: Array, xs: Array) => {
  const [h, ys] = rnn(w, xs);
  return np.sum(h).add(np.mean(np.square(ys)));
};

describe("scan under jit", () => {
  it("forward and reverse, with consts, carry and stacked ys, equal the interpreter", () => {
    checkCompiled((w: Array, xs: Array) => rnn(w, xs), [W, XS]);
    checkCompiled((w: Array, xs: Array) => rnn(w, xs, { reverse: true }), [W, XS]);
  });

  it("length 0 and 1, and a scan without xs (fixed length)", () => {
    checkCompiled((w: Array, xs: Array) => rnn(w, xs), [W, np.zeros([0, 3])]);
    checkCompiled((w: Array, xs: Array) => rnn(w, xs), [W, XS.slice([0, 1])]);
    checkCompiled((w: Array, xs: Array) => rnn(w, xs, { reverse: true }), [W, XS.slice([0, 1])]);
    checkCompiled((x: Array) => lax.scan((c: Array) => [c.mul(1.5), c.sum()], x, null, { length: 5 }), [f32([1, 2])]);
  });

  it("a pytree carry with an int counter, several xs and ys, a y that is the carry passed through", () => {
    checkCompiled(
      (xs: Array, ys: Array) =>
        lax.scan(
          (c: { i: Array; acc: Array }, [x, y]: Array[]) => [{ i: c.i.add(1), acc: c.acc.add(x.mul(y)) }, { prev: c.acc, idx: c.i, prod: x.mul(y) }],
          { i: i32(0), acc: np.zeros([3]) },
          [xs, ys],
        ),
      [XS, XS.mul(-0.5)],
    );
  });

  it("scan inside scan, and a while inside a scan", () => {
    checkCompiled(
      (xs: Array) =>
        lax.scan((c: Array, row: Array) => {
          const [inner, partial] = lax.scan((d: Array, v: Array) => [d.add(v), d.mul(v)], c, row);
          return [inner.mul(0.5), partial];
        }, f32(0.25), xs),
      [XS],
    );
    checkCompiled(
      (xs: Array) =>
        lax.scan((c: Array, row: Array) => {
          const [, grown] = lax.whileLoop(([k, v]: Array[]) => k.lt(3), ([k, v]: Array[]) => [k.add(1), v.mul(1.1).add(row)], [i32(0), c]);
          return [grown, grown.sum()];
        }, np.zeros([3]), xs),
      [XS],
    );
  });

  it("grad and vmap of a scan, under jit, and the jitted scan under grad and vmap", () => {
    checkCompiled(grad(rnnLoss), [W, XS], 1e-4);
    checkCompiled(valueAndGrad(rnnLoss, { argnums: [0, 1] }), [W, XS], 1e-4);
    checkCompiled(vmap((xs: Array) => rnn(W, xs), { inAxes: 0 }), [np.stack([XS, XS.mul(0.5)])]);
    const want = onInterpreter(() => grad(rnnLoss)(toInterpreter(W), toInterpreter(XS)));
    expectAllclose(grad(jit(rnnLoss))(W, XS), want, { atol: 1e-4, rtol: 1e-4 });
    expectAllclose(vmap(jit(rnnLoss), { inAxes: [null, 0] })(W, np.stack([XS, XS])), np.stack([rnnLoss(W, XS), rnnLoss(W, XS)]), { atol: 1e-5, rtol: 1e-5 });
  });
});

describe("while under jit", () => {
  const newton = (a: Array) =>
    lax.whileLoop(
      ({ k, x }: { k: Array; x: Array }) => np.logicalAnd(k.lt(20), np.max(np.abs(x.mul(x).sub(a))).gt(1e-4)),
      ({ k, x }: { k: Array; x: Array }) => ({ k: k.add(1), x: x.add(a.div(x)).mul(0.5) }),
      { k: i32(0), x: a },
    );

  it("a pytree carry, consts in the condition and the body, equals the interpreter", () => {
    checkCompiled(newton, [f32([2, 9, 0.5, 30])]);
  });

  it("zero iterations hand the initial carry back", () => {
    checkCompiled((x: Array) => lax.whileLoop((c: Array[]) => c[0].gt(10), (c: Array[]) => [c[0].add(1), c[1].mul(2)], [f32(0), x]), [f32([1, 2])]);
    checkCompiled((x: Array) => lax.foriLoop(0, 0, (_i: Array, v: Array) => v.mul(3), x), [f32([1, 2])]);
  });

  it("foriLoop, vmap of a while (a batched predicate) and jvp through a while, under jit", () => {
    checkCompiled((x: Array) => lax.foriLoop(0, 6, (i: Array, v: Array) => v.mul(0.9).add(i.astype("float32")), x), [f32([1, -2, 3])]);
    checkCompiled(vmap(newton), [f32([[2, 9], [0.5, 30]])]);
    checkCompiled(grad((x: Array) => lax.foriLoop(0, 4, (_i: Array, v: Array) => np.sin(v).mul(v), x).sum()), [f32([0.3, 1.2])], 1e-4);
  });
});

describe("cond under jit", () => {
  it("branches with different jaxprs and their own consts; switch clamps its index", () => {
    const table = f32([10, 20, 30]);
    const f = (p: Array, x: Array) => lax.cond(p, (v: Array) => np.sin(v).mul(table), (v: Array) => np.dot(W, v).sub(1), x);
    checkCompiled(f, [np.array(true), f32([0.1, 0.2, 0.3])]);
    checkCompiled(f, [np.array(false), f32([0.1, 0.2, 0.3])]);
    const branches = [(v: Array) => v.add(1), (v: Array) => v.mul(v), (v: Array) => np.exp(v)];
    for (const k of [-3, 0, 1, 2, 7]) checkCompiled((i: Array, x: Array) => lax.switch(i, branches, x), [i32(k), f32([0.5, -1])]);
  });

  it("a cond inside a scan, and grad / vmap of a cond, under jit", () => {
    checkCompiled(
      (xs: Array) => lax.scan((c: Array, x: Array) => [lax.cond(x.sum().gt(0), (v: Array) => v.add(x), (v: Array) => v.sub(x).mul(0.5), c), c.sum()], np.zeros([3]), xs),
      [XS],
    );
    const loss = (w: Array, x: Array) => lax.cond(x.sum().gt(0), (v: Array) => np.sum(np.tanh(np.dot(w, v))), (v: Array) => np.sum(np.square(v)), x);
    checkCompiled(grad(loss), [W, f32([0.5, 0.1, -0.2])], 1e-4);
    checkCompiled(grad(loss), [W, f32([-0.5, 0.1, -0.2])], 1e-4);
    checkCompiled(vmap((x: Array) => loss(W, x)), [XS]);
  });
});

describe("the compiled program around control flow", () => {
  it("lower().text() shows the segments and the compiled bodies", () => {
    const f = (w: Array, xs: Array) => rnn(w.mul(2), xs)[1].sum();
    const text = jit(f).lower(W, XS).text();
    expect(text).toContain("program around control flow on wasm: 3 steps");
    expect(text).toMatch(/# equations 0-\d+: one compiled program/);
    expect(text).toMatch(/# equation \d+: scan length=4 reverse=false \(1 consts, 1 carry, 1 xs\)/);
    expect(text).toContain("iteration (slices xs at the index, runs the body, advances the index, writes the ys into their rows of the stacked ys)");
    expect(text).not.toContain("stacking the ys once after the loop");
    expect(jit(f).lower(W, XS).fusionGroups()!.some((g) => g.label.startsWith("scan length=4"))).toBe(true);
  });

  it("releasing the program (jit's clearCache does) releases every body program and upload with it", () => {
    const wasm = getBackend("wasm") as WasmBackend;
    // A backend that counts what the program builds on it: compiled programs and their
    // dispose calls, buffers it uploads (loop indices, literals) and their release.
    let compiled = 0;
    let disposed = 0;
    const uploaded = new Set<unknown>();
    const counting: Backend = Object.assign(Object.create(wasm) as WasmBackend, {
      compile(closed: ClosedJaxpr, consts: unknown[]) {
        const ex = wasm.compile(closed, consts as never);
        if (ex === null) return null;
        compiled++;
        return { ...ex, dispose: () => (disposed++, ex.dispose?.()) };
      },
      fromHost(data: TypedArray, aval: ShapedArray) {
        const buf = wasm.fromHost(data, aval);
        uploaded.add(buf);
        return buf;
      },
      free(buf: unknown) {
        uploaded.delete(buf);
        wasm.free(buf as never);
      },
    });
    const closed = makeJaxpr((w: Array, xs: Array, flag: Array) =>
      lax.cond(flag, (v: Array) => grad(rnnLoss)(w, v).sum(), (v: Array) => lax.whileLoop((c: Array) => c.lt(3), (c: Array) => c.add(1), v.sum()), xs),
    )(W, XS, np.array(true));
    const program = buildProgram(closed, counting);
    for (const flag of [true, false]) {
      const outs = program.executable!.run([(W as ArrayImpl).buffer, (XS as ArrayImpl).buffer, (np.array(flag) as ArrayImpl).buffer]);
      outs.forEach((b) => counting.free(b));
    }
    expect(program.executable!.describe()).toContain("branch 1:");
    expect(compiled).toBeGreaterThan(5);
    releaseProgram(program);
    expect(disposed).toBe(compiled);
    expect(uploaded.size).toBe(0);
  });

  it("repeated calls leave no buffer behind (intermediates are freed at their last use)", () => {
    const wasm = getBackend("wasm") as WasmBackend;
    const f = jit(grad(rnnLoss));
    f(W, XS).dispose();
    const settled = wasm.liveBytes();
    for (let i = 0; i < 20; i++) f(W, XS).dispose();
    expect(wasm.liveBytes()).toBe(settled);
  });

  it("a donated carry is updated in place and still equals the interpreter", () => {
    const step = jit((h: Array, xs: Array) => lax.scan((c: Array, x: Array) => [c.mul(0.5).add(x), c], h, xs), { donateArgnums: [0] });
    const [h, ys] = step(f32([1, 2, 3]), XS) as [Array, Array];
    const want = onInterpreter(() => lax.scan((c: Array, x: Array) => [c.mul(0.5).add(x), c], toInterpreter(f32([1, 2, 3])), toInterpreter(XS)));
    expectAllclose([h, ys], want);
  });

  it("a scan's ys are written straight into their rows of the stacked ys, copied there only where the body does not compute them", () => {
    const wasm = getBackend("wasm") as WasmBackend;
    // Counts the ys copied into their rows: those the iteration program did not write there itself.
    let copied = 0;
    const counting: Backend = Object.assign(Object.create(wasm) as WasmBackend, {
      stackedRows: { ...wasm.stackedRows, copy: (src: never, dst: never) => (copied++, wasm.stackedRows.copy(src, dst)) },
    });
    const run = (f: (...a: Array[]) => unknown, args: Array[]) => {
      const closed = makeJaxpr(f)(...args);
      const program = buildProgram(closed, counting);
      copied = 0;
      const outs = program.executable!.run(args.map((a) => (a as ArrayImpl).buffer));
      const got = outs.map((b, i) => wasm.readSync(b as never, closed.outAvals[i]));
      outs.forEach((b) => counting.free(b));
      releaseProgram(program);
      const want = onInterpreter(() => tree.leaves(f(...args.map(toInterpreter))) as Array[]);
      got.forEach((g, i) => expectAllclose(np.array(g).reshape(want[i].shape), want[i], { atol: 1e-5, rtol: 1e-5 }));
      return copied;
    };
    // Computed ys, forward and reverse: written in place, none copied.
    expect(run((w, xs) => rnn(w, xs), [W, XS])).toBe(0);
    expect(run((w, xs) => rnn(w, xs, { reverse: true }), [W, XS])).toBe(0);
    // A y that is also the carry (written into its row, which the next iteration reads; the
    // last one copied out once as the final carry), the xs row passed through (the program's
    // own copy of it lands in the row), a bool and an int y.
    const mixed = (xs: Array) =>
      lax.scan((c: Array, x: Array) => {
        const n = c.mul(0.5).add(x);
        return [n, [n, x, n.gt(0), c.sum().astype("int32")]];
      }, np.zeros([3]), xs);
    expect(run(mixed, [XS])).toBe(1);
    // The carry value returned as two ys: one row written, the other copied from it each iteration.
    const twice = (xs: Array) =>
      lax.scan((c: Array, x: Array) => {
        const n = c.mul(0.5).add(x);
        return [n, [n, n]];
      }, np.zeros([3]), xs);
    expect(run(twice, [XS])).toBe(4 + 1);
    // The previous carry (a row of the stacked y) passed through as a y and as the other carry,
    // as an LSTM's residuals are: copied into the y's rows, and both final carries copied out.
    const lagged = (xs: Array) =>
      lax.scan(([a, b]: Array[], x: Array) => {
        const n = a.mul(0.5).add(b).add(x);
        return [[n, a], [n, a]];
      }, [np.zeros([3]), np.ones([3])], xs);
    expect(run(lagged, [XS])).toBe(4 + 2);
    // A y that is a carry as the iteration starts (an LSTM's previous cell state), forward and
    // reverse: each iteration writes that carry ahead into the y's next row, so only the initial
    // carry is copied into the first row, and the final h (also a y) copied out once.
    const cellLike = (xs: Array, reverse: boolean) =>
      lax.scan(([c, h]: Array[], x: Array) => {
        const c2 = c.mul(0.5).add(x);
        const h2 = np.tanh(c2).add(h.mul(0.1));
        return [[c2, h2], [h2, c]];
      }, [f32([1, -1, 0.5]), np.zeros([3])], xs, { reverse });
    expect(run((xs) => cellLike(xs, false), [XS])).toBe(1 + 1);
    expect(run((xs) => cellLike(xs, true), [XS])).toBe(1 + 1);
    // A carry that is passed through unchanged is not the program's: copied into its row each iteration.
    const constantCarry = (xs: Array) => lax.scan((c: Array, x: Array) => [c, [c, x.add(c)]], f32([1, 2, 3]), xs);
    expect(run(constantCarry, [XS])).toBe(4);
  });

  it("a carry kept in its row of the stacked ys leaves no buffer behind and equals the interpreter, donated or not", () => {
    const wasm = getBackend("wasm") as WasmBackend;
    const lagged = (h: Array, xs: Array) =>
      lax.scan(([a, b]: Array[], x: Array) => {
        const n = np.tanh(a.mul(0.5).add(b).add(x));
        return [[n, a], [n, a, n.mul(2), b]];
      }, [h, np.ones([3])], xs);
    const want = onInterpreter(() => lagged(toInterpreter(f32([1, 2, 3])), toInterpreter(XS)));
    for (const donateArgnums of [[], [0]]) {
      const f = jit(lagged, { donateArgnums });
      tree.leaves(f(f32([1, 2, 3]), XS)).forEach((a) => (a as Array).dispose());
      const settled = wasm.liveBytes();
      for (let i = 0; i < 5; i++) {
        const got = f(f32([1, 2, 3]), XS);
        expectAllclose(got, want);
        tree.leaves(got).forEach((a) => (a as Array).dispose());
      }
      expect(wasm.liveBytes()).toBe(settled);
    }
    // Under grad (the ys are the backward pass's residuals), against the interpreter.
    const loss = (h: Array, xs: Array) => {
      const [[a, b], ys] = lagged(h, xs) as unknown as [Array[], Array[]];
      return np.sum(a).add(np.sum(b.mul(a))).add(np.mean(np.square(ys[0]))).add(np.sum(ys[2].mul(ys[1])));
    };
    expectAllclose(jit(grad(loss, { argnums: [0, 1] }))(f32([1, 2, 3]), XS), onInterpreter(() => grad(loss, { argnums: [0, 1] })(toInterpreter(f32([1, 2, 3])), toInterpreter(XS))), { atol: 1e-5, rtol: 1e-5 });
  });

  it("a donated input that is also returned keeps its value", () => {
    const [a, b] = jit((c: Array) => [c.add(1), c, c.reshape([3, 1])], { donateArgnums: [0] })(f32([2, 2, 2])) as Array[];
    expect(a.tolist()).toEqual([3, 3, 3]);
    expect(b.tolist()).toEqual([2, 2, 2]);
  });
});
