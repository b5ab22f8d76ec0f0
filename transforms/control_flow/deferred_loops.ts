// while and cond over compiled bodies on a backend that reads the device
// asynchronously only (WebGPU): the predicate of a while loop and the index of
// a cond live on the device, and a synchronous call cannot wait for them. So
// the step allocates its outputs, returns them at once, and queues a driver
// (Backend.deferred) that, once the work before it has run, reads the
// predicate (one scalar mapped back per iteration) or the index, runs the
// compiled cond/body/branch programs as its own next work, and copies the
// final values into the outputs. Everything the caller queues afterwards
// (later programs, frees, `await y.data()`) waits behind the driver, so the
// call looks like any other compiled call: same values as on wasm, no sync
// read. Why not evaluate a cond as a select of both branches: the untaken
// branch could fault, loop, or cost far more, and a while loop has no such
// form; it stays a possible optimisation for small pure branches.
// compiled_loops.ts holds the synchronous versions and scan (which reads
// nothing); segmented_program.ts asks this file first.

import type { ShapedArray } from "../../src/core/aval";
import type { Backend, DeferredExecution } from "../../src/core/backend";
import type { JaxprEqn } from "../../src/core/ir";
import type { HigherOrderPrimitive } from "../../src/core/primitives";
import { compileAll, freeOwned, type StepContext, type StepRunner } from "./compiled_loops";

type DeferredStepBuilder<P extends HigherOrderPrimitive> = (eqn: JaxprEqn<P>, ctx: StepContext, deferred: DeferredExecution<unknown>) => StepRunner | null;

const indent = (text: string): string => text.split("\n").map((l) => "    " + l).join("\n");
const NO_DONATION: readonly boolean[] = [];

/**
 * Runs `f` as the driver's next work and waits until what it queued has run. `took` gets f's
 * value before an error of the device (reported after f ran) is thrown, so the driver's record
 * of the buffers it owns stays true and its error path frees each exactly once.
 */
async function inline<T>(deferred: DeferredExecution<unknown>, f: () => T, took: (value: T) => void = () => {}): Promise<T> {
  const { value, pending } = deferred.nested(() => {
    const v = f();
    took(v);
    return v;
  });
  if (pending !== null) await pending;
  return value;
}

/**
 * Frees a stopped driver's buffers as its next work. The device's error, which nested()
 * reports again after `free` ran, is dropped: the driver is already failing with its own.
 */
function releaseAfterFailure(deferred: DeferredExecution<unknown>, free: () => void): void {
  try {
    deferred.nested(free).pending?.catch(() => {});
  } catch {
    // (the error the driver rethrows reports the failure)
  }
}

/** Reads the scalar `buf` (a predicate, an index) once the work producing it has run, and frees it. */
async function readScalar(backend: Backend, deferred: DeferredExecution<unknown>, buf: unknown, aval: ShapedArray): Promise<number> {
  try {
    return Number((await deferred.readNow(buf, aval))[0]);
  } finally {
    deferred.nested(() => backend.free(buf));
  }
}

/**
 * The driver's end: each final value copied into the output handed out at the start, then
 * the values this driver owns and the inputs it held are released.
 */
async function finish(backend: Backend, deferred: DeferredExecution<unknown>, finals: unknown[], owned: boolean[], outs: unknown[], avals: readonly ShapedArray[], held: unknown[]): Promise<void> {
  await inline(deferred, () => {
    finals.forEach((b, i) => deferred.copy(b, outs[i], avals[i]));
    freeOwned(backend, finals, owned);
    held.forEach((b) => backend.free(b));
  });
}

// --- while ------------------------------------------------------------------------

/**
 * while(...condConsts, ...bodyConsts, ...carry) driven asynchronously: per iteration the
 * predicate program, one scalar read, and the body program (which may overwrite the carry
 * of the iteration before, owned by the driver).
 */
const deferredWhile: DeferredStepBuilder<"while"> = (eqn, ctx, deferred) => {
  const { condJaxpr, bodyJaxpr, condNconsts, bodyNconsts } = eqn.params;
  const programs = compileAll([condJaxpr, bodyJaxpr], ctx);
  if (programs === null) return null;
  const [condProgram, bodyProgram] = programs;
  const predAval = condJaxpr.outAvals[0];
  const carryAvals = eqn.outputs.map((v) => v.aval);
  const { backend } = ctx;
  const numCarry = carryAvals.length;
  let iterations = 0;
  let runs = 0;
  const loop = async (inputs: unknown[], outs: unknown[]): Promise<void> => {
    const condConsts = inputs.slice(0, condNconsts);
    const bodyConsts = inputs.slice(condNconsts, condNconsts + bodyNconsts);
    let carry = inputs.slice(condNconsts + bodyNconsts);
    // The inputs are the caller's (held by the driver); each later carry is the driver's own.
    let owned = carry.map(() => false);
    const constFlags = bodyConsts.map(() => false);
    /** This iteration's predicate until it is read (readScalar frees it). */
    let pred: unknown = null;
    try {
      for (;;) {
        await inline(deferred, () => condProgram.run([...condConsts, ...carry], NO_DONATION), ([p]) => (pred = p));
        const predicate = pred;
        pred = null;
        if ((await readScalar(backend, deferred, predicate, predAval)) === 0) break;
        const previous = carry;
        const previousOwned = owned;
        await inline(
          deferred,
          () => {
            const next = bodyProgram.run([...bodyConsts, ...previous], [...constFlags, ...previousOwned]);
            freeOwned(backend, previous, previousOwned);
            return next;
          },
          (next) => {
            carry = next;
            owned = next.map(() => true);
          },
        );
        iterations++;
      }
    } catch (e) {
      releaseAfterFailure(deferred, () => {
        if (pred !== null) backend.free(pred);
        freeOwned(backend, carry, owned);
        inputs.forEach((b) => backend.free(b));
      });
      throw e;
    }
    await finish(backend, deferred, carry, owned, outs, carryAvals, inputs);
  };
  return {
    title: `while (${condNconsts} cond consts, ${bodyNconsts} body consts, ${numCarry} carry), driven asynchronously: one predicate read per iteration`,
    run: (inputs) => {
      runs++;
      const held = inputs.map((b) => deferred.retain(b));
      const outs = carryAvals.map((a) => deferred.allocate(a));
      deferred.defer(() => loop(held, outs));
      return { outs, owned: outs.map(() => true) };
    },
    describe: () => `cond:\n${indent(condProgram.describe())}\nbody:\n${indent(bodyProgram.describe())}`,
    profile: () => `${(iterations / Math.max(1, runs)).toFixed(1)} iterations per run\ncond:\n${indent(condProgram.profile?.() ?? "")}\nbody:\n${indent(bodyProgram.profile?.() ?? "")}`,
    dispose: () => programs.forEach((p) => p.dispose?.()),
  };
};

// --- cond -------------------------------------------------------------------------

/**
 * cond(index, ...operands): a driver reads the index (clamped, as lax.switch does) and runs
 * that branch. (The index is always computed inside the program, from a predicate or a
 * clamp, so the host never knows it in advance.)
 */
const deferredCond: DeferredStepBuilder<"cond"> = (eqn, ctx, deferred) => {
  const { branches } = eqn.params;
  const programs = compileAll(branches, ctx);
  if (programs === null) return null;
  const indexAval = eqn.inputs[0].aval;
  const outAvals = eqn.outputs.map((v) => v.aval);
  const { backend } = ctx;
  const clamp = (raw: number) => Math.min(Math.max(raw, 0), branches.length - 1);
  const runBranch = async (inputs: unknown[], outs: unknown[]): Promise<void> => {
    let results: unknown[] = [];
    try {
      const index = clamp(await readScalarKept(deferred, inputs[0], indexAval));
      await inline(deferred, () => programs[index].run(inputs.slice(1), NO_DONATION), (r) => (results = r));
    } catch (e) {
      releaseAfterFailure(deferred, () => {
        results.forEach((b) => backend.free(b));
        inputs.forEach((b) => backend.free(b));
      });
      throw e;
    }
    await finish(backend, deferred, results, results.map(() => true), outs, outAvals, inputs);
  };
  return {
    title: `cond (${branches.length} branches), driven asynchronously: one index read`,
    run: (inputs) => {
      const held = inputs.map((b) => deferred.retain(b));
      const outs = outAvals.map((a) => deferred.allocate(a));
      deferred.defer(() => runBranch(held, outs));
      return { outs, owned: outs.map(() => true) };
    },
    describe: () => programs.map((p, i) => `branch ${i}:\n${indent(p.describe())}`).join("\n"),
    profile: () => programs.map((p, i) => `branch ${i}:\n${indent(p.profile?.() ?? "")}`).join("\n"),
    dispose: () => programs.forEach((p) => p.dispose?.()),
  };
};

/** Reads the scalar `buf` without freeing it (an input the driver holds). */
async function readScalarKept(deferred: DeferredExecution<unknown>, buf: unknown, aval: ShapedArray): Promise<number> {
  return Number((await deferred.readNow(buf, aval))[0]);
}

/**
 * The deferred runner of each higher-order primitive, or null where the synchronous one
 * (compiled_loops.ts) serves: scan reads nothing back, and calls are inlined before this.
 */
const deferredSteps: { [P in HigherOrderPrimitive]: DeferredStepBuilder<P> | null } = {
  cond: deferredCond,
  while: deferredWhile,
  scan: null,
  pjit: null,
  custom_jvp_call: null,
  custom_vjp_call: null,
  custom_lin: null,
  checkpoint: null,
};

/**
 * The asynchronously driven runner of a control-flow equation, where `ctx`'s backend reads
 * only asynchronously and the primitive needs a read; else null (use controlStepFor).
 */
export function deferredStepFor(eqn: JaxprEqn, ctx: StepContext): StepRunner | null {
  const deferred = ctx.backend.deferred;
  if (deferred === undefined || ctx.readsSynchronously) return null;
  const build = deferredSteps[eqn.primitive as HigherOrderPrimitive] as DeferredStepBuilder<HigherOrderPrimitive> | null;
  return build === null ? null : build(eqn as JaxprEqn<HigherOrderPrimitive>, ctx, deferred);
}
