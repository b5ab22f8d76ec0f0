// Jaxprs and jitted programs as drawing models (graph.ts). A jaxpr's
// equations are operation nodes labelled with the primitive and the output
// types; its inputs, constants, literals and outputs are nodes of their own
// kinds; the inner jaxprs of higher-order primitives (cond branches, scan and
// while bodies, pjit, custom rules, checkpoint) are drawn as nested clusters
// next to the equation that calls them. A lowered jitted program is drawn
// twice: as traced, and after the IR passes with the equations of each
// kernel of the compiled program gathered into a cluster.

import type { FusionGroup } from "../core/backend";
import { DTYPE_SHORT } from "../core/dtype";
import { ClosedJaxpr, Jaxpr, Literal, type Atom, type JaxprEqn, type Var } from "../core/ir";
import type { Lowered } from "../../transforms";
import { GraphBuilder, type VizContainer, type VizGraph } from "./graph";

export interface JaxprDrawOptions {
  /** Show each equation's parameters in its label. */
  params: boolean;
}

/** Names variables a, b, …, z, ba, … in order of first appearance, as the jaxpr printer does. */
class VarNames {
  private readonly names = new Map<Var, string>();
  of(v: Var): string {
    let n = this.names.get(v);
    if (n === undefined) {
      let i = this.names.size;
      n = "";
      do {
        n = "abcdefghijklmnopqrstuvwxyz"[i % 26] + n;
        i = Math.floor(i / 26) - 1;
      } while (i >= 0);
      if (n === "in") n = "in_";
      this.names.set(v, n);
    }
    return n;
  }
}

function literalText(l: Literal): string {
  const d = l.aval.dtype;
  const v = d === "bool" ? (l.value ? "True" : "False") : (d === "float32" || d === "float16") && Number.isInteger(l.value) ? l.value.toFixed(1) : String(l.value);
  return `${v}:${DTYPE_SHORT[d]}[]`;
}

const isJaxprLike = (v: unknown): v is Jaxpr | ClosedJaxpr => v instanceof Jaxpr || v instanceof ClosedJaxpr;
const bodyOf = (j: Jaxpr | ClosedJaxpr): Jaxpr => (j instanceof ClosedJaxpr ? j.jaxpr : j);

/** A cluster title from the param holding an inner jaxpr: `jaxpr` → body, `condJaxpr` → cond, `branches` → branch i. */
function innerTitle(param: string, index?: number): string {
  const base = param === "jaxpr" ? "body" : param === "branches" ? "branch" : param.replace(/Jaxpr$/, "");
  return index === undefined ? base : `${base} ${index}`;
}

/** The inner jaxprs among an equation's params (found by value, so every higher-order primitive is covered). */
function innerJaxprs(eqn: JaxprEqn): [string, Jaxpr][] {
  const found: [string, Jaxpr][] = [];
  for (const [k, v] of Object.entries(eqn.params as Record<string, unknown>)) {
    if (isJaxprLike(v)) found.push([innerTitle(k), bodyOf(v)]);
    else if (Array.isArray(v)) v.forEach((x, i) => isJaxprLike(x) && found.push([innerTitle(k, i), bodyOf(x)]));
  }
  return found;
}

function paramText(v: unknown): string {
  if (Array.isArray(v)) return v.every((x) => typeof x === "number") ? `(${v.join(",")}${v.length === 1 ? "," : ""})` : JSON.stringify(v);
  if (v === null) return "None";
  if (typeof v === "object") {
    const s = JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  }
  return String(v);
}

/** `prim[k=v …]` for the params that are plain data (jaxprs and callables left out). */
function headline(eqn: JaxprEqn, withParams: boolean): string {
  if (!withParams) return eqn.primitive;
  const shown = Object.entries(eqn.params as Record<string, unknown>).filter(([, v]) => typeof v !== "function" && !isJaxprLike(v) && !(Array.isArray(v) && v.some(isJaxprLike)));
  return shown.length === 0 ? eqn.primitive : `${eqn.primitive}[${shown.map(([k, v]) => `${k}=${paramText(v)}`).join(" ")}]`;
}

/** Where an equation of the drawn jaxpr goes, and a note for its label (used for fusion groups). */
interface Placement {
  container(eqnIndex: number): VizContainer | undefined;
  note(eqnIndex: number): string | undefined;
}

/** Draw `jaxpr` into the builder's current container. */
function drawJaxpr(b: GraphBuilder, jaxpr: Jaxpr, opts: JaxprDrawOptions, placement?: Placement): void {
  const names = new VarNames();
  const nodeOf = new Map<Var, string>();
  const from = (a: Atom, into: VizContainer): [string, string | undefined] => {
    if (a instanceof Literal) return [b.node("literal", [literalText(a)], "literal", into), undefined];
    return [nodeOf.get(a)!, names.of(a)];
  };
  for (const v of jaxpr.constvars) nodeOf.set(v, b.node("const", [`${names.of(v)}: ${v.aval.str()}`], "const"));
  for (const v of jaxpr.invars) nodeOf.set(v, b.node("input", [`${names.of(v)}: ${v.aval.str()}`], "input"));
  jaxpr.eqns.forEach((eqn, i) => {
    const inner = innerJaxprs(eqn);
    const label = [headline(eqn, opts.params), eqn.outputs.map((v) => v.aval.str()).join(", ")];
    const note = placement?.note(i);
    if (note !== undefined) label.push(note);
    const place = (into: VizContainer) => {
      const id = b.node("op", label, eqn.primitive, into);
      for (const a of eqn.inputs) {
        const [src, name] = from(a, into);
        b.edge(src, id, name);
      }
      for (const v of eqn.outputs) {
        names.of(v);
        nodeOf.set(v, id);
      }
    };
    if (inner.length === 0) {
      place(placement?.container(i) ?? b.current);
      return;
    }
    b.cluster(eqn.primitive, "inner", (c) => {
      place(c);
      for (const [name, body] of inner) b.cluster(name, "inner", () => drawJaxpr(b, body, opts));
    });
  });
  const many = jaxpr.outvars.length > 1;
  jaxpr.outvars.forEach((a, i) => {
    const [src, name] = from(a, b.current);
    const out = b.node("output", [`${many ? `out ${i}` : "out"}: ${a.aval.str()}`], "output");
    b.edge(src, out, name);
  });
}

export function jaxprGraph(j: Jaxpr | ClosedJaxpr, opts: JaxprDrawOptions): VizGraph {
  const b = new GraphBuilder();
  drawJaxpr(b, bodyOf(j), opts);
  return b.build();
}

/**
 * A jitted program: the traced jaxpr, and the jaxpr after the IR passes with
 * each kernel's equations as a cluster (where the backend reports its kernels).
 * An equation several kernels recompute sits in the first and says so.
 */
export function loweredGraph(lowered: Lowered, opts: JaxprDrawOptions): VizGraph {
  const b = new GraphBuilder();
  b.cluster("traced jaxpr", "stage", () => drawJaxpr(b, lowered.jaxpr.jaxpr, opts));
  const groups: FusionGroup[] | null = lowered.fusionGroups();
  const optimized = lowered.optimized.jaxpr;
  const title = groups === null ? "after IR passes (run op by op: no kernels)" : `after IR passes: ${groups.length} kernel${groups.length === 1 ? "" : "s"}`;
  b.cluster(title, "stage", (stage) => {
    const clusters = (groups ?? []).map((g) => b.newCluster(`kernel ${g.label}`, "kernel", stage));
    const kernelsOf = optimized.eqns.map(() => [] as number[]);
    (groups ?? []).forEach((g, k) => g.eqns.forEach((e) => kernelsOf[e].push(k)));
    drawJaxpr(b, optimized, opts, {
      container: (i) => (kernelsOf[i].length > 0 ? clusters[kernelsOf[i][0]] : undefined),
      note: (i) => (kernelsOf[i].length > 1 ? `(recomputed in kernel${kernelsOf[i].length > 2 ? "s" : ""} ${kernelsOf[i].slice(1).map((k) => groups![k].label.split(":")[0]).join(", ")})` : undefined),
    });
  });
  return b.build();
}
