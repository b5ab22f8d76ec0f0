// Property: the WGSL cholesky, lu and triangular_solve kernels
// (src/backends/webgpu/wgsl/decomposition.ts) equal the interpreter on random
// well-conditioned inputs — batched stacks, small and moderately large n
// (past one workgroup's 256 invocations per step), every triangular_solve
// variant (side, triangle, transpose, unit diagonal) with the unread triangle
// and diagonal filled with garbage, right-hand sides spanning several
// workgroups; lu of tall, wide and square stacks (more rows than a workgroup
// has invocations included), checked by backward error where float32 rounding
// picks another of two nearly equal pivots (linalg_residuals.ts) — in generic
// and specialised shaders; and `grad` of a
// Cholesky-solve loss jitted on WebGPU runs with no host step and equals the
// interpreter's. The interpreter works in float64 and rounds once, the kernels
// in float32: on these inputs (condition numbers below ~10) the results agree
// to a few float32 ulps of the matrix's scale.
//
// Skipped loudly without a WebGPU adapter. WEBGPU_NUM_RUNS (default 4) scales
// the runs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, grad, jit, lax, np, type Tracer } from "../src/index";
import type { TypedArray } from "../src/core/dtype";
import { rng } from "../test/rng";
import { gpu, inShaderMode, mismatch, noGpuReason, readAll, SHADER_MODES } from "../test/webgpu_setup";
import { luMismatch } from "./linalg_residuals";

const NUM_RUNS = Number(process.env.WEBGPU_NUM_RUNS ?? 4);

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Symmetric positive definite stacks X Xᵀ / n + I (eigenvalues in [1, 1 + n/3]); the upper triangle then overwritten with garbage, which cholesky must not read. */
function spdStack(r: () => number, batch: readonly number[], n: number): Float32Array {
  const out = new Float32Array(sizeOf(batch) * n * n);
  const x = new Float64Array(n * n);
  for (let m = 0; m < sizeOf(batch); m++) {
    for (let i = 0; i < n * n; i++) x[i] = 2 * r() - 1;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += (x[i * n + k] * x[j * n + k]) / n;
        out[m * n * n + i * n + j] = j > i ? 100 * (r() - 0.5) : s;
      }
    }
  }
  return out;
}

/** Random stacks whose `lower` (else upper) triangle is well conditioned (diagonal ±[1, 2], off-diagonal within ±1/n); the other triangle is garbage. */
function triangularStack(r: () => number, count: number, n: number, lower: boolean): Float32Array {
  const out = new Float32Array(count * n * n);
  for (let m = 0; m < count; m++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const inside = lower ? j < i : j > i;
        const v = i === j ? (r() < 0.5 ? -1 : 1) * (1 + r()) : inside ? (2 * r() - 1) / n : 50 * (r() - 0.5);
        out[m * n * n + i * n + j] = v;
      }
    }
  }
  return out;
}

function uniformStack(r: () => number, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => 4 * r() - 2);
}

/** Compares every output with the interpreter's to `rtol` of the output's largest magnitude. */
async function expectClose(got: TfArray[], want: TfArray[], rtol: number, what: string): Promise<void> {
  for (let k = 0; k < want.length; k++) {
    expect(got[k].aval.str()).toBe(want[k].aval.str());
    const w = await want[k].data();
    const g = await got[k].data();
    let scale = 0;
    for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]));
    const m = mismatch(g, w, 0, rtol * (1 + scale));
    if (m !== null) throw new Error(`${what}: output ${k}: ${m}`);
  }
}

const onGpu = (data: TypedArray, shape: readonly number[]) => TfArray.fromTyped(data, [...shape], "float32", { backend: "webgpu" });
const onInterp = (data: TypedArray, shape: readonly number[]) => TfArray.fromTyped(data.slice(), [...shape], "float32", { backend: "interpreter" });

const BATCHES: number[][] = [[], [1], [3], [2, 2]];
/** Mostly small n; now and then one past a workgroup's 256 invocations per phase (and the 64 right-hand sides of one workgroup). */
const sizeArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 24 }) }, { weight: 1, arbitrary: fc.constantFrom(33, 70, 130) });

for (const mode of SHADER_MODES) {
  describe.skipIf(gpu === null)(`property: WGSL cholesky, lu and triangular_solve equal the interpreter, ${mode.name} shaders${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
    inShaderMode(mode);

    it("cholesky of batched symmetric positive definite matrices", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...BATCHES), sizeArb, fc.nat(), async (batch, n, seed) => {
          const a = spdStack(rng(seed), batch, n);
          const shape = [...batch, n, n];
          const f = (x: Tracer) => lax.linalg.cholesky(x, { symmetrizeInput: false });
          const want = f(onInterp(a, shape)) as TfArray;
          const got = jit(f, { backend: "webgpu" })(onGpu(a, shape)) as TfArray;
          await expectClose([got], [want], 2e-6 * Math.max(4, n), `cholesky ${JSON.stringify(shape)} seed ${seed}`);
        }),
        { numRuns: mode.runs(NUM_RUNS * 3) },
      );
    });

    it("lu with partial pivoting of batched tall, wide and square matrices", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...BATCHES), sizeArb, sizeArb, fc.nat(), async (batch, m, n, seed) => {
          const shape = [...batch, m, n];
          const a = uniformStack(rng(seed), sizeOf(shape));
          const want = lax.linalg.lu(onInterp(a, shape));
          const got = jit((x: Tracer) => lax.linalg.lu(x), { backend: "webgpu" })(onGpu(a, shape));
          want.forEach((w, k) => expect(got[k].aval.str()).toBe(w.aval.str()));
          const e = luMismatch(a, await readAll(got), await readAll(want), sizeOf(batch), m, n);
          if (e !== null) throw new Error(`lu ${JSON.stringify(shape)} seed ${seed}: ${e}`);
        }),
        { numRuns: mode.runs(NUM_RUNS * 3) },
      );
    });

    it("triangular_solve: every side, triangle, transpose and unit diagonal, many right-hand sides", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...BATCHES),
          sizeArb,
          fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(64, 65, 150)),
          fc.record({ leftSide: fc.boolean(), lower: fc.boolean(), transposeA: fc.boolean(), unitDiagonal: fc.boolean() }),
          fc.nat(),
          async (batch, n, rhs, opts, seed) => {
            const r = rng(seed);
            const count = sizeOf(batch);
            const a = triangularStack(r, count, n, opts.lower);
            const bShape = opts.leftSide ? [...batch, n, rhs] : [...batch, rhs, n];
            const b = uniformStack(r, sizeOf(bShape));
            const aShape = [...batch, n, n];
            const f = (x: Tracer, y: Tracer) => lax.linalg.triangularSolve(x, y, opts);
            const want = f(onInterp(a, aShape), onInterp(b, bShape)) as TfArray;
            const got = jit(f, { backend: "webgpu" })(onGpu(a, aShape), onGpu(b, bShape)) as TfArray;
            await expectClose([got], [want], 4e-6 * Math.max(4, n), `triangular_solve a ${JSON.stringify(aShape)} b ${JSON.stringify(bShape)} ${JSON.stringify(opts)} seed ${seed}`);
          },
        ),
        { numRuns: mode.runs(NUM_RUNS * 6) },
      );
    });
  });
}

/** ‖x‖² for x solving (a aᵀ-ish) x = b through its Cholesky factor: the Cholesky-solve of a least-squares step. */
function choSolveLoss(a: Tracer, b: Tracer): Tracer {
  const l = lax.linalg.cholesky(a);
  const z = lax.linalg.triangularSolve(l, b, { leftSide: true, lower: true });
  const x = lax.linalg.triangularSolve(l, z, { leftSide: true, lower: true, transposeA: true });
  return np.sum(np.square(x));
}

describe.skipIf(gpu === null)(`property: grad of a Cholesky-solve loss on WebGPU equals the interpreter${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  it("d/da and d/db through cholesky and both triangular solves, with no host step in the program", { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom([], [2]), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 }), fc.nat(), async (batch, n, rhs, seed) => {
        const r = rng(seed);
        const a = spdStack(r, batch, n);
        // The loss symmetrises a itself (cholesky's default), so a garbage upper triangle would change it: make a symmetric.
        const count = sizeOf(batch);
        for (let m = 0; m < count; m++) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[m * n * n + i * n + j] = a[m * n * n + j * n + i];
        const aShape = [...batch, n, n];
        const bShape = [...batch, n, rhs];
        const b = uniformStack(r, sizeOf(bShape));
        const g = grad(choSolveLoss, { argnums: [0, 1] });
        const want = g(onInterp(a, aShape), onInterp(b, bShape)) as TfArray[];
        const jg = jit(g, { backend: "webgpu" });
        const got = jg(onGpu(a, aShape), onGpu(b, bShape)) as TfArray[];
        const listing = jg.lower(onGpu(a, aShape), onGpu(b, bShape)).text();
        expect(listing).toContain("WGSL cholesky");
        expect(listing).toContain("WGSL triangular_solve");
        expect(listing).not.toContain("HOST FALLBACK");
        await expectClose(got, want, 2e-5 * Math.max(4, n), `grad of the Cholesky-solve loss, a ${JSON.stringify(aShape)}, b ${JSON.stringify(bShape)}, seed ${seed}`);
      }),
      { numRuns: NUM_RUNS * 2 },
    );
  });
});
