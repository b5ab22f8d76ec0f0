// A jitted jaxpr that contains control flow (scan, while, cond) compiled as
// far as it goes: a backend compiles first-order jaxprs only, so the jaxpr is
// cut at its control-flow equations into first-order segments, each compiled
// by the backend as one program, and the control-flow equations run by
// transforms/control_flow/compiled_loops.ts over bodies that are compiled
// programs too (nested control flow recurses through the same cut). The
// result is one Executable: jit caches it with the outer program, and its
// dispose releases every segment and body with it. Values stay in device
// buffers between steps; each intermediate buffer is freed at its last use,
// and offered to that step for reuse (donation) when nothing else holds it.

import { ShapedArray } from "../src/core/aval";
import type { Backend, Executable, FusionGroup } from "../src/core/backend";
import { checkedTypedFrom } from "../src/core/dtype";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var, type Atom } from "../src/core/ir";
import { isHigherOrder } from "../src/core/primitives";
import { controlStepFor, type StepContext, type StepRunner } from "./control_flow/compiled_loops";
import { deferredStepFor } from "./control_flow/deferred_loops";

/** Compiles a body jaxpr (the caller's own compile, so bodies are optimized and cut the same way). */
export type BodyCompiler = (body: ClosedJaxpr, backend: Backend) => Executable<unknown> | null;

interface PlannedStep {
  /** What the step is, for describe(): `equations 0-11` or `equation 12: scan ...`. */
  label: string;
  /** Indices of the outer jaxpr's equations this step computes. */
  eqns: number[];
  inSlots: number[];
  outSlots: number[];
  runner: StepRunner;
  /** The step's own fusion groups (segments only), their equation indices local to the step. */
  fusionGroups(): FusionGroup[] | null;
}

/** A first-order stretch of equations as a step: one compiled program. */
function segmentRunner(program: Executable<unknown>): StepRunner {
  return {
    title: "one compiled program",
    run: (inputs, donatable) => {
      const outs = program.run(inputs, donatable);
      return { outs, owned: outs.map(() => true) };
    },
    describe: () => program.describe(),
    profile: () => program.profile?.() ?? "",
    dispose: () => program.dispose?.(),
  };
}

const indent = (text: string): string => text.split("\n").map((l) => "    " + l).join("\n");

/**
 * Whether `backend` can read a compiled program's output synchronously, which
 * a while predicate and a cond index need inside a synchronous run. A GPU
 * reads asynchronously only: there while/cond run through an asynchronous
 * driver instead (control_flow/deferred_loops.ts). Probed once per backend
 * with a one-equation program.
 */
const syncReads = new WeakMap<Backend, boolean>();
function readsSynchronously(backend: Backend): boolean {
  let known = syncReads.get(backend);
  if (known !== undefined) return known;
  const x = new Var(PROBE_AVAL);
  const y = new Var(PROBE_AVAL);
  const program = backend.compile(new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn("neg", [x], {}, [y])], [y]), []), []);
  known = false;
  if (program !== null) {
    const input = backend.fromHost(Int32Array.of(1), PROBE_AVAL);
    let out: unknown = null;
    try {
      out = program.run([input])[0];
      known = backend.readSync(out, PROBE_AVAL)[0] === -1;
    } catch {
      known = false;
    } finally {
      if (out !== null) backend.free(out);
      backend.free(input);
      program.dispose?.();
    }
  }
  syncReads.set(backend, known);
  return known;
}
const PROBE_AVAL = new ShapedArray([], "int32");

/**
 * The program of `closed` (already optimized; `constBuffers` on `backend`) run
 * around its control-flow equations, or null when it has none, or when a part
 * of it cannot be compiled (the caller then runs it op by op, as before).
 */
export function compileAroundControlFlow(closed: ClosedJaxpr, constBuffers: readonly unknown[], backend: Backend, compileBody: BodyCompiler): Executable<unknown> | null {
  const { jaxpr } = closed;
  if (!jaxpr.eqns.some((e) => isHigherOrder(e.primitive))) return null;
  const ctx: StepContext = {
    backend,
    compileBody: (body) => compileBody(body, backend),
    get readsSynchronously() {
      return readsSynchronously(backend);
    },
  };
  const plan = new SegmentedPlan(jaxpr, backend);
  const steps: PlannedStep[] = [];
  const abandon = (): null => {
    steps.forEach((s) => s.runner.dispose());
    plan.dispose();
    return null;
  };
  // Later equations' inputs and the outputs: what a segment must hand on.
  const usedAfter: Set<Var>[] = new Array(jaxpr.eqns.length + 1);
  usedAfter[jaxpr.eqns.length] = new Set(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  for (let i = jaxpr.eqns.length - 1; i >= 0; i--) {
    usedAfter[i] = new Set(usedAfter[i + 1]);
    for (const a of jaxpr.eqns[i].inputs) if (a instanceof Var) usedAfter[i].add(a);
  }
  let i = 0;
  while (i < jaxpr.eqns.length) {
    const eqn = jaxpr.eqns[i];
    if (isHigherOrder(eqn.primitive)) {
      const runner = deferredStepFor(eqn, ctx) ?? controlStepFor(eqn, ctx);
      if (runner === null) return abandon();
      steps.push({
        label: `equation ${i}: ${runner.title}`,
        eqns: [i],
        inSlots: eqn.inputs.map((a) => plan.slotOf(a)),
        outSlots: eqn.outputs.map((v) => plan.define(v)),
        runner,
        fusionGroups: () => null,
      });
      i++;
      continue;
    }
    let end = i;
    while (end < jaxpr.eqns.length && !isHigherOrder(jaxpr.eqns[end].primitive)) end++;
    const eqns = jaxpr.eqns.slice(i, end);
    const defined = new Set(eqns.flatMap((e) => e.outputs));
    const invars: Var[] = [];
    const seen = new Set<Var>();
    for (const e of eqns) {
      for (const a of e.inputs) {
        if (a instanceof Var && !defined.has(a) && !seen.has(a)) {
          seen.add(a);
          invars.push(a);
        }
      }
    }
    const outvars = eqns.flatMap((e) => e.outputs).filter((v) => usedAfter[end].has(v));
    const segment = new ClosedJaxpr(new Jaxpr([], invars, eqns, outvars), []);
    const program = backend.compile(segment, []);
    if (program === null) return abandon();
    const first = i;
    steps.push({
      label: `equations ${first}-${end - 1}: one compiled program`,
      eqns: eqns.map((_, k) => first + k),
      inSlots: invars.map((v) => plan.slotOf(v)),
      outSlots: outvars.map((v) => plan.define(v)),
      runner: segmentRunner(program),
      fusionGroups: () => program.fusionGroups?.() ?? null,
    });
    i = end;
  }
  const outSlots = jaxpr.outvars.map((a) => plan.slotOf(a));
  return new SegmentedExecutable(backend, plan, steps, outSlots, constBuffers, jaxpr);
}

/**
 * Where each value of the outer jaxpr lives while the program runs: one slot
 * per constvar, invar, equation output and literal operand of a control step
 * (literals are uploaded once; segments keep theirs inline).
 */
class SegmentedPlan {
  readonly slots = new Map<Var, number>();
  readonly avals: ShapedArray[] = [];
  /** Slots holding an uploaded literal, and its buffer. */
  readonly literalSlots: number[] = [];
  readonly literalBuffers: unknown[] = [];

  constructor(
    readonly jaxpr: Jaxpr,
    private readonly backend: Backend,
  ) {
    for (const v of [...jaxpr.constvars, ...jaxpr.invars]) this.define(v);
  }

  define(v: Var): number {
    const slot = this.avals.length;
    this.avals.push(v.aval);
    this.slots.set(v, slot);
    return slot;
  }

  slotOf(a: Atom): number {
    if (a instanceof Var) return this.slots.get(a)!;
    const slot = this.avals.length;
    this.avals.push(a.aval);
    this.literalSlots.push(slot);
    this.literalBuffers.push(this.backend.fromHost(checkedTypedFrom("jit", a.aval.dtype, [a.value]), a.aval));
    return slot;
  }

  dispose(): void {
    this.literalBuffers.forEach((b) => this.backend.free(b));
    this.literalBuffers.length = 0;
  }
}

class SegmentedExecutable implements Executable<unknown> {
  /** For each slot, the last step that reads it (steps.length: an output; -1: never read). */
  private readonly lastUse: number[];
  /** For each step, which of its inputs die there (read for the last time, once). */
  private readonly dying: boolean[][];
  /** Programs that hand out another reference to buffers (identity jaxprs), by their avals. */
  private readonly sharePrograms = new Map<string, Executable<unknown>>();

  constructor(
    private readonly backend: Backend,
    private readonly plan: SegmentedPlan,
    private readonly steps: PlannedStep[],
    private readonly outSlots: number[],
    private readonly constBuffers: readonly unknown[],
    private readonly jaxpr: Jaxpr,
  ) {
    this.lastUse = plan.avals.map(() => -1);
    steps.forEach((s, k) => s.inSlots.forEach((slot) => (this.lastUse[slot] = k)));
    for (const slot of outSlots) this.lastUse[slot] = steps.length;
    this.dying = steps.map((s, k) => s.inSlots.map((slot) => this.lastUse[slot] === k && s.inSlots.indexOf(slot) === s.inSlots.lastIndexOf(slot)));
  }

  run(inputs: unknown[], donated?: readonly boolean[]): unknown[] {
    const { plan, steps, backend } = this;
    const values = new Array<unknown>(plan.avals.length);
    // owned[slot]: this run holds a reference to the slot's buffer, to free at its last use.
    const owned = new Array<boolean>(plan.avals.length).fill(false);
    // A donated input may be overwritten by the step that reads it last (the caller then releases it).
    const donatedSlots = new Array<boolean>(plan.avals.length).fill(false);
    const nConsts = this.jaxpr.constvars.length;
    this.constBuffers.forEach((b, i) => (values[i] = b));
    inputs.forEach((b, i) => {
      values[nConsts + i] = b;
      donatedSlots[nConsts + i] = donated?.[i] === true;
    });
    plan.literalSlots.forEach((slot, i) => (values[slot] = plan.literalBuffers[i]));
    try {
      for (let k = 0; k < steps.length; k++) {
        const step = steps[k];
        const dies = this.dying[k];
        const ins = step.inSlots.map((slot) => values[slot]);
        const donatable = step.inSlots.map((slot, j) => dies[j] && (owned[slot] || donatedSlots[slot]));
        const result = step.runner.run(ins, donatable);
        // An output that passes an input through needs a reference of its own before the input is freed.
        const passed = result.owned.map((o, j) => (o ? -1 : j)).filter((j) => j >= 0);
        if (passed.length > 0) {
          const shared = this.share(passed.map((j) => result.outs[j]), passed.map((j) => plan.avals[step.outSlots[j]]));
          passed.forEach((j, n) => (result.outs[j] = shared[n]));
        }
        step.outSlots.forEach((slot, j) => {
          values[slot] = result.outs[j];
          owned[slot] = true;
        });
        step.inSlots.forEach((slot, j) => {
          if (dies[j] && owned[slot]) {
            backend.free(values[slot]);
            owned[slot] = false;
          }
        });
        // An output nothing reads (DCE leaves control-flow outputs it cannot split) is freed at once.
        step.outSlots.forEach((slot) => {
          if (this.lastUse[slot] === -1) {
            backend.free(values[slot]);
            owned[slot] = false;
          }
        });
      }
      // Each output is one new reference: an owned buffer is handed out once, anything else shared.
      const outs = new Array<unknown>(this.outSlots.length);
      const toShare: number[] = [];
      this.outSlots.forEach((slot, j) => {
        if (owned[slot]) {
          outs[j] = values[slot];
          owned[slot] = false;
        } else toShare.push(j);
      });
      if (toShare.length > 0) {
        const shared = this.share(toShare.map((j) => values[this.outSlots[j]]), toShare.map((j) => plan.avals[this.outSlots[j]]));
        toShare.forEach((j, n) => (outs[j] = shared[n]));
      }
      return outs;
    } finally {
      owned.forEach((o, slot) => {
        if (o) backend.free(values[slot]);
      });
    }
  }

  /** Another reference to each buffer, from a program that returns its inputs (compiled once per avals). */
  private share(bufs: unknown[], avals: ShapedArray[]): unknown[] {
    const key = avals.map((a) => a.key()).join(";");
    let program = this.sharePrograms.get(key);
    if (!program) {
      const vars = avals.map((a) => new Var(a));
      const compiled = this.backend.compile(new ClosedJaxpr(new Jaxpr([], vars, [], vars), []), []);
      if (compiled === null) throw new Error(`${this.backend.name} cannot compile an identity program`);
      program = compiled;
      this.sharePrograms.set(key, program);
    }
    return program.run(bufs);
  }

  describe(): string {
    const head = `program around control flow on ${this.backend.name}: ${this.steps.length} steps (compiled segments, and control flow whose bodies are compiled programs)`;
    return [head, ...this.steps.map((s) => `# ${s.label}\n${indent(s.runner.describe())}`)].join("\n");
  }

  profile(): string {
    return this.steps.map((s) => `# ${s.label}\n${indent(s.runner.profile())}`).join("\n");
  }

  fusionGroups(): FusionGroup[] {
    return this.steps.flatMap((s) => {
      const own = s.fusionGroups();
      if (own === null) return [{ label: s.label.replace(/^equation \d+: /, ""), eqns: s.eqns }];
      return own.map((g) => ({ label: g.label, eqns: g.eqns.map((e) => s.eqns[e]) }));
    });
  }

  dispose(): void {
    this.steps.forEach((s) => s.runner.dispose());
    this.sharePrograms.forEach((p) => p.dispose?.());
    this.sharePrograms.clear();
    this.plan.dispose();
  }
}
