// Matrix construction and triangle masks (numpy's tri, tril, triu, diag,
// diagflat, matrix_transpose): masks are static constants multiplied in, so
// every function is linear in its input and differentiates and batches
// through the ordinary elementwise rules.

import { Array } from "../core/array";
import { checkDType, type DType } from "../core/dtype";
import { ArgumentError, ShapeError, asCalledFrom } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import type { ArrayLike, Tracer } from "../core/trace";
import { asTracer } from "./promote";
import { astype, multiply, where } from "./elementwise";
import { diagonal } from "./linalg";
import { expandDims, pad, ravel, reshape, swapaxes } from "./shape";

function checkOffset(where: string, k: number): void {
  if (!Number.isInteger(k)) throw new ArgumentError(`${where}: the diagonal offset k must be an integer, got ${k}`);
}

function checkSize(where: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`${where}: ${name} must be a non-negative integer, got ${n}`);
}

/** The boolean [n, m] mask of j <= i + k, built on the host (a constant). */
function lowerMask(n: number, m: number, k: number): Tracer {
  const data = new Uint8Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m && j <= i + k; j++) data[i * m + j] = 1;
  return Array.fromTyped(data, [n, m], "bool");
}

/** An [n, m] array with ones at and below the k-th diagonal (j <= i + k), zeros elsewhere. */
export function tri(n: number, m?: number | null, k = 0, opts: { dtype?: DType } = {}): Tracer {
  checkOptions("np.tri", opts, { dtype: opt.dtype });
  checkSize("tri", "n", n);
  const cols = m ?? n;
  checkSize("tri", "m", cols);
  checkOffset("tri", k);
  return astype(lowerMask(n, cols, k), checkDType(opts.dtype ?? "float32", "tri"));
}

function triangle(fn: string, x: ArrayLike, k: number, lower: boolean): Tracer {
  const t = asTracer(fn, x);
  if (t.ndim < 2) throw new ShapeError(`${fn}: needs an array of at least 2 dimensions (a stack of matrices), got ${t.aval.str()}`);
  checkOffset(fn, k);
  const [n, m] = t.shape.slice(-2);
  // tril keeps j <= i + k; triu keeps j >= i + k, the complement of j <= i + k - 1.
  const mask = lowerMask(n, m, lower ? k : k - 1);
  const zero = Array.scalar(0, t.dtype);
  return lower ? where(mask, t, zero) : where(mask, zero, t);
}

/** The lower triangle of the last two axes: entries above the k-th diagonal are zeroed. */
export function tril(x: ArrayLike, k = 0): Tracer {
  return triangle("tril", x, k, true);
}

/** The upper triangle of the last two axes: entries below the k-th diagonal are zeroed. */
export function triu(x: ArrayLike, k = 0): Tracer {
  return triangle("triu", x, k, false);
}

/**
 * numpy diag: a 1-D input becomes a square matrix with it on the k-th
 * diagonal; a 2-D input gives its k-th diagonal.
 */
export function diag(v: ArrayLike, k = 0): Tracer {
  const t = asTracer("diag", v);
  checkOffset("diag", k);
  if (t.ndim === 2) return diagonal(t, k);
  if (t.ndim !== 1) throw new ShapeError(`diag: input must be 1-D (to build a matrix) or 2-D (to read a diagonal), got ${t.aval.str()}`);
  const len = t.shape[0];
  const n = len + Math.abs(k);
  // Row i of the result holds v[i - r0] on the diagonal, r0 = max(0, -k).
  const r0 = Math.max(0, -k);
  const rows = pad(t, [[r0, n - len - r0]]);
  const mask = Array.fromTyped(
    Uint8Array.from({ length: n * n }, (_, idx) => (idx % n) - Math.floor(idx / n) === k ? 1 : 0),
    [n, n],
    "bool",
  );
  return multiply(astype(mask, t.dtype), expandDims(rows, 1));
}

/** A 2-D matrix with the flattened input on the k-th diagonal. */
export function diagflat(v: ArrayLike, k = 0): Tracer {
  return asCalledFrom("diagflat", () => {
    return diag(ravel(asTracer("diagflat", v)), k);
  });
}

/** Swap the last two axes (numpy's matrix_transpose / the `.mT` property). */
export function matrixTranspose(x: ArrayLike): Tracer {
  const t = asTracer("matrixTranspose", x);
  if (t.ndim < 2) throw new ShapeError(`matrixTranspose: needs an array of at least 2 dimensions, got ${t.aval.str()}`);
  return swapaxes(t, -1, -2);
}

/** A [..., n] stack of vectors as the [..., n, n] stack of diagonal matrices. */
export function diagEmbed(v: Tracer): Tracer {
  const n = v.shape[v.ndim - 1];
  const eye = Array.fromTyped(Uint8Array.from({ length: n * n }, (_, idx) => (idx % (n + 1) === 0 ? 1 : 0)), [n, n], "bool");
  return multiply(astype(eye, v.dtype), reshape(v, [...v.shape, 1]));
}
