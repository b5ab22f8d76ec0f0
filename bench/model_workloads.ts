// bench/model_workloads.ts — what W7 and W8 compute, shared by bench/models.ts
// and the adapters in bench/model_peers/: the shapes, the seeded initial
// weights and batch (identical in every peer, so their first losses must agree),
// and the interface an adapter implements. No top-level work: the adapters
// import it while bench/models.ts is running.

import { rng } from "./harness.js";

export type ModelWorkload = "W7" | "W8";
export const MODEL_WORKLOADS: ModelWorkload[] = ["W7", "W8"];

/** W7: conv3x3(1→16, SAME) relu maxpool2 → conv3x3(16→32, SAME) relu maxpool2 → flatten → dense(1568→10); softmax cross-entropy; SGD. */
export const W7_SPEC = { batch: 64, side: 28, c1: 16, c2: 32, classes: 10, lr: 0.01 };
/** W8: token + position embeddings, one pre-LayerNorm block (causal 4-head self-attention without biases, MLP d→4d→d with relu), final LayerNorm, readout; next-token cross-entropy; SGD. */
export const W8_SPEC = { batch: 8, seq: 64, vocab: 83, dModel: 64, heads: 4, hidden: 256, lr: 0.01, eps: 1e-5 };

/** Seeded initial weights and batch of W7: images NHWC, kernels HWIO, dense [in, out]. */
export interface W7Data {
  x: Float32Array; // [batch, 28, 28, 1]
  labels: Int32Array; // [batch]
  conv1: { w: Float32Array; b: Float32Array }; // w [3, 3, 1, c1]
  conv2: { w: Float32Array; b: Float32Array }; // w [3, 3, c1, c2]
  dense: { w: Float32Array; b: Float32Array }; // w [c2·7·7 (NHWC flatten order), classes]
}

/** Seeded initial weights and batch of W8; every matrix is [in, out]. */
export interface W8Data {
  ids: Int32Array; // [batch, seq]
  targets: Int32Array; // [batch, seq]
  tokenTable: Float32Array; // [vocab, d]
  positionTable: Float32Array; // [seq, d]
  ln1: { scale: Float32Array; bias: Float32Array };
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array; // [d, d]
  ln2: { scale: Float32Array; bias: Float32Array };
  w1: Float32Array; // [d, hidden]
  b1: Float32Array;
  w2: Float32Array; // [hidden, d]
  b2: Float32Array;
  lnf: { scale: Float32Array; bias: Float32Array };
  readout: Float32Array; // [d, vocab]
  readoutBias: Float32Array;
}

function uniform(next: () => number, n: number, limit: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * limit;
  return out;
}
const glorot = (next: () => number, fanIn: number, fanOut: number, n = fanIn * fanOut) => uniform(next, n, Math.sqrt(6 / (fanIn + fanOut)));

export function w7Data(): W7Data {
  const next = rng(7);
  const { batch, side, c1, c2, classes } = W7_SPEC;
  const flat = c2 * (side / 4) * (side / 4);
  const x = new Float32Array(batch * side * side);
  for (let i = 0; i < x.length; i++) x[i] = next();
  return {
    x,
    labels: Int32Array.from({ length: batch }, () => Math.floor(next() * classes)),
    conv1: { w: glorot(next, 9, 9 * c1, 9 * c1), b: new Float32Array(c1) },
    conv2: { w: glorot(next, 9 * c1, 9 * c2, 9 * c1 * c2), b: new Float32Array(c2) },
    dense: { w: glorot(next, flat, classes), b: new Float32Array(classes) },
  };
}

export function w8Data(): W8Data {
  const next = rng(8);
  const { batch, seq, vocab, dModel: d, hidden } = W8_SPEC;
  const ln = () => ({ scale: new Float32Array(d).fill(1), bias: new Float32Array(d) });
  const stream = Int32Array.from({ length: batch * (seq + 1) }, () => Math.floor(next() * vocab));
  const ids = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    ids.set(stream.subarray(b * (seq + 1), b * (seq + 1) + seq), b * seq);
    targets.set(stream.subarray(b * (seq + 1) + 1, (b + 1) * (seq + 1)), b * seq);
  }
  return {
    ids,
    targets,
    tokenTable: uniform(next, vocab * d, 0.1),
    positionTable: uniform(next, seq * d, 0.1),
    ln1: ln(),
    wq: glorot(next, d, d),
    wk: glorot(next, d, d),
    wv: glorot(next, d, d),
    wo: glorot(next, d, d),
    ln2: ln(),
    w1: glorot(next, d, hidden),
    b1: new Float32Array(hidden),
    w2: glorot(next, hidden, d),
    b2: new Float32Array(d),
    lnf: ln(),
    readout: glorot(next, d, vocab),
    readoutBias: new Float32Array(vocab),
  };
}

/** A built training step: each call runs one step on the fixed batch and resolves to its loss, read back into JS. */
export interface ModelStep {
  step(): Promise<number>;
  /** Facts about how the step runs (e.g. host fallbacks of the compiled step). */
  notes: string[];
}

/** What bench/model_peers/<name>.ts exports by default. */
export interface ModelPeer {
  name: string;
  /** Starts the backend; returns its description. */
  setup(): Promise<string>;
  w7(data: W7Data): Promise<ModelStep>;
  w8(data: W8Data): Promise<ModelStep>;
}

