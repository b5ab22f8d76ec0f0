// The backend interface — the one small surface that the interpreter, wasm
// and webgpu backends implement — and the registry that picks one.

import type { ShapedArray } from "./aval";
import type { TypedArray } from "./dtype";
import { BackendError } from "./errors";
import type { ClosedJaxpr } from "./ir";
import type { FirstOrderPrimitive, ParamsOf } from "./primitives";

/** A compiled jaxpr: buffers in, buffers out. `describe` shows the program (kernels, code). */
export interface Executable<Buf> {
  /** `donated[i]`: the caller gives input i up, so its buffer may be reused for an output. */
  run(inputs: Buf[], donated?: readonly boolean[]): Buf[];
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

export function defaultBackendName(): string {
  return getBackend().name;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
