// Transposition of linear jaxprs: the backward pass of reverse mode. Given a
// jaxpr that is linear in some inputs and cotangents for its outputs, walk the
// equations in reverse, applying each primitive's transpose rule
// (installed by transforms/index.ts) to push cotangents back to the linear inputs.

import type { ShapedArray } from "../src/core/aval";
import { TransformError } from "../src/core/errors";
import { Literal, type Atom, type Jaxpr, type Var } from "../src/core/ir";
import type { ParamsOf, Primitive } from "../src/core/primitives";
import { bind, type Tracer } from "../src/core/trace";
import { literalValue } from "../src/core/eval_jaxpr";
import { Zero, addTangents, isZero, type Tangent } from "./tangents";

/** Stands for a linear input of the jaxpr being transposed: its value is never known. */
export class UndefinedPrimal {
  constructor(readonly aval: ShapedArray) {}
}

export function isUndefined(x: unknown): x is UndefinedPrimal {
  return x instanceof UndefinedPrimal;
}

export type LinearArg = Tracer | UndefinedPrimal;

/** Cotangents of the outputs -> cotangents of the inputs; null for inputs that are not linear. */
export type TransposeRule<P extends Primitive> = (cts: Tangent[], args: LinearArg[], params: ParamsOf<P>) => (Tangent | null)[];
/** A primitive that is not linear in any input has `null`: reverse mode through it is an error. */
export type TransposeRuleTable = { [P in Primitive]: TransposeRule<P> | null };

let transposeRules: TransposeRuleTable | null = null;
/** Called once by transforms/index.ts with the complete, exhaustively typed table. */
export function installTransposeRules(table: TransposeRuleTable): void {
  transposeRules = table;
}

/**
 * Transpose `jaxpr` with respect to the inputs marked UndefinedPrimal in `args`.
 * Returns one cotangent per input (Zero where none reached it; null for non-linear inputs).
 */
export function backwardPass(jaxpr: Jaxpr, consts: readonly Tracer[], args: readonly LinearArg[], cts: readonly Tangent[]): (Tangent | null)[] {
  const primalEnv = new Map<Var, Tracer>();
  const linearVars = new Set<Var>();
  const readPrimal = (a: Atom): LinearArg => {
    if (a instanceof Literal) return literalValue(a);
    if (linearVars.has(a)) return new UndefinedPrimal(a.aval);
    const v = primalEnv.get(a);
    if (v === undefined) throw new TransformError("transpose: internal error, a non-linear value was not computed");
    return v;
  };
  jaxpr.constvars.forEach((v, i) => primalEnv.set(v, consts[i]));
  jaxpr.invars.forEach((v, i) => {
    const a = args[i];
    if (isUndefined(a)) linearVars.add(v);
    else primalEnv.set(v, a);
  });

  // Forward: evaluate the equations that do not touch linear inputs (e.g. a
  // checkpointed primal recomputation); the rest are linear and transposed below.
  const linearEqns = [];
  for (const eqn of jaxpr.eqns) {
    const isLinear = eqn.inputs.some((a) => !(a instanceof Literal) && linearVars.has(a));
    if (isLinear) {
      eqn.outputs.forEach((v) => linearVars.add(v));
      linearEqns.push(eqn);
    } else {
      const outs = bind(eqn.primitive, eqn.inputs.map((a) => readPrimal(a) as Tracer), eqn.params);
      eqn.outputs.forEach((v, i) => primalEnv.set(v, outs[i]));
    }
  }

  const ctEnv = new Map<Var, Tangent>();
  const addCt = (v: Var, ct: Tangent) => {
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev === undefined ? ct : addTangents(prev, ct));
  };
  jaxpr.outvars.forEach((a, i) => {
    if (!(a instanceof Literal) && linearVars.has(a)) addCt(a, cts[i]);
  });

  for (let k = linearEqns.length - 1; k >= 0; k--) {
    const eqn = linearEqns[k];
    const ctsOut = eqn.outputs.map((v) => ctEnv.get(v) ?? new Zero(v.aval));
    eqn.outputs.forEach((v) => ctEnv.delete(v));
    if (ctsOut.every(isZero)) continue;
    const rule = transposeRules![eqn.primitive] as TransposeRule<Primitive> | null;
    if (rule === null) {
      throw new TransformError(
        `reverse-mode differentiation is not supported through '${eqn.primitive}': it is not linear in its inputs here` +
          (eqn.primitive === "while" ? "; whileLoop has no transpose — use lax.scan or lax.foriLoop with static bounds for reverse mode" : ""),
      );
    }
    const ctsIn = rule(ctsOut, eqn.inputs.map(readPrimal), eqn.params);
    eqn.inputs.forEach((a, i) => {
      const ct = ctsIn[i];
      if (ct === null || a instanceof Literal || !linearVars.has(a)) return;
      addCt(a, ct);
    });
  }
  return jaxpr.invars.map((v, i) => (isUndefined(args[i]) ? ctEnv.get(v) ?? new Zero(v.aval) : null));
}
