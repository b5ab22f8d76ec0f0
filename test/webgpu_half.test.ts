// float16 on the WebGPU backend, stored packed two per 32-bit word
// (src/backends/webgpu/half.ts): the host conversions agree with the
// interpreter's rounding (round to nearest even, overflow to ±Inf, NaN kept)
// on every half and on f32 values around every rounding boundary; on the GPU
// (skipped loudly without an adapter) the WGSL widening and narrowing passes
// agree with the host bit for bit over all 65536 halves and those f32 values,
// float16 arrays take half the bytes, and float16 steps of every kind (fused
// kernels in pairs, GEMM, conv, window and library steps through their f32
// copies, host steps) equal the interpreter, odd lengths and donation included.

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, jit, lax, np, type Tracer } from "../src/index";
import { ShapedArray } from "../src/core/aval";
import { roundToFloat16 } from "../src/core/dtype";
import { halfBits, halfValue, NARROW_HALVES_WGSL, packHalves, unpackHalves, WIDEN_HALVES_WGSL } from "../src/backends/webgpu/half";
import { GpuRuntime, type GpuBuffer } from "../src/backends/webgpu/runtime";
import { rng } from "./rng";
import { gpu, mismatch, noGpuReason } from "./webgpu_setup";

const r = rng(16);

/** f32 values around every float16 rounding boundary: each half, the midpoints to its neighbours and one f32 ulp either side of them. */
function boundaryValues(): Float32Array {
  const out: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const nudge = (x: number, ulps: number) => {
    f[0] = x;
    u[0] += ulps;
    return f[0];
  };
  for (let h = 0; h < 0x7c00; h += 7) {
    const lo = halfValue(h);
    const hi = halfValue(h + 1);
    const mid = Math.fround((lo + hi) / 2);
    for (const s of [1, -1]) out.push(s * lo, s * mid, s * nudge(mid, 1), s * nudge(mid, -1));
  }
  out.push(65504, 65519.99, 65520, 1e6, Infinity, -Infinity, NaN, 0, -0, 2 ** -25, 2 ** -26, 3 * 2 ** -26, 2 ** -24, 1e-10, -1e-10);
  return Float32Array.from(out);
}

describe("float16 packing on the host", () => {
  it("rounds f32 to half like the interpreter around every rounding boundary, and reads every half back exactly", () => {
    const xs = boundaryValues();
    for (const x of xs) {
      const got = halfValue(halfBits(x));
      const want = roundToFloat16(x);
      if (!(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)))) throw new Error(`${x}: got ${got}, want ${want}`);
    }
    for (let h = 0; h < 0x10000; h++) {
      const v = halfValue(h);
      if (Number.isNaN(v)) expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
      else expect(halfBits(v)).toBe(h);
    }
  });

  it("packs two halves per word, element 2w in the low bits, an odd length leaving the last high half zero", () => {
    const words = packHalves([1, -2, 0.5]);
    expect(Array.from(words)).toEqual([0x3c00 | (0xc000 << 16) >>> 0, 0x3800].map((w) => w >>> 0));
    expect(Array.from(unpackHalves(words.buffer as ArrayBuffer, 3))).toEqual([1, -2, 0.5]);
  });
});

/** Runs one of the conversion shaders on raw buffers of the backend's runtime. */
async function convert(rt: GpuRuntime, code: string, src: Uint32Array, dstWords: number, elements: number): Promise<Uint32Array> {
  const a = rt.alloc(src.length, "a test input");
  const b = rt.alloc(dstWords, "a test output");
  rt.write(a, src);
  const uniform = rt.uniform(new Uint32Array([elements, 0, 0, 0]));
  const lease = rt.acquirePipeline(code);
  rt.dispatch(lease.pipeline, [a.buffer, b.buffer, uniform], GpuRuntime.grid(Math.ceil(dstWords / 256)));
  const [words] = await rt.readWords([b]);
  rt.releasePipeline(lease);
  for (const buf of [a, b] as GpuBuffer[]) rt.release(buf);
  uniform.destroy();
  return new Uint32Array(words, 0, dstWords);
}

describe.skipIf(gpu === null)(`float16 on WebGPU${gpu ? ` on ${gpu.adapterName}` : ` (skipped: ${noGpuReason})`}`, () => {
  const rt = () => (gpu as unknown as { rt: GpuRuntime }).rt;

  it("widens all 65536 halves and narrows f32 values around every rounding boundary bit for bit like the host", async () => {
    const halves = new Uint32Array(0x8000);
    for (let w = 0; w < 0x8000; w++) halves[w] = (2 * w) | ((2 * w + 1) << 16);
    const widened = await convert(rt(), WIDEN_HALVES_WGSL, halves, 0x10000, 0x10000);
    for (let h = 0; h < 0x10000; h++) {
      const got = new Float32Array(widened.buffer, h * 4, 1)[0];
      const want = halfValue(h);
      if (!(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)))) throw new Error(`half 0x${h.toString(16)}: got ${got}, want ${want}`);
    }
    const xs = boundaryValues();
    const narrowed = await convert(rt(), NARROW_HALVES_WGSL, new Uint32Array(xs.buffer), Math.ceil(xs.length / 2), xs.length);
    const want = packHalves(xs);
    for (let w = 0; w < want.length; w++) {
      if (narrowed[w] !== want[w]) throw new Error(`word ${w} (${xs[2 * w]}, ${xs[2 * w + 1]}): got 0x${narrowed[w].toString(16)}, want 0x${want[w].toString(16)}`);
    }
  });

  it("stores a float16 array in half the bytes of float32", () => {
    const n = 1001;
    const half = gpu!.fromHost(new Float32Array(n), new ShapedArray([n], "float16"));
    const single = gpu!.fromHost(new Float32Array(n), new ShapedArray([n], "float32"));
    expect(half.bytes).toBe(Math.ceil(n / 2) * 4);
    expect(single.bytes).toBe(n * 4);
    gpu!.free(half);
    gpu!.free(single);
  });

  it("runs float16 fused kernels (odd sizes, reductions in both strategies, mixed f16/f32 outputs), GEMM, conv, window, library and host steps like the interpreter", { timeout: 240_000 }, async () => {
    const data = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => roundToFloat16(r() * 4 - 2));
    const programs: { f: (...xs: Tracer[]) => Tracer[]; shapes: number[][] }[] = [
      // elementwise pairs over an odd size, a strided (transposed) read, a mixed-dtype pair of outputs
      { f: (x, y) => [np.tanh(x.mul(3)).add(y.T), np.astype(x.mul(y.T), "float32"), np.sum(x, 1), np.max(x, 0)], shapes: [[7, 5], [5, 7]] },
      // a workgroup-per-output reduction with an odd number of outputs
      { f: (x) => [np.sum(np.exp(x), 1), np.min(x, 1)], shapes: [[3, 700]] },
      // GEMM with a fused bias, conv, gather/scatter/pad/concat, sort, cumsum, argmax
      {
        f: (a, b, c) => [
          np.maximum(np.matmul(a, b).add(c), 0),
          lax.convGeneralDilated(np.reshape(a, [1, 1, 5, 9]), np.reshape(lax.slice(b, [0, 0], [3, 3]), [1, 1, 3, 3]), [1, 1], "SAME"),
          np.take(a, np.array([4, 0, 2, 2], { dtype: "int32" }), 0),
          np.zeros([5, 9], { dtype: "float16" }).at(np.array([1, 3, 1], { dtype: "int32" })).add(lax.slice(a, [0, 0], [3, 9])),
          // summed in place into the gather's packed float16 buffer, repeated indices
          np.take(np.reshape(a, [-1]), np.arange(44, -1, -1, { dtype: "int32" }), 0).at(np.array([3, 3, 0, 3, 44, 7, 0, 3, 3], { dtype: "int32" })).add(np.reshape(b, [-1]).slice([0, 9])).mul(3),
          np.concatenate([np.pad(a, [[1, 0], [0, 2]]), np.ones([1, 11], { dtype: "float16" })], 0),
          np.sort(a, 1),
          np.cumsum(a, 1),
          np.astype(np.argmax(a, 1), "float16"),
        ],
        shapes: [[5, 9], [9, 3], [3]],
      },
      // a host step (triangular solve) between float16 GPU steps
      { f: (a, b) => [lax.linalg.triangularSolve(np.tanh(a).mul(0.1).add(np.astype(np.eye(5), "float16")), b, { leftSide: true, lower: true }).mul(2)], shapes: [[5, 5], [5, 3]] },
    ];
    for (const { f, shapes } of programs) {
      const ds = shapes.map(data);
      const want = f(...ds.map((d, i) => TfArray.fromTyped(d, shapes[i], "float16", { backend: "interpreter" })));
      const got = jit(f, { backend: "webgpu" })(...ds.map((d, i) => TfArray.fromTyped(d, shapes[i], "float16", { backend: "webgpu" }))) as unknown as TfArray[];
      for (let k = 0; k < want.length; k++) {
        expect((got[k] as TfArray).aval.str()).toBe((want[k] as TfArray).aval.str());
        const m = mismatch(await got[k].data(), await want[k].data(), 4e-3, 4e-3);
        if (m !== null) throw new Error(`program ${programs.findIndex((p) => p.f === f)}, output ${k} (${(want[k] as TfArray).aval.str()}): ${m}`);
      }
    }
  });

  it("updates a donated float16 array in place (an odd length: the last word's high half stays zero)", async () => {
    const n = 9;
    const w0 = Float32Array.from({ length: n }, (_, i) => roundToFloat16(i * 0.3 - 1));
    const g = Float32Array.from({ length: n }, (_, i) => roundToFloat16(0.1 * i));
    const sgd = jit((w: Tracer, d: Tracer) => w.sub(d.mul(0.5)), { backend: "webgpu", donateArgnums: [0] });
    let w = TfArray.fromTyped(w0, [n], "float16", { backend: "webgpu" });
    let want = TfArray.fromTyped(w0, [n], "float16", { backend: "interpreter" });
    const gGpu = TfArray.fromTyped(g, [n], "float16", { backend: "webgpu" });
    const gHost = TfArray.fromTyped(g, [n], "float16", { backend: "interpreter" });
    for (let step = 0; step < 3; step++) {
      w = sgd(w, gGpu) as TfArray;
      want = want.sub(gHost.mul(0.5)) as TfArray;
    }
    expect(Array.from(await w.data())).toEqual(Array.from(await want.data()));
  });
});
