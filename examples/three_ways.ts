// # One model, three ways: TF1 define-then-run, eager define-and-run (plain and compiled), functional jit(grad)
//
// The seed's model — the TF1 tutorial's softmax regression on MNIST,
// y = softmax(x W + b), cross entropy, gradient descent with learning rate
// 0.5 on batches of 100 from W = b = 0 — written in each of tinyflow's
// styles. All of them go through the same IR:
//
// - **TF1** builds the whole graph first (placeholders, variables,
//   `minimize`) and `Session.run` compiles the subgraph a fetch needs:
//   define-then-run sees everything and optimises globally.
// - **eager** runs each op as it is called and records a tape for
//   `backward()`: define-and-run is flexible (plain JS control flow), at the
//   price of dispatching op by op.
// - **eager + compile** is the hybrid: `compile(loss)` traces the same eager
//   code once into a graph and runs it compiled; backward runs compiled too.
// - **jit(grad)** is the functional style: a pure loss, `valueAndGrad`, and
//   the whole step traced and fused by `jit`.
//
// They see the same batches, so they compute the same numbers (checked
// below); each one's graph is drawn to examples/out/three_ways_*.svg, and
// their step times are printed side by side.
// Run: npx tsx examples/three_ways.ts   (draw the jit step alone: npm run graph -- examples/three_ways.ts)

import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { jit, nn, np, valueAndGrad, type Array } from "../src/index";
import { get_mnist } from "../src/datasets";
import * as tf from "../src/frontends/tf1";
import * as torch from "../src/frontends/eager";
import { toSvg, type GraphSource } from "../src/viz";

const LR = 0.5;
const BATCH = 100;
const STEPS = 200;

// ## The functional step (also what `npm run graph` draws)
type Params = { W: Array; b: Array };
const predict = (p: Params, x: Array) => nn.softmax(np.matmul(x, p.W).add(p.b), -1);
const crossEntropy = (p: Params, x: Array, y: Array) => np.mean(np.negative(np.sum(np.multiply(y, np.log(predict(p, x))), 1)));
/** One gradient-descent step of the softmax regression: [loss, new params]. */
export const step = jit(
  (p: Params, x: Array, y: Array) => {
    const [loss, g] = valueAndGrad(crossEntropy)(p, x, y);
    return [loss, { W: p.W.sub(g.W.mul(LR)), b: p.b.sub(g.b.mul(LR)) }] as [Array, Params];
  },
  { donateArgnums: [0] },
);
export const exampleArgs = (): [Params, Array, Array] => [{ W: np.zeros([784, 10]), b: np.zeros([10]) }, np.zeros([BATCH, 784]), np.zeros([BATCH, 10])];

/** What each way reports: its losses, its trained parameters, its step times and its graph. */
interface Result {
  name: string;
  losses: number[];
  W: Float32Array;
  b: Float32Array;
  stepMs: number[];
  graph: GraphSource;
}

const timed = (stepMs: number[], fn: () => number): number => {
  const t0 = performance.now();
  const loss = fn();
  stepMs.push(performance.now() - t0);
  return loss;
};
const floats = (a: Array): Float32Array => a.dataSync() as Float32Array;

function tf1Way(batches: [Array, Array][]): Result {
  tf.reset_default_graph();
  const x = tf.placeholder(tf.float32, [null, 784], "x");
  const y_ = tf.placeholder(tf.float32, [null, 10], "y_");
  const W = tf.Variable(tf.zeros([784, 10]), { name: "W" });
  const b = tf.Variable(tf.zeros([10]), { name: "b" });
  const y = tf.nn.softmax(tf.add(tf.matmul(x, W), b));
  const cross_entropy = tf.reduce_mean(tf.negative(tf.reduce_sum(tf.multiply(y_, tf.log(y)), { reduction_indices: [1] })));
  const train_step = new tf.train.GradientDescentOptimizer(LR).minimize(cross_entropy);
  const sess = new tf.Session();
  sess.run(tf.global_variables_initializer());
  const losses: number[] = [];
  const stepMs: number[] = [];
  for (const [xs, ys] of batches) {
    const feed_dict = new Map([[x, xs], [y_, ys]]);
    losses.push(timed(stepMs, () => Number((sess.run([cross_entropy, train_step], { feed_dict })[0] as Array).item())));
  }
  const [Wv, bv] = sess.run([W, b]) as [Array, Array];
  return { name: "TF1 Session.run", losses, W: floats(Wv), b: floats(bv), stepMs, graph: [cross_entropy, train_step] };
}

function eagerWay(batches: [Array, Array][], compiled: boolean): Result {
  const W = torch.zeros([784, 10], { requiresGrad: true });
  const b = torch.zeros([10], { requiresGrad: true });
  const loss = (x: torch.Tensor, y: torch.Tensor) => x.matmul(W).add(b).softmax(-1).log().mul(y).sum(1).neg().mean();
  const lossFn = compiled ? torch.compile(loss) : loss;
  const losses: number[] = [];
  const stepMs: number[] = [];
  let last: torch.Tensor | null = null;
  for (const [xs, ys] of batches) {
    losses.push(
      timed(stepMs, () => {
        const l = lossFn(torch.tensor(xs), torch.tensor(ys));
        l.backward(null, { retainGraph: true }); // kept for the picture of the last step's tape
        torch.noGrad(() => {
          W.sub_(W.grad!.mul(LR));
          b.sub_(b.grad!.mul(LR));
        });
        W.zeroGrad();
        b.zeroGrad();
        last = l;
        return l.item();
      }),
    );
  }
  const [x0, y0] = batches[0];
  const graph: GraphSource = compiled ? (lossFn as torch.Compiled<typeof loss>).lower(torch.tensor(x0), torch.tensor(y0)) : last!;
  return { name: compiled ? "eager + compile(loss)" : "eager", losses, W: floats(W.value), b: floats(b.value), stepMs, graph };
}

function jitWay(batches: [Array, Array][]): Result {
  let params: Params = { W: np.zeros([784, 10]), b: np.zeros([10]) };
  const losses: number[] = [];
  const stepMs: number[] = [];
  for (const [xs, ys] of batches) {
    losses.push(
      timed(stepMs, () => {
        const [loss, next] = step(params, xs, ys);
        params = next;
        return Number(loss.item());
      }),
    );
  }
  const [x0, y0] = batches[0];
  const graph = step.lower(params, x0, y0); // after training, so that the first step's time includes the trace
  return { name: "functional jit(grad)", losses, W: floats(params.W), b: floats(params.b), stepMs, graph };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function main(): Promise<void> {
  // ## Data: the same 200 batches for every way
  const mnist = get_mnist({ flatten: true, onehot: true });
  const batches: [Array, Array][] = [];
  for (let i = 0; i < STEPS; i++) batches.push(mnist.train.next_batch(BATCH));

  // ## Train four times
  const results = [tf1Way(batches), eagerWay(batches, false), eagerWay(batches, true), jitWay(batches)];

  // ## The same numbers
  const ref = results[0];
  const accuracy = (r: Result) => {
    const p = { W: np.array(r.W).reshape([784, 10]), b: np.array(r.b) };
    return Number(np.mean(np.equal(np.argmax(predict(p, mnist.test.images), -1), np.argmax(mnist.test.labels, -1))).item());
  };
  console.log(`softmax regression, ${STEPS} steps of ${BATCH} MNIST digits, learning rate ${LR}\n`);
  console.log("| way | loss at step 1 | loss at last step | test accuracy | max |W - W_TF1| | max |b - b_TF1| | first step ms (traces, compiles) | median step ms |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.losses[0].toFixed(5)} | ${r.losses[r.losses.length - 1].toFixed(5)} | ${(100 * accuracy(r)).toFixed(1)}% | ` +
        `${maxDiff(r.W, ref.W).toExponential(1)} | ${maxDiff(r.b, ref.b).toExponential(1)} | ${r.stepMs[0].toFixed(1)} | ${median(r.stepMs.slice(1)).toFixed(2)} |`,
    );
  }
  const agree = results.every((r) => maxDiff(r.W, ref.W) < 1e-4 && r.losses.every((l, i) => Math.abs(l - ref.losses[i]) < 1e-4));
  console.log(`\nall four agree to 1e-4 on every loss and on W: ${agree ? "yes" : "NO"}`);

  // ## Each one's graph
  mkdirSync("examples/out", { recursive: true });
  const files = ["tf1", "eager_tape", "eager_compiled", "jit"];
  const titles = [
    "TF1: the subgraph that Session.run([cross_entropy, train_step]) needs",
    "eager: the tape recorded by the last step (one node per op, down to W and b)",
    "eager + compile: the traced loss, and its compiled program (kernels as clusters)",
    "jit(grad): the whole training step, traced and after the IR passes (kernels as clusters)",
  ];
  for (const [i, r] of results.entries()) {
    const path = `examples/out/three_ways_${files[i]}.svg`;
    writeFileSync(path, await toSvg(r.graph, { title: titles[i], maxNodes: 600 }));
    console.log(`${r.name}: graph written to ${path}`);
  }
}

// Run only as the program: `npm run graph` imports this file for its step.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
