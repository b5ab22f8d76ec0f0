// Property: reductions are accurate at every size. sum, mean, var and
// logsumexp of random float32 data (up to 1e7 elements, eagerly and under jit,
// on the wasm backend and the interpreter) stay within a small multiple of
// float32 eps × log2(n) of a float64 reference computed from the same float32
// values -- the bound of pairwise/blocked summation (numpy, XLA); a plain
// running sum errs by eps × n and fails it at large n. One fixed case per op
// and path at 1e6-1e7 elements, then random cases up to 1e6 (NUM_RUNS,
// default 12), keep it fast.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jit, np, setDefaultBackend, defaultBackendName, type Tracer } from "../src/index";
import { rng } from "../test/rng";

const numRuns = Number(process.env.NUM_RUNS ?? 12);
const EPS = 2 ** -23;

type Op = "sum" | "mean" | "var" | "logsumexp";
const OPS: Record<Op, (x: Tracer) => Tracer> = {
  sum: (x) => np.sum(x),
  mean: (x) => np.mean(x),
  var: (x) => np.var(x),
  logsumexp: (x) => np.logsumexp(x),
};

/** The float64 value of the reduction of `xs` and the scale its error is measured against. */
function reference(op: Op, xs: Float32Array): { value: number; scale: number } {
  const n = xs.length;
  let sum = 0, sumAbs = 0, sumSq = 0, max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += xs[i];
    sumAbs += Math.abs(xs[i]);
    sumSq += xs[i] * xs[i];
    max = Math.max(max, xs[i]);
  }
  const mean = sum / n;
  switch (op) {
    case "sum":
      return { value: sum, scale: sumAbs };
    case "mean":
      return { value: mean, scale: sumAbs / n };
    case "var": {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
      return { value: ss / n, scale: sumSq / n };
    }
    case "logsumexp": {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.exp(xs[i] - max);
      // an error of δ relative in the sum is δ absolute in its log
      return { value: max + Math.log(s), scale: 1 + Math.abs(max) };
    }
  }
}

const scenario = fc.record({
  n: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.constantFrom(65_537, 1_000_003)),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  offset: fc.constantFrom(0, 0.1, 1, -3),
  spread: fc.constantFrom(0, 0.01, 1, 10),
  op: fc.constantFrom<Op>("sum", "mean", "var", "logsumexp"),
  how: fc.constantFrom("wasm eager", "wasm jit", "interpreter eager", "interpreter jit"),
});

function check(n: number, seed: number, offset: number, spread: number, op: Op, how: string): void {
  const next = rng(seed);
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = offset + spread * (next() * 2 - 1);
  const ref = reference(op, xs);
  const [backend, mode] = how.split(" ");
  const prev = defaultBackendName();
  setDefaultBackend(backend);
  try {
    const x = np.array(xs);
    const got = (mode === "jit" ? jit(OPS[op])(x) : OPS[op](x)).item() as number;
    // 2 eps per level of a log2(n)-deep tree, the final float32 rounding, and exp/log's few ulps
    const bound = 2 * EPS * Math.log2(n + 1) * ref.scale + EPS * Math.abs(ref.value) + (op === "logsumexp" ? 8 * EPS * ref.scale : 0) + 1e-30;
    expect(Math.abs(got - ref.value), `${op} of n=${n} offset=${offset} spread=${spread} seed=${seed} on ${how}: got ${got}, float64 ${ref.value}`).toBeLessThanOrEqual(bound);
  } finally {
    setDefaultBackend(prev);
  }
}

describe("reductions stay within eps·log2(n) of float64", () => {
  it("sum and mean of 1e7 elements, var and logsumexp of 1e6, on every path", () => {
    for (const op of ["sum", "mean", "var", "logsumexp"] as const) {
      for (const how of ["wasm eager", "wasm jit", "interpreter jit"]) {
        const n = op === "sum" || op === "mean" ? (how === "wasm jit" ? 10_000_000 : 2_000_000) : 1_000_000;
        check(n, 7, op === "var" ? 1 : 0.1, op === "sum" ? 0 : 0.5, op, how);
      }
    }
  });
  it("random sizes, offsets and spreads", () => {
    fc.assert(
      fc.property(scenario, ({ n, seed, offset, spread, op, how }) => {
        // logsumexp of large values is dominated by exp's range, not by accumulation
        fc.pre(!(op === "logsumexp" && spread > 1));
        check(n, seed, offset, spread, op, how);
      }),
      { numRuns, seed: 11 },
    );
  });
});

// Reductions over an outer axis: sum(x, 0) of [rows, cols], each column against
// its float64 sum. Rows up to 32 floats wide are summed with block levels in
// registers (codegen/kernel.ts blockedOuterRows), wider ones in scratch rows
// (codegen/outer_scratch.ts); the same bound holds for both.
function checkOuter(outer: number, rows: number, cols: number, seed: number, offset: number, spread: number, op: "sum" | "mean", how: string): void {
  const next = rng(seed);
  const xs = new Float32Array(outer * rows * cols);
  for (let i = 0; i < xs.length; i++) xs[i] = offset + spread * (next() * 2 - 1);
  const [backend, mode] = how.split(" ");
  const prev = defaultBackendName();
  setDefaultBackend(backend);
  try {
    const x = np.reshape(np.array(xs), [outer, rows, cols]);
    const f = (v: Tracer) => (op === "sum" ? np.sum(v, 1) : np.mean(v, 1));
    const got = (mode === "jit" ? jit(f)(x) : f(x)).dataSync() as Float32Array;
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < cols; c++) {
        let sum = 0, sumAbs = 0;
        for (let r = 0; r < rows; r++) {
          const v = xs[(a * rows + r) * cols + c];
          sum += v;
          sumAbs += Math.abs(v);
        }
        const value = op === "sum" ? sum : sum / rows;
        const scale = op === "sum" ? sumAbs : sumAbs / rows;
        const bound = 2 * EPS * Math.log2(rows + 1) * scale + EPS * Math.abs(value) + 1e-30;
        const g = got[a * cols + c];
        expect(Math.abs(g - value), `${op}(x, 1) of [${outer},${rows},${cols}] at [${a},${c}], offset=${offset} spread=${spread} seed=${seed} on ${how}: got ${g}, float64 ${value}`).toBeLessThanOrEqual(bound);
      }
    }
  } finally {
    setDefaultBackend(prev);
  }
}

describe("reductions over an outer axis stay within eps·log2(rows) of float64", () => {
  it("sum and mean over 1e6 rows of 4 (eager and jit), and over the middle axis of [3, 300000, 5]", () => {
    for (const op of ["sum", "mean"] as const) {
      for (const how of ["wasm eager", "wasm jit"]) checkOuter(1, 1_000_000, 4, 3, 0.1, 0.01, op, how);
      checkOuter(3, 300_000, 5, 4, 1, 0.5, op, "wasm jit");
    }
  });
  it("wide rows: [300000, 64] and [20000, 1000] (eager and jit), and the middle axis of [2, 5000, 333]", () => {
    for (const how of ["wasm eager", "wasm jit"]) {
      checkOuter(1, 300_000, 64, 5, 0.1, 0.01, "sum", how);
      checkOuter(1, 20_000, 1000, 6, 1, 0.5, "mean", how);
    }
    checkOuter(2, 5000, 333, 8, -3, 1, "sum", "wasm jit");
  });
  it("random row counts and widths up to 1000", () => {
    fc.assert(
      fc.property(
        fc.record({
          outer: fc.integer({ min: 1, max: 3 }),
          rows: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(33, 2049, 140_001)),
          cols: fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 32, 33, 37, 64, 101, 1000),
          seed: fc.integer({ min: 0, max: 2 ** 30 }),
          offset: fc.constantFrom(0, 0.1, 1, -3),
          spread: fc.constantFrom(0, 0.01, 1),
          op: fc.constantFrom<"sum" | "mean">("sum", "mean"),
          how: fc.constantFrom("wasm eager", "wasm jit"),
        }),
        ({ outer, rows, cols, seed, offset, spread, op, how }) => {
          fc.pre(outer * rows * cols <= 4_000_000); // keeps a run fast
          checkOuter(outer, rows, cols, seed, offset, spread, op, how);
        },
      ),
      { numRuns, seed: 12 },
    );
  });
});

// Reduced dims further out than just outside the kept innermost one, on the fused (jit) path:
// a broadcast operand keeps the kept dims from merging, reduced and kept dims alternate, or two
// reduced dims are kept apart. Each kept element against its float64 sum.
type Far = "bcast kept" | "bcast all" | "alternating" | "two reduced";
const FAR: Record<Far, { axes: number[]; other: (dims: number[]) => number[] | null; f: (x: Tracer, y: Tracer | null) => Tracer }> = {
  // sum(x + b, 0) of [rows, k, n], b of shape [k, 1]
  "bcast kept": { axes: [0], other: ([, k]) => [k, 1], f: (x, b) => np.sum(np.add(x, b!), 0) },
  // sum(x + b) of [rows, n], b of shape [n]
  "bcast all": { axes: [0, 1], other: ([, n]) => [n], f: (x, b) => np.sum(np.add(x, b!)) },
  // sum(x, (0, 2)) of [rows, k, m]
  alternating: { axes: [0, 2], other: () => null, f: (x) => np.sum(x, [0, 2]) },
  // sum(x * c, (0, 1)) of [a, rows, n], c of shape [a, 1, 1]
  "two reduced": { axes: [0, 1], other: ([a]) => [a, 1, 1], f: (x, c) => np.sum(np.multiply(x, c!), [0, 1]) },
};

function checkFar(kind: Far, dims: number[], seed: number, offset: number, spread: number): void {
  const spec = FAR[kind];
  const next = rng(seed);
  const size = dims.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(size);
  for (let i = 0; i < size; i++) xs[i] = offset + spread * (next() * 2 - 1);
  const otherShape = spec.other(dims);
  const ys = otherShape ? Float32Array.from({ length: otherShape.reduce((a, b) => a * b, 1) }, () => 0.5 + next()) : null;
  // the element of the other operand at the index `idx` of x (broadcast from the left, size-1 dims repeat)
  const otherAt = (idx: number[]): number => {
    if (!ys || !otherShape) return 0;
    const lead = idx.length - otherShape.length;
    let flat = 0;
    otherShape.forEach((len, d) => (flat = flat * len + (len === 1 ? 0 : idx[lead + d])));
    return ys[flat];
  };
  const kept = dims.map((_, d) => !spec.axes.includes(d));
  const outSize = dims.reduce((a, len, d) => (kept[d] ? a * len : a), 1);
  const sum = new Float64Array(outSize), sumAbs = new Float64Array(outSize);
  const idx = dims.map(() => 0);
  for (let i = 0; i < size; i++) {
    const y = otherAt(idx);
    const v = kind === "two reduced" ? xs[i] * y : xs[i] + y;
    let o = 0;
    dims.forEach((len, d) => kept[d] && (o = o * len + idx[d]));
    sum[o] += v;
    sumAbs[o] += Math.abs(v);
    for (let d = dims.length - 1; d >= 0 && ++idx[d] === dims[d]; d--) idx[d] = 0;
  }
  const terms = size / outSize;
  const x = np.reshape(np.array(xs), dims);
  const other = ys && otherShape ? np.reshape(np.array(ys), otherShape) : null;
  const got = jit((a: Tracer, b: Tracer | null) => spec.f(a, b))(x, other).dataSync() as Float32Array;
  for (let o = 0; o < outSize; o++) {
    const bound = 2 * EPS * Math.log2(terms + 1) * sumAbs[o] + EPS * Math.abs(sum[o]) + 1e-30;
    expect(Math.abs(got[o] - sum[o]), `${kind} of [${dims}] at ${o}, offset=${offset} spread=${spread} seed=${seed}: got ${got[o]}, float64 ${sum[o]}`).toBeLessThanOrEqual(bound);
  }
}

describe("reductions over dims further out stay within eps·log2(terms) of float64 (fused, threaded)", () => {
  it("1e7 elements of each layout", () => {
    checkFar("bcast kept", [1_000_000, 2, 5], 21, 0.1, 0.01);
    checkFar("bcast all", [2_500_000, 4], 22, 0.1, 0.01);
    checkFar("alternating", [100_000, 4, 25], 23, 1, 0.5);
    checkFar("two reduced", [1000, 2500, 4], 24, 0.1, 0.01);
  });
  it("random layouts and sizes", () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom<Far>("bcast kept", "bcast all", "alternating", "two reduced"),
          rows: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(129, 8193, 140_001)),
          a: fc.integer({ min: 1, max: 40 }),
          b: fc.constantFrom(1, 2, 3, 4, 5, 8, 9, 33, 100),
          seed: fc.integer({ min: 0, max: 2 ** 30 }),
          offset: fc.constantFrom(0, 0.1, 1, -3),
          spread: fc.constantFrom(0, 0.01, 1),
        }),
        ({ kind, rows, a, b, seed, offset, spread }) => {
          const dims = kind === "bcast all" ? [rows, b] : kind === "two reduced" ? [a, rows, b] : [rows, a, b];
          fc.pre(dims.reduce((p, q) => p * q, 1) <= 4_000_000); // keeps a run fast
          checkFar(kind, dims, seed, offset, spread);
        },
      ),
      { numRuns, seed: 13 },
    );
  });
});
