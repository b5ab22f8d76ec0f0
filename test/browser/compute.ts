// The computations the browser test runs, shared by the page (test/browser/page.ts,
// on the wasm backend in Chromium) and by browser.test.ts (in Node, on the
// interpreter, as the reference). Inputs come from a fixed LCG so both sides
// build identical arrays. Large results are summarized (sum, sum of squares,
// a strided sample) so they cross page.evaluate cheaply.

import { Array as TfArray, grad, jit, nn, np, type Tracer } from "../../src/index";

export interface Summary {
  shape: number[];
  sum: number;
  sumSq: number;
  /** Every `stride`-th element (up to 64 values). */
  sample: number[];
}

export interface ComputeResults {
  eager: { add: number[]; exp: number[]; sum: number; matmul: number[]; tanhMean: number };
  mlpLoss: number;
  mlpGrad: { w1: number[]; b1: number[]; w2: number[]; b2: number[] };
  bigMatmul: Summary;
  bigElementwise: Summary;
  bigElementwiseJit: Summary;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** A float32 array of `shape` with values in [-scale, scale), deterministic in `seed`. */
export function randArray(shape: number[], seed: number, scale = 1): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = lcg(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale;
  return TfArray.fromTyped(data, shape, "float32");
}

const values = (x: Tracer | TfArray): number[] => Array.from((x as TfArray).dataSync() as Float32Array);

function summarize(x: Tracer | TfArray): Summary {
  const d = (x as TfArray).dataSync() as Float32Array;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < d.length; i++) {
    sum += d[i]!;
    sumSq += d[i]! * d[i]!;
  }
  const stride = Math.max(1, Math.floor(d.length / 64));
  const sample: number[] = [];
  for (let i = 0; i < d.length && sample.length < 64; i += stride) sample.push(d[i]!);
  return { shape: [...(x as TfArray).shape], sum, sumSq, sample };
}

type Params = { w1: any; b1: any; w2: any; b2: any };

export function compute(): ComputeResults {
  // Eager numpy ops on small arrays.
  const a = randArray([3, 4], 1);
  const b = randArray([3, 4], 2);
  const c = randArray([4, 5], 3);
  const eager = {
    add: values(np.add(a, b)),
    exp: values(np.exp(a)),
    sum: Number(np.sum(a).item()),
    matmul: values(np.matmul(a, c)),
    tanhMean: Number(np.mean(np.tanh(np.multiply(a, 3))).item()),
  };

  // jit(grad(loss)) of a small MLP.
  const params: Params = {
    w1: randArray([6, 16], 10, 0.5),
    b1: randArray([16], 11, 0.1),
    w2: randArray([16, 3], 12, 0.5),
    b2: randArray([3], 13, 0.1),
  };
  const x = randArray([32, 6], 14);
  const y = randArray([32, 3], 15);
  const loss = (p: Params, xs: any, ys: any) => {
    const h = nn.relu(np.add(np.matmul(xs, p.w1), p.b1));
    const out = np.add(np.matmul(h, p.w2), p.b2);
    return np.mean(np.square(np.subtract(out, ys)));
  };
  const mlpLoss = Number((jit(loss)(params, x, y) as TfArray).item());
  const g = jit(grad(loss))(params, x, y) as Params;
  const mlpGrad = { w1: values(g.w1), b1: values(g.b1), w2: values(g.w2), b2: values(g.b2) };

  // A matmul large enough for the thread pool (512³ > 128³).
  const m1 = randArray([512, 512], 20);
  const m2 = randArray([512, 512], 21);
  const bigMatmul = summarize(np.matmul(m1, m2));

  // Elementwise on 1e5 elements: tanh(2x + 1)·x, eager and jitted (fused).
  const e = randArray([100_000], 30, 2);
  const f = (v: any) => np.multiply(np.tanh(np.add(np.multiply(v, 2), 1)), v);
  const bigElementwise = summarize(f(e));
  const bigElementwiseJit = summarize(jit(f)(e) as TfArray);

  return { eager, mlpLoss, mlpGrad, bigMatmul, bigElementwise, bigElementwiseJit };
}
