// Property: for EVERY first-order primitive, with random valid params, random
// shapes, random batch size and random in/out axes (batched or not, positive or
// negative), vmap(f) equals stacking f over the slices of its arguments. The
// generator table is typed by primitive, so a new primitive fails to compile
// until it has a generator here. Counterexamples print the primitive, its
// params, argument specs, axes and batch size.
// NUM_RUNS (default 20) sets the runs per primitive.

import fc from "fast-check";
import { describe, it } from "vitest";
import { lax, vmap } from "../src/index";
import type { Array as TfArray, DType, Tracer } from "../src/index";
import { bind1 } from "../src/core/trace";
import { FirstOrderPrimitive, UNARY_ELEMENTWISE } from "../src/core/primitives";
import {
  type ArgSpec, type Axis, type PrimCase, batchedSpec, checkPrimCase, describeCase, difference, outRanks, primFn, randomArray, rng, stackOfSlices,
} from "../test/vmap_oracle";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

// --- imperative generation helpers over fc.gen() -----------------------------------------

type G = fc.GeneratorValue;
const int = (g: G, min: number, max: number): number => g(fc.integer, { min, max });
/** true with probability pTrue; shrinks towards false. */
const coin = (g: G, pTrue = 0.5): boolean => int(g, 0, 999) >= (1 - pTrue) * 1000;
const pick = <T>(g: G, xs: readonly T[]): T => xs[int(g, 0, xs.length - 1)];
const subset = <T>(g: G, xs: readonly T[]): T[] => xs.filter(() => coin(g));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
function perm(g: G, n: number): number[] {
  const p = range(n);
  for (let i = n - 1; i > 0; i--) {
    const j = int(g, 0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
/** k distinct elements of xs in random order. */
const choose = <T>(g: G, xs: readonly T[], k: number): T[] => perm(g, xs.length).slice(0, k).map((i) => xs[i]);
const shapeOf = (g: G, minRank: number, maxRank: number, minDim = 1, maxDim = 3): number[] =>
  range(int(g, minRank, maxRank)).map(() => int(g, minDim, maxDim));
const complement = (n: number, ...ex: number[][]) => range(n).filter((d) => !ex.some((e) => e.includes(d)));
const spec = (shape: number[], dtype: DType, lo?: number, hi?: number): ArgSpec => ({ shape, dtype, lo, hi });
const windowOut = (n: number, w: number, s: number, lo: number, hi: number, bd: number, wd: number) => {
  const dil = n === 0 ? 0 : (n - 1) * bd + 1;
  const padded = lo + dil + hi;
  const dw = (w - 1) * wd + 1;
  return padded < dw ? 0 : Math.floor((padded - dw) / s) + 1;
};

type CaseGen = (g: G) => PrimCase;

// --- generators -------------------------------------------------------------------------------

const UNARY_DOMAIN: Partial<Record<string, [DType[], number, number]>> = {
  log: [["float32"], -0.5, 3], log1p: [["float32"], -1.5, 3], sqrt: [["float32"], -0.5, 3], rsqrt: [["float32"], -0.5, 3],
  asin: [["float32"], -1, 1], acos: [["float32"], -1, 1], atanh: [["float32"], -1, 1], erf_inv: [["float32"], -1, 1],
  acosh: [["float32"], 0.5, 3],
  neg: [["float32", "int32"], -4, 4], sign: [["float32", "int32"], -2, 2], abs: [["float32", "int32"], -4, 4],
  not: [["bool", "int32", "uint32"], 0, 9],
};

function unaryGen(prim: string): CaseGen {
  return (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    if (prim === "integer_pow") {
      const y = int(g, -3, 3);
      const dtype: DType = y < 0 ? "float32" : pick(g, ["float32", "int32"] as DType[]);
      return { prim, params: { y }, args: [spec(shape, dtype, dtype === "float32" ? 0.5 : -3, dtype === "float32" ? 2 : 3)] };
    }
    const [dtypes, lo, hi] = UNARY_DOMAIN[prim] ?? [["float32"], -2, 2];
    const dtype = pick(g, dtypes);
    return { prim, params: {}, args: [spec(shape, dtype, dtype === "uint32" ? 0 : lo, hi)] };
  };
}

const BINARY_DTYPES: Record<string, DType[]> = {
  add: ["float32", "int32", "uint32"], sub: ["float32", "int32"], mul: ["float32", "int32", "uint32"],
  div: ["float32", "int32"], rem: ["float32", "int32"], pow: ["float32"], max: ["float32", "int32", "bool"],
  min: ["float32", "int32", "uint32"], atan2: ["float32"], and: ["bool", "int32", "uint32"], or: ["bool", "int32"],
  xor: ["bool", "uint32"], eq: ["float32", "int32", "bool"], ne: ["float32", "bool"], lt: ["float32", "int32"],
  le: ["float32", "uint32"], gt: ["int32", "float32"], ge: ["float32", "bool"],
  shift_left: ["int32", "uint32"], shift_right_logical: ["int32", "uint32"],
};

function binaryGen(prim: string): CaseGen {
  return (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    const dtype = pick(g, BINARY_DTYPES[prim]);
    const lo = dtype === "uint32" ? 0 : -4;
    if (prim === "shift_left" || prim === "shift_right_logical") {
      return { prim, params: {}, args: [spec(shape, dtype, lo, 100), spec(shape, dtype, 0, 35)] };
    }
    if (prim === "pow") return { prim, params: {}, args: [spec(shape, dtype, 0.25, 2), spec(shape, dtype, -2, 2)] };
    if (prim === "rem" || prim === "div") return { prim, params: {}, args: [spec(shape, dtype, -9, 9), spec(shape, dtype, 1, 4)] };
    return { prim, params: {}, args: [spec(shape, dtype, lo, 4), spec(shape, dtype, lo, 4)] };
  };
}

const reductionGen = (prim: string, dtypes: DType[]): CaseGen => (g) => {
  const shape = shapeOf(g, 0, 3, 0, 3);
  return { prim, params: { axes: subset(g, range(shape.length)) }, args: [spec(shape, pick(g, dtypes), -3, 3)] };
};

const argGen = (prim: string): CaseGen => (g) => {
  const shape = shapeOf(g, 1, 3, 1, 4);
  const dtype = pick(g, ["float32", "int32"] as DType[]);
  return { prim, params: { axis: int(g, 0, shape.length - 1), indexDtype: "int32" }, args: [spec(shape, dtype, 0, 3)] };
};

const cumGen = (prim: string, dtypes: DType[]): CaseGen => (g) => {
  const shape = shapeOf(g, 1, 3, 0, 4);
  return { prim, params: { axis: int(g, 0, shape.length - 1), reverse: coin(g) }, args: [spec(shape, pick(g, dtypes), -3, 3)] };
};

const windowGen = (prim: string): CaseGen => (g) => {
  const shape = shapeOf(g, 1, 3, 1, 4);
  const p = {
    windowDimensions: shape.map(() => int(g, 1, 3)),
    windowStrides: shape.map(() => int(g, 1, 2)),
    padding: shape.map(() => [int(g, 0, 1), int(g, 0, 1)]),
    baseDilation: shape.map(() => int(g, 1, 2)),
    windowDilation: shape.map(() => int(g, 1, 2)),
  };
  return { prim, params: p, args: [spec(shape, pick(g, ["float32", "int32"] as DType[]))] };
};

const gatherGen: CaseGen = (g) => {
  const shape = shapeOf(g, 1, 3, 1, 4);
  const r = shape.length;
  const obd = coin(g, 0.3) ? [int(g, 0, r - 1)] : [];
  const rest = complement(r, obd);
  const K = rest.length === 0 ? 0 : int(g, 1, rest.length);
  const startIndexMap = choose(g, rest, K);
  const sliceSizes = shape.map((n, d) => (obd.includes(d) ? 1 : int(g, startIndexMap.includes(d) ? 0 : 1, n)));
  const collapsedSliceDims = rest.filter((d) => sliceSizes[d] === 1 && coin(g));
  const bR = obd.length + int(g, 0, 2);
  const batchPos = choose(g, range(bR), obd.length);
  const batchShape = range(bR).map((i) => (batchPos.includes(i) ? shape[obd[batchPos.indexOf(i)]] : int(g, 1, 3)));
  const W = r - collapsedSliceDims.length - obd.length;
  const offsetDims = choose(g, range(bR + W), W).sort((a, b) => a - b);
  const mode = pick(g, ["clip", "fill"]);
  const fillValue = mode === "fill" && coin(g) ? -7 : null;
  const maxDim = Math.max(...shape);
  return {
    prim: "gather",
    params: {
      dimensionNumbers: { offsetDims, collapsedSliceDims, startIndexMap, operandBatchingDims: obd, startIndicesBatchingDims: batchPos },
      sliceSizes, mode, fillValue,
    },
    args: [spec(shape, pick(g, ["float32", "int32"] as DType[])), spec([...batchShape, K], "int32", -1, maxDim)],
  };
};

const scatterGen = (prim: "scatter" | "scatter_add"): CaseGen => (g) => {
  const shape = shapeOf(g, 1, 3, 1, 4);
  const r = shape.length;
  const obd = coin(g, 0.3) ? [int(g, 0, r - 1)] : [];
  const rest = complement(r, obd);
  const K = rest.length === 0 ? 0 : int(g, 1, rest.length);
  const scatterDimsToOperandDims = choose(g, rest, K);
  const insertedWindowDims = rest.filter(() => coin(g, 0.4));
  const windowDims = complement(r, insertedWindowDims, obd);
  const bR = obd.length + int(g, 0, 2);
  const batchPos = choose(g, range(bR), obd.length);
  const batchShape = range(bR).map((i) => (batchPos.includes(i) ? shape[obd[batchPos.indexOf(i)]] : int(g, 1, 3)));
  const W = windowDims.length;
  const updateWindowDims = choose(g, range(bR + W), W).sort((a, b) => a - b);
  const updShape: number[] = [];
  let w = 0;
  let s = 0;
  for (let i = 0; i < bR + W; i++) updShape.push(updateWindowDims.includes(i) ? int(g, 0, shape[windowDims[w++]]) : batchShape[s++]);
  const dtype = pick(g, ["float32", "int32"] as DType[]);
  const maxDim = Math.max(...shape);
  return {
    prim,
    params: {
      dimensionNumbers: { updateWindowDims, insertedWindowDims, scatterDimsToOperandDims, operandBatchingDims: obd, scatterIndicesBatchingDims: batchPos },
      mode: pick(g, ["clip", "fill"]),
    },
    args: [spec(shape, dtype), spec([...batchShape, K], "int32", -1, maxDim), spec(updShape, dtype)],
  };
};

const dotGen: CaseGen = (g) => {
  const nb = int(g, 0, 1);
  const nc = int(g, 0, 2);
  const nlf = int(g, 0, 2);
  const nrf = int(g, 0, 2 - (nb + nc + nlf > 3 ? 1 : 0));
  const bs = range(nb).map(() => int(g, 1, 3));
  const cs = range(nc).map(() => int(g, 1, 3));
  // kinds: b0.., c0.., f0.. placed by a random permutation
  const layout = (nf: number) => {
    const fs = range(nf).map(() => int(g, 1, 3));
    const items = [...bs.map((n, i) => ["b", i, n]), ...cs.map((n, i) => ["c", i, n]), ...fs.map((n, i) => ["f", i, n])] as [string, number, number][];
    const p = perm(g, items.length).map((i) => items[i]);
    const pos = (kind: string, i: number) => p.findIndex(([k, j]) => k === kind && j === i);
    return { shape: p.map(([, , n]) => n), batch: range(nb).map((i) => pos("b", i)), contract: range(nc).map((i) => pos("c", i)) };
  };
  const L = layout(nlf);
  const R = layout(nrf);
  const dtype = pick(g, ["float32", "int32"] as DType[]);
  return {
    prim: "dot_general",
    params: { dimensionNumbers: [[L.contract, R.contract], [L.batch, R.batch]], preferredElementType: null },
    args: [spec(L.shape, dtype, -3, 3), spec(R.shape, dtype, -3, 3)],
  };
};

const convGen: CaseGen = (g) => {
  const nsp = int(g, 1, 2);
  const rank = nsp + 2;
  const grouping = pick(g, ["none", "feature", "batch"]);
  const G = grouping === "feature" ? int(g, 2, 3) : 1;
  const BG = grouping === "batch" ? 2 : 1;
  const I = int(g, 1, 2);
  const C = G * I;
  const O = G * BG * int(g, 1, 2);
  const N = BG * int(g, 1, 2);
  const inSp = range(nsp).map(() => int(g, 1, 4));
  const kSp = range(nsp).map(() => int(g, 1, 3));
  const lhsSpec = perm(g, rank);
  const rhsSpec = perm(g, rank);
  const outSpec = perm(g, rank);
  const place = (specDims: number[], sizes: number[]) => {
    const s = new Array<number>(rank);
    specDims.forEach((d, i) => (s[d] = sizes[i]));
    return s;
  };
  return {
    prim: "conv_general_dilated",
    params: {
      windowStrides: range(nsp).map(() => int(g, 1, 2)),
      padding: range(nsp).map(() => [int(g, 0, 1), int(g, 0, 1)]),
      lhsDilation: range(nsp).map(() => int(g, 1, 2)),
      rhsDilation: range(nsp).map(() => int(g, 1, 2)),
      dimensionNumbers: { lhsSpec, rhsSpec, outSpec },
      featureGroupCount: G,
      batchGroupCount: BG,
      preferredElementType: null,
    },
    args: [spec(place(lhsSpec, [N, C, ...inSp]), "float32"), spec(place(rhsSpec, [O, I, ...kSp]), "float32")],
  };
};

const GENERATORS: { [P in FirstOrderPrimitive]: CaseGen } = {
  ...(Object.fromEntries(UNARY_ELEMENTWISE.map((p) => [p, unaryGen(p)])) as { [P in (typeof UNARY_ELEMENTWISE)[number]]: CaseGen }),
  stop_gradient: unaryGen("stop_gradient"),
  add: binaryGen("add"), sub: binaryGen("sub"), mul: binaryGen("mul"), div: binaryGen("div"), rem: binaryGen("rem"),
  pow: binaryGen("pow"), max: binaryGen("max"), min: binaryGen("min"), atan2: binaryGen("atan2"),
  and: binaryGen("and"), or: binaryGen("or"), xor: binaryGen("xor"), eq: binaryGen("eq"), ne: binaryGen("ne"),
  lt: binaryGen("lt"), le: binaryGen("le"), gt: binaryGen("gt"), ge: binaryGen("ge"),
  shift_left: binaryGen("shift_left"), shift_right_logical: binaryGen("shift_right_logical"),
  select_n: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    const boolWhich = coin(g);
    const n = boolWhich ? int(g, 1, 2) : int(g, 1, 3);
    const whichShape = coin(g) ? [] : shape;
    const dtype = pick(g, ["float32", "int32"] as DType[]);
    return {
      prim: "select_n", params: {},
      args: [boolWhich ? spec(whichShape, "bool") : spec(whichShape, "int32", 0, n - 1), ...range(n).map(() => spec(shape, dtype))],
    };
  },
  clamp: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    const dtype = pick(g, ["float32", "int32"] as DType[]);
    const bound = (lo: number, hi: number) => spec(coin(g) ? [] : shape, dtype, lo, hi);
    return { prim: "clamp", params: {}, args: [bound(-3, 0), spec(shape, dtype, -4, 4), bound(0, 3)] };
  },
  convert_element_type: (g) => {
    const all: DType[] = ["float32", "int32", "uint32", "bool"];
    const from = pick(g, all);
    return { prim: "convert_element_type", params: { newDtype: pick(g, all), weakType: false }, args: [spec(shapeOf(g, 0, 3), from, from === "uint32" ? 0 : -3, 3)] };
  },
  bitcast_convert_type: (g) => {
    const all: DType[] = ["float32", "int32", "uint32"];
    const from = pick(g, all);
    return { prim: "bitcast_convert_type", params: { newDtype: pick(g, all) }, args: [spec(shapeOf(g, 0, 3), from, from === "float32" ? -3 : 0, from === "float32" ? 3 : 1 << 29)] };
  },
  reduce_sum: reductionGen("reduce_sum", ["float32", "int32"]),
  reduce_max: reductionGen("reduce_max", ["float32", "int32", "bool"]),
  reduce_min: reductionGen("reduce_min", ["float32", "uint32"]),
  reduce_prod: reductionGen("reduce_prod", ["float32", "int32"]),
  reduce_and: reductionGen("reduce_and", ["bool", "int32"]),
  reduce_or: reductionGen("reduce_or", ["bool", "uint32"]),
  argmax: argGen("argmax"),
  argmin: argGen("argmin"),
  cumsum: cumGen("cumsum", ["float32", "int32"]),
  cumprod: cumGen("cumprod", ["float32", "int32"]),
  cummax: cumGen("cummax", ["float32", "int32"]),
  cummin: cumGen("cummin", ["float32", "uint32"]),
  broadcast_in_dim: (g) => {
    const shape = shapeOf(g, 0, 3, 1, 3);
    const outShape: number[] = [];
    const bdims: number[] = [];
    shape.forEach((n, i) => {
      while (coin(g, 0.3)) outShape.push(int(g, 1, 3));
      bdims.push(outShape.length);
      outShape.push(n === 1 && coin(g) ? int(g, 1, 3) : n);
      void i;
    });
    while (coin(g, 0.3)) outShape.push(int(g, 1, 3));
    return { prim: "broadcast_in_dim", params: { shape: outShape, broadcastDimensions: bdims }, args: [spec(shape, "float32")] };
  },
  reshape: (g) => {
    const shape = shapeOf(g, 0, 3, 1, 4);
    const factors: number[] = [];
    let n = shape.reduce((a, b) => a * b, 1);
    for (let p = 2; n > 1; p++) while (n % p === 0) { factors.push(p); n /= p; }
    const k = int(g, factors.length ? 1 : 0, 3);
    const newSizes = range(k).map(() => 1);
    factors.forEach((f) => (newSizes[int(g, 0, k - 1)] *= f));
    return { prim: "reshape", params: { newSizes }, args: [spec(shape, "float32")] };
  },
  transpose: (g) => {
    const shape = shapeOf(g, 0, 4, 1, 3);
    return { prim: "transpose", params: { permutation: perm(g, shape.length) }, args: [spec(shape, "int32")] };
  },
  squeeze: (g) => {
    const shape = shapeOf(g, 0, 3, 1, 3).flatMap((n) => (coin(g, 0.4) ? [1, n] : [n]));
    const ones = range(shape.length).filter((d) => shape[d] === 1);
    return { prim: "squeeze", params: { dimensions: subset(g, ones) }, args: [spec(shape, "float32")] };
  },
  expand_dims: (g) => {
    const shape = shapeOf(g, 0, 2, 1, 3);
    const k = int(g, 0, 2);
    return { prim: "expand_dims", params: { dimensions: choose(g, range(shape.length + k), k).sort((a, b) => a - b) }, args: [spec(shape, "float32")] };
  },
  rev: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    return { prim: "rev", params: { dimensions: subset(g, range(shape.length)) }, args: [spec(shape, "float32")] };
  },
  slice: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 5);
    const startIndices = shape.map((n) => int(g, 0, n));
    const limitIndices = shape.map((n, i) => int(g, startIndices[i], n));
    const strides = coin(g) ? null : shape.map(() => int(g, 1, 3));
    return { prim: "slice", params: { startIndices, limitIndices, strides }, args: [spec(shape, "float32")] };
  },
  dynamic_slice: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 4);
    const idt = pick(g, ["int32", "uint32"] as DType[]);
    return {
      prim: "dynamic_slice", params: { sliceSizes: shape.map((n) => int(g, 0, n)) },
      args: [spec(shape, "float32"), ...shape.map((n) => spec([], idt, idt === "int32" ? -2 : 0, n + 1))],
    };
  },
  dynamic_update_slice: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 4);
    const dtype = pick(g, ["float32", "int32"] as DType[]);
    return {
      prim: "dynamic_update_slice", params: {},
      args: [spec(shape, dtype), spec(shape.map((n) => int(g, 0, n)), dtype), ...shape.map((n) => spec([], "int32", -2, n + 1))],
    };
  },
  pad: (g) => {
    const shape = shapeOf(g, 0, 3, 0, 3);
    const paddingConfig = shape.map((n) => {
      const interior = int(g, 0, 2);
      const full = n + Math.max(n - 1, 0) * interior;
      const lo = int(g, -Math.min(1, full), 2);
      const hi = int(g, -Math.min(1, full + lo), 2);
      return [lo, hi, interior];
    });
    const dtype = pick(g, ["float32", "int32", "bool"] as DType[]);
    return { prim: "pad", params: { paddingConfig }, args: [spec(shape, dtype), spec([], dtype)] };
  },
  concatenate: (g) => {
    const shape = shapeOf(g, 1, 3, 1, 3);
    const dimension = int(g, 0, shape.length - 1);
    const n = int(g, 1, 3);
    const dtype = pick(g, ["float32", "bool"] as DType[]);
    const args = range(n).map(() => {
      const s = [...shape];
      s[dimension] = int(g, 0, 3);
      return spec(s, dtype);
    });
    return { prim: "concatenate", params: { dimension }, args };
  },
  iota: (g) => {
    const shape = shapeOf(g, 1, 3, 1, 3);
    const dimension = int(g, 0, shape.length - 1);
    const params = { dtype: "float32" as DType, shape, dimension };
    return { prim: "iota", params, args: [spec(shape, "float32")], fn: (x: Tracer) => [lax.add(x, bind1("iota", [], params))] };
  },
  gather: gatherGen,
  scatter: scatterGen("scatter"),
  scatter_add: scatterGen("scatter_add"),
  dot_general: dotGen,
  conv_general_dilated: convGen,
  reduce_window_sum: windowGen("reduce_window_sum"),
  reduce_window_max: windowGen("reduce_window_max"),
  reduce_window_min: windowGen("reduce_window_min"),
  select_and_scatter_add: (g) => {
    const shape = shapeOf(g, 1, 2, 1, 4);
    const padding = shape.map(() => [int(g, 0, 1), int(g, 0, 1)] as [number, number]);
    const windowDimensions = shape.map((n, i) => int(g, 1, Math.min(3, n + padding[i][0] + padding[i][1])));
    const windowStrides = shape.map(() => int(g, 1, 2));
    const src = shape.map((n, i) => windowOut(n, windowDimensions[i], windowStrides[i], padding[i][0], padding[i][1], 1, 1));
    return {
      prim: "select_and_scatter_add",
      params: { selectPrim: pick(g, ["ge", "le"]), windowDimensions, windowStrides, padding },
      args: [spec(src, "float32"), spec(shape, "float32")],
    };
  },
  select_and_gather_add: (g) => {
    const c = windowGen("select_and_gather_add")(g);
    const s = c.args[0];
    return { ...c, params: { selectPrim: pick(g, ["ge", "le"]), ...c.params }, args: [spec(s.shape, "float32"), spec(s.shape, "float32")] };
  },
  sort: (g) => {
    const shape = shapeOf(g, 1, 3, 1, 4);
    const n = int(g, 1, 3);
    return {
      prim: "sort",
      params: { dimension: int(g, 0, shape.length - 1), isStable: true, numKeys: int(g, 1, n) },
      args: range(n).map(() => (coin(g) ? spec(shape, "int32", 0, 2) : spec(shape, "float32"))),
    };
  },
  top_k: (g) => {
    const shape = shapeOf(g, 1, 3, 1, 4);
    return { prim: "top_k", params: { k: int(g, 0, shape[shape.length - 1]) }, args: [spec(shape, pick(g, ["float32", "int32"] as DType[]), 0, 3)] };
  },
  threefry2x32: (g) => {
    const shape = shapeOf(g, 0, 2, 0, 3);
    return { prim: "threefry2x32", params: {}, args: range(4).map(() => spec(shape, "uint32", 0, 4294967295)) };
  },
};

// --- the property ---------------------------------------------------------------------------

interface Scenario {
  c: PrimCase;
  inAxes: Axis[];
  outAxes: Axis[];
  b: number;
  seed: number;
}

function scenario(gen: CaseGen): fc.Arbitrary<Scenario> {
  return fc.gen().map((g) => {
    const c = gen(g);
    let inAxes: Axis[] = c.args.map((a) => {
      if (coin(g, 0.3)) return null;
      const ax = int(g, 0, a.shape.length);
      return coin(g, 0.2) ? ax - a.shape.length - 1 : ax; // sometimes the negative form
    });
    if (inAxes.every((a) => a === null)) inAxes = inAxes.map((a, i) => (i === 0 ? 0 : a));
    const outAxes = outRanks(c).map((r) => {
      const ax = int(g, 0, r);
      return coin(g, 0.2) ? ax - r - 1 : ax;
    });
    const s: Scenario = { c, inAxes, outAxes, b: int(g, 1, 3), seed: int(g, 0, 1 << 30) };
    return Object.assign(s, { [fc.toStringMethod]: () => describeScenario(s) });
  });
}

function describeScenario(s: Scenario): string {
  return `${describeCase(s.c)} inAxes=${JSON.stringify(s.inAxes)} outAxes=${JSON.stringify(s.outAxes)} B=${s.b} seed=${s.seed}`;
}

describe("property: vmap(f) == stack of f over slices, for every first-order primitive", () => {
  for (const prim of Object.keys(GENERATORS) as FirstOrderPrimitive[]) {
    it(prim, () => {
      fc.assert(
        fc.property(scenario(GENERATORS[prim]), (s) => {
          const err = checkPrimCase(s.c, s.inAxes, s.outAxes, s.b, s.seed);
          if (err !== null) throw new Error(`${describeScenario(s)}: ${err}`);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

// --- nested: vmap(vmap(f)) ---------------------------------------------------------------------

interface NestedScenario {
  c: PrimCase;
  inner: { inAxes: Axis[]; outAxes: Axis[]; b: number };
  outer: { inAxes: Axis[]; outAxes: Axis[]; b: number };
  seed: number;
}

/** Random per-arg axes for args of the given ranks, at least one mapped. */
function axesFor(g: G, ranks: number[]): Axis[] {
  const axes: Axis[] = ranks.map((r) => (coin(g, 0.35) ? null : int(g, 0, r)));
  if (!axes.some((a) => a !== null)) axes[0] = 0;
  return axes;
}

function nestedScenario(): fc.Arbitrary<NestedScenario> {
  const prims = Object.keys(GENERATORS) as FirstOrderPrimitive[];
  return fc.gen().map((g) => {
    const c = GENERATORS[pick(g, prims)](g);
    const ranks = c.args.map((a) => a.shape.length);
    const inner = { inAxes: axesFor(g, ranks), outAxes: [] as Axis[], b: int(g, 1, 3) };
    const midRanks = ranks.map((r, i) => r + (inner.inAxes[i] === null ? 0 : 1));
    const outer = { inAxes: axesFor(g, midRanks), outAxes: [] as Axis[], b: int(g, 1, 3) };
    const oRanks = outRanks(c);
    inner.outAxes = oRanks.map((r) => int(g, 0, r));
    outer.outAxes = oRanks.map((r) => int(g, 0, r + 1));
    const s: NestedScenario = { c, inner, outer, seed: int(g, 0, 1 << 30) };
    return Object.assign(s, { [fc.toStringMethod]: () => describeNested(s) });
  });
}

function describeNested(s: NestedScenario): string {
  return `${describeCase(s.c)} inner=${JSON.stringify(s.inner)} outer=${JSON.stringify(s.outer)} seed=${s.seed}`;
}

function checkNested(s: NestedScenario): string | null {
  const r = rng(s.seed);
  const args = s.c.args.map((a, i) => randomArray(r, batchedSpec(batchedSpec(a, s.inner.inAxes[i], s.inner.b), s.outer.inAxes[i], s.outer.b)));
  const f = primFn(s.c);
  const innerOracle = (...xs: TfArray[]) => stackOfSlices(f, xs, s.inner.inAxes, s.inner.outAxes);
  const want = stackOfSlices(innerOracle, args, s.outer.inAxes, s.outer.outAxes) as TfArray[];
  let got: TfArray[];
  try {
    const inner = vmap(f, { inAxes: s.inner.inAxes, outAxes: s.inner.outAxes });
    got = vmap(inner, { inAxes: s.outer.inAxes, outAxes: s.outer.outAxes })(...args) as TfArray[];
  } catch (e) {
    return `vmap threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  for (let i = 0; i < want.length; i++) {
    const d = difference(got[i], want[i]);
    if (d !== null) return `output ${i}: ${d}`;
  }
  return null;
}

describe("property: vmap(vmap(f)) == double stack of f, over random primitives", () => {
  it("nested vmap", () => {
    fc.assert(
      fc.property(nestedScenario(), (s) => {
        const err = checkNested(s);
        if (err !== null) throw new Error(`${describeNested(s)}: ${err}`);
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });
});
