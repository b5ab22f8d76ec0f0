// The training loop and the sampler shared by the two character-level language
// models (examples/lstm_charlm.ts and examples/transformer_charlm.ts), so that
// each notebook shows its model and both are trained and judged the same way:
// Adam with global-norm clipping in one jitted, donated step; random windows of
// the training text drawn by key; the validation loss measured on fixed windows
// of the held-out end of the book; samples drawn one character at a time.

import { np, nn, random, jit, valueAndGrad, optim, type Array } from "../../src/index";
import type { TextCorpus } from "../../src/datasets";
import type { Notebook } from "../notebook/report";
import { progressBar } from "../notebook/progress";

/** A character model: logits [batch, time, vocab] for ids [batch, time]; `key` is given in train mode (dropout). */
export type CharLogits<P> = (params: P, ids: Array, opts: { train: boolean; key?: Array }) => Array;

export interface CharTrainingConfig {
  steps: number;
  batchSize: number;
  seqLen: number;
  learningRate: number;
  /** Measure the validation loss every this many steps. */
  evalEvery: number;
  /** Number of validation batches (of batchSize windows) in each measurement. */
  evalBatches: number;
}

export interface CharTrainingResult<P> {
  params: P;
  trainLosses: number[];
  validation: { step: number; loss: number }[];
  /** The chart points: training loss (smoothed) and validation loss per step. */
  curve: { step: number; value: number; series: string }[];
}

/** Trains `logits` on random windows of the corpus; returns the trained parameters and the loss curves. */
export async function trainCharModel<P>(corpus: TextCorpus, logits: CharLogits<P>, initial: P, cfg: CharTrainingConfig, key: Array): Promise<CharTrainingResult<P>> {
  const lossFn = (p: P, x: Array, y: Array, opts: { train: boolean; key?: Array }) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits(p, x, opts), y));
  const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.adam(cfg.learningRate));
  let params = initial;
  let optState = optimizer.init(params);
  const step = jit(
    (p: P, s: typeof optState, x: Array, y: Array, k: Array) => {
      const [value, grads] = valueAndGrad((q: P) => lossFn(q, x, y, { train: true, key: k }))(p);
      const [updates, s2] = optimizer.update(grads, s, p);
      return [optim.applyUpdates(p, updates), s2, value] as const;
    },
    { donateArgnums: [0, 1] },
  );
  const evalLoss = jit((p: P, x: Array, y: Array) => lossFn(p, x, y, { train: false }));
  const validationBatches = corpus.sequentialBatches(cfg.batchSize, cfg.seqLen, "validation", cfg.evalBatches);
  const measure = async (p: P) => {
    let total = 0;
    for (const [x, y] of validationBatches) total += (await evalLoss(p, x, y).data())[0];
    return total / validationBatches.length;
  };

  const trainLosses: number[] = [];
  const validation: { step: number; loss: number }[] = [{ step: 0, loss: await measure(params) }];
  const curve: { step: number; value: number; series: string }[] = [{ step: 0, value: validation[0].loss, series: "validation loss" }];
  const bar = progressBar("training", cfg.steps, ["loss", "val"]);
  for (let i = 1; i <= cfg.steps; i++) {
    const [batchKey, dropoutKey, nextKey] = random.split(key, 3);
    key = nextKey;
    const [x, y] = corpus.randomBatch(batchKey, cfg.batchSize, cfg.seqLen);
    let value;
    [params, optState, value] = step(params, optState, x, y, dropoutKey);
    trainLosses.push((await value.data())[0]);
    if (i % cfg.evalEvery === 0 || i === cfg.steps) {
      const recent = trainLosses.slice(-cfg.evalEvery);
      curve.push({ step: i, value: recent.reduce((a, b) => a + b, 0) / recent.length, series: "training loss" });
      const v = await measure(params);
      validation.push({ step: i, loss: v });
      curve.push({ step: i, value: v, series: "validation loss" });
    }
    bar.tick({ loss: trainLosses[trainLosses.length - 1].toFixed(3), val: validation[validation.length - 1].loss.toFixed(3) });
  }
  bar.stop();
  return { params, trainLosses, validation, curve };
}

/**
 * Continues `prompt` by `length` characters, each drawn from softmax(logits / temperature)
 * of the model applied to the last `seqLen` characters (the prompt must have at least seqLen).
 */
export function sampleText<P>(corpus: TextCorpus, logits: CharLogits<P>, params: P, prompt: string, length: number, seqLen: number, temperature: number, key: Array): string {
  const next = jit((p: P, window: Array, k: Array) => {
    const last = logits(p, window, { train: false }).slice(0, seqLen - 1); // the logits after the last character
    return random.categorical(k, last.div(temperature));
  });
  const ids = globalThis.Array.from(corpus.vocab.encode(prompt));
  for (let i = 0; i < length; i++) {
    const window = np.array(Int32Array.from(ids.slice(-seqLen))).reshape([1, seqLen]);
    const [k, rest] = random.split(key);
    key = rest;
    ids.push(Number(next(params, window, k)));
  }
  return corpus.vocab.decode(ids.slice(-length));
}
