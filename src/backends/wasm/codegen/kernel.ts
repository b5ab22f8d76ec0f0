// Compiler of fused elementwise / reduction kernels to WebAssembly SIMD: the
// public entry (compileKernel), its module and instance caches and its runner;
// the code generator itself is kernel_loops.ts.
//
// A KernelSpec describes one fused group as a scalar DAG evaluated at every
// point of an iteration space; `compileKernel` turns it into a wasm module
// that imports the backend's linear memory ("env"."memory", plain or shared)
// and exports `kernel(in0, ..., inN-1, out0, ..., outM-1)`, whose arguments are
// byte pointers into that memory.
//
//   interface KernelSpec {
//     shape: number[];        // iteration space (= output shape for elementwise,
//                             //   = input shape for reductions)
//     inputs: { dtype; strides: number[] }[]  // element strides per iteration dim;
//                             //   0 = broadcast along that dim; negative allowed
//                             //   (the pointer passed to run() addresses the element
//                             //   at iteration index 0)
//     nodes: KernelNode[];    // the DAG in topological order (args refer to earlier nodes)
//     outputs: { node; dtype }[]   // dense row-major outputs of `shape`, or of the
//                             //   shape with the reduced axes removed
//     reduction?: { op: "sum"|"prod"|"max"|"min"|"and"|"or"; axes: number[] }
//                             // every output is reduced over these axes
//   }
//
// Nodes: {op:"input", input: k} | {op:"const", value, dtype} |
// {op, args, dtype} with the ops of `ScalarOp` (see ARITY in kernel_spec.ts for arities; `dtype`
// is the result dtype) | {op:"integer_pow", args:[x], y, dtype}. dtypes:
// float32, int32, uint32, bool (stored as one byte 0/1; in registers as i32
// lanes 0/1). Semantics follow the reference interpreter
// (backends/interpreter/rules/elementwise.ts): max/min propagate NaN, round is
// half away from zero (`nearest` is half to even), int division truncates with
// x/0 = -1 (all ones) and INT_MIN/-1 = INT_MIN, x%0 = x, shifts by >= 32 give 0,
// float->int converts truncate and saturate (NaN -> 0), anything->bool is x != 0,
// `select` is lax.select_n(pred, onFalse, onTrue) (int preds clamp), and
// `clamp` is (lo, x, hi). Float reductions accumulate in f32 (the interpreter
// in f64), in several vector accumulators, so sums differ by rounding; long
// inner float sums/products are blocked (see REDUCTION_BLOCKS) so their error
// grows with the logarithm of the length, not the length.
//
// Code shape: the iteration space is canonicalised (size-1 dims dropped,
// adjacent dims merged when every operand is linear across them), then a loop
// nest walks it with one pointer per operand. The innermost dim runs 4-wide:
// inputs contiguous in it are loaded with v128.load, broadcast ones (stride 0)
// are splatted once per row, others are gathered lane by lane. Nodes that read
// only broadcast operands are computed once per row, or once per call when
// every operand they read is broadcast along every dim (kernel_loops.ts
// placeNodes: an optimizer's scalar factors, a per-row bias's special
// function). Short rows (up
// to 4 vectors, 2 for heavy DAGs) are unrolled: no inner loop, no pointer
// updates, the element offsets in the memargs, the parent's pointers used
// directly. The n % 4 tail is one partial vector (1-3 elements loaded and
// stored; its filler lanes repeat real elements so they cannot produce a
// subnormal or anything else the real lanes do not). When the innermost dim is
// reduced, it is reduced in up to 4 vector accumulators (the tail masked to the
// identity), then horizontally; when an outer dim is reduced, the
// (pre-initialised) outputs are accumulated into vector-wise. `run` calls the
// export with a fixed arity (no per-call allocation). Modules are cached by a
// canonical key.
//
// Subnormals: x86 takes a microcode assist (~100+ cycles) on float ops that
// produce a subnormal (and on multiplications that consume one), and wasm
// cannot set FTZ/DAZ (measured: a kernel 10-30x slower). The
// special functions avoid creating them internally (exp builds subnormal
// results as integers, see vecmath.ts); subnormals that the user's own
// arithmetic produces stay slow.

import { BackendError } from "../../../core/errors";
import { compileGenerated, isSharedMemory, probeRelaxedSimd } from "./assembler";
import { KernelCache } from "./instance_cache";
import { canonicalize, fail, inferDTypes, type Canon } from "./kernel_spec";
import { identityBits } from "./kernel_emit";
import { generate, type Generated } from "./kernel_loops";

export type { KDType, UnaryOp, BinaryOp, TernaryOp, ScalarOp, KernelNode, ReduceOp, KernelSpec } from "../../plan/kernel_graph";
import type { KernelSpec } from "../../plan/kernel_graph";

export interface CompileOptions {
  /** The linear memory the kernel reads and writes (imported as env.memory). */
  memory: WebAssembly.Memory;
  /** Use f32x4/f64x2.relaxed_madd in the special functions' polynomial evaluations (fused or
   * not, the engine's choice; every function stays within its documented ulp bound either way).
   * Defaults to `relaxedSimdAvailable()`; pass false for results that do not depend on the engine. */
  relaxedSimd?: boolean;
}

export interface CompiledKernel {
  /** Runs the kernel on byte pointers into the memory (one per input, one per output), with
   * `scratchPtr` addressing `scratchBytes` bytes of scratch when the kernel needs any. */
  run(inputPtrs: readonly number[], outputPtrs: readonly number[], scratchPtr?: number): void;
  /** The wasm module's bytes (empty for kernels with an empty iteration space). */
  readonly bytes: Uint8Array;
  /** A readable listing of the generated code. */
  text(): string;
  /** Bytes of scratch memory `run` needs (0: none): outer reductions over wide rows keep their
   * block-level partial sums there (codegen/outer_scratch.ts). Calls running at the same time need
   * distinct scratch. */
  readonly scratchBytes: number;
  /** The canonical cache key. */
  readonly key: string;
}

// --- compile + caches --------------------------------------------------------------------------

const cache = new KernelCache<{ module: WebAssembly.Module; gen: Generated }, CompiledKernel>("kernel");

/** Whether this engine runs relaxed-SIMD code (probed once by validating a tiny module, then
 * cached): Node >= 22 / recent browsers; Node 20 with `--experimental-wasm-relaxed-simd`. When
 * true, compileKernel uses `relaxed_madd` unless told otherwise. */
export function relaxedSimdAvailable(): boolean {
  return probeRelaxedSimd();
}

/** Number of kernel modules compiled so far, recompilations after eviction included (for tests and debugging). */
export function compiledModuleCount(): number {
  return cache.compiledModules;
}

function canonicalKey(spec: KernelSpec, canon: Canon, shared: boolean, relaxed: boolean): string {
  return JSON.stringify({
    s: canon.shape,
    r: canon.reduced,
    e: canon.empty,
    o: canon.outSize,
    st: canon.strides,
    i: spec.inputs.map((i) => i.dtype),
    n: spec.nodes,
    out: spec.outputs,
    ro: spec.reduction?.op ?? null,
    sh: shared,
    rx: relaxed,
  }, distinctNumbers);
}

/** JSON writes NaN and ±Infinity all as null and -0 as 0; constants with those values must not share a kernel. */
function distinctNumbers(_key: string, v: unknown): unknown {
  return typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${Object.is(v, -0) ? "-0" : v}` : v;
}

/** `run` is called once per kernel per program step, thousands of times a second on small
 * kernels: call the export with a fixed arity (no spread, no per-call allocation) where there
 * are few pointers; beyond that, through one reused argument array. */
function makeRunner(
  fn: (...ptrs: number[]) => void,
  nIn: number,
  nOut: number,
  check: (ins: readonly number[], outs: readonly number[]) => void,
): CompiledKernel["run"] {
  type R = CompiledKernel["run"];
  const f = fn as (...a: number[]) => void;
  if (nOut === 1) {
    const one: R[] = [
      (i, o) => (check(i, o), f(o[0])),
      (i, o) => (check(i, o), f(i[0], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], o[0])),
    ];
    if (nIn < one.length) return one[nIn];
  }
  if (nOut === 2 && nIn <= 3) {
    const two: R[] = [
      (i, o) => (check(i, o), f(o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0], o[1])),
    ];
    return two[nIn];
  }
  const args = new Array<number>(nIn + nOut).fill(0);
  return (ins, outs) => {
    check(ins, outs);
    for (let k = 0; k < nIn; k++) args[k] = ins[k];
    for (let k = 0; k < nOut; k++) args[nIn + k] = outs[k];
    Reflect.apply(f, undefined, args);
  };
}

/** The runner of a kernel that takes a scratch pointer after its outputs (wide outer reductions,
 * which run once per program step: the argument array is reused, not rebuilt). */
function scratchRunner(
  fn: (...ptrs: number[]) => void,
  nIn: number,
  nOut: number,
  scratchBytes: number,
  check: (ins: readonly number[], outs: readonly number[]) => void,
): CompiledKernel["run"] {
  const args = new Array<number>(nIn + nOut + 1).fill(0);
  return (ins, outs, scratch) => {
    check(ins, outs);
    if (!scratch) throw new BackendError(`kernel.run: this kernel needs ${scratchBytes} bytes of scratch memory; pass its address as the third argument`);
    for (let k = 0; k < nIn; k++) args[k] = ins[k];
    for (let k = 0; k < nOut; k++) args[nIn + k] = outs[k];
    args[nIn + nOut] = scratch;
    Reflect.apply(fn, undefined, args);
  };
}

/** Compiles (or fetches from the cache) the kernel of `spec` for `opts.memory`. */
export function compileKernel(spec: KernelSpec, opts: CompileOptions): CompiledKernel {
  const relaxed = opts.relaxedSimd ?? relaxedSimdAvailable();
  if (relaxed && !relaxedSimdAvailable()) fail("relaxedSimd was requested, but this engine does not support relaxed SIMD");
  const memory = opts.memory;
  const shared = isSharedMemory(memory);
  const dts = inferDTypes(spec);
  spec.outputs.forEach((o, i) => {
    if (!Number.isInteger(o.node) || o.node < 0 || o.node >= spec.nodes.length) fail(`output ${i} names a missing node ${o.node}`);
    if (dts[o.node] !== o.dtype) fail(`output ${i} has dtype ${o.dtype} but node ${o.node} produces ${dts[o.node]}`);
  });
  if (spec.outputs.length === 0) fail("a kernel needs at least one output");
  const canon = canonicalize(spec);
  const key = canonicalKey(spec, canon, shared, relaxed);

  const hit = cache.instance(memory, key);
  if (hit) return hit;

  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const checkPtrs = (ins: readonly number[], outs: readonly number[]): void => {
    if (ins.length !== nIn || outs.length !== nOut) {
      throw new BackendError(`kernel.run: expected ${nIn} input and ${nOut} output pointers, got ${ins.length} and ${outs.length}`);
    }
  };

  let kernel: CompiledKernel;
  if (canon.empty) {
    // nothing to iterate: reductions over empty axes fill their (non-empty) outputs with the identity
    kernel = {
      key,
      scratchBytes: 0,
      bytes: new Uint8Array(0),
      text: () => ";; empty iteration space: no code" + (spec.reduction ? "; outputs filled with the identity" : ""),
      run(ins, outs) {
        checkPtrs(ins, outs);
        if (!spec.reduction || canon.outSize === 0) return;
        outs.forEach((p, o) => {
          const dt = spec.outputs[o].dtype;
          const bits = identityBits(spec.reduction!.op, dt);
          if (dt === "bool") new Uint8Array(memory.buffer, p, canon.outSize).fill(bits);
          else new Int32Array(memory.buffer, p, canon.outSize).fill(bits);
        });
      },
    };
  } else {
    let cached = cache.module(key);
    if (!cached) {
      const gen = generate(spec, canon, dts, shared, relaxed);
      const module = compileGenerated("compileKernel", gen.bytes);
      cached = { module, gen };
      cache.setModule(key, cached);
    }
    const { module, gen } = cached;
    const env: Record<string, unknown> = { memory };
    if (gen.usesSin) env.sin = Math.sin;
    if (gen.usesCos) env.cos = Math.cos;
    const instance = new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
    const fn = instance.exports.kernel as (...ptrs: number[]) => void;
    const run = gen.scratchBytes > 0 ? scratchRunner(fn, nIn, nOut, gen.scratchBytes, checkPtrs) : makeRunner(fn, nIn, nOut, checkPtrs);
    kernel = { key, bytes: gen.bytes, text: () => gen.text, run, scratchBytes: gen.scratchBytes };
  }
  cache.setInstance(memory, key, kernel);
  return kernel;
}
