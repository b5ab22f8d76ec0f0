// Property: the wasm backend computes what the interpreter (the reference
// oracle) computes.
//
// 1. For EVERY first-order primitive (the case table of primitive_cases.ts is
//    typed over FirstOrderPrimitive, and so is the tolerance table here), on
//    random valid params and random shapes (0-size dims, scalars, odd sizes and
//    non-multiples of 4), every dtype the primitive accepts, and float data on
//    a grid, at full precision or with NaN/±Inf/±0: the primitive run eagerly
//    on wasm, and inside jit on wasm (through the fused lowering, its operands
//    reaching it through transposes, revs, strided slices or broadcasts of
//    other arrays, i.e. as strided views), equals the interpreter's result —
//    bitwise for integers and bools and for the exactly rounded float ops, a
//    few ulp for transcendental functions, and relative to the magnitude of
//    the accumulated terms for sums, products, matmuls and convolutions (f32
//    accumulation on wasm vs f64 in the interpreter).
// 2. Random multi-op numpy programs (programs.ts: broadcasting, transposes,
//    slices, flips, reductions, matmuls with constants, concatenation, pads,
//    scatter-adds, every intermediate returned) jitted on wasm and run eagerly
//    on wasm equal the interpreter, op by op: each register equals the
//    interpreter's op applied to that run's own earlier registers.
//
// Counterexamples print the primitive with its params, each argument's spec
// and how it is viewed, the value kind and seed, and the first differing
// element (with the inputs when they are small). NUM_RUNS (default 20) sets
// the runs per property.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, setDefaultBackend, type Tracer } from "../src/index";
import type { TypedArray } from "../src/core/dtype";
import { BINARY_ELEMENTWISE, UNARY_ELEMENTWISE, familyTable, type FirstOrderPrimitive } from "../src/core/primitives";
import {
  BINARY_RECORDS, SIMD_STRESS, UNARY_RECORDS, type ArgView, type CaseGen, type PrimCase, type ValueKind, type WasmAccuracy,
  FIRST_ORDER_PRIMITIVES, caseArrays, caseData, caseFn, describeView, drawValueKind, drawViews, int, primitiveCases, sortedKeys,
} from "./primitive_cases";
import { cases, tame, type Case, type T } from "./programs";
import { rng } from "../test/rng";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

// --- tolerances -------------------------------------------------------------------------

/**
 * exact: bitwise for ints/bools; floats equal (NaN == NaN, 0 == -0).
 * ulp: floats within `ulps` units in the last place of float32 (1 ulp of float16 for f16).
 * accum: |got - want| <= rtol * magnitude, where the magnitude is the primitive applied
 *   to the absolute values of the `absArgs` arguments (the sum of |terms|), or |want| for products.
 */
type Tol =
  | { kind: "exact" }
  | { kind: "ulp"; ulps: number }
  | { kind: "accum"; rtol: number; absArgs: number[] | "product" };

const EXACT: Tol = { kind: "exact" };
const ULP: Tol = { kind: "ulp", ulps: 4 };
const SUM = (absArgs: number[]): Tol => ({ kind: "accum", rtol: 3e-5, absArgs });
const PROD: Tol = { kind: "accum", rtol: 1e-4, absArgs: "product" };

const ELEMENTWISE_TOL: { [A in WasmAccuracy]: Tol } = { exact: EXACT, ulp: ULP };

/** The elementwise rows come from the op records (primitive_cases.ts). */
const TOLERANCE: { [P in FirstOrderPrimitive]: Tol } = {
  ...familyTable(UNARY_ELEMENTWISE, (p) => (p === "integer_pow" ? ULP : ELEMENTWISE_TOL[UNARY_RECORDS[p].wasm])),
  ...familyTable(BINARY_ELEMENTWISE, (p) => ELEMENTWISE_TOL[BINARY_RECORDS[p].wasm]),
  select_n: EXACT, clamp: EXACT,
  convert_element_type: EXACT, bitcast_convert_type: EXACT,
  reduce_sum: SUM([0]), reduce_max: EXACT, reduce_min: EXACT, reduce_prod: PROD, reduce_and: EXACT, reduce_or: EXACT,
  argmax: EXACT, argmin: EXACT, cumsum: SUM([0]), cumprod: PROD, cummax: EXACT, cummin: EXACT,
  broadcast_in_dim: EXACT, reshape: EXACT, transpose: EXACT, squeeze: EXACT, expand_dims: EXACT, rev: EXACT, slice: EXACT,
  dynamic_slice: EXACT, dynamic_update_slice: EXACT, pad: EXACT, concatenate: EXACT, iota: EXACT,
  gather: EXACT, scatter: EXACT, scatter_add: SUM([0, 2]),
  dot_general: SUM([0, 1]), conv_general_dilated: SUM([0, 1]),
  reduce_window_sum: SUM([0]), reduce_window_max: EXACT, reduce_window_min: EXACT,
  select_and_scatter_add: SUM([0]), select_and_gather_add: EXACT,
  sort: EXACT, top_k: EXACT, threefry2x32: EXACT, stop_gradient: EXACT,
  cholesky: ULP, lu: ULP, qr: ULP, eigh: ULP, svd: ULP, triangular_solve: ULP,
};

const ulpOf = (w: number, f16: boolean): number => {
  const a = Math.abs(w);
  const [mant, minExp] = f16 ? [10, -14] : [23, -126];
  const e = a === 0 ? minExp : Math.max(Math.floor(Math.log2(a)), minExp);
  return 2 ** (e - mant);
};

/** The first element where got differs from want beyond the tolerance, or null. */
function firstMismatch(got: TypedArray, want: TypedArray, dtype: string, tol: Tol, mag: TypedArray | null): string | null {
  const isFloat = dtype === "float32" || dtype === "float16";
  const f16 = dtype === "float16";
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (g === w) continue;
    if (!isFloat) return `element ${i}: got ${g}, want ${w}`;
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    if (!Number.isFinite(w) || !Number.isFinite(g) || Number.isNaN(g)) return `element ${i}: got ${g}, want ${w}`;
    const diff = Math.abs(g - w);
    let ok = false;
    let bound = 0;
    if (tol.kind === "ulp") bound = tol.ulps * ulpOf(w, false) + (f16 ? ulpOf(w, true) : 0);
    else if (tol.kind === "accum") {
      const m = tol.absArgs === "product" || mag === null ? Math.abs(w) : Math.abs(mag[i]);
      bound = tol.rtol * m + (f16 ? ulpOf(w, true) : 0) + 1e-30;
    }
    ok = diff <= bound;
    if (!ok) return `element ${i}: got ${g}, want ${w} (|diff| ${diff.toExponential(3)} > bound ${bound.toExponential(3)}, ${tol.kind})`;
  }
  return null;
}

// --- running on a backend -----------------------------------------------------------------

/** Run fn with `name` as the default backend (constants and iota are created there). */
function onBackend<R>(name: string, fn: () => R): R {
  const prev = defaultBackendName();
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend(prev);
  }
}

const asList = (x: unknown): TfArray[] => (Array.isArray(x) ? (x as TfArray[]) : [x as TfArray]);

function compareOutputs(what: string, got: TfArray[], want: TfArray[], tol: Tol, mags: TfArray[] | null): string | null {
  if (got.length !== want.length) return `${what}: ${got.length} outputs, want ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const g = got[k];
    const w = want[k];
    if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join()) return `${what}: output ${k} is ${g.aval.str()}, want ${w.aval.str()}`;
    if (g.backend.name !== "wasm") return `${what}: output ${k} lives on '${g.backend.name}', want 'wasm'`;
    const m = firstMismatch(g.dataSync(), w.dataSync(), w.dtype, tol, mags ? mags[k].dataSync() : null);
    if (m !== null) return `${what}: output ${k} (${w.aval.str()}): ${m}`;
  }
  return null;
}

// --- property 1: every primitive ---------------------------------------------------------

const PRIMITIVE_CASES = primitiveCases(SIMD_STRESS);

interface PrimScenario {
  c: PrimCase;
  views: ArgView[];
  kind: ValueKind;
  seed: number;
}

function describePrim(s: PrimScenario): string {
  const args = s.c.args.map((a, i) => `${a.dtype}[${a.shape}]${a.lo !== undefined ? `∈[${a.lo},${a.hi}]` : ""}${describeView(s.views[i])}`);
  return `${s.c.prim}(${args.join(", ")}) ${JSON.stringify(s.c.params)} values=${s.kind} seed=${s.seed}`;
}

function primScenario(gen: CaseGen): fc.Arbitrary<PrimScenario> {
  return fc.gen().map((g) => {
    const c = gen(g);
    const views = drawViews(g, c, SIMD_STRESS);
    const kind = drawValueKind(g, SIMD_STRESS);
    const s: PrimScenario = { c, views, kind, seed: int(g, 0, 2 ** 30) };
    return Object.assign(s, { [fc.toStringMethod]: () => describePrim(s) });
  });
}

function showInputs(data: TypedArray[]): string {
  if (data.reduce((n, d) => n + d.length, 0) > 40) return "";
  return `\n  inputs: ${data.map((d) => JSON.stringify(Array.from(d))).join(", ")}`;
}

function checkPrim(s: PrimScenario): string | null {
  const { c, views } = s;
  const tol = TOLERANCE[c.prim as FirstOrderPrimitive];
  const data = caseData(c, views, rng(s.seed), s.kind);
  const f = caseFn(c, views);
  let want: TfArray[];
  let mags: TfArray[] | null = null;
  try {
    want = onBackend("interpreter", () => asList(f(...caseArrays(c, views, data, "interpreter"))));
    if (tol.kind === "accum" && tol.absArgs !== "product") {
      const absArgs = tol.absArgs;
      const absData = data.map((d, i) => (absArgs.includes(i) ? d.map((x: number) => Math.abs(x)) : d) as TypedArray);
      mags = onBackend("interpreter", () => asList(f(...caseArrays(c, views, absData, "interpreter"))));
    }
  } catch (e) {
    return `the interpreter (oracle) threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  for (const mode of ["eager", "jit"] as const) {
    let got: TfArray[];
    try {
      got = onBackend("wasm", () => {
        const xs = caseArrays(c, views, data, "wasm");
        return asList(mode === "eager" ? f(...xs) : jit((...ys: Tracer[]) => f(...ys))(...xs));
      });
    } catch (e) {
      return `${mode} on wasm threw ${(e as Error).name}: ${(e as Error).message}`;
    }
    const err = compareOutputs(`${mode} on wasm`, got, want, tol, mags);
    if (err !== null) return err + showInputs(data);
  }
  return null;
}

describe("property: every first-order primitive on wasm (eager and jit) equals the interpreter", () => {
  it("covers every first-order primitive", () => expect(sortedKeys(PRIMITIVE_CASES)).toEqual([...FIRST_ORDER_PRIMITIVES].sort()));
  for (const prim of Object.keys(PRIMITIVE_CASES) as FirstOrderPrimitive[]) {
    it(prim, () => {
      fc.assert(
        fc.property(primScenario(PRIMITIVE_CASES[prim]), (s) => {
          const err = checkPrim(s);
          if (err !== null) throw new Error(`${describePrim(s)}:\n  ${err}`);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

// --- property 2: random programs ----------------------------------------------------------

/** Every register of the program, so that multi-output kernels and aliased outputs are exercised. */
function allRegisters(c: Case) {
  return (...xs: T[]): T[] => {
    const regs: T[] = [...xs];
    for (const op of c.prog.ops) regs.push(op.apply(regs));
    return regs.slice(xs.length);
  };
}

function closeEnough(what: string, got: TfArray[], want: TfArray[]): string | null {
  if (got.length !== want.length) return `${what}: ${got.length} outputs, want ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const g = got[k];
    const w = want[k];
    if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join()) return `${what}: register ${k} is ${g.aval.str()}, want ${w.aval.str()}`;
    const gd = g.dataSync();
    const wd = w.dataSync();
    let scale = 0;
    for (let i = 0; i < wd.length; i++) scale = Math.max(scale, Math.abs(wd[i]));
    for (let i = 0; i < wd.length; i++) {
      if (Number.isNaN(gd[i]) && Number.isNaN(wd[i])) continue;
      const bound = 1e-4 * Math.abs(wd[i]) + 1e-5 * (1 + scale);
      if (!(Math.abs(gd[i] - wd[i]) <= bound)) return `${what}: register ${k} (${w.aval.str()}) element ${i}: got ${gd[i]}, want ${wd[i]}`;
    }
  }
  return null;
}

/**
 * Each register as the interpreter computes it from the program's inputs and
 * `got`'s own earlier registers. Every op is judged on the operands it was
 * given, so float32 differences of an ulp or two do not compound along the
 * program into a failure of a later, correct op: comparing end to end, a cos
 * whose argument (146.19, after exp, square and sums) was 2 ulp off came out
 * 3e-5 off, past the tolerance, with every kernel within its own bound.
 */
function interpreterOnEachOp(c: Case, got: TfArray[]): TfArray[] {
  const regs: T[] = [...c.inputs, ...got].map((x) => x.to("interpreter"));
  return onBackend("interpreter", () => c.prog.ops.map((op) => op.apply(regs) as TfArray));
}

describe("property: random programs, jitted and eager on wasm, equal the interpreter", () => {
  const check = (c: Case) => {
    const f = allRegisters(c);
    const want = onBackend("interpreter", () => f(...c.inputs.map((x) => x.to("interpreter"))) as TfArray[]);
    fc.pre(want.every((w) => tame(w, 1e5)));
    const inputs = c.inputs.map((x) => x.to("wasm"));
    const jitted = jit(f);
    const opByOp = (what: string, got: TfArray[]) => closeEnough(what, got, interpreterOnEachOp(c, got));
    const errs = [
      opByOp("jit on wasm", onBackend("wasm", () => jitted(...inputs) as TfArray[])),
      opByOp("jit on wasm (second call, cached program)", onBackend("wasm", () => jitted(...inputs) as TfArray[])),
      opByOp("eager on wasm", onBackend("wasm", () => f(...inputs) as TfArray[])),
    ].filter((e) => e !== null);
    if (errs.length) throw new Error(`${c.prog}\n${errs.join("\n")}`);
  };

  it("small programs, every op", () => {
    fc.assert(fc.property(cases({ mode: "all", maxInputs: 3, maxOps: 8 }), check), { numRuns: NUM_RUNS * 3 });
  });

  it("larger odd-sized arrays (fusion over SIMD tails, broadcasts and strided views)", () => {
    fc.assert(fc.property(cases({ mode: "all", maxInputs: 3, minOps: 3, maxOps: 10, maxRank: 3, maxDim: 13 }), check), { numRuns: NUM_RUNS * 2 });
  });
});
