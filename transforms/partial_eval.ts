// Partial evaluation: run a function on partly known inputs. Primitives
// whose inputs are all known are computed now (at the level below); the rest
// are staged into a jaxpr of the unknown part, with the known values it
// needs (residuals) as its consts. linearize = jvp + partial evaluation.

import type { ShapedArray } from "../src/core/aval";
import { TinyflowError } from "../src/core/errors";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../src/core/ir";
import { isHigherOrder, type HigherOrderPrimitive, type ParamsOf, type Primitive } from "../src/core/primitives";
import { shapeRules } from "../src/core/shape_rules";
import type { ShapeRule } from "../src/core/shape_rules/types";
import { MainTrace, Trace, Tracer, bind, fullRaise, withMainTrace } from "../src/core/trace";
import { isArray } from "../src/core/array";

/** A value that is either known now (`known` is a lower-level tracer) or only known by type. */
export class PartialVal {
  private constructor(
    readonly aval: ShapedArray,
    readonly known: Tracer | null,
  ) {}
  static known(x: Tracer): PartialVal {
    return new PartialVal(x.aval, x);
  }
  static unknown(aval: ShapedArray): PartialVal {
    return new PartialVal(aval, null);
  }
  get isKnown(): boolean {
    return this.known !== null;
  }
}

type Recipe =
  | { kind: "input" }
  | { kind: "const"; value: Tracer }
  | { kind: "eqn"; eqn: EqnRecipe };

interface EqnRecipe {
  prim: Primitive;
  inputs: PartialEvalTracer[];
  params: unknown;
  outAvals: ShapedArray[];
  outputs: WeakRef<PartialEvalTracer>[];
}

export class PartialEvalTracer extends Tracer {
  constructor(
    readonly trace: PartialEvalTrace,
    readonly pval: PartialVal,
    readonly recipe: Recipe | null,
  ) {
    super();
  }
  get _trace(): Trace {
    return this.trace;
  }
  get aval(): ShapedArray {
    return this.pval.aval;
  }
  override concreteValue(): Tracer | null {
    return this.pval.known === null ? null : this.pval.known.concreteValue();
  }
  /** The known value, or an error if this value depends on unknown inputs. */
  knownValue(): Tracer {
    if (this.pval.known === null) throw new TinyflowError("internal: partial evaluation needs a known value here");
    return this.pval.known;
  }
}

export type PartialEvalRule<P extends HigherOrderPrimitive> = (trace: PartialEvalTrace, tracers: PartialEvalTracer[], params: ParamsOf<P>) => Tracer[];
export type PartialEvalRuleTable = { [P in HigherOrderPrimitive]: PartialEvalRule<P> };

let partialEvalRules: PartialEvalRuleTable | null = null;
/** Called once by transforms/index.ts with the complete, exhaustively typed table. */
export function installPartialEvalRules(table: PartialEvalRuleTable): void {
  partialEvalRules = table;
}

export class PartialEvalTrace extends Trace {
  newArg(pval: PartialVal): PartialEvalTracer {
    return pval.isKnown ? new PartialEvalTracer(this, pval, null) : new PartialEvalTracer(this, pval, { kind: "input" });
  }
  lift(x: Tracer): Tracer {
    return new PartialEvalTracer(this, PartialVal.known(x), null);
  }
  /** A known tracer made usable as an unknown one (it becomes a const of the staged jaxpr). */
  instantiateConst(t: PartialEvalTracer): PartialEvalTracer {
    if (!t.pval.isKnown) return t;
    return new PartialEvalTracer(this, PartialVal.unknown(t.aval), { kind: "const", value: t.pval.known! });
  }
  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const pts = tracers as PartialEvalTracer[];
    if (pts.every((t) => t.pval.isKnown)) {
      return bind(prim, pts.map((t) => t.knownValue()), params).map((v) => this.lift(v));
    }
    if (isHigherOrder(prim)) {
      const rule = partialEvalRules![prim] as PartialEvalRule<HigherOrderPrimitive>;
      return rule(this, pts, params as ParamsOf<HigherOrderPrimitive>);
    }
    return this.stage(prim, pts, params);
  }
  /** Stage an equation into the unknown jaxpr; its outputs are unknown. */
  stage<P extends Primitive>(prim: P, tracers: PartialEvalTracer[], params: ParamsOf<P>, outAvals?: ShapedArray[]): PartialEvalTracer[] {
    const inputs = tracers.map((t) => this.instantiateConst(t));
    const avals = outAvals ?? (shapeRules[prim] as ShapeRule<P>)(inputs.map((t) => t.aval), params);
    const eqn: EqnRecipe = { prim, inputs, params, outAvals: avals, outputs: [] };
    const outs = avals.map((a) => new PartialEvalTracer(this, PartialVal.unknown(a), { kind: "eqn", eqn }));
    eqn.outputs = outs.map((o) => new WeakRef(o));
    return outs;
  }
}

/** Build the jaxpr of the unknown part from the tracers that reach the outputs. */
function tracersToJaxpr(inputs: PartialEvalTracer[], outputs: PartialEvalTracer[]): ClosedJaxpr {
  const vars = new Map<PartialEvalTracer, Var>();
  const constvars: Var[] = [];
  const constvals: Tracer[] = [];
  const literals = new Map<PartialEvalTracer, Literal>();
  const invars = inputs.map((t) => {
    const v = new Var(t.aval);
    vars.set(t, v);
    return v;
  });
  const eqns: JaxprEqn[] = [];
  const done = new Set<EqnRecipe>();
  const atomOf = (t: PartialEvalTracer): Atom => {
    const v = vars.get(t) ?? literals.get(t);
    if (v) return v;
    const r = t.recipe;
    if (r === null) throw new TinyflowError("internal: known tracer reached the staged jaxpr without being instantiated");
    if (r.kind === "input") throw new TinyflowError("internal: an unknown input of partial evaluation was not declared");
    if (r.kind === "const") {
      const value = r.value;
      if (isArray(value) && value.ndim === 0) {
        const l = new Literal(Number(value.dataSync()[0]), value.aval);
        literals.set(t, l);
        return l;
      }
      const cv = new Var(t.aval);
      constvars.push(cv);
      constvals.push(value);
      vars.set(t, cv);
      return cv;
    }
    emit(r.eqn);
    return vars.get(t)!;
  };
  const emit = (e: EqnRecipe) => {
    if (done.has(e)) return;
    done.add(e);
    const ins = e.inputs.map(atomOf);
    const outVars = e.outAvals.map((a) => new Var(a));
    e.outputs.forEach((ref, i) => {
      const o = ref.deref();
      if (o) vars.set(o, outVars[i]);
    });
    eqns.push(new JaxprEqn(e.prim, ins, e.params as ParamsOf<Primitive>, outVars));
  };
  const outAtoms = outputs.map(atomOf);
  return new ClosedJaxpr(new Jaxpr(constvars, invars, eqns, outAtoms), constvals);
}

/**
 * Partially evaluate a flat function. Returns the jaxpr of the unknown part
 * (inputs: the unknown inputs, in order; consts: residuals) and, for each
 * output, a PartialVal (known outputs are computed).
 */
export function partialEvalFlat(f: (...args: Tracer[]) => Tracer[], pvalsIn: PartialVal[]): { jaxpr: ClosedJaxpr; pvalsOut: PartialVal[] } {
  return withMainTrace(PartialEvalTrace, null, (main: MainTrace) => {
    const trace = new PartialEvalTrace(main);
    const ins = pvalsIn.map((p) => trace.newArg(p));
    const outs = f(...ins).map((o) => fullRaise(trace, o) as PartialEvalTracer);
    const pvalsOut = outs.map((o) => o.pval);
    const unknownOuts = outs.filter((o) => !o.pval.isKnown);
    const jaxpr = tracersToJaxpr(
      ins.filter((t) => !t.pval.isKnown),
      unknownOuts,
    );
    return { jaxpr, pvalsOut };
  });
}
