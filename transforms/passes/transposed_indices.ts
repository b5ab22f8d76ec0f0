// Transposes of a gather's or a scatter-add's batch dims moved onto its index
// array. An embedding lookup in a time-major model gathers rows by [B, T] ids
// and transposes the [B, T, E] result to [T, B, E]: a copy of the whole
// gathered array; its gradient transposes the [T, B, E] cotangent back before
// the scatter-add, another. Gathering (scattering) by the transposed ids
// instead moves only the index array, B·T integers, and the transposed values
// come out of (go into) the gather (scatter) as they are.
//
//   transpose(gather(x, ids), perm)       = gather(x, transpose(ids, perm))
//   scatter_add(x, ids, transpose(u, perm)) = scatter_add(x, transpose(ids, perm⁻¹), u)
//
// where perm permutes the batch dims only (the slice/window dims are the
// trailing ones and stay in place), and the index vector is the ids' last dim.

import { Jaxpr, JaxprEqn, Var, typedEqn } from "../../src/core/ir";
import { producersAndUseCounts } from "./rewrite";

/** The permutation of the leading `batch` dims that `perm` is, with every later dim in place; null otherwise. */
function batchPermutation(perm: readonly number[], batch: number): number[] | null {
  for (let i = batch; i < perm.length; i++) if (perm[i] !== i) return null;
  const lead = perm.slice(0, batch);
  return lead.every((p) => p < batch) ? lead : null;
}

/** Whether `dims` are exactly the dims from `from` up to `rank`, in order. */
const trailing = (dims: readonly number[], from: number, rank: number): boolean =>
  dims.length === rank - from && dims.every((d, i) => d === from + i);

const inverse = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

/** `ids` transposed by `batchPerm` over its batch dims (its last dim, the index vector, kept last). */
function transposedIds(ids: Var, batchPerm: readonly number[]): { eqn: JaxprEqn; out: Var } {
  const permutation = [...batchPerm, batchPerm.length];
  const out = new Var(ids.aval.withShape(permutation.map((d) => ids.aval.shape[d])));
  return { eqn: new JaxprEqn("transpose", [ids], { permutation }, [out]), out };
}

/** Rewrites every such transpose of a gather (used by nothing else) and every scatter-add of a transposed update. */
export function transposesIntoIndices(jaxpr: Jaxpr): Jaxpr {
  const { producers, useCount } = producersAndUseCounts(jaxpr);

  /** gather(x, transpose(ids)) for `eqn`, a transpose of a gather's result; null where it does not apply. */
  const gatherOfTransposedIds = (eqn: JaxprEqn): JaxprEqn[] | null => {
    const t = typedEqn(eqn);
    if (t.primitive !== "transpose" || !(t.inputs[0] instanceof Var) || useCount.get(t.inputs[0]) !== 1) return null;
    const g = producers.get(t.inputs[0]);
    if (g === undefined) return null;
    const gather = typedEqn(g);
    if (gather.primitive !== "gather") return null;
    const [, ids] = gather.inputs;
    if (!(ids instanceof Var)) return null;
    const dn = gather.params.dimensionNumbers;
    const batch = ids.aval.shape.length - 1;
    const rank = gather.outputs[0].aval.shape.length;
    if (dn.operandBatchingDims.length > 0 || !trailing(dn.offsetDims, batch, rank)) return null;
    const batchPerm = batchPermutation(t.params.permutation, batch);
    if (batchPerm === null) return null;
    const moved = transposedIds(ids, batchPerm);
    return [moved.eqn, new JaxprEqn("gather", [gather.inputs[0], moved.out], gather.params, [t.outputs[0]])];
  };

  /**
   * `eqn`, a scatter-add of a transposed update, on the untransposed update; null where it does
   * not apply. Not a plain scatter: which of several updates to one index wins follows the
   * order the updates are visited in, which the rewrite changes.
   */
  const scatterOfTransposedIds = (eqn: JaxprEqn): JaxprEqn[] | null => {
    const s = typedEqn(eqn);
    if (s.primitive !== "scatter_add") return null;
    const [operand, ids, updates] = s.inputs;
    if (!(ids instanceof Var) || !(updates instanceof Var)) return null;
    const p = producers.get(updates);
    if (p === undefined) return null;
    const t = typedEqn(p);
    if (t.primitive !== "transpose") return null;
    const dn = s.params.dimensionNumbers;
    const batch = ids.aval.shape.length - 1;
    if (dn.operandBatchingDims.length > 0 || !trailing(dn.updateWindowDims, batch, updates.aval.shape.length)) return null;
    const batchPerm = batchPermutation(t.params.permutation, batch);
    if (batchPerm === null) return null;
    const moved = transposedIds(ids, inverse(batchPerm));
    return [moved.eqn, new JaxprEqn("scatter_add", [operand, moved.out, t.inputs[0]], s.params, s.outputs)];
  };

  let changed = false;
  const eqns: JaxprEqn[] = [];
  for (const e of jaxpr.eqns) {
    const rewritten = gatherOfTransposedIds(e) ?? scatterOfTransposedIds(e);
    if (rewritten === null) eqns.push(e);
    else {
      eqns.push(...rewritten);
      changed = true;
    }
  }
  return changed ? new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars) : jaxpr;
}
