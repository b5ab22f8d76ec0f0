// Property: a read result that a later operation took over (residency.ts,
// "Taking read results") is the same value, bit for bit, whenever it is used
// again. Random jitted elementwise chains (unary functions, arithmetic with the
// input and constants, a transpose or a broadcast) with one or two large
// outputs run on random inputs; a random subset of their outputs is read, a
// random sequence of later calls (the same program on other data, eager ops
// of the same size) takes blocks, and then every output is read, used as an
// operand, or read twice, in random order. Each must equal its first read and
// a fresh call of the program. NUM_RUNS (default 20) sets the runs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, jit, memoryStats, np, type Tracer } from "../src/index";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

const UNARY: Record<string, (x: Tracer) => Tracer> = {
  tanh: (x) => np.tanh(x),
  exp: (x) => np.exp(x.mul(0.1)),
  sin: (x) => np.sin(x),
  abs: (x) => np.abs(x),
  square: (x) => x.mul(x),
  sigmoid: (x) => np.divide(1, np.add(1, np.exp(np.negative(x)))),
};
const BINARY: Record<string, (y: Tracer, x: Tracer) => Tracer> = {
  add: (y, x) => y.add(x),
  mul: (y, x) => y.mul(x),
  sub: (y, x) => y.sub(x.mul(0.5)),
  max: (y, x) => np.maximum(y, x),
};

interface Program {
  rows: number;
  cols: number;
  steps: { unary: string; binary: string }[];
  /** Also return the transposed result (a second output of the same size). */
  twoOutputs: boolean;
  /** The input is a row, broadcast against a matrix constant (an input smaller than the outputs). */
  broadcastRow: boolean;
}

const programArb: fc.Arbitrary<Program> = fc.record({
  rows: fc.integer({ min: 64, max: 160 }),
  cols: fc.integer({ min: 257, max: 400 }),
  steps: fc.array(fc.record({ unary: fc.constantFrom(...Object.keys(UNARY)), binary: fc.constantFrom(...Object.keys(BINARY)) }), { minLength: 1, maxLength: 4 }),
  twoOutputs: fc.boolean(),
  broadcastRow: fc.boolean(),
});

function build(p: Program, matrix: Tracer): (x: Tracer) => Tracer[] {
  return (x) => {
    let y = p.broadcastRow ? x.add(matrix) : x;
    for (const s of p.steps) y = BINARY[s.binary]!(UNARY[s.unary]!(y), x);
    return p.twoOutputs ? [y, np.transpose(y).mul(3)] : [y];
  };
}

/** What happens to one output after the blocks were taken. */
type Use = "read" | "operand" | "readTwice";

const bitsOf = (a: Tracer): Uint32Array => new Uint32Array(((a as TfArray).dataSync() as Float32Array).slice().buffer);
function firstDifference(a: Uint32Array, b: Uint32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : a.length;
}

describe("a taken result is the same value whenever it is used again", () => {
  it("random jitted elementwise programs, read, taken by later calls, used again in random order", () => {
    fc.assert(
      fc.property(
        programArb,
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom<Use>("read", "operand", "readTwice"), { minLength: 2, maxLength: 2 }),
        fc.boolean(),
        (p, seed, calls, uses, eagerTaker) => {
          const shape = [p.rows, p.cols];
          const inShape = p.broadcastRow ? [1, p.cols] : shape;
          const data = (s: number, n = p.rows * p.cols): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + s) * 2);
          const input = (s: number): Tracer => np.array(data(s, inShape[0]! * p.cols)).reshape(inShape);
          // A constant of the program (not an input): the inputs are then no larger than an output.
          const f = jit(build(p, np.array(data(seed + 0.5)).reshape(shape)));
          const x = input(seed % 1000);
          const outs = f(x);
          const first = outs.map(bitsOf);
          const before = memoryStats();
          // Later calls of the same size take the read outputs' blocks.
          for (let c = 0; c < calls; c++) {
            if (eagerTaker && c === 0) np.exp(np.array(data(c + 7)).reshape(shape));
            else for (const o of f(input(c + 1))) bitsOf(o);
          }
          expect(memoryStats().taken - before.taken).toBeGreaterThan(0);
          const fresh = f(x).map(bitsOf);
          outs.forEach((o, k) => {
            const use = uses[k]!;
            const seen = use === "operand" ? bitsOf(o.mul(1)) : bitsOf(o);
            expect(firstDifference(seen, first[k]!), `output ${k}, ${use}`).toBe(-1);
            expect(firstDifference(seen, fresh[k]!), `output ${k} vs a fresh call`).toBe(-1);
            if (use === "readTwice") expect(firstDifference(bitsOf(o), first[k]!)).toBe(-1);
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  }, 240_000);
});
