// bench/optimizer_step.ts — the jitted optimizer update of the LSTM char-LM
// (examples/lstm_charlm.ts: global-norm clipping then Adam) over its parameter
// shapes, on fixed gradients: the elementwise kernels that apply the update,
// whose scalar factors (the clipping factor, Adam's bias corrections) are
// loop-invariant. Prints the first call (trace, compile, and the kernels' first
// runs, before V8 tiers them up), then ms per call, min and median of wall and
// CPU time over the repetitions, the generated code's size, and the load.
//   npx tsx bench/optimizer_step.ts [reps]

import os from "node:os";
import { jit, optim, random, type Array as TfArray } from "../src/index";
import { median } from "./harness";

const reps = Number(process.argv[2] ?? 200);
const vocab = 65, E = 32, H = 128;
const shapes: Record<string, number[]> = {
  embedding: [vocab, E], inputWeight: [E, 4 * H], hiddenWeight: [H, 4 * H], bias: [4 * H], readoutWeight: [H, vocab], readoutBias: [vocab],
};

type Tree = Record<string, TfArray>;
const params: Tree = {}, grads: Tree = {};
Object.entries(shapes).forEach(([name, shape], i) => {
  params[name] = random.normal(random.key(2 * i), shape).mul(0.1);
  grads[name] = random.normal(random.key(2 * i + 1), shape);
});
const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.adam(3e-3));
let state = optimizer.init(params);
let p = params;
const step = jit((q: Tree, s: typeof state, g: Tree) => {
  const [updates, s2] = optimizer.update(g, s, q);
  return [optim.applyUpdates(q, updates), s2] as const;
}, { donateArgnums: [0, 1] });
const walls: number[] = [], cpus: number[] = [], warmup: number[] = [];
for (let r = -20; r < reps; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  [p, state] = step(p, state, grads) as unknown as [Tree, typeof state];
  p.bias.dataSync(); // the step has run (wasm runs synchronously; this reads one small output)
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (r < 0) warmup.push(wall);
  else {
    walls.push(wall);
    cpus.push((c.user + c.system) / 1000);
  }
}
const text = step.lower(p, state, grads).text();
console.log(
  `optimizer step (clip + adam, ${Object.values(shapes).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)} parameters), ${reps} reps; ` +
    `load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n` +
    `first call ${warmup[0].toFixed(1)} ms, calls 2-5 ${warmup.slice(1, 5).map((w) => w.toFixed(2)).join(" ")} ms; then ` +
    `wall min ${Math.min(...walls).toFixed(3)} med ${median(walls).toFixed(3)} ms   cpu min ${Math.min(...cpus).toFixed(3)} med ${median(cpus).toFixed(3)} ms   ` +
    `generated code ${text.length} chars, f64x2 ops ${(text.match(/f64x2\./g) ?? []).length}`,
);
