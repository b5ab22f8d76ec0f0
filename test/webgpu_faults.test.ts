// The WebGPU backend's bad-input and failure paths that need their own process
// state: no adapter (a platform whose `navigator.gpu` finds none), a lost device
// (destroyed under a running backend: every later use, and a pending read,
// fails with a BackendError naming the fix instead of hanging, and
// `loadWebGpuBackend()` then starts a new device), and an unsupported dtype
// while WebGPU is the default backend. The adapter-backed cases skip loudly
// where no adapter exists. (A buffer over maxStorageBufferBindingSize is in
// webgpu_backend.test.ts, `backend: "auto"` falling back once in
// webgpu_selection.test.ts.)

import { afterEach, describe, expect, it, vi } from "vitest";
import { ArrayImpl as TfArray, BackendError, DTypeError, TinyflowError, jit, loadWebGpuBackend, np, setDefaultBackend, type Tracer, type WebGpuBackend } from "../src/index";
import type { GpuRuntime } from "../src/backends/webgpu/runtime";

describe("WebGPU failures", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    setDefaultBackend("wasm");
  });

  it("rejects with a BackendError naming the fix when the platform's WebGPU finds no adapter", async () => {
    vi.stubGlobal("navigator", { gpu: { requestAdapter: async () => null } });
    const err = await loadWebGpuBackend().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/no GPU adapter was found/);
    // In Node the fix is the `webgpu` package and SwiftShader; in a browser, enabling WebGPU.
    expect((err as Error).message).toMatch(/VK_ICD_FILENAMES|--enable-unsafe-webgpu/);
    expect((err as Error).message).toMatch(/wasm backend/);
  });

  let backend: WebGpuBackend | null = null;
  let reason = "";
  it("starts on a real adapter once the platform has one (the cases below need it)", async () => {
    try {
      backend = await loadWebGpuBackend();
    } catch (e) {
      reason = (e as Error).message;
      console.warn(`\n*** WebGPU device-loss tests SKIPPED: no WebGPU adapter here: ${reason}\n`);
    }
    expect(backend === null ? reason : backend.adapterName).not.toBe("");
  });

  it("refuses an unsupported dtype with a typed error naming the supported ones, WebGPU being the default", (ctx) => {
    if (!backend) ctx.skip();
    setDefaultBackend("webgpu");
    expect(() => np.zeros([3], { dtype: "float64" as never })).toThrow(TinyflowError);
    expect(() => np.zeros([3], { dtype: "float64" as never })).toThrow(/float64.*float32/s);
    expect(() => np.zeros([3], { dtype: "float64" as never })).toThrow(DTypeError);
  });

  it("fails every use after the device is lost, a pending read included, with a BackendError naming the fix; loadWebGpuBackend starts a new device", async (ctx) => {
    if (!backend) ctx.skip();
    const lost = backend!;
    const f = jit((x: Tracer) => np.exp(x).mul(2), { backend: "webgpu" });
    const x = TfArray.fromTyped(Float32Array.from({ length: 100 }, (_, i) => i / 100), [100], "float32", { backend: "webgpu" });
    const y = f(x) as TfArray;
    const rt = (lost as unknown as { rt: GpuRuntime }).rt;
    rt.device.destroy();
    await rt.device.lost;
    expect(lost.deviceLost).toBe(true);
    const fix = /device was lost.*loadWebGpuBackend.*wasm backend/;
    await expect((async () => y.data())()).rejects.toThrow(fix);
    expect(() => f(x)).toThrow(BackendError);
    expect(() => f(x)).toThrow(fix);
    expect(() => TfArray.fromTyped(new Float32Array(4), [4], "float32", { backend: "webgpu" })).toThrow(fix);

    const fresh = await loadWebGpuBackend();
    expect(fresh).not.toBe(lost);
    expect(fresh.deviceLost).toBe(false);
    const z = TfArray.fromTyped(Float32Array.from([0, 1]), [2], "float32", { backend: "webgpu" });
    expect(Array.from(await (f(z) as TfArray).data())).toEqual([2, Math.fround(2 * Math.E)].map((v) => expect.closeTo(v, 5)));
  });
});
