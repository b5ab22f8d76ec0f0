// Dead-code elimination: drop equations none of whose outputs reach the
// jaxpr's outputs. Every primitive is pure, so nothing else keeps one alive.
// Nested jaxprs are cleaned too (their interfaces are kept).

import { Jaxpr, JaxprEqn, Literal, type Var } from "../../src/core/ir";
import { mapInnerJaxprs } from "./rewrite";

export function dce(jaxpr: Jaxpr): Jaxpr {
  const live = new Set<Var>();
  for (const a of jaxpr.outvars) if (!(a instanceof Literal)) live.add(a);
  const kept: JaxprEqn[] = [];
  for (let i = jaxpr.eqns.length - 1; i >= 0; i--) {
    const e = jaxpr.eqns[i];
    if (!e.outputs.some((v) => live.has(v))) continue;
    for (const a of e.inputs) if (!(a instanceof Literal)) live.add(a);
    const params = mapInnerJaxprs(e, dce);
    kept.push(params === e.params ? e : new JaxprEqn(e.primitive, e.inputs, params, e.outputs));
  }
  kept.reverse();
  if (kept.length === jaxpr.eqns.length && kept.every((e, i) => e === jaxpr.eqns[i])) return jaxpr;
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, kept, jaxpr.outvars);
}
