// tinyflow/viz: the computational graph made visible. One entry point takes
// any of tinyflow's graphs — a jaxpr, a jitted program before and after the
// IR passes (jit(f).lower(...)), the TF1 subgraph behind some fetches, the
// autograd tape behind eager tensors — and gives Graphviz DOT text, SVG or PNG.

/**
 * Draw tinyflow's graphs: `toDot`, `toSvg` and `toPng` for jaxprs, jitted programs with their fusion, TF1 graphs and eager tapes.
 *
 * @module tinyflow/viz
 */

import "../setup";
import { ArgumentError, TinyflowError } from "../core/errors";
import { ClosedJaxpr, Jaxpr } from "../core/ir";
import { checkOptions, describeValue, isPlainObject, opt, type OptionRules } from "../core/options";
import type { Lowered } from "../../transforms";
import { Operation, Tensor as TfTensor } from "../frontends/tf1/graph";
import { Tensor as EagerTensor } from "../frontends/eager";
import { eagerGraph, tf1Graph } from "./frontend_graphs";
import { graphToDot, summarize, type VizGraph } from "./graph";
import { jaxprGraph, loweredGraph } from "./jaxpr_graph";
import { dotToSvg, svgToPng } from "./render";

export { MissingDependencyError } from "../core/errors";

/** A graph too large to draw legibly; the message offers `{ summary: true }` and `maxNodes`. */
export class GraphTooLargeError extends TinyflowError {}

/**
 * What can be drawn: a jaxpr (`makeJaxpr(f)(...)`), a jitted program
 * (`jit(f).lower(...)`: traced, and after the IR passes with its kernels as
 * clusters), TF1 tensors or operations (the subgraph they need), or eager
 * tensors (their autograd tape).
 */
export type GraphSource = Jaxpr | ClosedJaxpr | Lowered | TfTensor | Operation | EagerTensor | readonly (TfTensor | Operation)[] | readonly EagerTensor[];

export interface DotOptions {
  /** A title above the picture. */
  title?: string;
  /** Layout direction: top to bottom (default) or left to right. */
  rankdir?: "TB" | "LR";
  /** Show the equations' parameters (`broadcast_in_dim[shape=(3,) …]`) in jaxpr nodes. */
  params?: boolean;
  /** Draw one node per operation type with its count instead of every node (for large graphs). */
  summary?: boolean;
  /** The most nodes drawn one by one (default 400); a larger graph is a GraphTooLargeError unless `summary`. */
  maxNodes?: number;
  /** Labels for eager tensors: `{ W: model.weight, loss }`. */
  names?: Record<string, EagerTensor>;
}

export interface PngOptions extends DotOptions {
  /** Width of the PNG in pixels (the height follows); default: the picture's natural size times `scale`. */
  width?: number;
  /** Zoom factor when no width is given (default 2, for sharp text on high-density screens). */
  scale?: number;
  /** Background colour (CSS), default white. */
  background?: string;
}

const dotRules: OptionRules<DotOptions> = {
  title: opt.string,
  rankdir: opt.oneOf("TB", "LR"),
  params: opt.boolean,
  summary: opt.boolean,
  maxNodes: opt.positiveInteger,
  names: {
    expected: "an object mapping labels to eager Tensors",
    accepts: (v) => isPlainObject(v) && Object.values(v).every((t) => t instanceof EagerTensor),
  },
};
const pngRules: OptionRules<PngOptions> = {
  ...dotRules,
  width: opt.positiveInteger,
  scale: { expected: "a positive number", accepts: (v) => typeof v === "number" && v > 0 && Number.isFinite(v) },
  background: opt.string,
};

const DEFAULT_MAX_NODES = 400;

function isLowered(x: unknown): x is Lowered {
  if (typeof x !== "object" || x === null) return false;
  const l = x as Partial<Lowered>;
  return l.jaxpr instanceof ClosedJaxpr && l.optimized instanceof ClosedJaxpr && typeof l.fusionGroups === "function";
}

function modelOf(where: string, source: GraphSource, opts: DotOptions): VizGraph {
  const jaxprOpts = { params: opts.params ?? false };
  if (source instanceof Jaxpr || source instanceof ClosedJaxpr) return jaxprGraph(source, jaxprOpts);
  if (isLowered(source)) return loweredGraph(source, jaxprOpts);
  const list: readonly unknown[] = Array.isArray(source) ? source : [source];
  if (list.length > 0 && list.every((x) => x instanceof TfTensor || x instanceof Operation)) return tf1Graph(list as (TfTensor | Operation)[]);
  if (list.length > 0 && list.every((x) => x instanceof EagerTensor)) {
    const names = new Map(Object.entries(opts.names ?? {}).map(([k, t]) => [t, k]));
    return eagerGraph(list as EagerTensor[], names);
  }
  throw new ArgumentError(
    `${where}: cannot draw ${describeValue(source)}; pass a jaxpr (makeJaxpr(f)(...args)), a jitted program (jit(f).lower(...args)), ` +
      "TF1 tensors/operations (one or a list), or eager tensors (one or a list)",
  );
}

function dotFor(where: string, source: GraphSource, opts: DotOptions): string {
  let model = modelOf(where, source, opts);
  const max = opts.maxNodes ?? DEFAULT_MAX_NODES;
  if (opts.summary === true) model = summarize(model);
  else if (model.nodes.length > max) {
    const kinds = new Set(model.nodes.map((n) => n.summaryKey)).size;
    throw new GraphTooLargeError(
      `${where}: the graph has ${model.nodes.length} nodes, more than maxNodes (${max}) can draw legibly; ` +
        `pass { summary: true } to draw one node per operation type (${kinds} nodes, with counts), or raise { maxNodes: ${model.nodes.length} }`,
    );
  }
  return graphToDot(model, { title: opts.title, rankdir: opts.rankdir ?? "TB" });
}

/**
 * The Graphviz DOT text of a graph. Operations show their primitive (or op
 * type) and output type; inputs, constants, literals, variables and outputs
 * each have their own shape and colour; inner jaxprs of control flow are
 * nested clusters, and a jitted program's kernels are clusters too.
 */
export function toDot(source: GraphSource, opts: DotOptions = {}): string {
  checkOptions("toDot", opts, dotRules);
  return dotFor("toDot", source, opts);
}

/** The graph as an SVG picture (Graphviz via the optional package `@viz-js/viz`, in Node and browsers). */
export async function toSvg(source: GraphSource, opts: DotOptions = {}): Promise<string> {
  checkOptions("toSvg", opts, dotRules);
  return dotToSvg(dotFor("toSvg", source, opts), "toSvg");
}

/** The graph as PNG bytes (also needs the optional package `@resvg/resvg-js`; Node only). */
export async function toPng(source: GraphSource, opts: PngOptions = {}): Promise<Uint8Array> {
  checkOptions("toPng", opts, pngRules);
  const { width, scale, background, ...dotOpts } = opts;
  const svg = await dotToSvg(dotFor("toPng", source, dotOpts), "toPng");
  return svgToPng(svg, "toPng", { width, scale: scale ?? 2, background: background ?? "white" });
}
