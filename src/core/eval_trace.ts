// The eval trace: the bottom of the trace stack, where primitives compute.
// First-order primitives run on the backend that holds their operands;
// higher-order ones evaluate their inner jaxprs.

import { Array } from "./array";
import { getBackend, type Backend } from "./backend";
import { beginOperation } from "./residency";
import { higherOrderImpls, type HigherOrderImpl } from "./higher_order_impls";
import { isHigherOrder, type FirstOrderPrimitive, type HigherOrderPrimitive, type ParamsOf, type Primitive } from "./primitives";
import { shapeRules } from "./shape_rules";
import type { ShapeRule } from "./shape_rules/types";
import { Trace, registerEvalTrace, type Tracer } from "./trace";

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
  return outs.map((buf, i) => new Array(outAvals[i], backend, buf));
}

registerEvalTrace(EvalTrace);
