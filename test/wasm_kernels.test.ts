// Tests of the hand-written Rust/WASM SIMD kernels (wasm/tinyflow_kernels.wasm)
// through their TypeScript loader: sgemm against a naive triple loop, conv2d
// and its two gradients against naive loops, the allocator, the shared /
// unshared memory paths and argument checking.
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";
import { type Conv2dParams, conv2dShapes } from "../src/backends/wasm/conv_params.js";
import { WasmKernelError } from "../src/backends/wasm/kernel_args.js";
import { readKernelBytes } from "../src/backends/wasm/kernel_binary.js";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels.js";

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface GemmCase {
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  lda: number;
  ldb: number;
  ldc: number;
}

/**
 * Runs one sgemm in wasm and checks every element of C against a float64
 * triple loop, with an error bound relative to sum |alpha a b| + |beta c|.
 * Padding columns (ld > cols) hold NaN in A and B (must never be read) and a
 * sentinel in C (must never be written).
 */
function checkGemm(K: WasmKernels, g: GemmCase, seed: number): void {
  const { ta, tb, m, n, k, alpha, beta, lda, ldb, ldc } = g;
  const [aRows, aCols] = ta ? [k, m] : [m, k];
  const [bRows, bCols] = tb ? [n, k] : [k, n];
  const a = new Float32Array(Math.max(1, aRows * lda)).fill(NaN);
  const b = new Float32Array(Math.max(1, bRows * ldb)).fill(NaN);
  const c = new Float32Array(Math.max(1, m * ldc)).fill(12345);
  const ra = rand(aRows * aCols, seed);
  const rb = rand(bRows * bCols, seed + 1);
  const rc = rand(m * n, seed + 2);
  for (let i = 0; i < aRows; i++) for (let j = 0; j < aCols; j++) a[i * lda + j] = ra[i * aCols + j]!;
  for (let i = 0; i < bRows; i++) for (let j = 0; j < bCols; j++) b[i * ldb + j] = rb[i * bCols + j]!;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) c[i * ldc + j] = beta === 0 ? NaN : rc[i * n + j]!;
  }
  const A = (i: number, p: number) => (ta ? a[p * lda + i]! : a[i * lda + p]!);
  const B = (p: number, j: number) => (tb ? b[j * ldb + p]! : b[p * ldb + j]!);
  const pa = K.putF32(a);
  const pb = K.putF32(b);
  const pc = K.putF32(c);
  K.sgemm({ transA: ta, transB: tb, m, n, k, alpha, a: pa, lda, b: pb, ldb, beta, c: pc, ldc });
  const out = K.readF32(pc, c.length);
  K.freeF32(pa, a.length);
  K.freeF32(pb, b.length);
  K.freeF32(pc, c.length);
  let bad = 0;
  let firstBad = "";
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < ldc; j++) {
      const got = out[i * ldc + j]!;
      if (j >= n) {
        if (got !== 12345) {
          bad++;
          firstBad ||= `padding C[${i},${j}] written: ${got}`;
        }
        continue;
      }
      let acc = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const t = A(i, p) * B(p, j);
        acc += t;
        mag += Math.abs(t);
      }
      const c0 = c[i * ldc + j]!;
      const ref = alpha * acc + (beta === 0 ? 0 : beta * c0);
      const tol = 1e-5 + 2e-5 * (Math.abs(alpha) * mag + Math.abs(beta === 0 ? 0 : beta * c0));
      if (!(Math.abs(got - ref) <= tol)) {
        bad++;
        firstBad ||= `C[${i},${j}] = ${got}, expected ${ref}`;
      }
    }
  }
  expect(firstBad, JSON.stringify(g)).toBe("");
  expect(bad).toBe(0);
}

let K: WasmKernels;
beforeAll(() => {
  K = instantiateWasmKernels();
});

describe("wasm module", () => {
  it("loads with an imported shared memory in Node", () => {
    expect(K.shared).toBe(true);
    expect(K.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(K.raw.abi_version()).toBe(1);
    expect(K.raw.peak_flops_per_iter()).toBe(104);
  });
});

describe("sgemm", () => {
  const sizes = [1, 3, 5, 17, 33, 65, 130];
  const variants: Array<[boolean, boolean]> = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  for (const [ta, tb] of variants) {
    it(`all odd-size shapes, transA=${ta} transB=${tb}`, () => {
      let seed = 1;
      for (const m of sizes) {
        for (const n of sizes) {
          for (const k of sizes) {
            const lda = ta ? m : k;
            const ldb = tb ? k : n;
            checkGemm(K, { ta, tb, m, n, k, alpha: 1, beta: 0, lda, ldb, ldc: n }, seed++);
          }
        }
      }
    });

    it(`alpha/beta and leading dims > cols, transA=${ta} transB=${tb}`, () => {
      const cases: Array<[number, number, number, number, number]> = [
        [7, 9, 11, 0.5, -1.5],
        [33, 17, 65, -2, 1],
        [130, 65, 5, 1, 0.25],
        [4, 8, 300, 3, 1],
        [1, 130, 1, 1, 2],
      ];
      let seed = 1000;
      for (const [m, n, k, alpha, beta] of cases) {
        const lda = (ta ? m : k) + 3;
        const ldb = (tb ? k : n) + 5;
        const ldc = n + 2;
        checkGemm(K, { ta, tb, m, n, k, alpha, beta, lda, ldb, ldc }, seed++);
      }
    });

    it(`crosses every cache-block boundary (MC=128, KC=256, NC=2048), transA=${ta} transB=${tb}`, () => {
      checkGemm(K, { ta, tb, m: 131, n: 2053, k: 261, alpha: 1, beta: 0.5, lda: ta ? 131 : 261, ldb: tb ? 261 : 2053, ldc: 2053 }, 77);
    });
  }

  it("beta = 0 ignores NaN in C; alpha = 0 and k = 0 only scale C", () => {
    const m = 6;
    const n = 10;
    const a = rand(m * 4, 5);
    const b = rand(4 * n, 6);
    const pa = K.putF32(a);
    const pb = K.putF32(b);
    const pc = K.putF32(new Float32Array(m * n).fill(NaN));
    K.sgemm({ m, n, k: 4, a: pa, b: pb, c: pc, beta: 0 });
    const out = K.readF32(pc, m * n);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out[0]).toBeCloseTo(a[0]! * b[0]! + a[1]! * b[n]! + a[2]! * b[2 * n]! + a[3]! * b[3 * n]!, 5);

    K.writeF32(pc, new Float32Array(m * n).fill(2));
    K.sgemm({ m, n, k: 4, alpha: 0, a: pa, b: pb, c: pc, beta: 3 });
    expect(Array.from(K.readF32(pc, m * n))).toEqual(new Array(m * n).fill(6));

    K.sgemm({ m, n, k: 0, a: pa, b: pb, c: pc, beta: 0.5 });
    expect(Array.from(K.readF32(pc, m * n))).toEqual(new Array(m * n).fill(3));

    K.writeF32(pc, new Float32Array(m * n).fill(NaN));
    K.sgemm({ m, n, k: 0, a: pa, b: pb, c: pc, beta: 0 });
    expect(Array.from(K.readF32(pc, m * n))).toEqual(new Array(m * n).fill(0));
    K.freeF32(pa, a.length);
    K.freeF32(pb, b.length);
    K.freeF32(pc, m * n);
  });

  it("sgemmRows over disjoint row ranges with caller scratch equals one sgemm", () => {
    const m = 203;
    const n = 77;
    const k = 301;
    const a = rand(m * k, 11);
    const b = rand(k * n, 12);
    const whole = K.matmul(a, b, m, n, k);
    const pa = K.putF32(a);
    const pb = K.putF32(b);
    const pc = K.allocF32(m * n);
    const bounds = [0, 1, 50, 129, 130, 203];
    for (let r = 0; r + 1 < bounds.length; r++) {
      const m0 = bounds[r]!;
      const m1 = bounds[r + 1]!;
      const bytes = K.sgemmScratchBytes(m1 - m0, n, k);
      expect(bytes).toBeGreaterThan(0);
      const scratch = K.alloc(bytes);
      K.sgemmRows({ m, n, k, a: pa, b: pb, c: pc, m0, m1, scratch });
      K.free(scratch, bytes);
    }
    const parts = K.readF32(pc, m * n);
    for (let i = 0; i < m * n; i++) expect(Math.abs(parts[i]! - whole[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(whole[i]!)));
    K.freeF32(pa, a.length);
    K.freeF32(pb, b.length);
    K.freeF32(pc, m * n);
  });

  it("matmul of known small matrices", () => {
    // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const c = K.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([7, 8, 9, 10, 11, 12]), 2, 2, 3);
    expect(Array.from(c)).toEqual([58, 64, 139, 154]);
    // A^T with A stored 3x2: [[1,4],[2,5],[3,6]] -> same product
    const ct = K.matmul(new Float32Array([1, 4, 2, 5, 3, 6]), new Float32Array([7, 8, 9, 10, 11, 12]), 2, 2, 3, { transA: true });
    expect(Array.from(ct)).toEqual([58, 64, 139, 154]);
  });

  it("rejects bad arguments with WasmKernelError", () => {
    const p = K.allocF32(64);
    expect(() => K.sgemm({ m: 4, n: 4, k: 4, a: p, b: p, c: p, lda: 3 })).toThrow(WasmKernelError);
    expect(() => K.sgemm({ m: -1, n: 4, k: 4, a: p, b: p, c: p })).toThrow(/non-negative/);
    expect(() => K.sgemm({ m: 4, n: 4, k: 4, a: p + 2, b: p, c: p })).toThrow(/aligned/);
    expect(() => K.sgemm({ m: 4, n: 4, k: 4, a: K.memory.buffer.byteLength - 8, b: p, c: p })).toThrow(/outside/);
    expect(() => K.sgemm({ m: 4, n: 4, k: 4, a: p, b: p, c: p, alpha: NaN })).toThrow(/finite/);
    expect(() => K.sgemmRows({ m: 4, n: 4, k: 4, a: p, b: p, c: p, m0: 3, m1: 5 })).toThrow(/row range/);
    // The wasm side checks too: raw calls return negative codes.
    expect(K.raw.sgemm(0, 0, 4, 4, 4, 1, p, 3, p, 4, 0, p, 4)).toBe(-8);
    expect(K.raw.sgemm(2, 0, 4, 4, 4, 1, p, 4, p, 4, 0, p, 4)).toBe(-2);
    expect(K.raw.sgemm_rows(0, 0, 4, 4, 4, 1, p, 4, p, 4, 0, p, 4, 2, 1, 0)).toBe(-2);
    try {
      K.sgemm({ m: 4, n: 4, k: 4, a: p, b: p, c: p, ldc: 2 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WasmKernelError);
      expect((e as WasmKernelError).code).toBe(-8);
    }
    K.freeF32(p, 64);
  });
});

// ---------------------------------------------------------------- conv ----

/** Calls f(xIndex, wIndex, yIndex) for every (output, tap) pair that reads a real input pixel. */
function forEachTap(p: Conv2dParams, f: (xi: number, wi: number, yi: number) => void): void {
  const s = conv2dShapes(p);
  const G = p.groups ?? 1;
  const [sh, sw] = p.strides ?? [1, 1];
  const [[pt], [pl]] = p.padding ?? [[0, 0], [0, 0]];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [lh, lw] = p.lhsDilation ?? [1, 1];
  const cg = p.cin / G;
  const cog = p.cout / G;
  const nchw = p.layout === "NCHW";
  for (let n = 0; n < p.n; n++) {
    for (let oy = 0; oy < s.oh; oy++) {
      for (let ox = 0; ox < s.ow; ox++) {
        for (let co = 0; co < p.cout; co++) {
          const g = Math.floor(co / cog);
          const yi = nchw ? ((n * p.cout + co) * s.oh + oy) * s.ow + ox : ((n * s.oh + oy) * s.ow + ox) * p.cout + co;
          for (let ky = 0; ky < p.kh; ky++) {
            const yd = oy * sh + ky * dh - pt;
            if (yd < 0 || yd % lh !== 0 || yd / lh >= p.h) continue;
            const iy = yd / lh;
            for (let kx = 0; kx < p.kw; kx++) {
              const xd = ox * sw + kx * dw - pl;
              if (xd < 0 || xd % lw !== 0 || xd / lw >= p.w) continue;
              const ix = xd / lw;
              for (let c = 0; c < cg; c++) {
                const ci = g * cg + c;
                const xi = nchw ? ((n * p.cin + ci) * p.h + iy) * p.w + ix : ((n * p.h + iy) * p.w + ix) * p.cin + ci;
                const wi = nchw ? ((co * cg + c) * p.kh + ky) * p.kw + kx : ((ky * p.kw + kx) * cg + c) * p.cout + co;
                f(xi, wi, yi);
              }
            }
          }
        }
      }
    }
  }
}

function expectClose(got: Float32Array, ref: Float64Array, mag: Float64Array, what: string): void {
  expect(got.length).toBe(ref.length);
  let firstBad = "";
  for (let i = 0; i < ref.length; i++) {
    const tol = 1e-5 + 2e-5 * mag[i]!;
    if (!(Math.abs(got[i]! - ref[i]!) <= tol)) {
      firstBad = `${what}[${i}] = ${got[i]}, expected ${ref[i]}`;
      break;
    }
  }
  expect(firstBad).toBe("");
}

function checkConv(p: Conv2dParams, seed: number): void {
  const s = conv2dShapes(p);
  const x = rand(s.xSize, seed);
  const w = rand(s.wSize, seed + 1);
  const dy = rand(s.ySize, seed + 2);
  const y = new Float64Array(s.ySize);
  const yMag = new Float64Array(s.ySize);
  const dx = new Float64Array(s.xSize);
  const dxMag = new Float64Array(s.xSize);
  const dw = new Float64Array(s.wSize);
  const dwMag = new Float64Array(s.wSize);
  forEachTap(p, (xi, wi, yi) => {
    y[yi] += x[xi]! * w[wi]!;
    yMag[yi] += Math.abs(x[xi]! * w[wi]!);
    dx[xi] += dy[yi]! * w[wi]!;
    dxMag[xi] += Math.abs(dy[yi]! * w[wi]!);
    dw[wi] += x[xi]! * dy[yi]!;
    dwMag[wi] += Math.abs(x[xi]! * dy[yi]!);
  });
  const tag = JSON.stringify(p);
  expectClose(K.conv2dArrays(p, x, w), y, yMag, `y ${tag}`);
  expectClose(K.conv2dBackwardDataArrays(p, dy, w), dx, dxMag, `dx ${tag}`);
  expectClose(K.conv2dBackwardFilterArrays(p, x, dy), dw, dwMag, `dw ${tag}`);
}

describe("sgemm subnormal inputs", () => {
  it("reads subnormal inputs as zero (denormals-are-zero, as XLA on CPU) and keeps NaN and infinities", () => {
    const tiny = 1e-40; // subnormal in float32
    // [1 x 2] · [2 x 3]: columns are tiny·1 + 1·2, tiny·1 + NaN·1, tiny + inf
    const c = K.matmul(new Float32Array([1, 1]), new Float32Array([tiny, tiny, tiny, 2, NaN, Infinity]), 1, 3, 2);
    expect(c[0]).toBe(2);
    expect(Number.isNaN(c[1])).toBe(true);
    expect(c[2]).toBe(Infinity);
    // Where it shows: tiny · 2^100 would be 1.3e-10 without the flush.
    const d = K.matmul(new Float32Array([tiny, 3]), new Float32Array([2 ** 100, 0]), 1, 1, 2);
    expect(d[0]).toBe(0);
    const e = K.matmul(new Float32Array([2 ** 100]), new Float32Array([tiny]), 1, 1, 1);
    expect(e[0]).toBe(0);
  });
});

describe("conv2d", () => {
  type Cfg = Omit<Conv2dParams, "layout">;
  const configs: Array<[string, Cfg]> = [
    ["3x3 same padding", { n: 2, h: 7, w: 6, cin: 3, cout: 5, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
    ["valid 2x4 kernel", { n: 1, h: 9, w: 8, cin: 4, cout: 6, kh: 2, kw: 4 }],
    ["stride 2 asymmetric padding", { n: 2, h: 11, w: 10, cin: 3, cout: 4, kh: 3, kw: 3, strides: [2, 2], padding: [[0, 1], [1, 0]] }],
    ["stride (3,1)", { n: 1, h: 10, w: 7, cin: 2, cout: 3, kh: 3, kw: 2, strides: [3, 1], padding: [[2, 2], [0, 1]] }],
    ["kernel dilation 2", { n: 1, h: 12, w: 11, cin: 3, cout: 4, kh: 3, kw: 3, dilation: [2, 2], padding: [[2, 2], [1, 1]] }],
    ["groups 2", { n: 2, h: 6, w: 6, cin: 4, cout: 6, kh: 3, kw: 3, groups: 2, padding: [[1, 1], [1, 1]] }],
    ["depthwise (groups = cin), multiplier 2", { n: 1, h: 8, w: 9, cin: 5, cout: 10, kh: 3, kw: 3, groups: 5, strides: [2, 1], padding: [[1, 1], [1, 1]] }],
    ["depthwise multiplier 1, stride (1,2), dilation 2", { n: 2, h: 9, w: 11, cin: 6, cout: 6, kh: 3, kw: 3, groups: 6, strides: [1, 2], dilation: [2, 2], padding: [[2, 1], [0, 3]] }],
    ["depthwise with lhs dilation and negative padding", { n: 1, h: 5, w: 6, cin: 3, cout: 6, kh: 2, kw: 3, groups: 3, lhsDilation: [2, 3], strides: [1, 2], padding: [[1, -1], [2, 0]] }],
    ["lhs (input) dilation 2, transposed-conv style", { n: 1, h: 5, w: 6, cin: 3, cout: 4, kh: 3, kw: 3, lhsDilation: [2, 2], padding: [[2, 2], [2, 1]] }],
    ["lhs dilation + stride + dilation + groups", { n: 2, h: 6, w: 5, cin: 6, cout: 4, kh: 2, kw: 3, groups: 2, lhsDilation: [3, 2], dilation: [2, 1], strides: [2, 3], padding: [[1, 0], [3, 2]] }],
    ["negative padding crops", { n: 1, h: 9, w: 9, cin: 2, cout: 3, kh: 3, kw: 2, padding: [[-1, -2], [0, -1]] }],
    ["1x1 direct path", { n: 2, h: 5, w: 7, cin: 9, cout: 11, kh: 1, kw: 1 }],
    ["1x1 direct path, groups 3", { n: 1, h: 4, w: 5, cin: 6, cout: 9, kh: 1, kw: 1, groups: 3 }],
    ["1x1 stride 2 (im2col path)", { n: 1, h: 7, w: 7, cin: 4, cout: 5, kh: 1, kw: 1, strides: [2, 2] }],
    ["3x3 stride 1, one input channel (Winograd path), odd output size", { n: 2, h: 7, w: 9, cin: 1, cout: 8, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
    ["3x3 stride 1, 4 input channels (Winograd path), uneven padding, 6 outputs", { n: 1, h: 8, w: 6, cin: 4, cout: 6, kh: 3, kw: 3, padding: [[2, 0], [-1, 2]] }],
    ["many channels (gemm blocking)", { n: 1, h: 10, w: 9, cin: 40, cout: 37, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }],
    ["kernel larger than input: empty output", { n: 1, h: 2, w: 2, cin: 2, cout: 3, kh: 3, kw: 3 }],
    ["batch 0", { n: 0, h: 4, w: 4, cin: 2, cout: 3, kh: 3, kw: 3 }],
  ];
  for (const layout of ["NHWC", "NCHW"] as const) {
    for (const [name, cfg] of configs) {
      it(`${layout}: ${name} (forward, backward data, backward filter)`, () => {
        checkConv({ ...cfg, layout }, name.length * 31 + (layout === "NCHW" ? 7 : 0));
      });
    }
    it(`${layout}: several im2col chunks (columns > 4 MiB)`, () => {
      checkConv({ layout, n: 2, h: 48, w: 48, cin: 24, cout: 3, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }, 99);
    });
  }

  it("output shape formula", () => {
    expect(conv2dShapes({ layout: "NHWC", n: 1, h: 5, w: 5, cin: 1, cout: 1, kh: 3, kw: 3, lhsDilation: [2, 2], padding: [[2, 2], [2, 2]] }).oh).toBe(11);
    const s = conv2dShapes({ layout: "NCHW", n: 2, h: 11, w: 10, cin: 3, cout: 4, kh: 3, kw: 3, strides: [2, 2], padding: [[0, 1], [1, 0]] });
    expect([s.oh, s.ow]).toEqual([5, 5]);
    expect(s.yShape).toEqual([2, 4, 5, 5]);
    expect(s.wShape).toEqual([4, 3, 3, 3]);
  });

  it("reads subnormal inputs as zero on the im2col + gemm and the Winograd paths alike", () => {
    const tiny = 1e-40; // subnormal in float32; tiny · 2^100 would be 1.3e-10 without the flush
    for (const cin of [1, 3]) {
      const p: Conv2dParams = { layout: "NHWC", n: 1, h: 4, w: 5, cin, cout: 4, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
      const s = conv2dShapes(p);
      expect(Array.from(K.conv2dArrays(p, new Float32Array(s.xSize).fill(tiny), new Float32Array(s.wSize).fill(2 ** 100)))).toEqual(new Array(s.ySize).fill(0));
      expect(Array.from(K.conv2dArrays(p, new Float32Array(s.xSize).fill(2 ** 100), new Float32Array(s.wSize).fill(tiny)))).toEqual(new Array(s.ySize).fill(0));
    }
  });

  it("known values: 2x2 all-ones kernel sums windows", () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = K.conv2dArrays({ layout: "NHWC", n: 1, h: 3, w: 3, cin: 1, cout: 1, kh: 2, kw: 2 }, x, new Float32Array([1, 1, 1, 1]));
    expect(Array.from(y)).toEqual([12, 16, 24, 28]);
  });

  it("rejects bad parameters", () => {
    const base: Conv2dParams = { layout: "NHWC", n: 1, h: 4, w: 4, cin: 4, cout: 4, kh: 3, kw: 3 };
    expect(() => conv2dShapes({ ...base, groups: 3 })).toThrow(/divisible/);
    expect(() => conv2dShapes({ ...base, strides: [0, 1] })).toThrow(WasmKernelError);
    expect(() => conv2dShapes({ ...base, layout: "NCWH" as "NCHW" })).toThrow(/layout/);
    expect(() => conv2dShapes({ ...base, kh: 0 })).toThrow(/kh/);
    // The wasm side validates the parameter block itself too.
    const params = K.alloc(21 * 4);
    const block = new Int32Array(K.memory.buffer, params, 21);
    block.set([0, 1, 4, 4, 4, 4, 3, 3, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    const buf = K.allocF32(256);
    expect(K.raw.conv2d(params, buf, buf, buf)).toBe(0);
    block[19] = 3; // wrong OH
    expect(K.raw.conv2d(params, buf, buf, buf)).toBe(-5);
    block[19] = 2;
    block[8] = 3; // groups
    expect(K.raw.conv2d(params, buf, buf, buf)).toBe(-3);
    block[8] = 1;
    block[0] = 7; // layout
    expect(K.raw.conv2d(params, buf, buf, buf)).toBe(-1);
    K.free(params, 21 * 4);
    K.freeF32(buf, 256);
  });
});

// ------------------------------------------------- memory and threads ----

describe("allocator and instances", () => {
  it("reuses freed blocks and grows memory on demand", () => {
    const live0 = K.liveBytes();
    const a = K.alloc(1000);
    const b = K.alloc(1000);
    expect(a % 16).toBe(0);
    expect(b).not.toBe(a);
    K.free(a, 1000);
    expect(K.alloc(1000)).toBe(a);
    K.free(a, 1000);
    K.free(b, 1000);
    expect(K.liveBytes()).toBe(live0);
    const big = 64 << 20;
    const p = K.alloc(big);
    expect(p % 64).toBe(0);
    expect(K.memory.buffer.byteLength).toBeGreaterThanOrEqual(p + big);
    K.heapF32()[(p + big - 4) / 4] = 7;
    expect(K.readF32(p + big - 4, 1)[0]).toBe(7);
    K.free(p, big);
    expect(K.liveBytes()).toBe(live0);
  });

  it("kernels free their scratch", () => {
    const live0 = K.liveBytes();
    const a = K.putF32(rand(300 * 200, 1));
    const c = K.allocF32(300 * 300);
    K.sgemm({ m: 300, n: 300, k: 200, a, b: a, transB: true, c });
    const x = K.putF32(rand(2 * 9 * 9 * 4, 2));
    const y = K.allocF32(2 * 9 * 9 * 8);
    const w = K.putF32(rand(9 * 4 * 8, 3));
    K.conv2d({ layout: "NHWC", n: 2, h: 9, w: 9, cin: 4, cout: 8, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] }, x, w, y);
    for (const [p, len] of [[a, 300 * 200], [c, 300 * 300], [x, 648], [y, 1296], [w, 288]] as const) K.freeF32(p, len);
    expect(K.liveBytes()).toBe(live0);
  });

  it("works on an unshared memory (module import patched)", () => {
    const U = instantiateWasmKernels({ shared: false });
    expect(U.shared).toBe(false);
    expect(U.memory.buffer).toBeInstanceOf(ArrayBuffer);
    const a = rand(37 * 29, 4);
    const b = rand(29 * 41, 5);
    expect(Array.from(U.matmul(a, b, 37, 41, 29))).toEqual(Array.from(K.matmul(a, b, 37, 41, 29)));
    checkGemmOn(U);
  });

  it("a second instance on the same shared memory shares the heap and has its own stack", () => {
    const W = instantiateWasmKernels({ memory: K.memory });
    expect(W.memory).toBe(K.memory);
    expect(W.shared).toBe(true);
    expect(W.stackBase).toBeGreaterThan(0);
    expect(W.raw.__stack_pointer.value).toBe(W.stackBase + (1 << 20));
    expect(K.raw.__stack_pointer.value).not.toBe(W.raw.__stack_pointer.value);
    // The heap is shared: a block from one instance is visible to and freeable by the other.
    const p = W.putF32(new Float32Array([1, 2, 3]));
    expect(Array.from(K.readF32(p, 3))).toEqual([1, 2, 3]);
    const q = K.alloc(12);
    expect(q).not.toBe(p);
    K.free(q, 12);
    W.free(p, 12);
    // Static data was initialised once (the start function must not re-run it).
    const a = rand(19 * 23, 8);
    const b = rand(23 * 17, 9);
    expect(Array.from(W.matmul(a, b, 19, 17, 23))).toEqual(Array.from(K.matmul(a, b, 19, 17, 23)));
  });

  it("peak microkernel returns a finite value and its flop count", () => {
    const r = K.peakFlops(1000);
    expect(r.flops).toBe(104000);
    expect(Number.isFinite(r.sink)).toBe(true);
    expect(r.sink).toBeGreaterThan(0);
    expect(() => K.peakFlops(0)).toThrow(WasmKernelError);
  });
});

// Worker threads that instantiate the module on the main thread's shared
// memory, the way a worker pool would (plain JS, so no TS loader is needed).
const WORKER_SRC = `
const { parentPort, workerData } = require("node:worker_threads");
const { bytes, memory, task } = workerData;
const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const stack = e.alloc(1 << 20);
e.__stack_pointer.value = stack + (1 << 20);
const go = new Int32Array(memory.buffer, task.flag, 1);
Atomics.add(go, 0, 1);
while (Atomics.load(go, 0) < task.threads) {} // start together
if (task.kind === "gemm") {
  const bytesNeeded = e.sgemm_scratch_bytes(task.m1 - task.m0, task.n, task.k);
  const scratch = e.alloc(bytesNeeded);
  let rc = 0;
  for (let r = 0; r < task.reps; r++) {
    rc |= e.sgemm_rows(0, 0, task.m, task.n, task.k, 1, task.a, task.k, task.b, task.n, 0, task.c, task.n, task.m0, task.m1, scratch);
  }
  e.free(scratch, bytesNeeded);
  e.free(stack, 1 << 20);
  parentPort.postMessage({ rc });
} else {
  // Allocator stress: every live block is filled with this thread's id and
  // checked before it is freed; overlapping blocks would be overwritten.
  const live = [];
  let bad = 0;
  for (let i = 0; i < task.iters; i++) {
    const size = 4 * (1 + ((i * 7919 + task.id * 104729) % (i % 16 === 0 ? 3000 : 60)));
    const p = e.alloc(size);
    if (p === 0 || p % 16 !== 0) { bad++; continue; }
    new Int32Array(memory.buffer, p, size >> 2).fill(task.id);
    live.push([p, size]);
    if (live.length > 64 || i === task.iters - 1) {
      while (live.length > (i === task.iters - 1 ? 0 : 32)) {
        const [q, s] = live.shift();
        const v = new Int32Array(memory.buffer, q, s >> 2);
        for (let j = 0; j < v.length; j++) if (v[j] !== task.id) { bad++; break; }
        e.free(q, s);
      }
    }
  }
  e.free(stack, 1 << 20);
  parentPort.postMessage({ bad });
}
`;

function runWorkers(tasks: object[]): Promise<Array<Record<string, number>>> {
  const bytes = readKernelBytes();
  const flag = K.alloc(16);
  new Int32Array(K.memory.buffer, flag, 1)[0] = 0;
  return Promise.all(
    tasks.map(
      (task) =>
        new Promise<Record<string, number>>((resolve, reject) => {
          const w = new Worker(WORKER_SRC, {
            eval: true,
            workerData: { bytes, memory: K.memory, task: { ...task, flag, threads: tasks.length } },
          });
          w.once("message", (m: Record<string, number>) => {
            resolve(m);
            void w.terminate();
          });
          w.once("error", reject);
        }),
    ),
  ).finally(() => K.free(flag, 16));
}

describe("worker threads on one shared memory", () => {
  it("two threads compute disjoint row ranges of one sgemm", async () => {
    const m = 301;
    const n = 259;
    const k = 263;
    const a = rand(m * k, 21);
    const b = rand(k * n, 22);
    const ref = K.matmul(a, b, m, n, k);
    const pa = K.putF32(a);
    const pb = K.putF32(b);
    const pc = K.putF32(new Float32Array(m * n).fill(NaN));
    const common = { kind: "gemm", m, n, k, a: pa, b: pb, c: pc, reps: 20 };
    const res = await runWorkers([
      { ...common, m0: 0, m1: 150 },
      { ...common, m0: 150, m1: m },
    ]);
    expect(res.map((r) => r.rc)).toEqual([0, 0]);
    expect(Array.from(K.readF32(pc, m * n))).toEqual(Array.from(ref));
    K.freeF32(pa, a.length);
    K.freeF32(pb, b.length);
    K.freeF32(pc, m * n);
  });

  it("the allocator stays consistent under two allocating threads", async () => {
    const live0 = K.liveBytes();
    const res = await runWorkers([
      { kind: "alloc", id: 1, iters: 100000 },
      { kind: "alloc", id: 2, iters: 100000 },
    ]);
    expect(res.map((r) => r.bad)).toEqual([0, 0]);
    expect(K.liveBytes()).toBe(live0);
    expect(K.heapFreeBytes()).toBeGreaterThanOrEqual(0); // throws when an invariant broke
  });
});

function checkGemmOn(U: WasmKernels): void {
  checkGemm(U, { ta: true, tb: false, m: 33, n: 17, k: 65, alpha: 1.5, beta: -0.5, lda: 35, ldb: 20, ldc: 19 }, 3);
}
