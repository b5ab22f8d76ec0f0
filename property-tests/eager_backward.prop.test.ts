// Property: the eager front end's `.backward()` gives the gradients that
// tinyflow's `grad` gives for the same program written with `np`. Random
// straight-line programs over three inputs — x and w require grad (w's shape
// broadcasts against x's), c is a constant tensor of x's shape — chain
// elementwise ops, broadcasting binary ops, ops with JS numbers, reductions
// (with and without keepdim), softmax/logSoftmax, matmul and shape ops, then
// sum the last value. Each program's backward runs twice: the first pass
// meets new op signatures (their backward is an un-jitted vjp), the second
// reuses the cached jitted backward rules; both must equal `grad`.
// NUM_RUNS (default 60) sets the number of programs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as torch from "../src/frontends/eager";
import { grad, type ArrayImpl } from "../src/index";
import { caseArb, close, describeProgram, eagerOps, npLossOf, runProgram, values, type Reg } from "./eager_programs";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 60);

describe("eager backward == grad of the np program", () => {
  it("on random op chains over random shapes, with broadcasting and reductions", () => {
    fc.assert(
      fc.property(caseArb, ({ xShape, wShape, seed, prog }) => {
        const xv = values(xShape, seed);
        const wv = values(wShape, seed + 1);
        const cv = values(xShape, seed + 2);
        const npLoss = npLossOf(xShape, wShape, cv, prog);
        const [gx, gw] = grad(npLoss, { argnums: [0, 1] })(xv, wv) as [ArrayImpl, ArrayImpl];
        for (const pass of ["first run (new op signatures: vjp traced per op)", "second run (cached jitted rules)"]) {
          const x = torch.tensor(xv, { requiresGrad: true });
          const w = torch.tensor(wv, { requiresGrad: true });
          const inputs: Reg<torch.Tensor>[] = [
            { v: x, shape: xShape, diff: true },
            { v: w, shape: wShape, diff: true },
            { v: torch.tensor(cv), shape: xShape, diff: false },
          ];
          const [last, lines] = runProgram(eagerOps, inputs, prog);
          if (!last.diff) return; // the program's value does not depend on x or w
          expect(last.v.shape, "shape bookkeeping").toEqual(last.shape);
          last.v.sum().backward();
          const where = `${pass} of\n${describeProgram([xShape, wShape], lines)}\n`;
          close(x.grad?.value ?? null, gx, `${where}x.grad`);
          close(w.grad?.value ?? null, gw, `${where}w.grad`);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
