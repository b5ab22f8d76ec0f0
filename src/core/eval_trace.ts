// The eval trace: the bottom of the trace stack, where primitives compute.
// First-order primitives run on the backend that holds their operands;
// higher-order ones evaluate their inner jaxprs.

import { Array } from "./array";
import { getBackend, type Backend } from "./backend";
import { beginOperation } from "./residency";
import { checkOutputs, currentSite, floatChecksOn } from "./debug";
import { higherOrderImpls, type HigherOrderImpl } from "./higher_order_impls";
import { isHigherOrder, type FirstOrderPrimitive, type HigherOrderPrimitive, type ParamsOf, type Primitive } from "./primitives";
import { shapeRules } from "./shape_rules";
import type { ShapeRule } from "./shape_rules/types";
import { Trace, atEvalLevel, isTracer, registerEvalTrace, type ArrayLike, type Tracer } from "./trace";

class EvalTrace extends Trace {
  lift(x: Tracer): Tracer {
    return x;
  }
  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    if (isHigherOrder(prim)) {
      return (higherOrderImpls[prim] as HigherOrderImpl<HigherOrderPrimitive>)(tracers, params as ParamsOf<HigherOrderPrimitive>);
    }
    return executeFirstOrder(prim as FirstOrderPrimitive, tracers as Array[], params as ParamsOf<FirstOrderPrimitive>);
  }
}

function commonBackend(args: Array[]): Backend {
  if (args.length === 0) return getBackend();
  const first = args[0].backend;
  return args.every((a) => a.backend === first) ? first : getBackend();
}

function executeFirstOrder<P extends FirstOrderPrimitive>(prim: P, args: Array[], params: ParamsOf<P>): Array[] {
  const inAvals = args.map((a) => a.aval);
  const outAvals = (shapeRules[prim] as ShapeRule<P>)(inAvals, params);
  const backend = commonBackend(args);
  beginOperation(prim, backend, inAvals, outAvals);
  const bufs = args.map((a) => (a.backend === backend ? a.buffer : a.to(backend.name).buffer));
  const outs = backend.executeOp(prim, params, bufs, inAvals, outAvals);
  const arrays = outs.map((buf, i) => new Array(outAvals[i], backend, buf));
  if (floatChecksOn()) checkOutputs(`${prim}(${inAvals.map((a) => a.str()).join(", ")})`, arrays, currentSite());
  return arrays;
}

registerEvalTrace(EvalTrace);

// --- eager composites ------------------------------------------------------------
// A numpy function made of several primitives (dtype conversion, broadcasting,
// then the op) would, run eagerly, materialize each step: `x.mul(2)` on a
// million elements wrote a 4 MB broadcast of 2 that only the garbage collector
// could free. Run on concrete arrays, such a function is instead traced once per
// signature and run as one fused program (the transforms layer installs the runner).

/** Runs `fn` on concrete operands as one cached program; JS numbers become weak scalar operands. */
export type CompositeRunner = (where: string, fn: (...xs: ArrayLike[]) => Tracer, args: readonly ArrayLike[]) => Tracer;
let compositeRunner: CompositeRunner | null = null;
/** Called once by transforms/index.ts. */
export function installCompositeRunner(runner: CompositeRunner): void {
  compositeRunner = runner;
}

/**
 * Apply `fn` (a stable function of tracers; `where` names it in errors) to `args`: as one fused program when
 * the operands are concrete and `fn` would convert or broadcast them, else
 * directly (under a transformation, or when it is a single primitive anyway).
 */
export function applyComposite(where: string, fn: (...xs: ArrayLike[]) => Tracer, args: readonly ArrayLike[]): Tracer {
  if (compositeRunner !== null && needsFusing(args)) return compositeRunner(where, fn, args);
  return fn(...args);
}

function needsFusing(args: readonly ArrayLike[]): boolean {
  let first: Tracer | null = null;
  let mixed = false;
  const tracers: Tracer[] = [];
  for (const a of args) {
    if (!isTracer(a)) {
      mixed = true;
      continue;
    }
    tracers.push(a);
    if (first === null) first = a;
    else if (!a.aval.strictEquals(first.aval)) mixed = true;
  }
  return mixed && atEvalLevel(tracers);
}
