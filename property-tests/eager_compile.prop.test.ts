// Property: compile(fn) changes how an eager function runs, not what it
// computes. On random straight-line eager programs (eager_programs.ts) over
// x and w (arguments that require grad) and c (a constant tensor the
// function captures), the compiled function's loss and its `.backward()`
// gradients equal the uncompiled eager function's and those of tinyflow's
// functional `grad` of the same np program. The compiled function is called
// twice: the first call traces, the second reuses the trace (traceCount 1).
// NUM_RUNS (default 40) sets the number of programs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as torch from "../src/frontends/eager";
import { grad, type ArrayImpl } from "../src/index";
import { caseArb, close, describeProgram, eagerOps, npLossOf, runProgram, values, type Reg } from "./eager_programs";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 40);

describe("compiled eager == uncompiled eager == functional grad", () => {
  it("on random op chains over random shapes, loss and .backward() gradients", () => {
    fc.assert(
      fc.property(caseArb, ({ xShape, wShape, seed, prog }) => {
        const xv = values(xShape, seed);
        const wv = values(wShape, seed + 1);
        const cv = values(xShape, seed + 2);
        const npLoss = npLossOf(xShape, wShape, cv, prog);
        const want = npLoss(xv, wv) as ArrayImpl;
        const [gx, gw] = grad(npLoss, { argnums: [0, 1] })(xv, wv) as [ArrayImpl, ArrayImpl];

        const c = torch.tensor(cv);
        let lines: string[] = [];
        let dependsOnInputs = true;
        const eagerLoss = (x: torch.Tensor, w: torch.Tensor) => {
          const inputs: Reg<torch.Tensor>[] = [
            { v: x, shape: xShape, diff: true },
            { v: w, shape: wShape, diff: true },
            { v: c, shape: xShape, diff: false },
          ];
          const [last, text] = runProgram(eagerOps, inputs, prog);
          lines = text;
          dependsOnInputs = last.diff;
          return last.v.sum();
        };
        const compiled = torch.compile(eagerLoss);
        for (const [variant, f] of [["uncompiled", eagerLoss], ["compiled, first call", compiled], ["compiled, second call", compiled]] as const) {
          const x = torch.tensor(xv, { requiresGrad: true });
          const w = torch.tensor(wv, { requiresGrad: true });
          const loss = f(x, w);
          const where = `${variant} of\n${describeProgram([xShape, wShape], lines)}\n`;
          close(loss.value, want, `${where}loss`);
          if (!dependsOnInputs) continue;
          loss.backward();
          close(x.grad?.value ?? null, gx, `${where}x.grad`);
          close(w.grad?.value ?? null, gw, `${where}w.grad`);
        }
        expect(compiled.traceCount).toBe(1);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
