// Unit tests of np.linalg and lax.linalg: hand-derived values (norms of
// [[1, 2], [3, 4]], a pivoting LU, a Cholesky factor, a least-squares fit by
// the normal equations), reconstruction identities, the invalid-argument
// errors, batching (stacks, vmap, jit) and gradients by finite differences.

import { describe, expect, test } from "vitest";
import { np, lax, jit, vmap, grad, random, setDefaultBackend, defaultBackendName, type Array } from "../src/index";
import { bind, bind1 } from "../src/core/trace";
import { checkGrads } from "../src/testing";
import { ArgumentError, DTypeError, ShapeError, TransformError } from "../src/core/errors";

import { close, flat } from "./values";
const eye = (n: number) => np.eye(n);
const mT = (x: Array) => np.swapaxes(x, -1, -2);

const M = np.array([[1, 2], [3, 4]]);
// Singular values of [[1, 2], [3, 4]]: sqrt(15 ± sqrt(221)).
const S1 = Math.sqrt(15 + Math.sqrt(221));
const S2 = Math.sqrt(15 - Math.sqrt(221));

describe("norm (issue 12: matrix norms were vector norms of the flattened array)", () => {
  test("every matrix ord of [[1, 2], [3, 4]]", () => {
    close(np.linalg.norm(M), Math.sqrt(30));
    close(np.linalg.norm(M, "fro"), Math.sqrt(30));
    close(np.linalg.norm(M, 2), S1); // 5.4650, where the flattened 2-norm is 5.4772
    close(np.linalg.norm(M, -2), S2);
    close(np.linalg.norm(M, "nuc"), S1 + S2);
    close(np.linalg.norm(M, 1), 6); // the largest column sum (10 before)
    close(np.linalg.norm(M, -1), 4);
    close(np.linalg.norm(M, Infinity), 7); // the largest row sum (4 before)
    close(np.linalg.norm(M, -Infinity), 3);
    close(np.norm(M, 2), S1);
  });

  test("vector ords, axes, axis pairs and keepdims", () => {
    const v = np.array([3, 0, -4]);
    close(np.linalg.norm(v), 5);
    close(np.linalg.norm(v, 1), 7);
    close(np.linalg.norm(v, 0), 2);
    close(np.linalg.norm(v, Infinity), 4);
    close(np.linalg.norm(v, -Infinity), 0);
    close(np.linalg.norm(v, 3), Math.cbrt(27 + 64));
    close(np.linalg.norm(M, 1, 0), [4, 6]);
    close(np.linalg.norm(M, null, 1), [Math.sqrt(5), 5]);
    const stack = np.stack([M, np.multiply(M, 2)]);
    close(np.linalg.norm(stack, Infinity, [1, 2]), [7, 14]);
    close(np.linalg.norm(stack, 1, [2, 1]), [7, 14]); // swapped pair: rows become columns
    expect(np.linalg.norm(stack, "fro", [1, 2], { keepdims: true }).shape).toEqual([2, 1, 1]);
    expect(np.linalg.norm(stack, 2, [-2, -1], { keepdims: true }).shape).toEqual([2, 1, 1]);
    close(np.linalg.matrixNorm(stack, { ord: 2 }), [S1, 2 * S1]);
    close(np.linalg.vectorNorm(M), Math.sqrt(30));
    close(np.linalg.vectorNorm(M, { ord: 1, axis: 1 }), [3, 7]);
    expect(np.linalg.norm(np.array([1, 2], { dtype: "int32" })).dtype).toBe("float32");
  });

  test("invalid combinations are typed errors", () => {
    expect(() => np.linalg.norm(np.array([1, 2]), "fro")).toThrow(ArgumentError);
    expect(() => np.linalg.norm(np.array([1, 2]), "nuc")).toThrow(ArgumentError);
    expect(() => np.linalg.norm(M, 3)).toThrow(ArgumentError);
    expect(() => np.linalg.norm(M, 0)).toThrow(/invalid ord 0 for a matrix norm/);
    expect(() => np.linalg.norm(np.ones([2, 2, 2]), 1)).toThrow(ShapeError);
    expect(() => np.linalg.norm(M, null, [1, 1])).toThrow(ArgumentError);
    expect(() => np.linalg.norm(np.ones([2, 2, 2]), null, [0, 1, 2])).toThrow(ArgumentError);
    expect(() => np.linalg.matrixNorm(np.array([1, 2]))).toThrow(ShapeError);
  });
});

describe("LU-based: det, slogdet, solve, inv", () => {
  test("lu pivots like LAPACK: P A = L U", () => {
    const [lu, pivots, perm] = lax.linalg.lu(M);
    // Row 1 (|3| > |1|) is the first pivot: L = [[1, 0], [1/3, 1]], U = [[3, 4], [0, 2/3]].
    close(lu, [[3, 4], [1 / 3, 2 / 3]]);
    expect(pivots.tolist()).toEqual([1, 1]);
    expect(perm.tolist()).toEqual([1, 0]);
    expect(pivots.dtype).toBe("int32");
    const a = np.array([[2, 1, 1, 0], [4, 3, 3, 1], [8, 7, 9, 5], [6, 7, 9, 8]]);
    const [p, piv2, perm2] = lax.linalg.lu(a);
    const l = np.add(np.tril(p, -1), eye(4));
    close(np.matmul(l, np.triu(p)), np.take(a, perm2, 0).tolist());
    expect(piv2.shape).toEqual([4]);
    // A wide matrix: L is 2×2, U 2×3.
    const w = np.array([[1, 2, 3], [4, 5, 6]]);
    const [pw, , permw] = lax.linalg.lu(w);
    close(np.matmul(np.add(np.index(np.tril(pw, -1), [":", [0, 2]]), eye(2)), np.triu(pw)), np.take(w, permw, 0).tolist());
  });

  test("det, slogdet, solve and inv of small matrices", () => {
    close(np.linalg.det(M), -2);
    const [sign, logdet] = np.linalg.slogdet(M);
    close(sign, -1);
    close(logdet, Math.log(2));
    close(np.linalg.det(np.array([[2, 0, 0], [0, 3, 0], [0, 0, 4]])), 24);
    close(np.linalg.det(np.array([[1, 2], [2, 4]])), 0);
    const [s0, l0] = np.linalg.slogdet(np.array([[1, 2], [2, 4]]));
    close(s0, 0);
    close(l0, -Infinity);
    close(np.linalg.inv(M), [[-2, 1], [1.5, -0.5]]);
    close(np.linalg.solve(M, np.array([5, 11])), [1, 2]);
    close(np.linalg.solve(M, np.array([[5, 1], [11, 3]])), [[1, 1], [2, 0]]);
    // Batch dims broadcast: one matrix against two right-hand sides.
    const b = np.array([[[5], [11]], [[1], [3]]]);
    close(np.linalg.solve(M, b), [[[1], [2]], [[1], [0]]]);
    const stack = np.stack([M, np.multiply(M, 2)]);
    close(np.linalg.det(stack), [-2, -8]);
    close(np.matmul(stack, np.linalg.inv(stack)), [eye(2).tolist(), eye(2).tolist()]);
  });

  test("shape and dtype errors name the function", () => {
    expect(() => np.linalg.det(np.ones([2, 3]))).toThrow(/np.linalg.det: expected square matrices/);
    expect(() => np.linalg.inv(np.ones([3]))).toThrow(ShapeError);
    expect(() => np.linalg.solve(M, np.ones([3]))).toThrow(/np.linalg.solve/);
    expect(() => np.linalg.det(np.array([[true, false], [false, true]]))).toThrow(DTypeError);
    expect(() => np.linalg.matrixPower(M, 1.5)).toThrow(ArgumentError);
    expect(() => np.linalg.multiDot([M])).toThrow(ArgumentError);
    expect(() => np.linalg.multiDot([M, np.ones([3, 2])])).toThrow(ShapeError);
    expect(() => lax.linalg.triangularSolve(M, np.ones([3, 2]), { leftSide: true })).toThrow(ShapeError);
    expect(() => np.linalg.qr(M, "raw" as "r")).toThrow(ArgumentError);
  });
});

describe("decompositions reconstruct their input", () => {
  const A = np.array([[4, 1, 2], [1, 5, 3], [2, 3, 6]]);

  test("cholesky: L Lᵀ = A, L lower; NaN for a matrix that is not positive definite", () => {
    close(np.linalg.cholesky(np.array([[4, 2], [2, 3]])), [[2, 0], [1, Math.SQRT2]]);
    const l = np.linalg.cholesky(A);
    close(np.matmul(l, mT(l)), A.tolist());
    close(np.triu(l, 1), np.zeros([3, 3]).tolist());
    close(np.linalg.cholesky(A, { upper: true }), mT(l).tolist());
    expect(flat(np.linalg.cholesky(np.array([[1, 2], [2, 1]]))).every(Number.isNaN)).toBe(true);
  });

  test("qr: Q R = A with orthonormal Q, in every mode and shape", () => {
    for (const shape of [[3, 2], [2, 3], [3, 3]]) {
      const a = np.reshape(np.array([1, 2, 3, 4, 5, 7, 8, 9, 11].slice(0, shape[0] * shape[1])), shape);
      const k = Math.min(...shape);
      const [q, r] = np.linalg.qr(a);
      expect(q.shape).toEqual([shape[0], k]);
      expect(r.shape).toEqual([k, shape[1]]);
      close(np.matmul(q, r), a.tolist(), 1e-5);
      close(np.matmul(mT(q), q), eye(k).tolist(), 1e-5);
      close(np.tril(r, -1), np.zeros(r.shape).tolist());
      const [qc, rc] = np.linalg.qr(a, "complete");
      expect(qc.shape).toEqual([shape[0], shape[0]]);
      close(np.matmul(qc, rc), a.tolist(), 1e-5);
      close(np.matmul(mT(qc), qc), eye(shape[0]).tolist(), 1e-5);
    }
    // LAPACK's (and so JAX's) signs: R[0, 0] = -‖a[:, 0]‖ for a positive first column.
    const r = np.linalg.qr(np.array([[1, 2], [3, 4], [5, 6]]), "r");
    close(np.index(r, [0, 0]), -Math.sqrt(35));
  });

  test("eigh: ascending eigenvalues, A V = V diag(w), Vᵀ V = I", () => {
    const [w2, v2] = np.linalg.eigh(np.array([[2, 1], [1, 2]]));
    close(w2, [1, 3]);
    close(np.abs(v2), [[Math.SQRT1_2, Math.SQRT1_2], [Math.SQRT1_2, Math.SQRT1_2]]);
    const [w, v] = np.linalg.eigh(A);
    close(np.matmul(A, v), np.multiply(v, w).tolist(), 1e-5);
    close(np.matmul(mT(v), v), eye(3).tolist(), 1e-5);
    close(np.sum(w), 15, 1e-5); // the trace
    close(np.linalg.eigvalsh(np.diag(np.array([3, -1, 2]))), [-1, 2, 3]);
    // Only the named triangle is read when the input is not symmetrized.
    const lowerOnly = np.array([[2, 100], [1, 2]]);
    close(np.linalg.eigh(lowerOnly, "L", { symmetrizeInput: false })[0], [1, 3]);
    const [vl] = lax.linalg.eigh(A);
    expect(vl.shape).toEqual([3, 3]); // lax returns [v, w]
  });

  test("svd: U diag(s) Vᵀ = A with descending s, full and reduced, tall and wide", () => {
    close(np.linalg.svdvals(np.array([[3, 0], [0, -2]])), [3, 2]);
    close(np.linalg.svdvals(M), [S1, S2]);
    for (const a of [np.array([[1, 2], [3, 4], [5, 6]]), np.array([[1, 2, 0], [3, 4, 1]])]) {
      const [m, n] = a.shape;
      const k = Math.min(m, n);
      const [u, s, vh] = np.linalg.svd(a, { fullMatrices: false });
      expect([u.shape, s.shape, vh.shape]).toEqual([[m, k], [k], [k, n]]);
      close(np.matmul(np.multiply(u, s), vh), a.tolist(), 1e-5);
      const [uf, sf, vhf] = np.linalg.svd(a);
      expect([uf.shape, vhf.shape]).toEqual([[m, m], [n, n]]);
      close(np.matmul(mT(uf), uf), eye(m).tolist(), 1e-5);
      close(np.matmul(vhf, mT(vhf)), eye(n).tolist(), 1e-5);
      close(sf, s.tolist());
      expect(flat(s)[0]).toBeGreaterThanOrEqual(flat(s)[1]);
    }
    // A rank-deficient matrix still gets an orthonormal U.
    const [u0, s0] = np.linalg.svd(np.array([[1, 1], [1, 1], [0, 0]]));
    close(s0, [2, 0], 1e-5);
    close(np.matmul(mT(u0), u0), eye(3).tolist(), 1e-5);
    expect(np.linalg.svd(M, { computeUv: false }).shape).toEqual([2]);
  });

  test("triangularSolve: every side, triangle, transpose and unit-diagonal combination", () => {
    const full = np.array([[2, 7, 5], [1, 3, 9], [4, 6, 5]]);
    const b = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 10]]);
    for (const leftSide of [true, false]) {
      for (const lower of [true, false]) {
        for (const transposeA of [true, false]) {
          for (const unitDiagonal of [true, false]) {
            let t = lower ? np.tril(full) : np.triu(full);
            if (unitDiagonal) t = np.add(np.subtract(t, np.diag(np.diagonal(t))), eye(3));
            const op = transposeA ? mT(t) : t;
            const x = lax.linalg.triangularSolve(full, b, { leftSide, lower, transposeA, unitDiagonal });
            close(leftSide ? np.matmul(op, x) : np.matmul(x, op), b.tolist(), 1e-4);
          }
        }
      }
    }
  });

  test("lstsq, pinv, matrixRank, matrixPower, multiDot, cond", () => {
    // Fit y = x0 + x1 t through (1, 1), (2, 2), (3, 2): normal equations give x = [2/3, 1/2], residual 1/6.
    const a = np.array([[1, 1], [1, 2], [1, 3]]);
    const [x, resid, rank, s] = np.linalg.lstsq(a, np.array([1, 2, 2]));
    close(x, [2 / 3, 1 / 2], 1e-5);
    close(resid, 1 / 6, 1e-4);
    expect(rank.item()).toBe(2);
    expect(s.shape).toEqual([2]);
    const p = np.linalg.pinv(a);
    close(np.matmul(np.matmul(a, p), a), a.tolist(), 1e-5);
    close(np.matmul(p, a), eye(2).tolist(), 1e-5);
    expect(np.linalg.matrixRank(np.array([[1, 2], [2, 4]])).item()).toBe(1);
    expect(np.linalg.matrixRank(np.stack([M, np.array([[1, 2], [2, 4]])])).tolist()).toEqual([2, 1]);
    close(np.linalg.matrixPower(M, 3), [[37, 54], [81, 118]]);
    close(np.linalg.matrixPower(M, 0), eye(2).tolist());
    close(np.linalg.matrixPower(M, -2), np.matmul(np.linalg.inv(M), np.linalg.inv(M)).tolist(), 1e-4);
    const chain = [np.ones([1, 5]), np.ones([5, 3]), np.ones([3, 4])];
    close(np.linalg.multiDot(chain), np.matmul(np.matmul(chain[0], chain[1]), chain[2]).tolist());
    close(np.linalg.multiDot([np.array([1, 2]), M, np.array([1, 1])]), 1 * 3 + 2 * 7);
    close(np.linalg.cond(np.diag(np.array([4, 2]))), 2);
  });
});

describe("batching, jit and backends", () => {
  const stack = np.stack([np.array([[4, 1], [1, 3]]), np.array([[5, 2], [2, 2]])]);

  test("stacks, vmap and jit agree with one matrix at a time", () => {
    const per = [0, 1].map((i) => np.linalg.cholesky(np.index(stack, [i])).tolist());
    close(np.linalg.cholesky(stack), per);
    close(vmap((a: Array) => np.linalg.cholesky(a))(stack), per);
    close(jit((a: Array) => np.linalg.cholesky(a))(stack), per);
    const w = jit((a: Array) => np.linalg.eigvalsh(a))(stack);
    close(w, [0, 1].map((i) => np.linalg.eigvalsh(np.index(stack, [i])).tolist()), 1e-5);
    close(vmap((a: Array) => np.linalg.det(a))(stack), [11, 6]);
    const svdStack = vmap((a: Array) => np.linalg.svdvals(a))(stack);
    close(svdStack, [0, 1].map((i) => np.linalg.svdvals(np.index(stack, [i])).tolist()), 1e-5);
  });

  test("jit of np.linalg code, and of its gradient, compiles to one program (the custom rules are inlined at lowering)", () => {
    const a = np.array([[4, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]]);
    const b = np.array([1, -2, 0.5]);
    const programOf = (text: string) => text.slice(text.indexOf("# program on"));
    const solve = (x: Array) => np.linalg.solve(a, x);
    const jSolve = jit(solve);
    const solveText = jSolve.lower(b).text();
    expect(solveText).toContain("custom_jvp_call"); // in the traced jaxpr ...
    expect(programOf(solveText)).not.toContain("run op by op"); // ... but not in the program
    expect(programOf(solveText)).not.toContain("HOST FALLBACK");
    expect(programOf(solveText)).toContain("triangular_solve float32");
    close(jSolve(b), solve(b).tolist(), 1e-6);

    const lossOf = (m: Array) => np.add(np.sum(np.square(np.linalg.solve(m, b))), np.linalg.slogdet(m)[1]);
    const jGrad = jit(grad(lossOf));
    const gradText = programOf(jGrad.lower(a).text());
    expect(gradText).not.toContain("run op by op");
    expect(gradText).not.toContain("HOST FALLBACK");
    close(jGrad(a), grad(lossOf)(a).tolist(), 1e-5);

    const spectral = jit((m: Array) => {
      const [w, v] = np.linalg.eigh(m);
      const [q, r] = np.linalg.qr(m);
      return [w, np.matmul(np.multiply(v, np.expandDims(w, -2)), mT(v)), np.matmul(q, r), np.linalg.cholesky(m), np.linalg.svdvals(m)];
    });
    expect(programOf(spectral.lower(stack).text())).not.toContain("run op by op");
    const got = spectral(stack);
    const want = [np.linalg.eigvalsh(stack), stack, stack, np.linalg.cholesky(stack), np.linalg.svdvals(stack)];
    got.forEach((g, i) => close(g, want[i].tolist(), 1e-5));
  });

  test("the interpreter (the reference backend) gives the same decompositions", () => {
    const wasm = [np.linalg.inv(stack), np.linalg.eigvalsh(stack), np.linalg.qr(stack)[1], np.linalg.svdvals(stack)].map((x) => x.tolist());
    const previous = defaultBackendName();
    setDefaultBackend("interpreter");
    try {
      const interp = [np.linalg.inv(stack), np.linalg.eigvalsh(stack), np.linalg.qr(stack)[1], np.linalg.svdvals(stack)];
      interp.forEach((x, i) => close(x, wasm[i], 1e-5));
    } finally {
      setDefaultBackend(previous);
    }
  });
});

describe("the decomposition kernels (wasm/src/linalg.rs) against the interpreter", () => {
  const randomStack = (shape: number[], seed: number) => random.normal(random.key(seed), shape);
  const bitsOf = (xs: Array[]) => xs.map((x) => [x.dtype, x.shape, globalThis.Array.from(x.dataSync() as ArrayLike<number>)]);
  /** Runs `f` on the same input values on wasm and on the interpreter. */
  const onBothBackends = (inputs: Array[], f: (...xs: Array[]) => Array[]) => {
    const values = inputs.map((x) => x.tolist() as number[][]);
    const run = () => bitsOf(f(...values.map((v) => np.array(v))));
    const wasm = run();
    const previous = defaultBackendName();
    setDefaultBackend("interpreter");
    try {
      return [wasm, run()];
    } finally {
      setDefaultBackend(previous);
    }
  };
  const spd = np.add(np.matmul(randomStack([2, 7, 7], 1), mT(randomStack([2, 7, 7], 1))), np.eye(7));
  const rankTwo = np.matmul(randomStack([6, 2], 3), randomStack([2, 5], 4)); // rank-deficient: U is completed
  const triangular = np.add(randomStack([2, 5, 5], 11), np.multiply(np.eye(5), 4));

  test("every decomposition gives the interpreter's float32 bits (same float64 algorithm, same operation order)", () => {
    const cases: [string, Array[], (...xs: Array[]) => Array[]][] = [
      ["cholesky", [spd], (a) => [bind1("cholesky", [a], {})]],
      ["lu", [randomStack([2, 5, 7], 2)], (a) => bind("lu", [a], {})],
      ["lu tall", [randomStack([7, 4], 5)], (a) => bind("lu", [a], {})],
      ["qr", [randomStack([3, 9, 4], 6)], (a) => bind("qr", [a], { fullMatrices: true })],
      ["qr wide reduced", [randomStack([4, 9], 7)], (a) => bind("qr", [a], { fullMatrices: false })],
      ["eigh", [randomStack([2, 12, 12], 8)], (a) => bind("eigh", [a], {})],
      ["svd", [randomStack([2, 9, 6], 9)], (a) => bind("svd", [a], { fullMatrices: true })],
      ["svd wide", [randomStack([5, 11], 10)], (a) => bind("svd", [a], { fullMatrices: false })],
      ["svd rank 2", [rankTwo], (a) => bind("svd", [a], { fullMatrices: true })],
      ...[true, false].flatMap((leftSide) =>
        [true, false].map((lower): [string, Array[], (...xs: Array[]) => Array[]] => [
          `triangular_solve left=${leftSide} lower=${lower}`,
          [triangular, randomStack(leftSide ? [2, 5, 3] : [2, 3, 5], 12)],
          (a, b) => [bind1("triangular_solve", [a, b], { leftSide, lower, transposeA: !lower, unitDiagonal: leftSide })],
        ]),
      ),
    ];
    for (const [name, inputs, f] of cases) {
      const [wasm, interp] = onBothBackends(inputs, f);
      expect(wasm, name).toEqual(interp);
    }
  });

  test("under jit the decompositions are wasm library steps, not host fallbacks", () => {
    const a = randomStack([3, 8, 8], 13);
    const text = jit((x: Array) => [...bind("eigh", [x], {}), ...bind("svd", [x], { fullMatrices: false })]).lower(a).text();
    expect(text).toContain("eigh float32, 3 × 8×8");
    expect(text).toContain("svd float32, 3 × 8×8");
    expect(text).not.toContain("HOST FALLBACK");
  });

  test("the bare primitives tell where their derivative lives; triangular_solve has JAX's own rules", () => {
    const a = randomStack([3, 3], 14);
    expect(() => grad((x: Array) => np.sum(bind("eigh", [x], {})[1]))(a)).toThrow(TransformError);
    expect(() => grad((x: Array) => np.sum(bind("eigh", [x], {})[1]))(a)).toThrow(/differentiated through its rule in lax.linalg/);
    const t = np.add(np.tril(a), np.multiply(np.eye(3), 3));
    const params = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };
    checkGrads((m: Array, b: Array) => bind1("triangular_solve", [m, b], params), [t, randomStack([3, 2], 15)], { eps: 1e-2, atol: 5e-2, rtol: 5e-2 });
  });
});

describe("gradients match finite differences", () => {
  const opts = { eps: 1e-2, atol: 5e-2, rtol: 5e-2 };
  const A = np.array([[2.5, 0.3, -0.4], [0.1, 1.8, 0.6], [-0.2, 0.5, 3.1]]);
  const spd = (a: Array) => np.add(np.matmul(a, mT(a)), eye(3));

  test("complete QR and full SVD of non-square matrices have no derivative (JAX raises too); the defined cases work", () => {
    const tall = np.array([[1.5, 0.2], [-0.3, 2.1], [0.7, 0.4]]);
    const completeQr = (a: Array) => np.sum(np.linalg.qr(a, "complete")[0]);
    expect(() => grad(completeQr)(tall)).toThrow(TransformError);
    expect(() => grad(completeQr)(tall)).toThrow(/complete QR .* tall 3×2 matrix is not defined/);
    const fullSvd = (a: Array) => np.sum(np.linalg.svd(a)[0]);
    for (const a of [tall, mT(tall)]) {
      expect(() => grad(fullSvd)(a)).toThrow(TransformError);
      expect(() => grad(fullSvd)(a)).toThrow(/full SVD .* non-square .* is not defined/);
    }
    // Square: the complete QR and the full SVD are the reduced ones, and are differentiated.
    checkGrads((a: Array) => np.linalg.qr(a, "complete"), [A], opts);
    checkGrads((a: Array) => {
      const [u, s, vh] = np.linalg.svd(a);
      return [s, np.matmul(np.multiply(u, s), vh)];
    }, [A], opts);
    // The singular values alone are differentiable for any shape.
    checkGrads((a: Array) => np.linalg.svd(a, { computeUv: false }), [tall], opts);
  });

  test("det, slogdet, inv, solve", () => {
    checkGrads((a: Array) => np.linalg.det(a), [A], opts);
    checkGrads((a: Array) => np.linalg.slogdet(a)[1], [A], opts);
    checkGrads((a: Array) => np.linalg.inv(a), [A], opts);
    checkGrads((a: Array, b: Array) => np.linalg.solve(a, b), [A, np.array([1, -2, 0.5])], opts);
    // d det / dA = det(A) A⁻ᵀ
    close(grad((a: Array) => np.linalg.det(a))(A), np.multiply(np.linalg.det(A), mT(np.linalg.inv(A))).tolist(), 1e-4);
  });

  test("cholesky, triangularSolve and lu", () => {
    checkGrads((a: Array) => np.linalg.cholesky(spd(a)), [A], opts);
    checkGrads((a: Array, b: Array) => lax.linalg.triangularSolve(a, b, { leftSide: true, lower: true }), [A, np.array([[1, 2], [0, -1], [3, 1]])], opts);
    checkGrads((a: Array, b: Array) => lax.linalg.triangularSolve(a, b, { transposeA: true, unitDiagonal: true }), [A, np.array([[1, 2, 0], [-1, 3, 1]])], opts);
    checkGrads((a: Array) => lax.linalg.lu(a)[0], [A], opts);
  });

  test("qr, eigh, svd (sign-invariant outputs), pinv, lstsq and the spectral norms", () => {
    const tall = np.array([[1.5, 0.2], [-0.3, 2.1], [0.7, 0.4]]);
    checkGrads((a: Array) => np.linalg.qr(a), [tall], opts);
    checkGrads((a: Array) => np.linalg.qr(a), [A], opts);
    checkGrads((a: Array) => np.linalg.qr(a), [mT(tall)], opts);
    const sym = (a: Array) => np.add(a, mT(a));
    checkGrads((a: Array) => {
      const [w, v] = np.linalg.eigh(sym(a));
      return [w, np.square(v)];
    }, [A], opts);
    checkGrads((a: Array) => np.linalg.svdvals(a), [tall], opts);
    checkGrads((a: Array) => {
      const [u, s, vh] = np.linalg.svd(a, { fullMatrices: false });
      return [s, np.matmul(np.multiply(u, s), vh), np.square(u), np.square(vh)];
    }, [tall], opts);
    checkGrads((a: Array) => np.linalg.pinv(a), [tall], opts);
    checkGrads((a: Array, b: Array) => np.linalg.lstsq(a, b)[0], [tall, np.array([1, 0.5, -1])], opts);
    checkGrads((a: Array) => np.linalg.norm(a, 2), [A], opts);
    checkGrads((a: Array) => np.linalg.norm(a, "nuc"), [A], opts);
  });
});
