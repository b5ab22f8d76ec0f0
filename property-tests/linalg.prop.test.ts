// Property tests of the decompositions over random shapes and values
// (fast-check): the reconstruction identities Q R = A, L Lᵀ = A,
// U diag(s) Vᵀ = A, A V = V diag(w), P A = L U and A inv(A) = I, the
// orthonormality of Q, U, V, and batching (a stack equals its matrices one by
// one). NUM_RUNS (default 15) sets the runs per property.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { np, lax, type Array } from "../src/index";
import { seededRandom } from "../src/testing";

const numRuns = Number(process.env.NUM_RUNS ?? 15);
const mT = (x: Array) => np.swapaxes(x, -1, -2);
const flat = (x: Array): number[] => globalThis.Array.from(x.dataSync() as ArrayLike<number>);

/** Values in [-1, 1) from a seed, as an array of `shape`. */
function randomArray(shape: number[], seed: number): Array {
  const next = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return np.reshape(np.array(Float32Array.from({ length: n }, () => 2 * next() - 1)), shape);
}

/** max |a - b| <= tol · max(1, max |b|) */
function expectNear(a: Array, b: Array, tol: number, what: string): void {
  const x = flat(a);
  const y = flat(b);
  expect(x.length).toBe(y.length);
  const scale = Math.max(1, ...y.map(Math.abs));
  const err = Math.max(0, ...x.map((v, i) => Math.abs(v - y[i])));
  if (!(err <= tol * scale)) throw new Error(`${what}: max error ${err} > ${tol * scale}`);
}

const eyeStack = (batch: number[], n: number) => np.broadcastTo(np.eye(n), [...batch, n, n]);
const dims = fc.integer({ min: 1, max: 5 });
const batchArb = fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 });
const seedArb = fc.integer({ min: 0, max: 1 << 30 });

describe("decompositions reconstruct their inputs", () => {
  test("qr: Q R = A, Qᵀ Q = I, R upper (reduced and complete)", () => {
    fc.assert(
      fc.property(batchArb, dims, dims, seedArb, (batch, m, n, seed) => {
        const a = randomArray([...batch, m, n], seed);
        const k = Math.min(m, n);
        const [q, r] = np.linalg.qr(a);
        expectNear(np.matmul(q, r), a, 1e-5, "Q R");
        expectNear(np.matmul(mT(q), q), eyeStack(batch, k), 1e-5, "QᵀQ");
        expectNear(np.tril(r, -1), np.zerosLike(r), 0, "tril(R)");
        const [qc, rc] = np.linalg.qr(a, "complete");
        expectNear(np.matmul(qc, rc), a, 1e-5, "complete Q R");
        expectNear(np.matmul(mT(qc), qc), eyeStack(batch, m), 1e-5, "complete QᵀQ");
      }),
      { numRuns },
    );
  });

  test("cholesky: L Lᵀ = A for A = B Bᵀ + n I", () => {
    fc.assert(
      fc.property(batchArb, dims, seedArb, (batch, n, seed) => {
        const b = randomArray([...batch, n, n], seed);
        const a = np.add(np.matmul(b, mT(b)), np.multiply(eyeStack(batch, n), n));
        const l = np.linalg.cholesky(a);
        expectNear(np.matmul(l, mT(l)), a, 1e-5, "L Lᵀ");
        expectNear(np.triu(l, 1), np.zerosLike(l), 0, "triu(L, 1)");
      }),
      { numRuns },
    );
  });

  test("eigh: A V = V diag(w), Vᵀ V = I, w ascending", () => {
    fc.assert(
      fc.property(batchArb, dims, seedArb, (batch, n, seed) => {
        const b = randomArray([...batch, n, n], seed);
        const a = np.add(b, mT(b));
        const [w, v] = np.linalg.eigh(a);
        expectNear(np.matmul(a, v), np.multiply(v, np.expandDims(w, -2)), 1e-5, "A V");
        expectNear(np.matmul(mT(v), v), eyeStack(batch, n), 1e-5, "VᵀV");
        const ws = flat(w);
        for (let i = 0; i + 1 < ws.length; i++) if ((i + 1) % n !== 0) expect(ws[i]).toBeLessThanOrEqual(ws[i + 1] + 1e-6);
      }),
      { numRuns },
    );
  });

  test("svd: U diag(s) Vᵀ = A, orthonormal U and V, s descending and non-negative", () => {
    fc.assert(
      fc.property(batchArb, dims, dims, seedArb, (batch, m, n, seed) => {
        const a = randomArray([...batch, m, n], seed);
        const k = Math.min(m, n);
        const [u, s, vh] = np.linalg.svd(a, { fullMatrices: false });
        expectNear(np.matmul(np.multiply(u, np.expandDims(s, -2)), vh), a, 1e-5, "U S Vᵀ");
        expectNear(np.matmul(mT(u), u), eyeStack(batch, k), 1e-5, "UᵀU");
        expectNear(np.matmul(vh, mT(vh)), eyeStack(batch, k), 1e-5, "V Vᵀ");
        const ss = flat(s);
        for (let i = 0; i < ss.length; i++) {
          expect(ss[i]).toBeGreaterThanOrEqual(0);
          if ((i + 1) % k !== 0) expect(ss[i]).toBeGreaterThanOrEqual(ss[i + 1] - 1e-6);
        }
      }),
      { numRuns },
    );
  });

  test("lu: P A = L U; inv: A inv(A) = I; solve: A x = b", () => {
    fc.assert(
      fc.property(batchArb, dims, seedArb, (batch, n, seed) => {
        // Diagonally weighted so the matrices are well conditioned.
        const a = np.add(randomArray([...batch, n, n], seed), np.multiply(eyeStack(batch, n), 2));
        const [p, , perm] = lax.linalg.lu(a);
        const l = np.add(np.tril(p, -1), eyeStack(batch, n));
        const pa = np.takeAlongAxis(a, np.broadcastTo(np.expandDims(perm, -1), a.shape), -2);
        expectNear(np.matmul(l, np.triu(p)), pa, 1e-5, "L U");
        expectNear(np.matmul(a, np.linalg.inv(a)), eyeStack(batch, n), 1e-4, "A inv(A)");
        const b = randomArray([...batch, n, 2], seed + 1);
        expectNear(np.matmul(a, np.linalg.solve(a, b)), b, 1e-4, "A solve(A, b)");
      }),
      { numRuns },
    );
  });

  test("a stack equals its matrices decomposed one by one", () => {
    fc.assert(
      fc.property(dims, dims, seedArb, (m, n, seed) => {
        const a = randomArray([3, m, n], seed);
        const s = np.linalg.svdvals(a);
        const [q, r] = np.linalg.qr(a);
        for (let i = 0; i < 3; i++) {
          const ai = np.index(a, [i]);
          expectNear(np.index(s, [i]), np.linalg.svdvals(ai), 1e-5, "svdvals");
          const [qi, ri] = np.linalg.qr(ai);
          expectNear(np.index(q, [i]), qi, 1e-5, "q");
          expectNear(np.index(r, [i]), ri, 1e-5, "r");
        }
      }),
      { numRuns: Math.max(3, Math.floor(numRuns / 3)) },
    );
  });
});
