// Shape/dtype rules of the matrix decompositions (cholesky, lu, qr, eigh,
// svd, triangular_solve). Operands are stacks [...batch, m, n] of float
// matrices; every operand of one equation has the same batch dims (the
// numpy layer broadcasts them before binding), and the outputs keep them.

import { ShapedArray } from "../aval";
import { isFloat } from "../dtype";
import { DTypeError, ShapeError } from "../errors";
import type { Decomposition } from "../primitives";
import { shapesEqual } from "../shape";
import { expectArgs, fmtAvals } from "./elementwise";
import type { ShapeRule, ShapeRuleTable } from "./types";

/** The operand as [batch, m, n], checked to be a float stack of matrices (square when asked). */
function matrixStack(prim: string, x: ShapedArray, square: boolean): { batch: number[]; m: number; n: number } {
  if (!isFloat(x.dtype)) throw new DTypeError(`${prim}: expected a float operand, got ${x.str()}`);
  if (x.ndim < 2) throw new ShapeError(`${prim}: expected a matrix or a stack of matrices (rank >= 2), got ${x.str()}`);
  const m = x.shape[x.ndim - 2];
  const n = x.shape[x.ndim - 1];
  if (square && m !== n) throw new ShapeError(`${prim}: expected square matrices in the last two axes, got ${x.str()}`);
  return { batch: x.shape.slice(0, -2), m, n };
}

const strong = (shape: number[], like: ShapedArray) => new ShapedArray(shape, like.dtype, false);

const cholesky: ShapeRule<"cholesky"> = (inAvals) => {
  expectArgs("cholesky", inAvals, 1);
  matrixStack("cholesky", inAvals[0], true);
  return [inAvals[0].strongType()];
};

const lu: ShapeRule<"lu"> = (inAvals) => {
  expectArgs("lu", inAvals, 1);
  const [x] = inAvals;
  const { batch, m, n } = matrixStack("lu", x, false);
  return [x.strongType(), new ShapedArray([...batch, Math.min(m, n)], "int32"), new ShapedArray([...batch, m], "int32")];
};

const qr: ShapeRule<"qr"> = (inAvals, { fullMatrices }) => {
  expectArgs("qr", inAvals, 1);
  const [x] = inAvals;
  const { batch, m, n } = matrixStack("qr", x, false);
  const k = fullMatrices ? m : Math.min(m, n);
  return [strong([...batch, m, k], x), strong([...batch, k, n], x)];
};

const eigh: ShapeRule<"eigh"> = (inAvals) => {
  expectArgs("eigh", inAvals, 1);
  const [x] = inAvals;
  const { batch, n } = matrixStack("eigh", x, true);
  return [strong([...batch, n, n], x), strong([...batch, n], x)];
};

const svd: ShapeRule<"svd"> = (inAvals, { fullMatrices }) => {
  expectArgs("svd", inAvals, 1);
  const [x] = inAvals;
  const { batch, m, n } = matrixStack("svd", x, false);
  const k = Math.min(m, n);
  return [strong([...batch, k], x), strong([...batch, m, fullMatrices ? m : k], x), strong([...batch, fullMatrices ? n : k, n], x)];
};

const triangularSolve: ShapeRule<"triangular_solve"> = (inAvals, { leftSide }) => {
  const prim = "triangular_solve";
  expectArgs(prim, inAvals, 2);
  const [a, b] = inAvals;
  const sa = matrixStack(prim, a, true);
  const sb = matrixStack(prim, b, false);
  if (a.dtype !== b.dtype) throw new DTypeError(`${prim}: a and b must have one dtype, got ${fmtAvals(inAvals)}`);
  if (!shapesEqual(sa.batch, sb.batch)) throw new ShapeError(`${prim}: a and b must have the same batch dims, got ${fmtAvals(inAvals)}`);
  const k = leftSide ? sb.m : sb.n;
  if (k !== sa.n) {
    throw new ShapeError(`${prim}: a of ${sa.n}×${sa.n} needs b with ${sa.n} ${leftSide ? "rows (leftSide)" : "columns (right side)"}, got ${fmtAvals(inAvals)}`);
  }
  return [b.strongType()];
};

export const decompositionShapeRules: ShapeRuleTable<Decomposition> = {
  cholesky,
  lu,
  qr,
  eigh,
  svd,
  triangular_solve: triangularSolve,
};
