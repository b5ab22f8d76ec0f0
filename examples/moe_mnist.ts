// Notebook (percent format): run with `npm run example:moe`; FAST=1 for the quick version.
// It writes examples/out/moe_mnist.html.
import { np, nn, random, jit, valueAndGrad, optim, type Array } from "../src/index";
import { getMnist } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { lineChart, matrixChart } from "./notebook/pictures";
import { progressBar } from "./notebook/progress";

const nb = new Notebook(import.meta.url, "A Switch mixture-of-experts routes digits");

// %% [markdown]
// # A Switch mixture of experts
//
// A mixture-of-experts layer holds several expert MLPs and a router that sends
// each token to one of them (top-1 routing, as in the Switch Transformer, Fedus et
// al. 2021): the parameter count grows with the number of experts while the
// compute per token stays that of one expert. Each expert takes at most
// `capacity = ceil(capacityFactor · tokens / experts)` tokens per batch; tokens
// beyond it are dropped (their expert output is zero and only the residual path
// carries them). A *load-balancing loss* — `experts · Σ_e f_e · P_e`, equal to 1
// when routing is uniform — keeps the router from sending everything to a few experts.
//
// Here the tokens are MNIST digits: an embedding layer, a residual Switch-MoE
// block, and a classifier. Afterwards we look at which expert each digit class goes to.

// %%
const mnist = nb.fast ? getMnist({ onehot: false }) : getMnist({ full: true, onehot: false });
nb.print(`${mnist.info.name}: ${mnist.train.numExamples} training and ${mnist.test.numExamples} test digits; source ${mnist.info.source}`);

// %% [markdown]
// ## The model

// %%
const dModel = 64;
const numExperts = 4;
const embed = nn.Sequential([nn.Linear(784, dModel), nn.relu]);
const norm = nn.LayerNorm(dModel);
const moe = nn.SwitchMoE(dModel, 2 * dModel, numExperts, { capacityFactor: 1.25 });
const classifier = nn.Linear(dModel, 10);
const [k1, k2, k3, k4, shuffleKey] = random.split(random.key(0), 5);
let params = { embed: embed.init(k1).params, norm: norm.init(k2).params, moe: moe.init(k3).params, classifier: classifier.init(k4).params };
type Params = typeof params;
nb.print(moe.summary(params.moe));

/** Logits and the MoE layer's routing information for a batch of flattened digits. */
const forward = (p: Params, x: Array) => {
  const h = embed.apply(p.embed, x);
  const { y, aux } = moe.applyWithAux(p.moe, norm.apply(p.norm, h));
  return { logits: classifier.apply(p.classifier, h.add(y)), aux };
};

// %% [markdown]
// ## Training with the auxiliary loss
//
// The loss is the cross-entropy plus `0.01 ·` the load-balancing loss (the Switch
// paper's weight). The step returns both parts and the fraction of dropped tokens.

// %%
const balanceWeight = 0.01;
const lossFn = (p: Params, x: Array, y: Array) => {
  const { logits, aux } = forward(p, x);
  const ce = np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits, y));
  return [ce.add(aux.loadBalancingLoss.mul(balanceWeight)), { ce, balance: aux.loadBalancingLoss, dropped: np.mean(aux.dropped.astype("float32")) }] as const;
};
const optimizer = optim.adam(2e-3);
let optState = optimizer.init(params);
const step = jit(
  (p: Params, s: typeof optState, x: Array, y: Array) => {
    const [[, parts], grads] = valueAndGrad(lossFn, { hasAux: true })(p, x, y);
    const [updates, s2] = optimizer.update(grads, s, p);
    return [optim.applyUpdates(p, updates), s2, parts] as const;
  },
  { donateArgnums: [0, 1] },
);

const batchSize = nb.fast ? 64 : 128;
const maxSteps = nb.fast ? 60 : 1200;
const curve: { step: number; value: number; series: string }[] = [];
const losses: number[] = [];
const balance: number[] = [];
const bar = progressBar("training", maxSteps, ["loss", "balance"]);
for (let epoch = 0; losses.length < maxSteps; epoch++) {
  for (const [x, y] of mnist.train.batches(random.foldIn(shuffleKey, epoch), batchSize)) {
    if (losses.length >= maxSteps) break;
    let parts;
    [params, optState, parts] = step(params, optState, x, y);
    const [ce, lb, dropped] = await Promise.all([parts.ce.data(), parts.balance.data(), parts.dropped.data()]);
    losses.push(ce[0]);
    balance.push(lb[0]);
    const i = losses.length;
    if (i % 5 === 0) {
      curve.push({ step: i, value: ce[0], series: "cross-entropy" }, { step: i, value: lb[0], series: "load-balancing loss" }, { step: i, value: dropped[0], series: "dropped fraction" });
    }
    bar.tick({ loss: ce[0].toFixed(3), balance: lb[0].toFixed(3) });
  }
}
bar.stop();
nb.metric("losses", losses);
nb.metric("loadBalancingLoss", balance);
await nb.chart(lineChart("Cross-entropy, load-balancing loss and dropped tokens", curve, "value"));

// %% [markdown]
// ## Where the digits go
//
// On the test set: the accuracy, how many digits each expert receives, and the
// routing table — for each true digit, how many of its test images the router
// sent to each expert. Experts tend to specialise on groups of similar digits.

// %%
const evalCount = nb.fast ? 1000 : mnist.test.numExamples;
const evaluate = jit((p: Params, x: Array) => {
  const { logits, aux } = forward(p, x);
  return [np.argmax(logits, -1), aux.expertIndex, aux.dropped] as const;
});
const truth = (mnist.test.labels.tolist() as number[]).slice(0, evalCount);
const routing = globalThis.Array.from({ length: 10 }, () => new globalThis.Array<number>(numExperts).fill(0));
let correct = 0;
let droppedCount = 0;
for (let start = 0; start < evalCount; start += 500) {
  const [pred, expert, dropped] = evaluate(params, mnist.test.images.slice([start, start + 500]));
  const p = pred.tolist() as number[];
  const e = expert.tolist() as number[];
  const d = dropped.tolist() as boolean[];
  p.forEach((v, i) => {
    if (v === truth[start + i]) correct++;
    routing[truth[start + i]][e[i]]++;
    if (d[i]) droppedCount++;
  });
}
const perExpert = routing.reduce((acc, row) => acc.map((v, e) => v + row[e]), new globalThis.Array<number>(numExperts).fill(0));
nb.print(`test accuracy ${((100 * correct) / evalCount).toFixed(1)}%; digits per expert: ${perExpert.join(", ")} (capacity ${moe.capacity(500)} per batch of 500); ${droppedCount} dropped`);
nb.metric("testAccuracy", correct / evalCount);
nb.metric("tokensPerExpert", perExpert);
await nb.chart(matrixChart("Routing: test digits (rows) sent to each expert (columns)", routing, "true digit", "expert"));

// %%
nb.save();
