// Unit tests of the WebGPU window and library kernels (wgsl/window.ts,
// wgsl/library.ts) against the interpreter: gather/take in both index modes
// (negative and out-of-bounds indices), scatter with duplicate indices (the
// last update wins) and scatter-add (float compare-and-swap, int atomics, bool
// or), segment_sum, pad (negative and interior), concatenate, dynamic slices,
// argmax/argmin with ties and NaN, short and long (workgroup) scans both ways,
// sort/argsort/top_k with ties, NaN and -0, multi-key sorts, pooling and its
// gradients with ties in the windows — and that none of them runs on the host,
// and that new shapes of these steps compile no new pipeline (their sizes are
// shader parameters).
// Skipped, loudly, where no adapter exists.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, grad, jit, lax, nn, np, type DType, type Tracer } from "../src/index";
import type { TypedArray } from "../src/core/dtype";
import { gpu, mismatch, noGpuReason } from "./webgpu_setup";

const on = (backend: string, d: TypedArray, shape: number[], dtype: DType) => TfArray.fromTyped(d, shape, dtype, { backend });

interface Arg {
  data: TypedArray;
  shape: number[];
  dtype: DType;
}
const f32 = (shape: number[], values: (i: number) => number): Arg => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => values(i)), shape, dtype: "float32" });
const i32 = (shape: number[], values: number[]): Arg => ({ data: Int32Array.from(values), shape, dtype: "int32" });

/** `f` jitted on WebGPU equals `f` on the interpreter (bitwise unless `tol`); returns the listing, which must have no host step. */
async function agree(f: (...xs: Tracer[]) => Tracer | Tracer[], args: Arg[], tol = { rtol: 0, atol: 0 }): Promise<string> {
  const want = [f(...args.map((a) => on("interpreter", a.data, a.shape, a.dtype)))].flat() as TfArray[];
  const gpuArgs = args.map((a) => on("webgpu", a.data, a.shape, a.dtype));
  const jf = jit(f, { backend: "webgpu" });
  const got = [jf(...gpuArgs)].flat() as TfArray[];
  for (let k = 0; k < want.length; k++) {
    expect(got[k].aval.str()).toBe(want[k].aval.str());
    const g = await got[k].data();
    const w = await want[k].data();
    const m = tol.rtol === 0 && tol.atol === 0 ? exactMismatch(g, w) : mismatch(g, w, tol.rtol, tol.atol);
    if (m !== null) throw new Error(`output ${k} (${want[k].aval.str()}): ${m}`);
  }
  const text = jf.lower(...gpuArgs).text();
  expect(text).not.toMatch(/HOST FALLBACK/);
  expect(text).toMatch(/, 0 on the host\)/);
  return text;
}

/** Bitwise equality (NaN payloads aside; -0 and +0 differ). */
function exactMismatch(got: TypedArray, want: TypedArray): string | null {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]))) continue;
    return `element ${i}: got ${got[i]}, want ${want[i]}`;
  }
  return null;
}

const wavy = (i: number) => Math.round(Math.sin(i * 1.3) * 40) / 8;

describe.skipIf(gpu === null)(`WebGPU window and library kernels${gpu ? ` on ${gpu.adapterName}` : ` (skipped: ${noGpuReason})`}`, () => {
  it("gathers: take in fill and clip mode (negative and out-of-bounds indices), takeAlongAxis, a strided operand", async () => {
    const x = f32([10, 6], wavy);
    const idx = i32([7], [3, -1, 0, 9, 3, 12, -20]);
    const text = await agree((a, i) => [np.take(a, i, 0), np.take(a, i, 1, { mode: "clip" }), np.take(a.T, i, 0, { mode: "fill", fillValue: -7 })], [x, idx]);
    expect(text).toMatch(/WGSL gather window/);
    await agree((a, i) => np.takeAlongAxis(a, i, 1), [x, i32([10, 2], [0, 5, 1, 1, 2, 3, 5, 4, 0, 0, 1, 2, 3, 4, 5, 0, 1, 1, 2, 2])]);
  });

  it("scatters with duplicate indices: the last update wins, adds accumulate (float, int, bool), out-of-bounds updates are dropped", async () => {
    const x = f32([6, 4], wavy);
    const idx = i32([7], [2, 5, 2, -1, 9, 2, 0]);
    const upd = f32([7, 4], (i) => i + 0.25);
    const text = await agree((a, i, u) => [a.at(i).set(u), a.at(i).add(u)], [x, idx, upd], { rtol: 1e-6, atol: 1e-6 });
    expect(text).toMatch(/WGSL scatter window/);
    expect(text).toMatch(/WGSL scatter_add window/);
    await agree((a, i, u) => a.at(i).add(u), [i32([5], [1, 2, 3, 4, 5]), i32([6], [0, 4, 4, 4, 1, 0]), i32([6], [2147483647, 7, -9, 11, 1, 1])]);
    const bools = (vals: number[]): Arg => ({ data: Uint8Array.from(vals), shape: [vals.length], dtype: "bool" });
    await agree((a, i, u) => a.at(i).add(u), [bools([0, 0, 1, 0]), i32([5], [1, 1, 3, 3, 0]), bools([0, 1, 0, 0, 0])]);
  });

  it("sums segments (segment_sum: a scatter-add of many rows into few)", async () => {
    const data = f32([40, 3], (i) => wavy(i) + 0.125);
    const ids = i32([40], Array.from({ length: 40 }, (_, i) => (i * 7) % 5));
    await agree((d, s) => np.segmentSum(d, s, 5), [data, ids], { rtol: 1e-5, atol: 1e-5 });
  });

  it("pads (negative, interior), concatenates views, slices dynamically (clamped starts) and updates slices", async () => {
    const x = f32([5, 7], wavy);
    await agree((a) => [lax.pad(a, 1.5, [[1, 2, 1], [-2, 3, 0]]), np.concatenate([a, lax.slice(a.T, [1, 0], [7, 5]).T.mul(2), a], 1)], [x]);
    const starts = i32([2], [3, -4]);
    await agree((a, s) => [lax.dynamicSlice(a, s, [3, 4]), lax.dynamicUpdateSlice(a, np.ones([4, 2]), s)], [x, starts]);
  });

  it("finds argmax/argmin: the first among ties, the first NaN", async () => {
    const x = f32([4, 6], (i) => [1, 3, 3, 0, 3, -1, 2, 2, 2, 2, 2, 2, -5, NaN, 7, NaN, 1, 1, 0, -0, 0, -1, -1, 4][i]);
    await agree((a) => [np.argmax(a, 1), np.argmin(a, 1), np.argmax(a, 0), np.argmin(a, 0)], [x]);
    await agree((a) => [np.argmax(a, 0), np.argmin(a, 1)], [i32([3, 3], [5, -2, 5, 5, 9, 9, -7, 0, -7])]);
  });

  it("scans along any axis, forwards and reversed, in a thread per line and in a workgroup per long line", async () => {
    const x = f32([5, 9], wavy);
    await agree((a) => [np.cumsum(a, 1), np.cumprod(a.mul(0.5), 0), lax.cummax(a, 1), lax.cummin(a, 0, { reverse: true })], [x], { rtol: 1e-6, atol: 1e-6 });
    const long = f32([3, 1500], (i) => wavy(i) / 4);
    const text = await agree((a) => [np.cumsum(a, 1), lax.cummax(a, 1, { reverse: true }), np.cumsum(a.T, 0)], [long], { rtol: 1e-4, atol: 1e-3 });
    expect(text).toMatch(/cumulative add float32 \[3, 1500, 1\]/);
    await agree((a) => [np.cumsum(a, 0), lax.cumprod(a, 0)], [i32([6], [2147483647, 1, 5, -3, 9, 65536])]);
  });

  it("sorts stably under the total order (NaN last, -0 == +0), by several keys, and takes top_k (NaN first, lower index first)", async () => {
    const x = f32([3, 11], (i) => [3, NaN, -0, 1, 0, 3, -Infinity, 1, NaN, Infinity, -2][i % 11] * (i < 11 ? 1 : i < 22 ? -1 : 0.5));
    const text = await agree((a) => [np.sort(a, 1), np.argsort(a, 1), np.sort(a, 0), ...lax.topK(a, 4)], [x]);
    expect(text).toMatch(/bitonic sort/);
    expect(text).toMatch(/bitonic top_k/);
    const keys = i32([12], [2, 1, 2, 1, 0, 2, 1, 0, 0, 2, 1, 2]);
    const vals = f32([12], (i) => [5, 4, 3, 9, 9, 1, 4, 0, 2, 3, 4, 5][i]);
    await agree((k, v, p) => lax.sort([k, v, p], { numKeys: 2 }) as Tracer[], [keys, vals, i32([12], Array.from({ length: 12 }, (_, i) => i))]);
    // A row longer than one bitonic block, with many ties.
    await agree((a) => [np.argsort(a, 0), ...lax.topK(a, 5)], [f32([600], (i) => (i * 37) % 23)]);
  });

  it("pools (max, avg, padded, strided) and differentiates max pooling with ties in the windows", async () => {
    const x = f32([2, 7, 6, 3], (i) => Math.round(wavy(i)));
    await agree(
      (a) => [nn.maxPool(a, [3, 3], { stride: [2, 2], padding: "SAME" }), nn.avgPool(a, [2, 2]), lax.reduceWindow(a, Infinity, "min", [1, 2, 3, 1], [1, 1, 2, 1], "VALID")],
      [x],
      { rtol: 1e-6, atol: 1e-6 },
    );
    const loss = (a: Tracer) => np.sum(np.square(nn.maxPool(a, [3, 3], { stride: [2, 2], padding: "SAME" })));
    const text = await agree((a) => grad(loss)(a), [x], { rtol: 1e-6, atol: 1e-6 });
    expect(text).toMatch(/select_and_scatter_add ge float32/);
  });
  it("compiles one pipeline per window or library structure: new shapes of gathers, scatters, pads, scans, sorts, top_k and pooling compile nothing", { timeout: 240_000 }, async () => {
    const f = (a: Tracer, i: Tracer, u: Tracer) => {
      const pooled = nn.maxPool(np.reshape(a, [1, ...a.shape, 1]), [2, 2], { stride: [2, 1], padding: "SAME" });
      const poolGrad = grad((b: Tracer) => np.sum(np.square(nn.maxPool(b, [2, 2], { stride: [2, 1], padding: "SAME" }))))(np.reshape(a, [1, ...a.shape, 1]));
      return [
        np.take(a, i, 0),
        np.take(a, i, 1, { mode: "clip" }),
        a.at(i).set(u),
        a.at(i).add(u),
        np.pad(a, [[1, 2], [0, 1]]),
        np.argmax(a, 1),
        np.cumsum(a, 1),
        lax.cummax(a, 0, { reverse: true }),
        np.sort(a, 1),
        np.argsort(a, 0),
        ...lax.topK(a, 2),
        pooled,
        poolGrad,
      ];
    };
    // (Rows of at least 2 and at most 511 elements: a row of 1 has no bitonic pass, a line of 512 is scanned by a workgroup.)
    const shapes = (rows: number, cols: number, picks: number): Arg[] => [
      f32([rows, cols], (j) => Math.round(wavy(j + rows))),
      i32([picks], Array.from({ length: picks }, (_, j) => (j * 5) % rows)),
      f32([picks, cols], (j) => wavy(j * 3)),
    ];
    await agree(f, shapes(4, 3, 2), { rtol: 1e-6, atol: 1e-6 });
    const compiled = gpu!.pipelineCount;
    await agree(f, shapes(7, 5, 3), { rtol: 1e-6, atol: 1e-6 });
    await agree(f, shapes(13, 9, 6), { rtol: 1e-6, atol: 1e-6 });
    expect(gpu!.pipelineCount).toBe(compiled);
  });
});
