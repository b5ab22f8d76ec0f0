// The matrix decompositions of jax.lax.linalg: cholesky, lu, qr, eigh, svd
// and triangular_solve, with JAX's derivative rules.
//
// Each decomposition is an algorithm written over lax primitives (loops are
// lax.foriLoop / lax.whileLoop, rows and columns are picked with one-hot
// products), so it runs on every backend, stages under jit and batches under
// vmap with no primitive of its own; the wasm backend runs it as fused
// elementwise/reduction kernels and GEMM calls, not as a dedicated LAPACK-style
// kernel. Its derivative is not the derivative of the loop: each one is a
// customJvp carrying JAX's rule (lax/linalg.py's cholesky_jvp_rule,
// _lu_jvp_inner, _thin_qr_jvp, _eigh_jvp_rule, _svd_jvp_rule, the triangular
// solve's), so reverse mode transposes the rule's linear algebra.
//
// Algorithms: Cholesky column by column (left-looking); LU with partial
// pivoting (row swaps as rank-1 updates); QR by Householder reflections (the
// LAPACK sign convention, R's diagonal may be negative); eigh by cyclic
// Jacobi with a round-robin ordering, all n/2 disjoint rotations of a round
// applied at once; SVD by one-sided (Hestenes) Jacobi on the columns, U
// completed to an orthonormal basis by a Householder QR. All are O(n³) per
// sweep; they are written for the small and medium matrices of ML code
// (hundreds of rows), not as a blocked LAPACK.

import { Array } from "../core/array";
import { isFloat } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { broadcastShapes } from "../core/shape";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { customJvp } from "../../transforms/calls";
import { foriLoop, whileLoop } from "../../transforms/control_flow/api";
import { vmap } from "../../transforms/vmap";
import * as ew from "./elementwise";
import { arange, asarray, zeros, zerosLike } from "./creation";
import { all, argmax, argsort, sum } from "./reductions";
import { concatenate, expandDims, flip, reshape, swapaxes } from "./shape";
import { broadcastTo } from "./promote";
import { index, take, takeAlongAxis } from "./indexing";
import { diagonal, matmul } from "./linalg";
import { diagEmbed, tril, triu } from "./matrices";

/** The numpy functions the algorithms use, under one short name. */
const np = { ...ew, arange, asarray, zeros, zerosLike, all };

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

/** e_i as a float vector of length n, for a traced int32 index i. */
function unitVector(i: Tracer, n: number, like: Tracer): Tracer {
  return np.astype(np.equal(np.arange(n, { dtype: "int32" }), i), like.dtype);
}

/** Float mask of indices satisfying a comparison with the traced i (e.g. rows below i). */
function indexMask(n: number, i: Tracer, cmp: "gt" | "ge", like: Tracer): Tracer {
  const iota = np.arange(n, { dtype: "int32" });
  return np.astype(cmp === "gt" ? np.greater(iota, i) : np.greaterEqual(iota, i), like.dtype);
}

const outer = (u: Tracer, v: Tracer): Tracer => np.multiply(expandDims(u, 1), expandDims(v, 0));
const rowOf = (a: Tracer, e: Tracer): Tracer => matmul(e, a);
const colOf = (a: Tracer, e: Tracer): Tracer => matmul(a, e);
const dotv = (u: Tracer, v: Tracer): Tracer => sum(np.multiply(u, v));

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
  const size = batch.reduce((p, d) => p * d, 1);
  const flat = args.map((a, i) => {
    const core = a.shape.slice(a.ndim - coreRanks[i]);
    return reshape(broadcastTo(a, [...batch, ...core]), [size, ...core]);
  });
  const out = vmap(fn)(...flat) as R;
  const unflatten = (o: Tracer) => reshape(o, [...batch, ...o.shape.slice(1)]);
  return (globalThis.Array.isArray(out) ? out.map(unflatten) : unflatten(out as Tracer)) as R;
}

// --- triangular solve --------------------------------------------------------------

/** Forward substitution L X = B for one lower-triangular L (n×n) and B (n×m); entries above L's diagonal are never read. */
function solveLowerLeft(l: Tracer, b: Tracer, unitDiagonal: boolean): Tracer {
  const n = l.shape[0];
  if (n === 0 || b.shape[1] === 0) return b;
  return foriLoop(0, n, (i: Tracer, x: Tracer) => {
    const e = unitVector(i, n, l);
    const li = rowOf(l, e);
    // Rows >= i of x are still zero, so li·x only sums the solved rows.
    const r = np.subtract(rowOf(b, e), matmul(li, x));
    const xi = unitDiagonal ? r : np.divide(r, dotv(li, e));
    return np.add(x, outer(e, xi));
  }, np.zerosLike(b)) as Tracer;
}

interface TriangularFlags {
  leftSide: boolean;
  lower: boolean;
  transposeA: boolean;
  unitDiagonal: boolean;
}

/** op(a) x = b (left) or x op(a) = b (right) for one matrix, reduced to a lower-left forward substitution. */
function solveTriangular2d(a: Tracer, b: Tracer, f: TriangularFlags): Tracer {
  if (!f.leftSide) {
    // x op(a) = b  <=>  op(a)ᵀ xᵀ = bᵀ
    return mT(solveTriangular2d(a, mT(b), { ...f, leftSide: true, transposeA: !f.transposeA }));
  }
  const m = f.transposeA ? mT(a) : a;
  const lower = f.lower !== f.transposeA;
  if (lower) return solveLowerLeft(m, b, f.unitDiagonal);
  // An upper-triangular U becomes lower when both axes are reversed: U x = b <=> (JUJ)(Jx) = Jb.
  return flip(solveLowerLeft(flip(m, [0, 1]), flip(b, [0]), f.unitDiagonal), [0]);
}

/** The part of a that a triangular solve reads (its triangle, without the diagonal when it is unit). */
function usedTriangle(a: Tracer, f: TriangularFlags): Tracer {
  if (f.lower) return tril(a, f.unitDiagonal ? -1 : 0);
  return triu(a, f.unitDiagonal ? 1 : 0);
}

const triangularSolveCores = new Map<string, (a: Tracer, b: Tracer) => Tracer>();

/** The customJvp'd 2-D solve for one set of flags (cached so each flag set is one function). */
function triangularSolveCore(f: TriangularFlags): (a: Tracer, b: Tracer) => Tracer {
  const key = JSON.stringify(f);
  let fn = triangularSolveCores.get(key);
  if (fn) return fn;
  const solve = customJvp((a: Tracer, b: Tracer) => solveTriangular2d(a, b, f));
  solve.defjvp(([a, b], [da, db]) => {
    const x = solve(a, b);
    const dTri = usedTriangle(da, f);
    const opDa = f.transposeA ? mT(dTri) : dTri;
    // Differentiating op(a) x = b gives op(a) dx = db - op(da) x (left), dx op(a) = db - x op(da) (right).
    const rhs = np.subtract(db, f.leftSide ? matmul(opDa, x) : matmul(x, opDa));
    return [x, solve(a, rhs)];
  });
  fn = solve;
  triangularSolveCores.set(key, fn);
  return fn;
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

function cholesky2d(a: Tracer): Tracer {
  const n = a.shape[0];
  if (n === 0) return a;
  const l = foriLoop(0, n, (j: Tracer, l: Tracer) => {
    const e = unitVector(j, n, a);
    // v = a[:, j] - L L[j, :]ᵀ: column j of the Schur complement (only rows >= j are used).
    const v = np.subtract(colOf(a, e), matmul(l, rowOf(l, e)));
    const d = np.sqrt(dotv(v, e));
    const col = np.add(np.multiply(np.divide(v, d), indexMask(n, j, "gt", a)), np.multiply(e, d));
    return np.add(l, outer(col, e));
  }, np.zerosLike(a)) as Tracer;
  // Not positive definite: the whole factor is NaN, as LAPACK's failure is reported by JAX.
  const failed = np.logicalNot(np.all(np.isfinite(l)));
  return np.where(failed, NaN, l);
}

const choleskyCore = customJvp((a: Tracer) => cholesky2d(a));
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

/** Partial-pivoting LU of one m×n matrix: [packed L\U, pivots, permutation], the integer outputs as floats. */
function lu2d(a: Tracer): Tracer[] {
  const [m, n] = a.shape;
  const k = Math.min(m, n);
  const rowIota = np.arange(m, { dtype: "int32" });
  const init = [a, np.astype(rowIota, a.dtype), np.zeros([k], { dtype: a.dtype })];
  if (k === 0) return init;
  return foriLoop(0, k, (j: Tracer, [lu, perm, pivots]: Tracer[]) => {
    const ej = unitVector(j, m, a);
    const ejc = unitVector(j, n, a);
    const below = indexMask(m, j, "ge", a);
    // Pivot: the largest |entry| of column j at or below row j.
    const mag = np.where(np.greater(below, 0), np.abs(colOf(lu, ejc)), -1);
    const p = argmax(mag);
    const ep = unitVector(p, m, a);
    const rj = rowOf(lu, ej);
    const rp = rowOf(lu, ep);
    lu = np.add(lu, np.add(outer(ej, np.subtract(rp, rj)), outer(ep, np.subtract(rj, rp))));
    const pj = dotv(perm, ej);
    const pp = dotv(perm, ep);
    perm = np.add(perm, np.add(np.multiply(ej, np.subtract(pp, pj)), np.multiply(ep, np.subtract(pj, pp))));
    pivots = np.add(pivots, np.multiply(unitVector(j, k, a), np.astype(p, a.dtype)));
    const urow = rowOf(lu, ej);
    const pivot = dotv(urow, ejc);
    // Multipliers of the rows below j; a zero pivot leaves the column (LAPACK reports it, the factor keeps it).
    const safe = np.where(np.equal(pivot, 0), 1, pivot);
    const strictlyBelow = indexMask(m, j, "gt", a);
    const l = np.multiply(np.divide(colOf(lu, ejc), safe), np.multiply(strictlyBelow, np.astype(np.notEqual(pivot, 0), a.dtype)));
    const right = indexMask(n, j, "gt", a);
    lu = np.subtract(lu, outer(l, np.multiply(urow, right)));
    // Store the multipliers in column j below the diagonal.
    lu = np.add(np.multiply(lu, np.subtract(1, outer(strictlyBelow, ejc))), outer(l, ejc));
    return [lu, perm, pivots];
  }, init) as Tracer[];
}

const luCore = customJvp((a: Tracer) => lu2d(a));
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

/** Householder QR of one m×n matrix: the full Q (m×m) and R (m×n). */
function householderQr(a: Tracer): [Tracer, Tracer] {
  const [m, n] = a.shape;
  const steps = Math.min(m, n);
  const init = [eye(m, a), a];
  if (steps === 0) return [init[0], init[1]];
  const [q, r] = foriLoop(0, steps, (k: Tracer, [q, r]: Tracer[]) => {
    const ek = unitVector(k, m, a);
    const x = np.multiply(colOf(r, unitVector(k, n, a)), indexMask(m, k, "ge", a));
    const xk = dotv(x, ek);
    const normX = np.sqrt(dotv(x, x));
    // alpha = -sign(x_k)·‖x‖ avoids cancellation in v = x - alpha e_k (LAPACK's choice of sign).
    const alpha = np.where(np.less(xk, 0), normX, np.negative(normX));
    const v = np.subtract(x, np.multiply(ek, alpha));
    const vv = dotv(v, v);
    const beta = np.where(np.greater(vv, 0), np.divide(2, np.where(np.greater(vv, 0), vv, 1)), 0);
    r = np.subtract(r, np.multiply(beta, outer(v, matmul(v, r))));
    q = np.subtract(q, np.multiply(beta, outer(matmul(q, v), v)));
    return [q, r];
  }, init) as Tracer[];
  return [q, triu(r)];
}

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
  const core = customJvp((a: Tracer): Tracer[] => {
    const [m, n] = a.shape;
    const [q, r] = householderQr(a);
    if (fullMatrices || m <= n) return [q, r];
    return [index(q, [":", [0, n]]), index(r, [[0, n]])];
  });
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
      throw new ArgumentError(
        `lax.linalg.qr: the derivative of a full (complete) QR of a tall ${m}×${n} matrix is not implemented; use fullMatrices: false (np.linalg.qr's mode "reduced")`,
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

// --- Jacobi rotations (eigh and svd) ---------------------------------------------------

/**
 * The round-robin pairing of n indices: round r pairs every index with one
 * partner so that the n(n-1)/2 pairs are each met once in n-1 (n even) or n
 * (n odd) rounds. Returns per round the partner of each index (itself when it
 * sits out) and whether it plays the "p" (smaller) side.
 */
function roundRobin(n: number): { partners: Tracer; isP: Tracer; rounds: number } {
  const players = n % 2 === 0 ? n : n + 1;
  const rounds = Math.max(1, players - 1);
  const partner = new Int32Array(rounds * n);
  const pSide = new Float32Array(rounds * n);
  const order = globalThis.Array.from({ length: players }, (_, i) => i);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) partner[r * n + i] = i;
    for (let i = 0; i < players / 2; i++) {
      const a = order[i];
      const b = order[players - 1 - i];
      if (a < n && b < n) {
        partner[r * n + a] = b;
        partner[r * n + b] = a;
        pSide[r * n + Math.min(a, b)] = 1;
      }
    }
    // Keep the first player fixed, rotate the rest by one.
    order.splice(1, 0, order.pop() as number);
  }
  return { partners: Array.fromTyped(partner, [rounds, n], "int32"), isP: Array.fromTyped(pSide, [rounds, n], "float32"), rounds };
}

/**
 * The Jacobi rotation (c, s) that zeroes the (p, q) entry of the symmetric
 * 2×2 [[app, apq], [apq, aqq]] (Golub & Van Loan's sym.schur2), per index;
 * the identity where apq = 0 or the index sits out.
 */
function jacobiRotation(app: Tracer, aqq: Tracer, apq: Tracer, active: Tracer): [Tracer, Tracer] {
  const skip = np.logicalOr(np.equal(apq, 0), np.logicalNot(active));
  const safeApq = np.where(skip, 1, apq);
  const tau = np.divide(np.subtract(aqq, app), np.multiply(2, safeApq));
  const sgn = np.where(np.less(tau, 0), -1, 1);
  const t = np.divide(sgn, np.add(np.abs(tau), np.sqrt(np.add(1, np.multiply(tau, tau)))));
  const c = np.divide(1, np.sqrt(np.add(1, np.multiply(t, t))));
  const s = np.multiply(t, c);
  return [np.where(skip, 1, c), np.where(skip, 0, s)];
}

/** Column rotation X J of every pair at once: col_p' = c col_p - s col_q, col_q' = s col_p + c col_q. */
function rotateColumns(x: Tracer, partner: Tracer, c: Tracer, signedS: Tracer): Tracer {
  return np.add(np.multiply(x, c), np.multiply(take(x, partner, 1), signedS));
}

function rotateRows(x: Tracer, partner: Tracer, c: Tracer, signedS: Tracer): Tracer {
  return np.add(np.multiply(x, expandDims(c, 1)), np.multiply(take(x, partner, 0), expandDims(signedS, 1)));
}

const MAX_SWEEPS = 20;
const EPS32 = 2 ** -23;

/** Symmetric Jacobi on one n×n matrix: [eigenvalues (unsorted), eigenvectors as columns]. */
function jacobiEigh(a: Tracer): [Tracer, Tracer] {
  const n = a.shape[0];
  if (n <= 1) return [diagonal(a), eye(n, a)];
  const { partners, isP, rounds } = roundRobin(n);
  const iota = np.arange(n, { dtype: "int32" });
  const offNorm = (m: Tracer) => np.sqrt(sum(np.square(np.subtract(m, diagEmbed(diagonal(m))))));
  const tol = np.multiply(n * EPS32, np.sqrt(sum(np.square(a))));
  const sweep = (m: Tracer, v: Tracer): Tracer[] =>
    foriLoop(0, rounds, (r: Tracer, [m, v]: Tracer[]) => {
      const partner = reshape(take(partners, r, 0), [n]);
      const p = reshape(take(isP, r, 0), [n]);
      const d = diagonal(m);
      const dPartner = take(d, partner, 0);
      const apq = reshape(takeAlongAxis(m, expandDims(partner, 1), 1), [n]);
      const isPSide = np.greater(p, 0);
      const app = np.where(isPSide, d, dPartner);
      const aqq = np.where(isPSide, dPartner, d);
      const [c, s] = jacobiRotation(app, aqq, apq, np.notEqual(partner, iota));
      const signedS = np.where(isPSide, np.negative(s), s);
      m = rotateRows(rotateColumns(m, partner, c, signedS), partner, c, signedS);
      return [m, rotateColumns(v, partner, c, signedS)];
    }, [m, v]) as Tracer[];
  const [, m, v] = whileLoop(
    ([i, m]: Tracer[]) => np.logicalAnd(np.less(i, MAX_SWEEPS), np.greater(offNorm(m), tol)),
    ([i, m, v]: Tracer[]) => [np.add(i, 1), ...sweep(m, v)],
    [np.asarray(0, { dtype: "int32" }), a, eye(n, a)],
  ) as Tracer[];
  return [diagonal(m), v];
}

/** eigh of one symmetric matrix: ascending eigenvalues w and eigenvectors v (columns). */
function eigh2d(a: Tracer): Tracer[] {
  const [w, v] = jacobiEigh(a);
  const order = argsort(w);
  return [take(w, order, 0), take(v, order, 1)];
}

const eighCore = customJvp((a: Tracer): Tracer[] => eigh2d(a));
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

/** One-sided Jacobi on one m×n matrix with m >= n: [G = U Σ (unsorted columns), V]. */
function jacobiSvdTall(a: Tracer): [Tracer, Tracer] {
  const n = a.shape[1];
  if (n <= 1) return [a, eye(n, a)];
  const { partners, isP, rounds } = roundRobin(n);
  const iota = np.arange(n, { dtype: "int32" });
  const offNorm = (g: Tracer) => {
    const gram = matmul(mT(g), g);
    return np.sqrt(sum(np.square(np.subtract(gram, diagEmbed(diagonal(gram))))));
  };
  const tol = np.multiply(n * EPS32, sum(np.square(a)));
  const sweep = (g: Tracer, v: Tracer): Tracer[] =>
    foriLoop(0, rounds, (r: Tracer, [g, v]: Tracer[]) => {
      const partner = reshape(take(partners, r, 0), [n]);
      const isPSide = np.greater(reshape(take(isP, r, 0), [n]), 0);
      const norms = sum(np.square(g), 0);
      const normsPartner = take(norms, partner, 0);
      const gamma = sum(np.multiply(g, take(g, partner, 1)), 0);
      const app = np.where(isPSide, norms, normsPartner);
      const aqq = np.where(isPSide, normsPartner, norms);
      const [c, s] = jacobiRotation(app, aqq, gamma, np.notEqual(partner, iota));
      const signedS = np.where(isPSide, np.negative(s), s);
      return [rotateColumns(g, partner, c, signedS), rotateColumns(v, partner, c, signedS)];
    }, [g, v]) as Tracer[];
  const [, g, v] = whileLoop(
    ([i, g]: Tracer[]) => np.logicalAnd(np.less(i, MAX_SWEEPS), np.greater(offNorm(g), tol)),
    ([i, g, v]: Tracer[]) => [np.add(i, 1), ...sweep(g, v)],
    [np.asarray(0, { dtype: "int32" }), a, eye(n, a)],
  ) as Tracer[];
  return [g, v];
}

/** SVD of one m×n matrix: [s (descending), U (m×k or m×m), Vᵀ (k×n or n×n)] with k = min(m, n). */
function svd2d(a: Tracer, fullMatrices: boolean): Tracer[] {
  const [m, n] = a.shape;
  if (m < n) {
    const [s, u, vt] = svd2d(mT(a), fullMatrices);
    return [s, mT(vt), mT(u)];
  }
  const [g, v] = jacobiSvdTall(a);
  const sUnsorted = np.sqrt(sum(np.square(g), 0));
  const order = flip(argsort(sUnsorted), [0]);
  const s = take(sUnsorted, order, 0);
  const gs = take(g, order, 1);
  const vs = take(v, order, 1);
  const uRaw = np.divide(gs, np.where(np.greater(s, 0), s, 1));
  // Orthonormalize U (columns of zero singular values are arbitrary there) and complete it to m×m.
  const [qFull, rFull] = householderQr(uRaw);
  const signs = np.where(np.less(diagonal(rFull), 0), -1, 1);
  const head = np.multiply(index(qFull, [":", [0, n]]), signs);
  const u = fullMatrices ? concatenate([head, index(qFull, [":", [n, m]])], 1) : head;
  return [s, u, mT(vs)];
}

const svdCores = new Map<boolean, (a: Tracer) => Tracer[]>();

function svdCore(fullMatrices: boolean): (a: Tracer) => Tracer[] {
  const cached = svdCores.get(fullMatrices);
  if (cached) return cached;
  const core = customJvp((a: Tracer): Tracer[] => svd2d(a, fullMatrices));
  core.defjvp(([a], [da]) => {
    const out = core(a);
    const [m, n] = a.shape;
    if (fullMatrices && m !== n) {
      throw new ArgumentError(
        `lax.linalg.svd: the derivative of a full SVD of a non-square ${m}×${n} matrix is not defined (as in JAX); use fullMatrices: false`,
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
