// tinyflow/testing: tools for users' own property tests — fast-check
// arbitraries of arrays and pytrees, an allclose assertion, and checkGrads,
// which compares jvp and vjp against finite differences and each other.

/**
 * fast-check arbitraries of arrays and pytrees, `expectAllclose` and `checkGrads` for property tests.
 *
 * @module tinyflow/testing
 */

import fc, { Arbitrary } from "fast-check";
import { Array } from "../core/array";
import { allocTyped, isFloat, type DType } from "../core/dtype";
import { ArgumentError, OptionsError, TinyflowError } from "../core/errors";
import { checkOptions, describeValue, opt, type OptionRule, type OptionRules } from "../core/options";
import * as tree from "../core/pytree";
import { sizeOf } from "../core/shape";
import { Tracer } from "../core/trace";
import { jvp, vjp } from "../../transforms";
import "../setup";

// --- arbitraries -------------------------------------------------------------

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
}

const shapeRules: OptionRules<ShapeOptions> = {
  minRank: opt.nonNegativeInteger,
  maxRank: opt.nonNegativeInteger,
  minDim: opt.nonNegativeInteger,
  maxDim: opt.nonNegativeInteger,
};

/** Arbitrary shapes: minRank..maxRank dims (default 0..3), each minDim..maxDim (default 1..5). */
export function shapes(opts?: ShapeOptions): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, minDim = 1, maxDim = 5 } = checkOptions("shapes", opts, shapeRules);
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

export interface ArrayOptions {
  shape?: number[] | fc.Arbitrary<number[]>;
  dtype?: DType;
  min?: number;
  max?: number;
}

const arrayRules: OptionRules<ArrayOptions> = {
  shape: {
    expected: "a list of non-negative integers or a fast-check arbitrary of them",
    accepts: (v) => v instanceof Arbitrary || (globalThis.Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0)),
  },
  dtype: opt.dtype,
  min: opt.number,
  max: opt.number,
};

/** Arbitrary concrete Arrays. Floats are finite and within [min, max] (default [-3, 3]). */
export function arrays(opts?: ArrayOptions): fc.Arbitrary<Array> {
  const { shape, dtype = "float32", min = -3, max = 3 } = checkOptions("arrays", opts, arrayRules);
  if (min > max) throw new OptionsError(`arrays: min ${min} is greater than max ${max}; give min <= max`);
  const shapeArb = shape === undefined ? shapes() : globalThis.Array.isArray(shape) ? fc.constant(shape) : shape;
  return shapeArb.chain((s) => {
    const n = sizeOf(s);
    const values: fc.Arbitrary<number[]> = isFloat(dtype)
      ? fc.array(fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
      : dtype === "bool"
        ? fc.array(fc.boolean().map(Number), { minLength: n, maxLength: n })
        : fc.array(fc.integer({ min: Math.ceil(min), max: Math.floor(max) }), { minLength: n, maxLength: n });
    return values.map((vs) => {
      const data = allocTyped(dtype, n);
      vs.forEach((v, i) => (data[i] = v));
      return Array.fromTyped(data, s, dtype);
    });
  });
}

/** Arbitrary pytrees (nested lists/objects) of arrays from `leaf`. */
export function pytrees(leaf: fc.Arbitrary<unknown> = arrays(), maxDepth = 2): fc.Arbitrary<unknown> {
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", maxDepth },
      leaf,
      fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
      fc.dictionary(fc.constantFrom("a", "b", "c", "w"), tie("node"), { minKeys: 1, maxKeys: 3 }),
    ),
  }));
  return node;
}

// --- comparisons -------------------------------------------------------------

export class AllcloseError extends TinyflowError {}

function hostValues(x: unknown): { data: number[]; shape: readonly number[] } {
  if (x instanceof Tracer) return { data: globalThis.Array.from(x.dataSync(), Number), shape: x.shape };
  if (typeof x === "number" || typeof x === "boolean") return { data: [Number(x)], shape: [] };
  throw new ArgumentError(`expectAllclose: expected arrays or numbers, got ${typeof x}`);
}

export interface AllcloseOptions {
  atol?: number;
  rtol?: number;
}
const allcloseRules: OptionRules<AllcloseOptions> = { atol: opt.nonNegative, rtol: opt.nonNegative };

/** Assert two pytrees of arrays are elementwise close: |a - b| <= atol + rtol·|b|. */
export function expectAllclose(a: unknown, b: unknown, opts?: AllcloseOptions): void {
  const { atol = 1e-5, rtol = 1e-5 } = checkOptions("expectAllclose", opts, allcloseRules);
  const [al, ad] = tree.flatten(a, "expectAllclose");
  const [bl, bd] = tree.flatten(b, "expectAllclose");
  if (!ad.equals(bd)) throw new AllcloseError(`expectAllclose: structures differ: ${ad} vs ${bd}`);
  const paths = tree.leafPaths(a);
  al.forEach((x, k) => {
    const xa = hostValues(x);
    const xb = hostValues(bl[k]);
    if (xa.shape.join() !== xb.shape.join()) {
      throw new AllcloseError(`expectAllclose: leaf ${paths[k]} has shape [${xa.shape}] vs [${xb.shape}]`);
    }
    let worst = -1;
    let worstExcess = 0;
    xa.data.forEach((v, i) => {
      const w = xb.data[i];
      if (Number.isNaN(v) && Number.isNaN(w)) return;
      const excess = Math.abs(v - w) - (atol + rtol * Math.abs(w));
      if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
        worst = i;
        worstExcess = excess;
      }
    });
    if (worst >= 0) {
      throw new AllcloseError(
        `expectAllclose: leaf ${paths[k]} differs at flat index ${worst}: ${xa.data[worst]} vs ${xb.data[worst]} ` +
          `(|diff| = ${Math.abs(xa.data[worst] - xb.data[worst]).toExponential(3)}, atol=${atol}, rtol=${rtol})`,
      );
    }
  });
}

// --- gradient checks ---------------------------------------------------------

/** A small deterministic PRNG (mulberry32): floats in [0, 1) from `seed`, so a failing check is reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLike(x: Tracer, next: () => number): Array {
  const data = new Float32Array(x.size).map(() => next() * 2 - 1);
  return Array.fromTyped(data, x.shape, x.dtype);
}

function leavesOf(x: unknown): Tracer[] {
  return tree.leaves(x).map((l) => (l instanceof Tracer ? l : Array.scalar(Number(l), "float32")));
}

function dot(a: unknown, b: unknown): number {
  const al = leavesOf(a);
  const bl = leavesOf(b);
  let s = 0;
  al.forEach((x, i) => {
    const xd = x.dataSync();
    const yd = bl[i].dataSync();
    for (let k = 0; k < xd.length; k++) s += xd[k] * yd[k];
  });
  return s;
}

/** x + c·v leafwise, computed in float64 on the host and stored back as the leaf dtype. */
function axpy(x: unknown, c: number, v: unknown): unknown {
  return tree.map((xl: Tracer | number, vl: Tracer) => {
    const xt = xl instanceof Tracer ? xl : Array.scalar(xl, "float32");
    const xd = xt.dataSync();
    const vd = vl.dataSync();
    const out = new Float64Array(xd.length).map((_, i) => xd[i] + c * vd[i]);
    return Array.fromTyped(Float32Array.from(out), xt.shape, xt.dtype);
  }, x, v);
}

function sub(a: unknown, b: unknown, scale: number): unknown {
  return tree.map((x: Tracer, y: Tracer) => {
    const xd = x.dataSync();
    const yd = y.dataSync();
    const out = new Float64Array(xd.length).map((_, i) => (xd[i] - yd[i]) * scale);
    return Array.fromTyped(Float32Array.from(out), x.shape, "float32");
  }, a, b);
}

export interface CheckGradsOptions {
  /** Check derivatives up to this order (default 1). */
  order?: number;
  /** "fwd" (jvp), "rev" (vjp) or both (default). */
  modes?: ("fwd" | "rev")[];
  /** Finite-difference step (default 1e-2). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random directions (default 0). */
  seed?: number;
}
const modesRule: OptionRule = {
  expected: 'a non-empty list of "fwd" and "rev"',
  accepts: (v) => globalThis.Array.isArray(v) && v.length > 0 && v.every((m) => m === "fwd" || m === "rev"),
};
const checkGradsRules: OptionRules<CheckGradsOptions> = {
  order: opt.positiveInteger,
  modes: modesRule,
  eps: { expected: "a positive number", accepts: (v) => typeof v === "number" && v > 0 && Number.isFinite(v) },
  atol: opt.nonNegative,
  rtol: opt.nonNegative,
  seed: opt.integer,
};

/**
 * Check the derivatives of `f` at `args` up to `order`, like jax.test_util.check_grads:
 * "fwd" compares jvp against central finite differences along random directions,
 * "rev" checks ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ between vjp and finite differences. Higher orders recurse
 * into the jvp / vjp functions themselves.
 */
export function checkGrads(f: (...args: any[]) => unknown, args: unknown[], opts?: CheckGradsOptions): void {
  const { order = 1, modes = ["fwd", "rev"], eps = 1e-2, atol = 1e-2, rtol = 1e-2, seed = 0 } = checkOptions("checkGrads", opts, checkGradsRules);
  if (typeof f !== "function") throw new ArgumentError(`checkGrads: the first argument must be the function to check, got ${describeValue(f)}`);
  if (!globalThis.Array.isArray(args)) throw new ArgumentError(`checkGrads: args must be a list of the function's arguments, got ${describeValue(args)}; wrap a single argument as [x]`);
  const next = seededRandom(seed);
  const tangentsFor = (xs: unknown[]) => tree.map((l: Tracer | number) => randomLike(l instanceof Tracer ? l : Array.scalar(l, "float32"), next), xs);

  /** J·v by central differences (float32 evaluations, differences in float64). */
  const numericJvp = (g: (...a: any[]) => unknown, xs: unknown[], ts: unknown[]) => {
    const plus = g(...(axpy(xs, eps, ts) as unknown[]));
    const minus = g(...(axpy(xs, -eps, ts) as unknown[]));
    return sub(plus, minus, 1 / (2 * eps));
  };
  const checkJvp = (g: (...a: any[]) => unknown, xs: unknown[]) => {
    const ts = tangentsFor(xs) as unknown[];
    const [, tOut] = jvp(g, xs, ts);
    const fd = numericJvp(g, xs, ts);
    try {
      expectAllclose(tOut, fd, { atol, rtol });
    } catch (e) {
      if (e instanceof AllcloseError) throw new AllcloseError(`checkGrads (fwd, jvp vs finite differences): ${e.message}`);
      throw e;
    }
  };
  const checkVjp = (g: (...a: any[]) => unknown, xs: unknown[]) => {
    const ts = tangentsFor(xs) as unknown[];
    const [out, pullback] = vjp(g, ...xs);
    const u = tree.map((o: Tracer | number) => randomLike(o instanceof Tracer ? o : Array.scalar(o, "float32"), next), out);
    // Against a numerical J·v, as JAX's check_vjp does: this also checks functions
    // that only define reverse mode (customVjp).
    const lhs = dot(u, numericJvp(g, xs, ts));
    const rhs = dot(pullback(u as never), ts);
    const tol = atol + rtol * Math.max(Math.abs(lhs), Math.abs(rhs));
    if (!(Math.abs(lhs - rhs) <= tol)) {
      throw new AllcloseError(`checkGrads (rev, ⟨u, J v⟩ vs ⟨Jᵀu, v⟩): ${lhs} vs ${rhs} (tolerance ${tol.toExponential(2)})`);
    }
  };

  const recurse = (g: (...a: any[]) => unknown, xs: unknown[], k: number) => {
    if (modes.includes("fwd")) {
      checkJvp(g, xs);
      if (k > 1) {
        const ts = tangentsFor(xs) as unknown[];
        recurse((...ys: unknown[]) => jvp(g, ys, ts)[1], xs, k - 1);
      }
    }
    if (modes.includes("rev")) {
      checkVjp(g, xs);
      if (k > 1) {
        const u = tree.map((o: Tracer | number) => randomLike(o instanceof Tracer ? o : Array.scalar(o, "float32"), next), g(...xs));
        recurse((...ys: unknown[]) => vjp(g, ...ys)[1](u as never), xs, k - 1);
      }
    }
  };
  recurse(f, args, order);
}
