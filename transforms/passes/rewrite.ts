// Shared plumbing of the IR passes: rebuilding a jaxpr with some variables
// substituted, and visiting the jaxprs nested in higher-order equations.

import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../../src/core/ir";
import type { ParamsOf, Primitive } from "../../src/core/primitives";

export type Substitution = Map<Var, Atom>;

export function substitute(a: Atom, subst: Substitution): Atom {
  if (a instanceof Literal) return a;
  let cur: Atom = a;
  // Substitutions may chain (x -> y -> literal).
  for (let next = subst.get(cur); next !== undefined; next = cur instanceof Literal ? undefined : subst.get(cur)) cur = next;
  return cur;
}

/** Each variable's producing equation, and how often each is read (by equations and as an output). */
export function producersAndUseCounts(jaxpr: Jaxpr): { producers: Map<Var, JaxprEqn>; useCount: Map<Var, number> } {
  const producers = new Map<Var, JaxprEqn>();
  const useCount = new Map<Var, number>();
  for (const e of jaxpr.eqns) {
    e.outputs.forEach((v) => producers.set(v, e));
    for (const a of e.inputs) if (a instanceof Var) useCount.set(a, (useCount.get(a) ?? 0) + 1);
  }
  for (const a of jaxpr.outvars) if (a instanceof Var) useCount.set(a, (useCount.get(a) ?? 0) + 1);
  return { producers, useCount };
}

/** Apply `fn` to every jaxpr held in an equation's params (returning new params). */
export function mapInnerJaxprs<P extends Primitive>(eqn: JaxprEqn<P>, fn: (j: Jaxpr) => Jaxpr): ParamsOf<P> {
  const params = eqn.params as Record<string, unknown>;
  let changed = false;
  const mapValue = (v: unknown): unknown => {
    if (v instanceof ClosedJaxpr) {
      const inner = fn(v.jaxpr);
      if (inner === v.jaxpr) return v;
      changed = true;
      return new ClosedJaxpr(inner, v.consts);
    }
    if (v instanceof Jaxpr) {
      const inner = fn(v);
      if (inner !== v) changed = true;
      return inner;
    }
    if (Array.isArray(v) && v.some((x) => x instanceof ClosedJaxpr || x instanceof Jaxpr)) return v.map(mapValue);
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = mapValue(v);
  return (changed ? out : params) as ParamsOf<P>;
}

/** A copy of `closed` with the same consts around a new jaxpr. */
export function withJaxpr(closed: ClosedJaxpr, jaxpr: Jaxpr): ClosedJaxpr {
  return jaxpr === closed.jaxpr ? closed : new ClosedJaxpr(jaxpr, closed.consts);
}
