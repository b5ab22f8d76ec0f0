// GCNConv: Kipf & Welling's graph convolution, out = D^-1/2 (A + I) D^-1/2 · x·W + b,
// computed by message passing over an edge list (gather the source rows,
// scale each message by 1/sqrt(deg(src)·deg(dst)), segmentSum them into the
// destinations) instead of a dense adjacency matrix.

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import { Array as ConcreteArray } from "../../core/array";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError, DTypeError } from "../../core/errors";
import { checkOptions, opt, type OptionRule } from "../../core/options";
import { xavierUniform, zeros, type Initializer } from "../initializers";
import { arrow } from "./dense";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

export interface GCNConvOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /** Initializer of the [in, out] weight (default xavierUniform(), as Kipf & Welling and PyG). */
  kernelInit?: Initializer;
  /** Initializer of the bias (default zeros). */
  biasInit?: Initializer;
}

/** Apply options of GCNConv. */
export interface GCNApplyOptions {
  /** int32 [2, E]: row 0 the source nodes, row 1 the destinations. List both directions for an undirected graph. */
  edges?: Tracer;
  /** The number of nodes (default: x's first axis). */
  numNodes?: number;
}

export interface GCNConvParams {
  weight: Tracer;
  bias?: Tracer;
}

const arrayRule: OptionRule = { expected: "an int32 array [2, E]", accepts: (v) => isTracer(v) };

/**
 * A graph convolution over node features x [numNodes, in] → [numNodes, out].
 * Every node gets a self-loop; deg(i) = 1 + the number of edges into i, and
 * an edge s → d carries x_s·W / sqrt(deg(s)·deg(d)) into d (PyG's GCNConv
 * normalisation, which is the symmetric D^-1/2 Â D^-1/2 on an undirected graph).
 */
export function GCNConv(inFeatures: number, outFeatures: number, opts: GCNConvOptions = {}): Layer<GCNConvParams, {}, GCNApplyOptions> {
  const where = "nn.GCNConv";
  checkOptions(where, opts, { bias: opt.boolean, kernelInit: opt.function, biasInit: opt.function });
  positiveInt(where, "inFeatures", inFeatures);
  positiveInt(where, "outFeatures", outFeatures);
  const useBias = opts.bias ?? true;
  const kernelInit = opts.kernelInit ?? xavierUniform();
  const biasInit = opts.biasInit ?? zeros;
  const header = `GCNConv(${arrow(inFeatures, outFeatures)}${useBias ? "" : ", bias=false"})`;
  return defineLayer<GCNConvParams, {}, GCNApplyOptions>({
    name: "GCNConv",
    header,
    optionRules: { edges: arrayRule, numNodes: opt.nonNegativeInteger },
    init(key) {
      const [kw, kb] = random.split(key, 2);
      const params: GCNConvParams = { weight: kernelInit(kw, [inFeatures, outFeatures]) };
      if (useBias) params.bias = biasInit(kb, [outFeatures]);
      return { params, state: {} };
    },
    forward(params, state, x, { edges, numNodes }) {
      expectShape(header, x.ndim === 2 && x.shape[1] === inFeatures, `[numNodes, ${inFeatures}]`, x);
      const n = numNodes ?? x.shape[0];
      expectShape(header, x.shape[0] === n, `[${n}, ${inFeatures}] (numNodes = ${n})`, x);
      if (edges === undefined) throw new ArgumentError(`${header}: pass the graph as apply(params, x, { edges }) with edges an int32 [2, E] array (sources, destinations)`);
      if (edges.dtype !== "int32") throw new DTypeError(`${header}: edges must be int32 [2, E], got ${edges.aval.str()}; build them with { dtype: "int32" }`);
      expectShape(header, edges.ndim === 2 && edges.shape[0] === 2, "[2, E]", edges, "edges");
      if (edges instanceof ConcreteArray && edges.size > 0) {
        // Concrete edges are checked here; traced ones cannot be (an out-of-range id would give NaN rows).
        const ids = edges.dataSync() as Int32Array;
        const bad = ids.findIndex((v) => v < 0 || v >= n);
        if (bad >= 0) throw new ArgumentError(`${header}: edge ${bad % edges.shape[1]} has node id ${ids[bad]}, outside [0, ${n}) (numNodes = ${n})`);
      }
      const src = np.reshape(lax.sliceInDim(edges, 0, 1, 1, 0), [edges.shape[1]]);
      const dst = np.reshape(lax.sliceInDim(edges, 1, 2, 1, 0), [edges.shape[1]]);
      const h = lax.dotGeneral(x, params.weight, [[[1], [0]], [[], []]]);
      const degree = np.add(np.segmentSum(np.ones([edges.shape[1]]), dst, n), 1);
      const invSqrt = np.rsqrt(degree);
      const coef = np.multiply(np.take(invSqrt, src, 0), np.take(invSqrt, dst, 0));
      const messages = np.multiply(np.take(h, src, 0), np.reshape(coef, [edges.shape[1], 1]));
      const selfLoops = np.multiply(h, np.reshape(np.square(invSqrt), [n, 1]));
      const out = np.add(np.segmentSum(messages, dst, n), selfLoops);
      return [useBias ? np.add(out, params.bias!) : out, state];
    },
  });
}
