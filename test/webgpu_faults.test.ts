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
import { ArrayImpl as TfArray, BackendError, DTypeError, TinyflowError, jit, lax, loadWebGpuBackend, np, setDefaultBackend, type Tracer, type WebGpuBackend } from "../src/index";
import type { GpuRuntime } from "../src/backends/webgpu/runtime";
import { bind } from "../src/core/trace";

const runtimeOf = (b: WebGpuBackend) => (b as unknown as { rt: GpuRuntime }).rt;

/** Destroys the backend's device and waits until the backend knows it is lost. */
async function loseDevice(b: WebGpuBackend): Promise<void> {
  const rt = runtimeOf(b);
  rt.device.destroy();
  await rt.device.lost;
  expect(b.deviceLost).toBe(true);
}

/** The refcounts of buffers released when no one owned them any more (a double free), recorded from now on. */
function watchOverReleases(b: WebGpuBackend): number[] {
  const rt = runtimeOf(b);
  const release = rt.release.bind(rt);
  const overReleased: number[] = [];
  vi.spyOn(rt, "release").mockImplementation((buf) => {
    if (buf.refs <= 0) overReleased.push(buf.refs);
    release(buf);
  });
  return overReleased;
}

/** How `p` settles, or "still pending" after `ms` (a hang fails the test with that, not a timeout). */
async function settle(p: Promise<unknown>, ms = 20_000): Promise<{ value?: unknown; error?: unknown; pending?: true }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<{ pending: true }>((resolve) => (timer = setTimeout(() => resolve({ pending: true }), ms)));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the backend has mapped `n` more buffers back (a running while loop's predicate reads). */
async function readbacks(b: WebGpuBackend, n: number): Promise<void> {
  const start = b.workCounts.readbacks;
  const deadline = Date.now() + 20_000;
  while (b.workCounts.readbacks < start + n) {
    if (Date.now() > deadline) throw new Error(`the loop made ${b.workCounts.readbacks - start} predicate reads in 20 s, not ${n}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Multiplies x by `factor` until its sum reaches `limit`: a jitted while loop whose trip count the data decides. */
const growUntil = (factor: number, limit: number) =>
  jit((x: Tracer) => lax.whileLoop((v: Tracer) => np.less(np.sum(v), limit), (v: Tracer) => v.mul(factor), x), { backend: "webgpu" });
const onGpu = (values: number[]) => TfArray.fromTyped(Float32Array.from(values), [values.length], "float32", { backend: "webgpu" });
const LOST = /device was lost.*loadWebGpuBackend.*wasm backend/;

describe("WebGPU failures", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
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

  describe("a jitted while loop (driven asynchronously, deferred_loops.ts) meeting a fault", () => {
    /** A backend with a working device (the tests above and below lose theirs). */
    const working = async (ctx: { skip(): void }): Promise<WebGpuBackend> => {
      if (!backend) ctx.skip();
      return loadWebGpuBackend();
    };

    it("refuses the call with the fix when the device was lost before it", { timeout: 60_000 }, async (ctx) => {
      const b = await working(ctx);
      const f = growUntil(1.5, 100);
      const x = onGpu([1, 1, 1, 1]);
      expect(Array.from(await (f(x) as TfArray).data())).toEqual(Array(4).fill(1.5 ** 8));
      await loseDevice(b);
      expect(() => f(x)).toThrow(BackendError);
      expect(() => f(x)).toThrow(LOST);
      await expect((async () => x.data())()).rejects.toThrow(LOST);
    });

    it("stops the loop and rejects the pending read with the fix when the device is lost during it, never hanging", { timeout: 60_000 }, async (ctx) => {
      const b = await working(ctx);
      // ~1400 iterations, each one predicate read: far longer than the few the test lets run.
      const f = growUntil(1.01, 4e6);
      const x = onGpu([1, 1, 1, 1]);
      const y = f(x) as TfArray;
      const read = (async () => y.data())();
      await readbacks(b, 3);
      await loseDevice(b);
      const outcome = await settle(read);
      expect(outcome.pending, "the read of the loop's result still pending 20 s after the device was lost").toBeUndefined();
      expect(outcome.error).toBeInstanceOf(BackendError);
      expect((outcome.error as Error).message).toMatch(LOST);
      // The driver stopped: no more predicate reads.
      const after = b.workCounts.readbacks;
      await new Promise((r) => setTimeout(r, 50));
      expect(b.workCounts.readbacks).toBe(after);
      expect(() => f(x)).toThrow(LOST);
    });

    it("rejects reads of a finished loop's unread results with the fix when the device is lost after it", { timeout: 60_000 }, async (ctx) => {
      const b = await working(ctx);
      const f = growUntil(1.5, 100);
      const x = onGpu([1, 1, 1, 1]);
      const y = f(x) as TfArray;
      const z = f(x) as TfArray;
      expect(Array.from(await y.data())).toEqual(Array(4).fill(1.5 ** 8));
      await loseDevice(b);
      const outcome = await settle((async () => z.data())());
      expect(outcome.pending).toBeUndefined();
      expect((outcome.error as Error).message).toMatch(LOST);
      expect(() => f(x)).toThrow(LOST);
      // A new device runs the same jitted function (compiled again for it).
      await loadWebGpuBackend();
      expect(Array.from(await (f(onGpu([2, 2])) as TfArray).data())).toEqual(Array(2).fill(2 * 1.5 ** 8));
    });

    it("stops the loop at a validation error during it: the pending read rejects with the error, later calls work", { timeout: 60_000 }, async (ctx) => {
      const b = await working(ctx);
      // Every buffer released at most as often as it was owned: a driver that stops must free what it owns once.
      const overReleased = watchOverReleases(b);
      const f = growUntil(1.01, 4e6);
      const x = onGpu([1, 1, 1, 1]);
      const y = f(x) as TfArray;
      const read = (async () => y.data())();
      await readbacks(b, 3);
      // An invalid buffer (MAP_READ may only pair with COPY_DST): WebGPU reports it as an uncaptured validation error.
      runtimeOf(b).device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
      const outcome = await settle(read);
      expect(outcome.pending, "the read of the loop's result still pending 20 s after a validation error").toBeUndefined();
      expect(outcome.error).toBeInstanceOf(BackendError);
      expect((outcome.error as Error).message).toMatch(/^webgpu: .*usage/is);
      const after = b.workCounts.readbacks;
      await new Promise((r) => setTimeout(r, 50));
      expect(b.workCounts.readbacks).toBe(after);
      // The error was reported once; the device still works.
      expect(b.deviceLost).toBe(false);
      expect(Array.from(await (growUntil(1.5, 100)(x) as TfArray).data())).toEqual(Array(4).fill(1.5 ** 8));
      expect(overReleased).toEqual([]);
    });

    it("frees each buffer once when a device error arrives while the loop's body waits on a host step", { timeout: 60_000 }, async (ctx) => {
      const b = await working(ctx);
      const rt = runtimeOf(b);
      const overReleased = watchOverReleases(b);
      // eigh has no WGSL kernel: each iteration's body waits on a readback of its operand (a host step).
      const eigenvalues = (a: Tracer) => bind("eigh", [a], {})[1];
      const f = jit(
        (x: Tracer) =>
          lax.whileLoop(
            (v: Tracer) => np.less(np.sum(v), 4e6),
            // (flip: the body's output cannot take over the carry's buffer, so the driver owns two buffers at a time)
            (v: Tracer) => np.flip(v, 0).mul(1.01).add(np.sum(eigenvalues(np.eye(2).mul(np.sum(v)))).mul(1e-30)),
            x,
          ),
        { backend: "webgpu" },
      );
      // The error arrives while the third iteration's host step writes its eigenvalues (2 words), recorded as the
      // runtime's uncapturederror listener records one.
      const write = rt.write.bind(rt);
      let hostSteps = 0;
      vi.spyOn(rt, "write").mockImplementation((buf, words) => {
        if (words.length === 2 && ++hostSteps === 3) (rt as unknown as { failure: Error | null }).failure ??= new BackendError("webgpu: a validation error (injected)");
        write(buf, words);
      });
      const x = onGpu([1, 1, 1, 1]);
      const y = f(x) as TfArray;
      const outcome = await settle((async () => y.data())());
      expect(outcome.pending).toBeUndefined();
      expect(outcome.error).toBeInstanceOf(BackendError);
      expect((outcome.error as Error).message).toMatch(/injected/);
      expect(hostSteps).toBe(3);

      expect(overReleased).toEqual([]);
      expect(Array.from(await (growUntil(1.5, 100)(x) as TfArray).data())).toEqual(Array(4).fill(1.5 ** 8));
    });
  });
});
