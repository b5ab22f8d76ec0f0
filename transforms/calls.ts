// Call-like higher-order primitives and their user APIs: jit (pjit),
// customJvp (custom_jvp_call), customVjp (custom_vjp_call + custom_lin) and
// checkpoint. Each carries a jaxpr; their rules derive a new jaxpr from it
// (call_jaxprs.ts) and bind the same primitive again, so the call boundary --
// and for pjit its compiled program (compiled_call.ts) -- survives every transformation.

import { isArray, type Array } from "../src/core/array";
import { getBackend, type FusionGroup } from "../src/core/backend";
import type { ShapedArray } from "../src/core/aval";
import { isFloat } from "../src/core/dtype";
import { ArgumentError, CustomRuleError, TransformError } from "../src/core/errors";
import { evalClosedJaxpr, evalJaxpr } from "../src/core/eval_jaxpr";
import type { ClosedJaxpr, Jaxpr } from "../src/core/ir";
import type { ParamsOf } from "../src/core/primitives";
import { checkOptions, opt, type OptionRules } from "../src/core/options";
import * as tree from "../src/core/pytree";
import { atEvalLevel, bind, type Tracer } from "../src/core/trace";
import { traceSettingsKey } from "../src/core/trace_settings";
import { jvpJaxpr, partialEvalJaxpr, transposeJaxpr, vmapJaxpr } from "./call_jaxprs";
import { programFor, releasePrograms, runCompiled } from "./compiled_call";
import { hoistConsts, leafToTracer, traceFlatToJaxpr } from "./jaxpr_trace";
import { type JvpRule } from "./jvp";
import { partialEvalFlat, type PartialEvalRule, type PartialEvalTracer } from "./partial_eval";
import { Zero, instantiate, isZero, type Tangent } from "./tangents";
import { backwardPass, isUndefined, type TransposeRule } from "./transpose";
import { matchBatchDim, vmapFlat, type BatchDim, type VmapRule } from "./vmap";

type CallPrim = "pjit" | "custom_jvp_call" | "custom_vjp_call" | "custom_lin" | "checkpoint";

// --- re-tracing a jaxpr under jvp / vmap ----------------------------------------

/** Re-trace a jaxpr-carrying call under jvp: same primitive, jvp'd jaxpr. */
function jvpOfCall<P extends "pjit" | "checkpoint">(prim: P, inner: Jaxpr, innerConsts: readonly Tracer[], makeParams: (j: ClosedJaxpr) => ParamsOf<P>): JvpRule<P> {
  return (primals, tangents) => {
    const nonzero = tangents.map((t) => !isZero(t));
    const { jaxpr, consts, outNonzero } = jvpJaxpr(inner, innerConsts, primals.map((p) => p.aval), nonzero);
    const outs = bind(prim, [...consts, ...primals, ...(tangents.filter((t) => !isZero(t)) as Tracer[])], makeParams(jaxpr));
    const nOut = outNonzero.length;
    let k = nOut;
    const po = outs.slice(0, nOut);
    return [po, po.map((p, i) => (outNonzero[i] ? outs[k++] : new Zero(p.aval)))];
  };
}

/** The vmap of a jaxpr with every batched input (and every output) batched at axis 0. */
function vmapOfJaxpr(jaxpr: Jaxpr, consts: readonly Tracer[], axisSize: number, args: Tracer[], dims: BatchDim[]) {
  const moved = args.map((x, i) => (dims[i] === null ? x : matchBatchDim(x, dims[i], axisSize, 0)));
  const batched = vmapJaxpr(jaxpr, consts, axisSize, moved.map((x) => x.aval), dims.map((d) => d !== null));
  return { ...batched, args: moved };
}

function vmapOfCall<P extends "pjit" | "checkpoint">(prim: P, getInner: (p: ParamsOf<P>) => [Jaxpr, readonly Tracer[]], makeParams: (p: ParamsOf<P>, j: ClosedJaxpr) => ParamsOf<P>): VmapRule<P> {
  return (axisSize, args, dims, params) => {
    const [inner, innerConsts] = getInner(params);
    const { jaxpr, consts, args: moved } = vmapOfJaxpr(inner, innerConsts, axisSize, args, dims);
    const outs = bind(prim, [...consts, ...moved], makeParams(params, jaxpr));
    return [outs, outs.map(() => 0)];
  };
}

/** Apply a flat function to batched values, all moved (or broadcast) to axis 0. */
function vmapAllAt0(f: (...xs: Tracer[]) => Tracer[], axisSize: number, args: Tracer[], dims: BatchDim[]): Tracer[] {
  const moved = args.map((x, i) => matchBatchDim(x, dims[i], axisSize, 0));
  return vmapFlat(f, axisSize, moved, moved.map(() => 0), (n) => new globalThis.Array(n).fill(0));
}

// --- rules -----------------------------------------------------------------------

export const callJvpRules: { [P in CallPrim]: JvpRule<P> } = {
  pjit: (primals, tangents, params) =>
    jvpOfCall("pjit", params.jaxpr.jaxpr, params.jaxpr.consts, (j) => ({ jaxpr: j, name: `jvp(${params.name})`, donatedInvars: j.jaxpr.invars.map(() => false) }))(primals, tangents, params),
  checkpoint: (primals, tangents, params) =>
    jvpOfCall("checkpoint", params.jaxpr, [], (j) => ({ ...params, jaxpr: j.jaxpr }))(primals, tangents, params),
  custom_jvp_call: (primals, tangents, { jvp, numConsts }) => {
    const ts = tangents.map(instantiate);
    const [po, to] = jvp(primals.slice(numConsts), ts.slice(numConsts)) as [Tracer[], Tracer[]];
    return [po, to];
  },
  custom_vjp_call: (primals, tangents, { fwd, bwd, numConsts }) => {
    const [outs, res] = fwd(primals.slice(numConsts)) as [Tracer[], Tracer[]];
    const ts = tangents.slice(numConsts).map(instantiate);
    const tangentsOut = bind("custom_lin", [...res, ...ts], { bwd, numRes: res.length, outAvals: outs.map((o) => o.aval) });
    return [outs, tangentsOut];
  },
  custom_lin: () => {
    throw new TransformError("customVjp: the linearized function cannot itself be differentiated in forward mode; use reverse mode");
  },
};

export const callVmapRules: { [P in CallPrim]: VmapRule<P> } = {
  pjit: vmapOfCall("pjit", (p) => [p.jaxpr.jaxpr, p.jaxpr.consts], (p, j) => ({ jaxpr: j, name: `vmap(${p.name})`, donatedInvars: j.jaxpr.invars.map(() => false) })),
  checkpoint: vmapOfCall("checkpoint", (p) => [p.jaxpr, []], (p, j) => ({ ...p, jaxpr: j.jaxpr })),
  custom_jvp_call: (axisSize, args, dims, params) => {
    const { call, jvp, numConsts } = params;
    const { jaxpr, consts, args: moved } = vmapOfJaxpr(call.jaxpr, call.consts, axisSize, args.map((x, i) => matchBatchDim(x, dims[i], axisSize, 0)), dims.map(() => 0));
    const n = args.length - numConsts;
    const batchedJvp = (ps: Tracer[], ts: Tracer[]) => {
      const outs = vmapAllAt0((...a) => {
        const [po, to] = jvp(a.slice(0, n), a.slice(n)) as [Tracer[], Tracer[]];
        return [...po, ...to];
      }, axisSize, [...ps, ...ts], [...ps, ...ts].map(() => 0));
      return [outs.slice(0, outs.length / 2), outs.slice(outs.length / 2)];
    };
    const outs = bind("custom_jvp_call", [...consts, ...moved], { ...params, call: jaxpr, jvp: batchedJvp as typeof jvp, numConsts: numConsts + consts.length });
    return [outs, outs.map(() => 0)];
  },
  custom_vjp_call: (axisSize, args, dims, params) => {
    const { call, fwd, bwd, numConsts } = params;
    const { jaxpr, consts, args: moved } = vmapOfJaxpr(call.jaxpr, call.consts, axisSize, args.map((x, i) => matchBatchDim(x, dims[i], axisSize, 0)), dims.map(() => 0));
    let numOut = 0;
    const batchedFwd = (ps: Tracer[]) => {
      const flat = vmapAllAt0((...a) => {
        const [o, r] = fwd(a) as [Tracer[], Tracer[]];
        numOut = o.length;
        return [...o, ...r];
      }, axisSize, ps, ps.map(() => 0));
      return [flat.slice(0, numOut), flat.slice(numOut)];
    };
    const batchedBwd = (res: Tracer[], cts: Tracer[]) =>
      vmapAllAt0((...a) => (bwd(a.slice(0, res.length), a.slice(res.length)) as Tangent[]).map(instantiate), axisSize, [...res, ...cts], [...res, ...cts].map(() => 0));
    const outs = bind("custom_vjp_call", [...consts, ...moved], { ...params, call: jaxpr, fwd: batchedFwd as typeof fwd, bwd: batchedBwd as typeof bwd, numConsts: numConsts + consts.length });
    return [outs, outs.map(() => 0)];
  },
  custom_lin: (axisSize, args, dims, params) => {
    const { bwd, numRes } = params;
    const moved = args.map((x, i) => matchBatchDim(x, dims[i], axisSize, 0));
    const batchedBwd = (res: Tracer[], cts: Tracer[]) =>
      vmapAllAt0((...a) => (bwd(a.slice(0, numRes), a.slice(numRes)) as Tangent[]).map(instantiate), axisSize, [...res, ...cts], [...res, ...cts].map(() => 0));
    const outAvals = params.outAvals.map((a) => a.withShape([axisSize, ...a.shape]));
    const outs = bind("custom_lin", moved, { ...params, bwd: batchedBwd as typeof bwd, outAvals });
    return [outs, outs.map(() => 0)];
  },
};

export const callTransposeRules: { [P in CallPrim]: TransposeRule<P> | null } = {
  // A pjit of the transposed body: the backward pass of a jitted function runs compiled too.
  pjit: (cts, args, { jaxpr, name }) => {
    const linear = args.map(isUndefined);
    const ctNonzero = cts.map((c) => !isZero(c));
    if (!ctNonzero.some(Boolean)) return args.map((a, i) => (linear[i] ? new Zero(a.aval) : null));
    const t = transposeJaxpr(jaxpr.jaxpr, jaxpr.consts, linear, ctNonzero);
    const operands = [...t.consts, ...(args.filter((a) => !isUndefined(a)) as Tracer[]), ...(cts.filter((c) => !isZero(c)) as Tracer[])];
    const outs = t.ctInNonzero.some(Boolean) ? bind("pjit", operands, { jaxpr: t.jaxpr, name: `transpose(${name})`, donatedInvars: operands.map(() => false) }) : [];
    let k = 0, j = 0;
    return args.map((a, i) => (!linear[i] ? null : t.ctInNonzero[j++] ? outs[k++] : new Zero(a.aval)));
  },
  checkpoint: (cts, args, { jaxpr }) => backwardPass(jaxpr, [], args, cts),
  custom_jvp_call: null,
  custom_vjp_call: null,
  custom_lin: (cts, args, { bwd, numRes }) => {
    const res = args.slice(0, numRes) as Tracer[];
    const ctsIn = bwd(res, cts.map(instantiate)) as Tangent[];
    return [...res.map(() => null), ...ctsIn];
  },
};

export const callPartialEvalRules: { [P in CallPrim]: PartialEvalRule<P> } = {
  // Autodidax's xla_call_partial_eval: the known half runs now as a pjit of its
  // own (compiled at the level below), the unknown half is staged as another
  // pjit that takes the known half's residuals.
  pjit: (trace, tracers, params) => {
    const unknownIns = tracers.map((t) => !t.pval.isKnown);
    if (unknownIns.every(Boolean)) return trace.stage("pjit", tracers, params);
    const split = partialEvalJaxpr(params.jaxpr.jaxpr, params.jaxpr.consts, unknownIns);
    const knownOperands = [...split.consts, ...tracers.filter((t) => t.pval.isKnown).map((t) => t.knownValue())];
    const knownOuts = bind("pjit", knownOperands, { jaxpr: split.known, name: params.name, donatedInvars: knownOperands.map(() => false) });
    const numKnownOuts = knownOuts.length - split.numResiduals;
    const residuals = knownOuts.slice(numKnownOuts).map((r) => trace.lift(r) as PartialEvalTracer);
    const unknownOperands = [...residuals, ...tracers.filter((t) => !t.pval.isKnown)];
    const staged = split.outKnown.every(Boolean)
      ? []
      : trace.stage("pjit", unknownOperands, { jaxpr: split.unknown, name: params.name, donatedInvars: unknownOperands.map(() => false) });
    let k = 0, u = 0;
    return split.outKnown.map((known) => (known ? trace.lift(knownOuts[k++]) : staged[u++]));
  },
  custom_jvp_call: (_trace, tracers, { call }) => evalClosedJaxpr(call, tracers),
  custom_vjp_call: (_trace, tracers, { call }) => evalClosedJaxpr(call, tracers),
  custom_lin: (trace, tracers, params) => trace.stage("custom_lin", tracers, params, params.outAvals),
  // Remat: compute the known outputs now, but stage the whole function (primal
  // recomputation included) for the unknown ones, saving only its inputs.
  checkpoint: (trace, tracers, params) => {
    const { pvalsOut } = partialEvalFlat((...xs) => evalJaxpr(params.jaxpr, [], xs), tracers.map((t) => t.pval));
    const staged = trace.stage("checkpoint", tracers, params);
    return pvalsOut.map((p, i) => (p.isKnown ? trace.lift(p.known!) : staged[i]));
  },
};

// --- user APIs ---------------------------------------------------------------------

function flattenArgs(where: string, args: unknown[]) {
  const [leaves, inTree] = tree.flatten(args, where);
  return { tracers: leaves.map(leafToTracer), inTree };
}

// Static arguments are hashed by value, as JAX hashes its statics: numbers, strings,
// booleans, null/undefined, bigints, and JS arrays / plain objects of them (JAX's
// tuples) give the same key whenever they are equal, so a fresh but equal object
// reuses the trace and a mutated one retraces. Functions and class instances are
// keyed by identity (Python's default hash). Arrays and typed arrays are mutable
// buffers with no value hash (numpy arrays are unhashable in JAX too): a typed error.
const staticIdentityIds = new WeakMap<object, number>();
const staticSymbolIds = new Map<symbol, number>();
let nextStaticId = 0;
function identityKey(v: object): string {
  let id = staticIdentityIds.get(v);
  if (id === undefined) staticIdentityIds.set(v, (id = nextStaticId++));
  return `#${id}`;
}
function staticKey(where: string, position: number, v: unknown, path: string, seen: Set<object>): string {
  const fail = (what: string): never => {
    throw new ArgumentError(
      `${where}: static argument ${position}${path} is ${what}, which has no value hash; static arguments must be JS numbers, strings, booleans, ` +
        `null, functions, or arrays/plain objects of those -- pass arrays as dynamic (non-static) arguments, or convert it (e.g. x.tolist())`,
    );
  };
  if (v === null || v === undefined) return String(v);
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? "n-0" : `n${v}`;
    case "string":
      return `s${JSON.stringify(v)}`;
    case "boolean":
    case "bigint":
      return `${typeof v}${String(v)}`;
    case "symbol": {
      let id = staticSymbolIds.get(v);
      if (id === undefined) staticSymbolIds.set(v, (id = nextStaticId++));
      return `sym#${id}`;
    }
    case "function":
      return `f${identityKey(v)}`;
  }
  const obj = v as object;
  if (isArray(obj)) fail(`an array ${(obj as Array).aval.str()}`);
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) fail(`a ${obj.constructor.name}`);
  if (obj instanceof Map || obj instanceof Set) fail(`a ${obj.constructor.name}`);
  if (seen.has(obj)) fail("a cyclic structure");
  seen.add(obj);
  try {
    if (globalThis.Array.isArray(obj)) return `[${obj.map((x, i) => staticKey(where, position, x, `${path}[${i}]`, seen)).join(",")}]`;
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) return `o${identityKey(obj)}`;
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${staticKey(where, position, (obj as Record<string, unknown>)[k], `${path}.${k}`, seen)}`).join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}

/** Signatures one jitted function keeps traced (and compiled) before it forgets the least recently used. */
const MAX_SIGNATURES = 64;

interface CacheEntry {
  /** The traced body; its compiled programs are cached on it (compiled_call.ts). */
  jaxpr: ClosedJaxpr;
  consts: Tracer[];
  outTree: tree.TreeDef;
}

export interface JitOptions {
  /** Positions of arguments passed as JS values (hashed into the cache key); one integer is read as [it], as in JAX. */
  staticArgnums?: number | readonly number[];
  /** Positions of arguments whose buffers the call may reuse for its outputs. */
  donateArgnums?: number | readonly number[];
  backend?: string;
}
const jitRules: OptionRules<JitOptions> = { staticArgnums: opt.integers, donateArgnums: opt.integers, backend: opt.string };
const asList = (v: number | readonly number[] | undefined): readonly number[] => (v === undefined ? [] : typeof v === "number" ? [v] : v);

export interface Lowered {
  /** Mean time per step of the compiled program over the calls so far (backend support and TINYFLOW_PROFILE=1 needed). */
  profile(): string;
  jaxpr: ClosedJaxpr;
  /** The jaxpr after the IR passes, as the backend compiles it. */
  optimized: ClosedJaxpr;
  text(): string;
  /** Which equations of `optimized` each kernel of the program computes; null where the backend runs it op by op or does not say. */
  fusionGroups(): FusionGroup[] | null;
}

export type Jitted<F extends (...args: any[]) => any> = F & {
  /** How many times the function was traced (once per new signature). */
  readonly traceCount: number;
  /** The jaxpr (and, where compiled, the program) for these arguments. */
  lower(...args: Parameters<F>): Lowered;
  /** Forgets the traced signatures and releases their compiled programs (workspaces, device constants). */
  clearCache(): void;
};

/** `jit(f, { staticArgnums, donateArgnums })`: trace f once per signature into a jaxpr and run it as one call. */
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOptions = {}): Jitted<F> {
  checkOptions("jit", opts, jitRules);
  if (typeof f !== "function") throw new ArgumentError(`jit: the first argument must be the function to compile, got ${typeof f}`);
  const statics = new Set(asList(opts.staticArgnums));
  const donated = new Set(asList(opts.donateArgnums));
  const cache = new Map<string, CacheEntry>();
  let traceCount = 0;
  const name = f.name || "fn";

  const prepare = (args: unknown[]) => {
    for (const i of [...statics, ...donated]) {
      if (!Number.isInteger(i) || i < 0 || i >= args.length) {
        throw new ArgumentError(`jit(${name}): staticArgnums/donateArgnums entry ${i} is out of range for a call with ${args.length} arguments`);
      }
    }
    const dynamic = args.map((a, i) => (statics.has(i) ? null : a));
    const { tracers, inTree } = flattenArgs(`jit(${name})`, dynamic);
    const donatedLeaves = args.flatMap((a, i) => (statics.has(i) ? [] : tree.leaves(a).map(() => donated.has(i))));
    const key = `${traceSettingsKey()}|${inTree}|${tracers.map((t) => t.aval.key()).join(";")}|${args.map((a, i) => (statics.has(i) ? staticKey(`jit(${name})`, i, a, "", new Set()) : "_")).join(",")}`;
    let entry = cache.get(key);
    if (entry) {
      // most recently used last, so the bound below evicts the least recently used signature
      cache.delete(key);
      cache.set(key, entry);
    } else {
      traceCount++;
      const traced = traceFlatToJaxpr((...flat) => {
        const rebuilt = inTree.unflatten(flat) as unknown[];
        return f(...args.map((a, i) => (statics.has(i) ? a : rebuilt[i])));
      }, tracers.map((t) => t.aval));
      const { jaxpr, consts } = hoistConsts(traced.jaxpr);
      entry = { jaxpr, consts, outTree: traced.outTree };
      // Closures over tracers of an enclosing transformation are only valid for this call.
      if (consts.every((c) => isArray(c))) {
        cache.set(key, entry);
        if (cache.size > MAX_SIGNATURES) {
          const oldest = cache.keys().next().value!;
          releasePrograms(cache.get(oldest)!.jaxpr);
          cache.delete(oldest);
        }
      }
    }
    return { entry, tracers, donatedLeaves };
  };

  const jitted = (...args: unknown[]) => {
    const { entry, tracers, donatedLeaves } = prepare(args);
    const inputs = opts.backend ? tracers.map((t) => (isArray(t) ? t.to(opts.backend!) : t)) : tracers;
    const donatedInvars = [...entry.consts.map(() => false), ...donatedLeaves];
    const all = [...entry.consts, ...inputs];
    // An explicit backend also takes the hoisted constants there (arrays made on the default backend while tracing).
    const requested = opts.backend ? getBackend(opts.backend) : undefined;
    const outs = atEvalLevel(all) ? runCompiled(`jit(${name})`, entry.jaxpr, all as Array[], donatedInvars, requested, entry.consts.length) : bind("pjit", all, { jaxpr: entry.jaxpr, name, donatedInvars });
    // Donated inputs give their memory to the call: like JAX, they are invalid afterwards.
    tracers.forEach((t, i) => {
      if (donatedLeaves[i] && isArray(t) && !outs.includes(t)) (t as Array).donate(`jit(${name})`);
    });
    return entry.outTree.unflatten(outs);
  };
  Object.defineProperty(jitted, "traceCount", { get: () => traceCount });
  Object.defineProperty(jitted, "lower", {
    value: (...args: unknown[]): Lowered => {
      const { entry, tracers } = prepare(args);
      const backend = opts.backend ? getBackend(opts.backend) : tracers.find(isArray)?.backend ?? getBackend();
      const p = programFor(entry.jaxpr, backend);
      return {
        jaxpr: entry.jaxpr,
        optimized: p.optimized,
        profile: () => p.executable?.profile?.() ?? "this backend does not profile its programs",
        fusionGroups: () => p.executable?.fusionGroups?.() ?? null,
        text: () =>
          `# traced jaxpr\n${entry.jaxpr}\n\n# after passes (inline, CSE, folding, simplification, DCE)\n${p.optimized}\n\n` +
          `# program on ${backend.name}\n${p.executable ? p.executable.describe() : "run op by op (not compiled by this backend)"}`,
      };
    },
  });
  // Forgets every traced signature and releases its compiled programs' device memory.
  const clearCache = (): void => {
    for (const entry of cache.values()) releasePrograms(entry.jaxpr);
    cache.clear();
  };
  Object.defineProperty(jitted, "clearCache", { value: clearCache });
  return jitted as unknown as Jitted<F>;
}

/**
 * The checks JAX makes on the outputs of custom rules: each value a rule returns
 * must have the aval the primal function implies for it. `tangentOf` marks
 * tangent/cotangent outputs, which follow their primal's shape, and its dtype when
 * that is a float (an integer primal has no tangent space, so only the shape is checked).
 */
function checkRuleOutputs(where: string, what: string, got: readonly Tracer[], expected: readonly ShapedArray[], tangentOf: boolean): void {
  got.forEach((g, i) => {
    const want = expected[i];
    const dtypeOk = tangentOf && !isFloat(want.dtype) ? true : g.aval.dtype === want.dtype;
    if (dtypeOk && g.aval.shape.length === want.shape.length && g.aval.shape.every((d, k) => d === want.shape[k])) return;
    const wantText = tangentOf && !isFloat(want.dtype) ? `shape [${want.shape.join(",")}]` : want.str();
    throw new CustomRuleError(
      `${where}: ${what} ${i} is ${g.aval.str()} but must be ${wantText}, the type of the corresponding primal value; ` +
        `return one value of that shape and dtype per ${tangentOf ? "primal" : "output"} leaf`,
    );
  });
}

/** Trace a pytree function at given leaves into a jaxpr with explicit const operands. */
function traceCallable(where: string, f: (...args: any[]) => unknown, args: unknown[]) {
  const { tracers, inTree } = flattenArgs(where, args);
  const traced = traceFlatToJaxpr((...flat) => f(...(inTree.unflatten(flat) as unknown[])), tracers.map((t) => t.aval));
  return { ...hoistConsts(traced.jaxpr), tracers, inTree, outTree: traced.outTree };
}

export interface CustomJvpFunction<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): ReturnType<F>;
  /** rule(primals, tangents) -> [primalOut, tangentOut], with the same pytree structure as f. */
  defjvp(rule: (primals: Parameters<F>, tangents: Parameters<F>) => [ReturnType<F>, ReturnType<F>]): CustomJvpFunction<F>;
}

/** `customJvp(f).defjvp(rule)`: f with a user-supplied forward-mode rule (reverse mode derives from it). */
export function customJvp<F extends (...args: any[]) => any>(f: F): CustomJvpFunction<F> {
  let rule: ((primals: any, tangents: any) => [any, any]) | null = null;
  const call = (...args: unknown[]) => {
    if (rule === null) throw new ArgumentError(`customJvp(${f.name || "fn"}): call .defjvp(rule) before using the function`);
    const { jaxpr, consts, tracers, inTree, outTree } = traceCallable("customJvp", f, args);
    const jvpFlatRule = (ps: Tracer[], ts: Tracer[]) => {
      const [po, to] = rule!(inTree.unflatten(ps), inTree.unflatten(ts));
      const [pl, pd] = tree.flatten(po, "customJvp rule: primal output");
      const [tl, td] = tree.flatten(to, "customJvp rule: tangent output");
      if (!pd.equals(outTree) || !td.equals(outTree)) {
        throw new ArgumentError(`customJvp rule: must return [primalOut, tangentOut] shaped like f's output ${outTree}; got ${pd} and ${td}`);
      }
      const primalsOut = pl.map(leafToTracer), tangentsOut = tl.map(leafToTracer);
      const where = `customJvp(${f.name || "fn"}) rule`;
      checkRuleOutputs(where, "primal output", primalsOut, jaxpr.outAvals, false);
      checkRuleOutputs(where, "tangent output", tangentsOut, jaxpr.outAvals, true);
      return [primalsOut, tangentsOut];
    };
    const outs = bind("custom_jvp_call", [...consts, ...tracers], { call: jaxpr, jvp: jvpFlatRule as never, numConsts: consts.length, symbolicZeros: false });
    return outTree.unflatten(outs);
  };
  const fn = call as unknown as CustomJvpFunction<F>;
  fn.defjvp = (r) => {
    rule = r as typeof rule;
    return fn;
  };
  return fn;
}

export interface CustomVjpFunction<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): ReturnType<F>;
  /** fwd(...args) -> [out, residuals]; bwd(residuals, ct) -> one cotangent per argument (an array). */
  defvjp(fwd: (...args: Parameters<F>) => [ReturnType<F>, unknown], bwd: (res: any, ct: ReturnType<F>) => unknown[]): CustomVjpFunction<F>;
}

/** `customVjp(f).defvjp(fwd, bwd)`: f with a user-supplied reverse-mode rule. */
export function customVjp<F extends (...args: any[]) => any>(f: F): CustomVjpFunction<F> {
  let fwdUser: ((...args: any[]) => [any, unknown]) | null = null;
  let bwdUser: ((res: any, ct: any) => unknown[]) | null = null;
  const call = (...args: unknown[]) => {
    if (fwdUser === null || bwdUser === null) throw new ArgumentError(`customVjp(${f.name || "fn"}): call .defvjp(fwd, bwd) before using the function`);
    const { jaxpr, consts, tracers, inTree, outTree } = traceCallable("customVjp", f, args);
    let resTree: tree.TreeDef | null = null;
    const fwdFlat = (ps: Tracer[]) => {
      const [out, res] = fwdUser!(...(inTree.unflatten(ps) as unknown[]));
      const [ol, od] = tree.flatten(out, "customVjp fwd: output");
      const [rl, rd] = tree.flatten(res, "customVjp fwd: residuals");
      if (!od.equals(outTree)) throw new CustomRuleError(`customVjp(${f.name || "fn"}) fwd: its output has structure ${od} but f's has ${outTree}; fwd must return [f(...args), residuals]`);
      resTree = rd;
      const outsFwd = ol.map(leafToTracer);
      checkRuleOutputs(`customVjp(${f.name || "fn"}) fwd`, "output", outsFwd, jaxpr.outAvals, false);
      return [outsFwd, rl.map(leafToTracer)];
    };
    const bwdFlat = (res: Tracer[], cts: Tracer[]): Tangent[] => {
      const ctsIn = bwdUser!(resTree!.unflatten(res), outTree.unflatten(cts));
      if (!globalThis.Array.isArray(ctsIn) || ctsIn.length !== args.length) {
        throw new ArgumentError(`customVjp bwd: must return an array with one cotangent per argument (${args.length}), got ${globalThis.Array.isArray(ctsIn) ? ctsIn.length : typeof ctsIn}`);
      }
      const out: Tangent[] = [];
      let offset = 0;
      ctsIn.forEach((c, i) => {
        const argTree = inTree.children[i];
        if (c === null || c === undefined) {
          for (let k = 0; k < argTree.numLeaves; k++) out.push(new Zero(tracers[offset + k].aval));
        } else {
          const [cl, cd] = tree.flatten(c, "customVjp bwd: cotangents");
          if (!cd.equals(argTree)) throw new ArgumentError(`customVjp bwd: the cotangent for argument ${i} has structure ${cd} but the argument has ${argTree}`);
          const cts = cl.map(leafToTracer);
          checkRuleOutputs(`customVjp(${f.name || "fn"}) bwd`, `cotangent for argument ${i}, leaf`, cts, tracers.slice(offset, offset + argTree.numLeaves).map((t) => t.aval), true);
          // An integer argument has no cotangent space: whatever bwd gave for it counts as zero.
          cts.forEach((c, k) => out.push(isFloat(tracers[offset + k].aval.dtype) ? c : new Zero(tracers[offset + k].aval)));
        }
        offset += argTree.numLeaves;
      });
      return out;
    };
    const outs = bind("custom_vjp_call", [...consts, ...tracers], {
      call: jaxpr,
      fwd: ((ps: Tracer[]) => fwdFlat(ps)) as never,
      // One cotangent per argument, none for the consts: custom_lin's operands are the residuals
      // and the arguments' tangents only (a slot per const shifted every cotangent onto the next argument).
      bwd: ((res: Tracer[], cts: Tracer[]) => bwdFlat(res, cts)) as never,
      numConsts: consts.length,
      outTreeKey: String(outTree),
    });
    return outTree.unflatten(outs);
  };
  const fn = call as unknown as CustomVjpFunction<F>;
  fn.defvjp = (fwd, bwd) => {
    fwdUser = fwd as typeof fwdUser;
    bwdUser = bwd as typeof bwdUser;
    return fn;
  };
  return fn;
}

/** `checkpoint(f)`: in reverse mode, recompute f's intermediates instead of storing them. */
export interface CheckpointOptions {
  preventCse?: boolean;
  policy?: string | null;
}
const checkpointRules: OptionRules<CheckpointOptions> = { preventCse: opt.boolean, policy: opt.nullable(opt.string) };

export function checkpoint<F extends (...args: any[]) => any>(f: F, opts: CheckpointOptions = {}): F {
  checkOptions("checkpoint", opts, checkpointRules);
  const wrapped = (...args: unknown[]) => {
    const { jaxpr, consts, tracers, outTree } = traceCallable("checkpoint", f, args);
    const outs = bind("checkpoint", [...consts, ...tracers], { jaxpr: jaxpr.jaxpr, preventCse: opts.preventCse ?? true, policy: opts.policy ?? null });
    return outTree.unflatten(outs);
  };
  return wrapped as F;
}

