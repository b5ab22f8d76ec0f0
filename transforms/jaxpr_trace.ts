// Tracing a function to a jaxpr: the jaxpr-building trace that makeJaxpr and
// jit push. Each primitive applied to its tracers becomes an equation;
// values from outside (concrete Arrays, outer tracers) become constvars, and
// concrete scalars become literals.

import { Array, isArray } from "../src/core/array";
import { ShapedArray } from "../src/core/aval";
import { dtypeOfScalar } from "../src/core/dtype";
import { ArgumentError } from "../src/core/errors";
import { recordSite } from "../src/core/debug";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../src/core/ir";
import type { ParamsOf, Primitive } from "../src/core/primitives";
import * as tree from "../src/core/pytree";
import { shapeRules } from "../src/core/shape_rules";
import type { ShapeRule } from "../src/core/shape_rules/types";
import { MainTrace, Trace, Tracer, fullRaise, withDynamicTrace, withMainTrace } from "../src/core/trace";

class JaxprBuilder {
  readonly eqns: JaxprEqn[] = [];
  readonly atoms = new Map<Tracer, Atom>();
  /** Outer values captured by the function, deduplicated by identity. */
  readonly consts = new Map<Tracer, JaxprTracer>();
  readonly invars: Var[] = [];
}

export class JaxprTracer extends Tracer {
  constructor(
    readonly trace: JaxprTrace,
    readonly avalValue: ShapedArray,
  ) {
    super();
  }
  get _trace(): Trace {
    return this.trace;
  }
  get aval(): ShapedArray {
    return this.avalValue;
  }
}

export class JaxprTrace extends Trace {
  get builder(): JaxprBuilder {
    return this.main.globalData as JaxprBuilder;
  }
  newArg(aval: ShapedArray): JaxprTracer {
    const t = new JaxprTracer(this, aval);
    const v = new Var(aval);
    this.builder.invars.push(v);
    this.builder.atoms.set(t, v);
    return t;
  }
  lift(x: Tracer): Tracer {
    const b = this.builder;
    const known = b.consts.get(x);
    if (known) return known;
    const t = new JaxprTracer(this, x.aval);
    if (isArray(x) && x.ndim === 0 && !x.isDisposed) {
      b.atoms.set(t, new Literal(Number(x.dataSync()[0]), x.aval));
    } else {
      b.atoms.set(t, new Var(x.aval));
    }
    b.consts.set(x, t);
    return t;
  }
  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const b = this.builder;
    const inAvals = tracers.map((t) => t.aval);
    const outAvals = (shapeRules[prim] as ShapeRule<P>)(inAvals, params);
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    const outVars = outAvals.map((a) => new Var(a));
    outs.forEach((t, i) => b.atoms.set(t, outVars[i]));
    const eqn = new JaxprEqn(prim, tracers.map((t) => this.atomOf(t)), params, outVars);
    recordSite(eqn);
    b.eqns.push(eqn);
    return outs;
  }
  atomOf(t: Tracer): Atom {
    const a = this.builder.atoms.get(t);
    if (a === undefined) throw new ArgumentError("internal: tracer of this jaxpr trace has no variable");
    return a;
  }
}

/** Turn a pytree leaf into an abstract value: numbers are weakly typed scalars. */
export function avalOfLeaf(x: tree.Leaf): ShapedArray {
  if (x instanceof Tracer) return x.aval;
  const d = dtypeOfScalar(x);
  return new ShapedArray([], d.dtype, d.weakType);
}

/** Turn a leaf into a Tracer (numbers become weakly typed scalar Arrays). */
export function leafToTracer(x: tree.Leaf): Tracer {
  if (x instanceof Tracer) return x;
  const d = dtypeOfScalar(x);
  return Array.scalar(x, d.dtype, d.weakType);
}

/**
 * Trace `f` on abstract arguments of the given avals (flat) into a closed jaxpr.
 * Captured non-literal values become consts. Returns the flat output tree too.
 */
export function traceFlatToJaxpr(f: (...args: Tracer[]) => unknown, inAvals: readonly ShapedArray[]): { jaxpr: ClosedJaxpr; outTree: tree.TreeDef } {
  return traceFlatToJaxprWithInputs((args) => f(...args), inAvals);
}

/**
 * traceFlatToJaxpr where `f` may also add inputs while it runs: `addInput`
 * appends an invar after the declared ones and returns its tracer. The eager
 * front end's compile() makes the tensors a function captures inputs this way,
 * so their current values are read at every call instead of being baked in.
 */
export function traceFlatToJaxprWithInputs(
  f: (args: Tracer[], addInput: (aval: ShapedArray) => Tracer) => unknown,
  inAvals: readonly ShapedArray[],
): { jaxpr: ClosedJaxpr; outTree: tree.TreeDef } {
  return withMainTrace(JaxprTrace, new JaxprBuilder(), (main: MainTrace) => {
    const trace = new JaxprTrace(main);
    return withDynamicTrace(main, () => {
      const args = inAvals.map((a) => trace.newArg(a));
      const out = f(args, (aval) => trace.newArg(aval));
      const [outLeaves, outTree] = tree.flatten(out, "the traced function's output");
      const outTracers = outLeaves.map((l) => fullRaise(trace, leafToTracer(l)));
      const b = trace.builder;
      const constEntries = [...b.consts.entries()].filter(([, t]) => b.atoms.get(t) instanceof Var);
      const constvars = constEntries.map(([, t]) => b.atoms.get(t) as Var);
      const jaxpr = new Jaxpr(constvars, b.invars, b.eqns, outTracers.map((t) => trace.atomOf(t)));
      return { jaxpr: new ClosedJaxpr(jaxpr, constEntries.map(([x]) => x)), outTree };
    });
  });
}

/** Move a closed jaxpr's consts into leading invars (closure conversion). */
export function hoistConsts(closed: ClosedJaxpr): { jaxpr: ClosedJaxpr; consts: Tracer[] } {
  const j = closed.jaxpr;
  if (j.constvars.length === 0) return { jaxpr: closed, consts: [] };
  return { jaxpr: new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []), consts: [...closed.consts] };
}

/** `makeJaxpr(f)(...args)`: the jaxpr of `f` at the avals of `args` (pytrees allowed). */
export function makeJaxpr<A extends unknown[]>(f: (...args: A) => unknown): (...args: A) => ClosedJaxpr {
  return (...args: A) => {
    const [leaves, inTree] = tree.flatten(args, "makeJaxpr");
    const { jaxpr } = traceFlatToJaxpr((...flat) => f(...(inTree.unflatten(flat) as A)), leaves.map(avalOfLeaf));
    return jaxpr;
  };
}
