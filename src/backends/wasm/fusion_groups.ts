// Which equations of a jaxpr each step of its lowered wasm program computes:
// the fusion picture that tinyflow/viz draws as clusters. Derived from the
// lowering's result alone (which slot holds each variable, which step writes
// each slot), so the lowering itself needs no bookkeeping for it.

import type { FusionGroup } from "../../core/backend";
import { Literal, type Jaxpr } from "../../core/ir";
import { describeLibraryCall } from "./library_steps";
import type { LoweredProgram, Step } from "../plan/lowered_program";
import { stepWrites } from "../plan/buffer_plan";

function stepLabel(st: Step): string {
  switch (st.kind) {
    case "kernel":
      return `fused kernel over [${st.spec.shape}]${st.spec.reduction ? ` reduce_${st.spec.reduction.op}` : ""}`;
    case "gemm":
      return `sgemm ${st.batch}x[${st.m}x${st.k}]·[${st.k}x${st.n}]${st.epilogue ? " + epilogue" : ""}`;
    case "conv":
      return `conv2d ${st.layout}`;
    case "conv_gradient":
      return `conv2d ${st.gradient} gradient ${st.layout}`;
    case "window":
      return `${st.label} kernel`;
    case "dynamic_view":
      return "dynamic_slice view";
    case "library":
      return describeLibraryCall(st.call);
    case "fallback":
      return `host fallback: ${st.prim}`;
  }
}

/**
 * An equation belongs to the step that writes its output (or the buffer its
 * output is a view of: a GEMM computing Cᵀ, a reshape). An equation whose
 * output is never written (a fused elementwise value or a strided view) is
 * computed inside the steps that read it, so it joins its consumers' groups:
 * in each of them when several kernels recompute it. Equations that no step
 * computes (a view returned as is, dead code) are in no group.
 */
export function fusionGroupsOf(jaxpr: Jaxpr, lowered: LoweredProgram): FusionGroup[] {
  const writer = new Map<number, number>();
  lowered.steps.forEach((st, i) => {
    for (const s of stepWrites(st)) if (!writer.has(s)) writer.set(s, i);
  });
  const consumers = new Map<unknown, number[]>();
  jaxpr.eqns.forEach((e, i) => {
    for (const a of e.inputs) {
      if (a instanceof Literal) continue;
      const list = consumers.get(a) ?? [];
      list.push(i);
      consumers.set(a, list);
    }
  });
  const stepsOf: Set<number>[] = jaxpr.eqns.map(() => new Set());
  // Consumers come after producers, so walking backwards sees every consumer's steps first.
  for (let i = jaxpr.eqns.length - 1; i >= 0; i--) {
    const own = stepsOf[i];
    for (const v of jaxpr.eqns[i].outputs) {
      // Its own buffer if a step wrote it, else the written buffer its value is a view of.
      const slot = lowered.varSlots.get(v);
      const view = lowered.viewSlots.get(v);
      const w = (slot === undefined ? undefined : writer.get(slot)) ?? (view === undefined ? undefined : writer.get(view));
      if (w !== undefined) own.add(w);
    }
    if (own.size > 0) continue;
    for (const v of jaxpr.eqns[i].outputs) for (const c of consumers.get(v) ?? []) for (const s of stepsOf[c]) own.add(s);
  }
  const groups: FusionGroup[] = lowered.steps.map((st, i) => ({ label: `${i}: ${stepLabel(st)}`, eqns: [] }));
  stepsOf.forEach((steps, i) => {
    for (const s of steps) groups[s].eqns.push(i);
  });
  return groups;
}
