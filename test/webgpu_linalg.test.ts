// The matrix decompositions on the WebGPU target: the planner's per-
// decomposition table (PlanTarget.decompositionKernels) sends cholesky,
// lu and triangular_solve to WGSL kernels and the others to host steps, which the
// listing marks and explains; a matrix that is not positive definite gives an
// all-NaN factor as on the interpreter, its neighbours in the batch unaffected;
// eager calls run the kernels too. Also memoryStats().programBytes for WebGPU
// programs: the device buffers a cached program holds, released by
// clearCache. The planner checks need no GPU; the others skip loudly without
// an adapter.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, memoryStats, np, setDefaultBackend, type Tracer } from "../src/index";
import { ShapedArray } from "../src/core/aval";
import type { DType } from "../src/core/dtype";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../src/core/ir";
import type { Decomposition, ParamsOf } from "../src/core/primitives";
import { Planner } from "../src/backends/plan/planner";
import { WASM_TARGET, type PlanTarget } from "../src/backends/plan/lowered_program";
import { WEBGPU_TARGET } from "../src/backends/webgpu/program";
import { gpu, mismatch, noGpuReason } from "./webgpu_setup";

/** The step kinds a one-equation program of `prim` plans to on `target`. */
function planned<P extends Decomposition>(target: PlanTarget, prim: P, params: ParamsOf<P>, ins: ShapedArray[], outs: ShapedArray[]): string[] {
  const inVars = ins.map((a) => new Var(a));
  const outVars = outs.map((a) => new Var(a));
  const jaxpr = new Jaxpr([], inVars, [new JaxprEqn(prim, inVars, params, outVars)], outVars);
  return Planner.plan(new ClosedJaxpr(jaxpr, []), target).steps.map((s) => s.kind);
}

const mat = (shape: number[], dtype: DType = "float32") => new ShapedArray(shape, dtype);
const SOLVE = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };

describe("PlanTarget.decompositionKernels", () => {
  it("plans cholesky, lu and triangular_solve as WebGPU library steps and qr, eigh and svd as host steps", () => {
    expect(planned(WEBGPU_TARGET, "cholesky", {}, [mat([2, 4, 4])], [mat([2, 4, 4])])).toEqual(["library"]);
    expect(planned(WEBGPU_TARGET, "triangular_solve", SOLVE, [mat([4, 4]), mat([4, 3])], [mat([4, 3])])).toEqual(["library"]);
    expect(planned(WEBGPU_TARGET, "lu", {}, [mat([4, 4])], [mat([4, 4]), mat([4], "int32"), mat([4], "int32")])).toEqual(["library"]);
    expect(planned(WEBGPU_TARGET, "eigh", {}, [mat([4, 4])], [mat([4, 4]), mat([4])])).toEqual(["fallback"]);
    expect(planned(WEBGPU_TARGET, "qr", { fullMatrices: false }, [mat([4, 3])], [mat([4, 3]), mat([3, 3])])).toEqual(["fallback"]);
    // wasm has a kernel for every one.
    expect(planned(WASM_TARGET, "eigh", {}, [mat([4, 4])], [mat([4, 4]), mat([4])])).toEqual(["library"]);
  });

  it("follows the table entry by entry, and keeps float16 decompositions on the host", () => {
    const noCholesky: PlanTarget = { ...WEBGPU_TARGET, decompositionKernels: { ...WEBGPU_TARGET.decompositionKernels, cholesky: false } };
    expect(planned(noCholesky, "cholesky", {}, [mat([4, 4])], [mat([4, 4])])).toEqual(["fallback"]);
    expect(planned(noCholesky, "triangular_solve", SOLVE, [mat([4, 4]), mat([4, 3])], [mat([4, 3])])).toEqual(["library"]);
    expect(planned(WEBGPU_TARGET, "cholesky", {}, [mat([4, 4], "float16")], [mat([4, 4], "float16")])).toEqual(["fallback"]);
  });
});

const spd2 = [4, 2, 2, 3]; // positive definite
const indefinite = [1, 2, 2, 1]; // eigenvalues 3 and -1

describe.skipIf(gpu === null)(`WebGPU decompositions${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  const onGpu = (data: number[], shape: number[]) => TfArray.fromTyped(Float32Array.from(data), shape, "float32", { backend: "webgpu" });
  const onInterp = (data: number[], shape: number[]) => TfArray.fromTyped(Float32Array.from(data), shape, "float32", { backend: "interpreter" });
  const chol = (x: Tracer) => lax.linalg.cholesky(x, { symmetrizeInput: false });

  it("gives an all-NaN factor for a matrix that is not positive definite, as the interpreter does, and leaves the rest of the batch alone", async () => {
    const data = [...spd2, ...indefinite, ...spd2.map((v) => 2 * v)];
    const got = await (jit(chol, { backend: "webgpu" })(onGpu(data, [3, 2, 2])) as TfArray).data();
    const want = await (chol(onInterp(data, [3, 2, 2])) as TfArray).data();
    expect(Array.from(got.subarray(4, 8)).every(Number.isNaN)).toBe(true);
    expect(Array.from(got.subarray(0, 4)).every(Number.isFinite)).toBe(true);
    expect(mismatch(got, want, 1e-6, 1e-7)).toBeNull();
    // a zero or NaN pivot fails too
    const zero = await (jit(chol, { backend: "webgpu" })(onGpu([0, 0, 0, 1], [2, 2])) as TfArray).data();
    expect(Array.from(zero).every(Number.isNaN)).toBe(true);
    const nan = await (jit(chol, { backend: "webgpu" })(onGpu([NaN, 0, 0, 1], [2, 2])) as TfArray).data();
    expect(Array.from(nan).every(Number.isNaN)).toBe(true);
  });

  it("runs the WGSL kernels eagerly (one-op programs) too", async () => {
    // 5I + J is positive definite; over 16 elements, so the values are not computed on the host (SHADOW_MAX).
    const a = Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 6 : 1));
    const b = Array.from({ length: 15 }, (_, i) => i - 7);
    const prev = defaultBackendName();
    setDefaultBackend("webgpu");
    let l: TfArray, x: TfArray;
    try {
      l = chol(onGpu(a, [5, 5])) as TfArray;
      x = lax.linalg.triangularSolve(l, onGpu(b, [5, 3]), { leftSide: true, lower: true }) as TfArray;
    } finally {
      setDefaultBackend(prev);
    }
    expect(l.backend.name).toBe("webgpu");
    const lWant = chol(onInterp(a, [5, 5])) as TfArray;
    const xWant = lax.linalg.triangularSolve(lWant, onInterp(b, [5, 3]), { leftSide: true, lower: true }) as TfArray;
    expect(mismatch(await l.data(), await lWant.data(), 1e-6, 1e-7)).toBeNull();
    expect(mismatch(await x.data(), await xWant.data(), 1e-6, 1e-7)).toBeNull();
  });

  it("lists the WGSL decomposition steps, and marks and explains the host steps that remain", () => {
    const a = onGpu(spd2, [2, 2]);
    const solveText = jit((m: Tracer) => lax.linalg.triangularSolve(chol(m), m, { leftSide: false, lower: true, transposeA: true }), { backend: "webgpu" }).lower(a).text();
    expect(solveText).toContain("WGSL cholesky float32, 1 × 2×2");
    expect(solveText).toContain("WGSL triangular_solve float32 (x·op(a) = b, lower, op = transpose), 1 × 2×2");
    expect(solveText).not.toContain("HOST FALLBACK");
    expect(jit((m: Tracer) => lax.linalg.lu(m)[0], { backend: "webgpu" }).lower(a).text()).toContain("WGSL lu float32, 1 × 2×2");
    const qrText = jit((m: Tracer) => lax.linalg.qr(m)[1], { backend: "webgpu" }).lower(a).text();
    expect(qrText).toMatch(/HOST FALLBACK qr on the host \(no WebGPU kernel for qr; the program waits for a readback here\)/);
    const half = TfArray.fromTyped(Float32Array.from(spd2), [2, 2], "float16", { backend: "webgpu" });
    const halfText = jit(chol, { backend: "webgpu" }).lower(half).text();
    expect(halfText).toContain("HOST FALLBACK cholesky on the host (no WebGPU kernel for cholesky on float16");
  });
});

describe.skipIf(gpu === null)(`memoryStats().programBytes on WebGPU${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
  it("counts the device buffers a cached program holds (workspace, constants, uniforms), apart from arrays, and drops them with clearCache", async () => {
    const n = 96;
    // tanh(x) and exp(x) are materialised for the matmul: two n×n float32 temporaries in the workspace at least.
    const f = jit((x: Tracer) => np.matmul(np.tanh(x), np.exp(x)), { backend: "webgpu" });
    const x = TfArray.fromTyped(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)), [n, n], "float32", { backend: "webgpu" });
    const before = memoryStats();
    const y = f(x) as TfArray;
    await y.data();
    const after = memoryStats();
    const held = after.programBytes - before.programBytes;
    expect(held).toBeGreaterThanOrEqual(2 * n * n * 4);
    // The output is an array, not the program's: it is not in programBytes.
    expect(held).toBeLessThan(3 * n * n * 4 + 64 * 1024);
    // A second run reuses the workspace: nothing more is held.
    await (f(x) as TfArray).data();
    expect(memoryStats().programBytes).toBe(after.programBytes);
    f.clearCache();
    expect(memoryStats().programBytes).toBe(before.programBytes);
  });

  it("counts a decomposition's parameter uniform, and drops it with clearCache", async () => {
    const f = jit(lax.linalg.cholesky, { backend: "webgpu" });
    const before = memoryStats().programBytes;
    await (f(TfArray.fromTyped(Float32Array.from(spd2), [2, 2], "float32", { backend: "webgpu" })) as TfArray).data();
    expect(memoryStats().programBytes - before).toBeGreaterThanOrEqual(16);
    f.clearCache();
    expect(memoryStats().programBytes).toBe(before);
  });
});
