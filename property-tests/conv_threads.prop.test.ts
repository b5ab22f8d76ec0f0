// Properties of the split convolution kernels (wasm/src/conv.rs run_range,
// ThreadPool.conv): for random 2-D convolutions — NHWC or NCHW, batch 1..3,
// channels 1..6 (most not multiples of 4), feature groups 1..3, spatial
// 1..9, kernels 1..3, strides 1..3, padding -1..2 per side, kernel and input
// dilation 1..2 — the forward conv and both gradients, split into many
// work-stealing chunks on three threads, equal the same pool's work on one
// thread bitwise, and equal the unsplit kernel (the forward and the data
// gradient bitwise; the filter gradient, summed in parts, within rounding);
// a forward conv with a random epilogue (which the GEMM applies as it stores
// each tile) equals the epilogue applied to the unsplit output, also with
// channel counts past the GEMM's register tile and reductions past its K panel; and jit of relu(conv(x, w) + b) folds the bias and relu
// into the conv (unless its input is dilated) and equals the interpreter.
// A third generator covers the forward's Winograd path (3×3, stride 1, 1-4
// input channels), which random convolutions almost never reach; two more
// the shapes whose splits once differed in the last bit from the unsplit
// conv: tiny images with asymmetric padding (the data gradient), and outputs
// one or two pixels wide with reductions past the gemm's K panel (the
// forward) — the gemm's few-row path sums in another order (conv.rs GemmRows).
// NUM_RUNS (default 25) sets the runs.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, lax, nn, setDefaultBackend, type Tracer } from "../src/index";
import { conv2dShapes, encodeConvEpilogue, type Conv2dParams, type ConvMode } from "../src/backends/wasm/conv_params";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { ThreadPool } from "../src/backends/wasm/threads";
import type { EpilogueOp } from "../src/backends/plan/kernel_graph";
import { expectAllclose } from "../src/testing";
import { randomFloats } from "../test/float_bits";
import { rng } from "../test/rng";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 25);
const T_OUT = 60_000;

const arbConv = fc.record({
  layout: fc.constantFrom("NHWC" as const, "NCHW" as const),
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cPerGroup: fc.integer({ min: 1, max: 3 }),
  oPerGroup: fc.integer({ min: 1, max: 3 }),
  size: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 })), fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 }))),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  lhsDilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});
type ConvCase = typeof arbConv extends fc.Arbitrary<infer P> ? P : never;

// Channel counts past the GEMM's 4×8 register tile (full tiles, whose stores
// run the epilogue in registers, and partial ones), and reductions past its
// 256-deep K panel (the epilogue only on the last pass over K).
const arbWide: fc.Arbitrary<ConvCase> = fc.record({
  layout: fc.constantFrom("NHWC" as const, "NCHW" as const),
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cPerGroup: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 27, max: 33 })),
  oPerGroup: fc.integer({ min: 1, max: 21 }),
  size: fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: -1, max: 1 })), fc.tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: -1, max: 1 }))),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  lhsDilation: fc.constant<[number, number]>([1, 1]),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

// 3×3, stride 1, undilated, ungrouped NHWC convs of 1-4 input channels: the
// forward's Winograd path (conv.rs), whose 2×2 output tiles a split at an odd
// output row cuts in two.
const arbWinograd: fc.Arbitrary<ConvCase> = fc.record({
  layout: fc.constant("NHWC" as const),
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.constant(1),
  cPerGroup: fc.integer({ min: 1, max: 4 }),
  oPerGroup: fc.integer({ min: 1, max: 13 }),
  size: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  kernel: fc.constant<[number, number]>([3, 3]),
  strides: fc.constant<[number, number]>([1, 1]),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 })), fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 }))),
  dilation: fc.constant<[number, number]>([1, 1]),
  lhsDilation: fc.constant<[number, number]>([1, 1]),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

// Tiny images of several images each, with asymmetric and negative padding
// and 1×1 kernels: a data gradient's im2col rows (output pixels) per image
// then fall to the gemm's few-row sizes, where the whole batch's do not; the
// data gradient split by images must still equal the unsplit one bitwise
// (and the filter gradient, summed in parts, within rounding).
const arbTiny: fc.Arbitrary<ConvCase> = fc.record({
  layout: fc.constantFrom("NHWC" as const, "NCHW" as const),
  n: fc.integer({ min: 2, max: 4 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cPerGroup: fc.integer({ min: 1, max: 5 }),
  oPerGroup: fc.integer({ min: 1, max: 8 }),
  size: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 })), fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 }))),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  lhsDilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

// Outputs one or two pixels wide with reductions past the gemm's 256-deep K
// panel: a forward split into single output lines hands the gemm blocks of
// one or two pixel rows, which its unpacked path would sum over K in one pass
// instead of by panels.
const arbDeep: fc.Arbitrary<ConvCase> = fc.record({
  layout: fc.constantFrom("NHWC" as const, "NCHW" as const),
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.constant(1),
  cPerGroup: fc.integer({ min: 65, max: 72 }),
  oPerGroup: fc.integer({ min: 1, max: 9 }),
  size: fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 })),
  kernel: fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 2, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: -1, max: 1 })), fc.tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: -1, max: 1 }))),
  dilation: fc.constant<[number, number]>([1, 1]),
  lhsDilation: fc.constant<[number, number]>([1, 1]),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

function paramsOf(c: ConvCase): Conv2dParams {
  return {
    layout: c.layout, n: c.n, h: c.size[0], w: c.size[1], cin: c.groups * c.cPerGroup, cout: c.groups * c.oPerGroup,
    kh: c.kernel[0], kw: c.kernel[1], groups: c.groups, strides: c.strides, padding: c.padding, dilation: c.dilation, lhsDilation: c.lhsDilation,
  };
}

let K: WasmKernels;
let threaded: ThreadPool;
let single: ThreadPool;

beforeAll(async () => {
  K = instantiateWasmKernels();
  // Every conv splits, into chunks of one unit where it can: far more chunks than threads.
  threaded = new ThreadPool(K, { threads: 3, minConvWork: 0, convChunksPerThread: 64, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
  single = new ThreadPool(K, { threads: 1, minConvWork: 0 });
  await threaded.whenReady(15_000);
}, T_OUT);

afterAll(() => {
  threaded.close();
  single.close();
});

/** The operands of `mode` in memory (a, b random; out garbage), run by `run`, read back. */
function runMode(p: Conv2dParams, mode: ConvMode, seed: number, run: (a: number, b: number, out: number) => void): Float32Array {
  const s = conv2dShapes(p);
  const next = rng(seed);
  const [aSize, bSize, outSize] = mode === "forward" ? [s.xSize, s.wSize, s.ySize] : mode === "data" ? [s.ySize, s.wSize, s.xSize] : [s.xSize, s.ySize, s.wSize];
  const a = K.putF32(randomFloats(next, aSize));
  const b = K.putF32(randomFloats(next, bSize));
  const out = K.putF32(new Float32Array(outSize).fill(Number.NaN));
  try {
    run(a, b, out);
    return K.readF32(out, outSize);
  } finally {
    K.freeF32(a, aSize);
    K.freeF32(b, bSize);
    K.freeF32(out, outSize);
  }
}

const unsplit: Record<ConvMode, (p: Conv2dParams, a: number, b: number, out: number) => void> = {
  forward: (p, a, b, out) => K.conv2d(p, a, b, out),
  data: (p, a, b, out) => K.conv2dBackwardData(p, a, b, out),
  filter: (p, a, b, out) => K.conv2dBackwardFilter(p, a, b, out),
};

const sameBits = (x: Float32Array, y: Float32Array) => expect(new Uint32Array(x.buffer)).toEqual(new Uint32Array(y.buffer));

describe("split convolutions (ThreadPool.conv)", () => {
  const allModes: ConvMode[] = ["forward", "data", "filter"];
  // Data gradients whose split differed from the unsplit one in the last bit
  // (images of 3 and 4 output pixels, which took the gemm's unpacked path
  // alone, while the whole batch took the packed one).
  const tinyDataGradients: [ConvCase, ConvMode][] = [
    [{ layout: "NHWC", n: 2, groups: 1, cPerGroup: 1, oPerGroup: 4, size: [3, 1], kernel: [3, 3], strides: [1, 1], padding: [[0, 2], [1, 1]], dilation: [1, 1], lhsDilation: [1, 1], seed: 7 }, "data"],
    [{ layout: "NHWC", n: 2, groups: 1, cPerGroup: 1, oPerGroup: 4, size: [4, 5], kernel: [3, 3], strides: [1, 1], padding: [[1, -1], [-1, 0]], dilation: [1, 1], lhsDilation: [1, 1], seed: 7 }, "data"],
  ];
  // Tiny convs cost little: more runs of them reach the few shapes that split differently.
  for (const [label, arb, modes, runs, examples] of [
    ["", arbConv, allModes, NUM_RUNS, []],
    [" (tiny images, asymmetric padding)", arbTiny, allModes, 4 * NUM_RUNS, tinyDataGradients],
    [" (narrow outputs, reductions past the K panel)", arbDeep, allModes, NUM_RUNS, []],
    [" (the Winograd forward)", arbWinograd, ["forward"] as ConvMode[], NUM_RUNS, []],
  ] as const) it(`equal one thread bitwise and the unsplit kernel${label}`, () => {
    fc.assert(
      fc.property(arb, fc.constantFrom(...modes), (c, mode) => {
        const p = paramsOf(c);
        const s = conv2dShapes(p);
        fc.pre(s.oh > 0 && s.ow > 0);
        const three = runMode(p, mode, c.seed, (a, b, out) => threaded.conv({ params: p, mode, a, b, out }));
        const one = runMode(p, mode, c.seed, (a, b, out) => single.conv({ params: p, mode, a, b, out }));
        const whole = runMode(p, mode, c.seed, (a, b, out) => unsplit[mode](p, a, b, out));
        sameBits(three, one);
        if (mode === "filter") expectAllclose(Array.from(three), Array.from(whole), { atol: 1e-5, rtol: 1e-5 });
        else sameBits(three, whole);
      }),
      { numRuns: runs, examples: [...examples] },
    );
  }, T_OUT);

  const arbOp = fc.oneof(
    fc.record({ op: fc.constantFrom("add", "sub", "rsub", "mul", "div", "rdiv", "max", "min") as fc.Arbitrary<EpilogueOp["op"]>, vector: fc.boolean(), value: fc.float({ min: -2, max: 2, noNaN: true }) }),
    fc.constant({ op: "relu" as const, vector: false, value: 0 }),
  );

  for (const [label, arb] of [["", arbConv], [" (channels past the gemm's register tile)", arbWide], [" (the Winograd forward)", arbWinograd]] as const) it(`apply a forward epilogue as the ops on the unsplit output${label}`, () => {
    fc.assert(
      fc.property(arb, fc.array(arbOp, { minLength: 1, maxLength: 8 }), (c, spec) => {
        const p = paramsOf(c);
        const s = conv2dShapes(p);
        fc.pre(s.oh > 0 && s.ow > 0);
        const next = rng(c.seed + 1);
        const vectors = spec.filter((o) => o.op !== "relu" && o.vector).map(() => randomFloats(next, p.cout));
        const ops: EpilogueOp[] = spec.map((o) => ({
          op: o.op,
          operand: o.op === "relu" ? { kind: "none" } : o.vector ? { kind: "col" } : { kind: "const", value: Math.fround(o.value) },
        }));
        const ptrs = vectors.map((v) => K.putF32(v));
        try {
          const got = runMode(p, "forward", c.seed, (a, b, out) => threaded.conv({ params: p, mode: "forward", a, b, out, epilogue: encodeConvEpilogue(ops, ptrs) }));
          const plain = runMode(p, "forward", c.seed, (a, b, out) => K.conv2d(p, a, b, out));
          const nhwc = p.layout === "NHWC";
          const plane = s.oh * s.ow;
          const want = plain.map((y, i) => {
            const ch = nhwc ? i % p.cout : Math.floor(i / plane) % p.cout;
            let v = 0;
            for (const o of ops) {
              const u = o.operand.kind === "const" ? o.operand.value : o.operand.kind === "col" ? vectors[v++]![ch]! : 0;
              const f = Math.fround;
              // As f32x4.max/min: NaN wins, and +0 is above -0.
              const pick = (m: number) => (Number.isNaN(y) || Number.isNaN(u) ? Number.NaN : m);
              y = o.op === "add" ? f(y + u) : o.op === "sub" ? f(y - u) : o.op === "rsub" ? f(u - y) : o.op === "mul" ? f(y * u)
                : o.op === "div" ? f(y / u) : o.op === "rdiv" ? f(u / y) : o.op === "max" ? pick(Math.max(y, u)) : o.op === "min" ? pick(Math.min(y, u))
                  : y <= 0 ? 0 : y;
            }
            return y;
          });
          expect(Array.from(got)).toEqual(Array.from(want));
        } finally {
          ptrs.forEach((ptr) => K.freeF32(ptr, p.cout));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  }, T_OUT);

  it("jit folds relu(conv + bias) into the conv and equals the interpreter", () => {
    fc.assert(
      fc.property(fc.oneof(arbConv, arbWinograd), (c) => {
        const p = paramsOf(c);
        const s = conv2dShapes(p);
        fc.pre(s.oh > 0 && s.ow > 0);
        const nhwc = p.layout === "NHWC";
        const dims = nhwc ? (["NHWC", "HWIO", "NHWC"] as const) : (["NCHW", "OIHW", "NCHW"] as const);
        const xShape = nhwc ? [p.n, p.h, p.w, p.cin] : [p.n, p.cin, p.h, p.w];
        const kShape = nhwc ? [p.kh, p.kw, c.cPerGroup, p.cout] : [p.cout, c.cPerGroup, p.kh, p.kw];
        const bShape = nhwc ? [p.cout] : [p.cout, 1, 1];
        const next = rng(c.seed);
        const arr = (shape: number[]) => TfArray.fromTyped(randomFloats(next, shape.reduce((a, b) => a * b, 1)), shape, "float32", { backend: "wasm" });
        const [x, k, bias] = [arr(xShape), arr(kShape), arr(bShape)];
        const f = (a: Tracer, w: Tracer, b: Tracer) =>
          nn.relu(lax.convGeneralDilated(a, w, c.strides, [c.padding[0], c.padding[1]], {
            dimensionNumbers: [...dims], rhsDilation: c.dilation, lhsDilation: c.lhsDilation, featureGroupCount: c.groups,
          }).add(b));
        const text = (jit(f).lower as (...a: unknown[]) => { text(): string })(x, k, bias).text();
        // A conv with a dilated input runs on the data-gradient kernel (conv_lowering.ts), which takes no epilogue.
        if (c.lhsDilation.every((d) => d === 1)) expect(text).toMatch(/conv2d \w+ .*fused epilogue relu\(add\(x, %\d+\[channel\]\)\)/);
        const got = jit(f)(x, k, bias) as TfArray;
        const prev = defaultBackendName();
        setDefaultBackend("interpreter");
        try {
          const want = f(x.to("interpreter"), k.to("interpreter"), bias.to("interpreter")) as TfArray;
          expectAllclose(got, want, { atol: 1e-5, rtol: 1e-5 });
        } finally {
          setDefaultBackend(prev);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  }, T_OUT);
});
