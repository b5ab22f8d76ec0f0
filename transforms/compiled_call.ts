// Running a jitted jaxpr on concrete arrays as one compiled program. The
// program belongs to the jaxpr (as in Autodidax's xla_call_impl): it is
// optimized and compiled once per (jaxpr, backend) and cached on the jaxpr
// object, so a direct `jit(f)(x)` call and a pjit equation met by the eval
// trace (inside grad, vmap, an evaluated jaxpr...) share one executable.

import { Array as ArrayImpl, type Array } from "../src/core/array";
import { getBackend, withDefaultBackend, type Backend } from "../src/core/backend";
import { evalJaxpr, literalValue } from "../src/core/eval_jaxpr";
import { FloatingPointError, checkOutputs, currentSite, floatChecksOn, siteOf, withSite } from "../src/core/debug";
import { checkedTypedFrom, resultDType, weakDTypeOfNumbers } from "../src/core/dtype";
import { Literal, type Atom, type ClosedJaxpr, type Var } from "../src/core/ir";
import type { ParamsOf } from "../src/core/primitives";
import { dropLeastRecentlyUsed, evictionCount, preparedOpCapacity } from "../src/core/eager_op_cache";
import { beginOperation, deviceBytesOf, heldByRecipe, offerForTaking, takeBlocksFor, worthTaking, type Producer } from "../src/core/residency";
import { higherOrderShapeRules } from "../src/core/shape_rules/higher_order";
import { bind, isTracer, type ArrayLike, type Tracer } from "../src/core/trace";
import { buildProgram, releaseProgram, type Program } from "./compiled_program";
import { hoistConsts, leafToTracer, traceFlatToJaxpr } from "./jaxpr_trace";

export type { Program };

const programs = new WeakMap<ClosedJaxpr, Map<Backend, Program>>();
let compileCount = 0;

/** How many (jaxpr, backend) programs have been built in this process: a probe for cache tests. */
export function programsBuilt(): number {
  return compileCount;
}

/** The optimized, compiled program of `jaxpr` on `backend`, built on first use. */
export function programFor(jaxpr: ClosedJaxpr, backend: Backend): Program {
  let perBackend = programs.get(jaxpr);
  if (!perBackend) programs.set(jaxpr, (perBackend = new Map()));
  let program = perBackend.get(backend);
  if (!program) {
    compileCount++;
    program = buildProgram(jaxpr, backend);
    perBackend.set(backend, program);
  }
  return program;
}

/**
 * Drops the compiled programs of `jaxpr` (every backend) and releases what they
 * hold on the device: workspaces, constants uploaded for them, compiled code
 * (control-flow bodies included). A
 * later call compiles again. jit's clearCache and its cache eviction call this.
 */
export function releasePrograms(jaxpr: ClosedJaxpr): void {
  const perBackend = programs.get(jaxpr);
  if (!perBackend) return;
  programs.delete(jaxpr);
  for (const program of perBackend.values()) releaseProgram(program);
}

/**
 * Where a call on `args` runs without a `backend` option: their common backend; where they
 * differ, the backend of an array that cannot move (one on a device read only asynchronously,
 * such as a GPU: the others are copied to it), else the default backend.
 */
function callBackend(args: readonly Array[]): Backend {
  if (args.length === 0) return getBackend();
  if (args.every((a) => a.backend === args[0].backend)) return args[0].backend;
  return args.find((a) => a.backend.deferred !== undefined)?.backend ?? getBackend();
}

/**
 * Run `jaxpr` on concrete arrays: its compiled program on `backend` when given
 * (jit's `backend` option), else on the arrays' common backend (else the default), or its optimized jaxpr op by op where the backend
 * cannot compile it. Donated inputs give their buffers to the program and are
 * invalid afterwards (disposed), as in JAX.
 */
export function runCompiled(name: string, jaxpr: ClosedJaxpr, args: readonly Array[], donated: readonly boolean[], requested?: Backend, constCount = 0): Tracer[] {
  const backend = requested ?? callBackend(args);
  const program = programFor(jaxpr, backend);
  beginOperation(name, backend, args.map((a) => a.aval), jaxpr.outAvals);
  const inputs = args.map((a) => a.to(backend.name));
  let outs: Tracer[];
  let offer: (() => void) | null = null;
  if (program.executable === null) {
    outs = withDefaultBackend(backend.name, () => evalJaxpr(program.optimized.jaxpr, program.constArrays, inputs));
  } else {
    const inBufs = inputs.map((a, i) => a.operandBuffer(i, inputs.length));
    // Read results may give their blocks to this call's outputs (residency.ts, "Taking read results")...
    takeBlocksFor(backend, jaxpr.outAvals);
    // ...and an input that a taken result's recipe reads is not overwritten. A donated input
    // moved to another backend is a temporary copy: nothing to give up.
    const inPlace = args.map((a, i) => donated[i] === true && inputs[i] === a && !heldByRecipe(a.residencyStorage()));
    const outBufs = program.executable.run(inBufs, inPlace);
    // Each returned buffer is owned by the Array made for it (a backend that returns
    // an input as an output hands out another reference to it).
    const outAvals = jaxpr.outAvals;
    outs = outBufs.map((buf, i) => new ArrayImpl(outAvals[i], backend, buf));
    const made = outs as ArrayImpl[];
    if (backend.spillable === true && !inPlace.includes(true)) offer = () => offerOutputs(name, jaxpr, backend, inputs, constCount, inBufs, made);
  }
  if (floatChecksOn()) checkCompiledOutputs(name, jaxpr, args, outs as Array[], donated);
  // After debugNans' check, whose reads are not the user's (a result read by it alone is not garbage).
  offer?.();
  args.forEach((a, i) => {
    if (donated[i] === true && !outs.includes(a) && !a.isDisposed) a.donate(name);
  });
  return outs;
}

/**
 * Offer the call's large outputs for taking once read (residency.ts, "Taking
 * read results"), with a recipe that runs the jaxpr's program again on `inputs`: those
 * whose buffer is the call's own (not an input's, not another output's) and
 * at least as large as the inputs together, not counting the first
 * `constCount` (constants the caller's cache holds anyway: a recipe does not
 * keep them alive any longer).
 */
function offerOutputs(
  name: string, jaxpr: ClosedJaxpr, backend: Backend, inputs: readonly ArrayImpl[], constCount: number, inBufs: readonly unknown[], outs: readonly ArrayImpl[],
): void {
  let inBytes = 0;
  let heldBytes = 0;
  inputs.forEach((a, i) => {
    const bytes = deviceBytesOf(a.aval);
    inBytes += bytes;
    if (i >= constCount) heldBytes += bytes;
  });
  let producer: Producer | null = null;
  for (let i = 0; i < outs.length; i++) {
    const out = outs[i];
    if (!worthTaking(out.aval) || deviceBytesOf(out.aval) < heldBytes) continue;
    const buf = out.residencyStorage().buf;
    if (inBufs.includes(buf) || outs.some((o, k) => k !== i && o.residencyStorage().buf === buf)) continue;
    producer ??= recipeOf(name, jaxpr, backend, inputs, inBytes);
    offerForTaking(out.residencyStorage(), producer, i);
  }
}

function recipeOf(name: string, jaxpr: ClosedJaxpr, backend: Backend, inputs: readonly ArrayImpl[], inBytes: number): Producer {
  let outBytes = 0;
  for (const a of jaxpr.outAvals) outBytes += deviceBytesOf(a);
  return {
    name,
    owners: inputs,
    storages: inputs.map((a) => a.residencyStorage()),
    inBytes,
    outBytes,
    recompute(buffers, index) {
      // The cached program of the jaxpr (`program` is released once dropped from the cache:
      // clearCache, eviction), else one built for this run alone.
      const cached = programs.get(jaxpr)?.get(backend);
      const run = cached ?? buildProgram(jaxpr, backend);
      try {
        const outBufs = run.executable!.run(buffers, []);
        outBufs.forEach((b, k) => {
          if (k !== index) backend.free(b);
        });
        return outBufs[index];
      } finally {
        if (cached === undefined) releaseProgram(run);
      }
    },
  };
}

/**
 * debugNans/debugInfs for a compiled call: when its outputs hold a NaN/Inf, run the traced
 * jaxpr again equation by equation (each checked by the eval trace, with the line that traced
 * it) so the error names the first culprit; when that does not reproduce it, or donated
 * inputs were overwritten, the call itself is named.
 */
function checkCompiledOutputs(name: string, jaxpr: ClosedJaxpr, args: readonly Array[], outs: Array[], donated: readonly boolean[]): void {
  try {
    checkOutputs(name, outs, currentSite());
  } catch (e) {
    if (!(e instanceof FloatingPointError) || donated.some(Boolean)) throw e;
    const env = new Map<Var, Tracer>();
    const read = (a: Atom): Tracer => (a instanceof Literal ? literalValue(a) : env.get(a)!);
    jaxpr.jaxpr.constvars.forEach((v, i) => env.set(v, jaxpr.consts[i]));
    jaxpr.jaxpr.invars.forEach((v, i) => env.set(v, args[i]));
    for (const eqn of jaxpr.jaxpr.eqns) {
      const res = withSite(siteOf(eqn), () => bind(eqn.primitive, eqn.inputs.map(read), eqn.params));
      eqn.outputs.forEach((v, i) => env.set(v, res[i]));
    }
    throw e;
  }
}

/** The eval rule of pjit: the call runs compiled, whatever transformation produced it. */
export function pjitImpl(args: Tracer[], params: ParamsOf<"pjit">): Tracer[] {
  // A program reads its inputs' memory as the types it was compiled for: check them first.
  higherOrderShapeRules.pjit(args.map((a) => a.aval), params);
  return runCompiled(`jit(${params.name})`, params.jaxpr, args as Array[], params.donatedInvars);
}

// --- eager composites (see applyComposite in src/core/eval_trace.ts) ----------------

interface Composite {
  jaxpr: ClosedJaxpr;
  consts: Array[];
  /** Where it is cached, to forget it on eviction. */
  table: Map<string, Composite>;
  key: string;
  /** compositeClock at its last use (for least-recently-used eviction). */
  lastUse: number;
}
const composites = new WeakMap<(...xs: ArrayLike[]) => Tracer, Map<string, Composite>>();
/**
 * Every cached composite. Bounded like the eager op cache (and by the same
 * per-backend capacity): an eager loop over ever-new shapes (`x.mul(2)` for
 * each new x) would otherwise keep a compiled program per shape forever — with
 * WebGPU's shape-specialised shaders, its pipelines too.
 */
const allComposites = new Set<Composite>();
let compositeClock = 0;

/** Composites cached now (tests). */
export function compositeCount(): number {
  return allComposites.size;
}

/** Forgets the `count` least recently used composites and releases their programs (every backend). */
function evictComposites(count: number): void {
  dropLeastRecentlyUsed(allComposites, (c) => c.lastUse, count, (c) => {
    allComposites.delete(c);
    c.table.delete(c.key);
    releasePrograms(c.jaxpr);
  });
}

/** Run a numpy composite on concrete operands as one program, traced once per operand signature. */
export function runComposite(where: string, fn: (...xs: ArrayLike[]) => Tracer, args: readonly ArrayLike[]): Tracer {
  // JS numbers become weakly typed scalar operands, so one program serves every value.
  const operands = scalarOperands(where, args);
  let table = composites.get(fn);
  if (!table) composites.set(fn, (table = new Map()));
  let key = "";
  for (const o of operands) key += o.aval.key() + ";";
  let entry = table.get(key);
  if (!entry) {
    const traced = traceFlatToJaxpr((...xs) => [fn(...xs)], operands.map((o) => o.aval));
    const { jaxpr, consts } = hoistConsts(traced.jaxpr);
    const evicted = evictionCount(allComposites.size, preparedOpCapacity(callBackend(operands)));
    if (evicted > 0) evictComposites(evicted);
    entry = { jaxpr, consts: consts as Array[], table, key, lastUse: 0 };
    table.set(key, entry);
    allComposites.add(entry);
  }
  entry.lastUse = ++compositeClock;
  const [out] = runCompiled(where, entry.jaxpr, entry.consts.length > 0 ? [...entry.consts, ...operands] : operands, [], undefined, entry.consts.length);
  operands.forEach((o, i) => {
    if (o !== args[i]) o.dispose();
  });
  return out;
}

/**
 * The operands of a composite with each JS number made a weak scalar of the
 * dtype the number policy gives it next to the array operands (see
 * resultTypeOf in src/numpy/promote.ts): `x_int32.add(1)` stays int32, a
 * fraction makes the numbers weak float32, and a number an integer dtype
 * cannot hold is a DTypeError, exactly as on the op-by-op path.
 */
function scalarOperands(where: string, args: readonly ArrayLike[]): Array[] {
  const typed = args.filter(isTracer).map((t) => ({ dtype: t.dtype, weakType: t.weakType }));
  const others = typed.length > 0 ? resultDType(typed, where) : undefined;
  const numbers = args.filter((a): a is number => typeof a === "number");
  const weak = weakDTypeOfNumbers(numbers, others);
  return args.map((a) => {
    if (isTracer(a)) return a as Array;
    if (typeof a === "number") return ArrayImpl.fromTyped(checkedTypedFrom(where, weak.dtype, [a]), [], weak.dtype, { weakType: true });
    return leafToTracer(a) as Array;
  });
}
