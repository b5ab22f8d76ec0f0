// Properties of automatic differentiation over random shapes and params, for
// every differentiable first-order primitive: forward mode agrees with
// central finite differences, reverse mode agrees with forward mode
// (<u, J v> = <J^T u, v>), and the same holds one order up (the derivative
// functions x -> J(x) v and x -> J(x)^T u, i.e. forward/reverse over
// forward/reverse). Counterexamples print the primitive, its params, the
// input shapes and values. NUM_RUNS (default 20) sets the runs per primitive.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Array, Tracer } from "../src/index";
import { BINARY_ELEMENTWISE, DECOMPOSITIONS, familyTable, type ConvDimensionNumbers, type Decomposition, type FirstOrderPrimitive, type ParamsOf, type Primitive } from "../src/core/primitives";
import { bind, bind1 } from "../src/core/trace";
import { BINARY_RECORDS, FIRST_ORDER_PRIMITIVES, UNARY_RECORDS, type BinaryWithGradDomain, type ElementwiseWithoutDerivative, type RecordedUnary, type UnaryWithGradDomain } from "./primitive_cases";
import { checkGrads, checkSecondOrder, distinct, f32, i32, rng, uniform, type Fn } from "../test/ad_check";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

type Rand = () => number;
interface Built {
  f: Fn;
  xs: Array[];
  /** params and other choices, for the failure message */
  info: unknown;
}
type Builder = (shape: number[], rand: Rand) => Built;

const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const subset = (rand: Rand, n: number) => [...globalThis.Array(n).keys()].filter(() => rand() < 0.5);
const shuffle = <T>(rand: Rand, xs: T[]): T[] => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};
const p1 = <P extends Primitive>(prim: P, params: ParamsOf<P>): Fn => (...xs: Tracer[]) => bind1(prim, xs, params);
const values = (_rand: Rand, shape: number[], gen: () => number) => f32(shape, globalThis.Array.from({ length: size(shape) }, gen));

function unary<P extends Primitive>(prim: P, lo: number, hi: number, params: ParamsOf<P>): Builder {
  return (shape, rand) => ({ f: p1(prim, params), xs: [uniform(rand, shape, lo, hi)], info: params });
}
function binary<P extends Primitive>(prim: P, make: (shape: number[], rand: Rand) => Array[]): Builder {
  return (shape, rand) => ({ f: p1(prim, {} as ParamsOf<P>), xs: make(shape, rand), info: {} });
}
/** y = x plus a random offset of 0.03..0.23 either way: no ties within the finite-difference step. */
const offsetPair = (shape: number[], rand: Rand): Array[] => {
  const x = distinct(rand, shape);
  const xv = x.dataSync();
  return [x, f32(shape, globalThis.Array.from(xv, (v) => v + (rand() < 0.5 ? -1 : 1) * (0.03 + 0.2 * rand())))];
};

const rwParams = (rand: Rand, shape: number[], opts: { dilations: boolean; chooser: boolean }): ParamsOf<"reduce_window_sum"> => {
  const windowDimensions = shape.map((n) => int(rand, 1, Math.min(n, 3)));
  const baseDilation = shape.map(() => (opts.dilations ? int(rand, 1, 2) : 1));
  const windowDilation = shape.map(() => (opts.dilations && !opts.chooser ? int(rand, 1, 2) : 1));
  if (opts.chooser) windowDimensions.forEach((w, d) => (windowDimensions[d] = Math.max(w, baseDilation[d])));
  const padding = windowDimensions.map((w): [number, number] => (opts.chooser ? [int(rand, 0, w - 1), int(rand, 0, w - 1)] : [int(rand, -1, 2), int(rand, -1, 2)]));
  const windowStrides = shape.map(() => int(rand, 1, 2));
  return { windowDimensions, windowStrides, padding, baseDilation, windowDilation };
};
const windowOut = (n: number, p: ParamsOf<"reduce_window_sum">, d: number) => {
  const dil = n === 0 ? 0 : (n - 1) * p.baseDilation[d] + 1;
  const padded = p.padding[d][0] + dil + p.padding[d][1];
  const ext = (p.windowDimensions[d] - 1) * p.windowDilation[d] + 1;
  return padded < ext ? 0 : Math.floor((padded - ext) / p.windowStrides[d]) + 1;
};

/**
 * First-order primitives whose derivative is zero or undefined everywhere it
 * exists (integer, bool or piecewise-constant results, random bits): nothing
 * to check against finite differences. The elementwise ones are those whose op
 * records (primitive_cases.ts) say so. Every other first-order primitive must
 * have a builder below — the compiler says which one is missing.
 */
const NON_ELEMENTWISE_WITHOUT_DERIVATIVE = [
  "bitcast_convert_type", "reduce_and", "reduce_or", "argmax", "argmin", "iota", "threefry2x32", "stop_gradient",
] as const satisfies readonly FirstOrderPrimitive[];
type WithoutDerivative = ElementwiseWithoutDerivative | (typeof NON_ELEMENTWISE_WITHOUT_DERIVATIVE)[number];
/**
 * Matrix decompositions: their derivatives exist only on well-conditioned
 * inputs (distinct eigen/singular values, SPD for cholesky) and only for
 * gauge-invariant functions of the factors, so property-tests/linalg.prop.test.ts
 * checks them the same two ways (its builders are typed over Decomposition)
 * with inputs built for that rather than the random shapes used here.
 */
type Differentiable = Exclude<FirstOrderPrimitive, WithoutDerivative | Decomposition>;

/** The elementwise primitives checked on the ranges of their op records. */
const UNARY_WITH_DOMAIN = (Object.keys(UNARY_RECORDS) as RecordedUnary[]).filter((p): p is UnaryWithGradDomain => typeof UNARY_RECORDS[p].grad !== "string");
const BINARY_WITH_DOMAIN = BINARY_ELEMENTWISE.filter((p): p is BinaryWithGradDomain => typeof BINARY_RECORDS[p].grad !== "string");

const builders: { [P in Differentiable]: Builder } = {
  ...familyTable(UNARY_WITH_DOMAIN, (p) => {
    const [lo, hi] = UNARY_RECORDS[p].grad;
    return unary(p, lo, hi, {});
  }),
  ...familyTable(BINARY_WITH_DOMAIN, (p) => {
    const [[xlo, xhi], [ylo, yhi]] = BINARY_RECORDS[p].grad;
    return binary(p, (s, r) => [uniform(r, s, xlo, xhi), uniform(r, s, ylo, yhi)]);
  }),
  abs: (shape, rand) => ({ f: p1("abs", {}), xs: [values(rand, shape, () => (rand() < 0.5 ? -1 : 1) * (0.1 + rand()))], info: {} }),
  integer_pow: (shape, rand) => {
    const y = int(rand, -2, 4);
    return { f: p1("integer_pow", { y }), xs: [uniform(rand, shape, y < 0 ? 0.6 : -1.3, 1.3)], info: { y } };
  },
  div: binary("div", (s, r) => [uniform(r, s), values(r, s, () => (r() < 0.5 ? -1 : 1) * (0.6 + r()))]),
  max: binary("max", offsetPair),
  min: binary("min", offsetPair),
  select_n: (shape, rand) => {
    if (rand() < 0.5) {
      const which = i32(shape, globalThis.Array.from({ length: size(shape) }, () => int(rand, 0, 2)));
      return { f: (a, b, c) => bind1("select_n", [which, a, b, c], {}), xs: [uniform(rand, shape), uniform(rand, shape), uniform(rand, shape)], info: { which: "int32, 3 cases" } };
    }
    const mask = globalThis.Array.from({ length: size(shape) }, () => (rand() < 0.5 ? 1 : 0));
    const which = i32(shape, mask);
    const pred = bind1("convert_element_type", [which], { newDtype: "bool", weakType: false });
    return { f: (a, b) => bind1("select_n", [pred, a, b], {}), xs: [uniform(rand, shape), uniform(rand, shape)], info: { which: "bool" } };
  },
  clamp: (shape, rand) => {
    const awayFromBounds = () => pick(rand, [-0.9, 0, 0.9]) + (rand() - 0.5) * 0.5; // bounds at +-0.5
    const x = values(rand, shape, awayFromBounds);
    if (rand() < 0.5) return { f: p1("clamp", {}), xs: [f32([], [-0.5]), x, f32([], [0.5])], info: "scalar bounds" };
    return { f: p1("clamp", {}), xs: [values(rand, shape, () => -0.5), x, values(rand, shape, () => 0.5)], info: "array bounds" };
  },
  convert_element_type: unary("convert_element_type", -1, 1, { newDtype: "float32", weakType: true }),
  reduce_sum: (shape, rand) => {
    const axes = subset(rand, shape.length);
    return { f: p1("reduce_sum", { axes }), xs: [uniform(rand, shape)], info: { axes } };
  },
  reduce_max: (shape, rand) => {
    const axes = subset(rand, shape.length);
    return { f: p1("reduce_max", { axes }), xs: [distinct(rand, shape)], info: { axes } };
  },
  reduce_min: (shape, rand) => {
    const axes = subset(rand, shape.length);
    return { f: p1("reduce_min", { axes }), xs: [distinct(rand, shape)], info: { axes } };
  },
  reduce_prod: (shape, rand) => {
    const axes = subset(rand, shape.length);
    return { f: p1("reduce_prod", { axes }), xs: [values(rand, shape, () => (rand() < 0.5 ? -1 : 1) * (0.6 + 0.7 * rand()))], info: { axes } };
  },
  cumsum: (shape, rand) => {
    const p = { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5 };
    return { f: p1("cumsum", p), xs: [uniform(rand, shape)], info: p };
  },
  cumprod: (shape, rand) => {
    const p = { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5 };
    return { f: p1("cumprod", p), xs: [values(rand, shape, () => (rand() < 0.5 ? -1 : 1) * (0.6 + 0.7 * rand()))], info: p };
  },
  cummax: (shape, rand) => {
    const p = { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5 };
    return { f: p1("cummax", p), xs: [distinct(rand, shape)], info: p };
  },
  cummin: (shape, rand) => {
    const p = { axis: int(rand, 0, shape.length - 1), reverse: rand() < 0.5 };
    return { f: p1("cummin", p), xs: [distinct(rand, shape)], info: p };
  },
  broadcast_in_dim: (shape, rand) => {
    const opShape = shape.map((n) => (rand() < 0.3 ? 1 : n));
    const newPos = int(rand, 0, shape.length);
    const out = shape.map((n, i) => (opShape[i] === 1 ? int(rand, 1, 3) : n));
    out.splice(newPos, 0, 2);
    const broadcastDimensions = opShape.map((_, i) => (i < newPos ? i : i + 1));
    const p = { shape: out, broadcastDimensions };
    return { f: p1("broadcast_in_dim", p), xs: [uniform(rand, opShape)], info: p };
  },
  reshape: (shape, rand) => {
    const p = { newSizes: rand() < 0.5 ? [size(shape)] : [...shape].reverse() };
    return { f: p1("reshape", p), xs: [uniform(rand, shape)], info: p };
  },
  transpose: (shape, rand) => {
    const p = { permutation: shuffle(rand, [...shape.keys()]) };
    return { f: p1("transpose", p), xs: [uniform(rand, shape)], info: p };
  },
  squeeze: (shape, rand) => {
    const pos = int(rand, 0, shape.length);
    const opShape = [...shape];
    opShape.splice(pos, 0, 1);
    const p = { dimensions: [pos] };
    return { f: p1("squeeze", p), xs: [uniform(rand, opShape)], info: p };
  },
  expand_dims: (shape, rand) => {
    const p = { dimensions: [...new Set([int(rand, 0, shape.length), int(rand, 0, shape.length + 1)])].sort() };
    return { f: p1("expand_dims", p), xs: [uniform(rand, shape)], info: p };
  },
  rev: (shape, rand) => {
    const p = { dimensions: subset(rand, shape.length) };
    return { f: p1("rev", p), xs: [uniform(rand, shape)], info: p };
  },
  slice: (shape, rand) => {
    const startIndices = shape.map((n) => int(rand, 0, n - 1));
    const limitIndices = shape.map((n, i) => int(rand, startIndices[i], n));
    const strides = rand() < 0.5 ? null : shape.map(() => int(rand, 1, 3));
    const p = { startIndices, limitIndices, strides };
    return { f: p1("slice", p), xs: [uniform(rand, shape)], info: p };
  },
  dynamic_slice: (shape, rand) => {
    const sliceSizes = shape.map((n) => int(rand, 1, n));
    const starts = shape.map((n) => int(rand, -1, n));
    return { f: (x) => bind1("dynamic_slice", [x, ...starts.map((s) => i32([], [s]))], { sliceSizes }), xs: [uniform(rand, shape)], info: { sliceSizes, starts } };
  },
  dynamic_update_slice: (shape, rand) => {
    const upd = shape.map((n) => int(rand, 1, n));
    const starts = shape.map((n) => int(rand, -1, n));
    return { f: (x, u) => bind1("dynamic_update_slice", [x, u, ...starts.map((s) => i32([], [s]))], {}), xs: [uniform(rand, shape), uniform(rand, upd)], info: { starts } };
  },
  pad: (shape, rand) => {
    const paddingConfig = shape.map((n): [number, number, number] => {
      const interior = int(rand, 0, 2);
      const dil = (n - 1) * (interior + 1) + 1;
      return [Math.max(int(rand, -1, 2), -Math.floor(dil / 2)), Math.max(int(rand, -1, 2), -Math.floor(dil / 2)), interior];
    });
    return { f: p1("pad", { paddingConfig }), xs: [uniform(rand, shape), uniform(rand, [])], info: { paddingConfig } };
  },
  concatenate: (shape, rand) => {
    const dimension = int(rand, 0, shape.length - 1);
    const parts = globalThis.Array.from({ length: int(rand, 1, 3) }, () => shape.map((n, i) => (i === dimension ? int(rand, 1, 3) : n)));
    return { f: p1("concatenate", { dimension }), xs: parts.map((s) => uniform(rand, s)), info: { dimension } };
  },
  gather: (shape, rand) => {
    // take (possibly repeated, possibly out-of-range) slices along axis 0
    const n = shape[0];
    const k = int(rand, 1, 4);
    const mode = rand() < 0.5 ? "clip" : "fill";
    const idx = i32([k, 1], globalThis.Array.from({ length: k }, () => int(rand, mode === "fill" ? -1 : 0, n)));
    const sliceSizes = [1, ...shape.slice(1)];
    const params: ParamsOf<"gather"> = {
      dimensionNumbers: { offsetDims: shape.slice(1).map((_, i) => i + 1), collapsedSliceDims: [0], startIndexMap: [0], operandBatchingDims: [], startIndicesBatchingDims: [] },
      sliceSizes,
      mode,
      fillValue: mode === "fill" ? 0 : null,
    };
    return { f: (x) => bind1("gather", [x, idx], params), xs: [uniform(rand, shape)], info: { idx: globalThis.Array.from(idx.dataSync()), mode } };
  },
  scatter_add: (shape, rand) => scatterBuilder("scatter_add", shape, rand),
  scatter: (shape, rand) => scatterBuilder("scatter", shape, rand),
  dot_general: (_shape, rand) => {
    const B = globalThis.Array.from({ length: int(rand, 0, 1) }, () => int(rand, 1, 3));
    const C = globalThis.Array.from({ length: int(rand, 1, 2) }, () => int(rand, 1, 3));
    const Lf = globalThis.Array.from({ length: int(rand, 0, 2) }, () => int(rand, 1, 3));
    const Rf = globalThis.Array.from({ length: int(rand, 0, 1) }, () => int(rand, 1, 3));
    const layout = (free: number[]) => {
      const items = [...B.map((n, i) => ({ kind: "b", i, n })), ...C.map((n, i) => ({ kind: "c", i, n })), ...free.map((n, i) => ({ kind: "f", i, n }))];
      const order = shuffle(rand, items);
      const pos = (kind: string, i: number) => order.findIndex((it) => it.kind === kind && it.i === i);
      return { shape: order.map((it) => it.n), b: B.map((_, i) => pos("b", i)), c: C.map((_, i) => pos("c", i)) };
    };
    const l = layout(Lf);
    const r = layout(Rf);
    const p: ParamsOf<"dot_general"> = { dimensionNumbers: [[l.c, r.c], [l.b, r.b]], preferredElementType: null };
    return { f: p1("dot_general", p), xs: [uniform(rand, l.shape), uniform(rand, r.shape)], info: { lhs: l.shape, rhs: r.shape, dn: p.dimensionNumbers } };
  },
  conv_general_dilated: (_shape, rand) => convBuilder(rand),
  reduce_window_sum: (shape, rand) => {
    const p = rwParams(rand, shape, { dilations: true, chooser: false });
    return { f: p1("reduce_window_sum", p), xs: [uniform(rand, shape)], info: p };
  },
  reduce_window_max: (shape, rand) => {
    const p = rwParams(rand, shape, { dilations: true, chooser: true });
    return { f: p1("reduce_window_max", p), xs: [distinct(rand, shape)], info: p };
  },
  reduce_window_min: (shape, rand) => {
    const p = rwParams(rand, shape, { dilations: true, chooser: true });
    return { f: p1("reduce_window_min", p), xs: [distinct(rand, shape)], info: p };
  },
  select_and_scatter_add: (shape, rand) => {
    const p = rwParams(rand, shape, { dilations: false, chooser: true });
    const operand = distinct(rand, shape);
    const srcShape = shape.map((n, d) => windowOut(n, p, d));
    const params: ParamsOf<"select_and_scatter_add"> = { selectPrim: pick(rand, ["ge", "le"] as const), windowDimensions: p.windowDimensions, windowStrides: p.windowStrides, padding: p.padding };
    return { f: (s) => bind1("select_and_scatter_add", [s, operand], params), xs: [uniform(rand, srcShape)], info: params };
  },
  select_and_gather_add: (shape, rand) => {
    const p = rwParams(rand, shape, { dilations: false, chooser: true });
    const operand = distinct(rand, shape);
    const params: ParamsOf<"select_and_gather_add"> = { selectPrim: pick(rand, ["ge", "le"] as const), ...p };
    return { f: (t) => bind1("select_and_gather_add", [t, operand], params), xs: [uniform(rand, shape)], info: params };
  },
  sort: (shape, rand) => {
    const dimension = int(rand, 0, shape.length - 1);
    const p = { dimension, isStable: true, numKeys: 1 };
    if (rand() < 0.5) return { f: (...xs) => bind("sort", xs, p), xs: [distinct(rand, shape), uniform(rand, shape)], info: { ...p, operands: 2 } };
    return { f: p1("sort", p), xs: [distinct(rand, shape)], info: p };
  },
  top_k: (shape, rand) => {
    const k = int(rand, 1, shape[shape.length - 1]);
    return { f: (x) => bind("top_k", [x], { k })[0], xs: [distinct(rand, shape)], info: { k } };
  },
};

function scatterBuilder(prim: "scatter" | "scatter_add", shape: number[], rand: Rand): Built {
  const n = shape[0];
  const k = int(rand, 1, 4);
  const mode = rand() < 0.5 ? "clip" : "fill";
  const idx = i32([k, 1], globalThis.Array.from({ length: k }, () => int(rand, mode === "fill" ? -1 : 0, n)));
  const params: ParamsOf<"scatter"> = {
    dimensionNumbers: { updateWindowDims: shape.slice(1).map((_, i) => i + 1), insertedWindowDims: [0], scatterDimsToOperandDims: [0], operandBatchingDims: [], scatterIndicesBatchingDims: [] },
    mode,
  };
  return {
    f: (x, u) => bind1(prim, [x, idx, u], params),
    xs: [uniform(rand, shape), uniform(rand, [k, ...shape.slice(1)])],
    info: { idx: globalThis.Array.from(idx.dataSync()), mode },
  };
}

function convBuilder(rand: Rand): Built {
  const nsp = int(rand, 1, 2);
  const G = rand() < 0.3 ? 2 : 1;
  const BG = G === 1 && rand() < 0.3 ? 2 : 1;
  const N = BG * int(rand, 1, 2);
  const I = int(rand, 1, 2);
  const C = G * I;
  const O = G * BG * int(rand, 1, 2);
  const k = globalThis.Array.from({ length: nsp }, () => int(rand, 1, 3));
  const strides = k.map(() => int(rand, 1, 2));
  const lhsDil = k.map(() => (rand() < 0.25 ? 2 : 1));
  const rhsDil = k.map(() => (rand() < 0.25 ? 2 : 1));
  const padding = k.map((): [number, number] => [int(rand, -1, 2), int(rand, -1, 2)]);
  const inSp = k.map((kk, i) => {
    const ext = (kk - 1) * rhsDil[i] + 1;
    // enough input that at least one output position exists
    return Math.max(int(rand, 2, 5), Math.ceil((ext - padding[i][0] - padding[i][1] - 1) / lhsDil[i]) + 1);
  });
  const nhwc = nsp === 2 && rand() < 0.5;
  const ids = [...globalThis.Array(nsp + 2).keys()];
  const dn: ConvDimensionNumbers = nhwc ? { lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2] } : { lhsSpec: ids, rhsSpec: ids, outSpec: ids };
  const place = (spec: number[], dims: number[]) => {
    const s: number[] = [];
    spec.forEach((pos, i) => (s[pos] = dims[i]));
    return s;
  };
  const lhsShape = place(dn.lhsSpec, [N, C, ...inSp]);
  const rhsShape = place(dn.rhsSpec, [O, I, ...k]);
  const params: ParamsOf<"conv_general_dilated"> = {
    windowStrides: strides,
    padding,
    lhsDilation: lhsDil,
    rhsDilation: rhsDil,
    dimensionNumbers: dn,
    featureGroupCount: G,
    batchGroupCount: BG,
    preferredElementType: null,
  };
  return { f: p1("conv_general_dilated", params), xs: [uniform(rand, lhsShape), uniform(rand, rhsShape)], info: { lhsShape, rhsShape, ...params } };
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function run(name: Differentiable, order: 1 | 2) {
  const builder = builders[name];
  fc.assert(
    fc.property(shapeArb, seedArb, (shape, seed) => {
      const rand = rng(seed);
      const { f, xs, info } = builder(shape, rand);
      const label = `${name} ${JSON.stringify(info)}`;
      if (order === 1) checkGrads(f, xs, { label, seed });
      else checkSecondOrder(f, xs, { label, seed });
    }),
    { numRuns: NUM_RUNS },
  );
}

const names = Object.keys(builders) as Differentiable[];

/** The primitives left out on purpose, at run time: the records' "none", the list above and the decompositions. */
const LEFT_OUT: readonly string[] = [
  ...(Object.keys(UNARY_RECORDS) as RecordedUnary[]).filter((p) => UNARY_RECORDS[p].grad === "none"),
  ...BINARY_ELEMENTWISE.filter((p) => BINARY_RECORDS[p].grad === "none"),
  ...NON_ELEMENTWISE_WITHOUT_DERIVATIVE,
  ...DECOMPOSITIONS,
];

describe("coverage", () => {
  it("every first-order primitive has a builder or is left out on purpose, not both", () => {
    expect([...names, ...LEFT_OUT].sort()).toEqual([...FIRST_ORDER_PRIMITIVES].sort());
  });
});

describe("first-order derivatives: jvp vs finite differences, vjp vs jvp", () => {
  it.each(names)("%s", (name) => run(name, 1));
});

describe("second-order derivatives: forward/reverse over forward/reverse", () => {
  it.each(names)("%s", (name) => run(name, 2));
});
