// Forward mode: the JVP trace carries (primal, tangent) pairs through every
// primitive using the rule table installed by transforms/index.ts. `jvp(f, primals, tangents)`
// is the user entry point; linearize and grad build on it.

import type { ShapedArray } from "../src/core/aval";
import { ArgumentError, ShapeError } from "../src/core/errors";
import type { ParamsOf, Primitive } from "../src/core/primitives";
import { checkOptions, opt, type OptionRules } from "../src/core/options";
import * as tree from "../src/core/pytree";
import { MainTrace, Trace, Tracer, bind, fullRaise, withMainTrace } from "../src/core/trace";
import { leafToTracer } from "./jaxpr_trace";
import { Zero, instantiate, isDifferentiable, isZero, type Tangent } from "./tangents";

export type JvpRule<P extends Primitive> = (primals: Tracer[], tangents: Tangent[], params: ParamsOf<P>) => [Tracer[], Tangent[]];
export type JvpRuleTable = { [P in Primitive]: JvpRule<P> };

let jvpRules: JvpRuleTable | null = null;
/** Called once by transforms/index.ts with the complete, exhaustively typed table. */
export function installJvpRules(table: JvpRuleTable): void {
  jvpRules = table;
}

export class JVPTracer extends Tracer {
  constructor(
    readonly trace: JVPTrace,
    readonly primal: Tracer,
    readonly tangent: Tangent,
  ) {
    super();
  }
  get _trace(): Trace {
    return this.trace;
  }
  get aval(): ShapedArray {
    return this.primal.aval;
  }
  /** grad/jvp of an eager function: the primal is concrete, so JS control flow on it works (as in JAX). */
  override concreteValue(): Tracer | null {
    return this.primal.concreteValue();
  }
}

export class JVPTrace extends Trace {
  lift(x: Tracer): Tracer {
    return new JVPTracer(this, x, new Zero(x.aval));
  }
  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const jts = tracers as JVPTracer[];
    const primals = jts.map((t) => t.primal);
    const tangents = jts.map((t) => t.tangent);
    if (tangents.every(isZero)) {
      // A JVP is linear in the tangents: all-zero in, all-zero out.
      const outs = bind(prim, primals, params);
      return outs.map((p) => new JVPTracer(this, p, new Zero(p.aval)));
    }
    const rule = jvpRules![prim] as JvpRule<P>;
    const [primalsOut, tangentsOut] = rule(primals, tangents, params);
    return primalsOut.map((p, i) => new JVPTracer(this, p, tangentsOut[i]));
  }
}

/** Flat jvp: primals and tangents are lists of tracers (tangents may be Zero). */
export function jvpFlat(f: (...args: Tracer[]) => Tracer[], primals: Tracer[], tangents: Tangent[]): [Tracer[], Tangent[]] {
  return withMainTrace(JVPTrace, null, (main: MainTrace) => {
    const trace = new JVPTrace(main);
    const ins = primals.map((p, i) => new JVPTracer(trace, p, isDifferentiable(p.aval) ? tangents[i] : new Zero(p.aval)));
    const outs = f(...ins).map((o) => fullRaise(trace, o) as JVPTracer);
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)];
  });
}

/** Check that a tangent tree matches its primal tree leaf by leaf. */
export function checkTangentsMatch(where: string, primals: unknown, tangents: unknown): void {
  const [pl, pd] = tree.flatten(primals, where);
  const [tl, td] = tree.flatten(tangents, where);
  if (!pd.equals(td)) throw new ArgumentError(`${where}: tangents have structure ${td} but primals have ${pd}`);
  const paths = tree.leafPaths(primals);
  pl.forEach((p, i) => {
    const pa = leafToTracer(p).aval;
    const ta = leafToTracer(tl[i]).aval;
    if (pa.shape.join() !== ta.shape.join() || (isDifferentiable(pa) && pa.dtype !== ta.dtype)) {
      throw new ShapeError(`${where}: tangent for primal ${paths[i]} is ${ta.str()} but the primal is ${pa.str()}; they must match`);
    }
  });
}

export interface JvpOptions {
  /** f returns a pair [output, aux]; aux is returned as is, with no tangent. */
  hasAux?: boolean;
}
const jvpOptionRules: OptionRules<JvpOptions> = { hasAux: opt.boolean };

/**
 * `jvp(f, primals, tangents)` -> [f(...primals), J·tangents], over pytrees.
 * With `{ hasAux: true }`, f returns [output, aux] and the result is [output, tangent, aux].
 */
export function jvp<T, A>(f: (...args: any[]) => [T, A], primals: readonly unknown[], tangents: readonly unknown[], opts: { hasAux: true }): [T, T, A];
export function jvp<T>(f: (...args: any[]) => T, primals: readonly unknown[], tangents: readonly unknown[], opts?: JvpOptions): [T, T];
export function jvp(f: (...args: any[]) => unknown, primals: readonly unknown[], tangents: readonly unknown[], opts: JvpOptions = {}): unknown[] {
  checkOptions("jvp", opts, jvpOptionRules);
  const hasAux = opts.hasAux ?? false;
  if (typeof f !== "function") throw new ArgumentError(`jvp: the first argument must be the function to differentiate, got ${typeof f}`);
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new ArgumentError("jvp: primals and tangents must be arrays (lists) of arguments, e.g. jvp(f, [x], [v])");
  }
  if (primals.length !== tangents.length) {
    throw new ArgumentError(`jvp: got ${primals.length} primals but ${tangents.length} tangents`);
  }
  checkTangentsMatch("jvp", primals, tangents);
  const [pl, inTree] = tree.flatten(primals, "jvp");
  const [tl] = tree.flatten(tangents, "jvp");
  let outTree: tree.TreeDef | null = null;
  let auxTree: tree.TreeDef | null = null;
  let numOut = 0;
  const flatF = (...args: Tracer[]): Tracer[] => {
    const res = f(...(inTree.unflatten(args) as unknown[]));
    if (hasAux && (!Array.isArray(res) || res.length !== 2)) throw new ArgumentError("jvp: with hasAux the function must return a pair [output, aux]");
    const [out, aux] = hasAux ? (res as [unknown, unknown]) : [res, null];
    const [ol, od] = tree.flatten(out, "jvp: the function's output");
    const [al, ad] = tree.flatten(aux, "jvp: aux");
    outTree = od;
    auxTree = ad;
    numOut = ol.length;
    return [...ol, ...(hasAux ? al : [])].map(leafToTracer);
  };
  const [po, to] = jvpFlat(flatF, pl.map(leafToTracer), tl.map(leafToTracer));
  const primalOut = outTree!.unflatten(po.slice(0, numOut));
  const tangentOut = outTree!.unflatten(to.slice(0, numOut).map(instantiate));
  return hasAux ? [primalOut, tangentOut, auxTree!.unflatten(po.slice(numOut))] : [primalOut, tangentOut];
}
