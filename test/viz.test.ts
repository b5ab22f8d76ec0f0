// Tests of tinyflow/viz: golden DOT text for `a * b + 3`, a cond and a scan
// (test/golden/viz_*.dot; UPDATE_GOLDEN=1 rewrites them after a deliberate
// change), SVG pictures that carry every node's label, a jitted program's
// kernels as clusters (checked against the wasm program's own description),
// the TF1 subgraph of a fetch, an eager tape, the summary of a graph too
// large to draw, the typed errors for bad input, and `npm run graph`.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ArgumentError, OptionsError, jit, lax, makeJaxpr, np, type Array } from "../src/index";
import * as tf from "../src/frontends/tf1";
import { tensor } from "../src/frontends/eager";
import { GraphTooLargeError, toDot, toPng, toSvg } from "../src/viz";

const golden = (name: string, text: string) => {
  const path = join(__dirname, "golden", name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, "utf8"));
};

/** Every label of a DOT text, split into its lines (how Graphviz writes them as SVG <text>). */
const labelLines = (dot: string): string[] =>
  [...dot.matchAll(/\[label="((?:[^"\\]|\\.)*)"/g)].flatMap((m) => m[1].replace(/\\"/g, '"').split("\\n"));

const svgText = (svg: string): string => svg.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#45;/g, "-").replace(/&amp;/g, "&");

const mulAdd = () => makeJaxpr((a: Array, b: Array) => a.mul(b).add(3))(np.array(2), np.array(5));
const condProgram = () => makeJaxpr((p: Array, x: Array) => lax.cond(p, (y: Array) => np.sin(y), (y: Array) => y.mul(2), x))(np.array(true), np.ones([3]));
const scanProgram = () => makeJaxpr((xs: Array) => lax.scan((c: Array, x: Array) => [c.add(x), c.mul(x)], np.zeros([2]), xs))(np.ones([5, 2]));

describe("toDot of jaxprs (golden text)", () => {
  it("a * b + 3: two inputs, mul, a literal 3, add, one output", () => {
    const dot = toDot(mulAdd());
    golden("viz_mul_add.dot", dot);
    expect(dot).toContain('label="mul\\nf32[]", shape=box');
    expect(dot).toContain('label="3.0:f32[]", shape=plaintext');
  });
  it("a cond: each branch is a nested cluster next to the cond node", () => {
    const dot = toDot(condProgram());
    golden("viz_cond.dot", dot);
    expect(dot.match(/subgraph cluster_/g)).toHaveLength(3);
    expect(dot).toContain('label="branch 0"');
    expect(dot).toContain('label="branch 1"');
  });
  it("a scan: its body is a nested cluster; outputs are numbered", () => {
    const dot = toDot(scanProgram());
    golden("viz_scan.dot", dot);
    expect(dot).toContain('label="body"');
    expect(dot).toContain('label="out 1: f32[5,2]"');
  });
  it("params: true shows the equations' parameters", () => {
    const dot = toDot(scanProgram(), { params: true, rankdir: "LR", title: "a scan" });
    expect(dot).toContain("scan[numConsts=0 numCarry=1 length=5 reverse=false linear=[false,false]]");
    expect(dot).toContain("rankdir=LR");
    expect(dot).toContain('label="a scan"');
  });
});

describe("toSvg / toPng", () => {
  it("the SVG contains every node's label, for jaxprs with and without nested clusters", async () => {
    for (const j of [mulAdd(), condProgram(), scanProgram()]) {
      const dot = toDot(j);
      const text = svgText(await toSvg(j));
      expect(text.startsWith("<?xml") || text.startsWith("<svg") || text.includes("<svg")).toBe(true);
      for (const line of labelLines(dot)) expect(text).toContain(`>${line}</text>`);
    }
  });
  it("toPng gives PNG bytes of the requested width", async () => {
    const png = await toPng(mulAdd(), { width: 300 });
    expect([...png.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const width = new DataView(png.buffer, png.byteOffset).getUint32(16);
    expect(width).toBe(300);
  });
});

describe("a jitted program before and after the IR passes", () => {
  it("the kernels of the compiled program are clusters holding the equations they compute", () => {
    const f = (x: Array, w: Array) => np.tanh(np.dot(x, w).add(1)).sum();
    const lowered = jit(f).lower(np.ones([4, 3]), np.ones([3, 2]));
    const groups = lowered.fusionGroups();
    expect(groups).not.toBeNull();
    const eqns = lowered.optimized.jaxpr.eqns;
    // Each equation is in some kernel, and each kernel's equations are the ones it computes:
    // tanh and the sum fuse into one reduction kernel.
    const prims = groups!.map((g) => g.eqns.map((i) => eqns[i].primitive));
    expect(prims.flat().sort()).toEqual(eqns.map((e) => e.primitive).sort());
    expect(prims.find((p) => p.includes("reduce_sum"))).toEqual(["tanh", "reduce_sum"]);
    expect(groups!.length).toBe(lowered.text().split("# program on")[1].match(/^ {2}\d+: /gm)!.length);
    const dot = toDot(lowered);
    expect(dot).toContain('label="traced jaxpr"');
    expect(dot).toContain(`label="after IR passes: ${groups!.length} kernels"`);
    const kernelCluster = dot.split("subgraph").find((s) => s.includes("reduce_sum") && s.includes("kernel"))!;
    expect(kernelCluster).toContain('label="tanh\\nf32[4,2]"');
  });
  it("a narrow GEMM computed transposed (a view of its output) owns the dot and its folded bias add", () => {
    const lowered = jit((x: Array, w: Array, b: Array) => np.exp(np.dot(x, w).add(b))).lower(np.ones([100, 784]), np.ones([784, 10]), np.ones([10]));
    const groups = lowered.fusionGroups()!;
    const eqns = lowered.optimized.jaxpr.eqns;
    const gemm = groups.find((g) => g.label.includes("sgemm"))!;
    expect(gemm.eqns.map((i) => eqns[i].primitive)).toEqual(expect.arrayContaining(["dot_general", "add"]));
  });
  it("an elementwise value two kernels recompute sits in the first and names the other", () => {
    // e = exp(x) feeds a sum and a max: two reductions, each recomputing e rather than storing it.
    const lowered = jit((x: Array) => [np.sum(np.exp(x), 1), np.max(np.exp(x), 0)]).lower(np.ones([4, 8]));
    const groups = lowered.fusionGroups()!;
    const exps = lowered.optimized.jaxpr.eqns.flatMap((e, i) => (e.primitive === "exp" ? [i] : []));
    const inGroups = exps.map((i) => groups.filter((g) => g.eqns.includes(i)).length);
    expect(inGroups.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    if (inGroups.some((n) => n > 1)) expect(toDot(lowered)).toMatch(/\(recomputed in kernels? \d/);
  });
});

describe("the front ends' graphs", () => {
  it("TF1: the subgraph a fetch needs, with placeholders, variables and the fetch distinct", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 3], "x");
    const W = tf.Variable(tf.zeros([3, 2]), { name: "W" });
    const y = tf.nn.softmax(tf.matmul(x, W));
    tf.exp(x, "unused");
    const dot = toDot(y);
    expect(dot).toMatch(/label="x \(Placeholder\)\\nf32\[\?,3\]", shape=ellipse/);
    expect(dot).toMatch(/label="W \(VariableV2\)\\nf32\[3,2\]", shape=cylinder/);
    expect(dot).toContain('label="MatMul\\nf32[?,2]"');
    expect(dot).toContain('label="fetch Softmax:0\\nf32[?,2]"');
    expect(dot).not.toContain("unused");
  });
  it("TF1: an effect-only operation and its control inputs are dashed", () => {
    tf.reset_default_graph();
    const W = tf.Variable(tf.ones([2]), { name: "W" });
    const dot = toDot(tf.global_variables_initializer());
    expect(dot).toMatch(/label="init\\nNoOp", shape=box, style="rounded,dashed"|label="init\\n\w+", shape=box, style="rounded,dashed"/);
    expect(dot).toContain("style=dashed");
    expect(dot).toMatch(/n1 -> n\d+ \[label="writes", style=dashed/);
    expect(dot).toContain('W (VariableV2)');
    void W;
  });
  it("eager: the tape from the loss to the leaves, named by `names`", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const x = tensor([3, 4]);
    const loss = w.mul(x).sum();
    const dot = toDot(loss, { names: { w, loss } });
    expect(dot).toMatch(/label="w\\nf32\[2\]", shape=cylinder/);
    expect(dot).toContain('label="mulBackward\\nf32[2]"');
    expect(dot).toContain('label="loss = sumBackward\\nf32[]"');
    expect(dot).toMatch(/label="loss\\nf32\[\]", shape=ellipse/);
  });
  it("eager: a tensor with no tape is an error that says how to get one", () => {
    expect(() => toDot(tensor([1, 2]))).toThrow(ArgumentError);
    expect(() => toDot(tensor([1, 2]))).toThrow(/requiresGrad: true/);
  });
});

describe("large graphs and bad input", () => {
  const chain = (n: number) =>
    makeJaxpr((x: Array) => {
      let y = x;
      for (let i = 0; i < n; i++) y = i % 2 === 0 ? np.sin(y) : np.cos(y);
      return y;
    })(np.ones([3]));
  it("a graph past maxNodes is a GraphTooLargeError offering the summary", () => {
    const j = chain(500);
    expect(() => toDot(j)).toThrow(GraphTooLargeError);
    expect(() => toDot(j)).toThrow(/502 nodes, more than maxNodes \(400\).*\{ summary: true \}/);
    expect(toDot(j, { maxNodes: 600 })).toContain("n501");
  });
  it("the summary draws one node per operation type with counts", () => {
    const dot = toDot(chain(500), { summary: true });
    expect(dot).toContain('label="sin ×250"');
    expect(dot).toContain('label="cos ×250"');
    expect(dot).toContain('label="inputs ×1"');
    expect(dot).toContain('n1 -> n2 [label="×250"]');
    expect(dot).toContain('n2 -> n1 [label="×249"]');
  });
  it("bad options and sources are typed errors naming what is accepted", async () => {
    expect(() => toDot(mulAdd(), { rankdir: "BT" as never })).toThrow(OptionsError);
    expect(() => toDot(mulAdd(), { maxNodes: 0 })).toThrow(/maxNodes must be a positive integer/);
    expect(() => toDot(mulAdd(), { names: { a: 3 } as never })).toThrow(/eager Tensors/);
    expect(() => toDot(np.ones([2]) as never)).toThrow(ArgumentError);
    expect(() => toDot([] as never)).toThrow(/pass a jaxpr \(makeJaxpr/);
    await expect(toPng(mulAdd(), { width: -1 })).rejects.toThrow(OptionsError);
  });
});

describe("npm run graph", () => {
  const run = (...args: string[]) => execFileSync(process.execPath, ["--import", "tsx", "scripts/graph.ts", ...args], { cwd: join(__dirname, ".."), encoding: "utf8", stdio: "pipe" });
  it("draws an example's exported step to the file asked for", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinyflow-graph-"));
    const out = join(dir, "step.dot");
    expect(run("examples/computational_graph.ts", "--out", out)).toContain(`wrote ${out}`);
    expect(readFileSync(out, "utf8")).toBe(toDot(mulAdd()));
  });
  it("an example without a step is an error saying what to export", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinyflow-graph-"));
    writeFileSync(join(dir, "no_step.ts"), "export const model = 1;\n");
    expect(() => run(join(dir, "no_step.ts"), "--out", join(dir, "never.dot"))).toThrow(/exports no `step`/);
  });
});
