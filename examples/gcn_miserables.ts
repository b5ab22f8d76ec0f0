// Notebook (percent format): run with `npm run example:gcn`; FAST=1 for the quick version.
// It writes examples/out/gcn_miserables.html.
import { np, nn, random, jit, valueAndGrad, optim, type Array } from "../src/index";
import { getMiserables } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { lineChart } from "./notebook/pictures";

const nb = new Notebook(import.meta.url, "A graph convolutional network on Les Misérables");

// %% [markdown]
// # Node classification with a graph convolutional network
//
// The characters of Victor Hugo's *Les Misérables* form a graph: two characters
// are linked when they appear in the same chapter. Each character belongs to one
// of 11 communities. We label half of each community's characters and ask a
// two-layer GCN (Kipf & Welling, 2017) to label the rest from the graph alone:
// the node features are just one-hot identities, so everything the model knows
// comes from message passing along the edges.

// %%
const graph = getMiserables();
nb.print(`${graph.info.name}: ${graph.numNodes} characters, ${graph.undirectedEdges.length} edges, ${graph.numClasses} communities`);
nb.print(`source: ${graph.info.source}; licence: ${graph.info.license}`);
nb.print(`split (stratified, random.key(0)): ${graph.split.train.length} train, ${graph.split.validation.length} validation, ${graph.split.test.length} test nodes`);

// %% [markdown]
// ## The graph convolution
//
// One `nn.GCNConv` layer computes `H' = D^-1/2 (A + I) D^-1/2 H W + b`: each node
// averages its neighbours' (and its own) features, weighted by `1/sqrt(deg(i) deg(j))`,
// after a linear map mixes the channels. With the edge list `[2, E]` (both
// directions of every edge) this is a gather of the source rows, a scale per edge
// and a `segmentSum` into the destination rows — message passing, which scales to
// sparse graphs where a dense adjacency matrix would not.

// %%
const hidden = 16;
const conv1 = nn.GCNConv(graph.numNodes, hidden);
const conv2 = nn.GCNConv(hidden, graph.numClasses);
const dropout = nn.Dropout(0.5);
const [k1, k2, dropoutKey] = random.split(random.key(42), 3);
let params = { conv1: conv1.init(k1).params, conv2: conv2.init(k2).params };
type Params = typeof params;
nb.print(conv1.summary(params.conv1));

/** Two GCN layers; returns the hidden embedding and the class logits of every node. */
const gcn = (p: Params, x: Array, opts: { train?: boolean; key?: Array } = {}): [Array, Array] => {
  const h = nn.relu(conv1.apply(p.conv1, x, { edges: graph.edges }));
  const dropped = dropout.apply({}, h, { train: opts.train ?? false, key: opts.key });
  return [h, conv2.apply(p.conv2, dropped, { edges: graph.edges })];
};

// %% [markdown]
// ## Training
//
// The loss is the cross-entropy on the labelled nodes only, plus an L2 penalty on
// the weights (`nn.l2Penalty` skips biases); dropout on the hidden layer draws its
// mask from a key that is split every step. The whole step is one `jit`.

// %%
const trainIdx = np.array(graph.split.train, { dtype: "int32" });
const lossFn = (p: Params, key: Array) => {
  const [, logits] = gcn(p, graph.features, { train: true, key });
  const ce = np.mean(nn.softmaxCrossEntropyWithIntegerLabels(np.take(logits, trainIdx, 0), np.take(graph.labels, trainIdx)));
  return ce.add(nn.l2Penalty(p).mul(5e-4));
};
const optimizer = optim.adam(0.01);
let optState = optimizer.init(params);
const step = jit(
  (p: Params, s: typeof optState, key: Array) => {
    const [value, grads] = valueAndGrad(lossFn)(p, key);
    const [updates, s2] = optimizer.update(grads, s, p);
    return [optim.applyUpdates(p, updates), s2, value] as const;
  },
  { donateArgnums: [0, 1] },
);
const accuracyOn = (logits: Array, nodes: Int32Array) => {
  const predicted = np.argmax(logits, -1).tolist() as number[];
  return nodes.reduce((n, i) => n + (predicted[i] === graph.labelIds[i] ? 1 : 0), 0) / nodes.length;
};

const steps = nb.fast ? 60 : 300;
const curve: { step: number; value: number; series: string }[] = [];
let key = dropoutKey;
for (let i = 0; i < steps; i++) {
  let stepKey, value;
  [key, stepKey] = random.split(key);
  [params, optState, value] = step(params, optState, stepKey);
  curve.push({ step: i, value: (await value.data())[0], series: "training loss" });
  if (i % 10 === 9) curve.push({ step: i, value: accuracyOn(gcn(params, graph.features)[1], graph.split.validation), series: "validation accuracy" });
}
const [embedding, logits] = gcn(params, graph.features);
const accuracy = { train: accuracyOn(logits, graph.split.train), validation: accuracyOn(logits, graph.split.validation), test: accuracyOn(logits, graph.split.test) };
nb.print(`after ${steps} steps: accuracy train ${(100 * accuracy.train).toFixed(0)}%, validation ${(100 * accuracy.validation).toFixed(0)}%, test ${(100 * accuracy.test).toFixed(0)}%`);
nb.metric("losses", curve.filter((c) => c.series === "training loss").map((c) => c.value));
nb.metric("accuracy", accuracy);
await nb.chart(lineChart("Training loss and validation accuracy", curve, "value"));

// %% [markdown]
// ## What the network learned
//
// The 16-dimensional hidden embedding of every character, projected on its two
// principal directions: communities form clusters, although only half of their
// members were labelled. Then the graph itself, laid out by Graphviz, each
// character coloured by the community the GCN predicts (a square marks a test node).

// %%
const centred = embedding.sub(np.mean(embedding, 0));
const covariance = np.matmul(centred.T, centred);
/** The top eigenvector of a symmetric matrix by power iteration (deflated by the ones found before). */
const topDirection = (c: Array, found: Array[]): Array => {
  let v = random.normal(random.key(found.length), [hidden]);
  for (let i = 0; i < 100; i++) {
    for (const u of found) v = v.sub(u.mul(np.sum(u.mul(v))));
    v = np.matmul(c, v);
    v = v.div(np.sqrt(np.sum(np.square(v))));
  }
  return v;
};
const pc1 = topDirection(covariance, []);
const pc2 = topDirection(covariance, [pc1]);
const projected = np.matmul(centred, np.stack([pc1, pc2], 1)).tolist() as number[][];
const predicted = np.argmax(logits, -1).tolist() as number[];
await nb.chart({
  title: "Hidden GCN embedding (first two principal components)",
  width: 520,
  height: 380,
  data: { values: projected.map(([x, y], i) => ({ x, y, community: graph.classNames[graph.labelIds[i]], name: graph.nodeNames[i] })) },
  mark: { type: "point", filled: true, size: 70 },
  encoding: {
    x: { field: "x", type: "quantitative", title: "PC 1" },
    y: { field: "y", type: "quantitative", title: "PC 2" },
    color: { field: "community", type: "nominal", scale: { scheme: "category20" } },
  },
});
const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79"];
const testNodes = new Set(graph.split.test);
const dot = [
  "graph G { overlap=false; splines=false; node [style=filled, fontsize=9, width=0.25, height=0.25, fixedsize=false, fontname=Helvetica];",
  ...graph.nodeNames.map((name, i) => `  n${i} [label="${name}", fillcolor="${palette[predicted[i]]}", shape=${testNodes.has(i) ? "box" : "ellipse"}];`),
  ...graph.undirectedEdges.map(([a, b]) => `  n${a} -- n${b} [color="#00000030"];`),
  "}",
].join("\n");
await nb.graph(dot, "neato");

// %%
nb.save();
