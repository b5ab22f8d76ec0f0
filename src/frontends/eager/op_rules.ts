// The backward rules of recorded eager ops, cached per op signature: an op's
// vjp traced at its first use, then jitted (forward and backward) from its
// second use on, in tables bounded so that a loop making fresh signatures
// cannot grow them without end.

import { Array as TfArray, isArray } from "../../core/array";
import type { DType } from "../../core/dtype";
import type { Backend } from "../../core/backend";
import { dropLeastRecentlyUsed, evictionCount, preparedOpCapacity } from "../../core/eager_op_cache";
import { ArgumentError } from "../../core/errors";
import type { Tracer } from "../../core/trace";
import { jit, vjp } from "../../../transforms";
import * as np from "../../numpy";

/** A tinyflow value as a concrete Array (of `dtype` where given): what the tape stores and the rules return. */
export const asArray = (x: Tracer | number | boolean, dtype?: DType): TfArray => {
  const a = np.asarray(x);
  if (!isArray(a)) throw new ArgumentError("eager: internal: expected a concrete Array");
  return dtype !== undefined && a.dtype !== dtype ? (np.astype(a, dtype) as TfArray) : a;
};

// The forward runs the op eagerly. The tape keeps what the backward needs:
// the op's rule, its operand values and which operands are differentiated.
// The rule is the vjp of the op's function, obtained once per op signature —
// (op, JS parameters, which operands are tensors to differentiate, constant
// arrays or numbers) — as a jitted function of (differentiated operands,
// constant operands, output cotangent); jit caches its compiled program per
// operand avals; the op's forward is jitted alongside. Tracing a vjp costs
// ~1–4 ms, so a signature is jitted only when it is seen a second time: a
// one-off op (a `lift` of a fresh closure) runs eagerly, then tinyflow's vjp
// once in its backward, and compiles nothing.

/** How an operand enters an op: a tensor to differentiate, a constant array, or a JS number. */
export type Kind = "d" | "c" | number;

/** (differentiated operand values, constant operand values, output cotangent) -> one cotangent per differentiated operand. */
export type BackwardRule = (diffs: TfArray[], consts: TfArray[], ct: TfArray) => TfArray[];

/** The op's forward as one jitted program: (differentiated operand values, constant operand values) -> output. */
export type Forward = (diffs: TfArray[], consts: TfArray[]) => TfArray;

/** The jitted forward and backward of a signature, and how to release their compiled programs. */
export interface JittedPair {
  forward: Forward;
  rule: BackwardRule;
  /** Forgets the traces and releases the compiled programs (when the signature is evicted). */
  release(): void;
}

export interface RuleEntry {
  uses: number;
  /** Set from the second use on: the jitted forward and backward of the signature. */
  jitted: JittedPair | null;
  /** The table's clock at the entry's last use (for least-recently-used eviction). */
  lastUse: number;
}

/** One table of signatures and the clock its entries' last uses are stamped with. */
interface RuleTable {
  readonly entries: Map<string, RuleEntry>;
  clock: number;
}

/** Rules of the built-in ops, keyed by op name, parameters and operand kinds. */
const builtinRules: RuleTable = { entries: new Map(), clock: 0 };
/** Rules of lifted/applied user functions, keyed by the function (dropped with it). */
const userRules = new WeakMap<Function, RuleTable>();

/** f applied to the operands, with the differentiated and constant ones taken from the given lists. */
function assemble(kinds: readonly Kind[], diffs: readonly Tracer[], consts: readonly Tracer[]): (Tracer | number)[] {
  let d = 0;
  let c = 0;
  return kinds.map((k) => (k === "d" ? diffs[d++] : k === "c" ? consts[c++] : k));
}

/** The op's backward by tinyflow's vjp, traced at each call (the first use of a signature). */
export function vjpRule(f: (...xs: (Tracer | number)[]) => Tracer, kinds: readonly Kind[]): BackwardRule {
  return (diffs, consts, ct) => {
    const [, pull] = vjp((...dv: Tracer[]) => f(...assemble(kinds, dv, consts)), ...diffs);
    return (pull(ct) as Tracer[]).map((c) => asArray(c));
  };
}

/**
 * The op's forward and backward as jitted programs (reused for every call
 * with the same signature and avals). The forward is jitted too: one
 * dispatch instead of one per primitive of a composite op (softmax, losses).
 */
function jittedPair(f: (...xs: (Tracer | number)[]) => Tracer, kinds: readonly Kind[]): JittedPair {
  const fwd = jit((diffs: Tracer[], consts: Tracer[]) => f(...assemble(kinds, diffs, consts)));
  const bwd = jit((diffs: Tracer[], consts: Tracer[], ct: Tracer) => {
    const [, pull] = vjp((...dv: Tracer[]) => f(...assemble(kinds, dv, consts)), ...diffs);
    return pull(ct) as Tracer[];
  });
  return {
    forward: (diffs, consts) => asArray(fwd(diffs, consts) as Tracer),
    rule: (diffs, consts, ct) => (bwd(diffs, consts, ct) as Tracer[]).map((c) => asArray(c)),
    release: () => {
      fwd.clearCache();
      bwd.clearCache();
    },
  };
}

// A JS number is part of the signature; -0 is kept apart from 0 (it changes e.g. a division's sign).
const numberKey = (n: number): string => (Object.is(n, -0) ? "-0" : String(n));

// An op whose JS number changes every call (x.mul(1 / step)) makes a new
// signature each time; each table is bounded so that such a loop does not grow
// it without end. At the bound the least recently used quarter goes, as in the
// eager op cache, whose per-backend capacity (4096 unless the backend asks for
// fewer) each table follows: the signatures a training loop uses every step
// stay compiled however many one-off signatures pass through.
/** Forgets the `count` least recently used signatures of `table`, releasing their compiled programs. */
function evictLeastRecentlyUsed(table: RuleTable, count: number): void {
  dropLeastRecentlyUsed(table.entries, ([, e]) => e.lastUse, count, ([k, e]) => {
    table.entries.delete(k);
    e.jitted?.release();
  });
}

/**
 * The cache entry of one op signature, its use counted; jitted from the second
 * use on. `backend` is where the op's operands live: its capacity bounds the table.
 */
export function signature(key: string | Function, f: (...xs: (Tracer | number)[]) => Tracer, kinds: readonly Kind[], backend: Backend): RuleEntry {
  const kindKey = kinds.map((k) => (typeof k === "number" ? numberKey(k) : k)).join(",");
  let table: RuleTable;
  let k: string;
  if (typeof key === "string") {
    table = builtinRules;
    k = `${key}|${kindKey}`;
  } else {
    table = userRules.get(key) ?? { entries: new Map(), clock: 0 };
    userRules.set(key, table);
    k = kindKey;
  }
  let entry = table.entries.get(k);
  if (entry === undefined) {
    const evicted = evictionCount(table.entries.size, preparedOpCapacity(backend));
    if (evicted > 0) evictLeastRecentlyUsed(table, evicted);
    entry = { uses: 0, jitted: null, lastUse: 0 };
    table.entries.set(k, entry);
  }
  entry.lastUse = ++table.clock;
  entry.uses++;
  if (entry.jitted === null && entry.uses >= 2) entry.jitted = jittedPair(f, kinds);
  return entry;
}

/** Signatures cached now for the user function `f`, or for all built-in ops without one (tests). */
export function signatureCount(f?: Function): number {
  return (f === undefined ? builtinRules : userRules.get(f))?.entries.size ?? 0;
}
