// The Palmer penguins (Gorman, Williams & Fraser 2014; CC0): 344 penguins of
// three species measured on three islands, from the optional npm package
// `vega-datasets` (data/penguins.json). A small real tabular set for
// classifiers: the four body measurements standardised with the training
// split's statistics, the species as an integer label, rows with a missing
// measurement dropped, and a stratified train/test split drawn by a PRNG key.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Array as TfArray } from "../core/array";
import { ArgumentError } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import type { Tracer } from "../core/trace";
import { key as prngKey, permutation, split as splitKey } from "../random";
import { keyedBatches } from "./batching";
import { resolvePackageDir, type DatasetInfo } from "./provenance";

export interface TabularSplit {
  /** float32 [N, numFeatures], standardised. */
  features: TfArray;
  /** int32 [N]. */
  labels: TfArray;
  numExamples: number;
  /** One epoch of [features, labels] batches in the order of `key` (a last partial batch is kept). */
  batches(key: Tracer, batchSize: number): Generator<[TfArray, TfArray]>;
}

export interface TabularDataset {
  info: DatasetInfo;
  featureNames: readonly string[];
  classNames: readonly string[];
  /** Mean and standard deviation of each raw feature over the training split (used to standardise both splits). */
  featureMean: Float32Array;
  featureStd: Float32Array;
  train: TabularSplit;
  test: TabularSplit;
}

export interface PenguinsOptions {
  /** Key of the train/test split (default random.key(0)). */
  key?: Tracer;
  /** Fraction of each species held out for testing (default 0.2). */
  testFraction?: number;
}

const penguinsRules: OptionRules<PenguinsOptions> = { key: opt.arrayLike, testFraction: opt.number };

const PENGUIN_FEATURES = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"] as const;

/** Palmer penguins: features [N, 4] (beak length, beak depth, flipper length, body mass), species labels 0..2. */
export function getPenguins(options?: PenguinsOptions): TabularDataset {
  const where = "getPenguins";
  const opts = checkOptions(where, options, penguinsRules);
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) throw new ArgumentError(`${where}: testFraction must be strictly between 0 and 1, got ${testFraction}`);
  const dir = resolvePackageDir(where, "vega-datasets", "the Palmer penguins");
  const rows = JSON.parse(readFileSync(join(dir, "data", "penguins.json"), "utf8")) as Record<string, unknown>[];
  const complete = rows.filter((r) => PENGUIN_FEATURES.every((f) => typeof r[f] === "number"));
  const classNames = [...new Set(complete.map((r) => String(r.Species)))].sort();
  const labels = Int32Array.from(complete.map((r) => classNames.indexOf(String(r.Species))));
  const raw = complete.map((r) => PENGUIN_FEATURES.map((f) => r[f] as number));

  // A stratified split: each species' rows in the order of its own permutation.
  const keys = splitKey(opts.key ?? prngKey(0), classNames.length);
  const trainRows: number[] = [];
  const testRows: number[] = [];
  classNames.forEach((_, c) => {
    const members: number[] = [];
    labels.forEach((l, i) => l === c && members.push(i));
    const order = permutation(keys.slice([c, c + 1]).reshape([2]), members.length).dataSync() as Int32Array;
    const nTest = Math.round(testFraction * members.length);
    order.forEach((o, rank) => (rank < nTest ? testRows : trainRows).push(members[o]));
  });
  trainRows.sort((a, b) => a - b);
  testRows.sort((a, b) => a - b);

  const d = PENGUIN_FEATURES.length;
  const mean = new Float32Array(d);
  const std = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const col = trainRows.map((i) => raw[i][j]);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    mean[j] = m;
    std[j] = Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length);
  }
  const makeSplit = (idx: number[]): TabularSplit => {
    const x = new Float32Array(idx.length * d);
    idx.forEach((r, i) => raw[r].forEach((v, j) => (x[i * d + j] = (v - mean[j]) / std[j])));
    const y = Int32Array.from(idx.map((r) => labels[r]));
    const xRows = { data: x, rowShape: [d], dtype: "float32" as const };
    const yRows = { data: y, rowShape: [], dtype: "int32" as const };
    return {
      features: TfArray.fromTyped(x, [idx.length, d], "float32"),
      labels: TfArray.fromTyped(y, [idx.length], "int32"),
      numExamples: idx.length,
      batches: (key, batchSize) => keyedBatches(`${where}: batches`, key, xRows, yRows, idx.length, batchSize, false),
    };
  };
  return {
    info: {
      name: "Palmer penguins",
      source: "npm package vega-datasets (data/penguins.json)",
      license: "CC0-1.0",
      citation: "K. B. Gorman, T. D. Williams, W. R. Fraser: Ecological sexual dimorphism and environmental variability within a community of Antarctic penguins (genus Pygoscelis), PLoS ONE 9(3), 2014",
    },
    featureNames: PENGUIN_FEATURES,
    classNames,
    featureMean: mean,
    featureStd: std,
    train: makeSplit(trainRows),
    test: makeSplit(testRows),
  };
}
