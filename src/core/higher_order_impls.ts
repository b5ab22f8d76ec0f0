// Concrete evaluation of the higher-order primitives (jit, control flow,
// custom derivatives, checkpoint) in terms of their inner jaxprs. The eval
// trace calls these; they bind first-order primitives, so each step runs on
// the arrays' backend.

import { evalClosedJaxpr, evalJaxpr } from "./eval_jaxpr";
import { TinyflowError, TransformError } from "./errors";
import type { HigherOrderPrimitive, ParamsOf } from "./primitives";
import { bind1, type Tracer } from "./trace";

export type HigherOrderImpl<P extends HigherOrderPrimitive> = (args: Tracer[], params: ParamsOf<P>) => Tracer[];

// A pjit runs as its compiled program, which the transforms layer (passes,
// compilation cache) provides; the core only knows where to find it.
let pjitImpl: HigherOrderImpl<"pjit"> | null = null;
/** Called once by transforms/index.ts. */
export function installPjitImpl(impl: HigherOrderImpl<"pjit">): void {
  pjitImpl = impl;
}

function sliceLeading(x: Tracer, i: number): Tracer {
  const start = x.shape.map((_, d) => (d === 0 ? i : 0));
  const limit = x.shape.map((n, d) => (d === 0 ? i + 1 : n));
  const sliced = bind1("slice", [x], { startIndices: start, limitIndices: limit, strides: null });
  return bind1("reshape", [sliced], { newSizes: x.shape.slice(1) });
}

/** Stack same-shaped values along a new leading axis (`shape` is their common shape). */
export function stackLeading(values: Tracer[], shape: readonly number[], dtype: Tracer["dtype"]): Tracer {
  if (values.length === 0) {
    const empty = bind1("iota", [], { dtype: dtype === "bool" ? "int32" : dtype, shape: [0, ...shape], dimension: 0 });
    return dtype === "bool" ? bind1("convert_element_type", [empty], { newDtype: "bool", weakType: false }) : empty;
  }
  const expanded = values.map((v) => bind1("reshape", [v], { newSizes: [1, ...shape] }));
  return expanded.length === 1 ? expanded[0] : bind1("concatenate", expanded, { dimension: 0 });
}

export const higherOrderImpls: { [P in HigherOrderPrimitive]: HigherOrderImpl<P> } = {
  pjit: (args, params) => {
    if (pjitImpl === null) throw new TinyflowError("jit is not installed; import 'tinyflow' (the transforms layer compiles jitted calls)");
    return pjitImpl(args, params);
  },
  cond: ([index, ...ops], { branches }) => {
    const i = Math.min(Math.max(Number(index.item()), 0), branches.length - 1);
    return evalClosedJaxpr(branches[i], ops);
  },
  while: (args, { condJaxpr, bodyJaxpr, condNconsts, bodyNconsts }) => {
    const condConsts = args.slice(0, condNconsts);
    const bodyConsts = args.slice(condNconsts, condNconsts + bodyNconsts);
    let carry = args.slice(condNconsts + bodyNconsts);
    while (evalJaxpr(condJaxpr.jaxpr, [...condJaxpr.consts], [...condConsts, ...carry])[0].item()) {
      carry = evalJaxpr(bodyJaxpr.jaxpr, [...bodyJaxpr.consts], [...bodyConsts, ...carry]);
    }
    return carry;
  },
  scan: (args, { jaxpr, numConsts, numCarry, length, reverse }) => {
    const consts = args.slice(0, numConsts);
    let carry = args.slice(numConsts, numConsts + numCarry);
    const xs = args.slice(numConsts + numCarry);
    const yAvals = jaxpr.outAvals.slice(numCarry);
    const ys: Tracer[][] = yAvals.map(() => []);
    for (let step = 0; step < length; step++) {
      const i = reverse ? length - 1 - step : step;
      const outs = evalClosedJaxpr(jaxpr, [...consts, ...carry, ...xs.map((x) => sliceLeading(x, i))]);
      carry = outs.slice(0, numCarry);
      outs.slice(numCarry).forEach((y, k) => ys[k].push(y));
    }
    if (reverse) ys.forEach((list) => list.reverse());
    return [...carry, ...ys.map((list, k) => stackLeading(list, yAvals[k].shape, yAvals[k].dtype))];
  },
  custom_jvp_call: (args, { call }) => evalClosedJaxpr(call, args),
  custom_vjp_call: (args, { call }) => evalClosedJaxpr(call, args),
  custom_lin: () => {
    throw new TransformError(
      "forward-mode differentiation (jvp, jacfwd) of a customVjp function is not supported: it only defines reverse mode. Use customJvp, or reverse mode (grad, vjp, jacrev)",
    );
  },
  checkpoint: (args, { jaxpr }) => evalJaxpr(jaxpr, [], args),
};
