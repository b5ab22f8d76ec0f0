// The structured control-flow API (exposed as lax.cond, lax.switch,
// lax.whileLoop, lax.foriLoop, lax.scan): each traces the user's functions
// to closed jaxprs over pytrees of arrays, checks their types, and binds the
// cond / while / scan primitive. Their consts are hoisted to explicit
// operands so the primitives never close over tracers.

import { Array, isArray } from "../../src/core/array";
import { ShapedArray } from "../../src/core/aval";
import { checkedTypedFrom, isBool, isInt, promoteTypes, type DTypeWithWeak } from "../../src/core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../../src/core/errors";
import type { ClosedJaxpr } from "../../src/core/ir";
import { checkOptions, opt, type OptionRules } from "../../src/core/options";
import * as tree from "../../src/core/pytree";
import { bind, bind1, Tracer } from "../../src/core/trace";
import { leafToTracer, traceFlatToJaxpr } from "../jaxpr_trace";
import { hoist, hoistBranches } from "./jaxpr_utils";

type Scalar = Tracer | number | boolean;

/** A pytree type as it comes out of a traced function: JS numbers/booleans become arrays. */
export type Traced<T> = T extends Tracer | number | boolean
  ? Tracer
  : T extends null | undefined
    ? T
    : T extends readonly unknown[]
      ? { [K in keyof T]: Traced<T[K]> }
      : T extends object
        ? { [K in keyof T]: Traced<T[K]> }
        : T;

function avalsStr(avals: readonly ShapedArray[]): string {
  return `(${avals.map((a) => a.str() + (a.weakType ? "~" : "")).join(", ")})`;
}

function toScalarTracer(where: string, what: string, x: unknown): Tracer {
  if (!tree.isLeaf(x)) throw new ArgumentError(`${where}: ${what} must be a scalar array, a number or a boolean, got ${x === null ? "null" : typeof x}`);
  const t = leafToTracer(x);
  if (t.ndim !== 0) throw new ShapeError(`${where}: ${what} must be a scalar, got an array of type ${t.aval.str()}`);
  return t;
}

/**
 * A predicate, branch index or loop bound as a scalar Tracer. A JS number
 * there stands for an integer (as a Python int in JAX), although JS numbers
 * are float32 elsewhere: it must be integer-valued and becomes a weak int32.
 */
function integerScalarTracer(where: string, what: string, x: unknown): Tracer {
  if (typeof x !== "number") return toScalarTracer(where, what, x);
  if (!Number.isInteger(x)) throw new DTypeError(`${where}: ${what} must be an integer, got ${x}`);
  return Array.fromTyped(checkedTypedFrom(`${where} (${what})`, "int32", [x]), [], "int32", { weakType: true });
}

function convert(x: Tracer, aval: ShapedArray): Tracer {
  if (x.dtype === aval.dtype && x.weakType === aval.weakType) return x;
  return bind1("convert_element_type", [x], { newDtype: aval.dtype, weakType: aval.weakType });
}

function flattenTracers(where: string, x: unknown): [Tracer[], tree.TreeDef, string[]] {
  const [leaves, def] = tree.flatten(x, where);
  return [leaves.map(leafToTracer), def, tree.leafPaths(x)];
}

/** Name a pytree leaf path for messages (`<root>` for a bare leaf). */
function leafName(path: string): string {
  return path === "<root>" ? "the carry" : `the carry leaf ${path}`;
}

// --- cond / switch ----------------------------------------------------------------

interface TracedBranch {
  jaxpr: ClosedJaxpr;
  outTree: tree.TreeDef;
  paths: string[];
}

function traceBranch(fn: (...ops: any[]) => unknown, inTree: tree.TreeDef, avals: ShapedArray[], cast: ShapedArray[] | null): TracedBranch {
  let outTree: tree.TreeDef | null = null;
  let paths: string[] = [];
  const { jaxpr } = traceFlatToJaxpr((...flat: Tracer[]) => {
    const out = fn(...(inTree.unflatten(flat) as unknown[]));
    const [leaves, def] = tree.flatten(out, "cond/switch: a branch's output");
    outTree = def;
    paths = tree.leafPaths(out);
    const ts = leaves.map(leafToTracer);
    return cast === null ? ts : ts.map((t, i) => convert(t, cast[i]));
  }, avals);
  return { jaxpr, outTree: outTree!, paths };
}

/**
 * The output types every branch agrees on: equal shapes, and equal dtypes up
 * to weak typing (a weakly typed leaf, e.g. a JS number, takes the other
 * branches' dtype). Null where the types cannot be reconciled.
 */
function commonOutAvals(traced: TracedBranch[]): ShapedArray[] | null {
  const perBranch = traced.map((t) => t.jaxpr.outAvals);
  const n = perBranch[0].length;
  const out: ShapedArray[] = [];
  for (let k = 0; k < n; k++) {
    const avals = perBranch.map((a) => a[k]);
    const a0 = avals[0];
    if (avals.some((a) => a.shape.join() !== a0.shape.join())) return null;
    // Promote as JAX's lattice does; the strongly typed outputs must not change dtype.
    const d = avals.reduce<DTypeWithWeak>((acc, a) => promoteTypes(acc, a), { dtype: a0.dtype, weakType: a0.weakType });
    if (avals.some((a) => !a.weakType && a.dtype !== d.dtype)) return null;
    out.push(new ShapedArray(a0.shape, d.dtype, d.weakType));
  }
  return out;
}

function switchImpl(where: string, index: Tracer, branches: readonly ((...ops: any[]) => unknown)[], names: string[], operands: unknown[]): any {
  const [ops, inTree] = flattenTracers(`${where}: operands`, operands);
  const avals = ops.map((o) => o.aval);
  let traced = branches.map((fn) => traceBranch(fn, inTree, avals, null));
  traced.forEach((t, i) => {
    if (!t.outTree.equals(traced[0].outTree)) {
      throw new ShapeError(`${where}: every branch must return the same pytree structure; ${names[0]} returns ${traced[0].outTree} but ${names[i]} returns ${t.outTree}`);
    }
  });
  const target = commonOutAvals(traced);
  if (target === null) {
    const bad = traced.findIndex((t) => t.jaxpr.outAvals.some((a, k) => !a.equals(traced[0].jaxpr.outAvals[k])));
    const leaf = traced[0].jaxpr.outAvals.findIndex((a, k) => !a.equals(traced[bad].jaxpr.outAvals[k]));
    throw new ShapeError(
      `${where}: the branches must return the same types; ${names[0]} returns ${avalsStr(traced[0].jaxpr.outAvals)} but ${names[bad]} returns ${avalsStr(traced[bad].jaxpr.outAvals)}` +
        ` (output ${traced[0].paths[leaf]}: ${traced[0].jaxpr.outAvals[leaf].str()} vs ${traced[bad].jaxpr.outAvals[leaf].str()})`,
    );
  }
  traced = traced.map((t, i) => (t.jaxpr.outAvals.every((a, k) => a.strictEquals(target[k])) ? t : traceBranch(branches[i], inTree, avals, target)));
  const { branches: closed, consts } = hoistBranches(traced.map((t) => t.jaxpr));
  const outs = bind("cond", [index, ...consts, ...ops], { branches: closed });
  return traced[0].outTree.unflatten(outs);
}

/**
 * `cond(pred, trueFn, falseFn, ...operands)`: trueFn(...operands) if pred
 * else falseFn(...operands), as one primitive that transformations see
 * whole. pred is a bool or integer scalar (nonzero is true); both branches
 * must return the same pytree of the same types.
 */
export function cond<Ops extends unknown[], R1, R2 = R1>(pred: Scalar, trueFn: (...operands: Traced<NoInfer<Ops>>) => R1, falseFn: (...operands: Traced<NoInfer<Ops>>) => R2, ...operands: Ops): Traced<R1 | R2> {
  if (typeof trueFn !== "function" || typeof falseFn !== "function") {
    throw new ArgumentError("cond: expected cond(pred, trueFn, falseFn, ...operands) with two functions");
  }
  let p = integerScalarTracer("cond", "pred", pred);
  if (isInt(p.dtype)) p = bind1("ne", [p, Array.scalar(0, p.dtype)], {});
  else if (!isBool(p.dtype)) {
    throw new DTypeError(`cond: pred must be a bool or integer scalar, got ${p.aval.str()}; compare it first (e.g. x.gt(0))`);
  }
  const index = bind1("convert_element_type", [p], { newDtype: "int32", weakType: false });
  return switchImpl("cond", index, [falseFn as (...o: unknown[]) => unknown, trueFn as (...o: unknown[]) => unknown], ["falseFn", "trueFn"], operands);
}

/**
 * `switchCase(index, branches, ...operands)` (lax.switch): `branches[index](...operands)`,
 * with index clamped into range as in JAX.
 */
export function switchCase<Ops extends unknown[], R>(index: Scalar, branches: readonly ((...operands: Traced<NoInfer<Ops>>) => R)[], ...operands: Ops): Traced<R> {
  if (!globalThis.Array.isArray(branches) || branches.length === 0 || branches.some((b) => typeof b !== "function")) {
    throw new ArgumentError("switch: branches must be a non-empty array of functions");
  }
  let i = integerScalarTracer("switch", "index", index);
  if (!isInt(i.dtype) && !isBool(i.dtype)) throw new DTypeError(`switch: index must be an integer scalar, got ${i.aval.str()}`);
  if (branches.length === 1) return branches[0](...(operands as unknown as Traced<Ops>)) as Traced<R>;
  if (i.dtype !== "int32" || i.weakType) i = bind1("convert_element_type", [i], { newDtype: "int32", weakType: false });
  i = bind1("clamp", [Array.scalar(0, "int32"), i, Array.scalar(branches.length - 1, "int32")], {});
  return switchImpl("switch", i, branches as readonly ((...o: unknown[]) => unknown)[], branches.map((_, k) => `branch ${k}`), operands);
}

export { switchCase as switch_ };

// --- carried loops: type checking with weak-type promotion ---------------------------

/**
 * Trace a loop body until its carry types are stable. A weakly typed carry
 * (e.g. a JS number) whose body output has another dtype is promoted to that
 * dtype, as JAX does; any other change of shape or dtype is a ShapeError.
 */
function traceCarried<Extra>(
  where: string,
  carryAvals: ShapedArray[],
  paths: string[],
  traceOnce: (avals: ShapedArray[]) => { jaxpr: ClosedJaxpr; carryOut: ShapedArray[]; extra: Extra },
): { jaxpr: ClosedJaxpr; avals: ShapedArray[]; extra: Extra } {
  let avals = carryAvals;
  for (let round = 0; ; round++) {
    const r = traceOnce(avals);
    let changed = false;
    const next = avals.map((a, i) => {
      const o = r.carryOut[i];
      if (o.shape.join() !== a.shape.join() || (o.dtype !== a.dtype && !a.weakType)) {
        throw new ShapeError(
          `${where}: ${leafName(paths[i])} has type ${a.str()} on input but the body returns ${o.str()}; the carry must keep its shape and dtype` +
            (o.dtype !== a.dtype ? ` (convert the initial value, e.g. with .astype("${o.dtype}"))` : ""),
        );
      }
      if (o.dtype !== a.dtype) {
        changed = true;
        return new ShapedArray(a.shape, o.dtype, o.weakType);
      }
      return a;
    });
    if (!changed) return { jaxpr: r.jaxpr, avals, extra: r.extra };
    if (round > 4) throw new ShapeError(`${where}: the carry types do not settle: ${avalsStr(avals)} -> ${avalsStr(r.carryOut)}`);
    avals = next;
  }
}

function checkCarryTree(where: string, fnName: string, init: tree.TreeDef, out: tree.TreeDef): void {
  if (!out.equals(init)) {
    throw new ShapeError(`${where}: ${fnName} must return a carry with the structure of the initial value ${init}, got ${out}`);
  }
}

// --- while ---------------------------------------------------------------------------

/** `whileLoop(condFn, bodyFn, init)`: while condFn(carry) is true, carry = bodyFn(carry). */
export function whileLoop<C>(condFn: (carry: Traced<NoInfer<C>>) => Scalar, bodyFn: (carry: Traced<NoInfer<C>>) => NoInfer<C> | Traced<NoInfer<C>>, init: C): Traced<C> {
  if (typeof condFn !== "function" || typeof bodyFn !== "function") {
    throw new ArgumentError("whileLoop: expected whileLoop(condFn, bodyFn, init) with two functions");
  }
  const [initTs, inTree, paths] = flattenTracers("whileLoop: init", init);
  const body = traceCarried("whileLoop", initTs.map((t) => t.aval), paths, (avals) => {
    let outTree: tree.TreeDef | null = null;
    const { jaxpr } = traceFlatToJaxpr((...flat: Tracer[]) => {
      const out = bodyFn(inTree.unflatten(flat));
      const [leaves, def] = tree.flatten(out, "whileLoop: bodyFn's output");
      outTree = def;
      return leaves.map(leafToTracer);
    }, avals);
    checkCarryTree("whileLoop", "bodyFn", inTree, outTree!);
    return { jaxpr, carryOut: jaxpr.outAvals, extra: null };
  });
  const carry = initTs.map((t, i) => convert(t, body.avals[i]));
  let condTree: tree.TreeDef | null = null;
  const { jaxpr: condJ } = traceFlatToJaxpr((...flat: Tracer[]) => {
    const out = condFn(inTree.unflatten(flat));
    const [leaves, def] = tree.flatten(out, "whileLoop: condFn's output");
    condTree = def;
    return leaves.map(leafToTracer);
  }, body.avals);
  const c = condJ.outAvals;
  if (condTree!.kind !== "leaf" || c[0].ndim !== 0 || c[0].dtype !== "bool") {
    throw new DTypeError(`whileLoop: condFn must return a bool scalar, got ${condTree!.kind === "leaf" ? c[0].str() : `a pytree ${condTree}`}`);
  }
  const hc = hoist(condJ);
  const hb = hoist(body.jaxpr);
  const outs = bind("while", [...hc.consts, ...hb.consts, ...carry], {
    condJaxpr: hc.jaxpr,
    bodyJaxpr: hb.jaxpr,
    condNconsts: hc.consts.length,
    bodyNconsts: hb.consts.length,
  });
  return inTree.unflatten(outs);
}

// --- scan ------------------------------------------------------------------------------

export interface ScanOptions {
  /** The number of steps; required when xs is null/undefined, else checked against xs. */
  length?: number;
  /** Scan from the last element of xs to the first (ys stay in xs's order). */
  reverse?: boolean;
}
const scanRules: OptionRules<ScanOptions> = { length: opt.nonNegativeInteger, reverse: opt.boolean };

/**
 * `scan(f, init, xs, { length, reverse })` -> [carry, ys]: for each slice x
 * of xs along its leading axis, [carry, y] = f(carry, x); the ys are stacked.
 * xs and ys are pytrees; xs may be null/undefined when `length` is given.
 */
export function scan<C, X, Y>(f: (carry: Traced<NoInfer<C>>, x: Traced<NoInfer<X>>) => [NoInfer<C> | Traced<NoInfer<C>>, Y], init: C, xs?: X | null, opts: ScanOptions = {}): [Traced<C>, Traced<Y>] {
  checkOptions("lax.scan", opts, scanRules);
  if (typeof f !== "function") throw new ArgumentError("scan: expected scan(f, init, xs, { length, reverse }) with f a function");
  const reverse = opts.reverse ?? false;
  const [initTs, carryTree, carryPaths] = flattenTracers("scan: init", init);
  const [xsTs, xsTree, xsPaths] = flattenTracers("scan: xs", xs);
  let length = opts.length;
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) {
    throw new ArgumentError(`scan: length must be a non-negative integer, got ${length}`);
  }
  xsTs.forEach((x, i) => {
    const name = xsPaths[i] === "<root>" ? "xs" : `xs leaf ${xsPaths[i]}`;
    if (x.ndim === 0) throw new ShapeError(`scan: ${name} is a scalar (${x.aval.str()}); every xs leaf needs a leading axis to scan over`);
    if (length === undefined) length = x.shape[0];
    else if (x.shape[0] !== length) {
      throw new ShapeError(
        `scan: ${name} has leading size ${x.shape[0]} (${x.aval.str()}) but ${opts.length !== undefined ? "length is" : "the other xs have"} ${length}; all xs must share the scanned axis`,
      );
    }
  });
  if (length === undefined) throw new ArgumentError("scan: xs has no arrays, so pass the number of steps as { length }");
  const n = length;
  const xAvals = xsTs.map((x) => x.aval.withShape(x.shape.slice(1)));
  const nK = initTs.length;
  const body = traceCarried("scan", initTs.map((t) => t.aval), carryPaths, (avals) => {
    let outCarryTree: tree.TreeDef | null = null;
    let yTree: tree.TreeDef | null = null;
    const { jaxpr } = traceFlatToJaxpr((...flat: Tracer[]) => {
      const out = f(carryTree.unflatten(flat.slice(0, nK)), xsTree.unflatten(flat.slice(nK)));
      if (!globalThis.Array.isArray(out) || out.length !== 2) {
        throw new ArgumentError("scan: f must return a pair [carry, y] (y may be null)");
      }
      const [cl, cd] = tree.flatten(out[0], "scan: f's carry output");
      const [yl, yd] = tree.flatten(out[1], "scan: f's y output");
      outCarryTree = cd;
      yTree = yd;
      return [...cl.map(leafToTracer), ...yl.map(leafToTracer)];
    }, [...avals, ...xAvals]);
    checkCarryTree("scan", "f", carryTree, outCarryTree!);
    return { jaxpr, carryOut: jaxpr.outAvals.slice(0, nK), extra: yTree! };
  });
  const carry = initTs.map((t, i) => convert(t, body.avals[i]));
  const h = hoist(body.jaxpr);
  const outs = bind("scan", [...h.consts, ...carry, ...xsTs], {
    jaxpr: h.jaxpr,
    numConsts: h.consts.length,
    numCarry: nK,
    length: n,
    reverse,
    linear: new globalThis.Array<boolean>(h.consts.length + nK + xsTs.length).fill(false),
  });
  return [carryTree.unflatten(outs.slice(0, nK)), body.extra.unflatten(outs.slice(nK))];
}

// --- fori ------------------------------------------------------------------------------

function isStaticBound(x: unknown): boolean {
  return typeof x === "number" || (isArray(x) && x.ndim === 0);
}

function boundTracer(where: string, what: string, x: Scalar): Tracer {
  const t = integerScalarTracer(where, what, x);
  if (!isInt(t.dtype)) throw new DTypeError(`${where}: ${what} must be an integer, got ${t.aval.str()}`);
  return t.dtype === "int32" && !t.weakType ? t : bind1("convert_element_type", [t], { newDtype: "int32", weakType: false });
}

/**
 * `foriLoop(lower, upper, bodyFn, init)`: for i in [lower, upper), val = bodyFn(i, val).
 * With static bounds (JS numbers or concrete arrays) it is a scan, so reverse
 * mode works; with traced bounds it is a while loop (forward mode only).
 */
export function foriLoop<C>(lower: Scalar, upper: Scalar, bodyFn: (i: Tracer, val: Traced<NoInfer<C>>) => NoInfer<C> | Traced<NoInfer<C>>, init: C): Traced<C> {
  if (typeof bodyFn !== "function") throw new ArgumentError("foriLoop: expected foriLoop(lower, upper, bodyFn, init) with bodyFn a function");
  const one = Array.scalar(1, "int32");
  if (isStaticBound(lower) && isStaticBound(upper)) {
    const lo = Number(isArray(lower) ? lower.item() : lower);
    const hi = Number(isArray(upper) ? upper.item() : upper);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new DTypeError(`foriLoop: the bounds must be integers, got ${lo} and ${hi}`);
    // The loop index rides in the carry; untyped internally, the signature above types it.
    const body = bodyFn as (i: Tracer, val: unknown) => unknown;
    const [[, out]] = scan(
      ([i, val]: [Tracer, unknown]) => [[bind1("add", [i, one], {}), body(i, val)], null] as [[Tracer, unknown], null],
      [Array.scalar(lo, "int32"), init] as [Tracer, unknown],
      null,
      { length: Math.max(0, hi - lo) },
    );
    return out as Traced<C>;
  }
  const lo = boundTracer("foriLoop", "lower", lower);
  const hi = boundTracer("foriLoop", "upper", upper);
  const body = bodyFn as (i: Tracer, val: unknown) => unknown;
  const [, , out] = whileLoop(
    ([i, u]: [Tracer, Tracer, unknown]) => bind1("lt", [i, u], {}),
    ([i, u, val]: [Tracer, Tracer, unknown]) => [bind1("add", [i, one], {}), u, body(i, val)] as [Tracer, Tracer, unknown],
    [lo, hi, init] as [Tracer, Tracer, unknown],
  );
  return out as Traced<C>;
}
