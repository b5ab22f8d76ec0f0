// Unit tests of the wasm backend's lowering (src/backends/plan/planner.ts)
// and program runner (program.ts), read through `jit(f).lower(...).text()`,
// which prints the program's steps: fusion of elementwise chains and of a
// reduction's producer into one kernel; GEMM reading transposed operands in
// place; broadcasts, slices and revs as strided views (no copy step); a value
// needed in memory materialized once; outputs aliasing inputs; literal and
// zero-size outputs; int/bool/float16 kernels; the primitives without a
// kernel on the host fallback (argmax, sort, scans and windows have kernels:
// wasm_library_kernels.test.ts); conv in NHWC/NCHW/other layouts with
// strides, dilation and groups. Every program's values are checked against the
// interpreter (the reference backend).

import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, np, setDefaultBackend, type DType, type Tracer } from "../src/index";
import { allocTyped, roundToDType } from "../src/core/dtype";
import { bind1 } from "../src/core/trace";
import { expectAllclose } from "../src/testing";

// --- helpers ---------------------------------------------------------------------------

let seed = 7;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

/** A random array on wasm (floats in [-2, 2), ints in [-5, 5], bools). */
function rand(shape: number[], dtype: DType = "float32"): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") data[i] = rnd() < 0.5 ? 1 : 0;
    else if (dtype === "int32" || dtype === "uint32") data[i] = Math.floor(rnd() * 11) - (dtype === "int32" ? 5 : 0);
    else data[i] = roundToDType(dtype, rnd() * 4 - 2);
  }
  return TfArray.fromTyped(data, shape, dtype, { backend: "wasm" });
}

/** The program section of the lowered text: "wasm program: N steps (K fused kernels)..." and its step lines. */
function program(f: (...xs: any[]) => unknown, ...args: unknown[]): { steps: string[]; kernels: number; text: string } {
  const text = (jit(f).lower as (...a: unknown[]) => { text(): string })(...args).text();
  const body = text.split("# program on wasm")[1]?.split("# generated kernels")[0];
  if (body === undefined) throw new Error(`no wasm program in:\n${text}`);
  const header = body.match(/wasm program: (\d+) steps \((\d+) fused kernels\)/);
  if (!header) throw new Error(`no program header in:\n${body}`);
  const steps = body.split("\n").filter((l) => /^\s+\d+: /.test(l)).map((l) => l.trim());
  expect(steps.length).toBe(Number(header[1]));
  return { steps, kernels: Number(header[2]), text };
}

/** jit(f) on wasm equals f run eagerly on the interpreter. */
function expectMatchesInterpreter(f: (...xs: any[]) => unknown, args: TfArray[], tol = 1e-5): unknown {
  const got = jit(f)(...args);
  const prev = defaultBackendName();
  setDefaultBackend("interpreter");
  let want: unknown;
  try {
    want = f(...args.map((a) => a.to("interpreter")));
  } finally {
    setDefaultBackend(prev);
  }
  const leaves = (x: unknown): TfArray[] => (Array.isArray(x) ? (x as TfArray[]) : [x as TfArray]);
  const g = leaves(got);
  const w = leaves(want);
  expect(g.length).toBe(w.length);
  g.forEach((x, i) => {
    expect(x.backend.name).toBe("wasm");
    expect(x.dtype).toBe(w[i].dtype);
    expect(x.shape).toEqual(w[i].shape);
    if (x.dtype === "float32" || x.dtype === "float16") expectAllclose(x, w[i].to("wasm"), { atol: tol, rtol: tol });
    else expect(Array.from(x.dataSync())).toEqual(Array.from(w[i].dataSync()));
  });
  return got;
}

const T = (x: Tracer) => lax.transpose(x, [...Array(x.ndim).keys()].reverse());

// --- fusion ------------------------------------------------------------------------------

describe("fusion", () => {
  it("a chain of elementwise ops becomes one fused kernel", () => {
    const f = (x: Tracer) => np.tanh(np.add(np.multiply(np.sin(x), 2), np.exp(np.negative(x))));
    const x = rand([7, 9]);
    const p = program(f, x);
    expect(p.steps).toHaveLength(1);
    expect(p.kernels).toBe(1);
    expect(p.steps[0]).toMatch(/fused kernel over \[7,9\]: .*sin.*exp.*tanh/);
    expect(p.text).toContain("# generated kernels");
    expectMatchesInterpreter(f, [x]);
  });

  it("a reduction fuses its elementwise producer", () => {
    const f = (x: Tracer) => np.sum(np.exp(np.multiply(x, x)), 1);
    const x = rand([5, 13]);
    const p = program(f, x);
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatch(/reduce_sum\(axes=1\): .*mul.*exp/);
    expectMatchesInterpreter(f, [x]);
  });

  it("outputs of one shape come out of one multi-output kernel", () => {
    const f = (x: Tracer) => [np.sin(x), np.cos(x), np.add(x, 1)];
    const x = rand([3, 5]);
    const p = program(f, x);
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatch(/-> %\d+:float32\[3,5\], %\d+:float32\[3,5\], %\d+:float32\[3,5\]/);
    expectMatchesInterpreter(f, [x]);
  });

  it("a value used by a non-fusible op is materialized once and read by its other users", () => {
    const f = (x: Tracer, w: Tracer) => {
      const e = np.exp(x);
      return np.add(np.matmul(e, w), np.sum(e));
    };
    const x = rand([3, 5]);
    const w = rand([5, 2]);
    const p = program(f, x, w);
    expect(p.steps.filter((s) => s.includes("exp"))).toHaveLength(1);
    expect(p.steps.some((s) => s.includes("sgemm"))).toBe(true);
    expectMatchesInterpreter(f, [x, w]);
  });

  it("a reduction of a value a later GEMM (or the output) reads from memory reads it there, not computing it twice", () => {
    // A bias gradient next to the weight gradient of the same dlogits: the sum comes first in the jaxpr.
    const f = (x: Tracer, w: Tracer) => {
      const e = np.tanh(np.exp(x).mul(3));
      return [np.sum(e, 1), np.matmul(e.reshape([6, 5]), w)];
    };
    const g = (x: Tracer) => {
      const e = np.tanh(np.exp(x).mul(3));
      return [np.sum(e, 1), e];
    };
    const x = rand([6, 5]);
    const w = rand([5, 3]);
    for (const p of [program(f, x, w), program(g, x)]) {
      expect(p.steps.filter((s) => s.includes("exp"))).toHaveLength(1);
      expect(p.steps.some((s) => /reduce_sum\(axes=\d\): copy/.test(s))).toBe(true);
    }
    expectMatchesInterpreter(f, [x, w]);
    expectMatchesInterpreter(g, [x]);
  });
});

// --- views ----------------------------------------------------------------------------

describe("views instead of copies", () => {
  it("x.T @ y, x @ y.T and x.T @ y.T call sgemm with transpose flags and copy nothing", () => {
    const x = rand([5, 3]);
    const y = rand([5, 4]);
    const z = rand([4, 5]);
    const cases: [(a: Tracer, b: Tracer) => Tracer, TfArray, TfArray, RegExp][] = [
      [(a, b) => np.matmul(T(a), b), x, y, /sgemm A\^T 1x\[3x5\]·\[5x4\]/],
      [(a, b) => np.matmul(a, T(b)), y, rand([6, 4]), /sgemm B\^T 1x\[5x4\]·\[4x6\]/],
      [(a, b) => np.matmul(T(a), T(b)), x, z, /sgemm A\^T B\^T 1x\[3x5\]·\[5x4\]/],
    ];
    for (const [f, a, b, re] of cases) {
      const p = program(f, a, b);
      expect(p.steps, p.steps.join("\n")).toHaveLength(1);
      expect(p.steps[0]).toMatch(re);
      expectMatchesInterpreter(f, [a, b], 1e-5);
    }
  });

  it("batched matmul reads both operands in place", () => {
    const f = (a: Tracer, b: Tracer) => np.matmul(a, b);
    const a = rand([3, 5, 7]);
    const b = rand([3, 7, 2]);
    const p = program(f, a, b);
    expect(p.steps).toEqual([expect.stringMatching(/sgemm 3x\[5x7\]·\[7x2\]/)]);
    expectMatchesInterpreter(f, [a, b]);
  });

  it("a matmul operand needing a real permutation is copied once, then multiplied", () => {
    const f = (a: Tracer, b: Tracer) => lax.dotGeneral(a, b, [[[0], [1]], [[], []]]);
    const a = rand([4, 3, 5]); // contracting dim 0, free dims [1, 2] -> permuted to [3*5, 4]^T or copied
    const b = rand([2, 4]);
    const p = program(f, a, b);
    expect(p.steps.filter((s) => s.includes("sgemm"))).toHaveLength(1);
    expectMatchesInterpreter(f, [a, b]);
  });

  it("broadcasting an input is a stride-0 view, not a copy", () => {
    const f = (x: Tracer, b: Tracer, s: Tracer) => np.multiply(np.add(x, b), s);
    const x = rand([3, 7]);
    const b = rand([7]);
    const s = rand([3, 1]);
    const p = program(f, x, b, s);
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatch(/fused kernel over \[3,7\]: add mul \(%0, %1, %2\)/);
    expectMatchesInterpreter(f, [x, b, s]);
  });

  it("slices (with strides) and revs are views", () => {
    const f = (x: Tracer) => np.add(lax.rev(lax.slice(x, [1, 2], [10, 7], [3, 2]), [0, 1]), lax.slice(x, [0, 0], [3, 3]));
    const x = rand([11, 7]);
    const p = program(f, x);
    expect(p.steps).toHaveLength(1);
    // both operands are views of the input buffer %0 (two strided reads, no copy)
    expect(p.steps[0]).toMatch(/fused kernel over \[3,3\]: add \(%0(, %0)?\)/);
    expectMatchesInterpreter(f, [x]);
  });

  it("a reduction over a transposed input reads it strided", () => {
    const f = (x: Tracer) => np.max(T(x), 0);
    const x = rand([6, 5]);
    const p = program(f, x);
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatch(/reduce_max/);
    expectMatchesInterpreter(f, [x]);
  });
});

// --- outputs ---------------------------------------------------------------------------

describe("outputs", () => {
  it("outputs that are inputs (or reshapes of them) need no step and keep their values", () => {
    const f = (a: Tracer, b: Tracer) => [a, np.reshape(b, [15]), b];
    const a = rand([2, 2]);
    const b = rand([3, 5]);
    const p = program(f, a, b);
    expect(p.steps).toHaveLength(0);
    const out = expectMatchesInterpreter(f, [a, b]) as TfArray[];
    expect(Array.from(out[0].dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(out[1].dataSync())).toEqual(Array.from(b.dataSync()));
    // Outputs and arguments are independent arrays: disposing one keeps the other readable.
    const keepA = Array.from(a.dataSync());
    const keepB = Array.from(b.dataSync());
    b.dispose();
    expect(Array.from(out[1].dataSync())).toEqual(keepB);
    expect(Array.from(out[2].dataSync())).toEqual(keepB);
    out[0].dispose();
    expect(Array.from(a.dataSync())).toEqual(keepA);
  });

  it("literal and constant outputs", () => {
    const f = (x: Tracer) => [np.add(x, 1), np.full([2, 3], 2.5), np.zeros([])];
    const x = rand([4]);
    const out = expectMatchesInterpreter(f, [x]) as TfArray[];
    expect(Array.from(out[1].dataSync())).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
    expect(out[2].item()).toBe(0);
    // the same again from the cached program
    const again = jit(f)(x) as TfArray[];
    expect(Array.from(again[1].dataSync())).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  });

  it("the same input returned twice and one value returned twice", () => {
    const f = (x: Tracer) => {
      const y = np.exp(x);
      return [x, x, y, y];
    };
    const x = rand([5]);
    const out = expectMatchesInterpreter(f, [x]) as TfArray[];
    expect(Array.from(out[0].dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(out[1].dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(out[2].dataSync())).toEqual(Array.from(out[3].dataSync()));
  });
});

// --- sizes and dtypes -----------------------------------------------------------------------

describe("sizes and dtypes", () => {
  it("zero-size arrays: elementwise, reductions over empty axes, matmul with k = 0", () => {
    const e = rand([0, 3]);
    expectMatchesInterpreter((x: Tracer) => np.exp(x), [e]);
    const s = expectMatchesInterpreter((x: Tracer) => [np.sum(x, 0), np.max(x, 1), np.prod(x, 0)], [e]) as TfArray[];
    expect(Array.from(s[0].dataSync())).toEqual([0, 0, 0]);
    expect(s[1].shape).toEqual([0]);
    expect(Array.from(s[2].dataSync())).toEqual([1, 1, 1]);
    // [2,0] @ [0,3] is a [2,3] of zeros (an empty sum), also eagerly
    const a = rand([2, 0]);
    const b = rand([0, 3]);
    const m = expectMatchesInterpreter((x: Tracer, y: Tracer) => np.matmul(x, y), [a, b]) as TfArray;
    expect(Array.from(m.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from((np.matmul(a, b) as TfArray).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("scalars and sizes that are not multiples of 4 (SIMD tails)", () => {
    for (const n of [1, 2, 3, 5, 6, 7, 9, 17, 31, 33]) {
      const f = (x: Tracer, s: Tracer) => np.add(np.multiply(np.sin(x), s), np.sum(x));
      expectMatchesInterpreter(f, [rand([n]), rand([])]);
    }
  });

  it("int32 and uint32 kernels are exact (wrap-around, shifts, integer division)", () => {
    const f = (a: Tracer, b: Tracer) => [
      np.add(np.multiply(a, 1000003), b),
      lax.shiftLeft(a, lax.convertElementType(np.abs(b), "int32")),
      np.floorDivide(a, np.add(np.abs(b), 1)),
      np.max(a, 0),
    ];
    const a = rand([6, 7], "int32");
    const b = rand([6, 7], "int32");
    const p = program(f, a, b);
    expect(p.steps.every((s) => !s.includes("on the host")), p.steps.join("\n")).toBe(true);
    expectMatchesInterpreter(f, [a, b]);
    const u = rand([9], "uint32");
    expectMatchesInterpreter((x: Tracer) => [np.subtract(x, 7), lax.shiftRightLogical(x, lax.full([9], 1, "uint32"))], [u]);
  });

  it("bool kernels: comparisons, logic, select and reductions", () => {
    const f = (x: Tracer, m: Tracer) => {
      const pos = np.greater(x, 0);
      const both = np.logicalAnd(pos, m);
      return [both, np.where(both, x, np.negative(x)), np.any(both, 1), np.all(m, 0)];
    };
    const x = rand([5, 6]);
    const m = rand([5, 6], "bool");
    const p = program(f, x, m);
    expect(p.steps.every((s) => !s.includes("on the host"))).toBe(true);
    expectMatchesInterpreter(f, [x, m]);
  });

  it("float16 runs in fused kernels (held as float32, rounded on every store) like the interpreter", () => {
    const f = (x: Tracer) => np.add(np.exp(x), np.multiply(x, 3));
    const x = rand([3, 5], "float16");
    const p = program(f, x);
    expect(p.steps, p.steps.join("\n")).toHaveLength(1);
    expect(p.steps[0]).toMatch(/fused kernel .*round_f16/);
    const out = expectMatchesInterpreter(f, [x], 0) as TfArray;
    expect(out.dtype).toBe("float16");
    // converting float16 <-> float32 inside a fused program
    expectMatchesInterpreter((y: Tracer) => np.sin(lax.convertElementType(np.multiply(y, y), "float32")), [x], 1e-6);
  });
});

// --- the host fallback --------------------------------------------------------------------

describe("long fused reductions are blocked (accuracy: issue 11)", () => {
  it("sums 1e6 x 0.1 to float32's 100000, not 100060", () => {
    const x = np.full([1_000_000], 0.1);
    for (const got of [np.sum(x), jit((a: Tracer) => np.sum(a))(x)]) expect(Math.abs((got.item() as number) - 100000.0015)).toBeLessThan(0.5);
  });
  it("does not saturate at 2^28: a fused sum over 2^29 + 12345 broadcast ones", () => {
    const f = jit((x: Tracer) => np.sum(np.broadcastTo(x, [2 ** 29 + 12345])));
    expect(Math.abs((f(np.ones([1])).item() as number) - (2 ** 29 + 12345))).toBeLessThan(64);
  });
  it("does not materialize a huge broadcast constant to fold it", () => {
    const f = jit((x: Tracer) => np.sum(np.broadcastTo(x, [40_000, 30_000]).mul(0.5)));
    expect(f(np.ones([1])).item()).toBe(6e8);
  });
});

describe("primitives without a wasm kernel run on the host inside the program", () => {
  const x = rand([4, 7]);
  // A float16 matrix decomposition still runs there (README's "Host steps on wasm").
  const cases: [string, (a: Tracer) => unknown][] = [
    [
      "triangular_solve",
      (a) => lax.linalg.triangularSolve(np.tril(a.slice([0, 4], [0, 4])).add(np.eye(4).mul(4)).astype("float16"), a.astype("float16"), { leftSide: true, lower: true }),
    ],
  ];
  for (const [prim, f] of cases) {
    it(prim, () => {
      const p = program(f, x);
      expect(p.steps.join("\n")).toContain(`${prim} on the host`);
      expectMatchesInterpreter(f, [x]);
    });
  }

  // The planner expands these into kernel ops (plan/transcendental.ts, plan/float_rem.ts; accuracy in
  // wasm_transcendental.test.ts and property-tests/float_kernels.prop.test.ts).
  const expanded: [string, (a: Tracer) => unknown][] = [
    ["tan", (a) => np.tan(np.exp(a))],
    ["atan2", (a) => np.arctan2(np.sin(a), np.cos(a))],
    ["erf_inv", (a) => lax.erfInv(np.tanh(a))],
    ["rem", (a) => lax.rem(np.exp(a), np.cos(a))],
  ];
  for (const [prim, f] of expanded) {
    it(`${prim} is no longer one of them: it fuses with its operands into one kernel`, () => {
      const p = program(f, x);
      expect(p.steps).toHaveLength(1);
      expect(p.steps[0]).toMatch(/fused kernel/);
      expectMatchesInterpreter(f, [x]);
    });
  }

  it("a fused producer is materialized for a library kernel (cumsum) and its result feeds later kernels", () => {
    const f = (a: Tracer) => np.tanh(np.cumsum(np.exp(a), 1));
    const p = program(f, x);
    expect(p.steps).toHaveLength(3);
    expect(p.steps[0]).toMatch(/fused kernel .*exp/);
    expect(p.steps[1]).toMatch(/cumulative add float32 \[4, 7, 1\] \(wasm kernel\)/);
    expect(p.steps[2]).toMatch(/fused kernel .*tanh/);
    expectMatchesInterpreter(f, [x]);
  });
});

// Indexing and structural primitives have wasm kernels (plan/indexing.ts; more in wasm_indexing.test.ts).
describe("indexing primitives run as wasm kernels inside the program", () => {
  const x = rand([4, 7]);
  const cases: [string, (a: Tracer) => unknown][] = [
    ["gather", (a) => np.take(np.exp(a), [0, 3, 2, 3], 1)],
    ["dynamic_update_slice", (a) => np.add(a, 1).at(2).add(np.ones([7]))],
    [
      "scatter_add",
      (a) =>
        bind1("scatter_add", [np.exp(a), TfArray.fromTyped(Int32Array.from([1, 3, 1]), [3, 1], "int32"), np.ones([3, 7])], {
          dimensionNumbers: { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], operandBatchingDims: [], scatterIndicesBatchingDims: [] },
          mode: "clip",
        }),
    ],
    ["concatenate", (a) => np.concatenate([a, np.exp(a)], 0)],
  ];
  for (const [prim, f] of cases) {
    it(prim, () => {
      const p = program(f, x);
      expect(p.steps.join("\n")).toContain(`${prim} kernel`);
      expect(p.steps.join("\n")).not.toContain("on the host");
      expectMatchesInterpreter(f, [x]);
    });
  }
});

// --- conv -------------------------------------------------------------------------------

describe("conv_general_dilated on wasm equals the interpreter", () => {
  type Layout = [string, string, string];
  interface ConvCase {
    name: string;
    layout: Layout;
    n: number; c: number; h: number; w: number; o: number; kh: number; kw: number;
    strides?: number[]; padding?: [number, number][] | "SAME" | "VALID"; rhsDilation?: number[]; lhsDilation?: number[]; groups?: number;
    expectStep?: RegExp;
  }
  const shapeFor = (layout: string, dims: Record<string, number>) => [...layout].map((ch) => dims[ch]);
  const CASES: ConvCase[] = [
    { name: "NCHW 3x3 VALID", layout: ["NCHW", "OIHW", "NCHW"], n: 2, c: 3, h: 7, w: 6, o: 5, kh: 3, kw: 3, padding: "VALID", expectStep: /conv2d NCHW/ },
    { name: "NHWC 3x3 SAME stride 2", layout: ["NHWC", "HWIO", "NHWC"], n: 2, c: 3, h: 9, w: 7, o: 4, kh: 3, kw: 3, strides: [2, 2], padding: "SAME", expectStep: /conv2d NHWC/ },
    { name: "NHWC dilated 2x2", layout: ["NHWC", "HWIO", "NHWC"], n: 1, c: 2, h: 8, w: 9, o: 3, kh: 2, kw: 3, rhsDilation: [2, 1], padding: [[1, 0], [0, 2]] },
    { name: "NCHW grouped (2 groups)", layout: ["NCHW", "OIHW", "NCHW"], n: 2, c: 4, h: 5, w: 5, o: 6, kh: 3, kw: 1, groups: 2, padding: "SAME" },
    { name: "NHWC depthwise (groups = C)", layout: ["NHWC", "HWIO", "NHWC"], n: 1, c: 3, h: 6, w: 5, o: 3, kh: 3, kw: 3, groups: 3, padding: "SAME" },
    { name: "NHWC 1x1", layout: ["NHWC", "HWIO", "NHWC"], n: 3, c: 5, h: 3, w: 3, o: 7, kh: 1, kw: 1, padding: "VALID" },
    { name: "mixed layouts NCHW / HWIO / NHWC", layout: ["NCHW", "HWIO", "NHWC"], n: 2, c: 3, h: 5, w: 6, o: 2, kh: 2, kw: 2, padding: "VALID" },
    { name: "other layout CHWN / OHWI / HWCN", layout: ["CHWN", "OHWI", "HWCN"], n: 2, c: 2, h: 5, w: 4, o: 3, kh: 3, kw: 2, strides: [1, 2], padding: [[1, 1], [0, 1]] },
    { name: "lhs dilation (transposed conv)", layout: ["NHWC", "HWIO", "NHWC"], n: 1, c: 2, h: 4, w: 3, o: 2, kh: 3, kw: 3, lhsDilation: [2, 2], padding: [[2, 2], [2, 2]] },
    { name: "negative padding", layout: ["NCHW", "OIHW", "NCHW"], n: 1, c: 1, h: 6, w: 6, o: 1, kh: 2, kw: 2, padding: [[-1, 0], [0, -2]] },
  ];
  for (const cc of CASES) {
    it(cc.name, () => {
      const groups = cc.groups ?? 1;
      const x = rand(shapeFor(cc.layout[0], { N: cc.n, C: cc.c, H: cc.h, W: cc.w }));
      const k = rand(shapeFor(cc.layout[1], { O: cc.o, I: cc.c / groups, H: cc.kh, W: cc.kw }));
      const f = (a: Tracer, b: Tracer) =>
        lax.convGeneralDilated(a, b, cc.strides ?? [1, 1], cc.padding ?? "VALID", {
          dimensionNumbers: cc.layout,
          rhsDilation: cc.rhsDilation,
          lhsDilation: cc.lhsDilation,
          featureGroupCount: groups,
        });
      const p = program(f, x, k);
      expect(p.steps.some((s) => /conv2d/.test(s)), p.steps.join("\n")).toBe(true);
      if (cc.expectStep) expect(p.steps).toEqual([expect.stringMatching(cc.expectStep)]);
      expectMatchesInterpreter(f, [x, k], 1e-4);
      // eagerly too (the one-equation program)
      const eager = f(x, k) as TfArray;
      expectAllclose(eager, jit(f)(x, k), { atol: 1e-5, rtol: 1e-5 });
    });
  }

  it("a conv fused with its bias add and relu", () => {
    const f = (a: Tracer, b: Tracer, bias: Tracer) =>
      np.maximum(np.add(lax.convGeneralDilated(a, b, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }), bias), 0);
    const x = rand([2, 5, 5, 3]);
    const k = rand([3, 3, 3, 4]);
    const bias = rand([4]);
    const p = program(f, x, k, bias);
    // One pass: the bias and the max are the conv's epilogue (conv_lowering.ts).
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatch(/conv2d NHWC .*fused epilogue max\(add\(x, %\d+\[channel\]\), 0\)/);
    expectMatchesInterpreter(f, [x, k, bias], 1e-4);
  });
});

// --- eager ------------------------------------------------------------------------------

describe("eager ops on wasm", () => {
  it("run as cached one-equation programs and equal the interpreter", () => {
    const x = rand([3, 5]);
    const y = np.exp(x) as TfArray;
    expect(y.backend.name).toBe("wasm");
    expectAllclose(y, np.exp(x.to("interpreter")), { atol: 1e-6, rtol: 1e-6 });
    const z = bind1("rev", [x], { dimensions: [1] }) as TfArray;
    expect(z.backend.name).toBe("wasm");
    expect(Array.from(z.dataSync())).toEqual(Array.from((bind1("rev", [x.to("interpreter")], { dimensions: [1] }) as TfArray).dataSync()));
  });
});
