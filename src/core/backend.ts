// The backend interface — the one small surface that the interpreter, wasm
// and webgpu backends implement — and the registry that picks one.

import type { ShapedArray } from "./aval";
import type { TypedArray } from "./dtype";
import { BackendError } from "./errors";
import type { ClosedJaxpr } from "./ir";
import type { FirstOrderPrimitive, ParamsOf } from "./primitives";

/** A compiled jaxpr: buffers in, buffers out. `describe` shows the program (kernels, code). */
export interface Executable<Buf> {
  /**
   * `donated[i]`: the caller gives input i up, so its buffer may be reused for an output.
   * `destinations[k]`, where given: memory the caller wants output k written into (a row
   * from Backend.stackedRows). Where the program writes it there, it returns that very
   * buffer as output k, and the caller owns no new reference to it; otherwise output k is
   * the program's own buffer, as without destinations. An output that is the same value as
   * output k (a scan carry that is also a y) is then that buffer too, again without a new
   * reference.
   */
  run(inputs: Buf[], donated?: readonly boolean[], destinations?: readonly (Buf | undefined)[]): Buf[];
  describe(): string;
  /** Time spent per step so far, where the backend measures it. */
  profile?(): string;
  /** Which equations of the compiled jaxpr each kernel computes (for drawing fusion; see tinyflow/viz). */
  fusionGroups?(): FusionGroup[];
  /** Releases what the program holds on the device (workspaces, uploaded constants, compiled
   * code); called when its cache entry is dropped (jit's clearCache, eviction). Not run afterwards. */
  dispose?(): void;
}

/**
 * One kernel (or library call) of a compiled program and the indices of the
 * equations of the compiled jaxpr whose values it computes. An elementwise
 * equation fused into several kernels (recomputed in each) is listed in each.
 */
export interface FusionGroup {
  /** What the kernel is, e.g. `fused kernel over [3]` or `sgemm 1x[2x3]·[3x4]`. */
  label: string;
  eqns: number[];
}

/** One first-order primitive ready to run on a backend's buffers (see Backend.prepareOp). */
export interface OpRunner<Buf> {
  /** Run on `inputs`; each returned buffer has one new owner (as Backend.free explains). */
  run(inputs: Buf[]): Buf[];
  /** Release what the runner holds (compiled code, workspace) once the eval trace drops it. */
  dispose(): void;
}

export interface Backend<Buf = unknown> {
  readonly name: string;
  /** Whether least-recently-used buffers may be spilled to the host to bound device memory (residency.ts). */
  readonly spillable?: boolean;
  /**
   * Eager signatures (prepared one-op runners) the eager op cache keeps for this backend before
   * it evicts the least recently used; absent: DEFAULT_PREPARED_OP_CAPACITY (core/eager_op_cache.ts).
   * Read at every cache store, so it may change (WebGPU lowers it with shape-specialised shaders).
   * The eager composites' cache and the eager front end's backward-rule tables follow it too.
   */
  readonly preparedOpCapacity?: number;
  /** Copy row-major host data into a new device buffer. */
  fromHost(data: TypedArray, aval: ShapedArray): Buf;
  /** Read a buffer back to the host. Throws BackendError where the device can only read asynchronously. */
  readSync(buf: Buf, aval: ShapedArray): TypedArray;
  read(buf: Buf, aval: ShapedArray): Promise<TypedArray>;
  /** Release a buffer; called once per owner, by dispose() or when its Array is garbage-collected.
   * Every buffer returned by an OpRunner or an Executable has exactly one new owner, so a
   * backend that returns an input as an output must count references. */
  free(buf: Buf): void;
  /**
   * Prepare one first-order primitive for eager mode: the eval trace calls this once per
   * signature (primitive, params, input avals; inputs passed its shape rule and outAvals
   * are its result), caches the runner, and calls it on every operation of that signature.
   */
  prepareOp<P extends FirstOrderPrimitive>(prim: P, params: ParamsOf<P>, inAvals: ShapedArray[], outAvals: ShapedArray[]): OpRunner<Buf>;
  /** Compile a closed jaxpr (consts already uploaded) into one program. Returns null when the
   * backend cannot compile it (callers then run it op by op). */
  compile(jaxpr: ClosedJaxpr, constBuffers: Buf[]): Executable<Buf> | null;
  /**
   * Where the device reads back asynchronously only (a GPU): how a compiled while loop or cond,
   * whose predicate or index lives on the device, still runs inside a synchronous call.
   * Absent where `readSync` works on every buffer.
   */
  readonly deferred?: DeferredExecution<Buf>;
  /**
   * Where compiled programs can write outputs into rows of a larger buffer (Executable.run's
   * `destinations`): a compiled scan writes each iteration's outputs straight into row t of its
   * stacked outputs instead of stacking them with copies after the loop. Absent: a scan stacks.
   */
  readonly stackedRows?: StackedRows<Buf>;
}

/** Rows of a buffer along its leading axis, as destinations of program outputs (Backend.stackedRows). */
export interface StackedRows<Buf> {
  /** A new buffer of `aval` (one owner), its contents undefined until written. */
  allocate(aval: ShapedArray): Buf;
  /** Row `index` of `buf` cut into `rows` equal rows: a view sharing buf's memory while buf lives; never freed. */
  row(buf: Buf, rows: number, index: number): Buf;
  /** Copies `src` over `dst`, a row of the same size. */
  copy(src: Buf, dst: Buf): void;
}

/**
 * Work queued in order on an asynchronous device (see Backend.deferred). A control-flow
 * step allocates its outputs at once, hands them out, and queues a driver (`defer`) that
 * reads what it must, runs the compiled bodies, and fills the outputs; everything queued
 * after it (later programs, frees, readbacks) waits for it, so callers never see the
 * difference except that `dataSync` is unavailable, as for any array on that device.
 */
export interface DeferredExecution<Buf> {
  /** A new buffer of `aval` whose contents queued work will write. */
  allocate(aval: ShapedArray): Buf;
  /** Another owner for `buf` (released with Backend.free). */
  retain(buf: Buf): Buf;
  /** Records a copy of `src` into `dst` (both of `aval`). */
  copy(src: Buf, dst: Buf, aval: ShapedArray): void;
  /** Queues `driver` behind everything queued so far; what is queued later waits for its promise. */
  defer(driver: () => Promise<void>): void;
  /**
   * Runs `f` (programs, frees) from inside a driver as the next work of the driver itself, not
   * behind it; `pending` settles once what `f` queued has run (it rejects with the device's
   * first error), null when nothing is pending.
   */
  nested<T>(f: () => T): { value: T; pending: Promise<void> | null };
  /** Reads `buf` now, from inside a driver once the work writing it has run (awaited `pending`). */
  readNow(buf: Buf, aval: ShapedArray): Promise<TypedArray>;
}

const backends = new Map<string, Backend>();
/** Names that stand for another backend, chosen at each lookup (e.g. "auto"). */
const aliases = new Map<string, () => Backend>();
let defaultName: string | null = null;

/** A name that resolves to a backend each time it is looked up, such as "auto" (WebGPU when it runs, else wasm). */
export function registerBackendAlias(name: string, resolve: () => Backend): void {
  aliases.set(name, resolve);
}

export function registerBackend(backend: Backend, { makeDefault = false } = {}): void {
  backends.set(backend.name, backend);
  if (makeDefault || defaultName === null) defaultName = backend.name;
}

export function getBackend(name?: string): Backend {
  const key = name ?? defaultName;
  if (key === null) throw new BackendError("no backend is registered; import 'tinyflow' (which registers the interpreter and wasm backends)");
  const alias = aliases.get(key);
  if (alias) return alias();
  const b = backends.get(key);
  if (!b) throw new BackendError(`unknown backend '${key}'; registered: ${[...backends.keys(), ...aliases.keys()].join(", ") || "none"}`);
  return b;
}

export function setDefaultBackend(name: string): void {
  getBackend(name);
  defaultName = name;
}

/**
 * `f()` with `name` as the default backend, restored afterwards: a jitted program run op by op
 * on one backend makes its literals and operand-less equations (zeros, iota) there too, so they
 * never mix with its arrays across backends (which would read a GPU array synchronously).
 */
export function withDefaultBackend<T>(name: string, f: () => T): T {
  const previous = defaultName;
  defaultName = name;
  try {
    return f();
  } finally {
    defaultName = previous;
  }
}

export function defaultBackendName(): string {
  return getBackend().name;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
