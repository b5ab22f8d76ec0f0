// bench/model_peers/tfjs.ts — W7/W8 in TensorFlow.js on @tensorflow/tfjs-backend-wasm.
// W7 is the layers API (tf.sequential of conv2d / maxPooling2d / flatten /
// dense, trainOnBatch with SGD); the last dense layer has a softmax and the
// loss is categorical cross-entropy on one-hot labels — the same loss as
// softmax cross-entropy on logits. tfjs's layers API has no multi-head
// attention layer, so W8 is written with tfjs ops and trained with
// tf.train.sgd().minimize (tfjs's own autodiff), the same model as the others.
// tfjs-backend-wasm lacks two gradient kernels these steps need: the token
// lookup is a one-hot matmul (gather's gradient, UnsortedSegmentSum, is
// missing), and W7 cannot run at all (Conv2DBackpropFilter is missing), which
// the benchmark reports; bench/model_peers/tfjs-cpu.ts runs both on tfjs's
// plain-JS "cpu" backend for a tfjs number.

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { packageVersion } from "../harness.js";
import { W7_SPEC, W8_SPEC, type ModelPeer, type ModelStep, type W7Data, type W8Data } from "../model_workloads.js";

/** The adapter on tfjs backend `backend` ("wasm" or "cpu"). */
export function tfjsPeer(backend: "wasm" | "cpu"): ModelPeer {
  return {
  name: backend === "wasm" ? "tfjs" : "tfjs-cpu",
  async setup() {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs: setBackend('${backend}') failed`);
    await tf.ready();
    return `@tensorflow/tfjs ${packageVersion("@tensorflow/tfjs")} ${tf.getBackend()}`;
  },

  async w7(d: W7Data): Promise<ModelStep> {
    const { batch, side, c1, c2, classes, lr } = W7_SPEC;
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [side, side, 1], filters: c1, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: c2, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: classes, activation: "softmax" }),
      ],
    });
    model.setWeights([
      tf.tensor4d(d.conv1.w, [3, 3, 1, c1]),
      tf.tensor1d(d.conv1.b),
      tf.tensor4d(d.conv2.w, [3, 3, c1, c2]),
      tf.tensor1d(d.conv2.b),
      tf.tensor2d(d.dense.w, [c2 * 49, classes]),
      tf.tensor1d(d.dense.b),
    ]);
    model.compile({ optimizer: tf.train.sgd(lr), loss: "categoricalCrossentropy" });
    const x = tf.tensor4d(d.x, [batch, side, side, 1]);
    const y = tf.oneHot(tf.tensor1d(d.labels, "int32"), classes);
    return {
      notes: ["layers API: tf.sequential + trainOnBatch"],
      async step() {
        return (await model.trainOnBatch(x, y)) as number;
      },
    };
  },

  async w8(d: W8Data): Promise<ModelStep> {
    const { batch, seq, vocab, dModel, heads, hidden, lr, eps } = W8_SPEC;
    const headDim = dModel / heads;
    const v = (data: Float32Array, shape: number[]) => tf.variable(tf.tensor(data, shape));
    const ln = (p: { scale: Float32Array; bias: Float32Array }) => ({ scale: v(p.scale, [dModel]), bias: v(p.bias, [dModel]) });
    const p = {
      tokens: v(d.tokenTable, [vocab, dModel]),
      positions: v(d.positionTable, [seq, dModel]),
      ln1: ln(d.ln1),
      wq: v(d.wq, [dModel, dModel]),
      wk: v(d.wk, [dModel, dModel]),
      wv: v(d.wv, [dModel, dModel]),
      wo: v(d.wo, [dModel, dModel]),
      ln2: ln(d.ln2),
      w1: v(d.w1, [dModel, hidden]),
      b1: v(d.b1, [hidden]),
      w2: v(d.w2, [hidden, dModel]),
      b2: v(d.b2, [dModel]),
      lnf: ln(d.lnf),
      readout: v(d.readout, [dModel, vocab]),
      readoutBias: v(d.readoutBias, [vocab]),
    };
    const tokenOneHot = tf.oneHot(tf.tensor1d(d.ids, "int32"), vocab).toFloat() as tf.Tensor2D; // [batch·seq, vocab]
    const targets = tf.oneHot(tf.tensor1d(d.targets, "int32"), vocab).reshape([batch, seq, vocab]);
    const causal = tf.linalg.bandPart(tf.ones([seq, seq]), -1, 0); // 1 on and below the diagonal
    const maskAdd = tf.mul(tf.sub(1, causal), -1e9);
    const layerNorm = (x: tf.Tensor, q: { scale: tf.Variable; bias: tf.Variable }) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), q.scale), q.bias);
    };
    const mm = (x: tf.Tensor, w: tf.Tensor) => tf.matMul(x.reshape([-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D, w as tf.Tensor2D);
    const splitHeads = (x: tf.Tensor) => x.reshape([batch, seq, heads, headDim]).transpose([0, 2, 1, 3]);
    const loss = () => {
      let h: tf.Tensor = tf.add(tf.matMul(tokenOneHot, p.tokens).reshape([batch, seq, dModel]), p.positions);
      const a = layerNorm(h, p.ln1);
      const q = splitHeads(mm(a, p.wq));
      const k = splitHeads(mm(a, p.wk));
      const vv = splitHeads(mm(a, p.wv));
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)), maskAdd);
      const attended = tf.matMul(tf.softmax(scores), vv).transpose([0, 2, 1, 3]).reshape([batch * seq, dModel]);
      h = tf.add(h, mm(attended, p.wo).reshape([batch, seq, dModel]));
      const m = tf.add(mm(tf.relu(tf.add(mm(layerNorm(h, p.ln2), p.w1), p.b1)), p.w2), p.b2).reshape([batch, seq, dModel]);
      h = tf.add(h, m);
      const logits = tf.add(mm(layerNorm(h, p.lnf), p.readout), p.readoutBias).reshape([batch, seq, vocab]);
      return tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar;
    };
    const optimizer = tf.train.sgd(lr);
    return {
      notes: ["tf ops + tf.train.sgd().minimize (the layers API has no multi-head attention)"],
      async step() {
        const value = optimizer.minimize(loss, true)!;
        const out = (await value.data())[0]!;
        value.dispose();
        return out;
      },
    };
  },
  };
}

export default tfjsPeer("wasm");
