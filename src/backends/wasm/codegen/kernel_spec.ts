// The fused-kernel compiler's view of a KernelSpec: the op arities and dtype
// rules every node is checked against, and the canonical iteration space (size-1
// dims dropped, neighbours that are linear for every operand merged) that the
// code generator walks and the thread pool cuts into chunks.

import { BackendError } from "../../../core/errors";
import type { KDType, KernelSpec, ScalarOp } from "../../plan/kernel_graph";

const ARITY: Record<ScalarOp | "integer_pow", number> = {
  neg: 1, abs: 1, sign: 1, not: 1, floor: 1, ceil: 1, round: 1, nearest: 1, trunc: 1, is_finite: 1,
  exp: 1, log: 1, log1p: 1, expm1: 1, tanh: 1, logistic: 1, erf: 1, sin: 1, cos: 1, sqrt: 1, rsqrt: 1,
  convert: 1, round_f16: 1, integer_pow: 1,
  add: 2, sub: 2, mul: 2, div: 2, rem: 2, max: 2, min: 2, pow: 2, and: 2, or: 2, xor: 2,
  eq: 2, ne: 2, lt: 2, le: 2, gt: 2, ge: 2, shift_left: 2, shift_right_logical: 2,
  select: 3, clamp: 3,
};

export const MATH_FNS = new Set<string>(["exp", "log", "log1p", "expm1", "tanh", "logistic", "erf", "sin", "cos", "sqrt", "rsqrt"]);
const FLOAT_ONLY = new Set<string>([...MATH_FNS, "floor", "ceil", "round", "nearest", "trunc", "is_finite", "pow", "round_f16"]);
const INT_OR_BOOL_ONLY = new Set<string>(["and", "or", "xor", "not"]);
const INT_ONLY = new Set<string>(["rem", "shift_left", "shift_right_logical"]);
const NOT_BOOL = new Set<string>(["neg", "abs", "sign", "div"]);
const COMPARE = new Set<string>(["eq", "ne", "lt", "le", "gt", "ge"]);
const KDTYPES = new Set<string>(["float32", "int32", "uint32", "bool"]);
/** Ops whose emitted code is long: kernels using them are not unrolled. */
export const HEAVY = new Set<string>([...MATH_FNS, "pow", "div", "rem", "shift_left", "shift_right_logical"]);

export const fail = (msg: string): never => {
  throw new BackendError(`compileKernel: ${msg}`);
};

// --- validation and canonical form ---------------------------------------------------

/** dtype of every node, checking arities and operand dtypes. */
export function inferDTypes(spec: KernelSpec): KDType[] {
  const dts: KDType[] = [];
  spec.nodes.forEach((node, i) => {
    if (node.op === "input") {
      const inp = spec.inputs[node.input];
      if (!inp) fail(`node ${i} reads input ${node.input}, but there are ${spec.inputs.length} inputs`);
      dts.push(inp.dtype);
      return;
    }
    if (!KDTYPES.has(node.dtype)) fail(`node ${i} (${node.op}) has unsupported dtype ${node.dtype}`);
    if (node.op === "const") {
      if (typeof node.value !== "number") fail(`node ${i} (const) needs a numeric value`);
      dts.push(node.dtype);
      return;
    }
    const arity = ARITY[node.op];
    if (arity === undefined) fail(`node ${i}: unknown op ${JSON.stringify(node.op)}`);
    if (node.args.length !== arity) fail(`node ${i} (${node.op}) takes ${arity} argument(s), got ${node.args.length}`);
    for (const a of node.args) {
      if (!Number.isInteger(a) || a < 0 || a >= i) fail(`node ${i} (${node.op}) argument ${a} is not an earlier node`);
    }
    const adt = node.args.map((a) => dts[a]);
    const dt = node.dtype;
    const op = node.op;
    const where = `node ${i} (${op}) with operand dtype(s) ${adt.join(", ")} and result ${dt}`;
    if (op === "convert") {
      dts.push(dt);
      return;
    }
    if (op === "select") {
      if (adt[0] === "float32") fail(`${where}: the predicate must be bool or an integer`);
      if (adt[1] !== dt || adt[2] !== dt) fail(`${where}: both cases must have the result dtype`);
      dts.push(dt);
      return;
    }
    if (adt.some((d) => d !== adt[0])) fail(`${where}: operands must share a dtype`);
    const a0 = adt[0];
    if (COMPARE.has(op)) {
      if (dt !== "bool") fail(`${where}: comparisons produce bool`);
    } else if (op === "is_finite") {
      if (dt !== "bool") fail(`${where}: is_finite produces bool`);
    } else if (dt !== a0) fail(`${where}: the result dtype must equal the operands'`);
    if (FLOAT_ONLY.has(op) && a0 !== "float32") fail(`${where}: expected float32`);
    if (INT_OR_BOOL_ONLY.has(op) && a0 === "float32") fail(`${where}: expected an integer or bool dtype`);
    if (INT_ONLY.has(op) && (a0 === "float32" || a0 === "bool")) fail(`${where}: expected int32 or uint32`);
    if (NOT_BOOL.has(op) && a0 === "bool") fail(`${where}: not defined for bool`);
    if (op === "integer_pow") {
      const y = (node as { y: number }).y;
      if (!Number.isInteger(y)) fail(`${where}: y must be an integer, got ${y}`);
      if (y < 0 && a0 !== "float32") fail(`${where}: negative powers need float32`);
    }
    dts.push(dt);
  });
  return dts;
}

export interface Canon {
  shape: number[];
  /** reduced[d]: dim d is reduced. */
  reduced: boolean[];
  /** element strides per input per canonical dim */
  strides: number[][];
  empty: boolean;
  /** number of elements of each output */
  outSize: number;
}

export function canonicalize(spec: KernelSpec): Canon {
  const nd = spec.shape.length;
  for (const s of spec.shape) if (!Number.isInteger(s) || s < 0) fail(`bad shape [${spec.shape.join(",")}]`);
  spec.inputs.forEach((inp, k) => {
    if (!KDTYPES.has(inp.dtype)) fail(`input ${k} has unsupported dtype ${inp.dtype}`);
    if (inp.strides.length !== nd) {
      fail(`input ${k} has ${inp.strides.length} strides for the ${nd}-d shape [${spec.shape.join(",")}]`);
    }
    for (const s of inp.strides) if (!Number.isInteger(s)) fail(`input ${k} has a non-integer stride`);
  });
  const red = new Array<boolean>(nd).fill(false);
  if (spec.reduction) {
    for (const a of spec.reduction.axes) {
      if (!Number.isInteger(a) || a < 0 || a >= nd || red[a]) fail(`bad reduction axes [${spec.reduction.axes.join(",")}] for ${nd} dims`);
      red[a] = true;
    }
  }
  let outSize = 1;
  for (let d = 0; d < nd; d++) if (!red[d]) outSize *= spec.shape[d];
  const empty = spec.shape.some((s) => s === 0);
  // drop size-1 dims
  let dims = [...Array(nd).keys()].filter((d) => spec.shape[d] !== 1);
  const shape = dims.map((d) => spec.shape[d]);
  const reduced = dims.map((d) => red[d]);
  const strides = spec.inputs.map((inp) => dims.map((d) => inp.strides[d]));
  // merge adjacent dims that are linear for every input and agree on being reduced
  for (let d = shape.length - 2; d >= 0; d--) {
    const ok = reduced[d] === reduced[d + 1] && strides.every((s) => s[d] === s[d + 1] * shape[d + 1]);
    if (ok) {
      shape[d] *= shape[d + 1];
      shape.splice(d + 1, 1);
      reduced.splice(d + 1, 1);
      for (const s of strides) {
        s[d] = s[d + 1];
        s.splice(d + 1, 1);
      }
    }
  }
  dims = [];
  if (shape.length === 0) {
    shape.push(1);
    reduced.push(false);
    for (const s of strides) s.push(0);
  }
  return { shape, reduced, strides, empty, outSize };
}
