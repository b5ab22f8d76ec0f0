// The `np` namespace: the numpy-compatible API over lax (creation,
// elementwise, reductions, shape manipulation, indexing, linear algebra with
// the `np.linalg` namespace, sequences/statistics/products, and the dtype
// constants). Loading this module installs the array method forms
// (`x.add(y)`, `x.sum(0)`, `x.slice(...)`, `x.at(i).set(v)`, ...).

import "../core/eval_trace";
import { installTracerMethods, type TracerMethods } from "../core/methods";
import * as elementwise from "./elementwise";
import * as reductions from "./reductions";
import * as shape from "./shape";
import * as indexing from "./indexing";
import * as linalg from "./linalg";

export { float32, float16, int32, uint32, bool, float64, int64, uint64, type DType } from "../core/dtype";
export { Array } from "../core/array";
export * from "./creation";
export * from "./elementwise";
export * from "./reductions";
export * from "./shape";
export { index, at, take, takeAlongAxis, segmentSum, type TakeOptions } from "./indexing";
export * from "./linalg";
export { norm } from "./np_linalg";
export * as linalg from "./np_linalg";
export { tri, tril, triu, diag, diagflat, matrixTranspose } from "./matrices";
export * from "./ufuncs_more";
export * from "./sequences";
export * from "./statistics";
export * from "./products";
export * from "./array_api_extras";
export { fromJSON, fromTransferable } from "./serialization";

const methods: TracerMethods = {
  add: elementwise.add,
  subtract: elementwise.subtract,
  multiply: elementwise.multiply,
  divide: elementwise.divide,
  power: elementwise.power,
  remainder: elementwise.remainder,
  equal: elementwise.equal,
  notEqual: elementwise.notEqual,
  less: elementwise.less,
  lessEqual: elementwise.lessEqual,
  greater: elementwise.greater,
  greaterEqual: elementwise.greaterEqual,
  maximum: elementwise.maximum,
  minimum: elementwise.minimum,
  matmul: linalg.matmul,
  dot: linalg.dot,
  negative: elementwise.negative,
  abs: elementwise.abs,
  exp: elementwise.exp,
  log: elementwise.log,
  sqrt: elementwise.sqrt,
  square: elementwise.square,
  tanh: elementwise.tanh,
  sin: elementwise.sin,
  cos: elementwise.cos,
  sum: reductions.sum,
  mean: reductions.mean,
  max: reductions.max,
  min: reductions.min,
  prod: reductions.prod,
  argmax: reductions.argmax,
  argmin: reductions.argmin,
  reshape: shape.reshape,
  transpose: shape.transpose,
  squeeze: shape.squeeze,
  expandDims: shape.expandDims,
  broadcastTo: shape.broadcastTo,
  astype: elementwise.astype,
  clip: elementwise.clip,
  index: indexing.index,
  at: indexing.at,
};

installTracerMethods(methods);
