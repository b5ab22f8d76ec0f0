// Whole training steps on WebGPU: small versions of the benchmark's W3 MLP
// (dense, relu, softmax cross-entropy), W7 CNN (conv, relu, max pooling and its
// gradient, dropout drawn from a key) and W8 transformer (token and position
// embeddings — gathers forward, scatter-adds backward — causal multi-head
// attention with its softmax, layer norms, MLP) steps, each a jit of
// valueAndGrad plus an SGD update with the parameters donated. Each must plan with zero host steps on
// WebGPU (so a training step never reads back or uploads in the middle) and
// agree with the same step on the interpreter. Skipped, loudly, where no
// adapter exists.

import { describe, expect, it } from "vitest";
import { jit, lax, nn, np, random, tree, valueAndGrad, type Array, type Tracer } from "../src/index";
import { gpu, mismatch, noGpuReason } from "./webgpu_setup";

/** p - lr·∇loss(p), and the loss. */
function sgdStep<P>(loss: (p: P, x: Array, y: Array, key: Array) => Array, lr: number) {
  return (p: P, x: Array, y: Array, key: Array) => {
    const [value, grads] = valueAndGrad(loss)(p, x, y, key);
    return [tree.map((w: Array, g: Array) => w.sub(g.mul(lr)), p, grads), value] as const;
  };
}

const on = <T>(backend: string, t: T): T => tree.map((x: Array) => (x as unknown as { to(b: string): Array }).to(backend), t) as T;

/** Runs `step` jitted on WebGPU and on the interpreter; the WebGPU program has no host step and every output agrees. */
async function stepAgrees<P>(step: (p: P, x: Array, y: Array, key: Array) => readonly [P, Array], args: [P, Array, Array, Array], tol: { rtol: number; atol: number }): Promise<string> {
  // The parameters are donated, as the README teaches: the updates are written over them.
  const gpuStep = jit(step, { backend: "webgpu", donateArgnums: [0] });
  const gpuArgs = on("webgpu", args);
  const text = gpuStep.lower(...gpuArgs).text();
  const hostLines = text.split("\n").filter((l) => l.includes("HOST FALLBACK"));
  expect(hostLines).toEqual([]);
  expect(text).toMatch(/webgpu program: \d+ steps \(\d+ fused WGSL kernels, 0 on the host\)/);
  const want = tree.leaves(jit(step, { backend: "interpreter" })(...on("interpreter", args))) as Tracer[];
  const donatedBuffers = new Set((tree.leaves(gpuArgs[0]) as unknown as { buffer: unknown }[]).map((x) => x.buffer));
  const got = tree.leaves(gpuStep(...gpuArgs)) as Tracer[];
  // Updates that an elementwise kernel writes over their parameter's buffer reuse it.
  expect(got.filter((x) => donatedBuffers.has((x as unknown as { buffer: unknown }).buffer)).length).toBeGreaterThan(0);
  expect(got.length).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    expect((got[k] as unknown as { backend: { name: string } }).backend.name).toBe("webgpu");
    const m = mismatch(await got[k].data(), await want[k].data(), tol.rtol, tol.atol);
    if (m !== null) throw new Error(`output ${k} (${want[k].aval.str()}): ${m}`);
  }
  return text;
}

const labels = (n: number, classes: number) => np.array(Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % classes));

describe.skipIf(gpu === null)(`training steps on WebGPU with no host step${gpu ? ` on ${gpu.adapterName}` : ` (skipped: ${noGpuReason})`}`, () => {
  it("W3: an MLP step (dense, relu, softmax cross-entropy)", { timeout: 240_000 }, async () => {
    const model = nn.Sequential([nn.Linear(20, 16), nn.relu, nn.Linear(16, 10)]);
    const params = model.init(random.key(3)).params;
    const loss = (p: typeof params, x: Array, y: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(model.apply(p, x), y));
    const x = random.normal(random.key(4), [8, 20]);
    await stepAgrees(sgdStep(loss, 0.1), [params, x, labels(8, 10), random.key(0)], { rtol: 1e-4, atol: 1e-5 });
  });

  it("W7: a CNN step (conv, relu, max pooling and its gradient, dropout from a key)", { timeout: 240_000 }, async () => {
    const model = nn.Sequential([
      nn.Conv2d(1, 4, 3, { padding: "SAME", layout: "NHWC" }),
      nn.relu,
      nn.MaxPool2d(2, { layout: "NHWC" }),
      nn.Conv2d(4, 8, 3, { padding: "SAME", layout: "NHWC" }),
      nn.relu,
      nn.MaxPool2d(2, { layout: "NHWC" }),
      nn.Flatten(),
      nn.Dropout(0.25),
      nn.Linear(32, 10),
    ]);
    const params = model.init(random.key(5)).params;
    const loss = (p: typeof params, x: Array, y: Array, key: Array) =>
      np.mean(nn.softmaxCrossEntropyWithIntegerLabels(model.apply(p, x, { train: true, key }), y));
    const x = random.uniform(random.key(6), [4, 8, 8, 1]);
    const text = await stepAgrees(sgdStep(loss, 0.05), [params, x, labels(4, 10), random.key(7)], { rtol: 1e-4, atol: 1e-5 });
    expect(text).toMatch(/select_and_scatter_add/);
  });

  it("W8: a transformer step (embeddings, causal attention and its softmax, layer norms, MLP)", { timeout: 240_000 }, async () => {
    const [batch, seq, vocab, d, heads, hidden] = [2, 8, 13, 16, 2, 32];
    const tokens = nn.Embedding(vocab, d);
    const positions = nn.Embedding(seq, d);
    const norm = nn.LayerNorm(d);
    const attention = nn.MultiHeadAttention(d, heads, { bias: false });
    const mlp = nn.Sequential([nn.Linear(d, hidden), nn.relu, nn.Linear(hidden, d)]);
    const readout = nn.Linear(d, vocab);
    const keys = random.split(random.key(8), 8);
    const at = (i: number) => lax.slice(keys, [i, 0], [i + 1, 2]).reshape([2]);
    const params = {
      tokens: tokens.init(at(0)).params,
      positions: positions.init(at(1)).params,
      ln1: norm.init(at(2)).params,
      attention: attention.init(at(3)).params,
      ln2: norm.init(at(4)).params,
      mlp: mlp.init(at(5)).params,
      lnf: norm.init(at(6)).params,
      readout: readout.init(at(7)).params,
    };
    type P = typeof params;
    const positionIds = np.arange(seq, { dtype: "int32" });
    const loss = (p: P, ids: Array, targets: Array) => {
      let h = tokens.apply(p.tokens, ids).add(positions.apply(p.positions, positionIds));
      h = h.add(attention.apply(p.attention, norm.apply(p.ln1, h), { isCausal: true }));
      h = h.add(mlp.apply(p.mlp, norm.apply(p.ln2, h)));
      return np.mean(nn.softmaxCrossEntropyWithIntegerLabels(readout.apply(p.readout, norm.apply(p.lnf, h)), targets));
    };
    const ids = labels(batch * seq, vocab).reshape([batch, seq]);
    const targets = lax.slice(labels(batch * seq + 1, vocab), [1], [batch * seq + 1]).reshape([batch, seq]);
    const text = await stepAgrees(sgdStep(loss, 0.05), [params, ids, targets, random.key(0)], { rtol: 1e-4, atol: 1e-5 });
    expect(text).toMatch(/WGSL gather window/);
    expect(text).toMatch(/WGSL scatter_add window/);
  });
});
