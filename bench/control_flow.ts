// bench/control_flow.ts — jitted programs that contain control flow (scan,
// whileLoop, cond): how long one call takes and how many operations it runs
// outside any compiled program (op by op).
//
// Cases, each a jitted function called on the same inputs:
//   lstm step    the examples/lstm_charlm.ts training step at its full sizes
//                (embedding 32, LSTM 128, 64 characters, batch 32, Adam with
//                global-norm clipping; loss read back each step);
//   scan cumsum  a length-256 recurrence h = tanh(h·0.9 + x_t) over [256, 1024];
//   while newton Newton's iteration for sqrt on 4096 values until converged;
//   cond mlp     a 784-256-10 MLP whose hidden activation is chosen by lax.cond.
// Per case: min and median wall ms and CPU ms per call (CPU time of the whole
// process, worker threads included), over interleaved repetitions, and the
// count of eager (op-by-op) operations per call.
// Run: npx tsx bench/control_flow.ts [reps]

import os from "node:os";
import { np, nn, lax, jit, valueAndGrad, optim, random, type Array } from "../src/index";
import { onEagerOperation } from "../src/core/eval_trace";
import { getMobyDick } from "../src/datasets";
import { median } from "./harness";

const reps = Number(process.argv[2] ?? 10);

interface Case {
  name: string;
  /** One call, its result read back. */
  run(): number;
}

function lstmStep(): Case {
  const corpus = getMobyDick({ maxChars: 200_000 });
  const seqLen = 64, embedDim = 32, hidden = 128, batch = 32;
  const embedding = nn.Embedding(corpus.vocab.size, embedDim);
  const lstm = nn.LSTM(embedDim, hidden);
  const readout = nn.Linear(hidden, corpus.vocab.size);
  const [k1, k2, k3] = random.split(random.key(0), 3);
  type P = { embedding: unknown; lstm: unknown; readout: unknown };
  let params: P = { embedding: embedding.init(k1).params, lstm: lstm.init(k2).params, readout: readout.init(k3).params };
  const logits = (p: P, ids: Array) => readout.apply(p.readout as never, lstm.apply(p.lstm as never, embedding.apply(p.embedding as never, ids)));
  const loss = (p: P, x: Array, y: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits(p, x), y));
  const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.adam(3e-3));
  let state = optimizer.init(params);
  const step = jit(
    (p: P, s: typeof state, x: Array, y: Array) => {
      const [value, grads] = valueAndGrad((q: P) => loss(q, x, y))(p);
      const [updates, s2] = optimizer.update(grads, s, p);
      return [optim.applyUpdates(p, updates), s2, value] as const;
    },
    { donateArgnums: [0, 1] },
  );
  const [x, y] = corpus.randomBatch(random.key(1), batch, seqLen);
  return {
    name: "lstm step (B32 T64 E32 H128)",
    run: () => {
      let value: Array;
      [params, state, value] = step(params, state, x, y);
      return Number(value.item());
    },
  };
}

function scanCumulative(): Case {
  const xs = random.normal(random.key(2), [256, 1024]);
  const h0 = np.zeros([1024]);
  const f = jit((h: Array, xs: Array) => lax.scan((c: Array, x: Array) => {
    const n = np.tanh(c.mul(0.9).add(x));
    return [n, n.sum()];
  }, h, xs));
  return { name: "scan recurrence (256 x 1024)", run: () => Number((f(h0, xs)[1] as Array).sum().item()) };
}

function whileNewton(): Case {
  const a = random.uniform(random.key(3), [4096], { minval: 1, maxval: 100 });
  const f = jit((a: Array) => {
    const [, x] = lax.whileLoop(
      ([i, x]: [Array, Array]) => np.logicalAnd(i.lt(50), np.max(np.abs(x.mul(x).sub(a))).gt(1e-3)),
      ([i, x]: [Array, Array]) => [i.add(1), x.add(a.div(x)).mul(0.5)] as [Array, Array],
      [np.array(0, { dtype: "int32" }), a] as [Array, Array],
    );
    return x;
  });
  return { name: "while newton sqrt (4096)", run: () => Number(f(a).sum().item()) };
}

function condMlp(): Case {
  const [k1, k2, k3] = random.split(random.key(4), 3);
  const w1 = random.normal(k1, [784, 256]).mul(0.05), w2 = random.normal(k2, [256, 10]).mul(0.05);
  const x = random.uniform(k3, [128, 784]);
  const useRelu = np.array(1, { dtype: "int32" });
  const f = jit((w1: Array, w2: Array, x: Array, flag: Array) => {
    const h = np.dot(x, w1);
    const act = lax.cond(flag.gt(0), (v: Array) => nn.relu(v), (v: Array) => np.tanh(v), h);
    return np.mean(nn.logSoftmax(np.dot(act, w2)));
  });
  return { name: "cond mlp (128x784-256-10)", run: () => Number(f(w1, w2, x, useRelu).item()) };
}

const cases = [lstmStep(), scanCumulative(), whileNewton(), condMlp()];
const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const eagerOps = new Map<string, number>();
for (let r = -2; r < reps; r++) {
  for (const c of cases) {
    let ops = 0;
    onEagerOperation(() => ops++);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    c.run();
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    onEagerOperation(null);
    eagerOps.set(c.name, ops);
    if (r >= 0) {
      wall.get(c.name)!.push(ms);
      cpu.get(c.name)!.push((used.user + used.system) / 1000);
    }
  }
}
console.log(`control flow under jit, ${reps} reps interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const c of cases) {
  const w = wall.get(c.name)!, u = cpu.get(c.name)!;
  console.log(
    `${c.name.padEnd(30)} wall min ${Math.min(...w).toFixed(1).padStart(8)} med ${median(w).toFixed(1).padStart(8)} ms   ` +
      `cpu min ${Math.min(...u).toFixed(1).padStart(8)} med ${median(u).toFixed(1).padStart(8)} ms   eager ops/call ${eagerOps.get(c.name)}`,
  );
}
