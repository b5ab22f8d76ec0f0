// Interpreter rules of the matrix decompositions: cholesky, lu, qr, eigh, svd
// and triangular_solve on stacks of row-major matrices, one matrix at a time
// through the float64 algorithms of decomposition_algorithms.ts, rounded to
// the output dtype.

import type { Decomposition } from "../../../core/primitives";
import { sizeOf } from "../../../core/shape";
import { HostArray } from "../host_array";
import { choleskyF64, eighF64, luF64, qrF64, svdF64, triangularSolveF64 } from "./decomposition_algorithms";
import type { InterpRule, InterpRuleTable } from "./types";

/** The batch count and one matrix's m, n of a stack. */
function stackDims(x: HostArray): { count: number; m: number; n: number } {
  const m = x.shape[x.ndim - 2];
  const n = x.shape[x.ndim - 1];
  return { count: m * n === 0 ? sizeOf(x.shape.slice(0, -2)) : x.size / (m * n), m, n };
}

function matrixAt(x: HostArray, b: number, size: number): Float64Array {
  return Float64Array.from(x.data.subarray(b * size, (b + 1) * size) as ArrayLike<number>);
}

function store(out: HostArray, b: number, values: ArrayLike<number>): void {
  (out.data as Float32Array).set(values, b * values.length);
}

const cholesky: InterpRule<"cholesky"> = ([x], _p, [aval]) => {
  const out = HostArray.forAval(aval);
  const { count, n } = stackDims(x);
  const l = new Float64Array(n * n);
  for (let b = 0; b < count; b++) {
    const ok = choleskyF64(matrixAt(x, b, n * n), n, l);
    if (!ok) l.fill(NaN); // as JAX reports LAPACK's failure: the whole factor is NaN
    store(out, b, l);
  }
  return [out];
};

const lu: InterpRule<"lu"> = ([x], _p, [luAval, pivAval, permAval]) => {
  const packed = HostArray.forAval(luAval);
  const pivots = HostArray.forAval(pivAval);
  const perm = HostArray.forAval(permAval);
  const { count, m, n } = stackDims(x);
  const k = Math.min(m, n);
  for (let b = 0; b < count; b++) {
    const a = matrixAt(x, b, m * n);
    const piv = new Int32Array(k);
    const pm = new Int32Array(m);
    luF64(a, m, n, piv, pm);
    store(packed, b, a);
    (pivots.data as Int32Array).set(piv, b * k);
    (perm.data as Int32Array).set(pm, b * m);
  }
  return [packed, pivots, perm];
};

const qr: InterpRule<"qr"> = ([x], { fullMatrices }, [qAval, rAval]) => {
  const q = HostArray.forAval(qAval);
  const r = HostArray.forAval(rAval);
  const { count, m, n } = stackDims(x);
  const k = fullMatrices ? m : Math.min(m, n);
  for (let b = 0; b < count; b++) {
    const a = matrixAt(x, b, m * n);
    store(q, b, qrF64(a, m, n, k));
    store(r, b, a.subarray(0, k * n));
  }
  return [q, r];
};

const eigh: InterpRule<"eigh"> = ([x], _p, [vAval, wAval]) => {
  const v = HostArray.forAval(vAval);
  const w = HostArray.forAval(wAval);
  const { count, n } = stackDims(x);
  const wb = new Float64Array(n);
  const vb = new Float64Array(n * n);
  for (let b = 0; b < count; b++) {
    eighF64(matrixAt(x, b, n * n), n, wb, vb);
    store(v, b, vb);
    store(w, b, wb);
  }
  return [v, w];
};

const svd: InterpRule<"svd"> = ([x], { fullMatrices }, [sAval, uAval, vtAval]) => {
  const s = HostArray.forAval(sAval);
  const u = HostArray.forAval(uAval);
  const vt = HostArray.forAval(vtAval);
  const { count, m, n } = stackDims(x);
  for (let b = 0; b < count; b++) {
    const r = svdF64(matrixAt(x, b, m * n), m, n, fullMatrices);
    store(s, b, r.s);
    // A tall reduced SVD's vt is n×n = k×n; the full one's too.
    store(u, b, r.u);
    store(vt, b, r.vt);
  }
  return [s, u, vt];
};

const triangularSolve: InterpRule<"triangular_solve"> = ([a, bArr], params, [aval]) => {
  const out = HostArray.forAval(aval);
  const { count, n } = stackDims(a);
  const rows = bArr.shape[bArr.ndim - 2];
  const cols = bArr.shape[bArr.ndim - 1];
  for (let b = 0; b < count; b++) {
    const rhs = matrixAt(bArr, b, rows * cols);
    triangularSolveF64(matrixAt(a, b, n * n), n, rhs, rows, cols, params);
    store(out, b, rhs);
  }
  return [out];
};

export const decompositionInterpRules: InterpRuleTable<Decomposition> = {
  cholesky,
  lu,
  qr,
  eigh,
  svd,
  triangular_solve: triangularSolve,
};
