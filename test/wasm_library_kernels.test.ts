// Unit tests of the wasm backend's axis and window kernels (library_steps.ts,
// plan/library.ts, wasm/src/ordering.rs and window.rs): argmax/argmin,
// the cumulative scans, sort/argsort/top_k, reduce_window and max-pool's
// gradient lower to wasm kernel steps, not host fallback steps, inside jit
// and eagerly, and give exactly the interpreter's values — ties, NaN, ±0,
// strided operands, size-0 dims, int32/uint32/bool and float16 (held as
// float32, rounded to half precision on every store).

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, grad, jit, lax, np, setDefaultBackend, type DType, type Tracer } from "../src/index";
import { allocTyped, roundToDType } from "../src/core/dtype";
import { bind1 } from "../src/core/trace";
import { rng } from "./rng";

const rnd = rng(11);

/** A wasm array; floats on a coarse grid (many ties), ints in [-4, 4]. */
function rand(shape: number[], dtype: DType = "float32"): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") data[i] = rnd() < 0.5 ? 1 : 0;
    else if (dtype === "int32" || dtype === "uint32") data[i] = Math.floor(rnd() * 9) - (dtype === "int32" ? 4 : 0);
    else data[i] = roundToDType(dtype, Math.round((rnd() * 4 - 2) * 8) / 8 + (rnd() < 0.5 ? rnd() / 7 : 0));
  }
  return TfArray.fromTyped(data, shape, dtype, { backend: "wasm" });
}

function fromList(values: number[], shape: number[], dtype: DType = "float32"): TfArray {
  const data = allocTyped(dtype, values.length);
  data.set(values);
  return TfArray.fromTyped(data, shape, dtype, { backend: "wasm" });
}

/** The step lines of jit(f)'s wasm program. */
function steps(f: (...xs: any[]) => unknown, ...args: unknown[]): string[] {
  const text = (jit(f).lower as (...a: unknown[]) => { text(): string })(...args).text();
  const body = text.split("# program on wasm")[1]?.split("# generated kernels")[0] ?? "";
  return body.split("\n").filter((l) => /^\s+\d+: /.test(l)).map((l) => l.trim());
}

const leaves = (x: unknown): TfArray[] => (Array.isArray(x) ? (x as TfArray[]) : [x as TfArray]);

/** Same dtype, shape and values (NaN equal to NaN, zeros compared with their sign). */
function expectSame(got: TfArray, want: TfArray, what: string): void {
  expect(got.dtype, what).toBe(want.dtype);
  expect(got.shape, what).toEqual(want.shape);
  const g = Array.from(got.dataSync());
  const w = Array.from(want.dataSync());
  g.forEach((v, i) => {
    if (!Object.is(v, w[i])) expect.fail(`${what}: element ${i} is ${v}, the interpreter has ${w[i]}`);
  });
}

/** f jitted on wasm and eager on wasm both equal f eager on the interpreter, exactly. */
function expectExact(f: (...xs: any[]) => unknown, args: TfArray[]): TfArray[] {
  const prev = defaultBackendName();
  setDefaultBackend("interpreter");
  let want: TfArray[];
  try {
    want = leaves(f(...args.map((a) => a.to("interpreter"))));
  } finally {
    setDefaultBackend(prev);
  }
  const jitted = leaves(jit(f)(...args));
  const eager = leaves(f(...args));
  want.forEach((w, i) => {
    expect(jitted[i].backend.name).toBe("wasm");
    expectSame(jitted[i], w, `jit output ${i}`);
    expectSame(eager[i], w, `eager output ${i}`);
  });
  return jitted;
}

/** The primitives these kernels cover (others, e.g. iota or float16 transposes, may still run on the host). */
const COVERED = /^\d+: (argmax|argmin|cumsum|cumprod|cummax|cummin|sort|top_k|reduce_window_\w+|select_and_\w+) on the host/;

/** jit(f) runs `kernel` as a wasm kernel step and none of the covered primitives on the host. */
function expectKernel(kernel: RegExp, f: (...xs: any[]) => unknown, ...args: TfArray[]): void {
  const s = steps(f, ...args);
  expect(s.some((l) => kernel.test(l) && l.includes("(wasm kernel)")), s.join("\n")).toBe(true);
  expect(s.filter((l) => COVERED.test(l)), s.join("\n")).toEqual([]);
}

const T = (x: Tracer) => lax.transpose(x, [...Array(x.ndim).keys()].reverse());

describe("argmax / argmin", () => {
  it("lower to a wasm kernel over any axis, on strided operands, for every dtype", () => {
    for (const dtype of ["float32", "int32", "uint32", "bool", "float16"] as DType[]) {
      const x = rand([5, 6, 7], dtype);
      for (const axis of [0, 1, 2]) {
        const f = (a: Tracer) => [np.argmax(a, axis), np.argmin(a, axis), np.argmax(T(a), axis)];
        expectKernel(/argmax/, f, x);
        expectExact(f, [x]);
      }
    }
  });

  it("first index wins ties, the first NaN wins, -0 ties +0 (long rows take the SIMD path)", () => {
    const n = 37;
    const row = (f: (j: number) => number) => Array.from({ length: n }, (_, j) => f(j));
    const rows = [
      row((j) => (j === 9 || j === 30 ? 5 : j % 3)), // tie between 9 and 30
      row((j) => (j === 20 ? NaN : j === 33 ? NaN : j)), // first NaN wins
      row((j) => (j === 2 ? -0 : j === 3 ? 0 : -1)), // -0 then +0: index 2
      row((j) => (j === n - 1 ? 100 : 0)), // the max in the tail
      row(() => -Infinity),
    ];
    const x = fromList(rows.flat(), [rows.length, n]);
    const [amax, amin] = expectExact((a: Tracer) => [np.argmax(a, 1), np.argmin(a, 1)], [x]);
    expect(Array.from(amax.dataSync())).toEqual([9, 20, 2, n - 1, 0]);
    expect(Array.from(amin.dataSync())).toEqual([0, 20, 0, 0, 0]);
  });

  it("size-0 dims", () => {
    const x = rand([0, 4]);
    expectExact((a: Tracer) => lax.argmax(a, 1), [x]);
  });
});

describe("cumulative scans", () => {
  const ops = [lax.cumsum, lax.cumprod, lax.cummax, lax.cummin];
  it("lower to a wasm kernel, forward and reversed, over every axis and dtype", () => {
    for (const dtype of ["float32", "int32", "uint32", "float16"] as DType[]) {
      const x = rand([4, 5, 6], dtype);
      for (const axis of [0, 1, 2]) {
        for (const reverse of [false, true]) {
          const f = (a: Tracer) => ops.map((op) => op(T(a), axis, { reverse }));
          expectKernel(/cumulative add/, f, x);
          expectExact(f, [x]);
        }
      }
    }
  });

  it("NaN and ±Inf propagate as in the interpreter", () => {
    const x = fromList([1, NaN, 2, 3, -Infinity, 4, Infinity, -0, 0, 5, -1, 2], [2, 6]);
    for (const op of ops) expectExact((a: Tracer) => [op(a, 1), op(a, 0, { reverse: true })], [x]);
  });

  it("float16 rounds every partial sum to half precision", () => {
    const x = fromList(Array.from({ length: 300 }, (_, i) => roundToDType("float16", 0.1 + i / 1000)), [300], "float16");
    const [s] = expectExact((a: Tracer) => lax.cumsum(a, 0), [x]);
    expect(s.dtype).toBe("float16");
  });

  it("a long float32 cumsum is the sequential sum rounded once per element", () => {
    const n = 100_000;
    const x = rand([n]);
    const [s] = expectExact((a: Tracer) => np.cumsum(a), [x]);
    const xs = x.dataSync();
    let acc = 0;
    for (let i = 0; i < n; i++) acc += xs[i];
    expect(s.dataSync()[n - 1]).toBe(Math.fround(acc));
  });
});

describe("sort / argsort / top_k", () => {
  it("sort and argsort lower to a wasm kernel along the last and other axes", () => {
    for (const dtype of ["float32", "int32", "uint32", "bool"] as DType[]) {
      const x = rand([4, 9, 5], dtype);
      for (const axis of [0, 1, 2]) {
        const f = (a: Tracer) => [np.sort(a, axis), np.argsort(a, axis), np.sort(T(a), axis)];
        expectKernel(/sort/, f, x);
        expectExact(f, [x]);
      }
    }
    const h = rand([3, 17], "float16");
    expectKernel(/sort/, (a: Tracer) => np.sort(a, 1), h);
    expectExact((a: Tracer) => [np.sort(a, 1), np.argsort(a, 1)], [h]);
  });

  it("is stable, orders NaN after +Inf and -0 with +0, and sorts several operands by several keys", () => {
    const k1 = fromList([2, NaN, -0, 1, 0, Infinity, 1, NaN, -Infinity, 0, 2, 1], [12]);
    const k2 = fromList([3, 1, 2, 2, 0, 1, 1, 0, 5, 9, 3, 2], [12], "int32");
    const v = fromList([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [12], "int32");
    const f = (a: Tracer, b: Tracer, c: Tracer) => [...lax.sort([a, b, c], { numKeys: 2 }), ...lax.sort([a, c], { numKeys: 1 })];
    expectKernel(/sort 3 operand\(s\) by 2 key/, f, k1, k2, v);
    const outs = expectExact(f, [k1, k2, v]);
    expect(Array.from(outs[4].dataSync())).toEqual([8, 2, 4, 9, 3, 6, 11, 0, 10, 5, 1, 7]);
    expect(Array.from(outs[2].dataSync())).toEqual([8, 4, 2, 9, 6, 3, 11, 0, 10, 5, 7, 1]);
  });

  it("long rows (radix sorted) are stable with NaN, ±0, ±Inf and many ties, for every dtype", () => {
    const n = 3000;
    const specials = [NaN, -0, 0, Infinity, -Infinity];
    const vals = Array.from({ length: 2 * n }, (_, i) => (i % 97 === 0 ? specials[i % 5] : Math.round((rnd() * 8 - 4) * 4) / 4));
    const x = fromList(vals, [2, n]);
    const f = (a: Tracer) => [np.sort(a, 1), np.argsort(a, 1), ...lax.sort([a, np.negative(a)], { dimension: 1, numKeys: 1 }), np.argsort(T(a), 0)];
    expectKernel(/sort/, f, x);
    expectExact(f, [x]);
    for (const dtype of ["int32", "uint32", "bool", "float16"] as DType[]) expectExact((a: Tracer) => [np.sort(a, 1), np.argsort(a, 1)], [rand([2, 1500], dtype)]);
  });

  it("top_k: the largest first, NaN largest, ties to the lower index, any k", () => {
    const x = fromList([1, 3, NaN, 3, -0, 0, 7, 3, -Infinity, 2], [2, 5]);
    for (const k of [0, 1, 3, 5]) {
      expectKernel(/top_k/, (a: Tracer) => lax.topK(a, k), x);
      const [vals, idx] = expectExact((a: Tracer) => lax.topK(a, k), [x]);
      if (k === 3) {
        expect(Array.from(idx.dataSync())).toEqual([2, 1, 3, 1, 2, 4]);
        expect(Array.from(vals.dataSync())).toEqual([NaN, 3, 3, 7, 3, 2]);
      }
    }
    for (const dtype of ["int32", "uint32", "float16"] as DType[]) expectExact((a: Tracer) => lax.topK(T(a), 4), [rand([6, 8], dtype)]);
  });

  it("size-0 dims", () => {
    expectExact((a: Tracer) => [np.sort(a, 0), np.argsort(a, 1)], [rand([0, 3])]);
    expectExact((a: Tracer) => lax.topK(a, 0), [rand([3, 0])]);
  });
});

describe("reduce_window and max-pool's gradient", () => {
  type Pool = { name: string; shape: number[]; window: number[]; strides: number[]; padding: "VALID" | "SAME" | [number, number][]; baseDilation?: number[]; windowDilation?: number[] };
  const POOLS: Pool[] = [
    { name: "NHWC 2x2 stride 2", shape: [2, 6, 6, 5], window: [1, 2, 2, 1], strides: [1, 2, 2, 1], padding: "VALID" },
    { name: "NCHW 3x3 stride 2 SAME", shape: [2, 3, 7, 6], window: [1, 1, 3, 3], strides: [1, 1, 2, 2], padding: "SAME" },
    { name: "1-d, explicit padding", shape: [11], window: [4], strides: [3], padding: [[2, 1]] },
    { name: "dilated window and base", shape: [3, 8, 4], window: [2, 3, 1], strides: [1, 2, 1], padding: [[1, 0], [2, 2], [0, 0]], baseDilation: [1, 2, 1], windowDilation: [2, 1, 1] },
  ];
  for (const p of POOLS) {
    it(`sum/max/min ${p.name} lower to a wasm kernel for every dtype`, () => {
      for (const dtype of ["float32", "int32", "uint32", "float16"] as DType[]) {
        const x = rand(p.shape, dtype);
        const opts = { baseDilation: p.baseDilation, windowDilation: p.windowDilation };
        const f = (a: Tracer) =>
          (["sum", "max", "min"] as const).map((op) => lax.reduceWindow(a, op === "sum" ? 0 : op === "max" ? -Infinity : Infinity, op, p.window, p.strides, p.padding, opts));
        expectKernel(/reduce_window max/, f, x);
        expectExact(f, [x]);
      }
    });
  }

  it("max/min keep NaN and the first of ±0 as the interpreter does (scalar and 4-lane paths)", () => {
    const vals = [1, NaN, -0, 0, 3, -Infinity, 0, -0, 2, 2, NaN, NaN];
    const x = fromList(vals, [12]);
    expectExact((a: Tracer) => (["max", "min"] as const).map((op) => lax.reduceWindow(a, op === "max" ? -Infinity : Infinity, op, [2], [2])), [x]);
    // windows over dim 0, 9 contiguous lanes per tap (two 4-lane groups and a tail)
    const wide = fromList(Array.from({ length: 12 * 9 }, (_, i) => vals[(i * 7) % 12]), [12, 9]);
    expectExact((a: Tracer) => (["max", "min"] as const).map((op) => lax.reduceWindow(a, op === "max" ? -Infinity : Infinity, op, [3, 1], [2, 1], "SAME")), [wide]);
  });

  it("jit(grad) of a max-pool loss lowers with no host step and equals the interpreter", () => {
    const loss = (a: Tracer) => np.sum(np.square(lax.reduceWindow(a, -Infinity, "max", [1, 3, 3, 1], [1, 2, 2, 1], "SAME")));
    const x = rand([2, 7, 8, 6]);
    const s = steps(grad(loss), x);
    expect(s.some((l) => /select_and_scatter_add ge float32 \(wasm kernel\)/.test(l)), s.join("\n")).toBe(true);
    expect(s.filter((l) => l.includes("on the host")), s.join("\n")).toEqual([]);
    expectExact(grad(loss), [x]);
  });

  it("select_and_gather_add (max-pool's jvp) and select_and_scatter_add with le, float16 and ties", () => {
    const x = rand([3, 9, 4]);
    const src = rand([3, 5, 2]);
    const params = { windowDimensions: [1, 3, 2], windowStrides: [1, 2, 2], padding: [[0, 0], [1, 1], [0, 0]] as [number, number][] };
    const params4 = { windowDimensions: [1, 3, 2, 1], windowStrides: [1, 2, 2, 1], padding: [[0, 0], [1, 1], [0, 0], [0, 0]] as [number, number][] };
    for (const selectPrim of ["ge", "le"] as const) {
      const scatter4 = (s: Tracer, a: Tracer) => bind1("select_and_scatter_add", [s, a], { selectPrim, ...params4 });
      const scatter = (s: Tracer, a: Tracer) => bind1("select_and_scatter_add", [s, a], { selectPrim, ...params });
      const gather = (t: Tracer, a: Tracer) =>
        bind1("select_and_gather_add", [t, a], { selectPrim, ...params, baseDilation: [1, 1, 1], windowDilation: [1, 1, 1] });
      expectKernel(/select_and_scatter_add/, scatter, src, x);
      expectKernel(/select_and_gather_add/, gather, x, x);
      expectExact(scatter, [src, x]);
      expectExact(scatter4, [rand([3, 5, 2, 9]), rand([3, 9, 4, 9])]); // 4-lane float32 path and a tail
      expectExact(gather, [rand([3, 9, 4]), x]);
      const h = rand([3, 9, 4], "float16");
      expectExact(scatter, [rand([3, 5, 2], "float16"), h]);
    }
  });
});

describe("float16 in fused kernels (held as float32, rounded to half on every store)", () => {
  it("float32 -> float16 rounds exactly as the interpreter: every half, each midpoint and its neighbours", () => {
    const values: number[] = [];
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const f16ToNumber = (h: number): number => {
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const mag = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
      return h & 0x8000 ? -mag : mag;
    };
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToNumber(h);
      if (!Number.isFinite(v)) continue;
      const next = f16ToNumber(h + 1);
      values.push(v);
      if (Number.isFinite(next) && (h & 0x7fff) !== 0x7bff) {
        f32[0] = (v + next) / 2; // the midpoint (exact in float32), then one float32 ulp either side
        values.push(f32[0]);
        bits[0] += 1;
        values.push(f32[0]);
        bits[0] -= 2;
        values.push(f32[0]);
      }
    }
    values.push(65504, 65519.996, 65520, 1e6, -65520, Infinity, -Infinity, NaN, 2 ** -25, -(2 ** -25), 2 ** -26, 1e-30, -0);
    const x = fromList(values, [values.length]);
    const f = (a: Tracer) => lax.convertElementType(a, "float16");
    expect(steps(f, x).join("\n")).toMatch(/fused kernel .*round_f16/);
    expectExact(f, [x]);
  });

  it("elementwise chains, views and reductions of float16 stay in wasm and equal the interpreter", () => {
    const x = rand([6, 9], "float16");
    const y = rand([9, 6], "float16");
    const f = (a: Tracer, b: Tracer) => [np.multiply(np.add(a, T(b)), 3), np.sqrt(np.abs(a)), np.max(a, 0), np.divide(a, np.add(np.abs(T(b)), 1))];
    const s = steps(f, x, y);
    expect(s.filter((l) => l.includes("on the host")), s.join("\n")).toEqual([]);
    expectExact(f, [x, y]);
    const sum = steps((a: Tracer) => np.sum(a, 1), x);
    expect(sum.filter((l) => l.includes("on the host")), sum.join("\n")).toEqual([]);
  });
});
