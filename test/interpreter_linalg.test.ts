// Tests of the linear-algebra and windowed primitives — dot_general,
// conv_general_dilated, reduce_window_*, select_and_scatter_add,
// select_and_gather_add — shape rules and interpreter rules, against
// hand-computed values and a naive convolution written independently here
// (explicit dilation, padding and kernel dilation, then a plain correlation).

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/core/aval";
import type { DType } from "../src/core/dtype";
import { ArgumentError, AxisError, DTypeError, ShapeError } from "../src/core/errors";
import type { ParamsOf, ReduceWindowParams } from "../src/core/primitives";
import { type LinalgPrimitive, linalgShapeRules } from "../src/core/shape_rules/linalg";
import type { HostArray } from "../src/backends/interpreter/host_array";
import { linalgInterpRules } from "../src/backends/interpreter/rules/linalg";
import { expectErr, hostArray, runRule } from "./interp_rules";

const ha = (shape: number[], values: ArrayLike<number>, dtype: DType = "float32"): HostArray => hostArray(dtype, shape, values);
const list = (x: HostArray) => Array.from(x.data);
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

const run = <P extends LinalgPrimitive>(prim: P, inputs: HostArray[], params: ParamsOf<P>): HostArray =>
  runRule(linalgShapeRules[prim], linalgInterpRules[prim], inputs, params)[0];

/** Small integers from a seeded LCG, so float results are exact. */
function randInts(n: number, seed: number, lo = -3, hi = 3): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}


// --- dot_general ---------------------------------------------------------------

const dg = (lc: number[], rc: number[], lb: number[] = [], rb: number[] = [], preferredElementType: DType | null = null): ParamsOf<"dot_general"> => ({
  dimensionNumbers: [[lc, rc], [lb, rb]],
  preferredElementType,
});

describe("dot_general", () => {
  const A = ha([2, 3], [1, 2, 3, 4, 5, 6]);
  const B = ha([3, 2], [7, 8, 9, 10, 11, 12]);

  it("matmul", () => {
    const out = run("dot_general", [A, B], dg([1], [0]));
    expect(out.shape).toEqual([2, 2]);
    expect(list(out)).toEqual([58, 64, 139, 154]);
  });

  it("contracting dims on the other sides (A^T stored, B^T stored)", () => {
    const At = ha([3, 2], [1, 4, 2, 5, 3, 6]);
    const Bt = ha([2, 3], [7, 9, 11, 8, 10, 12]);
    expect(list(run("dot_general", [At, Bt], dg([0], [1])))).toEqual([58, 64, 139, 154]);
    // B^T A^T = (AB)^T
    expect(list(run("dot_general", [Bt, At], dg([1], [0])))).toEqual([58, 139, 64, 154]);
  });

  it("batched matmul", () => {
    const x = ha([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const y = ha([2, 2, 1], [1, 1, 2, -1]);
    const out = run("dot_general", [x, y], dg([2], [1], [0], [0]));
    expect(out.shape).toEqual([2, 2, 1]);
    expect(list(out)).toEqual([3, 7, 5 * 2 - 6, 7 * 2 - 8]);
  });

  it("non-leading batch dims: output is batch, lhs free, rhs free", () => {
    const x = ha([3, 2, 4], randInts(24, 1)); // batch dim 1
    const y = ha([4, 2, 5], randInts(40, 2)); // batch dim 1
    const out = run("dot_general", [x, y], dg([2], [0], [1], [1]));
    expect(out.shape).toEqual([2, 3, 5]);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 5; j++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += x.data[(i * 2 + b) * 4 + k] * y.data[(k * 2 + b) * 5 + j];
          expect(out.data[(b * 3 + i) * 5 + j]).toBe(s);
        }
  });

  it("vector dot, outer product, multiple contracting dims", () => {
    const v = ha([3], [1, 2, 3]);
    const w = ha([3], [4, 5, 6]);
    const dot = run("dot_general", [v, w], dg([0], [0]));
    expect(dot.shape).toEqual([]);
    expect(list(dot)).toEqual([32]);
    const outer = run("dot_general", [ha([2], [1, 2]), w], dg([], []));
    expect(outer.shape).toEqual([2, 3]);
    expect(list(outer)).toEqual([4, 5, 6, 8, 10, 12]);
    // full contraction of [2,3] with its transpose layout: sum A[i,j] * At[j,i]
    const At = ha([3, 2], [1, 4, 2, 5, 3, 6]);
    expect(list(run("dot_general", [A, At], dg([0, 1], [1, 0])))).toEqual([1 + 4 + 9 + 16 + 25 + 36]);
  });

  it("integers wrap; preferredElementType; f16 rounds once at the end; bool is OR of AND", () => {
    const big = ha([2], [65536, 1], "int32");
    expect(list(run("dot_general", [big, ha([2], [65536, 5], "int32")], dg([0], [0])))).toEqual([5]);
    const asF = run("dot_general", [big, ha([2], [65536, 5], "int32")], dg([0], [0], [], [], "float32"));
    expect(asF.dtype).toBe("float32");
    expect(list(asF)).toEqual([Math.fround(4294967296 + 5)]); // no wrap: f32 of 2^32 + 5
    const u = run("dot_general", [ha([1], [4294967295], "uint32"), ha([1], [2], "uint32")], dg([0], [0]));
    expect(list(u)).toEqual([4294967294]);
    const h = run("dot_general", [ha([3], [1, 1, 1], "float16"), ha([3], [2048, 1, 1], "float16")], dg([0], [0]));
    expect(list(h)).toEqual([2050]); // 2048 + 1 + 1 accumulated exactly; sequential f16 adds would give 2048
    const b1 = run("dot_general", [ha([3], [1, 0, 1], "bool"), ha([3], [0, 0, 1], "bool")], dg([0], [0]));
    const b0 = run("dot_general", [ha([2], [1, 0], "bool"), ha([2], [0, 1], "bool")], dg([0], [0]));
    expect([...list(b1), ...list(b0)]).toEqual([1, 0]);
  });

  it("256x256x256: a spot-checked element is exact", () => {
    const n = 256;
    const x = ha([n, n], randInts(n * n, 3));
    const y = ha([n, n], randInts(n * n, 4));
    const out = run("dot_general", [x, y], dg([1], [0]));
    let s = 0;
    for (let k = 0; k < n; k++) s += x.data[17 * n + k] * y.data[k * n + 200];
    expect(out.data[17 * n + 200]).toBe(s);
  });
});

// --- conv_general_dilated ---------------------------------------------------------

interface ConvOpts {
  strides: number[];
  padding: [number, number][];
  lhsDil: number[];
  rhsDil: number[];
  G: number;
  BG: number;
}

/** Naive NCHW x OIHW reference: materialize the dilated+padded input and the
 * dilated kernel, then correlate with strides. */
function naiveConv2d(x: HostArray, w: HostArray, o: ConvOpts): { shape: number[]; data: number[] } {
  const [N, C, H, W] = x.shape;
  const [O, I, KH, KW] = w.shape;
  const dims = [H, W];
  const ks = [KH, KW];
  const dil = dims.map((n, d) => (n - 1) * o.lhsDil[d] + 1);
  const pd = dil.map((n, d) => n + o.padding[d][0] + o.padding[d][1]);
  const kd = ks.map((k, d) => (k - 1) * o.rhsDil[d] + 1);
  const xp = (n: number, c: number, y: number, z: number): number => {
    const q = [y - o.padding[0][0], z - o.padding[1][0]];
    for (let d = 0; d < 2; d++) if (q[d] < 0 || q[d] >= dil[d] || q[d] % o.lhsDil[d] !== 0) return 0;
    return x.data[((n * C + c) * H + q[0] / o.lhsDil[0]) * W + q[1] / o.lhsDil[1]];
  };
  const wd = (oc: number, i: number, ky: number, kx: number): number => {
    if (ky % o.rhsDil[0] !== 0 || kx % o.rhsDil[1] !== 0) return 0;
    return w.data[((oc * I + i) * KH + ky / o.rhsDil[0]) * KW + kx / o.rhsDil[1]];
  };
  const out = pd.map((p, d) => (p < kd[d] ? 0 : Math.floor((p - kd[d]) / o.strides[d]) + 1));
  const Nout = N / o.BG;
  const data: number[] = [];
  for (let n = 0; n < Nout; n++)
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / (O / o.G));
      const bg = Math.floor(oc / (O / o.BG));
      for (let y = 0; y < out[0]; y++)
        for (let z = 0; z < out[1]; z++) {
          let s = 0;
          for (let i = 0; i < I; i++)
            for (let ky = 0; ky < kd[0]; ky++)
              for (let kx = 0; kx < kd[1]; kx++)
                s += xp(bg * Nout + n, g * I + i, y * o.strides[0] + ky, z * o.strides[1] + kx) * wd(oc, i, ky, kx);
          data.push(s);
        }
    }
  return { shape: [Nout, O, out[0], out[1]], data };
}

/** Transpose a 4-d host array by `perm` (out dim p = in dim perm[p]). */
function transpose4(x: HostArray, perm: number[]): HostArray {
  const shape = perm.map((p) => x.shape[p]);
  const st = [x.shape[1] * x.shape[2] * x.shape[3], x.shape[2] * x.shape[3], x.shape[3], 1];
  const vals: number[] = [];
  for (let a = 0; a < shape[0]; a++)
    for (let b = 0; b < shape[1]; b++)
      for (let c = 0; c < shape[2]; c++)
        for (let d = 0; d < shape[3]; d++) {
          const idx = [a, b, c, d];
          let off = 0;
          perm.forEach((p, k) => (off += idx[k] * st[p]));
          vals.push(x.data[off]);
        }
  return ha(shape, vals, x.dtype);
}

function convParams(o: ConvOpts, lhsSpec: number[], rhsSpec: number[], outSpec: number[]): ParamsOf<"conv_general_dilated"> {
  return {
    windowStrides: o.strides, padding: o.padding, lhsDilation: o.lhsDil, rhsDilation: o.rhsDil,
    dimensionNumbers: { lhsSpec, rhsSpec, outSpec },
    featureGroupCount: o.G, batchGroupCount: o.BG, preferredElementType: null,
  };
}

const conv1d = (x: number[], w: number[], extra: Partial<ConvOpts> = {}) => {
  const o: ConvOpts = { strides: [1], padding: [[0, 0]], lhsDil: [1], rhsDil: [1], G: 1, BG: 1, ...extra };
  return list(run("conv_general_dilated", [ha([1, 1, x.length], x), ha([1, 1, w.length], w)], convParams(o, [0, 1, 2], [0, 1, 2], [0, 1, 2])));
};

describe("conv_general_dilated", () => {
  const x = [1, 2, 3, 4, 5];

  it("1-d hand cases: valid, padding, stride, lhs dilation, rhs dilation, negative padding", () => {
    expect(conv1d(x, [1, 0, -1])).toEqual([-2, -2, -2]);
    expect(conv1d(x, [1, 0, -1], { padding: [[1, 1]] })).toEqual([-2, -2, -2, -2, 4]);
    expect(conv1d(x, [1, 0, -1], { strides: [2] })).toEqual([-2, -2]);
    expect(conv1d(x, [1, 1], { lhsDil: [2] })).toEqual([1, 2, 2, 3, 3, 4, 4, 5]);
    expect(conv1d(x, [1, -1], { rhsDil: [2] })).toEqual([-2, -2, -2]);
    expect(conv1d(x, [1, 1], { padding: [[-1, 0]] })).toEqual([5, 7, 9]);
    expect(conv1d(x, [1, 1], { padding: [[-2, -2]] })).toEqual([]);
    // transposed conv of [1,2] with kernel [1,10] stride 2: lhs dilation 2, padding k-1
    expect(conv1d([1, 2], [10, 1], { lhsDil: [2], padding: [[1, 1]] })).toEqual([1, 10, 2, 20]);
  });

  it("featureGroupCount: depthwise with a channel multiplier", () => {
    // x: N=1, C=2, W=3; w: O=4 (2 per group), I=1, K=1
    const xs = ha([1, 2, 3], [1, 2, 3, 10, 20, 30]);
    const ws = ha([4, 1, 1], [1, 2, 3, 4]);
    const p = convParams({ strides: [1], padding: [[0, 0]], lhsDil: [1], rhsDil: [1], G: 2, BG: 1 }, [0, 1, 2], [0, 1, 2], [0, 1, 2]);
    const out = run("conv_general_dilated", [xs, ws], p);
    expect(out.shape).toEqual([1, 4, 3]);
    expect(list(out)).toEqual([1, 2, 3, 2, 4, 6, 30, 60, 90, 40, 80, 120]);
  });

  it("batchGroupCount: contiguous batch groups pair with contiguous output-feature groups", () => {
    const xs = ha([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    const ws = ha([2, 1, 1], [10, 100]);
    const p = convParams({ strides: [1], padding: [[0, 0]], lhsDil: [1], rhsDil: [1], G: 1, BG: 2 }, [0, 1, 2], [0, 1, 2], [0, 1, 2]);
    const out = run("conv_general_dilated", [xs, ws], p);
    expect(out.shape).toEqual([1, 2, 3]);
    expect(list(out)).toEqual([10, 20, 30, 400, 500, 600]);
  });

  it("batchGroupCount computes the kernel gradient of a feature-grouped conv (as JAX uses it)", () => {
    // y[n,o,t] = sum_{i,k} x[n, g(o)*I + i, t+k] w[o,i,k]  with G = 2, C = 4, I = 2, O = 6
    const N = 2, C = 4, Wd = 5, O = 6, I = 2, K = 3, T = Wd - K + 1;
    const xs = ha([N, C, Wd], randInts(N * C * Wd, 11));
    const dy = ha([N, O, T], randInts(N * O * T, 12));
    const ref: number[] = [];
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let k = 0; k < K; k++) {
          const g = Math.floor(o / (O / 2));
          let s = 0;
          for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) s += xs.data[(n * C + g * I + i) * Wd + t + k] * dy.data[(n * O + o) * T + t];
          ref.push(s);
        }
    // lhs = x with batch<->feature swapped, rhs = dy as [O (out feature), N (in feature), T]
    const p = convParams({ strides: [1], padding: [[0, 0]], lhsDil: [1], rhsDil: [1], G: 1, BG: 2 }, [1, 0, 2], [1, 0, 2], [1, 0, 2]);
    const dw = run("conv_general_dilated", [xs, dy], p);
    expect(dw.shape).toEqual([O, I, K]);
    expect(list(dw)).toEqual(ref);
  });

  const configs: [string, number[], number[], Partial<ConvOpts>][] = [
    ["plain", [2, 3, 6, 5], [4, 3, 3, 2], {}],
    ["stride + padding", [2, 3, 7, 6], [4, 3, 3, 3], { strides: [2, 1], padding: [[1, 2], [0, 1]] }],
    ["negative padding", [1, 2, 7, 7], [3, 2, 2, 3], { padding: [[-1, 0], [1, -2]] }],
    ["lhs dilation", [1, 2, 4, 3], [2, 2, 3, 2], { lhsDil: [2, 3], padding: [[2, 2], [1, 1]] }],
    ["rhs dilation + stride", [2, 2, 8, 9], [3, 2, 2, 3], { rhsDil: [3, 2], strides: [1, 2] }],
    ["feature groups", [2, 6, 5, 5], [4, 3, 3, 3], { G: 2, padding: [[1, 1], [1, 1]] }],
    ["batch groups", [4, 2, 5, 4], [6, 2, 2, 2], { BG: 2, strides: [2, 1] }],
  ];

  for (const [name, xs, ws, extra] of configs) {
    it(`NCHW/OIHW and NHWC/HWIO match the naive loop: ${name}`, () => {
      const o: ConvOpts = { strides: [1, 1], padding: [[0, 0], [0, 0]], lhsDil: [1, 1], rhsDil: [1, 1], G: 1, BG: 1, ...extra };
      const x = ha(xs, randInts(xs.reduce((a, b) => a * b), 5));
      const w = ha(ws, randInts(ws.reduce((a, b) => a * b), 6));
      const ref = naiveConv2d(x, w, o);
      const nchw = run("conv_general_dilated", [x, w], convParams(o, [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]));
      expect(nchw.shape).toEqual(ref.shape);
      expect(list(nchw)).toEqual(ref.data);
      // NHWC input, HWIO kernel, NHWC output
      const xh = transpose4(x, [0, 2, 3, 1]);
      const wh = transpose4(w, [2, 3, 1, 0]);
      const nhwc = run("conv_general_dilated", [xh, wh], convParams(o, [0, 3, 1, 2], [3, 2, 0, 1], [0, 3, 1, 2]));
      const refNhwc = transpose4(ha(ref.shape, ref.data), [0, 2, 3, 1]);
      expect(nhwc.shape).toEqual(refNhwc.shape);
      expect(list(nhwc)).toEqual(list(refNhwc));
    });
  }

  it("3 spatial dims: a depth-1 volume with a depth-1 kernel equals the 2-d conv", () => {
    const o: ConvOpts = { strides: [1, 2], padding: [[1, 0], [0, 1]], lhsDil: [1, 1], rhsDil: [1, 1], G: 1, BG: 1 };
    const x = ha([2, 2, 5, 5], randInts(100, 7));
    const w = ha([3, 2, 2, 2], randInts(24, 8));
    const ref = naiveConv2d(x, w, o);
    const p: ParamsOf<"conv_general_dilated"> = {
      ...convParams({ ...o, strides: [1, ...o.strides], padding: [[0, 0], ...o.padding], lhsDil: [1, 1, 1], rhsDil: [1, 1, 1] }, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]),
    };
    const out = run("conv_general_dilated", [ha([2, 2, 1, 5, 5], x.data), ha([3, 2, 1, 2, 2], w.data)], p);
    expect(out.shape).toEqual([ref.shape[0], ref.shape[1], 1, ref.shape[2], ref.shape[3]]);
    expect(list(out)).toEqual(ref.data);
  });

  it("int32 conv wraps; preferredElementType float32", () => {
    const p = convParams({ strides: [1], padding: [[0, 0]], lhsDil: [1], rhsDil: [1], G: 1, BG: 1 }, [0, 1, 2], [0, 1, 2], [0, 1, 2]);
    const xi = ha([1, 1, 2], [65536, 3], "int32");
    const wi = ha([1, 1, 2], [65536, 2], "int32");
    expect(list(run("conv_general_dilated", [xi, wi], p))).toEqual([6]);
    const f = run("conv_general_dilated", [xi, wi], { ...p, preferredElementType: "float32" });
    expect(f.dtype).toBe("float32");
    expect(list(f)).toEqual([Math.fround(4294967296 + 6)]);
  });

  it("[32,28,28,1] x [3,3,1,32] (NHWC, HWIO): shape and a spot-checked element", () => {
    const x = ha([32, 28, 28, 1], randInts(32 * 28 * 28, 9));
    const w = ha([3, 3, 1, 32], randInts(9 * 32, 10));
    const o: ConvOpts = { strides: [1, 1], padding: [[1, 1], [1, 1]], lhsDil: [1, 1], rhsDil: [1, 1], G: 1, BG: 1 };
    const out = run("conv_general_dilated", [x, w], convParams(o, [0, 3, 1, 2], [3, 2, 0, 1], [0, 3, 1, 2]));
    expect(out.shape).toEqual([32, 28, 28, 32]);
    // spot check one output: n=3, y=0, z=5, o=7 (top row: ky=0 is padding)
    let s = 0;
    for (let ky = 1; ky < 3; ky++)
      for (let kx = 0; kx < 3; kx++) s += x.data[(3 * 28 + ky - 1) * 28 + 5 + kx - 1] * w.data[(ky * 3 + kx) * 32 + 7];
    expect(out.data[((3 * 28 + 0) * 28 + 5) * 32 + 7]).toBe(s);
  });
});

// --- reduce_window -------------------------------------------------------------------

function rw(win: number[], strides?: number[], padding?: [number, number][], baseDilation?: number[], windowDilation?: number[]): ReduceWindowParams {
  const ones = win.map(() => 1);
  return {
    windowDimensions: win,
    windowStrides: strides ?? ones,
    padding: padding ?? win.map(() => [0, 0] as [number, number]),
    baseDilation: baseDilation ?? ones,
    windowDilation: windowDilation ?? ones,
  };
}

describe("reduce_window", () => {
  const x44 = ha([4, 4], iota(16));

  it("max pool 2x2 stride 2 and avg pool as a sum", () => {
    const mp = run("reduce_window_max", [x44], rw([2, 2], [2, 2]));
    expect(mp.shape).toEqual([2, 2]);
    expect(list(mp)).toEqual([5, 7, 13, 15]);
    const sp = run("reduce_window_sum", [x44], rw([2, 2], [2, 2]));
    expect(list(sp).map((v) => v / 4)).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(list(run("reduce_window_min", [x44], rw([3, 2], [1, 2])))).toEqual([0, 2, 4, 6]);
  });

  it("padding uses the identity: 0 for sum, -inf for max, +inf for min; negative padding crops", () => {
    const neg = ha([3], [-1, -2, -3]);
    const pad = rw([2], [1], [[1, 1]]);
    expect(list(run("reduce_window_max", [neg], pad))).toEqual([-1, -1, -2, -3]);
    expect(list(run("reduce_window_sum", [neg], pad))).toEqual([-1, -3, -5, -3]);
    expect(list(run("reduce_window_min", [ha([3], [1, 2, 3])], pad))).toEqual([1, 1, 2, 3]);
    expect(list(run("reduce_window_sum", [ha([4], [1, 2, 3, 4])], rw([2], [1], [[-1, 0]])))).toEqual([5, 7]);
    // a window entirely in padding gives the identity
    expect(list(run("reduce_window_max", [ha([1], [5], "int32")], rw([1], [1], [[1, 0]])))).toEqual([-2147483648, 5]);
    expect(list(run("reduce_window_min", [ha([1], [5], "uint32")], rw([1], [1], [[0, 1]])))).toEqual([5, 4294967295]);
    expect(list(run("reduce_window_max", [ha([1], [5])], rw([1], [1], [[1, 0]])))).toEqual([-Infinity, 5]);
  });

  it("window dilation and base dilation (holes are the identity, not 0)", () => {
    expect(list(run("reduce_window_sum", [ha([5], [1, 2, 3, 4, 5])], rw([2], [1], undefined, [1], [2])))).toEqual([4, 6, 8]);
    expect(list(run("reduce_window_sum", [ha([3], [1, 2, 3])], rw([2], [1], undefined, [2], [1])))).toEqual([1, 2, 2, 3]);
    expect(list(run("reduce_window_max", [ha([3], [-1, -2, -3])], rw([2], [1], undefined, [2], [1])))).toEqual([-1, -2, -2, -3]);
    // 2-d: stride 2 over a base-dilated, padded input
    const out = run("reduce_window_sum", [ha([2, 2], [1, 2, 3, 4])], rw([2, 2], [2, 2], [[1, 0], [0, 1]], [2, 2], [1, 1]));
    // dilated+padded rows: [pad],[1,h,2],[h,h,h],[3,h,4] (+ right pad col) -> windows rows {0,1},{2,3}; cols {0,1},{2,3}
    expect(out.shape).toEqual([2, 2]);
    expect(list(out)).toEqual([1, 2, 3, 4]);
  });

  it("NHWC max pool with trivial batch/channel window dims matches a naive loop", () => {
    const x = ha([2, 4, 5, 3], randInts(120, 31, -50, 50));
    const out = run("reduce_window_max", [x], rw([1, 2, 2, 1], [1, 2, 2, 1], [[0, 0], [0, 0], [1, 0], [0, 0]]));
    expect(out.shape).toEqual([2, 2, 3, 3]);
    const ref: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 2; y++)
        for (let z = 0; z < 3; z++)
          for (let c = 0; c < 3; c++) {
            let m = -Infinity;
            for (let ky = 0; ky < 2; ky++)
              for (let kx = 0; kx < 2; kx++) {
                const yy = y * 2 + ky, zz = z * 2 + kx - 1;
                if (zz >= 0 && zz < 5) m = Math.max(m, x.data[((n * 4 + yy) * 5 + zz) * 3 + c]);
              }
            ref.push(m);
          }
    expect(list(out)).toEqual(ref);
    // its backward pass routes each cotangent to the argmax position
    const src = ha([2, 2, 3, 3], randInts(36, 32));
    const back = run("select_and_scatter_add", [src, x], { selectPrim: "ge", windowDimensions: [1, 2, 2, 1], windowStrides: [1, 2, 2, 1], padding: [[0, 0], [0, 0], [1, 0], [0, 0]] });
    const expected = new Array<number>(x.size).fill(0);
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 2; y++)
        for (let z = 0; z < 3; z++)
          for (let c = 0; c < 3; c++) {
            let best = -1;
            for (let ky = 0; ky < 2; ky++)
              for (let kx = 0; kx < 2; kx++) {
                const yy = y * 2 + ky, zz = z * 2 + kx - 1;
                if (zz < 0 || zz >= 5) continue;
                const at = ((n * 4 + yy) * 5 + zz) * 3 + c;
                if (best < 0 || x.data[at] > x.data[best]) best = at;
              }
            expected[best] += src.data[((n * 2 + y) * 3 + z) * 3 + c];
          }
    expect(list(back)).toEqual(expected);
  });

  it("NaN propagates through max; integer sums wrap", () => {
    expect(list(run("reduce_window_max", [ha([3], [1, NaN, 2])], rw([2])))).toEqual([NaN, NaN]);
    expect(list(run("reduce_window_sum", [ha([2], [2147483647, 1], "int32")], rw([2])))).toEqual([-2147483648]);
  });
});

// --- select_and_scatter_add / select_and_gather_add -------------------------------

describe("select_and_scatter_add and select_and_gather_add", () => {
  const sas = (source: number[], operand: number[], selectPrim: "ge" | "le", win: number[], strides: number[], padding: [number, number][], shape = [operand.length]) =>
    run("select_and_scatter_add", [ha([source.length], source), ha(shape, operand)], { selectPrim, windowDimensions: win, windowStrides: strides, padding });

  it("ties pick the first max (ge) / first min (le)", () => {
    const op = [1, 3, 3, 2];
    expect(list(sas([10, 20, 30], op, "ge", [2], [1], [[0, 0]]))).toEqual([0, 30, 30, 0]);
    expect(list(sas([10, 20, 30], op, "le", [2], [1], [[0, 0]]))).toEqual([10, 20, 0, 30]);
  });

  it("padded positions are never selected", () => {
    expect(list(sas([1, 2, 3], [-5, -3], "ge", [2], [1], [[1, 1]]))).toEqual([1, 5]);
    expect(list(sas([1, 2, 3], [5, 3], "le", [2], [1], [[1, 1]]))).toEqual([1, 5]);
  });

  it("2x2 stride 2 max-pool backward", () => {
    const op = ha([4, 4], [1, 9, 2, 2, 0, 3, 2, 2, 7, 7, 0, 1, 7, 1, 5, 6]);
    const src = ha([2, 2], [1, 2, 3, 4]);
    const out = run("select_and_scatter_add", [src, op], { selectPrim: "ge", windowDimensions: [2, 2], windowStrides: [2, 2], padding: [[0, 0], [0, 0]] });
    expect(out.shape).toEqual([4, 4]);
    expect(list(out)).toEqual([0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 4]);
    // overlapping windows accumulate
    const ov = run("select_and_scatter_add", [ha([3], [1, 2, 3]), ha([4], [0, 5, 1, 0])], { selectPrim: "ge", windowDimensions: [2], windowStrides: [1], padding: [[0, 0]] });
    expect(list(ov)).toEqual([0, 3, 3, 0]);
  });

  it("select_and_gather_add picks the tangent at the selected position", () => {
    const op = ha([4], [1, 3, 3, 2]);
    const t = ha([4], [10, 20, 30, 40]);
    expect(list(run("select_and_gather_add", [t, op], { selectPrim: "ge", ...rw([2]) }))).toEqual([20, 20, 30]);
    expect(list(run("select_and_gather_add", [t, op], { selectPrim: "le", ...rw([2]) }))).toEqual([10, 20, 40]);
    // padding never selected; an all-padding window gives 0; base dilation holes are padding too
    expect(list(run("select_and_gather_add", [ha([2], [7, 8]), ha([2], [-5, -3])], { selectPrim: "ge", ...rw([2], [1], [[2, 1]]) }))).toEqual([0, 7, 8, 8]);
    expect(list(run("select_and_gather_add", [ha([2], [7, 8]), ha([2], [-5, -3])], { selectPrim: "ge", ...rw([2], [1], undefined, [2]) }))).toEqual([7, 8]);
  });

  it("select_and_scatter_add is the transpose of select_and_gather_add", () => {
    const shape = [5, 6];
    const op = ha(shape, randInts(30, 21));
    const t = ha(shape, randInts(30, 22));
    const win = { windowDimensions: [3, 2], windowStrides: [2, 1], padding: [[1, 1], [0, 1]] as [number, number][] };
    const g = run("select_and_gather_add", [t, op], { selectPrim: "ge", ...win, baseDilation: [1, 1], windowDilation: [1, 1] });
    const s = ha(g.shape as number[], randInts(g.size, 23));
    const sc = run("select_and_scatter_add", [s, op], { selectPrim: "ge", ...win });
    const dot = (a: HostArray, b: HostArray) => list(a).reduce((acc, v, i) => acc + v * b.data[i], 0);
    expect(dot(g, s)).toBe(dot(t, sc));
  });
});

// --- shape rules: bad inputs -----------------------------------------------------------

describe("linalg shape rules reject bad inputs", () => {
  const f = (shape: number[], dtype: DType = "float32") => new ShapedArray(shape, dtype);

  it("dot_general", () => {
    expect(linalgShapeRules.dot_general([f([2, 3]), f([3, 5])], dg([1], [0]))[0].str()).toBe("f32[2,5]");
    expectErr(() => linalgShapeRules.dot_general([f([2, 3]), f([4, 5])], dg([1], [0])), ShapeError,
      "dot_general: contracting dimension sizes differ: lhs f32[2,3] dim 1 has 3, rhs f32[4,5] dim 0 has 4");
    expectErr(() => linalgShapeRules.dot_general([f([2, 3]), f([3, 5], "int32")], dg([1], [0])), DTypeError, "dot_general", "f32[2,3]", "i32[3,5]");
    expectErr(() => linalgShapeRules.dot_general([f([2, 3]), f([3, 5])], dg([2], [0])), AxisError, "dot_general", "f32[2,3]", "[0, 2)");
    expectErr(() => linalgShapeRules.dot_general([f([2, 3]), f([2, 3])], dg([0], [0], [0], [1])), AxisError, "dot_general", "both contracting and batch");
    expectErr(() => linalgShapeRules.dot_general([f([4, 2, 3]), f([5, 3, 2])], dg([2], [1], [0], [0])), ShapeError, "dot_general", "batch dimension sizes differ", "f32[4,2,3]", "f32[5,3,2]");
    expectErr(() => linalgShapeRules.dot_general([f([2, 3]), f([3, 5])], dg([1], [0], [], [], "int32")), DTypeError, "dot_general", "preferredElementType");
  });

  it("conv_general_dilated", () => {
    const p = convParams({ strides: [1, 1], padding: [[0, 0], [0, 0]], lhsDil: [1, 1], rhsDil: [1, 1], G: 1, BG: 1 }, [0, 3, 1, 2], [3, 2, 0, 1], [0, 3, 1, 2]);
    expect(linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 3, 16])], p)[0].str()).toBe("f32[2,6,6,16]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 4]), f([3, 3, 3, 16])], p), ShapeError, "conv_general_dilated", "f32[2,8,8,4]", "f32[3,3,3,16]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 1, 16])], { ...p, featureGroupCount: 2 }), ShapeError, "conv_general_dilated", "divisible by featureGroupCount", "f32[2,8,8,3]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([3, 8, 8, 3]), f([3, 3, 3, 16])], { ...p, batchGroupCount: 2 }), ShapeError, "conv_general_dilated", "batchGroupCount", "f32[3,8,8,3]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 3, 16])], { ...p, dimensionNumbers: { ...p.dimensionNumbers, lhsSpec: [0, 3, 1, 1] } }), AxisError, "conv_general_dilated", "lhsSpec", "f32[2,8,8,3]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 3, 16])], { ...p, windowStrides: [1] }), ShapeError, "conv_general_dilated", "windowStrides", "f32[2,8,8,3]");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 3, 16])], { ...p, windowStrides: [0, 1] }), ArgumentError, "conv_general_dilated", "windowStrides");
    expectErr(() => linalgShapeRules.conv_general_dilated([f([2, 8, 8, 3]), f([3, 3, 3, 16], "float16")], p), DTypeError, "conv_general_dilated", "f16[3,3,3,16]");
  });

  it("reduce_window and select_and_*", () => {
    expect(linalgShapeRules.reduce_window_max([f([4, 6])], rw([2, 3], [2, 3]))[0].str()).toBe("f32[2,2]");
    expectErr(() => linalgShapeRules.reduce_window_sum([f([4, 6])], rw([2], [2])), ShapeError, "reduce_window_sum", "windowDimensions", "f32[4,6]");
    expectErr(() => linalgShapeRules.reduce_window_max([f([4, 6])], rw([2, 2], [0, 1])), ArgumentError, "reduce_window_max", "windowStrides", "f32[4,6]");
    expectErr(() => linalgShapeRules.reduce_window_min([f([4, 6])], { ...rw([2, 2]), padding: [[0, 0]] }), ShapeError, "reduce_window_min", "padding", "f32[4,6]");
    const sp = { selectPrim: "ge" as const, windowDimensions: [2, 2], windowStrides: [2, 2], padding: [[0, 0], [0, 0]] as [number, number][] };
    expect(linalgShapeRules.select_and_scatter_add([f([2, 3]), f([4, 6])], sp)[0].str()).toBe("f32[4,6]");
    expectErr(() => linalgShapeRules.select_and_scatter_add([f([2, 2]), f([4, 6])], sp), ShapeError, "select_and_scatter_add", "f32[2,2]", "f32[4,6]", "[2,3]");
    expectErr(() => linalgShapeRules.select_and_scatter_add([f([2, 3], "int32"), f([4, 6])], sp), DTypeError, "select_and_scatter_add", "i32[2,3]");
    expectErr(() => linalgShapeRules.select_and_gather_add([f([4, 5]), f([4, 6])], { selectPrim: "ge", ...rw([2, 2]) }), ShapeError, "select_and_gather_add", "f32[4,5]", "f32[4,6]");
    expectErr(() => linalgShapeRules.select_and_gather_add([f([4, 6]), f([4, 6])], { selectPrim: "gt" as "ge", ...rw([2, 2]) }), ArgumentError, "select_and_gather_add", "selectPrim");
  });
});
