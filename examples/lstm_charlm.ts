// Notebook (percent format): run with `npm run example:lstm`; FAST=1 for the quick version.
// It writes examples/out/lstm_charlm.html.
import { np, nn, random, lax, tree, type Array } from "../src/index";
import { getMobyDick } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { lineChart } from "./notebook/pictures";
import { sampleText, trainCharModel } from "./lib/char_lm";

const nb = new Notebook(import.meta.url, "An LSTM learns to spell like Melville");

// %% [markdown]
// # A character-level LSTM on Moby-Dick
//
// A recurrent network reads *Moby-Dick* one character at a time and predicts the
// next. The recurrence is an LSTM cell driven by `lax.scan`: the loop over time is
// one primitive of the program, so `grad` differentiates through it —
// backpropagation through time is the transpose of the scan, run in reverse — and
// `jit` compiles the whole unrolled-in-time computation once. The last 10% of the
// book is held out for validation.

// %%
const fast = nb.fast;
const corpus = getMobyDick(fast ? { maxChars: 200_000 } : {});
nb.print(`${corpus.info.name}: ${corpus.train.length.toLocaleString("en")} training and ${corpus.validation.length.toLocaleString("en")} validation characters, vocabulary of ${corpus.vocab.size}`);
nb.print(`source: ${corpus.info.source}; licence: ${corpus.info.license}`);

// %% [markdown]
// ## The LSTM cell and the scan over time
//
// One step maps the carry (h, c) and the input x_t to the new carry: the four
// gates come from one matrix product of `[x_t, h]`, `c' = f ⊙ c + i ⊙ g`,
// `h' = o ⊙ tanh(c')`. The forget gate's bias starts at 1 so the cell remembers
// by default (Jozefowicz et al., 2015); the recurrent weights start orthogonal.
// `lax.scan(cell, carry0, xs)` runs it over the time axis (time-major inputs) and
// stacks every h.

// %%
const seqLen = fast ? 32 : 64;
const embedDim = fast ? 16 : 32;
const hidden = fast ? 64 : 256;
const vocab = corpus.vocab.size;

const embedding = nn.Embedding(vocab, embedDim, { embeddingInit: nn.initializers.normal({ stddev: 0.1 }) });
const readout = nn.Linear(hidden, vocab);
const [kEmbed, kInput, kRecurrent, kReadout] = random.split(random.key(0), 4);
const initial = {
  embedding: embedding.init(kEmbed).params,
  lstm: {
    inputWeight: nn.initializers.xavierUniform()(kInput, [embedDim, 4 * hidden]),
    recurrentWeight: nn.initializers.orthogonal()(kRecurrent, [hidden, 4 * hidden]),
    // gate order: input, forget, cell candidate, output; the forget gate's bias is 1
    bias: np.concatenate([np.zeros([hidden]), np.ones([hidden]), np.zeros([2 * hidden])]),
  },
  readout: readout.init(kReadout).params,
};
type Params = typeof initial;
type Carry = { h: Array; c: Array };

const lstmCell = (w: Params["lstm"], carry: Carry, x: Array): [Carry, Array] => {
  const gates = np.matmul(x, w.inputWeight).add(np.matmul(carry.h, w.recurrentWeight)).add(w.bias);
  const [i, f, g, o] = np.split(gates, 4, -1);
  const c = nn.sigmoid(f).mul(carry.c).add(nn.sigmoid(i).mul(np.tanh(g)));
  const h = nn.sigmoid(o).mul(np.tanh(c));
  return [{ h, c }, h];
};

const lstmModel = (p: Params, ids: Array): Array => {
  const batch = ids.shape[0];
  const xs = np.swapaxes(embedding.apply(p.embedding, ids), 0, 1); // [time, batch, embed]
  const carry0 = { h: np.zeros([batch, hidden]), c: np.zeros([batch, hidden]) };
  const [, hs] = lax.scan((carry: Carry, x: Array) => lstmCell(p.lstm, carry, x), carry0, xs);
  return readout.apply(p.readout, np.swapaxes(hs as Array, 0, 1)); // [batch, time, vocab]
};
const parameterCount = tree.leaves(initial).reduce((n: number, leaf) => n + (leaf as Array).size, 0);
nb.print(`embedding ${embedDim}, LSTM hidden ${hidden}, unrolled over ${seqLen} characters: ${parameterCount.toLocaleString("en")} parameters`);

// %% [markdown]
// ## Training: backpropagation through time
//
// The loss averages the next-character cross-entropy over every position of every
// window; its gradient flows back through all `seqLen` steps of the scan. Adam
// with global-norm clipping (the usual remedy for exploding recurrent gradients);
// the loop is shared with the Transformer example (`examples/lib/char_lm.ts`).

// %%
const model = (p: Params, ids: Array) => lstmModel(p, ids);
const trained = await trainCharModel(
  corpus,
  model,
  initial,
  { steps: fast ? 40 : 2000, batchSize: fast ? 16 : 32, seqLen, learningRate: fast ? 1e-2 : 3e-3, evalEvery: fast ? 10 : 100, evalBatches: fast ? 2 : 8 },
  random.key(1),
);
const last = trained.validation[trained.validation.length - 1];
nb.print(`validation loss: ${trained.validation[0].loss.toFixed(3)} at the start, ${last.loss.toFixed(3)} after ${last.step} steps (${(last.loss / Math.LN2).toFixed(2)} bits per character)`);
nb.metric("losses", trained.trainLosses);
nb.metric("validation", trained.validation);
await nb.chart(lineChart("Training and validation loss (nats per character)", trained.curve));

// %% [markdown]
// ## Samples
//
// The trained LSTM continues a sentence of the held-out text, one character at a
// time, sampling at temperature 0.8.

// %%
const prompt = corpus.vocab.decode(corpus.validation.subarray(1000, 1000 + seqLen));
const sample = sampleText(corpus, model, trained.params, prompt, fast ? 60 : 300, seqLen, 0.8, random.key(2));
nb.print(`prompt: …${prompt}`);
nb.print(`sample: ${sample}`);
nb.metric("sample", sample);

// %%
nb.save();
