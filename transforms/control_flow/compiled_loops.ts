// Control flow run over compiled programs: how a `cond`, `while` or `scan`
// equation of a jitted jaxpr runs when its bodies (branches, loop condition
// and body, scan body) are themselves compiled programs. The driver in
// transforms/segmented_program.ts runs the first-order stretches of the jaxpr
// around these steps; this file holds one step builder per control-flow
// primitive. Everything stays in device buffers from one iteration to the
// next: the only reads to the host are the ones the semantics needs, one scalar
// per loop iteration (the while predicate) or per branch (the cond index).

import { ShapedArray } from "../../src/core/aval";
import type { Backend, Executable } from "../../src/core/backend";
import { evalJaxpr } from "../../src/core/eval_jaxpr";
import { stackLeading } from "../../src/core/higher_order_impls";
import { byteWidth } from "../../src/core/dtype";
import type { ClosedJaxpr, JaxprEqn } from "../../src/core/ir";
import type { HigherOrderPrimitive } from "../../src/core/primitives";
import type { Tracer } from "../../src/core/trace";
import { add } from "../../src/lax/elementwise";
import { dynamicSliceInDim, reshape } from "../../src/lax/structural";
import { scalarArray } from "../../src/lax/util";
import { traceFlatToJaxpr } from "../jaxpr_trace";

/** What a control step needs from the program it is part of. */
export interface StepContext {
  readonly backend: Backend;
  /** The compiled program of a body jaxpr (optimized, around its own control flow if it has any); null where it cannot be compiled. */
  compileBody(body: ClosedJaxpr): Executable<unknown> | null;
  /** Whether a program's output can be read back synchronously (a loop predicate, a branch index). */
  readonly readsSynchronously: boolean;
}

/**
 * One step of a program run around control flow. `run` never frees its
 * inputs; each output is either a new reference the caller owns (`owned[i]`)
 * or one of the inputs passed through untouched (a loop that ran zero times).
 * `donatable[i]`: input i dies at this step, so a program may write over it.
 */
export interface StepRunner {
  /** The equation in a line: its primitive and static parameters (for describe()). */
  readonly title: string;
  run(inputs: unknown[], donatable: readonly boolean[]): { outs: unknown[]; owned: boolean[] };
  describe(): string;
  profile(): string;
  /** Releases the compiled bodies and anything uploaded for them. */
  dispose(): void;
}

type StepBuilder<P extends HigherOrderPrimitive> = (eqn: JaxprEqn<P>, ctx: StepContext) => StepRunner | null;

const indent = (text: string, by = "    "): string => text.split("\n").map((l) => by + l).join("\n");
const NO_DONATION: readonly boolean[] = [];
/** Whether a step built now times its loop for profile(): TINYFLOW_PROFILE set, read when the step is built, as the wasm programs read it. */
const profilingOn = (): boolean => typeof process !== "undefined" && Boolean(process.env?.TINYFLOW_PROFILE);

/** Compiles every body, or none: a body that cannot be compiled leaves the whole equation op by op. */
export function compileAll(bodies: readonly ClosedJaxpr[], ctx: StepContext): Executable<unknown>[] | null {
  const done: Executable<unknown>[] = [];
  for (const b of bodies) {
    const ex = ctx.compileBody(b);
    if (ex === null) {
      done.forEach((d) => d.dispose?.());
      return null;
    }
    done.push(ex);
  }
  return done;
}

/** Reads a scalar that a program produced (a predicate or an index) and releases it. */
function readScalar(backend: Backend, buf: unknown, aval: ShapedArray): number {
  const value = Number(backend.readSync(buf, aval)[0]);
  backend.free(buf);
  return value;
}

/** Frees the buffers of `bufs` that `owned` marks as this step's own. */
export function freeOwned(backend: Backend, bufs: readonly unknown[], owned: readonly boolean[]): void {
  for (let i = 0; i < bufs.length; i++) if (owned[i]) backend.free(bufs[i]);
}

// --- cond -------------------------------------------------------------------------

/** cond(index, ...operands): the index is read (clamped, as lax.switch does) and that branch's program runs. */
const condStep: StepBuilder<"cond"> = (eqn, ctx) => {
  if (!ctx.readsSynchronously) return null;
  const { branches } = eqn.params;
  const programs = compileAll(branches, ctx);
  if (programs === null) return null;
  const indexAval = eqn.inputs[0].aval;
  const { backend } = ctx;
  return {
    title: `cond (${branches.length} branches)`,
    run: (inputs, donatable) => {
      const raw = Number(backend.readSync(inputs[0], indexAval)[0]);
      const index = Math.min(Math.max(raw, 0), branches.length - 1);
      const outs = programs[index].run(inputs.slice(1), donatable.slice(1));
      return { outs, owned: outs.map(() => true) };
    },
    describe: () => programs.map((p, i) => `branch ${i}:\n${indent(p.describe())}`).join("\n"),
    profile: () => programs.map((p, i) => `branch ${i}:\n${indent(p.profile?.() ?? "")}`).join("\n"),
    dispose: () => programs.forEach((p) => p.dispose?.()),
  };
};

// --- while ------------------------------------------------------------------------

/** while(...condConsts, ...bodyConsts, ...carry): the predicate program's scalar is read before each body run. */
const whileStep: StepBuilder<"while"> = (eqn, ctx) => {
  if (!ctx.readsSynchronously) return null;
  const { condJaxpr, bodyJaxpr, condNconsts, bodyNconsts } = eqn.params;
  const programs = compileAll([condJaxpr, bodyJaxpr], ctx);
  if (programs === null) return null;
  const [condProgram, bodyProgram] = programs;
  const predAval = condJaxpr.outAvals[0];
  const { backend } = ctx;
  let iterations = 0;
  let runs = 0;
  const numCarry = eqn.inputs.length - condNconsts - bodyNconsts;
  return {
    title: `while (${condNconsts} cond consts, ${bodyNconsts} body consts, ${numCarry} carry)`,
    run: (inputs, donatable) => {
      const condConsts = inputs.slice(0, condNconsts);
      const bodyConsts = inputs.slice(condNconsts, condNconsts + bodyNconsts);
      let carry = inputs.slice(condNconsts + bodyNconsts);
      // The first body run may overwrite an initial carry that dies here; later ones their own previous carry.
      let owned = carry.map(() => false);
      let donate = [...bodyConsts.map(() => false), ...donatable.slice(condNconsts + bodyNconsts)];
      runs++;
      try {
        while (readScalar(backend, condProgram.run([...condConsts, ...carry], NO_DONATION)[0], predAval) !== 0) {
          const next = bodyProgram.run([...bodyConsts, ...carry], donate);
          freeOwned(backend, carry, owned);
          carry = next;
          owned = next.map(() => true);
          donate = [...bodyConsts.map(() => false), ...owned];
          iterations++;
        }
      } catch (e) {
        freeOwned(backend, carry, owned);
        throw e;
      }
      return { outs: carry, owned };
    },
    describe: () => `cond:\n${indent(condProgram.describe())}\nbody:\n${indent(bodyProgram.describe())}`,
    profile: () => `${(iterations / Math.max(1, runs)).toFixed(1)} iterations per run\ncond:\n${indent(condProgram.profile?.() ?? "")}\nbody:\n${indent(bodyProgram.profile?.() ?? "")}`,
    dispose: () => programs.forEach((p) => p.dispose?.()),
  };
};

// --- scan -------------------------------------------------------------------------

/**
 * The program one scan iteration runs: the body, with the slicing of each xs
 * at the iteration's index folded in (so xs are read in place, never copied
 * out), and the index advanced for the next iteration, all on the device:
 * (...consts, index, ...carry, ...xs) -> (index ± 1, ...carry', ...y).
 * Without xs the index is not needed and the body is used as it is.
 */
function iterationJaxpr(body: ClosedJaxpr, numConsts: number, numCarry: number, length: number, reverse: boolean): ClosedJaxpr {
  const inAvals = body.inAvals;
  const xAvals = inAvals.slice(numConsts + numCarry);
  if (xAvals.length === 0) return body;
  const fullXAvals = xAvals.map((a) => a.withShape([length, ...a.shape]));
  return traceFlatToJaxpr(
    (...args: Tracer[]) => {
      const consts = args.slice(0, numConsts);
      const index = args[numConsts];
      const carry = args.slice(numConsts + 1, numConsts + 1 + numCarry);
      const xs = args.slice(numConsts + 1 + numCarry).map((full) => reshape(dynamicSliceInDim(full, index, 1, 0), full.shape.slice(1)));
      const outs = evalJaxpr(body.jaxpr, body.consts, [...consts, ...carry, ...xs]);
      return [add(index, scalarArray(reverse ? -1 : 1, "int32")), ...outs];
    },
    [...inAvals.slice(0, numConsts), INDEX_AVAL, ...inAvals.slice(numConsts, numConsts + numCarry), ...fullXAvals],
  ).jaxpr;
}

const INDEX_AVAL = new ShapedArray([], "int32");

/**
 * On a backend without stacked rows (Backend.stackedRows: a GPU), the program
 * that stacks each of a scan's per-iteration outputs along a new leading axis,
 * once, after the loop: `length` values of each y in, one [length, ...] array
 * per y out. Collecting the slices and concatenating them once writes each
 * element once; writing every slice into a preallocated output instead
 * (dynamic_update_slice) would copy the whole output on every iteration unless
 * the backend updated it in place.
 */
function stackJaxpr(yAvals: readonly ShapedArray[], length: number): ClosedJaxpr {
  const inAvals = yAvals.flatMap((a) => new Array<ShapedArray>(length).fill(a));
  return traceFlatToJaxpr(
    (...ys: Tracer[]) => yAvals.map((a, k) => stackLeading(ys.slice(k * length, (k + 1) * length), a.shape, a.dtype)),
    inAvals,
  ).jaxpr;
}

/**
 * scan(...consts, ...carry, ...xs) -> (...carry, ...ys): the iteration program
 * runs `length` times, each time on the previous iteration's carry (which it
 * may overwrite: it dies there) and index. Where the backend has stacked rows
 * (Backend.stackedRows), the ys are allocated stacked before the loop and each
 * iteration's program writes its ys straight into row t of them (a y the
 * program does not compute -- an input passed through -- is copied into its
 * row); a carry that is also a y is written into that row only, read there by
 * the next iteration, and copied out once after the last; a y that is a carry
 * as its iteration starts was written into its row by the iteration before.
 * Elsewhere the ys are stacked once at the end.
 */
const scanStep: StepBuilder<"scan"> = (eqn, ctx) => {
  const { jaxpr: body, numConsts, numCarry, length, reverse } = eqn.params;
  const numXs = body.inAvals.length - numConsts - numCarry;
  const yAvals = body.outAvals.slice(numCarry);
  const { backend } = ctx;
  const rows = backend.stackedRows;
  // A scan of length 0 never runs its body (nor could it slice its empty xs): its ys are empty.
  const bodies = length > 0 ? [iterationJaxpr(body, numConsts, numCarry, length, reverse)] : [];
  const stacks = yAvals.length > 0 && rows === undefined;
  if (stacks) bodies.push(stackJaxpr(yAvals, length));
  const programs = compileAll(bodies, ctx);
  if (programs === null) return null;
  const iterationProgram = length > 0 ? programs[0] : null;
  const stackProgram = stacks ? programs[programs.length - 1] : null;
  const stackedAvals = yAvals.map((a) => a.withShape([length, ...a.shape]));
  const carryAvals = body.outAvals.slice(0, numCarry);
  // A y that is a carry's value at the start of its iteration (an LSTM's previous cell state,
  // kept for the backward pass) is the carry the previous iteration computed: that iteration
  // writes the carry straight into the y's next row, where the next one reads it and hands it
  // back as its y in place. shiftedInto[i]: the y carry i is written ahead into, if any.
  const shiftedInto = new Array<number | undefined>(numCarry);
  yAvals.forEach((_, k) => {
    const i = body.jaxpr.invars.indexOf(body.jaxpr.outvars[numCarry + k] as never) - numConsts;
    if (i >= 0 && i < numCarry && shiftedInto[i] === undefined) shiftedInto[i] = k;
  });
  const indexed = numXs > 0;
  // The first iteration's index lives with the program; each iteration computes the next one.
  const firstIndex = indexed ? backend.fromHost(Int32Array.of(reverse ? length - 1 : 0), INDEX_AVAL) : null;
  // Profiling: runs, and wall ms in the iteration loop and in the stacking, summed over runs.
  const profiling = profilingOn();
  let runs = 0, loopMs = 0, stackMs = 0, rowCopyBytes = 0;
  return {
    title: `scan length=${length} reverse=${reverse} (${numConsts} consts, ${numCarry} carry, ${numXs} xs)`,
    run: (inputs, donatable) => {
      const consts = inputs.slice(0, numConsts);
      const xs = inputs.slice(numConsts + numCarry);
      const lead = indexed ? 1 : 0;
      // state = [index?, ...carry]: what one iteration hands the next.
      let state = indexed ? [firstIndex, ...inputs.slice(numConsts, numConsts + numCarry)] : inputs.slice(numConsts, numConsts + numCarry);
      let owned = state.map(() => false);
      const initialDonatable = [...(indexed ? [false] : []), ...donatable.slice(numConsts, numConsts + numCarry)];
      // With stacked rows: the stacked ys, written row by row; else each iteration's ys, stacked after the loop.
      const stacked = rows ? stackedAvals.map((a) => rows.allocate(a)) : null;
      const ys: unknown[][] = stacked ? [] : yAvals.map(() => new Array<unknown>(length));
      const destinations: unknown[] | undefined = stacked ? new Array<unknown>(lead + numCarry + yAvals.length) : undefined;
      // The rows of the stacked ys handed out as destinations in this run, one object per row.
      const rowViews = new Set<unknown>();
      const viewsOf = yAvals.map(() => new Array<unknown>(length));
      const rowView = (k: number, position: number): unknown => {
        let view = viewsOf[k][position];
        if (view === undefined) {
          view = viewsOf[k][position] = rows!.row(stacked![k], length, position);
          rowViews.add(view);
        }
        return view;
      };
      const constFlags = consts.map(() => false);
      const xFlags = xs.map(() => false);
      try {
        const loopStart = profiling ? performance.now() : 0;
        for (let step = 0; step < length; step++) {
          const position = reverse ? length - 1 - step : step;
          const donate = step === 0 ? [...constFlags, ...initialDonatable, ...xFlags] : [...constFlags, ...owned, ...xFlags];
          if (stacked) {
            for (let k = 0; k < yAvals.length; k++) destinations![lead + numCarry + k] = rowView(k, position);
            const next = reverse ? position - 1 : position + 1;
            for (let i = 0; i < numCarry; i++) {
              const k = shiftedInto[i];
              destinations![lead + i] = k !== undefined && next >= 0 && next < length ? rowView(k, next) : undefined;
            }
          }
          const outs = iterationProgram!.run([...consts, ...state, ...xs], donate, destinations);
          freeOwned(backend, state, owned);
          state = outs.slice(0, lead + numCarry);
          // A carry may come back as a row of a stacked y (it is also a y, or it is written
          // ahead into the row its next iteration's y takes): the next iteration reads it
          // there, and it is neither freed nor written over (donated). A row the program
          // passed through (an earlier iteration's) came with a reference.
          owned = state.map((b) => {
            if (!rowViews.has(b)) return true;
            if (!destinations!.includes(b)) backend.free(b);
            return false;
          });
          for (let k = 0; k < yAvals.length; k++) {
            const y = outs[lead + numCarry + k];
            // In its row already: written there, or read from there (a carry written ahead) and passed through.
            if (!stacked) ys[k][position] = y;
            else if (y !== destinations![lead + numCarry + k]) {
              rows!.copy(y, destinations![lead + numCarry + k]);
              // Not when it is another y's row (the same value returned as two ys): that came without a reference.
              if (!destinations!.includes(y)) backend.free(y);
              if (profiling) rowCopyBytes += yAvals[k].size * byteWidth(yAvals[k].dtype);
            }
          }
        }
        const stackStart = profiling ? performance.now() : 0;
        const ysOut = stacked ?? (stackProgram ? stackProgram.run(ys.flat(), NO_DONATION) : []);
        if (profiling) {
          runs++;
          loopMs += stackStart - loopStart;
          stackMs += performance.now() - stackStart;
        }
        // A final carry left in a row of a stacked y gets a buffer of its own (one copy per run).
        const carry = state.slice(lead).map((b, c) => {
          if (!rowViews.has(b)) return b;
          const own = rows!.allocate(carryAvals[c]);
          rows!.copy(b, own);
          owned[lead + c] = true;
          if (profiling) rowCopyBytes += carryAvals[c].size * byteWidth(carryAvals[c].dtype);
          return own;
        });
        const carryOwned = owned.slice(lead);
        if (indexed && owned[0]) backend.free(state[0]);
        return { outs: [...carry, ...ysOut], owned: [...carryOwned, ...ysOut.map(() => true)] };
      } catch (e) {
        freeOwned(backend, state, owned);
        stacked?.forEach((b) => backend.free(b));
        throw e;
      } finally {
        for (const list of ys) for (const y of list) if (y !== undefined) backend.free(y);
      }
    },
    describe: () =>
      (iterationProgram
        ? `iteration (${indexed ? "slices xs at the index, " : ""}runs the body${indexed ? ", advances the index" : ""}${rows !== undefined && yAvals.length > 0 ? ", writes the ys into their rows of the stacked ys" : ""}):\n${indent(iterationProgram.describe())}`
        : "length 0: the body never runs") +
      (stackProgram ? `\nstacking the ys once after the loop:\n${indent(stackProgram.describe())}` : ""),
    profile: () =>
      (profiling ? `${length} iterations per run; loop ${((loopMs / Math.max(1, runs) / Math.max(1, length)) * 1000).toFixed(1)} µs per iteration (kernels and driver); stacking ${((stackMs / Math.max(1, runs)) * 1000).toFixed(1)} µs per run${rows !== undefined ? `; ys copied into their rows ${Math.round(rowCopyBytes / Math.max(1, runs))} bytes per run` : ""}\n` : "") +
      `iteration:\n${indent(iterationProgram?.profile?.() ?? "")}` +
      (stackProgram ? `\nstack:\n${indent(stackProgram.profile?.() ?? "")}` : ""),
    dispose: () => {
      programs.forEach((p) => p.dispose?.());
      if (firstIndex !== null) backend.free(firstIndex);
    },
  };
};

/**
 * The step builder of each higher-order primitive, or null where the driver
 * cannot run it over compiled bodies: calls (pjit, custom_jvp_call,
 * custom_vjp_call, checkpoint) are inlined before compilation and so never
 * reach it, and custom_lin is never evaluated. A jaxpr holding one of those is
 * run op by op, as before.
 */
const controlSteps: { [P in HigherOrderPrimitive]: StepBuilder<P> | null } = {
  cond: condStep,
  while: whileStep,
  scan: scanStep,
  pjit: null,
  custom_jvp_call: null,
  custom_vjp_call: null,
  custom_lin: null,
  checkpoint: null,
};

/** The runner of a control-flow equation over compiled bodies, or null where it has none. */
export function controlStepFor(eqn: JaxprEqn, ctx: StepContext): StepRunner | null {
  const build = controlSteps[eqn.primitive as HigherOrderPrimitive] as StepBuilder<HigherOrderPrimitive> | null;
  return build === null ? null : build(eqn as JaxprEqn<HigherOrderPrimitive>, ctx);
}
