// Batching rules of the matrix decompositions (cholesky, lu, qr, eigh, svd,
// triangular_solve): the primitives already take stacks of matrices with
// leading batch dims, so vmap moves the batch dim to the front (broadcasting
// an unbatched operand of triangular_solve) and binds once for the batch.

import type { Decomposition } from "../../src/core/primitives";
import { bind } from "../../src/core/trace";
import { batchAllAt0, type VmapRule } from "../vmap";

function leadingBatch<P extends Decomposition>(prim: P): VmapRule<P> {
  return (axisSize, args, dims, params) => {
    const outs = bind(prim, batchAllAt0(args, dims, axisSize), params);
    return [outs, outs.map(() => 0)];
  };
}

export const decompositionVmapRules: { [P in Decomposition]: VmapRule<P> } = {
  cholesky: leadingBatch("cholesky"),
  lu: leadingBatch("lu"),
  qr: leadingBatch("qr"),
  eigh: leadingBatch("eigh"),
  svd: leadingBatch("svd"),
  triangular_solve: leadingBatch("triangular_solve"),
};
