// bench/nested_jit.ts — does a jitted loss stay compiled under grad?
//
// On a W3-shaped MLP step (784-256-10, batch 128, softmax cross-entropy,
// seeded data; see bench/workloads.md) it times, in one process and
// interleaved, the value-and-gradient of the loss computed three ways:
// valueAndGrad(jit(loss)) (the jitted function transformed: a compiled forward
// pjit and a compiled backward pjit), jit(valueAndGrad(loss)) (one fused
// program) and valueAndGrad(loss) (op by op, for scale). Each repetition reads
// the loss back. Prints min and median ms per variant and the ratios.
// Run: npx tsx bench/nested_jit.ts [reps]

import os from "node:os";
import { np, nn, jit, valueAndGrad, Array as TfArray, type Tracer } from "../src/index";
import { W3_SPEC, denseInit, median, uniform } from "./harness";

type Params = { w1: Tracer; b1: Tracer; w2: Tracer; b2: Tracer };

function loss(p: Params, x: Tracer, y: Tracer): Tracer {
  const h = nn.relu(np.dot(x, p.w1).add(p.b1));
  const logits = np.dot(h, p.w2).add(p.b2);
  return np.mean(np.sum(nn.logSoftmax(logits).mul(y), 1).neg());
}

const reps = Number(process.argv[2] ?? 30);
const [l1, l2] = denseInit([784, W3_SPEC.hidden, 10], 6000);
const f32 = (data: Float32Array, shape: number[]) => TfArray.fromTyped(data, shape, "float32");
const params: Params = { w1: f32(l1.w, [784, 256]), b1: f32(l1.b, [256]), w2: f32(l2.w, [256, 10]), b2: f32(l2.b, [10]) };
const x = f32(uniform(W3_SPEC.batch * 784, 1, 0, 1), [W3_SPEC.batch, 784]);
const labels = new Float32Array(W3_SPEC.batch * 10);
for (let i = 0; i < W3_SPEC.batch; i++) labels[i * 10 + (i % 10)] = 1;
const y = f32(labels, [W3_SPEC.batch, 10]);

const variants: [string, (p: Params, x: Tracer, y: Tracer) => [Tracer, Params]][] = [
  ["valueAndGrad(jit(loss))", valueAndGrad(jit(loss))],
  ["jit(valueAndGrad(loss))", jit(valueAndGrad(loss))],
  ["valueAndGrad(loss) eager", valueAndGrad(loss)],
];
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
const losses = new Map<string, number>();
for (let r = -3; r < reps; r++) {
  for (const [name, fn] of variants) {
    const t0 = performance.now();
    const [value, grads] = fn(params, x, y);
    const v = value.dataSync()[0];
    const ms = performance.now() - t0;
    for (const g of Object.values(grads)) (g as TfArray).dispose();
    (value as TfArray).dispose();
    losses.set(name, v);
    if (r >= 0) times.get(name)!.push(ms);
  }
}
console.log(`W3-shaped value-and-grad, ${reps} reps interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
const base = median(times.get("jit(valueAndGrad(loss))")!);
for (const [name] of variants) {
  const ts = times.get(name)!;
  console.log(
    `${name.padEnd(26)} min ${Math.min(...ts).toFixed(2).padStart(7)} ms  median ${median(ts).toFixed(2).padStart(7)} ms  ` +
      `${(median(ts) / base).toFixed(2)}x jit(valueAndGrad)  loss ${losses.get(name)!.toFixed(6)}`,
  );
}
