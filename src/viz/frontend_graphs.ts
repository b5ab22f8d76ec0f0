// The two classic front ends as drawing models (graph.ts): the TF1 subgraph
// that some fetches need (placeholders, variables, constants, ops and
// effect-only operations with their control edges, as TensorBoard draws
// them), and the autograd tape behind eager tensors (what PyTorch's
// torchviz draws: one node per recorded op, named by its backward, down to
// the leaves that require grad).

import { DTYPE_SHORT } from "../core/dtype";
import { ArgumentError } from "../core/errors";
import { Operation, RefVariable, Tensor as TfTensor, topoSort } from "../frontends/tf1/graph";
import { Tensor as EagerTensor } from "../frontends/eager";
import { tapeOrder } from "../frontends/eager/backward";
import { GraphBuilder, type NodeKind, type VizGraph } from "./graph";

const tfType = (t: TfTensor): string => `${DTYPE_SHORT[t.dtype]}[${t.shape === null ? "…" : t.shape.map((d) => (d === null ? "?" : String(d))).join(",")}]`;

function tfKind(t: TfTensor): NodeKind {
  switch (t.opType) {
    case "Placeholder":
      return "input";
    case "VariableV2":
      return "variable";
    case "Const":
      return "const";
    default:
      return "op";
  }
}

/**
 * The subgraph the fetches need, inputs first; each fetched tensor also gets
 * an output node, and an assignment a dashed "writes" edge to its variable.
 */
export function tf1Graph(fetches: readonly (TfTensor | Operation)[]): VizGraph {
  const b = new GraphBuilder();
  const ids = new Map<TfTensor | Operation, string>();
  const tensorNode = (n: TfTensor): string => {
    const head = n.opName === n.opType || n.opName.startsWith(`${n.opType}_`) ? n.opType : `${n.opName} (${n.opType})`;
    const id = b.node(tfKind(n), [head, tfType(n)], n.opType);
    ids.set(n, id);
    return id;
  };
  const writes: [string, RefVariable][] = [];
  for (const n of topoSort(fetches)) {
    if (n instanceof Operation) {
      const id = b.node("effect", [n.name, n.type], n.type);
      ids.set(n, id);
      for (const d of n.control_inputs) b.edge(ids.get(d)!, id, undefined, true);
      continue;
    }
    const id = tensorNode(n);
    for (const d of n.inputs) b.edge(ids.get(d)!, id);
    if (n.attrs.variable instanceof RefVariable) writes.push([id, n.attrs.variable]);
  }
  for (const [assign, variable] of writes) b.edge(assign, ids.get(variable) ?? tensorNode(variable), "writes", true);
  for (const f of fetches) {
    if (f instanceof TfTensor) b.edge(ids.get(f)!, b.node("output", [`fetch ${f.name}`, tfType(f)], "output"));
  }
  return b.build();
}

const eagerType = (t: EagerTensor): string => `${DTYPE_SHORT[t.dtype]}[${t.shape.join(",")}]`;

/**
 * The tape from `roots` down to the leaves: an op node per recorded op (its
 * gradFn's name), a variable node per leaf that requires grad, named from
 * `names` where given; each root also gets an output node.
 */
export function eagerGraph(roots: readonly EagerTensor[], names: ReadonlyMap<EagerTensor, string>): VizGraph {
  for (const r of roots) {
    if (!r.requiresGrad) {
      throw new ArgumentError(
        "toDot: this eager tensor has no tape to draw (it does not require grad, so no op was recorded); create the inputs with { requiresGrad: true }, " +
          "or draw the function as a jaxpr with toDot(makeJaxpr(f)(...)) or compile(f).lower(...)",
      );
    }
  }
  const b = new GraphBuilder();
  const ids = new Map<EagerTensor, string>();
  const order = tapeOrder(roots);
  for (const t of order) {
    const name = names.get(t);
    if (t.gradFn === null) {
      ids.set(t, b.node("variable", [name ?? "leaf", eagerType(t)], "leaf"));
      continue;
    }
    const id = b.node("op", [name === undefined ? t.gradFn.name : `${name} = ${t.gradFn.name}`, eagerType(t)], t.gradFn.name);
    ids.set(t, id);
    for (const inp of t.gradFn.inputs) b.edge(ids.get(inp)!, id);
  }
  roots.forEach((r, i) => b.edge(ids.get(r)!, b.node("output", [names.get(r) ?? (roots.length > 1 ? `out ${i}` : "out"), eagerType(r)], "output")));
  return b.build();
}
