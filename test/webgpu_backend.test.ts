// Unit tests of the WebGPU backend (src/backends/webgpu) against the
// interpreter: fused elementwise chains and reductions (small and
// workgroup-sized, every kernel dtype, float16 rounding), the tiled matmul
// (batched, transposed operands, odd sizes, fused bias/relu epilogue, both
// tile sizes), conv
// (NCHW/NHWC, strides, padding, dilation, groups) and its gradients, host
// fallback steps (labelled in the listing, results right, later GPU steps
// ordered after them), donated inputs reused for outputs, eager operations, a jitted training step agreeing
// across interpreter, wasm and WebGPU, and the errors: dataSync, a buffer
// over maxStorageBufferBindingSize. Skipped, loudly, where no adapter exists.
// The window and library kernels are tested in webgpu_kernels.test.ts.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, BackendError, MemoryLimitError, defaultBackendName, grad, jit, lax, memoryStats, np, setDefaultBackend, setMemoryLimit, type DType, type Tracer } from "../src/index";
import { allocTyped, roundToDType } from "../src/core/dtype";
import { bind } from "../src/core/trace";
import { rng } from "./rng";
import { gpu, mismatch, noGpuReason } from "./webgpu_setup";

const r = rng(11);

/** Random data of `dtype` (floats in [-2, 2), ints in [-5, 5], bools). */
function data(shape: number[], dtype: DType = "float32") {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") out[i] = r() < 0.5 ? 1 : 0;
    else if (dtype === "int32" || dtype === "uint32") out[i] = Math.floor(r() * 11) - (dtype === "int32" ? 5 : 0);
    else out[i] = roundToDType(dtype, r() * 4 - 2);
  }
  return out;
}

const on = (backend: string, d: ReturnType<typeof data>, shape: number[], dtype: DType = "float32") => TfArray.fromTyped(d, shape, dtype, { backend });

/** Runs `f` jitted on WebGPU and on the interpreter over the same data; compares every output. */
async function agree(f: (...xs: Tracer[]) => Tracer | Tracer[], args: { shape: number[]; dtype?: DType }[], tol = { rtol: 1e-5, atol: 1e-5 }): Promise<string> {
  const ds = args.map((a) => data(a.shape, a.dtype));
  const want = [f(...args.map((a, i) => on("interpreter", ds[i], a.shape, a.dtype)))].flat() as TfArray[];
  const jf = jit(f, { backend: "webgpu" });
  const gpuArgs = args.map((a, i) => on("webgpu", ds[i], a.shape, a.dtype));
  const got = [jf(...gpuArgs)].flat() as TfArray[];
  expect(got.map((g) => g.backend.name)).toEqual(got.map(() => "webgpu"));
  for (let k = 0; k < want.length; k++) {
    expect(got[k].aval.str()).toBe(want[k].aval.str());
    const m = mismatch(await got[k].data(), await want[k].data(), tol.rtol, tol.atol);
    if (m !== null) throw new Error(`output ${k} (${want[k].aval.str()}): ${m}`);
  }
  return jf.lower(...gpuArgs).text();
}

describe.skipIf(gpu === null)(`WebGPU backend${gpu ? ` on ${gpu.adapterName}` : ` (skipped: ${noGpuReason})`}`, () => {
  it("fuses an elementwise chain and a reduction's producer into WGSL kernels", async () => {
    // exp and sin are the GPU's own (SwiftShader's: within ~1e-5 relative), not the interpreter's f64 ones.
    const text = await agree((x, y) => np.sum(np.exp(np.sin(x)).mul(y).add(1), 1), [{ shape: [5, 7] }, { shape: [5, 7] }], { rtol: 1e-4, atol: 1e-3 });
    expect(text).toMatch(/webgpu program: 1 steps \(1 fused WGSL kernels, 0 on the host\)/);
    expect(text).toMatch(/reduce_sum\(axes=1\): sin exp mul add/);
  });

  it("reduces large extents with a workgroup per output (sum, max, min over rows and columns)", { timeout: 240_000 }, async () => {
    await agree((x) => [np.sum(x), np.max(x, 0), np.min(x, 1), np.mean(x, 1)], [{ shape: [300, 700] }], { rtol: 1e-4, atol: 1e-3 });
  });

  it("sums long extents in blocks: within eps·log2(n) of float64 (issue 11's 1e6 × 0.1, column sums of [1e6, 4])", { timeout: 240_000 }, async () => {
    const EPS = 2 ** -23;
    const n = 1_000_000;
    const tenths = new Float32Array(n).fill(0.1);
    const cols = Float32Array.from({ length: 4 * n }, (_, i) => 0.1 + 0.01 * Math.sin(i));
    const want = [n * Math.fround(0.1), 0, 0, 0, 0];
    for (let i = 0; i < cols.length; i++) want[1 + (i % 4)] += cols[i];
    const f = jit((a: Tracer, b: Tracer) => [np.sum(a), np.sum(b, 0)], { backend: "webgpu" });
    const [total, colSums] = f(on("webgpu", tenths, [n]), on("webgpu", cols, [n, 4])) as TfArray[];
    const got = [...(await total.data()), ...(await colSums.data())];
    // serially folded strides of 3,906 terms per invocation: 3.7e-5 relative for the first
    got.forEach((g, k) => expect(Math.abs(g - want[k]) / want[k], `sum ${k}: got ${g}, float64 ${want[k]}`).toBeLessThan(2 * EPS * Math.log2(4 * n)));
  });

  it("computes int32, uint32 and bool kernels bit for bit (division by zero, shifts, comparisons)", async () => {
    await agree((a, b) => [lax.div(a, b), lax.rem(a, b), lax.max(a, b), lax.shiftLeft(a, b), lax.lt(a, b), np.sum(a, 0)], [{ shape: [4, 9], dtype: "int32" }, { shape: [4, 9], dtype: "int32" }], { rtol: 0, atol: 0 });
    await agree((a, b) => [lax.div(a, b), lax.shiftRightLogical(a, b), np.maximum(a, b)], [{ shape: [33], dtype: "uint32" }, { shape: [33], dtype: "uint32" }], { rtol: 0, atol: 0 });
    await agree((a, b) => [np.logicalAnd(a, b), np.logicalXor(a, b), np.any(a, 0), np.all(b, 1)], [{ shape: [6, 3], dtype: "bool" }, { shape: [6, 3], dtype: "bool" }], { rtol: 0, atol: 0 });
  });

  it("rounds float16 results to half precision like the interpreter", async () => {
    await agree((x, y) => [x.mul(y).add(0.1), np.sum(x, 0)], [{ shape: [8, 5], dtype: "float16" }, { shape: [8, 5], dtype: "float16" }], { rtol: 1e-3, atol: 1e-3 });
  });

  it("propagates NaN through max/min and handles ±Inf and -0 like the interpreter", async () => {
    const d = Float32Array.from([NaN, 1, -0, 0, Infinity, -Infinity, 2, -3]);
    const e = Float32Array.from([0, NaN, 0, -0, 1, 5, Infinity, -Infinity]);
    const f = (x: Tracer, y: Tracer) => [np.maximum(x, y), np.minimum(x, y), np.isfinite(x), np.sign(x), np.sqrt(x), np.log(x)];
    const want = f(on("interpreter", d, [8]), on("interpreter", e, [8])) as TfArray[];
    const got = jit(f, { backend: "webgpu" })(on("webgpu", d, [8]), on("webgpu", e, [8])) as TfArray[];
    for (let k = 0; k < want.length; k++) expect(Array.from(await got[k].data())).toEqual(Array.from(await want[k].data()));
  });

  // Each new shape compiles a pipeline, slow on SwiftShader under load.
  it("multiplies with the tiled matmul: odd sizes, batches, transposed operands, fused bias and relu", { timeout: 240_000 }, async () => {
    const tol = { rtol: 1e-4, atol: 1e-4 };
    const text = await agree((x, w, b) => np.maximum(np.dot(x, w).add(b), 0), [{ shape: [67, 130] }, { shape: [130, 33] }, { shape: [33] }], tol);
    expect(text).toMatch(/WGSL tiled matmul 1x\[67x130\]·\[130x33\].*fused epilogue add max/);
    const tText = await agree((a, b) => np.matmul(a.T, b.T), [{ shape: [17, 5] }, { shape: [9, 17] }], tol);
    expect(tText).toMatch(/WGSL tiled matmul A\^T B\^T/);
    await agree((a, b) => np.matmul(a, b), [{ shape: [3, 20, 7] }, { shape: [3, 7, 65] }], tol);
    await agree((a, b) => np.matmul(a, b), [{ shape: [1, 1] }, { shape: [1, 1] }], tol);
    // Enough 128x128 blocks to fill a GPU (here through the batch): the large tile, 8x8 per invocation, ragged edges, A transposed, an epilogue.
    await agree((a, b, c) => np.maximum(np.matmul(np.swapaxes(a, 1, 2), b).add(c), 0), [{ shape: [64, 24, 129] }, { shape: [64, 24, 131] }, { shape: [131] }], { rtol: 1e-4, atol: 1e-4 });
    await agree((a, b) => np.matmul(a, b), [{ shape: [4, 0] }, { shape: [0, 3] }], tol);
  });

  it("convolves in NCHW and NHWC with strides, padding, dilation and groups, and differentiates through conv", async () => {
    const tol = { rtol: 1e-4, atol: 1e-4 };
    await agree((x, w) => lax.convGeneralDilated(x, w, [1, 1], "SAME"), [{ shape: [2, 3, 9, 8] }, { shape: [4, 3, 3, 3] }], tol);
    await agree(
      (x, w) => lax.convGeneralDilated(x, w, [2, 1], [[1, 2], [0, 1]], { rhsDilation: [1, 2], featureGroupCount: 2, dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }),
      [{ shape: [2, 10, 7, 4] }, { shape: [3, 2, 2, 6] }],
      tol,
    );
    const loss = (x: Tracer, w: Tracer) => np.sum(np.square(lax.convGeneralDilated(x, w, [2, 2], "VALID")));
    await agree((x, w) => grad(loss, { argnums: [0, 1] })(x, w) as Tracer[], [{ shape: [2, 3, 9, 9] }, { shape: [5, 3, 3, 3] }], { rtol: 1e-3, atol: 1e-3 });
  });

  it("runs primitives without a WebGPU kernel as labelled host steps, ordered with the GPU steps around them", async () => {
    // eigh has no WGSL kernel: it runs on the host between two GPU kernels.
    const spd = (x: Tracer) => np.dot(x, x.T).add(np.eye(5).mul(5));
    const eigenvalues = (a: Tracer) => bind("eigh", [a], {})[1];
    const text = await agree((x) => np.exp(eigenvalues(spd(x)).mul(0.1)).add(np.sum(x)), [{ shape: [5, 5], dtype: "float32" }], { rtol: 1e-4, atol: 1e-4 });
    expect(text).toMatch(/HOST FALLBACK eigh on the host/);
    expect(text).toMatch(/, 1 on the host\)/);
  });

  it("compiles one pipeline per kernel structure: new shapes of a fused chain, a reduction, a GEMM and a conv compile nothing", { timeout: 240_000 }, async () => {
    const f = (x: Tracer, w: Tracer, k: Tracer) => {
      const h = np.maximum(np.matmul(x, w).add(1), 0);
      const c = lax.convGeneralDilated(np.reshape(np.tanh(x), [1, 1, ...x.shape]), k, [1, 1], "SAME");
      return [h, np.sum(np.exp(h.mul(0.5)), 1), c];
    };
    const shapes = (m: number, k: number, n: number) => [{ shape: [m, k] }, { shape: [k, n] }, { shape: [2, 1, 3, 3] }];
    await agree(f, shapes(5, 7, 3), { rtol: 1e-4, atol: 1e-4 });
    const compiled = gpu!.pipelineCount;
    await agree(f, shapes(9, 4, 6), { rtol: 1e-4, atol: 1e-4 });
    await agree(f, shapes(17, 33, 2), { rtol: 1e-4, atol: 1e-4 });
    expect(gpu!.pipelineCount).toBe(compiled);
  });

  it("runs eager operations on WebGPU when it is the default backend", async () => {
    const prev = defaultBackendName();
    setDefaultBackend("webgpu");
    try {
      const x = np.arange(12).reshape([3, 4]);
      const y = np.sum(x.mul(x), 1) as TfArray;
      expect(y.backend.name).toBe("webgpu");
      expect(Array.from(await y.data())).toEqual([14, 126, 366]);
      // Tracing and constant folding read the scalars they make (on the default backend) synchronously.
      const g = jit(grad((w: Tracer) => np.sum(np.tanh(x.mul(w)).mul(0.5))))(np.array(0.25)) as TfArray;
      expect(g.backend.name).toBe("webgpu");
      const want = Array.from({ length: 12 }, (_, v) => 0.5 * v * (1 - Math.tanh(0.25 * v) ** 2)).reduce((a, b) => a + b, 0);
      expect(Math.abs((await g.data())[0] - want)).toBeLessThan(1e-4 * Math.abs(want));
    } finally {
      setDefaultBackend(prev);
    }
  });

  it("runs an operation mixing a GPU array with a wasm array or a JS number on WebGPU (the GPU array cannot move)", async () => {
    expect(defaultBackendName()).not.toBe("webgpu");
    // 20 elements computed on the GPU: the host has no copy of them, so they can only be read asynchronously.
    const x = np.exp(TfArray.fromTyped(Float32Array.from({ length: 20 }, (_, i) => i / 10), [20], "float32", { backend: "webgpu" })) as TfArray;
    const onWasm = np.ones([20]).mul(2) as TfArray;
    for (const y of [np.add(x, onWasm), x.mul(onWasm), np.add(x, 1), jit((a: Tracer, b: Tracer) => a.sub(b))(x, onWasm)] as TfArray[]) {
      expect(y.backend.name).toBe("webgpu");
      await y.data();
    }
    const want = Float32Array.from({ length: 20 }, (_, i) => Math.exp(i / 10) + 1);
    expect(mismatch(await (np.add(x, 1) as TfArray).data(), want, 1e-5, 1e-5)).toBeNull();
  });

  it("agrees with the interpreter and wasm on a jitted grad of an MLP training step", { timeout: 240_000 }, async () => {
    const step = (w1: Tracer, w2: Tracer, x: Tracer, y: Tracer) => {
      const loss = (a: Tracer, b: Tracer) => np.mean(np.square(np.dot(np.tanh(np.dot(x, a)), b).sub(y)));
      const [ga, gb] = grad(loss, { argnums: [0, 1] })(w1, w2) as Tracer[];
      return [w1.sub(ga.mul(0.1)), w2.sub(gb.mul(0.1))];
    };
    const shapes = [[8, 16], [16, 3], [32, 8], [32, 3]];
    const ds = shapes.map((s) => data(s));
    const results = await Promise.all(
      ["interpreter", "wasm", "webgpu"].map(async (b) => {
        const [w1, w2, x, y] = ds.map((d, i) => on(b, d, shapes[i]));
        const outs = jit(step, { backend: b })(w1, w2, x, y) as TfArray[];
        return Promise.all(outs.map((o) => o.data()));
      }),
    );
    for (const other of [results[1], results[2]]) {
      other.forEach((o, k) => expect(mismatch(o, results[0][k], 1e-4, 1e-5)).toBeNull());
    }
  });

  it("writes outputs over donated inputs: in place in an elementwise update, after the last read otherwise", async () => {
    const p0 = data([64]);
    const g0 = data([64]);
    const p = on("webgpu", p0, [64]);
    const before = p.buffer;
    const sgd = jit((w: Tracer, g: Tracer) => w.sub(g.mul(0.5)), { backend: "webgpu", donateArgnums: [0] });
    const q = sgd(p, on("webgpu", g0, [64])) as TfArray;
    expect(p.isDisposed).toBe(true);
    expect(q.buffer).toBe(before);
    expect(mismatch(await q.data(), Float32Array.from(p0, (w, i) => Math.fround(w - Math.fround(g0[i] * 0.5))), 0, 0)).toBeNull();
    // A sort reads its operand before the kernel writing the output runs: that kernel may write over it.
    const s0 = data([5, 8]);
    const s = on("webgpu", s0, [5, 8]);
    const sBuffer = s.buffer;
    const sorted = jit((x: Tracer) => np.sort(x, 1).add(1), { backend: "webgpu", donateArgnums: [0] })(s) as TfArray;
    expect(sorted.buffer).toBe(sBuffer);
    const want = np.sort(on("interpreter", s0, [5, 8]), 1).add(1) as TfArray;
    expect(mismatch(await sorted.data(), await want.data(), 0, 0)).toBeNull();
  });

  it("refuses a synchronous read with a BackendError naming `await x.data()`", () => {
    // A computed array (small uploads keep a host copy, which tracing reads: those can be read).
    const x = jit((v: Tracer) => np.sin(v), { backend: "webgpu" })(on("webgpu", data([40]), [40])) as TfArray;
    expect(() => x.dataSync()).toThrow(BackendError);
    expect(() => x.dataSync()).toThrow(/await x\.data\(\)/);
    expect(() => x.tolist()).toThrow(/cannot be read synchronously/);
    expect(Array.from(on("webgpu", Float32Array.from([1.5]), [1]).dataSync())).toEqual([1.5]);
  });

  it("refuses a buffer over maxStorageBufferBindingSize with an error naming the limit", () => {
    const elements = Math.floor(gpu!.maxStorageBufferBindingSize / 4) + 1;
    const f = jit((x: Tracer) => np.broadcastTo(x, [elements]), { backend: "webgpu" });
    // Above the memory limit the limit check refuses first (on every backend); lift it to reach the device's own limit.
    const { limitBytes } = memoryStats();
    setMemoryLimit(Math.max(limitBytes, 2 ** Math.ceil(Math.log2(elements * 4 + 8))));
    try {
      expect(() => f(on("webgpu", data([1]), [1]))).toThrow(MemoryLimitError);
      expect(() => f(on("webgpu", data([1]), [1]))).toThrow(/maxStorageBufferBindingSize of \d+ bytes/);
    } finally {
      setMemoryLimit(limitBytes);
    }
  });
});
