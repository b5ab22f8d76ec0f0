// Vectorizing map: the batch trace carries (value, batch dim) pairs, and each
// primitive's vmap rule (installed by transforms/index.ts) says how to apply it to a whole
// batch at once. `vmap(f, { inAxes, outAxes, axisSize })` is the user API.

import type { ShapedArray } from "../src/core/aval";
import { ArgumentError, AxisError, ShapeError } from "../src/core/errors";
import type { ParamsOf, Primitive } from "../src/core/primitives";
import { checkOptions, opt, type OptionRules } from "../src/core/options";
import * as tree from "../src/core/pytree";
import { MainTrace, Trace, Tracer, bind, bind1, fullRaise, withMainTrace } from "../src/core/trace";
import { leafToTracer } from "./jaxpr_trace";

/** A batch dimension: the axis of a value that is mapped over, or null when unbatched. */
export type BatchDim = number | null;
export type VmapRule<P extends Primitive> = (axisSize: number, args: Tracer[], dims: BatchDim[], params: ParamsOf<P>) => [Tracer[], BatchDim[]];
export type VmapRuleTable = { [P in Primitive]: VmapRule<P> };

let vmapRules: VmapRuleTable | null = null;
/** Called once by transforms/index.ts with the complete, exhaustively typed table. */
export function installVmapRules(table: VmapRuleTable): void {
  vmapRules = table;
}

export class BatchTracer extends Tracer {
  constructor(
    readonly trace: BatchTrace,
    readonly val: Tracer,
    readonly batchDim: BatchDim,
  ) {
    super();
  }
  get _trace(): Trace {
    return this.trace;
  }
  get aval(): ShapedArray {
    const a = this.val.aval;
    if (this.batchDim === null) return a;
    return a.withShape(a.shape.filter((_, i) => i !== this.batchDim));
  }
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as { axisSize: number }).axisSize;
  }
  lift(x: Tracer): Tracer {
    return new BatchTracer(this, x, null);
  }
  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const bts = tracers as BatchTracer[];
    const vals = bts.map((t) => t.val);
    const dims = bts.map((t) => t.batchDim);
    if (dims.every((d) => d === null)) {
      return bind(prim, vals, params).map((v) => new BatchTracer(this, v, null));
    }
    const rule = vmapRules![prim] as VmapRule<P>;
    const [outs, outDims] = rule(this.axisSize, vals, dims, params);
    return outs.map((v, i) => new BatchTracer(this, v, outDims[i]));
  }
}

// --- helpers for rules ---------------------------------------------------------

/** Move axis `from` of x to position `to`. */
export function moveAxis(x: Tracer, from: number, to: number): Tracer {
  if (from === to) return x;
  const perm = [...Array(x.ndim).keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  return bind1("transpose", [x], { permutation: perm });
}

/** Give x its batch axis at position `to`, broadcasting an unbatched x to `axisSize`. */
export function matchBatchDim(x: Tracer, dim: BatchDim, axisSize: number, to: number): Tracer {
  if (dim !== null) return moveAxis(x, dim, to);
  const shape = [...x.shape];
  shape.splice(to, 0, axisSize);
  const bdims = [...Array(x.ndim).keys()].map((i) => (i < to ? i : i + 1));
  return bind1("broadcast_in_dim", [x], { shape, broadcastDimensions: bdims });
}

/** Move every batched arg's batch dim to 0 and broadcast the unbatched ones. */
export function batchAllAt0(args: Tracer[], dims: BatchDim[], axisSize: number): Tracer[] {
  return args.map((x, i) => matchBatchDim(x, dims[i], axisSize, 0));
}

// --- the transformation --------------------------------------------------------

export function vmapFlat(f: (...args: Tracer[]) => Tracer[], axisSize: number, args: Tracer[], inDims: BatchDim[], outDims: BatchDim[] | ((n: number) => BatchDim[])): Tracer[] {
  return withMainTrace(BatchTrace, { axisSize }, (main: MainTrace) => {
    const trace = new BatchTrace(main);
    const ins = args.map((x, i) => new BatchTracer(trace, x, inDims[i]));
    const outs = f(...ins).map((o) => fullRaise(trace, o) as BatchTracer);
    const want = typeof outDims === "function" ? outDims(outs.length) : outDims;
    return outs.map((o, i) => {
      const w = want[i];
      if (w === null) {
        if (o.batchDim !== null) {
          throw new ArgumentError(`vmap: outAxes is null for output ${i}, but that output depends on the mapped inputs`);
        }
        return o.val;
      }
      return matchBatchDim(o.val, o.batchDim, axisSize, w);
    });
  });
}

/**
 * vmap's inAxes/outAxes: an axis, null (not mapped), or a list/object tree of them that is
 * a prefix of the arguments' (or outputs') pytree — `{ inAxes: [null, 0, { w: 1, b: null }] }`.
 */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

/** One leaf's axis after a spec is expanded (undefined: an absent spec, the default). */
type LeafAxis = number | null | undefined;

/** Expand an axis spec that is a tree prefix of `value` into one axis per leaf. */
function broadcastPrefix(where: string, spec: unknown, value: unknown, path: string): LeafAxis[] {
  if (spec === null || spec === undefined || typeof spec === "number") {
    return tree.leaves(value).map(() => spec as LeafAxis);
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value) || value.length !== spec.length) {
      const got = Array.isArray(value) ? `${value.length} entries` : "a non-list value";
      throw new ArgumentError(`${where}: the axis spec at ${path || "the top level"} has ${spec.length} entries but the value there has ${got}`);
    }
    return spec.flatMap((s, i) => broadcastPrefix(where, s, value[i], `${path}[${i}]`));
  }
  if (typeof spec === "object") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new ArgumentError(`${where}: the axis spec at ${path || "the top level"} is an object but the value there is not`);
    }
    const keys = Object.keys(value as object).sort();
    const specKeys = Object.keys(spec as object).sort();
    if (keys.join() !== specKeys.join()) {
      throw new ArgumentError(`${where}: the axis spec at ${path || "the top level"} has keys {${specKeys}} but the value has {${keys}}`);
    }
    return keys.flatMap((k) => broadcastPrefix(where, (spec as Record<string, unknown>)[k], (value as Record<string, unknown>)[k], `${path}.${k}`));
  }
  throw new ArgumentError(`${where}: an axis spec must be a number, null, or a list/object of them, got ${String(spec)}`);
}

export interface VmapOptions {
  /** Which axis of each argument is mapped: an integer, null (not mapped), or a list/object tree of them (matched against the arguments at call time). */
  inAxes?: AxisSpec;
  /** Where the mapped axis goes in each output, the same way. */
  outAxes?: AxisSpec;
  axisSize?: number;
}
const vmapOptionRules: OptionRules<VmapOptions> = { inAxes: opt.axisTree, outAxes: opt.axisTree, axisSize: opt.nonNegativeInteger };

/** `vmap(f, { inAxes = 0, outAxes = 0, axisSize })`: map f over an axis of its arguments. */
export function vmap<F extends (...args: any[]) => any>(f: F, opts: VmapOptions = {}): F {
  checkOptions("vmap", opts, vmapOptionRules);
  if (typeof f !== "function") throw new ArgumentError(`vmap: the first argument must be the function to map, got ${typeof f}`);
  const inAxesOpt = opts.inAxes === undefined ? 0 : opts.inAxes;
  const outAxesOpt = opts.outAxes === undefined ? 0 : opts.outAxes;
  const vmapped = (...args: unknown[]) => {
    if (Array.isArray(inAxesOpt) && inAxesOpt.length !== args.length) {
      throw new ArgumentError(`vmap: inAxes has ${inAxesOpt.length} entries but the function was called with ${args.length} arguments; give one entry per argument`);
    }
    const [leaves, inTree] = tree.flatten(args, "vmap");
    const paths = tree.leafPaths(args);
    const axes = broadcastPrefix("vmap inAxes", Array.isArray(inAxesOpt) ? inAxesOpt : args.map(() => inAxesOpt), args, "");
    const tracers = leaves.map(leafToTracer);
    let size: number | null = opts.axisSize ?? null;
    const dims: BatchDim[] = tracers.map((t, i) => {
      const a = axes[i];
      if (a === null || a === undefined) return null;
      if (!Number.isInteger(a) || a < -t.ndim || a >= t.ndim) {
        throw new AxisError(`vmap: inAxes ${a} is out of range for argument ${paths[i].replace(/^\[(\d+)\]/, "$1")} of shape ${t.aval.str()} (rank ${t.ndim})`);
      }
      const d = a < 0 ? a + t.ndim : a;
      const n = t.shape[d];
      if (size === null) size = n;
      else if (size !== n) {
        throw new ShapeError(`vmap: mapped axes have different sizes: argument ${paths[i]} has size ${n} on axis ${d}, but another mapped axis (or axisSize) is ${size}`);
      }
      return d;
    });
    if (size === null) throw new ArgumentError("vmap: no argument is mapped (all inAxes are null); pass axisSize to say how many copies to make");
    let outTree: tree.TreeDef | null = null;
    let outValue: unknown = null;
    const flatF = (...xs: Tracer[]): Tracer[] => {
      const out = f(...(inTree.unflatten(xs) as unknown[]));
      const [ol, od] = tree.flatten(out, "vmap: the function's output");
      outTree = od;
      outValue = out;
      return ol.map(leafToTracer);
    };
    const outs = vmapFlat(flatF, size, tracers, dims, (n) => {
      const od = broadcastPrefix("vmap outAxes", outAxesOpt, outValue, "");
      return od.slice(0, n).map((a, i) => {
        if (a === null || a === undefined) return null;
        const rank = (tree.leaves(outValue)[i] as Tracer | number).constructor === Number ? 0 : (tree.leaves(outValue)[i] as Tracer).ndim;
        if (!Number.isInteger(a) || a < -(rank + 1) || a > rank) throw new AxisError(`vmap: outAxes ${a} is out of range for an output of rank ${rank} (+1 for the mapped axis)`);
        return a < 0 ? a + rank + 1 : a;
      });
    });
    return outTree!.unflatten(outs);
  };
  return vmapped as F;
}
