// Shape rules of the higher-order primitives: their outputs are those of the
// jaxprs they carry, once the operands are checked against those jaxprs.

import type { ShapedArray } from "../aval";
import { ArgumentError, DTypeError, ShapeError } from "../errors";
import type { HigherOrderPrimitive } from "../primitives";
import type { ShapeRuleTable } from "./types";

function checkOperands(prim: string, what: string, got: readonly ShapedArray[], expected: readonly ShapedArray[]): void {
  if (got.length !== expected.length) {
    throw new ArgumentError(`${prim}: ${what} takes ${expected.length} operands, got ${got.length}`);
  }
  got.forEach((a, i) => {
    if (!a.equals(expected[i])) {
      throw new ShapeError(`${prim}: ${what} operand ${i} is ${a.str()} but the jaxpr expects ${expected[i].str()}`);
    }
  });
}

function avalsStr(avals: readonly ShapedArray[]): string {
  return `(${avals.map((a) => a.str()).join(", ")})`;
}

export const higherOrderShapeRules: ShapeRuleTable<HigherOrderPrimitive> = {
  pjit: (ins, { jaxpr }) => {
    checkOperands("pjit", "the jitted function", ins, jaxpr.inAvals);
    return jaxpr.outAvals;
  },
  cond: ([index, ...ops], { branches }) => {
    if (index === undefined) throw new ArgumentError("cond: missing the branch index operand");
    if (index.ndim !== 0 || (index.dtype !== "int32" && index.dtype !== "bool")) {
      throw new DTypeError(`cond: the branch index must be an int32 or bool scalar, got ${index.str()}`);
    }
    if (branches.length === 0) throw new ArgumentError("cond: needs at least one branch");
    const out = branches[0].outAvals;
    branches.forEach((b, i) => {
      checkOperands("cond", `branch ${i}`, ops, b.inAvals);
      const bo = b.outAvals;
      if (bo.length !== out.length || bo.some((a, k) => !a.equals(out[k]))) {
        throw new ShapeError(`cond: branches must return the same types; branch 0 returns ${avalsStr(out)}, branch ${i} returns ${avalsStr(bo)}`);
      }
    });
    return out;
  },
  while: (ins, { condJaxpr, bodyJaxpr, condNconsts, bodyNconsts }) => {
    const carry = ins.slice(condNconsts + bodyNconsts);
    checkOperands("while", "cond_fun", [...ins.slice(0, condNconsts), ...carry], condJaxpr.inAvals);
    checkOperands("while", "body_fun", ins.slice(condNconsts), bodyJaxpr.inAvals);
    const c = condJaxpr.outAvals;
    if (c.length !== 1 || c[0].dtype !== "bool" || c[0].ndim !== 0) {
      throw new DTypeError(`while: cond_fun must return a bool scalar, got ${avalsStr(c)}`);
    }
    const bo = bodyJaxpr.outAvals;
    if (bo.length !== carry.length || bo.some((a, i) => !a.equals(carry[i]))) {
      throw new ShapeError(`while: body_fun must return the carry type ${avalsStr(carry)}, got ${avalsStr(bo)}`);
    }
    return carry.map((a) => a.strongType());
  },
  scan: (ins, { jaxpr, numConsts, numCarry, length }) => {
    const consts = ins.slice(0, numConsts);
    const carry = ins.slice(numConsts, numConsts + numCarry);
    const xs = ins.slice(numConsts + numCarry);
    xs.forEach((x, i) => {
      if (x.ndim === 0 || x.shape[0] !== length) {
        throw new ShapeError(`scan: xs operand ${i} is ${x.str()} but must have a leading axis of the scan length ${length}`);
      }
    });
    checkOperands("scan", "the scanned function", [...consts, ...carry, ...xs.map((x) => x.withShape(x.shape.slice(1)))], jaxpr.inAvals);
    const outs = jaxpr.outAvals;
    const carryOut = outs.slice(0, numCarry);
    if (carryOut.some((a, i) => !a.equals(carry[i]))) {
      throw new ShapeError(`scan: the function must return a carry of type ${avalsStr(carry)}, got ${avalsStr(carryOut)}`);
    }
    return [...carry.map((a) => a.strongType()), ...outs.slice(numCarry).map((y) => y.withShape([length, ...y.shape]))];
  },
  custom_jvp_call: (ins, { call }) => {
    checkOperands("custom_jvp_call", "the function", ins, call.inAvals);
    return call.outAvals;
  },
  custom_vjp_call: (ins, { call }) => {
    checkOperands("custom_vjp_call", "the function", ins, call.inAvals);
    return call.outAvals;
  },
  custom_lin: (_ins, { outAvals }) => outAvals,
  checkpoint: (ins, { jaxpr }) => {
    checkOperands("checkpoint", "the function", ins, jaxpr.inAvals);
    return jaxpr.outAvals;
  },
};
