// The eval trace: the bottom of the trace stack, where primitives compute.
// First-order primitives run on the backend that holds their operands;
// higher-order ones evaluate their inner jaxprs.

import { Array } from "./array";
import type { ShapedArray } from "./aval";
import { getBackend, type Backend } from "./backend";
import { freezeParams, lookupPreparedOp, storePreparedOp, type PreparedOp } from "./eager_op_cache";
import { beginOperationOfSize, deviceBytesOf, takeBlocksFor } from "./residency";
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

/** The operands' backend; where they differ, one that cannot move its arrays (reads only asynchronously, a GPU), else the default. */
function commonBackend(args: readonly Array[]): Backend {
  if (args.length === 0) return getBackend();
  const first = args[0].backend;
  for (let i = 1; i < args.length; i++) {
    if (args[i].backend !== first) return args.find((a) => a.backend.deferred !== undefined)?.backend ?? getBackend();
  }
  return first;
}

// Scratch for the operands' avals: the cache lookup reads them, and only a
// miss (which runs the shape rule) copies them.
const avalScratch: ShapedArray[] = [];

/**
 * Run a first-order primitive on concrete arrays. Eager code runs the same few
 * signatures over and over, so everything that depends only on the signature
 * (the shape rule, the memory check's sizes, the backend's compiled program) is
 * looked up in the eager op cache; per call there remains the limit check, one
 * buffer per operand, the run, and one Array per output.
 */
function executeFirstOrder<P extends FirstOrderPrimitive>(prim: P, args: readonly Array[], params: ParamsOf<P>): Array[] {
  const backend = commonBackend(args);
  const n = args.length;
  avalScratch.length = n;
  for (let i = 0; i < n; i++) avalScratch[i] = args[i].aval;
  const op = lookupPreparedOp(backend, prim, avalScratch, params) ?? prepare(backend, prim, avalScratch.slice(), params);
  if (prim === "reshape") {
    // `np.array(x).reshape(shape)`: the data is still on the host, so the result shares it and nothing is uploaded.
    const shared = args[0].reshapedOnHost(op.outAvals[0]);
    if (shared !== null) {
      eagerOperationListener?.(prim);
      return [shared];
    }
  }
  beginOperationOfSize(prim, backend, op.inBytes, op.outBytes);
  const bufs = new globalThis.Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const a = args[i];
    bufs[i] = a.backend === backend ? a.operandBuffer(i, n) : a.to(backend.name).operandBuffer(i, n);
  }
  eagerOperationListener?.(prim);
  // Read results of compiled calls may give their blocks to the outputs (residency.ts, "Taking read results").
  takeBlocksFor(backend, op.outAvals);
  const outs = op.runner.run(bufs);
  const outAvals = op.outAvals;
  const result = new globalThis.Array<Array>(outs.length);
  for (let i = 0; i < outs.length; i++) result[i] = new Array(outAvals[i], backend, outs[i]);
  if (floatChecksOn()) checkOutputs(`${prim}(${args.map((a) => a.aval.str()).join(", ")})`, result, currentSite());
  return result;
}

/** A cache miss: run the shape rule (which throws the typed error for bad input), prepare, remember. */
function prepare<P extends FirstOrderPrimitive>(backend: Backend, prim: P, inAvals: ShapedArray[], params: ParamsOf<P>): PreparedOp {
  const outAvals = (shapeRules[prim] as ShapeRule<P>)(inAvals, params);
  const own = freezeParams<P>(params);
  let inBytes = 0;
  let outBytes = 0;
  for (const a of inAvals) inBytes += deviceBytesOf(a);
  for (const a of outAvals) outBytes += deviceBytesOf(a);
  const op: PreparedOp = { params: own, outAvals, inBytes, outBytes, runner: backend.prepareOp(prim, own, inAvals, outAvals) };
  storePreparedOp(backend, prim, inAvals, op);
  return op;
}

let eagerOperationListener: ((prim: FirstOrderPrimitive) => void) | null = null;
/**
 * Call `listener` with the primitive of every first-order operation run eagerly
 * (op by op, outside any compiled program) until it is replaced or cleared with
 * null: how tests tell that a computation ran compiled.
 */
export function onEagerOperation(listener: ((prim: FirstOrderPrimitive) => void) | null): void {
  eagerOperationListener = listener;
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
  for (const a of args) {
    if (!isTracer(a)) {
      // Anything but a JS number or boolean is a bad operand: `fn` itself reports it, naming `where`.
      if (typeof a !== "number" && typeof a !== "boolean") return false;
      mixed = true;
      continue;
    }
    if (first === null) first = a;
    else if (a.aval !== first.aval && !a.aval.strictEquals(first.aval)) mixed = true;
  }
  // Operands of one type need no conversion or broadcast: the op runs by itself.
  return mixed && atEvalLevel(args.filter(isTracer));
}
