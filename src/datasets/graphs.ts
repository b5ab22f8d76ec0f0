// Labelled graphs for node classification with message-passing networks:
// Zachary's karate club (34 members, the two clubs it split into; from the
// optional npm packages `graphology` + `graphology-generators`) and the Les
// Misérables co-occurrence network (77 characters in 11 communities; from the
// optional npm package `vega-datasets`). Each comes as an int32 edge list in
// both directions ([2, E], the shape nn.GCNConv and segmentSum take), integer
// labels, identity node features (the featureless setting of Kipf & Welling)
// and a stratified train/validation/test split of the nodes drawn by a PRNG key.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Array as TfArray } from "../core/array";
import { ArgumentError } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import type { Tracer } from "../core/trace";
import { key as prngKey, permutation, split as splitKey } from "../random";
import { resolvePackageDir, type DatasetInfo } from "./provenance";

/** Node indices of each part of a node split. */
export interface NodeSplit {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

export interface GraphDataset {
  info: DatasetInfo;
  numNodes: number;
  numClasses: number;
  nodeNames: readonly string[];
  classNames: readonly string[];
  /** Each undirected edge once, as [source, target] pairs (for drawing). */
  undirectedEdges: ReadonlyArray<readonly [number, number]>;
  /** int32 [2, E]: every edge in both directions (row 0 sources, row 1 targets), no self-loops. */
  edges: TfArray;
  /** int32 [numNodes]. */
  labels: TfArray;
  /** The labels on the host. */
  labelIds: Int32Array;
  /** float32 [numNodes, numNodes]: the identity (one-hot node ids). */
  features: TfArray;
  split: NodeSplit;
}

export interface GraphSplitOptions {
  /** The key of the node split (default random.key(0)). */
  key?: Tracer;
  /** Fraction of each class's nodes used for training, at least one per class (default 0.5). */
  trainFraction?: number;
  /** Fraction of each class's nodes used for validation (default 0.2); the rest is the test set. */
  validationFraction?: number;
}

const splitRules: OptionRules<GraphSplitOptions> = { key: opt.arrayLike, trainFraction: opt.number, validationFraction: opt.number };

/**
 * A stratified split of nodes by label, drawn by `key`: each class's nodes in
 * the order of a permutation, the first `max(1, round(trainFraction * n))` for
 * training, the next `round(validationFraction * n)` for validation, the rest for test.
 */
export function splitNodes(where: string, labels: Int32Array, numClasses: number, options: GraphSplitOptions = {}): NodeSplit {
  const opts = checkOptions(where, options, splitRules);
  const trainFraction = opts.trainFraction ?? 0.5;
  const validationFraction = opts.validationFraction ?? 0.2;
  if (!(trainFraction > 0 && validationFraction >= 0 && trainFraction + validationFraction <= 1)) {
    throw new ArgumentError(`${where}: trainFraction (${trainFraction}) must be > 0, validationFraction (${validationFraction}) >= 0, and their sum at most 1`);
  }
  const classKeys = splitKey(opts.key ?? prngKey(0), numClasses);
  const parts = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  for (let c = 0; c < numClasses; c++) {
    const members: number[] = [];
    labels.forEach((l, i) => l === c && members.push(i));
    if (members.length === 0) continue;
    const order = permutation(classKeys.slice([c, c + 1]).reshape([2]), members.length).dataSync() as Int32Array;
    const nTrain = Math.max(1, Math.round(trainFraction * members.length));
    const nVal = Math.min(members.length - nTrain, Math.round(validationFraction * members.length));
    order.forEach((o, rank) => (rank < nTrain ? parts.train : rank < nTrain + nVal ? parts.validation : parts.test).push(members[o]));
  }
  const sorted = (a: number[]) => Int32Array.from(a.sort((x, y) => x - y));
  return { train: sorted(parts.train), validation: sorted(parts.validation), test: sorted(parts.test) };
}

/** Builds a GraphDataset from an undirected edge list (self-loops and duplicates removed). */
export function graphDataset(
  where: string,
  info: DatasetInfo,
  nodeNames: string[],
  classNames: string[],
  labelIds: Int32Array,
  undirected: Array<[number, number]>,
  splitOptions?: GraphSplitOptions,
): GraphDataset {
  const n = nodeNames.length;
  const seen = new Set<string>();
  const unique: Array<[number, number]> = [];
  for (const [a, b] of undirected) {
    if (a === b) continue;
    if (!(a >= 0 && a < n && b >= 0 && b < n)) throw new ArgumentError(`${where}: edge [${a}, ${b}] names a node outside 0..${n - 1}`);
    const id = a < b ? `${a},${b}` : `${b},${a}`;
    if (seen.has(id)) continue;
    seen.add(id);
    unique.push([a, b]);
  }
  const e = unique.length;
  // Row 0 (sources) is [a..., b...], row 1 (targets) [b..., a...]: each edge in both directions.
  const both = new Int32Array(4 * e);
  unique.forEach(([a, b], i) => {
    both[i] = a;
    both[e + i] = b;
    both[2 * e + i] = b;
    both[3 * e + i] = a;
  });
  const identity = new Float32Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  return {
    info,
    numNodes: n,
    numClasses: classNames.length,
    nodeNames,
    classNames,
    undirectedEdges: unique,
    edges: TfArray.fromTyped(both, [2, 2 * e], "int32"),
    labels: TfArray.fromTyped(labelIds, [n], "int32"),
    labelIds,
    features: TfArray.fromTyped(identity, [n, n], "float32"),
    split: splitNodes(where, labelIds, classNames.length, splitOptions),
  };
}

interface GraphologyLike {
  order: number;
  forEachNode(cb: (node: string, attrs: Record<string, unknown>) => void): void;
  forEachEdge(cb: (edge: string, attrs: unknown, source: string, target: string) => void): void;
}

/**
 * Zachary's karate club (1977): 34 members and 78 friendships; the label is the
 * club each member joined after the split ("Mr. Hi" 0, "Officer" 1). Read
 * through the optional npm packages `graphology-generators` and `graphology`.
 */
export function getKarateClub(splitOptions?: GraphSplitOptions): GraphDataset {
  const where = "getKarateClub";
  const generatorsDir = resolvePackageDir(where, "graphology-generators", "the karate club graph");
  const graphologyDir = resolvePackageDir(where, "graphology", "the karate club graph (built with graphology-generators)");
  const require = createRequire(import.meta.url);
  const karateClub = require(join(generatorsDir, "social", "karate-club.js")) as (graphClass: unknown) => GraphologyLike;
  const { UndirectedGraph } = require(graphologyDir) as { UndirectedGraph: unknown };
  const graph = karateClub(UndirectedGraph);
  const classNames = ["Mr. Hi", "Officer"];
  const names: string[] = [];
  const labels = new Int32Array(graph.order);
  graph.forEachNode((node, attrs) => {
    const i = Number(node);
    names[i] = `member ${i}`;
    labels[i] = classNames.indexOf(String(attrs.club));
  });
  const edges: Array<[number, number]> = [];
  graph.forEachEdge((_e, _a, s, t) => edges.push([Number(s), Number(t)]));
  return graphDataset(where, {
    name: "Zachary's karate club",
    source: "npm package graphology-generators (social/karate-club)",
    license: "MIT (package); the data are published facts from the paper",
    citation: "W. W. Zachary: An Information Flow Model for Conflict and Fission in Small Groups, J. Anthropological Research 33, 1977",
  }, names, classNames, labels, edges, splitOptions);
}

/**
 * The co-occurrence network of the characters of Victor Hugo's Les Misérables
 * (Knuth's Stanford GraphBase): 77 characters, 254 edges (two characters meet
 * in a chapter), labelled by the 11 communities ("group") of the optional npm
 * package `vega-datasets` (data/miserables.json).
 */
export function getMiserables(splitOptions?: GraphSplitOptions): GraphDataset {
  const where = "getMiserables";
  const dir = resolvePackageDir(where, "vega-datasets", "the Les Misérables graph");
  const raw = JSON.parse(readFileSync(join(dir, "data", "miserables.json"), "utf8")) as {
    nodes: { name: string; group: number }[];
    links: { source: number; target: number }[];
  };
  const groups = [...new Set(raw.nodes.map((n) => n.group))].sort((a, b) => a - b);
  const labels = Int32Array.from(raw.nodes.map((n) => groups.indexOf(n.group)));
  return graphDataset(where, {
    name: "Les Misérables co-occurrences",
    source: "npm package vega-datasets (data/miserables.json)",
    license: "BSD-3-Clause (vega-datasets); data from the Stanford GraphBase, as distributed by M. Newman",
    citation: "D. E. Knuth: The Stanford GraphBase: A Platform for Combinatorial Computing, Addison-Wesley, 1993",
  }, raw.nodes.map((n) => n.name), groups.map((g) => `group ${g}`), labels, raw.links.map((l) => [l.source, l.target]), splitOptions);
}
