// The IR: jaxprs. A Jaxpr is a list of equations in A-normal form over typed
// variables; a ClosedJaxpr pairs one with the values of its constvars. This
// file holds the data structures and the JAX-style printer; the type checker
// lives in typecheck.ts.

import type { ShapedArray } from "./aval";
import type { ParamsOf, Primitive } from "./primitives";
import { DTYPE_SHORT } from "./dtype";
import type { Tracer } from "./trace";

let nextVarId = 0;

export class Var {
  readonly id = nextVarId++;
  constructor(readonly aval: ShapedArray) {}
}

/** A scalar constant inlined into an equation (JAX prints `2.0:f32[]`). */
export class Literal {
  constructor(
    readonly value: number,
    readonly aval: ShapedArray,
  ) {}
}

export type Atom = Var | Literal;

export class JaxprEqn<P extends Primitive = Primitive> {
  constructor(
    readonly primitive: P,
    readonly inputs: Atom[],
    readonly params: ParamsOf<P>,
    readonly outputs: Var[],
  ) {}
}

/**
 * An equation as the union over primitives of equations with that primitive's
 * params, so `switch (eqn.primitive)` narrows `eqn.params` to its `ParamsOf`.
 */
export type TypedEqn = { [P in Primitive]: JaxprEqn<P> }[Primitive];

/** `e` as a TypedEqn: sound because a JaxprEqn<P> is only built with params of P. */
export const typedEqn = (e: JaxprEqn): TypedEqn => e as TypedEqn;

export class Jaxpr {
  constructor(
    readonly constvars: Var[],
    readonly invars: Var[],
    readonly eqns: JaxprEqn[],
    readonly outvars: Atom[],
  ) {}
  get inAvals(): ShapedArray[] {
    return this.invars.map((v) => v.aval);
  }
  get outAvals(): ShapedArray[] {
    return this.outvars.map((v) => v.aval);
  }
  toString(): string {
    return printJaxpr(this);
  }
}

export class ClosedJaxpr {
  constructor(
    readonly jaxpr: Jaxpr,
    readonly consts: Tracer[],
  ) {
    if (consts.length !== jaxpr.constvars.length) {
      throw new Error(`ClosedJaxpr: ${consts.length} consts for ${jaxpr.constvars.length} constvars`);
    }
  }
  get inAvals(): ShapedArray[] {
    return this.jaxpr.inAvals;
  }
  get outAvals(): ShapedArray[] {
    return this.jaxpr.outAvals;
  }
  toString(): string {
    return printJaxpr(this.jaxpr);
  }
}

// --- printer -----------------------------------------------------------------

/** Names variables a, b, …, z, ba, bb, … in order of first appearance, as JAX does. */
class VarNamer {
  private readonly names = new Map<Var, string>();
  name(v: Var): string {
    let n = this.names.get(v);
    if (n === undefined) {
      n = VarNamer.nth(this.names.size);
      this.names.set(v, n);
    }
    return n;
  }
  private static nth(i: number): string {
    const letters = "abcdefghijklmnopqrstuvwxyz";
    let s = "";
    do {
      s = letters[i % 26] + s;
      i = Math.floor(i / 26) - 1;
    } while (i >= 0);
    // JAX skips names that read like keywords/ambiguous; keep ours simple but avoid "in".
    return s === "in" ? "in_" : s;
  }
}

function fmtLiteral(l: Literal): string {
  const v = l.aval.dtype === "bool" ? (l.value ? "True" : "False") : formatNumber(l.value, l.aval.dtype);
  return `${v}:${DTYPE_SHORT[l.aval.dtype]}[]`;
}

function formatNumber(x: number, dtype: string): string {
  if (dtype === "float32" || dtype === "float16") {
    if (Number.isInteger(x)) return x.toFixed(1);
    return String(x);
  }
  return String(x);
}

function isJaxprLike(x: unknown): x is Jaxpr | ClosedJaxpr {
  return x instanceof Jaxpr || x instanceof ClosedJaxpr;
}

function fmtParam(value: unknown, indent: string): string {
  if (isJaxprLike(value)) {
    const j = value instanceof ClosedJaxpr ? value.jaxpr : value;
    return printJaxpr(j, indent + "  ");
  }
  if (Array.isArray(value)) {
    if (value.some(isJaxprLike)) return `(\n${value.map((v) => indent + "  " + fmtParam(v, indent + "  ")).join("\n")}\n${indent})`;
    const inner = value.map((v) => fmtParam(v, indent)).join(", ");
    return value.length === 1 ? `(${inner},)` : `(${inner})`;
  }
  if (typeof value === "function") return value.name || "<fn>";
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${fmtParam(v, indent)}`).join(", ")}}`;
  }
  return String(value);
}

function fmtParams(params: Record<string, unknown>, indent: string): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return "";
  const multiline = entries.some(([, v]) => isJaxprLike(v) || (Array.isArray(v) && v.some(isJaxprLike)));
  if (!multiline) return `[${entries.map(([k, v]) => `${k}=${fmtParam(v, indent)}`).join(" ")}]`;
  const inner = indent + "  ";
  return `[\n${entries.map(([k, v]) => `${inner}${k}=${fmtParam(v, inner)}`).join("\n")}\n${indent}]`;
}

/** JAX-style text: `{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b) }`. */
export function printJaxpr(jaxpr: Jaxpr, indent = ""): string {
  const namer = new VarNamer();
  const atom = (a: Atom) => (a instanceof Literal ? fmtLiteral(a) : namer.name(a));
  const binder = (v: Var) => `${namer.name(v)}:${v.aval.str()}`;
  const consts = jaxpr.constvars.map(binder).join(" ");
  const ins = jaxpr.invars.map(binder).join(" ");
  const head = `{ lambda ${consts}; ${ins}. let`;
  const body = jaxpr.eqns.map((e) => {
    const outs = e.outputs.map(binder).join(" ");
    const params = fmtParams(e.params as Record<string, unknown>, indent + "    ");
    return `${indent}    ${outs} = ${e.primitive}${params} ${e.inputs.map(atom).join(" ")}`;
  });
  const outs = jaxpr.outvars.map(atom).join(" ");
  if (body.length === 0) return `${head} in (${outs}) }`;
  const oneLine = `${head} ${body.map((l) => l.trim()).join("; ")} in (${outs}) }`;
  if (indent === "" && oneLine.length <= 80 && !oneLine.includes("\n")) return oneLine;
  return `${head}\n${body.join("\n")}\n${indent}  in (${outs}) }`;
}
