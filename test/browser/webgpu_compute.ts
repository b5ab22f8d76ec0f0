// The computations of the WebGPU browser smoke test, shared by the page (on
// WebGPU, jitted) and the Node side (on the interpreter, the reference): a
// fused elementwise chain with a reduction, a large reduction, the tiled
// matmul with a bias/relu epilogue, a conv and its gradient, the window and
// library kernels (a sort between elementwise steps, take and scatter-add,
// cumsum, max pooling's gradient), integer/bool kernels, and float16 (stored
// packed two per word: a fused chain, a reduction and a matmul). Every result is read
// with `await x.data()` (the only read a GPU has) and returned as plain numbers.

import { ArrayImpl, grad, jit, lax, np, type Tracer } from "../../src/index";

/** Deterministic data: a small LCG, so page and Node see the same inputs. */
function series(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

const arr = (shape: number[], seed: number, backend: string) => ArrayImpl.fromTyped(series(shape.reduce((a, b) => a * b, 1), seed), shape, "float32", { backend });

export type WebGpuResults = Record<string, number[]>;

/** Runs every computation jitted on `backend`; returns each result's numbers. */
export async function computeOn(backend: string): Promise<WebGpuResults> {
  const run = async (f: (...xs: Tracer[]) => Tracer, ...xs: ArrayImpl[]) => Array.from(await (jit(f, { backend })(...xs) as ArrayImpl).data(), Number);
  const x = arr([33, 47], 1, backend);
  const y = arr([33, 47], 2, backend);
  const w = arr([47, 20], 3, backend);
  const b = arr([20], 4, backend);
  const img = arr([2, 3, 10, 10], 5, backend);
  const ker = arr([4, 3, 3, 3], 6, backend);
  const ints = ArrayImpl.fromTyped(Int32Array.from({ length: 40 }, (_, i) => (i * 7919) % 23 - 11), [40], "int32", { backend });
  const convLoss = (k: Tracer) => np.sum(np.square(lax.convGeneralDilated(img, k, [1, 1], "SAME")));
  return {
    fused: await run((p, q) => np.sum(np.tanh(p).mul(q).add(1), 1), x, y),
    bigSum: await run((p) => np.sum(np.exp(np.tile(p, [40, 40])).mul(1e-3)), x),
    matmul: await run((p, q, r) => np.maximum(np.dot(p, q).add(r), 0), x, w, b),
    conv: await run((p, k) => lax.convGeneralDilated(p, k, [2, 2], [[1, 1], [0, 1]]), img, ker),
    convGrad: await run((k) => grad(convLoss)(k) as Tracer, ker),
    sortBetween: await run((p) => np.sort(np.abs(p), 1).mul(2).sum(0), x),
    takeScatterAdd: await run((p, i) => np.take(p, np.abs(i), 0).at(np.abs(i)).add(1), x, ints),
    cumsum: await run((p) => np.cumsum(p, 1), x),
    poolGrad: await run((p) => grad((q: Tracer) => np.sum(np.square(lax.reduceWindow(q, -Infinity, "max", [1, 1, 3, 3], [1, 1, 2, 2], "SAME"))))(p) as Tracer, img),
    float16: await run((p, q) => {
      const [h, k] = [p.astype("float16"), q.astype("float16")];
      return np.concatenate([np.tanh(h).mul(k).ravel(), np.sum(h, 0), np.dot(lax.slice(h, [0, 0], [5, 47]), lax.slice(k.T, [0, 0], [47, 3])).ravel()]);
    }, x, y),
    ints: await run((i) => lax.div(i, lax.rem(i, 5)).add(np.greater(i, 0).astype("int32")), ints),
  };
}
