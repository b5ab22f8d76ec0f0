// Jaxpr-level helpers for the control-flow rules: a higher-order primitive
// carries closed jaxprs, so its jvp / vmap / partial-eval / transpose rules
// need the same transformations applied to a jaxpr, giving a new jaxpr. Each
// helper re-traces the jaxpr (evalJaxpr) under the flat transformation
// (jvpFlat, vmapFlat, partialEvalFlat, backwardPass) inside traceFlatToJaxpr.
// Also: small surgery on jaxprs (reordering invars, adding unused ones,
// dead-code elimination) and const hoisting, so the jaxprs that end up in
// params never close over tracers.

import type { ShapedArray } from "../../src/core/aval";
import { TransformError } from "../../src/core/errors";
import { evalJaxpr } from "../../src/core/eval_jaxpr";
import { ClosedJaxpr, Jaxpr, Literal, Var, type Atom, type JaxprEqn } from "../../src/core/ir";
import type { Tracer } from "../../src/core/trace";
import { traceFlatToJaxpr } from "../jaxpr_trace";
import { rematerializeResiduals } from "./residual_remat";
import { jvpFlat } from "../jvp";
import { PartialVal, partialEvalFlat } from "../partial_eval";
import { Zero, instantiate as instantiateTangent, isDifferentiable, isZero, type Tangent } from "../tangents";
import { UndefinedPrimal, backwardPass, type LinearArg } from "../transpose";
import { BatchTracer, vmapFlat } from "../vmap";

/** A jaxpr with no consts (they were moved to leading invars) and the values of those consts. */
export interface Hoisted {
  jaxpr: ClosedJaxpr;
  consts: Tracer[];
}

function expand(flags: boolean[] | boolean, n: number): boolean[] {
  return typeof flags === "boolean" ? new Array<boolean>(n).fill(flags) : flags;
}

export function any(flags: readonly boolean[]): boolean {
  return flags.some((b) => b);
}

export function orFlags(a: readonly boolean[], b: readonly boolean[]): boolean[] {
  return a.map((x, i) => x || b[i]);
}

/** Elements of `xs` where `mask` is true (or false, with `keep = false`). */
export function pick<T>(xs: readonly T[], mask: readonly boolean[], keep = true): T[] {
  return xs.filter((_, i) => mask[i] === keep);
}

/** Move a closed jaxpr's consts to leading invars (closure conversion). */
export function hoist(closed: ClosedJaxpr): Hoisted {
  const j = closed.jaxpr;
  if (j.constvars.length === 0) return { jaxpr: closed, consts: [] };
  return { jaxpr: new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []), consts: [...closed.consts] };
}

/**
 * Hoist the consts of several branches into one shared list of leading
 * operands: branch b takes every branch's consts and uses only its own.
 */
export function hoistBranches(branches: readonly ClosedJaxpr[]): { branches: ClosedJaxpr[]; consts: Tracer[] } {
  const consts = branches.flatMap((b) => [...b.consts]);
  if (consts.length === 0) return { branches: [...branches], consts: [] };
  const out = branches.map((b, i) => {
    const lead = branches.flatMap((c, k) => (k === i ? c.jaxpr.constvars : c.jaxpr.constvars.map((v) => new Var(v.aval))));
    const j = b.jaxpr;
    return new ClosedJaxpr(new Jaxpr([], [...lead, ...j.invars], j.eqns, j.outvars), []);
  });
  return { branches: out, consts };
}

/** The same jaxpr with invars reordered: new invar k is old invar order[k]. */
export function permuteInvars(closed: ClosedJaxpr, order: readonly number[]): ClosedJaxpr {
  const j = closed.jaxpr;
  return new ClosedJaxpr(new Jaxpr(j.constvars, order.map((i) => j.invars[i]), j.eqns, j.outvars), closed.consts);
}

/** The same jaxpr with outvars reordered: new outvar k is old outvar order[k]. */
export function permuteOutvars(closed: ClosedJaxpr, order: readonly number[]): ClosedJaxpr {
  const j = closed.jaxpr;
  return new ClosedJaxpr(new Jaxpr(j.constvars, j.invars, j.eqns, order.map((i) => j.outvars[i])), closed.consts);
}

/** Insert unused invars of the given avals at position `at`. */
export function addUnusedInvars(closed: ClosedJaxpr, avals: readonly ShapedArray[], at: number): ClosedJaxpr {
  const j = closed.jaxpr;
  const ins = [...j.invars];
  ins.splice(at, 0, ...avals.map((a) => new Var(a)));
  return new ClosedJaxpr(new Jaxpr(j.constvars, ins, j.eqns, j.outvars), closed.consts);
}

/** Concatenate index ranges: ranges [[start, count], ...] -> the list of indices. */
export function ranges(...spans: [number, number][]): number[] {
  return spans.flatMap(([s, n]) => Array.from({ length: n }, (_, i) => s + i));
}

/**
 * Dead-code elimination: keep the outputs marked in `usedOutputs` and the
 * equations they need. Returns the pruned jaxpr (same invars) and which
 * invars it still reads.
 */
export function dce(jaxpr: Jaxpr, usedOutputs: readonly boolean[]): { jaxpr: Jaxpr; usedInputs: boolean[] } {
  const live = new Set<Var>();
  const outvars = jaxpr.outvars.filter((_, i) => usedOutputs[i]);
  for (const a of outvars) if (a instanceof Var) live.add(a);
  const kept: JaxprEqn[] = [];
  for (let k = jaxpr.eqns.length - 1; k >= 0; k--) {
    const e = jaxpr.eqns[k];
    if (!e.outputs.some((v) => live.has(v))) continue;
    kept.push(e);
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  kept.reverse();
  return { jaxpr: new Jaxpr(jaxpr.constvars, jaxpr.invars, kept, outvars), usedInputs: jaxpr.invars.map((v) => live.has(v)) };
}

/**
 * For each output, whether it depends (transitively) on any invar marked in
 * `from` (constvars and literals count as independent).
 */
export function dependsOn(jaxpr: Jaxpr, from: readonly boolean[]): boolean[] {
  const dep = new Set<Var>(jaxpr.invars.filter((_, i) => from[i]));
  const isDep = (a: Atom) => !(a instanceof Literal) && dep.has(a);
  for (const e of jaxpr.eqns) {
    if (e.inputs.some(isDep)) e.outputs.forEach((v) => dep.add(v));
  }
  return jaxpr.outvars.map(isDep);
}

// --- jvp -----------------------------------------------------------------------

/**
 * The jvp of a jaxpr: inputs [primals..., tangents of the nonzero inputs...],
 * outputs [primal outs..., tangents of the nonzero outputs...]. An output's
 * tangent is nonzero when the jvp makes it so, or `instantiate` asks for it
 * (then a symbolic zero is materialized). Non-float values never get tangents
 * unless instantiated.
 */
export function jvpJaxpr(closed: ClosedJaxpr, nonzeros: readonly boolean[], instantiate: boolean[] | boolean): { jaxpr: ClosedJaxpr; outNonzeros: boolean[] } {
  const inAvals = closed.inAvals;
  const n = inAvals.length;
  const inst = expand(instantiate, closed.outAvals.length);
  const nz = inAvals.map((a, i) => nonzeros[i] && isDifferentiable(a));
  const tangentAvals = pick(inAvals, nz);
  let outNonzeros: boolean[] = [];
  const { jaxpr } = traceFlatToJaxpr((...args: Tracer[]) => {
    let k = n;
    const tangents: Tangent[] = inAvals.map((a, i) => (nz[i] ? args[k++] : new Zero(a)));
    const [po, to] = jvpFlat((...xs) => evalJaxpr(closed.jaxpr, closed.consts, xs), args.slice(0, n), tangents);
    outNonzeros = to.map((t, i) => inst[i] || (!isZero(t) && isDifferentiable(po[i].aval)));
    return [...po, ...pick(to, outNonzeros).map(instantiateTangent)];
  }, [...inAvals, ...tangentAvals]);
  return { jaxpr, outNonzeros };
}

// --- vmap ----------------------------------------------------------------------

/**
 * The vmap of a jaxpr with batched inputs/outputs at axis 0: inputs marked
 * in `inBatched` get a leading axis of `axisSize`. An output is batched when
 * it depends on batched inputs or `forceOut` asks for it (then broadcast).
 */
export function vmapJaxpr(closed: ClosedJaxpr, axisSize: number, inBatched: readonly boolean[], forceOut: boolean[] | boolean): { jaxpr: ClosedJaxpr; outBatched: boolean[] } {
  const force = expand(forceOut, closed.outAvals.length);
  const inAvals = closed.inAvals.map((a, i) => (inBatched[i] ? a.withShape([axisSize, ...a.shape]) : a));
  let outBatched: boolean[] = [];
  const { jaxpr } = traceFlatToJaxpr(
    (...args: Tracer[]) =>
      vmapFlat(
        (...xs: Tracer[]) => {
          const outs = evalJaxpr(closed.jaxpr, closed.consts, xs);
          const main = xs.length > 0 ? xs[0]._trace.main : null;
          outBatched = outs.map((o, i) => force[i] || (o instanceof BatchTracer && o._trace.main === main && o.batchDim !== null));
          return outs;
        },
        axisSize,
        args,
        inBatched.map((b) => (b ? 0 : null)),
        () => outBatched.map((b) => (b ? 0 : null)),
      ),
    inAvals,
  );
  return { jaxpr, outBatched };
}

// --- partial evaluation ----------------------------------------------------------

export interface PartialEvalJaxprResult {
  /** known inputs -> [known outputs..., residuals...] */
  known: ClosedJaxpr;
  /** [residuals..., unknown inputs...] -> unknown outputs; has no consts. */
  unknown: ClosedJaxpr;
  outUnknowns: boolean[];
  numRes: number;
}

/**
 * Split a jaxpr by which inputs are unknown: the known jaxpr computes every
 * output that depends only on known inputs, plus the residuals the unknown
 * jaxpr needs (less those it recomputes cheaply from the others:
 * residual_remat.ts). Outputs marked in `instantiate` are made unknown even when
 * computable (their values travel as residuals).
 */
export function partialEvalJaxpr(closed: ClosedJaxpr, unknowns: readonly boolean[], instantiate: boolean[] | boolean): PartialEvalJaxprResult {
  const inAvals = closed.inAvals;
  const inst = expand(instantiate, closed.outAvals.length);
  let unknown: ClosedJaxpr | null = null;
  let outUnknowns: boolean[] = [];
  let numRes = 0;
  const { jaxpr: known } = traceFlatToJaxpr((...knownIns: Tracer[]) => {
    let k = 0;
    const pvals = inAvals.map((a, i) => (unknowns[i] ? PartialVal.unknown(a) : PartialVal.known(knownIns[k++])));
    const { jaxpr: uj, pvalsOut } = partialEvalFlat((...xs) => evalJaxpr(closed.jaxpr, closed.consts, xs), pvals);
    outUnknowns = pvalsOut.map((p, i) => !p.isKnown || inst[i]);
    // Known outputs that must be unknown become extra residuals, forwarded by the unknown jaxpr.
    const extra = pvalsOut.map((p, i) => p.isKnown && inst[i]);
    const extraVars = pvalsOut.map((p, i) => (extra[i] ? new Var(p.aval) : null));
    const u = uj.jaxpr;
    let next = 0;
    const outvars: Atom[] = [];
    pvalsOut.forEach((p, i) => {
      if (extra[i]) outvars.push(extraVars[i]!);
      else if (!p.isKnown) outvars.push(u.outvars[next++]);
    });
    const invars = [...u.constvars, ...extraVars.filter((v): v is Var => v !== null), ...u.invars];
    unknown = new ClosedJaxpr(new Jaxpr([], invars, u.eqns, outvars), []);
    const residuals = [...uj.consts, ...pvalsOut.filter((_, i) => extra[i]).map((p) => p.known!)];
    numRes = residuals.length;
    return [...pvalsOut.filter((_, i) => !outUnknowns[i]).map((p) => p.known!), ...residuals];
  }, pick(inAvals, unknowns as boolean[], false));
  if (unknown === null) throw new TransformError("internal: partial evaluation of a control-flow body produced no jaxpr");
  const numKnownOuts = outUnknowns.filter((u) => !u).length;
  return { ...rematerializeResiduals({ known, unknown, numRes }, numKnownOuts), outUnknowns };
}

// --- transpose -------------------------------------------------------------------

/**
 * The transpose of a jaxpr linear in the inputs marked `linear`: inputs
 * [non-linear inputs..., cotangents of every output...], outputs the
 * cotangents of the linear inputs (zeros where none flows).
 */
export function transposeJaxpr(closed: ClosedJaxpr, linear: readonly boolean[]): ClosedJaxpr {
  const inAvals = closed.inAvals;
  const outAvals = closed.outAvals;
  const res = pick(inAvals, linear as boolean[], false);
  const { jaxpr } = traceFlatToJaxpr((...args: Tracer[]) => {
    let k = 0;
    const lin: LinearArg[] = inAvals.map((a, i) => (linear[i] ? new UndefinedPrimal(a) : args[k++]));
    const cts = args.slice(res.length);
    const ctsIn = backwardPass(closed.jaxpr, closed.consts, lin, cts);
    return inAvals.flatMap((a, i) => (linear[i] ? [instantiateTangent(ctsIn[i] ?? new Zero(a))] : []));
  }, [...res, ...outAvals]);
  return jaxpr;
}
