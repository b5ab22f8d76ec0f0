// numpy linear algebra over dot_general: dot, matmul (batch broadcasting and
// 1-D promotion as numpy), einsum (general subscripts with "...", repeated
// indices, implicit output, lowered pairwise to dot_general + transposes and
// reductions), tensordot, outer, inner, vdot, trace, diagonal. Norms and the
// decompositions are in np_linalg.ts / decompositions.ts.

import { Array } from "../core/array";
import { ArgumentError, ShapeError, fmtShape, asCalledFrom } from "../core/errors";
import { broadcastShapes, normalizeAxis } from "../core/shape";
import { bind1, type ArrayLike, type Tracer } from "../core/trace";
import { index } from "./indexing";
import { broadcastTo, promoteArgs } from "./promote";
import { moveaxis, ravel, reshape, transpose } from "./shape";
import { sum } from "./reductions";
import { multiply } from "./elementwise";

function dotGeneral(a: Tracer, b: Tracer, lc: number[], rc: number[], lb: number[], rb: number[]): Tracer {
  return bind1("dot_general", [a, b], { dimensionNumbers: [[lc, rc], [lb, rb]], preferredElementType: null });
}

function str(t: Tracer): string {
  return t.aval.str();
}

/** numpy dot: scalars multiply; N-D · 1-D contracts the last axes; N-D · M-D contracts a's last with b's second-to-last. */
export function dot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("dot", [x, y], { broadcast: false }).args;
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  const la = a.ndim - 1;
  const rb = b.ndim === 1 ? 0 : b.ndim - 2;
  if (a.shape[la] !== b.shape[rb]) {
    throw new ShapeError(`dot: contracting dimensions differ: ${str(a)} · ${str(b)} (${a.shape[la]} != ${b.shape[rb]})`);
  }
  return dotGeneral(a, b, [la], [rb], [], []);
}

/** numpy matmul: batch dims broadcast; a 1-D operand is promoted to a matrix and the added dim removed. */
export function matmul(x: ArrayLike, y: ArrayLike): Tracer {
  let [a, b] = promoteArgs("matmul", [x, y], { broadcast: false }).args;
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: operands must have at least one dimension (use multiply for scalars), got ${str(a)} @ ${str(b)}`);
  }
  const aVec = a.ndim === 1;
  const bVec = b.ndim === 1;
  if (aVec) a = reshape(a, [1, a.shape[0]]);
  if (bVec) b = reshape(b, [b.shape[0], 1]);
  const k1 = a.shape[a.ndim - 1];
  const k2 = b.shape[b.ndim - 2];
  if (k1 !== k2) {
    throw new ShapeError(`matmul: contracting dimensions differ: ${str(a)} @ ${str(b)} (${k1} != ${k2})`);
  }
  let out: Tracer;
  if (b.ndim === 2) {
    // Weights without batch dims: contract directly, no broadcasting needed.
    out = dotGeneral(a, b, [a.ndim - 1], [0], [], []);
  } else {
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    let batch: number[];
    try {
      batch = broadcastShapes("matmul", batchA, batchB);
    } catch {
      throw new ShapeError(`matmul: batch dimensions ${fmtShape(batchA)} and ${fmtShape(batchB)} of ${str(a)} @ ${str(b)} cannot be broadcast together`);
    }
    a = broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
    b = broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
    const bd = batch.map((_, i) => i);
    out = dotGeneral(a, b, [a.ndim - 1], [b.ndim - 2], bd, bd);
  }
  if (aVec && bVec) return reshape(out, out.shape.slice(0, -2));
  if (aVec) return reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]]);
  if (bVec) return reshape(out, out.shape.slice(0, -1));
  return out;
}

/** Sum over the last axis of a and b. */
export function inner(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("inner", [x, y], { broadcast: false }).args;
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  if (a.shape[a.ndim - 1] !== b.shape[b.ndim - 1]) {
    throw new ShapeError(`inner: last dimensions differ: ${str(a)} and ${str(b)} (${a.shape[a.ndim - 1]} != ${b.shape[b.ndim - 1]})`);
  }
  return dotGeneral(a, b, [a.ndim - 1], [b.ndim - 1], [], []);
}

/** Outer product of the flattened inputs. */
export function outer(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("outer", [x, y], { broadcast: false }).args;
  const fa = ravel(a);
  const fb = ravel(b);
  return multiply(reshape(fa, [fa.size, 1]), reshape(fb, [1, fb.size]));
}

/** Dot product of the flattened inputs. */
export function vdot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("vdot", [x, y], { broadcast: false }).args;
  if (a.size !== b.size) throw new ShapeError(`vdot: inputs must have the same number of elements, got ${str(a)} and ${str(b)}`);
  return dotGeneral(ravel(a), ravel(b), [0], [0], [], []);
}

/** tensordot(a, b, axes): axes = N (last N of a with first N of b) or [aAxes, bAxes]. */
export function tensordot(x: ArrayLike, y: ArrayLike, axes: number | readonly [number | readonly number[], number | readonly number[]] = 2): Tracer {
  const [a, b] = promoteArgs("tensordot", [x, y], { broadcast: false }).args;
  let la: number[];
  let lb: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim) {
      throw new ArgumentError(`tensordot: axes ${axes} must be an integer in [0, min(${a.ndim}, ${b.ndim})] for ${str(a)} and ${str(b)}`);
    }
    la = [...Array_range(a.ndim - axes, a.ndim)];
    lb = [...Array_range(0, axes)];
  } else {
    const [xa, xb] = axes;
    la = (typeof xa === "number" ? [xa] : [...xa]).map((d) => normalizeAxis(d, a.ndim, "tensordot"));
    lb = (typeof xb === "number" ? [xb] : [...xb]).map((d) => normalizeAxis(d, b.ndim, "tensordot"));
    if (la.length !== lb.length) throw new ArgumentError(`tensordot: axes lists must have the same length, got ${JSON.stringify(axes)}`);
  }
  la.forEach((d, i) => {
    if (a.shape[d] !== b.shape[lb[i]]) {
      throw new ShapeError(`tensordot: shape mismatch: ${str(a)} axis ${d} has size ${a.shape[d]} but ${str(b)} axis ${lb[i]} has size ${b.shape[lb[i]]}`);
    }
  });
  return dotGeneral(a, b, la, lb, [], []);
}

function Array_range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

/** The offset-th diagonal over axes (axis1, axis2), appended as the last axis (numpy). */
export function diagonal(x: ArrayLike, offset = 0, axis1 = 0, axis2 = 1): Tracer {
  return asCalledFrom("diagonal", () => {
    const t = promoteArgs("diagonal", [x], { broadcast: false }).args[0];
    if (t.ndim < 2) throw new ShapeError(`diagonal: needs an array of at least 2 dimensions, got ${str(t)}`);
    if (!Number.isInteger(offset)) throw new ArgumentError(`diagonal: offset must be an integer, got ${String(offset)}`);
    const a1 = normalizeAxis(axis1, t.ndim, "diagonal");
    const a2 = normalizeAxis(axis2, t.ndim, "diagonal");
    if (a1 === a2) throw new ArgumentError(`diagonal: axis1 and axis2 cannot be the same (${a1}) for ${str(t)}`);
    const m = moveaxis(t, [a1, a2], [-2, -1]);
    const r = m.shape[m.ndim - 2];
    const c = m.shape[m.ndim - 1];
    const n = Math.max(0, Math.min(r - Math.max(0, -offset), c - Math.max(0, offset)));
    const rows = Array.fromTyped(Int32Array.from(Array_range(0, n), (i) => i + Math.max(0, -offset)), [n], "int32");
    const cols = Array.fromTyped(Int32Array.from(Array_range(0, n), (i) => i + Math.max(0, offset)), [n], "int32");
    return index(m, ["...", rows, cols]);
  });
}

/** Sum along a diagonal. */
export function trace(x: ArrayLike, offset = 0, axis1 = 0, axis2 = 1): Tracer {
  return asCalledFrom("trace", () => {
    return sum(diagonal(x, offset, axis1, axis2), -1);
  });
}

// --- einsum -------------------------------------------------------------------

interface Operand {
  t: Tracer;
  labels: string[];
}

/** One operand's axis labels in einsum's sublist form: integers in [0, 52), and "..." for numpy's Ellipsis. */
export type EinsumSublist = readonly (number | "...")[];

/** numpy's (and opt_einsum's) letters for the integer labels of the sublist form. */
const SUBLIST_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The subscripts string and operands of einsum's sublist form: op0, sub0, op1, sub1, ..., [outputSublist]. */
function sublistForm(args: readonly unknown[]): { subscripts: string; operands: ArrayLike[] } {
  const letters = (sub: unknown, what: string): string => {
    if (!globalThis.Array.isArray(sub)) {
      throw new ArgumentError(`einsum: ${what} must be a sublist like [0, 1] (integer labels, "..." for an ellipsis), got ${JSON.stringify(sub)}`);
    }
    return sub
      .map((label) => {
        if (label === "...") return "...";
        if (!Number.isInteger(label) || label < 0 || label >= SUBLIST_LETTERS.length) {
          throw new ArgumentError(`einsum: ${what} holds ${JSON.stringify(label)}; sublist labels are integers in [0, ${SUBLIST_LETTERS.length}) or "..."`);
        }
        return SUBLIST_LETTERS[label as number];
      })
      .join("");
  };
  const pairs = Math.floor(args.length / 2);
  if (pairs === 0) throw new ArgumentError("einsum: the sublist form needs at least one operand and its sublist: einsum(a, [0, 1], b, [1, 2], [0, 2])");
  const operands: ArrayLike[] = [];
  const inputs: string[] = [];
  for (let i = 0; i < pairs; i++) {
    operands.push(args[2 * i] as ArrayLike);
    inputs.push(letters(args[2 * i + 1], `the sublist of operand ${i}`));
  }
  const output = args.length % 2 === 1 ? `->${letters(args[args.length - 1], "the output sublist")}` : "";
  return { subscripts: inputs.join(",") + output, operands };
}

/**
 * einsum(subscripts, ...operands), e.g. "ij,jk->ik", "bij,bjk->bik", "ii->i",
 * "...ij,...jk->...ik", or implicit output "ij,jk" (labels used once, sorted);
 * or numpy's sublist form einsum(a, [0, 1], b, [1, 2], [0, 2]) with integer
 * labels ("..." for an ellipsis) and an optional output sublist last.
 * Contracts operands left to right with dot_general.
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Tracer;
export function einsum(operand: ArrayLike, sublist: EinsumSublist, ...more: (ArrayLike | EinsumSublist)[]): Tracer;
export function einsum(first: string | ArrayLike, ...rest: (ArrayLike | EinsumSublist)[]): Tracer {
  if (typeof first !== "string") {
    const parsed = sublistForm([first, ...rest]);
    return einsum(parsed.subscripts, ...parsed.operands);
  }
  const subscripts = first;
  const operands = rest as ArrayLike[];
  const ts = promoteArgs("einsum", operands, { broadcast: false }).args;
  const spec = subscripts.replace(/\s+/g, "");
  const arrow = spec.indexOf("->");
  const lhs = arrow >= 0 ? spec.slice(0, arrow) : spec;
  const inSpecs = lhs.split(",");
  if (inSpecs.length !== ts.length) {
    throw new ArgumentError(`einsum: subscripts "${subscripts}" name ${inSpecs.length} operands but ${ts.length} were given`);
  }
  // Ellipsis dims get private labels (digits), right-aligned across operands.
  let ellRank = 0;
  const parsed = inSpecs.map((s, i) => {
    const parts = s.split("...");
    if (parts.length > 2) throw new ArgumentError(`einsum: operand ${i} subscripts "${s}" have more than one "..."`);
    for (const ch of parts.join("")) {
      if (!/[a-zA-Z]/.test(ch)) throw new ArgumentError(`einsum: invalid subscript character ${JSON.stringify(ch)} in "${subscripts}"`);
    }
    const named = parts.join("").length;
    const hasEll = parts.length === 2;
    const t = ts[i];
    if (hasEll ? t.ndim < named : t.ndim !== named) {
      throw new ShapeError(`einsum: operand ${i} subscripts "${s}" do not match its rank: ${str(t)} (subscripts "${subscripts}")`);
    }
    const er = hasEll ? t.ndim - named : 0;
    ellRank = Math.max(ellRank, er);
    return { parts, hasEll, er };
  });
  const ellLabel = (k: number) => String(k); // k-th ellipsis dim counting from the left of the widest
  const ops: Operand[] = parsed.map((p, i) => {
    const labels = [...p.parts[0]];
    if (p.hasEll) {
      for (let k = ellRank - p.er; k < ellRank; k++) labels.push(ellLabel(k));
      labels.push(...p.parts[1]);
    }
    return { t: ts[i], labels };
  });
  // Output labels.
  let outLabels: string[];
  const ellAll = Array_range(0, ellRank).map(ellLabel);
  if (arrow >= 0) {
    const rhs = spec.slice(arrow + 2);
    const parts = rhs.split("...");
    if (parts.length > 2) throw new ArgumentError(`einsum: output subscripts "${rhs}" have more than one "..."`);
    outLabels = parts.length === 2 ? [...parts[0], ...ellAll, ...parts[1]] : [...rhs];
    if (parts.length === 1 && ellRank > 0 && parsed.some((p) => p.hasEll)) {
      // numpy allows dropping "..." from the output only when it is empty; we sum it out.
    }
    for (const l of outLabels) {
      if (!/[0-9]/.test(l) && !ops.some((o) => o.labels.includes(l))) {
        throw new ArgumentError(`einsum: output subscript ${JSON.stringify(l)} does not appear in the inputs of "${subscripts}"`);
      }
    }
    if (new Set(outLabels).size !== outLabels.length) throw new ArgumentError(`einsum: output subscripts "${rhs}" repeat a label`);
  } else {
    const counts = new Map<string, number>();
    for (const o of ops) for (const l of o.labels) if (!/[0-9]/.test(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
    outLabels = [...ellAll, ...[...counts.keys()].filter((l) => counts.get(l) === 1).sort()];
  }
  // Label sizes (size-1 dims broadcast).
  const sizes = new Map<string, number>();
  for (const o of ops) {
    o.labels.forEach((l, d) => {
      const n = o.t.shape[d];
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, n);
      else if (n !== prev && n !== 1) {
        throw new ShapeError(`einsum: size of label ${JSON.stringify(/[0-9]/.test(l) ? "..." : l)} differs between operands: ${prev} vs ${n} (subscripts "${subscripts}", operands ${ts.map(str).join(", ")})`);
      }
    });
  }
  // Per operand: take diagonals of repeated labels, broadcast size-1 dims, sum labels used nowhere else.
  let work = ops.map((o, i) => prepareOperand(o, i, ops, outLabels, sizes));
  while (work.length > 1) {
    const [A, B, ...more] = work;
    const later = new Set([...outLabels, ...more.flatMap((o) => o.labels)]);
    const batch = A.labels.filter((l) => B.labels.includes(l) && later.has(l));
    const contract = A.labels.filter((l) => B.labels.includes(l) && !later.has(l));
    const aFree = A.labels.filter((l) => !B.labels.includes(l));
    const bFree = B.labels.filter((l) => !A.labels.includes(l));
    const out = dotGeneral(
      A.t,
      B.t,
      contract.map((l) => A.labels.indexOf(l)),
      contract.map((l) => B.labels.indexOf(l)),
      batch.map((l) => A.labels.indexOf(l)),
      batch.map((l) => B.labels.indexOf(l)),
    );
    let next: Operand = { t: out, labels: [...batch, ...aFree, ...bFree] };
    next = sumUnused(next, new Set([...outLabels, ...more.flatMap((o) => o.labels)]));
    work = [next, ...more];
  }
  const fin = sumUnused(work[0], new Set(outLabels));
  const perm = outLabels.map((l) => fin.labels.indexOf(l));
  return transpose(fin.t, perm);
}

function sumUnused(o: Operand, keep: Set<string>): Operand {
  const drop = o.labels.map((l, d) => (keep.has(l) ? -1 : d)).filter((d) => d >= 0);
  if (drop.length === 0) return o;
  return { t: sum(o.t, drop), labels: o.labels.filter((l) => keep.has(l)) };
}

function prepareOperand(o: Operand, i: number, all: Operand[], outLabels: string[], sizes: Map<string, number>): Operand {
  let { t, labels } = o;
  // Repeated labels within one operand: take the diagonal.
  for (;;) {
    const dup = labels.find((l, d) => labels.indexOf(l) !== d);
    if (dup === undefined) break;
    const d1 = labels.indexOf(dup);
    const d2 = labels.indexOf(dup, d1 + 1);
    if (t.shape[d1] !== t.shape[d2]) throw new ShapeError(`einsum: repeated label ${dup} in operand ${i} covers dims of different sizes (${str(t)})`);
    t = diagonal(t, 0, d1, d2); // the diagonal is appended last
    labels = [...labels.filter((_, d) => d !== d1 && d !== d2), dup];
  }
  // Broadcast size-1 dims to the label's size.
  const target = labels.map((l) => sizes.get(l) as number);
  if (target.some((n, d) => n !== t.shape[d])) t = broadcastTo(t, target);
  const others = new Set([...outLabels, ...all.filter((_, j) => j !== i).flatMap((p) => p.labels)]);
  return sumUnused({ t, labels }, others);
}
