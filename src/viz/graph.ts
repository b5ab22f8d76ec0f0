// The drawing model behind tinyflow/viz: nodes of a few kinds (inputs,
// constants, literals, variables, operations, outputs, effect-only ops),
// data edges and control edges, nested clusters; the summary that collapses
// a graph too large to draw into one node per operation type; and the
// Graphviz DOT text of a model. The sources (jaxprs, lowered programs, TF1
// graphs, eager tapes) are turned into this model in their own files.

/** What a node stands for; each kind has its own shape and colour in the picture. */
export type NodeKind = "input" | "const" | "literal" | "variable" | "op" | "output" | "effect";

export interface VizNode {
  readonly id: string;
  readonly kind: NodeKind;
  /** Lines of the label. */
  readonly label: string[];
  /** The bucket the summary counts this node in: the primitive or op type for operations. */
  readonly summaryKey: string;
}

export interface VizEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  /** A dependency on an effect, not on a value (TF1 control inputs). */
  readonly control?: boolean;
}

/** How a cluster is drawn: the inner jaxpr of a control-flow primitive, a fused kernel, or a stage of a pipeline. */
export type ClusterStyle = "inner" | "kernel" | "stage";

export interface VizContainer {
  readonly nodes: string[];
  readonly clusters: VizCluster[];
}

export interface VizCluster extends VizContainer {
  readonly label: string;
  readonly style: ClusterStyle;
}

export interface VizGraph {
  readonly nodes: VizNode[];
  readonly edges: VizEdge[];
  readonly top: VizContainer;
}

/** Builds a VizGraph: nodes go into the current container; `cluster` opens a nested one. */
export class GraphBuilder {
  readonly nodes: VizNode[] = [];
  readonly edges: VizEdge[] = [];
  readonly top: VizContainer = { nodes: [], clusters: [] };
  private readonly stack: VizContainer[] = [this.top];

  get current(): VizContainer {
    return this.stack[this.stack.length - 1];
  }

  node(kind: NodeKind, label: string[], summaryKey: string, into: VizContainer = this.current): string {
    const id = `n${this.nodes.length}`;
    this.nodes.push({ id, kind, label, summaryKey });
    into.nodes.push(id);
    return id;
  }

  edge(from: string, to: string, label?: string, control = false): void {
    this.edges.push(control ? { from, to, label, control } : label === undefined ? { from, to } : { from, to, label });
  }

  /** A new empty cluster inside `parent` (the current container by default), not entered. */
  newCluster(label: string, style: ClusterStyle, parent: VizContainer = this.current): VizCluster {
    const c: VizCluster = { label, style, nodes: [], clusters: [] };
    parent.clusters.push(c);
    return c;
  }

  /** Run `fill` with a new cluster as the current container. */
  cluster<T>(label: string, style: ClusterStyle, fill: (c: VizCluster) => T): T {
    const c = this.newCluster(label, style);
    this.stack.push(c);
    try {
      return fill(c);
    } finally {
      this.stack.pop();
    }
  }

  build(): VizGraph {
    return { nodes: this.nodes, edges: this.edges, top: this.top };
  }
}

// --- summary -----------------------------------------------------------------------

const SUMMARY_KIND_NAMES: { [K in NodeKind]: string } = {
  input: "inputs",
  const: "constants",
  literal: "literals",
  variable: "variables",
  op: "",
  output: "outputs",
  effect: "",
};

/**
 * One node per (kind, summary key) with its count, one edge per pair of
 * buckets with the number of edges it stands for; clusters are dropped.
 */
export function summarize(g: VizGraph): VizGraph {
  const b = new GraphBuilder();
  const bucketOf = new Map<string, string>();
  const members = new Map<string, VizNode[]>();
  const keyOf = (n: VizNode) => `${n.kind}|${n.kind === "op" || n.kind === "effect" ? n.summaryKey : ""}`;
  for (const n of g.nodes) {
    const k = keyOf(n);
    const list = members.get(k) ?? [];
    list.push(n);
    members.set(k, list);
  }
  for (const [k, list] of members) {
    const first = list[0];
    const name = first.kind === "op" || first.kind === "effect" ? first.summaryKey : SUMMARY_KIND_NAMES[first.kind];
    bucketOf.set(k, b.node(first.kind, [`${name} ×${list.length}`], first.summaryKey));
  }
  const counts = new Map<string, { from: string; to: string; n: number; control: boolean }>();
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const e of g.edges) {
    const from = bucketOf.get(keyOf(byId.get(e.from)!))!;
    const to = bucketOf.get(keyOf(byId.get(e.to)!))!;
    const k = `${from}>${to}|${e.control === true}`;
    const c = counts.get(k) ?? { from, to, n: 0, control: e.control === true };
    c.n++;
    counts.set(k, c);
  }
  for (const c of counts.values()) b.edge(c.from, c.to, `×${c.n}`, c.control);
  return b.build();
}

// --- DOT ---------------------------------------------------------------------------

const NODE_STYLE: { [K in NodeKind]: string } = {
  input: 'shape=ellipse, style=filled, fillcolor="#cfe2ff", color="#3d6fb6"',
  const: 'shape=box, style=filled, fillcolor="#e9ecef", color="#6c757d"',
  literal: 'shape=plaintext, fontcolor="#6c757d"',
  variable: 'shape=cylinder, style=filled, fillcolor="#fff3cd", color="#b08900"',
  op: 'shape=box, style="rounded,filled", fillcolor="#ffffff", color="#333333"',
  output: 'shape=ellipse, style=filled, fillcolor="#d1e7dd", color="#2f7d4f", peripheries=2',
  effect: 'shape=box, style="rounded,dashed", color="#333333"',
};

const CLUSTER_STYLE: { [S in ClusterStyle]: string } = {
  inner: 'style="dashed,rounded"; color="#7a7a7a"',
  kernel: 'style="filled,rounded"; fillcolor="#fdf0e6"; color="#d9822b"',
  stage: 'style="rounded"; color="#adb5bd"',
};

/** A DOT double-quoted string; `\n` separates label lines (left as DOT's own line break). */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export interface DotLayout {
  title?: string;
  rankdir: "TB" | "LR";
}

/** The graph as Graphviz DOT text: every node declared inside the cluster it belongs to. */
export function graphToDot(g: VizGraph, layout: DotLayout): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const lines: string[] = ["digraph tinyflow {"];
  const graphAttrs = [`rankdir=${layout.rankdir}`, 'fontname="Helvetica"', "fontsize=11", "nodesep=0.3", "ranksep=0.35"];
  if (layout.title !== undefined) graphAttrs.push(`label=${dotString(layout.title)}`, "labelloc=t");
  lines.push(`  graph [${graphAttrs.join(", ")}];`);
  lines.push('  node [fontname="Helvetica", fontsize=10, margin="0.12,0.04", height=0.3];');
  lines.push('  edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.7];');
  let clusterId = 0;
  const writeContainer = (c: VizContainer, indent: string) => {
    for (const id of c.nodes) {
      const n = byId.get(id)!;
      lines.push(`${indent}${id} [label=${dotString(n.label.join("\n"))}, ${NODE_STYLE[n.kind]}];`);
    }
    for (const sub of c.clusters) {
      if (isEmpty(sub)) continue;
      lines.push(`${indent}subgraph cluster_${clusterId++} {`);
      lines.push(`${indent}  label=${dotString(sub.label)}; labeljust=l; fontsize=10; ${CLUSTER_STYLE[sub.style]};`);
      writeContainer(sub, indent + "  ");
      lines.push(`${indent}}`);
    }
  };
  writeContainer(g.top, "  ");
  for (const e of g.edges) {
    const attrs: string[] = [];
    if (e.label !== undefined) attrs.push(`label=${dotString(e.label)}`);
    if (e.control === true) attrs.push('style=dashed, color="#999999"');
    lines.push(`  ${e.from} -> ${e.to}${attrs.length > 0 ? ` [${attrs.join(", ")}]` : ""};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function isEmpty(c: VizContainer): boolean {
  return c.nodes.length === 0 && c.clusters.every(isEmpty);
}
