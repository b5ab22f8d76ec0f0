// Property: the WebGPU backend computes what the interpreter (the reference
// oracle) computes.
//
// 1. For EVERY first-order primitive (primitive_cases.ts, typed over
//    FirstOrderPrimitive, as is the tolerance table here), on random valid
//    params, shapes (0-size dims, scalars, odd sizes), every dtype the
//    primitive accepts and data with NaN/±Inf/±0, the primitive jitted on
//    WebGPU — its operands reaching it as strided views of other arrays — equals
//    the interpreter: bitwise for integers, bools and exactly rounded float
//    ops; for transcendental functions within the accuracy of f32 evaluation
//    on the GPU (its exp/log builtins, our own sin/cos/erf/tanh); relative to the magnitude of the accumulated terms for sums,
//    matmuls, convolutions, scans, scatter-adds and pooling gradients. Indexing,
//    scans, sorting and pooling run as WGSL window/library kernels; primitives
//    without a WebGPU kernel run as host steps, so they are checked too (their
//    transfers and ordering).
//    cholesky, lu and triangular_solve are WGSL kernels in float32, checked against
//    the float64 oracle by backward error (linalg_residuals.ts).
// 2. Random multi-op numpy programs (programs.ts), every intermediate returned,
//    jitted on WebGPU, equal the program on the interpreter.
// 3. The same programs over float16 inputs (packed two per word on the GPU).
//
// Each property runs twice: with generic shaders (sizes and strides read from
// a uniform, the default) and with specialised ones (baked into the WGSL,
// GpuRuntime.specializeShapes), which take different code paths in every
// generator. float16 is computed in f32 and packed on every adapter; native
// `shader-f16` arithmetic is not used (SwiftShader does not offer it either).
//
// Runs in Node on SwiftShader where there is no GPU; skipped loudly without an
// adapter. WEBGPU_NUM_RUNS (default 4) sets the runs per property: each new
// kernel shape compiles a pipeline, which is slow on SwiftShader.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, jit, np, setDefaultBackend, type Tracer } from "../src/index";
import type { TypedArray } from "../src/core/dtype";
import { BINARY_ELEMENTWISE, UNARY_ELEMENTWISE, familyTable, type FirstOrderPrimitive, type ParamsOf } from "../src/core/primitives";
import { BINARY_RECORDS, FIRST_ORDER_PRIMITIVES, SIMD_STRESS, sortedKeys, UNARY_RECORDS, type WebGpuAccuracy, type ArgView, type CaseGen, type PrimCase, type ValueKind, applyView, caseArrays, caseData, caseFn, describeView, drawValueKind, drawViews, int, primitiveCases } from "./primitive_cases";
import { cases, tame, type Case, type T } from "./programs";
import { rng } from "../test/rng";
import { gpu, inShaderMode, noGpuReason, readAll, SHADER_MODES } from "../test/webgpu_setup";
import { choleskyMismatch, luMismatch, triangularSolveMismatch } from "./linalg_residuals";
import { sizeOf as sizeOfShape } from "../src/core/shape";

const NUM_RUNS = Number(process.env.WEBGPU_NUM_RUNS ?? 4);

/**
 * exact: bitwise for ints/bools; floats equal (NaN == NaN, 0 == -0).
 * close: |got - want| <= atol + rtol·|want| (special values must match exactly).
 * accum: |got - want| <= rtol · (the primitive on |args|), the sum of |terms|.
 * backward: a float32 cholesky, lu or triangular solve (WGSL kernels) equals the float64 oracle's within
 *   rounding or has a backward error within rounding (linalg_residuals.ts).
 */
type Tol = { kind: "exact" } | { kind: "close"; rtol: number; atol: number } | { kind: "accum"; rtol: number; absArgs: number[] } | { kind: "backward" };

const EXACT = { kind: "exact" } as const satisfies Tol;
/** WGSL's f32 division and inverseSqrt are within 2.5 ulp; the builtins exp/log within a few ulp. */
const FEW_ULP: Tol = { kind: "close", rtol: 4e-7, atol: 1e-37 };
const TRANSCENDENTAL: Tol = { kind: "close", rtol: 2e-5, atol: 1e-6 };
/** sin/cos: range reduction and polynomials in f32 (the WGSL builtins may be as coarse as 2^-11 absolute). */
const TRIG: Tol = { kind: "close", rtol: 4e-6, atol: 2e-6 };
const SUM = (absArgs: number[]): Tol => ({ kind: "accum", rtol: 3e-5, absArgs });

const ELEMENTWISE_TOL: { [A in WebGpuAccuracy]: Tol } = {
  exact: EXACT, fewUlp: FEW_ULP, transcendental: TRANSCENDENTAL, trig: TRIG, pow: { kind: "close", rtol: 1e-4, atol: 1e-30 },
};

/** The elementwise rows come from the op records (primitive_cases.ts). */
const TOLERANCE: { [P in FirstOrderPrimitive]: Tol } = {
  ...familyTable(UNARY_ELEMENTWISE, (p) => (p === "integer_pow" ? FEW_ULP : ELEMENTWISE_TOL[UNARY_RECORDS[p].webgpu])),
  ...familyTable(BINARY_ELEMENTWISE, (p) => ELEMENTWISE_TOL[BINARY_RECORDS[p].webgpu]),
  select_n: EXACT, clamp: EXACT,
  convert_element_type: EXACT, bitcast_convert_type: EXACT,
  reduce_sum: SUM([0]), reduce_max: EXACT, reduce_min: EXACT, reduce_prod: { kind: "close", rtol: 1e-4, atol: 1e-30 }, reduce_and: EXACT, reduce_or: EXACT,
  // cumprod multiplies in float32 on the GPU (a rounding per product), the interpreter in float64 (rounded once).
  argmax: EXACT, argmin: EXACT, cumsum: SUM([0]), cumprod: { kind: "close", rtol: 1e-4, atol: 1e-30 }, cummax: EXACT, cummin: EXACT,
  broadcast_in_dim: EXACT, reshape: EXACT, transpose: EXACT, squeeze: EXACT, expand_dims: EXACT, rev: EXACT, slice: EXACT,
  dynamic_slice: EXACT, dynamic_update_slice: EXACT, pad: EXACT, concatenate: EXACT, iota: EXACT,
  gather: EXACT, scatter: EXACT, scatter_add: SUM([0, 2]),
  dot_general: SUM([0, 1]), conv_general_dilated: SUM([0, 1]),
  reduce_window_sum: SUM([0]), reduce_window_max: EXACT, reduce_window_min: EXACT,
  select_and_scatter_add: SUM([0]), select_and_gather_add: EXACT,
  sort: EXACT, top_k: EXACT, threefry2x32: EXACT, stop_gradient: EXACT,
  // qr, eigh and svd run as host steps on WebGPU (the interpreter's code); cholesky, lu and
  // triangular_solve are WGSL kernels in float32 (float16 operands stay host steps: exact there too).
  cholesky: { kind: "backward" }, lu: { kind: "backward" }, qr: EXACT, eigh: EXACT, svd: EXACT, triangular_solve: { kind: "backward" },
};

/** The first element where got differs from want beyond the tolerance, or null. float16 gets one half-precision ulp more. */
function firstMismatch(got: TypedArray, want: TypedArray, dtype: string, tol: Exclude<Tol, { kind: "backward" }>, mag: TypedArray | null): string | null {
  const isFloat = dtype === "float32" || dtype === "float16";
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!isFloat || tol.kind === "exact" || !Number.isFinite(w) || !Number.isFinite(g)) return `element ${i}: got ${g}, want ${w}`;
    const half = dtype === "float16" ? Math.abs(w) * 2 ** -10 + 2 ** -24 : 0;
    const bound = tol.kind === "close" ? tol.atol + tol.rtol * Math.abs(w) : tol.rtol * Math.abs(mag ? mag[i] : w) + 1e-30;
    if (!(Math.abs(g - w) <= bound + half)) return `element ${i}: got ${g}, want ${w} (|diff| ${Math.abs(g - w).toExponential(3)} > ${(bound + half).toExponential(3)})`;
  }
  return null;
}

/** The backward-error check of a cholesky, lu or triangular_solve case (float16 ones are host steps: exact). */
function backwardMismatch(c: PrimCase, args: TypedArray[], got: TypedArray[], want: TypedArray[]): string | null {
  const [a, b] = c.args;
  if (a.dtype !== "float32") {
    for (let k = 0; k < want.length; k++) {
      const e = firstMismatch(got[k], want[k], a.dtype, EXACT, null);
      if (e) return `output ${k}: ${e}`;
    }
    return null;
  }
  const m = a.shape[a.shape.length - 2];
  const n = a.shape[a.shape.length - 1];
  const batch = sizeOfShape(a.shape.slice(0, -2));
  switch (c.prim) {
    case "cholesky":
      return choleskyMismatch(args[0], got[0], want[0], batch, n);
    case "lu":
      return luMismatch(args[0], got, want, batch, m, n);
    case "triangular_solve":
      return triangularSolveMismatch(args[0], args[1], got[0], want[0], batch, b.shape[b.shape.length - 2], b.shape[b.shape.length - 1], c.params as ParamsOf<"triangular_solve">);
    default:
      throw new Error(`no backward-error check for ${c.prim}`);
  }
}

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

// --- property 1: every primitive ---------------------------------------------------------

const PRIMITIVE_CASES = primitiveCases({ ...SIMD_STRESS, maxSize: 600 });

interface PrimScenario {
  c: PrimCase;
  views: ArgView[];
  kind: ValueKind;
  seed: number;
}

function describePrim(s: PrimScenario): string {
  const args = s.c.args.map((a, i) => `${a.dtype}[${a.shape}]${describeView(s.views[i])}`);
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

async function checkPrim(s: PrimScenario): Promise<string | null> {
  const { c, views } = s;
  const tol = TOLERANCE[c.prim as FirstOrderPrimitive];
  const data = caseData(c, views, rng(s.seed), s.kind);
  const f = caseFn(c, views);
  const want = onBackend("interpreter", () => asList(f(...caseArrays(c, views, data, "interpreter"))));
  let mags: TfArray[] | null = null;
  if (tol.kind === "accum") {
    const absData = data.map((d, i) => (tol.absArgs.includes(i) ? d.map((x: number) => Math.abs(x)) : d) as TypedArray);
    mags = onBackend("interpreter", () => asList(f(...caseArrays(c, views, absData, "interpreter"))));
  }
  let got: TfArray[];
  try {
    got = onBackend("webgpu", () => asList(jit((...ys: Tracer[]) => f(...ys))(...caseArrays(c, views, data, "webgpu"))));
  } catch (e) {
    return `jit on webgpu threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  if (tol.kind === "backward") {
    for (let k = 0; k < want.length; k++) if (got[k].aval.str() !== want[k].aval.str()) return `output ${k} is ${got[k].aval.str()}, want ${want[k].aval.str()}`;
    const args = onBackend("interpreter", () => caseArrays(c, views, data, "interpreter").map((x, i) => applyView(views[i], x, c.args[i].shape)));
    return backwardMismatch(c, await readAll(args), await readAll(got), await readAll(want));
  }
  for (let k = 0; k < want.length; k++) {
    if (got[k].aval.str() !== want[k].aval.str()) return `output ${k} is ${got[k].aval.str()}, want ${want[k].aval.str()}`;
    const m = firstMismatch(await got[k].data(), await want[k].data(), want[k].dtype, tol, mags ? await mags[k].data() : null);
    if (m !== null) return `output ${k} (${want[k].aval.str()}): ${m}`;
  }
  return null;
}

for (const mode of SHADER_MODES) {
  describe.skipIf(gpu === null)(`property: every first-order primitive jitted on WebGPU equals the interpreter, ${mode.name} shaders${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
    inShaderMode(mode);
    it("covers every first-order primitive", () => expect(sortedKeys(PRIMITIVE_CASES)).toEqual([...FIRST_ORDER_PRIMITIVES].sort()));
    for (const prim of Object.keys(PRIMITIVE_CASES) as FirstOrderPrimitive[]) {
      // Each new kernel shape compiles a pipeline, slow on SwiftShader under load.
      it(prim, { timeout: 180_000 }, async () => {
        await fc.assert(
          fc.asyncProperty(primScenario(PRIMITIVE_CASES[prim]), async (s) => {
            const err = await checkPrim(s);
            if (err !== null) throw new Error(`${describePrim(s)} (${mode.name} shaders):\n  ${err}`);
          }),
          { numRuns: mode.runs(NUM_RUNS) },
        );
      });
    }
  });
}

// --- property 2: random programs ----------------------------------------------------------

function allRegisters(c: Case) {
  return (...xs: T[]): T[] => {
    const regs: T[] = [...xs];
    for (const op of c.prog.ops) regs.push(op.apply(regs));
    return regs.slice(xs.length);
  };
}

for (const mode of SHADER_MODES) {
  describe.skipIf(gpu === null)(`property: random programs jitted on WebGPU equal the interpreter, ${mode.name} shaders${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
    inShaderMode(mode);
    it("programs of up to 8 ops over broadcasts, views, reductions, matmuls, concatenations, pads and scatter-adds", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(cases({ mode: "all", maxInputs: 3, maxOps: 8, maxRank: 3, maxDim: 9 }), async (c) => {
          const f = allRegisters(c);
          const want = onBackend("interpreter", () => f(...c.inputs.map((x) => x.to("interpreter"))) as TfArray[]);
          fc.pre(want.every((w) => tame(w, 1e5)));
          const got = jit(f, { backend: "webgpu" })(...c.inputs.map((x) => x.to("webgpu"))) as TfArray[];
          for (let k = 0; k < want.length; k++) {
            const wd = await want[k].data();
            let scale = 0;
            for (let i = 0; i < wd.length; i++) scale = Math.max(scale, Math.abs(wd[i]));
            const m = firstMismatch(await got[k].data(), wd, want[k].dtype, { kind: "close", rtol: 1e-4, atol: 1e-5 * (1 + scale) }, null);
            if (m !== null) throw new Error(`${c.prog} (${mode.name} shaders)\nregister ${k} (${want[k].aval.str()}): ${m}`);
          }
        }),
        { numRuns: mode.runs(NUM_RUNS * 4) },
      );
    });
  });
}

// --- property 3: random programs in float16 -----------------------------------------------
// The same programs over float16 inputs: on WebGPU float16 arrays are packed two per word
// and every kernel computes in f32, rounding each result to half as the interpreter does. A
// result the GPU's f32 and the interpreter's f64 place on either side of a half-precision
// rounding boundary differs by one half ulp, which later ops may carry: hence the tolerance.

for (const mode of SHADER_MODES) {
  describe.skipIf(gpu === null)(`property: random float16 programs jitted on WebGPU equal the interpreter, ${mode.name} shaders${gpu ? "" : ` (skipped: ${noGpuReason})`}`, () => {
    inShaderMode(mode);
    it("float16 programs of up to 6 ops (elementwise, reductions, matmuls, views, pads, scatter-adds) over odd sizes", { timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(cases({ mode: "all", maxInputs: 3, maxOps: 6, maxRank: 3, maxDim: 9 }), async (c) => {
          const f = allRegisters(c);
          const halves = c.inputs.map((x) => onBackend("interpreter", () => np.astype(x.to("interpreter"), "float16") as TfArray));
          const want = onBackend("interpreter", () => f(...halves) as TfArray[]);
          fc.pre(want.every((w) => tame(w, 1e3)));
          const got = jit(f, { backend: "webgpu" })(...halves.map((x) => x.to("webgpu"))) as TfArray[];
          for (let k = 0; k < want.length; k++) {
            expect(got[k].dtype).toBe(want[k].dtype);
            const wd = await want[k].data();
            let scale = 0;
            for (let i = 0; i < wd.length; i++) scale = Math.max(scale, Math.abs(wd[i]));
            const m = firstMismatch(await got[k].data(), wd, want[k].dtype, { kind: "close", rtol: 1e-2, atol: 4e-3 * (1 + scale) }, null);
            if (m !== null) throw new Error(`${c.prog} (float16 inputs, ${mode.name} shaders)\nregister ${k} (${want[k].aval.str()}): ${m}`);
          }
        }),
        { numRuns: mode.runs(NUM_RUNS * 3) },
      );
    });
  });
}
