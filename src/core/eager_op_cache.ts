// The eager op cache: what the eval trace learns the first time it runs a
// first-order primitive on operands of given types, kept so that the next
// operation of the same signature (backend, primitive, input avals, params)
// only looks it up. A signature's entry holds the shape rule's answer (output
// avals: a hit means the rule already accepted these inputs, so bad input still
// gets its typed error on first use), the device bytes the operation touches
// (for the memory limit check) and the backend's prepared runner.
//
// The lookup allocates nothing: a trie over the operands' aval keys (strings
// built once per aval, so their hashes are cached) under a per-primitive root,
// then a structural comparison of params against the few entries at that node.
// Params are compared, not serialized, because building a string key per call
// (JSON.stringify) costs more than the whole lookup, and JSON would confuse NaN,
// ±Infinity and null (a gather's fillValue).

import type { ShapedArray } from "./aval";
import type { Backend, OpRunner } from "./backend";
import type { FirstOrderPrimitive, ParamsOf } from "./primitives";

/** One cached signature: everything an eager operation needs besides its buffers. */
export interface PreparedOp {
  /** A private deep copy of the params the entry was built for (callers may reuse theirs). */
  readonly params: unknown;
  readonly outAvals: ShapedArray[];
  /** Device bytes of the inputs and of the outputs, for the memory limit check. */
  readonly inBytes: number;
  readonly outBytes: number;
  readonly runner: OpRunner<unknown>;
}

/** A cached signature and when it was last used (for least-recently-used eviction). */
interface CachedOp {
  readonly op: PreparedOp;
  /** The cache's clock at the entry's last lookup or store. */
  lastUse: number;
}

class SignatureNode {
  /** Children by the next operand's aval key. */
  readonly next = new Map<string, SignatureNode>();
  /** Entries whose operands end here, told apart by their params. */
  readonly ops: CachedOp[] = [];
}

/**
 * Distinct signatures kept per backend unless the backend asks for fewer
 * (Backend.preparedOpCapacity). An eager loop over ever-new shapes (a growing
 * sequence) would otherwise keep one compiled program per shape forever; 4096
 * is far more than a model's working set, so a steady loop never reaches it.
 */
export const DEFAULT_PREPARED_OP_CAPACITY = 4096;

/**
 * Share of the capacity that one eviction removes: the least recently used
 * quarter. Evicting in batches keeps the hit path to one counter store (no
 * reordering of a recency list) and costs O(log n) a store, amortised.
 */
const EVICTED_SHARE = 0.25;

/**
 * How many entries a store into a cache holding `size` must evict first: none
 * below `capacity`, else down to the capacity less the evicted share. Shared
 * with the eager composites' cache (transforms/compiled_call.ts).
 */
export function evictionCount(size: number, capacity: number): number {
  return size < capacity ? 0 : size - capacity + Math.max(1, Math.floor(capacity * EVICTED_SHARE));
}

/**
 * The last-use stamp from which entries stay when the `count` oldest of
 * `stamps` go (Infinity: all go). Stamps are distinct (one clock tick per use),
 * so exactly `count` are older.
 */
export function oldestKeptStamp(stamps: number[], count: number): number {
  return count >= stamps.length ? Infinity : stamps.sort((a, b) => a - b)[count];
}

/** Calls `drop` on the `count` least recently used of `items` (`lastUseOf`: their last-use stamps). */
export function dropLeastRecentlyUsed<T>(items: Iterable<T>, lastUseOf: (item: T) => number, count: number, drop: (item: T) => void): void {
  const all = [...items];
  const oldestKept = oldestKeptStamp(all.map(lastUseOf), count);
  for (const item of all) if (lastUseOf(item) < oldestKept) drop(item);
}

interface BackendCache {
  readonly roots: Map<FirstOrderPrimitive, SignatureNode>;
  size: number;
  /** Advances on every lookup hit and store. */
  clock: number;
}

const caches = new Map<Backend, BackendCache>();
// The last backend's cache, so the common single-backend case skips a Map lookup.
let lastBackend: Backend | null = null;
let lastCache: BackendCache | null = null;

function cacheOf(backend: Backend): BackendCache {
  if (backend === lastBackend) return lastCache!;
  let c = caches.get(backend);
  if (!c) caches.set(backend, (c = { roots: new Map(), size: 0, clock: 0 }));
  lastBackend = backend;
  lastCache = c;
  return c;
}

/** The cached entry for this signature, or null. */
export function lookupPreparedOp(backend: Backend, prim: FirstOrderPrimitive, avals: readonly ShapedArray[], params: object): PreparedOp | null {
  const cache = cacheOf(backend);
  let node = cache.roots.get(prim);
  for (let i = 0; node !== undefined && i < avals.length; i++) node = node.next.get(avals[i].key());
  if (node === undefined) return null;
  const ops = node.ops;
  for (let i = 0; i < ops.length; i++) {
    if (sameParams(ops[i].op.params, params)) {
      ops[i].lastUse = ++cache.clock;
      return ops[i].op;
    }
  }
  return null;
}

/**
 * Eager signatures `backend` keeps (read at every store: a backend may change
 * it, e.g. WebGPU with shape-specialised shaders). The eager composites' cache
 * (transforms/compiled_call.ts) follows it too.
 */
export function preparedOpCapacity(backend: Backend): number {
  return Math.max(1, Math.floor(backend.preparedOpCapacity ?? DEFAULT_PREPARED_OP_CAPACITY));
}

/**
 * Remember `op` (built by the caller after the shape rule accepted the
 * operands) for its signature. At the backend's capacity, the least recently
 * used quarter of its entries is released first.
 */
export function storePreparedOp(backend: Backend, prim: FirstOrderPrimitive, avals: readonly ShapedArray[], op: PreparedOp): void {
  const cache = cacheOf(backend);
  const evicted = evictionCount(cache.size, preparedOpCapacity(backend));
  if (evicted > 0) evictLeastRecentlyUsed(cache, evicted);
  let node: SignatureNode | undefined = cache.roots.get(prim);
  if (node === undefined) cache.roots.set(prim, (node = new SignatureNode()));
  for (const a of avals) {
    const k = a.key();
    let child: SignatureNode | undefined = node.next.get(k);
    if (child === undefined) node.next.set(k, (child = new SignatureNode()));
    node = child;
  }
  node.ops.push({ op, lastUse: ++cache.clock });
  cache.size++;
}

/** Releases the `count` least recently used entries (their runners: compiled programs, WebGPU pipelines) and prunes emptied nodes. */
function evictLeastRecentlyUsed(cache: BackendCache, count: number): void {
  const stamps: number[] = [];
  const collect = (node: SignatureNode): void => {
    for (const e of node.ops) stamps.push(e.lastUse);
    for (const child of node.next.values()) collect(child);
  };
  for (const root of cache.roots.values()) collect(root);
  if (count >= stamps.length) {
    clearBackendCache(cache);
    return;
  }
  const oldestKept = oldestKeptStamp(stamps, count);
  /** Drops the old entries under `node`; true when nothing is left there. */
  const prune = (node: SignatureNode): boolean => {
    let kept = 0;
    for (const e of node.ops) {
      if (e.lastUse < oldestKept) e.op.runner.dispose();
      else node.ops[kept++] = e;
    }
    node.ops.length = kept;
    for (const [key, child] of node.next) if (prune(child)) node.next.delete(key);
    return kept === 0 && node.next.size === 0;
  };
  for (const [prim, root] of cache.roots) if (prune(root)) cache.roots.delete(prim);
  cache.size -= count;
}

function clearBackendCache(cache: BackendCache): void {
  const release = (node: SignatureNode): void => {
    for (const e of node.ops) e.op.runner.dispose();
    for (const child of node.next.values()) release(child);
  };
  for (const root of cache.roots.values()) release(root);
  cache.roots.clear();
  cache.size = 0;
}

/** Drop every cached signature of every backend (tests; a backend that closes). */
export function clearPreparedOps(): void {
  for (const c of caches.values()) clearBackendCache(c);
}

/** The number of cached signatures for `backend`. */
export function preparedOpCount(backend: Backend): number {
  return caches.get(backend)?.size ?? 0;
}

/** A deep copy of params for an entry: a caller's array may be reused and mutated after the call. */
export function freezeParams<P extends FirstOrderPrimitive>(params: ParamsOf<P>): ParamsOf<P> {
  return structuredClone(params);
}

/**
 * Structural equality of two params values as the shape rules and kernels see
 * them: numbers by Object.is (NaN equals NaN, -0 differs from 0, as a fill
 * value can tell), arrays elementwise, plain objects key by key.
 */
export function sameParams(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const aIsArray = globalThis.Array.isArray(a);
  if (aIsArray !== globalThis.Array.isArray(b)) return false;
  if (aIsArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameParams(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameParams(x[k], y[k])) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}
