// bench/model_peers/jaxjs.ts — W7/W8 in @jax-js/jax on its wasm device, as
// one jit of valueAndGrad + the SGD update. jax-js counts references: a
// value used twice is passed as `x.ref`, the step consumes the parameters it
// replaces, and the fixed batch is passed as `.ref` so it survives the call.
// Its convolution takes NCHW images and OIHW kernels only, so W7's batch and
// kernels are converted once, untimed, and the dense layer's rows are permuted
// to the NCHW flatten order (the same model). Embeddings are one-hot matmuls.

import { numpy as np, nn, lax, jit, valueAndGrad, init, defaultDevice, tree, blockUntilReady } from "@jax-js/jax";
import { packageVersion, hwioToOihw, nhwcToNchw } from "../harness.js";
import { W7_SPEC, W8_SPEC, type ModelPeer, type ModelStep, type W7Data, type W8Data } from "../model_workloads.js";

const fromJs = (x: Float32Array, shape: number[]): np.Array => np.array(x as Float32Array<ArrayBuffer>).reshape(shape);
const oneHotOf = (labels: Int32Array, classes: number): Float32Array => {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (out[i * classes + l] = 1));
  return out;
};

type Tree = Record<string, np.Array>;

function sgdStep(loss: (p: Tree, x: np.Array, y: np.Array) => np.Array, lr: number) {
  return jit((p: Tree, x: np.Array, y: np.Array) => {
    const [value, grads] = valueAndGrad(loss)(tree.ref(p), x, y);
    const next = tree.map((w: np.Array, g: np.Array) => w.sub(g.mul(lr)), p, grads as Tree) as Tree;
    return [next, value] as [Tree, np.Array];
  });
}

function stepper(step: ReturnType<typeof sgdStep>, initial: Tree, x: np.Array, y: np.Array, notes: string[]): ModelStep {
  let params = initial;
  return {
    notes,
    async step() {
      const [next, value] = step(params, x.ref, y.ref);
      params = next;
      const out = ((await value.data()) as Float32Array)[0]!;
      await blockUntilReady(params);
      return out;
    },
  };
}

const peer: ModelPeer = {
  name: "jaxjs",
  async setup() {
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error(`jax-js: wasm device unavailable (got ${devices.join(",")})`);
    defaultDevice("wasm");
    return `@jax-js/jax ${packageVersion("@jax-js/jax")} wasm`;
  },

  async w7(d: W7Data): Promise<ModelStep> {
    const { batch, side, c1, c2, classes, lr } = W7_SPEC;
    const q = side / 4;
    // dense rows from NHWC flatten order (i, j, c) to NCHW order (c, i, j)
    const dense = new Float32Array(d.dense.w.length);
    for (let c = 0; c < c2; c++) for (let ij = 0; ij < q * q; ij++) dense.set(d.dense.w.subarray((ij * c2 + c) * classes, (ij * c2 + c + 1) * classes), (c * q * q + ij) * classes);
    const params: Tree = {
      w1: fromJs(hwioToOihw(d.conv1.w, { n: batch, h: side, w: side, cin: 1, cout: c1, kh: 3, kw: 3 }), [c1, 1, 3, 3]),
      b1: fromJs(d.conv1.b, [1, c1, 1, 1]),
      w2: fromJs(hwioToOihw(d.conv2.w, { n: batch, h: q * 2, w: q * 2, cin: c1, cout: c2, kh: 3, kw: 3 }), [c2, c1, 3, 3]),
      b2: fromJs(d.conv2.b, [1, c2, 1, 1]),
      wd: fromJs(dense, [c2 * q * q, classes]),
      bd: fromJs(d.dense.b, [classes]),
    };
    const pool = (h: np.Array, c: number, s: number) => h.reshape([batch, c, s / 2, 2, s / 2, 2]).max([3, 5]);
    const loss = (p: Tree, x: np.Array, y: np.Array) => {
      let h = pool(nn.relu(lax.convGeneralDilated(x, p.w1!, [1, 1], "SAME").add(p.b1!)), c1, side);
      h = pool(nn.relu(lax.convGeneralDilated(h, p.w2!, [1, 1], "SAME").add(p.b2!)), c2, side / 2);
      const logits = np.matmul(h.reshape([batch, c2 * q * q]), p.wd!).add(p.bd!);
      return nn.logSoftmax(logits, -1).mul(y).sum(-1).mean().neg();
    };
    const x = fromJs(nhwcToNchw(d.x, batch, side, side, 1), [batch, 1, side, side]);
    const y = fromJs(oneHotOf(d.labels, classes), [batch, classes]);
    return stepper(sgdStep(loss, lr), params, x, y, ["NCHW conv (jax-js's only layout), converted once untimed"]);
  },

  async w8(d: W8Data): Promise<ModelStep> {
    const { batch, seq, vocab, dModel, heads, hidden, lr, eps } = W8_SPEC;
    const headDim = dModel / heads;
    const params: Tree = {
      tokens: fromJs(d.tokenTable, [vocab, dModel]),
      positions: fromJs(d.positionTable, [seq, dModel]),
      ln1s: fromJs(d.ln1.scale, [dModel]),
      ln1b: fromJs(d.ln1.bias, [dModel]),
      wq: fromJs(d.wq, [dModel, dModel]),
      wk: fromJs(d.wk, [dModel, dModel]),
      wv: fromJs(d.wv, [dModel, dModel]),
      wo: fromJs(d.wo, [dModel, dModel]),
      ln2s: fromJs(d.ln2.scale, [dModel]),
      ln2b: fromJs(d.ln2.bias, [dModel]),
      w1: fromJs(d.w1, [dModel, hidden]),
      b1: fromJs(d.b1, [hidden]),
      w2: fromJs(d.w2, [hidden, dModel]),
      b2: fromJs(d.b2, [dModel]),
      lnfs: fromJs(d.lnf.scale, [dModel]),
      lnfb: fromJs(d.lnf.bias, [dModel]),
      readout: fromJs(d.readout, [dModel, vocab]),
      readoutBias: fromJs(d.readoutBias, [vocab]),
    };
    const maskAdd = new Float32Array(seq * seq);
    for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) maskAdd[i * seq + j] = -1e9;
    const mask = fromJs(maskAdd, [seq, seq]);
    const layerNorm = (x: np.Array, scale: np.Array, bias: np.Array) => nn.standardize(x, -1, { epsilon: eps }).mul(scale).add(bias);
    const heads4 = (t: np.Array) => t.reshape([batch, seq, heads, headDim]).transpose([0, 2, 1, 3]);
    const loss = (p: Tree, ids: np.Array, targets: np.Array) => {
      let h = np.matmul(ids, p.tokens!).reshape([batch, seq, dModel]).add(p.positions!);
      const a = layerNorm(h.ref, p.ln1s!, p.ln1b!);
      const qh = heads4(np.matmul(a.ref, p.wq!));
      const kh = heads4(np.matmul(a.ref, p.wk!));
      const vh = heads4(np.matmul(a, p.wv!));
      const scores = np.matmul(qh, kh.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(headDim)).add(mask.ref);
      const attended = np.matmul(nn.softmax(scores, -1), vh).transpose([0, 2, 1, 3]).reshape([batch, seq, dModel]);
      h = h.add(np.matmul(attended, p.wo!));
      const m = np.matmul(nn.relu(np.matmul(layerNorm(h.ref, p.ln2s!, p.ln2b!), p.w1!).add(p.b1!)), p.w2!).add(p.b2!);
      h = h.add(m);
      const logits = np.matmul(layerNorm(h, p.lnfs!, p.lnfb!), p.readout!).add(p.readoutBias!);
      return nn.logSoftmax(logits, -1).mul(targets).sum(-1).mean().neg();
    };
    const ids = fromJs(oneHotOf(d.ids, vocab), [batch * seq, vocab]);
    const targets = fromJs(oneHotOf(d.targets, vocab), [batch, seq, vocab]);
    return stepper(sgdStep(loss, lr), params, ids, targets, ["one-hot matmul embeddings, additive causal mask"]);
  },
};

export default peer;
