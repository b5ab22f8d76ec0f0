// Property tests of the numpy layer (fast-check): broadcasting laws,
// reshape/transpose round trips, reductions against naive JS loops over
// random shapes (size-0 dims included), and indexing against a naive JS
// implementation of numpy slicing / integer-array indexing.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import "../src/backends";
import * as np from "../src/numpy";
import type { Tracer } from "../src/core/trace";

const numRuns = Number(process.env.NUM_RUNS ?? 30);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const shapeArb = (maxRank = 3, maxDim = 4) => fc.array(fc.integer({ min: 0, max: maxDim }), { minLength: 0, maxLength: maxRank });
const flat = (x: Tracer): number[] => Array.from(x.dataSync());
function arrayOf(shape: number[], seed: number): Tracer {
  const n = size(shape);
  const data = Int32Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 31) % 23) - 11);
  return np.array(data).reshape(shape);
}
function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
function unravel(k: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return out;
}

/** Two shapes that broadcast: a common shape with some dims set to 1 or dropped. */
const broadcastPair = shapeArb(3, 3).chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.integer({ min: 0, max: s.length }),
  ).map(([full, m1, m2, drop]) => [full.map((d, i) => (m1[i] ? 1 : d)), full.map((d, i) => (m2[i] ? 1 : d)).slice(drop)] as const),
);

describe("broadcasting laws", () => {
  test("add commutes and matches a naive broadcast", () => {
    fc.assert(
      fc.property(broadcastPair, fc.nat(100), ([sa, sb], seed) => {
        const a = arrayOf([...sa], seed);
        const b = arrayOf([...sb], seed + 1);
        const ab = np.add(a, b);
        const ba = np.add(b, a);
        expect(ab.shape).toEqual(ba.shape);
        expect(flat(ab)).toEqual(flat(ba));
        const out = ab.shape;
        const da = flat(a);
        const db = flat(b);
        const naive = Array.from({ length: size(out) }, (_, k) => {
          const idx = unravel(k, out);
          const pick = (s: readonly number[], d: number[]) => {
            const off = out.length - s.length;
            const st = strides(s);
            return d[s.reduce((acc, n, i) => acc + (n === 1 ? 0 : idx[i + off]) * st[i], 0)];
          };
          return pick(sa, da) + pick(sb, db);
        });
        expect(flat(ab)).toEqual(naive);
      }),
      { numRuns },
    );
  });
  test("broadcastTo then sum equals sum times the broadcast factor", () => {
    fc.assert(
      fc.property(shapeArb(2, 3), shapeArb(2, 3), fc.nat(100), (s, lead, seed) => {
        const x = arrayOf(s, seed);
        const target = [...lead, ...s];
        const b = np.broadcastTo(x, target);
        expect(b.shape).toEqual(target);
        expect((np.sum(b).item() as number) === (np.sum(x).item() as number) * size(lead)).toBe(true);
      }),
      { numRuns },
    );
  });
});

describe("round trips", () => {
  test("reshape to flat and back; transpose by a permutation and its inverse", () => {
    fc.assert(
      fc.property(
        shapeArb(4, 3).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }))),
        fc.nat(100),
        ([s, perm], seed) => {
          const x = arrayOf(s, seed);
          expect(flat(np.reshape(np.reshape(x, [-1]).slice(), s))).toEqual(flat(x));
          const inv = perm.map((_, i) => perm.indexOf(i));
          const t = np.transpose(x, perm);
          expect(t.shape).toEqual(perm.map((p) => s[p]));
          const back = np.transpose(t, inv);
          expect(back.shape).toEqual(s);
          expect(flat(back)).toEqual(flat(x));
        },
      ),
      { numRuns },
    );
  });
  test("split then concatenate is the identity", () => {
    fc.assert(
      fc.property(shapeArb(3, 4).filter((s) => s.length > 0), fc.nat(10), fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }), (s, ax0, points) => {
        const x = arrayOf(s, 3);
        const ax = ax0 % s.length;
        // split points in increasing order (after resolving negatives), as numpy expects for a partition
        const n = s[ax];
        points = points.map((p) => Math.min(Math.max(p < 0 ? p + n : p, 0), n)).sort((a, b) => a - b);
        const parts = np.split(x, points, ax);
        expect(parts.length).toBe(points.length + 1);
        expect(flat(np.concatenate(parts, ax))).toEqual(flat(x));
      }),
      { numRuns },
    );
  });
});

describe("reductions against naive loops", () => {
  test("sum / max / min / prod over a random axis, with keepdims", () => {
    fc.assert(
      fc.property(shapeArb(3, 3).filter((s) => s.length > 0), fc.nat(10), fc.boolean(), fc.nat(100), (s, ax0, keepdims, seed) => {
        const x = arrayOf(s, seed);
        const ax = ax0 % s.length;
        const data = flat(x);
        const outShape = s.filter((_, i) => i !== ax);
        const st = strides(s);
        const reduce = (init: number, f: (a: number, b: number) => number) =>
          Array.from({ length: size(outShape) }, (_, k) => {
            const idx = unravel(k, outShape);
            let acc = init;
            for (let j = 0; j < s[ax]; j++) {
              const full = [...idx.slice(0, ax), j, ...idx.slice(ax)];
              acc = f(acc, data[full.reduce((o, v, i) => o + v * st[i], 0)]);
            }
            return acc;
          });
        const r = np.sum(x, ax, { keepdims });
        expect(r.shape).toEqual(keepdims ? s.map((d, i) => (i === ax ? 1 : d)) : outShape);
        expect(flat(r)).toEqual(reduce(0, (a, b) => a + b));
        expect(flat(np.prod(x.astype("float32"), ax))).toEqual(reduce(1, (a, b) => a * b));
        if (s[ax] > 0) {
          expect(flat(np.max(x, -s.length + ax))).toEqual(reduce(-Infinity, Math.max));
          expect(flat(np.min(x, ax))).toEqual(reduce(Infinity, Math.min));
          expect(flat(np.argmax(x, ax)).length).toBe(size(outShape));
        }
        const total = data.reduce((a, b) => a + b, 0);
        expect(np.sum(x).item()).toBe(total);
        if (data.length > 0) expect(np.mean(x).item()).toBeCloseTo(total / data.length, 4);
      }),
      { numRuns },
    );
  });
});

/** numpy's slice semantics in plain JS. */
function naiveSlice(n: number, start: number | null, stop: number | null, step: number): number[] {
  const out: number[] = [];
  if (step > 0) {
    let s = start ?? 0;
    let e = stop ?? n;
    if (s < 0) s += n;
    if (e < 0) e += n;
    s = Math.min(Math.max(s, 0), n);
    e = Math.min(Math.max(e, 0), n);
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    let s = start ?? n - 1;
    let e = stop ?? -n - 1;
    if (s < 0) s += n;
    if (e < 0) e += n;
    s = Math.min(Math.max(s, -1), n - 1);
    e = Math.min(Math.max(e, -1), n - 1);
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

const sliceArb = fc.tuple(
  fc.option(fc.integer({ min: -6, max: 6 }), { nil: null }),
  fc.option(fc.integer({ min: -6, max: 6 }), { nil: null }),
  fc.integer({ min: -3, max: 3 }).filter((v) => v !== 0),
);

describe("indexing against a naive implementation", () => {
  test("2-D basic slicing with negative steps and nulls", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), sliceArb, sliceArb, (r, c, s0, s1) => {
        const x = arrayOf([r, c], 1);
        const data = flat(x);
        const rows = naiveSlice(r, ...s0);
        const cols = naiveSlice(c, ...s1);
        const y = x.slice(s0, s1);
        expect(y.shape).toEqual([rows.length, cols.length]);
        expect(flat(y)).toEqual(rows.flatMap((i) => cols.map((j) => data[i * c + j])));
      }),
      { numRuns },
    );
  });
  test("integer-array indexing and at().add match loops (duplicates accumulate)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: -5, max: 4 }), { maxLength: 6 }),
        (r, c, raw) => {
          const idx = raw.map((v) => ((v % r) + r) % r).map((v, k) => (k % 2 ? v - r : v)); // mix negative forms
          const x = arrayOf([r, c], 2);
          const data = flat(x);
          const ii = np.array(Int32Array.from(idx));
          const g = x.slice(ii);
          expect(g.shape).toEqual([idx.length, c]);
          expect(flat(g)).toEqual(idx.flatMap((i) => Array.from({ length: c }, (_, j) => data[(i < 0 ? i + r : i) * c + j])));
          const upd = x.at(ii, 0).add(1);
          const expected = [...data];
          for (const i of idx) expected[(i < 0 ? i + r : i) * c] += 1;
          expect(flat(upd)).toEqual(expected);
        },
      ),
      { numRuns },
    );
  });
});
