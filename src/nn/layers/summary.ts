// How a layer prints: `String(layer)` gives the layer tree (PyTorch-style,
// hyperparameters only) and `layer.summary(params?, state?)` a table of the
// tree with each layer's parameter shapes and counts and, for models that keep
// state (BatchNorm's running statistics), the state's shapes and counts beside
// them. What is not given comes from tracing `init` abstractly (no numbers are
// drawn).

import { makeJaxpr } from "../../../transforms";
import * as random from "../../random";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { isLayer, type AnyLayer, type LayerFunction } from "./protocol";

/** One parameter array as the summary sees it. */
interface ParamInfo {
  readonly aval: string;
  readonly size: number;
}

type InfoTree = ParamInfo | InfoTree[] | { [key: string]: InfoTree } | null | undefined;

function isInfo(x: unknown): x is ParamInfo {
  return typeof x === "object" && x !== null && "aval" in x && "size" in x;
}

function toInfo(x: unknown): InfoTree {
  if (isTracer(x)) return { aval: x.aval.str(), size: x.size };
  if (Array.isArray(x)) return x.map(toInfo);
  if (x === null || x === undefined) return x;
  if (typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toInfo(v)]));
  throw new ArgumentError(`summary: params must be a pytree of arrays, found ${typeof x} ${String(x).slice(0, 40)}`);
}

/** The parameter and state shapes `init` would produce, found by tracing it (nothing is computed). */
function abstractInit(layer: AnyLayer): { params: InfoTree; state: InfoTree } {
  let captured: { params: InfoTree; state: InfoTree } = { params: null, state: null };
  makeJaxpr((k: Tracer) => {
    const { params, state } = layer.init(k);
    captured = { params: toInfo(params), state: toInfo(state) };
    return k;
  })(random.key(0));
  return captured;
}

const childName = (c: AnyLayer | LayerFunction): string => (isLayer(c) ? c.describe() : c.name || "function");

/** The layer tree without parameters, as String(layer) prints it. */
export function renderStructure(layer: AnyLayer, indent = ""): string {
  if (layer.children.length === 0) return layer.describe();
  const inner = layer.children.map(([k, c]) => `${indent}  (${k}) ${isLayer(c) ? renderStructure(c, `${indent}  `) : childName(c)}`);
  return `${layer.describe()}(\n${inner.join("\n")}\n${indent})`;
}

/** [path, info] of every array under `tree`, skipping the keys owned by children. */
function ownLeaves(tree: InfoTree, skip: ReadonlySet<string>, prefix = ""): [string, ParamInfo][] {
  if (tree === null || tree === undefined) return [];
  if (isInfo(tree)) return [[prefix || "param", tree]];
  const entries: [string, InfoTree][] = Array.isArray(tree) ? tree.map((v, i) => [String(i), v]) : Object.entries(tree);
  return entries.filter(([k]) => prefix !== "" || !skip.has(k)).flatMap(([k, v]) => ownLeaves(v, new Set(), prefix ? `${prefix}.${k}` : k));
}

function countAll(tree: InfoTree): number {
  if (tree === null || tree === undefined) return 0;
  if (isInfo(tree)) return tree.size;
  return (Array.isArray(tree) ? tree : Object.values(tree)).reduce((n: number, v) => n + countAll(v), 0);
}

function childParams(tree: InfoTree, key: string): InfoTree {
  if (tree === null || tree === undefined || isInfo(tree)) return undefined;
  return Array.isArray(tree) ? tree[Number(key)] : tree[key];
}

interface Row {
  name: string;
  params: string;
  count: string;
  state: string;
  stateCount: string;
}

const fmtCount = (n: number): string => n.toLocaleString("en-US");
const describeOwn = (tree: InfoTree, skip: ReadonlySet<string>): string =>
  ownLeaves(tree, skip)
    .map(([p, info]) => `${p} ${info.aval}`)
    .join(", ");

function rows(layer: AnyLayer | LayerFunction, params: InfoTree, state: InfoTree, label: string, depth: number, out: Row[]): void {
  const name = `${"  ".repeat(depth)}${label}${isLayer(layer) ? layer.describe() : childName(layer)}`;
  if (!isLayer(layer)) {
    out.push({ name, params: "", count: "0", state: "", stateCount: "" });
    return;
  }
  const skip = new Set(layer.children.map(([k]) => k));
  const stateCount = countAll(state);
  out.push({ name, params: describeOwn(params, skip), count: fmtCount(countAll(params)), state: describeOwn(state, skip), stateCount: stateCount > 0 ? fmtCount(stateCount) : "" });
  for (const [k, c] of layer.children) rows(c, childParams(params, k), childParams(state, k), `(${k}) `, depth + 1, out);
}

/**
 * The summary table: one row per layer with its own parameter shapes and the
 * parameter count of its subtree; when the model keeps state, two more
 * columns give each layer's own state shapes and its subtree's state count.
 */
export function renderSummary(layer: AnyLayer, params?: unknown, state?: unknown): string {
  const traced = params === undefined || state === undefined ? abstractInit(layer) : undefined;
  const paramTree = params === undefined ? traced!.params : toInfo(params);
  const stateTree = state === undefined ? traced!.state : toInfo(state);
  const totalState = countAll(stateTree);
  const withState = totalState > 0;
  const table: Row[] = [];
  rows(layer, paramTree, stateTree, "", 0, table);
  const head: Row = { name: "layer", params: "parameters", count: "count", state: "state", stateCount: "count" };
  const columns: (keyof Row)[] = withState ? ["name", "params", "count", "state", "stateCount"] : ["name", "params", "count"];
  const rightAligned = new Set<keyof Row>(["count", "stateCount"]);
  const widths = columns.map((c) => Math.max(c === "count" || c === "stateCount" ? 5 : 0, ...[head, ...table].map((r) => r[c].length)));
  const line = (r: Row) => columns.map((c, i) => (rightAligned.has(c) ? r[c].padStart(widths[i]) : r[c].padEnd(widths[i]))).join("  ").trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1));
  const totals = [`Total parameters: ${fmtCount(countAll(paramTree))}`];
  if (withState) totals.push(`Total state: ${fmtCount(totalState)} (not trained; updated in train mode, e.g. running statistics)`);
  return [line(head), rule, ...table.map(line), rule, ...totals].join("\n");
}
