// The matrix decompositions of jax.lax.linalg: cholesky, lu, qr, eigh, svd
// and triangular_solve, with JAX's derivative rules.
//
// Each decomposition is a primitive (src/core/primitives.ts) computed by a
// dedicated kernel: the interpreter's float64 algorithms
// (src/backends/interpreter/rules/decomposition_algorithms.ts) and the same algorithms
// in Rust on wasm (wasm/src/linalg.rs); on WebGPU cholesky, lu and
// triangular_solve are WGSL kernels (webgpu/wgsl/decomposition.ts) and qr,
// eigh and svd run as host steps. The
// primitives take stacks with leading batch dims, so vmap binds once per
// batch. Their derivative is JAX's rule, not the algorithm's: each function
// here is a customJvp on one matrix carrying lax/linalg.py's rule
// (cholesky_jvp_rule, _lu_jvp_inner, _thin_qr_jvp, _eigh_jvp_rule,
// _svd_jvp_rule, the triangular solve's), mapped over stacks with vmap, so
// reverse mode transposes the rule's linear algebra.

import { Array } from "../core/array";
import { isFloat } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, TransformError } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { broadcastShapes, sizeOf } from "../core/shape";
import type { ParamsOf } from "../core/primitives";
import { bind, bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { customJvp } from "../../transforms/calls";
import { vmap } from "../../transforms/vmap";
import * as ew from "./elementwise";
import { arange, asarray, zeros, zerosLike } from "./creation";
import { concatenate, expandDims, reshape, swapaxes } from "./shape";
import { broadcastTo } from "./promote";
import { index, take } from "./indexing";
import { diagonal, matmul } from "./linalg";
import { diagEmbed, tril, triu } from "./matrices";

/** The numpy functions the algorithms use, under one short name. */
const np = { ...ew, arange, asarray, zeros, zerosLike };

// --- shared helpers -------------------------------------------------------------

/** The operand as a float array of rank >= 2 (ints promoted to float32, as jnp.linalg does). */
export function matrixArg(where: string, x: ArrayLike, opts: { square?: boolean } = {}): Tracer {
  if (!isTracer(x) && typeof x !== "number" && !globalThis.Array.isArray(x)) {
    throw new ArgumentError(`${where}: expected an array, got ${typeof x}`);
  }
  let t = isTracer(x) ? x : np.asarray(x);
  if (t.dtype === "bool") throw new DTypeError(`${where}: not defined for bool arrays, got ${t.aval.str()}`);
  if (!isFloat(t.dtype)) t = np.astype(t, "float32");
  if (t.ndim < 2) throw new ShapeError(`${where}: expected a matrix or a stack of matrices (rank >= 2), got ${t.aval.str()}`);
  if (opts.square && t.shape[t.ndim - 1] !== t.shape[t.ndim - 2]) {
    throw new ShapeError(`${where}: expected square matrices in the last two axes, got ${t.aval.str()}`);
  }
  return t;
}

const mT = (x: Tracer): Tracer => swapaxes(x, -1, -2);

function eye(n: number, like: Tracer): Tracer {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  const e = Array.fromTyped(data, [n, n], "float32");
  return like.dtype === "float32" ? e : np.astype(e, like.dtype);
}

/**
 * Apply a function written for single matrices to stacks: the leading
 * (batch) dims of every operand are broadcast together, flattened, and
 * mapped over with vmap. `coreRanks` says how many trailing dims each operand
 * keeps.
 */
function overBatch<R extends Tracer | Tracer[]>(where: string, fn: (...core: Tracer[]) => R, args: Tracer[], coreRanks: number[]): R {
  const batchShapes = args.map((a, i) => a.shape.slice(0, a.ndim - coreRanks[i]));
  if (batchShapes.every((b) => b.length === 0)) return fn(...args);
  let batch: number[];
  try {
    batch = broadcastShapes(where, ...batchShapes);
  } catch {
    throw new ShapeError(`${where}: the batch dimensions of ${args.map((a) => a.aval.str()).join(" and ")} do not broadcast together`);
  }
  const size = sizeOf(batch);
  const flat = args.map((a, i) => {
    const core = a.shape.slice(a.ndim - coreRanks[i]);
    return reshape(broadcastTo(a, [...batch, ...core]), [size, ...core]);
  });
  const out = vmap(fn)(...flat) as R;
  const unflatten = (o: Tracer) => reshape(o, [...batch, ...o.shape.slice(1)]);
  return (globalThis.Array.isArray(out) ? out.map(unflatten) : unflatten(out as Tracer)) as R;
}

// --- triangular solve --------------------------------------------------------------

type TriangularFlags = ParamsOf<"triangular_solve">;

/** The triangular_solve primitive for one set of flags (its jvp and transpose rules are JAX's, on the primitive). */
function triangularSolveCore(f: TriangularFlags): (a: Tracer, b: Tracer) => Tracer {
  return (a, b) => bind1("triangular_solve", [a, b], f);
}

export interface TriangularSolveOptions {
  /** true: solve op(a) x = b; false (JAX's default): solve x op(a) = b. */
  leftSide?: boolean;
  /** Read a's lower triangle (true) or upper triangle (false, JAX's default). */
  lower?: boolean;
  /** op(a) = aᵀ instead of a. */
  transposeA?: boolean;
  /** Take a's diagonal as ones without reading it. */
  unitDiagonal?: boolean;
}

/** jax.lax.linalg.triangular_solve over stacks of matrices (batch dims broadcast). */
export function triangularSolve(a: ArrayLike, b: ArrayLike, opts: TriangularSolveOptions = {}): Tracer {
  const where = "lax.linalg.triangularSolve";
  checkOptions(where, opts, { leftSide: opt.boolean, lower: opt.boolean, transposeA: opt.boolean, unitDiagonal: opt.boolean });
  const f: TriangularFlags = {
    leftSide: opts.leftSide ?? false,
    lower: opts.lower ?? false,
    transposeA: opts.transposeA ?? false,
    unitDiagonal: opts.unitDiagonal ?? false,
  };
  const am = matrixArg(where, a, { square: true });
  let bm = matrixArg(where, b);
  if (bm.dtype !== am.dtype) bm = np.astype(bm, am.dtype);
  const n = am.shape[am.ndim - 1];
  const k = f.leftSide ? bm.shape[bm.ndim - 2] : bm.shape[bm.ndim - 1];
  if (k !== n) {
    throw new ShapeError(
      `${where}: a ${am.aval.str()} needs b with ${n} ${f.leftSide ? "rows (leftSide: true)" : "columns (leftSide: false)"}, got b ${bm.aval.str()}`,
    );
  }
  return overBatch(where, triangularSolveCore(f), [am, bm], [2, 2]);
}

// --- Cholesky ------------------------------------------------------------------------

const choleskyCore = customJvp((a: Tracer) => bind1("cholesky", [a], {}));
choleskyCore.defjvp(([a], [da]) => {
  const l = choleskyCore(a);
  // dL = L φ(L⁻¹ dΣ L⁻ᵀ), φ = lower triangle with the diagonal halved (JAX's cholesky_jvp_rule).
  const sigmaDot = np.divide(np.add(da, mT(da)), 2);
  const lower = triangularSolveCore({ leftSide: true, lower: true, transposeA: false, unitDiagonal: false });
  const y = lower(l, sigmaDot);
  const z = lower(l, mT(y));
  const phi = np.subtract(tril(z), np.divide(diagEmbed(diagonal(z)), 2));
  return [l, matmul(l, phi)];
});

export interface CholeskyOptions {
  /** Use (a + aᵀ)/2 (JAX's default); false reads the lower triangle only. */
  symmetrizeInput?: boolean;
}

/** jax.lax.linalg.cholesky: the lower factor L with a = L Lᵀ; NaN where a is not positive definite. */
export function cholesky(x: ArrayLike, opts: CholeskyOptions = {}): Tracer {
  const where = "lax.linalg.cholesky";
  checkOptions(where, opts, { symmetrizeInput: opt.boolean });
  let a = matrixArg(where, x, { square: true });
  if (opts.symmetrizeInput ?? true) a = np.divide(np.add(a, mT(a)), 2);
  else a = np.add(tril(a), mT(tril(a, -1)));
  return overBatch(where, choleskyCore, [a], [2]);
}

// --- LU ------------------------------------------------------------------------------

/** The LU primitive on one matrix: [packed L\\U, permutation, pivots], the integer outputs as floats (customJvp outputs are differentiable values). */
const luCore = customJvp((a: Tracer): Tracer[] => {
  const [packed, pivots, perm] = bind("lu", [a], {});
  return [packed, np.astype(perm, a.dtype), np.astype(pivots, a.dtype)];
});
luCore.defjvp(([a], [da]) => {
  const [lu, perm, pivots] = luCore(a);
  const [m, n] = a.shape;
  const k = Math.min(m, n);
  // JAX's _lu_jvp_inner: with P A = L U, L' = L tril(L⁻¹ P A' U⁻¹, -1) and U' = triu(L⁻¹ P A' U⁻¹) U,
  // L padded to m×m and U to n×n with identity blocks.
  const permIdx = np.astype(perm, "int32");
  const paDot = take(da, permIdx, 0);
  let l = tril(index(lu, [":", [0, k]]), -1);
  if (m > k) l = concatenate([l, np.zeros([m, m - k], { dtype: a.dtype })], 1);
  l = np.add(l, eye(m, a));
  let u = triu(index(lu, [[0, k]]));
  if (n > k) {
    u = concatenate([u, np.zeros([n - k, n], { dtype: a.dtype })], 0);
    const pad = np.multiply(eye(n, a), np.astype(np.greaterEqual(np.arange(n, { dtype: "int32" }), k), a.dtype));
    u = np.add(u, pad);
  }
  const la = triangularSolveCore({ leftSide: true, lower: true, transposeA: false, unitDiagonal: true })(l, paDot);
  const lau = triangularSolveCore({ leftSide: false, lower: false, transposeA: false, unitDiagonal: false })(u, la);
  const luDot = np.add(matmul(l, tril(lau, -1)), matmul(triu(lau), u));
  return [[lu, perm, pivots], [luDot, np.zerosLike(perm), np.zerosLike(pivots)]];
});

/**
 * jax.lax.linalg.lu: [lu, pivots, permutation] with P a = L U, L unit lower
 * (below lu's diagonal) and U upper (on and above it); pivots[i] is the row
 * swapped with row i, permutation the resulting row order (int32).
 */
export function lu(x: ArrayLike): [Tracer, Tracer, Tracer] {
  const a = matrixArg("lax.linalg.lu", x);
  const [packed, perm, pivots] = overBatch("lax.linalg.lu", luCore, [a], [2]);
  return [packed, np.astype(pivots, "int32"), np.astype(perm, "int32")];
}

// --- QR ------------------------------------------------------------------------------

function qrJvpThin(q: Tracer, r: Tracer, dx: Tracer): [Tracer, Tracer] {
  // JAX's _thin_qr_jvp (m >= n): with dx R⁻¹ and Ω = the skew part of tril(Qᵀ dx R⁻¹, -1).
  const dxRinv = triangularSolveCore({ leftSide: false, lower: false, transposeA: false, unitDiagonal: false })(r, dx);
  const qtDxRinv = matmul(mT(q), dxRinv);
  const low = tril(qtDxRinv, -1);
  const omega = np.subtract(low, mT(low));
  const dq = np.add(matmul(q, np.subtract(omega, qtDxRinv)), dxRinv);
  const dr = matmul(np.subtract(qtDxRinv, omega), r);
  return [dq, dr];
}

const qrCores = new Map<boolean, (a: Tracer) => Tracer[]>();

function qrCore(fullMatrices: boolean): (a: Tracer) => Tracer[] {
  const cached = qrCores.get(fullMatrices);
  if (cached) return cached;
  const core = customJvp((a: Tracer): Tracer[] => bind("qr", [a], { fullMatrices }));
  core.defjvp(([a], [da]) => {
    const [q, r] = core(a);
    const [m, n] = a.shape;
    if (m < n) {
      // Wide: X = [X1 X2] with X1 square: the square rule for X1, and dR2 = dQᵀ X2 + Qᵀ dX2.
      const [dq, dr1] = qrJvpThin(q, index(r, [":", [0, m]]), index(da, [":", [0, m]]));
      const dr2 = np.add(matmul(mT(dq), index(a, [":", [m, n]])), matmul(mT(q), index(da, [":", [m, n]])));
      return [[q, r], [dq, concatenate([dr1, dr2], 1)]];
    }
    if (fullMatrices && m > n) {
      // JAX raises NotImplementedError here too: the last m-n columns of a complete Q are any
      // orthonormal completion, not a differentiable function of a.
      throw new TransformError(
        `lax.linalg.qr: the derivative of a complete QR (fullMatrices: true, np.linalg.qr mode "complete") of a tall ${m}×${n} matrix is not defined, as in JAX; use fullMatrices: false (mode "reduced")`,
      );
    }
    const [dq, dr] = qrJvpThin(q, r, da);
    return [[q, r], [dq, dr]];
  });
  qrCores.set(fullMatrices, core);
  return core;
}

export interface QrOptions {
  /** true (JAX's lax default): Q is m×m and R m×n; false: Q m×k, R k×n with k = min(m, n). */
  fullMatrices?: boolean;
}

/** jax.lax.linalg.qr: [q, r] with a = q r, q orthonormal columns, r upper triangular. */
export function qr(x: ArrayLike, opts: QrOptions = {}): [Tracer, Tracer] {
  checkOptions("lax.linalg.qr", opts, { fullMatrices: opt.boolean });
  const a = matrixArg("lax.linalg.qr", x);
  const [q, r] = overBatch("lax.linalg.qr", qrCore(opts.fullMatrices ?? true), [a], [2]);
  return [q, r];
}

// --- eigh ----------------------------------------------------------------------------

const eighCore = customJvp((a: Tracer): Tracer[] => {
  const [v, w] = bind("eigh", [a], {});
  return [w, v];
});
eighCore.defjvp(([a], [da]) => {
  const [w, v] = eighCore(a);
  const n = a.shape[0];
  // JAX's _eigh_jvp_rule (distinct eigenvalues): F_ij = 1/(w_j - w_i) off the diagonal, 0 on it.
  const I = eye(n, a);
  const fmat = np.subtract(np.reciprocal(np.add(I, np.subtract(expandDims(w, 0), expandDims(w, 1)))), I);
  const vtDaV = matmul(matmul(mT(v), da), v);
  const dv = matmul(v, np.multiply(fmat, vtDaV));
  const dw = diagonal(vtDaV);
  return [[w, v], [dw, dv]];
});

export interface EighOptions {
  /** Read the lower (default) or upper triangle when symmetrizeInput is false. */
  lower?: boolean;
  /** Use (a + aᵀ)/2 (JAX's default). */
  symmetrizeInput?: boolean;
}

/** jax.lax.linalg.eigh: [v, w], eigenvectors as the columns of v and ascending eigenvalues w (v first, as JAX's lax). */
export function eigh(x: ArrayLike, opts: EighOptions = {}): [Tracer, Tracer] {
  const where = "lax.linalg.eigh";
  checkOptions(where, opts, { lower: opt.boolean, symmetrizeInput: opt.boolean });
  let a = matrixArg(where, x, { square: true });
  if (opts.symmetrizeInput ?? true) a = np.divide(np.add(a, mT(a)), 2);
  else if (opts.lower ?? true) a = np.add(tril(a), mT(tril(a, -1)));
  else a = np.add(triu(a), mT(triu(a, 1)));
  const [w, v] = overBatch(where, eighCore, [a], [2]);
  return [v, w];
}

// --- SVD ---------------------------------------------------------------------------------

const svdCores = new Map<boolean, (a: Tracer) => Tracer[]>();

function svdCore(fullMatrices: boolean): (a: Tracer) => Tracer[] {
  const cached = svdCores.get(fullMatrices);
  if (cached) return cached;
  const core = customJvp((a: Tracer): Tracer[] => bind("svd", [a], { fullMatrices }));
  core.defjvp(([a], [da]) => {
    const out = core(a);
    const [m, n] = a.shape;
    if (fullMatrices && m !== n) {
      // The extra columns of a full U (or rows of Vᵀ) span the null space in no particular basis.
      // JAX raises for every full SVD; a square one equals the reduced SVD, so it is differentiated here.
      throw new TransformError(
        `lax.linalg.svd: the derivative of a full SVD (fullMatrices: true, np.linalg.svd's default) of a non-square ${m}×${n} matrix is not defined, as in JAX; use fullMatrices: false`,
      );
    }
    const [s, u, vt] = out;
    const k = s.shape[0];
    // JAX's _svd_jvp_rule.
    const v = mT(vt);
    const dS = matmul(matmul(mT(u), da), v);
    const ds = diagonal(dS);
    const sRow = expandDims(s, 0);
    const sCol = expandDims(s, 1);
    const sDiffs = np.multiply(np.add(sRow, sCol), np.subtract(sRow, sCol));
    const I = eye(k, a);
    const F = np.subtract(np.reciprocal(np.add(sDiffs, I)), I);
    const dSS = np.multiply(sRow, dS);
    const SdS = np.multiply(sCol, dS);
    const sZero = np.astype(np.equal(s, 0), s.dtype);
    const sInv = np.subtract(np.reciprocal(np.add(s, sZero)), sZero);
    const dUdVDiag = np.multiply(np.multiply(0.5, np.subtract(dS, mT(dS))), diagEmbed(sInv));
    let dU = matmul(u, np.add(np.multiply(F, np.add(dSS, mT(dSS))), dUdVDiag));
    let dV = matmul(v, np.multiply(F, np.add(SdS, mT(SdS))));
    if (m > n) {
      const dAV = matmul(da, v);
      dU = np.add(dU, np.divide(np.subtract(dAV, matmul(u, matmul(mT(u), dAV))), sRow));
    }
    if (n > m) {
      const dAtU = matmul(mT(da), u);
      dV = np.add(dV, np.divide(np.subtract(dAtU, matmul(v, matmul(vt, dAtU))), sRow));
    }
    return [out, [ds, dU, mT(dV)]];
  });
  svdCores.set(fullMatrices, core);
  return core;
}

export interface SvdOptions {
  /** true (default): U is m×m and Vᵀ n×n; false: U m×k and Vᵀ k×n, k = min(m, n). */
  fullMatrices?: boolean;
}

/** jax.lax.linalg.svd: [u, s, vh] with a = u diag(s) vh and s descending. */
export function svd(x: ArrayLike, opts: SvdOptions = {}): [Tracer, Tracer, Tracer] {
  checkOptions("lax.linalg.svd", opts, { fullMatrices: opt.boolean });
  const a = matrixArg("lax.linalg.svd", x);
  const [s, u, vt] = overBatch("lax.linalg.svd", svdCore(opts.fullMatrices ?? true), [a], [2]);
  return [u, s, vt];
}

/** The singular values alone (descending); differentiable everywhere the reduced SVD is. */
export function singularValues(x: ArrayLike): Tracer {
  const a = matrixArg("lax.linalg.svd", x);
  return overBatch("lax.linalg.svd", svdCore(false), [a], [2])[0];
}
