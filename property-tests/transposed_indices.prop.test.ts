// Properties of the rewrite that moves a transpose of a gather's or a
// scatter-add's batch dims onto the index array
// (transforms/passes/transposed_indices.ts): an embedding-style lookup by ids of
// 1 to 3 batch dims (some out of range, some repeated), its result transposed by
// a random permutation of the batch dims, through a nonlinearity, and its
// gradient (a scatter-add of the transposed cotangent) are the same under jit
// (where the pass runs) as on the interpreter without the passes (the oracle),
// in "fill" and "clip" modes. NUM_RUNS sets the number of cases (default 15).

import fc from "fast-check";
import { describe, it } from "vitest";
import { Array as TArray, jit, lax, np, valueAndGrad, type ArrayImpl, type Tracer } from "../src/index";
import { expectAllclose } from "../src/testing";
import { onInterpreter } from "../test/interpreter_oracle";

const numRuns = Number(process.env.NUM_RUNS ?? 15);
const toInterp = (x: Tracer): Tracer => (x as ArrayImpl).to("interpreter");

interface Case {
  rows: number;
  width: number;
  batch: number[];
  perm: number[];
  mode: "fill" | "clip";
  ids: number[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    rows: fc.integer({ min: 1, max: 6 }),
    width: fc.integer({ min: 1, max: 5 }),
    batch: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
    mode: fc.constantFrom("fill" as const, "clip" as const),
    idSeeds: fc.array(fc.integer({ min: -2, max: 8 }), { minLength: 64, maxLength: 64 }),
  })
  .map(({ rows, width, batch, order, mode, idSeeds }) => {
    const perm = batch.map((_, d) => d).sort((a, b) => order[a] - order[b]);
    const count = batch.reduce((a, b) => a * b, 1);
    return { rows, width, batch, perm, mode, ids: Array.from({ length: count }, (_, k) => idSeeds[k % 64]) };
  });

/** sum(tanh(transpose(table[ids], perm)) * weights): gathers by ids, and its gradient scatter-adds by them. */
function loss(c: Case) {
  const nb = c.batch.length;
  const outShape = [...c.perm.map((d) => c.batch[d]), c.width];
  const weights = np.arange(outShape.reduce((a, b) => a * b, 1), { dtype: "float32" }).reshape(outShape).mul(0.1);
  return (table: Tracer, ids: Tracer): Tracer => {
    const rows = lax.gather(table, ids, { offsetDims: [nb], collapsedSliceDims: [0], startIndexMap: [0] }, [1, c.width], { mode: c.mode });
    return np.sum(np.tanh(np.transpose(rows, [...c.perm, nb])).mul(weights));
  };
}

describe("transposes moved onto gather/scatter-add indices", () => {
  it("jit(valueAndGrad) of a transposed lookup equals the interpreter's", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const table = TArray.fromTyped(Float32Array.from({ length: c.rows * c.width }, (_, i) => Math.sin(i * 1.3)), [c.rows, c.width], "float32");
        const ids = TArray.fromTyped(Int32Array.from(c.ids), [...c.batch, 1], "int32");
        const f = valueAndGrad(loss(c));
        const want = onInterpreter(() => f(toInterp(table), toInterp(ids)));
        expectAllclose(jit(f)(table, ids), want, { atol: 1e-5, rtol: 1e-5 });
      }),
      { numRuns },
    );
  });
});
