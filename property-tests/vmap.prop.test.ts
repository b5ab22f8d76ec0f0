// Property: for EVERY first-order primitive, with random valid params, random
// shapes, random batch size and random in/out axes (batched or not, positive or
// negative), vmap(f) equals stacking f over the slices of its arguments. The
// cases come from property-tests/primitive_cases.ts, whose table is typed by
// primitive, so a new primitive fails to compile until it has a generator.
// Counterexamples print the primitive, its params, argument specs, axes and
// batch size.
// NUM_RUNS (default 20) sets the runs per primitive.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { vmap } from "../src/index";
import type { Array as TfArray } from "../src/index";
import type { FirstOrderPrimitive } from "../src/core/primitives";
import {
  type Axis, type PrimCase, batchedSpec, checkPrimCase, describeCase, difference, outRanks, primFn, randomArray, stackOfSlices,
} from "../test/vmap_oracle";
import { FIRST_ORDER_PRIMITIVES, type CaseGen, type CaseOptions, type G, coin, int, pick, primitiveCases, sortedKeys } from "./primitive_cases";
import { rng } from "../test/rng";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

// --- cases ---------------------------------------------------------------------------------

/**
 * The generators of primitive_cases.ts, bounded for vmap: small dims (the
 * oracle evaluates f once per slice, and nested vmap multiplies the batch),
 * no float16, grid data only (the oracle's randomArray), no views, and an
 * operand for iota so that there is something to map over.
 */
const VMAP_CASES: CaseOptions = {
  maxDim: 4,
  maxSize: 64,
  dtypes: {
    float: ["float32"],
    numeric: ["float32", "int32", "uint32"],
    signed: ["float32", "int32"],
    integer: ["int32", "uint32"],
    boolOrInt: ["bool", "int32", "uint32"],
    any: ["float32", "int32", "bool", "uint32"],
  },
  specialValues: false,
  views: false,
  iotaOperand: true,
};

const GENERATORS = primitiveCases(VMAP_CASES);

// --- the property ---------------------------------------------------------------------------

interface Scenario {
  c: PrimCase;
  inAxes: Axis[];
  outAxes: Axis[];
  b: number;
  seed: number;
}

function scenario(gen: CaseGen): fc.Arbitrary<Scenario> {
  return fc.gen().map((g) => {
    const c = gen(g);
    let inAxes: Axis[] = c.args.map((a) => {
      if (coin(g, 0.3)) return null;
      const ax = int(g, 0, a.shape.length);
      return coin(g, 0.2) ? ax - a.shape.length - 1 : ax; // sometimes the negative form
    });
    if (inAxes.every((a) => a === null)) inAxes = inAxes.map((a, i) => (i === 0 ? 0 : a));
    const outAxes = outRanks(c).map((r) => {
      const ax = int(g, 0, r);
      return coin(g, 0.2) ? ax - r - 1 : ax;
    });
    const s: Scenario = { c, inAxes, outAxes, b: int(g, 1, 3), seed: int(g, 0, 1 << 30) };
    return Object.assign(s, { [fc.toStringMethod]: () => describeScenario(s) });
  });
}

function describeScenario(s: Scenario): string {
  return `${describeCase(s.c)} inAxes=${JSON.stringify(s.inAxes)} outAxes=${JSON.stringify(s.outAxes)} B=${s.b} seed=${s.seed}`;
}

describe("property: vmap(f) == stack of f over slices, for every first-order primitive", () => {
  it("covers every first-order primitive", () => expect(sortedKeys(GENERATORS)).toEqual([...FIRST_ORDER_PRIMITIVES].sort()));
  for (const prim of Object.keys(GENERATORS) as FirstOrderPrimitive[]) {
    it(prim, () => {
      fc.assert(
        fc.property(scenario(GENERATORS[prim]), (s) => {
          const err = checkPrimCase(s.c, s.inAxes, s.outAxes, s.b, s.seed);
          if (err !== null) throw new Error(`${describeScenario(s)}: ${err}`);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

// --- nested: vmap(vmap(f)) ---------------------------------------------------------------------

interface NestedScenario {
  c: PrimCase;
  inner: { inAxes: Axis[]; outAxes: Axis[]; b: number };
  outer: { inAxes: Axis[]; outAxes: Axis[]; b: number };
  seed: number;
}

/** Random per-arg axes for args of the given ranks, at least one mapped. */
function axesFor(g: G, ranks: number[]): Axis[] {
  const axes: Axis[] = ranks.map((r) => (coin(g, 0.35) ? null : int(g, 0, r)));
  if (!axes.some((a) => a !== null)) axes[0] = 0;
  return axes;
}

function nestedScenario(): fc.Arbitrary<NestedScenario> {
  const prims = Object.keys(GENERATORS) as FirstOrderPrimitive[];
  return fc.gen().map((g) => {
    const c = GENERATORS[pick(g, prims)](g);
    const ranks = c.args.map((a) => a.shape.length);
    const inner = { inAxes: axesFor(g, ranks), outAxes: [] as Axis[], b: int(g, 1, 3) };
    const midRanks = ranks.map((r, i) => r + (inner.inAxes[i] === null ? 0 : 1));
    const outer = { inAxes: axesFor(g, midRanks), outAxes: [] as Axis[], b: int(g, 1, 3) };
    const oRanks = outRanks(c);
    inner.outAxes = oRanks.map((r) => int(g, 0, r));
    outer.outAxes = oRanks.map((r) => int(g, 0, r + 1));
    const s: NestedScenario = { c, inner, outer, seed: int(g, 0, 1 << 30) };
    return Object.assign(s, { [fc.toStringMethod]: () => describeNested(s) });
  });
}

function describeNested(s: NestedScenario): string {
  return `${describeCase(s.c)} inner=${JSON.stringify(s.inner)} outer=${JSON.stringify(s.outer)} seed=${s.seed}`;
}

function checkNested(s: NestedScenario): string | null {
  const r = rng(s.seed);
  const args = s.c.args.map((a, i) => randomArray(r, batchedSpec(batchedSpec(a, s.inner.inAxes[i], s.inner.b), s.outer.inAxes[i], s.outer.b)));
  const f = primFn(s.c);
  const innerOracle = (...xs: TfArray[]) => stackOfSlices(f, xs, s.inner.inAxes, s.inner.outAxes);
  const want = stackOfSlices(innerOracle, args, s.outer.inAxes, s.outer.outAxes) as TfArray[];
  let got: TfArray[];
  try {
    const inner = vmap(f, { inAxes: s.inner.inAxes, outAxes: s.inner.outAxes });
    got = vmap(inner, { inAxes: s.outer.inAxes, outAxes: s.outer.outAxes })(...args) as TfArray[];
  } catch (e) {
    return `vmap threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  for (let i = 0; i < want.length; i++) {
    const d = difference(got[i], want[i]);
    if (d !== null) return `output ${i}: ${d}`;
  }
  return null;
}

describe("property: vmap(vmap(f)) == double stack of f, over random primitives", () => {
  it("nested vmap", () => {
    fc.assert(
      fc.property(nestedScenario(), (s) => {
        const err = checkNested(s);
        if (err !== null) throw new Error(`${describeNested(s)}: ${err}`);
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });
});
