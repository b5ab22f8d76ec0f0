// Property tests of the decompositions over random shapes and values
// (fast-check): the reconstruction identities Q R = A, L Lᵀ = A,
// U diag(s) Vᵀ = A, A V = V diag(w), P A = L U and A inv(A) = I, the
// orthonormality of Q, U, V, and batching (a stack equals its matrices one by
// one); then their derivatives, one builder per decomposition primitive
// (typed over Decomposition, so a new one cannot be forgotten): forward mode
// against finite differences and reverse against forward, first and second
// order, on inputs built to be differentiable (SPD, separated eigen and
// singular values, pivots that do not change within the step) and through
// functions of the factors that do not depend on their sign or basis choices.
// NUM_RUNS (default 15) sets the runs per property.

import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import { np, lax, jit, vjp, type Array, type Tracer } from "../src/index";
import type { Decomposition } from "../src/core/primitives";
import { expectAllclose, seededRandom } from "../src/testing";
import { checkGrads, checkSecondOrder, f32, rng, uniform, type Fn } from "../test/ad_check";

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

// --- derivatives ---------------------------------------------------------------------

type Rand = () => number;
interface GradientCase {
  f: Fn;
  xs: Array[];
  /** shapes and choices, for the failure message */
  info: unknown;
}

const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const batchOf = (rand: Rand): number[] => [[], [2], [3, 1]][int(rand, 0, 2)];
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const shuffled = (rand: Rand, n: number): number[] => {
  const p = [...globalThis.Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
};

/**
 * A stack of m×n matrices that are `diagonal[k]` at (rowOf[k], k) for k < min(m, n) plus
 * uniform noise in [-noise, noise) elsewhere and on those entries (each matrix its own).
 */
function dominantStack(rand: Rand, batch: number[], m: number, n: number, diagonal: (k: number) => number, rowOf: number[], noise: number): Array {
  const values = new Float32Array(sizeOf(batch) * m * n);
  for (let b = 0; b < sizeOf(batch); b++) {
    for (let i = 0; i < m * n; i++) values[b * m * n + i] = noise * (2 * rand() - 1);
    for (let k = 0; k < Math.min(m, n); k++) values[b * m * n + rowOf[k] * n + k] += diagonal(k);
  }
  return f32([...batch, m, n], values);
}

/** The rank-one products x[..., :, k] y[..., k, :] of paired columns and rows, [..., k, m, n]: unchanged when both flip sign. */
const pairProducts = (x: Tracer, yRows: Tracer): Tracer => np.einsum("...ik,...kj->...kij", x, yRows);

/**
 * Signs that make the diagonal of R positive: D R and Q D are the unique QR factors with that
 * normalisation, smooth where R's diagonal is nonzero (Householder's own signs flip with the
 * sign of a pivot entry, so Q and R themselves are not).
 */
function canonicalQr(q: Tracer, r: Tracer): [Tracer, Tracer] {
  // Reduced QR: R is k×n with k = min(m, n), so its diagonal has one entry per column of Q.
  const d = np.sign(np.diagonal(r, 0, r.ndim - 2, r.ndim - 1));
  return [np.multiply(q, np.expandDims(d, -2)), np.multiply(r, np.expandDims(d, -1))];
}

const gradientCases: { [P in Decomposition]: (rand: Rand) => GradientCase } = {
  cholesky: (rand) => {
    // The symmetric part of x is B Bᵀ + n I (eigenvalues >= n); cholesky reads (x + xᵀ)/2.
    const batch = batchOf(rand);
    const n = int(rand, 1, 4);
    const b = uniform(rand, [...batch, n, n]);
    const x = np.add(np.add(np.matmul(b, np.swapaxes(b, -1, -2)), np.multiply(np.eye(n), n)), uniform(rand, [...batch, n, n], -0.3, 0.3));
    return { f: (a) => lax.linalg.cholesky(a), xs: [x as Array], info: { batch, n } };
  },
  lu: (rand) => {
    // Rows of a column-diagonally-dominant matrix in a random order: partial pivoting picks
    // the dominant entry with a margin of >= 2, so no pivot changes within the step.
    const batch = batchOf(rand);
    const m = int(rand, 1, 4);
    const n = int(rand, 1, 4);
    const rowOf = shuffled(rand, m);
    const x = dominantStack(rand, batch, m, n, () => (rand() < 0.5 ? -1 : 1) * (m + 2), rowOf, 1);
    return { f: (a) => lax.linalg.lu(a)[0], xs: [x], info: { batch, m, n, rowOf } };
  },
  qr: (rand) => {
    // Full column (or row) rank with singular values >= 1; the factors normalised to R's positive diagonal.
    const batch = batchOf(rand);
    const m = int(rand, 1, 4);
    const n = int(rand, 1, 4);
    const x = dominantStack(rand, batch, m, n, () => (rand() < 0.5 ? -1 : 1) * 3, [...globalThis.Array(m).keys()], 0.5);
    const f: Fn = (a) => {
      const [q, r] = lax.linalg.qr(a, { fullMatrices: false });
      const [qc, rc] = canonicalQr(q, r);
      return [qc, rc, np.matmul(q, np.swapaxes(q, -1, -2))];
    };
    return { f, xs: [x], info: { batch, m, n } };
  },
  eigh: (rand) => {
    // Diagonal entries 3 apart in a random order plus noise of norm < 1: eigenvalues stay >= 1 apart.
    const batch = batchOf(rand);
    const n = int(rand, 1, 4);
    const order = shuffled(rand, n);
    const x = dominantStack(rand, batch, n, n, (k) => 3 * order[k] - 4, [...globalThis.Array(n).keys()], 0.25);
    const f: Fn = (a) => {
      const [v, w] = lax.linalg.eigh(a);
      return [w, pairProducts(v, np.swapaxes(v, -1, -2))];
    };
    return { f, xs: [x], info: { batch, n, order } };
  },
  svd: (rand) => {
    // Singular values near 1, 2.5, 4, 5.5 (the noise moves each by < 0.6), placed at random rows.
    const batch = batchOf(rand);
    const m = int(rand, 1, 4);
    const n = int(rand, 1, 4);
    const order = shuffled(rand, Math.min(m, n));
    const rowOf = shuffled(rand, m);
    const x = dominantStack(rand, batch, m, n, (k) => (rand() < 0.5 ? -1 : 1) * (1 + 1.5 * order[k]), rowOf, 0.15);
    const f: Fn = (a) => {
      const [u, s, vh] = lax.linalg.svd(a, { fullMatrices: false });
      return [s, pairProducts(u, vh), np.matmul(u, np.swapaxes(u, -1, -2))];
    };
    return { f, xs: [x], info: { batch, m, n, order, rowOf } };
  },
  triangular_solve: (rand) => {
    // The triangle read has a diagonal of magnitude >= 1.5 over entries in [-1, 1).
    const batch = batchOf(rand);
    const n = int(rand, 1, 4);
    const k = int(rand, 1, 3);
    const flags = { leftSide: rand() < 0.5, lower: rand() < 0.5, transposeA: rand() < 0.5, unitDiagonal: rand() < 0.3 };
    const a = dominantStack(rand, batch, n, n, () => (rand() < 0.5 ? -1 : 1) * (1.5 + rand()), [...globalThis.Array(n).keys()], 1);
    const b = uniform(rand, flags.leftSide ? [...batch, n, k] : [...batch, k, n]);
    return { f: (x, y) => lax.linalg.triangularSolve(x, y, flags), xs: [a, b], info: { batch, n, k, ...flags } };
  },
};

const gradRuns = Math.max(4, Math.floor(numRuns / 2));

describe("decomposition derivatives: jvp vs finite differences, vjp vs jvp", () => {
  it.each(Object.keys(gradientCases) as Decomposition[])("%s", (name) => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const { f, xs, info } = gradientCases[name](rng(seed));
        checkGrads(f, xs, { label: `${name} ${JSON.stringify(info)}`, seed });
      }),
      { numRuns: gradRuns },
    );
  });
});

describe("decomposition derivatives, second order: forward/reverse over forward/reverse", () => {
  it.each(Object.keys(gradientCases) as Decomposition[])("%s", (name) => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const { f, xs, info } = gradientCases[name](rng(seed));
        checkSecondOrder(f, xs, { label: `${name} ${JSON.stringify(info)}`, seed });
      }),
      { numRuns: Math.max(2, Math.floor(gradRuns / 2)) },
    );
  });
});

describe("under jit, each decomposition case and its reverse-mode derivative compile to one program and match eager", () => {
  it.each(Object.keys(gradientCases) as Decomposition[])("%s", (name) => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const rand = rng(seed);
        const { f, xs, info } = gradientCases[name](rand);
        const outs = [f(...xs)].flat();
        const us = outs.map((o) => uniform(rand, o.shape));
        // The pullback of u: the custom_jvp_call equations of lax.linalg are in this jaxpr.
        const pulled = (...a: Tracer[]) => vjp((...b: Tracer[]) => [f(...b)].flat(), ...a)[1](us as never) as Tracer[];
        const jitted = jit(pulled);
        const text = jitted.lower(...xs).text();
        const program = text.slice(text.indexOf("# program on"));
        expect(program, `${name} ${JSON.stringify(info)}`).not.toContain("run op by op");
        expect(program, `${name} ${JSON.stringify(info)}`).not.toContain("HOST FALLBACK");
        expectAllclose(jit(f)(...xs), f(...xs), { atol: 1e-5, rtol: 1e-5 });
        expectAllclose(jitted(...xs), pulled(...xs), { atol: 1e-4, rtol: 1e-4 });
      }),
      { numRuns: Math.max(2, Math.floor(gradRuns / 2)) },
    );
  });
});
