// The jaxpr type checker: every variable is bound once before use, literals
// are scalars, and every equation's outputs have the types its primitive's
// shape rule computes. Errors accumulate (fp-ts Either) so one run reports
// all of them; inner jaxprs of higher-order primitives are checked too.

import * as E from "fp-ts/lib/Either";
import type { ShapedArray } from "./aval";
import { JaxprTypeError, TinyflowError } from "./errors";
import { ClosedJaxpr, Jaxpr, Literal, type Atom, type Var } from "./ir";
import type { Primitive } from "./primitives";
import { shapeRules } from "./shape_rules";
import type { ShapeRule } from "./shape_rules/types";

function innerJaxprs(params: Record<string, unknown>): Jaxpr[] {
  const out: Jaxpr[] = [];
  for (const v of Object.values(params)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item instanceof ClosedJaxpr) out.push(item.jaxpr);
      else if (item instanceof Jaxpr) out.push(item);
    }
  }
  return out;
}

/** Right(out avals) when `jaxpr` is well typed, Left(every problem found) otherwise. */
export function typecheckJaxpr(jaxpr: Jaxpr, where = "jaxpr"): E.Either<string[], ShapedArray[]> {
  const errors: string[] = [];
  const defined = new Set<Var>();
  const bindVar = (v: Var, what: string) => {
    if (defined.has(v)) errors.push(`${where}: ${what} binds a variable that is already bound`);
    defined.add(v);
  };
  const checkAtom = (a: Atom, what: string) => {
    if (a instanceof Literal) {
      if (a.aval.ndim !== 0) errors.push(`${where}: ${what} is a literal of type ${a.aval.str()}; literals must be scalars`);
    } else if (!defined.has(a)) {
      errors.push(`${where}: ${what} uses a variable of type ${a.aval.str()} that is not bound before it`);
    }
  };
  jaxpr.constvars.forEach((v) => bindVar(v, "a constvar"));
  jaxpr.invars.forEach((v) => bindVar(v, "an invar"));
  jaxpr.eqns.forEach((eqn, k) => {
    const what = `equation ${k} (${eqn.primitive})`;
    eqn.inputs.forEach((a, i) => checkAtom(a, `${what} input ${i}`));
    innerJaxprs(eqn.params as Record<string, unknown>).forEach((inner, i) => {
      const r = typecheckJaxpr(inner, `${where} > ${eqn.primitive} inner jaxpr ${i}`);
      if (E.isLeft(r)) errors.push(...r.left);
    });
    try {
      const rule = shapeRules[eqn.primitive] as ShapeRule<Primitive>;
      const expected = rule(eqn.inputs.map((a) => a.aval), eqn.params);
      if (expected.length !== eqn.outputs.length) {
        errors.push(`${where}: ${what} binds ${eqn.outputs.length} outputs but the primitive produces ${expected.length}`);
      } else {
        eqn.outputs.forEach((v, i) => {
          if (!v.aval.equals(expected[i])) {
            errors.push(`${where}: ${what} output ${i} is declared ${v.aval.str()} but the primitive produces ${expected[i].str()}`);
          }
        });
      }
    } catch (e) {
      if (!(e instanceof TinyflowError)) throw e;
      errors.push(`${where}: ${what}: ${e.message}`);
    }
    eqn.outputs.forEach((v, i) => bindVar(v, `${what} output ${i}`));
  });
  jaxpr.outvars.forEach((a, i) => checkAtom(a, `output ${i}`));
  return errors.length > 0 ? E.left(errors) : E.right(jaxpr.outAvals);
}

/** Throw a JaxprTypeError listing every problem, or return the output avals. */
export function checkJaxpr(jaxpr: Jaxpr | ClosedJaxpr): ShapedArray[] {
  const j = jaxpr instanceof ClosedJaxpr ? jaxpr.jaxpr : jaxpr;
  const r = typecheckJaxpr(j);
  if (E.isLeft(r)) throw new JaxprTypeError(`ill-typed jaxpr:\n  ${r.left.join("\n  ")}\n${String(j)}`);
  return r.right;
}
