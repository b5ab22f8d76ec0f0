// bench/model_peers/tinyflow.ts — W7/W8 in tinyflow as its README teaches:
// tinyflow/nn layers whose parameters are set to the benchmark's weights, a
// `jit` of the whole step (valueAndGrad + SGD update) with the parameters
// donated, the loss read back with `await loss.data()`.

import { np, nn, jit, valueAndGrad, random, tree, type Array } from "../../src/index";
import { W7_SPEC, W8_SPEC, type ModelPeer, type ModelStep, type W7Data, type W8Data } from "../model_workloads.js";

const arr = (data: Float32Array | Int32Array, shape: number[]) => np.array(data).reshape(shape);

/** How many steps of the compiled program run on the host. */
function hostFallbacks(text: string): string {
  const lines = text.split("\n").filter((l) => l.includes("HOST FALLBACK"));
  return `compiled step: ${lines.length} host fallback step(s)${lines.length ? `: ${lines.map((l) => l.trim().slice(0, 80)).join("; ")}` : ""}`;
}

function sgdStep<P>(loss: (p: P, x: Array, y: Array) => Array, lr: number) {
  // Plain SGD has no state worth carrying: p - lr·g, as the other peers' steps.
  return jit(
    (p: P, x: Array, y: Array) => {
      const [value, grads] = valueAndGrad(loss)(p, x, y);
      return [tree.map((w: Array, g: Array) => w.sub(g.mul(lr)), p, grads), value] as const;
    },
    { donateArgnums: [0] },
  );
}

const peer: ModelPeer = {
  name: "tinyflow",
  async setup() {
    return "tinyflow wasm (jit)";
  },

  async w7(d: W7Data): Promise<ModelStep> {
    const { batch, side, c1, c2, classes, lr } = W7_SPEC;
    const model = nn.Sequential([
      nn.Conv2d(1, c1, 3, { padding: "SAME", layout: "NHWC" }),
      nn.relu,
      nn.MaxPool2d(2, { layout: "NHWC" }),
      nn.Conv2d(c1, c2, 3, { padding: "SAME", layout: "NHWC" }),
      nn.relu,
      nn.MaxPool2d(2, { layout: "NHWC" }),
      nn.Flatten(),
      nn.Linear(c2 * (side / 4) * (side / 4), classes),
    ]);
    const shape = model.init(random.key(0)).params;
    let params = [
      { weight: arr(d.conv1.w, [3, 3, 1, c1]), bias: arr(d.conv1.b, [c1]) },
      shape[1],
      shape[2],
      { weight: arr(d.conv2.w, [3, 3, c1, c2]), bias: arr(d.conv2.b, [c2]) },
      shape[4],
      shape[5],
      shape[6],
      { weight: arr(d.dense.w, [c2 * 49, classes]), bias: arr(d.dense.b, [classes]) },
    ] as typeof shape;
    const x = arr(d.x, [batch, side, side, 1]);
    const y = np.array(d.labels);
    const loss = (p: typeof params, xb: Array, yb: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(model.apply(p, xb), yb));
    const step = sgdStep(loss, lr);
    const notes = [hostFallbacks(step.lower(params, x, y).text())];
    return {
      notes,
      async step() {
        let value;
        [params, value] = step(params, x, y);
        return (await value.data())[0]!;
      },
    };
  },

  async w8(d: W8Data): Promise<ModelStep> {
    const { batch, seq, vocab, dModel, heads, hidden, lr, eps } = W8_SPEC;
    const tokens = nn.Embedding(vocab, dModel);
    const positions = nn.Embedding(seq, dModel);
    const norm = nn.LayerNorm(dModel, { eps });
    const attention = nn.MultiHeadAttention(dModel, heads, { bias: false });
    const mlp = nn.Sequential([nn.Linear(dModel, hidden), nn.relu, nn.Linear(hidden, dModel)]);
    const readout = nn.Linear(dModel, vocab);
    const ln = (p: { scale: Float32Array; bias: Float32Array }) => ({ scale: arr(p.scale, [dModel]), bias: arr(p.bias, [dModel]) });
    const square = (w: Float32Array) => ({ weight: arr(w, [dModel, dModel]) });
    let params = {
      tokens: { table: arr(d.tokenTable, [vocab, dModel]) },
      positions: { table: arr(d.positionTable, [seq, dModel]) },
      ln1: ln(d.ln1),
      attention: { query: square(d.wq), key: square(d.wk), value: square(d.wv), out: square(d.wo) },
      ln2: ln(d.ln2),
      mlp: [{ weight: arr(d.w1, [dModel, hidden]), bias: arr(d.b1, [hidden]) }, {}, { weight: arr(d.w2, [hidden, dModel]), bias: arr(d.b2, [dModel]) }] as ReturnType<typeof mlp.init>["params"],
      lnf: ln(d.lnf),
      readout: { weight: arr(d.readout, [dModel, vocab]), bias: arr(d.readoutBias, [vocab]) },
    };
    type P = typeof params;
    const positionIds = np.arange(seq, { dtype: "int32" });
    const forward = (p: P, ids: Array) => {
      let h = tokens.apply(p.tokens, ids).add(positions.apply(p.positions, positionIds));
      h = h.add(attention.apply(p.attention, norm.apply(p.ln1, h), { isCausal: true }));
      h = h.add(mlp.apply(p.mlp, norm.apply(p.ln2, h)));
      return readout.apply(p.readout, norm.apply(p.lnf, h));
    };
    const loss = (p: P, ids: Array, targets: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(forward(p, ids), targets));
    const ids = np.array(d.ids).reshape([batch, seq]);
    const targets = np.array(d.targets).reshape([batch, seq]);
    const step = sgdStep(loss, lr);
    const notes = [hostFallbacks(step.lower(params, ids, targets).text())];
    return {
      notes,
      async step() {
        let value;
        [params, value] = step(params, ids, targets);
        return (await value.data())[0]!;
      },
    };
  },
};

export default peer;
