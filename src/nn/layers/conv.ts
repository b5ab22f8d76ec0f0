// Convolution and pooling layers over images: Conv2d (lax.convGeneralDilated
// with stride, padding, dilation and groups, in NCHW or NHWC layout), and
// MaxPool2d/AvgPool2d with their functional forms nn.maxPool/nn.avgPool
// (lax.reduceWindow over the two spatial axes).

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import type { Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { checkOptions, describeValue, opt, type OptionRule } from "../../core/options";
import { lecunNormal, zeros, type Initializer } from "../initializers";
import { arrow } from "./dense";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

export type ImageLayout = "NCHW" | "NHWC";

/** Padding of a 2-D window: "SAME", "VALID", one number for all sides, [ph, pw], or [[top, bottom], [left, right]]. */
export type Padding2d = "SAME" | "VALID" | number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];

/** A size given once for both spatial axes or as [h, w]. */
export type Size2d = number | readonly [number, number];

const isNat = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const size2dRule: OptionRule = { expected: "a positive integer or a pair [h, w] of them", accepts: (v) => pair(v) !== null && pair(v)!.every((d) => d > 0) };
const paddingRule: OptionRule = {
  expected: '"SAME", "VALID", a non-negative integer, [ph, pw] or [[top, bottom], [left, right]]',
  accepts: (v) => padPairs(v as Padding2d) !== null,
};
const layoutRule = opt.oneOf("NCHW", "NHWC");

function pair(v: unknown): [number, number] | null {
  if (isNat(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every(isNat)) return [v[0], v[1]];
  return null;
}

function size2d(where: string, name: string, v: unknown): [number, number] {
  const p = pair(v);
  if (p === null || p.some((d) => d <= 0)) throw new ArgumentError(`${where}: ${name} must be a positive integer or a pair [h, w] of them, got ${describeValue(v)}`);
  return p;
}

/** Explicit [lo, hi] pairs for numeric padding; the strings are passed through to lax. */
function padPairs(p: Padding2d): "SAME" | "VALID" | [number, number][] | null {
  if (p === "SAME" || p === "VALID") return p;
  const sym = pair(p);
  if (sym !== null) return [[sym[0], sym[0]], [sym[1], sym[1]]];
  if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(isNat))) {
    return (p as readonly (readonly [number, number])[]).map((q) => [q[0], q[1]] as [number, number]);
  }
  return null;
}

const fmt2 = ([a, b]: [number, number]): string => (a === b ? `${a}` : `${a}×${b}`);
const fmtPad = (p: Padding2d): string => (typeof p === "string" ? p : JSON.stringify(p));

export interface Conv2dOptions {
  /** Window stride (default 1). */
  stride?: Size2d;
  /** "SAME", "VALID" (default), or explicit zero padding. */
  padding?: Padding2d;
  /** Kernel dilation (default 1). */
  dilation?: Size2d;
  /** Channel groups: inChannels and outChannels must be multiples (default 1; inChannels = depthwise). */
  groups?: number;
  /** Add a bias per output channel (default true). */
  bias?: boolean;
  /** "NCHW" (default, weight [out, in/groups, kh, kw]) or "NHWC" (weight [kh, kw, in/groups, out]). */
  layout?: ImageLayout;
  /** Called with the kernel's HWIO shape [kh, kw, in/groups, out] (so JAX's default fan axes apply); default lecunNormal(). */
  kernelInit?: Initializer;
  /** Initializer of the [out] bias (default zeros). */
  biasInit?: Initializer;
}

export interface Conv2dParams {
  weight: Tracer;
  bias?: Tracer;
}

/**
 * A 2-D convolution. NCHW (the default) takes x [N, C, H, W] and stores
 * weight [out, in/groups, kh, kw] (PyTorch's layout); NHWC takes [N, H, W, C]
 * and stores weight [kh, kw, in/groups, out] (flax's). Either way kernelInit
 * draws the kernel in HWIO form, so fan-based initializers see fan_in =
 * in/groups·kh·kw and fan_out = out·kh·kw, and the result is transposed to
 * OIHW for NCHW.
 */
export function Conv2d(inChannels: number, outChannels: number, kernelSize: Size2d, opts: Conv2dOptions = {}): Layer<Conv2dParams, {}> {
  const where = "nn.Conv2d";
  checkOptions(where, opts, {
    stride: size2dRule, padding: paddingRule, dilation: size2dRule, groups: opt.positiveInteger, bias: opt.boolean, layout: layoutRule, kernelInit: opt.function, biasInit: opt.function,
  });
  positiveInt(where, "inChannels", inChannels);
  positiveInt(where, "outChannels", outChannels);
  const [kh, kw] = size2d(where, "kernelSize", kernelSize);
  const stride = size2d(where, "stride", opts.stride ?? 1);
  const dilation = size2d(where, "dilation", opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new ArgumentError(`${where}: groups=${groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`);
  }
  const padding = opts.padding ?? "VALID";
  const pads = padPairs(padding)!;
  const layout = opts.layout ?? "NCHW";
  const useBias = opts.bias ?? true;
  const kernelInit = opts.kernelInit ?? lecunNormal();
  const biasInit = opts.biasInit ?? zeros;
  const extras = [
    stride[0] !== 1 || stride[1] !== 1 ? `stride=${fmt2(stride)}` : "",
    padding !== "VALID" ? `padding=${fmtPad(padding)}` : "",
    dilation[0] !== 1 || dilation[1] !== 1 ? `dilation=${fmt2(dilation)}` : "",
    groups !== 1 ? `groups=${groups}` : "",
    useBias ? "" : "bias=false",
    layout !== "NCHW" ? layout : "",
  ].filter((s) => s !== "");
  const header = `Conv2d(${arrow(inChannels, outChannels)}, ${kh}×${kw}${extras.map((e) => `, ${e}`).join("")})`;
  const channelAxis = layout === "NCHW" ? 1 : 3;
  const dimensionNumbers = layout === "NCHW" ? (["NCHW", "OIHW", "NCHW"] as const) : (["NHWC", "HWIO", "NHWC"] as const);
  return defineLayer<Conv2dParams, {}, {}>({
    name: "Conv2d",
    header,
    optionRules: {},
    init(key) {
      const [kk, kb] = random.split(key, 2);
      const hwio = kernelInit(kk, [kh, kw, inChannels / groups, outChannels]);
      const params: Conv2dParams = { weight: layout === "NCHW" ? np.transpose(hwio, [3, 2, 0, 1]) : hwio };
      if (useBias) params.bias = biasInit(kb, [outChannels]);
      return { params, state: {} };
    },
    forward(params, state, x) {
      const expected = layout === "NCHW" ? `[N, ${inChannels}, H, W]` : `[N, H, W, ${inChannels}]`;
      expectShape(header, x.ndim === 4 && x.shape[channelAxis] === inChannels, expected, x);
      const [h, w] = layout === "NCHW" ? [x.shape[2], x.shape[3]] : [x.shape[1], x.shape[2]];
      const span = (k: number, d: number) => (k - 1) * d + 1;
      if (pads === "VALID" && (h < span(kh, dilation[0]) || w < span(kw, dilation[1]))) {
        expectShape(header, false, `${expected} with H >= ${span(kh, dilation[0])} and W >= ${span(kw, dilation[1])} (VALID padding)`, x);
      }
      let y = lax.convGeneralDilated(x, params.weight, stride, pads, { rhsDilation: dilation, dimensionNumbers, featureGroupCount: groups });
      if (useBias) y = np.add(y, layout === "NCHW" ? np.reshape(params.bias!, [outChannels, 1, 1]) : params.bias!);
      return [y, state];
    },
  });
}

// --- pooling -----------------------------------------------------------------------

export interface PoolOptions {
  /** Window stride (default: the window size, non-overlapping windows). */
  stride?: Size2d;
  /** "VALID" (default), "SAME" or explicit padding; padded cells never win a max and count as zeros in an average. */
  padding?: Padding2d;
  /** "NCHW" (default) or "NHWC". */
  layout?: ImageLayout;
}

const poolRules = { stride: size2dRule, padding: paddingRule, layout: layoutRule };

interface PoolPlan {
  window: number[];
  strides: number[];
  padding: "SAME" | "VALID" | [number, number][];
  windowSize: number;
}

function poolPlan(where: string, window: Size2d, opts: PoolOptions): PoolPlan {
  const [wh, ww] = size2d(where, "window", window);
  const [sh, sw] = size2d(where, "stride", opts.stride ?? [wh, ww]);
  const layout = opts.layout ?? "NCHW";
  const pads = padPairs(opts.padding ?? "VALID")!;
  const spatial = layout === "NCHW" ? [2, 3] : [1, 2];
  const full = (a: number, b: number, fill: number) => [0, 1, 2, 3].map((i) => (i === spatial[0] ? a : i === spatial[1] ? b : fill));
  const padding = typeof pads === "string" ? pads : [0, 1, 2, 3].map((i) => (i === spatial[0] ? pads[0] : i === spatial[1] ? pads[1] : [0, 0])) as [number, number][];
  return { window: full(wh, ww, 1), strides: full(sh, sw, 1), padding, windowSize: wh * ww };
}

function pool(where: string, kind: "max" | "avg", x: Tracer, plan: PoolPlan): Tracer {
  if (x.ndim !== 4) throw new ArgumentError(`${where}: x must be a 4-D image batch, got ${x.aval.str()}`);
  if (kind === "max") return lax.reduceWindow(x, -Infinity, "max", plan.window, plan.strides, plan.padding);
  return np.divide(lax.reduceWindow(x, 0, "sum", plan.window, plan.strides, plan.padding), plan.windowSize);
}

/** Max over 2-D windows of an image batch (NCHW by default); the functional form of MaxPool2d. */
export function maxPool(x: Tracer, window: Size2d, opts: PoolOptions = {}): Tracer {
  checkOptions("nn.maxPool", opts, poolRules);
  return pool("nn.maxPool", "max", x, poolPlan("nn.maxPool", window, opts));
}

/** Mean over 2-D windows (padding counts as zeros, as PyTorch's and flax's defaults); the functional form of AvgPool2d. */
export function avgPool(x: Tracer, window: Size2d, opts: PoolOptions = {}): Tracer {
  checkOptions("nn.avgPool", opts, poolRules);
  return pool("nn.avgPool", "avg", x, poolPlan("nn.avgPool", window, opts));
}

function poolLayer(name: "MaxPool2d" | "AvgPool2d", kind: "max" | "avg", window: Size2d, opts: PoolOptions): Layer<{}, {}> {
  const where = `nn.${name}`;
  checkOptions(where, opts, poolRules);
  const plan = poolPlan(where, window, opts);
  const layout = opts.layout ?? "NCHW";
  const w = size2d(where, "window", window);
  const extras = [
    opts.stride !== undefined ? `stride=${fmt2(size2d(where, "stride", opts.stride))}` : "",
    opts.padding !== undefined && opts.padding !== "VALID" ? `padding=${fmtPad(opts.padding)}` : "",
    layout !== "NCHW" ? layout : "",
  ].filter((s) => s !== "");
  const header = `${name}(${fmt2(w)}${extras.map((e) => `, ${e}`).join("")})`;
  return defineLayer<{}, {}, {}>({
    name,
    header,
    optionRules: {},
    init: () => ({ params: {}, state: {} }),
    forward(params, state, x) {
      expectShape(header, x.ndim === 4, layout === "NCHW" ? "[N, C, H, W]" : "[N, H, W, C]", x);
      return [pool(header, kind, x, plan), state];
    },
  });
}

/** Max pooling layer over 2-D windows (stride defaults to the window). */
export function MaxPool2d(window: Size2d, opts: PoolOptions = {}): Layer<{}, {}> {
  return poolLayer("MaxPool2d", "max", window, opts);
}

/** Average pooling layer over 2-D windows (stride defaults to the window). */
export function AvgPool2d(window: Size2d, opts: PoolOptions = {}): Layer<{}, {}> {
  return poolLayer("AvgPool2d", "avg", window, opts);
}
