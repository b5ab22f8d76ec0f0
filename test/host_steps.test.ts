// The primitives that still run as host fallback steps on wasm are exactly
// those the README lists after "Host steps on wasm:". A survey
// (property-tests/host_step_survey.ts) plans seeded random cases of every
// first-order primitive in every dtype it accepts; a primitive that starts
// falling back (a regression, or a new primitive without a kernel) or one that
// gains a kernel fails here until the README's list says so.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { primitivesOnHost, surveyHostSteps } from "../property-tests/host_step_survey";

/** The backticked primitive names of the README's "Host steps on wasm: ..." sentence. */
function documentedHostSteps(): string[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
  const sentence = /Host steps on wasm: ([^.]*)\./.exec(readme);
  if (!sentence) throw new Error('README.md has no "Host steps on wasm: ..." sentence');
  return [...sentence[1].matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
}

describe("host steps on wasm", () => {
  it("are exactly the README's list", () => {
    const counts = surveyHostSteps(30);
    const onHost = primitivesOnHost(counts);
    const detail = counts.filter((c) => c.host > 0).map((c) => `${c.prim} ${c.signature}: ${c.host}/${c.cases}`).join("\n");
    expect(onHost, `host steps found:\n${detail}`).toEqual(documentedHostSteps());
  }, 120_000);
});
