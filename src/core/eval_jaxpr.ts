// Evaluate a jaxpr by binding its equations in order. Under an outer
// transformation this re-traces the jaxpr into that transformation, which is
// how higher-order primitives get their rules "for free" when inlined.

import { Array } from "./array";
import { ArgumentError } from "./errors";
import { Literal, type Atom, type ClosedJaxpr, type Jaxpr, type Var } from "./ir";
import { bind, type Tracer } from "./trace";

export function literalValue(l: Literal): Tracer {
  return Array.scalar(l.value, l.aval.dtype, l.aval.weakType);
}

export function evalJaxpr(jaxpr: Jaxpr, consts: readonly Tracer[], args: readonly Tracer[]): Tracer[] {
  if (consts.length !== jaxpr.constvars.length || args.length !== jaxpr.invars.length) {
    throw new ArgumentError(
      `evalJaxpr: expected ${jaxpr.constvars.length} consts and ${jaxpr.invars.length} args, got ${consts.length} and ${args.length}`,
    );
  }
  const env = new Map<Var, Tracer>();
  const read = (a: Atom): Tracer => {
    if (a instanceof Literal) return literalValue(a);
    const v = env.get(a);
    if (v === undefined) throw new ArgumentError("evalJaxpr: variable used before definition (malformed jaxpr)");
    return v;
  };
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.invars.forEach((v, i) => env.set(v, args[i]));
  for (const eqn of jaxpr.eqns) {
    const outs = bind(eqn.primitive, eqn.inputs.map(read), eqn.params);
    eqn.outputs.forEach((v, i) => env.set(v, outs[i]));
  }
  return jaxpr.outvars.map(read);
}

export function evalClosedJaxpr(closed: ClosedJaxpr, args: readonly Tracer[]): Tracer[] {
  return evalJaxpr(closed.jaxpr, closed.consts, args);
}
