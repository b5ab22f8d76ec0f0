// Reverse mode and its relatives: linearize (jvp + partial evaluation),
// vjp (transpose of the linear part), grad / valueAndGrad, and the Jacobian
// builders jacfwd, jacrev and hessian.

import { Array } from "../src/core/array";
import type { ShapedArray } from "../src/core/aval";
import { isFloat } from "../src/core/dtype";
import { ArgumentError, DTypeError, TransformError } from "../src/core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../src/core/options";
import type { ClosedJaxpr } from "../src/core/ir";
import * as tree from "../src/core/pytree";
import { bind1, type Tracer } from "../src/core/trace";
import { leafToTracer } from "./jaxpr_trace";
import { checkTangentsMatch, jvpFlat } from "./jvp";
import { PartialVal, partialEvalFlat } from "./partial_eval";
import { Zero, instantiate, type Tangent } from "./tangents";
import { UndefinedPrimal, backwardPass } from "./transpose";
import { evalJaxpr } from "../src/core/eval_jaxpr";
import { vmapFlat } from "./vmap";

interface Linearized {
  primalsOut: Tracer[];
  /** The linear map from input tangents to the unknown output tangents. */
  linear: ClosedJaxpr;
  /** For each output: index into the linear jaxpr's outputs, or the known tangent value. */
  tangentOut: ({ unknown: number } | { known: Tracer })[];
  outAvals: ShapedArray[];
}

export function linearizeFlat(f: (...args: Tracer[]) => Tracer[], primals: Tracer[]): Linearized {
  const n = primals.length;
  const pvalsIn = [...primals.map((p) => PartialVal.known(p)), ...primals.map((p) => PartialVal.unknown(p.aval))];
  let numOut = 0;
  const fJvp = (...args: Tracer[]): Tracer[] => {
    const [po, to] = jvpFlat(f, args.slice(0, n), args.slice(n));
    numOut = po.length;
    return [...po, ...to.map(instantiate)];
  };
  const { jaxpr, pvalsOut } = partialEvalFlat(fJvp, pvalsIn);
  const primalsOut = pvalsOut.slice(0, numOut).map((p) => {
    if (!p.isKnown) throw new TransformError("linearize: internal error, a primal output depends on the tangents");
    return p.known!;
  });
  let k = 0;
  const tangentOut = pvalsOut.slice(numOut).map((p) => (p.isKnown ? { known: p.known! } : { unknown: k++ }));
  return { primalsOut, linear: jaxpr, tangentOut, outAvals: primalsOut.map((p) => p.aval) };
}

function applyLinear(lin: Linearized, tangents: Tracer[]): Tracer[] {
  const outs = evalJaxpr(lin.linear.jaxpr, lin.linear.consts, tangents);
  return lin.tangentOut.map((t) => ("known" in t ? t.known : outs[t.unknown]));
}

function transposeLinear(lin: Linearized, cts: Tangent[]): Tangent[] {
  const unknownCts: Tangent[] = [];
  lin.tangentOut.forEach((t, i) => {
    if ("unknown" in t) unknownCts[t.unknown] = cts[i];
  });
  const args = lin.linear.jaxpr.invars.map((v) => new UndefinedPrimal(v.aval));
  return backwardPass(lin.linear.jaxpr, lin.linear.consts, args, unknownCts) as Tangent[];
}

export function vjpFlat(f: (...args: Tracer[]) => Tracer[], primals: Tracer[]): [Tracer[], (cts: Tangent[]) => Tangent[]] {
  const lin = linearizeFlat(f, primals);
  return [lin.primalsOut, (cts) => transposeLinear(lin, cts)];
}

/** The options of vjp and linearize, given as a trailing object: `vjp(f, x, y, { hasAux: true })`. */
export interface AuxOptions {
  /** f returns a pair [output, aux]; aux is returned as is, not differentiated. */
  hasAux?: boolean;
}
const auxRules: OptionRules<AuxOptions> = { hasAux: opt.boolean };

/**
 * vjp and linearize take primals as rest arguments, so a trailing options
 * object is told apart from a pytree primal by its keys: the last argument
 * is read as options when it is a plain object with at least one key and
 * every key is an option name ("hasAux"). A primal pytree with only such
 * keys must be wrapped (e.g. passed inside a list).
 */
function splitTrailingOptions(where: string, args: unknown[]): [unknown[], AuxOptions] {
  const last = args[args.length - 1];
  if (isPlainObject(last)) {
    const keys = Object.keys(last);
    if (keys.length > 0 && keys.every((k) => k in auxRules)) return [args.slice(0, -1), checkOptions(where, last as AuxOptions, auxRules)];
  }
  return [args, {}];
}

/** Wrap f so that its flat outputs are [...output leaves, ...aux leaves]; the trees are recorded. */
function flatFnWithAux(f: (...args: any[]) => unknown, inTree: tree.TreeDef, where: string, hasAux: boolean) {
  const rec: { outTree: tree.TreeDef | null; auxTree: tree.TreeDef | null; numOut: number } = { outTree: null, auxTree: null, numOut: 0 };
  const fn = (...flat: Tracer[]): Tracer[] => {
    const res = f(...(inTree.unflatten(flat) as unknown[]));
    if (hasAux && (!globalThis.Array.isArray(res) || res.length !== 2)) {
      throw new ArgumentError(`${where}: with hasAux the function must return a pair [output, aux]`);
    }
    const [out, aux] = hasAux ? (res as [unknown, unknown]) : [res, null];
    const [ol, od] = tree.flatten(out, `${where}: the function's output`);
    const [al, ad] = tree.flatten(aux, `${where}: aux`);
    rec.outTree = od;
    rec.auxTree = ad;
    rec.numOut = ol.length;
    return [...ol, ...(hasAux ? al : [])].map(leafToTracer);
  };
  return { fn, rec };
}

/**
 * `linearize(f, ...primals)` -> [f(...primals), jvpFn] where jvpFn(...tangents) is the JVP at primals.
 * With a trailing `{ hasAux: true }`, f returns [output, aux] and the result is [output, jvpFn, aux].
 */
export function linearize<T, A>(f: (...args: any[]) => [T, A], ...primalsAndOptions: [...unknown[], { hasAux: true }]): [T, (...tangents: unknown[]) => T, A];
export function linearize<T>(f: (...args: any[]) => T, ...primals: unknown[]): [T, (...tangents: unknown[]) => T];
export function linearize(f: (...args: any[]) => unknown, ...args: unknown[]): unknown[] {
  const [primals, opts] = splitTrailingOptions("linearize", args);
  const hasAux = opts.hasAux ?? false;
  const [leaves, inTree] = tree.flatten(primals, "linearize");
  const { fn, rec } = flatFnWithAux(f, inTree, "linearize", hasAux);
  const lin = linearizeFlat(fn, leaves.map(leafToTracer));
  const n = rec.numOut;
  const mainLin: Linearized = { ...lin, primalsOut: lin.primalsOut.slice(0, n), tangentOut: lin.tangentOut.slice(0, n), outAvals: lin.outAvals.slice(0, n) };
  const jvpFn = (...tangents: unknown[]): unknown => {
    checkTangentsMatch("linearize (jvpFn)", primals, tangents);
    return rec.outTree!.unflatten(applyLinear(mainLin, tree.leaves(tangents).map(leafToTracer)));
  };
  const out = rec.outTree!.unflatten(mainLin.primalsOut);
  return hasAux ? [out, jvpFn, rec.auxTree!.unflatten(lin.primalsOut.slice(n))] : [out, jvpFn];
}

/**
 * `vjp(f, ...primals)` -> [f(...primals), vjpFn] where vjpFn(ct) returns one cotangent per primal.
 * With a trailing `{ hasAux: true }` (JAX's has_aux), f returns [output, aux] and the result is [output, vjpFn, aux].
 */
export function vjp<T, A>(f: (...args: any[]) => [T, A], ...primalsAndOptions: [...unknown[], { hasAux: true }]): [T, (ct: T) => any[], A];
export function vjp<T>(f: (...args: any[]) => T, ...primals: unknown[]): [T, (ct: T) => any[]];
export function vjp(f: (...args: any[]) => unknown, ...args: unknown[]): unknown[] {
  const [primals, opts] = splitTrailingOptions("vjp", args);
  const hasAux = opts.hasAux ?? false;
  const [leaves, inTree] = tree.flatten(primals, "vjp");
  const { fn, rec } = flatFnWithAux(f, inTree, "vjp", hasAux);
  const [allOuts, pullback] = vjpFlat(fn, leaves.map(leafToTracer));
  const outs = allOuts.slice(0, rec.numOut);
  const auxZeros = allOuts.slice(rec.numOut).map((o) => new Zero(o.aval));
  const outTree = rec.outTree!;
  const vjpFn = (ct: unknown): any[] => {
    const [ctLeaves, ctTree] = tree.flatten(ct, "vjpFn");
    if (!ctTree.equals(outTree)) throw new ArgumentError(`vjpFn: the cotangent has structure ${ctTree} but the output has ${outTree}`);
    const cts = ctLeaves.map(leafToTracer);
    cts.forEach((c, i) => {
      if (!c.aval.equals(outs[i].aval) && c.shape.join() !== outs[i].shape.join()) {
        throw new ArgumentError(`vjpFn: cotangent ${i} is ${c.aval.str()} but the output is ${outs[i].aval.str()}`);
      }
    });
    return inTree.unflatten(pullback([...cts, ...auxZeros]).map(instantiate)) as any[];
  };
  const out = outTree.unflatten(outs);
  return hasAux ? [out, vjpFn, rec.auxTree!.unflatten(allOuts.slice(rec.numOut))] : [out, vjpFn];
}

export interface GradOptions {
  argnums?: number | number[];
  hasAux?: boolean;
}
const gradRules: OptionRules<GradOptions> = { argnums: opt.integers, hasAux: opt.boolean };

export interface JacobianOptions {
  argnums?: number | number[];
}
const jacobianRules: OptionRules<JacobianOptions> = { argnums: opt.integers };

function normalizeArgnums(where: string, argnums: number | number[], nargs: number): number[] {
  const list = typeof argnums === "number" ? [argnums] : argnums;
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs) {
      throw new ArgumentError(`${where}: argnums ${a} is out of range for a call with ${nargs} positional arguments`);
    }
    return a < 0 ? a + nargs : a;
  });
}

function onesLike(aval: ShapedArray): Tracer {
  if (aval.ndim === 0) return Array.scalar(1, aval.dtype);
  return bind1("broadcast_in_dim", [Array.scalar(1, aval.dtype)], { shape: [...aval.shape], broadcastDimensions: [] });
}

/** `valueAndGrad(f, { argnums, hasAux })` -> (...args) => [value, grads] (or [[value, aux], grads]). */
export function valueAndGrad<F extends (...args: any[]) => any>(f: F, opts: GradOptions = {}, where = "valueAndGrad") {
  checkOptions(where, opts, gradRules);
  checkFunction(where, f);
  const argnums = opts.argnums ?? 0;
  const hasAux = opts.hasAux ?? false;
  return (...args: Parameters<F>): [any, any] => {
    const nums = normalizeArgnums(where, argnums, args.length);
    const diffArgs = nums.map((i) => args[i]);
    // Validate in place so errors name a leaf by its argument's position in the call.
    tree.flatten(args.map((a, i) => (nums.includes(i) ? a : null)), where);
    const [leaves, diffTree] = tree.flatten(diffArgs, where);
    const paths = tree.leafPaths(diffArgs);
    const tracers = leaves.map(leafToTracer);
    tracers.forEach((t, i) => {
      if (!isFloat(t.dtype)) {
        const argIdx = Number(/^\[(\d+)\]/.exec(paths[i])?.[1] ?? 0);
        throw new DTypeError(
          `${where}: differentiated inputs must be floating point, but argument ${nums[argIdx]}${paths[i].replace(/^\[\d+\]/, "")} is ${t.aval.str()}. ` +
            `Convert it with .astype(np.float32), or leave it out of argnums.`,
        );
      }
    });
    let auxTree: tree.TreeDef | null = null;
    const flat = (...xs: Tracer[]): Tracer[] => {
      const newArgs = [...args];
      const diffVals = diffTree.unflatten(xs) as unknown[];
      nums.forEach((argIdx, j) => (newArgs[argIdx] = diffVals[j]));
      const out = f(...newArgs);
      let main: unknown = out;
      let auxLeaves: tree.Leaf[] = [];
      if (hasAux) {
        if (!globalThis.Array.isArray(out) || out.length !== 2) {
          throw new ArgumentError(`${where}: with hasAux the function must return a pair [output, aux]`);
        }
        main = out[0];
        [auxLeaves, auxTree] = tree.flatten(out[1], `${where}: aux`);
      }
      if (!tree.isLeaf(main)) {
        throw new TransformError(`${where}: the function must return a scalar${hasAux ? " (as the first element of [output, aux])" : ""}, got a pytree; use vjp or jacrev for structured outputs`);
      }
      const m = leafToTracer(main);
      if (m.ndim !== 0) {
        throw new TransformError(`${where}: the function must return a scalar, got an array of type ${m.aval.str()}. Reduce it (e.g. .sum() or .mean()) or use vjp / jacrev for non-scalar outputs`);
      }
      if (!isFloat(m.dtype)) {
        throw new DTypeError(`${where}: the function's output must be floating point to differentiate, got ${m.aval.str()}`);
      }
      return [m, ...auxLeaves.map(leafToTracer)];
    };
    const [outs, pullback] = vjpFlat(flat, tracers);
    const cts: Tangent[] = [onesLike(outs[0].aval), ...outs.slice(1).map((o) => new Zero(o.aval))];
    const grads = pullback(cts).map(instantiate);
    const gradTree = diffTree.unflatten(grads) as unknown[];
    const g = typeof argnums === "number" ? gradTree[0] : gradTree;
    const value = hasAux ? [outs[0], auxTree!.unflatten(outs.slice(1))] : outs[0];
    return [value, g];
  };
}

/** The gradient's type for an argument of type T: the same pytree with every leaf an array (`grad` of `f(params: P)` returns P). */
export type Grads<T> = 0 extends 1 & T
  ? any
  : T extends Tracer | number | boolean
    ? Tracer
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Grads<T[K]> }
      : T extends object
        ? { [K in keyof T]: Grads<T[K]> }
        : T;

/** `grad(f, { argnums, hasAux })`: the gradient of a scalar function, shaped like its arguments. */
export function grad<F extends (...args: any[]) => any>(f: F, opts?: { argnums?: 0; hasAux?: false }): (...args: Parameters<F>) => Grads<Parameters<F>[0]>;
export function grad<F extends (...args: any[]) => any>(f: F, opts: GradOptions): (...args: Parameters<F>) => any;
export function grad<F extends (...args: any[]) => any>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => any {
  const vg = valueAndGrad(f, opts, "grad");
  return (...args: Parameters<F>): any => {
    const [value, g] = vg(...args);
    return opts.hasAux ? [g, value[1]] : g;
  };
}

// --- Jacobians -------------------------------------------------------------------

function basis(total: number, dtype: ShapedArray["dtype"]): Tracer {
  const data = new Float32Array(total * total);
  for (let i = 0; i < total; i++) data[i * total + i] = 1;
  return Array.fromTyped(data, [total, total], dtype === "float16" ? "float16" : "float32");
}

/** Split rows of a [batch, total] basis into per-leaf [batch, ...shape] pieces. */
function splitBasis(b: Tracer, avals: ShapedArray[]): Tracer[] {
  let off = 0;
  return avals.map((a) => {
    const size = a.size;
    const piece = bind1("slice", [b], { startIndices: [0, off], limitIndices: [b.shape[0], off + size], strides: null });
    off += size;
    return bind1("reshape", [piece], { newSizes: [b.shape[0], ...a.shape] });
  });
}

/** [batch, ...shape] -> [...shape, ...batchShape] for a Jacobian block. */
function batchToTrailing(x: Tracer, batchShape: readonly number[]): Tracer {
  const perm = [...globalThis.Array(x.ndim).keys()].slice(1).concat([0]);
  const moved = bind1("transpose", [x], { permutation: perm });
  return bind1("reshape", [moved], { newSizes: [...x.shape.slice(1), ...batchShape] });
}

function jacobian(mode: "fwd" | "rev", f: (...args: any[]) => any, opts: JacobianOptions) {
  const where = mode === "fwd" ? "jacfwd" : "jacrev";
  const argnums = opts.argnums ?? 0;
  return (...args: any[]): any => {
    const nums = normalizeArgnums(where, argnums, args.length);
    const diffArgs = nums.map((i) => args[i]);
    const [leaves, diffTree] = tree.flatten(diffArgs, where);
    const ins = leaves.map(leafToTracer);
    ins.forEach((t) => {
      if (!isFloat(t.dtype)) throw new DTypeError(`${where}: differentiated inputs must be floating point, got ${t.aval.str()}`);
    });
    let outTree: tree.TreeDef | null = null;
    const flat = (...xs: Tracer[]): Tracer[] => {
      const newArgs = [...args];
      const vals = diffTree.unflatten(xs) as unknown[];
      nums.forEach((a, j) => (newArgs[a] = vals[j]));
      const [ol, od] = tree.flatten(f(...newArgs), `${where}: the function's output`);
      outTree = od;
      return ol.map(leafToTracer);
    };
    const inAvals = ins.map((t) => t.aval);
    let blocks: Tracer[][]; // blocks[o][i]: out.shape + in.shape
    if (mode === "fwd") {
      const totalIn = inAvals.reduce((s, a) => s + a.size, 0);
      const push = (b: Tracer) => jvpFlat(flat, ins, splitBasis(bind1("reshape", [b], { newSizes: [1, totalIn] }), inAvals).map((t, i) => bind1("reshape", [t], { newSizes: [...inAvals[i].shape] })))[1].map(instantiate);
      const outs = vmapFlat((b) => push(b), totalIn, [basis(totalIn, inAvals[0]?.dtype ?? "float32")], [0], (n) => new globalThis.Array(n).fill(0));
      // outs[o]: [totalIn, ...out.shape]; split the leading axis per input leaf.
      blocks = outs.map((o) => {
        let off = 0;
        return inAvals.map((a) => {
          const piece = bind1("slice", [o], { startIndices: o.shape.map((_, d) => (d === 0 ? off : 0)), limitIndices: o.shape.map((n, d) => (d === 0 ? off + a.size : n)), strides: null });
          off += a.size;
          return batchToTrailing(piece, a.shape);
        });
      });
    } else {
      const [outs, pullback] = vjpFlat(flat, ins);
      const outAvals = outs.map((o) => o.aval);
      const totalOut = outAvals.reduce((s, a) => s + a.size, 0);
      const pull = (b: Tracer) => pullback(splitBasis(bind1("reshape", [b], { newSizes: [1, totalOut] }), outAvals).map((t, i) => bind1("reshape", [t], { newSizes: [...outAvals[i].shape] }))).map(instantiate);
      const cts = vmapFlat((b) => pull(b), totalOut, [basis(totalOut, outAvals[0]?.dtype ?? "float32")], [0], (n) => new globalThis.Array(n).fill(0));
      // cts[i]: [totalOut, ...in.shape]; split the leading axis per output leaf.
      let off = 0;
      blocks = outAvals.map((oa) => {
        const rows = cts.map((c) => bind1("slice", [c], { startIndices: c.shape.map((_, d) => (d === 0 ? off : 0)), limitIndices: c.shape.map((n, d) => (d === 0 ? off + oa.size : n)), strides: null }));
        off += oa.size;
        return rows.map((r, i) => bind1("reshape", [r], { newSizes: [...oa.shape, ...inAvals[i].shape] }));
      });
    }
    const perOut = blocks.map((row) => {
      const t = diffTree.unflatten(row) as unknown[];
      return typeof argnums === "number" ? t[0] : t;
    });
    return outTree!.unflatten(perOut);
  };
}

export function jacfwd(f: (...args: any[]) => any, opts: JacobianOptions = {}) {
  checkOptions("jacfwd", opts, jacobianRules);
  checkFunction("jacfwd", f);
  return jacobian("fwd", f, opts);
}

export function jacrev(f: (...args: any[]) => any, opts: JacobianOptions = {}) {
  checkOptions("jacrev", opts, jacobianRules);
  checkFunction("jacrev", f);
  return jacobian("rev", f, opts);
}

export function hessian(f: (...args: any[]) => any, opts: JacobianOptions = {}) {
  checkOptions("hessian", opts, jacobianRules);
  checkFunction("hessian", f);
  return jacfwd(jacrev(f, opts), opts);
}

function checkFunction(where: string, f: unknown): void {
  if (typeof f !== "function") throw new ArgumentError(`${where}: the first argument must be the function to transform, got ${typeof f}`);
}

