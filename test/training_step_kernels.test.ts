// Issue 7's "no host fallback in a training step", checked the way a user
// would see it: for each indexing, sorting, scanning, pooling and structural op
// it names, a jitted SGD step through that op (its forward and, through grad,
// its transpose: scatter-adds, select-and-scatter, reverse scans, ...) lowers
// on wasm with no HOST FALLBACK line in `jit(step).lower(w).text()`, and
// computes what the same step computes on the interpreter. host_steps.test.ts
// surveys primitives one by one; this checks the programs their derivative
// rules build, in float32 and in float16 alike (a float16 scatter_add, the
// gradient of every gather-based op, sums in float32 and rounds once).

import { describe, expect, it } from "vitest";
import { grad, jit, lax, nn, np, random, type Array as TfArray, type ArrayImpl, type DType } from "../src/index";
import { expectAllclose } from "../src/testing";
import { interpreterValues } from "./interpreter_oracle";

const X = random.normal(random.key(7), [8, 16]);
const IMAGES = random.normal(random.key(8), [2, 3, 8, 8]);
const ROWS = np.array([3, 1, 4, 1, 5, 0, 2, 7], { dtype: "int32" });
const SEGMENTS = np.array([0, 1, 0, 2, 1, 2, 0, 1], { dtype: "int32" });
const at = (i: number) => np.array(i, { dtype: "int32" });

/** Each op's scalar loss of the parameters w, and the parameters it starts from. */
const LOSSES: Record<string, [(w: TfArray) => TfArray, TfArray]> = {
  "gather (take)": [(w) => np.sum(np.square(np.take(w, ROWS, 0))), X],
  takeAlongAxis: [(w) => np.sum(np.takeAlongAxis(w, np.argsort(w, 1), 1).mul(np.arange(16))), X],
  segmentSum: [(w) => np.sum(np.square(np.segmentSum(w, SEGMENTS, 3))), X],
  ".at[].add": [(w) => np.sum(np.square(np.zeros([8, 16]).at(ROWS).add(w))), X],
  ".at[].set": [(w) => np.sum(np.square(w.at(ROWS.slice([0, 3])).set(1))), X],
  "argmax (as a mask)": [(w) => np.sum(w.mul(nn.oneHot(np.argmax(w, 1), 16))), X],
  "argmin (as a mask)": [(w) => np.sum(w.mul(nn.oneHot(np.argmin(w, 1), 16))), X],
  sort: [(w) => np.sum(np.sort(w, 1).mul(np.arange(16))), X],
  argsort: [(w) => np.sum(np.take(w.reshape([-1]), np.argsort(w.reshape([-1])).slice([0, 5]))), X],
  topK: [(w) => np.sum(lax.topK(w, 3)[0]), X],
  cumsum: [(w) => np.sum(np.square(np.cumsum(w, 1))), X],
  cumprod: [(w) => np.sum(np.cumprod(np.tanh(w), 1)), X],
  "reduce_window max (max pooling)": [(w) => np.sum(np.square(lax.reduceWindow(w, -Infinity, "max", [1, 1, 2, 2], [1, 1, 2, 2]))), IMAGES],
  "reduce_window sum (average pooling)": [(w) => np.sum(np.square(lax.reduceWindow(w, 0, "sum", [1, 1, 3, 3], [1, 1, 1, 1], "SAME"))), IMAGES],
  pad: [(w) => np.sum(np.square(np.pad(w, [[1, 2], [0, 3]]))), X],
  concatenate: [(w) => np.sum(np.square(np.concatenate([w, w.mul(2)], 1))), X],
  dynamic_slice: [(w) => np.sum(np.square(lax.dynamicSlice(w, [at(2), at(3)], [4, 5]))), X],
  dynamic_update_slice: [(w) => np.sum(np.square(lax.dynamicUpdateSlice(w, w.slice([0, 2], [0, 4]).mul(3), [at(1), at(2)]))), X],
  "where (broadcast condition and operand)": [(w) => np.sum(np.square(np.where(np.greater(w.slice([0, 1]), 0), w, np.zeros([8, 1])))), X],
  iota: [(w) => np.sum(w.mul(lax.iota("float32", 16))), X],
  oneHot: [(w) => np.sum(w.mul(nn.oneHot(ROWS, 16))), X],
};

/** One SGD step on w through `loss` (the loss computed in float32 whatever w's dtype). */
const sgdStep = (loss: (w: TfArray) => TfArray) => (w: TfArray) => w.sub(grad((v: TfArray) => loss(v).astype("float32"))(w).mul(0.1));

const hostSteps = (text: string): string[] =>
  text.split("\n").filter((line) => line.includes("HOST FALLBACK")).map((line) => /HOST FALLBACK (\w+)/.exec(line)![1]);

describe.each<[DType, { rtol: number; atol: number }]>([
  ["float32", { rtol: 1e-5, atol: 1e-5 }],
  ["float16", { rtol: 2e-3, atol: 2e-3 }],
])("a jitted %s training step on wasm", (dtype, tolerance) => {
  for (const [name, [loss, w0]] of Object.entries(LOSSES)) {
    it(`through ${name}: kernels only, and the interpreter's values`, () => {
      const w = w0.astype(dtype) as ArrayImpl;
      const step = jit(sgdStep(loss));
      expect(hostSteps(step.lower(w).text()), name).toEqual([]);
      const got = step(w);
      expect(got.dtype).toBe(dtype);
      expectAllclose(Array.from(got.dataSync() as ArrayLike<number>), interpreterValues(sgdStep(loss), [w]), tolerance);
    });
  }
});
