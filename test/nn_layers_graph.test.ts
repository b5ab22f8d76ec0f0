// Tests of GCNConv: message passing against the dense normalised-adjacency
// formula D^-1/2 (A + I) D^-1/2 X W + b, on an undirected graph and a
// directed one, gradients (jit(grad) = grad, on wasm kernels) and errors.

import { describe, expect, it } from "vitest";
import { np, random, grad, jit, type Array } from "../src/index";
import * as nn from "../src/nn";
import { ArgumentError, DTypeError, ShapeError } from "../src/core";
import { expectAllclose } from "../src/testing";

const key = (seed: number) => random.key(seed);

/** D^-1/2 (A + I) D^-1/2 with A[d, s] = number of edges s → d and D the row sums of A + I. */
function normalisedAdjacency(edges: [number, number][], n: number): Array {
  const a: number[][] = globalThis.Array.from({ length: n }, (_, i) => globalThis.Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (const [s, d] of edges) a[d][s] += 1;
  const deg = a.map((row) => row.reduce((x, y) => x + y, 0));
  return np.array(a.map((row, i) => row.map((v, j) => v / Math.sqrt(deg[i] * deg[j]))));
}

const edgeArray = (edges: [number, number][]) => np.array([edges.map((e) => e[0]), edges.map((e) => e[1])], { dtype: "int32" });

describe("GCNConv", () => {
  const n = 6;
  const undirected: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 0], [3, 4], [1, 4]].flatMap(([a, b]) => [[a, b], [b, a]] as [number, number][]);
  const gcn = nn.GCNConv(3, 2, { biasInit: nn.initializers.normal({ stddev: 1 }) });
  const params = gcn.init(key(0)).params;
  const x = random.normal(key(1), [n, 3]);

  it("equals the dense symmetric normalisation with self-loops (node 5 is isolated: only its self-loop)", () => {
    const y = gcn.apply(params, x, { edges: edgeArray(undirected) });
    const ref = np.add(np.matmul(normalisedAdjacency(undirected, n), np.matmul(x, params.weight)), params.bias!);
    expect(y.shape).toEqual([n, 2]);
    expectAllclose(y, ref, { atol: 1e-5 });
    expectAllclose(y.slice(5), np.add(np.matmul(x.slice(5), params.weight), params.bias!), { atol: 1e-5 });
  });

  it("on a directed edge list normalises by in-degree + 1 (PyG's convention) and counts repeated edges", () => {
    const directed: [number, number][] = [[0, 1], [0, 2], [2, 1], [3, 1], [3, 1]];
    const y = gcn.apply(params, x.slice([0, 4]), { edges: edgeArray(directed), numNodes: 4 });
    expectAllclose(y, np.add(np.matmul(normalisedAdjacency(directed, 4), np.matmul(x.slice([0, 4]), params.weight)), params.bias!), { atol: 1e-5 });
  });

  it("a two-layer GCN's jit(grad) equals grad and compiles to wasm kernels", () => {
    const l2 = nn.GCNConv(2, 4);
    const p = { a: params, b: l2.init(key(2)).params };
    const edges = edgeArray(undirected);
    const labels = np.array([0, 1, 2, 3, 0, 1], { dtype: "int32" });
    const loss = (q: typeof p, e: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(l2.apply(q.b, nn.relu(gcn.apply(q.a, x, { edges: e })), { edges: e }), labels));
    expectAllclose(jit(grad(loss))(p, edges), grad(loss)(p, edges), { atol: 1e-5, rtol: 1e-4 });
    expect(jit(grad(loss)).lower(p, edges).text().split("\n").filter((l) => l.includes("HOST FALLBACK"))).toEqual([]);
  });

  it("names the layer on wrong features, edges and ids", () => {
    const edges = edgeArray(undirected);
    expect(() => gcn.apply(params, np.zeros([n, 4]), { edges })).toThrow("GCNConv(3→2) expects inputs [numNodes, 3], got [6, 4]");
    expect(() => gcn.apply(params, x)).toThrow("pass the graph as apply(params, x, { edges })");
    expect(() => gcn.apply(params, x, { edges: np.array([[0, 1], [1, 0]]) })).toThrow(DTypeError);
    expect(() => gcn.apply(params, x, { edges: np.array([[0, 1, 2]], { dtype: "int32" }) })).toThrow(ShapeError);
    expect(() => gcn.apply(params, x, { edges: edgeArray([[0, 9]]) })).toThrow("edge 0 has node id 9, outside [0, 6)");
    expect(() => gcn.apply(params, x, { edges, numNodes: 7 })).toThrow(ShapeError);
    expect(() => nn.GCNConv(3, 0)).toThrow(ArgumentError);
  });
});
