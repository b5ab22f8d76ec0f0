// Inlining of call equations at lowering: a jitted function called inside
// another (pjit), and a function with custom derivative rules (customJvp's
// custom_jvp_call, customVjp's custom_vjp_call: np.linalg, nn activations,
// users' own) become part of the caller's equations, so fusion and the other
// passes see across the call boundary and the backend compiles one program.
//
// Lowering is the right place for custom rules too: by the time a jaxpr is
// compiled every derivative has been taken (grad/jvp/vjp rewrite the traced
// jaxpr, never the optimized one), so all that is left of a custom rule is its
// primal function — JAX lowers custom_jvp_call/custom_vjp_call the same way.

import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../../src/core/ir";
import { isHigherOrder, type HigherOrderPrimitive, type ParamsOf } from "../../src/core/primitives";
import type { Tracer } from "../../src/core/trace";
import { substitute, type Substitution } from "./rewrite";

/**
 * For each higher-order primitive, the body that replaces its equation at
 * lowering, or null where the equation stays: control flow keeps its own
 * semantics (a branch taken, a loop repeated), and custom_lin only exists to
 * be transposed, never evaluated. A checkpoint equation left in a compiled
 * jaxpr is one no derivative went through (reverse mode already wrote its
 * recomputation out as equations), so it is its function and nothing more.
 */
const inlinedBody: { [P in HigherOrderPrimitive]: ((params: ParamsOf<P>) => ClosedJaxpr) | null } = {
  pjit: (p) => p.jaxpr,
  custom_jvp_call: (p) => p.call,
  custom_vjp_call: (p) => p.call,
  cond: null,
  while: null,
  scan: null,
  custom_lin: null,
  checkpoint: (p) => new ClosedJaxpr(p.jaxpr, []),
};

function bodyOf(e: JaxprEqn): ClosedJaxpr | null {
  if (!isHigherOrder(e.primitive)) return null;
  const body = inlinedBody[e.primitive] as ((params: unknown) => ClosedJaxpr) | null;
  return body === null ? null : body(e.params);
}

/** `closed` with every call equation (nested ones too) replaced by its body's equations. */
export function inlineCalls(closed: ClosedJaxpr): ClosedJaxpr {
  const { jaxpr } = closed;
  if (!jaxpr.eqns.some((e) => bodyOf(e) !== null)) return closed;
  const constvars = [...jaxpr.constvars];
  const consts: Tracer[] = [...closed.consts];
  const subst: Substitution = new Map();
  const eqns: JaxprEqn[] = [];
  // `inBody`: the equation comes from an inlined body. One body may be inlined more than
  // once (a jitted function called twice shares its cached jaxpr), so its equations get
  // fresh output variables each time: every variable of the result is defined once.
  const emit = (e: JaxprEqn, outer: Substitution, inBody: boolean) => {
    const ins = e.inputs.map((a) => substitute(a, outer));
    const inner = bodyOf(e);
    if (inner === null) {
      const outs = inBody ? e.outputs.map((v) => new Var(v.aval)) : e.outputs;
      if (inBody) e.outputs.forEach((v, i) => outer.set(v, outs[i]));
      eqns.push(new JaxprEqn(e.primitive, ins, e.params, outs));
      return;
    }
    const local: Substitution = new Map();
    inner.jaxpr.constvars.forEach((v, i) => {
      const cv = new Var(v.aval);
      constvars.push(cv);
      consts.push(inner.consts[i]);
      local.set(v, cv);
    });
    inner.jaxpr.invars.forEach((v, i) => local.set(v, ins[i]));
    for (const ie of inner.jaxpr.eqns) emit(ie, local, true);
    inner.jaxpr.outvars.forEach((a: Atom, i) => outer.set(e.outputs[i], a instanceof Literal ? a : substitute(a, local)));
  };
  for (const e of jaxpr.eqns) emit(e, subst, false);
  return new ClosedJaxpr(new Jaxpr(constvars, jaxpr.invars, eqns, jaxpr.outvars.map((a) => substitute(a, subst))), consts);
}
