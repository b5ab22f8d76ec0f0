// Residual selection for the partial evaluation of control-flow bodies
// (jaxpr_utils.ts's partialEvalJaxpr): a residual that a few cheap elementwise
// equations compute from other residuals is recomputed by the unknown jaxpr
// instead of being saved. The jvp rules write derivatives from the primal
// output (logistic: y·(1−y), tanh: 1−y²), so a body whose tangent needs both
// y and its derivative would otherwise save both. Under a scan every saved
// residual is a stacked [length, ...] output, written by the forward loop and
// read back by the backward one; recomputed, it costs a few flops per element
// inside the backward body's fused kernels.

import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../../src/core/ir";
import type { Primitive } from "../../src/core/primitives";

/** Equations cheap enough to repeat in the unknown jaxpr: elementwise arithmetic and broadcasts of what it already has. */
const CHEAP = new Set<Primitive>(["add", "sub", "mul", "neg", "integer_pow", "broadcast_in_dim"]);
/** The most equations one residual's recomputation may take (σ(1−σ): broadcast 1, sub, mul). */
const MAX_EQNS = 4;

export interface SplitJaxprs {
  /** Inputs -> [known outputs..., residuals...]. */
  known: ClosedJaxpr;
  /** [residuals..., other inputs...] -> unknown outputs; no consts. */
  unknown: ClosedJaxpr;
  numRes: number;
}

/**
 * Moves into `unknown` each residual that at most MAX_EQNS cheap equations of
 * `known` compute from literals and residuals that stay saved; `numKnownOuts`
 * outputs of `known` come before its residuals.
 */
export function rematerializeResiduals(split: SplitJaxprs, numKnownOuts: number): SplitJaxprs {
  const { known, unknown, numRes } = split;
  const kj = known.jaxpr;
  const residuals = kj.outvars.slice(numKnownOuts);
  const definedBy = new Map<Var, JaxprEqn>();
  for (const e of kj.eqns) for (const o of e.outputs) definedBy.set(o, e);
  const positions = new Map<Var, number[]>();
  residuals.forEach((a, r) => {
    if (a instanceof Var) positions.set(a, [...(positions.get(a) ?? []), r]);
  });
  const recomputed = new Map<number, { eqns: JaxprEqn[]; leaves: Map<Var, number> }>();
  // Residuals other recomputations read: they stay saved.
  const pinned = new Set<number>();
  for (let r = 0; r < numRes; r++) {
    const root = residuals[r];
    if (pinned.has(r) || !(root instanceof Var) || !definedBy.has(root)) continue;
    const eqns: JaxprEqn[] = [];
    const leaves = new Map<Var, number>();
    const savedPosition = (v: Var): number | undefined => positions.get(v)?.find((p) => p !== r && !recomputed.has(p));
    // Collects v's defining equations in order, down to saved residuals; false where it meets anything else.
    const collect = (v: Var): boolean => {
      const saved = v === root ? undefined : savedPosition(v);
      if (saved !== undefined) {
        leaves.set(v, saved);
        return true;
      }
      const e = definedBy.get(v);
      if (e === undefined || !CHEAP.has(e.primitive)) return false;
      if (eqns.includes(e)) return true;
      if (!e.inputs.every((a) => a instanceof Literal || collect(a))) return false;
      eqns.push(e);
      return eqns.length <= MAX_EQNS;
    };
    if (!collect(root)) continue;
    recomputed.set(r, { eqns, leaves });
    for (const p of leaves.values()) pinned.add(p);
  }
  if (recomputed.size === 0) return split;

  const uj = unknown.jaxpr;
  const resInvars = uj.invars.slice(0, numRes);
  const prologue: JaxprEqn[] = [];
  for (const [r, { eqns, leaves }] of recomputed) {
    const renamed = new Map<Var, Var>();
    for (const [v, p] of leaves) renamed.set(v, resInvars[p]);
    const atom = (a: Atom): Atom => (a instanceof Var ? renamed.get(a)! : a);
    for (const e of eqns) {
      // The residual's own equation defines the unknown jaxpr's former input for it.
      const outs = e.outputs.map((o) => (o === residuals[r] ? resInvars[r] : new Var(o.aval)));
      e.outputs.forEach((o, i) => renamed.set(o, outs[i]));
      prologue.push(new JaxprEqn(e.primitive, e.inputs.map(atom), e.params, outs));
    }
  }
  const keep = (_: unknown, r: number) => !recomputed.has(r);
  return {
    known: new ClosedJaxpr(new Jaxpr(kj.constvars, kj.invars, kj.eqns, [...kj.outvars.slice(0, numKnownOuts), ...residuals.filter(keep)]), known.consts),
    unknown: new ClosedJaxpr(new Jaxpr(uj.constvars, [...resInvars.filter(keep), ...uj.invars.slice(numRes)], [...prologue, ...uj.eqns], uj.outvars), unknown.consts),
    numRes: numRes - recomputed.size,
  };
}
