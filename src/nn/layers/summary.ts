// How a layer prints: `String(layer)` gives the layer tree (PyTorch-style,
// hyperparameters only) and `layer.summary(params?)` a table of the tree with
// each layer's parameter shapes and counts. Without params the shapes come
// from tracing `init` abstractly (no numbers are drawn).

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
  if (isTracer(x)) return { aval: x.aval.str(), size: x.shape.reduce((a, b) => a * b, 1) };
  if (Array.isArray(x)) return x.map(toInfo);
  if (x === null || x === undefined) return x;
  if (typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toInfo(v)]));
  throw new ArgumentError(`summary: params must be a pytree of arrays, found ${typeof x} ${String(x).slice(0, 40)}`);
}

/** The parameter shapes `init` would produce, found by tracing it (nothing is computed). */
function abstractParams(layer: AnyLayer): InfoTree {
  let captured: InfoTree = null;
  makeJaxpr((k: Tracer) => {
    captured = toInfo(layer.init(k).params);
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
  count: number;
}

function rows(layer: AnyLayer | LayerFunction, tree: InfoTree, label: string, depth: number, out: Row[]): void {
  const pad = "  ".repeat(depth);
  if (!isLayer(layer)) {
    out.push({ name: `${pad}${label}${childName(layer)}`, params: "", count: 0 });
    return;
  }
  const skip = new Set(layer.children.map(([k]) => k));
  const own = ownLeaves(tree, skip).map(([p, info]) => `${p} ${info.aval}`);
  out.push({ name: `${pad}${label}${layer.describe()}`, params: own.join(", "), count: countAll(tree) });
  for (const [k, c] of layer.children) rows(c, childParams(tree, k), `(${k}) `, depth + 1, out);
}

const fmtCount = (n: number): string => n.toLocaleString("en-US");

/** The summary table: one row per layer with its own parameter shapes and the count of its subtree. */
export function renderSummary(layer: AnyLayer, params?: unknown): string {
  const tree = params === undefined ? abstractParams(layer) : toInfo(params);
  const table: Row[] = [];
  rows(layer, tree, "", 0, table);
  const head: Row = { name: "layer", params: "parameters", count: -1 };
  const w0 = Math.max(head.name.length, ...table.map((r) => r.name.length));
  const w1 = Math.max(head.params.length, ...table.map((r) => r.params.length));
  const counts = table.map((r) => fmtCount(r.count));
  const w2 = Math.max(5, ...counts.map((c) => c.length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c.padStart(w2)}`.trimEnd();
  const total = countAll(tree);
  return [
    line(head.name, head.params, "count"),
    "-".repeat(w0 + w1 + w2 + 4),
    ...table.map((r, i) => line(r.name, r.params, counts[i])),
    "-".repeat(w0 + w1 + w2 + 4),
    `Total parameters: ${fmtCount(total)}`,
  ].join("\n");
}
