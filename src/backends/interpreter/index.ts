// The reference interpreter backend: exact semantics of every first-order
// primitive on host TypedArrays. Slow and simple on purpose — it is the
// oracle that the wasm and webgpu backends are tested against.

import type { ShapedArray } from "../../core/aval";
import type { Backend, Executable, OpRunner } from "../../core/backend";
import { roundToFloat16, type TypedArray } from "../../core/dtype";
import { BackendError } from "../../core/errors";
import { Literal, type ClosedJaxpr, type Var } from "../../core/ir";
import { isHigherOrder, type FirstOrderPrimitive, type ParamsOf } from "../../core/primitives";
import { checkFitsLimit } from "../../core/residency";
import { HostArray } from "./host_array";
import { decompositionInterpRules } from "./rules/decompositions";
import { elementwiseInterpRules } from "./rules/elementwise";
import { indexingInterpRules } from "./rules/indexing";
import { linalgInterpRules } from "./rules/linalg";
import { structuralInterpRules } from "./rules/structural";
import type { InterpRule, InterpRuleTable } from "./rules/types";

export const interpreterRules: InterpRuleTable<FirstOrderPrimitive> = {
  ...elementwiseInterpRules,
  ...structuralInterpRules,
  ...indexingInterpRules,
  ...linalgInterpRules,
  ...decompositionInterpRules,
};

/** Run one primitive on host arrays, rounding float16 results to half precision. */
export function interpret<P extends FirstOrderPrimitive>(prim: P, params: ParamsOf<P>, inputs: HostArray[], outAvals: ShapedArray[]): HostArray[] {
  const outs = (interpreterRules[prim] as InterpRule<P>)(inputs, params, outAvals);
  return outs.map((o, i) => {
    const aval = outAvals[i];
    if (aval.dtype === "float16") o.data.forEach((v, k) => (o.data[k] = roundToFloat16(v)));
    return o.dtype === aval.dtype ? o : new HostArray(o.data, o.shape, aval.dtype);
  });
}

class InterpreterBackend implements Backend<HostArray> {
  readonly name = "interpreter";
  fromHost(data: TypedArray, aval: ShapedArray): HostArray {
    return new HostArray(data.slice(), aval.shape, aval.dtype);
  }
  readSync(buf: HostArray): TypedArray {
    return buf.data.slice();
  }
  async read(buf: HostArray): Promise<TypedArray> {
    return buf.data.slice();
  }
  free(): void {
    // Host memory is reclaimed by the JS garbage collector.
  }
  prepareOp<P extends FirstOrderPrimitive>(prim: P, params: ParamsOf<P>, _inAvals: ShapedArray[], outAvals: ShapedArray[]): OpRunner<HostArray> {
    return { run: (inputs) => interpret(prim, params, inputs, outAvals), dispose: () => {} };
  }
  /** A first-order jaxpr becomes a straight-line program over host arrays; higher-order
   * equations are left to the op-by-op path. */
  compile(closed: ClosedJaxpr, constBuffers: HostArray[]): Executable<HostArray> | null {
    const { jaxpr } = closed;
    if (jaxpr.eqns.some((e) => isHigherOrder(e.primitive))) return null;
    return {
      run: (inputs) => {
        const env = new Map<Var, HostArray>();
        jaxpr.constvars.forEach((v, i) => env.set(v, constBuffers[i]));
        jaxpr.invars.forEach((v, i) => env.set(v, inputs[i]));
        const read = (a: Var | Literal): HostArray => {
          if (a instanceof Literal) {
            const h = HostArray.zeros([], a.aval.dtype);
            h.data[0] = a.value;
            return h;
          }
          const h = env.get(a);
          if (!h) throw new BackendError("interpreter: malformed jaxpr (variable used before definition)");
          return h;
        };
        for (const e of jaxpr.eqns) {
          const prim = e.primitive as FirstOrderPrimitive;
          checkFitsLimit(prim, e.inputs.map((a) => a.aval), e.outputs.map((v) => v.aval));
          const outs = interpret(prim, e.params as ParamsOf<FirstOrderPrimitive>, e.inputs.map(read), e.outputs.map((v) => v.aval));
          e.outputs.forEach((v, i) => env.set(v, outs[i]));
        }
        return jaxpr.outvars.map(read);
      },
      describe: () => `interpreter program: ${jaxpr.eqns.length} ops, run one by one on host arrays`,
    };
  }
}

export const interpreterBackend = new InterpreterBackend();
export { HostArray } from "./host_array";
