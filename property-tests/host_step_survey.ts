// Which first-order primitives, and for which dtypes, the wasm lowering still
// runs as a host fallback step (copy out, interpreter rule, copy back). Each
// primitive's random cases from primitive_cases.ts — every dtype its shape
// rule accepts, float16 included — are traced to a one-equation jaxpr and
// planned for the wasm target. scripts/host-steps.ts prints the survey;
// test/host_steps.test.ts holds it equal to the list the README documents, so
// a new or a regressed host step fails a test instead of passing silently.

import fc from "fast-check";
import { ShapedArray } from "../src/core/aval";
import { traceFlatToJaxpr } from "../transforms/jaxpr_trace";
import { Planner } from "../src/backends/plan/planner";
import { WASM_TARGET } from "../src/backends/plan/lowered_program";
import type { FirstOrderPrimitive } from "../src/core/primitives";
import { ALL_DTYPES, caseFn, primitiveCases, SIMD_STRESS, type PrimCase } from "./primitive_cases";

/** How often one primitive's cases of one dtype signature fell back to the host. */
export interface HostStepCount {
  prim: FirstOrderPrimitive;
  /** The case's operand dtypes, then its result dtypes: "int32,int32->int32". */
  signature: string;
  host: number;
  cases: number;
}

const signatureOf = (c: PrimCase, outs: readonly ShapedArray[]): string =>
  `${c.args.map((a) => a.dtype).join(",")}->${outs.map((o) => o.dtype).join(",")}`;

/** Plans `casesPerPrimitive` seeded random cases of every primitive and counts the host steps by dtype signature. */
export function surveyHostSteps(casesPerPrimitive: number, seed = 1): HostStepCount[] {
  const table = primitiveCases({ ...SIMD_STRESS, dtypes: ALL_DTYPES, views: false, specialValues: false });
  const counts: HostStepCount[] = [];
  for (const prim of Object.keys(table) as FirstOrderPrimitive[]) {
    const bySignature = new Map<string, HostStepCount>();
    for (const g of fc.sample(fc.gen(), { numRuns: casesPerPrimitive, seed })) {
      const c = table[prim](g);
      const fn = caseFn(c, c.args.map(() => ({ kind: "plain" as const })));
      const { jaxpr: closed } = traceFlatToJaxpr(fn as never, c.args.map((a) => new ShapedArray(a.shape, a.dtype)));
      const signature = signatureOf(c, closed.jaxpr.outvars.map((v) => v.aval as ShapedArray));
      const entry = bySignature.get(signature) ?? { prim, signature, host: 0, cases: 0 };
      bySignature.set(signature, entry);
      entry.cases++;
      if (Planner.plan(closed, WASM_TARGET).steps.some((s) => s.kind === "fallback")) entry.host++;
    }
    counts.push(...[...bySignature.values()].sort((a, b) => a.signature.localeCompare(b.signature)));
  }
  return counts;
}

/** The primitives with at least one case on the host, sorted. */
export const primitivesOnHost = (counts: readonly HostStepCount[]): string[] =>
  [...new Set(counts.filter((c) => c.host > 0).map((c) => c.prim))].sort();
