// The WebGPU pipeline cache (runtime.ts): bounded by the kernel cache
// capacity, least recently used first out, so shape-specialised shaders over
// ever-new shapes keep it at its bound; an evicted pipeline a cached program
// holds keeps that program working, and one whose shape returns in a new
// program compiles again with the same results; a pipeline leaves the cache
// once no cached program uses it (jit's clearCache), not before; the
// backend's pipelineCount, memoryStats().pipelines and kernelCacheSizes()
// agree; with specialised shaders the eager op cache keeps fewer signatures
// (each holds pipelines of its own), evicts the least recently used and
// releases their pipelines, so the pipelines alive stay bounded too.
// Skipped, loudly, where no adapter exists.

import { afterEach, describe, expect, it } from "vitest";
import { ArrayImpl, jit, memoryStats, np, setDefaultBackend, type Array as TfArray } from "../src/index";
import { DEFAULT_KERNEL_CACHE_CAPACITY, kernelCacheSizes, setKernelCacheCapacity } from "../src/core/kernel_cache_capacity";
import { DEFAULT_PREPARED_OP_CAPACITY, preparedOpCount } from "../src/core/eager_op_cache";
import { SPECIALISED_EAGER_SIGNATURES } from "../src/backends/webgpu";
import { compositeCount } from "../transforms/compiled_call";
import type { GpuRuntime } from "../src/backends/webgpu/runtime";
import { gpu, inShaderMode, mismatch, noGpuReason, SHADER_MODES } from "./webgpu_setup";

const runtime = () => (gpu as unknown as { rt: GpuRuntime }).rt;
/** `n` values of a ramp on the GPU, as an array of `shape`. */
const ramp = (shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return ArrayImpl.fromTyped(Float32Array.from({ length: n }, (_, i) => (i % 17) / 8 - 1), shape, "float32", { backend: "webgpu" });
};
/** What the cache holds, by the three counts that report it. */
const counts = () => ({ pipelineCount: gpu!.pipelineCount, memoryStats: memoryStats().pipelines, kernelCacheSizes: kernelCacheSizes()["webgpu pipelines"] });
const expectCounts = (n: number) => expect(counts()).toEqual({ pipelineCount: n, memoryStats: n, kernelCacheSizes: n });

/** f(x) = tanh(x)·scale + 0.5, checked elementwise against the host's value. */
async function expectRamp(y: TfArray, x: ArrayImpl, scale: number): Promise<void> {
  const xs = await x.data();
  const want = Float32Array.from(xs, (v) => Math.tanh(v) * scale + 0.5);
  expect(mismatch(await y.data(), want, 1e-5, 1e-5)).toBeNull();
}

describe.skipIf(gpu === null)(`WebGPU pipeline cache${gpu === null ? ` (SKIPPED: ${noGpuReason})` : ""}`, () => {
  afterEach(() => {
    setKernelCacheCapacity(DEFAULT_KERNEL_CACHE_CAPACITY);
    setDefaultBackend("wasm");
  });

  describe("with shape-specialised shaders", () => {
    inShaderMode(SHADER_MODES.find((m) => m.name === "specialised")!);

    it("stays at its bound over many shapes; an evicted pipeline keeps its program working and is compiled again when its shape returns", { timeout: 240_000 }, async () => {
      const rt = runtime();
      const bound = rt.pipelineCount + 3;
      setKernelCacheCapacity(bound);
      const f = jit((x: TfArray) => np.tanh(x).mul(1.75).add(0.5), { backend: "webgpu" });
      const lengths = Array.from({ length: 3 * bound }, (_, i) => 5 + 3 * i);
      for (const n of lengths) {
        const x = ramp([n]);
        await expectRamp(f(x), x, 1.75);
        expect(gpu!.pipelineCount).toBeLessThanOrEqual(bound);
      }
      expectCounts(bound);
      // The first shape's pipeline fell out of the cache; the program jit cached for it still holds and runs it.
      const first = ramp([lengths[0]]);
      const compiled = rt.compiledPipelines;
      await expectRamp(f(first), first, 1.75);
      expect(rt.compiledPipelines).toBe(compiled);
      // A new program at that shape compiles it again, with the same results.
      const g = jit((x: TfArray) => np.tanh(x).mul(1.75).add(0.5), { backend: "webgpu" });
      await expectRamp(g(first), first, 1.75);
      expect(rt.compiledPipelines).toBe(compiled + 1);
      expectCounts(bound);
      f.clearCache();
      g.clearCache();
    });

    it("bounds the pipelines of eager operations over ever-new shapes too", { timeout: 240_000 }, async () => {
      const bound = runtime().pipelineCount + 2;
      setKernelCacheCapacity(bound);
      setDefaultBackend("webgpu");
      for (let n = 20; n < 20 + 4 * bound; n++) {
        const x = ramp([n]);
        await expectRamp(np.tanh(x).mul(2.25).add(0.5), x, 2.25);
        expect(gpu!.pipelineCount).toBeLessThanOrEqual(bound);
      }
      expectCounts(bound);
    });

    it("keeps fewer eager signatures, least recently used out, and releases the evicted ones' pipelines", { timeout: 240_000 }, async () => {
      const rt = runtime();
      expect(gpu!.preparedOpCapacity).toBe(SPECIALISED_EAGER_SIGNATURES);
      const bound = 6;
      setKernelCacheCapacity(bound); // the eager bound follows a lower kernel cache capacity
      expect(gpu!.preparedOpCapacity).toBe(bound);
      setDefaultBackend("webgpu");
      const hotX = ramp([7]);
      await expectRamp(np.tanh(hotX).mul(0.75).add(0.5), hotX, 0.75);
      const held0 = rt.heldPipelines;
      for (let n = 40; n < 40 + 6 * bound; n++) {
        const x = ramp([n]);
        await expectRamp(np.tanh(x).mul(1.25).add(0.5), x, 1.25);
        // The hot shape's three ops, used every step, are never the least recently used.
        const compiled = rt.compiledPipelines;
        await expectRamp(np.tanh(hotX).mul(0.75).add(0.5), hotX, 0.75);
        expect(rt.compiledPipelines).toBe(compiled);
        expect(preparedOpCount(gpu!)).toBeLessThanOrEqual(bound);
        expect(compositeCount()).toBeLessThanOrEqual(bound);
        // tanh is a one-op signature, mul and add by a number are composites (one program each): every
        // one holds one pipeline, and the evicted ones' went with them (3 new programs a step).
        expect(rt.heldPipelines).toBeLessThanOrEqual(held0 + 2 * bound);
      }
      expect(rt.compiledPipelines).toBeGreaterThanOrEqual(3 * 6 * bound);
    });
  });

  it("keeps the default number of eager signatures with generic shaders (they share pipelines across shapes)", () => {
    expect(runtime().specializeShapes).toBe(false);
    expect(gpu!.preparedOpCapacity).toBe(DEFAULT_PREPARED_OP_CAPACITY);
  });

  it("releases on clearCache the pipelines no other cached program uses, and evicts down to a lowered capacity at once", { timeout: 120_000 }, async () => {
    // A body no other test compiles (its constants are in the shader), jitted twice: both programs share its pipelines.
    const body = (x: TfArray) => np.exp(np.sin(x).mul(-3.0625)).sub(0.8125);
    const f = jit(body, { backend: "webgpu" });
    const g = jit(body, { backend: "webgpu" });
    const before = gpu!.pipelineCount;
    const x = ramp([4, 9]);
    const want = Float32Array.from(await x.data(), (v) => Math.exp(Math.sin(v) * -3.0625) - 0.8125);
    expect(mismatch(await f(x).data(), want, 1e-5, 1e-5)).toBeNull();
    const added = gpu!.pipelineCount - before;
    expect(added).toBeGreaterThan(0);
    expect(mismatch(await g(x).data(), want, 1e-5, 1e-5)).toBeNull();
    expectCounts(before + added);
    // f's programs go; g's still use the same pipelines, which stay and run.
    f.clearCache();
    expectCounts(before + added);
    expect(mismatch(await g(x).data(), want, 1e-5, 1e-5)).toBeNull();
    g.clearCache();
    expectCounts(before);

    expect(mismatch(await f(x).data(), want, 1e-5, 1e-5)).toBeNull();
    expectCounts(before + added);
    setKernelCacheCapacity(1);
    expectCounts(1);
    // The program holding its evicted pipelines still runs them.
    expect(mismatch(await f(x).data(), want, 1e-5, 1e-5)).toBeNull();
    f.clearCache();
    expect(gpu!.pipelineCount).toBeLessThanOrEqual(1);
  });
});
