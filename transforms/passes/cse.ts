// Common-subexpression elimination: two equations with the same primitive,
// params and inputs compute the same values, so the second reuses the first's
// outputs. Params that hold functions (custom derivative rules) are compared
// by identity.

import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, type Atom, type Var } from "../../src/core/ir";
import { mapInnerJaxprs, substitute, type Substitution } from "./rewrite";

let nextObjectId = 0;
const objectIds = new WeakMap<object, number>();
function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

function paramKey(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "function" || v instanceof Jaxpr || v instanceof ClosedJaxpr) return `#${objectId(v as object)}`;
  if (Array.isArray(v)) return `[${v.map(paramKey).join(",")}]`;
  if (typeof v === "object") {
    if (typeof (v as { key?: unknown }).key === "function") return `@${(v as { key(): string }).key()}`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${paramKey(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function atomKey(a: Atom, varIds: Map<Var, number>): string {
  if (a instanceof Literal) return `L${a.value}:${a.aval.key()}`;
  let id = varIds.get(a);
  if (id === undefined) varIds.set(a, (id = varIds.size));
  return `v${id}`;
}

export function cse(jaxpr: Jaxpr): Jaxpr {
  const subst: Substitution = new Map();
  const seen = new Map<string, Var[]>();
  const varIds = new Map<Var, number>();
  const eqns: JaxprEqn[] = [];
  let changed = false;
  for (const e of jaxpr.eqns) {
    const inputs = e.inputs.map((a) => substitute(a, subst));
    const params = mapInnerJaxprs(e, cse);
    const key = `${e.primitive}|${paramKey(params)}|${inputs.map((a) => atomKey(a, varIds)).join(",")}`;
    const prior = seen.get(key);
    if (prior) {
      e.outputs.forEach((v, i) => subst.set(v, prior[i]));
      changed = true;
      continue;
    }
    seen.set(key, e.outputs);
    const same = params === e.params && inputs.every((a, i) => a === e.inputs[i]);
    if (!same) changed = true;
    eqns.push(same ? e : new JaxprEqn(e.primitive, inputs, params, e.outputs));
  }
  if (!changed) return jaxpr;
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map((a) => substitute(a, subst)));
}
