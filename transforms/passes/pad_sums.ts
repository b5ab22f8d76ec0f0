// Sums of zero-padded pieces as one concatenate. The transpose of slicing
// pieces out of one array -- the four gates of an LSTM cut from one matmul,
// the q/k/v blocks of a fused projection -- pads each piece's cotangent back
// to the full shape and adds them up: a fill and a copy of the whole array per
// piece, and an add per piece. When the pieces' windows along one dimension do
// not overlap, the sum is the concatenation of the pieces in window order (zero
// blocks filling any gaps): each element is written once.

import { Jaxpr, JaxprEqn, Literal, Var, typedEqn, type Atom } from "../../src/core/ir";

/** A pad that places `piece` at [lo, lo + size) along `dim` and pads nothing else. */
interface Placed {
  piece: Atom;
  zero: Literal;
  dim: number;
  lo: number;
  size: number;
}

/** The placement of a pad by zeros, without interior padding, along one dimension only; null otherwise. */
function placement(eqn: JaxprEqn): Placed | null {
  const e = typedEqn(eqn);
  if (e.primitive !== "pad") return null;
  const [piece, value] = e.inputs;
  if (!(value instanceof Literal) || value.value !== 0) return null;
  const config = e.params.paddingConfig;
  if (config.some(([lo, hi, interior]) => interior !== 0 || lo < 0 || hi < 0)) return null;
  const padded = config.flatMap(([lo, hi], d) => (lo > 0 || hi > 0 ? [d] : []));
  if (padded.length > 1) return null;
  const dim = padded[0] ?? 0;
  return { piece, zero: value, dim, lo: config[dim][0], size: piece.aval.shape[dim] };
}

/** Rewrites every add tree whose leaves are non-overlapping zero pads along one dimension; the pads and inner adds die (DCE). */
export function padSumsToConcatenate(jaxpr: Jaxpr): Jaxpr {
  const producers = new Map<Var, JaxprEqn>();
  const uses = new Map<Var, JaxprEqn[]>();
  for (const e of jaxpr.eqns) {
    e.outputs.forEach((v) => producers.set(v, e));
    for (const a of e.inputs) {
      if (!(a instanceof Var)) continue;
      const list = uses.get(a);
      if (list) list.push(e);
      else uses.set(a, [e]);
    }
  }
  const outputs = new Set(jaxpr.outvars);
  /** Used once, by an equation of the tree, and not a jaxpr output. */
  const inner = (v: Var): boolean => uses.get(v)?.length === 1 && !outputs.has(v);
  /** The pads at the leaves of the add tree under `a`, or null where a leaf is anything else. */
  const leaves = (a: Atom, out: Placed[]): boolean => {
    const e = a instanceof Var && inner(a) ? producers.get(a) : undefined;
    if (e === undefined) return false;
    if (e.primitive === "add") return e.inputs.every((x) => leaves(x, out));
    const p = placement(e);
    if (p !== null) out.push(p);
    return p !== null;
  };
  let changed = false;
  const eqns: JaxprEqn[] = [];
  for (const e of jaxpr.eqns) {
    const rewritten = e.primitive === "add" ? concatenation(e) : null;
    if (rewritten === null) eqns.push(e);
    else {
      eqns.push(...rewritten);
      changed = true;
    }
  }
  return changed ? new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars) : jaxpr;

  /** The equations computing the add tree rooted at `root` as a concatenate; null where it is not one. */
  function concatenation(root: JaxprEqn): JaxprEqn[] | null {
    // An add feeding a larger tree is rewritten with that tree.
    const consumer = uses.get(root.outputs[0]);
    if (inner(root.outputs[0]) && consumer![0].primitive === "add") return null;
    const placed: Placed[] = [];
    if (!root.inputs.every((a) => leaves(a, placed))) return null;
    const out = root.outputs[0];
    const dim = placed[0].dim;
    if (placed.some((p) => p.dim !== dim || p.piece.aval.dtype !== out.aval.dtype)) return null;
    placed.sort((a, b) => a.lo - b.lo);
    if (placed.some((p, i) => i > 0 && p.lo < placed[i - 1].lo + placed[i - 1].size)) return null;
    const zeros: JaxprEqn[] = [];
    const parts: Atom[] = [];
    const zeroBlock = (from: number, to: number, zero: Literal) => {
      if (to <= from) return;
      const block = new Var(out.aval.withShape(out.aval.shape.map((n, d) => (d === dim ? to - from : n))));
      zeros.push(new JaxprEqn("broadcast_in_dim", [zero], { shape: [...block.aval.shape], broadcastDimensions: [] }, [block]));
      parts.push(block);
    };
    let at = 0;
    for (const p of placed) {
      zeroBlock(at, p.lo, p.zero);
      if (p.size > 0) parts.push(p.piece);
      at = p.lo + p.size;
    }
    zeroBlock(at, out.aval.shape[dim], placed[0].zero);
    return [...zeros, new JaxprEqn("concatenate", parts, { dimension: dim }, [out])];
  }
}
