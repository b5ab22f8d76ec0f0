// The jaxprs a transformation derives from a call's body (jvp, vmap, the
// known/unknown split of partial evaluation, transpose), memoized by the
// identity of the body. A jitted function keeps one body jaxpr per signature,
// so grad(jit(f)) or vmap(jit(f)) derive (and compile) their jaxprs once and
// reuse them on every later call, as Autodidax's lru-cached jvp_jaxpr /
// partial_eval_jaxpr / transpose do.

import { isArray } from "../src/core/array";
import type { ShapedArray } from "../src/core/aval";
import { evalJaxpr } from "../src/core/eval_jaxpr";
import { ClosedJaxpr, Jaxpr } from "../src/core/ir";
import type { Tracer } from "../src/core/trace";
import { hoistConsts, traceFlatToJaxpr } from "./jaxpr_trace";
import { jvpFlat } from "./jvp";
import { PartialVal, partialEvalFlat } from "./partial_eval";
import { Zero, isZero, type Tangent } from "./tangents";
import { UndefinedPrimal, backwardPass, type LinearArg } from "./transpose";
import { vmapFlat } from "./vmap";

/** A derived jaxpr with its consts moved to leading operands. */
export interface Hoisted {
  jaxpr: ClosedJaxpr;
  consts: Tracer[];
}

const memo = new WeakMap<Jaxpr, Map<string, unknown>>();

/**
 * Derive from `body` once per `key`. Only bodies without consts are memoized
 * (their derivations can capture nothing but concrete arrays); a derivation
 * that captured a traced value belongs to one call only and is not kept.
 */
function memoized<T extends { consts: Tracer[] }>(body: Jaxpr, bodyConsts: readonly Tracer[], key: string, derive: () => T): T {
  if (bodyConsts.length > 0) return derive();
  let table = memo.get(body);
  if (!table) memo.set(body, (table = new Map()));
  const hit = table.get(key) as T | undefined;
  if (hit) return hit;
  const derived = derive();
  if (derived.consts.every(isArray)) table.set(key, derived);
  return derived;
}

const mask = (bits: readonly boolean[]) => bits.map((b) => (b ? "1" : "0")).join("");

/** The jvp of `body` as a jaxpr over [primals, nonzero tangents] -> [primal outs, nonzero tangent outs]. */
export function jvpJaxpr(body: Jaxpr, consts: readonly Tracer[], primalAvals: ShapedArray[], nonzero: boolean[]): Hoisted & { outNonzero: boolean[] } {
  return memoized(body, consts, `jvp|${mask(nonzero)}|${primalAvals.map((a) => a.key()).join(";")}`, () => {
    let outNonzero: boolean[] = [];
    const n = primalAvals.length;
    const tangentAvals = primalAvals.filter((_, i) => nonzero[i]);
    const traced = traceFlatToJaxpr((...xs) => {
      let k = n;
      const ts: Tangent[] = primalAvals.map((a, i) => (nonzero[i] ? xs[k++] : new Zero(a)));
      const [po, to] = jvpFlat((...a) => evalJaxpr(body, consts, a), xs.slice(0, n), ts);
      outNonzero = to.map((t) => !isZero(t));
      return [...po, ...(to.filter((t) => !isZero(t)) as Tracer[])];
    }, [...primalAvals, ...tangentAvals]);
    return { ...hoistConsts(traced.jaxpr), outNonzero };
  });
}

/** The vmap of `body` with its batched inputs (`batched[i]`) and every output batched at axis 0. */
export function vmapJaxpr(body: Jaxpr, consts: readonly Tracer[], axisSize: number, inAvals: ShapedArray[], batched: boolean[]): Hoisted {
  return memoized(body, consts, `vmap|${axisSize}|${mask(batched)}|${inAvals.map((a) => a.key()).join(";")}`, () => {
    const traced = traceFlatToJaxpr(
      (...xs) =>
        vmapFlat(
          (...a) => evalJaxpr(body, consts, a),
          axisSize,
          xs,
          batched.map((b) => (b ? 0 : null)),
          (n) => new globalThis.Array(n).fill(0),
        ),
      inAvals,
    );
    return hoistConsts(traced.jaxpr);
  });
}

/**
 * Autodidax's partial_eval_jaxpr: split `body` by which inputs are unknown into
 *  - known:   [knownConsts, known inputs] -> [known outputs, residuals]
 *  - unknown: [residuals, unknown inputs] -> [unknown outputs]
 * so each half can stay a call of its own.
 */
export interface SplitCall {
  known: ClosedJaxpr;
  consts: Tracer[];
  unknown: ClosedJaxpr;
  outKnown: boolean[];
  numResiduals: number;
}

export function partialEvalJaxpr(body: Jaxpr, consts: readonly Tracer[], unknownIns: boolean[]): SplitCall {
  return memoized(body, consts, `pe|${mask(unknownIns)}`, () => {
    let outKnown: boolean[] = [];
    let unknownPart: ClosedJaxpr | null = null;
    const knownAvals = body.invars.filter((_, i) => !unknownIns[i]).map((v) => v.aval);
    const traced = traceFlatToJaxpr((...knownIns) => {
      let k = 0;
      const pvals = body.invars.map((v, i) => (unknownIns[i] ? PartialVal.unknown(v.aval) : PartialVal.known(knownIns[k++])));
      const { jaxpr, pvalsOut } = partialEvalFlat((...xs) => evalJaxpr(body, consts, xs), pvals);
      outKnown = pvalsOut.map((p) => p.isKnown);
      unknownPart = jaxpr;
      return [...pvalsOut.filter((p) => p.isKnown).map((p) => p.known!), ...jaxpr.consts];
    }, knownAvals);
    const staged = (unknownPart as ClosedJaxpr | null)!;
    const s = staged.jaxpr;
    // The residuals, consts of the staged jaxpr, become its leading inputs.
    const unknown = new ClosedJaxpr(new Jaxpr([], [...s.constvars, ...s.invars], s.eqns, s.outvars), []);
    const { jaxpr: known, consts: knownConsts } = hoistConsts(traced.jaxpr);
    return { known, consts: knownConsts, unknown, outKnown, numResiduals: s.constvars.length };
  });
}

/**
 * The transpose of `body` in its `linear` inputs, as a jaxpr over
 * [non-linear inputs, nonzero output cotangents] -> [nonzero input cotangents].
 */
export function transposeJaxpr(body: Jaxpr, consts: readonly Tracer[], linear: boolean[], ctNonzero: boolean[]): Hoisted & { ctInNonzero: boolean[] } {
  return memoized(body, consts, `transpose|${mask(linear)}|${mask(ctNonzero)}`, () => {
    let ctInNonzero: boolean[] = [];
    const nonlinearAvals = body.invars.filter((_, i) => !linear[i]).map((v) => v.aval);
    const outAvals = body.outvars.map((a) => a.aval);
    const ctAvals = outAvals.filter((_, i) => ctNonzero[i]);
    const traced = traceFlatToJaxpr((...xs) => {
      let k = 0;
      const args: LinearArg[] = body.invars.map((v, i) => (linear[i] ? new UndefinedPrimal(v.aval) : xs[k++]));
      const cts: Tangent[] = outAvals.map((a, i) => (ctNonzero[i] ? xs[k++] : new Zero(a)));
      const ctsIn = backwardPass(body, consts, args, cts).filter((_, i) => linear[i]) as Tangent[];
      ctInNonzero = ctsIn.map((c) => !isZero(c));
      return ctsIn.filter((c) => !isZero(c)) as Tracer[];
    }, [...nonlinearAvals, ...ctAvals]);
    return { ...hoistConsts(traced.jaxpr), ctInNonzero };
  });
}
