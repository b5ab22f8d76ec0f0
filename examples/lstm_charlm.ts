// Notebook (percent format): run with `npm run example:lstm`; FAST=1 for the quick version.
// It writes examples/out/lstm_charlm.html.
import { np, nn, random, tree, type Array } from "../src/index";
import { getMobyDick } from "../src/datasets";
import { Notebook } from "./notebook/report";
import { lineChart } from "./notebook/pictures";
import { sampleText, trainCharModel } from "./lib/char_lm";

const nb = new Notebook(import.meta.url, "An LSTM learns to spell like Melville");

// %% [markdown]
// # A character-level LSTM on Moby-Dick
//
// A recurrent network reads *Moby-Dick* one character at a time and predicts the
// next. The recurrence is `nn.LSTM`, an LSTM cell driven by `lax.scan`: the loop over time is
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
// ## The model: an LSTM layer, a scan over time
//
// `nn.LSTM` is an LSTM cell (PyTorch's gate order i, f, g, o:
// `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`) that `lax.scan`
// drives over the time axis of [batch, time, features] inputs, stacking every
// h. The forget gate's bias starts at 1 so the cell remembers by default
// (Jozefowicz et al., 2015) — a bias initializer that writes 1 in the forget
// block of the [4·hidden] bias; each gate's recurrent weights start orthogonal
// (the layer's default). Embedding → LSTM → Linear read-out gives the logits of
// the next character at every position.

// %%
const seqLen = fast ? 32 : 64;
const embedDim = fast ? 16 : 32;
const hidden = fast ? 64 : 128;
const vocab = corpus.vocab.size;

/** Bias [4·hidden] in gate order (input, forget, cell candidate, output): 1 in the forget block, 0 elsewhere. */
const forgetGateBiasOne: nn.initializers.Initializer = (_key, shape) =>
  np.concatenate([np.zeros([hidden]), np.ones([hidden]), np.zeros([shape[0] - 2 * hidden])]);

const embedding = nn.Embedding(vocab, embedDim, { embeddingInit: nn.initializers.normal({ stddev: 0.1 }) });
const lstm = nn.LSTM(embedDim, hidden, { kernelInit: nn.initializers.xavierUniform(), biasInit: forgetGateBiasOne });
const readout = nn.Linear(hidden, vocab);
const [kEmbed, kLstm, kReadout] = random.split(random.key(0), 3);
const initial = {
  embedding: embedding.init(kEmbed).params,
  lstm: lstm.init(kLstm).params,
  readout: readout.init(kReadout).params,
};
type Params = typeof initial;

const lstmModel = (p: Params, ids: Array): Array => readout.apply(p.readout, lstm.apply(p.lstm, embedding.apply(p.embedding, ids)));
nb.print(lstm.summary(initial.lstm));
const parameterCount = tree.leaves(initial).reduce((n: number, leaf) => n + (leaf as Array).size, 0);
nb.print(`embedding ${embedDim}, LSTM hidden ${hidden}, unrolled over ${seqLen} characters: ${parameterCount.toLocaleString("en")} parameters`);

// %% [markdown]
// ## Training: backpropagation through time
//
// The loss averages the next-character cross-entropy over every position of every
// window; its gradient flows back through all `seqLen` steps of the scan. Adam
// with global-norm clipping (the usual remedy for exploding recurrent gradients);
// the loop is shared with the Transformer example (`examples/lib/char_lm.ts`).
// The full run is 1,000 steps of 32 windows: sized to finish in reasonable time
// on a small shared CPU, long enough to go from a uniform guess to words; more
// steps (and a wider LSTM) keep lowering the loss.

// %%
const trained = await trainCharModel(
  corpus,
  lstmModel,
  initial,
  { steps: fast ? 40 : 1000, batchSize: fast ? 16 : 32, seqLen, learningRate: fast ? 1e-2 : 3e-3, evalEvery: fast ? 10 : 50, evalBatches: fast ? 2 : 8 },
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
const sample = sampleText(corpus, lstmModel, trained.params, prompt, fast ? 60 : 300, seqLen, 0.8, random.key(2));
nb.print(`prompt: …${prompt}`);
nb.print(`sample: ${sample}`);
nb.metric("sample", sample);

// %%
nb.save();
