// The IR pass pipeline run when a jaxpr is lowered for execution:
// inline calls, then CSE, transposes of gathered/scattered values moved onto
// their indices, sums of zero pads as concatenates, constant folding /
// simplification and DCE to a fixed point.

import { ClosedJaxpr, Jaxpr } from "../../src/core/ir";
import { cse } from "./cse";
import { dce } from "./dce";
import { inlineCalls } from "./inline";
import { padSumsToConcatenate } from "./pad_sums";
import { simplify } from "./simplify";
import { transposesIntoIndices } from "./transposed_indices";
import { withJaxpr } from "./rewrite";

export function optimize(closed: ClosedJaxpr, maxRounds = 4): ClosedJaxpr {
  let cur = inlineCalls(closed);
  for (let round = 0; round < maxRounds; round++) {
    const next = dceClosed(simplify(withJaxpr(cur, padSumsToConcatenate(transposesIntoIndices(cse(cur.jaxpr))))));
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

/** DCE, also dropping constvars that no equation uses any more. */
export function dceClosed(closed: ClosedJaxpr): ClosedJaxpr {
  const j = dce(closed.jaxpr);
  const used = new Set(j.eqns.flatMap((e) => e.inputs).concat(j.outvars));
  const keep = j.constvars.map((v) => used.has(v));
  if (j === closed.jaxpr && keep.every(Boolean)) return closed;
  return new ClosedJaxpr(
    new Jaxpr(j.constvars.filter((_, i) => keep[i]), j.invars, j.eqns, j.outvars),
    closed.consts.filter((_, i) => keep[i]),
  );
}

export { cse, dce, inlineCalls, padSumsToConcatenate, simplify, transposesIntoIndices };
