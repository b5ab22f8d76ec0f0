// Lists, for every first-order primitive, whether the wasm lowering still runs
// it as a host fallback step (copy out, interpreter rule, copy back) in its
// typical cases: random cases from property-tests/primitive_cases.ts over the
// wasm kernel dtypes (float32, int32, uint32, bool), each traced to a
// one-equation jaxpr and lowered. Prints one line per primitive: "kernel",
// "HOST" or "mixed" with the share of cases that fell back.
//
//   npx tsx scripts/host-steps.ts [casesPerPrimitive=20]

import fc from "fast-check";
import { ShapedArray } from "../src/core/aval";
import { traceFlatToJaxpr } from "../transforms/jaxpr_trace";
import { Planner, WASM_TARGET } from "../src/backends/plan/planner";
import type { FirstOrderPrimitive } from "../src/core/primitives";
import { caseFn, primitiveCases, SIMD_STRESS } from "../property-tests/primitive_cases";

const perPrim = Number(process.argv[2] ?? 20);
const kernelDTypes = {
  float: ["float32"], numeric: ["float32", "int32", "uint32"], signed: ["float32", "int32"],
  integer: ["int32", "uint32"], boolOrInt: ["bool", "int32", "uint32"], any: ["float32", "int32", "bool", "uint32"],
} as typeof SIMD_STRESS.dtypes;
const table = primitiveCases({ ...SIMD_STRESS, dtypes: kernelDTypes, views: false, specialValues: false });

const rows: string[] = [];
for (const prim of Object.keys(table) as FirstOrderPrimitive[]) {
  const samples = fc.sample(fc.gen(), { numRuns: perPrim, seed: 1 }).map((g) => table[prim](g));
  let host = 0;
  for (const c of samples) {
    const fn = caseFn(c, c.args.map(() => ({ kind: "plain" as const })));
    const { jaxpr: closed } = traceFlatToJaxpr(fn as never, c.args.map((a) => new ShapedArray(a.shape, a.dtype)));
    const { steps } = Planner.plan(closed, WASM_TARGET);
    if (steps.some((s) => s.kind === "fallback")) host++;
  }
  const verdict = host === 0 ? "kernel" : host === samples.length ? "HOST" : `mixed (${host}/${samples.length} on the host)`;
  rows.push(`${prim.padEnd(24)} ${verdict}`);
}
console.log(rows.join("\n"));
