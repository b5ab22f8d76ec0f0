// Properties of the pad-sum rewrite (transforms/passes/pad_sums.ts): the
// gradient of a function that slices blocks out of one array along a random
// axis -- some blocks unused, so zero gaps remain; blocks adjacent or apart;
// an optional block overlapping another, which keeps the pads -- is the same
// under jit (where the pads' sum becomes a concatenate) as on the interpreter
// without the passes (the oracle), on 2-d and 3-d arrays, and inside a scan
// body. NUM_RUNS sets the number of cases (default 15).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Array as TArray, grad, jit, lax, np, type ArrayImpl, type Tracer } from "../src/index";
import { onInterpreter } from "../test/interpreter_oracle";

type T = Tracer;
const numRuns = Number(process.env.NUM_RUNS ?? 15);
const toInterp = (x: T): T => (x as ArrayImpl).to("interpreter");
const activations = [(x: T) => np.sin(x), (x: T) => np.tanh(x).mul(x), (x: T) => np.exp(x.mul(0.3)), (x: T) => x.mul(x)];

/** Blocks [start, end) along `axis` and the activation applied to each. */
interface Case {
  shape: number[];
  axis: number;
  blocks: { start: number; end: number; act: number }[];
  inScan: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 3 }),
    axisSeed: fc.nat(),
    cuts: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
    used: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    acts: fc.array(fc.integer({ min: 0, max: activations.length - 1 }), { minLength: 7, maxLength: 7 }),
    overlap: fc.boolean(),
    inScan: fc.boolean(),
  })
  .map(({ shape, axisSeed, cuts, used, acts, overlap, inScan }) => {
    const axis = axisSeed % shape.length;
    const n = shape[axis];
    const bounds = [...new Set([0, n, ...cuts.map((c) => c % (n + 1))])].sort((a, b) => a - b);
    const blocks = bounds.slice(1).flatMap((end, i) => (used[i] ?? true ? [{ start: bounds[i], end, act: acts[i] }] : []));
    if (blocks.length === 0) blocks.push({ start: 0, end: n, act: acts[0] });
    if (overlap) blocks.push({ start: 0, end: Math.max(1, n >> 1), act: acts[6] });
    return { shape, axis, blocks, inScan };
  });

function loss(c: Case) {
  const body = (v: T): T =>
    c.blocks
      .map(({ start, end, act }) => {
        const lo = c.shape.map((_, d) => (d === c.axis ? start : 0));
        const hi = c.shape.map((n, d) => (d === c.axis ? end : n));
        return np.sum(activations[act](lax.slice(v, lo, hi)));
      })
      .reduce((a, b) => a.add(b));
  if (!c.inScan) return body;
  // The same sum inside a scan body, over three steps that scale the carry.
  return (v: T): T => {
    const [, ys] = lax.scan((h: T, s: T) => [h.mul(0.9), body(h.mul(s))], v, np.array([1, 0.5, -0.7], { dtype: "float32" }));
    return np.sum(ys as T);
  };
}

describe("pad sums as concatenates", () => {
  it("jit(grad) of slicing blocks out of one array equals the interpreter's grad", () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 1000 }), (c, seed) => {
        const size = c.shape.reduce((a, b) => a * b, 1);
        const x = TArray.fromTyped(Float32Array.from({ length: size }, (_, i) => Math.sin(seed + i * 1.7)), c.shape, "float32");
        const jitted = jit(grad(loss(c)));
        const got = jitted(x) as T;
        // Two blocks or more, none overlapping: no pad is left in the optimized jaxpr.
        const overlapping = c.blocks.some((b, i) => c.blocks.some((o, j) => j !== i && b.start < o.end && o.start < b.end));
        if (c.blocks.length > 1 && !overlapping && !c.inScan) {
          const text = jitted.lower(x).text();
          const optimized = text.slice(text.indexOf("# after passes"), text.indexOf("# program on"));
          expect(optimized).not.toMatch(/= pad\[/);
        }
        const want = onInterpreter(() => grad(loss(c))(toInterp(x))) as T;
        expect(got.shape).toEqual(want.shape);
        const g = got.dataSync() as Float32Array;
        const w = want.dataSync() as Float32Array;
        g.forEach((v, i) => {
          if (!(Math.abs(v - w[i]) <= 1e-4 * (1 + Math.abs(w[i])))) throw new Error(`${JSON.stringify(c)}: element ${i} is ${v}, expected ${w[i]}`);
        });
      }),
      { numRuns },
    );
  });
});
