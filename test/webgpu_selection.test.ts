// Backend selection around WebGPU, in a process where the WebGPU backend was
// never loaded: "webgpu" is a stand-in whose every use throws a BackendError
// naming `await loadWebGpuBackend()`, and "auto" runs on wasm, saying why once.
// (With the backend loaded, "auto" is WebGPU: the last test, where an adapter exists.)

import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError, defaultBackendName, getBackend, jit, listBackends, loadWebGpuBackend, np, setDefaultBackend } from "../src/index";

describe("backend selection: webgpu and auto", () => {
  afterEach(() => {
    setDefaultBackend("wasm");
    vi.restoreAllMocks();
  });

  it("lists webgpu, and refuses to run on it before it is loaded, naming loadWebGpuBackend", () => {
    expect(listBackends()).toContain("webgpu");
    const f = jit((x) => x.add(1), { backend: "webgpu" });
    expect(() => f(np.ones([2]))).toThrow(BackendError);
    expect(() => f(np.ones([2]))).toThrow(/await loadWebGpuBackend\(\)/);
  });

  it('"auto" falls back to wasm before WebGPU runs, and says so once', () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(getBackend("auto").name).toBe("wasm");
    setDefaultBackend("auto");
    expect(defaultBackendName()).toBe("wasm");
    expect(Array.from(jit((x) => x.mul(2), { backend: "auto" })(np.ones([3])).dataSync())).toEqual([2, 2, 2]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/backend "auto" runs on wasm: .*loadWebGpuBackend/);
  });

  it('"auto" is WebGPU once the backend is loaded (where an adapter exists)', async () => {
    let loaded = true;
    await loadWebGpuBackend().catch((e: unknown) => {
      loaded = false;
      expect(e).toBeInstanceOf(BackendError);
      expect((e as Error).message).toMatch(/adapter|webgpu/);
      console.warn(`*** no WebGPU adapter here, so "auto" stays wasm: ${(e as Error).message}`);
    });
    expect(getBackend("auto").name).toBe(loaded ? "webgpu" : "wasm");
  });
});
