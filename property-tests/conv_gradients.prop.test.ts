// Properties of the conv gradients that the wasm lowering runs on the Rust
// gradient kernels (src/backends/plan/conv_lowering.ts): for random 2-D
// convolutions — NHWC or NCHW, batch 1..3, channels 1..6 (most not multiples
// of 4), spatial 1..9, kernels 1..3, strides 1..3, padding -1..2 per side,
// kernel and input dilation 1..2 — jit(grad) of Σ conv(x, w)·ct with respect
// to x and w on wasm equals the interpreter, and the program computes the
// filter gradient with the backward-filter kernel (and the input gradient
// with the backward-data kernel).
// NUM_RUNS (default 25) sets the runs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, grad, jit, lax, np, setDefaultBackend, type Tracer } from "../src/index";
import { expectAllclose } from "../src/testing";
import { randomFloats } from "../test/float_bits";
import { rng } from "../test/rng";
import { onInterpreter } from "../test/interpreter_oracle";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 25);

const arbConv = fc.record({
  layout: fc.constantFrom("NHWC" as const, "NCHW" as const),
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 6 }),
  o: fc.integer({ min: 1, max: 6 }),
  size: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 })), fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: -1, max: 2 }))),
  rhsDilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  lhsDilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});
type ConvCase = typeof arbConv extends fc.Arbitrary<infer P> ? P : never;

/** Output size of one spatial dim (as the shape rule computes it). */
function outSize(c: ConvCase, d: 0 | 1): number {
  const inD = (c.size[d] - 1) * c.lhsDilation[d] + 1;
  const kD = (c.kernel[d] - 1) * c.rhsDilation[d] + 1;
  const span = inD + c.padding[d][0] + c.padding[d][1] - kD;
  return span < 0 ? 0 : Math.floor(span / c.strides[d]) + 1;
}

describe("conv gradients on the wasm gradient kernels", () => {
  it("equal the interpreter and use the gradient kernels", () => {
    fc.assert(
      fc.property(arbConv, (c) => {
        const [oh, ow] = [outSize(c, 0), outSize(c, 1)];
        fc.pre(oh > 0 && ow > 0);
        const nhwc = c.layout === "NHWC";
        const dims = nhwc ? (["NHWC", "HWIO", "NHWC"] as const) : (["NCHW", "OIHW", "NCHW"] as const);
        const [h, w] = c.size;
        const [kh, kw] = c.kernel;
        const xShape = nhwc ? [c.n, h, w, c.c] : [c.n, c.c, h, w];
        const kShape = nhwc ? [kh, kw, c.c, c.o] : [c.o, c.c, kh, kw];
        const yShape = nhwc ? [c.n, oh, ow, c.o] : [c.n, c.o, oh, ow];
        const next = rng(c.seed);
        const arr = (shape: number[]) => TfArray.fromTyped(randomFloats(next, shape.reduce((a, b) => a * b, 1)), shape, "float32", { backend: "wasm" });
        const [x, k, ct] = [arr(xShape), arr(kShape), arr(yShape)];
        const conv = (a: Tracer, b: Tracer) =>
          lax.convGeneralDilated(a, b, c.strides, [c.padding[0], c.padding[1]], { dimensionNumbers: [...dims], rhsDilation: c.rhsDilation, lhsDilation: c.lhsDilation });
        const f = (a: Tracer, b: Tracer, t: Tracer) => grad((xa: Tracer, ka: Tracer) => np.sum(np.multiply(conv(xa, ka), t)), { argnums: [0, 1] })(a, b) as Tracer[];

        const text = (jit(f).lower as (...a: unknown[]) => { text(): string })(x, k, ct).text();
        expect(text).toMatch(/conv2d \w+ backward filter/);
        expect(text).toMatch(/conv2d \w+ backward data/);
        const got = jit(f)(x, k, ct) as TfArray[];
        const want = onInterpreter(() => f(x.to("interpreter"), k.to("interpreter"), ct.to("interpreter"))) as TfArray[];
        // Sums of at most 3·3·6·9·9 products of values in [-0.5, 0.5].
        got.forEach((g, i) => expectAllclose(g, want[i]!, { atol: 1e-4, rtol: 1e-4 }));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
