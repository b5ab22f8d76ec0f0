// Tests of the wasm lowering of convolution gradients (plan/conv_lowering.ts):
// the transposed convolutions that `grad` of a conv produces run on the Rust
// gradient kernels (conv2d_backward_data / conv2d_backward_filter) without
// transposed copies of the activations — the program text shows the
// "backward data" / "backward filter" steps — and the gradients equal the
// interpreter's, over strides, padding (SAME, VALID, explicit, negative),
// kernel and input dilation, batch 1, channel counts that are not multiples
// of 4, NHWC and NCHW. Convolutions that are not gradients, grouped ones and
// other layouts stay on the forward kernel and stay correct.
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, grad, lax, np, type Tracer } from "../src/index";
import { onInterpreter } from "./interpreter_oracle";
import { expectMatchesInterpreter, programSteps, wasmRandom } from "./wasm_lowering_checks";

const rand = wasmRandom(11);

type Layout = "NHWC" | "NCHW";
interface GradCase {
  name: string;
  layout: Layout;
  n: number; c: number; h: number; w: number; o: number; kh: number; kw: number;
  strides?: [number, number]; padding?: [number, number][] | "SAME" | "VALID"; rhsDilation?: [number, number]; lhsDilation?: [number, number];
  /** Which gradient steps the program must contain. */
  expectData: boolean;
}

const dims = (layout: Layout) => (layout === "NHWC" ? (["NHWC", "HWIO", "NHWC"] as const) : (["NCHW", "OIHW", "NCHW"] as const));
const shapeFor = (spec: string, d: Record<string, number>) => [...spec].map((ch) => d[ch]!);

/** The conv of a case, a weighted sum of its output (so each output element gets its own cotangent), and both gradients. */
function gradientsOf(cc: GradCase) {
  const [ls, rs, os] = dims(cc.layout);
  const conv = (x: Tracer, k: Tracer) =>
    lax.convGeneralDilated(x, k, cc.strides ?? [1, 1], cc.padding ?? "SAME", { dimensionNumbers: [ls, rs, os], rhsDilation: cc.rhsDilation, lhsDilation: cc.lhsDilation });
  const x = rand(shapeFor(ls, { N: cc.n, C: cc.c, H: cc.h, W: cc.w }));
  const k = rand(shapeFor(rs, { O: cc.o, I: cc.c, H: cc.kh, W: cc.kw }));
  const yShape = (onInterpreter(() => conv(x.to("interpreter"), k.to("interpreter"))) as TfArray).shape;
  const ct = rand([...yShape]);
  const loss = (xi: Tracer, ki: Tracer, cti: Tracer) => np.sum(np.multiply(conv(xi, ki), cti));
  const f = (xi: Tracer, ki: Tracer, cti: Tracer) => grad(loss, { argnums: [0, 1] })(xi, ki, cti) as Tracer[];
  return { f, args: [x, k, ct] };
}

describe("conv gradients on the wasm gradient kernels equal the interpreter", () => {
  const CASES: GradCase[] = [
    { name: "NHWC 3x3 SAME (the W7 CNN's conv)", layout: "NHWC", n: 3, c: 4, h: 7, w: 6, o: 5, kh: 3, kw: 3, expectData: true },
    { name: "NCHW 3x3 SAME", layout: "NCHW", n: 2, c: 3, h: 6, w: 7, o: 4, kh: 3, kw: 3, expectData: true },
    { name: "NHWC one input channel, batch 1", layout: "NHWC", n: 1, c: 1, h: 9, w: 8, o: 7, kh: 3, kw: 3, expectData: true },
    { name: "NHWC stride 2 SAME", layout: "NHWC", n: 2, c: 3, h: 9, w: 8, o: 5, kh: 3, kw: 3, strides: [2, 2], expectData: true },
    { name: "NCHW stride (2, 3) VALID", layout: "NCHW", n: 2, c: 5, h: 11, w: 10, o: 3, kh: 3, kw: 2, strides: [2, 3], padding: "VALID", expectData: true },
    { name: "NHWC kernel dilation 2 with uneven padding", layout: "NHWC", n: 1, c: 2, h: 9, w: 9, o: 3, kh: 2, kw: 3, rhsDilation: [2, 1], padding: [[1, 0], [0, 2]], expectData: true },
    { name: "NCHW negative padding", layout: "NCHW", n: 2, c: 3, h: 8, w: 7, o: 2, kh: 2, kw: 2, padding: [[-1, 0], [0, -2]], expectData: true },
    { name: "NHWC input dilation (a transposed conv)", layout: "NHWC", n: 2, c: 3, h: 4, w: 5, o: 2, kh: 3, kw: 3, lhsDilation: [2, 2], padding: [[2, 2], [1, 2]], expectData: true },
    { name: "NCHW 1x1 stride 2", layout: "NCHW", n: 3, c: 6, h: 5, w: 5, o: 7, kh: 1, kw: 1, strides: [2, 2], padding: "VALID", expectData: true },
    { name: "NHWC window larger than the stride, odd sizes", layout: "NHWC", n: 2, c: 7, h: 10, w: 9, o: 9, kh: 5, kw: 4, strides: [3, 2], padding: [[2, 1], [1, 2]], expectData: true },
  ];
  for (const cc of CASES) {
    it(cc.name, () => {
      const { f, args } = gradientsOf(cc);
      const text = programSteps(f, ...args);
      expect(text.filter((s) => /backward filter/.test(s)), text.join("\n")).toHaveLength(1);
      expect(text.filter((s) => /backward data/.test(s)), text.join("\n")).toHaveLength(cc.expectData ? 1 : 0);
      expectMatchesInterpreter(f, args, 1e-4);
    });
  }

  it("the gradients read the activations in place: no transposed copies", () => {
    const { f, args } = gradientsOf({ name: "", layout: "NHWC", n: 4, c: 3, h: 8, w: 8, o: 6, kh: 3, kw: 3, expectData: true });
    // sum(conv(x, k)·ct) is linear, so its gradients need no forward conv: two kernel calls on the inputs' own slots.
    expect(programSteps(f, ...args)).toEqual([
      expect.stringMatching(/^0: conv2d NHWC backward filter \(%0, %2\) -> %\d+:float32\[3,3,3,6\]$/),
      expect.stringMatching(/^1: conv2d NHWC backward data \(%2, %1\) -> %\d+:float32\[4,8,8,3\]$/),
    ]);
  });

  it("grouped convolutions and other layouts keep the forward kernel and stay correct", () => {
    const conv = (x: Tracer, k: Tracer) => lax.convGeneralDilated(x, k, [2, 1], "SAME", { dimensionNumbers: ["NCHW", "OIHW", "NCHW"], featureGroupCount: 2 });
    const x = rand([2, 4, 7, 6]);
    const k = rand([6, 2, 3, 3]);
    const ct = rand([2, 6, 4, 6]);
    const f = (xi: Tracer, ki: Tracer, cti: Tracer) => grad((a: Tracer, b: Tracer) => np.sum(np.multiply(conv(a, b), cti)), { argnums: [0, 1] })(xi, ki) as Tracer[];
    expect(programSteps(f, x, k, ct).some((s) => /backward/.test(s))).toBe(false);
    expectMatchesInterpreter(f, [x, k, ct], 1e-4);

    const other = (a: Tracer, b: Tracer) => lax.convGeneralDilated(a, b, [1, 1], "SAME", { dimensionNumbers: ["CHWN", "OHWI", "HWCN"] });
    const x2 = rand([3, 6, 5, 2]);
    const k2 = rand([4, 3, 3, 3]);
    const ct2 = rand([6, 5, 4, 2]);
    const g = (xi: Tracer, ki: Tracer, cti: Tracer) => grad((a: Tracer, b: Tracer) => np.sum(np.multiply(other(a, b), cti)), { argnums: [0, 1] })(xi, ki) as Tracer[];
    expectMatchesInterpreter(g, [x2, k2, ct2], 1e-4);
  });

  it("a plain forward conv stays on the forward kernel", () => {
    const f = (a: Tracer, b: Tracer) => [lax.convGeneralDilated(a, b, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] })];
    const x = rand([2, 6, 6, 3]);
    const k = rand([3, 3, 3, 4]);
    expect(programSteps(f, x, k)).toEqual([expect.stringMatching(/^0: conv2d NHWC \(/)]);
    expectMatchesInterpreter(f, [x, k], 1e-4);
  });
});
