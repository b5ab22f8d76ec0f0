// bench/eager_compile.ts — the W3 training step (MLP 784-256-10 on a
// 128-image MNIST batch, softmax cross-entropy, SGD lr 0.1, the loss read
// back every step; bench/workloads.md) written three ways in one process:
//   eager:          tinyflow/eager tensors, loss.backward(), an SGD step of
//                   in-place updates under noGrad (as PyTorch code reads)
//   eager+compile:  the same code with the loss function wrapped in
//                   compile(): its forward runs as one compiled program and
//                   backward() as another; the update stays eager
//   jit:            the functional step, jit(valueAndGrad + update) with the
//                   parameters donated (the README's fastest idiom)
// All three start from the same Glorot init (seed 6000) and see the same
// batches, so their losses must agree (printed at the first and last step).
// Steps are timed one by one, the variants interleaved step by step after a
// warm-up; prints min and median wall ms, median CPU ms (user + system, all
// threads), steps/s from the median, and each variant's speed relative to
// eager, with the load average before and after. Nothing here asserts.
// Run: npx tsx bench/eager_compile.ts [--steps N]

import os from "node:os";
import { jit, nn, np, valueAndGrad, type Array } from "../src/index";
import * as torch from "../src/frontends/eager";
import { W3_SPEC, batchAt, cpuNow, denseInit, loadMnist, median, now, type DenseLayer } from "./harness";

const args = process.argv.slice(2);
const stepsFlag = args.indexOf("--steps");
const STEPS = stepsFlag >= 0 ? Number(args[stepsFlag + 1]) : 60;
const WARMUP = 5;
const { hidden, batch, lr } = W3_SPEC;

/** One training step on (x, one-hot y) returning that step's loss, read back. */
type Step = (x: Float32Array, y: Float32Array) => number;

function eagerStep(init: DenseLayer[], compiled: boolean): Step {
  const params = init.map((l) => ({
    w: torch.tensor(np.array(l.w).reshape([l.inDim, l.outDim]), { requiresGrad: true }),
    b: torch.tensor(np.array(l.b), { requiresGrad: true }),
  }));
  const all = params.flatMap((p) => [p.w, p.b]);
  const loss = (x: torch.Tensor, y: torch.Tensor) => {
    let h = x;
    params.forEach((p, i) => {
      h = h.matmul(p.w).add(p.b);
      if (i < params.length - 1) h = h.relu();
    });
    return h.logSoftmax(-1).mul(y).sum(-1).mean().neg();
  };
  const lossFn = compiled ? torch.compile(loss) : loss;
  return (xData, yData) => {
    const x = torch.tensor(np.array(xData).reshape([batch, 784]));
    const y = torch.tensor(np.array(yData).reshape([batch, 10]));
    const l = lossFn(x, y);
    l.backward();
    torch.noGrad(() => {
      for (const p of all) {
        p.sub_(p.grad!.mul(lr));
        p.zeroGrad();
      }
    });
    return l.item();
  };
}

function jitStep(init: DenseLayer[]): Step {
  type Layer = { w: Array; b: Array };
  let params: Layer[] = init.map((l) => ({ w: np.array(l.w).reshape([l.inDim, l.outDim]), b: np.array(l.b) }));
  const lossFn = (ps: Layer[], x: Array, y: Array) => {
    let h = x;
    ps.forEach((p, i) => {
      h = np.matmul(h, p.w).add(p.b);
      if (i < ps.length - 1) h = nn.relu(h);
    });
    return nn.logSoftmax(h, -1).mul(y).sum(-1).mean().neg();
  };
  const step = jit(
    (ps: Layer[], x: Array, y: Array) => {
      const [l, grads] = valueAndGrad(lossFn)(ps, x, y);
      return [l, ps.map((p, i) => ({ w: p.w.sub(grads[i].w.mul(lr)), b: p.b.sub(grads[i].b.mul(lr)) }))] as [Array, Layer[]];
    },
    { donateArgnums: [0] },
  );
  return (xData, yData) => {
    const [l, next] = step(params, np.array(xData).reshape([batch, 784]), np.array(yData).reshape([batch, 10]));
    params = next;
    return Number(l.item());
  };
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

async function main(): Promise<void> {
  const { train } = loadMnist();
  const init = denseInit([784, hidden, 10], 6000);
  const variants: [string, Step][] = [
    ["eager", eagerStep(init, false)],
    ["eager+compile", eagerStep(init, true)],
    ["jit", jitStep(init)],
  ];
  console.log(`# W3 step (MLP 784-${hidden}-10, batch ${batch}, SGD lr ${lr}): eager vs compile(loss) vs jit`);
  console.log(`${new Date().toISOString()}  ${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}  node ${process.version}  load before ${load()}`);
  const wall = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]);
  const losses = variants.map(() => [] as number[]);
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const { x, y } = batchAt(train, batch, i);
    variants.forEach(([, step], v) => {
      const t0 = now();
      const c0 = cpuNow();
      losses[v].push(step(x, y));
      if (i >= WARMUP) {
        wall[v].push(now() - t0);
        cpu[v].push(cpuNow() - c0);
      }
    });
  }
  console.log("");
  console.log("| variant | min ms/step | median ms/step | median CPU ms/step | steps/s (median) | speed vs eager (median) | loss at step 1 | loss at last step |");
  console.log("|---|---|---|---|---|---|---|---|");
  const eagerMedian = median(wall[0]);
  variants.forEach(([name], v) => {
    const med = median(wall[v]);
    const last = losses[v][losses[v].length - 1];
    console.log(
      `| ${name} | ${Math.min(...wall[v]).toFixed(2)} | ${med.toFixed(2)} | ${median(cpu[v]).toFixed(2)} | ${(1000 / med).toFixed(1)} | ${(eagerMedian / med).toFixed(2)}× | ${losses[v][0].toFixed(5)} | ${last.toFixed(5)} |`,
    );
  });
  console.log("");
  console.log(`load after: ${load()}; ${STEPS} timed steps per variant after ${WARMUP} warm-up steps, interleaved step by step`);
}

await main();
