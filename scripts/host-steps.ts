// Prints, for every first-order primitive and dtype signature, whether the
// wasm lowering still runs it as a host fallback step (see
// property-tests/host_step_survey.ts): one line per signature that fell back,
// "HOST" or "mixed" with the share of cases, then the primitives on the host.
//
//   npx tsx scripts/host-steps.ts [casesPerPrimitive=40]

import { primitivesOnHost, surveyHostSteps } from "../property-tests/host_step_survey";

const counts = surveyHostSteps(Number(process.argv[2] ?? 40));
for (const c of counts.filter((c) => c.host > 0)) {
  const verdict = c.host === c.cases ? "HOST" : `mixed (${c.host}/${c.cases} on the host)`;
  console.log(`${c.prim.padEnd(24)} ${c.signature.padEnd(36)} ${verdict}`);
}
const onHost = primitivesOnHost(counts);
console.log(onHost.length === 0 ? "No primitive falls back to the host." : `On the host: ${onHost.join(", ")}`);
