// # The computational graph of `a * b + 3`
//
// The textbook picture of a deep learning framework: nodes are operations,
// edges are the values flowing between them. tinyflow records that graph as
// a jaxpr when it traces a function; `tinyflow/viz` draws it. This example
// traces c = a * b + 3, prints its jaxpr and DOT text, differentiates it
// (the gradient is a graph too) and writes the pictures to examples/out/.
// `npm run graph -- examples/computational_graph.ts` draws its `step` alone.

import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { grad, makeJaxpr, np, type Array } from "../src/index";
import { toDot, toSvg } from "../src/viz";

/** The step drawn by `npm run graph`: c = a * b + 3. */
export const step = (a: Array, b: Array): Array => a.mul(b).add(3);
/** Its arguments: two float32 scalars. */
export const exampleArgs = (): [Array, Array] => [np.array(2), np.array(5)];

async function main(): Promise<void> {
  const [a, b] = exampleArgs();
  console.log(`a * b + 3 at a = 2, b = 5: ${step(a, b).item()}`);

  // ## The graph as a jaxpr: one equation per node
  const jaxpr = makeJaxpr(step)(a, b);
  console.log(`\n${jaxpr}`);

  // ## The same graph as Graphviz DOT: inputs (blue), operations (boxes), the literal 3, the output (green)
  console.log(`\n${toDot(jaxpr)}`);

  // ## Its gradient is another graph: d(a*b+3)/da = b, d/db = a
  const dstep = grad(step, { argnums: [0, 1] });
  const [da, db] = dstep(a, b) as [Array, Array];
  console.log(`gradient at (2, 5): d/da = ${da.item()}, d/db = ${db.item()}`);
  const gradJaxpr = makeJaxpr(dstep)(a, b);
  console.log(`\n${gradJaxpr}`);

  mkdirSync("examples/out", { recursive: true });
  writeFileSync("examples/out/a_times_b_plus_3.svg", await toSvg(jaxpr, { title: "a * b + 3" }));
  writeFileSync("examples/out/a_times_b_plus_3_grad.svg", await toSvg(gradJaxpr, { title: "grad of a * b + 3 in (a, b)" }));
  console.log("\nwrote examples/out/a_times_b_plus_3.svg and examples/out/a_times_b_plus_3_grad.svg");
}

// Run only as the program: `npm run graph` imports this file for its step.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
