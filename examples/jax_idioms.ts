// Notebook (percent format): run with `npm run example:jax-idioms`; FAST=1 for the quick version.
// It writes examples/out/jax_idioms.html.
import { np, nn, random, jit, grad, vmap, jvp, valueAndGrad, optim, tree, type Array } from "../src/index";
import { getPenguins } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { lineChart } from "./notebook/pictures";

const nb = new Notebook(import.meta.url, "JAX idioms in tinyflow");

// %% [markdown]
// # JAX idioms in tinyflow
//
// Three things JAX makes easy because functions and transformations compose:
// **per-example gradients** with `vmap(grad(f))`, a **Hessian-vector product**
// by differentiating forward over a reverse-mode gradient, and **`jit` of a whole
// training step** (forward, backward and the optimizer update in one compiled program).
// The model is a small classifier of the Palmer penguins (three species from four
// body measurements), built from `tinyflow/nn` layers whose parameters are a plain pytree.

// %%
const data = getPenguins();
nb.print(`${data.info.name}: ${data.train.numExamples} training and ${data.test.numExamples} test penguins, features ${data.featureNames.join(", ")}`);
nb.print(`source: ${data.info.source}; licence ${data.info.license}`);

const model = nn.Sequential([nn.Linear(4, 16), nn.tanh, nn.Linear(16, 3)]);
type Params = ReturnType<typeof model.init>["params"];
let { params } = model.init(random.key(0));
nb.print(model.summary(params));

const loss = (p: Params, x: Array, y: Array): Array => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(model.apply(p, x), y));

// %% [markdown]
// ## 1. `jit` of a whole training step
//
// `valueAndGrad` differentiates the loss, Adam turns gradients into updates, and
// `jit` traces the three once into one compiled program. Parameters and optimizer
// state are donated (`donateArgnums`), so each step writes the new values in place.
// `lower(...).text()` prints the compiled program; every step of it runs in wasm
// (no `HOST FALLBACK` line).

// %%
const optimizer = optim.adam(0.02);
let optState = optimizer.init(params);
const trainStep = (p: Params, s: typeof optState, x: Array, y: Array) => {
  const [value, grads] = valueAndGrad(loss)(p, x, y);
  const [updates, s2] = optimizer.update(grads, s, p);
  return [optim.applyUpdates(p, updates), s2, value] as const;
};
const step = jit(trainStep, { donateArgnums: [0, 1] });
const program = step.lower(params, optState, data.train.features, data.train.labels).text();
nb.print(`compiled step: ${program.split("\n").length} lines of program text, ${(program.match(/HOST FALLBACK/g) ?? []).length} host fallbacks`);
nb.metric("hostFallbacks", (program.match(/HOST FALLBACK/g) ?? []).length);

const epochs = nb.fast ? 15 : 60;
const losses: { step: number; value: number; series: string }[] = [];
let stepCount = 0;
let key = random.key(1);
for (let epoch = 0; epoch < epochs; epoch++) {
  let epochKey;
  [key, epochKey] = random.split(key);
  for (const [x, y] of data.train.batches(epochKey, 32)) {
    let value;
    [params, optState, value] = step(params, optState, x, y);
    losses.push({ step: stepCount++, value: (await value.data())[0], series: "training batch loss" });
  }
}
const accuracy = (p: Params, x: Array, y: Array) => Number(np.mean(np.equal(np.argmax(model.apply(p, x), -1), y)));
const testAccuracy = accuracy(params, data.test.features, data.test.labels);
nb.print(`${stepCount} steps (traced ${step.traceCount} times: once per distinct input shape); test accuracy ${(100 * testAccuracy).toFixed(1)}%`);
nb.metric("losses", losses.map((l) => l.value));
nb.metric("testAccuracy", testAccuracy);
await nb.chart(lineChart("Training loss of the jitted step", losses));

// %% [markdown]
// ## 2. Per-example gradients: `vmap(grad(loss))`
//
// `grad` gives the gradient of the loss of *one* example; `vmap` maps it over the
// batch axis of `x` and `y` while sharing the parameters (`inAxes: [null, 0, 0]`).
// The result has the parameters' tree structure with a leading batch axis — what
// differentially-private SGD clips, and what shows which examples the model finds hard.
// Their mean is the ordinary batch gradient.

// %%
const lossOne = (p: Params, x: Array, y: Array) => loss(p, x.reshape([1, 4]), y.reshape([1]));
const perExample = jit(vmap(grad(lossOne), { inAxes: [null, 0, 0] }));
const g = perExample(params, data.test.features, data.test.labels);
nb.print("per-example gradient shapes:", tree.map((l: Array) => l.shape, g));
const batchGrad = grad(loss)(params, data.test.features, data.test.labels);
const gap = Math.max(...tree.leaves(tree.map((a: Array, b: Array) => np.max(np.abs(np.mean(a, 0).sub(b))), g, batchGrad)).map(Number));
nb.print(`max |mean of per-example gradients - batch gradient| = ${gap.toExponential(2)}`);
nb.metric("perExampleGap", gap);
const norms = np.sqrt(tree.leaves(tree.map((l: Array) => np.sum(np.square(l.reshape([l.shape[0], -1])), 1), g)).reduce((a, b) => (a as Array).add(b as Array)) as Array);
const normList = norms.tolist() as number[];
const hardest = normList.map((n, i) => [n, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
nb.print("largest per-example gradient norms (the examples the model is least sure of):", hardest.map(([n, i]) => `#${i} ${data.classNames[(data.test.labels.tolist() as number[])[i]]}: ${n.toFixed(3)}`));
await nb.chart({
  title: "Per-example gradient norms on the test set",
  width: 560,
  height: 200,
  data: { values: normList.map((n) => ({ norm: n })) },
  mark: "bar",
  encoding: { x: { field: "norm", type: "quantitative", bin: { maxbins: 30 }, title: "‖∇ loss(example)‖" }, y: { aggregate: "count", type: "quantitative" } },
});

// %% [markdown]
// ## 3. A Hessian-vector product
//
// `jvp` of `grad(loss)` in the direction `v` is `H v`, the Hessian of the loss
// times `v`, at the cost of about two gradients and without forming `H`
// (forward-over-reverse, as in JAX's autodiff cookbook). We check it against a
// finite difference of gradients and use it in a few steps of power iteration
// to estimate the Hessian's largest eigenvalue — the curvature that bounds a stable learning rate.

// %%
const fullLoss = (p: Params) => loss(p, data.train.features, data.train.labels);
const hvp = jit((p: Params, v: Params) => jvp(grad(fullLoss), [p], [v])[1]);
const dot = (a: Params, b: Params) => tree.leaves(tree.map((x: Array, y: Array) => np.sum(x.mul(y)), a, b)).reduce((s: number, t) => s + Number(t), 0);
const scale = (a: Params, c: number) => tree.map((x: Array) => x.mul(c), a);
let v = tree.map((x: Array, k: number) => random.normal(random.foldIn(random.key(2), k), x.shape), params, tree.unflatten(tree.structure(params), tree.leaves(params).map((_, i) => i)));
v = scale(v, 1 / Math.sqrt(dot(v, v)));
const eps = 1e-3;
const hv = hvp(params, v);
const shifted = tree.map((p: Array, d: Array) => p.add(d.mul(eps)), params, v);
const finiteDiff = scale(tree.map((a: Array, b: Array) => a.sub(b), grad(fullLoss)(shifted), grad(fullLoss)(params)), 1 / eps);
const relErr = Math.sqrt(dot(tree.map((a: Array, b: Array) => a.sub(b), hv, finiteDiff), tree.map((a: Array, b: Array) => a.sub(b), hv, finiteDiff)) / dot(hv, hv));
nb.print(`‖Hv - (∇L(p + εv) - ∇L(p))/ε‖ / ‖Hv‖ = ${relErr.toExponential(2)}  (ε = ${eps}, float32)`);
nb.metric("hvpRelativeError", relErr);
let eigenvalue = 0;
for (let i = 0; i < (nb.fast ? 5 : 20); i++) {
  const w = hvp(params, v);
  eigenvalue = dot(v, w);
  v = scale(w, 1 / Math.sqrt(dot(w, w)));
}
nb.print(`largest Hessian eigenvalue ≈ ${eigenvalue.toFixed(4)} (power iteration); plain gradient descent is stable below lr ≈ 2/λ = ${(2 / eigenvalue).toFixed(2)}`);
nb.metric("topEigenvalue", eigenvalue);

// %%
nb.save();
