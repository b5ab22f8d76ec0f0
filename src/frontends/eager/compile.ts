// compile(fn): hybrid JIT for the eager front end (the torch.compile idea).
// The first call with a new input signature — the structure of the
// arguments, each tensor's shape, dtype and requiresGrad, the JS values
// passed alongside, and the grad mode — runs fn once on traced tensors and
// records a jaxpr; every call with that signature runs the jaxpr as one
// compiled program. Tensors fn reads from outside (a model's parameters)
// become extra inputs of the jaxpr, read afresh at each call, so an
// optimizer's in-place updates are seen. Where some input requires grad, the
// call is tinyflow's vjp of the compiled call: the forward runs as one
// compiled program saving its residuals, and backward() through the result
// runs the compiled backward program; the outputs join the tape like any
// other op's.
//
// This file depends on index.ts's Tensor only through the factory below, so
// the two modules do not import each other at run time.

import { isArray, type Array as TfArray } from "../../core/array";
import type { ShapedArray } from "../../core/aval";
import { isFloat } from "../../core/dtype";
import { ArgumentError, ConcretizationError } from "../../core/errors";
import { checkOptions, describeValue, isPlainObject, opt, type OptionRules } from "../../core/options";
import { isTracer, type Tracer } from "../../core/trace";
import { evalJaxpr } from "../../core/eval_jaxpr";
import { jit, vjp, type Jitted, type Lowered } from "../../../transforms";
import { hoistConsts, traceFlatToJaxprWithInputs } from "../../../transforms/jaxpr_trace";
import * as np from "../../numpy";
import { CompileError, concretizationInCompile, duringCompileTrace, type CompileTracing } from "./compile_state";
import type { GradFn, Tensor } from "./tensor";

export interface CompileOptions {
  /** The name used in messages, in the tape (`<name>Backward`) and in the program; default: fn's name. */
  name?: string;
}
const compileRules: OptionRules<CompileOptions> = { name: opt.string };

/** A compiled eager function: called like fn; `traceCount` counts the traces (one per new input signature). */
export type Compiled<F extends (...args: any[]) => any> = F & {
  /** How many times fn was traced: once per new input signature (shapes, dtypes, requiresGrad, JS arguments, grad mode). */
  readonly traceCount: number;
  /** The traced jaxpr and compiled program for these arguments (draw it with tinyflow/viz's toDot). */
  lower(...args: Parameters<F>): Lowered;
};

/** What compile() needs from index.ts. */
export interface CompileDeps {
  Tensor: typeof Tensor;
  isGradEnabled(): boolean;
}

// --- arguments: tensors and arrays are traced, everything else is part of the signature -----

type Dynamic = { tensor: Tensor } | { array: TfArray };

const staticIds = new WeakMap<object, number>();
let nextStaticId = 0;
function staticKey(v: unknown): string {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return `${typeof v}:${String(v)}`;
  let id = staticIds.get(v as object);
  if (id === undefined) staticIds.set(v as object, (id = nextStaticId++));
  return `#${id}`;
}

/**
 * Walk the arguments (lists and plain objects are containers), collecting
 * tensors and concrete arrays as the traced inputs; the key describes the
 * structure, each input's type and every other value (a layer object, a JS
 * number) by identity or value, as torch.compile guards on them.
 */
function flattenArgs(deps: CompileDeps, where: string, x: unknown, out: Dynamic[]): string {
  if (x instanceof deps.Tensor) {
    out.push({ tensor: x });
    return `T${x.value.aval.key()}${x.requiresGrad ? "g" : ""}`;
  }
  if (isArray(x)) {
    out.push({ array: x });
    return `A${x.aval.key()}`;
  }
  if (isTracer(x)) {
    throw new CompileError(`${where}: an argument is a traced array (${x.aval.str()}): a compiled eager function runs on concrete tensors, not inside jit/grad/vmap; call fn itself there`);
  }
  if (Array.isArray(x)) return `[${x.map((v) => flattenArgs(deps, where, v, out)).join(",")}]`;
  if (isPlainObject(x)) return `{${Object.keys(x).map((k) => `${JSON.stringify(k)}:${flattenArgs(deps, where, x[k], out)}`).join(",")}}`;
  return staticKey(x);
}

/** The arguments with each traced input replaced by the next of `values`, wrapped as a tensor where it was one. */
function rebuildArgs(deps: CompileDeps, x: unknown, values: Tracer[], next: { i: number }): unknown {
  if (x instanceof deps.Tensor) return new deps.Tensor(values[next.i++] as TfArray);
  if (isArray(x)) return values[next.i++];
  if (Array.isArray(x)) return x.map((v) => rebuildArgs(deps, v, values, next));
  if (isPlainObject(x)) return Object.fromEntries(Object.keys(x).map((k) => [k, rebuildArgs(deps, x[k], values, next)]));
  return x;
}

// --- outputs: a tensor, or a list/object of tensors ------------------------------------

type OutTree = { leaf: true } | { list: OutTree[] } | { object: [string, OutTree][] };

function flattenOutputs(deps: CompileDeps, where: string, x: unknown, tracing: CompileTracing, out: Tracer[]): OutTree {
  if (x instanceof deps.Tensor) {
    out.push(tracing.valueOf(x));
    return { leaf: true };
  }
  if (Array.isArray(x)) return { list: x.map((v) => flattenOutputs(deps, where, v, tracing, out)) };
  if (isPlainObject(x)) return { object: Object.keys(x).map((k) => [k, flattenOutputs(deps, where, x[k], tracing, out)]) };
  throw new CompileError(`${where}: the function returned ${describeValue(x)}; a compiled function returns tensors (one, or a list or object of them)`);
}

function unflattenOutputs(t: OutTree, leaves: readonly Tensor[], next: { i: number }): unknown {
  if ("leaf" in t) return leaves[next.i++];
  if ("list" in t) return t.list.map((c) => unflattenOutputs(c, leaves, next));
  return Object.fromEntries(t.object.map(([k, c]) => [k, unflattenOutputs(c, leaves, next)]));
}

// --- the cache of traced signatures ------------------------------------------------------

interface Entry {
  /** The traced body as a jitted function of (consts, declared inputs, captured inputs) -> outputs. */
  run: Jitted<(...xs: Tracer[]) => Tracer[]>;
  consts: TfArray[];
  /** Tensors fn read from outside, in the order of their inputs. */
  captured: Tensor[];
  outTree: OutTree;
}

export function makeCompile(deps: CompileDeps) {
  return function compile<F extends (...args: any[]) => any>(fn: F, opts: CompileOptions = {}): Compiled<F> {
    checkOptions("compile", opts, compileRules);
    if (typeof fn !== "function") throw new ArgumentError(`compile: the first argument must be the function to compile, got ${describeValue(fn)}`);
    const name = opts.name ?? (fn.name || "fn");
    const where = `compile(${name})`;
    const cache = new Map<string, Entry>();
    let traceCount = 0;

    const trace = (args: unknown[], inputs: Dynamic[]): Entry => {
      traceCount++;
      const inAvals: ShapedArray[] = inputs.map((d) => ("tensor" in d ? d.tensor.value.aval : d.array.aval));
      const captured: Tensor[] = [];
      let outTree: OutTree | null = null;
      const traced = traceFlatToJaxprWithInputs((declared, addInput) => {
        const lifted = new Map<Tensor, Tracer>();
        const tracing: CompileTracing = {
          where,
          valueOf: (t) => {
            const v = t.value;
            if (!isArray(v)) {
              // Made inside this trace (or an inner transformation of it); a finished trace's tracer escaped.
              if (v._trace.main.active) return v;
              throw new CompileError(
                `${where}: the function reads a tensor computed while another compiled function was traced (it was kept aside, so it holds no data); ` +
                  "return it from that function and pass the result in",
              );
            }
            const tensor = t as Tensor;
            let tracer = lifted.get(tensor);
            if (tracer === undefined) {
              tracer = addInput(v.aval);
              lifted.set(tensor, tracer);
              captured.push(tensor);
            }
            return tracer;
          },
        };
        return duringCompileTrace(tracing, () => {
          let result: unknown;
          try {
            result = fn(...(rebuildArgs(deps, args, declared, { i: 0 }) as unknown[]));
          } catch (e) {
            // A numpy-level conversion (a traced Array in a JS branch) gets the eager fix too.
            if (e instanceof ConcretizationError) throw concretizationInCompile(where, "a JS branch or conversion on a traced value");
            throw e;
          }
          const outs: Tracer[] = [];
          outTree = flattenOutputs(deps, where, result, tracing, outs);
          return outs;
        });
      }, inAvals);
      const { jaxpr, consts } = hoistConsts(traced.jaxpr);
      if (!consts.every(isArray)) {
        throw new CompileError(`${where}: the function captured a traced value of an enclosing transformation; pass it as an argument`);
      }
      const body = jaxpr.jaxpr;
      const run = jit(
        Object.defineProperty((...xs: Tracer[]) => evalJaxpr(body, [], xs), "name", { value: name }) as (...xs: Tracer[]) => Tracer[],
      );
      return { run, consts: consts as TfArray[], captured, outTree: outTree! };
    };

    const prepare = (args: unknown[]) => {
      const inputs: Dynamic[] = [];
      const key = `${flattenArgs(deps, where, args, inputs)}|${deps.isGradEnabled() ? "grad" : "nograd"}`;
      let entry = cache.get(key);
      if (entry === undefined) {
        entry = trace(args, inputs);
        cache.set(key, entry);
      }
      const tensors: (Tensor | null)[] = [...entry.consts.map(() => null), ...inputs.map((d) => ("tensor" in d ? d.tensor : null)), ...entry.captured];
      const values: TfArray[] = [...entry.consts, ...inputs.map((d) => ("tensor" in d ? d.tensor.value : d.array)), ...entry.captured.map((t) => t.value)];
      return { entry, tensors, values };
    };

    const compiled = (...args: unknown[]) => {
      const { entry, tensors, values } = prepare(args);
      const diff = deps.isGradEnabled() ? tensors.flatMap((t, i) => (t !== null && t.requiresGrad ? [i] : [])) : [];
      if (diff.length === 0) {
        const outs = entry.run(...values) as TfArray[];
        return unflattenOutputs(entry.outTree, outs.map((o) => new deps.Tensor(o)), { i: 0 });
      }
      // The compiled call under vjp: its forward runs now (with residuals), its backward when needed.
      const withDiff = (...dv: Tracer[]) => {
        const xs: Tracer[] = [...values];
        diff.forEach((pos, k) => (xs[pos] = dv[k]));
        return entry.run(...xs);
      };
      const [outs, pull] = vjp(withDiff, ...diff.map((i) => values[i])) as [TfArray[], (cts: Tracer[]) => Tracer[]];
      const inputsOfTape = diff.map((i) => tensors[i]!);
      const results = outs.map((o, k) => {
        if (!isFloat(o.dtype)) return new deps.Tensor(o);
        // Each output pulls its own cotangent back with zeros for the others' (the tape is per tensor).
        const gradFn: GradFn = {
          name: `${name}Backward`,
          inputs: inputsOfTape,
          pull: (ct) => pull(outs.map((other, j) => (j === k ? ct : (np.zerosLike(other) as TfArray)))) as TfArray[],
        };
        return new deps.Tensor(o, { requiresGrad: true, gradFn });
      });
      return unflattenOutputs(entry.outTree, results, { i: 0 });
    };
    Object.defineProperty(compiled, "traceCount", { get: () => traceCount });
    Object.defineProperty(compiled, "lower", {
      value: (...args: unknown[]): Lowered => {
        const { entry, values } = prepare(args);
        return entry.run.lower(...values);
      },
    });
    return compiled as unknown as Compiled<F>;
  };
}
