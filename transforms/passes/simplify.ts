// Constant folding and algebraic simplification. Equations whose inputs are
// all known are evaluated at compile time (when their result is small), and
// identities such as x*1, x+0, reshape-to-same-shape or an identity
// transpose are replaced by their input. These passes preserve evaluation
// semantics only: stop_gradient becomes the identity, so they run when a
// jaxpr is lowered for execution, never on jaxprs that will be differentiated.

import { Array } from "../../src/core/array";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, typedEqn, type Atom } from "../../src/core/ir";
import { isHigherOrder } from "../../src/core/primitives";
import { bind, type Tracer } from "../../src/core/trace";
import { literalValue } from "../../src/core/eval_jaxpr";
import { producersAndUseCounts, substitute, type Substitution } from "./rewrite";

/** Results larger than this many elements are not folded into constants. */
const FOLD_LIMIT = 256;

function isIdentityPerm(p: readonly number[]): boolean {
  return p.every((d, i) => d === i);
}

/** The value every element of `a` is known to have, if it is a splat constant. */
type SplatOf = (a: Atom) => number | null;

function identityInput(eqn: JaxprEqn, ins: Atom[], splat: SplatOf): Atom | null {
  const e = typedEqn(eqn);
  const out = e.outputs[0];
  const sameType = (a: Atom) => a.aval.equals(out.aval);
  const is = (a: Atom, v: number) => splat(a) === v;
  switch (e.primitive) {
    case "add":
      if (is(ins[1], 0) && sameType(ins[0])) return ins[0];
      if (is(ins[0], 0) && sameType(ins[1])) return ins[1];
      return null;
    case "sub":
      return is(ins[1], 0) && sameType(ins[0]) ? ins[0] : null;
    case "mul":
      if (is(ins[1], 1) && sameType(ins[0])) return ins[0];
      if (is(ins[0], 1) && sameType(ins[1])) return ins[1];
      return null;
    case "div":
      return is(ins[1], 1) && sameType(ins[0]) ? ins[0] : null;
    case "reshape":
    case "broadcast_in_dim":
    case "convert_element_type":
    case "stop_gradient":
      return sameType(ins[0]) && (e.primitive !== "broadcast_in_dim" || isIdentityPerm(e.params.broadcastDimensions)) ? ins[0] : null;
    case "transpose":
      return isIdentityPerm(e.params.permutation) ? ins[0] : null;
    case "squeeze":
    case "expand_dims":
    case "rev":
      return e.params.dimensions.length === 0 ? ins[0] : null;
    case "reduce_sum":
    case "reduce_max":
    case "reduce_min":
    case "reduce_prod":
    case "reduce_and":
    case "reduce_or":
      return e.params.axes.length === 0 && sameType(ins[0]) ? ins[0] : null;
    case "slice":
      return sameType(ins[0]) ? ins[0] : null;
    case "pad":
      return e.params.paddingConfig.every((c) => c.every((x) => x === 0)) ? ins[0] : null;
    case "concatenate":
      return ins.length === 1 ? ins[0] : null;
    default:
      return null;
  }
}

/**
 * transpose(dot_general(a, b)) that only swaps the lhs-free and rhs-free blocks is
 * dot_general(b, a): the product is computed in the layout its consumer wants.
 */
function transposedDot(eqn: JaxprEqn, producerEqn: JaxprEqn | undefined, uses: number): JaxprEqn | null {
  const e = typedEqn(eqn);
  const producer = producerEqn && typedEqn(producerEqn);
  if (e.primitive !== "transpose" || !producer || producer.primitive !== "dot_general" || uses !== 1) return null;
  const dn = producer.params.dimensionNumbers;
  const [[lc, rc], [lb, rb]] = dn;
  if (lb.length > 0) return null;
  const [lhs, rhs] = producer.inputs;
  const nl = lhs.aval.ndim - lc.length;
  const nr = rhs.aval.ndim - rc.length;
  const perm = e.params.permutation;
  const swapped = [...globalThis.Array(nr).keys()].map((i) => nl + i).concat([...globalThis.Array(nl).keys()]);
  if (perm.join() !== swapped.join()) return null;
  const params = { ...producer.params, dimensionNumbers: [[rc, lc], [rb, lb]] as typeof dn };
  return new JaxprEqn("dot_general", [rhs, lhs], params, e.outputs);
}

export function simplify(closed: ClosedJaxpr): ClosedJaxpr {
  const { jaxpr } = closed;
  const { producers, useCount } = producersAndUseCounts(jaxpr);
  const known = new Map<Var, Tracer>();
  jaxpr.constvars.forEach((v, i) => known.set(v, closed.consts[i]));
  const splats = new Map<Var, number>();
  const subst: Substitution = new Map();
  const newConstvars = [...jaxpr.constvars];
  const newConsts = [...closed.consts];
  const eqns: JaxprEqn[] = [];
  let changed = false;

  const valueOf = (a: Atom): Tracer | null => {
    if (a instanceof Literal) return literalValue(a);
    const k = known.get(a);
    if (k) return k;
    const v = splats.get(a);
    if (v === undefined) return null;
    const scalar = Array.scalar(v, a.aval.dtype, a.aval.weakType);
    return bind("broadcast_in_dim", [scalar], { shape: [...a.aval.shape], broadcastDimensions: [] })[0];
  };
  const splat: SplatOf = (a) => (a instanceof Literal ? a.value : splats.get(a) ?? null);

  for (const e of jaxpr.eqns) {
    const ins = e.inputs.map((a) => substitute(a, subst));
    if (ins.some((a, i) => a !== e.inputs[i])) changed = true;

    const src = ins[0] instanceof Var ? ins[0] : null;
    const swappedDot = src ? transposedDot(e, producers.get(src), useCount.get(src) ?? 0) : null;
    if (swappedDot) {
      eqns.push(new JaxprEqn("dot_general", swappedDot.inputs.map((a) => substitute(a, subst)), swappedDot.params, swappedDot.outputs));
      changed = true;
      continue;
    }
    const same = identityInput(e, ins, splat);
    if (same !== null) {
      subst.set(e.outputs[0], same);
      changed = true;
      continue;
    }

    // A broadcast literal stays symbolic: fusion makes it free, folding would materialize it.
    if (e.primitive === "broadcast_in_dim" && ins[0] instanceof Literal) {
      splats.set(e.outputs[0], ins[0].value);
      eqns.push(ins.every((a, i) => a === e.inputs[i]) ? e : new JaxprEqn(e.primitive, ins, e.params, e.outputs));
      continue;
    }
    const outSize = e.outputs.reduce((s, v) => s + v.aval.size, 0);
    // A symbolic splat is materialized to fold it: only when that is small too (sum(broadcast(0.5, [4e4, 7e4])) would allocate 11 GB).
    const smallInputs = ins.every((a) => !(a instanceof Var) || !splats.has(a) || a.aval.size <= FOLD_LIMIT);
    const values = smallInputs && outSize <= FOLD_LIMIT ? ins.map(valueOf) : [null];
    if (!isHigherOrder(e.primitive) && e.primitive !== "iota" && values.every((v) => v !== null) && outSize <= FOLD_LIMIT) {
      const outs = bind(e.primitive, values as Tracer[], e.params);
      e.outputs.forEach((v, i) => {
        const o = outs[i] as Array;
        if (o.ndim === 0) {
          subst.set(v, new Literal(Number(o.dataSync()[0]), o.aval));
        } else {
          const cv = new Var(o.aval);
          newConstvars.push(cv);
          newConsts.push(o);
          known.set(cv, o);
          subst.set(v, cv);
        }
      });
      changed = true;
      continue;
    }

    eqns.push(ins.every((a, i) => a === e.inputs[i]) ? e : new JaxprEqn(e.primitive, ins, e.params, e.outputs));
  }
  if (!changed) return closed;
  const outvars = jaxpr.outvars.map((a) => substitute(a, subst));
  return new ClosedJaxpr(new Jaxpr(newConstvars, jaxpr.invars, eqns, outvars), newConsts);
}
