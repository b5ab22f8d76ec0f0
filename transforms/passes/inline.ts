// Inlining of pjit calls: a jitted function called inside another becomes
// part of the caller's equations, so fusion and the other passes see across
// the call boundary.

import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../../src/core/ir";
import type { ParamsOf } from "../../src/core/primitives";
import type { Tracer } from "../../src/core/trace";
import { substitute, type Substitution } from "./rewrite";

export function inlineCalls(closed: ClosedJaxpr): ClosedJaxpr {
  const { jaxpr } = closed;
  if (!jaxpr.eqns.some((e) => e.primitive === "pjit")) return closed;
  const constvars = [...jaxpr.constvars];
  const consts: Tracer[] = [...closed.consts];
  const subst: Substitution = new Map();
  const eqns: JaxprEqn[] = [];
  const emit = (e: JaxprEqn, outer: Substitution) => {
    const ins = e.inputs.map((a) => substitute(a, outer));
    if (e.primitive !== "pjit") {
      eqns.push(new JaxprEqn(e.primitive, ins, e.params, e.outputs));
      return;
    }
    const inner = (e.params as ParamsOf<"pjit">).jaxpr;
    const local: Substitution = new Map();
    inner.jaxpr.constvars.forEach((v, i) => {
      const cv = new Var(v.aval);
      constvars.push(cv);
      consts.push(inner.consts[i]);
      local.set(v, cv);
    });
    inner.jaxpr.invars.forEach((v, i) => local.set(v, ins[i]));
    for (const ie of inner.jaxpr.eqns) emit(ie, local);
    inner.jaxpr.outvars.forEach((a: Atom, i) => outer.set(e.outputs[i], a instanceof Literal ? a : substitute(a, local)));
  };
  for (const e of jaxpr.eqns) emit(e, subst);
  return new ClosedJaxpr(new Jaxpr(constvars, jaxpr.invars, eqns, jaxpr.outvars.map((a) => substitute(a, subst))), consts);
}
