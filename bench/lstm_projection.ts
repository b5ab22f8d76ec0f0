// bench/lstm_projection.ts — nn.LSTM's input projection hoisted out of the scan
// (one [T·B, E]·[E, 4H] matmul before it, what nn.LSTM does) against the same
// LSTM written as a scan of the cell's whole step (x_t·W_ih inside every
// iteration, what nn.LSTM did before): the jitted char-LSTM training step of
// examples/lstm_charlm.ts at its full sizes (B32 T64 E32 H128, 78 symbols,
// Adam with clipping), both variants built from the same parameters.
// Prints wall and CPU ms (min and median) and minor page faults per step.
// By default the variants are interleaved in one process; with --alone only
// the variant named by --variant=hoisted|stepwise runs (two jitted programs in
// one process change where each other's fresh buffers land, and with it their
// page faults, so run each --alone in turn as well).
//   npx tsx bench/lstm_projection.ts [reps] [--alone --variant=hoisted]

import os from "node:os";
import { jit, lax, nn, np, optim, random, valueAndGrad, type Array } from "../src/index";
import { median } from "./harness";

const args = process.argv.slice(2);
const reps = Number(args.find((a) => !a.startsWith("--")) ?? 20);
const only = args.includes("--alone") ? (args.find((a) => a.startsWith("--variant="))?.slice("--variant=".length) ?? "hoisted") : null;
const vocab = 78, T = 64, E = 32, H = 128, B = 32;

const embedding = nn.Embedding(vocab, E);
const lstm = nn.LSTM(E, H);
const readout = nn.Linear(H, vocab);
const [k1, k2, k3] = random.split(random.key(0), 3);
const ids = random.randint(random.key(5), [B, T], 0, vocab, { dtype: "int32" });
const targets = random.randint(random.key(6), [B, T], 0, vocab, { dtype: "int32" });

/** The old form: the cell's whole step (input projection included) scanned over time. */
function stepwiseLstm(p: nn.LSTMCellParams, x: Array): Array {
  const [, ys] = lax.scan((c, xt) => lstm.cell.applyStep(p, xt as Array, { carry: c as nn.LSTMCarry }), lstm.cell.initialCarry([x.shape[0]]), np.moveaxis(x, 1, 0));
  return np.moveaxis(ys as Array, 0, 1);
}

interface Params {
  embedding: nn.EmbeddingParams;
  lstm: nn.LSTMCellParams;
  readout: nn.LinearParams;
}

/** A jitted training step over `run` (the LSTM), with its own parameters and optimizer state; returns the loss. */
function trainingStep(run: (p: nn.LSTMCellParams, x: Array) => Array): () => number {
  let params: Params = { embedding: embedding.init(k1).params, lstm: lstm.init(k2).params, readout: readout.init(k3).params };
  const loss = (p: Params) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(readout.apply(p.readout, run(p.lstm, embedding.apply(p.embedding, ids))), targets));
  const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.adam(3e-3));
  let state = optimizer.init(params);
  const step = jit(
    (p: Params, s: typeof state) => {
      const [value, grads] = valueAndGrad(loss)(p);
      const [updates, s2] = optimizer.update(grads, s, p);
      return [optim.applyUpdates(p, updates), s2, value] as const;
    },
    { donateArgnums: [0, 1] },
  );
  return () => {
    let value: Array;
    [params, state, value] = step(params, state);
    return Number(value.item());
  };
}

const all = { hoisted: trainingStep((p, x) => lstm.apply(p, x)), stepwise: trainingStep(stepwiseLstm) };
if (only !== null && !(only in all)) throw new Error(`--variant must be hoisted or stepwise, got ${only}`);
const variants = Object.entries(all).filter(([name]) => only === null || name === only);
const wall = new Map<string, number[]>(), cpu = new Map<string, number[]>(), faults = new Map<string, number>(), loss = new Map<string, number>();
for (let r = -3; r < reps; r++) {
  for (const [name, run] of variants) {
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    loss.set(name, run());
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    if (r < 0) continue;
    wall.set(name, [...(wall.get(name) ?? []), ms]);
    cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / 1000]);
    faults.set(name, (faults.get(name) ?? 0) + process.resourceUsage().minorPageFault - f0);
  }
}
console.log(`LSTM training step B${B} T${T} E${E} H${H}, ${reps} reps${only === null ? " interleaved" : ` of ${only} alone`}; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const [name] of variants) {
  const w = wall.get(name)!, u = cpu.get(name)!;
  console.log(
    `${name.padEnd(9)} wall min ${Math.min(...w).toFixed(1).padStart(6)} med ${median(w).toFixed(1).padStart(6)} ms   ` +
      `cpu min ${Math.min(...u).toFixed(1).padStart(6)} med ${median(u).toFixed(1).padStart(6)} ms   ` +
      `minor page faults/step ${(faults.get(name)! / reps).toFixed(0)}   loss ${loss.get(name)!.toFixed(4)}`,
  );
}
